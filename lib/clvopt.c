/*
 * clvopt.c - the numerics of the CLV models: an unconstrained minimiser
 * (BFGS, with Nelder-Mead restarts when it stalls), matrix inversion for the
 * standard errors, digamma and the Gauss hypergeometric series.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "clv.h"

#define NMAX 8

double cxm__digamma(double x) {
  if (!(x > 0)) return NAN;
  double r = 0;
  /* The asymptotic series is accurate to double precision from x = 6 on. */
  while (x < 6) {
    r -= 1 / x;
    x += 1;
  }
  double f = 1 / (x * x);
  return r + log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

double cxm__hyp2f1_log(double a, double b, double c, double z, double *sign) {
  *sign = 1;
  if (!(z >= 0 && z < 1)) return NAN;
  /* Terms kept as (log |t|, sign) and summed relative to the largest so
     far, so that series whose terms grow for a while before they shrink
     (large parameters) do not overflow. */
  double lt = 0, st = 1, scale = 0, S = 1, lz = log(z);
  if (z == 0) return 0;
  for (int k = 0; k < 1000000; k++) {
    double f1 = a + k, f2 = b + k, den = (c + k) * (k + 1);
    if (den == 0) return NAN;
    if (f1 == 0 || f2 == 0) break; /* a polynomial: the series ends */
    lt += log(fabs(f1)) + log(fabs(f2)) - log(fabs(den)) + lz;
    st *= (f1 < 0) != (f2 < 0) ? -1 : 1;
    if (den < 0) st = -st;
    if (lt > scale) {
      S *= exp(scale - lt);
      scale = lt;
    }
    double t = st * exp(lt - scale);
    S += t;
    if (!isfinite(S)) return NAN;
    if (fabs(t) <= 1e-17 * fabs(S) && (double)k > a + b - c) break;
    if (k == 999999) return NAN;
  }
  *sign = S < 0 ? -1 : 1;
  return log(fabs(S)) + scale;
}

int cxm__invert(double *m, int n) {
  double a[NMAX][2 * NMAX];
  if (n > NMAX) return -1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < 2 * n; j++)
      a[i][j] = j < n ? m[i * n + j] : (j - n == i ? 1.0 : 0.0);
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int i = c + 1; i < n; i++)
      if (fabs(a[i][c]) > fabs(a[p][c])) p = i;
    if (!(fabs(a[p][c]) > 1e-300)) return -1;
    if (p != c)
      for (int j = 0; j < 2 * n; j++) {
        double t = a[p][j];
        a[p][j] = a[c][j];
        a[c][j] = t;
      }
    double d = a[c][c];
    for (int j = 0; j < 2 * n; j++) a[c][j] /= d;
    for (int i = 0; i < n; i++) {
      if (i == c || a[i][c] == 0) continue;
      double f = a[i][c];
      for (int j = 0; j < 2 * n; j++) a[i][j] -= f * a[c][j];
    }
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) m[i * n + j] = a[i][n + j];
  return 0;
}

/* Nelder-Mead on f alone; keeps the best point in y. */
static double nelder_mead(cxm_objfn f, void *user, int n, double *y, int max_eval) {
  double s[NMAX + 1][NMAX], fs[NMAX + 1];
  for (int i = 0; i <= n; i++) {
    memcpy(s[i], y, (size_t)n * sizeof *y);
    if (i > 0) s[i][i - 1] += 0.5;
    fs[i] = f(user, s[i], NULL);
    if (!isfinite(fs[i])) fs[i] = INFINITY;
  }
  int evals = n + 1;
  while (evals < max_eval) {
    /* order: best first */
    for (int i = 1; i <= n; i++)
      for (int j = i; j > 0 && fs[j] < fs[j - 1]; j--) {
        double t = fs[j];
        fs[j] = fs[j - 1];
        fs[j - 1] = t;
        double tmp[NMAX];
        memcpy(tmp, s[j], sizeof tmp);
        memcpy(s[j], s[j - 1], sizeof tmp);
        memcpy(s[j - 1], tmp, sizeof tmp);
      }
    if (fabs(fs[n] - fs[0]) <= 1e-12 * (fabs(fs[0]) + 1e-12)) break;
    double c[NMAX] = {0}, xr[NMAX], xe[NMAX], xc[NMAX];
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) c[j] += s[i][j] / n;
    for (int j = 0; j < n; j++) xr[j] = c[j] + (c[j] - s[n][j]);
    double fr = f(user, xr, NULL);
    evals++;
    if (!isfinite(fr)) fr = INFINITY;
    if (fr < fs[0]) {
      for (int j = 0; j < n; j++) xe[j] = c[j] + 2 * (c[j] - s[n][j]);
      double fe = f(user, xe, NULL);
      evals++;
      if (isfinite(fe) && fe < fr) {
        memcpy(s[n], xe, sizeof xe);
        fs[n] = fe;
      } else {
        memcpy(s[n], xr, sizeof xr);
        fs[n] = fr;
      }
    } else if (fr < fs[n - 1]) {
      memcpy(s[n], xr, sizeof xr);
      fs[n] = fr;
    } else {
      for (int j = 0; j < n; j++) xc[j] = c[j] + 0.5 * (s[n][j] - c[j]);
      double fc = f(user, xc, NULL);
      evals++;
      if (isfinite(fc) && fc < fs[n]) {
        memcpy(s[n], xc, sizeof xc);
        fs[n] = fc;
      } else {
        for (int i = 1; i <= n; i++) {
          for (int j = 0; j < n; j++) s[i][j] = s[0][j] + 0.5 * (s[i][j] - s[0][j]);
          fs[i] = f(user, s[i], NULL);
          if (!isfinite(fs[i])) fs[i] = INFINITY;
        }
        evals += n;
      }
    }
  }
  int b = 0;
  for (int i = 1; i <= n; i++)
    if (fs[i] < fs[b]) b = i;
  memcpy(y, s[b], (size_t)n * sizeof *y);
  return fs[b];
}

