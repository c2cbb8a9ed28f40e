/*
 * check_snapshot.c - snapshots: round trips (buffer and file) equal the
 * original for every KPI of every scope and window, the stream position,
 * the key and its fingerprint, every truncation and bit flip of a small
 * snapshot refused, future versions refused, allocation failures over
 * save and load, and a writer killed mid-save leaving a loadable file.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "snaputil.h"

/* ---- counting allocator that fails the call numbered fail_at ------------- */
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
static cxm_ctx *t_new_alloc(t_alloc *a) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, t_malloc, t_realloc, t_free, a), CXM_OK);
  return ctx;
}

static cxm_ctx *rich(size_t n) {
  cxm_ctx *ctx = t_new();
  g_stream g = g_make(n, 150, 42);
  g_ingest(ctx, &g, 0, 1);
  g_free(&g);
  static const char pos[] = "topic-a:0=1234,1=99";
  ck_assert_int_eq(cxm_position_set(ctx, pos, sizeof pos - 1), CXM_OK);
  return ctx;
}

static void save(cxm_ctx *ctx, uint32_t flags, void **p, size_t *n) {
  int rc = cxm_snapshot_save_buffer(ctx, flags, p, n);
  ck_assert_msg(rc == CXM_OK, "save = %d: %s", rc, cxm_ctx_errmsg(ctx));
}

static cxm_ctx *load(const void *p, size_t n) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  int rc = cxm_snapshot_load_buffer(ctx, p, n);
  ck_assert_msg(rc == CXM_OK, "load = %d: %s", rc, cxm_ctx_errmsg(ctx));
  return ctx;
}

