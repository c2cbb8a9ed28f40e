/*
 * fuzz/fuzz_snapshot.c - libFuzzer harness for the snapshot loader.
 *
 * Input: one flag byte, then the snapshot bytes. Flag bit 0 rewrites the
 * header's total length and the trailing checksum to match the bytes, so
 * that the fuzzer gets past the checksum and exercises the section parsers
 * (a hostile file can always carry a valid checksum: the checksum guards
 * against damage, the parsers against malice).
 *
 * Invariants: a load either succeeds or returns CXM_E_CORRUPT,
 * CXM_E_VERSION or CXM_E_NOMEM (the allocator has a budget) and leaves the
 * handle empty and usable; a loaded handle answers every KPI query without
 * failing unexpectedly, and saving it, loading that and saving again gives
 * the same bytes (the round trip is exact).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stddef.h>

#include "fuzz_common.h"
#include "snapshot.h"

typedef struct budget {
  size_t left;
} budget;

#define HDR sizeof(max_align_t)
static void *b_malloc(void *o, size_t n) {
  budget *b = o;
  if (n > b->left) return NULL;
  unsigned char *p = malloc(HDR + n);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  b->left -= n;
  return p + HDR;
}
static void b_free(void *o, void *ptr) {
  budget *b = o;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  b->left += n;
  free(p);
}
static void *b_realloc(void *o, void *ptr, size_t n) {
  budget *b = o;
  if (!ptr) return b_malloc(o, n);
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t old;
  memcpy(&old, p, sizeof old);
  if (n > old && n - old > b->left) return NULL;
  unsigned char *q = realloc(p, HDR + n);
  if (!q) return NULL;
  memcpy(q, &n, sizeof n);
  b->left = b->left + old - n;
  return q + HDR;
}

static cxm_ctx *fresh(budget *b) {
  cxm_ctx *ctx = NULL;
  if (cxm_ctx_create_with_allocator(&ctx, b_malloc, b_realloc, b_free, b) != CXM_OK) abort();
  return ctx;
}

static void sweep(cxm_ctx *ctx) {
  int32_t nseg = 0, nch = 0;
  cxm_segment_count(ctx, &nseg);
  cxm_channel_count(ctx, &nch);
  int budget_labels = fz_label_budget(ctx, 3);
  for (int32_t s = -1; s < nseg && s < budget_labels; s++)
    for (int32_t c = -1; c < nch && c < budget_labels; c++)
      for (int k = 1; k <= cxm_kpi_max(); k++) {
        double v;
        int64_t n;
        int rc = cxm_kpi_get(ctx, k, s, c, CXM_TIME_MIN, CXM_TIME_MAX, &v, &n);
        FZ_CHECK(rc == CXM_OK, "kpi %d scope (%d, %d): %s", k, (int)s, (int)c,
                 cxm_ctx_errmsg(ctx));
      }
  int64_t v = -1;
  for (int st = CXM_STAT_EVENTS_ACCEPTED; st <= CXM_STAT_LAST_TIME; st++)
    FZ_CHECK(cxm_stat_get(ctx, st, &v) == CXM_OK && v >= 0, "stat %d = %lld", st, (long long)v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t flags = data[0];
  size_t n = size - 1;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return 0;
  memcpy(buf, data + 1, n);
  if ((flags & 1) && n >= CXM_SNAP_HEADER + 8) {
    for (int i = 0; i < 8; i++) buf[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    uint64_t ck = cxm__snap_checksum(buf, n - 8);
    for (int i = 0; i < 8; i++) buf[n - 8 + (size_t)i] = (uint8_t)(ck >> (8 * i));
  }
  budget b = {(size_t)256 << 20};
  cxm_ctx *ctx = fresh(&b);
  int rc = cxm_snapshot_load_buffer(ctx, buf, n);
  if (rc != CXM_OK) {
    FZ_CHECK(rc == CXM_E_CORRUPT || rc == CXM_E_VERSION || rc == CXM_E_NOMEM,
             "load returned %d: %s", rc, cxm_ctx_errmsg(ctx));
    int32_t c = -1;
    int64_t cust = -1;
    cxm_channel_count(ctx, &c);
    cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &cust);
    FZ_CHECK(c == 0 && cust == 0, "a refused load left state behind");
    FZ_CHECK(cxm_event_add(ctx, 1767225600, CXM_EV_TOUCH, "x", 1, CXM_NO_CHANNEL, NAN, NAN) ==
                 CXM_OK, "the handle is unusable after a refused load: %s", cxm_ctx_errmsg(ctx));
  } else {
    sweep(ctx);
    void *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (cxm_snapshot_save_buffer(ctx, 0, &s1, &l1) == CXM_OK) {
      cxm_ctx *again = fresh(&b);
      rc = cxm_snapshot_load_buffer(again, s1, l1);
      FZ_CHECK(rc == CXM_OK || rc == CXM_E_NOMEM, "reloading a saved snapshot: %s",
               cxm_ctx_errmsg(again));
      if (rc == CXM_OK && cxm_snapshot_save_buffer(again, 0, &s2, &l2) == CXM_OK) {
        FZ_CHECK(l1 == l2 && memcmp(s1, s2, l1) == 0, "save/load/save differs (%zu vs %zu bytes)",
                 l1, l2);
        cxm_buffer_free(again, s2, l2);
      }
      cxm_ctx_destroy(again);
      cxm_buffer_free(ctx, s1, l1);
    }
  }
  cxm_ctx_destroy(ctx);
  free(buf);
  return 0;
}
