/*
 * ctx.c - the handle: creation, allocation accounting, options, key, stats.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ext.h"
#include "internal.h"

#define CXM_STR2(x) #x
#define CXM_STR(x) CXM_STR2(x)

int cxm_version_number(void) { return CXM_VERSION_NUMBER; }

const char *cxm_version_string(void) {
  return CXM_STR(CXM_VERSION_MAJOR) "." CXM_STR(CXM_VERSION_MINOR) "." CXM_STR(
      CXM_VERSION_PATCH);
}

/* ---- allocation: every byte goes through the hooks and is counted ------ */

void *cxm__malloc(cxm_ctx *ctx, size_t size) {
  void *p = ctx->a_malloc(ctx->a_opaque, size ? size : 1);
  if (p) {
    ctx->mem_bytes += (int64_t)size;
    cxm__pages_advise(p, size);
  }
  return p;
}

void *cxm__calloc(cxm_ctx *ctx, size_t size) {
  void *p = cxm__malloc(ctx, size);
  if (p) memset(p, 0, size);
  return p;
}

void *cxm__realloc(cxm_ctx *ctx, void *ptr, size_t old_size, size_t new_size) {
  if (!ptr) return cxm__malloc(ctx, new_size);
  if (cxm__pages_wanted(new_size)) {
    /* A block grown in place keeps the old pages' size; a fresh block gets
       the hint before its first write (which is when pages are chosen). */
    void *n = cxm__malloc(ctx, new_size);
    if (!n) return NULL;
    memcpy(n, ptr, old_size < new_size ? old_size : new_size);
    cxm__free(ctx, ptr, old_size);
    return n;
  }
  void *p = ctx->a_realloc(ctx->a_opaque, ptr, new_size ? new_size : 1);
  if (p) {
    ctx->mem_bytes += (int64_t)new_size - (int64_t)old_size;
    cxm__pages_advise(p, new_size);
  }
  return p;
}

void cxm__free(cxm_ctx *ctx, void *ptr, size_t size) {
  if (!ptr) return;
  ctx->a_free(ctx->a_opaque, ptr);
  ctx->mem_bytes -= (int64_t)size;
}

static void *std_malloc(void *o, size_t n) {
  (void)o;
  return malloc(n);
}
static void *std_realloc(void *o, void *p, size_t n) {
  (void)o;
  return realloc(p, n);
}
static void std_free(void *o, void *p) {
  (void)o;
  free(p);
}


/* ---- key --------------------------------------------------------------- */

static void random_key(uint64_t key[2]) {
  unsigned char buf[16];
  size_t got = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (f) {
    got = fread(buf, 1, sizeof buf, f);
    fclose(f);
  }
  if (got == sizeof buf) {
    memcpy(key, buf, sizeof buf);
    return;
  }
  /* No urandom: mix the clock and addresses; weaker, but never constant. */
  uint64_t seed[2] = {(uint64_t)time(NULL), (uint64_t)clock()};
  struct timespec ts;
  if (timespec_get(&ts, TIME_UTC)) seed[1] ^= (uint64_t)ts.tv_nsec << 20;
  uint64_t addr = (uint64_t)(uintptr_t)&got ^ (uint64_t)(uintptr_t)key;
  key[0] = cxm__siphash13(seed, &addr, sizeof addr);
  key[1] = cxm__siphash13(seed, key, sizeof key[0]);
}

/* ---- create / destroy ----------------------------------------------------- */

typedef struct opt_info {
  int64_t lo, hi, dflt;
  int before_first_event;
  const char *name;
} opt_info;

/* Indexed by option id; the first three live in named fields of the handle,
   the others in ctx->opt[]. */
static const opt_info opt_table[CXM_OPT_COUNT_] = {
  [CXM_OPT_UTC_OFFSET] = {-50400, 50400, 0, 1, "CXM_OPT_UTC_OFFSET"},
  [CXM_OPT_DECIMALS] = {0, 6, 2, 1, "CXM_OPT_DECIMALS"},
  [CXM_OPT_MAX_LATENESS] = {0, 31622400, 604800, 0, "CXM_OPT_MAX_LATENESS"},
  [CXM_OPT_MODULES] = {0, CXM_MOD_ALL, CXM_MOD_ALL, 1, "CXM_OPT_MODULES"},
  [CXM_OPT_CHURN_WINDOW_DAYS] = {1, 3660, 90, 1, "CXM_OPT_CHURN_WINDOW_DAYS"},
  [CXM_OPT_RETENTION_PERIOD_DAYS] = {1, 3660, 30, 0, "CXM_OPT_RETENTION_PERIOD_DAYS"},
  [CXM_OPT_FUNNEL_RETENTION_DAYS] = {1, 3660, 365, 1, "CXM_OPT_FUNNEL_RETENTION_DAYS"},
  [CXM_OPT_FUNNEL_WINDOW_DAYS] = {0, 3660, 0, 1, "CXM_OPT_FUNNEL_WINDOW_DAYS"},
  [CXM_OPT_LOOKBACK_DAYS] = {1, 366, 30, 1, "CXM_OPT_LOOKBACK_DAYS"},
  [CXM_OPT_HALF_LIFE_DAYS] = {1, 366, 7, 1, "CXM_OPT_HALF_LIFE_DAYS"},
  [CXM_OPT_TOUCHES_KEPT] = {1, 32, 8, 1, "CXM_OPT_TOUCHES_KEPT"},
  [CXM_OPT_CLV_PERIOD_DAYS] = {1, 366, 1, 1, "CXM_OPT_CLV_PERIOD_DAYS"},
};

