/*
 * check_merge.c - merging handles: a generated stream ingested whole equals
 * the same stream ingested in N customer-partitioned shards (labels interned
 * in different orders) merged sequentially, as a tree, in reverse, through
 * snapshots; overlapping customers; incompatible handles; allocation
 * failures leave dst unchanged.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdalign.h>
#include <stddef.h>

#include "snaputil.h"

static g_stream G;

/* CXM_QUICK=1 (scripts/valgrind.sh): a shorter stream. */
static void setup(void) {
  int quick = getenv("CXM_QUICK") != NULL;
  G = g_make(quick ? 2500 : 12000, quick ? 120 : 400, 2026);
}
static void teardown(void) { g_free(&G); }

static cxm_ctx *whole(void) {
  cxm_ctx *c = t_new();
  g_ingest(c, &G, 0, 1);
  return c;
}

static cxm_ctx *shard(int i, int n) {
  cxm_ctx *c = t_new();
  g_ingest(c, &G, i, n);
  return c;
}

static void merge_ok(cxm_ctx *dst, cxm_ctx *src) {
  int rc = cxm_ctx_merge(dst, src);
  ck_assert_msg(rc == CXM_OK, "merge = %d: %s", rc, cxm_ctx_errmsg(dst));
}

START_TEST(test_sequential) {
  int n = 2 + _i; /* 2, 3, 4, 5 shards */
  cxm_ctx *w = whole();
  cxm_ctx *s[8];
  for (int i = 0; i < n; i++) s[i] = shard(i, n);
  int64_t c0 = 0;
  cxm_stat_get(s[1], CXM_STAT_CUSTOMERS, &c0);
  ck_assert_int_gt(c0, 0); /* every shard got customers */
  for (int i = 1; i < n; i++) merge_ok(s[0], s[i]);
  ck_assert_int_gt(g_compare(w, s[0]), 5000);
  /* src unchanged by the merge: its own KPIs still equal a fresh shard's */
  cxm_ctx *again = shard(n - 1, n);
  g_compare(again, s[n - 1]);
  cxm_ctx_destroy(again);
  for (int i = 0; i < n; i++) cxm_ctx_destroy(s[i]);
  cxm_ctx_destroy(w);
}
END_TEST

START_TEST(test_reversed_and_tree) {
  const int n = 6;
  cxm_ctx *w = whole();
  cxm_ctx *s[6], *t[6];
  for (int i = 0; i < n; i++) s[i] = shard(i, n);
  for (int i = 0; i < n; i++) t[i] = shard(i, n);
  for (int i = n - 2; i >= 0; i--) merge_ok(s[n - 1], s[i]); /* reversed */
  g_compare(w, s[n - 1]);
  for (int step = 1; step < n; step *= 2) /* tree: (0 1)(2 3)(4 5), (0 2), (0 4) */
    for (int i = 0; i + step < n; i += 2 * step) merge_ok(t[i], t[i + step]);
  g_compare(w, t[0]);
  g_compare(s[n - 1], t[0]);
  for (int i = 0; i < n; i++) {
    cxm_ctx_destroy(s[i]);
    cxm_ctx_destroy(t[i]);
  }
  cxm_ctx_destroy(w);
}
END_TEST

/* Shards saved without the key, loaded and merged in a fresh handle: the
   sharded-ingest pattern (cxm init / ingest / merge). */
START_TEST(test_through_snapshots) {
  const int n = 3;
  cxm_ctx *w = whole();
  cxm_ctx *acc = NULL;
  ck_assert_int_eq(cxm_ctx_create(&acc), CXM_OK);
  ck_assert_int_eq(cxm_key_set(acc, T_KEY, sizeof T_KEY), CXM_OK);
  for (int i = 0; i < n; i++) {
    cxm_ctx *s = shard(i, n);
    void *p; size_t len;
    ck_assert_int_eq(cxm_snapshot_save_buffer(s, 0, &p, &len), CXM_OK);
    cxm_ctx *l = NULL;
    ck_assert_int_eq(cxm_ctx_create(&l), CXM_OK);
    ck_assert_int_eq(cxm_snapshot_load_buffer(l, p, len), CXM_OK);
    merge_ok(acc, l);
    cxm_buffer_free(s, p, len);
    cxm_ctx_destroy(l);
    cxm_ctx_destroy(s);
  }
  g_compare(w, acc);
  cxm_ctx_destroy(acc);
  cxm_ctx_destroy(w);
}
END_TEST

