/*
 * labels.c - interning of channel and segment labels, and of segment sets.
 * Labels are few (hundreds), so fixed-size slots and a small open-addressing
 * index keep lookups allocation-free.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "internal.h"

static uint32_t label_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a: labels are not attacker-chosen ids */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

int cxm__labels_init(cxm_ctx *ctx, cxm_labels *l, uint32_t max) {
  memset(l, 0, sizeof *l);
  l->max = max;
  uint32_t isz = 1;
  while (isz < 2 * max) isz <<= 1;
  l->text = (char *)cxm__malloc(ctx, (size_t)max * CXM_LABEL_MAX);
  l->len = (uint8_t *)cxm__calloc(ctx, max);
  l->index = (int32_t *)cxm__calloc(ctx, isz * sizeof(int32_t));
  l->index_mask = isz - 1;
  if (!l->text || !l->len || !l->index) return CXM_E_NOMEM;
  return CXM_OK;
}

void cxm__labels_free(cxm_ctx *ctx, cxm_labels *l) {
  uint32_t isz = l->index ? l->index_mask + 1 : 0;
  cxm__free(ctx, l->text, (size_t)l->max * CXM_LABEL_MAX);
  cxm__free(ctx, l->len, l->max);
  cxm__free(ctx, l->index, isz * sizeof(int32_t));
  memset(l, 0, sizeof *l);
}

/* Index slot holding the label, or the empty slot where it would go. */
static uint32_t labels_slot(const cxm_labels *l, const char *s, size_t n) {
  uint32_t i = label_hash(s, n) & l->index_mask;
  for (;;) {
    int32_t v = l->index[i];
    if (v == 0) return i;
    uint32_t id = (uint32_t)(v - 1);
    if (l->len[id] == n && memcmp(l->text + (size_t)id * CXM_LABEL_MAX, s, n) == 0)
      return i;
    i = (i + 1) & l->index_mask;
  }
}

static int check_label(cxm_ctx *ctx, const char *what, const char *label,
                       size_t len) {
  if (!label) return cxm__seterr(ctx, CXM_E_NULL, "label: NULL");
  if (len == 0) return cxm__seterr(ctx, CXM_E_ARG, "label: empty %s label", what);
  if (len > CXM_LABEL_MAX)
    return cxm__seterr(ctx, CXM_E_LIMIT,
                       "label: %s labels are at most %d bytes, got %zu", what,
                       CXM_LABEL_MAX, len);
  return CXM_OK;
}

static int labels_intern(cxm_ctx *ctx, cxm_labels *l, const char *what,
                         const char *label, size_t len, int32_t *id) {
  int rc = check_label(ctx, what, label, len);
  if (rc) return rc;
  if (!id) return cxm__seterr(ctx, CXM_E_NULL, "id: NULL");
  uint32_t slot = labels_slot(l, label, len);
  if (l->index[slot]) {
    *id = l->index[slot] - 1;
    return CXM_OK;
  }
  if (l->count >= l->max)
    return cxm__seterr(ctx, CXM_E_LIMIT, "label: at most %u %s labels",
                       (unsigned)l->max, what);
  uint32_t nid = l->count;
  if (l == &ctx->segments) {
    rc = cxm__row_ensure(ctx, 1 + nid);
    if (rc) return cxm__seterr(ctx, rc, "segment: no memory for its counters");
  }
  memcpy(l->text + (size_t)nid * CXM_LABEL_MAX, label, len);
  l->len[nid] = (uint8_t)len;
  l->index[slot] = (int32_t)nid + 1;
  l->count++;
  *id = (int32_t)nid;
  return CXM_OK;
}

static int labels_find(cxm_ctx *ctx, const cxm_labels *l, const char *what,
                       const char *label, size_t len, int32_t *id) {
  int rc = check_label(ctx, what, label, len);
  if (rc) return rc == CXM_E_LIMIT ? cxm__seterr(ctx, CXM_E_NOTFOUND, "label: no such %s", what) : rc;
  if (!id) return cxm__seterr(ctx, CXM_E_NULL, "id: NULL");
  uint32_t slot = labels_slot(l, label, len);
  if (!l->index[slot]) return cxm__seterr(ctx, CXM_E_NOTFOUND, "label: no such %s", what);
  *id = l->index[slot] - 1;
  return CXM_OK;
}

static int labels_label(cxm_ctx *ctx, const cxm_labels *l, const char *what,
                        int32_t id, const char **label, size_t *len) {
  if (!label || !len) return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", label ? "len" : "label");
  if (id < 0 || (uint32_t)id >= l->count)
    return cxm__seterr(ctx, CXM_E_ARG, "id: no %s with id %d", what, (int)id);
  *label = l->text + (size_t)id * CXM_LABEL_MAX;
  *len = l->len[id];
  return CXM_OK;
}

