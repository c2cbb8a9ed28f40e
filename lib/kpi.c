/*
 * kpi.c - KPI queries: sums of a scope's day rows over a window, or the
 * scope's customer-level cell. The cost depends on the window's days, never
 * on the number of events.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

enum { K_COUNT, K_MONEY, K_RATIO };

typedef struct kpi_info {
  const char *name;
  uint8_t kind;           /* K_COUNT, K_MONEY (a sum of money), K_RATIO */
  uint8_t customer_level; /* from the customer cells, all-time only */
  uint8_t no_segments;    /* spend-based: undefined in segment scopes */
} kpi_info;

static const kpi_info kpis[] = {
    {NULL, 0, 0, 0},
    {"nps", K_RATIO, 0, 0},
    {"nps_moe95", K_RATIO, 0, 0},
    {"nps_promoters", K_COUNT, 0, 0},
    {"nps_passives", K_COUNT, 0, 0},
    {"nps_detractors", K_COUNT, 0, 0},
    {"csat", K_RATIO, 0, 0},
    {"csat_mean", K_RATIO, 0, 0},
    {"ces", K_RATIO, 0, 0},
    {"revenue", K_MONEY, 0, 0},
    {"refunds", K_MONEY, 0, 0},
    {"net_revenue", K_MONEY, 0, 0},
    {"orders", K_COUNT, 0, 0},
    {"buyers", K_COUNT, 1, 0},
    {"aov", K_RATIO, 0, 0},
    {"purchase_frequency", K_RATIO, 1, 0},
    {"repeat_purchase_rate", K_RATIO, 1, 0},
    {"clv_historical", K_RATIO, 1, 0},
    {"lead_conversion_rate", K_RATIO, 1, 0},
    {"sessions", K_COUNT, 0, 0},
    {"bounce_rate", K_RATIO, 0, 0},
    {"engaged_session_rate", K_RATIO, 0, 0},
    {"engagement_rate", K_RATIO, 1, 0},
    {"open_rate", K_RATIO, 0, 0},
    {"click_rate", K_RATIO, 0, 0},
    {"click_to_open_rate", K_RATIO, 0, 0},
    {"spend", K_MONEY, 0, 1},
    {"cpl", K_RATIO, 0, 1},
    {"cpa", K_RATIO, 0, 1},
    {"cac", K_RATIO, 0, 1},
    {"leads", K_COUNT, 0, 0},
    {"new_buyers", K_COUNT, 0, 1},
    {"messages_sent", K_COUNT, 0, 0},
    {"messages_opened", K_COUNT, 0, 0},
    {"messages_clicked", K_COUNT, 0, 0},
    {"interactions", K_COUNT, 0, 0},
    {"events", K_COUNT, 0, 0},
};

#define KPI_MAX ((int)(sizeof kpis / sizeof kpis[0]) - 1)

int cxm_kpi_max(void) { return KPI_MAX; }

const char *cxm_kpi_name(int kpi) {
  return kpi >= 1 && kpi <= KPI_MAX ? kpis[kpi].name : NULL;
}

int cxm_kpi_from_name(const char *name, size_t len, int *kpi) {
  if (!name || !kpi) return CXM_E_NULL;
  for (int k = 1; k <= KPI_MAX; k++) {
    if (strlen(kpis[k].name) == len && memcmp(kpis[k].name, name, len) == 0) {
      *kpi = k;
      return CXM_OK;
    }
  }
  return CXM_E_NOTFOUND;
}

int cxm_kpi_is_customer_level(int kpi) {
  return kpi >= 1 && kpi <= KPI_MAX ? kpis[kpi].customer_level : -1;
}

int cxm_kpi_is_money(int kpi) {
  if (kpi < 1 || kpi > KPI_MAX) return -1;
  return kpis[kpi].kind == K_MONEY || kpi == CXM_KPI_AOV ||
         kpi == CXM_KPI_CLV_HISTORICAL || kpi == CXM_KPI_CPL ||
         kpi == CXM_KPI_CPA || kpi == CXM_KPI_CAC;
}

