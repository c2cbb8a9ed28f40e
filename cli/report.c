/*
 * report.c - the KPI report of `cxm report` (text and JSON).
 *
 * Uses the public API only. Every value comes from cxm_kpi_get(); counts
 * and sums of money are read again with cxm_kpi_get_int() so that they are
 * printed exactly (money from its minor units, with the handle's decimals).
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "report.h"

#include <math.h>
#include <string.h>

#include "buckets.h"
#include "fmt.h"
#include "benchmark_out.h"
#include "retention_out.h"
#include "journey_out.h"
#include "snapcmd.h"

/* How a KPI is shown in the text report (JSON shows raw values). */
enum text_kind {
  T_POINTS,  /* NPS, -100..100 */
  T_PERCENT, /* already a percentage (CSAT) */
  T_RATE,    /* a plain fraction, shown as a percentage */
  T_MEAN,    /* a mean or a per-unit ratio, 2 decimals */
  T_MONEY,   /* money, the handle's decimals */
  T_COUNT    /* a count */
};

typedef struct kpi_def {
  const char *key;   /* the report key of issue 2 */
  int id;            /* enum cxm_kpi */
  int kind;          /* enum text_kind */
  const char *title; /* text report row title */
} kpi_def;

/* The report's KPIs, in the order of issue 2's list. */
static const kpi_def KPIS[] = {
  {"nps", CXM_KPI_NPS, T_POINTS, "NPS (points)"},
  {"csat", CXM_KPI_CSAT, T_PERCENT, "CSAT (% 4-5)"},
  {"csat_mean", CXM_KPI_CSAT_MEAN, T_MEAN, "CSAT mean (1-5)"},
  {"ces", CXM_KPI_CES, T_MEAN, "CES mean (1-7)"},
  {"revenue", CXM_KPI_REVENUE, T_MONEY, "Revenue"},
  {"refunds", CXM_KPI_REFUNDS, T_MONEY, "Refunds"},
  {"net_revenue", CXM_KPI_NET_REVENUE, T_MONEY, "Net revenue"},
  {"orders", CXM_KPI_ORDERS, T_COUNT, "Orders"},
  {"buyers", CXM_KPI_BUYERS, T_COUNT, "Buyers"},
  {"aov", CXM_KPI_AOV, T_MONEY, "AOV"},
  {"purchase_frequency", CXM_KPI_PURCHASE_FREQUENCY, T_MEAN,
   "Purchase frequency"},
  {"repeat_purchase_rate", CXM_KPI_REPEAT_PURCHASE_RATE, T_RATE,
   "Repeat purchase rate"},
  {"clv_historical", CXM_KPI_CLV_HISTORICAL, T_MONEY, "Historical CLV"},
  {"lead_conversion_rate", CXM_KPI_LEAD_CONVERSION_RATE, T_RATE,
   "Lead conversion rate"},
  {"sessions", CXM_KPI_SESSIONS, T_COUNT, "Sessions"},
  {"bounce_rate", CXM_KPI_BOUNCE_RATE, T_RATE, "Bounce rate"},
  {"engaged_session_rate", CXM_KPI_ENGAGED_SESSION_RATE, T_RATE,
   "Engaged-session rate"},
  {"engagement_rate", CXM_KPI_ENGAGEMENT_RATE, T_MEAN,
   "Engagement rate"},
  {"open_rate", CXM_KPI_OPEN_RATE, T_RATE, "Open rate"},
  {"click_rate", CXM_KPI_CLICK_RATE, T_RATE, "Click rate"},
  {"click_to_open_rate", CXM_KPI_CLICK_TO_OPEN_RATE, T_RATE,
   "Click-to-open rate"},
  {"spend", CXM_KPI_SPEND, T_MONEY, "Spend"},
  {"cpl", CXM_KPI_CPL, T_MONEY, "CPL"},
  {"cpa", CXM_KPI_CPA, T_MONEY, "CPA"},
  {"cac", CXM_KPI_CAC, T_MONEY, "CAC"},
};
#define NKPIS (sizeof KPIS / sizeof KPIS[0])

