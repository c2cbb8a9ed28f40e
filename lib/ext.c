/*
 * ext.c - calls the optional modules that the handle enabled (see ext.h).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "ext.h"
#include "monitor.h"

#define ON(ctx, bit) (((ctx)->opt[CXM_OPT_MODULES] & (bit)) != 0)

/* The modules that read each event type (index: CXM_EV_*): retention every
   customer event (activity, churn, and message_sent, which moves a span);
   funnel the types that reach a stage (funnel.c: STAGES); attribution the
   touches and purchases (attribution.c: USES); CLV purchases. For any
   other type a known customer whose segment set stays changes nothing in
   the module, so neither its prepare nor its on_event is called. */
#define R_ CXM_MOD_RETENTION
#define F_ CXM_MOD_FUNNEL
#define A_ CXM_MOD_ATTRIBUTION
#define C_ CXM_MOD_CLV
static const uint8_t mods_of_type[16] = {
  0,                    /* (none) */
  R_ | F_ | A_,         /* touch */
  R_ | F_ | A_,         /* session */
  R_ | F_ | A_,         /* engage */
  R_,                   /* message_sent */
  R_ | F_,              /* message_open */
  R_ | F_ | A_,         /* message_click */
  R_ | F_,              /* lead */
  R_ | F_ | A_ | C_,    /* purchase */
  R_,                   /* refund */
  0,                    /* spend (no customer) */
  R_,                   /* nps */
  R_,                   /* csat */
  R_,                   /* ces */
  R_,                   /* churn */
  0};
typedef char mods_of_type_fits[CXM_EV_CHURN < 16 ? 1 : -1];

int cxm__ext_prepare(cxm_ctx *ctx, cxm_evview *ev, int64_t found, uint32_t set) {
  uint32_t on = (uint32_t)ctx->opt[CXM_OPT_MODULES] & CXM_MOD_ALL, run = on;
  int rc;
  if (ev) {
    ev->pend = on & mods_of_type[(uint32_t)ev->type & 15u];
    /* A new customer or a segment move: every module reserves (side arrays,
       rows of the new set) whatever the type. */
    if (CXM_LIKELY(found >= 0 && ctx->customers.recs[found].segset == set)) run = ev->pend;
  }
  if ((run & CXM_MOD_RETENTION) && (rc = cxm__retention_prepare(ctx, ev, found, set))) return rc;
  if ((run & CXM_MOD_FUNNEL) && (rc = cxm__funnel_prepare(ctx, ev, found, set))) return rc;
  if ((run & CXM_MOD_ATTRIBUTION) && (rc = cxm__attribution_prepare(ctx, ev, found, set)))
    return rc;
  if ((run & CXM_MOD_CLV) && (rc = cxm__clv_prepare(ctx, ev, found, set))) return rc;
  return CXM_OK;
}

void cxm__ext_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                        uint32_t new_set) {
  if (ON(ctx, CXM_MOD_RETENTION)) cxm__retention_on_segset(ctx, ri, old_set, new_set);
  if (ON(ctx, CXM_MOD_FUNNEL)) cxm__funnel_on_segset(ctx, ri, old_set, new_set);
  if (ON(ctx, CXM_MOD_ATTRIBUTION)) cxm__attribution_on_segset(ctx, ri, old_set, new_set);
  if (ON(ctx, CXM_MOD_CLV)) cxm__clv_on_segset(ctx, ri, old_set, new_set);
}

void cxm__ext_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  uint32_t pend = ev->pend;
  if (pend & CXM_MOD_RETENTION) cxm__retention_on_event(ctx, ri, ev);
  if (pend & CXM_MOD_FUNNEL) cxm__funnel_on_event(ctx, ri, ev);
  if (pend & CXM_MOD_ATTRIBUTION) cxm__attribution_on_event(ctx, ri, ev);
  if (pend & CXM_MOD_CLV) cxm__clv_on_event(ctx, ri, ev);
  if (ctx->mon_on) cxm__monitor_on_event(ctx, ri, ev); /* whatever the module bits */
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
