"""Tests of the monitoring, list and erasure methods of python/cxmetrics.py
(stdlib unittest; CXMETRICS_LIB names the library under test).  Expected
values are worked out by hand beside each stream."""

import math
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import cxmetrics  # noqa: E402
from cxmetrics import Metrics  # noqa: E402

if not os.environ.get("CXMETRICS_LIB"):
    raise RuntimeError("set CXMETRICS_LIB to the libcxmetrics.so.0 under test")

DAY = 86400
T = 1704067200  # 2024-01-01T00:00:00Z
KEY = bytes(range(16))


class DetractorTest(unittest.TestCase):
    def test_calls_and_refused_reentry(self):
        calls = []
        inner = []
        with Metrics(key=KEY) as m:
            def cb(customer, score, channel, time):
                calls.append((customer, score, channel, time))
                # the handle refuses calls from its own callback (an
                # exception escaping a callback would be swallowed by
                # ctypes: record the outcome instead)
                try:
                    m.kpi("nps")
                    inner.append("accepted")
                except cxmetrics.StateError:
                    inner.append("refused")

            m.on_detractor(cb)
            m.add_event(T, "nps", "ann", "web", 10)
            m.add_event(T + 1, "nps", "bob", "web", 6)
            m.add_event(T + 2, "nps", "cat", None, 0)
            m.add_event(T + 3, "nps", "dan", "email", 7)
            self.assertEqual(calls, [
                (m.customer_hash("bob"), 6, "web", T + 1),
                (m.customer_hash("cat"), 0, None, T + 2),
            ])
            self.assertEqual(inner, ["refused", "refused"])
            m.on_detractor(None)
            m.add_event(T + 4, "nps", "bob", "web", 1)
            self.assertEqual(len(calls), 2)
            # (1 promoter - 3 detractors) / 5 answers
            self.assertAlmostEqual(m.kpi("nps"), 100.0 * (1 - 3) / 5)


class WatchTest(unittest.TestCase):
    def test_hysteresis_and_state(self):
        got = []
        with Metrics(key=KEY) as m:
            w = m.watch("nps", 0, lambda *a: got.append(a), clear_at=20,
                        direction="below", min_n=3)
            for i, score in enumerate([10, 3, 2, 9, 10, 10]):
                m.add_event(T + i, "nps", "c%d" % i, None, score)
            # running NPS: 100, 0 (n < 3), -33.3 fire, 0, 20, 33.3 clear
            self.assertEqual(len(got), 2)
            self.assertEqual(got[0][:2], (w, True))
            self.assertAlmostEqual(got[0][2], -100.0 / 3)
            self.assertEqual(got[0][3:], (3, T + 2))
            self.assertEqual(got[1][:2], (w, False))
            self.assertAlmostEqual(got[1][2], 100.0 / 3)
            self.assertEqual(got[1][3:], (6, T + 5))
            alerting, value, n = m.watch_state(w)
            self.assertFalse(alerting)
            self.assertAlmostEqual(value, 100.0 / 3)
            self.assertEqual(n, 6)
            m.unwatch(w)
            with self.assertRaises(cxmetrics.NotFoundError):
                m.watch_state(w)

    def test_scope_and_window(self):
        got = []
        with Metrics(key=KEY) as m:
            m.add_event(T, "purchase", "a", "web", 10, segments=["gold"])
            # web revenue over the trailing 2 days, alert at >= 25.00
            w = m.watch("revenue", 25, lambda *a: got.append(a),
                        clear_at=5, direction="above", channel="web",
                        window_days=2)
            m.add_event(T + DAY, "purchase", "b", "email", 100)
            m.add_event(T + DAY, "purchase", "b", "web", 15)   # 25: fire
            m.add_event(T + 3 * DAY, "purchase", "a", "web", 1)  # 1: clear
            self.assertEqual([(g[1], g[2], g[3]) for g in got],
                             [(True, 25.0, 2), (False, 1.0, 1)])
            self.assertEqual(m.watch_state(w)[1:],
                             (m.kpi("revenue", channel="web",
                                    window=m.trailing(2, T + 3 * DAY)), 1))

    def test_unwatchable(self):
        with Metrics(key=KEY) as m:
            with self.assertRaises(cxmetrics.UnsupportedError):
                m.watch("buyers", 1, lambda *a: None)