/* The same customer in both handles: records combined (docs/snapshot.md). */
START_TEST(test_overlap) {
  cxm_ctx *a = t_new(), *b = t_new(), *w = t_new();
  int32_t web = t_chan(a, "web"), mail = t_chan(a, "mail");
  int32_t bmail = t_chan(b, "mail"), bweb = t_chan(b, "web");
  int32_t wweb = t_chan(w, "web"), wmail = t_chan(w, "mail");
  int32_t vip = t_seg(b, "vip");
  /* a: first purchase day 2 by web; b: first purchase day 1 by mail, later
     events put the customer in vip */
  T_ADD1(a, T0 + 2 * DAY, CXM_EV_PURCHASE, "x", web, 10);
  T_ADD1(a, T0 + 2 * DAY, CXM_EV_LEAD, "x", web, NAN);
  T_ADD1(a, T0 + 2 * DAY, CXM_EV_NPS, "x", CXM_NO_CHANNEL, 3);
  T_ADD1(b, T0 + 1 * DAY, CXM_EV_PURCHASE, "x", bmail, 5);
  T_ADD1(b, T0 + 1 * DAY, CXM_EV_TOUCH, "x", bweb, NAN);
  t_assign(b, "x", t_set(b, 1, &vip));
  T_ADD1(b, T0 + 3 * DAY, CXM_EV_NPS, "x", CXM_NO_CHANNEL, 10);
  T_ADD1(b, T0 + 3 * DAY, CXM_EV_REFUND, "x", CXM_NO_CHANNEL, 2);
  merge_ok(a, b);
  /* by hand: orders 2, net 13, buyer acquired by mail on day 1, one new
     buyer (day 1, mail), lead converted (purchase day 3 >= lead day 2),
     segments of the later record (vip), interactions 1 */
  T_KPI_INT(a, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 1, -1);
  T_KPI(a, CXM_KPI_PURCHASE_FREQUENCY, CXM_ALL, CXM_ALL, 2.0, 1);
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, 13.0, 1);
  T_KPI_INT(a, CXM_KPI_NEW_BUYERS, CXM_ALL, CXM_ALL, 1, -1);
  T_KPI_INT(a, CXM_KPI_NEW_BUYERS, CXM_ALL, mail, 1, -1);
  T_KPI_INT(a, CXM_KPI_NEW_BUYERS, CXM_ALL, web, 0, -1);
  T_KPI_INT(a, CXM_KPI_BUYERS, CXM_ALL, mail, 1, -1);
  T_KPI_INT(a, CXM_KPI_BUYERS, CXM_ALL, web, 0, -1);
  int32_t avip = -1;
  ck_assert_int_eq(cxm_segment_find(a, "vip", 3, &avip), CXM_OK);
  T_KPI_INT(a, CXM_KPI_BUYERS, avip, CXM_ALL, 1, -1);
  T_KPI(a, CXM_KPI_REPEAT_PURCHASE_RATE, avip, CXM_ALL, 1.0, 1);
  T_KPI(a, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, CXM_ALL, 1.0, 1);
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, CXM_ALL, 1.0, 1);
  T_KPI_INT(a, CXM_KPI_NET_REVENUE, CXM_ALL, CXM_ALL, 1300, -1);
  /* the same events ingested by one handle in time order give the same
     customer-level KPIs */
  int32_t wvip = t_seg(w, "vip");
  T_ADD1(w, T0 + 1 * DAY, CXM_EV_PURCHASE, "x", wmail, 5);
  T_ADD1(w, T0 + 1 * DAY, CXM_EV_TOUCH, "x", wweb, NAN);
  T_ADD1(w, T0 + 2 * DAY, CXM_EV_PURCHASE, "x", wweb, 10);
  T_ADD1(w, T0 + 2 * DAY, CXM_EV_LEAD, "x", wweb, NAN);
  T_ADD1(w, T0 + 2 * DAY, CXM_EV_NPS, "x", CXM_NO_CHANNEL, 3);
  t_assign(w, "x", t_set(w, 1, &wvip));
  T_ADD1(w, T0 + 3 * DAY, CXM_EV_NPS, "x", CXM_NO_CHANNEL, 10);
  T_ADD1(w, T0 + 3 * DAY, CXM_EV_REFUND, "x", CXM_NO_CHANNEL, 2);
  g_compare(w, a);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(w);
}
END_TEST

