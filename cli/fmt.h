/*
 * fmt.h - number and string formatting for the cxm command.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_FMT_H
#define CXM_CLI_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Large enough for any number these functions write. */
#define FMT_NUM_MAX 48

/* A double as the shortest decimal that reads back to the same double
 * (at most 17 significant digits), or "null" when it is not finite. */
void fmt_json_double(char buf[FMT_NUM_MAX], double v);

/* An amount in minor units as a decimal with exactly `decimals` decimals
 * (0..18): 123450 with 2 decimals is "1234.50". Exact for every int64. */
void fmt_minor_units(char buf[FMT_NUM_MAX], int64_t minor, int decimals);

/* A signed integer. */
void fmt_int(char buf[FMT_NUM_MAX], int64_t v);

/* Write `len` bytes as a JSON string (with the quotes): `"` and `\` and
 * control characters escaped, invalid UTF-8 replaced by \ufffd. */
void fmt_json_string(FILE *out, const char *s, size_t len);

/* Copy a label for a text table into buf (size cap, NUL-terminated): bytes
 * that are not printable ASCII or valid UTF-8 become '?'; truncated to at
 * most `width` characters, ending with '~' when cut. */
void fmt_text_label(char *buf, size_t cap, const char *s, size_t len,
                    size_t width);

/* Decode one UTF-8 sequence at s[0..len). Returns its length (1..4) and
 * stores the code point, or returns 0 when the bytes there are not valid
 * UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
size_t fmt_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* A Unix time as ISO-8601 in the given UTC offset (seconds), e.g.
 * "2026-03-01T00:00:00+07:00". */
void fmt_iso_time(char buf[FMT_NUM_MAX], int64_t t, int64_t utc_offset);

/* A UTC offset in seconds as "+hh:mm". */
void fmt_utc_offset(char buf[FMT_NUM_MAX], int64_t utc_offset);

#endif /* CXM_CLI_FMT_H */
