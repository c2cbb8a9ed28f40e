/*
 * check_csv.c - the canonical CSV reader and the time parser: ISO-8601 and
 * Unix times against hand-computed values and an independent day count,
 * RFC 4180 quoting, CRLF, feeds split at every byte, header variants, bad
 * lines with their line numbers, segments, absent numbers, batches, files,
 * allocation failure; KPIs after ingest against hand-computed values.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen, unlink */

#include "testutil.h"

#include <stdalign.h>
#include <stddef.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers
 */

#define LOG_MAX 64
typedef struct errlog {
  int n;
  uint64_t line[LOG_MAX];
  int status[LOG_MAX];
  char msg[LOG_MAX][256];
} errlog;

static void on_err(void *user, uint64_t line, int status, const char *msg) {
  errlog *log = user;
  ck_assert_ptr_nonnull(msg);
  ck_assert_msg(strncmp(msg, "line ", 5) == 0, "message '%s'", msg);
  if (log->n < LOG_MAX) {
    log->line[log->n] = line;
    log->status[log->n] = status;
    snprintf(log->msg[log->n], sizeof log->msg[0], "%s", msg);
  }
  log->n++;
}

static cxm_csv *t_reader(cxm_ctx *ctx, errlog *log) {
  cxm_csv *r = NULL;
  ck_assert_int_eq(cxm_csv_create(ctx, &r), CXM_OK);
  ck_assert_ptr_nonnull(r);
  if (log) {
    memset(log, 0, sizeof *log);
    ck_assert_int_eq(cxm_csv_set_error_handler(r, on_err, log), CXM_OK);
  }
  return r;
}

/* Feed text in one piece and finish; returns the finish status. */
static int t_feed_all(cxm_csv *r, const char *text, size_t len) {
  int rc = cxm_csv_feed(r, text, len);
  int rc2 = cxm_csv_finish(r);
  return rc != CXM_OK ? rc : rc2;
}

static void t_stats(cxm_csv *r, uint64_t want_lines, uint64_t want_acc,
                    uint64_t want_rej) {
  uint64_t l = 99, a = 99, j = 99;
  ck_assert_int_eq(cxm_csv_stats(r, &l, &a, &j), CXM_OK);
  ck_assert_msg(l == want_lines && a == want_acc && j == want_rej,
                "stats: lines %llu accepted %llu rejected %llu, want "
                "%llu %llu %llu",
                (unsigned long long)l, (unsigned long long)a,
                (unsigned long long)j, (unsigned long long)want_lines,
                (unsigned long long)want_acc, (unsigned long long)want_rej);
}

static int64_t t_stat(cxm_ctx *ctx, int stat) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, stat, &v), CXM_OK);
  return v;
}

static int32_t t_find_seg(cxm_ctx *ctx, const char *label) {
  int32_t id = -2;
  ck_assert_int_eq(cxm_segment_find(ctx, label, strlen(label), &id), CXM_OK);
  return id;
}

static int32_t t_find_chan(cxm_ctx *ctx, const char *label) {
  int32_t id = -2;
  ck_assert_int_eq(cxm_channel_find(ctx, label, strlen(label), &id), CXM_OK);
  return id;
}

static int t_parse(cxm_ctx *ctx, const char *s, int64_t *t) {
  return cxm_time_parse(ctx, s, strlen(s), t);
}

#define T_TIME(ctx, text, want)                                              \
  do {                                                                       \
    int64_t t_t_ = -7;                                                       \
    int t_rc_ = t_parse((ctx), (text), &t_t_);                               \
    ck_assert_msg(t_rc_ == CXM_OK, "'%s': status %d", (text), t_rc_);        \
    ck_assert_msg(t_t_ == (int64_t)(want), "'%s': got %lld, want %lld",      \
                  (text), (long long)t_t_, (long long)(want));               \
  } while (0)

#define T_TIME_BAD(ctx, text)                                                \
  do {                                                                       \
    int64_t t_t_ = -7;                                                       \
    int t_rc_ = t_parse((ctx), (text), &t_t_);                               \
    ck_assert_msg(t_rc_ == CXM_E_PARSE, "'%s': status %d, time %lld",        \
                  (text), t_rc_, (long long)t_t_);                           \
    ck_assert_int_eq(t_t_, -7);                                              \
  } while (0)

/* ------------------------------------------------------------------------
 * Time parser
 */

/* Days since 1970-01-01, counted the slow way: whole years, then months. */
static int64_t naive_days(int y, int m, int d) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t days = 0;
  for (int yy = 1970; yy < y; yy++) {
    int leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
    days += leap ? 366 : 365;
  }
  for (int mm = 1; mm < m; mm++) {
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    days += dim[mm - 1] + (mm == 2 && leap);
  }
  return days + d - 1;
}