/* One answer of the library. */
typedef struct kval {
  int null;  /* value undefined (NaN) */
  int exact; /* i holds the exact count or minor units */
  int64_t i;
  double d;
  int64_t n;
} kval;

/* Read one KPI. Customer-level KPIs are all-time: they are always read over
 * the unbounded window (the library refuses a bounded one). */
static int query(cxm_ctx *ctx, const report_params *p, int kpi, int32_t seg,
                 int32_t ch, kval *v)
{
  int64_t from = p->from, to = p->to;
  if (p->window == WINDOW_NONE || cxm_kpi_is_customer_level(kpi) == 1) {
    from = CXM_TIME_MIN;
    to = CXM_TIME_MAX;
  }
  double d = NAN;
  int64_t n = 0;
  int rc = cxm_kpi_get(ctx, kpi, seg, ch, from, to, &d, &n);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: reading KPI %s failed: %s (%s)\n",
            cxm_kpi_name(kpi) ? cxm_kpi_name(kpi) : "?", cxm_strerror(rc),
            cxm_ctx_errmsg(ctx));
    return -1;
  }
  memset(v, 0, sizeof *v);
  v->d = d;
  v->n = n;
  v->null = isnan(d);
  if (!v->null) {
    int64_t iv = 0, in = 0;
    rc = cxm_kpi_get_int(ctx, kpi, seg, ch, from, to, &iv, &in);
    if (rc == CXM_OK) {
      v->exact = 1;
      v->i = iv;
    } else if (rc != CXM_E_UNSUPPORTED) { /* ratios: double only */
      fprintf(stderr, "cxm: reading KPI %s exactly failed: %s (%s)\n",
              cxm_kpi_name(kpi) ? cxm_kpi_name(kpi) : "?", cxm_strerror(rc),
              cxm_ctx_errmsg(ctx));
      return -1;
    }
  }
  return 0;
}

/* Number of events (all-time) of a scope. */
static int scope_events(cxm_ctx *ctx, int32_t seg, int32_t ch, int64_t *out)
{
  int64_t v = 0, n = 0;
  int rc = cxm_kpi_get_int(ctx, CXM_KPI_EVENTS, seg, ch, CXM_TIME_MIN,
                           CXM_TIME_MAX, &v, &n);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: reading the event count failed: %s (%s)\n",
            cxm_strerror(rc), cxm_ctx_errmsg(ctx));
    return -1;
  }
  *out = v;
  return 0;
}

/* The days a `--bucket` series covers: the window's, clipped to the events
 * accepted. 0 when there is nothing to show. */
static int series_bounds(cxm_ctx *ctx, const report_params *p, int64_t *first,
                         int64_t *last)
{
  int64_t ev = 0, t0 = 0, t1 = 0;
  (void)cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &ev);
  (void)cxm_stat_get(ctx, CXM_STAT_FIRST_TIME, &t0);
  (void)cxm_stat_get(ctx, CXM_STAT_LAST_TIME, &t1);
  if (ev == 0)
    return 0;
  if (p->window != WINDOW_NONE) {
    if (p->from != CXM_TIME_MIN && p->from > t0)
      t0 = p->from;
    if (p->to != CXM_TIME_MAX && p->to - 1 < t1)
      t1 = p->to - 1;
  }
  if (t0 > t1)
    return 0;
  *first = t0;
  *last = t1;
  return 1;
}

/* ---------------------------------------------------------------- JSON */

static void json_value(FILE *out, const kval *v, int kpi, int decimals)
{
  char buf[FMT_NUM_MAX];
  if (v->null)
    strcpy(buf, "null");
  else if (v->exact && cxm_kpi_is_money(kpi) == 1)
    fmt_minor_units(buf, v->i, decimals);
  else if (v->exact)
    fmt_int(buf, v->i);
  else
    fmt_json_double(buf, v->d);
  fputs(buf, out);
}

