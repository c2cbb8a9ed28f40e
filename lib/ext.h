/*
 * ext.h - the protocol between the core and the optional modules
 * (retention, funnel, attribution, predictive CLV), and the byte buffers
 * that snapshots and merges use.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * A module keeps its own state, reached through ctx->mod[CXM_MODIX_...]
 * (NULL until the module first needs it), with per-customer data in side
 * arrays indexed by the core's record index. The core calls the module
 * through ext.c, only when the module's bit is set in ctx->modules:
 *
 *   prepare   before an event changes anything: reserve whatever on_event
 *             and on_segset will need (side arrays for one more customer
 *             when `found` < 0, per-segment-set rows, day rows). May fail
 *             (returns a status, usually CXM_E_NOMEM); must not change what
 *             any query returns, nor touch the core's staged cells. `ev` is
 *             NULL when called from cxm_customer_set_segments (no event).
 *             Called for every event of a new customer (`found` < 0) or of
 *             one whose segment set changes, else only for the event types
 *             the module reads (CXM__MODS_OF_TYPE below; attribution
 *             not at all: CXM__PREP_OF_TYPE). ev->pend holds the
 *             modules whose on_event will run; prepare may clear its own
 *             bit when on_event would change nothing.
 *   on_segset a customer moves from segment set `old_set` to `new_set`
 *             (also for a new customer leaving set 0). Cannot fail.
 *   on_event  after the core counted an accepted customer event, when the
 *             module's bit is still set in ev->pend. Cannot fail.
 *             Neither prepare nor on_event may read the handle's accepted
 *             count and time range (n_accepted, first_time, last_time,
 *             started): the batch's fast path keeps them in its run until
 *             the general path, monitoring or the call's end needs them.
 *   save/load the module's state as bytes (little endian through cxm_wbuf /
 *             cxm_rbuf); load runs on a fresh handle whose core state
 *             (records, labels, options) is already loaded, and a failure
 *             destroys that handle.
 *   merge_reserve/merge_apply  merge src into dst: reserve everything first
 *             (may fail; dst unchanged), then apply (cannot fail); `map`
 *             translates src ids to dst ids (map->rec[i] is src record i's
 *             dst index: an existing record when the customer is in both,
 *             else dst's count + j for the j-th new one). merge_reserve runs
 *             when dst already holds src's labels and segment sets and
 *             dst->customers.cap covers every mapped index, but before any
 *             record is added (dst->customers.count unchanged); size side
 *             arrays by customers.cap. merge_apply runs after the core has
 *             merged records and cells (count includes the new records).
 *             Both src and dst state have been flushed (cxm__flush).
 *   erase     forget customer `ri` (before the core drops its record);
 *   move      the record at `from` now lives at `to` (the core keeps records
 *             dense by moving the last into a hole). Cannot fail.
 *   free      release everything.
 */
#ifndef CXM_EXT_H
#define CXM_EXT_H

#include "attribution.h"
#include "internal.h"
#include "funnel.h"
#include "rows.h"

enum { CXM_MODIX_RETENTION, CXM_MODIX_FUNNEL, CXM_MODIX_ATTRIBUTION,
       CXM_MODIX_CLV, CXM_NMOD };
/* ctx->mod[] is sized by CXM_NMOD_ in internal.h. */
typedef char cxm__nmod_check[CXM_NMOD == CXM_NMOD_ ? 1 : -1];

/* An accepted customer event as modules see it. */
typedef struct cxm_evview {
  int64_t time;     /* seconds since the epoch, as given */
  uint32_t t;       /* the same as stored (validated to fit) */
  int32_t day;      /* day number in the handle's UTC offset */
  int32_t type;     /* CXM_EV_* */
  uint8_t ch;       /* channel id, CXM_CH_NONE for none */
  double v1, v2;    /* as given (NaN = absent) */
  int64_t minor;    /* amount in minor units (purchase, refund), else 0 */
  uint32_t set;     /* the customer's segment set for this event */
  uint32_t pend;    /* CXM_MOD_* bits: on_event to call (set by cxm__ext_prepare) */
} cxm_evview;

