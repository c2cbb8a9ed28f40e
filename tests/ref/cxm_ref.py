#!/usr/bin/python3
"""cxm_ref.py - an independent, naive reference model of `cxm report --format json`.

It reads canonical event CSV files and computes every KPI of the report for
every scope (all, segments, channels, segment_channels) straight from the
definitions (issue 2, include/cxmetrics.h, docs/kpis.md), keeping every
accepted event in memory and recomputing from scratch: no incremental
accumulators, no code shared with the library.

Definitions used:
- An event is accepted when its type is known, its customer is present
  (except spend), its numbers are in range (scores integers 0..10 / 1..5 /
  1..7; amounts >= 0 and below 9e15 minor units; session numbers >= 0 when
  present), its time lies in [0, 4291747199], and it is not older than the
  newest accepted event of its customer (for spend: of its channel) by more
  than the lateness bound.
- Money: round(amount * 10^decimals) half away from zero, on the double,
  a product within 4 ulps of a half counting as the half.
- Event-level KPIs: per channel the events on it; per segment the events
  whose customer held the segment when the event was read (a segments cell
  applies to its own row); windowed by the event's day in the UTC offset.
- Customer-level KPIs (buyers, purchase_frequency, repeat_purchase_rate,
  clv_historical, lead_conversion_rate, engagement_rate): all-time, each
  customer once, under the segments it holds at the end and under the channel
  of its earliest purchase / lead / interaction (ties: file order).
- New buyers (for cac): each buyer's earliest purchase, on its channel and
  day. Spend-based KPIs are null (n = 0) in segment scopes.
- segment_channels lists, per segment, the channels with at least one
  accepted event (all-time) in that segment x channel.
- Retention keys as of the end of the day of --as-of (default: the latest
  accepted event): activity = events other than message_sent and churn;
  active on day D = latest activity day L <= D with L > D - 90 and no churn
  event on a day in [L, D]; churned = some activity on or before D and not
  active. Channel scope: the channel of the first-read activity on the
  customer's earliest activity day. Segment scope of day D: the segments
  held after the last event read whose customer's newest earlier event day
  minus 7 was <= D (the library settles a day 8 days after the customer's
  newest event). Rates over the 30 days before: of the customers active on
  D - 30 (segment scope: the segments held now), the share also active on
  D; churn = 1 - retention; lifespan = mean last - first
  activity day of the churned; CLV = AOV x orders / A(D) x 1 / churn over
  the trailing 30 days.

Usage: cxm_ref.py [--utc-offset +hh:mm] [--decimals N] [--max-lateness S]
                  [--from T] [--to T] [--trailing-days N [--as-of T]] FILE...
Prints one JSON object {"all", "segments", "channels", "segment_channels"}.
"""
import csv
import io
import json
import math
import re
import sys
from decimal import Decimal, ROUND_HALF_UP

TYPES = ["touch", "session", "engage", "message_sent", "message_open",
         "message_click", "lead", "purchase", "refund", "spend", "nps", "csat",
         "ces", "churn"]
INTERACTIONS = {"touch", "engage", "session", "message_click"}
SCORE_RANGE = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
TIME_LAST = 4291747199
MONEY_LIMIT = 9 * 10 ** 15
KEYS = ["nps", "csat", "csat_mean", "ces", "revenue", "refunds", "net_revenue",
        "orders", "buyers", "aov", "purchase_frequency", "repeat_purchase_rate",
        "clv_historical", "lead_conversion_rate", "sessions", "bounce_rate",
        "engaged_session_rate", "engagement_rate", "open_rate", "click_rate",
        "click_to_open_rate", "spend", "cpl", "cpa", "cac",
        # retention keys (docs/retention.md), as of --as-of
        "active_customers", "churned_customers", "churn_rate",
        "retention_rate", "avg_lifespan_days", "clv_formula"]
RETENTION_SPAN = 8      # days of a customer's recent history kept exactly
CHURN_WINDOW = 90       # the library's defaults
RETENTION_PERIOD = 30

ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})"
                 r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
                 r"(Z|[+-]\d{2}:\d{2})?)?$")


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_offset(s):
    if s in ("Z", "UTC", "z"):
        return 0
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", s)
    if not m:
        raise ValueError("bad offset " + s)
    v = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60
    return -v if m.group(1) == "-" else v


