/*
 * check_hostile.c - hostile input has a defined outcome (docs/conventions.md,
 * "Hostile input"): huge, empty and NUL-holding customer ids, labels past
 * the limit, times outside 1970..2105, NaN/Inf amounts, scores off the
 * scale, over-long CSV records, unterminated quotes and lone CRs. Each
 * rejection is checked to leave every count and KPI as before, through the
 * public API and through the CSV reader.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#include <float.h>

/* The reader's documented record cap (docs/csv.md). */
#define REC_MAX ((size_t)1 << 20)

/* ------------------------------------------------------------------------
 * SipHash-1-3 written from the paper (byte-wise, no shared code with the
 * library), to check that ids are hashed as whole byte strings.
 */
static uint64_t ref_rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static void ref_round(uint64_t v[4]) {
  v[0] += v[1]; v[1] = ref_rotl(v[1], 13); v[1] ^= v[0]; v[0] = ref_rotl(v[0], 32);
  v[2] += v[3]; v[3] = ref_rotl(v[3], 16); v[3] ^= v[2];
  v[0] += v[3]; v[3] = ref_rotl(v[3], 21); v[3] ^= v[0];
  v[2] += v[1]; v[1] = ref_rotl(v[1], 17); v[1] ^= v[2]; v[2] = ref_rotl(v[2], 32);
}

static uint64_t ref_siphash13(const uint8_t key[16], const uint8_t *m, size_t n) {
  uint64_t k0 = 0, k1 = 0;
  for (int i = 7; i >= 0; i--) {
    k0 = k0 << 8 | key[i];
    k1 = k1 << 8 | key[8 + i];
  }
  uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                   k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = 0;
    for (int j = 7; j >= 0; j--) w = w << 8 | m[i + (size_t)j];
    v[3] ^= w;
    ref_round(v);
    v[0] ^= w;
  }
  uint64_t last = (uint64_t)(n & 0xff) << 56;
  for (size_t j = 0; i + j < n; j++) last |= (uint64_t)m[i + j] << (8 * j);
  v[3] ^= last;
  ref_round(v);
  v[0] ^= last;
  v[2] ^= 0xff;
  for (int r = 0; r < 3; r++) ref_round(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ------------------------------------------------------------------------
 * "Nothing changed": the statistics and every KPI of every scope.
 */
typedef struct state {
  int64_t acc, rej, cust, mem;
  t_snap snap;
} state;

static int64_t stat(cxm_ctx *ctx, int s) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, s, &v), CXM_OK);
  return v;
}

static void state_take(cxm_ctx *ctx, state *s) {
  s->acc = stat(ctx, CXM_STAT_EVENTS_ACCEPTED);
  s->rej = stat(ctx, CXM_STAT_EVENTS_REJECTED);
  s->cust = stat(ctx, CXM_STAT_CUSTOMERS);
  s->mem = stat(ctx, CXM_STAT_MEMORY_BYTES);
  t_snap_take(ctx, &s->snap);
}

/* After one rejected call: same counts and KPIs; `rejected` more events
 * counted as rejected (0 for calls that are not events). */
static void state_same(cxm_ctx *ctx, state *before, int64_t rejected,
                       const char *what) {
  state now;
  state_take(ctx, &now);
  ck_assert_msg(now.acc == before->acc, "%s: accepted %lld -> %lld", what,
                (long long)before->acc, (long long)now.acc);
  ck_assert_msg(now.rej == before->rej + rejected, "%s: rejected %lld -> %lld",
                what, (long long)before->rej, (long long)now.rej);
  ck_assert_msg(now.cust == before->cust, "%s: customers %lld -> %lld", what,
                (long long)before->cust, (long long)now.cust);
  ck_assert_msg(now.mem == before->mem, "%s: memory %lld -> %lld", what,
                (long long)before->mem, (long long)now.mem);
  t_snap_assert_eq(&before->snap, &now.snap, what);
  t_snap_free(&now.snap);
  t_snap_free(&before->snap);
}

/* A handle holding a little of everything, so that "unchanged" means
 * something. */
static cxm_ctx *populated(int32_t *web) {
  cxm_ctx *ctx = t_new();
  *web = t_chan(ctx, "web");
  int32_t gold = t_seg(ctx, "gold");
  t_assign(ctx, "ann", t_set(ctx, 1, &gold));
  T_ADD1(ctx, T0, CXM_EV_PURCHASE, "ann", *web, 12.5);
  T_ADD1(ctx, T0 + HOUR, CXM_EV_NPS, "bob", *web, 9);
  T_ADD(ctx, T0 + 2 * HOUR, CXM_EV_SESSION, "bob", CXM_NO_CHANNEL, 3, 20);
  T_ADD1(ctx, T0 + 3 * HOUR, CXM_EV_SPEND, NULL, *web, 40);
  return ctx;
}

/* One event call that must be rejected with `want`, changing nothing, and
 * leave a message naming `word`. */
