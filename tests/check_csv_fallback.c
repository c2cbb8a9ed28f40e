/*
 * check_csv_fallback.c - the CSV reader's fast paths at their edges, on
 * hand-written streams whose events and rejections are known line by line.
 *
 * The one-pass record reader, the 16-byte type and channel keys, the inline
 * 10-digit time and the short-decimal number each hand anything unusual to
 * the general code: a used column past the 64th (no one-pass reader at all),
 * a type label over 16 bytes, more channels than the label cache holds,
 * labels over 16 bytes, "." and 16-byte numbers, 10-byte times that are not
 * ten digits. Each stream is fed in one piece and one byte per call (every
 * record then goes through the carry and the general splitter), and both
 * must give the rejections listed and the state of a handle fed the listed
 * events through cxm_events_add().
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

typedef struct rej {
  int n;
  uint64_t line[64];
  int status[64];
} rej;

static void on_err(void *user, uint64_t line, int status, const char *msg) {
  rej *r = user;
  (void)msg;
  if (r->n < 64) {
    r->line[r->n] = line;
    r->status[r->n] = status;
  }
  r->n++;
}

/* Feeds text in pieces of `piece` bytes (0: one piece). */
static cxm_ctx *read_csv(const char *text, size_t piece, rej *r) {
  cxm_ctx *ctx = t_new();
  cxm_csv *csv = NULL;
  memset(r, 0, sizeof *r);
  ck_assert_int_eq(cxm_csv_create(ctx, &csv), CXM_OK);
  ck_assert_int_eq(cxm_csv_set_error_handler(csv, on_err, r), CXM_OK);
  size_t n = strlen(text);
  if (piece == 0) piece = n;
  for (size_t i = 0; i < n; i += piece)
    ck_assert_int_eq(cxm_csv_feed(csv, text + i, n - i < piece ? n - i : piece),
                     CXM_OK);
  ck_assert_int_eq(cxm_csv_finish(csv), CXM_OK);
  cxm_csv_destroy(csv);
  return ctx;
}

/* The expected events, added one call each; channels are interned in the
   order the stream first names them. */
typedef struct want {
  int64_t t;
  int32_t type;
  const char *cust;
  const char *chan; /* NULL: none */
  double v;
} want;

static cxm_ctx *reference(const want *w, size_t n) {
  cxm_ctx *ctx = t_new();
  for (size_t i = 0; i < n; i++) {
    int32_t ch = w[i].chan ? t_chan(ctx, w[i].chan) : CXM_NO_CHANNEL;
    T_ADD(ctx, w[i].t, w[i].type, w[i].cust, ch, w[i].v, NAN);
  }
  return ctx;
}

static void same_state(cxm_ctx *a, cxm_ctx *b, const char *what) {
  t_handles_same_kpis(a, b, what);
  int64_t x = -1, y = -2;
  ck_assert_int_eq(cxm_stat_get(a, CXM_STAT_EVENTS_ACCEPTED, &x), CXM_OK);
  ck_assert_int_eq(cxm_stat_get(b, CXM_STAT_EVENTS_ACCEPTED, &y), CXM_OK);
  ck_assert_int_eq(x, y);
}

/* Both feeds against the reference and the expected rejections. */
static void check_stream(const char *text, const want *w, size_t nw,
                         const uint64_t *lines, const int *statuses,
                         int nrej) {
  cxm_ctx *ref = reference(w, nw);
  size_t pieces[] = {0, 1, 7};
  for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
    rej r;
    cxm_ctx *ctx = read_csv(text, pieces[k], &r);
    ck_assert_msg(r.n == nrej, "pieces of %zu: %d rejections, want %d",
                  pieces[k], r.n, nrej);
    for (int i = 0; i < nrej; i++) {
      ck_assert_msg(r.line[i] == lines[i] && r.status[i] == statuses[i],
                    "pieces of %zu: rejection %d: line %llu status %d, want "
                    "line %llu status %d", pieces[k], i,
                    (unsigned long long)r.line[i], r.status[i],
                    (unsigned long long)lines[i], statuses[i]);
    }
    same_state(ctx, ref, pieces[k] ? "CSV in pieces" : "CSV in one piece");
    cxm_ctx_destroy(ctx);
  }
  cxm_ctx_destroy(ref);
}

/* 2026-01-01T00:00:00Z = 1767225600 */

/* The used columns past the 64th: the reader has no one-pass form for such
   a header, every record takes the general splitter. */
