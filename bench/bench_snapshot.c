/*
 * bench_snapshot.c - snapshot and merge benchmark (issue 5): save and load
 * throughput (MB/s) and bytes per customer of a handle with CUSTOMERS
 * customers (default 1,000,000), and the merge time of two handles with
 * half the customers each.
 *
 *   bench/bench_snapshot [CUSTOMERS [EVENTS [DIR]]]
 *
 * The workload is bench/workload.h's (seed 42, 365 days), EVENTS events
 * (default 3 x CUSTOMERS). Each figure is the best of 3 runs (the machine
 * is shared). The file save includes fsync of the file and the directory.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define BATCH 4096

static double now_s(void) {
  struct timespec ts;
  clock_gettime(getenv("BENCH_CPU_TIME") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, cxm_ctx *ctx, int rc) {
  fprintf(stderr, "bench_snapshot: %s: %s (%s)\n", what, cxm_strerror(rc),
          ctx ? cxm_ctx_errmsg(ctx) : "");
  exit(1);
}

static cxm_ctx *new_handle(void) {
  static const uint8_t key[CXM_KEY_SIZE] = {42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  cxm_ctx *ctx = NULL;
  int rc = cxm_ctx_create(&ctx);
  if (rc) die("cxm_ctx_create", NULL, rc);
  rc = cxm_key_set(ctx, key, sizeof key);
  if (rc) die("cxm_key_set", ctx, rc);
  return ctx;
}

/* Label ids of the workload's channels and segment codes. */
typedef struct ids {
  int32_t ch[WL_NCHANNELS], set[WL_NSEGCODES];
} ids;

static void intern_labels(cxm_ctx *ctx, ids *m) {
  int32_t seg[WL_NSEGLABELS];
  for (int k = 0; k < WL_NCHANNELS; k++)
    if (cxm_channel_intern(ctx, wl_channels[k], strlen(wl_channels[k]), &m->ch[k]))
      die("channel", ctx, 1);
  for (int k = 0; k < WL_NSEGLABELS; k++)
    if (cxm_segment_intern(ctx, wl_seglabels[k], strlen(wl_seglabels[k]), &seg[k]))
      die("segment", ctx, 1);
  for (int code = 0; code < WL_NSEGCODES; code++) {
    int labels[3];
    int32_t s[3];
    int n = wl_segcode_labels(code, labels);
    for (int k = 0; k < n; k++) s[k] = seg[labels[k]];
    if (cxm_segset_intern(ctx, s, (size_t)n, &m->set[code])) die("segset", ctx, 1);
  }
}

/* Ingests the workload into h[0] and, when h[1] is set, customers with an
   odd index into h[1] (spend stays in h[0]). */
static void ingest(cxm_ctx *h[2], uint64_t customers, uint64_t events) {
  wl_gen g;
  if (wl_gen_init(&g, customers, events, 365, 42)) die("workload", NULL, 1);
  ids m[2];
  for (int k = 0; k < 2; k++)
    if (h[k]) intern_labels(h[k], &m[k]);
  static int64_t t[2][BATCH], off[2][BATCH + 1];
  static int32_t ty[2][BATCH], ch[2][BATCH], ss[2][BATCH];
  static double v1[2][BATCH], v2[2][BATCH];
  static uint8_t idd[2][BATCH * WL_ID_LEN];
  size_t n[2] = {0, 0};
  for (uint64_t i = 0; i < events; i++) {
    wl_event e;
    wl_gen_next(&g, &e);
    int k = h[1] && e.customer >= 0 && (e.customer & 1) ? 1 : 0;
    size_t j = n[k];
    t[k][j] = e.time;
    ty[k][j] = e.type;
    ch[k][j] = m[k].ch[e.channel];
    ss[k][j] = e.segcode >= 0 ? m[k].set[e.segcode] : -1;
    v1[k][j] = wl_value(&e);
    v2[k][j] = wl_value2(&e);
    off[k][j + 1] = off[k][j];
    if (e.customer >= 0) {
      memcpy(idd[k] + off[k][j], g.ids + (size_t)e.customer * WL_ID_LEN, WL_ID_LEN);
      off[k][j + 1] += WL_ID_LEN;
    }
    if (++n[k] == BATCH || i + 1 == events) {
      for (int q = 0; q < 2; q++) {
        if (!h[q] || !n[q] || (n[q] < BATCH && i + 1 < events)) continue;
        cxm_events_add(h[q], n[q], t[q], ty[q], idd[q], off[q], ch[q], v1[q], v2[q], ss[q], NULL,
                       NULL);
        n[q] = 0;
      }
    }
  }
  wl_gen_free(&g);
}

