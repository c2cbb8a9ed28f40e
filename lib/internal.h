/*
 * internal.h - private structures shared by the library's source files.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_INTERNAL_H
#define CXM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "cxmetrics.h"

#if defined(__GNUC__)
#define CXM_LIKELY(x) __builtin_expect(!!(x), 1)
#define CXM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CXM_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#define CXM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CXM_HIDDEN __attribute__((visibility("hidden")))
#define CXM_INLINE inline __attribute__((always_inline))
#define CXM_COLD __attribute__((cold, noinline))
#else
#define CXM_LIKELY(x) (x)
#define CXM_UNLIKELY(x) (x)
#define CXM_PREFETCH_W(p) ((void)(p))
#define CXM_PRINTF(a, b)
#define CXM_HIDDEN
#define CXM_INLINE inline
#define CXM_COLD
#endif

/* ---- event-level counters kept per scope and per day ------------------- */
/* Totals (events, interactions) are sums of these, not counters of their own:
   fewer counters per event on the hot path. */
enum {
  E_NPS_PRO,
  E_NPS_PAS,
  E_NPS_DET,
  E_CSAT_N,
  E_CSAT_POS,
  E_CSAT_SUM,
  E_CES_N,
  E_CES_SUM,
  E_PUR_N,
  E_PUR_SUM,
  E_REF_N,
  E_REF_SUM,
  E_SES_N,
  E_SES_BOUNCE,
  E_SES_ENGAGED,
  E_MSG_SENT,
  E_MSG_OPEN,
  E_MSG_CLICK,
  E_LEADS,
  E_SPEND_N,
  E_SPEND_SUM,
  E_NEW_BUYERS,
  E_TOUCH,
  E_ENGAGE,
  E_CHURN,
  NEV
};

/* A scope's counters as a time series of days [day0, day0 + ndays). */
typedef struct cxm_series {
  int32_t day0;
  uint32_t ndays;
  uint32_t cap;  /* rows allocated */
  int64_t *cells; /* ndays * NEV, row-major */
} cxm_series;

/* ---- customer-level counters per (segment row, acquisition channel) ----- */
enum {
  CC_BUYERS,       /* channel: first purchase's */
  CC_REPEAT,
  CC_ORDERS,
  CC_NET,
  CC_LEADS,        /* channel: first lead's */
  CC_CONVERTED,
  CC_INTERACTORS,  /* channel: first interaction's */
  CC_INTERACTIONS,
  NCC
};
enum { CG_BUY, CG_LEAD, CG_ENGAGE, NCG };

typedef struct cxm_ccell {
  int64_t v[NCC];
} cxm_ccell;

/* Grid columns: 0 = all channels, 1 + channel id. Rows: 0 = all, 1 + segment. */
#define CXM_GRID_COLS (1 + CXM_CHANNELS_MAX)
#define CXM_GRID_ROWS (1 + CXM_SEGMENTS_MAX)
#define CXM_CH_NONE 0xFFu

typedef struct cxm_row {
  cxm_series ev[CXM_GRID_COLS];
  cxm_ccell cc[CXM_GRID_COLS];
} cxm_row;

/* ---- customers --------------------------------------------------------- */
enum {
  CF_PURCHASE = 1u << 0,
  CF_LEAD = 1u << 1,
  CF_INTERACT = 1u << 2,
  CF_EVENT = 1u << 3,
  CF_NPS_SHIFT = 4, /* 2 bits: 0 none, 1 detractor, 2 passive, 3 promoter */
  CF_NPS_MASK = 3u << 4
};

/* One customer's record: 64 bytes, one cache line (the array is aligned). */
typedef struct cxm_cust {
  uint64_t hash;
  int64_t net;              /* purchases - refunds, minor units */
  uint32_t segset;
  uint32_t orders;
  uint32_t interactions;
  uint32_t last_time;       /* newest event time: the lateness reference */
  uint32_t first_seen;
  uint32_t first_purchase;
  uint32_t last_purchase;
  uint32_t first_lead;
  uint32_t first_interaction;
  uint32_t last_nps_time;
  uint8_t ch_purchase, ch_lead, ch_interact, flags;
  uint32_t spare;           /* retention: the newest settled coverage gap (retention.h) */
} cxm_cust;

typedef struct cxm_custtab {
  uint64_t *slots;   /* 0 = empty, else (hash >> 32) << 32 | (record index + 1) */
  uint64_t mask;     /* slot count - 1 */
  unsigned shift;    /* 64 - log2(slot count): a hash's home is hash >> shift */
  cxm_cust *recs;    /* aligned view into recs_raw */
  void *recs_raw;
  size_t recs_raw_size;
  uint32_t count, cap;
} cxm_custtab;

