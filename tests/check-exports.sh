#!/bin/sh
# tests/check-exports.sh: the dynamic symbols the shared library exports must
# be exactly the symbols of lib/libcxmetrics.sym, which must be exactly the
# CXM_API functions declared in include/cxmetrics.h.
#
# Environment (set by `make check`): top_srcdir, abs_top_builddir, NM.
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
nm_prog=${NM:-nm}
so="$builddir/lib/.libs/libcxmetrics.so"
sym="$srcdir/lib/libcxmetrics.sym"
hdr="$srcdir/include/cxmetrics.h"

case $nm_prog in
  # libtool may set NM to "nm -B"; we need plain nm for -D.
  *nm*) nm_prog=nm ;;
esac

if test ! -f "$so"; then
  echo "check-exports: $so not found (shared library not built?)" >&2
  exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# Defined dynamic symbols, without the version nodes themselves (type A).
$nm_prog -D --defined-only "$so" | awk '$2 != "A" && $2 != "a" { print $3 }' |
  sed 's/@.*//' | LC_ALL=C sort -u > "$tmp/exported"
# Global symbols of the version script (comments stripped).
sed -e 's,/\*.*\*/,,g' -e '/\/\*/,/\*\//d' "$sym" |
  awk '/global:/ { g = 1; next } /local:/ { g = 0 } g' |
  tr -d ' \t;' | grep -v '^$' | grep -v '^}' | LC_ALL=C sort -u > "$tmp/script"
# CXM_API declarations of the header: the first "cxm_name(" after CXM_API,
# which may sit on a following line.
awk '
  /^[ \t]*CXM_API[ \t]/ { decl = ""; open = 1 }
  open { decl = decl " " $0
         if (match(decl, /cxm_[A-Za-z0-9_]*[ \t]*\(/)) {
           name = substr(decl, RSTART, RLENGTH); sub(/[ \t]*\($/, "", name)
           print name; open = 0 } }
' "$hdr" | LC_ALL=C sort -u > "$tmp/header"

status=0
report() { # name-a file-a name-b file-b
  if ! cmp -s "$2" "$4"; then
    echo "check-exports: $1 and $3 differ:" >&2
    LC_ALL=C comm -23 "$2" "$4" | sed "s/^/  only in $1: /" >&2
    LC_ALL=C comm -13 "$2" "$4" | sed "s/^/  only in $3: /" >&2
    status=1
  fi
}
report "exported symbols" "$tmp/exported" "libcxmetrics.sym" "$tmp/script"
report "libcxmetrics.sym" "$tmp/script" "cxmetrics.h CXM_API" "$tmp/header"
n=$(wc -l < "$tmp/exported" | tr -d ' ')
if test "$n" -eq 0; then
  echo "check-exports: no exported symbols found" >&2
  status=1
fi
# Every exported symbol must carry a version node of the script.
unversioned=$(objdump -T "$so" 2>/dev/null | awk '$0 ~ / cxm_/ && $0 !~ /CXMETRICS_/ { print $NF }')
if test -n "$unversioned"; then
  echo "check-exports: symbols without a CXMETRICS_ version node: $unversioned" >&2
  status=1
fi
if test $status -eq 0; then
  echo "check-exports: OK, $n symbols exported = libcxmetrics.sym = CXM_API in cxmetrics.h"
fi
exit $status
