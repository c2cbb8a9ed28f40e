/*
 * cohorts.c - the cohort retention matrix (cohort = calendar month of the
 * first purchase, in the handle's UTC offset) and new / returning buyers per
 * day, kept by the retention module. retention.c tells each purchase with
 * what the customer's recent state says about it (already a buyer that day,
 * that month), so nothing is rescanned and nothing counts twice.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "retention.h"

/* ---- the matrix ---------------------------------------------------------- */

static size_t msq(uint32_t nm) { return (size_t)nm * nm; }

/* Makes months [lo, hi] addressable; on failure nothing changes. */
static int months_ensure(cxm_ctx *ctx, cxm_ret *m, int32_t lo, int32_t hi) {
  int32_t nlo = lo, nhi = hi;
  if (m->nm) {
    if (lo >= m->m0 && hi < m->m0 + (int32_t)m->nm) return CXM_OK;
    if (m->m0 < nlo) nlo = m->m0;
    if (m->m0 + (int32_t)m->nm - 1 > nhi) nhi = m->m0 + (int32_t)m->nm - 1;
  }
  uint32_t nm = (uint32_t)(nhi - nlo + 1);
  int64_t *sz = (int64_t *)cxm__calloc(ctx, nm * sizeof(int64_t));
  int64_t *on = sz ? (int64_t *)cxm__calloc(ctx, msq(nm) * sizeof(int64_t)) : NULL;
  int64_t *la = on ? (int64_t *)cxm__calloc(ctx, msq(nm) * sizeof(int64_t)) : NULL;
  if (!la) {
    if (on) cxm__free(ctx, on, msq(nm) * sizeof(int64_t));
    if (sz) cxm__free(ctx, sz, nm * sizeof(int64_t));
    return CXM_E_NOMEM;
  }
  if (m->nm) {
    uint32_t off = (uint32_t)(m->m0 - nlo);
    for (uint32_t c = 0; c < m->nm; c++) {
      sz[off + c] = m->csize[c];
      memcpy(on + (size_t)(off + c) * nm, m->con + (size_t)c * m->nm, m->nm * sizeof(int64_t));
      memcpy(la + (size_t)(off + c) * nm, m->clast + (size_t)c * m->nm, m->nm * sizeof(int64_t));
    }
    cxm__cohort_free(ctx, m);
  }
  m->csize = sz;
  m->con = on;
  m->clast = la;
  m->m0 = nlo;
  m->nm = nm;
  return CXM_OK;
}

void cxm__cohort_free(cxm_ctx *ctx, cxm_ret *m) {
  if (!m->nm) return;
  cxm__free(ctx, m->csize, m->nm * sizeof(int64_t));
  cxm__free(ctx, m->con, msq(m->nm) * sizeof(int64_t));
  cxm__free(ctx, m->clast, msq(m->nm) * sizeof(int64_t));
  m->csize = m->con = m->clast = NULL;
  m->nm = 0;
}

int cxm__cohort_reserve(cxm_ctx *ctx, cxm_ret *m, int32_t day, int32_t first,
                        int32_t last) {
  int32_t lo = day, hi = day;
  if (first != RET_NONE && first < lo) lo = first;
  if (first != RET_NONE && first > hi) hi = first;
  if (cxm__ret_days_ensure(ctx, &m->buyers, 2, lo, hi)) return CXM_E_NOMEM;
  int32_t md = cxm__ret_month(m, day);
  int32_t mlo = md, mhi = md;
  if (first != RET_NONE) {
    int32_t mf = cxm__ret_month(m, first), ml = cxm__ret_month(m, last);
    if (mf < mlo) mlo = mf;
    if (ml > mhi) mhi = ml;
  }
  return months_ensure(ctx, m, mlo, mhi);
}

static int64_t *cell(int64_t *a, const cxm_ret *m, int32_t c, int32_t month) {
  return a + (size_t)(c - m->m0) * m->nm + (size_t)(month - c);
}

static void buyers_add(cxm_ret *m, int32_t day, int k, int64_t v) {
  m->buyers.v[(size_t)(day - m->buyers.day0) * 2 + (size_t)k] += v;
}

/* A customer's first purchase: a new buyer of the day, one more member of
   the month's cohort, who bought in its month 0. */
static void first_purchase(cxm_ret *m, int32_t day, int32_t md) {
  buyers_add(m, day, 0, 1);
  m->csize[md - m->m0]++;
  (*cell(m->con, m, md, md))++;
  (*cell(m->clast, m, md, md))++;
}