/* A KPI's result before scaling: exact numerator (an integer count or minor
   units) over an exact denominator, or a value computed in floating point. */
typedef struct kres {
  int64_t num, den; /* den == 0 means undefined when ratio */
  int is_ratio;
  int money;        /* num is minor units */
  double value;     /* when set_value */
  int set_value;
  int64_t n;
} kres;

static void as_count(kres *r, int64_t v, int64_t n) {
  r->num = v;
  r->n = n;
}

static void as_ratio(kres *r, int64_t num, int64_t den, int64_t n) {
  r->is_ratio = 1;
  r->num = num;
  r->den = den;
  r->n = n;
}

static void eval_events(int kpi, const int64_t s[NEV], kres *r) {
  int64_t nps_n = s[E_NPS_PRO] + s[E_NPS_PAS] + s[E_NPS_DET];
  int64_t interactions = s[E_TOUCH] + s[E_ENGAGE] + s[E_SES_N] + s[E_MSG_CLICK];
  int64_t events = interactions + nps_n + s[E_CSAT_N] + s[E_CES_N] + s[E_PUR_N] +
                   s[E_REF_N] + s[E_SPEND_N] + s[E_MSG_SENT] + s[E_MSG_OPEN] +
                   s[E_LEADS] + s[E_CHURN];
  switch (kpi) {
    case CXM_KPI_NPS:
      r->set_value = 1;
      r->n = nps_n;
      r->value = nps_n ? 100.0 * (double)(s[E_NPS_PRO] - s[E_NPS_DET]) / (double)nps_n : NAN;
      break;
    case CXM_KPI_NPS_MOE95: {
      r->set_value = 1;
      r->n = nps_n;
      if (!nps_n) {
        r->value = NAN;
        break;
      }
      double pp = (double)s[E_NPS_PRO] / (double)nps_n;
      double pd = (double)s[E_NPS_DET] / (double)nps_n;
      double var = pp + pd - (pp - pd) * (pp - pd);
      if (var < 0) var = 0;
      r->value = 100.0 * 1.96 * sqrt(var / (double)nps_n);
      break;
    }
    case CXM_KPI_NPS_PROMOTERS: as_count(r, s[E_NPS_PRO], s[E_NPS_PRO]); break;
    case CXM_KPI_NPS_PASSIVES: as_count(r, s[E_NPS_PAS], s[E_NPS_PAS]); break;
    case CXM_KPI_NPS_DETRACTORS: as_count(r, s[E_NPS_DET], s[E_NPS_DET]); break;
    case CXM_KPI_CSAT: as_ratio(r, 100 * s[E_CSAT_POS], s[E_CSAT_N], s[E_CSAT_N]); break;
    case CXM_KPI_CSAT_MEAN: as_ratio(r, s[E_CSAT_SUM], s[E_CSAT_N], s[E_CSAT_N]); break;
    case CXM_KPI_CES: as_ratio(r, s[E_CES_SUM], s[E_CES_N], s[E_CES_N]); break;
    case CXM_KPI_REVENUE: r->money = 1; as_count(r, s[E_PUR_SUM], s[E_PUR_N]); break;
    case CXM_KPI_REFUNDS: r->money = 1; as_count(r, s[E_REF_SUM], s[E_REF_N]); break;
    case CXM_KPI_NET_REVENUE:
      r->money = 1;
      as_count(r, s[E_PUR_SUM] - s[E_REF_SUM], s[E_PUR_N] + s[E_REF_N]);
      break;
    case CXM_KPI_ORDERS: as_count(r, s[E_PUR_N], s[E_PUR_N]); break;
    case CXM_KPI_AOV: r->money = 1; as_ratio(r, s[E_PUR_SUM], s[E_PUR_N], s[E_PUR_N]); break;
    case CXM_KPI_SESSIONS: as_count(r, s[E_SES_N], s[E_SES_N]); break;
    case CXM_KPI_BOUNCE_RATE: as_ratio(r, s[E_SES_BOUNCE], s[E_SES_N], s[E_SES_N]); break;
    case CXM_KPI_ENGAGED_SESSION_RATE: as_ratio(r, s[E_SES_ENGAGED], s[E_SES_N], s[E_SES_N]); break;
    case CXM_KPI_OPEN_RATE: as_ratio(r, s[E_MSG_OPEN], s[E_MSG_SENT], s[E_MSG_SENT]); break;
    case CXM_KPI_CLICK_RATE: as_ratio(r, s[E_MSG_CLICK], s[E_MSG_SENT], s[E_MSG_SENT]); break;
    case CXM_KPI_CLICK_TO_OPEN_RATE: as_ratio(r, s[E_MSG_CLICK], s[E_MSG_OPEN], s[E_MSG_OPEN]); break;
    case CXM_KPI_SPEND: r->money = 1; as_count(r, s[E_SPEND_SUM], s[E_SPEND_N]); break;
    case CXM_KPI_CPL: r->money = 1; as_ratio(r, s[E_SPEND_SUM], s[E_LEADS], s[E_LEADS]); break;
    case CXM_KPI_CPA: r->money = 1; as_ratio(r, s[E_SPEND_SUM], s[E_PUR_N], s[E_PUR_N]); break;
    case CXM_KPI_CAC: r->money = 1; as_ratio(r, s[E_SPEND_SUM], s[E_NEW_BUYERS], s[E_NEW_BUYERS]); break;
    case CXM_KPI_LEADS: as_count(r, s[E_LEADS], s[E_LEADS]); break;
    case CXM_KPI_NEW_BUYERS: as_count(r, s[E_NEW_BUYERS], s[E_NEW_BUYERS]); break;
    case CXM_KPI_MESSAGES_SENT: as_count(r, s[E_MSG_SENT], s[E_MSG_SENT]); break;
    case CXM_KPI_MESSAGES_OPENED: as_count(r, s[E_MSG_OPEN], s[E_MSG_OPEN]); break;
    case CXM_KPI_MESSAGES_CLICKED: as_count(r, s[E_MSG_CLICK], s[E_MSG_CLICK]); break;
    case CXM_KPI_INTERACTIONS: as_count(r, interactions, interactions); break;
    case CXM_KPI_EVENTS: as_count(r, events, events); break;
    default: break;
  }
}

