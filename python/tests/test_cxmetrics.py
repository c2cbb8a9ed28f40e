"""Tests of the ctypes binding python/cxmetrics.py (stdlib unittest).

Run with the library under test named by CXMETRICS_LIB, e.g.

    CXMETRICS_LIB=/path/to/lib/.libs/libcxmetrics.so.0 \
        /usr/bin/python3 -m unittest discover -s python/tests -v

NumPy and pandas are imported at the top on purpose: without them these
tests fail, they do not skip.  Expected values are computed by hand from the
KPI definitions (docs/kpis.md), written out as the arithmetic they come from.
"""

import datetime
import decimal
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import cxmetrics  # noqa: E402
from cxmetrics import Metrics  # noqa: E402

if not os.environ.get("CXMETRICS_LIB"):
    raise RuntimeError("set CXMETRICS_LIB to the libcxmetrics.so.0 under test")

DAY = 86400
T = 1704067200  # 2024-01-01T00:00:00Z

# The small stream of every test below:
# (time, type, customer, channel, value, value2, segments)
STREAM = [
    (T + 0, "nps", "a", "web", 10, None, ["gold"]),
    (T + 60, "nps", "b", "email", 9, None, ["silver"]),
    (T + 120, "nps", "c", "web", 8, None, None),
    (T + 180, "nps", "d", "email", 3, None, None),
    (T + 240, "csat", "a", "web", 5, None, None),
    (T + 300, "csat", "b", "web", 4, None, None),
    (T + 360, "csat", "c", "email", 2, None, None),
    (T + 420, "ces", "d", "web", 3, None, None),
    (T + DAY, "purchase", "a", "web", 19.99, None, None),
    (T + DAY + 60, "purchase", "a", "web", 5.01, None, None),
    (T + DAY + 120, "purchase", "b", "email", 100.00, None, None),
    (T + DAY + 180, "refund", "b", "email", 10.00, None, None),
    (T + DAY + 240, "spend", None, "web", 50.00, None, None),
    (T + 2 * DAY, "session", "c", "web", 1, 5, None),
    (T + 2 * DAY + 60, "session", "d", "web", 3, 40, None),
    # a moves from gold to silver: customer-level KPIs move with it
    (T + 3 * DAY, "touch", "a", "web", None, None, ["silver"]),
]
N_STREAM = len(STREAM)


def stream_metrics(**opts):
    m = Metrics(**opts)
    for t, ty, cu, ch, v, v2, seg in STREAM:
        m.add_event(t, ty, cu, ch, v, v2, segments=seg)
    return m


def stream_columns():
    """The stream as plain Python columns."""
    cols = list(zip(*STREAM))
    return {
        "time": list(cols[0]), "type": list(cols[1]),
        "customer": list(cols[2]), "channel": list(cols[3]),
        "value": [np.nan if v is None else v for v in cols[4]],
        "value2": [np.nan if v is None else v for v in cols[5]],
        "segments": list(cols[6]),
    }


def csv_field(x):
    if x is None:
        return ""
    if isinstance(x, list):
        return ";".join(x)
    return str(x)


def stream_csv(bad_line_after=None):
    """The stream as canonical CSV bytes, with a free-text column that holds
    commas, quotes and Latin-1 bytes; optionally a malformed line."""
    out = [b"time,customer,type,channel,value,value2,segments,text"]
    for i, (t, ty, cu, ch, v, v2, seg) in enumerate(STREAM):
        fields = [str(t), csv_field(cu), ty, csv_field(ch), csv_field(v),
                  csv_field(v2), csv_field(seg)]
        line = ",".join(fields).encode() + b',"tr\xe8s bien, ""ok"""'
        out.append(line)
        if bad_line_after is not None and i == bad_line_after:
            out.append(b"yesterday,zed,nps,web,9,,,")
    return b"\n".join(out) + b"\n"


