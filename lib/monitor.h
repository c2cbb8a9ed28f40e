/*
 * monitor.h - the monitoring hooks that the core calls (monitor.c).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_MONITOR_H
#define CXM_MONITOR_H

#include "ext.h"

/* After an accepted customer event was counted (called by ext.c, whatever
   the module bits); fires the callbacks. Cannot fail. */
CXM_HIDDEN void cxm__monitor_on_event(cxm_ctx *ctx, uint32_t ri,
                                      const cxm_evview *ev);
/* Releases the monitoring state (handle destruction). */
CXM_HIDDEN void cxm__monitor_free(cxm_ctx *ctx);

#endif /* CXM_MONITOR_H */
