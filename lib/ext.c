/*
 * ext.c - calls the optional modules that the handle enabled (see ext.h;
 * the per-event dispatch, cxm__ext_prepare and cxm__ext_on_event, is inline
 * there).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "ext.h"
#include "monitor.h"

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

void cxm__ext_side(cxm_ctx *ctx, int modix, const void *base, size_t stride) {
  ctx->side[modix].base = (const uint8_t *)base;
  ctx->side[modix].stride = base ? stride : 0;
  ctx->side[modix].mod = 1u << modix; /* CXM_MOD_* (ingest.c: prefetch_rec) */
  int n = 0;
  for (int k = 0; k < CXM_NMOD; k++)
    if (ctx->side[k].base && ctx->side[k].stride) ctx->side_on[n++] = ctx->side[k];
  ctx->n_side_on = n;
}

/* Unconditional: a module may hold state from before its bit was cleared
   (the option is fixed after the first event, but be safe). */
void cxm__ext_free(cxm_ctx *ctx) {
  cxm__retention_free(ctx);
  cxm__funnel_free(ctx);
  cxm__attribution_free(ctx);
  cxm__clv_free(ctx);
  cxm__monitor_free(ctx);
  for (int k = 0; k < CXM_NMOD; k++) cxm__ext_side(ctx, k, NULL, 0);
}
