/*
 * merge.c - merging one handle's state into another (docs/snapshot.md).
 *
 * Every scope is a sum over events, and every customer-level cell a sum of
 * customer contributions, so merging customer-disjoint handles is adding
 * their cells under remapped ids. A customer present in both is combined
 * into one record: both old contributions are taken out and the combined
 * one put in. Three phases keep a failure from changing dst: reserve every
 * allocation (labels, sets, records, day rows), then intern the new labels
 * and sets and let the modules reserve (undone if a module fails), then
 * apply, which cannot fail.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "ext.h"


static const uint8_t group_lo[NCG] = {CC_BUYERS, CC_LEADS, CC_INTERACTORS};
static const uint8_t group_hi[NCG] = {CC_NET + 1, CC_CONVERTED + 1, NCC};

/* Adds sign x the record's contribution to the cells of its segments and
   acquisition channels (straight into the rows: the stage is empty). */
static void credit(cxm_ctx *ctx, const cxm_cust *r, int64_t sign) {
  int64_t v[NCC];
  cxm__cust_contrib(r, v);
  const uint8_t ch[NCG] = {r->ch_purchase, r->ch_lead, r->ch_interact};
  const cxm_segset *ss = &ctx->segsets.sets[r->segset];
  for (uint32_t i = 0; i <= ss->n; i++) {
    cxm_row *row = ctx->rows[i == 0 ? 0 : 1 + ss->seg[i - 1]];
    for (int g = 0; g < NCG; g++) {
      for (int k = group_lo[g]; k < group_hi[g]; k++) row->cc[0].v[k] += sign * v[k];
      if (ch[g] != CXM_CH_NONE)
        for (int k = group_lo[g]; k < group_hi[g]; k++) row->cc[1 + ch[g]].v[k] += sign * v[k];
    }
  }
}

/* Two records of one customer as one (docs/snapshot.md): sums added, first
   times the earlier with their channel (a's on a tie), last times the later,
   segments and NPS category of the later. */
static void combine(cxm_cust *a, const cxm_cust *b) {
  if (b->last_time > a->last_time) a->segset = b->segset;
  a->net += b->net;
  a->orders += b->orders;
  a->interactions += b->interactions;
  if (b->last_time > a->last_time) a->last_time = b->last_time;
  if (b->first_seen < a->first_seen) a->first_seen = b->first_seen;
  if (b->flags & CF_PURCHASE) {
    if (!(a->flags & CF_PURCHASE)) {
      a->first_purchase = b->first_purchase;
      a->last_purchase = b->last_purchase;
      a->ch_purchase = b->ch_purchase;
    } else {
      if (b->first_purchase < a->first_purchase) {
        a->first_purchase = b->first_purchase;
        a->ch_purchase = b->ch_purchase;
      }
      if (b->last_purchase > a->last_purchase) a->last_purchase = b->last_purchase;
    }
  }
  if ((b->flags & CF_LEAD) && (!(a->flags & CF_LEAD) || b->first_lead < a->first_lead)) {
    a->first_lead = b->first_lead;
    a->ch_lead = b->ch_lead;
  }
  if ((b->flags & CF_INTERACT) &&
      (!(a->flags & CF_INTERACT) || b->first_interaction < a->first_interaction)) {
    a->first_interaction = b->first_interaction;
    a->ch_interact = b->ch_interact;
  }
  if ((b->flags & CF_NPS_MASK) &&
      (!(a->flags & CF_NPS_MASK) || b->last_nps_time > a->last_nps_time)) {
    a->flags = (uint8_t)((a->flags & ~CF_NPS_MASK) | (b->flags & CF_NPS_MASK));
    a->last_nps_time = b->last_nps_time;
  }
  a->flags |= b->flags & (CF_PURCHASE | CF_LEAD | CF_INTERACT | CF_EVENT);
}

static int find_label(const cxm_labels *l, const char *s, size_t n) {
  for (uint32_t i = 0; i < l->count; i++)
    if (l->len[i] == n && memcmp(l->text + (size_t)i * CXM_LABEL_MAX, s, n) == 0)
      return (int)i;
  return -1;
}

static const char *label_of(const cxm_labels *l, uint32_t i) {
  return l->text + (size_t)i * CXM_LABEL_MAX;
}

/* Forgets labels and sets interned since the counts were old_*: the newest
   entries of a linear-probing index can be cleared without breaking the
   probe chains of the older ones. */
