/*
 * attribution.c - the cross-channel attribution module (see ext.h for the
 * protocol and docs/attribution.md for the definitions).
 *
 * Per customer, its K most recent touches (K = CXM_OPT_TOUCHES_KEPT) in a
 * packed record of 5K + 1 bytes (41 at K = 8): the count, K channels, K
 * 32-bit times (unaligned, read with memcpy). One record per customer, so
 * that an event reaches one or two cache lines, not three arrays. A
 * customer's touches are kept sorted by time, ties in arrival order.
 *
 * Credits are fixed point, so that sums are exact and independent of order
 * (a merge of shards equals the whole stream): each purchase's weights are
 * integers in 10^-9 orders summing to exactly 10^9, and a weight w credits
 * amount * w / 10^9 minor units as whole minor units plus 10^-9 minor units,
 * computed exactly, so the credits of one purchase sum to its amount.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "attribution.h"
#include "ext.h"

#define NMODEL 5
#define UNIT INT64_C(1000000000) /* 10^9: one order, one minor unit */
#define MAXK 32                  /* the option's upper bound */

/* A sum of credits: `orders` 10^-9 orders, and minor + acc / 10^9 minor
   units. acc gathers the 10^-9 parts unreduced (one multiply-add per
   credit, no division) and folds into minor past FOLD; readers take the
   normalised pair (norm()), so every figure is the one exact value. */
typedef struct credit {
  int64_t orders;
  int64_t minor;
  uint64_t acc;     /* < FOLD + 10^18: one more credit cannot wrap */
} credit;
#define FOLD (UINT64_C(1) << 62)

typedef struct attrib {
  cxm_attr_ring ring; /* first: attribution.h reads it from ctx->mod[] */
  /* [0][model] no channel, [1 + channel id][model] */
  credit cr[CXM_GRID_COLS][NMODEL];
  /* Linear and position-based weights of touch i of m touches (shares()),
     made once: a purchase adds them up per channel. */
  int32_t lin[MAXK + 1][MAXK], pos[MAXK + 1][MAXK];
  /* The two side by side, linear in the high half: a column's sums of
     either stay within UNIT < 2^32, so one addition adds both. */
  uint64_t lp[MAXK + 1][MAXK];
  /* A purchase's weights per column (linear, position based, time decay),
     side by side so that a touch adds to one place: zero between
     purchases. */
  uint64_t wsum[CXM_GRID_COLS][2]; /* [0] as lp[][], [1] time decay */
} attrib;

static attrib *A(const cxm_ctx *ctx) { return (attrib *)ctx->mod[CXM_MODIX_ATTRIBUTION]; }

#define BIT(type) (1u << (type))
#define TOUCHES (BIT(CXM_EV_TOUCH) | BIT(CXM_EV_SESSION) | BIT(CXM_EV_MESSAGE_CLICK) | \
                 BIT(CXM_EV_ENGAGE))
/* Event types are 1..14 once accepted. */
#define USES(type) (((TOUCHES | BIT(CXM_EV_PURCHASE)) >> (type)) & 1u)

/* ---- storage ---------------------------------------------------------------- */

/* Linear: equal shares, the odd units to the earliest touches. Position
   based: one touch gets all, two are linear; else 40/20/40, the middle 20
   split as linear among the others. */
static void shares(attrib *a) {
  for (int32_t m = 1; m <= MAXK; m++) {
    int32_t q = (int32_t)(UNIT / m), rem = (int32_t)(UNIT % m);
    for (int32_t i = 0; i < m; i++) {
      a->lin[m][i] = q + (i < rem);
      if (m <= 2) {
        a->pos[m][i] = a->lin[m][i];
      } else {
        int32_t mid = (int32_t)(UNIT / 10 * 2), mq = mid / (m - 2), mr = mid % (m - 2);
        a->pos[m][i] = i == 0 || i == m - 1 ? (int32_t)(UNIT / 10 * 4) : mq + (i - 1 < mr);
      }
      a->lp[m][i] = (uint64_t)a->lin[m][i] << 32 | (uint32_t)a->pos[m][i];
    }
  }
}

