/*
 * clvfit.c - fitting the predictive CLV models on the handle's statistics:
 * BG/NBD (Fader, Hardie & Lee 2005) on (x, t_x, T) grouped with weights,
 * Gamma-Gamma (Fader & Hardie 2013) on the mean repeat spend; maximum
 * likelihood in log space on log parameters, standard errors from the
 * observed information matrix.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "clv.h"

/* ---- model memory ------------------------------------------------------------ */

#define ARR(m, p, n) cxm__free((m)->ctx, (p), (size_t)(n) * sizeof *(p))

void cxm_clv_model_destroy(cxm_clv_model *m) {
  if (!m) return;
  ARR(m, m->hash, m->n);
  ARR(m, m->segset, m->n);
  ARR(m, m->group, m->n);
  ARR(m, m->spend, m->n);
  ARR(m, m->total, m->n);
  ARR(m, m->groups, m->ngroups);
  ARR(m, m->xs, m->nx);
  if (m->slots) cxm__free(m->ctx, m->slots, ((size_t)m->mask + 1) * sizeof *m->slots);
  cxm__free(m->ctx, m, sizeof *m);
}

/* ---- statistics -> customers and groups ---------------------------------------- */

static int in_segment(const cxm_ctx *ctx, uint32_t set, int32_t segment) {
  if (segment < 0) return 1;
  const cxm_segset *s = &ctx->segsets.sets[set];
  for (uint32_t i = 0; i < s->n; i++)
    if (s->seg[i] == segment) return 1;
  return 0;
}

typedef struct gkey_map {
  uint64_t *keys;   /* key + 1, 0 = empty */
  uint32_t *ids;
  uint32_t mask;
} gkey_map;

static uint32_t hmix(uint64_t k, uint32_t mask) {
  k ^= k >> 31;
  k *= UINT64_C(0x9E3779B97F4A7C15);
  return (uint32_t)(k >> 32) & mask;
}

