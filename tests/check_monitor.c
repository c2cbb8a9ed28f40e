/*
 * check_monitor.c - monitoring: the detractor callback, threshold watches
 * (hysteresis, minimum n, scopes, trailing windows, late events), calls
 * from inside a callback, benchmarks and gaps, NPS lists. Expectations are
 * computed by hand in the comments beside each stream.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#include <stddef.h>

/* ------------------------------------------------------------------------
 * Recording callbacks.
 */
#define REC_MAX 64

typedef struct det_call {
  uint64_t customer;
  int32_t score, channel;
  int64_t time;
} det_call;

typedef struct det_rec {
  int n;
  det_call c[REC_MAX];
} det_rec;

static void on_det(void *user, uint64_t customer, int32_t score,
                   int32_t channel, int64_t time) {
  det_rec *r = user;
  ck_assert_int_lt(r->n, REC_MAX);
  r->c[r->n++] = (det_call){customer, score, channel, time};
}

typedef struct watch_call {
  int32_t watch, alerting;
  double value;
  int64_t n, time;
} watch_call;

typedef struct watch_rec {
  int n;
  watch_call c[REC_MAX];
} watch_rec;

static void on_watch(void *user, int32_t watch, int32_t alerting, double value,
                     int64_t n, int64_t time) {
  watch_rec *r = user;
  ck_assert_int_lt(r->n, REC_MAX);
  r->c[r->n++] = (watch_call){watch, alerting, value, n, time};
}

static uint64_t hash_of(cxm_ctx *ctx, const char *id) {
  uint64_t h = 0;
  ck_assert_int_eq(cxm_customer_hash(ctx, id, strlen(id), &h), CXM_OK);
  return h;
}

#define T_WATCH_CALL(rec, i, w, al, val, nn, t)                                \
  do {                                                                       \
    const watch_call *c_ = &(rec).c[(i)];                                    \
    ck_assert_int_eq(c_->watch, (w));                                        \
    ck_assert_int_eq(c_->alerting, (al));                                    \
    ck_assert_msg(t_close(c_->value, (val)), "call %d value %.17g want %.17g", \
                  (i), c_->value, (double)(val));                            \
    ck_assert_int_eq(c_->n, (nn));                                           \
    ck_assert_int_eq(c_->time, (t));                                         \
  } while (0)

/* ------------------------------------------------------------------------
 * Detractor callback.
 */
static void det_stream(cxm_ctx *ctx, int32_t web) {
  /* scores 10, 6, 7, 0, 9, 3: detractors are 6, 0 and 3 */
  T_ADD1(ctx, T0 + 1, CXM_EV_NPS, "ann", web, 10);
  T_ADD1(ctx, T0 + 2, CXM_EV_NPS, "bob", web, 6);
  T_ADD1(ctx, T0 + 3, CXM_EV_NPS, "cat", CXM_NO_CHANNEL, 7);
  T_ADD1(ctx, T0 + 4, CXM_EV_NPS, "dan", CXM_NO_CHANNEL, 0);
  T_ADD1(ctx, T0 + 5, CXM_EV_PURCHASE, "dan", web, 5);
  T_ADD1(ctx, T0 + 6, CXM_EV_NPS, "ann", web, 9);
  T_ADD1(ctx, T0 + 7, CXM_EV_NPS, "ann", web, 3);
  /* rejected answers never call back */
  ck_assert_int_eq(t_ev(ctx, T0 + 8, CXM_EV_NPS, "eve", web, 11, NAN), CXM_E_RANGE);
  ck_assert_int_eq(t_ev(ctx, T0 - 30 * DAY, CXM_EV_NPS, "ann", web, 1, NAN), CXM_E_LATE);
}

static void det_expect(cxm_ctx *ctx, const det_rec *r, int32_t web) {
  ck_assert_int_eq(r->n, 3);
  ck_assert(r->c[0].customer == hash_of(ctx, "bob"));
  ck_assert_int_eq(r->c[0].score, 6);
  ck_assert_int_eq(r->c[0].channel, web);
  ck_assert_int_eq(r->c[0].time, T0 + 2);
  ck_assert(r->c[1].customer == hash_of(ctx, "dan"));
  ck_assert_int_eq(r->c[1].score, 0);
  ck_assert_int_eq(r->c[1].channel, CXM_NO_CHANNEL);
  ck_assert_int_eq(r->c[1].time, T0 + 4);
  ck_assert(r->c[2].customer == hash_of(ctx, "ann"));
  ck_assert_int_eq(r->c[2].score, 3);
  ck_assert_int_eq(r->c[2].time, T0 + 7);
}

