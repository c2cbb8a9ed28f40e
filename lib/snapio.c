/*
 * snapio.c - growable little-endian byte buffers for snapshots and merges.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "ext.h"

void cxm__wbuf_init(cxm_wbuf *w, cxm_ctx *ctx) {
  memset(w, 0, sizeof *w);
  w->ctx = ctx;
}

void cxm__wbuf_free(cxm_wbuf *w) {
  if (w->data) cxm__free(w->ctx, w->data, w->cap);
  w->data = NULL;
  w->len = w->cap = 0;
}

/* Grows the buffer so that n more bytes fit (sets err on failure). */
void cxm__wbuf_reserve(cxm_wbuf *w, size_t n) {
  if (w->err || n <= w->cap - w->len) return;
  size_t ncap = w->cap ? w->cap : 4096;
  while (ncap - w->len < n) {
    if (ncap > SIZE_MAX / 2) { w->err = CXM_E_NOMEM; return; }
    ncap *= 2;
  }
  uint8_t *nd = (uint8_t *)cxm__realloc(w->ctx, w->data, w->cap, ncap);
  if (!nd) { w->err = CXM_E_NOMEM; return; }
  w->data = nd;
  w->cap = ncap;
}

void cxm__w_bytes(cxm_wbuf *w, const void *p, size_t n) {
  if (w->err || n == 0) return;
  if (n > w->cap - w->len) {
    cxm__wbuf_reserve(w, n);
    if (w->err) return;
  }
  memcpy(w->data + w->len, p, n);
  w->len += n;
}

void cxm__w_u8(cxm_wbuf *w, uint8_t v) { cxm__w_bytes(w, &v, 1); }

void cxm__w_u32(cxm_wbuf *w, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
  cxm__w_bytes(w, b, 4);
}

void cxm__w_u64(cxm_wbuf *w, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  cxm__w_bytes(w, b, 8);
}

void cxm__w_i64(cxm_wbuf *w, int64_t v) { cxm__w_u64(w, (uint64_t)v); }

void cxm__r_bytes(cxm_rbuf *r, void *dst, size_t n) {
  if (r->err || n > r->len - r->pos) {
    r->err = 1;
    if (n) memset(dst, 0, n);
    return;
  }
  if (n) memcpy(dst, r->p + r->pos, n);
  r->pos += n;
}

uint8_t cxm__r_u8(cxm_rbuf *r) {
  uint8_t v;
  cxm__r_bytes(r, &v, 1);
  return v;
}

uint32_t cxm__r_u32(cxm_rbuf *r) {
  uint8_t b[4];
  cxm__r_bytes(r, b, 4);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)b[i] << (8 * i);
  return v;
}

uint64_t cxm__r_u64(cxm_rbuf *r) {
  uint8_t b[8];
  cxm__r_bytes(r, b, 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

int64_t cxm__r_i64(cxm_rbuf *r) { return (int64_t)cxm__r_u64(r); }