/* A customer's customer-level contribution to its (segment row, acquisition
   channel) cells; ingest, merge and erase must agree on it, hence here. */
static inline void cxm__cust_contrib(const cxm_cust *r, int64_t v[NCC]) {
  int64_t buyer = (r->flags & CF_PURCHASE) != 0;
  int64_t lead = (r->flags & CF_LEAD) != 0;
  v[CC_BUYERS] = buyer;
  v[CC_REPEAT] = buyer && r->orders >= 2;
  v[CC_ORDERS] = buyer ? (int64_t)r->orders : 0;
  v[CC_NET] = buyer ? r->net : 0;
  v[CC_LEADS] = lead;
  v[CC_CONVERTED] = lead && buyer && r->last_purchase >= r->first_lead;
  v[CC_INTERACTORS] = (r->flags & CF_INTERACT) != 0;
  v[CC_INTERACTIONS] = r->interactions;
}

/* ---- labels -------------------------------------------------------------- */
typedef struct cxm_labels {
  uint32_t count, max;
  char *text;        /* max * CXM_LABEL_MAX bytes */
  uint8_t *len;
  int32_t *index;    /* open addressing: id + 1, 0 = empty; size index_mask + 1 */
  uint32_t index_mask;
} cxm_labels;

typedef struct cxm_segset {
  uint32_t n;
  int32_t seg[CXM_SEGMENTS_PER_CUSTOMER_MAX];
} cxm_segset;

typedef struct cxm_segsets {
  uint32_t count, cap;
  cxm_segset *sets;
  uint32_t *index;   /* id + 1, 0 = empty */
  uint32_t index_mask;
} cxm_segsets;

/* ---- staged fine cells (stage.c) ------------------------------------------ */
/* An index slot holds the key with the cell's address: a probe that hits
   reads one slot, no second dependent load (the key array is for flushes). */
#define CXM_SLOT_NONE UINT64_MAX /* no cell has it (sets < 2^24, groups < 255) */
#define CXM_MEMO_SETS 64u
#define CXM_MEMO_COLS 16u
typedef struct cxm_slot {
  uint64_t key;
  int64_t *cell;
} cxm_slot;

typedef struct cxm_stage {
  uint64_t *keys;   /* cap: cell c's key */
  int64_t *vals;    /* cap * width */
  cxm_slot *slots;  /* 4 * cap (stage.c), open addressing; key CXM_SLOT_NONE = empty */
  uint32_t mask, count, cap;
  int width;
  /* In front of the index, direct-mapped (set < CXM_MEMO_SETS, column or
     channel < CXM_MEMO_COLS): the event stage's cell of (memo_day, set,
     column), the customer stage's engagement cell of (set, channel); NULL
     when not known. A flush clears it. */
  int32_t memo_day;
  int64_t *memo[CXM_MEMO_SETS * CXM_MEMO_COLS];
} cxm_stage;

/* A module's per-customer side array as the batch prefetches it: entry i
   at base + i * stride (ext.c: cxm__ext_side). */
typedef struct cxm_side {
  const uint8_t *base;
  size_t stride;
  uint32_t mod; /* its module's CXM_MOD_* bit: prefetched for the types it reads */
  /* In side_on[]: bit k set when a module of the entry reads type k; `all`
     when the entry is the only one and every customer event type reads it
     (retention in a shared row): the batch prefetches it without a test. */
  uint16_t types, all;
} cxm_side;

#define CXM_OPT_COUNT_ 13 /* one past the highest option id */
#define CXM_NMOD_ 4       /* optional modules (ext.h) */

/* ---- the handle ---------------------------------------------------------- */
struct cxm_ctx {
  cxm_malloc_fn a_malloc;
  cxm_realloc_fn a_realloc;
  cxm_free_fn a_free;
  void *a_opaque;
  int64_t mem_bytes;

  int errcode;
  char errmsg[256];
  /* Internal: told of every rejected event of a batch (the CSV reader maps
     them to line numbers); NULL when nobody listens. */
  void (*on_reject)(void *user, size_t idx, int status, const char *msg);
  void *on_reject_user;

  uint64_t key[2];
  int started; /* an event or customer exists: key and layout options fixed */
  /* Snapshots (snapshot.c): a handle loaded without its key knows only the
     key's fingerprint until cxm_key_set gives a matching key; the caller's
     stream position (NULL when unset). */
  int key_missing;
  uint64_t key_fp;
  uint8_t *position;
  size_t position_len;

