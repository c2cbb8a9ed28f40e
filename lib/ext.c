/*
 * ext.c - calls the optional modules that the handle enabled (see ext.h;
 * the per-event dispatch, cxm__ext_prepare and cxm__ext_on_event, is inline
 * there).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "ext.h"
#include "monitor.h"
#include "retention.h"

/* A block of rows shared by modules (ext.h): module k's entry of record i
   at data + i * stride + off[k], size[k] bytes. The modules' views point
   to it (cxm_rows.blk); they are found through the modules' state
   (view_of), which a snapshot load swaps between handles with the rest. */
struct cxm_rowblk {
  uint8_t *data;
  size_t stride;
  uint32_t cap;
  uint32_t members; /* CXM_MOD_* bits (1 << module index) */
  size_t off[CXM_NMOD], size[CXM_NMOD];
};
typedef struct cxm_rowblk cxm_rowblk;

#define ON(ctx, bit) (((ctx)->opt[CXM_OPT_MODULES] & (bit)) != 0)

int cxm__ext_prepare_all(cxm_ctx *ctx, cxm_evview *ev, int64_t found, uint32_t set) {
  uint32_t on = (uint32_t)ctx->opt[CXM_OPT_MODULES] & CXM_MOD_ALL;
  int rc;
  if (ev) ev->pend = on & (uint32_t)(CXM__MODS_OF_TYPE >> (4 * ((uint32_t)ev->type & 15u))) & 15u;
  if ((on & CXM_MOD_RETENTION) && (rc = cxm__retention_prepare(ctx, ev, found, set))) return rc;
  if ((on & CXM_MOD_FUNNEL) && (rc = cxm__funnel_prepare(ctx, ev, found, set))) return rc;
  if ((on & CXM_MOD_ATTRIBUTION) && (rc = cxm__attribution_prepare(ctx, ev, found, set)))
    return rc;
  if ((on & CXM_MOD_CLV) && (rc = cxm__clv_prepare(ctx, ev, found, set))) return rc;
  return CXM_OK;
}

void cxm__ext_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                        uint32_t new_set) {
  if (ON(ctx, CXM_MOD_RETENTION)) cxm__retention_on_segset(ctx, ri, old_set, new_set);
  if (ON(ctx, CXM_MOD_FUNNEL)) cxm__funnel_on_segset(ctx, ri, old_set, new_set);
  if (ON(ctx, CXM_MOD_ATTRIBUTION)) cxm__attribution_on_segset(ctx, ri, old_set, new_set);
  if (ON(ctx, CXM_MOD_CLV)) cxm__clv_on_segset(ctx, ri, old_set, new_set);
}

int cxm__ext_save(const cxm_ctx *ctx, int modix, cxm_wbuf *w) {
  switch (modix) {
    case CXM_MODIX_RETENTION: return cxm__retention_save(ctx, w);
    case CXM_MODIX_FUNNEL: return cxm__funnel_save(ctx, w);
    case CXM_MODIX_ATTRIBUTION: return cxm__attribution_save(ctx, w);
    case CXM_MODIX_CLV: return cxm__clv_save(ctx, w);
    default: return CXM_E_ARG;
  }
}

int cxm__ext_load(cxm_ctx *ctx, int modix, cxm_rbuf *r) {
  switch (modix) {
    case CXM_MODIX_RETENTION: return cxm__retention_load(ctx, r);
    case CXM_MODIX_FUNNEL: return cxm__funnel_load(ctx, r);
    case CXM_MODIX_ATTRIBUTION: return cxm__attribution_load(ctx, r);
    case CXM_MODIX_CLV: return cxm__clv_load(ctx, r);
    default: return CXM_E_ARG;
  }
}

int cxm__ext_merge_reserve(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  int rc = CXM_OK;
  if (ON(dst, CXM_MOD_RETENTION) && (rc = cxm__retention_merge_reserve(dst, src, map))) return rc;
  if (ON(dst, CXM_MOD_FUNNEL) && (rc = cxm__funnel_merge_reserve(dst, src, map))) return rc;
  if (ON(dst, CXM_MOD_ATTRIBUTION) && (rc = cxm__attribution_merge_reserve(dst, src, map))) return rc;
  if (ON(dst, CXM_MOD_CLV) && (rc = cxm__clv_merge_reserve(dst, src, map))) return rc;
  return CXM_OK;
}

void cxm__ext_merge_apply(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  if (ON(dst, CXM_MOD_RETENTION)) cxm__retention_merge_apply(dst, src, map);
  if (ON(dst, CXM_MOD_FUNNEL)) cxm__funnel_merge_apply(dst, src, map);
  if (ON(dst, CXM_MOD_ATTRIBUTION)) cxm__attribution_merge_apply(dst, src, map);
  if (ON(dst, CXM_MOD_CLV)) cxm__clv_merge_apply(dst, src, map);
}

