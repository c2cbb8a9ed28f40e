/*
 * check_erase.c - cxm_customer_erase(): the record and its hash are gone,
 * event-level KPIs keep the customer's anonymous contribution, customer-level
 * KPIs no longer count it (docs/privacy.md), other customers are untouched
 * (also after the last record moved into the hole), erasing the last record,
 * erasing twice, many erasures (the index stays consistent), no allocation.
 *
 * The reference for "the rule" is computed independently of erasure: a
 * handle fed the same stream without the erased customers (customer-level
 * KPIs must equal it) and one fed the whole stream (event-level KPIs must
 * equal it); a few values are also checked by hand.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#include <stddef.h>

#define NCUST 12

/* A deterministic stream over customers c00..c11: purchases (some repeat),
   refunds, leads, touches, sessions, NPS, on two channels, part 1 or 2. */
static void feed(cxm_ctx *ctx, int part, unsigned skip_mask) {
  static const int32_t types[] = {CXM_EV_PURCHASE, CXM_EV_TOUCH, CXM_EV_LEAD,
                                  CXM_EV_NPS,      CXM_EV_SESSION, CXM_EV_PURCHASE,
                                  CXM_EV_REFUND,   CXM_EV_ENGAGE, CXM_EV_CSAT};
  int32_t web = 0, mail = 1;
  unsigned x = 12345u + (unsigned)part * 777u;
  int64_t t = T0 + (part == 2 ? 40 * DAY : 0); /* part 1 ends by day 25 */
  for (int i = 0; i < 300; i++) {
    x = x * 1103515245u + 12345u;
    int c = (int)((x >> 16) % NCUST);
    int32_t type = types[(x >> 8) % 9];
    int32_t ch = (x >> 4) & 1 ? web : ((x >> 5) & 1 ? mail : CXM_NO_CHANNEL);
    double v = NAN, v2 = NAN;
    if (type == CXM_EV_PURCHASE || type == CXM_EV_REFUND) v = (double)((x >> 3) % 5000) / 100.0;
    if (type == CXM_EV_NPS) v = (double)((x >> 7) % 11);
    if (type == CXM_EV_CSAT) v = (double)((x >> 7) % 5 + 1);
    if (type == CXM_EV_SESSION) v = (double)((x >> 7) % 4);
    t += (int64_t)((x >> 9) % 7200);
    if (skip_mask & (1u << c)) continue;
    char id[16];
    snprintf(id, sizeof id, "c%02d", c);
    T_ADD(ctx, t, type, id, ch, v, v2);
  }
}

static cxm_ctx *setup(int modules) {
  cxm_ctx *ctx = t_new();
  if (!modules) ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, 0), CXM_OK);
  ck_assert_int_eq(t_chan(ctx, "web"), 0);
  ck_assert_int_eq(t_chan(ctx, "mail"), 1);
  int32_t gold = t_seg(ctx, "gold");
  int32_t silver = t_seg(ctx, "silver");
  int32_t both[2] = {gold, silver};
  int32_t gs = t_set(ctx, 1, &gold), bs = t_set(ctx, 2, both);
  /* Record order is first appearance: assign in a fixed order so that the
     erased handle and its references hold the same customers' segments. */
  for (int c = 0; c < NCUST; c++) {
    char id[16];
    snprintf(id, sizeof id, "c%02d", c);
    if (c % 3 == 0) t_assign(ctx, id, gs);
    if (c % 4 == 1) t_assign(ctx, id, bs);
  }
  return ctx;
}

static void erase_ok(cxm_ctx *ctx, const char *id) {
  int rc = cxm_customer_erase(ctx, id, strlen(id));
  ck_assert_msg(rc == CXM_OK, "erase %s: %d %s", id, rc, cxm_ctx_errmsg(ctx));
}

/* Every KPI of every scope and window of `got` equals `cust_ref` for the
   customer-level KPIs and `ev_ref` for the event-level ones. */