class TestLibrary(unittest.TestCase):
    def test_version(self):
        num = cxmetrics.version_number()
        self.assertEqual(num // 10000, cxmetrics.EXPECTED_MAJOR)
        self.assertEqual(cxmetrics.version(), "%d.%d.%d"
                         % (num // 10000, num // 100 % 100, num % 100))
        self.assertIn("libcxmetrics", os.path.basename(
            os.environ["CXMETRICS_LIB"]))

    def test_names(self):
        self.assertEqual(cxmetrics.event_type_name(8), "purchase")
        self.assertIsNone(cxmetrics.event_type_name(99))
        self.assertEqual(cxmetrics.kpi_name(cxmetrics.Kpi.AOV), "aov")
        self.assertEqual(cxmetrics.kpi_name(cxmetrics.Kpi.CLV_HISTORICAL),
                         "clv_historical")
        self.assertTrue(cxmetrics.strerror(cxmetrics.Status.LATE))

    def test_every_prototype_declared(self):
        lib = cxmetrics.library()
        for name, restype, argtypes, _ in cxmetrics._PROTOTYPES:
            f = getattr(lib, name)
            self.assertEqual(f.restype, restype, name)
            self.assertEqual(tuple(f.argtypes), tuple(argtypes), name)

    def test_option_bounds(self):
        lo, hi, d = Metrics.option_bounds(cxmetrics.Option.UTC_OFFSET)
        self.assertEqual((lo, hi, d), (-50400, 50400, 0))
        self.assertEqual(Metrics.option_bounds(cxmetrics.Option.DECIMALS),
                         (0, 6, 2))


class TestHandle(unittest.TestCase):
    def test_close_idempotent_and_context(self):
        with Metrics() as m:
            self.assertFalse(m.closed)
        self.assertTrue(m.closed)
        m.close()
        m.close()
        with self.assertRaises(ValueError):
            m.kpi("nps")
        m2 = Metrics()
        del m2  # __del__ releases the handle

    def test_options(self):
        with Metrics(utc_offset="+07:00", decimals=3,
                     max_lateness=datetime.timedelta(hours=1)) as m:
            self.assertEqual(m.utc_offset, 7 * 3600)
            self.assertEqual(m.decimals, 3)
            self.assertEqual(m.max_lateness, 3600)
            m.utc_offset = "-03:30"
            self.assertEqual(m.utc_offset, -(3 * 3600 + 30 * 60))
            m.max_lateness = 60
            self.assertEqual(m.max_lateness, 60)
            with self.assertRaises(cxmetrics.RangeError) as cm:
                m.decimals = 7
            self.assertEqual(cm.exception.status, cxmetrics.Status.RANGE)
            self.assertTrue(cm.exception.message)
            m.add_event(T, "touch", "x")
            with self.assertRaises(cxmetrics.StateError):
                m.decimals = 2  # only before the first event
            m.max_lateness = 120  # any time
        with self.assertRaises(ValueError):
            Metrics(utc_offset="7 hours")

    def test_key_and_customer_hash(self):
        key = bytes(range(16))
        with Metrics(key=key) as m1, Metrics(key=key) as m2, \
                Metrics(key=bytes(16)) as m3:
            h = m1.customer_hash("ana@example.com")
            self.assertIsInstance(h, int)
            self.assertTrue(0 <= h < 2 ** 64)
            self.assertEqual(h, m2.customer_hash(b"ana@example.com"))
            self.assertNotEqual(h, m3.customer_hash("ana@example.com"))
            self.assertNotEqual(h, m1.customer_hash("bob@example.com"))
            with self.assertRaises(cxmetrics.MissingError):
                m1.customer_hash("")
            with self.assertRaises(cxmetrics.CxmError):
                m1.key = b"short"

    def test_labels(self):
        with Metrics() as m:
            self.assertEqual(m.channel_id("web"), 0)
            self.assertEqual(m.channel_id("email"), 1)
            self.assertEqual(m.channel_id("web"), 0)
            self.assertEqual(m.find_channel("email"), 1)
            self.assertIsNone(m.find_channel("sms"))
            self.assertEqual(m.channels, ["web", "email"])
            self.assertEqual(m.segment_id("tier=gold"), 0)
            self.assertEqual(m.segments, ["tier=gold"])
            self.assertEqual(m.segset_id([]), 0)
            s1 = m.segset_id(["tier=gold", "region=EU"])
            self.assertEqual(m.segset_id(["region=EU", "tier=gold"]), s1)
            self.assertNotEqual(s1, 0)
            with self.assertRaises(cxmetrics.CxmError):
                m.channel_id("x" * (cxmetrics.LABEL_MAX + 1))
            with self.assertRaises(cxmetrics.NotFoundError):
                m.kpi("nps", channel="sms")


class TestKpis(unittest.TestCase):
    """Hand-computed values over STREAM."""

    @classmethod
    def setUpClass(cls):
        cls.m = stream_metrics()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def test_survey(self):
        m = self.m
        # answers 10, 9, 8, 3: promoters 2, passives 1, detractors 1, n 4
        v, n = m.kpi_n("nps")
        self.assertEqual(n, 4)
        self.assertAlmostEqual(v, 100 * (2 - 1) / 4)
        pp, pd_ = 2 / 4, 1 / 4
        moe = 100 * 1.96 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / 4)
        self.assertAlmostEqual(m.kpi("nps_moe95"), moe, places=9)
        self.assertEqual(m.kpi_int("nps_promoters"), 2)
        self.assertEqual(m.kpi_int("nps_passives"), 1)
        self.assertEqual(m.kpi_int("nps_detractors"), 1)
        # CSAT answers 5, 4, 2
        self.assertAlmostEqual(m.kpi("csat"), 100 * 2 / 3)
        self.assertAlmostEqual(m.kpi("csat_mean"), (5 + 4 + 2) / 3)
        self.assertAlmostEqual(m.kpi("ces"), 3.0)
        # by channel: web answers 10 (a) and 8 (c); email 9 (b) and 3 (d)
        self.assertAlmostEqual(m.kpi("nps", channel="web"), 100 * (1 - 0) / 2)
        self.assertAlmostEqual(m.kpi("nps", channel="email"), 100 * (1 - 1) / 2)
        # by segment: a (gold) answered 10, b (silver) 9
        self.assertAlmostEqual(m.kpi("nps", segment="gold"), 100.0)
        self.assertEqual(m.kpi_n("nps", segment="silver"), (100.0, 1))
        self.assertAlmostEqual(m.kpi("csat", segment="gold", channel="web"),
                               100.0)

    def test_commerce(self):
        m = self.m
        self.assertEqual(m.kpi_int("revenue"), 1999 + 501 + 10000)
        self.assertEqual(m.kpi_int("refunds"), 1000)
        self.assertEqual(m.kpi_int("net_revenue"), 12500 - 1000)
        self.assertEqual(m.kpi_decimal("net_revenue"), decimal.Decimal("115.00"))
        self.assertEqual(m.kpi("revenue"), 125.0)
        self.assertEqual(m.kpi_int_n("orders"), (3, 3))
        self.assertEqual(m.kpi_int("buyers"), 2)
        self.assertAlmostEqual(m.kpi("aov"), 125.0 / 3)
        self.assertEqual(m.kpi_n("aov")[1], 3)
        self.assertAlmostEqual(m.kpi("purchase_frequency"), 3 / 2)
        self.assertAlmostEqual(m.kpi("repeat_purchase_rate"), 1 / 2)
        # buyers' net revenue: a 25.00, b 90.00
        self.assertAlmostEqual(m.kpi("clv_historical"), (25.0 + 90.0) / 2)
        self.assertAlmostEqual(m.kpi("aov", channel="web"), 25.0 / 2)
        self.assertEqual(m.kpi_int("revenue", channel="email"), 10000)
        # event-level revenue stays with the segment held at purchase time
        self.assertEqual(m.kpi_int("revenue", segment="gold"), 2500)
        self.assertEqual(m.kpi_int("revenue", segment="silver"), 10000)
        # customer-level: a now holds silver only
        self.assertEqual(m.kpi_int("buyers", segment="gold"), 0)
        self.assertEqual(m.kpi_int("buyers", segment="silver"), 2)
        self.assertIsNone(m.kpi("purchase_frequency", segment="gold"))

    def test_acquisition(self):
        m = self.m
        self.assertEqual(m.kpi_int("spend"), 5000)
        self.assertAlmostEqual(m.kpi("cpa"), 50.0 / 3)
        self.assertAlmostEqual(m.kpi("cac"), 50.0 / 2)
        self.assertIsNone(m.kpi("cpl"))  # no lead events
        self.assertEqual(m.kpi_n("cpl")[1], 0)
        self.assertAlmostEqual(m.kpi("cpa", channel="web"), 50.0 / 2)
        self.assertAlmostEqual(m.kpi("cac", channel="web"), 50.0 / 1)
        self.assertEqual(m.kpi("cpa", channel="email"), 0.0 / 1)
        for k in ("spend", "cpl", "cpa", "cac"):  # no spend in segments
            self.assertIsNone(m.kpi(k, segment="gold"), k)

    def test_engagement(self):
        m = self.m
        self.assertEqual(m.kpi_int("sessions"), 2)
        self.assertAlmostEqual(m.kpi("bounce_rate"), 1 / 2)
        self.assertAlmostEqual(m.kpi("engaged_session_rate"), 1 / 2)
        # interactions: 2 sessions + 1 touch; customers with one: c, d, a
        self.assertAlmostEqual(m.kpi("engagement_rate"), 3 / 3)
        self.assertIsNone(m.kpi("open_rate"))
        self.assertEqual(m.kpi_int("events"), N_STREAM)

    def test_windows(self):
        m = self.m
        # [T + 1 day, T + 2 days): the four commerce events and the spend
        self.assertEqual(m.kpi_int("orders", start=T + DAY, end=T + 2 * DAY), 3)
        self.assertEqual(m.kpi_int("orders", start="2024-01-01",
                                   end="2024-01-02"), 0)
        self.assertEqual(m.kpi_int("orders", start=datetime.date(2024, 1, 2)),
                         3)
        self.assertEqual(m.kpi_int("refunds", start=datetime.datetime(
            2024, 1, 2, 23, tzinfo=datetime.timezone.utc)), 1000)
        win = m.trailing(2, as_of=T + DAY + 5)
        self.assertEqual(win, (T, T + 2 * DAY))
        self.assertEqual(m.kpi_int("events", window=win), 13)
        self.assertEqual(m.trailing(1), (T + 3 * DAY, T + 4 * DAY))
        self.assertEqual(m.day(T + DAY + 1), 19724)
        with self.assertRaises(cxmetrics.UnsupportedError):
            m.kpi("buyers", start=T)

    def test_undefined_ratios_are_none(self):
        with Metrics() as e:
            self.assertIsNone(e.kpi("nps"))
            self.assertEqual(e.kpi_n("nps"), (None, 0))
            self.assertIsNone(e.kpi("aov"))
            self.assertIsNone(e.kpi("csat_mean"))
            self.assertEqual(e.kpi("revenue"), 0.0)
            self.assertEqual(e.kpi_int("orders"), 0)
            with self.assertRaises(cxmetrics.UnsupportedError):
                e.kpi_int("aov")

    def test_stats(self):
        s = self.m.stats
        self.assertEqual(s["events_accepted"], N_STREAM)
        self.assertEqual(s["events_rejected"], 0)
        self.assertEqual(s["customers"], 4)
        self.assertGreater(s["memory_bytes"], 0)
        self.assertEqual(s["first_time"], T)
        self.assertEqual(s["last_time"], T + 3 * DAY)


class TestMoneyAndTime(unittest.TestCase):
    def test_exact_money(self):
        with Metrics() as m:
            for i in range(10):
                m.add_event(T + i, "purchase", "c%d" % i, value=0.10)
            self.assertNotEqual(sum([0.10] * 10), 1.0)  # floats drift...
            self.assertEqual(m.kpi_int("revenue"), 100)  # ...minor units do not
            self.assertEqual(m.kpi("revenue"), 1.0)
            self.assertEqual(m.kpi_decimal("revenue"), decimal.Decimal("1.00"))

    def test_extra_decimals_round_half_away_from_zero(self):
        with Metrics() as m:
            m.add_event(T, "purchase", "a", value=0.125)  # exact in binary
            self.assertEqual(m.kpi_int("revenue"), 13)
        with Metrics(decimals=0) as m:
            m.add_event(T, "purchase", "a", value=2.5)
            self.assertEqual(m.kpi_int("revenue"), 3)
            self.assertEqual(m.kpi_decimal("revenue"), decimal.Decimal(3))

    def test_times(self):
        with Metrics(utc_offset="+07:00") as m:
            # 2024-01-01T18:00Z is 2024-01-02 01:00 in UTC+07:00
            m.add_event("2024-01-01T18:00:00Z", "purchase", "a", value=1)
            m.add_event(datetime.datetime(2024, 1, 3, 6, 59), "purchase", "a",
                        value=1)  # naive: in the handle's offset
            self.assertEqual(m.stats["last_time"],
                             T + 2 * DAY + 6 * 3600 + 59 * 60 - 7 * 3600)
            self.assertEqual(m.to_time("2024-01-02"), T + DAY - 7 * 3600)
            self.assertEqual(m.kpi_int("orders", start="2024-01-02",
                                       end="2024-01-03"), 1)
            self.assertEqual(m.to_time(np.datetime64("2024-01-01T07:00:00")),
                             T)
        with Metrics() as u:
            u.add_event(T + 18 * 3600, "purchase", "a", value=1)
            self.assertEqual(u.kpi_int("orders", start="2024-01-02",
                                       end="2024-01-03"), 0)


class TestErrors(unittest.TestCase):
    def test_out_of_range_score(self):
        with Metrics() as m:
            with self.assertRaises(cxmetrics.RangeError) as cm:
                m.add_event(T, "nps", "a", value=11)
            e = cm.exception
            self.assertIsInstance(e, cxmetrics.CxmError)
            self.assertEqual(e.status, cxmetrics.Status.RANGE)
            self.assertTrue(e.message)
            self.assertNotEqual(e.message, cxmetrics.strerror(3))
            self.assertEqual(str(e), e.message)
            self.assertEqual(m.stats["events_rejected"], 1)
            self.assertIsNone(m.kpi("nps"))

    def test_unknown_type(self):
        with Metrics() as m:
            with self.assertRaises(cxmetrics.UnknownTypeError) as cm:
                m.add_event(T, 99, "a")
            self.assertEqual(cm.exception.status, cxmetrics.Status.TYPE)
            self.assertTrue(cm.exception.message)
            with self.assertRaises(cxmetrics.UnknownTypeError) as cm:
                m.add_event(T, "bogus", "a")
            self.assertIn("bogus", str(cm.exception))

    def test_late_event(self):
        with Metrics(max_lateness=3600) as m:
            m.add_event(T + 10000, "purchase", "a", value=5)
            with self.assertRaises(cxmetrics.LateEventError) as cm:
                m.add_event(T, "purchase", "a", value=5)
            self.assertEqual(cm.exception.status, cxmetrics.Status.LATE)
            self.assertTrue(cm.exception.message)
            self.assertNotIn("\"a\"", cm.exception.message)
            m.add_event(T, "purchase", "b", value=5)  # per customer
            self.assertEqual(m.stats["events_late"], 1)
            self.assertEqual(m.kpi_int("orders"), 2)

    def test_missing_amount_and_customer(self):
        with Metrics() as m:
            with self.assertRaises(cxmetrics.MissingError):
                m.add_event(T, "purchase", "a")
            with self.assertRaises(cxmetrics.MissingError):
                m.add_event(T, "nps", None, value=9)

    def test_rejected_event_with_segments_changes_nothing(self):
        with Metrics() as m:
            with self.assertRaises(cxmetrics.RangeError):
                m.add_event(T, "nps", "a", value=11, segments=["gold"])
            m.add_event(T, "nps", "a", value=10)
            self.assertEqual(m.stats["events_accepted"], 1)
            self.assertEqual(m.kpi_n("nps"), (100.0, 1))
            self.assertEqual(m.kpi_n("nps", segment="gold"), (None, 0))


class TestColumns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with stream_metrics() as m:
            cls.expected = m.report(meta=False)
        cls.maxDiff = None

    def test_numpy_columns(self):
        c = stream_columns()
        with Metrics() as m:
            res = m.add_events(
                np.array(c["time"], dtype=np.int64),
                np.array(c["type"], dtype=object),
                np.array(c["customer"], dtype=object),
                np.array(c["channel"], dtype=object),
                np.array(c["value"], dtype=np.float64),
                np.array(c["value2"], dtype=np.float64),
                c["segments"])
            accepted, statuses = res
            self.assertEqual(accepted, N_STREAM)
            self.assertEqual(statuses.tolist(), [0] * N_STREAM)
            self.assertEqual(len(res.rejected), 0)
            self.assertEqual(m.report(meta=False), self.expected)
            self.assertAlmostEqual(m.kpi("nps"), 25.0)

    def test_numpy_typed_columns(self):
        c = stream_columns()
        with Metrics() as m:
            chan = np.array([-1 if x is None else m.channel_id(x)
                             for x in c["channel"]], dtype=np.int32)
            sets = np.array([-1 if s is None else m.segset_id(s)
                             for s in c["segments"]], dtype=np.int32)
            types = np.array([int(getattr(cxmetrics.EventType, x.upper()))
                              for x in c["type"]], dtype=np.int32)
            ids = np.array([b"" if x is None else x.encode()
                            for x in c["customer"]], dtype="S")
            times = np.array(c["time"], dtype=np.int64)
            self.assertTrue(np.shares_memory(m._times_column(times), times))
            self.assertTrue(np.shares_memory(m._types_column(types, N_STREAM),
                                             types))
            res = m.add_events(times, types, ids, chan, c["value"],
                               c["value2"], sets)
            self.assertEqual(res.accepted, N_STREAM)
            self.assertEqual(m.report(meta=False), self.expected)

    def test_prebuilt_id_buffer(self):
        c = stream_columns()
        ids = [b"" if x is None else x.encode() for x in c["customer"]]
        offs = np.cumsum([0] + [len(x) for x in ids])
        with Metrics() as m:
            m.add_events(c["time"], c["type"], (b"".join(ids), offs),
                         c["channel"], c["value"], c["value2"], c["segments"])
            self.assertEqual(m.report(meta=False), self.expected)

    def test_pandas_dataframe(self):
        c = stream_columns()
        df = pd.DataFrame({
            "ts": pd.to_datetime(c["time"], unit="s"),
            "type": pd.Categorical(c["type"]),
            "customer": pd.array(c["customer"], dtype="string"),
            "channel": c["channel"],
            "value": c["value"],
            "value2": c["value2"],
            "segments": ["" if s is None else ";".join(s)
                         for s in c["segments"]],
            "text": ["free, text"] * N_STREAM,
        })
        with Metrics() as m:
            res = m.add_events_df(df, columns={"time": "ts"})
            self.assertEqual(res.accepted, N_STREAM)
            self.assertEqual(m.report(meta=False), self.expected)

    def test_pandas_tz_aware_and_offset(self):
        # tz-aware instants are kept; naive datetime64 is in the handle's offset
        c = stream_columns()
        aware = pd.Series(pd.to_datetime(c["time"], unit="s", utc=True)) \
            .dt.tz_convert("Asia/Jakarta")
        naive = pd.Series(pd.to_datetime([t + 7 * 3600 for t in c["time"]],
                                         unit="s"))
        for times in (aware, naive):
            with Metrics(utc_offset="+07:00") as m:
                m.add_events(times, c["type"], c["customer"], c["channel"],
                             c["value"], c["value2"], c["segments"])
                self.assertEqual(m.stats["first_time"], T)
                self.assertEqual(m.stats["last_time"], T + 3 * DAY)

    def test_rejected_rows(self):
        times = np.array([T, T + 1, T + 2, T + 3], dtype=np.int64)
        types = ["nps", "nps", "warp", "nps"]
        values = [9, 11, 5, 6]
        ids = ["a", "b", "c", "d"]
        with Metrics() as m:
            res = m.add_events(times, types, ids, values=values)
            self.assertEqual(res.accepted, 2)
            self.assertEqual(res.rejected.tolist(), [1, 2])
            self.assertEqual(res.statuses[1], cxmetrics.Status.RANGE)
            self.assertEqual(res.statuses[2], cxmetrics.Status.TYPE)
            self.assertTrue(res.message)
            self.assertAlmostEqual(m.kpi("nps"), 100 * (1 - 1) / 2)
        with Metrics() as m:
            with self.assertRaises(cxmetrics.RangeError) as cm:
                m.add_events(times, types, ids, values=values, strict=True)
            self.assertEqual(cm.exception.result.accepted, 2)
            self.assertEqual(m.kpi_int("nps_promoters"), 1)

    def test_segments_set_and_cleared(self):
        with Metrics() as m:
            m.add_event(T, "purchase", "a", value=1, segments="gold;vip")
            self.assertEqual(m.kpi_int("buyers", segment="gold"), 1)
            self.assertEqual(m.kpi_int("buyers", segment="vip"), 1)
            m.add_event(T + 1, "touch", "a", segments=[])  # clears
            self.assertEqual(m.kpi_int("buyers", segment="gold"), 0)
            self.assertEqual(m.kpi_int("buyers", segment="vip"), 0)
            self.assertEqual(m.kpi_int("buyers"), 1)
            self.assertEqual(m.kpi_int("revenue", segment="gold"), 100)
            m.add_events([T + 2, T + 3], ["touch", "touch"], ["a", "b"],
                         segments=["vip", ""])  # "" leaves b unchanged
            self.assertEqual(m.kpi_int("buyers", segment="vip"), 1)
            self.assertEqual(m.kpi_int("interactions", segment="vip"), 1)
            m.add_events([T + 4], ["touch"], ["a"], segments=["-"])  # clears
            self.assertEqual(m.kpi_int("buyers", segment="vip"), 0)
            m.set_segments("a", ["gold"])
            self.assertEqual(m.kpi_int("buyers", segment="gold"), 1)

    def test_length_mismatch(self):
        with Metrics() as m:
            with self.assertRaises(ValueError):
                m.add_events([T, T], ["touch"], ["a", "b"])


class TestCsv(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with stream_metrics() as m:
            cls.expected = m.report(meta=False)
        cls.maxDiff = None

    def test_bytes_with_malformed_line(self):
        seen = []
        with Metrics() as m:
            res = m.ingest_csv(stream_csv(bad_line_after=2),
                               on_error=lambda *a: seen.append(a))
            lines, accepted, rejected = res
            self.assertEqual((lines, accepted, rejected),
                             (N_STREAM + 1, N_STREAM, 1))
            # header is line 1, stream rows 0..2 are lines 2..4
            self.assertEqual(len(res.errors), 1)
            line, msg = res.errors[0]
            self.assertEqual(line, 5)
            self.assertTrue(msg)
            self.assertEqual(res.errors[0].status, cxmetrics.Status.PARSE)
            self.assertEqual(seen, [(5, cxmetrics.Status.PARSE, msg)])
            self.assertEqual(m.report(meta=False), self.expected)

    def test_file_path_and_file_object(self):
        data = stream_csv()
        with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
            f.write(data)
        try:
            with Metrics() as m:
                self.assertEqual(tuple(m.ingest_csv(f.name)),
                                 (N_STREAM, N_STREAM, 0))
                self.assertEqual(m.report(meta=False), self.expected)
        finally:
            os.unlink(f.name)
        with Metrics() as m:
            res = m.ingest_csv(io.BytesIO(data), chunk_size=7)
            self.assertEqual(res.errors, [])
            self.assertEqual(m.report(meta=False), self.expected)

    def test_missing_file(self):
        with Metrics() as m:
            with self.assertRaises(cxmetrics.CxmIOError):
                m.ingest_csv("/nonexistent/events.csv")

    def test_header_without_required_column(self):
        with Metrics() as m:
            with self.assertRaises(cxmetrics.ParseError) as cm:
                m.ingest_csv(b"customer,value\na,1\n")
            self.assertTrue(cm.exception.message)

    def test_callback_exception_propagates(self):
        def boom(line, status, message):
            raise KeyError(line)
        with Metrics() as m:
            with self.assertRaises(KeyError):
                m.ingest_csv(stream_csv(bad_line_after=0), on_error=boom)


class TestReport(unittest.TestCase):
    def test_structure(self):
        with stream_metrics() as m:
            r = m.report(meta=False)
        self.assertEqual(set(r), {"all", "segments", "channels",
                                  "segment_channels", "funnel",
                                  "funnel_channels", "funnel_segments",
                                  "attribution"})
        keys = ["nps", "csat", "csat_mean", "ces", "revenue", "refunds",
                "net_revenue", "orders", "buyers", "aov",
                "purchase_frequency", "repeat_purchase_rate", "clv_historical",
                "lead_conversion_rate", "sessions", "bounce_rate",
                "engaged_session_rate", "engagement_rate", "open_rate",
                "click_rate", "click_to_open_rate", "spend", "cpl", "cpa",
                "cac", "active_customers", "churned_customers", "churn_rate",
                "retention_rate", "avg_lifespan_days", "clv_formula"]
        self.assertEqual(list(r["all"]), keys)
        nps = r["all"]["nps"]
        self.assertEqual(set(nps), {"value", "n", "moe95", "promoters",
                                    "passives", "detractors"})
        self.assertEqual((nps["value"], nps["n"], nps["promoters"],
                          nps["passives"], nps["detractors"]),
                         (25.0, 4, 2, 1, 1))
        self.assertEqual(r["all"]["revenue"], {"value": 125.0, "n": 3})
        self.assertEqual(r["all"]["orders"], {"value": 3, "n": 3})
        self.assertEqual(r["all"]["cpl"], {"value": None, "n": 0})
        self.assertEqual(sorted(r["segments"]), ["gold", "silver"])
        self.assertEqual(sorted(r["channels"]), ["email", "web"])
        self.assertIsNone(r["segments"]["gold"]["spend"]["value"])
        self.assertEqual(r["segment_channels"]["gold"]["web"]["nps"]["value"],
                         100.0)
        self.assertEqual(r["segment_channels"]["silver"]["email"]["revenue"]
                         ["value"], 100.0)
        self.assertEqual(r["channels"]["web"]["spend"]["value"], 50.0)
        # a segment x channel pair is listed only when it has an event:
        # gold (a until T + 3 days) only ever had web events
        self.assertEqual(list(r["segment_channels"]["gold"]), ["web"])
        self.assertEqual(sorted(r["segment_channels"]["silver"]),
                         ["email", "web"])

    def test_meta_and_window(self):
        with stream_metrics(utc_offset="+07:00") as m:
            r = m.report(start="2024-01-02", end="2024-01-03")
            self.assertEqual(list(r), ["meta", "window", "all", "channels",
                                       "segments", "segment_channels",
                                       "funnel", "funnel_channels",
                                       "funnel_segments", "attribution"])
            meta = r["meta"]
            self.assertEqual(meta["events_accepted"], N_STREAM)
            self.assertEqual(meta["customers"], 4)
            self.assertEqual((meta["channels"], meta["segments"]), (2, 2))
            self.assertEqual(meta["utc_offset"], "+07:00")
            self.assertEqual(meta["first_time"], "2024-01-01T07:00:00+07:00")
            self.assertEqual(meta["version"], cxmetrics.version())
            self.assertEqual(r["window"]["from"], "2024-01-02T00:00:00+07:00")
            self.assertIn("buyers", r["window"]["customer_level_kpis"])
            # local 2024-01-02 holds T + 1 day 00:00..16:59 UTC: the commerce
            # events; customer-level KPIs stay all-time
            self.assertEqual(r["all"]["orders"], {"value": 3, "n": 3})
            self.assertEqual(r["all"]["nps"]["n"], 0)
            self.assertEqual(r["all"]["sessions"]["value"], 0)
            self.assertEqual(r["all"]["buyers"]["value"], 2)
            self.assertEqual(r["all"]["engagement_rate"]["n"], 3)

    def test_same_as_cxm_command(self):
        """report() equals `cxm report --format json` on the bundled sample
        stream (needs the built cxm: $CXM_BIN or $abs_top_builddir/cli/cxm,
        as `make check` provides)."""
        cxm = os.environ.get("CXM_BIN") or os.path.join(
            os.environ.get("abs_top_builddir", "/nonexistent"), "cli", "cxm")
        sample = os.path.join(os.path.dirname(os.path.dirname(HERE)),
                              "examples", "data", "sample-events.csv")
        if not os.access(cxm, os.X_OK) or not os.path.exists(sample):
            self.skipTest("cxm or the sample stream not found")
        for args, kw in (([], {}),
                         (["--from", "2026-01-10", "--to", "2026-01-20",
                           "--utc-offset", "+07:00", "--decimals", "3"],
                          {"utc_offset": "+07:00", "decimals": 3})):
            out = subprocess.run([cxm, "report", "--format", "json"] + args
                                 + [sample], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, check=True)
            want = json.loads(out.stdout)
            with Metrics(**kw) as m:
                res = m.ingest_csv(sample)
                self.assertGreater(res.accepted, 0)
                got = m.report(start=want.get("window", {}).get("from"),
                               end=want.get("window", {}).get("to"))
            for top in ("meta", "window"):
                if top in want:
                    want[top].pop("files", None)
                    got[top].pop("files", None)
            self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
