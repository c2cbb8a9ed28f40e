/*
 * check_oom.c - allocation-failure sweep over the public API paths that
 * check_api (create, labels, single events, batches) does not already
 * sweep: every event type (with the optional modules' state), queries,
 * the CSV and JSON Lines readers, snapshots (buffer and file, save and
 * load), merge, the stream position, and the modules: their queries and
 * erasure (which allocate nothing), watches, benchmarks and CLV models.
 *
 * For each path the 1st, 2nd, ... allocation from the call's start fails in
 * turn, until the call succeeds (as SQLite and jansson test). Each failure
 * must return CXM_E_NOMEM, leave every count and KPI as before (compared
 * with a twin handle fed only the successful calls), leak nothing, and
 * leave the handle usable: the same call then succeeds.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <stddef.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Counting allocator: fails call number fail_at (1-based; 0 = never), or
 * every call while fail_all is set; counts live blocks.
 */
typedef struct t_alloc {
  long calls, fail_at, failures, live;
  int fail_all;
} t_alloc;

#define T_HDR sizeof(max_align_t)

static int should_fail(t_alloc *a) {
  a->calls++;
  if (a->fail_all || (a->fail_at != 0 && a->calls == a->fail_at)) {
    a->failures++;
    return 1;
  }
  return 0;
}

static void *o_malloc(void *opaque, size_t size) {
  t_alloc *a = opaque;
  if (should_fail(a)) return NULL;
  unsigned char *p = malloc(T_HDR + size);
  if (!p) return NULL;
  a->live++;
  return p + T_HDR;
}

static void *o_realloc(void *opaque, void *ptr, size_t size) {
  t_alloc *a = opaque;
  if (!ptr) return o_malloc(opaque, size);
  if (should_fail(a)) return NULL;
  unsigned char *p = realloc((unsigned char *)ptr - T_HDR, T_HDR + size);
  return p ? p + T_HDR : NULL;
}

static void o_free(void *opaque, void *ptr) {
  t_alloc *a = opaque;
  ck_assert_ptr_nonnull(ptr);
  a->live--;
  free((unsigned char *)ptr - T_HDR);
}

static cxm_ctx *counted_nokey(t_alloc *a) {
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, o_malloc, o_realloc, o_free, a),
                   CXM_OK);
  return ctx;
}

static cxm_ctx *counted(t_alloc *a) {
  cxm_ctx *ctx = counted_nokey(a);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  return ctx;
}

/* The k-th allocation from now fails. */
static void arm(t_alloc *a, long k) {
  a->fail_at = a->calls + k;
  a->failures = 0;
}

static void disarm(t_alloc *a) { a->fail_at = 0; }

/* ------------------------------------------------------------------------
 * State comparison: statistics (memory apart) and every KPI of every scope.
 */
static int64_t stat(cxm_ctx *ctx, int s) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, s, &v), CXM_OK);
  return v;
}

static size_t module_answers(cxm_ctx *ctx, double *out);
static void answers_equal(const double *a, const double *b, size_t n, const char *what);

static void same_state(cxm_ctx *a, cxm_ctx *b, const char *what) {
  static const int stats[] = {CXM_STAT_EVENTS_ACCEPTED, CXM_STAT_EVENTS_LATE,
                              CXM_STAT_CUSTOMERS, CXM_STAT_FIRST_TIME,
                              CXM_STAT_LAST_TIME};
  for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
    ck_assert_msg(stat(a, stats[i]) == stat(b, stats[i]), "%s: statistic %d: %lld vs %lld",
                  what, stats[i], (long long)stat(a, stats[i]),
                  (long long)stat(b, stats[i]));
  t_handles_same_kpis(a, b, what);
  /* A failed call must not have left a trace in any module either (a
     retention span, a funnel stage, a touch, a cohort month). */
  static double qa[4096], qb[4096];
  size_t na = module_answers(a, qa), nb = module_answers(b, qb);
  ck_assert_uint_eq(na, nb);
  answers_equal(qa, qb, na, what);
}

/* Two channels, two segments, four customers, events of several types. */
static void populate(cxm_ctx *ctx) {
  int32_t web = t_chan(ctx, "web"), email = t_chan(ctx, "email");
  int32_t gold = t_seg(ctx, "gold"), eu = t_seg(ctx, "eu");
  int32_t s2[] = {gold, eu};
  t_assign(ctx, "alice", t_set(ctx, 1, &gold));
  t_assign(ctx, "bob", t_set(ctx, 2, s2));
  T_ADD0(ctx, T0 + 1 * HOUR, CXM_EV_TOUCH, "alice", web);
  T_ADD(ctx, T0 + 2 * HOUR, CXM_EV_SESSION, "alice", web, 3, 40);
  T_ADD0(ctx, T0 + 4 * HOUR, CXM_EV_LEAD, "bob", email);
  T_ADD1(ctx, T0 + 5 * HOUR, CXM_EV_PURCHASE, "bob", web, 25.5);
  T_ADD1(ctx, T0 + 7 * HOUR, CXM_EV_REFUND, "bob", email, 2.25);
  T_ADD0(ctx, T0 + 8 * HOUR, CXM_EV_MESSAGE_SENT, "carol", email);
  T_ADD1(ctx, T0 + 11 * HOUR, CXM_EV_NPS, "carol", CXM_NO_CHANNEL, 9);
  T_ADD1(ctx, T0 + 15 * HOUR, CXM_EV_SPEND, NULL, web, 100);
  T_ADD0(ctx, T0 + 30 * HOUR, CXM_EV_CHURN, "dave", CXM_NO_CHANNEL);
}

/* Runs `call` (an expression giving a status) with the k-th allocation
 * failing for k = 1, 2, ... until it succeeds; after each failure asserts
 * CXM_E_NOMEM and runs the checks given last. At most `limit` failures. */
static long sweep_fails; /* failures injected by SWEEP, over the test */

#define SWEEP(a, limit, call, ...)                                              \
  do {                                                                         \
    long k_;                                                                   \
    for (k_ = 1;; k_++) {                                                      \
      arm((a), k_);                                                            \
      int rc_ = (call);                                                        \
      disarm(a);                                                               \
      if (rc_ == CXM_OK) break;                                                \
      ck_assert_msg(rc_ == CXM_E_NOMEM, "line %d: k=%ld: status %d (%s)",      \
                    __LINE__, k_, rc_, cxm_strerror(rc_));                     \
      ck_assert_int_eq((a)->failures, 1);                                      \
      sweep_fails++;                                                           \
      __VA_ARGS__;                                                             \
      ck_assert_msg(k_ < (limit), "line %d: still failing after %ld", __LINE__, k_); \
    }                                                                          \
  } while (0)

/* ------------------------------------------------------------------------
 * Queries allocate nothing: with every allocation failing they all work.
 */
