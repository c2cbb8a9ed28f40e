/*
 * snapshot.c - a handle's whole state as bytes: save, load, stream position
 * and the key's fingerprint (format: docs/snapshot.md).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"

/* A keyed hash of a constant: equal keys give equal fingerprints, and the
   key cannot be recovered from it (SipHash is a PRF). */
uint64_t cxm__key_fingerprint(const uint64_t key[2]) {
  static const char tag[] = "libcxmetrics key fingerprint v1";
  return cxm__siphash13(key, tag, sizeof tag - 1);
}

int cxm__need_key(cxm_ctx *ctx, const char *what) {
  if (!ctx->key_missing) return CXM_OK;
  return cxm__seterr(ctx, CXM_E_STATE,
                     "%s needs the hash key: this handle was loaded from a "
                     "snapshot saved without it; call cxm_key_set first",
                     what);
}

int cxm__key_restore(cxm_ctx *ctx, const uint8_t key[CXM_KEY_SIZE]) {
  uint64_t k[2] = {0, 0};
  for (int i = 0; i < 8; i++) {
    k[0] |= (uint64_t)key[i] << (8 * i);
    k[1] |= (uint64_t)key[8 + i] << (8 * i);
  }
  if (cxm__key_fingerprint(k) != ctx->key_fp)
    return cxm__seterr(ctx, CXM_E_MISMATCH,
                       "key: its fingerprint differs from the snapshot's "
                       "(%016llx): not the key this state was built with",
                       (unsigned long long)ctx->key_fp);
  ctx->key[0] = k[0];
  ctx->key[1] = k[1];
  ctx->key_missing = 0;
  return CXM_OK;
}

void cxm__snapshot_free(cxm_ctx *ctx) {
  cxm__free(ctx, ctx->position, ctx->position_len);
  ctx->position = NULL;
  ctx->position_len = 0;
}

int cxm_key_fingerprint(cxm_ctx *ctx, uint64_t *out) {
  if (!ctx) return CXM_E_NULL;
  if (!out) return cxm__seterr(ctx, CXM_E_NULL, "out: NULL");
  *out = ctx->key_missing ? ctx->key_fp : cxm__key_fingerprint(ctx->key);
  return CXM_OK;
}

int cxm_key_known(cxm_ctx *ctx, int32_t *known) {
  if (!ctx) return CXM_E_NULL;
  if (!known) return cxm__seterr(ctx, CXM_E_NULL, "known: NULL");
  *known = ctx->key_missing ? 0 : 1;
  return CXM_OK;
}

int cxm_position_set(cxm_ctx *ctx, const void *data, size_t len) {
  if (!ctx) return CXM_E_NULL;
  if (!data && len) return cxm__seterr(ctx, CXM_E_NULL, "data: NULL");
  if (len > CXM_POSITION_MAX)
    return cxm__seterr(ctx, CXM_E_LIMIT, "len: a position is at most %d bytes, got %zu",
                       CXM_POSITION_MAX, len);
  uint8_t *p = NULL;
  if (len) {
    p = (uint8_t *)cxm__malloc(ctx, len);
    if (!p) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for a %zu-byte position", len);
    memcpy(p, data, len);
  }
  cxm__snapshot_free(ctx);
  ctx->position = p;
  ctx->position_len = len;
  return CXM_OK;
}

int cxm_position_get(cxm_ctx *ctx, const void **data, size_t *len) {
  if (!ctx) return CXM_E_NULL;
  if (!data || !len) return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", data ? "len" : "data");
  *data = ctx->position;
  *len = ctx->position_len;
  return CXM_OK;
}

void cxm_buffer_free(cxm_ctx *ctx, void *buf, size_t len) {
  if (!ctx || !buf) return;
  cxm__free(ctx, buf, len);
}

/* ---- the checksum ------------------------------------------------------- */

/* SipHash with a fixed, public key: a strong 64-bit check against accidental
   damage (not a signature: anyone can recompute it). */
uint64_t cxm__snap_checksum(const void *data, size_t len) {
  static const uint64_t ck[2] = {UINT64_C(0x6378736e61707368), UINT64_C(0x636865636b73756d)};
  return cxm__siphash13(ck, data, len);
}

/* ---- writing -------------------------------------------------------------- */

static size_t section_begin(cxm_wbuf *w, uint32_t tag) {
  cxm__w_u32(w, tag);
  size_t at = w->len;
  cxm__w_u64(w, 0); /* length, patched by section_end */
  return at;
}

