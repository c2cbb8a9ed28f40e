/*
 * timeparse.h - time parsing shared by cxm_time_parse() and the CSV reader.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_TIMEPARSE_H
#define CXM_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/*
 * Days from 1970-01-01 to the given date of the proleptic Gregorian calendar
 * (negative before 1970). Any year; month 1..12; day 1..31 (not validated).
 */
CXM_HIDDEN int64_t cxm__days_from_civil(int64_t year, int month, int day);

/* Days in @p month (1..12) of @p year, leap years included. */
CXM_HIDDEN int cxm__days_in_month(int64_t year, int month);

/*
 * Parse @p len bytes of @p s as a time (see cxm_time_parse()); a time
 * without a zone is taken in @p local_offset seconds east of UTC. Leading
 * and trailing blanks (space, tab) are ignored. Accepted forms:
 *
 *   Unix seconds   [+-]DIGITS[.DIGITS]   at most 18 integer digits; a
 *                                        fraction is dropped, rounding
 *                                        towards minus infinity (floor).
 *   ISO-8601       YYYY-MM-DD            00:00 local
 *                  YYYY-MM-DD(T|t| )hh:mm[:ss[(.|,)FRAC]][ZONE]
 *                  ZONE = Z | z | +hh | -hh | +hh:mm | -hh:mm | +hhmm | -hhmm
 *
 * Ranges: month 1..12, day 1..days of the month, hour 0..23, minute 0..59,
 * second 0..60 (a leap second 60 counts as the first second of the next
 * minute), zone hours 0..23 and minutes 0..59. The fraction of seconds is
 * dropped (floor). Returns CXM_OK and writes *out, or CXM_E_PARSE.
 */
CXM_HIDDEN int cxm__time_parse(const char *s, size_t len, int64_t local_offset,
                               int64_t *out);

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <string.h>
#define CXM_HAVE_EIGHT_DIGITS 1
/*
 * Eight ASCII digits at once (little-endian words): checks that every byte
 * is '0'..'9' (its high nibble is 3, and stays 3 after adding 6), then folds
 * neighbouring digits into 2-, 4- and 8-digit numbers in place, each step a
 * multiply-add of the word by itself shifted by one lane. Returns 0 when a
 * byte is not a digit.
 */
static inline int cxm__eight_digits(const char *s, uint32_t *out) {
  const uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0);
  uint64_t w;
  memcpy(&w, s, 8);
  if (((w & hi) | (((w + UINT64_C(0x0606060606060606)) & hi) >> 4)) !=
      UINT64_C(0x3333333333333333))
    return 0;
  w -= UINT64_C(0x3030303030303030);
  w = (w * 10 + (w >> 8)) & UINT64_C(0x00FF00FF00FF00FF);
  w = (w * 100 + (w >> 16)) & UINT64_C(0x0000FFFF0000FFFF);
  w = w * 10000 + (w >> 32);
  *out = (uint32_t)w;
  return 1;
}
#endif

#endif /* CXM_TIMEPARSE_H */