static int json_scope(FILE *out, cxm_ctx *ctx, const report_params *p,
                      int32_t seg, int32_t ch, int indent)
{
  char nb[FMT_NUM_MAX];
  fputs("{\n", out);
  for (size_t k = 0; k < NKPIS; k++) {
    kval v;
    if (query(ctx, p, KPIS[k].id, seg, ch, &v) < 0)
      return -1;
    fmt_int(nb, v.n);
    fprintf(out, "%*s\"%s\": {\"value\": ", indent + 2, "", KPIS[k].key);
    json_value(out, &v, KPIS[k].id, p->decimals);
    fprintf(out, ", \"n\": %s", nb);
    bench_json_gap(out, ctx, KPIS[k].id, seg, ch, v.null ? NAN : v.d);
    if (KPIS[k].id == CXM_KPI_NPS) {
      static const struct { const char *key; int id; } extra[] = {
        {"moe95", CXM_KPI_NPS_MOE95},
        {"promoters", CXM_KPI_NPS_PROMOTERS},
        {"passives", CXM_KPI_NPS_PASSIVES},
        {"detractors", CXM_KPI_NPS_DETRACTORS},
      };
      for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++) {
        kval x;
        if (query(ctx, p, extra[e].id, seg, ch, &x) < 0)
          return -1;
        fprintf(out, ", \"%s\": ", extra[e].key);
        json_value(out, &x, extra[e].id, p->decimals);
      }
    }
    fprintf(out, "}%s", k + 1 < NKPIS ? ",\n" : "");
  }
  if (retention_json(out, ctx, seg, ch, p->as_of, indent + 2) < 0) /* retention keys */
    return -1;
  fprintf(out, "\n%*s}", indent, "");
  return 0;
}

static void json_time(FILE *out, int64_t t, int64_t off)
{
  char buf[FMT_NUM_MAX];
  if (t == CXM_TIME_MIN || t == CXM_TIME_MAX) {
    fputs("null", out);
    return;
  }
  fmt_iso_time(buf, t, off);
  fprintf(out, "\"%s\"", buf);
}

/* The start of the day of t in the handle's offset, as the library floors
 * window bounds; open bounds stay open. */
static int64_t floor_day(cxm_ctx *ctx, int64_t t, int64_t off)
{
  int64_t day;
  if (t == CXM_TIME_MIN || t == CXM_TIME_MAX)
    return t;
  if (cxm_time_day(ctx, t, &day) != CXM_OK)
    return t;
  return day * 86400 - off;
}

static int64_t ctx_stat(cxm_ctx *ctx, int which)
{
  int64_t v = 0;
  (void)cxm_stat_get(ctx, which, &v);
  return v;
}

