"""cxmetrics: Python binding of libcxmetrics, through ctypes only.

libcxmetrics keeps incremental customer-experience KPIs (NPS, CSAT, CES,
revenue, AOV, buyers, CAC/CPL/CPA, bounce rate, ...) per segment, per channel
and per segment x channel, over event streams.  This module is a single file
with no compiled part: it loads the shared library and declares every
function of ``include/cxmetrics.h`` for ctypes.

Finding the library: the environment variable ``CXMETRICS_LIB`` (a path to
the shared object) when set, else the installed SONAME ``libcxmetrics.so.0``,
else whatever ``ctypes.util.find_library("cxmetrics")`` finds.  The library
is loaded on first use (or by :func:`load`), and its major version must be
the one this module was written for.

Quick tour::

    import cxmetrics
    with cxmetrics.Metrics(utc_offset="+07:00") as m:
        m.add_event("2024-05-01T10:00:00Z", "nps", "ana@example.com",
                    channel="email", value=9, segments=["tier=gold"])
        m.add_event(1714557600, "purchase", "ana@example.com", "web", 19.99)
        m.kpi("nps")                      # 100.0
        m.kpi("aov", channel="web")       # 19.99
        m.kpi_int("revenue")              # 1999 (minor units, exact)
        m.ingest_csv(b"time,customer,type,value\\n...")
        m.report()                        # dict, shaped like `cxm report --format json`

NumPy is needed only by the column path (:meth:`Metrics.add_events`,
:meth:`Metrics.add_events_df`); pandas only when you pass pandas objects.

A :class:`Metrics` object is used by one thread at a time (the library's
handle rule); distinct objects may be used from different threads.
"""

import collections
import ctypes
import ctypes.util
import datetime as _dt
import decimal
import enum
import math
import os
import re
import sys
import threading

try:  # NumPy is optional: only the column path needs it.
    import numpy as _np
except ImportError:  # pragma: no cover - exercised only without NumPy
    _np = None

__all__ = [
    "Metrics", "BatchResult", "CsvResult", "RejectedLine",
    "Status", "Option", "EventType", "Kpi", "Stat", "NpsCategory",
    "WatchDirection",
    "CxmError", "OutOfMemoryError", "NullArgumentError", "RangeError",
    "UnknownTypeError", "ParseError", "StateError", "LimitError",
    "LateEventError", "NotFoundError", "CxmIOError", "CorruptError",
    "VersionError", "MismatchError", "UnsupportedError", "ArgumentError",
    "MissingError", "NoSpaceError", "AccessError", "SyncError",
    "load", "library", "version", "version_number", "strerror",
    "read_key_file", "SNAPSHOT_EMBED_KEY",
    "event_type_name", "kpi_name", "REPORT_KPIS",
    "FUNNEL_STAGES", "ATTRIBUTION_MODELS", "CREDIT_NO_CHANNEL",
]

#: Major version of the C API this module was written for.
EXPECTED_MAJOR = 0
#: Oldest library version (as cxm_version_number()) with every function used.
MIN_VERSION_NUMBER = 100
#: The installed shared object, with its ABI major version.
SONAME = "libcxmetrics.so.0"
#: Environment variable naming the shared object to load instead.
ENV_VAR = "CXMETRICS_LIB"

# Constants of the header.
KEY_SIZE = 16
LABEL_MAX = 64
CHANNELS_MAX = 255
SEGMENTS_MAX = 1024
SEGMENTS_PER_CUSTOMER_MAX = 8
SEGSETS_MAX = 1048576
ALL = -1
#: Funnel stages (``cxm_funnel_stage`` 1..4), as the report's keys.
FUNNEL_STAGES = ("awareness", "engagement", "transaction", "retention")
#: Attribution models (``cxm_attribution_model`` 1..5), as the report's keys.
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "time_decay",
                      "position_based")
#: Channel argument of the attribution queries: credit without a channel.
CREDIT_NO_CHANNEL = -2
#: Bits of the CXM_OPT_MODULES option (``cxm_module``).
MODULE_FUNNEL = 2
MODULE_ATTRIBUTION = 4
_OPT_MODULES = 4  # CXM_OPT_MODULES
NO_CHANNEL = -1
TIME_FIRST = 0
TIME_LAST = 4291747199
TIME_MIN = -(2 ** 63)
TIME_MAX = 2 ** 63 - 1
#: Flag of :meth:`Metrics.save` / :meth:`Metrics.to_bytes`: store the key.
SNAPSHOT_EMBED_KEY = 1
#: Bytes in a stream position, at most.
POSITION_MAX = 65536


# --------------------------------------------------------------------------
# Enumerations (pinned values, as in the header)

class Status(enum.IntEnum):
    """Status codes (``cxm_status``)."""
    OK = 0
    NOMEM = 1
    NULL = 2
    RANGE = 3
    TYPE = 4
    PARSE = 5
    STATE = 6
    LIMIT = 7
    LATE = 8
    NOTFOUND = 9
    IO = 10
    CORRUPT = 11
    VERSION = 12
    MISMATCH = 13
    UNSUPPORTED = 14
    ARG = 15
    MISSING = 16
    NOSPACE = 17
    ACCESS = 18
    SYNC = 19


class Option(enum.IntEnum):
    """Option keys (``cxm_option``)."""
    UTC_OFFSET = 1
    DECIMALS = 2
    MAX_LATENESS = 3


class EventType(enum.IntEnum):
    """Event types (``cxm_event_type``); names as in the CSV ``type`` column."""
    TOUCH = 1
    SESSION = 2
    ENGAGE = 3
    MESSAGE_SENT = 4
    MESSAGE_OPEN = 5
    MESSAGE_CLICK = 6
    LEAD = 7
    PURCHASE = 8
    REFUND = 9
    SPEND = 10
    NPS = 11
    CSAT = 12
    CES = 13
    CHURN = 14


class Kpi(enum.IntEnum):
    """KPI ids (``cxm_kpi``); names as the report keys."""
    NPS = 1
    NPS_MOE95 = 2
    NPS_PROMOTERS = 3
    NPS_PASSIVES = 4
    NPS_DETRACTORS = 5
    CSAT = 6
    CSAT_MEAN = 7
    CES = 8
    REVENUE = 9
    REFUNDS = 10
    NET_REVENUE = 11
    ORDERS = 12
    BUYERS = 13
    AOV = 14
    PURCHASE_FREQUENCY = 15
    REPEAT_PURCHASE_RATE = 16
    CLV_HISTORICAL = 17
    LEAD_CONVERSION_RATE = 18
    SESSIONS = 19
    BOUNCE_RATE = 20
    ENGAGED_SESSION_RATE = 21
    ENGAGEMENT_RATE = 22
    OPEN_RATE = 23
    CLICK_RATE = 24
    CLICK_TO_OPEN_RATE = 25
    SPEND = 26
    CPL = 27
    CPA = 28
    CAC = 29
    LEADS = 30
    NEW_BUYERS = 31
    MESSAGES_SENT = 32
    MESSAGES_OPENED = 33
    MESSAGES_CLICKED = 34
    INTERACTIONS = 35
    EVENTS = 36


class Stat(enum.IntEnum):
    """Statistic keys (``cxm_stat``)."""
    EVENTS_ACCEPTED = 1
    EVENTS_REJECTED = 2
    EVENTS_LATE = 3
    CUSTOMERS = 4
    MEMORY_BYTES = 5
    FIRST_TIME = 6
    LAST_TIME = 7


class NpsCategory(enum.IntEnum):
    """A customer's category by its latest NPS answer (``cxm_nps_category``)."""
    DETRACTOR = 1
    PASSIVE = 2
    PROMOTER = 3


class WatchDirection(enum.IntEnum):
    """The side of a threshold a watch alerts on (``cxm_watch_direction``)."""
    ABOVE = 1
    BELOW = 2


#: The KPIs of a report, in the order of `cxm report --format json`.
REPORT_KPIS = (
    Kpi.NPS, Kpi.CSAT, Kpi.CSAT_MEAN, Kpi.CES,
    Kpi.REVENUE, Kpi.REFUNDS, Kpi.NET_REVENUE, Kpi.ORDERS, Kpi.BUYERS,
    Kpi.AOV, Kpi.PURCHASE_FREQUENCY, Kpi.REPEAT_PURCHASE_RATE,
    Kpi.CLV_HISTORICAL, Kpi.LEAD_CONVERSION_RATE,
    Kpi.SESSIONS, Kpi.BOUNCE_RATE, Kpi.ENGAGED_SESSION_RATE,
    Kpi.ENGAGEMENT_RATE, Kpi.OPEN_RATE, Kpi.CLICK_RATE,
    Kpi.CLICK_TO_OPEN_RATE,
    Kpi.SPEND, Kpi.CPL, Kpi.CPA, Kpi.CAC,
)

# Counts and sums: exact through cxm_kpi_get_int(). The rest are ratios.
_INT_KPIS = frozenset((
    Kpi.NPS_PROMOTERS, Kpi.NPS_PASSIVES, Kpi.NPS_DETRACTORS,
    Kpi.REVENUE, Kpi.REFUNDS, Kpi.NET_REVENUE, Kpi.ORDERS, Kpi.BUYERS,
    Kpi.SESSIONS, Kpi.SPEND, Kpi.LEADS, Kpi.NEW_BUYERS, Kpi.MESSAGES_SENT,
    Kpi.MESSAGES_OPENED, Kpi.MESSAGES_CLICKED, Kpi.INTERACTIONS, Kpi.EVENTS,
))


# --------------------------------------------------------------------------
# Exceptions

class CxmError(Exception):
    """A call of the library failed.

    ``status`` is the library's status code (a :class:`Status`), ``message``
    the handle's message for it (``cxm_ctx_errmsg``), or the status's
    description (``cxm_strerror``) when the call had no handle.
    """
    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            try:
                self.status = Status(status)
            except ValueError:
                self.status = status


class OutOfMemoryError(CxmError, MemoryError):
    """CXM_E_NOMEM: an allocation failed; no state was changed."""
    status = Status.NOMEM


class NullArgumentError(CxmError):
    """CXM_E_NULL: a required pointer was NULL (a bug of this module)."""
    status = Status.NULL


class RangeError(CxmError, ValueError):
    """CXM_E_RANGE: a number is out of its documented range."""
    status = Status.RANGE


class UnknownTypeError(CxmError, ValueError):
    """CXM_E_TYPE: unknown event type."""
    status = Status.TYPE


class ParseError(CxmError, ValueError):
    """CXM_E_PARSE: malformed input (CSV header, time, number)."""
    status = Status.PARSE


class StateError(CxmError):
    """CXM_E_STATE: not allowed in the handle's current state."""
    status = Status.STATE


class LimitError(CxmError):
    """CXM_E_LIMIT: a documented limit was reached."""
    status = Status.LIMIT


class LateEventError(CxmError, ValueError):
    """CXM_E_LATE: the event is older than the lateness bound."""
    status = Status.LATE


class NotFoundError(CxmError, LookupError):
    """CXM_E_NOTFOUND: no such label, customer or id."""
    status = Status.NOTFOUND


class CxmIOError(CxmError):
    """CXM_E_IO: a read or write failed."""
    status = Status.IO


class CorruptError(CxmError):
    """CXM_E_CORRUPT: corrupt or truncated serialized state."""
    status = Status.CORRUPT


class VersionError(CxmError):
    """CXM_E_VERSION (or a library of the wrong version)."""
    status = Status.VERSION


class MismatchError(CxmError):
    """CXM_E_MISMATCH: incompatible handles or wrong key."""
    status = Status.MISMATCH


class UnsupportedError(CxmError):
    """CXM_E_UNSUPPORTED: the operation does not apply here."""
    status = Status.UNSUPPORTED


class ArgumentError(CxmError, ValueError):
    """CXM_E_ARG: an argument is invalid (unknown id, bad size)."""
    status = Status.ARG


class MissingError(CxmError, ValueError):
    """CXM_E_MISSING: a required value is absent (customer id, amount)."""
    status = Status.MISSING


class NoSpaceError(CxmError):
    """CXM_E_NOSPACE: the disk or quota is full; the previous snapshot
    file is intact."""
    status = Status.NOSPACE


class AccessError(CxmError):
    """CXM_E_ACCESS: permission denied or read-only file system."""
    status = Status.ACCESS


class SyncError(CxmError):
    """CXM_E_SYNC: flushing written data to disk (fsync) failed."""
    status = Status.SYNC


_ERROR_CLASSES = {cls.status: cls for cls in (
    OutOfMemoryError, NullArgumentError, RangeError, UnknownTypeError,
    ParseError, StateError, LimitError, LateEventError, NotFoundError,
    CxmIOError, CorruptError, VersionError, MismatchError, UnsupportedError,
    ArgumentError, MissingError, NoSpaceError, AccessError, SyncError)}


