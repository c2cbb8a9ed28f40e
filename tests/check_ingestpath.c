/*
 * check_ingestpath.c - the batch ingest's fast path against the plain one.
 *
 * cxm_events_add() takes shortcuts that a call with one event cannot: ids
 * hashed eight or four at a time, the record index guessed from the
 * prefetched index slot, the day number kept from the previous event, a
 * loop without NULL tests when every column is given, and then a fast path
 * for the usual events (known customer, set unchanged, cell staged). A batch
 * of one event takes none of them. These tests feed one random stream (late events,
 * rejected events, spend, segment changes, more staged cells than the stage
 * holds, a negative UTC offset) both ways and require the same statuses and
 * the same value of every KPI in every scope, plus counts known from how the
 * stream was made.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#define NCH 6
#define NSEG 5
#define NSET 12
/* The wide mode's: more sets and channels than the stages' memos cover
   (internal.h: sets < 64, columns < 16), more customer-level cells than
   their stage holds (2048). */
#define WCH 20
#define WSEG 7
#define WSET 99 /* the empty set and every set of 1..4 of WSEG segments */

/* The stream's and handles' shape: NCH/NSEG/NSET, or WCH/WSEG/WSET. */
static int nch = NCH, nseg = NSEG, nset = NSET;
/* Reads a KPI between the batches (each read flushes the stages). */
static int read_between;
#define NCUST 3000
#define NEV 60000
#define DAYS 45

typedef struct stream {
  int64_t times[NEV];
  int32_t types[NEV];
  int32_t channels[NEV];
  double values[NEV], values2[NEV];
  int32_t segsets[NEV];
  int64_t offs[NEV + 1];
  uint8_t data[NEV * 40];
  uint32_t cust[NEV]; /* the customer number of each id */
  int valid[NEV]; /* 1: made to be accepted, 0: to be rejected, 2: late or not */
} stream;

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)((rng_state >> 33) % n);
}

/* Ids of 4..39 bytes: customer c's number in 4 digits, then filler to a
   length of its own (so batches mix lengths). */
static size_t cust_id(uint32_t c, uint8_t *out) {
  size_t len = 4 + (c * 7919u) % 36;
  char head[8];
  snprintf(head, sizeof head, "%04u", (unsigned)c);
  memcpy(out, head, 4);
  for (size_t k = 4; k < len; k++) out[k] = (uint8_t)('a' + k % 26);
  return len;
}

/* Edge mode: what the batch's fast path must tell apart from its usual
   case: a segment set given again (the customer's own, or another), amounts
   of half a cent (rounding) and zero, customer events without an id. */
static int edge_mode;

static void make_stream(stream *s, uint64_t seed) {
  static int32_t cur_set[NCUST];
  memset(cur_set, 0, sizeof cur_set);
  rng_state = seed;
  size_t off = 0;
  for (int i = 0; i < NEV; i++) {
    int64_t base = T0 + (int64_t)i * (DAYS * DAY) / NEV;
    /* A tenth up to 6 days late (within the 7-day bound: accepted), one in
       200 more than 8 days late (rejected if the customer has a newer event). */
    int late = rnd(10) == 0, very_late = rnd(200) == 0;
    s->times[i] = late ? base - (int64_t)rnd(6 * DAY) : base;
    if (very_late) s->times[i] = base - 8 * DAY - (int64_t)rnd(DAY);
    s->types[i] = CXM_EV_TOUCH + (int32_t)rnd(14);
    s->channels[i] = rnd(8) == 0 ? CXM_NO_CHANNEL : (int32_t)rnd((uint32_t)nch);
    s->values[i] = NAN;
    s->values2[i] = NAN;
    s->valid[i] = very_late ? 2 : 1;
    switch (s->types[i]) {
      case CXM_EV_PURCHASE: case CXM_EV_REFUND: case CXM_EV_SPEND:
        s->values[i] = (double)rnd(20000) / 100.0;
        break;
      case CXM_EV_NPS: s->values[i] = rnd(11); break;
      case CXM_EV_CSAT: s->values[i] = 1 + rnd(5); break;
      case CXM_EV_CES: s->values[i] = 1 + rnd(7); break;
      case CXM_EV_SESSION:
        if (rnd(5)) s->values[i] = rnd(4);
        if (rnd(5)) s->values2[i] = rnd(30);
        break;
      default: break;
    }
    s->segsets[i] = rnd(20) == 0 ? (int32_t)rnd((uint32_t)nset) : -1;
    s->offs[i] = (int64_t)off;
    s->cust[i] = rnd(NCUST);
    if (edge_mode) {
      if (rnd(4) == 0) s->segsets[i] = cur_set[s->cust[i]];
      if (s->segsets[i] >= 0) cur_set[s->cust[i]] = s->segsets[i];
      if (s->types[i] == CXM_EV_PURCHASE || s->types[i] == CXM_EV_REFUND) {
        if (rnd(4) == 0) s->values[i] += 0.005;
        if (rnd(10) == 0) s->values[i] = 0;
      }
    }
    if (edge_mode && s->types[i] != CXM_EV_SPEND && rnd(100) == 0) {
      s->valid[i] = 0; /* no id: CXM_E_MISSING */
      continue;
    }
    if (s->types[i] != CXM_EV_SPEND) off += cust_id(s->cust[i], s->data + off);
    /* About one event in 50 is made invalid in one of several ways. */
    if (rnd(50) == 0) {
      s->valid[i] = 0;
      switch (rnd(5)) {
        case 0: {
          static const int32_t bad_types[] = {15, 16, 99, 0, -1, INT32_MIN, INT32_MAX};
          s->types[i] = bad_types[rnd(7)];
          break;
        }
        case 1: s->channels[i] = nch + 3; break;
        case 2: s->types[i] = CXM_EV_PURCHASE; s->values[i] = NAN; break;
        case 3: s->types[i] = CXM_EV_NPS; s->values[i] = 11; break;
        default: s->types[i] = CXM_EV_CES; s->values[i] = 2.5; break;
      }
      if (s->types[i] != CXM_EV_SPEND && s->offs[i] == (int64_t)off)
        off += cust_id(s->cust[i], s->data + off);
    }
  }
  s->offs[NEV] = (int64_t)off;
}

