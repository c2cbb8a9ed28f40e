/*
 * check_jsonl.c - the JSON Lines reader: mapping of track/page/identify
 * calls to events and segments, rejected lines with their numbers, lines
 * split across feeds, the line cap, escapes, allocation failures.
 * Expected values are worked out by hand from each small input.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stddef.h>
#include <stdalign.h>

#include "testutil.h"

typedef struct rej {
  int n;
  uint64_t line[16];
  int status[16];
  char msg[16][160];
} rej;

static void on_rej(void *user, uint64_t line, int status, const char *msg) {
  rej *r = user;
  if (r->n < 16) {
    r->line[r->n] = line;
    r->status[r->n] = status;
    snprintf(r->msg[r->n], sizeof r->msg[0], "%s", msg);
  }
  r->n++;
}

static cxm_jsonl *t_reader(cxm_ctx *ctx, rej *r) {
  cxm_jsonl *j = NULL;
  ck_assert_int_eq(cxm_jsonl_create(ctx, &j), CXM_OK);
  ck_assert_int_eq(cxm_jsonl_set_error_handler(j, on_rej, r), CXM_OK);
  return j;
}

static void t_feed(cxm_jsonl *j, const char *text) {
  ck_assert_int_eq(cxm_jsonl_feed(j, text, strlen(text)), CXM_OK);
  ck_assert_int_eq(cxm_jsonl_finish(j), CXM_OK);
}

static double kpi(cxm_ctx *ctx, int k, int32_t seg, int32_t ch, int64_t *n) {
  double v = -12345;
  int64_t nn = -1;
  int rc = cxm_kpi_get(ctx, k, seg, ch, ALLW, &v, &nn);
  ck_assert_msg(rc == CXM_OK, "kpi %d: %d %s", k, rc, cxm_ctx_errmsg(ctx));
  if (n) *n = nn;
  return v;
}

static int32_t chan_id(cxm_ctx *ctx, const char *label) {
  int32_t id = -2;
  ck_assert_int_eq(cxm_channel_find(ctx, label, strlen(label), &id), CXM_OK);
  return id;
}

static int32_t seg_id(cxm_ctx *ctx, const char *label) {
  int32_t id = -2;
  ck_assert_int_eq(cxm_segment_find(ctx, label, strlen(label), &id), CXM_OK);
  return id;
}

/* A small CDP stream: every default mapping used once or more. */
static const char *STREAM =
    "{\"type\":\"identify\",\"userId\":\"u1\",\"traits\":{\"segments\":[\"gold\",\"EU\"]}}\n"
    "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"Order Completed\","
    "\"timestamp\":\"2026-01-01T10:00:00Z\",\"properties\":{\"revenue\":25.5,\"channel\":\"web\"}}\n"
    "{\"type\":\"track\",\"userId\":\"u2\",\"event\":\"order completed\","
    "\"timestamp\":1767261600,\"properties\":{\"total\":10,\"channel\":\"email\"}}\n"
    "\n"
    "{\"type\":\"track\",\"userId\":\"u2\",\"event\":\"Order Refunded\","
    "\"timestamp\":\"2026-01-02\",\"properties\":{\"total\":4.25}}\n"
    "{\"type\":\"page\",\"anonymousId\":\"anon-9\",\"timestamp\":\"2026-01-01T08:00:00Z\","
    "\"properties\":{\"channel\":\"web\"}}\n"
    "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"Session Ended\","
    "\"timestamp\":\"2026-01-01T09:00:00Z\",\"properties\":{\"pageviews\":1,\"duration\":3}}\n"
    "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"NPS Submitted\","
    "\"timestamp\":\"2026-01-03T09:00:00Z\",\"properties\":{\"score\":3}}\n"
    "{\"type\":\"track\",\"event\":\"Ad Spend\",\"timestamp\":\"2026-01-01\","
    "\"properties\":{\"amount\":100,\"channel\":\"web\"}}\n"
    "{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"Cart Viewed\",\"timestamp\":\"2026-01-01\"}\n"
    "{\"type\":\"group\",\"userId\":\"u1\",\"groupId\":\"g\"}\n";

