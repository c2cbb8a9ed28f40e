/*
 * check_attribution.c - cross-channel attribution against hand-computed
 * streams (models, lookback edges, equal timestamps, touches beyond the
 * kept ones, purchases without touches, ROAS), against an independent
 * reference model on a random stream and an exact fixed-point one (1, 3,
 * 8 and 32 touches kept), memory per customer, allocation failure and the
 * module switch.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#define E9 INT64_C(1000000000)

/* Attributed orders (in 10^-9) and revenue (in 10^-9 minor units, as a
   double of whole minor units) of a channel. */
static int64_t t_orders(cxm_ctx *ctx, int model, int32_t ch) {
  int64_t o = -1;
  int rc = cxm_attribution_get_fixed(ctx, model, ch, &o, NULL, NULL);
  ck_assert_msg(rc == CXM_OK, "get_fixed = %d: %s", rc, cxm_ctx_errmsg(ctx));
  return o;
}

static double t_revenue_minor(cxm_ctx *ctx, int model, int32_t ch) {
  int64_t m = -1, n = -1;
  ck_assert_int_eq(cxm_attribution_get_fixed(ctx, model, ch, NULL, &m, &n), CXM_OK);
  ck_assert(n >= 0 && n < E9);
  return (double)m + (double)n / 1e9;
}

/* Every purchase credits exactly 1 order and its amount, under every model. */
static void t_sums_exact(cxm_ctx *ctx, int64_t purchases, int64_t minor) {
  for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++) {
    int64_t o, r, n;
    ck_assert_int_eq(cxm_attribution_get_fixed(ctx, m, CXM_ALL, &o, &r, &n), CXM_OK);
    ck_assert_msg(o == purchases * E9, "model %d: %lld e-9 orders", m, (long long)o);
    ck_assert_msg(r == minor && n == 0, "model %d: revenue %lld + %lld e-9", m,
                  (long long)r, (long long)n);
  }
}

static cxm_ctx *t_new_opts(int64_t lookback, int64_t half_life, int64_t kept) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_LOOKBACK_DAYS, lookback), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_HALF_LIFE_DAYS, half_life), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_TOUCHES_KEPT, kept), CXM_OK);
  return ctx;
}

