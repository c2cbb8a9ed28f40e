/*
 * lists.c - customers listed by their latest NPS category, per segment held
 * now. A scan of the dense record array, resumable by a cursor (the next
 * record index + 1, so that 0 can mean "done"): no state is kept between
 * calls, and the scan is as fast as reading the records.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "internal.h"

static int holds(const cxm_ctx *ctx, uint32_t set, int32_t segment) {
  const cxm_segset *ss = &ctx->segsets.sets[set];
  for (uint32_t i = 0; i < ss->n; i++)
    if (ss->seg[i] == segment) return 1;
  return 0;
}

int cxm_customers_by_nps(cxm_ctx *ctx, int32_t segment, int32_t category,
                         uint64_t cursor, uint64_t *hashes, size_t cap,
                         size_t *count, uint64_t *next_cursor) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!count || !next_cursor)
    return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", count ? "next_cursor" : "count");
  if (!hashes) return cxm__seterr(ctx, CXM_E_NULL, "hashes: NULL");
  if (cap == 0) return cxm__seterr(ctx, CXM_E_ARG, "cap: must be > 0");
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  if (category < CXM_NPS_DETRACTOR || category > CXM_NPS_PROMOTER)
    return cxm__seterr(ctx, CXM_E_ARG, "category: unknown NPS category %d", (int)category);
  const cxm_custtab *t = &ctx->customers;
  /* Cursor c > 0 resumes at record c - 1; past the end (records were
     erased since) the scan is complete. */
  uint64_t i = cursor ? cursor - 1 : 0;
  unsigned want = (unsigned)category << CF_NPS_SHIFT;
  size_t k = 0;
  for (; i < t->count; i++) {
    const cxm_cust *r = &t->recs[i];
    if ((r->flags & CF_NPS_MASK) != want) continue;
    if (segment != CXM_ALL && !holds(ctx, r->segset, segment)) continue;
    if (k == cap) break;
    hashes[k++] = r->hash;
  }
  *count = k;
  *next_cursor = i < t->count ? i + 1 : 0;
  return CXM_OK;
}