#define REJECT_EV(ctx, want, word, t, type, id, idlen, ch, v, v2)              \
  do {                                                                         \
    state st_;                                                                 \
    state_take((ctx), &st_);                                                   \
    int rc_ = cxm_event_add((ctx), (t), (type), (id), (idlen), (ch), (v), (v2)); \
    ck_assert_msg(rc_ == (want), "line %d: got %d (%s), want %d", __LINE__,    \
                  rc_, cxm_ctx_errmsg(ctx), (want));                           \
    ck_assert_msg(strstr(cxm_ctx_errmsg(ctx), (word)) != NULL,                 \
                  "line %d: message \"%s\" lacks \"%s\"", __LINE__,            \
                  cxm_ctx_errmsg(ctx), (word));                                \
    state_same((ctx), &st_, 1, "rejected event");                              \
  } while (0)

/* ------------------------------------------------------------------------
 * Customer ids through the API.
 */
START_TEST(ids_any_length_hashed) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  /* No length limit: 1 MB and 8 MiB ids are hashed whole. */
  size_t sizes[] = {1000000, (size_t)8 << 20};
  for (size_t k = 0; k < 2; k++) {
    size_t n = sizes[k];
    uint8_t *id = malloc(n);
    ck_assert_ptr_nonnull(id);
    for (size_t i = 0; i < n; i++) id[i] = (uint8_t)(i * 131u + k);
    uint64_t h = 0;
    ck_assert_int_eq(cxm_customer_hash(ctx, id, n, &h), CXM_OK);
    ck_assert_uint_eq(h, ref_siphash13(T_KEY, id, n));
    int64_t c0 = stat(ctx, CXM_STAT_CUSTOMERS);
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_TOUCH, id, n, web,
                                   NAN, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), c0 + 1);
    /* The same id again is the same customer; one byte off at either end,
     * or one byte shorter, is another. */
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_TOUCH, id, n, web,
                                   NAN, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), c0 + 1);
    id[n - 1] ^= 1;
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_TOUCH, id, n, web,
                                   NAN, NAN), CXM_OK);
    id[n - 1] ^= 1;
    id[0] ^= 1;
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_TOUCH, id, n, web,
                                   NAN, NAN), CXM_OK);
    id[0] ^= 1;
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_TOUCH, id, n - 1, web,
                                   NAN, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), c0 + 4);
    free(id);
  }
  /* The stored state does not grow with the id's length. */
  int64_t mem = stat(ctx, CXM_STAT_MEMORY_BYTES);
  ck_assert_int_lt(mem, 8 << 20);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* The batch hashes ids several at a time in vector lanes (lib/siphash.c:
 * groups of four ids of one word count, mixed groups, the scalar rest).
 * Each stored hash, read back through the promoter list in insertion order,
 * must be the reference SipHash-1-3 of its id: ids of 1..80 bytes, in runs
 * of one length (lanes in lockstep), of mixed lengths (blended lanes), of
 * lengths of one word count (17..23: lockstep, differing tails), each id
 * ending where the next begins (no byte of a neighbour may leak in) and the
 * last one at the end of its buffer. */