START_TEST(test_incompatible) {
  cxm_ctx *a = t_new(), *b = NULL;
  T_ADD0(a, T0, CXM_EV_TOUCH, "x", CXM_NO_CHANNEL);
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK); /* random key */
  T_ADD0(b, T0, CXM_EV_TOUCH, "y", CXM_NO_CHANNEL);
  ck_assert_int_eq(cxm_ctx_merge(a, b), CXM_E_MISMATCH);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(a), "key"));
  cxm_ctx_destroy(b);
  static const int opts[][2] = {{CXM_OPT_DECIMALS, 3}, {CXM_OPT_UTC_OFFSET, 3600},
                                {CXM_OPT_MODULES, 0}, {CXM_OPT_LOOKBACK_DAYS, 9}};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    b = t_new();
    ck_assert_int_eq(cxm_option_set(b, opts[i][0], opts[i][1]), CXM_OK);
    ck_assert_int_eq(cxm_ctx_merge(a, b), CXM_E_MISMATCH);
    cxm_ctx_destroy(b);
  }
  b = t_new(); /* the retention period may differ: dst's stays */
  ck_assert_int_eq(cxm_option_set(b, CXM_OPT_RETENTION_PERIOD_DAYS, 7), CXM_OK);
  merge_ok(a, b);
  ck_assert_int_eq(cxm_ctx_merge(a, a), CXM_E_ARG);
  ck_assert_int_eq(cxm_ctx_merge(a, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_ctx_merge(NULL, b), CXM_E_NULL);
  T_KPI_INT(a, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, 1, -1);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

START_TEST(test_label_limit) {
  cxm_ctx *a = t_new(), *b = t_new();
  char l[16];
  for (int i = 0; i < 200; i++) {
    snprintf(l, sizeof l, "a%d", i);
    t_chan(a, l);
    snprintf(l, sizeof l, "b%d", i);
    t_chan(b, l);
  }
  T_ADD0(b, T0, CXM_EV_TOUCH, "x", 3);
  ck_assert_int_eq(cxm_ctx_merge(a, b), CXM_E_LIMIT);
  int32_t n = 0;
  ck_assert_int_eq(cxm_channel_count(a, &n), CXM_OK);
  ck_assert_int_eq(n, 200);
  T_KPI_INT(a, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, 0, -1);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

/* ---- allocation failures: dst unchanged, nothing leaked ---------------- */
typedef struct t_alloc {
  long calls, fail_at, live;
} t_alloc;
#define T_HDR sizeof(max_align_t)
static void *t_malloc(void *o, size_t size) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) return NULL;
  unsigned char *p = malloc(T_HDR + size);
  if (!p) return NULL;
  a->live++;
  return p + T_HDR;
}
static void *t_realloc(void *o, void *ptr, size_t size) {
  t_alloc *a = o;
  if (!ptr) return t_malloc(o, size);
  if (++a->calls == a->fail_at) return NULL;
  unsigned char *p = realloc((unsigned char *)ptr - T_HDR, T_HDR + size);
  return p ? p + T_HDR : NULL;
}
static void t_free(void *o, void *ptr) {
  t_alloc *a = o;
  a->live--;
  free((unsigned char *)ptr - T_HDR);
}

START_TEST(test_alloc_failures) {
  /* under valgrind (CXM_QUICK=1) every step of this sweep is slow: a
     shorter stream still reaches every allocation of the merge */
  if (getenv("CXM_QUICK")) {
    g_free(&G);
    G = g_make(500, 40, 99);
  }
  cxm_ctx *src = shard(1, 2);
  cxm_ctx *want = shard(0, 2);
  merge_ok(want, src);
  int ok = 0;
  long k;
  for (k = 1; !ok && k < 100000; k++) {
    t_alloc al = {0, 0, 0};
    cxm_ctx *dst = NULL;
    ck_assert_int_eq(cxm_ctx_create_with_allocator(&dst, t_malloc, t_realloc, t_free, &al),
                     CXM_OK);
    ck_assert_int_eq(cxm_key_set(dst, T_KEY, sizeof T_KEY), CXM_OK);
    g_ingest(dst, &G, 0, 2);
    cxm_ctx *before = shard(0, 2);
    al.calls = 0;
    al.fail_at = k;
    int rc = cxm_ctx_merge(dst, src);
    al.fail_at = 0;
    if (rc == CXM_OK) {
      g_compare(want, dst);
      ok = 1;
    } else {
      ck_assert_msg(rc == CXM_E_NOMEM, "fail at %ld: %d %s", k, rc, cxm_ctx_errmsg(dst));
      g_compare(before, dst);
      /* and still usable: the merge goes through afterwards */
      merge_ok(dst, src);
      g_compare(want, dst);
    }
    cxm_ctx_destroy(before);
    cxm_ctx_destroy(dst);
    ck_assert_int_eq(al.live, 0);
  }
  ck_assert(ok && k > 3);
  cxm_ctx_destroy(src);
  cxm_ctx_destroy(want);
}
END_TEST

static Suite *merge_suite(void) {
  Suite *s = suite_create("merge");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_sequential, 0, 4);
  tcase_add_test(tc, test_reversed_and_tree);
  tcase_add_test(tc, test_through_snapshots);
  tcase_add_test(tc, test_overlap);
  tcase_add_test(tc, test_incompatible);
  tcase_add_test(tc, test_label_limit);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(merge_suite()); }