START_TEST(test_models_by_hand) {
  cxm_ctx *ctx = t_new_opts(30, 7, 8);
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email"),
          ads = t_chan(ctx, "ads"), store = t_chan(ctx, "store");
  /* Three touches 10, 5 and 1 days before a purchase of 100.00. */
  T_ADD0(ctx, T0 - 10 * DAY, CXM_EV_TOUCH, "ann", web);
  T_ADD(ctx, T0 - 5 * DAY, CXM_EV_SESSION, "ann", email, 1, NAN);
  T_ADD0(ctx, T0 - 1 * DAY, CXM_EV_ENGAGE, "ann", ads);
  /* Not touches: message_open, message_sent, lead, nps. */
  T_ADD0(ctx, T0 - 2 * DAY, CXM_EV_MESSAGE_OPEN, "ann", store);
  T_ADD0(ctx, T0 - 2 * DAY, CXM_EV_LEAD, "ann", store);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "ann", store, 100.00);

  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, web), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, ads), 0);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, ads), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, store), 0);
  /* Linear: thirds, the odd 10^-9 to the earliest touch. */
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, web), 333333334);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, email), 333333333);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, ads), 333333333);
  /* Position based: 40 / 20 / 40. */
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_POSITION_BASED, web), 400000000);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_POSITION_BASED, email), 200000000);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_POSITION_BASED, ads), 400000000);
  /* Time decay, half-life 7 days: weights 2^(-age/7). */
  double w[3] = {pow(2, -10.0 / 7), pow(2, -5.0 / 7), pow(2, -1.0 / 7)};
  double s = w[0] + w[1] + w[2];
  int32_t chs[3] = {web, email, ads};
  for (int i = 0; i < 3; i++) {
    double got = (double)t_orders(ctx, CXM_ATTR_TIME_DECAY, chs[i]) / 1e9;
    ck_assert_msg(fabs(got - w[i] / s) < 2e-9, "decay %d: %.12f want %.12f", i,
                  got, w[i] / s);
    ck_assert(fabs(t_revenue_minor(ctx, CXM_ATTR_TIME_DECAY, chs[i]) -
                   10000.0 * w[i] / s) < 1e-5);
  }
  /* Revenue follows the weights: 10000 minor units. */
  ck_assert(fabs(t_revenue_minor(ctx, CXM_ATTR_LINEAR, email) - 10000.0 / 3) < 1e-5);
  ck_assert(fabs(t_revenue_minor(ctx, CXM_ATTR_POSITION_BASED, web) - 4000.0) < 1e-9);
  double o, r, roas;
  ck_assert_int_eq(cxm_attribution_get(ctx, CXM_ATTR_LAST_TOUCH, ads, &o, &r, &roas), CXM_OK);
  ck_assert(o == 1.0 && r == 100.0 && isnan(roas));
  t_sums_exact(ctx, 1, 10000);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_one_and_two_touches) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  T_ADD0(ctx, T0 - DAY, CXM_EV_TOUCH, "one", web);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "one", email, 10);
  for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++)
    ck_assert_int_eq(t_orders(ctx, m, web), E9);
  T_ADD0(ctx, T0 - 2 * DAY, CXM_EV_MESSAGE_CLICK, "two", web);
  T_ADD0(ctx, T0 - DAY, CXM_EV_TOUCH, "two", email);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "two", email, 10);
  /* Two touches: half each under position based and linear. */
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_POSITION_BASED, web), E9 + E9 / 2);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_POSITION_BASED, email), E9 / 2);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, email), E9 / 2);
  /* Time decay: 2^(-2/7) : 2^(-1/7). */
  double a = pow(2, -2.0 / 7), b = pow(2, -1.0 / 7);
  ck_assert(fabs((double)t_orders(ctx, CXM_ATTR_TIME_DECAY, email) / 1e9 - b / (a + b)) < 2e-9);
  t_sums_exact(ctx, 2, 2000);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_lookback_edges) {
  cxm_ctx *ctx = t_new_opts(30, 7, 8);
  int32_t in = t_chan(ctx, "in"), out = t_chan(ctx, "out"), late = t_chan(ctx, "late"),
          same = t_chan(ctx, "same"), own = t_chan(ctx, "own");
  /* Exactly 30 days before counts; one second more does not. */
  T_ADD0(ctx, T0 - 30 * DAY - 1, CXM_EV_TOUCH, "c", out);
  T_ADD0(ctx, T0 - 30 * DAY, CXM_EV_TOUCH, "c", in);
  /* After the purchase (arriving before it): not counted. */
  T_ADD0(ctx, T0 + HOUR, CXM_EV_TOUCH, "c", late);
  /* At the purchase's own time: counted. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "c", same);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "c", own, 1);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, in), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, same), E9);
  for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++) {
    ck_assert_int_eq(t_orders(ctx, m, out), 0);
    ck_assert_int_eq(t_orders(ctx, m, late), 0);
    ck_assert_int_eq(t_orders(ctx, m, own), 0);
  }
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, in), E9 / 2);
  /* A second purchase 30 days and an hour later: only the touch an hour
     after the first purchase is in its lookback (exactly 30 days). */
  T_ADD1(ctx, T0 + 30 * DAY + HOUR, CXM_EV_PURCHASE, "c", own, 1);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, late), E9);
  /* A third, 61 days later: none at all, so its own channel. */
  T_ADD1(ctx, T0 + 61 * DAY + 2 * HOUR, CXM_EV_PURCHASE, "c", own, 1);
  for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++)
    ck_assert_int_eq(t_orders(ctx, m, own), E9);
  t_sums_exact(ctx, 3, 300);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_no_touch_and_no_channel) {
  cxm_ctx *ctx = t_new();
  int32_t store = t_chan(ctx, "store"), web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", store, 12.34);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "b", CXM_NO_CHANNEL, 1.00);
  /* A touch without a channel credits the no-channel bucket too. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "c", CXM_NO_CHANNEL);
  T_ADD0(ctx, T0 + 1, CXM_EV_TOUCH, "c", web);
  T_ADD1(ctx, T0 + 2, CXM_EV_PURCHASE, "c", store, 2.00);
  for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++) {
    ck_assert_int_eq(t_orders(ctx, m, store), E9);
    ck_assert(t_revenue_minor(ctx, m, store) == 1234.0);
  }
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, CXM_CREDIT_NO_CHANNEL), 2 * E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, CXM_CREDIT_NO_CHANNEL), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, web), E9);
  double o, r, roas;
  ck_assert_int_eq(cxm_attribution_get(ctx, CXM_ATTR_LINEAR, CXM_CREDIT_NO_CHANNEL,
                                       &o, &r, &roas), CXM_OK);
  ck_assert(o == 1.5 && fabs(r - 2.0) < 1e-12 && isnan(roas));
  t_sums_exact(ctx, 3, 1534);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_equal_timestamps) {
  cxm_ctx *ctx = t_new();
  int32_t a = t_chan(ctx, "a"), b = t_chan(ctx, "b"), c = t_chan(ctx, "c");
  /* Equal times keep arrival order: a is first, c last. */
  T_ADD0(ctx, T0 - HOUR, CXM_EV_TOUCH, "x", a);
  T_ADD0(ctx, T0 - HOUR, CXM_EV_TOUCH, "x", b);
  T_ADD0(ctx, T0 - HOUR, CXM_EV_TOUCH, "x", c);
  T_ADD1(ctx, T0 - HOUR, CXM_EV_PURCHASE, "x", CXM_NO_CHANNEL, 3);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, a), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, c), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_POSITION_BASED, b), E9 / 5);
  /* Equal ages: time decay is linear. */
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_TIME_DECAY, a), 333333334);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_TIME_DECAY, c), 333333333);
  /* A late touch earlier than all: sorted in front, first touch next time. */
  T_ADD0(ctx, T0 - 2 * HOUR, CXM_EV_TOUCH, "x", c);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "x", CXM_NO_CHANNEL, 3);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, c), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, c), 2 * E9);
  t_sums_exact(ctx, 2, 600);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_more_touches_than_kept) {
  cxm_ctx *ctx = t_new_opts(30, 7, 3);
  int32_t ch[6];
  char lab[24];
  for (int i = 0; i < 6; i++) {
    snprintf(lab, sizeof lab, "c%d", i);
    ch[i] = t_chan(ctx, lab);
  }
  /* Five touches in the lookback; only the 3 most recent are kept. */
  for (int i = 0; i < 5; i++) T_ADD0(ctx, T0 - (10 - i) * DAY, CXM_EV_TOUCH, "k", ch[i]);
  /* A late touch older than all kept ones is not kept either. */
  T_ADD0(ctx, T0 - 12 * DAY, CXM_EV_TOUCH, "k", ch[5]);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "k", CXM_NO_CHANNEL, 9);
  /* First touch loses c0: it credits c2, the oldest kept. */
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_FIRST_TOUCH, ch[2]), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LAST_TOUCH, ch[4]), E9);
  for (int i = 0; i < 6; i++) {
    int kept = i >= 2 && i <= 4;
    for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++)
      if (!kept) ck_assert_int_eq(t_orders(ctx, m, ch[i]), 0);
    if (kept) ck_assert(llabs(t_orders(ctx, CXM_ATTR_LINEAR, ch[i]) - E9 / 3) <= 1);
  }
  t_sums_exact(ctx, 1, 900);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_roas) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  T_ADD1(ctx, T0 - DAY, CXM_EV_SPEND, NULL, web, 50.00);
  T_ADD1(ctx, T0 - DAY, CXM_EV_SPEND, NULL, CXM_NO_CHANNEL, 30.00);
  T_ADD0(ctx, T0 - HOUR, CXM_EV_TOUCH, "a", web);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", email, 100.00);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "b", email, 20.00);
  double o, r, roas;
  ck_assert_int_eq(cxm_attribution_get(ctx, CXM_ATTR_LINEAR, web, &o, &r, &roas), CXM_OK);
  ck_assert(o == 1.0 && r == 100.0 && fabs(roas - 2.0) < 1e-12);
  ck_assert_int_eq(cxm_attribution_get(ctx, CXM_ATTR_LINEAR, email, &o, &r, &roas), CXM_OK);
  ck_assert(o == 1.0 && r == 20.0 && isnan(roas)); /* no spend on email */
  ck_assert_int_eq(cxm_attribution_get(ctx, CXM_ATTR_LINEAR, CXM_ALL, &o, &r, &roas), CXM_OK);
  ck_assert(o == 2.0 && r == 120.0 && fabs(roas - 1.5) < 1e-12); /* 120 / 80 */
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_arguments_and_switch) {
  cxm_ctx *ctx = t_new();
  double o;
  ck_assert_int_eq(cxm_attribution_get(NULL, 1, CXM_ALL, &o, NULL, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_attribution_get(ctx, 0, CXM_ALL, &o, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_attribution_get(ctx, 6, CXM_ALL, &o, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_attribution_get(ctx, 1, 0, &o, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_attribution_get(ctx, 1, -3, &o, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_attribution_get(ctx, 1, CXM_ALL, &o, NULL, NULL), CXM_OK);
  ck_assert(o == 0.0);
  ck_assert_str_eq(cxm_attribution_model_name(CXM_ATTR_TIME_DECAY), "time_decay");
  ck_assert_ptr_null(cxm_attribution_model_name(0));
  cxm_ctx_destroy(ctx);

  ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, CXM_MOD_ALL & ~CXM_MOD_ATTRIBUTION), CXM_OK);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 1);
  ck_assert_int_eq(cxm_attribution_get(ctx, 1, CXM_ALL, &o, NULL, NULL), CXM_E_UNSUPPORTED);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- an independent reference on a random stream ------------------------- */

#define RN_CUST 40
#define RN_CH 5
#define RN_EVENTS 4000

typedef struct rtouch { int64_t t; int ch; } rtouch;

static uint64_t t_rng(uint64_t *s) {
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *s >> 33;
}

/* The definition, directly: all touches kept per customer in arrival
   order; at a purchase, the K latest by (time, arrival) of all received,
   those in [t - L, t], each model's shares in doubles. */
static void ref_purchase(const rtouch *all, int n, int k, int64_t t, int own,
                         double amount, double credit[5][RN_CH + 1],
                         double revenue[5][RN_CH + 1]) {
  rtouch s[RN_EVENTS];
  int m = 0;
  for (int i = 0; i < n; i++) s[m++] = all[i];
  /* stable insertion sort by time */
  for (int i = 1; i < m; i++) {
    rtouch x = s[i];
    int j = i;
    while (j > 0 && s[j - 1].t > x.t) { s[j] = s[j - 1]; j--; }
    s[j] = x;
  }
  int lo = m > k ? m - k : 0;
  rtouch sel[64];
  int q = 0;
  for (int i = lo; i < m; i++)
    if (s[i].t <= t && t - s[i].t <= 30 * DAY) sel[q++] = s[i];
  for (int md = 0; md < 5; md++) {
    double w[64];
    if (q == 0) {
      credit[md][own] += 1;
      revenue[md][own] += amount;
      continue;
    }
    double sum = 0;
    for (int i = 0; i < q; i++) {
      switch (md) {
        case 0: w[i] = i == 0; break;
        case 1: w[i] = i == q - 1; break;
        case 2: w[i] = 1.0 / q; break;
        case 3: w[i] = pow(2, -(double)(t - sel[i].t) / (7.0 * DAY)); break;
        default:
          w[i] = q == 1 ? 1 : q == 2 ? 0.5 : (i == 0 || i == q - 1) ? 0.4 : 0.2 / (q - 2);
      }
      sum += w[i];
    }
    for (int i = 0; i < q; i++) {
      credit[md][sel[i].ch] += w[i] / sum;
      revenue[md][sel[i].ch] += amount * w[i] / sum;
    }
  }
}

START_TEST(test_random_against_reference) {
  cxm_ctx *ctx = t_new_opts(30, 7, 4);
  int32_t ch[RN_CH];
  char lab[24];
  for (int i = 0; i < RN_CH; i++) {
    snprintf(lab, sizeof lab, "ch%d", i);
    ch[i] = t_chan(ctx, lab);
  }
  static rtouch touches[RN_CUST][RN_EVENTS];
  static int nt[RN_CUST];
  static double credit[5][RN_CH + 1], revenue[5][RN_CH + 1];
  memset(nt, 0, sizeof nt);
  memset(credit, 0, sizeof credit);
  memset(revenue, 0, sizeof revenue);
  uint64_t seed = 42;
  int64_t t = T0, purchases = 0, minor = 0;
  for (int e = 0; e < RN_EVENTS; e++) {
    t += (int64_t)(t_rng(&seed) % (6 * HOUR)); /* sometimes equal times */
    int64_t te = t; /* a quarter arrive up to 2 days late */
    if (t_rng(&seed) % 4 == 0) te -= (int64_t)(t_rng(&seed) % (2 * DAY));
    int c = (int)(t_rng(&seed) % RN_CUST);
    int k = (int)(t_rng(&seed) % (RN_CH + 1)); /* RN_CH: no channel */
    int32_t cid = k == RN_CH ? CXM_NO_CHANNEL : ch[k];
    char id[24];
    snprintf(id, sizeof id, "cust%d", c);
    if (t_rng(&seed) % 5 == 0) {
      int cents = (int)(t_rng(&seed) % 100000);
      int rc = t_ev(ctx, te, CXM_EV_PURCHASE, id, cid, cents / 100.0, NAN);
      if (rc == CXM_E_LATE) continue;
      ck_assert_int_eq(rc, CXM_OK);
      ref_purchase(touches[c], nt[c], 4, te, k, cents, credit, revenue);
      purchases++;
      minor += cents;
    } else {
      static const int32_t types[4] = {CXM_EV_TOUCH, CXM_EV_SESSION, CXM_EV_ENGAGE,
                                       CXM_EV_MESSAGE_CLICK};
      int rc = t_ev(ctx, te, types[t_rng(&seed) % 4], id, cid, 2, NAN);
      if (rc == CXM_E_LATE) continue;
      ck_assert_int_eq(rc, CXM_OK);
      touches[c][nt[c]].t = te;
      touches[c][nt[c]].ch = k;
      nt[c]++;
    }
  }
  ck_assert_int_gt(purchases, 500);
  for (int md = 0; md < 5; md++)
    for (int k = 0; k <= RN_CH; k++) {
      int32_t cid = k == RN_CH ? CXM_CREDIT_NO_CHANNEL : ch[k];
      double got = (double)t_orders(ctx, md + 1, cid) / 1e9;
      ck_assert_msg(fabs(got - credit[md][k]) < 1e-6, "model %d channel %d: %.9f want %.9f",
                    md + 1, k, got, credit[md][k]);
      double gr = t_revenue_minor(ctx, md + 1, cid);
      ck_assert_msg(fabs(gr - revenue[md][k]) < 1e-3, "model %d channel %d revenue: %.6f want %.6f",
                    md + 1, k, gr, revenue[md][k]);
    }
  t_sums_exact(ctx, purchases, minor);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- an exact reference: the fixed-point rules, touch by touch ------------- */

/* docs/attribution.md's exactness rules applied literally: every touch
   received is kept (arrival order); at a purchase the K latest by (time,
   arrival) are sorted, those in the lookback chosen, each model's integer
   shares computed as documented (floors, then the largest remainders, ties
   to the earlier touch) and every share credited on its own, as an exact
   count of 10^-9 minor units. The library must give the very same integers
   (it sums shares per channel first and keeps touches in a ring). */
#define RX_CUST 25
#define RX_CH 7
#define RX_EVENTS 6000

typedef struct rxsum { int64_t orders, minor, nano; } rxsum;

static void rx_credit(rxsum *c, int64_t w, int64_t amount) {
  /* amount * w / 10^9 minor units, exactly: amount = hi * 10^9 + lo */
  int64_t hi = amount / E9, lo = amount % E9;
  c->orders += w;
  c->minor += hi * w + (lo * w) / E9;
  c->nano += (lo * w) % E9;
  c->minor += c->nano / E9;
  c->nano %= E9;
}

static void rx_shares(int md, const int64_t *tt, int q, int64_t t, double hl,
                      int64_t *w) {
  for (int i = 0; i < q; i++) w[i] = 0;
  if (md == 0) { w[0] = E9; return; }
  if (md == 1) { w[q - 1] = E9; return; }
  if (md == 2 || (md == 4 && q <= 2)) {
    for (int i = 0; i < q; i++) w[i] = E9 / q + (i < E9 % q);
    return;
  }
  if (md == 4) {
    w[0] = w[q - 1] = 400000000;
    for (int i = 1; i < q - 1; i++) w[i] = 200000000 / (q - 2) + (i - 1 < 200000000 % (q - 2));
    return;
  }
  double r[64], s = 0, frac[64];
  for (int i = 0; i < q; i++) s += r[i] = exp2(-(double)(uint32_t)(t - tt[i]) / hl);
  int64_t left = E9;
  for (int i = 0; i < q; i++) {
    double ideal = r[i] / s * (double)E9;
    w[i] = (int64_t)floor(ideal);
    frac[i] = ideal - floor(ideal);
    left -= w[i];
  }
  /* the `left` largest remainders, ties to the earlier: order indices */
  int ord[64];
  for (int i = 0; i < q; i++) ord[i] = i;
  for (int i = 1; i < q; i++) { /* stable insertion sort, descending */
    int x = ord[i], j = i;
    while (j > 0 && frac[ord[j - 1]] < frac[x]) { ord[j] = ord[j - 1]; j--; }
    ord[j] = x;
  }
  for (int i = 0; left > 0; i = (i + 1) % q, left--) w[ord[i]]++;
}

static void rx_run(int64_t kept, uint64_t seed) {
  cxm_ctx *ctx = t_new_opts(9, 2, kept);
  int32_t ch[RX_CH];
  char lab[24];
  for (int i = 0; i < RX_CH; i++) {
    snprintf(lab, sizeof lab, "x%d", i);
    ch[i] = t_chan(ctx, lab);
  }
  static rtouch touches[RX_CUST][RX_EVENTS];
  static int nt[RX_CUST];
  static rxsum want[5][RX_CH + 1];
  memset(nt, 0, sizeof nt);
  memset(want, 0, sizeof want);
  int64_t t = T0;
  for (int e = 0; e < RX_EVENTS; e++) {
    t += (int64_t)(t_rng(&seed) % (3 * HOUR));
    int64_t te = t;
    if (t_rng(&seed) % 6 == 0) te -= (int64_t)(t_rng(&seed) % (3 * DAY));
    int c = (int)(t_rng(&seed) % RX_CUST);
    /* few channels per customer at times, many at others */
    int k = (int)(t_rng(&seed) % (c % 3 == 0 ? 2 : RX_CH + 1));
    int32_t cid = k == RX_CH ? CXM_NO_CHANNEL : ch[k];
    char id[24];
    snprintf(id, sizeof id, "x%d", c);
    if (t_rng(&seed) % 4 == 0) {
      /* amounts up to 9 x 10^12 minor units: hi and lo parts both used */
      int64_t cents = (int64_t)(t_rng(&seed) % 1000000);
      if (t_rng(&seed) % 3 == 0) cents *= 9000000;
      int rc = t_ev(ctx, te, CXM_EV_PURCHASE, id, cid, (double)cents / 100.0, NAN);
      if (rc == CXM_E_LATE) continue;
      ck_assert_int_eq(rc, CXM_OK);
      /* the K latest by (time, arrival) */
      rtouch s[RX_EVENTS];
      int m = nt[c];
      memcpy(s, touches[c], (size_t)m * sizeof s[0]);
      for (int i = 1; i < m; i++) {
        rtouch x = s[i];
        int j = i;
        while (j > 0 && s[j - 1].t > x.t) { s[j] = s[j - 1]; j--; }
        s[j] = x;
      }
      int64_t tt[64];
      int cc[64], q = 0;
      for (int i = m > kept ? m - (int)kept : 0; i < m; i++)
        if (s[i].t <= te && te - s[i].t <= 9 * DAY) {
          tt[q] = s[i].t;
          cc[q++] = s[i].ch;
        }
      for (int md = 0; md < 5; md++) {
        if (q == 0) {
          rx_credit(&want[md][k], E9, cents);
          continue;
        }
        int64_t w[64];
        rx_shares(md, tt, q, te, 2.0 * DAY, w);
        for (int i = 0; i < q; i++) rx_credit(&want[md][cc[i]], w[i], cents);
      }
    } else {
      static const int32_t types[4] = {CXM_EV_TOUCH, CXM_EV_SESSION, CXM_EV_ENGAGE,
                                       CXM_EV_MESSAGE_CLICK};
      int rc = t_ev(ctx, te, types[t_rng(&seed) % 4], id, cid, 2, NAN);
      if (rc == CXM_E_LATE) continue;
      ck_assert_int_eq(rc, CXM_OK);
      touches[c][nt[c]].t = te;
      touches[c][nt[c]].ch = k;
      nt[c]++;
    }
  }
  for (int md = 0; md < 5; md++)
    for (int k = 0; k <= RX_CH; k++) {
      int32_t cid = k == RX_CH ? CXM_CREDIT_NO_CHANNEL : ch[k];
      int64_t o, r, n;
      ck_assert_int_eq(cxm_attribution_get_fixed(ctx, md + 1, cid, &o, &r, &n), CXM_OK);
      ck_assert_msg(o == want[md][k].orders && r == want[md][k].minor && n == want[md][k].nano,
                    "K %d model %d channel %d: %lld %lld %lld, want %lld %lld %lld", (int)kept,
                    md + 1, k, (long long)o, (long long)r, (long long)n,
                    (long long)want[md][k].orders, (long long)want[md][k].minor,
                    (long long)want[md][k].nano);
    }
  cxm_ctx_destroy(ctx);
}

/* K = 1 (a ring of one), 3, 8 (the default) and 32 (the most). */
START_TEST(test_exact_against_reference) {
  rx_run(1, 3);
  rx_run(3, 5);
  rx_run(8, 9);
  rx_run(32, 13);
}
END_TEST

/* ---- memory ------------------------------------------------------------------ */

static int64_t t_memory_with(int64_t modules, int n) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, modules), CXM_OK);
  char id[24];
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "m%d", i);
    T_ADD0(ctx, T0 + i % 1000, CXM_EV_TOUCH, id, CXM_NO_CHANNEL);
  }
  int64_t mem;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_MEMORY_BYTES, &mem), CXM_OK);
  cxm_ctx_destroy(ctx);
  return mem;
}

