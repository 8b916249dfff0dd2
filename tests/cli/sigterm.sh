#!/usr/bin/env bash
# sigterm.sh SSLKIT WORK [WITH_HDF5]: SIGTERM during `sslkit pretrain` ends it after a step with a loadable
# checkpoint, exit code 143 and one stderr line saying how to resume; the resumed run refuses a changed --lr and
# finishes, and an on/off option saved as on can be turned off on resume. With WITH_HDF5 = 1 (the default),
# SIGTERM while `convert` or `embed` writes removes the temporary file, naming it, and leaves nothing at --out.
set -u
sslkit=$1 work=$2 with_hdf5=${3:-1}
here=$(dirname "$0")
run=$work/sigterm
rm -rf "$run" && mkdir -p "$work"
fail() { echo "FAIL: $*"; echo "--- stderr"; cat "$work/sigterm.err"; exit 1; }

"$sslkit" pretrain --out "$run" --max-images 512 --batch-size 64 --epochs 100 --max-minutes 0 --max-steps 5000 \
  --device cpu --threads 1 --log-every 1 --quiet >"$work/sigterm.out" 2>"$work/sigterm.err" &
pid=$!
for _ in $(seq 1 1200); do [ -s "$run/metrics.jsonl" ] && break; sleep 0.1; done
[ -s "$run/metrics.jsonl" ] || { kill -KILL "$pid"; fail "no metrics line after 120 s"; }
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] || fail "exit code $rc, expected 143"
[ "$(wc -l <"$work/sigterm.err")" -eq 1 ] || fail "stderr has $(wc -l <"$work/sigterm.err") lines, expected 1"
grep -Eq "^sslkit: terminated \(SIGTERM\) at step [0-9]+: checkpoint written to $run/checkpoint.pt; \`sslkit pretrain --resume $run\` continues it$" \
  "$work/sigterm.err" || fail "unexpected message"
step=$(sed -E 's/.* at step ([0-9]+):.*/\1/' "$work/sigterm.err")

"$here/expect.sh" 0 '"test_accuracy":0\.' -- "$sslkit" probe --checkpoint "$run" --max-train 1000 --validation-size 200 \
  --max-iterations 20 --threads 1 --json || fail "the checkpoint does not load"
"$here/expect.sh" 1 "^sslkit: error: cannot resume '$run': lr is 0.5 here but 0.002 in the interrupted run" -- \
  "$sslkit" pretrain --resume "$run" --lr 0.5 || fail "a changed --lr was accepted"
epochs=$(awk -v steps=$((step + 2)) 'BEGIN { printf "%.2f", steps / 8 }')  # 512 images in batches of 64
"$here/expect.sh" 0 "pretrained simclr/convnet-w on cpu: $epochs epochs, $((step + 2)) steps .*resumed at step $step," -- \
  "$sslkit" pretrain --resume "$run" --max-steps $((step + 2)) || fail "resume did not finish the run"
# The interrupted run's options.ini says quiet=true; --quiet=false turns the progress line back on.
"$sslkit" pretrain --resume "$run" --max-steps $((step + 3)) --quiet=false >"$work/sigterm.out" 2>"$work/sigterm.err" ||
  fail "resume with --quiet=false failed"
grep -q "resuming at step $((step + 2))" "$work/sigterm.err" || fail "--quiet=false did not show the progress line"

# stop_mid_write OUT COMMAND...: SIGTERM as soon as COMMAND's temporary OUT.tmp.PID exists.
stop_mid_write() {
  local out=$1
  shift
  rm -f "$out" "$out".tmp.*
  "$@" >"$work/sigterm.out" 2>"$work/sigterm.err" &
  local pid=$!
  local tmp=$out.tmp.$pid
  for _ in $(seq 1 1200); do [ -e "$tmp" ] && break; sleep 0.05; done
  [ -e "$tmp" ] || { kill -KILL "$pid"; fail "$2: no temporary file after 60 s"; }
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  [ "$rc" -eq 143 ] || fail "$2: exit code $rc, expected 143"
  [ "$(wc -l <"$work/sigterm.err")" -eq 1 ] || fail "$2: stderr has $(wc -l <"$work/sigterm.err") lines, expected 1"
  [ "$(cat "$work/sigterm.err")" = "sslkit: terminated (SIGTERM); removed the unfinished '$tmp'" ] ||
    fail "$2: unexpected message"
  [ ! -e "$tmp" ] || fail "$2: the temporary '$tmp' was left behind"
  [ ! -e "$out" ] || fail "$2: '$out' was written"
}
if [ "$with_hdf5" = 1 ]; then
  # gzip level 9 makes the 60 000 images take seconds to write.
  stop_mid_write "$work/sigterm-convert.h5" "$sslkit" convert --data fashion-mnist --compression 9 \
    --out "$work/sigterm-convert.h5" -q
  stop_mid_write "$work/sigterm-embed.h5" "$sslkit" embed --checkpoint "$run" --data fashion-mnist --threads 1 \
    --out "$work/sigterm-embed.h5" -q
fi
echo ok
