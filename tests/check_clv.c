/*
 * check_clv.c - the predictive CLV module: statistics kept at ingest, the
 * BG/NBD and Gamma-Gamma fits (published CDNOW results, parameter recovery
 * from simulated data, numerical edge cases), predictions against
 * independent reference formulas, RFM, allocation failures.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdalign.h>
#include <stddef.h>

#include "clvsim.h"
#include "testutil.h"

/* 1997-01-01T00:00:00Z */
#define D1997 INT64_C(852076800)

/* CXM_QUICK=1 (scripts/valgrind.sh): smaller simulations. */
static int quick(void) {
  const char *q = getenv("CXM_QUICK");
  return q && strcmp(q, "1") == 0;
}

static void add_purchase(cxm_ctx *ctx, int64_t t, const char *cust, double amount) {
  T_ADD(ctx, t, CXM_EV_PURCHASE, cust, CXM_NO_CHANNEL, amount, NAN);
}

static cxm_clv_model *fit_ok(cxm_ctx *ctx, int64_t as_of, int32_t unit, int32_t seg) {
  cxm_clv_model *m = NULL;
  int rc = cxm_clv_fit(ctx, as_of, unit, seg, 0, &m);
  ck_assert_msg(rc == CXM_OK, "cxm_clv_fit = %d: %s", rc, cxm_ctx_errmsg(ctx));
  return m;
}

static double mget(const cxm_clv_model *m, int what) {
  double v = NAN;
  ck_assert_int_eq(cxm_clv_model_get(m, what, &v), CXM_OK);
  return v;
}

/* The statistics of one customer as the model reports them. */
typedef struct stats {
  double x, tx, T, mean, total;
} stats;

static stats cust_stats(cxm_ctx *ctx, const cxm_clv_model *m, const char *id) {
  uint64_t h;
  ck_assert_int_eq(cxm_customer_hash(ctx, id, strlen(id), &h), CXM_OK);
  size_t n = (size_t)mget(m, CXM_CLV_CUSTOMERS);
  uint64_t *hash = malloc(n * sizeof *hash);
  double *col = malloc(5 * n * sizeof *col);
  ck_assert_int_eq(cxm_clv_model_customers(m, n, hash, col, col + n, col + 2 * n, col + 3 * n,
                                           col + 4 * n),
                   CXM_OK);
  stats s = {NAN, NAN, NAN, NAN, NAN};
  for (size_t i = 0; i < n; i++)
    if (hash[i] == h) s = (stats){col[i], col[n + i], col[2 * n + i], col[3 * n + i], col[4 * n + i]};
  free(hash);
  free(col);
  ck_assert_msg(!isnan(s.x), "customer %s not in the model", id);
  return s;
}

/* ---- statistics kept at ingest ------------------------------------------------ */

START_TEST(test_stats_by_hand) {
  cxm_ctx *ctx = t_new();
  /* ann: day 10 twice (10.00 + 5.00), day 13 (7.00), late day 12 (1.00),
     day 13 again (2.00), late day 9 before the first (4.00: now the first
     period, 15.00 becomes repeat spend). Periods {9, 10, 12, 13}: x = 3,
     t_x = 4 days; repeat = 15 + 1 + 9 = 25 over 3 periods; total 29. */
  add_purchase(ctx, T0 + 10 * DAY, "ann", 10.00);
  add_purchase(ctx, T0 + 10 * DAY + HOUR, "ann", 5.00);
  add_purchase(ctx, T0 + 13 * DAY, "ann", 7.00);
  add_purchase(ctx, T0 + 12 * DAY, "ann", 1.00);
  add_purchase(ctx, T0 + 13 * DAY + HOUR, "ann", 2.00);
  add_purchase(ctx, T0 + 9 * DAY + 5 * HOUR, "ann", 4.00);
  /* Other events change nothing. */
  T_ADD(ctx, T0 + 14 * DAY, CXM_EV_REFUND, "ann", CXM_NO_CHANNEL, 3.0, NAN);
  T_ADD(ctx, T0 + 14 * DAY, CXM_EV_SESSION, "ann", CXM_NO_CHANNEL, 2, 30);
  /* bob: one purchase; cid: two on different days. */
  add_purchase(ctx, T0 + 2 * DAY, "bob", 3.00);
  add_purchase(ctx, T0 + 1 * DAY, "cid", 8.00);
  add_purchase(ctx, T0 + 5 * DAY, "cid", 0.00);
  /* dan: no purchase, not in the model. */
  T_ADD(ctx, T0, CXM_EV_SESSION, "dan", CXM_NO_CHANNEL, 1, 1);

  cxm_clv_model *m = fit_ok(ctx, T0 + 20 * DAY + 3 * HOUR, CXM_CLV_DAYS, CXM_ALL);
  ck_assert_double_eq(mget(m, CXM_CLV_CUSTOMERS), 3);
  ck_assert_double_eq(mget(m, CXM_CLV_AS_OF_DAY), 20454 + 20);
  stats a = cust_stats(ctx, m, "ann");
  ck_assert_double_eq(a.x, 3);
  ck_assert_double_eq(a.tx, 4);
  ck_assert_double_eq(a.T, 11);
  ck_assert_double_eq_tol(a.mean, 25.0 / 3, 1e-12);
  ck_assert_double_eq_tol(a.total, 29.0, 1e-12);
  stats b = cust_stats(ctx, m, "bob");
  ck_assert_double_eq(b.x, 0);
  ck_assert_double_eq(b.tx, 0);
  ck_assert_double_eq(b.T, 18);
  ck_assert_double_eq(b.mean, 0);
  stats c = cust_stats(ctx, m, "cid");
  ck_assert_double_eq(c.x, 1);
  ck_assert_double_eq(c.tx, 4);
  ck_assert_double_eq(c.mean, 0); /* a zero-dollar repeat purchase */
  /* cid's mean repeat spend is 0: left out of Gamma-Gamma, with ann the only
     spender, so Gamma-Gamma is not fitted. */
  ck_assert_double_eq(mget(m, CXM_CLV_GG_ZERO_SPEND), 1);
  ck_assert_double_eq(mget(m, CXM_CLV_GG_CUSTOMERS), 1);
  ck_assert(isnan(mget(m, CXM_CLV_P)));
  cxm_clv_model_destroy(m);

  /* Weeks: the same days divided by 7. */
  m = fit_ok(ctx, T0 + 20 * DAY, CXM_CLV_WEEKS, CXM_ALL);
  a = cust_stats(ctx, m, "ann");
  ck_assert_double_eq_tol(a.tx, 4.0 / 7, 1e-15);
  ck_assert_double_eq_tol(a.T, 11.0 / 7, 1e-15);
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_stats_period_option) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_CLV_PERIOD_DAYS, 7), CXM_OK);
  /* T0 is day 20454 = 2922 * 7: periods [T0, T0+7d), [T0+7d, T0+14d), ...
     Days 0, 3, 6 are one period, 8 and 13 the next, 22 a third: x = 2. */
  int64_t days[] = {3, 0, 6, 8, 13, 22};
  double amt[] = {1, 2, 3, 4, 5, 6};
  for (int i = 0; i < 6; i++) add_purchase(ctx, T0 + days[i] * DAY, "ann", amt[i]);
  add_purchase(ctx, T0, "bob", 1);
  add_purchase(ctx, T0 + DAY, "bob", 1);
  add_purchase(ctx, T0 + 9 * DAY, "bob", 1);
  cxm_clv_model *m = fit_ok(ctx, T0 + 30 * DAY, CXM_CLV_DAYS, CXM_ALL);
  stats a = cust_stats(ctx, m, "ann");
  ck_assert_double_eq(a.x, 2);
  ck_assert_double_eq(a.tx, 22); /* recency stays in days */
  ck_assert_double_eq_tol(a.mean, (4 + 5 + 6) / 2.0, 1e-12);
  ck_assert_double_eq_tol(a.total, 21, 1e-12);
  stats b = cust_stats(ctx, m, "bob");
  ck_assert_double_eq(b.x, 1);
  cxm_clv_model_destroy(m);
  /* The option is fixed after the first event. */
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_CLV_PERIOD_DAYS, 1), CXM_E_STATE);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* A random stream with late purchases: the kept statistics equal the ones
   computed from the full list of purchases. */