static attrib *get_or_create(cxm_ctx *ctx) {
  attrib *a = A(ctx);
  if (!a) {
    a = (attrib *)cxm__calloc(ctx, sizeof *a);
    if (!a) return NULL;
    a->ring.k = (uint32_t)ctx->opt[CXM_OPT_TOUCHES_KEPT];
    a->ring.rs = 5 * (size_t)a->ring.k + 1;
    shares(a);
    ctx->mod[CXM_MODIX_ATTRIBUTION] = a;
  }
  return a;
}

/* A record and its ring: attribution.h. */
#define FULL CXM_ATTR_FULL
static uint8_t *rec_of(const attrib *a, uint32_t ri) {
  return a->ring.rows.base + (size_t)ri * a->ring.rows.stride;
}
static uint32_t time_at(const attrib *a, const uint8_t *r, uint32_t slot) {
  uint32_t t;
  memcpy(&t, r + 1 + a->ring.k + 4 * (size_t)slot, 4);
  return t;
}
static void put_at(const attrib *a, uint8_t *r, uint32_t slot, uint32_t t, uint8_t ch) {
  memcpy(r + 1 + a->ring.k + 4 * (size_t)slot, &t, 4);
  r[1 + slot] = ch;
}
/* The touch count and the slot of the oldest. */
static uint32_t ring_of(const attrib *a, const uint8_t *r, uint32_t *head) {
  uint32_t h = r[0];
  *head = h & FULL ? h & (FULL - 1) : 0;
  return h & FULL ? a->ring.k : h;
}
static uint32_t slot_of(const attrib *a, uint32_t head, uint32_t i) {
  uint32_t s = head + i;
  return s >= a->ring.k ? s - a->ring.k : s;
}
/* A customer's touches in time order; returns how many. */
static uint32_t unpack(const attrib *a, const uint8_t *r, uint32_t *tt, uint8_t *tc) {
  uint32_t head, n = ring_of(a, r, &head);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t s = slot_of(a, head, i);
    tt[i] = time_at(a, r, s);
    tc[i] = r[1 + s];
  }
  return n;
}
static void pack(const attrib *a, uint8_t *r, const uint32_t *tt, const uint8_t *tc,
                 uint32_t n) {
  for (uint32_t i = 0; i < n; i++) put_at(a, r, i, tt[i], tc[i]);
  r[0] = (uint8_t)(n == a->ring.k ? FULL : n);
}

/* Rows as funnel.c (ext.h: cxm__siderows_reserve). */
static int ensure_cap(cxm_ctx *ctx, attrib *a, uint64_t need) {
  if (need <= a->ring.rows.cap) return CXM_OK;
  return cxm__siderows_reserve(ctx, CXM_MODIX_ATTRIBUTION, &a->ring.rows, a->ring.rs, need);
}

#if defined(__GNUC__)
#define SLOW __attribute__((noinline))
#else
#define SLOW
#endif

/* A touch older than the newest kept one: into the middle of the list. */
static SLOW void keep_late_touch(attrib *a, uint8_t *r, uint32_t t, uint8_t ch) {
  uint32_t k = a->ring.k;
  uint32_t tt[MAXK + 1];
  uint8_t tc[MAXK + 1];
  uint32_t n = unpack(a, r, tt, tc);
  uint32_t pos = n; /* after every touch at or before t */
  while (pos > 0 && tt[pos - 1] > t) pos--;
  if (n == k && pos == 0) return;
  memmove(tt + pos + 1, tt + pos, (size_t)(n - pos) * sizeof *tt);
  memmove(tc + pos + 1, tc + pos, n - pos);
  tt[pos] = t;
  tc[pos] = ch;
  n++;
  if (n > k) pack(a, r, tt + 1, tc + 1, k); /* the oldest goes */
  else pack(a, r, tt, tc, n);
}

/* prepare() when the module is new or its side array must grow. */
static SLOW int grow(cxm_ctx *ctx, uint64_t need) {
  attrib *a = get_or_create(ctx);
  return a ? ensure_cap(ctx, a, need) : CXM_E_NOMEM;
}

/* Inserts a touch into a customer's list in time order (ties keep arrival
   order); when the list is full the oldest touch goes (the new one itself
   when it is older than all). */
