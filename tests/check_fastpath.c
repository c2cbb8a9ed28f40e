/*
 * check_fastpath.c - each reason an event leaves the batch's fast path.
 *
 * cxm_events_add() counts the usual event (known customer, segment set
 * unchanged, valid fields, staged cell, the usual customer-level change) in
 * a fast path and hands anything else to the general path from scratch.
 * check_ingestpath compares the two on random streams; here each fallback
 * is built on purpose, in a batch where the events around it do take the
 * fast path (their customers and cells exist from a first batch), and
 *   - the batch's statuses and state (every KPI in every scope, the
 *     statistics, the snapshot bytes with every module's state, the watch
 *     callbacks) must equal a twin fed the same events one call each (a
 *     batch of one takes the general path), and
 *   - the KPIs the fallback is about must have the values worked out by hand
 *     in the comments (so a fault shared by both paths shows too).
 * Every scenario runs with no module, with every module, and with no
 * module but a watch (monitoring alone also makes the batch "active").
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include "testutil.h"

#define MAXE 256

enum { WEB, EMAIL, APP };     /* channel ids */
enum { SET0, GOLD_SET, EU_SET }; /* segment set ids: {}, {gold}, {eu} */
enum { GOLD, EU };            /* segment ids */

typedef struct evb {
  size_t n;
  int64_t t[MAXE];
  int32_t type[MAXE], ch[MAXE], set[MAXE];
  const char *id[MAXE]; /* NULL: no id */
  double v1[MAXE], v2[MAXE];
} evb;

static void ev(evb *b, int64_t t, int32_t type, const char *id, int32_t ch,
               double v1, double v2, int32_t set) {
  ck_assert_uint_lt(b->n, MAXE);
  size_t i = b->n++;
  b->t[i] = t;
  b->type[i] = type;
  b->id[i] = id;
  b->ch[i] = ch;
  b->v1[i] = v1;
  b->v2[i] = v2;
  b->set[i] = set;
}

#define E0(b, t, type, id, ch) ev(b, t, type, id, ch, NAN, NAN, -1)
#define E1(b, t, type, id, ch, v) ev(b, t, type, id, ch, v, NAN, -1)

/* Events [from, to) of b as one cxm_events_add call with every column. */
static void feed(cxm_ctx *ctx, const evb *b, size_t from, size_t to,
                 int32_t *st) {
  static uint8_t data[MAXE * 16];
  int64_t offs[MAXE + 1];
  size_t off = 0;
  for (size_t i = from; i < to; i++) {
    offs[i - from] = (int64_t)off;
    if (b->id[i]) {
      size_t len = strlen(b->id[i]);
      memcpy(data + off, b->id[i], len);
      off += len;
    }
  }
  offs[to - from] = (int64_t)off;
  size_t acc = 0;
  cxm_events_add(ctx, to - from, b->t + from, b->type + from, data, offs,
                 b->ch + from, b->v1 + from, b->v2 + from, b->set + from,
                 &acc, st);
  size_t ok = 0;
  for (size_t i = 0; i < to - from; i++) ok += st[i] == CXM_OK;
  ck_assert_uint_eq(acc, ok);
}

/* Watch callbacks, kept to compare the two handles. */
typedef struct wlog {
  int n;
  int64_t time[64];
  int32_t alerting[64];
  double value[64];
  int64_t kn[64];
} wlog;

static void on_watch(void *user, int32_t watch, int32_t alerting, double value,
                     int64_t n, int64_t time) {
  wlog *w = user;
  (void)watch;
  if (w->n < 64) {
    w->time[w->n] = time;
    w->alerting[w->n] = alerting;
    w->value[w->n] = value;
    w->kn[w->n] = n;
  }
  w->n++;
}

/* Variant 0: no module; 1: every module; 2: no module, one watch; 3: every
   module and the watch. */
static cxm_ctx *setup_ctx(cxm_ctx *ctx, int variant, wlog *w) {
  ck_assert_int_eq(cxm_option_set(ctx, CXM_OPT_MODULES,
                                  variant & 1 ? CXM_MOD_ALL : 0), CXM_OK);
  ck_assert_int_eq(t_chan(ctx, "web"), WEB);
  ck_assert_int_eq(t_chan(ctx, "email"), EMAIL);
  ck_assert_int_eq(t_chan(ctx, "app"), APP);
  int32_t gold = t_seg(ctx, "gold"), eu = t_seg(ctx, "eu");
  ck_assert_int_eq(gold, GOLD);
  ck_assert_int_eq(eu, EU);
  ck_assert_int_eq(t_set(ctx, 1, &gold), GOLD_SET);
  ck_assert_int_eq(t_set(ctx, 1, &eu), EU_SET);
  if (variant >= 2) {
    int32_t id = -1;
    /* orders over one day at or above 2: fires on the second order */
    ck_assert_int_eq(cxm_watch_add(ctx, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 1,
                                   CXM_WATCH_ABOVE, 2.0, 1.0, 0, on_watch, w,
                                   &id), CXM_OK);
  }
  return ctx;
}

static cxm_ctx *setup(int variant, wlog *w) { return setup_ctx(t_new(), variant, w); }

static int64_t stat(cxm_ctx *ctx, int s) {
  int64_t v = -1;
  ck_assert_int_eq(cxm_stat_get(ctx, s, &v), CXM_OK);
  return v;
}

/*
 * Feeds `pre` as one batch to two handles, then `b` as one batch to the
 * first and one event per call to the second; the statuses go to st.
 * Everything observable must be equal. Returns the batch-fed handle.
 */
static wlog wa, wb;