void cxm__ext_erase(cxm_ctx *ctx, uint32_t ri) {
  if (ON(ctx, CXM_MOD_RETENTION)) cxm__retention_erase(ctx, ri);
  if (ON(ctx, CXM_MOD_FUNNEL)) cxm__funnel_erase(ctx, ri);
  if (ON(ctx, CXM_MOD_ATTRIBUTION)) cxm__attribution_erase(ctx, ri);
  if (ON(ctx, CXM_MOD_CLV)) cxm__clv_erase(ctx, ri);
}

void cxm__ext_move(cxm_ctx *ctx, uint32_t from, uint32_t to) {
  if (ON(ctx, CXM_MOD_RETENTION)) cxm__retention_move(ctx, from, to);
  if (ON(ctx, CXM_MOD_FUNNEL)) cxm__funnel_move(ctx, from, to);
  if (ON(ctx, CXM_MOD_ATTRIBUTION)) cxm__attribution_move(ctx, from, to);
  if (ON(ctx, CXM_MOD_CLV)) cxm__clv_move(ctx, from, to);
}

/* Module k's view of its rows, NULL without state or for CLV (its own
   array, cxm__ext_side). Funnel's state starts with its view. */
static cxm_rows *view_of(const cxm_ctx *ctx, int k) {
  void *m = ctx->mod[k];
  if (!m) return NULL;
  switch (k) {
    case CXM_MODIX_RETENTION: return &((cxm_ret *)m)->side;
    case CXM_MODIX_FUNNEL: return (cxm_rows *)m;
    case CXM_MODIX_ATTRIBUTION: return &((cxm_attr_ring *)m)->rows;
    default: return NULL;
  }
}

/* The prefetch table: each module's own array, and a shared block once
   (both ends of its row, for the types any of its modules reads). */
static void side_table(cxm_ctx *ctx) {
  int n = 0;
  const cxm_rowblk *done[CXM_NMOD];
  int nd = 0;
  for (int k = 0; k < CXM_NMOD; k++) {
    cxm_side e = ctx->side[k];
    if (!e.base || !e.stride) continue;
    const cxm_rows *v = view_of(ctx, k);
    const cxm_rowblk *b = v && v->base ? v->blk : NULL;
    if (b) {
      int seen = 0;
      for (int j = 0; j < nd; j++) seen |= done[j] == b;
      if (seen) continue;
      done[nd++] = b;
      e.base = b->data;
      e.stride = b->stride;
      e.mod = b->members;
    }
    e.types = 0;
    for (uint32_t t = 0; t < 16; t++)
      if ((uint32_t)(CXM__MODS_OF_TYPE >> (4 * t)) & e.mod) e.types |= (uint16_t)(1u << t);
    e.all = 0;
    ctx->side_on[n++] = e;
  }
  ctx->n_side_on = n;
  const uint32_t cust = ((1u << (CXM_EV_CHURN + 1)) - 2u) & ~(1u << CXM_EV_SPEND);
  ctx->side_on[0].all = n == 1 && (ctx->side_on[0].types & cust) == cust;
  /* Unused entries zero: no stale pointer is left in the table. */
  for (int k = n; k < CXM_NMOD; k++) ctx->side_on[k] = (cxm_side){0};
}

void cxm__ext_side(cxm_ctx *ctx, int modix, const void *base, size_t stride) {
  ctx->side[modix].base = (const uint8_t *)base;
  ctx->side[modix].stride = base ? stride : 0;
  ctx->side[modix].mod = 1u << modix; /* CXM_MOD_* (ingest.c: prefetch_rec) */
  side_table(ctx);
}

/* ---- shared rows (ext.h) ---------------------------------------------------------- */

/* Modules that may share rows, in row order: retention (read by every
   customer event type) first. */
static const int ROW_ORDER[3] = {CXM_MODIX_RETENTION, CXM_MODIX_FUNNEL,
                                 CXM_MODIX_ATTRIBUTION};

/* The entry size a module will ask for (its reserve passes the same). */
static size_t entry_size(const cxm_ctx *ctx, int modix) {
  switch (modix) {
    case CXM_MODIX_RETENTION: return 8;
    case CXM_MODIX_FUNNEL: return CXM_FUNNEL_REC;
    default: return 5 * (size_t)ctx->opt[CXM_OPT_TOUCHES_KEPT] + 1; /* attribution.c */
  }
}

