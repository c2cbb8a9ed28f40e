/*
 * check_retention.c - the retention module: active / churned customers,
 * rates, lifespans, formula CLV, cohorts, new vs returning buyers.
 *
 * Hand-computed streams for each definition, and randomised streams
 * (shuffled within the lateness bound, several UTC offsets) compared day by
 * day with a brute-force model written here from the definitions in
 * docs/retention.md.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <time.h>

#include "testutil.h"

static int64_t day_t(int64_t d) { return T0 + d * DAY; } /* noon not needed */

static void active_at(cxm_ctx *ctx, int32_t seg, int32_t ch, int64_t t,
                      int64_t want_active, int64_t want_churned) {
  int64_t a = -1, c = -1;
  int rc = cxm_retention_active(ctx, seg, ch, t, &a, &c);
  ck_assert_msg(rc == CXM_OK, "cxm_retention_active = %d: %s", rc, cxm_ctx_errmsg(ctx));
  ck_assert_msg(a == want_active && c == want_churned,
                "as of %lld (seg %d ch %d): active %lld churned %lld, want %lld %lld",
                (long long)t, (int)seg, (int)ch, (long long)a, (long long)c,
                (long long)want_active, (long long)want_churned);
}

static cxm_ctx *new_window(int64_t window_days) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_CHURN_WINDOW_DAYS, window_days), CXM_OK);
  return ctx;
}

/* Window 10 days. a: touch day 0, churn day 3, touch day 5 (returns).
   Active days 0..2 and 5..14; churned on 3, 4 and from 15 on. */
START_TEST(test_churn_and_return) {
  cxm_ctx *ctx = new_window(10);
  int32_t web = t_chan(ctx, "web");
  T_ADD0(ctx, day_t(0) + 10 * HOUR, CXM_EV_TOUCH, "a", web);
  T_ADD0(ctx, day_t(3) + 10 * HOUR, CXM_EV_CHURN, "a", web);
  T_ADD0(ctx, day_t(5) + 10 * HOUR, CXM_EV_TOUCH, "a", web);
  active_at(ctx, CXM_ALL, CXM_ALL, day_t(-1), 0, 0);
  for (int d = 0; d <= 2; d++) active_at(ctx, CXM_ALL, CXM_ALL, day_t(d), 1, 0);
  for (int d = 3; d <= 4; d++) active_at(ctx, CXM_ALL, CXM_ALL, day_t(d), 0, 1);
  for (int d = 5; d <= 14; d++) active_at(ctx, CXM_ALL, CXM_ALL, day_t(d), 1, 0);
  active_at(ctx, CXM_ALL, CXM_ALL, day_t(15), 0, 1);
  active_at(ctx, CXM_ALL, CXM_ALL, day_t(400), 0, 1);
  /* the same in the channel of the first activity, nothing elsewhere */
  active_at(ctx, CXM_ALL, web, day_t(6), 1, 0);
  /* lifespans: first to last activity of the churned */
  double avg = -1, est = -1;
  int64_t n = -1;
  ck_assert_int_eq(cxm_retention_lifespan(ctx, CXM_ALL, CXM_ALL, day_t(4), &avg, &est, &n), CXM_OK);
  ck_assert_int_eq(n, 1);
  ck_assert(t_close(avg, 0.0));
  ck_assert_int_eq(cxm_retention_lifespan(ctx, CXM_ALL, CXM_ALL, day_t(20), &avg, &est, &n), CXM_OK);
  ck_assert_int_eq(n, 1);
  ck_assert(t_close(avg, 5.0));
  /* The churn event arriving last (it is within the lateness bound): same. */
  cxm_ctx *c2 = new_window(10);
  web = t_chan(c2, "web");
  T_ADD0(c2, day_t(0) + 10 * HOUR, CXM_EV_TOUCH, "a", web);
  T_ADD0(c2, day_t(5) + 10 * HOUR, CXM_EV_TOUCH, "a", web);
  T_ADD0(c2, day_t(3) + 10 * HOUR, CXM_EV_CHURN, "a", web);
  for (int d = -1; d <= 16; d++) {
    int64_t a1, c1, a2, cc2;
    ck_assert_int_eq(cxm_retention_active(ctx, CXM_ALL, CXM_ALL, day_t(d), &a1, &c1), CXM_OK);
    ck_assert_int_eq(cxm_retention_active(c2, CXM_ALL, CXM_ALL, day_t(d), &a2, &cc2), CXM_OK);
    ck_assert_msg(a1 == a2 && c1 == cc2, "day %d: in order %lld/%lld, late churn %lld/%lld",
                  d, (long long)a1, (long long)c1, (long long)a2, (long long)cc2);
  }
  cxm_ctx_destroy(c2);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Equal timestamps: a churn event at the same second as an activity wins, in
   either arrival order; message_sent is not activity. */
START_TEST(test_equal_timestamps) {
  for (int order = 0; order < 2; order++) {
    cxm_ctx *ctx = new_window(30);
    int64_t t = day_t(2) + 5 * HOUR;
    T_ADD0(ctx, day_t(0), CXM_EV_MESSAGE_SENT, "m", CXM_NO_CHANNEL);
    if (order == 0) {
      T_ADD0(ctx, t, CXM_EV_SESSION, "x", CXM_NO_CHANNEL);
      T_ADD0(ctx, t, CXM_EV_CHURN, "x", CXM_NO_CHANNEL);
    } else {
      T_ADD0(ctx, t, CXM_EV_CHURN, "x", CXM_NO_CHANNEL);
      T_ADD0(ctx, t, CXM_EV_SESSION, "x", CXM_NO_CHANNEL);
    }
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(1), 0, 0);
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(2), 0, 1);
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(20), 0, 1);
    /* activity on the next day brings it back */
    T_ADD1(ctx, day_t(3), CXM_EV_NPS, "x", CXM_NO_CHANNEL, 9);
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(2), 0, 1);
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(3), 1, 0);
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(32), 1, 0);
    active_at(ctx, CXM_ALL, CXM_ALL, day_t(33), 0, 1);
    cxm_ctx_destroy(ctx);
  }
}
END_TEST

/* Segments: the days from the span's start on follow the customer's current
   segments; older days stay with the segments held then. Channel: the first
   activity's, also when an earlier activity arrives late. */
