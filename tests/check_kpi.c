/*
 * check_kpi.c - every KPI of include/cxmetrics.h compared with values
 * computed by hand (the arithmetic is in the comments) on small streams.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#define A CXM_ALL
#define NC CXM_NO_CHANNEL

/* Every KPI (1..36) in one scope of a handle with no events. */
static void t_assert_empty_scope(cxm_ctx *ctx, int32_t seg, int32_t ch) {
  /* Ratios: undefined (NaN) with n = 0. */
  static const int ratios[] = {
      CXM_KPI_NPS, CXM_KPI_NPS_MOE95, CXM_KPI_CSAT, CXM_KPI_CSAT_MEAN,
      CXM_KPI_CES, CXM_KPI_AOV, CXM_KPI_PURCHASE_FREQUENCY,
      CXM_KPI_REPEAT_PURCHASE_RATE, CXM_KPI_CLV_HISTORICAL,
      CXM_KPI_LEAD_CONVERSION_RATE, CXM_KPI_BOUNCE_RATE,
      CXM_KPI_ENGAGED_SESSION_RATE, CXM_KPI_ENGAGEMENT_RATE,
      CXM_KPI_OPEN_RATE, CXM_KPI_CLICK_RATE, CXM_KPI_CLICK_TO_OPEN_RATE,
      CXM_KPI_CPL, CXM_KPI_CPA, CXM_KPI_CAC};
  /* Counts and sums: 0 with n = 0. */
  static const int counts[] = {
      CXM_KPI_NPS_PROMOTERS, CXM_KPI_NPS_PASSIVES, CXM_KPI_NPS_DETRACTORS,
      CXM_KPI_REVENUE, CXM_KPI_REFUNDS, CXM_KPI_NET_REVENUE, CXM_KPI_ORDERS,
      CXM_KPI_BUYERS, CXM_KPI_SESSIONS, CXM_KPI_LEADS, CXM_KPI_NEW_BUYERS,
      CXM_KPI_MESSAGES_SENT, CXM_KPI_MESSAGES_OPENED,
      CXM_KPI_MESSAGES_CLICKED, CXM_KPI_INTERACTIONS, CXM_KPI_EVENTS};
  for (size_t i = 0; i < sizeof ratios / sizeof *ratios; i++) {
    int64_t n = -1;
    double v = t_kpi(ctx, ratios[i], seg, ch, &n);
    ck_assert_msg(isnan(v), "kpi %d seg %d ch %d: %g, want NaN", ratios[i],
                  seg, ch, v);
    if (seg == A) ck_assert_int_eq(n, 0);
  }
  for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
    if (seg != A && counts[i] == CXM_KPI_NEW_BUYERS) continue;
    T_KPI(ctx, counts[i], seg, ch, 0, 0);
  }
  if (seg == A) {
    T_KPI(ctx, CXM_KPI_SPEND, seg, ch, 0, 0);
    T_KPI_INT(ctx, CXM_KPI_SPEND, seg, ch, 0, 0);
  } else {
    T_KPI(ctx, CXM_KPI_SPEND, seg, ch, NAN, -1);
  }
  T_KPI_INT(ctx, CXM_KPI_REVENUE, seg, ch, 0, 0);
  T_KPI_INT(ctx, CXM_KPI_NET_REVENUE, seg, ch, 0, 0);
  T_KPI_INT(ctx, CXM_KPI_ORDERS, seg, ch, 0, 0);
}

