/*
 * benchmark_out.h - `cxm report --benchmark KPI=VALUE`: benchmarks given on
 * the command line, set on the handle, and the "gap" of each KPI object.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_BENCHMARK_OUT_H
#define CXM_CLI_BENCHMARK_OUT_H

#include <stdio.h>

#include "cxmetrics.h"

/* Parses one --benchmark argument (KPI=VALUE, KPI a report key) and keeps
 * it. Returns 0, or -1 when it is malformed (no message printed). */
int bench_arg_add(const char *arg);

/* Sets the kept benchmarks on the handle as each KPI's default for every
 * scope. Returns 0, or -1 after printing a message. */
int bench_apply(cxm_ctx *ctx);

/* Writes `, "gap": X` (X = value - benchmark, null when the value is
 * undefined) when a benchmark was given for the KPI; nothing otherwise. */
void bench_json_gap(FILE *out, cxm_ctx *ctx, int kpi, int32_t seg, int32_t ch,
                    double value);

#endif /* CXM_CLI_BENCHMARK_OUT_H */
