/*
 * fuzz/fuzz_api.c - libFuzzer harness for sequences of API calls.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 *
 * The input is decoded as a program: a few option bytes, then operations
 * (intern channel/segment labels, intern segment sets, set a customer's
 * segments, add events one by one and in batches with arbitrary times,
 * types and values including NaN, Inf and huge numbers, query KPIs with
 * arbitrary windows, change the lateness bound). Bytes run out = program
 * ends; any byte string is a valid program.
 *
 * Checked:
 *   - every status is one the header documents for that call; out
 *     arguments untouched on failure;
 *   - the handle's accepted/rejected statistics equal what the calls
 *     returned;
 *   - every KPI in range (counts >= 0, NPS -100..100, CSAT 0..100, rates
 *     0..1, ratios NaN when their denominator is 0), NPS = its categories,
 *     counts split exactly at a day;
 *   - a snapshot of the first handle loads equal to it, and merging it into
 *     an empty handle (or an empty handle into the loaded copy) changes
 *     no KPI;
 *   - a second handle given the same successful operations in the same
 *     order (batches replayed as single events, after the queries of the
 *     first handle have flushed its staging at other points) ends with the
 *     same statistics and identical KPIs.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"
#include "fuzz_common.h"

/* ---- input decoding -------------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  size_t n;
} rd;

static uint8_t u8(rd *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}
static uint16_t u16(rd *r) { return (uint16_t)(u8(r) | (unsigned)u8(r) << 8); }
static uint32_t u32(rd *r) { return (uint32_t)u16(r) | (uint32_t)u16(r) << 16; }
static uint64_t u64(rd *r) { return (uint64_t)u32(r) | (uint64_t)u32(r) << 32; }

#define BASE_TIME INT64_C(1767225600) /* 2026-01-01 */

static int64_t dec_time(rd *r) {
  uint8_t sel = u8(r);
  /* The extremes are rare: one event in 1970 and one in 2105 make every
     series of the scope 49,000 days long (memory and query time grow with
     the span), which slows the search down. */
  switch (sel & 63) {
    case 0: return (int64_t)u64(r);                         /* anything */
    case 1: return CXM_TIME_FIRST + (int8_t)u8(r);          /* around 1970 */
    case 2: return CXM_TIME_LAST + (int8_t)u8(r);           /* around 2105 */
    case 3:
    case 4: return -(int64_t)u32(r);                        /* before 1970 */
    case 5:
    case 6:
    case 7:
    case 8:
    case 9: return BASE_TIME + (int64_t)(int16_t)u16(r);    /* seconds around */
    default: return BASE_TIME + (int64_t)u16(r) * 3600 - 86400 * 30; /* hours */
  }
}

static double dec_value(rd *r) {
  uint8_t sel = u8(r);
  switch (sel & 15) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 1e300;
    case 4: return -0.0;
    case 5: {
      uint64_t bits = u64(r);
      double d;
      memcpy(&d, &bits, sizeof d);
      return d;
    }
    case 6: return (double)(int8_t)u8(r) + 0.5;
    case 7: return 9.2233720368547758e18 / (double)(1 + u8(r)); /* near INT64 */
    case 8: return (double)u32(r) / 100.0;                       /* money */
    case 9: return 0.285 + u8(r);                                /* rounding edges */
    default: return (double)(u8(r) % 12);                        /* scores, pageviews */
  }
}

/* Customer ids: mostly a small pool (so that customers repeat), sometimes
   raw bytes with NULs, sometimes empty. */
typedef struct {
  uint8_t buf[48];
  size_t len;
} idbuf;

static void dec_id(rd *r, idbuf *id) {
  uint8_t sel = u8(r);
  if (sel < 200) {
    id->len = (size_t)snprintf((char *)id->buf, sizeof id->buf, "cust-%u", sel % 12);
  } else if (sel < 250) {
    id->len = u8(r) % sizeof id->buf;
    for (size_t i = 0; i < id->len; i++) id->buf[i] = u8(r);
  } else {
    id->len = 0;
  }
}