/* ---- byte buffers (snapio.c) --------------------------------------------- */
typedef struct cxm_wbuf {
  cxm_ctx *ctx;     /* allocator */
  uint8_t *data;
  size_t len, cap;
  int err;          /* sticky: CXM_E_NOMEM after a failed growth */
} cxm_wbuf;

CXM_HIDDEN void cxm__wbuf_init(cxm_wbuf *w, cxm_ctx *ctx);
CXM_HIDDEN void cxm__wbuf_free(cxm_wbuf *w);
CXM_HIDDEN void cxm__wbuf_reserve(cxm_wbuf *w, size_t n);
CXM_HIDDEN void cxm__w_bytes(cxm_wbuf *w, const void *p, size_t n);
CXM_HIDDEN void cxm__w_u8(cxm_wbuf *w, uint8_t v);
CXM_HIDDEN void cxm__w_u32(cxm_wbuf *w, uint32_t v);
CXM_HIDDEN void cxm__w_u64(cxm_wbuf *w, uint64_t v);
CXM_HIDDEN void cxm__w_i64(cxm_wbuf *w, int64_t v);

typedef struct cxm_rbuf {
  const uint8_t *p;
  size_t len, pos;
  int err;          /* sticky: 1 after reading past the end */
} cxm_rbuf;

/* Past the end each reader sets err and returns 0. */
CXM_HIDDEN void cxm__r_bytes(cxm_rbuf *r, void *dst, size_t n);
CXM_HIDDEN uint8_t cxm__r_u8(cxm_rbuf *r);
CXM_HIDDEN uint32_t cxm__r_u32(cxm_rbuf *r);
CXM_HIDDEN uint64_t cxm__r_u64(cxm_rbuf *r);
CXM_HIDDEN int64_t cxm__r_i64(cxm_rbuf *r);

/* ---- merge id maps ----------------------------------------------------------- */
typedef struct cxm_remap {
  const uint32_t *rec;     /* src record index -> dst record index */
  const uint8_t *channel;  /* src channel id -> dst channel id */
  const int32_t *segment;  /* src segment id -> dst segment id */
  const uint32_t *segset;  /* src segment set id -> dst segment set id */
  uint32_t n_rec, n_channel, n_segment, n_segset; /* sizes of the maps */
} cxm_remap;

/* ---- the dispatch (ext.c) ---------------------------------------------------- */
/* cxm__ext_prepare and cxm__ext_on_event: inline, at the end of this file. */
CXM_HIDDEN void cxm__ext_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                                   uint32_t new_set);
CXM_HIDDEN int cxm__ext_save(const cxm_ctx *ctx, int modix, cxm_wbuf *w);
CXM_HIDDEN int cxm__ext_load(cxm_ctx *ctx, int modix, cxm_rbuf *r);
CXM_HIDDEN int cxm__ext_merge_reserve(cxm_ctx *dst, const cxm_ctx *src,
                                      const cxm_remap *map);
CXM_HIDDEN void cxm__ext_merge_apply(cxm_ctx *dst, const cxm_ctx *src,
                                     const cxm_remap *map);
CXM_HIDDEN void cxm__ext_erase(cxm_ctx *ctx, uint32_t ri);
CXM_HIDDEN void cxm__ext_move(cxm_ctx *ctx, uint32_t from, uint32_t to);
CXM_HIDDEN void cxm__ext_free(cxm_ctx *ctx);
/* A module tells where its per-customer side array is whenever it
   (re)allocates or frees it (base NULL: none): entry i at base + i * stride.
   The batch ingest prefetches a known customer's entry with its record.
   (Retention, funnel and attribution use cxm__siderows_reserve instead, which
   tells for them; CLV keeps its own array.) */
CXM_HIDDEN void cxm__ext_side(cxm_ctx *ctx, int modix, const void *base, size_t stride);

