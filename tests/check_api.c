/*
 * check_api.c - API contract tests of libcxmetrics: handle lifecycle,
 * version, status strings, NULL arguments, options, key and customer hash,
 * labels and segment sets, event validation, lateness, batches and
 * allocation failure. Everything is checked against include/cxmetrics.h.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#include <stdalign.h>
#include <stddef.h>

/* ------------------------------------------------------------------------
 * Counting allocator: counts calls and live blocks/bytes, and fails the
 * call numbered fail_at (1-based, once; 0 = never).
 */
typedef struct t_alloc {
  long calls;        /* malloc + realloc calls */
  long fail_at;      /* the call to fail, 0 = none */
  long failures;     /* failures injected so far */
  long live;         /* live blocks */
  size_t live_bytes; /* bytes requested by live blocks */
} t_alloc;

#define T_HDR sizeof(max_align_t)

static int t_should_fail(t_alloc *a) {
  a->calls++;
  if (a->fail_at != 0 && a->calls == a->fail_at) {
    a->failures++;
    return 1;
  }
  return 0;
}

static void *t_malloc(void *opaque, size_t size) {
  t_alloc *a = opaque;
  if (t_should_fail(a)) return NULL;
  unsigned char *p = malloc(T_HDR + size);
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  a->live++;
  a->live_bytes += size;
  return p + T_HDR;
}

static void *t_realloc(void *opaque, void *ptr, size_t size) {
  t_alloc *a = opaque;
  if (!ptr) return t_malloc(opaque, size);
  if (t_should_fail(a)) return NULL;
  unsigned char *base = (unsigned char *)ptr - T_HDR;
  size_t old;
  memcpy(&old, base, sizeof old);
  unsigned char *p = realloc(base, T_HDR + size);
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  a->live_bytes = a->live_bytes - old + size;
  return p + T_HDR;
}

static void t_free(void *opaque, void *ptr) {
  t_alloc *a = opaque;
  ck_assert_msg(ptr != NULL, "free hook called with NULL (header: never)");
  unsigned char *base = (unsigned char *)ptr - T_HDR;
  size_t old;
  memcpy(&old, base, sizeof old);
  a->live--;
  a->live_bytes -= old;
  free(base);
}

static cxm_ctx *t_new_counted(t_alloc *a) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, t_malloc, t_realloc,
                                                 t_free, a),
                   CXM_OK);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  return ctx;
}

/* A handle with a bit of everything: 2 channels, 2 segments, 3 customers,
 * events of every type in the two days from T0. */
static void t_populate(cxm_ctx *ctx) {
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  int32_t gold = t_seg(ctx, "gold"), eu = t_seg(ctx, "eu");
  int32_t s1[] = {gold}, s2[] = {gold, eu};
  t_assign(ctx, "alice", t_set(ctx, 1, s1));
  t_assign(ctx, "bob", t_set(ctx, 2, s2));
  T_ADD0(ctx, T0 + 1 * HOUR, CXM_EV_TOUCH, "alice", web);
  T_ADD(ctx, T0 + 2 * HOUR, CXM_EV_SESSION, "alice", web, 3, 40);
  T_ADD(ctx, T0 + 3 * HOUR, CXM_EV_SESSION, "bob", web, 1, 5);
  T_ADD0(ctx, T0 + 4 * HOUR, CXM_EV_LEAD, "bob", email);
  T_ADD1(ctx, T0 + 5 * HOUR, CXM_EV_PURCHASE, "bob", web, 25.5);
  T_ADD1(ctx, T0 + 6 * HOUR, CXM_EV_PURCHASE, "alice", email, 10);
  T_ADD1(ctx, T0 + 7 * HOUR, CXM_EV_REFUND, "alice", email, 2.25);
  T_ADD0(ctx, T0 + 8 * HOUR, CXM_EV_MESSAGE_SENT, "carol", email);
  T_ADD0(ctx, T0 + 9 * HOUR, CXM_EV_MESSAGE_OPEN, "carol", email);
  T_ADD0(ctx, T0 + 10 * HOUR, CXM_EV_MESSAGE_CLICK, "carol", email);
  T_ADD1(ctx, T0 + 11 * HOUR, CXM_EV_NPS, "carol", CXM_NO_CHANNEL, 9);
  T_ADD1(ctx, T0 + 12 * HOUR, CXM_EV_NPS, "bob", web, 3);
  T_ADD1(ctx, T0 + 13 * HOUR, CXM_EV_CSAT, "alice", web, 4);
  T_ADD1(ctx, T0 + 14 * HOUR, CXM_EV_CES, "alice", web, 2);
  T_ADD1(ctx, T0 + 15 * HOUR, CXM_EV_SPEND, NULL, web, 100);
  T_ADD1(ctx, T0 + 16 * HOUR, CXM_EV_SPEND, NULL, email, 30);
  T_ADD0(ctx, T0 + 30 * HOUR, CXM_EV_ENGAGE, "bob", email);
  T_ADD0(ctx, T0 + 31 * HOUR, CXM_EV_CHURN, "carol", CXM_NO_CHANNEL);
}

/* ------------------------------------------------------------------------ */

START_TEST(test_lifecycle) {
  cxm_ctx_destroy(NULL); /* must not crash */
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  ck_assert_ptr_nonnull(ctx);
  ck_assert_str_eq(cxm_ctx_errmsg(ctx), "");
  ck_assert_int_eq(cxm_ctx_errcode(ctx), CXM_OK);
  ck_assert_ptr_nonnull(cxm_ctx_errmsg(NULL));
  /* A failure sets the code and a message. */
  int32_t id;
  ck_assert_int_eq(cxm_channel_find(ctx, "x", 1, &id), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_ctx_errcode(ctx), CXM_E_NOTFOUND);
  ck_assert_str_ne(cxm_ctx_errmsg(ctx), "");
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &v), CXM_OK);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_FIRST_TIME, &v), CXM_OK);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(cxm_stat_get(ctx, 0, &v), CXM_E_ARG);
  ck_assert_int_eq(cxm_stat_get(ctx, 99, &v), CXM_E_ARG);
  cxm_ctx_destroy(ctx);
  /* Two handles are independent. */
  cxm_ctx *a = t_new(), *b = t_new();
  T_ADD1(a, T0, CXM_EV_PURCHASE, "x", CXM_NO_CHANNEL, 5);
  T_KPI(a, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 1, 1);
  T_KPI(b, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 0, 0);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

/* Header: cxm_ctx_errmsg() is "" until a call fails, and a successful call
   does not clear it (the status returned is what tells success). */
START_TEST(test_errmsg_kept) {
  cxm_ctx *ctx = t_new();
  int32_t id;
  ck_assert_str_eq(cxm_ctx_errmsg(ctx), "");
  ck_assert_int_eq(cxm_channel_find(ctx, "x", 1, &id), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_channel_intern(ctx, "x", 1, &id), CXM_OK);
  char buf[128];
  snprintf(buf, sizeof buf, "%s", cxm_ctx_errmsg(ctx));
  int code = cxm_ctx_errcode(ctx);
  cxm_ctx_destroy(ctx);
  ck_assert_msg(strstr(buf, "no such channel") != NULL,
                "the last failure's message is kept after a success, got \"%s\"", buf);
  ck_assert_int_eq(code, CXM_E_NOTFOUND);
}
END_TEST

START_TEST(test_version) {
  ck_assert_int_eq(cxm_version_number(), CXM_VERSION_NUMBER);
  ck_assert_int_eq(CXM_VERSION_NUMBER, CXM_VERSION_MAJOR * 10000 +
                                           CXM_VERSION_MINOR * 100 +
                                           CXM_VERSION_PATCH);
  char buf[64];
  snprintf(buf, sizeof buf, "%d.%d.%d", CXM_VERSION_MAJOR, CXM_VERSION_MINOR,
           CXM_VERSION_PATCH);
  ck_assert_ptr_nonnull(cxm_version_string());
  ck_assert_str_eq(cxm_version_string(), buf);
}
END_TEST

START_TEST(test_strerror) {
  const char *seen[17];
  for (int c = 0; c <= 16; c++) {
    const char *s = cxm_strerror(c);
    ck_assert_msg(s != NULL && s[0] != '\0', "cxm_strerror(%d) empty", c);
    for (int d = 0; d < c; d++)
      ck_assert_msg(strcmp(seen[d], s) != 0,
                    "cxm_strerror(%d) == cxm_strerror(%d): \"%s\"", c, d, s);
    seen[c] = s;
  }
  ck_assert_ptr_nonnull(cxm_strerror(-1));
  ck_assert_ptr_nonnull(cxm_strerror(17));
  ck_assert_ptr_nonnull(cxm_strerror(9999));
  ck_assert_str_ne(cxm_strerror(9999), "");
  /* Pinned values (never renumbered). */
  ck_assert_int_eq(CXM_E_NOMEM, 1);
  ck_assert_int_eq(CXM_E_LATE, 8);
  ck_assert_int_eq(CXM_E_MISSING, 16);
}
END_TEST

