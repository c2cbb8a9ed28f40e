/*
 * dashboard.c - `cxm dashboard`: one self-contained HTML page (inline SVG and
 * CSS, no script, nothing from the network) with the KPIs people look at:
 * headline tiles with trend and benchmark gap, NPS and CSAT over time with
 * their 95% bands, the journey funnel, the cohort retention heat map,
 * revenue and ROAS by channel under an attribution model, and a segment
 * comparison table.
 *
 * Every number shown is also written into a data-* attribute of its element
 * (data-kpi, data-value, data-stage, ...), so a test can compare the page
 * with `cxm report --format json` without parsing formatted text.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "dashboard.h"

#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buckets.h"
#include "fmt.h"
#include "input.h"

#define EXIT_USAGE 2
#define MAX_BENCH 32
#define CHART_BUCKETS 400

static const char USAGE[] =
  "Usage: cxm dashboard [OPTION]... FILE... -o REPORT.html\n"
  "   or: cxm dashboard --snapshot SNAPSHOT [OPTION]... -o REPORT.html\n"
  "Write one self-contained HTML page (inline SVG and CSS, no script, nothing\n"
  "loaded from the network) with headline KPI tiles (trend against the\n"
  "previous bucket, gap to a benchmark), NPS and CSAT over time with their 95%\n"
  "bands, the journey funnel, the cohort retention heat map, revenue and ROAS\n"
  "by channel under an attribution model, and a segment comparison table.\n"
  "Input files are canonical CSV, or JSON Lines when named *.jsonl/*.ndjson.\n"
  "\n"
  "  -o, --output FILE      the page to write (required; - = stdout)\n"
  "  --title TEXT           page title (default: \"Customer experience\")\n"
  "  --bucket B             day, week (ISO) or month (default: by the span:\n"
  "                         day up to 62 days, week up to 2 years, else month)\n"
  "  --model M              attribution model: first_touch, last_touch,\n"
  "                         linear (default), time_decay, position_based\n"
  "  --benchmark KPI=VALUE  a benchmark for a KPI (report key, e.g. nps=30);\n"
  "                         repeatable; tiles show the gap\n"
  "  --input FMT            auto (default), csv or jsonl\n"
  "  --snapshot SNAPSHOT    read a snapshot (cxm ingest) instead of files\n"
  "  --utc-offset +hh:mm    offset of the days from UTC (default +00:00)\n"
  "  --decimals N           decimals of the money minor unit (default 2)\n"
  "  -h, --help             show this help\n"
  "\n"
  "Exit status: 0 = page written, 1 = input or output failed, 2 = bad usage.\n";

typedef struct dash_args {
  const char *output, *title, *bucket, *model, *input, *snapshot, *utc_offset,
      *decimals;
  const char *bench[MAX_BENCH];
  int nbench;
  int nfiles;
  char **files;
} dash_args;

static int usage(const char *msg, const char *arg) {
  fprintf(stderr, "cxm dashboard: ");
  fprintf(stderr, msg, arg);
  fprintf(stderr, "\nTry 'cxm dashboard --help'.\n");
  return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, dash_args *a) {
  memset(a, 0, sizeof *a);
  a->files = argv;
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (arg[0] != '-' || strcmp(arg, "-") == 0) {
      a->files[a->nfiles++] = arg;
      continue;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      fputs(USAGE, stdout);
      return -1;
    }
    const char *name = arg;
    const char *val = NULL;
    char *eq = strchr(arg, '=');
    size_t nlen = eq && strncmp(arg, "--", 2) == 0 ? (size_t)(eq - arg) : strlen(arg);
    if (eq && strncmp(arg, "--", 2) == 0) val = eq + 1;
    static const struct {
      const char *name;
      size_t off;
    } opts[] = {
      {"-o", offsetof(dash_args, output)},        {"--output", offsetof(dash_args, output)},
      {"--title", offsetof(dash_args, title)},    {"--bucket", offsetof(dash_args, bucket)},
      {"--model", offsetof(dash_args, model)},    {"--input", offsetof(dash_args, input)},
      {"--snapshot", offsetof(dash_args, snapshot)},
      {"--utc-offset", offsetof(dash_args, utc_offset)},
      {"--decimals", offsetof(dash_args, decimals)},
      {"--benchmark", 0},
    };
    size_t k, nopts = sizeof opts / sizeof opts[0];
    for (k = 0; k < nopts; k++)
      if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0) break;
    if (k == nopts) return usage("unknown option '%s'", arg);
    if (!val) {
      if (i + 1 >= argc) return usage("option '%s' needs a value", arg);
      val = argv[++i];
    }
    if (strcmp(opts[k].name, "--benchmark") == 0) {
      if (a->nbench == MAX_BENCH) return usage("at most 32 --benchmark options%s", "");
      a->bench[a->nbench++] = val;
    } else {
      *(const char **)((char *)a + opts[k].off) = val;
    }
  }
  return 0;
}

/* ---- HTML helpers ------------------------------------------------------- */

