/*
 * retention.h - private state of the retention module (retention.c: active
 * and churned coverage; cohorts.c: cohort matrix and new/returning buyers).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_RETENTION_H
#define CXM_RETENTION_H

#include <string.h>

#include "ext.h"

/* Days of a customer's recent history kept exactly (its newest event's day
   and the 7 before): events up to 7 days late are exact. */
#define RET_SPAN 8
#define RET_RCACHE 4096
#define RET_MCACHE 64

/* Per-scope per-day counters. The first three are difference arrays (a
   prefix sum gives the value on a day); starts is a plain count. */
enum { R_ACTIVE, R_CHURNED, R_LIFE, R_STARTS, NR };

/* A growable array of days [day0, day0 + n) with `w` int64 per day. */
typedef struct ret_days {
  int32_t day0;
  uint32_t n, cap;
  int64_t *v;
} ret_days;

typedef struct ret_mc {
  int32_t blk, month, next;
} ret_mc;

/* Coverage extensions staged per fine cell (segment set, channel): each
   ring slot holds the pending change of one day as active + life * 2^24
   (churned is minus active for these changes). */
typedef struct ret_cell {
  uint32_t set;
  uint8_t ch, snz;    /* snz: sv holds something */
  int32_t sday;       /* the day of sv */
  int64_t sv[4];      /* starts (first activities, returns) of day sday, all
                         four counters; a stream in time order starts on one
                         day at a time */
  int64_t *ring;      /* rlen slots: day X in slot X & (rlen - 1) */
} ret_cell;

typedef struct ret_row {
  ret_days col[CXM_GRID_COLS];
} ret_row;

typedef struct cxm_ret {
  cxm_rows side;      /* per customer record, packed state (retention.c): ret_side_* */
  int32_t window;     /* churn window in days, fixed at creation */
  ret_row *rows[CXM_GRID_ROWS];

  /* Filled by prepare for the event that follows (the core updates the
     record before on_event). */
  int32_t pend_top;   /* day of the customer's newest event, INT32_MIN none */
  int32_t pend_first, pend_last; /* purchase days, INT32_MIN none */
  int32_t pend_md, pend_mf, pend_ml; /* months of the day, first and last */

  /* Between merge_reserve and merge_apply: for each src record that is
     also in dst, dst's top day and segment set before the merge. */
  int32_t *mtop;
  uint32_t *mset;
  uint32_t mn;

  /* Scopes of (segment set, channel) known to cover days [lo, hi]: day
     arrays only grow, so a hit needs no further check (prepare's fast path).
     tag: set << 8 | channel, plus 1 (sets < 2^20: no wrap); 0 empty. The
     cell's ring (NULL: none; rings never move), lo + RET_SPAN and
     hi - window - 1 save the fast path some arithmetic. */
  struct ret_rc {
    uint32_t tag;
    int32_t lo, hi, cell, lo8, hiw;
    int64_t *ring;
  } rcache[RET_RCACHE];

  /* The stage of in-order coverage extensions (retention.c): the two
     difference entries of such an event go to its fine cell's ring instead
     of every scope; rings are added to the scopes when their days leave the
     window [rbase, rbase + rlen), after RET_RING_POINTS entries, and before
     anything reads the scopes. */
  ret_cell *cells;
  uint32_t ncells, cells_cap;
  uint32_t *cindex;   /* open addressing over (set, channel): cell + 1, 0 empty */
  uint32_t cindex_mask;
  uint32_t rlen;      /* ring days, a power of two; 0: nothing is staged */
  int32_t rbase;
  int32_t rlim;       /* rbase + rlen - window: an event from this day on
                         would move the window */
  uint32_t rpoints;   /* entries staged since the last full flush */
  int32_t pend_cell;  /* fine cell of the pending event, -1: none */
  /* What prepare decided for on_event (RK_* in retention.c; 0: on_event
     works it out in general): the new packed state (RK_STORE; the state
     before in pend_x0 for a purchase), or an in-order activity whose scope
     rows cover its days (RK_EXT: on_event works out the extension from the
     state, its cell and ring in the rcache entry pend_rc). */
  uint32_t pend_kind;
  uint64_t pend_x, pend_x0; /* after, before */
  const struct ret_rc *pend_rc;

  ret_days buyers;    /* per day: new buyers, returning buyers (w = 2) */

  /* Calendar months of 16-day blocks of days (block b: days 16b .. 16b + 15,
     in slot b % RET_MCACHE): the month of the block's first day and the first
     day of the next month if it falls inside the block (else INT32_MAX).
     Ingest asks for months of nearby days over and over; the civil-calendar
     arithmetic would otherwise be most of a purchase's cost. */
  ret_mc mcache[RET_MCACHE];

  /* Cohort matrix over months [m0, m0 + nm): size[c], on[c * nm + k],
     last[c * nm + k] (customers whose last purchase is in month c + k). */
  int32_t m0;
  uint32_t nm;
  int64_t *csize, *con, *clast;

  /* Coverage history for the exact churn rate (churnlog.c). A customer's
     days before its span (day top - RET_SPAN and older: settled) are
     covered from its first activity on except in its gaps: the newest gap
     lives in its core record (cxm_cust.spare, RET_GAP_* below), older ones
     in this log, chunks of RET_LOG_CHUNK entries. */
  struct ret_gapent **log;
  uint32_t log_nchunks, log_dircap;
  uint64_t log_n;
  uint64_t log_sorted; /* entries [0, log_sorted) are in record order */
  /* Rates whose t0's day is before hist_from use the per-day counts (a
     snapshot of 0.2.0 had no history); INT32_MIN: every day is exact. */
  int32_t hist_from;
  /* Any change to what the rate query reads other than an accepted event
     (segment moves, merge, load, erasure) bumps gen; the query's counts per
     scope are kept for (rc_d0, rc_d1) at generation rc_gen. */
  uint64_t gen, rc_gen;
  int64_t rc_acc;     /* and ctx->n_accepted then: events change gen no more */
  uint32_t fast_cap;  /* side_cap while the log has room for an event, else 0:
                         prepare's fast path needs both, one test */
  int64_t rc_d0, rc_d1;
  int64_t *rc_cnt;    /* rc_rows x rc_cols x 2: active at d0, and at d1 too */
  uint32_t rc_rows, rc_cols;
} cxm_ret;

