/*
 * csv.c - the canonical CSV reader: a streaming RFC 4180 tokenizer that
 * turns records into column batches for cxm_events_add().
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * Design
 * - Bytes may be split anywhere across cxm_csv_feed() calls. Complete
 *   records are parsed straight from the caller's buffer; only the one
 *   record that straddles two calls is copied (the "carry").
 * - A record without any '"' (the common case) is read in one pass:
 *   fast_record() takes bit masks of its commas and of its line end per
 *   64-byte block (SSE2) and hands the fields straight to their columns'
 *   slots. Near the end of a buffer, or past 256 bytes, the record is found
 *   with memchr('\n') and split by split_plain(), which gives the same
 *   fields. A record with quotes goes through a small state machine that
 *   also knows where quoted newlines are. Quotes count
 *   only at the start of a field; a quote inside an unquoted field, or
 *   bytes after a closing quote, are kept literally (lenient, like most
 *   readers), so a free-text column can never desynchronise the stream
 *   except by an unterminated quoted field, which runs to the end of input
 *   and is then rejected, or past CXM_CSV_RECORD_MAX bytes, where the
 *   record is dropped up to the next line end.
 * - Events are buffered as columns (CXM_CSV_BATCH of them) and committed
 *   with cxm_events_add(); all are committed by cxm_csv_finish(). Rejected
 *   lines (by the parser or by the core) are reported to the error handler
 *   in line order, at the time their batch is committed.
 * - Nothing is allocated per field or per record; channel labels, event
 *   type names and `segments` strings go through small caches (labels of up
 *   to 16 bytes compared as two zero-padded words). Ten-digit Unix times
 *   and short decimals are parsed inline; anything else goes to
 *   cxm__time_parse() and parse_num(), which give the same values.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"
#include "timeparse.h"

#define CXM_CSV_BATCH 4096        /* events per cxm_events_add() call */
#define CXM_CSV_PENDING 256       /* parser rejections held per batch */
#define CXM_CSV_MSG 192           /* bytes of a rejection message */
#define CXM_CSV_CH_CACHE 64       /* channel label cache entries (2^k) */
#define CXM_CSV_SEG_CACHE 256     /* segments string cache entries (2^k) */
#define CXM_CSV_SEG_CACHE_LEN 58  /* longest cached segments string */
#define CXM_CSV_TYPE_SLOTS 64     /* event type name table (2^k) */
#define CXM_CSV_SEG_LABELS 64     /* labels in one segments field, at most */
#define CXM_CSV_FILE_CHUNK ((size_t)1 << 20)
/* Records longer than this (before their '\n') take the general path
 * (a multiple of 64). */
#define CXM_CSV_FAST_MAX 256
/* Bytes of one record (before its '\n'), at most: bounds the carry, so that
 * an unterminated quote cannot buffer the rest of the stream. Overridable
 * only so that a fuzzer can reach it with small inputs. */
#ifndef CXM_CSV_RECORD_MAX
#define CXM_CSV_RECORD_MAX ((size_t)1 << 20)
#endif
/* Customer id bytes buffered before a batch is committed early. */
#define CXM_CSV_IDS_FLUSH ((size_t)16 << 20)

/* Column roles. */
enum { R_TIME, R_CUSTOMER, R_TYPE, R_CHANNEL, R_VALUE, R_VALUE2, R_SEGMENTS,
       R_COUNT };
static const char *const role_names[R_COUNT] = {
    "time", "customer", "type", "channel", "value", "value2", "segments"};

/* Record scanner states. */
enum { S_START, S_UNQ, S_QUO, S_QQ };

typedef struct fld {
  const char *p;
  size_t n;
} fld;

typedef struct pending {
  uint64_t line;
  int status;
  char msg[CXM_CSV_MSG];
} pending;

/* A rejection the core reported through its hook during a batch. */
typedef struct core_rej {
  uint32_t idx;
  int status;
  uint32_t off; /* of its message in core_text */
} core_rej;

typedef struct chc_entry {
  int32_t id; /* -2 = empty */
  uint8_t len;
  char label[CXM_LABEL_MAX];
} chc_entry;

typedef struct segc_entry {
  int32_t id; /* -2 = empty */
  uint8_t len;
  char text[CXM_CSV_SEG_CACHE_LEN];
} segc_entry;

/* A field of at most 16 bytes as two zero-padded words (see load16()),
 * with what it maps to. */
typedef struct key16 {
  uint64_t w0, w1;
  int32_t id;   /* type tables: 0 = empty slot; channel cache: -2 = empty */
  uint32_t len;
} key16;

struct cxm_csv {
  cxm_ctx *ctx;
  cxm_csv_error_fn err_fn;
  void *err_user;

  /* the current stream */
  int have_header;
  int failed;       /* sticky: bad header or no memory, until finish */
  uint64_t line;    /* physical lines consumed */
  uint8_t bom_n;    /* bytes of a UTF-8 BOM matched at the stream start */
  uint8_t bom_done;

  /* header: role of each column (-1 = ignored) */
  int8_t *roles;
  size_t roles_cap;
  size_t ncols;
  size_t maxcol; /* 1 + the last column with a role */
  /* fast_record()'s field slot of each column (R_COUNT: ignored, and all
   * columns from maxcol on, as many as a record it takes can have), when
   * maxcol <= 64 (else fast_cols is 0) */
  uint8_t fslot[CXM_CSV_FAST_MAX + 64];
  int fast_cols;

  /* the record straddling two feeds */
  char *carry;
  size_t carry_len, carry_cap;
  int carry_state;
  uint64_t carry_nl; /* newlines inside quotes so far */

  /* an over-long record being dropped up to the next '\n' */
  int skipping;
  uint64_t skip_line, skip_nl;

  /* end of the readable bytes around the current record */
  const char *safe_end;

  /* unquoted field bytes of the current record */
  char *scratch;
  size_t scratch_cap;

  /* the batch */
  size_t n;
  int64_t *times;
  int32_t *types;
  int32_t *channels;
  double *values;
  double *values2;
  int32_t *segsets;
  int64_t *offs; /* n + 1 */
  int32_t *statuses;
  uint64_t *lines;
  uint8_t *ids;
  size_t ids_len, ids_cap;

  /* parser rejections of the batch, in line order */
  pending *pend;
  size_t npend;

  /* the core's messages for the batch's rejected events, in index order */
  core_rej *crej;
  size_t ncrej, crej_cap;
  char *core_text;
  size_t core_text_len, core_text_cap;

  /* the first 8 bytes of the last 10-digit time and their value */
  uint64_t t8_bytes;
  uint32_t t8_value;

  /* status to return from the current call (e.g. an event hit NOMEM) */
  int deferred;

  /* caches */
  key16 types_tab[CXM_CSV_TYPE_SLOTS];
  key16 chf[CXM_CSV_CH_CACHE]; /* raw channel fields of <= 16 bytes */
  chc_entry chc[CXM_CSV_CH_CACHE];
  segc_entry segc[CXM_CSV_SEG_CACHE];

  /* counters, over all streams */
  uint64_t n_lines, n_acc, n_rej;
};

/* ---- small helpers ------------------------------------------------------ */

/* Cache slot hash over the whole string (n >= 1), a word at a time (a
 * collision only costs a cache miss: entries are compared in full). */
