/*
 * bench_ingest.c - ingest speed and state size of libcxmetrics.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Usage: bench_ingest CUSTOMERS EVENTS DAYS SEED [CSV] [BATCH]
 *
 * Everything below runs for each configuration of CXM_OPT_MODULES (set
 * before the first event): "core" (0), "issue3" (retention, funnel,
 * attribution: the modules whose targets issue 3 sets) and "all" (those and
 * predictive CLV); BENCH_MODULES=mask adds "custom" with that mask.
 * 1. Builds the workload of workload.h in memory as column arrays (once) and
 *    times cxm_events_add() over it in batches of BATCH events (default
 *    4096).
 * 2. Reports the state size: CXM_STAT_MEMORY_BYTES after the ingest minus
 *    the same statistic of an empty handle, per customer; and the same
 *    difference as counted by this program's own allocator hooks.
 * 3. If CSV is given (the same workload written by gen_events), times
 *    cxm_csv_feed_file() on it into a fresh handle and reports MB/s
 *    (1 MB = 10^6 bytes); then checks that both handles hold the same exact
 *    counts and sums (all, per channel, per segment).
 * BENCH_CONFIGS=word[,word...] runs only those (core, issue3, all, custom).
 * BENCH_REPEAT=k times the batch ingest k times (each into a fresh handle)
 * and reports the run with the least CPU time, the others listed: on a
 * shared machine the best run is the one least disturbed.
 * BENCH_REORDER=G (an experiment on locality) stably reorders the workload
 * before timing, within each group of G events, by the customer's record
 * index >> BENCH_REORDER_SHIFT (default 14; spend first): what partitioning
 * a batch by record range would gain if it cost nothing (docs/architecture.md).
 * It runs on whatever cores it is given; run it under `taskset -c 0` for the
 * one-core figures.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

/* Issue 2 (core) and issue 3 (every module). */
#define TARGET_EVENTS_PER_S 10e6
#define TARGET_CSV_MB_PER_S 150.0
#define TARGET_BYTES_PER_CUSTOMER 96.0
#define TARGET_ALL_EVENTS_PER_S 8e6
#define TARGET_ALL_BYTES_PER_CUSTOMER 160.0

/* One configuration of the handle; a target of 0 means none applies. */
typedef struct config {
  const char *name; /* also the BENCH_CONFIGS word that selects it */
  int64_t modules;  /* CXM_OPT_MODULES */
  double target_eps, target_bpc;
} config;

/* Issue 3's targets are for its own modules (retention, funnel,
   attribution); predictive CLV came with issue 4, which set none. */
static config configs[] = {
    {"core", 0, TARGET_EVENTS_PER_S, TARGET_BYTES_PER_CUSTOMER},
    {"issue3", CXM_MOD_RETENTION | CXM_MOD_FUNNEL | CXM_MOD_ATTRIBUTION,
     TARGET_ALL_EVENTS_PER_S, TARGET_ALL_BYTES_PER_CUSTOMER},
    {"all", CXM_MOD_ALL, 0, 0},
    {"custom", 0, 0, 0}, /* BENCH_MODULES=mask */
};
#define NCONFIGS 4

static void print_target(double value, double target, int at_most,
                         const char *unit) {
  if (target <= 0) {
    printf("[no target]");
    return;
  }
  int met = at_most ? value <= target : value >= target;
  printf("[target %s %.0f%s: %s]", at_most ? "<=" : ">=", target, unit,
         met ? "met" : "NOT met");
}

static const uint8_t bench_key[CXM_KEY_SIZE] = {1, 2,  3,  4,  5,  6,  7,  8,
                                                9, 10, 11, 12, 13, 14, 15, 16};

/* ---- Counting allocator: a 16-byte header keeps each block's size. ---- */
typedef struct counter {
  int64_t live;
  int64_t peak;
} counter;

static void *cnt_malloc(void *opaque, size_t size) {
  counter *c = opaque;
  size_t *p = malloc(size + 16);
  if (!p) return NULL;
  p[0] = size;
  c->live += (int64_t)size;
  if (c->live > c->peak) c->peak = c->live;
  return (char *)p + 16;
}