/* Fills the model's customer arrays, groups and lookup index. */
static int collect(cxm_ctx *ctx, cxm_clv_model *m, int32_t segment) {
  const cxm_custtab *tab = &ctx->customers;
  uint32_t n = 0;
  int64_t newest = INT64_MIN;
  for (uint32_t i = 0; i < tab->count; i++) {
    const cxm_cust *r = &tab->recs[i];
    if (!(r->flags & CF_PURCHASE) || !in_segment(ctx, r->segset, segment)) continue;
    cxm_clvrec c;
    cxm__clv_read(ctx, i, &c);
    if (c.periods == 0) continue;
    n++;
    int64_t ld = cxm__day_of(ctx, r->last_purchase);
    if (ld > newest) newest = ld;
  }
  if (n == 0) return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "no customer with a purchase%s",
                                 segment >= 0 ? " in the segment" : "");
  if (newest > m->as_of_day)
    return cxm__seterr(ctx, CXM_E_RANGE,
                       "as_of: day %lld is before the newest purchase (day %lld); "
                       "ingest only purchases up to the as-of day",
                       (long long)m->as_of_day, (long long)newest);
  m->n = n;
  m->hash = cxm__malloc(ctx, (size_t)n * sizeof *m->hash);
  m->segset = cxm__malloc(ctx, (size_t)n * sizeof *m->segset);
  m->group = cxm__malloc(ctx, (size_t)n * sizeof *m->group);
  m->spend = cxm__malloc(ctx, (size_t)n * sizeof *m->spend);
  m->total = cxm__malloc(ctx, (size_t)n * sizeof *m->total);
  uint32_t ns = 2048;
  while (ns < 2ull * n) ns *= 2;
  gkey_map g = {NULL, NULL, 0};
  g.keys = cxm__calloc(ctx, (size_t)ns * sizeof *g.keys);
  g.ids = cxm__malloc(ctx, (size_t)ns * sizeof *g.ids);
  cxm_clvgroup *groups = cxm__malloc(ctx, (size_t)n * sizeof *groups);
  /* distinct x: x <= 65534 (periods saturate at 65535) */
  uint32_t *xidx = cxm__malloc(ctx, 65536 * sizeof *xidx);
  int rc = CXM_OK;
  if (!m->hash || !m->segset || !m->group || !m->spend || !m->total ||
      !g.keys || !g.ids || !groups || !xidx) {
    rc = cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the model's %u customers", n);
    goto out;
  }
  for (uint32_t i = 0; i < 65536; i++) xidx[i] = UINT32_MAX;
  g.mask = ns - 1;
  uint32_t k = 0, ng = 0, nx = 0, maxd = 0;
  for (uint32_t i = 0; i < tab->count; i++) {
    const cxm_cust *r = &tab->recs[i];
    if (!(r->flags & CF_PURCHASE) || !in_segment(ctx, r->segset, segment)) continue;
    cxm_clvrec c;
    cxm__clv_read(ctx, i, &c);
    if (c.periods == 0) continue;
    uint32_t x = c.periods - 1;
    int64_t fd = cxm__day_of(ctx, r->first_purchase);
    uint32_t txd = (uint32_t)(cxm__day_of(ctx, r->last_purchase) - fd);
    uint32_t Td = (uint32_t)(m->as_of_day - fd);
    if (Td > maxd) maxd = Td;
    m->hash[k] = r->hash;
    m->segset[k] = r->segset;
    m->spend[k] = x ? (double)c.repeat / ctx->money_scale / x : 0;
    m->total[k] = ((double)c.first + (double)c.repeat) / ctx->money_scale;
    uint64_t key = ((uint64_t)x << 40 | (uint64_t)txd << 20 | Td) + 1;
    uint32_t s = hmix(key, g.mask);
    while (g.keys[s] && g.keys[s] != key) s = (s + 1) & g.mask;
    if (!g.keys[s]) {
      g.keys[s] = key;
      g.ids[s] = ng;
      if (xidx[x] == UINT32_MAX) xidx[x] = nx++;
      groups[ng] = (cxm_clvgroup){x, txd, Td, xidx[x], 0};
      ng++;
    }
    groups[g.ids[s]].w += 1;
    m->group[k] = g.ids[s];
    k++;
  }
  m->groups = cxm__malloc(ctx, (size_t)ng * sizeof *m->groups);
  m->xs = cxm__malloc(ctx, (size_t)nx * sizeof *m->xs);
  if (!m->groups || !m->xs) {
    rc = cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the model's %u groups", ng);
    goto out;
  }
  memcpy(m->groups, groups, (size_t)ng * sizeof *groups);
  m->ngroups = ng;
  for (uint32_t x = 0; x < 65536; x++)
    if (xidx[x] != UINT32_MAX) m->xs[xidx[x]] = x;
  m->nx = nx;
  m->maxd = maxd;
out:
  if (g.keys) cxm__free(ctx, g.keys, (size_t)ns * sizeof *g.keys);
  if (g.ids) cxm__free(ctx, g.ids, (size_t)ns * sizeof *g.ids);
  if (groups) cxm__free(ctx, groups, (size_t)n * sizeof *groups);
  if (xidx) cxm__free(ctx, xidx, 65536 * sizeof *xidx);
  return rc;
}

/* ---- BG/NBD likelihood ------------------------------------------------------------ */

typedef struct bgwork {
  const cxm_clv_model *m;
  uint32_t stride;             /* every stride-th group (a subsample when > 1) */
  double *xw;                  /* its customers per distinct x */
  double *lbx, *ibx;           /* per distinct x: ln(b+x-1), 1/(b+x-1) */
  double *lt, *it;             /* per day d: ln(alpha+d/u), 1/(alpha+d/u) */
} bgwork;

/* Log-likelihood of the BG/NBD at th = (r, alpha, a, b) and its gradient in
   th (g may be NULL). Per customer:
     ll = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
          + ln( (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ).
   The terms in x alone are summed per distinct x, the last per group. */
