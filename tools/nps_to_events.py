#!/usr/bin/python3
"""Turn the NPS survey of a garden-retail chain (nps-retail/nps.csv) into
libcxmetrics' canonical event CSV.

Input: ../shared/data/nps-retail/nps.csv, Latin-1, comma-separated, header
    "","id","nps","satisfaction","intention","explication","NbPassageKS","CaTicket","t"
with `NA` for missing cells (see ../shared/data/README.md).

Output (RFC 4180, LF line ends), header
    time,customer,type,channel,value,value2,segments,text
one row per survey answer, in input order:

- type `nps`, channel `store`, customer = the survey's `id` column.
- value = the `nps` cell as written (0..10). Rows whose `nps` is `NA` are
  kept with an EMPTY value, so that the library rejects them (status
  CXM_E_MISSING) and reports their line numbers: of the 13,954 rows, 13,612
  carry an answer. `--skip-na` drops those rows instead.
- time: the file has no dates, only `t` (0..17, read here as a week index).
  We place each answer deterministically at 2019-01-07 (a Monday) + t weeks,
  noon UTC: `2019-01-07T12:00:00Z` + 7 * t days, written in ISO-8601 with `Z`.
  A row whose `t` is `NA` is put in week 0. Each id occurs once, so the
  lateness bound never applies.
- segments: empty (the customer's segments are left unchanged).
- text: the free comment (`explication`), its bytes kept exactly as in the
  input (Latin-1, hence invalid UTF-8 wherever accents occur), quoted per
  RFC 4180; empty when `NA`. `--utf8` re-encodes it as UTF-8 instead.
- `--purchases`: also emit the basket `CaTicket` (euros) of each row as a
  `purchase` event (or a `refund` of its absolute value when negative; none
  when `NA` or 0) at the same time, channel `store`. Off by default.

Usage: nps_to_events.py [--skip-na] [--utf8] [--purchases] INPUT OUTPUT
(`-` for OUTPUT writes to standard output). Standard library only.
"""

import argparse
import csv
import datetime
import sys

BASE = datetime.datetime(2019, 1, 7, 12, 0, 0)
HEADER = ["time", "customer", "type", "channel", "value", "value2",
          "segments", "text"]


def iso_time(t_cell):
    weeks = 0 if t_cell in ("", "NA") else int(t_cell)
    return (BASE + datetime.timedelta(days=7 * weeks)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def quote(field):
    """RFC 4180: quote when the field holds a comma, quote, CR or LF."""
    if any(c in field for c in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def convert(inp, out, skip_na=False, utf8=False, purchases=False):
    """Convert; returns (rows read, event rows written)."""
    reader = csv.reader(inp)
    header = next(reader)
    want = ["id", "nps", "explication", "CaTicket", "t"]
    missing = [c for c in want if c not in header]
    if missing:
        raise SystemExit("nps_to_events: input lacks columns %s" % missing)
    col = {name: header.index(name) for name in want}
    out.write((",".join(HEADER) + "\n").encode("ascii"))
    rows = written = 0
    text_encoding = "utf-8" if utf8 else "latin-1"
    for rec in reader:
        if not rec:
            continue
        rows += 1
        nps = rec[col["nps"]]
        if nps == "NA":
            if skip_na:
                continue
            nps = ""
        when = iso_time(rec[col["t"]])
        cust = rec[col["id"]]
        text = rec[col["explication"]]
        if text == "NA":
            text = ""
        line = ",".join([when, quote(cust), "nps", "store", nps, "", "",
                         quote(text)]) + "\n"
        out.write(line.encode(text_encoding))
        written += 1
        if purchases:
            amount = rec[col["CaTicket"]]
            if amount not in ("", "NA") and float(amount) != 0.0:
                kind = "purchase"
                if amount.startswith("-"):
                    kind, amount = "refund", amount[1:]
                out.write((",".join([when, quote(cust), kind, "store",
                                     amount, "", "", ""]) + "\n")
                          .encode("ascii"))
                written += 1
    return rows, written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--skip-na", action="store_true",
                    help="drop rows without an nps answer")
    ap.add_argument("--utf8", action="store_true",
                    help="re-encode comments as UTF-8 (default: raw bytes)")
    ap.add_argument("--purchases", action="store_true",
                    help="also emit CaTicket as purchase/refund events")
    args = ap.parse_args(argv)
    with open(args.input, encoding="latin-1", newline="") as inp:
        if args.output == "-":
            convert(inp, sys.stdout.buffer, args.skip_na, args.utf8,
                    args.purchases)
            sys.stdout.buffer.flush()
        else:
            with open(args.output, "wb") as out:
                convert(inp, out, args.skip_na, args.utf8, args.purchases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
