/*
 * jsonl.c - JSON Lines input in the shape customer-data platforms send
 * (`track`, `page`, `screen` and `identify` calls), mapped to events through
 * a configurable table of event names. See docs/jsonl.md.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json.h"
#include "timeparse.h"

#define KEY_MAX 64         /* bytes of an event name or a property key list */
#define TRAITS_MAX 16      /* trait names that become segment labels */
#define FILE_CHUNK 65536

typedef struct map_entry {
  char name[KEY_MAX + 1];
  int32_t type;                 /* 0 = ignore the event */
  char value_key[KEY_MAX + 1];  /* '|'-separated property names, first found wins */
  char value2_key[KEY_MAX + 1];
} map_entry;

struct cxm_jsonl {
  cxm_ctx *ctx;
  cxm_json json;
  char *line;           /* the current line, carried across feeds */
  size_t line_len, line_cap;
  int skipping;         /* the current line is lost: drop to its end */
  int skip_status;      /* why: CXM_E_LIMIT (past the cap) or CXM_E_NOMEM */
  char *scratch;        /* decoded strings: as long as the longest line */
  size_t scratch_cap;
  uint64_t lineno, lines, accepted, rejected, skipped;
  cxm_csv_error_fn on_error;
  void *user;
  map_entry *map;
  uint32_t nmap, map_cap;
  char traits[TRAITS_MAX][KEY_MAX + 1];
  uint32_t ntraits;
};

/* The documented default mapping (docs/jsonl.md). */
static const struct {
  const char *name;
  int32_t type;
  const char *v1, *v2;
} default_map[] = {
    {"Order Completed", CXM_EV_PURCHASE, "revenue|total|value", ""},
    {"Order Refunded", CXM_EV_REFUND, "total|revenue|value|amount", ""},
    {"Signed Up", CXM_EV_LEAD, "", ""},
    {"Lead Created", CXM_EV_LEAD, "", ""},
    {"Form Submitted", CXM_EV_LEAD, "", ""},
    {"Product Viewed", CXM_EV_ENGAGE, "", ""},
    {"Product Reviewed", CXM_EV_ENGAGE, "", ""},
    {"Content Viewed", CXM_EV_ENGAGE, "", ""},
    {"Ad Clicked", CXM_EV_TOUCH, "", ""},
    {"Session Ended", CXM_EV_SESSION, "pageviews", "duration"},
    {"Email Sent", CXM_EV_MESSAGE_SENT, "", ""},
    {"Email Delivered", CXM_EV_MESSAGE_SENT, "", ""},
    {"Email Opened", CXM_EV_MESSAGE_OPEN, "", ""},
    {"Email Link Clicked", CXM_EV_MESSAGE_CLICK, "", ""},
    {"Push Notification Received", CXM_EV_MESSAGE_SENT, "", ""},
    {"Push Notification Tapped", CXM_EV_MESSAGE_CLICK, "", ""},
    {"NPS Submitted", CXM_EV_NPS, "score", ""},
    {"CSAT Submitted", CXM_EV_CSAT, "score", ""},
    {"CES Submitted", CXM_EV_CES, "score", ""},
    {"Subscription Cancelled", CXM_EV_CHURN, "", ""},
    {"Ad Spend", CXM_EV_SPEND, "amount|spend|cost", ""},
};

static int ascii_ieq(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  if (an != bn) return 0;
  for (size_t i = 0; i < an; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
    if (x != y) return 0;
  }
  return 1;
}

static map_entry *map_find(cxm_jsonl *r, const char *name, size_t n) {
  for (uint32_t i = 0; i < r->nmap; i++)
    if (ascii_ieq(name, n, r->map[i].name)) return &r->map[i];
  return NULL;
}

static int copy_key(char dst[KEY_MAX + 1], const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n > KEY_MAX) return CXM_E_LIMIT;
  if (n) memcpy(dst, src, n);
  dst[n] = 0;
  return CXM_OK;
}