int cxm_ctx_create_with_allocator(cxm_ctx **out, cxm_malloc_fn malloc_fn,
                                  cxm_realloc_fn realloc_fn,
                                  cxm_free_fn free_fn, void *opaque) {
  if (!out || !malloc_fn || !realloc_fn || !free_fn) return CXM_E_NULL;
  cxm_ctx *ctx = (cxm_ctx *)malloc_fn(opaque, sizeof *ctx);
  if (!ctx) return CXM_E_NOMEM;
  memset(ctx, 0, sizeof *ctx);
  ctx->a_malloc = malloc_fn;
  ctx->a_realloc = realloc_fn;
  ctx->a_free = free_fn;
  ctx->a_opaque = opaque;
  ctx->mem_bytes = (int64_t)sizeof *ctx;
  ctx->decimals = 2;
  ctx->money_scale = 100.0;
  ctx->max_lateness = 7 * 86400;
  for (int o = CXM_OPT_MODULES; o < CXM_OPT_COUNT_; o++)
    if (opt_table[o].name) ctx->opt[o] = opt_table[o].dflt;
  random_key(ctx->key);
  if (cxm__labels_init(ctx, &ctx->channels, CXM_CHANNELS_MAX) != CXM_OK ||
      cxm__labels_init(ctx, &ctx->segments, CXM_SEGMENTS_MAX) != CXM_OK ||
      cxm__segsets_init(ctx, &ctx->segsets) != CXM_OK ||
      cxm__stage_init(ctx, &ctx->stage_ev, 2048, NEV) != CXM_OK ||
      cxm__stage_init(ctx, &ctx->stage_cc, 2048, NCC) != CXM_OK ||
      cxm__row_ensure(ctx, 0) != CXM_OK) {
    cxm_ctx_destroy(ctx);
    return CXM_E_NOMEM;
  }
  *out = ctx;
  return CXM_OK;
}

int cxm_ctx_create(cxm_ctx **out) {
  return cxm_ctx_create_with_allocator(out, std_malloc, std_realloc, std_free,
                                       NULL);
}

void cxm_ctx_destroy(cxm_ctx *ctx) {
  if (!ctx) return;
  cxm__ext_free(ctx);
  cxm__snapshot_free(ctx);
  cxm__stage_free(ctx, &ctx->stage_cc);
  cxm__stage_free(ctx, &ctx->stage_ev);
  cxm__rows_free(ctx);
  cxm__custtab_free(ctx, &ctx->customers);
  cxm__segsets_free(ctx, &ctx->segsets);
  cxm__labels_free(ctx, &ctx->segments);
  cxm__labels_free(ctx, &ctx->channels);
  ctx->a_free(ctx->a_opaque, ctx);
}

/* ---- options ---------------------------------------------------------------- */

static const opt_info *opt_lookup(int option) {
  if (option <= 0 || option >= CXM_OPT_COUNT_ || !opt_table[option].name)
    return NULL;
  return &opt_table[option];
}

int cxm_option_bounds(int option, int64_t *lo, int64_t *hi, int64_t *dflt) {
  const opt_info *oi = opt_lookup(option);
  if (!oi) return CXM_E_ARG;
  if (lo) *lo = oi->lo;
  if (hi) *hi = oi->hi;
  if (dflt) *dflt = oi->dflt;
  return CXM_OK;
}

int cxm_option_set(cxm_ctx *ctx, int option, int64_t value) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  const opt_info *oi = opt_lookup(option);
  if (!oi) return cxm__seterr(ctx, CXM_E_ARG, "option: unknown option %d", option);
  if (value < oi->lo || value > oi->hi)
    return cxm__seterr(ctx, CXM_E_RANGE,
                       "value: %s takes %lld..%lld, got %lld", oi->name,
                       (long long)oi->lo, (long long)oi->hi, (long long)value);
  if (oi->before_first_event && ctx->started)
    return cxm__seterr(ctx, CXM_E_STATE,
                       "option: %s can only be set before the first event",
                       oi->name);
  switch (option) {
    case CXM_OPT_UTC_OFFSET: ctx->utc_offset = value; break;
    case CXM_OPT_DECIMALS: {
      double s = 1.0;
      for (int64_t i = 0; i < value; i++) s *= 10.0;
      ctx->decimals = value;
      ctx->money_scale = s;
      break;
    }
    case CXM_OPT_MAX_LATENESS: ctx->max_lateness = value; break;
    default: ctx->opt[option] = value; break;
  }
  return CXM_OK;
}

