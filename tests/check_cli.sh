#!/bin/sh
# tests/check_cli.sh: `cxm report` end to end on tests/data/cli-small.csv.
#
# Every expected value below is worked out by hand from the CSV (the
# arithmetic is in the comments of the Python part); nothing is taken from a
# previous run. Checks: every KPI of the "all" scope, some channel and
# segment scopes, exact money printing, rejected lines reported as
# FILE:LINE on stderr with the totals, exit statuses, windows with and
# without --utc-offset, --decimals, --max-lateness, and standard input.
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
csv=$srcdir/tests/data/cli-small.csv

if test ! -x "$py"; then
  echo "check_cli: Python interpreter '$py' not found" >&2
  exit 99
fi
if test ! -x "$cxm"; then
  echo "check_cli: $cxm not built" >&2
  exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

# run NAME EXPECTED-EXIT ARGS...: stdout to $tmp/NAME.out, stderr to .err
run() {
  name=$1 want=$2
  shift 2
  "$cxm" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"
  rc=$?
  if test "$rc" -ne "$want"; then
    echo "FAIL: cxm $* exited $rc, expected $want; stderr:" >&2
    cat "$tmp/$name.err" >&2
    fail=1
  fi
}

run full 0 report --format json "$csv"
run utc 0 report --format json --from 2026-03-06 --to 2026-03-07 "$csv"
run plus1 0 report --format json --utc-offset +01:00 --from 2026-03-06 \
  --to 2026-03-07 "$csv"
run trailing 0 report --format json --trailing-days 2 \
  --as-of 2026-03-07T12:00:00Z "$csv"
run dec0 0 report --format json --decimals 0 "$csv"
run dec3 0 report --format json --decimals=3 "$csv"
run late 0 report --format json --max-lateness 86400 "$csv"
run key 0 report --format json --key-hex 000102030405060708090a0b0c0d0e0f "$csv"
run text 0 report "$csv"
"$cxm" report --format json - < "$csv" > "$tmp/stdin.out" 2> "$tmp/stdin.err" ||
  { echo "FAIL: cxm report - (stdin)" >&2; fail=1; }
run help 0 --help
run rhelp 0 report --help
run version 0 --version
run badopt 2 report --no-such-option "$csv"
run badfmt 2 report --format xml "$csv"
run badoff 2 report --utc-offset 7 "$csv"
run badtime 2 report --from yesterday "$csv"
run nofile 2 report
run missing 1 report "$tmp/does-not-exist.csv"
run maxerr 0 report --format json --max-errors 1 "$csv"
run twice 0 report --format json "$csv" "$csv"
# Labels are arbitrary bytes: a channel with a quote, a backslash, a control
# byte, an invalid byte (0xff) and UTF-8 (e9 as c3 a9); segments with a tab,
# UTF-8, and an encoded surrogate (ed a0 80, invalid UTF-8).
printf 'time,customer,type,channel,value,segments\n1767225600,a,purchase,"q""b\\\001\377\303\251",5,"s\ttab;caf\303\251;\355\240\200"\n' \
  > "$tmp/labels.csv"
run labels 0 report --format json "$tmp/labels.csv"

"$py" - "$tmp" <<'EOF' || fail=1
import json, math, sys
from decimal import Decimal

tmp = sys.argv[1]
errors = []


def load(name):
    with open("%s/%s.out" % (tmp, name), "rb") as f:
        return json.loads(f.read().decode("utf-8"), parse_float=Decimal)


def stderr(name):
    with open("%s/%s.err" % (tmp, name), "rb") as f:
        return f.read().decode("utf-8", "replace")


def check(where, got, want):
    """want: None (null), an int, a float (compared to 1e-9 relative) or a
    str (the exact decimal text of a money sum)."""
    if want is None:
        ok = got is None
    elif isinstance(want, str):
        ok = isinstance(got, Decimal) and str(got) == want
    elif isinstance(want, int):
        ok = not isinstance(got, bool) and isinstance(got, (int, Decimal)) \
            and got == want
    else:
        ok = got is not None and math.isclose(float(got), want,
                                              rel_tol=1e-9, abs_tol=1e-12)
    if not ok:
        errors.append("%s: got %r, want %r" % (where, got, want))


