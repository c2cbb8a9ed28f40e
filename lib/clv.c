/*
 * clv.c - the clv module (ext.h protocol): per customer, the number of
 * distinct purchase periods and the amounts of the first and of the later
 * periods, updated in O(1) per purchase, also for purchases that arrive out
 * of order within the lateness bound. The models (clvfit.c) read them.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "clv.h"

static cxm_clvstate *state(const cxm_ctx *ctx) {
  return (cxm_clvstate *)ctx->mod[CXM_MODIX_CLV];
}

static uint64_t get48(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 6; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void put48(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 6; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void cxm__clvrec_get(const uint8_t *p, cxm_clvrec *r) {
  r->periods = (uint32_t)p[0] | (uint32_t)p[1] << 8;
  r->bits = p[2];
  r->first = get48(p + 3);
  r->repeat = get48(p + 9);
}

void cxm__clvrec_put(uint8_t *p, const cxm_clvrec *r) {
  uint32_t n = r->periods > 0xFFFFu ? 0xFFFFu : r->periods;
  p[0] = (uint8_t)n;
  p[1] = (uint8_t)(n >> 8);
  p[2] = (uint8_t)r->bits;
  put48(p + 3, r->first > CXM_CLV_AMOUNT_MAX ? CXM_CLV_AMOUNT_MAX : r->first);
  put48(p + 9, r->repeat > CXM_CLV_AMOUNT_MAX ? CXM_CLV_AMOUNT_MAX : r->repeat);
}

void cxm__clv_read(const cxm_ctx *ctx, uint32_t ri, cxm_clvrec *r) {
  const cxm_clvstate *st = state(ctx);
  if (!st || ri >= st->cap) {
    memset(r, 0, sizeof *r);
    return;
  }
  cxm__clvrec_get(st->recs + (size_t)ri * CXM_CLV_REC, r);
}

/* Saturating: a sum past 2^48 - 1 minor units stays there (documented). */
static uint64_t add_sat(uint64_t a, uint64_t b) {
  uint64_t s = a + b;
  return s > CXM_CLV_AMOUNT_MAX || s < a ? CXM_CLV_AMOUNT_MAX : s;
}

/* Side array of at least `need` records; new records are zero. */
static int grow(cxm_ctx *ctx, cxm_clvstate *st, uint32_t need) {
  if (need <= st->cap) return CXM_OK;
  uint8_t *n = (uint8_t *)cxm__calloc(ctx, (size_t)need * CXM_CLV_REC);
  if (!n) return CXM_E_NOMEM;
  if (st->recs) {
    memcpy(n, st->recs, (size_t)st->cap * CXM_CLV_REC);
    cxm__free(ctx, st->recs, (size_t)st->cap * CXM_CLV_REC);
  }
  st->recs = n;
  cxm__ext_side(ctx, CXM_MODIX_CLV, n, CXM_CLV_REC); /* prefetched by the batch */
  st->cap = need;
  return CXM_OK;
}

static int ensure_state(cxm_ctx *ctx) {
  if (ctx->mod[CXM_MODIX_CLV]) return CXM_OK;
  cxm_clvstate *st = (cxm_clvstate *)cxm__calloc(ctx, sizeof *st);
  if (!st) return CXM_E_NOMEM;
  st->pend_ri = -1;
  ctx->mod[CXM_MODIX_CLV] = st;
  return CXM_OK;
}

/* The capacity the core's table will have for `count` records: the side
   array follows it, so it grows as rarely as the table does. */
static uint32_t core_cap(const cxm_ctx *ctx, uint64_t count) {
  uint64_t c = ctx->customers.cap ? ctx->customers.cap : 1024;
  while (c < count) c *= 2;
  return c > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)c;
}

int cxm__clv_prepare(cxm_ctx *ctx, cxm_evview *ev, int64_t found,
                     uint32_t set) {
  (void)set;
  /* Only purchases change the statistics; customers without one need no
     record (reads past the array give zeros). */
  if (!ev || ev->type != CXM_EV_PURCHASE) return CXM_OK;
  int rc = ensure_state(ctx);
  if (rc) return rc;
  cxm_clvstate *st = state(ctx);
  uint64_t ri = found >= 0 ? (uint64_t)found : ctx->customers.count;
  rc = grow(ctx, st, core_cap(ctx, ri + 1));
  if (rc) return rc;
  st->pend_ri = found;
  st->pend_had = 0;
  if (found >= 0) {
    const cxm_cust *r = &ctx->customers.recs[found];
    st->pend_had = (r->flags & CF_PURCHASE) != 0;
    st->pend_fp = r->first_purchase;
    st->pend_lp = r->last_purchase;
  }
  return CXM_OK;
}

void cxm__clv_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                        uint32_t new_set) {
  (void)ctx; (void)ri; (void)old_set; (void)new_set;
}

