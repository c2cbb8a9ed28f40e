/*
 * cxmetrics.h - public API of libcxmetrics.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
/**
 * @file cxmetrics.h
 * @brief Incremental customer-experience KPIs over event streams.
 *
 * libcxmetrics keeps incremental accumulators (per KPI, per segment, per
 * channel, per segment x channel, per day) that are updated as events are
 * added, so that every KPI can be read at any moment without rescanning the
 * history.
 *
 * Conventions used throughout:
 * - Every function that can fail returns a status code (::cxm_status);
 *   ::CXM_OK is 0. After a failure on a handle, cxm_ctx_errmsg() returns a
 *   message that names the argument, line or limit involved. Messages never
 *   quote a customer id.
 * - Pointer arguments marked "out" are written only on success.
 * - A handle (::cxm_ctx) is used by one thread at a time; distinct handles
 *   may be used concurrently from different threads. The library has no
 *   global mutable state.
 * - Times are Unix seconds (int64). Accepted event times lie in
 *   [::CXM_TIME_FIRST, ::CXM_TIME_LAST] (1970-01-01 to 2105-12-31 UTC).
 * - Money is kept as 64-bit integers in minor units (see ::CXM_OPT_DECIMALS);
 *   sums are exact and independent of the order of events.
 */
#ifndef CXMETRICS_H
#define CXMETRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Export macro for public functions.
 *
 * Defined to default visibility when unset; the library itself is built with
 * -fvisibility=hidden. A project that vendors the sources may define it
 * (e.g. to `static`) before including this header.
 */
#ifndef CXM_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define CXM_API __attribute__((visibility("default")))
#else
#define CXM_API
#endif
#endif

/** @name Version
 *  The version of the header; compare with cxm_version_number() at run time.
 *  @{ */
#define CXM_VERSION_MAJOR 0 /**< Incompatible API changes. */
#define CXM_VERSION_MINOR 2 /**< Compatible additions. */
#define CXM_VERSION_PATCH 0 /**< Fixes. */
/** One comparable number: major * 10000 + minor * 100 + patch. */
#define CXM_VERSION_NUMBER \
  (CXM_VERSION_MAJOR * 10000 + CXM_VERSION_MINOR * 100 + CXM_VERSION_PATCH)
/** @} */

/** @brief The library's version number, as ::CXM_VERSION_NUMBER. */
CXM_API int cxm_version_number(void);
/** @brief The library's version as a static string "MAJOR.MINOR.PATCH". */
CXM_API const char *cxm_version_string(void);

/**
 * @brief Status codes. Values are pinned and never renumbered; a retired
 * code keeps its number.
 */
typedef enum cxm_status {
  CXM_OK = 0,              /**< Success. */
  CXM_E_NOMEM = 1,         /**< An allocation failed; no state was changed. */
  CXM_E_NULL = 2,          /**< A required pointer argument was NULL. */
  CXM_E_RANGE = 3,         /**< A number is out of its documented range. */
  CXM_E_TYPE = 4,          /**< Unknown event type. */
  CXM_E_PARSE = 5,         /**< Malformed input (CSV line, time, number). */
  CXM_E_STATE = 6,         /**< Not allowed in the handle's current state. */
  CXM_E_LIMIT = 7,         /**< A documented limit was reached. */
  CXM_E_LATE = 8,          /**< Event older than the lateness bound. */
  CXM_E_NOTFOUND = 9,      /**< No such label, customer or id. */
  CXM_E_IO = 10,           /**< A read or write failed. */
  CXM_E_CORRUPT = 11,      /**< Corrupt or truncated serialized state. */
  CXM_E_VERSION = 12,      /**< Serialized state from a future version. */
  CXM_E_MISMATCH = 13,     /**< Incompatible handles or wrong key. */
  CXM_E_UNSUPPORTED = 14,  /**< The operation does not apply here. */
  CXM_E_ARG = 15,          /**< An argument is invalid (unknown id, bad size). */
  CXM_E_MISSING = 16,      /**< A required value is absent (id, amount). */
  CXM_E_NOSPACE = 17,      /**< The disk or quota is full (ENOSPC, EDQUOT). */
  CXM_E_ACCESS = 18,       /**< Permission denied or read-only file system. */
  CXM_E_SYNC = 19          /**< Flushing written data to disk (fsync) failed. */
} cxm_status;

/** @brief A static, human-readable description of a status code. Never NULL. */
CXM_API const char *cxm_strerror(int status);

/* ------------------------------------------------------------------------ */
/** @name Handle
 *  @{ */

/** @brief Opaque handle holding all accumulated state. */
typedef struct cxm_ctx cxm_ctx;

/** @brief Allocation hook: like malloc(3). Must return NULL on failure. */
typedef void *(*cxm_malloc_fn)(void *opaque, size_t size);
/** @brief Reallocation hook: like realloc(3). Must return NULL on failure and
 *  leave @p ptr valid. */
typedef void *(*cxm_realloc_fn)(void *opaque, void *ptr, size_t size);
/** @brief Free hook: like free(3); receives NULL never. */
typedef void (*cxm_free_fn)(void *opaque, void *ptr);

/**
 * @brief Create a handle with the C library's allocator.
 * @param[out] out receives the new handle; the caller owns it and releases it
 *   with cxm_ctx_destroy().
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_NOMEM.
 *
 * The customer-id hash key is drawn at random (from /dev/urandom when
 * available, else from the clock and addresses); set it with cxm_key_set()
 * so that independent processes agree on customer hashes.
 */
CXM_API int cxm_ctx_create(cxm_ctx **out);

/**
 * @brief Create a handle whose every allocation goes through the given hooks.
 * @param[out] out receives the new handle (caller owns it).
 * @param malloc_fn, realloc_fn, free_fn the hooks; all three are required.
 * @param opaque passed to each hook unchanged; may be NULL.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_NOMEM.
 */
CXM_API int cxm_ctx_create_with_allocator(cxm_ctx **out,
                                          cxm_malloc_fn malloc_fn,
                                          cxm_realloc_fn realloc_fn,
                                          cxm_free_fn free_fn, void *opaque);

/** @brief Release a handle and everything it owns. Accepts NULL. */
CXM_API void cxm_ctx_destroy(cxm_ctx *ctx);

/**
 * @brief The message of the last failure on this handle.
 * @return a NUL-terminated string owned by the handle, valid until the next
 *   failing call on it; "" when no call has failed yet. A successful call
 *   does not clear it (compare the status you got with ::CXM_OK). Returns a
 *   static string for a NULL handle.
 */
CXM_API const char *cxm_ctx_errmsg(const cxm_ctx *ctx);