/* A customer's packed state: 8 bytes at the start of its row, unaligned
   when the row is shared (ext.h: cxm__siderows_reserve). */
static inline uint64_t ret_side_get(const cxm_ret *m, uint32_t i) {
  uint64_t x;
  memcpy(&x, m->side.base + (size_t)i * m->side.stride, 8);
  return x;
}
static inline void ret_side_put(cxm_ret *m, uint32_t i, uint64_t x) {
  memcpy(m->side.base + (size_t)i * m->side.stride, &x, 8);
}

/* A settled coverage gap of customer ri: days [g0, g1) uncovered (stored
   plus 2, as the packed state's days). */
typedef struct ret_gapent {
  uint32_t ri;
  uint16_t g0, g1;
} ret_gapent;
#define RET_LOG_CHUNK 4096u
/* Entries an event may add at most (a span's 9 days hold at most 5 gaps). */
#define RET_LOG_RESERVE 8u

/* The newest gap in cxm_cust.spare: g0 + 2 in the low 16 bits (0: no gap),
   g1 + 2 in the high 16 bits or RET_GAP_OPEN: uncovered up to the span. */
#define RET_GAP_OPEN 0xFFFFu
static inline int cxm__ret_gap_open(uint32_t g) { return g && (g >> 16) == RET_GAP_OPEN; }

#define RET_NONE INT32_MIN

CXM_HIDDEN int cxm__ret_days_ensure(cxm_ctx *ctx, ret_days *a, int w, int32_t lo,
                                    int32_t hi);
CXM_HIDDEN void cxm__ret_days_free(cxm_ctx *ctx, ret_days *a, int w);
CXM_HIDDEN int32_t cxm__ret_month_of_day(int32_t day);
/* cxm__ret_month_of_day through the handle's month cache (fills the slot). */
CXM_HIDDEN int32_t cxm__ret_month_fill(cxm_ret *m, int32_t day);

static inline int32_t cxm__ret_month(cxm_ret *m, int32_t day) {
  if (day >= 0) {
    const ret_mc *e = &m->mcache[(day >> 4) % RET_MCACHE];
    if (e->blk == day >> 4) return day >= e->next ? e->month + 1 : e->month;
  }
  return cxm__ret_month_fill(m, day);
}

/* Whether cxm__cohort_reserve(ctx, m, day, first, last) has nothing to
   allocate: the buyers' days and the cohort months it needs exist. */