START_TEST(test_detractor_callback) {
  /* _i = 0: all modules (the default); 1: modules off, monitoring only. */
  cxm_ctx *ctx = t_new();
  if (_i == 1) ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, 0), CXM_OK);
  int32_t web = t_chan(ctx, "web");
  det_rec r = {0};
  ck_assert_int_eq(cxm_detractor_callback_set(ctx, on_det, &r), CXM_OK);
  det_stream(ctx, web);
  det_expect(ctx, &r, web);
  /* cleared: no more calls */
  ck_assert_int_eq(cxm_detractor_callback_set(ctx, NULL, NULL), CXM_OK);
  T_ADD1(ctx, T0 + 9, CXM_EV_NPS, "bob", web, 2);
  ck_assert_int_eq(r.n, 3);
  ck_assert_int_eq(cxm_detractor_callback_set(NULL, on_det, &r), CXM_E_NULL);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_detractor_batch) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  det_rec r = {0};
  ck_assert_int_eq(cxm_detractor_callback_set(ctx, on_det, &r), CXM_OK);
  /* the batch path: ids "x", "yy", "x"; scores 5, 8, 4 */
  int64_t times[3] = {T0, T0 + 10, T0 + 20};
  int32_t types[3] = {CXM_EV_NPS, CXM_EV_NPS, CXM_EV_NPS};
  const uint8_t ids[] = "xyyx";
  int64_t offs[4] = {0, 1, 3, 4};
  int32_t chans[3] = {web, CXM_NO_CHANNEL, CXM_NO_CHANNEL};
  double vals[3] = {5, 8, 4};
  size_t acc = 0;
  ck_assert_int_eq(cxm_events_add(ctx, 3, times, types, ids, offs, chans, vals,
                                  NULL, NULL, &acc, NULL),
                   CXM_OK);
  ck_assert_uint_eq(acc, 3);
  ck_assert_int_eq(r.n, 2);
  ck_assert(r.c[0].customer == hash_of(ctx, "x"));
  ck_assert_int_eq(r.c[0].score, 5);
  ck_assert_int_eq(r.c[0].channel, web);
  ck_assert(r.c[1].customer == hash_of(ctx, "x"));
  ck_assert_int_eq(r.c[1].score, 4);
  ck_assert_int_eq(r.c[1].time, T0 + 20);
  /* and through the CSV reader */
  cxm_csv *csv = NULL;
  ck_assert_int_eq(cxm_csv_create(ctx, &csv), CXM_OK);
  const char *text = "time,customer,type,channel,value\n"
                     "1767229200,zed,nps,web,2\n1767229201,zed,nps,web,10\n";
  ck_assert_int_eq(cxm_csv_feed(csv, text, strlen(text)), CXM_OK);
  ck_assert_int_eq(cxm_csv_finish(csv), CXM_OK);
  cxm_csv_destroy(csv);
  ck_assert_int_eq(r.n, 3);
  ck_assert(r.c[2].customer == hash_of(ctx, "zed"));
  ck_assert_int_eq(r.c[2].score, 2);
  ck_assert_int_eq(r.c[2].time, INT64_C(1767229200));
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Calls from inside a callback fail with CXM_E_STATE and change nothing.
 */
typedef struct reenter {
  cxm_ctx *ctx;
  int calls;
  int rc[15];
  int other_rc;
  cxm_ctx *other;
  cxm_csv *csv;
  cxm_jsonl *jsonl;
} reenter;

static void noop_watch(void *u, int32_t w, int32_t a, double v, int64_t n, int64_t t) {
  (void)u; (void)w; (void)a; (void)v; (void)n; (void)t;
}

static void on_det_reenter(void *user, uint64_t customer, int32_t score,
                           int32_t channel, int64_t time) {
  (void)customer; (void)score; (void)channel;
  reenter *r = user;
  cxm_ctx *ctx = r->ctx;
  double v;
  int32_t id;
  uint64_t hs[4];
  size_t cnt;
  uint64_t next;
  r->calls++;
  r->rc[0] = t_ev(ctx, time + 1, CXM_EV_PURCHASE, "zz", CXM_NO_CHANNEL, 1, NAN);
  r->rc[1] = cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW, &v, NULL);
  r->rc[2] = cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 5);
  r->rc[3] = cxm_channel_intern(ctx, "new", 3, &id);
  r->rc[4] = cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                           0, 0, 0, noop_watch, NULL, &id);
  r->rc[5] = cxm_customer_erase(ctx, "ann", 3);
  r->rc[6] = cxm_customers_by_nps(ctx, CXM_ALL, CXM_NPS_DETRACTOR, 0, hs, 4, &cnt, &next);
  r->rc[7] = cxm_benchmark_set(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 1);
  r->rc[8] = cxm_detractor_callback_set(ctx, NULL, NULL);
  r->rc[9] = cxm_customer_set_segments(ctx, "ann", 3, 0);
  r->rc[10] = cxm_segment_intern(ctx, "s", 1, &id);
  int64_t iv;
  r->rc[11] = cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, ALLW, &iv, NULL);
  /* the readers bound to the handle refuse too (their buffers are in use
     when the callback runs from their feed) */
  static const char csv_line[] = "1767229300,q,nps,,0\n";
  static const char js_line[] = "{\"type\":\"track\",\"userId\":\"q\",\"event\":\"x\"}\n";
  r->rc[12] = cxm_csv_feed(r->csv, csv_line, sizeof csv_line - 1);
  r->rc[13] = cxm_jsonl_feed(r->jsonl, js_line, sizeof js_line - 1);
  r->rc[14] = cxm_csv_finish(r->csv);
  /* another handle is fine */
  r->other_rc = t_ev(r->other, time, CXM_EV_NPS, "o", CXM_NO_CHANNEL, 1, NAN);
}

