#!/usr/bin/env bash
# scripts/abi-check.sh: compare the ABI of the built shared library with the
# committed baseline abi/libcxmetrics.so.0.abi (libabigail's abidw/abidiff).
#
#   scripts/abi-check.sh [--lib PATH/libcxmetrics.so] [--srcdir DIR] [--update]
#
# Without --lib it uses build/lib/.libs/libcxmetrics.so, building it in
# build-abi/ if needed (a normal -g build: abidw reads the DWARF).
# Only public types count: both corpora are written by abidw with
# --drop-private-types --headers-dir include, then compared by abidiff
# --headers-dir1/--headers-dir2 include.
#
# Verdict, with the SONAME unchanged:
#   - abidiff reports an incompatible change (exit bit 8,
#     ABIDIFF_ABI_INCOMPATIBLE_CHANGE): FAIL;
#   - it reports a change (bit 4, ABIDIFF_ABI_CHANGE) that removes or changes
#     a function, variable or symbol: FAIL;
#   - additions only, or no change: PASS.
# With a SONAME different from the baseline's: PASS with a note (before 1.0
# an incompatible change comes with a SONAME bump and a new baseline).
#
# --update (make abi-baseline) rewrites the baseline: only for additions, or
# together with a SONAME bump before 1.0.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
lib=
update=no
while [ $# -gt 0 ]; do
  case $1 in
    --lib) lib=$2; shift 2 ;;
    --srcdir) srcdir=$(cd "$2" && pwd); shift 2 ;;
    --update) update=yes; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "abi-check: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
baseline=$srcdir/abi/libcxmetrics.so.0.abi
headers=$srcdir/include

for tool in abidw abidiff readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "abi-check: '$tool' not found (apt-get install abigail-tools binutils)" >&2
    exit 1
  fi
done

if [ -z "$lib" ]; then
  lib=$srcdir/build/lib/.libs/libcxmetrics.so
  if [ ! -e "$lib" ]; then
    echo "abi-check: $lib not found; building in $srcdir/build-abi"
    [ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi)
    mkdir -p "$srcdir/build-abi"
    (cd "$srcdir/build-abi" && "$srcdir/configure" -q && make -j2 lib/libcxmetrics.la)
    lib=$srcdir/build-abi/lib/.libs/libcxmetrics.so
  fi
fi
if [ ! -e "$lib" ]; then
  echo "abi-check: shared library '$lib' not found" >&2
  exit 1
fi
lib=$(readlink -f "$lib")
# (no grep -q: with pipefail, readelf would die of SIGPIPE)
if ! readelf -S "$lib" | grep '\.debug_info' > /dev/null; then
  echo "abi-check: $lib has no DWARF debug info (build with -g)" >&2
  exit 1
fi

soname_of_elf() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p'; }
soname_of_abi() { grep -m 1 -o "soname='[^']*'" "$1" | sed "s/soname='\(.*\)'/\1/"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
current=$tmp/current.abi
abidw --no-corpus-path --no-comp-dir-path --short-locs --drop-private-types \
  --headers-dir "$headers" --out-file "$current" "$lib"
nfun=$(grep -c '<elf-symbol name=.*type=.func-type' "$current" || true)
soname=$(soname_of_elf "$lib")
echo "abi-check: $lib: SONAME $soname, $nfun exported functions"

if [ "$update" = yes ]; then
  mkdir -p "$(dirname "$baseline")"
  cp "$current" "$baseline"
  echo "abi-check: baseline written: $baseline (commit it)"
  exit 0
fi
if [ ! -f "$baseline" ]; then
  echo "abi-check: no baseline $baseline; create it with 'make abi-baseline'" >&2
  exit 1
fi
base_soname=$(soname_of_abi "$baseline")

# Private types were dropped by abidw when each corpus was written (same
# --drop-private-types --headers-dir as above): libabigail 2.2's abidiff
# aborts on an assertion when --drop-private-types is combined with
# --headers-dir on abixml input, so it is not repeated here.
set +e
abidiff --headers-dir1 "$headers" --headers-dir2 "$headers" \
  "$baseline" "$current" > "$tmp/diff.txt" 2>&1
rc=$?
set -e
cat "$tmp/diff.txt"
echo "abi-check: abidiff exit status $rc (baseline SONAME $base_soname, current $soname)"

if [ $((rc & 3)) -ne 0 ]; then
  echo "abi-check: FAIL: abidiff itself failed (error or usage, status $rc)" >&2
  exit 1
fi
if [ "$base_soname" != "$soname" ]; then
  echo "abi-check: NOTE: SONAME changed ($base_soname -> $soname): incompatible changes"
  echo "abi-check: are allowed; commit a new baseline with 'make abi-baseline'."
  exit 0
fi
if [ $((rc & 8)) -ne 0 ]; then
  echo "abi-check: FAIL: incompatible ABI change with the same SONAME $soname" >&2
  exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
  # A change: allowed only if it adds. Any "N Removed" or "N Changed" with
  # N > 0 in abidiff's summaries is a removal or a change.
  bad=$(grep -E 'changes summary:' "$tmp/diff.txt" |
        grep -E '(^|[^0-9])[1-9][0-9]* (Removed|Changed)' || true)
  if [ -n "$bad" ]; then
    echo "abi-check: FAIL: ABI change other than additions with the same SONAME $soname:" >&2
    echo "$bad" >&2
    exit 1
  fi
  echo "abi-check: PASS: additions only (update the baseline with 'make abi-baseline' in the release)"
  exit 0
fi
echo "abi-check: PASS: ABI identical to the baseline"