static void unintern(cxm_ctx *ctx, uint32_t old_ch, uint32_t old_seg, uint32_t old_sets) {
  cxm_labels *ls[2] = {&ctx->channels, &ctx->segments};
  uint32_t olds[2] = {old_ch, old_seg};
  for (int j = 0; j < 2; j++) {
    cxm_labels *l = ls[j];
    for (uint32_t i = 0; i <= l->index_mask; i++)
      if (l->index[i] > (int32_t)olds[j]) l->index[i] = 0;
    for (uint32_t i = olds[j]; i < l->count; i++) l->len[i] = 0;
    l->count = olds[j];
  }
  cxm_segsets *s = &ctx->segsets;
  if (s->count > old_sets) {
    for (uint32_t i = 0; i <= s->index_mask; i++)
      if (s->index[i] > old_sets) s->index[i] = 0;
    memset(&s->sets[old_sets], 0, (s->count - old_sets) * sizeof(cxm_segset));
    s->count = old_sets;
  }
}

static int compatible(cxm_ctx *dst, const cxm_ctx *src) {
  uint64_t fd = dst->key_missing ? dst->key_fp : cxm__key_fingerprint(dst->key);
  uint64_t fs = src->key_missing ? src->key_fp : cxm__key_fingerprint(src->key);
  if (fd != fs)
    return cxm__seterr(dst, CXM_E_MISMATCH,
                       "src: hashes customer ids with another key (fingerprint %016llx, "
                       "dst's %016llx)", (unsigned long long)fs, (unsigned long long)fd);
  if (dst->decimals != src->decimals)
    return cxm__seterr(dst, CXM_E_MISMATCH, "src: CXM_OPT_DECIMALS %lld, dst's %lld",
                       (long long)src->decimals, (long long)dst->decimals);
  if (dst->utc_offset != src->utc_offset)
    return cxm__seterr(dst, CXM_E_MISMATCH, "src: CXM_OPT_UTC_OFFSET %lld, dst's %lld",
                       (long long)src->utc_offset, (long long)dst->utc_offset);
  /* The modules' options shape their state; the retention period only
     reads it. */
  for (int o = CXM_OPT_MODULES; o < CXM_OPT_COUNT_; o++) {
    if (o == CXM_OPT_RETENTION_PERIOD_DAYS || dst->opt[o] == src->opt[o]) continue;
    return cxm__seterr(dst, CXM_E_MISMATCH, "src: option %d is %lld, dst's %lld", o,
                       (long long)src->opt[o], (long long)dst->opt[o]);
  }
  return CXM_OK;
}

typedef struct plan {
  uint8_t chmap[CXM_CHANNELS_MAX];
  int32_t segmap[CXM_SEGMENTS_MAX];
  uint32_t *setmap; /* src->segsets.count */
  uint32_t *recmap; /* src->customers.count */
  uint32_t n_new_rec;
} plan;

static uint32_t map_row(const plan *p, uint32_t r) {
  return r == 0 ? 0 : 1 + (uint32_t)p->segmap[r - 1];
}
static uint32_t map_col(const plan *p, uint32_t c) {
  return c == 0 ? 0 : 1 + (uint32_t)p->chmap[c - 1];
}
static uint8_t map_ch(const plan *p, uint8_t ch) {
  return ch == CXM_CH_NONE ? ch : p->chmap[ch];
}

/* Phase 1: every allocation the merge needs, with no visible change (only
   capacities grow). Fills the label and record maps. */