static void patch_u64(cxm_wbuf *w, size_t at, uint64_t v) {
  if (w->err) return;
  for (int i = 0; i < 8; i++) w->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void section_end(cxm_wbuf *w, size_t at) {
  patch_u64(w, at, (uint64_t)(w->len - at - 8));
}

static void put_labels(cxm_wbuf *w, const cxm_labels *l) {
  cxm__w_u32(w, l->count);
  for (uint32_t i = 0; i < l->count; i++) {
    cxm__w_u8(w, l->len[i]);
    cxm__w_bytes(w, l->text + (size_t)i * CXM_LABEL_MAX, l->len[i]);
  }
}

static void put_le32(uint8_t *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_le32(const uint8_t *b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)b[i] << (8 * i);
  return v;
}
static uint64_t get_le64(const uint8_t *b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

/* One customer record as CXM_SNAP_REC bytes (docs/snapshot.md). */
static void rec_encode(const cxm_cust *c, uint8_t *b) {
  put_le64(b, c->hash);
  put_le64(b + 8, (uint64_t)c->net);
  const uint32_t u[10] = {c->segset, c->orders, c->interactions, c->last_time,
                          c->first_seen, c->first_purchase, c->last_purchase,
                          c->first_lead, c->first_interaction, c->last_nps_time};
  for (int i = 0; i < 10; i++) put_le32(b + 16 + 4 * i, u[i]);
  b[56] = c->ch_purchase;
  b[57] = c->ch_lead;
  b[58] = c->ch_interact;
  b[59] = c->flags;
  put_le32(b + 60, c->spare);
}

static void rec_decode(const uint8_t *b, cxm_cust *c) {
  c->hash = get_le64(b);
  c->net = (int64_t)get_le64(b + 8);
  uint32_t u[10];
  for (int i = 0; i < 10; i++) u[i] = get_le32(b + 16 + 4 * i);
  c->segset = u[0];
  c->orders = u[1];
  c->interactions = u[2];
  c->last_time = u[3];
  c->first_seen = u[4];
  c->first_purchase = u[5];
  c->last_purchase = u[6];
  c->first_lead = u[7];
  c->first_interaction = u[8];
  c->last_nps_time = u[9];
  c->ch_purchase = b[56];
  c->ch_lead = b[57];
  c->ch_interact = b[58];
  c->flags = b[59];
  c->spare = get_le32(b + 60);
}

/* A scope's day series: only days with a non-zero counter, each with a mask
   of its non-zero counters (a series can span decades of mostly empty days). */
static void put_series(cxm_wbuf *w, const cxm_series *s) {
  uint32_t nd = 0;
  for (uint32_t d = 0; s->cells && d < s->ndays; d++) {
    const int64_t *row = s->cells + (size_t)d * NEV;
    for (int k = 0; k < NEV; k++)
      if (row[k]) { nd++; break; }
  }
  cxm__w_u32(w, nd);
  for (uint32_t d = 0; nd && d < s->ndays; d++) {
    const int64_t *row = s->cells + (size_t)d * NEV;
    uint32_t mask = 0;
    for (int k = 0; k < NEV; k++)
      if (row[k]) mask |= 1u << k;
    if (!mask) continue;
    cxm__w_u32(w, (uint32_t)(s->day0 + (int32_t)d));
    cxm__w_u32(w, mask);
    for (int k = 0; k < NEV; k++)
      if (row[k]) cxm__w_i64(w, row[k]);
  }
}

static int series_empty(const cxm_series *s) {
  for (size_t i = 0; s->cells && i < (size_t)s->ndays * NEV; i++)
    if (s->cells[i]) return 0;
  return 1;
}

static int ccell_empty(const cxm_ccell *c) {
  for (int k = 0; k < NCC; k++)
    if (c->v[k]) return 0;
  return 1;
}

static void put_rows(cxm_wbuf *w, const cxm_ctx *ctx) {
  size_t at = w->len;
  cxm__w_u32(w, 0); /* entries, patched below */
  uint32_t n = 0;
  for (uint32_t r = 0; r <= ctx->segments.count; r++) {
    const cxm_row *row = ctx->rows[r];
    if (!row) continue;
    for (uint32_t c = 0; c <= ctx->channels.count; c++) {
      if (series_empty(&row->ev[c]) && ccell_empty(&row->cc[c])) continue;
      n++;
      cxm__w_u32(w, r);
      cxm__w_u32(w, c);
      put_series(w, &row->ev[c]);
      uint32_t mask = 0;
      for (int k = 0; k < NCC; k++)
        if (row->cc[c].v[k]) mask |= 1u << k;
      cxm__w_u32(w, mask);
      for (int k = 0; k < NCC; k++)
        if (row->cc[c].v[k]) cxm__w_i64(w, row->cc[c].v[k]);
    }
  }
  if (!w->err) put_le32(w->data + at, n);
}

static int snap_write(cxm_ctx *ctx, uint32_t flags, cxm_wbuf *w) {
  cxm__flush(ctx);
  const cxm_custtab *t = &ctx->customers;
  /* Most of a snapshot is the records: one allocation up front. */
  cxm__wbuf_reserve(w, (size_t)t->count * CXM_SNAP_REC + 65536);
  cxm__w_bytes(w, CXM_SNAP_MAGIC, 8);
  cxm__w_u32(w, CXM_SNAP_VERSION);
  cxm__w_u32(w, flags & CXM_SNAPSHOT_EMBED_KEY ? CXM_SNAPF_KEY : 0);
  size_t total_at = w->len;
  cxm__w_u64(w, 0);

  size_t at = section_begin(w, CXM_SEC_OPTS);
  cxm__w_u32(w, CXM_OPT_COUNT_ - 1);
  for (int o = 1; o < CXM_OPT_COUNT_; o++) {
    int64_t v = 0;
    cxm_option_get(ctx, o, &v);
    cxm__w_u32(w, (uint32_t)o);
    cxm__w_i64(w, v);
  }
  section_end(w, at);

  at = section_begin(w, CXM_SEC_KEY);
  cxm__w_u64(w, ctx->key_missing ? ctx->key_fp : cxm__key_fingerprint(ctx->key));
  if (flags & CXM_SNAPSHOT_EMBED_KEY) {
    cxm__w_u64(w, ctx->key[0]);
    cxm__w_u64(w, ctx->key[1]);
  }
  section_end(w, at);

  at = section_begin(w, CXM_SEC_STAT);
  cxm__w_i64(w, ctx->n_accepted);
  cxm__w_i64(w, ctx->n_rejected);
  cxm__w_i64(w, ctx->n_late);
  cxm__w_u32(w, ctx->first_time);
  cxm__w_u32(w, ctx->last_time);
  cxm__w_u8(w, ctx->started ? 1 : 0);
  for (int c = 0; c < CXM_GRID_COLS; c++) cxm__w_u32(w, ctx->spend_last[c]);
  section_end(w, at);

  at = section_begin(w, CXM_SEC_POSN);
  cxm__w_u32(w, (uint32_t)ctx->position_len);
  cxm__w_bytes(w, ctx->position, ctx->position_len);
  section_end(w, at);

  at = section_begin(w, CXM_SEC_LABL);
  put_labels(w, &ctx->channels);
  put_labels(w, &ctx->segments);
  section_end(w, at);

  at = section_begin(w, CXM_SEC_SETS);
  cxm__w_u32(w, ctx->segsets.count);
  for (uint32_t i = 1; i < ctx->segsets.count; i++) {
    const cxm_segset *ss = &ctx->segsets.sets[i];
    cxm__w_u8(w, (uint8_t)ss->n);
    for (uint32_t j = 0; j < ss->n; j++) cxm__w_u32(w, (uint32_t)ss->seg[j]);
  }
  section_end(w, at);

  at = section_begin(w, CXM_SEC_CUST);
  cxm__w_u32(w, t->count);
  for (uint32_t i = 0; i < t->count; i++) {
    uint8_t b[CXM_SNAP_REC];
    rec_encode(&t->recs[i], b);
    cxm__w_bytes(w, b, sizeof b);
  }
  section_end(w, at);

  at = section_begin(w, CXM_SEC_ROWS);
  put_rows(w, ctx);
  section_end(w, at);

  for (int m = 0; m < CXM_NMOD; m++) {
    if (!(ctx->opt[CXM_OPT_MODULES] & (1 << m))) continue;
    at = section_begin(w, CXM_SEC_MOD0 + (uint32_t)m);
    int rc = cxm__ext_save(ctx, m, w);
    if (rc && !w->err) w->err = rc;
    section_end(w, at);
  }

  patch_u64(w, total_at, (uint64_t)w->len + 8);
  if (!w->err) cxm__w_u64(w, cxm__snap_checksum(w->data, w->len));
  return w->err;
}

/* Serialises the whole state into w (allocated from the handle); on failure
   sets the handle's error and frees w. */
int cxm__snap_save(cxm_ctx *ctx, uint32_t flags, cxm_wbuf *w) {
  if (flags & ~(uint32_t)CXM_SNAPSHOT_EMBED_KEY)
    return cxm__seterr(ctx, CXM_E_ARG, "flags: unknown flag bits 0x%x",
                       (unsigned)(flags & ~(uint32_t)CXM_SNAPSHOT_EMBED_KEY));
  if ((flags & CXM_SNAPSHOT_EMBED_KEY) && ctx->key_missing)
    return cxm__seterr(ctx, CXM_E_STATE,
                       "flags: cannot embed the key of a handle loaded without it "
                       "(call cxm_key_set first)");
  cxm__wbuf_init(w, ctx);
  int rc = snap_write(ctx, flags, w);
  if (rc) {
    cxm__wbuf_free(w);
    return cxm__seterr(ctx, rc, "no memory for a snapshot of %u customers",
                       (unsigned)ctx->customers.count);
  }
  return CXM_OK;
}

int cxm_snapshot_save_buffer(cxm_ctx *ctx, uint32_t flags, void **out, size_t *len) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx); /* the save flushes staged cells ingest may be using */
  if (!out || !len) return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", out ? "len" : "out");
  cxm_wbuf w;
  int rc = cxm__snap_save(ctx, flags, &w);
  if (rc) return rc;
  /* The caller frees exactly len bytes: trim the growth slack. */
  uint8_t *p = (uint8_t *)cxm__realloc(ctx, w.data, w.cap, w.len);
  if (!p) {
    cxm__wbuf_free(&w);
    return cxm__seterr(ctx, CXM_E_NOMEM, "no memory to trim the snapshot buffer");
  }
  *out = p;
  *len = w.len;
  return CXM_OK;
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct loader {
  cxm_ctx *t;      /* the handle being filled (a temporary) */
  int rc;
  char msg[200];
} loader;

static int fail(loader *ld, int rc, const char *fmt, ...) CXM_PRINTF(3, 4);
static int fail(loader *ld, int rc, const char *fmt, ...) {
  if (ld->rc) return ld->rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ld->msg, sizeof ld->msg, fmt, ap);
  va_end(ap);
  ld->rc = rc;
  return rc;
}

