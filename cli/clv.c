/*
 * clv.c - `cxm clv`: predictive CLV (BG/NBD, Gamma-Gamma, RFM) from
 * canonical CSV event files, as text or JSON (docs/clv.md).
 *
 * Purchases after the as-of day are dropped before the library sees them:
 * each record's time field is read here, and records past the day are fed
 * as the same number of empty lines, so the reader's line numbers stay
 * those of the file.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clvcmd.h"
#include "cxmetrics.h"
#include "fmt.h"

#define EXIT_USAGE 2

const char CLV_USAGE[] =
  "Usage: cxm clv [OPTION]... FILE...\n"
  "Fit BG/NBD and Gamma-Gamma on the purchases of canonical CSV event files\n"
  "(`-` = standard input) and print the parameters and the customers with the\n"
  "highest predicted CLV.\n"
  "\n"
  "  --format FMT       text (default) or json\n"
  "  --as-of DAY        the last day of the data (YYYY-MM-DD or any time of\n"
  "                     the day): later events are ignored; default: the day\n"
  "                     of the newest event\n"
  "  --unit U           days (default) or weeks: recency, age, horizon\n"
  "  --segment LABEL    fit and predict only customers holding this segment\n"
  "  --horizon N        prediction horizon in units (default 365 days or 52\n"
  "                     weeks)\n"
  "  --discount D       discount rate per unit, >= 0 (default 0)\n"
  "  --top N            customers listed, by predicted CLV (default 10)\n"
  "  --period-days N    purchases within one period of N days count once\n"
  "                     (default 1)\n"
  "  --utc-offset +hh:mm offset of the days from UTC (default +00:00)\n"
  "  --penalty L        L2 penalty on the parameters (default 0)\n"
  "  --key-hex HEX32    16-byte customer-hash key as 32 hex digits (default:\n"
  "                     random per run; fix it to compare customer hashes)\n"
  "  -h, --help         show this help\n"
  "\n"
  "Customers are shown by their keyed hash (ids are never stored). Orders of\n"
  "amount 0 count as purchases; a customer whose repeat purchases average 0\n"
  "is left out of the Gamma-Gamma fit (reported as zero_spend_customers).\n"
  "Exit status: 0 = written, 1 = an input cannot be read or the model cannot\n"
  "be fitted, 2 = bad usage.\n";

typedef struct clv_args {
  const char *format, *as_of, *unit, *segment, *horizon, *discount, *top, *period,
      *utc_offset, *penalty, *key_hex;
  int nfiles;
  char **files;
} clv_args;

static int usage(const char *fmt, const char *arg) {
  fputs("cxm clv: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'cxm clv --help'.\n", stderr);
  return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, clv_args *a) {
  static const struct {
    const char *name;
    size_t off;
  } opts[] = {
    {"format", offsetof(clv_args, format)},     {"as-of", offsetof(clv_args, as_of)},
    {"unit", offsetof(clv_args, unit)},         {"segment", offsetof(clv_args, segment)},
    {"horizon", offsetof(clv_args, horizon)},   {"discount", offsetof(clv_args, discount)},
    {"top", offsetof(clv_args, top)},           {"period-days", offsetof(clv_args, period)},
    {"utc-offset", offsetof(clv_args, utc_offset)}, {"penalty", offsetof(clv_args, penalty)},
    {"key-hex", offsetof(clv_args, key_hex)},
  };
  int only_files = 0;
  memset(a, 0, sizeof *a);
  a->files = argv;
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (only_files || arg[0] != '-' || strcmp(arg, "-") == 0) {
      a->files[a->nfiles++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_files = 1;
      continue;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      fputs(CLV_USAGE, stdout);
      return -1;
    }
    if (strncmp(arg, "--", 2) != 0) return usage("unknown option '%s'", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name), k;
    for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
      if (strlen(opts[k].name) == nlen && memcmp(opts[k].name, name, nlen) == 0) break;
    if (k == sizeof opts / sizeof opts[0]) return usage("unknown option '%s'", arg);
    const char *val;
    if (eq) {
      val = eq + 1;
    } else {
      if (i + 1 >= argc) return usage("option '%s' needs a value", arg);
      val = argv[++i];
    }
    *(const char **)((char *)a + opts[k].off) = val;
  }
  return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || errno || !(v >= lo && v <= hi)) return -1;
  *out = v;
  return 0;
}

static int parse_offset(const char *s, int64_t *out) {
  int hh, mm = 0;
  char sign, rest;
  if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) {
    *out = 0;
    return 0;
  }
  if (sscanf(s, "%c%2d:%2d%c", &sign, &hh, &mm, &rest) != 3 &&
      sscanf(s, "%c%2d%c", &sign, &hh, &rest) != 2)
    return -1;
  if ((sign != '+' && sign != '-') || hh > 14 || mm > 59) return -1;
  *out = (sign == '-' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
  return 0;
}

static int parse_key(const char *s, uint8_t key[CXM_KEY_SIZE]) {
  if (strlen(s) != 2 * CXM_KEY_SIZE) return -1;
  for (int i = 0; i < 2 * CXM_KEY_SIZE; i++) {
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
    if (v < 0) return -1;
    if (i % 2 == 0) key[i / 2] = (uint8_t)(v << 4);
    else key[i / 2] |= (uint8_t)v;
  }
  return 0;
}

/* ---- reading with the as-of cut ------------------------------------------------- */