START_TEST(test_segment_channel_semantics) {
  cxm_ctx *ctx = new_window(30);
  int32_t web = t_chan(ctx, "web"), app = t_chan(ctx, "app");
  int32_t g = t_seg(ctx, "gold"), s = t_seg(ctx, "silver");
  int32_t sg = t_set(ctx, 1, &g), ss = t_set(ctx, 1, &s);
  t_assign(ctx, "c", sg);
  T_ADD0(ctx, day_t(10), CXM_EV_TOUCH, "c", web);
  /* a late, earlier activity through app: app becomes the channel */
  T_ADD0(ctx, day_t(8), CXM_EV_TOUCH, "c", app);
  active_at(ctx, CXM_ALL, app, day_t(9), 1, 0);
  active_at(ctx, CXM_ALL, web, day_t(9), 0, 0);
  active_at(ctx, g, CXM_ALL, day_t(9), 1, 0);
  active_at(ctx, g, app, day_t(9), 1, 0);
  /* days 8..37 active; on day 60 the customer moves to silver with an event */
  T_ADD0(ctx, day_t(60), CXM_EV_TOUCH, "c", web);
  t_assign(ctx, "c", ss);
  active_at(ctx, g, CXM_ALL, day_t(20), 1, 0);   /* settled: stays gold */
  active_at(ctx, s, CXM_ALL, day_t(20), 0, 0);
  active_at(ctx, g, CXM_ALL, day_t(45), 0, 1);   /* churned while gold */
  active_at(ctx, s, CXM_ALL, day_t(60), 1, 0);   /* the recent span moved */
  active_at(ctx, g, CXM_ALL, day_t(60), 0, 0);
  active_at(ctx, s, app, day_t(89), 1, 0);
  active_at(ctx, s, app, day_t(90), 0, 1);
  active_at(ctx, CXM_ALL, CXM_ALL, day_t(90), 0, 1);
  /* unknown scope ids */
  int64_t a, c;
  ck_assert_int_eq(cxm_retention_active(ctx, 7, CXM_ALL, day_t(1), &a, &c), CXM_E_ARG);
  ck_assert_int_eq(cxm_retention_active(ctx, CXM_ALL, 9, day_t(1), &a, &c), CXM_E_ARG);
  ck_assert_int_eq(cxm_retention_active(ctx, CXM_ALL, CXM_ALL, day_t(1), NULL, NULL), CXM_E_NULL);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Rates, lifespan estimate and formula CLV by hand. Window 90, period 30.
   a, b, c touch on day 0; a buys 100 on day 40 and 50 on day 45; b churns on
   day 50. As of day 59: active a, c; A(29) = 3, no activation in (29, 59]:
   retention 2/3, churn 1/3, lifespan 3 periods; AOV 75, frequency 2 / 2;
   CLV = 75 x 1 x 3 = 225. */
START_TEST(test_rates_clv) {
  cxm_ctx *ctx = new_window(90);
  T_ADD0(ctx, day_t(0), CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(0), CXM_EV_TOUCH, "b", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(0), CXM_EV_TOUCH, "c", CXM_NO_CHANNEL);
  T_ADD1(ctx, day_t(40), CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 100);
  T_ADD1(ctx, day_t(45), CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 50);
  T_ADD0(ctx, day_t(50), CXM_EV_CHURN, "b", CXM_NO_CHANNEL);
  double churn = -1, ret = -1, clv = -1, aov = -1, freq = -1, life = -1;
  int64_t n = -1;
  ck_assert_int_eq(cxm_retention_rate(ctx, CXM_ALL, CXM_ALL, day_t(29), day_t(59),
                                      &churn, &ret, &n), CXM_OK);
  ck_assert_int_eq(n, 3);
  ck_assert(t_close(ret, 2.0 / 3.0));
  ck_assert(t_close(churn, 1.0 / 3.0));
  ck_assert_int_eq(cxm_retention_clv(ctx, CXM_ALL, CXM_ALL, day_t(59) + 3 * HOUR, &clv,
                                     &aov, &freq, &life), CXM_OK);
  ck_assert(t_close(aov, 75.0));
  ck_assert(t_close(freq, 1.0));
  ck_assert(t_close(life, 3.0));
  ck_assert(t_close(clv, 225.0));
  double avg, est;
  ck_assert_int_eq(cxm_retention_lifespan(ctx, CXM_ALL, CXM_ALL, day_t(59), &avg, &est, &n), CXM_OK);
  ck_assert_int_eq(n, 1);      /* b */
  ck_assert(t_close(avg, 0.0)); /* b's first and last activity: day 0 */
  ck_assert(t_close(est, 90.0)); /* 30 days / (1/3) */
  /* a new customer in the period counts as an activation: d touches on
     day 58: A(59) = 3, N = 1, retention still 2/3 */
  T_ADD0(ctx, day_t(58), CXM_EV_TOUCH, "d", CXM_NO_CHANNEL);
  ck_assert_int_eq(cxm_retention_rate(ctx, CXM_ALL, CXM_ALL, day_t(29), day_t(59),
                                      &churn, &ret, &n), CXM_OK);
  ck_assert(t_close(ret, 2.0 / 3.0));
  /* nobody active at t0: undefined */
  ck_assert_int_eq(cxm_retention_rate(ctx, CXM_ALL, CXM_ALL, day_t(-10), day_t(5),
                                      &churn, &ret, &n), CXM_OK);
  ck_assert(isnan(churn) && isnan(ret) && n == 0);
  ck_assert_int_eq(cxm_retention_rate(ctx, CXM_ALL, CXM_ALL, day_t(5), day_t(5),
                                      &churn, &ret, &n), CXM_E_RANGE);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- cohorts -------------------------------------------------------------- */

static int32_t month_index(int y, int m) { return y * 12 + m - 1; }

static void cohort_expect(cxm_ctx *ctx, int32_t month, int64_t size, size_t nk,
                          const int64_t *on, const int64_t *onafter) {
  int64_t sz = -1, o[16], oa[16];
  size_t n = 0;
  int rc = cxm_cohort_row(ctx, month, &sz, o, oa, 16, &n);
  ck_assert_msg(rc == CXM_OK, "cxm_cohort_row(%d) = %d: %s", (int)month, rc, cxm_ctx_errmsg(ctx));
  ck_assert_msg(sz == size && n == nk, "cohort %d: size %lld n %zu, want %lld %zu",
                (int)month, (long long)sz, n, (long long)size, nk);
  for (size_t k = 0; k < nk; k++)
    ck_assert_msg(o[k] == on[k] && oa[k] == onafter[k],
                  "cohort %d month +%zu: on %lld on_or_after %lld, want %lld %lld",
                  (int)month, k, (long long)o[k], (long long)oa[k],
                  (long long)on[k], (long long)onafter[k]);
}

/* 2026-01-31 23:30 UTC and 2026-02-01 00:30 UTC: two cohorts in UTC, one
   (February) at UTC+02:00, one (January) at UTC-01:00. */
START_TEST(test_cohort_month_edges) {
  const int64_t jan31 = INT64_C(1769902200); /* 2026-01-31T23:30:00Z */
  const int64_t feb1 = INT64_C(1769905800);  /* 2026-02-01T00:30:00Z */
  ck_assert_int_eq(feb1 - jan31, HOUR);
  int64_t offsets[3] = {0, 7200, -3600};
  for (int oi = 0; oi < 3; oi++) {
    cxm_ctx *ctx = t_new();
    ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, offsets[oi]), CXM_OK);
    T_ADD1(ctx, jan31, CXM_EV_PURCHASE, "p", CXM_NO_CHANNEL, 10);
    T_ADD1(ctx, feb1, CXM_EV_PURCHASE, "q", CXM_NO_CHANNEL, 10);
    T_ADD1(ctx, feb1 + 40 * DAY, CXM_EV_PURCHASE, "p", CXM_NO_CHANNEL, 10);
    int32_t first, months;
    ck_assert_int_eq(cxm_cohort_span(ctx, &first, &months), CXM_OK);
    if (offsets[oi] == 0) {
      /* p: Jan cohort, buys in Jan and Mar; q: Feb cohort */
      ck_assert_int_eq(first, month_index(2026, 1));
      ck_assert_int_eq(months, 3);
      const int64_t on_j[3] = {1, 0, 1}, oa_j[3] = {1, 1, 1};
      cohort_expect(ctx, month_index(2026, 1), 1, 3, on_j, oa_j);
      const int64_t on_f[2] = {1, 0}, oa_f[2] = {1, 0};
      cohort_expect(ctx, month_index(2026, 2), 1, 2, on_f, oa_f);
    } else if (offsets[oi] == 7200) {
      /* both first purchases fall on Feb 1 local */
      ck_assert_int_eq(first, month_index(2026, 2));
      ck_assert_int_eq(months, 2);
      const int64_t on_f[2] = {2, 1}, oa_f[2] = {2, 1};
      cohort_expect(ctx, month_index(2026, 2), 2, 2, on_f, oa_f);
    } else {
      /* both fall on Jan 31 local; p again on Mar 12 local (Mar cohort +2) */
      ck_assert_int_eq(first, month_index(2026, 1));
      ck_assert_int_eq(months, 3);
      const int64_t on_j[3] = {2, 0, 1}, oa_j[3] = {2, 1, 1};
      cohort_expect(ctx, month_index(2026, 1), 2, 3, on_j, oa_j);
    }
    int64_t sz, o[1], oa[1];
    size_t n;
    ck_assert_int_eq(cxm_cohort_row(ctx, month_index(2025, 12), &sz, o, oa, 1, &n), CXM_E_RANGE);
    cxm_ctx_destroy(ctx);
  }
}
END_TEST

/* A late purchase in the previous month becomes the first one: the customer
   moves to the earlier cohort with all its months; purchases in a month
   already counted do not count again. */
