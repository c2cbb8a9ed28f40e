/*
 * clvsim.h - a seeded generator of purchase histories from known BG/NBD and
 * Gamma-Gamma parameters (tests/check_clv.c, bench/bench_clv.c).
 * Header-only, test and benchmark code only.
 *
 * Per customer: purchase rate lambda ~ Gamma(r, rate alpha) per day, dropout
 * probability p ~ Beta(a, b); the first purchase at the start, then
 * exponential gaps with rate lambda; after each repeat purchase the
 * customer drops out with probability p. Spend per purchase ~ Gamma(p_gg,
 * rate nu) with nu ~ Gamma(q_gg, rate v_gg). Purchases fall at whole seconds; the
 * library counts distinct days.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLVSIM_H
#define CXM_CLVSIM_H

#include <math.h>
#include <stdint.h>

typedef struct clvsim_rng {
  uint64_t s;
} clvsim_rng;

static inline uint64_t clvsim_next(clvsim_rng *g) { /* splitmix64 */
  uint64_t z = (g->s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double clvsim_unif(clvsim_rng *g) {
  return ((double)(clvsim_next(g) >> 11) + 0.5) / 9007199254740992.0;
}

static inline double clvsim_normal(clvsim_rng *g) {
  double u = clvsim_unif(g), v = clvsim_unif(g);
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Gamma(shape k, scale 1): Marsaglia and Tsang, boosted for k < 1. */
static inline double clvsim_gamma(clvsim_rng *g, double k) {
  if (k < 1) return clvsim_gamma(g, k + 1) * pow(clvsim_unif(g), 1 / k);
  double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
  for (;;) {
    double x = clvsim_normal(g), v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = clvsim_unif(g);
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
  }
}

typedef struct clvsim_params {
  double r, alpha, a, b;   /* BG/NBD, alpha in days */
  double p, q, v;          /* Gamma-Gamma */
} clvsim_params;

/* One customer's purchases over [0, T_days) days: writes at most cap
   purchase times (seconds from the start) and amounts; returns how many. */
static inline int clvsim_customer(clvsim_rng *g, const clvsim_params *P, double T_days,
                                  int cap, int64_t *secs, double *amount) {
  double lambda = clvsim_gamma(g, P->r) / P->alpha;
  double ga = clvsim_gamma(g, P->a), gb = clvsim_gamma(g, P->b);
  double drop = ga / (ga + gb);
  double nu = clvsim_gamma(g, P->q) / P->v;
  double t = 0;
  int n = 0;
  /* BG/NBD: dropout only follows a repeat purchase. */
  while (n < cap) {
    secs[n] = (int64_t)(t * 86400);
    /* cents, at least one: the spend model needs positive amounts */
    double z = clvsim_gamma(g, P->p) / nu;
    amount[n] = fmax(0.01, floor(z * 100 + 0.5) / 100);
    n++;
    if (n > 1 && clvsim_unif(g) < drop) break;
    t += -log(clvsim_unif(g)) / lambda;
    if (t >= T_days) break;
  }
  return n;
}

#endif /* CXM_CLVSIM_H */