/* ---- shared per-customer rows (ext.c) -------------------------------------------
   An event of a known customer reads the entries of retention, funnel and
   attribution together: in three arrays they took three to five cache
   lines (most entries straddle two), so the enabled ones share one row per
   customer instead, packed (8 + 10 + 41 bytes with 8 touches: two lines at
   most, and no padding that the state budget would pay for), retention
   first. A module sees its entries through a cxm_rows view: entry i at
   base + i * stride, `cap` entries, new ones zero. The row's layout is
   fixed when the block is first allocated, from the modules then enabled
   (CXM_OPT_MODULES) and the touches kept; a module outside it (enabled
   later, or whose entry size differs) gets a block of its own. Growth,
   load, merge and failures behave as with a module's own array: the block
   grows to the core's capacity (1024 * 2^k records) and a failed growth
   changes nothing. cxm_rows: rows.h. */

/* Makes module `modix`'s view `v` (inside the module's state, which must
   not move while registered) hold at least `need` entries of `size` bytes.
   Every view on the same block is updated when it moves. CXM_E_NOMEM or
   CXM_E_LIMIT (past 2^32 records) leave everything as it was. */
CXM_HIDDEN int cxm__siderows_reserve(cxm_ctx *ctx, int modix, cxm_rows *v, size_t size,
                                 uint64_t need);
/* Releases the view (the block with its last view). */
CXM_HIDDEN void cxm__siderows_free(cxm_ctx *ctx, int modix, cxm_rows *v);

/* ---- each module implements these (NAME = retention, funnel, attribution,
   clv) in lib/NAME.c ------------------------------------------------------------ */
#define CXM_MODULE_DECL(NAME)                                                    \
  CXM_HIDDEN int cxm__##NAME##_prepare(cxm_ctx *ctx, cxm_evview *ev,             \
                                       int64_t found, uint32_t set);             \
  CXM_HIDDEN void cxm__##NAME##_on_segset(cxm_ctx *ctx, uint32_t ri,             \
                                          uint32_t old_set, uint32_t new_set);   \
  CXM_HIDDEN int cxm__##NAME##_save(const cxm_ctx *ctx, cxm_wbuf *w);            \
  CXM_HIDDEN int cxm__##NAME##_load(cxm_ctx *ctx, cxm_rbuf *r);                  \
  CXM_HIDDEN int cxm__##NAME##_merge_reserve(cxm_ctx *dst, const cxm_ctx *src,   \
                                             const cxm_remap *map);              \
  CXM_HIDDEN void cxm__##NAME##_merge_apply(cxm_ctx *dst, const cxm_ctx *src,    \
                                            const cxm_remap *map);               \
  CXM_HIDDEN void cxm__##NAME##_erase(cxm_ctx *ctx, uint32_t ri);                \
  CXM_HIDDEN void cxm__##NAME##_move(cxm_ctx *ctx, uint32_t from, uint32_t to);  \
  CXM_HIDDEN void cxm__##NAME##_free(cxm_ctx *ctx);

CXM_MODULE_DECL(retention)
CXM_MODULE_DECL(funnel)
CXM_MODULE_DECL(attribution)
CXM_MODULE_DECL(clv)
/* After the counting, an accepted event's own part. Attribution has none:
   the dispatch calls its touch or purchase part by type. (Declared only
   where defined: the amalgamation makes them static.) */
CXM_HIDDEN void cxm__retention_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev);
CXM_HIDDEN void cxm__funnel_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev);
CXM_HIDDEN void cxm__clv_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev);
CXM_HIDDEN void cxm__attribution_touch(cxm_ctx *ctx, uint32_t ri, uint32_t t, uint8_t ch);
CXM_HIDDEN void cxm__attribution_purchase(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev);

/* monitor.h (which includes this file) declares it too. */
CXM_HIDDEN void cxm__monitor_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev);

/* ---- the per-event dispatch, inline in the ingest loop (it runs for every
   accepted customer event: a call in between cost as much as the usual
   module's whole fast path) ---------------------------------------------------- */

/* The modules that read each event type, 4 bits (CXM_MOD_*) per CXM_EV_*:
   retention every customer event (activity, churn, and message_sent, which
   moves a span); funnel the types that reach a stage (funnel.c: STAGES);
   attribution the touches and purchases (attribution.c: USES); CLV the
   purchases. Any other type changes nothing in a module for a known
   customer whose segment set stays, so neither its prepare nor its
   on_event is called then. Attribution's prepare has nothing to reserve
   for a known customer (its side array covers every record from the
   customer's first event, load or merge on), so it is called only for new
   customers and segment moves (CXM__PREP_OF_TYPE). */
