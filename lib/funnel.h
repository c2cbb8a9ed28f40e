/*
 * funnel.h - the funnel module's per-customer record and the no-change test
 * that both funnel.c and the per-event dispatch (ext.h) use: most events of
 * a known customer leave its funnel record as it is, and the dispatch tells
 * so without calling the module.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_FUNNEL_H
#define CXM_FUNNEL_H

#include <string.h>

#include "internal.h"

/* A customer's record, 10 bytes packed (one cache line for one customer:
   an event reads one record, not four arrays): t_first (4), t_high (4),
   stage (1: 0 none, 1..4), chan (1: of the first stage, CXM_CH_NONE). The
   records (record i at base + i * stride: a row shared with the other
   modules, ext.h: cxm__siderows_reserve) cover every customer from its
   first event, snapshot load or merge on. */
#define CXM_FUNNEL_REC 10

/* The stage an event reaches by itself: 0 none, 1 awareness, 2 engagement,
   3 a purchase (transaction, or retention for a second purchase); 2 bits
   per event type (1..14), a session by its pageviews (v1). */
#define CXM__FST(type, k) ((uint32_t)(k) << (2 * (type)))
#define CXM__FSTAGES                                                                 \
  (CXM__FST(CXM_EV_TOUCH, 1) | CXM__FST(CXM_EV_MESSAGE_OPEN, 1) |                    \
   CXM__FST(CXM_EV_SESSION, 1) | CXM__FST(CXM_EV_ENGAGE, 2) |                        \
   CXM__FST(CXM_EV_MESSAGE_CLICK, 2) | CXM__FST(CXM_EV_LEAD, 2) |                    \
   CXM__FST(CXM_EV_PURCHASE, 3))
typedef char cxm__fstages_fit[CXM_EV_CHURN < 16 ? 1 : -1];

static inline int cxm__funnel_ev_stage(int32_t type, double v1) {
  if (type == CXM_EV_SESSION) return v1 >= 2.0 ? 2 : 1;
  return (int)((CXM__FSTAGES >> (2 * ((uint32_t)type & 15u))) & 3u);
}

/* An event of stage k (> 0) at time t leaves a customer with a stage as it
   is: the common case, decided from the record p alone (funnel.c's plan()
   agrees). Not earlier than the journey's start, and either below the
   highest stage or at it (not a purchase: that may be the second) and not
   earlier than it. */
static inline int cxm__funnel_unchanged(const uint8_t *p, int k, uint32_t t) {
  uint8_t h = p[8];
  uint32_t t_first, t_high;
  memcpy(&t_first, p, 4);
  memcpy(&t_high, p + 4, 4);
  return h && t >= t_first && (k < h || (k == h && k != 3 && t >= t_high));
}

#endif /* CXM_FUNNEL_H */