START_TEST(test_round_trip_buffer) {
  cxm_ctx *a = rich(6000);
  int64_t lat = 0;
  ck_assert_int_eq(cxm_option_set(a, CXM_OPT_MAX_LATENESS, 3 * DAY), CXM_OK);
  int64_t acc = 0, rej = 0, late = 0;
  cxm_stat_get(a, CXM_STAT_EVENTS_ACCEPTED, &acc);
  cxm_stat_get(a, CXM_STAT_EVENTS_REJECTED, &rej);
  cxm_stat_get(a, CXM_STAT_EVENTS_LATE, &late);
  ck_assert_int_gt(acc, 4000);
  ck_assert_int_gt(rej, 0); /* the stream has invalid events ... */
  ck_assert_int_gt(late, 0); /* ... and late ones: the counters must travel */
  void *p; size_t n;
  save(a, CXM_SNAPSHOT_EMBED_KEY, &p, &n);
  cxm_ctx *b = load(p, n);
  ck_assert_int_gt(g_compare(a, b), 5000);
  ck_assert_int_eq(cxm_option_get(b, CXM_OPT_MAX_LATENESS, &lat), CXM_OK);
  ck_assert_int_eq(lat, 3 * DAY);
  /* deterministic: the loaded handle saves the same bytes */
  void *q; size_t m;
  save(b, CXM_SNAPSHOT_EMBED_KEY, &q, &m);
  ck_assert_uint_eq(n, m);
  ck_assert(memcmp(p, q, n) == 0);
  /* both go on alike: the same further events give the same KPIs */
  T_ADD1(a, T0 + 40 * DAY, CXM_EV_PURCHASE, "cust-7", 0, 12.5);
  T_ADD1(b, T0 + 40 * DAY, CXM_EV_PURCHASE, "cust-7", 0, 12.5);
  T_ADD1(a, T0 + 40 * DAY, CXM_EV_NPS, "fresh", CXM_NO_CHANNEL, 9);
  T_ADD1(b, T0 + 40 * DAY, CXM_EV_NPS, "fresh", CXM_NO_CHANNEL, 9);
  /* the lateness references travel: the newest spend time per channel and
     each customer's newest event */
  for (int32_t c = 0; c < G_CH; c++) {
    ck_assert_int_eq(t_ev(a, T0 + 20 * DAY, CXM_EV_SPEND, NULL, c, 5, NAN), CXM_E_LATE);
    ck_assert_int_eq(t_ev(b, T0 + 20 * DAY, CXM_EV_SPEND, NULL, c, 5, NAN), CXM_E_LATE);
  }
  ck_assert_int_eq(t_ev(a, T0 + 30 * DAY, CXM_EV_TOUCH, "cust-7", 0, NAN, NAN), CXM_E_LATE);
  ck_assert_int_eq(t_ev(b, T0 + 30 * DAY, CXM_EV_TOUCH, "cust-7", 0, NAN, NAN), CXM_E_LATE);
  T_ADD1(a, T0 + 38 * DAY, CXM_EV_SPEND, NULL, 1, 5);
  T_ADD1(b, T0 + 38 * DAY, CXM_EV_SPEND, NULL, 1, 5);
  g_compare(a, b);
  cxm_buffer_free(a, p, n);
  cxm_buffer_free(b, q, m);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

START_TEST(test_round_trip_options_and_decades) {
  cxm_ctx *a = t_new();
  ck_assert_int_eq(cxm_option_set(a, CXM_OPT_UTC_OFFSET, -7 * HOUR), CXM_OK);
  ck_assert_int_eq(cxm_option_set(a, CXM_OPT_DECIMALS, 3), CXM_OK);
  ck_assert_int_eq(cxm_option_set(a, CXM_OPT_MODULES, CXM_MOD_FUNNEL), CXM_OK);
  ck_assert_int_eq(cxm_option_set(a, CXM_OPT_RETENTION_PERIOD_DAYS, 45), CXM_OK);
  /* one customer, events 130 years apart: only the two days are stored */
  T_ADD1(a, 86400, CXM_EV_PURCHASE, "old", CXM_NO_CHANNEL, 1.234);
  ck_assert_int_eq(cxm_option_set(a, CXM_OPT_MAX_LATENESS, 0), CXM_OK);
  T_ADD1(a, CXM_TIME_LAST - 10, CXM_EV_PURCHASE, "old", CXM_NO_CHANNEL, 2.5);
  void *p; size_t n;
  save(a, 0, &p, &n);
  ck_assert_uint_lt(n, 4096);
  cxm_ctx *b = NULL;
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
  ck_assert_int_eq(cxm_key_set(b, T_KEY, sizeof T_KEY), CXM_OK); /* known before */
  ck_assert_int_eq(cxm_snapshot_load_buffer(b, p, n), CXM_OK);
  int32_t known = -1;
  ck_assert_int_eq(cxm_key_known(b, &known), CXM_OK);
  ck_assert_int_eq(known, 1);
  for (int o = CXM_OPT_UTC_OFFSET; o <= CXM_OPT_CLV_PERIOD_DAYS; o++) {
    int64_t va = -1, vb = -2;
    ck_assert_int_eq(cxm_option_get(a, o, &va), CXM_OK);
    ck_assert_int_eq(cxm_option_get(b, o, &vb), CXM_OK);
    ck_assert_msg(va == vb, "option %d: %lld vs %lld", o, (long long)va, (long long)vb);
  }
  int64_t rev = 0;
  ck_assert_int_eq(cxm_kpi_get_int(b, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, ALLW, &rev, NULL), CXM_OK);
  ck_assert_int_eq(rev, 1234 + 2500);
  ck_assert_int_eq(cxm_kpi_get_int(b, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 0, 2 * DAY, &rev, NULL),
                   CXM_OK);
  ck_assert_int_eq(rev, 1234);
  g_compare(a, b);
  cxm_buffer_free(a, p, n);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

START_TEST(test_round_trip_file) {
  cxm_ctx *a = rich(3000);
  char dir[] = "/tmp/cxm-snapXXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/state.cxs", dir);
  ck_assert_int_eq(cxm_snapshot_save_file(a, path, 0), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_save_file(a, path, 0), CXM_OK); /* replaces */
  cxm_ctx *b = NULL;
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
  int rc = cxm_snapshot_load_file(b, path);
  ck_assert_msg(rc == CXM_OK, "%s", cxm_ctx_errmsg(b));
  g_compare(a, b);
  /* no temporary file is left beside it */
  char cmd[300];
  snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
  ck_assert_int_eq(system(cmd), 0);
  cxm_ctx *c = NULL;
  ck_assert_int_eq(cxm_ctx_create(&c), CXM_OK);
  snprintf(path, sizeof path, "%s/missing.cxs", dir);
  ck_assert_int_eq(cxm_snapshot_load_file(c, path), CXM_E_IO);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(c), "missing.cxs"));
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(c);
}
END_TEST

