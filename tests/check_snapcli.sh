#!/bin/sh
# tests/check_snapcli.sh: `cxm init`, `cxm ingest`, `cxm merge` and
# `cxm report --snapshot` end to end on examples/data/sample-events.csv.
#
# The reference is `cxm report` over the events themselves, a different
# path through the library (no snapshot, no merge). Every KPI of every
# scope, and the handle's statistics, must be equal exactly between:
#   A  the report of the events,
#   B  the report of init + one ingest, and of init + ingest in two batches,
#   C  the report of merges of customer-partitioned shard snapshots, in
#      several orders and as a tree,
# with non-default options (UTC offset, decimals, lateness) that the
# snapshots must carry, and with windows. Only the meta keys that describe
# this run's input (files, CSV line counts, snapshot, position) may differ;
# label order may differ after a merge (labels are interned in the order
# they appear in the merged handle), so objects are compared as mappings.
# Also: wrong key refused, group-readable key file refused, corrupt and
# truncated snapshots refused, incompatible merges refused, options that
# disagree with a snapshot refused, --expect-position makes a re-run a
# no-op, a failed ingest leaves the snapshot as it was, exit statuses.
set -u
srcdir=${top_srcdir:-.}
builddir=${abs_top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
cxm=$builddir/cli/cxm
csv=$srcdir/examples/data/sample-events.csv

if test ! -x "$py"; then
  echo "check_snapcli: Python interpreter '$py' not found" >&2
  exit 99
fi
if test ! -x "$cxm"; then
  echo "check_snapcli: $cxm not built" >&2
  exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxm-snapcli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
# Non-default options: the snapshot must remember them.
OPTS="--utc-offset +07:00 --decimals 3 --max-lateness 1209600"

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

# expect_err NAME TEXT: stderr of NAME mentions TEXT
expect_err() {
  if ! grep -q -- "$2" "$tmp/$1.err"; then
    echo "FAIL: $1: stderr lacks '$2':" >&2
    cat "$tmp/$1.err" >&2
    fail=1
  fi
}

# same_file NAME A B: files A and B are byte-identical
same_file() {
  if ! cmp -s "$2" "$3"; then
    echo "FAIL: $1: $2 changed" >&2
    fail=1
  fi
}

# Customer-partitioned shards of the CSV (spend and other rows without a
# customer go to shard 0), each with the header; and the CSV cut in two
# batches at a line boundary. Records are kept byte for byte; a record ends
# where its quotes balance (quoted fields may span lines).
"$py" - "$csv" "$tmp" <<'EOF' || { echo "FAIL: splitting the CSV" >&2; exit 1; }
import csv, io, sys, zlib
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
recs, pend, q = [], [], 0
for line in data.splitlines(keepends=True):
    pend.append(line); q += line.count(b'"')
    if q % 2 == 0:
        recs.append(b"".join(pend)); pend, q = [], 0
assert not pend
header, body = recs[0], recs[1:]
col = next(csv.reader([header.decode()])).index("customer")
shards = [[header] for _ in range(3)]
for r in body:
    f = next(csv.reader(io.StringIO(r.decode("utf-8", "surrogateescape"), newline="")))
    c = f[col].strip() if col < len(f) else ""
    shards[zlib.crc32(c.encode()) % 3 if c else 0].append(r)
for i, s in enumerate(shards):
    assert len(s) > 100, "shard %d too small" % i
    open("%s/shard%d.csv" % (out, i), "wb").write(b"".join(s))
half = len(body) // 2
open(out + "/batch1.csv", "wb").write(header + b"".join(body[:half]))
open(out + "/batch2.csv", "wb").write(header + b"".join(body[half:]))
EOF

k=$tmp/key
snap=$tmp/s.snap
# A: the events themselves.
run A 0 report --format json $OPTS "$csv"
run Aw 0 report --format json $OPTS --from 2026-02-01 --to 2026-03-01 "$csv"
run At 0 report --format json $OPTS --trailing-days 14 "$csv"
run Atext 0 report $OPTS "$csv"

# B: init (creates the key file) + ingest.
run init 0 init -o "$tmp/base.snap" --key-file "$k" $OPTS
expect_err init "created key file"
if test "$(stat -c %a "$k")" != 600 || test "$(stat -c %s "$k")" != 16; then
  echo "FAIL: key file not 16 bytes with mode 600: $(stat -c '%a %s' "$k")" >&2
  fail=1
fi
cp "$tmp/base.snap" "$snap"
run ingest 0 ingest --snapshot "$snap" --key-file "$k" "$csv"
expect_err ingest "4675 lines, 4666 accepted, 9 rejected"
run B 0 report --format json --snapshot "$snap"
run Bw 0 report --format json --snapshot "$snap" --from 2026-02-01 --to 2026-03-01
run Bt 0 report --format json --snapshot "$snap" --trailing-days 14
run Btext 0 report --snapshot "$snap"
# Options equal to the snapshot's are accepted with it.
run Bopts 0 report --format json --snapshot "$snap" $OPTS
# Two batches, from standard input for the second.
cp "$tmp/base.snap" "$tmp/b2.snap"
run ingest1 0 ingest --snapshot "$tmp/b2.snap" --key-file "$k" "$tmp/batch1.csv"
"$cxm" ingest --snapshot "$tmp/b2.snap" --key-file "$k" - < "$tmp/batch2.csv" \
  > /dev/null 2> "$tmp/ingest2.err" ||
  { echo "FAIL: ingest from stdin" >&2; cat "$tmp/ingest2.err" >&2; fail=1; }
run B2 0 report --format json --snapshot "$tmp/b2.snap"
# ingest creates a missing snapshot with the options given.
run ingestnew 0 ingest --snapshot "$tmp/new.snap" --key-file "$k" $OPTS "$csv"
run Bnew 0 report --format json --snapshot "$tmp/new.snap"

# C: shards from copies of the base, merged in several orders.
for i in 0 1 2; do
  cp "$tmp/base.snap" "$tmp/sh$i.snap"
  run "ingsh$i" 0 ingest --snapshot "$tmp/sh$i.snap" --key-file "$k" \
    "$tmp/shard$i.csv"
done
run merge012 0 merge -o "$tmp/m012.snap" "$tmp/sh0.snap" "$tmp/sh1.snap" "$tmp/sh2.snap"
run merge201 0 merge -o "$tmp/m201.snap" "$tmp/sh2.snap" "$tmp/sh0.snap" "$tmp/sh1.snap"
run merge12 0 merge -o "$tmp/m12.snap" "$tmp/sh1.snap" "$tmp/sh2.snap"
run mergetree 0 merge -o "$tmp/mt.snap" "$tmp/m12.snap" "$tmp/sh0.snap"
# OUT may be an input.
cp "$tmp/sh0.snap" "$tmp/inplace.snap"
run mergeinplace 0 merge -o "$tmp/inplace.snap" "$tmp/inplace.snap" "$tmp/m12.snap"
for m in m012 m201 mt inplace; do
  run "C$m" 0 report --format json --snapshot "$tmp/$m.snap"
done
run Cw 0 report --format json --snapshot "$tmp/mt.snap" --from 2026-02-01 --to 2026-03-01
run Ct 0 report --format json --snapshot "$tmp/mt.snap" --trailing-days 14

"$py" - "$tmp" <<'EOF' || fail=1
import json, sys
tmp = sys.argv[1]
RUN_KEYS = ("files", "lines", "accepted", "rejected", "snapshot", "position")

def load(name):
    with open("%s/%s.out" % (tmp, name)) as f:
        return json.load(f)

def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s/%s missing on one side" % (path, k))
            else:
                out += diff(a[k], b[k], path + "/" + k)
        return out
    # exact, and an int stays an int (1 vs 1.0 would print differently)
    return [] if a == b and type(a) is type(b) else ["%s: %r != %r" % (path, a, b)]

def strip(rep):
    rep = dict(rep)
    rep["meta"] = {k: v for k, v in rep["meta"].items() if k not in RUN_KEYS}
    return rep

bad = 0
pairs = [("A", n) for n in ("B", "Bopts", "B2", "Bnew", "Cm012", "Cm201", "Cmt",
                           "Cinplace")]
pairs += [("Aw", "Bw"), ("Aw", "Cw"), ("At", "Bt"), ("At", "Ct")]
ref = load("A")
assert ref["meta"]["events_accepted"] == 4666 - 0, ref["meta"]
assert ref["meta"]["decimals"] == 3 and ref["meta"]["utc_offset"] == "+07:00"
assert len(ref["channels"]) >= 3 and len(ref["segments"]) >= 3
for a, b in pairs:
    d = diff(strip(load(a)), strip(load(b)))
    if d:
        bad = 1
        print("FAIL: report %s != report %s (%d values), e.g.:" % (a, b, len(d)))
        for x in d[:10]:
            print("   ", x)
# The snapshot's meta names it and its (unset) position, and no CSV input.
m = load("B")["meta"]
if m["snapshot"].split("/")[-1] != "s.snap" or m["position"] is not None \
        or m["files"] != [] or m["lines"] != 0:
    bad = 1
    print("FAIL: snapshot meta", m)
# A snapshot report with one ingest keeps the label order: identical text.
if load("B") != dict(load("B")):
    bad = 1
sys.exit(bad)
EOF

# Text: identical but for the lines naming the input.
grep -v '^Input:\|^Snapshot:' "$tmp/Atext.out" > "$tmp/Atext.body"
grep -v '^Input:\|^Snapshot:' "$tmp/Btext.out" > "$tmp/Btext.body"
if ! cmp -s "$tmp/Atext.body" "$tmp/Btext.body"; then
  echo "FAIL: text report of the snapshot differs from the events':" >&2
  diff "$tmp/Atext.body" "$tmp/Btext.body" | head -20 >&2
  fail=1
fi
grep -q "^Input: snapshot $snap; " "$tmp/Btext.out" ||
  { echo "FAIL: text report does not name the snapshot" >&2; fail=1; }

# Wrong key: refused by fingerprint, the snapshot untouched.
head -c 16 /dev/urandom > "$tmp/other.key"
chmod 600 "$tmp/other.key"
cp "$snap" "$tmp/before.snap"
run wrongkey 1 ingest --snapshot "$snap" --key-file "$tmp/other.key" "$csv"
expect_err wrongkey "wrong key"
same_file wrongkey "$snap" "$tmp/before.snap"
run wrongkeyhex 1 report --snapshot "$snap" \
  --key-hex 000102030405060708090a0b0c0d0e0f
expect_err wrongkeyhex "not the key"
# The right key given as hex digits in the key file is accepted.
"$py" -c "import sys; print(open(sys.argv[1],'rb').read().hex())" "$k" > "$tmp/hex.key"
chmod 600 "$tmp/hex.key"
cp "$tmp/base.snap" "$tmp/hex.snap"
run hexkey 0 ingest --snapshot "$tmp/hex.snap" --key-file "$tmp/hex.key" "$csv"
# A snapshot saved without its key cannot be extended without one.
run nokey 2 ingest --snapshot "$snap" "$csv"
expect_err nokey "without its key"
same_file nokey "$snap" "$tmp/before.snap"
# A key file that group or others can read is refused.
chmod 640 "$k"
run keyperm 1 ingest --snapshot "$snap" --key-file "$k" "$csv"
expect_err keyperm "chmod 600"
chmod 600 "$k"
same_file keyperm "$snap" "$tmp/before.snap"
# A key file of the wrong size.
printf 'short' > "$tmp/bad.key"
chmod 600 "$tmp/bad.key"
run badkey 1 init -o "$tmp/x.snap" --key-file "$tmp/bad.key"
expect_err badkey "16 bytes"

# Corrupt and truncated snapshots are refused with the library's message.
"$py" - "$snap" "$tmp" <<'EOF' || fail=1
import sys
data = bytearray(open(sys.argv[1], "rb").read())
flip = bytearray(data)
flip[len(flip) // 2] ^= 0x10
open(sys.argv[2] + "/flip.snap", "wb").write(flip)
open(sys.argv[2] + "/trunc.snap", "wb").write(data[: len(data) - 7])
open(sys.argv[2] + "/junk.snap", "wb").write(b"time,customer,type\n" * 10)
# docs/snapshot.md: the format version is the u32 (little endian) at offset 8.
fut = bytearray(data)
fut[8:12] = (int.from_bytes(fut[8:12], "little") + 1).to_bytes(4, "little")
open(sys.argv[2] + "/future.snap", "wb").write(fut)
EOF
for c in flip trunc junk future; do
  run "corrupt$c" 1 report --snapshot "$tmp/$c.snap"
  expect_err "corrupt$c" "$c.snap"
  if test -s "$tmp/corrupt$c.out"; then
    echo "FAIL: a report was printed from $c.snap" >&2
    fail=1
  fi
done
expect_err corruptflip "orrupt"
expect_err corruptfuture "version"
run corruptmerge 1 merge -o "$tmp/cm.snap" "$snap" "$tmp/trunc.snap"
test ! -e "$tmp/cm.snap" || { echo "FAIL: merge wrote OUT after a failure" >&2; fail=1; }
run corruptingest 1 ingest --snapshot "$tmp/flip.snap" --key-file "$k" "$csv"
run missing 1 report --snapshot "$tmp/no-such.snap"

# Incompatible snapshots: another key, other decimals.
run initk2 0 init -o "$tmp/k2.snap" --key-file "$tmp/other.key" $OPTS
run mergek2 1 merge -o "$tmp/mk2.snap" "$snap" "$tmp/k2.snap"
test ! -e "$tmp/mk2.snap" || { echo "FAIL: incompatible merge wrote OUT" >&2; fail=1; }
run initd2 0 init -o "$tmp/d2.snap" --key-file "$k" --utc-offset +07:00
run merged2 1 merge -o "$tmp/md2.snap" "$snap" "$tmp/d2.snap"
run initm2 0 init -o "$tmp/m2.snap" --key-file "$k" $OPTS --modules retention,clv
run mergem2 1 merge -o "$tmp/mm2.snap" "$snap" "$tmp/m2.snap"
test ! -e "$tmp/mm2.snap" || { echo "FAIL: merge across modules wrote OUT" >&2; fail=1; }
test -s "$tmp/mergek2.err" && test -s "$tmp/merged2.err" && test -s "$tmp/mergem2.err" ||
  { echo "FAIL: incompatible merges printed no reason" >&2; fail=1; }

# Options that disagree with a snapshot.
run optdec 2 report --snapshot "$snap" --decimals 2
expect_err optdec "decimals"
run optutc 2 ingest --snapshot "$snap" --key-file "$k" --utc-offset +01:00 "$csv"
same_file optutc "$snap" "$tmp/before.snap"
run optmod 2 ingest --snapshot "$snap" --key-file "$k" --modules none "$csv"

# Stream positions: a batch counted exactly once.
cp "$tmp/base.snap" "$tmp/pos.snap"
run pos1 0 ingest --snapshot "$tmp/pos.snap" --key-file "$k" \
  --expect-position "" --position batch1 "$tmp/batch1.csv"
cp "$tmp/pos.snap" "$tmp/pos1.snap"
run pos1again 1 ingest --snapshot "$tmp/pos.snap" --key-file "$k" \
  --expect-position "" --position batch1 "$tmp/batch1.csv"
expect_err pos1again "nothing ingested"
same_file pos1again "$tmp/pos.snap" "$tmp/pos1.snap"
run pos2 0 ingest --snapshot "$tmp/pos.snap" --key-file "$k" \
  --expect-position batch1 --position batch2 "$tmp/batch2.csv"
run Bpos 0 report --format json --snapshot "$tmp/pos.snap"
"$py" - "$tmp/Bpos.out" "$tmp/B.out" <<'EOF' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["meta"]["position"] == "batch2", a["meta"]
assert a["all"] == b["all"] and a["segment_channels"] == b["segment_channels"]
EOF

# A failed ingest (an unreadable file among good ones) saves nothing.
run ingestmissing 1 ingest --snapshot "$snap" --key-file "$k" "$csv" "$tmp/no-such.csv"
same_file ingestmissing "$snap" "$tmp/before.snap"

# Killing `cxm ingest` at any moment (parsing, saving) leaves a snapshot that
# loads and holds a whole number of completed ingests: the library's atomic
# save (temporary file, fsync, rename) never exposes a partial one.
"$py" - "$tmp/big.csv" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("time,customer,type,channel,value\n")
    for i in range(200000):  # 2.3 days: every re-run is within the lateness
        f.write("%d,c%d,purchase,web,1.%02d\n" % (1767225600 + i, i % 50000, i % 100))
EOF
cp "$tmp/base.snap" "$tmp/kill.snap"
for d in 0.02 0.05 0.1 0.2 0.3 0.5 0.8 1.2 30; do
  timeout -s KILL "$d" "$cxm" ingest --snapshot "$tmp/kill.snap" --key-file "$k" \
    "$tmp/big.csv" > /dev/null 2>&1
  "$cxm" report --format json --snapshot "$tmp/kill.snap" > "$tmp/kill.out" \
    2> "$tmp/kill.err" || { echo "FAIL: snapshot unusable after kill at $d s" >&2;
    cat "$tmp/kill.err" >&2; fail=1; }
  "$py" - "$tmp/kill.out" "$d" <<'EOF' || fail=1
import json, sys
m = json.load(open(sys.argv[1]))
n = m["meta"]["events_accepted"]
k, r = divmod(n, 200000)
# Each ingest adds 200000 orders of 1.00 + (i mod 100)/100: 2000 * 149.5
# = 299000.000 with 3 decimals.
rev = m["all"]["revenue"]["value"]
if r or abs(rev - k * 299000) > 1e-6 or m["all"]["orders"]["value"] != n:
    sys.exit("FAIL: after a kill at %s s: %d events, revenue %r" % (sys.argv[2], n, rev))
if sys.argv[2] == "30" and k == 0:
    sys.exit("FAIL: the ingest that was not killed saved nothing")
print("kill at %s s: %d complete ingests" % (sys.argv[2], k))
EOF
done

# init refuses to overwrite; --force replaces; --embed-key needs no key later.
run initexists 1 init -o "$snap" --key-file "$k"
same_file initexists "$snap" "$tmp/before.snap"
run initembed 0 init -o "$tmp/emb.snap" --key-file "$k" --embed-key $OPTS
run ingestembed 0 ingest --snapshot "$tmp/emb.snap" "$csv"
run Bemb 0 report --format json --snapshot "$tmp/emb.snap"
"$py" - "$tmp/Bemb.out" "$tmp/B.out" <<'EOF' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["all"] == b["all"] and a["segments"] == b["segments"]
EOF
# With its key embedded, a key file given must still be the right one.
cp "$tmp/emb.snap" "$tmp/emb1.snap"
run embwrong 1 ingest --snapshot "$tmp/emb.snap" --key-file "$tmp/other.key" "$csv"
expect_err embwrong "wrong key"
same_file embwrong "$tmp/emb.snap" "$tmp/emb1.snap"
run embright 0 ingest --snapshot "$tmp/emb.snap" --key-file "$k" "$tmp/batch1.csv"
run initforce 0 init -o "$tmp/emb.snap" --key-file "$k" --force

# JSON Lines input (by name, or --input jsonl on standard input) gives the
# state of the same events as CSV: revenue 19.99 + 5.01, one promoter.
cat > "$tmp/ev.jsonl" <<'EOF'
{"type":"track","event":"Order Completed","userId":"ann","timestamp":"2026-03-01T10:00:00Z","properties":{"channel":"web","revenue":19.99}}
{"type":"track","event":"NPS Submitted","userId":"bob","timestamp":"2026-03-01T11:00:00Z","properties":{"channel":"email","score":9}}
{"type":"track","event":"Order Completed","userId":"bob","timestamp":"2026-03-02T12:00:00Z","properties":{"channel":"web","revenue":5.01}}
EOF
printf '%s\n' 'time,customer,type,channel,value' \
  '2026-03-01T10:00:00Z,ann,purchase,web,19.99' \
  '2026-03-01T11:00:00Z,bob,nps,email,9' \
  '2026-03-02T12:00:00Z,bob,purchase,web,5.01' > "$tmp/ev.csv"
cp "$tmp/base.snap" "$tmp/j1.snap"
cp "$tmp/base.snap" "$tmp/j2.snap"
cp "$tmp/base.snap" "$tmp/j3.snap"
run jsonl 0 ingest --snapshot "$tmp/j1.snap" --key-file "$k" "$tmp/ev.jsonl"
"$cxm" ingest --snapshot "$tmp/j2.snap" --key-file "$k" --input jsonl - \
  < "$tmp/ev.jsonl" > /dev/null 2>&1 || { echo "FAIL: --input jsonl -" >&2; fail=1; }
run jcsv 0 ingest --snapshot "$tmp/j3.snap" --key-file "$k" "$tmp/ev.csv"
for j in j1 j2 j3; do
  run "R$j" 0 report --format json --snapshot "$tmp/$j.snap"
done
"$py" - "$tmp" <<'EOF' || fail=1
import json, sys
r = [json.load(open("%s/R%s.out" % (sys.argv[1], j))) for j in ("j1", "j2", "j3")]
for x in r:
    x["meta"] = {k: v for k, v in x["meta"].items() if k != "snapshot"}
assert r[0] == r[1] == r[2], "JSON Lines and CSV snapshots differ"
a = r[0]["all"]
assert a["revenue"]["value"] == 25.0 and a["orders"]["value"] == 2, a["revenue"]
assert a["nps"]["value"] == 100 and a["nps"]["n"] == 1, a["nps"]
EOF
run badinput 2 ingest --snapshot "$tmp/j1.snap" --key-file "$k" --input xml "$tmp/ev.csv"

# Usage.
run helpinit 0 init --help
run helpingest 0 ingest --help
run helpmerge 0 merge --help
run helpmain 0 help ingest
grep -q "Usage: cxm ingest" "$tmp/helpmain.out" || { echo "FAIL: cxm help ingest" >&2; fail=1; }
run nooutput 2 init --key-file "$k"
run nokeyfile 2 init -o "$tmp/y.snap"
run nosnapshot 2 ingest --key-file "$k" "$csv"
run nofiles 2 ingest --snapshot "$snap" --key-file "$k"
run badopt 2 merge -o "$tmp/z.snap" --nope "$snap"
run nomerge 2 merge -o "$tmp/z.snap"
run snapfiles 2 report --snapshot "$snap" "$csv"
run badmod 2 init -o "$tmp/y.snap" --key-file "$k" --modules retention,nope
run badoff 2 init -o "$tmp/y.snap" --key-file "$k" --utc-offset 7

exit $fail
