/*
 * check_modpath.c - the modules' per-event shortcuts on random streams.
 *
 * The dispatch (lib/ext.h) calls a module for a known customer whose
 * segment set stays only for the event types it reads, and its on_event only
 * when its prepare left work to do; retention prepares most purchases without
 * its general path. These tests feed random streams (every customer event
 * type, late events, segment changes, new customers on any type) and require:
 * - funnel and attribution answers unchanged when the events of the types
 *   they do not read (message_sent, refund, nps, csat, ces, churn) are left
 *   out of the stream, unless they carry a segment change, with every module
 *   on in one handle and only those two in the other;
 * - the cohort matrix and the new / returning buyers per day equal to a
 *   reference computed here from the definitions;
 * - retention's active and churned counts with every module on equal to
 *   those of a handle with retention alone;
 * - the modules' per-customer entries, which share one row per customer
 *   when several modules are on (lib/ext.c), give the same answers as
 *   each module alone in its own rows, through growth, erasure (records
 *   move), a snapshot round trip and a merge, for several touch counts
 *   (row sizes).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#define NCH 4
#define NSEG 3
#define NSET 5
#define NCUST 300
#define NEV 12000
#define DAYS 80
#define BATCH 256

typedef struct stream {
  int n;
  int64_t times[NEV];
  int32_t types[NEV];
  int32_t channels[NEV];
  double values[NEV], values2[NEV];
  int32_t segsets[NEV];
  int64_t offs[NEV + 1];
  uint8_t data[NEV * 8];
  uint32_t cust[NEV];
} stream;

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)((rng_state >> 33) % n);
}

/* Customer event types: touch .. churn without spend. */
static int32_t rnd_type(void) {
  int32_t t;
  do t = CXM_EV_TOUCH + (int32_t)rnd(14);
  while (t == CXM_EV_SPEND);
  return t;
}

/* Late events stay within the default 7-day bound, so all are accepted
   whatever other events a stream keeps. */
static void make_stream_n(stream *s, uint64_t seed, uint32_t ncust) {
  rng_state = seed;
  s->n = NEV;
  size_t off = 0;
  for (int i = 0; i < NEV; i++) {
    int64_t base = T0 + (int64_t)i * (DAYS * DAY) / NEV;
    s->times[i] = rnd(6) == 0 ? base - (int64_t)rnd(6 * DAY) : base;
    s->types[i] = rnd_type();
    s->channels[i] = rnd(6) == 0 ? CXM_NO_CHANNEL : (int32_t)rnd(NCH);
    s->values[i] = NAN;
    s->values2[i] = NAN;
    switch (s->types[i]) {
      case CXM_EV_PURCHASE: case CXM_EV_REFUND:
        s->values[i] = (double)(1 + rnd(30000)) / 100.0;
        break;
      case CXM_EV_NPS: s->values[i] = rnd(11); break;
      case CXM_EV_CSAT: s->values[i] = 1 + rnd(5); break;
      case CXM_EV_CES: s->values[i] = 1 + rnd(7); break;
      case CXM_EV_SESSION:
        s->values[i] = rnd(4);
        s->values2[i] = rnd(30);
        break;
      default: break;
    }
    /* A heavy tenth of the customers makes half the events. */
    s->cust[i] = rnd(2) ? rnd(ncust / 10) : rnd(ncust);
    s->segsets[i] = rnd(25) == 0 ? (int32_t)rnd(NSET) : -1;
    s->offs[i] = (int64_t)off;
    off += (size_t)snprintf((char *)s->data + off, 8, "c%04u", (unsigned)s->cust[i]);
  }
  s->offs[NEV] = (int64_t)off;
}

static void make_stream(stream *s, uint64_t seed) { make_stream_n(s, seed, NCUST); }

/* The events of `s` that `keep` selects, in order. */
static void filter(const stream *s, stream *o, int (*keep)(const stream *, int)) {
  size_t off = 0;
  int n = 0;
  for (int i = 0; i < s->n; i++) {
    if (!keep(s, i)) continue;
    o->times[n] = s->times[i];
    o->types[n] = s->types[i];
    o->channels[n] = s->channels[i];
    o->values[n] = s->values[i];
    o->values2[n] = s->values2[i];
    o->segsets[n] = s->segsets[i];
    o->cust[n] = s->cust[i];
    size_t len = (size_t)(s->offs[i + 1] - s->offs[i]);
    o->offs[n] = (int64_t)off;
    memcpy(o->data + off, s->data + s->offs[i], len);
    off += len;
    n++;
  }
  o->offs[n] = (int64_t)off;
  o->n = n;
}

