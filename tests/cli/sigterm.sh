#!/usr/bin/env bash
# sigterm.sh SSLKIT WORK: SIGTERM during `sslkit pretrain` ends it after a step with a loadable checkpoint,
# exit code 143 and one stderr line saying how to resume; the resumed run refuses a changed --lr and finishes,
# and an on/off option saved as on can be turned off on resume.
set -u
sslkit=$1 work=$2
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
"$here/expect.sh" 0 "pretrained simclr/convnet-w on cpu: 1 epochs, $((step + 2)) steps .*resumed at step $step," -- \
  "$sslkit" pretrain --resume "$run" --max-steps $((step + 2)) || fail "resume did not finish the run"
# The interrupted run's options.ini says quiet=true; --quiet=false turns the progress line back on.
"$sslkit" pretrain --resume "$run" --max-steps $((step + 3)) --quiet=false >"$work/sigterm.out" 2>"$work/sigterm.err" ||
  fail "resume with --quiet=false failed"
grep -q "resuming at step $((step + 2))" "$work/sigterm.err" || fail "--quiet=false did not show the progress line"
echo ok
