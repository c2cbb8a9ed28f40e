/*
 * check_funnel.c - the journey funnel against hand-computed streams
 * (stages, skipped stages, channels, conversion window, segment moves,
 * out-of-order events), the quantile sketch's error bound and merge, memory
 * per customer, allocation failure and the module switch.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#include "qsketch.h"

/* ---- the sketch ----------------------------------------------------------- */

START_TEST(test_sketch_buckets) {
  uint32_t prev = 0;
  uint64_t lo, w;
  /* Every value below 2^20, then a spread up to 2^32 - 1. */
  for (uint64_t x = 0; x <= UINT32_MAX; x = x < (1u << 20) ? x + 1 : x + x / 977 + 1) {
    uint32_t b = cxm__qs_bucket((uint32_t)x);
    ck_assert_uint_lt(b, CXM_QS_NBUCKETS);
    ck_assert_msg(b >= prev, "buckets must grow with the value");
    prev = b;
    cxm__qs_range(b, &lo, &w);
    ck_assert_msg(lo <= x && x < lo + w, "x=%llu outside its bucket", (unsigned long long)x);
    double v = cxm__qs_value(b);
    ck_assert_msg(fabs(v - (double)x) <= (double)x / 64.0, "x=%llu rep %.1f",
                  (unsigned long long)x, v);
  }
  ck_assert_uint_eq(cxm__qs_bucket(UINT32_MAX), CXM_QS_NBUCKETS - 1);
  ck_assert(cxm__qs_value(0) == 0.0 && cxm__qs_value(31) == 31.0);
}
END_TEST