START_TEST(test_position) {
  cxm_ctx *a = t_new();
  const void *d = (const void *)1;
  size_t n = 99;
  ck_assert_int_eq(cxm_position_get(a, &d, &n), CXM_OK);
  ck_assert_ptr_null(d);
  ck_assert_uint_eq(n, 0);
  uint8_t big[CXM_POSITION_MAX + 1];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
  ck_assert_int_eq(cxm_position_set(a, big, sizeof big), CXM_E_LIMIT);
  ck_assert_int_eq(cxm_position_set(a, big, CXM_POSITION_MAX), CXM_OK);
  void *p; size_t len;
  save(a, 0, &p, &len);
  cxm_ctx *b = load(p, len);
  ck_assert_int_eq(cxm_position_get(b, &d, &n), CXM_OK);
  ck_assert_uint_eq(n, CXM_POSITION_MAX);
  ck_assert(memcmp(d, big, n) == 0);
  /* binary bytes, including NUL, survive; clearing works */
  ck_assert_int_eq(cxm_position_set(b, "\0\1\2", 3), CXM_OK);
  ck_assert_int_eq(cxm_position_get(b, &d, &n), CXM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert(memcmp(d, "\0\1\2", 3) == 0);
  ck_assert_int_eq(cxm_position_set(b, NULL, 0), CXM_OK);
  ck_assert_int_eq(cxm_position_get(b, &d, &n), CXM_OK);
  ck_assert_ptr_null(d);
  ck_assert_int_eq(cxm_position_set(b, NULL, 5), CXM_E_NULL);
  cxm_buffer_free(a, p, len);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
}
END_TEST

START_TEST(test_key) {
  cxm_ctx *a = t_new();
  T_ADD1(a, T0, CXM_EV_PURCHASE, "alice", CXM_NO_CHANNEL, 10);
  uint64_t fa = 0, fb = 1, fc = 2;
  ck_assert_int_eq(cxm_key_fingerprint(a, &fa), CXM_OK);
  cxm_ctx *twin = t_new();
  ck_assert_int_eq(cxm_key_fingerprint(twin, &fb), CXM_OK);
  ck_assert(fa == fb);
  cxm_ctx *other = NULL;
  ck_assert_int_eq(cxm_ctx_create(&other), CXM_OK);
  ck_assert_int_eq(cxm_key_fingerprint(other, &fc), CXM_OK);
  ck_assert(fa != fc);
  void *p; size_t n;
  save(a, 0, &p, &n);
  /* the key's bytes are not in the snapshot */
  for (size_t i = 0; i + CXM_KEY_SIZE <= n; i++)
    ck_assert(memcmp((uint8_t *)p + i, T_KEY, CXM_KEY_SIZE) != 0);
  cxm_ctx *b = load(p, n);
  int32_t known = -1;
  ck_assert_int_eq(cxm_key_known(b, &known), CXM_OK);
  ck_assert_int_eq(known, 0);
  ck_assert_int_eq(cxm_key_fingerprint(b, &fb), CXM_OK);
  ck_assert(fa == fb);
  /* reports work, ingest and lookup need the key */
  T_KPI_INT(b, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 1000, 1);
  ck_assert_int_eq(t_ev(b, T0 + 1, CXM_EV_PURCHASE, "alice", CXM_NO_CHANNEL, 1, NAN), CXM_E_STATE);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(b), "cxm_key_set"));
  uint64_t h;
  ck_assert_int_eq(cxm_customer_hash(b, "alice", 5, &h), CXM_E_STATE);
  ck_assert_int_eq(cxm_customer_set_segments(b, "alice", 5, 0), CXM_E_STATE);
  /* a wrong key is refused by its fingerprint */
  uint8_t wrong[CXM_KEY_SIZE];
  memcpy(wrong, T_KEY, sizeof wrong);
  wrong[3] ^= 1;
  ck_assert_int_eq(cxm_key_set(b, wrong, sizeof wrong), CXM_E_MISMATCH);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(b), "fingerprint"));
  ck_assert_int_eq(cxm_key_set(b, T_KEY, sizeof T_KEY), CXM_OK);
  ck_assert_int_eq(cxm_key_known(b, &known), CXM_OK);
  ck_assert_int_eq(known, 1);
  /* now the same customer is found: still one buyer */
  T_ADD1(b, T0 + 1, CXM_EV_PURCHASE, "alice", CXM_NO_CHANNEL, 1);
  T_KPI_INT(b, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 1, -1);
  /* once known, the key is fixed like any started handle's */
  ck_assert_int_eq(cxm_key_set(b, T_KEY, sizeof T_KEY), CXM_E_STATE);
  /* embedding: the loaded handle knows it at once */
  void *q; size_t m;
  save(a, CXM_SNAPSHOT_EMBED_KEY, &q, &m);
  cxm_ctx *c = load(q, m);
  ck_assert_int_eq(cxm_key_known(c, &known), CXM_OK);
  ck_assert_int_eq(known, 1);
  T_ADD1(c, T0 + 1, CXM_EV_PURCHASE, "alice", CXM_NO_CHANNEL, 1);
  g_compare(b, c);
  /* a handle without its key cannot embed it */
  cxm_ctx *d = load(p, n);
  void *r = NULL; size_t rl = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(d, CXM_SNAPSHOT_EMBED_KEY, &r, &rl), CXM_E_STATE);
  ck_assert_int_eq(cxm_snapshot_save_buffer(d, 2, &r, &rl), CXM_E_ARG);
  cxm_buffer_free(a, p, n);
  cxm_buffer_free(a, q, m);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(c);
  cxm_ctx_destroy(d);
  cxm_ctx_destroy(twin);
  cxm_ctx_destroy(other);
}
END_TEST