START_TEST(test_cohort_late_first_purchase) {
  const int64_t feb2 = INT64_C(1769990400); /* 2026-02-02T00:00:00Z */
  cxm_ctx *ctx = t_new();
  T_ADD1(ctx, feb2 + 10 * HOUR, CXM_EV_PURCHASE, "r", CXM_NO_CHANNEL, 5);
  T_ADD1(ctx, feb2 + 12 * HOUR, CXM_EV_PURCHASE, "r", CXM_NO_CHANNEL, 5);
  T_ADD1(ctx, feb2 - 3 * DAY, CXM_EV_PURCHASE, "r", CXM_NO_CHANNEL, 5); /* Jan 30 */
  T_ADD1(ctx, feb2 - 2 * DAY, CXM_EV_PURCHASE, "r", CXM_NO_CHANNEL, 5); /* Jan 31 */
  int32_t first, months;
  ck_assert_int_eq(cxm_cohort_span(ctx, &first, &months), CXM_OK);
  ck_assert_int_eq(first, month_index(2026, 1));
  const int64_t on_j[2] = {1, 1}, oa_j[2] = {1, 1};
  cohort_expect(ctx, month_index(2026, 1), 1, 2, on_j, oa_j);
  const int64_t z[1] = {0};
  cohort_expect(ctx, month_index(2026, 2), 0, 1, z, z);
  /* new / returning per day: Jan 30 new; Jan 31 and Feb 2 returning (Feb 2
     twice the same day: once) */
  int64_t nb[5], rb[5];
  size_t nd = 0;
  ck_assert_int_eq(cxm_buyers_daily(ctx, feb2 - 3 * DAY, feb2 + 2 * DAY, nb, rb, 5, &nd), CXM_OK);
  ck_assert_int_eq(nd, 5);
  const int64_t wn[5] = {1, 0, 0, 0, 0}, wr[5] = {0, 1, 0, 1, 0};
  for (int i = 0; i < 5; i++)
    ck_assert_msg(nb[i] == wn[i] && rb[i] == wr[i], "day %d: new %lld returning %lld", i,
                  (long long)nb[i], (long long)rb[i]);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_module_off) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, CXM_MOD_ALL & ~CXM_MOD_RETENTION), CXM_OK);
  T_ADD0(ctx, day_t(0), CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  int64_t a, c;
  ck_assert_int_eq(cxm_retention_active(ctx, CXM_ALL, CXM_ALL, day_t(0), &a, &c), CXM_E_UNSUPPORTED);
  int32_t f, m;
  ck_assert_int_eq(cxm_cohort_span(ctx, &f, &m), CXM_E_UNSUPPORTED);
  cxm_ctx_destroy(ctx);
  /* and costs nothing: same memory as with no module at all */
  int64_t mem_off, mem_none;
  cxm_ctx *c1 = t_new(), *c2 = t_new();
  ck_assert_int_eq(cxm_option_set(c1, CXM_OPT_MODULES, CXM_MOD_ALL & ~CXM_MOD_RETENTION), CXM_OK);
  ck_assert_int_eq(cxm_option_set(c2, CXM_OPT_MODULES, CXM_MOD_ALL & ~CXM_MOD_RETENTION), CXM_OK);
  cxm_ctx *c3 = t_new();
  ck_assert_int_eq(cxm_option_set(c3, CXM_OPT_MODULES, CXM_MOD_ALL), CXM_OK);
  for (int i = 0; i < 50; i++) {
    char id[16];
    snprintf(id, sizeof id, "c%d", i);
    T_ADD0(c1, day_t(i), CXM_EV_TOUCH, id, CXM_NO_CHANNEL);
    T_ADD0(c3, day_t(i), CXM_EV_TOUCH, id, CXM_NO_CHANNEL);
  }
  ck_assert_int_eq(cxm_stat_get(c1, CXM_STAT_MEMORY_BYTES, &mem_off), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(c3, CXM_STAT_MEMORY_BYTES, &mem_none), CXM_OK);
  ck_assert_msg(mem_none > mem_off, "the module on costs memory (%lld vs %lld)",
                (long long)mem_none, (long long)mem_off);
  cxm_ctx_destroy(c1);
  cxm_ctx_destroy(c2);
  cxm_ctx_destroy(c3);
}
END_TEST

/* ---- the brute-force model ---------------------------------------------------- */

#define RN 2500
#define RC 40
typedef struct rev {
  int64_t t;
  int32_t type, ch;
  int cust;
} rev;

static int64_t fday(int64_t t, int64_t off) {
  int64_t a = t + off;
  return a >= 0 ? a / DAY : -((-a + DAY - 1) / DAY);
}

static int32_t month_of(int64_t day) {
  time_t t = (time_t)(day * DAY);
  struct tm tm;
  gmtime_r(&t, &tm);
  return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static int is_act(int32_t type) {
  return type != CXM_EV_MESSAGE_SENT && type != CXM_EV_CHURN;
}

/* The customer's state on day d from its events (arrival order irrelevant). */
static void ref_state(const rev *ev, int n, int cust, int64_t off, int64_t w, int64_t d,
                      int *active, int *churned, int64_t *life) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (int i = 0; i < n; i++) {
    if (ev[i].cust != cust || !is_act(ev[i].type)) continue;
    int64_t ed = fday(ev[i].t, off);
    if (ed > d) continue;
    if (ed < first) first = ed;
    if (ed > last) last = ed;
  }
  *active = *churned = 0;
  *life = 0;
  if (first == INT64_MAX) return;
  int cut = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].cust != cust || ev[i].type != CXM_EV_CHURN) continue;
    int64_t ed = fday(ev[i].t, off);
    if (ed >= last && ed <= d) cut = 1;
  }
  *active = !cut && last > d - w;
  *churned = !*active;
  if (*churned) *life = last - first;
}

/* Channel of the first activity: the first to arrive among those on the
   earliest activity day. */
static int32_t ref_channel(const rev *ev, int n, int cust, int64_t off) {
  int64_t first = INT64_MAX;
  int32_t ch = -5;
  for (int i = 0; i < n; i++) {
    if (ev[i].cust != cust || !is_act(ev[i].type)) continue;
    int64_t ed = fday(ev[i].t, off);
    if (ed < first) first = ed, ch = ev[i].ch;
  }
  return ch;
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)((rng_state >> 33) % n);
}

