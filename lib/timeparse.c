/*
 * timeparse.c - Unix seconds and ISO-8601 times, for cxm_time_parse() and
 * the CSV reader.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "timeparse.h"

#include <stdint.h>
#include <string.h>

#include "internal.h"

static int64_t fdiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

int64_t cxm__days_from_civil(int64_t year, int month, int day) {
  /*
   * Count years from March 1st, so that a leap day is the last day of its
   * counting year. Counting year yy runs from March 1st of yy to the end of
   * February of yy + 1; the leap days before counting year yy are those of
   * the calendar years 1..yy, i.e. yy/4 - yy/100 + yy/400 (floored).
   * Month lengths from March (31 30 31 30 31 31 30 31 30 31 31 28/29) follow
   * the linear rule floor((153 * m + 2) / 5) for the days before month m
   * (m = 0 for March). 0000-03-01 is 719468 days before 1970-01-01.
   */
  int64_t yy = month <= 2 ? year - 1 : year;
  int64_t mm = month <= 2 ? month + 9 : month - 3;
  int64_t before_month = (153 * mm + 2) / 5;
  int64_t leaps = fdiv(yy, 4) - fdiv(yy, 100) + fdiv(yy, 400);
  return 365 * yy + leaps + before_month + (day - 1) - 719468;
}

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cxm__days_in_month(int64_t year, int month) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30,
                                        31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12)
    return 0;
  if (month == 2 && is_leap(year))
    return 29;
  return dim[month - 1];
}

static int isdig(char c) {
  return c >= '0' && c <= '9';
}

/* Exactly @p n digits at s[*i]; advances *i. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  if (len - *i < (size_t)n)
    return 0;
  for (int k = 0; k < n; k++) {
    char c = s[*i + (size_t)k];
    if (!isdig(c))
      return 0;
    v = v * 10 + (c - '0');
  }
  *i += (size_t)n;
  *out = v;
  return 1;
}


static int parse_unix(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  int64_t v = 0;
  size_t nd = 0;
  int frac = 0;

  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  for (; i < len && isdig(s[i]); i++, nd++) {
    if (nd >= 18)
      return CXM_E_PARSE;
    v = v * 10 + (s[i] - '0');
  }
  if (nd == 0)
    return CXM_E_PARSE;
  if (i < len && s[i] == '.') {
    size_t fd = 0;
    for (i++; i < len && isdig(s[i]); i++, fd++)
      if (s[i] != '0')
        frac = 1;
    if (fd == 0)
      return CXM_E_PARSE;
  }
  if (i != len)
    return CXM_E_PARSE;
  if (neg)
    v = -v - frac; /* floor of a negative value with a fraction */
  *out = v;
  return CXM_OK;
}

static int parse_iso(const char *s, size_t len, int64_t local_offset,
                     int64_t *out) {
  size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  int64_t zone = local_offset;

  if (!digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' ||
      !digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-' ||
      !digits(s, len, &i, 2, &d))
    return CXM_E_PARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > cxm__days_in_month(y, mo))
    return CXM_E_PARSE;
  if (i < len) {
    char c = s[i++];
    if (c != 'T' && c != 't' && c != ' ')
      return CXM_E_PARSE;
    if (!digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
        !digits(s, len, &i, 2, &mi))
      return CXM_E_PARSE;
    if (i < len && s[i] == ':') {
      i++;
      if (!digits(s, len, &i, 2, &sec))
        return CXM_E_PARSE;
      if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t start = ++i;
        while (i < len && isdig(s[i]))
          i++;
        if (i == start)
          return CXM_E_PARSE;
      }
    }
    if (h > 23 || mi > 59 || sec > 60)
      return CXM_E_PARSE;
    if (i < len) {
      c = s[i++];
      if (c == 'Z' || c == 'z') {
        zone = 0;
      } else if (c == '+' || c == '-') {
        int zh, zm = 0;
        if (!digits(s, len, &i, 2, &zh))
          return CXM_E_PARSE;
        if (i < len) {
          if (s[i] == ':')
            i++;
          if (!digits(s, len, &i, 2, &zm))
            return CXM_E_PARSE;
        }
        if (zh > 23 || zm > 59)
          return CXM_E_PARSE;
        zone = (int64_t)zh * 3600 + (int64_t)zm * 60;
        if (c == '-')
          zone = -zone;
      } else {
        return CXM_E_PARSE;
      }
      if (i != len)
        return CXM_E_PARSE;
    }
  }
  *out = cxm__days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
         (int64_t)mi * 60 + sec - zone;
  return CXM_OK;
}

int cxm__time_parse(const char *s, size_t len, int64_t local_offset,
                    int64_t *out) {
  while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
    s++;
    len--;
  }
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  if (len == 0)
    return CXM_E_PARSE;
  /* Fast path: plain Unix seconds, the common case of machine-made files. */
  if (len <= 18) {
    int64_t v = 0;
    size_t i = 0;
    uint32_t e;
#ifdef CXM_HAVE_EIGHT_DIGITS
    for (; len - i >= 8; i += 8) {
      if (!cxm__eight_digits(s + i, &e))
        break;
      v = v * 100000000 + e;
    }
#else
    (void)e;
#endif
    while (i < len && isdig(s[i]))
      v = v * 10 + (s[i++] - '0');
    if (i == len) {
      *out = v;
      return CXM_OK;
    }
  }
  if (len >= 10 && s[4] == '-' && isdig(s[0]))
    return parse_iso(s, len, local_offset, out);
  return parse_unix(s, len, out);
}

int cxm_time_parse(cxm_ctx *ctx, const char *text, size_t len, int64_t *time) {
  int64_t t;
  int st;
  if (ctx == NULL)
    return CXM_E_NULL;
  if (text == NULL && len > 0)
    return cxm__seterr(ctx, CXM_E_NULL, "cxm_time_parse: text is NULL");
  if (time == NULL)
    return cxm__seterr(ctx, CXM_E_NULL, "cxm_time_parse: time is NULL");
  st = cxm__time_parse(text, len, ctx->utc_offset, &t);
  if (st != CXM_OK)
    return cxm__seterr(ctx, st,
                       "cxm_time_parse: not Unix seconds nor ISO-8601 "
                       "(%zu bytes)", len);
  *time = t;
  return CXM_OK;
}