/* Assert rc == CXM_E_NULL and that the handle's message names @p arg. */
#define T_NULLARG(ctx, call, arg)                                             \
  do {                                                                        \
    int t_rc_ = (call);                                                       \
    ck_assert_msg(t_rc_ == CXM_E_NULL, "%s: got %d, want CXM_E_NULL", #call,  \
                  t_rc_);                                                     \
    if (ctx) {                                                                \
      const char *t_m_ = cxm_ctx_errmsg(ctx);                                 \
      ck_assert_msg(t_m_ && strstr(t_m_, arg) != NULL,                        \
                    "%s: message \"%s\" does not name \"%s\"", #call,         \
                    t_m_ ? t_m_ : "(null)", arg);                             \
      ck_assert_int_eq(cxm_ctx_errcode(ctx), CXM_E_NULL);                     \
    }                                                                         \
  } while (0)

static void t_errfn(void *u, uint64_t line, int st, const char *m) {
  (void)u, (void)line, (void)st, (void)m;
}

START_TEST(test_null_args) {
  cxm_ctx *ctx = t_new();
  cxm_ctx *nctx = NULL;
  int32_t web = t_chan(ctx, "web");
  int32_t gold = t_seg(ctx, "gold");
  int32_t i32;
  int64_t i64, i64b;
  size_t sz;
  double d;
  uint64_t u64;
  const char *str;
  uint8_t key[CXM_KEY_SIZE] = {0};

  T_NULLARG(nctx, cxm_ctx_create(NULL), "out");
  T_NULLARG(nctx, cxm_ctx_create_with_allocator(NULL, t_malloc, t_realloc,
                                                t_free, NULL), "out");
  cxm_ctx *tmp = (cxm_ctx *)&tmp;
  T_NULLARG(nctx, cxm_ctx_create_with_allocator(&tmp, NULL, t_realloc,
                                                t_free, NULL), "malloc");
  T_NULLARG(nctx, cxm_ctx_create_with_allocator(&tmp, t_malloc, NULL,
                                                t_free, NULL), "realloc");
  T_NULLARG(nctx, cxm_ctx_create_with_allocator(&tmp, t_malloc, t_realloc,
                                                NULL, NULL), "free");
  ck_assert_ptr_eq(tmp, (cxm_ctx *)&tmp); /* out written only on success */

  T_NULLARG(nctx, cxm_option_set(NULL, CXM_OPT_DECIMALS, 2), "ctx");
  T_NULLARG(nctx, cxm_option_get(NULL, CXM_OPT_DECIMALS, &i64), "ctx");
  T_NULLARG(ctx, cxm_option_get(ctx, CXM_OPT_DECIMALS, NULL), "value");
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_DECIMALS, NULL, NULL, NULL),
                   CXM_OK);

  T_NULLARG(nctx, cxm_key_set(NULL, key, sizeof key), "ctx");
  T_NULLARG(ctx, cxm_key_set(ctx, NULL, CXM_KEY_SIZE), "key");
  T_NULLARG(nctx, cxm_customer_hash(NULL, "a", 1, &u64), "ctx");
  T_NULLARG(ctx, cxm_customer_hash(ctx, NULL, 1, &u64), "id");
  T_NULLARG(ctx, cxm_customer_hash(ctx, "a", 1, NULL), "out");

  T_NULLARG(nctx, cxm_channel_intern(NULL, "a", 1, &i32), "ctx");
  T_NULLARG(ctx, cxm_channel_intern(ctx, NULL, 1, &i32), "label");
  T_NULLARG(ctx, cxm_channel_intern(ctx, "a", 1, NULL), "id");
  T_NULLARG(nctx, cxm_channel_find(NULL, "web", 3, &i32), "ctx");
  T_NULLARG(ctx, cxm_channel_find(ctx, NULL, 3, &i32), "label");
  T_NULLARG(ctx, cxm_channel_find(ctx, "web", 3, NULL), "id");
  T_NULLARG(nctx, cxm_channel_count(NULL, &i32), "ctx");
  T_NULLARG(ctx, cxm_channel_count(ctx, NULL), "count");
  T_NULLARG(nctx, cxm_channel_label(NULL, web, &str, &sz), "ctx");
  T_NULLARG(ctx, cxm_channel_label(ctx, web, NULL, &sz), "label");
  T_NULLARG(ctx, cxm_channel_label(ctx, web, &str, NULL), "len");

  T_NULLARG(nctx, cxm_segment_intern(NULL, "a", 1, &i32), "ctx");
  T_NULLARG(ctx, cxm_segment_intern(ctx, NULL, 1, &i32), "label");
  T_NULLARG(ctx, cxm_segment_intern(ctx, "a", 1, NULL), "id");
  T_NULLARG(nctx, cxm_segment_find(NULL, "gold", 4, &i32), "ctx");
  T_NULLARG(ctx, cxm_segment_find(ctx, NULL, 4, &i32), "label");
  T_NULLARG(ctx, cxm_segment_find(ctx, "gold", 4, NULL), "id");
  T_NULLARG(nctx, cxm_segment_count(NULL, &i32), "ctx");
  T_NULLARG(ctx, cxm_segment_count(ctx, NULL), "count");
  T_NULLARG(nctx, cxm_segment_label(NULL, gold, &str, &sz), "ctx");
  T_NULLARG(ctx, cxm_segment_label(ctx, gold, NULL, &sz), "label");
  T_NULLARG(ctx, cxm_segment_label(ctx, gold, &str, NULL), "len");

  T_NULLARG(nctx, cxm_segset_intern(NULL, &gold, 1, &i32), "ctx");
  T_NULLARG(ctx, cxm_segset_intern(ctx, NULL, 1, &i32), "segments");
  T_NULLARG(ctx, cxm_segset_intern(ctx, &gold, 1, NULL), "set_id");
  ck_assert_int_eq(cxm_segset_intern(ctx, NULL, 0, &i32), CXM_OK);
  ck_assert_int_eq(i32, 0);
  T_NULLARG(nctx, cxm_customer_set_segments(NULL, "a", 1, 0), "ctx");
  T_NULLARG(ctx, cxm_customer_set_segments(ctx, NULL, 1, 0), "id");

  T_NULLARG(nctx, cxm_event_type_from_name(NULL, 5, &i32), "name");
  T_NULLARG(nctx, cxm_event_type_from_name("touch", 5, NULL), "type");
  T_NULLARG(nctx, cxm_event_add(NULL, T0, CXM_EV_TOUCH, "a", 1, web, NAN,
                                NAN), "ctx");
  T_NULLARG(ctx, cxm_event_add(ctx, T0, CXM_EV_TOUCH, NULL, 3, web, NAN, NAN),
            "customer");

  int64_t times[1] = {T0}, offs[2] = {0, 1};
  int32_t types[1] = {CXM_EV_TOUCH};
  const uint8_t idb[1] = {'a'};
  T_NULLARG(nctx, cxm_events_add(NULL, 1, times, types, idb, offs, NULL, NULL,
                                 NULL, NULL, &sz, NULL), "ctx");
  T_NULLARG(ctx, cxm_events_add(ctx, 1, NULL, types, idb, offs, NULL, NULL,
                                NULL, NULL, &sz, NULL), "times");
  T_NULLARG(ctx, cxm_events_add(ctx, 1, times, NULL, idb, offs, NULL, NULL,
                                NULL, NULL, &sz, NULL), "types");
  T_NULLARG(ctx, cxm_events_add(ctx, 1, times, types, NULL, offs, NULL, NULL,
                                NULL, NULL, &sz, NULL), "id_data");
  T_NULLARG(ctx, cxm_events_add(ctx, 1, times, types, idb, NULL, NULL, NULL,
                                NULL, NULL, &sz, NULL), "id_offsets");
  /* Nothing of the NULL calls was kept. */
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &i64), CXM_OK);
  ck_assert_int_eq(i64, 0);

  T_NULLARG(nctx, cxm_kpi_from_name(NULL, 3, &(int){0}), "name");
  T_NULLARG(nctx, cxm_kpi_from_name("nps", 3, NULL), "kpi");
  T_NULLARG(nctx, cxm_kpi_get(NULL, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW, &d,
                              &i64), "ctx");
  T_NULLARG(ctx, cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW, NULL,
                             &i64), "value");
  ck_assert_int_eq(cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW, &d,
                               NULL), CXM_OK);
  T_NULLARG(nctx, cxm_kpi_get_int(NULL, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL,
                                  ALLW, &i64, &i64b), "ctx");
  T_NULLARG(ctx, cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, ALLW,
                                 NULL, &i64b), "value");
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL,
                                   ALLW, &i64, NULL), CXM_OK);
  T_NULLARG(nctx, cxm_window_trailing(NULL, T0, 7, &i64, &i64b), "ctx");
  T_NULLARG(ctx, cxm_window_trailing(ctx, T0, 7, NULL, &i64b), "from");
  T_NULLARG(ctx, cxm_window_trailing(ctx, T0, 7, &i64, NULL), "to");
  T_NULLARG(nctx, cxm_time_day(NULL, T0, &i64), "ctx");
  T_NULLARG(ctx, cxm_time_day(ctx, T0, NULL), "day");
  T_NULLARG(nctx, cxm_stat_get(NULL, CXM_STAT_CUSTOMERS, &i64), "ctx");
  T_NULLARG(ctx, cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, NULL), "value");

  /* CSV reader entry points. */
  cxm_csv *csv = NULL;
  uint64_t u1, u2, u3;
  T_NULLARG(nctx, cxm_csv_create(NULL, &csv), "ctx");
  T_NULLARG(ctx, cxm_csv_create(ctx, NULL), "out");
  ck_assert_int_eq(cxm_csv_create(ctx, &csv), CXM_OK);
  T_NULLARG(nctx, cxm_csv_set_error_handler(NULL, t_errfn, NULL), "csv");
  ck_assert_int_eq(cxm_csv_set_error_handler(csv, NULL, NULL), CXM_OK);
  T_NULLARG(nctx, cxm_csv_feed(NULL, "a", 1), "csv");
  T_NULLARG(ctx, cxm_csv_feed(csv, NULL, 1), "data");
  T_NULLARG(nctx, cxm_csv_finish(NULL), "csv");
  T_NULLARG(nctx, cxm_csv_stats(NULL, &u1, &u2, &u3), "csv");
  ck_assert_int_eq(cxm_csv_stats(csv, NULL, NULL, NULL), CXM_OK);
  T_NULLARG(nctx, cxm_csv_feed_file(NULL, "x"), "csv");
  T_NULLARG(ctx, cxm_csv_feed_file(csv, NULL), "path");
  cxm_csv_destroy(csv);
  cxm_csv_destroy(NULL);
  T_NULLARG(nctx, cxm_time_parse(NULL, "0", 1, &i64), "ctx");
  T_NULLARG(ctx, cxm_time_parse(ctx, NULL, 1, &i64), "text");
  T_NULLARG(ctx, cxm_time_parse(ctx, "0", 1, NULL), "time");
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_options) {
  int64_t lo = 1, hi = 1, df = 1;
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_UTC_OFFSET, &lo, &hi, &df),
                   CXM_OK);
  ck_assert_int_eq(lo, -50400);
  ck_assert_int_eq(hi, 50400);
  ck_assert_int_eq(df, 0);
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_DECIMALS, &lo, &hi, &df), CXM_OK);
  ck_assert_int_eq(lo, 0);
  ck_assert_int_eq(hi, 6);
  ck_assert_int_eq(df, 2);
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_MAX_LATENESS, &lo, &hi, &df),
                   CXM_OK);
  ck_assert_int_eq(lo, 0);
  ck_assert_int_eq(hi, 31622400);
  ck_assert_int_eq(df, 604800);
  ck_assert_int_eq(cxm_option_bounds(0, &lo, &hi, &df), CXM_E_ARG);
  ck_assert_int_eq(cxm_option_bounds(13, &lo, &hi, &df), CXM_E_ARG);
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_MODULES, &lo, &hi, &df), CXM_OK);
  ck_assert_int_eq(hi, CXM_MOD_ALL);
  ck_assert_int_eq(df, CXM_MOD_ALL);
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_CHURN_WINDOW_DAYS, &lo, &hi, &df),
                   CXM_OK);
  ck_assert_int_eq(df, 90);
  ck_assert_int_eq(cxm_option_bounds(CXM_OPT_TOUCHES_KEPT, &lo, &hi, &df), CXM_OK);
  ck_assert_int_eq(df, 8);
  ck_assert_int_eq(cxm_option_bounds(-1, &lo, &hi, &df), CXM_E_ARG);

  cxm_ctx *ctx = t_new();
  int64_t v = -1;
  /* Defaults readable from a fresh handle. */
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_UTC_OFFSET, &v), CXM_OK);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_DECIMALS, &v), CXM_OK);
  ck_assert_int_eq(v, 2);
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_MAX_LATENESS, &v), CXM_OK);
  ck_assert_int_eq(v, 604800);
  ck_assert_int_eq(cxm_option_get(ctx, 77, &v), CXM_E_ARG);
  ck_assert_int_eq(cxm_option_set(ctx, 77, 1), CXM_E_ARG);
  ck_assert_int_eq(cxm_option_set(ctx, 0, 1), CXM_E_ARG);

  /* Range: each bound accepted, one past rejected, value kept. */
  static const struct { int opt; int64_t lo, hi; } R[] = {
      {CXM_OPT_UTC_OFFSET, -50400, 50400},
      {CXM_OPT_DECIMALS, 0, 6},
      {CXM_OPT_MAX_LATENESS, 0, 31622400}};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(cxm_option_set(ctx, R[i].opt, R[i].lo), CXM_OK);
    ck_assert_int_eq(cxm_option_set(ctx, R[i].opt, R[i].hi), CXM_OK);
    ck_assert_int_eq(cxm_option_set(ctx, R[i].opt, R[i].lo - 1), CXM_E_RANGE);
    ck_assert_str_ne(cxm_ctx_errmsg(ctx), "");
    ck_assert_int_eq(cxm_option_set(ctx, R[i].opt, R[i].hi + 1), CXM_E_RANGE);
    ck_assert_int_eq(cxm_option_set(ctx, R[i].opt, INT64_MIN), CXM_E_RANGE);
    ck_assert_int_eq(cxm_option_set(ctx, R[i].opt, INT64_MAX), CXM_E_RANGE);
    ck_assert_int_eq(cxm_option_get(ctx, R[i].opt, &v), CXM_OK);
    ck_assert_int_eq(v, R[i].hi);
  }
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 25200), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_DECIMALS, 3), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 3600), CXM_OK);

  /* After the first event: storage options are frozen, lateness is not. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 0), CXM_E_STATE);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_DECIMALS, 2), CXM_E_STATE);
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_UTC_OFFSET, &v), CXM_OK);
  ck_assert_int_eq(v, 25200);
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_DECIMALS, &v), CXM_OK);
  ck_assert_int_eq(v, 3);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 7200), CXM_OK);
  ck_assert_int_eq(cxm_option_get(ctx, CXM_OPT_MAX_LATENESS, &v), CXM_OK);
  ck_assert_int_eq(v, 7200);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, -1), CXM_E_RANGE);
  /* The key too is frozen after the first event. */
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_E_STATE);
  cxm_ctx_destroy(ctx);

  /* A spend (no customer) is a first event as well. */
  ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  T_ADD1(ctx, T0, CXM_EV_SPEND, NULL, web, 1);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_DECIMALS, 3), CXM_E_STATE);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* SipHash-c-d written from the paper (Aumasson & Bernstein 2012), to check
 * the library's customer hash independently (the header names SipHash-1-3;
 * the implementation is checked with the paper's SipHash-2-4 vector). */
