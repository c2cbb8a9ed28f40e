#!/usr/bin/python3
"""Generate examples/data/sample-events.csv, the bundled sample event stream.

Deterministic (fixed seed, no clock): running it again writes the same bytes.

    /usr/bin/python3 tools/make_sample.py > examples/data/sample-events.csv

The stream is a small online shop with stores, over eight weeks of early 2026:
about 400 customers (ids are e-mail addresses or UUIDs), every event type,
eight channels, segments `tier=...` and `region=...` (some customers move to
another tier; a few have their segments cleared with `-`), survey answers with
free-text comments in a `text` column (commas, quotes, a line break, UTF-8),
times in several ISO-8601 forms and as Unix seconds, marketing spend per
channel and day, a handful of deliberately malformed lines (listed below in
BAD_ROWS) and, last, one event too late for the default lateness bound, so
that `cxm report` shows how it rejects them.

Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
"""

import csv
import datetime as dt
import random
import sys
import uuid

SEED = 20260301
START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)  # a Monday
DAYS = 56
N_CUSTOMERS = 400

ACQ_CHANNELS = [("web", 30), ("social", 20), ("ads", 20), ("email", 8),
                ("store", 12), ("app", 10)]
PAID_CHANNELS = {"ads": (90.0, 180.0), "social": (40.0, 110.0)}
TIERS = [("tier=bronze", 55), ("tier=silver", 30), ("tier=gold", 15)]
REGIONS = [("region=EU", 45), ("region=APAC", 35), ("region=US", 20)]

COMMENTS_GOOD = [
    "Fast delivery, great packaging",
    "Staff in the store were very helpful",
    "Love the app, checkout takes seconds",
    "Pengiriman cepat, barang sesuai pesanan",
    "Très bien, je recommande",
    "Good prices; will \"definitely\" order again",
]
COMMENTS_MID = [
    "OK overall, delivery a bit slow",
    "Website is fine but search could be better",
    "Harga oke, tapi ongkir mahal",
]
COMMENTS_BAD = [
    "Parcel arrived damaged, refund took two weeks",
    "Waited 40 minutes on the phone, nobody answered",
    "Wrong size sent twice.\nSecond line of the complaint: support never replied",
    "App crashed at payment, charged twice",
]


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    x = rng.uniform(0, total)
    for item, w in weighted:
        x -= w
        if x <= 0:
            return item
    return weighted[-1][0]


class Stream:
    """Collects rows with their times, then writes them sorted."""

    def __init__(self, rng):
        self.rng = rng
        self.rows = []  # (unix seconds, sequence, row dict)

    def add(self, when, customer, etype, channel="", value="", value2="",
            segments="", text=""):
        self.rows.append((when, len(self.rows), dict(
            when=when, customer=customer, type=etype, channel=channel,
            value=value, value2=value2, segments=segments, text=text)))

    def time_text(self, when, etype):
        """The `time` cell: mostly ISO-8601 UTC, some other accepted forms."""
        rng = self.rng
        t = dt.datetime.fromtimestamp(when, dt.timezone.utc)
        r = rng.random()
        if etype == "spend":
            return t.strftime("%Y-%m-%d")  # a bare date: 00:00 of the day
        if r < 0.70:
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        if r < 0.82:  # the same instant written in Jakarta time
            j = t.astimezone(dt.timezone(dt.timedelta(hours=7)))
            return j.strftime("%Y-%m-%dT%H:%M:%S+07:00")
        if r < 0.92:
            return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % rng.randrange(1000)
        return str(when)  # Unix seconds


def money(rng, lo, hi):
    return "%.2f" % rng.uniform(lo, hi)


def customer_ids(rng, n):
    ids = []
    for i in range(n):
        if i % 3 == 2:
            ids.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        else:
            ids.append("customer%04d@example.com" % (i + 1))
    return ids


def survey_text(rng, score, lo_bad, hi_good):
    if rng.random() > 0.35:
        return ""
    if score <= lo_bad:
        return rng.choice(COMMENTS_BAD)
    if score >= hi_good:
        return rng.choice(COMMENTS_GOOD)
    return rng.choice(COMMENTS_MID)