/* A small snapshot with a bit of everything (labels, sets, records, rows). */
static void small(void **p, size_t *n) {
  cxm_ctx *a = t_new();
  int32_t web = t_chan(a, "web"), vip = t_seg(a, "vip");
  t_assign(a, "bob", t_set(a, 1, &vip));
  T_ADD1(a, T0, CXM_EV_PURCHASE, "bob", web, 20);
  T_ADD1(a, T0 + DAY, CXM_EV_NPS, "carol", CXM_NO_CHANNEL, 3);
  T_ADD1(a, T0 + DAY, CXM_EV_SPEND, NULL, web, 7);
  ck_assert_int_eq(cxm_position_set(a, "p=1", 3), CXM_OK);
  save(a, 0, p, n);
  /* copy out of the handle's allocator */
  void *copy = malloc(*n);
  memcpy(copy, *p, *n);
  cxm_buffer_free(a, *p, *n);
  *p = copy;
  cxm_ctx_destroy(a);
}

/* After a refused load the handle is empty, leak-free and usable. */
static void check_refused(const void *p, size_t n, int want1, int want2, size_t what) {
  t_alloc al = {0, 0, 0};
  cxm_ctx *b = t_new_alloc(&al);
  int rc = cxm_snapshot_load_buffer(b, p, n);
  ck_assert_msg(rc == want1 || rc == want2, "case %zu: load = %d (%s)", what, rc,
                cxm_ctx_errmsg(b));
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(b, CXM_STAT_CUSTOMERS, &v), CXM_OK);
  ck_assert_int_eq(v, 0);
  int32_t c = -1;
  ck_assert_int_eq(cxm_channel_count(b, &c), CXM_OK);
  ck_assert_int_eq(c, 0);
  ck_assert_int_eq(cxm_key_set(b, T_KEY, sizeof T_KEY), CXM_OK);
  T_ADD1(b, T0, CXM_EV_CSAT, "x", CXM_NO_CHANNEL, 5);
  cxm_ctx_destroy(b);
  ck_assert_int_eq(al.live, 0);
}

