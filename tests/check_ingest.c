/*
 * check_ingest.c - the batch fast path of libcxmetrics against the
 * one-event path: customer table growth, ids hashed several at a time (any
 * lengths), the shortcuts for repeat purchases, refunds and later leads, and
 * a batch cut anywhere. The reference is always cxm_event_add() fed the same
 * events one by one, plus counts computed here from the generated events.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

/* ---- a small deterministic generator (xorshift64*) ---------------------- */
static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}
static uint32_t rnd_below(uint32_t n) { return (uint32_t)(rnd() % n); }

/* Events as columns, ids in one buffer (Arrow style). */
typedef struct cols {
  size_t n;
  int64_t *times;
  int32_t *types;
  uint8_t *ids;
  int64_t *offs;
  int32_t *chans;
  double *v1, *v2;
  int32_t *sets;
} cols;

static void cols_alloc(cols *c, size_t n, size_t id_bytes) {
  c->n = n;
  c->times = calloc(n, sizeof *c->times);
  c->types = calloc(n, sizeof *c->types);
  c->ids = calloc(id_bytes + 1, 1);
  c->offs = calloc(n + 1, sizeof *c->offs);
  c->chans = calloc(n, sizeof *c->chans);
  c->v1 = calloc(n, sizeof *c->v1);
  c->v2 = calloc(n, sizeof *c->v2);
  c->sets = calloc(n, sizeof *c->sets);
  ck_assert(c->times && c->types && c->ids && c->offs && c->chans && c->v1 &&
            c->v2 && c->sets);
}

static void cols_free(cols *c) {
  free(c->times);
  free(c->types);
  free(c->ids);
  free(c->offs);
  free(c->chans);
  free(c->v1);
  free(c->v2);
  free(c->sets);
}

static int64_t customers_of(cxm_ctx *ctx) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  return v;
}

static int64_t kpi_int(cxm_ctx *ctx, int kpi) {
  int64_t v = -1, n = -1;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, kpi, CXM_ALL, CXM_ALL, ALLW, &v, &n),
                   CXM_OK);
  return v;
}

static void twins_eq(cxm_ctx *a, cxm_ctx *b, const char *what) {
  t_handles_same_kpis(a, b, what);
  ck_assert_int_eq(customers_of(a), customers_of(b));
}

/* ---- growth: every customer is found again after the index grew ---------- */
#define GROW_N 150000

START_TEST(test_growth_finds_every_customer) {
  cxm_ctx *ctx = t_new();
  cols c;
  cols_alloc(&c, GROW_N, (size_t)GROW_N * 12);
  int64_t off = 0, minor_total = 0;
  for (size_t i = 0; i < GROW_N; i++) {
    /* 5..12-byte ids: several hash lanes of different lengths */
    int len = snprintf((char *)c.ids + off, 13, "c%0*zu", 4 + (int)(i % 8), i);
    c.offs[i] = off;
    off += len;
    c.times[i] = T0 + (int64_t)i;
    c.types[i] = CXM_EV_PURCHASE;
    c.chans[i] = CXM_NO_CHANNEL;
    c.v1[i] = (double)(i % 100) + 1.0;
    minor_total += ((int64_t)(i % 100) + 1) * 100;
    c.v2[i] = NAN;
    c.sets[i] = -1;
  }
  c.offs[GROW_N] = off;
  /* First pass in batches: the table grows from 1024 records many times. */
  for (size_t i = 0; i < GROW_N; i += 5000) {
    size_t acc = 0;
    ck_assert_int_eq(cxm_events_add(ctx, 5000, c.times + i, c.types + i, c.ids,
                                    c.offs + i, c.chans + i, c.v1 + i, c.v2 + i,
                                    c.sets + i, &acc, NULL),
                     CXM_OK);
    ck_assert_uint_eq(acc, 5000);
  }
  ck_assert_int_eq(customers_of(ctx), GROW_N);
  /* Second pass one by one (the one-id hash): every id must be found. */
  for (size_t i = 0; i < GROW_N; i++)
    ck_assert_int_eq(cxm_event_add(ctx, c.times[i] + 1, CXM_EV_PURCHASE,
                                   c.ids + c.offs[i],
                                   (size_t)(c.offs[i + 1] - c.offs[i]),
                                   CXM_NO_CHANNEL, c.v1[i], NAN),
                     CXM_OK);
  ck_assert_int_eq(customers_of(ctx), GROW_N);
  /* Third pass in one batch, again all found. */
  ck_assert_int_eq(cxm_events_add(ctx, GROW_N, c.times, c.types, c.ids, c.offs,
                                  NULL, c.v1, NULL, NULL, NULL, NULL),
                   CXM_OK);
  ck_assert_int_eq(customers_of(ctx), GROW_N);
  ck_assert_int_eq(kpi_int(ctx, CXM_KPI_BUYERS), GROW_N);
  ck_assert_int_eq(kpi_int(ctx, CXM_KPI_ORDERS), 3 * GROW_N);
  ck_assert_int_eq(kpi_int(ctx, CXM_KPI_REVENUE), 3 * minor_total);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 1.0, GROW_N);
  cols_free(&c);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- random streams: batch == one by one ---------------------------------- */