static int read_all(const char *path, char **data, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int err = ferror(f) || !buf;
  if (f != stdin) fclose(f);
  if (err) {
    free(buf);
    return -1;
  }
  *data = buf;
  *len = n;
  return 0;
}

/* The next record of data[pos..len): its end (after the line end) and the
   bytes of field `col` (quotes removed only at the ends; enough for a
   header name or a time). */
static size_t next_record(const char *d, size_t pos, size_t len, int col, const char **fs,
                          size_t *fl) {
  int inq = 0, c = 0;
  size_t start = pos;
  *fs = NULL;
  *fl = 0;
  size_t i;
  for (i = pos; i < len; i++) {
    char ch = d[i];
    if (inq) {
      if (ch == '"') inq = 0;
      continue;
    }
    if (ch == '"') inq = 1;
    else if (ch == ',' || ch == '\n') {
      if (c == col) {
        *fs = d + start;
        *fl = i - start;
      }
      c++;
      start = i + 1;
      if (ch == '\n') return i + 1;
    }
  }
  if (c == col) {
    *fs = d + start;
    *fl = i - start;
  }
  return len;
}

static void trim(const char **s, size_t *n) {
  while (*n && (**s == ' ' || **s == '\t' || **s == '"')) (*s)++, (*n)--;
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '"' ||
                (*s)[*n - 1] == '\r'))
    (*n)--;
}

/* Blanks every record whose time is after the as-of day (in place). */
static void cut_after(cxm_ctx *ctx, char *d, size_t len, int64_t as_of_day) {
  size_t pos = 0;
  int tcol = -1;
  /* header: the first non-blank record */
  while (pos < len) {
    const char *f;
    size_t fl, end = next_record(d, pos, len, 0, &f, &fl);
    int blank = end - pos <= 2 && (d[pos] == '\n' || d[pos] == '\r');
    if (!blank) {
      for (int c = 0; c < 64 && tcol < 0; c++) {
        next_record(d, pos, len, c, &f, &fl);
        if (!f) break;
        trim(&f, &fl);
        if (fl >= 3 && f[0] == '\xEF' && pos == 0 && c == 0) f += 3, fl -= 3;
        if (fl == 4 && (f[0] | 32) == 't' && (f[1] | 32) == 'i' && (f[2] | 32) == 'm' &&
            (f[3] | 32) == 'e')
          tcol = c;
      }
      pos = end;
      break;
    }
    pos = end;
  }
  if (tcol < 0) return; /* the reader reports the header */
  while (pos < len) {
    const char *f;
    size_t fl, end = next_record(d, pos, len, tcol, &f, &fl);
    if (f) {
      trim(&f, &fl);
      int64_t t, day;
      if (cxm_time_parse(ctx, f, fl, &t) == CXM_OK && cxm_time_day(ctx, t, &day) == CXM_OK &&
          day > as_of_day)
        for (size_t i = pos; i < end; i++)
          if (d[i] != '\n') d[i] = ' ';
    }
    pos = end;
  }
}