START_TEST(test_reentry_refused) {
  cxm_ctx *ctx = t_new();
  cxm_ctx *other = t_new();
  reenter r = {ctx, 0, {0}, -1, other, NULL, NULL};
  ck_assert_int_eq(cxm_csv_create(ctx, &r.csv), CXM_OK);
  ck_assert_int_eq(cxm_jsonl_create(ctx, &r.jsonl), CXM_OK);
  const char *hdr = "time,customer,type,channel,value\n";
  ck_assert_int_eq(cxm_csv_feed(r.csv, hdr, strlen(hdr)), CXM_OK);
  ck_assert_int_eq(cxm_detractor_callback_set(ctx, on_det_reenter, &r), CXM_OK);
  T_ADD1(ctx, T0, CXM_EV_NPS, "ann", CXM_NO_CHANNEL, 10);
  T_ADD1(ctx, T0 + 1, CXM_EV_NPS, "bob", CXM_NO_CHANNEL, 2);
  ck_assert_int_eq(r.calls, 1);
  uint64_t lines = 9;
  ck_assert_int_eq(cxm_csv_stats(r.csv, &lines, NULL, NULL), CXM_OK);
  ck_assert_int_eq(lines, 0);
  cxm_csv_destroy(r.csv);
  cxm_jsonl_destroy(r.jsonl);
  for (int i = 0; i < 15; i++)
    ck_assert_msg(r.rc[i] == CXM_E_STATE, "call %d from the callback: %d", i, r.rc[i]);
  ck_assert_int_eq(r.other_rc, CXM_OK);
  /* nothing changed: 2 events, 2 customers, lateness as before, no channel */
  int64_t v;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &v), CXM_OK);
  ck_assert_int_eq(v, 2);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  ck_assert_int_eq(v, 2);
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_MAX_LATENESS, &v), CXM_OK);
  ck_assert_int_eq(v, 7 * DAY);
  int32_t nch = -1;
  ck_assert_int_eq(cxm_channel_count(ctx, &nch), CXM_OK);
  ck_assert_int_eq(nch, 0);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0.0, 2); /* (1 - 1) / 2 */
  T_KPI(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 0.0, 0);
  /* after the callback the handle works again */
  ck_assert_int_eq(cxm_detractor_callback_set(ctx, NULL, NULL), CXM_OK);
  T_ADD1(ctx, T0 + 2, CXM_EV_PURCHASE, "zz", CXM_NO_CHANNEL, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 1.0, 1);
  cxm_ctx_destroy(ctx);
  cxm_ctx_destroy(other);
}
END_TEST

/* ------------------------------------------------------------------------
 * Threshold watches.
 */
