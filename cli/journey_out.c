/*
 * journey_out.c - the "funnel" and "attribution" objects of `cxm report`
 * (docs/cli.md, docs/funnel.md, docs/attribution.md). Public API only.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "journey_out.h"

#include <math.h>
#include <string.h>

#include "fmt.h"

static const char *const STAGES[] = {"awareness", "engagement", "transaction",
                                     "retention"};
#define NSTAGES 4
#define NMODELS 5

static int fail(cxm_ctx *ctx, const char *what, int rc)
{
  fprintf(stderr, "cxm: reading %s failed: %s (%s)\n", what, cxm_strerror(rc),
          cxm_ctx_errmsg(ctx));
  return -1;
}

static void num(FILE *out, double v)
{
  char b[FMT_NUM_MAX];
  fmt_json_double(b, v); /* "null" when NaN */
  fputs(b, out);
}

/* One scope's stages as a JSON object. */
static int funnel_scope(FILE *out, cxm_ctx *ctx, int32_t seg, int32_t ch,
                        int indent)
{
  fputs("{", out);
  for (int s = 0; s < NSTAGES; s++) {
    int64_t n = 0, dropped = 0, timed = 0;
    double conv = NAN, med = NAN, p90 = NAN;
    int rc = cxm_funnel_get(ctx, seg, ch, s + 1, &n, &conv, &dropped);
    if (rc == CXM_OK)
      rc = cxm_funnel_days(ctx, seg, ch, s + 1, 0.5, &med, &timed);
    if (rc == CXM_OK)
      rc = cxm_funnel_days(ctx, seg, ch, s + 1, 0.9, &p90, NULL);
    if (rc != CXM_OK)
      return fail(ctx, "the funnel", rc);
    fprintf(out, "%s\n%*s\"%s\": {\"customers\": %lld, "
            "\"conversion_from_previous\": ", s ? "," : "", indent + 2, "",
            STAGES[s], (long long)n);
    num(out, conv);
    if (s)
      fprintf(out, ", \"drop_off\": %lld", (long long)dropped);
    else
      fputs(", \"drop_off\": null", out);
    fputs(", \"median_days_from_previous\": ", out);
    num(out, med);
    fputs(", \"p90_days_from_previous\": ", out);
    num(out, p90);
    fprintf(out, ", \"timed_steps\": %lld}", (long long)timed);
  }
  fprintf(out, "\n%*s}", indent, "");
  return 0;
}

/* {LABEL: scope} over every channel or segment. */
static int funnel_by(FILE *out, cxm_ctx *ctx, int by_segment)
{
  int32_t n = 0;
  if (by_segment)
    (void)cxm_segment_count(ctx, &n);
  else
    (void)cxm_channel_count(ctx, &n);
  fputs("{", out);
  for (int32_t i = 0; i < n; i++) {
    const char *lab;
    size_t len;
    int rc = by_segment ? cxm_segment_label(ctx, i, &lab, &len)
                        : cxm_channel_label(ctx, i, &lab, &len);
    if (rc != CXM_OK)
      return fail(ctx, "a label", rc);
    fputs(i ? ",\n      " : "\n      ", out);
    fmt_json_string(out, lab, len);
    fputs(": ", out);
    if (funnel_scope(out, ctx, by_segment ? i : CXM_ALL,
                     by_segment ? CXM_ALL : i, 6) < 0)
      return -1;
  }
  fputs(n ? "\n    }" : "}", out);
  return 0;
}

static int attribution_json(FILE *out, cxm_ctx *ctx)
{
  int32_t nch = 0;
  (void)cxm_channel_count(ctx, &nch);
  fputs("{", out);
  for (int m = 1; m <= NMODELS; m++) {
    fprintf(out, "%s\n    \"%s\": {", m > 1 ? "," : "",
            cxm_attribution_model_name(m));
    int any = 0;
    /* Every channel, then the credit of touches and purchases without a
     * channel under the key "" (no label is empty) when there is some. */
    for (int32_t c = -1; c < nch; c++) {
      int32_t id = c < 0 ? CXM_CREDIT_NO_CHANNEL : c;
      double orders, revenue, roas;
      int64_t oe9 = 0;
      int rc = cxm_attribution_get(ctx, m, id, &orders, &revenue, &roas);
      if (rc == CXM_OK)
        rc = cxm_attribution_get_fixed(ctx, m, id, &oe9, NULL, NULL);
      if (rc != CXM_OK)
        return fail(ctx, "the attribution", rc);
      if (c < 0 && oe9 == 0)
        continue;
      fputs(any ? ",\n      " : "\n      ", out);
      if (c < 0) {
        fputs("\"\"", out);
      } else {
        const char *lab;
        size_t len;
        if ((rc = cxm_channel_label(ctx, c, &lab, &len)) != CXM_OK)
          return fail(ctx, "a label", rc);
        fmt_json_string(out, lab, len);
      }
      fputs(": {\"orders\": ", out);
      num(out, orders);
      fputs(", \"revenue\": ", out);
      num(out, revenue);
      fputs(", \"roas\": ", out);
      num(out, roas);
      fputs("}", out);
      any = 1;
    }
    fputs(any ? "\n    }" : "}", out);
  }
  fputs("\n  }", out);
  return 0;
}

