#!/usr/bin/python3
"""churn_exact.py - the exact churn rate of a CSV event stream, customer by
customer, from the definitions of docs/retention.md (all customers, UTC days,
churn window W = 90 days), to compare with `cxm report`'s `churn_rate`.

Usage: /usr/bin/python3 churn_exact.py EVENTS.csv PERIOD_DAYS [D1] [--report R.json]
D1 (a day number) defaults to the day of the newest event; D0 = D1 - PERIOD.
Prints the customers active on D0, those of them not active on D1, and the
share. With --report, also compares with the "all" scope's churn_rate of
`cxm report --format json` (R.json, same stream, default as-of, period
PERIOD_DAYS): n and the rate must be equal (the library divides the same two
integers), else the exit status is 1. Needs pandas; times must be Unix
seconds (as bench/gen_events writes).

Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
"""
import bisect
import sys

import pandas as pd

W = 90


def main(argv):
    report = None
    if "--report" in argv:
        i = argv.index("--report")
        report = argv[i + 1] if i + 1 < len(argv) else None
        argv = argv[:i] + argv[i + 2:]
        if report is None:
            sys.stderr.write(__doc__)
            return 2
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    period = int(argv[1])
    df = pd.read_csv(argv[0], usecols=["time", "customer", "type"],
                     dtype={"customer": str})
    df = df[df.customer.notna()]
    df["day"] = df.time // 86400
    activity = df[~df.type.isin(["message_sent", "churn"])]
    act = activity.groupby("customer").day.apply(lambda s: sorted(set(s)))
    churns = df[df.type == "churn"].groupby("customer").day.apply(
        lambda s: sorted(set(s)))
    d1 = int(argv[2]) if len(argv) == 3 else int(df.day.max())
    d0 = d1 - period

    def active(c, d):
        days = act.get(c)
        if days is None:
            return False
        i = bisect.bisect_right(days, d)
        if i == 0:
            return False
        last = days[i - 1]
        if d - last >= W:
            return False
        cs = churns.get(c, [])
        j = bisect.bisect_left(cs, last)  # a churn on the activity's day wins
        return not (j < len(cs) and cs[j] <= d)

    at0 = [c for c in act.index if active(c, d0)]
    gone = sum(1 for c in at0 if not active(c, d1))
    rate = gone / len(at0) if at0 else float("nan")
    print(f"D0={d0} D1={d1} active_at_D0={len(at0)} not_active_at_D1={gone} "
          f"exact_churn_rate={rate:.6f}")
    if report is not None:
        import json
        with open(report) as f:
            got = json.load(f)["all"]["churn_rate"]
        want_rate = 1.0 - (len(at0) - gone) / len(at0) if at0 else None
        same = got["n"] == len(at0) and got["value"] == want_rate
        print(f"cxm report: n={got['n']} churn_rate={got['value']}: "
              f"{'equal' if same else 'DIFFERENT'}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
