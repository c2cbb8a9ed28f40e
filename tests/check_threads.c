/*
 * check_threads.c - handles used from several threads at once.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * The header promises: a handle is used by one thread at a time; distinct
 * handles may be used concurrently; the library has no global mutable
 * state. Here 4 threads each own one handle and ingest a disjoint stream of
 * customers at the same time (released together by a barrier), through
 * the batch path, the single-event path, segment assignments and the CSV
 * reader, and query KPIs as they go. Each handle must then hold exactly
 * the KPIs of a single-threaded run of the same stream in a fresh handle,
 * and the KPIs read mid-stream must match too.
 *
 * .ci/run builds this test and the library sources with
 * `gcc -fsanitize=thread` and requires a run without any report.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <pthread.h>

#define NTHREADS 4
#define NEVENTS_MAX 96000 /* per stream; CXM_QUICK=1 (Valgrind): a quarter */
#define CHUNK 600         /* events per ingest step */
#define NCUST 1500        /* customers per stream */
#define NPROBES_MAX (NEVENTS_MAX / CHUNK)

static int nevents = NEVENTS_MAX; /* set once in main(), before any thread */
#define NEVENTS nevents
#define NPROBES (nevents / CHUNK)

static const char *const CHANNELS[] = {"web", "email", "store", "ads"};
static const char *const SEGMENTS[] = {"tier=gold", "tier=silver", "region=EU",
                                       "region=US", "new"};

typedef struct {
  int64_t time;
  int32_t type;
  char id[24];
  int chan;   /* index into CHANNELS, -1 = none */
  double v1, v2;
  int segmask; /* bit i = SEGMENTS[i]; -1 = unchanged */
} gev;

typedef struct {
  int seed;
  gev *ev;
  /* results, written by the thread that ran the stream */
  int failed;
  char why[256];
  int64_t probes[NPROBES_MAX][3]; /* events, revenue (minor units), promoters */
  cxm_ctx *ctx;
} stream;

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* A deterministic stream for one thread: its own customers, times mostly
   increasing over 60 days around 2026-01-01 (some late, some too late),
   every event type, some invalid events. */
static void gen_stream(stream *st) {
  uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(st->seed + 1);
  st->ev = calloc(NEVENTS, sizeof *st->ev);
  ck_assert_ptr_nonnull(st->ev);
  for (int i = 0; i < NEVENTS; i++) {
    gev *e = &st->ev[i];
    uint64_t r = rng_next(&s);
    e->time = T0 - 40 * DAY + (int64_t)i * (60 * DAY / NEVENTS) -
              (int64_t)(r % 8 == 0 ? (r >> 8) % (10 * DAY) : 0);
    r = rng_next(&s);
    e->type = 1 + (int32_t)(r % 14);
    if (r % 97 == 0) e->type = 99; /* rejected: unknown type */
    snprintf(e->id, sizeof e->id, "t%d-c%d", st->seed, (int)((r >> 8) % NCUST));
    e->chan = (int)((r >> 20) % 5) - 1;
    r = rng_next(&s);
    e->v1 = NAN;
    e->v2 = NAN;
    switch (e->type) {
      case CXM_EV_PURCHASE:
      case CXM_EV_REFUND:
      case CXM_EV_SPEND: e->v1 = (double)(r % 50000) / 100.0; break;
      case CXM_EV_NPS: e->v1 = (double)(r % 11); break;
      case CXM_EV_CSAT: e->v1 = (double)(1 + r % 5); break;
      case CXM_EV_CES: e->v1 = (double)(1 + r % 7); break;
      case CXM_EV_SESSION:
        e->v1 = (double)(r % 6);
        e->v2 = (double)((r >> 8) % 40);
        break;
      default: break;
    }
    e->segmask = (r >> 32) % 10 == 0 ? (int)((r >> 40) % 32) : -1;
  }
}

#define FAIL(st, ...)                                      \
  do {                                                     \
    if (!(st)->failed) {                                   \
      (st)->failed = 1;                                    \
      snprintf((st)->why, sizeof (st)->why, __VA_ARGS__);  \
    }                                                      \
  } while (0)

/* Ingest a whole stream into st->ctx (a new handle). No Check assertions
   here: this runs in threads; failures are recorded in st. */