def parse_time(s, off):
    """Unix seconds or ISO-8601; zone-less times in the handle's offset.
    Returns None when malformed."""
    s = s.strip()
    if re.fullmatch(r"\d+", s):
        return int(s)
    m = ISO.match(s)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = int(m.group(4) or 0)
    mi = int(m.group(5) or 0)
    sec = int(m.group(6) or 0)
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    mdays = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12 and 1 <= d <= mdays[mo - 1] and h < 24 and mi < 60
            and sec < 61):
        return None
    z = m.group(8)
    zoff = off if z is None else parse_offset(z)
    # Fractional seconds are dropped (the generator only writes fractions
    # that do not straddle a second boundary either way).
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - zoff


def number(s):
    """A CSV number: None when empty (absent), 'bad' when malformed."""
    if s is None or s == "":
        return None
    try:
        v = float(s)
    except ValueError:
        return "bad"
    if math.isnan(v):
        return None
    return v


def minor_units(v, decimals):
    """round(v * 10^decimals) half away from zero, on the double product,
    where a product within 4 ulps of a half counts as that half (the
    header's rule: 0.285 is 29 cents as written)."""
    x = v * float(10 ** decimals)
    if math.isinf(x):
        return None
    fl = math.floor(x)
    if abs(x - (fl + 0.5)) <= 4 * math.ulp(x):
        return int(fl) + 1
    return int(Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Model:
    def __init__(self, off, decimals, max_late, wfrom, wto):
        self.off = off
        self.decimals = decimals
        self.max_late = max_late
        self.wfrom = wfrom   # day number or None
        self.wto = wto       # day number or None
        self.events = []     # accepted events, in file order
        self.newest = {}     # ("c", id) or ("s", channel) -> newest time
        self.held = {}       # customer -> frozenset of segment labels
        self.channels = []   # in order of first appearance
        self.segments = []
        self.seq = 0
        self.as_of = None        # set by main: the retention keys' time
        self.newest_before = {}  # customer -> newest accepted time so far
        self.cust_reads = {}     # customer -> [(top day before, held after)]

    def day(self, t):
        return (t + self.off) // 86400

    def in_window(self, t):
        d = self.day(t)
        if self.wfrom is not None and d < self.wfrom:
            return False
        if self.wto is not None and d >= self.wto:
            return False
        return True

    def add_row(self, row):
        self.seq += 1
        ty = row.get("type") or ""
        cust = row.get("customer") or ""
        ch = row.get("channel") or ""
        segcell = row.get("segments") or ""
        t = parse_time(row.get("time") or "", self.off)
        v, v2 = number(row.get("value")), number(row.get("value2"))
        if t is None or ty not in TYPES or v == "bad" or v2 == "bad":
            return False
        if not (0 <= t <= TIME_LAST):
            return False
        if ty != "spend" and cust == "":
            return False
        money = None
        if ty in ("purchase", "refund", "spend"):
            if v is None or v < 0:
                return False
            money = minor_units(v, self.decimals)
            if money is None or money >= MONEY_LIMIT:
                return False
        elif ty in SCORE_RANGE:
            lo, hi = SCORE_RANGE[ty]
            if v is None or v != int(v) or not (lo <= v <= hi):
                return False
        elif ty == "session":
            if (v is not None and v < 0) or (v2 is not None and v2 < 0):
                return False
        key = ("s", ch) if ty == "spend" else ("c", cust)
        if key in self.newest and t < self.newest[key] - self.max_late:
            return False
        # Accepted.
        self.newest[key] = max(self.newest.get(key, t), t)
        if ch and ch not in self.channels:
            self.channels.append(ch)
        held = frozenset()
        if ty != "spend":
            if segcell == "-":
                self.held[cust] = frozenset()
            elif segcell != "":
                labels = [x for x in segcell.split(";") if x != ""]
                for x in labels:
                    if x not in self.segments:
                        self.segments.append(x)
                self.held[cust] = frozenset(labels)
            held = self.held.get(cust, frozenset())
        if ty != "spend":
            prev = self.newest_before.get(cust)
            self.cust_reads.setdefault(cust, []).append(
                (None if prev is None else self.day(prev), held))
            self.newest_before[cust] = t if prev is None else max(prev, t)
        self.events.append({"seq": self.seq, "t": t, "type": ty,
                            "cust": cust if ty != "spend" else None,
                            "ch": ch or None, "v": v, "v2": v2,
                            "money": money, "held": held})
        return True

    # ------------------------------------------------------------------
    def event_scope(self, seg, ch, windowed=True):
        """Accepted events of a scope (event-level membership)."""
        out = []
        for e in self.events:
            if ch is not None and e["ch"] != ch:
                continue
            if seg is not None and seg not in e["held"]:
                continue
            if windowed and not self.in_window(e["t"]):
                continue
            out.append(e)
        return out

    def customers(self):
        """Per customer: its events in file order."""
        by = {}
        for e in self.events:
            if e["cust"] is not None:
                by.setdefault(e["cust"], []).append(e)
        return by

    @staticmethod
    def first(evs, types):
        best = None
        for e in evs:
            if e["type"] in types:
                if best is None or (e["t"], e["seq"]) < (best["t"], best["seq"]):
                    best = e
        return best

    def report_scope(self, seg, ch):
        d = self.decimals
        scale = 10 ** d
        ev = self.event_scope(seg, ch)

        def count(ty):
            return sum(1 for e in ev if e["type"] == ty)

        def ratio(a, b):
            return None if b == 0 else a / b

        def money_sum(ty):
            return sum(e["money"] for e in ev if e["type"] == ty)

        k = {}
        nps = [int(e["v"]) for e in ev if e["type"] == "nps"]
        n = len(nps)
        P = sum(1 for x in nps if x >= 9)
        D = sum(1 for x in nps if x <= 6)
        Pa = n - P - D
        if n:
            pp, pd = P / n, D / n
            moe = 100 * 1.96 * math.sqrt((pp + pd - (pp - pd) ** 2) / n)
        else:
            moe = None
        k["nps"] = {"value": ratio(100 * (P - D), n), "n": n, "moe95": moe,
                    "promoters": P, "passives": Pa, "detractors": D}
        cs = [int(e["v"]) for e in ev if e["type"] == "csat"]
        k["csat"] = {"value": ratio(100 * sum(1 for x in cs if x >= 4), len(cs)),
                     "n": len(cs)}
        k["csat_mean"] = {"value": ratio(sum(cs), len(cs)), "n": len(cs)}
        ce = [int(e["v"]) for e in ev if e["type"] == "ces"]
        k["ces"] = {"value": ratio(sum(ce), len(ce)), "n": len(ce)}
        orders = count("purchase")
        refunds_n = count("refund")
        rev, ref = money_sum("purchase"), money_sum("refund")
        k["revenue"] = {"value": ("money", rev), "n": orders}
        k["refunds"] = {"value": ("money", ref), "n": refunds_n}
        k["net_revenue"] = {"value": ("money", rev - ref), "n": orders + refunds_n}
        k["orders"] = {"value": orders, "n": orders}

        # Customer-level: all-time, current segments, acquiring channel.
        buyers = buyer_orders = repeaters = buyer_net = 0
        leads_c = converted = 0
        engaged_c = interactions = 0
        new_buyers = 0
        for cust, evs in self.customers().items():
            if seg is not None and seg not in self.held.get(cust, frozenset()):
                continue
            fp = self.first(evs, {"purchase"})
            if fp is not None and (ch is None or fp["ch"] == ch):
                o = sum(1 for e in evs if e["type"] == "purchase")
                buyers += 1
                buyer_orders += o
                repeaters += o >= 2
                buyer_net += sum(e["money"] for e in evs if e["type"] == "purchase")
                buyer_net -= sum(e["money"] for e in evs if e["type"] == "refund")
                if self.in_window(fp["t"]):
                    new_buyers += 1
            fl = self.first(evs, {"lead"})
            if fl is not None and (ch is None or fl["ch"] == ch):
                leads_c += 1
                if any(e["type"] == "purchase" and e["t"] >= fl["t"] for e in evs):
                    converted += 1
            fi = self.first(evs, INTERACTIONS)
            if fi is not None and (ch is None or fi["ch"] == ch):
                engaged_c += 1
                interactions += sum(1 for e in evs if e["type"] in INTERACTIONS)
        k["buyers"] = {"value": buyers, "n": buyers}
        k["aov"] = {"value": ratio(rev, orders * scale), "n": orders}
        k["purchase_frequency"] = {"value": ratio(buyer_orders, buyers), "n": buyers}
        k["repeat_purchase_rate"] = {"value": ratio(repeaters, buyers), "n": buyers}
        k["clv_historical"] = {"value": ratio(buyer_net, buyers * scale), "n": buyers}
        k["lead_conversion_rate"] = {"value": ratio(converted, leads_c), "n": leads_c}
        ses = [e for e in ev if e["type"] == "session"]
        bounces = sum(1 for e in ses if e["v"] is not None and e["v"] == 1)
        engaged = sum(1 for e in ses if (e["v"] is not None and e["v"] >= 2)
                      or (e["v2"] is not None and e["v2"] >= 10))
        k["sessions"] = {"value": len(ses), "n": len(ses)}
        k["bounce_rate"] = {"value": ratio(bounces, len(ses)), "n": len(ses)}
        k["engaged_session_rate"] = {"value": ratio(engaged, len(ses)), "n": len(ses)}
        k["engagement_rate"] = {"value": ratio(interactions, engaged_c), "n": engaged_c}
        sent, opens, clicks = (count("message_sent"), count("message_open"),
                               count("message_click"))
        k["open_rate"] = {"value": ratio(opens, sent), "n": sent}
        k["click_rate"] = {"value": ratio(clicks, sent), "n": sent}
        k["click_to_open_rate"] = {"value": ratio(clicks, opens), "n": opens}
        if seg is not None:
            for key in ("spend", "cpl", "cpa", "cac"):
                k[key] = {"value": None, "n": 0}
        else:
            spend_n = count("spend")
            spend = money_sum("spend")
            leads = count("lead")
            k["spend"] = {"value": ("money", spend), "n": spend_n}
            k["cpl"] = {"value": ratio(spend, leads * scale), "n": leads}
            k["cpa"] = {"value": ratio(spend, orders * scale), "n": orders}
            k["cac"] = {"value": ratio(spend, new_buyers * scale), "n": new_buyers}
        self.retention_keys(seg, ch, k)
        return {key: k[key] for key in KEYS}

    # ---- retention, straight from the definitions -----------------------
    def cust_days(self, evs):
        acts = [self.day(e["t"]) for e in evs
                if e["type"] not in ("message_sent", "churn")]
        churns = [self.day(e["t"]) for e in evs if e["type"] == "churn"]
        return acts, churns

    @staticmethod
    def state(acts, churns, d):
        """(active, churned, lifespan days) of one customer on day d."""
        past = [a for a in acts if a <= d]
        if not past:
            return 0, 0, 0
        last = max(past)
        cut = any(last <= c <= d for c in churns)
        if not cut and last > d - CHURN_WINDOW:
            return 1, 0, 0
        return 0, 1, last - min(past)

    def day_set(self, cust, d):
        """The segments the library credits day d of this customer to."""
        held = frozenset()
        for top_before, h in self.cust_reads.get(cust, []):
            if top_before is None or d >= top_before - (RETENTION_SPAN - 1):
                held = h
        return held

    def retention_keys(self, seg, ch, k):
        if not self.events:
            t = 0
        else:
            t = self.as_of if self.as_of is not None else max(e["t"] for e in self.events)
        D = self.day(t)
        P = RETENTION_PERIOD
        a1 = c1 = life = a0 = kept = 0
        for cust, evs in self.customers().items():
            acts, churns = self.cust_days(evs)
            if not acts:
                continue
            fa = min((e for e in evs if e["type"] not in ("message_sent", "churn")),
                     key=lambda e: (self.day(e["t"]), e["seq"]))
            if ch is not None and fa["ch"] != ch:
                continue

            def inscope(d):
                return seg is None or seg in self.day_set(cust, d)
            a, c, l = self.state(acts, churns, D)
            if inscope(D):
                a1 += a
                c1 += c
                life += l
            # the rate: a customer by its segments now (the last read's)
            if (seg is None or seg in self.day_set(cust, 1 << 40)) and \
                    self.state(acts, churns, D - P)[0]:
                a0 += 1
                kept += a
        ret = kept / a0 if a0 else None
        churn = 1.0 - ret if a0 else None
        k["active_customers"] = {"value": a1, "n": a1}
        k["churned_customers"] = {"value": c1, "n": c1}
        k["churn_rate"] = {"value": churn, "n": a0, "period_days": P}
        k["retention_rate"] = {"value": ret, "n": a0, "period_days": P}
        k["avg_lifespan_days"] = {
            "value": life / c1 if c1 else None, "n": c1,
            "estimate": P / churn if churn else None}
        # AOV and orders of the scope over the P days ending with D
        saved = (self.wfrom, self.wto)
        self.wfrom, self.wto = D - P + 1, D + 1
        ev = self.event_scope(seg, ch)
        self.wfrom, self.wto = saved
        orders = sum(1 for e in ev if e["type"] == "purchase")
        rev = sum(e["money"] for e in ev if e["type"] == "purchase")
        aov = rev / (orders * 10 ** self.decimals) if orders else None
        freq = orders / a1 if a1 else None
        periods = 1.0 / churn if churn else None
        clv = aov * freq * periods if None not in (aov, freq, periods) else None
        k["clv_formula"] = {"value": clv, "n": a1, "aov": aov,
                            "purchase_frequency": freq, "lifespan_periods": periods,
                            "period_days": P}

    def report(self):
        out = {"all": self.report_scope(None, None),
               "segments": {s: self.report_scope(s, None) for s in self.segments},
               "channels": {c: self.report_scope(None, c) for c in self.channels},
               "segment_channels": {}}
        for s in self.segments:
            pairs = {}
            for c in self.channels:
                if self.event_scope(s, c, windowed=False):
                    pairs[c] = self.report_scope(s, c)
            out["segment_channels"][s] = pairs
        return out


def dump(obj, decimals, out):
    """JSON with money sums written exactly with `decimals` decimals."""
    if isinstance(obj, dict):
        out.write("{")
        for i, (key, v) in enumerate(obj.items()):
            if i:
                out.write(",")
            out.write(json.dumps(key))
            out.write(":")
            dump(v, decimals, out)
        out.write("}")
    elif isinstance(obj, tuple) and obj and obj[0] == "money":
        out.write(str(Decimal(obj[1]).scaleb(-decimals)) if decimals else str(obj[1]))
    elif isinstance(obj, float):
        out.write(repr(obj))
    else:
        out.write(json.dumps(obj))


def main(argv):
    off, decimals, max_late = 0, 2, 604800
    tfrom = tto = None
    trailing = as_of = None
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--utc-offset", "--decimals", "--max-lateness", "--from", "--to",
                 "--trailing-days", "--as-of"):
            val = argv[i + 1]
            i += 2
            if a == "--utc-offset":
                off = parse_offset(val)
            elif a == "--decimals":
                decimals = int(val)
            elif a == "--max-lateness":
                max_late = int(val)
            elif a == "--trailing-days":
                trailing = int(val)
            elif a == "--as-of":
                as_of = val
            elif a == "--from":
                tfrom = val
            else:
                tto = val
        else:
            files.append(a)
            i += 1
    wfrom = wto = None
    if tfrom is not None:
        wfrom = (parse_time(tfrom, off) + off) // 86400
    if tto is not None:
        wto = (parse_time(tto, off) + off) // 86400
    m = Model(off, decimals, max_late, wfrom, wto)
    if as_of is not None:
        m.as_of = parse_time(as_of, off)
    for path in files:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="surrogateescape")
        for row in csv.DictReader(io.StringIO(text, newline="")):
            m.add_row(row)
    if trailing is not None:
        # The N days ending with the day of as-of (default: the latest
        # accepted event's time), inclusive.
        t = (parse_time(as_of, off) if as_of is not None
             else max(e["t"] for e in m.events))
        last = (t + off) // 86400
        m.wfrom, m.wto = last - trailing + 1, last + 1
    dump(m.report(), decimals, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
