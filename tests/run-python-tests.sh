#!/bin/sh
# tests/run-python-tests.sh: the Python binding's unittest suite, against the
# library just built (CXMETRICS_LIB), with /usr/bin/python3 (PYTHON3 from
# configure). A missing interpreter, module or test directory is a failure.
#
# Under --enable-sanitizers the ASan runtime must come first in the process,
# so it is preloaded (leak checking is off: the interpreter itself "leaks").
set -u
srcdir=${top_srcdir:-.}
py=${PYTHON3:-/usr/bin/python3}
: "${CXMETRICS_LIB:=${abs_top_builddir:-.}/lib/.libs/libcxmetrics.so.0}"
export CXMETRICS_LIB

if test ! -x "$py"; then
  echo "run-python-tests: Python interpreter '$py' not found" >&2
  exit 99
fi
if test ! -d "$srcdir/python/tests"; then
  echo "run-python-tests: $srcdir/python/tests does not exist" >&2
  exit 99
fi
if test ! -f "$CXMETRICS_LIB"; then
  echo "run-python-tests: $CXMETRICS_LIB not built" >&2
  exit 99
fi

PYTHONPATH="$srcdir/python${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH PYTHONDONTWRITEBYTECODE

if test "${CXM_SANITIZERS-no}" = yes; then
  cc=${CC:-gcc}
  cc=${cc%% *}
  asan=$($cc -print-file-name=libasan.so)
  ubsan=$($cc -print-file-name=libubsan.so)
  if test ! -f "$asan"; then
    echo "run-python-tests: SKIP under sanitizers: libasan.so not found for LD_PRELOAD" >&2
    exit 77
  fi
  preload="$asan${ubsan:+ $ubsan}${LD_PRELOAD:+ $LD_PRELOAD}"
  # The last setting wins: leak checking off whatever the caller asked.
  asan_options="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  echo "run-python-tests: sanitizer build, LD_PRELOAD=$preload ASAN_OPTIONS=$asan_options"
  set -- env LD_PRELOAD="$preload" ASAN_OPTIONS="$asan_options"
else
  set --
fi

out=$(mktemp "${TMPDIR:-/tmp}/cxm-pytest.XXXXXX") || exit 99
"$@" "$py" -m unittest discover -v -s "$srcdir/python/tests" > "$out" 2>&1
rc=$?
cat "$out"
# unittest exits 0 when nothing ran (Python < 3.12): that is a failure here.
if grep -q '^Ran 0 tests' "$out"; then
  echo "run-python-tests: no Python tests were found" >&2
  rc=1
fi
rm -f "$out"
exit $rc