def _make_error(status, message):
    """The exception for a status code, with the given message (or the
    status's description when the message is empty)."""
    if not message:
        message = strerror(status)
    return _ERROR_CLASSES.get(status, CxmError)(message, status)


# --------------------------------------------------------------------------
# Loading and declaring the library

_i32p = ctypes.POINTER(ctypes.c_int32)
_i64p = ctypes.POINTER(ctypes.c_int64)
_u64p = ctypes.POINTER(ctypes.c_uint64)
_f64p = ctypes.POINTER(ctypes.c_double)
_szp = ctypes.POINTER(ctypes.c_size_t)
_intp = ctypes.POINTER(ctypes.c_int)
_vpp = ctypes.POINTER(ctypes.c_void_p)
_u8p = ctypes.POINTER(ctypes.c_uint8)
_ctx = ctypes.c_void_p     # cxm_ctx *
_csv = ctypes.c_void_p     # cxm_csv *
_buf = ctypes.c_char_p     # const void * / const char * with a length: bytes, no copy

MALLOC_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
REALLOC_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.c_size_t)
FREE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
CSV_ERROR_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64,
                                ctypes.c_int, ctypes.c_char_p)

# Monitoring callbacks (docs/monitoring.md).
DETRACTOR_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64,
                                ctypes.c_int32, ctypes.c_int32, ctypes.c_int64)
WATCH_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32,
                            ctypes.c_int32, ctypes.c_double, ctypes.c_int64,
                            ctypes.c_int64)

# How a failing status is turned into an exception:
_CTX = "ctx"      # the first argument is a handle: message from cxm_ctx_errmsg
_PLAIN = "plain"  # no handle: message from cxm_strerror
_RAW = None       # not checked here (the caller looks at the status)

# Every function of include/cxmetrics.h: name, restype, argtypes, check.
_PROTOTYPES = (
    ("cxm_version_number", ctypes.c_int, (), _RAW),
    ("cxm_version_string", ctypes.c_char_p, (), _RAW),
    ("cxm_strerror", ctypes.c_char_p, (ctypes.c_int,), _RAW),
    ("cxm_ctx_create", ctypes.c_int, (_vpp,), _PLAIN),
    ("cxm_ctx_create_with_allocator", ctypes.c_int,
     (_vpp, MALLOC_FN, REALLOC_FN, FREE_FN, ctypes.c_void_p), _PLAIN),
    ("cxm_ctx_destroy", None, (_ctx,), _RAW),
    ("cxm_ctx_errmsg", ctypes.c_char_p, (_ctx,), _RAW),
    ("cxm_ctx_errcode", ctypes.c_int, (_ctx,), _RAW),
    ("cxm_option_set", ctypes.c_int, (_ctx, ctypes.c_int, ctypes.c_int64), _CTX),
    ("cxm_option_get", ctypes.c_int, (_ctx, ctypes.c_int, _i64p), _CTX),
    ("cxm_option_bounds", ctypes.c_int, (ctypes.c_int, _i64p, _i64p, _i64p),
     _PLAIN),
    ("cxm_key_set", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t), _CTX),
    ("cxm_customer_hash", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t, _u64p),
     _CTX),
    ("cxm_channel_intern", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t, _i32p),
     _CTX),
    ("cxm_channel_find", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t, _i32p),
     _RAW),
    ("cxm_channel_count", ctypes.c_int, (_ctx, _i32p), _CTX),
    ("cxm_channel_label", ctypes.c_int, (_ctx, ctypes.c_int32, _vpp, _szp),
     _CTX),
    ("cxm_segment_intern", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t, _i32p),
     _CTX),
    ("cxm_segment_find", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t, _i32p),
     _RAW),
    ("cxm_segment_count", ctypes.c_int, (_ctx, _i32p), _CTX),
    ("cxm_segment_label", ctypes.c_int, (_ctx, ctypes.c_int32, _vpp, _szp),
     _CTX),
    ("cxm_segset_intern", ctypes.c_int, (_ctx, _i32p, ctypes.c_size_t, _i32p),
     _CTX),
    ("cxm_customer_set_segments", ctypes.c_int,
     (_ctx, _buf, ctypes.c_size_t, ctypes.c_int32), _CTX),
    ("cxm_event_type_from_name", ctypes.c_int,
     (_buf, ctypes.c_size_t, _i32p), _RAW),
    ("cxm_event_type_name", ctypes.c_char_p, (ctypes.c_int32,), _RAW),
    ("cxm_event_add", ctypes.c_int,
     (_ctx, ctypes.c_int64, ctypes.c_int32, _buf, ctypes.c_size_t,
      ctypes.c_int32, ctypes.c_double, ctypes.c_double), _CTX),
    ("cxm_events_add", ctypes.c_int,
     (_ctx, ctypes.c_size_t, _i64p, _i32p, _u8p, _i64p, _i32p, _f64p, _f64p,
      _i32p, _szp, _i32p), _RAW),
    ("cxm_kpi_max", ctypes.c_int, (), _RAW),
    ("cxm_kpi_name", ctypes.c_char_p, (ctypes.c_int,), _RAW),
    ("cxm_kpi_from_name", ctypes.c_int, (_buf, ctypes.c_size_t, _intp), _RAW),
    ("cxm_kpi_is_customer_level", ctypes.c_int, (ctypes.c_int,), _RAW),
    ("cxm_kpi_is_money", ctypes.c_int, (ctypes.c_int,), _RAW),
    ("cxm_kpi_get", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64,
      ctypes.c_int64, _f64p, _i64p), _CTX),
    ("cxm_kpi_get_int", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64,
      ctypes.c_int64, _i64p, _i64p), _CTX),
    ("cxm_window_trailing", ctypes.c_int,
     (_ctx, ctypes.c_int64, ctypes.c_int32, _i64p, _i64p), _CTX),
    ("cxm_time_day", ctypes.c_int, (_ctx, ctypes.c_int64, _i64p), _CTX),
    ("cxm_stat_get", ctypes.c_int, (_ctx, ctypes.c_int, _i64p), _CTX),
    ("cxm_csv_create", ctypes.c_int, (_ctx, _vpp), _CTX),
    ("cxm_csv_destroy", None, (_csv,), _RAW),
    ("cxm_csv_set_error_handler", ctypes.c_int,
     (_csv, CSV_ERROR_FN, ctypes.c_void_p), _RAW),
    ("cxm_csv_feed", ctypes.c_int, (_csv, _buf, ctypes.c_size_t), _RAW),
    ("cxm_csv_finish", ctypes.c_int, (_csv,), _RAW),
    ("cxm_csv_stats", ctypes.c_int, (_csv, _u64p, _u64p, _u64p), _RAW),
    ("cxm_csv_feed_file", ctypes.c_int, (_csv, ctypes.c_char_p), _RAW),
    ("cxm_time_parse", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t, _i64p),
     _RAW),
    ("cxm_funnel_get", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, _i64p, _f64p,
      _i64p), _CTX),
    ("cxm_funnel_days", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.c_double,
      _f64p, _i64p), _CTX),
    ("cxm_attribution_model_name", ctypes.c_char_p, (ctypes.c_int,), _RAW),
    ("cxm_attribution_get", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, _f64p, _f64p, _f64p), _CTX),
    ("cxm_attribution_get_fixed", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, _i64p, _i64p, _i64p), _CTX),
    # Snapshots and merge
    ("cxm_snapshot_save_file", ctypes.c_int,
     (_ctx, ctypes.c_char_p, ctypes.c_uint32), _CTX),
    ("cxm_snapshot_save_buffer", ctypes.c_int,
     (_ctx, ctypes.c_uint32, _vpp, _szp), _CTX),
    ("cxm_buffer_free", None, (_ctx, ctypes.c_void_p, ctypes.c_size_t), _RAW),
    ("cxm_snapshot_load_buffer", ctypes.c_int,
     (_ctx, _buf, ctypes.c_size_t), _CTX),
    ("cxm_snapshot_load_file", ctypes.c_int, (_ctx, ctypes.c_char_p), _CTX),
    ("cxm_position_set", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t), _CTX),
    ("cxm_position_get", ctypes.c_int, (_ctx, _vpp, _szp), _CTX),
    ("cxm_key_fingerprint", ctypes.c_int, (_ctx, _u64p), _CTX),
    ("cxm_key_known", ctypes.c_int, (_ctx, _i32p), _CTX),
    ("cxm_ctx_merge", ctypes.c_int, (_ctx, _ctx), _CTX),
)

# Predictive CLV (docs/clv.md)
_clv = ctypes.c_void_p     # cxm_clv_model *
_PROTOTYPES = _PROTOTYPES + (
    ("cxm_clv_fit", ctypes.c_int,
     (_ctx, ctypes.c_int64, ctypes.c_int32, ctypes.c_int32, ctypes.c_double,
      _vpp), _CTX),
    ("cxm_clv_model_destroy", None, (_clv,), _RAW),
    ("cxm_clv_model_get", ctypes.c_int, (_clv, ctypes.c_int32, _f64p), _RAW),
    ("cxm_clv_customer", ctypes.c_int,
     (_clv, _buf, ctypes.c_size_t, ctypes.c_double, ctypes.c_double, _f64p,
      _f64p, _f64p, _f64p), _RAW),
    ("cxm_clv_model_customers", ctypes.c_int,
     (_clv, ctypes.c_size_t, _u64p, _f64p, _f64p, _f64p, _f64p, _f64p), _RAW),
    ("cxm_clv_predict", ctypes.c_int,
     (_clv, ctypes.c_double, ctypes.c_double, ctypes.c_size_t, _f64p, _f64p,
      _f64p, _f64p), _RAW),
    ("cxm_clv_segment", ctypes.c_int,
     (_clv, ctypes.c_int32, ctypes.c_double, ctypes.c_double, _i64p, _f64p,
      _f64p, _f64p), _RAW),
    ("cxm_rfm_scores", ctypes.c_int,
     (_clv, ctypes.c_size_t, _u8p, _u8p, _u8p, _i32p), _RAW),
    ("cxm_rfm_segment_name", ctypes.c_char_p, (ctypes.c_int32,), _RAW),
    ("cxm_detractor_callback_set", ctypes.c_int,
     (_ctx, DETRACTOR_FN, ctypes.c_void_p), _CTX),
    ("cxm_watch_add", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32,
      ctypes.c_int32, ctypes.c_double, ctypes.c_double, ctypes.c_int64,
      WATCH_FN, ctypes.c_void_p, _i32p), _CTX),
    ("cxm_watch_remove", ctypes.c_int, (_ctx, ctypes.c_int32), _CTX),
    ("cxm_watch_get", ctypes.c_int,
     (_ctx, ctypes.c_int32, _i32p, _f64p, _i64p), _CTX),
    ("cxm_benchmark_set", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_double),
     _CTX),
    ("cxm_benchmark_gap", ctypes.c_int,
     (_ctx, ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64,
      ctypes.c_int64, _f64p, _f64p, _f64p, _i64p), _CTX),
    ("cxm_customers_by_nps", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_uint64, _u64p,
      ctypes.c_size_t, _szp, _u64p), _CTX),
    ("cxm_customer_erase", ctypes.c_int, (_ctx, _buf, ctypes.c_size_t), _CTX),
)


# Retention module (docs/retention.md)
_PROTOTYPES = _PROTOTYPES + (
    ("cxm_retention_active", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64, _i64p, _i64p), _CTX),
    ("cxm_retention_rate", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
      _f64p, _f64p, _i64p), _CTX),
    ("cxm_retention_lifespan", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64, _f64p, _f64p,
      _i64p), _CTX),
    ("cxm_retention_clv", ctypes.c_int,
     (_ctx, ctypes.c_int32, ctypes.c_int32, ctypes.c_int64, _f64p, _f64p,
      _f64p, _f64p), _CTX),
    ("cxm_cohort_span", ctypes.c_int, (_ctx, _i32p, _i32p), _CTX),
    ("cxm_cohort_row", ctypes.c_int,
     (_ctx, ctypes.c_int32, _i64p, _i64p, _i64p, ctypes.c_size_t, _szp), _CTX),
    ("cxm_buyers_daily", ctypes.c_int,
     (_ctx, ctypes.c_int64, ctypes.c_int64, _i64p, _i64p, ctypes.c_size_t,
      _szp), _CTX),
)