static uint64_t t_rng(uint64_t *s) {
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *s >> 33;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Rank error 0 at bucket resolution and value error <= 1/64 against the
   exact order statistics; merged shards equal the whole stream. */
START_TEST(test_sketch_error_and_merge) {
  enum { N = 20001 };
  static uint32_t xs[N], whole[CXM_QS_NBUCKETS], shard[3][CXM_QS_NBUCKETS];
  memset(whole, 0, sizeof whole);
  memset(shard, 0, sizeof shard);
  uint64_t seed = 7;
  for (int i = 0; i < N; i++) {
    /* log-uniform durations from 1 s to ~1000 days, some zeros */
    double e = (double)(t_rng(&seed) % 1000000) / 1000000.0 * 24.0;
    xs[i] = i % 50 == 0 ? 0 : (uint32_t)pow(2.0, e) * (uint32_t)(1 + t_rng(&seed) % 5);
    whole[cxm__qs_bucket(xs[i])]++;
    shard[t_rng(&seed) % 3][cxm__qs_bucket(xs[i])]++;
  }
  qsort(xs, N, sizeof xs[0], cmp_u32);
  static const double qs[] = {0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    double v = cxm__qs_quantile(whole, N, qs[i]);
    size_t r = (size_t)ceil(qs[i] * N);
    if (r < 1) r = 1;
    uint32_t x = xs[r - 1];
    ck_assert_msg(cxm__qs_bucket((uint32_t)v) == cxm__qs_bucket(x) &&
                      fabs(v - x) <= x / 64.0,
                  "q=%g: %.1f, exact %u", qs[i], v, x);
  }
  /* Shards merged in two orders: the same counts as the whole stream. */
  uint32_t m1[CXM_QS_NBUCKETS] = {0}, m2[CXM_QS_NBUCKETS] = {0};
  for (int b = 0; b < CXM_QS_NBUCKETS; b++) {
    m1[b] = (shard[0][b] + shard[1][b]) + shard[2][b];
    m2[b] = shard[2][b] + (shard[1][b] + shard[0][b]);
  }
  ck_assert(memcmp(m1, whole, sizeof whole) == 0 && memcmp(m2, whole, sizeof whole) == 0);
  ck_assert(cxm__qs_quantile(m1, N, 0.9) == cxm__qs_quantile(whole, N, 0.9));
  /* 0.9 * 70 is 63.00000000000001 in doubles: still rank 63. */
  uint32_t c70[CXM_QS_NBUCKETS] = {0};
  for (uint32_t i = 1; i <= 70; i++) c70[i]++;
  ck_assert(cxm__qs_quantile(c70, 70, 0.9) == 63.0);
  ck_assert(isnan(cxm__qs_quantile(c70, 0, 0.5)));
}
END_TEST

/* ---- the funnel ----------------------------------------------------------- */

static void t_stage(cxm_ctx *ctx, int32_t seg, int32_t ch, int stage, int64_t want,
                    double want_conv, int line) {
  int64_t n = -1, dropped = -1;
  double conv = -1;
  int rc = cxm_funnel_get(ctx, seg, ch, stage, &n, &conv, &dropped);
  ck_assert_msg(rc == CXM_OK, "line %d: cxm_funnel_get = %d: %s", line, rc,
                cxm_ctx_errmsg(ctx));
  ck_assert_msg(n == want, "line %d: stage %d: %lld customers, want %lld", line, stage,
                (long long)n, (long long)want);
  ck_assert_msg(t_same_double(conv, want_conv) || fabs(conv - want_conv) < 1e-12,
                "line %d: stage %d conversion %g, want %g", line, stage, conv, want_conv);
}
#define T_STAGE(ctx, seg, ch, stage, want, conv) \
  t_stage(ctx, seg, ch, stage, want, conv, __LINE__)

/* A quantile within 1/64 of the wanted number of days, over n steps. */
static void t_days(cxm_ctx *ctx, int32_t seg, int32_t ch, int stage, double q,
                   double want, int64_t want_n, int line) {
  double d = -1;
  int64_t n = -1;
  int rc = cxm_funnel_days(ctx, seg, ch, stage, q, &d, &n);
  ck_assert_msg(rc == CXM_OK, "line %d: cxm_funnel_days = %d", line, rc);
  ck_assert_msg(n == want_n, "line %d: %lld steps, want %lld", line, (long long)n,
                (long long)want_n);
  if (isnan(want))
    ck_assert_msg(isnan(d), "line %d: %g days, want NaN", line, d);
  else
    ck_assert_msg(fabs(d - want) <= want / 64.0 + 1e-9, "line %d: %g days, want %g",
                  line, d, want);
}
#define T_DAYS(ctx, seg, ch, stage, q, want, n) \
  t_days(ctx, seg, ch, stage, q, want, n, __LINE__)

enum { AW = CXM_FUNNEL_AWARENESS, EN, TR, RE };

START_TEST(test_stages_by_hand) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email"), store = t_chan(ctx, "store");
  /* a: every stage in order, timed 1, 2 and 7 days. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "a", web);
  T_ADD0(ctx, T0 + DAY, CXM_EV_ENGAGE, "a", email);
  T_ADD1(ctx, T0 + 3 * DAY, CXM_EV_PURCHASE, "a", store, 10);
  T_ADD1(ctx, T0 + 10 * DAY, CXM_EV_PURCHASE, "a", store, 10);
  /* b: a purchase first: awareness and engagement implied, nothing timed. */
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "b", store, 10);
  /* c: a one-page session (awareness), then a 3-page one (engagement). */
  T_ADD(ctx, T0, CXM_EV_SESSION, "c", email, 1, NAN);
  T_ADD(ctx, T0 + 2 * DAY, CXM_EV_SESSION, "c", web, 3, NAN);
  /* d: message_open, then a purchase: engagement skipped, not timed. */
  T_ADD0(ctx, T0, CXM_EV_MESSAGE_OPEN, "d", email);
  T_ADD1(ctx, T0 + 5 * DAY, CXM_EV_PURCHASE, "d", web, 10);
  /* e: second purchase 400 days after the first: no retention. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "e", web);
  T_ADD1(ctx, T0 + DAY, CXM_EV_PURCHASE, "e", web, 10);
  T_ADD1(ctx, T0 + 401 * DAY, CXM_EV_PURCHASE, "e", web, 10);
  /* f: events that reach no stage. */
  T_ADD1(ctx, T0, CXM_EV_NPS, "f", web, 9);
  T_ADD0(ctx, T0, CXM_EV_MESSAGE_SENT, "f", web);

  T_STAGE(ctx, CXM_ALL, CXM_ALL, AW, 5, NAN);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, EN, 5, 1.0);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, TR, 4, 0.8);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, RE, 1, 0.25);
  int64_t dropped = -1;
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, TR, NULL, NULL, &dropped), CXM_OK);
  ck_assert_int_eq(dropped, 1);
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, AW, NULL, NULL, &dropped), CXM_OK);
  ck_assert_int_eq(dropped, 0);
  /* Channels of the first stage: a, e web; b store; c, d email. */
  T_STAGE(ctx, CXM_ALL, web, AW, 2, NAN);
  T_STAGE(ctx, CXM_ALL, web, TR, 2, 1.0);
  T_STAGE(ctx, CXM_ALL, web, RE, 1, 0.5);
  T_STAGE(ctx, CXM_ALL, email, EN, 2, 1.0);
  T_STAGE(ctx, CXM_ALL, email, TR, 1, 0.5);
  T_STAGE(ctx, CXM_ALL, email, RE, 0, 0.0);
  T_STAGE(ctx, CXM_ALL, store, TR, 1, 1.0);
  /* Times: engagement a 1 d, c 2 d; transaction a 2 d; retention a 7 d. */
  T_DAYS(ctx, CXM_ALL, CXM_ALL, EN, 0.5, 1.0, 2);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, EN, 0.9, 2.0, 2);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, TR, 0.5, 2.0, 1);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, RE, 0.9, 7.0, 1);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, AW, 0.5, NAN, 0);
  T_DAYS(ctx, CXM_ALL, email, EN, 0.5, 2.0, 1);
  T_DAYS(ctx, CXM_ALL, store, TR, 0.5, NAN, 0);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_conversion_window) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_WINDOW_DAYS, 2), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_RETENTION_DAYS, 30), CXM_OK);
  /* f: engagement within 2 days counts; purchases after do not. */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "f", CXM_NO_CHANNEL);
  T_ADD0(ctx, T0 + DAY, CXM_EV_ENGAGE, "f", CXM_NO_CHANNEL);
  T_ADD1(ctx, T0 + 3 * DAY, CXM_EV_PURCHASE, "f", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + 4 * DAY, CXM_EV_PURCHASE, "f", CXM_NO_CHANNEL, 1);
  /* g: a purchase exactly 2 days after the first stage counts; a second
     one second later does not (retention outside the window). */
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "g", CXM_NO_CHANNEL);
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_PURCHASE, "g", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + 2 * DAY + 1, CXM_EV_PURCHASE, "g", CXM_NO_CHANNEL, 1);
  /* h: first stage a purchase, second within the window: retention. */
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "h", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + DAY, CXM_EV_PURCHASE, "h", CXM_NO_CHANNEL, 1);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, AW, 3, NAN);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, EN, 3, 1.0);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, TR, 2, 2.0 / 3);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, RE, 1, 0.5);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, RE, 0.5, 1.0, 1);
  cxm_ctx_destroy(ctx);

  /* Retention window: a second purchase exactly 30 days later counts. */
  ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_RETENTION_DAYS, 30), CXM_OK);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "r", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + 30 * DAY, CXM_EV_PURCHASE, "r", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "s", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + 30 * DAY + 1, CXM_EV_PURCHASE, "s", CXM_NO_CHANNEL, 1);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, RE, 1, 0.5);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_segment_moves) {
  cxm_ctx *ctx = t_new();
  int32_t gold = t_seg(ctx, "gold"), silver = t_seg(ctx, "silver");
  int32_t web = t_chan(ctx, "web");
  int32_t sg = t_set(ctx, 1, &gold), ss = t_set(ctx, 1, &silver);
  int32_t both[2] = {gold, silver};
  int32_t sb = t_set(ctx, 2, both);
  t_assign(ctx, "p", sg);
  t_assign(ctx, "q", sg);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "p", web);
  T_ADD0(ctx, T0 + DAY, CXM_EV_ENGAGE, "p", web);
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_PURCHASE, "p", web, 5);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "q", web);
  T_STAGE(ctx, gold, CXM_ALL, AW, 2, NAN);
  T_STAGE(ctx, gold, web, TR, 1, 1.0);
  T_STAGE(ctx, silver, CXM_ALL, AW, 0, NAN);
  /* p moves to silver: its counts follow; its timed steps stay in gold. */
  t_assign(ctx, "p", ss);
  T_STAGE(ctx, gold, CXM_ALL, AW, 1, NAN);
  T_STAGE(ctx, gold, CXM_ALL, EN, 0, 0.0);
  T_STAGE(ctx, silver, CXM_ALL, TR, 1, 1.0);
  T_STAGE(ctx, silver, web, EN, 1, 1.0);
  T_DAYS(ctx, gold, CXM_ALL, EN, 0.5, 1.0, 1);
  T_DAYS(ctx, silver, CXM_ALL, EN, 0.5, NAN, 0);
  /* An event that carries a new set moves the customer too, then counts. */
  int64_t times[1] = {T0 + 3 * DAY};
  int32_t types[1] = {CXM_EV_PURCHASE}, chans[1] = {web}, sets[1] = {sb};
  int64_t offs[2] = {0, 1};
  double vals[1] = {5};
  ck_assert_int_eq(cxm_events_add(ctx, 1, times, types, (const uint8_t *)"p", offs, chans,
                                  vals, NULL, sets, NULL, NULL), CXM_OK);
  T_STAGE(ctx, gold, CXM_ALL, RE, 1, 1.0);
  T_STAGE(ctx, silver, CXM_ALL, RE, 1, 1.0);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, RE, 1, 1.0);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, AW, 2, NAN);
  T_DAYS(ctx, silver, web, RE, 0.5, 1.0, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_out_of_order) {
  cxm_ctx *ctx = t_new();
  /* i: a purchase, then an earlier one within the retention window,
     arriving late: retention, timed by the gap (6 days). */
  T_ADD1(ctx, T0 + 10 * DAY, CXM_EV_PURCHASE, "i", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + 4 * DAY, CXM_EV_PURCHASE, "i", CXM_NO_CHANNEL, 1);
  /* j: awareness at +3 d, then a late touch at +1 d: the stage's time
     becomes +1 d, so engagement at +4 d is timed 3 days. */
  T_ADD0(ctx, T0 + 3 * DAY, CXM_EV_TOUCH, "j", CXM_NO_CHANNEL);
  T_ADD0(ctx, T0 + 1 * DAY, CXM_EV_TOUCH, "j", CXM_NO_CHANNEL);
  T_ADD0(ctx, T0 + 4 * DAY, CXM_EV_ENGAGE, "j", CXM_NO_CHANNEL);
  /* k: engagement first, then a late earlier awareness: counted once, not
     timed (the step is already made). */
  T_ADD0(ctx, T0 + 5 * DAY, CXM_EV_ENGAGE, "k", CXM_NO_CHANNEL);
  T_ADD0(ctx, T0 + 2 * DAY, CXM_EV_TOUCH, "k", CXM_NO_CHANNEL);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, AW, 3, NAN);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, EN, 3, 1.0);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, RE, 1, 1.0);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, RE, 0.5, 6.0, 1);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, EN, 0.5, 3.0, 1);
  /* i: a purchase earlier than the first, arriving late, with a gap beyond
     the retention window moves the first purchase (u, below). */
  cxm_ctx_destroy(ctx);

  /* The conversion window starts at the earliest stage event, even one that
     arrives late: the purchase 6 days after it is outside 5 days. */
  ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_WINDOW_DAYS, 5), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_RETENTION_DAYS, 3), CXM_OK);
  T_ADD0(ctx, T0 + 5 * DAY, CXM_EV_ENGAGE, "h", CXM_NO_CHANNEL);
  T_ADD0(ctx, T0 + 1 * DAY, CXM_EV_TOUCH, "h", CXM_NO_CHANNEL);
  T_ADD1(ctx, T0 + 7 * DAY, CXM_EV_PURCHASE, "h", CXM_NO_CHANNEL, 1);
  /* u: first purchase at +4 d, a late one at +0 (4 days earlier, beyond the
     3-day retention): the first purchase moves to +0, so one at +2 d is a
     second purchase within 3 days. */
  T_ADD1(ctx, T0 + 4 * DAY, CXM_EV_PURCHASE, "u", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "u", CXM_NO_CHANNEL, 1);
  T_ADD1(ctx, T0 + 2 * DAY, CXM_EV_PURCHASE, "u", CXM_NO_CHANNEL, 1);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, EN, 2, 1.0);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, TR, 1, 0.5);
  T_STAGE(ctx, CXM_ALL, CXM_ALL, RE, 1, 1.0);
  T_DAYS(ctx, CXM_ALL, CXM_ALL, RE, 0.5, 2.0, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_arguments_and_switch) {
  cxm_ctx *ctx = t_new();
  int64_t n;
  double d;
  ck_assert_int_eq(cxm_funnel_get(NULL, CXM_ALL, CXM_ALL, AW, &n, NULL, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, 0, &n, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, 5, &n, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_funnel_get(ctx, 0, CXM_ALL, AW, &n, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, 0, AW, &n, NULL, NULL), CXM_E_ARG);
  ck_assert_int_eq(cxm_funnel_days(ctx, CXM_ALL, CXM_ALL, EN, 1.5, &d, NULL), CXM_E_RANGE);
  ck_assert_int_eq(cxm_funnel_days(ctx, CXM_ALL, CXM_ALL, EN, 0.5, NULL, NULL), CXM_E_NULL);
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, AW, &n, NULL, NULL), CXM_OK);
  ck_assert_int_eq(n, 0);
  cxm_ctx_destroy(ctx);
  ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, CXM_MOD_ALL & ~CXM_MOD_FUNNEL), CXM_OK);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "a", CXM_NO_CHANNEL);
  ck_assert_int_eq(cxm_funnel_get(ctx, CXM_ALL, CXM_ALL, AW, &n, NULL, NULL), CXM_E_UNSUPPORTED);
  ck_assert_int_eq(cxm_funnel_days(ctx, CXM_ALL, CXM_ALL, EN, 0.5, &d, NULL), CXM_E_UNSUPPORTED);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ---- memory ------------------------------------------------------------------ */

