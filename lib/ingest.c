/*
 * ingest.c - validating and crediting events: the hot path.
 *
 * An event is first validated and every allocation it needs is made (customer
 * slot, day rows of its scopes); only then is state changed, so a rejected or
 * failed event leaves no trace. Customer-level counters are kept as each
 * customer's contribution (buyer, orders, net revenue, lead, converted,
 * interactions) added to the cells of the segments it holds now and of its
 * acquisition channels; when any of those change, the old contribution is
 * taken out and the new one put in.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
/* The per-event code stores scalars to neighbouring fields (the event
   view, the run): GCC's basic-block vectorizer packs pairs of them into
   vector registers first, which costs more instructions than the stores
   (callgrind, with modules: 7 per event). Before the includes, so that
   the inline functions of the headers get the same options. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-slp-vectorize")
#endif
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ext.h"
#include "internal.h"

#define NO_INDEX SIZE_MAX
#define CHUNK 256
/* Prefetch distances in events: the index slot, then the record read from
   it. With the batch's fast path an event takes less time, so the fetches
   need more events ahead: at 1M customers, best of 3 interleaved runs,
   8/4 gave 5.70, 12/6 7.12 and 16/8 7.58 M events per CPU second
   (-DAHEAD_SLOT=.. -DAHEAD_REC=.. to measure others). */
#ifndef AHEAD_SLOT
#define AHEAD_SLOT 16
#endif
#ifndef AHEAD_REC
#define AHEAD_REC 8
#endif

typedef struct ev_in {
  int64_t time;
  int32_t type;
  int32_t channel;
  double v1, v2;
  int32_t segset;
  size_t idlen;
} ev_in;

/* What stays the same for the events of one call: the day of the last
   event's time (events come mostly in time order, so the division by 86400
   is rarely needed), and whether modules or monitoring listen (fixed while
   a call runs: the options are fixed once events exist, and a callback
   cannot register another). */
typedef struct ingest_run {
  uint64_t day_lo; /* the cached day's first second as a time (UTC offset taken off) */
  int32_t day;
  int active;
  /* The event stage's memo (internal.h) serves this call when every column
     and set id is within its reach (checked once: channels and sets cannot
     be added while a call runs); memo_day is then the stage's memo_day,
     else a day no event has. */
  int memo_ok;
  int32_t memo_day;
  /* Accepted by the batch's fast path and not yet in ctx (run_commit): the
     count and the time range, kept here so that an event does not reload
     and store three handle fields. */
  int64_t nacc;
  uint32_t tlo, thi;
  /* With `active`, for the batch's fast path (set by run_tables): each
     type's cxm__ext_pend, and whether monitoring listens. */
  int mon;
  uint8_t pend_of[16];
} ingest_run;

static void run_init(const cxm_ctx *ctx, ingest_run *run) {
  /* matches no time: |time + offset| < 2^62 */
  run->day_lo = (UINT64_C(1) << 63) - (uint64_t)ctx->utc_offset;
  run->day = 0;
  run->active = cxm__ext_active(ctx);
  run->memo_ok = ctx->channels.count < CXM_MEMO_COLS && ctx->segsets.count <= CXM_MEMO_SETS;
  run->memo_day = run->memo_ok ? ctx->stage_ev.memo_day : INT32_MIN;
  run->nacc = 0;
  run->tlo = UINT32_MAX;
  run->thi = 0;
}

static void run_tables(const cxm_ctx *ctx, ingest_run *run) {
  for (int32_t k = 0; k < 16; k++) run->pend_of[k] = (uint8_t)cxm__ext_pend(ctx, k);
  run->mon = ctx->mon_on;
}

/* Before anything else reads the handle's counts (the general path's
   note_accepted, the end of the call). */
static void run_commit(cxm_ctx *ctx, ingest_run *run) {
  if (!run->nacc) return;
  if (ctx->n_accepted == 0 || run->tlo < ctx->first_time) ctx->first_time = run->tlo;
  if (ctx->n_accepted == 0 || run->thi > ctx->last_time) ctx->last_time = run->thi;
  ctx->n_accepted += run->nacc;
  ctx->started = 1;
  run->nacc = 0;
  run->tlo = UINT32_MAX;
  run->thi = 0;
}

/* Modular arithmetic: time - day_lo < 86400 exactly when time is in the day. */
static CXM_INLINE int32_t run_day(const cxm_ctx *ctx, ingest_run *run, int64_t time) {
  if (CXM_LIKELY((uint64_t)time - run->day_lo < 86400)) return run->day;
  int64_t d = cxm__day_of(ctx, time);
  run->day = (int32_t)d;
  run->day_lo = (uint64_t)(d * 86400) - (uint64_t)ctx->utc_offset;
  return run->day;
}

static int reject(cxm_ctx *ctx, size_t idx, int status, const char *fmt, ...)
    CXM_PRINTF(4, 5) CXM_COLD;

