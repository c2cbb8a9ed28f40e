/*
 * fmt.c - number and string formatting for the cxm command.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "fmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fmt_json_double(char buf[FMT_NUM_MAX], double v)
{
  if (!isfinite(v)) {
    strcpy(buf, "null");
    return;
  }
  /* The shortest of %.15g, %.16g, %.17g that reads back exactly; %.17g
   * always does for an IEEE double. */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, FMT_NUM_MAX, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v)
      break;
  }
  /* JSON has no "inf"/"nan" (excluded above) and accepts "1e+20", "-0". */
}

void fmt_int(char buf[FMT_NUM_MAX], int64_t v)
{
  snprintf(buf, FMT_NUM_MAX, "%lld", (long long)v);
}

void fmt_minor_units(char buf[FMT_NUM_MAX], int64_t minor, int decimals)
{
  uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
  uint64_t scale = 1;
  if (decimals < 0)
    decimals = 0;
  if (decimals > 18)
    decimals = 18;
  for (int i = 0; i < decimals; i++)
    scale *= 10;
  uint64_t whole = mag / scale, frac = mag % scale;
  if (decimals == 0)
    snprintf(buf, FMT_NUM_MAX, "%s%llu", minor < 0 ? "-" : "",
             (unsigned long long)whole);
  else
    snprintf(buf, FMT_NUM_MAX, "%s%llu.%0*llu", minor < 0 ? "-" : "",
             (unsigned long long)whole, decimals, (unsigned long long)frac);
}

size_t fmt_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
  if (len == 0)
    return 0;
  unsigned char c = s[0];
  size_t need;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    need = 2; v = c & 0x1Fu; min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3; v = c & 0x0Fu; min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4; v = c & 0x07u; min = 0x10000;
  } else {
    return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
  }
  if (len < need)
    return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xC0u) != 0x80u)
      return 0;
    v = (v << 6) | (s[i] & 0x3Fu);
  }
  if (v < min || v > 0x10FFFFu || (v >= 0xD800u && v <= 0xDFFFu))
    return 0;
  *cp = v;
  return need;
}

void fmt_json_string(FILE *out, const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  putc('"', out);
  while (i < len) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      putc(c, out);
      i++;
      continue;
    }
    switch (c) {
    case '"': fputs("\\\"", out); i++; continue;
    case '\\': fputs("\\\\", out); i++; continue;
    case '\n': fputs("\\n", out); i++; continue;
    case '\r': fputs("\\r", out); i++; continue;
    case '\t': fputs("\\t", out); i++; continue;
    case '\b': fputs("\\b", out); i++; continue;
    case '\f': fputs("\\f", out); i++; continue;
    default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      fprintf(out, "\\u%04x", (unsigned)c);
      i++;
      continue;
    }
    uint32_t cp;
    size_t n = fmt_utf8_decode(p + i, len - i, &cp);
    if (n == 0) {
      fputs("\\ufffd", out);
      i++;
    } else {
      fwrite(p + i, 1, n, out);
      i += n;
    }
  }
  putc('"', out);
}

void fmt_text_label(char *buf, size_t cap, const char *s, size_t len,
                    size_t width)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, o = 0, chars = 0;
  if (cap == 0)
    return;
  while (i < len && chars < width) {
    uint32_t cp;
    size_t n = fmt_utf8_decode(p + i, len - i, &cp);
    if (chars + 1 == width && i + (n ? n : 1) < len) {
      /* last column and more follows: mark the cut */
      if (o + 1 < cap)
        buf[o++] = '~';
      chars++;
      break;
    }
    if (n == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      if (o + 1 < cap)
        buf[o++] = '?';
      i += n ? n : 1;
    } else {
      if (o + n < cap) {
        memcpy(buf + o, p + i, n);
        o += n;
      }
      i += n;
    }
    chars++;
  }
  buf[o] = '\0';
}

/* Days since 1970-01-01 to a proleptic Gregorian date. Counts 400-year eras
 * from 0000-03-01 so that leap days fall at the end of each year. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
  z += 719468; /* days from 0000-03-01 to 1970-01-01 */
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                /* 0..146096 */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);        /* 0..365 */
  int64_t mp = (5 * doy + 2) / 153;                              /* 0..11, March = 0 */
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

void fmt_utc_offset(char buf[FMT_NUM_MAX], int64_t off)
{
  int64_t a = off < 0 ? -off : off;
  snprintf(buf, FMT_NUM_MAX, "%c%02d:%02d", off < 0 ? '-' : '+',
           (int)(a / 3600), (int)(a % 3600 / 60));
}

void fmt_iso_time(char buf[FMT_NUM_MAX], int64_t t, int64_t off)
{
  int64_t local = t + off;
  int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  int64_t secs = local - days * 86400;
  int64_t y;
  int m, d;
  char zone[8] = "Z";
  civil_from_days(days, &y, &m, &d);
  if (off != 0) {
    int64_t a = off < 0 ? -off : off;
    snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+',
             (int)(a / 3600 % 100), (int)(a % 3600 / 60));
  }
  if (y < 0 || y > 9999)
    y = y < 0 ? 0 : 9999; /* never for event times (1970..2105) */
  snprintf(buf, FMT_NUM_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d%s", (long long)y,
           m, d, (int)(secs / 3600), (int)(secs % 3600 / 60), (int)(secs % 60),
           zone);
}