static void html_text(FILE *out, const char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = fmt_utf8_decode((const unsigned char *)s + i, len - i, &cp);
    if (k == 0) {
      fputs("&#xFFFD;", out);
      i++;
      continue;
    }
    switch (cp) {
      case '&': fputs("&amp;", out); break;
      case '<': fputs("&lt;", out); break;
      case '>': fputs("&gt;", out); break;
      case '"': fputs("&quot;", out); break;
      case '\'': fputs("&#39;", out); break;
      default:
        if (cp < 0x20) fprintf(out, "&#xFFFD;");
        else fwrite(s + i, 1, k, out);
    }
    i += k;
  }
}

static void html_cstr(FILE *out, const char *s) { html_text(out, s, strlen(s)); }

/* A number for a data-* attribute: shortest round-trip form, or "" (NaN). */
static void attr_num(FILE *out, double v) {
  char b[FMT_NUM_MAX];
  if (isnan(v)) return;
  fmt_json_double(b, v);
  fputs(b, out);
}

static void show_num(char *buf, size_t cap, double v, int kind, int decimals) {
  if (isnan(v)) {
    snprintf(buf, cap, "–");
    return;
  }
  switch (kind) {
    case 'p': snprintf(buf, cap, "%.1f", v); break;          /* points */
    case '%': snprintf(buf, cap, "%.1f%%", v); break;        /* percent already */
    case 'r': snprintf(buf, cap, "%.1f%%", 100.0 * v); break; /* rate */
    case '$': snprintf(buf, cap, "%.*f", decimals, v); break;
    case 'x': snprintf(buf, cap, "%.2f", v); break;
    default: snprintf(buf, cap, "%.0f", v); break;            /* count */
  }
}

/* ---- the page ------------------------------------------------------------- */

typedef struct page {
  FILE *out;
  cxm_ctx *ctx;
  int decimals;
  int64_t utc_offset;
  int bucket;
  int model;
  int64_t first, last;
  int nb;
  int64_t starts[CHART_BUCKETS + 1];
} page;

static const char CSS[] =
  ":root{--fg:#1b1f24;--mut:#5b6570;--bg:#fff;--card:#f5f7fa;--line:#d7dde4;"
  "--acc:#2563eb;--good:#15803d;--bad:#b91c1c;--band:#bfd3fb}"
  "*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"
  "'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}"
  "main{max-width:1100px;margin:0 auto;padding:16px}"
  "h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}"
  ".meta{color:var(--mut);font-size:.9rem}"
  ".tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}"
  ".tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px;"
  "break-inside:avoid}"
  ".tile .k{font-size:.8rem;color:var(--mut)}.tile .v{font-size:1.5rem;font-weight:600}"
  ".tile .t,.tile .g{font-size:.8rem}.up{color:var(--good)}.down{color:var(--bad)}"
  ".flat{color:var(--mut)}"
  ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}"
  "figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;"
  "padding:8px;break-inside:avoid}figcaption{font-size:.85rem;color:var(--mut)}"
  "svg{width:100%;height:auto;display:block}"
  "svg text{font-size:11px;fill:var(--mut)}"
  "table{border-collapse:collapse;width:100%;font-size:.85rem}"
  "th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:right}"
  "th:first-child,td:first-child{text-align:left}"
  ".scroll{overflow-x:auto}"
  ".heat td{text-align:center;min-width:2.6em}"
  ".empty{color:var(--mut);font-style:italic}"
  "@media print{body{font-size:12px}main{max-width:none;padding:0}"
  ".tiles{grid-template-columns:repeat(4,1fr)}.charts{grid-template-columns:1fr 1fr}"
  "figure,.tile,table{break-inside:avoid}}";

static double kpi_all(page *pg, int kpi, int32_t seg, int32_t ch, int64_t from,
                      int64_t to, int64_t *n) {
  double v = NAN;
  int64_t nn = 0;
  if (cxm_kpi_is_customer_level(kpi) == 1) {
    from = CXM_TIME_MIN;
    to = CXM_TIME_MAX;
  }
  if (cxm_kpi_get(pg->ctx, kpi, seg, ch, from, to, &v, &nn) != CXM_OK) v = NAN;
  if (n) *n = nn;
  return v;
}

typedef struct tile_def {
  const char *key;
  int id;
  int kind;
  const char *title;
} tile_def;