static int32_t dec_small_id(rd *r, int32_t count) {
  /* -2 .. count + 1: invalid ids on both sides, CXM_ALL = -1 included */
  return (int32_t)(u8(r) % (uint32_t)(count + 4)) - 2;
}

/* ---- the operation log replayed on the second handle ---------------------- */

enum { L_CHANNEL, L_SEGMENT, L_SEGSET, L_SETSEG, L_EVENT, L_LATENESS };

typedef struct {
  int op;
  int64_t time;
  int32_t type, channel, set;
  double v1, v2;
  idbuf id;
  char label[72];
  size_t label_len;
  int32_t segs[12];
  size_t nsegs;
} logent;

typedef struct {
  logent *e;
  size_t n, cap;
} oplog;

static logent *log_push(oplog *l) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->e = realloc(l->e, l->cap * sizeof *l->e);
    FZ_CHECK(l->e != NULL, "realloc");
  }
  logent *e = &l->e[l->n++];
  memset(e, 0, sizeof *e);
  return e;
}

/* ---- the state both handles are checked against ----------------------- */

typedef struct {
  int64_t accepted, rejected;
} tally;

static int event_status_ok(int rc) {
  return rc == CXM_OK || rc == CXM_E_TYPE || rc == CXM_E_RANGE ||
         rc == CXM_E_MISSING || rc == CXM_E_LATE || rc == CXM_E_ARG;
}

static void check_tally(cxm_ctx *ctx, const tally *t) {
  int64_t acc = -1, rej = -1, events = -1, n = -1;
  FZ_CHECK(cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &acc) == CXM_OK, "stat");
  FZ_CHECK(cxm_stat_get(ctx, CXM_STAT_EVENTS_REJECTED, &rej) == CXM_OK, "stat");
  FZ_CHECK(acc == t->accepted, "accepted stat %lld, calls said %lld", (long long)acc,
           (long long)t->accepted);
  FZ_CHECK(rej == t->rejected, "rejected stat %lld, calls said %lld", (long long)rej,
           (long long)t->rejected);
  FZ_CHECK(cxm_kpi_get_int(ctx, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, CXM_TIME_MIN,
                           CXM_TIME_MAX, &events, &n) == CXM_OK, "events");
  FZ_CHECK(events == acc, "EVENTS kpi %lld != accepted %lld", (long long)events,
           (long long)acc);
}

static void log_event(oplog *l, int64_t time, int32_t type, const idbuf *id,
                      int32_t channel, double v1, double v2, int32_t set) {
  logent *e = log_push(l);
  e->op = L_EVENT;
  e->time = time;
  e->type = type;
  e->id = *id;
  e->channel = channel;
  e->v1 = v1;
  e->v2 = v2;
  e->set = set;
}

#define MAX_BATCH 24