static void keep_touch(attrib *a, uint8_t *r, uint32_t t, uint8_t ch) {
  if (!cxm__attr_keep_newest(&a->ring, r, t, ch)) keep_late_touch(a, r, t, ch);
}

/* ---- weights ------------------------------------------------------------------- */

/* Integer weights w[0..n) summing to UNIT in the proportions r[] (r > 0
   everywhere): floors, then one more each to the largest remainders (ties:
   the earlier touch). */
static CXM_INLINE void apportion(const double *r, uint32_t n, int64_t *w) {
  double s = 0;
  for (uint32_t i = 0; i < n; i++) s += r[i];
  int64_t left = UNIT;
  /* A remainder's key: its bits plus one. Remainders are >= +0, whose bit
     patterns order as the values do; a taken one gets key 0, below all. */
  uint64_t key[MAXK];
  for (uint32_t i = 0; i < n; i++) {
    double ideal = r[i] / s * (double)UNIT;
    w[i] = (int64_t)ideal; /* ideal >= 0: truncation is the floor */
    double frac = ideal - (double)w[i];
    memcpy(&key[i], &frac, 8);
    key[i]++;
    left -= w[i];
  }
  /* Once all are taken (only when rounding left n units or more) they
     start again from the first. */
  uint32_t taken = 0;
  while (left > 0) {
    /* The first largest (strictly greater replaces): ties to the earlier. */
    uint32_t best = 0;
    uint64_t kb = key[0];
    for (uint32_t i = 1; i < n; i++) {
      int gt = key[i] > kb;
      best = gt ? i : best;
      kb = gt ? key[i] : kb;
    }
    w[best]++;
    key[best] = 0;
    left--;
    if (++taken == n) {
      for (uint32_t i = 0; i < n; i++) key[i] = 1; /* all equal: from the first */
      taken = 0;
    }
  }
  /* Rounding can only leave `left` >= 0 (floors sum to at most UNIT); a
     negative one would come from r summing over UNIT ulps: take it back. */
  for (uint32_t i = 0; left < 0; i = (i + 1) % n)
    if (w[i] > 0) {
      w[i]--;
      left++;
    }
}

/* A purchase's amount split for credit_add: amount = hi * UNIT + lo. */
typedef struct amount { int64_t minor, hi, lo; } amount;

static void fold(credit *c) {
  c->minor += (int64_t)(c->acc / (uint64_t)UNIT);
  c->acc %= (uint64_t)UNIT;
}

/* Credits w/UNIT (0 <= w <= UNIT) of a purchase to one column: w * lo <
   10^18, so acc below FOLD stays below 2^63 after it. */
static CXM_INLINE void credit_add(credit *c, int64_t w, const amount *x) {
  c->orders += w;
  c->minor += x->hi * w;
  c->acc += (uint64_t)x->lo * (uint64_t)w;
  if (CXM_UNLIKELY(c->acc >= FOLD)) fold(c);
}

/* credit_add for an amount with hi == 0. */
static CXM_INLINE void credit_add_lo(credit *c, int64_t w, const amount *x) {
  c->orders += w;
  c->acc += (uint64_t)x->lo * (uint64_t)w;
  if (CXM_UNLIKELY(c->acc >= FOLD)) fold(c);
}

/* The whole purchase to one column: what credit_add gives for w = UNIT. */
static CXM_INLINE void credit_whole(credit *c, const amount *x) {
  c->orders += UNIT;
  c->minor += x->minor;
}

static void credit_sum(credit *to, const credit *x) {
  to->orders += x->orders;
  to->minor += x->minor;
  to->acc += x->acc; /* both below FOLD + 10^18: no wrap */
  if (to->acc >= FOLD) fold(to);
}

/* The exact figure: whole minor units and 10^-9 minor units (0 .. UNIT - 1). */
static void norm(const credit *c, int64_t *minor, int64_t *nano) {
  *minor = c->minor + (int64_t)(c->acc / (uint64_t)UNIT);
  *nano = (int64_t)(c->acc % (uint64_t)UNIT);
}

/* CXM_CH_NONE (0xFF) wraps to column 0, channel c to 1 + c. */
static uint32_t col_of(uint8_t ch) { return (uint8_t)(ch + 1u); }
typedef char col_of_wraps[CXM_CH_NONE == 0xFFu && CXM_GRID_COLS <= 256 ? 1 : -1];