static void compare(cxm_ctx *got, cxm_ctx *cust_ref, cxm_ctx *ev_ref) {
  t_snap g, c, e;
  t_snap_take(got, &g);
  t_snap_take(cust_ref, &c);
  t_snap_take(ev_ref, &e);
  ck_assert_uint_eq(g.count, c.count);
  ck_assert_uint_eq(g.count, e.count);
  int checked[2] = {0, 0};
  for (size_t i = 0; i < g.count; i++) {
    int k = (int)((i / T_SNAP_WINDOWS) % (size_t)g.kmax) + 1;
    int cl = cxm_kpi_is_customer_level(k) == 1;
    const t_snap *r = cl ? &c : &e;
    ck_assert_msg(g.rc[i] == r->rc[i] && t_same_double(g.v[i], r->v[i]) &&
                      (g.rc[i] != CXM_OK || g.n[i] == r->n[i]) && g.iv[i] == r->iv[i],
                  "kpi %s (entry %zu): %.17g n %lld, reference %.17g n %lld",
                  cxm_kpi_name(k), i, g.v[i], (long long)g.n[i], r->v[i],
                  (long long)r->n[i]);
    if (g.rc[i] == CXM_OK && !isnan(g.v[i]) && g.v[i] != 0) checked[cl]++;
  }
  /* the comparison was not vacuous */
  ck_assert_int_gt(checked[0], 100);
  ck_assert_int_gt(checked[1], 20);
  t_snap_free(&g);
  t_snap_free(&c);
  t_snap_free(&e);
}

/* The funnel module drops an erased customer's stage counts: every stage of
   every scope equals the handle that never saw it (modules on only). */
static void compare_funnel(cxm_ctx *got, cxm_ctx *ref) {
  int32_t nseg = 0, nch = 0;
  ck_assert_int_eq(cxm_segment_count(got, &nseg), CXM_OK);
  ck_assert_int_eq(cxm_channel_count(got, &nch), CXM_OK);
  int nonzero = 0;
  for (int32_t sg = CXM_ALL; sg < nseg; sg++)
    for (int32_t c = CXM_ALL; c < nch; c++)
      for (int32_t st = CXM_FUNNEL_AWARENESS; st <= CXM_FUNNEL_RETENTION; st++) {
        int64_t a = -1, b = -2;
        ck_assert_int_eq(cxm_funnel_get(got, sg, c, st, &a, NULL, NULL), CXM_OK);
        ck_assert_int_eq(cxm_funnel_get(ref, sg, c, st, &b, NULL, NULL), CXM_OK);
        ck_assert_msg(a == b, "funnel stage %d seg %d ch %d: %lld, reference %lld",
                      (int)st, (int)sg, (int)c, (long long)a, (long long)b);
        nonzero += a != 0;
      }
  ck_assert_int_gt(nonzero, 10);
}

static int64_t customers(cxm_ctx *ctx) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  return v;
}

/* The hash is in none of the NPS lists. */
static int listed(cxm_ctx *ctx, uint64_t h) {
  for (int32_t cat = CXM_NPS_DETRACTOR; cat <= CXM_NPS_PROMOTER; cat++) {
    uint64_t cursor = 0, buf[64];
    do {
      size_t n = 0;
      ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, cat, cursor, buf, 64, &n, &cursor),
                       CXM_OK);
      for (size_t i = 0; i < n; i++)
        if (buf[i] == h) return 1;
    } while (cursor);
  }
  return 0;
}