int main(int argc, char **argv) {
  uint64_t customers = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  uint64_t events = argc > 2 ? strtoull(argv[2], NULL, 10) : 3 * customers;
  const char *dir = argc > 3 ? argv[3] : "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/bench_snapshot.%ld.cxs", dir, (long)getpid());

  cxm_ctx *h[2] = {new_handle(), NULL};
  double t0 = now_s();
  ingest(h, customers, events);
  int64_t ncust = 0, mem = 0;
  cxm_stat_get(h[0], CXM_STAT_CUSTOMERS, &ncust);
  cxm_stat_get(h[0], CXM_STAT_MEMORY_BYTES, &mem);
  printf("workload: %llu events, %lld customers, %.1f MB in the handle (ingest %.2f s)\n",
         (unsigned long long)events, (long long)ncust, (double)mem / 1e6, now_s() - t0);

  double best_sb = 1e9, best_sf = 1e9, best_lb = 1e9, best_lf = 1e9;
  void *buf = NULL;
  size_t len = 0;
  for (int r = 0; r < 3; r++) {
    if (buf) cxm_buffer_free(h[0], buf, len);
    t0 = now_s();
    int rc = cxm_snapshot_save_buffer(h[0], 0, &buf, &len);
    double dt = now_s() - t0;
    if (rc) die("save_buffer", h[0], rc);
    if (dt < best_sb) best_sb = dt;
    t0 = now_s();
    rc = cxm_snapshot_save_file(h[0], path, 0);
    dt = now_s() - t0;
    if (rc) die("save_file", h[0], rc);
    if (dt < best_sf) best_sf = dt;
    cxm_ctx *l = NULL;
    cxm_ctx_create(&l);
    t0 = now_s();
    rc = cxm_snapshot_load_buffer(l, buf, len);
    dt = now_s() - t0;
    if (rc) die("load_buffer", l, rc);
    if (dt < best_lb) best_lb = dt;
    cxm_ctx_destroy(l);
    cxm_ctx_create(&l);
    t0 = now_s();
    rc = cxm_snapshot_load_file(l, path);
    dt = now_s() - t0;
    if (rc) die("load_file", l, rc);
    if (dt < best_lf) best_lf = dt;
    cxm_ctx_destroy(l);
  }
  double mb = (double)len / 1e6;
  printf("snapshot: %zu bytes, %.1f bytes per customer\n", len, (double)len / (double)ncust);
  printf("save to buffer:   %.3f s  %7.1f MB/s\n", best_sb, mb / best_sb);
  printf("save to file:     %.3f s  %7.1f MB/s  (temp file, fsync, rename, dir fsync)\n", best_sf,
         mb / best_sf);
  printf("load from buffer: %.3f s  %7.1f MB/s\n", best_lb, mb / best_lb);
  printf("load from file:   %.3f s  %7.1f MB/s\n", best_lf, mb / best_lf);
  cxm_buffer_free(h[0], buf, len);
  unlink(path);
  cxm_ctx_destroy(h[0]);

  /* Merge: the same stream split by customer into two handles. */
  double best_m = 1e9;
  int64_t c0 = 0, c1 = 0;
  for (int r = 0; r < 3; r++) {
    cxm_ctx *p[2] = {new_handle(), new_handle()};
    ingest(p, customers, events);
    cxm_stat_get(p[0], CXM_STAT_CUSTOMERS, &c0);
    cxm_stat_get(p[1], CXM_STAT_CUSTOMERS, &c1);
    t0 = now_s();
    int rc = cxm_ctx_merge(p[0], p[1]);
    double dt = now_s() - t0;
    if (rc) die("merge", p[0], rc);
    if (dt < best_m) best_m = dt;
    int64_t merged = 0;
    cxm_stat_get(p[0], CXM_STAT_CUSTOMERS, &merged);
    if (merged != ncust) {
      fprintf(stderr, "bench_snapshot: merged %lld customers, want %lld\n", (long long)merged,
              (long long)ncust);
      return 1;
    }
    cxm_ctx_destroy(p[0]);
    cxm_ctx_destroy(p[1]);
  }
  printf("merge of %lld + %lld customers: %.3f s\n", (long long)c0, (long long)c1, best_m);
  return 0;
}