static int write_json(cxm_ctx *ctx, const report_params *p, FILE *out)
{
  char b1[FMT_NUM_MAX];
  int32_t nseg = 0, nch = 0;
  (void)cxm_segment_count(ctx, &nseg);
  (void)cxm_channel_count(ctx, &nch);

  fputs("{\n  \"meta\": {\n", out);
  fprintf(out, "    \"version\": \"%s\",\n", cxm_version_string());
  fputs("    \"files\": [", out);
  for (int i = 0; i < p->nfiles; i++) {
    if (i)
      fputs(", ", out);
    fmt_json_string(out, p->files[i], strlen(p->files[i]));
  }
  fputs("],\n", out);
  if (p->snapshot) {
    fputs("    \"snapshot\": ", out);
    fmt_json_string(out, p->snapshot, strlen(p->snapshot));
    fputs(",\n    \"position\": ", out);
    snapcmd_json_position(out, ctx);
    fputs(",\n", out);
  }
  fprintf(out, "    \"lines\": %llu,\n", (unsigned long long)p->lines);
  fprintf(out, "    \"accepted\": %llu,\n", (unsigned long long)p->accepted);
  fprintf(out, "    \"rejected\": %llu,\n", (unsigned long long)p->rejected);
  fprintf(out, "    \"events_accepted\": %lld,\n",
          (long long)ctx_stat(ctx, CXM_STAT_EVENTS_ACCEPTED));
  fprintf(out, "    \"events_rejected\": %lld,\n",
          (long long)ctx_stat(ctx, CXM_STAT_EVENTS_REJECTED));
  fprintf(out, "    \"events_late\": %lld,\n",
          (long long)ctx_stat(ctx, CXM_STAT_EVENTS_LATE));
  fprintf(out, "    \"customers\": %lld,\n",
          (long long)ctx_stat(ctx, CXM_STAT_CUSTOMERS));
  fprintf(out, "    \"channels\": %d,\n    \"segments\": %d,\n", (int)nch,
          (int)nseg);
  if (ctx_stat(ctx, CXM_STAT_EVENTS_ACCEPTED) > 0) {
    fputs("    \"first_time\": ", out);
    json_time(out, ctx_stat(ctx, CXM_STAT_FIRST_TIME), p->utc_offset);
    fputs(",\n    \"last_time\": ", out);
    json_time(out, ctx_stat(ctx, CXM_STAT_LAST_TIME), p->utc_offset);
    fputs(",\n", out);
  } else {
    fputs("    \"first_time\": null,\n    \"last_time\": null,\n", out);
  }
  fmt_utc_offset(b1, p->utc_offset);
  fprintf(out, "    \"utc_offset\": \"%s\",\n", b1);
  fprintf(out, "    \"decimals\": %d,\n", p->decimals);
  fprintf(out, "    \"max_lateness\": %lld\n  },\n", (long long)p->max_lateness);

  if (p->window != WINDOW_NONE) {
    int64_t f = floor_day(ctx, p->from, p->utc_offset);
    int64_t t = floor_day(ctx, p->to, p->utc_offset);
    fputs("  \"window\": {\n    \"from\": ", out);
    json_time(out, f, p->utc_offset);
    fputs(",\n    \"to\": ", out);
    json_time(out, t, p->utc_offset);
    fputs(",\n", out);
    if (p->window == WINDOW_TRAILING) {
      fprintf(out, "    \"trailing_days\": %d,\n    \"as_of\": ",
              (int)p->trailing_days);
      json_time(out, p->as_of, p->utc_offset);
      fputs(",\n", out);
    }
    fputs("    \"event_level\": \"[from, to), bounds floored to days in "
          "utc_offset\",\n", out);
    fputs("    \"customer_level\": \"all-time\",\n    \"customer_level_kpis\": [",
          out);
    int first = 1;
    for (size_t k = 0; k < NKPIS; k++)
      if (cxm_kpi_is_customer_level(KPIS[k].id) == 1) {
        fprintf(out, "%s\"%s\"", first ? "" : ", ", KPIS[k].key);
        first = 0;
      }
    fputs("]\n  },\n", out);
  }

  fputs("  \"all\": ", out);
  if (json_scope(out, ctx, p, CXM_ALL, CXM_ALL, 2) < 0)
    return -1;

  fputs(",\n  \"channels\": {", out);
  for (int32_t c = 0; c < nch; c++) {
    const char *lab;
    size_t len;
    if (cxm_channel_label(ctx, c, &lab, &len) != CXM_OK)
      return -1;
    fputs(c ? ",\n    " : "\n    ", out);
    fmt_json_string(out, lab, len);
    fputs(": ", out);
    if (json_scope(out, ctx, p, CXM_ALL, c, 4) < 0)
      return -1;
  }
  fputs(nch ? "\n  },\n" : "},\n", out);

  fputs("  \"segments\": {", out);
  for (int32_t s = 0; s < nseg; s++) {
    const char *lab;
    size_t len;
    if (cxm_segment_label(ctx, s, &lab, &len) != CXM_OK)
      return -1;
    fputs(s ? ",\n    " : "\n    ", out);
    fmt_json_string(out, lab, len);
    fputs(": ", out);
    if (json_scope(out, ctx, p, s, CXM_ALL, 4) < 0)
      return -1;
  }
  fputs(nseg ? "\n  },\n" : "},\n", out);

  /* Segment x channel: every segment appears; a channel appears under it
   * only if the pair has at least one event (all-time). */
  fputs("  \"segment_channels\": {", out);
  for (int32_t s = 0; s < nseg; s++) {
    const char *lab;
    size_t len;
    if (cxm_segment_label(ctx, s, &lab, &len) != CXM_OK)
      return -1;
    fputs(s ? ",\n    " : "\n    ", out);
    fmt_json_string(out, lab, len);
    fputs(": {", out);
    int any = 0;
    for (int32_t c = 0; c < nch; c++) {
      int64_t ev;
      if (scope_events(ctx, s, c, &ev) < 0)
        return -1;
      if (ev == 0)
        continue;
      if (cxm_channel_label(ctx, c, &lab, &len) != CXM_OK)
        return -1;
      fputs(any ? ",\n      " : "\n      ", out);
      fmt_json_string(out, lab, len);
      fputs(": ", out);
      if (json_scope(out, ctx, p, s, c, 6) < 0)
        return -1;
      any = 1;
    }
    fputs(any ? "\n    }" : "}", out);
  }
  fputs(nseg ? "\n  }" : "}", out);
  if (journey_json(out, ctx) < 0) /* funnel, attribution */
    return -1;
  if (p->bucket) {
    int64_t first, last;
    fputs(",\n  ", out);
    if (!series_bounds(ctx, p, &first, &last))
      fprintf(out, "\"series\": {\"bucket\": \"%s\", \"buckets\": []}",
              bucket_name(p->bucket));
    else if (series_json(out, ctx, p->bucket, first, last, p->decimals,
                         p->utc_offset) < 0)
      return -1;
  }
  fputs("\n}\n", out);
  return 0;
}