static inline uint32_t cache_hash(const char *s, size_t n) {
  uint64_t h = (uint64_t)n * UINT64_C(0x9E3779B97F4A7C15);
  uint64_t w;
  if (n >= 8) {
    const char *last = s + n - 8; /* the tail overlaps the previous word */
    while (s < last) {
      memcpy(&w, s, 8);
      h = (h ^ w) * UINT64_C(0xBF58476D1CE4E5B9);
      s += 8;
    }
    memcpy(&w, last, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    w = ((uint64_t)a << 32) | b;
  } else {
    w = ((uint64_t)(unsigned char)s[0] << 16) |
        ((uint64_t)(unsigned char)s[n / 2] << 8) | (unsigned char)s[n - 1];
  }
  h = (h ^ w) * UINT64_C(0xBF58476D1CE4E5B9);
  h ^= h >> 31;
  h *= UINT64_C(0x94D049BB133111EB);
  return (uint32_t)(h >> 32);
}

/* memcmp(a, b, n) == 0 for short strings, without a library call. */
static inline int same_bytes(const char *a, const char *b, size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) return 0;
  }
  if (n >= 4) {
    uint32_t x, y, x2, y2;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    memcpy(&x2, a + n - 4, 4);
    memcpy(&y2, b + n - 4, 4);
    return x == y && x2 == y2;
  }
  for (; n > 0; n--)
    if (*a++ != *b++) return 0;
  return 1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CXM_CSV_LE 1
#endif

/*
 * The n <= 16 bytes at s as two words, zero past n, so that equal fields
 * (with equal lengths) give equal words. When 16 bytes can be read before
 * @p safe, they are loaded at once and the excess masked off; a NULL
 * @p safe (s is in an unknown buffer) copies.
 */
static inline void load16(const char *s, size_t n, const char *safe,
                          uint64_t *w0, uint64_t *w1) {
  uint64_t a, b;
#ifdef CXM_CSV_LE
  if (safe && (size_t)(safe - s) >= 16) {
    /* masks of the first n bytes, n = 0..16, as two words */
    static const uint64_t lo[17] = {
        0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFF, 0xFFFFFFFFFFFF,
        0xFFFFFFFFFFFFFF, ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0),
        ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0),
        ~UINT64_C(0)};
    memcpy(&a, s, 8);
    memcpy(&b, s + 8, 8);
    a &= lo[n];
    b &= lo[n - (n < 8 ? n : 8)];
  } else
#endif
  {
    char t[16] = {0};
    (void)safe;
    memcpy(t, s, n);
    memcpy(&a, t, 8);
    memcpy(&b, t + 8, 8);
  }
  *w0 = a;
  *w1 = b;
}

/* Slot hash of a 16-byte key: one multiplication (a collision only costs a
 * probe; keys are compared in full). */
static inline uint32_t hash16(uint64_t w0, uint64_t w1, size_t n) {
  uint64_t h = (w0 ^ (w1 + n)) * UINT64_C(0xBF58476D1CE4E5B9);
  return (uint32_t)(h >> 40);
}

static inline int same16(const key16 *e, uint64_t w0, uint64_t w1, size_t n) {
  return e->w0 == w0 && e->w1 == w1 && e->len == n;
}

/* Copy a customer id: constant-size moves for the short ones. */
static inline void copy_id(uint8_t *d, const char *s, size_t n) {
  if (n >= 16 && n <= 32) {
    memcpy(d, s, 16);
    memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8 && n < 16) {
    memcpy(d, s, 8);
    memcpy(d + n - 8, s + n - 8, 8);
  } else if (n > 0) {
    memcpy(d, s, n);
  }
}

static inline void trim(const char **p, size_t *n) {
  const char *s = *p;
  size_t k = *n;
  /* Blank and tab are below '!': one test per end in the common case. */
  if (k == 0 || ((unsigned char)s[0] > ' ' && (unsigned char)s[k - 1] > ' '))
    return;
  while (k > 0 && (s[0] == ' ' || s[0] == '\t')) {
    s++;
    k--;
  }
  while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t')) k--;
  *p = s;
  *n = k;
}

static int grow(cxm_ctx *ctx, void **buf, size_t *cap, size_t need,
                size_t elem) {
  size_t nc = *cap ? *cap : 64;
  void *nb;
  if (need <= *cap) return CXM_OK;
  while (nc < need) {
    if (nc > SIZE_MAX / 2 / elem) return CXM_E_NOMEM;
    nc *= 2;
  }
  nb = cxm__realloc(ctx, *buf, *cap * elem, nc * elem);
  if (!nb) return CXM_E_NOMEM;
  *buf = nb;
  *cap = nc;
  return CXM_OK;
}

/* ---- numbers ------------------------------------------------------------ */

static const double pow10_tab[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int isdig(char c) { return c >= '0' && c <= '9'; }

/* Slow path: strtod on a NUL-terminated copy, with '.' replaced by the
 * current locale's decimal point (strtod follows LC_NUMERIC). */
static int num_strtod(const char *s, size_t n, double *out) {
  char buf[128];
  const char *dp = localeconv()->decimal_point;
  size_t dpl = dp ? strlen(dp) : 0;
  size_t k = 0;
  char *end;
  double v;
  if (dpl == 0) {
    dp = ".";
    dpl = 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '.') {
      if (k + dpl >= sizeof buf) return CXM_E_PARSE;
      memcpy(buf + k, dp, dpl);
      k += dpl;
    } else {
      if (k + 1 >= sizeof buf) return CXM_E_PARSE;
      buf[k++] = s[i];
    }
  }
  buf[k] = '\0';
  v = strtod(buf, &end);
  if (end != buf + k || !isfinite(v)) return CXM_E_PARSE;
  *out = v;
  return CXM_OK;
}

/*
 * A decimal number: [+-]digits[.digits][(e|E)[+-]digits], or with the
 * digits only after the point (".5"). Blanks around it are ignored; empty
 * means absent (NaN). The result is the double nearest to the decimal
 * value, as strtod() gives: when the significant digits fit in 2^53 and the
 * power of ten is at most 22, the digits and the power are exact doubles and
 * one IEEE multiplication or division rounds correctly; otherwise strtod().
 */
static int parse_num(const char *s, size_t n, double *out) {
  size_t i = 0;
  int neg = 0, nd = 0, seen = 0, inexact = 0;
  int64_t dexp = 0;
  uint64_t m = 0;
  trim(&s, &n);
  if (n == 0) {
    *out = NAN;
    return CXM_OK;
  }
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  for (; i < n && isdig(s[i]); i++) {
    seen = 1;
    if (m == 0 && s[i] == '0') continue;
    if (nd < 19) {
      m = m * 10 + (uint64_t)(s[i] - '0');
      nd++;
    } else {
      dexp++;
      inexact = 1;
    }
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n && isdig(s[i]); i++) {
      seen = 1;
      if (m == 0 && s[i] == '0') {
        dexp--;
        continue;
      }
      if (nd < 19) {
        m = m * 10 + (uint64_t)(s[i] - '0');
        nd++;
        dexp--;
      } else {
        inexact = 1;
      }
    }
  }
  if (!seen) return CXM_E_PARSE;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int eneg = 0, ed = 0;
    int64_t e = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    for (; i < n && isdig(s[i]); i++, ed++)
      if (e < 100000) e = e * 10 + (s[i] - '0');
    if (ed == 0) return CXM_E_PARSE;
    dexp += eneg ? -e : e;
  }
  if (i != n) return CXM_E_PARSE;
  if (m == 0) {
    *out = neg ? -0.0 : 0.0;
    return CXM_OK;
  }
  if (!inexact && m <= ((uint64_t)1 << 53) && dexp >= -22 && dexp <= 22) {
    double v = (double)m;
    v = dexp >= 0 ? v * pow10_tab[dexp] : v / pow10_tab[-dexp];
    *out = neg ? -v : v;
    return CXM_OK;
  }
  return num_strtod(s, n, out);
}