static void *cnt_realloc(void *opaque, void *ptr, size_t size) {
  counter *c = opaque;
  if (!ptr) return cnt_malloc(opaque, size);
  size_t *old = (size_t *)((char *)ptr - 16);
  size_t old_size = old[0];
  size_t *p = realloc(old, size + 16);
  if (!p) return NULL;
  p[0] = size;
  c->live += (int64_t)size - (int64_t)old_size;
  if (c->live > c->peak) c->peak = c->live;
  return (char *)p + 16;
}

static void cnt_free(void *opaque, void *ptr) {
  counter *c = opaque;
  size_t *p = (size_t *)((char *)ptr - 16);
  c->live -= (int64_t)p[0];
  free(p);
}

/* ---- Helpers. ------------------------------------------------------------ */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return -1;
  *out = v;
  return 0;
}

static void die(const char *what, cxm_ctx *ctx, int rc) {
  fprintf(stderr, "bench_ingest: %s: %s (%s)\n", what, cxm_strerror(rc),
          ctx ? cxm_ctx_errmsg(ctx) : "");
  exit(1);
}

static void print_machine(void) {
  char model[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "model name", 10) == 0) {
        char *colon = strchr(line, ':');
        if (colon) {
          colon++;
          while (*colon == ' ' || *colon == '\t') colon++;
          snprintf(model, sizeof model, "%s", colon);
          model[strcspn(model, "\n")] = 0;
        }
        break;
      }
    }
    fclose(f);
  }
  time_t t = time(NULL);
  struct tm tm;
  char date[64];
  gmtime_r(&t, &tm);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf("machine: nproc=%ld, cpu=%s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
  printf("date: %s\n", date);
  printf("libcxmetrics: %s\n", cxm_version_string());
}

static cxm_ctx *new_handle(counter *cnt, const config *cf) {
  cxm_ctx *ctx = NULL;
  int rc = cxm_ctx_create_with_allocator(&ctx, cnt_malloc, cnt_realloc,
                                         cnt_free, cnt);
  if (rc) die("cxm_ctx_create_with_allocator", NULL, rc);
  rc = cxm_key_set(ctx, bench_key, sizeof bench_key);
  if (rc) die("cxm_key_set", ctx, rc);
  rc = cxm_option_set(ctx, CXM_OPT_MODULES, cf->modules);
  if (rc) die("cxm_option_set(CXM_OPT_MODULES)", ctx, rc);
  return ctx;
}

static int64_t stat_of(cxm_ctx *ctx, int which) {
  int64_t v = 0;
  int rc = cxm_stat_get(ctx, which, &v);
  if (rc) die("cxm_stat_get", ctx, rc);
  return v;
}

/* ---- The workload as columns. --------------------------------------------- */
typedef struct columns {
  size_t n;
  int64_t *times;
  int32_t *types;
  uint8_t *id_data;
  int64_t *id_offsets;
  int32_t *channels; /* wl channel index; mapped to library ids below */
  double *values, *values2;
  int32_t *segsets; /* wl segment code or -1; mapped below */
  int64_t *cust;    /* the workload's customer of each event (BENCH_REORDER only) */
} columns;

static void build_columns(columns *c, wl_gen *g) {
  size_t n = (size_t)g->events;
  c->n = n;
  c->times = malloc(n * sizeof *c->times);
  c->types = malloc(n * sizeof *c->types);
  c->id_data = malloc(n * WL_ID_LEN + 1);
  c->id_offsets = malloc((n + 1) * sizeof *c->id_offsets);
  c->channels = malloc(n * sizeof *c->channels);
  c->values = malloc(n * sizeof *c->values);
  c->values2 = malloc(n * sizeof *c->values2);
  c->segsets = malloc(n * sizeof *c->segsets);
  c->cust = getenv("BENCH_REORDER") ? malloc(n * sizeof *c->cust) : NULL;
  if (!c->times || !c->types || !c->id_data || !c->id_offsets ||
      !c->channels || !c->values || !c->values2 || !c->segsets) {
    fprintf(stderr, "bench_ingest: out of memory for %zu events\n", n);
    exit(1);
  }
  int64_t off = 0;
  for (size_t i = 0; i < n; i++) {
    wl_event e;
    wl_gen_next(g, &e);
    c->times[i] = e.time;
    c->types[i] = e.type;
    c->id_offsets[i] = off;
    if (e.customer >= 0) {
      memcpy(c->id_data + off, g->ids + (size_t)e.customer * WL_ID_LEN,
             WL_ID_LEN);
      off += WL_ID_LEN;
    }
    c->channels[i] = e.channel;
    c->values[i] = wl_value(&e);
    c->values2[i] = wl_value2(&e);
    c->segsets[i] = e.segcode;
    if (c->cust) c->cust[i] = e.customer;
  }
  c->id_offsets[n] = off;
}