static int map_put(cxm_jsonl *r, const char *name, size_t n, int32_t type,
                   const char *v1, const char *v2) {
  map_entry *e = map_find(r, name, n);
  if (!e) {
    if (r->nmap == r->map_cap) {
      uint32_t ncap = r->map_cap ? r->map_cap * 2 : 32;
      if (ncap > 4096) return CXM_E_LIMIT;
      map_entry *nm = (map_entry *)cxm__realloc(r->ctx, r->map,
                                                r->map_cap * sizeof *nm,
                                                ncap * sizeof *nm);
      if (!nm) return CXM_E_NOMEM;
      r->map = nm;
      r->map_cap = ncap;
    }
    e = &r->map[r->nmap];
    memcpy(e->name, name, n);
    e->name[n] = 0;
    e->value_key[0] = e->value2_key[0] = 0;
    r->nmap++;
  }
  e->type = type;
  if (copy_key(e->value_key, v1) || copy_key(e->value2_key, v2)) return CXM_E_LIMIT;
  return CXM_OK;
}

int cxm_jsonl_create(cxm_ctx *ctx, cxm_jsonl **out) {
  if (!ctx) return CXM_E_NULL;
  if (!out) return cxm__seterr(ctx, CXM_E_NULL, "out: NULL");
  *out = NULL;
  cxm_jsonl *r = (cxm_jsonl *)cxm__calloc(ctx, sizeof *r);
  if (!r) return cxm__seterr(ctx, CXM_E_NOMEM, "JSONL: no memory for the reader");
  r->ctx = ctx;
  cxm__json_init(&r->json, ctx);
  for (size_t i = 0; i < sizeof default_map / sizeof default_map[0]; i++) {
    int rc = map_put(r, default_map[i].name, strlen(default_map[i].name),
                     default_map[i].type, default_map[i].v1, default_map[i].v2);
    if (rc) {
      cxm_jsonl_destroy(r);
      return cxm__seterr(ctx, rc, "JSONL: no memory for the event map");
    }
  }
  *out = r;
  return CXM_OK;
}

void cxm_jsonl_destroy(cxm_jsonl *r) {
  if (!r) return;
  cxm_ctx *ctx = r->ctx;
  cxm__json_free(&r->json);
  if (r->line) cxm__free(ctx, r->line, r->line_cap);
  if (r->scratch) cxm__free(ctx, r->scratch, r->scratch_cap);
  if (r->map) cxm__free(ctx, r->map, r->map_cap * sizeof *r->map);
  cxm__free(ctx, r, sizeof *r);
}

int cxm_jsonl_set_error_handler(cxm_jsonl *r, cxm_csv_error_fn fn, void *user) {
  if (!r) return CXM_E_NULL;
  r->on_error = fn;
  r->user = user;
  return CXM_OK;
}

int cxm_jsonl_map_event(cxm_jsonl *r, const char *name, size_t len, int32_t type,
                        const char *value_keys, const char *value2_keys) {
  if (!r) return CXM_E_NULL;
  if (!name) return cxm__seterr(r->ctx, CXM_E_NULL, "name: NULL");
  if (len == 0 || len > KEY_MAX)
    return cxm__seterr(r->ctx, CXM_E_LIMIT, "name: %zu bytes (1..%d)", len, KEY_MAX);
  if (type != 0) {
    if (!cxm_event_type_name(type))
      return cxm__seterr(r->ctx, CXM_E_TYPE, "type: unknown event type %d", (int)type);
  }
  if ((value_keys && strlen(value_keys) > KEY_MAX) ||
      (value2_keys && strlen(value2_keys) > KEY_MAX))
    return cxm__seterr(r->ctx, CXM_E_LIMIT, "value keys: more than %d bytes", KEY_MAX);
  int rc = map_put(r, name, len, type, value_keys, value2_keys);
  if (rc) return cxm__seterr(r->ctx, rc, "JSONL: the event map is full or out of memory");
  return CXM_OK;
}

