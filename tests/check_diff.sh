#!/bin/sh
# check_diff.sh - differential test: `cxm report --format json` against the
# independent reference model tests/ref/cxm_ref.py, on seeded random streams
# (tests/ref/gen_stream.py: ~2k events, 300 customers, segment changes, spend,
# every type, out-of-order rows, invalid rows), under several option sets.
# Every value of every scope is compared (tests/ref/compare_reports.py):
# counts and money exactly, other numbers to 1e-9 relative.
#
# Environment (set by `make check`): abs_top_builddir, top_srcdir, PYTHON3.
# CXM overrides the cxm binary.
#
# Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
set -u

srcdir=${top_srcdir:-$(dirname "$0")/..}
ref="$srcdir/tests/ref"
py=${PYTHON3:-/usr/bin/python3}
cxm=${CXM:-${abs_top_builddir:-.}/cli/cxm}

if ! test -x "$cxm"; then
  echo "check_diff: cxm not found at $cxm (build cli/cxm first)" >&2
  exit 99
fi
if ! "$py" -c 'import json, csv, decimal' 2>/dev/null; then
  echo "check_diff: $py cannot run the reference model" >&2
  exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-diff.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

key=000102030405060708090a0b0c0d0e0f
fail=0

# run NAME SEED [OPTIONS...]: one stream, both models, compare.
run() {
  name=$1 seed=$2
  shift 2
  "$py" "$ref/gen_stream.py" "$seed" > "$tmp/$name.csv" || { fail=1; return; }
  if ! "$cxm" report --format json --key-hex "$key" "$@" "$tmp/$name.csv" \
      > "$tmp/$name.cxm.json" 2> "$tmp/$name.err"; then
    echo "FAIL $name: cxm exited with an error:" >&2
    cat "$tmp/$name.err" >&2
    fail=1
    return
  fi
  "$py" "$ref/cxm_ref.py" "$@" "$tmp/$name.csv" > "$tmp/$name.ref.json" ||
    { echo "FAIL $name: reference model failed" >&2; fail=1; return; }
  if ! "$py" "$ref/compare_reports.py" "$tmp/$name.cxm.json" \
      "$tmp/$name.ref.json" "$name (seed $seed $*)"; then
    fail=1
  fi
}

run default 1
run jakarta-window 2 --utc-offset +07:00 --from 2026-01-08 --to 2026-01-20T12:00
run decimals0-late2d 3 --decimals 0 --max-lateness 172800
run strict-order 4 --max-lateness 0 --utc-offset -03:30
run decimals3-window 6 --decimals 3 --from 1767830400 --to 2026-01-25T00:00:00Z
run trailing-7 7 --trailing-days 7 --as-of 2026-01-20T05:00 --utc-offset +05:30
run trailing-latest 8 --trailing-days 3

# The bundled sample stream (with its malformed lines), whole and windowed.
sample="$srcdir/examples/data/sample-events.csv"
if test -f "$sample"; then
  for opts in "" "--utc-offset +07:00 --from 2026-01-10 --to 2026-02-01"; do
    # shellcheck disable=SC2086
    if "$cxm" report --format json --key-hex "$key" $opts "$sample" \
        > "$tmp/sample.cxm.json" 2> "$tmp/sample.err"; then
      "$py" "$ref/cxm_ref.py" $opts "$sample" > "$tmp/sample.ref.json" &&
        "$py" "$ref/compare_reports.py" "$tmp/sample.cxm.json" \
          "$tmp/sample.ref.json" "sample-events.csv $opts" || fail=1
    else
      echo "FAIL sample: cxm exited with an error:" >&2
      cat "$tmp/sample.err" >&2
      fail=1
    fi
  done
else
  echo "FAIL: $sample is missing" >&2
  fail=1
fi

# Two files into one handle equal the concatenated stream.
"$py" "$ref/gen_stream.py" 5 > "$tmp/split.csv" || exit 99
lines=$(wc -l < "$tmp/split.csv")
half=$((lines / 2))
# Split at a record boundary: the generator quotes embedded line breaks, so
# cut with the csv module rather than head/tail.
"$py" - "$tmp/split.csv" "$tmp/part1.csv" "$tmp/part2.csv" "$half" <<'EOF'
import csv, sys
src, a, b, half = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(src, newline="") as fh:
    rows = list(csv.reader(fh))
head, body = rows[0], rows[1:]
for path, part in ((a, body[:half]), (b, body[half:])):
    with open(path, "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(head)
        w.writerows(part)
EOF
if "$cxm" report --format json --key-hex "$key" "$tmp/part1.csv" - \
    < "$tmp/part2.csv" > "$tmp/split.cxm.json" 2> "$tmp/split.err"; then
  "$py" "$ref/cxm_ref.py" "$tmp/split.csv" > "$tmp/split.ref.json" &&
    "$py" "$ref/compare_reports.py" "$tmp/split.cxm.json" "$tmp/split.ref.json" \
      "two-files (seed 5, file + stdin)" || fail=1
else
  echo "FAIL two-files: cxm exited with an error:" >&2
  cat "$tmp/split.err" >&2
  fail=1
fi

exit $fail
