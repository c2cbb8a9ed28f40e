/*
 * gen_events.c - write the benchmark workload as a canonical events CSV.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Usage: gen_events CUSTOMERS EVENTS DAYS SEED OUT.csv   ("-" = stdout)
 * The output depends only on the four numbers (see workload.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

#define OUTBUF (1u << 20)

static char *put_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  uint64_t customers, events, days, seed;
  if (argc != 6 || parse_u64(argv[1], &customers) ||
      parse_u64(argv[2], &events) || parse_u64(argv[3], &days) ||
      parse_u64(argv[4], &seed)) {
    fprintf(stderr, "usage: gen_events CUSTOMERS EVENTS DAYS SEED OUT.csv\n");
    return 2;
  }
  FILE *f = strcmp(argv[5], "-") ? fopen(argv[5], "wb") : stdout;
  if (!f) {
    fprintf(stderr, "gen_events: %s: %s\n", argv[5], strerror(errno));
    return 1;
  }
  wl_gen g;
  if (wl_gen_init(&g, customers, events, days, seed)) {
    fprintf(stderr, "gen_events: bad sizes or out of memory\n");
    return 1;
  }
  const char *tnames[15];
  size_t tlens[15];
  for (int t = 1; t <= 14; t++) {
    tnames[t] = wl_type_names[t];
    tlens[t] = strlen(tnames[t]);
  }
  size_t clens[WL_NCHANNELS];
  for (int c = 0; c < WL_NCHANNELS; c++) clens[c] = strlen(wl_channels[c]);

  char *buf = malloc(OUTBUF + 512);
  if (!buf) return 1;
  char *p = buf;
  static const char header[] = "time,customer,type,channel,value,value2,segments\n";
  memcpy(p, header, sizeof header - 1);
  p += sizeof header - 1;
  for (uint64_t i = 0; i < events; i++) {
    wl_event e;
    wl_gen_next(&g, &e);
    p = put_u64(p, (uint64_t)e.time);
    *p++ = ',';
    if (e.customer >= 0) {
      memcpy(p, g.ids + (size_t)e.customer * WL_ID_LEN, WL_ID_LEN);
      p += WL_ID_LEN;
    }
    *p++ = ',';
    memcpy(p, tnames[e.type], tlens[e.type]);
    p += tlens[e.type];
    *p++ = ',';
    memcpy(p, wl_channels[e.channel], clens[e.channel]);
    p += clens[e.channel];
    *p++ = ',';
    if (e.money) {
      p = put_u64(p, (uint64_t)(e.cents / 100));
      *p++ = '.';
      *p++ = (char)('0' + (e.cents % 100) / 10);
      *p++ = (char)('0' + e.cents % 10);
    } else if (e.has_v1) {
      p = put_u64(p, (uint64_t)e.v1);
    }
    *p++ = ',';
    if (e.has_v2) p = put_u64(p, (uint64_t)e.v2);
    *p++ = ',';
    if (e.segcode >= 0) p += wl_segcode_text(e.segcode, p);
    *p++ = '\n';
    if ((size_t)(p - buf) >= OUTBUF) {
      if (fwrite(buf, 1, (size_t)(p - buf), f) != (size_t)(p - buf)) goto fail;
      p = buf;
    }
  }
  if (fwrite(buf, 1, (size_t)(p - buf), f) != (size_t)(p - buf)) goto fail;
  if (f != stdout ? fclose(f) : fflush(f)) {
    f = NULL;
    goto fail;
  }
  free(buf);
  wl_gen_free(&g);
  return 0;
fail:
  fprintf(stderr, "gen_events: write failed: %s\n", strerror(errno));
  if (f && f != stdout) fclose(f);
  free(buf);
  wl_gen_free(&g);
  return 1;
}