/* Funnel and attribution read none of these types. */
static int journey_reads(int32_t type) {
  return !(type == CXM_EV_MESSAGE_SENT || type == CXM_EV_REFUND || type == CXM_EV_NPS ||
           type == CXM_EV_CSAT || type == CXM_EV_CES || type == CXM_EV_CHURN);
}
static int keep_journey(const stream *s, int i) {
  return journey_reads(s->types[i]) || s->segsets[i] >= 0;
}

static cxm_ctx *fresh(int64_t modules) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, modules), CXM_OK);
  char label[16];
  for (int c = 0; c < NCH; c++) {
    snprintf(label, sizeof label, "ch%d", c);
    ck_assert_int_eq(t_chan(ctx, label), c);
  }
  int32_t seg[NSEG];
  for (int k = 0; k < NSEG; k++) {
    snprintf(label, sizeof label, "seg%d", k);
    seg[k] = t_seg(ctx, label);
  }
  /* Sets 1..4: {seg0}, {seg1}, {seg0, seg2}, {seg1, seg2}. */
  int32_t two[2];
  two[0] = seg[0];
  ck_assert_int_eq(t_set(ctx, 1, two), 1);
  two[0] = seg[1];
  ck_assert_int_eq(t_set(ctx, 1, two), 2);
  two[0] = seg[0], two[1] = seg[2];
  ck_assert_int_eq(t_set(ctx, 2, two), 3);
  two[0] = seg[1], two[1] = seg[2];
  ck_assert_int_eq(t_set(ctx, 2, two), 4);
  return ctx;
}

static void feed(cxm_ctx *ctx, const stream *s) {
  for (int i = 0; i < s->n; i += BATCH) {
    size_t n = (size_t)(s->n - i < BATCH ? s->n - i : BATCH), acc = 0;
    int rc = cxm_events_add(ctx, n, s->times + i, s->types + i, s->data, s->offs + i,
                            s->channels + i, s->values + i, s->values2 + i,
                            s->segsets + i, &acc, NULL);
    ck_assert_msg(rc == CXM_OK, "cxm_events_add = %d: %s", rc, cxm_ctx_errmsg(ctx));
    ck_assert_uint_eq(acc, n);
  }
}

/* Every model's orders, money and weight sums of a and b equal for every
   channel (tag: the touches kept, in the message, or -1); returns the
   orders credited over all channels, summed over the models. */
static int64_t same_attribution(cxm_ctx *a, cxm_ctx *b, int tag, long *compared) {
  int64_t total = 0;
  for (int md = CXM_ATTR_FIRST_TOUCH; md <= CXM_ATTR_POSITION_BASED; md++)
    for (int32_t ch = CXM_ALL; ch < NCH; ch++) {
      int64_t oa, ma, ea, ob, mb, eb;
      ck_assert_int_eq(cxm_attribution_get_fixed(a, md, ch, &oa, &ma, &ea), CXM_OK);
      ck_assert_int_eq(cxm_attribution_get_fixed(b, md, ch, &ob, &mb, &eb), CXM_OK);
      ck_assert_msg(oa == ob && ma == mb && ea == eb,
                    "attribution k %d model %d ch %d: %lld/%lld/%lld != %lld/%lld/%lld",
                    tag, md, (int)ch, (long long)oa, (long long)ma, (long long)ea,
                    (long long)ob, (long long)mb, (long long)eb);
      if (ch == CXM_ALL) total += oa;
      (*compared)++;
    }
  return total;
}