static int cmp_arrival(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Events over 80 days, arrival shuffled within 7 days, window 10, two
   channels, segment gold for every third customer. */
static void random_stream(rev *ev, int n, uint64_t seed) {
  rng_state = seed;
  static const int32_t types[] = {CXM_EV_TOUCH, CXM_EV_SESSION, CXM_EV_PURCHASE,
                                  CXM_EV_PURCHASE, CXM_EV_MESSAGE_SENT, CXM_EV_CHURN,
                                  CXM_EV_NPS, CXM_EV_MESSAGE_OPEN};
  int64_t (*arr)[2] = malloc(sizeof(int64_t[2]) * (size_t)n);
  rev *tmp = malloc(sizeof(rev) * (size_t)n);
  for (int i = 0; i < n; i++) {
    tmp[i].t = T0 + (int64_t)rnd(80 * 24) * HOUR + rnd(3600);
    tmp[i].type = types[rnd(8)];
    if (tmp[i].type == CXM_EV_CHURN && rnd(3)) tmp[i].type = CXM_EV_TOUCH;
    tmp[i].ch = rnd(3) == 0 ? CXM_NO_CHANNEL : (int32_t)rnd(2);
    tmp[i].cust = (int)rnd(RC);
    if (rnd(50) == 0 && i > 0) tmp[i].t = tmp[i - 1].t; /* equal timestamps */
  }
  /* arrival = time + a delay below 7 days, so nothing is later than the bound */
  for (int i = 0; i < n; i++) {
    arr[i][0] = tmp[i].t + (int64_t)rnd(7 * 24) * HOUR;
    arr[i][1] = i;
  }
  qsort(arr, (size_t)n, sizeof arr[0], cmp_arrival);
  for (int i = 0; i < n; i++) ev[i] = tmp[arr[i][1]];
  free(arr);
  free(tmp);
}

/* Feeds the events i with pick(i) (all when pick is NULL). */
static void feed_some(cxm_ctx *ctx, const rev *ev, int n, int32_t gold_set,
                      int (*pick)(const rev *, int)) {
  for (int c = 0; c < RC; c++) {
    if (c % 3) continue;
    char id[16];
    snprintf(id, sizeof id, "cust%d", c);
    t_assign(ctx, id, gold_set);
  }
  for (int i = 0; i < n; i++) {
    if (pick && !pick(ev, i)) continue;
    char id[16];
    snprintf(id, sizeof id, "cust%d", ev[i].cust);
    double v = ev[i].type == CXM_EV_PURCHASE ? 10.0 : ev[i].type == CXM_EV_NPS ? 8.0 : NAN;
    T_ADD(ctx, ev[i].t, ev[i].type, id, ev[i].ch, v, NAN);
  }
}

static void feed(cxm_ctx *ctx, const rev *ev, int n, int32_t gold_set) {
  feed_some(ctx, ev, n, gold_set, NULL);
}

/* The exact rates of many periods (d0, d1), 1 to 60 days long, in the five
   scopes, against the model: each customer active on d0 (its scope: the
   channel of its first activity, its segments now) counts in n, and in the
   kept ones when active on d1 too. */
static void check_rates(cxm_ctx *ctx, const rev *ev, int n, int64_t off, int64_t w,
                        int32_t gold, const int32_t *chs) {
  static const int lens[6] = {1, 3, 7, 10, 30, 60};
  const int32_t seg[5] = {CXM_ALL, gold, CXM_ALL, CXM_ALL, gold};
  const int32_t chn[5] = {CXM_ALL, CXM_ALL, 0, 1, 1};
  for (int64_t d0 = -2; d0 <= 80 + w; d0 += 3) {
    for (int li = 0; li < 6; li++) {
      int64_t d1 = d0 + lens[li];
      int64_t na[5] = {0}, nk[5] = {0};
      for (int c = 0; c < RC; c++) {
        int a0, a1, ch;
        int64_t life;
        ref_state(ev, n, c, off, w, T0 / DAY + d0, &a0, &ch, &life);
        if (!a0) continue;
        ref_state(ev, n, c, off, w, T0 / DAY + d1, &a1, &ch, &life);
        int in[5] = {1, c % 3 == 0, chs[c] == 0, chs[c] == 1, c % 3 == 0 && chs[c] == 1};
        for (int k = 0; k < 5; k++) na[k] += in[k], nk[k] += in[k] && a1;
      }
      int64_t t0 = T0 + d0 * DAY - off + 13 * HOUR, t1 = T0 + d1 * DAY - off + 2 * HOUR;
      for (int k = 0; k < 5; k++) {
        double churn = -1, ret = -1;
        int64_t nn = -1;
        int rc = cxm_retention_rate(ctx, seg[k], chn[k], t0, t1, &churn, &ret, &nn);
        ck_assert_msg(rc == CXM_OK, "rate = %d: %s", rc, cxm_ctx_errmsg(ctx));
        ck_assert_msg(nn == na[k], "scope %d days %lld..%lld: n %lld want %lld", k,
                      (long long)d0, (long long)d1, (long long)nn, (long long)na[k]);
        if (na[k] == 0) {
          ck_assert(isnan(ret) && isnan(churn));
          continue;
        }
        /* exact fractions: the same division as the library's */
        double want = (double)nk[k] / (double)na[k];
        ck_assert_msg(ret == want && churn == 1.0 - want,
                      "scope %d days %lld..%lld: retention %.17g want %lld/%lld", k,
                      (long long)d0, (long long)d1, ret, (long long)nk[k], (long long)na[k]);
      }
    }
  }
}

static void compare_model2(cxm_ctx *ctx, const rev *ev, int n, int64_t off, int64_t w,
                           int32_t gold, int buyers) {
  int32_t chs[RC];
  for (int c = 0; c < RC; c++) chs[c] = ref_channel(ev, n, c, off);
  for (int64_t d = -3; d <= 80 + w + 2; d++) {
    /* scopes: all, gold, channel 0, channel 1, gold x channel 1 */
    int64_t ra[5] = {0}, rc[5] = {0}, rl = 0;
    for (int c = 0; c < RC; c++) {
      int a, ch;
      int64_t life;
      ref_state(ev, n, c, off, w, T0 / DAY + d, &a, &ch, &life);
      int in[5] = {1, c % 3 == 0, chs[c] == 0, chs[c] == 1, c % 3 == 0 && chs[c] == 1};
      for (int s = 0; s < 5; s++) ra[s] += in[s] * a, rc[s] += in[s] * ch;
      rl += life;
    }
    int64_t t = T0 + d * DAY - off + 12 * HOUR; /* noon of local day d */
    active_at(ctx, CXM_ALL, CXM_ALL, t, ra[0], rc[0]);
    active_at(ctx, gold, CXM_ALL, t, ra[1], rc[1]);
    active_at(ctx, CXM_ALL, 0, t, ra[2], rc[2]);
    active_at(ctx, CXM_ALL, 1, t, ra[3], rc[3]);
    active_at(ctx, gold, 1, t, ra[4], rc[4]);
    double avg;
    int64_t nn;
    ck_assert_int_eq(cxm_retention_lifespan(ctx, CXM_ALL, CXM_ALL, t, &avg, NULL, &nn), CXM_OK);
    ck_assert_int_eq(nn, rc[0]);
    if (nn) ck_assert_msg(t_close(avg * (double)nn, (double)rl), "day %lld: lifespan sum %g want %lld",
                          (long long)d, avg * (double)nn, (long long)rl);
  }
  /* rates from the definition, customer by customer: of those active on
     d0, the share active on d1; many (d0, d1) pairs, every scope */
  check_rates(ctx, ev, n, off, w, gold, chs);
  if (!buyers) return;
  /* cohorts and buyers per day */
  int64_t fp[RC], lp[RC];
  for (int c = 0; c < RC; c++) fp[c] = INT64_MAX, lp[c] = INT64_MIN;
  for (int i = 0; i < n; i++) {
    if (ev[i].type != CXM_EV_PURCHASE) continue;
    int64_t d = fday(ev[i].t, off);
    if (d < fp[ev[i].cust]) fp[ev[i].cust] = d;
    if (d > lp[ev[i].cust]) lp[ev[i].cust] = d;
  }
  int32_t m0, nm;
  ck_assert_int_eq(cxm_cohort_span(ctx, &m0, &nm), CXM_OK);
  for (int32_t cm = m0; cm < m0 + nm; cm++) {
    int64_t size = 0, on[16] = {0}, oa[16] = {0};
    for (int c = 0; c < RC; c++) {
      if (fp[c] == INT64_MAX || month_of(fp[c]) != cm) continue;
      size++;
      for (int32_t k = 0; cm + k < m0 + nm; k++) {
        int bought = 0;
        for (int i = 0; i < n; i++)
          bought |= ev[i].cust == c && ev[i].type == CXM_EV_PURCHASE &&
                    month_of(fday(ev[i].t, off)) == cm + k;
        on[k] += bought;
        oa[k] += month_of(lp[c]) >= cm + k;
      }
    }
    cohort_expect(ctx, cm, size, (size_t)(m0 + nm - cm), on, oa);
  }
  int64_t nb[120], rb[120];
  size_t nd;
  int64_t from = T0 - 5 * DAY - off;
  ck_assert_int_eq(cxm_buyers_daily(ctx, from, from + 100 * DAY, nb, rb, 120, &nd), CXM_OK);
  ck_assert_int_eq(nd, 100);
  for (int64_t i = 0; i < 100; i++) {
    int64_t d = T0 / DAY - 5 + i, wn = 0, wr = 0;
    for (int c = 0; c < RC; c++) {
      int bought = 0;
      for (int j = 0; j < n; j++)
        bought |= ev[j].cust == c && ev[j].type == CXM_EV_PURCHASE && fday(ev[j].t, off) == d;
      wn += bought && fp[c] == d;
      wr += bought && fp[c] < d;
    }
    ck_assert_msg(nb[i] == wn && rb[i] == wr, "day %lld: new %lld returning %lld, want %lld %lld",
                  (long long)d, (long long)nb[i], (long long)rb[i], (long long)wn, (long long)wr);
  }
}

static void compare_model(cxm_ctx *ctx, const rev *ev, int n, int64_t off, int64_t w,
                          int32_t gold) {
  compare_model2(ctx, ev, n, off, w, gold, 1);
}

/* The model streams' value column: an amount for purchases, a score for
   NPS answers. */
static double model_value(int32_t type) {
  return type == CXM_EV_PURCHASE ? 10.0 : type == CXM_EV_NPS ? 8.0 : NAN;
}

/* Every third customer holds the gold set before the stream starts. */
static void model_assign_gold(cxm_ctx *ctx, int32_t gold_set) {
  for (int c = 0; c < RC; c += 3) {
    char id[16];
    snprintf(id, sizeof id, "cust%d", c);
    t_assign(ctx, id, gold_set);
  }
}

/* The events one at a time, compared with the model after every `every`
   events (0: never). */
static void model_feed(cxm_ctx *ctx, const rev *ev, int n, int every, int64_t off, int64_t w,
                       int32_t gold) {
  for (int i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof id, "cust%d", ev[i].cust);
    T_ADD(ctx, ev[i].t, ev[i].type, id, ev[i].ch, model_value(ev[i].type), NAN);
    if (every && i % every == every - 1) compare_model2(ctx, ev, i + 1, off, w, gold, 0);
  }
}