/*
 * The common number, [digits][.digits] in at most 15 bytes: at most 15
 * digits, so the digits are an exact double below 2^53 and one division
 * by an exact power of ten rounds correctly; the same value as parse_num()
 * (which would find the same digits and exponent). Returns 0 for anything
 * else (parse_num() decides).
 */
static inline int num_fast(const char *s, size_t n, double *out) {
  uint64_t m = 0;
  size_t dot = n;
  if (n > 15) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d < 10)
      m = m * 10 + d;
    else if (s[i] == '.' && dot == n)
      dot = i;
    else
      return 0;
  }
  if (dot == n) {
    *out = (double)m;
    return 1;
  }
  if (n == 1) return 0; /* "." alone */
  *out = (double)m / pow10_tab[n - 1 - dot];
  return 1;
}

/* ---- rejections --------------------------------------------------------- */

static void report(cxm_csv *r, uint64_t line, int status, const char *msg) {
  r->n_rej++;
  if (r->err_fn) r->err_fn(r->err_user, line, status, msg);
}

/* The reason the core gave for event i, as precise as its fields allow. */
static void core_detail(const cxm_csv *r, size_t i, int status, char *buf,
                        size_t cap) {
  const char *tn = cxm_event_type_name(r->types[i]);
  const char *why;
  int64_t t = r->times[i];
  switch (status) {
    case CXM_E_RANGE:
      if (t < CXM_TIME_FIRST || t > CXM_TIME_LAST)
        why = "time outside 1970-01-01..2105-12-31";
      else
        why = "number outside the range of its event type";
      break;
    case CXM_E_MISSING:
      if (r->offs[i + 1] == r->offs[i] && r->types[i] != CXM_EV_SPEND)
        why = "customer id missing";
      else
        why = "required number missing in column 'value'";
      break;
    case CXM_E_LATE:
      why = "older than the lateness bound for its customer or channel";
      break;
    case CXM_E_TYPE:
      why = "event type not accepted";
      break;
    default:
      why = "event not accepted";
      break;
  }
  snprintf(buf, cap, "line %llu: %s (%s event): %s",
           (unsigned long long)r->lines[i], why, tn ? tn : "unknown",
           cxm_strerror(status));
}

/* The core's hook, called in index order for each event it rejects
 * during cxm_events_add(): keep the message; it is reported once the batch
 * is done (the error handler may call back into the handle, which must not
 * happen in the middle of a batch). */
static void on_core_reject(void *user, size_t idx, int status,
                           const char *msg) {
  cxm_csv *r = user;
  size_t len = strlen(msg) + 1;
  void *b;
  if (idx >= r->n) return;
  if (r->ncrej == r->crej_cap) {
    b = r->crej;
    if (grow(r->ctx, &b, &r->crej_cap, r->ncrej + 1, sizeof *r->crej) !=
        CXM_OK)
      return; /* the generic reason will do */
    r->crej = b;
  }
  if (r->core_text_cap - r->core_text_len < len) {
    b = r->core_text;
    if (grow(r->ctx, &b, &r->core_text_cap, r->core_text_len + len, 1) !=
        CXM_OK)
      return;
    r->core_text = b;
  }
  memcpy(r->core_text + r->core_text_len, msg, len);
  r->crej[r->ncrej].idx = (uint32_t)idx;
  r->crej[r->ncrej].status = status;
  r->crej[r->ncrej].off = (uint32_t)r->core_text_len;
  r->ncrej++;
  r->core_text_len += len;
}

/* Commit the batch and report its rejections (parser and core) in order. */
static int flush(cxm_csv *r) {
  size_t n = r->n, j = 0, k = 0;
  int rc = CXM_OK, st = CXM_OK;
  char msg[CXM_CSV_MSG + 256];
  if (n > 0) {
    size_t acc = 0;
    cxm_ctx *ctx = r->ctx;
    void (*saved)(void *, size_t, int, const char *) = ctx->on_reject;
    void *saved_user = ctx->on_reject_user;
    r->offs[n] = (int64_t)r->ids_len;
    for (size_t i = 0; i < n; i++) r->statuses[i] = -1;
    r->ncrej = 0;
    r->core_text_len = 0;
    ctx->on_reject = on_core_reject;
    ctx->on_reject_user = r;
    st = cxm_events_add(ctx, n, r->times, r->types, r->ids, r->offs,
                        r->channels, r->values, r->values2, r->segsets, &acc,
                        r->statuses);
    ctx->on_reject = saved;
    ctx->on_reject_user = saved_user;
    if (st == CXM_OK && acc == n && r->npend == 0) {
      /* nothing to report: the common batch */
      r->n_acc += n;
      n = 0;
    }
  }
  for (size_t i = 0; i < n; i++) {
    int s = r->statuses[i];
    if (s == -1) s = st; /* not written: the batch's status applies */
    while (j < r->npend && r->pend[j].line < r->lines[i]) {
      report(r, r->pend[j].line, r->pend[j].status, r->pend[j].msg);
      j++;
    }
    while (k < r->ncrej && r->crej[k].idx < i) k++;
    if (s == CXM_OK) {
      r->n_acc++;
      continue;
    }
    if (s == CXM_E_NOMEM) rc = CXM_E_NOMEM;
    if (k < r->ncrej && r->crej[k].idx == i && r->crej[k].status == s)
      snprintf(msg, sizeof msg, "line %llu: %s: %s",
               (unsigned long long)r->lines[i],
               r->core_text + r->crej[k].off, cxm_strerror(s));
    else
      core_detail(r, i, s, msg, sizeof msg);
    report(r, r->lines[i], s, msg);
  }
  for (; j < r->npend; j++)
    report(r, r->pend[j].line, r->pend[j].status, r->pend[j].msg);
  r->n = 0;
  r->npend = 0;
  r->ids_len = 0;
  r->ncrej = 0;
  r->core_text_len = 0;
  if (rc != CXM_OK) {
    cxm__seterr(r->ctx, rc, "CSV: events were rejected for lack of memory");
    r->deferred = rc;
  }
  return rc;
}

static void reject(cxm_csv *r, uint64_t line, int status, const char *fmt,
                   ...) CXM_PRINTF(4, 5);

/* A line the parser rejects: held until its batch is committed. */
static void reject(cxm_csv *r, uint64_t line, int status, const char *fmt,
                   ...) {
  pending *p;
  va_list ap;
  int k;
  if (r->npend == CXM_CSV_PENDING) flush(r);
  p = &r->pend[r->npend++];
  p->line = line;
  p->status = status;
  k = snprintf(p->msg, sizeof p->msg, "line %llu: ", (unsigned long long)line);
  if (k < 0) k = 0;
  va_start(ap, fmt);
  vsnprintf(p->msg + k, sizeof p->msg - (size_t)k, fmt, ap);
  va_end(ap);
  k = (int)strlen(p->msg);
  snprintf(p->msg + k, sizeof p->msg - (size_t)k, ": %s",
           cxm_strerror(status));
}

/* ---- lookups ------------------------------------------------------------ */

/* The field's bytes as they are first (names have no blanks), then trimmed
 * through the library's own table. */
static inline int lookup_type(cxm_csv *r, const char *s, size_t n,
                              int32_t *type) {
  if (n <= 16) {
    uint64_t w0, w1;
    uint32_t h;
    load16(s, n, r->safe_end, &w0, &w1);
    h = hash16(w0, w1, n);
    for (uint32_t k = 0; k < CXM_CSV_TYPE_SLOTS; k++) {
      const key16 *e = &r->types_tab[(h + k) & (CXM_CSV_TYPE_SLOTS - 1)];
      if (e->id == 0) break;
      if (same16(e, w0, w1, n)) {
        *type = e->id;
        return CXM_OK;
      }
    }
  }
  trim(&s, &n);
  return cxm_event_type_from_name(s, n, type) == CXM_OK ? CXM_OK : CXM_E_TYPE;
}

