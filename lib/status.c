/*
 * status.c - status codes, their descriptions and the handle's last error.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdio.h>

#include "internal.h"

/* One table gives every code its text; the enum in the header pins values. */
#define CXM_STATUS_MAP(X)                                              \
  X(CXM_OK, "success")                                                 \
  X(CXM_E_NOMEM, "out of memory")                                      \
  X(CXM_E_NULL, "a required pointer argument is NULL")                 \
  X(CXM_E_RANGE, "value out of range")                                 \
  X(CXM_E_TYPE, "unknown event type")                                  \
  X(CXM_E_PARSE, "malformed input")                                    \
  X(CXM_E_STATE, "not allowed in the handle's current state")          \
  X(CXM_E_LIMIT, "limit reached")                                      \
  X(CXM_E_LATE, "event older than the lateness bound")                 \
  X(CXM_E_NOTFOUND, "not found")                                       \
  X(CXM_E_IO, "input/output error")                                    \
  X(CXM_E_CORRUPT, "corrupt or truncated data")                        \
  X(CXM_E_VERSION, "data from an unsupported version")                 \
  X(CXM_E_MISMATCH, "incompatible handles or wrong key")               \
  X(CXM_E_UNSUPPORTED, "operation not supported here")                 \
  X(CXM_E_ARG, "invalid argument")                                     \
  X(CXM_E_MISSING, "required value missing")                          \
  X(CXM_E_NOSPACE, "no space left on the device")                     \
  X(CXM_E_ACCESS, "permission denied or read-only file system")        \
  X(CXM_E_SYNC, "flushing data to disk failed")

const char *cxm_strerror(int status) {
  switch (status) {
#define CXM_STATUS_CASE(code, text) \
  case code:                        \
    return text;
    CXM_STATUS_MAP(CXM_STATUS_CASE)
#undef CXM_STATUS_CASE
    default:
      return "unknown status code";
  }
}

int cxm__vseterr(cxm_ctx *ctx, int status, const char *fmt, va_list ap) {
  if (ctx) {
    int k = snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s: ",
                     cxm_strerror(status));
    if (k < 0) k = 0;
    if ((size_t)k < sizeof ctx->errmsg)
      vsnprintf(ctx->errmsg + k, sizeof ctx->errmsg - (size_t)k, fmt, ap);
    ctx->errcode = status;
  }
  return status;
}

int cxm__seterr(cxm_ctx *ctx, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cxm__vseterr(ctx, status, fmt, ap);
  va_end(ap);
  return status;
}

const char *cxm_ctx_errmsg(const cxm_ctx *ctx) {
  if (!ctx) return "no handle (NULL)";
  return ctx->errmsg;
}

int cxm_ctx_errcode(const cxm_ctx *ctx) {
  if (!ctx) return CXM_E_NULL;
  return ctx->errcode;
}