START_TEST(test_stats_random_late) {
  enum { NC = 40, NE = 3000 };
  cxm_ctx *ctx = t_new();
  clvsim_rng g = {12345};
  static int64_t times[NE];
  static int cust[NE];
  static double amts[NE];
  int64_t newest[NC];
  for (int c = 0; c < NC; c++) newest[c] = T0;
  int n = 0;
  for (int i = 0; i < NE; i++) {
    int c = (int)(clvsim_next(&g) % NC);
    /* Mostly forward; sometimes up to 6 days back (the bound is 7). */
    int64_t t = newest[c] + (int64_t)(clvsim_next(&g) % (3 * DAY));
    if (clvsim_next(&g) % 4 == 0) t = newest[c] - (int64_t)(clvsim_next(&g) % (6 * DAY));
    if (t > newest[c]) newest[c] = t;
    char id[16];
    snprintf(id, sizeof id, "c%d", c);
    double a = (double)(clvsim_next(&g) % 10000) / 100;
    add_purchase(ctx, t, id, a);
    times[n] = t;
    cust[n] = c;
    amts[n] = a;
    n++;
  }
  int64_t as_of = T0 + 400 * DAY;
  cxm_clv_model *m = fit_ok(ctx, as_of, CXM_CLV_DAYS, CXM_ALL);
  for (int c = 0; c < NC; c++) {
    /* reference: distinct days, amounts per day */
    int64_t first = INT64_MAX, last = INT64_MIN;
    static double per_day[1000];
    memset(per_day, 0, sizeof per_day);
    static char seen[1000];
    memset(seen, 0, sizeof seen);
    double total = 0;
    for (int i = 0; i < n; i++) {
      if (cust[i] != c) continue;
      int64_t d = (times[i] - T0 + 10 * DAY) / DAY; /* >= 0 */
      ck_assert_int_lt(d, 1000);
      seen[d] = 1;
      per_day[d] += amts[i];
      total += amts[i];
      if (d < first) first = d;
      if (d > last) last = d;
    }
    if (first == INT64_MAX) continue;
    int periods = 0;
    double rep = 0;
    for (int d = 0; d < 1000; d++)
      if (seen[d]) {
        periods++;
        if (d != first) rep += per_day[d];
      }
    char id[16];
    snprintf(id, sizeof id, "c%d", c);
    stats s = cust_stats(ctx, m, id);
    ck_assert_double_eq(s.x, periods - 1);
    ck_assert_double_eq(s.tx, (double)(last - first));
    ck_assert_double_eq(s.T, (double)((as_of - T0) / DAY + 10 - first));
    ck_assert_double_eq_tol(s.total, total, 1e-6);
    if (periods > 1) ck_assert_double_eq_tol(s.mean, rep / (periods - 1), 1e-9);
  }
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- CDNOW ------------------------------------------------------------------- */

static int64_t ymd_time(int ymd) {
  int y = ymd / 10000, mo = ymd / 100 % 100, d = ymd % 100;
  /* days from civil (proleptic Gregorian) */
  y -= mo <= 2;
  int era = y / 400;
  int yoe = y - era * 400;
  int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return ((int64_t)era * 146097 + doe - 719468) * 86400;
}

/* Loads CDNOW_sample.txt purchases up to `last_ymd`; returns the handle or
   NULL (test skipped) when the data set is absent. */
static cxm_ctx *load_cdnow_sample(int last_ymd) {
  const char *dir = getenv("CXM_DATA_DIR");
  if (!dir) return NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/cdnow/CDNOW_sample.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  cxm_ctx *ctx = t_new();
  char line[256];
  long n = 0;
  while (fgets(line, sizeof line, f)) {
    long master, sample, cds;
    int ymd;
    double usd;
    if (sscanf(line, "%ld %ld %d %ld %lf", &master, &sample, &ymd, &cds, &usd) != 5) continue;
    if (ymd > last_ymd) continue;
    char id[24];
    snprintf(id, sizeof id, "%ld", sample);
    add_purchase(ctx, ymd_time(ymd), id, usd);
    n++;
  }
  fclose(f);
  ck_assert_int_gt(n, 4000);
  return ctx;
}

static void skip_without_data(void) {
  const char *req = getenv("CXM_REQUIRE_DATA");
  ck_assert_msg(!(req && strcmp(req, "1") == 0),
                "CDNOW_sample.txt not found under CXM_DATA_DIR (CXM_REQUIRE_DATA=1)");
}

/* Rounds to the decimals the papers print. */
static double rnd(double v, int decimals) {
  double s = pow(10, decimals);
  return round(v * s) / s;
}

START_TEST(test_cdnow_published) {
  cxm_ctx *ctx = load_cdnow_sample(19970930);
  if (!ctx) {
    skip_without_data();
    return;
  }
  cxm_clv_model *m = fit_ok(ctx, ymd_time(19970930), CXM_CLV_WEEKS, CXM_ALL);
  ck_assert_double_eq(mget(m, CXM_CLV_CUSTOMERS), 2357);
  /* Fader, Hardie & Lee (2005), Table/section 5: r = 0.243, alpha = 4.414,
     a = 0.793, b = 2.426, LL = -9582.4. */
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_R), 3), 0.243);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_ALPHA), 3), 4.414);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_A), 3), 0.793);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_B), 3), 2.426);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_LOGLIK), 1), -9582.4);
  ck_assert_double_eq(mget(m, CXM_CLV_CONVERGED), 1);
  /* Fader & Hardie (2013), 946 repeat buyers: p = 6.25, q = 3.74,
     gamma = 15.44. */
  ck_assert_double_eq(mget(m, CXM_CLV_GG_CUSTOMERS), 946);
  ck_assert_double_eq(mget(m, CXM_CLV_GG_ZERO_SPEND), 0);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_P), 2), 6.25);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_Q), 2), 3.74);
  ck_assert_double_eq(rnd(mget(m, CXM_CLV_V), 2), 15.44);
  ck_assert_double_eq(mget(m, CXM_CLV_GG_CONVERGED), 1);
  /* Standard errors: finite, positive, smaller than the estimates. */
  for (int k = CXM_CLV_SE_R; k <= CXM_CLV_SE_V; k++) {
    double se = mget(m, k), est = mget(m, k - CXM_CLV_SE_R + CXM_CLV_R);
    ck_assert_msg(se > 0 && se < est, "SE %d = %g for %g", k, se, est);
  }
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- reference formulas, written independently of the library's ---------------- */

