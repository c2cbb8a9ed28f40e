#!/bin/bash
# run.sh - the speed and memory benchmark of libcxmetrics (issue 2), and the
# DuckDB peer. Not part of `make check` or CI: the full workload takes
# minutes and ~1.2 GB of CSV. See bench/README.md.
#
# Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
#
# Environment (defaults in brackets):
#   BENCH_CUSTOMERS [1000000]  BENCH_EVENTS [20000000]  BENCH_DAYS [365]
#   BENCH_SEED [42]            BENCH_BATCH [4096]
#   BENCH_OUT   [bench/out]    generated data, reports, build (gitignored)
#   BENCH_BUILD [$BENCH_OUT/build]  out-of-tree build of the library and cxm
#   BENCH_CPU   [0]            the core for the one-core runs (taskset -c)
#   BENCH_DUCKDB_THREADS [2]
#   BENCH_DIRECT [0]           1: build with plain gcc instead of autotools
# Quick run: BENCH_CUSTOMERS=10000 BENCH_EVENTS=200000 bench/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
customers=${BENCH_CUSTOMERS:-1000000}
events=${BENCH_EVENTS:-20000000}
days=${BENCH_DAYS:-365}
seed=${BENCH_SEED:-42}
batch=${BENCH_BATCH:-4096}
out=${BENCH_OUT:-$here/out}
build=${BENCH_BUILD:-$out/build}
cpu=${BENCH_CPU:-0}
dthreads=${BENCH_DUCKDB_THREADS:-2}