START_TEST(test_no_data) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  int32_t gold = t_seg(ctx, "gold");
  t_assert_empty_scope(ctx, A, A);
  t_assert_empty_scope(ctx, A, web);
  t_assert_empty_scope(ctx, gold, A);
  t_assert_empty_scope(ctx, gold, web);
  /* An event in another scope leaves these empty. */
  int32_t email = t_chan(ctx, "email");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", email, 5);
  T_ADD1(ctx, T0, CXM_EV_SPEND, NULL, email, 5);
  t_assert_empty_scope(ctx, A, web);
  t_assert_empty_scope(ctx, gold, A);
  t_assert_empty_scope(ctx, gold, email);
  /* Empty windows are empty too. */
  T_KPI_W(ctx, CXM_KPI_ORDERS, A, A, T0 + DAY, T0 + 2 * DAY, 0, 0);
  T_KPI_W(ctx, CXM_KPI_AOV, A, A, T0 + DAY, T0 + 2 * DAY, NAN, 0);
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  ck_assert_int_eq(v, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_one_event) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_NPS, "a", web, 9);
  /* One promoter: NPS = 100 * (1 - 0) / 1 = 100; pP = 1, pD = 0:
   * moe95 = 100 * 1.96 * sqrt((1 + 0 - 1^2) / 1) = 0. */
  T_KPI(ctx, CXM_KPI_NPS, A, A, 100, 1);
  T_KPI(ctx, CXM_KPI_NPS, A, web, 100, 1);
  T_KPI(ctx, CXM_KPI_NPS_MOE95, A, A, 0, 1);
  T_KPI(ctx, CXM_KPI_NPS_PROMOTERS, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_NPS_PASSIVES, A, A, 0, -1);
  T_KPI(ctx, CXM_KPI_NPS_DETRACTORS, A, A, 0, -1);
  T_KPI(ctx, CXM_KPI_EVENTS, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_EVENTS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, A, A, 0, 0);
  T_KPI(ctx, CXM_KPI_CSAT, A, A, NAN, 0);
  /* An answer is not an interaction. */
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, A, NAN, 0);
  int64_t v;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_FIRST_TIME, &v), CXM_OK);
  ck_assert_int_eq(v, T0);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_LAST_TIME, &v), CXM_OK);
  ck_assert_int_eq(v, T0);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &v), CXM_OK);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  ck_assert_int_eq(v, 1);
  cxm_ctx_destroy(ctx);

  /* One purchase of 12.34: revenue 12.34 (1234 cents), orders 1, buyers 1,
   * AOV 12.34, frequency 1/1, repeat 0/1, CLV 12.34/1, new buyers 1. */
  ctx = t_new();
  web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", web, 12.34);
  T_KPI(ctx, CXM_KPI_REVENUE, A, A, 12.34, 1);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, A, A, 1234, 1);
  T_KPI(ctx, CXM_KPI_NET_REVENUE, A, A, 12.34, 1);
  T_KPI(ctx, CXM_KPI_REFUNDS, A, A, 0, 0);
  T_KPI(ctx, CXM_KPI_ORDERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_AOV, A, A, 12.34, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, A, A, 0, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, web, 12.34, 1);
  T_KPI(ctx, CXM_KPI_CPA, A, A, 0, 1); /* spend 0 / 1 order */
  T_KPI(ctx, CXM_KPI_CAC, A, web, 0, 1);
  T_KPI(ctx, CXM_KPI_CPL, A, A, NAN, 0);
  /* A purchase is not an interaction, and not a lead. */
  T_KPI(ctx, CXM_KPI_INTERACTIONS, A, A, 0, 0);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, A, A, NAN, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_all_detractors) {
  cxm_ctx *ctx = t_new();
  static const double s[] = {0, 3, 6, 6, 2};
  for (int i = 0; i < 5; i++) {
    char id[16]; /* "d" + any int + NUL: 13 */
    snprintf(id, sizeof id, "d%d", i);
    T_ADD1(ctx, T0 + i, CXM_EV_NPS, id, NC, s[i]);
  }
  /* 5 detractors: NPS = 100 * (0 - 5) / 5 = -100; pP = 0, pD = 1:
   * moe95 = 196 * sqrt((0 + 1 - (0 - 1)^2) / 5) = 0. */
  T_KPI(ctx, CXM_KPI_NPS, A, A, -100, 5);
  T_KPI(ctx, CXM_KPI_NPS_MOE95, A, A, 0, 5);
  T_KPI(ctx, CXM_KPI_NPS_DETRACTORS, A, A, 5, 5);
  T_KPI(ctx, CXM_KPI_NPS_PROMOTERS, A, A, 0, -1);
  T_KPI(ctx, CXM_KPI_NPS_PASSIVES, A, A, 0, -1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_nps_mix) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  /* web: 10 9 9 8 7 6 3 ; email: 10 10 9 */
  static const double sw[] = {10, 9, 9, 8, 7, 6, 3};
  static const double se[] = {10, 10, 9};
  char id[16]; /* "w"/"e" + any int + NUL: 13 */
  for (int i = 0; i < 7; i++) {
    snprintf(id, sizeof id, "w%d", i);
    T_ADD1(ctx, T0 + i, CXM_EV_NPS, id, web, sw[i]);
  }
  for (int i = 0; i < 3; i++) {
    snprintf(id, sizeof id, "e%d", i);
    T_ADD1(ctx, T0 + i, CXM_EV_NPS, id, email, se[i]);
  }
  /* All: n = 10, promoters 10 9 9 10 10 9 = 6, passives 8 7 = 2,
   * detractors 6 3 = 2. NPS = 100 * (6 - 2) / 10 = 40.
   * pP = 0.6, pD = 0.2: pP + pD - (pP - pD)^2 = 0.8 - 0.16 = 0.64;
   * moe95 = 100 * 1.96 * sqrt(0.64 / 10) = 196 * 0.2529822... = 49.5845... */
  T_KPI(ctx, CXM_KPI_NPS, A, A, 40, 10);
  T_KPI(ctx, CXM_KPI_NPS_MOE95, A, A, 100 * 1.96 * sqrt(0.64 / 10), 10);
  ck_assert_double_eq_tol(t_kpi(ctx, CXM_KPI_NPS_MOE95, A, A, NULL), 49.5845,
                          1e-4);
  T_KPI(ctx, CXM_KPI_NPS_PROMOTERS, A, A, 6, -1);
  T_KPI(ctx, CXM_KPI_NPS_PASSIVES, A, A, 2, -1);
  T_KPI(ctx, CXM_KPI_NPS_DETRACTORS, A, A, 2, -1);
  /* web: n = 7, P = 10 9 9 = 3, passives 2, D = 6 3 = 2.
   * NPS = 100 * (3 - 2) / 7 = 14.2857...; pP = 3/7, pD = 2/7:
   * pP + pD - (pP - pD)^2 = 5/7 - 1/49 = 34/49;
   * moe95 = 196 * sqrt(34/49 / 7) = 196 * sqrt(34/343). */
  T_KPI(ctx, CXM_KPI_NPS, A, web, 100.0 / 7, 7);
  T_KPI(ctx, CXM_KPI_NPS_MOE95, A, web, 196 * sqrt(34.0 / 343), 7);
  /* email: 3 promoters: NPS 100, moe 0. */
  T_KPI(ctx, CXM_KPI_NPS, A, email, 100, 3);
  T_KPI(ctx, CXM_KPI_NPS_MOE95, A, email, 0, 3);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_csat_ces) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  static const double cs[] = {5, 4, 3, 1, 4};
  static const double ce[] = {1, 7, 2};
  for (int i = 0; i < 5; i++)
    T_ADD1(ctx, T0 + i, CXM_EV_CSAT, "a", i < 2 ? web : NC, cs[i]);
  for (int i = 0; i < 3; i++)
    T_ADD1(ctx, T0 + 10 + i, CXM_EV_CES, "b", web, ce[i]);
  /* CSAT: 4-5 answers = 5 4 4 = 3 of 5 = 60 %; mean (5+4+3+1+4)/5 = 3.4.
   * web: 5 4 -> 100 %, mean 4.5. CES: (1+7+2)/3 = 10/3. */
  T_KPI(ctx, CXM_KPI_CSAT, A, A, 60, 5);
  T_KPI(ctx, CXM_KPI_CSAT_MEAN, A, A, 3.4, 5);
  T_KPI(ctx, CXM_KPI_CSAT, A, web, 100, 2);
  T_KPI(ctx, CXM_KPI_CSAT_MEAN, A, web, 4.5, 2);
  T_KPI(ctx, CXM_KPI_CES, A, A, 10.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_CES, A, web, 10.0 / 3, 3);
  /* Surveys are not NPS. */
  T_KPI(ctx, CXM_KPI_NPS, A, A, NAN, 0);
  T_KPI(ctx, CXM_KPI_EVENTS, A, A, 8, 8);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_refunds_above_revenue) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", web, 10.00);
  T_ADD1(ctx, T0 + 1, CXM_EV_REFUND, "a", web, 15.50);
  /* revenue 10.00, refunds 15.50, net 10.00 - 15.50 = -5.50 (n = 2 events);
   * AOV = 10 / 1; CLV = a's net -5.50 / 1 buyer. */
  T_KPI(ctx, CXM_KPI_REVENUE, A, A, 10, 1);
  T_KPI(ctx, CXM_KPI_REFUNDS, A, A, 15.5, 1);
  T_KPI(ctx, CXM_KPI_NET_REVENUE, A, A, -5.5, 2);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, A, A, 1000, 1);
  T_KPI_INT(ctx, CXM_KPI_REFUNDS, A, A, 1550, 1);
  T_KPI_INT(ctx, CXM_KPI_NET_REVENUE, A, A, -550, 2);
  T_KPI(ctx, CXM_KPI_AOV, A, A, 10, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, A, -5.5, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, web, -5.5, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 1, 1);
  /* A refund alone does not make a buyer. */
  T_ADD1(ctx, T0 + 2, CXM_EV_REFUND, "z", web, 3);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_REFUNDS, A, A, 18.5, 2);
  T_KPI(ctx, CXM_KPI_NET_REVENUE, A, A, -8.5, 3);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, A, -5.5, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_commerce) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), app = t_chan(ctx, "app");
  /* a: 10 (web) 20 (app) 30 (web); b: 5 (app); c: 15 15 (web);
   * refunds: b 5 (web), d 7 (no channel; d never buys). */
  T_ADD1(ctx, T0 + 1, CXM_EV_PURCHASE, "a", web, 10);
  T_ADD1(ctx, T0 + 2, CXM_EV_PURCHASE, "a", app, 20);
  T_ADD1(ctx, T0 + 3, CXM_EV_PURCHASE, "a", web, 30);
  T_ADD1(ctx, T0 + 4, CXM_EV_PURCHASE, "b", app, 5);
  T_ADD1(ctx, T0 + 5, CXM_EV_PURCHASE, "c", web, 15);
  T_ADD1(ctx, T0 + 6, CXM_EV_PURCHASE, "c", web, 15);
  T_ADD1(ctx, T0 + 7, CXM_EV_REFUND, "b", web, 5);
  T_ADD1(ctx, T0 + 8, CXM_EV_REFUND, "d", NC, 7);
  /* All: orders 6, revenue 10+20+30+5+15+15 = 95, refunds 5+7 = 12,
   * net 83 (n = 8 events), AOV 95/6, buyers a b c = 3, frequency 6/3 = 2,
   * repeat (a, c) 2/3, CLV = buyers' net (a 60, b 5-5 = 0, c 30) / 3 = 30
   * (d's refund is not a buyer's). */
  T_KPI(ctx, CXM_KPI_ORDERS, A, A, 6, 6);
  T_KPI(ctx, CXM_KPI_REVENUE, A, A, 95, 6);
  T_KPI(ctx, CXM_KPI_REFUNDS, A, A, 12, 2);
  T_KPI(ctx, CXM_KPI_NET_REVENUE, A, A, 83, 8);
  T_KPI(ctx, CXM_KPI_AOV, A, A, 95.0 / 6, 6);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 3, 3);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, A, 3, 3);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, A, 2, 3);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, A, A, 2.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, A, 30, 3);
  /* web (event-level): orders 10 30 15 15 = 4, revenue 70, refunds 5,
   * net 65 (n 5), AOV 70/4 = 17.5.
   * web (customer-level, first purchase on web): a and c. buyers 2,
   * frequency (3 + 2)/2 = 2.5, repeat 2/2 = 1, CLV (60 + 30)/2 = 45. */
  T_KPI(ctx, CXM_KPI_ORDERS, A, web, 4, 4);
  T_KPI(ctx, CXM_KPI_REVENUE, A, web, 70, 4);
  T_KPI(ctx, CXM_KPI_REFUNDS, A, web, 5, 1);
  T_KPI(ctx, CXM_KPI_NET_REVENUE, A, web, 65, 5);
  T_KPI(ctx, CXM_KPI_AOV, A, web, 17.5, 4);
  T_KPI(ctx, CXM_KPI_BUYERS, A, web, 2, 2);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, web, 2, 2);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, web, 2.5, 2);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, A, web, 1, 2);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, web, 45, 2);
  /* app: orders 20 5 = 2, revenue 25, no refunds, AOV 12.5.
   * customer-level: b only (a's first purchase was on web): buyers 1,
   * frequency 1, repeat 0, CLV b's net 0 / 1 = 0. */
  T_KPI(ctx, CXM_KPI_ORDERS, A, app, 2, 2);
  T_KPI(ctx, CXM_KPI_REVENUE, A, app, 25, 2);
  T_KPI(ctx, CXM_KPI_REFUNDS, A, app, 0, 0);
  T_KPI(ctx, CXM_KPI_AOV, A, app, 12.5, 2);
  T_KPI(ctx, CXM_KPI_BUYERS, A, app, 1, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, app, 1, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, A, app, 0, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, app, 0, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_lead_conversion) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  const int64_t b = T0;
  /* A: lead 10 (web), purchase 5 -> purchase before first lead: no.
   * B: lead 10 (web), purchase 10 -> at the first lead: yes.
   * C: lead 10 (email), purchase 20: yes.
   * D: lead 10 (email), no purchase: no.
   * E: purchase 20, then a late lead 15 (email) arrives: 20 >= 15: yes.
   * F: lead 20 (web), purchase 10, then a late lead 5 (email): the first
   *    lead is 5 (email), purchase 10 >= 5: yes, and F moves to email.
   * G: purchase 5, lead 10 (web), purchase 30: yes. */
  T_ADD0(ctx, b + 10, CXM_EV_LEAD, "A", web);
  T_ADD1(ctx, b + 5, CXM_EV_PURCHASE, "A", web, 1);
  T_ADD0(ctx, b + 10, CXM_EV_LEAD, "B", web);
  T_ADD1(ctx, b + 10, CXM_EV_PURCHASE, "B", web, 1);
  T_ADD0(ctx, b + 10, CXM_EV_LEAD, "C", email);
  T_ADD1(ctx, b + 20, CXM_EV_PURCHASE, "C", web, 1);
  T_ADD0(ctx, b + 10, CXM_EV_LEAD, "D", email);
  T_ADD1(ctx, b + 20, CXM_EV_PURCHASE, "E", web, 1);
  T_ADD0(ctx, b + 15, CXM_EV_LEAD, "E", email);
  T_ADD0(ctx, b + 20, CXM_EV_LEAD, "F", web);
  T_ADD1(ctx, b + 10, CXM_EV_PURCHASE, "F", web, 1);
  /* Before F's late lead: F's first lead is 20 > purchase 10: not
   * converted. Leads A..F = 6, converted B C E = 3: 3/6. */
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, A, A, 0.5, 6);
  T_ADD0(ctx, b + 5, CXM_EV_LEAD, "F", email);
  T_ADD1(ctx, b + 5, CXM_EV_PURCHASE, "G", web, 1);
  T_ADD0(ctx, b + 10, CXM_EV_LEAD, "G", web);
  T_ADD1(ctx, b + 30, CXM_EV_PURCHASE, "G", web, 1);
  /* Customers with a lead: A..G = 7; converted B C E F G = 5: 5/7. */
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, A, A, 5.0 / 7, 7);
  /* By first lead's channel: web A B G -> B G = 2/3; email C D E F ->
   * C E F = 3/4. */
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, A, web, 2.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, A, email, 3.0 / 4, 4);
  /* Lead events (event-level): web A B F(20) G = 4; email C D E F(5) = 4. */
  T_KPI(ctx, CXM_KPI_LEADS, A, A, 8, 8);
  T_KPI(ctx, CXM_KPI_LEADS, A, web, 4, 4);
  T_KPI(ctx, CXM_KPI_LEADS, A, email, 4, 4);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_engagement) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  /* X: touch (web), session (web), engage (email) = 3 interactions.
   * Y: message_click (email) = 1.
   * Z: message_sent, message_open, lead, purchase, churn, nps: none. */
  T_ADD0(ctx, T0 + 1, CXM_EV_TOUCH, "X", web);
  T_ADD(ctx, T0 + 2, CXM_EV_SESSION, "X", web, 1, 1);
  T_ADD0(ctx, T0 + 3, CXM_EV_ENGAGE, "X", email);
  T_ADD0(ctx, T0 + 4, CXM_EV_MESSAGE_CLICK, "Y", email);
  T_ADD0(ctx, T0 + 5, CXM_EV_MESSAGE_SENT, "Z", email);
  T_ADD0(ctx, T0 + 6, CXM_EV_MESSAGE_OPEN, "Z", email);
  T_ADD0(ctx, T0 + 7, CXM_EV_LEAD, "Z", web);
  T_ADD1(ctx, T0 + 8, CXM_EV_PURCHASE, "Z", web, 1);
  T_ADD0(ctx, T0 + 9, CXM_EV_CHURN, "Z", web);
  T_ADD1(ctx, T0 + 10, CXM_EV_NPS, "Z", web, 5);
  /* All: 4 interactions / 2 customers = 2.
   * By first interaction's channel: web X: 3/1 = 3; email Y: 1/1 = 1.
   * Interactions (event-level): web touch session = 2, email engage
   * click = 2. */
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, A, 2, 2);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, web, 3, 1);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, email, 1, 1);
  T_KPI(ctx, CXM_KPI_INTERACTIONS, A, A, 4, 4);
  T_KPI(ctx, CXM_KPI_INTERACTIONS, A, web, 2, 2);
  T_KPI(ctx, CXM_KPI_INTERACTIONS, A, email, 2, 2);
  T_KPI(ctx, CXM_KPI_EVENTS, A, A, 10, 10);
  T_KPI(ctx, CXM_KPI_EVENTS, A, email, 4, 4);
  /* An earlier interaction of X arriving late on email moves X to email:
   * web: none -> NaN; email: X (4) + Y (1) / 2 = 2.5. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "X", email);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, A, 5.0 / 2, 2);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, web, NAN, 0);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, email, 2.5, 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_sessions) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), app = t_chan(ctx, "app");
  /* (pageviews, seconds): bounce = exactly 1 pageview; engaged = 2+
   * pageviews or 10+ s.
   *   web (1, 5)      bounce
   *   web (2, NaN)    engaged
   *   web (1, 10)     bounce and engaged (10 s)
   *   web (0, 0)      neither
   *   app (NaN, NaN)  neither
   *   app (NaN, 30)   engaged
   *   app (3, 9)      engaged
   *   app (1, NaN)    bounce
   *   app (1, 9.99)   bounce */
  T_ADD(ctx, T0 + 1, CXM_EV_SESSION, "s", web, 1, 5);
  T_ADD(ctx, T0 + 2, CXM_EV_SESSION, "s", web, 2, NAN);
  T_ADD(ctx, T0 + 3, CXM_EV_SESSION, "s", web, 1, 10);
  T_ADD(ctx, T0 + 4, CXM_EV_SESSION, "s", web, 0, 0);
  T_ADD(ctx, T0 + 5, CXM_EV_SESSION, "t", app, NAN, NAN);
  T_ADD(ctx, T0 + 6, CXM_EV_SESSION, "t", app, NAN, 30);
  T_ADD(ctx, T0 + 7, CXM_EV_SESSION, "t", app, 3, 9);
  T_ADD(ctx, T0 + 8, CXM_EV_SESSION, "t", app, 1, NAN);
  T_ADD(ctx, T0 + 9, CXM_EV_SESSION, "t", app, 1, 9.99);
  /* All: sessions 9, bounces 4 -> 4/9, engaged 4 -> 4/9.
   * web: 4 sessions, bounces 2 -> 0.5, engaged 2 -> 0.5.
   * app: 5 sessions, bounces 2 -> 0.4, engaged 2 -> 0.4. */
  T_KPI(ctx, CXM_KPI_SESSIONS, A, A, 9, 9);
  T_KPI(ctx, CXM_KPI_BOUNCE_RATE, A, A, 4.0 / 9, 9);
  T_KPI(ctx, CXM_KPI_ENGAGED_SESSION_RATE, A, A, 4.0 / 9, 9);
  T_KPI(ctx, CXM_KPI_SESSIONS, A, web, 4, 4);
  T_KPI(ctx, CXM_KPI_BOUNCE_RATE, A, web, 0.5, 4);
  T_KPI(ctx, CXM_KPI_ENGAGED_SESSION_RATE, A, web, 0.5, 4);
  T_KPI(ctx, CXM_KPI_BOUNCE_RATE, A, app, 0.4, 5);
  T_KPI(ctx, CXM_KPI_ENGAGED_SESSION_RATE, A, app, 0.4, 5);
  /* Sessions are interactions. */
  T_KPI(ctx, CXM_KPI_INTERACTIONS, A, A, 9, 9);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, A, 4.5, 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_messages) {
  cxm_ctx *ctx = t_new();
  int32_t email = t_chan(ctx, "email"), sms = t_chan(ctx, "sms");
  /* email: 4 sent, 3 opens, 1 click; sms: 2 sent, 0 opens, 1 click. */
  for (int i = 0; i < 4; i++) {
    char id[4] = {'m', (char)('0' + i), 0};
    T_ADD0(ctx, T0 + i, CXM_EV_MESSAGE_SENT, id, email);
    if (i < 3) T_ADD0(ctx, T0 + 10 + i, CXM_EV_MESSAGE_OPEN, id, email);
  }
  T_ADD0(ctx, T0 + 20, CXM_EV_MESSAGE_CLICK, "m0", email);
  T_ADD0(ctx, T0 + 21, CXM_EV_MESSAGE_SENT, "s0", sms);
  T_ADD0(ctx, T0 + 22, CXM_EV_MESSAGE_SENT, "s1", sms);
  T_ADD0(ctx, T0 + 23, CXM_EV_MESSAGE_CLICK, "s1", sms);
  /* email: open 3/4, click 1/4, CTO 1/3.
   * sms: open 0/2, click 1/2, CTO 1/0 = NaN.
   * all: sent 6, opens 3, clicks 2: open 0.5, click 1/3, CTO 2/3. */
  T_KPI(ctx, CXM_KPI_OPEN_RATE, A, email, 0.75, 4);
  T_KPI(ctx, CXM_KPI_CLICK_RATE, A, email, 0.25, 4);
  T_KPI(ctx, CXM_KPI_CLICK_TO_OPEN_RATE, A, email, 1.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_OPEN_RATE, A, sms, 0, 2);
  T_KPI(ctx, CXM_KPI_CLICK_RATE, A, sms, 0.5, 2);
  T_KPI(ctx, CXM_KPI_CLICK_TO_OPEN_RATE, A, sms, NAN, 0);
  T_KPI(ctx, CXM_KPI_OPEN_RATE, A, A, 0.5, 6);
  T_KPI(ctx, CXM_KPI_CLICK_RATE, A, A, 1.0 / 3, 6);
  T_KPI(ctx, CXM_KPI_CLICK_TO_OPEN_RATE, A, A, 2.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_MESSAGES_SENT, A, A, 6, 6);
  T_KPI(ctx, CXM_KPI_MESSAGES_OPENED, A, A, 3, 3);
  T_KPI(ctx, CXM_KPI_MESSAGES_CLICKED, A, sms, 1, 1);
  /* Only clicks are interactions: 2 clicks / 2 customers (m0, s1). */
  T_KPI(ctx, CXM_KPI_INTERACTIONS, A, A, 2, 2);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, A, A, 1, 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_acquisition_cost) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  int32_t ads = t_chan(ctx, "ads");
  int32_t gold = t_seg(ctx, "gold");
  t_assign(ctx, "p", t_set(ctx, 1, &gold));
  /* Spend: web 120.00 + 30.00, email 45.50, ads 0.00, no channel 10.00. */
  T_ADD1(ctx, T0 + 1, CXM_EV_SPEND, NULL, web, 120);
  T_ADD1(ctx, T0 + 2, CXM_EV_SPEND, NULL, web, 30);
  T_ADD1(ctx, T0 + 3, CXM_EV_SPEND, NULL, email, 45.5);
  T_ADD1(ctx, T0 + 4, CXM_EV_SPEND, NULL, ads, 0);
  T_ADD1(ctx, T0 + 5, CXM_EV_SPEND, NULL, NC, 10);
  /* Leads: web p, q, q; email r. */
  T_ADD0(ctx, T0 + 10, CXM_EV_LEAD, "p", web);
  T_ADD0(ctx, T0 + 11, CXM_EV_LEAD, "q", web);
  T_ADD0(ctx, T0 + 12, CXM_EV_LEAD, "q", web);
  T_ADD0(ctx, T0 + 13, CXM_EV_LEAD, "r", email);
  /* Purchases: p web 10 then email 20; q email 5; r web 7; s ads 3 then
   * web 4. First purchases: p web, q email, r web, s ads. */
  T_ADD1(ctx, T0 + 20, CXM_EV_PURCHASE, "p", web, 10);
  T_ADD1(ctx, T0 + 21, CXM_EV_PURCHASE, "p", email, 20);
  T_ADD1(ctx, T0 + 22, CXM_EV_PURCHASE, "q", email, 5);
  T_ADD1(ctx, T0 + 23, CXM_EV_PURCHASE, "r", web, 7);
  T_ADD1(ctx, T0 + 24, CXM_EV_PURCHASE, "s", ads, 3);
  T_ADD1(ctx, T0 + 25, CXM_EV_PURCHASE, "s", web, 4);
  /* Spend: all 120 + 30 + 45.5 + 0 + 10 = 205.5 (5 events); web 150 (2);
   * email 45.5 (1); ads 0 (1). */
  T_KPI(ctx, CXM_KPI_SPEND, A, A, 205.5, 5);
  T_KPI_INT(ctx, CXM_KPI_SPEND, A, A, 20550, 5);
  T_KPI(ctx, CXM_KPI_SPEND, A, web, 150, 2);
  T_KPI_INT(ctx, CXM_KPI_SPEND, A, web, 15000, 2);
  T_KPI(ctx, CXM_KPI_SPEND, A, email, 45.5, 1);
  T_KPI(ctx, CXM_KPI_SPEND, A, ads, 0, 1);
  /* Leads: all 4, web 3, email 1, ads 0.
   * CPL: all 205.5/4 = 51.375; web 150/3 = 50; email 45.5/1; ads 0/0 NaN. */
  T_KPI(ctx, CXM_KPI_CPL, A, A, 51.375, 4);
  T_KPI(ctx, CXM_KPI_CPL, A, web, 50, 3);
  T_KPI(ctx, CXM_KPI_CPL, A, email, 45.5, 1);
  T_KPI(ctx, CXM_KPI_CPL, A, ads, NAN, 0);
  /* Orders: all 6, web p10 r7 s4 = 3, email p20 q5 = 2, ads s3 = 1.
   * CPA: all 205.5/6 = 34.25; web 150/3 = 50; email 45.5/2 = 22.75;
   * ads 0/1 = 0. */
  T_KPI(ctx, CXM_KPI_CPA, A, A, 34.25, 6);
  T_KPI(ctx, CXM_KPI_CPA, A, web, 50, 3);
  T_KPI(ctx, CXM_KPI_CPA, A, email, 22.75, 2);
  T_KPI(ctx, CXM_KPI_CPA, A, ads, 0, 1);
  /* New buyers: all 4, web p r = 2, email q = 1, ads s = 1.
   * CAC: all 205.5/4 = 51.375; web 150/2 = 75; email 45.5/1; ads 0/1. */
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, A, 4, 4);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, web, 2, 2);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, email, 1, 1);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, ads, 1, 1);
  T_KPI(ctx, CXM_KPI_CAC, A, A, 51.375, 4);
  T_KPI(ctx, CXM_KPI_CAC, A, web, 75, 2);
  T_KPI(ctx, CXM_KPI_CAC, A, email, 45.5, 1);
  T_KPI(ctx, CXM_KPI_CAC, A, ads, 0, 1);
  /* Spend has no customer: undefined in segment scopes. */
  for (int32_t ch = -1; ch < 3; ch++) {
    T_KPI(ctx, CXM_KPI_SPEND, gold, ch, NAN, -1);
    T_KPI(ctx, CXM_KPI_CPL, gold, ch, NAN, -1);
    T_KPI(ctx, CXM_KPI_CPA, gold, ch, NAN, -1);
    T_KPI(ctx, CXM_KPI_CAC, gold, ch, NAN, -1);
  }
  /* ... while gold's other KPIs are there: p's orders 10 (web) 20 (email). */
  T_KPI(ctx, CXM_KPI_ORDERS, gold, A, 2, 2);
  T_KPI(ctx, CXM_KPI_ORDERS, gold, web, 1, 1);
  T_KPI(ctx, CXM_KPI_LEADS, gold, web, 1, 1);
  /* Spend in a window: [T0, T0 + 1 day) has it all; the next day none. */
  T_KPI_W(ctx, CXM_KPI_SPEND, A, web, T0, T0 + DAY, 150, 2);
  T_KPI_W(ctx, CXM_KPI_SPEND, A, web, T0 + DAY, T0 + 2 * DAY, 0, 0);
  T_KPI_W(ctx, CXM_KPI_CPL, A, web, T0, T0 + DAY, 50, 3);
  T_KPI_W(ctx, CXM_KPI_CPA, A, A, T0, T0 + DAY, 34.25, 6);
  /* Spend is an event of the scope. */
  T_KPI(ctx, CXM_KPI_EVENTS, A, A, 5 + 4 + 6, 15);
  T_KPI(ctx, CXM_KPI_EVENTS, A, ads, 2, 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_windows_utc) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  /* Day D = T0's UTC day. Purchases: D 01:00 (1.00), D+1 23:00 (2.00),
   * D+2 00:00 (4.00), D+2 23:59:59 (8.00); an NPS 10 on D+1. */
  T_ADD1(ctx, T0 + HOUR, CXM_EV_PURCHASE, "a", web, 1);
  T_ADD1(ctx, T0 + DAY + 23 * HOUR, CXM_EV_PURCHASE, "a", web, 2);
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_PURCHASE, "b", web, 4);
  T_ADD1(ctx, T0 + 3 * DAY - 1, CXM_EV_PURCHASE, "b", web, 8);
  T_ADD1(ctx, T0 + DAY + 5, CXM_EV_NPS, "c", web, 10);
  /* [D 12:00, D+2 05:00) floors to [D, D+2): days D and D+1:
   * orders 2, revenue 3, AOV 1.5. */
  T_KPI_W(ctx, CXM_KPI_ORDERS, A, A, T0 + 12 * HOUR, T0 + 2 * DAY + 5 * HOUR,
          2, 2);
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, web, T0 + 12 * HOUR,
          T0 + 2 * DAY + 5 * HOUR, 3, 2);
  T_KPI_W(ctx, CXM_KPI_AOV, A, A, T0 + 12 * HOUR, T0 + 2 * DAY + 5 * HOUR,
          1.5, 2);
  /* [D+2, D+3): 4 + 8 = 12 in 2 orders. */
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, T0 + 2 * DAY, T0 + 3 * DAY, 12, 2);
  /* [D, D): empty. */
  T_KPI_W(ctx, CXM_KPI_ORDERS, A, A, T0, T0, 0, 0);
  T_KPI_W(ctx, CXM_KPI_AOV, A, A, T0, T0 + 1, NAN, 0);
  /* Unbounded on one side. */
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, CXM_TIME_MIN, T0 + DAY, 1, 1);
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, T0 + DAY, CXM_TIME_MAX, 14, 3);
  T_KPI_W(ctx, CXM_KPI_NPS, A, A, T0 + DAY, T0 + 2 * DAY, 100, 1);
  T_KPI_W(ctx, CXM_KPI_NPS, A, A, T0, T0 + DAY, NAN, 0);
  T_KPI_W(ctx, CXM_KPI_EVENTS, A, web, T0 + DAY, T0 + 2 * DAY, 2, 2);
  /* Exact money in a window. */
  int64_t v = 0, n = 0;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, A, web, T0 + DAY,
                                   CXM_TIME_MAX, &v, &n), CXM_OK);
  ck_assert_int_eq(v, 1400);
  ck_assert_int_eq(n, 3);

  /* Customer-level KPIs need the unbounded window. */
  static const int cl[] = {CXM_KPI_BUYERS, CXM_KPI_PURCHASE_FREQUENCY,
                           CXM_KPI_REPEAT_PURCHASE_RATE,
                           CXM_KPI_CLV_HISTORICAL,
                           CXM_KPI_LEAD_CONVERSION_RATE,
                           CXM_KPI_ENGAGEMENT_RATE};
  for (size_t i = 0; i < sizeof cl / sizeof *cl; i++) {
    double d;
    ck_assert_int_eq(cxm_kpi_get(ctx, cl[i], A, A, T0, CXM_TIME_MAX, &d, &n),
                     CXM_E_UNSUPPORTED);
    ck_assert_int_eq(cxm_kpi_get(ctx, cl[i], A, web, CXM_TIME_MIN, T0, &d,
                                 &n), CXM_E_UNSUPPORTED);
    ck_assert_int_eq(cxm_kpi_get(ctx, cl[i], A, A, T0, T0 + DAY, &d, &n),
                     CXM_E_UNSUPPORTED);
    ck_assert_int_eq(cxm_kpi_get(ctx, cl[i], A, A, ALLW, &d, &n), CXM_OK);
  }
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_BUYERS, A, A, T0,
                                   CXM_TIME_MAX, &v, &n), CXM_E_UNSUPPORTED);

  /* Day numbers and trailing windows in UTC. T0 is day 20454. */
  int64_t day = 0, from = 0, to = 0;
  ck_assert_int_eq(cxm_time_day(ctx, T0, &day), CXM_OK);
  ck_assert_int_eq(day, 20454);
  ck_assert_int_eq(cxm_time_day(ctx, T0 - 1, &day), CXM_OK);
  ck_assert_int_eq(day, 20453);
  ck_assert_int_eq(cxm_time_day(ctx, -1, &day), CXM_OK);
  ck_assert_int_eq(day, -1);
  /* Trailing 7 days as of D+2 15:00: days D-4 .. D+2, i.e.
   * [T0 - 4 days, T0 + 3 days). */
  ck_assert_int_eq(cxm_window_trailing(ctx, T0 + 2 * DAY + 15 * HOUR, 7,
                                       &from, &to), CXM_OK);
  ck_assert_int_eq(from, T0 - 4 * DAY);
  ck_assert_int_eq(to, T0 + 3 * DAY);
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, from, to, 15, 4);
  /* Trailing 1 day as of D+1 00:00: [D+1, D+2). */
  ck_assert_int_eq(cxm_window_trailing(ctx, T0 + DAY, 1, &from, &to), CXM_OK);
  ck_assert_int_eq(from, T0 + DAY);
  ck_assert_int_eq(to, T0 + 2 * DAY);
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, from, to, 2, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_windows_offset) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  /* UTC+07:00 (Jakarta). Local day L(t) = floor((t + 25200) / 86400). */
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 25200), CXM_OK);
  int32_t web = t_chan(ctx, "web");
  /* 16:00 UTC on D = 23:00 local on D; 18:00 UTC on D = 01:00 local on
   * D+1 (day 20455). */
  int64_t day = 0;
  ck_assert_int_eq(cxm_time_day(ctx, T0 + 16 * HOUR, &day), CXM_OK);
  ck_assert_int_eq(day, 20454);
  ck_assert_int_eq(cxm_time_day(ctx, T0 + 18 * HOUR, &day), CXM_OK);
  ck_assert_int_eq(day, 20455);
  ck_assert_int_eq(cxm_time_day(ctx, T0 + 17 * HOUR, &day), CXM_OK);
  ck_assert_int_eq(day, 20455); /* local midnight exactly */
  ck_assert_int_eq(cxm_time_day(ctx, T0 + 17 * HOUR - 1, &day), CXM_OK);
  ck_assert_int_eq(day, 20454);
  T_ADD1(ctx, T0 + 16 * HOUR, CXM_EV_PURCHASE, "a", web, 1);
  T_ADD1(ctx, T0 + 18 * HOUR, CXM_EV_PURCHASE, "a", web, 2);
  /* Local day D+1 starts at 20455 * 86400 - 25200 = T0 + 17 h (UTC).
   * [T0 + 17 h, T0 + 41 h) = local D+1: only the 18:00 UTC event. */
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, T0 + 17 * HOUR, T0 + 41 * HOUR, 2, 1);
  /* from = T0 (07:00 local on D) floors to local D start = T0 - 7 h;
   * to = T0 + 1 day (07:00 local on D+1) floors to T0 + 17 h:
   * [T0 - 7 h, T0 + 17 h) holds the 16:00 UTC event only. */
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, T0, T0 + DAY, 1, 1);
  /* [T0 + 18 h, ...) floors to T0 + 17 h: the 18:00 event is in. */
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, T0 + 18 * HOUR, CXM_TIME_MAX, 2, 1);
  /* Trailing 1 day as of 18:00 UTC (local D+1): [T0 + 17 h, T0 + 41 h). */
  int64_t from = 0, to = 0;
  ck_assert_int_eq(cxm_window_trailing(ctx, T0 + 18 * HOUR, 1, &from, &to),
                   CXM_OK);
  ck_assert_int_eq(from, T0 + 17 * HOUR);
  ck_assert_int_eq(to, T0 + 41 * HOUR);
  /* Trailing 7 days as of the same: local days D-5 .. D+1:
   * from = 20449 * 86400 - 25200, to = 20456 * 86400 - 25200. */
  ck_assert_int_eq(cxm_window_trailing(ctx, T0 + 18 * HOUR, 7, &from, &to),
                   CXM_OK);
  ck_assert_int_eq(from, INT64_C(20449) * 86400 - 25200);
  ck_assert_int_eq(to, INT64_C(20456) * 86400 - 25200);
  T_KPI_W(ctx, CXM_KPI_REVENUE, A, A, from, to, 3, 2);
  /* A bare date parses as local midnight. */
  int64_t t = 0;
  ck_assert_int_eq(cxm_time_parse(ctx, "2026-01-02", 10, &t), CXM_OK);
  ck_assert_int_eq(t, T0 + 17 * HOUR);
  cxm_ctx_destroy(ctx);

  /* UTC-05:00: 03:00 UTC on D is 22:00 local on D-1. */
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, -18000), CXM_OK);
  ck_assert_int_eq(cxm_time_day(ctx, T0 + 3 * HOUR, &day), CXM_OK);
  ck_assert_int_eq(day, 20453);
  ck_assert_int_eq(cxm_time_day(ctx, T0 + 5 * HOUR, &day), CXM_OK);
  ck_assert_int_eq(day, 20454);
  T_ADD1(ctx, T0 + 3 * HOUR, CXM_EV_NPS, "a", NC, 0);
  /* Local D-1 = [T0 - 19 h, T0 + 5 h). */
  T_KPI_W(ctx, CXM_KPI_NPS, A, A, T0 - 19 * HOUR, T0 + 5 * HOUR, -100, 1);
  T_KPI_W(ctx, CXM_KPI_NPS, A, A, T0 + 5 * HOUR, T0 + 29 * HOUR, NAN, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_exact_money) {
  cxm_ctx *ctx = t_new();
  /* 1,000,000 purchases of 0.10 and 1,000,000 of 0.20: in doubles the sum
   * drifts; in cents it is 10 * 1e6 + 20 * 1e6 = 30,000,000 exactly. */
  enum { CH = 100000 };
  int64_t *times = malloc(CH * sizeof *times);
  int32_t *types = malloc(CH * sizeof *types);
  int64_t *offs = malloc((CH + 1) * sizeof *offs);
  double *vals = malloc(CH * sizeof *vals);
  uint8_t *ids = malloc(CH * 4);
  ck_assert(times && types && offs && vals && ids);
  for (int i = 0; i < CH; i++) {
    times[i] = T0 + (i % 1000);
    types[i] = CXM_EV_PURCHASE;
    offs[i] = 4 * i;
    memcpy(ids + 4 * i, i % 2 ? "cu01" : "cu02", 4);
  }
  offs[CH] = 4 * CH;
  double naive = 0;
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < CH; i++) {
      vals[i] = (i + round) % 2 ? 0.1 : 0.2;
      naive += vals[i];
    }
    size_t acc = 0;
    ck_assert_int_eq(cxm_events_add(ctx, CH, times, types, ids, offs, NULL,
                                    vals, NULL, NULL, &acc, NULL),
                     CXM_OK);
    ck_assert_uint_eq(acc, CH);
  }
  ck_assert(naive != 300000.0); /* the naive double sum is off */
  T_KPI_INT(ctx, CXM_KPI_REVENUE, A, A, INT64_C(30000000), 2000000);
  T_KPI_INT(ctx, CXM_KPI_ORDERS, A, A, 2000000, 2000000);
  double v = t_kpi(ctx, CXM_KPI_REVENUE, A, A, NULL);
  ck_assert_msg(v == 300000.0, "revenue %.17g", v);
  /* AOV = 300000 / 2e6 = 0.15 */
  T_KPI(ctx, CXM_KPI_AOV, A, A, 0.15, 2000000);
  free(times);
  free(types);
  free(offs);
  free(vals);
  free(ids);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Cents stored for @p amount with @p decimals, via one purchase. */