static cxm_ctx *twin(int variant, const evb *pre, const evb *b, int32_t *st) {
  static int32_t sp[MAXE], sp2[MAXE], s1[MAXE];
  memset(&wa, 0, sizeof wa);
  memset(&wb, 0, sizeof wb);
  cxm_ctx *a = setup(variant, &wa), *o = setup(variant, &wb);
  feed(a, pre, 0, pre->n, sp);
  feed(o, pre, 0, pre->n, sp2);
  for (size_t i = 0; i < pre->n; i++) {
    ck_assert_msg(sp[i] == CXM_OK, "prelude event %zu: %d", i, (int)sp[i]);
    ck_assert_int_eq(sp2[i], CXM_OK);
  }
  /* no query in between: the prelude's cells stay staged */
  feed(a, b, 0, b->n, st);
  for (size_t i = 0; i < b->n; i++) feed(o, b, i, i + 1, s1 + i);
  for (size_t i = 0; i < b->n; i++)
    ck_assert_msg(st[i] == s1[i], "event %zu: batch %d, one by one %d", i,
                  (int)st[i], (int)s1[i]);
  for (int k = CXM_STAT_EVENTS_ACCEPTED; k <= CXM_STAT_LAST_TIME; k++)
    if (k != CXM_STAT_MEMORY_BYTES)
      ck_assert_int_eq(stat(a, k), stat(o, k));
  t_handles_same_kpis(a, o, "batch vs one by one");
  t_handles_same_bytes(a, o);
  ck_assert_int_eq(wa.n, wb.n);
  for (int i = 0; i < wa.n && i < 64; i++) {
    ck_assert_int_eq(wa.time[i], wb.time[i]);
    ck_assert_int_eq(wa.alerting[i], wb.alerting[i]);
    ck_assert(t_same_double(wa.value[i], wb.value[i]));
    ck_assert_int_eq(wa.kn[i], wb.kn[i]);
  }
  cxm_ctx_destroy(o);
  return a;
}

/* Cells of day 0 staged by a customer who only receives messages (they
   count in messages sent and events, nothing else). */
static void warm(evb *p, const char *id, int32_t set, int32_t ch) {
  ev(p, T0 + 1, CXM_EV_MESSAGE_SENT, id, ch, NAN, NAN, set);
}

/* ---- an earlier interaction, purchase or lead moves the acquisition ------ */

START_TEST(earlier_firsts_move_the_channel) {
  int variant = _i;
  static evb pre, b;
  memset(&pre, 0, sizeof pre);
  memset(&b, 0, sizeof b);
  warm(&pre, "w-email", SET0, EMAIL);
  /* alice: first interaction, purchase and lead on the web */
  E0(&pre, T0 + 1000, CXM_EV_TOUCH, "alice", WEB);
  E1(&pre, T0 + 2000, CXM_EV_PURCHASE, "alice", WEB, 10.0);
  E0(&pre, T0 + 3000, CXM_EV_LEAD, "alice", WEB);
  E1(&pre, T0 + 4000, CXM_EV_PURCHASE, "alice", WEB, 1.0);
  E0(&pre, T0 + 1000, CXM_EV_TOUCH, "amy", WEB);
  /* gus (gold): bought on the web */
  ev(&pre, T0 + 2000, CXM_EV_PURCHASE, "gus", WEB, 6.0, NAN, GOLD_SET);
  /* The batch: usual events (fast path) around three earlier firsts by
     email, each of which must take the general path. */
  E0(&b, T0 + 5000, CXM_EV_TOUCH, "alice", WEB);
  E0(&b, T0 + 500, CXM_EV_ENGAGE, "alice", EMAIL);       /* earlier interaction */
  E0(&b, T0 + 5001, CXM_EV_SESSION, "alice", WEB);
  E1(&b, T0 + 1500, CXM_EV_PURCHASE, "alice", EMAIL, 5.0); /* earlier purchase */
  E1(&b, T0 + 5002, CXM_EV_PURCHASE, "alice", WEB, 2.0);
  E0(&b, T0 + 2500, CXM_EV_LEAD, "alice", EMAIL);        /* earlier lead */
  E0(&b, T0 + 5003, CXM_EV_LEAD, "alice", WEB);          /* a later lead */
  E0(&b, T0 + 400, CXM_EV_SESSION, "amy", EMAIL);        /* earlier session */
  E0(&b, T0 + 5004, CXM_EV_SESSION, "amy", WEB);
  E1(&b, T0 + 1000, CXM_EV_PURCHASE, "gus", EMAIL, 4.0);  /* earlier, gold */
  static int32_t st[MAXE];
  cxm_ctx *a = twin(variant, &pre, &b, st);
  for (size_t i = 0; i < b.n; i++) ck_assert_int_eq(st[i], CXM_OK);
  /* alice's interactions: 1 + touch, engage, session = 4, first by email
     (engage, T0+500); amy's: 1 + two sessions = 3, first by email
     (T0+400): 7 interactions of 2 customers, all in the email column. */
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, EMAIL, 3.5, 2);
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, WEB, NAN, 0);
  T_KPI(a, CXM_KPI_INTERACTIONS, CXM_ALL, EMAIL, 2, -1); /* event level */
  /* Both buyers acquired by email (alice T0+1500 < T0+2000, gus T0+1000 <
     T0+2000); alice's orders 10, 1, 5, 2, gus's 6, 4. */
  T_KPI(a, CXM_KPI_BUYERS, CXM_ALL, EMAIL, 2, -1);
  T_KPI(a, CXM_KPI_BUYERS, CXM_ALL, WEB, 0, -1);
  T_KPI(a, CXM_KPI_BUYERS, GOLD, EMAIL, 1, -1);
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, EMAIL, 2, -1);
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, WEB, 0, -1);
  T_KPI_INT(a, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 2800, -1);
  T_KPI_INT(a, CXM_KPI_REVENUE, CXM_ALL, EMAIL, 900, -1);
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, CXM_ALL, EMAIL, 14.0, 2);
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, GOLD, EMAIL, 10.0, 1);
  T_KPI(a, CXM_KPI_PURCHASE_FREQUENCY, CXM_ALL, CXM_ALL, 3.0, 2);
  /* First lead by email at T0+2500; purchases at or after it: yes (T0+4000). */
  T_KPI(a, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, EMAIL, 1.0, 1);
  T_KPI(a, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, WEB, NAN, 0);
  T_KPI(a, CXM_KPI_LEADS, CXM_ALL, CXM_ALL, 3, -1);
  cxm_ctx_destroy(a);
}
END_TEST