static int reject(cxm_ctx *ctx, size_t idx, int status, const char *fmt, ...) {
  char detail[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  if (idx == NO_INDEX)
    cxm__seterr(ctx, status, "%s", detail);
  else
    cxm__seterr(ctx, status, "event %zu: %s", idx, detail);
  ctx->n_rejected++;
  if (status == CXM_E_LATE) ctx->n_late++;
  if (ctx->on_reject) ctx->on_reject(ctx->on_reject_user, idx, status, detail);
  return status;
}

/* ---- customer contributions ---------------------------------------------- */


static const uint8_t group_lo[NCG] = {CC_BUYERS, CC_LEADS, CC_INTERACTORS};
static const uint8_t group_hi[NCG] = {CC_NET + 1, CC_CONVERTED + 1, NCC};

static void apply_group(cxm_ctx *ctx, uint32_t set, int g, uint8_t ch,
                        const int64_t d[NCC]) {
  int64_t *cell = cxm__stage_cc(ctx, set, g, ch);
  for (int k = group_lo[g]; k < group_hi[g]; k++) cell[k] += d[k];
}

/* Adds d (each group with a non-zero field) to the customer-level cells of
   segment set `set` and of each group's acquisition channel. */
static void apply_cc(cxm_ctx *ctx, uint32_t set, const uint8_t ch[NCG],
                     const int64_t d[NCC]) {
  if (d[CC_BUYERS] | d[CC_REPEAT] | d[CC_ORDERS] | d[CC_NET])
    apply_group(ctx, set, CG_BUY, ch[CG_BUY], d);
  if (d[CC_LEADS] | d[CC_CONVERTED]) apply_group(ctx, set, CG_LEAD, ch[CG_LEAD], d);
  if (d[CC_INTERACTORS] | d[CC_INTERACTIONS])
    apply_group(ctx, set, CG_ENGAGE, ch[CG_ENGAGE], d);
}

static void negate(int64_t v[NCC]) {
  for (int k = 0; k < NCC; k++) v[k] = -v[k];
}

static void cust_channels(const cxm_cust *r, uint8_t ch[NCG]) {
  ch[CG_BUY] = r->ch_purchase;
  ch[CG_LEAD] = r->ch_lead;
  ch[CG_ENGAGE] = r->ch_interact;
}

/* Moves a customer to another segment set, with its contribution. */
static void cust_move_segset(cxm_ctx *ctx, cxm_cust *r, uint32_t set) {
  if (r->segset == set) return;
  int64_t c[NCC];
  uint8_t ch[NCG];
  cxm__cust_contrib(r, c);
  cust_channels(r, ch);
  uint32_t old = r->segset;
  r->segset = set;
  if (ctx->opt[CXM_OPT_MODULES])
    cxm__ext_on_segset(ctx, (uint32_t)(r - ctx->customers.recs), old, set);
  int any = 0;
  for (int k = 0; k < NCC; k++) any |= c[k] != 0;
  if (!any) return;
  apply_cc(ctx, set, ch, c);
  negate(c);
  apply_cc(ctx, old, ch, c);
}

/* ---- event-level counters ------------------------------------------------- */

typedef struct evdelta {
  int n;
  uint8_t idx[5];
  int64_t val[5];
} evdelta;

static inline void dput(evdelta *d, int idx, int64_t v) {
  d->idx[d->n] = (uint8_t)idx;
  d->val[d->n] = v;
  d->n++;
}

static inline void stage_add(int64_t *cell, const evdelta *d) {
  for (int i = 0; i < d->n; i++) cell[d->idx[i]] += d->val[i];
}

/* New buyers live in the all-segments row only (set 0): when a late, earlier
   purchase becomes the first one, its old day and channel are known but not
   the segments held back then. Cells of the event's day and channel exist
   already (staged before), the old first day's too. */
static void new_buyer(cxm_ctx *ctx, int32_t day, uint8_t ch, int64_t v) {
  int64_t *cell = cxm__stage_ev(ctx, day, 0, ch == CXM_CH_NONE ? 0 : 1u + ch);
  if (cell) cell[E_NEW_BUYERS] += v;
}

/* ---- validation ------------------------------------------------------------- */

/* Amount x 10^decimals to an integer, halves away from zero. 0.285 has no
   exact binary form, and 0.285 * 100 is 28.499999999999996: a product within
   a few ulps of a half is taken as the half it was written as, so that money
   rounds as the decimal text reads. */
static int64_t money_round(double m) {
  /* 0 <= m < 9e15 (checked): the integer part converts exactly, and away
     from a half the rounding is plain (llround's, without the libm calls). */
  int64_t i = (int64_t)m;
  double frac = m - (double)i;
  if (CXM_LIKELY(fabs(frac - 0.5) >= 1e-3)) return i + (frac > 0.5);
  if (fabs(frac - 0.5) <= 4.0 * (nextafter(m, INFINITY) - m)) return i + 1;
  return llround(m);
}

/* In range first, so the conversion to int is defined. */
static int score_ok(double v, int lo, int hi) {
  return v >= lo && v <= hi && v == (double)(int)v;
}

typedef char cxm__time_first_is_zero[CXM_TIME_FIRST == 0 ? 1 : -1];

/* Types whose values need a check: one test skips the switch for the rest. */
#define VALUED ((1u << CXM_EV_PURCHASE) | (1u << CXM_EV_REFUND) | (1u << CXM_EV_SPEND) | \
                (1u << CXM_EV_NPS) | (1u << CXM_EV_CSAT) | (1u << CXM_EV_CES) |         \
                (1u << CXM_EV_SESSION))

static CXM_INLINE int validate(cxm_ctx *ctx, const ev_in *e, size_t idx, int64_t *minor) {
  if ((uint32_t)e->type - CXM_EV_TOUCH > (uint32_t)(CXM_EV_CHURN - CXM_EV_TOUCH))
    return reject(ctx, idx, CXM_E_TYPE, "type: unknown event type %d", (int)e->type);
  if ((uint64_t)e->time > (uint64_t)CXM_TIME_LAST) /* CXM_TIME_FIRST is 0 */
    return reject(ctx, idx, CXM_E_RANGE,
                  "time: %lld is outside 1970-01-01..2105-12-31", (long long)e->time);
  if ((uint32_t)e->channel >= ctx->channels.count && e->channel != CXM_NO_CHANNEL)
    return reject(ctx, idx, CXM_E_ARG, "channel: no channel with id %d", (int)e->channel);
#define tn cxm_event_type_name(e->type) /* only evaluated on error paths */
  if ((1u << e->type) & VALUED) switch (e->type) {
    case CXM_EV_PURCHASE:
    case CXM_EV_REFUND:
    case CXM_EV_SPEND: {
      if (isnan(e->v1)) return reject(ctx, idx, CXM_E_MISSING, "value: %s needs an amount", tn);
      double m = e->v1 * ctx->money_scale;
      if (!(e->v1 >= 0) || !(m < 9.0e15))
        return reject(ctx, idx, CXM_E_RANGE,
                      "value: %s amount must be finite, >= 0 and < 9e15 minor units", tn);
      *minor = money_round(m);
      break;
    }
    case CXM_EV_NPS:
      if (isnan(e->v1)) return reject(ctx, idx, CXM_E_MISSING, "value: nps needs a score");
      if (!score_ok(e->v1, 0, 10))
        return reject(ctx, idx, CXM_E_RANGE, "value: nps score must be an integer 0..10, got %g", e->v1);
      break;
    case CXM_EV_CSAT:
      if (isnan(e->v1)) return reject(ctx, idx, CXM_E_MISSING, "value: csat needs a score");
      if (!score_ok(e->v1, 1, 5))
        return reject(ctx, idx, CXM_E_RANGE, "value: csat score must be an integer 1..5, got %g", e->v1);
      break;
    case CXM_EV_CES:
      if (isnan(e->v1)) return reject(ctx, idx, CXM_E_MISSING, "value: ces needs a score");
      if (!score_ok(e->v1, 1, 7))
        return reject(ctx, idx, CXM_E_RANGE, "value: ces score must be an integer 1..7, got %g", e->v1);
      break;
    case CXM_EV_SESSION:
      if (!isnan(e->v1) && !(e->v1 >= 0 && e->v1 < 1e15))
        return reject(ctx, idx, CXM_E_RANGE, "value: session pageviews must be >= 0, got %g", e->v1);
      if (!isnan(e->v2) && !(e->v2 >= 0 && e->v2 < 1e15))
        return reject(ctx, idx, CXM_E_RANGE, "value2: session duration must be >= 0 s, got %g", e->v2);
      break;
    default:
      break;
  }
  if (e->type != CXM_EV_SPEND) {
    if (e->idlen == 0) return reject(ctx, idx, CXM_E_MISSING, "customer: %s needs a customer id", tn);
    if (e->segset >= 0 && (uint32_t)e->segset >= ctx->segsets.count)
      return reject(ctx, idx, CXM_E_ARG, "segsets: no segment set with id %d", (int)e->segset);
  }
#undef tn
  return CXM_OK;
}

static void event_deltas(const ev_in *e, int64_t minor, evdelta *d) {
  d->n = 0;
  switch (e->type) {
    case CXM_EV_TOUCH: dput(d, E_TOUCH, 1); break;
    case CXM_EV_SESSION:
      dput(d, E_SES_N, 1);
      if (e->v1 == 1.0) dput(d, E_SES_BOUNCE, 1);
      if (e->v1 >= 2.0 || e->v2 >= 10.0) dput(d, E_SES_ENGAGED, 1);
      break;
    case CXM_EV_ENGAGE: dput(d, E_ENGAGE, 1); break;
    case CXM_EV_MESSAGE_SENT: dput(d, E_MSG_SENT, 1); break;
    case CXM_EV_MESSAGE_OPEN: dput(d, E_MSG_OPEN, 1); break;
    case CXM_EV_MESSAGE_CLICK: dput(d, E_MSG_CLICK, 1); break;
    case CXM_EV_LEAD: dput(d, E_LEADS, 1); break;
    case CXM_EV_PURCHASE: dput(d, E_PUR_N, 1); dput(d, E_PUR_SUM, minor); break;
    case CXM_EV_REFUND: dput(d, E_REF_N, 1); dput(d, E_REF_SUM, minor); break;
    case CXM_EV_SPEND: dput(d, E_SPEND_N, 1); dput(d, E_SPEND_SUM, minor); break;
    case CXM_EV_NPS:
      dput(d, e->v1 >= 9 ? E_NPS_PRO : e->v1 >= 7 ? E_NPS_PAS : E_NPS_DET, 1);
      break;
    case CXM_EV_CSAT:
      dput(d, E_CSAT_N, 1);
      dput(d, E_CSAT_SUM, (int64_t)e->v1);
      if (e->v1 >= 4) dput(d, E_CSAT_POS, 1);
      break;
    case CXM_EV_CES: dput(d, E_CES_N, 1); dput(d, E_CES_SUM, (int64_t)e->v1); break;
    case CXM_EV_CHURN: dput(d, E_CHURN, 1); break;
    default: break;
  }
}