/* Two-way caches: an entry lives in slot h or h ^ 1. */
static int lookup_channel_slow(cxm_csv *r, const char *s, size_t n,
                               int32_t *id) {
  chc_entry *e, *e2;
  uint32_t h;
  int rc;
  trim(&s, &n);
  if (n == 0) {
    *id = CXM_NO_CHANNEL;
    return CXM_OK;
  }
  if (n > CXM_LABEL_MAX) return CXM_E_LIMIT;
  h = cache_hash(s, n) & (CXM_CSV_CH_CACHE - 1);
  e = &r->chc[h];
  e2 = &r->chc[h ^ 1];
  if (e->len == n && e->id >= 0 && same_bytes(e->label, s, n)) {
    *id = e->id;
    return CXM_OK;
  }
  if (e2->len == n && e2->id >= 0 && same_bytes(e2->label, s, n)) {
    *id = e2->id;
    return CXM_OK;
  }
  rc = cxm_channel_intern(r->ctx, s, n, id);
  if (rc != CXM_OK) return rc;
  if (e->id >= 0 && e2->id < 0) e = e2;
  e->id = *id;
  e->len = (uint8_t)n;
  memcpy(e->label, s, n);
  return CXM_OK;
}

/* The raw field (blanks and all) first: the id is a function of its bytes,
 * whatever trimming does to them. */
static inline int lookup_channel(cxm_csv *r, const char *s, size_t n,
                                 int32_t *id) {
  uint64_t w0, w1;
  key16 *e, *e2;
  uint32_t h;
  int rc;
  if (n == 0) {
    *id = CXM_NO_CHANNEL;
    return CXM_OK;
  }
  if (n > 16) return lookup_channel_slow(r, s, n, id);
  load16(s, n, r->safe_end, &w0, &w1);
  h = hash16(w0, w1, n) & (CXM_CSV_CH_CACHE - 1);
  e = &r->chf[h];
  e2 = &r->chf[h ^ 1];
  if (same16(e, w0, w1, n) && e->id >= 0) {
    *id = e->id;
    return CXM_OK;
  }
  if (same16(e2, w0, w1, n) && e2->id >= 0) {
    *id = e2->id;
    return CXM_OK;
  }
  rc = lookup_channel_slow(r, s, n, id);
  if (rc != CXM_OK) return rc;
  if (e->id >= 0 && e2->id < 0) e = e2;
  e->w0 = w0;
  e->w1 = w1;
  e->len = (uint32_t)n;
  e->id = *id;
  return CXM_OK;
}

static int lookup_segments(cxm_csv *r, const char *s, size_t n, int32_t *set,
                           const char **why) {
  int32_t ids[CXM_CSV_SEG_LABELS];
  size_t k = 0, i = 0;
  segc_entry *e = NULL;
  int rc;
  trim(&s, &n);
  if (n == 0) {
    *set = -1;
    return CXM_OK;
  }
  if (n == 1 && s[0] == '-') {
    *set = 0;
    return CXM_OK;
  }
  if (n <= CXM_CSV_SEG_CACHE_LEN) {
    uint32_t h = cache_hash(s, n) & (CXM_CSV_SEG_CACHE - 1);
    segc_entry *e2 = &r->segc[h ^ 1];
    e = &r->segc[h];
    if (e->len == n && e->id >= 0 && same_bytes(e->text, s, n)) {
      *set = e->id;
      return CXM_OK;
    }
    if (e2->len == n && e2->id >= 0 && same_bytes(e2->text, s, n)) {
      *set = e2->id;
      return CXM_OK;
    }
    if (e->id >= 0 && e2->id < 0) e = e2;
  }
  while (i <= n) {
    const char *lp = s + i;
    const char *semi = memchr(lp, ';', n - i);
    size_t ln = semi ? (size_t)(semi - lp) : n - i;
    i += ln + 1;
    trim(&lp, &ln);
    if (ln == 0) continue;
    if (k == CXM_CSV_SEG_LABELS) {
      *why = "too many segment labels";
      return CXM_E_LIMIT;
    }
    if (ln > CXM_LABEL_MAX) {
      *why = "segment label too long";
      return CXM_E_LIMIT;
    }
    rc = cxm_segment_intern(r->ctx, lp, ln, &ids[k]);
    if (rc != CXM_OK) {
      *why = "segment label not accepted";
      return rc;
    }
    k++;
  }
  if (k == 0) {
    *why = "segments without a label (use '-' to clear)";
    return CXM_E_PARSE;
  }
  rc = cxm_segset_intern(r->ctx, ids, k, set);
  if (rc != CXM_OK) {
    *why = "segment set not accepted";
    return rc;
  }
  if (e) {
    e->id = *set;
    e->len = (uint8_t)n;
    memcpy(e->text, s, n);
  }
  return CXM_OK;
}

/* ---- records ------------------------------------------------------------ */

/*
 * cxm__time_parse() with the common case inline: ten digits, Unix seconds
 * from 2001-09-09 to 2286-11-20. Consecutive lines of a stream in time
 * order share their first 8 digits for 100 s, so those are kept with their
 * value (bytes known to be digits: equal bytes are digits too).
 */
static inline int time_field(cxm_csv *r, const char *s, size_t n,
                             int64_t *t) {
#ifdef CXM_HAVE_EIGHT_DIGITS
  if (n == 10) {
    uint64_t w;
    uint32_t hi;
    unsigned d8 = (unsigned)(unsigned char)s[8] - '0';
    unsigned d9 = (unsigned)(unsigned char)s[9] - '0';
    memcpy(&w, s, 8);
    if (w == r->t8_bytes) {
      hi = r->t8_value;
    } else if (cxm__eight_digits(s, &hi)) {
      r->t8_bytes = w;
      r->t8_value = hi;
    } else {
      return cxm__time_parse(s, n, r->ctx->utc_offset, t);
    }
    if (d8 < 10 && d9 < 10) {
      *t = (int64_t)hi * 100 + d8 * 10 + d9;
      return CXM_OK;
    }
  }
#endif
  return cxm__time_parse(s, n, r->ctx->utc_offset, t);
}