/* At a power of two of customers (the side arrays are full): at most 44
   bytes per customer with 8 touches kept; nothing when the bit is off. */
START_TEST(test_memory_per_customer) {
  int n = 1 << 17;
  int64_t without = t_memory_with(0, n);
  int64_t with = t_memory_with(CXM_MOD_ATTRIBUTION, n);
  double per = (double)(with - without) / n;
  printf("attribution: %.2f bytes per customer (8 touches kept)\n", per);
  ck_assert_msg(per <= 44.0, "%.2f bytes per customer", per);
  ck_assert_msg(per >= 41.0, "%.2f bytes per customer: side arrays missing?", per);
  /* Off among the other modules: none of those bytes (41 x 8192 records). */
  int64_t off = t_memory_with(CXM_MOD_ALL & ~CXM_MOD_ATTRIBUTION, 5000);
  int64_t on = t_memory_with(CXM_MOD_ALL, 5000);
  ck_assert_msg(on - off >= 41 * 8192, "%lld bytes saved", (long long)(on - off));
}
END_TEST

/* ---- allocation failure ----------------------------------------------------- */

typedef struct t_alloc { long calls, fail_at, failures; } t_alloc;
static void *t_malloc(void *o, size_t n) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) { a->failures++; return NULL; }
  return malloc(n);
}
static void *t_realloc(void *o, void *p, size_t n) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) { a->failures++; return NULL; }
  return realloc(p, n);
}
static void t_free(void *o, void *p) { (void)o; free(p); }

