#!/usr/bin/python3
"""compare.py - compare two KPI reports in the JSON shape of
`cxm report --format json`, value by value.

Usage: /usr/bin/python3 compare.py [--max-lines N] A.json B.json

Counts (every `n`, promoters/passives/detractors, orders, buyers, sessions)
must be equal exactly; money (revenue, refunds, net_revenue, spend values)
must be equal to the cent; every other number within a relative 1e-9; null
only equals null. Scopes or keys present on one side only are differences,
except issue 3's KPIs (A_ONLY_OK) on side A only, which are counted. Top-level
keys other than all/segments/channels/segment_channels (cxm's "meta",
"window", "funnel", "attribution") are not compared.
Prints each difference with its path, then a summary line; exits 0 when the
reports agree, 1 when they do not, 2 on bad input.
"""
import json
import math
import sys

MONEY = {"revenue", "refunds", "net_revenue", "spend"}
COUNTS = {"orders", "buyers", "sessions"}
COUNT_FIELDS = {"n", "promoters", "passives", "detractors"}
REL = 1e-9
SCOPES = ("all", "segments", "channels", "segment_channels")
# Issue 3's KPIs in every scope of cxm's report: the DuckDB peer computes
# issue 2's report only, so these (on side A only) are counted, not compared.
A_ONLY_OK = {"active_customers", "churned_customers", "churn_rate",
             "retention_rate", "avg_lifespan_days", "clv_formula"}


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def leaf_kind(kpi, field):
    if field in COUNT_FIELDS or (field == "value" and kpi in COUNTS):
        return "count"
    if field == "value" and kpi in MONEY:
        return "money"
    return "float"


def same(kind, a, b):
    if a is None or b is None:
        return a is None and b is None
    if not (is_num(a) and is_num(b)):
        return a == b
    if kind == "count":
        return float(a).is_integer() and float(b).is_integer() and int(a) == int(b)
    if kind == "money":
        return round(a * 100) == round(b * 100)
    if math.isnan(a) or math.isnan(b):
        return False
    return abs(a - b) <= REL * max(abs(a), abs(b)) or abs(a - b) <= 1e-12


def walk(a, b, path, kpi, out, counter):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            p = path + [k]
            if k not in a:
                out.append(f"{'/'.join(p)}: only in B")
                continue
            if k not in b:
                out.append(f"{'/'.join(p)}: only in A")
                continue
            walk(a[k], b[k], p, k if isinstance(a[k], dict) and kpi is None else kpi,
                 out, counter)
        return
    if isinstance(a, dict) or isinstance(b, dict):
        out.append(f"{'/'.join(path)}: object on one side only: {a!r} vs {b!r}")
        return
    counter[0] += 1
    field = path[-1]
    if not same(leaf_kind(kpi, field), a, b):
        out.append(f"{'/'.join(path)}: A={a!r} B={b!r}")


def kpi_walk(a, b, out, counter):
    """Walk scope containers, then each KPI object with its key known."""
    def scope(x, y, path):
        for k in sorted(set(x) | set(y), key=str):
            p = path + [k]
            if k not in x:
                out.append(f"{'/'.join(p)}: only in B")
            elif k not in y and k in A_ONLY_OK:
                counter[1] += 1
            elif k not in y:
                out.append(f"{'/'.join(p)}: only in A")
            elif isinstance(x[k], dict) and isinstance(y[k], dict):
                for f in sorted(set(x[k]) | set(y[k])):
                    if f not in x[k]:
                        out.append(f"{'/'.join(p + [f])}: only in B")
                    elif f not in y[k]:
                        out.append(f"{'/'.join(p + [f])}: only in A")
                    else:
                        counter[0] += 1
                        if not same(leaf_kind(k, f), x[k][f], y[k][f]):
                            out.append(f"{'/'.join(p + [f])}: A={x[k][f]!r} B={y[k][f]!r}")
            else:
                out.append(f"{'/'.join(p)}: not a KPI object on one side")

    for top in sorted(set(a) | set(b)):
        if top not in SCOPES:
            continue  # "meta", "window": about the run, not KPIs
        if top not in a or top not in b:
            out.append(f"{top}: only in {'B' if top not in a else 'A'}")
            continue
        if top == "all":
            scope(a[top], b[top], [top])
        elif top in ("segments", "channels"):
            for lab in sorted(set(a[top]) | set(b[top])):
                if lab not in a[top] or lab not in b[top]:
                    out.append(f"{top}/{lab}: only in {'B' if lab not in a[top] else 'A'}")
                else:
                    scope(a[top][lab], b[top][lab], [top, lab])
        elif top == "segment_channels":
            for s in sorted(set(a[top]) | set(b[top])):
                if s not in a[top] or s not in b[top]:
                    out.append(f"{top}/{s}: only in {'B' if s not in a[top] else 'A'}")
                    continue
                for ch in sorted(set(a[top][s]) | set(b[top][s])):
                    if ch not in a[top][s] or ch not in b[top][s]:
                        out.append(f"{top}/{s}/{ch}: only in "
                                   f"{'B' if ch not in a[top][s] else 'A'}")
                    else:
                        scope(a[top][s][ch], b[top][s][ch], [top, s, ch])
        else:
            walk(a[top], b[top], [top], None, out, counter)


def main(argv):
    max_lines = 50
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--max-lines":
            max_lines = int(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(args[0]) as fa, open(args[1]) as fb:
            a, b = json.load(fa), json.load(fb)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"compare.py: {e}\n")
        return 2
    out, counter = [], [0, 0]
    kpi_walk(a, b, out, counter)
    for line in out[:max_lines]:
        print(line)
    if len(out) > max_lines:
        print(f"... and {len(out) - max_lines} more")
    print(f"compare: {counter[0]} values compared, {len(out)} differences "
          f"(A={args[0]}, B={args[1]})")
    if counter[1]:
        print(f"compare: {counter[1]} KPI objects of issue 3 only in A, not "
              f"compared ({', '.join(sorted(A_ONLY_OK))})")
    return 0 if not out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
