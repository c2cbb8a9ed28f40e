#!/usr/bin/python3
"""gen_stream.py - a seeded random event stream in the canonical CSV, for the
differential test (tests/check_diff.sh).

Usage: gen_stream.py SEED [EVENTS] [CUSTOMERS] > events.csv

What it covers: every event type; customers with 0-3 segments that change
(and are cleared with "-") along the stream; spend rows per channel and
without a channel; events without a channel; times as Unix seconds and as
ISO-8601 (Z, +07:00, -03:30, fractional seconds, bare dates); rows written
out of order (delayed by up to 3 days: within the default 7-day bound, past
tighter bounds); same-second events of one customer on different channels
(ties); amounts with extra decimals (rounding); a `text` column with commas,
quotes and line breaks; and some invalid rows (unknown type, scores out of
range, missing amounts or customers, far-late events) that must be rejected
without side effects. Labels in invalid rows are always labels that valid
rows use too.
"""
import csv
import random
import sys

T0 = 1767225600  # 2026-01-01T00:00:00Z
SPAN_DAYS = 30
CHANNELS = ["web", "email", "app", "sms", "ads", "store"]
SEGMENTS = ["tier=gold", "tier=silver", "tier=bronze", "region=EU",
            "region=US", "vip", "b2b"]
MIX = [("touch", 18), ("session", 15), ("engage", 8), ("message_sent", 10),
       ("message_open", 6), ("message_click", 3), ("lead", 5),
       ("purchase", 13), ("refund", 2), ("nps", 7), ("csat", 5), ("ces", 3),
       ("churn", 1)]
TEXTS = ["", "", "", "great, thanks", 'said "meh"', "line one\nline two",
         "tr\u00e8s bien", "ok"]


def civil(t, off):
    """(Y, M, D, h, m, s) of Unix time t in UTC offset off."""
    x = t + off
    days, rem = divmod(x, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    return y, m, d, rem // 3600, rem % 3600 // 60, rem % 60


def fmt_time(rng, t):
    r = rng.random()
    if r < 0.80:
        return str(t)
    if r < 0.88:
        y, m, d, h, mi, s = civil(t, 0)
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, h, mi, s)
    if r < 0.93:
        y, m, d, h, mi, s = civil(t, 25200)
        return "%04d-%02d-%02dT%02d:%02d:%02d+07:00" % (y, m, d, h, mi, s)
    if r < 0.96:
        y, m, d, h, mi, s = civil(t, -12600)
        return "%04d-%02d-%02dT%02d:%02d:%02d.250-03:30" % (y, m, d, h, mi, s)
    y, m, d, h, mi, s = civil(t, 0)
    return "%04d-%02d-%02dT%02d:%02d:%02d.125Z" % (y, m, d, h, mi, s)


def amount(rng):
    r = rng.random()
    if r < 0.7:
        return "%.2f" % (rng.randint(100, 50000) / 100)
    if r < 0.85:
        return str(rng.randint(1, 300))
    if r < 0.95:
        # extra decimals: rounding (ties like .125 / .375 are exact in binary)
        return "%.3f" % (rng.randint(1000, 90000) / 1000)
    return rng.choice(["0", "0.00", "10.125", "1.005", "2.675", "0.285"])


