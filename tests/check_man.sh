#!/bin/sh
# tests/check_man.sh: the committed man pages (docs/man/*.1, installed by
# make install) equal what tools/make_man.py makes from the built cxm's
# --help texts, so pages and help cannot drift; and every page renders
# without a groff warning when groff is installed. Regenerate with
#   /usr/bin/python3 tools/make_man.py build/cli/cxm docs/man
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
test -x "$cxm" || { echo "check_man: $cxm not built" >&2; exit 99; }
"$py" "$srcdir/tools/make_man.py" "$cxm" "$srcdir/docs/man" --check || exit 1
if command -v groff >/dev/null 2>&1; then
  for p in "$srcdir"/docs/man/*.1; do
    w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
    if test -n "$w"; then
      echo "check_man: groff warns on $p:" >&2
      echo "$w" >&2
      exit 1
    fi
  done
fi
echo "check_man: $(ls "$srcdir"/docs/man/*.1 | wc -l) pages up to date"