int cxm_jsonl_map_trait(cxm_jsonl *r, const char *trait) {
  if (!r) return CXM_E_NULL;
  if (!trait) return cxm__seterr(r->ctx, CXM_E_NULL, "trait: NULL");
  size_t n = strlen(trait);
  if (n == 0 || n > KEY_MAX)
    return cxm__seterr(r->ctx, CXM_E_LIMIT, "trait: %zu bytes (1..%d)", n, KEY_MAX);
  for (uint32_t i = 0; i < r->ntraits; i++)
    if (strcmp(r->traits[i], trait) == 0) return CXM_OK;
  if (r->ntraits == TRAITS_MAX)
    return cxm__seterr(r->ctx, CXM_E_LIMIT, "trait: at most %d traits", TRAITS_MAX);
  memcpy(r->traits[r->ntraits++], trait, n + 1);
  return CXM_OK;
}

/* ---- one line ----------------------------------------------------------- */

static void reject(cxm_jsonl *r, int status, const char *fmt, ...)
    CXM_PRINTF(3, 4);
static void reject(cxm_jsonl *r, int status, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->rejected++;
  if (r->on_error) r->on_error(r->user, r->lineno, status, msg);
}

/* Decodes string token i into the scratch buffer (as long as the line, so a
   decoded string always fits). */
static int64_t str_at(cxm_jsonl *r, const char *s, int64_t i) {
  if (i < 0 || r->json.tok[i].type != CXM_JT_STRING) return -1;
  return cxm__json_str(&r->json, s, (uint32_t)i, r->scratch, r->scratch_cap);
}

/* The first of the '|'-separated property names present in obj: a number
   gives its value; null or no such member gives NaN (absent). On a value
   that is not a number, `bad` receives the property's name. */
static int prop_number(cxm_jsonl *r, const char *s, int64_t obj,
                       const char *keys, double *out, char bad[KEY_MAX + 1]) {
  *out = NAN;
  const char *k = keys;
  while (*k) {
    char one[KEY_MAX + 1];
    size_t n = strcspn(k, "|");
    memcpy(one, k, n);
    one[n] = 0;
    k += n + (k[n] == '|');
    if (n == 0) continue;
    int64_t v = cxm__json_get(&r->json, s, obj, one);
    if (v < 0 || r->json.tok[v].type == CXM_JT_NULL) continue;
    if (cxm__json_num(&r->json, s, (uint32_t)v, out) != CXM_OK) {
      memcpy(bad, one, n + 1);
      return CXM_E_PARSE;
    }
    return CXM_OK;
  }
  return CXM_OK;
}

static int get_time(cxm_jsonl *r, const char *s, int64_t *t) {
  static const char *const keys[] = {"timestamp", "originalTimestamp", "sentAt"};
  for (size_t k = 0; k < 3; k++) {
    int64_t v = cxm__json_get(&r->json, s, 0, keys[k]);
    if (v < 0 || r->json.tok[v].type == CXM_JT_NULL) continue;
    if (r->json.tok[v].type == CXM_JT_NUMBER) {
      double d;
      if (cxm__json_num(&r->json, s, (uint32_t)v, &d) != CXM_OK ||
          !(d > -9.2e18 && d < 9.2e18)) {
        reject(r, CXM_E_PARSE, "%s: not a time", keys[k]);
        return CXM_E_PARSE;
      }
      *t = (int64_t)floor(d);
      return CXM_OK;
    }
    int64_t n = str_at(r, s, v);
    if (n < 0 || cxm__time_parse(r->scratch, (size_t)n, r->ctx->utc_offset, t)) {
      reject(r, CXM_E_PARSE, "%s: not a time", keys[k]);
      return CXM_E_PARSE;
    }
    return CXM_OK;
  }
  reject(r, CXM_E_MISSING, "timestamp: missing");
  return CXM_E_MISSING;
}

/* The customer id (userId, else anonymousId) into the scratch buffer: a
   string as decoded, a number as written. Returns its length, 0 if none. */
