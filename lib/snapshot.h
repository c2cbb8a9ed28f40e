/*
 * snapshot.h - the snapshot format's constants (docs/snapshot.md) and the
 * helpers shared by snapshot.c (bytes) and snapfile.c (files).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_SNAPSHOT_H
#define CXM_SNAPSHOT_H

#include "ext.h"

/* 0x89 keeps the file from passing as text; the line end catches
   newline translation. */
#define CXM_SNAP_MAGIC "\x89" "CXMSNP\n"
#define CXM_SNAP_VERSION 1u
#define CXM_SNAP_HEADER 24 /* magic 8, version 4, flags 4, total length 8 */
#define CXM_SNAPF_KEY 1u   /* header flag: the KEY section holds the key */
#define CXM_SNAP_REC 64    /* bytes per customer record */

/* Day numbers an accepted event can have (times 1970..2105, offsets
   +-14 h), with a day of margin. */
#define CXM_SNAP_DAY_MIN (-2)
#define CXM_SNAP_DAY_MAX 49675

#define CXM_FOURCC(a, b, c, d) \
  ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define CXM_SEC_OPTS CXM_FOURCC('O', 'P', 'T', 'S')
#define CXM_SEC_KEY CXM_FOURCC('K', 'E', 'Y', ' ')
#define CXM_SEC_STAT CXM_FOURCC('S', 'T', 'A', 'T')
#define CXM_SEC_POSN CXM_FOURCC('P', 'O', 'S', 'N')
#define CXM_SEC_LABL CXM_FOURCC('L', 'A', 'B', 'L')
#define CXM_SEC_SETS CXM_FOURCC('S', 'E', 'T', 'S')
#define CXM_SEC_CUST CXM_FOURCC('C', 'U', 'S', 'T')
#define CXM_SEC_ROWS CXM_FOURCC('R', 'O', 'W', 'S')
#define CXM_SEC_MOD0 CXM_FOURCC('M', 'O', 'D', '0') /* + module index */

CXM_HIDDEN uint64_t cxm__snap_checksum(const void *data, size_t len);
/* The whole state as snapshot bytes in w; on failure w is freed and the
   handle's error set. */
CXM_HIDDEN int cxm__snap_save(cxm_ctx *ctx, uint32_t flags, cxm_wbuf *w);

#endif /* CXM_SNAPSHOT_H */