/* ---- first interaction, lead and purchase of known customers ------------- */

START_TEST(firsts_of_known_customers) {
  int variant = _i;
  static evb pre, b;
  memset(&pre, 0, sizeof pre);
  memset(&b, 0, sizeof b);
  /* bob (no segment) and carol (gold) answered a survey only; dave (gold)
     was sent a message in the app. Nobody without a segment has an app
     event on day 0: the new buyer's (day 0, no segment, app) cell is not
     staged for dave's first purchase. */
  ev(&pre, T0 + 100, CXM_EV_NPS, "bob", EMAIL, 9, NAN, -1);
  ev(&pre, T0 + 100, CXM_EV_NPS, "carol", EMAIL, 7, NAN, GOLD_SET);
  warm(&pre, "dave", GOLD_SET, APP);
  ev(&pre, T0 + 100, CXM_EV_NPS, "ivy", EMAIL, 0, NAN, -1);
  E0(&b, T0 + 200, CXM_EV_TOUCH, "bob", EMAIL);            /* first interaction */
  E0(&b, T0 + 300, CXM_EV_LEAD, "bob", EMAIL);             /* first lead */
  E1(&b, T0 + 400, CXM_EV_PURCHASE, "bob", EMAIL, 20.0);   /* first purchase */
  E1(&b, T0 + 500, CXM_EV_PURCHASE, "bob", EMAIL, 2.5);    /* repeat */
  E1(&b, T0 + 600, CXM_EV_REFUND, "bob", EMAIL, 1.25);
  E1(&b, T0 + 400, CXM_EV_PURCHASE, "carol", EMAIL, 7.0);  /* gold, cell staged */
  E1(&b, T0 + 400, CXM_EV_PURCHASE, "dave", APP, 3.0);     /* gold, not staged */
  E1(&b, T0 + 700, CXM_EV_REFUND, "carol", EMAIL, 0.0);    /* zero refund */
  E1(&b, T0 + 700, CXM_EV_REFUND, "dave", APP, 0.005);     /* half a cent: 1 */
  E1(&b, T0 + 800, CXM_EV_NPS, "carol", EMAIL, 3);
  E1(&b, T0 + 800, CXM_EV_CSAT, "carol", EMAIL, 4);
  E1(&b, T0 + 800, CXM_EV_CES, "carol", EMAIL, 6);
  E0(&b, T0 + 900, CXM_EV_MESSAGE_OPEN, "dave", APP);
  E0(&b, T0 + 900, CXM_EV_CHURN, "dave", APP);
  ev(&b, T0 + 900, CXM_EV_SESSION, "dave", APP, 1, 4, -1); /* a bounce */
  E0(&b, T0 + 650, CXM_EV_MESSAGE_SENT, "bob", EMAIL);
  E0(&b, T0 + 651, CXM_EV_MESSAGE_CLICK, "bob", EMAIL);
  ev(&b, T0 + 652, CXM_EV_SESSION, "bob", EMAIL, NAN, 12, -1); /* engaged */
  ev(&b, T0 + 653, CXM_EV_SESSION, "bob", EMAIL, 0, 5, -1);    /* neither */
  E1(&b, T0 + 700, CXM_EV_REFUND, "ivy", EMAIL, 3.0);          /* no buyer */
  E1(&b, T0 + 50, CXM_EV_NPS, "bob", EMAIL, 10);  /* older than bob's last */
  E1(&b, T0 + 850, CXM_EV_NPS, "carol", EMAIL, 8);
  E1(&b, T0 + 60, CXM_EV_NPS, "bob", EMAIL, 7);
  static int32_t st[MAXE];
  cxm_ctx *a = twin(variant, &pre, &b, st);
  for (size_t i = 0; i < b.n; i++) ck_assert_int_eq(st[i], CXM_OK);
  /* Buyers bob (email), carol (email, gold), dave (app, gold). */
  T_KPI(a, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 3, -1);
  T_KPI(a, CXM_KPI_BUYERS, GOLD, CXM_ALL, 2, -1);
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, EMAIL, 2, -1);
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, APP, 1, -1);
  T_KPI(a, CXM_KPI_REPEAT_PURCHASE_RATE, CXM_ALL, CXM_ALL, 1.0 / 3.0, 3);
  /* net: bob 2250 - 125, carol 700, dave 300 - 1 (minor units) */
  T_KPI_INT(a, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 3250, -1);
  T_KPI_INT(a, CXM_KPI_REFUNDS, CXM_ALL, CXM_ALL, 426, -1); /* ivy's 300 */
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, (2125 + 700 + 299) / 300.0, 3);
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, GOLD, CXM_ALL, (700 + 299) / 200.0, 2);
  /* bob: touch, click, two sessions */
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, EMAIL, 4, 1);
  T_KPI(a, CXM_KPI_ENGAGED_SESSION_RATE, CXM_ALL, EMAIL, 0.5, 2);
  T_KPI(a, CXM_KPI_BOUNCE_RATE, CXM_ALL, EMAIL, 0, 2);
  T_KPI(a, CXM_KPI_CLICK_RATE, CXM_ALL, EMAIL, 1, 1);
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, APP, 1, 1);
  T_KPI(a, CXM_KPI_LEAD_CONVERSION_RATE, CXM_ALL, EMAIL, 1.0, 1);
  /* NPS answers: bob 9, 10, 7; carol 7, 3, 8; ivy 0: promoters 2,
     passives 3, detractors 2 of 7 */
  T_KPI(a, CXM_KPI_NPS, CXM_ALL, CXM_ALL, 0, 7);
  T_KPI(a, CXM_KPI_NPS_PASSIVES, CXM_ALL, CXM_ALL, 3, -1);
  T_KPI(a, CXM_KPI_NPS_PASSIVES, GOLD, CXM_ALL, 2, -1);
  T_KPI(a, CXM_KPI_CSAT, GOLD, CXM_ALL, 100, 1);
  T_KPI(a, CXM_KPI_CES, GOLD, CXM_ALL, 6, 1);
  T_KPI(a, CXM_KPI_BOUNCE_RATE, CXM_ALL, APP, 1, 1);
  T_KPI(a, CXM_KPI_MESSAGES_OPENED, GOLD, APP, 1, -1);
  cxm_ctx_destroy(a);
}
END_TEST

