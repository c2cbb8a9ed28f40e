#!/bin/sh
# tests/check_cohorts_cli.sh: `cxm cohorts` end to end, and the retention
# keys of `cxm report --as-of`, on a small stream written here. Every
# expected value is worked out by hand in the comments.
set -u
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
test -x "$cxm" || { echo "check_cohorts_cli: $cxm not built" >&2; exit 99; }
test -x "$py" || { echo "check_cohorts_cli: no $py" >&2; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-coh.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# p: first purchase 2026-01-31T23:30Z, again 2026-03-12; q: 2026-02-01T00:30Z;
# r: only a touch (no purchase, no cohort); s: churns on 2026-03-20.
cat > "$tmp/s.csv" <<'CSV'
time,customer,type,channel,value
2026-01-31T23:30:00Z,p,purchase,web,10
2026-02-01T00:30:00Z,q,purchase,app,20
2026-02-01T08:00:00Z,s,touch,web,
2026-02-02T08:00:00Z,r,touch,app,
2026-03-12T10:00:00Z,p,purchase,web,30
2026-03-20T10:00:00Z,s,churn,,
CSV

"$cxm" cohorts --format json "$tmp/s.csv" > "$tmp/utc.json" 2> "$tmp/err" ||
  { cat "$tmp/err" >&2; exit 1; }
"$cxm" cohorts --format json --utc-offset +02:00 "$tmp/s.csv" > "$tmp/plus2.json" \
  2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
"$cxm" cohorts "$tmp/s.csv" > "$tmp/text.txt" 2> "$tmp/err" ||
  { cat "$tmp/err" >&2; exit 1; }
"$cxm" report --format json --as-of 2026-03-31T12:00:00Z "$tmp/s.csv" \
  > "$tmp/report.json" 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
"$cxm" cohorts --format xml "$tmp/s.csv" > /dev/null 2>&1
test $? -eq 2 || { echo "FAIL: --format xml should exit 2" >&2; exit 1; }

"$py" - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
errors = []
def eq(what, got, want):
    if got != want:
        errors.append("%s: got %r, want %r" % (what, got, want))

# UTC: p in January (months since: Jan 1, Feb 0, Mar 1 -> on 1, 0, 1; last
# purchase in March -> on or after 1, 1, 1); q in February, nothing after.
utc = json.load(open(d + "/utc.json"))
eq("utc", utc, {"cohorts": [
    {"month": "2026-01", "size": 1, "on": [1.0, 0.0, 1.0], "on_or_after": [1.0, 1.0, 1.0]},
    {"month": "2026-02", "size": 1, "on": [1.0, 0.0], "on_or_after": [1.0, 0.0]},
    {"month": "2026-03", "size": 0, "on": [None], "on_or_after": [None]}]})
# +02:00: both first purchases fall on 2026-02-01 local; p buys again in
# March: on = 2/2, 0/2... month 1 = March: 1 of 2.
plus2 = json.load(open(d + "/plus2.json"))
eq("plus2", plus2, {"cohorts": [
    {"month": "2026-02", "size": 2, "on": [1.0, 0.5], "on_or_after": [1.0, 0.5]},
    {"month": "2026-03", "size": 0, "on": [None], "on_or_after": [None]}]})
text = open(d + "/text.txt").read()
if "2026-01" not in text or "100.0%" not in text or "or later" not in text:
    errors.append("text triangle: %r" % text)

# report as of 2026-03-31 (window 90 days, period 30): activity days p 01-31,
# 03-12; q 02-01; s 02-01 then churn 03-20; r 02-02. Active: p, q, r (q and r
# within 90 days); s churned. 30 days before (03-01): p, q, r, s active, no
# activation after it except none (p's 03-12 extends its coverage):
# retention (3 - 0) / 4. Lifespan of s: 0 days; estimate 30 / 0.25 = 120.
# CLV: orders in the 30 days to 03-31: one (30.00): AOV 30, frequency 1/3,
# lifespan 4 periods -> 40.
r = json.load(open(d + "/report.json"))["all"]
eq("active", r["active_customers"], {"value": 3, "n": 3})
eq("churned", r["churned_customers"], {"value": 1, "n": 1})
eq("churn_rate", r["churn_rate"], {"value": 0.25, "n": 4, "period_days": 30})
eq("retention_rate", r["retention_rate"], {"value": 0.75, "n": 4, "period_days": 30})
eq("lifespan", r["avg_lifespan_days"], {"value": 0.0, "n": 1, "estimate": 120.0})
c = r["clv_formula"]
eq("clv n", c["n"], 3)
for k, want in (("value", 40.0), ("aov", 30.0), ("purchase_frequency", 1 / 3),
                ("lifespan_periods", 4.0)):
    if abs(c[k] - want) > 1e-9:
        errors.append("clv_formula.%s: got %r, want %r" % (k, c[k], want))
web = json.load(open(d + "/report.json"))["channels"]["web"]
eq("web active (p; s churned)", (web["active_customers"]["value"],
                                 web["churned_customers"]["value"]), (1, 1))
for e in errors:
    print("FAIL:", e)
print("check_cohorts_cli: %d problem(s)" % len(errors))
sys.exit(1 if errors else 0)
PY