static int64_t get_user(cxm_jsonl *r, const char *s) {
  static const char *const keys[] = {"userId", "anonymousId"};
  for (size_t k = 0; k < 2; k++) {
    int64_t v = cxm__json_get(&r->json, s, 0, keys[k]);
    if (v < 0) continue;
    const cxm_jtok *t = &r->json.tok[v];
    if (t->type == CXM_JT_STRING) {
      int64_t n = str_at(r, s, v);
      if (n > 0) return n;
    } else if (t->type == CXM_JT_NUMBER) {
      memcpy(r->scratch, s + t->start, t->len);
      return t->len;
    }
  }
  return 0;
}

static int get_channel(cxm_jsonl *r, const char *s, int64_t props, int32_t *ch) {
  *ch = CXM_NO_CHANNEL;
  int64_t v = cxm__json_get(&r->json, s, props, "channel");
  if (v < 0 || r->json.tok[v].type == CXM_JT_NULL) return CXM_OK;
  int64_t n = str_at(r, s, v);
  if (n < 0) {
    reject(r, CXM_E_PARSE, "properties.channel: not a string");
    return CXM_E_PARSE;
  }
  if (n == 0) return CXM_OK;
  int rc = cxm_channel_intern(r->ctx, r->scratch, (size_t)n, ch);
  if (rc) reject(r, rc, "properties.channel: %s", cxm_ctx_errmsg(r->ctx));
  return rc;
}

/* Adds label `text` (n bytes) to the set being built. */
static int add_label(cxm_jsonl *r, const char *text, size_t n, int32_t *segs,
                     size_t *nsegs) {
  int32_t id;
  if (*nsegs >= CXM_SEGMENTS_PER_CUSTOMER_MAX) {
    reject(r, CXM_E_LIMIT, "traits: more than %d segments", CXM_SEGMENTS_PER_CUSTOMER_MAX);
    return CXM_E_LIMIT;
  }
  int rc = cxm_segment_intern(r->ctx, text, n, &id);
  if (rc) {
    reject(r, rc, "traits: %s", cxm_ctx_errmsg(r->ctx));
    return rc;
  }
  segs[(*nsegs)++] = id;
  return CXM_OK;
}

