#!/usr/bin/env bash
# dist.sh SSLKIT WORK CASE: multi-process runs of the sslkit binary on CPU (Gloo over loopback).
#   launch     `sslkit launch --nproc 2 -- pretrain` trains, rank 0 alone writes the run directory and reports;
#              resuming it with another world size is refused in one line.
#   no_join    a rank that never joins: every started rank fails within --dist-timeout naming the address,
#              and launch fails naming a rank and its exit status.
#   dead_rank  a rank killed during training: the survivor exits 1 with one line naming the failed collective.
#   shared_error  an error every rank meets is printed once, and launch exits with the ranks' status (2).
#   kill_launcher SIGKILL of `sslkit launch` takes its ranks with it (no orphan keeps training).
#   busy_port  a rank 0 whose master port another job holds fails in one line, without c10d's log chatter.
set -u
sslkit=$1 work=$2 case=$3
here=$(dirname "$0")
mkdir -p "$work"
# A port per shell, so that concurrent test runs on one machine do not meet.
port=$((20000 + ($$ * 7 + ${#case}) % 30000))
fail() { echo "FAIL: $*"; for f in "$work"/dist-"$case".*; do echo "--- $f"; cat "$f"; done; exit 1; }
common=(--max-images 256 --batch-size 32 --max-minutes 0 --device cpu --threads 1 --workers 0 --quiet)

case $case in
launch)
  run=$work/dist-launch-run
  rm -rf "$run"
  "$sslkit" launch --force --nproc 2 --master-port "$port" -- pretrain "${common[@]}" --epochs 1 --log-every 1 --out "$run" \
    >"$work/dist-$case.out" 2>"$work/dist-$case.err" || fail "launch exited with $?"
  # 256 images, global batch 2 x 32: 4 steps; one report line, one metrics row per step (rank 0 only).
  [ "$(wc -l <"$work/dist-$case.out")" -eq 1 ] || fail "expected one report line"
  grep -Eq '^pretrained simclr/convnet-w on cpu: 1\.00 epochs, 4 steps' "$work/dist-$case.out" || fail "unexpected report"
  [ "$(wc -l <"$run/metrics.jsonl")" -eq 4 ] || fail "metrics.jsonl has $(wc -l <"$run/metrics.jsonl") rows, expected 4"
  [ -s "$run/checkpoint.pt" ] && [ -s "$run/options.ini" ] || fail "no checkpoint or options.ini"
  ! grep -Eq '^(rank|world-size|master-port) ' "$run/options.ini" || fail "options.ini records where a rank sits"
  "$here/expect.sh" 1 "^sslkit: error: cannot resume from '$run/checkpoint.pt': it was written with world size 2, this run has world size 1 \(resume with the same number of processes\)$" \
    -- "$sslkit" pretrain --resume "$run" --max-steps 8 || fail "a resume with another world size was accepted"
  ;;
no_join)
  start=$(date +%s)
  "$sslkit" launch --force --nproc 2 --master-port "$port" -- pretrain "${common[@]}" --world-size 3 --dist-timeout 3 \
    --out "$work/dist-never" >"$work/dist-$case.out" 2>"$work/dist-$case.err"
  rc=$?
  elapsed=$(($(date +%s) - start))
  [ "$rc" -eq 1 ] || fail "launch exited with $rc, expected 1"
  [ "$elapsed" -lt 60 ] || fail "took $elapsed s"
  grep -Eq "^sslkit: error: rank [01] of 3: could not join the job at 127\.0\.0\.1:$port within 3 s \(did every rank start\?\): " \
    "$work/dist-$case.err" || fail "no rank named the address"
  tail -n 1 "$work/dist-$case.err" | grep -Eq '^sslkit: error: launch: rank [01] of 2 exited with status 1; the other ranks were stopped$' \
    || fail "launch did not name the failed rank"
  [ ! -e "$work/dist-never/checkpoint.pt" ] || fail "a checkpoint was written"
  ;;
shared_error)
  "$sslkit" launch --force --nproc 3 --master-port "$port" -- pretrain --config /nonexistent.ini \
    >"$work/dist-$case.out" 2>"$work/dist-$case.err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "launch exited with $rc, expected 2"
  [ "$(grep -c "cannot read config file '/nonexistent.ini'" "$work/dist-$case.err")" -eq 1 ] \
    || fail "the shared error was not printed exactly once"
  [ "$(wc -l < "$work/dist-$case.err")" -eq 2 ] || fail "expected the error and launch's line only"
  tail -n 1 "$work/dist-$case.err" | grep -Eq '^sslkit: error: launch: rank [0-2] of 3 exited with status 2; the other ranks were stopped$' \
    || fail "launch did not name the failed rank"
  ;;
busy_port)
  "$sslkit" pretrain "${common[@]}" --world-size 2 --rank 0 --master-port "$port" --dist-timeout 30 \
    --out "$work/dist-busy-holder" >/dev/null 2>&1 &
  holder=$!
  sleep 2
  "$sslkit" pretrain "${common[@]}" --world-size 2 --rank 0 --master-port "$port" --dist-timeout 3 \
    --out "$work/dist-busy-second" >"$work/dist-$case.out" 2>"$work/dist-$case.err"
  rc=$?
  kill -KILL "$holder" 2>/dev/null
  wait "$holder" 2>/dev/null
  [ "$rc" -eq 1 ] || fail "exited with $rc, expected 1"
  [ "$(wc -l <"$work/dist-$case.err")" -eq 1 ] || fail "expected exactly one line on stderr"
  grep -Eq "^sslkit: error: rank 0 of 2: could not join the job at 127\.0\.0\.1:$port within 3 s" "$work/dist-$case.err" \
    || fail "the line does not name the address"
  ;;