static uint64_t t_rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
static uint64_t t_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
#define T_SIPROUND                                                            \
  do {                                                                        \
    v0 += v1; v1 = t_rotl(v1, 13); v1 ^= v0; v0 = t_rotl(v0, 32);             \
    v2 += v3; v3 = t_rotl(v3, 16); v3 ^= v2;                                  \
    v0 += v3; v3 = t_rotl(v3, 21); v3 ^= v0;                                  \
    v2 += v1; v1 = t_rotl(v1, 17); v1 ^= v2; v2 = t_rotl(v2, 32);             \
  } while (0)
static uint64_t t_siphash(int crounds, int drounds, const uint8_t key[16],
                          const uint8_t *m, size_t len) {
  uint64_t k0 = t_le64(key), k1 = t_le64(key + 8);
  uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
  uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
  uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
  uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w = t_le64(m + i);
    v3 ^= w;
    for (int r = 0; r < crounds; r++) T_SIPROUND;
    v0 ^= w;
  }
  uint64_t b = (uint64_t)len << 56;
  for (size_t j = 0; i + j < len; j++) b |= (uint64_t)m[i + j] << (8 * j);
  v3 ^= b;
  for (int r = 0; r < crounds; r++) T_SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  for (int r = 0; r < drounds; r++) T_SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}
/* The header's variant: SipHash-1-3. */
static uint64_t t_sip13(const uint8_t key[16], const void *m, size_t len) {
  return t_siphash(1, 3, key, (const uint8_t *)m, len);
}