static double bg_ll(bgwork *w, const double th[4], double g[4]) {
  const cxm_clv_model *m = w->m;
  double r = th[0], al = th[1], a = th[2], b = th[3];
  double u = m->unit_days;
  double lgr = lgamma(r), lgb = lgamma(b), lgab = lgamma(a + b);
  double dr = 0, dab = 0, db = 0;
  if (g) {
    dr = cxm__digamma(r);
    dab = cxm__digamma(a + b);
    db = cxm__digamma(b);
  }
  double ll = 0, gr = 0, gal = 0, ga = 0, gb = 0, wsum = 0;
  for (uint32_t i = 0; i < m->nx; i++) {
    double x = m->xs[i], wx = w->xw[i];
    wsum += wx;
    ll += wx * (lgamma(r + x) - lgr + lgab + lgamma(b + x) - lgb - lgamma(a + b + x));
    w->lbx[i] = x > 0 ? log(b + x - 1) : 0;
    w->ibx[i] = x > 0 ? 1 / (b + x - 1) : 0;
    if (g) {
      double dabx = cxm__digamma(a + b + x);
      gr += wx * (cxm__digamma(r + x) - dr);
      ga += wx * (dab - dabx);
      gb += wx * (dab + cxm__digamma(b + x) - db - dabx);
    }
  }
  for (uint32_t d = 0; d <= m->maxd; d++) {
    w->lt[d] = log(al + d / u);
    w->it[d] = 1 / (al + d / u);
  }
  double la = log(a), lal = log(al);
  for (uint32_t k = 0; k < m->ngroups; k += w->stride) {
    const cxm_clvgroup *gp = &m->groups[k];
    double rx = r + gp->x;
    double l1 = -rx * w->lt[gp->Td];
    double lse, p2 = 0;
    if (gp->x > 0) {
      double l2 = la - w->lbx[gp->xi] - rx * w->lt[gp->txd];
      double hi = l1 > l2 ? l1 : l2, lo = l1 > l2 ? l2 : l1;
      double e = exp(lo - hi);
      lse = hi + log1p(e);
      p2 = l2 >= l1 ? 1 / (1 + e) : e / (1 + e); /* weight of the second term */
    } else {
      lse = l1;
    }
    ll += gp->w * lse;
    if (g) {
      double p1 = 1 - p2;
      gr -= gp->w * (p1 * w->lt[gp->Td] + p2 * w->lt[gp->txd]);
      gal -= gp->w * rx * (p1 * w->it[gp->Td] + p2 * w->it[gp->txd]);
      ga += gp->w * p2 / a;
      gb -= gp->w * p2 * w->ibx[gp->xi];
    }
  }
  ll += wsum * r * lal;
  if (g) {
    g[0] = gr + wsum * lal;
    g[1] = gal + wsum * r / al;
    g[2] = ga;
    g[3] = gb;
  }
  return ll;
}

/* ---- Gamma-Gamma likelihood ----------------------------------------------------------- */

typedef struct ggwork {
  uint32_t n;            /* customers with x > 0 and a positive mean spend */
  double *x, *mv;        /* their x and mean repeat spend */
  uint32_t *xi;          /* their x's index among the model's distinct x */
  uint32_t stride;       /* every stride-th of them (a subsample when > 1) */
  double N;              /* customers taken */
  uint32_t nx;
  double *dx, *cx;       /* distinct x taken and their counts */
  double s_xlogm, s_logm, s_xlogx;
} ggwork;

/* The sums over the customers taken; dx and cx have room for the model's
   distinct x values. */
static void gg_sums(ggwork *w, const cxm_clv_model *m) {
  for (uint32_t i = 0; i < m->nx; i++) w->cx[i] = 0;
  w->N = w->s_xlogm = w->s_logm = w->s_xlogx = 0;
  for (uint32_t k = 0; k < w->n; k += w->stride) {
    double x = w->x[k], lm = log(w->mv[k]);
    w->cx[w->xi[k]] += 1;
    w->N += 1;
    w->s_xlogm += x * lm;
    w->s_logm += lm;
    w->s_xlogx += x * log(x);
  }
  w->nx = 0;
  for (uint32_t i = 0; i < m->nx; i++)
    if (w->cx[i] > 0) {
      w->dx[w->nx] = m->xs[i];
      w->cx[w->nx] = w->cx[i];
      w->nx++;
    }
}

/* Per customer (x repeat periods of mean spend m):
     ll = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m + px ln x
          - (px+q) ln(x m + v). */
