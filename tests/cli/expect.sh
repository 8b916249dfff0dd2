#!/usr/bin/env bash
# expect.sh RC PATTERN -- COMMAND...
# Runs COMMAND and passes when it exits with RC and, for RC != 0, prints exactly one line on stderr that
# matches the extended regex PATTERN (for RC == 0 the pattern is matched against stdout).
set -u
want_rc=$1 pattern=$2
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
rc=$?
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }
[ "$rc" -eq "$want_rc" ] || fail "exit code $rc, expected $want_rc"
if [ "$want_rc" -ne 0 ]; then
  [ "$(wc -l <"$err")" -eq 1 ] || fail "stderr has $(wc -l <"$err") lines, expected exactly 1"
  grep -Eq -- "$pattern" "$err" || fail "stderr does not match: $pattern"
else
  grep -Eq -- "$pattern" "$out" || fail "stdout does not match: $pattern"
fi
echo "ok"