static void op_batch(cxm_ctx *ctx, rd *r, oplog *l, tally *t) {
  size_t n = u8(r) % MAX_BATCH;
  int64_t times[MAX_BATCH];
  int32_t types[MAX_BATCH], channels[MAX_BATCH], segsets[MAX_BATCH];
  int32_t statuses[MAX_BATCH];
  double v1[MAX_BATCH], v2[MAX_BATCH];
  uint8_t data[MAX_BATCH * sizeof(((idbuf *)0)->buf)];
  int64_t offs[MAX_BATCH + 1];
  idbuf ids[MAX_BATCH];
  int32_t nch = 0, nsets = 0;
  uint8_t flags = u8(r);
  FZ_CHECK(cxm_channel_count(ctx, &nch) == CXM_OK, "channel_count");
  nsets = 4; /* segment-set ids tried: -1 .. 5, some unknown */
  offs[0] = 0;
  for (size_t i = 0; i < n; i++) {
    times[i] = dec_time(r);
    types[i] = (int32_t)(u8(r) % 16);
    dec_id(r, &ids[i]);
    memcpy(data + offs[i], ids[i].buf, ids[i].len);
    offs[i + 1] = offs[i] + (int64_t)ids[i].len;
    channels[i] = dec_small_id(r, nch);
    v1[i] = dec_value(r);
    v2[i] = dec_value(r);
    segsets[i] = dec_small_id(r, nsets);
    if (segsets[i] < -1) segsets[i] = -1;
    statuses[i] = -77;
  }
  size_t accepted = (size_t)-1;
  int rc = cxm_events_add(ctx, n, times, types, data, offs,
                          (flags & 1) ? NULL : channels, (flags & 2) ? NULL : v1,
                          (flags & 4) ? NULL : v2, (flags & 8) ? NULL : segsets,
                          &accepted, statuses);
  FZ_CHECK(rc == CXM_OK || event_status_ok(rc), "events_add: status %d", rc);
  size_t ok = 0;
  int first_bad = CXM_OK;
  for (size_t i = 0; i < n; i++) {
    FZ_CHECK(statuses[i] == CXM_OK || event_status_ok(statuses[i]),
             "events_add: event %zu status %d", i, (int)statuses[i]);
    if (statuses[i] == CXM_OK) {
      ok++;
      log_event(l, times[i], types[i], &ids[i], (flags & 1) ? CXM_NO_CHANNEL : channels[i],
                (flags & 2) ? NAN : v1[i], (flags & 4) ? NAN : v2[i],
                (flags & 8) ? -1 : segsets[i]);
    } else if (first_bad == CXM_OK) {
      first_bad = statuses[i];
    }
  }
  FZ_CHECK(accepted == ok, "events_add: accepted %zu, statuses say %zu", accepted, ok);
  FZ_CHECK(rc == first_bad, "events_add returned %d, first rejected status %d", rc,
           first_bad);
  t->accepted += (int64_t)ok;
  t->rejected += (int64_t)(n - ok);
}

static void op_single(cxm_ctx *ctx, rd *r, oplog *l, tally *t) {
  int32_t nch = 0;
  idbuf id;
  FZ_CHECK(cxm_channel_count(ctx, &nch) == CXM_OK, "channel_count");
  int64_t time = dec_time(r);
  int32_t type = (int32_t)(u8(r) % 16);
  dec_id(r, &id);
  int32_t ch = dec_small_id(r, nch);
  double v1 = dec_value(r), v2 = dec_value(r);
  int rc = cxm_event_add(ctx, time, type, id.len ? id.buf : NULL, id.len, ch, v1, v2);
  FZ_CHECK(event_status_ok(rc), "event_add: status %d", rc);
  if (rc == CXM_OK) {
    log_event(l, time, type, &id, ch, v1, v2, -1);
    t->accepted++;
  } else {
    t->rejected++;
  }
}

static void op_label(cxm_ctx *ctx, rd *r, oplog *l, int segment) {
  char label[72];
  size_t len = u8(r) % sizeof label;
  int32_t id = -77, count0 = 0, count1 = 0;
  for (size_t i = 0; i < len; i++) label[i] = (char)(u8(r) % 4 ? 'a' + u8(r) % 6 : u8(r));
  int (*count)(cxm_ctx *, int32_t *) = segment ? cxm_segment_count : cxm_channel_count;
  FZ_CHECK(count(ctx, &count0) == CXM_OK, "count");
  int rc = segment ? cxm_segment_intern(ctx, label, len, &id)
                   : cxm_channel_intern(ctx, label, len, &id);
  FZ_CHECK(count(ctx, &count1) == CXM_OK, "count");
  if (len == 0 || len > CXM_LABEL_MAX) {
    FZ_CHECK(rc != CXM_OK && id == -77, "intern accepted a label of %zu bytes", len);
  }
  if (rc != CXM_OK) {
    FZ_CHECK(rc == CXM_E_ARG || rc == CXM_E_LIMIT || rc == CXM_E_RANGE ||
             rc == CXM_E_MISSING, "intern: status %d", rc);
    FZ_CHECK(count1 == count0 && id == -77, "failed intern changed something");
    return;
  }
  FZ_CHECK(id >= 0 && id < count1 && count1 - count0 <= 1, "intern: id %d of %d", (int)id,
           (int)count1);
  const char *lab = NULL;
  size_t lablen = 0;
  FZ_CHECK((segment ? cxm_segment_label : cxm_channel_label)(ctx, id, &lab, &lablen) == CXM_OK,
           "label");
  FZ_CHECK(lablen == len && memcmp(lab, label, len) == 0, "label round trip");
  int32_t found = -1;
  FZ_CHECK((segment ? cxm_segment_find : cxm_channel_find)(ctx, label, len, &found) == CXM_OK &&
               found == id, "find after intern");
  logent *e = log_push(l);
  e->op = segment ? L_SEGMENT : L_CHANNEL;
  memcpy(e->label, label, len);
  e->label_len = len;
}