/* 2F1 by its plain series (no transformation); fine for moderate values. */
static double ref_2f1(double a, double b, double c, double z) {
  double s = 1, t = 1;
  for (int k = 0; k < 100000; k++) {
    t *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
    s += t;
    if (fabs(t) < 1e-16 * fabs(s) && k > 10) break;
  }
  return s;
}

static double ref_palive(const double th[4], double x, double tx, double T) {
  double r = th[0], al = th[1], a = th[2], b = th[3];
  if (x == 0) return 1;
  return 1 / (1 + a / (b + x - 1) * pow((al + T) / (al + tx), r + x));
}

/* FHL 2005 eq. (10), as printed. */
static double ref_expected(const double th[4], double x, double tx, double T, double t) {
  double r = th[0], al = th[1], a = th[2], b = th[3];
  double z = t / (al + T + t);
  double h = ref_2f1(r + x, b + x, a + b + x - 1, z);
  double num = (a + b + x - 1) / (a - 1) * (1 - pow((al + T) / (al + T + t), r + x) * h);
  return num * ref_palive(th, x, tx, T);
}

/* Predictions of the CDNOW model for a few customers against the reference. */
START_TEST(test_predictions_reference) {
  cxm_ctx *ctx = load_cdnow_sample(19970930);
  if (!ctx) {
    skip_without_data();
    return;
  }
  cxm_clv_model *m = fit_ok(ctx, ymd_time(19970930), CXM_CLV_WEEKS, CXM_ALL);
  double th[4] = {mget(m, CXM_CLV_R), mget(m, CXM_CLV_ALPHA), mget(m, CXM_CLV_A),
                  mget(m, CXM_CLV_B)};
  double gg[3] = {mget(m, CXM_CLV_P), mget(m, CXM_CLV_Q), mget(m, CXM_CLV_V)};
  size_t n = (size_t)mget(m, CXM_CLV_CUSTOMERS);
  double *col = malloc(9 * n * sizeof *col);
  double *x = col, *tx = col + n, *T = col + 2 * n, *mean = col + 3 * n;
  double *pa = col + 4 * n, *e = col + 5 * n, *sp = col + 6 * n, *clv = col + 7 * n;
  ck_assert_int_eq(cxm_clv_model_customers(m, n, NULL, x, tx, T, mean, NULL), CXM_OK);
  ck_assert_int_eq(cxm_clv_predict(m, 39, 0, n, pa, e, sp, clv), CXM_OK);
  double sum_e = 0;
  for (size_t i = 0; i < n; i++) {
    ck_assert_double_eq_tol(pa[i], ref_palive(th, x[i], tx[i], T[i]), 1e-12);
    if (x[i] < 50)
      ck_assert_double_eq_tol(e[i], ref_expected(th, x[i], tx[i], T[i], 39), 1e-9);
    double s = x[i] > 0 ? (gg[0] * gg[2] + gg[0] * x[i] * mean[i]) / (gg[0] * x[i] + gg[1] - 1)
                        : gg[0] * gg[2] / (gg[1] - 1);
    ck_assert_double_eq_tol(sp[i], s, 1e-9 * s);
    ck_assert_double_eq_tol(clv[i], s * e[i], 1e-9 * (1 + s * e[i]));
    sum_e += e[i];
  }
  /* FHL 2005: the model predicts 1,359 repeat purchases for these customers
     in the 39 weeks after calibration (their figure 2 and text: the actual
     number was 1,404... we check the sum against the reference only). */
  (void)sum_e;
  /* Discounted CLV: sum over weekly steps of expected spend x expected
     purchases in the step / (1 + d)^k. */
  double d = 0.01;
  ck_assert_int_eq(cxm_clv_predict(m, 10.5, d, n, NULL, e, sp, clv), CXM_OK);
  for (size_t i = 0; i < n; i += 97) {
    double prev = 0, sum = 0;
    for (int k = 1; k <= 11; k++) {
      double tk = k < 10.5 ? k : 10.5;
      double ek = ref_expected(th, x[i], tx[i], T[i], tk);
      sum += (ek - prev) / pow(1 + d, tk);
      prev = ek;
    }
    ck_assert_double_eq_tol(clv[i], sp[i] * sum, 1e-9 * (1 + sp[i] * sum));
    ck_assert_double_eq_tol(e[i], prev, 1e-9);
  }
  /* One customer by id: the sample's customer 1 (x, t_x, T from the file). */
  double p1, e1, s1, c1;
  ck_assert_int_eq(cxm_clv_customer(m, "1", 1, 39, 0, &p1, &e1, &s1, &c1), CXM_OK);
  ck_assert(p1 > 0 && p1 <= 1 && e1 >= 0 && c1 >= 0);
  ck_assert_int_eq(cxm_clv_customer(m, "nobody", 6, 39, 0, &p1, &e1, &s1, &c1),
                   CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_clv_customer(m, "1", 1, -1, 0, &p1, &e1, &s1, &c1), CXM_E_RANGE);
  free(col);
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- parameter recovery ----------------------------------------------------------- */

START_TEST(test_recovery) {
  const clvsim_params P = {0.5, 50.0, 0.8, 3.0, 5.0, 4.0, 20.0};
  enum { CAP = 2000 };
  /* fewer customers give larger standard errors: the check holds as well */
  const int NCUST = quick() ? 4000 : 20000;
  cxm_ctx *ctx = t_new();
  clvsim_rng g = {20261122};
  static int64_t secs[CAP];
  static double amt[CAP];
  int64_t as_of = T0 + 400 * DAY;
  for (int c = 0; c < NCUST; c++) {
    /* First purchases at noon of one of the first 200 days, the end of
       observation at noon of the as-of day: the library's whole-day T is
       then the true T, and t_x the true one rounded. */
    int64_t start = T0 + (int64_t)(clvsim_next(&g) % 200) * DAY;
    double Tdays = (double)(as_of - start) / DAY;
    int k = clvsim_customer(&g, &P, Tdays, CAP, secs, amt);
    char id[16];
    snprintf(id, sizeof id, "s%d", c);
    for (int i = 0; i < k; i++) add_purchase(ctx, start + 12 * HOUR + secs[i], id, amt[i]);
  }
  cxm_clv_model *m = fit_ok(ctx, as_of, CXM_CLV_DAYS, CXM_ALL);
  ck_assert_double_eq(mget(m, CXM_CLV_CONVERGED), 1);
  ck_assert_double_eq(mget(m, CXM_CLV_GG_CONVERGED), 1);
  const double truth[7] = {P.r, P.alpha, P.a, P.b, P.p, P.q, P.v};
  for (int k = 0; k < 7; k++) {
    double est = mget(m, CXM_CLV_R + k), se = mget(m, CXM_CLV_SE_R + k);
    ck_assert_msg(se > 0 && fabs(est - truth[k]) <= 3 * se,
                  "parameter %d: estimate %g, SE %g, true %g", k, est, se, truth[k]);
  }
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- edge cases ---------------------------------------------------------------------- */

START_TEST(test_large_frequency) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 0), CXM_OK);
  clvsim_rng g = {7};
  /* a population with a few repeats */
  for (int c = 0; c < 300; c++) {
    char id[16];
    snprintf(id, sizeof id, "p%d", c);
    int64_t t = T0 + (int64_t)(clvsim_next(&g) % 100) * DAY;
    int k = (int)(clvsim_next(&g) % 4);
    for (int i = 0; i <= k; i++) {
      add_purchase(ctx, t, id, 10 + i);
      t += (1 + (int64_t)(clvsim_next(&g) % 30)) * DAY;
    }
  }
  /* one customer with a purchase every day for 420 days: x = 419 */
  for (int i = 0; i < 420; i++) add_purchase(ctx, T0 + i * DAY, "heavy", 25);
  cxm_clv_model *m = fit_ok(ctx, T0 + 430 * DAY, CXM_CLV_DAYS, CXM_ALL);
  ck_assert(isfinite(mget(m, CXM_CLV_LOGLIK)));
  ck_assert_double_eq(mget(m, CXM_CLV_CONVERGED), 1);
  stats s = cust_stats(ctx, m, "heavy");
  ck_assert_double_eq(s.x, 419);
  double pa, e, sp, clv;
  ck_assert_int_eq(cxm_clv_customer(m, "heavy", 5, 365, 0, &pa, &e, &sp, &clv), CXM_OK);
  ck_assert(isfinite(pa) && pa > 0 && pa <= 1);
  ck_assert(isfinite(e) && e > 0);
  ck_assert(isfinite(clv) && clv > 0);
  /* P(alive) in log space against the formula: (alpha+T)/(alpha+t_x) to the
     power r + 419 is about 1e4 here, fine in double. */
  double th[4] = {mget(m, CXM_CLV_R), mget(m, CXM_CLV_ALPHA), mget(m, CXM_CLV_A),
                  mget(m, CXM_CLV_B)};
  ck_assert_double_eq_tol(pa, ref_palive(th, 419, 419, 430), 1e-12);
  /* Long horizons stay finite where the untransformed series overflows. */
  ck_assert_int_eq(cxm_clv_customer(m, "heavy", 5, 1e5, 0, &pa, &e, &sp, &clv), CXM_OK);
  ck_assert(isfinite(e) && e > 0);
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_unidentified) {
  cxm_ctx *ctx = t_new();
  cxm_clv_model *m = (cxm_clv_model *)&m; /* must stay untouched */
  cxm_clv_model *const sentinel = m;
  /* no purchase at all */
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m),
                   CXM_E_UNSUPPORTED);
  /* a single customer, even with repeats */
  add_purchase(ctx, T0, "one", 5);
  add_purchase(ctx, T0 + DAY, "one", 5);
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m),
                   CXM_E_UNSUPPORTED);
  ck_assert_ptr_eq(m, sentinel);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "at least 2"));
  cxm_ctx_destroy(ctx);
  /* all x = 0 */
  ctx = t_new();
  for (int c = 0; c < 50; c++) {
    char id[16];
    snprintf(id, sizeof id, "z%d", c);
    add_purchase(ctx, T0 + c * HOUR * 5, id, 5);
  }
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m),
                   CXM_E_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "no repeat purchase"));
  ck_assert_ptr_eq(m, sentinel);
  /* arguments */
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, 3, CXM_ALL, 0, &m), CXM_E_ARG);
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, 5, 0, &m), CXM_E_ARG);
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, -1, &m), CXM_E_RANGE);
  ck_assert_int_eq(cxm_clv_fit(ctx, T0, CXM_CLV_DAYS, CXM_ALL, 0, &m), CXM_E_RANGE);
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_clv_fit(NULL, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m), CXM_E_NULL);
  cxm_ctx_destroy(ctx);
  /* module off: nothing kept, fit refused */
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, CXM_MOD_ALL & ~CXM_MOD_CLV), CXM_OK);
  add_purchase(ctx, T0, "a", 1);
  add_purchase(ctx, T0 + DAY, "a", 1);
  add_purchase(ctx, T0, "b", 1);
  ck_assert_int_eq(cxm_clv_fit(ctx, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m),
                   CXM_E_UNSUPPORTED);
  cxm_ctx_destroy(ctx);
  cxm_clv_model_destroy(NULL);
}
END_TEST

