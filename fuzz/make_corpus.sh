#!/usr/bin/env bash
# fuzz/make_corpus.sh OUTDIR: seed corpora for the fuzzers, from real files.
#
#   OUTDIR/csv/  chunks (a few KB, cut at line ends, each with the header)
#                of examples/data/sample-events.csv, tests/data/*.csv and
#                the NPS survey converted by tools/nps_to_events.py
#                (CXM_DATA_DIR or ../shared/data: nps-retail/nps.csv), each
#                behind the 3-byte prefix fuzz_csv.c reads (options, seed).
#   OUTDIR/api/  byte strings for fuzz_api.c: the same chunks (the decoder
#                reads any bytes) plus a few hand-made op sequences.
#   OUTDIR/snapshot/  snapshots of the same files for fuzz_snapshot.c.
#
# Plus the checked-in seeds of fuzz/seeds/ and fuzz/regressions/. Nothing
# large is committed: the corpus is made at run time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: make_corpus.sh OUTDIR}
mkdir -p "$out/csv" "$out/api" "$out/snapshot"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
data=${CXM_DATA_DIR:-$root/../shared/data}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# chunk FILE NAME: the header plus 40-line slices, at most 8 of them spread
# over the file, written with prefixes that vary the options and splits.
chunk() {
  local file=$1 name=$2
  "$py" - "$file" "$out" "$name" <<'EOF'
import os, sys
path, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path, 'rb') as f:
    lines = f.read().split(b'\n')
header, body = lines[0], [l for l in lines[1:] if l]
step = 40
starts = list(range(0, max(len(body), 1), step))
if len(starts) > 8:
    starts = [starts[i * (len(starts) - 1) // 7] for i in range(8)]
for i, s in enumerate(starts):
    text = b'\n'.join([header] + body[s:s + step]) + b'\n'
    prefix = bytes([(i * 37) & 0xff, i & 0xff, (i * 11) & 0xff])
    with open(os.path.join(out, 'csv', '%s-%d' % (name, i)), 'wb') as f:
        f.write(prefix + text)
    with open(os.path.join(out, 'api', '%s-%d' % (name, i)), 'wb') as f:
        f.write(text[:1024])
EOF
}

chunk "$root/examples/data/sample-events.csv" sample
for f in "$root"/tests/data/*.csv; do
  chunk "$f" "$(basename "$f" .csv)"
done
if [ -f "$data/nps-retail/nps.csv" ]; then
  "$py" "$root/tools/nps_to_events.py" --purchases "$data/nps-retail/nps.csv" "$tmp/nps-events.csv"
  chunk "$tmp/nps-events.csv" nps
else
  echo "make_corpus.sh: $data/nps-retail/nps.csv not found; no NPS seeds" >&2
fi

# OUTDIR/snapshot/: snapshots of the same real files (fuzz/snapseed.c, built
# by build.sh; SNAPSEED names it, default OUTDIR/../snapseed).
snapseed=${SNAPSEED:-$(dirname "$out")/snapseed}
if [ -x "$snapseed" ]; then
  srcs=("$root/examples/data/sample-events.csv" "$root"/tests/data/*.csv)
  [ -f "$tmp/nps-events.csv" ] && srcs+=("$tmp/nps-events.csv")
  "$snapseed" "$out/snapshot" "${srcs[@]}" > /dev/null
else
  echo "make_corpus.sh: $snapseed not built; no snapshot seeds" >&2
fi

# Checked-in seeds (small) and regressions.
for d in seeds regressions; do
  for kind in csv api snapshot; do
    if [ -d "$root/fuzz/$d/$kind" ]; then
      cp "$root/fuzz/$d/$kind"/* "$out/$kind/" 2>/dev/null || true
    fi
  done
done
echo "make_corpus.sh: $(ls "$out/csv" | wc -l) csv seeds, $(ls "$out/api" | wc -l) api seeds, $(ls "$out/snapshot" | wc -l) snapshot seeds in $out"