static void free_columns(columns *c) {
  free(c->times);
  free(c->types);
  free(c->id_data);
  free(c->id_offsets);
  free(c->channels);
  free(c->values);
  free(c->values2);
  free(c->segsets);
}

/* BENCH_REORDER=G (experiment): within each group of G events, a stable
   sort by the customer's record index >> BENCH_REORDER_SHIFT (default 14),
   the record index being the customer's rank of first appearance, as the
   library assigns it; spend first. Each customer's events keep their order.
   It shows what ordering by record range gains, without its cost. */
static void reorder_columns(columns *c, size_t group, unsigned shift, uint64_t customers) {
  size_t n = c->n;
  int64_t *rank = malloc(customers * sizeof *rank);
  size_t nb = (size_t)(customers >> shift) + 2;
  size_t *cntb = malloc(nb * sizeof *cntb);
  size_t *perm = malloc(n * sizeof *perm);
  columns d = *c;
  d.times = malloc(n * sizeof *d.times);
  d.types = malloc(n * sizeof *d.types);
  d.id_data = malloc(n * WL_ID_LEN + 1);
  d.id_offsets = malloc((n + 1) * sizeof *d.id_offsets);
  d.channels = malloc(n * sizeof *d.channels);
  d.values = malloc(n * sizeof *d.values);
  d.values2 = malloc(n * sizeof *d.values2);
  d.segsets = malloc(n * sizeof *d.segsets);
  if (!rank || !cntb || !perm || !d.times || !d.types || !d.id_data ||
      !d.id_offsets || !d.channels || !d.values || !d.values2 || !d.segsets) {
    fprintf(stderr, "bench_ingest: out of memory for the reorder\n");
    exit(1);
  }
  for (uint64_t k = 0; k < customers; k++) rank[k] = -1;
  int64_t next = 0;
  for (size_t i = 0; i < n; i++)
    if (c->cust[i] >= 0 && rank[c->cust[i]] < 0) rank[c->cust[i]] = next++;
  for (size_t g0 = 0; g0 < n; g0 += group) {
    size_t m = n - g0 < group ? n - g0 : group;
    memset(cntb, 0, nb * sizeof *cntb);
    for (size_t i = g0; i < g0 + m; i++)
      cntb[c->cust[i] < 0 ? 0 : 1 + ((size_t)rank[c->cust[i]] >> shift)]++;
    size_t sum = g0;
    for (size_t b = 0; b < nb; b++) {
      size_t t = cntb[b];
      cntb[b] = sum;
      sum += t;
    }
    for (size_t i = g0; i < g0 + m; i++)
      perm[cntb[c->cust[i] < 0 ? 0 : 1 + ((size_t)rank[c->cust[i]] >> shift)]++] = i;
  }
  int64_t off = 0;
  for (size_t j = 0; j < n; j++) {
    size_t i = perm[j];
    d.times[j] = c->times[i];
    d.types[j] = c->types[i];
    d.channels[j] = c->channels[i];
    d.values[j] = c->values[i];
    d.values2[j] = c->values2[i];
    d.segsets[j] = c->segsets[i];
    d.id_offsets[j] = off;
    int64_t len = c->id_offsets[i + 1] - c->id_offsets[i];
    memcpy(d.id_data + off, c->id_data + c->id_offsets[i], (size_t)len);
    off += len;
  }
  d.id_offsets[n] = off;
  free_columns(c);
  *c = d;
  free(rank);
  free(cntb);
  free(perm);
}

