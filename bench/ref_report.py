#!/usr/bin/python3
"""ref_report.py - a plain, slow, event-by-event computation of the
`cxm report --format json` KPI report, written straight from the definitions.

It is a third opinion for the benchmark: when cxm and the DuckDB peer
disagree, run this on a small file to see which side follows the definitions.
Usage: /usr/bin/python3 ref_report.py [--max-lateness S] FILE.csv > report.json

Times: Unix seconds only. Not for big files (pure Python, one pass).
"""
import csv
import json
import math
import sys
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_UP, InvalidOperation

INTER = {"touch", "engage", "session", "message_click"}
SIMPLE = {"touch", "engage", "message_sent", "message_open", "message_click",
          "lead", "churn"}


def num(s):
    if s is None or s == "":
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return "bad"


def cents(d):
    # ROUND_HALF_UP in decimal rounds halves away from zero.
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def valid(ty, cust, v, v2):
    if v == "bad" or v2 == "bad":
        return False
    if ty == "spend":
        return v is not None and v >= 0
    if not cust:
        return False
    if ty in SIMPLE:
        return True
    if ty == "session":
        return (v is None or v >= 0) and (v2 is None or v2 >= 0)
    if ty in ("purchase", "refund"):
        return v is not None and v >= 0
    rng = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}.get(ty)
    if rng is None:
        return False
    return v is not None and v == v.to_integral_value() and rng[0] <= v <= rng[1]