/* CXM_QUICK=1 (make check-valgrind) thins the byte-by-byte loops. */
static size_t quick_step(size_t i, size_t n) {
  return getenv("CXM_QUICK") && i + 64 < n ? 13 : 1;
}

START_TEST(test_truncation) {
  void *p; size_t n;
  small(&p, &n);
  for (size_t len = 0; len < n; len += quick_step(len, n))
    check_refused(p, len, CXM_E_CORRUPT, CXM_E_CORRUPT, len);
  /* and a byte too many */
  uint8_t *longer = malloc(n + 1);
  memcpy(longer, p, n);
  longer[n] = 0;
  check_refused(longer, n + 1, CXM_E_CORRUPT, CXM_E_CORRUPT, n + 1);
  free(longer);
  free(p);
}
END_TEST

START_TEST(test_bit_flips) {
  void *p; size_t n;
  small(&p, &n);
  uint8_t *b = malloc(n);
  for (size_t i = 0; i < n; i += quick_step(i, n)) {
    memcpy(b, p, n);
    b[i] ^= (uint8_t)(1u << (i % 8));
    /* a flip in the version field's high bits reads as a future version */
    check_refused(b, n, CXM_E_CORRUPT, i >= 8 && i < 12 ? CXM_E_VERSION : CXM_E_CORRUPT, i);
  }
  free(b);
  free(p);
}
END_TEST

START_TEST(test_future_version_and_messages) {
  void *p; size_t n;
  small(&p, &n);
  uint8_t *b = malloc(n);
  memcpy(b, p, n);
  b[8] = 2; /* version 2 */
  cxm_ctx *c = NULL;
  ck_assert_int_eq(cxm_ctx_create(&c), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, b, n), CXM_E_VERSION);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(c), "version 2"));
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, p, n - 1), CXM_E_CORRUPT);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(c), "truncated"));
  memcpy(b, p, n);
  b[n / 2] ^= 0x40;
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, b, n), CXM_E_CORRUPT);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(c), "checksum"));
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, "hello world, not a snapshot at all", 34),
                   CXM_E_CORRUPT);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(c), "magic"));
  /* only into an empty handle */
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, p, n), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_load_buffer(c, p, n), CXM_E_STATE);
  cxm_ctx *d = t_new();
  T_ADD0(d, T0, CXM_EV_TOUCH, "z", CXM_NO_CHANNEL);
  ck_assert_int_eq(cxm_snapshot_load_buffer(d, p, n), CXM_E_STATE);
  ck_assert_int_eq(cxm_snapshot_load_buffer(NULL, p, n), CXM_E_NULL);
  ck_assert_int_eq(cxm_snapshot_load_buffer(d, NULL, 5), CXM_E_NULL);
  free(b);
  free(p);
  cxm_ctx_destroy(c);
  cxm_ctx_destroy(d);
}
END_TEST