static int64_t t_memory_with(int64_t modules, int n) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, modules), CXM_OK);
  int32_t ch[4] = {t_chan(ctx, "a"), t_chan(ctx, "b"), t_chan(ctx, "c"), t_chan(ctx, "d")};
  char id[24];
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "m%d", i);
    T_ADD0(ctx, T0 + i % 1000, CXM_EV_TOUCH, id, ch[i % 4]);
    T_ADD0(ctx, T0 + 1000 + i % 1000, CXM_EV_ENGAGE, id, ch[i % 4]);
  }
  int64_t mem;
  ck_assert_int_eq(cxm_stat_get(ctx, CXM_STAT_MEMORY_BYTES, &mem), CXM_OK);
  cxm_ctx_destroy(ctx);
  return mem;
}

START_TEST(test_memory_per_customer) {
  int n = 1 << 17;
  double per = (double)(t_memory_with(CXM_MOD_FUNNEL, n) - t_memory_with(0, n)) / n;
  printf("funnel: %.2f bytes per customer\n", per);
  ck_assert_msg(per <= 12.0 && per >= 10.0, "%.2f bytes per customer", per);
  int64_t off = t_memory_with(CXM_MOD_ALL & ~CXM_MOD_FUNNEL, 5000);
  int64_t on = t_memory_with(CXM_MOD_ALL, 5000);
  ck_assert_msg(on - off >= 10 * 8192, "%lld bytes saved", (long long)(on - off));
}
END_TEST

