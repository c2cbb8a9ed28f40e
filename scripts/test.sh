#!/usr/bin/env bash
# scripts/test.sh: build libcxmetrics and run every test (the README's test
# command; .ci/run runs it first).
#
#   autoreconf -fi; out-of-tree build in build/ with --enable-werror;
#   make -j2; make check with CXM_DATA_DIR (default ../shared/data, next to
#   the checkout) and CXM_REQUIRE_DATA=1, so that no test may skip.
#
# Missing Debian packages are installed first when running as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

data=${CXM_DATA_DIR:-$root/../shared/data}
if [ ! -d "$data" ]; then
  echo "test.sh: data directory '$data' not found; set CXM_DATA_DIR to the shared/data" \
       "directory (nps-retail/, cdnow/)" >&2
  exit 1
fi
CXM_DATA_DIR=$(cd "$data" && pwd)
CXM_REQUIRE_DATA=1
export CXM_DATA_DIR CXM_REQUIRE_DATA

bash scripts/deps.sh --test
autoreconf -fi
mkdir -p build
cd build
../configure --enable-werror
make -j2
status=0
make -j2 check || status=$?
if [ $status -ne 0 ]; then
  echo "test.sh: make check FAILED; logs of the failed tests:" >&2
  for trs in $(find tests -name '*.trs' | sort); do
    if grep -q -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
      echo "---- ${trs%.trs}.log ----"
      cat "${trs%.trs}.log"
    fi
  done
fi
bash "$root/scripts/tally.sh" test-suite.log
exit $status