/* No spend heterogeneity (every purchase 20.00): the Gamma-Gamma likelihood
   rises towards q, v -> infinity. The fit stops there, says it did not
   converge, and still predicts the common spend. */
START_TEST(test_boundary_spend) {
  cxm_ctx *ctx = t_new();
  clvsim_rng g = {11};
  for (int c = 0; c < 300; c++) {
    char id[16];
    snprintf(id, sizeof id, "b%d", c);
    int64_t t = T0 + (int64_t)(clvsim_next(&g) % 50) * DAY;
    int k = (int)(clvsim_next(&g) % 4);
    for (int i = 0; i <= k; i++) {
      add_purchase(ctx, t, id, 20.0);
      t += (1 + (int64_t)(clvsim_next(&g) % 20)) * DAY;
    }
  }
  cxm_clv_model *m = fit_ok(ctx, T0 + 150 * DAY, CXM_CLV_DAYS, CXM_ALL);
  ck_assert_double_eq(mget(m, CXM_CLV_GG_CONVERGED), 0);
  size_t n = (size_t)mget(m, CXM_CLV_CUSTOMERS);
  double *sp = malloc(n * sizeof *sp);
  ck_assert_int_eq(cxm_clv_predict(m, 30, 0, n, NULL, NULL, sp, NULL), CXM_OK);
  for (size_t i = 0; i < n; i++) ck_assert_double_eq_tol(sp[i], 20.0, 0.2);
  free(sp);
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* The penalty shrinks the parameters; the reported likelihood is lower. */
START_TEST(test_penalty) {
  cxm_ctx *ctx = load_cdnow_sample(19970930);
  if (!ctx) {
    skip_without_data();
    return;
  }
  cxm_clv_model *m0 = fit_ok(ctx, ymd_time(19970930), CXM_CLV_WEEKS, CXM_ALL), *m1 = NULL;
  ck_assert_int_eq(cxm_clv_fit(ctx, ymd_time(19970930), CXM_CLV_WEEKS, CXM_ALL, 1.0, &m1),
                   CXM_OK);
  ck_assert(mget(m1, CXM_CLV_LOGLIK) < mget(m0, CXM_CLV_LOGLIK));
  double s0 = 0, s1 = 0;
  for (int k = CXM_CLV_R; k <= CXM_CLV_B; k++) {
    s0 += pow(mget(m0, k), 2);
    s1 += pow(mget(m1, k), 2);
  }
  ck_assert(s1 < s0);
  cxm_clv_model_destroy(m1);
  cxm_clv_model_destroy(m0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- segments --------------------------------------------------------------------------- */

START_TEST(test_segments) {
  cxm_ctx *ctx = t_new();
  int32_t gold = t_seg(ctx, "gold"), eu = t_seg(ctx, "eu");
  int32_t s_gold = t_set(ctx, 1, &gold), both[2] = {gold, eu};
  int32_t s_both = t_set(ctx, 2, both);
  clvsim_rng g = {99};
  int ngold = 0;
  for (int c = 0; c < 400; c++) {
    char id[16];
    snprintf(id, sizeof id, "g%d", c);
    if (c % 3 == 0) {
      t_assign(ctx, id, c % 2 ? s_gold : s_both);
      ngold++;
    }
    int64_t t = T0 + (int64_t)(clvsim_next(&g) % 50) * DAY;
    int k = (int)(clvsim_next(&g) % 5);
    for (int i = 0; i <= k; i++) {
      add_purchase(ctx, t, id, 5 + (double)(clvsim_next(&g) % 100));
      t += (1 + (int64_t)(clvsim_next(&g) % 20)) * DAY;
    }
  }
  cxm_clv_model *all = fit_ok(ctx, T0 + 200 * DAY, CXM_CLV_DAYS, CXM_ALL);
  cxm_clv_model *mg = fit_ok(ctx, T0 + 200 * DAY, CXM_CLV_DAYS, gold);
  ck_assert_double_eq(mget(mg, CXM_CLV_CUSTOMERS), ngold);
  /* Per-segment sums equal the sums of the members' predictions. */
  size_t n = (size_t)mget(all, CXM_CLV_CUSTOMERS);
  ck_assert_int_eq(n, 400);
  double *pa = malloc(n * sizeof *pa), *e = malloc(n * sizeof *e), *c = malloc(n * sizeof *c);
  uint64_t *h = malloc(n * sizeof *h);
  ck_assert_int_eq(cxm_clv_predict(all, 30, 0.001, n, pa, e, NULL, c), CXM_OK);
  ck_assert_int_eq(cxm_clv_model_customers(all, n, h, NULL, NULL, NULL, NULL, NULL), CXM_OK);
  double spa = 0, se = 0, sc = 0;
  int cnt = 0;
  for (int i = 0; i < 400; i++) {
    if (i % 3 != 0 || i % 2 == 1) continue; /* eu: the s_both customers */
    char id[16];
    snprintf(id, sizeof id, "g%d", i);
    uint64_t hh;
    cxm_customer_hash(ctx, id, strlen(id), &hh);
    for (size_t k = 0; k < n; k++)
      if (h[k] == hh) {
        spa += pa[k];
        se += e[k];
        sc += c[k];
        cnt++;
      }
  }
  int64_t nseg;
  double mpa, ssum, csum;
  ck_assert_int_eq(cxm_clv_segment(all, eu, 30, 0.001, &nseg, &mpa, &ssum, &csum), CXM_OK);
  ck_assert_int_eq(nseg, cnt);
  ck_assert_double_eq_tol(mpa, spa / cnt, 1e-12);
  ck_assert_double_eq_tol(ssum, se, 1e-9);
  ck_assert_double_eq_tol(csum, sc, 1e-6);
  ck_assert_int_eq(cxm_clv_segment(all, 7, 30, 0, &nseg, &mpa, &ssum, &csum), CXM_E_ARG);
  free(pa);
  free(e);
  free(c);
  free(h);
  cxm_clv_model_destroy(mg);
  cxm_clv_model_destroy(all);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- RFM -------------------------------------------------------------------------------------- */

START_TEST(test_rfm) {
  cxm_ctx *ctx = t_new();
  /* 10 customers k = 0..9: k + 1 purchase days ending on day 20 - k, each
     of (k + 1) * 10.00, except k = 9 bought once long ago. Recency (days
     since the last purchase) = k + 10 for the as-of day 30. */
  for (int k = 0; k < 10; k++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", k);
    int periods = k == 9 ? 1 : k + 1;
    for (int i = periods - 1; i >= 0; i--)
      add_purchase(ctx, T0 + (20 - k - i) * DAY, id, (k + 1) * 10.0);
  }
  cxm_clv_model *m = fit_ok(ctx, T0 + 30 * DAY, CXM_CLV_DAYS, CXM_ALL);
  size_t n = 10;
  uint8_t r[10], f[10], mo[10];
  int32_t seg[10];
  uint64_t h[10];
  ck_assert_int_eq(cxm_rfm_scores(m, n, r, f, mo, seg), CXM_OK);
  ck_assert_int_eq(cxm_clv_model_customers(m, n, h, NULL, NULL, NULL, NULL, NULL), CXM_OK);
  for (int k = 0; k < 10; k++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", k);
    uint64_t hh;
    cxm_customer_hash(ctx, id, strlen(id), &hh);
    size_t i = 0;
    while (h[i] != hh) i++;
    /* recency: 9 - k customers are less recent -> 1 + floor(5 (9-k) / 10) */
    int er = 1 + 5 * (9 - k) / 10;
    /* frequency: k + 1 periods, except k = 9 with 1 */
    int below_f = 0;
    for (int j2 = 0; j2 < 10; j2++) below_f += (j2 == 9 ? 1 : j2 + 1) < (k == 9 ? 1 : k + 1);
    int ef = 1 + 5 * below_f / 10;
    /* monetary: total = periods * (k + 1) * 10 */
    double tot = (k == 9 ? 1 : k + 1) * (k + 1) * 10.0;
    int below_m = 0;
    for (int j = 0; j < 10; j++) {
      double tj = (j == 9 ? 1 : j + 1) * (j + 1) * 10.0;
      below_m += tj < tot;
    }
    int em = 1 + 5 * below_m / 10;
    ck_assert_int_eq(r[i], er);
    ck_assert_int_eq(f[i], ef);
    ck_assert_int_eq(mo[i], em);
    int es;
    if (er >= 4 && ef >= 4 && em >= 4) es = CXM_RFM_CHAMPIONS;
    else if (er >= 3 && ef >= 4) es = CXM_RFM_LOYAL;
    else if (er <= 2 && ef >= 4 && em >= 4) es = CXM_RFM_CANNOT_LOSE;
    else if (er <= 2 && ef >= 3) es = CXM_RFM_AT_RISK;
    else if (er >= 4 && ef == 1) es = CXM_RFM_NEW;
    else if (er >= 3) es = CXM_RFM_POTENTIAL_LOYALIST;
    else if (er == 2) es = CXM_RFM_HIBERNATING;
    else es = CXM_RFM_LOST;
    ck_assert_int_eq(seg[i], es);
  }
  ck_assert_str_eq(cxm_rfm_segment_name(CXM_RFM_CHAMPIONS), "champions");
  ck_assert_str_eq(cxm_rfm_segment_name(CXM_RFM_CANNOT_LOSE), "cannot_lose");
  ck_assert_ptr_null(cxm_rfm_segment_name(0));
  ck_assert_ptr_null(cxm_rfm_segment_name(9));
  ck_assert_int_eq(cxm_rfm_scores(m, 9, r, f, mo, seg), CXM_E_ARG);
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
}
END_TEST


/* ---- snapshots, merges, erasure ---------------------------------------------------------- */

/* Every customer's statistics and the fitted values of two handles agree. */
static void same_models(cxm_ctx *a, cxm_ctx *b, int64_t as_of) {
  cxm_clv_model *ma = fit_ok(a, as_of, CXM_CLV_DAYS, CXM_ALL);
  cxm_clv_model *mb = fit_ok(b, as_of, CXM_CLV_DAYS, CXM_ALL);
  size_t n = (size_t)mget(ma, CXM_CLV_CUSTOMERS);
  ck_assert_double_eq(mget(mb, CXM_CLV_CUSTOMERS), n);
  uint64_t *ha = malloc(2 * n * sizeof *ha), *hb = ha + n;
  double *sa = malloc(10 * n * sizeof *sa), *sb = sa + 5 * n;
  ck_assert_int_eq(cxm_clv_model_customers(ma, n, ha, sa, sa + n, sa + 2 * n, sa + 3 * n,
                                           sa + 4 * n), CXM_OK);
  ck_assert_int_eq(cxm_clv_model_customers(mb, n, hb, sb, sb + n, sb + 2 * n, sb + 3 * n,
                                           sb + 4 * n), CXM_OK);
  /* orders may differ: match by hash */
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < n && hb[j] != ha[i]) j++;
    ck_assert_msg(j < n, "customer %zu missing", i);
    for (int c = 0; c < 5; c++)
      ck_assert_double_eq_tol(sa[c * n + i], sb[c * n + j], 1e-9);
  }
  /* The same data summed in another order: the same maximum (the
     parameters themselves may sit far out on a flat ridge of these small
     synthetic sets). */
  ck_assert_double_eq_tol(mget(ma, CXM_CLV_LOGLIK), mget(mb, CXM_CLV_LOGLIK),
                          1e-7 * fabs(mget(ma, CXM_CLV_LOGLIK)));
  ck_assert_double_eq_tol(mget(ma, CXM_CLV_GG_LOGLIK), mget(mb, CXM_CLV_GG_LOGLIK),
                          1e-7 * fabs(mget(ma, CXM_CLV_GG_LOGLIK)));
  free(ha);
  free(sa);
  cxm_clv_model_destroy(ma);
  cxm_clv_model_destroy(mb);
}

/* Customers from..to-1 simulated from realistic parameters; customer c's
   purchases depend on (seed, c) only, so any split of the range over
   handles gives the same purchases. */
static void feed_range(cxm_ctx *ctx, int from, int to, int seed) {
  const clvsim_params P = {0.6, 20.0, 0.8, 3.0, 5.0, 4.0, 20.0};
  int64_t secs[400];
  double amt[400];
  for (int c = from; c < to; c++) {
    clvsim_rng g = {(uint64_t)seed * 1000003u + (uint64_t)c};
    char id[16];
    snprintf(id, sizeof id, "m%d", c);
    int64_t start = T0 + (int64_t)(clvsim_next(&g) % 60) * DAY + 12 * HOUR;
    int k = clvsim_customer(&g, &P, (double)(T0 + 199 * DAY - start) / DAY, 400, secs, amt);
    for (int i = 0; i < k; i++) add_purchase(ctx, start + secs[i], id, amt[i]);
  }
}

START_TEST(test_snapshot_roundtrip) {
  cxm_ctx *a = t_new();
  feed_range(a, 0, 1000, 3);
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(a, CXM_SNAPSHOT_EMBED_KEY, &buf, &len), CXM_OK);
  cxm_ctx *b = NULL;
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
  int rc = cxm_snapshot_load_buffer(b, buf, len);
  ck_assert_msg(rc == CXM_OK, "load: %s", cxm_ctx_errmsg(b));
  cxm_buffer_free(a, buf, len);
  same_models(a, b, T0 + 200 * DAY);
  /* the loaded handle keeps ingesting: a later purchase changes both alike */
  add_purchase(a, T0 + 199 * DAY, "m7", 9);
  add_purchase(b, T0 + 199 * DAY, "m7", 9);
  same_models(a, b, T0 + 200 * DAY);
  /* Without the key a loaded handle fits, but cannot look a customer up by
     id (it would hash under a wrong key): CXM_E_STATE, found by hash only. */
  ck_assert_int_eq(cxm_snapshot_save_buffer(a, 0, &buf, &len), CXM_OK);
  cxm_ctx *c = NULL;
  ck_assert_int_eq(cxm_ctx_create(&c), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, buf, len), CXM_OK);
  cxm_buffer_free(a, buf, len);
  cxm_clv_model *m = NULL;
  ck_assert_int_eq(cxm_clv_fit(c, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m), CXM_OK);
  double pa = -1;
  ck_assert_int_eq(cxm_clv_customer(m, "m7", 2, 30, 0, &pa, NULL, NULL, NULL), CXM_E_STATE);
  ck_assert_double_eq(pa, -1);
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(c);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(a);
}
END_TEST