static void note_accepted(cxm_ctx *ctx, uint32_t t) {
  if (ctx->n_accepted == 0 || t < ctx->first_time) ctx->first_time = t;
  if (ctx->n_accepted == 0 || t > ctx->last_time) ctx->last_time = t;
  ctx->n_accepted++;
  ctx->started = 1;
}

/* Customer-level update in general: the contribution before and after the
   event, moved between channels when an acquisition channel changes. */
static void update_customer_level(cxm_ctx *ctx, cxm_cust *r, const ev_in *e,
                                  uint32_t t, uint8_t ch, int32_t day,
                                  int64_t minor) {
  int64_t before[NCC], after[NCC];
  uint8_t chb[NCG], cha[NCG];
  cxm__cust_contrib(r, before);
  cust_channels(r, chb);

  switch (e->type) {
    case CXM_EV_PURCHASE:
      r->orders++;
      r->net += minor;
      if (!(r->flags & CF_PURCHASE)) {
        r->flags |= CF_PURCHASE;
        r->first_purchase = r->last_purchase = t;
        r->ch_purchase = ch;
        new_buyer(ctx, day, ch, 1);
      } else {
        if (t < r->first_purchase) {
          new_buyer(ctx, (int32_t)cxm__day_of(ctx, r->first_purchase), r->ch_purchase, -1);
          new_buyer(ctx, day, ch, 1);
          r->first_purchase = t;
          r->ch_purchase = ch;
        }
        if (t > r->last_purchase) r->last_purchase = t;
      }
      break;
    case CXM_EV_REFUND:
      r->net -= minor;
      break;
    case CXM_EV_LEAD:
      if (!(r->flags & CF_LEAD) || t < r->first_lead) {
        r->first_lead = t;
        r->ch_lead = ch;
      }
      r->flags |= CF_LEAD;
      break;
    case CXM_EV_TOUCH:
    case CXM_EV_SESSION:
    case CXM_EV_ENGAGE:
    case CXM_EV_MESSAGE_CLICK:
      r->interactions++;
      if (!(r->flags & CF_INTERACT) || t < r->first_interaction) {
        r->first_interaction = t;
        r->ch_interact = ch;
      }
      r->flags |= CF_INTERACT;
      break;
    default:
      break;
  }

  cxm__cust_contrib(r, after);
  cust_channels(r, cha);
  if (memcmp(cha, chb, NCG) == 0) {
    int any = 0;
    for (int k = 0; k < NCC; k++) {
      after[k] -= before[k];
      any |= after[k] != 0;
    }
    if (any) apply_cc(ctx, r->segset, cha, after);
  } else {
    negate(before);
    apply_cc(ctx, r->segset, chb, before);
    apply_cc(ctx, r->segset, cha, after);
  }
}

static void bump_cc(cxm_ctx *ctx, uint32_t set, int k, int g, uint8_t ch,
                    int64_t v) {
  cxm__stage_cc(ctx, set, g, ch)[k] += v;
}

/* A purchase of a customer who bought before, not earlier than its first
   purchase: the acquisition channels stay, so the contribution changes by
   one order, the amount, a repeat buyer at the second order, and possibly
   "converted" (the last purchase may move past the first lead). */
static void repeat_purchase(cxm_ctx *ctx, cxm_cust *r, uint32_t t, int64_t minor) {
  int lead = (r->flags & CF_LEAD) != 0;
  int conv0 = lead && r->last_purchase >= r->first_lead;
  int64_t first_repeat = r->orders == 1;
  r->orders++;
  r->net += minor;
  if (t > r->last_purchase) r->last_purchase = t;
  int64_t *c = cxm__stage_cc(ctx, r->segset, CG_BUY, r->ch_purchase);
  c[CC_REPEAT] += first_repeat;
  c[CC_ORDERS] += 1;
  c[CC_NET] += minor;
  if (lead && !conv0 && r->last_purchase >= r->first_lead)
    bump_cc(ctx, r->segset, CC_CONVERTED, CG_LEAD, r->ch_lead, 1);
}

/* The first purchase, lead or interaction of a customer: its group had no
   contribution (nothing counted, no channel), so the new one is added on
   the acquiring channel; the other groups keep theirs, except "converted"
   which needs both a purchase and a lead. */
static void first_purchase(cxm_ctx *ctx, cxm_cust *r, uint32_t t, uint8_t ch,
                           int32_t day, int64_t minor) {
  r->orders = 1;
  r->net += minor; /* refunds before the first purchase count in net */
  r->flags |= CF_PURCHASE;
  r->first_purchase = r->last_purchase = t;
  r->ch_purchase = ch;
  new_buyer(ctx, day, ch, 1);
  int64_t *c = cxm__stage_cc(ctx, r->segset, CG_BUY, ch);
  c[CC_BUYERS] += 1;
  c[CC_ORDERS] += 1;
  c[CC_NET] += r->net;
  if ((r->flags & CF_LEAD) && t >= r->first_lead)
    bump_cc(ctx, r->segset, CC_CONVERTED, CG_LEAD, r->ch_lead, 1);
}

static void first_lead(cxm_ctx *ctx, cxm_cust *r, uint32_t t, uint8_t ch) {
  r->flags |= CF_LEAD;
  r->first_lead = t;
  r->ch_lead = ch;
  int64_t *c = cxm__stage_cc(ctx, r->segset, CG_LEAD, ch);
  c[CC_LEADS] += 1;
  c[CC_CONVERTED] += (r->flags & CF_PURCHASE) && r->last_purchase >= t;
}

static void first_interaction(cxm_ctx *ctx, cxm_cust *r, uint32_t t, uint8_t ch) {
  r->flags |= CF_INTERACT;
  r->interactions = 1;
  r->first_interaction = t;
  r->ch_interact = ch;
  int64_t *c = cxm__stage_cc(ctx, r->segset, CG_ENGAGE, ch);
  c[CC_INTERACTORS] += 1;
  c[CC_INTERACTIONS] += 1;
}

/* Rare (2 in 1000 events of the benchmark): kept out of the hot loop. */
static CXM_COLD int add_spend(cxm_ctx *ctx, const ev_in *e, size_t idx, int64_t minor) {
  uint32_t t = (uint32_t)e->time;
  uint32_t col = e->channel == CXM_NO_CHANNEL ? 0 : 1 + (uint32_t)e->channel;
  uint32_t newest = ctx->spend_last[col];
  if (newest > t && (int64_t)(newest - t) > ctx->max_lateness)
    return reject(ctx, idx, CXM_E_LATE,
                  "time: spend %lld s older than the channel's newest (bound %lld s)",
                  (long long)(newest - t), (long long)ctx->max_lateness);
  int32_t day = (int32_t)cxm__day_of(ctx, e->time);
  int64_t *cell = cxm__stage_ev(ctx, day, 0, col);
  if (!cell) return reject(ctx, idx, CXM_E_NOMEM, "no memory for the day's counters");
  evdelta d;
  event_deltas(e, minor, &d);
  stage_add(cell, &d);
  if (t > newest) ctx->spend_last[col] = t;
  note_accepted(ctx, t);
  return CXM_OK;
}