def _declare(lib):
    """Declare argtypes, restype and errcheck of every function on ``lib``."""
    errmsg = lib.cxm_ctx_errmsg
    errmsg.restype = ctypes.c_char_p
    errmsg.argtypes = (_ctx,)
    strerr = lib.cxm_strerror
    strerr.restype = ctypes.c_char_p
    strerr.argtypes = (ctypes.c_int,)

    def check_ctx(result, func, args):
        if result != 0:
            raw = errmsg(args[0])
            raise _make_error(result, raw.decode("utf-8", "replace") if raw else "")
        return result

    def check_plain(result, func, args):
        if result != 0:
            raw = strerr(result)
            raise _make_error(result, raw.decode("utf-8", "replace") if raw else "")
        return result

    checks = {_CTX: check_ctx, _PLAIN: check_plain}
    missing = []
    for name, restype, argtypes, check in _PROTOTYPES:
        try:
            func = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        func.restype = restype
        func.argtypes = argtypes
        if check is not None:
            func.errcheck = checks[check]
    if missing:
        raise VersionError("the library lacks " + ", ".join(missing),
                           Status.VERSION)
    return lib


_lib = None
_lib_lock = threading.Lock()


def load(path=None):
    """Load (once) and return the library.

    ``path`` overrides the search; otherwise ``$CXMETRICS_LIB``, then the
    SONAME ``libcxmetrics.so.0``, then ``ctypes.util.find_library``.
    Raises OSError when it cannot be found, :class:`VersionError` when its
    major version is not :data:`EXPECTED_MAJOR`.
    """
    global _lib
    with _lib_lock:
        if _lib is not None and path is None:
            return _lib
        tried = []
        lib = None
        candidates = []
        if path is not None:
            candidates.append(os.fspath(path))
        elif os.environ.get(ENV_VAR):
            candidates.append(os.environ[ENV_VAR])
        else:
            candidates.append(SONAME)
            found = ctypes.util.find_library("cxmetrics")
            if found:
                candidates.append(found)
        for cand in candidates:
            try:
                lib = ctypes.CDLL(cand)
                break
            except OSError as exc:
                tried.append("%s (%s)" % (cand, exc))
        if lib is None:
            raise OSError("libcxmetrics not found; tried " + "; ".join(tried)
                          + ". Install it, or set %s to the path of "
                          "libcxmetrics.so.0." % ENV_VAR)
        number = _version_of(lib)
        if number // 10000 != EXPECTED_MAJOR or number < MIN_VERSION_NUMBER:
            raise VersionError(
                "libcxmetrics %d.%d.%d loaded from %s; this module needs "
                "%d.x (>= %d.%d)" % (number // 10000, number // 100 % 100,
                                     number % 100, cand, EXPECTED_MAJOR,
                                     MIN_VERSION_NUMBER // 10000,
                                     MIN_VERSION_NUMBER // 100 % 100),
                Status.VERSION)
        _declare(lib)
        _lib = lib
        return lib


def _version_of(lib):
    f = lib.cxm_version_number
    f.restype = ctypes.c_int
    f.argtypes = ()
    return f()


def library():
    """The loaded ``ctypes.CDLL`` (loading it if needed)."""
    return _lib if _lib is not None else load()


def version():
    """The library's version string, e.g. ``"0.1.0"``."""
    return library().cxm_version_string().decode("ascii")


def version_number():
    """The library's version as major * 10000 + minor * 100 + patch."""
    return library().cxm_version_number()


def strerror(status):
    """The library's description of a status code."""
    raw = library().cxm_strerror(int(status))
    return raw.decode("utf-8", "replace") if raw else "status %d" % status


def event_type_name(type_):
    """The name of an event type (``"purchase"``), or None if unknown."""
    raw = library().cxm_event_type_name(int(type_))
    return raw.decode("ascii") if raw else None


def kpi_name(kpi):
    """The report key of a KPI (``"aov"``), or None if unknown."""
    raw = library().cxm_kpi_name(int(kpi))
    return raw.decode("ascii") if raw else None


# --------------------------------------------------------------------------
# Conversions

def _to_bytes(x, what):
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    if _np is not None and isinstance(x, _np.generic):
        return _to_bytes(x.item(), what)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(x).__name__))


def _is_missing(x):
    """None, NaN, pandas NA/NaT."""
    if x is None:
        return True
    if isinstance(x, float):
        return x != x
    name = type(x).__name__
    if name in ("NAType", "NaTType"):
        return True
    if _np is not None and isinstance(x, _np.floating):
        return bool(x != x)
    return False


_OFFSET_RE = re.compile(r"^(?:([+-])(\d{1,2})(?::?(\d{2}))?|Z|UTC)$")


def parse_utc_offset(value):
    """Seconds east of UTC from an int, a timedelta, or "+hh:mm"/"-hhmm"/"Z"."""
    if isinstance(value, _dt.timedelta):
        return int(value.total_seconds())
    if isinstance(value, str):
        m = _OFFSET_RE.match(value.strip())
        if not m:
            raise ValueError("bad UTC offset %r (expected +hh:mm)" % value)
        if m.group(1) is None:
            return 0
        secs = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60
        return -secs if m.group(1) == "-" else secs
    if isinstance(value, bool):
        raise TypeError("bad UTC offset %r" % (value,))
    return int(value)