START_TEST(test_merge_shards) {
  cxm_ctx *whole = t_new(), *s1 = t_new(), *s2 = t_new();
  feed_range(whole, 0, 1000, 5);
  feed_range(s1, 0, 500, 5);
  feed_range(s2, 500, 1000, 5);
  ck_assert_int_eq(cxm_ctx_merge(s1, s2), CXM_OK);
  same_models(whole, s1, T0 + 200 * DAY);
  /* one customer split over two handles in periods far apart: exact too */
  cxm_ctx *x1 = t_new(), *x2 = t_new(), *xw = t_new();
  feed_range(x1, 0, 300, 9);
  feed_range(xw, 0, 300, 9);
  add_purchase(x1, T0 + 100 * DAY, "split", 5);
  add_purchase(x1, T0 + 110 * DAY, "split", 7);
  add_purchase(x2, T0 + 150 * DAY, "split", 11);
  add_purchase(x2, T0 + 160 * DAY, "split", 13);
  for (int64_t d = 100; d <= 160; d += 10)
    if (d == 100 || d == 110 || d == 150 || d == 160)
      add_purchase(xw, T0 + d * DAY, "split", d == 100 ? 5 : d == 110 ? 7 : d == 150 ? 11 : 13);
  ck_assert_int_eq(cxm_ctx_merge(x1, x2), CXM_OK);
  same_models(xw, x1, T0 + 200 * DAY);
  cxm_ctx_destroy(x1);
  cxm_ctx_destroy(x2);
  cxm_ctx_destroy(xw);
  cxm_ctx_destroy(s2);
  cxm_ctx_destroy(s1);
  cxm_ctx_destroy(whole);
}
END_TEST

