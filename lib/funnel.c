/*
 * funnel.c - the journey funnel module (see ext.h for the protocol and
 * docs/funnel.md for the definitions).
 *
 * Per customer, a 10-byte record in a row shared with the other modules
 * (ext.h), indexed like the core's records: the highest stage reached, the channel of its first stage, the time of its
 * first stage (the conversion window's start) and the time of its highest
 * stage (the next step is timed from it; at the transaction stage it is the
 * first purchase, which decides the retention stage).
 *
 * Per scope cell (segment row x channel column, as the core's grid), the
 * customers at or past each stage, followed by the segments held now, and
 * for each step a quantile sketch of its durations, credited to the
 * segments held when the step happened (a duration cannot be taken back
 * out when a customer moves: only its last one is known).
 *
 * Every change is first planned (plan()), so that prepare() can reserve
 * exactly what on_event() will touch; on_event() then cannot fail.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "ext.h"
#include "funnel.h"
#include "qsketch.h"

#define NSTAGE 4
#define SK_BYTES ((size_t)CXM_QS_NBUCKETS * sizeof(uint32_t))

typedef struct fcell {
  /* nx[s], s = 1..4: customers whose highest stage is s (a step changes
     two counts, not up to four); nx[0] takes the other half of a first
     stage's change and is never read. Those at or past a stage: at_or_past(). */
  int64_t nx[NSTAGE + 1];
  uint32_t *sk[NSTAGE];       /* sk[k], k >= 1: durations of step k -> k + 1 */
  uint64_t skn[NSTAGE];       /* samples in sk[k] */
} fcell;

typedef struct frow {
  fcell *c[CXM_GRID_COLS];    /* 0 = all channels, 1 + channel id */
} frow;

#define REC CXM_FUNNEL_REC /* funnel.h: the record's layout */
typedef struct fstate {
  uint32_t t_first, t_high;
  uint8_t stage, chan;
} fstate;

typedef struct fplan {
  uint8_t from, to;     /* highest stage before and after */
  uint8_t chan;
  uint32_t t_first, t_high;
  int timed;            /* 1: step `to - 1 -> to` took `dt` seconds */
  uint32_t dt;
} fplan;

/* The rows of one segment set, found once and then reused, so that a stage
   change does not walk the set's segments. Rows live as long as the module
   and a set's segments never change, so an entry stays true. */
#define NSETROWS 1024 /* a power of two */
typedef struct fsetrows {
  uint32_t set;               /* SET_EMPTY: unused */
  uint32_t n;
  frow *r[1 + CXM_SEGMENTS_PER_CUSTOMER_MAX];
} fsetrows;
#define SET_EMPTY UINT32_MAX

/* (segment set, channel) pairs whose cells ensure_cells() found complete,
   with the steps k whose sketches exist too (bit k; bit 0: the cells).
   Cells are only ever added while the module lives, so an entry stays
   true. */
#define NREADY 1024 /* a power of two */
typedef struct fready {
  uint32_t set;               /* SET_EMPTY: unused */
  uint8_t ch, ks;
} fready;

typedef struct funnel {
  cxm_rows recs; /* first (ext.c: view_of): the records, REC bytes each, shared rows */
  fsetrows *setrows;          /* NSETROWS entries */
  fready ready[NREADY];
  /* What prepare() planned for the event on_event() applies next, or NULL
     when the event changes nothing here. ext.c calls on_event() only when
     prepare() left the funnel's bit in ev->pend, which it does only with a
     plan for that very event (events share one address; the check of
     plan_ev in on_event() is a second guard). */
  const cxm_evview *plan_ev;
  fplan plan;
  frow *rows[CXM_GRID_ROWS];  /* 0 = all, 1 + segment id */
} funnel;

static uint8_t *rec_at(const funnel *f, uint64_t ri) {
  return f->recs.base + (size_t)ri * f->recs.stride;
}

static void get_rec(const funnel *f, uint32_t ri, fstate *x) {
  const uint8_t *p = rec_at(f, ri);
  memcpy(&x->t_first, p, 4);
  memcpy(&x->t_high, p + 4, 4);
  x->stage = p[8];
  x->chan = p[9];
}