/* Fails the 1st, 2nd, ... allocation of each path until it succeeds. */
START_TEST(test_alloc_failures) {
  t_alloc al = {0, 0, 0};
  cxm_ctx *a = t_new_alloc(&al);
  ck_assert_int_eq(cxm_key_set(a, T_KEY, sizeof T_KEY), CXM_OK);
  g_stream g = g_make(1500, 60, 7);
  g_ingest(a, &g, 0, 1);
  g_free(&g);
  ck_assert_int_eq(cxm_position_set(a, "pos", 3), CXM_OK);
  void *ref; size_t refn;
  save(a, CXM_SNAPSHOT_EMBED_KEY, &ref, &refn);
  int ok = 0;
  long k;
  for (k = 1; !ok && k < 10000; k++) { /* save */
    long live = al.live;
    al.calls = 0;
    al.fail_at = k;
    void *p = NULL; size_t n = 0;
    int rc = cxm_snapshot_save_buffer(a, CXM_SNAPSHOT_EMBED_KEY, &p, &n);
    al.fail_at = 0;
    if (rc == CXM_OK) {
      ck_assert_uint_eq(n, refn);
      ck_assert(memcmp(p, ref, n) == 0);
      cxm_buffer_free(a, p, n);
      ok = 1;
    } else {
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      ck_assert_int_eq(al.live, live);
    }
  }
  ck_assert(ok && k > 2);
  ok = 0;
  for (k = 1; !ok && k < 100000; k++) { /* load */
    t_alloc bl = {0, 0, 0};
    cxm_ctx *b = t_new_alloc(&bl);
    long live = bl.live;
    bl.calls = 0;
    bl.fail_at = k;
    int rc = cxm_snapshot_load_buffer(b, ref, refn);
    bl.fail_at = 0;
    if (rc == CXM_OK) {
      g_compare(a, b);
      ok = 1;
    } else {
      ck_assert_msg(rc == CXM_E_NOMEM, "fail at %ld: %d %s", k, rc, cxm_ctx_errmsg(b));
      ck_assert_int_eq(bl.live, live);
      int64_t v = -1;
      ck_assert_int_eq(cxm_stat_get(b, CXM_STAT_CUSTOMERS, &v), CXM_OK);
      ck_assert_int_eq(v, 0);
    }
    cxm_ctx_destroy(b);
    ck_assert_int_eq(bl.live, 0);
  }
  ck_assert(ok && k > 10);
  ok = 0;
  char dir[] = "/tmp/cxm-snapXXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/s", dir);
  for (k = 1; !ok && k < 10000; k++) { /* save to a file */
    long live = al.live;
    al.calls = 0;
    al.fail_at = k;
    int rc = cxm_snapshot_save_file(a, path, 0);
    al.fail_at = 0;
    ck_assert_int_eq(al.live, live);
    if (rc == CXM_OK) ok = 1;
    else ck_assert_int_eq(rc, CXM_E_NOMEM);
  }
  ck_assert(ok);
  ok = 0;
  for (k = 1; !ok && k < 100000; k++) { /* load from a file */
    t_alloc bl = {0, 0, 0};
    cxm_ctx *b = t_new_alloc(&bl);
    bl.calls = 0;
    bl.fail_at = k;
    int rc = cxm_snapshot_load_file(b, path);
    bl.fail_at = 0;
    if (rc == CXM_OK) ok = 1;
    else ck_assert_int_eq(rc, CXM_E_NOMEM);
    cxm_ctx_destroy(b);
    ck_assert_int_eq(bl.live, 0);
  }
  ck_assert(ok);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1 && rm -rf %s", dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  for (k = 1; k < 100; k++) { /* position */
    al.calls = 0;
    al.fail_at = k;
    int rc = cxm_position_set(a, "another", 7);
    al.fail_at = 0;
    const void *d; size_t n;
    ck_assert_int_eq(cxm_position_get(a, &d, &n), CXM_OK);
    if (rc == CXM_OK) {
      ck_assert(n == 7 && memcmp(d, "another", 7) == 0);
      break;
    }
    ck_assert_int_eq(rc, CXM_E_NOMEM);
    ck_assert(n == 3 && memcmp(d, "pos", 3) == 0);
  }
  cxm_buffer_free(a, ref, refn);
  cxm_ctx_destroy(a);
  ck_assert_int_eq(al.live, 0);
}
END_TEST

/* A writer saving again and again, killed at random moments: the file on
   disk always loads, and is one whole state (position i goes with i + 1
   extra purchases of 1.00). */
