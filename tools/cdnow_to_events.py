#!/usr/bin/env python3
"""Convert the CDNOW transaction logs to canonical event CSV (docs/csv.md).

    tools/cdnow_to_events.py ../shared/data/cdnow/CDNOW_sample.txt > sample.csv
    cxm clv --unit weeks --as-of 1997-09-30 sample.csv

Reads CDNOW_master.txt (header; customer id, YYYYMMDD, CDs, dollars) or
CDNOW_sample.txt (no header; master id, sample id, YYYYMMDD, CDs, dollars:
the sample id is used, as in the papers). Each line becomes one purchase
event at 00:00 UTC of its day, with the dollar amount as the value;
the library merges purchases of one day (CXM_OPT_CLV_PERIOD_DAYS = 1).
"""
import sys


def convert(lines, out):
    out.write("time,customer,type,value\n")
    n = 0
    for line in lines:
        f = line.split()
        if not f or not f[0].isdigit():
            continue  # header or blank
        if len(f) == 5:
            cust, ymd, usd = f[1], f[2], f[4]
        elif len(f) == 4:
            cust, ymd, usd = f[0], f[1], f[3]
        else:
            raise ValueError("unexpected line: %r" % line)
        out.write("%s-%s-%s,%s,purchase,%s\n" % (ymd[:4], ymd[4:6], ymd[6:], int(cust), usd))
        n += 1
    return n


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="ascii") as f:
        n = convert(f, sys.stdout)
    sys.stderr.write("%d purchases\n" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