/* Room for one more customer, which there usually is: cxm__custtab_reserve
   (same statuses) only when the table must grow. */
static CXM_INLINE int custtab_room(cxm_ctx *ctx, cxm_custtab *t) {
  uint64_t need = (uint64_t)t->count + 1;
  if (CXM_LIKELY(t->slots && need <= t->cap && need * 2 <= t->mask + 1 &&
                 need < UINT32_MAX - 1))
    return CXM_OK;
  return cxm__custtab_reserve(ctx, t, 1);
}

/* `guess` is the record index + 1 that the batch's prefetch read from the
   hash's home slot (0: none); it is taken only when that record has the
   hash (records are never removed or moved during a call). GUESS_ABSENT:
   the fast path probed the index for this event and found no record. */
#define GUESS_ABSENT UINT32_MAX

static CXM_INLINE int add_customer_event(cxm_ctx *ctx, ingest_run *run,
                                         const ev_in *e, uint64_t hash,
                                         uint32_t guess, size_t idx, int64_t minor) {
  cxm_custtab *tab = &ctx->customers;
  uint32_t t = (uint32_t)e->time;
  int64_t found;
  if (guess == GUESS_ABSENT)
    found = -1;
  else if (guess && guess - 1 < tab->count && tab->recs[guess - 1].hash == hash)
    found = guess - 1;
  else
    found = cxm__custtab_find(tab, hash);
  uint32_t set;
  if (found >= 0) {
    cxm_cust *r = &tab->recs[found];
    if (r->last_time > t && (int64_t)(r->last_time - t) > ctx->max_lateness)
      return reject(ctx, idx, CXM_E_LATE,
                    "time: %lld s older than the customer's newest event (bound %lld s)",
                    (long long)(r->last_time - t), (long long)ctx->max_lateness);
    set = e->segset >= 0 ? (uint32_t)e->segset : r->segset;
  } else {
    int rc = custtab_room(ctx, tab);
    if (rc) return reject(ctx, idx, rc, "no room for a new customer");
    set = e->segset >= 0 ? (uint32_t)e->segset : 0;
  }
  uint32_t col = e->channel == CXM_NO_CHANNEL ? 0 : 1 + (uint32_t)e->channel;
  int32_t day = run_day(ctx, run, e->time);
  int64_t *cell = cxm__stage_ev(ctx, day, set, col);
  if (!cell) return reject(ctx, idx, CXM_E_NOMEM, "no memory for the day's counters");
  /* A purchase that becomes the customer's first also counts a new buyer in
     the (day, no segment, col) cell; it must exist before anything changes.
     (The old first purchase's cell, uncounted then, exists already: see
     new_buyer.) */
  if (e->type == CXM_EV_PURCHASE && set != 0 &&
      (found < 0 || !(tab->recs[found].flags & CF_PURCHASE) ||
       t < tab->recs[found].first_purchase)) {
    if (!cxm__stage_ev(ctx, day, 0, col))
      return reject(ctx, idx, CXM_E_NOMEM, "no memory for the day's counters");
    cell = cxm__stage_ev(ctx, day, set, col); /* a flush may have moved it */
  }

  uint8_t ch = e->channel == CXM_NO_CHANNEL ? CXM_CH_NONE : (uint8_t)e->channel;
  cxm_evview ev;
  if (run->active) {
    ev.time = e->time;
    ev.t = t;
    ev.day = day;
    ev.type = e->type;
    ev.ch = ch;
    ev.v1 = e->v1;
    ev.v2 = e->v2;
    ev.minor = minor;
    ev.set = set;
    int rc = cxm__ext_prepare(ctx, &ev, found, set);
    if (rc) return reject(ctx, idx, rc, "no memory for the modules' state");
  }

  /* From here on nothing can fail. */
  uint32_t ri = found >= 0 ? (uint32_t)found : cxm__custtab_insert(tab, hash);
  cxm_cust *r = &tab->recs[ri];
  if (found < 0) {
    /* A new customer contributes nothing yet: only the modules hear of the
       move out of set 0. */
    r->segset = set;
    if (set != 0 && ctx->opt[CXM_OPT_MODULES]) cxm__ext_on_segset(ctx, ri, 0, set);
  } else if (r->segset != set) {
    cust_move_segset(ctx, r, set);
  }

  if (t < r->first_seen) r->first_seen = t;
  if (t > r->last_time) r->last_time = t;
  r->flags |= CF_EVENT;
  /* One switch does both levels. The staged cell is written before any
     customer-level update, which may flush the stage and move cells. */
  switch (e->type) {
    case CXM_EV_NPS: {
      unsigned cat = e->v1 >= 9 ? 3u : e->v1 >= 7 ? 2u : 1u;
      cell[cat == 3 ? E_NPS_PRO : cat == 2 ? E_NPS_PAS : E_NPS_DET]++;
      if ((r->flags & CF_NPS_MASK) == 0 || t >= r->last_nps_time) {
        r->flags = (uint8_t)((r->flags & ~CF_NPS_MASK) | (cat << CF_NPS_SHIFT));
        r->last_nps_time = t;
      }
      break;
    }
    case CXM_EV_TOUCH: cell[E_TOUCH]++; goto interaction;
    case CXM_EV_ENGAGE: cell[E_ENGAGE]++; goto interaction;
    case CXM_EV_MESSAGE_CLICK: cell[E_MSG_CLICK]++; goto interaction;
    case CXM_EV_SESSION:
      cell[E_SES_N]++;
      cell[E_SES_BOUNCE] += e->v1 == 1.0;
      cell[E_SES_ENGAGED] += e->v1 >= 2.0 || e->v2 >= 10.0;
    interaction:
      if ((r->flags & CF_INTERACT) && t >= r->first_interaction) {
        /* the common case: one more interaction, acquisition unchanged */
        r->interactions++;
        bump_cc(ctx, r->segset, CC_INTERACTIONS, CG_ENGAGE, r->ch_interact, 1);
      } else if (!(r->flags & CF_INTERACT) && r->interactions == 0) {
        first_interaction(ctx, r, t, ch);
      } else {
        update_customer_level(ctx, r, e, t, ch, day, minor);
      }
      break;
    case CXM_EV_PURCHASE:
      cell[E_PUR_N]++;
      cell[E_PUR_SUM] += minor;
      if ((r->flags & CF_PURCHASE) && t >= r->first_purchase)
        repeat_purchase(ctx, r, t, minor);
      else if (!(r->flags & CF_PURCHASE) && r->orders == 0)
        first_purchase(ctx, r, t, ch, day, minor);
      else
        update_customer_level(ctx, r, e, t, ch, day, minor);
      break;
    case CXM_EV_REFUND:
      cell[E_REF_N]++;
      cell[E_REF_SUM] += minor;
      /* net revenue counts for buyers only; no channel can change */
      r->net -= minor;
      if ((r->flags & CF_PURCHASE) && minor)
        bump_cc(ctx, r->segset, CC_NET, CG_BUY, r->ch_purchase, -minor);
      break;
    case CXM_EV_LEAD:
      cell[E_LEADS]++;
      /* a later lead changes no contribution: only an earlier first one */
      if (!(r->flags & CF_LEAD))
        first_lead(ctx, r, t, ch);
      else if (t < r->first_lead)
        update_customer_level(ctx, r, e, t, ch, day, minor);
      break;
    case CXM_EV_MESSAGE_SENT: cell[E_MSG_SENT]++; break;
    case CXM_EV_MESSAGE_OPEN: cell[E_MSG_OPEN]++; break;
    case CXM_EV_CSAT:
      cell[E_CSAT_N]++;
      cell[E_CSAT_SUM] += (int64_t)e->v1;
      cell[E_CSAT_POS] += e->v1 >= 4;
      break;
    case CXM_EV_CES:
      cell[E_CES_N]++;
      cell[E_CES_SUM] += (int64_t)e->v1;
      break;
    case CXM_EV_CHURN: cell[E_CHURN]++; break;
    default: break;
  }
  if (run->active) cxm__ext_on_event(ctx, ri, &ev);
  note_accepted(ctx, t);
  return CXM_OK;
}

