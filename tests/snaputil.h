/*
 * snaputil.h - shared by check_snapshot and check_merge: a generated event
 * stream (deterministic, every event type, segments, channels, late and
 * invalid events), its ingestion whole or as one customer shard, and the
 * comparison of two handles through the public API only: every KPI of
 * every scope (matched by label, since handles intern labels in different
 * orders) over several windows, and the statistics. Test code only.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_SNAPUTIL_H
#define CXM_SNAPUTIL_H

#include "testutil.h"

#define G_CH 5
#define G_SEG 6
static const char *const g_ch[G_CH] = {"web", "email", "store", "ads", "partner"};
static const char *const g_seg[G_SEG] = {"vip", "new", "eu", "us", "b2b", "churn-risk"};

typedef struct g_ev {
  int64_t t;
  int32_t type;
  int cust;       /* -1 for spend */
  int ch;         /* -1 none */
  double v, v2;
  int nseg;       /* >= 0: set the customer's segments first (to segs) */
  int segs[3];
} g_ev;

typedef struct g_stream {
  size_t n;
  g_ev *ev;
  int ncust;
} g_stream;

static inline uint64_t g_rand(uint64_t *s) {
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *s >> 33;
}

/* n events of ncust customers over about 60 days from T0 - 30 days. */
static inline g_stream g_make(size_t n, int ncust, uint64_t seed) {
  g_stream g = {n, calloc(n, sizeof(g_ev)), ncust};
  ck_assert_ptr_nonnull(g.ev);
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    g_ev *e = &g.ev[i];
    int64_t base = T0 - 30 * DAY + (int64_t)(i * (60 * DAY) / n);
    int r = (int)(g_rand(&s) % 100);
    /* mostly in order; some late within the bound; some beyond it */
    e->t = base + (int64_t)(g_rand(&s) % HOUR);
    if (r < 8) e->t -= (int64_t)(g_rand(&s) % (5 * DAY));
    if (r == 8) e->t -= 12 * DAY;
    e->type = 1 + (int32_t)(g_rand(&s) % 14);
    e->cust = e->type == CXM_EV_SPEND ? -1 : (int)(g_rand(&s) % (uint64_t)ncust);
    e->ch = (int)(g_rand(&s) % (G_CH + 1)) - 1;
    e->v = e->v2 = NAN;
    switch (e->type) {
      case CXM_EV_PURCHASE: case CXM_EV_REFUND: case CXM_EV_SPEND:
        e->v = (double)(g_rand(&s) % 100000) / 100.0;
        break;
      case CXM_EV_NPS: e->v = (double)(g_rand(&s) % 12); break; /* 11: rejected */
      case CXM_EV_CSAT: e->v = 1 + (double)(g_rand(&s) % 5); break;
      case CXM_EV_CES: e->v = 1 + (double)(g_rand(&s) % 7); break;
      case CXM_EV_SESSION:
        e->v = (double)(g_rand(&s) % 4);
        e->v2 = (double)(g_rand(&s) % 30);
        break;
      default: break;
    }
    e->nseg = -1;
    if (e->cust >= 0 && g_rand(&s) % 12 == 0) {
      e->nseg = (int)(g_rand(&s) % 4);
      for (int k = 0; k < e->nseg; k++) e->segs[k] = (int)(g_rand(&s) % G_SEG);
    }
  }
  return g;
}

static inline void g_free(g_stream *g) { free(g->ev); g->ev = NULL; }

static inline int g_shard_of(int cust, int nshards) {
  return (int)(((unsigned)cust * 2654435761u) >> 7) % nshards;
}

/* Ingests the events of shard `shard` of `nshards` (spend goes to shard 0;
   nshards 1 = everything). Labels are interned in a shard-dependent order. */
static inline void g_ingest(cxm_ctx *ctx, const g_stream *g, int shard, int nshards) {
  int32_t ch[G_CH], sg[G_SEG];
  for (int k = 0; k < G_CH; k++) {
    int j = (shard % 2) ? G_CH - 1 - k : (k + shard) % G_CH;
    ch[j] = t_chan(ctx, g_ch[j]);
  }
  for (int k = 0; k < G_SEG; k++) {
    int j = (shard % 2) ? G_SEG - 1 - k : (k + 2 * shard) % G_SEG;
    sg[j] = t_seg(ctx, g_seg[j]);
  }
  for (size_t i = 0; i < g->n; i++) {
    const g_ev *e = &g->ev[i];
    int owner = e->cust < 0 ? 0 : g_shard_of(e->cust, nshards);
    if (owner != shard) continue;
    char id[32];
    snprintf(id, sizeof id, "cust-%d", e->cust);
    if (e->nseg >= 0) {
      int32_t segs[3];
      for (int k = 0; k < e->nseg; k++) segs[k] = sg[e->segs[k]];
      t_assign(ctx, id, t_set(ctx, (size_t)e->nseg, segs));
    }
    (void)cxm_event_add(ctx, e->t, e->type, e->cust < 0 ? NULL : id,
                        e->cust < 0 ? 0 : strlen(id), e->ch < 0 ? CXM_NO_CHANNEL : ch[e->ch],
                        e->v, e->v2);
  }
}