static void put_rec(funnel *f, uint32_t ri, const fstate *x) {
  uint8_t *p = rec_at(f, ri);
  memcpy(p, &x->t_first, 4);
  memcpy(p + 4, &x->t_high, 4);
  p[8] = x->stage;
  p[9] = x->chan;
}

static uint8_t stage_of(const funnel *f, uint32_t ri) { return rec_at(f, ri)[8]; }
static uint8_t chan_of(const funnel *f, uint32_t ri) { return rec_at(f, ri)[9]; }

static funnel *F(const cxm_ctx *ctx) { return (funnel *)ctx->mod[CXM_MODIX_FUNNEL]; }

static int64_t opt_days(const cxm_ctx *ctx, int o) { return ctx->opt[o] * 86400; }

/* ---- storage ---------------------------------------------------------------- */

static funnel *get_or_create(cxm_ctx *ctx) {
  funnel *f = F(ctx);
  if (f) return f;
  f = (funnel *)cxm__calloc(ctx, sizeof *f);
  if (!f) return NULL;
  f->setrows = (fsetrows *)cxm__malloc(ctx, NSETROWS * sizeof(fsetrows));
  if (!f->setrows) {
    cxm__free(ctx, f, sizeof *f);
    return NULL;
  }
  for (uint32_t i = 0; i < NSETROWS; i++) f->setrows[i].set = SET_EMPTY;
  for (uint32_t i = 0; i < NREADY; i++) f->ready[i].set = SET_EMPTY;
  ctx->mod[CXM_MODIX_FUNNEL] = f;
  return f;
}

/* Grows the records to hold `need`: to the core's capacity, or 1024 * 2^k
   when the core has not grown yet (cxm_customer_set_segments prepares
   before it reserves; ext.c). New records are zero: no stage. */
static int ensure_cap(cxm_ctx *ctx, funnel *f, uint64_t need) {
  if (need <= f->recs.cap) return CXM_OK;
  return cxm__siderows_reserve(ctx, CXM_MODIX_FUNNEL, &f->recs, REC, need);
}

static fcell *cell_at(const funnel *f, uint32_t row, uint32_t col) {
  return f->rows[row] ? f->rows[row]->c[col] : NULL;
}

/* Makes cell (row, col) exist, with the sketch of step `k` when k > 0. */
static int ensure_cell(cxm_ctx *ctx, funnel *f, uint32_t row, uint32_t col, int k) {
  if (!f->rows[row]) {
    f->rows[row] = (frow *)cxm__calloc(ctx, sizeof(frow));
    if (!f->rows[row]) return CXM_E_NOMEM;
  }
  fcell **pc = &f->rows[row]->c[col];
  if (!*pc) {
    *pc = (fcell *)cxm__calloc(ctx, sizeof(fcell));
    if (!*pc) return CXM_E_NOMEM;
  }
  if (k > 0 && !(*pc)->sk[k]) {
    (*pc)->sk[k] = (uint32_t *)cxm__calloc(ctx, SK_BYTES);
    if (!(*pc)->sk[k]) return CXM_E_NOMEM;
  }
  return CXM_OK;
}

/* The rows of a segment set: 0 and 1 + each segment. */
static uint32_t set_rows(const cxm_ctx *ctx, uint32_t set, uint32_t rows[1 + CXM_SEGMENTS_PER_CUSTOMER_MAX]) {
  const cxm_segset *s = &ctx->segsets.sets[set];
  rows[0] = 0;
  for (uint32_t i = 0; i < s->n; i++) rows[1 + i] = 1u + (uint32_t)s->seg[i];
  return 1 + s->n;
}

/* The columns of a channel: 0, and 1 + channel unless it is none. */
static uint32_t chan_cols(uint8_t ch, uint32_t cols[2]) {
  cols[0] = 0;
  if (ch == CXM_CH_NONE) return 1;
  cols[1] = 1u + ch;
  return 2;
}

/* The cached rows of a segment set, or NULL while one of them is missing
   (callers then walk the grid). */
