/*
 * check_csv_fast.c - the CSV reader's fast paths (one-pass records without
 * quotes, 16-byte type and channel keys, inline Unix times and short
 * decimals) against the general ones and against an independent reference.
 *
 * Random streams of events are written out as CSV in random forms: columns
 * in a random order with an ignored `text` column, fields quoted or not,
 * blanks around fields, LF or CRLF, blank lines, ISO-8601 times with zones
 * and fractions or Unix seconds (some with a fraction), numbers with
 * leading or trailing zeros, a sign, an exponent or more than 15 digits,
 * text with commas, quotes and newlines, records around the 64-byte blocks
 * and past the fast path's 256 bytes, plus lines the parser must reject.
 * Each stream is fed
 *   - in one piece (the fast path takes what it can),
 *   - one byte per call (every record goes through the carry and the
 *     general splitter),
 *   - in random pieces (both, switching anywhere),
 *   - rewritten with every field quoted (the quoted splitter),
 * and all four must give the same state (every KPI in every scope), the
 * same rejections (line, status, message) and the same counts. The state
 * must also equal a handle fed the generating events through
 * cxm_events_add(), with numbers from strtod() and times known as integers.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */

#include "testutil.h"

#include <time.h>

#define NEV 400 /* events per stream */
#define LOG_MAX 200

typedef struct errlog {
  int n;
  uint64_t line[LOG_MAX];
  int status[LOG_MAX];
  char msg[LOG_MAX][256];
} errlog;

static void on_err(void *user, uint64_t line, int status, const char *msg) {
  errlog *log = user;
  if (log->n < LOG_MAX) {
    log->line[log->n] = line;
    log->status[log->n] = status;
    snprintf(log->msg[log->n], sizeof log->msg[0], "%s", msg);
  }
  log->n++;
}

static void assert_same_log(const errlog *a, const errlog *b,
                            const char *what) {
  ck_assert_msg(a->n == b->n, "%s: %d rejections, want %d", what, a->n, b->n);
  for (int i = 0; i < a->n && i < LOG_MAX; i++)
    ck_assert_msg(a->line[i] == b->line[i] && a->status[i] == b->status[i] &&
                      strcmp(a->msg[i], b->msg[i]) == 0,
                  "%s: rejection %d differs: '%s' vs '%s'", what, i,
                  a->msg[i], b->msg[i]);
}

/* xorshift64*: the streams must not depend on the C library's rand(). */
static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }

/* A growable text buffer. */
typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->cap - b->n < n + 1) {
    size_t c = b->cap ? b->cap : 4096;
    while (c - b->n < n + 1) c *= 2;
    b->p = realloc(b->p, c);
    ck_assert_ptr_nonnull(b->p);
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* Columns of the generated files. */
enum { C_TIME, C_CUST, C_TYPE, C_CHAN, C_VALUE, C_VALUE2, C_SEGS, C_TEXT,
       C_N };
static const char *const col_names[C_N] = {
    "time", "customer", "type", "channel", "value", "value2", "segments",
    "text"};

/* One generated line: the field texts (unescaped) of each column. */
typedef struct gline {
  buf f[C_N];
  int valid;      /* an event the reference gets */
  int blank;      /* an empty line */
  int64_t t;
  int32_t type;
  char cust[48];
  size_t cust_len;
  const char *chan; /* NULL: none */
  double v, v2;
  const char *segs[3];
  int nsegs; /* -1: column empty, 0: "-" (clear) */
} gline;

static const char *const CHANNELS[] = {"web", "app", "email",
                                       "social-media-ads", "sms", "partner-17"};
static const char *const SEGS[] = {"tier=gold", "tier=silver", "region=EU",
                                   "region=APAC", "plan=pro"};

/* Number text for a value whose decimal digits are @p digits with @p frac
 * of them after the point, in a random but exact form. */
static void num_text(buf *b, long long mant, int frac) {
  char d[64], out[96];
  int n, k = 0;
  n = snprintf(d, sizeof d, "%0*lld", frac + 1, mant);
  switch (rn(8)) {
    case 0: /* leading zeros and a plus */
      k = snprintf(out, sizeof out, "+00");
      break;
    case 1: /* blanks */
      k = snprintf(out, sizeof out, " ");
      break;
    default:
      break;
  }
  if (rn(6) == 0) { /* exponent form: all digits, then e-frac */
    k += snprintf(out + k, sizeof out - (size_t)k, "%se-%d", d, frac);
  } else {
    k += snprintf(out + k, sizeof out - (size_t)k, "%.*s", n - frac, d);
    if (frac > 0 || rn(4) == 0) {
      k += snprintf(out + k, sizeof out - (size_t)k, ".%s", d + n - frac);
      if (rn(5) == 0) /* trailing zeros, beyond the fast path's 15 bytes */
        k += snprintf(out + k, sizeof out - (size_t)k, "%0*d", 1 + rn(14),
                      0);
    }
  }
  if (rn(10) == 0) k += snprintf(out + k, sizeof out - (size_t)k, "\t");
  put(b, out, (size_t)k);
}

/* Time text for @p t: Unix seconds or ISO-8601 in a random zone. */
static void time_text(buf *b, int64_t t) {
  char out[80];
  int k;
  int form = rn(10);
  if (form < 5) {
    k = snprintf(out, sizeof out, "%lld", (long long)t);
    if (form == 4) /* a fraction is dropped (floor) */
      k += snprintf(out + k, sizeof out - (size_t)k, ".%d", rn(1000));
  } else {
    static const int zones[] = {0, 0, 7 * 3600, -5 * 3600, 5 * 3600 + 1800};
    int z = zones[rn(5)];
    time_t lt = (time_t)(t + z);
    struct tm tm;
    ck_assert_ptr_nonnull(gmtime_r(&lt, &tm));
    k = snprintf(out, sizeof out, "%04d-%02d-%02d%c%02d:%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 rn(2) ? 'T' : ' ', tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (rn(3) == 0) k += snprintf(out + k, sizeof out - (size_t)k, ".%03d",
                                  rn(1000));
    if (z == 0 && rn(2))
      k += snprintf(out + k, sizeof out - (size_t)k, "Z");
    else
      k += snprintf(out + k, sizeof out - (size_t)k, "%c%02d:%02d",
                    z < 0 ? '-' : '+', abs(z) / 3600, abs(z) % 3600 / 60);
  }
  if (rn(12) == 0) { /* blanks around */
    put(b, " ", 1);
    put(b, out, (size_t)k);
    put(b, "  ", 2);
    return;
  }
  put(b, out, (size_t)k);
}

/* Generate one line (an event, a blank line or a bad line). */
static void gen_line(gline *g, int64_t *clock, int ncust) {
  for (int c = 0; c < C_N; c++) g->f[c].n = 0;
  for (int c = 0; c < C_N; c++) put(&g->f[c], "", 0);
  g->valid = 0;
  g->blank = rn(40) == 0;
  if (g->blank) return;
  *clock += rn(900);
  g->t = *clock;
  g->v = g->v2 = NAN;
  g->chan = NULL;
  g->nsegs = -1;
  time_text(&g->f[C_TIME], g->t);
  /* customer: 1..40 bytes, sometimes with a comma or a quote (quoted) */
  {
    int id = rn(ncust);
    int len = 1 + id % 40;
    for (int i = 0; i < len; i++)
      g->cust[i] = (char)("0123456789abcdef,\"x"[(id * 7 + i * 13) % 19]);
    g->cust_len = (size_t)len;
    put(&g->f[C_CUST], g->cust, g->cust_len);
  }
  switch (rn(6)) {
    case 0: {
      long long c = rnd() % 1000000;
      g->type = CXM_EV_PURCHASE;
      num_text(&g->f[C_VALUE], c, 2);
      g->v = (double)c / 100;
      break;
    }
    case 1: {
      int s = rn(11);
      g->type = CXM_EV_NPS;
      num_text(&g->f[C_VALUE], s, 0);
      g->v = s;
      break;
    }
    case 2: {
      long long pv = rnd() % 30, d = (long long)(rnd() % 5000000);
      g->type = CXM_EV_SESSION;
      if (rn(5)) {
        num_text(&g->f[C_VALUE], pv, 0);
        g->v = (double)pv;
      }
      if (rn(5)) {
        num_text(&g->f[C_VALUE2], d, 3);
        g->v2 = (double)d / 1000;
      }
      break;
    }
    case 3: {
      long long c = rnd() % 100000000;
      g->type = CXM_EV_SPEND;
      num_text(&g->f[C_VALUE], c, 2);
      g->v = (double)c / 100;
      g->cust_len = 0;
      g->f[C_CUST].n = 0;
      break;
    }
    default:
      g->type = rn(2) ? CXM_EV_TOUCH : CXM_EV_MESSAGE_CLICK;
      break;
  }
  {
    const char *nm = cxm_event_type_name(g->type);
    if (rn(15) == 0) puts_(&g->f[C_TYPE], " ");
    puts_(&g->f[C_TYPE], nm);
  }
  if (rn(8) || g->type == CXM_EV_SPEND) {
    g->chan = CHANNELS[rn(6)];
    if (rn(15) == 0) puts_(&g->f[C_CHAN], "\t");
    puts_(&g->f[C_CHAN], g->chan);
  }
  if (g->type != CXM_EV_SPEND && rn(4) == 0) {
    if (rn(6) == 0) {
      g->nsegs = 0;
      puts_(&g->f[C_SEGS], "-");
    } else {
      g->nsegs = 1 + rn(3);
      for (int k = 0; k < g->nsegs; k++) {
        g->segs[k] = SEGS[rn(5)];
        if (k) puts_(&g->f[C_SEGS], rn(3) ? ";" : " ; ");
        puts_(&g->f[C_SEGS], g->segs[k]);
      }
    }
  }
  /* text: mostly short, some long (past 64, 128 and 256 bytes), any of
   * comma, quote, CR, newline (written quoted) */
  {
    int len = rn(4) == 0 ? rn(300) : rn(12);
    for (int i = 0; i < len; i++)
      put(&g->f[C_TEXT], &"abc ,\"\r\nxyz;0"[rn(rn(3) ? 3 : 14)], 1);
  }
  g->valid = 1;
  /* a line the parser rejects (before any label is interned) */
  switch (rn(30)) {
    case 0:
      g->f[C_TIME].n = 0;
      puts_(&g->f[C_TIME], rn(2) ? "2026-13-01" : "17x7");
      g->valid = 0;
      break;
    case 1:
      g->f[C_TYPE].n = 0;
      puts_(&g->f[C_TYPE], rn(2) ? "purchases" : "Touch");
      g->valid = 0;
      break;
    case 2:
      if (g->f[C_VALUE].n) {
        puts_(&g->f[C_VALUE], rn(2) ? ".." : "e");
        g->valid = 0;
      }
      break;
    default:
      break;
  }
}

static int needs_quotes(const buf *f) {
  for (size_t i = 0; i < f->n; i++)
    if (f->p[i] == ',' || f->p[i] == '"' || f->p[i] == '\n' ||
        f->p[i] == '\r')
      return 1;
  return 0;
}

/* Write the lines as CSV with columns in the order @p order. @p all_quoted:
 * every field quoted; else only where needed, and some others at random. */
static void write_csv(buf *out, gline *lines, int nl, const int *order,
                      int all_quoted) {
  out->n = 0;
  for (int c = 0; c < C_N; c++) {
    if (c) puts_(out, ",");
    if (all_quoted) puts_(out, "\"");
    puts_(out, col_names[order[c]]);
    if (all_quoted) puts_(out, "\"");
  }
  puts_(out, "\n");
  for (int i = 0; i < nl; i++) {
    gline *g = &lines[i];
    if (!g->blank) {
      for (int c = 0; c < C_N; c++) {
        const buf *f = &g->f[order[c]];
        int q = all_quoted || needs_quotes(f) || rn(20) == 0;
        if (c) puts_(out, ",");
        if (!q) {
          put(out, f->p, f->n);
          continue;
        }
        puts_(out, "\"");
        for (size_t k = 0; k < f->n; k++) {
          if (f->p[k] == '"') puts_(out, "\"");
          put(out, f->p + k, 1);
        }
        puts_(out, "\"");
      }
      if (rn(15) == 0) { /* fields past the header's: ignored */
        int k = 1 + rn(90);
        for (int j = 0; j < k; j++) puts_(out, all_quoted ? ",\"x\"" : ",x");
      }
    }
    puts_(out, rn(3) == 0 ? "\r\n" : "\n");
  }
}

/* The reference: the valid events through cxm_events_add(), with labels
 * interned in the order the reader meets them (channel, then segments). */
static cxm_ctx *reference(gline *lines, int nl) {
  cxm_ctx *ctx = t_new();
  for (int i = 0; i < nl; i++) {
    gline *g = &lines[i];
    int32_t ch = CXM_NO_CHANNEL, set = -1, st = 0;
    int64_t offs[2] = {0, (int64_t)g->cust_len};
    size_t acc = 0;
    if (g->blank || !g->valid) continue;
    if (g->chan) ch = t_chan(ctx, g->chan);
    if (g->nsegs == 0) set = 0;
    if (g->nsegs > 0) {
      int32_t ids[3];
      for (int k = 0; k < g->nsegs; k++) ids[k] = t_seg(ctx, g->segs[k]);
      set = t_set(ctx, (size_t)g->nsegs, ids);
    }
    cxm_events_add(ctx, 1, &g->t, &g->type, (const uint8_t *)g->cust, offs,
                   &ch, &g->v, &g->v2, &set, &acc, &st);
  }
  return ctx;
}

typedef struct result {
  t_snap snap;
  errlog log;
  uint64_t lines, acc, rej;
} result;

/* Feed @p text in pieces: mode 0 one piece, 1 one byte per call, 2 random
 * pieces of 1..300 bytes. Each piece is an exact-size heap copy, so that
 * the sanitizers see any read past it. */
static void run(const char *text, size_t len, int mode, result *res) {
  cxm_ctx *ctx = t_new();
  cxm_csv *r = NULL;
  size_t i = 0;
  ck_assert_int_eq(cxm_csv_create(ctx, &r), CXM_OK);
  memset(&res->log, 0, sizeof res->log);
  ck_assert_int_eq(cxm_csv_set_error_handler(r, on_err, &res->log), CXM_OK);
  while (i < len) {
    size_t k = mode == 0 ? len - i : mode == 1 ? 1 : 1 + (size_t)rn(300);
    char *piece;
    if (k > len - i) k = len - i;
    piece = malloc(k);
    ck_assert_ptr_nonnull(piece);
    memcpy(piece, text + i, k);
    ck_assert_int_eq(cxm_csv_feed(r, piece, k), CXM_OK);
    free(piece);
    i += k;
  }
  ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
  ck_assert_int_eq(cxm_csv_stats(r, &res->lines, &res->acc, &res->rej),
                   CXM_OK);
  t_snap_take(ctx, &res->snap);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}

static void assert_same(const result *a, const result *b, const char *what) {
  ck_assert_msg(a->lines == b->lines && a->acc == b->acc && a->rej == b->rej,
                "%s: counts %llu/%llu/%llu vs %llu/%llu/%llu", what,
                (unsigned long long)a->lines, (unsigned long long)a->acc,
                (unsigned long long)a->rej, (unsigned long long)b->lines,
                (unsigned long long)b->acc, (unsigned long long)b->rej);
  assert_same_log(&a->log, &b->log, what);
  t_snap_assert_eq(&a->snap, &b->snap, what);
}

START_TEST(fast_vs_general_random) {
  gline *lines = calloc(NEV, sizeof *lines);
  const char *quick = getenv("CXM_QUICK");
  int rounds = quick && strcmp(quick, "1") == 0 ? 2 : 12;
  ck_assert_ptr_nonnull(lines);
  rng_state = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(_i + 1);
  for (int round = 0; round < rounds; round++) {
    int order[C_N];
    int64_t clock = T0 - DAY;
    int nvalid = 0, nbad = 0, nblank = 0;
    buf text = {0}, quoted = {0};
    result res[4], ref;
    cxm_ctx *rctx;
    char what[96];
    for (int c = 0; c < C_N; c++) order[c] = c;
    for (int c = C_N - 1; c > 0; c--) { /* shuffle */
      int k = rn(c + 1), t = order[c];
      order[c] = order[k];
      order[k] = t;
    }
    for (int i = 0; i < NEV; i++) {
      gen_line(&lines[i], &clock, 1 + round * 20);
      nblank += lines[i].blank;
      nvalid += !lines[i].blank && lines[i].valid;
      nbad += !lines[i].blank && !lines[i].valid;
    }
    write_csv(&text, lines, NEV, order, 0);
    write_csv(&quoted, lines, NEV, order, 1);
    run(text.p, text.n, 0, &res[0]);
    run(text.p, text.n, 1, &res[1]);
    run(text.p, text.n, 2, &res[2]);
    run(quoted.p, quoted.n, 0, &res[3]);
    snprintf(what, sizeof what, "round %d: byte by byte", round);
    assert_same(&res[1], &res[0], what);
    snprintf(what, sizeof what, "round %d: random pieces", round);
    assert_same(&res[2], &res[0], what);
    snprintf(what, sizeof what, "round %d: all quoted", round);
    assert_same(&res[3], &res[0], what);
    /* counts from the generator: every non-blank line counted, the bad ones
     * rejected by the parser, the valid ones accepted or rejected by the
     * core exactly as in the reference */
    ck_assert_uint_eq(res[0].lines, (uint64_t)(NEV - nblank));
    ck_assert_uint_eq(res[0].acc + res[0].rej, (uint64_t)(NEV - nblank));
    ck_assert_uint_ge(res[0].rej, (uint64_t)nbad);
    ck_assert_uint_gt(res[0].acc, (uint64_t)(nvalid / 2));
    rctx = reference(lines, NEV);
    t_snap_take(rctx, &ref.snap);
    snprintf(what, sizeof what, "round %d: against cxm_events_add", round);
    t_snap_assert_eq(&res[0].snap, &ref.snap, what);
    t_snap_free(&ref.snap);
    cxm_ctx_destroy(rctx);
    for (int k = 0; k < 4; k++) t_snap_free(&res[k].snap);
    free(text.p);
    free(quoted.p);
  }
  for (int i = 0; i < NEV; i++)
    for (int c = 0; c < C_N; c++) free(lines[i].f[c].p);
  free(lines);
}
END_TEST

/* Numbers at the edges of the inline form (at most 15 bytes of digits and
 * one point) and just past them, each against strtod() through the sum of
 * purchases in minor units. */
START_TEST(fast_numbers_edges) {
  static const char *const nums[] = {
      "0",  "0.0", "5.",  ".5",  "00012.50", "12.345", "12.355",
      "999999999999.99", "9999999999999.99", "89999999999999",
      "90000000000000", "123456789012.345", "123456789012345",
      "1234567890123.456", "0.000000000000001", "7.000000000000000000001",
      "1e2", "+3.25", "3.250000000000000", "42"};
  size_t n = sizeof nums / sizeof nums[0];
  for (size_t i = 0; i < n; i++) {
    char text[256];
    cxm_ctx *ctx = t_new(), *ref = t_new();
    cxm_csv *r = NULL;
    int64_t a = -1, an = -1, b = -2, bn = -2;
    uint64_t acc = 0;
    int st;
    int k = snprintf(text, sizeof text,
                     "time,customer,type,value,text\n"
                     "%lld,c1,purchase,%s,padding so that the record takes "
                     "the one-pass path with bytes to spare after it\n"
                     "%lld,c1,purchase,%s\n",
                     (long long)T0, nums[i], (long long)T0 + 1, nums[i]);
    ck_assert_int_eq(cxm_csv_create(ctx, &r), CXM_OK);
    ck_assert_int_eq(cxm_csv_feed(r, text, (size_t)k), CXM_OK);
    ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
    /* the reference may reject too (an amount of 9e15 minor units or
     * more): then both sides must agree on that */
    st = cxm_event_add(ref, T0, CXM_EV_PURCHASE, "c1", 2, CXM_NO_CHANNEL,
                       strtod(nums[i], NULL), NAN);
    ck_assert_int_eq(cxm_event_add(ref, T0 + 1, CXM_EV_PURCHASE, "c1", 2,
                                   CXM_NO_CHANNEL, strtod(nums[i], NULL),
                                   NAN),
                     st);
    ck_assert_int_eq(cxm_csv_stats(r, NULL, &acc, NULL), CXM_OK);
    ck_assert_msg(acc == (st == CXM_OK ? 2u : 0u), "'%s': %llu accepted",
                  nums[i], (unsigned long long)acc);
    ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL,
                                     ALLW, &a, &an),
                     CXM_OK);
    ck_assert_int_eq(cxm_kpi_get_int(ref, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL,
                                     ALLW, &b, &bn),
                     CXM_OK);
    ck_assert_msg(a == b && an == bn && an == (st == CXM_OK ? 2 : 0),
                  "'%s': revenue %lld (n %lld), strtod gives %lld (n %lld)",
                  nums[i], (long long)a, (long long)an, (long long)b,
                  (long long)bn);
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
    cxm_ctx_destroy(ref);
  }
}
END_TEST

