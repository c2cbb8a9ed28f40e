/*
 * retention.c - the retention module: active and churned customers as of any
 * day, activations, lifespans (see docs/retention.md for the definitions).
 *
 * Coverage: a customer is active on day D (as of the end of D) when its
 * latest activity on or before D lies within the churn window and no churn
 * event follows it up to D (a churn event on the same day as an activity
 * wins: within a day events are unordered). Every scope keeps per-day
 * difference arrays of active customers, churned customers (ever active and
 * not active) and their lifespans, so a count as of any day is a prefix sum.
 *
 * A customer's contribution is a function of a small state: exact activity,
 * purchase and churn flags for its last RET_SPAN days (ending with the day of
 * its newest event) plus a carry of what came before (last activity day,
 * whether a churn cut it, first activity day). Any event changes at most the
 * days from the span's start on, so it subtracts the old function there and
 * adds the new one: late events within the span are exact whatever their
 * order. Days older than the span are settled and never touched again.
 * The state packs into 8 bytes per customer.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "retention.h"

#if defined(__GNUC__)
#define CXM_NOINLINE_ __attribute__((noinline))
#else
#define CXM_NOINLINE_
#endif
#define MODON(ctx) (((ctx)->opt[CXM_OPT_MODULES] & CXM_MOD_RETENTION) != 0)
#define NEG_INF (INT64_MIN / 4)

static const uint32_t pow6[RET_SPAN + 1] = {1, 6, 36, 216, 1296, 7776, 46656,
                                            279936, 1679616};

/* ---- day arrays --------------------------------------------------------- */

void cxm__ret_days_free(cxm_ctx *ctx, ret_days *a, int w) {
  if (a->v) cxm__free(ctx, a->v, (size_t)a->cap * (size_t)w * sizeof(int64_t));
  memset(a, 0, sizeof *a);
}

/* Makes days [lo, hi] addressable; on failure nothing changes. New days are
   zero, so growing never changes what a query returns. */
int cxm__ret_days_ensure(cxm_ctx *ctx, ret_days *a, int w, int32_t lo, int32_t hi) {
  if (a->v && lo >= a->day0 && (int64_t)hi < (int64_t)a->day0 + a->n) return CXM_OK;
  int64_t nlo = lo, nhi = hi;
  if (a->v) {
    if (a->day0 < nlo) nlo = a->day0;
    if ((int64_t)a->day0 + a->n - 1 > nhi) nhi = (int64_t)a->day0 + a->n - 1;
  }
  uint64_t need = (uint64_t)(nhi - nlo + 1);
  if (a->v && nlo == a->day0 && need <= a->cap) { /* room at the end */
    a->n = a->cap; /* all of it: zero days cost nothing and spare later checks */
    return CXM_OK;
  }
  uint64_t ncap = a->cap ? a->cap : 64;
  while (ncap < need) ncap *= 2;
  /* Front growth (late events, earlier customers' spans) leaves some room in
     front too, so that a stream of slightly earlier days does not copy the
     array each time. */
  uint32_t front = 0;
  if (a->v && nlo < a->day0) {
    front = (uint32_t)(ncap - need < 32 ? ncap - need : 32);
    if (ncap - need < 32) ncap += 32, front = 32;
    nlo -= front;
    need += front;
  }
  if (ncap > UINT32_MAX / 64) return CXM_E_NOMEM;
  int64_t *v = (int64_t *)cxm__calloc(ctx, (size_t)ncap * (size_t)w * sizeof(int64_t));
  if (!v) return CXM_E_NOMEM;
  if (a->v) {
    memcpy(v + (size_t)(a->day0 - nlo) * (size_t)w, a->v,
           (size_t)a->n * (size_t)w * sizeof(int64_t));
    cxm__free(ctx, a->v, (size_t)a->cap * (size_t)w * sizeof(int64_t));
  }
  a->v = v;
  a->cap = (uint32_t)ncap;
  a->day0 = (int32_t)nlo;
  a->n = (uint32_t)ncap;
  return CXM_OK;
}

/* ---- calendar -------------------------------------------------------------- */

/* Month index (year * 12 + month - 1) of a day number, proleptic Gregorian
   (the civil-from-days formula over 400-year eras). */
int32_t cxm__ret_month_of_day(int32_t day) {
  int64_t z = (int64_t)day + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t mon = mp < 10 ? mp + 3 : mp - 9;
  if (mon <= 2) y++;
  return (int32_t)(y * 12 + mon - 1);
}

int32_t cxm__ret_month_fill(cxm_ret *m, int32_t day) {
  if (day < 0) return cxm__ret_month_of_day(day);
  int32_t b0 = day & ~15;
  ret_mc *e = &m->mcache[(day >> 4) % RET_MCACHE];
  e->month = cxm__ret_month_of_day(b0);
  e->next = INT32_MAX;
  /* A block of 16 days holds at most one month boundary. */
  if (cxm__ret_month_of_day(b0 + 15) != e->month)
    for (int32_t j = 1; j < 16; j++)
      if (cxm__ret_month_of_day(b0 + j) != e->month) {
        e->next = b0 + j;
        break;
      }
  e->blk = day >> 4;
  return day >= e->next ? e->month + 1 : e->month;
}

/* ---- the per-customer state -------------------------------------------------- */

typedef struct rst {
  int32_t first;   /* first activity day, RET_NONE if never active */
  int32_t lin;     /* last activity day before the span, RET_NONE if none */
  uint8_t ch;      /* channel of the first activity (CXM_CH_NONE: none) */
  uint8_t cut;     /* a churn event followed lin before the span */
  uint8_t pcarry;  /* a purchase in the span start's month, before the span */
  uint32_t dig;    /* base 6: digit i is day top - i, (act + purchase) + 3 churn */
} rst;

static inline rst unpack(uint64_t x) {
  rst s;
  uint32_t f = (uint32_t)(x & 0xFFFF), l = (uint32_t)((x >> 16) & 0xFFFF);
  s.first = f ? (int32_t)f - 2 : RET_NONE;
  s.lin = l ? (int32_t)l - 2 : RET_NONE;
  s.ch = (uint8_t)(x >> 32);
  s.cut = (uint8_t)((x >> 40) & 1);
  s.pcarry = (uint8_t)((x >> 41) & 1);
  s.dig = (uint32_t)(x >> 42) & 0x1FFFFF;
  return s;
}

/* Days are -1 .. 49675 (the UTC offset may move day 0 back by one), stored
   plus 2 in 16 bits with 0 meaning none. */
static inline uint64_t pack(const rst *s) {
  uint64_t f = s->first == RET_NONE ? 0 : (uint64_t)(s->first + 2);
  uint64_t l = s->lin == RET_NONE ? 0 : (uint64_t)(s->lin + 2);
  return f | l << 16 | (uint64_t)s->ch << 32 | (uint64_t)s->cut << 40 |
         (uint64_t)s->pcarry << 41 | (uint64_t)s->dig << 42;
}

static inline unsigned digit(uint32_t dig, int i) { return (dig / pow6[i]) % 6; }

/* Four base-6 digits (days i = 0..3 of a half of the span) as bit planes:
   activity in bit i, purchase in bit 8 + i, churn in bit 16 + i; the table of
   the older half has them 4 bits higher. Two lookups decode a whole span
   without eight divisions. */
#define PL_D(x, i) \
  ((((x) % 3 != 0) << (i)) | (((x) % 3 == 2) << (8 + (i))) | (((x) >= 3) << (16 + (i))))
#define PL_E(a, b, c, e) (uint32_t)(PL_D(e, 0) | PL_D(c, 1) | PL_D(b, 2) | PL_D(a, 3))
#define PL_1(a, b, c) \
  PL_E(a, b, c, 0), PL_E(a, b, c, 1), PL_E(a, b, c, 2), PL_E(a, b, c, 3), PL_E(a, b, c, 4), \
      PL_E(a, b, c, 5)
#define PL_2(a, b) PL_1(a, b, 0), PL_1(a, b, 1), PL_1(a, b, 2), PL_1(a, b, 3), PL_1(a, b, 4), PL_1(a, b, 5)
#define PL_3(a) PL_2(a, 0), PL_2(a, 1), PL_2(a, 2), PL_2(a, 3), PL_2(a, 4), PL_2(a, 5)
static const uint32_t half_planes[1296] = {PL_3(0), PL_3(1), PL_3(2),
                                           PL_3(3), PL_3(4), PL_3(5)};

/* The span's digits as planes: activity bits 0-7, purchase 8-15, churn
   16-23 (bit i: day top - i). */
static inline uint32_t planes(uint32_t dig) {
  return half_planes[dig % 1296] | half_planes[dig / 1296] << 4;
}
#define PL_ACT(p) ((p) & 0xFFu)
#define PL_PUR(p) (((p) >> 8) & 0xFFu)
#define PL_CHURN(p) (((p) >> 16) & 0xFFu)

static inline int low_bit(uint32_t x) { /* x != 0, below 256 */
#if defined(__GNUC__)
  return __builtin_ctz(x);
#else
  int i = 0;
  while (!(x & 1u)) x >>= 1, i++;
  return i;
#endif
}

static inline int high_bit(uint32_t x) { /* x != 0, below 256 */
#if defined(__GNUC__)
  return 31 - __builtin_clz(x);
#else
  int i = 0;
  while (x >>= 1) i++;
  return i;
#endif
}

/* The customer's contribution, day by day from the span's start. */
typedef struct rsim {
  int32_t S, top, first;
  int64_t end;                 /* coverage end (exclusive) after top */
  int32_t ell;                 /* last activity day up to top */
  uint8_t cov[RET_SPAN + 1];   /* cov[0]: day S - 1; cov[1 + j]: day S + j */
  int32_t ellat[RET_SPAN];     /* last activity day up to S + j */
} rsim;

static void simulate(const rst *s, int32_t top, int32_t w, rsim *o) {
  o->S = top - (RET_SPAN - 1);
  o->top = top;
  o->first = s->first;
  int64_t end = NEG_INF;
  int32_t ell = s->lin;
  if (s->lin != RET_NONE && !s->cut) end = (int64_t)s->lin + w;
  o->cov[0] = end > o->S - 1;
  for (int j = 0; j < RET_SPAN; j++) {
    int32_t d = o->S + j;
    unsigned dg = digit(s->dig, RET_SPAN - 1 - j);
    int act = dg % 3 != 0, churn = dg >= 3;
    if (act) ell = d;
    if (churn) {
      if (end > d) end = d;
    } else if (act && end < (int64_t)d + w) {
      end = (int64_t)d + w;
    }
    o->cov[1 + j] = end > d;
    o->ellat[j] = ell;
  }
  o->end = end;
  o->ell = ell;
}

static void value_at(const rsim *o, int64_t d, int64_t v[NR]) {
  int cov, prev = 0;
  int32_t ell;
  if (d <= o->top) {
    int j = (int)(d - o->S);
    cov = o->cov[1 + j];
    prev = o->cov[j];
    ell = o->ellat[j];
  } else {
    cov = o->end > d;
    ell = o->ell;
  }
  int churned = o->first != RET_NONE && o->first <= d && !cov;
  v[R_ACTIVE] = cov;
  v[R_CHURNED] = churned;
  v[R_LIFE] = churned ? (int64_t)ell - o->first : 0;
  v[R_STARTS] = d <= o->top && cov && !prev;
}

/* ---- coverage history (churnlog.c keeps the older gaps) --------------------- */

int cxm__ret_covers(const cxm_ret *m, uint64_t x, int32_t top, uint32_t gap, int64_t d) {
  uint32_t f = (uint32_t)(x & 0xFFFF);
  if (!f || d < (int64_t)f - 2) return 0;
  if (d < (int64_t)top - RET_SPAN) { /* settled: covered except in its gaps */
    if (!gap || d < (int64_t)(gap & 0xFFFF) - 2) return 1;
    return !cxm__ret_gap_open(gap) && d >= (int64_t)(gap >> 16) - 2;
  }
  uint32_t l = (uint32_t)(x >> 16) & 0xFFFF;
  int64_t end = l && !((x >> 40) & 1) ? (int64_t)l - 2 + m->window : NEG_INF;
  uint32_t pl = planes((uint32_t)(x >> 42) & 0x1FFFFF);
  uint32_t act = PL_ACT(pl), chn = PL_CHURN(pl);
  for (int i = RET_SPAN - 1; i >= 0; i--) { /* as simulate, up to day d */
    int64_t day = (int64_t)top - i;
    if (day > d) break;
    if (chn >> i & 1u) {
      if (end > day) end = day;
    } else if ((act >> i & 1u) && end < day + m->window) {
      end = day + m->window;
    }
  }
  return end > d;
}

static inline void fast_cap_set(cxm_ret *m) {
  m->fast_cap = cxm__ret_log_room(m) >= RET_LOG_RESERVE ? m->side.cap : 0;
}

/* The days [top0 - RET_SPAN, top1 - RET_SPAN) leave the span of state o
   (newest day top0) and settle: a day uncovered after a covered one opens
   a gap (the customer's previous newest gap goes to the log), a covered one
   closes the open gap. The log has room (prepare reserves it). */
