#!/bin/sh
# tests/check_dask.sh: sharded ingest on Dask (examples/dask_shards.py).
#
# A LocalCluster of 2 worker processes on 127.0.0.1; the sample stream
# partitioned by customer into 5 shards (an odd number, so the tree
# reduction carries a shard over a level); each worker ingests a partition
# into a copy of a base snapshot and returns its snapshot bytes; the
# snapshots are merged pairwise on the workers. The example's --check
# ingests the whole stream in this process and fails unless every KPI of
# every scope (all time and a window) and the handle statistics are equal
# exactly. Options (UTC offset, decimals) travel in the base snapshot; the
# merged snapshot written with --out must report as `cxm report` does over
# the events (every key but meta, module objects included).
#
# Needs python3-dask and python3-distributed: without them the test skips
# (exit 77), which the full run (CXM_REQUIRE_DATA=1) counts as a failure.
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
: "${CXMETRICS_LIB:=$builddir/lib/.libs/libcxmetrics.so.0}"
export CXMETRICS_LIB
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

if test ! -x "$py"; then
  echo "check_dask: Python interpreter '$py' not found" >&2
  exit 99
fi
if ! "$py" -c "import dask, distributed" 2> /dev/null; then
  echo "check_dask: SKIP: python3-dask and python3-distributed are not installed" >&2
  exit 77
fi
# Under --enable-sanitizers the ASan runtime must come first in every Python
# process that loads the library, the Dask workers included (they inherit
# the environment); leak checking is off, as in run-python-tests.sh.
set --
if test "${CXM_SANITIZERS-no}" = yes; then
  cc=${CC:-gcc}
  cc=${cc%% *}
  asan=$($cc -print-file-name=libasan.so)
  ubsan=$($cc -print-file-name=libubsan.so)
  if test ! -f "$asan"; then
    echo "check_dask: SKIP under sanitizers: libasan.so not found" >&2
    exit 77
  fi
  set -- env LD_PRELOAD="$asan${ubsan:+ $ubsan}" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-dask.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
ex=$srcdir/examples/dask_shards.py
csv=$srcdir/examples/data/sample-events.csv

# Workers write their scratch space under the temporary directory.
DASK_TEMPORARY_DIRECTORY=$tmp
export DASK_TEMPORARY_DIRECTORY

if ! "$@" "$py" "$ex" --csv "$csv" --workers 2 --shards 5 --check \
    --utc-offset +07:00 --decimals 3 --key-file "$tmp/key" \
    --out "$tmp/merged.snap" > "$tmp/run.out" 2> "$tmp/run.err"; then
  echo "FAIL: dask_shards.py --check:" >&2
  cat "$tmp/run.err" >&2
  fail=1
fi
grep -q "^OK: the merged report equals" "$tmp/run.err" ||
  { echo "FAIL: no OK line" >&2; cat "$tmp/run.err" >&2; fail=1; }
grep -q "5 shards on 2 workers: 4675 lines, 4666 events accepted" "$tmp/run.err" ||
  { echo "FAIL: unexpected totals" >&2; cat "$tmp/run.err" >&2; fail=1; }
test "$(stat -c %a "$tmp/key")" = 600 ||
  { echo "FAIL: the key file is not mode 600" >&2; fail=1; }
if test -x "$cxm"; then
  "$cxm" report --format json --utc-offset +07:00 --decimals 3 "$csv" \
    > "$tmp/events.json" 2> /dev/null || fail=1
  "$cxm" report --format json --snapshot "$tmp/merged.snap" \
    > "$tmp/merged.json" 2> "$tmp/merged.err" ||
    { cat "$tmp/merged.err" >&2; fail=1; }
  "$py" - "$tmp/events.json" "$tmp/merged.json" <<'EOF' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert "all" in a and "segment_channels" in a
for k in sorted((set(a) | set(b)) - {"meta"}):
    if a.get(k) != b.get(k):
        sys.exit("FAIL: cxm report of the Dask-merged snapshot differs in " + k)
EOF
fi
exit $fail
