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

#endif /* CXM_TIMEPARSE_H */
