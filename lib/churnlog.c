/*
 * churnlog.c - the retention module's coverage history and the exact churn
 * rate built on it (docs/retention.md, "Churn and retention rate").
 *
 * The rate of (D0, D1) is the share, of the customers covered on D0, of
 * those also covered on D1: a two-day question about each customer, which
 * per-day counts cannot answer when customers lapse and return. So each
 * customer's coverage must be known on any day: its span state answers for
 * the recent days, and for the settled days before them it is covered from
 * its first activity on except in its gaps. Most customers have none or one
 * (kept in the core record's free 32 bits, beside the cache line the event
 * touches anyway); the rest go to a log of 8-byte entries here, grown in
 * fixed chunks (no doubling slack). A query visits every customer once and
 * keeps the counts of every scope, so a report over many scopes costs one
 * pass.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "retention.h"

/* ---- the log ---------------------------------------------------------------- */

int cxm__ret_log_reserve(cxm_ctx *ctx, cxm_ret *m, uint64_t n) {
  while (cxm__ret_log_room(m) < n) {
    if (m->log_nchunks == m->log_dircap) {
      uint32_t nc = m->log_dircap ? 2 * m->log_dircap : 8;
      ret_gapent **d = (ret_gapent **)cxm__realloc(
          ctx, m->log, (size_t)m->log_dircap * sizeof *d, (size_t)nc * sizeof *d);
      if (!d) return CXM_E_NOMEM;
      m->log = d;
      m->log_dircap = nc;
    }
    ret_gapent *c = (ret_gapent *)cxm__malloc(ctx, RET_LOG_CHUNK * sizeof(ret_gapent));
    if (!c) return CXM_E_NOMEM;
    m->log[m->log_nchunks++] = c;
  }
  return CXM_OK;
}

static ret_gapent *entry(const cxm_ret *m, uint64_t i) {
  return &m->log[i / RET_LOG_CHUNK][i % RET_LOG_CHUNK];
}

void cxm__ret_log_push(cxm_ret *m, uint32_t ri, int32_t g0, int32_t g1) {
  ret_gapent *e = entry(m, m->log_n++);
  e->ri = ri;
  e->g0 = (uint16_t)(g0 + 2);
  e->g1 = (uint16_t)(g1 + 2);
}

void cxm__ret_log_free(cxm_ctx *ctx, cxm_ret *m) {
  for (uint32_t c = 0; c < m->log_nchunks; c++)
    cxm__free(ctx, m->log[c], RET_LOG_CHUNK * sizeof(ret_gapent));
  if (m->log) cxm__free(ctx, m->log, (size_t)m->log_dircap * sizeof(ret_gapent *));
  m->log = NULL;
  m->log_nchunks = m->log_dircap = 0;
  m->log_n = m->log_sorted = 0;
}

/* Erasure: the customer's entries go (the order of the others stays). */
void cxm__ret_log_erase(cxm_ret *m, uint32_t ri) {
  uint64_t k = 0;
  for (uint64_t i = 0; i < m->log_n; i++) {
    ret_gapent *e = entry(m, i);
    if (e->ri == ri) continue;
    if (k != i) *entry(m, k) = *e;
    k++;
  }
  m->log_sorted = m->log_sorted == m->log_n ? k : 0; /* the order stays */
  m->log_n = k;
}

void cxm__ret_log_move(cxm_ret *m, uint32_t from, uint32_t to) {
  for (uint64_t i = 0; i < m->log_n; i++) {
    ret_gapent *e = entry(m, i);
    if (e->ri == from) e->ri = to;
  }
  m->log_sorted = 0;
}

void cxm__ret_log_save(const cxm_ret *m, cxm_wbuf *w) {
  cxm__w_u32(w, (uint32_t)m->hist_from);
  cxm__w_u64(w, m->log_n);
  for (uint64_t i = 0; i < m->log_n; i++) {
    const ret_gapent *e = entry(m, i);
    cxm__w_u32(w, e->ri);
    cxm__w_u32(w, (uint32_t)e->g0 | (uint32_t)e->g1 << 16);
  }
}

int cxm__ret_log_load(cxm_ctx *ctx, cxm_ret *m, cxm_rbuf *r) {
  m->hist_from = (int32_t)cxm__r_u32(r);
  uint64_t n = cxm__r_u64(r);
  if (r->err || n > (r->len - r->pos) / 8) return CXM_E_CORRUPT;
  if (cxm__ret_log_reserve(ctx, m, n)) return CXM_E_NOMEM;
  for (uint64_t i = 0; i < n; i++) {
    uint32_t ri = cxm__r_u32(r), g = cxm__r_u32(r);
    uint16_t g0 = (uint16_t)g, g1 = (uint16_t)(g >> 16);
    if (ri >= ctx->customers.count || g0 < 1 || g1 <= g0 || g1 == RET_GAP_OPEN)
      return CXM_E_CORRUPT;
    cxm__ret_log_push(m, ri, g0 - 2, g1 - 2);
  }
  return r->err ? CXM_E_CORRUPT : CXM_OK;
}

void cxm__ret_log_merge(cxm_ret *d, const cxm_ret *s, const cxm_remap *map,
                        const int32_t *skip) {
  for (uint64_t i = 0; i < s->log_n; i++) {
    const ret_gapent *e = entry(s, i);
    if (skip && skip[e->ri] != RET_NONE) continue;
    ret_gapent *t = entry(d, d->log_n++);
    *t = *e;
    t->ri = map->rec[e->ri];
  }
}

/* ---- the exact rate ------------------------------------------------------- */

void cxm__ret_rc_free(cxm_ctx *ctx, cxm_ret *m) {
  if (m->rc_cnt)
    cxm__free(ctx, m->rc_cnt, (size_t)m->rc_rows * m->rc_cols * 2 * sizeof(int64_t));
  m->rc_cnt = NULL;
  m->rc_rows = m->rc_cols = 0;
}