static double gg_ll(ggwork *w, const double th[3], double g[3]) {
  double p = th[0], q = th[1], v = th[2];
  double lv = log(v), lgq = lgamma(q), dq = g ? cxm__digamma(q) : 0;
  double ll = 0, gp = 0, gq = 0, N = w->N;
  for (uint32_t i = 0; i < w->nx; i++) {
    double x = w->dx[i], c = w->cx[i];
    ll += c * (lgamma(p * x + q) - lgamma(p * x) - lgq);
    if (g) {
      double d = cxm__digamma(p * x + q);
      gp += c * x * (d - cxm__digamma(p * x));
      gq += c * (d - dq);
    }
  }
  ll += N * q * lv + p * w->s_xlogm - w->s_logm + p * w->s_xlogx;
  double sL = 0, sxL = 0, sI = 0;
  for (uint32_t k = 0; k < w->n; k += w->stride) {
    double x = w->x[k], den = x * w->mv[k] + v, L = log(den);
    ll -= (p * x + q) * L;
    if (g) {
      sL += L;
      sxL += x * L;
      sI += (p * x + q) / den;
    }
  }
  if (g) {
    g[0] = gp + w->s_xlogm + w->s_xlogx - sxL;
    g[1] = gq + N * lv - sL;
    g[2] = N * q / v - sI;
  }
  return ll;
}

/* ---- the objective on log parameters --------------------------------------------------- */

typedef struct objctx {
  int n;           /* 4 = BG/NBD, 3 = Gamma-Gamma */
  bgwork *bg;
  ggwork *gg;
  double penalty;
} objctx;

static double loglik(objctx *o, const double *th, double *g) {
  return o->n == 4 ? bg_ll(o->bg, th, g) : gg_ll(o->gg, th, g);
}

/* -(log-likelihood) + penalty * sum(th^2) at th = exp(y); gradient in y. */
static double objective(void *user, const double *y, double *g) {
  objctx *o = (objctx *)user;
  double th[4], gt[4];
  for (int i = 0; i < o->n; i++) {
    if (!(fabs(y[i]) < 40)) return INFINITY;
    th[i] = exp(y[i]);
  }
  double f = -loglik(o, th, g ? gt : NULL);
  for (int i = 0; i < o->n; i++) f += o->penalty * th[i] * th[i];
  if (!isfinite(f)) return INFINITY;
  if (g)
    for (int i = 0; i < o->n; i++) g[i] = th[i] * (-gt[i] + 2 * o->penalty * th[i]);
  return f;
}

/* Standard errors: the observed information (minus the Hessian of the
   log-likelihood, by central differences of the analytic gradient) inverted.
   NaN when it is not positive definite. */
static void std_errors(objctx *o, const double *th, double *se) {
  int n = o->n;
  double H[16], gp[4], gm[4], t[4];
  for (int j = 0; j < n; j++) {
    double h = 1e-5 * th[j];
    memcpy(t, th, (size_t)n * sizeof *t);
    t[j] = th[j] + h;
    loglik(o, t, gp);
    t[j] = th[j] - h;
    loglik(o, t, gm);
    for (int i = 0; i < n; i++) H[i * n + j] = -(gp[i] - gm[i]) / (2 * h);
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++) H[i * n + j] = H[j * n + i] = 0.5 * (H[i * n + j] + H[j * n + i]);
  for (int i = 0; i < n; i++) se[i] = NAN;
  if (cxm__invert(H, n) != 0) return;
  for (int i = 0; i < n; i++) se[i] = H[i * n + i] > 0 ? sqrt(H[i * n + i]) : NAN;
}

/* Large fits start on a subsample: every SUB_STRIDE-th group (or customer)
   when there are more than SUB_MIN of them. Its optimum is close to the
   full one, and BFGS then needs a few full evaluations instead of ~30. */
#define SUB_MIN 40000u
#define SUB_TARGET 8192u

static uint32_t sub_stride(uint32_t n) {
  return n > SUB_MIN ? n / SUB_TARGET : 1;
}