START_TEST(ids_batch_lanes_hashed) {
  enum { NB = 1000 };
  cxm_ctx *ctx = t_new();
  int64_t times[NB], offs[NB + 1];
  int32_t types[NB], chans[NB], sets[NB];
  double v1[NB], v2[NB];
  size_t total = 0, lens[NB];
  uint32_t x = 12345;
  for (size_t i = 0; i < NB; i++) {
    x = x * 1103515245u + 12345u;
    size_t part = i / 250, r = (x >> 16) % 80;
    lens[i] = part == 0 ? 1 + (i / 8) % 40   /* runs of eight of one length */
              : part == 1 ? 2 + r % 79       /* any length (one-byte ids only
                                                in the first part: unique) */
              : part == 2 ? 17 + r % 7       /* two words and a tail */
                          : 24 + 8 * (r % 6); /* whole words only */
    total += lens[i];
  }
  uint8_t *data = malloc(total);
  ck_assert_ptr_nonnull(data);
  size_t off = 0;
  for (size_t i = 0; i < NB; i++) {
    offs[i] = (int64_t)off;
    /* distinct ids: the index in the first two bytes, the rest random */
    for (size_t k = 0; k < lens[i]; k++) {
      x = x * 1103515245u + 12345u;
      data[off + k] = (uint8_t)(k == 0 ? i : k == 1 ? i >> 8 : x >> 24);
    }
    off += lens[i];
    times[i] = T0 + (int64_t)i;
    types[i] = CXM_EV_NPS;
    chans[i] = CXM_NO_CHANNEL;
    v1[i] = 10;
    v2[i] = NAN;
    sets[i] = -1;
  }
  offs[NB] = (int64_t)off;
  size_t acc = 0;
  ck_assert_int_eq(cxm_events_add(ctx, NB, times, types, data, offs, chans, v1, v2,
                                  sets, &acc, NULL), CXM_OK);
  ck_assert_uint_eq(acc, NB);
  ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), NB);
  uint64_t hs[NB];
  size_t cnt = 0;
  uint64_t next = 1;
  ck_assert_int_eq(cxm_customers_by_nps(ctx, CXM_ALL, CXM_NPS_PROMOTER, 0, hs, NB,
                                        &cnt, &next), CXM_OK);
  ck_assert_uint_eq(cnt, NB);
  ck_assert_uint_eq(next, 0);
  for (size_t i = 0; i < NB; i++)
    ck_assert_msg(hs[i] == ref_siphash13(T_KEY, data + offs[i], lens[i]),
                  "id %zu (%zu bytes): batch hash differs from SipHash-1-3", i, lens[i]);
  free(data);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(ids_empty_missing) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  for (int32_t type = CXM_EV_TOUCH; type <= CXM_EV_CHURN; type++) {
    if (type == CXM_EV_SPEND) continue;
    double v = type == CXM_EV_NPS ? 9 : type == CXM_EV_CSAT || type == CXM_EV_CES ? 3 : 5;
    REJECT_EV(ctx, CXM_E_MISSING, "customer", T0 + DAY, type, "x", 0, web, v, NAN);
    REJECT_EV(ctx, CXM_E_MISSING, "customer", T0 + DAY, type, NULL, 0, web, v, NAN);
  }
  /* spend has no customer: an empty id is fine. */
  ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_SPEND, NULL, 0, web, 1, NAN),
                   CXM_OK);
  state st;
  uint64_t h = 7;
  state_take(ctx, &st);
  ck_assert_int_eq(cxm_customer_set_segments(ctx, "x", 0, 0), CXM_E_MISSING);
  ck_assert_int_eq(cxm_customer_hash(ctx, "x", 0, &h), CXM_E_MISSING);
  ck_assert_uint_eq(h, 7);
  state_same(ctx, &st, 0, "empty id (segments, hash)");

  /* In a batch: the empty id is rejected, its neighbours accepted. */
  int64_t times[3] = {T0 + DAY, T0 + DAY, T0 + DAY};
  int32_t types[3] = {CXM_EV_TOUCH, CXM_EV_TOUCH, CXM_EV_TOUCH};
  const uint8_t data[] = "pq";
  int64_t offs[4] = {0, 1, 1, 2};
  int32_t sts[3] = {-1, -1, -1};
  size_t acc = 0;
  int64_t a0 = stat(ctx, CXM_STAT_EVENTS_ACCEPTED);
  ck_assert_int_eq(cxm_events_add(ctx, 3, times, types, data, offs, NULL, NULL,
                                  NULL, NULL, &acc, sts), CXM_E_MISSING);
  ck_assert_uint_eq(acc, 2);
  ck_assert_int_eq(sts[0], CXM_OK);
  ck_assert_int_eq(sts[1], CXM_E_MISSING);
  ck_assert_int_eq(sts[2], CXM_OK);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "event 1"));
  ck_assert_int_eq(stat(ctx, CXM_STAT_EVENTS_ACCEPTED), a0 + 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(ids_with_nul_bytes) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  /* Byte strings: an embedded or trailing NUL makes another id. */
  static const struct { const char *p; size_t n; } ids[] = {
      {"ab", 2}, {"a\0b", 3}, {"a", 1}, {"a\0", 2}, {"\0", 1}, {"\0\0", 2},
      {"a\0b\0", 4}};
  enum { NID = sizeof ids / sizeof ids[0] };
  uint64_t hs[NID];
  int64_t c0 = stat(ctx, CXM_STAT_CUSTOMERS);
  for (int i = 0; i < NID; i++) {
    ck_assert_int_eq(cxm_customer_hash(ctx, ids[i].p, ids[i].n, &hs[i]), CXM_OK);
    ck_assert_uint_eq(hs[i], ref_siphash13(T_KEY, (const uint8_t *)ids[i].p, ids[i].n));
    for (int j = 0; j < i; j++) ck_assert_uint_ne(hs[i], hs[j]);
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_PURCHASE, ids[i].p,
                                   ids[i].n, web, 1 + i, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), c0 + i + 1);
  }
  /* Again: the same customers (repeat buyers now). */
  for (int i = 0; i < NID; i++)
    ck_assert_int_eq(cxm_event_add(ctx, T0 + DAY, CXM_EV_PURCHASE, ids[i].p,
                                   ids[i].n, web, 1, NAN), CXM_OK);
  ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), c0 + NID);
  /* ann (1 order) + NID customers with 2 orders each. */
  T_KPI(ctx, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 1 + NID, -1);
  T_KPI(ctx, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL,
        (double)NID / (1 + NID), 1 + NID);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * Labels, times, numbers through the API.
 */