CXM_COLD static void hist_walk(cxm_ctx *ctx, cxm_ret *m, uint32_t ri, const rst *o,
                               int32_t top0, int32_t top1) {
  int32_t b0 = top0 - RET_SPAN, b1 = top1 - RET_SPAN;
  if (o->first == RET_NONE || o->first >= b1 || b1 <= b0) return;
  rsim g;
  simulate(o, top0, m->window, &g);
  uint32_t *gp = &ctx->customers.recs[ri].spare;
  uint32_t gap = *gp;
  int32_t x = b0;
  int pc = !cxm__ret_gap_open(gap); /* covered the day before x */
  if (o->first > x) x = o->first, pc = 1;
  while (x < b1) {
    int c;
    int32_t nx = x + 1;
    if (x <= top0) {
      c = g.cov[x - g.S + 1];
    } else if ((c = g.end > x)) { /* no activity after top0: one run */
      nx = g.end < b1 ? (int32_t)g.end : b1;
    } else {
      nx = b1;
    }
    if (c && !pc) {
      gap = (gap & 0xFFFFu) | (uint32_t)(x + 2) << 16;
    } else if (!c && pc) {
      if (gap) cxm__ret_log_push(m, ri, (int32_t)(gap & 0xFFFF) - 2, (int32_t)(gap >> 16) - 2);
      gap = (uint32_t)(x + 2) | RET_GAP_OPEN << 16;
    }
    pc = c;
    x = nx;
  }
  *gp = gap;
  fast_cap_set(m);
}

/* Whether hist_walk would change nothing, decided from the packed state x
   (planes pl) in the usual cases: covered throughout the settling days
   without a churn event in the span, or uncovered throughout. */
static CXM_INLINE int hist_quiet(const cxm_ret *m, uint64_t x, uint32_t pl, int32_t top0,
                                 int32_t top1, uint32_t gap) {
  uint32_t f = (uint32_t)(x & 0xFFFF);
  int32_t b1 = top1 - RET_SPAN, b0 = top0 - RET_SPAN;
  if (!f || (int32_t)f - 2 >= b1) return 1;
  uint32_t l = (uint32_t)(x >> 16) & 0xFFFF;
  int64_t cend = l && !((x >> 40) & 1) ? (int64_t)l - 2 + m->window : NEG_INF;
  uint32_t act = PL_ACT(pl);
  if (cxm__ret_gap_open(gap)) return !act && cend <= b0;
  if (PL_CHURN(pl)) return 0;
  if (cend >= b1) return 1; /* the carry alone covers them (lin <= b0) */
  if (!act || m->window < RET_SPAN) return 0;
  /* Each span activity covers the rest of the span: one run from the
     oldest, joined to the carry's unless a day lies between. */
  int32_t oldest = top0 - high_bit(act);
  int64_t end = (int64_t)(top0 - low_bit(act)) + m->window;
  return (cend >= oldest || (int32_t)f - 2 >= oldest) && end >= b1;
}

CXM_COLD static void hist_check(cxm_ctx *ctx, cxm_ret *m, uint32_t ri, uint64_t x,
                                uint32_t pl, int32_t top0, int32_t top1) {
  if (hist_quiet(m, x, pl, top0, top1, ctx->customers.recs[ri].spare)) return;
  rst o = unpack(x);
  hist_walk(ctx, m, ri, &o, top0, top1);
}

/* The span of packed state x (planes pl) moves from top0 to top1 > top0:
   the usual case, the carry covering every settling day without a churn
   event in the span and no open gap, decided here; the rest out of line. */
static CXM_INLINE void hist_settle(cxm_ctx *ctx, cxm_ret *m, uint32_t ri, uint64_t x,
                                   uint32_t pl, int32_t top0, int32_t top1) {
  uint32_t f = (uint32_t)x & 0xFFFFu, l = (uint32_t)(x >> 16) & 0xFFFFu;
  int32_t b1 = top1 - RET_SPAN;
  if (CXM_LIKELY(!f || (int32_t)f - 2 >= b1 ||
                 (l && !((x >> 40) & 1) && (int64_t)l - 2 + m->window >= b1 &&
                  !PL_CHURN(pl) && !cxm__ret_gap_open(ctx->customers.recs[ri].spare))))
    return;
  hist_check(ctx, m, ri, x, pl, top0, top1);
}

/* ---- applying a change to the scopes ---------------------------------------- */

typedef struct rent {
  int32_t day;
  int64_t dv[NR];
} rent;

#define MAXENT (RET_SPAN + 8)

/* Entries of sum_k sign[k] * g_k restricted to days >= x, as difference
   entries (plain values for R_STARTS). */
static int build(const rsim *const *g, const int *sign, int ng, int32_t x, rent *e) {
  int32_t last = x;
  for (int k = 0; k < ng; k++)
    if (g[k]->top + 1 > last) last = g[k]->top + 1;
  int64_t prev[NR] = {0, 0, 0, 0};
  int n = 0;
  int64_t bp[4];
  int nb = 0;
  for (int k = 0; k < ng; k++)
    if (g[k]->end > last && g[k]->end < INT32_MAX) bp[nb++] = g[k]->end;
  if (nb == 2 && bp[0] > bp[1]) {
    int64_t t = bp[0];
    bp[0] = bp[1];
    bp[1] = t;
  }
  for (int64_t d = x, b = 0;; ) {
    int64_t h[NR] = {0, 0, 0, 0}, v[NR];
    for (int k = 0; k < ng; k++) {
      value_at(g[k], d, v);
      for (int q = 0; q < NR; q++) h[q] += sign[k] * v[q];
    }
    rent *en = &e[n];
    int any = h[R_STARTS] != 0;
    en->dv[R_STARTS] = h[R_STARTS];
    for (int q = 0; q < R_STARTS; q++) {
      en->dv[q] = h[q] - prev[q];
      any |= en->dv[q] != 0;
      prev[q] = h[q];
    }
    if (any) en->day = (int32_t)d, n++;
    if (d < last) {
      d++;
    } else if (b < nb) {
      d = bp[b++];
    } else {
      break;
    }
  }
  return n;
}

static void apply_days(ret_days *a, const rent *e, int n) {
  for (int i = 0; i < n; i++) {
    int64_t *row = a->v + (size_t)(e[i].day - a->day0) * NR;
    for (int q = 0; q < NR; q++) row[q] += e[i].dv[q];
  }
}

/* Adds the entries to every scope of (segment set, channel). */
static void apply_scopes(cxm_ctx *ctx, cxm_ret *m, uint32_t set, uint8_t ch,
                         const rent *e, int n) {
  if (n == 0) return;
  const cxm_segset *ss = &ctx->segsets.sets[set];
  uint32_t rows[1 + CXM_SEGMENTS_PER_CUSTOMER_MAX];
  uint32_t nr = 0;
  rows[nr++] = 0;
  for (uint32_t i = 0; i < ss->n; i++) rows[nr++] = 1u + (uint32_t)ss->seg[i];
  for (uint32_t i = 0; i < nr; i++) {
    ret_row *r = m->rows[rows[i]];
    apply_days(&r->col[0], e, n);
    if (ch != CXM_CH_NONE) apply_days(&r->col[1 + ch], e, n);
  }
}

/* The fine cell of (set, ch), created with its ring; -1 when memory ran
   out (nothing changed then). */
static int32_t cell_get(cxm_ctx *ctx, cxm_ret *m, uint32_t set, uint8_t ch) {
  uint32_t key = set << 8 | ch;
  if (m->cindex) {
    for (uint32_t i = (key * 2654435761u) & m->cindex_mask;; i = (i + 1) & m->cindex_mask) {
      uint32_t c = m->cindex[i];
      if (!c) break;
      if (m->cells[c - 1].set == set && m->cells[c - 1].ch == ch) return (int32_t)(c - 1);
    }
  }
  if (m->ncells >= INT32_MAX / 4) return -1;
  if (2 * (m->ncells + 1) > (m->cindex ? m->cindex_mask + 1 : 0)) { /* grow the index */
    uint32_t n = m->cindex ? 2 * (m->cindex_mask + 1) : 64;
    uint32_t *ix = (uint32_t *)cxm__calloc(ctx, (size_t)n * sizeof(uint32_t));
    if (!ix) return -1;
    for (uint32_t c = 0; c < m->ncells; c++) {
      uint32_t i = ((m->cells[c].set << 8 | m->cells[c].ch) * 2654435761u) & (n - 1);
      while (ix[i]) i = (i + 1) & (n - 1);
      ix[i] = c + 1;
    }
    if (m->cindex) cxm__free(ctx, m->cindex, (size_t)(m->cindex_mask + 1) * sizeof(uint32_t));
    m->cindex = ix;
    m->cindex_mask = n - 1;
  }
  if (m->ncells == m->cells_cap) {
    uint32_t n = m->cells_cap ? 2 * m->cells_cap : 16;
    ret_cell *c = (ret_cell *)cxm__realloc(ctx, m->cells, (size_t)m->cells_cap * sizeof(ret_cell),
                                           (size_t)n * sizeof(ret_cell));
    if (!c) return -1;
    m->cells = c;
    m->cells_cap = n;
  }
  int64_t *ring = (int64_t *)cxm__calloc(ctx, (size_t)m->rlen * sizeof(int64_t));
  if (!ring) return -1;
  ret_cell *c = &m->cells[m->ncells];
  c->set = set;
  c->ch = ch;
  c->ring = ring;
  c->snz = 0;
  c->sday = 0;
  memset(c->sv, 0, sizeof c->sv);
  uint32_t i = (key * 2654435761u) & m->cindex_mask;
  while (m->cindex[i]) i = (i + 1) & m->cindex_mask;
  m->cindex[i] = ++m->ncells;
  return (int32_t)(m->ncells - 1);
}

CXM_COLD static int reserve_slow(cxm_ctx *ctx, cxm_ret *m, uint32_t set, uint8_t ch,
                                 int32_t lo, int32_t hi, int32_t *cell) {
  uint32_t key = set << 8 | ch;
  uint32_t slot = (key * 2654435761u) >> 20; /* RET_RCACHE = 4096 slots */
  const cxm_segset *ss = &ctx->segsets.sets[set];
  for (uint32_t i = 0; i <= ss->n; i++) {
    uint32_t row = i == 0 ? 0 : 1u + (uint32_t)ss->seg[i - 1];
    if (!m->rows[row]) {
      m->rows[row] = (ret_row *)cxm__calloc(ctx, sizeof(ret_row));
      if (!m->rows[row]) return CXM_E_NOMEM;
    }
    ret_row *r = m->rows[row];
    const ret_days *a0 = &r->col[0], *a1 = ch != CXM_CH_NONE ? &r->col[1 + ch] : a0;
    if (a0->v && a1->v && lo >= a0->day0 && lo >= a1->day0 &&
        (int64_t)hi < (int64_t)a0->day0 + a0->n && (int64_t)hi < (int64_t)a1->day0 + a1->n)
      continue; /* the usual case: nothing to grow */
    if (cxm__ret_days_ensure(ctx, &r->col[0], NR, lo, hi)) return CXM_E_NOMEM;
    if (ch != CXM_CH_NONE && cxm__ret_days_ensure(ctx, &r->col[1 + ch], NR, lo, hi))
      return CXM_E_NOMEM;
  }
  int32_t c = -1;
  if (m->rlen && (c = cell_get(ctx, m, set, ch)) < 0) return CXM_E_NOMEM;
  /* Remember the whole range now covered by every one of these arrays. */
  int32_t clo = INT32_MIN, chi = INT32_MAX;
  for (uint32_t i = 0; i <= ss->n; i++) {
    uint32_t row = i == 0 ? 0 : 1u + (uint32_t)ss->seg[i - 1];
    for (int k = 0; k < 2; k++) {
      if (k == 1 && ch == CXM_CH_NONE) break;
      const ret_days *a = &m->rows[row]->col[k == 0 ? 0 : 1 + ch];
      if (a->day0 > clo) clo = a->day0;
      if ((int64_t)a->day0 + a->n - 1 < chi) chi = (int32_t)((int64_t)a->day0 + a->n - 1);
    }
  }
  m->rcache[slot].tag = key + 1;
  m->rcache[slot].lo = clo;
  m->rcache[slot].hi = chi;
  m->rcache[slot].cell = c;
  m->rcache[slot].ring = c >= 0 ? m->cells[c].ring : NULL;
  m->rcache[slot].lo8 = clo + RET_SPAN;
  m->rcache[slot].hiw = chi - m->window - 1;
  *cell = c;
  return CXM_OK;
}

/* Makes days [lo, hi] of every scope of (set, ch) addressable and gives the
   fine cell (-1 when nothing is staged). Day arrays only grow, so a cached
   range needs no further check. */
static inline int reserve_cell(cxm_ctx *ctx, cxm_ret *m, uint32_t set, uint8_t ch,
                               int32_t lo, int32_t hi, int32_t *cell) {
  uint32_t key = set << 8 | ch;
  uint32_t slot = (key * 2654435761u) >> 20;
  if (CXM_LIKELY(m->rcache[slot].tag == key + 1 &&
                 lo >= m->rcache[slot].lo && hi <= m->rcache[slot].hi)) {
    *cell = m->rcache[slot].cell;
    return CXM_OK;
  }
  return reserve_slow(ctx, m, set, ch, lo, hi, cell);
}