START_TEST(test_nomem_keeps_state) {
  t_alloc a = {0, 0, 0};
  cxm_ctx *h = NULL, *twin = t_new();
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&h, t_malloc, t_realloc, t_free, &a), CXM_OK);
  ck_assert_int_eq(cxm_key_set(h, T_KEY, sizeof T_KEY), CXM_OK);
  int32_t web = t_chan(h, "web");
  ck_assert_int_eq(t_chan(twin, "web"), web);
  char id[24];
  long failures = 0;
  for (int i = 0; i < 3000; i++) {
    snprintf(id, sizeof id, "cust-%d", i % 2500);
    int32_t type = i % 3 == 2 ? CXM_EV_PURCHASE : CXM_EV_TOUCH;
    int64_t t = T0 + i * 60;
    for (long k = 1;; k++) {
      a.fail_at = a.calls + k;
      int rc = t_ev(h, t, type, id, i % 2 ? web : CXM_NO_CHANNEL, 5, NAN);
      a.fail_at = 0;
      if (rc == CXM_OK) break;
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      failures++;
      for (int m = 1; m <= 5; m++)
        for (int32_t c = -2; c <= web; c++) {
          int64_t x[3], y[3];
          ck_assert_int_eq(cxm_attribution_get_fixed(h, m, c, &x[0], &x[1], &x[2]), CXM_OK);
          ck_assert_int_eq(cxm_attribution_get_fixed(twin, m, c, &y[0], &y[1], &y[2]), CXM_OK);
          ck_assert(x[0] == y[0] && x[1] == y[1] && x[2] == y[2]);
        }
      ck_assert_int_lt(k, 100);
    }
    T_ADD1(twin, t, type, id, i % 2 ? web : CXM_NO_CHANNEL, 5);
  }
  ck_assert_int_gt(failures, 0);
  for (int m = 1; m <= 5; m++) ck_assert_int_eq(t_orders(h, m, web), t_orders(twin, m, web));
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
}
END_TEST