static int64_t period_of_day(const cxm_ctx *ctx, int64_t day) {
  return cxm__floor_div(day, ctx->opt[CXM_OPT_CLV_PERIOD_DAYS]);
}

static int64_t period_of_time(const cxm_ctx *ctx, uint32_t t) {
  return period_of_day(ctx, cxm__day_of(ctx, t));
}

void cxm__clv_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  if (ev->type != CXM_EV_PURCHASE) return;
  cxm_clvstate *st = state(ctx);
  uint8_t *p = st->recs + (size_t)ri * CXM_CLV_REC;
  uint64_t amt = ev->minor > 0 ? (uint64_t)ev->minor : 0;
  int had = st->pend_ri == (int64_t)ri && st->pend_had;
  st->pend_ri = -1;
  cxm_clvrec r;
  cxm__clvrec_get(p, &r);
  if (!had || r.periods == 0) {
    r.periods = 1;
    r.bits = 1;
    r.first = amt;
    r.repeat = 0;
    cxm__clvrec_put(p, &r);
    return;
  }
  int64_t pe = period_of_day(ctx, ev->day);
  int64_t fp = period_of_time(ctx, st->pend_fp);
  int64_t lp = period_of_time(ctx, st->pend_lp);
  if (pe > lp) {
    int64_t shift = pe - lp;
    r.bits = shift >= CXM_CLV_BITS ? 1u : ((r.bits << shift) | 1u) & 0xFFu;
    r.periods++;
    r.repeat = add_sat(r.repeat, amt);
  } else if (pe == fp) {
    r.first = add_sat(r.first, amt);
  } else if (pe < fp) {
    /* A late purchase before the first: the old first period is now a
       repeat one. */
    r.repeat = add_sat(r.repeat, r.first);
    r.first = amt;
    r.periods++;
    if (lp - pe < CXM_CLV_BITS) r.bits |= 1u << (lp - pe);
  } else if (lp - pe < CXM_CLV_BITS) {
    uint32_t bit = 1u << (lp - pe);
    if (!(r.bits & bit)) {
      r.bits |= bit;
      r.periods++;
    }
    r.repeat = add_sat(r.repeat, amt);
  } else {
    /* Between the first period and the remembered window (only when the
       lateness bound exceeds CXM_CLV_BITS - 1 periods): counted as a new
       period (docs/clv.md). */
    r.periods++;
    r.repeat = add_sat(r.repeat, amt);
  }
  cxm__clvrec_put(p, &r);
}

/* Snapshot section: version, record count, then the records as stored. */
int cxm__clv_save(const cxm_ctx *ctx, cxm_wbuf *w) {
  const cxm_clvstate *st = state(ctx);
  uint32_t n = ctx->customers.count;
  cxm__w_u32(w, 1);
  cxm__w_u32(w, n);
  static const uint8_t zero[CXM_CLV_REC];
  for (uint32_t i = 0; i < n; i++) {
    if (st && i < st->cap)
      cxm__w_bytes(w, st->recs + (size_t)i * CXM_CLV_REC, CXM_CLV_REC);
    else
      cxm__w_bytes(w, zero, CXM_CLV_REC);
  }
  return w->err ? w->err : CXM_OK;
}

int cxm__clv_load(cxm_ctx *ctx, cxm_rbuf *r) {
  uint32_t version = cxm__r_u32(r);
  uint32_t n = cxm__r_u32(r);
  if (r->err || version != 1 || n != ctx->customers.count) return CXM_E_CORRUPT;
  if (n > (r->len - r->pos) / CXM_CLV_REC) return CXM_E_CORRUPT;
  int rc = ensure_state(ctx);
  if (rc) return rc;
  cxm_clvstate *st = state(ctx);
  rc = grow(ctx, st, core_cap(ctx, n ? n : 1));
  if (rc) return rc;
  cxm__r_bytes(r, st->recs, (size_t)n * CXM_CLV_REC);
  return r->err ? CXM_E_CORRUPT : CXM_OK;
}

static void merge_stash_free(cxm_ctx *ctx, cxm_clvstate *st) {
  if (st->merge_old) cxm__free(ctx, st->merge_old, (size_t)st->merge_n * 2 * sizeof(uint32_t));
  st->merge_old = NULL;
  st->merge_n = 0;
}

/* Called before the core merges the records: notes the destination's
   purchase times of the customers that the source also has. */