/* Ids of 0..40 bytes (0 = missing) drawn from a pool; all event types, some
   invalid; times mostly forward with some late ones; channels, values and
   segment sets sometimes absent or out of range. */
static void gen_stream(cols *c, size_t n, uint32_t pool, int32_t nch,
                       int32_t nsets, int with_sets) {
  size_t cap = n * 40;
  cols_alloc(c, n, cap);
  uint8_t(*pid)[40] = malloc((size_t)pool * 40);
  uint8_t *plen = malloc(pool);
  ck_assert(pid && plen);
  for (uint32_t k = 0; k < pool; k++) {
    plen[k] = (uint8_t)(1 + rnd_below(40));
    for (int b = 0; b < plen[k]; b++) pid[k][b] = (uint8_t)rnd();
  }
  int64_t off = 0, t = T0;
  for (size_t i = 0; i < n; i++) {
    t += rnd_below(600);
    uint32_t r = rnd_below(1000);
    c->times[i] = r < 20 ? t - (int64_t)rnd_below(20) * DAY : t;
    /* mostly the catalogue's types, a few unknown */
    c->types[i] = r >= 990 ? (int32_t)rnd_below(40) - 5
                           : (int32_t)(1 + rnd_below(CXM_EV_CHURN));
    c->offs[i] = off;
    if (rnd_below(100) != 0) { /* 1% without an id */
      uint32_t k = rnd_below(pool);
      memcpy(c->ids + off, pid[k], plen[k]);
      off += plen[k];
    }
    uint32_t q = rnd_below(50);
    c->chans[i] = q == 0 ? nch + 3 : q < 5 ? CXM_NO_CHANNEL : (int32_t)rnd_below((uint32_t)nch);
    switch (c->types[i]) {
      case CXM_EV_PURCHASE:
      case CXM_EV_REFUND:
      case CXM_EV_SPEND:
        c->v1[i] = rnd_below(100) == 0 ? -1.0 : (double)rnd_below(100000) / 100.0;
        break;
      case CXM_EV_NPS: c->v1[i] = (double)rnd_below(12); break;
      case CXM_EV_CSAT: c->v1[i] = (double)rnd_below(7); break;
      case CXM_EV_CES: c->v1[i] = (double)rnd_below(9); break;
      default: c->v1[i] = rnd_below(4) == 0 ? NAN : (double)rnd_below(5); break;
    }
    c->v2[i] = rnd_below(3) == 0 ? NAN : (double)rnd_below(30);
    c->sets[i] = with_sets && rnd_below(10) == 0 ? (int32_t)rnd_below((uint32_t)nsets) : -1;
  }
  c->offs[n] = off;
  free(pid);
  free(plen);
}

static void labels(cxm_ctx *ctx, int32_t *nch, int32_t *nsets) {
  static const char *chs[] = {"web", "email", "sms", "app", "store"};
  for (int k = 0; k < 5; k++) t_chan(ctx, chs[k]);
  int32_t s[3] = {t_seg(ctx, "gold"), t_seg(ctx, "eu"), t_seg(ctx, "pro")};
  t_set(ctx, 1, s);
  t_set(ctx, 2, s);
  t_set(ctx, 3, s);
  t_set(ctx, 1, s + 1);
  *nch = 5;
  *nsets = 5; /* the empty set 0 plus the four above */
}

