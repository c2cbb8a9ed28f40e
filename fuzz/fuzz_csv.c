/*
 * fuzz/fuzz_csv.c - libFuzzer harness for the CSV reader.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Input layout: byte 0 picks the handle's options (UTC offset, decimals,
 * lateness) and the chunking mode, bytes 1..2 seed the split positions;
 * the rest is the CSV stream. Seeds made by fuzz/make_corpus.sh start with
 * three bytes of this prefix.
 *
 * The stream is fed to reader A in chunks at positions derived from the
 * input and to reader B (another handle, same options) in one piece. After
 * cxm_csv_finish():
 *   - lines == accepted + rejected, on both readers, and the error handler
 *     ran once per rejected line with increasing line numbers;
 *   - the handle's accepted/rejected statistics match the reader's;
 *   - every KPI is within its range (counts >= 0, NPS in -100..100, CSAT
 *     0..100, rates in [0,1], ratios NaN when their denominator is 0);
 *   - A and B hold the same state (the split does not matter).
 * Every few inputs the stream is fed a second time to A after finish (the
 * reader takes a new stream) and the counters must add up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"
#include "fuzz_common.h"

typedef struct {
  uint64_t calls;
  uint64_t last_line;
} errcount;

static void on_error(void *user, uint64_t line, int status, const char *message) {
  errcount *e = user;
  FZ_CHECK(status != CXM_OK, "error handler called with CXM_OK");
  FZ_CHECK(message != NULL && message[0] != '\0', "error handler without a message");
  FZ_CHECK(line >= 1, "error handler: line 0");
  FZ_CHECK(line > e->last_line, "error handler: line %llu after %llu",
           (unsigned long long)line, (unsigned long long)e->last_line);
  (void)strlen(message);
  e->last_line = line;
  e->calls++;
}

static cxm_ctx *new_handle(uint8_t opt) {
  static const int64_t offsets[4] = {0, 25200, -36000, 50400};
  static const int64_t lateness[4] = {604800, 0, 31622400, 3600};
  cxm_ctx *ctx = NULL;
  static const uint8_t key[CXM_KEY_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8,
                                            9, 10, 11, 12, 13, 14, 15, 16};
  FZ_CHECK(cxm_ctx_create(&ctx) == CXM_OK, "ctx_create");
  FZ_CHECK(cxm_key_set(ctx, key, sizeof key) == CXM_OK, "key_set");
  FZ_CHECK(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, offsets[opt & 3]) == CXM_OK, "utc offset");
  FZ_CHECK(cxm_option_set(ctx, CXM_OPT_DECIMALS, (opt >> 2) & 1 ? 0 : 2) == CXM_OK, "decimals");
  FZ_CHECK(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, lateness[(opt >> 3) & 3]) == CXM_OK, "lateness");
  return ctx;
}

/* Feed data into a reader in chunks; mode 0 = one piece. Chunks are exact
   heap copies so that ASan sees any read past the end of a feed. */
static int feed_chunks(cxm_csv *r, const uint8_t *data, size_t len, int mode,
                       uint32_t seed) {
  static const size_t maxchunk[8] = {0, 1, 2, 7, 64, 100, 4096, 65536};
  size_t pos = 0;
  int first_rc = CXM_OK;
  uint32_t x = seed | 1u;
  while (pos < len || (mode == 0 && pos == 0)) {
    size_t n = len - pos;
    if (mode != 0) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      size_t m = maxchunk[mode & 7];
      size_t c = (size_t)x % (m + 1); /* 0 is an empty feed */
      if (c < n) n = c;
    }
    uint8_t *copy = malloc(n ? n : 1);
    FZ_CHECK(copy != NULL, "malloc");
    if (n) memcpy(copy, data + pos, n);
    int rc = cxm_csv_feed(r, copy, n);
    free(copy);
    FZ_CHECK(rc == CXM_OK || rc == CXM_E_PARSE || rc == CXM_E_LIMIT, "csv_feed: unexpected status %d", rc);
    if (first_rc == CXM_OK) first_rc = rc;
    pos += n;
    if (len == 0) break;
  }
  return first_rc;
}