def main(argv):
    max_late = 604800
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == "--max-lateness":
            max_late = int(argv[i + 1])
            i += 2
        else:
            files.append(argv[i])
            i += 1
    E = defaultdict(lambda: defaultdict(int))  # scope -> counter
    newest = {}          # ("c", id) / ("s", channel) -> newest time
    segs_of = {}         # customer -> tuple of labels
    cust = {}            # customer -> dict
    channels, segments = set(), set()
    rn = 0
    for path in files:
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
            for row in csv.DictReader(fh):
                rn += 1
                ty = row.get("type", "")
                c = row.get("customer") or ""
                ch = row.get("channel") or ""
                sg = row.get("segments") or ""
                try:
                    t = int(row["time"])
                except (ValueError, KeyError):
                    continue
                v, v2 = num(row.get("value")), num(row.get("value2"))
                if not (0 <= t <= 4291747199) or not valid(ty, c, v, v2):
                    continue
                k = ("s", ch) if ty == "spend" else ("c", c)
                if k in newest and t < newest[k] - max_late:
                    continue
                newest[k] = max(newest.get(k, t), t)
                if ch:
                    channels.add(ch)
                held = ()
                if ty != "spend":
                    if sg == "-":
                        segs_of[c] = ()
                    elif sg:
                        segs_of[c] = tuple(sorted({x for x in sg.split(";") if x}))
                        segments.update(segs_of[c])
                    held = segs_of.get(c, ())
                scopes = [("A", None, None)]
                if ch:
                    scopes.append(("C", None, ch))
                for s in held:
                    scopes.append(("S", s, None))
                    if ch:
                        scopes.append(("X", s, ch))
                m = cents(v) if ty in ("purchase", "refund", "spend") else 0
                for sc in scopes:
                    e = E[sc]
                    e["events"] += 1
                    if ty == "nps":
                        e["nps_n"] += 1
                        e["prom" if v >= 9 else "pas" if v >= 7 else "det"] += 1
                    elif ty == "csat":
                        e["csat_n"] += 1
                        e["csat_sum"] += int(v)
                        e["csat_good"] += v >= 4
                    elif ty == "ces":
                        e["ces_n"] += 1
                        e["ces_sum"] += int(v)
                    elif ty == "purchase":
                        e["orders"] += 1
                        e["rev"] += m
                    elif ty == "refund":
                        e["refunds_n"] += 1
                        e["ref"] += m
                    elif ty == "session":
                        e["sessions"] += 1
                        e["bounces"] += v is not None and v == 1
                        e["engaged"] += (v is not None and v >= 2) or (v2 is not None and v2 >= 10)
                    elif ty == "message_sent":
                        e["sent"] += 1
                    elif ty == "message_open":
                        e["opens"] += 1
                    elif ty == "message_click":
                        e["clicks"] += 1
                    elif ty == "lead":
                        e["leads"] += 1
                    elif ty == "spend":
                        e["spend_n"] += 1
                        e["spend"] += m
                if ty == "spend":
                    continue
                r = cust.setdefault(c, {"orders": 0, "net": 0, "last_purchase": None,
                                        "first_lead": None, "buy": None, "lead": None,
                                        "inter": 0, "int": None})
                key = (t, rn)
                if ty == "purchase":
                    r["orders"] += 1
                    r["net"] += m
                    r["last_purchase"] = t if r["last_purchase"] is None else max(r["last_purchase"], t)
                    if r["buy"] is None or key < r["buy"][0]:
                        r["buy"] = (key, ch)
                elif ty == "refund":
                    r["net"] -= m
                elif ty == "lead":
                    r["first_lead"] = t if r["first_lead"] is None else min(r["first_lead"], t)
                    if r["lead"] is None or key < r["lead"][0]:
                        r["lead"] = (key, ch)
                if ty in INTER:
                    r["inter"] += 1
                    if r["int"] is None or key < r["int"][0]:
                        r["int"] = (key, ch)
    C = defaultdict(lambda: defaultdict(int))
    for c, r in cust.items():
        held = segs_of.get(c, ())
        groups = []
        if r["orders"]:
            groups.append((r["buy"][1], {"buyers": 1, "buyer_orders": r["orders"],
                                         "repeaters": int(r["orders"] >= 2),
                                         "buyer_net": r["net"]}))
        if r["first_lead"] is not None:
            conv = r["last_purchase"] is not None and r["last_purchase"] >= r["first_lead"]
            groups.append((r["lead"][1], {"lead_customers": 1, "converted": int(conv)}))
        if r["inter"]:
            groups.append((r["int"][1], {"engaged_customers": 1, "interactions": r["inter"]}))
        for ch, vals in groups:
            scopes = [("A", None, None)]
            if ch:
                scopes.append(("C", None, ch))
            for s in held:
                scopes.append(("S", s, None))
                if ch:
                    scopes.append(("X", s, ch))
            for sc in scopes:
                for k, x in vals.items():
                    C[sc][k] += x

    def ratio(a, b):
        return None if b == 0 else a / b

    def kpis(sc):
        e, c = E[sc], C[sc]
        n = e["nps_n"]
        k = {}
        if n:
            pp, pd = e["prom"] / n, e["det"] / n
            moe = 100 * 1.96 * math.sqrt((pp + pd - (pp - pd) ** 2) / n)
        else:
            moe = None
        k["nps"] = {"value": ratio(100 * (e["prom"] - e["det"]), n), "n": n, "moe95": moe,
                    "promoters": e["prom"], "passives": e["pas"], "detractors": e["det"]}
        k["csat"] = {"value": ratio(100 * e["csat_good"], e["csat_n"]), "n": e["csat_n"]}
        k["csat_mean"] = {"value": ratio(e["csat_sum"], e["csat_n"]), "n": e["csat_n"]}
        k["ces"] = {"value": ratio(e["ces_sum"], e["ces_n"]), "n": e["ces_n"]}
        k["revenue"] = {"value": e["rev"] / 100, "n": e["orders"]}
        k["refunds"] = {"value": e["ref"] / 100, "n": e["refunds_n"]}
        k["net_revenue"] = {"value": (e["rev"] - e["ref"]) / 100,
                            "n": e["orders"] + e["refunds_n"]}
        k["orders"] = {"value": e["orders"], "n": e["orders"]}
        k["buyers"] = {"value": c["buyers"], "n": c["buyers"]}
        k["aov"] = {"value": ratio(e["rev"], e["orders"] * 100), "n": e["orders"]}
        k["purchase_frequency"] = {"value": ratio(c["buyer_orders"], c["buyers"]), "n": c["buyers"]}
        k["repeat_purchase_rate"] = {"value": ratio(c["repeaters"], c["buyers"]), "n": c["buyers"]}
        k["clv_historical"] = {"value": ratio(c["buyer_net"], c["buyers"] * 100), "n": c["buyers"]}
        k["lead_conversion_rate"] = {"value": ratio(c["converted"], c["lead_customers"]),
                                     "n": c["lead_customers"]}
        k["sessions"] = {"value": e["sessions"], "n": e["sessions"]}
        k["bounce_rate"] = {"value": ratio(e["bounces"], e["sessions"]), "n": e["sessions"]}
        k["engaged_session_rate"] = {"value": ratio(e["engaged"], e["sessions"]), "n": e["sessions"]}
        k["engagement_rate"] = {"value": ratio(c["interactions"], c["engaged_customers"]),
                                "n": c["engaged_customers"]}
        k["open_rate"] = {"value": ratio(e["opens"], e["sent"]), "n": e["sent"]}
        k["click_rate"] = {"value": ratio(e["clicks"], e["sent"]), "n": e["sent"]}
        k["click_to_open_rate"] = {"value": ratio(e["clicks"], e["opens"]), "n": e["opens"]}
        if sc[0] in ("S", "X"):
            for s in ("spend", "cpl", "cpa", "cac"):
                k[s] = {"value": None, "n": 0}
        else:
            k["spend"] = {"value": e["spend"] / 100, "n": e["spend_n"]}
            k["cpl"] = {"value": ratio(e["spend"], e["leads"] * 100), "n": e["leads"]}
            k["cpa"] = {"value": ratio(e["spend"], e["orders"] * 100), "n": e["orders"]}
            k["cac"] = {"value": ratio(e["spend"], c["buyers"] * 100), "n": c["buyers"]}
        return k

    out = {"all": kpis(("A", None, None)),
           "segments": {s: kpis(("S", s, None)) for s in sorted(segments)},
           "channels": {ch: kpis(("C", None, ch)) for ch in sorted(channels)},
           # like cxm: a segment x channel pair is listed when it has an event
           "segment_channels": {s: {ch: kpis(("X", s, ch)) for ch in sorted(channels)
                                    if E[("X", s, ch)]["events"]}
                                for s in sorted(segments)}}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