int cxm_channel_intern(cxm_ctx *ctx, const char *label, size_t len, int32_t *id) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  return labels_intern(ctx, &ctx->channels, "channel", label, len, id);
}
int cxm_channel_find(cxm_ctx *ctx, const char *label, size_t len, int32_t *id) {
  if (!ctx) return CXM_E_NULL;
  return labels_find(ctx, &ctx->channels, "channel", label, len, id);
}
int cxm_channel_count(cxm_ctx *ctx, int32_t *count) {
  if (!ctx) return CXM_E_NULL;
  if (!count) return cxm__seterr(ctx, CXM_E_NULL, "count: NULL");
  *count = (int32_t)ctx->channels.count;
  return CXM_OK;
}
int cxm_channel_label(cxm_ctx *ctx, int32_t id, const char **label, size_t *len) {
  if (!ctx) return CXM_E_NULL;
  return labels_label(ctx, &ctx->channels, "channel", id, label, len);
}
int cxm_segment_intern(cxm_ctx *ctx, const char *label, size_t len, int32_t *id) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  return labels_intern(ctx, &ctx->segments, "segment", label, len, id);
}
int cxm_segment_find(cxm_ctx *ctx, const char *label, size_t len, int32_t *id) {
  if (!ctx) return CXM_E_NULL;
  return labels_find(ctx, &ctx->segments, "segment", label, len, id);
}
int cxm_segment_count(cxm_ctx *ctx, int32_t *count) {
  if (!ctx) return CXM_E_NULL;
  if (!count) return cxm__seterr(ctx, CXM_E_NULL, "count: NULL");
  *count = (int32_t)ctx->segments.count;
  return CXM_OK;
}
int cxm_segment_label(cxm_ctx *ctx, int32_t id, const char **label, size_t *len) {
  if (!ctx) return CXM_E_NULL;
  return labels_label(ctx, &ctx->segments, "segment", id, label, len);
}

/* ---- segment sets ---------------------------------------------------------- */

static uint32_t segset_hash(const cxm_segset *s) {
  uint32_t h = 2166136261u ^ s->n;
  for (uint32_t i = 0; i < s->n; i++) h = (h ^ (uint32_t)s->seg[i]) * 16777619u;
  return h ^ (h >> 15);
}

static int segset_eq(const cxm_segset *a, const cxm_segset *b) {
  if (a->n != b->n) return 0;
  for (uint32_t i = 0; i < a->n; i++)
    if (a->seg[i] != b->seg[i]) return 0;
  return 1;
}

static uint32_t segsets_slot(const cxm_segsets *s, const cxm_segset *k) {
  uint32_t i = segset_hash(k) & s->index_mask;
  while (s->index[i] && !segset_eq(&s->sets[s->index[i] - 1], k))
    i = (i + 1) & s->index_mask;
  return i;
}

int cxm__segsets_init(cxm_ctx *ctx, cxm_segsets *s) {
  memset(s, 0, sizeof *s);
  s->cap = 16;
  s->sets = (cxm_segset *)cxm__calloc(ctx, s->cap * sizeof(cxm_segset));
  s->index = (uint32_t *)cxm__calloc(ctx, 64 * sizeof(uint32_t));
  if (!s->sets || !s->index) return CXM_E_NOMEM;
  s->index_mask = 63;
  s->count = 1; /* id 0: the empty set */
  s->index[segsets_slot(s, &s->sets[0])] = 1;
  return CXM_OK;
}

void cxm__segsets_free(cxm_ctx *ctx, cxm_segsets *s) {
  cxm__free(ctx, s->sets, s->cap * sizeof(cxm_segset));
  cxm__free(ctx, s->index, s->index ? (s->index_mask + 1) * sizeof(uint32_t) : 0);
  memset(s, 0, sizeof *s);
}

static int segsets_grow(cxm_ctx *ctx, cxm_segsets *s) {
  if (s->count < s->cap && 2 * (s->count + 1) <= s->index_mask + 1) return CXM_OK;
  if (s->count >= CXM_SEGSETS_MAX) return CXM_E_LIMIT;
  if (s->count >= s->cap) {
    uint32_t ncap = s->cap * 2;
    cxm_segset *ns = (cxm_segset *)cxm__realloc(ctx, s->sets, s->cap * sizeof(cxm_segset),
                                                ncap * sizeof(cxm_segset));
    if (!ns) return CXM_E_NOMEM;
    s->sets = ns;
    s->cap = ncap;
  }
  if (2 * (s->count + 1) > s->index_mask + 1) {
    uint32_t nsz = (s->index_mask + 1) * 2;
    uint32_t *ni = (uint32_t *)cxm__calloc(ctx, nsz * sizeof(uint32_t));
    if (!ni) return CXM_E_NOMEM;
    uint32_t *old = s->index;
    uint32_t osz = s->index_mask + 1;
    s->index = ni;
    s->index_mask = nsz - 1;
    for (uint32_t id = 0; id < s->count; id++)
      s->index[segsets_slot(s, &s->sets[id])] = id + 1;
    cxm__free(ctx, old, osz * sizeof(uint32_t));
  }
  return CXM_OK;
}

