/*
 * retention.c - the retention module (a stub: keeps no state yet; see ext.h).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "ext.h"

int cxm__retention_prepare(cxm_ctx *ctx, const cxm_evview *ev, int64_t found,
                     uint32_t set) {
  (void)ctx; (void)ev; (void)found; (void)set;
  return CXM_OK;
}
void cxm__retention_on_segset(cxm_ctx *ctx, uint32_t ri, uint32_t old_set,
                        uint32_t new_set) {
  (void)ctx; (void)ri; (void)old_set; (void)new_set;
}
void cxm__retention_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  (void)ctx; (void)ri; (void)ev;
}
int cxm__retention_save(const cxm_ctx *ctx, cxm_wbuf *w) {
  (void)ctx; (void)w;
  return CXM_OK;
}
int cxm__retention_load(cxm_ctx *ctx, cxm_rbuf *r) {
  (void)ctx; (void)r;
  return CXM_OK;
}
int cxm__retention_merge_reserve(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  (void)dst; (void)src; (void)map;
  return CXM_OK;
}
void cxm__retention_merge_apply(cxm_ctx *dst, const cxm_ctx *src, const cxm_remap *map) {
  (void)dst; (void)src; (void)map;
}
void cxm__retention_erase(cxm_ctx *ctx, uint32_t ri) { (void)ctx; (void)ri; }
void cxm__retention_move(cxm_ctx *ctx, uint32_t from, uint32_t to) {
  (void)ctx; (void)from; (void)to;
}
void cxm__retention_free(cxm_ctx *ctx) { (void)ctx; }