static cxm_ctx *model_ctx(int64_t off, int32_t *gold, int32_t *gold_set) {
  cxm_ctx *ctx = new_window(10);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, off), CXM_OK);
  t_chan(ctx, "web");
  t_chan(ctx, "app");
  *gold = t_seg(ctx, "gold");
  *gold_set = t_set(ctx, 1, gold);
  return ctx;
}

START_TEST(test_random_against_model) {
  static const int64_t offs[3] = {0, -5 * HOUR, 19800};
  int64_t off = offs[_i % 3];
  rev *ev = malloc(sizeof(rev) * RN);
  random_stream(ev, RN, 1000 + (uint64_t)_i);
  int32_t gold, gold_set;
  cxm_ctx *ctx = model_ctx(off, &gold, &gold_set);
  feed(ctx, ev, RN, gold_set);
  compare_model(ctx, ev, RN, off, 10, gold);
  cxm_ctx_destroy(ctx);
  free(ev);
}
END_TEST

static int stg_even(const rev *ev, int i) { return ev[i].cust % 2 == 0; }
static int stg_odd(const rev *ev, int i) { return ev[i].cust % 2 == 1; }

/* ---- the staged fast path ---------------------------------------------------- */

/* Events mostly in time order (most land on a later day than the customer's
   newest, many repeat a day), over `days` days; every fifth customer runs
   `lag` days behind the others, so its extensions fall before the stage's
   window; a few events are up to 7 days late. */
static void ordered_stream(rev *ev, int n, int days, int lag, uint64_t seed) {
  rng_state = seed;
  static const int32_t types[] = {CXM_EV_TOUCH, CXM_EV_SESSION, CXM_EV_PURCHASE,
                                  CXM_EV_MESSAGE_SENT, CXM_EV_NPS, CXM_EV_ENGAGE,
                                  CXM_EV_CHURN, CXM_EV_TOUCH};
  for (int i = 0; i < n; i++) {
    rev *e = &ev[i];
    e->cust = (int)rnd(RC);
    e->t = T0 + (int64_t)i * days * DAY / n + rnd(3600);
    if (e->cust % 5 == 0) e->t -= (int64_t)lag * DAY;
    if (rnd(20) == 0) e->t -= (int64_t)rnd(7 * 24) * HOUR;
    e->type = types[rnd(8)];
    if (e->type == CXM_EV_CHURN && rnd(4)) e->type = CXM_EV_SESSION;
    e->ch = rnd(4) == 0 ? CXM_NO_CHANNEL : (int32_t)rnd(2);
  }
}

static cxm_ctx *model_ctx_w(int64_t off, int64_t w, int32_t *gold, int32_t *gold_set) {
  cxm_ctx *ctx = new_window(w);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, off), CXM_OK);
  t_chan(ctx, "web");
  t_chan(ctx, "app");
  *gold = t_seg(ctx, "gold");
  *gold_set = t_set(ctx, 1, gold);
  return ctx;
}

/* In-order extensions are staged per (segment set, channel) and reach the
   scopes when their days leave the stage or before a read: queries between
   events (each one flushes) and at the end must match the definitions, for
   windows that stage (5, 10, 40 days) and one too long to stage (300), with
   customers far behind the others (extensions added directly). */
START_TEST(test_staged_against_model) {
  static const int64_t ws[4] = {5, 10, 40, 300};
  int64_t w = ws[_i % 4], off = _i % 2 ? 19800 : 0;
  enum { N = 1600 };
  rev *ev = malloc(sizeof(rev) * N);
  ordered_stream(ev, N, 90, 40 + 10 * (_i % 3), 500 + (uint64_t)_i);
  int32_t gold, gold_set;
  cxm_ctx *ctx = model_ctx_w(off, w, &gold, &gold_set);
  model_assign_gold(ctx, gold_set);
  model_feed(ctx, ev, N, 400, off, w, gold);
  compare_model(ctx, ev, N, off, w, gold);
  cxm_ctx_destroy(ctx);
  free(ev);
}
END_TEST

/* ---- prepare's worked-out events -------------------------------------------- */

/* Each customer's own days move on by gaps of 0 (a repeat) to 10 days, now
   and then 20 to 40 (a lapse), so that the span moves by less than, exactly
   and more than its 8 days; many purchases (month boundaries fall inside
   the 80 days: carried purchases), message_sent on days of their own, a
   few churn events, and one event in 5 up to 6 days late. Arrival: by
   time, the late ones after their customer's newer events. */
static int gapped_stream(rev *ev, int cap, uint64_t seed) {
  rng_state = seed;
  static const int32_t types[] = {CXM_EV_TOUCH,        CXM_EV_SESSION, CXM_EV_PURCHASE,
                                  CXM_EV_PURCHASE,     CXM_EV_ENGAGE,  CXM_EV_MESSAGE_SENT,
                                  CXM_EV_MESSAGE_SENT, CXM_EV_NPS,     CXM_EV_PURCHASE};
  int n = 0;
  for (int c = 0; c < RC && n < cap; c++) {
    int64_t day = rnd(10);
    while (n < cap) {
      uint32_t g = rnd(20);
      day += g < 5 ? 0 : g < 18 ? 1 + rnd(10) : 20 + rnd(21);
      if (day >= 78) break;
      rev *e = &ev[n++];
      e->cust = c;
      e->t = T0 + day * DAY + rnd(20 * 3600);
      e->type = types[rnd(9)];
      if (rnd(40) == 0) e->type = CXM_EV_CHURN;
      e->ch = rnd(4) == 0 ? CXM_NO_CHANNEL : (int32_t)rnd(2);
    }
  }
  /* arrival order: time, or time + up to 6 days for one in 12 */
  int64_t (*arr)[2] = malloc(sizeof(int64_t[2]) * (size_t)n);
  rev *tmp = malloc(sizeof(rev) * (size_t)n);
  for (int i = 0; i < n; i++) {
    tmp[i] = ev[i];
    arr[i][0] = ev[i].t + (rnd(5) == 0 ? (int64_t)rnd(6 * 24) * HOUR : 0);
    arr[i][1] = i;
  }
  qsort(arr, (size_t)n, sizeof arr[0], cmp_arrival);
  for (int i = 0; i < n; i++) ev[i] = tmp[arr[i][1]];
  free(arr);
  free(tmp);
  return n;
}