START_TEST(labels_past_limit) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  char big[CXM_LABEL_MAX + 2];
  memset(big, 'L', sizeof big);
  size_t huge_n = 1000000;
  char *huge = malloc(huge_n);
  ck_assert_ptr_nonnull(huge);
  memset(huge, 'H', huge_n);
  int32_t nch0, nseg0, id = -7;
  ck_assert_int_eq(cxm_channel_count(ctx, &nch0), CXM_OK);
  ck_assert_int_eq(cxm_segment_count(ctx, &nseg0), CXM_OK);
  struct { const char *p; size_t n; int want; } cases[] = {
      {big, CXM_LABEL_MAX + 1, CXM_E_LIMIT},
      {big, CXM_LABEL_MAX + 2, CXM_E_LIMIT},
      {huge, huge_n, CXM_E_LIMIT},
      {big, 0, CXM_E_ARG}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    state st;
    state_take(ctx, &st);
    ck_assert_int_eq(cxm_channel_intern(ctx, cases[k].p, cases[k].n, &id),
                     cases[k].want);
    ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "label"));
    ck_assert_int_eq(cxm_segment_intern(ctx, cases[k].p, cases[k].n, &id),
                     cases[k].want);
    ck_assert_int_eq(id, -7);
    /* Finding one: not found (an empty label is an invalid argument). */
    int want_find = cases[k].n ? CXM_E_NOTFOUND : CXM_E_ARG;
    ck_assert_int_eq(cxm_channel_find(ctx, cases[k].p, cases[k].n, &id), want_find);
    ck_assert_int_eq(cxm_segment_find(ctx, cases[k].p, cases[k].n, &id), want_find);
    state_same(ctx, &st, 0, "label past the limit");
  }
  int32_t n1, n2;
  ck_assert_int_eq(cxm_channel_count(ctx, &n1), CXM_OK);
  ck_assert_int_eq(cxm_segment_count(ctx, &n2), CXM_OK);
  ck_assert_int_eq(n1, nch0);
  ck_assert_int_eq(n2, nseg0);
  /* Exactly CXM_LABEL_MAX bytes is a label. */
  ck_assert_int_eq(cxm_channel_intern(ctx, big, CXM_LABEL_MAX, &id), CXM_OK);
  ck_assert_int_eq(id, nch0);
  const char *lab;
  size_t ln;
  ck_assert_int_eq(cxm_channel_label(ctx, id, &lab, &ln), CXM_OK);
  ck_assert_uint_eq(ln, CXM_LABEL_MAX);
  ck_assert_int_eq(memcmp(lab, big, ln), 0);
  free(huge);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(times_outside_range) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  const int64_t bad[] = {-1, -86400, INT64_MIN, CXM_TIME_LAST + 1,
                         INT64_C(4291747200) + 86400 * 365, INT64_MAX};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    REJECT_EV(ctx, CXM_E_RANGE, "1970-01-01..2105-12-31", bad[k],
              CXM_EV_TOUCH, "ann", 3, web, NAN, NAN);
    REJECT_EV(ctx, CXM_E_RANGE, "time", bad[k], CXM_EV_SPEND, NULL, 0, web, 5, NAN);
  }
  /* The edges and 2100 are inside (days computed by hand: 2100-01-01 is
   * 47482 days after 1970-01-01). */
  cxm_ctx *fresh = t_new();
  ck_assert_int_eq(t_ev(fresh, 0, CXM_EV_TOUCH, "e0", CXM_NO_CHANNEL, NAN, NAN), CXM_OK);
  ck_assert_int_eq(t_ev(fresh, INT64_C(47482) * 86400, CXM_EV_TOUCH, "e1",
                        CXM_NO_CHANNEL, NAN, NAN), CXM_OK);
  ck_assert_int_eq(t_ev(fresh, CXM_TIME_LAST, CXM_EV_TOUCH, "e2",
                        CXM_NO_CHANNEL, NAN, NAN), CXM_OK);
  ck_assert_int_eq(stat(fresh, CXM_STAT_FIRST_TIME), 0);
  ck_assert_int_eq(stat(fresh, CXM_STAT_LAST_TIME), CXM_TIME_LAST);
  /* Each in its own day (the window [d, d + 1 day)). */
  T_KPI_W(fresh, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, INT64_C(47482) * 86400,
          INT64_C(47483) * 86400, 1, -1);
  T_KPI_W(fresh, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, 0, 86400, 1, -1);
  T_KPI(fresh, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, 3, -1);
  cxm_ctx_destroy(fresh);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(amounts_nan_inf) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  const int32_t money[] = {CXM_EV_PURCHASE, CXM_EV_REFUND, CXM_EV_SPEND};
  for (int k = 0; k < 3; k++) {
    const char *id = money[k] == CXM_EV_SPEND ? NULL : "ann";
    size_t idn = id ? 3 : 0;
    REJECT_EV(ctx, CXM_E_MISSING, "amount", T0 + DAY, money[k], id, idn, web, NAN, NAN);
    REJECT_EV(ctx, CXM_E_RANGE, "finite", T0 + DAY, money[k], id, idn, web, INFINITY, NAN);
    REJECT_EV(ctx, CXM_E_RANGE, "finite", T0 + DAY, money[k], id, idn, web, -INFINITY, NAN);
    REJECT_EV(ctx, CXM_E_RANGE, ">= 0", T0 + DAY, money[k], id, idn, web, -0.01, NAN);
    REJECT_EV(ctx, CXM_E_RANGE, "9e15", T0 + DAY, money[k], id, idn, web, DBL_MAX, NAN);
    /* 9e15 minor units is 9e13 at 2 decimals: the first amount out. */
    REJECT_EV(ctx, CXM_E_RANGE, "9e15", T0 + DAY, money[k], id, idn, web, 9e13, NAN);
  }
  /* Amounts just below the limit are exact. */
  ck_assert_int_eq(t_ev(ctx, T0 + DAY, CXM_EV_PURCHASE, "big", web, 89999999999999.0, NAN),
                   CXM_OK);
  int64_t v = 0, n = 0;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, ALLW, &v, &n),
                   CXM_OK);
  ck_assert_int_eq(v, INT64_C(8999999999999900) + 1250);
  ck_assert_int_eq(n, 2);
  /* Session numbers: NaN is "absent", infinities and negatives are out. */
  REJECT_EV(ctx, CXM_E_RANGE, "pageviews", T0 + DAY, CXM_EV_SESSION, "ann", 3, web, INFINITY, NAN);
  REJECT_EV(ctx, CXM_E_RANGE, "pageviews", T0 + DAY, CXM_EV_SESSION, "ann", 3, web, -1, NAN);
  REJECT_EV(ctx, CXM_E_RANGE, "duration", T0 + DAY, CXM_EV_SESSION, "ann", 3, web, 1, INFINITY);
  REJECT_EV(ctx, CXM_E_RANGE, "duration", T0 + DAY, CXM_EV_SESSION, "ann", 3, web, 1, -INFINITY);
  ck_assert_int_eq(t_ev(ctx, T0 + DAY, CXM_EV_SESSION, "ann", web, NAN, NAN), CXM_OK);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(scores_off_scale) {
  int32_t web;
  cxm_ctx *ctx = populated(&web);
  struct { int32_t type; const char *name; double lo, hi; } sc[] = {
      {CXM_EV_NPS, "nps", 0, 10}, {CXM_EV_CSAT, "csat", 1, 5}, {CXM_EV_CES, "ces", 1, 7}};
  for (int k = 0; k < 3; k++) {
    double bad[] = {sc[k].lo - 1, sc[k].hi + 1, sc[k].lo + 0.5, sc[k].hi - 1e-9,
                    INFINITY, -INFINITY, 1e300, -1e300};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
      REJECT_EV(ctx, CXM_E_RANGE, sc[k].name, T0 + DAY, sc[k].type, "ann", 3, web, bad[b], NAN);
    REJECT_EV(ctx, CXM_E_MISSING, sc[k].name, T0 + DAY, sc[k].type, "ann", 3, web, NAN, NAN);
    /* Every integer on the scale is accepted. */
    int64_t a0 = stat(ctx, CXM_STAT_EVENTS_ACCEPTED);
    for (double s = sc[k].lo; s <= sc[k].hi; s++)
      ck_assert_int_eq(t_ev(ctx, T0 + DAY, sc[k].type, "ann", web, s, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_EVENTS_ACCEPTED),
                     a0 + (int64_t)(sc[k].hi - sc[k].lo + 1));
  }
  /* NPS: bob's 9 plus ann's 0..10 = promoters 9,9,10, detractors 0..6. */
  T_KPI(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 100.0 * (3 - 7) / 12, 12);
  cxm_ctx_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------------------
 * The same through the CSV reader.
 */
typedef struct rej {
  uint64_t line;
  int status;
} rej;

typedef struct sink {
  rej r[64];
  size_t n;
  char last[512];
} sink;

static void on_err(void *user, uint64_t line, int status, const char *msg) {
  sink *s = user;
  if (s->n < 64) s->r[s->n] = (rej){line, status};
  s->n++;
  snprintf(s->last, sizeof s->last, "%s", msg);
}

/* Feeds `len` bytes in pieces of `chunk` (0 = one feed), then finishes. */
static int feed_all(cxm_csv *r, const char *p, size_t len, size_t chunk) {
  int rc = CXM_OK;
  if (chunk == 0) chunk = len ? len : 1;
  for (size_t o = 0; o < len; o += chunk) {
    size_t k = len - o < chunk ? len - o : chunk;
    int f = cxm_csv_feed(r, p + o, k);
    if (rc == CXM_OK) rc = f;
  }
  int f = cxm_csv_finish(r);
  return rc == CXM_OK ? f : rc;
}

typedef struct run {
  int rc;
  uint64_t lines, acc, rej;
  int64_t customers, events;
  sink s;
} run;

static void csv_run(cxm_ctx *ctx, const char *p, size_t len, size_t chunk, run *out) {
  cxm_csv *r = NULL;
  memset(out, 0, sizeof *out);
  ck_assert_int_eq(cxm_csv_create(ctx, &r), CXM_OK);
  ck_assert_int_eq(cxm_csv_set_error_handler(r, on_err, &out->s), CXM_OK);
  out->rc = feed_all(r, p, len, chunk);
  ck_assert_int_eq(cxm_csv_stats(r, &out->lines, &out->acc, &out->rej), CXM_OK);
  out->customers = stat(ctx, CXM_STAT_CUSTOMERS);
  out->events = stat(ctx, CXM_STAT_EVENTS_ACCEPTED);
  cxm_csv_destroy(r);
}

/* A growable byte string. */
typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void b_put(buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
    ck_assert_ptr_nonnull(b->p);
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}
static void b_str(buf *b, const char *s) { b_put(b, s, strlen(s)); }
static void b_rep(buf *b, char c, size_t n) {
  for (size_t i = 0; i < n; i++) b_put(b, &c, 1);
}

START_TEST(csv_ids_and_record_cap) {
  /* line 2: a 1,000,000-byte id, accepted; line 3: a record of exactly
   * REC_MAX bytes, accepted; line 4: REC_MAX + 1 bytes, CXM_E_LIMIT;
   * line 5: accepted; line 6: a 3 MB record; line 7: a bad type. */
  const char *pre = "1767225600,touch,";
  size_t pl = strlen(pre);
  buf b = {0};
  b_str(&b, "time,type,customer\n");
  b_str(&b, pre); b_rep(&b, 'a', 1000000); b_str(&b, "\n");
  b_str(&b, pre); b_rep(&b, 'b', REC_MAX - pl); b_str(&b, "\n");
  b_str(&b, pre); b_rep(&b, 'c', REC_MAX - pl + 1); b_str(&b, "\n");
  b_str(&b, pre); b_str(&b, "dd\n");
  b_str(&b, pre); b_rep(&b, 'e', 3000000); b_str(&b, "\n");
  b_str(&b, "1767225600,nosuchtype,f\n");
  size_t chunks[] = {0, 1 << 16, 4093, (size_t)1 << 20, REC_MAX + 1};
  for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
    cxm_ctx *ctx = t_new();
    run u;
    csv_run(ctx, b.p, b.n, chunks[k], &u);
    ck_assert_int_eq(u.rc, CXM_OK);
    ck_assert_uint_eq(u.lines, 6);
    ck_assert_uint_eq(u.acc, 3);
    ck_assert_uint_eq(u.rej, 3);
    ck_assert_uint_eq(u.s.n, 3);
    ck_assert_uint_eq(u.s.r[0].line, 4);
    ck_assert_int_eq(u.s.r[0].status, CXM_E_LIMIT);
    ck_assert_uint_eq(u.s.r[1].line, 6);
    ck_assert_int_eq(u.s.r[1].status, CXM_E_LIMIT);
    ck_assert_uint_eq(u.s.r[2].line, 7);
    ck_assert_int_eq(u.s.r[2].status, CXM_E_TYPE);
    ck_assert_int_eq(u.customers, 3);
    /* The 1 MB id read from CSV is the same customer as through the API. */
    char *id = malloc(1000000);
    memset(id, 'a', 1000000);
    ck_assert_int_eq(cxm_event_add(ctx, T0, CXM_EV_TOUCH, id, 1000000,
                                   CXM_NO_CHANNEL, NAN, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), 3);
    free(id);
    cxm_ctx_destroy(ctx);
  }
  free(b.p);
}
END_TEST