static void op_segset(cxm_ctx *ctx, rd *r, oplog *l) {
  int32_t nseg = 0, segs[12], set = -77;
  size_t n = u8(r) % 12;
  FZ_CHECK(cxm_segment_count(ctx, &nseg) == CXM_OK, "segment_count");
  for (size_t i = 0; i < n; i++) segs[i] = dec_small_id(r, nseg);
  int rc = cxm_segset_intern(ctx, n ? segs : NULL, n, &set);
  if (rc != CXM_OK) {
    FZ_CHECK(rc == CXM_E_ARG || rc == CXM_E_LIMIT, "segset_intern: status %d", rc);
    FZ_CHECK(set == -77, "segset_intern wrote set on failure");
    return;
  }
  FZ_CHECK(set >= 0, "segset id %d", (int)set);
  if (n == 0) FZ_CHECK(set == 0, "empty set is not 0");
  logent *e = log_push(l);
  e->op = L_SEGSET;
  memcpy(e->segs, segs, n * sizeof segs[0]);
  e->nsegs = n;
}

static void op_setseg(cxm_ctx *ctx, rd *r, oplog *l) {
  idbuf id;
  dec_id(r, &id);
  int32_t set = (int32_t)(u8(r) % 8) - 1;
  int rc = cxm_customer_set_segments(ctx, id.len ? id.buf : NULL, id.len, set);
  if (rc != CXM_OK) {
    FZ_CHECK(rc == CXM_E_ARG || rc == CXM_E_MISSING || rc == CXM_E_NULL ||
             rc == CXM_E_RANGE, "set_segments: status %d", rc);
    return;
  }
  logent *e = log_push(l);
  e->op = L_SETSEG;
  e->id = id;
  e->set = set;
}

static void op_query(cxm_ctx *ctx, rd *r) {
  int32_t nseg = 0, nch = 0;
  FZ_CHECK(cxm_segment_count(ctx, &nseg) == CXM_OK, "segment_count");
  FZ_CHECK(cxm_channel_count(ctx, &nch) == CXM_OK, "channel_count");
  int kpi = (int)(u8(r) % 40) - 1;
  int32_t seg = dec_small_id(r, nseg), ch = dec_small_id(r, nch);
  uint8_t w = u8(r);
  int64_t from, to;
  if (w & 1) {
    from = CXM_TIME_MIN;
    to = CXM_TIME_MAX;
  } else if (w & 2) {
    int64_t f = -77, t = -77;
    int32_t days = (int32_t)(u16(r) % 800) - 20;
    int rc = cxm_window_trailing(ctx, dec_time(r), days, &f, &t);
    if (rc != CXM_OK) {
      FZ_CHECK(f == -77 && t == -77, "window_trailing wrote on failure");
      return;
    }
    FZ_CHECK(f <= t, "trailing window [%lld, %lld)", (long long)f, (long long)t);
    from = f;
    to = t;
  } else {
    from = dec_time(r);
    to = dec_time(r);
  }
  fz_query(ctx, kpi, seg, ch, from, to, NULL, NULL);
  if (kpi >= 1 && kpi <= cxm_kpi_max()) {
    int64_t iv = -77, in = -77;
    int rc = cxm_kpi_get_int(ctx, kpi, seg, ch, from, to, &iv, &in);
    if (rc != CXM_OK) {
      FZ_CHECK(iv == -77 && in == -77, "kpi_get_int wrote on failure");
    } else {
      FZ_CHECK(in >= 0, "kpi_get_int: n %lld", (long long)in);
      if (cxm_kpi_is_money(kpi) == 0 && kpi != CXM_KPI_NET_REVENUE)
        FZ_CHECK(iv >= 0, "count kpi %s = %lld", cxm_kpi_name(kpi), (long long)iv);
    }
  }
  if ((seg == CXM_ALL || (seg >= 0 && seg < nseg)) && (ch == CXM_ALL || (ch >= 0 && ch < nch)))
    fz_check_scope(ctx, seg, ch, from, to);
}