/* Feeds c in batches of random sizes; returns the statuses. */
static int32_t *feed_batches(cxm_ctx *ctx, const cols *c, int with_sets) {
  int32_t *st = malloc(c->n * sizeof *st);
  ck_assert(st);
  size_t i = 0, ok_total = 0;
  while (i < c->n) {
    size_t m = 1 + rnd_below(700);
    if (m > c->n - i) m = c->n - i;
    size_t acc = 0;
    cxm_events_add(ctx, m, c->times + i, c->types + i, c->ids, c->offs + i,
                   c->chans + i, c->v1 + i, c->v2 + i,
                   with_sets ? c->sets + i : NULL, &acc, st + i);
    size_t ok = 0;
    for (size_t k = 0; k < m; k++) ok += st[i + k] == CXM_OK;
    ck_assert_uint_eq(acc, ok);
    ok_total += acc;
    i += m;
  }
  ck_assert_uint_gt(ok_total, c->n / 2);
  return st;
}

START_TEST(test_batch_equals_single) {
  rng_state = UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)_i;
  cxm_ctx *a = t_new(), *b = t_new();
  int32_t nch, nsets;
  labels(a, &nch, &nsets);
  labels(b, &nch, &nsets);
  cols c;
  gen_stream(&c, 40000, 3000, nch, nsets, 0);
  int32_t *st = feed_batches(a, &c, 0);
  size_t rejected = 0;
  for (size_t i = 0; i < c.n; i++) {
    int rc = cxm_event_add(b, c.times[i], c.types[i], c.ids + c.offs[i],
                           (size_t)(c.offs[i + 1] - c.offs[i]), c.chans[i],
                           c.v1[i], c.v2[i]);
    ck_assert_msg(rc == st[i], "event %zu: batch %d, single %d", i, st[i], rc);
    rejected += rc != CXM_OK;
  }
  ck_assert_uint_gt(rejected, 0); /* the stream did exercise rejections */
  twins_eq(a, b, "batch vs single");
  free(st);
  cols_free(&c);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

/* With segment sets: the one-event reference assigns the set first, for
   the events the batch accepted. A third handle takes every other batch
   through the one-event path: batch and one-id hashes must agree, or the
   same customer would be counted twice. */
START_TEST(test_batch_with_sets_and_mixed_paths) {
  rng_state = UINT64_C(0x1234567887654321) + (uint64_t)_i;
  cxm_ctx *a = t_new(), *b = t_new(), *m = t_new();
  int32_t nch, nsets;
  labels(a, &nch, &nsets);
  labels(b, &nch, &nsets);
  labels(m, &nch, &nsets);
  cols c;
  gen_stream(&c, 30000, 2000, nch, nsets, 1);
  int32_t *st = feed_batches(a, &c, 1);
  for (size_t i = 0; i < c.n; i++) {
    const uint8_t *id = c.ids + c.offs[i];
    size_t len = (size_t)(c.offs[i + 1] - c.offs[i]);
    if (c.sets[i] >= 0 && st[i] == CXM_OK && c.types[i] != CXM_EV_SPEND)
      ck_assert_int_eq(cxm_customer_set_segments(b, id, len, c.sets[i]), CXM_OK);
    int rc = cxm_event_add(b, c.times[i], c.types[i], id, len, c.chans[i],
                           c.v1[i], c.v2[i]);
    ck_assert_msg(rc == st[i], "event %zu: batch %d, single %d", i, st[i], rc);
  }
  twins_eq(a, b, "batch with sets vs single");
  /* mixed: blocks of 97 events alternate between the two paths */
  for (size_t i = 0; i < c.n; i += 97) {
    size_t k = c.n - i < 97 ? c.n - i : 97;
    if ((i / 97) % 2 == 0) {
      int32_t st2[97];
      cxm_events_add(m, k, c.times + i, c.types + i, c.ids, c.offs + i,
                     c.chans + i, c.v1 + i, c.v2 + i, c.sets + i, NULL, st2);
      for (size_t j = 0; j < k; j++) ck_assert_int_eq(st2[j], st[i + j]);
    } else {
      for (size_t j = i; j < i + k; j++) {
        const uint8_t *id = c.ids + c.offs[j];
        size_t len = (size_t)(c.offs[j + 1] - c.offs[j]);
        if (c.sets[j] >= 0 && st[j] == CXM_OK && c.types[j] != CXM_EV_SPEND)
          ck_assert_int_eq(cxm_customer_set_segments(m, id, len, c.sets[j]), CXM_OK);
        ck_assert_int_eq(cxm_event_add(m, c.times[j], c.types[j], id, len,
                                       c.chans[j], c.v1[j], c.v2[j]),
                         st[j]);
      }
    }
  }
  twins_eq(m, b, "mixed paths vs single");
  free(st);
  cols_free(&c);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(m);
}
END_TEST