/* ---- allocation failure ----------------------------------------------------- */

typedef struct t_alloc { long calls, fail_at, failures; } t_alloc;
static void *t_malloc(void *o, size_t n) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) { a->failures++; return NULL; }
  return malloc(n);
}
static void *t_realloc(void *o, void *p, size_t n) {
  t_alloc *a = o;
  if (++a->calls == a->fail_at) { a->failures++; return NULL; }
  return realloc(p, n);
}
static void t_free(void *o, void *p) { (void)o; free(p); }

static void t_funnel_eq(cxm_ctx *h, cxm_ctx *twin, int32_t nseg, int32_t nch) {
  for (int32_t s = CXM_ALL; s < nseg; s++)
    for (int32_t c = CXM_ALL; c < nch; c++)
      for (int st = AW; st <= RE; st++) {
        int64_t x, y, nx, ny;
        double dx, dy;
        ck_assert_int_eq(cxm_funnel_get(h, s, c, st, &x, NULL, NULL), CXM_OK);
        ck_assert_int_eq(cxm_funnel_get(twin, s, c, st, &y, NULL, NULL), CXM_OK);
        ck_assert_int_eq(x, y);
        for (double q = 0.5; q < 1; q += 0.4) {
          ck_assert_int_eq(cxm_funnel_days(h, s, c, st, q, &dx, &nx), CXM_OK);
          ck_assert_int_eq(cxm_funnel_days(twin, s, c, st, q, &dy, &ny), CXM_OK);
          ck_assert_msg(nx == ny && t_same_double(dx, dy),
                        "seg %d ch %d stage %d q %g: %g (%lld) vs %g (%lld)", (int)s,
                        (int)c, st, q, dx, (long long)nx, dy, (long long)ny);
        }
      }
}

