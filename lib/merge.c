/*
 * merge.c - merging one handle's state into another (docs/snapshot.md).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "ext.h"

int cxm_ctx_merge(cxm_ctx *dst, cxm_ctx *src) {
  if (!dst) return CXM_E_NULL;
  if (!src) return cxm__seterr(dst, CXM_E_NULL, "src: NULL");
  return cxm__seterr(dst, CXM_E_UNSUPPORTED, "merge: not implemented yet");
}