/* Credits add exactly whatever their grouping, so each model's weights are
   summed per channel (in a->wsum, by column) and each channel is credited
   once per model: the same sums as crediting touch by touch. First and last
   touch are the whole purchase to one channel each. */
static void attribute_spread(attrib *a, const uint32_t *tt, const uint8_t *tc,
                             uint32_t m, uint32_t t, double hl, int64_t minor) {
  double r[MAXK];
  int64_t dw[MAXK];
  for (uint32_t i = 0; i < m; i++) r[i] = exp2(-(double)(t - tt[i]) / hl);
  apportion(r, m, dw);
  const uint64_t *lp = a->lp[m];
  uint8_t cols[MAXK];
  uint32_t ns = 0;
  for (uint32_t i = 0; i < m; i++) {
    uint32_t c = col_of(tc[i]);
    uint64_t *w = a->wsum[c];
    cols[ns] = (uint8_t)c;
    ns += !w[0]; /* a linear weight is never 0: m <= 32 */
    w[0] += lp[i];
    w[1] += (uint64_t)dw[i];
  }
  amount x = {minor, minor / UNIT, minor % UNIT};
  credit_whole(&a->cr[col_of(tc[0])][CXM_ATTR_FIRST_TOUCH - 1], &x);
  credit_whole(&a->cr[col_of(tc[m - 1])][CXM_ATTR_LAST_TOUCH - 1], &x);
  /* Amounts under 10^9 minor units (all but the largest) have no whole
     part to multiply: the same sums without it. */
  if (CXM_LIKELY(x.hi == 0)) {
    for (uint32_t j = 0; j < ns; j++) {
      uint64_t *w = a->wsum[cols[j]];
      credit *cr = a->cr[cols[j]];
      credit_add_lo(&cr[CXM_ATTR_LINEAR - 1], (int64_t)(w[0] >> 32), &x);
      credit_add_lo(&cr[CXM_ATTR_POSITION_BASED - 1], (int64_t)(uint32_t)w[0], &x);
      credit_add_lo(&cr[CXM_ATTR_TIME_DECAY - 1], (int64_t)w[1], &x);
      w[0] = w[1] = 0;
    }
    return;
  }
  for (uint32_t j = 0; j < ns; j++) {
    uint64_t *w = a->wsum[cols[j]];
    credit *cr = a->cr[cols[j]];
    credit_add(&cr[CXM_ATTR_LINEAR - 1], (int64_t)(w[0] >> 32), &x);
    credit_add(&cr[CXM_ATTR_POSITION_BASED - 1], (int64_t)(uint32_t)w[0], &x);
    credit_add(&cr[CXM_ATTR_TIME_DECAY - 1], (int64_t)w[1], &x);
    w[0] = w[1] = 0;
  }
}

void cxm__attribution_purchase(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  attrib *a = A(ctx);
  if (!a || ri >= a->ring.rows.cap) return; /* prepare() ran: cannot happen */
  const uint8_t *r = rec_of(a, ri);
  uint32_t t = ev->t, k = a->ring.k, hdr = r[0];
  const uint8_t *times = r + 1 + k;
  uint32_t lookback = (uint32_t)(ctx->opt[CXM_OPT_LOOKBACK_DAYS] * 86400);
  /* Touches in [t - lookback, t]: a run of the time-ordered ring, found from
     its newest end (the slot before the header's). Kept newest first at the
     end of the arrays; `diff` tells whether their channels differ from the
     newest's. */
  uint32_t tt[MAXK], n = hdr & FULL ? k : hdr, s = hdr & (FULL - 1), lo = MAXK;
  uint8_t tc[MAXK];
  uint32_t diff = 0;
  for (uint32_t i = 0; i < n; i++) {
    s = (s ? s : k) - 1;
    uint32_t ts;
    memcpy(&ts, times + 4 * (size_t)s, 4);
    if (ts > t) continue;
    if (t - ts > lookback) break;
    lo--;
    tt[lo] = ts;
    tc[lo] = r[1 + s];
    diff |= (uint32_t)(tc[lo] ^ tc[MAXK - 1]);
  }
  uint32_t m = MAXK - lo;
  if (diff) {
    double hl = (double)ctx->opt[CXM_OPT_HALF_LIFE_DAYS] * 86400.0;
    attribute_spread(a, tt + lo, tc + lo, m, t, hl, ev->minor);
    return;
  }
  /* All credit to one channel under every model (each model's weights sum
     to UNIT); no touch: the purchase's own channel. */
  amount x = {ev->minor, 0, 0};
  credit *cr = a->cr[col_of(m ? tc[MAXK - 1] : ev->ch)];
  for (int md = 0; md < NMODEL; md++) credit_whole(&cr[md], &x);
}

