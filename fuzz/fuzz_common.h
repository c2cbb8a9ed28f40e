/*
 * fuzz/fuzz_common.h - invariants shared by the libFuzzer harnesses.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Every check that fails prints what it found and calls abort(), which
 * libFuzzer reports as a crash and saves the input.
 */
#ifndef CXM_FUZZ_COMMON_H
#define CXM_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"

#define FZ_FAIL(...)                                     \
  do {                                                   \
    fprintf(stderr, "fuzz invariant violated (%s:%d): ", \
            __FILE__, __LINE__);                         \
    fprintf(stderr, __VA_ARGS__);                        \
    fputc('\n', stderr);                                 \
    abort();                                             \
  } while (0)

#define FZ_CHECK(cond, ...)      \
  do {                           \
    if (!(cond)) FZ_FAIL(__VA_ARGS__); \
  } while (0)

/* The query windows used by the final sweeps: unbounded, and a few bounded
   ones around the times the harnesses generate. */
#define FZ_NWINDOWS 5
static const int64_t fz_windows[FZ_NWINDOWS][2] = {
    {CXM_TIME_MIN, CXM_TIME_MAX},
    {CXM_TIME_MIN, INT64_C(1767225600)},          /* < 2026-01-01 */
    {INT64_C(1767225600), CXM_TIME_MAX},          /* >= 2026-01-01 */
    {INT64_C(1767225600), INT64_C(1767830400)},   /* first week of 2026 */
    {CXM_TIME_FIRST, CXM_TIME_LAST},
};

/* Queries cost time in proportion to the days a series spans: the scope
   ALL x ALL is read over every window, the others over two. */
static inline int fz_window_used(int32_t seg, int32_t ch, int w, int wide) {
  return (seg == CXM_ALL && ch == CXM_ALL && !wide) || w == 0 || w == 3;
}

/* Days spanned by the accepted events: up to 49,000 (1970 to 2105), and
   each query sums that many days. */
static inline int64_t fz_span_days(cxm_ctx *ctx) {
  int64_t first = 0, last = 0;
  cxm_stat_get(ctx, CXM_STAT_FIRST_TIME, &first);
  cxm_stat_get(ctx, CXM_STAT_LAST_TIME, &last);
  return (last - first) / 86400;
}

/* Labels swept: fewer when the span is long. */
static inline int fz_label_budget(cxm_ctx *ctx, int max_labels) {
  int64_t span = fz_span_days(ctx);
  if (span > 3660) return 0;
  if (span > 732 && max_labels > 1) return 1;
  return max_labels;
}

/* What kind of number a KPI is, for its range checks. */
enum {
  FZ_COUNT,     /* integer count >= 0 */
  FZ_MONEY_POS, /* money sum >= 0 */
  FZ_MONEY_ANY, /* money, any sign */
  FZ_NPS,       /* -100..100 */
  FZ_MOE,       /* >= 0 */
  FZ_PERCENT,   /* 0..100 */
  FZ_MEAN_1_5,  /* 1..5 */
  FZ_MEAN_1_7,  /* 1..7 */
  FZ_RATE01,    /* 0..1 */
  FZ_RATIO_POS, /* ratio >= 0 (may exceed 1) */
  FZ_RATIO_GE1, /* ratio >= 1 */
  FZ_RATIO_ANY  /* ratio, any sign */
};

static inline int fz_kpi_kind(int kpi) {
  switch (kpi) {
    case CXM_KPI_NPS: return FZ_NPS;
    case CXM_KPI_NPS_MOE95: return FZ_MOE;
    case CXM_KPI_CSAT: return FZ_PERCENT;
    case CXM_KPI_CSAT_MEAN: return FZ_MEAN_1_5;
    case CXM_KPI_CES: return FZ_MEAN_1_7;
    case CXM_KPI_REVENUE:
    case CXM_KPI_REFUNDS:
    case CXM_KPI_SPEND: return FZ_MONEY_POS;
    case CXM_KPI_NET_REVENUE: return FZ_MONEY_ANY;
    case CXM_KPI_AOV:
    case CXM_KPI_CPL:
    case CXM_KPI_CPA:
    case CXM_KPI_CAC:
    case CXM_KPI_OPEN_RATE:
    case CXM_KPI_CLICK_RATE:
    case CXM_KPI_CLICK_TO_OPEN_RATE: return FZ_RATIO_POS;
    case CXM_KPI_PURCHASE_FREQUENCY:
    case CXM_KPI_ENGAGEMENT_RATE: return FZ_RATIO_GE1;
    case CXM_KPI_CLV_HISTORICAL: return FZ_RATIO_ANY;
    case CXM_KPI_REPEAT_PURCHASE_RATE:
    case CXM_KPI_LEAD_CONVERSION_RATE:
    case CXM_KPI_BOUNCE_RATE:
    case CXM_KPI_ENGAGED_SESSION_RATE: return FZ_RATE01;
    default: return FZ_COUNT;
  }
}