START_TEST(test_watch_hysteresis) {
  cxm_ctx *ctx = t_new();
  if (_i == 1) ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, 0), CXM_OK);
  watch_rec r = {0};
  int32_t w = -1;
  /* alert when NPS <= 0 with n >= 3; clear when NPS > 20 */
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0,
                                 CXM_WATCH_BELOW, 0, 20, 3, on_watch, &r, &w),
                   CXM_OK);
  ck_assert_int_eq(w, 0);
  static const int scores[] = {10, 3, 2, 9, 10, 10, 1, 0, 2};
  for (int i = 0; i < 9; i++) {
    T_ADD1(ctx, T0 + i * HOUR, CXM_EV_NPS, i % 2 ? "a" : "b", CXM_NO_CHANNEL, scores[i]);
    /* other event types in the scope change nothing */
    T_ADD1(ctx, T0 + i * HOUR, CXM_EV_CSAT, "c", CXM_NO_CHANNEL, 1);
  }
  /* running (promoters, detractors, n) -> NPS:
     10: 1,0,1 100 (n < 3)      3: 1,1,2 0 (n < 3)
     2: 1,2,3 -33.3 FIRE        9: 2,2,4 0 (not > 20)
     10: 3,2,5 20 (not > 20)    10: 4,2,6 33.3 CLEAR
     1: 4,3,7 14.3              0: 4,4,8 0 FIRE
     2: 4,5,9 -11.1 (alerting already) */
  ck_assert_int_eq(r.n, 3);
  T_WATCH_CALL(r, 0, 0, 1, -100.0 / 3, 3, T0 + 2 * HOUR);
  T_WATCH_CALL(r, 1, 0, 0, 100.0 / 3, 6, T0 + 5 * HOUR);
  T_WATCH_CALL(r, 2, 0, 1, 0.0, 8, T0 + 7 * HOUR);
  int32_t al = -1;
  double v = 0;
  int64_t n = 0;
  ck_assert_int_eq(cxm_watch_get(ctx, w, &al, &v, &n), CXM_OK);
  ck_assert_int_eq(al, 1);
  ck_assert(t_close(v, -100.0 / 9));
  ck_assert_int_eq(n, 9);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, v, 9);
  ck_assert_int_eq(cxm_watch_remove(ctx, w), CXM_OK);
  ck_assert_int_eq(cxm_watch_remove(ctx, w), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_watch_get(ctx, w, &al, &v, &n), CXM_E_NOTFOUND);
  T_ADD1(ctx, T0 + 10 * HOUR, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 10);
  T_ADD1(ctx, T0 + 11 * HOUR, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 0);
  ck_assert_int_eq(r.n, 3);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_watch_scope) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  int32_t mail = t_chan(ctx, "mail");
  int32_t gold = t_seg(ctx, "gold");
  int32_t silver = t_seg(ctx, "silver");
  int32_t both[2] = {gold, silver};
  int32_t gs = t_set(ctx, 2, both);
  int32_t ss = t_set(ctx, 1, &silver);
  t_assign(ctx, "g1", gs);
  t_assign(ctx, "s1", ss);
  watch_rec r = {0};
  int32_t wg = -1, wall = -1;
  /* bounce rate of gold x web: alert at >= 0.5 (n >= 2), clear below 0.3 */
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_BOUNCE_RATE, gold, web, 0,
                                 CXM_WATCH_ABOVE, 0.5, 0.3, 2, on_watch, &r, &wg),
                   CXM_OK);
  /* revenue of all x mail: alert at >= 100.00 */
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_REVENUE, CXM_ALL, mail, 0,
                                 CXM_WATCH_ABOVE, 100, 100, 0, on_watch, &r, &wall),
                   CXM_OK);
  ck_assert_int_eq(wall, 1);
  int64_t t = T0;
  T_ADD(ctx, t++, CXM_EV_SESSION, "g1", web, 1, NAN);   /* gold x web: 1/1 (n < 2) */
  T_ADD(ctx, t++, CXM_EV_SESSION, "s1", web, 1, NAN);   /* not gold */
  T_ADD(ctx, t++, CXM_EV_SESSION, "g1", mail, 1, NAN);  /* not web */
  ck_assert_int_eq(r.n, 0);
  T_ADD(ctx, t++, CXM_EV_SESSION, "g1", web, 3, NAN);   /* 1/2 = 0.5: FIRE */
  ck_assert_int_eq(r.n, 1);
  T_WATCH_CALL(r, 0, wg, 1, 0.5, 2, T0 + 3);
  T_ADD(ctx, t++, CXM_EV_SESSION, "g1", web, 2, NAN);   /* 1/3 */
  T_ADD(ctx, t++, CXM_EV_SESSION, "g1", web, 2, NAN);   /* 1/4 = 0.25: CLEAR */
  ck_assert_int_eq(r.n, 2);
  T_WATCH_CALL(r, 1, wg, 0, 0.25, 4, T0 + 5);
  T_ADD1(ctx, t++, CXM_EV_PURCHASE, "s1", web, 500);    /* not mail */
  T_ADD1(ctx, t++, CXM_EV_PURCHASE, "s1", mail, 60.5);
  T_ADD1(ctx, t++, CXM_EV_PURCHASE, "n1", mail, 39.49); /* 99.99 */
  ck_assert_int_eq(r.n, 2);
  T_ADD1(ctx, t++, CXM_EV_PURCHASE, "g1", mail, 0.01);  /* 100.00: FIRE */
  ck_assert_int_eq(r.n, 3);
  T_WATCH_CALL(r, 2, wall, 1, 100.0, 3, T0 + 9);
  /* a watch's value is the scope's KPI */
  double v;
  int64_t n;
  ck_assert_int_eq(cxm_watch_get(ctx, wg, NULL, &v, &n), CXM_OK);
  T_KPI(ctx, CXM_KPI_BOUNCE_RATE, gold, web, v, n);
  ck_assert_int_eq(cxm_watch_get(ctx, wall, NULL, &v, &n), CXM_OK);
  T_KPI(ctx, CXM_KPI_REVENUE, CXM_ALL, mail, v, n);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_watch_trailing) {
  cxm_ctx *ctx = t_new();
  watch_rec r = {0};
  int32_t w = -1;
  /* orders over the trailing 2 days: alert at >= 3, clear below 2 */
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 2,
                                 CXM_WATCH_ABOVE, 3, 2, 0, on_watch, &r, &w),
                   CXM_OK);
  T_ADD1(ctx, T0 + 1 * HOUR, CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 1); /* day 0: 1 */
  T_ADD1(ctx, T0 + 2 * HOUR, CXM_EV_PURCHASE, "b", CXM_NO_CHANNEL, 1); /* day 0: 2 */
  ck_assert_int_eq(r.n, 0);
  T_ADD1(ctx, T0 + DAY, CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 1);      /* days 0-1: 3 FIRE */
  ck_assert_int_eq(r.n, 1);
  T_WATCH_CALL(r, 0, w, 1, 3.0, 3, T0 + DAY);
  T_ADD1(ctx, T0 + 3 * DAY, CXM_EV_PURCHASE, "c", CXM_NO_CHANNEL, 1);  /* days 2-3: 1 CLEAR */
  ck_assert_int_eq(r.n, 2);
  T_WATCH_CALL(r, 1, w, 0, 1.0, 1, T0 + 3 * DAY);
  /* late: day 2 is in the window (2 orders), day 1 is not (still 2) */
  T_ADD1(ctx, T0 + 2 * DAY + HOUR, CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + DAY + HOUR, CXM_EV_PURCHASE, "b", CXM_NO_CHANNEL, 1);
  double v;
  int64_t n, from, to;
  ck_assert_int_eq(cxm_watch_get(ctx, w, NULL, &v, &n), CXM_OK);
  ck_assert(t_close(v, 2.0));
  ck_assert_int_eq(n, 2);
  ck_assert_int_eq(cxm_window_trailing(ctx, T0 + 3 * DAY, 2, &from, &to), CXM_OK);
  T_KPI_W(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, from, to, 2.0, 2);
  ck_assert_int_eq(r.n, 2);
  /* another customer's event far ahead empties the window: read as 0 */
  T_ADD1(ctx, T0 + 10 * DAY, CXM_EV_NPS, "d", CXM_NO_CHANNEL, 5);
  ck_assert_int_eq(cxm_watch_get(ctx, w, NULL, &v, &n), CXM_OK);
  ck_assert(t_close(v, 0.0));
  ck_assert_int_eq(n, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* A watch added to a handle with history starts from the scope's counters,
   in the normal state: if the KPI is already past fire_at it fires at the
   scope's next event. */
START_TEST(test_watch_from_history) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  /* CSAT on web: 5, 2, 1 -> 1 of 3 positive = 33.3%; off web: 5 */
  T_ADD1(ctx, T0, CXM_EV_CSAT, "a", web, 5);
  T_ADD1(ctx, T0 + DAY, CXM_EV_CSAT, "b", web, 2);
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_CSAT, "c", web, 1);
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_CSAT, "c", CXM_NO_CHANNEL, 5);
  watch_rec r = {0};
  int32_t w = -1, w2 = -1;
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_CSAT, CXM_ALL, web, 0, CXM_WATCH_BELOW,
                                 50, 60, 1, on_watch, &r, &w),
                   CXM_OK);
  /* trailing 2 days (days 1-2): 2 and 1 -> 0% */
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_CSAT_MEAN, CXM_ALL, web, 2, CXM_WATCH_BELOW,
                                 1.0, 2.0, 1, on_watch, &r, &w2),
                   CXM_OK);
  double v;
  int64_t n;
  int32_t al = -1;
  ck_assert_int_eq(cxm_watch_get(ctx, w, &al, &v, &n), CXM_OK);
  ck_assert_int_eq(al, 0);
  ck_assert(t_close(v, 100.0 / 3));
  ck_assert_int_eq(n, 3);
  ck_assert_int_eq(cxm_watch_get(ctx, w2, &al, &v, &n), CXM_OK);
  ck_assert(t_close(v, 1.5));
  ck_assert_int_eq(n, 2);
  ck_assert_int_eq(r.n, 0);
  /* a web answer of 3: 1/4 = 25% <= 50 fires; mean of days 1-2 is 2 */
  T_ADD1(ctx, T0 + 2 * DAY + 1, CXM_EV_CSAT, "d", web, 3);
  ck_assert_int_eq(r.n, 1);
  T_WATCH_CALL(r, 0, w, 1, 25.0, 4, T0 + 2 * DAY + 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

static void count_watch(void *u, int32_t w, int32_t a, double v, int64_t n, int64_t t) {
  (void)w; (void)v; (void)n; (void)t;
  ((long *)u)[a]++;
}

START_TEST(test_watch_args) {
  cxm_ctx *ctx = t_new();
  watch_rec r = {0};
  int32_t w = -7;
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_ABOVE,
                                 1, 1, 0, on_watch, &r, &w), CXM_E_UNSUPPORTED);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_CAC, CXM_ALL, CXM_ALL, 0, CXM_WATCH_ABOVE,
                                 1, 1, 0, on_watch, &r, &w), CXM_E_UNSUPPORTED);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_ABOVE,
                                 1, 1, 0, on_watch, &r, &w), CXM_E_UNSUPPORTED);
  ck_assert_int_eq(cxm_watch_add(ctx, 999, CXM_ALL, CXM_ALL, 0, CXM_WATCH_ABOVE,
                                 1, 1, 0, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, 0, CXM_ALL, 0, CXM_WATCH_ABOVE,
                                 1, 1, 0, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, 3,
                                 1, 1, 0, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_ABOVE,
                                 1, 2, 0, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 1, 0, 0, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 NAN, 0, 0, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 0, 0, -1, on_watch, &r, &w), CXM_E_ARG);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 3661, CXM_WATCH_BELOW,
                                 0, 0, 0, on_watch, &r, &w), CXM_E_RANGE);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 0, 0, 0, NULL, &r, &w), CXM_E_NULL);
  ck_assert_int_eq(w, -7);
  /* ids are reused after removal; the limit holds */
  for (int i = 0; i < CXM_WATCHES_MAX; i++) {
    ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, i % 3, CXM_WATCH_BELOW,
                                   0, 0, 0, on_watch, &r, &w), CXM_OK);
    ck_assert_int_eq(w, i);
  }
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 0, 0, 0, on_watch, &r, &w), CXM_E_LIMIT);
  ck_assert_int_eq(cxm_watch_remove(ctx, 17), CXM_OK);
  ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 0, 0, 0, on_watch, &r, &w), CXM_OK);
  ck_assert_int_eq(w, 17);
  /* all 1024 watch the same scope (NPS <= 0): one detractor answer fires
     each once, a promoter answer (NPS 0) none, a second promoter clears
     each once (NPS 33.3 > 0) */
  long calls[2] = {0, 0};
  for (int32_t i = 0; i < CXM_WATCHES_MAX; i++) ck_assert_int_eq(cxm_watch_remove(ctx, i), CXM_OK);
  for (int32_t i = 0; i < CXM_WATCHES_MAX; i++)
    ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, i % 3, CXM_WATCH_BELOW,
                                   0, 0, 0, count_watch, calls, &w), CXM_OK);
  T_ADD1(ctx, T0, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 0);
  ck_assert_int_eq(calls[1], CXM_WATCHES_MAX);
  T_ADD1(ctx, T0, CXM_EV_NPS, "b", CXM_NO_CHANNEL, 10);
  ck_assert_int_eq(calls[1], CXM_WATCHES_MAX);
  ck_assert_int_eq(calls[0], 0);
  T_ADD1(ctx, T0, CXM_EV_NPS, "c", CXM_NO_CHANNEL, 10);
  ck_assert_int_eq(calls[0], CXM_WATCHES_MAX);
  ck_assert_int_eq(r.n, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Allocation failure: a failed cxm_watch_add or cxm_benchmark_set changes
 * nothing and leaks nothing.
 */
typedef struct t_alloc {
  long calls, fail_at, failures, live;
} t_alloc;

static void *a_malloc(void *o, size_t n) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) {
    a->failures++;
    return NULL;
  }
  void *p = malloc(n);
  if (p) a->live++;
  return p;
}
static void *a_realloc(void *o, void *p, size_t n) {
  t_alloc *a = o;
  if (!p) return a_malloc(o, n);
  if (++a->calls == a->fail_at) {
    a->failures++;
    return NULL;
  }
  return realloc(p, n);
}
static void a_free(void *o, void *p) {
  t_alloc *a = o;
  a->live--;
  free(p);
}

