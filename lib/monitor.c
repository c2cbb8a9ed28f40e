/*
 * monitor.c - monitoring: the detractor callback, threshold watches with
 * hysteresis, and benchmarks.
 *
 * A watch keeps its own counters (three integers: a numerator, a second
 * numerator for NPS, and the n) so that checking it after an event is O(1):
 * reading the scope's series instead would need the staged cells flushed
 * after every event, which is what the stage exists to avoid. Its counters
 * start as the scope's (read once when it is added) and follow every event
 * of the scope from then on, through the same event-to-counter mapping that
 * the core uses, so a watch's value equals cxm_kpi_get()'s. A trailing
 * window is a ring of one bucket per day; days leave it as the handle's
 * newest event moves on.
 *
 * Watches are found from an event through per-row lists (row = all or a
 * segment), so an event visits only the watches of the rows it belongs to.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "monitor.h"

#define WINDOW_MAX 3660
#define BENCH_MAX 65536

typedef struct watch {
  int used;
  int kpi;
  uint32_t row, col;   /* grid row (0 all, 1 + segment) and column */
  int32_t window;      /* days; 0 = all time */
  int32_t dir;
  int alerting;
  int32_t next;        /* next watch of the same row, -1 = none */
  double fire_at, clear_at;
  int64_t min_n;
  cxm_watch_fn fn;
  void *user;
  int64_t tot[3];      /* a, b, n over the window */
  int64_t *ring;       /* window * 3 counters, one bucket per day */
  int64_t ring_day;    /* the newest day the ring holds */
} watch;

typedef struct bench {
  int kpi;
  int32_t segment, channel;
  double value;
} bench;

typedef struct mon {
  cxm_detractor_fn det_fn;
  void *det_user;
  watch *w;
  int32_t nw, capw, active;
  int32_t *row_head;   /* CXM_GRID_ROWS heads of the per-row lists */
  bench *b;
  int32_t nb, capb;
} mon;

int cxm__reentered(cxm_ctx *ctx) {
  return cxm__seterr(ctx, CXM_E_STATE,
                     "handle: called from one of its own monitoring callbacks");
}

static void update_on(cxm_ctx *ctx) {
  const mon *m = (const mon *)ctx->mon;
  ctx->mon_on = m && (m->det_fn != NULL || m->active > 0);
}

static mon *mon_get(cxm_ctx *ctx) {
  if (!ctx->mon) ctx->mon = cxm__calloc(ctx, sizeof(mon));
  return (mon *)ctx->mon;
}

void cxm__monitor_free(cxm_ctx *ctx) {
  mon *m = (mon *)ctx->mon;
  if (!m) return;
  for (int32_t i = 0; i < m->nw; i++)
    if (m->w[i].ring)
      cxm__free(ctx, m->w[i].ring, (size_t)m->w[i].window * 3 * sizeof(int64_t));
  cxm__free(ctx, m->w, (size_t)m->capw * sizeof(watch));
  cxm__free(ctx, m->row_head, CXM_GRID_ROWS * sizeof(int32_t));
  cxm__free(ctx, m->b, (size_t)m->capb * sizeof(bench));
  cxm__free(ctx, m, sizeof(mon));
  ctx->mon = NULL;
  ctx->mon_on = 0;
}

/* ---- the detractor callback -------------------------------------------------- */

int cxm_detractor_callback_set(cxm_ctx *ctx, cxm_detractor_fn fn, void *user) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!fn && !ctx->mon) return CXM_OK;
  mon *m = mon_get(ctx);
  if (!m) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the monitoring state");
  m->det_fn = fn;
  m->det_user = fn ? user : NULL;
  update_on(ctx);
  return CXM_OK;
}

/* ---- KPIs as three counters --------------------------------------------------- */

enum { M_NONE, M_NPS, M_MOE, M_PCT, M_RATIO, M_MONEY_RATIO, M_COUNT, M_MONEY };