/* Heapsort of the log by record (in place: a query allocates nothing it
   cannot do without), so that one pass meets each customer's entries
   beside its record. */
static int before(const ret_gapent *a, const ret_gapent *b) { return a->ri < b->ri; }
static void sift(cxm_ret *m, uint64_t i, uint64_t n) {
  for (;;) {
    uint64_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && before(entry(m, c), entry(m, c + 1))) c++;
    if (!before(entry(m, i), entry(m, c))) return;
    ret_gapent t = *entry(m, i);
    *entry(m, i) = *entry(m, c);
    *entry(m, c) = t;
    i = c;
  }
}
static void log_sort(cxm_ret *m) {
  uint64_t n = m->log_n;
  if (m->log_sorted == n) return;
  for (uint64_t i = n / 2; i-- > 0;) sift(m, i, n);
  for (uint64_t k = n; k-- > 1;) {
    ret_gapent t = *entry(m, 0);
    *entry(m, 0) = *entry(m, k);
    *entry(m, k) = t;
    sift(m, 0, k);
  }
  m->log_sorted = n;
}

/* One pass over the customers: each one covered on d0 counts in its
   scopes' [0], and in [1] when covered on d1 too. With cnt NULL only the
   scope (row, col) is counted, into one[]. */
static void count_pass(cxm_ctx *ctx, cxm_ret *m, int64_t d0, int64_t d1, int64_t *cnt,
                       uint32_t cols, uint32_t qrow, uint32_t qcol, int64_t one[2]) {
  const cxm_cust *recs = ctx->customers.recs;
  uint32_t n = ctx->customers.count;
  if (n > m->side.cap) n = m->side.cap;
  uint64_t li = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t mk = 0; /* in a logged gap: bit 0 on d0, bit 1 on d1 */
    for (; li < m->log_n && entry(m, li)->ri <= i; li++) {
      const ret_gapent *e = entry(m, li);
      if (e->ri != i) continue;
      int64_t g0 = (int64_t)e->g0 - 2, g1 = (int64_t)e->g1 - 2;
      mk |= (uint8_t)((d0 >= g0 && d0 < g1) | (d1 >= g0 && d1 < g1) << 1);
    }
    uint64_t x = ret_side_get(m, i);
    const cxm_cust *r = &recs[i];
    if (!(x & 0xFFFF) || !(r->flags & CF_EVENT)) continue; /* never active */
    int64_t v = (int64_t)r->last_time + ctx->utc_offset;
    int32_t top = (int32_t)cxm__floor_div(v, 86400);
    if ((mk & 1) || !cxm__ret_covers(m, x, top, r->spare, d0)) continue;
    int64_t kept = !(mk & 2) && cxm__ret_covers(m, x, top, r->spare, d1);
    uint8_t ch = (uint8_t)(x >> 32);
    const cxm_segset *ss = &ctx->segsets.sets[r->segset];
    for (uint32_t k = 0; k <= ss->n; k++) {
      uint32_t row = k == 0 ? 0 : 1u + (uint32_t)ss->seg[k - 1];
      if (!cnt) {
        if (row != qrow || (qcol != 0 && (ch == CXM_CH_NONE || 1u + ch != qcol))) continue;
        one[0]++;
        one[1] += kept;
        continue;
      }
      int64_t *c = cnt + (size_t)row * cols * 2;
      c[0]++;
      c[1] += kept;
      if (ch != CXM_CH_NONE) {
        c[2 * (1 + (size_t)ch)]++;
        c[2 * (1 + (size_t)ch) + 1] += kept;
      }
    }
  }
}

int cxm__ret_rc_reserve(cxm_ctx *ctx, cxm_ret *m) {
  uint32_t rows = 1 + ctx->segments.count, cols = 1 + ctx->channels.count;
  if (m->rc_cnt && m->rc_rows == rows && m->rc_cols == cols) return CXM_OK;
  int64_t *c = (int64_t *)cxm__malloc(ctx, (size_t)rows * cols * 2 * sizeof(int64_t));
  if (!c) return CXM_E_NOMEM;
  cxm__ret_rc_free(ctx, m);
  m->rc_cnt = c;
  m->rc_rows = rows;
  m->rc_cols = cols;
  m->rc_gen = m->gen - 1; /* nothing counted yet */
  return CXM_OK;
}

void cxm__ret_exact_counts(cxm_ctx *ctx, cxm_ret *m, int64_t d0, int64_t d1, uint32_t row,
                           uint32_t col, int64_t out[2]) {
  uint32_t rows = 1 + ctx->segments.count, cols = 1 + ctx->channels.count;
  log_sort(m);
  if (!m->rc_cnt || m->rc_rows != rows || m->rc_cols != cols) {
    /* Labels added since the last event: this scope alone (no query
       allocates; the next event's prepare sizes the counts again). */
    out[0] = out[1] = 0;
    count_pass(ctx, m, d0, d1, NULL, cols, row, col, out);
    return;
  }
  if (m->rc_gen != m->gen || m->rc_acc != ctx->n_accepted || m->rc_d0 != d0 ||
      m->rc_d1 != d1) {
    memset(m->rc_cnt, 0, (size_t)rows * cols * 2 * sizeof(int64_t));
    count_pass(ctx, m, d0, d1, m->rc_cnt, cols, 0, 0, NULL);
    m->rc_d0 = d0;
    m->rc_d1 = d1;
    m->rc_gen = m->gen;
    m->rc_acc = ctx->n_accepted;
  }
  const int64_t *c = m->rc_cnt + ((size_t)row * cols + col) * 2;
  out[0] = c[0];
  out[1] = c[1];
}