/* ---- segment sets given in the batch ------------------------------------ */

START_TEST(segment_sets_in_the_batch) {
  int variant = _i;
  static evb pre, b;
  memset(&pre, 0, sizeof pre);
  memset(&b, 0, sizeof b);
  E1(&pre, T0 + 100, CXM_EV_PURCHASE, "erin", WEB, 4.0);  /* no segment */
  ev(&pre, T0 + 100, CXM_EV_TOUCH, "frank", WEB, NAN, NAN, GOLD_SET);
  E0(&b, T0 + 150, CXM_EV_TOUCH, "erin", WEB);             /* fast */
  ev(&b, T0 + 200, CXM_EV_TOUCH, "erin", WEB, NAN, NAN, GOLD_SET); /* moves */
  ev(&b, T0 + 300, CXM_EV_TOUCH, "erin", WEB, NAN, NAN, GOLD_SET); /* same set */
  E0(&b, T0 + 300, CXM_EV_TOUCH, "frank", WEB);
  ev(&b, T0 + 400, CXM_EV_TOUCH, "frank", WEB, NAN, NAN, EU_SET); /* moves */
  ev(&b, T0 + 500, CXM_EV_TOUCH, "frank", WEB, NAN, NAN, EU_SET);
  ev(&b, T0 + 600, CXM_EV_TOUCH, "frank", WEB, NAN, NAN, 3);      /* no set 3 */
  static int32_t st[MAXE];
  cxm_ctx *a = twin(variant, &pre, &b, st);
  for (size_t i = 0; i < b.n; i++)
    ck_assert_int_eq(st[i], i == b.n - 1 ? CXM_E_ARG : CXM_OK);
  /* erin: buyer in gold now, 3 interactions; frank: 4 in eu, none in gold */
  T_KPI(a, CXM_KPI_BUYERS, GOLD, CXM_ALL, 1, -1);
  T_KPI(a, CXM_KPI_BUYERS, EU, CXM_ALL, 0, -1);
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, GOLD, WEB, 4.0, 1);
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, GOLD, CXM_ALL, 3, 1);
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, EU, CXM_ALL, 4, 1);
  /* event level stays with the set of the event's time: gold has frank's
     first two touches and erin's last two */
  T_KPI(a, CXM_KPI_INTERACTIONS, GOLD, CXM_ALL, 4, -1);
  T_KPI(a, CXM_KPI_INTERACTIONS, EU, CXM_ALL, 2, -1);
  cxm_ctx_destroy(a);
}
END_TEST

/* ---- invalid, late and other events among fast ones ---------------------- */

