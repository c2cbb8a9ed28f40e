/*
 * check_funnel.c - the journey funnel against hand-computed streams
 * (stages, skipped stages, channels, conversion window, segment moves,
 * out-of-order events), a literal reference on random streams (late events,
 * windows, hundreds of segment sets), the quantile sketch's error bound and merge, memory
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

/* ---- a straightforward reference on random streams -------------------------- */

/* The definitions of docs/funnel.md applied literally, per customer, with
   every stage count kept per (customer, scope) and summed at the end, every
   timed step kept as a sample: no caches, no shortcuts. Random streams with
   late events, equal times, a conversion window, many segment sets (more
   than the library caches) and segment moves. */
#define RF_CUST 300
#define RF_SEG 10
#define RF_CH 4
#define RF_EVENTS 20000
#define RF_MAXS 20000

typedef struct rfcust {
  int h;                 /* 0 none, 1..4 */
  int64_t t_first, t_high;
  int ch;                /* first stage's channel, RF_CH = none */
  unsigned segs;         /* segment bits held now */
} rfcust;

typedef struct rfsample { int64_t dt; unsigned segs; int ch; } rfsample;

static int rf_stage(int32_t type, double pv) {
  switch (type) {
    case CXM_EV_TOUCH: case CXM_EV_MESSAGE_OPEN: return 1;
    case CXM_EV_SESSION: return pv >= 2 ? 2 : 1;
    case CXM_EV_ENGAGE: case CXM_EV_MESSAGE_CLICK: case CXM_EV_LEAD: return 2;
    case CXM_EV_PURCHASE: return 3;
    default: return 0;
  }
}

/* One event of stage k at t through channel ch; appends its timed step. */
static void rf_event(rfcust *c, int k, int64_t t, int ch, int64_t window,
                     int64_t retention, rfsample *smp[4], int nsmp[4]) {
  if (k == 0) return;
  if (c->h == 0) {
    c->h = k;
    c->t_first = c->t_high = t;
    c->ch = ch;
    return;
  }
  if (t < c->t_first) c->t_first = t;
  int in_win = window == 0 || t <= c->t_first || t - c->t_first <= window;
  if (k == 3 && c->h >= 3) {
    if (c->h == 4) return;
    int64_t first = c->t_high, gap = t >= first ? t - first : first - t;
    int64_t later = t >= first ? t : first;
    int ok = window == 0 || later <= c->t_first || later - c->t_first <= window;
    if (gap <= retention && ok) {
      c->h = 4;
      c->t_high = later;
      smp[3][nsmp[3]++] = (rfsample){gap, c->segs, c->ch};
    } else if (t < first) {
      c->t_high = t;
    }
    return;
  }
  if (k > c->h) {
    if (!in_win) return;
    if (k == c->h + 1) /* the step into stage k, kept as the sketch keeps it: at k - 1 */
      smp[k - 1][nsmp[k - 1]++] = (rfsample){t >= c->t_high ? t - c->t_high : 0, c->segs, c->ch};
    c->h = k;
    c->t_high = t;
  } else if (k == c->h && t < c->t_high) {
    c->t_high = t;
  }
}