static int64_t t_stored(int decimals, double amount) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_DECIMALS, decimals), CXM_OK);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", NC, amount);
  int64_t v = 0, n = 0;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, A, A, ALLW, &v, &n),
                   CXM_OK);
  ck_assert_int_eq(n, 1);
  /* The double value is the minor units over 10^decimals. */
  double d = t_kpi(ctx, CXM_KPI_REVENUE, A, A, NULL);
  ck_assert_msg(t_close(d, (double)v / pow(10, decimals)),
                "revenue %.17g, minor units %lld", d, (long long)v);
  cxm_ctx_destroy(ctx);
  return v;
}

/* The header's rule (CXM_OPT_DECIMALS): round(amount * 10^d), halves away
 * from zero, where a product within 4 ulps of a half counts as that half. */
static int64_t t_rule(double amount, int d) {
  double x = amount * pow(10.0, d);
  double fl = floor(x);
  double ulp = nextafter(x, INFINITY) - x;
  if (fabs(x - (fl + 0.5)) <= 4 * ulp) return (int64_t)fl + 1;
  return llround(x);
}

START_TEST(test_money_rounding) {
  /* 1.005 is 1.00499999999999989... in binary, times 100.0 gives
   * 100.49999999999999: plain llround gives 100, but the product is 1 ulp
   * below the half 100.5, so the header's rule takes it as the half: 101. */
  ck_assert_int_eq(llround(1.005 * 100.0), 100);
  ck_assert_int_eq(t_rule(1.005, 2), 101);
  ck_assert_int_eq(t_stored(2, 1.005), 101);
  /* The header's own example: 0.285 -> 29 cents (0.285 * 100 is
   * 28.499999999999996). */
  ck_assert_int_eq(t_stored(2, 0.285), 29);
  /* 0.125 * 100 = 12.5 exactly -> 13 (half away from zero). */
  ck_assert_int_eq(t_stored(2, 0.125), 13);
  /* 2.675 * 100 = 267.49999999999997 (1 ulp below 267.5) -> 268. */
  ck_assert_int_eq(t_stored(2, 2.675), t_rule(2.675, 2));
  ck_assert_int_eq(t_stored(2, 2.675), 268);
  ck_assert_int_eq(t_stored(2, 19.99), 1999);
  ck_assert_int_eq(t_stored(2, 0.004), 0);
  ck_assert_int_eq(t_stored(2, 0.12499), 12);
  /* Decimals 0: 2.5 -> 3, 0.49 -> 0, 1234.5 -> 1235. */
  ck_assert_int_eq(t_stored(0, 2.5), 3);
  ck_assert_int_eq(t_stored(0, 0.49), 0);
  ck_assert_int_eq(t_stored(0, 1234.5), 1235);
  /* Decimals 3 and 6. */
  ck_assert_int_eq(t_stored(3, 1.0005), t_rule(1.0005, 3));
  ck_assert_int_eq(t_stored(6, 0.1234565), t_rule(0.1234565, 6));
  ck_assert_int_eq(t_stored(6, 12.5), 12500000);
  /* A large amount still exact: 1e12 with 2 decimals = 1e14 cents. */
  ck_assert_int_eq(t_stored(2, 1e12), INT64_C(100000000000000));

  /* Refunds and spend follow the same rule; net revenue is exact. */
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", web, 0.125); /* 13 */
  T_ADD1(ctx, T0, CXM_EV_REFUND, "a", web, 0.115);   /* 12 */
  T_ADD1(ctx, T0, CXM_EV_SPEND, NULL, web, 1.005);   /* 101 */
  const int64_t r = t_rule(0.115, 2);
  ck_assert_int_eq(r, 12);
  T_KPI_INT(ctx, CXM_KPI_REFUNDS, A, A, r, 1);
  T_KPI_INT(ctx, CXM_KPI_NET_REVENUE, A, A, 13 - r, 2);
  T_KPI_INT(ctx, CXM_KPI_SPEND, A, web, 101, 1);
  /* An amount beyond int64 minor units cannot be stored: rejected. */
  ck_assert_int_ne(t_ev(ctx, T0, CXM_EV_PURCHASE, "a", web, 1e300, NAN),
                   CXM_OK);
  ck_assert_int_ne(t_ev(ctx, T0, CXM_EV_PURCHASE, "a", web, 1e17, NAN),
                   CXM_OK);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, A, A, 13, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Tiny deterministic PRNG (xorshift64*). */
static uint64_t t_rng(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

typedef struct t_ev_rec {
  int64_t t;
  int32_t type, ch;
  char cust[16]; /* "c%02d" of any int + NUL: 13 */
  double v, v2;
} t_ev_rec;

static void t_feed(cxm_ctx *ctx, const t_ev_rec *ev, size_t n,
                   const size_t *order) {
  for (size_t i = 0; i < n; i++) {
    const t_ev_rec *e = &ev[order[i]];
    T_ADD(ctx, e->t, e->type, e->type == CXM_EV_SPEND ? NULL : e->cust, e->ch,
          e->v, e->v2);
  }
}

static cxm_ctx *t_order_ctx(void) {
  cxm_ctx *ctx = t_new();
  t_chan(ctx, "web");
  t_chan(ctx, "email");
  t_chan(ctx, "app");
  int32_t s0 = t_seg(ctx, "gold"), s1 = t_seg(ctx, "eu");
  int32_t both[] = {s0, s1};
  int32_t g = t_set(ctx, 1, &s0), e = t_set(ctx, 1, &s1);
  int32_t ge = t_set(ctx, 2, both);
  for (int c = 0; c < 30; c++) {
    char id[16]; /* "c" + any int + NUL: 13 */
    snprintf(id, sizeof id, "c%02d", c);
    int32_t set = c % 4 == 0 ? g : c % 4 == 1 ? e : c % 4 == 2 ? ge : 0;
    t_assign(ctx, id, set);
  }
  return ctx;
}

START_TEST(test_order_independence) {
  enum { N = 1500 };
  t_ev_rec *ev = calloc(N, sizeof *ev);
  size_t *ord = malloc(N * sizeof *ord);
  ck_assert(ev && ord);
  uint64_t s = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i < N; i++) {
    t_ev_rec *e = &ev[i];
    /* Distinct times within 5 days (< the 7-day bound), so any order is
     * within the bound and ties never decide a first event. */
    e->t = T0 - 2 * DAY + (int64_t)i * 277;
    e->type = (int32_t)(t_rng(&s) % 14) + 1;
    e->ch = (int32_t)(t_rng(&s) % 4) - 1;
    snprintf(e->cust, sizeof e->cust, "c%02d", (int)(t_rng(&s) % 30));
    e->v = e->v2 = NAN;
    switch (e->type) {
    case CXM_EV_SESSION:
      e->v = (double)(t_rng(&s) % 4);
      e->v2 = (double)(t_rng(&s) % 30);
      if (t_rng(&s) % 5 == 0) e->v = NAN;
      break;
    case CXM_EV_PURCHASE:
    case CXM_EV_REFUND:
    case CXM_EV_SPEND:
      e->v = (double)(t_rng(&s) % 100000) / 100.0;
      break;
    case CXM_EV_NPS: e->v = (double)(t_rng(&s) % 11); break;
    case CXM_EV_CSAT: e->v = (double)(t_rng(&s) % 5 + 1); break;
    case CXM_EV_CES: e->v = (double)(t_rng(&s) % 7 + 1); break;
    default: break;
    }
    ord[i] = i;
  }
  cxm_ctx *a = t_order_ctx();
  t_feed(a, ev, N, ord);
  t_snap sa;
  t_snap_take(a, &sa);
  for (int rep = 0; rep < 3; rep++) {
    /* Fisher-Yates shuffle (rep 0: reversed). */
    if (rep == 0) {
      for (size_t i = 0; i < N; i++) ord[i] = N - 1 - i;
    } else {
      for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)(t_rng(&s) % (i + 1));
        size_t tmp = ord[i];
        ord[i] = ord[j];
        ord[j] = tmp;
      }
    }
    cxm_ctx *b = t_order_ctx();
    t_feed(b, ev, N, ord);
    t_snap sb;
    t_snap_take(b, &sb);
    t_snap_assert_eq(&sa, &sb, "shuffled stream");
    t_snap_free(&sb);
    int64_t acc = 0;
    ck_assert_int_eq(cxm_stat_get(b, CXM_STAT_EVENTS_ACCEPTED, &acc), CXM_OK);
    ck_assert_int_eq(acc, N);
    cxm_ctx_destroy(b);
  }
  t_snap_free(&sa);
  cxm_ctx_destroy(a);
  free(ev);
  free(ord);
}
END_TEST

