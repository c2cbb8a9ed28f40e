/*
 * stage.c - staging of counter updates by fine cell.
 *
 * A scope (all, segment, channel, segment x channel) is a sum over fine cells
 * (segment set, channel): an event of a customer holding k segments belongs
 * to 2(k + 1) scopes but to exactly one fine cell. The hot path therefore adds
 * to one staged fine cell, and the staged cells are added into their scopes'
 * counters in bulk when the stage fills up or before any read. Thousands of
 * events share a staged cell, so the scope fan-out costs almost nothing per
 * event, while every scope's counters stay exact.
 *
 * Event-level cells are keyed by (day, set, column) and hold NEV counters;
 * customer-level cells by (set, group, channel) and hold NCC counters (only
 * the group's fields are used).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "internal.h"

int cxm__stage_init(cxm_ctx *ctx, cxm_stage *s, uint32_t cap, int width) {
  memset(s, 0, sizeof *s);
  s->cap = cap;
  s->width = width;
  s->mask = 2 * cap - 1;
  s->keys = (uint64_t *)cxm__malloc(ctx, cap * sizeof(uint64_t));
  s->vals = (int64_t *)cxm__calloc(ctx, (size_t)cap * (size_t)width * sizeof(int64_t));
  s->index = (uint32_t *)cxm__calloc(ctx, 2 * cap * sizeof(uint32_t));
  if (!s->keys || !s->vals || !s->index) return CXM_E_NOMEM;
  return CXM_OK;
}

void cxm__stage_free(cxm_ctx *ctx, cxm_stage *s) {
  cxm__free(ctx, s->keys, s->cap * sizeof(uint64_t));
  cxm__free(ctx, s->vals, (size_t)s->cap * (size_t)s->width * sizeof(int64_t));
  cxm__free(ctx, s->index, 2 * s->cap * sizeof(uint32_t));
  memset(s, 0, sizeof *s);
}

/* ---- event-level ------------------------------------------------------------ */

/* Calls fn on each day series of the scopes a fine cell belongs to. */
#define FOR_EACH_SCOPE(ctx, set, col, S, BODY)                         \
  do {                                                                 \
    const cxm_segset *ss_ = &(ctx)->segsets.sets[(set)];               \
    for (uint32_t i_ = 0; i_ <= ss_->n; i_++) {                        \
      cxm_row *row_ = (ctx)->rows[i_ == 0 ? 0 : 1 + ss_->seg[i_ - 1]]; \
      cxm_series *S = &row_->ev[0];                                    \
      BODY;                                                            \
      if (col) {                                                       \
        S = &row_->ev[col];                                            \
        BODY;                                                          \
      }                                                                \
    }                                                                  \
  } while (0)

static void flush_ev(cxm_ctx *ctx) {
  cxm_stage *st = &ctx->stage_ev;
  for (uint32_t c = 0; c < st->count; c++) {
    uint64_t key = st->keys[c];
    int32_t day = (int32_t)(uint32_t)(key >> 32);
    uint32_t set = (uint32_t)(key >> 8) & 0xFFFFFFu;
    uint32_t col = (uint32_t)key & 0xFFu;
    int64_t *v = st->vals + (size_t)c * NEV;
    FOR_EACH_SCOPE(ctx, set, col, s, {
      int64_t *row = s->cells + (size_t)(uint32_t)(day - s->day0) * NEV;
      for (int k = 0; k < NEV; k++) row[k] += v[k];
    });
    memset(v, 0, NEV * sizeof(int64_t));
  }
  memset(st->index, 0, (st->mask + 1) * sizeof(uint32_t));
  st->count = 0;
}

int64_t *cxm__stage_ev_insert(cxm_ctx *ctx, int32_t day, uint32_t set,
                              uint32_t col) {
  cxm_stage *st = &ctx->stage_ev;
  uint64_t key = CXM_EV_KEY(day, set, col);
  uint32_t i = cxm__key_slot(key, st->mask);
  /* A new fine cell: make sure every scope has its day row, so that the
     flush can never fail; a failure here leaves all counts as they were. */
  int failed = 0;
  FOR_EACH_SCOPE(ctx, set, col, s, {
    if (!failed && !(s->cells && (uint32_t)(day - s->day0) < s->ndays) &&
        cxm__series_ensure(ctx, s, day) != CXM_OK)
      failed = 1;
  });
  if (failed) return NULL;
  if (st->count == st->cap) {
    flush_ev(ctx);
    i = cxm__key_slot(key, st->mask);
  }
  while (st->index[i]) i = (i + 1) & st->mask;
  uint32_t c = st->count++;
  st->keys[c] = key;
  st->index[i] = c + 1;
  return st->vals + (size_t)c * NEV;
}

/* ---- customer-level ----------------------------------------------------------- */

static const uint8_t group_lo[NCG] = {CC_BUYERS, CC_LEADS, CC_INTERACTORS};
static const uint8_t group_hi[NCG] = {CC_NET + 1, CC_CONVERTED + 1, NCC};

static void flush_cc(cxm_ctx *ctx) {
  cxm_stage *st = &ctx->stage_cc;
  for (uint32_t c = 0; c < st->count; c++) {
    uint64_t key = st->keys[c];
    uint32_t set = (uint32_t)(key >> 16);
    int g = (int)((key >> 8) & 0xFF);
    uint32_t ch = (uint32_t)key & 0xFFu;
    int64_t *v = st->vals + (size_t)c * NCC;
    const cxm_segset *ss = &ctx->segsets.sets[set];
    for (uint32_t i = 0; i <= ss->n; i++) {
      cxm_row *row = ctx->rows[i == 0 ? 0 : 1 + ss->seg[i - 1]];
      for (int k = group_lo[g]; k < group_hi[g]; k++) row->cc[0].v[k] += v[k];
      if (ch != CXM_CH_NONE)
        for (int k = group_lo[g]; k < group_hi[g]; k++) row->cc[1 + ch].v[k] += v[k];
    }
    memset(v, 0, NCC * sizeof(int64_t));
  }
  memset(st->index, 0, (st->mask + 1) * sizeof(uint32_t));
  st->count = 0;
}

int64_t *cxm__stage_cc(cxm_ctx *ctx, uint32_t set, int group, uint8_t ch) {
  cxm_stage *st = &ctx->stage_cc;
  uint64_t key = ((uint64_t)set << 16) | ((uint64_t)group << 8) | ch;
  uint32_t i = cxm__key_slot(key, st->mask);
  for (;;) {
    uint32_t c = st->index[i];
    if (c == 0) break;
    if (st->keys[c - 1] == key) return st->vals + (size_t)(c - 1) * NCC;
    i = (i + 1) & st->mask;
  }
  if (st->count == st->cap) {
    flush_cc(ctx);
    i = cxm__key_slot(key, st->mask);
  }
  while (st->index[i]) i = (i + 1) & st->mask;
  uint32_t c = st->count++;
  st->keys[c] = key;
  st->index[i] = c + 1;
  return st->vals + (size_t)c * NCC;
}

void cxm__flush(cxm_ctx *ctx) {
  if (ctx->stage_ev.count) flush_ev(ctx);
  if (ctx->stage_cc.count) flush_cc(ctx);
}