static int fit_bg(cxm_ctx *ctx, cxm_clv_model *m) {
  bgwork w, ws;
  memset(&w, 0, sizeof w);
  w.m = m;
  w.stride = 1;
  size_t nx = m->nx, nd = (size_t)m->maxd + 1;
  w.xw = cxm__calloc(ctx, nx * sizeof(double));
  w.lbx = cxm__malloc(ctx, nx * sizeof(double));
  w.ibx = cxm__malloc(ctx, nx * sizeof(double));
  w.lt = cxm__malloc(ctx, nd * sizeof(double));
  w.it = cxm__malloc(ctx, nd * sizeof(double));
  ws = w;
  ws.stride = sub_stride(m->ngroups);
  ws.xw = ws.stride > 1 ? cxm__calloc(ctx, nx * sizeof(double)) : NULL;
  int rc = CXM_OK;
  if (!w.xw || !w.lbx || !w.ibx || !w.lt || !w.it || (ws.stride > 1 && !ws.xw)) {
    rc = cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the BG/NBD fit");
    goto out;
  }
  double meanT = 0, wsub = 0;
  for (uint32_t k = 0; k < m->ngroups; k++) {
    w.xw[m->groups[k].xi] += m->groups[k].w;
    meanT += m->groups[k].w * m->groups[k].Td / m->unit_days;
    if (ws.stride > 1 && k % ws.stride == 0) {
      ws.xw[m->groups[k].xi] += m->groups[k].w;
      wsub += m->groups[k].w;
    }
  }
  meanT /= m->n;
  objctx o = {4, &w, NULL, m->penalty};
  /* Start: one purchase per mean age, short lifetimes unlikely. */
  double y[4] = {0, log(fmax(meanT, 1e-3)), 0, 0};
  double H[16], *Hp = NULL;
  int iter = 0;
  if (ws.stride > 1) {
    double ratio = wsub / m->n;
    objctx os = {4, &ws, NULL, m->penalty * ratio};
    for (int i = 0; i < 16; i++) H[i] = i % 5 == 0 ? 1.0 / wsub : 0;
    cxm_optres rs = cxm__minimize(objective, &os, 4, y, 1e-7, wsub, H);
    iter = rs.iterations;
    /* the full objective is about 1/ratio times the subsample's */
    for (int i = 0; i < 16; i++) H[i] *= ratio;
    Hp = H;
  }
  cxm_optres res = cxm__minimize(objective, &o, 4, y, 1e-7, m->n, Hp);
  for (int i = 0; i < 4; i++) m->bg[i] = exp(y[i]);
  m->bg_ll = bg_ll(&w, m->bg, NULL);
  m->bg_converged = res.converged;
  m->bg_iter = iter + res.iterations;
  std_errors(&o, m->bg, m->bg_se);
out:
  if (ws.stride > 1 && ws.xw) cxm__free(ctx, ws.xw, nx * sizeof(double));
  if (w.xw) cxm__free(ctx, w.xw, nx * sizeof(double));
  if (w.lbx) cxm__free(ctx, w.lbx, nx * sizeof(double));
  if (w.ibx) cxm__free(ctx, w.ibx, nx * sizeof(double));
  if (w.lt) cxm__free(ctx, w.lt, nd * sizeof(double));
  if (w.it) cxm__free(ctx, w.it, nd * sizeof(double));
  return rc;
}

