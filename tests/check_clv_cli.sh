#!/bin/sh
# tests/check_clv_cli.sh: `cxm clv` end to end on the CDNOW data
# (tools/cdnow_to_events.py): published estimates in the JSON, the --as-of
# cut equal to a file cut beforehand, the ranking of "top", zero-amount
# orders of CDNOW_master counted as the Python reference counts them,
# --segment, the text form, usage and fit errors.
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
data=${CXM_DATA_DIR:-}

if test ! -x "$py" || test ! -x "$cxm"; then
  echo "check_clv_cli: $py or $cxm missing" >&2
  exit 99
fi
if test -z "$data" || test ! -f "$data/cdnow/CDNOW_sample.txt"; then
  echo "check_clv_cli: no CDNOW data under CXM_DATA_DIR" >&2
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-clv.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

run() { # run NAME EXPECTED-EXIT ARGS...
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

"$py" "$srcdir/tools/cdnow_to_events.py" "$data/cdnow/CDNOW_sample.txt" > "$tmp/sample.csv" 2>/dev/null || exit 99
"$py" "$srcdir/tools/cdnow_to_events.py" "$data/cdnow/CDNOW_master.txt" > "$tmp/master.csv" 2>/dev/null || exit 99
# the calibration period cut by hand (ISO dates compare as text)
awk -F, 'NR == 1 || $1 <= "1997-09-30"' "$tmp/sample.csv" > "$tmp/cal.csv"

key=000102030405060708090a0b0c0d0e0f
run json 0 clv --format json --unit weeks --as-of 1997-09-30 --top 25 --key-hex $key "$tmp/sample.csv"
run cut 0 clv --format json --unit weeks --as-of 1997-09-30 --top 25 --key-hex $key "$tmp/cal.csv"
run badkey 2 clv --key-hex 12zz "$tmp/sample.csv"
run text 0 clv --unit weeks --as-of 1997-09-30 "$tmp/sample.csv"
run master 0 clv --format json --unit weeks "$tmp/master.csv"
run badunit 2 clv --unit months "$tmp/sample.csv"
run badfmt 2 clv --format xml "$tmp/sample.csv"
run nofile 1 clv "$tmp/missing.csv"
run noseg 1 clv --segment nosuch "$tmp/sample.csv"
printf 'time,customer,type,value\n2026-01-01,solo,purchase,5\n2026-01-03,solo,purchase,5\n' > "$tmp/solo.csv"
run solo 1 clv "$tmp/solo.csv"
printf 'time,customer,type,value,segments\n' > "$tmp/seg.csv"
awk -F, 'NR > 1 { print $0 "," ($2 % 2 ? "odd" : "even") }' "$tmp/cal.csv" >> "$tmp/seg.csv"
run seg 0 clv --format json --unit weeks --as-of 1997-09-30 --segment odd "$tmp/seg.csv"

grep -q "BG/NBD" "$tmp/text.out" && grep -q "converged" "$tmp/text.out" || {
  echo "FAIL: text output lacks the BG/NBD line" >&2; fail=1; }
grep -q "cannot fit" "$tmp/solo.err" || { echo "FAIL: solo: no fit message" >&2; fail=1; }

"$py" - "$tmp" "$data/cdnow/CDNOW_master.txt" "$data/cdnow/CDNOW_sample.txt" <<'EOF' || fail=1
import json, sys
from collections import defaultdict
tmp, master_txt, sample_txt = sys.argv[1:4]
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        ok = False
j = json.load(open(tmp + "/json.out"))
cut = json.load(open(tmp + "/cut.out"))
bg, gg = j["bgnbd"], j["gamma_gamma"]
# Fader, Hardie & Lee 2005; Fader & Hardie 2013
check(j["customers"] == 2357, "customers %r" % j["customers"])
check([round(bg[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426],
      "BG/NBD %r" % bg)
check(round(bg["loglik"], 1) == -9582.4 and bg["converged"] is True, "LL %r" % bg)
check([round(gg[k], 2) for k in ("p", "q", "v")] == [6.25, 3.74, 15.44], "GG %r" % gg)
check(gg["customers"] == 946 and gg["zero_spend_customers"] == 0, "GG customers %r" % gg)
# the --as-of cut equals the file cut beforehand (same key: same hashes)
for k in ("bgnbd", "gamma_gamma", "totals", "rfm_segments", "customers", "as_of", "top"):
    check(j[k] == cut[k], "--as-of cut differs in %s: %r vs %r" % (k, j[k], cut[k]))
top = j["top"]
check(len(top) == 25, "top has %d rows" % len(top))
check(all(top[i]["clv"] >= top[i + 1]["clv"] for i in range(len(top) - 1)), "top not sorted")
check(all(0 <= t["p_alive"] <= 1 and len(t["customer_hash"]) == 16 for t in top), "top rows")
for t in top:  # clv = expected spend x expected purchases (no discount)
    check(abs(t["clv"] - t["expected_spend"] * t["expected_purchases"]) <= 1e-9 * t["clv"],
          "clv of %s" % t["customer_hash"])
    # Gamma-Gamma conditional mean, from the JSON's own parameters
    p, q, v, x, m = gg["p"], gg["q"], gg["v"], t["x"], t["mean_spend"]
    check(abs(t["expected_spend"] - (p * v + p * x * m) / (p * x + q - 1)) < 1e-9 * t["expected_spend"],
          "expected spend of %s" % t["customer_hash"])
check(sum(j["rfm_segments"].values()) == 2357, "RFM segments do not add up")

# CDNOW_master: zero-amount orders count as purchases; customers whose
# repeat days total 0 are left out of Gamma-Gamma. Reference from the file.
days = defaultdict(lambda: defaultdict(float))
for line in open(master_txt):
    f = line.split()
    if len(f) == 4 and f[0].isdigit():
        days[f[0]][f[1]] += float(f[3])
zero = sum(1 for d in days.values() if len(d) > 1 and
           sum(v for k, v in d.items() if k != min(d)) == 0)
spenders = sum(1 for d in days.values() if len(d) > 1) - zero
mj = json.load(open(tmp + "/master.out"))
check(mj["customers"] == len(days) == 23570, "master customers %r" % mj["customers"])
check(mj["gamma_gamma"]["zero_spend_customers"] == zero,
      "zero spend %r, reference %d" % (mj["gamma_gamma"]["zero_spend_customers"], zero))
check(mj["gamma_gamma"]["customers"] == spenders, "GG customers %r, reference %d"
      % (mj["gamma_gamma"]["customers"], spenders))

# --segment: customers with an odd sample id (assigned in the CSV)
ids = set()
for line in open(sample_txt):
    f = line.split()
    if len(f) == 5 and f[2] <= "19970930":
        ids.add(int(f[1]))
sj = json.load(open(tmp + "/seg.out"))
check(sj["customers"] == sum(1 for i in ids if i % 2), "segment customers %r" % sj["customers"])
check(sj["segment"] == "odd", "segment label")
sys.exit(0 if ok else 1)
EOF

exit $fail