static const tile_def TILES[] = {
  {"nps", CXM_KPI_NPS, 'p', "NPS"},
  {"csat", CXM_KPI_CSAT, '%', "CSAT"},
  {"ces", CXM_KPI_CES, 'x', "CES (1-7)"},
  {"revenue", CXM_KPI_REVENUE, '$', "Revenue"},
  {"orders", CXM_KPI_ORDERS, 'c', "Orders"},
  {"aov", CXM_KPI_AOV, '$', "AOV"},
  {"repeat_purchase_rate", CXM_KPI_REPEAT_PURCHASE_RATE, 'r', "Repeat purchase rate"},
  {"clv_historical", CXM_KPI_CLV_HISTORICAL, '$', "Historical CLV"},
  {"cac", CXM_KPI_CAC, '$', "CAC"},
  {"bounce_rate", CXM_KPI_BOUNCE_RATE, 'r', "Bounce rate"},
  {"engaged_session_rate", CXM_KPI_ENGAGED_SESSION_RATE, 'r', "Engaged sessions"},
  {"click_to_open_rate", CXM_KPI_CLICK_TO_OPEN_RATE, 'r', "Click-to-open"},
};
#define NTILES (sizeof TILES / sizeof TILES[0])

/* For these a rise is bad news. */
static int lower_is_better(int id) {
  return id == CXM_KPI_CES || id == CXM_KPI_CAC || id == CXM_KPI_BOUNCE_RATE ||
         id == CXM_KPI_CPA || id == CXM_KPI_CPL;
}

static void tiles(page *pg) {
  FILE *o = pg->out;
  char b[64], lab[32];
  fputs("<h2>Headline</h2>\n<div class=\"tiles\" id=\"tiles\">\n", o);
  for (size_t k = 0; k < NTILES; k++) {
    const tile_def *t = &TILES[k];
    int64_t n;
    double v = kpi_all(pg, t->id, CXM_ALL, CXM_ALL, CXM_TIME_MIN, CXM_TIME_MAX, &n);
    show_num(b, sizeof b, v, t->kind, pg->decimals);
    fprintf(o, "<div class=\"tile\" data-kpi=\"%s\" data-value=\"", t->key);
    attr_num(o, v);
    fprintf(o, "\" data-n=\"%" PRId64 "\"><div class=\"k\">%s</div><div class=\"v\">%s</div>",
            n, t->title, b);
    /* Trend: the last bucket against the one before (event-level only). */
    if (cxm_kpi_is_customer_level(t->id) == 0 && pg->nb >= 2) {
      int64_t n1, n0;
      double cur = kpi_all(pg, t->id, CXM_ALL, CXM_ALL, pg->starts[pg->nb - 1],
                           pg->starts[pg->nb], &n1);
      double prev = kpi_all(pg, t->id, CXM_ALL, CXM_ALL, pg->starts[pg->nb - 2],
                            pg->starts[pg->nb - 1], &n0);
      bucket_label(lab, pg->bucket, pg->starts[pg->nb - 2], pg->utc_offset);
      if (!isnan(cur) && !isnan(prev)) {
        double d = cur - prev;
        int good = lower_is_better(t->id) ? d < 0 : d > 0;
        const char *cls = d == 0 ? "flat" : good ? "up" : "down";
        show_num(b, sizeof b, fabs(d), t->kind, pg->decimals);
        fprintf(o, "<div class=\"t %s\" data-trend=\"", cls);
        attr_num(o, d);
        fprintf(o, "\">%s %s vs %s</div>", d > 0 ? "&#9650;" : d < 0 ? "&#9660;" : "=",
                b, lab);
      }
    }
    double gap, bench;
    if (cxm_benchmark_gap(pg->ctx, t->id, CXM_ALL, CXM_ALL, CXM_TIME_MIN, CXM_TIME_MAX,
                          &gap, NULL, &bench, NULL) == CXM_OK && !isnan(gap)) {
      char bb[64];
      int good = lower_is_better(t->id) ? gap <= 0 : gap >= 0;
      show_num(b, sizeof b, fabs(gap), t->kind, pg->decimals);
      show_num(bb, sizeof bb, bench, t->kind, pg->decimals);
      fprintf(o, "<div class=\"g %s\" data-gap=\"", good ? "up" : "down");
      attr_num(o, gap);
      fprintf(o, "\">%s%s vs benchmark %s</div>", gap >= 0 ? "+" : "&minus;", b, bb);
    }
    fputs("</div>\n", o);
  }
  fputs("</div>\n", o);
}

/* A line chart of one series with an optional band (lo..hi), in an SVG of
   fixed viewBox that scales to the width of its figure. */