START_TEST(csv_unterminated_quote) {
  /* An unterminated quote on line 3, then 40,000 good lines of 28 bytes:
   * the record is dropped up to the first line end past REC_MAX bytes from
   * its start, and every later line counts. */
  buf b = {0};
  b_str(&b, "time,type,customer\n");
  b_str(&b, "1767225600,touch,first\n");
  size_t rec_start = b.n;
  b_str(&b, "1767225600,touch,\"never closed\n");
  char line[64];
  for (int i = 0; i < 40000; i++) {
    snprintf(line, sizeof line, "1767225600,touch,c%09d\n", i);
    b_str(&b, line);
  }
  b_str(&b, "1767225600,nosuchtype,x\n");
  b_str(&b, "1767225600,touch,last\n");
  /* Expected, from the bytes: the first '\n' at or after rec_start +
   * REC_MAX + 1 ends the dropped record. */
  size_t cut = rec_start + REC_MAX + 1;
  while (b.p[cut] != '\n') cut++;
  uint64_t lines_after = 0, phys_before = 0;
  for (size_t i = cut + 1; i < b.n; i++) lines_after += b.p[i] == '\n';
  for (size_t i = 0; i <= cut; i++) phys_before += b.p[i] == '\n';
  /* lines_after records follow, one of them the bad type (second to last). */
  size_t chunks[] = {0, 1000, 65536, REC_MAX, 7};
  for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
    cxm_ctx *ctx = t_new();
    run u;
    csv_run(ctx, b.p, b.n, chunks[k], &u);
    ck_assert_int_eq(u.rc, CXM_OK);
    ck_assert_uint_eq(u.lines, 1 + 1 + lines_after);
    ck_assert_uint_eq(u.acc, 1 + lines_after - 1);
    ck_assert_uint_eq(u.rej, 2);
    ck_assert_uint_eq(u.s.n, 2);
    ck_assert_uint_eq(u.s.r[0].line, 3);
    ck_assert_int_eq(u.s.r[0].status, CXM_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(u.s.last, "line"));
    /* The bad type's physical line: after the cut, one more than the
     * newlines before it. */
    ck_assert_uint_eq(u.s.r[1].line, phys_before + lines_after - 1);
    ck_assert_int_eq(u.s.r[1].status, CXM_E_TYPE);
    ck_assert_int_eq(u.events, (int64_t)u.acc);
    cxm_ctx_destroy(ctx);
  }
  /* Short of the cap, an unterminated quote runs to the end of input and is
   * rejected there (CXM_E_PARSE); past it with no line end, CXM_E_LIMIT. */
  const char small[] = "time,type,customer\n1767225600,touch,a\n1767225600,touch,\"b\nc\n";
  cxm_ctx *ctx = t_new();
  run u;
  csv_run(ctx, small, sizeof small - 1, 0, &u);
  ck_assert_uint_eq(u.acc, 1);
  ck_assert_uint_eq(u.rej, 1);
  ck_assert_int_eq(u.s.r[0].status, CXM_E_PARSE);
  ck_assert_uint_eq(u.s.r[0].line, 3);
  cxm_ctx_destroy(ctx);
  buf big = {0};
  b_str(&big, "time,type,customer\n1767225600,touch,a\n1767225600,touch,\"");
  b_rep(&big, 'q', REC_MAX + 10);
  for (int c = 0; c < 2; c++) {
    ctx = t_new();
    csv_run(ctx, big.p, big.n, c ? 4096 : 0, &u);
    ck_assert_uint_eq(u.lines, 2);
    ck_assert_uint_eq(u.acc, 1);
    ck_assert_uint_eq(u.rej, 1);
    ck_assert_int_eq(u.s.r[0].status, CXM_E_LIMIT);
    ck_assert_uint_eq(u.s.r[0].line, 3);
    cxm_ctx_destroy(ctx);
  }
  /* A header past the cap stops the stream with CXM_E_LIMIT. */
  buf hb = {0};
  b_str(&hb, "time,type,");
  b_rep(&hb, 'h', REC_MAX);
  b_str(&hb, "\n1767225600,touch,a\n");
  ctx = t_new();
  csv_run(ctx, hb.p, hb.n, 0, &u);
  ck_assert_int_eq(u.rc, CXM_E_LIMIT);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "header"));
  ck_assert_uint_eq(u.acc, 0);
  cxm_ctx_destroy(ctx);
  free(hb.p);
  free(big.p);
  free(b.p);
}
END_TEST