/* The events prepare works out whole (an activity on a new day extending
   the coverage, a message_sent moving the span, repeats of a day) against
   the model, every query, for windows shorter than the span (3, 5: days
   leaving it open gaps), equal to it, and longer (10, 40), several UTC
   offsets; queried every 300 events too (each query flushes the stage).
   The same events one at a time and as one batch (the batch fast path)
   give byte-identical snapshots, and the batch's handle the same answers. */
START_TEST(test_worked_out_against_model) {
  static const int64_t ws[5] = {3, 5, 8, 10, 40};
  static const int64_t offs[3] = {0, -5 * HOUR, 19800};
  int64_t w = ws[_i % 5], off = offs[_i % 3];
  enum { N = 1400 };
  rev *ev = malloc(sizeof(rev) * N);
  int n = gapped_stream(ev, N, 7100 + (uint64_t)_i);
  ck_assert_int_gt(n, 350);
  int32_t gold, gold_set;
  cxm_ctx *ctx = model_ctx_w(off, w, &gold, &gold_set);
  model_assign_gold(ctx, gold_set);
  model_feed(ctx, ev, n, 300, off, w, gold);
  compare_model(ctx, ev, n, off, w, gold);

  /* the batch path: the state of the same events one at a time (without
     queries in between: they flush and size arrays), byte for byte */
  int32_t g2, gs2;
  cxm_ctx *b = model_ctx_w(off, w, &g2, &gs2), *o = model_ctx_w(off, w, &g2, &gs2);
  ck_assert_int_eq(gs2, gold_set);
  model_assign_gold(b, gold_set);
  model_assign_gold(o, gold_set);
  model_feed(o, ev, n, 0, off, w, gold);
  int64_t *times = malloc(sizeof(int64_t) * (size_t)n), *offs_ = malloc(sizeof(int64_t) * (size_t)(n + 1));
  int32_t *types = malloc(sizeof(int32_t) * (size_t)n), *chans = malloc(sizeof(int32_t) * (size_t)n);
  double *vals = malloc(sizeof(double) * (size_t)n);
  char *ids = malloc((size_t)n * 16);
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    times[i] = ev[i].t;
    types[i] = ev[i].type;
    chans[i] = ev[i].ch;
    vals[i] = model_value(ev[i].type);
    offs_[i] = (int64_t)len;
    len += (size_t)snprintf(ids + len, 16, "cust%d", ev[i].cust);
  }
  offs_[n] = (int64_t)len;
  size_t acc = 0;
  ck_assert_int_eq(cxm_events_add(b, (size_t)n, times, types, (const uint8_t *)ids, offs_, chans,
                                  vals, NULL, NULL, &acc, NULL),
                   CXM_OK);
  ck_assert_int_eq(acc, (size_t)n);
  t_handles_same_bytes(o, b);
  compare_model(b, ev, n, off, w, gold);
  free(times);
  free(offs_);
  free(types);
  free(chans);
  free(vals);
  free(ids);
  cxm_ctx_destroy(o);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(ctx);
  free(ev);
}
END_TEST

/* A snapshot taken while extensions are staged holds them: the loaded handle
   answers like the definitions, and so does the original afterwards. */
START_TEST(test_staged_snapshot) {
  enum { N = 1200 };
  rev *ev = malloc(sizeof(rev) * N);
  ordered_stream(ev, N, 60, 0, 31337);
  int32_t gold, gold_set;
  cxm_ctx *ctx = model_ctx_w(0, 20, &gold, &gold_set);
  feed(ctx, ev, N, gold_set);
  cxm_ctx *c = t_reloaded(ctx);
  compare_model(c, ev, N, 0, 20, gold);
  compare_model(ctx, ev, N, 0, 20, gold);
  cxm_ctx_destroy(c);
  cxm_ctx_destroy(ctx);
  free(ev);
}
END_TEST

/* Shards with staged extensions merge into the whole stream's figures (the
   source's stage is added before its day arrays are). */
START_TEST(test_staged_merge) {
  enum { N = 1600 };
  rev *ev = malloc(sizeof(rev) * N);
  ordered_stream(ev, N, 70, 0, 4711);
  int32_t gold, gold_set;
  cxm_ctx *a = model_ctx_w(0, 15, &gold, &gold_set);
  cxm_ctx *b = model_ctx_w(0, 15, &gold, &gold_set);
  feed_some(a, ev, N, gold_set, stg_even);
  feed_some(b, ev, N, gold_set, stg_odd);
  ck_assert_int_eq(cxm_ctx_merge(a, b), CXM_OK);
  compare_model(a, ev, N, 0, 15, gold);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  free(ev);
}
END_TEST

/* ---- snapshots and merges ------------------------------------------------------ */

static int even_customer(const rev *ev, int i) { return ev[i].cust % 2 == 0; }
static int odd_customer(const rev *ev, int i) { return ev[i].cust % 2 == 1; }
static int even_event(const rev *ev, int i) { (void)ev; return i % 2 == 0; }
static int odd_event(const rev *ev, int i) { (void)ev; return i % 2 == 1; }

/* Shards holding disjoint customers merge into exactly the whole stream's
   figures, cohorts and buyers included; a snapshot round trip keeps them and
   the loaded handle goes on like the original. */
START_TEST(test_merge_and_snapshot) {
  rev *ev = malloc(sizeof(rev) * RN);
  random_stream(ev, RN, 4242);
  int32_t gold, gold_set;
  cxm_ctx *a = model_ctx(-5 * HOUR, &gold, &gold_set);
  cxm_ctx *b = model_ctx(-5 * HOUR, &gold, &gold_set);
  feed_some(a, ev, RN, gold_set, even_customer);
  feed_some(b, ev, RN, gold_set, odd_customer);
  int rc = cxm_ctx_merge(a, b);
  ck_assert_msg(rc == CXM_OK, "merge = %d: %s", rc, cxm_ctx_errmsg(a));
  compare_model(a, ev, RN, -5 * HOUR, 10, gold);
  void *buf = NULL;
  size_t len = 0;
  rc = cxm_snapshot_save_buffer(a, 0, &buf, &len);
  ck_assert_msg(rc == CXM_OK, "save = %d: %s", rc, cxm_ctx_errmsg(a));
  cxm_ctx *c = NULL;
  ck_assert_int_eq(cxm_ctx_create(&c), CXM_OK);
  rc = cxm_snapshot_load_buffer(c, buf, len);
  ck_assert_msg(rc == CXM_OK, "load = %d: %s", rc, cxm_ctx_errmsg(c));
  cxm_buffer_free(a, buf, len);
  ck_assert_int_eq(cxm_key_set(c, T_KEY, sizeof T_KEY), CXM_OK);
  compare_model(c, ev, RN, -5 * HOUR, 10, gold);
  /* more events, some late, on both: still the model */
  rev more[4] = {{T0 + 79 * DAY, CXM_EV_CHURN, 0, 1},
                 {T0 + 78 * DAY, CXM_EV_TOUCH, 1, 3},
                 {T0 + 80 * DAY, CXM_EV_PURCHASE, 0, 5},
                 {T0 + 77 * DAY, CXM_EV_SESSION, CXM_NO_CHANNEL, 6}};
  rev *all = malloc(sizeof(rev) * (RN + 4));
  memcpy(all, ev, sizeof(rev) * RN);
  memcpy(all + RN, more, sizeof more);
  for (int k = 0; k < 2; k++) {
    cxm_ctx *h = k ? c : a;
    for (int i = 0; i < 4; i++) {
      char id[16];
      snprintf(id, sizeof id, "cust%d", more[i].cust);
      double v = more[i].type == CXM_EV_PURCHASE ? 10.0 : NAN;
      T_ADD(h, more[i].t, more[i].type, id, more[i].ch, v, NAN);
    }
    compare_model(h, all, RN + 4, -5 * HOUR, 10, gold);
  }
  free(all);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(c);
  free(ev);
}
END_TEST

/* A customer in both shards: when all its events lie within the exact span
   (here: 7 days of events), active and churned counts after the merge equal
   the whole stream's. */