START_TEST(test_nomem) {
  t_alloc a = {0};
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, a_malloc, a_realloc, a_free, &a),
                   CXM_OK);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  T_ADD1(ctx, T0, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 3);
  watch_rec r = {0};
  int added = 0;
  long failures = 0;
  /* 20 watches (the array grows past 8 and 16), each tried until it works */
  for (int i = 0; i < 20; i++) {
    for (long k = 1;; k++) {
      int32_t w = -5;
      a.fail_at = a.calls + k;
      int rc = cxm_watch_add(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, i % 2 ? 7 : 0,
                             CXM_WATCH_BELOW, 0, 0, 0, on_watch, &r, &w);
      a.fail_at = 0;
      if (rc == CXM_OK) {
        ck_assert_int_eq(w, added);
        added++;
        break;
      }
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      ck_assert_int_eq(w, -5);
      failures++;
      ck_assert_int_lt(k, 10);
    }
    for (long k = 1;; k++) {
      a.fail_at = a.calls + k;
      int rc = cxm_benchmark_set(ctx, CXM_KPI_NPS + i, CXM_ALL, CXM_ALL, i);
      a.fail_at = 0;
      if (rc == CXM_OK) break;
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      failures++;
      double g;
      ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS + i, CXM_ALL, CXM_ALL, ALLW,
                                         &g, NULL, NULL, NULL),
                       CXM_E_NOTFOUND);
    }
  }
  ck_assert_int_gt(failures, 3);
  /* every watch is live and fires exactly once on the next detractor */
  T_ADD1(ctx, T0 + 1, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 2);
  ck_assert_int_eq(r.n, 20);
  for (int i = 0; i < 20; i++) ck_assert_int_eq(r.c[i].alerting, 1);
  cxm_ctx_destroy(ctx);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Benchmarks.
 */