START_TEST(test_default_mapping) {
  cxm_ctx *ctx = t_new();
  rej r = {0};
  cxm_jsonl *j = t_reader(ctx, &r);
  t_feed(j, STREAM);
  uint64_t lines, acc, rejc, skip;
  ck_assert_int_eq(cxm_jsonl_stats(j, &lines, &acc, &rejc, &skip), CXM_OK);
  /* 10 non-blank lines: identify + 7 events accepted, Cart Viewed and group
     skipped. */
  ck_assert_uint_eq(lines, 10);
  ck_assert_uint_eq(acc, 8);
  ck_assert_uint_eq(rejc, 0);
  ck_assert_uint_eq(skip, 2);
  ck_assert_int_eq(r.n, 0);

  int64_t n;
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, &n), 35.5, 1e-9);
  ck_assert_int_eq(n, 2);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REFUNDS, CXM_ALL, CXM_ALL, &n), 4.25, 1e-9);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, CXM_ALL, chan_id(ctx, "web"), &n),
                          25.5, 1e-9);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, CXM_ALL, chan_id(ctx, "email"), &n),
                          10.0, 1e-9);
  /* u1 held gold and EU from the identify call on. */
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, seg_id(ctx, "gold"), CXM_ALL, &n),
                          25.5, 1e-9);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_ORDERS, seg_id(ctx, "EU"), CXM_ALL, &n), 1, 1e-12);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, &n), 2, 1e-12);
  /* The session had 1 pageview: a bounce. */
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_BOUNCE_RATE, CXM_ALL, CXM_ALL, &n), 1.0, 1e-12);
  ck_assert_int_eq(n, 1);
  /* One answer, a detractor. */
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, &n), -100.0, 1e-9);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_SPEND, CXM_ALL, chan_id(ctx, "web"), &n),
                          100.0, 1e-9);
  /* page = touch; session = interaction: touch, session for u1/anon. */
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, &n), 2, 1e-12);
  /* Customers: u1, u2, anon-9. */
  int64_t cust = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &cust), CXM_OK);
  ck_assert_int_eq(cust, 3);
  cxm_jsonl_destroy(j);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Rejected lines carry their physical line numbers (blank lines count) and
   the stream goes on. */
START_TEST(test_rejects) {
  cxm_ctx *ctx = t_new();
  rej r = {0};
  cxm_jsonl *j = t_reader(ctx, &r);
  t_feed(j,
         "{\"event\":\"Order Completed\",\"userId\":\"a\",\"timestamp\":\"2026-01-01\","
         "\"properties\":{\"revenue\":1}}\n"                                  /* 1 ok */
         "{\"event\":\"Order Completed\",\"userId\":\"a\"\n"                 /* 2 bad JSON */
         "\n"                                                                 /* 3 blank */
         "[1,2]\n"                                                            /* 4 not object */
         "{\"event\":\"Order Completed\",\"userId\":\"a\"}\n"                /* 5 no time */
         "{\"event\":\"Order Completed\",\"timestamp\":\"2026-01-01\","
         "\"properties\":{\"revenue\":1}}\n"                                  /* 6 no user */
         "{\"event\":\"Order Completed\",\"userId\":\"a\",\"timestamp\":\"2026-01-01\","
         "\"properties\":{\"revenue\":\"12\"}}\n"                             /* 7 string amount */
         "{\"event\":\"NPS Submitted\",\"userId\":\"a\",\"timestamp\":\"2026-01-01\","
         "\"properties\":{\"score\":11}}\n"                                   /* 8 off scale */
         "{\"event\":\"Order Completed\",\"userId\":\"a\",\"timestamp\":\"yesterday\","
         "\"properties\":{\"revenue\":1}}\n"                                  /* 9 bad time */
         "{\"event\":\"Order Completed\",\"userId\":\"a\",\"timestamp\":\"2026-01-02\","
         "\"properties\":{\"revenue\":2}}");                                  /* 10 ok, no LF */
  ck_assert_int_eq(r.n, 7);
  const uint64_t want_line[7] = {2, 4, 5, 6, 7, 8, 9};
  const int want_status[7] = {CXM_E_PARSE, CXM_E_PARSE, CXM_E_MISSING, CXM_E_MISSING,
                              CXM_E_PARSE, CXM_E_RANGE, CXM_E_PARSE};
  for (int i = 0; i < 7; i++) {
    ck_assert_msg(r.line[i] == want_line[i], "reject %d at line %llu", i,
                  (unsigned long long)r.line[i]);
    ck_assert_msg(r.status[i] == want_status[i], "line %llu: status %d (%s)",
                  (unsigned long long)r.line[i], r.status[i], r.msg[i]);
  }
  ck_assert_ptr_nonnull(strstr(r.msg[4], "revenue"));
  uint64_t lines, acc, rejc, skip;
  ck_assert_int_eq(cxm_jsonl_stats(j, &lines, &acc, &rejc, &skip), CXM_OK);
  ck_assert_uint_eq(lines, 9);
  ck_assert_uint_eq(acc, 2);
  ck_assert_uint_eq(rejc, 7);
  ck_assert_uint_eq(skip, 0);
  int64_t n;
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, &n), 3.0, 1e-9);
  cxm_jsonl_destroy(j);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Feeding the stream cut at every byte gives the same result as whole. */