static void check_reader(cxm_ctx *ctx, cxm_csv *r, const errcount *ec,
                         uint64_t *lines_out, uint64_t *acc_out) {
  uint64_t lines = 0, acc = 0, rej = 0;
  int64_t sacc = -1, srej = -1;
  FZ_CHECK(cxm_csv_stats(r, &lines, &acc, &rej) == CXM_OK, "csv_stats");
  FZ_CHECK(lines == acc + rej, "lines %llu != accepted %llu + rejected %llu",
           (unsigned long long)lines, (unsigned long long)acc, (unsigned long long)rej);
  FZ_CHECK(ec->calls == rej, "error handler ran %llu times for %llu rejected lines",
           (unsigned long long)ec->calls, (unsigned long long)rej);
  FZ_CHECK(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &sacc) == CXM_OK, "stat");
  FZ_CHECK(cxm_stat_get(ctx, CXM_STAT_EVENTS_REJECTED, &srej) == CXM_OK, "stat");
  FZ_CHECK((uint64_t)sacc == acc, "handle accepted %lld, reader %llu", (long long)sacc,
           (unsigned long long)acc);
  /* The reader rejects some lines itself (parse errors) before the core sees
     them, so the handle's count can only be lower. */
  FZ_CHECK(srej >= 0 && (uint64_t)srej <= rej, "handle rejected %lld, reader %llu",
           (long long)srej, (unsigned long long)rej);
  int64_t events = -1, n = -1;
  FZ_CHECK(cxm_kpi_get_int(ctx, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, CXM_TIME_MIN,
                           CXM_TIME_MAX, &events, &n) == CXM_OK, "events");
  FZ_CHECK((uint64_t)events == acc, "EVENTS kpi %lld != accepted %llu", (long long)events,
           (unsigned long long)acc);
  if (lines_out) *lines_out = lines;
  if (acc_out) *acc_out = acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  uint8_t opt = data[0];
  uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)opt << 16;
  int mode = (opt >> 5) & 7;
  const uint8_t *csv = data + 3;
  size_t len = size - 3;

  cxm_ctx *a = new_handle(opt), *b = new_handle(opt);
  cxm_csv *ra = NULL, *rb = NULL;
  errcount ea = {0, 0}, eb = {0, 0};
  FZ_CHECK(cxm_csv_create(a, &ra) == CXM_OK, "csv_create");
  FZ_CHECK(cxm_csv_create(b, &rb) == CXM_OK, "csv_create");
  FZ_CHECK(cxm_csv_set_error_handler(ra, on_error, &ea) == CXM_OK, "handler");
  FZ_CHECK(cxm_csv_set_error_handler(rb, on_error, &eb) == CXM_OK, "handler");

  int rca = feed_chunks(ra, csv, len, mode, seed);
  int rcb = feed_chunks(rb, csv, len, 0, seed);
  int fa = cxm_csv_finish(ra), fb = cxm_csv_finish(rb);
  FZ_CHECK(fa == CXM_OK || fa == CXM_E_PARSE || fa == CXM_E_LIMIT, "csv_finish A: status %d", fa);
  FZ_CHECK(fb == CXM_OK || fb == CXM_E_PARSE || fb == CXM_E_LIMIT, "csv_finish B: status %d", fb);
  /* A header error is seen once the header line is complete: the splits
     may change in which call it is returned, not whether. */
  if (rca == CXM_OK) rca = fa;
  if (rcb == CXM_OK) rcb = fb;
  FZ_CHECK(rca == rcb, "header status depends on the split: %d vs %d", rca, rcb);

  uint64_t lines = 0, acc = 0;
  check_reader(a, ra, &ea, &lines, &acc);
  check_reader(b, rb, &eb, NULL, NULL);
  fz_sweep(a, 2);
  fz_compare(a, b, 2);

  /* A second stream on the same reader: counters keep adding up. */
  if ((seed & 7) == 0) {
    ea.last_line = 0; /* line numbers start again with the new stream */
    int r2 = feed_chunks(ra, csv, len, 0, seed);
    int f2 = cxm_csv_finish(ra);
    if (r2 == CXM_OK) r2 = f2;
    FZ_CHECK(r2 == rca, "second stream: status %d, first %d", r2, rca);
    uint64_t lines2 = 0;
    check_reader(a, ra, &ea, &lines2, NULL);
    FZ_CHECK(lines2 == 2 * lines, "second stream: lines %llu != 2 * %llu",
             (unsigned long long)lines2, (unsigned long long)lines);
    fz_sweep(a, 2);
  }

  cxm_csv_destroy(ra);
  cxm_csv_destroy(rb);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  return 0;
}