static double gmax(const double *g, int n) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(g[i]));
  return m;
}

/* BFGS from y, with the inverse Hessian approximation Hio (n x n, row
   major) when not NULL, which receives the final one; returns the
   iterations done, sets *conv. */
static int bfgs(cxm_objfn f, void *user, int n, double *y, double *fy,
                double gtol, int max_iter, int *conv, double *Hio) {
  double H[NMAX][NMAX], g[NMAX], gn[NMAX], d[NMAX], yn[NMAX], s[NMAX], u[NMAX];
  *conv = 0;
  double fv = f(user, y, g);
  if (!isfinite(fv)) return 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      H[i][j] = Hio ? Hio[i * n + j] : i == j ? 1.0 / fmax(1.0, gmax(g, n)) : 0;
  int it;
  for (it = 0; it < max_iter; it++) {
    if (gmax(g, n) <= gtol) {
      *conv = 1;
      break;
    }
    double slope = 0, dmax = 0;
    for (int i = 0; i < n; i++) {
      d[i] = 0;
      for (int j = 0; j < n; j++) d[i] -= H[i][j] * g[j];
      slope += d[i] * g[i];
      dmax = fmax(dmax, fabs(d[i]));
    }
    if (!(slope < 0)) { /* not a descent direction: restart from steepest */
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) H[i][j] = i == j ? 1.0 / fmax(1.0, gmax(g, n)) : 0;
        d[i] = -g[i] * H[i][i];
      }
      slope = 0;
      dmax = 0;
      for (int i = 0; i < n; i++) {
        slope += d[i] * g[i];
        dmax = fmax(dmax, fabs(d[i]));
      }
    }
    /* Steps on log parameters: at most 2 (a factor e^2) at a time. */
    double step = dmax > 2 ? 2 / dmax : 1;
    double fnew = INFINITY;
    int ok = 0;
    for (int ls = 0; ls < 60; ls++) {
      for (int i = 0; i < n; i++) yn[i] = y[i] + step * d[i];
      fnew = f(user, yn, gn);
      if (isfinite(fnew) && fnew <= fv + 1e-4 * step * slope) {
        ok = 1;
        break;
      }
      step *= 0.5;
    }
    if (!ok) {
      /* No decrease at machine precision: converged only if the gradient is
         small against the objective's own rounding. */
      *conv = gmax(g, n) <= gtol * 100;
      break;
    }
    double sy = 0;
    for (int i = 0; i < n; i++) {
      s[i] = yn[i] - y[i];
      u[i] = gn[i] - g[i];
      sy += s[i] * u[i];
    }
    memcpy(y, yn, (size_t)n * sizeof *y);
    memcpy(g, gn, (size_t)n * sizeof *g);
    double fold = fv;
    fv = fnew;
    if (sy > 1e-300) {
      double Hu[NMAX], uHu = 0;
      for (int i = 0; i < n; i++) {
        Hu[i] = 0;
        for (int j = 0; j < n; j++) Hu[i] += H[i][j] * u[j];
        uHu += u[i] * Hu[i];
      }
      for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
          H[i][j] += ((sy + uHu) * s[i] * s[j]) / (sy * sy) - (Hu[i] * s[j] + s[i] * Hu[j]) / sy;
    }
    if (fold - fv <= 1e-15 * fabs(fv) && gmax(g, n) <= gtol * 100) {
      *conv = 1;
      it++;
      break;
    }
  }
  *fy = fv;
  if (Hio)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) Hio[i * n + j] = H[i][j];
  return it;
}

cxm_optres cxm__minimize(cxm_objfn f, void *user, int n, double *y, double gtol,
                         double scale, double *H) {
  cxm_optres res = {INFINITY, 0, 0};
  double tol = gtol * (scale > 1 ? scale : 1);
  double fy = INFINITY;
  int conv = 0;
  res.iterations = bfgs(f, user, n, y, &fy, tol, 300, &conv, H);
  for (int round = 0; !conv && round < 2; round++) {
    /* Parameters past e^25 or below e^-25: the likelihood keeps rising
       towards a boundary (no interior maximum, e.g. no spend
       heterogeneity); more iterations only walk further. */
    double ymax = 0;
    for (int i = 0; i < n; i++) ymax = fmax(ymax, fabs(y[i]));
    if (ymax > 25) break;
    /* Stalled: Nelder-Mead needs no gradient and moves out of flat or badly
       scaled regions; BFGS then polishes. */
    double ys[NMAX];
    memcpy(ys, y, (size_t)n * sizeof *y);
    double fn = nelder_mead(f, user, n, ys, 150 * n);
    if (isfinite(fn) && !(fn > fy)) memcpy(y, ys, (size_t)n * sizeof *y);
    res.iterations += bfgs(f, user, n, y, &fy, tol, 300, &conv, NULL);
  }
  res.f = fy;
  res.converged = conv && isfinite(fy);
  return res;
}