START_TEST(test_split_feeds) {
  size_t len = strlen(STREAM);
  for (size_t cut = 0; cut <= len; cut += 7) {
    cxm_ctx *ctx = t_new();
    rej r = {0};
    cxm_jsonl *j = t_reader(ctx, &r);
    ck_assert_int_eq(cxm_jsonl_feed(j, STREAM, cut), CXM_OK);
    ck_assert_int_eq(cxm_jsonl_feed(j, STREAM + cut, len - cut), CXM_OK);
    ck_assert_int_eq(cxm_jsonl_finish(j), CXM_OK);
    uint64_t acc;
    ck_assert_int_eq(cxm_jsonl_stats(j, NULL, &acc, NULL, NULL), CXM_OK);
    ck_assert_uint_eq(acc, 8);
    ck_assert_int_eq(r.n, 0);
    int64_t n;
    ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_NET_REVENUE, CXM_ALL, CXM_ALL, &n), 31.25,
                            1e-9);
    cxm_jsonl_destroy(j);
    cxm_ctx_destroy(ctx);
  }
}
END_TEST

/* Custom names, value keys with fallbacks, ignored names, mapped traits. */
START_TEST(test_custom_mapping) {
  cxm_ctx *ctx = t_new();
  rej r = {0};
  cxm_jsonl *j = t_reader(ctx, &r);
  ck_assert_int_eq(cxm_jsonl_map_event(j, "Checkout Done", 13, CXM_EV_PURCHASE,
                                       "amount|price", NULL), CXM_OK);
  ck_assert_int_eq(cxm_jsonl_map_event(j, "Order Completed", 15, 0, NULL, NULL), CXM_OK);
  ck_assert_int_eq(cxm_jsonl_map_event(j, "X", 1, 99, NULL, NULL), CXM_E_TYPE);
  ck_assert_int_eq(cxm_jsonl_map_event(j, "", 0, CXM_EV_LEAD, NULL, NULL), CXM_E_LIMIT);
  ck_assert_int_eq(cxm_jsonl_map_trait(j, "tier"), CXM_OK);
  t_feed(j,
         "{\"type\":\"identify\",\"userId\":\"c\",\"traits\":{\"tier\":\"gold\",\"age\":40}}\n"
         "{\"event\":\"Checkout Done\",\"userId\":\"c\",\"timestamp\":\"2026-01-01\","
         "\"properties\":{\"price\":7,\"channel\":\"app\"}}\n"
         "{\"event\":\"Order Completed\",\"userId\":\"c\",\"timestamp\":\"2026-01-01\","
         "\"properties\":{\"revenue\":1000}}\n"
         "{\"type\":\"identify\",\"userId\":\"c\",\"traits\":{\"segments\":\"-\"}}\n"
         "{\"event\":\"Checkout Done\",\"userId\":\"c\",\"timestamp\":\"2026-01-02\","
         "\"properties\":{\"amount\":3,\"price\":100}}\n");
  ck_assert_int_eq(r.n, 0);
  int64_t n;
  int32_t gold = seg_id(ctx, "tier=gold");
  /* 7 while in tier=gold; then the segments were cleared. */
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, gold, CXM_ALL, &n), 7.0, 1e-9);
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, &n), 10.0, 1e-9);
  ck_assert_int_eq(n, 2);
  uint64_t skip;
  ck_assert_int_eq(cxm_jsonl_stats(j, NULL, NULL, NULL, &skip), CXM_OK);
  ck_assert_uint_eq(skip, 1);
  cxm_jsonl_destroy(j);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Escapes: "\u00e9" is the same customer as the raw UTF-8 bytes; a
   surrogate pair decodes to 4 bytes; a lone surrogate is rejected. */