#define CXM__MT(type, mods) ((uint64_t)(mods) << (4 * (type)))
#define CXM__R CXM_MOD_RETENTION
#define CXM__RF (CXM_MOD_RETENTION | CXM_MOD_FUNNEL)
#define CXM__RFA (CXM_MOD_RETENTION | CXM_MOD_FUNNEL | CXM_MOD_ATTRIBUTION)
#define CXM__MODS_OF_TYPE                                                              \
  (CXM__MT(CXM_EV_TOUCH, CXM__RFA) | CXM__MT(CXM_EV_SESSION, CXM__RFA) |               \
   CXM__MT(CXM_EV_ENGAGE, CXM__RFA) | CXM__MT(CXM_EV_MESSAGE_SENT, CXM__R) |           \
   CXM__MT(CXM_EV_MESSAGE_OPEN, CXM__RF) | CXM__MT(CXM_EV_MESSAGE_CLICK, CXM__RFA) |    \
   CXM__MT(CXM_EV_LEAD, CXM__RF) | CXM__MT(CXM_EV_PURCHASE, CXM__RFA | CXM_MOD_CLV) |   \
   CXM__MT(CXM_EV_REFUND, CXM__R) | CXM__MT(CXM_EV_NPS, CXM__R) |                      \
   CXM__MT(CXM_EV_CSAT, CXM__R) | CXM__MT(CXM_EV_CES, CXM__R) |                        \
   CXM__MT(CXM_EV_CHURN, CXM__R))
#define CXM__ATTR_TYPES                                                                \
  (CXM__MT(CXM_EV_TOUCH, CXM_MOD_ATTRIBUTION) | CXM__MT(CXM_EV_SESSION, CXM_MOD_ATTRIBUTION) | \
   CXM__MT(CXM_EV_ENGAGE, CXM_MOD_ATTRIBUTION) |                                          \
   CXM__MT(CXM_EV_MESSAGE_CLICK, CXM_MOD_ATTRIBUTION) |                                   \
   CXM__MT(CXM_EV_PURCHASE, CXM_MOD_ATTRIBUTION))
#define CXM__PREP_OF_TYPE (CXM__MODS_OF_TYPE & ~CXM__ATTR_TYPES)
typedef char cxm__mods_of_type_fits[CXM_EV_CHURN < 16 && CXM_MOD_ALL < 16 ? 1 : -1];

/* cxm__ext_prepare for a new customer, a segment move or no event (ext.c):
   every module enabled prepares. */
CXM_HIDDEN int cxm__ext_prepare_all(cxm_ctx *ctx, cxm_evview *ev, int64_t found,
                                    uint32_t set);

/* The enabled modules that read events of type `type` (CXM_MOD_* bits):
   the ev->pend that cxm__ext_prepare_known expects. */
static CXM_INLINE uint32_t cxm__ext_pend(const cxm_ctx *ctx, int32_t type) {
  /* The option is 0 .. CXM_MOD_ALL: no other type's bits pass. */
  return (uint32_t)ctx->opt[CXM_OPT_MODULES] &
         (uint32_t)(CXM__MODS_OF_TYPE >> (4 * ((uint32_t)type & 15u)));
}

/* cxm__ext_prepare for an event of known customer `found` that keeps its
   segment set (ev->set), with ev->pend already cxm__ext_pend's (the batch
   takes it from a table made once per call), ev->pend within `may` (a
   constant where the type is known: the other modules' bits are not
   tested). */