START_TEST(time_unix) {
  cxm_ctx *ctx = t_new();
  T_TIME(ctx, "0", 0);
  T_TIME(ctx, "1700000000", 1700000000);
  T_TIME(ctx, "  1700000000\t", 1700000000);
  T_TIME(ctx, "+42", 42);
  T_TIME(ctx, "1.9", 1);        /* fraction dropped: floor */
  T_TIME(ctx, "1700000000.000", 1700000000);
  T_TIME(ctx, "-1", -1);
  T_TIME(ctx, "-1.5", -2);      /* floor, not truncation */
  T_TIME(ctx, "4291747199", CXM_TIME_LAST);
  T_TIME_BAD(ctx, "");
  T_TIME_BAD(ctx, "   ");
  T_TIME_BAD(ctx, "-");
  T_TIME_BAD(ctx, "12ab");
  T_TIME_BAD(ctx, "1.");
  T_TIME_BAD(ctx, "1e9");
  T_TIME_BAD(ctx, "0x10");
  T_TIME_BAD(ctx, "yesterday");
  T_TIME_BAD(ctx, "1234567890123456789"); /* more than 18 digits */
  /* Unix seconds do not depend on the handle's offset. */
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 25200), CXM_OK);
  T_TIME(ctx, "1700000000", 1700000000);
  /* Arguments. */
  {
    int64_t t;
    ck_assert_int_eq(cxm_time_parse(NULL, "1", 1, &t), CXM_E_NULL);
    ck_assert_int_eq(cxm_time_parse(ctx, "1", 1, NULL), CXM_E_NULL);
    ck_assert_int_eq(cxm_time_parse(ctx, NULL, 1, &t), CXM_E_NULL);
  }
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(time_iso) {
  cxm_ctx *ctx = t_new();
  /* T0 = 2026-01-01T00:00:00Z = 1767225600 (testutil.h). */
  T_TIME(ctx, "2026-01-01", T0);
  T_TIME(ctx, "2026-01-01T00:00", T0);
  T_TIME(ctx, "2026-01-01T00:00:00Z", T0);
  T_TIME(ctx, "2026-01-01t00:00:00z", T0);
  T_TIME(ctx, "2026-01-01 00:00:00Z", T0);
  T_TIME(ctx, "2026-01-01T07:00:00+07:00", T0);
  T_TIME(ctx, "2026-01-01T07:00+0700", T0);
  T_TIME(ctx, "2026-01-01T07:00:00+07", T0);
  T_TIME(ctx, "2025-12-31T19:00:00-05:00", T0);
  T_TIME(ctx, "2025-12-31T18:30:00-0530", T0);
  T_TIME(ctx, "2026-01-01T05:30:00+05:30", T0);
  T_TIME(ctx, "2026-01-01T00:00:00+00:00", T0);
  T_TIME(ctx, "2026-01-01T00:00:00-00:00", T0);
  T_TIME(ctx, "2026-01-01T10:20:30Z", T0 + 10 * HOUR + 20 * 60 + 30);
  T_TIME(ctx, "2026-01-01T00:00:01.999Z", T0 + 1);       /* floor */
  T_TIME(ctx, "2026-01-01T00:00:01,5Z", T0 + 1);
  T_TIME(ctx, "2026-01-01T00:00:00.123456789+01:00", T0 - HOUR);
  T_TIME(ctx, " 2026-01-01T00:00:00Z ", T0);
  /* 2026-03-01: January 31 + February 28 days after T0. */
  T_TIME(ctx, "2026-03-01T00:00:00Z", T0 + 59 * DAY);
  /* 2024 is a leap year: 2024-01-01 is 731 days before T0 (366 + 365). */
  T_TIME(ctx, "2024-01-01T00:00:00Z", T0 - 731 * DAY);
  T_TIME(ctx, "2024-02-29T12:00:00Z", T0 - 731 * DAY + 59 * DAY + 12 * HOUR);
  T_TIME(ctx, "2024-03-01T00:00:00Z", T0 - 731 * DAY + 60 * DAY);
  /* 2000 is a leap year (divisible by 400), 1900 and 2100 are not. */
  T_TIME(ctx, "2000-02-29T00:00:00Z", 951782400);
  T_TIME(ctx, "2000-03-01T00:00:00Z", 951868800);
  T_TIME_BAD(ctx, "2100-02-29");
  T_TIME_BAD(ctx, "1900-02-29");
  T_TIME_BAD(ctx, "2023-02-29");
  T_TIME(ctx, "1970-01-01T00:00:00Z", 0);
  T_TIME(ctx, "1969-12-31T23:59:59Z", -1);
  T_TIME(ctx, "2105-12-31T23:59:59Z", CXM_TIME_LAST);
  /* A leap second counts as the first second of the next minute. */
  T_TIME(ctx, "2016-12-31T23:59:60Z", 1483228800);
  /* Range and syntax errors. */
  T_TIME_BAD(ctx, "2026-13-01");
  T_TIME_BAD(ctx, "2026-00-01");
  T_TIME_BAD(ctx, "2026-01-00");
  T_TIME_BAD(ctx, "2026-01-32");
  T_TIME_BAD(ctx, "2026-04-31");
  T_TIME_BAD(ctx, "2026-01-01T24:00");
  T_TIME_BAD(ctx, "2026-01-01T10:60");
  T_TIME_BAD(ctx, "2026-01-01T10:00:61");
  T_TIME_BAD(ctx, "2026-01-01T10:00+24:00");
  T_TIME_BAD(ctx, "2026-01-01T10:00+05:60");
  T_TIME_BAD(ctx, "2026-01-01T10:00:00ZZ");
  T_TIME_BAD(ctx, "2026-01-01T10:00:00+5");
  T_TIME_BAD(ctx, "2026-01-01T10:00:00+05:0");
  T_TIME_BAD(ctx, "2026-01-01T10");
  T_TIME_BAD(ctx, "2026-01-01T10:00:00.");
  T_TIME_BAD(ctx, "2026-01-01X10:00");
  T_TIME_BAD(ctx, "2026-1-1");
  T_TIME_BAD(ctx, "2026/01/01");
  T_TIME_BAD(ctx, "26-01-01");
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Every day from 1970 to 2105 and some, against the slow day count. */
START_TEST(time_days_exhaustive) {
  cxm_ctx *ctx = t_new();
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t expect = naive_days(1970, 1, 1);
  ck_assert_int_eq(expect, 0);
  for (int y = 1970; y <= 2105; y++) {
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    for (int m = 1; m <= 12; m++) {
      int nd = dim[m - 1] + (m == 2 && leap);
      for (int d = 1; d <= nd; d++) {
        char buf[40];
        int64_t t = -1;
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT12:34:56Z", y, m, d);
        ck_assert_int_eq(t_parse(ctx, buf, &t), CXM_OK);
        ck_assert_msg(t == expect * DAY + 12 * HOUR + 34 * 60 + 56,
                      "%s: got %lld", buf, (long long)t);
        expect++;
      }
      {
        char buf[40];
        int64_t t;
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, nd + 1);
        ck_assert_msg(t_parse(ctx, buf, &t) == CXM_E_PARSE, "%s accepted",
                      buf);
      }
    }
  }
  /* Before the epoch too (proleptic Gregorian). */
  for (int y = 1600; y < 1970; y += 7) {
    char buf[40];
    int64_t t = 0, want = 0;
    for (int yy = y; yy < 1970; yy++)
      want -= ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365;
    snprintf(buf, sizeof buf, "%04d-01-01", y);
    ck_assert_int_eq(t_parse(ctx, buf, &t), CXM_OK);
    ck_assert_msg(t == want * DAY, "%s: got %lld want %lld", buf,
                  (long long)t, (long long)(want * DAY));
  }
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Zone-less times and bare dates are in the handle's offset. */
START_TEST(time_local_offset) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 25200), CXM_OK);
  /* Midnight in UTC+07:00 is 17:00 UTC the day before. */
  T_TIME(ctx, "2026-01-01", T0 - 7 * HOUR);
  T_TIME(ctx, "2026-01-01T07:00:00", T0);
  T_TIME(ctx, "2026-01-01 07:00", T0);
  /* An explicit zone wins over the handle's offset. */
  T_TIME(ctx, "2026-01-01T00:00:00Z", T0);
  T_TIME(ctx, "2026-01-01T00:00:00-03:00", T0 + 3 * HOUR);
  cxm_ctx_destroy(ctx);

  ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, -(5 * 3600 + 1800)),
                   CXM_OK);
  T_TIME(ctx, "2026-01-01", T0 + 5 * HOUR + 30 * 60);
  T_TIME(ctx, "2025-12-31T18:30", T0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * A small file exercising most of the format. Physical lines:
 *  1 header (with a UTF-8 BOM, an unknown `text` column)
 *  2 alice purchase 19.99 web, segments tier=gold;region=EU, quoted comma
 *  3-5 bob (quoted id with doubled quotes) nps 9 email, comment spanning
 *    three physical lines (CRLF and LF inside the quotes)
 *  6 blank
 *  7 alice nps 3 email at T0 (Unix seconds), segments cleared, invalid UTF-8
 *  8 bad time                       -> rejected, CXM_E_PARSE
 *  9 unknown type                   -> rejected, CXM_E_TYPE
 * 10 bad number                     -> rejected, CXM_E_PARSE
 * 11 carol purchase " 5.01 " store, tier=silver
 * 12 carol session, numbers absent
 * 13 dave purchase without amount  -> rejected by the core, CXM_E_MISSING
 * 14 spend 100 on web
 * 15 erin csat with a quote never closed: runs to the end -> CXM_E_PARSE
 * 16 (inside that quote)
 */
static const char SMALL[] =
    "\xEF\xBB\xBFtime,customer,type,channel,value,value2,segments,text\r\n"
    "2026-01-01T10:00:00Z,alice,purchase,web,19.99,,tier=gold;region=EU,"
    "\"first, order\"\r\n"
    "2026-01-01T11:00:00+01:00,\"bob \"\"the\"\" builder\",nps,email,9,,,"
    "\"multi\r\nline\ncomment, \"\"quoted\"\"\"\r\n"
    "\r\n"
    "1767225600,alice,nps,email,3,,-,\xff\xfe\xc3 not UTF-8 \x80\r\n"
    "yesterday,carol,touch,web,,,,\r\n"
    "2026-01-01,carol,purchse,web,,,,\r\n"
    "2026-01-01,carol,purchase,web,12.x,,,\r\n"
    "2026-01-01T12:00:00Z,carol,purchase,store, 5.01 ,,tier=silver,\"x\"\r\n"
    "2026-01-01T12:30:00Z,carol,session,web,,,,\r\n"
    "2026-01-01T13:00:00Z,dave,purchase,web,,,,\r\n"
    "2026-01-02,,spend,web,100,,,\r\n"
    "2026-01-02T00:00:00Z,erin,csat,\"chat\",5,,,\"unterminated\r\n"
    "more text\r\n";

static const uint64_t SMALL_BAD_LINES[] = {8, 9, 10, 13, 15};
static const int SMALL_BAD_STATUS[] = {CXM_E_PARSE, CXM_E_TYPE, CXM_E_PARSE,
                                       CXM_E_MISSING, CXM_E_PARSE};
#define SMALL_NBAD 5

static void check_small_log(const errlog *log) {
  ck_assert_int_eq(log->n, SMALL_NBAD);
  for (int i = 0; i < SMALL_NBAD; i++) {
    char prefix[32];
    ck_assert_msg(log->line[i] == SMALL_BAD_LINES[i],
                  "error %d: line %llu, want %llu (%s)", i,
                  (unsigned long long)log->line[i],
                  (unsigned long long)SMALL_BAD_LINES[i], log->msg[i]);
    ck_assert_msg(log->status[i] == SMALL_BAD_STATUS[i],
                  "error %d (line %llu): status %d, want %d (%s)", i,
                  (unsigned long long)log->line[i], log->status[i],
                  SMALL_BAD_STATUS[i], log->msg[i]);
    snprintf(prefix, sizeof prefix, "line %llu: ",
             (unsigned long long)SMALL_BAD_LINES[i]);
    ck_assert_msg(strncmp(log->msg[i], prefix, strlen(prefix)) == 0,
                  "message '%s'", log->msg[i]);
    /* Messages never quote a customer id. */
    ck_assert_msg(strstr(log->msg[i], "carol") == NULL &&
                      strstr(log->msg[i], "dave") == NULL &&
                      strstr(log->msg[i], "erin") == NULL,
                  "message quotes a customer: '%s'", log->msg[i]);
  }
}

static void check_small_kpis(cxm_ctx *ctx) {
  int32_t gold = t_find_seg(ctx, "tier=gold");
  int32_t silver = t_find_seg(ctx, "tier=silver");
  int32_t eu = t_find_seg(ctx, "region=EU");
  int32_t web = t_find_chan(ctx, "web");
  int32_t email = t_find_chan(ctx, "email");
  int32_t store = t_find_chan(ctx, "store");
  int32_t nch = 0;
  uint64_t h1, h2;

  /* Accepted: lines 2, 3, 7, 11, 12, 14. */
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_EVENTS_ACCEPTED), 6);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_FIRST_TIME), T0);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_LAST_TIME), T0 + DAY);
  /* "chat" was only on a rejected line: never interned. */
  ck_assert_int_eq(cxm_channel_count(ctx, &nch), CXM_OK);
  ck_assert_int_eq(nch, 3);

  /* NPS: bob 9 (promoter), alice 3 (detractor). */
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0.0, 2);
  T_KPI(ctx, CXM_KPI_NPS_PROMOTERS, CXM_ALL, CXM_ALL, 1, -1);
  T_KPI(ctx, CXM_KPI_NPS_DETRACTORS, CXM_ALL, CXM_ALL, 1, -1);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, email, 0.0, 2);
  /* alice's answer came after her segments were cleared ('-'). */
  T_KPI(ctx, CXM_KPI_NPS, gold, CXM_ALL, NAN, 0);
  /* Revenue: 19.99 + 5.01 = 25.00, exactly. */
  T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 2500, 2);
  T_KPI(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 25.0, 2);
  T_KPI(ctx, CXM_KPI_AOV, CXM_ALL, CXM_ALL, 12.5, 2);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, gold, CXM_ALL, 1999, 1);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, eu, CXM_ALL, 1999, 1);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, silver, CXM_ALL, 501, 1);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, store, 501, 1);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, web, 1999, 1);
  T_KPI(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 2, 2);
  T_KPI(ctx, CXM_KPI_SESSIONS, CXM_ALL, web, 1, 1);
  /* Spend 100 on web: CPA = 100 / 2 orders overall, 100 / 1 on web. */
  T_KPI(ctx, CXM_KPI_SPEND, CXM_ALL, CXM_ALL, 100.0, 1);
  T_KPI(ctx, CXM_KPI_CPA, CXM_ALL, CXM_ALL, 50.0, 2);
  T_KPI(ctx, CXM_KPI_CPA, CXM_ALL, web, 100.0, 1);
  T_KPI(ctx, CXM_KPI_CSAT, CXM_ALL, CXM_ALL, NAN, 0);

  /* The quoted id was unescaped: adding an event for `bob "the" builder`
   * directly reaches the same customer. */
  ck_assert_int_eq(cxm_customer_hash(ctx, "bob \"the\" builder", 17, &h1),
                   CXM_OK);
  T_KPI(ctx, CXM_KPI_NPS_PASSIVES, CXM_ALL, CXM_ALL, 0, -1);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_CUSTOMERS), 3); /* alice bob carol */
  T_ADD1(ctx, T0 + DAY, CXM_EV_NPS, "bob \"the\" builder", email, 8);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_CUSTOMERS), 3);
  ck_assert_int_eq(cxm_customer_hash(ctx, "bob", 3, &h2), CXM_OK);
  ck_assert(h1 != h2);
}

