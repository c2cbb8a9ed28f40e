/*
 * testutil.h - helpers shared by the Check suites of libcxmetrics
 * (check_api, check_kpi, check_segments). Header-only, test code only.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_TESTUTIL_H
#define CXM_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"

/* A fixed key so that runs are reproducible. */
static const uint8_t T_KEY[CXM_KEY_SIZE] = {1, 2,  3,  4,  5,  6,  7,  8,
                                            9, 10, 11, 12, 13, 14, 15, 16};

/* 2026-01-01T00:00:00Z, a Thursday: day number 20454. */
#define T0 INT64_C(1767225600)
#define DAY INT64_C(86400)
#define HOUR INT64_C(3600)

#define ALLW CXM_TIME_MIN, CXM_TIME_MAX

static inline cxm_ctx *t_new(void) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create(&ctx), CXM_OK);
  ck_assert_ptr_nonnull(ctx);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  return ctx;
}

static inline int32_t t_chan(cxm_ctx *ctx, const char *label) {
  int32_t id = -2;
  int rc = cxm_channel_intern(ctx, label, strlen(label), &id);
  ck_assert_msg(rc == CXM_OK, "cxm_channel_intern(%s) = %d: %s", label, rc,
                cxm_ctx_errmsg(ctx));
  return id;
}

static inline int32_t t_seg(cxm_ctx *ctx, const char *label) {
  int32_t id = -2;
  int rc = cxm_segment_intern(ctx, label, strlen(label), &id);
  ck_assert_msg(rc == CXM_OK, "cxm_segment_intern(%s) = %d: %s", label, rc,
                cxm_ctx_errmsg(ctx));
  return id;
}

/* A segment set from up to 8 segment ids (n of them). */
static inline int32_t t_set(cxm_ctx *ctx, size_t n, const int32_t *segs) {
  int32_t id = -2;
  int rc = cxm_segset_intern(ctx, segs, n, &id);
  ck_assert_msg(rc == CXM_OK, "cxm_segset_intern = %d: %s", rc,
                cxm_ctx_errmsg(ctx));
  return id;
}

static inline void t_assign(cxm_ctx *ctx, const char *cust, int32_t set) {
  int rc = cxm_customer_set_segments(ctx, cust, strlen(cust), set);
  ck_assert_msg(rc == CXM_OK, "cxm_customer_set_segments = %d: %s", rc,
                cxm_ctx_errmsg(ctx));
}

/* Add one event; customer as a C string or NULL. Returns the status. */
static inline int t_ev(cxm_ctx *ctx, int64_t t, int32_t type, const char *cust,
                       int32_t ch, double v, double v2) {
  return cxm_event_add(ctx, t, type, cust, cust ? strlen(cust) : 0, ch, v, v2);
}

#define T_ADD(ctx, t, type, cust, ch, v, v2)                                  \
  do {                                                                        \
    int t_rc_ = t_ev((ctx), (t), (type), (cust), (ch), (v), (v2));            \
    ck_assert_msg(t_rc_ == CXM_OK, "event add (line %d) = %d: %s", __LINE__, \
                  t_rc_, cxm_ctx_errmsg(ctx));                                \
  } while (0)

/* Shorthands for events with no numbers. */
#define T_ADD0(ctx, t, type, cust, ch) T_ADD(ctx, t, type, cust, ch, NAN, NAN)
#define T_ADD1(ctx, t, type, cust, ch, v) T_ADD(ctx, t, type, cust, ch, v, NAN)

/* Read a KPI; fails the test when the call fails. */
static inline double t_kpi_w(cxm_ctx *ctx, int kpi, int32_t seg, int32_t ch,
                             int64_t from, int64_t to, int64_t *n) {
  double v = -12345.0;
  int64_t nn = -12345;
  int rc = cxm_kpi_get(ctx, kpi, seg, ch, from, to, &v, &nn);
  ck_assert_msg(rc == CXM_OK, "cxm_kpi_get(kpi %d, seg %d, ch %d) = %d: %s",
                kpi, (int)seg, (int)ch, rc, cxm_ctx_errmsg(ctx));
  if (n) *n = nn;
  return v;
}

static inline double t_kpi(cxm_ctx *ctx, int kpi, int32_t seg, int32_t ch,
                           int64_t *n) {
  return t_kpi_w(ctx, kpi, seg, ch, ALLW, n);
}