START_TEST(test_erase_rule) {
  int modules = _i;
  /* erase c03 and c07 (middle records) and then the last record */
  cxm_ctx *e = setup(modules), *w = setup(modules), *f = setup(modules);
  unsigned gone = (1u << 3) | (1u << 7);
  feed(e, 1, 0);
  feed(w, 1, gone);
  feed(f, 1, 0);
  uint64_t h3 = 0;
  ck_assert_int_eq(cxm_customer_hash(e, "c03", 3, &h3), CXM_OK);
  T_ADD1(e, T0 + 26 * DAY, CXM_EV_NPS, "c03", 0, 9);
  T_ADD1(f, T0 + 26 * DAY, CXM_EV_NPS, "c03", 0, 9);
  ck_assert(listed(e, h3));
  ck_assert_int_eq(customers(e), NCUST);
  erase_ok(e, "c03");
  erase_ok(e, "c07");
  ck_assert_int_eq(customers(e), NCUST - 2);
  ck_assert(!listed(e, h3));
  ck_assert_int_eq(cxm_customer_erase(e, "c03", 3), CXM_E_NOTFOUND);
  compare(e, w, f);
  if (modules) compare_funnel(e, w);
  /* later events of the others (one of them moved into c03's hole) */
  feed(e, 2, gone);
  feed(w, 2, gone);
  feed(f, 2, gone);
  compare(e, w, f);
  if (modules) compare_funnel(e, w);
  ck_assert_int_eq(customers(e), NCUST - 2);
  cxm_ctx_destroy(e);
  cxm_ctx_destroy(w);
  cxm_ctx_destroy(f);
}
END_TEST

/* Hand-computed: two buyers, one erased. */
START_TEST(test_erase_by_hand) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "ann", web, 10);
  T_ADD1(ctx, T0 + 1, CXM_EV_PURCHASE, "ann", web, 30);
  T_ADD1(ctx, T0 + 2, CXM_EV_PURCHASE, "bob", CXM_NO_CHANNEL, 5);
  T_ADD1(ctx, T0 + 3, CXM_EV_NPS, "ann", web, 2);
  T_ADD1(ctx, T0 + 4, CXM_EV_NPS, "bob", web, 10);
  T_ADD0(ctx, T0 + 5, CXM_EV_LEAD, "ann", web);
  T_ADD1(ctx, T0 + 6, CXM_EV_PURCHASE, "ann", web, 1);
  /* before: buyers 2, repeat 1/2, frequency 4/2, CLV (41 + 5) / 2 = 23,
     lead conversion 1/1; web buyers 1 (ann) */
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 2, 2);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 23.0, 2);
  erase_ok(ctx, "ann");
  /* customer-level: only bob remains */
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 1, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 0.0, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, CXM_ALL, CXM_ALL, 1.0, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 5.0, 1);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, CXM_ALL, NAN, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, web, 0, 0);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, CXM_ALL, NAN, 0);
  /* event-level: unchanged */
  T_KPI(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 46.0, 4);
  T_KPI(ctx, CXM_KPI_ORDERS, CXM_ALL, web, 3, 3);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0.0, 2);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, CXM_ALL, CXM_ALL, 2, 2);
  T_KPI(ctx, CXM_KPI_LEADS, CXM_ALL, CXM_ALL, 1, 1);
  /* the same id later is a new customer with no past: a new buyer again */
  T_ADD1(ctx, T0 + 7, CXM_EV_PURCHASE, "ann", web, 4);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 2, 2);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 0.0, 2);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 4.5, 2);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, CXM_ALL, CXM_ALL, 3, 3);
  /* and its lateness reference is new too: a 20-day-old event is accepted */
  T_ADD1(ctx, T0 - 20 * DAY, CXM_EV_PURCHASE, "zed", web, 1);
  erase_ok(ctx, "zed");
  erase_ok(ctx, "bob");
  erase_ok(ctx, "ann");
  ck_assert_int_eq(customers(ctx), 0);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 0, 0);
  T_KPI(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 6, 6);
  ck_assert_int_eq(cxm_customer_erase(ctx, "ann", 3), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_customer_erase(ctx, "", 0), CXM_E_MISSING);
  ck_assert_int_eq(cxm_customer_erase(ctx, NULL, 3), CXM_E_NULL);
  ck_assert_int_eq(cxm_customer_erase(NULL, "a", 1), CXM_E_NULL);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* The last record erased (no move), then the first (the last moves). */