static int reserve(cxm_ctx *dst, const cxm_ctx *src, plan *p) {
  uint32_t nch = dst->channels.count, nseg = dst->segments.count;
  for (uint32_t i = 0; i < src->channels.count; i++) {
    int id = find_label(&dst->channels, label_of(&src->channels, i), src->channels.len[i]);
    p->chmap[i] = (uint8_t)(id >= 0 ? (uint32_t)id : nch++);
  }
  if (nch > CXM_CHANNELS_MAX)
    return cxm__seterr(dst, CXM_E_LIMIT, "src: the merged handle would have %u channels (at most %d)",
                       (unsigned)nch, CXM_CHANNELS_MAX);
  for (uint32_t i = 0; i < src->segments.count; i++) {
    int id = find_label(&dst->segments, label_of(&src->segments, i), src->segments.len[i]);
    if (id < 0) {
      if (nseg >= CXM_SEGMENTS_MAX)
        return cxm__seterr(dst, CXM_E_LIMIT,
                           "src: the merged handle would have more than %d segments",
                           CXM_SEGMENTS_MAX);
      if (cxm__row_ensure(dst, 1 + nseg) != CXM_OK)
        return cxm__seterr(dst, CXM_E_NOMEM, "no memory for a segment's counters");
      id = (int)nseg++;
    }
    p->segmap[i] = id;
  }
  uint32_t extra_sets = src->segsets.count - 1;
  if ((uint64_t)dst->segsets.count + extra_sets > CXM_SEGSETS_MAX)
    extra_sets = CXM_SEGSETS_MAX - dst->segsets.count; /* the excess fails in phase 2 */
  if (cxm__segsets_reserve(dst, &dst->segsets, extra_sets) != CXM_OK)
    return cxm__seterr(dst, CXM_E_NOMEM, "no memory for segment sets");

  const cxm_custtab *st = &src->customers;
  uint32_t next = dst->customers.count;
  for (uint32_t i = 0; i < st->count; i++) {
    int64_t f = cxm__custtab_find(&dst->customers, st->recs[i].hash);
    p->recmap[i] = f >= 0 ? (uint32_t)f : next++;
  }
  p->n_new_rec = next - dst->customers.count;
  if (p->n_new_rec) {
    int rc = cxm__custtab_reserve(dst, &dst->customers, p->n_new_rec);
    if (rc == CXM_E_LIMIT)
      return cxm__seterr(dst, rc, "src: the merged handle would have too many customers");
    if (rc) return cxm__seterr(dst, rc, "no memory for %u more customers", (unsigned)p->n_new_rec);
  }

  for (uint32_t r = 0; r <= src->segments.count; r++) {
    const cxm_row *sr = src->rows[r];
    if (!sr) continue;
    cxm_row *dr = dst->rows[map_row(p, r)];
    for (uint32_t c = 0; c <= src->channels.count; c++) {
      const cxm_series *s = &sr->ev[c];
      if (!s->cells || !s->ndays) continue;
      cxm_series *d = &dr->ev[map_col(p, c)];
      if (cxm__series_ensure(dst, d, s->day0) != CXM_OK ||
          cxm__series_ensure(dst, d, s->day0 + (int32_t)s->ndays - 1) != CXM_OK)
        return cxm__seterr(dst, CXM_E_NOMEM, "no memory for day counters");
    }
  }
  return CXM_OK;
}

/* Phase 2: src's new labels and sets into dst (no allocation: reserved). */
static int intern(cxm_ctx *dst, const cxm_ctx *src, plan *p) {
  for (uint32_t i = 0; i < src->channels.count; i++) {
    if (p->chmap[i] < dst->channels.count) continue;
    int32_t id;
    int rc = cxm_channel_intern(dst, label_of(&src->channels, i), src->channels.len[i], &id);
    if (rc) return rc;
  }
  for (uint32_t i = 0; i < src->segments.count; i++) {
    if ((uint32_t)p->segmap[i] < dst->segments.count) continue;
    int32_t id;
    int rc = cxm_segment_intern(dst, label_of(&src->segments, i), src->segments.len[i], &id);
    if (rc) return rc;
  }
  p->setmap[0] = 0;
  for (uint32_t i = 1; i < src->segsets.count; i++) {
    const cxm_segset *ss = &src->segsets.sets[i];
    int32_t seg[CXM_SEGMENTS_PER_CUSTOMER_MAX];
    for (uint32_t j = 0; j < ss->n; j++) seg[j] = p->segmap[ss->seg[j]];
    int32_t id;
    int rc = cxm_segset_intern(dst, seg, ss->n, &id);
    if (rc) return rc;
    p->setmap[i] = (uint32_t)id;
  }
  return CXM_OK;
}

static void add_rows(cxm_ctx *dst, const cxm_ctx *src, const plan *p) {
  for (uint32_t r = 0; r <= src->segments.count; r++) {
    const cxm_row *sr = src->rows[r];
    if (!sr) continue;
    cxm_row *dr = dst->rows[map_row(p, r)];
    for (uint32_t c = 0; c <= src->channels.count; c++) {
      uint32_t dc = map_col(p, c);
      for (int k = 0; k < NCC; k++) dr->cc[dc].v[k] += sr->cc[c].v[k];
      const cxm_series *s = &sr->ev[c];
      if (!s->cells) continue;
      cxm_series *d = &dr->ev[dc];
      int64_t *out = d->cells + (size_t)(s->day0 - d->day0) * NEV;
      for (size_t i = 0; i < (size_t)s->ndays * NEV; i++) out[i] += s->cells[i];
    }
  }
}

/* One new buyer less on the day and channel of a record's first purchase
   (new buyers live in the all-segments row; ingest.c new_buyer). */
static void unbuy(cxm_ctx *dst, const cxm_cust *r) {
  int32_t day = (int32_t)cxm__day_of(dst, r->first_purchase);
  cxm_row *row = dst->rows[0];
  cxm_series *s[2] = {&row->ev[0],
                      r->ch_purchase != CXM_CH_NONE ? &row->ev[1 + r->ch_purchase] : NULL};
  for (int i = 0; i < 2; i++) /* the day row exists: that purchase counted there */
    if (s[i] && s[i]->cells && (uint32_t)(day - s[i]->day0) < s[i]->ndays)
      s[i]->cells[(size_t)(day - s[i]->day0) * NEV + E_NEW_BUYERS]--;
}