static int on_identify(cxm_jsonl *r, const char *s) {
  int64_t traits = cxm__json_get(&r->json, s, 0, "traits");
  int32_t segs[CXM_SEGMENTS_PER_CUSTOMER_MAX];
  size_t nsegs = 0;
  int any = 0, rc;
  if (traits < 0 || r->json.tok[traits].type != CXM_JT_OBJECT) {
    r->skipped++;
    return CXM_OK;
  }
  /* `segments`: an array of labels or one ';'-separated string. */
  int64_t sv = cxm__json_get(&r->json, s, traits, "segments");
  if (sv >= 0 && r->json.tok[sv].type != CXM_JT_NULL) {
    const cxm_jtok *t = &r->json.tok[sv];
    any = 1;
    if (t->type == CXM_JT_ARRAY) {
      uint32_t i = (uint32_t)sv + 1;
      for (uint32_t e = 0; e < t->count; e++, i = cxm__json_next(&r->json, i)) {
        int64_t n = str_at(r, s, i);
        if (n < 0) {
          reject(r, CXM_E_PARSE, "traits.segments: element %u is not a string", e);
          return CXM_E_PARSE;
        }
        if (n && (rc = add_label(r, r->scratch, (size_t)n, segs, &nsegs))) return rc;
      }
    } else if (t->type == CXM_JT_STRING) {
      int64_t n = str_at(r, s, sv);
      const char *p = r->scratch, *end = r->scratch + (n > 0 ? n : 0);
      if (!(n == 1 && p[0] == '-')) {
        while (p < end) {
          const char *q = memchr(p, ';', (size_t)(end - p));
          if (!q) q = end;
          if (q > p && (rc = add_label(r, p, (size_t)(q - p), segs, &nsegs))) return rc;
          p = q + 1;
        }
      }
    } else {
      reject(r, CXM_E_PARSE, "traits.segments: not an array or string");
      return CXM_E_PARSE;
    }
  }
  /* Mapped traits become "name=value" labels. */
  for (uint32_t k = 0; k < r->ntraits; k++) {
    int64_t v = cxm__json_get(&r->json, s, traits, r->traits[k]);
    if (v < 0 || r->json.tok[v].type == CXM_JT_NULL) continue;
    const cxm_jtok *t = &r->json.tok[v];
    char label[2 * (KEY_MAX + 1) + 8];
    size_t tl = strlen(r->traits[k]);
    any = 1;
    memcpy(label, r->traits[k], tl);
    label[tl++] = '=';
    if (t->type == CXM_JT_STRING) {
      int64_t n = str_at(r, s, v);
      if (n < 0 || (size_t)n + tl > CXM_LABEL_MAX) {
        reject(r, CXM_E_LIMIT, "traits.%s: label longer than %d bytes", r->traits[k],
               CXM_LABEL_MAX);
        return CXM_E_LIMIT;
      }
      if (n == 0) continue; /* an empty trait value holds no segment */
      memcpy(label + tl, r->scratch, (size_t)n);
      tl += (size_t)n;
    } else if (t->type == CXM_JT_NUMBER || t->type == CXM_JT_TRUE ||
               t->type == CXM_JT_FALSE) {
      if (t->len + tl > CXM_LABEL_MAX) {
        reject(r, CXM_E_LIMIT, "traits.%s: label longer than %d bytes", r->traits[k],
               CXM_LABEL_MAX);
        return CXM_E_LIMIT;
      }
      memcpy(label + tl, s + t->start, t->len);
      tl += t->len;
    } else {
      reject(r, CXM_E_PARSE, "traits.%s: not a scalar", r->traits[k]);
      return CXM_E_PARSE;
    }
    if ((rc = add_label(r, label, tl, segs, &nsegs))) return rc;
  }
  if (!any) {
    r->skipped++;
    return CXM_OK;
  }
  int64_t idn = get_user(r, s);
  if (idn == 0) {
    reject(r, CXM_E_MISSING, "userId: missing");
    return CXM_E_MISSING;
  }
  const char *id = r->scratch; /* nothing below writes the scratch buffer */
  int32_t set;
  if ((rc = cxm_segset_intern(r->ctx, segs, nsegs, &set))) {
    reject(r, rc, "traits: %s", cxm_ctx_errmsg(r->ctx));
    return rc;
  }
  if ((rc = cxm_customer_set_segments(r->ctx, id, (size_t)idn, set))) {
    reject(r, rc, "%s", cxm_ctx_errmsg(r->ctx));
    return rc;
  }
  r->accepted++;
  return CXM_OK;
}