static void line_chart(page *pg, const char *id, const char *caption, const double *v,
                       const double *lo, const double *hi, const int64_t *n,
                       double ymin, double ymax, int kind) {
  FILE *o = pg->out;
  const double W = 640, H = 240, L = 44, R = 10, T = 10, B = 28;
  char lab[32], b[64];
  int any = 0;
  for (int i = 0; i < pg->nb; i++) any |= !isnan(v[i]);
  fprintf(o, "<figure id=\"%s\"><figcaption>%s</figcaption>\n", id, caption);
  if (!any) {
    fputs("<p class=\"empty\">No data in the period.</p></figure>\n", o);
    return;
  }
  /* Tighten the range to the data (and bands), keeping the natural limits. */
  double dmin = INFINITY, dmax = -INFINITY;
  for (int i = 0; i < pg->nb; i++) {
    double a = lo && !isnan(lo[i]) ? lo[i] : v[i], c = hi && !isnan(hi[i]) ? hi[i] : v[i];
    if (!isnan(a) && a < dmin) dmin = a;
    if (!isnan(c) && c > dmax) dmax = c;
  }
  double pad = (dmax - dmin) * 0.1 + 1;
  if (dmin - pad > ymin) ymin = floor(dmin - pad);
  if (dmax + pad < ymax) ymax = ceil(dmax + pad);
  if (ymax <= ymin) ymax = ymin + 1;
  double dx = pg->nb > 1 ? (W - L - R) / (pg->nb - 1) : 0;
#define X(i) (L + (pg->nb > 1 ? (i) * dx : (W - L - R) / 2))
#define Y(y) (T + (H - T - B) * (1 - ((y) - ymin) / (ymax - ymin)))
  fprintf(o, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n", W, H, caption);
  for (int g = 0; g <= 4; g++) {
    double y = ymin + (ymax - ymin) * g / 4;
    fprintf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d7dde4\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
            L, W - R, Y(y), Y(y), L - 4, Y(y) + 4, y);
  }
  /* Band: one polygon per run of defined points. */
  if (lo && hi) {
    int i = 0;
    while (i < pg->nb) {
      while (i < pg->nb && (isnan(lo[i]) || isnan(hi[i]))) i++;
      int j = i;
      while (j < pg->nb && !isnan(lo[j]) && !isnan(hi[j])) j++;
      if (j > i) {
        fputs("<polygon class=\"band\" fill=\"#bfd3fb\" fill-opacity=\"0.6\" points=\"", o);
        for (int k = i; k < j; k++) fprintf(o, "%.1f,%.1f ", X(k), Y(hi[k]));
        for (int k = j - 1; k >= i; k--) fprintf(o, "%.1f,%.1f ", X(k), Y(lo[k]));
        fputs("\"/>\n", o);
      }
      i = j;
    }
  }
  fputs("<polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\" points=\"", o);
  for (int i = 0; i < pg->nb; i++)
    if (!isnan(v[i])) fprintf(o, "%.1f,%.1f ", X(i), Y(v[i]));
  fputs("\"/>\n", o);
  for (int i = 0; i < pg->nb; i++) {
    bucket_label(lab, pg->bucket, pg->starts[i], pg->utc_offset);
    if (!isnan(v[i])) {
      show_num(b, sizeof b, v[i], kind, pg->decimals);
      fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#2563eb\" data-bucket=\"%s\" "
              "data-value=\"", X(i), Y(v[i]), lab);
      attr_num(o, v[i]);
      fprintf(o, "\" data-n=\"%" PRId64 "\"", n[i]);
      if (lo && hi && !isnan(lo[i])) {
        fputs(" data-lo=\"", o);
        attr_num(o, lo[i]);
        fputs("\" data-hi=\"", o);
        attr_num(o, hi[i]);
        fputs("\"", o);
      }
      fprintf(o, "><title>%s: %s (n = %" PRId64 ")</title></circle>\n", lab, b, n[i]);
    }
  }
  /* A few x labels: first, middle, last. */
  int ticks[3] = {0, pg->nb / 2, pg->nb - 1};
  for (int k = 0; k < 3; k++) {
    if (k && ticks[k] == ticks[k - 1]) continue;
    bucket_label(lab, pg->bucket, pg->starts[ticks[k]], pg->utc_offset);
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n",
            X(ticks[k]), H - 8, k == 0 ? "start" : k == 2 ? "end" : "middle", lab);
  }
#undef X
#undef Y
  fputs("</svg></figure>\n", o);
}

