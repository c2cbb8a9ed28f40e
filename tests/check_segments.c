/*
 * check_segments.c - segments and acquisition channels: event-level KPIs
 * stay with the segments held when each event was added; customer-level KPIs
 * follow the segments a customer holds now and the channel that acquired it.
 * Expected values are computed by hand in the comments.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#define A CXM_ALL
#define NC CXM_NO_CHANNEL

START_TEST(test_segment_change) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), app = t_chan(ctx, "app");
  int32_t G = t_seg(ctx, "gold"), S = t_seg(ctx, "silver");
  int32_t GS[] = {G, S};
  int32_t setG = t_set(ctx, 1, &G), setS = t_set(ctx, 1, &S);
  int32_t setGS = t_set(ctx, 2, GS);

  /* a holds {gold}: purchase 10 (web), nps 9, session with 1 pageview
   * (web), lead (web). */
  t_assign(ctx, "a", setG);
  T_ADD1(ctx, T0 + 1, CXM_EV_PURCHASE, "a", web, 10);
  T_ADD1(ctx, T0 + 2, CXM_EV_NPS, "a", web, 9);
  T_ADD(ctx, T0 + 3, CXM_EV_SESSION, "a", web, 1, 5);
  T_ADD0(ctx, T0 + 4, CXM_EV_LEAD, "a", web);
  /* b holds {gold} throughout: purchase 5 (web). */
  t_assign(ctx, "b", setG);
  T_ADD1(ctx, T0 + 5, CXM_EV_PURCHASE, "b", web, 5);

  /* Before the change: gold has a and b. */
  T_KPI(ctx, CXM_KPI_BUYERS, G, A, 2, 2);
  T_KPI(ctx, CXM_KPI_BUYERS, S, A, 0, 0);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, G, A, 7.5, 2); /* (10 + 5) / 2 */

  /* a moves to {silver}: purchase 20 (app), nps 3, refund 4 (app). */
  t_assign(ctx, "a", setS);
  T_ADD1(ctx, T0 + 6, CXM_EV_PURCHASE, "a", app, 20);
  T_ADD1(ctx, T0 + 7, CXM_EV_NPS, "a", app, 3);
  T_ADD1(ctx, T0 + 8, CXM_EV_REFUND, "a", app, 4);

  /* Event-level, by segments held at event time:
   *   gold:   orders a10 b5 = 2, revenue 15, refunds 0, nps a's 9 -> 100
   *           (n 1), sessions 1 (bounce 1/1), leads 1.
   *   silver: orders a20 = 1, revenue 20, refunds 4, net 16, nps a's 3 ->
   *           -100 (n 1), sessions 0. */
  T_KPI(ctx, CXM_KPI_ORDERS, G, A, 2, 2);
  T_KPI(ctx, CXM_KPI_REVENUE, G, A, 15, 2);
  T_KPI(ctx, CXM_KPI_REFUNDS, G, A, 0, 0);
  T_KPI(ctx, CXM_KPI_AOV, G, A, 7.5, 2);
  T_KPI(ctx, CXM_KPI_NPS, G, A, 100, 1);
  T_KPI(ctx, CXM_KPI_SESSIONS, G, A, 1, 1);
  T_KPI(ctx, CXM_KPI_BOUNCE_RATE, G, A, 1, 1);
  T_KPI(ctx, CXM_KPI_LEADS, G, A, 1, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_REVENUE, S, A, 20, 1);
  T_KPI(ctx, CXM_KPI_REFUNDS, S, A, 4, 1);
  T_KPI(ctx, CXM_KPI_NET_REVENUE, S, A, 16, 2);
  T_KPI(ctx, CXM_KPI_NPS, S, A, -100, 1);
  T_KPI(ctx, CXM_KPI_SESSIONS, S, A, 0, 0);
  T_KPI(ctx, CXM_KPI_LEADS, S, A, 0, 0);
  /* Customer-level, by segments held now (a: silver, b: gold), with all of
   * the customer's activity:
   *   gold:   b: buyers 1, frequency 1/1, repeat 0/1, CLV 5;
   *           no lead -> lead conversion NaN; no interaction -> NaN.
   *   silver: a: buyers 1, frequency 2/1, repeat 1/1, CLV (10+20-4)/1 = 26;
   *           a's lead at +4, purchase at +6 >= +4 -> 1/1;
   *           engagement a's 1 session / 1 = 1. */
  T_KPI(ctx, CXM_KPI_BUYERS, G, A, 1, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, G, A, 1, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, G, A, 0, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, G, A, 5, 1);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, G, A, NAN, 0);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, G, A, NAN, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, S, A, 2, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, S, A, 26, 1);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, S, A, 1, 1);
  /* All scope is unaffected by segments: buyers 2, frequency 3/2,
   * repeat 1/2, CLV (26 + 5)/2 = 15.5. */
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 2, 2);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, A, 1.5, 2);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, A, A, 0.5, 2);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, A, 15.5, 2);

  /* Segment x channel. Event-level: gold x web orders a10 b5 = 2; gold x
   * app 0; silver x app a20 = 1; silver x web 0.
   * Customer-level (segment now x first purchase's channel): a is silver x
   * web (its first purchase was on web), b gold x web. */
  T_KPI(ctx, CXM_KPI_ORDERS, G, web, 2, 2);
  T_KPI(ctx, CXM_KPI_ORDERS, G, app, 0, 0);
  T_KPI(ctx, CXM_KPI_ORDERS, S, app, 1, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, S, web, 0, 0);
  T_KPI(ctx, CXM_KPI_NPS, S, app, -100, 1);
  T_KPI(ctx, CXM_KPI_NPS, G, web, 100, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, S, web, 1, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, S, web, 2, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, S, web, 26, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, S, app, 0, 0);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, S, app, NAN, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, G, web, 1, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, G, web, 5, 1);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, S, web, 1, 1);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, S, web, 1, 1);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, G, web, NAN, 0);
  /* Spend-based KPIs are undefined in segment x channel scopes. */
  T_ADD1(ctx, T0 + 9, CXM_EV_SPEND, NULL, web, 50);
  T_KPI(ctx, CXM_KPI_SPEND, G, web, NAN, -1);
  T_KPI(ctx, CXM_KPI_CAC, S, web, NAN, -1);
  T_KPI(ctx, CXM_KPI_SPEND, A, web, 50, 1);
  /* web: 50 / 2 new buyers (a and b both first bought on web). */
  T_KPI(ctx, CXM_KPI_CAC, A, web, 25, 2);

  /* c holds both segments: credited to each. */
  t_assign(ctx, "c", setGS);
  T_ADD1(ctx, T0 + 10, CXM_EV_PURCHASE, "c", app, 3);
  T_KPI(ctx, CXM_KPI_ORDERS, G, A, 3, 3);
  T_KPI(ctx, CXM_KPI_ORDERS, S, A, 2, 2);
  T_KPI(ctx, CXM_KPI_ORDERS, A, A, 4, 4);
  T_KPI(ctx, CXM_KPI_BUYERS, G, A, 2, 2);     /* b, c */
  T_KPI(ctx, CXM_KPI_BUYERS, S, A, 2, 2);     /* a, c */
  T_KPI(ctx, CXM_KPI_BUYERS, S, app, 1, 1);   /* c */
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, S, A, (26 + 3) / 2.0, 2);

  /* Clearing a's segments (the empty set 0): a leaves silver for
   * customer-level KPIs; its events stay where they were credited. */
  t_assign(ctx, "a", 0);
  T_ADD1(ctx, T0 + 11, CXM_EV_PURCHASE, "a", web, 7);
  /* Event-level: gold orders 3, silver 2 (unchanged), all 5. */
  T_KPI(ctx, CXM_KPI_ORDERS, G, A, 3, 3);
  T_KPI(ctx, CXM_KPI_ORDERS, S, A, 2, 2);
  T_KPI(ctx, CXM_KPI_ORDERS, A, A, 5, 5);
  T_KPI(ctx, CXM_KPI_NPS, S, A, -100, 1);
  /* Customer-level: silver = c only: buyers 1, frequency 1, CLV 3;
   * silver x web nobody. a counts in all: frequency (3 + 1 + 1)/3. */
  T_KPI(ctx, CXM_KPI_BUYERS, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, S, A, 3, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, S, web, 0, 0);
  T_KPI(ctx, CXM_KPI_LEAD_CONVERSION_RATE, S, A, NAN, 0);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, S, A, NAN, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 3, 3);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, A, 5.0 / 3, 3);
  /* Back into gold: a's whole history joins gold's customer-level KPIs:
   * gold = a, b, c: buyers 3, orders of those 3 + 1 + 1 = 5, repeat 1/3,
   * CLV (33 + 5 + 3)/3 = 41/3. */
  t_assign(ctx, "a", setG);
  T_KPI(ctx, CXM_KPI_BUYERS, G, A, 3, 3);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, G, A, 5.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, G, A, 1.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, G, A, 41.0 / 3, 3);
  T_KPI(ctx, CXM_KPI_BUYERS, G, web, 2, 2); /* a and b */
  /* ... while gold's event-level orders are still 3. */
  T_KPI(ctx, CXM_KPI_ORDERS, G, A, 3, 3);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_late_event_segments) {
  /* A late event is credited to the segments held when it is added. */
  cxm_ctx *ctx = t_new();
  int32_t G = t_seg(ctx, "gold"), S = t_seg(ctx, "silver");
  t_assign(ctx, "a", t_set(ctx, 1, &G));
  T_ADD1(ctx, T0 + DAY, CXM_EV_CSAT, "a", NC, 5);
  t_assign(ctx, "a", t_set(ctx, 1, &S));
  T_ADD1(ctx, T0, CXM_EV_CSAT, "a", NC, 1); /* one day late, within bound */
  /* gold: 5 -> 100 %, mean 5; silver: 1 -> 0 %, mean 1. */
  T_KPI(ctx, CXM_KPI_CSAT, G, A, 100, 1);
  T_KPI(ctx, CXM_KPI_CSAT_MEAN, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_CSAT, S, A, 0, 1);
  /* Windows per segment: silver's answer lies on day D. */
  T_KPI_W(ctx, CXM_KPI_CSAT_MEAN, S, A, T0, T0 + DAY, 1, 1);
  T_KPI_W(ctx, CXM_KPI_CSAT_MEAN, G, A, T0, T0 + DAY, NAN, 0);
  T_KPI_W(ctx, CXM_KPI_CSAT_MEAN, G, A, T0 + DAY, T0 + 2 * DAY, 5, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_batch_segsets) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  int32_t G = t_seg(ctx, "gold"), S = t_seg(ctx, "silver");
  int32_t sG = t_set(ctx, 1, &G), sS = t_set(ctx, 1, &S);
  /* u: {gold} purchase 10; (unchanged) purchase 5; {silver} nps 10;
   * {} purchase 1. v: (never assigned) touch. */
  int64_t times[] = {T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4};
  int32_t types[] = {CXM_EV_PURCHASE, CXM_EV_PURCHASE, CXM_EV_NPS,
                     CXM_EV_PURCHASE, CXM_EV_TOUCH};
  const char *idc = "uuuuv";
  int64_t offs[] = {0, 1, 2, 3, 4, 5};
  int32_t chans[] = {web, web, NC, web, web};
  double vals[] = {10, 5, 10, 1, NAN};
  int32_t sets[] = {sG, -1, sS, 0, -1};
  size_t acc = 0;
  int32_t st[5];
  ck_assert_int_eq(cxm_events_add(ctx, 5, times, types, (const uint8_t *)idc,
                                  offs, chans, vals, NULL, sets, &acc, st),
                   CXM_OK);
  ck_assert_uint_eq(acc, 5);
  /* Event-level: gold orders 10 5 = 2 (revenue 15); silver nps 10 -> 100;
   * the last purchase (1) in no segment. All: orders 3, revenue 16. */
  T_KPI(ctx, CXM_KPI_ORDERS, G, A, 2, 2);
  T_KPI(ctx, CXM_KPI_REVENUE, G, web, 15, 2);
  T_KPI(ctx, CXM_KPI_NPS, S, A, 100, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, S, A, 0, 0);
  T_KPI(ctx, CXM_KPI_REVENUE, A, A, 16, 3);
  /* Customer-level: u holds nothing now -> gold and silver have no buyer. */
  T_KPI(ctx, CXM_KPI_BUYERS, G, A, 0, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, S, A, 0, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, web, 3, 1);
  T_KPI(ctx, CXM_KPI_EVENTS, G, A, 2, 2);
  T_KPI(ctx, CXM_KPI_EVENTS, S, A, 1, 1);
  T_KPI(ctx, CXM_KPI_EVENTS, A, A, 5, 5);
  /* A segment assignment alone creates a customer with no KPI. */
  int64_t n = 0;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &n), CXM_OK);
  ck_assert_int_eq(n, 2);
  t_assign(ctx, "w", sG);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &n), CXM_OK);
  ck_assert_int_eq(n, 3);
  T_KPI(ctx, CXM_KPI_BUYERS, G, A, 0, 0);
  T_KPI(ctx, CXM_KPI_ENGAGEMENT_RATE, G, A, NAN, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_acquisition_channel_moves) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), app = t_chan(ctx, "app");
  int32_t G = t_seg(ctx, "gold");
  t_assign(ctx, "x", t_set(ctx, 1, &G));
  T_ADD1(ctx, T0, CXM_EV_SPEND, NULL, web, 100);
  T_ADD1(ctx, T0, CXM_EV_SPEND, NULL, app, 50);
  /* x's first purchase: 30 on web at +10 h. */
  T_ADD1(ctx, T0 + 10 * HOUR, CXM_EV_PURCHASE, "x", web, 30);
  /* web: new buyers 1, CAC 100/1; app: 0 new buyers, CAC NaN. */
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_CAC, A, web, 100, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, app, 0, 0);
  T_KPI(ctx, CXM_KPI_CAC, A, app, NAN, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, G, web, 1, 1);
  /* An earlier purchase (12 on app at +5 h) arrives late, within the bound:
   * x's first purchase is now on app. x moves to app with all its activity:
   *   web: new buyers 0, buyers 0, CAC 100/0 NaN, frequency NaN;
   *   app: new buyers 1, buyers 1, CAC 50/1 = 50, frequency 2/1,
   *        CLV (30 + 12)/1 = 42.
   * Orders stay with their own channels (event-level): web 1, app 1;
   * CPA web 100/1, app 50/1. */
  T_ADD1(ctx, T0 + 5 * HOUR, CXM_EV_PURCHASE, "x", app, 12);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, web, 0, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, A, web, 0, 0);
  T_KPI(ctx, CXM_KPI_CAC, A, web, NAN, 0);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, web, NAN, 0);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, app, 1, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, app, 1, 1);
  T_KPI(ctx, CXM_KPI_CAC, A, app, 50, 1);
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, app, 2, 1);
  T_KPI(ctx, CXM_KPI_CLV_HISTORICAL, A, app, 42, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, A, app, 1, 1);
  T_KPI(ctx, CXM_KPI_CPA, A, web, 100, 1);
  T_KPI(ctx, CXM_KPI_CPA, A, app, 50, 1);
  /* All scope: 1 new buyer, CAC 150/1. */
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, A, 1, 1);
  T_KPI(ctx, CXM_KPI_CAC, A, A, 150, 1);
  /* Segment x channel moves too: gold x web 0, gold x app 1. */
  T_KPI(ctx, CXM_KPI_BUYERS, G, web, 0, 0);
  T_KPI(ctx, CXM_KPI_BUYERS, G, app, 1, 1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, G, app, 1, 1);

  /* Ties: y buys on web, then on app at the same second: the first one
   * added (web) stays the acquiring channel. */
  T_ADD1(ctx, T0 + 20 * HOUR, CXM_EV_PURCHASE, "y", web, 1);
  T_ADD1(ctx, T0 + 20 * HOUR, CXM_EV_PURCHASE, "y", app, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_CAC, A, web, 100, 1);
  T_KPI(ctx, CXM_KPI_BUYERS, A, app, 1, 1);

  /* A first purchase without a channel: the customer is a buyer in the all
   * scope only. */
  T_ADD1(ctx, T0 + 21 * HOUR, CXM_EV_PURCHASE, "z", NC, 2);
  T_ADD1(ctx, T0 + 22 * HOUR, CXM_EV_PURCHASE, "z", web, 2);
  T_KPI(ctx, CXM_KPI_BUYERS, A, A, 3, 3);
  T_KPI(ctx, CXM_KPI_BUYERS, A, web, 1, 1);
  T_KPI(ctx, CXM_KPI_NEW_BUYERS, A, A, 3, 3);
  T_KPI(ctx, CXM_KPI_CAC, A, A, 50, 3); /* 150 / 3 */
  /* ... and a late channelled purchase before it moves z to that channel. */
  T_ADD1(ctx, T0 + 15 * HOUR, CXM_EV_PURCHASE, "z", app, 2);
  T_KPI(ctx, CXM_KPI_BUYERS, A, app, 2, 2); /* x, z */
  T_KPI(ctx, CXM_KPI_PURCHASE_FREQUENCY, A, app, 5.0 / 2, 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_segment_channel_grid) {
  /* Every cell of a 2 x 2 segment x channel grid against a brute-force
   * count over the events kept in the test. */
  cxm_ctx *ctx = t_new();
  int32_t ch[2] = {t_chan(ctx, "web"), t_chan(ctx, "app")};
  int32_t sg[2] = {t_seg(ctx, "gold"), t_seg(ctx, "eu")};
  int32_t both[] = {sg[0], sg[1]};
  int32_t sets[4] = {0, t_set(ctx, 1, &sg[0]), t_set(ctx, 1, &sg[1]),
                     t_set(ctx, 2, both)};
  /* held[c] bitmask per set index: 0 none, 1 gold, 2 eu, 3 both. */
  int sessions[2][2] = {{0}}, bounces[2][2] = {{0}};
  int sessions_seg[2] = {0}, sessions_ch[2] = {0};
  char id[8];
  for (int i = 0; i < 64; i++) {
    int c = i % 5, si = (i / 5) % 4, k = i % 2;
    snprintf(id, sizeof id, "g%d", c);
    t_assign(ctx, id, sets[si]);
    double pv = (double)(i % 3); /* 0, 1, 2 */
    T_ADD(ctx, T0 + i, CXM_EV_SESSION, id, ch[k], pv, NAN);
    sessions_ch[k]++;
    for (int s = 0; s < 2; s++)
      if (si & (1 << s)) {
        sessions[s][k]++;
        sessions_seg[s]++;
        bounces[s][k] += pv == 1;
      }
  }
  for (int s = 0; s < 2; s++) {
    T_KPI(ctx, CXM_KPI_SESSIONS, sg[s], A, sessions_seg[s], sessions_seg[s]);
    for (int k = 0; k < 2; k++) {
      T_KPI(ctx, CXM_KPI_SESSIONS, sg[s], ch[k], sessions[s][k],
            sessions[s][k]);
      T_KPI(ctx, CXM_KPI_BOUNCE_RATE, sg[s], ch[k],
            sessions[s][k] ? (double)bounces[s][k] / sessions[s][k] : NAN,
            sessions[s][k]);
    }
  }
  for (int k = 0; k < 2; k++)
    T_KPI(ctx, CXM_KPI_SESSIONS, A, ch[k], sessions_ch[k], sessions_ch[k]);
  cxm_ctx_destroy(ctx);
}
END_TEST

static Suite *segments_suite(void) {
  Suite *s = suite_create("segments");
  TCase *tc = tcase_create("segments");
  tcase_add_test(tc, test_segment_change);
  tcase_add_test(tc, test_late_event_segments);
  tcase_add_test(tc, test_batch_segsets);
  tcase_add_test(tc, test_acquisition_channel_moves);
  tcase_add_test(tc, test_segment_channel_grid);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(segments_suite()); }
