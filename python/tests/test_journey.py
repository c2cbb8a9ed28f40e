"""Tests of the journey funnel and attribution queries of the binding
(python/cxmetrics.py), stdlib unittest.

Figures are compared with a reference written here from the definitions
(docs/funnel.md, docs/attribution.md), independently of the C code: on a
random multi-channel stream, and on the real CDNOW purchase log (second
purchases within the retention window, time between the first two).
"""

import math
import os
import random
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import cxmetrics  # noqa: E402
from cxmetrics import Metrics  # noqa: E402

if not os.environ.get("CXMETRICS_LIB"):
    raise RuntimeError("set CXMETRICS_LIB to the libcxmetrics.so.0 under test")

DAY = 86400
T = 1767225600  # 2026-01-01T00:00:00Z
KEY = bytes(range(16))
CHANNELS = ["web", "email", "ads", "store"]
STAGE_OF = {"touch": 1, "message_open": 1, "engage": 2, "message_click": 2,
            "lead": 2, "purchase": 3}


def nearest_rank(values, q):
    """The nearest-rank quantile: the sample of rank max(1, ceil(q n))."""
    xs = sorted(values)
    r = max(1, math.ceil(q * len(xs) - 1e-9))
    return xs[r - 1]


def random_stream(seed, n=6000, customers=150):
    """Events in time order (no late ones): (t, type, customer, channel,
    value)."""
    rnd = random.Random(seed)
    types = ["touch", "session", "message_open", "engage", "message_click",
             "lead", "purchase", "purchase", "nps"]
    t = T
    out = []
    for _ in range(n):
        t += rnd.randrange(0, 5 * 3600)
        typ = rnd.choice(types)
        ch = rnd.choice(CHANNELS + [None])
        if typ == "purchase":
            value = rnd.randrange(0, 50000) / 100
        elif typ == "session":
            value = rnd.randrange(0, 4)
        elif typ == "nps":
            value = 8
        else:
            value = None
        out.append((t, typ, "c%d" % rnd.randrange(customers), ch, value))
    return out


def ref_funnel(stream, retention_days=365):
    """Per customer, the definition of docs/funnel.md for an in-order
    stream: highest stage, first-stage channel, timed steps."""
    cust = {}
    steps = {2: [], 3: [], 4: []}
    for t, typ, c, ch, v in stream:
        k = STAGE_OF.get(typ, 0)
        if typ == "session":
            k = 2 if v >= 2 else 1
        if not k:
            continue
        st = cust.setdefault(c, {"h": 0, "ch": None, "t": None})
        h = st["h"]
        if h == 0:
            st.update(h=k, ch=ch, t=t)
        elif k == 3 and h >= 3:
            if h == 3 and t - st["t"] <= retention_days * DAY:
                steps[4].append((t - st["t"], st["ch"]))
                st.update(h=4, t=t)
        elif k > h:
            if k == h + 1:
                steps[k].append((t - st["t"], st["ch"]))
            st.update(h=k, t=t)
    return cust, steps


def ref_attribution(stream, lookback_days=30, half_life_days=7, kept=8):
    """Credits per model and channel, as floats, from the definition."""
    models = cxmetrics.ATTRIBUTION_MODELS
    credit = {m: {} for m in models}
    revenue = {m: {} for m in models}
    touches = {}
    for t, typ, c, ch, v in stream:
        if typ in ("touch", "session", "message_click", "engage"):
            touches.setdefault(c, []).append((t, ch))
            continue
        if typ != "purchase":
            continue
        kept_t = touches.get(c, [])[-kept:]  # in order: the latest K
        sel = [x for x in kept_t if x[0] <= t and t - x[0] <= lookback_days * DAY]
        n = len(sel)
        for m in models:
            if n == 0:
                w = [(ch, 1.0)]
            elif m == "first_touch":
                w = [(sel[0][1], 1.0)]
            elif m == "last_touch":
                w = [(sel[-1][1], 1.0)]
            elif m == "linear":
                w = [(x[1], 1.0 / n) for x in sel]
            elif m == "time_decay":
                raw = [2 ** (-(t - x[0]) / (half_life_days * DAY)) for x in sel]
                w = [(x[1], r / sum(raw)) for x, r in zip(sel, raw)]
            else:
                if n == 1:
                    w = [(sel[0][1], 1.0)]
                elif n == 2:
                    w = [(x[1], 0.5) for x in sel]
                else:
                    w = [(x[1], 0.2 / (n - 2)) for x in sel]
                    w[0] = (sel[0][1], 0.4)
                    w[-1] = (sel[-1][1], 0.4)
            for chan, share in w:
                key = chan if chan is not None else ""
                credit[m][key] = credit[m].get(key, 0.0) + share
                revenue[m][key] = revenue[m].get(key, 0.0) + share * v
    return credit, revenue