/* Room for `extra` more sets, so that interning that many cannot fail for
   lack of memory (merge.c reserves before it changes anything). */
int cxm__segsets_reserve(cxm_ctx *ctx, cxm_segsets *s, uint32_t extra) {
  uint64_t need = (uint64_t)s->count + extra;
  if (need > CXM_SEGSETS_MAX) return CXM_E_LIMIT;
  if (need > s->cap) {
    uint32_t ncap = s->cap;
    while (ncap < need) ncap *= 2;
    cxm_segset *ns = (cxm_segset *)cxm__realloc(ctx, s->sets, s->cap * sizeof(cxm_segset),
                                                ncap * sizeof(cxm_segset));
    if (!ns) return CXM_E_NOMEM;
    s->sets = ns;
    s->cap = ncap;
  }
  if (2 * need > (uint64_t)s->index_mask + 1) {
    uint32_t nsz = (s->index_mask + 1) * 2;
    while (2 * need > nsz) nsz *= 2;
    uint32_t *ni = (uint32_t *)cxm__calloc(ctx, nsz * sizeof(uint32_t));
    if (!ni) return CXM_E_NOMEM;
    uint32_t *old = s->index;
    uint32_t osz = s->index_mask + 1;
    s->index = ni;
    s->index_mask = nsz - 1;
    for (uint32_t id = 0; id < s->count; id++)
      s->index[segsets_slot(s, &s->sets[id])] = id + 1;
    cxm__free(ctx, old, osz * sizeof(uint32_t));
  }
  return CXM_OK;
}

int cxm_segset_intern(cxm_ctx *ctx, const int32_t *segments, size_t n,
                      int32_t *set_id) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!set_id) return cxm__seterr(ctx, CXM_E_NULL, "set_id: NULL");
  if (!segments && n) return cxm__seterr(ctx, CXM_E_NULL, "segments: NULL");
  cxm_segset k;
  memset(&k, 0, sizeof k);
  for (size_t i = 0; i < n; i++) {
    int32_t sg = segments[i];
    if (sg < 0 || (uint32_t)sg >= ctx->segments.count)
      return cxm__seterr(ctx, CXM_E_ARG, "segments[%zu]: no segment with id %d", i, (int)sg);
    /* insertion into a sorted, duplicate-free list */
    uint32_t j = 0;
    while (j < k.n && k.seg[j] < sg) j++;
    if (j < k.n && k.seg[j] == sg) continue;
    if (k.n >= CXM_SEGMENTS_PER_CUSTOMER_MAX)
      return cxm__seterr(ctx, CXM_E_LIMIT, "segments: a customer holds at most %d segments",
                         CXM_SEGMENTS_PER_CUSTOMER_MAX);
    memmove(&k.seg[j + 1], &k.seg[j], (k.n - j) * sizeof k.seg[0]);
    k.seg[j] = sg;
    k.n++;
  }
  uint32_t slot = segsets_slot(&ctx->segsets, &k);
  if (ctx->segsets.index[slot]) {
    *set_id = (int32_t)ctx->segsets.index[slot] - 1;
    return CXM_OK;
  }
  int rc = segsets_grow(ctx, &ctx->segsets);
  if (rc == CXM_E_LIMIT)
    return cxm__seterr(ctx, rc, "segments: at most %d distinct segment sets", CXM_SEGSETS_MAX);
  if (rc) return cxm__seterr(ctx, rc, "segments: no memory for a new segment set");
  cxm_segsets *s = &ctx->segsets;
  uint32_t id = s->count++;
  s->sets[id] = k;
  s->index[segsets_slot(s, &k)] = id + 1;
  *set_id = (int32_t)id;
  return CXM_OK;
}

/* ---- event type names -------------------------------------------------------- */

static const char *const type_names[] = {
    NULL,           "touch",     "session", "engage", "message_sent",
    "message_open", "message_click", "lead", "purchase", "refund",
    "spend",        "nps",       "csat",    "ces",    "churn"};

const char *cxm_event_type_name(int32_t type) {
  if (type < 1 || type > CXM_EV_CHURN) return NULL;
  return type_names[type];
}

int cxm_event_type_from_name(const char *name, size_t len, int32_t *type) {
  if (!name || !type) return CXM_E_NULL;
  for (int32_t t = 1; t <= CXM_EV_CHURN; t++) {
    size_t n = strlen(type_names[t]);
    if (n == len && memcmp(type_names[t], name, len) == 0) {
      *type = t;
      return CXM_OK;
    }
  }
  return CXM_E_TYPE;
}