/* Ten-digit Unix times (the inline form) and their neighbours: nine and
 * eleven digits, a non-digit in each position, blanks, a fraction, at the
 * last second of a day, so that a time one second off lands in another
 * day. Checked against the integers by the day that holds the event. */
START_TEST(fast_times_edges) {
  static const struct {
    const char *text;
    int64_t t; /* -1: rejected */
  } cases[] = {
      {"1767225599", T0 - 1},       {"0999993599", 999993599},
      {"999993599", 999993599},     {"01767225599", T0 - 1},
      {"1767225599.999", T0 - 1},   {"176722559x", -1},
      {"x767225599", -1},           {"17672255:9", -1},
      {"1767/25599", -1},           {" 1767225599", T0 - 1},
      {"1767225599\t", T0 - 1},     {"2025-12-31T23:59:59.9Z", T0 - 1},
      {"1767225600", T0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[256];
    cxm_ctx *ctx = t_new();
    cxm_csv *r = NULL;
    errlog log;
    int64_t v = -1, n = -1, day = cases[i].t - cases[i].t % DAY;
    int k = snprintf(text, sizeof text,
                     "time,customer,type,value,text\n"
                     "%s,c1,purchase,1,padding so that the record takes the "
                     "one-pass path with bytes to spare after it\n",
                     cases[i].text);
    ck_assert_int_eq(cxm_csv_create(ctx, &r), CXM_OK);
    memset(&log, 0, sizeof log);
    ck_assert_int_eq(cxm_csv_set_error_handler(r, on_err, &log), CXM_OK);
    ck_assert_int_eq(cxm_csv_feed(r, text, (size_t)k), CXM_OK);
    ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
    if (cases[i].t < 0) {
      ck_assert_msg(log.n == 1 && log.status[0] == CXM_E_PARSE &&
                        log.line[0] == 2,
                    "'%s': %d rejections", cases[i].text, log.n);
    } else {
      ck_assert_msg(log.n == 0, "'%s': rejected: %s", cases[i].text,
                    log.msg[0]);
      ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL,
                                       day, day + DAY, &v, &n),
                       CXM_OK);
      ck_assert_msg(v == 1, "'%s': not in the day of %lld", cases[i].text,
                    (long long)cases[i].t);
      ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL,
                                       ALLW, &v, &n),
                       CXM_OK);
      ck_assert_int_eq(v, 1);
    }
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
}
END_TEST