static CXM_INLINE int cxm__ext_prepare_may(cxm_ctx *ctx, cxm_evview *ev, uint32_t found,
                                           uint32_t may) {
  uint32_t pend = ev->pend & may;
  int rc;
  if ((may & CXM_MOD_RETENTION) && (pend & CXM_MOD_RETENTION) &&
      (rc = cxm__retention_prepare(ctx, ev, found, ev->set)))
    return rc;
  if ((may & CXM_MOD_FUNNEL) && (pend & CXM_MOD_FUNNEL)) {
    /* The usual case, a known customer's stage unchanged, from the funnel's
       record (funnel.h) without a call: nothing to reserve, nothing to do. */
    const cxm_side *fs = &ctx->side[CXM_MODIX_FUNNEL];
    if (fs->base && cxm__funnel_unchanged(fs->base + (size_t)found * fs->stride,
                                    cxm__funnel_ev_stage(ev->type, ev->v1), ev->t))
      ev->pend &= ~(uint32_t)CXM_MOD_FUNNEL;
    else if ((rc = cxm__funnel_prepare(ctx, ev, found, ev->set)))
      return rc;
  }
  if ((may & CXM_MOD_CLV) && (pend & CXM_MOD_CLV) &&
      (rc = cxm__clv_prepare(ctx, ev, found, ev->set)))
    return rc;
  return CXM_OK;
}

static CXM_INLINE int cxm__ext_prepare_known(cxm_ctx *ctx, cxm_evview *ev, uint32_t found) {
  if (!(ev->pend & (uint32_t)~CXM_MOD_ATTRIBUTION)) return CXM_OK; /* CXM__PREP_OF_TYPE */
  return cxm__ext_prepare_may(ctx, ev, found, CXM_MOD_ALL);
}

/* Calls the prepare of each module concerned (ext.h's protocol) and sets
   ev->pend; the first failure's status is returned. */
static CXM_INLINE int cxm__ext_prepare(cxm_ctx *ctx, cxm_evview *ev, int64_t found,
                                       uint32_t set) {
  if (CXM_UNLIKELY(!ev || found < 0 || ctx->customers.recs[found].segset != set))
    return cxm__ext_prepare_all(ctx, ev, found, set);
  ev->pend = cxm__ext_pend(ctx, ev->type);
  return cxm__ext_prepare_known(ctx, ev, (uint32_t)found);
}

/* After the core counted the event prepared last: the modules left in
   ev->pend, within `may` as in cxm__ext_prepare_may (not monitoring:
   cxm__ext_on_event). */
static CXM_INLINE void cxm__ext_on_event_may(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev,
                                             uint32_t may) {
  uint32_t pend = ev->pend & may;
  if ((may & CXM_MOD_RETENTION) && (pend & CXM_MOD_RETENTION))
    cxm__retention_on_event(ctx, ri, ev);
  if ((may & CXM_MOD_FUNNEL) && (pend & CXM_MOD_FUNNEL)) cxm__funnel_on_event(ctx, ri, ev);
  if ((may & CXM_MOD_ATTRIBUTION) && (pend & CXM_MOD_ATTRIBUTION)) {
    const cxm_attr_ring *a = (const cxm_attr_ring *)ctx->mod[CXM_MODIX_ATTRIBUTION];
    if (ev->type == CXM_EV_PURCHASE)
      cxm__attribution_purchase(ctx, ri, ev);
    else if (!a || ri >= a->rows.cap ||
             !cxm__attr_keep_newest(a, a->rows.base + (size_t)ri * a->rows.stride, ev->t,
                                    ev->ch))
      cxm__attribution_touch(ctx, ri, ev->t, ev->ch);
  }
  if ((may & CXM_MOD_CLV) && (pend & CXM_MOD_CLV)) cxm__clv_on_event(ctx, ri, ev);
}

static CXM_INLINE void cxm__ext_on_event_mods(cxm_ctx *ctx, uint32_t ri,
                                              const cxm_evview *ev) {
  if (ev->pend) cxm__ext_on_event_may(ctx, ri, ev, CXM_MOD_ALL);
}

/* After the core counted the event prepared last: the modules left in
   ev->pend, then monitoring (whatever the module bits). */
static CXM_INLINE void cxm__ext_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  cxm__ext_on_event_mods(ctx, ri, ev);
  if (ctx->mon_on) cxm__monitor_on_event(ctx, ri, ev);
}

#endif /* CXM_EXT_H */