static inline int reserve_scopes(cxm_ctx *ctx, cxm_ret *m, uint32_t set, uint8_t ch,
                                 int32_t lo, int32_t hi) {
  int32_t cell;
  return reserve_cell(ctx, m, set, ch, lo, hi, &cell);
}

/* ---- the stage ---------------------------------------------------------------- */

#define RET_RING_MAX 256
/* Entries between full flushes: keeps |active| below 2^23 and the life sum
   (at most 49677 days an entry) within the slot's upper 40 bits. */
#define RET_RING_POINTS (1u << 21)

/* Adds one slot (day x) to the scopes of its cell. */
static void cell_out(cxm_ctx *ctx, cxm_ret *m, const ret_cell *c, int32_t x, int64_t v) {
  int64_t act = ((v & 0xFFFFFF) ^ 0x800000) - 0x800000;
  int64_t life = (v - act) / ((int64_t)1 << 24);
  const cxm_segset *ss = &ctx->segsets.sets[c->set];
  for (uint32_t i = 0; i <= ss->n; i++) {
    ret_row *r = m->rows[i == 0 ? 0 : 1u + (uint32_t)ss->seg[i - 1]];
    for (int k = 0; k < 2; k++) {
      if (k == 1 && c->ch == CXM_CH_NONE) break;
      ret_days *a = &r->col[k == 0 ? 0 : 1 + c->ch];
      int64_t *row = a->v + (size_t)(x - a->day0) * NR;
      row[R_ACTIVE] += act;
      row[R_CHURNED] -= act;
      row[R_LIFE] += life;
    }
  }
}

/* Adds a cell's staged starts to its scopes. */
static void start_out(cxm_ctx *ctx, cxm_ret *m, ret_cell *c) {
  const cxm_segset *ss = &ctx->segsets.sets[c->set];
  for (uint32_t i = 0; i <= ss->n; i++) {
    ret_row *r = m->rows[i == 0 ? 0 : 1u + (uint32_t)ss->seg[i - 1]];
    for (int k = 0; k < 2; k++) {
      if (k == 1 && c->ch == CXM_CH_NONE) break;
      ret_days *a = &r->col[k == 0 ? 0 : 1 + c->ch];
      int64_t *row = a->v + (size_t)(c->sday - a->day0) * NR;
      for (int q = 0; q < NR; q++) row[q] += c->sv[q];
    }
  }
  memset(c->sv, 0, sizeof c->sv);
  c->snz = 0;
}

/* Adds every staged entry to the scopes (before any read of them). */
CXM_COLD static void ring_flush(cxm_ctx *ctx, cxm_ret *m) {
  uint32_t mask = m->rlen - 1;
  for (uint32_t c = 0; c < m->ncells; c++) {
    int64_t *ring = m->cells[c].ring;
    if (m->cells[c].snz) start_out(ctx, m, &m->cells[c]);
    for (uint32_t j = 0; j < m->rlen; j++) {
      if (!ring[j]) continue;
      cell_out(ctx, m, &m->cells[c], m->rbase + (int32_t)((j - (uint32_t)m->rbase) & mask), ring[j]);
      ring[j] = 0;
    }
  }
  m->rpoints = 0;
}

static inline void flush_staged(cxm_ctx *ctx, cxm_ret *m) {
  if (m && m->rpoints) ring_flush(ctx, m);
}

/* Moves the window's start to nb > rbase: the days leaving it go out. */
CXM_COLD static void ring_advance(cxm_ctx *ctx, cxm_ret *m, int32_t nb) {
  if ((int64_t)nb - m->rbase >= m->rlen) {
    ring_flush(ctx, m);
  } else {
    uint32_t mask = m->rlen - 1;
    for (int32_t x = m->rbase; x < nb; x++)
      for (uint32_t c = 0; c < m->ncells; c++) {
        int64_t *sl = &m->cells[c].ring[(uint32_t)x & mask];
        if (*sl) cell_out(ctx, m, &m->cells[c], x, *sl), *sl = 0;
      }
  }
  m->rbase = nb;
  m->rlim = nb + (int32_t)m->rlen - m->window;
}

/* ---- module state ------------------------------------------------------------- */

static cxm_ret *mod_get(cxm_ctx *ctx) {
  return (cxm_ret *)ctx->mod[CXM_MODIX_RETENTION];
}

CXM_COLD static cxm_ret *mod_make(cxm_ctx *ctx) {
  cxm_ret *m = mod_get(ctx);
  if (m) return m;
  m = (cxm_ret *)cxm__calloc(ctx, sizeof(cxm_ret));
  if (!m) return NULL;
  m->window = (int32_t)ctx->opt[CXM_OPT_CHURN_WINDOW_DAYS];
  m->pend_top = m->pend_first = m->pend_last = RET_NONE;
  for (int i = 0; i < RET_MCACHE; i++) m->mcache[i].blk = INT32_MIN;
  /* The ring must hold days d .. d + window of an event on day d, with some
     room for customers whose events come a few days behind the newest. */
  uint32_t rlen = 32;
  while (rlen < (uint64_t)m->window + 16 && rlen <= RET_RING_MAX) rlen *= 2;
  m->rlen = rlen <= RET_RING_MAX ? rlen : 0;
  m->rbase = INT32_MIN / 2;
  m->rlim = m->rbase + (int32_t)m->rlen - m->window;
  m->pend_cell = -1;
  m->hist_from = INT32_MIN;
  ctx->mod[CXM_MODIX_RETENTION] = m;
  return m;
}

CXM_COLD static int side_reserve(cxm_ctx *ctx, cxm_ret *m, uint64_t need) {
  if (need <= m->side.cap) return CXM_OK;
  /* A row shared with funnel and attribution, prefetched by the batch. */
  int rc = cxm__siderows_reserve(ctx, CXM_MODIX_RETENTION, &m->side, 8, need);
  fast_cap_set(m);
  return rc;
}

static inline int32_t day_of_time(const cxm_ctx *ctx, uint32_t t) {
  int64_t v = (int64_t)t + ctx->utc_offset;
  /* Stored times are non-negative: an unsigned division unless the offset
     takes the first day of 1970 below zero; 86400 = 128 * 675, and v / 128
     fits 32 bits, whose division by a constant leaves rdx alone (prepare's
     fast path then needs no saved register). */
  return v >= 0 ? (int32_t)((uint32_t)((uint64_t)v >> 7) / 675u)
                : (int32_t)cxm__day_of(ctx, t);
}

/* The day of the customer's newest event, RET_NONE before its first. */
static int32_t cust_top(const cxm_ctx *ctx, const cxm_cust *r) {
  return (r->flags & CF_EVENT) ? day_of_time(ctx, r->last_time) : RET_NONE;
}

/* The first activity day and channel of a packed state. */
static inline int32_t packed_first(uint64_t x) {
  uint32_t f = (uint32_t)(x & 0xFFFF);
  return f ? (int32_t)f - 2 : RET_NONE;
}

/* A purchase's cohort and buyer rows, and the customer's purchase days
   before it (for purchase_book). */
CXM_NOINLINE_ static int prepare_purchase(cxm_ctx *ctx, cxm_ret *m, const cxm_cust *r,
                                          int32_t day) {
  int32_t f = RET_NONE, l = RET_NONE, md = cxm__ret_month(m, day), mf = md, ml = md;
  if (r && (r->flags & CF_PURCHASE)) {
    f = day_of_time(ctx, r->first_purchase);
    l = day_of_time(ctx, r->last_purchase);
    mf = cxm__ret_month(m, f);
    ml = cxm__ret_month(m, l);
  }
  m->pend_first = f;
  m->pend_last = l;
  m->pend_md = md; /* months of day, first and last for purchase_book */
  m->pend_mf = mf;
  m->pend_ml = ml;
  /* cxm__cohort_ready with the months at hand */
  const ret_days *b = &m->buyers;
  int32_t lo = f != RET_NONE && f < day ? f : day, hi = f != RET_NONE && f > day ? f : day;
  if (CXM_LIKELY(b->v && lo >= b->day0 && (int64_t)hi < (int64_t)b->day0 + b->n && m->nm &&
                 (mf < md ? mf : md) >= m->m0 && (ml > md ? ml : md) < m->m0 + (int32_t)m->nm))
    return CXM_OK;
  return cxm__cohort_reserve(ctx, m, day, f, l);
}

/* What prepare decided for on_event (pend_kind). */
#define RK_STORE 1u /* on_event stores pend_x */
#define RK_EXT 2u   /* on_event tries ext_apply (pend_top, pend_rc) */
#define RK_NEW 3u   /* on_event tries new_start (pend_cell) */

/* prepare in full: any event, a segment change, the module's first use. */
CXM_COLD static int prepare_slow(cxm_ctx *ctx, const cxm_evview *ev, int64_t found,
                                 uint32_t set) {
  cxm_ret *m = mod_get(ctx);
  if (CXM_UNLIKELY(!m) && !(m = mod_make(ctx))) return CXM_E_NOMEM;
  m->pend_kind = 0;
  uint64_t need = found < 0 ? (uint64_t)ctx->customers.count + 1 : (uint64_t)found + 1;
  int rc;
  if (cxm__ret_log_room(m) < RET_LOG_RESERVE &&
      (rc = cxm__ret_log_reserve(ctx, m, RET_LOG_RESERVE)))
    return rc;
  if ((m->rc_rows != 1 + ctx->segments.count || m->rc_cols != 1 + ctx->channels.count) &&
      (rc = cxm__ret_rc_reserve(ctx, m)))
    return rc;
  fast_cap_set(m);
  if (need > m->side.cap && (rc = side_reserve(ctx, m, need))) return rc;
  const cxm_cust *r = found >= 0 ? &ctx->customers.recs[found] : NULL;
  uint64_t x = r ? ret_side_get(m, found) : 0;
  int32_t first = packed_first(x);
  uint8_t sch = (uint8_t)(x >> 32);
  int32_t top0 = r ? cust_top(ctx, r) : RET_NONE;
  uint32_t oldset = r ? r->segset : 0;
  int32_t w = m->window;
  if (!ev) { /* a segment change: the span's days move between sets */
    if (first == RET_NONE || top0 == RET_NONE) return CXM_OK;
    return reserve_scopes(ctx, m, set, sch, top0 - RET_SPAN, top0 + w + 1);
  }
  int32_t top1 = top0 == RET_NONE || ev->day > top0 ? ev->day : top0;
  int32_t lo = (top0 == RET_NONE ? top1 : top0) - RET_SPAN;
  int32_t hi = top1 + w + 1;
  m->pend_top = top0;
  m->pend_cell = -1;
  if (ev->type != CXM_EV_MESSAGE_SENT) {
    if (first != RET_NONE) {
      if ((rc = reserve_cell(ctx, m, set, sch, lo, hi, &m->pend_cell))) return rc;
      if (oldset != set && (rc = reserve_scopes(ctx, m, oldset, sch, lo, hi))) return rc;
    }
    /* Only an activity before the first one can give the customer the
       event's channel. */
    if (ev->type != CXM_EV_CHURN && (first == RET_NONE || ev->day < first) &&
        (first == RET_NONE || ev->ch != sch)) {
      int32_t cell;
      if ((rc = reserve_cell(ctx, m, set, ev->ch, lo, hi, &cell))) return rc;
      if (first == RET_NONE) m->pend_cell = cell; /* the first activity's */
    }
  } else if (first != RET_NONE && oldset != set &&
             (rc = reserve_scopes(ctx, m, set, sch, lo, hi))) {
    return rc; /* the segment change moves the span */
  }
  /* A new customer's first activity, its cell found: on_event's new_start */
  if (!r && m->pend_cell >= 0 && ev->type != CXM_EV_CHURN) m->pend_kind = RK_NEW;
  if (ev->type == CXM_EV_PURCHASE) return prepare_purchase(ctx, m, r, ev->day);
  return CXM_OK;
}

/* Moves the settled-span window from top0 to top1 > top0: days leaving it
   fold into the carry (the newest leaving activity becomes lin, cut by a
   churn on or after it; a leaving purchase in the new span start's month
   sets pcarry). */
static void shift(cxm_ret *m, rst *s, int32_t top0, int32_t top1) {
  if (top1 <= top0 || (!s->dig && !s->pcarry)) return;
  int64_t k = (int64_t)top1 - top0;
  int32_t s1 = top1 - (RET_SPAN - 1);
  uint32_t pl = planes(s->dig);
  uint32_t leave = k >= RET_SPAN ? 0xFFu : (0xFFu << (RET_SPAN - k)) & 0xFFu;
  uint32_t la = PL_ACT(pl) & leave, lc = PL_CHURN(pl) & leave, lp = PL_PUR(pl) & leave;
  if (la) {
    int i = low_bit(la);
    s->lin = top0 - i;
    s->cut = (lc & ((2u << i) - 1)) != 0;
  } else if (lc) {
    s->cut = 1;
  }
  /* Months only matter when a purchase is carried or leaves the span; months
     grow with days, so the newest leaving purchase decides. */
  int pc = 0;
  if (s->pcarry || lp) {
    int32_t m1 = cxm__ret_month(m, s1);
    pc = s->pcarry && cxm__ret_month(m, top0 - (RET_SPAN - 1)) == m1;
    if (lp && !pc) pc = cxm__ret_month(m, top0 - low_bit(lp)) == m1;
  }
  s->pcarry = (uint8_t)pc;
  s->dig = k >= RET_SPAN ? 0 : (uint32_t)(((uint64_t)s->dig * pow6[k]) % pow6[RET_SPAN]);
}

