/*
 * check_pages.c - blocks of 4 MiB and more (the customer table and the
 * modules' per-customer arrays past ~65k customers) get a huge-page hint and
 * grow by move instead of realloc (lib/pages.c, lib/ctx.c). This suite
 * drives a handle past that size through counting allocator hooks: the
 * hooks' live bytes must equal CXM_STAT_MEMORY_BYTES, every event must be
 * counted, and a failure of a large allocation must return CXM_E_NOMEM with
 * nothing accepted lost, the same event succeeding once memory is back.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#include <stddef.h>

#define N_CUST 100000
#define BIG ((size_t)4 << 20)

typedef struct big_alloc {
  int64_t live;    /* bytes */
  int fail_big;    /* fail every request of BIG bytes or more */
  long big_failed; /* how many were refused */
  long big_served;
} big_alloc;

#define HDR sizeof(max_align_t)

static int refuse(big_alloc *a, size_t size) {
  if (size < BIG) return 0;
  if (a->fail_big) {
    a->big_failed++;
    return 1;
  }
  a->big_served++;
  return 0;
}

static void *b_malloc(void *opaque, size_t size) {
  big_alloc *a = opaque;
  if (refuse(a, size)) return NULL;
  unsigned char *p = malloc(HDR + size);
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  a->live += (int64_t)size;
  return p + HDR;
}

static void *b_realloc(void *opaque, void *ptr, size_t size) {
  big_alloc *a = opaque;
  if (!ptr) return b_malloc(opaque, size);
  if (refuse(a, size)) return NULL;
  unsigned char *old = (unsigned char *)ptr - HDR;
  size_t old_size;
  memcpy(&old_size, old, sizeof old_size);
  unsigned char *p = realloc(old, HDR + size);
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  a->live += (int64_t)size - (int64_t)old_size;
  return p + HDR;
}

static void b_free(void *opaque, void *ptr) {
  big_alloc *a = opaque;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t size;
  memcpy(&size, p, sizeof size);
  a->live -= (int64_t)size;
  free(p);
}

static cxm_ctx *b_new(big_alloc *a) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, b_malloc, b_realloc, b_free, a),
                   CXM_OK);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  return ctx;
}

static int64_t st_get(cxm_ctx *ctx, int which) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, which, &v), CXM_OK);
  return v;
}

static void id_of(long i, char id[32]) { snprintf(id, 32, "customer-%013ld", i); }

/* Customer i buys once, for (i % 97) + 1 cents. */
static int add_purchase(cxm_ctx *ctx, long i) {
  char id[32];
  id_of(i, id);
  return cxm_event_add(ctx, T0 + i, CXM_EV_PURCHASE, id, strlen(id), CXM_NO_CHANNEL,
                       (double)(i % 97 + 1) / 100.0, NAN);
}

static int64_t expected_revenue(long n) {
  int64_t s = 0;
  for (long i = 0; i < n; i++) s += i % 97 + 1;
  return s;
}

static void check_counts(cxm_ctx *ctx, big_alloc *a, long n) {
  ck_assert_int_eq(st_get(ctx, CXM_STAT_CUSTOMERS), n);
  ck_assert_int_eq(st_get(ctx, CXM_STAT_EVENTS_ACCEPTED), n);
  ck_assert_int_eq(st_get(ctx, CXM_STAT_MEMORY_BYTES), a->live);
  int64_t v = -1, k = -1;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, ALLW, &v, &k),
                   CXM_OK);
  ck_assert_int_eq(v, n);
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, ALLW, &v, &k),
                   CXM_OK);
  ck_assert_int_eq(v, expected_revenue(n));
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, ALLW, &v, &k),
                   CXM_OK);
  ck_assert_int_eq(v, n);
}

START_TEST(test_grow_past_big_blocks) {
  big_alloc a = {0};
  cxm_ctx *ctx = b_new(&a);
  for (long i = 0; i < N_CUST; i++) ck_assert_int_eq(add_purchase(ctx, i), CXM_OK);
  ck_assert_int_gt(a.big_served, 0); /* the large-block path ran */
  check_counts(ctx, &a, N_CUST);
  cxm_ctx_destroy(ctx);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Every large request fails while fail_big is set: each event that needs
   one is refused with CXM_E_NOMEM and changes nothing; with memory back the
   same event goes in. */
START_TEST(test_big_block_failure_keeps_data) {
  big_alloc a = {0};
  cxm_ctx *ctx = b_new(&a);
  long refused = 0;
  a.fail_big = 1;
  for (long i = 0; i < N_CUST; i++) {
    int rc = add_purchase(ctx, i);
    if (rc == CXM_OK) continue;
    ck_assert_int_eq(rc, CXM_E_NOMEM);
    ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "no "));
    refused++;
    check_counts(ctx, &a, i); /* customers 0..i-1, nothing of i */
    a.fail_big = 0;
    ck_assert_int_eq(add_purchase(ctx, i), CXM_OK);
    a.fail_big = 1;
  }
  ck_assert_int_gt(refused, 0);
  ck_assert_int_eq(a.big_failed, refused);
  check_counts(ctx, &a, N_CUST);
  cxm_ctx_destroy(ctx);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("pages");
  TCase *tc = tcase_create("large blocks");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_grow_past_big_blocks);
  tcase_add_test(tc, test_big_block_failure_keeps_data);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(suite()); }