static int mode_of(int kpi) {
  switch (kpi) {
    case CXM_KPI_NPS: return M_NPS;
    case CXM_KPI_NPS_MOE95: return M_MOE;
    case CXM_KPI_CSAT: return M_PCT;
    case CXM_KPI_CSAT_MEAN:
    case CXM_KPI_CES:
    case CXM_KPI_BOUNCE_RATE:
    case CXM_KPI_ENGAGED_SESSION_RATE:
    case CXM_KPI_OPEN_RATE:
    case CXM_KPI_CLICK_RATE:
    case CXM_KPI_CLICK_TO_OPEN_RATE: return M_RATIO;
    case CXM_KPI_AOV: return M_MONEY_RATIO;
    case CXM_KPI_REVENUE:
    case CXM_KPI_REFUNDS:
    case CXM_KPI_NET_REVENUE: return M_MONEY;
    case CXM_KPI_NPS_PROMOTERS:
    case CXM_KPI_NPS_PASSIVES:
    case CXM_KPI_NPS_DETRACTORS:
    case CXM_KPI_ORDERS:
    case CXM_KPI_SESSIONS:
    case CXM_KPI_LEADS:
    case CXM_KPI_MESSAGES_SENT:
    case CXM_KPI_MESSAGES_OPENED:
    case CXM_KPI_MESSAGES_CLICKED:
    case CXM_KPI_INTERACTIONS: return M_COUNT;
    default: return M_NONE; /* customer-level, spend-based, new_buyers, events */
  }
}

/* A watch's counters (a, b, n) from a scope's event-level counters. */
static void from_sums(int kpi, const int64_t s[NEV], int64_t o[3]) {
  o[0] = o[1] = o[2] = 0;
  switch (kpi) {
    case CXM_KPI_NPS:
    case CXM_KPI_NPS_MOE95:
      o[0] = s[E_NPS_PRO];
      o[1] = s[E_NPS_DET];
      o[2] = s[E_NPS_PRO] + s[E_NPS_PAS] + s[E_NPS_DET];
      break;
    case CXM_KPI_NPS_PROMOTERS: o[0] = o[2] = s[E_NPS_PRO]; break;
    case CXM_KPI_NPS_PASSIVES: o[0] = o[2] = s[E_NPS_PAS]; break;
    case CXM_KPI_NPS_DETRACTORS: o[0] = o[2] = s[E_NPS_DET]; break;
    case CXM_KPI_CSAT: o[0] = s[E_CSAT_POS]; o[2] = s[E_CSAT_N]; break;
    case CXM_KPI_CSAT_MEAN: o[0] = s[E_CSAT_SUM]; o[2] = s[E_CSAT_N]; break;
    case CXM_KPI_CES: o[0] = s[E_CES_SUM]; o[2] = s[E_CES_N]; break;
    case CXM_KPI_REVENUE: o[0] = s[E_PUR_SUM]; o[2] = s[E_PUR_N]; break;
    case CXM_KPI_REFUNDS: o[0] = s[E_REF_SUM]; o[2] = s[E_REF_N]; break;
    case CXM_KPI_NET_REVENUE:
      o[0] = s[E_PUR_SUM] - s[E_REF_SUM];
      o[2] = s[E_PUR_N] + s[E_REF_N];
      break;
    case CXM_KPI_ORDERS: o[0] = o[2] = s[E_PUR_N]; break;
    case CXM_KPI_AOV: o[0] = s[E_PUR_SUM]; o[2] = s[E_PUR_N]; break;
    case CXM_KPI_SESSIONS: o[0] = o[2] = s[E_SES_N]; break;
    case CXM_KPI_BOUNCE_RATE: o[0] = s[E_SES_BOUNCE]; o[2] = s[E_SES_N]; break;
    case CXM_KPI_ENGAGED_SESSION_RATE: o[0] = s[E_SES_ENGAGED]; o[2] = s[E_SES_N]; break;
    case CXM_KPI_OPEN_RATE: o[0] = s[E_MSG_OPEN]; o[2] = s[E_MSG_SENT]; break;
    case CXM_KPI_CLICK_RATE: o[0] = s[E_MSG_CLICK]; o[2] = s[E_MSG_SENT]; break;
    case CXM_KPI_CLICK_TO_OPEN_RATE: o[0] = s[E_MSG_CLICK]; o[2] = s[E_MSG_OPEN]; break;
    case CXM_KPI_LEADS: o[0] = o[2] = s[E_LEADS]; break;
    case CXM_KPI_MESSAGES_SENT: o[0] = o[2] = s[E_MSG_SENT]; break;
    case CXM_KPI_MESSAGES_OPENED: o[0] = o[2] = s[E_MSG_OPEN]; break;
    case CXM_KPI_MESSAGES_CLICKED: o[0] = o[2] = s[E_MSG_CLICK]; break;
    case CXM_KPI_INTERACTIONS:
      o[0] = o[2] = s[E_TOUCH] + s[E_ENGAGE] + s[E_SES_N] + s[E_MSG_CLICK];
      break;
    default: break;
  }
}