/* A ratio: undefined (NaN) when its denominator n is 0. */
static inline int fz_kpi_is_ratio(int kind) {
  return kind != FZ_COUNT && kind != FZ_MONEY_POS && kind != FZ_MONEY_ANY;
}

/* Check one KPI value against its definition's range. */
static inline void fz_check_value(int kpi, int32_t seg, int32_t ch, int64_t from,
                           int64_t to, double v, int64_t n) {
  int kind = fz_kpi_kind(kpi);
  const double eps = 1e-9;
#define FZ_WHERE "kpi %d (%s) seg %d ch %d window [%lld,%lld): value %.17g n %lld", \
                 kpi, cxm_kpi_name(kpi), (int)seg, (int)ch, (long long)from,        \
                 (long long)to, v, (long long)n
  FZ_CHECK(n >= 0, "negative n: " FZ_WHERE);
  FZ_CHECK(!isinf(v), "infinite value: " FZ_WHERE);
  if (fz_kpi_is_ratio(kind) && n == 0)
    FZ_CHECK(isnan(v), "ratio with n = 0 is not NaN: " FZ_WHERE);
  if (isnan(v)) {
    /* Sums and counts are never NaN, except the spend-based ones in a
       segment scope (the header) and new_buyers there (as implemented: new
       buyers are credited to channels only; the header does not say so). */
    FZ_CHECK(fz_kpi_is_ratio(kind) ||
                 (seg != CXM_ALL && (kpi == CXM_KPI_SPEND || kpi == CXM_KPI_NEW_BUYERS)),
             "NaN for a count or sum: " FZ_WHERE);
    return;
  }
  switch (kind) {
    case FZ_COUNT:
      FZ_CHECK(v >= 0 && v == floor(v), "count not a non-negative integer: " FZ_WHERE);
      break;
    case FZ_MONEY_POS:
    case FZ_MOE:
    case FZ_RATIO_POS:
      FZ_CHECK(v >= 0, "negative value: " FZ_WHERE);
      break;
    case FZ_NPS:
      FZ_CHECK(v >= -100 - eps && v <= 100 + eps, "NPS off -100..100: " FZ_WHERE);
      break;
    case FZ_PERCENT:
      FZ_CHECK(v >= -eps && v <= 100 + eps, "percentage off 0..100: " FZ_WHERE);
      break;
    case FZ_MEAN_1_5:
      FZ_CHECK(v >= 1 - eps && v <= 5 + eps, "mean off 1..5: " FZ_WHERE);
      break;
    case FZ_MEAN_1_7:
      FZ_CHECK(v >= 1 - eps && v <= 7 + eps, "mean off 1..7: " FZ_WHERE);
      break;
    case FZ_RATE01:
      FZ_CHECK(v >= -eps && v <= 1 + eps, "rate off 0..1: " FZ_WHERE);
      break;
    case FZ_RATIO_GE1:
      FZ_CHECK(v >= 1 - eps, "ratio below 1: " FZ_WHERE);
      break;
    default:
      break;
  }
#undef FZ_WHERE
}

/* Query one KPI in one scope and window, check the status and the value;
   returns the status. Out arguments must stay untouched on failure. */
