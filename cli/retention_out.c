/*
 * retention_out.c - the retention keys of every scope in `cxm report`
 * (active and churned customers, churn and retention rates over the
 * trailing period, lifespan, formula CLV) and the `cxm cohorts` command.
 * Public API only; definitions in docs/retention.md.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "retention_out.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

static void num(FILE *out, double v)
{
  char b[FMT_NUM_MAX];
  fmt_json_double(b, v);
  fputs(b, out);
}

static int fail(cxm_ctx *ctx, const char *what, int rc)
{
  fprintf(stderr, "cxm: reading %s failed: %s (%s)\n", what, cxm_strerror(rc),
          cxm_ctx_errmsg(ctx));
  return -1;
}

/* Everything a scope shows. */
typedef struct rvals {
  int off; /* module off: every value null */
  int64_t active, churned, period, a0, n_churned;
  double churn, retention, life, life_est, clv, aov, freq, periods;
} rvals;

static int read_scope(cxm_ctx *ctx, int32_t seg, int32_t ch, int64_t as_of,
                      rvals *v)
{
  memset(v, 0, sizeof *v);
  (void)cxm_option_get(ctx, CXM_OPT_RETENTION_PERIOD_DAYS, &v->period);
  int rc = cxm_retention_active(ctx, seg, ch, as_of, &v->active, &v->churned);
  if (rc == CXM_E_UNSUPPORTED) {
    v->off = 1;
    return 0;
  }
  if (rc)
    return fail(ctx, "active customers", rc);
  rc = cxm_retention_rate(ctx, seg, ch, as_of - v->period * 86400, as_of,
                          &v->churn, &v->retention, &v->a0);
  if (rc)
    return fail(ctx, "the churn rate", rc);
  rc = cxm_retention_lifespan(ctx, seg, ch, as_of, &v->life, &v->life_est,
                              &v->n_churned);
  if (rc)
    return fail(ctx, "the lifespan", rc);
  rc = cxm_retention_clv(ctx, seg, ch, as_of, &v->clv, &v->aov, &v->freq,
                         &v->periods);
  if (rc)
    return fail(ctx, "the formula CLV", rc);
  return 0;
}

int retention_json(FILE *out, cxm_ctx *ctx, int32_t seg, int32_t ch,
                   int64_t as_of, int indent)
{
  rvals v;
  if (read_scope(ctx, seg, ch, as_of, &v) < 0)
    return -1;
  const double nan = NAN;
  fprintf(out, ",\n%*s\"active_customers\": {\"value\": ", indent, "");
  if (v.off)
    fputs("null, \"n\": 0}", out);
  else
    fprintf(out, "%lld, \"n\": %lld}", (long long)v.active, (long long)v.active);
  fprintf(out, ",\n%*s\"churned_customers\": {\"value\": ", indent, "");
  if (v.off)
    fputs("null, \"n\": 0}", out);
  else
    fprintf(out, "%lld, \"n\": %lld}", (long long)v.churned, (long long)v.churned);
  fprintf(out, ",\n%*s\"churn_rate\": {\"value\": ", indent, "");
  num(out, v.off ? nan : v.churn);
  fprintf(out, ", \"n\": %lld, \"period_days\": %lld}", (long long)v.a0,
          (long long)v.period);
  fprintf(out, ",\n%*s\"retention_rate\": {\"value\": ", indent, "");
  num(out, v.off ? nan : v.retention);
  fprintf(out, ", \"n\": %lld, \"period_days\": %lld}", (long long)v.a0,
          (long long)v.period);
  fprintf(out, ",\n%*s\"avg_lifespan_days\": {\"value\": ", indent, "");
  num(out, v.off ? nan : v.life);
  fprintf(out, ", \"n\": %lld, \"estimate\": ", (long long)v.n_churned);
  num(out, v.off ? nan : v.life_est);
  fputs("}", out);
  fprintf(out, ",\n%*s\"clv_formula\": {\"value\": ", indent, "");
  num(out, v.off ? nan : v.clv);
  fprintf(out, ", \"n\": %lld, \"aov\": ", (long long)v.active);
  num(out, v.off ? nan : v.aov);
  fputs(", \"purchase_frequency\": ", out);
  num(out, v.off ? nan : v.freq);
  fputs(", \"lifespan_periods\": ", out);
  num(out, v.off ? nan : v.periods);
  fprintf(out, ", \"period_days\": %lld}", (long long)v.period);
  return 0;
}