def main(argv):
    seed = int(argv[0]) if argv else 1
    n_events = int(argv[1]) if len(argv) > 1 else 2000
    n_cust = int(argv[2]) if len(argv) > 2 else 300
    rng = random.Random(seed)
    types = [t for t, w in MIX for _ in range(w)]
    custs = ["c%04d@example.com" % i if i % 7 else "c%04d,\"quoted\"" % i
             for i in range(n_cust)]
    rows = []  # (sort key, row)
    seen = set()
    for i in range(n_events):
        t = T0 + rng.randrange(SPAN_DAYS * 86400)
        cust = rng.choice(custs)
        ty = rng.choice(types)
        ch = rng.choice(CHANNELS) if rng.random() < 0.9 else ""
        v = v2 = ""
        if ty == "session":
            v = str(rng.randint(0, 5)) if rng.random() < 0.9 else ""
            v2 = (str(rng.randint(0, 120)) if rng.random() < 0.7 else
                  "%.1f" % (rng.randint(0, 200) / 10) if rng.random() < 0.6 else "")
        elif ty in ("purchase", "refund"):
            v = amount(rng)
        elif ty == "nps":
            v = str(rng.randint(0, 10))
        elif ty == "csat":
            v = str(rng.randint(1, 5))
        elif ty == "ces":
            v = str(rng.randint(1, 7))
        seg = ""
        if cust not in seen:
            seen.add(cust)
            k = rng.choice([0, 1, 1, 2, 3])
            seg = ";".join(rng.sample(SEGMENTS, k)) if k else ""
        elif rng.random() < 0.05:
            seg = ";".join(rng.sample(SEGMENTS, rng.randint(1, 3)))
        elif rng.random() < 0.01:
            seg = "-"
        # Out of order: 10 % of rows are written up to 3 days after their time.
        delay = rng.randrange(3 * 86400) if rng.random() < 0.10 else 0
        row = [fmt_time(rng, t), cust, ty, ch, v, v2, seg, rng.choice(TEXTS)]
        rows.append((t + delay, i, row))
        # Ties: the same customer, same second, another channel.
        if rng.random() < 0.02 and ty in ("purchase", "lead", "touch"):
            row2 = [str(t), cust, ty, rng.choice(CHANNELS), v, v2, "", ""]
            rows.append((t + delay, i + 0.5, row2))
        # A purchase at exactly the time of a lead (converts), sometimes
        # written before the lead.
        if ty == "lead" and rng.random() < 0.15:
            row3 = [str(t), cust, "purchase", rng.choice(CHANNELS), amount(rng),
                    "", "", ""]
            rows.append((t + delay, i + (0.25 if rng.random() < 0.5 else -0.25), row3))
    # Spend: per channel and day, plus some without a channel.
    for day in range(SPAN_DAYS):
        for ch in CHANNELS:
            if rng.random() < 0.7:
                t = T0 + day * 86400 + rng.randrange(86400)
                rows.append((t, -1, [fmt_time(rng, t), "", "spend", ch,
                                     amount(rng), "", "", ""]))
        if rng.random() < 0.3:
            t = T0 + day * 86400
            y, m, d, _, _, _ = civil(t, 0)
            # a bare date: midnight in the handle's offset
            rows.append((t, -1, ["%04d-%02d-%02d" % (y, m, d), "", "spend", "",
                                 amount(rng), "", "", ""]))
    # Invalid rows, spread over the stream (existing labels only).
    bad = [
        lambda t, c: [str(t), c, "purchased", "web", "1", "", "", ""],
        lambda t, c: [str(t), c, "nps", "web", "11", "", "", ""],
        lambda t, c: [str(t), c, "nps", "email", "7.5", "", "", ""],
        lambda t, c: [str(t), c, "csat", "app", "0", "", "", ""],
        lambda t, c: [str(t), c, "ces", "app", "8", "", "", ""],
        lambda t, c: [str(t), c, "purchase", "web", "", "", "", ""],
        lambda t, c: [str(t), c, "refund", "web", "-3", "", "", ""],
        lambda t, c: [str(t), "", "touch", "web", "", "", "", ""],
        lambda t, c: [str(t), c, "session", "web", "-1", "", "", ""],
        lambda t, c: [str(t), "", "spend", "ads", "", "", "", ""],
        lambda t, c: ["2026-02-30T10:00:00Z", c, "touch", "web", "", "", "", ""],
        lambda t, c: ["yesterday", c, "touch", "web", "", "", "", ""],
        lambda t, c: [str(t), c, "csat", "web", "four", "", "", ""],
        # far late (10 days before the stream's end), with a segment change
        # that must not be applied
        lambda t, c: [str(T0 + (SPAN_DAYS - 12) * 86400), c, "purchase",
                      "web", "5", "", "vip", ""],
        lambda t, c: [str(T0 + (SPAN_DAYS - 12) * 86400), "", "spend", "web",
                      "5", "", "", ""],
    ]
    for j in range(45):
        t = T0 + rng.randrange(SPAN_DAYS * 86400)
        f = bad[j % len(bad)]
        if j % len(bad) >= len(bad) - 2:
            t = T0 + SPAN_DAYS * 86400 + 86400  # placed at the very end
        rows.append((t, 10 ** 9 + j, f(t, rng.choice(custs))))
    # A customer with only far-late rows after a recent one.
    rows.append((T0 + SPAN_DAYS * 86400 + 2 * 86400, 2 * 10 ** 9,
                 [str(T0 + SPAN_DAYS * 86400), custs[1], "touch", "web", "",
                  "", "", ""]))
    rows.append((T0 + SPAN_DAYS * 86400 + 3 * 86400, 2 * 10 ** 9 + 1,
                 [str(T0 + SPAN_DAYS * 86400 - 8 * 86400), custs[1], "lead",
                  "email", "", "", "tier=gold", ""]))
    rows.sort(key=lambda r: (r[0], r[1]))
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["time", "customer", "type", "channel", "value", "value2",
                "segments", "text"])
    for _, _, row in rows:
        w.writerow(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