START_TEST(rejections_among_fast_events) {
  int variant = _i;
  static evb pre, b;
  memset(&pre, 0, sizeof pre);
  memset(&b, 0, sizeof b);
  const int64_t t = T0 + 10 * DAY;
  E0(&pre, t - 8 * DAY + 5, CXM_EV_TOUCH, "old", WEB); /* stages the late cell */
  E0(&pre, t, CXM_EV_TOUCH, "gina", WEB);
  E1(&pre, t, CXM_EV_PURCHASE, "gina", WEB, 1.0);
  E0(&pre, t, CXM_EV_LEAD, "gina", WEB);
  static const struct {
    int32_t type, ch;
    double v1, v2;
    int64_t dt;
    int want;
  } bad[] = {
      {CXM_EV_SESSION, WEB, -1, NAN, 1, CXM_E_RANGE},
      {CXM_EV_SESSION, WEB, 2, INFINITY, 1, CXM_E_RANGE},
      {CXM_EV_SESSION, WEB, 1e15, 1, 1, CXM_E_RANGE},
      {CXM_EV_PURCHASE, WEB, NAN, NAN, 1, CXM_E_MISSING},
      {CXM_EV_PURCHASE, WEB, -0.01, NAN, 1, CXM_E_RANGE},
      {CXM_EV_PURCHASE, WEB, 9.0e13, NAN, 1, CXM_E_RANGE}, /* 9e15 minor units */
      {CXM_EV_PURCHASE, WEB, INFINITY, NAN, 1, CXM_E_RANGE},
      {CXM_EV_REFUND, WEB, NAN, NAN, 1, CXM_E_MISSING},
      {CXM_EV_REFUND, WEB, -5, NAN, 1, CXM_E_RANGE},
      {CXM_EV_NPS, WEB, 11, NAN, 1, CXM_E_RANGE},
      {CXM_EV_NPS, WEB, 2.5, NAN, 1, CXM_E_RANGE},
      {CXM_EV_NPS, WEB, NAN, NAN, 1, CXM_E_MISSING},
      {CXM_EV_CSAT, WEB, 0, NAN, 1, CXM_E_RANGE},
      {CXM_EV_CES, WEB, 8, NAN, 1, CXM_E_RANGE},
      {0, WEB, NAN, NAN, 1, CXM_E_TYPE},
      {15, WEB, NAN, NAN, 1, CXM_E_TYPE},
      {CXM_EV_TOUCH, 7, NAN, NAN, 1, CXM_E_ARG},        /* no channel 7 */
      {CXM_EV_TOUCH, -2, NAN, NAN, 1, CXM_E_ARG},
      /* past 7 days (not an interaction: an earlier one than the first
         leaves the fast path anyway) */
      {CXM_EV_MESSAGE_OPEN, WEB, NAN, NAN, -8 * DAY, CXM_E_LATE},
      {CXM_EV_TOUCH, WEB, NAN, NAN, -t - 20, CXM_E_RANGE}, /* 1969 */
      {CXM_EV_TOUCH, WEB, NAN, NAN, INT64_C(5000000000) - t, CXM_E_RANGE},
  };
  const size_t nbad = sizeof bad / sizeof bad[0];
  /* each bad event between two good ones of the same customer */
  for (size_t k = 0; k < nbad; k++) {
    E0(&b, t + 10 + (int64_t)k, CXM_EV_TOUCH, "gina", WEB);
    ev(&b, t + 10 + bad[k].dt, bad[k].type, "gina", bad[k].ch, bad[k].v1,
       bad[k].v2, -1);
  }
  E0(&b, t + 100, CXM_EV_TOUCH, NULL, WEB);            /* no id */
  E1(&b, t + 100, CXM_EV_SPEND, NULL, WEB, 50.0);      /* spend, no id */
  E0(&b, t + 6 * DAY, CXM_EV_ENGAGE, "gina", WEB);     /* a new day */
  E0(&b, t + DAY, CXM_EV_ENGAGE, "gina", WEB);         /* late, in bound */
  E0(&b, t + 6 * DAY + 1, CXM_EV_ENGAGE, "gina", WEB);
  static int32_t st[MAXE];
  cxm_ctx *a = twin(variant, &pre, &b, st);
  for (size_t k = 0; k < nbad; k++) {
    ck_assert_int_eq(st[2 * k], CXM_OK);
    ck_assert_msg(st[2 * k + 1] == bad[k].want, "bad event %zu: %d, want %d",
                  k, (int)st[2 * k + 1], bad[k].want);
  }
  ck_assert_int_eq(st[2 * nbad], CXM_E_MISSING);
  for (size_t i = 2 * nbad + 1; i < b.n; i++) ck_assert_int_eq(st[i], CXM_OK);
  /* accepted: 3 + nbad touches + spend + 3 engages; 1 late */
  ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_ACCEPTED), 4 + (int64_t)nbad + 4);
  ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_REJECTED), (int64_t)nbad + 1);
  ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_LATE), 1);
  ck_assert_int_eq(stat(a, CXM_STAT_CUSTOMERS), 2);
  T_KPI(a, CXM_KPI_INTERACTIONS, CXM_ALL, WEB, 2 + (double)nbad + 3, -1);
  T_KPI_INT(a, CXM_KPI_SPEND, CXM_ALL, WEB, 5000, -1);
  T_KPI(a, CXM_KPI_ORDERS, CXM_ALL, CXM_ALL, 1, -1);
  T_KPI_W(a, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, t + 6 * DAY, t + 7 * DAY, 2, -1);
  cxm_ctx_destroy(a);
}
END_TEST

/* ---- new customers, cells and days within the batch ---------------------- */