START_TEST(test_nomem_keeps_state) {
  t_alloc a = {0, 0, 0};
  cxm_ctx *h = NULL, *twin = t_new();
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&h, t_malloc, t_realloc, t_free, &a), CXM_OK);
  ck_assert_int_eq(cxm_key_set(h, T_KEY, sizeof T_KEY), CXM_OK);
  int32_t ch[3], sets[3];
  const char *cl[3] = {"web", "email", "app"}, *sl[3] = {"s0", "s1", "s2"};
  for (int i = 0; i < 3; i++) {
    ch[i] = t_chan(h, cl[i]);
    ck_assert_int_eq(t_chan(twin, cl[i]), ch[i]);
    int32_t sg = t_seg(h, sl[i]);
    ck_assert_int_eq(t_seg(twin, sl[i]), sg);
    sets[i] = t_set(h, 1, &sg);
    ck_assert_int_eq(t_set(twin, 1, &sg), sets[i]);
  }
  static const int32_t types[5] = {CXM_EV_TOUCH, CXM_EV_ENGAGE, CXM_EV_PURCHASE,
                                   CXM_EV_PURCHASE, CXM_EV_SESSION};
  char id[24];
  long failures = 0;
  for (int i = 0; i < 3000; i++) {
    snprintf(id, sizeof id, "cust-%d", (i * 7) % 1500);
    int64_t t = T0 + i * 600;
    if (i % 11 == 0) {
      for (long k = 1;; k++) {
        a.fail_at = a.calls + k;
        int rc = cxm_customer_set_segments(h, id, strlen(id), sets[i % 3]);
        a.fail_at = 0;
        if (rc == CXM_OK) break;
        ck_assert_int_eq(rc, CXM_E_NOMEM);
        failures++;
        t_funnel_eq(h, twin, 3, 3);
      }
      t_assign(twin, id, sets[i % 3]);
    }
    int32_t type = types[i % 5];
    for (long k = 1;; k++) {
      a.fail_at = a.calls + k;
      int rc = t_ev(h, t, type, id, ch[i % 3], 3, NAN);
      a.fail_at = 0;
      if (rc == CXM_OK) break;
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      failures++;
      if (failures % 7 == 0) t_funnel_eq(h, twin, 3, 3);
      ck_assert_int_lt(k, 200);
    }
    T_ADD(twin, t, type, id, ch[i % 3], 3, NAN);
  }
  ck_assert_int_gt(failures, 0);
  t_funnel_eq(h, twin, 3, 3);
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
}
END_TEST