START_TEST(test_erase) {
  cxm_ctx *a = t_new(), *d = t_new();
  feed_range(a, 0, 400, 4);
  /* erasing m0 moves the last record into its slot */
  ck_assert_int_eq(cxm_customer_erase(a, "m0", 2), CXM_OK);
  cxm_clv_model *m = fit_ok(a, T0 + 200 * DAY, CXM_CLV_DAYS, CXM_ALL);
  ck_assert_double_eq(mget(m, CXM_CLV_CUSTOMERS), 399);
  double pa;
  ck_assert_int_eq(cxm_clv_customer(m, "m0", 2, 10, 0, &pa, NULL, NULL, NULL), CXM_E_NOTFOUND);
  cxm_clv_model_destroy(m);
  /* the others kept their statistics: as in a handle that never had m0 */
  feed_range(d, 1, 400, 4);
  same_models(a, d, T0 + 200 * DAY);
  cxm_ctx_destroy(d);
  cxm_ctx_destroy(a);
}
END_TEST

/* ---- allocation failures ---------------------------------------------------------------------- */

typedef struct t_alloc {
  long calls, fail_at, failures, live;
} t_alloc;

#define T_HDR sizeof(max_align_t)

static int t_should_fail(t_alloc *a) {
  a->calls++;
  if (a->fail_at != 0 && a->calls == a->fail_at) {
    a->failures++;
    return 1;
  }
  return 0;
}
static void *t_malloc(void *o, size_t n) {
  t_alloc *a = o;
  if (t_should_fail(a)) return NULL;
  a->live++;
  return malloc(n);
}
static void *t_realloc(void *o, void *p, size_t n) {
  t_alloc *a = o;
  if (!p) return t_malloc(o, n);
  if (t_should_fail(a)) return NULL;
  return realloc(p, n);
}
static void t_free(void *o, void *p) {
  t_alloc *a = o;
  a->live--;
  free(p);
}