def kpis(scope_name, scope, table):
    for key, (value, n) in table.items():
        if key not in scope:
            errors.append("%s: key %s missing" % (scope_name, key))
            continue
        check("%s.%s.value" % (scope_name, key), scope[key]["value"], value)
        check("%s.%s.n" % (scope_name, key), scope[key]["n"], n)


KEYS = ["nps", "csat", "csat_mean", "ces", "revenue", "refunds",
        "net_revenue", "orders", "buyers", "aov", "purchase_frequency",
        "repeat_purchase_rate", "clv_historical", "lead_conversion_rate",
        "sessions", "bounce_rate", "engaged_session_rate", "engagement_rate",
        "open_rate", "click_rate", "click_to_open_rate", "spend", "cpl",
        "cpa", "cac",
        # the retention keys (values checked by tests/check_diff.sh against
        # tests/ref/cxm_ref.py, definitions in docs/retention.md)
        "active_customers", "churned_customers", "churn_rate",
        "retention_rate", "avg_lifespan_days", "clv_formula"]

full = load("full")
for top in ("meta", "all", "channels", "segments", "segment_channels"):
    if top not in full:
        errors.append("top-level key %s missing" % top)
if "window" in full:
    errors.append("no window was asked, yet 'window' is present")
if list(full["all"].keys()) != KEYS:
    errors.append("all: keys %r" % list(full["all"].keys()))

# The CSV has 26 data records (27 physical lines after the header: the
# record starting on line 13 has a quoted line break). Three are malformed:
# line 16 (nps 11, out of 0..10), line 21 (month 13), line 27 (purchase
# without an amount). 23 accepted. Customers a, b, c.
meta = full["meta"]
check("meta.lines", meta["lines"], 26)
check("meta.accepted", meta["accepted"], 23)
check("meta.rejected", meta["rejected"], 3)
check("meta.customers", meta["customers"], 3)
check("meta.decimals", meta["decimals"], 2)

# --- all events ---------------------------------------------------------
# NPS answers: a 10 (promoter), b 6 (detractor): 100 * (1 - 1) / 2 = 0.
# moe95 = 100 * 1.96 * sqrt((pP + pD - (pP - pD)^2) / n), pP = pD = 0.5,
#       = 196 * sqrt((1 - 0) / 2).
# CSAT: b 4, c 2: one of two is 4-5 -> 50 %; mean 3. CES: c 3, a 5 -> 4.
# Purchases: a 100.00, a 10.125 (2 decimals: 1012.5 cents, half away from
# zero -> 10.13), b 30.00, c 25.00 (line 27 rejected): revenue 165.13 over
# 4 orders. Refund: a 20 -> 20.00. Net 145.13 from 5 money events.
# Buyers a, b, c = 3; AOV 165.13 / 4 = 41.2825; frequency 4 / 3; repeat
# buyers: a only -> 1/3; historical CLV = net 145.13 / 3 buyers.
# Leads: a (web, 03-01 10:00, bought 03-02) and b (ads, 03-01 12:30,
# bought 03-05): both converted -> 2 / 2 = 1.
# Sessions (a): 1 pageview 3 s (a bounce, not engaged) and 4 pageviews
# 120 s (engaged): bounce 1/2, engaged 1/2.
# Interactions (touch, engage, session, message_click): a touch + 2
# sessions = 3, b touch = 1, c click = 1 -> 5 / 3 customers.
# Messages: sent to c and a (2), c opened (1) and clicked (1): open 1/2,
# click 1/2, click-to-open 1/1.
# Spend: ads 60.00 + web 15 -> 75.00 over 2 events. CPL 75 / 2 leads =
# 37.5; CPA 75 / 4 orders = 18.75; CAC 75 / 3 new buyers = 25.
kpis("all", full["all"], {
    "nps": (0.0, 2), "csat": (50.0, 2), "csat_mean": (3.0, 2),
    "ces": (4.0, 2), "revenue": ("165.13", 4), "refunds": ("20.00", 1),
    "net_revenue": ("145.13", 5), "orders": (4, 4), "buyers": (3, 3),
    "aov": (41.2825, 4), "purchase_frequency": (4 / 3, 3),
    "repeat_purchase_rate": (1 / 3, 3), "clv_historical": (145.13 / 3, 3),
    "lead_conversion_rate": (1.0, 2), "sessions": (2, 2),
    "bounce_rate": (0.5, 2), "engaged_session_rate": (0.5, 2),
    "engagement_rate": (5 / 3, 3), "open_rate": (0.5, 2),
    "click_rate": (0.5, 2), "click_to_open_rate": (1.0, 1),
    "spend": ("75.00", 2), "cpl": (37.5, 2), "cpa": (18.75, 4),
    "cac": (25.0, 3)})