static int fit_gg(cxm_ctx *ctx, cxm_clv_model *m) {
  ggwork w, ws;
  memset(&w, 0, sizeof w);
  memset(&ws, 0, sizeof ws);
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->n; k++) {
    uint32_t x = m->groups[m->group[k]].x;
    if (x > 0 && m->spend[k] > 0) n++;
    if (x > 0 && !(m->spend[k] > 0)) m->gg_zero++;
  }
  m->gg_n = n;
  for (int i = 0; i < 3; i++) m->gg[i] = m->gg_se[i] = NAN;
  m->gg_ll = NAN;
  if (n < 2) return CXM_OK; /* not identified: no spend model (docs/clv.md) */
  size_t nx = m->nx;
  w.n = n;
  w.stride = 1;
  w.x = cxm__malloc(ctx, n * sizeof(double));
  w.mv = cxm__malloc(ctx, n * sizeof(double));
  w.xi = cxm__malloc(ctx, n * sizeof(uint32_t));
  w.dx = cxm__malloc(ctx, nx * sizeof(double));
  w.cx = cxm__malloc(ctx, nx * sizeof(double));
  ws = w;
  ws.stride = sub_stride(n);
  if (ws.stride > 1) {
    ws.dx = cxm__malloc(ctx, nx * sizeof(double));
    ws.cx = cxm__malloc(ctx, nx * sizeof(double));
  }
  int rc = CXM_OK;
  if (!w.x || !w.mv || !w.xi || !w.dx || !w.cx || !ws.dx || !ws.cx) {
    rc = cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the Gamma-Gamma fit");
    goto out;
  }
  double meanm = 0;
  uint32_t j = 0;
  for (uint32_t k = 0; k < m->n; k++) {
    const cxm_clvgroup *g = &m->groups[m->group[k]];
    if (!(g->x > 0 && m->spend[k] > 0)) continue;
    w.x[j] = g->x;
    w.mv[j] = m->spend[k];
    w.xi[j] = g->xi;
    meanm += m->spend[k];
    j++;
  }
  meanm /= n;
  gg_sums(&w, m);
  objctx o = {3, NULL, &w, m->penalty};
  /* Start: shape 1 per transaction, E(M) = p v / (q - 1) near the mean. */
  double y[3] = {0, log(3.0), log(fmax(2 * meanm, 1e-9))};
  double H[9], *Hp = NULL;
  int iter = 0;
  if (ws.stride > 1) {
    gg_sums(&ws, m);
    double ratio = ws.N / w.N;
    objctx os = {3, NULL, &ws, m->penalty * ratio};
    for (int i = 0; i < 9; i++) H[i] = i % 4 == 0 ? 1.0 / ws.N : 0;
    cxm_optres rs = cxm__minimize(objective, &os, 3, y, 1e-7, ws.N, H);
    iter = rs.iterations;
    for (int i = 0; i < 9; i++) H[i] *= ratio;
    Hp = H;
  }
  cxm_optres res = cxm__minimize(objective, &o, 3, y, 1e-7, n, Hp);
  for (int i = 0; i < 3; i++) m->gg[i] = exp(y[i]);
  m->gg_ll = gg_ll(&w, m->gg, NULL);
  m->gg_converged = res.converged;
  m->gg_iter = iter + res.iterations;
  m->gg_fitted = 1;
  std_errors(&o, m->gg, m->gg_se);
out:
  if (ws.stride > 1) {
    if (ws.dx) cxm__free(ctx, ws.dx, nx * sizeof(double));
    if (ws.cx) cxm__free(ctx, ws.cx, nx * sizeof(double));
  }
  if (w.x) cxm__free(ctx, w.x, n * sizeof(double));
  if (w.mv) cxm__free(ctx, w.mv, n * sizeof(double));
  if (w.xi) cxm__free(ctx, w.xi, n * sizeof(uint32_t));
  if (w.dx) cxm__free(ctx, w.dx, nx * sizeof(double));
  if (w.cx) cxm__free(ctx, w.cx, nx * sizeof(double));
  return rc;
}

/* ---- public -------------------------------------------------------------------------- */

int cxm_clv_fit(cxm_ctx *ctx, int64_t as_of, int32_t unit, int32_t segment,
                double l2_penalty, cxm_clv_model **out) {
  if (!ctx) return CXM_E_NULL;
  if (!out) return cxm__seterr(ctx, CXM_E_NULL, "out: NULL");
  if (unit != CXM_CLV_DAYS && unit != CXM_CLV_WEEKS)
    return cxm__seterr(ctx, CXM_E_ARG, "unit: %d is neither CXM_CLV_DAYS nor CXM_CLV_WEEKS",
                       (int)unit);
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  if (!(l2_penalty >= 0 && l2_penalty < 1e300))
    return cxm__seterr(ctx, CXM_E_RANGE, "l2_penalty: must be finite and >= 0");
  if (!(ctx->opt[CXM_OPT_MODULES] & CXM_MOD_CLV))
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "the CLV module is off (CXM_OPT_MODULES without CXM_MOD_CLV)");
  if (ctx->n_accepted == 0)
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "no customer with a purchase");
  if (as_of == CXM_TIME_MAX) as_of = ctx->last_time;
  if (as_of < CXM_TIME_FIRST || as_of > CXM_TIME_LAST)
    return cxm__seterr(ctx, CXM_E_RANGE, "as_of: %lld is outside 1970-01-01..2105-12-31",
                       (long long)as_of);
  cxm_clv_model *m = cxm__calloc(ctx, sizeof *m);
  if (!m) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the model");
  m->ctx = ctx;
  m->unit = unit;
  m->unit_days = unit == CXM_CLV_WEEKS ? 7 : 1;
  m->as_of_day = cxm__day_of(ctx, as_of);
  m->penalty = l2_penalty;
  int rc = collect(ctx, m, segment);
  if (rc == CXM_OK) {
    int repeat = 0;
    for (uint32_t k = 0; k < m->ngroups; k++) repeat |= m->groups[k].x > 0;
    if (m->n < 2)
      rc = cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "BG/NBD needs at least 2 customers with a purchase, got %u", m->n);
    else if (!repeat)
      rc = cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "no repeat purchase among %u customers: BG/NBD is not identified",
                       m->n);
  }
  if (rc == CXM_OK) rc = fit_bg(ctx, m);
  if (rc == CXM_OK) rc = fit_gg(ctx, m);
  if (rc != CXM_OK) {
    cxm_clv_model_destroy(m);
    return rc;
  }
  *out = m;
  return CXM_OK;
}