static const fsetrows *rows_of(const cxm_ctx *ctx, funnel *f, uint32_t set) {
  fsetrows *e = &f->setrows[(set * UINT32_C(0x9E3779B1)) >> 22];
  if (CXM_LIKELY(e->set == set)) return e;
  uint32_t rows[1 + CXM_SEGMENTS_PER_CUSTOMER_MAX];
  uint32_t n = set_rows(ctx, set, rows);
  for (uint32_t i = 0; i < n; i++)
    if (!f->rows[rows[i]]) return NULL;
  for (uint32_t i = 0; i < n; i++) e->r[i] = f->rows[rows[i]];
  e->n = n;
  e->set = set;
  return e;
}
typedef char setrows_hash_fits[NSETROWS == 1u << (32 - 22) ? 1 : -1];

static uint32_t col_of(uint8_t ch) { return ch == CXM_CH_NONE ? 0 : 1u + ch; }

#if defined(__GNUC__)
#define SLOW __attribute__((noinline))
#else
#define SLOW
#endif

static int ensure_cells_walk(cxm_ctx *ctx, funnel *f, uint32_t set, uint8_t ch, int k);

static fready *ready_of(funnel *f, uint32_t set, uint8_t ch) {
  return &f->ready[((set << 8 | ch) * UINT32_C(0x9E3779B1)) >> 22];
}

/* ensure_cells() past its cache. */
static SLOW int ensure_cells_slow(cxm_ctx *ctx, funnel *f, uint32_t set, uint8_t ch, int k) {
  fready *rd = ready_of(f, set, ch);
  int rc = ensure_cells_walk(ctx, f, set, ch, k);
  if (rc) return rc;
  if (rd->set != set || rd->ch != ch) {
    rd->set = set;
    rd->ch = ch;
    rd->ks = 0;
  }
  rd->ks |= (uint8_t)(1u | 1u << k);
  return CXM_OK;
}

/* Every cell of (set, ch) exists, with the sketch of step k when k > 0. */
static CXM_INLINE int ensure_cells(cxm_ctx *ctx, funnel *f, uint32_t set, uint8_t ch, int k) {
  const fready *rd = ready_of(f, set, ch);
  if (CXM_LIKELY(rd->set == set && rd->ch == ch && (rd->ks >> k & 1u))) return CXM_OK;
  return ensure_cells_slow(ctx, f, set, ch, k);
}
typedef char ready_hash_fits[NREADY == 1u << (32 - 22) && NSTAGE <= 8 ? 1 : -1];

/* ensure_cells() without the cache: checks each cell (creates the missing). */
static int ensure_cells_walk(cxm_ctx *ctx, funnel *f, uint32_t set, uint8_t ch, int k) {
  const fsetrows *e = rows_of(ctx, f, set);
  if (e) { /* the common case: every cell exists, allocate nothing */
    uint32_t c1 = col_of(ch);
    int ready = 1;
    for (uint32_t i = 0; i < e->n; i++) {
      const fcell *a = e->r[i]->c[0], *b = e->r[i]->c[c1];
      ready &= a && b && (k == 0 || (a->sk[k] && b->sk[k]));
    }
    if (ready) return CXM_OK;
  }
  uint32_t rows[1 + CXM_SEGMENTS_PER_CUSTOMER_MAX], cols[2];
  uint32_t nr = set_rows(ctx, set, rows), nc = chan_cols(ch, cols);
  for (uint32_t i = 0; i < nr; i++)
    for (uint32_t j = 0; j < nc; j++) {
      int rc = ensure_cell(ctx, f, rows[i], cols[j], k);
      if (rc) return rc;
    }
  return CXM_OK;
}

/* ---- the stage machine --------------------------------------------------------- */

/* funnel.h: the stage of an event and the no-change test. */
static int ev_stage(const cxm_evview *ev) { return cxm__funnel_ev_stage(ev->type, ev->v1); }
static int unchanged(const uint8_t *p, int k, uint32_t t) {
  return cxm__funnel_unchanged(p, k, t);
}

