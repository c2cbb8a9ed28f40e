/*
 * erase.c - erasing a customer (right to be forgotten).
 *
 * The record and its index slot go; the last record moves into the hole so
 * that records stay dense, and the modules follow through ext.h's erase and
 * move. Event-level counters keep the customer's anonymous contribution
 * (they never knew who it was); its customer-level contribution is taken
 * out of the cells of the segments it holds and of its acquisition
 * channels, so that customer-level KPIs describe the customers that remain.
 * Nothing here allocates, so erasure cannot fail half-way.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "ext.h"
#include "internal.h"


static const uint8_t group_lo[NCG] = {CC_BUYERS, CC_LEADS, CC_INTERACTORS};
static const uint8_t group_hi[NCG] = {CC_NET + 1, CC_CONVERTED + 1, NCC};

static void withdraw(cxm_ctx *ctx, const cxm_cust *r) {
  int64_t v[NCC];
  cxm__cust_contrib(r, v);
  const uint8_t ch[NCG] = {r->ch_purchase, r->ch_lead, r->ch_interact};
  for (int g = 0; g < NCG; g++) {
    int any = 0;
    for (int k = group_lo[g]; k < group_hi[g]; k++) any |= v[k] != 0;
    if (!any) continue;
    int64_t *cell = cxm__stage_cc(ctx, r->segset, g, ch[g]);
    for (int k = group_lo[g]; k < group_hi[g]; k++) cell[k] -= v[k];
  }
}

int cxm_customer_erase(cxm_ctx *ctx, const void *id, size_t len) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  uint64_t h;
  int rc = cxm_customer_hash(ctx, id, len, &h);
  if (rc) return rc;
  cxm_custtab *t = &ctx->customers;
  int64_t found = cxm__custtab_find(t, h);
  if (found < 0) return cxm__seterr(ctx, CXM_E_NOTFOUND, "id: no such customer");
  uint32_t ri = (uint32_t)found, last = t->count - 1;
  cxm__ext_erase(ctx, ri);
  withdraw(ctx, &t->recs[ri]);
  cxm__custtab_remove(t, ri);
  if (ri != last) cxm__ext_move(ctx, last, ri);
  return CXM_OK;
}
