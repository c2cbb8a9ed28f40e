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

/* Index slots per cell: a stage fills up to one cell per 4 slots, so a
   probe nearly always ends at the first slot (at 2 per cell a second probe,
   with its mispredicted branch, came about one lookup in four). */
#define SLOTS_PER_CELL 4

static void slots_clear(cxm_stage *s) {
  for (uint32_t i = 0; i <= s->mask; i++) s->slots[i].key = CXM_SLOT_NONE;
}

int cxm__stage_init(cxm_ctx *ctx, cxm_stage *s, uint32_t cap, int width) {
  memset(s, 0, sizeof *s);
  s->cap = cap;
  s->width = width;
  s->keys = (uint64_t *)cxm__malloc(ctx, cap * sizeof(uint64_t));
  s->vals = (int64_t *)cxm__calloc(ctx, (size_t)cap * (size_t)width * sizeof(int64_t));
  s->slots = (cxm_slot *)cxm__malloc(ctx, SLOTS_PER_CELL * cap * sizeof(cxm_slot));
  if (!s->keys || !s->vals || !s->slots) return CXM_E_NOMEM;
  s->mask = SLOTS_PER_CELL * cap - 1;
  slots_clear(s);
  return CXM_OK;
}

void cxm__stage_free(cxm_ctx *ctx, cxm_stage *s) {
  cxm__free(ctx, s->keys, s->cap * sizeof(uint64_t));
  cxm__free(ctx, s->vals, (size_t)s->cap * (size_t)s->width * sizeof(int64_t));
  cxm__free(ctx, s->slots, SLOTS_PER_CELL * s->cap * sizeof(cxm_slot));
  memset(s, 0, sizeof *s);
}

/* A new cell c of `key` (the caller made room and knows it is absent). */
static int64_t *stage_put(cxm_stage *st, uint64_t key) {
  uint32_t i = cxm__key_slot(key, st->mask);
  while (st->slots[i].key != CXM_SLOT_NONE) i = (i + 1) & st->mask;
  uint32_t c = st->count++;
  int64_t *cell = st->vals + (size_t)c * (size_t)st->width;
  st->keys[c] = key;
  st->slots[i].key = key;
  st->slots[i].cell = cell;
  return cell;
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
    /* Only the counters the cell changed: a cell holds a day's events of
       one set and column, seldom of every type. */
    uint8_t nz[NEV];
    int n = 0;
    for (int k = 0; k < NEV; k++) {
      nz[n] = (uint8_t)k;
      n += v[k] != 0;
    }
    FOR_EACH_SCOPE(ctx, set, col, s, {
      int64_t *row = s->cells + (size_t)(uint32_t)(day - s->day0) * NEV;
      for (int q = 0; q < n; q++) row[nz[q]] += v[nz[q]];
    });
    memset(v, 0, NEV * sizeof(int64_t));
  }
  slots_clear(st);
  memset(st->memo, 0, sizeof st->memo);
  st->count = 0;
}

/* A new fine cell: make sure every scope has its day row first, so that the
   flush can never fail; a failure here leaves all counts as they were. */
int64_t *cxm__stage_ev_insert(cxm_ctx *ctx, uint64_t key) {
  cxm_stage *st = &ctx->stage_ev;
  int32_t day = (int32_t)(uint32_t)(key >> 32);
  uint32_t set = (uint32_t)(key >> 8) & 0xFFFFFFu;
  uint32_t col = (uint32_t)key & 0xFFu;
  int failed = 0;
  FOR_EACH_SCOPE(ctx, set, col, s, {
    if (!failed && !(s->cells && (uint32_t)(day - s->day0) < s->ndays) &&
        cxm__series_ensure(ctx, s, day) != CXM_OK)
      failed = 1;
  });
  if (failed) return NULL;
  if (st->count == st->cap) flush_ev(ctx);
  return stage_put(st, key);
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
  slots_clear(st);
  memset(st->memo, 0, sizeof st->memo);
  st->count = 0;
}

int64_t *cxm__stage_cc_insert(cxm_ctx *ctx, uint64_t key) {
  cxm_stage *st = &ctx->stage_cc;
  if (st->count == st->cap) flush_cc(ctx);
  return stage_put(st, key);
}

void cxm__flush(cxm_ctx *ctx) {
  if (ctx->stage_ev.count) flush_ev(ctx);
  if (ctx->stage_cc.count) flush_cc(ctx);
}
