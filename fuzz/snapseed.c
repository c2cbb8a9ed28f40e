/*
 * fuzz/snapseed.c - writes seed snapshots for fuzz_snapshot from CSV files:
 * for each FILE, snapshots of its first 40, 200 and all lines (at most
 * 2000), under varied options, each behind fuzz_snapshot.c's flag byte.
 *
 *   snapseed OUTDIR FILE...
 *
 * Built by fuzz/build.sh, run by fuzz/make_corpus.sh.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: snapseed OUTDIR FILE...\n");
    return 2;
  }
  int written = 0;
  static const size_t limits[] = {40, 200, 2000};
  for (int f = 2; f < argc; f++) {
    FILE *in = fopen(argv[f], "rb");
    if (!in) continue;
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    for (int v = 0; v < 3; v++) {
      size_t end = 0, lines = 0;
      while (end < len && lines <= limits[v]) {
        if (text[end] == '\n') lines++;
        end++;
      }
      cxm_ctx *ctx = NULL;
      if (cxm_ctx_create(&ctx) != CXM_OK) return 1;
      if (v == 1) cxm_option_set(ctx, CXM_OPT_MODULES, CXM_MOD_FUNNEL | CXM_MOD_RETENTION);
      if (v == 2) cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, 3600);
      cxm_csv *csv = NULL;
      if (cxm_csv_create(ctx, &csv) != CXM_OK) return 1;
      cxm_csv_feed(csv, text, end);
      cxm_csv_finish(csv);
      cxm_csv_destroy(csv);
      cxm_position_set(ctx, "seed", 4);
      void *p = NULL;
      size_t n = 0;
      if (cxm_snapshot_save_buffer(ctx, v == 0 ? CXM_SNAPSHOT_EMBED_KEY : 0, &p, &n) == CXM_OK) {
        for (uint8_t flag = 0; flag < 2; flag++) {
          char path[4096];
          const char *base = strrchr(argv[f], '/');
          snprintf(path, sizeof path, "%s/%s-%d-%u", argv[1], base ? base + 1 : argv[f], v,
                   (unsigned)flag);
          FILE *out = fopen(path, "wb");
          if (!out) return 1;
          fputc(flag, out);
          fwrite(p, 1, n, out);
          fclose(out);
          written++;
        }
        cxm_buffer_free(ctx, p, n);
      }
      cxm_ctx_destroy(ctx);
    }
  }
  printf("snapseed: %d seeds in %s\n", written, argv[1]);
  return 0;
}