/* A line of spaces is not blank to the reader: turn such runs into bare
   line ends. */
static size_t squeeze_blank_lines(char *d, size_t len) {
  size_t w = 0, ls = 0;
  for (size_t i = 0; i < len; i++) {
    d[w++] = d[i];
    if (d[i] == '\n') {
      size_t k;
      for (k = ls; k < w - 1 && d[k] == ' '; k++) {
      }
      if (k == w - 1 && w - 1 > ls) {
        w = ls;
        d[w++] = '\n';
      }
      ls = w;
    }
  }
  return w;
}

typedef struct sink {
  const char *file;
  uint64_t printed;
} sink;

static void on_reject(void *user, uint64_t line, int status, const char *msg) {
  sink *s = user;
  if (s->printed++ < 20)
    fprintf(stderr, "%s:%" PRIu64 ": %s\n", s->file, line,
            msg && *msg ? msg : cxm_strerror(status));
}

/* ---- output ------------------------------------------------------------------------- */

static void civil(int64_t day, char buf[16]) {
  int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  snprintf(buf, 16, "%04d-%02d-%02d", (int)(y + (m <= 2)), (int)m, (int)d);
}

static void jnum(FILE *o, const char *key, double v, int comma) {
  char b[FMT_NUM_MAX];
  fmt_json_double(b, v);
  fprintf(o, "\"%s\": %s%s", key, b, comma ? ", " : "");
}

typedef struct row {
  uint32_t i;
  double clv;
} row;

static int by_clv(const void *pa, const void *pb) {
  const row *a = pa, *b = pb;
  double x = isnan(a->clv) ? -INFINITY : a->clv, y = isnan(b->clv) ? -INFINITY : b->clv;
  if (x != y) return x < y ? 1 : -1;
  return a->i < b->i ? -1 : a->i > b->i;
}

static double get(const cxm_clv_model *m, int what) {
  double v = NAN;
  (void)cxm_clv_model_get(m, what, &v);
  return v;
}