static CXM_INLINE int add_one(cxm_ctx *ctx, ingest_run *run, const ev_in *e,
                              uint64_t hash, uint32_t guess, size_t idx) {
  int64_t minor = 0;
  int rc = validate(ctx, e, idx, &minor);
  if (rc) return rc;
  if (CXM_UNLIKELY(e->type == CXM_EV_SPEND)) return add_spend(ctx, e, idx, minor);
  return add_customer_event(ctx, run, e, hash, guess, idx, minor);
}

/* ---- public entry points ---------------------------------------------------------- */

int cxm_event_add(cxm_ctx *ctx, int64_t time, int32_t type, const void *customer,
                  size_t customer_len, int32_t channel, double value,
                  double value2) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (CXM_UNLIKELY(ctx->key_missing)) return cxm__need_key(ctx, "ingest");
  ev_in e = {time, type, channel, value, value2, -1, customer_len};
  uint64_t h = 0;
  if (type != CXM_EV_SPEND) {
    if (!customer && customer_len)
      return reject(ctx, NO_INDEX, CXM_E_NULL, "customer: NULL with length %zu", customer_len);
    if (customer_len) h = cxm__siphash13(ctx->key, customer, customer_len);
  }
  ingest_run run;
  run_init(ctx, &run);
  return add_one(ctx, &run, &e, h, 0, NO_INDEX);
}

int cxm_customer_set_segments(cxm_ctx *ctx, const void *id, size_t len,
                              int32_t set_id) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (CXM_UNLIKELY(ctx->key_missing)) return cxm__need_key(ctx, "ingest");
  if (!id && len) return cxm__seterr(ctx, CXM_E_NULL, "id: NULL");
  if (len == 0) return cxm__seterr(ctx, CXM_E_MISSING, "id: empty customer id");
  if (set_id < 0 || (uint32_t)set_id >= ctx->segsets.count)
    return cxm__seterr(ctx, CXM_E_ARG, "set_id: no segment set with id %d", (int)set_id);
  uint64_t h = cxm__siphash13(ctx->key, id, len);
  int64_t found = cxm__custtab_find(&ctx->customers, h);
  if (ctx->opt[CXM_OPT_MODULES]) {
    int rc = cxm__ext_prepare(ctx, NULL, found, (uint32_t)set_id);
    if (rc) return cxm__seterr(ctx, rc, "no memory for the modules' state");
  }
  if (found < 0) {
    int rc = cxm__custtab_reserve(ctx, &ctx->customers, 1);
    if (rc) return cxm__seterr(ctx, rc, "no room for a new customer");
    found = cxm__custtab_insert(&ctx->customers, h);
    ctx->started = 1;
  }
  cust_move_segset(ctx, &ctx->customers.recs[found], (uint32_t)set_id);
  return CXM_OK;
}

/* The columns of one cxm_events_add call and its running results. */
typedef struct batch {
  const int64_t *times;
  const int32_t *types;
  const int64_t *id_offsets;
  const int32_t *channels;
  const double *values, *values2;
  const int32_t *segsets;
  int32_t *statuses;
  size_t bad; /* events not accepted: the accepted ones are the rest */
  int first_rc;
  char first_msg[sizeof ((cxm_ctx *)0)->errmsg];
} batch;

/* ---- the batch's fast path ------------------------------------------------ */

/* Nearly every event of a stream is of a customer seen before, keeps the
   segment set, has valid fields, finds its staged cell, and changes the
   customer level in the usual way (one more interaction, a repeat purchase,
   a refund, a later lead; a first interaction, lead or purchase). fast_event()
   does those: it makes every check before it changes anything, and returns
   0 for anything else, which then takes the general path (add_one) from the
   start. Without modules one switch on the type does validation and
   counting, and the record comes from the batch's prefetch (guess), without
   an index probe. */
static CXM_INLINE int interacting(const cxm_cust *r, uint32_t t) {
  return (r->flags & CF_INTERACT) && t >= r->first_interaction;
}

/* An accepted event's part of the record. */
static CXM_INLINE void seen(cxm_cust *r, uint32_t t) {
  if (t < r->first_seen) r->first_seen = t;
  if (t > r->last_time) r->last_time = t;
  r->flags |= CF_EVENT;
}

static CXM_INLINE int money_ok(const cxm_ctx *ctx, double v, int64_t *minor) {
  double m = v * ctx->money_scale;
  if (!(v >= 0) || !(m < 9.0e15)) return 0; /* NaN fails too */
  *minor = money_round(m);
  return 1;
}

/* The stages' memos (internal.h): a hit is one load where the index takes
   the key, its hash and a probe. The event stage's follows the newest day
   seen (a later day clears it; a late event's day goes to the index). */
static void memo_note(cxm_stage *st, ingest_run *run, int32_t day, uint32_t mi,
                      int64_t *cell) {
  if (day > st->memo_day) {
    memset(st->memo, 0, sizeof st->memo);
    st->memo_day = run->memo_day = day;
  }
  if (day == st->memo_day) st->memo[mi] = cell;
}

static CXM_INLINE int64_t *memo_ev(cxm_ctx *ctx, ingest_run *run, int32_t day, uint32_t set,
                                   uint32_t col) {
  cxm_stage *st = &ctx->stage_ev;
  uint32_t mi = set * CXM_MEMO_COLS + col; /* in reach when run->memo_ok */
  if (CXM_LIKELY(day == run->memo_day) && CXM_LIKELY(st->memo[mi] != NULL)) return st->memo[mi];
  int64_t *cell = cxm__stage_find(st, CXM_EV_KEY(day, set, col));
  if (cell && run->memo_ok) memo_note(st, run, day, mi, cell);
  return cell;
}

/* The (set, engagement, channel) cell; a flush inside cxm__stage_cc clears
   the memo before the new cell goes in. */
static CXM_INLINE int64_t *memo_engage(cxm_ctx *ctx, uint32_t set, uint8_t ch) {
  cxm_stage *st = &ctx->stage_cc;
  int fits = set < CXM_MEMO_SETS && ch < CXM_MEMO_COLS;
  uint32_t mi = set * CXM_MEMO_COLS + ch;
  if (CXM_LIKELY(fits && st->memo[mi])) return st->memo[mi];
  int64_t *cell = cxm__stage_cc(ctx, set, CG_ENGAGE, ch);
  if (fits) st->memo[mi] = cell;
  return cell;
}

/* The event's own part: FT_DRY the checks only (nothing changes), FT_FULL
   the checks and the counting, FT_ACTIVE (with modules: ev and ri given)
   the checks, then the modules' prepare (0 when it fails, nothing
   changed), the record's times, the counting, then the modules' on_event:
   the general path's order in one switch. Each case tells the dispatch
   which modules its types may reach (CXM__MODS_OF_TYPE), so it tests no
   other module's bit. 0: not for the fast path. */
