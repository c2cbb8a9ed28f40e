/*
 * workload.h - the deterministic benchmark workload, shared by gen_events.c
 * (which writes it as canonical CSV) and bench_ingest.c (which builds it as
 * column arrays in memory). Both draw the same events from the same seed.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Model (all choices are ours, picked to look like a CRM event log):
 * - `customers` customers, each with a 24-byte id: the lowercase hex of a
 *   96-bit number drawn uniformly from the generator.
 * - Each customer has 0..3 segments, one per dimension at most, from
 *   tier=bronze|silver|gold, region=EU|US|APAC|LATAM, plan=free|pro. The set
 *   is written on the customer's first event; with probability 2/1000 a later
 *   event changes it (an empty new set is written as `-`).
 * - `events` events spread evenly over `days` days from 2025-01-01 UTC, in
 *   non-decreasing time order. Each picks a customer (25% from a "heavy" tenth
 *   of the customers, 75% from all of them) and a type from a fixed mix; spend
 *   rows have no customer. The channel depends on the type.
 * - Money has exactly 2 decimals; session pageviews/durations and survey
 *   scores are integers; a few session numbers are absent.
 */
#ifndef CXM_BENCH_WORKLOAD_H
#define CXM_BENCH_WORKLOAD_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"

#define WL_ID_LEN 24
#define WL_START INT64_C(1735689600) /* 2025-01-01T00:00:00Z */
#define WL_NCHANNELS 8
#define WL_NSEGLABELS 9
#define WL_NSEGCODES 60 /* tier (4) x region (5) x plan (3); code 0 = none */

static const char *const wl_channels[WL_NCHANNELS] = {
    "web", "email", "sms", "app", "social", "store", "phone", "ads"};

static const char *const wl_seglabels[WL_NSEGLABELS] = {
    "tier=bronze", "tier=silver", "tier=gold",   "region=EU", "region=US",
    "region=APAC", "region=LATAM", "plan=free",  "plan=pro"};

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw. ------------------- */
typedef struct wl_rng {
  uint64_t s[4];
} wl_rng;