static inline int add_event(cxm_csv *r, const fld *f, uint64_t line) {
  int64_t t;
  int32_t type, ch, set;
  double v, v2;
  const char *why = "";
  int rc;
  size_t i, cn;

  if (f[R_TIME].n == 0) {
    reject(r, line, CXM_E_PARSE, "missing time");
    return CXM_OK;
  }
  if (time_field(r, f[R_TIME].p, f[R_TIME].n, &t) != CXM_OK) {
    reject(r, line, CXM_E_PARSE,
           "bad time (%zu bytes; expected Unix seconds or ISO-8601)",
           f[R_TIME].n);
    return CXM_OK;
  }
  if (f[R_TYPE].n == 0) {
    reject(r, line, CXM_E_PARSE, "missing event type");
    return CXM_OK;
  }
  if (lookup_type(r, f[R_TYPE].p, f[R_TYPE].n, &type) != CXM_OK) {
    reject(r, line, CXM_E_TYPE, "unknown event type (%zu bytes)",
           f[R_TYPE].n);
    return CXM_OK;
  }
  v = v2 = NAN;
  if (f[R_VALUE].n && !num_fast(f[R_VALUE].p, f[R_VALUE].n, &v) &&
      parse_num(f[R_VALUE].p, f[R_VALUE].n, &v) != CXM_OK) {
    reject(r, line, CXM_E_PARSE, "bad number in column 'value' (%zu bytes)",
           f[R_VALUE].n);
    return CXM_OK;
  }
  if (f[R_VALUE2].n && !num_fast(f[R_VALUE2].p, f[R_VALUE2].n, &v2) &&
      parse_num(f[R_VALUE2].p, f[R_VALUE2].n, &v2) != CXM_OK) {
    reject(r, line, CXM_E_PARSE, "bad number in column 'value2' (%zu bytes)",
           f[R_VALUE2].n);
    return CXM_OK;
  }
  rc = lookup_channel(r, f[R_CHANNEL].p, f[R_CHANNEL].n, &ch);
  if (rc != CXM_OK) {
    if (rc == CXM_E_NOMEM) r->deferred = rc;
    reject(r, line, rc, "channel label not accepted (%zu bytes)",
           f[R_CHANNEL].n);
    return CXM_OK;
  }
  if (f[R_SEGMENTS].n == 0) {
    set = -1;
    rc = CXM_OK;
  } else {
    rc = lookup_segments(r, f[R_SEGMENTS].p, f[R_SEGMENTS].n, &set, &why);
  }
  if (rc != CXM_OK) {
    if (rc == CXM_E_NOMEM) r->deferred = rc;
    reject(r, line, rc, "%s", why);
    return CXM_OK;
  }

  cn = f[R_CUSTOMER].n;
  if (r->ids_cap - r->ids_len < cn) {
    void *b = r->ids;
    rc = grow(r->ctx, &b, &r->ids_cap, r->ids_len + cn, 1);
    if (rc != CXM_OK) {
      r->deferred = rc;
      reject(r, line, rc, "no memory for the customer id");
      return CXM_OK;
    }
    r->ids = b;
  }
  i = r->n;
  copy_id(r->ids + r->ids_len, f[R_CUSTOMER].p, cn);
  r->offs[i] = (int64_t)r->ids_len;
  r->ids_len += cn;
  r->times[i] = t;
  r->types[i] = type;
  r->channels[i] = ch;
  r->values[i] = v;
  r->values2[i] = v2;
  r->segsets[i] = set;
  r->lines[i] = line;
  r->n = i + 1;
  if (r->n == CXM_CSV_BATCH || r->ids_len >= CXM_CSV_IDS_FLUSH) flush(r);
  return CXM_OK;
}

static void put_field(cxm_csv *r, fld *f, size_t col, const char *p,
                      size_t n) {
  if (col < r->ncols) {
    int role = r->roles[col];
    if (role >= 0) {
      f[role].p = p;
      f[role].n = n;
    }
  }
}

/*
 * Bit i of the result is set when p[i] is ',' (0 <= i < n <= 64). Bytes up
 * to @p safe (the end of the readable buffer) may be loaded beyond p + n;
 * they are masked off. SSE2 where the compiler has it, else a portable loop.
 */
static inline uint64_t comma_mask(const char *p, size_t n, const char *safe) {
  uint64_t mask = 0;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i commas = _mm_set1_epi8(',');
  for (; i < n; i += 16) {
    __m128i v;
    if ((size_t)(safe - (p + i)) >= 16) {
      v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    } else {
      char tmp[16] = {0};
      memcpy(tmp, p + i, n - i);
      v = _mm_loadu_si128((const __m128i *)(const void *)tmp);
    }
    mask |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, commas))
            << i;
  }
  if (n < 64) mask &= ((uint64_t)1 << n) - 1;
#else
  (void)safe;
  for (; i < n; i++) mask |= (uint64_t)(p[i] == ',') << i;
#endif
  return mask;
}

static inline unsigned lowest_bit(uint64_t m) {
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(m);
#else
  unsigned k = 0;
  while (!(m & 1)) {
    m >>= 1;
    k++;
  }
  return k;
#endif
}

/* Split a record that holds no '"': the commas of each 64-byte block are
 * found at once as a bit mask, then visited lowest first. */
static void split_plain(cxm_csv *r, const char *rec, size_t len, fld *f) {
  size_t col = 0, maxcol = r->maxcol, start = 0;
  for (size_t base = 0; base < len; base += 64) {
    size_t n = len - base < 64 ? len - base : 64;
    uint64_t m = comma_mask(rec + base, n, r->safe_end);
    while (m) {
      size_t pos = base + lowest_bit(m);
      put_field(r, f, col, rec + start, pos - start);
      if (++col >= maxcol) return;
      start = pos + 1;
      m &= m - 1;
    }
  }
  put_field(r, f, col, rec + start, len - start);
}

/*
 * The field at rec[*i] of a record that may hold quotes. A quoted field is
 * unescaped into *out (advanced); an unquoted one is returned in place.
 * Returns 1 when a comma follows (*i then points past it), 0 at the end.
 */
static int next_field(const char *rec, size_t len, size_t *i, char **out,
                      fld *f) {
  size_t k = *i;
  if (k < len && rec[k] == '"') {
    char *o = *out, *o0 = o;
    k++;
    while (k < len) {
      char c = rec[k++];
      if (c != '"') {
        *o++ = c;
      } else if (k < len && rec[k] == '"') {
        *o++ = '"';
        k++;
      } else {
        break;
      }
    }
    while (k < len && rec[k] != ',') *o++ = rec[k++]; /* lenient */
    f->p = o0;
    f->n = (size_t)(o - o0);
    *out = o;
  } else {
    const char *c = memchr(rec + k, ',', len - k);
    size_t e = c ? (size_t)(c - rec) : len;
    f->p = rec + k;
    f->n = e - k;
    k = e;
  }
  if (k >= len) {
    *i = len;
    return 0;
  }
  *i = k + 1;
  return 1;
}

/* Split a record with quotes; scratch must hold at least @p len bytes. */
static void split_quoted(cxm_csv *r, const char *rec, size_t len, fld *f) {
  size_t i = 0, col = 0;
  char *out = r->scratch;
  for (;;) {
    fld x;
    int more = next_field(rec, len, &i, &out, &x);
    put_field(r, f, col, x.p, x.n);
    if (!more || ++col >= r->maxcol) break;
  }
}

static int header_fail(cxm_csv *r, uint64_t line, const char *fmt,
                       const char *what) {
  char detail[128];
  snprintf(detail, sizeof detail, fmt, what);
  r->failed = cxm__seterr(r->ctx, CXM_E_PARSE, "CSV header (line %llu): %s",
                          (unsigned long long)line, detail);
  return r->failed;
}

static int on_header(cxm_csv *r, const char *rec, size_t len, uint64_t line) {
  int seen[R_COUNT] = {0};
  size_t i = 0, col = 0;
  char *out = r->scratch;
  int more = 1;
  /* Else a file with CR-only line ends would read as one long header and
   * no data, without any error. */
  if (memchr(rec, '\r', len))
    return header_fail(r, line, "a CR that does not end the line (%s line "
                       "ends are not supported)", "CR-only");
  while (more) {
    fld x;
    int role = -1;
    more = next_field(rec, len, &i, &out, &x);
    trim(&x.p, &x.n);
    for (int k = 0; k < R_COUNT && role < 0; k++) {
      size_t kl = strlen(role_names[k]), m = 0;
      if (kl != x.n) continue;
      while (m < kl && (x.p[m] | 0x20) == role_names[k][m]) m++;
      if (m == kl) role = k;
    }
    if (col >= r->roles_cap) {
      void *b = r->roles;
      int rc = grow(r->ctx, &b, &r->roles_cap, col + 1, 1);
      if (rc != CXM_OK) {
        r->failed = cxm__seterr(r->ctx, rc, "CSV header: no memory");
        return rc;
      }
      r->roles = b;
    }
    r->roles[col] = -1;
    if (role >= 0) {
      if (seen[role])
        return header_fail(r, line, "column '%s' appears twice",
                           role_names[role]);
      seen[role] = 1;
      r->roles[col] = (int8_t)role;
      r->maxcol = col + 1;
    }
    col++;
  }
  r->ncols = col;
  if (!seen[R_TIME])
    return header_fail(r, line, "no '%s' column (time and type are required)",
                       "time");
  if (!seen[R_TYPE])
    return header_fail(r, line, "no '%s' column (time and type are required)",
                       "type");
  r->fast_cols = r->maxcol <= 64;
  for (size_t c = 0; c < sizeof r->fslot; c++)
    r->fslot[c] = (uint8_t)(c < r->maxcol && r->fast_cols && r->roles[c] >= 0
                                ? r->roles[c]
                                : R_COUNT);
  r->have_header = 1;
  return CXM_OK;
}