/* The library ids of the workload's labels and segment sets. */
typedef struct label_ids {
  int32_t chan_id[WL_NCHANNELS], seg_id[WL_NSEGLABELS], set_id[WL_NSEGCODES];
} label_ids;

/* Intern the workload's labels and segment sets into a handle. */
static void intern_labels(cxm_ctx *ctx, label_ids *ids) {
  int32_t *chan_id = ids->chan_id, *seg_id = ids->seg_id, *set_id = ids->set_id;
  int rc;
  for (int k = 0; k < WL_NCHANNELS; k++) {
    rc = cxm_channel_intern(ctx, wl_channels[k], strlen(wl_channels[k]),
                            &chan_id[k]);
    if (rc) die("cxm_channel_intern", ctx, rc);
  }
  for (int k = 0; k < WL_NSEGLABELS; k++) {
    rc = cxm_segment_intern(ctx, wl_seglabels[k], strlen(wl_seglabels[k]),
                            &seg_id[k]);
    if (rc) die("cxm_segment_intern", ctx, rc);
  }
  for (int code = 0; code < WL_NSEGCODES; code++) {
    int labels[3];
    int32_t segs[3];
    int m = wl_segcode_labels(code, labels);
    for (int k = 0; k < m; k++) segs[k] = seg_id[labels[k]];
    rc = cxm_segset_intern(ctx, segs, (size_t)m, &set_id[code]);
    if (rc) die("cxm_segset_intern", ctx, rc);
  }
}

/* Rewrites the channel and segment-set columns into library ids. */
static void map_columns(columns *c, const label_ids *ids) {
  for (size_t i = 0; i < c->n; i++) {
    c->channels[i] = ids->chan_id[c->channels[i]];
    if (c->segsets[i] >= 0) c->segsets[i] = ids->set_id[c->segsets[i]];
  }
}

/* ---- Benchmarks. ----------------------------------------------------------- */
static void build_workload(columns *c, uint64_t customers, uint64_t events,
                           uint64_t days, uint64_t seed, label_ids *ids) {
  wl_gen g;
  if (wl_gen_init(&g, customers, events, days, seed)) {
    fprintf(stderr, "bench_ingest: bad sizes or out of memory\n");
    exit(1);
  }
  double t0 = now_s();
  build_columns(c, &g);
  const char *ro = getenv("BENCH_REORDER"), *rs = getenv("BENCH_REORDER_SHIFT");
  if (ro) {
    uint64_t group = 0, shift = 14;
    if (!c->cust || parse_u64(ro, &group) || group == 0 || (rs && parse_u64(rs, &shift)) ||
        shift > 32) {
      fprintf(stderr, "bench_ingest: BENCH_REORDER: a group size > 0; _SHIFT 0..32\n");
      exit(2);
    }
    reorder_columns(c, (size_t)group, (unsigned)shift, customers);
    printf("workload reordered: groups of %llu events by record index >> %llu\n",
           (unsigned long long)group, (unsigned long long)shift);
  }
  free(c->cust);
  c->cust = NULL;
  double t_build = now_s() - t0;
  wl_gen_free(&g);
  /* Every handle interns the labels in the same order, so gets these ids. */
  counter cnt = {0, 0};
  cxm_ctx *ctx = new_handle(&cnt, &configs[0]);
  intern_labels(ctx, ids);
  cxm_ctx_destroy(ctx);
  map_columns(c, ids);
  printf("workload: %llu customers, %zu events, %llu days, seed %llu "
         "(built in %.2f s, not timed below)\n",
         (unsigned long long)customers, c->n, (unsigned long long)days,
         (unsigned long long)seed, t_build);
}