static inline int cxm__cohort_ready(cxm_ret *m, int32_t day, int32_t first, int32_t last) {
  int32_t lo = day, hi = day;
  if (first != RET_NONE) {
    if (first < lo) lo = first;
    if (first > hi) hi = first;
  }
  const ret_days *b = &m->buyers;
  if (!b->v || lo < b->day0 || (int64_t)hi >= (int64_t)b->day0 + b->n || !m->nm) return 0;
  int32_t md = cxm__ret_month(m, day), mlo = md, mhi = md;
  if (first != RET_NONE) {
    int32_t mf = cxm__ret_month(m, first), ml = cxm__ret_month(m, last);
    if (mf < mlo) mlo = mf;
    if (ml > mhi) mhi = ml;
  }
  return mlo >= m->m0 && mhi < m->m0 + (int32_t)m->nm;
}

/* churnlog.c */
CXM_HIDDEN int cxm__ret_log_reserve(cxm_ctx *ctx, cxm_ret *m, uint64_t n);
CXM_HIDDEN void cxm__ret_log_push(cxm_ret *m, uint32_t ri, int32_t g0, int32_t g1);
CXM_HIDDEN void cxm__ret_log_free(cxm_ctx *ctx, cxm_ret *m);
CXM_HIDDEN void cxm__ret_log_erase(cxm_ret *m, uint32_t ri);
CXM_HIDDEN void cxm__ret_log_move(cxm_ret *m, uint32_t from, uint32_t to);
CXM_HIDDEN void cxm__ret_log_save(const cxm_ret *m, cxm_wbuf *w);
CXM_HIDDEN int cxm__ret_log_load(cxm_ctx *ctx, cxm_ret *m, cxm_rbuf *r);
/* Appends src's entries with map->rec applied, skipping the customers
   `skip` (nonzero entry: dst keeps its own history); room reserved. */
CXM_HIDDEN void cxm__ret_log_merge(cxm_ret *d, const cxm_ret *s, const cxm_remap *map,
                                   const int32_t *skip);
static inline uint64_t cxm__ret_log_room(const cxm_ret *m) {
  return (uint64_t)m->log_nchunks * RET_LOG_CHUNK - m->log_n;
}
/* Of the customers in scope (row, col) covered on d0: out[0], and those
   also covered on d1: out[1]. Every scope's counts are kept for the next
   query of (d0, d1) in counts that prepare sizes (cxm__ret_rc_reserve: a
   query allocates nothing); labels added since, one scope is counted alone. */
CXM_HIDDEN int cxm__ret_rc_reserve(cxm_ctx *ctx, cxm_ret *m);
CXM_HIDDEN void cxm__ret_exact_counts(cxm_ctx *ctx, cxm_ret *m, int64_t d0, int64_t d1,
                                      uint32_t row, uint32_t col, int64_t out[2]);
CXM_HIDDEN void cxm__ret_rc_free(cxm_ctx *ctx, cxm_ret *m);
/* retention.c: whether the customer with packed state x, newest day top,
   covers day d, from its span (d >= top - RET_SPAN) or first day and newest
   gap (older days; the log's gaps are the caller's). */
CXM_HIDDEN int cxm__ret_covers(const cxm_ret *m, uint64_t x, int32_t top, uint32_t gap,
                               int64_t d);

/* cohorts.c */
CXM_HIDDEN int cxm__cohort_reserve(cxm_ctx *ctx, cxm_ret *m, int32_t day,
                                   int32_t first, int32_t last);
/* A purchase on `day` by a customer whose purchase days before it were
   first..last (RET_NONE: none), with `seen_day` / `seen_month` telling
   whether it already purchased on that day / in that month, and `months`
   (n) its distinct purchase months (needed when the cohort changes). */
CXM_HIDDEN void cxm__cohort_purchase(cxm_ret *m, int32_t day, int32_t first,
                                     int32_t last, int seen_day, int seen_month,
                                     const int32_t *months, int n);
/* The same for a purchase on or after the customer's last purchase day
   (first = RET_NONE: its first purchase), with the months of day, first
   and last at hand (any when first is RET_NONE). */
CXM_HIDDEN void cxm__cohort_purchase_inorder(cxm_ret *m, int32_t day, int32_t first,
                                             int seen_day, int32_t md, int32_t mf,
                                             int32_t ml);
CXM_HIDDEN void cxm__cohort_free(cxm_ctx *ctx, cxm_ret *m);
CXM_HIDDEN void cxm__cohort_save(const cxm_ret *m, cxm_wbuf *w);
CXM_HIDDEN int cxm__cohort_load(cxm_ctx *ctx, cxm_ret *m, cxm_rbuf *r);
CXM_HIDDEN int cxm__cohort_merge_reserve(cxm_ctx *ctx, cxm_ret *d, const cxm_ret *s);
CXM_HIDDEN void cxm__cohort_merge_apply(cxm_ret *d, const cxm_ret *s);

#endif /* CXM_RETENTION_H */