START_TEST(test_escapes) {
  cxm_ctx *ctx = t_new();
  rej r = {0};
  cxm_jsonl *j = t_reader(ctx, &r);
  t_feed(j,
         "{\"event\":\"Signed Up\",\"userId\":\"caf\\u00e9\",\"timestamp\":\"2026-01-01\"}\n"
         "{\"event\":\"Signed Up\",\"userId\":\"caf\xc3\xa9\",\"timestamp\":\"2026-01-02\"}\n"
         "{\"event\":\"Signed Up\",\"userId\":\"\\ud83d\\ude00\",\"timestamp\":\"2026-01-02\"}\n"
         "{\"event\":\"Signed Up\",\"userId\":\"\\ud83d\",\"timestamp\":\"2026-01-02\"}\n");
  uint64_t h1 = 0, h2 = 0, hcust = 0;
  ck_assert_int_eq(cxm_customer_hash(ctx, "caf\xc3\xa9", 5, &h1), CXM_OK);
  ck_assert_int_eq(cxm_customer_hash(ctx, "\xf0\x9f\x98\x80", 4, &h2), CXM_OK);
  (void)hcust;
  int64_t cust = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &cust), CXM_OK);
  ck_assert_int_eq(cust, 2); /* café (twice) and the emoji */
  ck_assert_int_eq(r.n, 1);
  ck_assert_uint_eq(r.line[0], 4);
  int64_t n;
  ck_assert_double_eq_tol(kpi(ctx, CXM_KPI_LEADS, CXM_ALL, CXM_ALL, &n), 3, 1e-12);
  cxm_jsonl_destroy(j);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* A line over CXM_JSONL_LINE_MAX is rejected, fed whole or in pieces, and
   the next line is read. */
START_TEST(test_line_cap) {
  size_t big = CXM_JSONL_LINE_MAX + 10;
  char *line = malloc(big + 200);
  ck_assert_ptr_nonnull(line);
  int k = snprintf(line, 200, "{\"event\":\"Signed Up\",\"timestamp\":\"2026-01-01\",\"userId\":\"");
  memset(line + k, 'x', big);
  strcpy(line + k + big, "\"}\n");
  const char *ok = "{\"event\":\"Signed Up\",\"userId\":\"y\",\"timestamp\":\"2026-01-01\"}\n";
  for (int pieces = 1; pieces <= 3; pieces += 2) {
    cxm_ctx *ctx = t_new();
    rej r = {0};
    cxm_jsonl *j = t_reader(ctx, &r);
    size_t len = strlen(line), step = len / (size_t)pieces + 1;
    for (size_t off = 0; off < len; off += step)
      ck_assert_int_eq(cxm_jsonl_feed(j, line + off, off + step > len ? len - off : step),
                       CXM_OK);
    t_feed(j, ok);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.status[0], CXM_E_LIMIT);
    ck_assert_uint_eq(r.line[0], 1);
    uint64_t lines, acc;
    ck_assert_int_eq(cxm_jsonl_stats(j, &lines, &acc, NULL, NULL), CXM_OK);
    ck_assert_uint_eq(lines, 2);
    ck_assert_uint_eq(acc, 1);
    cxm_jsonl_destroy(j);
    cxm_ctx_destroy(ctx);
  }
  free(line);
}
END_TEST

