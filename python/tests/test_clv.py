"""Tests of the predictive CLV part of the binding (Metrics.clv_fit,
ClvModel), stdlib unittest.

The CDNOW fit is checked against the published estimates (Fader, Hardie &
Lee 2005; Fader & Hardie 2013); the statistics and predictions against
values computed here from the raw purchases and the model formulas.
"""

import math
import os
import sys
import unittest
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import cxmetrics  # noqa: E402
from cxmetrics import ClvModel, Metrics  # noqa: E402

if not os.environ.get("CXMETRICS_LIB"):
    raise RuntimeError("set CXMETRICS_LIB to the libcxmetrics.so.0 under test")

DAY = 86400
T0 = 1767225600  # 2026-01-01T00:00:00Z

try:
    import pandas  # noqa: F401
    HAVE_PANDAS = True
except ImportError:
    HAVE_PANDAS = False


def rows(table):
    """A DataFrame or a dict of lists as a list of dicts."""
    if HAVE_PANDAS and hasattr(table, "to_dict"):
        return table.to_dict("records")
    keys = list(table)
    return [dict(zip(keys, vals)) for vals in zip(*(table[k] for k in keys))]


def cdnow_sample(last="1997-09-30"):
    path = os.path.join(os.environ.get("CXM_DATA_DIR", ""), "cdnow",
                        "CDNOW_sample.txt")
    if not os.path.exists(path):
        return None
    times, customers, values = [], [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) != 5:
                continue
            d = date(int(p[2][:4]), int(p[2][4:6]), int(p[2][6:]))
            if d.isoformat() > last:
                continue
            times.append(int((d - date(1970, 1, 1)).days) * DAY)
            customers.append(p[1])
            values.append(float(p[4]))
    return times, customers, values


class ClvTest(unittest.TestCase):

    def small(self):
        m = Metrics()
        # ann: days 0 (10 + 5), 3 (7), 8 (2); bob: day 1 (3); cid: 2 (4), 6 (6)
        for t, c, v in [(0, "ann", 10), (0.1, "ann", 5), (3, "ann", 7),
                        (8, "ann", 2), (1, "bob", 3), (2, "cid", 4),
                        (6, "cid", 6)]:
            m.add_event(T0 + int(t * DAY), "purchase", c, value=v)
        return m

    def test_statistics_and_tables(self):
        with self.small() as m:
            model = m.clv_fit(as_of=T0 + 10 * DAY, unit="days")
            self.assertIsInstance(model, ClvModel)
            self.assertEqual(len(model), 3)
            by = {r["customer_hash"]: r for r in rows(model.customers())}
            ann = by[m.customer_hash("ann")]
            self.assertEqual((ann["x"], ann["t_x"], ann["T"]), (2, 8, 10))
            self.assertAlmostEqual(ann["mean_spend"], (7 + 2) / 2)
            self.assertAlmostEqual(ann["total"], 24)
            bob = by[m.customer_hash("bob")]
            self.assertEqual((bob["x"], bob["t_x"], bob["T"]), (0, 0, 9))
            w = m.clv_fit(as_of=T0 + 10 * DAY, unit="weeks")
            ann_w = {r["customer_hash"]: r for r in rows(w.customers())}[
                m.customer_hash("ann")]
            self.assertAlmostEqual(ann_w["t_x"], 8 / 7)
            if HAVE_PANDAS:
                self.assertEqual(type(model.predict(10)).__name__, "DataFrame")
            else:
                self.assertIsInstance(model.predict(10), dict)

    def test_predictions_match_formulas(self):
        with self.small() as m:
            model = m.clv_fit(as_of=T0 + 10 * DAY)
            p = model.params
            r, al, a, b = p["r"], p["alpha"], p["a"], p["b"]
            stats = {x["customer_hash"]: x for x in rows(model.customers())}
            for row in rows(model.predict(30)):
                s = stats[row["customer_hash"]]
                x, tx, T = s["x"], s["t_x"], s["T"]
                pa = 1.0 if x == 0 else 1 / (
                    1 + a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x))
                self.assertAlmostEqual(row["p_alive"], pa, places=12)
                self.assertTrue(row["expected_purchases"] >= 0)
            one = model.customer("ann", 30)
            self.assertAlmostEqual(
                one["p_alive"],
                [r_["p_alive"] for r_ in rows(model.predict(30))
                 if r_["customer_hash"] == m.customer_hash("ann")][0])
            allseg = model.segment(None, 30)
            self.assertEqual(allseg["customers"], 3)
            with self.assertRaises(cxmetrics.NotFoundError):
                model.customer("nobody", 30)
            with self.assertRaises(cxmetrics.RangeError):
                model.predict(-1)

    def test_rfm(self):
        with self.small() as m:
            model = m.clv_fit(as_of=T0 + 10 * DAY)
            by = {r["customer_hash"]: r for r in rows(model.rfm())}
            ann = by[m.customer_hash("ann")]
            # ann: most recent (2 worse) -> 1 + 5*2//3 = 4; 3 periods (2
            # fewer) -> 4; 24.00 total (2 less) -> 4: champions.
            self.assertEqual((ann["r"], ann["f"], ann["m"]), (4, 4, 4))
            self.assertEqual(ann["segment"], "champions")
            bob = by[m.customer_hash("bob")]
            self.assertEqual((bob["r"], bob["f"], bob["m"]), (1, 1, 1))
            self.assertEqual(bob["segment"], "lost")

    def test_unidentified_and_close(self):
        with Metrics() as m:
            m.add_event(T0, "purchase", "solo", value=5)
            with self.assertRaises(cxmetrics.UnsupportedError):
                m.clv_fit()
        m = self.small()
        model = m.clv_fit()
        m.close()  # closes the model first
        with self.assertRaises(ValueError):
            model.get("r")

    def test_cdnow_published(self):
        data = cdnow_sample()
        if data is None:
            if os.environ.get("CXM_REQUIRE_DATA") == "1":
                self.fail("CDNOW_sample.txt not found under CXM_DATA_DIR")
            self.skipTest("no CXM_DATA_DIR")
        times, customers, values = data
        with Metrics() as m:
            for t, c, v in zip(times, customers, values):
                m.add_event(t, "purchase", c, value=v)
            model = m.clv_fit(as_of="1997-09-30", unit="weeks")
            p = model.params
            self.assertEqual(p["customers"], 2357)
            self.assertEqual(round(p["r"], 3), 0.243)
            self.assertEqual(round(p["alpha"], 3), 4.414)
            self.assertEqual(round(p["a"], 3), 0.793)
            self.assertEqual(round(p["b"], 3), 2.426)
            self.assertEqual(round(p["loglik"], 1), -9582.4)
            self.assertEqual(p["gg_customers"], 946)
            self.assertEqual(round(p["p"], 2), 6.25)
            self.assertEqual(round(p["q"], 2), 3.74)
            self.assertEqual(round(p["v"], 2), 15.44)
            pred = rows(model.predict(39))
            self.assertEqual(len(pred), 2357)
            self.assertTrue(all(0 <= r["p_alive"] <= 1 for r in pred))
            self.assertTrue(all(math.isfinite(r["clv"]) for r in pred))


if __name__ == "__main__":
    unittest.main()
