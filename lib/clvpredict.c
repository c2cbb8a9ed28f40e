/*
 * clvpredict.c - what a fitted CLV model predicts: P(alive), expected
 * purchases in a horizon (BG/NBD), expected spend per purchase
 * (Gamma-Gamma), discounted CLV; per customer, for all, per segment.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "clv.h"

/* ln of the odds that the customer has dropped out:
   [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x). */
double cxm__bg_log_odds_dead(const cxm_clv_model *m, double x, double tx, double T) {
  if (x <= 0) return -INFINITY;
  double r = m->bg[0], al = m->bg[1], a = m->bg[2], b = m->bg[3];
  return log(a) - log(b + x - 1) + (r + x) * (log(al + T) - log(al + tx));
}

double cxm__bg_p_alive(const cxm_clv_model *m, double x, double tx, double T) {
  double lo = cxm__bg_log_odds_dead(m, x, tx, T);
  return lo > 0 ? exp(-lo) / (1 + exp(-lo)) : 1 / (1 + exp(lo));
}

/* E[Y(t) | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10):
     (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x; a+b+x-1; z)] P(alive),   z = t / (alpha+T+t).
   Euler's transformation turns (1-z)^(r+x) 2F1(r+x, b+x; c; z) into
   (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z). The series needs about
   |upper1 x upper2 / c| z terms before they shrink: large x favours the
   transformed form, large a and b the plain one; the cheaper one is used
   (both are summed in log scale, so neither overflows). */
static double expected_raw(double r, double al, double a, double b, double x, double T,
                           double t) {
  double z = t / (al + T + t);
  double c = a + b + x - 1, l1z = log1p(-z);
  double g_plain = fabs((r + x) * (b + x) / c);
  double g_euler = fabs((a + b - 1 - r) * (a - 1) / c);
  double sign, lf, lp;
  if (g_euler <= g_plain) {
    lf = cxm__hyp2f1_log(a + b - 1 - r, a - 1, c, z, &sign);
    lp = (a - 1) * l1z;
  } else {
    lf = cxm__hyp2f1_log(r + x, b + x, c, z, &sign);
    lp = (r + x) * l1z;
  }
  /* 1 - sign e^(lf + lp), without cancellation when the product is near 1 */
  double u = lf + lp;
  double one_minus = sign > 0 ? -expm1(u) : 1 + exp(u);
  return c / (a - 1) * one_minus;
}

double cxm__bg_expected(const cxm_clv_model *m, double x, double tx, double T, double t) {
  if (t <= 0) return 0;
  double r = m->bg[0], al = m->bg[1], a = m->bg[2], b = m->bg[3];
  double e;
  if (fabs(a - 1) < 1e-6) /* removable singularity at a = 1 */
    e = 0.5 * (expected_raw(r, al, 1 + 1e-5, b, x, T, t) +
               expected_raw(r, al, 1 - 1e-5, b, x, T, t));
  else
    e = expected_raw(r, al, a, b, x, T, t);
  return e * cxm__bg_p_alive(m, x, tx, T);
}

/* Gamma-Gamma: E(M | x, mean) = (p v + p x mean) / (p x + q - 1); for x = 0
   the population mean p v / (q - 1). */
double cxm__gg_spend(const cxm_clv_model *m, double x, double mean) {
  if (!m->gg_fitted) return NAN;
  double p = m->gg[0], q = m->gg[1], v = m->gg[2];
  double den = p * x + q - 1;
  if (!(den > 0)) return NAN;
  return (p * v + p * x * mean) / den;
}

/* Expected purchases in the horizon and their discounted sum (unit steps,
   the last one partial). */
static void horizon_sums(const cxm_clv_model *m, double x, double tx, double T, double H,
                         double d, double *e, double *disc) {
  double eh = cxm__bg_expected(m, x, tx, T, H);
  *e = eh;
  if (d == 0) {
    *disc = eh;
    return;
  }
  double sum = 0, prev = 0;
  double steps = ceil(H);
  for (double k = 1; k <= steps; k++) {
    double tk = k < H ? k : H;
    double ek = k < H ? cxm__bg_expected(m, x, tx, T, tk) : eh;
    sum += (ek - prev) / pow(1 + d, tk);
    prev = ek;
  }
  *disc = sum;
}

static int check_hd(const cxm_clv_model *m, double H, double d) {
  if (!(H >= 0 && H <= 1e6))
    return cxm__seterr(m->ctx, CXM_E_RANGE, "horizon: must be 0..1e6 units, got %g", H);
  if (!(d >= 0 && d <= 1e6))
    return cxm__seterr(m->ctx, CXM_E_RANGE, "discount: must be 0..1e6, got %g", d);
  return CXM_OK;
}

static void group_xtT(const cxm_clv_model *m, uint32_t gi, double *x, double *tx, double *T) {
  const cxm_clvgroup *g = &m->groups[gi];
  *x = g->x;
  *tx = g->txd / m->unit_days;
  *T = g->Td / m->unit_days;
}