static inline int fz_query(cxm_ctx *ctx, int kpi, int32_t seg, int32_t ch,
                    int64_t from, int64_t to, double *vout, int64_t *nout) {
  double v = -12345.0;
  int64_t n = -12345;
  int rc = cxm_kpi_get(ctx, kpi, seg, ch, from, to, &v, &n);
  int32_t nseg = 0, nch = 0;
  int known = kpi >= 1 && kpi <= cxm_kpi_max();
  FZ_CHECK(cxm_segment_count(ctx, &nseg) == CXM_OK, "segment_count");
  FZ_CHECK(cxm_channel_count(ctx, &nch) == CXM_OK, "channel_count");
  int scope_ok = (seg == CXM_ALL || (seg >= 0 && seg < nseg)) &&
                 (ch == CXM_ALL || (ch >= 0 && ch < nch));
  if (rc != CXM_OK) {
    FZ_CHECK(v == -12345.0 && n == -12345,
             "kpi_get wrote its out arguments on failure %d", rc);
    FZ_CHECK(rc == CXM_E_ARG || rc == CXM_E_UNSUPPORTED,
             "kpi_get kpi %d seg %d ch %d: unexpected status %d", kpi,
             (int)seg, (int)ch, rc);
    if (rc == CXM_E_ARG)
      FZ_CHECK(!known || !scope_ok, "kpi_get: E_ARG for valid kpi %d seg %d ch %d",
               kpi, (int)seg, (int)ch);
    if (rc == CXM_E_UNSUPPORTED)
      FZ_CHECK(known && cxm_kpi_is_customer_level(kpi) == 1,
               "kpi_get: E_UNSUPPORTED for event-level kpi %d", kpi);
    return rc;
  }
  FZ_CHECK(known && scope_ok, "kpi_get accepted kpi %d seg %d ch %d (%d segs, %d chs)",
           kpi, (int)seg, (int)ch, (int)nseg, (int)nch);
  if (cxm_kpi_is_customer_level(kpi) == 1)
    FZ_CHECK(from == CXM_TIME_MIN && to == CXM_TIME_MAX,
             "customer-level kpi %d answered for a bounded window", kpi);
  fz_check_value(kpi, seg, ch, from, to, v, n);
  if (vout) *vout = v;
  if (nout) *nout = n;
  return rc;
}

/* Internal consistency of one scope and window: NPS answers are the sum of
   its three categories; every event-level count splits exactly at a day. */
static inline void fz_check_scope(cxm_ctx *ctx, int32_t seg, int32_t ch, int64_t from,
                           int64_t to) {
  double v;
  int64_t n, pro = 0, pas = 0, det = 0, tmp;
  if (fz_query(ctx, CXM_KPI_NPS, seg, ch, from, to, &v, &n) == CXM_OK) {
    FZ_CHECK(cxm_kpi_get_int(ctx, CXM_KPI_NPS_PROMOTERS, seg, ch, from, to, &pro, &tmp) == CXM_OK, "promoters");
    FZ_CHECK(cxm_kpi_get_int(ctx, CXM_KPI_NPS_PASSIVES, seg, ch, from, to, &pas, &tmp) == CXM_OK, "passives");
    FZ_CHECK(cxm_kpi_get_int(ctx, CXM_KPI_NPS_DETRACTORS, seg, ch, from, to, &det, &tmp) == CXM_OK, "detractors");
    FZ_CHECK(pro >= 0 && pas >= 0 && det >= 0, "negative NPS category");
    FZ_CHECK(pro + pas + det == n, "NPS n %lld != %lld + %lld + %lld", (long long)n,
             (long long)pro, (long long)pas, (long long)det);
    if (n > 0)
      FZ_CHECK(fabs(v - 100.0 * (double)(pro - det) / (double)n) < 1e-6,
               "NPS %.17g != 100 * (%lld - %lld) / %lld", v, (long long)pro,
               (long long)det, (long long)n);
  }
}

/* Every KPI in the scopes ALL x ALL, each segment and each channel (up to
   a few of each) and their crossings, over the standard windows. */