/* Opens the next section, which must carry `tag`; sub reads its payload. */
static int section_open(loader *ld, cxm_rbuf *r, uint32_t tag, cxm_rbuf *sub) {
  uint32_t got = cxm__r_u32(r);
  uint64_t n = cxm__r_u64(r);
  if (r->err) return fail(ld, CXM_E_CORRUPT, "truncated before section %.4s", (const char *)&tag);
  if (got != tag)
    return fail(ld, CXM_E_CORRUPT, "section %u found where section %.4s belongs",
                (unsigned)got, (const char *)&tag);
  if (n > r->len - r->pos)
    return fail(ld, CXM_E_CORRUPT, "section %.4s runs past the end", (const char *)&tag);
  sub->p = r->p + r->pos;
  sub->len = (size_t)n;
  sub->pos = 0;
  sub->err = 0;
  r->pos += (size_t)n;
  return CXM_OK;
}

static int section_close(loader *ld, const cxm_rbuf *sub, uint32_t tag) {
  if (ld->rc) return ld->rc;
  if (sub->err) return fail(ld, CXM_E_CORRUPT, "section %.4s is truncated", (const char *)&tag);
  if (sub->pos != sub->len)
    return fail(ld, CXM_E_CORRUPT, "section %.4s has %zu stray bytes", (const char *)&tag,
                sub->len - sub->pos);
  return CXM_OK;
}