START_TEST(csv_lone_cr) {
  /* CR-only line ends: the header holds a lone CR, the stream fails loudly. */
  const char mac[] = "time,type,customer\r1767225600,touch,a\r1767225600,touch,b\r";
  cxm_ctx *ctx = t_new();
  run u;
  csv_run(ctx, mac, sizeof mac - 1, 0, &u);
  ck_assert_int_eq(u.rc, CXM_E_PARSE);
  ck_assert_ptr_nonnull(strstr(cxm_ctx_errmsg(ctx), "CR"));
  ck_assert_int_eq(u.events, 0);
  cxm_ctx_destroy(ctx);
  /* In data, a lone CR is an ordinary byte: part of an id (quoted or not),
   * a parse error in a time or number; CRLF still ends lines. */
  const char data[] =
      "time,type,customer,value\r\n"
      "1767225600,purchase,a\rb,5\r\n"     /* id "a\rb" */
      "1767225600,purchase,\"a\rb\",5\n"   /* the same id */
      "1767225600,purchase,ab,5\n"         /* another */
      "1767225600\r,purchase,ab,5\n"       /* bad time */
      "1767225600,purchase,ab,5\r5\n";     /* bad number */
  ctx = t_new();
  csv_run(ctx, data, sizeof data - 1, 0, &u);
  ck_assert_int_eq(u.rc, CXM_OK);
  ck_assert_uint_eq(u.acc, 3);
  ck_assert_uint_eq(u.rej, 2);
  ck_assert_int_eq(u.s.r[0].status, CXM_E_PARSE);
  ck_assert_uint_eq(u.s.r[0].line, 5);
  ck_assert_int_eq(u.s.r[1].status, CXM_E_PARSE);
  ck_assert_uint_eq(u.s.r[1].line, 6);
  ck_assert_int_eq(u.customers, 2);
  ck_assert_int_eq(t_ev(ctx, T0, CXM_EV_TOUCH, "a\rb", CXM_NO_CHANNEL, NAN, NAN), CXM_OK);
  ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), 2);
  cxm_ctx_destroy(ctx);
}
END_TEST