START_TEST(csv_small) {
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, SMALL, sizeof SMALL - 1), CXM_OK);
  check_small_log(&log);
  /* Records: lines 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15. */
  t_stats(r, 11, 6, 5);
  check_small_kpis(ctx);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Reference state of SMALL fed in one piece. */
static void small_reference(t_snap *snap, errlog *log) {
  cxm_ctx *ctx = t_new();
  cxm_csv *r = t_reader(ctx, log);
  ck_assert_int_eq(t_feed_all(r, SMALL, sizeof SMALL - 1), CXM_OK);
  t_snap_take(ctx, snap);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}

static void assert_same_log(const errlog *a, const errlog *b,
                            const char *what) {
  ck_assert_msg(a->n == b->n, "%s: %d errors, want %d", what, a->n, b->n);
  for (int i = 0; i < a->n && i < LOG_MAX; i++)
    ck_assert_msg(a->line[i] == b->line[i] && a->status[i] == b->status[i] &&
                      strcmp(a->msg[i], b->msg[i]) == 0,
                  "%s: error %d differs: '%s' vs '%s'", what, i, a->msg[i],
                  b->msg[i]);
}

/* The same bytes split at every boundary give the same state. With
   CXM_QUICK=1 (scripts/valgrind.sh) at every 13th boundary and the last
   one: under Valgrind the full loop takes minutes. */