/* Maps a failed public call on the temporary handle to the load's status. */
static int from_call(loader *ld, int rc, const char *what) {
  if (rc == CXM_E_NOMEM) return fail(ld, rc, "no memory for the %s", what);
  return fail(ld, CXM_E_CORRUPT, "invalid %s: %s", what, cxm_ctx_errmsg(ld->t));
}

static int get_options(loader *ld, cxm_rbuf *r) {
  uint32_t n = cxm__r_u32(r);
  if (n > 4096) return fail(ld, CXM_E_CORRUPT, "%u options", (unsigned)n);
  for (uint32_t i = 0; i < n && !r->err; i++) {
    uint32_t o = cxm__r_u32(r);
    int64_t v = cxm__r_i64(r);
    if (r->err) break;
    if (o > INT32_MAX || cxm_option_bounds((int)o, NULL, NULL, NULL) != CXM_OK)
      return fail(ld, CXM_E_VERSION, "option %u is unknown to this library", (unsigned)o);
    int rc = cxm_option_set(ld->t, (int)o, v);
    if (rc) return from_call(ld, rc, "option");
  }
  return CXM_OK;
}

static int get_key(loader *ld, cxm_rbuf *r, int embedded, const cxm_ctx *dst) {
  cxm_ctx *t = ld->t;
  uint64_t fp = cxm__r_u64(r);
  if (embedded) {
    uint64_t k[2];
    k[0] = cxm__r_u64(r);
    k[1] = cxm__r_u64(r);
    if (r->err) return CXM_OK; /* reported by section_close */
    if (cxm__key_fingerprint(k) != fp)
      return fail(ld, CXM_E_CORRUPT, "the embedded key does not match its fingerprint");
    t->key[0] = k[0];
    t->key[1] = k[1];
    t->key_missing = 0;
  } else if (!dst->key_missing && cxm__key_fingerprint(dst->key) == fp) {
    /* The caller set the right key before loading. */
    t->key[0] = dst->key[0];
    t->key[1] = dst->key[1];
    t->key_missing = 0;
  } else {
    t->key[0] = t->key[1] = 0;
    t->key_missing = 1;
    t->key_fp = fp;
  }
  return CXM_OK;
}