static void cell(FILE *out, double v, const char *fmt, double scale)
{
  char b[FMT_NUM_MAX];
  if (isnan(v) || isinf(v))
    strcpy(b, "-");
  else
    snprintf(b, sizeof b, fmt, v * scale);
  fprintf(out, "%11s", b);
}

static int text_row(FILE *out, cxm_ctx *ctx, const char *label, size_t len,
                    int32_t seg, int32_t ch, int64_t as_of)
{
  rvals v;
  char lab[64];
  if (read_scope(ctx, seg, ch, as_of, &v) < 0)
    return -1;
  fmt_text_label(lab, sizeof lab, label, len, 20);
  fprintf(out, "%-20s", lab);
  if (v.off) {
    fputs("  (retention module off)\n", out);
    return 0;
  }
  fprintf(out, "%9lld%9lld", (long long)v.active, (long long)v.churned);
  cell(out, v.churn, "%.1f%%", 100.0);
  cell(out, v.retention, "%.1f%%", 100.0);
  cell(out, v.life, "%.1f", 1.0);
  cell(out, v.life_est, "%.1f", 1.0);
  cell(out, v.clv, "%.2f", 1.0);
  fputc('\n', out);
  return 0;
}

int retention_text(FILE *out, cxm_ctx *ctx, int64_t as_of, int64_t utc_offset,
                   int decimals)
{
  (void)decimals;
  char b[FMT_NUM_MAX];
  int64_t period = 30;
  int32_t nseg = 0, nch = 0;
  (void)cxm_option_get(ctx, CXM_OPT_RETENTION_PERIOD_DAYS, &period);
  (void)cxm_segment_count(ctx, &nseg);
  (void)cxm_channel_count(ctx, &nch);
  fmt_iso_time(b, as_of, utc_offset);
  fprintf(out, "\n== Retention as of the end of the day of %s (period %lld days) ==\n",
          b, (long long)period);
  fprintf(out, "%-20s%9s%9s%11s%11s%11s%11s%11s\n", "Scope", "active", "churned",
          "churn", "retention", "life days", "est. days", "CLV");
  if (text_row(out, ctx, "all", 3, CXM_ALL, CXM_ALL, as_of) < 0)
    return -1;
  for (int32_t c = 0; c < nch; c++) {
    const char *l;
    size_t len;
    char lab[80];
    if (cxm_channel_label(ctx, c, &l, &len) != CXM_OK)
      return -1;
    snprintf(lab, sizeof lab, "ch %.*s", (int)(len < 60 ? len : 60), l);
    if (text_row(out, ctx, lab, strlen(lab), CXM_ALL, c, as_of) < 0)
      return -1;
  }
  for (int32_t s = 0; s < nseg; s++) {
    const char *l;
    size_t len;
    char lab[80];
    if (cxm_segment_label(ctx, s, &l, &len) != CXM_OK)
      return -1;
    snprintf(lab, sizeof lab, "seg %.*s", (int)(len < 60 ? len : 60), l);
    if (text_row(out, ctx, lab, strlen(lab), s, CXM_ALL, as_of) < 0)
      return -1;
  }
  fputs("channel = the customers' first-activity channel; life days = first to "
        "last activity of the churned; est. days = period / churn rate\n", out);
  return 0;
}

/* ---------------------------------------------------------------- cohorts */

const char COHORTS_USAGE[] =
  "Usage: cxm cohorts [OPTION]... FILE...\n"
  "Read canonical CSV event files (`-` = standard input) and print the cohort\n"
  "retention matrix: customers by calendar month of their first purchase x\n"
  "months since (0, 1, ...), the share of the cohort that purchased in that\n"
  "month (\"on\") and in that month or later (\"on or after\").\n"
  "\n"
  "  --format FMT        text (default: the two triangles) or json\n"
  "  --utc-offset +hh:mm offset of the days (and months) from UTC (default +00:00)\n"
  "  --max-lateness S    lateness bound in seconds (default 604800)\n"
  "  --months N          show at most N months since (default: all)\n"
  "  -h, --help          show this help\n";

