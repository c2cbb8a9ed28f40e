/*
 * input.c - reads one event file into a handle, as CSV or as JSON Lines.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L /* isatty, clock_gettime */

#include "input.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

int input_format_of(const char *path) {
  return ends_with(path, ".jsonl") || ends_with(path, ".ndjson") ? INPUT_JSONL
                                                                  : INPUT_CSV;
}

int input_format_parse(const char *text) {
  if (strcmp(text, "auto") == 0) return INPUT_AUTO;
  if (strcmp(text, "csv") == 0) return INPUT_CSV;
  if (strcmp(text, "jsonl") == 0) return INPUT_JSONL;
  return -1;
}

void input_on_reject(void *user, uint64_t line, int status, const char *message) {
  errsink *s = user;
  const char *m = message && *message ? message : cxm_strerror(status);
  /* The library's message may start with "line N: "; we print FILE:N. */
  if (strncmp(m, "line ", 5) == 0) {
    const char *q = m + 5;
    while (*q >= '0' && *q <= '9') q++;
    if (q > m + 5 && q[0] == ':' && q[1] == ' ') m = q + 2;
  }
  if (s->printed < s->max_print) fprintf(stderr, "%s:%" PRIu64 ": %s\n", s->file, line, m);
  s->printed++;
}

/* Progress goes to stderr when it is a terminal, or when CXM_PROGRESS=1
   (CXM_PROGRESS=0 turns it off). */
static int progress_wanted(void) {
  const char *e = getenv("CXM_PROGRESS");
  if (e && *e) return strcmp(e, "0") != 0;
  return isatty(STDERR_FILENO);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct progress {
  int on;
  const char *name;
  double t0, last;
  uint64_t bytes;
  int64_t ev0;
} progress;

static void progress_show(cxm_ctx *ctx, progress *pr, int final) {
  double t = now_s();
  if (!pr->on || (!final && t - pr->last < 1.0)) return;
  int64_t ev = 0;
  (void)cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &ev);
  double dt = t - pr->t0 > 1e-9 ? t - pr->t0 : 1e-9;
  fprintf(stderr, "\rcxm: %s: %.1f MB read, %lld events, %.2fM events/s, %.1f MB/s%s",
          pr->name, pr->bytes / 1e6, (long long)(ev - pr->ev0), (ev - pr->ev0) / dt / 1e6,
          pr->bytes / dt / 1e6, final ? "\n" : "");
  pr->last = t;
}

int input_feed_file(cxm_ctx *ctx, const char *path, int format,
                    cxm_csv_error_fn on_reject, void *user, uint64_t *lines,
                    uint64_t *accepted, uint64_t *rejected) {
  int rc;
  cxm_csv *csv = NULL;
  cxm_jsonl *j = NULL;
  *lines = *accepted = *rejected = 0;
  if (format == INPUT_AUTO) format = input_format_of(path);
  if (format == INPUT_JSONL) {
    rc = cxm_jsonl_create(ctx, &j);
    if (rc == CXM_OK) rc = cxm_jsonl_set_error_handler(j, on_reject, user);
  } else {
    rc = cxm_csv_create(ctx, &csv);
    if (rc == CXM_OK) rc = cxm_csv_set_error_handler(csv, on_reject, user);
  }
  if (rc == CXM_OK) {
    progress pr = {progress_wanted(), path, now_s(), 0, 0, 0};
    pr.last = pr.t0;
    (void)cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &pr.ev0);
    int is_stdin = strcmp(path, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    char *buf = malloc(CHUNK);
    if (!fp || !buf) {
      /* Let the library's reader produce its own message for a bad path. */
      if (fp && !is_stdin) fclose(fp);
      free(buf);
      rc = j ? cxm_jsonl_feed_file(j, path) : cxm_csv_feed_file(csv, path);
    } else {
      for (;;) {
        size_t got = fread(buf, 1, CHUNK, fp);
        if (got > 0) {
          rc = j ? cxm_jsonl_feed(j, buf, got) : cxm_csv_feed(csv, buf, got);
          pr.bytes += got;
          progress_show(ctx, &pr, 0);
          if (rc != CXM_OK && rc != CXM_E_NOMEM) break;
        }
        if (got < CHUNK) {
          if (ferror(fp)) {
            fprintf(stderr, "cxm: cannot read '%s': %s\n", path, strerror(errno));
            rc = CXM_E_IO;
          }
          break;
        }
      }
      int frc = j ? cxm_jsonl_finish(j) : cxm_csv_finish(csv);
      if (rc == CXM_OK) rc = frc;
      progress_show(ctx, &pr, 1);
      if (!is_stdin) fclose(fp);
      else clearerr(stdin);
      free(buf);
    }
  }
  if (j) {
    uint64_t skipped = 0;
    (void)cxm_jsonl_stats(j, lines, accepted, rejected, &skipped);
    *accepted += skipped;
  } else if (csv) {
    (void)cxm_csv_stats(csv, lines, accepted, rejected);
  }
  cxm_jsonl_destroy(j);
  cxm_csv_destroy(csv);
  return rc;
}