void cxm__cohort_purchase(cxm_ret *m, int32_t day, int32_t first, int32_t last,
                          int seen_day, int seen_month, const int32_t *months,
                          int n) {
  int32_t md = cxm__ret_month(m, day);
  if (first == RET_NONE) {
    first_purchase(m, day, md);
    return;
  }
  if (!seen_day) {
    if (day > first) {
      buyers_add(m, day, 1, 1);
    } else { /* an earlier first purchase: the old first day turns returning */
      buyers_add(m, first, 0, -1);
      buyers_add(m, first, 1, 1);
      buyers_add(m, day, 0, 1);
    }
  }
  int32_t cm = cxm__ret_month(m, first), ml = cxm__ret_month(m, last);
  if (md < cm) { /* the customer moves to an earlier cohort */
    m->csize[cm - m->m0]--;
    for (int i = 0; i < n; i++) (*cell(m->con, m, cm, months[i]))--;
    (*cell(m->clast, m, cm, ml))--;
    m->csize[md - m->m0]++;
    for (int i = 0; i < n; i++) (*cell(m->con, m, md, months[i]))++;
    (*cell(m->con, m, md, md))++;
    (*cell(m->clast, m, md, ml))++;
    return;
  }
  if (!seen_month) (*cell(m->con, m, cm, md))++;
  if (md > ml) {
    (*cell(m->clast, m, cm, ml))--;
    (*cell(m->clast, m, cm, md))++;
  }
}

void cxm__cohort_purchase_inorder(cxm_ret *m, int32_t day, int32_t first, int seen_day,
                                  int32_t md, int32_t mf, int32_t ml) {
  if (first == RET_NONE) {
    first_purchase(m, day, md);
    return;
  }
  /* day >= last >= first: not seen that day means a later day than first;
     the cohort stays (md >= mf) */
  if (!seen_day) buyers_add(m, day, 1, 1);
  if (md != ml) (*cell(m->con, m, mf, md))++;
  if (md > ml) {
    (*cell(m->clast, m, mf, ml))--;
    (*cell(m->clast, m, mf, md))++;
  }
}

/* ---- snapshots and merges ----------------------------------------------------- */

void cxm__cohort_save(const cxm_ret *m, cxm_wbuf *w) {
  cxm__w_u32(w, (uint32_t)m->buyers.day0);
  cxm__w_u32(w, m->buyers.n);
  for (size_t k = 0; k < (size_t)m->buyers.n * 2; k++) cxm__w_i64(w, m->buyers.v[k]);
  cxm__w_u32(w, (uint32_t)m->m0);
  cxm__w_u32(w, m->nm);
  for (uint32_t c = 0; c < m->nm; c++) cxm__w_i64(w, m->csize[c]);
  for (size_t k = 0; k < msq(m->nm); k++) cxm__w_i64(w, m->con[k]);
  for (size_t k = 0; k < msq(m->nm); k++) cxm__w_i64(w, m->clast[k]);
}

int cxm__cohort_load(cxm_ctx *ctx, cxm_ret *m, cxm_rbuf *r) {
  int32_t day0 = (int32_t)cxm__r_u32(r);
  uint32_t n = cxm__r_u32(r);
  if (r->err || (uint64_t)n * 16 > r->len - r->pos) return CXM_E_CORRUPT;
  if (n) {
    if (cxm__ret_days_ensure(ctx, &m->buyers, 2, day0, (int32_t)(day0 + (int64_t)n - 1)))
      return CXM_E_NOMEM;
    int64_t *to = m->buyers.v + (size_t)(day0 - m->buyers.day0) * 2;
    for (size_t k = 0; k < (size_t)n * 2; k++) to[k] = cxm__r_i64(r);
  }
  int32_t m0 = (int32_t)cxm__r_u32(r);
  uint32_t nm = cxm__r_u32(r);
  if (r->err || nm > 4096 || (uint64_t)(nm + 2 * msq(nm)) * 8 > r->len - r->pos)
    return CXM_E_CORRUPT;
  if (nm) {
    if (months_ensure(ctx, m, m0, m0 + (int32_t)nm - 1)) return CXM_E_NOMEM;
    for (uint32_t c = 0; c < nm; c++) m->csize[c] = cxm__r_i64(r);
    for (size_t k = 0; k < msq(nm); k++) m->con[k] = cxm__r_i64(r);
    for (size_t k = 0; k < msq(nm); k++) m->clast[k] = cxm__r_i64(r);
  }
  return r->err ? CXM_E_CORRUPT : CXM_OK;
}

int cxm__cohort_merge_reserve(cxm_ctx *ctx, cxm_ret *d, const cxm_ret *s) {
  if (s->buyers.n &&
      cxm__ret_days_ensure(ctx, &d->buyers, 2, s->buyers.day0,
                           (int32_t)(s->buyers.day0 + (int64_t)s->buyers.n - 1)))
    return CXM_E_NOMEM;
  if (s->nm && months_ensure(ctx, d, s->m0, s->m0 + (int32_t)s->nm - 1)) return CXM_E_NOMEM;
  return CXM_OK;
}