START_TEST(test_key_and_hash) {
  /* The paper's test vector: key 00..0f, message 00..0e. */
  uint8_t key[16], msg[15];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
  for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
  ck_assert_uint_eq(t_siphash(2, 4, key, msg, 15),
                    UINT64_C(0xa129ca6149be45e5));

  cxm_ctx *a = NULL, *b = NULL, *c = NULL;
  ck_assert_int_eq(cxm_ctx_create(&a), CXM_OK);
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
  ck_assert_int_eq(cxm_ctx_create(&c), CXM_OK);
  uint64_t ha = 0, hb = 0, hc = 0;
  /* Random keys differ between handles (fails with probability 2^-64). */
  ck_assert_int_eq(cxm_customer_hash(a, "ann@example.com", 15, &ha), CXM_OK);
  ck_assert_int_eq(cxm_customer_hash(b, "ann@example.com", 15, &hb), CXM_OK);
  ck_assert_uint_ne(ha, hb);
  ck_assert_int_eq(cxm_key_set(a, key, 15), CXM_E_ARG);
  ck_assert_int_eq(cxm_key_set(a, key, 17), CXM_E_ARG);
  ck_assert_int_eq(cxm_key_set(a, key, sizeof key), CXM_OK);
  ck_assert_int_eq(cxm_key_set(b, key, sizeof key), CXM_OK);
  ck_assert_int_eq(cxm_key_set(c, T_KEY, sizeof T_KEY), CXM_OK);
  ck_assert_int_eq(cxm_customer_hash(a, msg, 15, &ha), CXM_OK);
  ck_assert_uint_eq(ha, t_sip13(key, msg, 15));
  /* Same key, same id: same hash in two handles; different key: differs. */
  const char *ids[] = {"ann@example.com", "b", "0123456789abcdef",
                       "550e8400-e29b-41d4-a716-446655440000"};
  for (size_t i = 0; i < 4; i++) {
    size_t l = strlen(ids[i]);
    ck_assert_int_eq(cxm_customer_hash(a, ids[i], l, &ha), CXM_OK);
    ck_assert_int_eq(cxm_customer_hash(b, ids[i], l, &hb), CXM_OK);
    ck_assert_int_eq(cxm_customer_hash(c, ids[i], l, &hc), CXM_OK);
    ck_assert_uint_eq(ha, hb);
    ck_assert_uint_ne(ha, hc);
    ck_assert_uint_eq(ha, t_sip13(key, ids[i], l));
    ck_assert_uint_eq(hc, t_sip13(T_KEY, ids[i], l));
  }
  /* Different ids, different hashes; ids are bytes (NUL inside counts). */
  ck_assert_int_eq(cxm_customer_hash(a, "a\0b", 3, &ha), CXM_OK);
  ck_assert_int_eq(cxm_customer_hash(a, "a\0c", 3, &hb), CXM_OK);
  ck_assert_uint_ne(ha, hb);
  ck_assert_int_eq(cxm_customer_hash(a, "x", 0, &ha), CXM_E_MISSING);
  /* Key frozen after a segment assignment. */
  ck_assert_int_eq(cxm_customer_set_segments(b, "x", 1, 0), CXM_OK);
  ck_assert_int_eq(cxm_key_set(b, T_KEY, sizeof T_KEY), CXM_E_STATE);
  ck_assert_int_eq(cxm_customer_hash(b, ids[0], strlen(ids[0]), &hb), CXM_OK);
  ck_assert_uint_eq(hb, t_sip13(key, ids[0], strlen(ids[0])));
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(c);
}
END_TEST