START_TEST(test_benchmark_gap) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  int32_t gold = t_seg(ctx, "gold");
  int32_t gs = t_set(ctx, 1, &gold);
  t_assign(ctx, "g", gs);
  /* NPS all: 10, 9, 0, 5 -> (2 - 2) / 4 = 0; gold (g's answers): 10, 0 -> 0
     AOV web: 30 + 10 over 2 = 20.00 */
  T_ADD1(ctx, T0, CXM_EV_NPS, "g", web, 10);
  T_ADD1(ctx, T0, CXM_EV_NPS, "h", web, 9);
  T_ADD1(ctx, T0 + DAY, CXM_EV_NPS, "g", CXM_NO_CHANNEL, 0);
  T_ADD1(ctx, T0 + DAY, CXM_EV_NPS, "h", web, 5);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "h", web, 30);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "g", web, 10);
  double gap = 0, v = 0, b = 0;
  int64_t n = 0;
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW, &gap,
                                     &v, &b, &n), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 30), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, gold, CXM_ALL, -10), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_AOV, CXM_ALL, web, 25.5), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW, &gap,
                                     &v, &b, &n), CXM_OK);
  ck_assert(t_close(gap, -30.0) && t_close(v, 0.0) && t_close(b, 30.0));
  ck_assert_int_eq(n, 4);
  /* gold has its own benchmark; web falls back to the default */
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, gold, CXM_ALL, ALLW, &gap,
                                     NULL, &b, &n), CXM_OK);
  ck_assert(t_close(gap, 10.0) && t_close(b, -10.0));
  ck_assert_int_eq(n, 2);
  /* web: 10, 9, 5 -> (2 - 1) / 3 = 33.3 */
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, CXM_ALL, web, ALLW, &gap,
                                     NULL, &b, NULL), CXM_OK);
  ck_assert(t_close(gap, 100.0 / 3 - 30.0) && t_close(b, 30.0));
  /* a window: day 1 only: 0 and 5 -> -100 */
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, T0 + DAY,
                                     T0 + 2 * DAY, &gap, &v, NULL, &n), CXM_OK);
  ck_assert(t_close(gap, -130.0) && t_close(v, -100.0));
  ck_assert_int_eq(n, 2);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_AOV, CXM_ALL, web, ALLW, &gap,
                                     &v, NULL, &n), CXM_OK);
  ck_assert(t_close(gap, -5.5) && t_close(v, 20.0));
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_AOV, CXM_ALL, CXM_ALL, ALLW, &gap,
                                     NULL, NULL, NULL), CXM_E_NOTFOUND);
  /* replaced, then removed with NaN */
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, gold, CXM_ALL, 5), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, gold, CXM_ALL, ALLW, &gap,
                                     NULL, NULL, NULL), CXM_OK);
  ck_assert(t_close(gap, -5.0));
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, gold, CXM_ALL, NAN), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, gold, CXM_ALL, ALLW, &gap,
                                     NULL, &b, NULL), CXM_OK);
  ck_assert(t_close(gap, -30.0) && t_close(b, 30.0));
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, NAN), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_NPS, gold, CXM_ALL, ALLW, &gap,
                                     NULL, NULL, NULL), CXM_E_NOTFOUND);
  /* undefined KPI: gap NaN */
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_CES, CXM_ALL, CXM_ALL, 2), CXM_OK);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_CES, CXM_ALL, CXM_ALL, ALLW, &gap,
                                     NULL, NULL, &n), CXM_OK);
  ck_assert(isnan(gap));
  ck_assert_int_eq(n, 0);
  /* arguments */
  ck_assert_int_eq(cxm_benchmark_set(ctx, 0, CXM_ALL, CXM_ALL, 1), CXM_E_ARG);
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, 5, CXM_ALL, 1), CXM_E_ARG);
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, CXM_ALL, 9, 1), CXM_E_ARG);
  ck_assert_int_eq(cxm_benchmark_set(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, INFINITY), CXM_E_ARG);
  ck_assert_int_eq(cxm_benchmark_gap(ctx, CXM_KPI_CES, CXM_ALL, CXM_ALL, ALLW, NULL,
                                     NULL, NULL, NULL), CXM_E_NULL);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Lists by latest NPS category.
 */