/* The event-level counters one event adds, as the core credits them
   (ingest.c); only the fields watches read. */
static void event_sums(const cxm_evview *ev, int64_t s[NEV]) {
  memset(s, 0, NEV * sizeof(int64_t));
  switch (ev->type) {
    case CXM_EV_TOUCH: s[E_TOUCH] = 1; break;
    case CXM_EV_ENGAGE: s[E_ENGAGE] = 1; break;
    case CXM_EV_SESSION:
      s[E_SES_N] = 1;
      s[E_SES_BOUNCE] = ev->v1 == 1.0;
      s[E_SES_ENGAGED] = ev->v1 >= 2.0 || ev->v2 >= 10.0;
      break;
    case CXM_EV_MESSAGE_SENT: s[E_MSG_SENT] = 1; break;
    case CXM_EV_MESSAGE_OPEN: s[E_MSG_OPEN] = 1; break;
    case CXM_EV_MESSAGE_CLICK: s[E_MSG_CLICK] = 1; break;
    case CXM_EV_LEAD: s[E_LEADS] = 1; break;
    case CXM_EV_PURCHASE: s[E_PUR_N] = 1; s[E_PUR_SUM] = ev->minor; break;
    case CXM_EV_REFUND: s[E_REF_N] = 1; s[E_REF_SUM] = ev->minor; break;
    case CXM_EV_NPS:
      s[ev->v1 >= 9 ? E_NPS_PRO : ev->v1 >= 7 ? E_NPS_PAS : E_NPS_DET] = 1;
      break;
    case CXM_EV_CSAT:
      s[E_CSAT_N] = 1;
      s[E_CSAT_SUM] = (int64_t)ev->v1;
      s[E_CSAT_POS] = ev->v1 >= 4;
      break;
    case CXM_EV_CES: s[E_CES_N] = 1; s[E_CES_SUM] = (int64_t)ev->v1; break;
    default: break;
  }
}

/* The KPI from (a, b, n), computed as kpi.c does so that values agree. */
static double value_of(const cxm_ctx *ctx, int kpi, const int64_t o[3]) {
  int64_t a = o[0], b = o[1], n = o[2];
  switch (mode_of(kpi)) {
    case M_NPS: return n ? 100.0 * (double)(a - b) / (double)n : NAN;
    case M_MOE: {
      if (!n) return NAN;
      double pp = (double)a / (double)n, pd = (double)b / (double)n;
      double var = pp + pd - (pp - pd) * (pp - pd);
      if (var < 0) var = 0;
      return 100.0 * 1.96 * sqrt(var / (double)n);
    }
    case M_PCT: return n ? (double)(100 * a) / (double)n : NAN;
    case M_RATIO: return n ? (double)a / (double)n : NAN;
    case M_MONEY_RATIO: return n ? ((double)a / ctx->money_scale) / (double)n : NAN;
    case M_COUNT: return (double)a;
    case M_MONEY: return (double)a / ctx->money_scale;
    default: return NAN;
  }
}

/* ---- watches -------------------------------------------------------------------- */

static int64_t newest_day(const cxm_ctx *ctx) {
  return ctx->n_accepted ? cxm__day_of(ctx, ctx->last_time) : INT64_MIN / 4;
}

static size_t ring_slot(const watch *w, int64_t day) {
  int64_t r = day % w->window;
  if (r < 0) r += w->window;
  return (size_t)r * 3;
}

/* Moves the ring's newest day to `day`, dropping the days that leave. */
static void ring_advance(watch *w, int64_t day) {
  if (day <= w->ring_day) return;
  int64_t steps = day - w->ring_day;
  if (steps > w->window) steps = w->window;
  for (int64_t k = 1; k <= steps; k++) {
    int64_t *b = w->ring + ring_slot(w, w->ring_day + k);
    for (int j = 0; j < 3; j++) {
      w->tot[j] -= b[j];
      b[j] = 0;
    }
  }
  w->ring_day = day;
}