static int module_on(cxm_ctx *ctx, int64_t bit)
{
  int64_t mods = 0;
  return cxm_option_get(ctx, CXM_OPT_MODULES, &mods) == CXM_OK &&
         (mods & bit) != 0;
}

int journey_json(FILE *out, cxm_ctx *ctx)
{
  fputs(",\n  \"funnel\": ", out);
  if (!module_on(ctx, CXM_MOD_FUNNEL)) {
    fputs("null,\n  \"funnel_channels\": null,\n  \"funnel_segments\": null",
          out);
  } else {
    if (funnel_scope(out, ctx, CXM_ALL, CXM_ALL, 2) < 0)
      return -1;
    fputs(",\n  \"funnel_channels\": ", out);
    if (funnel_by(out, ctx, 0) < 0)
      return -1;
    fputs(",\n  \"funnel_segments\": ", out);
    if (funnel_by(out, ctx, 1) < 0)
      return -1;
  }
  fputs(",\n  \"attribution\": ", out);
  if (!module_on(ctx, CXM_MOD_ATTRIBUTION)) {
    fputs("null", out);
    return 0;
  }
  return attribution_json(out, ctx);
}

static void text_num(FILE *out, const char *fmt, double v, int width)
{
  if (isnan(v))
    fprintf(out, "%*s", width, "-");
  else
    fprintf(out, fmt, width, v);
}

int journey_text(FILE *out, cxm_ctx *ctx, int decimals)
{
  if (module_on(ctx, CXM_MOD_FUNNEL)) {
    fputs("\n== Journey funnel ==\n", out);
    fprintf(out, "%-12s %10s %11s %10s %12s %12s\n", "stage", "customers",
            "conversion", "drop-off", "median days", "p90 days");
    for (int s = 0; s < NSTAGES; s++) {
      int64_t n = 0, dropped = 0;
      double conv = NAN, med = NAN, p90 = NAN;
      int rc = cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, s + 1, &n, &conv,
                              &dropped);
      if (rc == CXM_OK)
        rc = cxm_funnel_days(ctx, CXM_ALL, CXM_ALL, s + 1, 0.5, &med, NULL);
      if (rc == CXM_OK)
        rc = cxm_funnel_days(ctx, CXM_ALL, CXM_ALL, s + 1, 0.9, &p90, NULL);
      if (rc != CXM_OK)
        return fail(ctx, "the funnel", rc);
      fprintf(out, "%-12s %10lld", STAGES[s], (long long)n);
      text_num(out, " %*.1f%%", isnan(conv) ? conv : 100.0 * conv, 10);
      if (s)
        fprintf(out, " %10lld", (long long)dropped);
      else
        fprintf(out, " %10s", "-");
      text_num(out, " %*.2f", med, 12);
      text_num(out, " %*.2f", p90, 12);
      fputc('\n', out);
    }
  }
  if (module_on(ctx, CXM_MOD_ATTRIBUTION)) {
    int32_t nch = 0;
    (void)cxm_channel_count(ctx, &nch);
    fputs("\n== Attribution (orders / revenue / ROAS per channel) ==\n", out);
    fprintf(out, "%-16s", "channel");
    for (int m = 1; m <= NMODELS; m++)
      fprintf(out, " %27s", cxm_attribution_model_name(m));
    fputc('\n', out);
    for (int32_t c = -1; c < nch; c++) {
      int32_t id = c < 0 ? CXM_CREDIT_NO_CHANNEL : c;
      int64_t oe9 = 0;
      char lab[64];
      if (cxm_attribution_get_fixed(ctx, 1, id, &oe9, NULL, NULL) != CXM_OK)
        return fail(ctx, "the attribution", cxm_ctx_errcode(ctx));
      if (c < 0) {
        int64_t any = oe9;
        for (int m = 2; m <= NMODELS && !any; m++)
          (void)cxm_attribution_get_fixed(ctx, m, id, &any, NULL, NULL);
        if (!any)
          continue;
        strcpy(lab, "(no channel)");
      } else {
        const char *l;
        size_t len;
        if (cxm_channel_label(ctx, c, &l, &len) != CXM_OK)
          return fail(ctx, "a label", cxm_ctx_errcode(ctx));
        fmt_text_label(lab, sizeof lab, l, len, 16);
      }
      fprintf(out, "%-16s", lab);
      for (int m = 1; m <= NMODELS; m++) {
        double o, r, roas;
        char cell[64];
        if (cxm_attribution_get(ctx, m, id, &o, &r, &roas) != CXM_OK)
          return fail(ctx, "the attribution", cxm_ctx_errcode(ctx));
        if (isnan(roas))
          snprintf(cell, sizeof cell, "%.2f / %.*f / -", o, decimals, r);
        else
          snprintf(cell, sizeof cell, "%.2f / %.*f / %.2f", o, decimals, r,
                   roas);
        fprintf(out, " %27s", cell);
      }
      fputc('\n', out);
    }
  }
  return 0;
}