/* The dispatch keeps a touch not older than the customer's newest itself
   (cxm__attr_keep_newest) and calls this for the others. */
void cxm__attribution_touch(cxm_ctx *ctx, uint32_t ri, uint32_t t, uint8_t ch) {
  attrib *a = A(ctx);
  if (a && ri < a->ring.rows.cap) keep_touch(a, rec_of(a, ri), t, ch);
}

/* ---- the protocol -------------------------------------------------------------- */

int cxm__attribution_prepare(cxm_ctx *ctx, cxm_evview *ev, int64_t found,
                             uint32_t set) {
  (void)set;
  const attrib *a = A(ctx);
  uint64_t need = found >= 0 ? (uint64_t)found + 1 : (uint64_t)ctx->customers.count + 1;
  if (CXM_UNLIKELY(!a || need > a->ring.rows.cap)) return grow(ctx, need);
  /* on_event will read the record after the core's own update: start the
     cache miss now so that the two overlap. (The dispatch calls this for a
     known customer only on a segment move; the batch ingest prefetches
     every module's record with the customer's.) */
  if (found >= 0 && ev && USES(ev->type)) {
    const uint8_t *r = rec_of(a, (uint32_t)found);
    CXM_PREFETCH_W(r);
    CXM_PREFETCH_W(r + a->ring.rs - 1);
  }
  return CXM_OK;
}

void cxm__attribution_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                                uint32_t new_set) {
  (void)ctx; (void)ri; (void)old_set; (void)new_set; /* not kept per segment */
}

/* No on_event: the dispatch (ext.h) calls cxm__attribution_touch or
   cxm__attribution_purchase itself. */

/* ---- snapshots ----------------------------------------------------------------- */

#define ATTR_FORMAT 1u

int cxm__attribution_save(const cxm_ctx *ctx, cxm_wbuf *w) {
  const attrib *a = A(ctx);
  uint32_t n = a ? ctx->customers.count : 0;
  if (a && n > a->ring.rows.cap) n = a->ring.rows.cap;
  cxm__w_u32(w, ATTR_FORMAT);
  cxm__w_u32(w, a ? a->ring.k : (uint32_t)ctx->opt[CXM_OPT_TOUCHES_KEPT]);
  cxm__w_u32(w, n);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t tt[MAXK];
    uint8_t tc[MAXK];
    uint32_t m = unpack(a, rec_of(a, i), tt, tc);
    cxm__w_u8(w, (uint8_t)m);
    for (uint32_t j = 0; j < m; j++) {
      cxm__w_u32(w, tt[j]);
      cxm__w_u8(w, tc[j]);
    }
  }
  for (int md = 0; a && md < NMODEL; md++)
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const credit *x = &a->cr[c][md];
      int64_t minor, nano;
      norm(x, &minor, &nano);
      if (!x->orders && !minor && !nano) continue;
      cxm__w_u32(w, (uint32_t)md * CXM_GRID_COLS + c);
      cxm__w_i64(w, x->orders);
      cxm__w_i64(w, minor);
      cxm__w_i64(w, nano);
    }
  cxm__w_u32(w, UINT32_MAX);
  return w->err;
}