/* One complete record (without its '\n'); @p nl newlines inside quotes. */
static int on_record(cxm_csv *r, const char *rec, size_t len, uint64_t nl,
                     int maybe_quoted) {
  uint64_t line = r->line + 1;
  fld f[R_COUNT];
  int quoted;
  r->line += 1 + nl;
  if (len > 0 && rec[len - 1] == '\r') len--;
  if (len == 0) return CXM_OK; /* blank line */
  quoted = maybe_quoted && memchr(rec, '"', len) != NULL;
  if (r->have_header) r->n_lines++;
  if (quoted && r->scratch_cap < len) {
    void *b = r->scratch;
    int rc = grow(r->ctx, &b, &r->scratch_cap, len, 1);
    if (rc != CXM_OK) {
      if (!r->have_header) {
        r->failed = cxm__seterr(r->ctx, rc, "CSV header: no memory");
        return rc;
      }
      r->deferred = rc;
      reject(r, line, rc, "no memory for a record of %zu bytes", len);
      return CXM_OK;
    }
    r->scratch = b;
  }
  if (!r->have_header) return on_header(r, rec, len, line);
  memset(f, 0, sizeof f);
  if (quoted) {
    /* Unescaped fields live in scratch, whose readable end is not
     * safe_end's. */
    const char *safe = r->safe_end;
    int rc;
    split_quoted(r, rec, len, f);
    r->safe_end = NULL;
    rc = add_event(r, f, line);
    r->safe_end = safe;
    return rc;
  }
  split_plain(r, rec, len, f);
  return add_event(r, f, line);
}

/*
 * Bits of the commas (*cm) and of the line ends (*nm) among the 64 bytes at
 * p, which must all be readable.
 */
static inline void masks64(const char *p, uint64_t *cm, uint64_t *nm) {
  uint64_t c = 0, n = 0;
#if defined(__SSE2__)
  const __m128i commas = _mm_set1_epi8(','), nls = _mm_set1_epi8('\n');
  /* written out: -O2 does not unroll the four steps */
#define CXM_CSV_M16(i)                                                      \
  do {                                                                      \
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + (i)));  \
    c |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, commas))   \
         << (i);                                                            \
    n |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nls))      \
         << (i);                                                            \
  } while (0)
  CXM_CSV_M16(0);
  CXM_CSV_M16(16);
  CXM_CSV_M16(32);
  CXM_CSV_M16(48);
#undef CXM_CSV_M16
#else
  for (unsigned i = 0; i < 64; i++) {
    c |= (uint64_t)(p[i] == ',') << i;
    n |= (uint64_t)(p[i] == '\n') << i;
  }
#endif
  *cm = c;
  *nm = n;
}


/*
 * The common record, read in one pass: a data line without '"' (the next
 * quote of the buffer, @p nq, lies past its '\n'), at most
 * CXM_CSV_FAST_MAX bytes, with 64 readable bytes from each block it
 * touches. Its line end and its commas are found together, block by block,
 * and the fields go straight to their roles: the same fields as
 * on_record() with split_plain(), without the separate memchr() and comma
 * passes. Returns the byte after the '\n', or NULL when the record is not
 * of that kind: then nothing has changed and the general path takes it.
 */
static const char *fast_record(cxm_csv *r, const char *p, const char *end,
                               const char *nq) {
  fld f[R_COUNT + 1]; /* f[R_COUNT] takes the ignored columns */
  const uint8_t *slot = r->fslot;
  size_t col = 0, start = 0, base = 0, len;
  uint64_t cm, nm;
  if (!r->fast_cols) return NULL;
  /* an absent column is an empty field; p is not read when n is 0 */
  for (int k = 0; k <= R_COUNT; k++) f[k].n = 0;
  for (;;) {
    if ((size_t)(end - p) - base < 64 || base >= CXM_CSV_FAST_MAX)
      return NULL;
    masks64(p + base, &cm, &nm);
    if (nm) cm &= ((uint64_t)1 << lowest_bit(nm)) - 1;
    while (cm) {
      size_t pos = base + lowest_bit(cm);
      fld *x = &f[slot[col]];
      x->p = p + start;
      x->n = pos - start;
      start = pos + 1;
      col++;
      cm &= cm - 1;
    }
    if (nm) break;
    base += 64;
  }
  len = base + lowest_bit(nm);
  if (p + len > nq || len > CXM_CSV_RECORD_MAX) return NULL;
  r->line++;
  if (len > 0 && p[len - 1] == '\r') len--;
  if (len > 0) {
    f[slot[col]].p = p + start;
    f[slot[col]].n = len - start;
    r->n_lines++;
    add_event(r, f, r->line);
  }
  return p + base + lowest_bit(nm) + 1;
}

/*
 * Advance the record scanner over [p, end) from state *st. Returns the
 * '\n' that ends the record, or NULL (then *st is the state at end).
 * Counts newlines inside quotes into *nl.
 */
static const char *scan_end(int *st, const char *p, const char *end,
                            uint64_t *nl) {
  int s = *st;
  while (p < end) {
    char c;
    if (s == S_QUO) {
      const char *q = memchr(p, '"', (size_t)(end - p));
      const char *lim = q ? q : end;
      const char *x = p;
      while ((x = memchr(x, '\n', (size_t)(lim - x))) != NULL) {
        (*nl)++;
        x++;
      }
      if (!q) {
        p = end;
        break;
      }
      p = q + 1;
      s = S_QQ;
      continue;
    }
    c = *p;
    if (c == '\n') {
      *st = S_START;
      return p;
    }
    if (c == ',')
      s = S_START;
    else if (c == '"')
      s = (s == S_START || s == S_QQ) ? S_QUO : S_UNQ;
    else
      s = S_UNQ;
    p++;
  }
  *st = s;
  return NULL;
}

static int carry_append(cxm_csv *r, const char *p, size_t n) {
  if (r->carry_cap - r->carry_len < n) {
    void *b = r->carry;
    int rc = grow(r->ctx, &b, &r->carry_cap, r->carry_len + n, 1);
    if (rc != CXM_OK) return rc;
    r->carry = b;
  }
  memcpy(r->carry + r->carry_len, p, n);
  r->carry_len += n;
  return CXM_OK;
}

/*
 * A record whose first CXM_CSV_RECORD_MAX + 1 bytes hold no record end
 * (with @p nl newlines inside quotes among them) starts at line
 * r->line + 1. It is dropped up to the first '\n' past that point, where
 * quotes no longer count, and rejected with CXM_E_LIMIT: an unterminated
 * quote loses one record, not the rest of the stream. The rule depends on
 * byte positions only, so it holds however the input is split.
 */