START_TEST(new_customers_and_cells_in_the_batch) {
  int variant = _i;
  static evb pre, b;
  memset(&pre, 0, sizeof pre);
  memset(&b, 0, sizeof b);
  static char ids[40][8];
  E0(&pre, T0, CXM_EV_TOUCH, "hank", WEB);
  /* 40 new customers, each with a purchase then (1..20 events later, so
     some of them past the batch's prefetch distance) a touch and an NPS
     answer on days 0..3 and on each channel */
  for (int c = 0; c < 40; c++) snprintf(ids[c], sizeof ids[c], "n%02u", (unsigned)c % 100u);
  for (int c = 0; c < 40; c++) {
    int64_t day = c % 4;
    E1(&b, T0 + day * DAY + c, CXM_EV_PURCHASE, ids[c], c % 3, 1.0 + c);
    E0(&b, T0 + day * DAY + 60, CXM_EV_TOUCH, "hank", c % 3);
    if (c >= 20) {
      E0(&b, T0 + day * DAY + 100 + c, CXM_EV_TOUCH, ids[c - 20], (c - 20) % 3);
      E1(&b, T0 + day * DAY + 100 + c, CXM_EV_NPS, ids[c - 1], (c - 1) % 3,
         (double)(c % 11));
    }
  }
  static int32_t st[MAXE];
  cxm_ctx *a = twin(variant, &pre, &b, st);
  for (size_t i = 0; i < b.n; i++) ck_assert_int_eq(st[i], CXM_OK);
  ck_assert_int_eq(stat(a, CXM_STAT_CUSTOMERS), 41);
  T_KPI(a, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 40, -1);
  /* buyers by channel: c % 3 == 0: 14 (0, 3, .., 39), 1: 13, 2: 13 */
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, WEB, 14, -1);
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, EMAIL, 13, -1);
  T_KPI(a, CXM_KPI_NEW_BUYERS, CXM_ALL, APP, 13, -1);
  /* revenue: sum of 1 + c for c < 40 = 40 + 780 */
  T_KPI_INT(a, CXM_KPI_REVENUE, CXM_ALL, CXM_ALL, 82000, -1);
  /* events on day 1 (c % 4 == 1: 10 customers): 10 purchases, 10 of
     hank's touches, and for c >= 20 (5 of them) a touch and an answer */
  T_KPI_W(a, CXM_KPI_EVENTS, CXM_ALL, CXM_ALL, T0 + DAY, T0 + 2 * DAY, 30, -1);
  T_KPI(a, CXM_KPI_INTERACTIONS, CXM_ALL, CXM_ALL, 1 + 40 + 20, -1);
  cxm_ctx_destroy(a);
}
END_TEST


/* ---- a guess that names another customer -------------------------------- */

/* Two ids whose hashes share their upper 32 bits (the index slot's tag and
   home): the batch's prefetch guesses the first one's record for the
   second's events, and only the full hash tells them apart. Found by
   hashing numbered ids under the test key (a birthday search: 2^32 tags,
   a pair is all but certain among 400,000 ids). */
typedef struct hid {
  uint64_t h;
  uint32_t i;
} hid;

static int cmp_hid(const void *x, const void *y) {
  const hid *a = x, *b = y;
  uint64_t ta = a->h >> 32, tb = b->h >> 32;
  return ta < tb ? -1 : ta > tb ? 1 : (a->i > b->i) - (a->i < b->i);
}

START_TEST(same_tag_different_customer) {
  int variant = _i;
  enum { NID = 400000 };
  hid *v = malloc(NID * sizeof *v);
  ck_assert_ptr_nonnull(v);
  cxm_ctx *k = t_new();
  char id[16];
  for (uint32_t i = 0; i < NID; i++) {
    int len = snprintf(id, sizeof id, "k%u", (unsigned)i);
    ck_assert_int_eq(cxm_customer_hash(k, id, (size_t)len, &v[i].h), CXM_OK);
    v[i].i = i;
  }
  cxm_ctx_destroy(k);
  qsort(v, NID, sizeof *v, cmp_hid);
  uint32_t x = UINT32_MAX, y = UINT32_MAX;
  for (uint32_t i = 1; i < NID && x == UINT32_MAX; i++)
    if (v[i].h >> 32 == v[i - 1].h >> 32 && v[i].h != v[i - 1].h) {
      x = v[i - 1].i;
      y = v[i].i;
    }
  free(v);
  ck_assert_msg(x != UINT32_MAX, "no two ids share a tag");
  static char idx[16], idy[16];
  snprintf(idx, sizeof idx, "k%u", (unsigned)x);
  snprintf(idy, sizeof idy, "k%u", (unsigned)y);
  static evb pre, b;
  memset(&pre, 0, sizeof pre);
  memset(&b, 0, sizeof b);
  /* x first: x's record is the one the shared tag's first slot names */
  E1(&pre, T0 + 10, CXM_EV_PURCHASE, idx, WEB, 1.0);
  E0(&pre, T0 + 20, CXM_EV_TOUCH, idy, EMAIL);
  for (int r = 0; r < 12; r++) {
    E1(&b, T0 + 100 + r, CXM_EV_PURCHASE, r % 2 ? idy : idx, WEB, 2.0);
    E0(&b, T0 + 100 + r, CXM_EV_TOUCH, r % 3 ? idy : idx, WEB);
  }
  static int32_t st[MAXE];
  cxm_ctx *a = twin(variant, &pre, &b, st);
  for (size_t i = 0; i < b.n; i++) ck_assert_int_eq(st[i], CXM_OK);
  ck_assert_int_eq(stat(a, CXM_STAT_CUSTOMERS), 2);
  /* x: 1 + 6 x 2, y: 6 x 2 (its first purchase in the batch, by web) */
  T_KPI(a, CXM_KPI_BUYERS, CXM_ALL, CXM_ALL, 2, -1);
  T_KPI(a, CXM_KPI_CLV_HISTORICAL, CXM_ALL, CXM_ALL, (13.0 + 12.0) / 2, 2);
  T_KPI(a, CXM_KPI_PURCHASE_FREQUENCY, CXM_ALL, CXM_ALL, 13.0 / 2, 2);
  /* touches: y 1 + 8 (first by email), x 4 (first in the batch, web) */
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, EMAIL, 9, 1);
  T_KPI(a, CXM_KPI_ENGAGEMENT_RATE, CXM_ALL, WEB, 4, 1);
  cxm_ctx_destroy(a);
}
END_TEST

/* ---- id offsets that go backwards or below 0 ----------------------------- */