/* ---- the customer-level shortcuts, by hand ---------------------------------- */

START_TEST(test_repeat_purchase_refund_lead_by_hand) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), mail = t_chan(ctx, "email");
  /* x: lead (email) at T0, purchase (web) before it, then repeat purchases
     after it (now converted), a refund, and a later lead (no change). */
  T_ADD1(ctx, T0 + 2 * HOUR, CXM_EV_LEAD, "x", mail, NAN);
  T_ADD1(ctx, T0 + 1 * HOUR, CXM_EV_PURCHASE, "x", web, 10.00);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, CXM_ALL, 0.0, 1);
  T_ADD1(ctx, T0 + 3 * HOUR, CXM_EV_PURCHASE, "x", mail, 5.50);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, CXM_ALL, 1.0, 1);
  T_ADD1(ctx, T0 + 4 * HOUR, CXM_EV_PURCHASE, "x", mail, 4.50);
  T_ADD1(ctx, T0 + 5 * HOUR, CXM_EV_REFUND, "x", web, 3.00);
  T_ADD1(ctx, T0 + 6 * HOUR, CXM_EV_LEAD, "x", web, NAN);
  /* y: a refund before any purchase, then one purchase. */
  T_ADD1(ctx, T0 + 7 * HOUR, CXM_EV_REFUND, "y", web, 2.00);
  T_ADD1(ctx, T0 + 8 * HOUR, CXM_EV_PURCHASE, "y", mail, 1.00);
  /* z: exactly two purchases (a repeat buyer at the second). */
  T_ADD1(ctx, T0 + 9 * HOUR, CXM_EV_PURCHASE, "z", web, 1.00);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, web, 0.5, 2);
  T_ADD1(ctx, T0 + 10 * HOUR, CXM_EV_PURCHASE, "z", mail, 2.00);
  /* x and z were acquired as buyers on web (first purchase), x as a lead by
     email; y bought first by email. */
  T_KPI_INT(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 6, -1);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 3.0, -1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 2.0 / 3.0, 3);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, CXM_ALL, CXM_ALL, 2.0, 3);
  /* historical CLV: (10 + 5.5 + 4.5 - 3) + (1 - 2) + (1 + 2) = 19 over 3 */
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 19.0 / 3.0, 3);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, web, 10.0, 2);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, CXM_ALL, mail, -1.0, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, web, 1.0, 2);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, mail, 0.0, 1);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, mail, 1.0, 1);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, web, NAN, 0);
  /* v: a purchase, then a late first lead (1 h older, within the bound):
     v purchased after its first lead, so it converted. w: a lead after its
     only purchase: not converted. */
  T_ADD1(ctx, T0 + 12 * HOUR, CXM_EV_PURCHASE, "v", web, 7.00);
  T_ADD1(ctx, T0 + 11 * HOUR, CXM_EV_LEAD, "v", web, NAN);
  T_ADD1(ctx, T0 + 12 * HOUR, CXM_EV_PURCHASE, "w", mail, 1.00);
  T_ADD1(ctx, T0 + 13 * HOUR, CXM_EV_LEAD, "w", web, NAN);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, web, 0.5, 2);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, CXM_ALL, 2.0 / 3.0, 3);
  /* u: a lead, then its first purchase: converted at once. */
  T_ADD1(ctx, T0 + 17 * HOUR, CXM_EV_LEAD, "u", mail, NAN);
  T_ADD1(ctx, T0 + 18 * HOUR, CXM_EV_PURCHASE, "u", web, 1.00);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, CXM_ALL, 0.75, 4);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, mail, 1.0, 2);
  /* first interactions: two customers, three interactions, on their first
     interaction's channel */
  T_ADD0(ctx, T0 + 19 * HOUR, CXM_EV_TOUCH, "v", mail);
  T_ADD0(ctx, T0 + 20 * HOUR, CXM_EV_ENGAGE, "v", web);
  T_ADD1(ctx, T0 + 21 * HOUR, CXM_EV_SESSION, "w", web, 3.0);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, CXM_ALL, 1.5, 2);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, mail, 2.0, 1);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, web, 1.0, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("ingest");
  TCase *tc = tcase_create("batch");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_growth_finds_every_customer);
  tcase_add_loop_test(tc, test_batch_equals_single, 0, 3);
  tcase_add_loop_test(tc, test_batch_with_sets_and_mixed_paths, 0, 2);
  tcase_add_test(tc, test_repeat_purchase_refund_lead_by_hand);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(suite()); }