static cxm_ctx *fresh(int64_t modules) {
  cxm_ctx *ctx = t_new();
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, -5 * 3600), CXM_OK);
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES, modules), CXM_OK);
  char label[16];
  for (int c = 0; c < nch; c++) {
    snprintf(label, sizeof label, "ch%d", c);
    ck_assert_int_eq(t_chan(ctx, label), c);
  }
  int32_t seg[WSEG];
  for (int k = 0; k < nseg; k++) {
    snprintf(label, sizeof label, "seg%d", k);
    seg[k] = t_seg(ctx, label);
  }
  if (nseg == WSEG) {
    /* ids in order of size, then of the bits' value, the first nset */
    int32_t id = 1;
    for (int size = 1; size <= 4; size++)
      for (uint32_t m = 1; m < 1u << WSEG && id < nset; m++) {
        if (__builtin_popcount(m) != size) continue;
        int32_t segs[4];
        size_t n = 0;
        for (int k = 0; k < WSEG; k++)
          if (m & 1u << k) segs[n++] = seg[k];
        ck_assert_int_eq(t_set(ctx, n, segs), id++);
      }
    ck_assert_int_eq(id, nset);
    return ctx;
  }
  /* Sets 0..NSET-1: the empty set (id 0), five singles, six pairs. */
  static const int pair[6][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {0, 4}, {0, 2}};
  for (int k = 1; k < NSET; k++) {
    int32_t two[2];
    size_t n = k <= NSEG ? 1 : 2;
    two[0] = seg[k <= NSEG ? k - 1 : pair[k - NSEG - 1][0]];
    two[1] = k <= NSEG ? 0 : seg[pair[k - NSEG - 1][1]];
    ck_assert_int_eq(t_set(ctx, n, two), k);
  }
  return ctx;
}

/* Every KPI, scope and a few windows of a and b agree exactly. */
static void same_kpis(cxm_ctx *a, cxm_ctx *b) {
  int64_t win[][2] = {{CXM_TIME_MIN, CXM_TIME_MAX},
                      {T0 + 3 * DAY, T0 + 4 * DAY},
                      {T0 + 10 * DAY, T0 + 30 * DAY},
                      {T0 - 10 * DAY, T0 + DAY}};
  long compared = 0;
  for (int kpi = 1; kpi <= cxm_kpi_max(); kpi++) {
    int cl = cxm_kpi_is_customer_level(kpi);
    for (int32_t sg = CXM_ALL; sg < nseg; sg++)
      for (int32_t ch = CXM_ALL; ch < nch; ch++)
        for (int w = 0; w < (cl ? 1 : 4); w++) {
          double va = 0, vb = 0;
          int64_t na = 0, nb = 0;
          int ra = cxm_kpi_get(a, kpi, sg, ch, win[w][0], win[w][1], &va, &na);
          int rb = cxm_kpi_get(b, kpi, sg, ch, win[w][0], win[w][1], &vb, &nb);
          ck_assert_int_eq(ra, rb);
          ck_assert_msg((isnan(va) && isnan(vb)) || va == vb,
                        "%s seg %d ch %d window %d: %.17g != %.17g",
                        cxm_kpi_name(kpi), (int)sg, (int)ch, w, va, vb);
          ck_assert_int_eq(na, nb);
          compared++;
        }
  }
  ck_assert_int_gt(compared, 1000);
}

