/*
 * csv_report.c - feed a canonical CSV event stream to the library and print
 * revenue, orders and bounce rate per channel.
 *
 *   cc csv_report.c $(pkg-config --cflags --libs cxmetrics) -o csv_report
 *   ./csv_report examples/data/sample-events.csv   (or no argument: a
 *                                                    small built-in stream)
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdio.h>
#include <string.h>

#include <cxmetrics.h>

static const char BUILTIN[] =
  "time,customer,type,channel,value,value2,segments,text\n"
  "2026-01-05T10:00:00Z,ann@example.com,session,web,1,4,tier=gold,\n"
  "2026-01-05T10:05:00Z,ann@example.com,purchase,web,42.50,,,\n"
  "2026-01-06T09:00:00+07:00,bob@example.com,session,app,6,95,,\n"
  "2026-01-06T09:10:00+07:00,bob@example.com,purchase,app,18.25,,,\n"
  "2026-01-07,bob@example.com,nps,email,9,,,\"Quick, friendly\"\n"
  "2026-01-07,,spend,web,30.00,,,\n"
  "not-a-time,bob@example.com,touch,web,,,,\n";

/* Print each rejected line with its number and reason; the stream goes on. */
static void on_error(void *user, uint64_t line, int status, const char *msg)
{
  (void)status;
  fprintf(stderr, "%s:%llu: %s\n", (const char *)user,
          (unsigned long long)line, msg);
}

int main(int argc, char **argv)
{
  cxm_ctx *ctx = NULL;
  cxm_csv *csv = NULL;
  const char *name = argc > 1 ? argv[1] : "<built-in>";
  uint64_t lines = 0, accepted = 0, rejected = 0;
  int32_t nch = 0;
  int rc;

  if ((rc = cxm_ctx_create(&ctx)) != CXM_OK ||
      (rc = cxm_csv_create(ctx, &csv)) != CXM_OK)
    goto fail;
  cxm_csv_set_error_handler(csv, on_error, (void *)name);
  if (argc > 1)
    rc = cxm_csv_feed_file(csv, argv[1]); /* "-" reads standard input */
  else if ((rc = cxm_csv_feed(csv, BUILTIN, strlen(BUILTIN))) == CXM_OK)
    rc = cxm_csv_finish(csv);
  if (rc != CXM_OK)
    goto fail;
  cxm_csv_stats(csv, &lines, &accepted, &rejected);
  cxm_csv_destroy(csv); /* before the handle */
  csv = NULL;
  printf("%llu lines: %llu accepted, %llu rejected\n",
         (unsigned long long)lines, (unsigned long long)accepted,
         (unsigned long long)rejected);

  printf("%-12s %12s %8s %8s\n", "channel", "revenue", "orders", "bounce");
  cxm_channel_count(ctx, &nch);
  for (int32_t c = 0; c < nch; c++) {
    const char *label;
    size_t len;
    double revenue, bounce;
    int64_t orders, sessions;
    cxm_channel_label(ctx, c, &label, &len); /* not NUL-terminated */
    if ((rc = cxm_kpi_get(ctx, CXM_KPI_REVENUE, CXM_ALL, c, CXM_TIME_MIN,
                          CXM_TIME_MAX, &revenue, &orders)) != CXM_OK ||
        (rc = cxm_kpi_get(ctx, CXM_KPI_BOUNCE_RATE, CXM_ALL, c, CXM_TIME_MIN,
                          CXM_TIME_MAX, &bounce, &sessions)) != CXM_OK)
      goto fail;
    printf("%-12.*s %12.2f %8lld ", (int)len, label, revenue,
           (long long)orders);
    if (sessions > 0) /* bounce is NaN (undefined) without sessions */
      printf("%7.1f%%\n", 100.0 * bounce);
    else
      printf("%8s\n", "-");
  }
  cxm_ctx_destroy(ctx);
  return 0;
fail:
  fprintf(stderr, "csv_report: %s: %s\n", cxm_strerror(rc),
          cxm_ctx_errmsg(ctx));
  cxm_csv_destroy(csv);
  cxm_ctx_destroy(ctx);
  return 1;
}