/* ---- replay ---------------------------------------------------------------- */

static void replay(cxm_ctx *b, const oplog *l) {
  for (size_t i = 0; i < l->n; i++) {
    const logent *e = &l->e[i];
    int32_t id;
    int rc = CXM_OK;
    switch (e->op) {
      case L_CHANNEL: rc = cxm_channel_intern(b, e->label, e->label_len, &id); break;
      case L_SEGMENT: rc = cxm_segment_intern(b, e->label, e->label_len, &id); break;
      case L_SEGSET: rc = cxm_segset_intern(b, e->nsegs ? e->segs : NULL, e->nsegs, &id); break;
      case L_SETSEG:
        rc = cxm_customer_set_segments(b, e->id.len ? e->id.buf : NULL, e->id.len, e->set);
        break;
      case L_LATENESS: rc = cxm_option_set(b, CXM_OPT_MAX_LATENESS, e->time); break;
      case L_EVENT:
        if (e->set >= 0 && e->type != CXM_EV_SPEND) {
          rc = cxm_customer_set_segments(b, e->id.buf, e->id.len, e->set);
          FZ_CHECK(rc == CXM_OK, "replay %zu: set_segments %d", i, rc);
        }
        rc = cxm_event_add(b, e->time, e->type, e->id.len ? e->id.buf : NULL, e->id.len,
                           e->channel, e->v1, e->v2);
        break;
    }
    FZ_CHECK(rc == CXM_OK, "replay of operation %zu (kind %d) failed on the second handle: %d (%s)",
             i, e->op, rc, cxm_ctx_errmsg(b));
  }
}

/* ---- the harness ------------------------------------------------------------ */