void cxm__cohort_merge_apply(cxm_ret *d, const cxm_ret *s) {
  for (size_t k = 0; k < (size_t)s->buyers.n * 2; k++)
    d->buyers.v[(size_t)(s->buyers.day0 - d->buyers.day0) * 2 + k] += s->buyers.v[k];
  for (uint32_t c = 0; c < s->nm; c++) {
    int32_t month = s->m0 + (int32_t)c;
    d->csize[month - d->m0] += s->csize[c];
    for (uint32_t k = 0; k < s->nm - c; k++) {
      *cell(d->con, d, month, month + (int32_t)k) += s->con[(size_t)c * s->nm + k];
      *cell(d->clast, d, month, month + (int32_t)k) += s->clast[(size_t)c * s->nm + k];
    }
  }
}

/* ---- queries ----------------------------------------------------------------------- */

static int begin(cxm_ctx *ctx, const cxm_ret **m) {
  if (!(ctx->opt[CXM_OPT_MODULES] & CXM_MOD_RETENTION))
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "the retention module is off (CXM_OPT_MODULES)");
  *m = (const cxm_ret *)ctx->mod[CXM_MODIX_RETENTION];
  return CXM_OK;
}

int cxm_cohort_span(cxm_ctx *ctx, int32_t *first_month, int32_t *months) {
  if (!ctx) return CXM_E_NULL;
  if (!first_month || !months)
    return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", first_month ? "months" : "first_month");
  const cxm_ret *m = NULL;
  int rc = begin(ctx, &m);
  if (rc) return rc;
  *first_month = m && m->nm ? m->m0 : 0;
  *months = m ? (int32_t)m->nm : 0;
  return CXM_OK;
}

int cxm_cohort_row(cxm_ctx *ctx, int32_t month, int64_t *size, int64_t *on,
                   int64_t *on_or_after, size_t cap, size_t *n) {
  if (!ctx) return CXM_E_NULL;
  if (!size || !n || (cap && (!on || !on_or_after)))
    return cxm__seterr(ctx, CXM_E_NULL, "size, n, on, on_or_after: NULL");
  const cxm_ret *m = NULL;
  int rc = begin(ctx, &m);
  if (rc) return rc;
  if (!m || !m->nm || month < m->m0 || month >= m->m0 + (int32_t)m->nm)
    return cxm__seterr(ctx, CXM_E_RANGE, "month: %d is outside the cohort span",
                       (int)month);
  uint32_t c = (uint32_t)(month - m->m0);
  uint32_t k = m->nm - c;
  *size = m->csize[c];
  *n = k;
  const int64_t *ron = m->con + (size_t)c * m->nm, *rla = m->clast + (size_t)c * m->nm;
  int64_t tail = 0;
  for (uint32_t j = k; j-- > 0;) {
    tail += rla[j];
    if (j < cap) {
      on[j] = ron[j];
      on_or_after[j] = tail;
    }
  }
  return CXM_OK;
}

int cxm_buyers_daily(cxm_ctx *ctx, int64_t from, int64_t to, int64_t *new_buyers,
                     int64_t *returning, size_t cap, size_t *ndays) {
  if (!ctx) return CXM_E_NULL;
  if (!ndays || (cap && (!new_buyers || !returning)))
    return cxm__seterr(ctx, CXM_E_NULL, "ndays, new_buyers, returning: NULL");
  const cxm_ret *m = NULL;
  int rc = begin(ctx, &m);
  if (rc) return rc;
  if (from < CXM_TIME_FIRST - 86400 || to > CXM_TIME_LAST + 86400 || to < from)
    return cxm__seterr(ctx, CXM_E_RANGE,
                       "from, to: a bounded window within 1970..2105 with from <= to");
  int64_t d0 = cxm__day_of(ctx, from), d1 = cxm__day_of(ctx, to);
  *ndays = (size_t)(d1 - d0);
  for (int64_t d = d0; d < d1 && (size_t)(d - d0) < cap; d++) {
    size_t i = (size_t)(d - d0);
    new_buyers[i] = returning[i] = 0;
    if (m && m->buyers.n && d >= m->buyers.day0 &&
        d < (int64_t)m->buyers.day0 + m->buyers.n) {
      const int64_t *row = m->buyers.v + (size_t)(d - m->buyers.day0) * 2;
      new_buyers[i] = row[0];
      returning[i] = row[1];
    }
  }
  return CXM_OK;
}