static int rf_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void rf_run(int64_t window_days, uint64_t seed) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_WINDOW_DAYS, window_days), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_FUNNEL_RETENTION_DAYS, 20), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 3 * DAY), CXM_OK);
  int32_t ch[RF_CH], seg[RF_SEG];
  char lab[32];
  for (int i = 0; i < RF_CH; i++) {
    snprintf(lab, sizeof lab, "c%d", i);
    ch[i] = t_chan(ctx, lab);
  }
  for (int i = 0; i < RF_SEG; i++) {
    snprintf(lab, sizeof lab, "s%d", i);
    seg[i] = t_seg(ctx, lab);
  }
  static rfcust cust[RF_CUST];
  static int64_t newest[RF_CUST];
  static rfsample s2[RF_MAXS], s3[RF_MAXS], s4[RF_MAXS];
  rfsample *smp[4] = {NULL, s2, s3, s4}; /* smp[st - 1]: steps into stage st */
  int nsmp[4] = {0, 0, 0, 0};
  memset(cust, 0, sizeof cust);
  memset(newest, 0, sizeof newest);
  static const int32_t types[9] = {CXM_EV_TOUCH, CXM_EV_SESSION, CXM_EV_ENGAGE,
                                   CXM_EV_MESSAGE_OPEN, CXM_EV_MESSAGE_CLICK, CXM_EV_LEAD,
                                   CXM_EV_PURCHASE, CXM_EV_NPS, CXM_EV_MESSAGE_SENT};
  int64_t t = T0;
  for (int e = 0; e < RF_EVENTS; e++) {
    t += (int64_t)(t_rng(&seed) % 600); /* often equal times */
    int c = (int)(t_rng(&seed) % RF_CUST);
    int64_t te = t;
    if (t_rng(&seed) % 5 == 0) te -= (int64_t)(t_rng(&seed) % (4 * DAY)); /* some too late */
    int32_t type = types[t_rng(&seed) % 9];
    int k = (int)(t_rng(&seed) % (RF_CH + 1));
    double pv = (double)(t_rng(&seed) % 4);
    char id[24];
    snprintf(id, sizeof id, "f%d", c);
    /* A new segment set now and then: random subsets of 10 segments give
       hundreds of distinct sets. */
    int32_t set = -1;
    unsigned bits = cust[c].segs;
    if (t_rng(&seed) % 8 == 0) {
      int32_t ids[8];
      size_t n = 0;
      bits = 0;
      for (int i = 0; i < RF_SEG && n < 8; i++)
        if (t_rng(&seed) % 3 == 0) {
          ids[n++] = seg[i];
          bits |= 1u << i;
        }
      set = t_set(ctx, n, ids);
    }
    const uint8_t *idp = (const uint8_t *)id;
    int64_t off[2] = {0, (int64_t)strlen(id)};
    double v = type == CXM_EV_PURCHASE ? 1.0 : type == CXM_EV_NPS ? 9.0 : pv;
    int32_t cid = k == RF_CH ? CXM_NO_CHANNEL : ch[k];
    int32_t status = -1;
    size_t acc = 0;
    cxm_events_add(ctx, 1, &te, &type, idp, off, &cid, &v, NULL, &set, &acc, &status);
    int late = newest[c] && newest[c] - te > 3 * DAY;
    ck_assert_int_eq(status, late ? CXM_E_LATE : CXM_OK);
    if (late) continue;
    if (te > newest[c]) newest[c] = te;
    cust[c].segs = bits; /* the core moves the customer before the event counts */
    rf_event(&cust[c], rf_stage(type, v), te, k, window_days * DAY, 20 * DAY, smp, nsmp);
  }
  /* Every scope: all / each segment x all / each channel. */
  for (int sg = -1; sg < RF_SEG; sg++)
    for (int cc = -1; cc < RF_CH; cc++) {
      int32_t s_id = sg < 0 ? CXM_ALL : seg[sg], c_id = cc < 0 ? CXM_ALL : ch[cc];
      for (int st = 1; st <= 4; st++) {
        int64_t want = 0;
        for (int i = 0; i < RF_CUST; i++)
          want += cust[i].h >= st && (sg < 0 || (cust[i].segs >> sg & 1)) &&
                  (cc < 0 || cust[i].ch == cc);
        int64_t got = -1;
        ck_assert_int_eq(cxm_funnel_get(ctx, s_id, c_id, st, &got, NULL, NULL), CXM_OK);
        ck_assert_msg(got == want, "window %d segment %d channel %d stage %d: %lld want %lld",
                      (int)window_days, sg, cc, st, (long long)got, (long long)want);
        if (st == 1) continue;
        static int64_t v[RF_MAXS];
        int m = 0;
        for (int i = 0; i < nsmp[st - 1]; i++) {
          const rfsample *x = &smp[st - 1][i];
          if ((sg < 0 || (x->segs >> sg & 1)) && (cc < 0 || x->ch == cc)) v[m++] = x->dt;
        }
        qsort(v, (size_t)m, sizeof v[0], rf_cmp);
        for (int qi = 0; qi < 2; qi++) {
          double q = qi ? 0.9 : 0.5, days = 0;
          int64_t n = -1;
          ck_assert_int_eq(cxm_funnel_days(ctx, s_id, c_id, st, q, &days, &n), CXM_OK);
          ck_assert_msg(n == m, "segment %d channel %d stage %d q %.1f: %lld steps, want %d", sg, cc, st, q, (long long)n, m);
          if (m == 0) {
            ck_assert(isnan(days));
            continue;
          }
          int64_t rank = (int64_t)ceil(q * m - 1e-9);
          if (rank < 1) rank = 1;
          double exact = (double)v[rank - 1], gotv = days * 86400.0;
          ck_assert_msg(fabs(gotv - exact) <= exact / 64.0 + 1e-6,
                        "quantile %.1f of stage %d: %.1f s, exact %.1f s", q, st, gotv, exact);
        }
      }
    }
  printf("funnel reference (window %d d): %d, %d, %d timed steps\n", (int)window_days, nsmp[1], nsmp[2], nsmp[3]);
  /* the streams do exercise every step */
  ck_assert_int_gt(nsmp[1], 20);
  ck_assert_int_gt(nsmp[2], 20);
  ck_assert_int_gt(nsmp[3], window_days ? 5 : 20);
  cxm_ctx_destroy(ctx);
}

START_TEST(test_random_against_reference) {
  rf_run(0, 7);
  rf_run(2, 11);
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
  tcase_add_test(tc, test_random_against_reference);
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