/* ---- shards, merge and snapshots ---------------------------------------------- */

#define G_CUST 300
#define G_CH 4
#define G_SEG 3

/* One random stream (fixed seed); only customers c % nshards == shard. */
static cxm_ctx *t_feed(int shard, int nshards) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_RETENTION_DAYS, 20), CXM_OK);
  char lab[24];
  int32_t ch[G_CH], sets[G_SEG + 1];
  for (int i = 0; i < G_CH; i++) {
    snprintf(lab, sizeof lab, "ch%d", i);
    ch[i] = t_chan(ctx, lab);
  }
  int32_t segs[G_SEG];
  for (int i = 0; i < G_SEG; i++) {
    snprintf(lab, sizeof lab, "seg%d", i);
    segs[i] = t_seg(ctx, lab);
    sets[i] = t_set(ctx, 1, &segs[i]);
  }
  sets[G_SEG] = t_set(ctx, 2, segs);
  uint64_t seed = 99;
  int64_t t = T0;
  static const int32_t types[8] = {CXM_EV_TOUCH, CXM_EV_SESSION, CXM_EV_MESSAGE_OPEN,
                                   CXM_EV_ENGAGE, CXM_EV_LEAD, CXM_EV_PURCHASE,
                                   CXM_EV_PURCHASE, CXM_EV_NPS};
  for (int e = 0; e < 6000; e++) {
    t += (int64_t)(t_rng(&seed) % (3 * HOUR));
    int64_t te = t - (t_rng(&seed) % 3 == 0 ? (int64_t)(t_rng(&seed) % (3 * DAY)) : 0);
    int c = (int)(t_rng(&seed) % G_CUST);
    int32_t type = types[t_rng(&seed) % 8];
    int k = (int)(t_rng(&seed) % (G_CH + 1));
    double v = (double)(t_rng(&seed) % 4);
    int move = t_rng(&seed) % 40 == 0;
    int32_t set = sets[t_rng(&seed) % (G_SEG + 1)];
    if (c % nshards != shard) continue;
    char id[24];
    snprintf(id, sizeof id, "g%d", c);
    if (move) t_assign(ctx, id, set);
    T_ADD(ctx, te, type, id, k == G_CH ? CXM_NO_CHANNEL : ch[k],
          type == CXM_EV_NPS ? 9 : v + (type == CXM_EV_PURCHASE), NAN);
  }
  return ctx;
}