static int overlong_start(cxm_csv *r, uint64_t nl) {
  r->skipping = 1;
  r->skip_line = r->line + 1;
  r->skip_nl = nl;
  r->carry_len = 0;
  r->carry_nl = 0;
  r->carry_state = S_START;
  if (!r->have_header)
    r->failed = cxm__seterr(r->ctx, CXM_E_LIMIT,
                            "CSV header (line %llu): longer than %zu bytes",
                            (unsigned long long)r->skip_line,
                            CXM_CSV_RECORD_MAX);
  return r->failed;
}

static void overlong_end(cxm_csv *r) {
  r->skipping = 0;
  r->line = r->skip_line + r->skip_nl;
  r->n_lines++;
  reject(r, r->skip_line, CXM_E_LIMIT,
         "record longer than %zu bytes (dropped up to the next line end)",
         CXM_CSV_RECORD_MAX);
}

/* While dropping an over-long record: the byte after its '\n', or NULL
 * when [p, end) holds none (everything is dropped). */
static const char *skip_to_line(cxm_csv *r, const char *p, const char *end) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  if (!nl) return NULL;
  overlong_end(r);
  return nl + 1;
}

static int consume(cxm_csv *r, const char *p, size_t n) {
  const char *end = p + n;
  int rc;
  if (r->skipping && (p = skip_to_line(r, p, end)) == NULL) return CXM_OK;
  if (r->carry_len > 0) {
    size_t room = CXM_CSV_RECORD_MAX + 1 - r->carry_len;
    const char *lim = (size_t)(end - p) > room ? p + room : end;
    const char *re = scan_end(&r->carry_state, p, lim, &r->carry_nl);
    size_t take = re ? (size_t)(re - p) : (size_t)(lim - p);
    if (!re && take == room) {
      rc = overlong_start(r, r->carry_nl);
      if (rc != CXM_OK) return rc;
      if ((p = skip_to_line(r, lim, end)) == NULL) return CXM_OK;
    } else {
      rc = carry_append(r, p, take);
      if (rc != CXM_OK) {
        r->failed = cxm__seterr(r->ctx, rc, "CSV: no memory for a record of "
                                "%zu bytes", r->carry_len + take);
        return rc;
      }
      if (!re) return CXM_OK;
      r->safe_end = r->carry + r->carry_cap;
      rc = on_record(r, r->carry, r->carry_len, r->carry_nl, 1);
      r->carry_len = 0;
      r->carry_nl = 0;
      r->carry_state = S_START;
      if (rc != CXM_OK) return rc;
      p = re + 1;
    }
  }
  /* nq: the next '"' at or after p (end if none), found once per quote
   * rather than once per line. */
  const char *nq = memchr(p, '"', (size_t)(end - p));
  if (!nq) nq = end;
  r->safe_end = end;
  while (p < end) {
    const char *nl;
    if (nq < p) {
      nq = memchr(p, '"', (size_t)(end - p));
      if (!nq) nq = end;
    }
    if (r->have_header) {
      const char *next = fast_record(r, p, end, nq);
      if (next) {
        p = next;
        if (r->failed) return r->failed;
        continue;
      }
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    if (nl && nl < nq) {
      if ((size_t)(nl - p) > CXM_CSV_RECORD_MAX) {
        rc = overlong_start(r, 0);
        if (rc != CXM_OK) return rc;
        overlong_end(r);
      } else {
        rc = on_record(r, p, (size_t)(nl - p), 0, 0);
        if (rc != CXM_OK) return rc;
      }
      p = nl + 1;
    } else {
      int st = S_START;
      uint64_t qn = 0;
      const char *lim = (size_t)(end - p) > CXM_CSV_RECORD_MAX
                            ? p + CXM_CSV_RECORD_MAX + 1
                            : end;
      const char *re = scan_end(&st, p, lim, &qn);
      if (re) {
        rc = on_record(r, p, (size_t)(re - p), qn, 1);
        if (rc != CXM_OK) return rc;
        p = re + 1;
      } else if ((size_t)(lim - p) > CXM_CSV_RECORD_MAX) {
        rc = overlong_start(r, qn);
        if (rc != CXM_OK) return rc;
        if ((p = skip_to_line(r, lim, end)) == NULL) return CXM_OK;
      } else {
        break; /* the record goes on in the next feed */
      }
    }
    if (r->failed) return r->failed;
  }
  if (p < end) {
    r->carry_state = S_START;
    r->carry_nl = 0;
    scan_end(&r->carry_state, p, end, &r->carry_nl);
    rc = carry_append(r, p, (size_t)(end - p));
    if (rc != CXM_OK) {
      r->failed = cxm__seterr(r->ctx, rc, "CSV: no memory for a record of "
                              "%zu bytes", (size_t)(end - p));
      return rc;
    }
  }
  return CXM_OK;
}

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

static void reset_stream(cxm_csv *r) {
  r->have_header = 0;
  r->failed = CXM_OK;
  r->line = 0;
  r->bom_n = 0;
  r->bom_done = 0;
  r->ncols = 0;
  r->maxcol = 0;
  r->carry_len = 0;
  r->carry_state = S_START;
  r->carry_nl = 0;
  r->skipping = 0;
}

static int nomem_msg(cxm_csv *r, int rc) {
  if (rc == CXM_E_NOMEM && r->ctx->errcode != CXM_E_NOMEM)
    cxm__seterr(r->ctx, rc, "CSV: no memory");
  return rc;
}

/* ---- public API --------------------------------------------------------- */

int cxm_csv_create(cxm_ctx *ctx, cxm_csv **out) {
  cxm_csv *r;
  size_t B = CXM_CSV_BATCH;
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!out) return cxm__seterr(ctx, CXM_E_NULL, "out: NULL");
  r = cxm__malloc(ctx, sizeof *r);
  if (!r) return cxm__seterr(ctx, CXM_E_NOMEM, "CSV reader: no memory");
  memset(r, 0, sizeof *r);
  r->ctx = ctx;
  r->times = cxm__malloc(ctx, B * sizeof *r->times);
  r->types = cxm__malloc(ctx, B * sizeof *r->types);
  r->channels = cxm__malloc(ctx, B * sizeof *r->channels);
  r->values = cxm__malloc(ctx, B * sizeof *r->values);
  r->values2 = cxm__malloc(ctx, B * sizeof *r->values2);
  r->segsets = cxm__malloc(ctx, B * sizeof *r->segsets);
  r->offs = cxm__malloc(ctx, (B + 1) * sizeof *r->offs);
  r->statuses = cxm__malloc(ctx, B * sizeof *r->statuses);
  r->lines = cxm__malloc(ctx, B * sizeof *r->lines);
  r->pend = cxm__malloc(ctx, CXM_CSV_PENDING * sizeof *r->pend);
  r->ids_cap = B * 32;
  r->ids = cxm__malloc(ctx, r->ids_cap);
  if (!r->times || !r->types || !r->channels || !r->values || !r->values2 ||
      !r->segsets || !r->offs || !r->statuses || !r->lines || !r->pend ||
      !r->ids) {
    cxm_csv_destroy(r);
    return cxm__seterr(ctx, CXM_E_NOMEM, "CSV reader: no memory");
  }
  for (int32_t t = 1; t < CXM_CSV_TYPE_SLOTS; t++) {
    const char *nm = cxm_event_type_name(t);
    size_t l = nm ? strlen(nm) : 0;
    uint64_t w0, w1;
    uint32_t h;
    key16 *e;
    if (l == 0 || l > 16) continue;
    load16(nm, l, nm, &w0, &w1); /* nm's end is unknown: the copying form */
    h = hash16(w0, w1, l);
    do
      e = &r->types_tab[h++ & (CXM_CSV_TYPE_SLOTS - 1)];
    while (e->id != 0);
    e->w0 = w0;
    e->w1 = w1;
    e->len = (uint32_t)l;
    e->id = t;
  }
  for (int i = 0; i < CXM_CSV_CH_CACHE; i++) r->chc[i].id = -2;
  for (int i = 0; i < CXM_CSV_CH_CACHE; i++) r->chf[i].id = -2;
  memcpy(&r->t8_bytes, "00000000", 8); /* a valid entry: 0 */
  for (int i = 0; i < CXM_CSV_SEG_CACHE; i++) r->segc[i].id = -2;
  reset_stream(r);
  *out = r;
  return CXM_OK;
}