def _format_offset(secs):
    sign = "-" if secs < 0 else "+"
    a = abs(secs)
    return "%s%02d:%02d" % (sign, a // 3600, a % 3600 // 60)


_EPOCH = _dt.datetime(1970, 1, 1)


class BatchResult(tuple):
    """What :meth:`Metrics.add_events` returns: a tuple ``(accepted,
    statuses)`` (statuses: an int32 NumPy array, one code per event, 0 =
    accepted), with ``n``, ``rejected`` (indices of the rejected events) and
    ``message`` (the library's message for the first rejected event, "" when
    none was)."""

    def __new__(cls, accepted, statuses, message=""):
        self = tuple.__new__(cls, (accepted, statuses))
        self.message = message
        return self

    accepted = property(lambda self: self[0])
    statuses = property(lambda self: self[1])
    n = property(lambda self: len(self[1]))

    @property
    def rejected(self):
        """Indices of the rejected events (int64 NumPy array)."""
        return _np.flatnonzero(self[1])

    def __repr__(self):
        return "BatchResult(accepted=%d, rejected=%d)" % (
            self[0], len(self[1]) - self[0])


class RejectedLine(collections.namedtuple("RejectedLine", "line message")):
    """A CSV line the reader rejected: 1-based physical line number, the
    library's message; ``status`` is the status code."""

    def __new__(cls, line, message, status=Status.PARSE):
        self = super().__new__(cls, line, message)
        self.status = status
        return self


class CsvResult(tuple):
    """What :meth:`Metrics.ingest_csv` returns: a tuple ``(lines, accepted,
    rejected)`` (counts of data lines), with ``errors``, the list of
    :class:`RejectedLine` ``(line, message)``."""

    def __new__(cls, lines, accepted, rejected, errors):
        self = tuple.__new__(cls, (lines, accepted, rejected))
        self.errors = errors
        return self

    lines = property(lambda self: self[0])
    accepted = property(lambda self: self[1])
    rejected = property(lambda self: self[2])

    def __repr__(self):
        return "CsvResult(lines=%d, accepted=%d, rejected=%d)" % self


# --------------------------------------------------------------------------
# The handle

class Metrics:
    """A libcxmetrics handle: events in, KPIs out.

    Options (each also a settable attribute):

    - ``utc_offset``: the offset of the handle's days from UTC, in seconds,
      or as text ``"+07:00"`` (before the first event);
    - ``decimals``: decimals of the money minor unit, 0..6, default 2
      (before the first event);
    - ``max_lateness``: lateness bound in seconds (or a timedelta), default
      7 days; an older event of a customer (for spend: of a channel) than
      its newest seen by more than this raises :class:`LateEventError`;
    - ``key``: the 16-byte customer-id hash key (random by default), so that
      independent processes agree on customer hashes.

    Times may be given as int Unix seconds, as a ``datetime`` (a naive one,
    like a zone-less CSV time, is read in the handle's UTC offset), a
    ``date`` (its midnight in the handle's offset) or an ISO-8601 string
    (parsed by the library as the CSV reader does).

    Use as a context manager, or call :meth:`close`; a closed object raises
    ValueError on use.
    """

    def __init__(self, utc_offset=None, decimals=None, max_lateness=None,
                 key=None):
        self._ctx = None
        self._type_cache = {}
        self._csv_files = []
        self._csv_totals = [0, 0, 0]
        self._lib = library()
        out = ctypes.c_void_p()
        self._lib.cxm_ctx_create(ctypes.byref(out))
        self._ctx = out.value
        try:
            if key is not None:
                self.key = key
            if utc_offset is not None:
                self.utc_offset = utc_offset
            if decimals is not None:
                self.decimals = decimals
            if max_lateness is not None:
                self.max_lateness = max_lateness
        except BaseException:
            self.close()
            raise

    # -- lifetime ---------------------------------------------------------

    def close(self):
        """Release the handle (idempotent)."""
        for model in list(getattr(self, "_clv_models", None) or ()):
            model.close()
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx:
            self._lib.cxm_ctx_destroy(ctx)

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def closed(self):
        return not self._ctx

    def _h(self):
        if not self._ctx:
            raise ValueError("Metrics handle is closed")
        return self._ctx

    def __repr__(self):
        if not self._ctx:
            return "<cxmetrics.Metrics closed>"
        return "<cxmetrics.Metrics events=%d customers=%d>" % (
            self.stat(Stat.EVENTS_ACCEPTED), self.stat(Stat.CUSTOMERS))

    @property
    def handle(self):
        """The raw ``cxm_ctx *`` as an int (for calls through :func:`library`)."""
        return self._h()

    # -- options ----------------------------------------------------------

    def set_option(self, option, value):
        self._lib.cxm_option_set(self._h(), int(option), int(value))

    def get_option(self, option):
        v = ctypes.c_int64()
        self._lib.cxm_option_get(self._h(), int(option), ctypes.byref(v))
        return v.value

    @staticmethod
    def option_bounds(option):
        """(lo, hi, default) of an option."""
        lo, hi, d = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        library().cxm_option_bounds(int(option), ctypes.byref(lo),
                                    ctypes.byref(hi), ctypes.byref(d))
        return lo.value, hi.value, d.value

    @property
    def utc_offset(self):
        """Offset of the handle's days from UTC, seconds."""
        return self.get_option(Option.UTC_OFFSET)

    @utc_offset.setter
    def utc_offset(self, value):
        self.set_option(Option.UTC_OFFSET, parse_utc_offset(value))

    @property
    def decimals(self):
        return self.get_option(Option.DECIMALS)

    @decimals.setter
    def decimals(self, value):
        self.set_option(Option.DECIMALS, value)

    @property
    def max_lateness(self):
        return self.get_option(Option.MAX_LATENESS)

    @max_lateness.setter
    def max_lateness(self, value):
        if isinstance(value, _dt.timedelta):
            value = int(value.total_seconds())
        self.set_option(Option.MAX_LATENESS, value)

    def _set_key(self, key):
        key = bytes(key)
        self._lib.cxm_key_set(self._h(), key, len(key))

    key = property(None, _set_key, doc="The 16-byte hash key (write only).")

    # -- identity and labels ----------------------------------------------

    def customer_hash(self, customer):
        """The library's 64-bit hash of a customer id (str or bytes)."""
        b = _to_bytes(customer, "customer")
        out = ctypes.c_uint64()
        self._lib.cxm_customer_hash(self._h(), b, len(b), ctypes.byref(out))
        return out.value

    def channel_id(self, label):
        """The id of a channel label, interning it if new."""
        b = _to_bytes(label, "channel")
        out = ctypes.c_int32()
        self._lib.cxm_channel_intern(self._h(), b, len(b), ctypes.byref(out))
        return out.value

    def segment_id(self, label):
        """The id of a segment label, interning it if new."""
        b = _to_bytes(label, "segment")
        out = ctypes.c_int32()
        self._lib.cxm_segment_intern(self._h(), b, len(b), ctypes.byref(out))
        return out.value

    def find_channel(self, label):
        """The id of a known channel label, or None."""
        return self._find(self._lib.cxm_channel_find, label, "channel")

    def find_segment(self, label):
        """The id of a known segment label, or None."""
        return self._find(self._lib.cxm_segment_find, label, "segment")

    def _find(self, func, label, what):
        b = _to_bytes(label, what)
        out = ctypes.c_int32()
        st = func(self._h(), b, len(b), ctypes.byref(out))
        if st == Status.NOTFOUND:
            return None
        if st != 0:
            self._raise(st)
        return out.value

    def _labels(self, count_fn, label_fn):
        h = self._h()
        n = ctypes.c_int32()
        count_fn(h, ctypes.byref(n))
        ptr, ln = ctypes.c_void_p(), ctypes.c_size_t()
        out = []
        for i in range(n.value):
            label_fn(h, i, ctypes.byref(ptr), ctypes.byref(ln))
            out.append(ctypes.string_at(ptr.value, ln.value)
                       .decode("utf-8", "surrogateescape"))
        return out

    @property
    def channels(self):
        """Channel labels, index = id."""
        return self._labels(self._lib.cxm_channel_count,
                            self._lib.cxm_channel_label)

    @property
    def segments(self):
        """Segment labels, index = id."""
        return self._labels(self._lib.cxm_segment_count,
                            self._lib.cxm_segment_label)

    def segset_id(self, labels):
        """The id of a set of segment labels (interning them); [] is 0."""
        ids = [self.segment_id(s) for s in labels]
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        out = ctypes.c_int32()
        self._lib.cxm_segset_intern(self._h(), arr if ids else None, len(ids),
                                    ctypes.byref(out))
        return out.value

    def set_segments(self, customer, labels):
        """Set the segments a customer holds from now on ([] clears them)."""
        sid = self.segset_id(labels)
        b = _to_bytes(customer, "customer")
        self._lib.cxm_customer_set_segments(self._h(), b, len(b), sid)

    # -- conversions that need the handle ----------------------------------

    def _raise(self, status):
        raw = self._lib.cxm_ctx_errmsg(self._ctx) if self._ctx else b""
        raise _make_error(status, raw.decode("utf-8", "replace") if raw else "")

    def parse_time(self, text):
        """Unix seconds of a time text, as the CSV reader reads it."""
        b = _to_bytes(text, "time")
        out = ctypes.c_int64()
        st = self._lib.cxm_time_parse(self._h(), b, len(b), ctypes.byref(out))
        if st != 0:
            raise _make_error(st, "cannot parse time %r: %s"
                              % (text, strerror(st)))
        return out.value

    def to_time(self, t):
        """Unix seconds of an int, datetime, date, ISO string or NumPy
        datetime64 (naive values in the handle's UTC offset)."""
        if isinstance(t, bool):
            raise TypeError("a time cannot be a bool")
        if isinstance(t, int):
            return t
        if isinstance(t, _dt.datetime):
            if t.tzinfo is not None and t.utcoffset() is not None:
                return math.floor(t.timestamp())
            d = t - _EPOCH
            return (d.days * 86400 + d.seconds) - self.utc_offset
        if isinstance(t, _dt.date):
            return t.toordinal() * 86400 - _EPOCH.toordinal() * 86400 \
                - self.utc_offset
        if isinstance(t, (str, bytes)):
            return self.parse_time(t)
        if _np is not None:
            if isinstance(t, _np.integer):
                return int(t)
            if isinstance(t, _np.datetime64):
                if _np.isnat(t):
                    raise ValueError("time is NaT")
                return int(t.astype("datetime64[s]").astype(_np.int64)) \
                    - self.utc_offset
        if type(t).__name__ == "Timestamp":  # pandas
            return self.to_time(t.to_pydatetime(warn=False))
        if isinstance(t, float) and t.is_integer():
            return int(t)
        raise TypeError("cannot use %r as a time" % (t,))

    def _bound(self, t, unbounded):
        return unbounded if t is None else self.to_time(t)

    def event_type(self, type_):
        """The numeric value of an event type given by name or number."""
        if isinstance(type_, str):
            v = self._type_cache.get(type_)
            if v is None:
                b = type_.encode("utf-8")
                out = ctypes.c_int32()
                st = self._lib.cxm_event_type_from_name(b, len(b),
                                                        ctypes.byref(out))
                if st != 0:
                    raise _make_error(st, "unknown event type %r: %s"
                                      % (type_, strerror(st)))
                v = self._type_cache[type_] = out.value
            return v
        return int(type_)

    def _channel_arg(self, channel):
        if channel is None or _is_missing(channel):
            return NO_CHANNEL
        if isinstance(channel, (str, bytes)):
            return self.channel_id(channel)
        return int(channel)

    # -- single events ------------------------------------------------------

    def add_event(self, time, type, customer=None, channel=None, value=None,
                  value2=None, segments=None):
        """Add one event; raise the library's error if it is rejected.

        ``type``: a name (``"purchase"``) or :class:`EventType`; ``customer``:
        str or bytes (None for spend); ``channel``: a label or id; ``value``
        and ``value2``: numbers or None (absent); ``segments``: labels that
        the customer holds from this event on (``[]`` clears them; None
        leaves them unchanged).  The event and its segments go in one call:
        a rejected event changes nothing.
        """
        h = self._h()
        t = self.to_time(time)
        ty = self.event_type(type)
        cb = b"" if customer is None else _to_bytes(customer, "customer")
        ch = self._channel_arg(channel)
        v = math.nan if value is None else float(value)
        v2 = math.nan if value2 is None else float(value2)
        if segments is None:
            self._lib.cxm_event_add(h, t, ty, cb, len(cb), ch, v, v2)
            return
        if isinstance(segments, (str, bytes)):
            segments = _split_segments(segments)
            if segments is None:
                self._lib.cxm_event_add(h, t, ty, cb, len(cb), ch, v, v2)
                return
        sid = self.segset_id(segments)
        # A one-event batch applies the segments and the event together.
        c_i64, c_i32, c_f64 = ctypes.c_int64, ctypes.c_int32, ctypes.c_double
        offs = (c_i64 * 2)(0, len(cb))
        data = ctypes.create_string_buffer(cb, max(len(cb), 1))
        status = c_i32()
        st = self._lib.cxm_events_add(
            h, 1, (c_i64 * 1)(t), (c_i32 * 1)(ty),
            ctypes.cast(data, _u8p), offs, (c_i32 * 1)(ch),
            (c_f64 * 1)(v), (c_f64 * 1)(v2), (c_i32 * 1)(sid), None,
            ctypes.byref(status))
        if st != 0:
            self._raise(st)

    # -- column batches -----------------------------------------------------

    def add_events(self, times, types, customers=None, channels=None,
                   values=None, values2=None, segments=None, strict=False):
        """Add a batch of events given as columns (the fast path).

        Each column is a NumPy array, a pandas Series or a list, all of the
        same length n:

        - ``times``: int64 Unix seconds (used in place), datetime64 (naive:
          in the handle's UTC offset; pandas tz-aware: its instant), or
          objects (datetime, ISO strings) converted one by one;
        - ``types``: event type numbers, or names;
        - ``customers``: str/bytes ids (None/NaN for spend rows), or a
          pair ``(data, offsets)`` already in the library's layout (bytes or
          uint8 array, n + 1 int64 offsets);
        - ``channels``: labels (each distinct label interned once; None/NaN:
          no channel) or channel ids (-1: none);
        - ``values``, ``values2``: numbers (NaN/None: absent);
        - ``segments``: per row a list of labels (``[]`` clears), a
          ``;``-joined string (``"-"`` clears, ``""`` unchanged), None
          (unchanged); or an int array of segment-set ids (-1: unchanged).

        Arrays whose dtype already matches (int64 times, int32 types,
        channels and segment sets, float64 values) are passed without a copy.

        Returns a :class:`BatchResult` ``(accepted, statuses)``.  Rejected
        events are skipped and every valid event is accepted either way;
        with ``strict=True`` the first rejection is then raised (the
        exception's ``result`` attribute holds the BatchResult).
        """
        np = _require_numpy()
        h = self._h()
        t = self._times_column(times)
        n = len(t)
        ty = self._types_column(types, n)
        if customers is None:
            data, offs = np.zeros(1, np.uint8), np.zeros(n + 1, np.int64)
        else:
            data, offs = _ids_column(customers, n)
        ch = None if channels is None else self._channels_column(channels, n)
        v = None if values is None else _float_column(values, n, "values")
        v2 = None if values2 is None else _float_column(values2, n, "values2")
        ss = None if segments is None else self._segsets_column(segments, n)
        statuses = np.zeros(n, np.int32)
        accepted = ctypes.c_size_t()
        if isinstance(data, bytes):
            data_p = ctypes.cast(ctypes.c_char_p(data), _u8p)
        else:
            data_p = data.ctypes.data_as(_u8p)
        st = self._lib.cxm_events_add(
            h, n, _ptr(t, _i64p), _ptr(ty, _i32p), data_p, _ptr(offs, _i64p),
            _ptr(ch, _i32p), _ptr(v, _f64p), _ptr(v2, _f64p), _ptr(ss, _i32p),
            ctypes.byref(accepted), _ptr(statuses, _i32p))
        msg = ""
        if st != 0:
            raw = self._lib.cxm_ctx_errmsg(h)
            msg = raw.decode("utf-8", "replace") if raw else strerror(st)
        result = BatchResult(accepted.value, statuses, msg)
        if st != 0 and strict:
            err = _make_error(st, msg)
            err.result = result
            raise err
        return result

    def add_events_df(self, df, columns=None, strict=False):
        """Add the rows of a pandas DataFrame through :meth:`add_events`.

        ``columns`` maps the roles ``time, type, customer, channel, value,
        value2, segments`` to column names; by default each role is read
        from the column of the same name when present (``time`` and
        ``type`` are required).
        """
        roles = ("time", "type", "customer", "channel", "value", "value2",
                 "segments")
        mapping = {r: r for r in roles if r in df.columns}
        for role, col in (columns or {}).items():
            if role not in roles:
                raise ValueError("unknown role %r (expected one of %s)"
                                 % (role, ", ".join(roles)))
            if col is None:
                mapping.pop(role, None)
            else:
                mapping[role] = col
        for role in ("time", "type"):
            if role not in mapping:
                raise ValueError("the DataFrame has no %r column" % role)

        def col(role):
            return df[mapping[role]] if role in mapping else None

        return self.add_events(col("time"), col("type"), col("customer"),
                               col("channel"), col("value"), col("value2"),
                               col("segments"), strict=strict)

    def _times_column(self, times):
        np = _require_numpy()
        if _is_pandas(times):
            s = times
            dtype = getattr(s, "dtype", None)
            if getattr(dtype, "tz", None) is not None:  # tz-aware: instants
                vals = s.dt.tz_convert("UTC").dt.tz_localize(None) \
                    if hasattr(s, "dt") else s.tz_convert("UTC").tz_localize(None)
                arr = np.asarray(vals, dtype="datetime64[ns]")
                return _datetime64_seconds(arr, 0)
            times = s.to_numpy()
        arr = np.asarray(times)
        if arr.ndim != 1:
            raise ValueError("times must be one-dimensional")
        kind = arr.dtype.kind
        if kind == "M":
            return _datetime64_seconds(arr, self.utc_offset)
        if kind in "iu":
            return np.ascontiguousarray(arr, dtype=np.int64)
        if kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)):
                raise ValueError("times must be whole seconds")
            return arr.astype(np.int64)
        if kind in "OUS":
            cache = {}
            out = np.empty(len(arr), np.int64)
            for i, x in enumerate(arr.tolist()):
                key = x if isinstance(x, (str, bytes)) else None
                if key is not None and key in cache:
                    out[i] = cache[key]
                    continue
                out[i] = self.to_time(x)
                if key is not None:
                    cache[key] = out[i]
            return out
        raise TypeError("times of dtype %s are not supported" % arr.dtype)

    def _types_column(self, types, n):
        np = _require_numpy()
        if _is_pandas(types) and getattr(types.dtype, "kind", "") in "iu":
            types = types.to_numpy()
        if not _is_pandas(types) and not isinstance(types, (list, tuple)):
            arr = np.asarray(types)
            if arr.dtype.kind in "iu":
                _check_len(arr, n, "types")
                return np.ascontiguousarray(arr, dtype=np.int32)
            types = arr
        codes, uniques = _factorize(types)
        _check_len(codes, n, "types")
        table = np.empty(len(uniques) + 1, np.int32)
        table[-1] = 0  # missing type: rejected by the library (CXM_E_TYPE)
        for i, u in enumerate(uniques):
            if isinstance(u, (int, np.integer)):
                table[i] = int(u)
                continue
            try:
                table[i] = self.event_type(u if isinstance(u, str)
                                           else _to_bytes(u, "type").decode())
            except UnknownTypeError:
                table[i] = 0  # rejected per row with the library's status
        return table[codes]

    def _channels_column(self, channels, n):
        np = _require_numpy()
        if _is_pandas(channels) and getattr(channels.dtype, "kind", "") in "iu":
            channels = channels.to_numpy()
        if not _is_pandas(channels) and not isinstance(channels, (list, tuple)):
            arr = np.asarray(channels)
            if arr.dtype.kind in "iu":
                _check_len(arr, n, "channels")
                return np.ascontiguousarray(arr, dtype=np.int32)
            channels = arr
        codes, uniques = _factorize(channels)
        _check_len(codes, n, "channels")
        table = np.empty(len(uniques) + 1, np.int32)
        table[-1] = NO_CHANNEL
        for i, u in enumerate(uniques):
            table[i] = self._channel_arg(u)
        return table[codes]

    def _segsets_column(self, segments, n):
        np = _require_numpy()
        if _is_pandas(segments) and getattr(segments, "dtype", None) is not None \
                and segments.dtype.kind in "iu":
            segments = segments.to_numpy()
        if not _is_pandas(segments):
            arr = segments if isinstance(segments, np.ndarray) else None
            if arr is None and not isinstance(segments, (list, tuple)):
                arr = np.asarray(segments)
            if arr is not None and arr.dtype.kind in "iu":
                _check_len(arr, n, "segments")
                return np.ascontiguousarray(arr, dtype=np.int32)
        if (_is_pandas(segments) and segments.dtype != object) or (
                isinstance(segments, np.ndarray)
                and segments.dtype.kind in "US"):
            codes, uniques = _factorize(segments)  # ';'-joined strings
        else:
            rows = segments.tolist() if hasattr(segments, "tolist") \
                else list(segments)
            codes, uniques = _factorize(
                [r if _is_missing(r) or isinstance(r, (str, bytes))
                 else tuple(r) for r in rows])
        _check_len(codes, n, "segments")
        table = np.empty(len(uniques) + 1, np.int32)
        table[-1] = -1  # missing: segments unchanged
        for i, u in enumerate(uniques):
            if isinstance(u, (str, bytes)):
                labels = _split_segments(u)
            elif isinstance(u, (tuple, list)):
                labels = list(u)
            else:
                raise TypeError("segments: expected label lists or strings, "
                                "got %r" % (u,))
            table[i] = -1 if labels is None else self.segset_id(labels)
        return table[codes]

    # -- CSV ------------------------------------------------------------------

    def ingest_csv(self, source, on_error=None, chunk_size=1 << 20):
        """Read canonical CSV through the library's reader.

        ``source``: bytes-like (the CSV itself), a path (str or PathLike; "-"
        is standard input), or a binary file object.  Malformed lines are not
        exceptions: each is reported to ``on_error(line, status, message)``
        when given, collected in the result's ``errors``, and the stream goes
        on.  A header without the required columns raises
        :class:`ParseError`; an unreadable file :class:`CxmIOError`.

        Returns a :class:`CsvResult` ``(lines, accepted, rejected)``.
        """
        h = self._h()
        lib = self._lib
        errors = []
        pending = []

        def handler(user, line, status, message):
            try:
                msg = message.decode("utf-8", "replace") if message else ""
                errors.append(RejectedLine(line, msg, status))
                if on_error is not None:
                    on_error(line, status, msg)
            except BaseException as exc:  # re-raised after the C call returns
                pending.append(exc)

        cb = CSV_ERROR_FN(handler)  # kept alive by this frame while used
        out = ctypes.c_void_p()
        lib.cxm_csv_create(h, ctypes.byref(out))
        csv = out.value
        try:
            lib.cxm_csv_set_error_handler(csv, cb, None)

            def check(st):
                if pending:
                    raise pending[0]
                if st != 0:
                    self._raise(st)

            if isinstance(source, (bytes, bytearray, memoryview)):
                data = bytes(source)
                check(lib.cxm_csv_feed(csv, data, len(data)))
                check(lib.cxm_csv_finish(csv))
            elif isinstance(source, (str, os.PathLike)):
                check(lib.cxm_csv_feed_file(csv, os.fsencode(source)))
            elif hasattr(source, "read"):
                while True:
                    chunk = source.read(chunk_size)
                    if not chunk:
                        break
                    if isinstance(chunk, str):
                        raise TypeError("open the CSV file in binary mode")
                    chunk = bytes(chunk)
                    check(lib.cxm_csv_feed(csv, chunk, len(chunk)))
                check(lib.cxm_csv_finish(csv))
            else:
                raise TypeError("cannot read CSV from %s"
                                % type(source).__name__)
            lines, acc, rej = ctypes.c_uint64(), ctypes.c_uint64(), \
                ctypes.c_uint64()
            lib.cxm_csv_stats(csv, ctypes.byref(lines), ctypes.byref(acc),
                              ctypes.byref(rej))
            if isinstance(source, (str, os.PathLike)):
                self._csv_files.append(os.fsdecode(source))
            for i, c in enumerate((lines, acc, rej)):
                self._csv_totals[i] += c.value
            return CsvResult(lines.value, acc.value, rej.value, errors)
        finally:
            lib.cxm_csv_set_error_handler(csv, CSV_ERROR_FN(), None)
            lib.cxm_csv_destroy(csv)
            del cb

    # -- KPIs -----------------------------------------------------------------

    def kpi_id(self, kpi):
        """The numeric id of a KPI given by report key or :class:`Kpi`."""
        if isinstance(kpi, str):
            b = kpi.encode("utf-8")
            out = ctypes.c_int()
            st = self._lib.cxm_kpi_from_name(b, len(b), ctypes.byref(out))
            if st != 0:
                raise _make_error(st, "unknown KPI %r" % kpi)
            return out.value
        return int(kpi)

    def _scope(self, segment, channel):
        if segment is None:
            seg = ALL
        elif isinstance(segment, (str, bytes)):
            seg = self.find_segment(segment)
            if seg is None:
                raise NotFoundError("unknown segment %r" % (segment,),
                                    Status.NOTFOUND)
        else:
            seg = int(segment)
        if channel is None:
            ch = ALL
        elif isinstance(channel, (str, bytes)):
            ch = self.find_channel(channel)
            if ch is None:
                raise NotFoundError("unknown channel %r" % (channel,),
                                    Status.NOTFOUND)
        else:
            ch = int(channel)
        return seg, ch

    def _window(self, start, end, window):
        if window is not None:
            if start is not None or end is not None:
                raise ValueError("give either window or start/end")
            start, end = window
        return self._bound(start, TIME_MIN), self._bound(end, TIME_MAX)

    def kpi_n(self, kpi, segment=None, channel=None, start=None, end=None,
              window=None):
        """``(value, n)`` of a KPI: value a float or None when undefined (a
        ratio whose denominator n is 0, a spend KPI in a segment scope); for a
        sum or count n is the number of contributing events.

        ``segment``/``channel``: labels or ids (None = all); ``start``/
        ``end``: the window [start, end) (None = unbounded; floored to days
        in the handle's offset), or ``window=(start, end)`` e.g. from
        :meth:`trailing`.  Unknown labels raise :class:`NotFoundError`.
        """
        k = self.kpi_id(kpi)
        seg, ch = self._scope(segment, channel)
        t0, t1 = self._window(start, end, window)
        v, n = ctypes.c_double(), ctypes.c_int64()
        self._lib.cxm_kpi_get(self._h(), k, seg, ch, t0, t1, ctypes.byref(v),
                              ctypes.byref(n))
        value = v.value
        return (None if value != value else value), n.value

    def kpi(self, kpi, segment=None, channel=None, start=None, end=None,
            window=None):
        """A KPI as a float, or None when undefined (see :meth:`kpi_n`)."""
        return self.kpi_n(kpi, segment, channel, start, end, window)[0]

    def kpi_int_n(self, kpi, segment=None, channel=None, start=None,
                  end=None, window=None):
        """``(value, n)`` of a count or sum, exactly: money in minor units."""
        k = self.kpi_id(kpi)
        seg, ch = self._scope(segment, channel)
        t0, t1 = self._window(start, end, window)
        v, n = ctypes.c_int64(), ctypes.c_int64()
        self._lib.cxm_kpi_get_int(self._h(), k, seg, ch, t0, t1,
                                  ctypes.byref(v), ctypes.byref(n))
        return v.value, n.value

    def kpi_int(self, kpi, segment=None, channel=None, start=None, end=None,
                window=None):
        """A count or sum as an exact int (money in minor units);
        :class:`UnsupportedError` for a ratio."""
        return self.kpi_int_n(kpi, segment, channel, start, end, window)[0]

    def kpi_decimal(self, kpi, segment=None, channel=None, start=None,
                    end=None, window=None):
        """A count or sum as an exact ``decimal.Decimal`` (money in major
        units, e.g. Decimal('125.00'))."""
        k = self.kpi_id(kpi)
        v = self.kpi_int(k, segment, channel, start, end, window)
        if self._lib.cxm_kpi_is_money(k) == 1:
            return decimal.Decimal(v).scaleb(-self.decimals)
        return decimal.Decimal(v)

    def trailing(self, days, as_of=None):
        """The window ``(start, end)`` of the trailing ``days`` days ending
        with the day of ``as_of`` (default: the latest accepted event)."""
        t = self.stat(Stat.LAST_TIME) if as_of is None else self.to_time(as_of)
        lo, hi = ctypes.c_int64(), ctypes.c_int64()
        self._lib.cxm_window_trailing(self._h(), t, int(days),
                                      ctypes.byref(lo), ctypes.byref(hi))
        return lo.value, hi.value

    # ---- retention (docs/retention.md) --------------------------------
    def _as_of(self, as_of):
        return self.stat(Stat.LAST_TIME) if as_of is None else self.to_time(as_of)

    @staticmethod
    def _num(x):
        return None if math.isnan(x) else x

    def active_customers(self, segment=None, channel=None, as_of=None):
        """``(active, churned)`` customers as of the end of the day of
        ``as_of`` (default: the latest accepted event)."""
        seg, ch = self._scope(segment, channel)
        a, c = ctypes.c_int64(), ctypes.c_int64()
        self._lib.cxm_retention_active(self._h(), seg, ch, self._as_of(as_of),
                                       ctypes.byref(a), ctypes.byref(c))
        return a.value, c.value

    def churn_rate(self, start, end, segment=None, channel=None):
        """``(churn_rate, retention_rate, n)`` from the day of ``start`` to
        the day of ``end``: of the n customers active at start (their scope:
        first-activity channel, segments held now), the share no longer /
        still active at end, whatever happened in between; rates None when
        n is 0."""
        seg, ch = self._scope(segment, channel)
        c, r, n = ctypes.c_double(), ctypes.c_double(), ctypes.c_int64()
        self._lib.cxm_retention_rate(self._h(), seg, ch, self.to_time(start),
                                     self.to_time(end), ctypes.byref(c),
                                     ctypes.byref(r), ctypes.byref(n))
        return self._num(c.value), self._num(r.value), n.value

    def lifespan(self, segment=None, channel=None, as_of=None):
        """``(avg_days, estimate_days, n)``: mean days from first to last
        activity of the n customers churned as of the day, and the period /
        churn-rate estimate (None when undefined)."""
        seg, ch = self._scope(segment, channel)
        a, e, n = ctypes.c_double(), ctypes.c_double(), ctypes.c_int64()
        self._lib.cxm_retention_lifespan(self._h(), seg, ch, self._as_of(as_of),
                                         ctypes.byref(a), ctypes.byref(e),
                                         ctypes.byref(n))
        return self._num(a.value), self._num(e.value), n.value

    def clv_formula(self, segment=None, channel=None, as_of=None):
        """Formula CLV and its factors over the trailing retention period:
        a dict with clv, aov, purchase_frequency, lifespan_periods (None
        when undefined)."""
        seg, ch = self._scope(segment, channel)
        v = [ctypes.c_double() for _ in range(4)]
        self._lib.cxm_retention_clv(self._h(), seg, ch, self._as_of(as_of),
                                    *[ctypes.byref(x) for x in v])
        keys = ("clv", "aov", "purchase_frequency", "lifespan_periods")
        return {k: self._num(x.value) for k, x in zip(keys, v)}

    def cohorts(self):
        """The cohort matrix: a list of dicts ``{"month": "YYYY-MM", "size":
        n, "on": [...], "on_or_after": [...]}`` with counts of customers for
        months 0, 1, ... since the cohort's month (shares: divide by size)."""
        m0, nm = ctypes.c_int32(), ctypes.c_int32()
        self._lib.cxm_cohort_span(self._h(), ctypes.byref(m0), ctypes.byref(nm))
        out = []
        for c in range(nm.value):
            k = nm.value - c
            on = (ctypes.c_int64 * k)()
            oa = (ctypes.c_int64 * k)()
            size, n = ctypes.c_int64(), ctypes.c_size_t()
            self._lib.cxm_cohort_row(self._h(), m0.value + c, ctypes.byref(size),
                                     on, oa, k, ctypes.byref(n))
            month = m0.value + c
            out.append({"month": "%04d-%02d" % (month // 12, month % 12 + 1),
                        "size": size.value, "on": list(on[:n.value]),
                        "on_or_after": list(oa[:n.value])})
        return out

    def buyers_daily(self, start, end):
        """New and returning buyers per day over [start, end) (days in the
        handle's offset): a list of ``(day, new, returning)``, day numbers as
        :meth:`day` gives them."""
        t0, t1 = self.to_time(start), self.to_time(end)
        n = ctypes.c_size_t()
        self._lib.cxm_buyers_daily(self._h(), t0, t1, None, None, 0,
                                   ctypes.byref(n))
        k = n.value
        nb, rb = (ctypes.c_int64 * max(k, 1))(), (ctypes.c_int64 * max(k, 1))()
        self._lib.cxm_buyers_daily(self._h(), t0, t1, nb, rb, k, ctypes.byref(n))
        d0 = self.day(t0)
        return [(d0 + i, nb[i], rb[i]) for i in range(k)]

    def day(self, time):
        """Day number (days since 1970-01-01 in the handle's offset)."""
        out = ctypes.c_int64()
        self._lib.cxm_time_day(self._h(), self.to_time(time), ctypes.byref(out))
        return out.value

    @staticmethod
    def is_customer_level(kpi):
        return library().cxm_kpi_is_customer_level(int(kpi)) == 1

    # -- report ----------------------------------------------------------------

    def _report_value(self, k, seg, ch, t0, t1, money_scale):
        """(value, n) of one KPI as the report shows it: None when undefined,
        counts as ints, money from its exact minor units."""
        lib, h = self._lib, self._h()
        if lib.cxm_kpi_is_customer_level(k) == 1:
            t0, t1 = TIME_MIN, TIME_MAX  # customer-level: all-time only
        v, n, iv = ctypes.c_double(), ctypes.c_int64(), ctypes.c_int64()
        lib.cxm_kpi_get(h, k, seg, ch, t0, t1, ctypes.byref(v), ctypes.byref(n))
        if v.value != v.value:
            return None, n.value
        if k not in _INT_KPIS:
            return v.value, n.value
        lib.cxm_kpi_get_int(h, k, seg, ch, t0, t1, ctypes.byref(iv), None)
        if lib.cxm_kpi_is_money(k) == 1:
            return iv.value / money_scale, n.value
        return iv.value, n.value

    def _retention_report(self, seg, ch, as_of):
        """The retention keys of a report scope, as ``cxm report`` prints
        them (docs/retention.md)."""
        period = self.get_option(6)  # CXM_OPT_RETENTION_PERIOD_DAYS
        try:
            active, churned = self.active_customers(seg, ch, as_of)
        except UnsupportedError:
            null = {"value": None, "n": 0}
            return {"active_customers": dict(null), "churned_customers": dict(null),
                    "churn_rate": {"value": None, "n": 0, "period_days": period},
                    "retention_rate": {"value": None, "n": 0, "period_days": period},
                    "avg_lifespan_days": {"value": None, "n": 0, "estimate": None},
                    "clv_formula": {"value": None, "n": 0, "aov": None,
                                    "purchase_frequency": None,
                                    "lifespan_periods": None, "period_days": period}}
        churn, ret, a0 = self.churn_rate(as_of - period * 86400, as_of, seg, ch)
        avg, est, nch = self.lifespan(seg, ch, as_of)
        f = self.clv_formula(seg, ch, as_of)
        return {"active_customers": {"value": active, "n": active},
                "churned_customers": {"value": churned, "n": churned},
                "churn_rate": {"value": churn, "n": a0, "period_days": period},
                "retention_rate": {"value": ret, "n": a0, "period_days": period},
                "avg_lifespan_days": {"value": avg, "n": nch, "estimate": est},
                "clv_formula": {"value": f["clv"], "n": active, "aov": f["aov"],
                                "purchase_frequency": f["purchase_frequency"],
                                "lifespan_periods": f["lifespan_periods"],
                                "period_days": period}}

    def _report_scope(self, seg, ch, t0, t1, money_scale):
        out = {}
        for k in REPORT_KPIS:
            value, n = self._report_value(k, seg, ch, t0, t1, money_scale)
            entry = {"value": value, "n": n}
            if k == Kpi.NPS:
                for extra, kk in (("moe95", Kpi.NPS_MOE95),
                                  ("promoters", Kpi.NPS_PROMOTERS),
                                  ("passives", Kpi.NPS_PASSIVES),
                                  ("detractors", Kpi.NPS_DETRACTORS)):
                    entry[extra] = self._report_value(kk, seg, ch, t0, t1,
                                                      money_scale)[0]
            out[kpi_name(k)] = entry
        if getattr(self, "_report_as_of", None) is not None:  # retention keys
            out.update(self._retention_report(seg, ch, self._report_as_of))
        return out

    def _iso(self, t, off):
        if t in (TIME_MIN, TIME_MAX):
            return None
        d = _EPOCH + _dt.timedelta(seconds=t + off)
        return d.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if off == 0
                                                  else _format_offset(off))

    # -- journey funnel and attribution ------------------------------------------

    def funnel(self, segment=None, channel=None):
        """The journey funnel of a scope (docs/funnel.md): a dict keyed by
        stage name (:data:`FUNNEL_STAGES`), each ``{"customers": int,
        "conversion_from_previous": float|None, "drop_off": int|None,
        "median_days_from_previous": float|None, "p90_days_from_previous":
        float|None, "timed_steps": int}``, as in ``cxm report``.
        ``channel`` groups customers by the channel of their first stage.
        :class:`UnsupportedError` when the funnel module is off."""
        seg, ch = self._scope(segment, channel)
        lib, h = self._lib, self._h()
        out = {}
        for i, name in enumerate(FUNNEL_STAGES):
            n, conv, drop = ctypes.c_int64(), ctypes.c_double(), ctypes.c_int64()
            lib.cxm_funnel_get(h, seg, ch, i + 1, ctypes.byref(n),
                               ctypes.byref(conv), ctypes.byref(drop))
            med, steps = self.funnel_days(name, 0.5, segment, channel)
            p90 = self.funnel_days(name, 0.9, segment, channel)[0]
            c = conv.value
            out[name] = {
                "customers": n.value,
                "conversion_from_previous": None if c != c else c,
                "drop_off": drop.value if i else None,
                "median_days_from_previous": med,
                "p90_days_from_previous": p90,
                "timed_steps": steps,
            }
        return out

    def funnel_days(self, stage, q, segment=None, channel=None):
        """``(days, n)``: the ``q`` quantile (0..1) of the time from the
        previous stage to ``stage`` (a name of :data:`FUNNEL_STAGES` or
        1..4) over its ``n`` timed steps; days None when n is 0.  Within
        1/64 of the exact sample of rank ceil(q n)."""
        st = FUNNEL_STAGES.index(stage) + 1 if isinstance(stage, str) else int(stage)
        seg, ch = self._scope(segment, channel)
        d, n = ctypes.c_double(), ctypes.c_int64()
        self._lib.cxm_funnel_days(self._h(), seg, ch, st, float(q),
                                  ctypes.byref(d), ctypes.byref(n))
        return (None if d.value != d.value else d.value), n.value

    def attribution(self, model=None, channel=ALL, exact=False):
        """Orders and revenue attributed to channels (docs/attribution.md).

        ``model``: a name of :data:`ATTRIBUTION_MODELS` or 1..5; None gives
        every model, as ``{MODEL: {CHANNEL: {...}}}`` like ``cxm report``
        (every channel label, and ``""`` for credit without a channel when
        there is some).  With a model and ``channel`` (a label or id, ``ALL``
        for the totals, :data:`CREDIT_NO_CHANNEL`): ``{"orders": float,
        "revenue": float, "roas": float|None}``; ``exact=True`` gives
        ``{"orders_e9": int, "revenue_minor": int, "revenue_minor_e9":
        int}``, the exact fixed-point sums.
        """
        if model is None:
            out = {}
            for m in ATTRIBUTION_MODELS:
                per = {}
                if self.attribution(m, CREDIT_NO_CHANNEL, True)["orders_e9"]:
                    per[""] = self.attribution(m, CREDIT_NO_CHANNEL)
                for j, c in enumerate(self.channels):
                    per[c] = self.attribution(m, j)
                out[m] = per
            return out
        md = ATTRIBUTION_MODELS.index(model) + 1 if isinstance(model, str) else int(model)
        if channel in (ALL, CREDIT_NO_CHANNEL):
            ch = channel
        else:
            ch = self._scope(None, channel)[1]
        lib, h = self._lib, self._h()
        if exact:
            o, r, n = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
            lib.cxm_attribution_get_fixed(h, md, ch, ctypes.byref(o),
                                          ctypes.byref(r), ctypes.byref(n))
            return {"orders_e9": o.value, "revenue_minor": r.value,
                    "revenue_minor_e9": n.value}
        o, r, x = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        lib.cxm_attribution_get(h, md, ch, ctypes.byref(o), ctypes.byref(r),
                                ctypes.byref(x))
        return {"orders": o.value, "revenue": r.value,
                "roas": None if x.value != x.value else x.value}

    def _module_on(self, bit):
        return bool(self.get_option(_OPT_MODULES) & bit)

    def _report_journey(self, rep):
        """The report's "funnel", "funnel_channels", "funnel_segments" and
        "attribution" members (None for a module that is off)."""
        if self._module_on(MODULE_FUNNEL):
            rep["funnel"] = self.funnel()
            rep["funnel_channels"] = {c: self.funnel(channel=j)
                                      for j, c in enumerate(self.channels)}
            rep["funnel_segments"] = {s: self.funnel(segment=i)
                                      for i, s in enumerate(self.segments)}
        else:
            rep["funnel"] = rep["funnel_channels"] = rep["funnel_segments"] = None
        rep["attribution"] = (self.attribution()
                              if self._module_on(MODULE_ATTRIBUTION) else None)
        return rep

    def report(self, start=None, end=None, window=None, meta=True, as_of=None):
        """Every report KPI for all / each channel / each segment / each
        segment x channel, as a dict shaped like ``cxm report --format
        json``::

            {"meta": {...}, ["window": {...},]
             "all": {KPI: {"value": v, "n": n}, ...},
             "channels": {LABEL: {KPI: ...}}, "segments": {LABEL: {KPI: ...}},
             "segment_channels": {SEGMENT: {CHANNEL: {KPI: ...}}}}

        ``nps`` adds ``moe95``, ``promoters``, ``passives``, ``detractors``.
        Money in major units (float, from the exact minor units), counts as
        ints, undefined ratios None.  Like ``cxm``, a segment x channel pair
        is listed only when it has an event.  With a window, event-level
        KPIs cover it and customer-level ones stay all-time.  ``meta``
        (statistics and options, plus the totals of :meth:`ingest_csv`
        calls) is left out with ``meta=False``.  The retention keys
        (docs/retention.md) are as of ``as_of`` (default: the latest event).
        """
        t0, t1 = self._window(start, end, window)
        self._report_as_of = self._as_of(as_of)
        off = self.utc_offset
        scale = 10 ** self.decimals
        segs = self.segments
        chans = self.channels
        rep = {}
        if meta:
            st = self.stats
            any_events = st["events_accepted"] > 0
            rep["meta"] = {
                "version": version(),
                "files": list(self._csv_files),
                "lines": self._csv_totals[0],
                "accepted": self._csv_totals[1],
                "rejected": self._csv_totals[2],
                "events_accepted": st["events_accepted"],
                "events_rejected": st["events_rejected"],
                "events_late": st["events_late"],
                "customers": st["customers"],
                "channels": len(chans),
                "segments": len(segs),
                "first_time": self._iso(st["first_time"], off)
                if any_events else None,
                "last_time": self._iso(st["last_time"], off)
                if any_events else None,
                "utc_offset": _format_offset(off),
                "decimals": self.decimals,
                "max_lateness": self.max_lateness,
            }
            if t0 != TIME_MIN or t1 != TIME_MAX:
                rep["window"] = {
                    "from": self._iso(self._floor_day(t0, off), off),
                    "to": self._iso(self._floor_day(t1, off), off),
                    "event_level": "[from, to), bounds floored to days in "
                                   "utc_offset",
                    "customer_level": "all-time",
                    "customer_level_kpis": [
                        kpi_name(k) for k in REPORT_KPIS
                        if self._lib.cxm_kpi_is_customer_level(k) == 1],
                }
        rep["all"] = self._report_scope(ALL, ALL, t0, t1, scale)
        rep["channels"] = {c: self._report_scope(ALL, j, t0, t1, scale)
                           for j, c in enumerate(chans)}
        rep["segments"] = {s: self._report_scope(i, ALL, t0, t1, scale)
                           for i, s in enumerate(segs)}
        rep["segment_channels"] = {
            s: {c: self._report_scope(i, j, t0, t1, scale)
                for j, c in enumerate(chans)
                if self.kpi_int(Kpi.EVENTS, i, j) > 0}
            for i, s in enumerate(segs)}
        return self._report_journey(rep)

    def _floor_day(self, t, off):
        if t in (TIME_MIN, TIME_MAX):
            return t
        return self.day(t) * 86400 - off

    # -- snapshots and merge ------------------------------------------------------

    def save(self, path, embed_key=False):
        """Save the whole state to ``path`` atomically (temporary file,
        fsync, rename): a crash leaves the previous file or the new one.

        The snapshot holds the key's fingerprint, not the key, unless
        ``embed_key`` (then whoever reads the file can hash guessed ids).
        """
        flags = SNAPSHOT_EMBED_KEY if embed_key else 0
        self._lib.cxm_snapshot_save_file(self._h(), os.fsencode(path), flags)

    def to_bytes(self, embed_key=False):
        """The whole state as snapshot bytes (see :meth:`save`)."""
        h = self._h()
        buf, n = ctypes.c_void_p(), ctypes.c_size_t()
        flags = SNAPSHOT_EMBED_KEY if embed_key else 0
        self._lib.cxm_snapshot_save_buffer(h, flags, ctypes.byref(buf),
                                           ctypes.byref(n))
        try:
            return ctypes.string_at(buf.value, n.value)
        finally:
            self._lib.cxm_buffer_free(h, buf.value, n.value)

    @classmethod
    def load(cls, source, key=None):
        """A new object holding a snapshot: ``source`` is the bytes
        (bytes-like, e.g. from :meth:`to_bytes`) or a path.

        Options, labels, customers, every KPI and the stream position come
        back as saved.  Reports and merges need no key; adding events needs
        the key: pass ``key`` (16 bytes, e.g. from :func:`read_key_file`) or
        set :attr:`key` later; a different key raises :class:`MismatchError`.
        A truncated or corrupted snapshot raises :class:`CorruptError`, one
        from a newer format :class:`VersionError`; no object is made then.
        """
        m = cls()
        try:
            if isinstance(source, (bytes, bytearray, memoryview)):
                data = bytes(source)
                m._lib.cxm_snapshot_load_buffer(m._h(), data, len(data))
            elif isinstance(source, (str, os.PathLike)):
                m._lib.cxm_snapshot_load_file(m._h(), os.fsencode(source))
            else:
                raise TypeError("load() needs bytes or a path, not %s"
                                % type(source).__name__)
            if key is not None:
                m.key = key
        except BaseException:
            m.close()
            raise
        return m

    from_bytes = load

    def merge(self, other):
        """Merge ``other`` (a :class:`Metrics`, or snapshot bytes) into this
        one and return self.

        When the two hold disjoint customers (shards of one stream
        partitioned by customer) the result equals one handle that took
        both streams.  Both need the same key fingerprint and options
        (:class:`MismatchError` otherwise); on failure this one is
        unchanged.  This object keeps its own stream position.
        """
        if isinstance(other, (bytes, bytearray, memoryview)):
            with Metrics.load(other) as o:
                self._lib.cxm_ctx_merge(self._h(), o._h())
            return self
        if other is self:
            raise ValueError("cannot merge a Metrics object into itself")
        self._lib.cxm_ctx_merge(self._h(), other._h())
        return self

    @property
    def position(self):
        """The caller's stream position (bytes, e.g. Kafka offsets), saved
        with snapshots; None when unset.  Set it to bytes or str (UTF-8),
        None clears it."""
        ptr, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._lib.cxm_position_get(self._h(), ctypes.byref(ptr),
                                   ctypes.byref(n))
        if not ptr.value:
            return None
        return ctypes.string_at(ptr.value, n.value)

    @position.setter
    def position(self, value):
        if value is None:
            value = b""
        elif isinstance(value, str):
            value = value.encode("utf-8")
        value = bytes(value)
        self._lib.cxm_position_set(self._h(), value, len(value))

    def __reduce__(self):
        """Pickling (e.g. a Dask task returning a Metrics object) goes
        through the snapshot bytes, without the key: the copy reports and
        merges; set its :attr:`key` to add events."""
        return (_load_snapshot, (type(self), self.to_bytes()))

    @property
    def key_fingerprint(self):
        """The fingerprint of the hash key (int): equal exactly when two
        handles hash ids alike.  Snapshots store it instead of the key."""
        out = ctypes.c_uint64()
        self._lib.cxm_key_fingerprint(self._h(), ctypes.byref(out))
        return out.value

    @property
    def key_known(self):
        """False for a handle loaded from a snapshot saved without its key,
        until :attr:`key` is set to the matching key."""
        out = ctypes.c_int32()
        self._lib.cxm_key_known(self._h(), ctypes.byref(out))
        return bool(out.value)

    # -- monitoring, lists and erasure -------------------------------------------

    def _callback_channel(self, ch):
        if ch == NO_CHANNEL:
            return None
        raw = ctypes.c_void_p()
        n = ctypes.c_size_t()
        self._lib.cxm_channel_label(self._h(), ch, ctypes.byref(raw),
                                    ctypes.byref(n))
        return ctypes.string_at(raw.value, n.value).decode("utf-8", "replace")

    def on_detractor(self, callback):
        """Call ``callback(customer_hash, score, channel, time)`` on every
        accepted NPS answer of 0..6 (channel a label or None, time Unix
        seconds), during the call that adds the event; None unregisters.

        The callback must not use this object (the library refuses such
        calls with :class:`StateError`); an exception it raises is printed
        by ctypes and otherwise ignored.  See docs/monitoring.md.
        """
        if callback is None:
            self._lib.cxm_detractor_callback_set(self._h(), DETRACTOR_FN(), None)
            self._detractor_cb = None
            return

        def trampoline(user, customer, score, channel, time):
            callback(customer, score, self._callback_channel(channel), time)

        fn = DETRACTOR_FN(trampoline)
        self._lib.cxm_detractor_callback_set(self._h(), fn, None)
        self._detractor_cb = fn  # keep it alive while registered

    def watch(self, kpi, fire_at, callback, clear_at=None, direction="below",
              segment=None, channel=None, window_days=0, min_n=0):
        """Watch a KPI of a scope; returns the watch id.

        ``callback(watch_id, alerting, value, n, time)`` runs when the watch
        enters the alert state (``alerting`` True: the KPI reached
        ``fire_at``, ``>=`` for ``direction="above"``, ``<=`` for
        ``"below"``) and when it leaves it (False: the KPI went back past
        ``clear_at``, default ``fire_at``), never while n < ``min_n``.
        ``window_days`` 0 is all time, else the trailing window of that many
        days ending with the newest event's day.  Checked after every event
        of the scope; levels are in the KPI's units (as :meth:`kpi`).
        """
        k = self.kpi_id(kpi)
        seg, ch = self._scope(segment, channel)
        if isinstance(direction, str):
            direction = WatchDirection[direction.upper()]
        if clear_at is None:
            clear_at = fire_at

        def trampoline(user, wid, alerting, value, n, time):
            callback(wid, bool(alerting), None if value != value else value,
                     n, time)

        fn = WATCH_FN(trampoline)
        out = ctypes.c_int32()
        self._lib.cxm_watch_add(self._h(), k, seg, ch, int(window_days),
                                int(direction), float(fire_at),
                                float(clear_at), int(min_n), fn, None,
                                ctypes.byref(out))
        if not hasattr(self, "_watch_cbs"):
            self._watch_cbs = {}
        self._watch_cbs[out.value] = fn  # keep it alive while registered
        return out.value

    def unwatch(self, watch_id):
        """Remove a watch (its id may be reused)."""
        self._lib.cxm_watch_remove(self._h(), int(watch_id))
        getattr(self, "_watch_cbs", {}).pop(int(watch_id), None)

    def watch_state(self, watch_id):
        """``(alerting, value, n)`` of a watch now (value None when
        undefined)."""
        al = ctypes.c_int32()
        v = ctypes.c_double()
        n = ctypes.c_int64()
        self._lib.cxm_watch_get(self._h(), int(watch_id), ctypes.byref(al),
                                ctypes.byref(v), ctypes.byref(n))
        return bool(al.value), (None if v.value != v.value else v.value), n.value

    def set_benchmark(self, kpi, value, segment=None, channel=None):
        """Set the benchmark of a KPI (in the KPI's units) for a scope; with
        no segment and no channel it is the KPI's default for every scope.
        ``value`` None removes it."""
        k = self.kpi_id(kpi)
        seg, ch = self._scope(segment, channel)
        v = float("nan") if value is None else float(value)
        self._lib.cxm_benchmark_set(self._h(), k, seg, ch, v)

    def benchmark_gap(self, kpi, segment=None, channel=None, start=None,
                      end=None, window=None):
        """``{"value", "benchmark", "gap", "n"}`` for a KPI of a scope and
        window: gap = value - benchmark (None when the KPI is undefined).
        Raises :class:`NotFoundError` when no benchmark applies."""
        k = self.kpi_id(kpi)
        seg, ch = self._scope(segment, channel)
        t0, t1 = self._window(start, end, window)
        gap, v, b = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        n = ctypes.c_int64()
        self._lib.cxm_benchmark_gap(self._h(), k, seg, ch, t0, t1,
                                    ctypes.byref(gap), ctypes.byref(v),
                                    ctypes.byref(b), ctypes.byref(n))
        nan = lambda x: None if x != x else x
        return {"value": nan(v.value), "benchmark": b.value,
                "gap": nan(gap.value), "n": n.value}

    def customers_by_nps(self, category, segment=None, batch=4096):
        """Hashes of the customers (of a segment held now, or all) whose
        latest NPS answer is in ``category`` (a :class:`NpsCategory` or its
        name, e.g. ``"detractor"``), as a list of ints; compare with
        :meth:`customer_hash`."""
        if isinstance(category, str):
            category = NpsCategory[category.upper()]
        seg, _ = self._scope(segment, None)
        buf = (ctypes.c_uint64 * int(batch))()
        count = ctypes.c_size_t()
        cursor = ctypes.c_uint64(0)
        out = []
        while True:
            self._lib.cxm_customers_by_nps(self._h(), seg, int(category),
                                           cursor.value, buf, int(batch),
                                           ctypes.byref(count),
                                           ctypes.byref(cursor))
            out.extend(buf[:count.value])
            if cursor.value == 0:
                return out

    def erase_customer(self, customer):
        """Erase a customer (right to be forgotten): its record and hash go;
        event-level KPIs keep its anonymous contribution, customer-level
        KPIs no longer count it (docs/privacy.md).  Raises
        :class:`NotFoundError` for an unknown customer."""
        b = _to_bytes(customer, "customer")
        self._lib.cxm_customer_erase(self._h(), b, len(b))

    # -- statistics -------------------------------------------------------------

    def stat(self, stat):
        out = ctypes.c_int64()
        self._lib.cxm_stat_get(self._h(), int(stat), ctypes.byref(out))
        return out.value

    @property
    def stats(self):
        """dict: events_accepted, events_rejected, events_late, customers,
        memory_bytes, first_time, last_time."""
        return {s.name.lower(): self.stat(s) for s in Stat}

    @property
    def version(self):
        return version()