/* ---- shards, merge and snapshots ---------------------------------------------- */

static cxm_ctx *t_feed(int shard, int nshards) {
  cxm_ctx *ctx = t_new_opts(10, 3, 5);
  int32_t ch[RN_CH];
  char lab[24];
  for (int i = 0; i < RN_CH; i++) {
    snprintf(lab, sizeof lab, "ch%d", i);
    ch[i] = t_chan(ctx, lab);
  }
  uint64_t seed = 5;
  int64_t t = T0;
  for (int e = 0; e < 5000; e++) {
    t += (int64_t)(t_rng(&seed) % (4 * HOUR));
    int64_t te = t - (t_rng(&seed) % 4 == 0 ? (int64_t)(t_rng(&seed) % DAY) : 0);
    int c = (int)(t_rng(&seed) % 200);
    int k = (int)(t_rng(&seed) % (RN_CH + 1));
    int buy = t_rng(&seed) % 4 == 0;
    double amount = (double)(t_rng(&seed) % 100000) / 100.0;
    if (c % nshards != shard) continue;
    char id[24];
    snprintf(id, sizeof id, "s%d", c);
    T_ADD(ctx, te, buy ? CXM_EV_PURCHASE : CXM_EV_TOUCH, id,
          k == RN_CH ? CXM_NO_CHANNEL : ch[k], buy ? amount : NAN, NAN);
  }
  return ctx;
}

