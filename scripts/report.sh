#!/usr/bin/env bash
# scripts/report.sh: install what is missing (as root), build libcxmetrics
# in build/, and print the KPI report of the bundled sample event stream:
#   build/cli/cxm report examples/data/sample-events.csv
# Extra arguments go to `cxm report` (e.g. --format json).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh
if [ ! -f build/Makefile ]; then
  autoreconf -fi > /dev/null
  mkdir -p build
  (cd build && ../configure -q)
fi
make -C build -j2 >/dev/null
echo "== cxm report examples/data/sample-events.csv $*"
build/cli/cxm report "$@" examples/data/sample-events.csv