static int get_stats(loader *ld, cxm_rbuf *r) {
  cxm_ctx *t = ld->t;
  t->n_accepted = cxm__r_i64(r);
  t->n_rejected = cxm__r_i64(r);
  t->n_late = cxm__r_i64(r);
  t->first_time = cxm__r_u32(r);
  t->last_time = cxm__r_u32(r);
  uint8_t started = cxm__r_u8(r);
  for (int c = 0; c < CXM_GRID_COLS; c++) t->spend_last[c] = cxm__r_u32(r);
  if (r->err) return CXM_OK;
  if (t->n_accepted < 0 || t->n_rejected < 0 || t->n_late < 0 || t->n_late > t->n_rejected ||
      started > 1 || t->first_time > t->last_time ||
      (uint64_t)t->last_time > (uint64_t)CXM_TIME_LAST)
    return fail(ld, CXM_E_CORRUPT, "invalid statistics");
  t->started = started;
  return CXM_OK;
}

static int get_position(loader *ld, cxm_rbuf *r) {
  uint32_t n = cxm__r_u32(r);
  if (r->err) return CXM_OK;
  if (n > CXM_POSITION_MAX || n > r->len - r->pos)
    return fail(ld, CXM_E_CORRUPT, "a %u-byte stream position", (unsigned)n);
  int rc = cxm_position_set(ld->t, r->p + r->pos, n);
  if (rc) return from_call(ld, rc, "stream position");
  r->pos += n;
  return CXM_OK;
}

static int get_labels(loader *ld, cxm_rbuf *r, int segments) {
  const char *what = segments ? "segment label" : "channel label";
  uint32_t n = cxm__r_u32(r);
  if (n > (segments ? CXM_SEGMENTS_MAX : CXM_CHANNELS_MAX))
    return fail(ld, CXM_E_CORRUPT, "%u %ss", (unsigned)n, what);
  for (uint32_t i = 0; i < n && !r->err; i++) {
    uint8_t len = cxm__r_u8(r);
    char text[256];
    cxm__r_bytes(r, text, len);
    if (r->err) break;
    int32_t id = -1;
    int rc = segments ? cxm_segment_intern(ld->t, text, len, &id)
                      : cxm_channel_intern(ld->t, text, len, &id);
    if (rc) return from_call(ld, rc, what);
    if ((uint32_t)id != i) return fail(ld, CXM_E_CORRUPT, "duplicate %s", what);
  }
  return CXM_OK;
}