nps = full["all"]["nps"]
check("all.nps.moe95", nps.get("moe95"), 196 * math.sqrt(0.5))
check("all.nps.promoters", nps.get("promoters"), 1)
check("all.nps.passives", nps.get("passives"), 0)
check("all.nps.detractors", nps.get("detractors"), 1)

# --- channels -----------------------------------------------------------
ch = full["channels"]
if sorted(ch.keys()) != ["ads", "email", "web"]:
    errors.append("channel labels %r" % sorted(ch.keys()))
# web: purchases a 100.00 + a 10.13 + b 30.00 = 140.13 (3 orders); refund
# 20.00. Buyers acquired by web (first purchase on web): a and b -> 2; their
# orders 2 + 1 = 3 -> frequency 1.5; repeat 1/2; CLV (a 90.13 + b 30) / 2.
# a's first lead was on web: 1/1. Spend 15: CPL 15 / 1 lead event on web;
# CPA 15 / 3; CAC 15 / 2 new buyers. a's first interaction (touch) was on
# web: its 3 interactions / 1 customer.
kpis("channels.web", ch["web"], {
    "revenue": ("140.13", 3), "refunds": ("20.00", 1), "orders": (3, 3),
    "aov": (140.13 / 3, 3), "buyers": (2, 2), "purchase_frequency": (1.5, 2),
    "repeat_purchase_rate": (0.5, 2), "clv_historical": (120.13 / 2, 2),
    "lead_conversion_rate": (1.0, 1), "sessions": (2, 2),
    "spend": ("15.00", 1), "cpl": (15.0, 1), "cpa": (5.0, 3),
    "cac": (7.5, 2), "engagement_rate": (3.0, 1), "nps": (None, 0)})
# ads: c's purchase 25.00 (c's first purchase: c acquired by ads), b's lead
# (b's first lead: 1/1 converted), spend 60.00: CPL 60/1, CPA 60/1, CAC 60/1.
# b's first interaction (touch) was on ads: 1 interaction / 1 customer.
kpis("channels.ads", ch["ads"], {
    "revenue": ("25.00", 1), "orders": (1, 1), "buyers": (1, 1),
    "lead_conversion_rate": (1.0, 1), "spend": ("60.00", 1),
    "cpl": (60.0, 1), "cpa": (60.0, 1), "cac": (60.0, 1),
    "engagement_rate": (1.0, 1), "sessions": (0, 0), "bounce_rate": (None, 0)})
# email: the surveys and messages. No spend: spend 0 over 0 events, and
# CPL/CPA are null (no lead or order on email).
kpis("channels.email", ch["email"], {
    "nps": (0.0, 2), "csat": (50.0, 2), "ces": (4.0, 2),
    "open_rate": (0.5, 2), "click_rate": (0.5, 2),
    "click_to_open_rate": (1.0, 1), "spend": ("0.00", 0), "cpl": (None, 0),
    "cpa": (None, 0), "revenue": ("0.00", 0), "engagement_rate": (1.0, 1)})

# --- segments -----------------------------------------------------------
seg = full["segments"]
if sorted(seg.keys()) != ["tier=basic", "tier=gold"]:
    errors.append("segment labels %r" % sorted(seg.keys()))
