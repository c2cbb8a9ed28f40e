/*
 * json.c - a flat tokenizer for one JSON text (RFC 8259), see json.h.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct parser {
  cxm_json *j;
  const char *s;
  size_t len, pos;
} parser;

void cxm__json_init(cxm_json *j, cxm_ctx *ctx) {
  memset(j, 0, sizeof *j);
  j->ctx = ctx;
}

void cxm__json_free(cxm_json *j) {
  if (j->tok) cxm__free(j->ctx, j->tok, (size_t)j->cap * sizeof(cxm_jtok));
  j->tok = NULL;
  j->n = j->cap = 0;
}

static int fail(parser *p, const char *what) {
  snprintf(p->j->err, sizeof p->j->err, "JSON: %s at byte %zu", what, p->pos + 1);
  return CXM_E_PARSE;
}

static int64_t push(parser *p, int type, size_t start) {
  cxm_json *j = p->j;
  if (j->n == j->cap) {
    uint32_t ncap = j->cap ? j->cap * 2 : 64;
    if (ncap < j->cap) return -1;
    cxm_jtok *nt = (cxm_jtok *)cxm__realloc(j->ctx, j->tok,
                                            (size_t)j->cap * sizeof(cxm_jtok),
                                            (size_t)ncap * sizeof(cxm_jtok));
    if (!nt) return -1;
    j->tok = nt;
    j->cap = ncap;
  }
  cxm_jtok *t = &j->tok[j->n];
  memset(t, 0, sizeof *t);
  t->type = (uint8_t)type;
  t->start = (uint32_t)start;
  return j->n++;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_string(parser *p) {
  size_t start = ++p->pos; /* after the opening quote */
  int esc = 0;
  while (p->pos < p->len) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') break;
    if (c < 0x20) return fail(p, "control character in a string");
    if (c == '\\') {
      esc = 1;
      if (p->pos + 1 >= p->len) return fail(p, "unterminated string");
      char e = p->s[p->pos + 1];
      if (e == 'u') {
        if (p->pos + 5 >= p->len) return fail(p, "short \\u escape");
        for (int k = 2; k < 6; k++)
          if (hexval(p->s[p->pos + k]) < 0) return fail(p, "bad \\u escape");
        p->pos += 6;
        continue;
      }
      if (!strchr("\"\\/bfnrt", e) || e == 0) return fail(p, "bad escape");
      p->pos += 2;
      continue;
    }
    p->pos++;
  }
  if (p->pos >= p->len) return fail(p, "unterminated string");
  int64_t t = push(p, CXM_JT_STRING, start);
  if (t < 0) return CXM_E_NOMEM;
  p->j->tok[t].len = (uint32_t)(p->pos - start);
  p->j->tok[t].has_escape = (uint8_t)esc;
  p->pos++; /* the closing quote */
  return CXM_OK;
}

static int isdig(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p) {
  size_t start = p->pos, i = p->pos;
  const char *s = p->s;
  if (i < p->len && s[i] == '-') i++;
  if (i >= p->len || !isdig(s[i])) return fail(p, "bad number");
  if (s[i] == '0') {
    i++;
  } else {
    while (i < p->len && isdig(s[i])) i++;
  }
  if (i < p->len && s[i] == '.') {
    i++;
    if (i >= p->len || !isdig(s[i])) return fail(p, "bad number");
    while (i < p->len && isdig(s[i])) i++;
  }
  if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= p->len || !isdig(s[i])) return fail(p, "bad number");
    while (i < p->len && isdig(s[i])) i++;
  }
  int64_t t = push(p, CXM_JT_NUMBER, start);
  if (t < 0) return CXM_E_NOMEM;
  p->j->tok[t].len = (uint32_t)(i - start);
  p->pos = i;
  return CXM_OK;
}

static int parse_literal(parser *p, const char *word, int type) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
    return fail(p, "unexpected character");
  int64_t t = push(p, type, p->pos);
  if (t < 0) return CXM_E_NOMEM;
  p->j->tok[t].len = (uint32_t)n;
  p->pos += n;
  return CXM_OK;
}

static int parse_value(parser *p, int depth);

