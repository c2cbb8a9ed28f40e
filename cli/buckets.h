/*
 * buckets.h - calendar buckets (days, ISO weeks, months) in the handle's UTC
 * offset, and the per-bucket series of event-level KPIs of `cxm report
 * --bucket` and `cxm dashboard`.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_BUCKETS_H
#define CXM_CLI_BUCKETS_H

#include <stdint.h>
#include <stdio.h>

#include "cxmetrics.h"

enum bucket_kind { BUCKET_NONE = 0, BUCKET_DAY, BUCKET_WEEK, BUCKET_MONTH };

/* Parses "day", "week" or "month"; -1 otherwise. */
int bucket_parse(const char *text);
const char *bucket_name(int kind);

/* Buckets covering the days of [first, last] (times; inclusive), at most
   `max` of them (the latest kept). Fills starts[0..n] (n + 1 bucket bounds,
   as times) and returns n, or -1 if `starts` is too small. */
int buckets_make(cxm_ctx *ctx, int kind, int64_t first, int64_t last,
                 int64_t *starts, int max);

/* The label of the bucket starting at time t: "2026-03-01" (day and month
   use "2026-03"), ISO week "2026-W09". */
void bucket_label(char buf[32], int kind, int64_t t, int64_t utc_offset);

/* The 95% Wilson score interval of a proportion p of n trials, in the same
   unit as p (0..1 or percent if scale = 100). */
void wilson95(double p, int64_t n, double scale, double *lo, double *hi);

/* Writes `"series": {...}` (no trailing comma): for each bucket the
   event-level KPIs of the "all" scope, with NPS's moe95 and CSAT's Wilson
   interval. Returns 0 or -1 after a message on stderr. */
int series_json(FILE *out, cxm_ctx *ctx, int kind, int64_t first, int64_t last,
                int decimals, int64_t utc_offset);

/* A compact text table of the same series. */
int series_text(FILE *out, cxm_ctx *ctx, int kind, int64_t first, int64_t last,
                int decimals, int64_t utc_offset);

#endif