START_TEST(csv_split_every_byte) {
  t_snap ref, got;
  errlog ref_log, log;
  size_t len = sizeof SMALL - 1;
  const char *quick = getenv("CXM_QUICK");
  size_t step = quick && strcmp(quick, "1") == 0 ? 13 : 1;
  small_reference(&ref, &ref_log);
  check_small_log(&ref_log);
  for (size_t k = 0; k <= len; k = k + step > len && k < len ? len : k + step) {
    cxm_ctx *ctx = t_new();
    cxm_csv *r = t_reader(ctx, &log);
    char what[64];
    /* Exact-size heap copies, so that sanitizers see any read past them. */
    char *a = malloc(k ? k : 1), *b = malloc(len - k ? len - k : 1);
    ck_assert(a && b);
    memcpy(a, SMALL, k);
    memcpy(b, SMALL + k, len - k);
    ck_assert_int_eq(cxm_csv_feed(r, a, k), CXM_OK);
    ck_assert_int_eq(cxm_csv_feed(r, b, len - k), CXM_OK);
    free(a);
    free(b);
    ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
    snprintf(what, sizeof what, "split at %zu", k);
    assert_same_log(&log, &ref_log, what);
    t_stats(r, 11, 6, 5);
    t_snap_take(ctx, &got);
    t_snap_assert_eq(&got, &ref, what);
    t_snap_free(&got);
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
  /* One byte at a time, including empty feeds. */
  {
    cxm_ctx *ctx = t_new();
    cxm_csv *r = t_reader(ctx, &log);
    for (size_t k = 0; k < len; k++) {
      char *a = malloc(1);
      ck_assert_ptr_nonnull(a);
      *a = SMALL[k];
      ck_assert_int_eq(cxm_csv_feed(r, a, 1), CXM_OK);
      ck_assert_int_eq(cxm_csv_feed(r, a, 0), CXM_OK);
      free(a);
    }
    ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
    assert_same_log(&log, &ref_log, "byte by byte");
    t_snap_take(ctx, &got);
    t_snap_assert_eq(&got, &ref, "byte by byte");
    t_snap_free(&got);
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
  t_snap_free(&ref);
}
END_TEST

/* LF line ends instead of CRLF: same events, same line numbers. */
START_TEST(csv_lf_vs_crlf) {
  t_snap ref, got;
  errlog ref_log, log;
  char lf[sizeof SMALL];
  size_t n = 0;
  small_reference(&ref, &ref_log);
  for (size_t i = 0; i < sizeof SMALL - 1; i++)
    if (!(SMALL[i] == '\r' && SMALL[i + 1] == '\n')) lf[n++] = SMALL[i];
  {
    cxm_ctx *ctx = t_new();
    cxm_csv *r = t_reader(ctx, &log);
    ck_assert_int_eq(t_feed_all(r, lf, n), CXM_OK);
    assert_same_log(&log, &ref_log, "LF");
    t_stats(r, 11, 6, 5);
    t_snap_take(ctx, &got);
    t_snap_assert_eq(&got, &ref, "LF");
    t_snap_free(&got);
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
  t_snap_free(&ref);
}
END_TEST

/* The file read through cxm_csv_feed_file(). */
START_TEST(csv_feed_file) {
  char path[] = "/tmp/check_csv_XXXXXX";
  int fd = mkstemp(path);
  FILE *fp;
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_ge(fd, 0);
  fp = fdopen(fd, "wb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(SMALL, 1, sizeof SMALL - 1, fp), sizeof SMALL - 1);
  ck_assert_int_eq(fclose(fp), 0);
  ck_assert_int_eq(cxm_csv_feed_file(r, path), CXM_OK);
  unlink(path);
  check_small_log(&log);
  t_stats(r, 11, 6, 5);
  check_small_kpis(ctx);
  /* A missing file. */
  ck_assert_int_eq(cxm_csv_feed_file(r, "/nonexistent/dir/events.csv"),
                   CXM_E_IO);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "/nonexistent/dir"));
  ck_assert_int_eq(cxm_csv_feed_file(r, NULL), CXM_E_NULL);
  t_stats(r, 11, 6, 5);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Header variants
 */

START_TEST(csv_header_order_unknown_case) {
  static const char text[] =
      "Segments, extra ,VALUE,Type,customer,\"time\",channel,text\n"
      "tier=gold,zzz,10,nps,alice,2026-01-01T00:00:00Z,web,\"a,b\"\n"
      "-,zzz,6,nps,bob,2026-01-01T01:00:00Z,app,\n"
      ",,8,nps,carol,2026-01-01T02:00:00Z,,\n";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  int32_t gold, web, app;
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(log.n, 0);
  t_stats(r, 3, 3, 0);
  gold = t_find_seg(ctx, "tier=gold");
  web = t_find_chan(ctx, "web");
  app = t_find_chan(ctx, "app");
  /* 1 promoter, 1 passive, 1 detractor: NPS 0. */
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0.0, 3);
  T_KPI(ctx, CXM_KPI_NPS, gold, CXM_ALL, 100.0, 1);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, web, 100.0, 1);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, app, -100.0, 1);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Only the required columns: events without a customer. */
START_TEST(csv_header_minimal) {
  static const char text[] = "type,time\nspend,2026-01-01\nnps,2026-01-01\n";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  /* spend without amount, nps without customer nor score: both missing. */
  ck_assert_int_eq(log.n, 2);
  ck_assert_int_eq(log.line[0], 2);
  ck_assert_int_eq(log.line[1], 3);
  ck_assert_int_eq(log.status[0], CXM_E_MISSING);
  ck_assert_int_eq(log.status[1], CXM_E_MISSING);
  t_stats(r, 2, 0, 2);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

static void header_fails(const char *text, const char *needle) {
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  static const char good[] = "time,type,customer,value\n"
                             "2026-01-01,nps,a,10\n";
  ck_assert_int_eq(cxm_csv_feed(r, text, strlen(text)), CXM_E_PARSE);
  ck_assert_msg(strstr(cxm_ctx_errmsg(ctx), needle) != NULL,
                "message '%s' lacks '%s'", cxm_ctx_errmsg(ctx), needle);
  ck_assert_int_eq(cxm_ctx_errcode(ctx), CXM_E_PARSE);
  /* Sticky until the end of the stream. */
  ck_assert_int_eq(cxm_csv_feed(r, good + 25, sizeof good - 26), CXM_E_PARSE);
  ck_assert_int_eq(cxm_csv_finish(r), CXM_E_PARSE);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_EVENTS_ACCEPTED), 0);
  /* The next stream starts afresh. */
  ck_assert_int_eq(t_feed_all(r, good, sizeof good - 1), CXM_OK);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_EVENTS_ACCEPTED), 1);
  ck_assert_int_eq(log.n, 0);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}