enum { FT_DRY, FT_FULL, FT_ACTIVE };
#define FT_FAIL(cond) \
  do { if (cond) return 0; } while (0)
/* The checks passed: FT_DRY ends here. */
#define FT_PASSED(mods)                                                    \
  do {                                                                     \
    if (mode == FT_DRY) return 1;                                          \
    if (mode == FT_ACTIVE) {                                               \
      if (cxm__ext_prepare_may(ctx, ev, ri, (mods)) != CXM_OK) return 0;   \
      seen(r, t);                                                          \
    }                                                                      \
  } while (0)
/* Counted: FT_ACTIVE's modules. */
#define FT_COUNTED(mods)                                                   \
  do {                                                                     \
    if (mode == FT_ACTIVE) cxm__ext_on_event_may(ctx, ri, ev, (mods));     \
    return 1;                                                              \
  } while (0)
/* The modules that may read a type: a constant. */
#define MODS_T(type) ((uint32_t)(CXM__MODS_OF_TYPE >> (4 * (type))) & 15u)
#define MODS_INTERACT (MODS_T(CXM_EV_TOUCH) | MODS_T(CXM_EV_ENGAGE) | \
                       MODS_T(CXM_EV_MESSAGE_CLICK) | MODS_T(CXM_EV_SESSION))

static CXM_INLINE int fast_type(cxm_ctx *ctx, cxm_cust *r, int64_t *cell, int32_t type,
                                uint32_t t, uint32_t col, int32_t day, double v1,
                                double v2, int mode, int64_t *minor, cxm_evview *ev,
                                uint32_t ri) {
  int k;
  switch (type) {
    case CXM_EV_TOUCH: k = E_TOUCH; goto interaction;
    case CXM_EV_ENGAGE: k = E_ENGAGE; goto interaction;
    case CXM_EV_MESSAGE_CLICK: k = E_MSG_CLICK; goto interaction;
    case CXM_EV_SESSION:
      FT_FAIL((!isnan(v1) && !(v1 >= 0 && v1 < 1e15)) ||
              (!isnan(v2) && !(v2 >= 0 && v2 < 1e15)));
      k = E_SES_N;
      /* an earlier interaction than the first moves the acquisition:
         the general path */
      FT_FAIL(!interacting(r, t) && ((r->flags & CF_INTERACT) || r->interactions));
      FT_PASSED(MODS_T(CXM_EV_SESSION));
      cell[E_SES_BOUNCE] += v1 == 1.0;
      cell[E_SES_ENGAGED] += v1 >= 2.0 || v2 >= 10.0;
      goto counted;
    interaction:
      FT_FAIL(!interacting(r, t) && ((r->flags & CF_INTERACT) || r->interactions));
      FT_PASSED(MODS_INTERACT);
    counted:
      cell[k]++;
      if (r->flags & CF_INTERACT) {
        r->interactions++;
        memo_engage(ctx, r->segset, r->ch_interact)[CC_INTERACTIONS]++;
      } else {
        first_interaction(ctx, r, t, (uint8_t)(col - 1));
      }
      FT_COUNTED(MODS_INTERACT);
    case CXM_EV_MESSAGE_SENT:
      FT_PASSED(MODS_T(CXM_EV_MESSAGE_SENT));
      cell[E_MSG_SENT]++;
      FT_COUNTED(MODS_T(CXM_EV_MESSAGE_SENT));
    case CXM_EV_MESSAGE_OPEN:
      FT_PASSED(MODS_T(CXM_EV_MESSAGE_OPEN));
      cell[E_MSG_OPEN]++;
      FT_COUNTED(MODS_T(CXM_EV_MESSAGE_OPEN));
    case CXM_EV_CHURN:
      FT_PASSED(MODS_T(CXM_EV_CHURN));
      cell[E_CHURN]++;
      FT_COUNTED(MODS_T(CXM_EV_CHURN));
    case CXM_EV_LEAD:
      /* a later lead changes no contribution, an earlier one the channel */
      FT_FAIL((r->flags & CF_LEAD) && t < r->first_lead);
      FT_PASSED(MODS_T(CXM_EV_LEAD));
      cell[E_LEADS]++;
      if (!(r->flags & CF_LEAD)) first_lead(ctx, r, t, (uint8_t)(col - 1));
      FT_COUNTED(MODS_T(CXM_EV_LEAD));
    case CXM_EV_PURCHASE:
      FT_FAIL(!money_ok(ctx, v1, minor));
      if (r->flags & CF_PURCHASE) {
        FT_FAIL(t < r->first_purchase); /* the acquisition moves */
        FT_PASSED(MODS_T(CXM_EV_PURCHASE));
        cell[E_PUR_N]++;
        cell[E_PUR_SUM] += *minor;
        repeat_purchase(ctx, r, t, *minor);
        FT_COUNTED(MODS_T(CXM_EV_PURCHASE));
      }
      /* The first purchase also counts a new buyer in the (day, no
         segment, column) cell: when that cell is not staged yet, creating
         it may flush the stage and move `cell`, so the general path. */
      FT_FAIL(r->orders != 0 ||
              (r->segset != 0 && !cxm__stage_find(&ctx->stage_ev, CXM_EV_KEY(day, 0, col))));
      FT_PASSED(MODS_T(CXM_EV_PURCHASE));
      cell[E_PUR_N]++;
      cell[E_PUR_SUM] += *minor;
      first_purchase(ctx, r, t, (uint8_t)(col - 1), day, *minor);
      FT_COUNTED(MODS_T(CXM_EV_PURCHASE));
    case CXM_EV_REFUND:
      FT_FAIL(!money_ok(ctx, v1, minor));
      FT_PASSED(MODS_T(CXM_EV_REFUND));
      cell[E_REF_N]++;
      cell[E_REF_SUM] += *minor;
      r->net -= *minor;
      if ((r->flags & CF_PURCHASE) && *minor)
        bump_cc(ctx, r->segset, CC_NET, CG_BUY, r->ch_purchase, -*minor);
      FT_COUNTED(MODS_T(CXM_EV_REFUND));
    case CXM_EV_NPS: {
      FT_FAIL(!score_ok(v1, 0, 10));
      FT_PASSED(MODS_T(CXM_EV_NPS));
      unsigned cat = v1 >= 9 ? 3u : v1 >= 7 ? 2u : 1u;
      cell[cat == 3 ? E_NPS_PRO : cat == 2 ? E_NPS_PAS : E_NPS_DET]++;
      if ((r->flags & CF_NPS_MASK) == 0 || t >= r->last_nps_time) {
        r->flags = (uint8_t)((r->flags & ~CF_NPS_MASK) | (cat << CF_NPS_SHIFT));
        r->last_nps_time = t;
      }
      FT_COUNTED(MODS_T(CXM_EV_NPS));
    }
    case CXM_EV_CSAT:
      FT_FAIL(!score_ok(v1, 1, 5));
      FT_PASSED(MODS_T(CXM_EV_CSAT));
      cell[E_CSAT_N]++;
      cell[E_CSAT_SUM] += (int64_t)v1;
      cell[E_CSAT_POS] += v1 >= 4;
      FT_COUNTED(MODS_T(CXM_EV_CSAT));
    case CXM_EV_CES:
      FT_FAIL(!score_ok(v1, 1, 7));
      FT_PASSED(MODS_T(CXM_EV_CES));
      cell[E_CES_N]++;
      cell[E_CES_SUM] += (int64_t)v1;
      FT_COUNTED(MODS_T(CXM_EV_CES));
    default: /* spend, unknown types */
      return 0;
  }
}
#undef FT_PASSED
#undef FT_COUNTED
#undef MODS_T
#undef MODS_INTERACT
#undef FT_FAIL