int cxm_option_get(cxm_ctx *ctx, int option, int64_t *value) {
  if (!ctx) return CXM_E_NULL;
  if (!value) return cxm__seterr(ctx, CXM_E_NULL, "value: NULL");
  switch (option) {
    case CXM_OPT_UTC_OFFSET: *value = ctx->utc_offset; return CXM_OK;
    case CXM_OPT_DECIMALS: *value = ctx->decimals; return CXM_OK;
    case CXM_OPT_MAX_LATENESS: *value = ctx->max_lateness; return CXM_OK;
    default:
      if (!opt_lookup(option))
        return cxm__seterr(ctx, CXM_E_ARG, "option: unknown option %d", option);
      *value = ctx->opt[option];
      return CXM_OK;
  }
}

/* ---- identity ---------------------------------------------------------------- */

int cxm_key_set(cxm_ctx *ctx, const uint8_t *key, size_t key_len) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!key) return cxm__seterr(ctx, CXM_E_NULL, "key: NULL");
  if (key_len != CXM_KEY_SIZE)
    return cxm__seterr(ctx, CXM_E_ARG, "key_len: the key is %d bytes, got %zu",
                       CXM_KEY_SIZE, key_len);
  if (ctx->key_missing) return cxm__key_restore(ctx, key);
  if (ctx->started)
    return cxm__seterr(ctx, CXM_E_STATE,
                       "key: can only be set before the first customer");
  uint64_t k[2] = {0, 0};
  for (int i = 0; i < 8; i++) {
    k[0] |= (uint64_t)key[i] << (8 * i);
    k[1] |= (uint64_t)key[8 + i] << (8 * i);
  }
  ctx->key[0] = k[0];
  ctx->key[1] = k[1];
  return CXM_OK;
}

int cxm_customer_hash(cxm_ctx *ctx, const void *id, size_t len, uint64_t *out) {
  if (!ctx) return CXM_E_NULL;
  if (!id && len) return cxm__seterr(ctx, CXM_E_NULL, "id: NULL");
  if (!out) return cxm__seterr(ctx, CXM_E_NULL, "out: NULL");
  if (len == 0) return cxm__seterr(ctx, CXM_E_MISSING, "id: empty customer id");
  if (ctx->key_missing) return cxm__need_key(ctx, "customer lookup");
  *out = cxm__siphash13(ctx->key, id, len);
  return CXM_OK;
}

/* ---- statistics ------------------------------------------------------------ */

int cxm_stat_get(cxm_ctx *ctx, int stat, int64_t *value) {
  if (!ctx) return CXM_E_NULL;
  if (!value) return cxm__seterr(ctx, CXM_E_NULL, "value: NULL");
  switch (stat) {
    case CXM_STAT_EVENTS_ACCEPTED: *value = ctx->n_accepted; break;
    case CXM_STAT_EVENTS_REJECTED: *value = ctx->n_rejected; break;
    case CXM_STAT_EVENTS_LATE: *value = ctx->n_late; break;
    case CXM_STAT_CUSTOMERS: *value = ctx->customers.count; break;
    case CXM_STAT_MEMORY_BYTES: *value = ctx->mem_bytes; break;
    case CXM_STAT_FIRST_TIME: *value = ctx->n_accepted ? ctx->first_time : 0; break;
    case CXM_STAT_LAST_TIME: *value = ctx->n_accepted ? ctx->last_time : 0; break;
    default: return cxm__seterr(ctx, CXM_E_ARG, "stat: unknown statistic %d", stat);
  }
  return CXM_OK;
}

int cxm_time_day(cxm_ctx *ctx, int64_t time, int64_t *day) {
  if (!ctx) return CXM_E_NULL;
  if (!day) return cxm__seterr(ctx, CXM_E_NULL, "day: NULL");
  if (time < -(INT64_C(1) << 60) || time > (INT64_C(1) << 60))
    return cxm__seterr(ctx, CXM_E_RANGE, "time: out of range");
  *day = cxm__day_of(ctx, time);
  return CXM_OK;
}

int cxm_window_trailing(cxm_ctx *ctx, int64_t as_of, int32_t days,
                        int64_t *from, int64_t *to) {
  if (!ctx) return CXM_E_NULL;
  if (!from || !to) return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", from ? "to" : "from");
  if (days < 1) return cxm__seterr(ctx, CXM_E_RANGE, "days: must be >= 1, got %d", (int)days);
  if (as_of < -(INT64_C(1) << 60) || as_of > (INT64_C(1) << 60))
    return cxm__seterr(ctx, CXM_E_RANGE, "as_of: out of range");
  int64_t d = cxm__day_of(ctx, as_of);
  *to = (d + 1) * 86400 - ctx->utc_offset;
  *from = (d + 1 - days) * 86400 - ctx->utc_offset;
  return CXM_OK;
}