START_TEST(csv_header_errors) {
  header_fails("customer,type,value\n2026-01-01,nps,10\n", "'time'");
  header_fails("\n\ntime,customer,value\n", "'type'");
  header_fails("time,type,time\n", "twice");
  /* A first line of data is not a header. */
  header_fails("2026-01-01,a,nps,web,10,,,\n", "'time'");
  {
    /* A header whose quote never closes. */
    cxm_ctx *ctx = t_new();
    cxm_csv *r = t_reader(ctx, NULL);
    static const char text[] = "time,type,\"text\n";
    ck_assert_int_eq(cxm_csv_feed(r, text, sizeof text - 1), CXM_OK);
    ck_assert_int_eq(cxm_csv_finish(r), CXM_E_PARSE);
    ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "unterminated"));
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
  {
    /* Empty input is no error: no header, no events. */
    cxm_ctx *ctx = t_new();
    cxm_csv *r = t_reader(ctx, NULL);
    ck_assert_int_eq(t_feed_all(r, "", 0), CXM_OK);
    ck_assert_int_eq(t_feed_all(r, "\r\n\n", 3), CXM_OK);
    t_stats(r, 0, 0, 0);
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
}
END_TEST

/* A BOM, or bytes that only start like one. */
START_TEST(csv_bom) {
  static const char with_bom[] = "\xEF\xBB\xBFtime,type,customer,value\n"
                                 "2026-01-01,nps,a,10\n";
  static const char not_bom[] = "\xEFtime,type,customer,value\n"
                                "2026-01-01,nps,a,10\n";
  static const char bom_only[] = "\xEF\xBB";
  cxm_ctx *ctx = t_new();
  cxm_csv *r = t_reader(ctx, NULL);
  /* BOM split across feeds. */
  ck_assert_int_eq(cxm_csv_feed(r, with_bom, 1), CXM_OK);
  ck_assert_int_eq(cxm_csv_feed(r, with_bom + 1, 1), CXM_OK);
  ck_assert_int_eq(cxm_csv_feed(r, with_bom + 2, sizeof with_bom - 3),
                   CXM_OK);
  ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
  t_stats(r, 1, 1, 0);
  /* "\xEFtime" is not "time": the header lacks the time column. */
  ck_assert_int_eq(cxm_csv_feed(r, not_bom, sizeof not_bom - 1), CXM_E_PARSE);
  ck_assert_int_eq(cxm_csv_finish(r), CXM_E_PARSE);
  /* A partial BOM and nothing else: two bytes of data, not a header. */
  ck_assert_int_eq(cxm_csv_feed(r, bom_only, 2), CXM_OK);
  ck_assert_int_eq(cxm_csv_finish(r), CXM_E_PARSE);
  t_stats(r, 1, 1, 0);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Records
 */

START_TEST(csv_quoting) {
  static const char text[] =
      "time,customer,type,channel,value,text\n"
      /* a quoted id with a comma and doubled quotes */
      "2026-01-01,\"x,\"\"y\"\"\",purchase,web,1.50,\n"
      /* quoted numbers, time and type */
      "\"2026-01-01T01:00:00Z\",\"x,\"\"y\"\"\",\"purchase\",\"web\",\"2.25\","
      "\"\"\n"
      /* a quote inside an unquoted field is literal; bytes after a closing
       * quote are kept (lenient) */
      "2026-01-01T02:00:00Z,a\"b,purchase,web,1,\"c\"d\"\n"
      /* an empty quoted number is absent: purchase without amount */
      "2026-01-01T03:00:00Z,q,purchase,web,\"\",x\n"
      /* a newline and a comma inside the text column */
      "2026-01-01T04:00:00Z,q,nps,web,10,\"a,\nb\"\n"
      /* too many fields: the extra ones are ignored */
      "2026-01-01T05:00:00Z,q,nps,web,9,t,u,v,w\n"
      /* too few fields: the missing ones are empty */
      "2026-01-01T06:00:00Z,q,touch\n";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  int32_t web;
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(log.n, 1);
  ck_assert_int_eq(log.line[0], 5);
  ck_assert_int_eq(log.status[0], CXM_E_MISSING);
  t_stats(r, 7, 6, 1);
  web = t_find_chan(ctx, "web");
  /* x,"y" bought twice: 1 buyer with 2 orders; a"b once. */
  T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 475, 3);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 2, 2);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 0.5, 2);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, web, 100.0, 2);
  T_KPI(ctx, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, 1, 1);
  T_ADD1(ctx, T0 + DAY, CXM_EV_PURCHASE, "x,\"y\"", web, 1.0);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 2, 2);
  T_ADD1(ctx, T0 + DAY, CXM_EV_PURCHASE, "a\"b", web, 1.0);
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 2, 2);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 1.0, 2);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Records of every length around the 16- and 64-byte blocks of the fast
 * splitter, unquoted and with every field quoted (the other path), in
 * exact-size buffers: the same events either way. */