START_TEST(csv_hostile_fields) {
  /* One line per case; good lines between them must all count. */
  char longlab[CXM_LABEL_MAX + 2];
  memset(longlab, 'w', sizeof longlab - 1);
  longlab[sizeof longlab - 1] = 0;
  buf b = {0};
  b_str(&b, "time,type,customer,channel,value,segments\n");
  struct { const char *line; int status; } cases[] = {
      {"1767225600,touch,,web,,", CXM_E_MISSING},          /* empty id */
      {"1767225600,touch,\"\",web,,", CXM_E_MISSING},      /* empty quoted id */
      {"1969-12-31T23:59:59Z,touch,a,web,,", CXM_E_RANGE},
      {"-1,touch,a,web,,", CXM_E_RANGE},
      {"2106-01-01,touch,a,web,,", CXM_E_RANGE},
      {"9999-12-31T23:59:59Z,touch,a,web,,", CXM_E_RANGE},
      {"4291747200,touch,a,web,,", CXM_E_RANGE},
      {"99999999999999999999,touch,a,web,,", CXM_E_PARSE}, /* 20 digits */
      {"1767225600,purchase,a,web,nan,", CXM_E_PARSE},
      {"1767225600,purchase,a,web,inf,", CXM_E_PARSE},
      {"1767225600,purchase,a,web,-inf,", CXM_E_PARSE},
      {"1767225600,purchase,a,web,1e999,", CXM_E_PARSE},   /* overflows */
      {"1767225600,purchase,a,web,,", CXM_E_MISSING},
      {"1767225600,purchase,a,web,-5,", CXM_E_RANGE},
      {"1767225600,purchase,a,web,1e14,", CXM_E_RANGE},
      {"1767225600,nps,a,web,11,", CXM_E_RANGE},
      {"1767225600,nps,a,web,-1,", CXM_E_RANGE},
      {"1767225600,nps,a,web,7.5,", CXM_E_RANGE},
      {"1767225600,csat,a,web,0,", CXM_E_RANGE},
      {"1767225600,ces,a,web,8,", CXM_E_RANGE},
      {"1767225600,nps,a,web,,", CXM_E_MISSING},
      {"1767225600,touch,a,LONGLABEL,,", CXM_E_LIMIT},
      {"1767225600,touch,a,web,,gold;LONGLABEL", CXM_E_LIMIT},
  };
  enum { NC = sizeof cases / sizeof cases[0] };
  for (int i = 0; i < NC; i++) {
    char line[256];
    const char *l = cases[i].line;
    const char *m = strstr(l, "LONGLABEL");
    if (m)
      snprintf(line, sizeof line, "%.*s%s%s\n", (int)(m - l), l, longlab, m + 9);
    else
      snprintf(line, sizeof line, "%s\n", l);
    b_str(&b, line);
    snprintf(line, sizeof line, "2100-01-01,purchase,ok%d,web,2.5,gold\n", i);
    b_str(&b, line);
  }
  /* Embedded NUL bytes: in an unquoted and a quoted id, the same customer
   * "x\0y", distinct from "xy". */
  b_put(&b, "1767225600,touch,x\0y,web,,\n", 27);
  b_put(&b, "1767225600,touch,\"x\0y\",web,,\n", 29);
  b_str(&b, "1767225600,touch,xy,web,,\n");
  for (size_t chunk = 0; chunk < 4; chunk += 3) {
    cxm_ctx *ctx = t_new();
    run u;
    csv_run(ctx, b.p, b.n, chunk, &u);
    ck_assert_int_eq(u.rc, CXM_OK);
    ck_assert_uint_eq(u.lines, 2 * NC + 3);
    ck_assert_uint_eq(u.acc, NC + 3);
    ck_assert_uint_eq(u.rej, NC);
    ck_assert_uint_eq(u.s.n, NC);
    for (int i = 0; i < NC; i++) {
      ck_assert_msg(u.s.r[i].status == cases[i].status && u.s.r[i].line == 2 + 2 * (uint64_t)i,
                    "case %d (%s): line %llu status %d, want line %d status %d", i,
                    cases[i].line, (unsigned long long)u.s.r[i].line, u.s.r[i].status,
                    2 + 2 * i, cases[i].status);
    }
    /* Nothing of the rejected lines, all of the good ones: NC buyers of 2.50
     * in segment gold, the customers "x\0y" and "xy". */
    ck_assert_int_eq(u.customers, NC + 2);
    T_KPI_INT(ctx, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 250 * NC, NC);
    int32_t gold = -1;
    ck_assert_int_eq(cxm_segment_find(ctx, "gold", 4, &gold), CXM_OK);
    T_KPI(ctx, CXM_KPI_BUYERS, gold, CXM_ALL, NC, -1);
    T_KPI(ctx, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, 3, -1);
    ck_assert_int_eq(t_ev(ctx, T0, CXM_EV_TOUCH, "x\0y" /* 3 bytes */, CXM_NO_CHANNEL,
                          NAN, NAN), CXM_OK); /* strlen: "x", a new one */
    ck_assert_int_eq(cxm_event_add(ctx, T0, CXM_EV_TOUCH, "x\0y", 3, CXM_NO_CHANNEL,
                                   NAN, NAN), CXM_OK);
    ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), NC + 3);
    /* No channel was created by the long label. */
    int32_t nch = -1;
    ck_assert_int_eq(cxm_channel_count(ctx, &nch), CXM_OK);
    ck_assert_int_eq(nch, 1);
    cxm_ctx_destroy(ctx);
  }
  free(b.p);
}
END_TEST

static Suite *hostile_suite(void) {
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("api");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, ids_any_length_hashed);
  tcase_add_test(tc, ids_batch_lanes_hashed);
  tcase_add_test(tc, ids_empty_missing);
  tcase_add_test(tc, ids_with_nul_bytes);
  tcase_add_test(tc, labels_past_limit);
  tcase_add_test(tc, times_outside_range);
  tcase_add_test(tc, amounts_nan_inf);
  tcase_add_test(tc, scores_off_scale);
  suite_add_tcase(s, tc);
  tc = tcase_create("csv");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, csv_ids_and_record_cap);
  tcase_add_test(tc, csv_unterminated_quote);
  tcase_add_test(tc, csv_lone_cr);
  tcase_add_test(tc, csv_hostile_fields);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(hostile_suite()); }