/* Purchase bookkeeping for cohorts and new/returning buyers, from the state
   before the purchase at day d (span ending top0). */
static void purchase_book(cxm_ret *m, uint64_t x, int32_t top0, int32_t d) {
  int32_t f = m->pend_first, l = m->pend_last;
  if (f == RET_NONE || d >= l) {
    /* The customer's first purchase, or its newest: every earlier purchase
       day and month is at most l's, so l alone tells what was seen; the
       months come from prepare_purchase. */
    cxm__cohort_purchase_inorder(m, d, f, f != RET_NONE && d == l, m->pend_md, m->pend_mf,
                                 m->pend_ml);
    return;
  }
  rst o = unpack(x);
  int seen_day = 0, seen_month = 0, n = 0;
  int32_t months[RET_SPAN + 3];
  int32_t md = cxm__ret_month(m, d);
  int32_t cand[RET_SPAN + 3];
  int nc = 0;
  seen_day = d == f || d == l;
  cand[nc++] = cxm__ret_month(m, f);
  cand[nc++] = cxm__ret_month(m, l);
  if (top0 != RET_NONE) {
    uint32_t pur = PL_PUR(planes(o.dig));
    for (int i = 0; i < RET_SPAN; i++) {
      if (!(pur >> i & 1u)) continue;
      int32_t pd = top0 - i;
      if (pd == d) seen_day = 1;
      cand[nc++] = cxm__ret_month(m, pd);
    }
    if (o.pcarry) cand[nc++] = cxm__ret_month(m, top0 - (RET_SPAN - 1));
  }
  for (int i = 0; i < nc; i++) {
    int dup = 0;
    for (int j = 0; j < n; j++) dup |= months[j] == cand[i];
    if (!dup) months[n++] = cand[i];
    if (cand[i] == md) seen_month = 1;
  }
  cxm__cohort_purchase(m, d, f, l, seen_day, seen_month, months, n);
}

void cxm__retention_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                              uint32_t new_set) {
  cxm_ret *m = mod_get(ctx);
  if (!m || ri >= m->side.cap) return;
  m->gen++;
  if (!(ret_side_get(m, ri) & 0xFFFFu)) return; /* never active (a new customer): nothing moves */
  rst s = unpack(ret_side_get(m, ri));
  int32_t top = cust_top(ctx, &ctx->customers.recs[ri]);
  if (s.first == RET_NONE || top == RET_NONE) return;
  rsim g;
  simulate(&s, top, m->window, &g);
  const rsim *gs[1] = {&g};
  rent e[MAXENT];
  int sign = -1;
  int n = build(gs, &sign, 1, g.S, e);
  apply_scopes(ctx, m, old_set, s.ch, e, n);
  for (int i = 0; i < n; i++)
    for (int q = 0; q < NR; q++) e[i].dv[q] = -e[i].dv[q];
  apply_scopes(ctx, m, new_set, s.ch, e, n);
}

/* The common case in closed form: activity on the customer's newest day or
   later, no churn event in its span. The coverage then ends at E (last
   activity + window, or the carried end), and the new activity on day d
   either extends it to d + window or, after a lapse, starts a new one.
   Returns 0 when the case does not apply (the general path runs). */
static int fast_extend(cxm_ctx *ctx, cxm_ret *m, uint32_t set, const rst *o,
                       int32_t top0, int32_t d, uint8_t ch) {
  int32_t w = m->window, ell = RET_NONE;
  uint32_t x = o->dig;
  for (int i = 0; i < RET_SPAN; i++, x /= 6) { /* newest day first */
    unsigned dg = x % 6;
    if (dg >= 3) return 0;
    if (dg && ell == RET_NONE) ell = top0 - i;
  }
  int64_t end;
  if (ell != RET_NONE) {
    end = (int64_t)ell + w;
  } else {
    ell = o->lin;
    end = o->lin != RET_NONE && !o->cut ? (int64_t)o->lin + w : NEG_INF;
  }
  if (ell != RET_NONE && ell >= d) return 0;
  rent e[2];
  memset(e, 0, sizeof e);
  int32_t first = o->first == RET_NONE ? d : o->first;
  int64_t was = o->first == RET_NONE ? 0 : (int64_t)ell - o->first;
  int was_churned = o->first != RET_NONE;
  if (end >= d) { /* covered up to d - 1 at least: the coverage grows */
    e[0].day = (int32_t)end;
  } else { /* a start on d, after a lapse or the very first activity */
    e[0].day = d;
    e[0].dv[R_STARTS] = 1;
  }
  e[0].dv[R_ACTIVE] = 1;
  e[0].dv[R_CHURNED] = -was_churned;
  e[0].dv[R_LIFE] = -was;
  e[1].day = d + w;
  e[1].dv[R_ACTIVE] = -1;
  e[1].dv[R_CHURNED] = 1;
  e[1].dv[R_LIFE] = (int64_t)d - first;
  apply_scopes(ctx, m, set, ch, e, 2);
  return 1;
}

/* Adds the two difference entries of an in-order activity (fast_entries)
   to every scope of (segment set, channel). */
static void apply2(cxm_ctx *ctx, cxm_ret *m, uint32_t set, uint8_t ch, const rent *e) {
  const cxm_segset *ss = &ctx->segsets.sets[set];
  for (uint32_t i = 0; i <= ss->n; i++) {
    ret_row *r = m->rows[i == 0 ? 0 : 1u + (uint32_t)ss->seg[i - 1]];
    for (int k = 0; k < 2; k++) {
      if (k == 1 && ch == CXM_CH_NONE) break;
      ret_days *a = &r->col[k == 0 ? 0 : 1 + ch];
      int64_t *p = a->v + (size_t)(e[0].day - a->day0) * NR;
      int64_t *q = a->v + (size_t)(e[1].day - a->day0) * NR;
      for (int c = 0; c < NR; c++) p[c] += e[0].dv[c];
      for (int c = 0; c < R_STARTS; c++) q[c] += e[1].dv[c];
    }
  }
}

/* Stages two entries of an in-order event on day d (d <= x0 <= x1 <= d +
   window), each as active a (churned -a) and life l packed in one slot.
   Returns 0 when d lies before the window (the caller adds the entries to
   the scopes itself). */
static inline int stage_pair(cxm_ctx *ctx, cxm_ret *m, int32_t cell, int32_t d, int32_t x0,
                             int64_t a0, int64_t l0, int32_t x1, int64_t a1, int64_t l1) {
  if (CXM_UNLIKELY((int64_t)x1 - m->rbase >= m->rlen))
    ring_advance(ctx, m, x1 - (int32_t)m->rlen + 1);
  if (CXM_UNLIKELY(d < m->rbase)) return 0;
  int64_t *ring = m->cells[cell].ring;
  uint32_t mask = m->rlen - 1;
  ring[(uint32_t)x0 & mask] += a0 + l0 * ((int64_t)1 << 24);
  ring[(uint32_t)x1 & mask] += a1 + l1 * ((int64_t)1 << 24);
  if (CXM_UNLIKELY((m->rpoints += 2) >= RET_RING_POINTS)) ring_flush(ctx, m);
  return 1;
}

/* Stages a start on day d (first activity or return after a lapse): its
   entry on d in the cell's start accumulator, the coverage end on d +
   window in the ring. Returns 0 when d lies before the window. */
static inline int stage_start(cxm_ctx *ctx, cxm_ret *m, int32_t cell, int32_t d,
                              const rent *e) {
  if (CXM_UNLIKELY((int64_t)e[1].day - m->rbase >= m->rlen))
    ring_advance(ctx, m, e[1].day - (int32_t)m->rlen + 1);
  if (CXM_UNLIKELY(d < m->rbase)) return 0;
  ret_cell *c = &m->cells[cell];
  if (c->sday != d) {
    if (c->snz) start_out(ctx, m, c);
    c->sday = d;
  }
  for (int q = 0; q < NR; q++) c->sv[q] += e[0].dv[q];
  c->snz = 1;
  c->ring[(uint32_t)e[1].day & (m->rlen - 1)] +=
      e[1].dv[R_LIFE] * ((int64_t)1 << 24) + e[1].dv[R_ACTIVE];
  if (CXM_UNLIKELY((m->rpoints += 2) >= RET_RING_POINTS)) ring_flush(ctx, m);
  return 1;
}

/* shift() on a packed state x whose digits have planes pl, from top0 to
   d > top0: the same fields without unpacking. */
static CXM_INLINE uint64_t shift_packed(cxm_ret *m, uint64_t x, uint32_t pl, int32_t top0,
                                        int32_t d) {
  uint64_t nx = x;
  uint32_t dig = (uint32_t)(x >> 42) & 0x1FFFFF;
  int64_t k = (int64_t)d - top0;
  uint32_t leave = k >= RET_SPAN ? 0xFFu : (0xFFu << (RET_SPAN - k)) & 0xFFu;
  uint32_t la = PL_ACT(pl) & leave, lc = PL_CHURN(pl) & leave, lp = PL_PUR(pl) & leave;
  if (la) { /* the newest leaving activity, cut by a churn on or after it */
    int i = low_bit(la);
    nx = (nx & ~((uint64_t)0xFFFF << 16 | (uint64_t)1 << 40)) |
         (uint64_t)(uint32_t)(top0 - i + 2) << 16 |
         (uint64_t)((lc & ((2u << i) - 1)) != 0) << 40;
  } else if (lc) {
    nx |= (uint64_t)1 << 40;
  }
  int pcarry = (int)((x >> 41) & 1);
  if (pcarry || lp) {
    int32_t m1 = cxm__ret_month(m, d - (RET_SPAN - 1));
    int pc = pcarry && cxm__ret_month(m, top0 - (RET_SPAN - 1)) == m1;
    if (lp && !pc) pc = cxm__ret_month(m, top0 - low_bit(lp)) == m1;
    nx = (nx & ~((uint64_t)1 << 41)) | (uint64_t)pc << 41;
  }
  dig = k >= RET_SPAN ? 0 : (uint32_t)(((uint64_t)dig * pow6[k]) % pow6[RET_SPAN]);
  return (nx & (((uint64_t)1 << 42) - 1)) | (uint64_t)dig << 42;
}

/* The common events in O(1) without simulating the span: an activity or a
   churn event on a day after the customer's newest, or an activity on its
   newest day (unless a churn event is on that day). Returns 0 when the
   event needs the general path; then nothing has changed. */