static int in_window(const cxm_ctx *ctx, uint32_t t_first, uint32_t t) {
  int64_t w = opt_days(ctx, CXM_OPT_FUNNEL_WINDOW_DAYS);
  return w == 0 || t <= t_first || (int64_t)(t - t_first) <= w;
}

/* What the event does to customer `ri` (-1: a new customer). */
static void plan(const cxm_ctx *ctx, const funnel *f, int64_t ri,
                 const cxm_evview *ev, fplan *p) {
  fstate x = {0, 0, 0, CXM_CH_NONE};
  int k = ev_stage(ev);
  if (k && ri >= 0 && (uint64_t)ri < f->recs.cap) get_rec(f, (uint32_t)ri, &x);
  p->from = p->to = x.stage;
  p->chan = x.chan;
  p->t_first = x.t_first;
  p->t_high = x.t_high;
  p->timed = 0;
  p->dt = 0;
  if (k == 0) return;
  uint32_t t = ev->t;
  uint8_t h = p->from;
  if (h == 0) { /* the first stage: the channel and the window start */
    p->to = (uint8_t)k;
    p->t_first = p->t_high = t;
    p->chan = ev->ch;
    return;
  }
  /* A late event may reveal an earlier start of the journey. */
  if (t < p->t_first) p->t_first = t;
  if (k == 3 && h >= 3) {
    if (h == 4) return;
    /* At the transaction stage t_high is the first purchase. */
    uint32_t first = p->t_high;
    uint32_t gap = t >= first ? t - first : first - t;
    uint32_t later = t >= first ? t : first;
    if ((int64_t)gap <= opt_days(ctx, CXM_OPT_FUNNEL_RETENTION_DAYS) &&
        in_window(ctx, p->t_first, later)) {
      p->to = 4;
      p->t_high = later;
      p->timed = 1;
      p->dt = gap;
    } else if (t < first) {
      p->t_high = t; /* an earlier first purchase */
    }
    return;
  }
  if (k > h) {
    if (!in_window(ctx, p->t_first, t)) return;
    p->to = (uint8_t)k;
    if (k == h + 1) { /* a step from a stage reached by its own event */
      p->timed = 1;
      p->dt = t >= p->t_high ? t - p->t_high : 0;
    }
    p->t_high = t;
  } else if (k == h && t < p->t_high) {
    p->t_high = t; /* the highest stage was reached earlier than known */
  }
}

/* Customers at or past stage s + 1 (s = 0..3): the snapshot's and the
   queries' figure. */
static int64_t at_or_past(const fcell *c, int s) {
  uint64_t n = 0; /* wraps as load()'s differences did */
  for (int j = s + 1; j <= NSTAGE; j++) n += (uint64_t)c->nx[j];
  return (int64_t)n;
}

/* One cell's part of add_to_cells: d customers go from highest stage lo to
   hi (at or past stages lo + 1 .. hi: d more). */
static CXM_INLINE void add_cell(fcell *c, int lo, int hi, int64_t d, int k, uint32_t b) {
  c->nx[lo] -= d;
  c->nx[hi] += d;
  if (k) {
    c->sk[k][b]++;
    c->skn[k]++;
  }
}

/* Adds `d` to the customers at stages [lo, hi) of the cells of (set, ch)
   and, when k > 0, a sample of `dt` seconds to their step-k sketches (the
   cells and sketches exist). */
static void add_to_cells(cxm_ctx *ctx, funnel *f, uint32_t set, uint8_t ch,
                         int lo, int hi, int64_t d, int k, uint32_t dt) {
  uint32_t b = k ? cxm__qs_bucket(dt) : 0;
  const fsetrows *e = rows_of(ctx, f, set);
  if (CXM_LIKELY(e != NULL)) {
    uint32_t c1 = col_of(ch);
    for (uint32_t i = 0; i < e->n; i++) {
      add_cell(e->r[i]->c[0], lo, hi, d, k, b);
      if (c1) add_cell(e->r[i]->c[c1], lo, hi, d, k, b);
    }
    return;
  }
  uint32_t rows[1 + CXM_SEGMENTS_PER_CUSTOMER_MAX], cols[2];
  uint32_t nr = set_rows(ctx, set, rows), nc = chan_cols(ch, cols);
  for (uint32_t i = 0; i < nr; i++)
    for (uint32_t j = 0; j < nc; j++) add_cell(cell_at(f, rows[i], cols[j]), lo, hi, d, k, b);
}