START_TEST(used_column_past_64) {
  static char text[8192];
  size_t k = 0;
  for (int c = 0; c < 66; c++) k += (size_t)sprintf(text + k, "x%d,", c);
  k += (size_t)sprintf(text + k, "time,type,customer,channel,value\n");
  static const want w[] = {
      {T0, CXM_EV_PURCHASE, "ann", "web", 12.5},
      {T0 + 60, CXM_EV_TOUCH, "bea", "email", NAN},
      {T0 + 120, CXM_EV_PURCHASE, "ann", "web", 3.0},
  };
  static const char *const rows[] = {
      "1767225600,purchase,ann,web,12.5",
      "1767225660,touch,bea,email,",
      "1767225700,bogus,bea,email,",
      "1767225720,purchase,ann,web,3",
  };
  for (int i = 0; i < 4; i++) {
    for (int c = 0; c < 66; c++) text[k++] = ',';
    k += (size_t)sprintf(text + k, "%s\n", rows[i]);
  }
  static const uint64_t lines[] = {4};
  static const int st[] = {CXM_E_TYPE};
  check_stream(text, w, 3, lines, st, 1);
}
END_TEST

/* Type labels over 16 bytes, a 16-byte one, ".", numbers of 15 and 16
   bytes, 10-byte times that are not ten digits, CRLF and a lone CR. */
START_TEST(labels_numbers_times) {
  const char *text =
      "time,type,customer,channel,value\r\n"
      "1767225600,purchase,c1,web,.\r\n"                /* 2: "." */
      "1767225600,purchase,c1,web,1.5\r\n"              /* 3 */
      "1767225601,purchase_and_more_x,c1,web,1\r\n"     /* 4: 19-byte type */
      "1767225602,message_click,c1,web,\r\n"            /* 5: 13 bytes */
      "1767225603,purchase,c1,web,12345678901.25\r\n"   /* 6: 14 bytes */
      "1767225604,purchase,c1,web,123456789012.25\r\n"  /* 7: 15 bytes */
      "1767225605,purchase,c1,web,1234567890123.25\r\n" /* 8: 16 bytes */
      "17672256ab,touch,c1,web,\r\n"                    /* 9: not digits */
      "176722560.,touch,c1,web,\r\n"                    /* 10 */
      "2026-01-01T00:00:07Z,touch,c1,web,\r\n"          /* 11: ISO */
      "1767225608,touch,c\r1,web,\r\n"                  /* 12: CR in an id */
      "1767225609,touch,c1,web\r\n";                    /* 13: no value */
  static const want w[] = {
      {T0, CXM_EV_PURCHASE, "c1", "web", 1.5},
      {T0 + 2, CXM_EV_MESSAGE_CLICK, "c1", "web", NAN},
      {T0 + 3, CXM_EV_PURCHASE, "c1", "web", 12345678901.25},
      {T0 + 4, CXM_EV_PURCHASE, "c1", "web", 123456789012.25},
      {T0 + 5, CXM_EV_PURCHASE, "c1", "web", 1234567890123.25},
      {T0 + 7, CXM_EV_TOUCH, "c1", "web", NAN},
      {T0 + 8, CXM_EV_TOUCH, "c\r1", "web", NAN},
      {T0 + 9, CXM_EV_TOUCH, "c1", "web", NAN},
  };
  static const uint64_t lines[] = {2, 4, 9, 10};
  static const int st[] = {CXM_E_PARSE, CXM_E_TYPE, CXM_E_PARSE, CXM_E_PARSE};
  check_stream(text, w, sizeof w / sizeof w[0], lines, st, 4);
}
END_TEST

/* 120 channels (the label cache holds 64 in two ways), a third of them
   over 16 bytes, named in a scrambled order and again: every cache outcome
   (hit in either way, miss, eviction, the slow path for long labels). */
START_TEST(many_channels) {
  enum { NCHAN = 120, NLINE = 600 };
  static char labels[NCHAN][40];
  static want w[NLINE];
  static char ids[NLINE][8];
  static char text[NLINE * 96];
  size_t k = (size_t)sprintf(text, "time,type,customer,channel,value\n");
  for (int c = 0; c < NCHAN; c++)
    snprintf(labels[c], sizeof labels[c], c % 3 == 2 ? "channel-long-name-%03d" : "ch%03d", c);
  for (int i = 0; i < NLINE; i++) {
    int c = (i * 37 + i / NCHAN) % NCHAN;
    snprintf(ids[i], sizeof ids[i], "u%d", i % 50);
    w[i].t = T0 + i;
    w[i].type = i % 4 ? CXM_EV_TOUCH : CXM_EV_PURCHASE;
    w[i].cust = ids[i];
    w[i].chan = labels[c];
    w[i].v = i % 4 ? NAN : (double)(i % 9);
    if (i % 4)
      k += (size_t)sprintf(text + k, "%lld,touch,%s,%s,\n",
                           (long long)w[i].t, ids[i], labels[c]);
    else
      k += (size_t)sprintf(text + k, "%lld,purchase,%s,%s,%d\n",
                           (long long)w[i].t, ids[i], labels[c], i % 9);
  }
  check_stream(text, w, NLINE, NULL, NULL, 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("csv_fallback");
  TCase *tc = tcase_create("edges");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, used_column_past_64);
  tcase_add_test(tc, labels_numbers_times);
  tcase_add_test(tc, many_channels);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
