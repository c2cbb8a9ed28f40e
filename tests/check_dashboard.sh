#!/bin/sh
# tests/check_dashboard.sh: `cxm dashboard` rendered in Debian's headless
# Chromium (tests/browser/check_dashboard.mjs, playwright-core from npm): no
# console error, no network request, and the tiles, NPS/CSAT series, funnel,
# cohort heat map, attribution bars and segment table carry the numbers of
# `cxm report --format json` / `cxm cohorts --format json` on the bundled
# sample stream. Screenshots are kept in tests/dashboard-out/ of the build.
#
# Needs node, /usr/bin/chromium and network access to the npm registry for
# the first `npm install` (in the build tree). When one is missing the test
# is skipped (77) unless CXM_REQUIRE_DATA=1 (scripts/test.sh, CI): then it
# fails.
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
cxm=$builddir/cli/cxm
input=$srcdir/examples/data/sample-events.csv
work=$builddir/tests/browser-run
out=$builddir/tests/dashboard-out

missing() {
  echo "check_dashboard: $*" >&2
  if test "${CXM_REQUIRE_DATA:-0}" = 1; then exit 1; fi
  exit 77
}
test -x "$cxm" || { echo "check_dashboard: $cxm not built" >&2; exit 99; }
command -v node >/dev/null 2>&1 || missing "node not found (Debian: nodejs)"
test -x /usr/bin/chromium || missing "/usr/bin/chromium not found (Debian: chromium)"
mkdir -p "$work" || exit 99
cp "$srcdir/tests/browser/package.json" "$srcdir/tests/browser/check_dashboard.mjs" "$work/" || exit 99
chmod u+w "$work/package.json" "$work/check_dashboard.mjs"
if test ! -d "$work/node_modules/playwright-core"; then
  (cd "$work" && npm install --no-audit --no-fund >npm-install.log 2>&1) ||
    missing "npm install playwright-core failed (see $work/npm-install.log)"
fi
exec node "$work/check_dashboard.mjs" "$cxm" "$input" "$out"
