/*
 * rfm.c - RFM quintile scores and named segments of a CLV model's customers
 * (rule table: docs/clv.md).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdlib.h>

#include "clv.h"

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

/* Customers in sorted[0..n) strictly below v. */
static size_t count_below(const double *sorted, size_t n, double v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static uint8_t score(size_t worse, size_t n) {
  return (uint8_t)(1 + (5 * (uint64_t)worse) / n);
}

static int32_t rfm_segment(int r, int f, int m) {
  if (r >= 4 && f >= 4 && m >= 4) return CXM_RFM_CHAMPIONS;
  if (r >= 3 && f >= 4) return CXM_RFM_LOYAL;
  if (r <= 2 && f >= 4 && m >= 4) return CXM_RFM_CANNOT_LOSE;
  if (r <= 2 && f >= 3) return CXM_RFM_AT_RISK;
  if (r >= 4 && f == 1) return CXM_RFM_NEW;
  if (r >= 3) return CXM_RFM_POTENTIAL_LOYALIST;
  if (r == 2) return CXM_RFM_HIBERNATING;
  return CXM_RFM_LOST;
}

int cxm_rfm_scores(const cxm_clv_model *model, size_t n, uint8_t *r, uint8_t *f,
                   uint8_t *m, int32_t *segment) {
  if (!model) return CXM_E_NULL;
  cxm_ctx *ctx = model->ctx;
  size_t N = model->n;
  if (n < N)
    return cxm__seterr(ctx, CXM_E_ARG, "n: the model has %zu customers, arrays hold %zu", N, n);
  /* Three value columns and their sorted copies. Recency is negated (the
     days since the last purchase: fewer is better), so that for all three
     a larger value is better. */
  double *val = cxm__malloc(ctx, 6 * N * sizeof *val);
  if (!val) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for RFM scores of %zu customers", N);
  double *srt = val + 3 * N;
  for (size_t k = 0; k < N; k++) {
    const cxm_clvgroup *g = &model->groups[model->group[k]];
    val[k] = -((double)g->Td - (double)g->txd);
    val[N + k] = (double)g->x + 1;
    val[2 * N + k] = model->total[k];
  }
  for (int c = 0; c < 3; c++) {
    for (size_t k = 0; k < N; k++) srt[c * N + k] = val[c * N + k];
    qsort(srt + c * N, N, sizeof *srt, cmp_double);
  }
  for (size_t k = 0; k < N; k++) {
    uint8_t s[3];
    for (int c = 0; c < 3; c++) s[c] = score(count_below(srt + c * N, N, val[c * N + k]), N);
    if (r) r[k] = s[0];
    if (f) f[k] = s[1];
    if (m) m[k] = s[2];
    if (segment) segment[k] = rfm_segment(s[0], s[1], s[2]);
  }
  cxm__free(ctx, val, 6 * N * sizeof *val);
  return CXM_OK;
}

const char *cxm_rfm_segment_name(int32_t segment) {
  static const char *const names[] = {NULL,       "champions",   "loyal",
                                      "potential_loyalist", "new", "at_risk",
                                      "cannot_lose", "hibernating", "lost"};
  if (segment < CXM_RFM_CHAMPIONS || segment > CXM_RFM_LOST) return NULL;
  return names[segment];
}