static int trend_charts(page *pg) {
  size_t nb = (size_t)pg->nb;
  double *mem = calloc(nb * 6 + 1, sizeof(double));
  int64_t *nn = calloc(2 * nb + 1, sizeof(int64_t));
  if (!mem || !nn) {
    free(mem);
    free(nn);
    fprintf(stderr, "cxm dashboard: out of memory\n");
    return -1;
  }
  double *nps = mem, *nlo = mem + nb, *nhi = mem + 2 * nb, *cs = mem + 3 * nb,
         *clo = mem + 4 * nb, *chi = mem + 5 * nb;
  for (int i = 0; i < pg->nb; i++) {
    int64_t from = pg->starts[i], to = pg->starts[i + 1], m;
    nps[i] = kpi_all(pg, CXM_KPI_NPS, CXM_ALL, CXM_ALL, from, to, &nn[i]);
    double moe = kpi_all(pg, CXM_KPI_NPS_MOE95, CXM_ALL, CXM_ALL, from, to, &m);
    nlo[i] = isnan(nps[i]) || isnan(moe) ? NAN : fmax(-100, nps[i] - moe);
    nhi[i] = isnan(nps[i]) || isnan(moe) ? NAN : fmin(100, nps[i] + moe);
    cs[i] = kpi_all(pg, CXM_KPI_CSAT, CXM_ALL, CXM_ALL, from, to, &nn[nb + i]);
    wilson95(cs[i], nn[nb + i], 100.0, &clo[i], &chi[i]);
  }
  fputs("<h2>Over time</h2>\n<div class=\"charts\">\n", pg->out);
  line_chart(pg, "nps-chart", "NPS by bucket, with its 95% margin of error", nps, nlo, nhi,
             nn, -100, 100, 'p');
  line_chart(pg, "csat-chart", "CSAT (% of 4-5) by bucket, with its 95% Wilson interval",
             cs, clo, chi, nn + nb, 0, 100, '%');
  fputs("</div>\n", pg->out);
  free(mem);
  free(nn);
  return 0;
}

static void funnel(page *pg) {
  FILE *o = pg->out;
  static const char *const names[4] = {"awareness", "engagement", "transaction", "retention"};
  int64_t cust[4];
  double conv[4], med[4];
  int64_t drop[4];
  fputs("<h2>Journey funnel</h2>\n", o);
  for (int s = 0; s < 4; s++) {
    if (cxm_funnel_get(pg->ctx, CXM_ALL, CXM_ALL, s + 1, &cust[s], &conv[s], &drop[s]) !=
        CXM_OK) {
      fputs("<p class=\"empty\">The funnel module is off.</p>\n", o);
      return;
    }
    int64_t n;
    if (cxm_funnel_days(pg->ctx, CXM_ALL, CXM_ALL, s + 1, 0.5, &med[s], &n) != CXM_OK)
      med[s] = NAN;
  }
  const double W = 900, rowh = 34;
  double maxc = cust[0] > 0 ? (double)cust[0] : 1;
  fprintf(o, "<figure id=\"funnel\"><figcaption>Customers reaching each stage; conversion "
          "from the previous stage, drop-off and median days between stages</figcaption>\n"
          "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"Journey funnel\">\n",
          W, rowh * 4 + 6);
  for (int s = 0; s < 4; s++) {
    double w = (W - 480) * (double)cust[s] / maxc;
    double y = 4 + s * rowh;
    fprintf(o, "<g data-stage=\"%s\" data-customers=\"%" PRId64 "\" data-conversion=\"",
            names[s], cust[s]);
    attr_num(o, conv[s]);
    fprintf(o, "\" data-dropped=\"%" PRId64 "\" data-median-days=\"", drop[s]);
    attr_num(o, med[s]);
    fprintf(o, "\"><text x=\"0\" y=\"%.1f\" style=\"fill:#1b1f24\">%s</text>"
            "<rect x=\"100\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2563eb\" rx=\"3\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">%" PRId64,
            y + rowh / 2 + 4, names[s], y + 4, w > 1 ? w : 1, rowh - 10, 106 + w,
            y + rowh / 2 + 4, cust[s]);
    if (s > 0 && !isnan(conv[s]))
      fprintf(o, " &#183; %.1f%% of previous, %" PRId64 " dropped", 100 * conv[s], drop[s]);
    if (s > 0 && !isnan(med[s])) fprintf(o, " &#183; median %.1f d", med[s]);
    fputs("</text></g>\n", o);
  }
  fputs("</svg></figure>\n", o);
}