def _load_snapshot(cls, data):
    """Unpickling of :class:`Metrics` (see ``Metrics.__reduce__``)."""
    return cls.load(data)


# --------------------------------------------------------------------------
# Key files

def read_key_file(path, create=False):
    """The 16-byte hash key of a key file, read as ``cxm`` reads it: 16 raw
    bytes, or 32 hex digits and an optional line end.

    With ``create``, a missing file is created with 16 bytes from
    ``os.urandom`` and mode 0600 (written aside and linked into place, so
    that concurrent creators agree on one key).  A file that group or
    others may access raises PermissionError: the key is a secret.
    """
    path = os.fspath(path)
    if create and not os.path.exists(path):
        import tempfile
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=os.path.basename(path) + ".")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, os.urandom(KEY_SIZE))
            os.fsync(fd)
            os.close(fd)
            fd = -1
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
        finally:
            if fd >= 0:
                os.close(fd)
            os.unlink(tmp)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if st.st_mode & 0o077:
            raise PermissionError(
                "%s: the key file is accessible by group or others (mode "
                "%04o); it is a secret: chmod 600 %s"
                % (path, st.st_mode & 0o7777, path))
        data = f.read(40)
    if len(data) == KEY_SIZE:
        return data
    text = data.rstrip(b"\r\n")
    if len(text) == 2 * KEY_SIZE and len(data) - len(text) <= 2:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except ValueError:
            pass
    raise ValueError("%s: a key file holds 16 bytes, or 32 hex digits and a "
                     "line end (this one has %d bytes)" % (path, len(data)))


