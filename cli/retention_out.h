/*
 * retention_out.h - the retention keys of `cxm report` and the `cxm cohorts`
 * command.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_RETENTION_OUT_H
#define CXM_CLI_RETENTION_OUT_H

#include <stdio.h>

#include "cxmetrics.h"

/* Writes the retention members of a scope's KPI object, each line
 * `,\n<indent>"key": {...}` (the caller ends the object). as_of: the
 * report's as-of time. Returns 0, or -1 after a message on stderr. */
int retention_json(FILE *out, cxm_ctx *ctx, int32_t seg, int32_t ch,
                   int64_t as_of, int indent);

/* The text report's retention table (all, each channel, each segment). */
int retention_text(FILE *out, cxm_ctx *ctx, int64_t as_of, int64_t utc_offset,
                   int decimals);

/* `cxm cohorts [--format text|json] ...`: argv without the command name. */
int cohorts_main(int argc, char **argv);
extern const char COHORTS_USAGE[];

#endif /* CXM_CLI_RETENTION_OUT_H */