static void feed_small(cxm_ctx *ctx, int from, int to) {
  for (int c = from; c < to; c++) {
    char id[16];
    snprintf(id, sizeof id, "f%d", c);
    for (int i = 0; i <= c % 4; i++) {
      int rc = t_ev(ctx, T0 + (c + 7 * i) * DAY, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL,
                    1.0 + c + i, NAN);
      ck_assert_msg(rc == CXM_OK, "%d: %s", rc, cxm_ctx_errmsg(ctx));
    }
  }
}

/* A failed fit returns CXM_E_NOMEM, leaks nothing, and a later fit works. */
START_TEST(test_fit_nomem) {
  t_alloc a = {0, 0, 0, 0};
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, t_malloc, t_realloc, t_free, &a), CXM_OK);
  feed_small(ctx, 0, 60);
  long live0 = a.live;
  int ok = 0;
  for (long k = 1; k < 200 && !ok; k++) {
    cxm_clv_model *m = NULL;
    a.fail_at = a.calls + k;
    int rc = cxm_clv_fit(ctx, T0 + 200 * DAY, CXM_CLV_DAYS, CXM_ALL, 0, &m);
    a.fail_at = 0;
    if (rc == CXM_OK) {
      ok = 1;
      double *p = malloc(60 * sizeof *p);
      /* predictions and RFM also fail cleanly */
      for (long j = 1; j < 4; j++) {
        a.fail_at = a.calls + j;
        int r2 = cxm_clv_predict(m, 10, 0, 60, p, NULL, NULL, NULL);
        a.fail_at = 0;
        ck_assert(r2 == CXM_OK || r2 == CXM_E_NOMEM);
        a.fail_at = a.calls + j;
        r2 = cxm_rfm_scores(m, 60, NULL, NULL, NULL, NULL);
        a.fail_at = 0;
        ck_assert(r2 == CXM_OK || r2 == CXM_E_NOMEM);
      }
      free(p);
      cxm_clv_model_destroy(m);
    } else {
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      ck_assert_ptr_null(m);
    }
    ck_assert_int_eq(a.live, live0);
  }
  ck_assert(ok);
  ck_assert_int_gt(a.failures, 3);
  cxm_ctx_destroy(ctx);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* An event whose module state cannot grow is rejected and changes nothing:
   the statistics equal a twin's that never saw it. */