/* Relative-or-absolute closeness for KPI doubles. */
static inline int t_close(double got, double want) {
  if (isnan(want)) return isnan(got);
  if (isnan(got)) return 0;
  double d = fabs(got - want);
  double m = fabs(want) > 1.0 ? fabs(want) : 1.0;
  return d <= 1e-9 * m;
}

/* Assert a KPI's value (NaN means "undefined") and its n (-1 = don't check)
 * over the unbounded window. */
#define T_KPI(ctx, kpi, seg, ch, want, want_n)                                \
  T_KPI_W(ctx, kpi, seg, ch, CXM_TIME_MIN, CXM_TIME_MAX, want, want_n)

#define T_KPI_W(ctx, kpi, seg, ch, from, to, want, want_n)                    \
  do {                                                                        \
    int64_t t_n_ = 0;                                                         \
    double t_w_ = (double)(want);                                             \
    int64_t t_wn_ = (int64_t)(want_n);                                        \
    double t_v_ = t_kpi_w((ctx), (kpi), (seg), (ch), (from), (to), &t_n_);    \
    ck_assert_msg(t_close(t_v_, t_w_),                                        \
                  "%s (seg %d, ch %d, line %d): got %.17g, want %.17g", #kpi, \
                  (int)(seg), (int)(ch), __LINE__, t_v_, t_w_);               \
    if (t_wn_ >= 0)                                                           \
      ck_assert_msg(t_n_ == t_wn_,                                            \
                    "%s n (seg %d, ch %d, line %d): got %lld, want %lld",     \
                    #kpi, (int)(seg), (int)(ch), __LINE__, (long long)t_n_,   \
                    (long long)t_wn_);                                        \
  } while (0)

/* Assert an exact integer KPI (money in minor units) over all time. */
#define T_KPI_INT(ctx, kpi, seg, ch, want, want_n)                            \
  do {                                                                        \
    int64_t t_v_ = -12345, t_n_ = -12345;                                     \
    int t_rc_ = cxm_kpi_get_int((ctx), (kpi), (seg), (ch), CXM_TIME_MIN,      \
                                CXM_TIME_MAX, &t_v_, &t_n_);                  \
    ck_assert_msg(t_rc_ == CXM_OK, "cxm_kpi_get_int(%s) = %d: %s", #kpi,      \
                  t_rc_, cxm_ctx_errmsg(ctx));                                \
    ck_assert_msg(t_v_ == (int64_t)(want),                                    \
                  "%s int (seg %d, ch %d, line %d): got %lld, want %lld",     \
                  #kpi, (int)(seg), (int)(ch), __LINE__, (long long)t_v_,     \
                  (long long)(want));                                         \
    if ((int64_t)(want_n) >= 0)                                               \
      ck_assert_msg(t_n_ == (int64_t)(want_n),                                \
                    "%s int n (line %d): got %lld, want %lld", #kpi,          \
                    __LINE__, (long long)t_n_, (long long)(want_n));          \
  } while (0)

/* ------------------------------------------------------------------------
 * Snapshots: every KPI of the library for every scope (all, each segment,
 * each channel, each segment x channel), unbounded window plus a few
 * day windows, with the status of each call. Used to check that rejected
 * events change nothing and that order does not matter.
 */
#define T_SNAP_WINDOWS 3
typedef struct t_snap {
  int32_t nseg, nch;
  int kmax;
  size_t count;
  int *rc;
  double *v;
  int64_t *n;
  int64_t *iv; /* cxm_kpi_get_int value, or INT64_MIN when unsupported */
} t_snap;

static inline void t_window(int w, int64_t *from, int64_t *to) {
  switch (w) {
  case 0: *from = CXM_TIME_MIN; *to = CXM_TIME_MAX; break;
  case 1: *from = T0; *to = T0 + 2 * DAY; break;
  default: *from = T0 - 30 * DAY; *to = T0 + DAY; break;
  }
}

