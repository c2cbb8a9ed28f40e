/*
 * bench_mempattern.c - the batch ingest's memory pattern alone, at 1M
 * customers, without the library: what cache misses cost once prefetched.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Usage: bench_mempattern [SIDES [WORK [RUNS]]]
 *
 * Per event, as lib/ingest.c's batch: an index slot (8 bytes, 2M slots in
 * hash order) found by linear probing, then the 64-byte record (insertion
 * order) it names, with the slot prefetched 16 events ahead and the record 8
 * ahead. SIDES 1 adds three per-customer entries of 8, 12 and 44 bytes (the
 * sizes of retention, funnel and attribution), prefetched with the record
 * (both ends) and each written; SIDES 2 writes the 12- and 44-byte entries
 * only for 73% and 64% of the events (the share of the types those modules
 * read) but prefetches them for all; SIDES 3 prefetches them only for those.
 * SIDES 4 is SIDES 3 with the three entries co-located in one 64-byte
 * aligned row per customer (8 + 12 + 44 bytes): one line, prefetched once
 * for any event that reads one of them. SIDES 5 packs them in 59-byte rows
 * (8 + 10 + 41, their sizes today), both ends prefetched: two lines for
 * most customers, no padding. SIDES 6 is SIDES 5 with the row's far end
 * prefetched only for the events that read the 10- or 44-byte entry (the
 * others need retention's 8 bytes at the row's start).
 * WORK adds that many dependent multiply-adds per event (the instructions
 * of the real ingest; 60 take about 100 ns). Each of three orders of the
 * events is timed (best CPU time of RUNS, default 3): the batch order,
 * sorted by record index within batches of 4096, and grouped by record
 * index >> 14 within batches. Not built by make; compile with
 *   gcc -O2 bench/bench_mempattern.c -o bench_mempattern
 * and run under taskset -c N.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define N 1000000u     /* customers */
#define E 20000000u    /* events */
#define BATCH 4096u
#define SLOT_BITS 21
#define AHEAD_SLOT 16
#define AHEAD_REC 8

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Zeroed, 2 MiB aligned, huge pages asked for (as lib/pages.c does). */
static void *big(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, (size_t)2 << 20, n)) {
    fprintf(stderr, "bench_mempattern: out of memory\n");
    exit(1);
  }
#ifdef MADV_HUGEPAGE
  madvise(p, n, MADV_HUGEPAGE);
#endif
  memset(p, 0, n);
  return p;
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= UINT64_C(0xc4ceb9fe1a85ec53);
  return x ^ (x >> 33);
}

typedef struct rec {
  uint64_t hash;
  uint32_t a[14];
} rec;

static uint64_t *slots;
static rec *recs;
static uint8_t *s8, *s12, *s44, *s64, *s59;

static uint64_t find(uint64_t h) {
  size_t j = h >> (64 - SLOT_BITS);
  uint64_t s;
  while ((s = slots[j]) && (s >> 32) != (h >> 32)) j = (j + 1) & ((1u << SLOT_BITS) - 1);
  return s;
}

/* The m events of `ev` into `out` by record index >> shift (a stable counting sort). */
static void order_batch(const uint32_t *ev, uint32_t *out, size_t m, unsigned shift) {
  static uint32_t cnt[(N >> 0) + 2];
  size_t nk = (N >> shift) + 2;
  memset(cnt, 0, nk * sizeof cnt[0]);
  for (size_t k = 0; k < m; k++) cnt[(ev[k] >> shift) + 1]++;
  for (size_t k = 1; k < nk; k++) cnt[k] += cnt[k - 1];
  for (size_t k = 0; k < m; k++) out[cnt[ev[k] >> shift]++] = ev[k];
}

