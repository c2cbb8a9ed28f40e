#!/usr/bin/python3
"""Sharded ingest on Dask: exact KPIs of one stream from N worker processes.

The stream is partitioned by customer; each partition is ingested by a Dask
worker into its own libcxmetrics handle, which returns its snapshot bytes;
the snapshots are merged pairwise (a tree reduction) into one, whose report
equals the report of one process that read the whole stream: counts and
money exactly, because a customer's events all land in one shard and every
accumulator of the library adds up across shards.

    CXMETRICS_LIB=build/lib/.libs/libcxmetrics.so.0 \\
        /usr/bin/python3 examples/dask_shards.py --workers 2 --shards 4 --check

Runs a LocalCluster of worker processes on 127.0.0.1; point --scheduler at
a running scheduler (``tcp://host:8786``) to use a real cluster instead (see
docs/scale-out.md). Needs python3-dask and python3-distributed (Debian).

Roles of the bytes that travel:
- the base snapshot, made once from the options and the key: every shard
  starts as a copy of it, so all shards agree on options and key. It is
  saved with the key embedded, because the workers need the key to hash
  customer ids (in production, ship the key file to the workers through your
  secret store instead and keep the base key-less);
- each shard's snapshot, saved WITHOUT the key (only its fingerprint): the
  merges and the report need no key, so the driver never holds it.
"""

import argparse
import csv
import io
import json
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.environ.get("CXM_PYTHON_DIR", os.path.join(HERE, "..", "python"))
DEFAULT_CSV = os.path.join(HERE, "data", "sample-events.csv")


# --------------------------------------------------------------- partitions

def csv_records(data):
    """Split canonical CSV bytes into raw records (bytes, each ending with a
    line end), keeping quoted fields that span lines in one record: a
    record is complete when its quotes are balanced (RFC 4180 doubles a
    quote inside a quoted field)."""
    out, pending = [], []
    quotes = 0
    for line in data.splitlines(keepends=True):
        pending.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            out.append(b"".join(pending))
            pending, quotes = [], 0
    if pending:
        out.append(b"".join(pending))
    if out and not out[-1].endswith(b"\n"):
        out[-1] += b"\n"
    return out


def customer_of(record, column):
    """The customer field of a raw record ("" when absent)."""
    text = record.decode("utf-8", "surrogateescape")
    fields = next(csv.reader(io.StringIO(text, newline="")), [])
    return fields[column].strip() if column < len(fields) else ""


def partition_by_customer(data, nshards):
    """CSV bytes -> nshards CSV byte strings (each with the header), every
    customer's records in one shard in stream order; rows without a customer
    (spend) go to shard 0. The shard of a customer is crc32(id) mod n, so
    any process computes the same assignment."""
    records = csv_records(data)
    if not records:
        return [b""] * nshards
    header = records[0]
    names = [n.strip() for n in next(csv.reader(io.StringIO(
        header.decode("utf-8", "surrogateescape"), newline="")))]
    column = names.index("customer") if "customer" in names else len(names)
    parts = [[header] for _ in range(nshards)]
    for rec in records[1:]:
        cust = customer_of(rec, column)
        i = zlib.crc32(cust.encode("utf-8", "surrogateescape")) % nshards \
            if cust else 0
        parts[i].append(rec)
    return [b"".join(p) for p in parts]


# ------------------------------------------------------- tasks (on workers)

def ingest_shard(base, part):
    """Worker task: a copy of the base snapshot takes one partition's events;
    returns the shard's snapshot bytes (key-less) and its CSV totals."""
    import cxmetrics
    with cxmetrics.Metrics.load(base) as m:
        res = m.ingest_csv(part)
        return m.to_bytes(), (res.lines, res.accepted, res.rejected)


def merge_pair(a, b):
    """Worker task: snapshot bytes a and b merged, as snapshot bytes."""
    import cxmetrics
    with cxmetrics.Metrics.load(a) as ma, cxmetrics.Metrics.load(b) as mb:
        return ma.merge(mb).to_bytes()


def first(pair):
    return pair[0]


def second(pair):
    return pair[1]