START_TEST(test_merge_overlap) {
  rev *ev = malloc(sizeof(rev) * 400);
  random_stream(ev, 400, 99);
  for (int i = 0; i < 400; i++) { /* squeeze into 7 days, keep the order */
    ev[i].t = T0 + (ev[i].t - T0) / 12;
    ev[i].ch = ev[i].cust % 2; /* first activity's channel: no tie to break */
  }
  int32_t gold, gold_set;
  cxm_ctx *a = model_ctx(0, &gold, &gold_set);
  cxm_ctx *b = model_ctx(0, &gold, &gold_set);
  cxm_ctx *w = model_ctx(0, &gold, &gold_set);
  feed_some(a, ev, 400, gold_set, even_event);
  feed_some(b, ev, 400, gold_set, odd_event);
  feed(w, ev, 400, gold_set);
  ck_assert_int_eq(cxm_ctx_merge(a, b), CXM_OK);
  compare_model2(w, ev, 400, 0, 10, gold, 0);
  compare_model2(a, ev, 400, 0, 10, gold, 0);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(w);
  free(ev);
}
END_TEST

/* ---- allocation failures ---------------------------------------------------------- */

typedef struct falloc {
  long calls, fail_at;
} falloc;

static void *f_malloc(void *o, size_t n) {
  falloc *a = o;
  if (++a->calls == a->fail_at) return NULL;
  return malloc(n);
}
static void *f_realloc(void *o, void *p, size_t n) {
  falloc *a = o;
  if (++a->calls == a->fail_at) return NULL;
  return realloc(p, n);
}
static void f_free(void *o, void *p) {
  (void)o;
  free(p);
}

/* Every allocation of a stream fails once in turn: the failing event reports
   CXM_E_NOMEM and changes nothing, so adding it again gives the same figures
   as a run without failures. */
START_TEST(test_nomem) {
  enum { N = 300 };
  rev *ev = malloc(sizeof(rev) * N);
  random_stream(ev, N, 77);
  long total = 0;
  for (long fail_at = 1;; fail_at++) {
    falloc fa = {0, 0};
    cxm_ctx *ctx = NULL;
    ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, f_malloc, f_realloc, f_free, &fa), CXM_OK);
    ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
    ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_CHURN_WINDOW_DAYS, 10), CXM_OK);
    t_chan(ctx, "web");
    t_chan(ctx, "app");
    int32_t gold = t_seg(ctx, "gold");
    int32_t gold_set = t_set(ctx, 1, &gold);
    fa.calls = 0;
    fa.fail_at = fail_at;
    int failed = 0;
    for (int c = 0; c < RC; c += 3) {
      char id[16];
      snprintf(id, sizeof id, "cust%d", c);
      int rc = cxm_customer_set_segments(ctx, id, strlen(id), gold_set);
      if (rc == CXM_E_NOMEM) failed++, rc = cxm_customer_set_segments(ctx, id, strlen(id), gold_set);
      ck_assert_int_eq(rc, CXM_OK);
    }
    for (int i = 0; i < N; i++) {
      char id[16];
      snprintf(id, sizeof id, "cust%d", ev[i].cust);
      double v = ev[i].type == CXM_EV_PURCHASE ? 10.0 : ev[i].type == CXM_EV_NPS ? 8.0 : NAN;
      int rc = t_ev(ctx, ev[i].t, ev[i].type, id, ev[i].ch, v, NAN);
      if (rc == CXM_E_NOMEM) failed++, rc = t_ev(ctx, ev[i].t, ev[i].type, id, ev[i].ch, v, NAN);
      ck_assert_msg(rc == CXM_OK, "event %d after failure at %ld: %d", i, fail_at, rc);
    }
    fa.fail_at = 0;
    if (fa.calls < fail_at) { /* past the last allocation: done */
      cxm_ctx_destroy(ctx);
      break;
    }
    ck_assert_int_le(failed, 1);
    compare_model(ctx, ev, N, 0, 10, gold);
    cxm_ctx_destroy(ctx);
    total++;
  }
  ck_assert_int_gt(total, 10);
  free(ev);
}
END_TEST

/* ---- the exact rate by hand ----------------------------------------------- */

static void rate_is(cxm_ctx *ctx, int32_t seg, int32_t ch, int64_t d0, int64_t d1,
                    int64_t want_n, int64_t want_kept) {
  double churn = -1, ret = -1;
  int64_t n = -1;
  int rc = cxm_retention_rate(ctx, seg, ch, day_t(d0) + 11 * HOUR, day_t(d1) + 1, &churn,
                              &ret, &n);
  ck_assert_msg(rc == CXM_OK, "rate = %d: %s", rc, cxm_ctx_errmsg(ctx));
  ck_assert_msg(n == want_n, "days %lld..%lld: n %lld want %lld", (long long)d0,
                (long long)d1, (long long)n, (long long)want_n);
  double want = (double)want_kept / (double)want_n;
  ck_assert_msg(ret == want && churn == 1.0 - want, "days %lld..%lld: retention %g want %lld/%lld",
                (long long)d0, (long long)d1, ret, (long long)want_kept, (long long)want_n);
}

/* Window 10 days, period [5, 15):
   a touches on days 0 and 12: lapses on 10-11, back on 12: kept;
   b touches on 0, churns on 7 (the event arrives after b's touch on 9, 2
     days late), touches on 9: churned inside and back: kept;
   c touches on 3, churns on 10: cut inside: churned;
   d touches on 8 only: active only inside, not in the denominator;
   e has a session and a churn at the same second of day 4 (churned that
     day), touches on 5: active on 5..14: churned on 15;
   g touches on 1, 10, 20, 28 (web; the others none): active 1..37.
   [5, 15): active on 5: a b c e g (5), still on 15: a b g -> 3/5.
   [2, 30), longer than the window: active on 2: a b g, on 30 only g -> 1/3.
   The per-day formula of 0.2.0 said 1/5 for the first ((A(15) - N) / A(5),
   A(15) = a b d g, N = a on 12, b on 9, d on 8: (4 - 3) / 5). */