int cxm__attribution_load(cxm_ctx *ctx, cxm_rbuf *r) {
  if (cxm__r_u32(r) != ATTR_FORMAT) return r->err ? CXM_E_CORRUPT : CXM_E_VERSION;
  uint32_t k = cxm__r_u32(r), n = cxm__r_u32(r);
  if (r->err || k != (uint32_t)ctx->opt[CXM_OPT_TOUCHES_KEPT] ||
      n > ctx->customers.count)
    return CXM_E_CORRUPT;
  attrib *a = get_or_create(ctx);
  if (!a) return CXM_E_NOMEM;
  int rc = ensure_cap(ctx, a, ctx->customers.cap > n ? ctx->customers.cap : n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t m = cxm__r_u8(r);
    if (m > k) return CXM_E_CORRUPT;
    uint32_t tt[MAXK];
    uint8_t tc[MAXK];
    for (uint32_t j = 0; j < m; j++) {
      tt[j] = cxm__r_u32(r);
      tc[j] = cxm__r_u8(r);
      if ((j && tt[j] < tt[j - 1]) ||
          (tc[j] != CXM_CH_NONE && tc[j] >= ctx->channels.count))
        return CXM_E_CORRUPT;
    }
    pack(a, rec_of(a, i), tt, tc, m);
  }
  for (;;) {
    uint32_t key = cxm__r_u32(r);
    if (r->err) return CXM_E_CORRUPT;
    if (key == UINT32_MAX) break;
    uint32_t c = key % CXM_GRID_COLS;
    if (key / CXM_GRID_COLS >= NMODEL || (c && c - 1 >= ctx->channels.count))
      return CXM_E_CORRUPT;
    credit *x = &a->cr[c][key / CXM_GRID_COLS];
    x->orders = cxm__r_i64(r);
    x->minor = cxm__r_i64(r);
    int64_t nano = cxm__r_i64(r);
    if (r->err || nano < 0 || nano >= UNIT) return CXM_E_CORRUPT;
    x->acc = (uint64_t)nano;
  }
  return CXM_OK;
}

/* ---- merge --------------------------------------------------------------------- */

/* Records dst will hold after the merge: the core inserts src's new
   customers only after the modules reserved. */
static uint64_t merged_records(const cxm_ctx *dst, const cxm_remap *map) {
  uint64_t need = dst->customers.count;
  for (uint32_t i = 0; i < map->n_rec; i++)
    if ((uint64_t)map->rec[i] + 1 > need) need = (uint64_t)map->rec[i] + 1;
  return need;
}

int cxm__attribution_merge_reserve(cxm_ctx *dst, const cxm_ctx *src,
                                   const cxm_remap *map) {
  (void)map;
  attrib *d = get_or_create(dst);
  if (!d) return CXM_E_NOMEM;
  const attrib *s = A(src);
  if (s && s->ring.k != d->ring.k)
    return cxm__seterr(dst, CXM_E_MISMATCH,
                       "CXM_OPT_TOUCHES_KEPT differs (%u here, %u in the other handle)",
                       (unsigned)d->ring.k, (unsigned)s->ring.k);
  return ensure_cap(dst, d, merged_records(dst, map));
}

void cxm__attribution_merge_apply(cxm_ctx *dst, const cxm_ctx *src,
                                  const cxm_remap *map) {
  attrib *d = A(dst);
  const attrib *s = A(src);
  if (!d || !s) return;
  for (int md = 0; md < NMODEL; md++)
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) {
      const credit *x = &s->cr[c][md];
      if (!x->orders && !x->minor && !x->acc) continue;
      credit_sum(&d->cr[c ? 1u + map->channel[c - 1] : 0][md], x);
    }
  uint32_t n = src->customers.count < s->ring.rows.cap ? src->customers.count : s->ring.rows.cap;
  if (n > map->n_rec) n = map->n_rec;
  /* A customer in both handles (shards should be customer-disjoint) keeps
     the most recent touches of the two. */
  for (uint32_t i = 0; i < n; i++) {
    uint32_t j = map->rec[i];
    if (j >= d->ring.rows.cap) continue;
    uint32_t tt[MAXK];
    uint8_t tc[MAXK];
    uint32_t m = unpack(s, rec_of(s, i), tt, tc);
    for (uint32_t q = 0; q < m; q++)
      keep_touch(d, rec_of(d, j), tt[q], tc[q] == CXM_CH_NONE ? tc[q] : map->channel[tc[q]]);
  }
}

/* ---- erase, move, free ----------------------------------------------------------- */

/* Credits already made stay, as an anonymous contribution. */
void cxm__attribution_erase(cxm_ctx *ctx, uint32_t ri) {
  attrib *a = A(ctx);
  if (a && ri < a->ring.rows.cap) rec_of(a, ri)[0] = 0;
}