static void add_counts(cxm_ctx *ctx, funnel *f, uint32_t set, uint8_t ch,
                       int lo, int hi, int64_t d) {
  add_to_cells(ctx, f, set, ch, lo, hi, d, 0, 0);
}

/* ---- the protocol -------------------------------------------------------------- */

/* The dispatch (ext.h) calls prepare() for a known customer whose set
   stays only when cxm__funnel_unchanged() could not tell that the event
   changes nothing: here is the general case, a new customer, growth, a
   segment move, a change. */
int cxm__funnel_prepare(cxm_ctx *ctx, cxm_evview *ev, int64_t found, uint32_t set) {
  if (ev) ev->pend &= ~(uint32_t)CXM_MOD_FUNNEL; /* until a plan is made */
  funnel *f = F(ctx);
  if (CXM_UNLIKELY(!f) && !(f = get_or_create(ctx))) return CXM_E_NOMEM;
  f->plan_ev = NULL;
  uint64_t need = found >= 0 ? (uint64_t)found + 1 : (uint64_t)ctx->customers.count + 1;
  int rc = CXM_UNLIKELY(need > f->recs.cap) ? ensure_cap(ctx, f, need) : CXM_OK;
  if (rc) return rc;
  /* A move to `set` carries the customer's counts into its cells. */
  if (found >= 0 && CXM_UNLIKELY(ctx->customers.recs[found].segset != set) &&
      stage_of(f, (uint32_t)found) &&
      (rc = ensure_cells(ctx, f, set, chan_of(f, (uint32_t)found), 0)))
    return rc;
  int k = ev ? ev_stage(ev) : 0;
  if (!k || (found >= 0 && unchanged(rec_at(f, found), k, ev->t)))
    return CXM_OK;
  fplan *p = &f->plan;
  plan(ctx, f, found, ev, p);
  if (p->to > p->from && (rc = ensure_cells(ctx, f, set, p->chan, p->timed ? p->to - 1 : 0)))
    return rc;
  f->plan_ev = ev;
  ev->pend |= CXM_MOD_FUNNEL;
  return CXM_OK;
}

void cxm__funnel_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                           uint32_t new_set) {
  funnel *f = F(ctx);
  if (!f || ri >= f->recs.cap || !stage_of(f, ri)) return;
  add_counts(ctx, f, old_set, chan_of(f, ri), 0, stage_of(f, ri), -1);
  add_counts(ctx, f, new_set, chan_of(f, ri), 0, stage_of(f, ri), 1);
}

void cxm__funnel_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  funnel *f = F(ctx);
  if (CXM_LIKELY(!f || f->plan_ev != ev)) return; /* nothing changes */
  f->plan_ev = NULL;
  if (ri >= f->recs.cap) return; /* prepare() ran: cannot happen */
  const fplan *p = &f->plan;
  if (p->to > p->from)
    add_to_cells(ctx, f, ev->set, p->chan, p->from, p->to, 1, p->timed ? p->to - 1 : 0, p->dt);
  fstate x = {p->t_first, p->t_high, p->to, p->chan};
  put_rec(f, ri, &x);
}

/* ---- snapshots ----------------------------------------------------------------- */

#define FUNNEL_FORMAT 1u
#define END_OF_CELLS UINT32_MAX