def feed(m, stream):
    for t, typ, c, ch, v in stream:
        m.add_event(t, typ, c, channel=ch, value=v)


class TestFunnel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stream = random_stream(11)
        cls.m = Metrics()
        cls.m._set_key(KEY)
        for ch in CHANNELS:
            cls.m.channel_id(ch)
        feed(cls.m, cls.stream)
        cls.cust, cls.steps = ref_funnel(cls.stream)

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def check_scope(self, got, custs, steps):
        counts = [sum(1 for s in custs if s["h"] >= k) for k in (1, 2, 3, 4)]
        for i, name in enumerate(cxmetrics.FUNNEL_STAGES):
            g = got[name]
            self.assertEqual(g["customers"], counts[i], name)
            if i:
                self.assertEqual(g["drop_off"], counts[i - 1] - counts[i])
                self.assertAlmostEqual(g["conversion_from_previous"],
                                       counts[i] / counts[i - 1], places=12)
                self.assertLessEqual(g["conversion_from_previous"], 1.0)
                xs = [d for d, _ in steps[i + 1]]
                self.assertEqual(g["timed_steps"], len(xs), name)
                for key, q in (("median_days_from_previous", 0.5),
                               ("p90_days_from_previous", 0.9)):
                    want = nearest_rank(xs, q) / DAY
                    self.assertLessEqual(abs(g[key] - want), want / 64 + 1e-9,
                                         (name, key, g[key], want))
            else:
                self.assertIsNone(g["conversion_from_previous"])
                self.assertIsNone(g["median_days_from_previous"])

    def test_all(self):
        got = self.m.funnel()
        self.assertGreater(got["retention"]["customers"], 10)
        self.check_scope(got, list(self.cust.values()), self.steps)

    def test_per_channel(self):
        for ch in CHANNELS:
            custs = [s for s in self.cust.values() if s["ch"] == ch]
            steps = {k: [x for x in v if x[1] == ch] for k, v in self.steps.items()}
            self.check_scope(self.m.funnel(channel=ch), custs, steps)

    def test_report_matches(self):
        rep = self.m.report(meta=False)
        self.assertEqual(rep["funnel"], self.m.funnel())
        self.assertEqual(set(rep["funnel_channels"]), set(CHANNELS))
        self.assertEqual(rep["funnel_channels"]["web"], self.m.funnel(channel="web"))
        self.assertEqual(rep["funnel_segments"], {})

    def test_quantile_arguments(self):
        days, n = self.m.funnel_days("awareness", 0.5)
        self.assertIsNone(days)
        self.assertEqual(n, 0)
        with self.assertRaises(cxmetrics.RangeError):
            self.m.funnel_days("engagement", 1.5)
        with self.assertRaises(cxmetrics.NotFoundError):
            self.m.funnel(channel="nope")