static void run_stream(stream *st) {
  cxm_ctx *ctx = NULL;
  int32_t ch[4], seg[5], sets[32];
  if (cxm_ctx_create(&ctx) != CXM_OK || cxm_key_set(ctx, T_KEY, sizeof T_KEY) != CXM_OK) {
    FAIL(st, "create");
    return;
  }
  st->ctx = ctx;
  cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, 5 * DAY);
  /* Labels interned in a stream-dependent order: ids differ per handle. */
  for (int k = 0; k < 4; k++) {
    int i = (k + st->seed) % 4;
    if (cxm_channel_intern(ctx, CHANNELS[i], strlen(CHANNELS[i]), &ch[i]) != CXM_OK)
      FAIL(st, "channel_intern");
  }
  for (int k = 0; k < 5; k++) {
    int i = (k + 2 * st->seed) % 5;
    if (cxm_segment_intern(ctx, SEGMENTS[i], strlen(SEGMENTS[i]), &seg[i]) != CXM_OK)
      FAIL(st, "segment_intern");
  }
  for (int m = 0; m < 32; m++) {
    int32_t ids[5];
    size_t n = 0;
    for (int i = 0; i < 5; i++)
      if (m & (1 << i)) ids[n++] = seg[i];
    if (cxm_segset_intern(ctx, n ? ids : NULL, n, &sets[m]) != CXM_OK) FAIL(st, "segset_intern");
  }
  cxm_csv *csv = NULL;
  if (cxm_csv_create(ctx, &csv) != CXM_OK) {
    FAIL(st, "csv_create");
    return;
  }
  int64_t *tm = malloc(CHUNK * sizeof *tm);
  int64_t *of = malloc((CHUNK + 1) * sizeof *of);
  int32_t *ty = malloc(CHUNK * sizeof *ty), *cc = malloc(CHUNK * sizeof *cc);
  int32_t *ss = malloc(CHUNK * sizeof *ss);
  double *v1 = malloc(CHUNK * sizeof *v1), *v2 = malloc(CHUNK * sizeof *v2);
  uint8_t *ids = malloc(CHUNK * 24);
  char *text = malloc((size_t)CHUNK * 160 + 128);
  if (!tm || !of || !ty || !cc || !ss || !v1 || !v2 || !ids || !text) {
    FAIL(st, "malloc");
    goto out;
  }
  for (int c = 0; c < NPROBES; c++) {
    const gev *e = &st->ev[c * CHUNK];
    switch (c % 3) {
      case 0: { /* the batch path */
        of[0] = 0;
        for (int i = 0; i < CHUNK; i++) {
          size_t len = strlen(e[i].id);
          tm[i] = e[i].time;
          ty[i] = e[i].type;
          memcpy(ids + of[i], e[i].id, len);
          of[i + 1] = of[i] + (int64_t)len;
          cc[i] = e[i].chan < 0 ? CXM_NO_CHANNEL : ch[e[i].chan];
          v1[i] = e[i].v1;
          v2[i] = e[i].v2;
          ss[i] = e[i].segmask < 0 ? -1 : sets[e[i].segmask];
        }
        size_t acc = 0;
        int rc = cxm_events_add(ctx, CHUNK, tm, ty, ids, of, cc, v1, v2, ss, &acc, NULL);
        if (rc != CXM_OK && rc != CXM_E_TYPE && rc != CXM_E_LATE && rc != CXM_E_MISSING)
          FAIL(st, "events_add: %d (%s)", rc, cxm_ctx_errmsg(ctx));
        break;
      }
      case 1: /* single events and segment assignments */
        for (int i = 0; i < CHUNK; i++) {
          if (e[i].segmask >= 0 &&
              cxm_customer_set_segments(ctx, e[i].id, strlen(e[i].id), sets[e[i].segmask]) != CXM_OK)
            FAIL(st, "set_segments");
          int rc = cxm_event_add(ctx, e[i].time, e[i].type, e[i].id, strlen(e[i].id),
                                 e[i].chan < 0 ? CXM_NO_CHANNEL : ch[e[i].chan], e[i].v1, e[i].v2);
          if (rc != CXM_OK && rc != CXM_E_TYPE && rc != CXM_E_LATE && rc != CXM_E_MISSING)
            FAIL(st, "event_add: %d (%s)", rc, cxm_ctx_errmsg(ctx));
        }
        break;
      default: { /* the CSV reader */
        size_t n = (size_t)sprintf(text, "time,customer,type,channel,value,value2,segments\n");
        for (int i = 0; i < CHUNK; i++) {
          const char *tn = cxm_event_type_name(e[i].type);
          char segs[96] = "";
          if (e[i].segmask == 0) {
            strcpy(segs, "-");
          } else if (e[i].segmask > 0) {
            for (int k = 0; k < 5; k++)
              if (e[i].segmask & (1 << k)) {
                if (segs[0]) strcat(segs, ";");
                strcat(segs, SEGMENTS[k]);
              }
          }
          n += (size_t)sprintf(text + n, "%lld,%s,%s,%s,", (long long)e[i].time, e[i].id,
                               tn ? tn : "bogus", e[i].chan < 0 ? "" : CHANNELS[e[i].chan]);
          if (!isnan(e[i].v1)) n += (size_t)sprintf(text + n, "%.2f", e[i].v1);
          text[n++] = ',';
          if (!isnan(e[i].v2)) n += (size_t)sprintf(text + n, "%.0f", e[i].v2);
          n += (size_t)sprintf(text + n, ",%s\n", segs);
        }
        /* in two feeds, split mid-line */
        if (cxm_csv_feed(csv, text, n / 2) != CXM_OK ||
            cxm_csv_feed(csv, text + n / 2, n - n / 2) != CXM_OK || cxm_csv_finish(csv) != CXM_OK)
          FAIL(st, "csv: %s", cxm_ctx_errmsg(ctx));
        break;
      }
    }
    /* Probes: read while the other threads write their own handles. */
    int64_t v, n;
    if (cxm_kpi_get_int(ctx, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, ALLW, &v, &n) != CXM_OK) FAIL(st, "probe");
    st->probes[c][0] = v;
    if (cxm_kpi_get_int(ctx, CXM_KPI_REVENUE, seg[0], CXM_ALL, ALLW, &v, &n) != CXM_OK) FAIL(st, "probe");
    st->probes[c][1] = v;
    if (cxm_kpi_get_int(ctx, CXM_KPI_NPS_PROMOTERS, CXM_ALL, ch[1], T0 - 7 * DAY, T0 + 7 * DAY, &v,
                        &n) != CXM_OK)
      FAIL(st, "probe");
    st->probes[c][2] = v;
  }