START_TEST(test_merge_and_snapshot) {
  cxm_ctx *whole = t_feed(0, 1);
  cxm_ctx *s[3];
  for (int i = 0; i < 3; i++) s[i] = t_feed(i, 3);
  /* Merged in another order than the shards' numbers. */
  ck_assert_int_eq(cxm_ctx_merge(s[2], s[0]), CXM_OK);
  ck_assert_int_eq(cxm_ctx_merge(s[2], s[1]), CXM_OK);
  int64_t n = 0;
  ck_assert_int_eq(cxm_funnel_get(whole, CXM_ALL, CXM_ALL, CXM_FUNNEL_RETENTION, &n, NULL, NULL),
                   CXM_OK);
  ck_assert_int_gt(n, 20); /* the stream reaches every stage */
  t_funnel_eq(s[2], whole, G_SEG, G_CH);
  /* A snapshot of the merged handle, loaded, answers the same. */
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(s[2], 0, &buf, &len), CXM_OK);
  cxm_ctx *loaded = NULL;
  ck_assert_int_eq(cxm_ctx_create(&loaded), CXM_OK);
  ck_assert_int_eq(cxm_snapshot_load_buffer(loaded, buf, len), CXM_OK);
  cxm_buffer_free(s[2], buf, len);
  t_funnel_eq(loaded, whole, G_SEG, G_CH);
  cxm_ctx_destroy(loaded);
  for (int i = 0; i < 3; i++) cxm_ctx_destroy(s[i]);
  cxm_ctx_destroy(whole);
}
END_TEST

/* A customer made by cxm_customer_set_segments alone has reached no stage;
   in a handle without channels its snapshot used to name channel 0 and be
   refused by its own load (found by fuzz_api). */
