#!/bin/sh
# tests/check_series.sh: `cxm report --bucket day|week|month` and JSON Lines
# input through `cxm report`, on a stream written below with values worked
# out by hand: ISO weeks across a year end, months, a UTC offset moving an
# event to the next local day (and week), NPS margins and CSAT Wilson bounds
# (recomputed here from their formulas), windows clipping the series, and a
# .jsonl file giving the same report as the equivalent CSV; the progress
# line on stderr (CXM_PROGRESS).
set -u
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
test -x "$cxm" || { echo "check_series: $cxm not built" >&2; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-series.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# 2025-12-28 is a Sunday (ISO 2025-W52); 2025-12-29 a Monday (2026-W01).
cat > "$tmp/s.csv" <<'CSV'
time,customer,type,channel,value,value2
2025-12-28T10:00:00Z,a,purchase,web,10,
2025-12-28T20:00:00Z,b,purchase,web,20,
2025-12-29T09:00:00Z,a,nps,web,10,
2025-12-29T09:30:00Z,b,nps,web,3,
2026-01-02T12:00:00Z,c,csat,app,5,
2026-01-02T12:01:00Z,d,csat,app,4,
2026-01-02T12:02:00Z,e,csat,app,2,
2026-01-02T12:03:00Z,f,csat,app,5,
2026-01-02T12:04:00Z,g,csat,app,4,
2026-02-01T00:30:00Z,a,purchase,app,5.5,
CSV
# The same events as JSON Lines (Order Completed, NPS/CSAT Submitted).
"$py" - "$tmp/s.csv" > "$tmp/s.jsonl" <<'PY'
import csv, json, sys
names = {"purchase": ("Order Completed", "revenue"), "nps": ("NPS Submitted", "score"),
         "csat": ("CSAT Submitted", "score")}
for r in csv.DictReader(open(sys.argv[1])):
    ev, key = names[r["type"]]
    print(json.dumps({"type": "track", "userId": r["customer"], "event": ev,
                      "timestamp": r["time"],
                      "properties": {key: float(r["value"]), "channel": r["channel"]}}))
PY

for args in "week" "month" "day" "week --utc-offset +07:00" "day --from 2025-12-29 --to 2026-01-03"; do
  set -- $args
  b=$1; shift
  "$cxm" report --format json --bucket "$b" "$@" "$tmp/s.csv" > "$tmp/out-$b-$#.json" 2>/dev/null ||
    { echo "FAIL: cxm report --bucket $args" >&2; exit 1; }
done
"$cxm" report --format json --bucket week "$tmp/s.jsonl" > "$tmp/jsonl.json" 2>/dev/null ||
  { echo "FAIL: cxm report on JSON Lines" >&2; exit 1; }
"$cxm" report --format json --bucket week --input jsonl - < "$tmp/s.jsonl" > "$tmp/stdin.json" 2>/dev/null ||
  { echo "FAIL: cxm report --input jsonl on stdin" >&2; exit 1; }
"$cxm" report --bucket fortnight "$tmp/s.csv" >/dev/null 2>&1
test $? -eq 2 || { echo "FAIL: --bucket fortnight is not a usage error" >&2; exit 1; }
# Progress on stderr: forced on (stderr is not a terminal here), then off.
CXM_PROGRESS=1 "$cxm" report "$tmp/s.csv" 2> "$tmp/progress.err" >/dev/null
grep -q "MB read, 10 events, .* events/s" "$tmp/progress.err" ||
  { echo "FAIL: no progress line with CXM_PROGRESS=1:" >&2; cat "$tmp/progress.err" >&2; exit 1; }
CXM_PROGRESS=0 "$cxm" report "$tmp/s.csv" 2> "$tmp/progress.err" >/dev/null
if grep -q "events/s" "$tmp/progress.err"; then
  echo "FAIL: progress shown with CXM_PROGRESS=0" >&2; exit 1
fi

exec "$py" - "$tmp" <<'PY'
import json, math, sys
tmp = sys.argv[1]
fail = 0
def check(what, got, want, tol=1e-9):
    global fail
    ok = (got is None and want is None) or (got is not None and want is not None and
                                             abs(float(got) - float(want)) <= tol * max(1, abs(float(want))))
    if not ok:
        print("FAIL: %s: got %r, want %r" % (what, got, want)); fail = 1
def load(name): return json.load(open("%s/%s" % (tmp, name)))
def by_label(d): return {b["label"]: b for b in d["series"]["buckets"]}

z = 1.959963984540054
def wilson(k, n):
    p = k / n; den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den; h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return 100 * (c - h), 100 * (c + h)

w = load("out-week-0.json")
check("week bucket kind", w["series"]["bucket"] == "week", True)
W = by_label(w)
# 2025-W52 .. 2026-W05 (the Feb 1 purchase is on Sunday of 2026-W05): 6 weeks.
if list(W) != ["2025-W52", "2026-W01", "2026-W02", "2026-W03", "2026-W04", "2026-W05"]:
    print("FAIL: week labels", list(W)); fail = 1
else:
    check("W52 orders", W["2025-W52"]["orders"]["value"], 2)
    check("W52 revenue", W["2025-W52"]["revenue"]["value"], 30)
    check("W52 AOV", W["2025-W52"]["aov"]["value"], 15)
    # W01: NPS answers 10 and 3: 1 promoter, 1 detractor -> 0; CSAT 5,4,2,5,4 -> 4 of 5.
    check("W01 nps", W["2026-W01"]["nps"]["value"], 0)
    pp = pd = 0.5
    check("W01 nps moe95", W["2026-W01"]["nps"]["moe95"], 100 * 1.96 * math.sqrt((pp + pd - (pp - pd) ** 2) / 2))
    check("W01 csat", W["2026-W01"]["csat"]["value"], 80)
    lo, hi = wilson(4, 5)
    check("W01 csat Wilson low", W["2026-W01"]["csat"]["wilson95"][0], lo)
    check("W01 csat Wilson high", W["2026-W01"]["csat"]["wilson95"][1], hi)
    check("W02 orders", W["2026-W02"]["orders"]["value"], 0)
    check("W02 nps is null", W["2026-W02"]["nps"]["value"], None)
    check("W05 revenue", W["2026-W05"]["revenue"]["value"], 5.5)
    check("sum of weekly events", sum(b["events"]["value"] for b in W.values()), w["all"]["events"]["value"] if "events" in w["all"] else 10)

M = by_label(load("out-month-0.json"))
if list(M) != ["2025-12", "2026-01", "2026-02"]:
    print("FAIL: month labels", list(M)); fail = 1
else:
    check("Dec revenue", M["2025-12"]["revenue"]["value"], 30)
    check("Dec nps", M["2025-12"]["nps"]["value"], 0)
    check("Jan csat n", M["2026-01"]["csat"]["n"], 5)
    check("Feb orders", M["2026-02"]["orders"]["value"], 1)

D = by_label(load("out-day-0.json"))
check("days from Dec 28 to Feb 1", len(D), 36)

# +07:00: the purchase at 2025-12-28T20:00Z is on Monday 2025-12-29 local,
# so 2025-W52 holds one order (10) and 2026-W01 the other (20).
O = by_label(load("out-week-2.json"))
check("offset W52 revenue", O["2025-W52"]["revenue"]["value"], 10)
check("offset W01 revenue", O["2026-W01"]["revenue"]["value"], 20)
if not O["2025-W52"]["from"].endswith("+07:00"):
    print("FAIL: bucket times not in the offset:", O["2025-W52"]["from"]); fail = 1

# A window: only its days, clipped to events (Dec 29 .. Jan 2: 5 days).
C = by_label(load("out-day-4.json"))
if list(C) != ["2025-12-29", "2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"]:
    print("FAIL: windowed days", list(C)); fail = 1

# JSON Lines: the same report as the CSV (meta aside).
a, j, s = w, load("jsonl.json"), load("stdin.json")
for other, name in ((j, "file"), (s, "stdin")):
    for k in ("all", "channels", "series"):
        if a[k] != other[k]:
            print("FAIL: JSON Lines (%s) report differs in %s" % (name, k)); fail = 1
print("check_series: %s" % ("FAILED" if fail else "OK"))
sys.exit(fail)
PY
