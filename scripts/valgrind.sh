#!/usr/bin/env bash
# scripts/valgrind.sh PROGRAM...: run test programs under Valgrind memcheck
# (`make check-valgrind` passes every Check suite, the header tests, the
# examples and cli/cxm). Run from the build directory: libtool's wrappers
# are resolved with ./libtool --mode=execute.
#
#   valgrind --leak-check=full --error-exitcode=1
#            --errors-for-leak-kinds=definite,indirect
#
# Check suites run with CK_FORK=no (so that Valgrind follows the tests) and
# CXM_QUICK=1 (check_csv then splits its sample at every 13th byte instead of
# every byte). cli/cxm runs `report` (text, and JSON over 30 days) on
# examples/data/sample-events.csv. A program that is missing is an error:
# nothing is skipped. Two programs run at a time (VALGRIND_JOBS; more
# valgrind options in VALGRIND_EXTRA, e.g. --track-origins=yes). Each log
# is kept in valgrind-logs/; the logs of failed runs are printed. The last
# line is "valgrind: N passed, M failed".
set -uo pipefail
if [ $# -eq 0 ]; then
  echo "usage: valgrind.sh PROGRAM... (from the build directory)" >&2
  exit 2
fi
if ! command -v valgrind > /dev/null; then
  echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
jobs=${VALGRIND_JOBS:-2}
logdir=valgrind-logs
rm -rf "$logdir"
mkdir -p "$logdir"
export CK_FORK=no CXM_QUICK=1
export top_srcdir=${top_srcdir:-$srcdir} abs_top_srcdir=${abs_top_srcdir:-$(cd "$srcdir" && pwd)}
export PYTHON3=${PYTHON3:-/usr/bin/python3}
if [ -z "${CXM_DATA_DIR-}" ] && [ -d "$abs_top_srcdir/../shared/data" ]; then
  CXM_DATA_DIR=$(cd "$abs_top_srcdir/../shared/data" && pwd)
  export CXM_DATA_DIR
fi
lt=./libtool
[ -x "$lt" ] || { echo "valgrind.sh: no ./libtool here; run from the build directory" >&2; exit 1; }
vg=(valgrind -q --leak-check=full --error-exitcode=1
    --errors-for-leak-kinds=definite,indirect ${VALGRIND_EXTRA-})

# run_one NAME CMD...: one program under Valgrind, log in $logdir/NAME.log,
# status in $logdir/NAME.rc.
run_one() {
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  "$lt" --mode=execute "${vg[@]}" "$@" > "$logdir/$name.log" 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - t0 ))" > "$logdir/$name.rc"
}

names=()
running=0
for prog in "$@"; do
  name=$(echo "$prog" | tr '/' '_')
  if [ ! -x "$prog" ]; then
    echo "missing $prog" > "$logdir/$name.log"
    echo "127 0" > "$logdir/$name.rc"
    names+=("$name")
    continue
  fi
  case $prog in
    */cxm)
      # The command-line tool: two runs on the bundled sample stream.
      run_one "$name-report" "$prog" report "$srcdir/examples/data/sample-events.csv" &
      names+=("$name-report")
      running=$((running + 1))
      if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
      run_one "$name-json" "$prog" report --format json --trailing-days 30 "$srcdir/examples/data/sample-events.csv" &
      names+=("$name-json")
      ;;
    *)
      run_one "$name" "$prog" &
      names+=("$name")
      ;;
  esac
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

pass=0 fail=0
for name in "${names[@]}"; do
  read -r rc secs < "$logdir/$name.rc"
  if [ "$rc" -eq 0 ]; then
    pass=$((pass + 1))
    echo "PASS: $name (${secs} s)"
  else
    fail=$((fail + 1))
    echo "FAIL: $name (exit $rc, ${secs} s); $logdir/$name.log:"
    sed 's/^/    /' "$logdir/$name.log" | tail -n 80
  fi
done
echo "valgrind: $pass passed, $fail failed"
[ $fail -eq 0 ]
