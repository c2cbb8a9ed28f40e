/*
 * rows.h - a module's view of its per-customer entries, which may share a
 * row per customer with other modules' (ext.h: cxm__siderows_reserve).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_ROWS_H
#define CXM_ROWS_H

#include <stddef.h>
#include <stdint.h>

/* Entry i at base + i * stride (stride >= the entry's size: the other
   modules' entries of the row follow), `cap` entries. */
typedef struct cxm_rows {
  uint8_t *base; /* NULL: none yet */
  size_t stride;
  uint32_t cap;
  struct cxm_rowblk *blk; /* ext.c: the block that holds them */
} cxm_rows;

#endif /* CXM_ROWS_H */