# --------------------------------------------------------------------------
# Column helpers

def _require_numpy():
    if _np is None:
        raise ImportError("cxmetrics: the column path needs NumPy")
    return _np


def _is_pandas(x):
    return type(x).__module__.split(".", 1)[0] == "pandas"


def _check_len(arr, n, what):
    if len(arr) != n:
        raise ValueError("%s has %d rows, times has %d" % (what, len(arr), n))


def _ptr(arr, ptype):
    return None if arr is None else arr.ctypes.data_as(ptype)


def _datetime64_seconds(arr, utc_offset):
    np = _np
    if np.any(np.isnat(arr)):
        raise ValueError("times contain NaT")
    secs = arr.astype("datetime64[s]").astype(np.int64)  # floors
    if utc_offset:
        secs = secs - utc_offset
    return np.ascontiguousarray(secs)


def _float_column(col, n, what):
    np = _np
    if _is_pandas(col):
        col = col.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(col)
    if arr.dtype == object:
        arr = np.array([np.nan if _is_missing(x) else x for x in arr.tolist()],
                       dtype=np.float64)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError("%s must be one-dimensional" % what)
    _check_len(arr, n, what)
    return arr


def _factorize(col):
    """(codes, uniques): codes an int64 array indexing uniques, -1 where
    missing (None, NaN, NA).  pandas objects go through pandas.factorize
    (categoricals use their codes), anything else through one dict pass."""
    np = _np
    if _is_pandas(col):
        import pandas as pd  # already imported by whoever made col
        if str(getattr(col, "dtype", "")) == "category":
            cat = col.cat if hasattr(col, "cat") else col
            return np.asarray(cat.codes, dtype=np.int64), list(cat.categories)
        codes, uniques = pd.factorize(col)
        return np.asarray(codes, dtype=np.int64), list(uniques)
    if isinstance(col, np.ndarray) and col.ndim != 1:
        raise ValueError("columns must be one-dimensional")
    # One hashing pass over the Python objects: several times faster than
    # np.unique(return_inverse=True), which sorts the strings.
    items = col.tolist() if hasattr(col, "tolist") else list(col)
    table = {}
    setdefault = table.setdefault
    try:  # the common case: no missing values, all hashable
        codes = [setdefault(x, len(table)) for x in items]
        if not any(_is_missing(u) for u in table):
            return np.array(codes, dtype=np.int64), list(table)
    except TypeError:
        pass
    table = {}
    codes = np.empty(len(items), np.int64)
    for i, x in enumerate(items):
        if _is_missing(x):
            codes[i] = -1
            continue
        c = table.get(x)
        if c is None:
            c = table[x] = len(table)
        codes[i] = c
    return codes, list(table)