START_TEST(test_ingest_nomem) {
  t_alloc a = {0, 0, 0, 0};
  cxm_ctx *ctx = NULL, *twin = t_new();
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, t_malloc, t_realloc, t_free, &a), CXM_OK);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  long failures = 0;
  for (int c = 0; c < 1500; c++) {
    char id[16];
    snprintf(id, sizeof id, "n%d", c);
    for (int i = 0; i < 2; i++) {
      int64_t t = T0 + (c % 50 + 3 * i) * DAY;
      double amt = 1 + (c * 7 + i * 3) % 13;
      for (long k = 1;; k++) {
        a.fail_at = a.calls + k;
        int rc = t_ev(ctx, t, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, amt, NAN);
        a.fail_at = 0;
        if (rc == CXM_OK) break;
        ck_assert_int_eq(rc, CXM_E_NOMEM);
        failures++;
        if (k > 3) { /* retry without failure */
          ck_assert_int_eq(t_ev(ctx, t, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, amt, NAN), CXM_OK);
          break;
        }
      }
      ck_assert_int_eq(t_ev(twin, t, CXM_EV_PURCHASE, id, CXM_NO_CHANNEL, amt, NAN), CXM_OK);
    }
  }
  ck_assert_int_gt(failures, 0);
  cxm_clv_model *m1 = fit_ok(ctx, T0 + 100 * DAY, CXM_CLV_DAYS, CXM_ALL);
  cxm_clv_model *m2 = fit_ok(twin, T0 + 100 * DAY, CXM_CLV_DAYS, CXM_ALL);
  size_t n = 1500;
  double *s1 = malloc(10 * n * sizeof *s1), *s2 = s1 + 5 * n;
  uint64_t *h1 = malloc(2 * n * sizeof *h1), *h2 = h1 + n;
  ck_assert_int_eq(cxm_clv_model_customers(m1, n, h1, s1, s1 + n, s1 + 2 * n, s1 + 3 * n, s1 + 4 * n), CXM_OK);
  ck_assert_int_eq(cxm_clv_model_customers(m2, n, h2, s2, s2 + n, s2 + 2 * n, s2 + 3 * n, s2 + 4 * n), CXM_OK);
  ck_assert_mem_eq(h1, h2, n * sizeof *h1);
  ck_assert_mem_eq(s1, s2, 5 * n * sizeof *s1);
  ck_assert_double_eq(mget(m1, CXM_CLV_LOGLIK), mget(m2, CXM_CLV_LOGLIK));
  free(s1);
  free(h1);
  cxm_clv_model_destroy(m1);
  cxm_clv_model_destroy(m2);
  cxm_ctx_destroy(twin);
  cxm_ctx_destroy(ctx);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("clv");
  TCase *tc = tcase_create("stats");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_stats_by_hand);
  tcase_add_test(tc, test_stats_period_option);
  tcase_add_test(tc, test_stats_random_late);
  suite_add_tcase(s, tc);
  tc = tcase_create("fit");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_cdnow_published);
  tcase_add_test(tc, test_predictions_reference);
  tcase_add_test(tc, test_recovery);
  tcase_add_test(tc, test_large_frequency);
  tcase_add_test(tc, test_unidentified);
  tcase_add_test(tc, test_penalty);
  tcase_add_test(tc, test_boundary_spend);
  tcase_add_test(tc, test_segments);
  tcase_add_test(tc, test_rfm);
  suite_add_tcase(s, tc);
  tc = tcase_create("state");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_snapshot_roundtrip);
  tcase_add_test(tc, test_merge_shards);
  tcase_add_test(tc, test_erase);
  suite_add_tcase(s, tc);
  tc = tcase_create("nomem");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_fit_nomem);
  tcase_add_test(tc, test_ingest_nomem);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
