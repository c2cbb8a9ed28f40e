#!/usr/bin/python3
"""compare_reports.py - compare two KPI reports in the JSON shape of
`cxm report --format json` (the `meta` and `window` members are ignored).

Usage: compare_reports.py GOT.json WANT.json [LABEL]

Scopes must match key for key (all, every segment, every channel, every
listed segment x channel pair). Within a KPI object every member is compared:
integers (counts, n) and money sums (revenue, refunds, net_revenue, spend,
compared as exact decimals) exactly; other numbers to 1e-9 relative (1e-9
absolute near 0); null only with null. Prints every difference (up to 50)
and exits 1 if there is any.
"""
import json
import sys
from decimal import Decimal

MONEY = {"revenue", "refunds", "net_revenue", "spend"}


def load(path):
    with open(path, "rb") as fh:
        return json.loads(fh.read().decode("utf-8"), parse_float=Decimal)


def close(a, b):
    a, b = float(a), float(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def compare(got, want):
    diffs = []

    def kpi(where, name, g, w):
        if not isinstance(g, dict):
            diffs.append("%s %s: not an object: %r" % (where, name, g))
            return
        if set(g) != set(w):
            diffs.append("%s %s: members %s, want %s" % (where, name,
                                                        sorted(g), sorted(w)))
        for m in w:
            if m not in g:
                continue
            gv, wv = g[m], w[m]
            tag = "%s %s.%s" % (where, name, m)
            if wv is None or gv is None:
                if gv is not wv:
                    diffs.append("%s: got %s, want %s" % (tag, gv, wv))
            elif name in MONEY and m == "value":
                if Decimal(gv) != Decimal(wv):
                    diffs.append("%s: got %s, want %s (exact money)" % (tag, gv, wv))
            elif isinstance(wv, int) and not isinstance(wv, bool):
                if isinstance(gv, bool) or not isinstance(gv, (int, Decimal)) \
                        or gv != wv:
                    diffs.append("%s: got %s, want %s (exact)" % (tag, gv, wv))
            elif not close(gv, wv):
                diffs.append("%s: got %s, want %s" % (tag, gv, wv))

    def scope(where, g, w):
        if not isinstance(g, dict):
            diffs.append("%s: missing scope" % where)
            return
        if set(g) != set(w):
            diffs.append("%s: KPI keys %s, want %s" % (where, sorted(g), sorted(w)))
        for name in w:
            if name in g:
                kpi(where, name, g[name], w[name])

    def labelled(where, g, w, inner):
        if set(g) != set(w):
            extra, missing = sorted(set(g) - set(w)), sorted(set(w) - set(g))
            diffs.append("%s: labels differ: extra %s, missing %s" % (where, extra, missing))
        for label in w:
            if label in g:
                inner("%s[%s]" % (where, label), g[label], w[label])

    for top in ("all", "segments", "channels", "segment_channels"):
        if top not in got:
            diffs.append("missing member %s" % top)
    if diffs:
        return diffs
    scope("all", got["all"], want["all"])
    labelled("segments", got["segments"], want["segments"], scope)
    labelled("channels", got["channels"], want["channels"], scope)
    labelled("segment_channels", got["segment_channels"], want["segment_channels"],
             lambda wh, g, w: labelled(wh, g, w, scope))
    return diffs


def main(argv):
    got, want = load(argv[0]), load(argv[1])
    label = argv[2] if len(argv) > 2 else argv[0]
    diffs = compare(got, want)
    if diffs:
        print("%s: %d difference(s) with the reference" % (label, len(diffs)))
        for d in diffs[:50]:
            print("  " + d)
        return 1
    n = 1 + len(want["segments"]) + len(want["channels"]) + sum(
        len(v) for v in want["segment_channels"].values())
    print("%s: %d scopes x %d KPIs agree with the reference" % (label, n, len(want["all"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