def _ids_column(customers, n):
    """(data, offsets) of customer ids in the library's layout."""
    np = _np
    if isinstance(customers, tuple) and len(customers) == 2:
        data, offs = customers
        if not isinstance(data, bytes):
            data = np.ascontiguousarray(np.frombuffer(data, np.uint8)
                                        if not isinstance(data, np.ndarray)
                                        else data.view(np.uint8))
        offs = np.ascontiguousarray(offs, dtype=np.int64)
        if len(offs) != n + 1:
            raise ValueError("customer offsets must have n + 1 = %d entries"
                             % (n + 1))
        size = len(data)
        if n and (offs[0] < 0 or offs[-1] > size
                  or np.any(offs[1:] < offs[:-1])):
            raise ValueError("customer offsets are not monotone within data")
        return data, offs
    if _is_pandas(customers):
        customers = customers.tolist()
    elif isinstance(customers, np.ndarray) and customers.dtype.kind == "S":
        arr = np.ascontiguousarray(customers)
        _check_len(arr, n, "customers")
        w = arr.dtype.itemsize
        lens = np.char.str_len(arr).astype(np.int64)
        offs = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=offs[1:])
        if w == 0 or n == 0:
            return np.zeros(1, np.uint8), offs
        mat = arr.view(np.uint8).reshape(n, w)
        data = mat[np.arange(w)[None, :] < lens[:, None]]
        return np.ascontiguousarray(data) if data.size else \
            np.zeros(1, np.uint8), offs
    items = customers.tolist() if hasattr(customers, "tolist") \
        else list(customers)
    _check_len(items, n, "customers")
    offs = np.zeros(n + 1, np.int64)
    if all(type(x) is str for x in items):
        joined = "".join(items)
        data = joined.encode("utf-8", "surrogateescape")
        if len(data) == len(joined):  # ASCII: char lengths are byte lengths
            np.cumsum(np.fromiter(map(len, items), np.int64, count=n),
                      out=offs[1:])
            return data, offs
    enc = [b"" if _is_missing(x) else _to_bytes(x, "customer") for x in items]
    np.cumsum(np.fromiter(map(len, enc), np.int64, count=n), out=offs[1:])
    return b"".join(enc), offs


