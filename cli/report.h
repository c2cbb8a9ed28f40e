/*
 * report.h - the KPI report of `cxm report` (text and JSON).
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_REPORT_H
#define CXM_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "cxmetrics.h"

enum report_format { REPORT_TEXT = 0, REPORT_JSON = 1 };

enum report_window { WINDOW_NONE = 0, WINDOW_RANGE = 1, WINDOW_TRAILING = 2 };

/* What the report needs besides the handle. */
typedef struct report_params {
  int format;              /* enum report_format */
  int window;              /* enum report_window */
  int64_t from, to;        /* window as given (CXM_TIME_MIN/MAX if open) */
  int32_t trailing_days;   /* WINDOW_TRAILING */
  int64_t as_of;           /* WINDOW_TRAILING */
  int decimals;            /* the handle's CXM_OPT_DECIMALS */
  int64_t utc_offset;      /* the handle's CXM_OPT_UTC_OFFSET */
  int64_t max_lateness;    /* the handle's CXM_OPT_MAX_LATENESS */
  uint64_t lines, accepted, rejected; /* CSV totals over all files */
  int nfiles;
  char **files;
  const char *snapshot;    /* `--snapshot`: the input, else NULL */
  int bucket;              /* `--bucket`: enum bucket_kind, 0 = no series */
} report_params;

/* Write the report to `out`. Returns 0, or -1 after printing a message to
 * stderr when a query fails (which means a bug: the handle answers every
 * query this command asks). */
int report_write(cxm_ctx *ctx, const report_params *p, FILE *out);

#endif /* CXM_CLI_REPORT_H */
