/*
 * qsketch.h - a quantile sketch of non-negative integer durations (seconds)
 * over fixed log-linear buckets.
 *
 * Values below 32 have a bucket each; above, every power-of-two range
 * [2^e, 2^(e+1)) is cut into 32 equal buckets. A bucket's representative
 * (its middle) is within 1/64 (1.6%) of any value in it. Buckets are fixed,
 * so a sketch is just counts: two sketches merge by adding counts, exactly
 * and in any order, and a value can be taken out again (segment moves).
 * A quantile query finds, from exact counts, the bucket holding the sample
 * of rank ceil(q * n): no rank error at bucket resolution, and the value
 * returned is within 1/64 of that sample's exact value.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_QSKETCH_H
#define CXM_QSKETCH_H

#include <stdint.h>

#include "internal.h"

#define CXM_QS_SUB 32                      /* buckets per octave */
#define CXM_QS_NBUCKETS (CXM_QS_SUB * 28)  /* covers 0 .. 2^32 - 1 */

/* The bucket of a value. */
static inline uint32_t cxm__qs_bucket(uint32_t x) {
  if (x < CXM_QS_SUB) return x;
#if defined(__GNUC__)
  uint32_t e = 31u - (uint32_t)__builtin_clz(x); /* floor(log2 x) >= 5 */
#else
  uint32_t e = 31;
  while (!(x >> e)) e--;
#endif
  return (e - 4) * CXM_QS_SUB + ((x >> (e - 5)) & (CXM_QS_SUB - 1));
}

/* Smallest value of a bucket, and its width. */
static inline void cxm__qs_range(uint32_t b, uint64_t *lo, uint64_t *width) {
  if (b < CXM_QS_SUB) {
    *lo = b;
    *width = 1;
    return;
  }
  uint32_t e = b / CXM_QS_SUB + 4, sub = b % CXM_QS_SUB;
  *lo = (uint64_t)(CXM_QS_SUB + sub) << (e - 5);
  *width = (uint64_t)1 << (e - 5);
}

/* The representative value of a bucket: the middle of its integer range. */
static inline double cxm__qs_value(uint32_t b) {
  uint64_t lo, w;
  cxm__qs_range(b, &lo, &w);
  return (double)lo + (double)(w - 1) / 2.0;
}

/* The q-quantile (0 <= q <= 1) of a sketch of `n` samples held in `counts`
   (CXM_QS_NBUCKETS of them): the representative of the bucket holding the
   sample of rank max(1, ceil(q * n)). NaN when n is 0. */
CXM_HIDDEN double cxm__qs_quantile(const uint32_t *counts, uint64_t n, double q);

#endif /* CXM_QSKETCH_H */