START_TEST(test_labels) {
  cxm_ctx *ctx = t_new();
  int32_t id = -5, cnt = -5;
  const char *lab;
  size_t len;
  ck_assert_int_eq(cxm_channel_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, 0);
  ck_assert_int_eq(cxm_channel_find(ctx, "web", 3, &id), CXM_E_NOTFOUND);
  ck_assert_int_eq(id, -5); /* out untouched on failure */
  ck_assert_int_eq(t_chan(ctx, "web"), 0);
  ck_assert_int_eq(t_chan(ctx, "email"), 1);
  ck_assert_int_eq(t_chan(ctx, "web"), 0);
  ck_assert_int_eq(cxm_channel_find(ctx, "email", 5, &id), CXM_OK);
  ck_assert_int_eq(id, 1);
  /* Length counts, not NUL: "webx" with len 3 is "web". */
  ck_assert_int_eq(cxm_channel_find(ctx, "webx", 3, &id), CXM_OK);
  ck_assert_int_eq(id, 0);
  ck_assert_int_eq(cxm_channel_find(ctx, "Web", 3, &id), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_channel_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, 2);
  ck_assert_int_eq(cxm_channel_label(ctx, 1, &lab, &len), CXM_OK);
  ck_assert_uint_eq(len, 5);
  ck_assert_mem_eq(lab, "email", 5);
  ck_assert_int_eq(cxm_channel_label(ctx, 2, &lab, &len), CXM_E_ARG);
  ck_assert_int_eq(cxm_channel_label(ctx, -1, &lab, &len), CXM_E_ARG);
  /* Segments have their own id space. */
  ck_assert_int_eq(t_seg(ctx, "gold"), 0);
  ck_assert_int_eq(t_seg(ctx, "web"), 1);
  ck_assert_int_eq(cxm_segment_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, 2);
  ck_assert_int_eq(cxm_segment_find(ctx, "email", 5, &id), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_segment_label(ctx, 0, &lab, &len), CXM_OK);
  ck_assert_uint_eq(len, 4);
  ck_assert_mem_eq(lab, "gold", 4);
  ck_assert_int_eq(cxm_segment_label(ctx, 9, &lab, &len), CXM_E_ARG);

  /* Label length: 64 bytes fine, 65 is past the limit. */
  char big[CXM_LABEL_MAX + 2];
  memset(big, 'x', sizeof big);
  ck_assert_int_eq(cxm_channel_intern(ctx, big, CXM_LABEL_MAX, &id), CXM_OK);
  ck_assert_int_eq(id, 2);
  ck_assert_int_eq(cxm_channel_intern(ctx, big, CXM_LABEL_MAX + 1, &id),
                   CXM_E_LIMIT);
  ck_assert_str_ne(cxm_ctx_errmsg(ctx), "");
  ck_assert_int_eq(cxm_segment_intern(ctx, big, CXM_LABEL_MAX + 1, &id),
                   CXM_E_LIMIT);
  ck_assert_int_eq(cxm_channel_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, 3);
  ck_assert_int_eq(cxm_segment_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, 2);
  ck_assert_int_ne(cxm_channel_intern(ctx, "", 0, &id), CXM_OK);

  /* 255 channels fine, the 256th is past the limit. */
  char buf[32];
  for (int i = 3; i < CXM_CHANNELS_MAX; i++) {
    snprintf(buf, sizeof buf, "ch%d", i);
    ck_assert_int_eq(t_chan(ctx, buf), i);
  }
  ck_assert_int_eq(cxm_channel_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, CXM_CHANNELS_MAX);
  ck_assert_int_eq(cxm_channel_intern(ctx, "one-too-many", 12, &id),
                   CXM_E_LIMIT);
  ck_assert_int_eq(cxm_channel_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, CXM_CHANNELS_MAX);
  ck_assert_int_eq(cxm_channel_find(ctx, "one-too-many", 12, &id),
                   CXM_E_NOTFOUND);
  /* Existing labels still intern (no new one is created). */
  ck_assert_int_eq(cxm_channel_intern(ctx, "web", 3, &id), CXM_OK);
  ck_assert_int_eq(id, 0);
  /* Events work on the last channel. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "a", CXM_CHANNELS_MAX - 1);
  T_KPI(ctx, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_CHANNELS_MAX - 1, 1, 1);

  /* 1024 segments fine, the 1025th past the limit. */
  for (int i = 2; i < CXM_SEGMENTS_MAX; i++) {
    snprintf(buf, sizeof buf, "seg%d", i);
    ck_assert_int_eq(t_seg(ctx, buf), i);
  }
  ck_assert_int_eq(cxm_segment_intern(ctx, "one-too-many", 12, &id),
                   CXM_E_LIMIT);
  ck_assert_int_eq(cxm_segment_count(ctx, &cnt), CXM_OK);
  ck_assert_int_eq(cnt, CXM_SEGMENTS_MAX);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_segsets) {
  cxm_ctx *ctx = t_new();
  int32_t s[10], set = -5, set2 = -5;
  char buf[16];
  for (int i = 0; i < 10; i++) {
    snprintf(buf, sizeof buf, "s%d", i);
    s[i] = t_seg(ctx, buf);
  }
  ck_assert_int_eq(cxm_segset_intern(ctx, NULL, 0, &set), CXM_OK);
  ck_assert_int_eq(set, 0);
  ck_assert_int_eq(cxm_segset_intern(ctx, s, 0, &set), CXM_OK);
  ck_assert_int_eq(set, 0);
  /* Order and duplicates do not matter. */
  int32_t a[] = {s[2], s[0], s[1]}, b[] = {s[0], s[1], s[2], s[1], s[0]};
  ck_assert_int_eq(cxm_segset_intern(ctx, a, 3, &set), CXM_OK);
  ck_assert_int_eq(cxm_segset_intern(ctx, b, 5, &set2), CXM_OK);
  ck_assert_int_ne(set, 0);
  ck_assert_int_eq(set, set2);
  int32_t c[] = {s[0], s[1]};
  ck_assert_int_eq(cxm_segset_intern(ctx, c, 2, &set2), CXM_OK);
  ck_assert_int_ne(set, set2);
  /* 8 distinct segments fine; 9 past the limit; 9 entries with 8 distinct
   * fine. */
  ck_assert_int_eq(cxm_segset_intern(ctx, s, 8, &set), CXM_OK);
  set2 = -5;
  ck_assert_int_eq(cxm_segset_intern(ctx, s, 9, &set2), CXM_E_LIMIT);
  ck_assert_int_eq(set2, -5);
  ck_assert_str_ne(cxm_ctx_errmsg(ctx), "");
  int32_t d[9];
  memcpy(d, s, 8 * sizeof *s);
  d[8] = s[3];
  ck_assert_int_eq(cxm_segset_intern(ctx, d, 9, &set2), CXM_OK);
  ck_assert_int_eq(set, set2);
  /* Unknown segment ids. */
  int32_t bad[] = {s[0], 10};
  ck_assert_int_eq(cxm_segset_intern(ctx, bad, 2, &set2), CXM_E_ARG);
  bad[1] = -1;
  ck_assert_int_eq(cxm_segset_intern(ctx, bad, 2, &set2), CXM_E_ARG);
  /* Unknown set ids for a customer. */
  ck_assert_int_eq(cxm_customer_set_segments(ctx, "x", 1, 9999), CXM_E_ARG);
  ck_assert_int_eq(cxm_customer_set_segments(ctx, "x", 1, -2), CXM_E_ARG);
  ck_assert_int_eq(cxm_customer_set_segments(ctx, "", 0, 0), CXM_E_MISSING);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_names) {
  static const char *types[] = {"touch", "session", "engage", "message_sent",
                                "message_open", "message_click", "lead",
                                "purchase", "refund", "spend", "nps", "csat",
                                "ces", "churn"};
  for (int i = 0; i < 14; i++) {
    int32_t t = -1;
    ck_assert_int_eq(cxm_event_type_from_name(types[i], strlen(types[i]), &t),
                     CXM_OK);
    ck_assert_int_eq(t, i + 1);
    ck_assert_str_eq(cxm_event_type_name(i + 1), types[i]);
  }
  int32_t t = -1;
  ck_assert_int_eq(cxm_event_type_from_name("buy", 3, &t), CXM_E_TYPE);
  ck_assert_int_eq(cxm_event_type_from_name("touchy", 6, &t), CXM_E_TYPE);
  ck_assert_int_eq(cxm_event_type_from_name("touchy", 5, &t), CXM_OK);
  ck_assert_ptr_null(cxm_event_type_name(0));
  ck_assert_ptr_null(cxm_event_type_name(15));

  /* Report keys of issue 2 and their ids. */
  static const struct { const char *key; int id; } K[] = {
      {"nps", 1}, {"csat", 6}, {"csat_mean", 7}, {"ces", 8}, {"revenue", 9},
      {"refunds", 10}, {"net_revenue", 11}, {"orders", 12}, {"buyers", 13},
      {"aov", 14}, {"purchase_frequency", 15}, {"repeat_purchase_rate", 16},
      {"clv_historical", 17}, {"lead_conversion_rate", 18}, {"sessions", 19},
      {"bounce_rate", 20}, {"engaged_session_rate", 21},
      {"engagement_rate", 22}, {"open_rate", 23}, {"click_rate", 24},
      {"click_to_open_rate", 25}, {"spend", 26}, {"cpl", 27}, {"cpa", 28},
      {"cac", 29}};
  for (size_t i = 0; i < sizeof K / sizeof *K; i++) {
    int k = -1;
    ck_assert_int_eq(cxm_kpi_from_name(K[i].key, strlen(K[i].key), &k),
                     CXM_OK);
    ck_assert_int_eq(k, K[i].id);
    ck_assert_str_eq(cxm_kpi_name(K[i].id), K[i].key);
  }
  ck_assert_int_ge(cxm_kpi_max(), 36);
  for (int k = 1; k <= cxm_kpi_max(); k++) {
    const char *nm = cxm_kpi_name(k);
    ck_assert_ptr_nonnull(nm);
    int back = -1;
    ck_assert_int_eq(cxm_kpi_from_name(nm, strlen(nm), &back), CXM_OK);
    ck_assert_int_eq(back, k);
    int cl = cxm_kpi_is_customer_level(k);
    int cust = k == CXM_KPI_BUYERS || k == CXM_KPI_PURCHASE_FREQUENCY ||
               k == CXM_KPI_REPEAT_PURCHASE_RATE ||
               k == CXM_KPI_CLV_HISTORICAL ||
               k == CXM_KPI_LEAD_CONVERSION_RATE ||
               k == CXM_KPI_ENGAGEMENT_RATE;
    if (k != CXM_KPI_NEW_BUYERS && k != CXM_KPI_CAC)
      ck_assert_msg(cl == cust, "cxm_kpi_is_customer_level(%d) = %d", k, cl);
    int money = k == CXM_KPI_REVENUE || k == CXM_KPI_REFUNDS ||
                k == CXM_KPI_NET_REVENUE || k == CXM_KPI_AOV ||
                k == CXM_KPI_CLV_HISTORICAL || k == CXM_KPI_SPEND ||
                k == CXM_KPI_CPL || k == CXM_KPI_CPA || k == CXM_KPI_CAC;
    ck_assert_msg(cxm_kpi_is_money(k) == money, "cxm_kpi_is_money(%d) = %d",
                  k, cxm_kpi_is_money(k));
  }
  ck_assert_ptr_null(cxm_kpi_name(0));
  ck_assert_ptr_null(cxm_kpi_name(cxm_kpi_max() + 1));
  ck_assert_int_eq(cxm_kpi_is_customer_level(0), -1);
  ck_assert_int_eq(cxm_kpi_is_money(cxm_kpi_max() + 1), -1);
  int k;
  ck_assert_int_eq(cxm_kpi_from_name("nope", 4, &k), CXM_E_NOTFOUND);

  /* KPI queries with unknown ids or scopes. */
  cxm_ctx *ctx = t_new();
  double v;
  int64_t n, iv;
  t_chan(ctx, "web");
  t_seg(ctx, "gold");
  v = -7.0;
  n = -7;
  ck_assert_int_eq(cxm_kpi_get(ctx, 0, CXM_ALL, CXM_ALL, ALLW, &v, &n),
                   CXM_E_ARG);
  /* Out arguments are written only on success. */
  ck_assert(v == -7.0 && n == -7);
  ck_assert_int_eq(cxm_kpi_get(ctx, cxm_kpi_max() + 1, CXM_ALL, CXM_ALL, ALLW,
                               &v, &n), CXM_E_ARG);
  ck_assert_int_eq(cxm_kpi_get(ctx, CXM_KPI_NPS, 1, CXM_ALL, ALLW, &v, &n),
                   CXM_E_ARG);
  ck_assert_int_eq(cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, 1, ALLW, &v, &n),
                   CXM_E_ARG);
  ck_assert_int_eq(cxm_kpi_get(ctx, CXM_KPI_NPS, -2, CXM_ALL, ALLW, &v, &n),
                   CXM_E_ARG);
  ck_assert_int_eq(cxm_kpi_get(ctx, CXM_KPI_NPS, 0, 0, ALLW, &v, &n), CXM_OK);
  iv = -7;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, ALLW,
                                   &iv, &n), CXM_E_UNSUPPORTED);
  ck_assert_int_eq(iv, -7);
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_AOV, CXM_ALL, CXM_ALL, ALLW,
                                   &iv, &n), CXM_E_UNSUPPORTED);
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL,
                                   ALLW, &iv, &n), CXM_OK);
  ck_assert_int_eq(iv, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Assert that an event is rejected with @p want, and that nothing changed. */
static void t_reject(cxm_ctx *ctx, int want, int64_t t, int32_t type,
                     const void *cust, size_t clen, int32_t ch, double v,
                     double v2, int line) {
  t_snap before, after;
  int64_t acc0, rej0, cus0, acc1, rej1, cus1;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &acc0), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_REJECTED, &rej0), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &cus0), CXM_OK);
  t_snap_take(ctx, &before);
  int rc = cxm_event_add(ctx, t, type, cust, clen, ch, v, v2);
  ck_assert_msg(rc == want, "line %d: event rejected with %d, want %d (%s)",
                line, rc, want, cxm_ctx_errmsg(ctx));
  ck_assert_int_eq(cxm_ctx_errcode(ctx), want);
  const char *m = cxm_ctx_errmsg(ctx);
  ck_assert_msg(m[0] != '\0', "line %d: empty message", line);
  ck_assert_msg(strstr(m, "secret") == NULL,
                "line %d: message quotes the customer id: %s", line, m);
  t_snap_take(ctx, &after);
  t_snap_assert_eq(&before, &after, "rejected event");
  t_snap_free(&before);
  t_snap_free(&after);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &acc1), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_REJECTED, &rej1), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &cus1), CXM_OK);
  ck_assert_int_eq(acc1, acc0);
  ck_assert_int_eq(rej1, rej0 + 1);
  ck_assert_msg(cus1 == cus0, "line %d: a rejected event created a customer",
                line);
}

#define SECRET "secret-customer@example.com"
#define T_REJ(ctx, want, t, type, ch, v, v2)                                  \
  t_reject(ctx, want, t, type, SECRET, strlen(SECRET), ch, v, v2, __LINE__)