void cxm_csv_destroy(cxm_csv *r) {
  cxm_ctx *ctx;
  size_t B = CXM_CSV_BATCH;
  if (!r) return;
  ctx = r->ctx;
#define CXM_CSV_FREE(ptr, size) \
  if (ptr) cxm__free(ctx, ptr, size)
  CXM_CSV_FREE(r->times, B * sizeof *r->times);
  CXM_CSV_FREE(r->types, B * sizeof *r->types);
  CXM_CSV_FREE(r->channels, B * sizeof *r->channels);
  CXM_CSV_FREE(r->values, B * sizeof *r->values);
  CXM_CSV_FREE(r->values2, B * sizeof *r->values2);
  CXM_CSV_FREE(r->segsets, B * sizeof *r->segsets);
  CXM_CSV_FREE(r->offs, (B + 1) * sizeof *r->offs);
  CXM_CSV_FREE(r->statuses, B * sizeof *r->statuses);
  CXM_CSV_FREE(r->lines, B * sizeof *r->lines);
  CXM_CSV_FREE(r->pend, CXM_CSV_PENDING * sizeof *r->pend);
  CXM_CSV_FREE(r->ids, r->ids_cap);
  CXM_CSV_FREE(r->carry, r->carry_cap);
  CXM_CSV_FREE(r->scratch, r->scratch_cap);
  CXM_CSV_FREE(r->roles, r->roles_cap);
  CXM_CSV_FREE(r->crej, r->crej_cap * sizeof *r->crej);
  CXM_CSV_FREE(r->core_text, r->core_text_cap);
#undef CXM_CSV_FREE
  cxm__free(ctx, r, sizeof *r);
}

int cxm_csv_set_error_handler(cxm_csv *r, cxm_csv_error_fn fn, void *user) {
  if (!r) return CXM_E_NULL;
  r->err_fn = fn;
  r->err_user = fn ? user : NULL;
  return CXM_OK;
}

int cxm_csv_feed(cxm_csv *r, const void *data, size_t len) {
  const char *p = data;
  int rc;
  if (!r) return CXM_E_NULL;
  CXM_NO_REENTRY(r->ctx);
  if (!data && len) return cxm__seterr(r->ctx, CXM_E_NULL, "data: NULL");
  if (r->failed) return r->failed;
  r->deferred = CXM_OK;
  if (!r->bom_done) {
    while (len > 0 && r->bom_n < 3 && (unsigned char)*p == bom[r->bom_n]) {
      r->bom_n++;
      p++;
      len--;
    }
    if (r->bom_n == 3) {
      r->bom_done = 1; /* dropped */
    } else if (len > 0) {
      r->bom_done = 1; /* not a BOM: its matched bytes are data */
      if (r->bom_n) {
        rc = consume(r, (const char *)bom, r->bom_n);
        if (rc != CXM_OK) return nomem_msg(r, rc);
      }
    } else {
      return CXM_OK; /* wait for more bytes */
    }
  }
  rc = consume(r, p, len);
  if (rc != CXM_OK) return nomem_msg(r, rc);
  return r->deferred;
}

int cxm_csv_finish(cxm_csv *r) {
  int rc = CXM_OK;
  if (!r) return CXM_E_NULL;
  CXM_NO_REENTRY(r->ctx);
  r->deferred = CXM_OK;
  if (r->failed) {
    /* The stream broke (bad header, no memory): what was buffered before
     * is still committed. */
    int frc = flush(r);
    rc = r->failed;
    (void)frc;
    reset_stream(r);
    return rc;
  }
  if (!r->bom_done && r->bom_n > 0 && r->bom_n < 3) {
    r->bom_done = 1;
    rc = consume(r, (const char *)bom, r->bom_n);
  }
  if (rc == CXM_OK && r->skipping) overlong_end(r);
  if (rc == CXM_OK && r->carry_len > 0) {
    if (r->carry_state == S_QUO) {
      uint64_t line = r->line + 1;
      r->line += 1 + r->carry_nl;
      if (!r->have_header) {
        rc = cxm__seterr(r->ctx, CXM_E_PARSE,
                         "CSV header (line %llu): unterminated quoted field",
                         (unsigned long long)line);
      } else {
        r->n_lines++;
        reject(r, line, CXM_E_PARSE,
               "unterminated quoted field (runs to the end of input)");
      }
    } else {
      r->safe_end = r->carry + r->carry_cap;
      rc = on_record(r, r->carry, r->carry_len, r->carry_nl, 1);
    }
    r->carry_len = 0;
  }
  if (rc == CXM_OK && r->failed) rc = r->failed;
  {
    int frc = flush(r);
    if (rc == CXM_OK) rc = frc;
  }
  if (rc == CXM_OK) rc = r->deferred;
  reset_stream(r);
  return rc == CXM_E_NOMEM ? nomem_msg(r, rc) : rc;
}

int cxm_csv_stats(const cxm_csv *r, uint64_t *lines, uint64_t *accepted,
                  uint64_t *rejected) {
  if (!r) return CXM_E_NULL;
  if (lines) *lines = r->n_lines;
  if (accepted) *accepted = r->n_acc;
  if (rejected) *rejected = r->n_rej;
  return CXM_OK;
}

int cxm_csv_feed_file(cxm_csv *r, const char *path) {
  FILE *fp;
  char *buf;
  int rc = CXM_OK, frc, is_stdin;
  if (!r) return CXM_E_NULL;
  if (!path) return cxm__seterr(r->ctx, CXM_E_NULL, "path: NULL");
  is_stdin = strcmp(path, "-") == 0;
  buf = cxm__malloc(r->ctx, CXM_CSV_FILE_CHUNK);
  if (!buf) return cxm__seterr(r->ctx, CXM_E_NOMEM, "CSV: no memory");
  fp = is_stdin ? stdin : fopen(path, "rb");
  if (!fp) {
    int e = errno;
    cxm__free(r->ctx, buf, CXM_CSV_FILE_CHUNK);
    return cxm__seterr(r->ctx, CXM_E_IO, "cannot open '%s': %s", path,
                       strerror(e));
  }
  for (;;) {
    size_t got = fread(buf, 1, CXM_CSV_FILE_CHUNK, fp);
    if (got > 0) {
      rc = cxm_csv_feed(r, buf, got);
      if (rc != CXM_OK && rc != CXM_E_NOMEM) break;
    }
    if (got < CXM_CSV_FILE_CHUNK) {
      if (ferror(fp)) {
        int e = errno;
        rc = cxm__seterr(r->ctx, CXM_E_IO, "cannot read '%s': %s", path,
                         strerror(e));
      }
      break;
    }
  }
  if (!is_stdin) fclose(fp);
  else clearerr(stdin);
  cxm__free(r->ctx, buf, CXM_CSV_FILE_CHUNK);
  frc = cxm_csv_finish(r);
  return rc != CXM_OK ? rc : frc;
}
