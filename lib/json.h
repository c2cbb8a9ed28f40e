/*
 * json.h - a flat tokenizer for one JSON text (one line of JSON Lines).
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * The text is parsed into an array of tokens in document order; a container
 * token records how many tokens follow inside it (`span`), so a lookup skips
 * a whole nested value in O(1). Object members are a key token (a string)
 * followed by the value's tokens. Strings keep their raw (still escaped)
 * bytes; cxm__json_str() decodes them.
 */
#ifndef CXM_JSON_H
#define CXM_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum { CXM_JT_OBJECT = 1, CXM_JT_ARRAY, CXM_JT_STRING, CXM_JT_NUMBER,
       CXM_JT_TRUE, CXM_JT_FALSE, CXM_JT_NULL };

typedef struct cxm_jtok {
  uint8_t type;
  uint8_t has_escape; /* a string with a backslash inside */
  uint32_t start, len; /* bytes of the value (strings: without the quotes) */
  uint32_t span;       /* tokens inside a container (0 for scalars) */
  uint32_t count;      /* members (objects) or elements (arrays) */
} cxm_jtok;

typedef struct cxm_json {
  cxm_ctx *ctx;
  cxm_jtok *tok;
  uint32_t n, cap;
  char err[96]; /* why the last parse failed */
} cxm_json;

/* Maximum nesting depth; deeper texts are rejected. */
#define CXM_JSON_DEPTH_MAX 64

CXM_HIDDEN void cxm__json_init(cxm_json *j, cxm_ctx *ctx);
CXM_HIDDEN void cxm__json_free(cxm_json *j);

/* Parses s[0..len) as exactly one JSON value (blanks around it allowed).
   CXM_OK, CXM_E_PARSE (j->err says why and where) or CXM_E_NOMEM. Texts
   longer than UINT32_MAX bytes are CXM_E_LIMIT. */
CXM_HIDDEN int cxm__json_parse(cxm_json *j, const char *s, size_t len);

/* Index of the value of member `key` of the object at token `obj`, or -1 (no
   such member, or `obj` is not an object). With duplicate keys the last
   wins, as in most JSON readers. Keys are compared decoded. */
CXM_HIDDEN int64_t cxm__json_get(const cxm_json *j, const char *s, int64_t obj,
                                 const char *key);

/* Index of the next sibling after the value at token i. */
static inline uint32_t cxm__json_next(const cxm_json *j, uint32_t i) {
  return i + 1 + j->tok[i].span;
}

/* Decodes the string token i into buf (cap bytes, NUL-terminated): escapes
   resolved, \u escapes (with surrogate pairs) written as UTF-8. Returns the
   length, or -1 when the token is not a string, -2 when it does not fit, -3
   for an invalid escape or lone surrogate. */
CXM_HIDDEN int64_t cxm__json_str(const cxm_json *j, const char *s, uint32_t i,
                                 char *buf, size_t cap);

/* The number token i as a double (the nearest, as strtod gives, whatever
   the locale). CXM_OK or CXM_E_PARSE (not a number, or out of range). */
CXM_HIDDEN int cxm__json_num(const cxm_json *j, const char *s, uint32_t i,
                             double *out);

#endif /* CXM_JSON_H */