kill_launcher)
  run=$work/dist-kill-run
  rm -rf "$run"
  "$sslkit" launch --force --nproc 2 --master-port "$port" -- pretrain "${common[@]}" --epochs 1000 --log-every 1 \
    --out "$run" >"$work/dist-$case.out" 2>"$work/dist-$case.err" &
  launcher=$!
  for _ in $(seq 1 1200); do [ -s "$run/metrics.jsonl" ] && break; sleep 0.1; done
  [ -s "$run/metrics.jsonl" ] || { kill -KILL "$launcher"; pkill -KILL -f -- "--out $run"; fail "no metrics row after 120 s"; }
  kill -KILL "$launcher"
  wait "$launcher" 2>/dev/null
  for _ in $(seq 1 50); do pgrep -f -- "--out $run" >/dev/null || break; sleep 0.1; done
  if pgrep -f -- "--out $run" >/dev/null; then pkill -KILL -f -- "--out $run"; fail "ranks outlived their launcher"; fi
  ;;
dead_rank)
  run=$work/dist-dead-run
  rm -rf "$run"
  for rank in 0 1; do
    RANK=$rank WORLD_SIZE=2 MASTER_PORT=$port "$sslkit" pretrain "${common[@]}" --epochs 1000 --log-every 1 \
      --dist-timeout 20 --out "$run" >"$work/dist-$case.out$rank" 2>"$work/dist-$case.err$rank" &
    eval "pid$rank=$!"
  done
  for _ in $(seq 1 1200); do [ -s "$run/metrics.jsonl" ] && break; sleep 0.1; done
  [ -s "$run/metrics.jsonl" ] || { kill -KILL "$pid0" "$pid1"; fail "no metrics row after 120 s"; }
  kill -KILL "$pid1"
  start=$(date +%s)
  wait "$pid0"
  rc=$?
  elapsed=$(($(date +%s) - start))
  [ "$rc" -eq 1 ] || fail "rank 0 exited with $rc, expected 1"
  [ "$elapsed" -le 25 ] || fail "rank 0 took $elapsed s to fail (timeout 20 s)"
  [ "$(wc -l <"$work/dist-$case.err0")" -eq 1 ] || fail "rank 0's stderr is not one line"
  grep -Eq '^sslkit: error: rank 0 of 2: (all-reduce|all-gather|broadcast) failed \(a rank died, or did not answer within 20 s\): ' \
    "$work/dist-$case.err0" || fail "unexpected message"
  ;;
*) fail "unknown case $case" ;;
esac
echo ok