static void same_journey(cxm_ctx *a, cxm_ctx *b) {
  long compared = 0;
  for (int32_t sg = CXM_ALL; sg < NSEG; sg++)
    for (int32_t ch = CXM_ALL; ch < NCH; ch++)
      for (int32_t st = CXM_FUNNEL_AWARENESS; st <= CXM_FUNNEL_RETENTION; st++) {
        int64_t ca = -1, cb = -2, da = -1, db = -2, na = -1, nb = -2;
        ck_assert_int_eq(cxm_funnel_get(a, sg, ch, st, &ca, NULL, &da), CXM_OK);
        ck_assert_int_eq(cxm_funnel_get(b, sg, ch, st, &cb, NULL, &db), CXM_OK);
        ck_assert_msg(ca == cb && da == db, "funnel seg %d ch %d stage %d: %lld != %lld",
                      (int)sg, (int)ch, (int)st, (long long)ca, (long long)cb);
        double qa = 0, qb = 0;
        ck_assert_int_eq(cxm_funnel_days(a, sg, ch, st, 0.5, &qa, &na), CXM_OK);
        ck_assert_int_eq(cxm_funnel_days(b, sg, ch, st, 0.5, &qb, &nb), CXM_OK);
        ck_assert_int_eq(na, nb);
        ck_assert((isnan(qa) && isnan(qb)) || qa == qb);
        compared++;
      }
  int64_t total = same_attribution(a, b, -1, &compared);
  ck_assert_int_gt(compared, 100);
  ck_assert_int_gt(total, 0); /* the stream had purchases */
}

START_TEST(ignored_types_are_invisible) {
  static stream s, f;
  make_stream(&s, UINT64_C(0x5eed0001) + (uint64_t)_i);
  filter(&s, &f, keep_journey);
  ck_assert_int_lt(f.n, s.n - NEV / 5); /* a fair share left out */
  cxm_ctx *a = fresh(CXM_MOD_ALL);
  cxm_ctx *b = fresh(CXM_MOD_FUNNEL | CXM_MOD_ATTRIBUTION);
  feed(a, &s);
  feed(b, &f);
  same_journey(a, b);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

/* ---- cohorts and buyers against the definitions ------------------------------ */

/* year * 12 + month - 1 of a time (UTC), counted up from 1970 day by
   month, not by the library's formula. */
static int32_t month_of(int64_t t) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t d = t / DAY;
  int y = 1970, mo = 0;
  for (;;) {
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int len = mdays[mo] + (mo == 1 && leap);
    if (d < len) break;
    d -= len;
    if (++mo == 12) mo = 0, y++;
  }
  return (int32_t)(y * 12 + mo);
}

#define NMON 8 /* months of T0 - 6 days .. T0 + DAYS */