int main(int argc, char **argv) {
  int sides = argc > 1 ? atoi(argv[1]) : 1;
  int work = argc > 2 ? atoi(argv[2]) : 0;
  int runs = argc > 3 ? atoi(argv[3]) : 3;
  if (sides < 0 || sides > 6 || work < 0 || runs < 1) {
    fprintf(stderr, "usage: bench_mempattern [SIDES 0..6 [WORK [RUNS]]]\n");
    return 2;
  }
  slots = big((size_t)8 << SLOT_BITS);
  recs = big((size_t)N * sizeof(rec));
  s8 = big((size_t)N * 8);
  s12 = big((size_t)N * 12);
  s44 = big((size_t)N * 44);
  s64 = big((size_t)N * 64);
  s59 = big((size_t)N * 59);
  for (uint32_t i = 0; i < N; i++) {
    uint64_t h = mix(i + 1);
    recs[i].hash = h;
    size_t j = h >> (64 - SLOT_BITS);
    while (slots[j]) j = (j + 1) & ((1u << SLOT_BITS) - 1);
    slots[j] = (h >> 32) << 32 | (i + 1);
  }
  uint32_t *ev = malloc((size_t)E * 4), *ord = malloc((size_t)E * 4);
  uint64_t *hs = malloc((size_t)E * 8);
  uint8_t *use = malloc(E);
  if (!ev || !ord || !hs || !use) return 1;
  uint64_t x = 42;
  for (uint32_t i = 0; i < E; i++) {
    x = mix(x + i);
    ev[i] = (uint32_t)(x % N);
    unsigned t = (unsigned)((x >> 32) % 1000);
    use[i] = (uint8_t)((t < 730) | (t < 640) << 1);
  }
  static const char *const names[3] = {"batch order", "sorted by record",
                                       "record >> 14 groups"};
  for (int mode = 0; mode < 3; mode++) {
    for (size_t b = 0; b < E; b += BATCH) {
      size_t m = E - b < BATCH ? E - b : BATCH;
      if (mode == 0) memcpy(ord + b, ev + b, m * 4);
      else order_batch(ev + b, ord + b, m, mode == 1 ? 0 : 14);
    }
    for (size_t i = 0; i < E; i++) hs[i] = recs[ord[i]].hash;
    double best = 1e30;
    uint64_t sink = 0;
    for (int r = 0; r < runs; r++) {
      double c0 = cpu_s();
      for (size_t i = 0; i < E; i++) {
        if (i + AHEAD_SLOT < E)
          __builtin_prefetch(&slots[hs[i + AHEAD_SLOT] >> (64 - SLOT_BITS)], 1, 3);
        if (i + AHEAD_REC < E) {
          size_t idx = (uint32_t)find(hs[i + AHEAD_REC]) - 1;
          __builtin_prefetch(&recs[idx], 1, 3);
          if (sides == 4) {
            __builtin_prefetch(s64 + idx * 64, 1, 3);
          } else if (sides >= 5) {
            __builtin_prefetch(s59 + idx * 59, 1, 3);
            if (sides == 5 || use[i + AHEAD_REC]) __builtin_prefetch(s59 + idx * 59 + 58, 1, 3);
          } else if (sides) {
            unsigned u = sides == 3 ? use[i + AHEAD_REC] : 3;
            __builtin_prefetch(s8 + idx * 8, 1, 3);
            if (u & 1) {
              __builtin_prefetch(s12 + idx * 12, 1, 3);
              __builtin_prefetch(s12 + idx * 12 + 11, 1, 3);
            }
            if (u & 2) {
              __builtin_prefetch(s44 + idx * 44, 1, 3);
              __builtin_prefetch(s44 + idx * 44 + 43, 1, 3);
            }
          }
        }
        size_t idx = (uint32_t)find(hs[i]) - 1;
        rec *rc = &recs[idx];
        sink += rc->hash != hs[i];
        rc->a[3]++;
        uint64_t y = rc->a[5] + i;
        for (int k = 0; k < work; k++) y = y * UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)k;
        rc->a[5] = (uint32_t)y;
        if (sides == 4) {
          unsigned u = use[i];
          s64[idx * 64]++;
          if (u & 1) s64[idx * 64 + 8 + 4]++;
          if (u & 2) s64[idx * 64 + 20 + 20]++;
        } else if (sides >= 5) {
          unsigned u = use[i];
          s59[idx * 59]++;
          if (u & 1) s59[idx * 59 + 8 + 4]++;
          if (u & 2) s59[idx * 59 + 18 + 20]++;
        } else if (sides) {
          unsigned u = sides >= 2 ? use[i] : 3;
          s8[idx * 8]++;
          if (u & 1) s12[idx * 12 + 4]++;
          if (u & 2) s44[idx * 44 + 20]++;
        }
        sink += y;
      }
      double t = cpu_s() - c0;
      if (t < best) best = t;
    }
    printf("sides %d work %d %-20s %6.1f ns/event (best of %d; %llu)\n", sides, work,
           names[mode], best / E * 1e9, runs, (unsigned long long)(sink & 1));
  }
  return 0;
}
