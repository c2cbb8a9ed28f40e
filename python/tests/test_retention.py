"""Tests of the retention queries of the Python binding (stdlib unittest).

Run like test_cxmetrics.py (CXMETRICS_LIB names the library under test).
Expected values are worked out by hand from the definitions in
docs/retention.md, written as the arithmetic they come from.
"""

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
CHURN_WINDOW_DAYS = 5  # cxm_option ids (include/cxmetrics.h)


def day(n, hour=12):
    return T + n * DAY + hour * 3600


class RetentionTest(unittest.TestCase):
    def stream(self):
        # window 90, period 30 (defaults). a, b, c active from day 0; a buys
        # 100 on day 40 and 50 on day 45 through web; b churns on day 50.
        m = Metrics()
        for c, ch in (("a", "web"), ("b", "email"), ("c", "web")):
            m.add_event(day(0), "touch", c, ch, segments=["gold"] if c == "a" else None)
        m.add_event(day(40), "purchase", "a", "web", 100)
        m.add_event(day(45), "purchase", "a", "web", 50)
        m.add_event(day(50), "churn", "b", None)
        return m

    def test_active_and_rates(self):
        with self.stream() as m:
            self.assertEqual(m.active_customers(as_of=day(59)), (2, 1))
            self.assertEqual(m.active_customers(as_of=day(49)), (3, 0))
            self.assertEqual(m.active_customers(as_of=day(-1)), (0, 0))
            # c's only activity is day 0: active through day 89
            self.assertEqual(m.active_customers(channel="web", as_of=day(89)), (2, 0))
            self.assertEqual(m.active_customers(channel="web", as_of=day(90)), (1, 1))
            self.assertEqual(m.active_customers(segment="gold", as_of=day(59)), (1, 0))
            # default as-of: the latest event (day 50): b churned that day
            self.assertEqual(m.active_customers(), (2, 1))
            churn, ret, n = m.churn_rate(day(29), day(59))
            self.assertEqual(n, 3)
            self.assertAlmostEqual(ret, 2 / 3)
            self.assertAlmostEqual(churn, 1 - 2 / 3)
            self.assertEqual(m.churn_rate(day(-20), day(-5)), (None, None, 0))

    def test_lifespan_and_clv(self):
        with self.stream() as m:
            avg, est, n = m.lifespan(as_of=day(59))
            self.assertEqual(n, 1)           # b, active days 0..0
            self.assertEqual(avg, 0.0)
            self.assertAlmostEqual(est, 30 / (1 / 3))
            f = m.clv_formula(as_of=day(59))
            self.assertAlmostEqual(f["aov"], (100 + 50) / 2)
            self.assertAlmostEqual(f["purchase_frequency"], 2 / 2)
            self.assertAlmostEqual(f["lifespan_periods"], 3.0)
            self.assertAlmostEqual(f["clv"], 75 * 1 * 3)
            # no orders in the trailing period: AOV and CLV undefined
            self.assertIsNone(m.clv_formula(as_of=day(100))["clv"])

    def test_cohorts_and_buyers(self):
        with Metrics() as m:
            m.add_event(day(30), "purchase", "d", "web", 10)   # 2024-01-31
            m.add_event(day(40), "purchase", "a", "web", 10)   # 2024-02-10
            m.add_event(day(45), "purchase", "a", "web", 10)   # 2024-02-15
            m.add_event(day(45, 20), "purchase", "a", "web", 10)
            m.add_event(day(60), "purchase", "d", "web", 10)   # 2024-03-01
            rows = m.cohorts()
            self.assertEqual(rows, [
                {"month": "2024-01", "size": 1, "on": [1, 0, 1], "on_or_after": [1, 1, 1]},
                {"month": "2024-02", "size": 1, "on": [1, 0], "on_or_after": [1, 0]},
                {"month": "2024-03", "size": 0, "on": [0], "on_or_after": [0]},
            ])
            got = m.buyers_daily(day(40, 0), day(46, 0))
            self.assertEqual([(g[1], g[2]) for g in got],
                             [(1, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 1)])
            self.assertEqual(got[0][0], m.day(day(40)))

    def test_window_option_and_errors(self):
        with Metrics() as m:
            m.set_option(CHURN_WINDOW_DAYS, 3)
            m.add_event(day(0), "nps", "x", None, 9)
            self.assertEqual(m.active_customers(as_of=day(2)), (1, 0))
            self.assertEqual(m.active_customers(as_of=day(3)), (0, 1))
            with self.assertRaises(cxmetrics.CxmError):
                m.active_customers(segment="nope")
            with self.assertRaises(cxmetrics.CxmError):
                m.churn_rate(day(3), day(3))


if __name__ == "__main__":
    unittest.main()