/* ---------------------------------------------------------------- text */

static void text_value(char buf[FMT_NUM_MAX], const kval *v, const kpi_def *d,
                       int decimals)
{
  if (v->null) {
    strcpy(buf, "-");
    return;
  }
  switch (d->kind) {
  case T_POINTS: snprintf(buf, FMT_NUM_MAX, "%.1f", v->d); break;
  case T_PERCENT: snprintf(buf, FMT_NUM_MAX, "%.1f%%", v->d); break;
  case T_RATE: snprintf(buf, FMT_NUM_MAX, "%.1f%%", 100.0 * v->d); break;
  case T_MEAN: snprintf(buf, FMT_NUM_MAX, "%.2f", v->d); break;
  case T_MONEY:
    if (v->exact)
      fmt_minor_units(buf, v->i, decimals);
    else
      snprintf(buf, FMT_NUM_MAX, "%.*f", decimals, v->d);
    break;
  default:
    if (v->exact)
      fmt_int(buf, v->i);
    else
      snprintf(buf, FMT_NUM_MAX, "%.0f", v->d);
    break;
  }
}

static long long count_of(const kval *v)
{
  return v->exact ? (long long)v->i : v->null ? 0 : (long long)v->d;
}

#define TITLE_W 24
#define COL_W 12
#define COLS_PER_TABLE 6