/* Objects and arrays: recursion is bounded by CXM_JSON_DEPTH_MAX. */
static int parse_container(parser *p, int depth, int is_obj) {
  if (depth >= CXM_JSON_DEPTH_MAX) return fail(p, "nesting too deep");
  int64_t t = push(p, is_obj ? CXM_JT_OBJECT : CXM_JT_ARRAY, p->pos);
  if (t < 0) return CXM_E_NOMEM;
  char close = is_obj ? '}' : ']';
  uint32_t count = 0;
  int rc;
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
  } else {
    for (;;) {
      skip_ws(p);
      if (is_obj) {
        if (p->pos >= p->len || p->s[p->pos] != '"') return fail(p, "expected a key");
        if ((rc = parse_string(p))) return rc;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') return fail(p, "expected ':'");
        p->pos++;
      }
      if ((rc = parse_value(p, depth + 1))) return rc;
      count++;
      skip_ws(p);
      if (p->pos >= p->len) return fail(p, is_obj ? "unterminated object" : "unterminated array");
      if (p->s[p->pos] == ',') {
        p->pos++;
        continue;
      }
      if (p->s[p->pos] == close) {
        p->pos++;
        break;
      }
      return fail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  cxm_jtok *tk = &p->j->tok[t];
  tk->span = p->j->n - (uint32_t)t - 1;
  tk->count = count;
  tk->len = (uint32_t)(p->pos - tk->start);
  return CXM_OK;
}

static int parse_value(parser *p, int depth) {
  skip_ws(p);
  if (p->pos >= p->len) return fail(p, "expected a value");
  switch (p->s[p->pos]) {
    case '{': return parse_container(p, depth, 1);
    case '[': return parse_container(p, depth, 0);
    case '"': return parse_string(p);
    case 't': return parse_literal(p, "true", CXM_JT_TRUE);
    case 'f': return parse_literal(p, "false", CXM_JT_FALSE);
    case 'n': return parse_literal(p, "null", CXM_JT_NULL);
    default: return parse_number(p);
  }
}

int cxm__json_parse(cxm_json *j, const char *s, size_t len) {
  parser p = {j, s, len, 0};
  j->n = 0;
  j->err[0] = 0;
  if (len >= UINT32_MAX) {
    snprintf(j->err, sizeof j->err, "JSON: text longer than 4 GiB");
    return CXM_E_LIMIT;
  }
  int rc = parse_value(&p, 0);
  if (rc == CXM_E_NOMEM) {
    snprintf(j->err, sizeof j->err, "JSON: no memory for the tokens");
    return rc;
  }
  if (rc) return rc;
  skip_ws(&p);
  if (p.pos != len) return fail(&p, "text after the value");
  return CXM_OK;
}

/* Compares the string token i with the NUL-terminated key. */
static int key_is(const cxm_json *j, const char *s, uint32_t i, const char *key) {
  const cxm_jtok *t = &j->tok[i];
  size_t kl = strlen(key);
  if (!t->has_escape) return t->len == kl && memcmp(s + t->start, key, kl) == 0;
  char buf[256];
  int64_t n = cxm__json_str(j, s, i, buf, sizeof buf);
  return n >= 0 && (size_t)n == kl && memcmp(buf, key, kl) == 0;
}

int64_t cxm__json_get(const cxm_json *j, const char *s, int64_t obj,
                      const char *key) {
  if (obj < 0 || (uint32_t)obj >= j->n || j->tok[obj].type != CXM_JT_OBJECT)
    return -1;
  int64_t found = -1;
  uint32_t i = (uint32_t)obj + 1;
  for (uint32_t m = 0; m < j->tok[obj].count; m++) {
    if (key_is(j, s, i, key)) found = i + 1;
    i = cxm__json_next(j, i + 1);
  }
  return found;
}

static size_t put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static uint32_t hex4(const char *p) {
  return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 |
                    hexval(p[3]));
}

int64_t cxm__json_str(const cxm_json *j, const char *s, uint32_t i, char *buf,
                      size_t cap) {
  const cxm_jtok *t = &j->tok[i];
  if (t->type != CXM_JT_STRING) return -1;
  const char *p = s + t->start, *end = p + t->len;
  size_t n = 0;
  if (cap == 0) return -2;
  while (p < end) {
    char tmp[4];
    size_t k;
    if (*p != '\\') {
      tmp[0] = *p++;
      k = 1;
    } else {
      char e = p[1];
      p += 2;
      switch (e) {
        case 'b': tmp[0] = '\b'; k = 1; break;
        case 'f': tmp[0] = '\f'; k = 1; break;
        case 'n': tmp[0] = '\n'; k = 1; break;
        case 'r': tmp[0] = '\r'; k = 1; break;
        case 't': tmp[0] = '\t'; k = 1; break;
        case 'u': {
          uint32_t cp = hex4(p);
          p += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* a high surrogate must be followed by an escaped low one */
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -3;
            uint32_t lo = hex4(p + 2);
            if (lo < 0xDC00 || lo > 0xDFFF) return -3;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return -3;
          }
          k = put_utf8(tmp, cp);
          break;
        }
        default: tmp[0] = e; k = 1; break; /* " \ / */
      }
    }
    if (n + k >= cap) return -2;
    memcpy(buf + n, tmp, k);
    n += k;
  }
  buf[n] = 0;
  return (int64_t)n;
}

int cxm__json_num(const cxm_json *j, const char *s, uint32_t i, double *out) {
  const cxm_jtok *t = &j->tok[i];
  char buf[128];
  if (t->type != CXM_JT_NUMBER) return CXM_E_PARSE;
  /* strtod follows LC_NUMERIC: write the point the locale expects. */
  const char *dp = localeconv()->decimal_point;
  size_t dpl = dp && *dp ? strlen(dp) : 1;
  if (!dp || !*dp) dp = ".";
  size_t k = 0;
  for (uint32_t c = 0; c < t->len; c++) {
    char ch = s[t->start + c];
    if (ch == '.') {
      if (k + dpl >= sizeof buf) return CXM_E_PARSE;
      memcpy(buf + k, dp, dpl);
      k += dpl;
    } else {
      if (k + 1 >= sizeof buf) return CXM_E_PARSE;
      buf[k++] = ch;
    }
  }
  buf[k] = 0;
  char *end;
  double v = strtod(buf, &end);
  if (end != buf + k || !isfinite(v)) return CXM_E_PARSE;
  *out = v;
  return CXM_OK;
}