/* One timed batch ingest of the whole workload into a fresh handle. */
static cxm_ctx *ingest_once(const columns *c, const label_ids *ids, size_t batch,
                            const config *cf, counter *cnt, int64_t *mem0,
                            int64_t *cnt0, size_t *accepted_total, double *wall,
                            double *cpu) {
  int64_t live0 = cnt->live;
  cxm_ctx *ctx = new_handle(cnt, cf);
  *mem0 = stat_of(ctx, CXM_STAT_MEMORY_BYTES);
  *cnt0 = cnt->live - live0; /* the empty handle's bytes by the hooks */
  label_ids got;
  intern_labels(ctx, &got);
  if (memcmp(&got, ids, sizeof got)) {
    fprintf(stderr, "bench_ingest: label ids differ between handles\n");
    exit(1);
  }
  *accepted_total = 0;
  int first_rc = 0;
  double w0 = now_s(), c0 = cpu_s();
  for (size_t i = 0; i < c->n; i += batch) {
    size_t m = c->n - i < batch ? c->n - i : batch;
    size_t accepted = 0;
    int rc = cxm_events_add(ctx, m, c->times + i, c->types + i, c->id_data,
                            c->id_offsets + i, c->channels + i, c->values + i,
                            c->values2 + i, c->segsets + i, &accepted, NULL);
    if (rc && !first_rc) {
      first_rc = rc;
      fprintf(stderr, "bench_ingest: batch at %zu: %s (%s)\n", i,
              cxm_strerror(rc), cxm_ctx_errmsg(ctx));
    }
    *accepted_total += accepted;
  }
  *wall = now_s() - w0;
  *cpu = cpu_s() - c0;
  return ctx;
}

static cxm_ctx *bench_batch(const columns *c, const label_ids *ids, size_t batch,
                            const config *cf, counter *cnt, int repeat) {
  cxm_ctx *ctx = NULL;
  int64_t mem0 = 0, cnt0 = 0;
  size_t accepted_total = 0;
  double wall = 0, cpu = 0;
  for (int k = 0; k < repeat; k++) {
    int64_t m0, c0;
    size_t acc;
    double w, u;
    cxm_ctx *x = ingest_once(c, ids, batch, cf, cnt, &m0, &c0, &acc, &w, &u);
    if (repeat > 1)
      printf("[%s] run %d of %d: %.3f s wall, %.3f s cpu: %.2f M events per cpu second\n",
             cf->name, k + 1, repeat, w, u, (double)c->n / u / 1e6);
    if (!ctx || u < cpu) {
      cxm_ctx_destroy(ctx);
      ctx = x;
      mem0 = m0;
      cnt0 = c0;
      accepted_total = acc;
      wall = w;
      cpu = u;
    } else {
      cxm_ctx_destroy(x);
    }
  }
  /* Only the kept handle is alive now: the hooks' live bytes are its own
     (the peak, with BENCH_REPEAT > 1, includes the kept handle while the
     next one grew). */
  double eps = (double)c->n / wall;
  printf("[%s] batch ingest: %zu events in %.3f s wall (%.3f s cpu), batch %zu: "
         "%.2f M events/s  ",
         cf->name, c->n, wall, cpu, batch, eps / 1e6);
  print_target(eps / 1e6, cf->target_eps / 1e6, 0, " M/s");
  printf("\n");
  printf("  per cpu second: %.2f M events/s (differs from wall when the core "
         "is shared)\n", (double)c->n / cpu / 1e6);
  printf("  accepted %zu, rejected %lld, late %lld\n", accepted_total,
         (long long)stat_of(ctx, CXM_STAT_EVENTS_REJECTED),
         (long long)stat_of(ctx, CXM_STAT_EVENTS_LATE));

  int64_t ncust = stat_of(ctx, CXM_STAT_CUSTOMERS);
  int64_t mem1 = stat_of(ctx, CXM_STAT_MEMORY_BYTES);
  int64_t cnt1 = cnt->live;
  double bpc = ncust ? (double)(mem1 - mem0) / (double)ncust : 0.0;
  double bpc_cnt = ncust ? (double)(cnt1 - cnt0) / (double)ncust : 0.0;
  printf("[%s] state: %lld customers, CXM_STAT_MEMORY_BYTES %lld (empty handle "
         "%lld): %.1f bytes/customer  ",
         cf->name, (long long)ncust, (long long)mem1, (long long)mem0, bpc);
  print_target(bpc, cf->target_bpc, 1, "");
  printf("\n");
  printf("  allocator hooks: %lld bytes live (empty %lld), peak %lld: "
         "%.1f bytes/customer\n",
         (long long)cnt1, (long long)cnt0, (long long)cnt->peak, bpc_cnt);
  return ctx;
}