static int text_headline(FILE *out, cxm_ctx *ctx, const report_params *p)
{
  char vb[FMT_NUM_MAX], nb[FMT_NUM_MAX];
  fprintf(out, "%-*s %14s %10s\n", TITLE_W, "KPI", "value", "n");
  for (size_t k = 0; k < NKPIS; k++) {
    kval v;
    if (query(ctx, p, KPIS[k].id, CXM_ALL, CXM_ALL, &v) < 0)
      return -1;
    text_value(vb, &v, &KPIS[k], p->decimals);
    fmt_int(nb, v.n);
    fprintf(out, "%-*s %14s %10s", TITLE_W, KPIS[k].title, vb, nb);
    if (cxm_kpi_is_customer_level(KPIS[k].id) == 1)
      fputs("  *", out);
    if (KPIS[k].id == CXM_KPI_NPS && !v.null) {
      kval m, pr, pa, de;
      if (query(ctx, p, CXM_KPI_NPS_MOE95, CXM_ALL, CXM_ALL, &m) < 0 ||
          query(ctx, p, CXM_KPI_NPS_PROMOTERS, CXM_ALL, CXM_ALL, &pr) < 0 ||
          query(ctx, p, CXM_KPI_NPS_PASSIVES, CXM_ALL, CXM_ALL, &pa) < 0 ||
          query(ctx, p, CXM_KPI_NPS_DETRACTORS, CXM_ALL, CXM_ALL, &de) < 0)
        return -1;
      fprintf(out, "  +/-%.1f; %lld promoters, %lld passives, %lld detractors",
              m.null ? 0.0 : m.d, count_of(&pr), count_of(&pa), count_of(&de));
    }
    fputc('\n', out);
  }
  return 0;
}

/* A table with one column per scope; `nscopes` scopes, the i-th being
 * (seg(i), ch(i)). */
static int text_table(FILE *out, cxm_ctx *ctx, const report_params *p,
                      int by_segment, int32_t nscopes)
{
  char vb[FMT_NUM_MAX];
  char lab[4 * COL_W + 1];
  for (int32_t start = 0; start < nscopes; start += COLS_PER_TABLE) {
    int32_t end = start + COLS_PER_TABLE;
    if (end > nscopes)
      end = nscopes;
    fprintf(out, "%-*s", TITLE_W, "KPI");
    for (int32_t i = start; i < end; i++) {
      const char *l;
      size_t len;
      int rc = by_segment ? cxm_segment_label(ctx, i, &l, &len)
                          : cxm_channel_label(ctx, i, &l, &len);
      if (rc != CXM_OK)
        return -1;
      fmt_text_label(lab, sizeof lab, l, len, COL_W - 1);
      /* pad by characters, not bytes, for UTF-8 labels */
      size_t chars = 0;
      for (const unsigned char *q = (const unsigned char *)lab; *q; q++)
        chars += (*q & 0xC0u) != 0x80u;
      fprintf(out, "%*s%s", (int)(COL_W - chars), "", lab);
    }
    fputc('\n', out);
    fprintf(out, "%-*s", TITLE_W, "Events (all-time)");
    for (int32_t i = start; i < end; i++) {
      int64_t ev;
      if (scope_events(ctx, by_segment ? i : CXM_ALL,
                       by_segment ? CXM_ALL : i, &ev) < 0)
        return -1;
      fprintf(out, "%*lld", COL_W, (long long)ev);
    }
    fputc('\n', out);
    for (size_t k = 0; k < NKPIS; k++) {
      fprintf(out, "%-*s", TITLE_W, KPIS[k].title);
      for (int32_t i = start; i < end; i++) {
        kval v;
        if (query(ctx, p, KPIS[k].id, by_segment ? i : CXM_ALL,
                  by_segment ? CXM_ALL : i, &v) < 0)
          return -1;
        text_value(vb, &v, &KPIS[k], p->decimals);
        fprintf(out, "%*s", COL_W, vb);
      }
      fputs(cxm_kpi_is_customer_level(KPIS[k].id) == 1 ? "  *\n" : "\n", out);
    }
    fputc('\n', out);
  }
  return 0;
}