START_TEST(test_snapshot_stageless_customer) {
  cxm_ctx *a = t_new();
  int32_t seg = t_seg(a, "v");
  int32_t set = t_set(a, 1, &seg);
  t_assign(a, "bob", set);
  T_ADD(a, T0, CXM_EV_TOUCH, "amy", CXM_NO_CHANNEL, NAN, NAN);
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(a, 0, &buf, &len), CXM_OK);
  cxm_ctx *b = NULL;
  ck_assert_int_eq(cxm_ctx_create(&b), CXM_OK);
  int rc = cxm_snapshot_load_buffer(b, buf, len);
  ck_assert_msg(rc == CXM_OK, "load: %s", cxm_ctx_errmsg(b));
  cxm_buffer_free(a, buf, len);
  int64_t n = -1;
  ck_assert_int_eq(cxm_funnel_get(b, CXM_ALL, CXM_ALL, CXM_FUNNEL_AWARENESS, &n, NULL, NULL),
                   CXM_OK);
  ck_assert_int_eq(n, 1); /* amy; bob reached nothing */
  ck_assert_int_eq(cxm_funnel_get(b, seg, CXM_ALL, CXM_FUNNEL_AWARENESS, &n, NULL, NULL),
                   CXM_OK);
  ck_assert_int_eq(n, 0);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(a);
}
END_TEST

/* Erasure withdraws the customer's stage counts (customer-level); its timed
   steps stay as anonymous samples; the record moved into its place keeps
   its own journey. */
START_TEST(test_erase) {
  cxm_ctx *ctx = t_new();
  int32_t web = t_chan(ctx, "web");
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "x", web);
  T_ADD0(ctx, T0 + DAY, CXM_EV_ENGAGE, "x", web);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "y", web);
  T_ADD0(ctx, T0, CXM_EV_TOUCH, "z", web);
  T_ADD0(ctx, T0 + 2 * DAY, CXM_EV_ENGAGE, "z", web);
  T_STAGE(ctx, CXM_ALL, web, EN, 2, 2.0 / 3);
  ck_assert_int_eq(cxm_customer_erase(ctx, "x", 1), CXM_OK);
  T_STAGE(ctx, CXM_ALL, web, AW, 2, NAN);
  T_STAGE(ctx, CXM_ALL, web, EN, 1, 0.5);
  T_DAYS(ctx, CXM_ALL, web, EN, 0.5, 1.0, 2); /* x's 1 day and z's 2 */
  /* z (moved into x's record) goes on from its own engagement at +2 d. */
  T_ADD1(ctx, T0 + 5 * DAY, CXM_EV_PURCHASE, "z", web, 1);
  T_STAGE(ctx, CXM_ALL, web, TR, 1, 1.0);
  T_DAYS(ctx, CXM_ALL, web, TR, 0.5, 3.0, 1);
  /* x again is a new customer. */
  T_ADD1(ctx, T0 + 5 * DAY, CXM_EV_PURCHASE, "x", web, 1);
  T_STAGE(ctx, CXM_ALL, web, TR, 2, 1.0);
  T_DAYS(ctx, CXM_ALL, web, TR, 0.5, 3.0, 1);
  cxm_ctx_destroy(ctx);
}
END_TEST

static Suite *funnel_suite(void) {
  Suite *s = suite_create("funnel");
  TCase *tc = tcase_create("funnel");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_sketch_buckets);
  tcase_add_test(tc, test_sketch_error_and_merge);
  tcase_add_test(tc, test_stages_by_hand);
  tcase_add_test(tc, test_conversion_window);
  tcase_add_test(tc, test_segment_moves);
  tcase_add_test(tc, test_out_of_order);
  tcase_add_test(tc, test_arguments_and_switch);
  tcase_add_test(tc, test_memory_per_customer);
  tcase_add_test(tc, test_nomem_keeps_state);
  tcase_add_test(tc, test_merge_and_snapshot);
  tcase_add_test(tc, test_snapshot_stageless_customer);
  tcase_add_test(tc, test_erase);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(funnel_suite()); }