static void on_csv_error(void *user, uint64_t line, int status,
                         const char *message) {
  uint64_t *shown = user;
  if ((*shown)++ < 5)
    fprintf(stderr, "bench_ingest: csv line %llu: %s: %s\n",
            (unsigned long long)line, cxm_strerror(status), message);
}

/* The CSV handle must hold what the batch handle holds: same customers and
 * the same exact counts and sums in every channel and segment scope (labels
 * matched by name). Returns the number of mismatches. */
static int cross_check(cxm_ctx *a, cxm_ctx *b) {
  static const int kpis[] = {
      CXM_KPI_EVENTS,        CXM_KPI_NPS_PROMOTERS, CXM_KPI_NPS_DETRACTORS,
      CXM_KPI_REVENUE,       CXM_KPI_REFUNDS,       CXM_KPI_ORDERS,
      CXM_KPI_BUYERS,        CXM_KPI_SESSIONS,      CXM_KPI_SPEND,
      CXM_KPI_LEADS,         CXM_KPI_NEW_BUYERS,    CXM_KPI_MESSAGES_SENT,
      CXM_KPI_INTERACTIONS};
  int bad = 0, checked = 0;
  if (stat_of(a, CXM_STAT_CUSTOMERS) != stat_of(b, CXM_STAT_CUSTOMERS)) bad++;
  /* scope -1: all; 0..7: channels; 8..16: segments */
  for (int sc = -1; sc < WL_NCHANNELS + WL_NSEGLABELS; sc++) {
    int32_t sa = CXM_ALL, sb = CXM_ALL, ca = CXM_ALL, cb = CXM_ALL;
    if (sc >= 0 && sc < WL_NCHANNELS) {
      const char *l = wl_channels[sc];
      if (cxm_channel_find(a, l, strlen(l), &ca) ||
          cxm_channel_find(b, l, strlen(l), &cb))
        continue; /* a channel that a small workload never drew */
    } else if (sc >= WL_NCHANNELS) {
      const char *l = wl_seglabels[sc - WL_NCHANNELS];
      if (cxm_segment_find(a, l, strlen(l), &sa) ||
          cxm_segment_find(b, l, strlen(l), &sb))
        continue;
    }
    for (size_t k = 0; k < sizeof kpis / sizeof kpis[0]; k++) {
      int64_t va = 0, vb = 0, na = 0, nb = 0;
      int ra = cxm_kpi_get_int(a, kpis[k], sa, ca, CXM_TIME_MIN, CXM_TIME_MAX,
                               &va, &na);
      int rb = cxm_kpi_get_int(b, kpis[k], sb, cb, CXM_TIME_MIN, CXM_TIME_MAX,
                               &vb, &nb);
      if (ra == CXM_E_UNSUPPORTED && rb == CXM_E_UNSUPPORTED) continue;
      checked++;
      if (ra != rb || va != vb || na != nb) {
        if (bad < 5)
          fprintf(stderr, "bench_ingest: %s differs in scope %d: batch %lld "
                  "(n %lld), csv %lld (n %lld)\n", cxm_kpi_name(kpis[k]), sc,
                  (long long)va, (long long)na, (long long)vb, (long long)nb);
        bad++;
      }
    }
  }
  printf("  batch and csv handles: %d exact values compared, %d differ\n",
         checked, bad);
  return bad;
}

