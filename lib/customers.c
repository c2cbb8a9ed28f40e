/*
 * customers.c - the customer table: a dense array of 64-byte records plus an
 * open-addressing index of 8-byte slots (32-bit hash tag, 32-bit record
 * index). Records stay dense so that memory is about 64 bytes per customer
 * plus 8 to 16 bytes of index; the tag lets a probe skip records it does not
 * need to read.
 *
 * A slot's home is the top bits of the hash, so along the index the slots
 * stay in hash order (up to the wrap at the end): growing the index is one
 * sequential pass over the old slots, each one's new home read from its tag,
 * with writes that move forward through the new index instead of a random
 * write (a cache miss) per customer.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <string.h>

#include "internal.h"

#define SLOT_TAG(h) ((h) >> 32)

static inline uint64_t slot_home(const cxm_custtab *t, uint64_t hash) {
  return hash >> t->shift;
}

void cxm__custtab_free(cxm_ctx *ctx, cxm_custtab *t) {
  if (t->slots) cxm__free(ctx, t->slots, (t->mask + 1) * sizeof(uint64_t));
  cxm__free(ctx, t->recs_raw, t->recs_raw_size);
  memset(t, 0, sizeof *t);
}

int64_t cxm__custtab_find(const cxm_custtab *t, uint64_t hash) {
  if (!t->slots) return -1;
  uint64_t i = slot_home(t, hash);
  uint64_t tag = SLOT_TAG(hash);
  for (;;) {
    uint64_t s = t->slots[i];
    if (s == 0) return -1;
    if ((s >> 32) == tag) {
      uint32_t idx = (uint32_t)s - 1;
      if (t->recs[idx].hash == hash) return idx;
    }
    i = (i + 1) & t->mask;
  }
}

static void index_put(cxm_custtab *t, uint64_t hash, uint32_t idx) {
  uint64_t i = slot_home(t, hash);
  while (t->slots[i]) i = (i + 1) & t->mask;
  t->slots[i] = (SLOT_TAG(hash) << 32) | ((uint64_t)idx + 1);
}

/* Moves every slot of `old` into the (larger, empty) current index. Past
   2^32 slots the tag no longer holds all the home bits: read the record. */
static void rehash(cxm_custtab *t, const uint64_t *old, uint64_t nold) {
  for (uint64_t k = 0; k < nold; k++) {
    uint64_t s = old[k];
    if (!s) continue;
    uint64_t i = t->shift >= 32 ? (s >> 32) >> (t->shift - 32)
                                : slot_home(t, t->recs[(uint32_t)s - 1].hash);
    while (t->slots[i]) i = (i + 1) & t->mask;
    t->slots[i] = s;
  }
}

static unsigned log2_u64(uint64_t v) {
  unsigned b = 0;
  while (v > 1) {
    v >>= 1;
    b++;
  }
  return b;
}

/* Makes room for `extra` more customers; on failure nothing changes. The
   index is allocated first and the records grown by realloc (which can move
   pages instead of copying them); the old index goes only when both
   succeeded. */
int cxm__custtab_reserve(cxm_ctx *ctx, cxm_custtab *t, uint32_t extra) {
  uint64_t need = (uint64_t)t->count + extra;
  if (need >= UINT32_MAX - 1) return CXM_E_LIMIT;
  uint64_t nslots = t->slots ? t->mask + 1 : 0;
  uint64_t ns = nslots;
  uint64_t *nsl = NULL;
  if (need * 2 > nslots) { /* load factor at most 1/2 */
    ns = nslots ? nslots : 2048;
    while (need * 2 > ns) ns *= 2;
    nsl = (uint64_t *)cxm__calloc(ctx, ns * sizeof(uint64_t));
    if (!nsl) return CXM_E_NOMEM;
  }
  if (need > t->cap) {
    uint64_t ncap = t->cap ? t->cap : 1024;
    while (ncap < need) ncap *= 2;
    if (ncap > UINT32_MAX - 1) ncap = UINT32_MAX - 1;
    size_t raw = (size_t)ncap * sizeof(cxm_cust) + 64;
    size_t off_old = t->recs_raw ? (size_t)((char *)t->recs - (char *)t->recs_raw) : 0;
    void *nraw = cxm__realloc(ctx, t->recs_raw, t->recs_raw_size, raw);
    if (!nraw) {
      if (nsl) cxm__free(ctx, nsl, ns * sizeof(uint64_t));
      return CXM_E_NOMEM;
    }
    cxm_cust *nrecs = (cxm_cust *)(((uintptr_t)nraw + 63) & ~(uintptr_t)63);
    size_t off_new = (size_t)((char *)nrecs - (char *)nraw);
    /* realloc keeps the bytes, not the 64-byte alignment of the view */
    if (t->count && off_new != off_old)
      memmove(nrecs, (char *)nraw + off_old, (size_t)t->count * sizeof(cxm_cust));
    t->recs_raw = nraw;
    t->recs_raw_size = raw;
    t->recs = nrecs;
    t->cap = (uint32_t)ncap;
  }
  if (nsl) {
    uint64_t *old = t->slots;
    t->slots = nsl;
    t->mask = ns - 1;
    t->shift = 64 - log2_u64(ns);
    if (old) {
      rehash(t, old, nslots);
      cxm__free(ctx, old, nslots * sizeof(uint64_t));
    }
  }
  return CXM_OK;
}

/* Appends a zeroed record; the caller reserved room and checked absence. */
uint32_t cxm__custtab_insert(cxm_custtab *t, uint64_t hash) {
  uint32_t idx = t->count++;
  cxm_cust *r = &t->recs[idx];
  memset(r, 0, sizeof *r);
  r->hash = hash;
  r->first_seen = UINT32_MAX; /* no event yet: any time is earlier */
  r->ch_purchase = r->ch_lead = r->ch_interact = CXM_CH_NONE;
  index_put(t, hash, idx);
  return idx;
}

/* Backward-shift deletion keeps every probe chain unbroken without
   tombstones; a slot's home comes from its record's full hash (the slot
   keeps only the upper half). */
void cxm__custtab_remove(cxm_custtab *t, uint32_t ri) {
  uint64_t i = slot_home(t, t->recs[ri].hash);
  while ((uint32_t)t->slots[i] != ri + 1) i = (i + 1) & t->mask;
  uint64_t j = i;
  for (;;) {
    j = (j + 1) & t->mask;
    uint64_t s = t->slots[j];
    if (s == 0) break;
    uint64_t k = slot_home(t, t->recs[(uint32_t)s - 1].hash);
    /* s may fill the hole at i unless its home lies cyclically in (i, j]. */
    int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (stays) continue;
    t->slots[i] = s;
    i = j;
  }
  t->slots[i] = 0;
  uint32_t last = t->count - 1;
  if (ri != last) {
    t->recs[ri] = t->recs[last];
    uint64_t m = slot_home(t, t->recs[ri].hash);
    while ((uint32_t)t->slots[m] != last + 1) m = (m + 1) & t->mask;
    t->slots[m] = (t->slots[m] & ~UINT64_C(0xFFFFFFFF)) | ((uint64_t)ri + 1);
  }
  memset(&t->recs[last], 0, sizeof t->recs[last]);
  t->count = last;
}