int cxm_clv_model_get(const cxm_clv_model *m, int32_t what, double *value) {
  if (!m) return CXM_E_NULL;
  if (!value) return cxm__seterr(m->ctx, CXM_E_NULL, "value: NULL");
  double v;
  if (what >= CXM_CLV_R && what <= CXM_CLV_B) v = m->bg[what - CXM_CLV_R];
  else if (what >= CXM_CLV_P && what <= CXM_CLV_V) v = m->gg[what - CXM_CLV_P];
  else if (what >= CXM_CLV_SE_R && what <= CXM_CLV_SE_B) v = m->bg_se[what - CXM_CLV_SE_R];
  else if (what >= CXM_CLV_SE_P && what <= CXM_CLV_SE_V) v = m->gg_se[what - CXM_CLV_SE_P];
  else switch (what) {
    case CXM_CLV_LOGLIK: v = m->bg_ll; break;
    case CXM_CLV_CONVERGED: v = m->bg_converged; break;
    case CXM_CLV_ITERATIONS: v = m->bg_iter; break;
    case CXM_CLV_GG_LOGLIK: v = m->gg_ll; break;
    case CXM_CLV_GG_CONVERGED: v = m->gg_converged; break;
    case CXM_CLV_GG_CUSTOMERS: v = m->gg_n; break;
    case CXM_CLV_GG_ZERO_SPEND: v = m->gg_zero; break;
    case CXM_CLV_CUSTOMERS: v = m->n; break;
    case CXM_CLV_GROUPS: v = m->ngroups; break;
    case CXM_CLV_AS_OF_DAY: v = (double)m->as_of_day; break;
    case CXM_CLV_UNIT_DAYS: v = m->unit_days; break;
    default:
      return cxm__seterr(m->ctx, CXM_E_ARG, "what: unknown model value %d", (int)what);
  }
  *value = v;
  return CXM_OK;
}

/* The lookup index is built on the first lookup, not by the fit: most
   uses read the customers in order. */
int cxm__clv_find(const cxm_clv_model *cm, uint64_t hash, int64_t *out) {
  cxm_clv_model *m = (cxm_clv_model *)cm;
  if (!m->slots) {
    uint32_t ns = 2048;
    while (ns < 2ull * m->n) ns *= 2;
    m->slots = cxm__calloc(m->ctx, (size_t)ns * sizeof *m->slots);
    if (!m->slots) return cxm__seterr(m->ctx, CXM_E_NOMEM, "no memory for the customer index");
    m->mask = ns - 1;
    for (uint32_t k = 0; k < m->n; k++) {
      uint32_t h = hmix(m->hash[k], m->mask);
      while (m->slots[h]) h = (h + 1) & m->mask;
      m->slots[h] = k + 1;
    }
  }
  uint32_t h = hmix(hash, m->mask);
  for (;;) {
    uint32_t sl = m->slots[h];
    if (!sl) break;
    if (m->hash[sl - 1] == hash) {
      *out = sl - 1;
      return CXM_OK;
    }
    h = (h + 1) & m->mask;
  }
  *out = -1;
  return CXM_OK;
}