START_TEST(test_erase_last_and_move) {
  cxm_ctx *e = setup(1), *w = setup(1), *f = setup(1);
  feed(e, 1, 0);
  feed(w, 1, 1u << 0);
  feed(f, 1, 0);
  /* "last" is the newest record; c00 is the first (setup() created it) */
  T_ADD1(e, T0 + 26 * DAY, CXM_EV_PURCHASE, "last", 1, 7);
  T_ADD1(f, T0 + 26 * DAY, CXM_EV_PURCHASE, "last", 1, 7);
  T_ADD1(e, T0 + 26 * DAY, CXM_EV_NPS, "last", 1, 3);
  T_ADD1(f, T0 + 26 * DAY, CXM_EV_NPS, "last", 1, 3);
  if (_i == 0) {
    erase_ok(e, "last"); /* no record moves */
    erase_ok(e, "c00");  /* the last record moves to index 0 */
  } else {
    erase_ok(e, "c00");  /* "last" moves to index 0 */
    erase_ok(e, "last"); /* now the erased record is not the last */
  }
  ck_assert_int_eq(cxm_customer_erase(e, "last", 4), CXM_E_NOTFOUND);
  compare(e, w, f);
  compare_funnel(e, w);
  feed(e, 2, 1u << 0);
  feed(w, 2, 1u << 0);
  feed(f, 2, 1u << 0);
  compare(e, w, f);
  compare_funnel(e, w);
  cxm_ctx_destroy(e);
  cxm_ctx_destroy(w);
  cxm_ctx_destroy(f);
}
END_TEST

/* Many customers, half erased in a scattered order: every remaining one is
   still found (its next event does not create a customer), every erased one
   is gone, and the customer-level counts add up. */
START_TEST(test_erase_many) {
  cxm_ctx *ctx = t_new();
  const int N = 20000;
  char id[16];
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "u%d", i);
    T_ADD1(ctx, T0 + i, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, 1);
  }
  int erased = 0;
  for (int i = 0; i < N; i++) {
    int j = (int)(((unsigned)i * 7919u) % (unsigned)N);
    if (j % 2) continue;
    snprintf(id, sizeof id, "u%d", j);
    erase_ok(ctx, id);
    erased++;
  }
  ck_assert_int_eq(erased, N / 2);
  ck_assert_int_eq(customers(ctx), N - erased);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, N - erased, N - erased);
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "u%d", i);
    if (i % 2 == 0) {
      ck_assert_int_eq(cxm_customer_erase(ctx, id, strlen(id)), CXM_E_NOTFOUND);
    } else {
      T_ADD1(ctx, T0 + N + i, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, 2);
    }
  }
  ck_assert_int_eq(customers(ctx), N - erased);
  /* each remaining customer now has two orders */
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 1.0, N - erased);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 3.0, N - erased);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Erasure never allocates: with every allocation failing it still works. */
typedef struct t_alloc {
  long calls, fail_from, live;
} t_alloc;

static void *a_malloc(void *o, size_t n) {
  t_alloc *a = o;
  if (a->fail_from && ++a->calls >= a->fail_from) return NULL;
  void *p = malloc(n);
  if (p) a->live++;
  return p;
}
static void *a_realloc(void *o, void *p, size_t n) {
  t_alloc *a = o;
  if (!p) return a_malloc(o, n);
  if (a->fail_from && ++a->calls >= a->fail_from) return NULL;
  return realloc(p, n);
}
static void a_free(void *o, void *p) {
  t_alloc *a = o;
  a->live--;
  free(p);
}

START_TEST(test_erase_no_alloc) {
  t_alloc a = {0, 0, 0};
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, a_malloc, a_realloc, a_free, &a),
                   CXM_OK);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  int32_t web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", web, 3);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "b", web, 4);
  T_ADD1(ctx, T0, CXM_EV_NPS, "c", web, 4);
  a.fail_from = 1; /* from now on every allocation fails (and is counted) */
  long before = a.calls;
  erase_ok(ctx, "a");
  erase_ok(ctx, "c");
  ck_assert_int_eq(a.calls, before);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, web, 1, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 4.0, 1);
  a.fail_from = 0;
  cxm_ctx_destroy(ctx);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("erase");
  TCase *tc = tcase_create("erase");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_erase_rule, 0, 2);
  tcase_add_test(tc, test_erase_by_hand);
  tcase_add_loop_test(tc, test_erase_last_and_move, 0, 2);
  tcase_add_test(tc, test_erase_many);
  tcase_add_test(tc, test_erase_no_alloc);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(suite()); }
