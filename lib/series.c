/*
 * series.c - the scope grid and each scope's per-day counters.
 * A row holds, for one segment (or all), every channel column's day series
 * and customer-level cell. Rows exist from segment interning on, so the
 * ingest path never allocates a row.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "internal.h"

#define ROW_BYTES(s) ((size_t)(s)->cap * NEV * sizeof(int64_t))

int cxm__row_ensure(cxm_ctx *ctx, uint32_t row) {
  if (ctx->rows[row]) return CXM_OK;
  cxm_row *r = (cxm_row *)cxm__calloc(ctx, sizeof(cxm_row));
  if (!r) return CXM_E_NOMEM;
  ctx->rows[row] = r;
  return CXM_OK;
}

void cxm__rows_free(cxm_ctx *ctx) {
  for (uint32_t i = 0; i < CXM_GRID_ROWS; i++) {
    cxm_row *r = ctx->rows[i];
    if (!r) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++)
      cxm__free(ctx, r->ev[c].cells, ROW_BYTES(&r->ev[c]));
    cxm__free(ctx, r, sizeof(cxm_row));
    ctx->rows[i] = NULL;
  }
}

/* Extends the series so that it has a row for `day`; on failure the series is
   unchanged. Growth at the end (the usual, time-ordered case) doubles the
   capacity; growth at the front (late events) reallocates exactly. */
int cxm__series_ensure(cxm_ctx *ctx, cxm_series *s, int32_t day) {
  if (s->cells && (uint32_t)(day - s->day0) < s->ndays) return CXM_OK;
  if (!s->cells) {
    uint32_t cap = 32;
    int64_t *c = (int64_t *)cxm__calloc(ctx, (size_t)cap * NEV * sizeof(int64_t));
    if (!c) return CXM_E_NOMEM;
    s->cells = c;
    s->cap = cap;
    s->day0 = day;
    s->ndays = 1;
    return CXM_OK;
  }
  if (day >= s->day0) {
    uint32_t need = (uint32_t)(day - s->day0) + 1;
    if (need > s->cap) {
      uint32_t ncap = s->cap;
      while (ncap < need) ncap *= 2;
      int64_t *c = (int64_t *)cxm__realloc(ctx, s->cells, ROW_BYTES(s),
                                           (size_t)ncap * NEV * sizeof(int64_t));
      if (!c) return CXM_E_NOMEM;
      memset(c + (size_t)s->cap * NEV, 0, (size_t)(ncap - s->cap) * NEV * sizeof(int64_t));
      s->cells = c;
      s->cap = ncap;
    }
    s->ndays = need;
    return CXM_OK;
  }
  uint32_t shift = (uint32_t)(s->day0 - day);
  uint32_t need = s->ndays + shift;
  uint32_t ncap = need > s->cap ? need : s->cap;
  if (ncap > s->cap) ncap = need + need / 4; /* some room to grow at the end */
  int64_t *c = (int64_t *)cxm__calloc(ctx, (size_t)ncap * NEV * sizeof(int64_t));
  if (!c) return CXM_E_NOMEM;
  memcpy(c + (size_t)shift * NEV, s->cells, (size_t)s->ndays * NEV * sizeof(int64_t));
  cxm__free(ctx, s->cells, ROW_BYTES(s));
  s->cells = c;
  s->cap = ncap;
  s->day0 = day;
  s->ndays = need;
  return CXM_OK;
}

void cxm__series_sum(const cxm_series *s, int64_t from_day, int64_t to_day,
                     int64_t out[NEV]) {
  if (!s->cells) return;
  int64_t lo = from_day > s->day0 ? from_day : s->day0;
  int64_t end = (int64_t)s->day0 + s->ndays;
  int64_t hi = to_day < end ? to_day : end;
  for (int64_t d = lo; d < hi; d++) {
    const int64_t *row = s->cells + (size_t)(d - s->day0) * NEV;
    for (int k = 0; k < NEV; k++) out[k] += row[k];
  }
}