static cxm_ctx *new_handle(int64_t offset, int64_t decimals, int64_t lateness,
                           const uint8_t key[CXM_KEY_SIZE]) {
  cxm_ctx *ctx = NULL;
  FZ_CHECK(cxm_ctx_create(&ctx) == CXM_OK, "ctx_create");
  FZ_CHECK(cxm_key_set(ctx, key, CXM_KEY_SIZE) == CXM_OK, "key_set");
  FZ_CHECK(cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, offset) == CXM_OK, "offset");
  FZ_CHECK(cxm_option_set(ctx, CXM_OPT_DECIMALS, decimals) == CXM_OK, "decimals");
  FZ_CHECK(cxm_option_set(ctx, CXM_OPT_MAX_LATENESS, lateness) == CXM_OK, "lateness");
  return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  uint8_t key[CXM_KEY_SIZE];
  static const int64_t offsets[8] = {0, 3600, -3600, 25200, -36000, 50400, -50400, 19800};
  int64_t offset = offsets[u8(&r) % 8];
  int64_t decimals = u8(&r) % 7;
  int64_t lateness = (int64_t)(u32(&r) % 31622401u);
  for (int i = 0; i < CXM_KEY_SIZE; i++) key[i] = u8(&r);

  cxm_ctx *a = new_handle(offset, decimals, lateness, key);
  oplog l = {NULL, 0, 0};
  tally t = {0, 0};
  int ops = 0;
  while (r.n > 0 && ops++ < 400) {
    uint8_t op = u8(&r);
    switch (op % 16) {
      case 0: op_label(a, &r, &l, 0); break;
      case 1: op_label(a, &r, &l, 1); break;
      case 2: op_segset(a, &r, &l); break;
      case 3: op_setseg(a, &r, &l); break;
      case 4:
      case 5:
      case 6:
      case 7: op_single(a, &r, &l, &t); break;
      case 8:
      case 9:
      case 10: op_batch(a, &r, &l, &t); break;
      case 11:
      case 12:
      case 13: op_query(a, &r); break;
      case 14: {
        int64_t v = (int64_t)(u32(&r) % 40000000u) - 1000;
        int rc = cxm_option_set(a, CXM_OPT_MAX_LATENESS, v);
        if (v < 0 || v > 31622400) {
          FZ_CHECK(rc == CXM_E_RANGE, "lateness %lld: status %d", (long long)v, rc);
        } else {
          FZ_CHECK(rc == CXM_OK, "lateness %lld: status %d", (long long)v, rc);
          logent *e = log_push(&l);
          e->op = L_LATENESS;
          e->time = v;
        }
        break;
      }
      default: {
        /* options that may only change before the first event */
        int rc = cxm_option_set(a, CXM_OPT_DECIMALS, decimals);
        int64_t acc = 0;
        cxm_stat_get(a, CXM_STAT_EVENTS_ACCEPTED, &acc);
        FZ_CHECK(rc == CXM_OK || rc == CXM_E_STATE, "decimals again: status %d", rc);
        if (acc > 0) FZ_CHECK(rc == CXM_E_STATE, "decimals changed after events");
        break;
      }
    }
  }
  check_tally(a, &t);
  fz_sweep(a, 2);

  cxm_ctx *b = new_handle(offset, decimals, lateness, key);
  replay(b, &l);
  tally tb = {t.accepted, 0};
  check_tally(b, &tb);
  fz_compare(a, b, 3);

  /* Snapshot round trip: loaded (key set first) == a; and merging a into an
     empty handle, or an empty handle into the loaded one, changes nothing. */
  void *snap = NULL;
  size_t snap_len = 0;
  int rc = cxm_snapshot_save_buffer(a, 0, &snap, &snap_len);
  FZ_CHECK(rc == CXM_OK, "snapshot save: %s", cxm_ctx_errmsg(a));
  cxm_ctx *c = NULL;
  FZ_CHECK(cxm_ctx_create(&c) == CXM_OK && cxm_key_set(c, key, CXM_KEY_SIZE) == CXM_OK, "c");
  rc = cxm_snapshot_load_buffer(c, snap, snap_len);
  FZ_CHECK(rc == CXM_OK, "snapshot load: %s", cxm_ctx_errmsg(c));
  int32_t known = 0;
  FZ_CHECK(cxm_key_known(c, &known) == CXM_OK && known == 1, "key not known after load");
  fz_compare(a, c, 3);
  cxm_ctx *d = new_handle(offset, decimals, lateness, key);
  rc = cxm_ctx_merge(d, a);
  FZ_CHECK(rc == CXM_OK, "merge into an empty handle: %s", cxm_ctx_errmsg(d));
  fz_compare(a, d, 3);
  cxm_ctx *e = new_handle(offset, decimals, lateness, key);
  rc = cxm_ctx_merge(c, e);
  FZ_CHECK(rc == CXM_OK, "merge of an empty handle: %s", cxm_ctx_errmsg(c));
  fz_compare(a, c, 3);
  cxm_buffer_free(a, snap, snap_len);
  cxm_ctx_destroy(c);
  cxm_ctx_destroy(d);
  cxm_ctx_destroy(e);

  free(l.e);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(b);
  return 0;
}
