/*
 * journey_out.h - the "funnel" and "attribution" objects of `cxm report`.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_JOURNEY_OUT_H
#define CXM_CLI_JOURNEY_OUT_H

#include <stdio.h>

#include "cxmetrics.h"

/* Writes `,\n  "funnel": {...},\n  "attribution": {...}` (members of the
 * report's top-level object; null for a module that is off). Returns 0, or
 * -1 after a message on stderr. */
int journey_json(FILE *out, cxm_ctx *ctx);

/* The text report's funnel and attribution tables. Returns 0 or -1. */
int journey_text(FILE *out, cxm_ctx *ctx, int decimals);

#endif /* CXM_CLI_JOURNEY_OUT_H */