START_TEST(test_event_validation) {
  cxm_ctx *ctx = t_new();
  t_populate(ctx);
  int32_t web = 0;
  const int64_t t = T0 + 20 * HOUR;
  /* Unknown types. */
  T_REJ(ctx, CXM_E_TYPE, t, 0, web, NAN, NAN);
  T_REJ(ctx, CXM_E_TYPE, t, 15, web, NAN, NAN);
  T_REJ(ctx, CXM_E_TYPE, t, -1, web, NAN, NAN);
  T_REJ(ctx, CXM_E_TYPE, t, 1000, web, 1, NAN);
  /* Scores out of range or not integers. */
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_NPS, web, 11, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_NPS, web, -1, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_NPS, web, 7.5, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_NPS, web, INFINITY, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_CSAT, web, 0, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_CSAT, web, 6, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_CSAT, web, 4.5, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_CES, web, 0, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_CES, web, 8, NAN);
  T_REJ(ctx, CXM_E_MISSING, t, CXM_EV_NPS, web, NAN, NAN);
  T_REJ(ctx, CXM_E_MISSING, t, CXM_EV_CSAT, web, NAN, NAN);
  T_REJ(ctx, CXM_E_MISSING, t, CXM_EV_CES, web, NAN, NAN);
  /* Amounts: required, finite, >= 0. */
  T_REJ(ctx, CXM_E_MISSING, t, CXM_EV_PURCHASE, web, NAN, NAN);
  T_REJ(ctx, CXM_E_MISSING, t, CXM_EV_REFUND, web, NAN, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_PURCHASE, web, -0.01, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_REFUND, web, -5, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_PURCHASE, web, INFINITY, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_PURCHASE, web, -INFINITY, NAN);
  t_reject(ctx, CXM_E_MISSING, t, CXM_EV_SPEND, NULL, 0, web, NAN, NAN,
           __LINE__);
  t_reject(ctx, CXM_E_RANGE, t, CXM_EV_SPEND, NULL, 0, web, -1, NAN,
           __LINE__);
  /* Session numbers, when present, are >= 0. */
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_SESSION, web, -1, NAN);
  T_REJ(ctx, CXM_E_RANGE, t, CXM_EV_SESSION, web, 2, -3);
  /* Missing customer. */
  t_reject(ctx, CXM_E_MISSING, t, CXM_EV_PURCHASE, NULL, 0, web, 5, NAN,
           __LINE__);
  t_reject(ctx, CXM_E_MISSING, t, CXM_EV_TOUCH, "", 0, web, NAN, NAN,
           __LINE__);
  t_reject(ctx, CXM_E_MISSING, t, CXM_EV_NPS, "x", 0, web, 9, NAN, __LINE__);
  /* Unknown channel. */
  T_REJ(ctx, CXM_E_ARG, t, CXM_EV_TOUCH, 2, NAN, NAN);
  T_REJ(ctx, CXM_E_ARG, t, CXM_EV_TOUCH, -2, NAN, NAN);
  t_reject(ctx, CXM_E_ARG, t, CXM_EV_SPEND, NULL, 0, 7, 3, NAN, __LINE__);
  /* Times outside [CXM_TIME_FIRST, CXM_TIME_LAST]. */
  T_REJ(ctx, CXM_E_RANGE, -1, CXM_EV_TOUCH, web, NAN, NAN);
  T_REJ(ctx, CXM_E_RANGE, CXM_TIME_LAST + 1, CXM_EV_TOUCH, web, NAN, NAN);
  T_REJ(ctx, CXM_E_RANGE, INT64_MIN, CXM_EV_TOUCH, web, NAN, NAN);
  T_REJ(ctx, CXM_E_RANGE, INT64_MAX, CXM_EV_TOUCH, web, NAN, NAN);
  /* Valid edge values are accepted. */
  T_ADD1(ctx, t, CXM_EV_NPS, SECRET, web, 0);
  T_ADD1(ctx, t, CXM_EV_NPS, SECRET, web, 10);
  T_ADD1(ctx, t, CXM_EV_CSAT, SECRET, web, 1);
  T_ADD1(ctx, t, CXM_EV_CSAT, SECRET, web, 5);
  T_ADD1(ctx, t, CXM_EV_CES, SECRET, web, 7);
  T_ADD1(ctx, t, CXM_EV_PURCHASE, SECRET, web, 0);
  T_ADD(ctx, t, CXM_EV_SESSION, SECRET, web, NAN, NAN);
  T_ADD(ctx, t, CXM_EV_SESSION, SECRET, web, 0, 0);
  /* Ignored numbers do not matter. */
  T_ADD(ctx, t, CXM_EV_TOUCH, SECRET, web, -7, 1e300);
  /* Spend ignores the customer. */
  T_ADD1(ctx, t, CXM_EV_SPEND, SECRET, web, 1);
  cxm_ctx_destroy(ctx);

  /* First and last accepted times. */
  ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 31622400),
                   CXM_OK);
  T_ADD0(ctx, CXM_TIME_LAST, CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  T_ADD0(ctx, CXM_TIME_FIRST, CXM_EV_TOUCH, "b", CXM_NO_CHANNEL);
  int64_t v;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_FIRST_TIME, &v), CXM_OK);
  ck_assert_int_eq(v, CXM_TIME_FIRST);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_LAST_TIME, &v), CXM_OK);
  ck_assert_int_eq(v, CXM_TIME_LAST);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_lateness) {
  cxm_ctx *ctx = t_new();
  t_populate(ctx);
  int32_t web = 0, email = 1;
  const int64_t L = 604800; /* default bound */
  /* alice's newest accepted event is T0 + 14h (ces). */
  const int64_t newest = T0 + 14 * HOUR;
  int64_t late0 = 0, late1 = 0;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_LATE, &late0), CXM_OK);
  t_reject(ctx, CXM_E_LATE, newest - L - 1, CXM_EV_PURCHASE, "alice", 5, web,
           1, NAN, __LINE__);
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_LATE, &late1), CXM_OK);
  ck_assert_int_eq(late1, late0 + 1);
  /* Exactly at the bound: accepted. */
  T_ADD1(ctx, newest - L, CXM_EV_PURCHASE, "alice", web, 1);
  /* Another customer's older event is accepted (lateness per customer),
   * even a brand-new customer far in the past. */
  T_ADD1(ctx, newest - 30 * DAY, CXM_EV_PURCHASE, "dave", web, 2);
  T_ADD1(ctx, newest - 2 * L, CXM_EV_PURCHASE, "frank", web, 3);
  /* Spend: per channel, independent of customers. web's newest spend is
   * T0 + 15h, email's T0 + 16h. */
  t_reject(ctx, CXM_E_LATE, T0 + 15 * HOUR - L - 1, CXM_EV_SPEND, NULL, 0,
           web, 4, NAN, __LINE__);
  T_ADD1(ctx, T0 + 15 * HOUR - L, CXM_EV_SPEND, NULL, web, 4);
  T_ADD1(ctx, T0 + 16 * HOUR - L, CXM_EV_SPEND, NULL, email, 5);
  t_reject(ctx, CXM_E_LATE, T0 + 16 * HOUR - L - 1, CXM_EV_SPEND, NULL, 0,
           email, 5, NAN, __LINE__);
  /* A spend far in the future on web moves web's clock only. */
  T_ADD1(ctx, T0 + 40 * DAY, CXM_EV_SPEND, NULL, web, 1);
  T_ADD1(ctx, T0, CXM_EV_SPEND, NULL, email, 1);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "bob", web, 1);
  t_reject(ctx, CXM_E_LATE, T0, CXM_EV_SPEND, NULL, 0, web, 1, NAN, __LINE__);
  /* A customer's events move its own clock (and not the spend clocks). */
  T_ADD0(ctx, T0 + 50 * DAY, CXM_EV_TOUCH, "bob", email);
  t_reject(ctx, CXM_E_LATE, T0 + 16 * HOUR, CXM_EV_NPS, "bob", 3, email, 9,
           NAN, __LINE__);
  T_ADD1(ctx, T0 + 16 * HOUR, CXM_EV_NPS, "alice", email, 9);
  /* The bound may change at any time: 0 means no event older than the
   * newest of its customer. */
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 0), CXM_OK);
  T_ADD0(ctx, T0 + 50 * DAY, CXM_EV_TOUCH, "bob", email);
  t_reject(ctx, CXM_E_LATE, T0 + 50 * DAY - 1, CXM_EV_TOUCH, "bob", 3, email,
           NAN, NAN, __LINE__);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 31622400),
                   CXM_OK);
  T_ADD0(ctx, T0 + 50 * DAY - 300 * DAY, CXM_EV_TOUCH, "bob", email);
  /* Rejected events did not move the clock: after a late rejection the
   * customer's newest is unchanged. */
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_EVENTS_LATE, &late1), CXM_OK);
  ck_assert_int_eq(late1, late0 + 6);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* Fill the column arrays of a batch from a list of events. */
typedef struct t_bev {
  int64_t time;
  int32_t type;
  const char *cust;
  int32_t ch;
  double v, v2;
  int32_t segset;
} t_bev;

typedef struct t_batch {
  size_t n;
  int64_t *times, *offs;
  int32_t *types, *chs, *sets;
  double *vals, *vals2;
  uint8_t *ids;
} t_batch;

static void t_batch_make(t_batch *b, const t_bev *ev, size_t n) {
  size_t idlen = 0;
  for (size_t i = 0; i < n; i++) idlen += ev[i].cust ? strlen(ev[i].cust) : 0;
  b->n = n;
  b->times = calloc(n + 1, sizeof *b->times);
  b->offs = calloc(n + 1, sizeof *b->offs);
  b->types = calloc(n + 1, sizeof *b->types);
  b->chs = calloc(n + 1, sizeof *b->chs);
  b->sets = calloc(n + 1, sizeof *b->sets);
  b->vals = calloc(n + 1, sizeof *b->vals);
  b->vals2 = calloc(n + 1, sizeof *b->vals2);
  b->ids = calloc(idlen + 1, 1);
  ck_assert(b->times && b->offs && b->types && b->chs && b->sets && b->vals &&
            b->vals2 && b->ids);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    b->times[i] = ev[i].time;
    b->types[i] = ev[i].type;
    b->chs[i] = ev[i].ch;
    b->vals[i] = ev[i].v;
    b->vals2[i] = ev[i].v2;
    b->sets[i] = ev[i].segset;
    b->offs[i] = (int64_t)o;
    size_t l = ev[i].cust ? strlen(ev[i].cust) : 0;
    memcpy(b->ids + o, ev[i].cust ? ev[i].cust : "", l);
    o += l;
  }
  b->offs[n] = (int64_t)o;
}

static void t_batch_free(t_batch *b) {
  free(b->times);
  free(b->offs);
  free(b->types);
  free(b->chs);
  free(b->sets);
  free(b->vals);
  free(b->vals2);
  free(b->ids);
}