def simulate_customer(rng, s, cid):
    t0 = int(START.timestamp()) + rng.randrange(0, 42 * 86400)
    end = int(START.timestamp()) + DAYS * 86400 - 1
    acq = pick(rng, ACQ_CHANNELS)
    tier, region = pick(rng, TIERS), pick(rng, REGIONS)
    segs = tier + ";" + region
    t = t0
    s.add(t, cid, "touch", acq, segments=segs)

    def later(max_days):
        nonlocal t
        t = min(end, t + rng.randrange(60, int(max_days * 86400)))
        return t

    for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 6])):
        ch = rng.choice(["web", "web", "app"])
        pv = min(1 + int(rng.expovariate(0.35)), 40)
        if rng.random() < 0.35:
            pv = 1
        dur = 0 if pv == 1 and rng.random() < 0.7 else rng.randrange(3, 900)
        if rng.random() < 0.05:
            s.add(later(4), cid, "session", ch)  # numbers absent
        else:
            s.add(later(4), cid, "session", ch, pv, dur)
    for _ in range(rng.choice([0, 0, 1, 2])):
        s.add(later(5), cid, "engage", rng.choice(["social", "app", "web"]))

    lead = rng.random() < 0.55
    if lead:
        s.add(later(6), cid, "lead", acq)
    p_buy = 0.7 if lead else 0.35
    orders = 0
    if rng.random() < p_buy:
        orders = rng.choice([1, 1, 1, 2, 2, 3, 4, 5])
    for k in range(orders):
        if k == 0 and rng.random() < 0.6:
            ch = acq  # converted by the channel that brought it
        else:
            ch = rng.choice(["web", "web", "app", "store"])
        amount = round(min(rng.lognormvariate(3.9, 0.6), 900.0), 2)
        if rng.random() < 0.03:
            value = "%.3f" % (amount + 0.005)  # 3 decimals: rounded half away
        else:
            value = "%.2f" % amount
        s.add(later(9), cid, "purchase", ch, value)
        if rng.random() < 0.08:
            part = amount if rng.random() < 0.5 else round(amount * 0.4, 2)
            s.add(later(5), cid, "refund", ch, "%.2f" % part)
        if k == 2 and tier != "tier=gold":
            tier = "tier=gold" if tier == "tier=silver" else "tier=silver"
            segs = tier + ";" + region
            s.add(later(1), cid, "engage", "email", segments=segs)
        if rng.random() < 0.55:
            score = min(10, max(0, int(round(rng.gauss(7.6, 2.2)))))
            s.add(later(3), cid, "nps", "email", score,
                  text=survey_text(rng, score, 6, 9))
    if rng.random() < 0.25:
        score = rng.choice([1, 2, 3, 3, 4, 4, 4, 5, 5, 5])
        s.add(later(7), cid, "touch", "chat")
        s.add(later(0.1), cid, "csat", "chat", score,
              text=survey_text(rng, score, 2, 5))
        s.add(later(0.1), cid, "ces", "chat", rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 7]))
    if rng.random() < 0.06:
        s.add(later(10), cid, "churn", acq)
    if rng.random() < 0.02:
        s.add(later(3), cid, "touch", "web", segments="-")


def campaigns(rng, s, ids):
    base = int(START.timestamp())
    for day, channel, reach, p_open, p_click in [
            (8, "email", 0.7, 0.42, 0.30), (22, "email", 0.6, 0.38, 0.25),
            (36, "sms", 0.3, 0.80, 0.12), (45, "email", 0.65, 0.35, 0.22)]:
        sent_at = base + day * 86400 + 9 * 3600
        for cid in ids:
            if rng.random() >= reach:
                continue
            t = sent_at + rng.randrange(0, 1800)
            s.add(t, cid, "message_sent", channel)
            if rng.random() < p_open:
                t += rng.randrange(60, 2 * 86400)
                s.add(t, cid, "message_open", channel)
                if rng.random() < p_click:
                    s.add(t + rng.randrange(5, 600), cid, "message_click", channel)


def spend(rng, s):
    base = int(START.timestamp())
    for day in range(DAYS):
        for ch, (lo, hi) in PAID_CHANNELS.items():
            s.add(base + day * 86400, "", "spend", ch, money(rng, lo, hi))
        if day % 7 == 0:
            s.add(base + day * 86400, "", "spend", "email", money(rng, 15, 25))
    s.add(base + 36 * 86400, "", "spend", "sms", "120.00")


# Malformed lines, appended in time order so the reader meets them
# mid-stream. Each one shows one reason for rejection.
BAD_ROWS = [
    # (time, customer, type, channel, value, value2, segments, text)
    ("2026-02-30T10:00:00Z", "customer0001@example.com", "touch", "web", "", "", "", ""),
    ("2026-01-20T11:00:00Z", "customer0002@example.com", "purchse", "web", "19.99", "", "", ""),
    ("2026-01-21T12:00:00Z", "customer0004@example.com", "nps", "email", "11", "", "", "scored 11 of 10"),
    ("2026-01-22T13:00:00Z", "customer0005@example.com", "purchase", "web", "", "", "", ""),
    ("2026-01-23T14:00:00Z", "customer0007@example.com", "refund", "web", "-5.00", "", "", ""),
    ("2026-01-24T15:00:00Z", "", "session", "web", "3", "40", "", ""),
    ("2026-01-25T16:00:00Z", "customer0008@example.com", "csat", "chat", "four", "", "", ""),
    ("yesterday", "customer0010@example.com", "touch", "web", "", "", "", ""),
]


def main():
    rng = random.Random(SEED)
    s = Stream(rng)
    ids = customer_ids(rng, N_CUSTOMERS)
    for cid in ids:
        simulate_customer(rng, s, cid)
    campaigns(rng, s, ids)
    spend(rng, s)
    rows = sorted(s.rows)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["time", "customer", "type", "channel", "value", "value2",
                  "segments", "text"])
    bad_at = {len(rows) * (i + 1) // (len(BAD_ROWS) + 1): b
              for i, b in enumerate(BAD_ROWS)}
    # One event older than its customer's newest by more than the default
    # lateness bound (7 days), written last: rejected as late.
    last_seen = {}
    for when, _, r in rows:
        last_seen[r["customer"]] = when
    late_cid = min(c for c, w in last_seen.items()
                   if c and w >= int(START.timestamp()) + (DAYS - 3) * 86400)
    late_row = ["2026-02-10T12:00:00Z", late_cid, "purchase", "web", "49.90",
                "", "", "entered late by a batch job"]
    for i, (when, _, r) in enumerate(rows):
        if i in bad_at:
            out.writerow(bad_at[i])
        out.writerow([s.time_text(when, r["type"]), r["customer"], r["type"],
                      r["channel"], r["value"], r["value2"], r["segments"],
                      r["text"]])
    out.writerow(late_row)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