int cxm__clv_merge_reserve(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  if (!state(src)) return CXM_OK;
  int rc = ensure_state(dst);
  if (rc) return rc;
  cxm_clvstate *ds = state(dst);
  merge_stash_free(dst, ds);
  rc = grow(dst, ds, core_cap(dst, dst->customers.count ? dst->customers.count : 1));
  if (rc) return rc;
  uint32_t n = map->n_rec;
  if (!n) return CXM_OK;
  uint32_t *old = (uint32_t *)cxm__calloc(dst, (size_t)n * 2 * sizeof *old);
  if (!old) return CXM_E_NOMEM;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t d = map->rec[i];
    if (d >= dst->customers.count) continue;
    const cxm_cust *r = &dst->customers.recs[d];
    if (!(r->flags & CF_PURCHASE)) continue;
    old[2 * i] = r->first_purchase;
    old[2 * i + 1] = r->last_purchase;
  }
  ds->merge_old = old;
  ds->merge_n = n;
  return CXM_OK;
}

static uint32_t popcount8(uint32_t v) {
  uint32_t n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

static uint32_t align_bits(uint32_t bits, int64_t from_lp, int64_t to_lp) {
  int64_t sh = to_lp - from_lp;
  return sh >= CXM_CLV_BITS ? 0 : (bits << sh) & 0xFFu;
}

/* Customer-disjoint shards merge exactly (the record is copied). A customer
   with purchases in both is combined: periods in both remembered windows,
   and a common first period, count once; other common periods twice
   (docs/clv.md). */
void cxm__clv_merge_apply(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  const cxm_clvstate *ss = state(src);
  cxm_clvstate *ds = state(dst);
  if (!ss || !ds) return;
  uint32_t n = src->customers.count < map->n_rec ? src->customers.count : map->n_rec;
  for (uint32_t i = 0; i < n && i < ss->cap; i++) {
    cxm_clvrec a, b;
    cxm__clvrec_get(ss->recs + (size_t)i * CXM_CLV_REC, &a);
    if (a.periods == 0) continue;
    uint32_t d = map->rec[i];
    if (d >= ds->cap) continue;
    uint8_t *p = ds->recs + (size_t)d * CXM_CLV_REC;
    cxm__clvrec_get(p, &b);
    if (b.periods == 0 || !ds->merge_old || i >= ds->merge_n || ds->merge_old[2 * i + 1] == 0) {
      cxm__clvrec_put(p, &a);
      continue;
    }
    const cxm_cust *sr = &src->customers.recs[i];
    int64_t sfp = period_of_time(src, sr->first_purchase);
    int64_t slp = period_of_time(src, sr->last_purchase);
    int64_t dfp = period_of_time(dst, ds->merge_old[2 * i]);
    int64_t dlp = period_of_time(dst, ds->merge_old[2 * i + 1]);
    int64_t mlp = slp > dlp ? slp : dlp;
    uint32_t sa = align_bits(a.bits, slp, mlp), sb = align_bits(b.bits, dlp, mlp);
    cxm_clvrec m;
    m.bits = sa | sb;
    m.periods = a.periods + b.periods - popcount8(sa & sb);
    if (sfp < dfp) {
      m.first = a.first;
      m.repeat = add_sat(add_sat(a.repeat, b.repeat), b.first);
    } else if (dfp < sfp) {
      m.first = b.first;
      m.repeat = add_sat(add_sat(a.repeat, b.repeat), a.first);
    } else {
      m.first = add_sat(a.first, b.first);
      m.repeat = add_sat(a.repeat, b.repeat);
      if (mlp - sfp >= CXM_CLV_BITS) m.periods--; /* not among the common bits */
    }
    cxm__clvrec_put(p, &m);
  }
  merge_stash_free(dst, ds);
}

void cxm__clv_erase(cxm_ctx *ctx, uint32_t ri) {
  cxm_clvstate *st = state(ctx);
  if (st && ri < st->cap) memset(st->recs + (size_t)ri * CXM_CLV_REC, 0, CXM_CLV_REC);
}

void cxm__clv_move(cxm_ctx *ctx, uint32_t from, uint32_t to) {
  cxm_clvstate *st = state(ctx);
  if (!st || from == to) return;
  if (to < st->cap) {
    if (from < st->cap)
      memcpy(st->recs + (size_t)to * CXM_CLV_REC, st->recs + (size_t)from * CXM_CLV_REC,
             CXM_CLV_REC);
    else
      memset(st->recs + (size_t)to * CXM_CLV_REC, 0, CXM_CLV_REC);
  }
  if (from < st->cap) memset(st->recs + (size_t)from * CXM_CLV_REC, 0, CXM_CLV_REC);
}

void cxm__clv_free(cxm_ctx *ctx) {
  cxm_clvstate *st = state(ctx);
  if (!st) return;
  if (st->recs) cxm__free(ctx, st->recs, (size_t)st->cap * CXM_CLV_REC);
  merge_stash_free(ctx, st);
  cxm__free(ctx, st, sizeof *st);
  ctx->mod[CXM_MODIX_CLV] = NULL;
}
