/*
 * clv.h - private interface of the predictive CLV module: the per-customer
 * statistics kept at ingest (clv.c), the model fit (clvfit.c), the
 * predictions and RFM scores (clvpredict.c, rfm.c).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLV_H
#define CXM_CLV_H

#include "ext.h"

/* One customer's statistics: 15 packed bytes, so that the side array stays
   under 16 bytes per customer at 1M customers (the array grows to the core's
   capacity, up to 1.05 x the count). Little endian, unaligned:
     [0..1]   periods: distinct purchase periods (saturating at 65535)
     [2]      bits: bit k = a purchase in the period k before the last one
     [3..8]   first: amount of the first period, minor units (48 bits, saturating)
     [9..14]  repeat: amounts of the later periods, minor units (ditto)
   First and last purchase times are the core record's. */
#define CXM_CLV_REC 15
#define CXM_CLV_BITS 8
#define CXM_CLV_AMOUNT_MAX ((UINT64_C(1) << 48) - 1)

typedef struct cxm_clvrec {
  uint32_t periods;
  uint32_t bits;
  uint64_t first, repeat;
} cxm_clvrec;

typedef struct cxm_clvstate {
  uint8_t *recs;  /* cap * CXM_CLV_REC bytes, zero = no purchase */
  uint32_t cap;
  /* The purchase being ingested: the core record's purchase times before
     the core updates them (noted by prepare, used by on_event). */
  int64_t pend_ri;
  uint32_t pend_fp, pend_lp;
  int pend_had;
  /* A merge in progress: for each source record, the destination's first
     and last purchase times before the core merged them (0, 0 when the
     destination had no purchase), noted by merge_reserve. */
  uint32_t *merge_old;
  uint32_t merge_n;
} cxm_clvstate;

CXM_HIDDEN void cxm__clvrec_get(const uint8_t *p, cxm_clvrec *r);
CXM_HIDDEN void cxm__clvrec_put(uint8_t *p, const cxm_clvrec *r);
/* The statistics of record index ri (zeros when it has none). */
CXM_HIDDEN void cxm__clv_read(const cxm_ctx *ctx, uint32_t ri, cxm_clvrec *r);

/* ---- the model (clvfit.c) ------------------------------------------------ */

/* Customers with equal (x, t_x, T) share a group: the BG/NBD likelihood and
   predictions are computed once per group. Days are whole days. */
typedef struct cxm_clvgroup {
  uint32_t x, txd, Td;
  uint32_t xi;     /* index of x among the model's distinct x values */
  double w;        /* customers in the group */
} cxm_clvgroup;

struct cxm_clv_model {
  cxm_ctx *ctx;
  int32_t unit;        /* CXM_CLV_DAYS or CXM_CLV_WEEKS */
  double unit_days;    /* 1 or 7 */
  int64_t as_of_day;
  double penalty;
  /* customers, in the core's record order */
  uint32_t n;
  uint64_t *hash;
  uint32_t *segset;
  uint32_t *group;     /* customer -> group */
  double *spend;       /* mean repeat-period amount, major units (0 if x = 0) */
  double *total;       /* all periods' amounts, major units */
  /* groups and distinct x values */
  uint32_t ngroups, nx, maxd;
  cxm_clvgroup *groups;
  uint32_t *xs;
  /* lookup by hash, built on the first lookup: open addressing, customer
     index + 1, 0 = empty */
  uint32_t *slots;
  uint32_t mask;
  /* BG/NBD: r, alpha, a, b; Gamma-Gamma: p, q, v */
  double bg[4], bg_se[4], bg_ll;
  int bg_converged, bg_iter;
  double gg[3], gg_se[3], gg_ll;
  int gg_converged, gg_iter, gg_fitted;
  uint32_t gg_n, gg_zero;
};

/* ---- numerics (clvopt.c) -------------------------------------------------- */

/* Objective for the optimiser: value at y (log parameters) and, when g is
   not NULL, its gradient; returns a non-finite value outside the domain. */
typedef double (*cxm_objfn)(void *user, const double *y, double *g);

typedef struct cxm_optres {
  double f;
  int iterations;
  int converged;
} cxm_optres;

/* Minimises f over R^n (n <= 8) from y (updated in place): BFGS with a
   backtracking line search; Nelder-Mead restarts when BFGS stalls. gtol is
   the bound on the largest gradient component, relative to `scale`. H, when
   not NULL, is the initial inverse Hessian approximation (n x n) and
   receives the final one. */
CXM_HIDDEN cxm_optres cxm__minimize(cxm_objfn f, void *user, int n, double *y,
                                    double gtol, double scale, double *H);
/* Inverts the n x n matrix m in place (Gauss-Jordan with pivoting); returns
   0, or -1 when it is singular. */
CXM_HIDDEN int cxm__invert(double *m, int n);
CXM_HIDDEN double cxm__digamma(double x);
/* ln |2F1(a, b; c; z)| for 0 <= z < 1 by its series, the sign in *sign;
   NaN when it does not converge within the term budget. */
CXM_HIDDEN double cxm__hyp2f1_log(double a, double b, double c, double z, double *sign);

/* ---- predictions (clvpredict.c) ----------------------------------------- */
CXM_HIDDEN double cxm__bg_log_odds_dead(const cxm_clv_model *m, double x, double tx, double T);
CXM_HIDDEN double cxm__bg_p_alive(const cxm_clv_model *m, double x, double tx, double T);
CXM_HIDDEN double cxm__bg_expected(const cxm_clv_model *m, double x, double tx, double T,
                                   double t);
CXM_HIDDEN double cxm__gg_spend(const cxm_clv_model *m, double x, double mean);
/* The model's index of a customer hash in *out, -1 when absent; builds the
   lookup index on first use (CXM_E_NOMEM when it cannot). */
CXM_HIDDEN int cxm__clv_find(const cxm_clv_model *m, uint64_t hash, int64_t *out);

#endif /* CXM_CLV_H */