static int write_out(const cxm_clv_model *m, int json, double H, double disc, size_t top,
                     const char *unit, const char *segment, FILE *o) {
  size_t n = (size_t)get(m, CXM_CLV_CUSTOMERS);
  uint64_t *hash = malloc(n * sizeof *hash);
  double *col = malloc(8 * n * sizeof *col);
  uint8_t *rfm = malloc(3 * n);
  int32_t *seg = malloc(n * sizeof *seg);
  row *rows = malloc(n * sizeof *rows);
  if (!hash || !col || !rfm || !seg || !rows) {
    fprintf(stderr, "cxm clv: out of memory\n");
    free(hash), free(col), free(rfm), free(seg), free(rows);
    return -1;
  }
  double *x = col, *tx = col + n, *T = col + 2 * n, *ms = col + 3 * n, *pa = col + 4 * n,
         *e = col + 5 * n, *sp = col + 6 * n, *c = col + 7 * n;
  int rc = cxm_clv_model_customers(m, n, hash, x, tx, T, ms, NULL);
  if (rc == CXM_OK) rc = cxm_clv_predict(m, H, disc, n, pa, e, sp, c);
  if (rc == CXM_OK) rc = cxm_rfm_scores(m, n, rfm, rfm + n, rfm + 2 * n, seg);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm clv: %s\n", cxm_strerror(rc));
    free(hash), free(col), free(rfm), free(seg), free(rows);
    return -1;
  }
  double tot_e = 0, tot_c = 0, tot_pa = 0;
  size_t nseg[9] = {0};
  for (size_t i = 0; i < n; i++) {
    rows[i] = (row){(uint32_t)i, c[i]};
    tot_e += e[i];
    tot_c += c[i];
    tot_pa += pa[i];
    nseg[seg[i]]++;
  }
  qsort(rows, n, sizeof *rows, by_clv);
  if (top > n) top = n;
  char day[16];
  civil((int64_t)get(m, CXM_CLV_AS_OF_DAY), day);
  if (json) {
    fprintf(o, "{\"customers\": %zu, \"as_of\": \"%s\", \"unit\": \"%s\", ", n, day, unit);
    if (segment) {
      fputs("\"segment\": ", o);
      fmt_json_string(o, segment, strlen(segment));
      fputs(", ", o);
    }
    jnum(o, "horizon", H, 1);
    jnum(o, "discount", disc, 0);
    fputs(",\n \"bgnbd\": {", o);
    jnum(o, "r", get(m, CXM_CLV_R), 1);
    jnum(o, "alpha", get(m, CXM_CLV_ALPHA), 1);
    jnum(o, "a", get(m, CXM_CLV_A), 1);
    jnum(o, "b", get(m, CXM_CLV_B), 1);
    jnum(o, "loglik", get(m, CXM_CLV_LOGLIK), 1);
    fprintf(o, "\"converged\": %s, \"se\": {", get(m, CXM_CLV_CONVERGED) ? "true" : "false");
    jnum(o, "r", get(m, CXM_CLV_SE_R), 1);
    jnum(o, "alpha", get(m, CXM_CLV_SE_ALPHA), 1);
    jnum(o, "a", get(m, CXM_CLV_SE_A), 1);
    jnum(o, "b", get(m, CXM_CLV_SE_B), 0);
    fputs("}},\n \"gamma_gamma\": {", o);
    jnum(o, "p", get(m, CXM_CLV_P), 1);
    jnum(o, "q", get(m, CXM_CLV_Q), 1);
    jnum(o, "v", get(m, CXM_CLV_V), 1);
    jnum(o, "loglik", get(m, CXM_CLV_GG_LOGLIK), 1);
    fprintf(o, "\"converged\": %s, \"customers\": %.0f, \"zero_spend_customers\": %.0f},\n",
            get(m, CXM_CLV_GG_CONVERGED) ? "true" : "false", get(m, CXM_CLV_GG_CUSTOMERS),
            get(m, CXM_CLV_GG_ZERO_SPEND));
    fputs(" \"totals\": {", o);
    jnum(o, "p_alive_mean", n ? tot_pa / n : NAN, 1);
    jnum(o, "expected_purchases", tot_e, 1);
    jnum(o, "clv", tot_c, 0);
    fputs("},\n \"rfm_segments\": {", o);
    for (int s = CXM_RFM_CHAMPIONS; s <= CXM_RFM_LOST; s++)
      fprintf(o, "\"%s\": %zu%s", cxm_rfm_segment_name(s), nseg[s], s < CXM_RFM_LOST ? ", " : "");
    fputs("},\n \"top\": [", o);
    for (size_t k = 0; k < top; k++) {
      uint32_t i = rows[k].i;
      fprintf(o, "%s\n  {\"customer_hash\": \"%016" PRIx64 "\", ", k ? "," : "", hash[i]);
      jnum(o, "x", x[i], 1);
      jnum(o, "t_x", tx[i], 1);
      jnum(o, "T", T[i], 1);
      jnum(o, "mean_spend", ms[i], 1);
      jnum(o, "p_alive", pa[i], 1);
      jnum(o, "expected_purchases", e[i], 1);
      jnum(o, "expected_spend", sp[i], 1);
      jnum(o, "clv", c[i], 1);
      fprintf(o, "\"rfm\": \"%u%u%u\", \"rfm_segment\": \"%s\"}", rfm[i], rfm[n + i],
              rfm[2 * n + i], cxm_rfm_segment_name(seg[i]));
    }
    fputs("\n ]}\n", o);
  } else {
    fprintf(o, "Predictive CLV as of %s, unit %s, horizon %g, discount %g per unit%s%s\n", day,
            unit, H, disc, segment ? ", segment " : "", segment ? segment : "");
    fprintf(o, "customers %zu, groups %.0f\n\n", n, get(m, CXM_CLV_GROUPS));
    fprintf(o, "BG/NBD       r %.4f (se %.4f)  alpha %.4f (se %.4f)  a %.4f (se %.4f)"
               "  b %.4f (se %.4f)\n             log-likelihood %.2f, %s\n",
            get(m, CXM_CLV_R), get(m, CXM_CLV_SE_R), get(m, CXM_CLV_ALPHA),
            get(m, CXM_CLV_SE_ALPHA), get(m, CXM_CLV_A), get(m, CXM_CLV_SE_A), get(m, CXM_CLV_B),
            get(m, CXM_CLV_SE_B), get(m, CXM_CLV_LOGLIK),
            get(m, CXM_CLV_CONVERGED) ? "converged" : "NOT converged");
    fprintf(o, "Gamma-Gamma  p %.4f  q %.4f  v %.4f  log-likelihood %.2f, %s\n"
               "             %.0f customers (x > 0, positive mean spend), %.0f left out "
               "(repeat purchases of amount 0)\n",
            get(m, CXM_CLV_P), get(m, CXM_CLV_Q), get(m, CXM_CLV_V), get(m, CXM_CLV_GG_LOGLIK),
            get(m, CXM_CLV_GG_CONVERGED) ? "converged" : "not fitted or NOT converged",
            get(m, CXM_CLV_GG_CUSTOMERS), get(m, CXM_CLV_GG_ZERO_SPEND));
    fprintf(o, "Totals       mean P(alive) %.4f, expected purchases %.2f, CLV %.2f\n",
            n ? tot_pa / n : NAN, tot_e, tot_c);
    fputs("RFM segments", o);
    for (int s = CXM_RFM_CHAMPIONS; s <= CXM_RFM_LOST; s++)
      fprintf(o, " %s %zu%s", cxm_rfm_segment_name(s), nseg[s], s < CXM_RFM_LOST ? "," : "\n");
    fprintf(o, "\n%-16s %6s %8s %8s %8s %8s %9s %9s %10s  %s\n", "customer_hash", "x", "t_x",
            "T", "spend", "p_alive", "expected", "exp_spend", "clv", "rfm");
    for (size_t k = 0; k < top; k++) {
      uint32_t i = rows[k].i;
      fprintf(o, "%016" PRIx64 " %6.0f %8.2f %8.2f %8.2f %8.4f %9.4f %9.2f %10.2f  %u%u%u %s\n",
              hash[i], x[i], tx[i], T[i], ms[i], pa[i], e[i], sp[i], c[i], rfm[i], rfm[n + i],
              rfm[2 * n + i], cxm_rfm_segment_name(seg[i]));
    }
  }
  free(hash), free(col), free(rfm), free(seg), free(rows);
  return 0;
}