class BenchmarkTest(unittest.TestCase):
    def test_gap(self):
        with Metrics(key=KEY) as m:
            m.add_event(T, "nps", "a", "web", 10, segments=["gold"])
            m.add_event(T, "nps", "b", "web", 3)
            m.add_event(T + DAY, "nps", "c", "email", 9)
            with self.assertRaises(cxmetrics.NotFoundError):
                m.benchmark_gap("nps")
            m.set_benchmark("nps", 40)
            m.set_benchmark("nps", 90, segment="gold")
            # all: (2 - 1) / 3 = 33.3; gold: 100
            g = m.benchmark_gap("nps")
            self.assertAlmostEqual(g["gap"], 100.0 / 3 - 40)
            self.assertEqual((g["benchmark"], g["n"]), (40, 3))
            g = m.benchmark_gap("nps", segment="gold")
            self.assertAlmostEqual(g["gap"], 10.0)
            # email only: 100 - 40
            self.assertAlmostEqual(m.benchmark_gap("nps", channel="email")["gap"], 60.0)
            # the first day only: (1 - 1) / 2 = 0
            g = m.benchmark_gap("nps", start=T, end=T + DAY)
            self.assertAlmostEqual(g["gap"], -40.0)
            m.set_benchmark("csat", 80)
            self.assertIsNone(m.benchmark_gap("csat")["gap"])
            m.set_benchmark("nps", None)
            with self.assertRaises(cxmetrics.NotFoundError):
                m.benchmark_gap("nps", channel="web")


class ListsAndEraseTest(unittest.TestCase):
    def test_lists_then_erase(self):
        with Metrics(key=KEY) as m:
            m.add_event(T, "nps", "a", None, 10, segments=["gold"])
            m.add_event(T, "nps", "b", None, 2, segments=["gold"])
            m.add_event(T, "nps", "c", None, 1)
            m.add_event(T + 1, "nps", "c", None, 8)    # latest: passive
            m.add_event(T, "purchase", "b", None, 30)
            m.add_event(T, "purchase", "c", None, 10)
            h = m.customer_hash
            self.assertEqual(m.customers_by_nps("promoter"), [h("a")])
            self.assertEqual(m.customers_by_nps("passive"), [h("c")])
            self.assertEqual(m.customers_by_nps(cxmetrics.NpsCategory.DETRACTOR,
                                                segment="gold"), [h("b")])
            self.assertEqual(m.customers_by_nps("detractor", batch=1), [h("b")])
            self.assertEqual(m.kpi("buyers"), 2)
            m.erase_customer("b")
            # customer-level: only c remains a buyer; event-level unchanged
            self.assertEqual(m.kpi("buyers"), 1)
            self.assertAlmostEqual(m.kpi("clv_historical"), 10.0)
            self.assertAlmostEqual(m.kpi("revenue"), 40.0)
            self.assertEqual(m.kpi_int("nps_detractors"), 2)
            self.assertEqual(m.customers_by_nps("detractor"), [])
            self.assertEqual(m.stat(cxmetrics.Stat.CUSTOMERS), 2)
            with self.assertRaises(cxmetrics.NotFoundError):
                m.erase_customer("b")
            many = ["u%d" % i for i in range(3000)]
            for i, c in enumerate(many):
                m.add_event(T + 2, "nps", c, None, i % 11)
            # 0..6 of every 11 scores are detractors: 3000 // 11 * 7 + 7 = 1911
            dets = m.customers_by_nps("detractor", batch=100)
            self.assertEqual(len(dets), 3000 // 11 * 7 + min(3000 % 11, 7))
            self.assertEqual(len(set(dets)), len(dets))


class CliBenchmarkTest(unittest.TestCase):
    """`cxm report --benchmark KPI=VALUE` adds "gap" to that KPI's objects."""

    def test_gap_in_json(self):
        build = os.environ.get("abs_top_builddir")
        if not build:
            self.skipTest("abs_top_builddir not set (run through make check)")
        cxm = os.path.join(build, "cli", "cxm")
        self.assertTrue(os.access(cxm, os.X_OK), cxm)
        import json
        import subprocess
        import tempfile
        csv = ("time,customer,type,channel,value\n"
               "1704067200,a,nps,web,10\n1704067201,b,nps,email,9\n"
               "1704067202,c,nps,email,3\n1704067203,a,purchase,web,30\n")
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write(csv)
        try:
            out = subprocess.run([cxm, "report", "--format", "json",
                                  "--benchmark", "nps=10",
                                  "--benchmark=aov=12.5", f.name],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            # all: (2 - 1) / 3 = 33.3 -> gap 23.3; web: 100 -> 90;
            # email: (1 - 1) / 2 = 0 -> -10; aov web 30 -> 17.5
            self.assertAlmostEqual(r["all"]["nps"]["gap"], 100.0 / 3 - 10)
            self.assertAlmostEqual(r["channels"]["web"]["nps"]["gap"], 90.0)
            self.assertAlmostEqual(r["channels"]["email"]["nps"]["gap"], -10.0)
            self.assertAlmostEqual(r["channels"]["web"]["aov"]["gap"], 17.5)
            self.assertIsNone(r["channels"]["email"]["aov"]["gap"])
            self.assertNotIn("gap", r["all"]["csat"])
            bad = subprocess.run([cxm, "report", "--benchmark", "nps", f.name],
                                 capture_output=True, text=True)
            self.assertEqual(bad.returncode, 2)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