static char *make_records(int quoted, size_t *len) {
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap);
  const char *q = quoted ? "\"" : "";
  ck_assert_ptr_nonnull(buf);
  n += (size_t)snprintf(buf + n, cap - n,
                        "%stime%s,%scustomer%s,%stype%s,%schannel%s,%svalue%s,"
                        "%ssegments%s,%stext%s\n",
                        q, q, q, q, q, q, q, q, q, q, q, q, q, q);
  for (int k = 0; k < 150; k++) {
    char id[160];
    for (int j = 0; j < k; j++) id[j] = (char)('a' + (j * 7 + k) % 26);
    id[k] = '\0';
    n += (size_t)snprintf(buf + n, cap - n,
                          "%s%lld%s,%s%s%s,%spurchase%s,%sch%d%s,%s%d.%02d%s,"
                          "%sseg=%d%s,%s%.*s%s\n",
                          q, (long long)(T0 + k), q, q, id, q, q, q, q, k % 3,
                          q, q, k, k % 100, q, q, k % 4, q, q, k % 90, id, q);
  }
  *len = n;
  return buf;
}

START_TEST(csv_plain_vs_quoted) {
  t_snap snap[2];
  for (int quoted = 0; quoted < 2; quoted++) {
    size_t len;
    char *text = make_records(quoted, &len);
    char *exact = malloc(len);
    cxm_ctx *ctx = t_new();
    errlog log;
    cxm_csv *r = t_reader(ctx, &log);
    int64_t cents = 0;
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, text, len);
    free(text);
    ck_assert_int_eq(t_feed_all(r, exact, len), CXM_OK);
    free(exact);
    /* k = 0 has an empty customer: rejected (missing id). */
    ck_assert_int_eq(log.n, 1);
    ck_assert_int_eq(log.line[0], 2);
    ck_assert_int_eq(log.status[0], CXM_E_MISSING);
    t_stats(r, 150, 149, 1);
    for (int k = 1; k < 150; k++) cents += k * 100 + k % 100;
    T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, cents, 149);
    ck_assert_int_eq(t_stat(ctx, CXM_STAT_CUSTOMERS), 149);
    t_snap_take(ctx, &snap[quoted]);
    cxm_csv_destroy(r);
    cxm_ctx_destroy(ctx);
  }
  t_snap_assert_eq(&snap[0], &snap[1], "plain vs quoted");
  t_snap_free(&snap[0]);
  t_snap_free(&snap[1]);
}
END_TEST

/* Arbitrary bytes in an ignored column: NUL, invalid UTF-8, CR alone. */
START_TEST(csv_binary_text) {
  static const char text[] =
      "time,customer,type,value,text\n"
      "2026-01-01,a,nps,10,\xff\xfe\xfd\n"
      "2026-01-01,b,nps,0,\"\xc3\x28\x00\r\x80\"\n"
      "2026-01-01,c,nps,8,\xe2\x82\n"
      "2026-01-01,d,nps,9,\x00\x01\x02\r\n";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(log.n, 0);
  t_stats(r, 4, 4, 0);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 25.0, 4);
  T_KPI(ctx, CXM_KPI_NPS_PROMOTERS, CXM_ALL, CXM_ALL, 2, -1);
  T_KPI(ctx, CXM_KPI_NPS_PASSIVES, CXM_ALL, CXM_ALL, 1, -1);
  T_KPI(ctx, CXM_KPI_NPS_DETRACTORS, CXM_ALL, CXM_ALL, 1, -1);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Bad lines: reported with their physical line numbers, in order. */
START_TEST(csv_bad_lines) {
  static const char text[] =
      "time,customer,type,channel,value,value2,segments\n" /* 1 */
      "2026-01-01,a,nps,web,10,,\n"                        /* 2 ok */
      ",a,nps,web,10,,\n"                                  /* 3 no time */
      "2026-02-30,a,nps,web,10,,\n"                        /* 4 bad date */
      "2026-01-01,a,,web,10,,\n"                           /* 5 no type */
      "2026-01-01,a,NPS!,web,10,,\n"                       /* 6 unknown */
      "2026-01-01,a,nps,web,ten,,\n"                       /* 7 number */
      "2026-01-01,a,session,web,1,1.2.3,\n"                /* 8 value2 */
      "2026-01-01,a,nps,web,11,,\n"                        /* 9 range */
      "2026-01-01,a,nps,web,7.5,,\n"                       /* 10 range */
      "1960-01-01,a,nps,web,7,,\n"                         /* 11 range */
      "2026-01-01,a,csat,web,nan,,\n"                      /* 12 number */
      "2026-01-01,a,nps,web,1e400,,\n"                     /* 13 number */
      "2026-01-01,a,nps,web,5,,;;\n"                       /* 14 segments */
      "2026-01-01,a,nps,web,9,,\n"                         /* 15 ok */
      "\n"                                                 /* 16 blank */
      "2026-01-01,a,purchase,web,-3,,\n";                  /* 17 range */
  static const uint64_t want_line[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                       17};
  static const int want_st[] = {
      CXM_E_PARSE, CXM_E_PARSE, CXM_E_PARSE, CXM_E_TYPE, CXM_E_PARSE,
      CXM_E_PARSE, CXM_E_RANGE, CXM_E_RANGE, CXM_E_RANGE, CXM_E_PARSE,
      CXM_E_PARSE, CXM_E_PARSE, CXM_E_RANGE};
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(log.n, 13);
  for (int i = 0; i < 13; i++) {
    ck_assert_msg(log.line[i] == want_line[i] && log.status[i] == want_st[i],
                  "error %d: line %llu status %d, want line %llu status %d "
                  "(%s)",
                  i, (unsigned long long)log.line[i], log.status[i],
                  (unsigned long long)want_line[i], want_st[i], log.msg[i]);
  }
  t_stats(r, 15, 2, 13);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 100.0, 2);
  /* The core's own reason reaches the message: the score's range. */
  ck_assert_msg(strstr(log.msg[6], "0..10") != NULL, "'%s'", log.msg[6]);
  ck_assert_msg(strstr(log.msg[8], "1970") != NULL, "'%s'", log.msg[8]);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Numbers: blanks around them, signs, exponents; money exact. */
START_TEST(csv_numbers) {
  static const char text[] =
      "time,customer,type,channel,value,value2\n"
      "2026-01-01,a,purchase,web, 19.99 ,\n"
      "2026-01-01,a,purchase,web,+0.01,\n"
      "2026-01-01,a,purchase,web,1e1,\n"
      "2026-01-01,a,purchase,web,.5,\n"
      "2026-01-01,a,purchase,web,2.,\n"
      "2026-01-01,a,purchase,web,0.285,\n"
      "2026-01-01,a,purchase,web,1234567.891,\n"
      "2026-01-01,a,refund,web,-0,\n"
      "2026-01-01,a,session,web,1,\n"
      "2026-01-01,a,session,web,,\n"
      "2026-01-01,a,session,web,3,\t\n"
      "2026-01-01,a,session,web,,12.5\n";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_msg(log.n == 0, "%s", log.n ? log.msg[0] : "");
  t_stats(r, 12, 12, 0);
  /* 1999 + 1 + 1000 + 50 + 200 + 29 (0.285: a half as written rounds away
   * from zero, see CXM_OPT_DECIMALS) + 123456789 = 123460068 cents. */
  T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 123460068, 7);
  T_KPI_INT(ctx, CXM_KPI_REFUNDS, CXM_ALL, CXM_ALL, 0, 1);
  /* Sessions: pageviews 1 (a bounce), absent, 3 (engaged), absent with
   * 12.5 s (engaged). */
  T_KPI(ctx, CXM_KPI_SESSIONS, CXM_ALL, CXM_ALL, 4, 4);
  T_KPI(ctx, CXM_KPI_BOUNCE_RATE, CXM_ALL, CXM_ALL, 0.25, 4);
  T_KPI(ctx, CXM_KPI_ENGAGED_SESSION_RATE, CXM_ALL, CXM_ALL, 0.5, 4);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* `segments`: labels set from that event on, '-' clears, empty keeps. */