int cxm__funnel_save(const cxm_ctx *ctx, cxm_wbuf *w) {
  const funnel *f = F(ctx);
  uint32_t n = f ? ctx->customers.count : 0;
  if (f && n > f->recs.cap) n = f->recs.cap;
  cxm__w_u32(w, FUNNEL_FORMAT);
  cxm__w_u32(w, n);
  for (uint32_t i = 0; i < n; i++) {
    fstate x;
    get_rec(f, i, &x);
    cxm__w_u32(w, x.t_first);
    cxm__w_u32(w, x.t_high);
    cxm__w_u8(w, x.stage);
    /* A customer with no stage yet (made by cxm_customer_set_segments) has no
       channel; its zeroed record must not name channel 0. */
    cxm__w_u8(w, x.stage ? x.chan : CXM_CH_NONE);
  }
  for (uint32_t r = 0; f && r < CXM_GRID_ROWS; r++) {
    if (!f->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const fcell *x = f->rows[r]->c[c];
      if (!x) continue;
      cxm__w_u32(w, r);
      cxm__w_u32(w, c);
      for (int s = 0; s < NSTAGE; s++) cxm__w_i64(w, at_or_past(x, s));
      for (int k = 1; k < NSTAGE; k++) {
        uint32_t nz = 0;
        for (uint32_t b = 0; x->sk[k] && b < CXM_QS_NBUCKETS; b++) nz += x->sk[k][b] != 0;
        cxm__w_u8(w, x->sk[k] != NULL);
        if (!x->sk[k]) continue;
        cxm__w_u32(w, nz);
        for (uint32_t b = 0; b < CXM_QS_NBUCKETS; b++)
          if (x->sk[k][b]) {
            cxm__w_u32(w, b);
            cxm__w_u32(w, x->sk[k][b]);
          }
      }
    }
  }
  cxm__w_u32(w, END_OF_CELLS);
  return w->err;
}

static int valid_row(const cxm_ctx *ctx, uint32_t r) {
  return r == 0 || (r < CXM_GRID_ROWS && r - 1 < ctx->segments.count);
}
static int valid_col(const cxm_ctx *ctx, uint32_t c) {
  return c == 0 || (c < CXM_GRID_COLS && c - 1 < ctx->channels.count);
}

int cxm__funnel_load(cxm_ctx *ctx, cxm_rbuf *r) {
  if (cxm__r_u32(r) != FUNNEL_FORMAT) return r->err ? CXM_E_CORRUPT : CXM_E_VERSION;
  uint32_t n = cxm__r_u32(r);
  if (r->err || n > ctx->customers.count) return CXM_E_CORRUPT;
  funnel *f = get_or_create(ctx);
  if (!f) return CXM_E_NOMEM;
  int rc = ensure_cap(ctx, f, ctx->customers.cap > n ? ctx->customers.cap : n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    fstate x;
    x.t_first = cxm__r_u32(r);
    x.t_high = cxm__r_u32(r);
    x.stage = cxm__r_u8(r);
    x.chan = cxm__r_u8(r);
    if (x.stage > NSTAGE ||
        (x.stage && x.chan != CXM_CH_NONE && x.chan >= ctx->channels.count))
      return CXM_E_CORRUPT;
    put_rec(f, i, &x);
  }
  for (;;) {
    uint32_t row = cxm__r_u32(r);
    if (r->err) return CXM_E_CORRUPT;
    if (row == END_OF_CELLS) break;
    uint32_t col = cxm__r_u32(r);
    if (!valid_row(ctx, row) || !valid_col(ctx, col)) return CXM_E_CORRUPT;
    if ((rc = ensure_cell(ctx, f, row, col, 0))) return rc;
    fcell *x = f->rows[row]->c[col];
    int64_t n[NSTAGE];
    for (int s = 0; s < NSTAGE; s++) n[s] = cxm__r_i64(r);
    /* Differences in uint64_t: a corrupt snapshot's counts wrap, and save
       gives them back as they were. */
    for (int s = 1; s < NSTAGE; s++) x->nx[s] = (int64_t)((uint64_t)n[s - 1] - (uint64_t)n[s]);
    x->nx[NSTAGE] = n[NSTAGE - 1];
    for (int k = 1; k < NSTAGE; k++) {
      if (!cxm__r_u8(r)) continue;
      if ((rc = ensure_cell(ctx, f, row, col, k))) return rc;
      uint32_t nz = cxm__r_u32(r);
      if (nz > CXM_QS_NBUCKETS) return CXM_E_CORRUPT;
      for (uint32_t i = 0; i < nz; i++) {
        uint32_t b = cxm__r_u32(r), v = cxm__r_u32(r);
        if (b >= CXM_QS_NBUCKETS) return CXM_E_CORRUPT;
        x->sk[k][b] = v;
        x->skn[k] += v;
      }
    }
    if (r->err) return CXM_E_CORRUPT;
  }
  return CXM_OK;
}