static int on_line(cxm_jsonl *r, const char *s, size_t n) {
  size_t k = 0;
  while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
  if (k == n) return CXM_OK; /* blank lines are not records */
  r->lines++;
  if (r->scratch_cap < n + 1) {
    size_t ncap = n + 1 < 1024 ? 1024 : n + 1;
    char *ns = (char *)cxm__realloc(r->ctx, r->scratch, r->scratch_cap, ncap);
    if (!ns) {
      reject(r, CXM_E_NOMEM, "no memory for the line");
      return CXM_E_NOMEM;
    }
    r->scratch = ns;
    r->scratch_cap = ncap;
  }
  int rc = cxm__json_parse(&r->json, s, n);
  if (rc) {
    reject(r, rc, "%s", r->json.err);
    return rc == CXM_E_NOMEM ? rc : CXM_OK;
  }
  if (r->json.tok[0].type != CXM_JT_OBJECT) {
    reject(r, CXM_E_PARSE, "not a JSON object");
    return CXM_OK;
  }
  /* The call type; without one, a line with "event" is a track call. */
  int64_t tv = cxm__json_get(&r->json, s, 0, "type");
  int64_t ev = cxm__json_get(&r->json, s, 0, "event");
  char kind[16] = "track";
  if (tv >= 0) {
    int64_t tn = str_at(r, s, tv);
    if (tn < 0 || tn >= (int64_t)sizeof kind) {
      r->skipped++;
      return CXM_OK;
    }
    memcpy(kind, r->scratch, (size_t)tn + 1);
  } else if (ev < 0) {
    reject(r, CXM_E_MISSING, "type: missing (and no event)");
    return CXM_OK;
  }
  if (strcmp(kind, "identify") == 0) {
    rc = on_identify(r, s);
    return rc == CXM_E_NOMEM ? rc : CXM_OK;
  }
  int32_t type;
  const map_entry *m = NULL;
  if (strcmp(kind, "track") == 0) {
    int64_t en = str_at(r, s, ev);
    if (en <= 0) {
      reject(r, CXM_E_MISSING, "event: missing or not a string");
      return CXM_OK;
    }
    m = map_find(r, r->scratch, (size_t)en);
    if (!m || m->type == 0) {
      r->skipped++;
      return CXM_OK;
    }
    type = m->type;
  } else if (strcmp(kind, "page") == 0 || strcmp(kind, "screen") == 0) {
    type = CXM_EV_TOUCH;
  } else {
    r->skipped++; /* group, alias and unknown calls carry no event */
    return CXM_OK;
  }
  int64_t t;
  if (get_time(r, s, &t)) return CXM_OK;
  int64_t props = cxm__json_get(&r->json, s, 0, "properties");
  if (props >= 0 && r->json.tok[props].type != CXM_JT_OBJECT) {
    if (r->json.tok[props].type != CXM_JT_NULL) {
      reject(r, CXM_E_PARSE, "properties: not an object");
      return CXM_OK;
    }
    props = -1;
  }
  double v1 = NAN, v2 = NAN;
  char bad[KEY_MAX + 1];
  if (m && props >= 0 &&
      (prop_number(r, s, props, m->value_key, &v1, bad) ||
       prop_number(r, s, props, m->value2_key, &v2, bad))) {
    reject(r, CXM_E_PARSE, "properties.%s: not a number", bad);
    return CXM_OK;
  }
  int32_t ch;
  if ((rc = get_channel(r, s, props, &ch))) return rc == CXM_E_NOMEM ? rc : CXM_OK;
  int64_t idn = 0;
  if (type != CXM_EV_SPEND) {
    idn = get_user(r, s);
    if (idn == 0) {
      reject(r, CXM_E_MISSING, "userId: missing (and no anonymousId)");
      return CXM_OK;
    }
  }
  rc = cxm_event_add(r->ctx, t, type, r->scratch, (size_t)idn, ch, v1, v2);
  if (rc) {
    reject(r, rc, "%s", cxm_ctx_errmsg(r->ctx));
    return rc == CXM_E_NOMEM ? rc : CXM_OK;
  }
  r->accepted++;
  return CXM_OK;
}

/* ---- streaming ------------------------------------------------------------- */

/* A line whose head is lost is rejected as a whole when its end comes, never
   read from the middle. */
static void lose_line(cxm_jsonl *r, int status) {
  r->skipping = 1;
  r->skip_status = status;
  r->line_len = 0;
}

static int carry(cxm_jsonl *r, const char *p, size_t n) {
  if (r->skipping) return CXM_OK;
  if (r->line_len + n > CXM_JSONL_LINE_MAX) {
    lose_line(r, CXM_E_LIMIT);
    return CXM_OK;
  }
  if (r->line_len + n > r->line_cap) {
    size_t ncap = r->line_cap ? r->line_cap : 4096;
    while (ncap < r->line_len + n) ncap *= 2;
    char *nl = (char *)cxm__realloc(r->ctx, r->line, r->line_cap, ncap);
    if (!nl) {
      lose_line(r, CXM_E_NOMEM);
      return CXM_E_NOMEM;
    }
    r->line = nl;
    r->line_cap = ncap;
  }
  if (n) memcpy(r->line + r->line_len, p, n);
  r->line_len += n;
  return CXM_OK;
}

static int reject_lost(cxm_jsonl *r) {
  int st = r->skip_status;
  r->lines++;
  if (st == CXM_E_NOMEM) reject(r, st, "no memory for the line");
  else reject(r, st, "line longer than %d bytes", CXM_JSONL_LINE_MAX);
  r->skipping = 0;
  return st == CXM_E_NOMEM ? st : CXM_OK;
}