static inline void fz_sweep(cxm_ctx *ctx, int max_labels) {
  int32_t nseg = 0, nch = 0;
  FZ_CHECK(cxm_segment_count(ctx, &nseg) == CXM_OK, "segment_count");
  FZ_CHECK(cxm_channel_count(ctx, &nch) == CXM_OK, "channel_count");
  int wide = fz_span_days(ctx) > 3660;
  max_labels = fz_label_budget(ctx, max_labels);
  if (nseg > max_labels) nseg = max_labels;
  if (nch > max_labels) nch = max_labels;
  for (int32_t s = -1; s < nseg; s++)
    for (int32_t c = -1; c < nch; c++)
      for (int w = 0; w < FZ_NWINDOWS; w++) {
        if (!fz_window_used(s, c, w, wide)) continue;
        for (int k = 1; k <= cxm_kpi_max(); k++)
          fz_query(ctx, k, s, c, fz_windows[w][0], fz_windows[w][1], NULL, NULL);
        fz_check_scope(ctx, s, c, fz_windows[w][0], fz_windows[w][1]);
      }
  /* Day additivity of event-level counts and sums, all scopes ALL. */
  static const int add_kpis[] = {CXM_KPI_EVENTS, CXM_KPI_ORDERS, CXM_KPI_REVENUE,
                                 CXM_KPI_REFUNDS, CXM_KPI_SPEND, CXM_KPI_SESSIONS,
                                 CXM_KPI_NPS_PROMOTERS, CXM_KPI_INTERACTIONS};
  for (size_t i = 0; i < sizeof add_kpis / sizeof add_kpis[0]; i++) {
    int64_t all, a, b, n1, n2, n3;
    int k = add_kpis[i];
    FZ_CHECK(cxm_kpi_get_int(ctx, k, CXM_ALL, CXM_ALL, CXM_TIME_MIN, CXM_TIME_MAX, &all, &n1) == CXM_OK, "int all");
    FZ_CHECK(cxm_kpi_get_int(ctx, k, CXM_ALL, CXM_ALL, CXM_TIME_MIN, fz_windows[1][1], &a, &n2) == CXM_OK, "int before");
    FZ_CHECK(cxm_kpi_get_int(ctx, k, CXM_ALL, CXM_ALL, fz_windows[1][1], CXM_TIME_MAX, &b, &n3) == CXM_OK, "int after");
    FZ_CHECK(a + b == all && n2 + n3 == n1,
             "kpi %s does not split at a day: %lld + %lld != %lld (n %lld + %lld != %lld)",
             cxm_kpi_name(k), (long long)a, (long long)b, (long long)all,
             (long long)n2, (long long)n3, (long long)n1);
  }
}

static inline int fz_same_double(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b;
}

/* Two handles that were given the same operations agree on everything. */
static inline void fz_compare(cxm_ctx *a, cxm_ctx *b, int max_labels) {
  int32_t nseg = 0, nch = 0, nseg2 = 0, nch2 = 0;
  FZ_CHECK(cxm_segment_count(a, &nseg) == CXM_OK, "segment_count");
  FZ_CHECK(cxm_channel_count(a, &nch) == CXM_OK, "channel_count");
  FZ_CHECK(cxm_segment_count(b, &nseg2) == CXM_OK, "segment_count");
  FZ_CHECK(cxm_channel_count(b, &nch2) == CXM_OK, "channel_count");
  FZ_CHECK(nseg == nseg2 && nch == nch2, "label counts differ: %d/%d vs %d/%d",
           (int)nseg, (int)nch, (int)nseg2, (int)nch2);
  static const int stats[] = {CXM_STAT_EVENTS_ACCEPTED, CXM_STAT_CUSTOMERS,
                              CXM_STAT_FIRST_TIME, CXM_STAT_LAST_TIME};
  for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
    int64_t x = -1, y = -1;
    FZ_CHECK(cxm_stat_get(a, stats[i], &x) == CXM_OK, "stat");
    FZ_CHECK(cxm_stat_get(b, stats[i], &y) == CXM_OK, "stat");
    FZ_CHECK(x == y, "stat %d differs: %lld vs %lld", stats[i], (long long)x, (long long)y);
  }
  int wide = fz_span_days(a) > 3660;
  max_labels = fz_label_budget(a, max_labels);
  if (nseg > max_labels) nseg = max_labels;
  if (nch > max_labels) nch = max_labels;
  for (int32_t s = -1; s < nseg; s++)
    for (int32_t c = -1; c < nch; c++)
      for (int w = 0; w < FZ_NWINDOWS; w++)
        for (int k = 1; k <= cxm_kpi_max(); k++) {
          if (!fz_window_used(s, c, w, wide)) continue;
          double va = -1, vb = -1;
          int64_t na = -1, nb = -1;
          int ra = cxm_kpi_get(a, k, s, c, fz_windows[w][0], fz_windows[w][1], &va, &na);
          int rb = cxm_kpi_get(b, k, s, c, fz_windows[w][0], fz_windows[w][1], &vb, &nb);
          FZ_CHECK(ra == rb && (ra != CXM_OK || (fz_same_double(va, vb) && na == nb)),
                   "handles differ on kpi %s seg %d ch %d window %d: rc %d/%d value %.17g/%.17g n %lld/%lld",
                   cxm_kpi_name(k), (int)s, (int)c, w, ra, rb, va, vb, (long long)na,
                   (long long)nb);
        }
}

#endif /* CXM_FUZZ_COMMON_H */