static inline int g_label_id(cxm_ctx *ctx, int seg, const char *label, size_t len) {
  int32_t id = -1;
  int rc = seg ? cxm_segment_find(ctx, label, len, &id) : cxm_channel_find(ctx, label, len, &id);
  ck_assert_msg(rc == CXM_OK, "label %.*s missing: %s", (int)len, label, cxm_ctx_errmsg(ctx));
  return id;
}

static inline int g_same(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return a == b || fabs(a - b) <= 1e-9 * m;
}

/* Every KPI of every scope of `a` equals `b`'s (counts and money exactly,
   other doubles to 1e-9 relative), and so do the statistics but memory.
   Returns the number of KPI values compared. */
static inline long g_compare(cxm_ctx *a, cxm_ctx *b) {
  int32_t nseg = 0, nch = 0, nseg_b = 0, nch_b = 0;
  ck_assert_int_eq(cxm_segment_count(a, &nseg), CXM_OK);
  ck_assert_int_eq(cxm_channel_count(a, &nch), CXM_OK);
  ck_assert_int_eq(cxm_segment_count(b, &nseg_b), CXM_OK);
  ck_assert_int_eq(cxm_channel_count(b, &nch_b), CXM_OK);
  ck_assert_int_eq(nseg, nseg_b);
  ck_assert_int_eq(nch, nch_b);
  for (int st = CXM_STAT_EVENTS_ACCEPTED; st <= CXM_STAT_LAST_TIME; st++) {
    if (st == CXM_STAT_MEMORY_BYTES) continue;
    int64_t va = -1, vb = -2;
    ck_assert_int_eq(cxm_stat_get(a, st, &va), CXM_OK);
    ck_assert_int_eq(cxm_stat_get(b, st, &vb), CXM_OK);
    ck_assert_msg(va == vb, "stat %d: %lld vs %lld", st, (long long)va, (long long)vb);
  }
  static const int64_t wins[][2] = {{CXM_TIME_MIN, CXM_TIME_MAX},
                                     {T0 - 20 * DAY, T0 - 10 * DAY},
                                     {T0, T0 + DAY},
                                     {T0 - 3 * DAY, T0 + 25 * DAY}};
  long compared = 0;
  for (int32_t s = -1; s < nseg; s++) {
    int32_t sb = -1;
    if (s >= 0) {
      const char *l; size_t len;
      ck_assert_int_eq(cxm_segment_label(a, s, &l, &len), CXM_OK);
      sb = g_label_id(b, 1, l, len);
    }
    for (int32_t c = -1; c < nch; c++) {
      int32_t cb = -1;
      if (c >= 0) {
        const char *l; size_t len;
        ck_assert_int_eq(cxm_channel_label(a, c, &l, &len), CXM_OK);
        cb = g_label_id(b, 0, l, len);
      }
      for (int k = 1; k <= cxm_kpi_max(); k++) {
        int nw = cxm_kpi_is_customer_level(k) ? 1 : 4;
        for (int w = 0; w < nw; w++) {
          double va = 0, vb = 0;
          int64_t na = 0, nb = 0, ia = 0, ib = 0, ja = 0, jb = 0;
          int ra = cxm_kpi_get(a, k, s, c, wins[w][0], wins[w][1], &va, &na);
          int rb = cxm_kpi_get(b, k, sb, cb, wins[w][0], wins[w][1], &vb, &nb);
          ck_assert_int_eq(ra, rb);
          ck_assert_msg(g_same(va, vb) && na == nb,
                        "kpi %s seg %d ch %d window %d: %.17g (n %lld) vs %.17g (n %lld)",
                        cxm_kpi_name(k), (int)s, (int)c, w, va, (long long)na, vb,
                        (long long)nb);
          ra = cxm_kpi_get_int(a, k, s, c, wins[w][0], wins[w][1], &ia, &ja);
          rb = cxm_kpi_get_int(b, k, sb, cb, wins[w][0], wins[w][1], &ib, &jb);
          ck_assert_int_eq(ra, rb);
          if (ra == CXM_OK)
            ck_assert_msg(ia == ib && ja == jb, "kpi %s int seg %d ch %d window %d: %lld vs %lld",
                          cxm_kpi_name(k), (int)s, (int)c, w, (long long)ia, (long long)ib);
          compared++;
        }
      }
    }
  }
  return compared;
}

#endif /* CXM_SNAPUTIL_H */
