#!/bin/sh
# tests/test-wrapper.sh: runs one test of `make check` (LOG_COMPILER).
#
# With CXM_REQUIRE_DATA=1 (the full runs: scripts/test.sh and .ci/run) no
# test may skip: a test that exits 77 (skip) is turned into a hard error, so
# that a missing data set or interpreter can never make the suite green.
"$@"
rc=$?
if test "$rc" -eq 77 && test "${CXM_REQUIRE_DATA-}" = 1; then
  echo "test-wrapper: '$*' skipped (exit 77) but CXM_REQUIRE_DATA=1 forbids skipping" \
       "(CXM_DATA_DIR='${CXM_DATA_DIR-}')" >&2
  exit 99
fi
exit "$rc"