/* Consecutive ten-digit times share their first 8 digits, which the reader
 * remembers: lines that share them with a valid time but end otherwise
 * (not digits, a fraction, blanks), or share none, in one stream. */
START_TEST(fast_times_prefix) {
  static const struct {
    const char *text;
    int64_t t; /* -1: rejected */
  } cases[] = {
      {"1767225599", T0 - 1},     {"17672255x9", -1},
      {"1767225598", T0 - 2},     {"17672255.9", 17672255},
      {"1767225597", T0 - 3},     {"17672255 9", -1},
      {"0000000012", 12},         {"00000000ab", -1},
      {"1767225600", T0},         {"17672256\t0", -1},
      {"1767225601", T0 + 1},
  };
  size_t nc = sizeof cases / sizeof cases[0];
  buf text = {0};
  cxm_ctx *ctx = t_new();
  cxm_csv *r = NULL;
  errlog log;
  int nrej = 0;
  int64_t v = -1, n = -1;
  /* one customer per line: lateness (per customer) plays no part */
  puts_(&text, "time,customer,type,value,text\n");
  for (size_t i = 0; i < nc; i++) {
    char line[200];
    snprintf(line, sizeof line,
             "%s,c%zu,purchase,1,padding so that the record takes the "
             "one-pass path with bytes to spare after it\n",
             cases[i].text, i);
    puts_(&text, line);
  }
  ck_assert_int_eq(cxm_csv_create(ctx, &r), CXM_OK);
  memset(&log, 0, sizeof log);
  ck_assert_int_eq(cxm_csv_set_error_handler(r, on_err, &log), CXM_OK);
  ck_assert_int_eq(cxm_csv_feed(r, text.p, text.n), CXM_OK);
  ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
  for (size_t i = 0; i < nc; i++) {
    if (cases[i].t < 0) {
      ck_assert_msg(nrej < log.n && log.line[nrej] == i + 2 &&
                        log.status[nrej] == CXM_E_PARSE,
                    "'%s' (line %zu) not rejected", cases[i].text, i + 2);
      nrej++;
    } else {
      int64_t day = cases[i].t - cases[i].t % DAY, same = 0;
      for (size_t j = 0; j < nc; j++)
        same += cases[j].t >= day && cases[j].t < day + DAY;
      ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL,
                                       day, day + DAY, &v, &n),
                       CXM_OK);
      ck_assert_msg(v == same, "'%s': %lld orders in its day, want %lld",
                    cases[i].text, (long long)v, (long long)same);
    }
  }
  ck_assert_int_eq(log.n, nrej);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
  free(text.p);
}
END_TEST

static Suite *csv_fast_suite(void) {
  Suite *s = suite_create("csv_fast");
  TCase *tc = tcase_create("fast");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, fast_vs_general_random, 0, 3);
  tcase_add_test(tc, fast_numbers_edges);
  tcase_add_test(tc, fast_times_edges);
  tcase_add_test(tc, fast_times_prefix);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(csv_fast_suite());
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