static int64_t stat(cxm_ctx *ctx, int s) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, s, &v), CXM_OK);
  return v;
}

static int64_t full_mods; /* modules of the full-columns runs */

static void batch_vs_single(int full) {
  static stream s;
  make_stream(&s, full ? 42 : 7);
  static int32_t st_a[NEV], st_b[NEV];
  const int32_t *chs = s.channels;
  const double *v2 = full ? s.values2 : NULL;
  const int32_t *sets = full ? s.segsets : NULL;
  /* With every module on in one of the runs: the batch then also prefetches
     the modules' side arrays. */
  int64_t mods = full ? full_mods : CXM_MOD_ALL;
  /* c: a's batches without statuses (the batch's loop without stores). */
  cxm_ctx *a = fresh(mods), *b = fresh(mods), *c = fresh(mods);
  /* One key for both: their snapshots (every module's state too) must then
     be the same bytes. */
  static const uint8_t key[CXM_KEY_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  ck_assert_int_eq(cxm_key_set(a, key, sizeof key), CXM_OK);
  ck_assert_int_eq(cxm_key_set(b, key, sizeof key), CXM_OK);
  ck_assert_int_eq(cxm_key_set(c, key, sizeof key), CXM_OK);
  /* a: batches of 1..700 events (across the 256-event chunks); b: one by one. */
  for (size_t i = 0; i < NEV;) {
    size_t n = 1 + rnd(700);
    if (n > NEV - i) n = NEV - i;
    size_t acc = 0;
    cxm_events_add(a, n, s.times + i, s.types + i, s.data, s.offs + i, chs + i,
                   s.values + i, v2 ? v2 + i : NULL, sets ? sets + i : NULL, &acc,
                   st_a + i);
    size_t acc_c = 0, ok = 0;
    cxm_events_add(c, n, s.times + i, s.types + i, s.data, s.offs + i, chs + i,
                   s.values + i, v2 ? v2 + i : NULL, sets ? sets + i : NULL, &acc_c,
                   NULL);
    for (size_t q = i; q < i + n; q++) ok += st_a[q] == CXM_OK;
    ck_assert_uint_eq(acc, ok);
    ck_assert_uint_eq(acc_c, ok);
    i += n;
    if (read_between) {
      double v;
      int64_t cnt;
      ck_assert_int_eq(cxm_kpi_get(a, 1, CXM_ALL, CXM_ALL, CXM_TIME_MIN, CXM_TIME_MAX, &v, &cnt),
                       CXM_OK);
    }
  }
  for (size_t i = 0; i < NEV; i++)
    cxm_events_add(b, 1, s.times + i, s.types + i, s.data, s.offs + i, chs + i,
                   s.values + i, v2 ? v2 + i : NULL, sets ? sets + i : NULL, NULL,
                   st_b + i);
  int64_t made_bad = 0, bad_ok = 0, late = 0;
  for (size_t i = 0; i < NEV; i++) {
    ck_assert_int_eq(st_a[i], st_b[i]);
    if (s.valid[i] == 0) {
      made_bad++;
      bad_ok += st_a[i] == CXM_OK;
    } else if (s.valid[i] == 1) {
      /* A valid event fails only as late: the stream stays within 6 days of
         the newest event, so with the 7-day bound none is. */
      ck_assert_int_eq(st_a[i], CXM_OK);
    }
    late += st_a[i] == CXM_E_LATE;
  }
  ck_assert_int_eq(bad_ok, 0);
  ck_assert_int_gt(made_bad, 100);
  ck_assert_int_gt(late, 50);
  ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_ACCEPTED), NEV - made_bad - late);
  ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_REJECTED), made_bad + late);
  ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_LATE), late);
  for (int k = CXM_STAT_EVENTS_ACCEPTED; k <= CXM_STAT_LAST_TIME; k++)
    if (k != CXM_STAT_MEMORY_BYTES) ck_assert_int_eq(stat(a, k), stat(b, k));
  /* The customers are the distinct ids of accepted customer events. */
  static uint8_t seen[NCUST];
  memset(seen, 0, sizeof seen);
  int64_t distinct = 0;
  for (size_t i = 0; i < NEV; i++) {
    if (st_a[i] != CXM_OK || s.types[i] == CXM_EV_SPEND) continue;
    distinct += !seen[s.cust[i]];
    seen[s.cust[i]] = 1;
  }
  ck_assert_int_eq(stat(a, CXM_STAT_CUSTOMERS), distinct);
  same_kpis(a, b);
  t_handles_same_bytes(a, b);
  t_handles_same_bytes(a, c);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  cxm_ctx_destroy(c);
}