static int fast_inorder(cxm_ctx *ctx, cxm_ret *m, uint32_t ri, const cxm_evview *ev,
                        int32_t top0) {
  uint64_t x = ret_side_get(m, ri);
  int32_t d = ev->day;
  int pur = ev->type == CXM_EV_PURCHASE, churn = ev->type == CXM_EV_CHURN;
  uint32_t dig = (uint32_t)(x >> 42) & 0x1FFFFF;
  int same = d == top0;
  if (same) {
    unsigned dg0 = dig % 6;
    if (churn || dg0 == 3) return 0; /* the churn wins that day, flags change */
    if (dg0 != 0) {
      /* Coverage, first day and channel stay; at most the purchase flag. */
      if (pur) {
        purchase_book(m, x, top0, d);
        if (dg0 % 3 == 1) ret_side_put(m, ri, x + ((uint64_t)1 << 42));
      }
      return 1;
    }
    /* Only message_sent on the newest day so far: like a new day, unshifted. */
  }
  uint32_t pl = 0;
  if (top0 == RET_NONE) {
    if (x) return 0;
  } else {
    pl = planes(dig);
  }
  uint32_t act = PL_ACT(pl), chn = PL_CHURN(pl);
  if (pur) purchase_book(m, x, top0, d);
  rst o = unpack(x);
  int32_t w = m->window;

  /* The coverage end after top0 (E) and the last activity, as simulate. */
  int32_t ell = act ? top0 - low_bit(act) : o.lin;
  int64_t end = o.lin != RET_NONE && !o.cut ? (int64_t)o.lin + w : NEG_INF;
  if (!chn) {
    /* Days leaving the span settle: as hist_settle, on the values at hand
       (rarely a gap opens or closes): nothing to do while the carry covers
       them, or the customer's first days leave, covered from the first on
       (no churn, window of a span or more), up to the coverage's end. */
    int64_t cend = end, b1 = (int64_t)d - RET_SPAN;
    if (act) end = (int64_t)ell + w;
    if (top0 != RET_NONE && !same &&
        CXM_UNLIKELY(!(end >= b1 && (cend >= b1 || (o.lin == RET_NONE && w >= RET_SPAN)) &&
                       !cxm__ret_gap_open(ctx->customers.recs[ri].spare)) &&
                     o.first != RET_NONE && o.first < b1))
      hist_check(ctx, m, ri, x, pl, top0, d);
  } else {
    if (top0 != RET_NONE && !same) hist_check(ctx, m, ri, x, pl, top0, d);
    for (int i = RET_SPAN - 1; i >= 0; i--) {
      int32_t day = top0 - i;
      if (chn >> i & 1u) {
        if (end > day) end = day;
      } else if ((act >> i & 1u) && end < (int64_t)day + w) {
        end = (int64_t)day + w;
      }
    }
  }

  /* The new state in place (shift's work, then the new newest day). */
  uint64_t nx = x;
  if (top0 != RET_NONE && !same) {
    nx = shift_packed(m, x, pl, top0, d);
    dig = (uint32_t)(nx >> 42);
  }
  dig += churn ? 3u : pur ? 2u : 1u;
  nx = (nx & (((uint64_t)1 << 42) - 1)) | (uint64_t)dig << 42;
  int32_t first = o.first;
  if (first == RET_NONE && !churn) {
    first = d;
    nx = (nx & ~(uint64_t)0xFF0000FFFF) | (uint64_t)(uint32_t)(d + 2) | (uint64_t)ev->ch << 32;
  }
  ret_side_put(m, ri, nx);

  rent e[2];
  int64_t was = o.first == RET_NONE ? 0 : (int64_t)ell - o.first;
  if (churn) {
    /* Days d .. E - 1 turn from active to churned (ell and first stay). */
    if (end <= d) return 1;
    if (m->pend_cell >= 0 &&
        stage_pair(ctx, m, m->pend_cell, d, d, -1, was, (int32_t)end, 1, -was))
      return 1;
    memset(e, 0, sizeof e);
    e[0].day = d;
    e[0].dv[R_ACTIVE] = -1;
    e[0].dv[R_CHURNED] = 1;
    e[0].dv[R_LIFE] = was;
    e[1].day = (int32_t)end;
    e[1].dv[R_ACTIVE] = 1;
    e[1].dv[R_CHURNED] = -1;
    e[1].dv[R_LIFE] = -was;
    apply2(ctx, m, ctx->customers.recs[ri].segset, (uint8_t)(nx >> 32), e);
    return 1;
  }
  /* The coverage ended at E; the activity on d either extends it to
     d + window or, after a lapse, starts a new one. An extension (not a
     start) of a customer whose fine cell prepare found: two ring slots
     instead of every scope. */
  if (end >= d && m->pend_cell >= 0 &&
      stage_pair(ctx, m, m->pend_cell, d, (int32_t)end, 1, -was, d + w, -1,
                 (int64_t)d - first))
    return 1;
  memset(e, 0, sizeof e);
  if (end >= d) { /* covered up to d - 1 at least: the coverage grows */
    e[0].day = (int32_t)end;
  } else { /* a start on d, after a lapse or the very first activity */
    e[0].day = d;
    e[0].dv[R_STARTS] = 1;
  }
  e[0].dv[R_ACTIVE] = 1;
  e[0].dv[R_CHURNED] = -(int64_t)(o.first != RET_NONE);
  e[0].dv[R_LIFE] = -was;
  e[1].day = d + w;
  e[1].dv[R_ACTIVE] = -1;
  e[1].dv[R_CHURNED] = 1;
  e[1].dv[R_LIFE] = (int64_t)d - first;
  if (end < d && m->pend_cell >= 0 && stage_start(ctx, m, m->pend_cell, d, e)) return 1;
  apply2(ctx, m, ctx->customers.recs[ri].segset, (uint8_t)(nx >> 32), e);
  return 1;
}

/* The usual events of a known customer, checked without any call (so no
   register spills): a message_sent, or an activity or churn event that can
   change neither the customer's segment set nor its channel, whose scope
   rows already cover the days it touches (a purchase then only needs its
   cohort rows: prepare_purchase, a tail call). Anything else: prepare_slow. */
static CXM_INLINE int prepare_known(cxm_ctx *ctx, cxm_ret *m, cxm_evview *ev, int64_t found,
                                    uint32_t set, const cxm_cust *r, int32_t top0) {
  if (ev->type == CXM_EV_MESSAGE_SENT) {
    m->pend_top = top0;
    m->pend_cell = -1;
    return CXM_OK;
  }
  uint64_t x = ret_side_get(m, found);
  int32_t first = packed_first(x);
  if (CXM_UNLIKELY(first == RET_NONE || (ev->day < first && ev->type != CXM_EV_CHURN)))
    return prepare_slow(ctx, ev, found, set);
  uint32_t key = set << 8 | (uint32_t)(uint8_t)(x >> 32);
  uint32_t slot = (key * 2654435761u) >> 20;
  int32_t lo = top0 - RET_SPAN, hi = (ev->day > top0 ? ev->day : top0) + m->window + 1;
  if (CXM_UNLIKELY(!(m->rcache[slot].tag == key + 1 &&
                     lo >= m->rcache[slot].lo && hi <= m->rcache[slot].hi)))
    return prepare_slow(ctx, ev, found, set);
  m->pend_top = top0;
  m->pend_cell = m->rcache[slot].cell;
  if (ev->type == CXM_EV_PURCHASE) return prepare_purchase(ctx, m, r, ev->day);
  return CXM_OK;
}

/* cxm__ret_month from the cache only: -1 on a miss (the caller then takes
   the general path, which fills it). */
static CXM_INLINE int32_t month_cached(const cxm_ret *m, int32_t day) {
  const ret_mc *e = &m->mcache[(uint32_t)(day >> 4) % RET_MCACHE];
  if (CXM_UNLIKELY(e->blk != day >> 4 || day < 0)) return -1;
  return day >= e->next ? e->month + 1 : e->month;
}

/* shift_packed(m, x, pl, top0, d) for a span without a churn event (the
   newest leaving activity becomes lin, uncut; a leaving or carried purchase
   asks for months) into *out; 0 when a month it needs is not cached. */
static CXM_INLINE int shift_nochurn(const cxm_ret *m, uint64_t x, uint32_t pl, int32_t top0,
                                    int32_t d, uint64_t *out) {
  uint32_t k = (uint32_t)(d - top0);
  uint32_t leave = k < RET_SPAN ? (0xFF00u >> k) & 0xFFu : 0xFFu;
  uint32_t la = PL_ACT(pl) & leave, lp = PL_PUR(pl) & leave;
  uint64_t pc = x & ((uint64_t)1 << 41);
  if (CXM_UNLIKELY(lp || pc)) {
    int32_t m1 = month_cached(m, d - (RET_SPAN - 1)), mo = -1, ml = -1;
    if (pc) mo = month_cached(m, top0 - (RET_SPAN - 1));
    if (lp) ml = month_cached(m, top0 - low_bit(lp));
    if (m1 < 0 || (pc && mo < 0) || (lp && ml < 0)) return 0;
    pc = (uint64_t)(mo == m1 || ml == m1) << 41;
  }
  uint64_t nx = x & ((((uint64_t)1 << 41) - 1) & ~((uint64_t)1 << 40));
  if (la) nx = (nx & ~((uint64_t)0xFFFF << 16)) | (uint64_t)(uint32_t)(top0 - low_bit(la) + 2) << 16;
  else nx |= x & ((uint64_t)1 << 40); /* no activity leaves: the cut stays */
  uint32_t dig = k < RET_SPAN ? (uint32_t)((x >> 42) * pow6[k] % 1679616u) : 0;
  *out = nx | pc | (uint64_t)dig << 42;
  return 1;
}

/* The carried-purchase bit (pcarry) after the span of state x (planes pl)
   moves from top0 to d, leaving the days `leave`: 0 or 1, -1 when a month
   it needs is not cached. */
static CXM_INLINE int ext_pcarry(const cxm_ret *m, uint64_t x, uint32_t pl, int32_t top0,
                                 int32_t d, uint32_t leave) {
  uint32_t lp = PL_PUR(pl) & leave;
  int pc = (int)((x >> 41) & 1);
  int32_t m1 = month_cached(m, d - (RET_SPAN - 1)), mo = -1, ml = -1;
  if (pc) mo = month_cached(m, top0 - (RET_SPAN - 1));
  if (lp) ml = month_cached(m, top0 - low_bit(lp));
  if (m1 < 0 || (pc && mo < 0) || (lp && ml < 0)) return -1;
  return mo == m1 || ml == m1;
}

/* on_event of an in-order activity whose scope rows prepare found reserved
   (RK_EXT: the customer's newest day pend_top before the event, its fine
   cell's rcache entry pend_rc): worked out whole when no churn event is in
   the span, the coverage grows (no start), no settling day changes the
   history, both entries fit the ring and the months it needs are cached:
   the new state and two ring slots. fast_inorder's steps without a churn
   (shift_packed, then the new day's digit) on the packed state, in an
   order that keeps few values live (no spills). Returns 0, having changed
   nothing, when the general path must work it out; 2 when on_event_tail
   must follow (pend_x0: the state before). */
static CXM_INLINE int ext_apply(cxm_ctx *ctx, cxm_ret *m, uint32_t ri, const cxm_evview *ev) {
  uint8_t *row = m->side.base + (size_t)ri * m->side.stride;
  uint64_t x;
  memcpy(&x, row, 8);
  uint32_t pl = planes((uint32_t)(x >> 42));
  if (CXM_UNLIKELY(PL_CHURN(pl) != 0)) return 0;
  int32_t top0 = m->pend_top, d = ev->day, w = m->window;
  uint32_t act = PL_ACT(pl);
  /* The last activity up to top0 and the coverage's end, as simulate: the
     span's newest activity, else the carry's (none when cut) */
  int32_t ell;
  if (CXM_LIKELY(act)) {
    ell = top0 - low_bit(act);
  } else {
    if ((x >> 40 & 1) || !(x & 0xFFFF0000u)) return 0; /* no coverage: a start */
    ell = (int32_t)((x >> 16) & 0xFFFFu) - 2;
  }
  /* a start after a lapse; the ring's window to move (stage_pair; no ring:
     rlim lies below every day) */
  if (CXM_UNLIKELY(ell + w < d || d >= m->rlim || d < m->rbase)) return 0;
  int32_t first = (int32_t)(x & 0xFFFFu) - 2;
  if (first < d - RET_SPAN) {
    /* Days leaving the span settle: as hist_settle, nothing changes while
       the carry covers them (or, without a carry, the span's activities
       do, with a window of a span or more) and no gap is open. */
    uint32_t lraw = (uint32_t)(x >> 16) & 0xFFFFu;
    int ok = lraw ? !(x >> 40 & 1) && (int32_t)lraw - 2 + w >= d - RET_SPAN : w >= RET_SPAN;
    if (CXM_UNLIKELY(!ok || cxm__ret_gap_open(ctx->customers.recs[ri].spare))) return 0;
  }
  /* The new state: the days leaving fold into the carry (the newest
     leaving activity becomes lin, uncut), the digits shift, the new day's
     digit. */
  uint32_t k = (uint32_t)(d - top0);
  uint32_t leave = k < RET_SPAN ? (0xFF00u >> k) & 0xFFu : 0xFFu;
  uint64_t nx = x & ((((uint64_t)1 << 40) - 1));
  uint32_t la = act & leave;
  if (la) nx = (nx & ~((uint64_t)0xFFFF << 16)) | (uint64_t)(uint32_t)(top0 - low_bit(la) + 2) << 16;
  else nx |= x & ((uint64_t)1 << 40); /* no activity leaves: the cut stays */
  if (CXM_UNLIKELY((PL_PUR(pl) & leave) || (x >> 41 & 1))) {
    int pc = ext_pcarry(m, x, pl, top0, d, leave);
    if (pc < 0) return 0;
    nx |= (uint64_t)pc << 41;
  }
  uint32_t dig = k < RET_SPAN ? (uint32_t)((x >> 42) * pow6[k] % 1679616u) : 0;
  int pur = ev->type == CXM_EV_PURCHASE;
  nx |= (uint64_t)(dig + 1u + (uint32_t)pur) << 42;
  memcpy(row, &nx, 8);
  /* the two difference entries, staged in the cell's ring */
  int64_t *ring = m->pend_rc->ring;
  uint32_t mask = m->rlen - 1;
  ring[(uint32_t)(ell + w) & mask] += 1 - (int64_t)(ell - first) * ((int64_t)1 << 24);
  ring[(uint32_t)(d + w) & mask] += (int64_t)(d - first) * ((int64_t)1 << 24) - 1;
  uint32_t rp = m->rpoints + 2;
  m->rpoints = rp;
  if (CXM_UNLIKELY(rp >= RET_RING_POINTS || pur)) {
    m->pend_x0 = x;
    return 2;
  }
  return 1;
}