static void add_customers(cxm_ctx *dst, const cxm_ctx *src, const plan *p) {
  cxm_custtab *dt = &dst->customers;
  const cxm_custtab *st = &src->customers;
  uint32_t old_count = dt->count;
  for (uint32_t i = 0; i < st->count; i++) {
    cxm_cust b = st->recs[i];
    b.segset = p->setmap[b.segset];
    b.ch_purchase = map_ch(p, b.ch_purchase);
    b.ch_lead = map_ch(p, b.ch_lead);
    b.ch_interact = map_ch(p, b.ch_interact);
    if (p->recmap[i] >= old_count) {
      /* its contribution came with src's cells */
      uint32_t ri = cxm__custtab_insert(dt, b.hash);
      dt->recs[ri] = b;
      continue;
    }
    cxm_cust *a = &dt->recs[p->recmap[i]];
    if ((a->flags & CF_PURCHASE) && (b.flags & CF_PURCHASE))
      unbuy(dst, b.first_purchase < a->first_purchase ? a : &b);
    credit(dst, a, -1);
    credit(dst, &b, -1);
    combine(a, &b);
    credit(dst, a, 1);
  }
}

int cxm_ctx_merge(cxm_ctx *dst, cxm_ctx *src) {
  if (!dst) return CXM_E_NULL;
  if (!src) return cxm__seterr(dst, CXM_E_NULL, "src: NULL");
  CXM_NO_REENTRY(dst);
  if (src->in_callback)
    return cxm__seterr(dst, CXM_E_STATE, "src: called from a callback of src");
  if (src == dst) return cxm__seterr(dst, CXM_E_ARG, "src: the same handle as dst");
  int rc = compatible(dst, src);
  if (rc) return rc;
  cxm__flush(dst);
  cxm__flush(src);

  plan p;
  memset(&p, 0, sizeof p);
  size_t set_bytes = (size_t)src->segsets.count * sizeof(uint32_t);
  size_t rec_bytes = (size_t)src->customers.count * sizeof(uint32_t);
  p.setmap = (uint32_t *)cxm__malloc(dst, set_bytes);
  p.recmap = (uint32_t *)cxm__malloc(dst, rec_bytes);
  if (!p.setmap || !p.recmap) {
    rc = cxm__seterr(dst, CXM_E_NOMEM, "no memory for the merge's id maps");
    goto out;
  }
  rc = reserve(dst, src, &p);
  if (rc) goto out;

  uint32_t old_ch = dst->channels.count, old_seg = dst->segments.count;
  uint32_t old_sets = dst->segsets.count;
  rc = intern(dst, src, &p);
  cxm_remap map = {p.recmap, p.chmap, p.segmap, p.setmap, src->customers.count,
                   src->channels.count, src->segments.count, src->segsets.count};
  if (rc == CXM_OK && dst->opt[CXM_OPT_MODULES]) {
    rc = cxm__ext_merge_reserve(dst, src, &map);
    if (rc) cxm__seterr(dst, rc, "no memory for the modules' merged state");
  }
  if (rc) {
    unintern(dst, old_ch, old_seg, old_sets);
    goto out;
  }

  /* Nothing fails from here on. */
  add_rows(dst, src, &p);
  add_customers(dst, src, &p);
  for (uint32_t c = 0; c <= src->channels.count; c++) {
    uint32_t dc = map_col(&p, c);
    if (src->spend_last[c] > dst->spend_last[dc]) dst->spend_last[dc] = src->spend_last[c];
  }
  if (src->n_accepted) {
    if (!dst->n_accepted || src->first_time < dst->first_time) dst->first_time = src->first_time;
    if (!dst->n_accepted || src->last_time > dst->last_time) dst->last_time = src->last_time;
  }
  dst->n_accepted += src->n_accepted;
  dst->n_rejected += src->n_rejected;
  dst->n_late += src->n_late;
  if (src->started) dst->started = 1;
  if (dst->key_missing && !src->key_missing) { /* same fingerprint: the key */
    dst->key[0] = src->key[0];
    dst->key[1] = src->key[1];
    dst->key_missing = 0;
  }
  if (dst->opt[CXM_OPT_MODULES]) cxm__ext_merge_apply(dst, src, &map);
  rc = CXM_OK;
out:
  cxm__free(dst, p.recmap, rec_bytes);
  cxm__free(dst, p.setmap, set_bytes);
  return rc;
}