class TestAttribution(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stream = random_stream(23)
        cls.m = Metrics()
        cls.m._set_key(KEY)
        for ch in CHANNELS:
            cls.m.channel_id(ch)
        cls.m.add_event(T, "spend", channel="web", value=1000)
        feed(cls.m, cls.stream)
        cls.credit, cls.revenue = ref_attribution(cls.stream)

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def test_against_reference(self):
        got = self.m.attribution()
        self.assertEqual(list(got), list(cxmetrics.ATTRIBUTION_MODELS))
        for model, per in got.items():
            want_keys = set(CHANNELS) | ({""} if self.credit[model].get("") else set())
            self.assertEqual(set(per), want_keys)
            for ch, g in per.items():
                self.assertAlmostEqual(g["orders"], self.credit[model].get(ch, 0.0),
                                       places=6, msg=(model, ch))
                self.assertAlmostEqual(g["revenue"], self.revenue[model].get(ch, 0.0),
                                       places=4, msg=(model, ch))
            web = per["web"]
            self.assertAlmostEqual(web["roas"], web["revenue"] / 1000, places=12)
            self.assertIsNone(per["email"]["roas"])

    def test_sums_exact(self):
        purchases = [v for _, typ, _, _, v in self.stream if typ == "purchase"]
        minor = sum(round(v * 100) for v in purchases)
        for model in cxmetrics.ATTRIBUTION_MODELS:
            x = self.m.attribution(model, exact=True)
            self.assertEqual(x["orders_e9"], len(purchases) * 10 ** 9)
            self.assertEqual((x["revenue_minor"], x["revenue_minor_e9"]), (minor, 0))

    def test_report_matches(self):
        self.assertEqual(self.m.report(meta=False)["attribution"], self.m.attribution())

    def test_module_off(self):
        with Metrics() as m:
            m.set_option(4, 0)  # CXM_OPT_MODULES: none
            m.add_event(T, "purchase", "a", value=1)
            with self.assertRaises(cxmetrics.UnsupportedError):
                m.attribution("linear")
            with self.assertRaises(cxmetrics.UnsupportedError):
                m.funnel()
            rep = m.report(meta=False)
            self.assertIsNone(rep["funnel"])
            self.assertIsNone(rep["attribution"])


def cdnow_rows():
    base = os.environ.get("CXM_DATA_DIR")
    path = os.path.join(base, "cdnow", "CDNOW_master.txt") if base else None
    if not path or not os.path.exists(path):
        if os.environ.get("CXM_REQUIRE_DATA") == "1":
            raise RuntimeError("CDNOW_master.txt not found under CXM_DATA_DIR")
        raise unittest.SkipTest("CXM_DATA_DIR not set")
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            cid, date, _cds, dollars = line.split()
            rows.append((cid, date, dollars))
    return rows


class TestCdnow(unittest.TestCase):
    """The real CDNOW log: purchases only, so every buyer is at transaction
    and retention is a second purchase within 365 days."""

    def test_retention_stage(self):
        import datetime as dt
        rows = cdnow_rows()
        firsts, seconds = {}, {}
        times = []
        for cid, date, dollars in rows:
            d = dt.datetime.strptime(date, "%Y%m%d").replace(tzinfo=dt.timezone.utc)
            t = int(d.timestamp())
            times.append(t)
            if cid not in firsts:
                firsts[cid] = t
            elif cid not in seconds:
                seconds[cid] = t
        gaps = [seconds[c] - firsts[c] for c in seconds
                if seconds[c] - firsts[c] <= 365 * DAY]
        with Metrics() as m:
            res = m.add_events(times, ["purchase"] * len(rows),
                               [r[0] for r in rows], ["cdnow"] * len(rows),
                               [float(r[2]) for r in rows], strict=True)
            self.assertEqual(res.accepted, 69659)
            f = m.funnel()
            self.assertEqual(f["awareness"]["customers"], 23570)
            self.assertEqual(f["transaction"]["customers"], 23570)
            self.assertEqual(f["retention"]["customers"], len(gaps))
            self.assertEqual(f["retention"]["timed_steps"], len(gaps))
            self.assertEqual(f["transaction"]["timed_steps"], 0)  # skipped
            for key, q in (("median_days_from_previous", 0.5),
                           ("p90_days_from_previous", 0.9)):
                want = nearest_rank(gaps, q) / DAY
                self.assertLessEqual(abs(f["retention"][key] - want), want / 64)
            # No touches: every purchase credits its own channel in full.
            cents = sum(int(round(float(r[2]) * 100)) for r in rows)
            for model in cxmetrics.ATTRIBUTION_MODELS:
                x = m.attribution(model, "cdnow", exact=True)
                self.assertEqual(x["orders_e9"], 69659 * 10 ** 9)
                self.assertEqual((x["revenue_minor"], x["revenue_minor_e9"]), (cents, 0))


if __name__ == "__main__":
    unittest.main()