/* prepare for a known customer's event other than prepare's fast case. */
CXM_NOINLINE_ static int prepare_other(cxm_ctx *ctx, cxm_evview *ev, int64_t found,
                                       uint32_t set, uint64_t x, int32_t top0) {
  cxm_ret *m = mod_get(ctx);
  const cxm_cust *r = &ctx->customers.recs[found];
  int32_t d = ev->day, type = ev->type;
  uint32_t dig = (uint32_t)(x >> 42);
  m->pend_kind = 0;
  if (d > top0) {
    if (type == CXM_EV_MESSAGE_SENT) {
      if (!x) { /* nothing to move */
        ev->pend &= ~(uint32_t)CXM_MOD_RETENTION;
        return CXM_OK;
      }
      /* The span moves: as on_event, when no settling day changes a gap. */
      uint32_t pl = planes(dig);
      uint32_t f = (uint32_t)x & 0xFFFFu, l = (uint32_t)(x >> 16) & 0xFFFFu;
      int32_t b1 = d - RET_SPAN;
      if (!f || (int32_t)f - 2 >= b1 ||
          (l && !((x >> 40) & 1) && (int64_t)l - 2 + m->window >= b1 && !PL_CHURN(pl) &&
           !cxm__ret_gap_open(r->spare))) {
        m->pend_x = shift_packed(m, x, pl, top0, d);
        m->pend_kind = RK_STORE;
      }
      m->pend_cell = -1;
      return CXM_OK;
    }
  } else if (d == top0 && type != CXM_EV_CHURN) {
    unsigned dg0 = dig % 6;
    if (dg0 % 3 != 0 || type == CXM_EV_MESSAGE_SENT) {
      /* The day had activity (or this is none): coverage, first day and
         channel stay; a purchase may set the day's purchase flag. */
      if (type != CXM_EV_PURCHASE) {
        ev->pend &= ~(uint32_t)CXM_MOD_RETENTION;
        return CXM_OK;
      }
      m->pend_x = dg0 % 3 == 1 ? x + ((uint64_t)1 << 42) : x;
      m->pend_kind = RK_STORE;
      return prepare_purchase(ctx, m, r, d);
    }
  } else if (type == CXM_EV_MESSAGE_SENT) { /* late: changes nothing */
    ev->pend &= ~(uint32_t)CXM_MOD_RETENTION;
    return CXM_OK;
  }
  return prepare_known(ctx, m, ev, found, set, r, top0);
}

/* prepare for whatever prepare's fast case leaves: a known customer's
   message_sent on a newer day worked out here when no churn event is in
   the span and no settling day changes a gap (on_event then only stores);
   other known customers' events: prepare_other; the rest: prepare_slow. */
CXM_NOINLINE_ static int prepare_full(cxm_ctx *ctx, cxm_evview *ev, int64_t found,
                                      uint32_t set) {
  cxm_ret *m = mod_get(ctx);
  if (CXM_UNLIKELY(!m || !ev || (uint64_t)found >= m->fast_cap)) /* found < 0 too */
    return prepare_slow(ctx, ev, found, set);
  const cxm_cust *r = &ctx->customers.recs[found];
  if (CXM_UNLIKELY(r->segset != set || !(r->flags & CF_EVENT)))
    return prepare_slow(ctx, ev, found, set);
  int32_t top0 = day_of_time(ctx, r->last_time), d = ev->day, type = ev->type;
  uint64_t x = ret_side_get(m, found);
  m->pend_top = top0;
  m->pend_x0 = x;
  if (d > top0 && type == CXM_EV_MESSAGE_SENT) {
    /* The span moves (on a newer day): as on_event's test. */
    uint32_t pl = planes((uint32_t)(x >> 42));
    uint32_t f = (uint32_t)x & 0xFFFFu, l = (uint32_t)(x >> 16) & 0xFFFFu;
    int32_t b1 = d - RET_SPAN;
    uint64_t nx;
    if (x && !PL_CHURN(pl) &&
        (!f || (int32_t)f - 2 >= b1 ||
         (l && !((x >> 40) & 1) && (int32_t)l - 2 + m->window >= b1 &&
          !cxm__ret_gap_open(r->spare))) &&
        shift_nochurn(m, x, pl, top0, d, &nx)) {
      m->pend_x = nx;
      m->pend_kind = RK_STORE;
      return CXM_OK;
    }
  }
  return prepare_other(ctx, ev, found, set, x, top0);
}

/* prepare: a known customer's event checked without a call or a store
   through the handle but where on_event needs it. An event that changes
   nothing (a message_sent on the newest day or before, a repeat of an
   activity on the newest day that is no purchase) clears the module's bit;
   an activity on a newer day whose scope rows already cover its days (the
   rcache: then nothing is left to reserve) leaves on_event to work out
   the extension (RK_EXT; a purchase also needs its cohort rows:
   prepare_purchase, a tail call). Anything else: prepare_full. */
int cxm__retention_prepare(cxm_ctx *ctx, cxm_evview *ev, int64_t found, uint32_t set) {
  cxm_ret *m = mod_get(ctx);
  if (CXM_LIKELY(m && ev && (uint64_t)found < m->fast_cap)) { /* found < 0 fails too */
    const cxm_cust *r = &ctx->customers.recs[found];
    if (CXM_LIKELY(r->segset == set && (r->flags & CF_EVENT))) {
      int32_t top0 = day_of_time(ctx, r->last_time), d = ev->day, type = ev->type;
      uint64_t x = ret_side_get(m, found);
      /* activity types: every customer event but message_sent and churn */
      const uint32_t acts = ~((1u << CXM_EV_MESSAGE_SENT) | (1u << CXM_EV_CHURN));
      if (d > top0) {
        if (CXM_LIKELY(((acts >> (type & 31)) & 1u) && (x & 0xFFFFu))) {
          uint32_t key = set << 8 | (uint32_t)(uint8_t)(x >> 32);
          const struct ret_rc *c = &m->rcache[(key * 2654435761u) >> 20];
          if (CXM_LIKELY(c->tag == key + 1 && top0 >= c->lo8 && d <= c->hiw)) {
            m->pend_top = top0;
            m->pend_rc = c;
            m->pend_kind = RK_EXT;
            if (type == CXM_EV_PURCHASE) return prepare_purchase(ctx, m, r, d);
            return CXM_OK;
          }
        }
      } else if (type == CXM_EV_MESSAGE_SENT ||
                 (d == top0 && type != CXM_EV_CHURN && type != CXM_EV_PURCHASE &&
                  (x >> 42) % 3 != 0)) {
        /* (no churn event on the newest day: the churn wins that day; a
           day's digit has activity when not 0 or 3 mod 6, so when not 0
           mod 3) */
        ev->pend &= ~(uint32_t)CXM_MOD_RETENTION;
        return CXM_OK;
      }
    }
  }
  return prepare_full(ctx, ev, found, set);
}

CXM_COLD static void slow_event(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                    const cxm_evview *ev, int32_t top0);
CXM_NOINLINE_ static void on_event_other(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                         const cxm_evview *ev);
CXM_NOINLINE_ static void on_event_tail(cxm_ctx *ctx, cxm_ret *m, const cxm_evview *ev);
CXM_NOINLINE_ static void on_event_more(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                        const cxm_evview *ev);

void cxm__retention_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  cxm_ret *m = mod_get(ctx);
  if (CXM_LIKELY(m->pend_kind == RK_EXT)) { /* an in-order activity, its rows reserved */
    int rc = ext_apply(ctx, m, ri, ev);
    if (CXM_LIKELY(rc == 1)) return;
    if (rc == 2) {
      on_event_tail(ctx, m, ev);
      return;
    }
  }
  on_event_more(ctx, m, ri, ev);
}

/* The rest of a worked-out extension: a full stage's flush, a purchase's
   cohort bookkeeping (from the state before, pend_x0). */
CXM_NOINLINE_ static void on_event_tail(cxm_ctx *ctx, cxm_ret *m, const cxm_evview *ev) {
  if (m->rpoints >= RET_RING_POINTS) ring_flush(ctx, m);
  if (ev->type == CXM_EV_PURCHASE) purchase_book(m, m->pend_x0, m->pend_top, ev->day);
}

/* on_event of a new customer's first activity (RK_NEW: x is 0, its cell
   pend_cell): fast_inorder's start without the state to unpack: the new
   state, the start on its day in the cell's start accumulator, the
   coverage's end in the ring (stage_start). Returns 0, having changed
   nothing, when the day lies before the ring's window. */
CXM_NOINLINE_ static int new_start(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                   const cxm_evview *ev) {
  int32_t d = ev->day, x1 = d + m->window;
  int pur = ev->type == CXM_EV_PURCHASE;
  if (CXM_UNLIKELY((int64_t)x1 - m->rbase >= m->rlen))
    ring_advance(ctx, m, x1 - (int32_t)m->rlen + 1);
  if (CXM_UNLIKELY(d < m->rbase)) return 0;
  if (pur) purchase_book(m, 0, RET_NONE, d);
  ret_side_put(m, ri, (uint64_t)(uint32_t)(d + 2) | (uint64_t)ev->ch << 32 |
                          (uint64_t)(1u + (uint32_t)pur) << 42);
  ret_cell *c = &m->cells[m->pend_cell];
  if (c->sday != d) {
    if (c->snz) start_out(ctx, m, c);
    c->sday = d;
  }
  c->sv[R_ACTIVE] += 1; /* churned and life: 0 (first = last = d) */
  c->sv[R_STARTS] += 1;
  c->snz = 1;
  c->ring[(uint32_t)x1 & (m->rlen - 1)] -= 1; /* active -1, life d - first = 0 */
  if (CXM_UNLIKELY((m->rpoints += 2) >= RET_RING_POINTS)) ring_flush(ctx, m);
  return 1;
}

/* on_event but ext_apply's case. */
CXM_NOINLINE_ static void on_event_more(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                        const cxm_evview *ev) {
  if (m->pend_kind == RK_NEW) {
    if (new_start(ctx, m, ri, ev)) return;
    m->pend_kind = 0;
  } else if (m->pend_kind == RK_EXT) {
    /* the general path, with what prepare_known would have left */
    m->pend_kind = 0;
    m->pend_cell = m->pend_rc->cell;
  } else if (m->pend_kind == RK_STORE && ev->type != CXM_EV_PURCHASE) {
    ret_side_put(m, ri, m->pend_x); /* a message_sent's span move */
    return;
  }
  on_event_other(ctx, m, ri, ev);
}

/* on_event of an event that prepare did not work out. */
CXM_NOINLINE_ static void on_event_other(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                         const cxm_evview *ev) {
  if (m->pend_kind == RK_STORE) { /* prepare worked out the new state */
    ret_side_put(m, ri, m->pend_x);
    if (ev->type == CXM_EV_PURCHASE) purchase_book(m, m->pend_x0, m->pend_top, ev->day);
    return;
  }
  int32_t d = ev->day;
  int32_t top0 = m->pend_top;
  if (ev->type == CXM_EV_MESSAGE_SENT) {
    /* Not an activity: only a newer day changes anything (the span moves,
       its oldest days settle). */
    uint64_t x = ret_side_get(m, ri);
    if (top0 != RET_NONE && d > top0 && x != 0) {
      uint32_t pl = planes((uint32_t)(x >> 42) & 0x1FFFFF);
      hist_settle(ctx, m, ri, x, pl, top0, d);
      ret_side_put(m, ri, shift_packed(m, x, pl, top0, d));
    }
    return;
  }
  if ((top0 == RET_NONE || d >= top0) && fast_inorder(ctx, m, ri, ev, top0)) return;
  slow_event(ctx, m, ri, ev, top0);
}

/* Any event: the customer's contribution from the span's start on, before
   and after, simulated day by day; their difference goes to the scopes. */
CXM_COLD static void slow_event(cxm_ctx *ctx, cxm_ret *m, uint32_t ri,
                                    const cxm_evview *ev, int32_t top0) {
  int32_t d = ev->day;

  const cxm_cust *r = &ctx->customers.recs[ri];
  rst o = unpack(ret_side_get(m, ri));
  int32_t top1 = top0 == RET_NONE || d > top0 ? d : top0;
  if (top0 == RET_NONE) top0 = top1; /* an empty state fits any span */

  if (ev->type == CXM_EV_PURCHASE) purchase_book(m, ret_side_get(m, ri), top0, d);

  rst s = o;
  hist_walk(ctx, m, ri, &o, top0, top1);
  shift(m, &s, top0, top1);
  int act = ev->type != CXM_EV_MESSAGE_SENT && ev->type != CXM_EV_CHURN;
  int churn = ev->type == CXM_EV_CHURN;
  int pur = ev->type == CXM_EV_PURCHASE;
  int32_t s1 = top1 - (RET_SPAN - 1);
  int cov_same = 0; /* activity and churn flags as they were (purchase aside) */
  if (d >= s1) {
    int i = top1 - d;
    unsigned dg = digit(s.dig, i);
    unsigned a = dg % 3 != 0 || act, p = dg % 3 == 2 || pur, c = dg >= 3 || churn;
    unsigned nd = (p ? 2u : a ? 1u : 0u) + 3u * c;
    cov_same = a == (dg % 3 != 0) && c == (dg >= 3);
    s.dig += (nd - dg) * pow6[i];
  } else {
    /* Older than the span (a lateness bound above 7 days): the settled days
       stay as they are; the carry takes the event as best it can. */
    if (act && (s.lin == RET_NONE || d > s.lin)) s.lin = d;
    if (churn && (s.lin == RET_NONE || d >= s.lin)) s.cut = 1;
    if (pur && cxm__ret_month(m, d) == cxm__ret_month(m, s1)) s.pcarry = 1;
  }
  if (act && (s.first == RET_NONE || d < s.first)) {
    /* The channel moves only while the customer's whole contribution lies in
       the span (nothing settled yet). */
    if (s.first == RET_NONE || s.first >= s1) s.ch = ev->ch;
    s.first = d;
  }
  uint64_t packed = pack(&s);
  ret_side_put(m, ri, packed);
  if (top0 == top1 && cov_same && s.first == o.first && s.ch == o.ch) return;
  if (act && d >= top0 && fast_extend(ctx, m, r->segset, &o, top0, d, s.ch)) return;

  rsim go, gn;
  simulate(&o, top0, m->window, &go);
  simulate(&s, top1, m->window, &gn);
  rent e[2 * MAXENT];
  uint32_t set = r->segset;
  if (o.first != RET_NONE && o.ch != s.ch) {
    const rsim *a[1] = {&go}, *b[1] = {&gn};
    int neg = -1, pos = 1;
    int n = build(a, &neg, 1, s1, e);
    apply_scopes(ctx, m, set, o.ch, e, n);
    n = build(b, &pos, 1, s1, e);
    apply_scopes(ctx, m, set, s.ch, e, n);
  } else {
    const rsim *gs[2] = {&gn, &go};
    int signs[2] = {1, -1};
    int n = build(gs, signs, o.first == RET_NONE ? 1 : 2, s1, e);
    apply_scopes(ctx, m, set, s.ch, e, n);
  }
}