START_TEST(csv_segments) {
  static const char text[] =
      "time,customer,type,value,segments\n"
      "2026-01-01T01:00:00Z,c1,nps,10,tier=gold ; region=EU\n"
      "2026-01-01T02:00:00Z,c1,nps,0,-\n"
      "2026-01-01T03:00:00Z,c1,nps,9,\n"
      "2026-01-01T04:00:00Z,c2,nps,8,region=EU;tier=gold\n"
      "2026-01-01T05:00:00Z,c2,nps,10,\n"
      "2026-01-01T06:00:00Z,c3,nps,3,region=EU\n"
      "2026-01-01T07:00:00Z,c3,nps,10, - \n";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  int32_t gold, eu, n = 0;
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(log.n, 0);
  ck_assert_int_eq(cxm_segment_count(ctx, &n), CXM_OK);
  ck_assert_int_eq(n, 2); /* blanks around labels are not part of them */
  gold = t_find_seg(ctx, "tier=gold");
  eu = t_find_seg(ctx, "region=EU");
  /* gold: c1's 10, c2's 8 and 10 -> 2 promoters, 1 passive. */
  T_KPI(ctx, CXM_KPI_NPS, gold, CXM_ALL, 100.0 * 2 / 3, 3);
  /* EU: the same plus c3's 3 -> 2 promoters, 1 passive, 1 detractor. */
  T_KPI(ctx, CXM_KPI_NPS, eu, CXM_ALL, 25.0, 4);
  /* all: 10 0 9 8 10 3 10 -> 4 promoters, 1 passive, 2 detractors. */
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 100.0 * 2 / 7, 7);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Bare dates and zone-less times in a non-zero offset land in the right
 * local day. */
START_TEST(csv_local_days) {
  static const char text[] = "time,customer,type,value\n"
                             "2026-01-02,a,nps,10\n"          /* local 00:00 */
                             "2026-01-02T23:59:59,b,nps,0\n"  /* local */
                             "2026-01-02T17:00:00Z,c,nps,9\n" /* = 03 00:00 */
                             "2026-01-02T16:59:59Z,d,nps,8\n";/* = 02 23:59 */
  cxm_ctx *ctx = t_new();
  cxm_csv *r;
  errlog log;
  int64_t day2 = T0 + DAY - 7 * HOUR; /* local 2026-01-02 00:00, as UTC */
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 25200), CXM_OK);
  r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(log.n, 0);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_FIRST_TIME), day2);
  ck_assert_int_eq(t_stat(ctx, CXM_STAT_LAST_TIME), day2 + DAY);
  /* Local day 2026-01-02: a (10), b (0), d (8). */
  T_KPI_W(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, day2, day2 + DAY, 0.0, 3);
  T_KPI_W(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, day2 + DAY, day2 + 2 * DAY,
          100.0, 1);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Many records: batches are committed as they fill; errors stay in line
 * order across batches; nothing accepted is lost. */
START_TEST(csv_batches) {
  enum { N = 20000 };
  size_t cap = (size_t)N * 64 + 64, len = 0;
  char *text = malloc(cap);
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  int64_t cents = 0, good = 0, bad = 0;
  ck_assert_ptr_nonnull(text);
  len += (size_t)snprintf(text + len, cap - len,
                          "time,customer,type,value,channel\n");
  for (int i = 0; i < N; i++) {
    int line = i + 2;
    if (i % 997 == 500) {
      len += (size_t)snprintf(text + len, cap - len, "%lld,c%d,bogus,1,w\n",
                              (long long)(T0 + i), i);
      bad++;
    } else if (i % 1499 == 3) {
      len += (size_t)snprintf(text + len, cap - len, "%lld,c%d,purchase,,w\n",
                              (long long)(T0 + i), i);
      bad++;
    } else {
      len += (size_t)snprintf(text + len, cap - len,
                              "%lld,c%d,purchase,%d.%02d,w%d\n",
                              (long long)(T0 + i), i % 5000, i % 100, i % 97,
                              i % 3);
      cents += (i % 100) * 100 + i % 97;
      good++;
    }
    (void)line;
  }
  /* Feed in uneven chunks. */
  for (size_t off = 0; off < len;) {
    size_t k = len - off < 777 ? len - off : 777;
    ck_assert_int_eq(cxm_csv_feed(r, text + off, k), CXM_OK);
    off += k;
  }
  ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
  t_stats(r, N, (uint64_t)good, (uint64_t)bad);
  ck_assert_int_eq(log.n, bad);
  for (int i = 1; i < log.n && i < LOG_MAX; i++)
    ck_assert(log.line[i] > log.line[i - 1]);
  ck_assert_int_eq(log.line[0], 2 + 3);   /* i = 3: purchase, no amount */
  ck_assert_int_eq(log.status[0], CXM_E_MISSING);
  ck_assert_int_eq(log.line[1], 2 + 500); /* i = 500: bogus type */
  ck_assert_int_eq(log.status[1], CXM_E_TYPE);
  T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, cents, good);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
  free(text);
}
END_TEST

/* After finish the reader takes a new stream with its own header; line
 * numbers restart, counters accumulate. */
START_TEST(csv_reuse) {
  static const char a[] = "time,type,customer,value\n2026-01-01,nps,a,10\n"
                          "x,nps,a,1\n";
  static const char b[] = "customer,value,type,time\nb,0,nps,2026-01-01\n"
                          "b,1,nps,x";
  cxm_ctx *ctx = t_new();
  errlog log;
  cxm_csv *r = t_reader(ctx, &log);
  ck_assert_int_eq(t_feed_all(r, a, sizeof a - 1), CXM_OK);
  ck_assert_int_eq(t_feed_all(r, b, sizeof b - 1), CXM_OK);
  ck_assert_int_eq(log.n, 2);
  ck_assert_int_eq(log.line[0], 3);
  ck_assert_int_eq(log.line[1], 3); /* last line without a line end */
  t_stats(r, 4, 2, 2);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0.0, 2);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* The error handler may call back into the handle: it runs after the
 * batch is committed, never in the middle of cxm_events_add(). */