static int write_text(cxm_ctx *ctx, const report_params *p, FILE *out)
{
  char b1[FMT_NUM_MAX], b2[FMT_NUM_MAX];
  int32_t nseg = 0, nch = 0;
  (void)cxm_segment_count(ctx, &nseg);
  (void)cxm_channel_count(ctx, &nch);

  fprintf(out, "libcxmetrics %s KPI report\n", cxm_version_string());
  if (p->snapshot)
    fprintf(out, "Input: snapshot %s; %lld customers, %d channels, "
            "%d segments\n", p->snapshot,
            (long long)ctx_stat(ctx, CXM_STAT_CUSTOMERS), (int)nch, (int)nseg);
  else
    fprintf(out, "Input: %d file%s, %llu lines: %llu accepted, %llu rejected; "
            "%lld customers, %d channels, %d segments\n",
            p->nfiles, p->nfiles == 1 ? "" : "s", (unsigned long long)p->lines,
            (unsigned long long)p->accepted, (unsigned long long)p->rejected,
            (long long)ctx_stat(ctx, CXM_STAT_CUSTOMERS), (int)nch, (int)nseg);
  fmt_utc_offset(b1, p->utc_offset);
  if (ctx_stat(ctx, CXM_STAT_EVENTS_ACCEPTED) > 0) {
    fmt_iso_time(b2, ctx_stat(ctx, CXM_STAT_FIRST_TIME), p->utc_offset);
    fprintf(out, "Events from %s", b2);
    fmt_iso_time(b2, ctx_stat(ctx, CXM_STAT_LAST_TIME), p->utc_offset);
    fprintf(out, " to %s\n", b2);
  }
  fprintf(out, "Days in UTC%s; money with %d decimals\n", b1, p->decimals);
  if (p->window != WINDOW_NONE) {
    int64_t f = floor_day(ctx, p->from, p->utc_offset);
    int64_t t = floor_day(ctx, p->to, p->utc_offset);
    if (f == CXM_TIME_MIN)
      strcpy(b1, "(start)");
    else
      fmt_iso_time(b1, f, p->utc_offset);
    if (t == CXM_TIME_MAX)
      strcpy(b2, "(end)");
    else
      fmt_iso_time(b2, t, p->utc_offset);
    fprintf(out, "Window: [%s, %s)", b1, b2);
    if (p->window == WINDOW_TRAILING)
      fprintf(out, ", the trailing %d days", (int)p->trailing_days);
    fputs("; KPIs marked * are all-time\n", out);
  }
  fputs("* customer-level: each customer counted once (segments it holds now, "
        "channel that acquired it)\n"
        "Rates in %; n = denominator of a ratio, or contributing events/"
        "customers of a count; - = undefined\n\n", out);

  fputs("== All ==\n", out);
  if (text_headline(out, ctx, p) < 0)
    return -1;
  fputc('\n', out);
  if (nch > 0) {
    fputs("== By channel ==\n", out);
    if (text_table(out, ctx, p, 0, nch) < 0)
      return -1;
  }
  if (nseg > 0) {
    fputs("== By segment ==\n", out);
    if (text_table(out, ctx, p, 1, nseg) < 0)
      return -1;
  }
  if (nseg > 0 && nch > 0)
    fputs("(segment x channel KPIs: cxm report --format json)\n", out);
  if (retention_text(out, ctx, p->as_of, p->utc_offset, p->decimals) < 0)
    return -1;
  if (journey_text(out, ctx, p->decimals) < 0) /* funnel, attribution */
    return -1;
  if (p->bucket) {
    int64_t first, last;
    if (series_bounds(ctx, p, &first, &last) &&
        series_text(out, ctx, p->bucket, first, last, p->decimals,
                    p->utc_offset) < 0)
      return -1;
  }
  return 0;
}

int report_write(cxm_ctx *ctx, const report_params *p, FILE *out)
{
  return p->format == REPORT_JSON ? write_json(ctx, p, out)
                                  : write_text(ctx, p, out);
}
