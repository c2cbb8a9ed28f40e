#!/usr/bin/env bash
# fuzz/build.sh OUTDIR [SRCDIR]: build the libFuzzer harnesses
# OUTDIR/fuzz_csv, OUTDIR/fuzz_api and OUTDIR/fuzz_snapshot straight from SRCDIR/lib/*.c (default:
# this checkout) with clang, AddressSanitizer and UndefinedBehaviorSanitizer.
# No configure, no libtool. CLANG overrides the compiler (default clang).
#
# lib/series.c (the per-day sums every query runs: a loop over up to
# 49,000 days) is built -O2 with coverage counters but without comparison
# tracing and without the sanitizers: instrumented, that loop took 94% of
# the fuzzers' time. `make check` under ASan covers it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR [SRCDIR]}
src=${2:-$(dirname "$here")}
cc=${CLANG:-clang}
mkdir -p "$out/obj"
flags=(-g -O1 -std=c11 -Wall -Wextra -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=all
       -I"$src/include" -I"$src/lib")
objs=()
for c in "$src"/lib/*.c; do
  o="$out/obj/$(basename "$c" .c).o"
  if [ "$(basename "$c")" = series.c ]; then
    "$cc" -g -O2 -std=c11 -I"$src/include" -I"$src/lib" -fsanitize=fuzzer-no-link \
      -fno-sanitize-coverage=trace-cmp -c "$c" -o "$o" &
  else
    "$cc" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$c" -o "$o" &
  fi
  objs+=("$o")
done
wait
for f in csv api snapshot; do
  "$cc" "${flags[@]}" -fsanitize=fuzzer "$here/fuzz_$f.c" "${objs[@]}" -lm \
    -o "$out/fuzz_$f"
done
# snapseed writes fuzz_snapshot's seed snapshots (make_corpus.sh).
"$cc" "${flags[@]}" -fsanitize=fuzzer-no-link "$here/snapseed.c" "${objs[@]}" -lm \
  -o "$out/snapseed"
echo "fuzz/build.sh: built $out/fuzz_csv $out/fuzz_api $out/fuzz_snapshot ($("$cc" --version | head -n 1))"