START_TEST(bad_id_offsets) {
  static const uint8_t data[] = "aaaabbbbccccdddd";
  /* event 1 ends before it starts, event 3 is spend (its id is ignored),
     event 4 starts below 0 */
  const int64_t offs[] = {0, 4, 2, 8, 4, 12, 16};
  const int64_t offs_neg[] = {-3, 4, 8};
  int64_t times[6];
  int32_t types[6], chs[6], sets[6];
  double v1[6], v2[6];
  for (int i = 0; i < 6; i++) {
    times[i] = T0 + i;
    types[i] = i == 3 ? CXM_EV_SPEND : CXM_EV_TOUCH;
    chs[i] = WEB;
    sets[i] = -1;
    v1[i] = i == 3 ? 5.0 : NAN;
    v2[i] = NAN;
  }
  static const int want[6] = {CXM_OK, CXM_E_ARG, CXM_OK, CXM_OK, CXM_OK, CXM_OK};
  cxm_ctx *a = setup(0, NULL), *o = setup(0, NULL);
  int32_t st[6], s1;
  size_t acc = 0;
  ck_assert_int_eq(cxm_events_add(a, 6, times, types, data, offs, chs, v1, v2,
                                  sets, &acc, st), CXM_E_ARG);
  ck_assert_uint_eq(acc, 5);
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(st[i], want[i]);
    cxm_events_add(o, 1, times + i, types + i, data, offs + i, chs + i, v1 + i,
                   v2 + i, sets + i, NULL, &s1);
    ck_assert_int_eq(s1, want[i]);
  }
  /* "aaaa", "aabbbb" (event 2: bytes 2..8), "bbbbcccc", "dddd" */
  ck_assert_int_eq(stat(a, CXM_STAT_CUSTOMERS), 4);
  ck_assert_int_eq(cxm_events_add(a, 1, times, types, data, offs_neg, chs, v1,
                                  v2, sets, NULL, &s1), CXM_E_ARG);
  ck_assert_int_eq(s1, CXM_E_ARG);
  ck_assert_int_eq(cxm_events_add(a, 2, times, types, data, offs_neg, chs, v1,
                                  v2, sets, &acc, st), CXM_E_ARG);
  ck_assert_int_eq(st[0], CXM_E_ARG);
  ck_assert_uint_eq(acc, 1);
  t_snap sa, so;
  ck_assert_int_eq(cxm_events_add(o, 1, times + 1, types + 1, data, offs_neg + 1,
                                  chs, v1, v2, sets, NULL, NULL), CXM_OK);
  t_snap_take(a, &sa);
  t_snap_take(o, &so);
  t_snap_assert_eq(&sa, &so, "bad offsets");
  t_snap_free(&sa);
  t_snap_free(&so);
  T_KPI(a, CXM_KPI_INTERACTIONS, CXM_ALL, WEB, 5, -1);
  T_KPI_INT(a, CXM_KPI_SPEND, CXM_ALL, WEB, 500, -1);
  cxm_ctx_destroy(a);
  cxm_ctx_destroy(o);
}
END_TEST

/* ---- an allocation failure anywhere in a batch -------------------------- */

/* Fails allocation call number fail_at (counted from the handle's creation),
   once. */
typedef struct falloc {
  long calls, fail_at;
} falloc;

static void *f_malloc(void *opaque, size_t size) {
  falloc *a = opaque;
  if (++a->calls == a->fail_at) return NULL;
  return malloc(size);
}

static void *f_realloc(void *opaque, void *ptr, size_t size) {
  falloc *a = opaque;
  if (++a->calls == a->fail_at) return NULL;
  return realloc(ptr, size);
}

static void f_free(void *opaque, void *ptr) {
  (void)opaque;
  free(ptr);
}

/* The batch of firsts_of_known_customers' kind with new customers, days
   and channels too, so that the modules and the stage allocate. */
static void oom_events(evb *pre, evb *b) {
  memset(pre, 0, sizeof *pre);
  memset(b, 0, sizeof *b);
  ev(pre, T0 + 100, CXM_EV_NPS, "bob", EMAIL, 9, NAN, -1);
  ev(pre, T0 + 100, CXM_EV_NPS, "carol", EMAIL, 7, NAN, GOLD_SET);
  warm(pre, "dave", GOLD_SET, APP);
  static const char *const ids[] = {"bob", "carol", "dave", "new1", "new2"};
  for (int r = 0; r < 30; r++) {
    const char *id = ids[r % 5];
    int64_t t = T0 + 200 + (int64_t)r * (r % 4 == 3 ? 20000 : 10);
    int32_t ch = r % 7 == 6 ? APP : EMAIL;
    switch (r % 6) {
      case 0: E0(b, t, CXM_EV_TOUCH, id, ch); break;
      case 1: E1(b, t, CXM_EV_PURCHASE, id, ch, 1.0 + r); break;
      case 2: E0(b, t, CXM_EV_LEAD, id, ch); break;
      case 3: E0(b, t, CXM_EV_MESSAGE_CLICK, id, ch); break;
      case 4: ev(b, t, CXM_EV_SESSION, id, ch, 3, 20, r == 16 ? EU_SET : -1); break;
      default: E1(b, t, CXM_EV_REFUND, id, ch, 0.5); break;
    }
  }
  /* a gold customer's first purchase on a new day and channel: the new
     buyer's (day, no segment, channel) cell is made in the general path */
  E1(b, T0 + 5 * DAY, CXM_EV_PURCHASE, "dave", WEB, 9.0);
  E0(b, T0 + 5 * DAY + 1, CXM_EV_TOUCH, "dave", WEB);
}