static void t_attr_eq(cxm_ctx *a, cxm_ctx *b) {
  for (int m = 1; m <= 5; m++)
    for (int32_t c = -2; c < RN_CH; c++) {
      int64_t x[3], y[3];
      ck_assert_int_eq(cxm_attribution_get_fixed(a, m, c, &x[0], &x[1], &x[2]), CXM_OK);
      ck_assert_int_eq(cxm_attribution_get_fixed(b, m, c, &y[0], &y[1], &y[2]), CXM_OK);
      ck_assert_msg(x[0] == y[0] && x[1] == y[1] && x[2] == y[2],
                    "model %d channel %d: %lld %lld %lld vs %lld %lld %lld", m, (int)c,
                    (long long)x[0], (long long)x[1], (long long)x[2], (long long)y[0],
                    (long long)y[1], (long long)y[2]);
    }
}

START_TEST(test_merge_and_snapshot) {
  cxm_ctx *whole = t_feed(0, 1);
  cxm_ctx *s[3];
  for (int i = 0; i < 3; i++) s[i] = t_feed(i, 3);
  ck_assert_int_eq(cxm_ctx_merge(s[1], s[2]), CXM_OK);
  ck_assert_int_eq(cxm_ctx_merge(s[1], s[0]), CXM_OK);
  ck_assert_int_gt(t_orders(whole, CXM_ATTR_LINEAR, CXM_ALL), 1000 * E9);
  t_attr_eq(s[1], whole);
  /* A snapshot keeps the sums and the touches: the same purchase added to
     the loaded handle and to the whole one credits the same. */
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(s[1], CXM_SNAPSHOT_EMBED_KEY, &buf, &len), CXM_OK);
  cxm_ctx *loaded = NULL;
  ck_assert_int_eq(cxm_ctx_create(&loaded), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_load_buffer(loaded, buf, len), CXM_OK);
  cxm_buffer_free(s[1], buf, len);
  t_attr_eq(loaded, whole);
  for (int c = 0; c < 200; c++) {
    char id[24];
    snprintf(id, sizeof id, "s%d", c);
    T_ADD1(loaded, T0 + 1000 * DAY, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, 1);
    T_ADD1(whole, T0 + 1000 * DAY, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, 1);
  }
  t_attr_eq(loaded, whole);
  /* Different numbers of kept touches cannot merge. */
  cxm_ctx *other = t_new_opts(10, 3, 6);
  ck_assert_int_eq(cxm_ctx_merge(other, loaded), CXM_E_MISMATCH);
  cxm_ctx_destroy(other);
  cxm_ctx_destroy(loaded);
  for (int i = 0; i < 3; i++) cxm_ctx_destroy(s[i]);
  cxm_ctx_destroy(whole);
}
END_TEST

