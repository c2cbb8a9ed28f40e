/*
 * columns.c - the batch fast path: events given as column arrays (as NumPy
 * or Arrow hold them), customer ids as one byte buffer plus offsets, and a
 * segment-set column that places customers in segments.
 *
 *   cc columns.c $(pkg-config --cflags --libs cxmetrics) -o columns
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <stdio.h>

#include <cxmetrics.h>

#define N 6

int main(void)
{
  cxm_ctx *ctx = NULL;
  int32_t web, app, gold, sets_gold, rc;
  size_t accepted = 0;
  int32_t statuses[N];
  int64_t revenue_cents = 0, n = 0;
  double bounce = NAN;

  if (cxm_ctx_create(&ctx) != CXM_OK)
    return 1;
  if (cxm_channel_intern(ctx, "web", 3, &web) != CXM_OK ||
      cxm_channel_intern(ctx, "app", 3, &app) != CXM_OK ||
      cxm_segment_intern(ctx, "tier=gold", 9, &gold) != CXM_OK ||
      cxm_segset_intern(ctx, &gold, 1, &sets_gold) != CXM_OK)
    goto fail;

  /* Customers "c1" (gold from its first event on) and "c22". */
  const uint8_t ids[] = "c1c22c1c22c1c1";
  const int64_t offsets[N + 1] = {0, 2, 5, 7, 10, 12, 14};
  const int64_t times[N] = {1767258000, 1767261600, 1767265200,
                            1767268800, 1767272400, 1767276000};
  const int32_t types[N] = {CXM_EV_SESSION, CXM_EV_SESSION, CXM_EV_PURCHASE,
                            CXM_EV_PURCHASE, CXM_EV_REFUND, CXM_EV_NPS};
  const int32_t channels[N] = {web, app, web, app, web, CXM_NO_CHANNEL};
  /* session: (pageviews, seconds); purchase/refund: amount; nps: score */
  const double values[N] = {1, 7, 19.99, 5.01, 4.99, 12 /* out of range */};
  const double values2[N] = {5, 300, NAN, NAN, NAN, NAN};
  const int32_t segsets[N] = {sets_gold, -1, -1, -1, -1, -1};

  rc = cxm_events_add(ctx, N, times, types, ids, offsets, channels, values,
                      values2, segsets, &accepted, statuses);
  /* The NPS score 12 is rejected (CXM_E_RANGE); the other five are kept. */
  printf("batch: %zu of %d accepted; first rejection: %s\n", accepted, N,
         rc == CXM_OK ? "none" : cxm_ctx_errmsg(ctx));
  for (int i = 0; i < N; i++)
    if (statuses[i] != CXM_OK)
      printf("  event %d: %s\n", i, cxm_strerror(statuses[i]));

  /* Exact money: net revenue in minor units (cents by default). */
  if (cxm_kpi_get_int(ctx, CXM_KPI_NET_REVENUE, CXM_ALL, CXM_ALL,
                      CXM_TIME_MIN, CXM_TIME_MAX, &revenue_cents, &n) != CXM_OK)
    goto fail;
  printf("net revenue: %lld cents from %lld events\n",
         (long long)revenue_cents, (long long)n);
  /* Bounce rate of the gold segment: its one session had 1 pageview. */
  if (cxm_kpi_get(ctx, CXM_KPI_BOUNCE_RATE, gold, CXM_ALL, CXM_TIME_MIN,
                  CXM_TIME_MAX, &bounce, &n) != CXM_OK)
    goto fail;
  printf("tier=gold bounce rate: %.2f over %lld sessions\n", bounce,
         (long long)n);

  cxm_ctx_destroy(ctx);
  /* 19.99 + 5.01 - 4.99 = 20.01 */
  return (accepted == 5 && revenue_cents == 2001 && bounce == 1.0) ? 0 : 1;
fail:
  fprintf(stderr, "columns: %s\n", cxm_ctx_errmsg(ctx));
  cxm_ctx_destroy(ctx);
  return 1;
}