static int get_segsets(loader *ld, cxm_rbuf *r) {
  uint32_t n = cxm__r_u32(r);
  if (r->err) return CXM_OK;
  if (n < 1 || n > CXM_SEGSETS_MAX || n - 1 > r->len - r->pos)
    return fail(ld, CXM_E_CORRUPT, "%u segment sets", (unsigned)n);
  int rc = cxm__segsets_reserve(ld->t, &ld->t->segsets, n - 1);
  if (rc) return fail(ld, rc, "no memory for %u segment sets", (unsigned)n);
  for (uint32_t i = 1; i < n && !r->err; i++) {
    uint8_t k = cxm__r_u8(r);
    int32_t seg[CXM_SEGMENTS_PER_CUSTOMER_MAX];
    if (k < 1 || k > CXM_SEGMENTS_PER_CUSTOMER_MAX)
      return fail(ld, CXM_E_CORRUPT, "segment set %u holds %u segments", (unsigned)i, (unsigned)k);
    for (uint32_t j = 0; j < k; j++) {
      seg[j] = (int32_t)cxm__r_u32(r);
      if (j && seg[j] <= seg[j - 1])
        return fail(ld, CXM_E_CORRUPT, "segment set %u is not sorted", (unsigned)i);
    }
    if (r->err) break;
    int32_t id = -1;
    rc = cxm_segset_intern(ld->t, seg, k, &id);
    if (rc) return from_call(ld, rc, "segment set");
    if ((uint32_t)id != i) return fail(ld, CXM_E_CORRUPT, "duplicate segment set %u", (unsigned)i);
  }
  return CXM_OK;
}

static int rec_valid(const cxm_ctx *t, const cxm_cust *c) {
  uint32_t nch = t->channels.count;
#define CH_OK(x) ((x) == CXM_CH_NONE || (uint32_t)(x) < nch)
  return c->segset < t->segsets.count && CH_OK(c->ch_purchase) && CH_OK(c->ch_lead) &&
         CH_OK(c->ch_interact) && (c->flags & ~(uint32_t)(CF_PURCHASE | CF_LEAD | CF_INTERACT |
                                                         CF_EVENT | CF_NPS_MASK)) == 0;
#undef CH_OK
}

static int get_customers(loader *ld, cxm_rbuf *r) {
  cxm_ctx *t = ld->t;
  uint32_t n = cxm__r_u32(r);
  if (r->err) return CXM_OK;
  if ((uint64_t)n * CXM_SNAP_REC > r->len - r->pos)
    return fail(ld, CXM_E_CORRUPT, "%u customer records in %zu bytes", (unsigned)n,
                r->len - r->pos);
  if (n) {
    int rc = cxm__custtab_reserve(t, &t->customers, n);
    if (rc == CXM_E_LIMIT) return fail(ld, CXM_E_CORRUPT, "%u customers", (unsigned)n);
    if (rc) return fail(ld, rc, "no memory for %u customers", (unsigned)n);
  }
  const uint8_t *b = r->p + r->pos;
  for (uint32_t i = 0; i < n; i++, b += CXM_SNAP_REC) {
    cxm_cust c;
    rec_decode(b, &c);
    if (!rec_valid(t, &c))
      return fail(ld, CXM_E_CORRUPT, "customer record %u is invalid", (unsigned)i);
    if (cxm__custtab_find(&t->customers, c.hash) >= 0)
      return fail(ld, CXM_E_CORRUPT, "customer record %u repeats a customer", (unsigned)i);
    uint32_t ri = cxm__custtab_insert(&t->customers, c.hash);
    t->customers.recs[ri] = c;
  }
  r->pos += (size_t)n * CXM_SNAP_REC;
  return CXM_OK;
}

static int get_series(loader *ld, cxm_rbuf *r, cxm_series *s) {
  uint32_t nd = cxm__r_u32(r);
  if (r->err) return CXM_OK;
  if ((uint64_t)nd * 12 > r->len - r->pos)
    return fail(ld, CXM_E_CORRUPT, "%u days in %zu bytes", (unsigned)nd, r->len - r->pos);
  int64_t prev = INT64_MIN;
  for (uint32_t i = 0; i < nd && !r->err; i++) {
    int32_t day = (int32_t)cxm__r_u32(r);
    uint32_t mask = cxm__r_u32(r);
    if (r->err) break;
    if (day < CXM_SNAP_DAY_MIN || day > CXM_SNAP_DAY_MAX || day <= prev ||
        mask == 0 || mask >= (1u << NEV))
      return fail(ld, CXM_E_CORRUPT, "invalid day row (day %d, mask 0x%x)", (int)day,
                  (unsigned)mask);
    prev = day;
    int rc = cxm__series_ensure(ld->t, s, day);
    if (rc) return fail(ld, rc, "no memory for a day series");
    int64_t *row = s->cells + (size_t)(day - s->day0) * NEV;
    for (int k = 0; k < NEV; k++)
      if (mask & (1u << k)) row[k] = cxm__r_i64(r);
  }
  return CXM_OK;
}

