/*
 * attribution.h - the attribution module's per-customer touch ring, shared
 * by attribution.c and the per-event dispatch (ext.h): a touch newer than
 * every kept one, most touches, is kept inline there without a call.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_ATTRIBUTION_H
#define CXM_ATTRIBUTION_H

#include <string.h>

#include "internal.h"
#include "rows.h"

/* The start of the module's state (attribution.c). A customer's record:
   rec[0] the header, rec + 1 the K channels, rec + 1 + K the K times
   (32-bit, unaligned). The touches are a ring in time order: a header
   below CXM_ATTR_FULL is the count (touches at slots 0 .. count - 1);
   CXM_ATTR_FULL | h means K touches, the oldest at slot h. Either way the
   header's low bits are the slot the next newest touch takes, and the
   newest kept touch is in the slot before it. K <= 32 fits beside the
   flag. The records (a row shared with the other modules: ext.h) cover
   every customer from its first event, snapshot load or merge on. */
typedef struct cxm_attr_ring {
  uint32_t k;       /* touches kept per customer */
  size_t rs;        /* record size, 5k + 1 */
  cxm_rows rows;    /* the records (rows.stride >= rs: rows shared, ext.h) */
} cxm_attr_ring;
#define CXM_ATTR_FULL 0x40u

/* Keeps a touch at time t on channel ch in record r when it is not older
   than the newest kept touch (over the oldest when the ring is full);
   returns 0, changing nothing, when it is older (a late touch goes into
   the middle: attribution.c). */
static inline int cxm__attr_keep_newest(const cxm_attr_ring *a, uint8_t *r, uint32_t t,
                                        uint8_t ch) {
  uint32_t k = a->k, hdr = r[0], next = hdr & (CXM_ATTR_FULL - 1);
  uint8_t *times = r + 1 + k;
  if (hdr) {
    uint32_t newest;
    memcpy(&newest, times + 4 * (size_t)((next ? next : k) - 1), 4);
    if (newest > t) return 0;
  }
  memcpy(times + 4 * (size_t)next, &t, 4);
  r[1 + next] = ch;
  next++;
  r[0] = (uint8_t)(next == k ? CXM_ATTR_FULL : (hdr & CXM_ATTR_FULL) | next);
  return 1;
}

#endif /* CXM_ATTRIBUTION_H */
