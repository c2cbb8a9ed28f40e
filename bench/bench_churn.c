/*
 * bench_churn.c - the cost of the exact churn rate query (docs/retention.md).
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Usage: bench_churn CUSTOMERS EVENTS DAYS SEED
 *
 * Feeds the workload of workload.h (retention, funnel and attribution on,
 * as bench_ingest's "issue3") through cxm_events_add(), then times, as of
 * the last event's day with a 30-day period:
 * - cxm_retention_rate() of all customers, all channels: the pass over
 *   every customer that counts every scope at once;
 * - the same query for every other scope (all, each channel, each segment,
 *   each segment x channel), answered from the counts it kept;
 * each pass after one more event (the state changed: the pass runs anew),
 * and the state's size per customer.
 * Times are CPU seconds of this process (best of 3 for the pass).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload.h"

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, cxm_ctx *ctx, int rc) {
  fprintf(stderr, "bench_churn: %s: %s (%s)\n", what, cxm_strerror(rc),
          ctx ? cxm_ctx_errmsg(ctx) : "");
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: bench_churn CUSTOMERS EVENTS DAYS SEED\n");
    return 2;
  }
  uint64_t customers = strtoull(argv[1], NULL, 10), events = strtoull(argv[2], NULL, 10);
  uint64_t days = strtoull(argv[3], NULL, 10), seed = strtoull(argv[4], NULL, 10);
  wl_gen g;
  if (wl_gen_init(&g, customers, events, days, seed)) {
    fprintf(stderr, "bench_churn: bad sizes or out of memory\n");
    return 1;
  }
  cxm_ctx *ctx = NULL;
  int rc = cxm_ctx_create(&ctx);
  if (rc) die("cxm_ctx_create", NULL, rc);
  static const uint8_t key[CXM_KEY_SIZE] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  if ((rc = cxm_key_set(ctx, key, sizeof key))) die("cxm_key_set", ctx, rc);
  if ((rc = cxm_option_set(ctx, CXM_OPT_MODULES,
                           CXM_MOD_RETENTION | CXM_MOD_FUNNEL | CXM_MOD_ATTRIBUTION)))
    die("cxm_option_set", ctx, rc);
  int32_t chan[WL_NCHANNELS], seg[WL_NSEGLABELS], set[WL_NSEGCODES];
  for (int k = 0; k < WL_NCHANNELS; k++)
    if ((rc = cxm_channel_intern(ctx, wl_channels[k], strlen(wl_channels[k]), &chan[k])))
      die("cxm_channel_intern", ctx, rc);
  for (int k = 0; k < WL_NSEGLABELS; k++)
    if ((rc = cxm_segment_intern(ctx, wl_seglabels[k], strlen(wl_seglabels[k]), &seg[k])))
      die("cxm_segment_intern", ctx, rc);
  for (int code = 0; code < WL_NSEGCODES; code++) {
    int labels[3];
    int32_t segs[3];
    int m = wl_segcode_labels(code, labels);
    for (int k = 0; k < m; k++) segs[k] = seg[labels[k]];
    if ((rc = cxm_segset_intern(ctx, segs, (size_t)m, &set[code])))
      die("cxm_segset_intern", ctx, rc);
  }
  enum { B = 4096 };
  static int64_t times[B], offs[B + 1];
  static int32_t types[B], chans[B], sets[B];
  static double v1[B], v2[B];
  static uint8_t ids[B * WL_ID_LEN];
  int64_t last = 0;
  for (uint64_t i = 0; i < events;) {
    size_t n = 0;
    int64_t off = 0;
    for (; n < B && i < events; n++, i++) {
      wl_event e;
      wl_gen_next(&g, &e);
      times[n] = e.time;
      types[n] = e.type;
      offs[n] = off;
      if (e.customer >= 0) {
        memcpy(ids + off, g.ids + (size_t)e.customer * WL_ID_LEN, WL_ID_LEN);
        off += WL_ID_LEN;
      }
      chans[n] = chan[e.channel];
      v1[n] = wl_value(&e);
      v2[n] = wl_value2(&e);
      sets[n] = e.segcode >= 0 ? set[e.segcode] : -1;
      if (e.time > last) last = e.time;
    }
    offs[n] = off;
    if ((rc = cxm_events_add(ctx, n, times, types, ids, offs, chans, v1, v2, sets, NULL, NULL)))
      die("cxm_events_add", ctx, rc);
  }
  int64_t t0 = last - 30 * 86400;
  double churn, ret, best = 1e9;
  int64_t n0 = 0;
  for (int rep = 0; rep < 3; rep++) {
    /* One more event changes the state: the next query passes again. */
    const char *id = g.ids;
    if ((rc = cxm_event_add(ctx, last, CXM_EV_TOUCH, id, WL_ID_LEN, chan[0], NAN, NAN)))
      die("cxm_event_add", ctx, rc);
    double c0 = cpu_s();
    if ((rc = cxm_retention_rate(ctx, CXM_ALL, CXM_ALL, t0, last, &churn, &ret, &n0)))
      die("cxm_retention_rate", ctx, rc);
    double dt = cpu_s() - c0;
    if (dt < best) best = dt;
  }
  double c0 = cpu_s();
  int nq = 0;
  for (int32_t s = -1; s < WL_NSEGLABELS; s++)
    for (int32_t c = -1; c < WL_NCHANNELS; c++) {
      int64_t n;
      double x, y;
      if ((rc = cxm_retention_rate(ctx, s < 0 ? CXM_ALL : seg[s], c < 0 ? CXM_ALL : chan[c], t0,
                                   last, &x, &y, &n)))
        die("cxm_retention_rate", ctx, rc);
      nq++;
    }
  double dscopes = cpu_s() - c0;
  int64_t mem = 0;
  cxm_stat_get(ctx, CXM_STAT_MEMORY_BYTES, &mem);
  printf("customers %llu events %llu days %llu seed %llu\n", (unsigned long long)customers,
         (unsigned long long)events, (unsigned long long)days, (unsigned long long)seed);
  printf("churn rate as of the last day, 30 days: %.6f (n = %lld)\n", churn, (long long)n0);
  printf("first query (one pass over every customer, all scopes): %.1f ms (best of 3 cpu)\n",
         best * 1e3);
  printf("then %d scopes from the kept counts: %.3f ms in all\n", nq, dscopes * 1e3);
  printf("state: %.1f bytes/customer\n", (double)mem / (double)customers);
  cxm_ctx_destroy(ctx);
  wl_gen_free(&g);
  return 0;
}