static int t_batch_add(cxm_ctx *ctx, const t_batch *b, size_t *acc,
                       int32_t *st) {
  return cxm_events_add(ctx, b->n, b->times, b->types, b->ids, b->offs,
                        b->chs, b->vals, b->vals2, b->sets, acc, st);
}

/* Add events one at a time through cxm_event_add (segsets applied first). */
static void t_single_add(cxm_ctx *ctx, const t_bev *ev, size_t n,
                         const int32_t *only_ok) {
  for (size_t i = 0; i < n; i++) {
    if (only_ok && only_ok[i] != CXM_OK) continue;
    if (ev[i].segset >= 0 && ev[i].cust && ev[i].type != CXM_EV_SPEND)
      t_assign(ctx, ev[i].cust, ev[i].segset);
    T_ADD(ctx, ev[i].time, ev[i].type, ev[i].cust, ev[i].ch, ev[i].v,
          ev[i].v2);
  }
}

START_TEST(test_batch_mixed) {
  cxm_ctx *ctx = t_new(), *ref = t_new();
  t_populate(ctx);
  t_populate(ref);
  int32_t gold = 0, eu = 1;
  int32_t only_eu = t_set(ctx, 1, &eu);
  ck_assert_int_eq(t_set(ref, 1, &eu), only_eu);
  (void)gold;
  const int64_t t = T0 + 40 * HOUR;
  const t_bev ev[] = {
      /* 0 ok */ {t, CXM_EV_PURCHASE, "alice", 0, 7.5, NAN, -1},
      /* 1 type */ {t, 99, "alice", 0, NAN, NAN, -1},
      /* 2 ok, moves dave to eu */ {t, CXM_EV_NPS, "dave", 1, 10, NAN, only_eu},
      /* 3 range; its segset must not be applied */
      {t, CXM_EV_NPS, "erin", 0, 11, NAN, only_eu},
      /* 4 missing customer */ {t, CXM_EV_TOUCH, "", 0, NAN, NAN, -1},
      /* 5 ok: spend needs no customer */ {t, CXM_EV_SPEND, "", 1, 12, NAN, -1},
      /* 6 late for alice */
      {t - 8 * DAY, CXM_EV_PURCHASE, "alice", 0, 1, NAN, -1},
      /* 7 unknown channel */ {t, CXM_EV_TOUCH, "alice", 9, NAN, NAN, -1},
      /* 8 ok: erin touches, with no segment */
      {t, CXM_EV_TOUCH, "erin", 1, NAN, NAN, -1},
      /* 9 missing amount */ {t, CXM_EV_REFUND, "bob", 0, NAN, NAN, -1},
  };
  const int32_t want[] = {CXM_OK,    CXM_E_TYPE,    CXM_OK,     CXM_E_RANGE,
                          CXM_E_MISSING, CXM_OK,    CXM_E_LATE, CXM_E_ARG,
                          CXM_OK,    CXM_E_MISSING};
  const size_t n = sizeof ev / sizeof *ev;
  t_batch b;
  t_batch_make(&b, ev, n);
  size_t acc = 999;
  int32_t st[10];
  for (size_t i = 0; i < n; i++) st[i] = -7;
  int rc = t_batch_add(ctx, &b, &acc, st);
  ck_assert_int_eq(rc, CXM_E_TYPE); /* the first rejected event's status */
  ck_assert_msg(strstr(cxm_ctx_errmsg(ctx), "1") != NULL,
                "index 1 not in message: %s", cxm_ctx_errmsg(ctx));
  ck_assert_msg(strstr(cxm_ctx_errmsg(ctx), "alice") == NULL,
                "message quotes a customer id: %s", cxm_ctx_errmsg(ctx));
  ck_assert_uint_eq(acc, 4);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(st[i] == want[i], "status[%zu] = %d, want %d", i, st[i],
                  want[i]);
  t_single_add(ref, ev, n, want);
  t_snap sa, sb;
  t_snap_take(ctx, &sa);
  t_snap_take(ref, &sb);
  t_snap_assert_eq(&sa, &sb, "batch vs single events");
  t_snap_free(&sa);
  t_snap_free(&sb);
  /* erin's segset (event 3) was not applied: her touch is in no segment. */
  /* eu: bob's session and engage (populate); erin's touch is in none. */
  T_KPI(ctx, CXM_KPI_INTERACTIONS, eu, CXM_ALL, 2, 2);
  /* dave's nps counted in eu. */
  T_KPI(ctx, CXM_KPI_NPS_PROMOTERS, eu, CXM_ALL, 1, -1);

  /* NULL optional columns and outputs; a fully valid batch returns OK. */
  const t_bev ok[] = {{t, CXM_EV_TOUCH, "zed", -1, NAN, NAN, -1},
                      {t, CXM_EV_ENGAGE, "zed", -1, NAN, NAN, -1}};
  t_batch b2;
  t_batch_make(&b2, ok, 2);
  ck_assert_int_eq(cxm_events_add(ctx, 2, b2.times, b2.types, b2.ids, b2.offs,
                                  NULL, NULL, NULL, NULL, NULL, NULL),
                   CXM_OK);
  T_KPI(ctx, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, 5 + 1 + 2, -1);
  /* Empty batch. */
  acc = 9;
  ck_assert_int_eq(t_batch_add(ctx, &(t_batch){0, b2.times, b2.offs, b2.types,
                                               b2.chs, b2.sets, b2.vals,
                                               b2.vals2, b2.ids},
                               &acc, NULL),
                   CXM_OK);
  ck_assert_uint_eq(acc, 0);
  /* Bad offsets (decreasing, or beyond... the first offset must be valid). */
  int64_t bad_offs[3] = {0, 3, 2};
  int32_t st2[2] = {-7, -7};
  acc = 9;
  rc = cxm_events_add(ctx, 2, b2.times, b2.types, b2.ids, bad_offs, NULL,
                      NULL, NULL, NULL, &acc, st2);
  ck_assert_int_ne(rc, CXM_OK);
  ck_assert_int_ne(st2[1], CXM_OK);
  t_batch_free(&b);
  t_batch_free(&b2);
  cxm_ctx_destroy(ctx);
  cxm_ctx_destroy(ref);
}
END_TEST

/* ------------------------------------------------------------------------
 * Allocation failure.
 */
START_TEST(test_nomem_create) {
  int done = 0;
  for (long k = 1; k < 1000 && !done; k++) {
    t_alloc a = {0};
    a.fail_at = k;
    cxm_ctx *ctx = (cxm_ctx *)&a;
    int rc = cxm_ctx_create_with_allocator(&ctx, t_malloc, t_realloc, t_free,
                                           &a);
    a.fail_at = 0;
    if (rc == CXM_OK) {
      ck_assert_ptr_ne(ctx, (cxm_ctx *)&a);
      ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
      T_ADD1(ctx, T0, CXM_EV_PURCHASE, "a", CXM_NO_CHANNEL, 1);
      cxm_ctx_destroy(ctx);
      done = 1;
    } else {
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      ck_assert_ptr_eq(ctx, (cxm_ctx *)&a);
      ck_assert_int_eq(a.failures, 1);
    }
    ck_assert_msg(a.live == 0, "k=%ld: %ld blocks leaked", k, a.live);
    ck_assert_uint_eq(a.live_bytes, 0);
  }
  ck_assert(done);
}
END_TEST

/* Compare a failing handle with its twin (fed the same successful calls). */
static void t_twin_eq(cxm_ctx *h, cxm_ctx *twin, const char *what) {
  t_snap a, b;
  t_snap_take(h, &a);
  t_snap_take(twin, &b);
  t_snap_assert_eq(&a, &b, what);
  t_snap_free(&a);
  t_snap_free(&b);
  int64_t c1, c2;
  ck_assert_int_eq(cxm_stat_get(h, CXM_STAT_CUSTOMERS, &c1), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(twin, CXM_STAT_CUSTOMERS, &c2), CXM_OK);
  ck_assert_int_eq(c1, c2);
}

START_TEST(test_nomem_events) {
  t_alloc a = {0};
  cxm_ctx *h = t_new_counted(&a);
  cxm_ctx *twin = t_new();
  int32_t web = t_chan(h, "web");
  ck_assert_int_eq(t_chan(twin, "web"), web);
  int32_t gold = t_seg(h, "gold");
  ck_assert_int_eq(t_seg(twin, "gold"), gold);
  int32_t gs = t_set(h, 1, &gold);
  ck_assert_int_eq(t_set(twin, 1, &gold), gs);
  long total_failures = 0;
  char id[32];
  /* Enough new customers to force the customer table to grow a few times. */
  for (int i = 0; i < 20000; i++) {
    snprintf(id, sizeof id, "customer-%05d", i);
    int32_t type = (i % 3 == 0) ? CXM_EV_PURCHASE : CXM_EV_SESSION;
    double v = (i % 3 == 0) ? (double)(i % 17) + 0.25 : 2.0;
    int64_t t = T0 + (int64_t)(i % 48) * HOUR;
    int32_t ch = (i % 2) ? web : CXM_NO_CHANNEL;
    if (i % 5 == 0) {
      /* A segment assignment that may create the customer. */
      for (long k = 1;; k++) {
        a.fail_at = a.calls + k;
        int rc = cxm_customer_set_segments(h, id, strlen(id), gs);
        if (rc == CXM_OK) break;
        ck_assert_int_eq(rc, CXM_E_NOMEM);
        total_failures++;
        t_twin_eq(h, twin, "after failed set_segments");
        ck_assert_int_lt(k, 100);
      }
      t_assign(twin, id, gs);
    }
    for (long k = 1;; k++) {
      a.fail_at = a.calls + k;
      int rc = t_ev(h, t, type, id, ch, v, 30);
      if (rc == CXM_OK) break;
      ck_assert_msg(rc == CXM_E_NOMEM, "event %d: %d", i, rc);
      total_failures++;
      t_twin_eq(h, twin, "after failed event add");
      ck_assert_int_lt(k, 100);
    }
    a.fail_at = 0;
    T_ADD(twin, t, type, id, ch, v, 30);
  }
  a.fail_at = 0;
  t_twin_eq(h, twin, "after all events");
  /* The customer table had to grow at least once with 20000 customers. */
  ck_assert_int_gt(total_failures, 0);
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_msg(a.live == 0, "%ld blocks leaked", a.live);
  ck_assert_uint_eq(a.live_bytes, 0);
}
END_TEST

