/*
 * qsketch.c - quantile queries over the fixed-bucket sketch of qsketch.h.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "qsketch.h"

#include <math.h>

double cxm__qs_quantile(const uint32_t *counts, uint64_t n, double q) {
  if (n == 0 || !counts || !(q >= 0.0 && q <= 1.0)) return NAN;
  /* The rank as a nearest-rank percentile: ceil(q n), at least 1. */
  /* q * n may land a few ulps above an integer (0.9 * 70 is
     63.00000000000001): such a product is that integer. */
  double x = q * (double)n;
  double r = ceil(x - x * 1e-12);
  uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
  if (rank > n) rank = n;
  uint64_t seen = 0;
  for (uint32_t b = 0; b < CXM_QS_NBUCKETS; b++) {
    seen += counts[b];
    if (seen >= rank) return cxm__qs_value(b);
  }
  return NAN; /* counts disagree with n: cannot happen when kept together */
}