/* ---- snapshots ------------------------------------------------------------------ */

/* 2: with the coverage history (0.2.0 wrote 1, still loaded). */
#define RET_FORMAT 2u

int cxm__retention_save(const cxm_ctx *ctx, cxm_wbuf *w) {
  cxm_ret *m = (cxm_ret *)ctx->mod[CXM_MODIX_RETENTION];
  /* The caller's handle is not const (cxm_snapshot_save_* take cxm_ctx *);
     adding the staged entries to the scopes changes no answer. */
  flush_staged((cxm_ctx *)ctx, m);
  cxm__w_u32(w, RET_FORMAT);
  cxm__w_u8(w, m != NULL);
  if (!m) return w->err;
  cxm__w_u32(w, (uint32_t)m->window);
  uint32_t n = ctx->customers.count;
  cxm__w_u32(w, n);
  for (uint32_t i = 0; i < n; i++) cxm__w_u64(w, i < m->side.cap ? ret_side_get(m, i) : 0);
  for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) {
    if (!m->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const ret_days *a = &m->rows[r]->col[c];
      if (!a->n) continue;
      cxm__w_u32(w, r);
      cxm__w_u32(w, c);
      cxm__w_u32(w, (uint32_t)a->day0);
      cxm__w_u32(w, a->n);
      for (size_t k = 0; k < (size_t)a->n * NR; k++) cxm__w_i64(w, a->v[k]);
    }
  }
  cxm__w_u32(w, UINT32_MAX);
  cxm__cohort_save(m, w);
  cxm__ret_log_save(m, w);
  return w->err;
}

/* A 0.2.0 snapshot knows no gaps: each customer's days before its span
   count as covered if it is covered on the span's eve (else as uncovered),
   and rates from an earlier day than the newest such eve use the per-day
   counts as 0.2.0 did (hist_from). */
static void hist_from_v1(cxm_ctx *ctx, cxm_ret *m) {
  for (uint32_t i = 0; i < ctx->customers.count && i < m->side.cap; i++) {
    cxm_cust *r = &ctx->customers.recs[i];
    uint64_t x = ret_side_get(m, i);
    r->spare = 0;
    if (!(x & 0xFFFF) || !(r->flags & CF_EVENT)) continue;
    int32_t top = cust_top(ctx, r), b = top - RET_SPAN;
    if (packed_first(x) >= b) continue;
    if (!cxm__ret_covers(m, x, top, 0, b)) r->spare = (uint32_t)(b + 2) | RET_GAP_OPEN << 16;
    if (b > m->hist_from) m->hist_from = b;
  }
}

int cxm__retention_load(cxm_ctx *ctx, cxm_rbuf *r) {
  uint32_t fmt = cxm__r_u32(r);
  if (fmt != RET_FORMAT && fmt != 1u) return r->err ? CXM_E_CORRUPT : CXM_E_VERSION;
  if (!cxm__r_u8(r)) return r->err ? CXM_E_CORRUPT : CXM_OK;
  cxm_ret *m = mod_make(ctx);
  if (!m || cxm__ret_rc_reserve(ctx, m)) return CXM_E_NOMEM;
  if ((int32_t)cxm__r_u32(r) != m->window) return CXM_E_CORRUPT;
  uint32_t n = cxm__r_u32(r);
  if (r->err || n != ctx->customers.count || (uint64_t)n * 8 > r->len - r->pos)
    return CXM_E_CORRUPT;
  if (side_reserve(ctx, m, n)) return CXM_E_NOMEM;
  for (uint32_t i = 0; i < n; i++) ret_side_put(m, i, cxm__r_u64(r));
  for (;;) {
    uint32_t row = cxm__r_u32(r);
    if (r->err) return CXM_E_CORRUPT;
    if (row == UINT32_MAX) break;
    uint32_t col = cxm__r_u32(r);
    int32_t day0 = (int32_t)cxm__r_u32(r);
    uint32_t nd = cxm__r_u32(r);
    if (r->err || row >= CXM_GRID_ROWS || col >= CXM_GRID_COLS || nd == 0 ||
        (uint64_t)nd * NR * 8 > r->len - r->pos || (int64_t)day0 + nd > INT32_MAX)
      return CXM_E_CORRUPT;
    if (!m->rows[row] && !(m->rows[row] = (ret_row *)cxm__calloc(ctx, sizeof(ret_row))))
      return CXM_E_NOMEM;
    ret_days *a = &m->rows[row]->col[col];
    if (a->n) return CXM_E_CORRUPT;
    if (cxm__ret_days_ensure(ctx, a, NR, day0, (int32_t)(day0 + (int64_t)nd - 1)))
      return CXM_E_NOMEM;
    int64_t *dst = a->v + (size_t)(day0 - a->day0) * NR;
    for (size_t k = 0; k < (size_t)nd * NR; k++) dst[k] = cxm__r_i64(r);
  }
  int rc = cxm__cohort_load(ctx, m, r);
  if (rc) return rc;
  m->gen++;
  if (fmt == 1u) {
    hist_from_v1(ctx, m);
    return CXM_OK;
  }
  rc = cxm__ret_log_load(ctx, m, r);
  fast_cap_set(m);
  return rc;
}

/* ---- merge: counts add; each customer keeps its shard's state ---------------- */

static uint32_t map_row(const cxm_remap *map, uint32_t r) {
  return r == 0 ? 0 : 1u + (uint32_t)map->segment[r - 1];
}
static uint32_t map_col(const cxm_remap *map, uint32_t c) {
  return c == 0 ? 0 : 1u + map->channel[c - 1];
}

static void merge_scratch_free(cxm_ctx *ctx, cxm_ret *m) {
  if (m->mtop) cxm__free(ctx, m->mtop, (size_t)m->mn * sizeof(int32_t));
  if (m->mset) cxm__free(ctx, m->mset, (size_t)m->mn * sizeof(uint32_t));
  m->mtop = NULL;
  m->mset = NULL;
  m->mn = 0;
}

static uint8_t map_ch(const cxm_remap *map, uint8_t ch) {
  return ch == CXM_CH_NONE ? ch : map->channel[ch];
}

int cxm__retention_merge_reserve(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  const cxm_ret *s = (const cxm_ret *)src->mod[CXM_MODIX_RETENTION];
  if (!(src->opt[CXM_OPT_MODULES] & CXM_MOD_RETENTION)) return CXM_E_MISMATCH;
  if (src->opt[CXM_OPT_CHURN_WINDOW_DAYS] != dst->opt[CXM_OPT_CHURN_WINDOW_DAYS])
    return CXM_E_MISMATCH;
  if (!s) return CXM_OK;
  cxm_ret *m = mod_make(dst);
  if (!m) return CXM_E_NOMEM;
  /* src's day arrays are added as they are: its staged entries first (the
     public cxm_ctx_merge takes src as cxm_ctx *; no answer changes). */
  flush_staged((cxm_ctx *)src, (cxm_ret *)s);
  merge_scratch_free(dst, m);
  uint64_t need = dst->customers.count;
  uint32_t overlap = 0;
  for (uint32_t i = 0; i < map->n_rec; i++) {
    if ((uint64_t)map->rec[i] + 1 > need) need = (uint64_t)map->rec[i] + 1;
    overlap += map->rec[i] < dst->customers.count;
  }
  if (side_reserve(dst, m, need)) return CXM_E_NOMEM;
  for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) {
    if (!s->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const ret_days *a = &s->rows[r]->col[c];
      if (!a->n) continue;
      uint32_t dr = map_row(map, r), dc = map_col(map, c);
      if (!m->rows[dr] && !(m->rows[dr] = (ret_row *)cxm__calloc(dst, sizeof(ret_row))))
        return CXM_E_NOMEM;
      if (cxm__ret_days_ensure(dst, &m->rows[dr]->col[dc], NR, a->day0,
                               (int32_t)(a->day0 + (int64_t)a->n - 1)))
        return CXM_E_NOMEM;
    }
  }
  if (overlap) {
    m->mtop = (int32_t *)cxm__malloc(dst, (size_t)map->n_rec * sizeof(int32_t));
    m->mset = (uint32_t *)cxm__malloc(dst, (size_t)map->n_rec * sizeof(uint32_t));
    m->mn = map->n_rec;
    if (!m->mtop || !m->mset) {
      merge_scratch_free(dst, m);
      return CXM_E_NOMEM;
    }
    for (uint32_t i = 0; i < map->n_rec; i++) {
      uint32_t j = map->rec[i];
      m->mtop[i] = RET_NONE;
      if (j >= dst->customers.count) continue;
      const cxm_cust *dr = &dst->customers.recs[j];
      const cxm_cust *sr = &src->customers.recs[i];
      m->mtop[i] = cust_top(dst, dr);
      m->mset[i] = dr->segset;
      int32_t ts = cust_top(src, sr), top = m->mtop[i];
      if (ts != RET_NONE && (top == RET_NONE || ts > top)) top = ts;
      if (top == RET_NONE) continue;
      rst sd = unpack(j < m->side.cap ? ret_side_get(m, j) : 0);
      rst ss = unpack(i < s->side.cap ? ret_side_get(s, i) : 0);
      uint32_t sets[2] = {dr->segset, map->segset[sr->segset]};
      uint8_t chs[2] = {sd.ch, map_ch(map, ss.ch)};
      for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
          if ((b == 0 && sd.first == RET_NONE) || (b == 1 && ss.first == RET_NONE)) continue;
          if (reserve_scopes(dst, m, sets[a], chs[b], top - RET_SPAN, top + m->window + 1)) {
            merge_scratch_free(dst, m);
            return CXM_E_NOMEM;
          }
        }
    }
  }
  int rc = cxm__ret_log_reserve(dst, m, s->log_n + (uint64_t)overlap * RET_LOG_RESERVE +
                                             RET_LOG_RESERVE);
  if (!rc) rc = cxm__ret_rc_reserve(dst, m);
  if (!rc) rc = cxm__cohort_merge_reserve(dst, m, s);
  if (rc) merge_scratch_free(dst, m);
  return rc;
}

/* Digit-wise union of two spans ending on the same day. */
static uint32_t dig_union(uint32_t x, uint32_t y) {
  uint32_t out = 0;
  for (int i = RET_SPAN - 1; i >= 0; i--) {
    unsigned a = digit(x, i), b = digit(y, i);
    unsigned act = a % 3 != 0 || b % 3 != 0, pur = a % 3 == 2 || b % 3 == 2;
    unsigned churn = a >= 3 || b >= 3;
    out = out * 6 + (pur ? 2u : act ? 1u : 0u) + 3u * churn;
  }
  return out;
}

/* A customer held by both handles: its recent days (the merged span) are
   recomputed from the union of both states; older days stay as each shard
   counted them. */