/* The edge of the "within 4 ulps of a half" rule. With decimals 0 the
 * product is the amount itself: 3 ulps below 100.5 counts as the half
 * (101); 6 ulps below does not (100). */
START_TEST(test_money_rounding_ulps) {
  double h3 = 100.5, h6 = 100.5;
  for (int i = 0; i < 3; i++) h3 = nextafter(h3, 0);
  for (int i = 0; i < 6; i++) h6 = nextafter(h6, 0);
  ck_assert_int_eq(t_rule(h3, 0), 101);
  ck_assert_int_eq(t_rule(h6, 0), 100);
  ck_assert_int_eq(t_stored(0, h3), 101);
  ck_assert_msg(t_stored(0, h6) == 100,
                "100.5 - 6 ulps stored as %lld units; the header's rule "
                "(within 4 ulps of a half) gives 100",
                (long long)t_stored(0, h6));
}
END_TEST

static Suite *kpi_suite(void) {
  Suite *s = suite_create("kpi");
  TCase *tc = tcase_create("kpi");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_no_data);
  tcase_add_test(tc, test_one_event);
  tcase_add_test(tc, test_all_detractors);
  tcase_add_test(tc, test_nps_mix);
  tcase_add_test(tc, test_csat_ces);
  tcase_add_test(tc, test_refunds_above_revenue);
  tcase_add_test(tc, test_commerce);
  tcase_add_test(tc, test_lead_conversion);
  tcase_add_test(tc, test_engagement);
  tcase_add_test(tc, test_sessions);
  tcase_add_test(tc, test_messages);
  tcase_add_test(tc, test_acquisition_cost);
  tcase_add_test(tc, test_windows_utc);
  tcase_add_test(tc, test_windows_offset);
  tcase_add_test(tc, test_exact_money);
  tcase_add_test(tc, test_money_rounding);
  tcase_add_test(tc, test_money_rounding_ulps);
  tcase_add_test(tc, test_order_independence);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(kpi_suite()); }