static inline void t_snap_take(cxm_ctx *ctx, t_snap *s) {
  int32_t nseg = 0, nch = 0;
  ck_assert_int_eq(cxm_segment_count(ctx, &nseg), CXM_OK);
  ck_assert_int_eq(cxm_channel_count(ctx, &nch), CXM_OK);
  s->nseg = nseg;
  s->nch = nch;
  s->kmax = cxm_kpi_max();
  ck_assert_int_ge(s->kmax, 36);
  s->count = (size_t)(nseg + 1) * (size_t)(nch + 1) * (size_t)s->kmax *
             T_SNAP_WINDOWS;
  s->rc = calloc(s->count, sizeof *s->rc);
  s->v = calloc(s->count, sizeof *s->v);
  s->n = calloc(s->count, sizeof *s->n);
  s->iv = calloc(s->count, sizeof *s->iv);
  ck_assert(s->rc && s->v && s->n && s->iv);
  size_t i = 0;
  for (int32_t sg = -1; sg < nseg; sg++)
    for (int32_t c = -1; c < nch; c++)
      for (int k = 1; k <= s->kmax; k++)
        for (int w = 0; w < T_SNAP_WINDOWS; w++, i++) {
          int64_t from, to, iv = INT64_MIN, in = 0;
          t_window(w, &from, &to);
          s->v[i] = -999.0;
          s->n[i] = -999;
          s->rc[i] = cxm_kpi_get(ctx, k, sg, c, from, to, &s->v[i], &s->n[i]);
          if (cxm_kpi_get_int(ctx, k, sg, c, from, to, &iv, &in) != CXM_OK)
            iv = INT64_MIN;
          s->iv[i] = iv;
        }
}

static inline void t_snap_free(t_snap *s) {
  free(s->rc);
  free(s->v);
  free(s->n);
  free(s->iv);
  memset(s, 0, sizeof *s);
}

static inline int t_same_double(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b;
}

/* Assert that two snapshots are identical (exactly). */
static inline void t_snap_assert_eq(const t_snap *a, const t_snap *b,
                                    const char *what) {
  ck_assert_msg(a->nseg == b->nseg && a->nch == b->nch,
                "%s: label counts differ (%d/%d segments, %d/%d channels)",
                what, (int)a->nseg, (int)b->nseg, (int)a->nch, (int)b->nch);
  for (size_t i = 0; i < a->count; i++) {
    int w = (int)(i % T_SNAP_WINDOWS);
    int k = (int)((i / T_SNAP_WINDOWS) % (size_t)a->kmax) + 1;
    size_t sc = i / T_SNAP_WINDOWS / (size_t)a->kmax;
    int c = (int)(sc % (size_t)(a->nch + 1)) - 1;
    int sg = (int)(sc / (size_t)(a->nch + 1)) - 1;
    ck_assert_msg(a->rc[i] == b->rc[i] && t_same_double(a->v[i], b->v[i]) &&
                      (a->rc[i] != CXM_OK || a->n[i] == b->n[i]) &&
                      a->iv[i] == b->iv[i],
                  "%s: kpi %d (%s) seg %d ch %d window %d differs: "
                  "rc %d/%d value %.17g/%.17g n %lld/%lld int %lld/%lld",
                  what, k, cxm_kpi_name(k) ? cxm_kpi_name(k) : "?", sg, c, w,
                  a->rc[i], b->rc[i], a->v[i], b->v[i], (long long)a->n[i],
                  (long long)b->n[i], (long long)a->iv[i],
                  (long long)b->iv[i]);
  }
}

/* Assert that two handles answer every KPI of every scope identically. */
static inline void t_handles_same_kpis(cxm_ctx *a, cxm_ctx *b, const char *what) {
  t_snap sa, sb;
  t_snap_take(a, &sa);
  t_snap_take(b, &sb);
  t_snap_assert_eq(&sa, &sb, what);
  t_snap_free(&sa);
  t_snap_free(&sb);
}

/* Assert that two handles save byte-identical snapshots. */
static inline void t_handles_same_bytes(cxm_ctx *a, cxm_ctx *b) {
  void *ba = NULL, *bb = NULL;
  size_t la = 0, lb = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(a, 0, &ba, &la), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_save_buffer(b, 0, &bb, &lb), CXM_OK);
  ck_assert_uint_eq(la, lb);
  ck_assert_msg(memcmp(ba, bb, la) == 0, "snapshots differ");
  cxm_buffer_free(a, ba, la);
  cxm_buffer_free(b, bb, lb);
}

/* A new handle loaded from a's snapshot (a keeps its state), with the
   tests' key T_KEY; the caller destroys it. */
static inline cxm_ctx *t_reloaded(cxm_ctx *a) {
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(a, 0, &buf, &len), CXM_OK);
  cxm_ctx *b = NULL;
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_load_buffer(b, buf, len), CXM_OK);
  cxm_buffer_free(a, buf, len);
  ck_assert_int_eq(cxm_key_set(b, T_KEY, sizeof T_KEY), CXM_OK);
  return b;
}

/* Run a suite; the exit status of a test program. */
static inline int t_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* CXM_TESTUTIL_H */