static void attribution(page *pg) {
  FILE *o = pg->out;
  int32_t nch = 0;
  char b[64], rb[64];
  const char *mname = cxm_attribution_model_name(pg->model);
  (void)cxm_channel_count(pg->ctx, &nch);
  fprintf(o, "<h2>Revenue and ROAS by channel (%s attribution)</h2>\n", mname ? mname : "?");
  double tot;
  if (cxm_attribution_get(pg->ctx, pg->model, CXM_ALL, NULL, &tot, NULL) != CXM_OK) {
    fputs("<p class=\"empty\">The attribution module is off.</p>\n", o);
    return;
  }
  if (nch == 0) {
    fputs("<p class=\"empty\">No channels.</p>\n", o);
    return;
  }
  double maxr = 0;
  for (int32_t c = 0; c < nch; c++) {
    double r = 0;
    if (cxm_attribution_get(pg->ctx, pg->model, c, NULL, &r, NULL) == CXM_OK && r > maxr)
      maxr = r;
  }
  if (maxr <= 0) maxr = 1;
  const double W = 900, rowh = 24;
  fprintf(o, "<figure id=\"attribution\" data-model=\"%s\"><figcaption>Attributed revenue "
          "per channel; ROAS = attributed revenue / spend</figcaption>\n"
          "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"Revenue by channel\">\n",
          mname ? mname : "", W, rowh * nch + 6);
  for (int32_t c = 0; c < nch; c++) {
    const char *label;
    size_t len;
    double ord = NAN, rev = NAN, roas = NAN;
    (void)cxm_channel_label(pg->ctx, c, &label, &len);
    (void)cxm_attribution_get(pg->ctx, pg->model, c, &ord, &rev, &roas);
    double w = (W - 420) * (isnan(rev) ? 0 : rev) / maxr, y = 3 + c * rowh;
    show_num(b, sizeof b, rev, '$', pg->decimals);
    show_num(rb, sizeof rb, roas, 'x', pg->decimals);
    fputs("<g data-channel=\"", o);
    html_text(o, label, len);
    fputs("\" data-revenue=\"", o);
    attr_num(o, rev);
    fputs("\" data-orders=\"", o);
    attr_num(o, ord);
    fputs("\" data-roas=\"", o);
    attr_num(o, roas);
    fprintf(o, "\"><text x=\"0\" y=\"%.1f\" style=\"fill:#1b1f24\">", y + rowh / 2 + 3);
    html_text(o, label, len > 18 ? 18 : len);
    fprintf(o, "</text><rect x=\"130\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#0f766e\" rx=\"2\"/><text x=\"%.1f\" y=\"%.1f\">%s &#183; ROAS %s</text></g>\n",
            y + 3, w > 1 ? w : 1, rowh - 8, 136 + w, y + rowh / 2 + 3, b, rb);
  }
  fputs("</svg></figure>\n", o);
}

static void segments_table(page *pg) {
  FILE *o = pg->out;
  int32_t nseg = 0;
  (void)cxm_segment_count(pg->ctx, &nseg);
  static const tile_def COLS[] = {
    {"nps", CXM_KPI_NPS, 'p', "NPS"},
    {"csat", CXM_KPI_CSAT, '%', "CSAT"},
    {"revenue", CXM_KPI_REVENUE, '$', "Revenue"},
    {"orders", CXM_KPI_ORDERS, 'c', "Orders"},
    {"buyers", CXM_KPI_BUYERS, 'c', "Buyers"},
    {"aov", CXM_KPI_AOV, '$', "AOV"},
    {"repeat_purchase_rate", CXM_KPI_REPEAT_PURCHASE_RATE, 'r', "Repeat"},
    {"clv_historical", CXM_KPI_CLV_HISTORICAL, '$', "CLV"},
    {"engagement_rate", CXM_KPI_ENGAGEMENT_RATE, 'x', "Engagement"},
  };
  size_t ncols = sizeof COLS / sizeof COLS[0];
  char b[64];
  fputs("<h2>Segments</h2>\n", o);
  if (nseg == 0) {
    fputs("<p class=\"empty\">No segments.</p>\n", o);
    return;
  }
  fputs("<div class=\"scroll\"><table id=\"segments\"><thead><tr><th>Segment</th>", o);
  for (size_t k = 0; k < ncols; k++) fprintf(o, "<th>%s</th>", COLS[k].title);
  fputs("</tr></thead><tbody>\n", o);
  for (int32_t s = -1; s < nseg; s++) {
    const char *label = "All customers";
    size_t len = strlen(label);
    if (s >= 0) (void)cxm_segment_label(pg->ctx, s, &label, &len);
    fputs("<tr data-segment=\"", o);
    if (s >= 0) html_text(o, label, len);
    fputs("\"><td>", o);
    html_text(o, label, len);
    fputs("</td>", o);
    for (size_t k = 0; k < ncols; k++) {
      double v = kpi_all(pg, COLS[k].id, s < 0 ? CXM_ALL : s, CXM_ALL, CXM_TIME_MIN,
                         CXM_TIME_MAX, NULL);
      show_num(b, sizeof b, v, COLS[k].kind, pg->decimals);
      fprintf(o, "<td data-kpi=\"%s\" data-value=\"", COLS[k].key);
      attr_num(o, v);
      fprintf(o, "\">%s</td>", b);
    }
    fputs("</tr>\n", o);
  }
  fputs("</tbody></table></div>\n", o);
}

#define COHORT_MONTHS 24 /* the heat map shows the latest cohorts and months */