START_TEST(test_rate_by_hand) {
  cxm_ctx *ctx = new_window(10);
  int32_t web = t_chan(ctx, "web");
  int32_t gold = t_seg(ctx, "gold");
  int32_t gs = t_set(ctx, 1, &gold);
  t_assign(ctx, "a", gs);
  t_assign(ctx, "g", gs);
  T_ADD0(ctx, day_t(0) + HOUR, CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(0) + HOUR, CXM_EV_TOUCH, "b", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(1) + HOUR, CXM_EV_TOUCH, "g", web);
  T_ADD0(ctx, day_t(3) + HOUR, CXM_EV_TOUCH, "c", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(4) + 10 * HOUR, CXM_EV_SESSION, "e", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(4) + 10 * HOUR, CXM_EV_CHURN, "e", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(5) + HOUR, CXM_EV_TOUCH, "e", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(8) + HOUR, CXM_EV_TOUCH, "d", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(9) + HOUR, CXM_EV_TOUCH, "b", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(7) + HOUR, CXM_EV_CHURN, "b", CXM_NO_CHANNEL); /* late */
  T_ADD0(ctx, day_t(10) + HOUR, CXM_EV_TOUCH, "g", web);
  T_ADD0(ctx, day_t(10) + HOUR, CXM_EV_CHURN, "c", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(12) + HOUR, CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  T_ADD0(ctx, day_t(20) + HOUR, CXM_EV_TOUCH, "g", web);
  T_ADD0(ctx, day_t(28) + HOUR, CXM_EV_TOUCH, "g", web);
  rate_is(ctx, CXM_ALL, CXM_ALL, 5, 15, 5, 3);
  rate_is(ctx, CXM_ALL, CXM_ALL, 2, 30, 3, 1);
  rate_is(ctx, gold, CXM_ALL, 5, 15, 2, 2);   /* a g */
  rate_is(ctx, CXM_ALL, web, 2, 30, 1, 1);    /* g */
  rate_is(ctx, gold, web, 5, 15, 1, 1);
  rate_is(ctx, CXM_ALL, CXM_ALL, 5, 19, 5, 2); /* b (9..18) lapsed on 19: a g */
  /* after a snapshot round trip, the same */
  cxm_ctx *c2 = t_reloaded(ctx);
  rate_is(c2, CXM_ALL, CXM_ALL, 5, 15, 5, 3);
  rate_is(c2, CXM_ALL, CXM_ALL, 2, 30, 3, 1);
  cxm_ctx_destroy(c2);
  /* erasing c: the remaining customers' counts (a b e g, a b g kept) */
  ck_assert_int_eq(cxm_customer_erase(ctx, "c", 1), CXM_OK);
  rate_is(ctx, CXM_ALL, CXM_ALL, 5, 15, 4, 3);
  ck_assert_int_eq(cxm_customer_erase(ctx, "a", 1), CXM_OK); /* e moves into a's record */
  rate_is(ctx, CXM_ALL, CXM_ALL, 5, 15, 3, 2);
  rate_is(ctx, CXM_ALL, web, 2, 30, 1, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* A snapshot written by 0.2.0 (tests/data/retention-v020.snap: window 10,
   channel web; p touches on days 0, 30, 40; q touches on 35 and churns on
   38; written by the 0.2.0 library) has no coverage history: rates from a
   day on or after the newest loaded span's eve (p: day 40 - 8 = 32) are
   exact, earlier ones are 0.2.0's per-day formula. */
START_TEST(test_rate_v020_snapshot) {
  const char *src = getenv("abs_top_srcdir");
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/data/retention-v020.snap", src ? src : ".");
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  int rc = cxm_snapshot_load_file(ctx, path);
  ck_assert_msg(rc == CXM_OK, "load %s = %d: %s", path, rc, cxm_ctx_errmsg(ctx));
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  int32_t web;
  ck_assert_int_eq(cxm_channel_intern(ctx, "web", 3, &web), CXM_OK);
  T_ADD0(ctx, day_t(60) + HOUR, CXM_EV_TOUCH, "p", web);
  T_ADD0(ctx, day_t(45) + HOUR, CXM_EV_TOUCH, "q", web);
  /* p: 0..9, 30..49, 60..69; q: 35..37, 45..54 */
  rate_is(ctx, CXM_ALL, CXM_ALL, 33, 55, 1, 0);  /* p, gone on 55 */
  rate_is(ctx, CXM_ALL, CXM_ALL, 36, 62, 2, 1);  /* p q; p back on 60 */
  /* before day 32: (A(31) - N) / A(5) = (1 - 1) / 1 (p returned on 30) */
  rate_is(ctx, CXM_ALL, CXM_ALL, 5, 31, 1, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Window 1 day: 100 customers touch on the even days 0..98, so each has a
   gap on every odd day: about 4,800 logged gaps, more than one log chunk.
   Every allocation fails once in turn: the failing event reports
   CXM_E_NOMEM and changes nothing (added again, the rates are the
   definition's), and a rate query under failing allocation answers without
   allocating. Covered on day x: x even, x <= 98. */
START_TEST(test_nomem_log) {
  for (long fail_at = 1;; fail_at++) {
    falloc fa = {0, 0};
    cxm_ctx *ctx = NULL;
    ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, f_malloc, f_realloc, f_free, &fa), CXM_OK);
    ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
    ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_CHURN_WINDOW_DAYS, 1), CXM_OK);
    fa.calls = 0;
    fa.fail_at = fail_at;
    int failed = 0;
    for (int d = 0; d <= 98; d += 2)
      for (int c = 0; c < 100; c++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", c);
        int rc = t_ev(ctx, day_t(d) + c, CXM_EV_TOUCH, id, CXM_NO_CHANNEL, NAN, NAN);
        if (rc == CXM_E_NOMEM) failed++, rc = t_ev(ctx, day_t(d) + c, CXM_EV_TOUCH, id, CXM_NO_CHANNEL, NAN, NAN);
        ck_assert_msg(rc == CXM_OK, "day %d customer %d after failure at %ld: %d", d, c, fail_at, rc);
      }
    int done = fa.calls < fail_at;
    ck_assert_int_le(failed, 1);
    fa.fail_at = fa.calls + 1; /* every later allocation would fail */
    long calls = fa.calls;
    rate_is(ctx, CXM_ALL, CXM_ALL, 10, 50, 100, 100);
    rate_is(ctx, CXM_ALL, CXM_ALL, 10, 51, 100, 0);
    rate_is(ctx, CXM_ALL, CXM_ALL, 0, 98, 100, 100);
    rate_is(ctx, CXM_ALL, CXM_ALL, 96, 100, 100, 0);
    double churn, ret;
    int64_t n;
    ck_assert_int_eq(cxm_retention_rate(ctx, CXM_ALL, CXM_ALL, day_t(11), day_t(12), &churn, &ret, &n), CXM_OK);
    ck_assert(n == 0 && isnan(ret));
    ck_assert_int_eq(fa.calls, calls);
    cxm_ctx_destroy(ctx);
    if (done) break;
  }
}
END_TEST

/* A customer held by both handles keeps the settled history of the one with
   the earlier first activity: exact when the other's events all come later
   (here: shard a holds x's days 0, 10, 20 and y's 30; shard b x's 50 and y's
   2, 4; window 5). Rates of every pair of days 0..60 equal one handle's fed
   everything. */
START_TEST(test_merge_overlap_history) {
  cxm_ctx *a = new_window(5), *b = new_window(5), *w = new_window(5);
  static const struct { int d; const char *id; int shard; } evs[] = {
      {0, "x", 0}, {2, "y", 1}, {4, "y", 1}, {10, "x", 0},
      {20, "x", 0}, {30, "y", 0}, {50, "x", 1}};
  for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
    T_ADD0(evs[i].shard ? b : a, day_t(evs[i].d) + HOUR, CXM_EV_TOUCH, evs[i].id, CXM_NO_CHANNEL);
    T_ADD0(w, day_t(evs[i].d) + HOUR, CXM_EV_TOUCH, evs[i].id, CXM_NO_CHANNEL);
  }
  ck_assert_int_eq(cxm_ctx_merge(a, b), CXM_OK);
  for (int d0 = 0; d0 <= 60; d0++)
    for (int d1 = d0 + 1; d1 <= 60; d1 += 3) {
      double c1, r1, c2, r2;
      int64_t n1, n2;
      ck_assert_int_eq(cxm_retention_rate(a, CXM_ALL, CXM_ALL, day_t(d0), day_t(d1), &c1, &r1, &n1), CXM_OK);
      ck_assert_int_eq(cxm_retention_rate(w, CXM_ALL, CXM_ALL, day_t(d0), day_t(d1), &c2, &r2, &n2), CXM_OK);
      ck_assert_msg(n1 == n2 && t_same_double(r1, r2), "days %d..%d: merged %lld %g, whole %lld %g",
                    d0, d1, (long long)n1, r1, (long long)n2, r2);
    }
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(w);
}
END_TEST

static Suite *retention_suite(void) {
  Suite *s = suite_create("retention");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_churn_and_return);
  tcase_add_test(tc, test_equal_timestamps);
  tcase_add_test(tc, test_segment_channel_semantics);
  tcase_add_test(tc, test_rates_clv);
  tcase_add_test(tc, test_rate_by_hand);
  tcase_add_test(tc, test_rate_v020_snapshot);
  tcase_add_test(tc, test_cohort_month_edges);
  tcase_add_test(tc, test_cohort_late_first_purchase);
  tcase_add_test(tc, test_module_off);
  tcase_add_loop_test(tc, test_random_against_model, 0, 6);
  tcase_add_loop_test(tc, test_staged_against_model, 0, 8);
  tcase_add_loop_test(tc, test_worked_out_against_model, 0, 15);
  tcase_add_test(tc, test_staged_snapshot);
  tcase_add_test(tc, test_staged_merge);
  tcase_add_test(tc, test_merge_and_snapshot);
  tcase_add_test(tc, test_merge_overlap);
  tcase_add_test(tc, test_merge_overlap_history);
  tcase_add_test(tc, test_nomem);
  tcase_add_test(tc, test_nomem_log);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(retention_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