def _split_segments(text):
    """Labels of a ';'-joined segments cell: None = unchanged (empty), [] =
    cleared ("-")."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    text = text.strip()
    if not text:
        return None
    if text == "-":
        return []
    return [s for s in (p.strip() for p in text.split(";")) if s]


# ---------------------------------------------------------------------------
# Predictive CLV (docs/clv.md)

class ClvValue(enum.IntEnum):
    """Values of a fitted model (``cxm_clv_value``)."""
    R = 1
    ALPHA = 2
    A = 3
    B = 4
    P = 5
    Q = 6
    V = 7
    SE_R = 8
    SE_ALPHA = 9
    SE_A = 10
    SE_B = 11
    SE_P = 12
    SE_Q = 13
    SE_V = 14
    LOGLIK = 15
    CONVERGED = 16
    ITERATIONS = 17
    GG_LOGLIK = 18
    GG_CONVERGED = 19
    GG_CUSTOMERS = 20
    GG_ZERO_SPEND = 21
    CUSTOMERS = 22
    GROUPS = 23
    AS_OF_DAY = 24
    UNIT_DAYS = 25


_CLV_UNITS = {"days": 1, "weeks": 2}


def _table(columns):
    """A pandas DataFrame of the columns when pandas is installed, else the
    dict of lists itself."""
    try:
        import pandas
    except ImportError:
        return columns
    return pandas.DataFrame(columns)


class ClvModel:
    """A fitted BG/NBD + Gamma-Gamma model (from :meth:`Metrics.clv_fit`).

    Tables (:meth:`customers`, :meth:`predict`, :meth:`rfm`) come as a
    pandas DataFrame when pandas is installed, else as a dict of lists; rows
    are the model's customers in one fixed order, keyed by
    ``customer_hash`` (see :meth:`Metrics.customer_hash`). Closed with its
    :class:`Metrics` at the latest.
    """

    def __init__(self, metrics, ptr):
        self._metrics = metrics
        self._lib = metrics._lib
        self._m = ptr

    def close(self):
        """Release the model (idempotent)."""
        m, self._m = getattr(self, "_m", None), None
        if m:
            self._lib.cxm_clv_model_destroy(m)
            models = getattr(self._metrics, "_clv_models", None)
            if models is not None:
                models.discard(self)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _p(self):
        if not self._m:
            raise ValueError("ClvModel is closed")
        return self._m

    def _check(self, rc):
        if rc != 0:
            raw = self._lib.cxm_ctx_errmsg(self._metrics._h())
            raise _make_error(rc, raw.decode("utf-8", "replace") if raw else "")

    def get(self, what):
        """One value of the model (a :class:`ClvValue` or its name)."""
        if isinstance(what, str):
            what = ClvValue[what.upper()]
        v = ctypes.c_double()
        self._check(self._lib.cxm_clv_model_get(self._p(), int(what),
                                                ctypes.byref(v)))
        return v.value

    def __len__(self):
        return int(self.get(ClvValue.CUSTOMERS))

    @property
    def params(self):
        """Every estimate, standard error and fit statistic as a dict."""
        return {v.name.lower(): self.get(v) for v in ClvValue}

    def customers(self):
        """Per customer: customer_hash, x, t_x, T, mean_spend, total."""
        n = len(self)
        h = (ctypes.c_uint64 * n)()
        cols = [(ctypes.c_double * n)() for _ in range(5)]
        self._check(self._lib.cxm_clv_model_customers(self._p(), n, h, *cols))
        names = ("x", "t_x", "T", "mean_spend", "total")
        out = {"customer_hash": list(h)}
        out.update((k, list(c)) for k, c in zip(names, cols))
        return _table(out)

    def predict(self, horizon, discount=0.0):
        """Per customer: customer_hash, p_alive, expected_purchases,
        expected_spend, clv over ``horizon`` units with ``discount`` per
        unit."""
        n = len(self)
        h = (ctypes.c_uint64 * n)()
        self._check(self._lib.cxm_clv_model_customers(self._p(), n, h, None, None,
                                                      None, None, None))
        cols = [(ctypes.c_double * n)() for _ in range(4)]
        self._check(self._lib.cxm_clv_predict(self._p(), float(horizon),
                                              float(discount), n, *cols))
        names = ("p_alive", "expected_purchases", "expected_spend", "clv")
        out = {"customer_hash": list(h)}
        out.update((k, list(c)) for k, c in zip(names, cols))
        return _table(out)

    def customer(self, customer, horizon, discount=0.0):
        """Predictions for one customer id as a dict."""
        b = _to_bytes(customer, "customer")
        v = [ctypes.c_double() for _ in range(4)]
        self._check(self._lib.cxm_clv_customer(
            self._p(), b, len(b), float(horizon), float(discount),
            *[ctypes.byref(x) for x in v]))
        return dict(zip(("p_alive", "expected_purchases", "expected_spend",
                         "clv"), (x.value for x in v)))

    def segment(self, segment, horizon, discount=0.0):
        """Sums over the model's customers holding ``segment`` (a label, an
        id, or None for all): customers, p_alive_mean, expected_purchases,
        clv."""
        if segment is None:
            sid = -1
        elif isinstance(segment, int):
            sid = segment
        else:
            sid = self._metrics.find_segment(segment)
            if sid is None:
                raise NotFoundError("segment %r is not known" % (segment,),
                                    Status.NOTFOUND)
        n = ctypes.c_int64()
        v = [ctypes.c_double() for _ in range(3)]
        self._check(self._lib.cxm_clv_segment(
            self._p(), sid, float(horizon), float(discount), ctypes.byref(n),
            *[ctypes.byref(x) for x in v]))
        return {"customers": n.value, "p_alive_mean": v[0].value,
                "expected_purchases": v[1].value, "clv": v[2].value}

    def rfm(self):
        """Per customer: customer_hash, r, f, m (1..5) and segment name."""
        n = len(self)
        h = (ctypes.c_uint64 * n)()
        self._check(self._lib.cxm_clv_model_customers(self._p(), n, h, None, None,
                                                      None, None, None))
        r, f, m = ((ctypes.c_uint8 * n)() for _ in range(3))
        s = (ctypes.c_int32 * n)()
        self._check(self._lib.cxm_rfm_scores(self._p(), n, r, f, m, s))
        names = [self._lib.cxm_rfm_segment_name(x).decode() for x in s]
        return _table({"customer_hash": list(h), "r": list(r), "f": list(f),
                       "m": list(m), "segment": names})


def _metrics_clv_fit(self, as_of=None, unit="days", segment=None, penalty=0.0):
    """Fit BG/NBD and Gamma-Gamma on the handle's customers as of the day of
    ``as_of`` (default: the newest event's), in ``unit`` ("days" or
    "weeks"), optionally for one ``segment`` label; returns a
    :class:`ClvModel`."""
    if unit not in _CLV_UNITS:
        raise ArgumentError("unit must be 'days' or 'weeks', not %r" % (unit,),
                            Status.ARG)
    t = TIME_MAX if as_of is None else self.to_time(as_of)
    sid = -1
    if segment is not None:
        sid = self.find_segment(segment)
        if sid is None:
            raise NotFoundError("segment %r is not known" % (segment,),
                                Status.NOTFOUND)
    out = ctypes.c_void_p()
    self._lib.cxm_clv_fit(self._h(), t, _CLV_UNITS[unit], sid, float(penalty),
                          ctypes.byref(out))
    model = ClvModel(self, out.value)
    import weakref
    if getattr(self, "_clv_models", None) is None:
        self._clv_models = weakref.WeakSet()
    self._clv_models.add(model)
    return model


Metrics.clv_fit = _metrics_clv_fit
__all__ += ["ClvModel", "ClvValue"]