static void cohorts(page *pg) {
  FILE *o = pg->out;
  int32_t first = 0, months = 0;
  fputs("<h2>Cohort retention</h2>\n", o);
  if (cxm_cohort_span(pg->ctx, &first, &months) != CXM_OK) {
    fputs("<p class=\"empty\">The retention module is off.</p>\n", o);
    return;
  }
  if (months == 0) {
    fputs("<p class=\"empty\">No purchases.</p>\n", o);
    return;
  }
  int32_t from = months > COHORT_MONTHS ? first + months - COHORT_MONTHS : first;
  int32_t cols = months < COHORT_MONTHS ? months : COHORT_MONTHS;
  fputs("<figure id=\"cohorts\"><figcaption>Share of each cohort (month of first purchase) "
        "that purchased k months later</figcaption><div class=\"scroll\">"
        "<table class=\"heat\"><thead><tr><th>Cohort</th><th>Size</th>", o);
  for (int32_t k = 0; k < cols; k++) fprintf(o, "<th>%d</th>", (int)k);
  fputs("</tr></thead><tbody>\n", o);
  for (int32_t m = from; m < first + months; m++) {
    int64_t size = 0, on[COHORT_MONTHS], after[COHORT_MONTHS];
    size_t n = 0;
    if (cxm_cohort_row(pg->ctx, m, &size, on, after, COHORT_MONTHS, &n) != CXM_OK) continue;
    fprintf(o, "<tr data-cohort=\"%04d-%02d\" data-size=\"%" PRId64 "\"><td>%04d-%02d</td>"
            "<td>%" PRId64 "</td>", (int)(m / 12), (int)(m % 12 + 1), size, (int)(m / 12),
            (int)(m % 12 + 1), size);
    for (size_t k = 0; k < (size_t)cols; k++) {
      if (k >= n || size == 0) {
        fputs("<td></td>", o);
        continue;
      }
      double share = (double)on[k] / (double)size;
      /* White to blue; dark cells get light text. */
      int shade = (int)(255 - 190 * share);
      fprintf(o, "<td data-k=\"%zu\" data-share=\"", k);
      attr_num(o, share);
      fprintf(o, "\" style=\"background:rgb(%d,%d,255);color:%s\">%.0f%%</td>", shade,
              shade + (255 - shade) / 3, share > 0.55 ? "#fff" : "#1b1f24", 100 * share);
    }
    fputs("</tr>\n", o);
  }
  fputs("</tbody></table></div></figure>\n", o);
}

static int write_page(page *pg, const char *title) {
  FILE *o = pg->out;
  char t1[FMT_NUM_MAX], t2[FMT_NUM_MAX];
  int64_t events = 0, customers = 0;
  (void)cxm_stat_get(pg->ctx, CXM_STAT_EVENTS_ACCEPTED, &events);
  (void)cxm_stat_get(pg->ctx, CXM_STAT_CUSTOMERS, &customers);
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\"><title>", o);
  html_cstr(o, title);
  fprintf(o, "</title><style>%s</style></head><body><main>\n<h1>", CSS);
  html_cstr(o, title);
  fputs("</h1>\n<p class=\"meta\" id=\"meta\"", o);
  fprintf(o, " data-events=\"%" PRId64 "\" data-customers=\"%" PRId64 "\">", events, customers);
  if (events > 0) {
    fmt_iso_time(t1, pg->first, pg->utc_offset);
    fmt_iso_time(t2, pg->last, pg->utc_offset);
    fprintf(o, "%" PRId64 " events of %" PRId64 " customers, %.10s to %.10s; buckets: %s; "
            "libcxmetrics %s</p>\n", events, customers, t1, t2, bucket_name(pg->bucket),
            cxm_version_string());
  } else {
    fprintf(o, "No events. libcxmetrics %s</p>\n", cxm_version_string());
  }
  tiles(pg);
  if (trend_charts(pg) != 0) return -1;
  funnel(pg);
  cohorts(pg);
  attribution(pg);
  segments_table(pg);
  fputs("</main></body></html>\n", o);
  return ferror(o) ? -1 : 0;
}

/* ---- the command -------------------------------------------------------------- */

/* CSV messages name their line already ("line 12: ..."). */
static void on_reject(void *user, uint64_t line, int status, const char *msg) {
  uint64_t *count = user;
  (void)status;
  if (++*count <= 20) {
    if (strncmp(msg, "line ", 5) == 0) fprintf(stderr, "cxm dashboard: %s\n", msg);
    else fprintf(stderr, "cxm dashboard: line %" PRIu64 ": %s\n", line, msg);
  }
}

static int parse_offset(const char *s, int64_t *out) {
  int sign = 1, hh, mm;
  if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
  else return -1;
  if (sscanf(s, "%2d:%2d", &hh, &mm) != 2 || hh > 14 || mm > 59 || strlen(s) != 5) return -1;
  *out = sign * (hh * 3600 + mm * 60);
  return 0;
}

static int model_parse(const char *s) {
  for (int m = 1; m <= 5; m++) {
    const char *n = cxm_attribution_model_name(m);
    if (n && strcmp(n, s) == 0) return m;
  }
  return -1;
}