static void bench_csv(const char *path, cxm_ctx *batch_ctx, const config *cf) {
  struct stat st;
  if (stat(path, &st)) {
    fprintf(stderr, "bench_ingest: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  counter cnt = {0, 0};
  cxm_ctx *ctx = new_handle(&cnt, cf);
  cxm_csv *csv = NULL;
  int rc = cxm_csv_create(ctx, &csv);
  if (rc) die("cxm_csv_create", ctx, rc);
  uint64_t shown = 0;
  cxm_csv_set_error_handler(csv, on_csv_error, &shown);
  double w0 = now_s(), c0 = cpu_s();
  rc = cxm_csv_feed_file(csv, path);
  double wall = now_s() - w0, cpu = cpu_s() - c0;
  if (rc) die("cxm_csv_feed_file", ctx, rc);
  uint64_t lines = 0, accepted = 0, rejected = 0;
  cxm_csv_stats(csv, &lines, &accepted, &rejected);
  double mbps = (double)st.st_size / 1e6 / wall;
  printf("[%s] csv ingest: %.1f MB (%llu lines) in %.3f s wall (%.3f s cpu): "
         "%.1f MB/s, %.2f M events/s  ",
         cf->name, (double)st.st_size / 1e6, (unsigned long long)lines, wall,
         cpu, mbps, (double)accepted / wall / 1e6);
  /* the CSV target is the core issue's */
  print_target(mbps, cf->modules == 0 ? TARGET_CSV_MB_PER_S : 0, 0, " MB/s");
  printf("\n");
  printf("  per cpu second: %.1f MB/s; accepted %llu, rejected %llu\n",
         (double)st.st_size / 1e6 / cpu, (unsigned long long)accepted,
         (unsigned long long)rejected);
  cxm_csv_destroy(csv);
  if (cross_check(batch_ctx, ctx)) {
    cxm_ctx_destroy(ctx);
    exit(1);
  }
  cxm_ctx_destroy(ctx);
}

int main(int argc, char **argv) {
  uint64_t customers, events, days, seed, batch = 4096;
  if (argc < 5 || argc > 7 || parse_u64(argv[1], &customers) ||
      parse_u64(argv[2], &events) || parse_u64(argv[3], &days) ||
      parse_u64(argv[4], &seed) ||
      (argc == 7 && (parse_u64(argv[6], &batch) || batch == 0))) {
    fprintf(stderr,
            "usage: bench_ingest CUSTOMERS EVENTS DAYS SEED [CSV] [BATCH]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* BENCH_CONFIGS: words of the configs to run, e.g. "core,issue3"
     (default: core, issue3, all); BENCH_MODULES=mask adds "custom". */
  const char *only = getenv("BENCH_CONFIGS");
  const char *mods = getenv("BENCH_MODULES");
  int run[NCONFIGS];
  for (int k = 0; k < NCONFIGS; k++) {
    const char *w = configs[k].name;
    size_t wl = strlen(w);
    int on = k < 3;
    if (only) {
      on = 0;
      for (const char *p = only; (p = strstr(p, w)) != NULL; p += wl)
        if ((p == only || p[-1] == ',') && (p[wl] == 0 || p[wl] == ',')) on = 1;
    }
    run[k] = on;
  }
  if (mods) {
    uint64_t m;
    if (parse_u64(mods, &m) || m > CXM_MOD_ALL) {
      fprintf(stderr, "bench_ingest: BENCH_MODULES: a mask 0..%d\n", CXM_MOD_ALL);
      return 2;
    }
    configs[3].modules = (int64_t)m;
    run[3] = 1;
  }
  int repeat = 1;
  const char *rep_s = getenv("BENCH_REPEAT");
  if (rep_s) {
    uint64_t r;
    if (parse_u64(rep_s, &r) || r < 1 || r > 100) {
      fprintf(stderr, "bench_ingest: BENCH_REPEAT: a count 1..100\n");
      return 2;
    }
    repeat = (int)r;
  }
  print_machine();
  columns c;
  label_ids ids;
  build_workload(&c, customers, events, days, seed, &ids);
  cxm_ctx *ctx[NCONFIGS] = {NULL};
  counter cnt[NCONFIGS] = {{0, 0}};
  for (int k = 0; k < NCONFIGS; k++) {
    if (!run[k]) continue;
    if (k == 3) printf("[custom]: CXM_OPT_MODULES = %lld\n", (long long)configs[k].modules);
    ctx[k] = bench_batch(&c, &ids, (size_t)batch, &configs[k], &cnt[k], repeat);
  }
  free_columns(&c);
  for (int k = 0; k < NCONFIGS; k++) {
    if (!ctx[k]) continue;
    if (argc >= 6 && argv[5][0]) bench_csv(argv[5], ctx[k], &configs[k]);
    cxm_ctx_destroy(ctx[k]);
    if (cnt[k].live != 0) {
      printf("WARNING: %lld bytes still allocated after cxm_ctx_destroy\n",
             (long long)cnt[k].live);
      return 1;
    }
  }
  return 0;
}