void cxm__attribution_move(cxm_ctx *ctx, uint32_t from, uint32_t to) {
  attrib *a = A(ctx);
  if (!a || from >= a->ring.rows.cap || to >= a->ring.rows.cap || from == to) return;
  memcpy(rec_of(a, to), rec_of(a, from), a->ring.rs);
  rec_of(a, from)[0] = 0;
}

void cxm__attribution_free(cxm_ctx *ctx) {
  attrib *a = A(ctx);
  if (!a) return;
  cxm__siderows_free(ctx, CXM_MODIX_ATTRIBUTION, &a->ring.rows);
  cxm__free(ctx, a, sizeof *a);
  ctx->mod[CXM_MODIX_ATTRIBUTION] = NULL;
}

/* ---- queries --------------------------------------------------------------------- */

/* A query's answer: orders, and the exact revenue as norm() gives it. */
typedef struct fixed { int64_t orders, minor, nano; } fixed;

static int query(cxm_ctx *ctx, int model, int32_t channel, fixed *out) {
  if (!(ctx->opt[CXM_OPT_MODULES] & CXM_MOD_ATTRIBUTION))
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "the attribution module is off (CXM_OPT_MODULES)");
  if (model < CXM_ATTR_FIRST_TOUCH || model > CXM_ATTR_POSITION_BASED)
    return cxm__seterr(ctx, CXM_E_ARG, "model: no attribution model %d", model);
  if (channel != CXM_ALL && channel != CXM_CREDIT_NO_CHANNEL &&
      (channel < 0 || (uint32_t)channel >= ctx->channels.count))
    return cxm__seterr(ctx, CXM_E_ARG, "channel: no channel with id %d", (int)channel);
  memset(out, 0, sizeof *out);
  const attrib *a = A(ctx);
  if (!a) return CXM_OK;
  credit sum = {0, 0, 0};
  if (channel == CXM_ALL)
    for (uint32_t c = 0; c < CXM_GRID_COLS; c++) credit_sum(&sum, &a->cr[c][model - 1]);
  else
    sum = a->cr[channel == CXM_CREDIT_NO_CHANNEL ? 0 : 1u + (uint32_t)channel][model - 1];
  out->orders = sum.orders;
  norm(&sum, &out->minor, &out->nano);
  return CXM_OK;
}

int cxm_attribution_get_fixed(cxm_ctx *ctx, int model, int32_t channel,
                              int64_t *orders_e9, int64_t *revenue_minor,
                              int64_t *revenue_minor_e9) {
  if (!ctx) return CXM_E_NULL;
  fixed c;
  int rc = query(ctx, model, channel, &c);
  if (rc) return rc;
  if (orders_e9) *orders_e9 = c.orders;
  if (revenue_minor) *revenue_minor = c.minor;
  if (revenue_minor_e9) *revenue_minor_e9 = c.nano;
  return CXM_OK;
}

int cxm_attribution_get(cxm_ctx *ctx, int model, int32_t channel, double *orders,
                        double *revenue, double *roas) {
  if (!ctx) return CXM_E_NULL;
  fixed c;
  int rc = query(ctx, model, channel, &c);
  if (rc) return rc;
  double minor = (double)c.minor + (double)c.nano / (double)UNIT;
  if (orders) *orders = (double)c.orders / (double)UNIT;
  if (revenue) *revenue = minor / ctx->money_scale;
  if (roas) {
    *roas = NAN;
    int64_t spend = 0;
    if (channel != CXM_CREDIT_NO_CHANNEL &&
        cxm_kpi_get_int(ctx, CXM_KPI_SPEND, CXM_ALL, channel, CXM_TIME_MIN,
                        CXM_TIME_MAX, &spend, NULL) == CXM_OK &&
        spend > 0)
      *roas = minor / (double)spend;
  }
  return CXM_OK;
}

const char *cxm_attribution_model_name(int model) {
  static const char *const names[NMODEL] = {"first_touch", "last_touch", "linear",
                                            "time_decay", "position_based"};
  return model >= 1 && model <= NMODEL ? names[model - 1] : NULL;
}