static int has(const uint64_t *hs, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++)
    if (hs[i] == h) return 1;
  return 0;
}

/* All hashes of a list, fetched `cap` at a time. */
static size_t list_all(cxm_ctx *ctx, int32_t seg, int32_t cat, size_t cap,
                       uint64_t *out, size_t room) {
  uint64_t cursor = 0, buf[16];
  size_t total = 0;
  int rounds = 0;
  do {
    size_t cnt = 99;
    uint64_t next = 12345;
    ck_assert_int_eq(cxm_customers_by_nps(ctx, seg, cat, cursor, buf, cap, &cnt, &next),
                     CXM_OK);
    ck_assert_uint_le(cnt, cap);
    for (size_t i = 0; i < cnt; i++) {
      ck_assert_uint_lt(total, room);
      ck_assert(!has(out, total, buf[i])); /* never twice */
      out[total++] = buf[i];
    }
    cursor = next;
    ck_assert_int_lt(++rounds, 100);
  } while (cursor != 0);
  return total;
}

START_TEST(test_lists) {
  cxm_ctx *ctx = t_new();
  int32_t gold = t_seg(ctx, "gold");
  int32_t gs = t_set(ctx, 1, &gold);
  /* latest answers: a 9 (promoter; gold), b 3 then 8 (passive), c 10 then a
     late 2 an hour earlier (stays promoter; gold), d 0 (detractor; gold
     until moved out), e 7 then 6 at the same time (the last added: 6,
     detractor), f only a purchase (no category) */
  t_assign(ctx, "a", gs);
  t_assign(ctx, "c", gs);
  t_assign(ctx, "d", gs);
  T_ADD1(ctx, T0, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 9);
  T_ADD1(ctx, T0, CXM_EV_NPS, "b", CXM_NO_CHANNEL, 3);
  T_ADD1(ctx, T0 + DAY, CXM_EV_NPS, "b", CXM_NO_CHANNEL, 8);
  T_ADD1(ctx, T0 + 2 * HOUR, CXM_EV_NPS, "c", CXM_NO_CHANNEL, 10);
  T_ADD1(ctx, T0 + HOUR, CXM_EV_NPS, "c", CXM_NO_CHANNEL, 2);
  T_ADD1(ctx, T0, CXM_EV_NPS, "d", CXM_NO_CHANNEL, 0);
  T_ADD1(ctx, T0, CXM_EV_NPS, "e", CXM_NO_CHANNEL, 7);
  T_ADD1(ctx, T0, CXM_EV_NPS, "e", CXM_NO_CHANNEL, 6);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "f", CXM_NO_CHANNEL, 6);
  uint64_t got[16];
  for (size_t cap = 1; cap <= 3; cap++) {
    size_t n = list_all(ctx, CXM_ALL, CXM_NPS_PROMOTER, cap, got, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert(has(got, n, hash_of(ctx, "a")) && has(got, n, hash_of(ctx, "c")));
    n = list_all(ctx, CXM_ALL, CXM_NPS_PASSIVE, cap, got, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert(got[0] == hash_of(ctx, "b"));
    n = list_all(ctx, CXM_ALL, CXM_NPS_DETRACTOR, cap, got, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert(has(got, n, hash_of(ctx, "d")) && has(got, n, hash_of(ctx, "e")));
    n = list_all(ctx, gold, CXM_NPS_DETRACTOR, cap, got, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert(got[0] == hash_of(ctx, "d"));
    n = list_all(ctx, gold, CXM_NPS_PASSIVE, cap, got, 16);
    ck_assert_uint_eq(n, 0);
  }
  /* segments held now: d leaves gold */
  t_assign(ctx, "d", 0);
  ck_assert_uint_eq(list_all(ctx, gold, CXM_NPS_DETRACTOR, 4, got, 16), 0);
  ck_assert_uint_eq(list_all(ctx, gold, CXM_NPS_PROMOTER, 4, got, 16), 2);
  /* a new answer moves a customer between lists */
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_NPS, "b", CXM_NO_CHANNEL, 1);
  ck_assert_uint_eq(list_all(ctx, CXM_ALL, CXM_NPS_PASSIVE, 4, got, 16), 0);
  ck_assert_uint_eq(list_all(ctx, CXM_ALL, CXM_NPS_DETRACTOR, 4, got, 16), 3);
  /* arguments */
  size_t cnt;
  uint64_t next;
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, 0, 0, got, 4, &cnt, &next), CXM_E_ARG);
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, 4, 0, got, 4, &cnt, &next), CXM_E_ARG);
  ck_assert_int_eq(cxm_customers_by_nps(ctx, 7, 1, 0, got, 4, &cnt, &next), CXM_E_ARG);
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, 1, 0, got, 0, &cnt, &next), CXM_E_ARG);
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, 1, 0, NULL, 4, &cnt, &next), CXM_E_NULL);
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, 1, 0, got, 4, NULL, &next), CXM_E_NULL);
  /* a cursor past the end (customers erased since) completes the scan */
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, 1, 1000, got, 4, &cnt, &next), CXM_OK);
  ck_assert_uint_eq(cnt, 0);
  ck_assert_uint_eq(next, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* No callback fires while state is merged in (merge replays no events). */
START_TEST(test_no_callbacks_on_merge) {
  cxm_ctx *dst = t_new();
  cxm_ctx *src = t_new();
  det_rec r = {0};
  watch_rec wr = {0};
  int32_t w;
  ck_assert_int_eq(cxm_detractor_callback_set(dst, on_det, &r), CXM_OK);
  ck_assert_int_eq(cxm_watch_add(dst, CXM_KPI_NPS_DETRACTORS, CXM_ALL, CXM_ALL, 0,
                                 CXM_WATCH_ABOVE, 1, 1, 0, on_watch, &wr, &w), CXM_OK);
  T_ADD1(src, T0, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 0);
  T_ADD1(src, T0, CXM_EV_NPS, "b", CXM_NO_CHANNEL, 1);
  int rc = cxm_ctx_merge(dst, src);
  ck_assert_msg(rc == CXM_OK, "merge: %d %s", rc, cxm_ctx_errmsg(dst));
  ck_assert_int_eq(r.n, 0);
  ck_assert_int_eq(wr.n, 0);
  T_KPI(dst, CXM_KPI_NPS_DETRACTORS, CXM_ALL, CXM_ALL, 2.0, 2);
  cxm_ctx_destroy(dst);
  cxm_ctx_destroy(src);
}
END_TEST

/* Nor while a snapshot is loaded; callbacks stay with the handle and fire
   for the events added after the load. */
START_TEST(test_no_callbacks_on_load) {
  cxm_ctx *src = t_new();
  /* the core alone: the modules' own sections are their owners' to test */
  ck_assert_int_eq(cxm_option_set(src, CXM_OPT_MODULES, 0), CXM_OK);
  T_ADD1(src, T0, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 0);
  T_ADD1(src, T0, CXM_EV_NPS, "b", CXM_NO_CHANNEL, 4);
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(src, 0, &buf, &len), CXM_OK);
  cxm_ctx *dst = NULL;
  ck_assert_int_eq(cxm_ctx_create(&dst), CXM_OK);
  det_rec r = {0};
  ck_assert_int_eq(cxm_detractor_callback_set(dst, on_det, &r), CXM_OK);
  int rc = cxm_snapshot_load_buffer(dst, buf, len);
  ck_assert_msg(rc == CXM_OK, "load: %d %s", rc, cxm_ctx_errmsg(dst));
  cxm_buffer_free(src, buf, len);
  ck_assert_int_eq(r.n, 0);
  T_KPI(dst, CXM_KPI_NPS_DETRACTORS, CXM_ALL, CXM_ALL, 2.0, 2);
  /* with the source's key (snapshots keep only its fingerprint) the hash
     of "a" agrees */
  ck_assert_int_eq(cxm_key_set(dst, T_KEY, sizeof T_KEY), CXM_OK);
  T_ADD1(dst, T0 + 1, CXM_EV_NPS, "a", CXM_NO_CHANNEL, 1);
  ck_assert_int_eq(r.n, 1);
  ck_assert(r.c[0].customer == hash_of(src, "a"));
  cxm_ctx_destroy(dst);
  cxm_ctx_destroy(src);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("monitor");
  TCase *tc = tcase_create("monitor");
  tcase_add_loop_test(tc, test_detractor_callback, 0, 2);
  tcase_add_test(tc, test_detractor_batch);
  tcase_add_test(tc, test_reentry_refused);
  tcase_add_loop_test(tc, test_watch_hysteresis, 0, 2);
  tcase_add_test(tc, test_watch_scope);
  tcase_add_test(tc, test_watch_trailing);
  tcase_add_test(tc, test_watch_from_history);
  tcase_add_test(tc, test_watch_args);
  tcase_add_test(tc, test_nomem);
  tcase_add_test(tc, test_benchmark_gap);
  tcase_add_test(tc, test_lists);
  tcase_add_test(tc, test_no_callbacks_on_merge);
  tcase_add_test(tc, test_no_callbacks_on_load);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(suite()); }
