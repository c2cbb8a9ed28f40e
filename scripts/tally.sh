#!/usr/bin/env bash
# scripts/tally.sh LOG...: totals of automake test-suite.log files (and of
# the Check assertions in the per-test logs beside them). The last line is
# "N passed, M failed" (M counts FAIL, ERROR and XPASS; skips are listed
# on the line before when there are any).
set -u
pass=0 fail=0 skip=0 checks=0
for log in "$@"; do
  [ -f "$log" ] || continue
  get() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$log" | head -n 1; }
  p=$(get PASS); f=$(get FAIL); e=$(get ERROR); x=$(get XPASS); s=$(get SKIP)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0}))
  skip=$((skip + ${s:-0}))
  dir=$(dirname "$log")
  c=$(cat "$dir"/tests/*.log 2>/dev/null |
      sed -n 's/^[0-9]*%: Checks: \([0-9]*\),.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  checks=$((checks + c))
done
echo "Check test functions run (sum of the suites' \"Checks:\" lines): $checks"
if [ $skip -ne 0 ]; then echo "$skip skipped"; fi
echo "$pass passed, $fail failed"