mkdir -p "$out" "$build"
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)
log() { printf '== %s\n' "$*"; }
# seconds since the epoch, with nanoseconds
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- 1. Build, out of tree, -O2.
cc=${CC:-gcc}
bflags=(-std=c11 -O2 -Wall -Wextra -Werror -I"$src/include")
if [ "${BENCH_DIRECT:-0}" = 1 ]; then
  # Without autotools: the library's and cxm's sources straight through gcc.
  log "build (direct gcc -O2 in $build)"
  mkdir -p "$build/direct"
  for f in "$src"/lib/*.c; do
    "$cc" -std=c11 -O2 -fvisibility=hidden -I"$src/include" -I"$src/lib" \
      -c "$f" -o "$build/direct/$(basename "$f" .c).o"
  done
  rm -f "$build/direct/libcxmetrics.a"
  ar rcs "$build/direct/libcxmetrics.a" "$build"/direct/*.o
  libs=("$build/direct/libcxmetrics.a" -lm)
  mkdir -p "$build/cli"
  "$cc" -std=c11 -O2 -I"$src/include" "$src"/cli/*.c -o "$build/cli/cxm" "${libs[@]}"
else
  log "build (out of tree in $build, CFLAGS=-O2)"
  if [ ! -x "$src/configure" ]; then
    (cd "$src" && autoreconf -fi >/dev/null)
  fi
  if [ ! -f "$build/Makefile" ]; then
    (cd "$build" && "$src/configure" -q CFLAGS="-O2" >/dev/null)
  fi
  nice make -s -C "$build" -j2 lib/libcxmetrics.la cli/cxm >/dev/null
  lib_a="$build/lib/.libs/libcxmetrics.a"
  if [ -f "$lib_a" ]; then
    libs=("$lib_a" -lm)
  else
    libs=(-L"$build/lib/.libs" -Wl,-rpath,"$build/lib/.libs" -lcxmetrics -lm)
  fi
fi
"$cc" "${bflags[@]}" "$here/gen_events.c" -o "$build/gen_events" -lm
"$cc" "${bflags[@]}" "$here/bench_ingest.c" -o "$build/bench_ingest" "${libs[@]}"
"$cc" "${bflags[@]}" "$here/bench_hostile.c" -o "$build/bench_hostile" "${libs[@]}"
cxm="$build/cli/cxm"

# ---- 2. The data, generated once per size and seed.
csv="$out/events-$customers-$events-$days-$seed.csv"
if [ ! -s "$csv" ]; then
  log "generate $csv"
  t0=$(now)
  "$build/gen_events" "$customers" "$events" "$days" "$seed" "$csv.tmp"
  mv "$csv.tmp" "$csv"
  echo "generated in $(elapsed "$t0" "$(now)") s"
fi
size=$(stat -c %s "$csv")
echo "data: $csv, $size bytes ($customers customers, $events events, $days days, seed $seed)"
cat "$csv" >/dev/null # into the page cache, for every reader alike

# ---- 3. DuckDB's client, the version pinned in package.json / the lock file.
# (`npm install`, not `npm ci`: npm ci wants the other platforms' optional
# binding packages in the lock file, which npm did not record there.)
if [ ! -d "$here/duckdb/node_modules/@duckdb/node-api" ]; then
  log "npm install in bench/duckdb"
  (cd "$here/duckdb" && npm install --no-audit --no-fund >/dev/null)
fi

# ---- 4. Ingest speed and state size (one core).
log "bench_ingest (taskset -c $cpu)"
taskset -c "$cpu" "$build/bench_ingest" "$customers" "$events" "$days" "$seed" "$csv" "$batch"

# Ids crafted to collide in the customer table (issue 6; about 10 s): a
# fresh random key must keep them within 2x of random ids.
log "bench_hostile (taskset -c $cpu)"
taskset -c "$cpu" "$build/bench_hostile" || { echo "bench_hostile: crafted ids more than 2x slower"; exit 1; }

# ---- 5. The report: cxm on one core, DuckDB with $dthreads threads.
log "cxm report --format json (taskset -c $cpu)"
t0=$(now)
/usr/bin/time -o "$out/cxm.time" -f "cxm: %e s wall, %U s user, %S s sys, max RSS %M KB" \
  taskset -c "$cpu" "$cxm" report --format json "$csv" >"$out/cxm.json"
t_cxm=$(elapsed "$t0" "$(now)")
cat "$out/cxm.time"
echo "cxm report: $t_cxm s"

log "DuckDB report (threads=$dthreads)"
t0=$(now)
/usr/bin/time -o "$out/duckdb.time" -f "duckdb: %e s wall, %U s user, %S s sys, max RSS %M KB" \
  node "$here/duckdb/report.mjs" --threads "$dthreads" --timing "$csv" >"$out/duckdb.json"
t_duck=$(elapsed "$t0" "$(now)")
cat "$out/duckdb.time"
echo "duckdb report: $t_duck s"

# ---- 6. Agreement and the ratio.
log "compare (A = cxm, B = DuckDB)"
agree=0
/usr/bin/python3 "$here/compare.py" "$out/cxm.json" "$out/duckdb.json" || agree=$?
ratio=$(awk -v d="$t_duck" -v c="$t_cxm" 'BEGIN { printf "%.2f", d / c }')
echo "ratio DuckDB time / cxm time: $ratio ($t_duck s / $t_cxm s; cxm on 1 core, DuckDB with $dthreads threads)"
# CPU seconds (user + sys): the figure to read when the machine was shared.
cpu_of() { awk '{ for (i = 1; i < NF; i++) { if ($(i + 1) == "s" && ($(i + 2) ~ /^user/ || $(i + 2) ~ /^sys/)) s += $i } } END { printf "%.2f", s }' "$1"; }
c_cxm=$(cpu_of "$out/cxm.time")
c_duck=$(cpu_of "$out/duckdb.time")
echo "cpu seconds (user+sys): DuckDB $c_duck, cxm $c_cxm; ratio $(awk -v d="$c_duck" -v c="$c_cxm" 'BEGIN { printf "%.2f", d / c }')"
if [ "$agree" -ne 0 ]; then
  echo "reports DISAGREE (see the differences above)"
  exit 1
fi
echo "reports agree"