START_TEST(oom_queries_never_allocate) {
  t_alloc a = {0};
  cxm_ctx *h = counted(&a);
  populate(h);
  t_snap before, during;
  t_snap_take(h, &before);
  T_ADD0(h, T0 + 31 * HOUR, CXM_EV_TOUCH, "alice", 0); /* a staged cell */
  a.fail_all = 1;
  long calls = a.calls;
  t_snap_take(h, &during); /* flushes the stage: must not allocate either */
  int64_t v;
  for (int s = CXM_STAT_EVENTS_ACCEPTED; s <= CXM_STAT_LAST_TIME; s++)
    ck_assert_int_eq(cxm_stat_get(h, s, &v), CXM_OK);
  uint64_t hh;
  ck_assert_int_eq(cxm_customer_hash(h, "alice", 5, &hh), CXM_OK);
  ck_assert_int_eq(cxm_key_fingerprint(h, &hh), CXM_OK);
  int32_t id, known;
  ck_assert_int_eq(cxm_key_known(h, &known), CXM_OK);
  ck_assert_int_eq(cxm_channel_find(h, "web", 3, &id), CXM_OK);
  ck_assert_int_eq(cxm_segment_find(h, "eu", 2, &id), CXM_OK);
  /* Interning an existing label or set allocates nothing. */
  ck_assert_int_eq(cxm_channel_intern(h, "email", 5, &id), CXM_OK);
  int32_t gold = 0;
  ck_assert_int_eq(cxm_segset_intern(h, &gold, 1, &id), CXM_OK);
  int64_t from, to, t;
  ck_assert_int_eq(cxm_window_trailing(h, T0, 7, &from, &to), CXM_OK);
  ck_assert_int_eq(cxm_time_parse(h, "2026-01-01T00:00:00Z", 20, &t), CXM_OK);
  const void *pos;
  size_t plen;
  ck_assert_int_eq(cxm_position_get(h, &pos, &plen), CXM_OK);
  ck_assert_int_eq(cxm_option_get(h, CXM_OPT_MAX_LATENESS, &v), CXM_OK);
  ck_assert_int_eq(cxm_option_set(h, CXM_OPT_MAX_LATENESS, 3600), CXM_OK);
  ck_assert_msg(a.calls == calls, "queries made %ld allocation calls", a.calls - calls);
  a.fail_all = 0;
  /* The snapshot during the failures is the state plus the one touch. */
  cxm_ctx *twin = counted(&(t_alloc){0});
  populate(twin);
  T_ADD0(twin, T0 + 31 * HOUR, CXM_EV_TOUCH, "alice", 0);
  t_snap tw;
  t_snap_take(twin, &tw);
  t_snap_assert_eq(&during, &tw, "queries under failing allocation");
  t_snap_free(&before);
  t_snap_free(&during);
  t_snap_free(&tw);
  cxm_ctx_destroy(twin);
  cxm_ctx_destroy(h);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Every event type, on new and known customers, new days, channels and
 * segment sets, with the modules' state (all modules are on by default).
 */
START_TEST(oom_every_event_type) {
  t_alloc a = {0}, b = {0};
  cxm_ctx *h = counted(&a);
  cxm_ctx *twin = counted(&b);
  /* Far-ahead days and earlier ones alternate: no lateness rejections. */
  ck_assert_int_eq(cxm_option_set(h, CXM_OPT_MAX_LATENESS, 31622400), CXM_OK);
  ck_assert_int_eq(cxm_option_set(twin, CXM_OPT_MAX_LATENESS, 31622400), CXM_OK);
  populate(h);
  populate(twin);
  char id[32];
  int n = 0;
  /* CXM_QUICK=1 (scripts/valgrind.sh): new labels for every third type only,
   * as each one makes every later state comparison larger. */
  int quick = getenv("CXM_QUICK") && strcmp(getenv("CXM_QUICK"), "1") == 0;
  for (int32_t type = CXM_EV_TOUCH; type <= CXM_EV_CHURN; type++) {
    for (int scen = 0; scen < 5; scen++, n++) {
      if (quick && scen >= 3 && type % 3 != 0) continue;
      /* 0: a new customer; 1: alice; 2: a new customer on a new day far
       * ahead; 3: a new channel; 4: a new customer in a new segment set. */
      int32_t ch = (scen == 1) ? 0 : CXM_NO_CHANNEL;
      int64_t t = T0 + 40 * HOUR + n * 60;
      if (scen == 2) t += (int64_t)(100 + n) * DAY;
      if (scen == 3) {
        char lab[16];
        snprintf(lab, sizeof lab, "ch%d", n);
        ch = t_chan(h, lab);
        ck_assert_int_eq(t_chan(twin, lab), ch);
      }
      const char *cust = id;
      if (scen == 1)
        cust = "alice";
      else
        snprintf(id, sizeof id, "new-%d", n);
      if (scen == 4) {
        char lab[16];
        snprintf(lab, sizeof lab, "seg%d", n);
        int32_t sg = t_seg(h, lab);
        ck_assert_int_eq(t_seg(twin, lab), sg);
        int32_t set = t_set(h, 1, &sg);
        ck_assert_int_eq(t_set(twin, 1, &sg), set);
        SWEEP(&a, 200, cxm_customer_set_segments(h, cust, strlen(cust), set),
              same_state(h, twin, "failed set_segments"));
        t_assign(twin, cust, set);
      }
      double v = type == CXM_EV_NPS ? 7 : (type == CXM_EV_CSAT || type == CXM_EV_CES) ? 4 : 3;
      const char *c = type == CXM_EV_SPEND ? NULL : cust;
      SWEEP(&a, 200, t_ev(h, t, type, c, ch, v, 15),
            same_state(h, twin, "failed event"));
      T_ADD(twin, t, type, c, ch, v, 15);
    }
  }
  same_state(h, twin, "after all event types");
  ck_assert_int_gt(sweep_fails, 5);
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * The CSV reader: whatever allocation fails, the lines it reports accepted
 * are exactly in the handle (equal to a reference fed those lines only),
 * the others are reported, and nothing leaks.
 */
static const char CSV[] =
    "time,customer,type,channel,value,value2,segments,text\n"
    "2026-01-01T10:00:00Z,ann,purchase,web,12.50,,gold,\"free, text\"\n"
    "2026-01-01T11:00:00Z,bob,session,app,3,45,,\n"
    "2026-01-01T12:00:00Z,cid,nps,,9,,gold;eu,\"a \"\"quoted\"\"\nline\"\n"
    "2026-01-02,dan,lead,email,,,-,\n"
    "1767312000,ann,refund,web,2.5,,,\n"
    "1767312000,,spend,web,100,,,\n"
    "2026-01-03T08:00:00+07:00,eve,touch,partner,,,vip,\n"
    "2026-01-03T09:00:00Z,bob,csat,app,5,,,\n"
    "2026-01-03T09:30:00Z,fay,ces,app,2,,eu,\n"
    "2026-01-04T00:00:00Z,ann,message_click,email,,,,\n";

typedef struct lines_seen {
  int rejected[64]; /* by data line number (2..) */
  int n, nomem;
} lines_seen;

static void note_rej(void *user, uint64_t line, int status, const char *msg) {
  lines_seen *s = user;
  ck_assert_uint_lt(line, 64);
  s->rejected[line] = 1;
  s->n++;
  if (status == CXM_E_NOMEM) s->nomem++;
  ck_assert_msg(status == CXM_E_NOMEM, "line %llu rejected with %d (not NOMEM): %s",
                (unsigned long long)line, status, msg);
}

/* ref interns h's labels first, in h's order: labels of lines rejected for
 * lack of memory may remain (docs/kpis.md), as empty scopes. */
static void same_labels(cxm_ctx *h, cxm_ctx *ref) {
  int32_t n, id;
  const char *lab;
  size_t len;
  ck_assert_int_eq(cxm_channel_count(h, &n), CXM_OK);
  for (int32_t i = 0; i < n; i++) {
    ck_assert_int_eq(cxm_channel_label(h, i, &lab, &len), CXM_OK);
    ck_assert_int_eq(cxm_channel_intern(ref, lab, len, &id), CXM_OK);
    ck_assert_int_eq(id, i);
  }
  ck_assert_int_eq(cxm_segment_count(h, &n), CXM_OK);
  for (int32_t i = 0; i < n; i++) {
    ck_assert_int_eq(cxm_segment_label(h, i, &lab, &len), CXM_OK);
    ck_assert_int_eq(cxm_segment_intern(ref, lab, len, &id), CXM_OK);
    ck_assert_int_eq(id, i);
  }
}

/* The header plus the first `processed` records not rejected (rejections
 * are by physical line: a quoted newline makes a record span two). */
static size_t csv_subset(const lines_seen *s, uint64_t processed, char *out) {
  const char *p = CSV, *start = CSV;
  size_t o = 0;
  int line = 1, rec_line = 1, in_q = 0;
  uint64_t rec = 0; /* records before this one, the header apart */
  for (; *p; p++) {
    if (*p == '"') in_q = !in_q;
    if (*p != '\n') continue;
    line++;
    if (in_q) continue;
    size_t len = (size_t)(p - start) + 1;
    int keep = rec_line == 1 || (rec < processed && !s->rejected[rec_line]);
    if (rec_line > 1) rec++;
    if (keep) {
      memcpy(out + o, start, len);
      o += len;
    }
    rec_line = line;
    start = p + 1;
  }
  return o;
}

static void csv_feed_chunks(cxm_csv *r, size_t chunk, int *worst) {
  for (size_t o = 0; o < sizeof CSV - 1; o += chunk) {
    size_t k = sizeof CSV - 1 - o < chunk ? sizeof CSV - 1 - o : chunk;
    int rc = cxm_csv_feed(r, CSV + o, k);
    ck_assert_msg(rc == CXM_OK || rc == CXM_E_NOMEM, "feed: %d", rc);
    if (rc != CXM_OK) *worst = rc;
  }
  int rc = cxm_csv_finish(r);
  ck_assert_msg(rc == CXM_OK || rc == CXM_E_NOMEM, "finish: %d", rc);
  if (rc != CXM_OK) *worst = rc;
}

static const char NEXT[] = "time,type,customer\n1767744000,touch,zed\n";

START_TEST(oom_csv_stream) {
  /* Whole, and in 7-byte feeds (records then span feeds); CXM_QUICK=1: 61. */
  int quick = getenv("CXM_QUICK") && strcmp(getenv("CXM_QUICK"), "1") == 0;
  const size_t chunks[] = {sizeof CSV, quick ? 61 : 7};
  for (size_t c = 0; c < 2; c++) {
    int clean = 0;
    for (long k = 1; k < 5000 && !clean; k++) {
      t_alloc a = {0};
      cxm_ctx *h = counted(&a);
      populate(h);
      cxm_csv *r = NULL;
      arm(&a, k);
      int rc = cxm_csv_create(h, &r);
      if (rc != CXM_OK) {
        disarm(&a);
        ck_assert_int_eq(rc, CXM_E_NOMEM);
        ck_assert_ptr_null(r);
        cxm_ctx_destroy(h);
        ck_assert_int_eq(a.live, 0);
        continue;
      }
      lines_seen seen = {{0}, 0, 0};
      ck_assert_int_eq(cxm_csv_set_error_handler(r, note_rej, &seen), CXM_OK);
      int worst = CXM_OK;
      csv_feed_chunks(r, chunks[c], &worst);
      disarm(&a);
      clean = a.failures == 0;
      uint64_t lines, acc, rej;
      ck_assert_int_eq(cxm_csv_stats(r, &lines, &acc, &rej), CXM_OK);
      ck_assert_uint_eq(lines, acc + rej);
      ck_assert_uint_eq(rej, (uint64_t)seen.n);
      if (seen.n > 0) ck_assert_int_eq(worst, CXM_E_NOMEM);
      if (clean) {
        ck_assert_int_eq(worst, CXM_OK);
        ck_assert_uint_eq(acc, 10);
      }
      /* The reference: the same start plus the accepted lines only. */
      char sub[sizeof CSV];
      size_t sl = csv_subset(&seen, lines, sub);
      cxm_ctx *ref = counted(&(t_alloc){0});
      populate(ref);
      same_labels(h, ref);
      cxm_csv *rr = NULL;
      ck_assert_int_eq(cxm_csv_create(ref, &rr), CXM_OK);
      ck_assert_int_eq(cxm_csv_feed(rr, sub, sl), CXM_OK);
      ck_assert_int_eq(cxm_csv_finish(rr), CXM_OK);
      uint64_t racc;
      ck_assert_int_eq(cxm_csv_stats(rr, NULL, &racc, NULL), CXM_OK);
      ck_assert_uint_eq(racc, acc);
      same_state(h, ref, "CSV under allocation failure");
      /* Usable: the reader takes the next stream. */
      ck_assert_int_eq(cxm_csv_feed(r, NEXT, strlen(NEXT)),
                       CXM_OK);
      ck_assert_int_eq(cxm_csv_finish(r), CXM_OK);
      cxm_csv_destroy(rr);
      cxm_ctx_destroy(ref);
      cxm_csv_destroy(r);
      cxm_ctx_destroy(h);
      ck_assert_msg(a.live == 0, "k=%ld: %ld blocks leaked", k, a.live);
    }
    ck_assert(clean);
  }
}
END_TEST

START_TEST(oom_csv_feed_file) {
  char path[] = "/tmp/cxm-oom-csv-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, CSV, sizeof CSV - 1), (ssize_t)(sizeof CSV - 1));
  close(fd);
  t_alloc a = {0}, b = {0};
  cxm_ctx *h = counted(&a), *twin = counted(&b);
  populate(h);
  populate(twin);
  cxm_csv *r = NULL;
  ck_assert_int_eq(cxm_csv_create(h, &r), CXM_OK);
  /* The first allocation is the read buffer: nothing read, nothing changed. */
  arm(&a, 1);
  ck_assert_int_eq(cxm_csv_feed_file(r, path), CXM_E_NOMEM);
  disarm(&a);
  uint64_t lines = 9;
  ck_assert_int_eq(cxm_csv_stats(r, &lines, NULL, NULL), CXM_OK);
  ck_assert_uint_eq(lines, 0);
  same_state(h, twin, "failed feed_file");
  ck_assert_int_eq(cxm_csv_feed_file(r, path), CXM_OK);
  cxm_csv *rt = NULL;
  ck_assert_int_eq(cxm_csv_create(twin, &rt), CXM_OK);
  ck_assert_int_eq(cxm_csv_feed_file(rt, path), CXM_OK);
  same_state(h, twin, "feed_file after the failure");
  cxm_csv_destroy(r);
  cxm_csv_destroy(rt);
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
  unlink(path);
}
END_TEST

/* ------------------------------------------------------------------------
 * JSON Lines: the same promise as CSV.
 */
static const char JL[] =
    "{\"type\":\"track\",\"userId\":\"ann\",\"event\":\"Order Completed\",\"timestamp\":\"2026-01-01T10:00:00Z\",\"properties\":{\"revenue\":12.5,\"channel\":\"web\"}}\n"
    "{\"type\":\"page\",\"userId\":\"bob\",\"timestamp\":\"2026-01-01T11:00:00Z\",\"properties\":{\"channel\":\"app\"}}\n"
    "{\"type\":\"identify\",\"userId\":\"cid\",\"timestamp\":\"2026-01-01T11:30:00Z\",\"traits\":{\"segments\":[\"gold\",\"eu\"],\"tier\":\"vip\"}}\n"
    "{\"type\":\"track\",\"userId\":\"cid\",\"event\":\"NPS Submitted\",\"timestamp\":\"2026-01-01T12:00:00Z\",\"properties\":{\"score\":9}}\n"
    "{\"type\":\"track\",\"anonymousId\":\"anon-1\",\"event\":\"Checkout Done\",\"timestamp\":1767312000,\"properties\":{\"amount\":30,\"channel\":\"email\"}}\n"
    "{\"type\":\"track\",\"userId\":\"dan\",\"event\":\"Session Ended\",\"timestamp\":\"2026-01-02T09:00:00Z\",\"properties\":{\"pageviews\":1,\"duration\":5}}\n";

static size_t jl_subset(const lines_seen *s, uint64_t processed, char *out) {
  const char *p = JL, *start = JL;
  size_t o = 0;
  int line = 1;
  for (; *p; p++) {
    if (*p != '\n') continue;
    size_t len = (size_t)(p - start) + 1;
    if ((uint64_t)line <= processed && !s->rejected[line]) {
      memcpy(out + o, start, len);
      o += len;
    }
    line++;
    start = p + 1;
  }
  return o;
}

static void jl_setup(cxm_jsonl *j) {
  ck_assert_int_eq(cxm_jsonl_map_event(j, "Checkout Done", 13, CXM_EV_PURCHASE, "amount", NULL),
                   CXM_OK);
  ck_assert_int_eq(cxm_jsonl_map_trait(j, "tier"), CXM_OK);
}

/* Two gaps of lib/jsonl.c as of 7de9c74 failed this test, both fixed since
 * (-DJSONL_KNOWN_GAPS=1 runs around them, as the test did then):
 * 1. When it cannot grow its carry for a line that spans feeds, it drops the
 *    line's head and later parses the tail as a line of its own
 *    (CXM_E_PARSE "bad number", or a wrong event) instead of rejecting the
 *    line with CXM_E_NOMEM: hence one feed of the whole input.
 * 2. A line rejected with CXM_E_NOMEM by a label or segment call (channel,
 *    traits, identify) leaves cxm_jsonl_feed() returning CXM_OK, against
 *    the header's "CXM_E_NOMEM (the lines concerned were rejected)". */
#ifndef JSONL_KNOWN_GAPS
#define JSONL_KNOWN_GAPS 0 /* both fixed after 7de9c74 */
#endif
#define JL_CHUNK (JSONL_KNOWN_GAPS ? sizeof JL : 50)

START_TEST(oom_jsonl_stream) {
  int clean = 0;
  for (long k = 1; k < 5000 && !clean; k++) {
    t_alloc a = {0};
    cxm_ctx *h = counted(&a);
    populate(h);
    cxm_jsonl *j = NULL;
    arm(&a, k);
    int rc = cxm_jsonl_create(h, &j);
    if (rc == CXM_OK)
      rc = cxm_jsonl_map_event(j, "Checkout Done", 13, CXM_EV_PURCHASE, "amount", NULL);
    if (rc == CXM_OK) rc = cxm_jsonl_map_trait(j, "tier");
    if (rc != CXM_OK) {
      disarm(&a);
      ck_assert_int_eq(rc, CXM_E_NOMEM);
      cxm_jsonl_destroy(j);
      same_state(h, h, "self"); /* the handle still answers */
      cxm_ctx_destroy(h);
      ck_assert_int_eq(a.live, 0);
      continue;
    }
    lines_seen seen = {{0}, 0, 0};
    ck_assert_int_eq(cxm_jsonl_set_error_handler(j, note_rej, &seen), CXM_OK);
    int worst = CXM_OK;
    for (size_t o = 0; o < sizeof JL - 1; o += JL_CHUNK) {
      size_t n = sizeof JL - 1 - o < JL_CHUNK ? sizeof JL - 1 - o : JL_CHUNK;
      int f = cxm_jsonl_feed(j, JL + o, n);
      ck_assert_msg(f == CXM_OK || f == CXM_E_NOMEM, "jsonl feed: %d", f);
      if (f != CXM_OK) worst = f;
    }
    int f = cxm_jsonl_finish(j);
    ck_assert_msg(f == CXM_OK || f == CXM_E_NOMEM, "jsonl finish: %d", f);
    if (f != CXM_OK) worst = f;
    disarm(&a);
    clean = a.failures == 0;
    uint64_t lines, acc, rej, skip;
    ck_assert_int_eq(cxm_jsonl_stats(j, &lines, &acc, &rej, &skip), CXM_OK);
    ck_assert_uint_eq(lines, acc + rej + skip);
    ck_assert_uint_eq(rej, (uint64_t)seen.n);
    if (seen.n > 0 && !JSONL_KNOWN_GAPS) ck_assert_int_eq(worst, CXM_E_NOMEM);
    if (clean) ck_assert_uint_eq(rej, 0);
    char sub[sizeof JL];
    size_t sl = jl_subset(&seen, lines, sub);
    cxm_ctx *ref = counted(&(t_alloc){0});
    populate(ref);
    same_labels(h, ref);
    cxm_jsonl *jr = NULL;
    ck_assert_int_eq(cxm_jsonl_create(ref, &jr), CXM_OK);
    jl_setup(jr);
    ck_assert_int_eq(cxm_jsonl_feed(jr, sub, sl), CXM_OK);
    ck_assert_int_eq(cxm_jsonl_finish(jr), CXM_OK);
    same_state(h, ref, "JSON Lines under allocation failure");
    cxm_jsonl_destroy(jr);
    cxm_ctx_destroy(ref);
    cxm_jsonl_destroy(j);
    cxm_ctx_destroy(h);
    ck_assert_msg(a.live == 0, "k=%ld: %ld blocks leaked", k, a.live);
  }
  ck_assert(clean);
}
END_TEST

/* ------------------------------------------------------------------------
 * Snapshots.
 */
START_TEST(oom_snapshot_save_buffer) {
  t_alloc a = {0};
  cxm_ctx *h = counted(&a), *twin = counted(&(t_alloc){0});
  populate(h);
  populate(twin);
  void *ref_buf = NULL;
  size_t ref_len = 0;
  ck_assert_int_eq(cxm_snapshot_save_buffer(twin, 0, &ref_buf, &ref_len), CXM_OK);
  long base_live = a.live;
  void *buf = (void *)&a;
  size_t len = 12345;
  SWEEP(&a, 500, cxm_snapshot_save_buffer(h, 0, &buf, &len), {
    ck_assert_ptr_eq(buf, (void *)&a);
    ck_assert_uint_eq(len, 12345);
    ck_assert_int_eq(a.live, base_live);
    same_state(h, twin, "failed save_buffer");
  });
  ck_assert_int_gt(sweep_fails, 0);
  /* The same bytes as without failures. */
  ck_assert_uint_eq(len, ref_len);
  ck_assert_int_eq(memcmp(buf, ref_buf, len), 0);
  cxm_buffer_free(h, buf, len);
  cxm_buffer_free(twin, ref_buf, ref_len);
  same_state(h, twin, "after save_buffer");
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Files in dir (to see that no temporary file is left). */
static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static size_t read_all(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  size_t got;
  while ((got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) b = realloc(b, cap *= 2);
  }
  fclose(f);
  *out = b;
  return n;
}

START_TEST(oom_snapshot_save_file) {
  char dir[] = "/tmp/cxm-oom-snap-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/state.cxm", dir);
  t_alloc a = {0};
  cxm_ctx *h = counted(&a), *twin = counted(&(t_alloc){0});
  populate(h);
  populate(twin);
  /* An earlier snapshot at the path: it must survive every failure. */
  ck_assert_int_eq(cxm_snapshot_save_file(h, path, 0), CXM_OK);
  char *old, *now;
  size_t old_n = read_all(path, &old);
  T_ADD1(h, T0 + 50 * HOUR, CXM_EV_PURCHASE, "zoe", 1, 7);
  T_ADD1(twin, T0 + 50 * HOUR, CXM_EV_PURCHASE, "zoe", 1, 7);
  SWEEP(&a, 500, cxm_snapshot_save_file(h, path, 0), {
    size_t n = read_all(path, &now);
    ck_assert_uint_eq(n, old_n);
    ck_assert_int_eq(memcmp(now, old, n), 0);
    free(now);
    ck_assert_int_eq(count_files(dir), 1);
    same_state(h, twin, "failed save_file");
  });
  ck_assert_int_eq(count_files(dir), 1);
  ck_assert_int_gt(sweep_fails, 0);
  /* The new file loads into the new state. */
  cxm_ctx *back = counted_nokey(&(t_alloc){0});
  ck_assert_int_eq(cxm_snapshot_load_file(back, path), CXM_OK);
  same_state(back, twin, "reloaded after save_file");
  cxm_ctx_destroy(back);
  free(old);
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
  unlink(path);
  rmdir(dir);
}
END_TEST

START_TEST(oom_snapshot_load) {
  cxm_ctx *src = counted(&(t_alloc){0});
  populate(src);
  ck_assert_int_eq(cxm_position_set(src, "offset=42", 9), CXM_OK);
  void *buf;
  size_t len;
  ck_assert_int_eq(cxm_snapshot_save_buffer(src, CXM_SNAPSHOT_EMBED_KEY, &buf, &len), CXM_OK);
  char path[] = "/tmp/cxm-oom-load-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
  close(fd);
  for (int from_file = 0; from_file < 2; from_file++) {
    t_alloc a = {0};
    cxm_ctx *h = counted_nokey(&a);
    long empty_live = a.live;
    int64_t empty_mem = stat(h, CXM_STAT_MEMORY_BYTES);
    SWEEP(&a, 2000,
          from_file ? cxm_snapshot_load_file(h, path) : cxm_snapshot_load_buffer(h, buf, len),
          {
            /* Empty and usable: the next attempt may load. */
            ck_assert_int_eq(a.live, empty_live);
            ck_assert_int_eq(stat(h, CXM_STAT_MEMORY_BYTES), empty_mem);
            ck_assert_int_eq(stat(h, CXM_STAT_CUSTOMERS), 0);
            ck_assert_int_eq(stat(h, CXM_STAT_EVENTS_ACCEPTED), 0);
            int32_t nch = -1;
            ck_assert_int_eq(cxm_channel_count(h, &nch), CXM_OK);
            ck_assert_int_eq(nch, 0);
          });
    ck_assert_int_gt(sweep_fails, 5);
    sweep_fails = 0;
    same_state(h, src, "loaded after failures");
    const void *pos;
    size_t pl;
    ck_assert_int_eq(cxm_position_get(h, &pos, &pl), CXM_OK);
    ck_assert_uint_eq(pl, 9);
    ck_assert_int_eq(memcmp(pos, "offset=42", 9), 0);
    /* And it ingests (the key was embedded). */
    T_ADD0(h, T0 + 40 * HOUR, CXM_EV_TOUCH, "alice", 0);
    cxm_ctx_destroy(h);
    ck_assert_int_eq(a.live, 0);
  }
  cxm_buffer_free(src, buf, len);
  cxm_ctx_destroy(src);
  unlink(path);
}
END_TEST

/* ------------------------------------------------------------------------
 * Merge: a failure leaves dst (and what src reports) unchanged.
 */
static void fill_other(cxm_ctx *ctx) {
  int32_t app = t_chan(ctx, "app");
  int32_t vip = t_seg(ctx, "vip");
  t_assign(ctx, "xena", t_set(ctx, 1, &vip));
  for (int i = 0; i < 300; i++) {
    char id[16];
    snprintf(id, sizeof id, "m%03d", i);
    T_ADD1(ctx, T0 + i * 600, CXM_EV_PURCHASE, id, app, 1 + i % 7);
    T_ADD0(ctx, T0 + i * 600 + 60, CXM_EV_TOUCH, id, i % 2 ? app : CXM_NO_CHANNEL);
  }
  T_ADD1(ctx, T0 + 3 * HOUR, CXM_EV_NPS, "xena", app, 10);
  T_ADD1(ctx, T0 + 3 * HOUR, CXM_EV_PURCHASE, "alice", app, 5); /* in both */
}

START_TEST(oom_merge) {
  t_alloc a = {0};
  cxm_ctx *dst = counted(&a), *src = counted(&a); /* one counter: either side fails */
  cxm_ctx *dst_twin = counted(&(t_alloc){0}), *src_twin = counted(&(t_alloc){0});
  populate(dst);
  populate(dst_twin);
  fill_other(src);
  fill_other(src_twin);
  SWEEP(&a, 5000, cxm_ctx_merge(dst, src), {
    same_state(dst, dst_twin, "dst after a failed merge");
    same_state(src, src_twin, "src after a failed merge");
  });
  ck_assert_int_gt(sweep_fails, 2);
  ck_assert_int_eq(cxm_ctx_merge(dst_twin, src_twin), CXM_OK);
  same_state(dst, dst_twin, "merged after failures");
  same_state(src, src_twin, "src after the merge");
  cxm_ctx_destroy(dst);
  cxm_ctx_destroy(src);
  cxm_ctx_destroy(dst_twin);
  cxm_ctx_destroy(src_twin);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(oom_position_set) {
  t_alloc a = {0};
  cxm_ctx *h = counted(&a);
  ck_assert_int_eq(cxm_position_set(h, "p1", 2), CXM_OK);
  char big[CXM_POSITION_MAX];
  memset(big, 'p', sizeof big);
  const void *pos;
  size_t pl;
  SWEEP(&a, 100, cxm_position_set(h, big, sizeof big), {
    ck_assert_int_eq(cxm_position_get(h, &pos, &pl), CXM_OK);
    ck_assert_uint_eq(pl, 2);
    ck_assert_int_eq(memcmp(pos, "p1", 2), 0);
  });
  ck_assert_int_gt(sweep_fails, 0);
  ck_assert_int_eq(cxm_position_get(h, &pos, &pl), CXM_OK);
  ck_assert_uint_eq(pl, sizeof big);
  ck_assert_int_eq(memcmp(pos, big, pl), 0);
  cxm_ctx_destroy(h);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * The modules' queries, lists, watches, benchmarks, erasure and CLV models.
 */

/* A month of purchases, touches and answers over three channels: every
 * module has something to report. */
static void populate_journeys(cxm_ctx *ctx) {
  int32_t ch[3] = {t_chan(ctx, "web"), t_chan(ctx, "email"), t_chan(ctx, "ads")};
  int32_t gold = t_seg(ctx, "gold");
  int32_t gs = t_set(ctx, 1, &gold);
  char id[16];
  for (int i = 0; i < 60; i++) {
    snprintf(id, sizeof id, "j%02d", i);
    int64_t t = T0 + (int64_t)(i % 20) * DAY + i * 60;
    if (i % 3 == 0) t_assign(ctx, id, gs);
    T_ADD0(ctx, t, CXM_EV_TOUCH, id, ch[i % 3]);
    T_ADD(ctx, t + HOUR, CXM_EV_SESSION, id, ch[(i + 1) % 3], 1 + i % 4, 30);
    if (i % 2 == 0) T_ADD1(ctx, t + 2 * HOUR, CXM_EV_PURCHASE, id, ch[(i + 2) % 3], 10 + i);
    T_ADD1(ctx, t + 3 * HOUR, CXM_EV_NPS, id, CXM_NO_CHANNEL, i % 11);
    if (i % 4 == 0) T_ADD1(ctx, t + 9 * DAY, CXM_EV_PURCHASE, id, ch[i % 3], 5 + i % 7);
    if (i % 7 == 0) T_ADD0(ctx, t + 10 * DAY, CXM_EV_CHURN, id, CXM_NO_CHANNEL);
  }
}

/* Every module query into out[] (values, statuses as doubles); returns the
 * count. */
static size_t module_answers(cxm_ctx *ctx, double *out) {
  size_t k = 0;
  int64_t a, b, c;
  double x, y, z, w;
#define PUT_RC(call) out[k++] = (double)(call)
  for (int32_t sg = -1; sg < 1; sg++)
    for (int32_t chn = -1; chn < 3; chn++) {
      a = b = -1;
      PUT_RC(cxm_retention_active(ctx, sg, chn, T0 + 25 * DAY, &a, &b));
      out[k++] = (double)a; out[k++] = (double)b;
      x = y = -1; c = -1;
      PUT_RC(cxm_retention_rate(ctx, sg, chn, T0, T0 + 30 * DAY, &x, &y, &c));
      out[k++] = x; out[k++] = y; out[k++] = (double)c;
      PUT_RC(cxm_retention_lifespan(ctx, sg, chn, T0 + 30 * DAY, &x, &y, &c));
      out[k++] = x; out[k++] = y; out[k++] = (double)c;
      PUT_RC(cxm_retention_clv(ctx, sg, chn, T0 + 30 * DAY, &x, &y, &z, &w));
      out[k++] = x; out[k++] = y; out[k++] = z; out[k++] = w;
      for (int32_t st = CXM_FUNNEL_AWARENESS; st <= CXM_FUNNEL_RETENTION; st++) {
        a = b = -1; x = -1;
        PUT_RC(cxm_funnel_get(ctx, sg, chn, st, &a, &x, &b));
        out[k++] = (double)a; out[k++] = x; out[k++] = (double)b;
        PUT_RC(cxm_funnel_days(ctx, sg, chn, st, 0.5, &x, &a));
        out[k++] = x; out[k++] = (double)a;
      }
    }
  for (int m = CXM_ATTR_FIRST_TOUCH; m <= CXM_ATTR_POSITION_BASED; m++)
    for (int32_t chn = -1; chn < 3; chn++) {
      PUT_RC(cxm_attribution_get(ctx, m, chn, &x, &y, &z));
      out[k++] = x; out[k++] = y; out[k++] = z;
      PUT_RC(cxm_attribution_get_fixed(ctx, m, chn, &a, &b, &c));
      out[k++] = (double)a; out[k++] = (double)b; out[k++] = (double)c;
    }
  int32_t first = -1, months = -1;
  PUT_RC(cxm_cohort_span(ctx, &first, &months));
  out[k++] = first; out[k++] = months;
  int64_t on[8], after[8];
  size_t n = 0;
  PUT_RC(cxm_cohort_row(ctx, first, &a, on, after, 8, &n));
  out[k++] = (double)a; out[k++] = (double)n;
  for (size_t i = 0; i < n && i < 8; i++) { out[k++] = (double)on[i]; out[k++] = (double)after[i]; }
  int64_t nb[40], rb[40];
  PUT_RC(cxm_buyers_daily(ctx, T0, T0 + 40 * DAY, nb, rb, 40, &n));
  for (size_t i = 0; i < n && i < 40; i++) { out[k++] = (double)nb[i]; out[k++] = (double)rb[i]; }
  for (int32_t cat = CXM_NPS_DETRACTOR; cat <= CXM_NPS_PROMOTER; cat++) {
    uint64_t hs[128], next = 0;
    size_t cnt = 0;
    PUT_RC(cxm_customers_by_nps(ctx, CXM_ALL, cat, 0, hs, 128, &cnt, &next));
    out[k++] = (double)cnt; out[k++] = (double)next;
    uint64_t sum = 0;
    for (size_t i = 0; i < cnt; i++) sum += hs[i] >> 12;
    out[k++] = (double)sum;
  }
#undef PUT_RC
  return k;
}

static void answers_equal(const double *a, const double *b, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(t_same_double(a[i], b[i]), "%s: answer %zu: %.17g vs %.17g", what, i,
                  a[i], b[i]);
}

START_TEST(oom_module_queries_never_allocate) {
  enum { MAXA = 4096 };
  static double got[MAXA], want[MAXA];
  t_alloc a = {0};
  cxm_ctx *h = counted(&a), *twin = counted(&(t_alloc){0});
  populate_journeys(h);
  populate_journeys(twin);
  size_t nw = module_answers(twin, want);
  ck_assert_uint_lt(nw, MAXA);
  a.fail_all = 1;
  long calls = a.calls;
  size_t ng = module_answers(h, got);
  ck_assert_uint_eq(ng, nw);
  /* The same answers and statuses as the twin's: no query needed memory. */
  answers_equal(got, want, nw, "module queries under failing allocation");
  ck_assert_msg(a.calls == calls, "module queries made %ld allocation calls", a.calls - calls);
  /* Erasure never allocates either. */
  ck_assert_int_eq(cxm_customer_erase(h, "j04", 3), CXM_OK);
  ck_assert_int_eq(cxm_customer_erase(h, "j09", 3), CXM_OK);
  ck_assert_int_eq(a.calls, calls);
  a.fail_all = 0;
  ck_assert_int_eq(cxm_customer_erase(twin, "j04", 3), CXM_OK);
  ck_assert_int_eq(cxm_customer_erase(twin, "j09", 3), CXM_OK);
  same_state(h, twin, "after erasing under failing allocation");
  nw = module_answers(twin, want);
  ng = module_answers(h, got);
  ck_assert_uint_eq(ng, nw);
  answers_equal(got, want, nw, "module queries after erasure");
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

static int fired[2];
static void on_watch(void *user, int32_t watch, int32_t alerting, double value, int64_t n,
                     int64_t time) {
  (void)watch; (void)value; (void)n; (void)time;
  fired[*(int *)user] += alerting ? 1 : 0;
}

START_TEST(oom_watch_benchmark) {
  t_alloc a = {0};
  cxm_ctx *h = counted(&a), *twin = counted(&(t_alloc){0});
  populate_journeys(h);
  populate_journeys(twin);
  static int who[2] = {0, 1};
  fired[0] = fired[1] = 0;
  for (int w = 0; w < 40; w++) { /* enough watches for their table to grow */
    int32_t id = -7, tid = -8;
    double lvl = -50 + w;
    SWEEP(&a, 100, cxm_watch_add(h, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                 lvl, lvl + 5, 1, on_watch, &who[0], &id), {
      ck_assert_int_eq(id, -7);
      same_state(h, twin, "failed watch_add");
    });
    ck_assert_int_eq(cxm_watch_add(twin, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, CXM_WATCH_BELOW,
                                   lvl, lvl + 5, 1, on_watch, &who[1], &tid), CXM_OK);
    ck_assert_int_eq(id, tid);
  }
  for (int b = 0; b < 40; b++) {
    int kpi = 1 + b % 36;
    double v = 1.5 * b;
    SWEEP(&a, 100, cxm_benchmark_set(h, kpi, b % 2 ? 0 : CXM_ALL, CXM_ALL, v), {
      double gap = 0, bm = 0;
      int rc = cxm_benchmark_gap(h, kpi, b % 2 ? 0 : CXM_ALL, CXM_ALL, ALLW, &gap, NULL, &bm,
                                 NULL);
      double tg = 0, tbm = 0;
      int trc = cxm_benchmark_gap(twin, kpi, b % 2 ? 0 : CXM_ALL, CXM_ALL, ALLW, &tg, NULL,
                                  &tbm, NULL);
      ck_assert_int_eq(rc, trc);
      if (rc == CXM_OK) ck_assert(t_same_double(bm, tbm));
    });
    ck_assert_int_eq(cxm_benchmark_set(twin, kpi, b % 2 ? 0 : CXM_ALL, CXM_ALL, v), CXM_OK);
  }
  ck_assert_int_gt(sweep_fails, 0);
  /* Detractors drive NPS down through every watch level, each event swept
   * too: a failed event fires nothing, so the alerts are the twin's. */
  for (int i = 0; i < 200; i++) {
    char id[16];
    snprintf(id, sizeof id, "d%03d", i);
    int before = fired[0];
    SWEEP(&a, 100, t_ev(h, T0 + 30 * DAY + i, CXM_EV_NPS, id, CXM_NO_CHANNEL, 0, NAN), {
      ck_assert_int_eq(fired[0], before);
      ck_assert_int_eq(stat(h, CXM_STAT_EVENTS_ACCEPTED), stat(twin, CXM_STAT_EVENTS_ACCEPTED));
    });
    T_ADD1(twin, T0 + 30 * DAY + i, CXM_EV_NPS, id, CXM_NO_CHANNEL, 0);
    ck_assert_int_eq(fired[0], fired[1]);
  }
  ck_assert_int_gt(fired[1], 0);
  ck_assert_int_eq(fired[0], fired[1]);
  /* Reading and removing watches, and the detractor callback, allocate
   * nothing. */
  a.fail_all = 1;
  long calls = a.calls;
  int32_t al;
  double wv;
  int64_t wn;
  ck_assert_int_eq(cxm_watch_get(h, 0, &al, &wv, &wn), CXM_OK);
  ck_assert_int_eq(cxm_watch_remove(h, 0), CXM_OK);
  ck_assert_int_eq(cxm_watch_get(h, 0, &al, &wv, &wn), CXM_E_NOTFOUND);
  ck_assert_int_eq(cxm_detractor_callback_set(h, NULL, NULL), CXM_OK);
  ck_assert_int_eq(a.calls, calls);
  a.fail_all = 0;
  for (int b = 0; b < 40; b++) {
    double g1 = 0, g2 = 0;
    int kpi = 1 + b % 36;
    int r1 = cxm_benchmark_gap(h, kpi, b % 2 ? 0 : CXM_ALL, CXM_ALL, ALLW, &g1, NULL, NULL, NULL);
    int r2 = cxm_benchmark_gap(twin, kpi, b % 2 ? 0 : CXM_ALL, CXM_ALL, ALLW, &g2, NULL, NULL,
                               NULL);
    ck_assert_int_eq(r1, r2);
    if (r1 == CXM_OK) ck_assert(t_same_double(g1, g2));
  }
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

/* A CLV model: every value, equal between the two models. */
static void models_equal(const cxm_clv_model *m1, const cxm_clv_model *m2) {
  for (int32_t w = CXM_CLV_R; w <= CXM_CLV_UNIT_DAYS; w++) {
    double v1 = -1, v2 = -2;
    ck_assert_int_eq(cxm_clv_model_get(m1, w, &v1), CXM_OK);
    ck_assert_int_eq(cxm_clv_model_get(m2, w, &v2), CXM_OK);
    ck_assert_msg(t_same_double(v1, v2), "model value %d: %.17g vs %.17g", w, v1, v2);
  }
}

START_TEST(oom_clv_model) {
  t_alloc a = {0};
  cxm_ctx *h = counted(&a), *twin = counted(&(t_alloc){0});
  populate_journeys(h);
  populate_journeys(twin);
  cxm_clv_model *tm = NULL, *m = (cxm_clv_model *)&a;
  ck_assert_int_eq(cxm_clv_fit(twin, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &tm), CXM_OK);
  long live0 = a.live;
  SWEEP(&a, 2000, cxm_clv_fit(h, CXM_TIME_MAX, CXM_CLV_DAYS, CXM_ALL, 0, &m), {
    ck_assert_ptr_eq(m, (cxm_clv_model *)&a);
    ck_assert_int_eq(a.live, live0);
    same_state(h, twin, "failed clv_fit");
  });
  ck_assert_int_gt(sweep_fails, 0);
  models_equal(m, tm);
  double nc = 0;
  ck_assert_int_eq(cxm_clv_model_get(m, CXM_CLV_CUSTOMERS, &nc), CXM_OK);
  ck_assert(nc >= 2);
  size_t n = (size_t)nc;
  /* The per-customer answers, each sweep against the twin model's. */
  double pa = -1, ex = -1, sp = -1, clv = -1, tpa, tex, tsp, tclv;
  ck_assert_int_eq(cxm_clv_customer(tm, "j00", 3, 30, 0.01, &tpa, &tex, &tsp, &tclv), CXM_OK);
  SWEEP(&a, 100, cxm_clv_customer(m, "j00", 3, 30, 0.01, &pa, &ex, &sp, &clv), {
    ck_assert(pa == -1 && ex == -1 && sp == -1 && clv == -1);
  });
  ck_assert(t_same_double(pa, tpa) && t_same_double(ex, tex) && t_same_double(sp, tsp) &&
            t_same_double(clv, tclv));
  double *p1 = calloc(4 * n, sizeof *p1), *p2 = calloc(4 * n, sizeof *p2);
  ck_assert(p1 && p2);
  /* The model's statistics are read without allocating. */
  a.fail_all = 1;
  long calls = a.calls;
  uint64_t *hs = calloc(n, sizeof *hs);
  ck_assert_int_eq(cxm_clv_model_customers(m, n, hs, p1, p1 + n, p1 + 2 * n, p1 + 3 * n, NULL),
                   CXM_OK);
  ck_assert_int_eq(a.calls, calls);
  a.fail_all = 0;
  free(hs);
  ck_assert_int_eq(cxm_clv_predict(tm, 30, 0.01, n, p2, p2 + n, p2 + 2 * n, p2 + 3 * n), CXM_OK);
  SWEEP(&a, 100, cxm_clv_predict(m, 30, 0.01, n, p1, p1 + n, p1 + 2 * n, p1 + 3 * n), (void)0);
  answers_equal(p1, p2, 4 * n, "clv_predict");
  int64_t c1 = -1, c2 = -2;
  double s1[3] = {-1, -1, -1}, s2[3];
  ck_assert_int_eq(cxm_clv_segment(tm, 0, 30, 0, &c2, &s2[0], &s2[1], &s2[2]), CXM_OK);
  SWEEP(&a, 100, cxm_clv_segment(m, 0, 30, 0, &c1, &s1[0], &s1[1], &s1[2]),
        ck_assert_int_eq(c1, -1));
  ck_assert_int_eq(c1, c2);
  answers_equal(s1, s2, 3, "clv_segment");
  uint8_t *r1 = calloc(3 * n, 1), *r2 = calloc(3 * n, 1);
  int32_t *g1 = calloc(n, sizeof *g1), *g2 = calloc(n, sizeof *g2);
  ck_assert(r1 && r2 && g1 && g2);
  ck_assert_int_eq(cxm_rfm_scores(tm, n, r2, r2 + n, r2 + 2 * n, g2), CXM_OK);
  SWEEP(&a, 100, cxm_rfm_scores(m, n, r1, r1 + n, r1 + 2 * n, g1), (void)0);
  ck_assert_int_eq(memcmp(r1, r2, 3 * n), 0);
  ck_assert_int_eq(memcmp(g1, g2, n * sizeof *g1), 0);
  free(p1); free(p2); free(r1); free(r2); free(g1); free(g2);
  cxm_clv_model_destroy(m);
  cxm_clv_model_destroy(tm);
  cxm_ctx_destroy(h);
  cxm_ctx_destroy(twin);
  ck_assert_int_eq(a.live, 0);
}
END_TEST

static void reset_fails(void) { sweep_fails = 0; }

static Suite *oom_suite(void) {
  Suite *s = suite_create("oom");
  TCase *tc = tcase_create("sweep");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, reset_fails, NULL);
  tcase_add_test(tc, oom_queries_never_allocate);
  tcase_add_test(tc, oom_every_event_type);
  tcase_add_test(tc, oom_csv_stream);
  tcase_add_test(tc, oom_csv_feed_file);
  tcase_add_test(tc, oom_jsonl_stream);
  tcase_add_test(tc, oom_snapshot_save_buffer);
  tcase_add_test(tc, oom_snapshot_save_file);
  tcase_add_test(tc, oom_snapshot_load);
  tcase_add_test(tc, oom_merge);
  tcase_add_test(tc, oom_position_set);
  tcase_add_test(tc, oom_module_queries_never_allocate);
  tcase_add_test(tc, oom_watch_benchmark);
  tcase_add_test(tc, oom_clv_model);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return t_run(oom_suite()); }