  int64_t utc_offset;
  int64_t decimals;
  int64_t max_lateness;
  double money_scale; /* 10^decimals */

  int64_t n_accepted, n_rejected, n_late;
  uint32_t first_time, last_time;

  cxm_labels channels;
  cxm_labels segments;
  cxm_segsets segsets;
  cxm_custtab customers;
  cxm_row *rows[CXM_GRID_ROWS];
  cxm_stage stage_ev; /* event-level updates not yet added to their scopes */
  cxm_stage stage_cc; /* customer-level ditto */
  uint32_t spend_last[CXM_GRID_COLS]; /* newest spend time per column */

  /* Options past the first three, indexed by cxm_option (ctx.c). */
  int64_t opt[CXM_OPT_COUNT_];
  /* The optional modules' state (ext.h), NULL until first needed. */
  void *mod[CXM_NMOD_];
  /* Their side arrays by module (base NULL: none), and the registered ones
     packed first in side_on[0 .. n_side_on) for the batch's prefetch. */
  cxm_side side[CXM_NMOD_];
  cxm_side side_on[CXM_NMOD_];
  int n_side_on;
  /* Monitoring (monitor.c): its state, NULL until first used; mon_on is
     nonzero while a callback or watch is registered (ingest then builds the
     event view for it); in_callback is nonzero while one runs, when the
     handle's entry points refuse calls (CXM_E_STATE). */
  void *mon;
  int mon_on;
  int in_callback;
};

/* ---- helpers --------------------------------------------------------------- */
CXM_HIDDEN void *cxm__malloc(cxm_ctx *ctx, size_t size);
CXM_HIDDEN void *cxm__calloc(cxm_ctx *ctx, size_t size);
CXM_HIDDEN void *cxm__realloc(cxm_ctx *ctx, void *ptr, size_t old_size,
                              size_t new_size);
CXM_HIDDEN void cxm__free(cxm_ctx *ctx, void *ptr, size_t size);
/* pages.c: asks the kernel for huge pages on a large block (a hint); whether
   a block of that size gets the hint (cxm__realloc then moves it to a fresh
   block instead of growing it in place). */
CXM_HIDDEN void cxm__pages_advise(void *p, size_t size);
CXM_HIDDEN int cxm__pages_wanted(size_t size);
CXM_HIDDEN int cxm__seterr(cxm_ctx *ctx, int status, const char *fmt, ...)
    CXM_PRINTF(3, 4);
CXM_HIDDEN int cxm__vseterr(cxm_ctx *ctx, int status, const char *fmt,
                            va_list ap);

CXM_HIDDEN uint64_t cxm__siphash13(const uint64_t key[2], const void *data,
                                   size_t len);
/* out[i] = the hash of bytes [off[i], off[i + 1]) of data for i < n, several
   at once; an empty or invalid range (negative, decreasing) hashes as the
   empty id, which is no customer's (the caller rejects such events). */
CXM_HIDDEN void cxm__siphash13_ids(const uint64_t key[2], size_t n,
                                   const unsigned char *data, const int64_t *off,
                                   uint64_t *out);

CXM_HIDDEN int cxm__labels_init(cxm_ctx *ctx, cxm_labels *l, uint32_t max);
CXM_HIDDEN void cxm__labels_free(cxm_ctx *ctx, cxm_labels *l);
CXM_HIDDEN int cxm__segsets_init(cxm_ctx *ctx, cxm_segsets *s);
CXM_HIDDEN void cxm__segsets_free(cxm_ctx *ctx, cxm_segsets *s);
CXM_HIDDEN int cxm__segsets_reserve(cxm_ctx *ctx, cxm_segsets *s, uint32_t extra);

CXM_HIDDEN void cxm__custtab_free(cxm_ctx *ctx, cxm_custtab *t);
CXM_HIDDEN int64_t cxm__custtab_find(const cxm_custtab *t, uint64_t hash);
CXM_HIDDEN int cxm__custtab_reserve(cxm_ctx *ctx, cxm_custtab *t, uint32_t extra);
CXM_HIDDEN uint32_t cxm__custtab_insert(cxm_custtab *t, uint64_t hash);
/* Removes record ri and its index slot; the last record moves into the hole
   (its slot follows) and the vacated record is zeroed. */
CXM_HIDDEN void cxm__custtab_remove(cxm_custtab *t, uint32_t ri);