START_TEST(cohorts_match_definitions) {
  static stream s;
  make_stream(&s, UINT64_C(0xc0a0) + (uint64_t)_i);
  cxm_ctx *a = fresh(CXM_MOD_ALL);
  cxm_ctx *r = fresh(CXM_MOD_RETENTION);
  feed(a, &s);
  feed(r, &s);
  /* Per customer: first purchase time, months and days with a purchase. */
  static int64_t first[NCUST];
  static uint8_t in_month[NCUST][NMON];
  int32_t m0 = month_of(T0 - 6 * DAY);
  int64_t d0 = (T0 - 6 * DAY) / DAY, nd = DAYS + 8;
  static uint8_t on_day[NCUST][DAYS + 8];
  memset(in_month, 0, sizeof in_month);
  memset(on_day, 0, sizeof on_day);
  for (int c = 0; c < NCUST; c++) first[c] = INT64_MAX;
  int purchases = 0;
  for (int i = 0; i < s.n; i++) {
    if (s.types[i] != CXM_EV_PURCHASE) continue;
    uint32_t c = s.cust[i];
    int32_t mo = month_of(s.times[i]) - m0;
    int64_t dy = s.times[i] / DAY - d0;
    ck_assert(mo >= 0 && mo < NMON && dy >= 0 && dy < nd);
    if (s.times[i] < first[c]) first[c] = s.times[i];
    in_month[c][mo] = 1;
    on_day[c][dy] = 1;
    purchases++;
  }
  ck_assert_int_gt(purchases, 300);
  for (int h = 0; h < 2; h++) {
    cxm_ctx *x = h ? r : a;
    int32_t fm = 0, nm = 0;
    ck_assert_int_eq(cxm_cohort_span(x, &fm, &nm), CXM_OK);
    ck_assert_int_ge(fm, m0);
    ck_assert_int_le(fm + nm, m0 + NMON);
    for (int32_t cm = fm; cm < fm + nm; cm++) {
      int64_t size = -1, on[NMON], after[NMON];
      size_t n = 0;
      ck_assert_int_eq(cxm_cohort_row(x, cm, &size, on, after, NMON, &n), CXM_OK);
      ck_assert_int_eq((int64_t)n, fm + nm - cm);
      int64_t want_size = 0, want_on[NMON] = {0}, want_after[NMON] = {0};
      for (int c = 0; c < NCUST; c++) {
        if (first[c] == INT64_MAX || month_of(first[c]) != cm) continue;
        want_size++;
        for (size_t k = 0; k < n; k++) {
          int mo = cm - m0 + (int)k;
          want_on[k] += in_month[c][mo];
          int later = 0;
          for (int j = mo; j < NMON; j++) later |= in_month[c][j];
          want_after[k] += later;
        }
      }
      ck_assert_int_eq(size, want_size);
      for (size_t k = 0; k < n; k++) {
        ck_assert_msg(on[k] == want_on[k] && after[k] == want_after[k],
                      "cohort %d month +%zu: on %lld (want %lld), after %lld (want %lld)",
                      (int)cm, k, (long long)on[k], (long long)want_on[k],
                      (long long)after[k], (long long)want_after[k]);
      }
    }
    int64_t nb[DAYS + 8], rb[DAYS + 8];
    size_t ndays = 0;
    ck_assert_int_eq(cxm_buyers_daily(x, d0 * DAY, (d0 + nd) * DAY, nb, rb, (size_t)nd, &ndays),
                     CXM_OK);
    ck_assert_int_eq((int64_t)ndays, nd);
    for (int64_t d = 0; d < nd; d++) {
      int64_t wn = 0, wr = 0;
      for (int c = 0; c < NCUST; c++) {
        if (!on_day[c][d]) continue;
        if (first[c] / DAY - d0 == d) wn++;
        else wr++;
      }
      ck_assert_msg(nb[d] == wn && rb[d] == wr, "day %lld: new %lld (want %lld), returning %lld (want %lld)",
                    (long long)d, (long long)nb[d], (long long)wn, (long long)rb[d], (long long)wr);
    }
  }
  /* Retention's counts do not depend on the other modules being on. */
  for (int64_t d = 0; d < nd; d += 3) {
    int64_t t = (d0 + d) * DAY + DAY / 2, aa = -1, ca = -1, ar = -2, cr = -2;
    ck_assert_int_eq(cxm_retention_active(a, CXM_ALL, CXM_ALL, t, &aa, &ca), CXM_OK);
    ck_assert_int_eq(cxm_retention_active(r, CXM_ALL, CXM_ALL, t, &ar, &cr), CXM_OK);
    ck_assert_int_eq(aa, ar);
    ck_assert_int_eq(ca, cr);
  }
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(r);
}
END_TEST

/* ---- shared rows against each module alone ------------------------------------ */

#define RCUST 3000 /* past 1024 and 2048 records: the rows grow twice */

/* Events [lo, hi) of s, only customers with cust % 2 == odd when odd >= 0. */
static void feed_part(cxm_ctx *ctx, const stream *s, int lo, int hi, int odd) {
  static stream p;
  size_t off = 0;
  int n = 0;
  for (int i = lo; i < hi; i++) {
    if (odd >= 0 && (int)(s->cust[i] % 2) != odd) continue;
    p.times[n] = s->times[i];
    p.types[n] = s->types[i];
    p.channels[n] = s->channels[i];
    p.values[n] = s->values[i];
    p.values2[n] = s->values2[i];
    p.segsets[n] = s->segsets[i];
    size_t len = (size_t)(s->offs[i + 1] - s->offs[i]);
    p.offs[n] = (int64_t)off;
    memcpy(p.data + off, s->data + s->offs[i], len);
    off += len;
    n++;
  }
  p.offs[n] = (int64_t)off;
  p.n = n;
  feed(ctx, &p);
}

static cxm_ctx *fresh_k(int64_t modules, int64_t touches) {
  cxm_ctx *ctx = fresh(modules);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_TOUCHES_KEPT, touches), CXM_OK);
  return ctx;
}

/* The same life for any modules: half the stream, a few erasures, a
   snapshot round trip, then the rest split over two shards merged. */