# tier=gold, event-level: every event of a (gold from line 2) and c's
# purchase of line 28 (its segments are set by that same event): revenue
# 100.00 + 10.13 + 25.00 = 135.13; a's NPS 10 -> 100 (moe95 0); a's CES 5
# (c's CES came before c was gold); a's message without an open -> 0 / 1.
# Customer-level, by the segments held now (a and c): buyers 2, orders
# 2 + 1 -> 1.5, repeat 1/2, CLV (90.13 + 25) / 2; leads: a 1/1;
# interactions a 3 + c 1 over 2 customers = 2. Spend KPIs: null in a
# segment scope.
kpis("segments.gold", seg["tier=gold"], {
    "revenue": ("135.13", 3), "refunds": ("20.00", 1), "orders": (3, 3),
    "nps": (100.0, 1), "ces": (5.0, 1), "open_rate": (0.0, 1),
    "buyers": (2, 2), "purchase_frequency": (1.5, 2),
    "repeat_purchase_rate": (0.5, 2), "clv_historical": (115.13 / 2, 2),
    "lead_conversion_rate": (1.0, 1), "engagement_rate": (2.0, 2),
    "spend": (None, 0), "cpl": (None, 0), "cpa": (None, 0), "cac": (None, 0)})
check("segments.gold.nps.moe95", seg["tier=gold"]["nps"].get("moe95"), 0.0)
# tier=basic: b: purchase 30.00, NPS 6 -> -100, CSAT 4 -> 100 %.
kpis("segments.basic", seg["tier=basic"], {
    "revenue": ("30.00", 1), "nps": (-100.0, 1), "csat": (100.0, 1),
    "buyers": (1, 1), "lead_conversion_rate": (1.0, 1)})
# segment x channel: gold x web = a's two web purchases 110.13.
sc = full["segment_channels"]
kpis("segment_channels.gold.web", sc["tier=gold"]["web"],
     {"revenue": ("110.13", 2), "sessions": (2, 2)})
kpis("segment_channels.gold.ads", sc["tier=gold"]["ads"],
     {"revenue": ("25.00", 1)})

# --- rejected lines on stderr ------------------------------------------
err = stderr("full")
for line in (16, 21, 27):
    if ("cli-small.csv:%d: " % line) not in err:
        errors.append("stderr lacks cli-small.csv:%d:\n%s" % (line, err))
for line in (13, 14, 15, 28):
    if ("cli-small.csv:%d: " % line) in err:
        errors.append("stderr reports line %d, which is valid" % line)
if "26 lines, 23 accepted, 3 rejected" not in err:
    errors.append("stderr lacks the totals:\n" + err)
err = stderr("maxerr")
if err.count("cli-small.csv:") != 1 or "2 more rejected" not in err:
    errors.append("--max-errors 1: stderr:\n" + err)

# --- windows ------------------------------------------------------------
# UTC days: [2026-03-06, 2026-03-07) holds b's NPS 6 and CSAT 4 (08:00Z,
# 09:00Z) but not b's purchase at 2026-03-05T23:30Z. Customer-level KPIs
# stay all-time (buyers 3).
utc = load("utc")
if "window" not in utc:
    errors.append("utc: no window object")
kpis("utc.all", utc["all"], {
    "revenue": ("0.00", 0), "orders": (0, 0), "aov": (None, 0),
    "nps": (-100.0, 1), "csat": (100.0, 1), "buyers": (3, 3),
    "sessions": (0, 0), "spend": ("0.00", 0)})
# At +01:00 the purchase's local time is 2026-03-06T00:30+01:00: it moves
# into the day of 03-06 and into the window; nothing of 03-07 local enters
# (c's purchase is at 11:00+01:00 on 03-07).
p1 = load("plus1")
kpis("plus1.all", p1["all"], {
    "revenue": ("30.00", 1), "orders": (1, 1), "aov": (30.0, 1),
    "nps": (-100.0, 1), "buyers": (3, 3)})
if p1.get("meta", {}).get("utc_offset") != "+01:00":
    errors.append("plus1: meta.utc_offset %r" % p1.get("meta", {}).get("utc_offset"))
