/*
 * amalgamation_include.c - vendoring by inclusion: this file #includes the
 * amalgamation (make amalgamation -> amalgamation/cxmetrics.c) with
 * CXM_API defined as `static`, so the whole library is file-local to this
 * translation unit. It checks that this compiles cleanly
 * (-std=c11 -Wall -Wextra -Werror -Wno-unused-function), that the program
 * defines no cxm_ symbol of its own (.ci/run checks with nm), and that the
 * inlined library computes KPIs as defined in docs/kpis.md.
 *
 *   gcc -std=c11 -Wall -Wextra -Werror -Wno-unused-function \
 *       -Iamalgamation tests/amalgamation_include.c -lm
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define CXM_API static
#include "cxmetrics.c"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                        \
    }                                                                    \
  } while (0)

int main(void) {
  cxm_ctx *ctx = NULL;
  int32_t web = -1;
  const int64_t t0 = 1767225600; /* 2026-01-01T00:00:00Z */
  const char *ids[] = {"a", "b", "c", "d"};
  const double scores[] = {10, 9, 7, 3}; /* 2 promoters, 1 passive, 1 detractor */
  double v = -1;
  int64_t n = -1;

  EXPECT(cxm_version_number() == CXM_VERSION_NUMBER);
  EXPECT(strcmp(cxm_strerror(CXM_OK), cxm_strerror(CXM_E_NOMEM)) != 0);
  EXPECT(cxm_ctx_create(&ctx) == CXM_OK);
  if (!ctx) return 1;
  EXPECT(cxm_channel_intern(ctx, "web", 3, &web) == CXM_OK);
  for (int i = 0; i < 4; i++)
    EXPECT(cxm_event_add(ctx, t0 + i, CXM_EV_NPS, ids[i], 1, web, scores[i],
                         NAN) == CXM_OK);
  /* Orders of 12.00 and 30.50 by "a": AOV = 42.50 / 2 = 21.25. */
  EXPECT(cxm_event_add(ctx, t0 + 10, CXM_EV_PURCHASE, "a", 1, web, 12.00,
                       NAN) == CXM_OK);
  EXPECT(cxm_event_add(ctx, t0 + 11, CXM_EV_PURCHASE, "a", 1, web, 30.50,
                       NAN) == CXM_OK);

  /* NPS = 100 * (promoters - detractors) / answers = 100 * (2 - 1) / 4. */
  EXPECT(cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, CXM_TIME_MIN,
                     CXM_TIME_MAX, &v, &n) == CXM_OK);
  EXPECT(n == 4 && fabs(v - 25.0) < 1e-9);
  EXPECT(cxm_kpi_get(ctx, CXM_KPI_AOV, CXM_ALL, web, CXM_TIME_MIN,
                     CXM_TIME_MAX, &v, &n) == CXM_OK);
  EXPECT(n == 2 && fabs(v - 21.25) < 1e-9);

  cxm_ctx_destroy(ctx);
  if (failures) {
    fprintf(stderr, "amalgamation_include: %d failure(s)\n", failures);
    return 1;
  }
  printf("amalgamation_include: NPS 25.0 over 4 answers, AOV 21.25 over 2 "
         "orders (library included with CXM_API=static): OK\n");
  return 0;
}