def tree_merge(client, futures):
    """Merge futures of snapshot bytes pairwise, level by level: log2(n)
    rounds, each round's merges running in parallel."""
    level = list(futures)
    while len(level) > 1:
        nxt = [client.submit(merge_pair, level[i], level[i + 1], pure=False)
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# ------------------------------------------------------------------- driver

def base_snapshot(cxmetrics, key, utc_offset, decimals):
    with cxmetrics.Metrics(utc_offset=utc_offset, decimals=decimals,
                           key=key) as m:
        return m.to_bytes(embed_key=True)


def compare(a, b, path=""):
    """Differences between two report dicts, exact (floats included)."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                diffs.append("%s/%s: only in %s" % (path, k,
                                                    "one" if k in a else "two"))
            else:
                diffs += compare(a[k], b[k], "%s/%s" % (path, k))
        return diffs
    same = a == b and type(a) is type(b)
    return [] if same else ["%s: %r != %r" % (path, a, b)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default=DEFAULT_CSV, help="canonical CSV events")
    ap.add_argument("--workers", type=int, default=2,
                    help="worker processes of the local cluster")
    ap.add_argument("--shards", type=int, default=4,
                    help="customer partitions (tasks)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler "
                    "(default: start a LocalCluster on 127.0.0.1)")
    ap.add_argument("--key-file", help="the hash key (created if missing); "
                    "default: a random key for this run")
    ap.add_argument("--utc-offset", default="+00:00")
    ap.add_argument("--decimals", type=int, default=2)
    ap.add_argument("--out", help="write the merged snapshot here")
    ap.add_argument("--check", action="store_true",
                    help="also ingest in this process and compare the reports")
    ap.add_argument("--json", action="store_true",
                    help="print the merged report as JSON")
    args = ap.parse_args(argv)

    # Workers import cxmetrics from the same place as this process and load
    # the library named by CXMETRICS_LIB: both travel in the environment.
    sys.path.insert(0, PYDIR)
    os.environ["PYTHONPATH"] = PYDIR + (os.pathsep + os.environ["PYTHONPATH"]
                                        if os.environ.get("PYTHONPATH") else "")
    import cxmetrics
    from distributed import Client, LocalCluster

    key = cxmetrics.read_key_file(args.key_file, create=True) \
        if args.key_file else os.urandom(cxmetrics.KEY_SIZE)
    base = base_snapshot(cxmetrics, key, args.utc_offset, args.decimals)
    with open(args.csv, "rb") as f:
        data = f.read()
    parts = partition_by_customer(data, args.shards)

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, host="127.0.0.1",
                               dashboard_address=None, memory_limit=0)
        client = Client(cluster)
    try:
        base_f = client.scatter(base, broadcast=True)
        part_fs = client.scatter(parts)
        shards = [client.submit(ingest_shard, base_f, p, pure=False)
                  for p in part_fs]
        totals = client.gather(client.map(second, shards))
        snaps = client.map(first, shards)
        merged = tree_merge(client, snaps).result()
        nworkers = len(client.scheduler_info()["workers"])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    lines = sum(t[0] for t in totals)
    with cxmetrics.Metrics.load(merged) as m:
        if args.out:
            m.save(args.out)
        report = m.report(meta=False)
        stats = m.stats
        stats.pop("memory_bytes")
        print("%d shards on %d workers: %d lines, %d events accepted, %d "
              "customers; merged snapshot %d bytes"
              % (args.shards, nworkers, lines, stats["events_accepted"],
                 stats["customers"], len(merged)), file=sys.stderr)
        if args.json:
            json.dump(report, sys.stdout, indent=2, sort_keys=False)
            print()
        if args.check:
            return check(cxmetrics, args, key, m, report, stats)
    return 0


def check(cxmetrics, args, key, merged, report, stats):
    """Ingest the whole stream in this process; compare every KPI of every
    scope, all-time and over the trailing 14 days, and the statistics."""
    with cxmetrics.Metrics(utc_offset=args.utc_offset,
                           decimals=args.decimals, key=key) as one:
        one.ingest_csv(args.csv)
        want_stats = one.stats
        want_stats.pop("memory_bytes")
        diffs = compare(one.report(meta=False), report)
        diffs += compare(want_stats, stats, "/stats")
        diffs += compare(one.report(meta=False, window=one.trailing(14)),
                         merged.report(meta=False,
                                       window=merged.trailing(14)),
                         "/trailing14")
    if diffs:
        print("MISMATCH between the single-process and the merged "
              "report (%d values):" % len(diffs), file=sys.stderr)
        for d in diffs[:30]:
            print("  " + d, file=sys.stderr)
        return 1
    nscopes = (1 + len(report["channels"]) + len(report["segments"])
               + sum(len(v) for v in report["segment_channels"].values()))
    print("OK: the merged report equals the single-process report "
          "(%d scopes, all-time and trailing 14 days, exact)" % nscopes,
          file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