static void merge_overlap(cxm_ctx *dst, cxm_ret *m, const cxm_ctx *src, const cxm_ret *s,
                          const cxm_remap *map, uint32_t i, uint32_t j) {
  const cxm_cust *sr = &src->customers.recs[i];
  rst sd = unpack(ret_side_get(m, j));
  rst ss = unpack(i < s->side.cap ? ret_side_get(s, i) : 0);
  if (ss.first != RET_NONE && ss.ch != CXM_CH_NONE) ss.ch = map->channel[ss.ch];
  int32_t td = m->mtop[i], ts = cust_top(src, sr);
  int32_t top = cust_top(dst, &dst->customers.recs[j]);
  if (top == RET_NONE) return;
  if (td == RET_NONE) td = top;
  if (ts == RET_NONE) ts = top;
  /* The settled history is the one of the shard with the earlier first
     activity (dst on a tie), its days up to the merged span settled. */
  if (ss.first != RET_NONE && (sd.first == RET_NONE || ss.first < sd.first)) {
    dst->customers.recs[j].spare = sr->spare;
    cxm__ret_log_erase(m, j); /* dst's older gaps go, src's stay: */
    m->mtop[i] = RET_NONE;
    hist_walk(dst, m, j, &ss, ts, top);
  } else {
    hist_walk(dst, m, j, &sd, td, top);
  }
  rsim gd, gs, gm;
  simulate(&sd, td, m->window, &gd);
  simulate(&ss, ts, m->window, &gs);
  rst a = sd, b = ss;
  shift(m, &a, td, top);
  shift(m, &b, ts, top);
  rst mg = a;
  mg.dig = dig_union(a.dig, b.dig);
  if (b.first != RET_NONE && (a.first == RET_NONE || b.first < a.first))
    mg.first = b.first, mg.ch = b.ch;
  if (b.lin != RET_NONE && (a.lin == RET_NONE || b.lin > a.lin)) mg.lin = b.lin, mg.cut = b.cut;
  else if (b.lin != RET_NONE && b.lin == a.lin) mg.cut = a.cut | b.cut;
  mg.pcarry = a.pcarry | b.pcarry;
  simulate(&mg, top, m->window, &gm);
  int32_t x = top - (RET_SPAN - 1);
  rent e[MAXENT];
  int neg = -1, pos = 1, n;
  const rsim *p1[1] = {&gd}, *p2[1] = {&gs}, *p3[1] = {&gm};
  if (sd.first != RET_NONE) {
    n = build(p1, &neg, 1, x, e);
    apply_scopes(dst, m, m->mset[i], sd.ch, e, n);
  }
  if (ss.first != RET_NONE) {
    n = build(p2, &neg, 1, x, e);
    apply_scopes(dst, m, map->segset[sr->segset], ss.ch, e, n);
  }
  if (mg.first != RET_NONE) {
    n = build(p3, &pos, 1, x, e);
    apply_scopes(dst, m, dst->customers.recs[j].segset, mg.ch, e, n);
  }
  ret_side_put(m, j, pack(&mg));
}

void cxm__retention_merge_apply(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  const cxm_ret *s = (const cxm_ret *)src->mod[CXM_MODIX_RETENTION];
  cxm_ret *m = mod_get(dst);
  if (!s || !m) return;
  for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) {
    if (!s->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const ret_days *a = &s->rows[r]->col[c];
      if (!a->n) continue;
      ret_days *b = &m->rows[map_row(map, r)]->col[map_col(map, c)];
      int64_t *to = b->v + (size_t)(a->day0 - b->day0) * NR;
      for (size_t k = 0; k < (size_t)a->n * NR; k++) to[k] += a->v[k];
    }
  }
  for (uint32_t i = 0; i < map->n_rec; i++) {
    uint32_t j = map->rec[i];
    if (m->mtop && m->mtop[i] != RET_NONE) {
      merge_overlap(dst, m, src, s, map, i, j);
      continue;
    }
    rst st = unpack(i < s->side.cap ? ret_side_get(s, i) : 0);
    if (st.first != RET_NONE && st.ch != CXM_CH_NONE) st.ch = map->channel[st.ch];
    ret_side_put(m, j, pack(&st));
    dst->customers.recs[j].spare = src->customers.recs[i].spare;
  }
  /* Overlapping customers whose history is dst's skip src's entries. */
  cxm__ret_log_merge(m, s, map, m->mtop);
  if (s->hist_from > m->hist_from) m->hist_from = s->hist_from;
  m->gen++;
  fast_cap_set(m);
  merge_scratch_free(dst, m);
  cxm__cohort_merge_apply(m, s);
}

/* Erasure keeps the customer's anonymous contribution to the day counts. */
void cxm__retention_erase(cxm_ctx *ctx, uint32_t ri) {
  cxm_ret *m = mod_get(ctx);
  if (!m) return;
  if (ri < m->side.cap) ret_side_put(m, ri, 0);
  cxm__ret_log_erase(m, ri);
  m->gen++;
}

void cxm__retention_move(cxm_ctx *ctx, uint32_t from, uint32_t to) {
  cxm_ret *m = mod_get(ctx);
  if (!m) return;
  cxm__ret_log_move(m, from, to);
  m->gen++;
  if (from >= m->side.cap || to >= m->side.cap) return;
  ret_side_put(m, to, ret_side_get(m, from));
  ret_side_put(m, from, 0);
}

void cxm__retention_free(cxm_ctx *ctx) {
  cxm_ret *m = mod_get(ctx);
  if (!m) return;
  cxm__siderows_free(ctx, CXM_MODIX_RETENTION, &m->side);
  for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) {
    if (!m->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++)
      cxm__ret_days_free(ctx, &m->rows[r]->col[c], NR);
    cxm__free(ctx, m->rows[r], sizeof(ret_row));
  }
  for (uint32_t c = 0; c < m->ncells; c++)
    cxm__free(ctx, m->cells[c].ring, (size_t)m->rlen * sizeof(int64_t));
  if (m->cells) cxm__free(ctx, m->cells, (size_t)m->cells_cap * sizeof(ret_cell));
  if (m->cindex) cxm__free(ctx, m->cindex, (size_t)(m->cindex_mask + 1) * sizeof(uint32_t));
  cxm__ret_days_free(ctx, &m->buyers, 2);
  cxm__cohort_free(ctx, m);
  merge_scratch_free(ctx, m);
  cxm__ret_log_free(ctx, m);
  cxm__ret_rc_free(ctx, m);
  cxm__free(ctx, m, sizeof *m);
  ctx->mod[CXM_MODIX_RETENTION] = NULL;
}

/* ---- queries ------------------------------------------------------------------------ */

static int query_begin(cxm_ctx *ctx, int32_t segment, int32_t channel,
                       const ret_days **out) {
  if (!MODON(ctx))
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "the retention module is off (CXM_OPT_MODULES)");
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  if (channel != CXM_ALL && (channel < 0 || (uint32_t)channel >= ctx->channels.count))
    return cxm__seterr(ctx, CXM_E_ARG, "channel: no channel with id %d", (int)channel);
  cxm_ret *m = mod_get(ctx);
  flush_staged(ctx, m);
  uint32_t row = segment == CXM_ALL ? 0 : 1u + (uint32_t)segment;
  uint32_t col = channel == CXM_ALL ? 0 : 1u + (uint32_t)channel;
  *out = m && m->rows[row] ? &m->rows[row]->col[col] : NULL;
  return CXM_OK;
}

static int64_t day_of_query(const cxm_ctx *ctx, int64_t t) {
  if (t < -((int64_t)1 << 40)) t = -((int64_t)1 << 40);
  if (t > ((int64_t)1 << 40)) t = (int64_t)1 << 40;
  return cxm__day_of(ctx, t);
}

/* Counters as of the end of day d: prefix sums of the difference arrays. */
static void as_of(const ret_days *a, int64_t d, int64_t v[3]) {
  v[0] = v[1] = v[2] = 0;
  if (!a || !a->n || d < a->day0) return;
  int64_t end = (int64_t)a->day0 + a->n - 1;
  if (d > end) d = end;
  for (int64_t i = a->day0; i <= d; i++) {
    const int64_t *row = a->v + (size_t)(i - a->day0) * NR;
    v[0] += row[R_ACTIVE];
    v[1] += row[R_CHURNED];
    v[2] += row[R_LIFE];
  }
}

static int64_t starts_in(const ret_days *a, int64_t d0, int64_t d1) {
  int64_t s = 0;
  if (!a || !a->n) return 0;
  int64_t lo = d0 + 1 > a->day0 ? d0 + 1 : a->day0;
  int64_t hi = (int64_t)a->day0 + a->n - 1;
  if (d1 < hi) hi = d1;
  for (int64_t i = lo; i <= hi; i++) s += a->v[(size_t)(i - a->day0) * NR + R_STARTS];
  return s;
}

int cxm_retention_active(cxm_ctx *ctx, int32_t segment, int32_t channel,
                         int64_t as_of_time, int64_t *active, int64_t *churned) {
  if (!ctx) return CXM_E_NULL;
  if (!active && !churned) return cxm__seterr(ctx, CXM_E_NULL, "active, churned: both NULL");
  const ret_days *a = NULL;
  int rc = query_begin(ctx, segment, channel, &a);
  if (rc) return rc;
  int64_t v[3];
  as_of(a, day_of_query(ctx, as_of_time), v);
  if (active) *active = v[0];
  if (churned) *churned = v[1];
  return CXM_OK;
}

static void rates(const ret_days *a, int64_t d0, int64_t d1, double *churn,
                  double *retention, int64_t *n) {
  int64_t v0[3], v1[3];
  as_of(a, d0, v0);
  as_of(a, d1, v1);
  int64_t kept = v1[0] - starts_in(a, d0, d1);
  if (kept < 0) kept = 0;
  if (kept > v0[0]) kept = v0[0];
  double ret = v0[0] > 0 ? (double)kept / (double)v0[0] : NAN;
  if (retention) *retention = ret;
  if (churn) *churn = v0[0] > 0 ? 1.0 - ret : NAN;
  if (n) *n = v0[0];
}

/* The rates of (d0, d1) in a scope: of the customers covered on d0, the
   share covered on d1, from every customer's coverage (churnlog.c); from the
   per-day counts when d0 lies before the known history (hist_from). */
static int exact_rates(cxm_ctx *ctx, int32_t segment, int32_t channel, const ret_days *a,
                       int64_t d0, int64_t d1, double *churn, double *retention,
                       int64_t *n) {
  cxm_ret *m = mod_get(ctx);
  if (!m || d0 < m->hist_from) {
    rates(a, d0, d1, churn, retention, n);
    return CXM_OK;
  }
  uint32_t row = segment == CXM_ALL ? 0 : 1u + (uint32_t)segment;
  uint32_t col = channel == CXM_ALL ? 0 : 1u + (uint32_t)channel;
  int64_t c[2];
  cxm__ret_exact_counts(ctx, m, d0, d1, row, col, c);
  double ret = c[0] > 0 ? (double)c[1] / (double)c[0] : NAN;
  if (retention) *retention = ret;
  if (churn) *churn = c[0] > 0 ? 1.0 - ret : NAN;
  if (n) *n = c[0];
  return CXM_OK;
}

int cxm_retention_rate(cxm_ctx *ctx, int32_t segment, int32_t channel, int64_t t0,
                       int64_t t1, double *churn_rate, double *retention_rate,
                       int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  const ret_days *a = NULL;
  int rc = query_begin(ctx, segment, channel, &a);
  if (rc) return rc;
  int64_t d0 = day_of_query(ctx, t0), d1 = day_of_query(ctx, t1);
  if (d1 <= d0)
    return cxm__seterr(ctx, CXM_E_RANGE, "t1: must fall on a later day than t0");
  return exact_rates(ctx, segment, channel, a, d0, d1, churn_rate, retention_rate, n);
}

int cxm_retention_lifespan(cxm_ctx *ctx, int32_t segment, int32_t channel,
                           int64_t as_of_time, double *avg_days,
                           double *estimate_days, int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  const ret_days *a = NULL;
  int rc = query_begin(ctx, segment, channel, &a);
  if (rc) return rc;
  int64_t d = day_of_query(ctx, as_of_time), v[3];
  as_of(a, d, v);
  if (avg_days) *avg_days = v[1] > 0 ? (double)v[2] / (double)v[1] : NAN;
  if (n) *n = v[1];
  if (estimate_days) {
    int64_t p = ctx->opt[CXM_OPT_RETENTION_PERIOD_DAYS];
    double churn;
    if ((rc = exact_rates(ctx, segment, channel, a, d - p, d, &churn, NULL, NULL))) return rc;
    *estimate_days = churn > 0 ? (double)p / churn : NAN;
  }
  return CXM_OK;
}

int cxm_retention_clv(cxm_ctx *ctx, int32_t segment, int32_t channel, int64_t as_of_time,
                    double *clv, double *aov, double *frequency,
                    double *lifespan_periods) {
  if (!ctx) return CXM_E_NULL;
  const ret_days *a = NULL;
  int rc = query_begin(ctx, segment, channel, &a);
  if (rc) return rc;
  int64_t p = ctx->opt[CXM_OPT_RETENTION_PERIOD_DAYS];
  int64_t d = day_of_query(ctx, as_of_time);
  int64_t from, to, orders = 0, norders = 0;
  double v_aov = NAN;
  int64_t t = as_of_time;
  if (t < CXM_TIME_FIRST) t = CXM_TIME_FIRST;
  if (t > CXM_TIME_LAST) t = CXM_TIME_LAST;
  if ((rc = cxm_window_trailing(ctx, t, (int32_t)p, &from, &to))) return rc;
  if ((rc = cxm_kpi_get(ctx, CXM_KPI_AOV, segment, channel, from, to, &v_aov, NULL)))
    return rc;
  if ((rc = cxm_kpi_get_int(ctx, CXM_KPI_ORDERS, segment, channel, from, to, &orders,
                            &norders)))
    return rc;
  int64_t v[3];
  as_of(a, d, v);
  double freq = v[0] > 0 ? (double)orders / (double)v[0] : NAN;
  double churn;
  if ((rc = exact_rates(ctx, segment, channel, a, d - p, d, &churn, NULL, NULL))) return rc;
  double life = churn > 0 ? 1.0 / churn : NAN;
  if (aov) *aov = v_aov;
  if (frequency) *frequency = freq;
  if (lifespan_periods) *lifespan_periods = life;
  if (clv) *clv = v_aov * freq * life;
  return CXM_OK;
}