START_TEST(test_nomem_labels) {
  t_alloc a = {0};
  cxm_ctx *h = t_new_counted(&a);
  char buf[32];
  long failures = 0;
  for (int i = 0; i < 200; i++) {
    snprintf(buf, sizeof buf, "label-%d", i);
    for (int kind = 0; kind < 2; kind++) {
      for (long k = 1;; k++) {
        int32_t id = -5, cnt = -1, cnt2 = -1;
        if (kind == 0)
          ck_assert_int_eq(cxm_channel_count(h, &cnt), CXM_OK);
        else
          ck_assert_int_eq(cxm_segment_count(h, &cnt), CXM_OK);
        a.fail_at = a.calls + k;
        int rc = kind == 0 ? cxm_channel_intern(h, buf, strlen(buf), &id)
                           : cxm_segment_intern(h, buf, strlen(buf), &id);
        a.fail_at = 0;
        if (kind == 0)
          ck_assert_int_eq(cxm_channel_count(h, &cnt2), CXM_OK);
        else
          ck_assert_int_eq(cxm_segment_count(h, &cnt2), CXM_OK);
        if (rc == CXM_OK) {
          ck_assert_int_eq(id, i);
          ck_assert_int_eq(cnt2, cnt + 1);
          break;
        }
        failures++;
        ck_assert_int_eq(rc, CXM_E_NOMEM);
        ck_assert_int_eq(id, -5);
        ck_assert_int_eq(cnt2, cnt);
        int rcf = kind == 0 ? cxm_channel_find(h, buf, strlen(buf), &id)
                            : cxm_segment_find(h, buf, strlen(buf), &id);
        ck_assert_int_eq(rcf, CXM_E_NOTFOUND);
        ck_assert_int_lt(k, 100);
      }
    }
  }
  /* (Labels may live in preallocated storage: failures are not required.) */
  (void)failures;
  /* Segment sets: each new set gets an id distinct from all before. */
  int32_t seen[150];
  for (int i = 0; i < 150; i++) {
    int32_t segs[3] = {i, (i + 1) % 200, (i + 7) % 200};
    for (long k = 1;; k++) {
      int32_t set = -5;
      a.fail_at = a.calls + k;
      int rc = cxm_segset_intern(h, segs, 3, &set);
      a.fail_at = 0;
      if (rc == CXM_OK) {
        ck_assert_int_gt(set, 0);
        for (int j = 0; j < i; j++) ck_assert_int_ne(set, seen[j]);
        seen[i] = set;
        break;
      }
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      ck_assert_int_eq(set, -5);
      ck_assert_int_lt(k, 100);
    }
  }
  /* Interning an existing set again gives its id. */
  int32_t segs[3] = {156, 150, 149}, set = -1;
  ck_assert_int_eq(cxm_segset_intern(h, segs, 3, &set), CXM_OK);
  ck_assert_int_eq(set, seen[149]);
  cxm_ctx_destroy(h);
  ck_assert_msg(a.live == 0, "%ld blocks leaked", a.live);
}
END_TEST

START_TEST(test_nomem_batch) {
  /* A batch of 600 events of 300 new customers on top of a small state. */
  enum { N = 600 };
  t_bev *ev = calloc(N, sizeof *ev);
  char (*ids)[16] = calloc(N, sizeof *ids);
  ck_assert(ev && ids);
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof ids[i], "b%03d", i / 2);
    ev[i].time = T0 + (int64_t)i * 60;
    ev[i].type = (i % 2) ? CXM_EV_PURCHASE : CXM_EV_NPS;
    ev[i].cust = ids[i];
    ev[i].ch = i % 3 == 0 ? CXM_NO_CHANNEL : (int32_t)(i % 2);
    ev[i].v = (i % 2) ? 1.5 + i : (double)(i % 11);
    ev[i].v2 = NAN;
    ev[i].segset = (i % 4 == 0) ? 1 : -1;
  }
  /* The id of the set {gold} after t_populate(). */
  int32_t gold = 0, gs;
  {
    cxm_ctx *scratch = t_new();
    t_populate(scratch);
    gs = t_set(scratch, 1, &gold);
    cxm_ctx_destroy(scratch);
  }
  for (int i = 0; i < N; i++)
    if (ev[i].segset >= 0) ev[i].segset = gs;
  t_batch b;
  t_batch_make(&b, ev, N);
  int done = 0;
  for (long k = 1; k < 10000 && !done; k++) {
    t_alloc a = {0};
    cxm_ctx *h = t_new_counted(&a);
    t_populate(h);
    ck_assert_int_eq(t_set(h, 1, &gold), gs);
    int32_t st[N];
    size_t acc = 12345;
    a.fail_at = a.calls + k;
    int rc = t_batch_add(h, &b, &acc, st);
    a.fail_at = 0;
    /* The reference: the same state plus the events reported accepted. */
    cxm_ctx *ref = t_new();
    t_populate(ref);
    ck_assert_int_eq(t_set(ref, 1, &gold), gs);
    if (rc == CXM_OK) {
      ck_assert_uint_eq(acc, N);
      done = 1;
      t_single_add(ref, ev, N, NULL);
    } else {
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      size_t okc = 0;
      for (int i = 0; i < N; i++) {
        ck_assert_msg(st[i] == CXM_OK || st[i] == CXM_E_NOMEM,
                      "k=%ld status[%d] = %d", k, i, st[i]);
        okc += st[i] == CXM_OK;
      }
      ck_assert_uint_eq(acc, okc);
      ck_assert_uint_lt(acc, N);
      t_single_add(ref, ev, N, st);
    }
    t_twin_eq(h, ref, "batch under allocation failure");
    cxm_ctx_destroy(h);
    cxm_ctx_destroy(ref);
    ck_assert_msg(a.live == 0, "k=%ld: %ld blocks leaked", k, a.live);
  }
  ck_assert(done);
  t_batch_free(&b);
  free(ev);
  free(ids);
}
END_TEST

START_TEST(test_memory_stat) {
  t_alloc a = {0};
  cxm_ctx *h = t_new_counted(&a);
  int64_t m = -1;
  ck_assert_int_eq(cxm_stat_get(h, CXM_STAT_MEMORY_BYTES, &m), CXM_OK);
  ck_assert_msg((size_t)m == a.live_bytes,
                "CXM_STAT_MEMORY_BYTES %lld, allocator sees %zu live bytes",
                (long long)m, a.live_bytes);
  t_populate(h);
  char id[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof id, "m%d", i);
    T_ADD1(h, T0 + i, CXM_EV_PURCHASE, id, 0, 1);
  }
  ck_assert_int_eq(cxm_stat_get(h, CXM_STAT_MEMORY_BYTES, &m), CXM_OK);
  ck_assert_msg((size_t)m == a.live_bytes,
                "CXM_STAT_MEMORY_BYTES %lld, allocator sees %zu live bytes",
                (long long)m, a.live_bytes);
  ck_assert_int_gt(m, 5000 * 8);
  cxm_ctx_destroy(h);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *api_suite(void) {
  Suite *s = suite_create("api");
  TCase *tc = tcase_create("contract");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_lifecycle);
  tcase_add_test(tc, test_errmsg_kept);
  tcase_add_test(tc, test_version);
  tcase_add_test(tc, test_strerror);
  tcase_add_test(tc, test_null_args);
  tcase_add_test(tc, test_options);
  tcase_add_test(tc, test_key_and_hash);
  tcase_add_test(tc, test_labels);
  tcase_add_test(tc, test_segsets);
  tcase_add_test(tc, test_names);
  tcase_add_test(tc, test_event_validation);
  tcase_add_test(tc, test_lateness);
  tcase_add_test(tc, test_batch_mixed);
  suite_add_tcase(s, tc);
  TCase *tm = tcase_create("nomem");
  tcase_set_timeout(tm, 300);
  tcase_add_test(tm, test_nomem_create);
  tcase_add_test(tm, test_nomem_events);
  tcase_add_test(tm, test_nomem_labels);
  tcase_add_test(tm, test_nomem_batch);
  tcase_add_test(tm, test_memory_stat);
  suite_add_tcase(s, tm);
  return s;
}

int main(void) { return t_run(api_suite()); }