static int parse_offset(const char *s, int64_t *out)
{
  int sign = 1, hh = 0, mm = 0;
  if (*s == '+' || *s == '-')
    sign = *s++ == '-' ? -1 : 1;
  if (sscanf(s, "%d:%d", &hh, &mm) < 1 || hh < 0 || hh > 14 || mm < 0 || mm > 59)
    return -1;
  *out = sign * ((int64_t)hh * 3600 + (int64_t)mm * 60);
  return 0;
}

static void month_label(char b[16], int32_t m)
{
  snprintf(b, 16, "%04d-%02d", (int)(m / 12), (int)(m % 12) + 1);
}

static int cohorts_json(FILE *out, cxm_ctx *ctx, int32_t m0, int32_t nm, long maxk)
{
  int64_t *on = calloc((size_t)nm + 1, sizeof *on);
  int64_t *oa = calloc((size_t)nm + 1, sizeof *oa);
  if (!on || !oa) {
    free(on);
    free(oa);
    fputs("cxm: out of memory\n", stderr);
    return -1;
  }
  fputs("{\"cohorts\": [", out);
  for (int32_t c = 0; c < nm; c++) {
    int64_t size = 0;
    size_t n = 0;
    int rc = cxm_cohort_row(ctx, m0 + c, &size, on, oa, (size_t)nm, &n);
    if (rc) {
      free(on);
      free(oa);
      return fail(ctx, "a cohort", rc);
    }
    if (maxk >= 0 && n > (size_t)maxk)
      n = (size_t)maxk;
    char ml[16];
    month_label(ml, m0 + c);
    fprintf(out, "%s\n  {\"month\": \"%s\", \"size\": %lld, \"on\": [", c ? "," : "",
            ml, (long long)size);
    for (size_t k = 0; k < n; k++) {
      if (k)
        fputs(", ", out);
      num(out, size ? (double)on[k] / (double)size : NAN);
    }
    fputs("], \"on_or_after\": [", out);
    for (size_t k = 0; k < n; k++) {
      if (k)
        fputs(", ", out);
      num(out, size ? (double)oa[k] / (double)size : NAN);
    }
    fputs("]}", out);
  }
  fputs(nm ? "\n]}\n" : "]}\n", out);
  free(on);
  free(oa);
  return 0;
}

static int cohorts_text(FILE *out, cxm_ctx *ctx, int32_t m0, int32_t nm, long maxk)
{
  int64_t *on = calloc((size_t)nm + 1, sizeof *on);
  int64_t *oa = calloc((size_t)nm + 1, sizeof *oa);
  if (!on || !oa) {
    free(on);
    free(oa);
    fputs("cxm: out of memory\n", stderr);
    return -1;
  }
  long cols = maxk >= 0 && maxk < nm ? maxk : nm;
  for (int form = 0; form < 2; form++) {
    fprintf(out, "%s%s\n", form ? "\n" : "",
            form ? "Share of the cohort that purchased in month k or later"
                 : "Share of the cohort that purchased in month k");
    fprintf(out, "%-8s %8s", "cohort", "size");
    for (long k = 0; k < cols; k++)
      fprintf(out, " %6s%-2ld", "M", k);
    fputc('\n', out);
    for (int32_t c = 0; c < nm; c++) {
      int64_t size = 0;
      size_t n = 0;
      int rc = cxm_cohort_row(ctx, m0 + c, &size, on, oa, (size_t)nm, &n);
      if (rc) {
        free(on);
        free(oa);
        return fail(ctx, "a cohort", rc);
      }
      char ml[16];
      month_label(ml, m0 + c);
      fprintf(out, "%-8s %8lld", ml, (long long)size);
      for (size_t k = 0; k < n && (long)k < cols; k++) {
        const int64_t *a = form ? oa : on;
        if (size)
          fprintf(out, " %7.1f%%", 100.0 * (double)a[k] / (double)size);
        else
          fprintf(out, " %8s", "-");
      }
      fputc('\n', out);
    }
  }
  free(on);
  free(oa);
  return 0;
}