# Trailing 2 days as of 2026-03-07T12:00Z: days 03-06 and 03-07 (UTC):
# b's NPS and CSAT, c's purchase of 25.00 on 03-07.
tr = load("trailing")
kpis("trailing.all", tr["all"], {
    "revenue": ("25.00", 1), "orders": (1, 1), "nps": (-100.0, 1)})
check("trailing.window.trailing_days", tr.get("window", {}).get("trailing_days"), 2)

# --- options --------------------------------------------------------------
# --decimals 0: each amount rounded to a whole unit, halves away from zero:
# 100 + 10 (10.125) + 30 + 25 = 165; refund 20; spend 60 + 15 = 75.
d0 = load("dec0")
kpis("dec0.all", d0["all"], {"revenue": (165, 4), "refunds": (20, 1),
                             "net_revenue": (145, 5), "spend": (75, 2)})
# --decimals 3: 10.125 is kept exactly: 165.125; printed with 3 decimals.
d3 = load("dec3")
kpis("dec3.all", d3["all"], {"revenue": ("165.125", 4), "refunds": ("20.000", 1)})
# --max-lateness 86400: a's message_sent (line 20, 2026-03-02T10:06Z) is
# more than a day older than a's newest event so far (NPS, 03-04T12:00Z):
# rejected as late. a's CES of line 24 (03-04T00:00Z, 12 h older) stays.
# Then only c's message was sent: open rate 1/1.
late = load("late")
check("late.meta.rejected", late["meta"]["rejected"], 4)
kpis("late.all", late["all"], {"open_rate": (1.0, 1), "ces": (4.0, 2)})
# Reading standard input gives the same report; so does a fixed key.
for name in ("stdin", "key"):
    other = load(name)
    if other["all"] != full["all"] or other["segments"] != full["segments"]:
        errors.append("%s: report differs from the file's" % name)

# Two files are read into one handle and events are not deduplicated: the
# same file twice doubles every event-level count and sum (revenue 2 x
# 165.13 = 330.26 over 8 orders, NPS over 4 answers) while the customers
# stay 3. Every buyer now has 2+ orders: repeat purchase rate 3/3. The
# replayed events are at most 6 days older than each customer's newest
# (a: 03-01 vs 03-04, b: 03-01 vs 03-06, c: 03-02 vs 03-07), within the
# 7-day lateness bound. Rejected lines are reported for both files.
tw = load("twice")
check("twice.meta.lines", tw["meta"]["lines"], 52)
check("twice.meta.rejected", tw["meta"]["rejected"], 6)
check("twice.meta.customers", tw["meta"]["customers"], 3)
kpis("twice.all", tw["all"], {
    "revenue": ("330.26", 8), "orders": (8, 8), "buyers": (3, 3),
    "nps": (0.0, 4), "repeat_purchase_rate": (1.0, 3),
    "spend": ("150.00", 4)})
err = stderr("twice")
if err.count("cli-small.csv:16: ") != 2:
    errors.append("twice: line 16 should be reported for each file:\n" + err)

# Labels: the JSON parses and holds the labels escaped and repaired.
lab = load("labels")
want_ch = 'q"b\\\x01\ufffd\u00e9'
if list(lab["channels"]) != [want_ch]:
    errors.append("labels: channels %r, want [%r]" % (list(lab["channels"]), want_ch))
want_seg = ["s\ttab", "caf\u00e9", "\ufffd\ufffd\ufffd"]
if sorted(lab["segments"]) != sorted(want_seg):
    errors.append("labels: segments %r, want %r" % (list(lab["segments"]), want_seg))
check("labels.channel.revenue", lab["channels"].get(want_ch, {}).get("revenue", {}).get("value"), "5.00")

with open(tmp + "/text.out", encoding="utf-8") as f:
    text = f.read()
for needle in ("== All ==", "== By channel ==", "== By segment ==", "165.13"):
    if needle not in text:
        errors.append("text report lacks %r" % needle)

for e in errors:
    print("FAIL:", e)
print("check_cli: %d problem(s)" % len(errors))
sys.exit(1 if errors else 0)
EOF

exit $fail