static void watch_add_counts(watch *w, int64_t day, const int64_t d[3]) {
  if (w->window) {
    if (day <= w->ring_day - w->window) return; /* already out of the window */
    int64_t *b = w->ring + ring_slot(w, day);
    for (int j = 0; j < 3; j++) b[j] += d[j];
  }
  for (int j = 0; j < 3; j++) w->tot[j] += d[j];
}

static void watch_check(cxm_ctx *ctx, int32_t id, watch *w, int64_t time) {
  int64_t n = w->tot[2];
  double v = value_of(ctx, w->kpi, w->tot);
  if (isnan(v) || n < w->min_n) return;
  int to;
  if (!w->alerting)
    to = (w->dir == CXM_WATCH_ABOVE ? v >= w->fire_at : v <= w->fire_at) ? 1 : -1;
  else
    to = (w->dir == CXM_WATCH_ABOVE ? v < w->clear_at : v > w->clear_at) ? 0 : -1;
  if (to < 0) return;
  w->alerting = to;
  ctx->in_callback = 1;
  w->fn(w->user, id, to, v, n, time);
  ctx->in_callback = 0;
}

void cxm__monitor_on_event(cxm_ctx *ctx, uint32_t ri, const cxm_evview *ev) {
  mon *m = (mon *)ctx->mon;
  if (!m) return;
  if (m->det_fn && ev->type == CXM_EV_NPS && ev->v1 < 7) {
    ctx->in_callback = 1;
    m->det_fn(m->det_user, ctx->customers.recs[ri].hash, (int32_t)ev->v1,
              ev->ch == CXM_CH_NONE ? CXM_NO_CHANNEL : (int32_t)ev->ch, ev->time);
    ctx->in_callback = 0;
  }
  if (!m->active) return;
  uint32_t col = ev->ch == CXM_CH_NONE ? 0 : 1u + ev->ch;
  /* note_accepted() has not run yet: the newest day may be this event's. */
  int64_t now = newest_day(ctx);
  if (ev->day > now) now = ev->day;
  const cxm_segset *ss = &ctx->segsets.sets[ev->set];
  int64_t sums[NEV];
  int have_sums = 0;
  for (uint32_t i = 0; i <= ss->n; i++) {
    uint32_t row = i == 0 ? 0 : 1u + (uint32_t)ss->seg[i - 1];
    for (int32_t id = m->row_head[row]; id >= 0; id = m->w[id].next) {
      watch *w = &m->w[id];
      if (w->col != 0 && w->col != col) continue;
      if (!have_sums) {
        event_sums(ev, sums);
        have_sums = 1;
      }
      int64_t d[3];
      from_sums(w->kpi, sums, d);
      if (w->window) ring_advance(w, now);
      watch_add_counts(w, ev->day, d);
      watch_check(ctx, id, w, ev->time);
    }
  }
}

static int check_scope(cxm_ctx *ctx, int32_t segment, int32_t channel) {
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  if (channel != CXM_ALL && (channel < 0 || (uint32_t)channel >= ctx->channels.count))
    return cxm__seterr(ctx, CXM_E_ARG, "channel: no channel with id %d", (int)channel);
  return CXM_OK;
}

/* Fills a new watch's counters from the scope's series. */
static void watch_init(cxm_ctx *ctx, watch *w) {
  cxm__flush(ctx);
  const cxm_series *s = &ctx->rows[w->row]->ev[w->col];
  int64_t sums[NEV];
  if (!w->window) {
    memset(sums, 0, sizeof sums);
    cxm__series_sum(s, INT64_MIN, INT64_MAX, sums);
    from_sums(w->kpi, sums, w->tot);
    return;
  }
  w->ring_day = newest_day(ctx);
  if (!ctx->n_accepted) return;
  for (int64_t day = w->ring_day - w->window + 1; day <= w->ring_day; day++) {
    int64_t d[3];
    memset(sums, 0, sizeof sums);
    cxm__series_sum(s, day, day + 1, sums);
    from_sums(w->kpi, sums, d);
    watch_add_counts(w, day, d);
  }
}