int cohorts_main(int argc, char **argv)
{
  const char *format = "text";
  int64_t offset = 0, lateness = -1;
  long maxk = -1;
  int nfiles = 0, status = 1;
  char **files = calloc((size_t)argc + 1, sizeof *files);
  if (!files)
    return 1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(COHORTS_USAGE, stdout);
      free(files);
      return 0;
    }
    int has_val = strcmp(a, "--format") == 0 || strcmp(a, "--utc-offset") == 0 ||
                  strcmp(a, "--months") == 0 || strcmp(a, "--max-lateness") == 0;
    if (has_val && i + 1 >= argc) {
      fprintf(stderr, "cxm cohorts: option '%s' needs a value\n", a);
      free(files);
      return 2;
    }
    char *end = NULL;
    if (strcmp(a, "--format") == 0) {
      format = argv[++i];
    } else if (strcmp(a, "--utc-offset") == 0) {
      if (parse_offset(argv[++i], &offset) < 0) {
        fprintf(stderr, "cxm cohorts: --utc-offset: not +hh:mm: '%s'\n", argv[i]);
        free(files);
        return 2;
      }
    } else if (strcmp(a, "--months") == 0) {
      maxk = strtol(argv[++i], &end, 10);
      if (!end || *end || maxk < 1) {
        fprintf(stderr, "cxm cohorts: --months: not a positive count: '%s'\n", argv[i]);
        free(files);
        return 2;
      }
    } else if (strcmp(a, "--max-lateness") == 0) {
      lateness = strtoll(argv[++i], &end, 10);
      if (!end || *end || lateness < 0) {
        fprintf(stderr, "cxm cohorts: --max-lateness: not a count: '%s'\n", argv[i]);
        free(files);
        return 2;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "cxm cohorts: unknown option '%s'\n\n%s", a, COHORTS_USAGE);
      free(files);
      return 2;
    } else {
      files[nfiles++] = argv[i];
    }
  }
  if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
    fprintf(stderr, "cxm cohorts: --format must be text or json, not '%s'\n", format);
    free(files);
    return 2;
  }
  if (!nfiles) {
    fprintf(stderr, "cxm cohorts: no input file (use - for standard input)\n");
    free(files);
    return 2;
  }
  cxm_ctx *ctx = NULL;
  int rc = cxm_ctx_create(&ctx);
  if (rc == CXM_OK)
    rc = cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, offset);
  if (rc == CXM_OK && lateness >= 0)
    rc = cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, lateness);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm cohorts: %s\n", ctx ? cxm_ctx_errmsg(ctx) : cxm_strerror(rc));
    goto out;
  }
  for (int f = 0; f < nfiles; f++) {
    cxm_csv *csv = NULL;
    uint64_t lines = 0, acc = 0, rej = 0;
    rc = cxm_csv_create(ctx, &csv);
    if (rc == CXM_OK)
      rc = cxm_csv_feed_file(csv, files[f]);
    if (rc == CXM_OK)
      (void)cxm_csv_stats(csv, &lines, &acc, &rej);
    cxm_csv_destroy(csv);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm cohorts: %s: %s\n", files[f], cxm_ctx_errmsg(ctx));
      goto out;
    }
    fprintf(stderr, "cxm cohorts: %s: %llu lines, %llu accepted, %llu rejected\n",
            files[f], (unsigned long long)lines, (unsigned long long)acc,
            (unsigned long long)rej);
  }
  int32_t m0 = 0, nm = 0;
  rc = cxm_cohort_span(ctx, &m0, &nm);
  if (rc != CXM_OK) {
    fail(ctx, "the cohort span", rc);
    goto out;
  }
  if ((strcmp(format, "json") == 0 ? cohorts_json(stdout, ctx, m0, nm, maxk)
                                   : cohorts_text(stdout, ctx, m0, nm, maxk)) < 0)
    goto out;
  if (fflush(stdout) != 0)
    goto out;
  status = 0;
out:
  cxm_ctx_destroy(ctx);
  free(files);
  return status;
}