/* ---- merge -------------------------------------------------------------------- */

static uint32_t map_row(const cxm_remap *m, uint32_t r) {
  return r == 0 ? 0 : 1u + (uint32_t)m->segment[r - 1];
}
static uint32_t map_col(const cxm_remap *m, uint32_t c) {
  return c == 0 ? 0 : 1u + m->channel[c - 1];
}
static uint8_t map_ch(const cxm_remap *m, uint8_t ch) {
  return ch == CXM_CH_NONE ? ch : m->channel[ch];
}

/* Records dst will hold after the merge: the core inserts src's new
   customers only after the modules reserved. */
static uint64_t merged_records(const cxm_ctx *dst, const cxm_remap *map) {
  uint64_t need = dst->customers.count;
  for (uint32_t i = 0; i < map->n_rec; i++)
    if ((uint64_t)map->rec[i] + 1 > need) need = (uint64_t)map->rec[i] + 1;
  return need;
}

int cxm__funnel_merge_reserve(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  funnel *d = get_or_create(dst);
  if (!d) return CXM_E_NOMEM;
  int rc = ensure_cap(dst, d, merged_records(dst, map));
  if (rc) return rc;
  const funnel *s = F(src);
  for (uint32_t r = 0; s && r < CXM_GRID_ROWS; r++) {
    if (!s->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const fcell *x = s->rows[r]->c[c];
      if (!x) continue;
      uint32_t dr = map_row(map, r), dc = map_col(map, c);
      for (int k = 0; k < NSTAGE; k++)
        if ((k == 0 || x->sk[k]) && (rc = ensure_cell(dst, d, dr, dc, k))) return rc;
    }
  }
  return CXM_OK;
}

void cxm__funnel_merge_apply(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  funnel *d = F(dst);
  const funnel *s = F(src);
  if (!d || !s) return;
  for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) {
    if (!s->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const fcell *x = s->rows[r]->c[c];
      if (!x) continue;
      fcell *y = cell_at(d, map_row(map, r), map_col(map, c));
      for (int k = 1; k <= NSTAGE; k++)
        y->nx[k] = (int64_t)((uint64_t)y->nx[k] + (uint64_t)x->nx[k]);
      for (int k = 1; k < NSTAGE; k++) {
        if (!x->sk[k]) continue;
        for (uint32_t b = 0; b < CXM_QS_NBUCKETS; b++) y->sk[k][b] += x->sk[k][b];
        y->skn[k] += x->skn[k];
      }
    }
  }
  uint32_t n = src->customers.count < s->recs.cap ? src->customers.count : s->recs.cap;
  if (n > map->n_rec) n = map->n_rec;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t j = map->rec[i];
    fstate a, b;
    get_rec(s, i, &a);
    if (!a.stage || j >= d->recs.cap) continue;
    get_rec(d, j, &b);
    if (!b.stage) {
      a.chan = map_ch(map, a.chan);
      put_rec(d, j, &a);
      continue;
    }
    /* Shards are customer-disjoint; a customer in both keeps the furthest
       journey (its counts were made in both and stay added). */
    if (a.stage > b.stage) {
      b.stage = a.stage;
      b.t_high = a.t_high;
    }
    if (a.t_first < b.t_first) b.t_first = a.t_first;
    put_rec(d, j, &b);
  }
}

/* ---- erase, move, free ----------------------------------------------------------- */

static void clear(funnel *f, uint32_t ri) { memset(rec_at(f, ri), 0, REC); }

/* Stage counts are customer-level: they stop counting the customer. Its
   step durations stay in the sketches, as anonymous samples. */
void cxm__funnel_erase(cxm_ctx *ctx, uint32_t ri) {
  funnel *f = F(ctx);
  if (!f || ri >= f->recs.cap) return;
  if (stage_of(f, ri))
    add_counts(ctx, f, ctx->customers.recs[ri].segset, chan_of(f, ri), 0, stage_of(f, ri), -1);
  clear(f, ri);
}