int cxm_watch_add(cxm_ctx *ctx, int kpi, int32_t segment, int32_t channel,
                  int32_t window_days, int32_t direction, double fire_at,
                  double clear_at, int64_t min_n, cxm_watch_fn fn, void *user,
                  int32_t *out) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!fn || !out) return cxm__seterr(ctx, CXM_E_NULL, "%s: NULL", fn ? "watch" : "fn");
  if (!cxm_kpi_name(kpi)) return cxm__seterr(ctx, CXM_E_ARG, "kpi: unknown KPI %d", kpi);
  if (mode_of(kpi) == M_NONE)
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                       "kpi: %s cannot be watched (customer-level, spend-based, "
                       "new_buyers or events)", cxm_kpi_name(kpi));
  int rc = check_scope(ctx, segment, channel);
  if (rc) return rc;
  if (window_days < 0 || window_days > WINDOW_MAX)
    return cxm__seterr(ctx, CXM_E_RANGE, "window_days: 0..%d, got %d", WINDOW_MAX,
                       (int)window_days);
  if (direction != CXM_WATCH_ABOVE && direction != CXM_WATCH_BELOW)
    return cxm__seterr(ctx, CXM_E_ARG, "direction: unknown direction %d", (int)direction);
  if (isnan(fire_at) || isnan(clear_at))
    return cxm__seterr(ctx, CXM_E_ARG, "%s: NaN", isnan(fire_at) ? "fire_at" : "clear_at");
  if (direction == CXM_WATCH_ABOVE ? clear_at > fire_at : clear_at < fire_at)
    return cxm__seterr(ctx, CXM_E_ARG, "clear_at: must be %s fire_at for %s",
                       direction == CXM_WATCH_ABOVE ? "<=" : ">=",
                       direction == CXM_WATCH_ABOVE ? "CXM_WATCH_ABOVE" : "CXM_WATCH_BELOW");
  if (min_n < 0) return cxm__seterr(ctx, CXM_E_ARG, "min_n: must be >= 0");

  /* Reserve everything first: a failure leaves the watches as they were. */
  mon *m = mon_get(ctx);
  if (!m) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the monitoring state");
  int32_t id = 0;
  while (id < m->nw && m->w[id].used) id++;
  if (id == CXM_WATCHES_MAX)
    return cxm__seterr(ctx, CXM_E_LIMIT, "watch: at most %d watches", CXM_WATCHES_MAX);
  if (!m->row_head) {
    m->row_head = (int32_t *)cxm__malloc(ctx, CXM_GRID_ROWS * sizeof(int32_t));
    if (!m->row_head) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for a watch");
    for (uint32_t r = 0; r < CXM_GRID_ROWS; r++) m->row_head[r] = -1;
  }
  if (id == m->capw) {
    int32_t ncap = m->capw ? 2 * m->capw : 8;
    watch *nw = (watch *)cxm__realloc(ctx, m->w, (size_t)m->capw * sizeof(watch),
                                      (size_t)ncap * sizeof(watch));
    if (!nw) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for a watch");
    m->w = nw;
    m->capw = ncap;
  }
  int64_t *ring = NULL;
  if (window_days) {
    ring = (int64_t *)cxm__calloc(ctx, (size_t)window_days * 3 * sizeof(int64_t));
    if (!ring) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for a watch's window");
  }
  if (id == m->nw) m->nw++;
  watch *w = &m->w[id];
  memset(w, 0, sizeof *w);
  w->used = 1;
  w->kpi = kpi;
  w->row = segment == CXM_ALL ? 0 : 1u + (uint32_t)segment;
  w->col = channel == CXM_ALL ? 0 : 1u + (uint32_t)channel;
  w->window = window_days;
  w->dir = direction;
  w->fire_at = fire_at;
  w->clear_at = clear_at;
  w->min_n = min_n;
  w->fn = fn;
  w->user = user;
  w->ring = ring;
  watch_init(ctx, w);
  w->next = m->row_head[w->row];
  m->row_head[w->row] = id;
  m->active++;
  update_on(ctx);
  *out = id;
  return CXM_OK;
}

