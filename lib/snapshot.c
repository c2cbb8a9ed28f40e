/*
 * snapshot.c - a handle's whole state as bytes: save, load, stream position
 * and the key's fingerprint (format: docs/snapshot.md).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "ext.h"

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

int cxm_snapshot_save_buffer(cxm_ctx *ctx, uint32_t flags, void **out, size_t *len) {
  if (!ctx) return CXM_E_NULL;
  (void)flags; (void)out; (void)len;
  return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "snapshots: not implemented yet");
}

int cxm_snapshot_save_file(cxm_ctx *ctx, const char *path, uint32_t flags) {
  if (!ctx) return CXM_E_NULL;
  (void)path; (void)flags;
  return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "snapshots: not implemented yet");
}

int cxm_snapshot_load_buffer(cxm_ctx *ctx, const void *data, size_t len) {
  if (!ctx) return CXM_E_NULL;
  (void)data; (void)len;
  return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "snapshots: not implemented yet");
}

int cxm_snapshot_load_file(cxm_ctx *ctx, const char *path) {
  if (!ctx) return CXM_E_NULL;
  (void)path;
  return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "snapshots: not implemented yet");
}
