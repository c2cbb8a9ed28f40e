/*
 * benchmark_out.c - `cxm report --benchmark KPI=VALUE` (repeatable).
 *
 * The benchmarks are set on the handle with cxm_benchmark_set() as the
 * KPI's default (every scope), and the JSON report adds "gap" to that KPI's
 * object in every scope: the reported value minus the benchmark, so the gap
 * follows the report's window exactly as the value does.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "benchmark_out.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

#define BENCH_ARGS_MAX 64

/* The command's arguments, parsed before the handle exists (the process
 * runs one command). */
static struct {
  int kpi;
  double value;
} args[BENCH_ARGS_MAX];
static int nargs;

int bench_arg_add(const char *arg)
{
  if (!arg || nargs == BENCH_ARGS_MAX)
    return -1;
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1])
    return -1;
  int kpi;
  if (cxm_kpi_from_name(arg, (size_t)(eq - arg), &kpi) != CXM_OK)
    return -1;
  char *end;
  errno = 0;
  double v = strtod(eq + 1, &end);
  if (*end || errno || !isfinite(v))
    return -1;
  args[nargs].kpi = kpi;
  args[nargs].value = v;
  nargs++;
  return 0;
}

int bench_apply(cxm_ctx *ctx)
{
  for (int i = 0; i < nargs; i++) {
    if (cxm_benchmark_set(ctx, args[i].kpi, CXM_ALL, CXM_ALL, args[i].value) != CXM_OK) {
      fprintf(stderr, "cxm: --benchmark: %s\n", cxm_ctx_errmsg(ctx));
      return -1;
    }
  }
  return 0;
}

void bench_json_gap(FILE *out, cxm_ctx *ctx, int kpi, int32_t seg, int32_t ch,
                    double value)
{
  if (!nargs)
    return;
  double gap, bench;
  /* Only the benchmark that applies is read here; the gap uses the value
   * the report printed (its window). */
  if (cxm_benchmark_gap(ctx, kpi, seg, ch, CXM_TIME_MIN, CXM_TIME_MAX, &gap, NULL,
                        &bench, NULL) != CXM_OK)
    return;
  char buf[FMT_NUM_MAX];
  if (isnan(value))
    strcpy(buf, "null");
  else
    fmt_json_double(buf, value - bench);
  fprintf(out, ", \"gap\": %s", buf);
}
