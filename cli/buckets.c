/*
 * buckets.c - calendar buckets and per-bucket KPI series (see buckets.h).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "buckets.h"

#include <math.h>
#include <string.h>

#include "fmt.h"

#define SERIES_MAX 4000 /* buckets in one series (about 11 years of days) */

int bucket_parse(const char *text) {
  if (strcmp(text, "day") == 0) return BUCKET_DAY;
  if (strcmp(text, "week") == 0) return BUCKET_WEEK;
  if (strcmp(text, "month") == 0) return BUCKET_MONTH;
  return -1;
}

const char *bucket_name(int kind) {
  switch (kind) {
    case BUCKET_DAY: return "day";
    case BUCKET_WEEK: return "week";
    case BUCKET_MONTH: return "month";
    default: return "none";
  }
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

/* Civil date of a day number (days since 1970-01-01), proleptic Gregorian. */
static void civil(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Day 0 (1970-01-01) was a Thursday: the Monday on or before day d. */
static int64_t monday_of(int64_t d) { return d - (((d + 3) % 7 + 7) % 7); }

static int64_t bucket_start_day(int kind, int64_t d) {
  int64_t y;
  int m, dd;
  switch (kind) {
    case BUCKET_WEEK: return monday_of(d);
    case BUCKET_MONTH:
      civil(d, &y, &m, &dd);
      return days_from_civil(y, m, 1);
    default: return d;
  }
}

static int64_t bucket_next_day(int kind, int64_t start) {
  int64_t y;
  int m, dd;
  switch (kind) {
    case BUCKET_WEEK: return start + 7;
    case BUCKET_MONTH:
      civil(start, &y, &m, &dd);
      return m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
    default: return start + 1;
  }
}

int buckets_make(cxm_ctx *ctx, int kind, int64_t first, int64_t last,
                 int64_t *starts, int max) {
  int64_t d0, d1, off = 0;
  (void)cxm_option_get(ctx, CXM_OPT_UTC_OFFSET, &off);
  if (cxm_time_day(ctx, first, &d0) != CXM_OK || cxm_time_day(ctx, last, &d1) != CXM_OK)
    return -1;
  /* Count, then keep the latest max - 1 buckets. */
  int64_t s = bucket_start_day(kind, d0), n = 0;
  for (int64_t b = s; b <= d1; b = bucket_next_day(kind, b)) n++;
  int64_t skip = n > max - 1 ? n - (max - 1) : 0;
  int k = 0;
  for (int64_t b = s; b <= d1; b = bucket_next_day(kind, b)) {
    if (skip > 0) {
      skip--;
      continue;
    }
    starts[k++] = b * 86400 - off;
    if (bucket_next_day(kind, b) > d1) starts[k] = bucket_next_day(kind, b) * 86400 - off;
  }
  return k;
}

void bucket_label(char buf[32], int kind, int64_t t, int64_t utc_offset) {
  int64_t d = floor_div(t + utc_offset, 86400), y;
  int m, dd;
  civil(d, &y, &m, &dd);
  if (kind == BUCKET_MONTH) {
    snprintf(buf, 32, "%04d-%02d", (int)y, m);
  } else if (kind == BUCKET_WEEK) {
    /* ISO week: the week's Thursday decides the year. */
    int64_t thu = monday_of(d) + 3, ty;
    int tm, td;
    civil(thu, &ty, &tm, &td);
    int64_t week = (thu - days_from_civil(ty, 1, 1)) / 7 + 1;
    snprintf(buf, 32, "%04d-W%02d", (int)ty, (int)week);
  } else {
    snprintf(buf, 32, "%04d-%02d-%02d", (int)y, m, dd);
  }
}

void wilson95(double p, int64_t n, double scale, double *lo, double *hi) {
  const double z = 1.959963984540054;
  if (n <= 0 || isnan(p)) {
    *lo = *hi = NAN;
    return;
  }
  double q = p / scale, nn = (double)n, z2 = z * z;
  double den = 1.0 + z2 / nn;
  double center = (q + z2 / (2 * nn)) / den;
  double half = z * sqrt(q * (1 - q) / nn + z2 / (4 * nn * nn)) / den;
  *lo = (center - half) * scale;
  *hi = (center + half) * scale;
  if (*lo < 0) *lo = 0;
  if (*hi > scale) *hi = scale;
}

/* Event-level KPIs of the series, by report key. */
static const struct {
  const char *key;
  int id;
} SERIES_KPIS[] = {
  {"nps", CXM_KPI_NPS}, {"csat", CXM_KPI_CSAT}, {"csat_mean", CXM_KPI_CSAT_MEAN},
  {"ces", CXM_KPI_CES}, {"revenue", CXM_KPI_REVENUE}, {"refunds", CXM_KPI_REFUNDS},
  {"net_revenue", CXM_KPI_NET_REVENUE}, {"orders", CXM_KPI_ORDERS},
  {"aov", CXM_KPI_AOV}, {"new_buyers", CXM_KPI_NEW_BUYERS},
  {"leads", CXM_KPI_LEADS}, {"sessions", CXM_KPI_SESSIONS},
  {"bounce_rate", CXM_KPI_BOUNCE_RATE},
  {"engaged_session_rate", CXM_KPI_ENGAGED_SESSION_RATE},
  {"open_rate", CXM_KPI_OPEN_RATE}, {"click_rate", CXM_KPI_CLICK_RATE},
  {"click_to_open_rate", CXM_KPI_CLICK_TO_OPEN_RATE}, {"spend", CXM_KPI_SPEND},
  {"cpl", CXM_KPI_CPL}, {"cpa", CXM_KPI_CPA}, {"cac", CXM_KPI_CAC},
  {"events", CXM_KPI_EVENTS},
};
#define NSERIES (sizeof SERIES_KPIS / sizeof SERIES_KPIS[0])

static void put_value(FILE *out, cxm_ctx *ctx, int kpi, int64_t from, int64_t to,
                      double d, int decimals) {
  char buf[FMT_NUM_MAX];
  int64_t iv, in;
  if (isnan(d)) {
    fputs("null", out);
    return;
  }
  if (cxm_kpi_get_int(ctx, kpi, CXM_ALL, CXM_ALL, from, to, &iv, &in) == CXM_OK) {
    if (cxm_kpi_is_money(kpi) == 1)
      fmt_minor_units(buf, iv, decimals);
    else
      fmt_int(buf, iv);
  } else {
    fmt_json_double(buf, d);
  }
  fputs(buf, out);
}

int series_json(FILE *out, cxm_ctx *ctx, int kind, int64_t first, int64_t last,
                int decimals, int64_t utc_offset) {
  static int64_t starts[SERIES_MAX + 1];
  char buf[FMT_NUM_MAX], lab[32];
  int nb = buckets_make(ctx, kind, first, last, starts, SERIES_MAX);
  if (nb < 0) {
    fprintf(stderr, "cxm: cannot make the %s buckets\n", bucket_name(kind));
    return -1;
  }
  fprintf(out, "\"series\": {\"bucket\": \"%s\", \"buckets\": [", bucket_name(kind));
  for (int b = 0; b < nb; b++) {
    int64_t from = starts[b], to = starts[b + 1];
    bucket_label(lab, kind, from, utc_offset);
    fprintf(out, "%s\n    {\"label\": \"%s\", \"from\": ", b ? "," : "", lab);
    fmt_iso_time(buf, from, utc_offset);
    fprintf(out, "\"%s\", \"to\": ", buf);
    fmt_iso_time(buf, to, utc_offset);
    fprintf(out, "\"%s\"", buf);
    for (size_t k = 0; k < NSERIES; k++) {
      double d = NAN;
      int64_t n = 0;
      int rc = cxm_kpi_get(ctx, SERIES_KPIS[k].id, CXM_ALL, CXM_ALL, from, to, &d, &n);
      if (rc != CXM_OK) {
        fprintf(stderr, "cxm: series %s: %s\n", SERIES_KPIS[k].key, cxm_ctx_errmsg(ctx));
        return -1;
      }
      fprintf(out, ", \"%s\": {\"value\": ", SERIES_KPIS[k].key);
      put_value(out, ctx, SERIES_KPIS[k].id, from, to, d, decimals);
      fmt_int(buf, n);
      fprintf(out, ", \"n\": %s", buf);
      if (SERIES_KPIS[k].id == CXM_KPI_NPS) {
        double moe = NAN;
        int64_t mn;
        (void)cxm_kpi_get(ctx, CXM_KPI_NPS_MOE95, CXM_ALL, CXM_ALL, from, to, &moe, &mn);
        fmt_json_double(buf, moe);
        fprintf(out, ", \"moe95\": %s", buf);
      } else if (SERIES_KPIS[k].id == CXM_KPI_CSAT) {
        double lo, hi;
        wilson95(d, n, 100.0, &lo, &hi);
        fmt_json_double(buf, lo);
        fprintf(out, ", \"wilson95\": [%s, ", buf);
        fmt_json_double(buf, hi);
        fprintf(out, "%s]", buf);
      }
      fputs("}", out);
    }
    fputs("}", out);
  }
  fputs("\n  ]}", out);
  return 0;
}

int series_text(FILE *out, cxm_ctx *ctx, int kind, int64_t first, int64_t last,
                int decimals, int64_t utc_offset) {
  static int64_t starts[SERIES_MAX + 1];
  char lab[32], b1[FMT_NUM_MAX], b2[FMT_NUM_MAX];
  int nb = buckets_make(ctx, kind, first, last, starts, SERIES_MAX);
  if (nb < 0) return -1;
  fprintf(out, "\nSeries by %s\n%-10s %10s %8s %14s %8s %8s\n", bucket_name(kind),
          "bucket", "events", "orders", "revenue", "NPS", "CSAT%");
  for (int b = 0; b < nb; b++) {
    int64_t from = starts[b], to = starts[b + 1], ev = 0, ord = 0, rev = 0, n;
    double nps = NAN, csat = NAN;
    bucket_label(lab, kind, from, utc_offset);
    (void)cxm_kpi_get_int(ctx, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, from, to, &ev, &n);
    (void)cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, from, to, &ord, &n);
    (void)cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, from, to, &rev, &n);
    (void)cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, from, to, &nps, &n);
    (void)cxm_kpi_get(ctx, CXM_KPI_CSAT, CXM_ALL, CXM_ALL, from, to, &csat, &n);
    fmt_minor_units(b1, rev, decimals);
    if (isnan(nps)) strcpy(b2, "-");
    else snprintf(b2, sizeof b2, "%.1f", nps);
    fprintf(out, "%-10s %10lld %8lld %14s %8s ", lab, (long long)ev, (long long)ord, b1, b2);
    if (isnan(csat)) fputs("       -\n", out);
    else fprintf(out, "%8.1f\n", csat);
  }
  return 0;
}