/* The record of a known customer whose slot the batch's prefetch did not
   reach (displaced into the next cache line of the index, or inserted
   after the prefetch): one probe here is far cheaper than the general
   path. A customer with no record is noted in *guess for that path. */
static CXM_COLD int64_t fast_find(const cxm_custtab *tab, uint64_t hash, uint32_t *guess) {
  int64_t f = cxm__custtab_find(tab, hash);
  *guess = f < 0 ? GUESS_ABSENT : (uint32_t)f + 1;
  return f;
}

/* With `active` (modules or monitoring listen) the checks run first, then
   the modules' prepare(), then the counting, then their on_event(), in the
   general path's order: a failed prepare() leaves the event to the general
   path, which reports it. */
static CXM_INLINE int fast_event(cxm_ctx *ctx, ingest_run *run, const batch *b,
                                 size_t i, uint64_t hash, uint32_t guess, uint32_t *guess_out,
                                 int active) {
  const cxm_custtab *tab = &ctx->customers;
  int64_t time = b->times[i];
  int32_t seg = b->segsets[i];
  uint32_t col = (uint32_t)b->channels[i] + 1; /* CXM_NO_CHANNEL (-1): column 0 */
  int64_t a = b->id_offsets[i], z = b->id_offsets[i + 1];
  if ((uint64_t)time > (uint64_t)CXM_TIME_LAST || col > ctx->channels.count || a < 0 ||
      z <= a)
    return 0;
  /* guess 0 (no record) wraps to UINT32_MAX */
  uint32_t ri = guess - 1;
  if (CXM_UNLIKELY(ri >= tab->count || tab->recs[ri].hash != hash)) {
    int64_t f = fast_find(tab, hash, guess_out);
    if (f < 0) return 0;
    ri = (uint32_t)f;
  }
  cxm_cust *r = &tab->recs[ri];
  uint32_t t = (uint32_t)time;
  if ((seg >= 0 && (uint32_t)seg != r->segset) ||
      (r->last_time > t && (int64_t)(r->last_time - t) > ctx->max_lateness))
    return 0;
  int32_t day = run_day(ctx, run, time);
  int32_t type = b->types[i];
  double v1 = b->values[i], v2 = b->values2[i];
  int64_t minor = 0;
  int64_t *cell = memo_ev(ctx, run, day, r->segset, col);
  if (CXM_UNLIKELY(!cell)) {
    /* A cell not staged yet (mostly the first events of a day, or after a
       flush) is staged only for an event known to pass, so that a rejected
       one leaves no day rows behind; the checks run again after it, since
       its flush may have dropped the cell a first purchase also needs. */
    if (!fast_type(ctx, r, NULL, type, t, col, day, v1, v2, FT_DRY, &minor, NULL, 0))
      return 0;
    cell = cxm__stage_ev_insert(ctx, CXM_EV_KEY(day, r->segset, col));
    if (!cell || !fast_type(ctx, r, NULL, type, t, col, day, v1, v2, FT_DRY, &minor, NULL, 0))
      return 0;
  }
  if (active) {
    /* The checks, then the modules' prepare(), then the counting, then
       their on_event(), in the general path's order, by one switch on the
       type (fast_type's FT_ACTIVE); a failed prepare() leaves the event to
       the general path, which reports it. */
    cxm_evview ev;
    ev.time = time;
    ev.t = t;
    ev.day = day;
    ev.type = type;
    ev.ch = (uint8_t)(col - 1);
    ev.v1 = v1;
    ev.v2 = v2;
    ev.minor = 0;
    ev.set = r->segset;
    ev.pend = run->pend_of[(uint32_t)type & 15u];
    /* The modules see the counts of the events before, as in the general
       path, except the handle's accepted count and time range, which wait
       in the run (ext.h: no module reads them). Monitoring reads them. */
    if (!fast_type(ctx, r, cell, type, t, col, day, v1, v2, FT_ACTIVE, &ev.minor, &ev, ri))
      return 0;
    t = ev.t;
    if (CXM_UNLIKELY(run->mon)) {
      run_commit(ctx, run);
      cxm__monitor_on_event(ctx, ri, &ev);
    }
  } else {
    if (!fast_type(ctx, r, cell, type, t, col, day, v1, v2, FT_FULL, &minor, NULL, 0))
      return 0;
    seen(r, t);
  }
  if (t < run->tlo) run->tlo = t;
  if (t > run->thi) run->thi = t;
  run->nacc++;
  return 1;
}

/* ---- the batch: hashes, prefetches, events ----------------------------------- */

/* The customer index slot of a hash, and the guess that the batch's
   pipeline reads from it: the record index + 1 of the first slot with the
   hash's tag in the slot's cache line (0: none), whose record and module
   side entries are then prefetched. A customer displaced from its home is
   usually a slot or two on, in the line already fetched. */
static CXM_INLINE void prefetch_slot(const cxm_custtab *t, uint64_t hash) {
  if (t->slots) CXM_PREFETCH_W(&t->slots[hash >> t->shift]);
}

/* cxm_side.mod (ext.c) is 1 << module index; CXM__MODS_OF_TYPE holds CXM_MOD_* bits. */
typedef char cxm__side_mod_bits[CXM_MOD_RETENTION == 1 << CXM_MODIX_RETENTION &&
                                        CXM_MOD_FUNNEL == 1 << CXM_MODIX_FUNNEL &&
                                        CXM_MOD_ATTRIBUTION == 1 << CXM_MODIX_ATTRIBUTION &&
                                        CXM_MOD_CLV == 1 << CXM_MODIX_CLV
                                    ? 1
                                    : -1];

static CXM_INLINE uint32_t prefetch_rec(const cxm_ctx *ctx, uint64_t hash, int32_t type) {
  const cxm_custtab *t = &ctx->customers;
  if (!t->slots) return 0;
  uint64_t i = hash >> t->shift;
  uint64_t s;
  for (;;) {
    s = t->slots[i];
    if (!s) return 0;
    if ((s >> 32) == (hash >> 32)) break;
    i = (i + 1) & t->mask;
    if (((uintptr_t)&t->slots[i] & 63) == 0) return 0;
  }
  uint32_t idx = (uint32_t)s - 1;
  CXM_PREFETCH_W(&t->recs[idx]);
  int n = ctx->n_side_on;
  if (n) {
    /* Only the entries of the modules that read the event's type (a known
       customer keeping its set reaches no other module): a touch needs no
       CLV entry, a survey answer only retention's. Each needless line took
       a fill buffer and bandwidth from the lines that are needed. An entry
       may straddle two lines: both ends. The shared row with retention's
       entries, usually the only entry, for every type without a test. */
    const cxm_side *sd = ctx->side_on;
    if (CXM_LIKELY(sd->all)) {
      const uint8_t *p = sd->base + (size_t)idx * sd->stride;
      CXM_PREFETCH_W(p);
      CXM_PREFETCH_W(p + sd->stride - 1);
      return (uint32_t)s;
    }
    uint32_t bit = 1u << ((uint32_t)type & 15u);
    if (sd->types & bit) {
      const uint8_t *p = sd->base + (size_t)idx * sd->stride;
      CXM_PREFETCH_W(p);
      CXM_PREFETCH_W(p + sd->stride - 1);
    }
    for (int k = 1; k < n; k++) { /* CLV's own array, a module outside the row */
      sd = &ctx->side_on[k];
      if (!(sd->types & bit)) continue;
      const uint8_t *p = sd->base + (size_t)idx * sd->stride;
      CXM_PREFETCH_W(p);
      CXM_PREFETCH_W(p + sd->stride - 1);
    }
  }
  return (uint32_t)s;
}