/* A complete line (its bytes in p when nothing was carried). */
static int end_line(cxm_jsonl *r, const char *p, size_t n) {
  int rc = CXM_OK;
  r->lineno++;
  if (r->skipping) {
    rc = reject_lost(r);
  } else if (r->line_len) {
    int crc = carry(r, p, n);
    if (r->skipping) rc = reject_lost(r);
    else if (crc == CXM_OK) rc = on_line(r, r->line, r->line_len);
  } else if (n > CXM_JSONL_LINE_MAX) {
    r->lines++;
    reject(r, CXM_E_LIMIT, "line longer than %d bytes", CXM_JSONL_LINE_MAX);
  } else {
    rc = on_line(r, p, n);
  }
  r->line_len = 0;
  return rc;
}

int cxm_jsonl_feed(cxm_jsonl *r, const void *data, size_t len) {
  if (!r) return CXM_E_NULL;
  CXM_NO_REENTRY(r->ctx);
  if (!data && len) return cxm__seterr(r->ctx, CXM_E_NULL, "data: NULL");
  const char *p = (const char *)data, *end = p + len;
  int first_rc = CXM_OK;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) {
      int rc = carry(r, p, (size_t)(end - p));
      if (rc && !first_rc) first_rc = rc;
      break;
    }
    int rc = end_line(r, p, (size_t)(nl - p));
    if (rc && !first_rc) first_rc = rc;
    p = nl + 1;
  }
  if (first_rc) return cxm__seterr(r->ctx, first_rc, "JSONL: no memory (lines were rejected)");
  return CXM_OK;
}

int cxm_jsonl_finish(cxm_jsonl *r) {
  if (!r) return CXM_E_NULL;
  CXM_NO_REENTRY(r->ctx);
  int rc = CXM_OK;
  if (r->line_len || r->skipping) rc = end_line(r, NULL, 0);
  r->lineno = 0;
  if (rc) return cxm__seterr(r->ctx, rc, "JSONL: no memory (lines were rejected)");
  return CXM_OK;
}

int cxm_jsonl_stats(const cxm_jsonl *r, uint64_t *lines, uint64_t *accepted,
                    uint64_t *rejected, uint64_t *skipped) {
  if (!r) return CXM_E_NULL;
  if (lines) *lines = r->lines;
  if (accepted) *accepted = r->accepted;
  if (rejected) *rejected = r->rejected;
  if (skipped) *skipped = r->skipped;
  return CXM_OK;
}

int cxm_jsonl_feed_file(cxm_jsonl *r, const char *path) {
  if (!r) return CXM_E_NULL;
  if (!path) return cxm__seterr(r->ctx, CXM_E_NULL, "path: NULL");
  int is_stdin = strcmp(path, "-") == 0;
  char *buf = (char *)cxm__malloc(r->ctx, FILE_CHUNK);
  if (!buf) return cxm__seterr(r->ctx, CXM_E_NOMEM, "JSONL: no memory");
  FILE *fp = is_stdin ? stdin : fopen(path, "rb");
  if (!fp) {
    int e = errno;
    cxm__free(r->ctx, buf, FILE_CHUNK);
    return cxm__seterr(r->ctx, CXM_E_IO, "cannot open '%s': %s", path, strerror(e));
  }
  int rc = CXM_OK;
  for (;;) {
    size_t got = fread(buf, 1, FILE_CHUNK, fp);
    if (got > 0) {
      rc = cxm_jsonl_feed(r, buf, got);
      if (rc != CXM_OK && rc != CXM_E_NOMEM) break;
    }
    if (got < FILE_CHUNK) {
      if (ferror(fp)) {
        int e = errno;
        rc = cxm__seterr(r->ctx, CXM_E_IO, "cannot read '%s': %s", path, strerror(e));
      }
      break;
    }
  }
  if (!is_stdin) fclose(fp);
  else clearerr(stdin);
  cxm__free(r->ctx, buf, FILE_CHUNK);
  int frc = cxm_jsonl_finish(r);
  return rc != CXM_OK ? rc : frc;
}