static cxm_ctx *life(const stream *s, int64_t modules, int64_t touches) {
  cxm_ctx *a = fresh_k(modules, touches);
  feed_part(a, s, 0, s->n / 2, -1);
  char id[8];
  for (unsigned c = 7; c < RCUST; c += 97) {
    int len = snprintf(id, sizeof id, "c%04u", c);
    int rc = cxm_customer_erase(a, id, (size_t)len);
    ck_assert(rc == CXM_OK || rc == CXM_E_NOTFOUND);
  }
  cxm_ctx *b = t_reloaded(a);
  cxm_ctx_destroy(a);
  cxm_ctx *sh = fresh_k(modules, touches);
  feed_part(b, s, s->n / 2, s->n, 0);
  feed_part(sh, s, s->n / 2, s->n, 1);
  ck_assert_int_eq(cxm_ctx_merge(b, sh), CXM_OK);
  cxm_ctx_destroy(sh);
  return b;
}

static void same_retention(cxm_ctx *a, cxm_ctx *b) {
  int64_t nz = 0;
  for (int32_t sg = CXM_ALL; sg < NSEG; sg++)
    for (int64_t d = 0; d < DAYS + 2; d += 2) {
      int64_t t = T0 + d * DAY + DAY / 2, aa = -1, ca = -1, ab = -2, cb = -2;
      ck_assert_int_eq(cxm_retention_active(a, sg, CXM_ALL, t, &aa, &ca), CXM_OK);
      ck_assert_int_eq(cxm_retention_active(b, sg, CXM_ALL, t, &ab, &cb), CXM_OK);
      ck_assert_msg(aa == ab && ca == cb, "retention seg %d day %lld: %lld/%lld != %lld/%lld",
                    (int)sg, (long long)d, (long long)aa, (long long)ca, (long long)ab,
                    (long long)cb);
      nz += aa > 0;
    }
  ck_assert_int_gt(nz, 0);
}

START_TEST(shared_rows_match_own_rows) {
  static const int64_t touches[4] = {8, 1, 3, 32};
  static stream s;
  make_stream_n(&s, UINT64_C(0x0c0105ed) + (uint64_t)_i, RCUST);
  int64_t k = touches[_i % 4];
  /* Odd loops: funnel and attribution share a row without retention. */
  int64_t shared = _i % 2 ? CXM_MOD_FUNNEL | CXM_MOD_ATTRIBUTION : CXM_MOD_ALL;
  cxm_ctx *all = life(&s, shared, k);
  cxm_ctx *fa = life(&s, CXM_MOD_FUNNEL, k), *aa = life(&s, CXM_MOD_ATTRIBUTION, k);
  /* same_journey compares both modules: each alone answers for its own. */
  long fun = 0;
  for (int32_t sg = CXM_ALL; sg < NSEG; sg++)
    for (int32_t ch = CXM_ALL; ch < NCH; ch++)
      for (int32_t st = CXM_FUNNEL_AWARENESS; st <= CXM_FUNNEL_RETENTION; st++) {
        int64_t ca = -1, cb = -2, da = -1, db = -2;
        ck_assert_int_eq(cxm_funnel_get(all, sg, ch, st, &ca, NULL, &da), CXM_OK);
        ck_assert_int_eq(cxm_funnel_get(fa, sg, ch, st, &cb, NULL, &db), CXM_OK);
        ck_assert_msg(ca == cb && da == db, "funnel seg %d ch %d stage %d: %lld != %lld",
                      (int)sg, (int)ch, (int)st, (long long)ca, (long long)cb);
        fun += ca;
      }
  ck_assert_int_gt(fun, 0);
  long att = 0;
  ck_assert_int_gt(same_attribution(all, aa, (int)k, &att), 0);
  if (shared & CXM_MOD_RETENTION) {
    cxm_ctx *ra = life(&s, CXM_MOD_RETENTION, k);
    same_retention(all, ra);
    cxm_ctx_destroy(ra);
  }
  cxm_ctx_destroy(all);
  cxm_ctx_destroy(fa);
  cxm_ctx_destroy(aa);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("modpath");
  TCase *tc = tcase_create("random");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, ignored_types_are_invisible, 0, 3);
  tcase_add_loop_test(tc, cohorts_match_definitions, 0, 3);
  tcase_add_loop_test(tc, shared_rows_match_own_rows, 0, 4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(suite()); }