out:
  cxm_csv_destroy(csv);
  free(tm);
  free(of);
  free(ty);
  free(cc);
  free(ss);
  free(v1);
  free(v2);
  free(ids);
  free(text);
}

static pthread_barrier_t start_line;

static void *thread_main(void *arg) {
  pthread_barrier_wait(&start_line);
  run_stream(arg);
  return NULL;
}

typedef struct merge_job {
  cxm_ctx *dst, *src;
  int rc;
} merge_job;

static void *merge_main(void *arg) {
  merge_job *j = arg;
  pthread_barrier_wait(&start_line);
  j->rc = cxm_ctx_merge(j->dst, j->src);
  return NULL;
}

START_TEST(parallel_equals_serial) {
  stream par[NTHREADS], ser[NTHREADS];
  pthread_t th[NTHREADS];
  memset(par, 0, sizeof par);
  memset(ser, 0, sizeof ser);
  for (int t = 0; t < NTHREADS; t++) {
    par[t].seed = ser[t].seed = t;
    gen_stream(&par[t]);
    ser[t].ev = par[t].ev;
  }
  ck_assert_int_eq(pthread_barrier_init(&start_line, NULL, NTHREADS), 0);
  for (int t = 0; t < NTHREADS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main, &par[t]), 0);
  for (int t = 0; t < NTHREADS; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
  pthread_barrier_destroy(&start_line);

  for (int t = 0; t < NTHREADS; t++) {
    char what[64];
    t_snap a, b;
    int64_t acc_a = -1, acc_b = -2, rej_a = -1, rej_b = -2;
    ck_assert_msg(!par[t].failed, "thread %d: %s", t, par[t].why);
    run_stream(&ser[t]); /* the same stream, alone */
    ck_assert_msg(!ser[t].failed, "serial %d: %s", t, ser[t].why);
    ck_assert_int_eq(cxm_stat_get(par[t].ctx, CXM_STAT_EVENTS_ACCEPTED, &acc_a), CXM_OK);
    ck_assert_int_eq(cxm_stat_get(ser[t].ctx, CXM_STAT_EVENTS_ACCEPTED, &acc_b), CXM_OK);
    ck_assert_int_eq(cxm_stat_get(par[t].ctx, CXM_STAT_EVENTS_REJECTED, &rej_a), CXM_OK);
    ck_assert_int_eq(cxm_stat_get(ser[t].ctx, CXM_STAT_EVENTS_REJECTED, &rej_b), CXM_OK);
    ck_assert_int_eq(acc_a, acc_b);
    ck_assert_int_eq(rej_a, rej_b);
    /* the streams are not trivial: most events accepted, some rejected */
    ck_assert_int_gt(acc_a, NEVENTS / 2);
    ck_assert_int_gt(rej_a, 0);
    for (int c = 0; c < NPROBES; c++)
      for (int k = 0; k < 3; k++)
        ck_assert_msg(par[t].probes[c][k] == ser[t].probes[c][k],
                      "stream %d chunk %d probe %d: %lld in a thread, %lld alone", t, c, k,
                      (long long)par[t].probes[c][k], (long long)ser[t].probes[c][k]);
    ck_assert_int_eq(par[t].probes[NPROBES - 1][0], acc_a);
    t_snap_take(par[t].ctx, &a);
    t_snap_take(ser[t].ctx, &b);
    snprintf(what, sizeof what, "stream %d", t);
    t_snap_assert_eq(&a, &b, what);
    t_snap_free(&a);
    t_snap_free(&b);
  }

  /* Merges: 1 into 0 and 3 into 2 in two threads at once, then 2 into 0. */
  merge_job jobs[2] = {{par[0].ctx, par[1].ctx, -1}, {par[2].ctx, par[3].ctx, -1}};
  pthread_t mt[2];
  ck_assert_int_eq(pthread_barrier_init(&start_line, NULL, 2), 0);
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(pthread_create(&mt[k], NULL, merge_main, &jobs[k]), 0);
  for (int k = 0; k < 2; k++) ck_assert_int_eq(pthread_join(mt[k], NULL), 0);
  pthread_barrier_destroy(&start_line);
  for (int k = 0; k < 2; k++)
    ck_assert_msg(jobs[k].rc == CXM_OK, "merge in a thread: %d (%s)", jobs[k].rc,
                  cxm_ctx_errmsg(jobs[k].dst));
  ck_assert_int_eq(cxm_ctx_merge(par[0].ctx, par[2].ctx), CXM_OK);
  for (int t = 1; t < NTHREADS; t++) ck_assert_int_eq(cxm_ctx_merge(ser[0].ctx, ser[t].ctx), CXM_OK);
  {
    t_snap a, b;
    int64_t ca = -1, cb = -2;
    ck_assert_int_eq(cxm_stat_get(par[0].ctx, CXM_STAT_CUSTOMERS, &ca), CXM_OK);
    ck_assert_int_eq(cxm_stat_get(ser[0].ctx, CXM_STAT_CUSTOMERS, &cb), CXM_OK);
    ck_assert_int_eq(ca, cb);
    ck_assert_int_gt(ca, 3 * NCUST); /* four disjoint streams of customers */
    t_snap_take(par[0].ctx, &a);
    t_snap_take(ser[0].ctx, &b);
    t_snap_assert_eq(&a, &b, "merged in threads vs merged serially");
    t_snap_free(&a);
    t_snap_free(&b);
  }
  for (int t = 0; t < NTHREADS; t++) {
    cxm_ctx_destroy(par[t].ctx);
    cxm_ctx_destroy(ser[t].ctx);
    free(par[t].ev);
  }
}
END_TEST

int main(void) {
  const char *quick = getenv("CXM_QUICK");
  if (quick && strcmp(quick, "1") == 0) nevents = NEVENTS_MAX / 4;
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("threads");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, parallel_equals_serial);
  suite_add_tcase(s, tc);
  return t_run(s);
}
