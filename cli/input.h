/*
 * input.h - reads one event file into a handle, as CSV or as JSON Lines.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_INPUT_H
#define CXM_CLI_INPUT_H

#include <stdint.h>

#include "cxmetrics.h"

enum { INPUT_AUTO = 0, INPUT_CSV = 1, INPUT_JSONL = 2 };

/* State of input_on_reject(): the file name printed, and a cap on the
   lines printed (counted over several files). */
typedef struct errsink {
  const char *file;
  uint64_t printed, max_print;
} errsink;

/* A reader's rejected-line handler (user = an errsink): prints FILE:LINE:
   reason to stderr, the library's leading "line N: " dropped. */
void input_on_reject(void *user, uint64_t line, int status, const char *message);

/* INPUT_JSONL for names ending in .jsonl or .ndjson, else INPUT_CSV. */
int input_format_of(const char *path);

/* Parses "auto", "csv" or "jsonl"; -1 for anything else. */
int input_format_parse(const char *text);

/* Feeds the file (`-` = stdin) through the reader of `format` (INPUT_AUTO:
   by its name), rejected lines to `on_reject`. Returns the library status;
   the counters are those of the reader (JSONL's skipped lines count as
   accepted: they are not errors). */
int input_feed_file(cxm_ctx *ctx, const char *path, int format,
                    cxm_csv_error_fn on_reject, void *user, uint64_t *lines,
                    uint64_t *accepted, uint64_t *rejected);

#endif