static void eval_customers(int kpi, const cxm_ccell *c, kres *r) {
  const int64_t *v = c->v;
  switch (kpi) {
    case CXM_KPI_BUYERS: as_count(r, v[CC_BUYERS], v[CC_BUYERS]); break;
    case CXM_KPI_PURCHASE_FREQUENCY: as_ratio(r, v[CC_ORDERS], v[CC_BUYERS], v[CC_BUYERS]); break;
    case CXM_KPI_REPEAT_PURCHASE_RATE: as_ratio(r, v[CC_REPEAT], v[CC_BUYERS], v[CC_BUYERS]); break;
    case CXM_KPI_CLV_HISTORICAL: r->money = 1; as_ratio(r, v[CC_NET], v[CC_BUYERS], v[CC_BUYERS]); break;
    case CXM_KPI_LEAD_CONVERSION_RATE: as_ratio(r, v[CC_CONVERTED], v[CC_LEADS], v[CC_LEADS]); break;
    case CXM_KPI_ENGAGEMENT_RATE: as_ratio(r, v[CC_INTERACTIONS], v[CC_INTERACTORS], v[CC_INTERACTORS]); break;
    default: break;
  }
}

static int64_t window_day(const cxm_ctx *ctx, int64_t t) {
  const int64_t lim = INT64_C(1) << 50;
  if (t == CXM_TIME_MIN) return INT64_MIN;
  if (t == CXM_TIME_MAX) return INT64_MAX;
  if (t < -lim) t = -lim;
  if (t > lim) t = lim;
  return cxm__day_of(ctx, t);
}

