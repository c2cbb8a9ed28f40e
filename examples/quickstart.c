/*
 * quickstart.c - the smallest complete use of libcxmetrics: create a handle,
 * add a few events one at a time, read NPS and AOV, destroy the handle.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs cxmetrics) -o quickstart
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cxmetrics.h>

/* Stop on the first failure, with the library's message. */
#define CHECK(call)                                                        \
  do {                                                                     \
    int rc_ = (call);                                                      \
    if (rc_ != CXM_OK) {                                                   \
      fprintf(stderr, "%s failed: %s (%s)\n", #call, cxm_strerror(rc_),   \
              cxm_ctx_errmsg(ctx));                                        \
      cxm_ctx_destroy(ctx);                                                \
      return 1;                                                            \
    }                                                                      \
  } while (0)

int main(void)
{
  cxm_ctx *ctx = NULL;
  int32_t web, email;
  const int64_t day = 86400, t0 = 1767225600; /* 2026-01-01T00:00:00Z */
  const char *ann = "ann@example.com", *bob = "bob@example.com";
  double nps, aov;
  int64_t answers, orders;

  CHECK(cxm_ctx_create(&ctx));
  CHECK(cxm_channel_intern(ctx, "web", 3, &web));
  CHECK(cxm_channel_intern(ctx, "email", 5, &email));

  /* Two orders and one survey answer each; NAN marks an absent number. */
  CHECK(cxm_event_add(ctx, t0, CXM_EV_PURCHASE, ann, strlen(ann), web,
                      40.00, NAN));
  CHECK(cxm_event_add(ctx, t0 + day, CXM_EV_PURCHASE, bob, strlen(bob), web,
                      25.50, NAN));
  CHECK(cxm_event_add(ctx, t0 + 2 * day, CXM_EV_NPS, ann, strlen(ann), email,
                      10, NAN));
  CHECK(cxm_event_add(ctx, t0 + 2 * day, CXM_EV_NPS, bob, strlen(bob), email,
                      5, NAN));

  /* All events, all time: segment and channel CXM_ALL, unbounded window. */
  CHECK(cxm_kpi_get(ctx, CXM_KPI_NPS, CXM_ALL, CXM_ALL, CXM_TIME_MIN,
                    CXM_TIME_MAX, &nps, &answers));
  CHECK(cxm_kpi_get(ctx, CXM_KPI_AOV, CXM_ALL, CXM_ALL, CXM_TIME_MIN,
                    CXM_TIME_MAX, &aov, &orders));

  /* One promoter (10), one detractor (5): NPS = 100 * (1 - 1) / 2 = 0.
   * AOV = (40.00 + 25.50) / 2 = 32.75. */
  printf("libcxmetrics %s\n", cxm_version_string());
  printf("NPS %.1f over %lld answers\n", nps, (long long)answers);
  printf("AOV %.2f over %lld orders\n", aov, (long long)orders);

  cxm_ctx_destroy(ctx);
  return (nps == 0.0 && answers == 2 && aov > 32.7499 && aov < 32.7501) ? 0 : 1;
}