static watch *find_watch(cxm_ctx *ctx, int32_t id) {
  mon *m = (mon *)ctx->mon;
  if (!m || id < 0 || id >= m->nw || !m->w[id].used) return NULL;
  return &m->w[id];
}

int cxm_watch_remove(cxm_ctx *ctx, int32_t id) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  watch *w = find_watch(ctx, id);
  if (!w) return cxm__seterr(ctx, CXM_E_NOTFOUND, "watch: no watch with id %d", (int)id);
  mon *m = (mon *)ctx->mon;
  int32_t *link = &m->row_head[w->row];
  while (*link != id) link = &m->w[*link].next;
  *link = w->next;
  if (w->ring) cxm__free(ctx, w->ring, (size_t)w->window * 3 * sizeof(int64_t));
  memset(w, 0, sizeof *w);
  m->active--;
  update_on(ctx);
  return CXM_OK;
}

int cxm_watch_get(cxm_ctx *ctx, int32_t id, int32_t *alerting, double *value,
                  int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  watch *w = find_watch(ctx, id);
  if (!w) return cxm__seterr(ctx, CXM_E_NOTFOUND, "watch: no watch with id %d", (int)id);
  if (w->window) ring_advance(w, newest_day(ctx));
  if (alerting) *alerting = w->alerting;
  if (value) *value = value_of(ctx, w->kpi, w->tot);
  if (n) *n = w->tot[2];
  return CXM_OK;
}

/* ---- benchmarks -------------------------------------------------------------- */

static bench *bench_find(mon *m, int kpi, int32_t segment, int32_t channel) {
  if (!m) return NULL;
  for (int32_t i = 0; i < m->nb; i++)
    if (m->b[i].kpi == kpi && m->b[i].segment == segment && m->b[i].channel == channel)
      return &m->b[i];
  return NULL;
}

int cxm_benchmark_set(cxm_ctx *ctx, int kpi, int32_t segment, int32_t channel,
                      double value) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!cxm_kpi_name(kpi)) return cxm__seterr(ctx, CXM_E_ARG, "kpi: unknown KPI %d", kpi);
  int rc = check_scope(ctx, segment, channel);
  if (rc) return rc;
  if (isinf(value)) return cxm__seterr(ctx, CXM_E_ARG, "value: infinite");
  mon *m = (mon *)ctx->mon;
  bench *b = bench_find(m, kpi, segment, channel);
  if (isnan(value)) {
    if (b) *b = m->b[--m->nb]; /* order does not matter */
    return CXM_OK;
  }
  if (b) {
    b->value = value;
    return CXM_OK;
  }
  m = mon_get(ctx);
  if (!m) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the monitoring state");
  if (m->nb == BENCH_MAX)
    return cxm__seterr(ctx, CXM_E_LIMIT, "benchmark: at most %d benchmarks", BENCH_MAX);
  if (m->nb == m->capb) {
    int32_t ncap = m->capb ? 2 * m->capb : 16;
    bench *nb = (bench *)cxm__realloc(ctx, m->b, (size_t)m->capb * sizeof(bench),
                                      (size_t)ncap * sizeof(bench));
    if (!nb) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for a benchmark");
    m->b = nb;
    m->capb = ncap;
  }
  m->b[m->nb++] = (bench){kpi, segment, channel, value};
  return CXM_OK;
}

int cxm_benchmark_gap(cxm_ctx *ctx, int kpi, int32_t segment, int32_t channel,
                      int64_t from, int64_t to, double *gap, double *value,
                      double *benchmark, int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!gap) return cxm__seterr(ctx, CXM_E_NULL, "gap: NULL");
  double v = NAN;
  int64_t nn = 0;
  int rc = cxm_kpi_get(ctx, kpi, segment, channel, from, to, &v, &nn);
  if (rc) return rc;
  mon *m = (mon *)ctx->mon;
  const bench *b = bench_find(m, kpi, segment, channel);
  if (!b) b = bench_find(m, kpi, CXM_ALL, CXM_ALL);
  if (!b)
    return cxm__seterr(ctx, CXM_E_NOTFOUND, "benchmark: none set for %s in this scope",
                       cxm_kpi_name(kpi));
  *gap = v - b->value;
  if (value) *value = v;
  if (benchmark) *benchmark = b->value;
  if (n) *n = nn;
  return CXM_OK;
}