static inline uint64_t wl_splitmix(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static inline uint64_t wl_rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static inline void wl_rng_seed(wl_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = wl_splitmix(&seed);
}

static inline uint64_t wl_next(wl_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = wl_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = wl_rotl(s[3], 45);
  return out;
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-32, irrelevant here). */
static inline uint32_t wl_below(wl_rng *r, uint32_t n) {
  return (uint32_t)(((wl_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Draw an index from a table of weights summing to `total`. */
static inline int wl_pick(wl_rng *r, const uint16_t *w, int n, uint32_t total) {
  uint32_t x = wl_below(r, total);
  for (int i = 0; i < n; i++) {
    if (x < w[i]) return i;
    x -= w[i];
  }
  return n - 1;
}

/* ---- Event mix. ---------------------------------------------------------- */
/* Weights per 1000 events, indexed by cxm_event_type - 1. */
static const uint16_t wl_type_weights[14] = {
    220, /* touch */
    220, /* session */
    100, /* engage */
    150, /* message_sent */
    60,  /* message_open */
    20,  /* message_click */
    30,  /* lead */
    80,  /* purchase */
    8,   /* refund */
    2,   /* spend */
    40,  /* nps */
    40,  /* csat */
    25,  /* ces */
    5,   /* churn */
};

/* Channel weights (per 100) by type - 1; columns follow wl_channels:
 * web email sms app social store phone ads. */
static const uint16_t wl_channel_weights[14][WL_NCHANNELS] = {
    {20, 5, 5, 15, 20, 10, 5, 20},  /* touch */
    {65, 0, 0, 35, 0, 0, 0, 0},     /* session */
    {25, 10, 0, 25, 30, 5, 5, 0},   /* engage */
    {0, 60, 20, 20, 0, 0, 0, 0},    /* message_sent */
    {0, 60, 20, 20, 0, 0, 0, 0},    /* message_open */
    {0, 60, 20, 20, 0, 0, 0, 0},    /* message_click */
    {40, 0, 0, 5, 15, 10, 10, 20},  /* lead */
    {45, 0, 0, 25, 0, 20, 10, 0},   /* purchase */
    {45, 0, 0, 25, 0, 20, 10, 0},   /* refund */
    {10, 10, 10, 0, 25, 5, 0, 40},  /* spend */
    {10, 40, 20, 20, 0, 0, 10, 0},  /* nps */
    {10, 40, 20, 20, 0, 0, 10, 0},  /* csat */
    {10, 40, 20, 20, 0, 0, 10, 0},  /* ces */
    {40, 0, 0, 20, 0, 0, 40, 0},    /* churn */
};

/* Type names as in the canonical CSV, indexed by cxm_event_type. */
static const char *const wl_type_names[15] = {
    "",             "touch",         "session",       "engage",
    "message_sent", "message_open",  "message_click", "lead",
    "purchase",     "refund",        "spend",         "nps",
    "csat",         "ces",           "churn"};

static const uint16_t wl_csat_weights[5] = {5, 8, 17, 40, 30};

/* ---- Generator. --------------------------------------------------------- */
typedef struct wl_gen {
  uint64_t customers, events, days, seed;
  uint64_t i;       /* next event index */
  wl_rng rng;
  char *ids;        /* customers * WL_ID_LEN bytes */
  uint8_t *segcode; /* current segment code per customer */
  uint8_t *seen;    /* 1 once the customer had an event */
} wl_gen;

/* One generated event. Absent numbers are flagged, not NaN, so the CSV
 * writer can print them exactly. */
typedef struct wl_event {
  int64_t time;
  int32_t type;     /* cxm_event_type */
  int64_t customer; /* index, -1 for spend */
  int32_t channel;  /* index into wl_channels */
  int32_t segcode;  /* -1 unchanged, 0 clear, 1..59 set */
  int money;        /* 1: value is `cents` */
  int64_t cents;
  int has_v1, has_v2;
  int32_t v1, v2;   /* integer numbers (pageviews, duration, scores) */
} wl_event;

/* The segment labels of a code: tier, region, plan (0 = none in each). */
static inline int wl_segcode_labels(int code, int labels[3]) {
  int n = 0, t = code / 15, rg = (code / 3) % 5, p = code % 3;
  if (t) labels[n++] = t - 1;
  if (rg) labels[n++] = 3 + rg - 1;
  if (p) labels[n++] = 7 + p - 1;
  return n;
}

/* Write the `segments` cell of a code into buf (at least 40 bytes); returns
 * the length. Code 0 is written as "-" (clear). */
static inline size_t wl_segcode_text(int code, char *buf) {
  int labels[3];
  int n = wl_segcode_labels(code, labels);
  size_t len = 0;
  if (n == 0) {
    buf[0] = '-';
    return 1;
  }
  for (int k = 0; k < n; k++) {
    const char *s = wl_seglabels[labels[k]];
    size_t l = strlen(s);
    if (k) buf[len++] = ';';
    memcpy(buf + len, s, l);
    len += l;
  }
  return len;
}

static inline int wl_draw_segcode(wl_rng *r) {
  /* tier 80%, region 70%, plan 50% present. */
  int t = wl_below(r, 100) < 80 ? 1 + (int)wl_below(r, 3) : 0;
  int rg = wl_below(r, 100) < 70 ? 1 + (int)wl_below(r, 4) : 0;
  int p = wl_below(r, 100) < 50 ? 1 + (int)wl_below(r, 2) : 0;
  return t * 15 + rg * 3 + p;
}

static inline void wl_gen_free(wl_gen *g) {
  free(g->ids);
  free(g->segcode);
  free(g->seen);
  memset(g, 0, sizeof *g);
}

/* Returns 0 on success, -1 on allocation failure or bad sizes. */
static inline int wl_gen_init(wl_gen *g, uint64_t customers, uint64_t events,
                              uint64_t days, uint64_t seed) {
  static const char hex[] = "0123456789abcdef";
  memset(g, 0, sizeof *g);
  if (customers == 0 || customers > UINT32_MAX || days == 0) return -1;
  g->customers = customers;
  g->events = events;
  g->days = days;
  g->seed = seed;
  g->ids = malloc(customers * WL_ID_LEN);
  g->segcode = malloc(customers);
  g->seen = calloc(customers, 1);
  if (!g->ids || !g->segcode || !g->seen) {
    wl_gen_free(g);
    return -1;
  }
  wl_rng_seed(&g->rng, seed);
  for (uint64_t c = 0; c < customers; c++) {
    uint64_t hi = wl_next(&g->rng), lo = wl_next(&g->rng);
    char *id = g->ids + c * WL_ID_LEN;
    /* 96 bits: 32 of hi, 64 of lo. */
    for (int k = 0; k < 8; k++) id[k] = hex[(hi >> (28 - 4 * k)) & 15];
    for (int k = 0; k < 16; k++) id[8 + k] = hex[(lo >> (60 - 4 * k)) & 15];
    g->segcode[c] = (uint8_t)wl_draw_segcode(&g->rng);
  }
  return 0;
}

/* Draw event number g->i (must be < g->events). */
static inline void wl_gen_next(wl_gen *g, wl_event *e) {
  wl_rng *r = &g->rng;
  uint64_t span = g->days * 86400;
  memset(e, 0, sizeof *e);
  e->time = WL_START + (int64_t)((g->i * span) / (g->events ? g->events : 1));
  g->i++;
  e->type = 1 + wl_pick(r, wl_type_weights, 14, 1000);
  e->channel = wl_pick(r, wl_channel_weights[e->type - 1], WL_NCHANNELS, 100);
  e->customer = -1;
  e->segcode = -1;
  if (e->type != CXM_EV_SPEND) {
    uint64_t heavy = g->customers / 10 ? g->customers / 10 : 1;
    uint64_t c = wl_below(r, 4) == 0 ? wl_below(r, (uint32_t)heavy)
                                     : wl_below(r, (uint32_t)g->customers);
    e->customer = (int64_t)c;
    if (!g->seen[c]) {
      g->seen[c] = 1;
      if (g->segcode[c]) e->segcode = g->segcode[c];
    } else if (wl_below(r, 1000) < 2) {
      g->segcode[c] = (uint8_t)wl_draw_segcode(r);
      e->segcode = g->segcode[c];
    }
  }
  switch (e->type) {
  case CXM_EV_SESSION: {
    int pv = wl_below(r, 100) < 35 ? 1 : 2 + (int)wl_below(r, 15);
    int dur = pv == 1 ? (int)wl_below(r, 30) : 5 + (int)wl_below(r, 900);
    e->has_v1 = wl_below(r, 200) != 0; /* 0.5% absent */
    e->has_v2 = wl_below(r, 100) != 0; /* 1% absent */
    e->v1 = pv;
    e->v2 = dur;
    break;
  }
  case CXM_EV_PURCHASE:
    e->money = 1;
    e->cents = 199 + wl_below(r, 9800);
    if (wl_below(r, 10) == 0) e->cents += wl_below(r, 90000);
    break;
  case CXM_EV_REFUND:
    e->money = 1;
    e->cents = 100 + wl_below(r, 5000);
    break;
  case CXM_EV_SPEND:
    e->money = 1;
    e->cents = 1000 + wl_below(r, 199000);
    break;
  case CXM_EV_NPS: {
    uint32_t x = wl_below(r, 100);
    e->has_v1 = 1;
    e->v1 = x < 18 ? (int)wl_below(r, 7) : x < 45 ? 7 + (int)wl_below(r, 2)
                                                   : 9 + (int)wl_below(r, 2);
    break;
  }
  case CXM_EV_CSAT:
    e->has_v1 = 1;
    e->v1 = 1 + wl_pick(r, wl_csat_weights, 5, 100);
    break;
  case CXM_EV_CES:
    e->has_v1 = 1;
    e->v1 = 1 + (int)wl_below(r, 7);
    break;
  default:
    break;
  }
}

/* The event's first number as the library's double (NaN when absent). */
static inline double wl_value(const wl_event *e) {
  if (e->money) return (double)e->cents / 100.0;
  return e->has_v1 ? (double)e->v1 : NAN;
}

static inline double wl_value2(const wl_event *e) {
  return e->has_v2 ? (double)e->v2 : NAN;
}

#endif /* CXM_BENCH_WORKLOAD_H */