void cxm__funnel_move(cxm_ctx *ctx, uint32_t from, uint32_t to) {
  funnel *f = F(ctx);
  if (!f || from >= f->recs.cap || to >= f->recs.cap || from == to) return;
  memcpy(rec_at(f, to), rec_at(f, from), REC);
  clear(f, from);
}

void cxm__funnel_free(cxm_ctx *ctx) {
  funnel *f = F(ctx);
  if (!f) return;
  cxm__siderows_free(ctx, CXM_MODIX_FUNNEL, &f->recs);
  cxm__free(ctx, f->setrows, NSETROWS * sizeof(fsetrows));
  for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) {
    if (!f->rows[r]) continue;
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      fcell *x = f->rows[r]->c[c];
      if (!x) continue;
      for (int k = 1; k < NSTAGE; k++) cxm__free(ctx, x->sk[k], SK_BYTES);
      cxm__free(ctx, x, sizeof *x);
    }
    cxm__free(ctx, f->rows[r], sizeof(frow));
  }
  cxm__free(ctx, f, sizeof *f);
  ctx->mod[CXM_MODIX_FUNNEL] = NULL;
}

/* ---- queries --------------------------------------------------------------------- */

static int scope_check(cxm_ctx *ctx, int32_t segment, int32_t channel,
                       int32_t stage, uint32_t *row, uint32_t *col) {
  if (!(ctx->opt[CXM_OPT_MODULES] & CXM_MOD_FUNNEL))
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "the funnel module is off (CXM_OPT_MODULES)");
  if (stage < CXM_FUNNEL_AWARENESS || stage > CXM_FUNNEL_RETENTION)
    return cxm__seterr(ctx, CXM_E_ARG, "stage: no funnel stage %d", (int)stage);
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  if (channel != CXM_ALL && (channel < 0 || (uint32_t)channel >= ctx->channels.count))
    return cxm__seterr(ctx, CXM_E_ARG, "channel: no channel with id %d", (int)channel);
  *row = segment == CXM_ALL ? 0 : 1u + (uint32_t)segment;
  *col = channel == CXM_ALL ? 0 : 1u + (uint32_t)channel;
  return CXM_OK;
}

int cxm_funnel_get(cxm_ctx *ctx, int32_t segment, int32_t channel, int32_t stage,
                   int64_t *customers, double *conversion, int64_t *dropped) {
  if (!ctx) return CXM_E_NULL;
  uint32_t row = 0, col = 0; /* gcc -O3 cannot see scope_check set them on success */
  int rc = scope_check(ctx, segment, channel, stage, &row, &col);
  if (rc) return rc;
  const funnel *f = F(ctx);
  const fcell *c = f ? cell_at(f, row, col) : NULL;
  int k = stage - 1;
  int64_t here = c ? at_or_past(c, k) : 0;
  int64_t prev = c && k > 0 ? at_or_past(c, k - 1) : 0;
  if (customers) *customers = here;
  if (conversion) *conversion = k > 0 && prev > 0 ? (double)here / (double)prev : NAN;
  if (dropped) *dropped = k > 0 ? prev - here : 0;
  return CXM_OK;
}

int cxm_funnel_days(cxm_ctx *ctx, int32_t segment, int32_t channel, int32_t stage,
                    double q, double *days, int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  if (!days) return cxm__seterr(ctx, CXM_E_NULL, "days: NULL");
  uint32_t row = 0, col = 0;
  int rc = scope_check(ctx, segment, channel, stage, &row, &col);
  if (rc) return rc;
  if (!(q >= 0.0 && q <= 1.0))
    return cxm__seterr(ctx, CXM_E_RANGE, "q: the quantile must be in [0, 1], got %g", q);
  const funnel *f = F(ctx);
  const fcell *c = f ? cell_at(f, row, col) : NULL;
  int k = stage - 1;
  uint64_t m = c && k > 0 ? c->skn[k] : 0;
  *days = m ? cxm__qs_quantile(c->sk[k], m, q) / 86400.0 : NAN;
  if (n) *n = (int64_t)m;
  return CXM_OK;
}