START_TEST(batch_equals_one_by_one_full_columns) { batch_vs_single(1); }
END_TEST

START_TEST(batch_equals_one_by_one_null_columns) { batch_vs_single(0); }
END_TEST

START_TEST(batch_equals_one_by_one_edges) {
  edge_mode = 1;
  batch_vs_single(1);
  edge_mode = 0;
}
END_TEST

/* The fast path with modules: their prepare() and on_event() around it. */
START_TEST(batch_equals_one_by_one_full_columns_modules) {
  full_mods = CXM_MOD_ALL;
  batch_vs_single(1);
  edge_mode = 1;
  batch_vs_single(1);
  edge_mode = 0;
  full_mods = 0;
}
END_TEST

/* A read between batches flushes the stages: no cell the batch remembered
   (the memos in front of the stages' indexes) may outlive it. */
START_TEST(batch_equals_one_by_one_read_between) {
  read_between = 1;
  batch_vs_single(1);
  read_between = 0;
}
END_TEST

/* Sets and channels past the memos' reach, and more customer-level cells
   than their stage holds (flushed while a batch runs). */
START_TEST(batch_equals_one_by_one_wide) {
  nch = WCH;
  nseg = WSEG;
  nset = WSET;
  batch_vs_single(1);
  read_between = 1;
  batch_vs_single(1);
  read_between = 0;
  nch = NCH;
  nseg = NSEG;
  nset = NSET;
}
END_TEST

/* The largest shape the memos cover: 15 channels (columns 0..15) and 64
   sets (ids 0..63), every module on, edge cases. */
START_TEST(batch_equals_one_by_one_memo_bounds) {
  nch = 15;
  nseg = WSEG;
  nset = 64;
  full_mods = CXM_MOD_ALL;
  edge_mode = 1;
  batch_vs_single(1);
  read_between = 1;
  batch_vs_single(1);
  read_between = 0;
  edge_mode = 0;
  full_mods = 0;
  nch = NCH;
  nseg = NSEG;
  nset = NSET;
}
END_TEST

/* Ids hashed in a batch (four side by side, lengths mixed or not)
   name the same customers as ids hashed one at a time. */
START_TEST(batch_hashes_are_the_scalar_hashes) {
  cxm_ctx *ctx = fresh(0);
  enum { N = 203 };
  static uint8_t data[N * 64];
  int64_t offs[N + 1], times[N];
  int32_t types[N];
  size_t off = 0;
  for (int i = 0; i < N; i++) {
    /* runs of eight ids of one length, then runs of mixed lengths */
    size_t len = i < 96 ? 1 + (size_t)(i / 8) * 3 : 1 + (size_t)(i * 13) % 47;
    offs[i] = (int64_t)off;
    for (size_t k = 0; k < len; k++) data[off + k] = (uint8_t)(i * 31 + k * 7);
    off += len;
    times[i] = T0 + i;
    types[i] = CXM_EV_TOUCH;
  }
  offs[N] = (int64_t)off;
  size_t acc = 0;
  ck_assert_int_eq(cxm_events_add(ctx, N, times, types, data, offs, NULL, NULL,
                                  NULL, NULL, &acc, NULL), CXM_OK);
  ck_assert_uint_eq(acc, N);
  ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), N);
  /* Again, one at a time through the scalar hash: nobody new. */
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(cxm_event_add(ctx, T0 + N, CXM_EV_TOUCH, data + offs[i],
                                   (size_t)(offs[i + 1] - offs[i]), CXM_NO_CHANNEL,
                                   NAN, NAN), CXM_OK);
  ck_assert_int_eq(stat(ctx, CXM_STAT_CUSTOMERS), N);
  int events = 0;
  ck_assert_int_eq(cxm_kpi_from_name("events", 6, &events), CXM_OK);
  int64_t v = 0, n = 0;
  ck_assert_int_eq(cxm_kpi_get_int(ctx, events, CXM_ALL, CXM_ALL, ALLW, &v, &n), CXM_OK);
  ck_assert_int_eq(v, 2 * N);
  cxm_ctx_destroy(ctx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ingestpath");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, batch_equals_one_by_one_full_columns);
  tcase_add_test(tc, batch_equals_one_by_one_null_columns);
  tcase_add_test(tc, batch_equals_one_by_one_edges);
  tcase_add_test(tc, batch_equals_one_by_one_full_columns_modules);
  tcase_add_test(tc, batch_hashes_are_the_scalar_hashes);
  tcase_add_test(tc, batch_equals_one_by_one_read_between);
  tcase_add_test(tc, batch_equals_one_by_one_wide);
  tcase_add_test(tc, batch_equals_one_by_one_memo_bounds);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