/* Erasure drops the kept touches; credits already made stay. */
START_TEST(test_erase) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), store = t_chan(ctx, "store"), app = t_chan(ctx, "app");
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "a", web);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "b", app);
  T_ADD1(ctx, T0 + HOUR, CXM_EV_PURCHASE, "a", store, 10);
  ck_assert_int_eq(cxm_customer_erase(ctx, "a", 1), CXM_OK);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, web), E9);
  /* a again: a new customer without touches, credited to its channel. */
  T_ADD1(ctx, T0 + 2 * HOUR, CXM_EV_PURCHASE, "a", store, 10);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, web), E9);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, store), E9);
  /* b moved into a's old record with its touch. */
  T_ADD1(ctx, T0 + 3 * HOUR, CXM_EV_PURCHASE, "b", store, 10);
  ck_assert_int_eq(t_orders(ctx, CXM_ATTR_LINEAR, app), E9);
  t_sums_exact(ctx, 3, 3000);
  cxm_ctx_destroy(ctx);
}
END_TEST

static Suite *attribution_suite(void) {
  Suite *s = suite_create("attribution");
  TCase *tc = tcase_create("attribution");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_models_by_hand);
  tcase_add_test(tc, test_one_and_two_touches);
  tcase_add_test(tc, test_lookback_edges);
  tcase_add_test(tc, test_no_touch_and_no_channel);
  tcase_add_test(tc, test_equal_timestamps);
  tcase_add_test(tc, test_more_touches_than_kept);
  tcase_add_test(tc, test_roas);
  tcase_add_test(tc, test_arguments_and_switch);
  tcase_add_test(tc, test_random_against_reference);
  tcase_add_test(tc, test_exact_against_reference);
  tcase_add_test(tc, test_memory_per_customer);
  tcase_add_test(tc, test_nomem_keeps_state);
  tcase_add_test(tc, test_merge_and_snapshot);
  tcase_add_test(tc, test_erase);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(attribution_suite()); }