/** @brief The status of the last failure on this handle (::CXM_OK if none). */
CXM_API int cxm_ctx_errcode(const cxm_ctx *ctx);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Options
 *  Set through one setter keyed by an enum with pinned values, so that no
 *  settings struct is ever frozen into the ABI. Options that change how
 *  events are stored can only be set before the first event (::CXM_E_STATE).
 *  @{ */

/** @brief Option keys. */
typedef enum cxm_option {
  /** Offset of the handle's days from UTC, in seconds (e.g. 25200 for
   *  UTC+07:00). Range -50400..50400, default 0. Before the first event. */
  CXM_OPT_UTC_OFFSET = 1,
  /** Decimals of the money minor unit: amounts are stored as
   *  round(amount * 10^decimals), halves away from zero, where a product
   *  within 4 ulps of a half counts as that half (so 0.285 is 29 cents, as
   *  written, although the double 0.285 is slightly below it). Range 0..6,
   *  default 2. Before the first event. */
  CXM_OPT_DECIMALS = 2,
  /** Lateness bound in seconds: an event older than the newest event already
   *  seen for its customer (for `spend`: for its channel) by more than this
   *  is rejected with ::CXM_E_LATE. Range 0..31622400 (366 days), default
   *  604800 (7 days). May be changed at any time. */
  CXM_OPT_MAX_LATENESS = 3,
  /** Which optional modules keep state (a bitwise OR of ::cxm_module).
   *  Range 0..::CXM_MOD_ALL, default ::CXM_MOD_ALL. Modules cost memory per
   *  customer and ingest time; 0 keeps only the core KPIs. Before the first
   *  event. */
  CXM_OPT_MODULES = 4,
  /** Churn window in days: a customer is active at T when it had activity in
   *  the window before T and no `churn` event after it. Range 1..3660,
   *  default 90. Before the first event. */
  CXM_OPT_CHURN_WINDOW_DAYS = 5,
  /** Period in days of churn rate, retention rate and formula CLV. Range
   *  1..3660, default 30. May be changed at any time. */
  CXM_OPT_RETENTION_PERIOD_DAYS = 6,
  /** Funnel: a second purchase within this many days after the first reaches
   *  the retention stage. Range 1..3660, default 365. Before the first
   *  event. */
  CXM_OPT_FUNNEL_RETENTION_DAYS = 7,
  /** Funnel conversion window in days: a stage counts only when reached within
   *  this many days of the customer's first stage; 0 = no window. Range
   *  0..3660, default 0. Before the first event. */
  CXM_OPT_FUNNEL_WINDOW_DAYS = 8,
  /** Attribution lookback in days before a purchase. Range 1..366, default
   *  30. Before the first event. */
  CXM_OPT_LOOKBACK_DAYS = 9,
  /** Half-life in days of the time-decay attribution model. Range 1..366,
   *  default 7. Before the first event. */
  CXM_OPT_HALF_LIFE_DAYS = 10,
  /** Touches kept per customer for attribution. Range 1..32, default 8.
   *  Before the first event. */
  CXM_OPT_TOUCHES_KEPT = 11,
  /** Purchase period in days of the predictive CLV statistics: purchases in
   *  the same period count once. Range 1..366, default 1. Before the first
   *  event. */
  CXM_OPT_CLV_PERIOD_DAYS = 12
} cxm_option;

/** @brief Optional modules, the bits of ::CXM_OPT_MODULES. */
typedef enum cxm_module {
  CXM_MOD_RETENTION = 1,   /**< Active/churned customers, churn, cohorts. */
  CXM_MOD_FUNNEL = 2,      /**< Journey funnel stages. */
  CXM_MOD_ATTRIBUTION = 4, /**< Multi-touch attribution (touches kept). */
  CXM_MOD_CLV = 8,         /**< Predictive CLV statistics (BG/NBD inputs). */
  CXM_MOD_ALL = 15         /**< Every module. */
} cxm_module;

/** @brief Set an option. @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown
 *  option), ::CXM_E_RANGE, ::CXM_E_STATE. */
CXM_API int cxm_option_set(cxm_ctx *ctx, int option, int64_t value);
/** @brief Read an option's current value into @p value. */
CXM_API int cxm_option_get(cxm_ctx *ctx, int option, int64_t *value);
/** @brief The accepted range [@p lo, @p hi] and the default of an option.
 *  Any of the out pointers may be NULL. @return ::CXM_OK or ::CXM_E_ARG. */
CXM_API int cxm_option_bounds(int option, int64_t *lo, int64_t *hi,
                              int64_t *dflt);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Customer identity
 *  Customer ids are arbitrary byte strings (emails, UUIDs, account numbers).
 *  The library keeps only a keyed 64-bit SipHash-1-3 of each id, never the
 *  id itself: state is pseudonymised, not anonymous (whoever holds the key
 *  can test a guessed id). Two distinct ids share a hash with probability
 *  about n^2 / 2^65 among n customers, and are then counted as one customer.
 *  @{ */

/** @brief Length in bytes of the hash key. */
#define CXM_KEY_SIZE 16

/** @brief Set the 16-byte hash key. Only before the first event or segment
 *  assignment (::CXM_E_STATE after). */
CXM_API int cxm_key_set(cxm_ctx *ctx, const uint8_t *key, size_t key_len);

/** @brief The hash of customer id @p id (@p len bytes) under the handle's key,
 *  as reported by lists and callbacks. Empty ids give ::CXM_E_MISSING. */
CXM_API int cxm_customer_hash(cxm_ctx *ctx, const void *id, size_t len,
                              uint64_t *out);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Labels: channels and segments
 *  Labels are interned to small ids (0, 1, 2, ... in order of first use).
 *  Limits: a label is 1..::CXM_LABEL_MAX bytes; at most ::CXM_CHANNELS_MAX
 *  channels and ::CXM_SEGMENTS_MAX segments per handle; a customer holds at
 *  most ::CXM_SEGMENTS_PER_CUSTOMER_MAX segments at once. Past a limit the
 *  call returns ::CXM_E_LIMIT and nothing changes. Labels are never removed.
 *  @{ */

#define CXM_LABEL_MAX 64                 /**< Bytes in a label, at most. */
#define CXM_CHANNELS_MAX 255             /**< Channels per handle, at most. */
#define CXM_SEGMENTS_MAX 1024            /**< Segments per handle, at most. */
#define CXM_SEGMENTS_PER_CUSTOMER_MAX 8  /**< Segments per customer, at most. */
#define CXM_SEGSETS_MAX 1048576          /**< Distinct segment sets, at most. */
/** Scope argument meaning "all channels" or "all segments". */
#define CXM_ALL (-1)
/** Channel argument meaning "no channel". */
#define CXM_NO_CHANNEL (-1)

/** @brief Intern a channel label (@p len bytes), creating it if new. */
CXM_API int cxm_channel_intern(cxm_ctx *ctx, const char *label, size_t len,
                               int32_t *id);
/** @brief Find a channel label without creating it (::CXM_E_NOTFOUND). */
CXM_API int cxm_channel_find(cxm_ctx *ctx, const char *label, size_t len,
                             int32_t *id);
/** @brief Number of channels interned so far. */
CXM_API int cxm_channel_count(cxm_ctx *ctx, int32_t *count);
/** @brief The label of channel @p id: a pointer into the handle (not
 *  NUL-terminated; valid until the handle is destroyed) and its length. */
CXM_API int cxm_channel_label(cxm_ctx *ctx, int32_t id,
                              const char **label, size_t *len);

/** @brief Intern a segment label, creating it if new. */
CXM_API int cxm_segment_intern(cxm_ctx *ctx, const char *label, size_t len,
                               int32_t *id);
/** @brief Find a segment label without creating it (::CXM_E_NOTFOUND). */
CXM_API int cxm_segment_find(cxm_ctx *ctx, const char *label, size_t len,
                             int32_t *id);
/** @brief Number of segments interned so far. */
CXM_API int cxm_segment_count(cxm_ctx *ctx, int32_t *count);
/** @brief The label of segment @p id (see cxm_channel_label()). */
CXM_API int cxm_segment_label(cxm_ctx *ctx, int32_t id,
                              const char **label, size_t *len);

/**
 * @brief Intern a set of segments, for the batch path's segment column.
 * @param ctx the handle.
 * @param segments @p n segment ids (order and duplicates do not matter);
 *   may be NULL when @p n is 0.
 * @param n the number of ids in @p segments.
 * @param[out] set_id the set's id; the empty set is always id 0.
 * @return ::CXM_OK, ::CXM_E_ARG (unknown segment id), ::CXM_E_LIMIT (more
 *   than ::CXM_SEGMENTS_PER_CUSTOMER_MAX distinct segments, or too many sets).
 */
CXM_API int cxm_segset_intern(cxm_ctx *ctx, const int32_t *segments, size_t n,
                              int32_t *set_id);

/**
 * @brief Set the segments a customer holds from now on (creating the customer
 * if new). Customer-level KPIs move with the customer: they always describe
 * customers by the segments they hold now. Event-level KPIs are credited to
 * the segments held when each event is added.
 */
CXM_API int cxm_customer_set_segments(cxm_ctx *ctx, const void *id, size_t len,
                                      int32_t set_id);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Events
 *  Events are not deduplicated: adding the same event twice counts it twice
 *  (exactly-once delivery comes from the caller's stream positions).
 *  @{ */

/** @brief First accepted event time: 1970-01-01 00:00:00 UTC. */
#define CXM_TIME_FIRST INT64_C(0)
/** @brief Last accepted event time: 2105-12-31 23:59:59 UTC. */
#define CXM_TIME_LAST INT64_C(4291747199)
/** @brief Unbounded start of a query window. */
#define CXM_TIME_MIN INT64_MIN
/** @brief Unbounded end of a query window. */
#define CXM_TIME_MAX INT64_MAX

/**
 * @brief Event types (pinned values). The numbers that each type takes are
 * given as (value, value2); "-" means ignored. A number that is "absent" is
 * passed as NaN.
 */
typedef enum cxm_event_type {
  CXM_EV_TOUCH = 1,          /**< Exposure or contact. (-, -) */
  CXM_EV_SESSION = 2,        /**< Web/app session. (pageviews >= 0 or absent,
                                  duration seconds >= 0 or absent) */
  CXM_EV_ENGAGE = 3,         /**< Meaningful interaction. (-, -) */
  CXM_EV_MESSAGE_SENT = 4,   /**< Outbound message sent. (-, -) */
  CXM_EV_MESSAGE_OPEN = 5,   /**< Message opened. (-, -) */
  CXM_EV_MESSAGE_CLICK = 6,  /**< Message clicked. (-, -) */
  CXM_EV_LEAD = 7,           /**< Became a prospect. (-, -) */
  CXM_EV_PURCHASE = 8,       /**< Order. (amount >= 0, required; -) */
  CXM_EV_REFUND = 9,         /**< Money returned. (amount >= 0, required; -) */
  CXM_EV_SPEND = 10,         /**< Marketing cost on a channel, no customer.
                                  (amount >= 0, required; -) */
  CXM_EV_NPS = 11,           /**< Recommend score. (integer 0..10; -) */
  CXM_EV_CSAT = 12,          /**< Satisfaction. (integer 1..5; -) */
  CXM_EV_CES = 13,           /**< Effort score. (integer 1..7; -) */
  CXM_EV_CHURN = 14          /**< Explicit cancellation. (-, -) */
} cxm_event_type;

/** @brief Map an event type's name ("touch", "message_open", ...) to its
 *  value. @return ::CXM_OK or ::CXM_E_TYPE. */
CXM_API int cxm_event_type_from_name(const char *name, size_t len, int32_t *type);
/** @brief The name of an event type, or NULL if unknown. */
CXM_API const char *cxm_event_type_name(int32_t type);

/**
 * @brief Add one event.
 * @param ctx the handle.
 * @param time Unix seconds.
 * @param type a ::cxm_event_type.
 * @param customer, customer_len the customer id; required (non-empty) for
 *   every type but ::CXM_EV_SPEND, for which it is ignored.
 * @param channel an interned channel id or ::CXM_NO_CHANNEL.
 * @param value, value2 the event's numbers (see ::cxm_event_type), NaN when
 *   absent.
 * @return ::CXM_OK, or the reason the event was rejected (nothing of it is
 *   kept then): ::CXM_E_TYPE, ::CXM_E_RANGE, ::CXM_E_MISSING, ::CXM_E_LATE,
 *   ::CXM_E_ARG (unknown channel), ::CXM_E_NOMEM.
 */
CXM_API int cxm_event_add(cxm_ctx *ctx, int64_t time, int32_t type,
                          const void *customer, size_t customer_len,
                          int32_t channel, double value, double value2);

/**
 * @brief Add a batch of events given as columns (the fast path).
 *
 * Arrays are read only during the call; ownership stays with the caller.
 * @param ctx the handle.
 * @param n number of events.
 * @param times n Unix times.
 * @param types n ::cxm_event_type values.
 * @param id_data customer id bytes, concatenated.
 * @param id_offsets n + 1 offsets into @p id_data (Arrow "large binary"
 *   layout): the id of event i is id_data[id_offsets[i] .. id_offsets[i+1]).
 *   Required; a `spend` event's id is ignored (give it an empty one).
 * @param channels n channel ids or ::CXM_NO_CHANNEL; NULL means no channel.
 * @param values, values2 n numbers each (NaN = absent); NULL means all absent.
 * @param segsets n segment-set ids applied to the customer before the event
 *   is credited (-1 = unchanged); NULL means unchanged for all.
 * @param[out] accepted if not NULL, receives the number of events accepted.
 * @param[out] statuses if not NULL, receives n status codes, one per event.
 * @return ::CXM_OK when every event was accepted; otherwise the status of the
 *   first rejected event (its index is in cxm_ctx_errmsg()). Rejected events
 *   are skipped; every valid event of the batch is accepted either way.
 */
CXM_API int cxm_events_add(cxm_ctx *ctx, size_t n, const int64_t *times,
                           const int32_t *types, const uint8_t *id_data,
                           const int64_t *id_offsets, const int32_t *channels,
                           const double *values, const double *values2,
                           const int32_t *segsets, size_t *accepted,
                           int32_t *statuses);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name KPIs
 *  @{ */

/**
 * @brief KPI ids (pinned values). "Event-level" KPIs count the events of a
 * scope and accept any window; "customer-level" KPIs count each customer
 * once (per segment: the segments it holds now; per channel: the channel
 * that acquired it) and are all-time only.
 */
typedef enum cxm_kpi {
  CXM_KPI_NPS = 1,                  /**< Net Promoter Score, -100..100; n = answers. */
  CXM_KPI_NPS_MOE95 = 2,            /**< 95% margin of error of NPS, points. */
  CXM_KPI_NPS_PROMOTERS = 3,        /**< Answers 9-10. */
  CXM_KPI_NPS_PASSIVES = 4,         /**< Answers 7-8. */
  CXM_KPI_NPS_DETRACTORS = 5,       /**< Answers 0-6. */
  CXM_KPI_CSAT = 6,                 /**< % of CSAT answers that are 4 or 5. */
  CXM_KPI_CSAT_MEAN = 7,            /**< Mean CSAT score. */
  CXM_KPI_CES = 8,                  /**< Mean CES score. */
  CXM_KPI_REVENUE = 9,              /**< Gross purchase amount. */
  CXM_KPI_REFUNDS = 10,             /**< Refunded amount. */
  CXM_KPI_NET_REVENUE = 11,         /**< Revenue minus refunds. */
  CXM_KPI_ORDERS = 12,              /**< Purchase events. */
  CXM_KPI_BUYERS = 13,              /**< Customers with an order (customer-level). */
  CXM_KPI_AOV = 14,                 /**< Revenue / orders. */
  CXM_KPI_PURCHASE_FREQUENCY = 15,  /**< Orders / buyers (customer-level). */
  CXM_KPI_REPEAT_PURCHASE_RATE = 16,/**< Buyers with 2+ orders / buyers (customer-level). */
  CXM_KPI_CLV_HISTORICAL = 17,      /**< Buyers' net revenue / buyers (customer-level). */
  CXM_KPI_LEAD_CONVERSION_RATE = 18,/**< Leads who purchased at or after their first lead / leads (customer-level). */
  CXM_KPI_SESSIONS = 19,            /**< Session events. */
  CXM_KPI_BOUNCE_RATE = 20,         /**< Sessions with exactly 1 pageview / sessions. */
  CXM_KPI_ENGAGED_SESSION_RATE = 21,/**< Sessions with 2+ pageviews or 10+ s / sessions. */
  CXM_KPI_ENGAGEMENT_RATE = 22,     /**< Interactions / customers with one (customer-level). */
  CXM_KPI_OPEN_RATE = 23,           /**< Opens / messages sent. */
  CXM_KPI_CLICK_RATE = 24,          /**< Clicks / messages sent. */
  CXM_KPI_CLICK_TO_OPEN_RATE = 25,  /**< Clicks / opens. */
  CXM_KPI_SPEND = 26,               /**< Marketing spend (not in segment scopes). */
  CXM_KPI_CPL = 27,                 /**< Spend / lead events. */
  CXM_KPI_CPA = 28,                 /**< Spend / orders. */
  CXM_KPI_CAC = 29,                 /**< Spend / new buyers. */
  CXM_KPI_LEADS = 30,               /**< Lead events. */
  CXM_KPI_NEW_BUYERS = 31,          /**< First purchases, credited to their channel (not in segment scopes, like spend). */
  CXM_KPI_MESSAGES_SENT = 32,       /**< message_sent events. */
  CXM_KPI_MESSAGES_OPENED = 33,     /**< message_open events. */
  CXM_KPI_MESSAGES_CLICKED = 34,    /**< message_click events. */
  CXM_KPI_INTERACTIONS = 35,        /**< touch + engage + session + message_click events. */
  CXM_KPI_EVENTS = 36               /**< All accepted events of the scope. */
} cxm_kpi;

/** @brief The highest KPI id of this library version (ids run 1..this). */
CXM_API int cxm_kpi_max(void);
/** @brief The report key of a KPI ("nps", "aov", ...), or NULL if unknown. */
CXM_API const char *cxm_kpi_name(int kpi);
/** @brief Map a report key to its KPI id. @return ::CXM_OK or ::CXM_E_NOTFOUND. */
CXM_API int cxm_kpi_from_name(const char *name, size_t len, int *kpi);
/** @brief 1 if the KPI is customer-level (all-time only), else 0; -1 if unknown. */
CXM_API int cxm_kpi_is_customer_level(int kpi);
/** @brief 1 if the KPI is an amount of money, else 0; -1 if unknown. */
CXM_API int cxm_kpi_is_money(int kpi);

/**
 * @brief Read a KPI for a scope and a window, without rescanning events.
 * @param ctx the handle.
 * @param kpi a ::cxm_kpi id.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param from, to the window [from, to) in Unix seconds, both floored to days
 *   in the handle's UTC offset; ::CXM_TIME_MIN / ::CXM_TIME_MAX for unbounded.
 *   Customer-level KPIs require the unbounded window (::CXM_E_UNSUPPORTED).
 * @param[out] value the KPI; NaN when undefined (a ratio whose denominator is
 *   0, or a spend-based KPI or new_buyers in a segment scope). Money in
 *   major units.
 * @param[out] n if not NULL: a ratio's denominator, or for a sum or count the
 *   number of contributing events (customers for customer-level counts).
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown KPI, segment or channel),
 *   ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_kpi_get(cxm_ctx *ctx, int kpi, int32_t segment,
                        int32_t channel, int64_t from, int64_t to,
                        double *value, int64_t *n);

/**
 * @brief Like cxm_kpi_get() for counts and sums, exactly: money in minor
 * units. ::CXM_E_UNSUPPORTED for ratio KPIs.
 */
CXM_API int cxm_kpi_get_int(cxm_ctx *ctx, int kpi, int32_t segment,
                            int32_t channel, int64_t from, int64_t to,
                            int64_t *value, int64_t *n);

/**
 * @brief The window [*from, *to) of the trailing @p days days ending with the
 * day of @p as_of (inclusive), in the handle's UTC offset.
 */
CXM_API int cxm_window_trailing(cxm_ctx *ctx, int64_t as_of, int32_t days,
                                int64_t *from, int64_t *to);

/** @brief Day number (days since 1970-01-01 in the handle's offset) of a time. */
CXM_API int cxm_time_day(cxm_ctx *ctx, int64_t time, int64_t *day);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Statistics
 *  @{ */

/** @brief Statistic keys for cxm_stat_get() (pinned values). */
typedef enum cxm_stat {
  CXM_STAT_EVENTS_ACCEPTED = 1, /**< Events accepted so far. */
  CXM_STAT_EVENTS_REJECTED = 2, /**< Events rejected so far (any reason). */
  CXM_STAT_EVENTS_LATE = 3,     /**< Of those, rejected as late. */
  CXM_STAT_CUSTOMERS = 4,       /**< Customers known. */
  CXM_STAT_MEMORY_BYTES = 5,    /**< Bytes currently allocated by the handle. */
  CXM_STAT_FIRST_TIME = 6,      /**< Earliest accepted event time (0 if none). */
  CXM_STAT_LAST_TIME = 7        /**< Latest accepted event time (0 if none). */
} cxm_stat;

/** @brief Read a statistic. @return ::CXM_OK or ::CXM_E_ARG. */
CXM_API int cxm_stat_get(cxm_ctx *ctx, int stat, int64_t *value);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name CSV input
 *  The canonical CSV: a header row naming columns, found by name:
 *  `time,customer,type,channel,value,value2,segments` (`time` and `type`
 *  required; unknown columns such as `text` are ignored, whatever bytes they
 *  hold). RFC 4180 quoting; LF or CRLF line ends. `time` is Unix seconds (a
 *  fraction is rounded down) or ISO-8601: `YYYY-MM-DD`, or
 *  `YYYY-MM-DDThh:mm[:ss[.frac]]` (`t` or a space may stand for `T`) with
 *  `Z`, `+hh:mm`, `+hhmm` or `+hh` (or `-`); without a zone, or a bare date,
 *  the time is in the handle's UTC offset. Blanks around a value are
 *  ignored. `segments` is `;`-separated labels: non-empty sets the customer's
 *  segments from that event on, `-` clears them. Empty numbers are absent.
 *  A malformed line is rejected with its line number and reason (the error
 *  handler, and counted); the stream goes on.
 *
 *  Events are committed to the handle in batches of 4096; the error handler
 *  runs for a line once its batch is committed, in line order (possibly
 *  during a later cxm_csv_feed() or in cxm_csv_finish()). After
 *  cxm_csv_finish() every event is committed and lines == accepted +
 *  rejected. See docs/csv.md.
 *  @{ */

/** @brief Opaque CSV reader bound to a handle. */
typedef struct cxm_csv cxm_csv;

/** @brief Called for every rejected line: 1-based physical line number,
 *  status, message (valid during the call only). */
typedef void (*cxm_csv_error_fn)(void *user, uint64_t line, int status,
                                  const char *message);

/** @brief Create a CSV reader that adds events to @p ctx. The reader must be
 *  destroyed before the handle. */
CXM_API int cxm_csv_create(cxm_ctx *ctx, cxm_csv **out);
/** @brief Destroy a CSV reader. Accepts NULL. Does not flush: call
 *  cxm_csv_finish() first. */
CXM_API void cxm_csv_destroy(cxm_csv *csv);
/** @brief Set (or clear, with NULL) the handler for rejected lines. */
CXM_API int cxm_csv_set_error_handler(cxm_csv *csv, cxm_csv_error_fn fn,
                                      void *user);
/** @brief Feed bytes; lines may be split across calls arbitrarily.
 *  @return ::CXM_OK (rejected lines are reported, not returned);
 *  ::CXM_E_PARSE when the header lacks a required column, repeats one or
 *  holds a lone CR, ::CXM_E_LIMIT when it is longer than 1 MiB (either
 *  returned again by every feed until cxm_csv_finish()); ::CXM_E_NOMEM when
 *  memory ran out (events already buffered are not lost; lines rejected for
 *  lack of memory are reported). A data record longer than 1 MiB is
 *  rejected with ::CXM_E_LIMIT and skipped to the next line end past that
 *  size (docs/csv.md). */
CXM_API int cxm_csv_feed(cxm_csv *csv, const void *data, size_t len);
/** @brief End of a stream: processes a last line without a line end,
 *  commits every buffered event and reports the remaining rejected lines.
 *  The reader may then be fed a new stream, which starts with its own header
 *  and line 1; the counters keep adding up across streams. */
CXM_API int cxm_csv_finish(cxm_csv *csv);
/** @brief Counters of the reader; any pointer may be NULL. @p lines counts
 *  data records (not the header). */
CXM_API int cxm_csv_stats(const cxm_csv *csv, uint64_t *lines,
                          uint64_t *accepted, uint64_t *rejected);
/** @brief Read a whole file (or standard input for "-") through the reader,
 *  including cxm_csv_finish(). ::CXM_E_IO if it cannot be read. */
CXM_API int cxm_csv_feed_file(cxm_csv *csv, const char *path);

/**
 * @brief Parse a time as the CSV reader does (Unix seconds or ISO-8601),
 * zone-less times in the handle's UTC offset. @return ::CXM_OK or ::CXM_E_PARSE.
 */
CXM_API int cxm_time_parse(cxm_ctx *ctx, const char *text, size_t len,
                           int64_t *time);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Snapshots and merge
 *  A snapshot is a handle's whole state as bytes (format: docs/snapshot.md):
 *  options, counters, labels, segment sets, customer records (hashes, never
 *  raw ids), every scope's series and the optional modules' state, plus the
 *  caller's stream position. Load it into a new handle to resume; merge
 *  handles that ingested customer-disjoint parts of one stream to get the
 *  KPIs of the whole stream.
 *
 *  The key: a snapshot stores a fingerprint of the hash key (a keyed hash
 *  of a constant, from which the key cannot be recovered), not the key,
 *  unless saved with ::CXM_SNAPSHOT_EMBED_KEY. A handle loaded without its
 *  key can report, save and merge; ingesting events, setting segments and
 *  hashing ids fail with ::CXM_E_STATE until cxm_key_set() gives a key
 *  whose fingerprint matches (::CXM_E_MISMATCH otherwise).
 *  @{ */

/** @brief Flags of cxm_snapshot_save_file() and cxm_snapshot_save_buffer(). */
typedef enum cxm_snapshot_flag {
  /** Store the hash key itself in the snapshot (whoever reads the snapshot
   *  can then hash guessed ids): the loaded handle can ingest at once. */
  CXM_SNAPSHOT_EMBED_KEY = 1
} cxm_snapshot_flag;

/** @brief Bytes in a stream position, at most. */
#define CXM_POSITION_MAX 65536

/**
 * @brief Save the handle's state to a file, atomically.
 *
 * Writes a temporary file in the same directory, flushes it to disk,
 * renames it over @p path and flushes the directory: a crash or failure at
 * any moment leaves either the previous file or the new one, whole, and no
 * temporary file after a failure. The handle is not changed.
 * @param ctx the handle.
 * @param path the file to create or replace (read during the call only).
 * @param flags 0 or ::CXM_SNAPSHOT_EMBED_KEY.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown flag), ::CXM_E_STATE
 *   (called from a callback of the handle, or ::CXM_SNAPSHOT_EMBED_KEY on a
 *   handle that does not know its key), ::CXM_E_NOMEM,
 *   ::CXM_E_NOSPACE (disk full), ::CXM_E_ACCESS (permission denied or
 *   read-only), ::CXM_E_IO (opening, writing or renaming failed otherwise),
 *   ::CXM_E_SYNC (fsync failed); the message names the step and the errno
 *   text.
 */
CXM_API int cxm_snapshot_save_file(cxm_ctx *ctx, const char *path,
                                   uint32_t flags);

/**
 * @brief Save the handle's state to a memory buffer.
 * @param ctx the handle.
 * @param flags 0 or ::CXM_SNAPSHOT_EMBED_KEY.
 * @param[out] out receives the snapshot bytes, allocated with the handle's
 *   allocator; the caller owns them and releases them with
 *   cxm_buffer_free(ctx, *out, *len) before destroying the handle.
 * @param[out] len receives the number of bytes.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown flag), ::CXM_E_STATE
 *   (as for cxm_snapshot_save_file()), ::CXM_E_NOMEM.
 */
CXM_API int cxm_snapshot_save_buffer(cxm_ctx *ctx, uint32_t flags, void **out,
                                     size_t *len);

/**
 * @brief Release a buffer returned by cxm_snapshot_save_buffer().
 * @param ctx the handle that returned it.
 * @param buf the buffer; NULL is accepted and does nothing.
 * @param len its length, as returned.
 */
CXM_API void cxm_buffer_free(cxm_ctx *ctx, void *buf, size_t len);

/**
 * @brief Load a snapshot from memory into a fresh handle.
 *
 * The handle must be empty: no event, customer, label, key or option set
 * since its creation, except the allocator (::CXM_E_STATE otherwise). On
 * failure it stays empty and usable (nothing of the snapshot is kept).
 * @param ctx a handle from cxm_ctx_create() or
 *   cxm_ctx_create_with_allocator(), still empty.
 * @param data the snapshot bytes (read during the call only).
 * @param len their number.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_STATE, ::CXM_E_NOMEM,
 *   ::CXM_E_CORRUPT (not a snapshot, truncated, or a checksum or structure
 *   error), ::CXM_E_VERSION (written by a newer format version).
 */
CXM_API int cxm_snapshot_load_buffer(cxm_ctx *ctx, const void *data,
                                     size_t len);

/**
 * @brief Load a snapshot file into a fresh handle (see
 * cxm_snapshot_load_buffer()).
 * @param ctx a still empty handle.
 * @param path the file (read during the call only).
 * @return as cxm_snapshot_load_buffer(), and ::CXM_E_IO or ::CXM_E_ACCESS
 *   when the file cannot be read.
 */
CXM_API int cxm_snapshot_load_file(cxm_ctx *ctx, const char *path);

/**
 * @brief Set the caller's stream position (opaque bytes such as Kafka
 * offsets), saved with the next snapshot.
 * @param ctx the handle.
 * @param data @p len bytes, copied; may be NULL when @p len is 0 (clears it).
 * @param len 0..::CXM_POSITION_MAX.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_LIMIT, ::CXM_E_NOMEM (the previous
 *   position is kept).
 */
CXM_API int cxm_position_set(cxm_ctx *ctx, const void *data, size_t len);

/**
 * @brief Read the stream position.
 * @param ctx the handle.
 * @param[out] data receives a pointer into the handle (NULL when no
 *   position is set), valid until the next cxm_position_set(),
 *   cxm_ctx_merge() into this handle, or its destruction.
 * @param[out] len receives its length (0 when unset).
 * @return ::CXM_OK, ::CXM_E_NULL.
 */
CXM_API int cxm_position_get(cxm_ctx *ctx, const void **data, size_t *len);

/**
 * @brief The fingerprint of the handle's hash key, as stored in snapshots.
 *
 * Two handles hash customer ids alike exactly when their fingerprints are
 * equal (short of a 2^-64 accident). Available also on a handle loaded
 * without its key.
 * @param ctx the handle.
 * @param[out] out receives the fingerprint.
 * @return ::CXM_OK, ::CXM_E_NULL.
 */
CXM_API int cxm_key_fingerprint(cxm_ctx *ctx, uint64_t *out);

/**
 * @brief Whether the handle knows its hash key.
 * @param ctx the handle.
 * @param[out] known receives 1, or 0 for a handle loaded from a snapshot
 *   saved without ::CXM_SNAPSHOT_EMBED_KEY until cxm_key_set() succeeds.
 * @return ::CXM_OK, ::CXM_E_NULL.
 */
CXM_API int cxm_key_known(cxm_ctx *ctx, int32_t *known);

/**
 * @brief Merge the state of @p src into @p dst.
 *
 * Labels and segment sets are matched by name; customers by hash. When the
 * customers of the two handles are disjoint the result equals one handle
 * that ingested both streams (counts and money exactly). A customer present
 * in both is combined: orders, interactions and net amount added, first
 * times the earlier, last times the later, the segments of the record with
 * the later last event (dst on a tie), the acquiring channels those of the
 * earlier first event; see docs/snapshot.md. Statistics are added, first
 * and last times combined; the stream position of @p dst is kept.
 * @param dst the handle merged into: fully merged on success, unchanged on
 *   failure.
 * @param src the handle merged from; what it reports is unchanged (it may
 *   reorganise internal buffers). Must differ from @p dst.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (@p src is @p dst),
 *   ::CXM_E_STATE (called from a callback of either handle),
 *   ::CXM_E_MISMATCH (different key fingerprint, decimals, UTC offset,
 *   modules or module options), ::CXM_E_LIMIT (labels or customers past a
 *   limit), ::CXM_E_NOMEM.
 */
CXM_API int cxm_ctx_merge(cxm_ctx *dst, cxm_ctx *src);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name JSON Lines input
 *  One JSON object per line, in the shape customer-data platforms send:
 *  `{"type": "track", "userId": "u1", "event": "Order Completed",
 *  "timestamp": "2024-05-01T10:00:00Z", "properties": {"revenue": 25.5,
 *  "channel": "web"}}`; `page` and `screen` calls are touches; `identify`
 *  calls set the customer's segments from `traits.segments` (an array of
 *  labels, or one `;`-separated string, `-` or `[]` clearing them) and from
 *  traits mapped with cxm_jsonl_map_trait() (label `name=value`). `track`
 *  event names map to event types through a table (defaults in
 *  docs/jsonl.md, names compared ignoring ASCII case); unmapped names and
 *  other calls are skipped and counted, not rejected. The customer is
 *  `userId`, else `anonymousId`; the time `timestamp`, else
 *  `originalTimestamp`, else `sentAt` (ISO-8601 or Unix seconds); the
 *  channel `properties.channel`. A malformed line is rejected with its line
 *  number and reason (the error handler, as for CSV) and the stream goes on.
 *  Events are added one by one, in line order. See docs/jsonl.md.
 *  @{ */

/** @brief Longest line accepted, in bytes; longer lines are rejected with
 *  ::CXM_E_LIMIT (and skipped to their end). */
#define CXM_JSONL_LINE_MAX 1048576

/** @brief Opaque JSON Lines reader bound to a handle. */
typedef struct cxm_jsonl cxm_jsonl;

/** @brief Create a JSON Lines reader that adds events to @p ctx, with the
 *  default event map. Destroy it before the handle.
 *  @param ctx the handle.
 *  @param[out] out the new reader (owned by the caller).
 *  @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_NOMEM. */
CXM_API int cxm_jsonl_create(cxm_ctx *ctx, cxm_jsonl **out);
/** @brief Destroy a reader. Accepts NULL. Call cxm_jsonl_finish() first to
 *  process a last line without a line end. */
CXM_API void cxm_jsonl_destroy(cxm_jsonl *reader);
/** @brief Set (or clear, with NULL) the handler for rejected lines (the CSV
 *  reader's handler type: 1-based line number, status, message). */
CXM_API int cxm_jsonl_set_error_handler(cxm_jsonl *reader, cxm_csv_error_fn fn,
                                        void *user);
/**
 * @brief Map a `track` event name to an event type (replacing the mapping
 * of that name, if any).
 * @param reader the reader.
 * @param name the event name (@p len bytes, 1..64; compared ignoring ASCII
 *   case).
 * @param len its length.
 * @param type a ::cxm_event_type, or 0 to skip events of that name.
 * @param value_keys the property holding the first number (amount, score,
 *   pageviews), or several separated by `|` (the first present wins); NULL or
 *   "" for none. At most 64 bytes. Copied.
 * @param value2_keys the same for the second number (session duration).
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_TYPE, ::CXM_E_LIMIT (name or keys
 *   too long, or more than 4096 names), ::CXM_E_NOMEM.
 */
CXM_API int cxm_jsonl_map_event(cxm_jsonl *reader, const char *name, size_t len,
                                int32_t type, const char *value_keys,
                                const char *value2_keys);
/** @brief Make the `identify` trait @p trait (NUL-terminated, 1..64 bytes;
 *  copied) a segment: its value v gives the label `trait=v`. At most 16
 *  traits. @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_LIMIT. */
CXM_API int cxm_jsonl_map_trait(cxm_jsonl *reader, const char *trait);
/** @brief Feed bytes; lines may be split across calls arbitrarily. Lines are
 *  processed as soon as their line end arrives. @return ::CXM_OK (rejected
 *  lines are reported, not returned), ::CXM_E_NULL, ::CXM_E_NOMEM (the lines
 *  concerned were rejected; accepted events are kept). */
CXM_API int cxm_jsonl_feed(cxm_jsonl *reader, const void *data, size_t len);
/** @brief End of a stream: processes a last line without a line end. Line
 *  numbers start again at 1 for the next stream; counters keep adding up. */
CXM_API int cxm_jsonl_finish(cxm_jsonl *reader);
/** @brief Counters; any pointer may be NULL. @p lines counts non-blank
 *  lines = accepted + rejected + skipped. */
CXM_API int cxm_jsonl_stats(const cxm_jsonl *reader, uint64_t *lines,
                            uint64_t *accepted, uint64_t *rejected,
                            uint64_t *skipped);
/** @brief Read a whole file (or standard input for "-"), including
 *  cxm_jsonl_finish(). ::CXM_E_IO if it cannot be read. */
CXM_API int cxm_jsonl_feed_file(cxm_jsonl *reader, const char *path);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Monitoring: callbacks, threshold watches, benchmarks
 *  Callbacks are plain function pointers with scalar arguments and a
 *  `void *user` that the library passes back untouched (the caller owns it
 *  and keeps it valid while the callback is registered). They run on the
 *  thread that adds the event, inside the call that added it
 *  (cxm_event_add(), cxm_events_add(), or a reader's feed), after the event
 *  was counted. A callback must not call any function of the same handle
 *  (nor of a reader bound to it): such calls fail with ::CXM_E_STATE and
 *  change nothing; cxm_ctx_destroy() and the readers' destroy functions must
 *  not be called from a callback at all. It may call other handles, copy
 *  its arguments, or queue work. No callback fires while a snapshot is
 *  loaded or handles are merged (those do not replay events), and
 *  callbacks, watches and benchmarks are not part of snapshots: register
 *  them again after loading. See docs/monitoring.md.
 *  @{ */

/**
 * @brief Called on every accepted NPS answer of 0..6 (a detractor).
 * @param user the pointer given to cxm_detractor_callback_set().
 * @param customer the customer's hash (as cxm_customer_hash() gives it).
 * @param score the answer, 0..6.
 * @param channel the event's channel id, or ::CXM_NO_CHANNEL.
 * @param time the event's time, Unix seconds.
 */
typedef void (*cxm_detractor_fn)(void *user, uint64_t customer, int32_t score,
                                 int32_t channel, int64_t time);

/**
 * @brief Register (or clear, with a NULL @p fn) the detractor callback; one
 * per handle, replacing the previous one.
 * @param ctx the handle.
 * @param fn the callback, or NULL.
 * @param user passed back to @p fn; not read by the library.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_STATE (called from a callback).
 */
CXM_API int cxm_detractor_callback_set(cxm_ctx *ctx, cxm_detractor_fn fn,
                                       void *user);

/** @brief Most watches a handle holds at once. */
#define CXM_WATCHES_MAX 1024

/** @brief The side of a threshold a watch alerts on (pinned values). */
typedef enum cxm_watch_direction {
  CXM_WATCH_ABOVE = 1, /**< Alert when the value rises to fire_at or above. */
  CXM_WATCH_BELOW = 2  /**< Alert when the value falls to fire_at or below. */
} cxm_watch_direction;

/**
 * @brief Called when a watch changes state.
 * @param user the pointer given to cxm_watch_add().
 * @param watch the watch's id.
 * @param alerting 1: the watch entered the alert state (its KPI reached
 *   fire_at); 0: it left it (the KPI went back past clear_at).
 * @param value the KPI's value at that moment (as cxm_kpi_get() reports it).
 * @param n its n (as cxm_kpi_get() reports it).
 * @param time the time of the event that caused the change.
 */
typedef void (*cxm_watch_fn)(void *user, int32_t watch, int32_t alerting,
                             double value, int64_t n, int64_t time);

/**
 * @brief Watch a KPI of a scope and call @p fn when it crosses a threshold.
 *
 * The watch is checked after every accepted event of its scope (an event of
 * another scope cannot change it), in O(1): it keeps its own counters,
 * started from the handle's counters when it is added. With hysteresis: a
 * watch in the normal state enters the alert state when the value reaches
 * @p fire_at (>= for ::CXM_WATCH_ABOVE, <= for ::CXM_WATCH_BELOW), and goes
 * back to normal only when the value is past @p clear_at (< for ABOVE, >
 * for BELOW); no transition happens while n < @p min_n or the value is
 * undefined. A new watch starts in the normal state, so if its KPI is
 * already past @p fire_at it fires at the scope's next event.
 *
 * @param ctx the handle.
 * @param kpi an event-level ::cxm_kpi, except the spend-based ones
 *   (spend, cpl, cpa, cac), new_buyers and events.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param window_days 0 for all time, else 1..3660: the trailing window of
 *   that many days ending with the day of the handle's newest event (as
 *   cxm_window_trailing() with the newest event's time).
 * @param direction a ::cxm_watch_direction.
 * @param fire_at the alert level, in the KPI's units (NPS points, CSAT
 *   percent, rates as fractions, money in major units).
 * @param clear_at the level past which the alert ends: <= @p fire_at for
 *   ABOVE, >= @p fire_at for BELOW.
 * @param min_n the n (ratio denominator or event count) needed before any
 *   transition, >= 0.
 * @param fn the callback (required).
 * @param user passed back to @p fn.
 * @param[out] watch the new watch's id (ids of removed watches are reused).
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown KPI, segment,
 *   channel or direction; NaN or misordered levels; min_n < 0),
 *   ::CXM_E_UNSUPPORTED (a KPI that cannot be watched), ::CXM_E_RANGE
 *   (window_days), ::CXM_E_LIMIT (::CXM_WATCHES_MAX), ::CXM_E_NOMEM,
 *   ::CXM_E_STATE (called from a callback).
 */
CXM_API int cxm_watch_add(cxm_ctx *ctx, int kpi, int32_t segment,
                          int32_t channel, int32_t window_days,
                          int32_t direction, double fire_at, double clear_at,
                          int64_t min_n, cxm_watch_fn fn, void *user,
                          int32_t *watch);

/**
 * @brief Remove a watch; its id may be reused by a later cxm_watch_add().
 * @param ctx the handle.
 * @param watch the watch's id.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_NOTFOUND, ::CXM_E_STATE.
 */
CXM_API int cxm_watch_remove(cxm_ctx *ctx, int32_t watch);

/**
 * @brief Read a watch's state and its KPI as it stands now.
 * @param ctx the handle.
 * @param watch the watch's id.
 * @param[out] alerting if not NULL: 1 in the alert state, else 0.
 * @param[out] value if not NULL: the KPI's value (NaN when undefined).
 * @param[out] n if not NULL: the KPI's n.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_NOTFOUND, ::CXM_E_STATE.
 */
CXM_API int cxm_watch_get(cxm_ctx *ctx, int32_t watch, int32_t *alerting,
                          double *value, int64_t *n);

/**
 * @brief Set (or clear, with NaN) the benchmark of a KPI for a scope.
 *
 * A benchmark set with segment and channel both ::CXM_ALL is the KPI's
 * default: it applies to every scope that has no benchmark of its own.
 * @param ctx the handle.
 * @param kpi a ::cxm_kpi id.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param value the benchmark in the KPI's units (as cxm_kpi_get() reports
 *   them), or NaN to remove it.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown KPI, segment or
 *   channel; infinite value), ::CXM_E_LIMIT (more than 65536 benchmarks),
 *   ::CXM_E_NOMEM, ::CXM_E_STATE.
 */
CXM_API int cxm_benchmark_set(cxm_ctx *ctx, int kpi, int32_t segment,
                              int32_t channel, double value);

/**
 * @brief The gap between a KPI and its benchmark: value - benchmark.
 * @param ctx the handle.
 * @param kpi a ::cxm_kpi id.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param from, to the window, as for cxm_kpi_get().
 * @param[out] gap the gap; NaN when the KPI is undefined. Required.
 * @param[out] value if not NULL: the KPI (as cxm_kpi_get()).
 * @param[out] benchmark if not NULL: the benchmark that applied (the
 *   scope's own, else the KPI's default).
 * @param[out] n if not NULL: the KPI's n.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_NOTFOUND (no benchmark applies),
 *   the statuses of cxm_kpi_get(), ::CXM_E_STATE.
 */
CXM_API int cxm_benchmark_gap(cxm_ctx *ctx, int kpi, int32_t segment,
                              int32_t channel, int64_t from, int64_t to,
                              double *gap, double *value, double *benchmark,
                              int64_t *n);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Customer lists and erasure
 *  @{ */

/** @brief A customer's category by its latest NPS answer (pinned values). */
typedef enum cxm_nps_category {
  CXM_NPS_DETRACTOR = 1, /**< Latest answer 0..6. */
  CXM_NPS_PASSIVE = 2,   /**< Latest answer 7..8. */
  CXM_NPS_PROMOTER = 3   /**< Latest answer 9..10. */
} cxm_nps_category;

/**
 * @brief List the customers of a segment whose latest NPS answer is in a
 * category, as customer hashes (see cxm_customer_hash()), a buffer at a
 * time.
 *
 * Membership is by the segments a customer holds now. The latest answer is
 * the one with the newest time (of equal times, the last added). Start with
 * @p cursor 0 and call again with the returned @p next_cursor until it is
 * 0. The scan visits every customer once, O(customers); customers added
 * between calls may or may not be listed, and a cxm_customer_erase()
 * between calls may make the scan skip or repeat one customer.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param category a ::cxm_nps_category.
 * @param cursor 0 to start, else a @p next_cursor of the previous call.
 * @param[out] hashes room for @p cap hashes (owned by the caller).
 * @param cap the room in @p hashes, > 0.
 * @param[out] count receives the number of hashes written.
 * @param[out] next_cursor receives where to go on, or 0 when the scan is
 *   complete.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown segment or category,
 *   @p cap 0), ::CXM_E_STATE.
 */
CXM_API int cxm_customers_by_nps(cxm_ctx *ctx, int32_t segment,
                                 int32_t category, uint64_t cursor,
                                 uint64_t *hashes, size_t cap, size_t *count,
                                 uint64_t *next_cursor);

/**
 * @brief Erase a customer (right to be forgotten).
 *
 * The customer's record and its hash are removed: nothing kept can be
 * linked to the id any more, and a later event with the same id starts a
 * new customer. Event-level counts (events, answers, revenue, sessions,
 * new buyers per day, ...) keep the customer's anonymous contribution;
 * customer-level counts (buyers, repeat buyers, orders and net revenue per
 * buyer, leads converted, customers with an interaction) no longer count
 * it, so they describe the remaining customers. The optional modules drop
 * its per-customer state (docs/privacy.md lists what every aggregate keeps).
 * Never allocates.
 * @param ctx the handle.
 * @param id the customer id (@p len bytes).
 * @param len its length, > 0.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_MISSING (empty id),
 *   ::CXM_E_NOTFOUND (no such customer), ::CXM_E_STATE.
 */
CXM_API int cxm_customer_erase(cxm_ctx *ctx, const void *id, size_t len);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Predictive CLV: BG/NBD, Gamma-Gamma, RFM
 *  With ::CXM_MOD_CLV on (the default), the handle keeps per customer, in
 *  O(1) per purchase: the first and last purchase times, the number of
 *  distinct purchase periods (::CXM_OPT_CLV_PERIOD_DAYS, default 1 day:
 *  purchases in one period count once, amounts summed) and the amounts of
 *  the first and of the later periods. cxm_clv_fit() turns them into
 *  frequency x (repeat periods), recency t_x (first to last purchase), age T
 *  (first purchase to the as-of day) and mean repeat spend m, fits the
 *  BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie 2013)
 *  models by maximum likelihood, and returns an opaque model to query per
 *  customer, for all customers at once or per segment. Definitions,
 *  formulas and the RFM rule table: docs/clv.md.
 *
 *  A model holds a pointer to its handle (its allocator and error message):
 *  destroy it before the handle, and use both from one thread at a time.
 *  It is a copy: later events do not change it.
 *  @{ */

/** @brief A fitted CLV model (opaque; from cxm_clv_fit()). */
typedef struct cxm_clv_model cxm_clv_model;

/** @brief Time units of a CLV model: t_x, T, horizons and discount periods
 *  are in this unit (ages are whole days, divided by 7 for weeks). */
typedef enum cxm_clv_unit {
  CXM_CLV_DAYS = 1,  /**< Days. */
  CXM_CLV_WEEKS = 2  /**< Weeks of 7 days. */
} cxm_clv_unit;

/** @brief Values of a fitted model, read with cxm_clv_model_get(). */
typedef enum cxm_clv_value {
  CXM_CLV_R = 1,             /**< BG/NBD r (shape of the purchase-rate gamma). */
  CXM_CLV_ALPHA = 2,         /**< BG/NBD alpha (its scale, in the model's unit). */
  CXM_CLV_A = 3,             /**< BG/NBD a (dropout-probability beta). */
  CXM_CLV_B = 4,             /**< BG/NBD b. */
  CXM_CLV_P = 5,             /**< Gamma-Gamma p (NaN when not fitted). */
  CXM_CLV_Q = 6,             /**< Gamma-Gamma q. */
  CXM_CLV_V = 7,             /**< Gamma-Gamma v (gamma), money in major units. */
  CXM_CLV_SE_R = 8,          /**< Standard error of r (NaN if the information
                                  matrix is not positive definite). */
  CXM_CLV_SE_ALPHA = 9,      /**< Standard error of alpha. */
  CXM_CLV_SE_A = 10,         /**< Standard error of a. */
  CXM_CLV_SE_B = 11,         /**< Standard error of b. */
  CXM_CLV_SE_P = 12,         /**< Standard error of p. */
  CXM_CLV_SE_Q = 13,         /**< Standard error of q. */
  CXM_CLV_SE_V = 14,         /**< Standard error of v. */
  CXM_CLV_LOGLIK = 15,       /**< BG/NBD log-likelihood (without the penalty). */
  CXM_CLV_CONVERGED = 16,    /**< 1 if the BG/NBD fit converged, else 0. */
  CXM_CLV_ITERATIONS = 17,   /**< Optimiser iterations of the BG/NBD fit. */
  CXM_CLV_GG_LOGLIK = 18,    /**< Gamma-Gamma log-likelihood (NaN if not fitted). */
  CXM_CLV_GG_CONVERGED = 19, /**< 1 if the Gamma-Gamma fit converged, else 0. */
  CXM_CLV_GG_CUSTOMERS = 20, /**< Customers in the Gamma-Gamma fit: x > 0 and a
                                  positive mean repeat spend. */
  CXM_CLV_GG_ZERO_SPEND = 21,/**< Customers with x > 0 left out of the
                                  Gamma-Gamma fit: mean repeat spend 0. */
  CXM_CLV_CUSTOMERS = 22,    /**< Customers in the model (a purchase by the
                                  as-of day, in the segment if one was given). */
  CXM_CLV_GROUPS = 23,       /**< Distinct (x, t_x, T) groups fitted. */
  CXM_CLV_AS_OF_DAY = 24,    /**< The as-of day number (days since 1970-01-01
                                  in the handle's UTC offset). */
  CXM_CLV_UNIT_DAYS = 25     /**< Days per unit: 1 or 7. */
} cxm_clv_value;

/**
 * @brief Fit BG/NBD and Gamma-Gamma on the handle's customers.
 *
 * BG/NBD is fitted on every customer with a purchase (customers with equal
 * (x, t_x, T) are grouped with a weight); Gamma-Gamma on those with x > 0
 * and a positive mean repeat spend (zero-amount purchases count as
 * purchases but make the mean smaller; a mean of 0 leaves the customer out
 * of the Gamma-Gamma fit, see ::CXM_CLV_GG_ZERO_SPEND). Fewer than 2 such
 * customers: Gamma-Gamma is not fitted (its values are NaN) and spend and
 * CLV predictions are NaN. The fit minimises minus the log-likelihood plus
 * @p l2_penalty times the sum of the squared parameters.
 * @param ctx the handle.
 * @param as_of a time in the as-of day (Unix seconds), or ::CXM_TIME_MAX for
 *   the day of the newest accepted event. Every customer's purchases must
 *   be on or before that day (only ingest purchases up to it).
 * @param unit ::CXM_CLV_DAYS or ::CXM_CLV_WEEKS.
 * @param segment a segment id: only customers holding it now; or ::CXM_ALL.
 * @param l2_penalty 0 for plain maximum likelihood, else > 0.
 * @param[out] out receives the model, owned by the caller until
 *   cxm_clv_model_destroy(); untouched on failure.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unit, segment),
 *   ::CXM_E_RANGE (as_of before a purchase or out of range, negative
 *   penalty), ::CXM_E_UNSUPPORTED (the CLV module is off, fewer than 2
 *   customers or no repeat purchase: the model is not identified),
 *   ::CXM_E_NOMEM. A fit that did not converge is not an error: see
 *   ::CXM_CLV_CONVERGED.
 */
CXM_API int cxm_clv_fit(cxm_ctx *ctx, int64_t as_of, int32_t unit,
                        int32_t segment, double l2_penalty,
                        cxm_clv_model **out);

/** @brief Destroy a model (NULL is accepted). Before its handle.
 *  @param model the model. */
CXM_API void cxm_clv_model_destroy(cxm_clv_model *model);

/**
 * @brief Read a value of a fitted model.
 * @param model the model.
 * @param what a ::cxm_clv_value.
 * @param[out] value receives it.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown @p what).
 */
CXM_API int cxm_clv_model_get(const cxm_clv_model *model, int32_t what,
                              double *value);

/**
 * @brief Predictions for one customer of the model.
 *
 * The expected purchases and CLV count whole purchase periods in
 * (T, T + @p horizon]; CLV is the expected spend per purchase times the
 * expected purchases in each unit step, divided by (1 + @p discount)^k at
 * step k (the last step may be partial).
 * @param model the model.
 * @param id, len the customer id (hashed with the handle's key).
 * @param horizon the horizon in the model's unit, >= 0.
 * @param discount discount rate per unit, >= 0 (0: none).
 * @param[out] p_alive P(alive) at the as-of day; may be NULL.
 * @param[out] expected expected purchases in the horizon; may be NULL.
 * @param[out] spend expected spend per purchase (Gamma-Gamma conditional
 *   mean, major units; NaN without a spend model); may be NULL.
 * @param[out] clv predicted CLV over the horizon, major units; may be NULL.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_MISSING (empty id),
 *   ::CXM_E_RANGE (horizon, discount), ::CXM_E_NOTFOUND (not in the model),
 *   ::CXM_E_NOMEM (the first lookup builds the model's index).
 */
CXM_API int cxm_clv_customer(const cxm_clv_model *model, const void *id,
                             size_t len, double horizon, double discount,
                             double *p_alive, double *expected, double *spend,
                             double *clv);

/**
 * @brief Each customer's statistics, in the model's order (arrays of at
 * least ::CXM_CLV_CUSTOMERS elements, any of them NULL to skip).
 * @param model the model.
 * @param n the arrays' length.
 * @param[out] hash customer hashes (as cxm_customer_hash()).
 * @param[out] x repeat periods.
 * @param[out] t_x recency, in the model's unit.
 * @param[out] age T, in the model's unit.
 * @param[out] mean_spend mean repeat-period amount (0 when x = 0), major units.
 * @param[out] total all purchase amounts counted, major units.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (@p n too small).
 */
CXM_API int cxm_clv_model_customers(const cxm_clv_model *model, size_t n,
                                    uint64_t *hash, double *x, double *t_x,
                                    double *age, double *mean_spend,
                                    double *total);

/**
 * @brief Predictions for every customer, in the model's order (see
 * cxm_clv_customer(); arrays of at least ::CXM_CLV_CUSTOMERS elements, any
 * of them NULL to skip).
 * @param model the model.
 * @param horizon the horizon in the model's unit, >= 0.
 * @param discount discount rate per unit, >= 0.
 * @param n the arrays' length.
 * @param[out] p_alive P(alive).
 * @param[out] expected expected purchases in the horizon.
 * @param[out] spend expected spend per purchase.
 * @param[out] clv predicted CLV.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (@p n too small),
 *   ::CXM_E_RANGE, ::CXM_E_NOMEM.
 */
CXM_API int cxm_clv_predict(const cxm_clv_model *model, double horizon,
                            double discount, size_t n, double *p_alive,
                            double *expected, double *spend, double *clv);

/**
 * @brief Predictions summed over the model's customers holding a segment.
 * @param model the model.
 * @param segment a segment id, or ::CXM_ALL for every customer of the model.
 * @param horizon the horizon in the model's unit, >= 0.
 * @param discount discount rate per unit, >= 0.
 * @param[out] customers customers counted; may be NULL.
 * @param[out] p_alive_mean mean P(alive) (NaN for no customer); may be NULL.
 * @param[out] expected expected purchases in the horizon, summed; may be NULL.
 * @param[out] clv predicted CLV, summed; may be NULL.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (unknown segment),
 *   ::CXM_E_RANGE, ::CXM_E_NOMEM.
 */
CXM_API int cxm_clv_segment(const cxm_clv_model *model, int32_t segment,
                            double horizon, double discount, int64_t *customers,
                            double *p_alive_mean, double *expected,
                            double *clv);

/** @brief Named RFM segments (pinned values; the rule table is in
 *  docs/clv.md and cxm_rfm_scores()). */
typedef enum cxm_rfm_segment {
  CXM_RFM_CHAMPIONS = 1,          /**< R >= 4, F >= 4, M >= 4. */
  CXM_RFM_LOYAL = 2,              /**< R >= 3, F >= 4 (not champions). */
  CXM_RFM_POTENTIAL_LOYALIST = 3, /**< R >= 3, F <= 3 (not new). */
  CXM_RFM_NEW = 4,                /**< R >= 4, F = 1. */
  CXM_RFM_AT_RISK = 5,            /**< R <= 2, F >= 3 (not cannot lose). */
  CXM_RFM_CANNOT_LOSE = 6,        /**< R <= 2, F >= 4, M >= 4. */
  CXM_RFM_HIBERNATING = 7,        /**< R = 2, F <= 2. */
  CXM_RFM_LOST = 8                /**< R = 1, F <= 2. */
} cxm_rfm_segment;

/**
 * @brief RFM quintile scores 1..5 and named segments of the model's
 * customers, in the model's order (arrays of at least ::CXM_CLV_CUSTOMERS
 * elements, any of them NULL to skip).
 *
 * Recency is the time since the last purchase (shorter scores higher),
 * frequency the number of purchase periods, monetary the amount of all
 * purchases. A customer's score is 1 + floor(5 c / n), c the number of
 * customers with a strictly worse value, n the model's customers: ties
 * share a score.
 * @param model the model.
 * @param n the arrays' length.
 * @param[out] r recency scores.
 * @param[out] f frequency scores.
 * @param[out] m monetary scores.
 * @param[out] segment ::cxm_rfm_segment values.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG (@p n too small),
 *   ::CXM_E_NOMEM.
 */
CXM_API int cxm_rfm_scores(const cxm_clv_model *model, size_t n, uint8_t *r,
                           uint8_t *f, uint8_t *m, int32_t *segment);

/** @brief The name of an RFM segment ("champions", "loyal",
 *  "potential_loyalist", "new", "at_risk", "cannot_lose", "hibernating",
 *  "lost"), or NULL if unknown. Static storage.
 *  @param segment a ::cxm_rfm_segment. */
CXM_API const char *cxm_rfm_segment_name(int32_t segment);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Retention, churn, cohorts and formula CLV
 *  With ::CXM_MOD_RETENTION on (the default). Activity is every customer
 *  event except `message_sent` and `churn`. Days are in the handle's UTC
 *  offset and a time "as of T" means the end of T's day (every event of that
 *  day counted). A customer is *active* on day D when its latest activity on
 *  or before D is less than ::CXM_OPT_CHURN_WINDOW_DAYS days old and no
 *  `churn` event came after it up to D; within one day events are unordered
 *  and a `churn` event wins over activity of the same day. A customer is
 *  *churned* on D when it had activity on or before D and is not active.
 *  Counts as of any day are prefix sums of per-day difference arrays: no
 *  query visits customers. Events up to 7 days older than the customer's
 *  newest event are exact whatever their order; older late events (a
 *  lateness bound above 7 days) only change the days from 7 days before the
 *  customer's newest event on.
 *
 *  Scopes: a customer's active and churned days count for the segments it
 *  held at its latest event within 7 days after that day (the segments it
 *  holds now for recent days and the future), and for the channel of its
 *  first activity. Cohorts and new / returning buyers are kept for all
 *  customers only. See docs/retention.md.
 *  @{ */

/**
 * @brief Active and churned customers as of the end of a day.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id (the customers' first-activity channel) or
 *   ::CXM_ALL.
 * @param as_of any time; its day (in the handle's offset) is used.
 * @param[out] active if not NULL, receives the active customers.
 * @param[out] churned if not NULL, receives the churned customers.
 * @return ::CXM_OK, ::CXM_E_NULL (ctx, or both outputs NULL), ::CXM_E_ARG
 *   (unknown segment or channel), ::CXM_E_UNSUPPORTED (module off).
 */
CXM_API int cxm_retention_active(cxm_ctx *ctx, int32_t segment, int32_t channel,
                                 int64_t as_of, int64_t *active,
                                 int64_t *churned);

/**
 * @brief Churn and retention rates from the day of @p t0 to the day of @p t1.
 *
 * Of the customers active as of t0's day (A0 of them), the share still
 * active as of t1's day: retention = kept / A0, churn = 1 - retention. A
 * customer who lapses or churns within the period and is active again at t1
 * is kept; one who becomes active only within the period does not count.
 * Scope of a customer: the channel of its first activity, the segments it
 * holds now (so A0 of a segment may differ from cxm_retention_active() of
 * t0, which counts the segments held then). Exact for any t0 and t1 while
 * events are at most 7 days late (docs/retention.md: later events, merged
 * customers held by both handles, snapshots of 0.2.0). The query visits
 * every customer once and keeps the answer of every scope for the same days
 * until the state changes; it allocates nothing.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param t0 start of the period (its day).
 * @param t1 end of the period (its day, after t0's).
 * @param[out] churn_rate if not NULL: 0..1, NaN when A0 is 0.
 * @param[out] retention_rate if not NULL: 0..1, NaN when A0 is 0.
 * @param[out] n if not NULL, receives A0.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG, ::CXM_E_RANGE (t1's day not
 *   after t0's), ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_retention_rate(cxm_ctx *ctx, int32_t segment, int32_t channel,
                               int64_t t0, int64_t t1, double *churn_rate,
                               double *retention_rate, int64_t *n);

/**
 * @brief Average lifespan of the customers churned as of a day.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param as_of the day of this time.
 * @param[out] avg_days if not NULL: the mean, over customers churned as of
 *   the day, of days from first to last activity; NaN when none.
 * @param[out] estimate_days if not NULL: the expected lifespan
 *   P / churn_rate, P = ::CXM_OPT_RETENTION_PERIOD_DAYS, the churn rate over
 *   the P days ending with the day; NaN when that rate is 0 or undefined.
 * @param[out] n if not NULL, receives the churned customers.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG, ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_retention_lifespan(cxm_ctx *ctx, int32_t segment,
                                   int32_t channel, int64_t as_of,
                                   double *avg_days, double *estimate_days,
                                   int64_t *n);

/**
 * @brief Formula CLV = AOV x purchase frequency x expected lifespan, over
 * the trailing period (P = ::CXM_OPT_RETENTION_PERIOD_DAYS days ending with
 * the day of @p as_of).
 *
 * AOV = revenue / orders of the scope in the period (as cxm_kpi_get(),
 * orders credited to the purchase's channel); frequency = those orders /
 * customers active as of the day (orders per active customer per period);
 * lifespan = 1 / churn rate over the period, in periods.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param as_of the end of the period (its day).
 * @param[out] clv if not NULL: the product, in major units; NaN when a
 *   factor is undefined (no orders, no active customers, churn rate 0).
 * @param[out] aov if not NULL: the AOV factor.
 * @param[out] frequency if not NULL: the frequency factor.
 * @param[out] lifespan_periods if not NULL: the lifespan factor.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG, ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_retention_clv(cxm_ctx *ctx, int32_t segment, int32_t channel,
                              int64_t as_of, double *clv, double *aov,
                              double *frequency, double *lifespan_periods);

/**
 * @brief The months of the cohort matrix.
 *
 * Months are numbered year x 12 + month - 1 (2026-03 is 24314). The matrix
 * spans every month from the earliest first purchase to the latest purchase.
 * @param ctx the handle.
 * @param[out] first_month receives the first month (0 when empty).
 * @param[out] months receives the number of months (0 when no purchase).
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_cohort_span(cxm_ctx *ctx, int32_t *first_month,
                            int32_t *months);

/**
 * @brief One cohort's row: customers whose first purchase is in @p month,
 * and for k = 0, 1, ...: how many purchased in month + k ("on") and how many
 * purchased in month + k or later ("on or after").
 * @param ctx the handle.
 * @param month a month of the span (see cxm_cohort_span()).
 * @param[out] size receives the cohort's customers.
 * @param[out] on receives min(@p cap, *n) counts (caller-owned array).
 * @param[out] on_or_after likewise.
 * @param cap the length of @p on and @p on_or_after (0: only size and n).
 * @param[out] n receives the months from @p month to the span's end.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_RANGE (month outside the span),
 *   ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_cohort_row(cxm_ctx *ctx, int32_t month, int64_t *size,
                           int64_t *on, int64_t *on_or_after, size_t cap,
                           size_t *n);

/**
 * @brief New and returning buyers per day over the window [from, to)
 * (both floored to days): new = customers whose first purchase is on the
 * day; returning = customers with a purchase on the day and an earlier
 * first purchase. Each customer counts at most once per day.
 * @param ctx the handle.
 * @param from, to the window; bounded, within 1970..2105.
 * @param[out] new_buyers receives min(@p cap, *ndays) counts (caller-owned).
 * @param[out] returning likewise.
 * @param cap the length of both arrays (0: only *ndays).
 * @param[out] ndays receives the days in the window.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_RANGE, ::CXM_E_UNSUPPORTED.
 */
CXM_API int cxm_buyers_daily(cxm_ctx *ctx, int64_t from, int64_t to,
                             int64_t *new_buyers, int64_t *returning,
                             size_t cap, size_t *ndays);

/** @} */

/* ------------------------------------------------------------------------ */
/** @name Journey funnel and cross-channel attribution
 *  Kept by the optional modules ::CXM_MOD_FUNNEL and ::CXM_MOD_ATTRIBUTION
 *  as events arrive; queries read them without rescanning events. Both
 *  return ::CXM_E_UNSUPPORTED when their module is off. Definitions:
 *  docs/funnel.md and docs/attribution.md.
 *  @{ */

/** @brief The stages of the journey funnel (pinned values). A stage
 *  reached implies the earlier ones. */
typedef enum cxm_funnel_stage {
  /** A touch, a session or a message_open. */
  CXM_FUNNEL_AWARENESS = 1,
  /** An engage, a message_click, a session with 2+ pageviews or a lead. */
  CXM_FUNNEL_ENGAGEMENT = 2,
  /** The first purchase. */
  CXM_FUNNEL_TRANSACTION = 3,
  /** A second purchase within ::CXM_OPT_FUNNEL_RETENTION_DAYS of the first. */
  CXM_FUNNEL_RETENTION = 4
} cxm_funnel_stage;

/**
 * @brief Customers at a funnel stage in a scope, and the step from the
 * previous stage.
 *
 * A customer counts at every stage up to the furthest it reached (within
 * ::CXM_OPT_FUNNEL_WINDOW_DAYS of its first stage when that option is not
 * 0), in the segments it holds now and in the channel of its first stage,
 * so that a stage never has more customers than the one before.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param stage a ::cxm_funnel_stage.
 * @param[out] customers if not NULL: customers at or past the stage.
 * @param[out] conversion if not NULL: customers at the stage / customers at
 *   the previous stage; NaN for awareness or when the previous has none.
 * @param[out] dropped if not NULL: customers at the previous stage who did
 *   not reach this one (0 for awareness).
 * @return ::CXM_OK, ::CXM_E_NULL (no handle), ::CXM_E_ARG (unknown stage,
 *   segment or channel), ::CXM_E_UNSUPPORTED (module off).
 */
CXM_API int cxm_funnel_get(cxm_ctx *ctx, int32_t segment, int32_t channel,
                           int32_t stage, int64_t *customers,
                           double *conversion, int64_t *dropped);

/**
 * @brief A quantile of the time from the previous stage to @p stage, in
 * days, over the customers who reached the previous stage by an event of
 * its own and then @p stage (credited to the segments held at the step).
 *
 * From a sketch of fixed logarithmic buckets: the value returned lies in
 * the same bucket as the exact sample of rank max(1, ceil(q n)) (no rank
 * error at bucket resolution), and within 1/64 (1.6%) of that sample.
 * Sketches merge by adding counts, so merged shards give exactly the
 * figures of the whole stream.
 * @param ctx the handle.
 * @param segment a segment id or ::CXM_ALL.
 * @param channel a channel id or ::CXM_ALL.
 * @param stage a ::cxm_funnel_stage; awareness has no previous stage (n 0).
 * @param q the quantile, 0..1 (0.5 the median, 0.9 the p90).
 * @param[out] days receives the quantile in days; NaN when n is 0.
 * @param[out] n if not NULL: the number of timed steps.
 * @return ::CXM_OK, ::CXM_E_NULL, ::CXM_E_ARG, ::CXM_E_RANGE (@p q outside
 *   0..1), ::CXM_E_UNSUPPORTED (module off).
 */
CXM_API int cxm_funnel_days(cxm_ctx *ctx, int32_t segment, int32_t channel,
                            int32_t stage, double q, double *days, int64_t *n);

/** @brief Attribution models (pinned values). */
typedef enum cxm_attribution_model {
  CXM_ATTR_FIRST_TOUCH = 1,   /**< All credit to the earliest touch. */
  CXM_ATTR_LAST_TOUCH = 2,    /**< All credit to the latest touch. */
  CXM_ATTR_LINEAR = 3,        /**< Equal shares to every touch. */
  CXM_ATTR_TIME_DECAY = 4,    /**< Shares proportional to 2^(-age / half-life),
                                   ::CXM_OPT_HALF_LIFE_DAYS. */
  CXM_ATTR_POSITION_BASED = 5 /**< 40% first, 40% last, 20% shared by the
                                   others; one touch: all; two: half each. */
} cxm_attribution_model;

/** @brief The channel argument of the attribution queries that selects the
 *  credit of touches, and of purchases without touches, that had no
 *  channel. */
#define CXM_CREDIT_NO_CHANNEL (-2)

/** @brief The report key of an attribution model ("first_touch",
 *  "last_touch", "linear", "time_decay", "position_based"), a static
 *  string; NULL if unknown. */
CXM_API const char *cxm_attribution_model_name(int model);

/**
 * @brief Orders and revenue attributed to a channel under a model, and the
 * ROAS.
 *
 * Every purchase credits 1 order and its amount to the channels of the
 * customer's touches (touch, session, message_click, engage) at or before
 * it within ::CXM_OPT_LOOKBACK_DAYS, of the ::CXM_OPT_TOUCHES_KEPT most
 * recent touches kept per customer; with no such touch, to its own channel.
 * @param ctx the handle.
 * @param model a ::cxm_attribution_model.
 * @param channel a channel id, ::CXM_ALL (every credit: all orders and
 *   revenue) or ::CXM_CREDIT_NO_CHANNEL.
 * @param[out] orders if not NULL: attributed orders (fractional).
 * @param[out] revenue if not NULL: attributed revenue, major units.
 * @param[out] roas if not NULL: attributed revenue / spend of the channel
 *   (all-time; for ::CXM_ALL all spend); NaN without spend and for
 *   ::CXM_CREDIT_NO_CHANNEL.
 * @return ::CXM_OK, ::CXM_E_NULL (no handle), ::CXM_E_ARG (unknown model or
 *   channel), ::CXM_E_UNSUPPORTED (module off).
 */
CXM_API int cxm_attribution_get(cxm_ctx *ctx, int model, int32_t channel,
                                double *orders, double *revenue, double *roas);

/**
 * @brief The exact fixed-point sums behind cxm_attribution_get(): integer
 * and independent of the order of events and of merges.
 * @param ctx the handle.
 * @param model a ::cxm_attribution_model.
 * @param channel as in cxm_attribution_get().
 * @param[out] orders_e9 if not NULL: attributed orders in units of 10^-9
 *   order (each purchase's credits sum to exactly 10^9).
 * @param[out] revenue_minor if not NULL: attributed revenue, whole minor
 *   units.
 * @param[out] revenue_minor_e9 if not NULL: plus this many 10^-9 minor
 *   units, 0..999999999.
 * @return as cxm_attribution_get().
 */
CXM_API int cxm_attribution_get_fixed(cxm_ctx *ctx, int model, int32_t channel,
                                      int64_t *orders_e9,
                                      int64_t *revenue_minor,
                                      int64_t *revenue_minor_e9);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* CXMETRICS_H */