int dashboard_main(int argc, char **argv) {
  dash_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc == -1) return 0;
  if (rc) return rc;
  if (!a.output) return usage("%s", "-o REPORT.html is required");
  if (a.nfiles == 0 && !a.snapshot) return usage("%s", "no input file (use - for stdin)");
  if (a.nfiles > 0 && a.snapshot) return usage("%s", "--snapshot excludes input files");
  page *pg = calloc(1, sizeof *pg);
  if (!pg) return 1;
  int status = 1, fmt = INPUT_AUTO;
  pg->model = CXM_ATTR_LINEAR;
  if (a.model && (pg->model = model_parse(a.model)) < 0) {
    free(pg);
    return usage("unknown attribution model '%s'", a.model);
  }
  if (a.input && (fmt = input_format_parse(a.input)) < 0) {
    free(pg);
    return usage("--input must be auto, csv or jsonl, not '%s'", a.input);
  }
  if (a.bucket && bucket_parse(a.bucket) < 0) {
    free(pg);
    return usage("--bucket must be day, week or month, not '%s'", a.bucket);
  }
  cxm_ctx *ctx = NULL;
  if (cxm_ctx_create(&ctx) != CXM_OK) {
    free(pg);
    return 1;
  }
  pg->ctx = ctx;
  if (a.utc_offset) {
    int64_t off;
    if (parse_offset(a.utc_offset, &off) ||
        cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, off) != CXM_OK) {
      status = usage("--utc-offset: not +hh:mm: '%s'", a.utc_offset);
      goto out;
    }
  }
  if (a.decimals) {
    char *end;
    long d = strtol(a.decimals, &end, 10);
    if (*end || cxm_option_set(ctx, CXM_OPT_DECIMALS, d) != CXM_OK) {
      status = usage("--decimals: not 0..6: '%s'", a.decimals);
      goto out;
    }
  }
  if (a.snapshot) {
    if ((rc = cxm_snapshot_load_file(ctx, a.snapshot)) != CXM_OK) {
      fprintf(stderr, "cxm dashboard: %s: %s\n", a.snapshot, cxm_ctx_errmsg(ctx));
      goto out;
    }
  }
  uint64_t rejected = 0;
  for (int f = 0; f < a.nfiles; f++) {
    uint64_t lines, acc, rej;
    rc = input_feed_file(ctx, a.files[f], fmt, on_reject, &rejected, &lines, &acc, &rej);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm dashboard: %s: %s\n", a.files[f], cxm_ctx_errmsg(ctx));
      goto out;
    }
  }
  if (rejected > 20)
    fprintf(stderr, "cxm dashboard: %" PRIu64 " lines rejected in all\n", rejected);
  for (int b = 0; b < a.nbench; b++) {
    const char *eq = strchr(a.bench[b], '=');
    int kpi;
    char *end;
    double v = eq ? strtod(eq + 1, &end) : NAN;
    if (!eq || *end || eq[1] == 0 ||
        cxm_kpi_from_name(a.bench[b], (size_t)(eq - a.bench[b]), &kpi) != CXM_OK ||
        cxm_benchmark_set(ctx, kpi, CXM_ALL, CXM_ALL, v) != CXM_OK) {
      status = usage("--benchmark: not KPI=VALUE with a report key: '%s'", a.bench[b]);
      goto out;
    }
  }
  int64_t decimals = 2;
  (void)cxm_option_get(ctx, CXM_OPT_DECIMALS, &decimals);
  (void)cxm_option_get(ctx, CXM_OPT_UTC_OFFSET, &pg->utc_offset);
  pg->decimals = (int)decimals;
  (void)cxm_stat_get(ctx, CXM_STAT_FIRST_TIME, &pg->first);
  (void)cxm_stat_get(ctx, CXM_STAT_LAST_TIME, &pg->last);
  int64_t events = 0;
  (void)cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &events);
  if (a.bucket) {
    pg->bucket = bucket_parse(a.bucket);
  } else {
    int64_t span = (pg->last - pg->first) / 86400;
    pg->bucket = span <= 62 ? BUCKET_DAY : span <= 731 ? BUCKET_WEEK : BUCKET_MONTH;
  }
  pg->nb = events > 0 ? buckets_make(ctx, pg->bucket, pg->first, pg->last, pg->starts,
                                     CHART_BUCKETS)
                      : 0;
  if (pg->nb < 0) pg->nb = 0;
  FILE *out = strcmp(a.output, "-") == 0 ? stdout : fopen(a.output, "w");
  if (!out) {
    perror(a.output);
    goto out;
  }
  pg->out = out;
  rc = write_page(pg, a.title ? a.title : "Customer experience");
  if (out != stdout && fclose(out) != 0) rc = -1;
  if (rc != 0) {
    fprintf(stderr, "cxm dashboard: cannot write '%s'\n", a.output);
    goto out;
  }
  status = 0;
out:
  cxm_ctx_destroy(ctx);
  free(pg);
  return status;
}