START_TEST(test_killed_writer) {
  int quick = getenv("CXM_QUICK") != NULL;
  cxm_ctx *a = rich(quick ? 3000 : 20000);
  int64_t base_rev = 0, base_acc = 0;
  ck_assert_int_eq(cxm_kpi_get_int(a, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, ALLW, &base_rev, NULL),
                   CXM_OK);
  ck_assert_int_eq(cxm_stat_get(a, CXM_STAT_EVENTS_ACCEPTED, &base_acc), CXM_OK);
  char dir[] = "/tmp/cxm-killXXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/state.cxs", dir);
  uint64_t seed = (uint64_t)time(NULL);
  int loads = 0;
  const int rounds = quick ? 4 : 12;
  for (int round = 0; round < rounds; round++) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      for (long i = 0;; i++) {
        if (cxm_event_add(a, T0 + 50 * DAY, CXM_EV_PURCHASE, "writer", 6, CXM_NO_CHANNEL, 1.0,
                          NAN) != CXM_OK)
          _exit(3);
        char pos[32];
        int pl = snprintf(pos, sizeof pos, "%ld", i);
        if (cxm_position_set(a, pos, (size_t)pl) != CXM_OK) _exit(4);
        if (cxm_snapshot_save_file(a, path, 0) != CXM_OK) _exit(5);
      }
    }
    long ms = (quick ? 1500 : 20) + (long)(g_rand(&seed) % 200);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    cxm_ctx *b = NULL;
    ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
    int rc = cxm_snapshot_load_file(b, path);
    if (rc == CXM_E_IO && loads == 0) { /* killed before its first rename */
      cxm_ctx_destroy(b);
      continue;
    }
    ck_assert_msg(rc == CXM_OK, "round %d: %d %s", round, rc, cxm_ctx_errmsg(b));
    loads++;
    const void *d; size_t n;
    ck_assert_int_eq(cxm_position_get(b, &d, &n), CXM_OK);
    char pos[32] = {0};
    ck_assert(n > 0 && n < sizeof pos);
    memcpy(pos, d, n);
    long i = atol(pos);
    int64_t rev = 0, acc = 0;
    ck_assert_int_eq(cxm_kpi_get_int(b, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, ALLW, &rev, NULL),
                     CXM_OK);
    ck_assert_int_eq(cxm_stat_get(b, CXM_STAT_EVENTS_ACCEPTED, &acc), CXM_OK);
    ck_assert_int_eq(rev, base_rev + 100 * (i + 1));
    ck_assert_int_eq(acc, base_acc + i + 1);
    cxm_ctx_destroy(b);
  }
  ck_assert_int_gt(loads, rounds / 2);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
  cxm_ctx_destroy(a);
}
END_TEST

/* A detractor callback that tries to save and merge its own handle. */
typedef struct reentry {
  cxm_ctx *ctx, *other;
  int save_rc, merge_rc, merge_src_rc, calls;
} reentry;
static void on_detractor(void *user, uint64_t customer, int32_t score, int32_t channel,
                         int64_t time) {
  reentry *r = user;
  (void)customer; (void)score; (void)channel; (void)time;
  void *p = NULL; size_t n = 0;
  r->save_rc = cxm_snapshot_save_buffer(r->ctx, 0, &p, &n);
  r->merge_rc = cxm_ctx_merge(r->ctx, r->other);
  r->merge_src_rc = cxm_ctx_merge(r->other, r->ctx);
  r->calls++;
}

START_TEST(test_no_reentry) {
  reentry r = {t_new(), t_new(), -1, -1, -1, 0};
  ck_assert_int_eq(cxm_detractor_callback_set(r.ctx, on_detractor, &r), CXM_OK);
  T_ADD1(r.ctx, T0, CXM_EV_NPS, "d", CXM_NO_CHANNEL, 2);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.save_rc, CXM_E_STATE);
  ck_assert_int_eq(r.merge_rc, CXM_E_STATE);
  ck_assert_int_eq(r.merge_src_rc, CXM_E_STATE);
  /* outside the callback both work, and nothing was merged meanwhile */
  T_KPI_INT(r.other, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, 0, -1);
  void *p; size_t n;
  save(r.ctx, 0, &p, &n);
  cxm_buffer_free(r.ctx, p, n);
  cxm_ctx_destroy(r.ctx);
  cxm_ctx_destroy(r.other);
}
END_TEST

static Suite *snapshot_suite(void) {
  Suite *s = suite_create("snapshot");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_round_trip_buffer);
  tcase_add_test(tc, test_round_trip_options_and_decades);
  tcase_add_test(tc, test_round_trip_file);
  tcase_add_test(tc, test_position);
  tcase_add_test(tc, test_key);
  tcase_add_test(tc, test_truncation);
  tcase_add_test(tc, test_bit_flips);
  tcase_add_test(tc, test_future_version_and_messages);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_test(tc, test_killed_writer);
  tcase_add_test(tc, test_no_reentry);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(snapshot_suite()); }