/* The pipeline runs across chunks: a chunk's window holds the hashes of its
   CHUNK events and of the next AHEAD_SLOT, and the guesses of its events
   and of the next AHEAD_REC, so the first events of a chunk find their
   slots and records fetched like the others. */
typedef struct window {
  uint64_t hash[CHUNK + AHEAD_SLOT];
  uint32_t guess[CHUNK + AHEAD_REC];
  size_t hashed; /* events [base, base + hashed) have their hash */
} window;

/* Hashes events [base + from, base + to) into w->hash[from, to) straight
   from the offsets, ids side by side. An event without an id (spend, a
   missing or invalid one) gets the empty id's hash, never read for a
   customer: such events are rejected or have none. */
static void window_hash(const cxm_ctx *ctx, const batch *b, const uint8_t *id_data,
                        window *w, size_t base, size_t from, size_t to) {
  cxm__siphash13_ids(ctx->key, to - from, id_data, b->id_offsets + base + from,
                     w->hash + from);
}

/* Events [base, base + m) with the window filled to `avail` (>= m) events.
   Inlined five times: with `full` (every optional column given: the usual
   case) the loop has no NULL tests, with `fast` it tries fast_event first,
   with `nost` the caller wants no statuses (no test per event). */
static CXM_INLINE void run_one(cxm_ctx *ctx, ingest_run *run, batch *b, int full,
                               int fast, int active, int nost, size_t base, size_t j,
                               int pf_slot, int pf_rec, window *w) {
  const uint64_t *hashes = w->hash;
  if (pf_slot) prefetch_slot(&ctx->customers, hashes[j + AHEAD_SLOT]);
  if (pf_rec)
    w->guess[j + AHEAD_REC] =
        prefetch_rec(ctx, hashes[j + AHEAD_REC], b->types[base + j + AHEAD_REC]);
  size_t i = base + j;
  if (fast && fast_event(ctx, run, b, i, hashes[j], w->guess[j], &w->guess[j], active)) {
    if (!nost && b->statuses) b->statuses[i] = CXM_OK;
    return;
  }
  if (fast) run_commit(ctx, run);
  ev_in e;
  e.time = b->times[i];
  e.type = b->types[i];
  e.channel = full || b->channels ? b->channels[i] : CXM_NO_CHANNEL;
  e.v1 = full || b->values ? b->values[i] : NAN;
  e.v2 = full || b->values2 ? b->values2[i] : NAN;
  e.segset = full || b->segsets ? b->segsets[i] : -1;
  e.idlen = 0;
  int64_t a = b->id_offsets[i], z = b->id_offsets[i + 1];
  int rc;
  if (e.type != CXM_EV_SPEND && (a < 0 || z < a)) {
    rc = reject(ctx, i, CXM_E_ARG, "id_offsets: decreasing or negative offsets");
  } else {
    e.idlen = (size_t)(z - a);
    rc = add_one(ctx, run, &e, hashes[j], w->guess[j], i);
  }
  if (b->statuses) b->statuses[i] = rc;
  if (CXM_UNLIKELY(rc != CXM_OK)) {
    b->bad++;
    if (b->first_rc == CXM_OK) {
      b->first_rc = rc;
      memcpy(b->first_msg, ctx->errmsg, sizeof b->first_msg);
    }
  }
}

static CXM_INLINE void run_chunk(cxm_ctx *ctx, ingest_run *run, batch *b, int full,
                                 int fast, int active, int nost, size_t base, size_t m,
                                 size_t avail, window *w) {
  size_t j = 0;
  /* A chunk followed by AHEAD_SLOT more events (all but a batch's last)
     prefetches for every event: no bound tests in its loop. */
  if (fast && m + AHEAD_SLOT <= avail)
    for (; j < m; j++) run_one(ctx, run, b, full, fast, active, nost, base, j, 1, 1, w);
  for (; j < m; j++)
    run_one(ctx, run, b, full, fast, active, nost, base, j, j + AHEAD_SLOT < avail,
            j + AHEAD_REC < avail, w);
}

int cxm_events_add(cxm_ctx *ctx, size_t n, const int64_t *times,
                   const int32_t *types, const uint8_t *id_data,
                   const int64_t *id_offsets, const int32_t *channels,
                   const double *values, const double *values2,
                   const int32_t *segsets, size_t *accepted, int32_t *statuses) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (CXM_UNLIKELY(ctx->key_missing)) return cxm__need_key(ctx, "ingest");
  if (n && (!times || !types))
    return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", times ? "types" : "times");
  if (n && !id_offsets) return cxm__seterr(ctx, CXM_E_NULL, "id_offsets: NULL");
  if (n && !id_data && id_offsets[n] != id_offsets[0])
    return cxm__seterr(ctx, CXM_E_NULL, "id_data: NULL");
  window w;
  batch b;
  b.times = times;
  b.types = types;
  b.id_offsets = id_offsets;
  b.channels = channels;
  b.values = values;
  b.values2 = values2;
  b.segsets = segsets;
  b.statuses = statuses;
  b.bad = 0;
  b.first_rc = CXM_OK;
  b.first_msg[0] = 0;
  int full = channels && values && values2 && segsets;
  ingest_run run;
  run_init(ctx, &run);
  /* A batch of one event takes the general path (and no guess): tests
     compare batches against it. */
  int fast = full && n > 1;
  if (fast && run.active) run_tables(ctx, &run);
  for (size_t base = 0; base < n; base += CHUNK) {
    size_t m = n - base < CHUNK ? n - base : CHUNK;
    size_t avail = n - base < CHUNK + AHEAD_SLOT ? n - base : CHUNK + AHEAD_SLOT;
    /* Hash the window's new ids first: pure computation, no cache misses,
       and several ids side by side. */
    size_t from = base ? AHEAD_SLOT : 0; /* the first AHEAD_SLOT are carried over */
    if (from > avail) from = avail;
    window_hash(ctx, &b, id_data, &w, base, from, avail);
    if (base == 0) {
      for (size_t j = 0; j < avail && j < AHEAD_SLOT; j++)
        prefetch_slot(&ctx->customers, w.hash[j]);
      for (size_t j = 0; j < avail && j < AHEAD_REC; j++)
        w.guess[j] = n > 1 ? prefetch_rec(ctx, w.hash[j], types[j]) : 0;
    }
    if (fast && !run.active && !statuses)
      run_chunk(ctx, &run, &b, 1, 1, 0, 1, base, m, avail, &w);
    else if (fast && !run.active)
      run_chunk(ctx, &run, &b, 1, 1, 0, 0, base, m, avail, &w);
    else if (fast && !statuses)
      run_chunk(ctx, &run, &b, 1, 1, 1, 1, base, m, avail, &w);
    else if (fast)
      run_chunk(ctx, &run, &b, 1, 1, 1, 0, base, m, avail, &w);
    else if (full)
      run_chunk(ctx, &run, &b, 1, 0, 0, 0, base, m, avail, &w);
    else
      run_chunk(ctx, &run, &b, 0, 0, 0, 0, base, m, avail, &w);
    if (m == CHUNK) {
      memcpy(w.hash, w.hash + CHUNK, AHEAD_SLOT * sizeof w.hash[0]);
      memcpy(w.guess, w.guess + CHUNK, AHEAD_REC * sizeof w.guess[0]);
    }
  }
  run_commit(ctx, &run);
  if (accepted) *accepted = n - b.bad;
  if (b.first_rc != CXM_OK) {
    memcpy(ctx->errmsg, b.first_msg, sizeof b.first_msg);
    ctx->errcode = b.first_rc;
  }
  return b.first_rc;
}