START_TEST(allocation_failure_in_a_batch) {
  int variant = _i;
  static evb pre, b;
  static int32_t sp[MAXE], st[MAXE], s1[MAXE];
  oom_events(&pre, &b);
  /* the allocation calls the batch makes, without failures */
  falloc fa = {0, 0};
  cxm_ctx *ctx = NULL;
  ck_assert_int_eq(cxm_ctx_create_with_allocator(&ctx, f_malloc, f_realloc,
                                                 f_free, &fa), CXM_OK);
  ck_assert_int_eq(cxm_key_set(ctx, T_KEY, sizeof T_KEY), CXM_OK);
  setup_ctx(ctx, variant, &wa);
  feed(ctx, &pre, 0, pre.n, sp);
  long before = fa.calls;
  feed(ctx, &b, 0, b.n, st);
  long during = fa.calls - before;
  cxm_ctx_destroy(ctx);
  ck_assert_int_gt(during, 0);
  int nomem_seen = 0;
  for (long k = 1; k <= during; k++) {
    falloc f = {0, 0};
    cxm_ctx *a = NULL;
    ck_assert_int_eq(cxm_ctx_create_with_allocator(&a, f_malloc, f_realloc,
                                                   f_free, &f), CXM_OK);
    ck_assert_int_eq(cxm_key_set(a, T_KEY, sizeof T_KEY), CXM_OK);
    setup_ctx(a, variant, &wa);
    feed(a, &pre, 0, pre.n, sp);
    f.fail_at = f.calls + k;
    feed(a, &b, 0, b.n, st);
    /* The twin: the same events, but only those the batch accepted, one
       call each. A rejected event changes nothing, so both are the same. */
    cxm_ctx *o = setup(variant, &wb);
    feed(o, &pre, 0, pre.n, sp);
    int nomem = 0;
    for (size_t i = 0; i < b.n; i++) {
      ck_assert_msg(st[i] == CXM_OK || st[i] == CXM_E_NOMEM,
                    "failure %ld, event %zu: %d", k, i, (int)st[i]);
      nomem += st[i] == CXM_E_NOMEM;
      if (st[i] == CXM_OK) {
        feed(o, &b, i, i + 1, s1);
        ck_assert_int_eq(s1[0], CXM_OK);
      }
    }
    nomem_seen += nomem > 0;
    ck_assert_int_eq(stat(a, CXM_STAT_EVENTS_ACCEPTED),
                     stat(o, CXM_STAT_EVENTS_ACCEPTED));
    ck_assert_int_eq(stat(a, CXM_STAT_CUSTOMERS), stat(o, CXM_STAT_CUSTOMERS));
    t_handles_same_kpis(a, o, "after an allocation failure");
    cxm_ctx_destroy(a);
    cxm_ctx_destroy(o);
  }
  /* most failures reject an event (some allocations are only hints) */
  ck_assert_int_gt(nomem_seen, 0);
}
END_TEST

/* ---- the watch's newest day in a batch ------------------------------------ */

/* With modules the batch keeps the handle's accepted count and time range
   in the call until its end, but a watch reads the newest day (its window
   moves on with it) for each event: random purchases and touches of a few
   known customers over six days, late ones among them, must fire and clear
   the one-day orders watch as one event per call does. Runs with the watch
   alone and with every module and the watch. */
START_TEST(watch_days_in_random_batches) {
  int variant = _i ? 3 : 2;
  static const char *ids[4] = {"r-a", "r-b", "r-c", "r-d"};
  static evb pre, b;
  static int32_t st[MAXE];
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int round = 0; round < 8; round++) {
    memset(&pre, 0, sizeof pre);
    memset(&b, 0, sizeof b);
    for (int c = 0; c < 4; c++) warm(&pre, ids[c], SET0, WEB);
    int64_t clock = T0 + 3600;
    for (int i = 0; i < 200; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* mostly forward by up to 14 hours, one in five up to two days back */
      int64_t step = (int64_t)(x % 50400);
      int64_t t = (x >> 20) % 5 == 0 ? clock - (int64_t)((x >> 24) % 172800) : (clock += step);
      if (t <= T0) t = T0 + 1;
      int32_t type = (x >> 40) % 3 == 0 ? CXM_EV_TOUCH : CXM_EV_PURCHASE;
      ev(&b, t, type, ids[(x >> 44) % 4], (int32_t)((x >> 48) % 3),
         type == CXM_EV_PURCHASE ? 10.0 : NAN, NAN, -1);
    }
    cxm_ctx *a = twin(variant, &pre, &b, st);
    /* the watch went both ways in these streams */
    int fired = 0, cleared = 0;
    for (int i = 0; i < wa.n && i < 64; i++) {
      fired += wa.alerting[i] == 1;
      cleared += wa.alerting[i] == 0;
    }
    ck_assert_int_gt(fired, 0);
    ck_assert_int_gt(cleared, 0);
    cxm_ctx_destroy(a);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("fastpath");
  TCase *tc = tcase_create("fallbacks");
  tcase_set_timeout(tc, 120);
  /* loop index: 0 no module, 1 every module, 2 a watch only */
  tcase_add_loop_test(tc, earlier_firsts_move_the_channel, 0, 3);
  tcase_add_loop_test(tc, firsts_of_known_customers, 0, 3);
  tcase_add_loop_test(tc, segment_sets_in_the_batch, 0, 3);
  tcase_add_loop_test(tc, rejections_among_fast_events, 0, 3);
  tcase_add_loop_test(tc, new_customers_and_cells_in_the_batch, 0, 3);
  tcase_add_loop_test(tc, same_tag_different_customer, 0, 3);
  tcase_add_test(tc, bad_id_offsets);
  tcase_add_loop_test(tc, allocation_failure_in_a_batch, 0, 3);
  tcase_add_loop_test(tc, watch_days_in_random_batches, 0, 2);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