static int get_rows(loader *ld, cxm_rbuf *r) {
  cxm_ctx *t = ld->t;
  uint32_t n = cxm__r_u32(r);
  uint64_t prev = 0;
  for (uint32_t i = 0; i < n && !r->err && !ld->rc; i++) {
    uint32_t row = cxm__r_u32(r);
    uint32_t col = cxm__r_u32(r);
    if (r->err) break;
    uint64_t key = ((uint64_t)row << 32 | col) + 1;
    if (row > t->segments.count || col > t->channels.count || key <= prev)
      return fail(ld, CXM_E_CORRUPT, "invalid scope (row %u, column %u)", (unsigned)row,
                  (unsigned)col);
    prev = key;
    get_series(ld, r, &t->rows[row]->ev[col]);
    uint32_t mask = cxm__r_u32(r);
    if (mask >= (1u << NCC)) return fail(ld, CXM_E_CORRUPT, "invalid customer cell mask");
    for (int k = 0; k < NCC; k++)
      if (mask & (1u << k)) t->rows[row]->cc[col].v[k] = cxm__r_i64(r);
  }
  return ld->rc;
}

/* Which handle fields a load moves from the temporary into the caller's
   handle (everything that a snapshot restores, and nothing else: the
   allocator, the error message and any listener stay with the handle). */
#define SWAP(a, b, T) do { T tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)
static void transplant(cxm_ctx *a, cxm_ctx *b) {
  SWAP(a->mem_bytes, b->mem_bytes, int64_t);
  SWAP(a->key[0], b->key[0], uint64_t);
  SWAP(a->key[1], b->key[1], uint64_t);
  SWAP(a->started, b->started, int);
  SWAP(a->key_missing, b->key_missing, int);
  SWAP(a->key_fp, b->key_fp, uint64_t);
  SWAP(a->position, b->position, uint8_t *);
  SWAP(a->position_len, b->position_len, size_t);
  SWAP(a->utc_offset, b->utc_offset, int64_t);
  SWAP(a->decimals, b->decimals, int64_t);
  SWAP(a->max_lateness, b->max_lateness, int64_t);
  SWAP(a->money_scale, b->money_scale, double);
  SWAP(a->n_accepted, b->n_accepted, int64_t);
  SWAP(a->n_rejected, b->n_rejected, int64_t);
  SWAP(a->n_late, b->n_late, int64_t);
  SWAP(a->first_time, b->first_time, uint32_t);
  SWAP(a->last_time, b->last_time, uint32_t);
  SWAP(a->channels, b->channels, cxm_labels);
  SWAP(a->segments, b->segments, cxm_labels);
  SWAP(a->segsets, b->segsets, cxm_segsets);
  SWAP(a->customers, b->customers, cxm_custtab);
  for (int i = 0; i < CXM_GRID_ROWS; i++) SWAP(a->rows[i], b->rows[i], cxm_row *);
  SWAP(a->stage_ev, b->stage_ev, cxm_stage);
  SWAP(a->stage_cc, b->stage_cc, cxm_stage);
  for (int i = 0; i < CXM_GRID_COLS; i++) SWAP(a->spend_last[i], b->spend_last[i], uint32_t);
  for (int i = 0; i < CXM_OPT_COUNT_; i++) SWAP(a->opt[i], b->opt[i], int64_t);
  for (int i = 0; i < CXM_NMOD_; i++) SWAP(a->mod[i], b->mod[i], void *);
  /* the prefetch table points into the modules' arrays: it goes with them */
  for (int i = 0; i < CXM_NMOD_; i++) {
    SWAP(a->side[i], b->side[i], cxm_side);
    SWAP(a->side_on[i], b->side_on[i], cxm_side);
  }
  SWAP(a->n_side_on, b->n_side_on, int);
}
#undef SWAP