typedef struct reentry {
  cxm_ctx *ctx;
  int calls;
  int64_t accepted_seen[4];
} reentry;

static void on_err_reenter(void *user, uint64_t line, int status,
                           const char *msg) {
  reentry *re = user;
  double v;
  int64_t n;
  (void)line;
  (void)status;
  (void)msg;
  ck_assert_int_eq(cxm_kpi_get(re->ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL,
                               CXM_TIME_MIN, CXM_TIME_MAX, &v, &n),
                   CXM_OK);
  if (re->calls < 4) re->accepted_seen[re->calls] = n;
  re->calls++;
}

START_TEST(csv_handler_reentry) {
  static const char text[] = "time,customer,type,value\n"
                             "2026-01-01,a,nps,10\n"
                             "2026-01-01,b,nps,11\n" /* core rejects */
                             "2026-01-01,c,nps,x\n"  /* parser rejects */
                             "2026-01-01,d,nps,0\n";
  cxm_ctx *ctx = t_new();
  reentry re = {ctx, 0, {0}};
  cxm_csv *r = t_reader(ctx, NULL);
  ck_assert_int_eq(cxm_csv_set_error_handler(r, on_err_reenter, &re),
                   CXM_OK);
  ck_assert_int_eq(t_feed_all(r, text, sizeof text - 1), CXM_OK);
  ck_assert_int_eq(re.calls, 2);
  /* Both reports came after the batch (a and d) was committed. */
  ck_assert_int_eq(re.accepted_seen[0], 2);
  ck_assert_int_eq(re.accepted_seen[1], 2);
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0.0, 2);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(csv_null_args) {
  cxm_ctx *ctx = t_new();
  cxm_csv *r = NULL;
  uint64_t l;
  ck_assert_int_eq(cxm_csv_create(NULL, &r), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_create(ctx, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_feed(NULL, "x", 1), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_finish(NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_stats(NULL, &l, NULL, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_set_error_handler(NULL, on_err, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_feed_file(NULL, "-"), CXM_E_NULL);
  cxm_csv_destroy(NULL);
  r = t_reader(ctx, NULL);
  ck_assert_int_eq(cxm_csv_feed(r, NULL, 1), CXM_E_NULL);
  ck_assert_int_eq(cxm_csv_feed(r, NULL, 0), CXM_OK);
  ck_assert_int_eq(cxm_csv_stats(r, NULL, NULL, NULL), CXM_OK);
  cxm_csv_destroy(r);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Allocation failure: every allocation of a full run fails in turn; the
 * calls report CXM_E_NOMEM (or succeed), nothing leaks, nothing crashes.
 */
typedef struct t_alloc {
  long calls, fail_at, failures, live;
} t_alloc;

#define T_HDR sizeof(max_align_t)

static void *a_malloc(void *opaque, size_t size) {
  t_alloc *a = opaque;
  unsigned char *p;
  if (++a->calls == a->fail_at) {
    a->failures++;
    return NULL;
  }
  p = malloc(T_HDR + size);
  if (!p) return NULL;
  a->live++;
  return p + T_HDR;
}

static void *a_realloc(void *opaque, void *ptr, size_t size) {
  t_alloc *a = opaque;
  unsigned char *p;
  if (!ptr) return a_malloc(opaque, size);
  if (++a->calls == a->fail_at) {
    a->failures++;
    return NULL;
  }
  p = realloc((unsigned char *)ptr - T_HDR, T_HDR + size);
  return p ? p + T_HDR : NULL;
}

static void a_free(void *opaque, void *ptr) {
  t_alloc *a = opaque;
  a->live--;
  free((unsigned char *)ptr - T_HDR);
}

START_TEST(csv_alloc_failure) {
  long fail_at;
  for (fail_at = 1; fail_at < 100000; fail_at++) {
    t_alloc a = {0, fail_at, 0, 0};
    cxm_ctx *ctx = NULL;
    cxm_csv *r = NULL;
    int rc = cxm_ctx_create_with_allocator(&ctx, a_malloc, a_realloc, a_free,
                                           &a);
    if (rc == CXM_OK) {
      rc = cxm_csv_create(ctx, &r);
      ck_assert(rc == CXM_OK || rc == CXM_E_NOMEM);
      if (rc == CXM_OK) {
        int r1 = cxm_csv_feed(r, SMALL, 100);
        int r2 = cxm_csv_feed(r, SMALL + 100, sizeof SMALL - 101);
        int r3 = cxm_csv_finish(r);
        ck_assert_msg(r1 == CXM_OK || r1 == CXM_E_NOMEM, "feed: %d", r1);
        ck_assert_msg(r2 == CXM_OK || r2 == CXM_E_NOMEM, "feed: %d", r2);
        ck_assert_msg(r3 == CXM_OK || r3 == CXM_E_NOMEM, "finish: %d", r3);
        if (a.failures == 0) {
          ck_assert_int_eq(r1 | r2 | r3, CXM_OK);
          t_stats(r, 11, 6, 5);
        }
        cxm_csv_destroy(r);
      }
      cxm_ctx_destroy(ctx);
    } else {
      ck_assert_int_eq(rc, CXM_E_NOMEM);
    }
    ck_assert_msg(a.live == 0, "fail_at %ld: %ld blocks leaked", fail_at,
                  a.live);
    if (a.failures == 0) break; /* a run without any injected failure */
  }
  ck_assert_int_gt(fail_at, 3);
}
END_TEST

static Suite *csv_suite(void) {
  Suite *s = suite_create("csv");
  TCase *tc = tcase_create("time");
  tcase_add_test(tc, time_unix);
  tcase_add_test(tc, time_iso);
  tcase_add_test(tc, time_days_exhaustive);
  tcase_add_test(tc, time_local_offset);
  suite_add_tcase(s, tc);
  tc = tcase_create("reader");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, csv_small);
  tcase_add_test(tc, csv_split_every_byte);
  tcase_add_test(tc, csv_lf_vs_crlf);
  tcase_add_test(tc, csv_feed_file);
  tcase_add_test(tc, csv_header_order_unknown_case);
  tcase_add_test(tc, csv_header_minimal);
  tcase_add_test(tc, csv_header_errors);
  tcase_add_test(tc, csv_bom);
  tcase_add_test(tc, csv_quoting);
  tcase_add_test(tc, csv_plain_vs_quoted);
  tcase_add_test(tc, csv_binary_text);
  tcase_add_test(tc, csv_bad_lines);
  tcase_add_test(tc, csv_numbers);
  tcase_add_test(tc, csv_segments);
  tcase_add_test(tc, csv_local_days);
  tcase_add_test(tc, csv_batches);
  tcase_add_test(tc, csv_reuse);
  tcase_add_test(tc, csv_handler_reentry);
  tcase_add_test(tc, csv_null_args);
  tcase_add_test(tc, csv_alloc_failure);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(csv_suite()); }
