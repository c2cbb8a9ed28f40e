#!/usr/bin/env bash
# fuzz/run.sh [OUTDIR]: build the fuzzers, make the seed corpus, replay the
# regression inputs, then run fuzz_csv, fuzz_api and fuzz_snapshot side by side for
# FUZZ_SECONDS each (default 600; .ci/run uses 30). `make fuzz` runs this
# with OUTDIR = fuzz-out in the build directory.
#
#   OUTDIR/corpus-{csv,api,snapshot}/   the growing corpora (kept between runs)
#   OUTDIR/artifacts/          crash-*, leak-*, timeout-*, slow-unit-* inputs
#   OUTDIR/fuzz_{csv,api}.log  the libFuzzer logs
#
# Prints each fuzzer's executions and findings; exits 1 if any fuzzer or
# regression input failed. FUZZ_JOBS=1 runs the fuzzers one after the other.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=$(mkdir -p "${1:-fuzz-out}" && cd "${1:-fuzz-out}" && pwd)
secs=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-2}

bash "$here/build.sh" "$out" "$root"
rm -rf "$out/seeds"
SNAPSEED="$out/snapseed" bash "$here/make_corpus.sh" "$out/seeds"
mkdir -p "$out/artifacts" "$out/corpus-csv" "$out/corpus-api" "$out/corpus-snapshot"

status=0
# Regression inputs (fuzz/regressions/KIND/*): each must run clean.
for kind in csv api snapshot; do
  shopt -s nullglob
  regs=("$here/regressions/$kind"/*)
  shopt -u nullglob
  if [ ${#regs[@]} -gt 0 ]; then
    if "$out/fuzz_$kind" "${regs[@]}" > "$out/regressions-$kind.log" 2>&1; then
      echo "fuzz_$kind: ${#regs[@]} regression inputs pass"
    else
      echo "fuzz_$kind: a regression input FAILED:"
      cat "$out/regressions-$kind.log"
      status=1
    fi
  fi
done

run_one() { # KIND MAXLEN
  local kind=$1 maxlen=$2
  # -timeout: one input taking longer is a finding (reported as timeout-*).
  # -rss_limit_mb: a stream spanning 1970..2105 costs ~12 MB per series.
  "$out/fuzz_$kind" "$out/corpus-$kind" "$out/seeds/$kind" \
    -max_total_time="$secs" -max_len="$maxlen" -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$kind-" \
    > "$out/fuzz_$kind.log" 2>&1
}

pids=()
kinds=(csv api snapshot)
maxlens=(8192 4096 131072)
for i in 0 1 2; do
  if [ "$jobs" -ge 2 ]; then
    run_one "${kinds[$i]}" "${maxlens[$i]}" &
    pids+=($!)
  else
    rc=0
    run_one "${kinds[$i]}" "${maxlens[$i]}" || rc=$?
    pids+=("rc:$rc")
  fi
done

for i in 0 1 2; do
  kind=${kinds[$i]}
  rc=0
  case ${pids[$i]} in
    rc:*) rc=${pids[$i]#rc:} ;;
    *) wait "${pids[$i]}" || rc=$? ;;
  esac
  log="$out/fuzz_$kind.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  persec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corp=$(find "$out/corpus-$kind" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_$kind: ${secs} s, ${execs:-?} executions (${persec:-?}/s), corpus $corp inputs, no finding"
  else
    echo "fuzz_$kind: FAILED (exit $rc) after ${execs:-?} executions; log tail:"
    grep -E -A 30 'fuzz invariant violated|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" | head -n 60 || tail -n 60 "$log"
    status=1
  fi
done
shopt -s nullglob
found=("$out/artifacts"/*)
shopt -u nullglob
if [ ${#found[@]} -gt 0 ]; then
  echo "fuzz: inputs saved in $out/artifacts:"
  ls -l "$out/artifacts"
fi
exit $status