int cxm_clv_customer(const cxm_clv_model *m, const void *id, size_t len, double horizon,
                     double discount, double *p_alive, double *expected, double *spend,
                     double *clv) {
  if (!m) return CXM_E_NULL;
  cxm_ctx *ctx = m->ctx;
  if (!id && len) return cxm__seterr(ctx, CXM_E_NULL, "id: NULL");
  if (len == 0) return cxm__seterr(ctx, CXM_E_MISSING, "id: empty customer id");
  int rc = check_hd(m, horizon, discount);
  if (rc) return rc;
  /* A handle loaded without its key cannot hash ids (it would find nobody). */
  if (ctx->key_missing) return cxm__need_key(ctx, "customer lookup");
  int64_t k;
  rc = cxm__clv_find(m, cxm__siphash13(ctx->key, id, len), &k);
  if (rc) return rc;
  if (k < 0) return cxm__seterr(ctx, CXM_E_NOTFOUND, "id: the customer is not in the model");
  double x, tx, T, e, disc;
  group_xtT(m, m->group[k], &x, &tx, &T);
  horizon_sums(m, x, tx, T, horizon, discount, &e, &disc);
  double s = cxm__gg_spend(m, x, m->spend[k]);
  if (p_alive) *p_alive = cxm__bg_p_alive(m, x, tx, T);
  if (expected) *expected = e;
  if (spend) *spend = s;
  if (clv) *clv = s * disc;
  return CXM_OK;
}

int cxm_clv_model_customers(const cxm_clv_model *m, size_t n, uint64_t *hash, double *x,
                            double *t_x, double *age, double *mean_spend, double *total) {
  if (!m) return CXM_E_NULL;
  if (n < m->n)
    return cxm__seterr(m->ctx, CXM_E_ARG, "n: the model has %u customers, arrays hold %zu",
                       m->n, n);
  for (uint32_t k = 0; k < m->n; k++) {
    double gx, gtx, gT;
    group_xtT(m, m->group[k], &gx, &gtx, &gT);
    if (hash) hash[k] = m->hash[k];
    if (x) x[k] = gx;
    if (t_x) t_x[k] = gtx;
    if (age) age[k] = gT;
    if (mean_spend) mean_spend[k] = m->spend[k];
    if (total) total[k] = m->total[k];
  }
  return CXM_OK;
}

/* Per group: P(alive), expected purchases and their discounted sum. */
static double *group_predictions(const cxm_clv_model *m, double H, double d) {
  double *gp = cxm__malloc(m->ctx, (size_t)m->ngroups * 3 * sizeof *gp);
  if (!gp) return NULL;
  for (uint32_t g = 0; g < m->ngroups; g++) {
    double x, tx, T;
    group_xtT(m, g, &x, &tx, &T);
    gp[3 * g] = cxm__bg_p_alive(m, x, tx, T);
    horizon_sums(m, x, tx, T, H, d, &gp[3 * g + 1], &gp[3 * g + 2]);
  }
  return gp;
}

int cxm_clv_predict(const cxm_clv_model *m, double horizon, double discount, size_t n,
                    double *p_alive, double *expected, double *spend, double *clv) {
  if (!m) return CXM_E_NULL;
  if (n < m->n)
    return cxm__seterr(m->ctx, CXM_E_ARG, "n: the model has %u customers, arrays hold %zu",
                       m->n, n);
  int rc = check_hd(m, horizon, discount);
  if (rc) return rc;
  double *gp = group_predictions(m, horizon, discount);
  if (!gp) return cxm__seterr(m->ctx, CXM_E_NOMEM, "no memory for %u groups", m->ngroups);
  for (uint32_t k = 0; k < m->n; k++) {
    uint32_t g = m->group[k];
    double s = cxm__gg_spend(m, m->groups[g].x, m->spend[k]);
    if (p_alive) p_alive[k] = gp[3 * g];
    if (expected) expected[k] = gp[3 * g + 1];
    if (spend) spend[k] = s;
    if (clv) clv[k] = s * gp[3 * g + 2];
  }
  cxm__free(m->ctx, gp, (size_t)m->ngroups * 3 * sizeof *gp);
  return CXM_OK;
}

int cxm_clv_segment(const cxm_clv_model *m, int32_t segment, double horizon, double discount,
                    int64_t *customers, double *p_alive_mean, double *expected, double *clv) {
  if (!m) return CXM_E_NULL;
  const cxm_ctx *ctx = m->ctx;
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(m->ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  int rc = check_hd(m, horizon, discount);
  if (rc) return rc;
  double *gp = group_predictions(m, horizon, discount);
  if (!gp) return cxm__seterr(m->ctx, CXM_E_NOMEM, "no memory for %u groups", m->ngroups);
  int64_t cnt = 0;
  double pa = 0, e = 0, c = 0;
  for (uint32_t k = 0; k < m->n; k++) {
    if (segment != CXM_ALL) {
      const cxm_segset *s = &ctx->segsets.sets[m->segset[k]];
      uint32_t i;
      for (i = 0; i < s->n && s->seg[i] != segment; i++) {
      }
      if (i == s->n) continue;
    }
    uint32_t g = m->group[k];
    cnt++;
    pa += gp[3 * g];
    e += gp[3 * g + 1];
    c += cxm__gg_spend(m, m->groups[g].x, m->spend[k]) * gp[3 * g + 2];
  }
  cxm__free(m->ctx, gp, (size_t)m->ngroups * 3 * sizeof *gp);
  if (customers) *customers = cnt;
  if (p_alive_mean) *p_alive_mean = cnt ? pa / cnt : NAN;
  if (expected) *expected = e;
  if (clv) *clv = c;
  return CXM_OK;
}