START_TEST(test_null_args) {
  cxm_ctx *ctx = t_new();
  cxm_jsonl *j = NULL;
  ck_assert_int_eq(cxm_jsonl_create(NULL, &j), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_create(ctx, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_feed(NULL, "x", 1), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_finish(NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_stats(NULL, NULL, NULL, NULL, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_create(ctx, &j), CXM_OK);
  ck_assert_int_eq(cxm_jsonl_feed(j, NULL, 3), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_map_trait(j, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_jsonl_feed_file(j, "/nonexistent/x.jsonl"), CXM_E_IO);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "x.jsonl"));
  cxm_jsonl_destroy(j);
  cxm_jsonl_destroy(NULL);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- allocation failures ------------------------------------------------- */
typedef struct t_alloc {
  long calls, fail_at, live;
} t_alloc;
#define T_HDR sizeof(max_align_t)
static void *a_malloc(void *o, size_t size) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) return NULL;
  a->live++;
  return malloc(size ? size : 1);
}
static void *a_realloc(void *o, void *p, size_t size) {
  t_alloc *a = o;
  if (!p) return a_malloc(o, size);
  if (++a->calls == a->fail_at) return NULL;
  return realloc(p, size ? size : 1);
}
static void a_free(void *o, void *p) {
  t_alloc *a = o;
  a->live--;
  free(p);
}

/* Fail the 1st, 2nd, ... allocation of reader creation and feeding: each
   failure is CXM_E_NOMEM or a rejected line, nothing leaks, and the events
   accepted before the failure stay. */
START_TEST(test_alloc_failures) {
  int succeeded = 0;
  for (long f = 1; f < 400 && !succeeded; f++) {
    t_alloc a = {0, 0, 0};
    cxm_ctx *ctx = NULL;
    ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, a_malloc, a_realloc, a_free, &a),
                     CXM_OK);
    ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
    a.fail_at = a.calls + f;
    cxm_jsonl *j = NULL;
    int rc = cxm_jsonl_create(ctx, &j);
    if (rc != CXM_OK) {
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      ck_assert_ptr_null(j);
    } else {
      rej r = {0};
      cxm_jsonl_set_error_handler(j, on_rej, &r);
      rc = cxm_jsonl_feed(j, STREAM, strlen(STREAM));
      int rc2 = cxm_jsonl_finish(j);
      ck_assert(rc == CXM_OK || rc == CXM_E_NOMEM);
      ck_assert(rc2 == CXM_OK || rc2 == CXM_E_NOMEM);
      uint64_t lines, acc, rejc, skip;
      cxm_jsonl_stats(j, &lines, &acc, &rejc, &skip);
      ck_assert_uint_eq(lines, acc + rejc + skip);
      ck_assert_uint_eq(rejc, (uint64_t)r.n);
      int64_t ev = -1;
      cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &ev);
      if (r.n == 0 && rc == CXM_OK) {
        ck_assert_uint_eq(acc, 8);
        succeeded = 1;
      }
      cxm_jsonl_destroy(j);
    }
    cxm_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
  }
  ck_assert(succeeded);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("jsonl");
  TCase *tc = tcase_create("jsonl");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_default_mapping);
  tcase_add_test(tc, test_rejects);
  tcase_add_test(tc, test_split_feeds);
  tcase_add_test(tc, test_custom_mapping);
  tcase_add_test(tc, test_escapes);
  tcase_add_test(tc, test_line_cap);
  tcase_add_test(tc, test_null_args);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