/* The block (of another module's view) that plans modix's entries of
   `size` bytes, if any. */
static cxm_rowblk *block_of(const cxm_ctx *ctx, int modix, size_t size) {
  for (int k = 0; k < CXM_NMOD; k++) {
    const cxm_rows *v = view_of(ctx, k);
    cxm_rowblk *b = v ? v->blk : NULL;
    if (b && (b->members >> modix & 1u) && b->size[modix] == size) return b;
  }
  return NULL;
}

/* A new block's layout: modix and the other enabled modules that no block
   plans yet. */
static cxm_rowblk *block_new(cxm_ctx *ctx, int modix, size_t size) {
  cxm_rowblk *b = (cxm_rowblk *)cxm__calloc(ctx, sizeof *b);
  if (!b) return NULL;
  uint32_t on = (uint32_t)ctx->opt[CXM_OPT_MODULES], taken = 0;
  for (int k = 0; k < CXM_NMOD; k++) {
    const cxm_rows *v = view_of(ctx, k);
    if (v && v->blk) taken |= v->blk->members;
  }
  for (int i = 0; i < 3; i++) {
    int k = ROW_ORDER[i];
    if (k != modix && (!(on >> k & 1u) || (taken >> k & 1u))) continue;
    b->members |= 1u << k;
    b->off[k] = b->stride;
    b->size[k] = k == modix ? size : entry_size(ctx, k);
    b->stride += b->size[k];
  }
  return b;
}

/* Points every view on the block (and the prefetch table) at it. */
static void block_views(cxm_ctx *ctx, const cxm_rowblk *b) {
  for (int k = 0; k < CXM_NMOD; k++) {
    cxm_rows *v = view_of(ctx, k);
    if (!v || v->blk != b) continue;
    v->base = b->data + b->off[k];
    v->stride = b->stride;
    v->cap = b->cap;
    ctx->side[k].base = v->base;
    ctx->side[k].stride = b->stride;
    ctx->side[k].mod = 1u << k;
  }
  side_table(ctx);
}

int cxm__siderows_reserve(cxm_ctx *ctx, int modix, cxm_rows *v, size_t size, uint64_t need) {
  if (v->base && need <= v->cap) return CXM_OK;
  cxm_rowblk *b = v->blk ? v->blk : block_of(ctx, modix, size), *fresh = NULL;
  if (!b && !(b = fresh = block_new(ctx, modix, size))) return CXM_E_NOMEM;
  /* Grow to the core's capacity (1024 * 2^k records), so the rows follow
     the record array's doublings. */
  uint64_t ncap = ctx->customers.cap > b->cap ? ctx->customers.cap : b->cap;
  if (!ncap) ncap = 1024;
  while (ncap < need) ncap *= 2;
  if (ncap > UINT32_MAX) {
    if (fresh) cxm__free(ctx, fresh, sizeof *fresh);
    return CXM_E_LIMIT;
  }
  if (ncap > b->cap) {
    uint8_t *d = (uint8_t *)cxm__realloc(ctx, b->data, (size_t)b->cap * b->stride,
                                         (size_t)ncap * b->stride);
    if (!d) {
      if (fresh) cxm__free(ctx, fresh, sizeof *fresh);
      return CXM_E_NOMEM;
    }
    memset(d + (size_t)b->cap * b->stride, 0, (size_t)(ncap - b->cap) * b->stride);
    b->data = d;
    b->cap = (uint32_t)ncap;
  }
  v->blk = b;
  block_views(ctx, b);
  return CXM_OK;
}

void cxm__siderows_free(cxm_ctx *ctx, int modix, cxm_rows *v) {
  cxm_rowblk *b = v->blk;
  *v = (cxm_rows){0};
  ctx->side[modix] = (cxm_side){0};
  if (b) {
    int left = 0;
    for (int k = 0; k < CXM_NMOD; k++) {
      const cxm_rows *o = view_of(ctx, k);
      left |= o && o != v && o->blk == b;
    }
    if (!left) {
      cxm__free(ctx, b->data, (size_t)b->cap * b->stride);
      cxm__free(ctx, b, sizeof *b);
    }
  }
  side_table(ctx);
}

/* Unconditional: a module may hold state from before its bit was cleared
   (the option is fixed after the first event, but be safe). */
void cxm__ext_free(cxm_ctx *ctx) {
  cxm__retention_free(ctx);
  cxm__funnel_free(ctx);
  cxm__attribution_free(ctx);
  cxm__clv_free(ctx);
  cxm__monitor_free(ctx);
  for (int k = 0; k < CXM_NMOD; k++) ctx->side[k] = (cxm_side){0};
  side_table(ctx);
}