CXM_HIDDEN int cxm__row_ensure(cxm_ctx *ctx, uint32_t row);
CXM_HIDDEN void cxm__rows_free(cxm_ctx *ctx);
CXM_HIDDEN int cxm__series_ensure(cxm_ctx *ctx, cxm_series *s, int32_t day);
CXM_HIDDEN void cxm__series_sum(const cxm_series *s, int64_t from_day,
                                int64_t to_day, int64_t out[NEV]);

CXM_HIDDEN int cxm__stage_init(cxm_ctx *ctx, cxm_stage *s, uint32_t cap, int width);
CXM_HIDDEN void cxm__stage_free(cxm_ctx *ctx, cxm_stage *s);
/* The out-of-line halves of cxm__stage_ev / cxm__stage_cc: a new cell. */
CXM_HIDDEN int64_t *cxm__stage_ev_insert(cxm_ctx *ctx, uint64_t key);
CXM_HIDDEN int64_t *cxm__stage_cc_insert(cxm_ctx *ctx, uint64_t key);
static inline uint32_t cxm__key_slot(uint64_t key, uint32_t mask) {
  return (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & mask;
}
/* The cell of `key`, NULL when absent. */
static inline int64_t *cxm__stage_find(const cxm_stage *st, uint64_t key) {
  for (uint32_t i = cxm__key_slot(key, st->mask);; i = (i + 1) & st->mask) {
    const cxm_slot *sl = &st->slots[i];
    if (CXM_LIKELY(sl->key == key)) return sl->cell;
    if (sl->key == CXM_SLOT_NONE) return NULL;
  }
}

#define CXM_EV_KEY(day, set, col) \
  (((uint64_t)(uint32_t)(day) << 32) | ((uint64_t)(set) << 8) | (uint64_t)(col))
#define CXM_CC_KEY(set, group, ch) \
  (((uint64_t)(set) << 16) | ((uint64_t)(group) << 8) | (uint64_t)(ch))

/* The staged event-level cell of (day, segment set, column), created (with
   the day rows of all its scopes) when new; NULL when memory ran out. */
static inline int64_t *cxm__stage_ev(cxm_ctx *ctx, int32_t day, uint32_t set,
                                     uint32_t col) {
  uint64_t key = CXM_EV_KEY(day, set, col);
  int64_t *cell = cxm__stage_find(&ctx->stage_ev, key);
  return CXM_LIKELY(cell != NULL) ? cell : cxm__stage_ev_insert(ctx, key);
}

/* The staged customer-level cell of (segment set, group, channel); cannot
   fail (a full stage is flushed). */
static inline int64_t *cxm__stage_cc(cxm_ctx *ctx, uint32_t set, int group, uint8_t ch) {
  uint64_t key = CXM_CC_KEY(set, group, ch);
  int64_t *cell = cxm__stage_find(&ctx->stage_cc, key);
  return CXM_LIKELY(cell != NULL) ? cell : cxm__stage_cc_insert(ctx, key);
}

/* snapshot.c: CXM_OK when the handle knows its key, else CXM_E_STATE with a
   message naming `what` (ingest, customer lookup); the fingerprint of a key;
   the release of snapshot state at destruction. */
CXM_HIDDEN int cxm__need_key(cxm_ctx *ctx, const char *what);
CXM_HIDDEN uint64_t cxm__key_fingerprint(const uint64_t key[2]);
CXM_HIDDEN void cxm__snapshot_free(cxm_ctx *ctx);
/* cxm_key_set on a handle loaded without its key: accepts only the key
   whose fingerprint the snapshot gave. */
CXM_HIDDEN int cxm__key_restore(cxm_ctx *ctx, const uint8_t key[CXM_KEY_SIZE]);

/* The event view is built and cxm__ext_prepare/on_event called when a
   module is enabled or monitoring listens. */
static inline int cxm__ext_active(const cxm_ctx *ctx) {
  return ctx->opt[CXM_OPT_MODULES] != 0 || ctx->mon_on;
}

/* monitor.c: refuses a call made from a callback of the same handle. */
CXM_HIDDEN int cxm__reentered(cxm_ctx *ctx);
#define CXM_NO_REENTRY(ctx) \
  do { if (CXM_UNLIKELY((ctx)->in_callback)) return cxm__reentered(ctx); } while (0)

/* Adds every staged update to its scopes; needed before any read of rows. */
CXM_HIDDEN void cxm__flush(cxm_ctx *ctx);

static inline int64_t cxm__floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

/* The day number of a time in the handle's UTC offset. */
static inline int64_t cxm__day_of(const cxm_ctx *ctx, int64_t t) {
  return cxm__floor_div(t + ctx->utc_offset, 86400);
}

#endif /* CXM_INTERNAL_H */