int cmd_clv(int argc, char **argv) {
  clv_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc == -1) return EXIT_SUCCESS;
  if (rc) return rc;
  if (a.nfiles == 0) return usage("%s", "no input file (use - for standard input)");
  int json = 0;
  if (a.format && strcmp(a.format, "json") == 0) json = 1;
  else if (a.format && strcmp(a.format, "text") != 0)
    return usage("--format must be text or json, not '%s'", a.format);
  int32_t unit = CXM_CLV_DAYS;
  if (a.unit && strcmp(a.unit, "weeks") == 0) unit = CXM_CLV_WEEKS;
  else if (a.unit && strcmp(a.unit, "days") != 0)
    return usage("--unit must be days or weeks, not '%s'", a.unit);
  double H = unit == CXM_CLV_WEEKS ? 52 : 365, disc = 0, top = 10, period = 1, pen = 0;
  if (a.horizon && parse_num(a.horizon, 0, 1e6, &H)) return usage("--horizon: '%s'", a.horizon);
  if (a.discount && parse_num(a.discount, 0, 1e6, &disc))
    return usage("--discount: '%s' is not a rate >= 0", a.discount);
  if (a.top && (parse_num(a.top, 0, 1e9, &top) || top != floor(top)))
    return usage("--top: '%s' is not a count", a.top);
  if (a.period && (parse_num(a.period, 1, 366, &period) || period != floor(period)))
    return usage("--period-days: '%s' is not a count 1..366", a.period);
  if (a.penalty && parse_num(a.penalty, 0, 1e300, &pen))
    return usage("--penalty: '%s' is not a number >= 0", a.penalty);

  cxm_ctx *ctx = NULL;
  cxm_clv_model *m = NULL;
  int status = EXIT_FAILURE;
  if (cxm_ctx_create(&ctx) != CXM_OK) {
    fprintf(stderr, "cxm clv: cannot create a handle\n");
    return EXIT_FAILURE;
  }
  int64_t off = 0, as_of = CXM_TIME_MAX, as_of_day = INT64_MAX;
  if (a.utc_offset && (parse_offset(a.utc_offset, &off) ||
                       cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, off) != CXM_OK)) {
    status = usage("--utc-offset: '%s' is not an offset +hh:mm", a.utc_offset);
    goto out;
  }
  (void)cxm_option_set(ctx, CXM_OPT_CLV_PERIOD_DAYS, (int64_t)period);
  if (a.key_hex) {
    uint8_t key[CXM_KEY_SIZE];
    if (parse_key(a.key_hex, key) || cxm_key_set(ctx, key, sizeof key) != CXM_OK) {
      status = usage("--key-hex: '%s' is not 32 hex digits", a.key_hex);
      goto out;
    }
  }
  if (a.as_of) {
    if (cxm_time_parse(ctx, a.as_of, strlen(a.as_of), &as_of) != CXM_OK ||
        cxm_time_day(ctx, as_of, &as_of_day) != CXM_OK) {
      status = usage("--as-of: cannot parse the time '%s'", a.as_of);
      goto out;
    }
  }
  for (int f = 0; f < a.nfiles; f++) {
    const char *path = a.files[f];
    char *data = NULL;
    size_t len = 0;
    if (read_all(path, &data, &len) != 0) {
      fprintf(stderr, "cxm clv: %s: cannot read: %s\n", path, strerror(errno));
      goto out;
    }
    if (a.as_of) {
      cut_after(ctx, data, len, as_of_day);
      len = squeeze_blank_lines(data, len);
    }
    cxm_csv *csv = NULL;
    sink s = {strcmp(path, "-") == 0 ? "<stdin>" : path, 0};
    rc = cxm_csv_create(ctx, &csv);
    if (rc == CXM_OK) rc = cxm_csv_set_error_handler(csv, on_reject, &s);
    if (rc == CXM_OK) rc = cxm_csv_feed(csv, data, len);
    if (csv) {
      int r2 = cxm_csv_finish(csv);
      if (rc == CXM_OK) rc = r2;
    }
    free(data);
    uint64_t lines = 0, acc = 0, rej = 0;
    (void)cxm_csv_stats(csv, &lines, &acc, &rej);
    cxm_csv_destroy(csv);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm clv: %s: %s\n", s.file, cxm_ctx_errmsg(ctx));
      goto out;
    }
    fprintf(stderr, "cxm clv: %s: %" PRIu64 " lines, %" PRIu64 " accepted, %" PRIu64
            " rejected\n", s.file, lines, acc, rej);
  }
  int32_t seg = CXM_ALL;
  if (a.segment && cxm_segment_find(ctx, a.segment, strlen(a.segment), &seg) != CXM_OK) {
    fprintf(stderr, "cxm clv: --segment: no segment '%s' in the input\n", a.segment);
    goto out;
  }
  if (a.as_of) {
    /* the end of the as-of day: the library takes any time of it */
    as_of = as_of_day * 86400 - off;
  }
  rc = cxm_clv_fit(ctx, as_of, unit, seg, pen, &m);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm clv: cannot fit: %s\n", cxm_ctx_errmsg(ctx));
    goto out;
  }
  if (write_out(m, json, H, disc, (size_t)top, unit == CXM_CLV_WEEKS ? "weeks" : "days",
                a.segment, stdout) != 0)
    goto out;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "cxm clv: writing failed: %s\n", strerror(errno));
    goto out;
  }
  status = EXIT_SUCCESS;
out:
  cxm_clv_model_destroy(m);
  cxm_ctx_destroy(ctx);
  return status;
}