/* Validates the scope and computes the KPI. A KPI undefined in segment scopes
   (spend-based, new_buyers) gives CXM_E_UNSUPPORTED with r->value NaN set. */
static int evaluate(cxm_ctx *ctx, int kpi, int32_t segment, int32_t channel,
                    int64_t from, int64_t to, kres *r) {
  memset(r, 0, sizeof *r);
  CXM_NO_REENTRY(ctx);
  if (kpi < 1 || kpi > KPI_MAX) return cxm__seterr(ctx, CXM_E_ARG, "kpi: unknown KPI %d", kpi);
  if (segment != CXM_ALL && (segment < 0 || (uint32_t)segment >= ctx->segments.count))
    return cxm__seterr(ctx, CXM_E_ARG, "segment: no segment with id %d", (int)segment);
  if (channel != CXM_ALL && (channel < 0 || (uint32_t)channel >= ctx->channels.count))
    return cxm__seterr(ctx, CXM_E_ARG, "channel: no channel with id %d", (int)channel);
  const kpi_info *ki = &kpis[kpi];
  cxm__flush(ctx);
  const cxm_row *row = ctx->rows[segment == CXM_ALL ? 0 : 1 + segment];
  uint32_t col = channel == CXM_ALL ? 0 : 1 + (uint32_t)channel;
  if (ki->customer_level) {
    if (from != CXM_TIME_MIN || to != CXM_TIME_MAX)
      return cxm__seterr(ctx, CXM_E_UNSUPPORTED,
                         "kpi: %s is customer-level and all-time only; pass "
                         "CXM_TIME_MIN and CXM_TIME_MAX", ki->name);
    eval_customers(kpi, &row->cc[col], r);
    return CXM_OK;
  }
  if (ki->no_segments && segment != CXM_ALL) {
    r->set_value = 1;
    r->value = NAN;
    r->n = 0;
    return CXM_E_UNSUPPORTED;
  }
  int64_t sums[NEV];
  memset(sums, 0, sizeof sums);
  if (from < to) cxm__series_sum(&row->ev[col], window_day(ctx, from), window_day(ctx, to), sums);
  eval_events(kpi, sums, r);
  return CXM_OK;
}

int cxm_kpi_get(cxm_ctx *ctx, int kpi, int32_t segment, int32_t channel,
                int64_t from, int64_t to, double *value, int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  if (!value) return cxm__seterr(ctx, CXM_E_NULL, "value: NULL");
  kres r;
  int rc = evaluate(ctx, kpi, segment, channel, from, to, &r);
  if (rc == CXM_E_UNSUPPORTED && r.set_value) rc = CXM_OK; /* NaN by definition */
  if (rc) return rc;
  double scale = r.money ? ctx->money_scale : 1.0;
  if (r.set_value)
    *value = r.value;
  else if (r.is_ratio)
    *value = r.den ? ((double)r.num / scale) / (double)r.den : NAN;
  else
    *value = (double)r.num / scale;
  if (n) *n = r.n;
  return CXM_OK;
}

int cxm_kpi_get_int(cxm_ctx *ctx, int kpi, int32_t segment, int32_t channel,
                    int64_t from, int64_t to, int64_t *value, int64_t *n) {
  if (!ctx) return CXM_E_NULL;
  if (!value) return cxm__seterr(ctx, CXM_E_NULL, "value: NULL");
  kres r;
  int rc = evaluate(ctx, kpi, segment, channel, from, to, &r);
  if (rc == CXM_E_UNSUPPORTED && r.set_value)
    return cxm__seterr(ctx, rc, "kpi: %s is kept for all segments only, undefined in a segment scope",
                       kpis[kpi].name);
  if (rc) return rc;
  if (r.is_ratio || r.set_value)
    return cxm__seterr(ctx, CXM_E_UNSUPPORTED, "kpi: %s is a ratio; use cxm_kpi_get",
                       kpis[kpi].name);
  *value = r.num;
  if (n) *n = r.n;
  return CXM_OK;
}