static int load_into(loader *ld, const uint8_t *p, size_t len, const cxm_ctx *dst) {
  if (len < CXM_SNAP_HEADER + 8) {
    if (len >= 8 && memcmp(p, CXM_SNAP_MAGIC, 8) != 0)
      return fail(ld, CXM_E_CORRUPT, "not a snapshot (bad magic number)");
    return fail(ld, CXM_E_CORRUPT, "truncated: %zu bytes, shorter than a header", len);
  }
  if (memcmp(p, CXM_SNAP_MAGIC, 8) != 0)
    return fail(ld, CXM_E_CORRUPT, "not a snapshot (bad magic number)");
  uint32_t version = get_le32(p + 8);
  uint32_t hflags = get_le32(p + 12);
  uint64_t total = get_le64(p + 16);
  if (version > CXM_SNAP_VERSION)
    return fail(ld, CXM_E_VERSION, "snapshot format version %u, this library reads up to %u",
                (unsigned)version, (unsigned)CXM_SNAP_VERSION);
  if (version == 0) return fail(ld, CXM_E_CORRUPT, "format version 0");
  if (total != len)
    return fail(ld, CXM_E_CORRUPT, "%s: %zu bytes, the header says %llu",
                total > len ? "truncated" : "trailing bytes", len, (unsigned long long)total);
  if (get_le64(p + len - 8) != cxm__snap_checksum(p, len - 8))
    return fail(ld, CXM_E_CORRUPT, "checksum mismatch: the data is damaged");
  if (hflags & ~(uint32_t)CXM_SNAPF_KEY)
    return fail(ld, CXM_E_CORRUPT, "unknown header flags 0x%x", (unsigned)hflags);

  cxm_rbuf r = {p, len - 8, CXM_SNAP_HEADER, 0};
  cxm_rbuf s;
  static const uint32_t tags[] = {CXM_SEC_OPTS, CXM_SEC_KEY, CXM_SEC_STAT, CXM_SEC_POSN,
                                  CXM_SEC_LABL, CXM_SEC_SETS, CXM_SEC_CUST, CXM_SEC_ROWS};
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
    if (section_open(ld, &r, tags[i], &s)) return ld->rc;
    switch (tags[i]) {
      case CXM_SEC_OPTS: get_options(ld, &s); break;
      case CXM_SEC_KEY: get_key(ld, &s, (hflags & CXM_SNAPF_KEY) != 0, dst); break;
      case CXM_SEC_STAT: get_stats(ld, &s); break;
      case CXM_SEC_POSN: get_position(ld, &s); break;
      case CXM_SEC_LABL: if (!get_labels(ld, &s, 0)) get_labels(ld, &s, 1); break;
      case CXM_SEC_SETS: get_segsets(ld, &s); break;
      case CXM_SEC_CUST: get_customers(ld, &s); break;
      case CXM_SEC_ROWS: get_rows(ld, &s); break;
      default: break;
    }
    if (section_close(ld, &s, tags[i])) return ld->rc;
  }
  if (ld->t->customers.count) ld->t->started = 1;
  for (int m = 0; m < CXM_NMOD; m++) {
    if (!(ld->t->opt[CXM_OPT_MODULES] & (1 << m))) continue;
    uint32_t tag = CXM_SEC_MOD0 + (uint32_t)m;
    if (section_open(ld, &r, tag, &s)) return ld->rc;
    int rc = cxm__ext_load(ld->t, m, &s);
    if (rc == CXM_E_NOMEM) return fail(ld, rc, "no memory for module %d's state", m);
    if (rc) return fail(ld, CXM_E_CORRUPT, "module %d's state is invalid", m);
    if (section_close(ld, &s, tag)) return ld->rc;
  }
  if (r.pos != r.len)
    return fail(ld, CXM_E_CORRUPT, "%zu bytes after the last section", r.len - r.pos);
  return CXM_OK;
}

static int is_empty(const cxm_ctx *ctx) {
  return !ctx->started && ctx->n_accepted == 0 && ctx->n_rejected == 0 &&
         ctx->channels.count == 0 && ctx->segments.count == 0 && ctx->segsets.count == 1 &&
         ctx->customers.count == 0 && !ctx->key_missing;
}

int cxm_snapshot_load_buffer(cxm_ctx *ctx, const void *data, size_t len) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!data && len) return cxm__seterr(ctx, CXM_E_NULL, "data: NULL");
  if (!is_empty(ctx))
    return cxm__seterr(ctx, CXM_E_STATE,
                       "a snapshot loads into a new, empty handle only");
  loader ld;
  memset(&ld, 0, sizeof ld);
  int rc = cxm_ctx_create_with_allocator(&ld.t, ctx->a_malloc, ctx->a_realloc, ctx->a_free,
                                         ctx->a_opaque);
  if (rc) return cxm__seterr(ctx, rc, "no memory for the loaded state");
  rc = load_into(&ld, (const uint8_t *)(data ? data : ""), len, ctx);
  if (rc == CXM_OK) transplant(ctx, ld.t);
  cxm_ctx_destroy(ld.t); /* the failed load, or ctx's former empty state */
  if (rc) return cxm__seterr(ctx, rc, "snapshot: %s", ld.msg);
  return CXM_OK;
}
