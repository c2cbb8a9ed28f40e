"""Tests of the snapshot, merge, stream-position and key-file parts of the
binding (python/cxmetrics.py), stdlib unittest.

The reference for every loaded or merged handle is a handle that took the
same events directly: two different paths through the library, compared
value by value over every KPI of every scope (exactly: counts and money are
integers, ratios come from them). Hand-computed figures pin a few values so
that an error common to both paths is caught too.
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import cxmetrics  # noqa: E402
from cxmetrics import Metrics  # noqa: E402

if not os.environ.get("CXMETRICS_LIB"):
    raise RuntimeError("set CXMETRICS_LIB to the libcxmetrics.so.0 under test")

DAY = 86400
T = 1767225600  # 2026-01-01T00:00:00Z
KEY = bytes(range(16))
OTHER_KEY = bytes(range(1, 17))

# (time, type, customer, channel, value, segments): six customers over
# three channels and two segments, spend, a refund, a segment move.
STREAM = [
    (T + 0, "touch", "ann", "web", None, ["gold"]),
    (T + 60, "nps", "ann", "email", 10, None),
    (T + 120, "nps", "bob", "email", 6, ["silver"]),
    (T + 180, "csat", "cat", "web", 5, None),
    (T + 240, "lead", "dan", "ads", None, ["gold"]),
    (T + DAY, "purchase", "ann", "web", 19.99, None),
    (T + DAY + 60, "purchase", "dan", "ads", 120.50, None),
    (T + DAY + 120, "purchase", "ann", "web", 5.01, None),
    (T + DAY + 180, "refund", "dan", "ads", 20.00, None),
    (T + DAY + 240, "spend", None, "ads", 80.00, None),
    (T + 2 * DAY, "session", "eve", "web", 1, None),
    (T + 2 * DAY + 60, "session", "fay", "web", 4, ["silver"]),
    (T + 2 * DAY + 120, "purchase", "fay", "email", 42.00, None),
    (T + 3 * DAY, "nps", "cat", "web", 9, ["silver"]),
    (T + 3 * DAY + 60, "touch", "ann", "web", None, ["silver"]),
    (T + 4 * DAY, "spend", None, "web", 30.00, None),
]


def add(m, rows):
    for t, ty, cu, ch, v, seg in rows:
        m.add_event(t, ty, cu, ch, v, segments=seg)


def whole(**opts):
    m = Metrics(key=KEY, **opts)
    add(m, STREAM)
    return m


def shard_rows(n):
    """STREAM partitioned by customer in n shards; spend to shard 0."""
    names = sorted({r[2] for r in STREAM if r[2]})
    which = {c: i % n for i, c in enumerate(names)}
    return [[r for r in STREAM if (which[r[2]] if r[2] else 0) == i]
            for i in range(n)]


def diff(a, b, path=""):
    """Exact differences between two reports (an int must stay an int)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append("%s/%s: on one side only" % (path, k))
            else:
                out += diff(a[k], b[k], "%s/%s" % (path, k))
        return out
    if a == b and type(a) is type(b):
        return []
    return ["%s: %r != %r" % (path, a, b)]


class SnapshotCase(unittest.TestCase):
    def assertSameReport(self, a, b, **kw):
        for win in ({}, {"start": T + DAY, "end": T + 3 * DAY}):
            d = diff(a.report(meta=False, **win), b.report(meta=False, **win))
            self.assertEqual(d, [], "%d differences, e.g. %s" % (len(d), d[:5]))
        sa, sb = a.stats, b.stats
        for s in (sa, sb):
            s.pop("memory_bytes")
        self.assertEqual(sa, sb)


class TestRoundTrip(SnapshotCase):
    def test_bytes_round_trip_every_kpi(self):
        with whole(utc_offset="+07:00", decimals=3) as m:
            data = m.to_bytes()
            self.assertIsInstance(data, bytes)
            with Metrics.load(data) as r:
                self.assertSameReport(m, r)
                self.assertEqual(r.utc_offset, 7 * 3600)
                self.assertEqual(r.decimals, 3)
                self.assertEqual(r.channels, m.channels)
                self.assertEqual(r.segments, m.segments)
                # Hand-computed: revenue 19.99 + 120.50 + 5.01 + 42.00.
                self.assertEqual(r.kpi_int("revenue"), 187500)
                self.assertEqual(r.kpi_int("net_revenue"), 167500)
                self.assertEqual(r.kpi_int("buyers"), 3)
                # NPS: answers 10, 6, 9 -> (2 - 1) / 3.
                self.assertAlmostEqual(r.kpi("nps"), 100.0 / 3, places=12)
                # Orders stay with the segments held when made (ann's two
                # in gold, fay's one in silver); buyers, customer-level,
                # follow the segments held now (ann moved to silver).
                self.assertEqual(r.kpi_int("orders", segment="silver"), 1)
                self.assertEqual(r.kpi_int("orders", segment="gold"), 3)
                self.assertEqual(r.kpi_int("buyers", segment="silver"), 2)
                self.assertEqual(r.kpi_int("buyers", segment="gold"), 1)
                # Every KPI id, every scope, as numbers.
                for k in range(1, cxmetrics.library().cxm_kpi_max() + 1):
                    for seg in [None] + r.segments:
                        for ch in [None] + r.channels:
                            self.assertEqual(
                                repr(m.kpi_n(k, seg, ch)),
                                repr(r.kpi_n(k, seg, ch)), (k, seg, ch))

    def test_file_round_trip_and_atomic_replace(self):
        with tempfile.TemporaryDirectory() as d, whole() as m:
            path = os.path.join(d, "state.snap")
            m.save(path)
            with Metrics.load(path) as r:
                self.assertSameReport(m, r)
            # Saving again replaces the file whole, leaving no temporary.
            m.add_event(T + 5 * DAY, "purchase", "gus", "web", 1.00)
            m.save(path)
            self.assertEqual(os.listdir(d), ["state.snap"])
            with Metrics.load(path) as r:
                self.assertEqual(r.kpi_int("orders"), 5)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), m.to_bytes())

    def test_pickle_goes_through_a_keyless_snapshot(self):
        import pickle
        with whole(decimals=3) as m:
            m.position = b"p"
            with pickle.loads(pickle.dumps(m)) as r:
                self.assertIsInstance(r, Metrics)
                self.assertSameReport(m, r)
                self.assertEqual(r.position, b"p")
                self.assertFalse(r.key_known)
                self.assertNotIn(KEY, pickle.dumps(m))

    def test_empty_handle(self):
        with Metrics(decimals=0) as m, Metrics.load(m.to_bytes()) as r:
            self.assertEqual(r.decimals, 0)
            self.assertEqual(r.stat(cxmetrics.Stat.EVENTS_ACCEPTED), 0)
            self.assertEqual(r.channels, [])

    def test_load_bad_argument(self):
        with self.assertRaises(TypeError):
            Metrics.load(12)


class TestKey(SnapshotCase):
    def test_key_not_stored_unless_asked(self):
        with whole() as m:
            data = m.to_bytes()
            self.assertNotIn(KEY, data)
            with Metrics.load(data) as r:
                self.assertFalse(r.key_known)
                self.assertEqual(r.key_fingerprint, m.key_fingerprint)
                # Reports work without the key; events need it.
                self.assertEqual(r.kpi_int("orders"), 4)
                with self.assertRaises(cxmetrics.StateError):
                    r.add_event(T + 5 * DAY, "nps", "ann", "web", 9)
                with self.assertRaises(cxmetrics.MismatchError):
                    r.key = OTHER_KEY
                self.assertFalse(r.key_known)
                r.key = KEY
                self.assertTrue(r.key_known)
                r.add_event(T + 5 * DAY, "nps", "ann", "web", 9)
                m.add_event(T + 5 * DAY, "nps", "ann", "web", 9)
                self.assertSameReport(m, r)
            embedded = m.to_bytes(embed_key=True)
            self.assertIn(KEY, embedded)
            with Metrics.load(embedded) as r:
                self.assertTrue(r.key_known)
                self.assertEqual(r.customer_hash("ann"), m.customer_hash("ann"))

    def test_load_with_key(self):
        with whole() as m:
            data = m.to_bytes()
        with Metrics.load(data, key=KEY) as r:
            self.assertTrue(r.key_known)
        with self.assertRaises(cxmetrics.MismatchError):
            Metrics.load(data, key=OTHER_KEY)

    def test_fingerprint_differs_between_keys(self):
        with Metrics(key=KEY) as a, Metrics(key=OTHER_KEY) as b, \
                Metrics(key=KEY) as c:
            self.assertNotEqual(a.key_fingerprint, b.key_fingerprint)
            self.assertEqual(a.key_fingerprint, c.key_fingerprint)


class TestPosition(unittest.TestCase):
    def test_position_round_trip(self):
        with Metrics() as m:
            self.assertIsNone(m.position)
            m.position = b"orders:0:1234,orders:1:998\x00\xff"
            with Metrics.load(m.to_bytes()) as r:
                self.assertEqual(r.position, b"orders:0:1234,orders:1:998\x00\xff")
            m.position = "offset 7"
            self.assertEqual(m.position, b"offset 7")
            m.position = None
            self.assertIsNone(m.position)
            with self.assertRaises(cxmetrics.LimitError):
                m.position = b"x" * (cxmetrics.POSITION_MAX + 1)
            m.position = b"x" * cxmetrics.POSITION_MAX
            self.assertEqual(len(m.position), cxmetrics.POSITION_MAX)

    def test_resume_exactly_once(self):
        """Ingest in batches, saving state and position after each; a
        restart from the snapshot skips the batches already counted."""
        batches = [STREAM[i:i + 5] for i in range(0, len(STREAM), 5)]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.snap")
            with Metrics(key=KEY) as m:
                m.save(path)
            # Process batches 0 and 1, then "crash"; restart and finish.
            for phase in (2, len(batches)):
                with Metrics.load(path, key=KEY) as m:
                    done = int(m.position or b"0")
                    for i in range(done, phase):
                        add(m, batches[i])
                        m.position = str(i + 1)
                        m.save(path)
            with Metrics.load(path) as r, whole() as w:
                self.assertEqual(r.position, str(len(batches)).encode())
                self.assertEqual(diff(r.report(meta=False),
                                      w.report(meta=False)), [])


class TestMerge(SnapshotCase):
    def test_shards_merged_in_any_order(self):
        with whole(utc_offset="-03:30") as w:
            for n in (2, 3, 6):
                parts = shard_rows(n)
                snaps = []
                for rows in parts:
                    with Metrics(key=KEY, utc_offset="-03:30") as s:
                        add(s, rows)
                        snaps.append(s.to_bytes())
                for order in (range(n), reversed(range(n))):
                    order = list(order)
                    with Metrics.load(snaps[order[0]]) as acc:
                        for i in order[1:]:
                            acc.merge(snaps[i])  # bytes are accepted
                        self.assertSameReport(w, acc)
                # A tree: pairs first, then the pairs' results.
                level = snaps
                while len(level) > 1:
                    nxt = []
                    for i in range(0, len(level) - 1, 2):
                        with Metrics.load(level[i]) as a, \
                                Metrics.load(level[i + 1]) as b:
                            nxt.append(a.merge(b).to_bytes())
                    level = nxt + level[len(level) - len(level) % 2:]
                with Metrics.load(level[0]) as acc:
                    self.assertSameReport(w, acc)

    def test_shards_from_a_base_copy(self):
        """Shards that start as copies of one base snapshot (options and key
        set once) merge, without the driver holding the key."""
        with Metrics(key=KEY, decimals=4) as b:
            base = b.to_bytes(embed_key=True)
        parts = []
        for rows in shard_rows(3):
            with Metrics.load(base) as s:
                add(s, rows)
                parts.append(s.to_bytes())
        with Metrics.load(parts[0]) as acc, whole(decimals=4) as w:
            self.assertFalse(acc.key_known)
            for p in parts[1:]:
                acc.merge(p)
            self.assertSameReport(w, acc)
            self.assertEqual(acc.kpi_int("revenue"), 1875000)

    def test_merge_keeps_dst_position_and_src(self):
        rows = shard_rows(2)
        with Metrics(key=KEY) as a, Metrics(key=KEY) as b:
            add(a, rows[0])
            add(b, rows[1])
            a.position = b"a"
            b.position = b"b"
            before = b.report(meta=False)
            a.merge(b)
            self.assertEqual(a.position, b"a")
            self.assertEqual(diff(b.report(meta=False), before), [])

    def test_incompatible_refused_and_dst_unchanged(self):
        with whole() as a:
            before = a.report(meta=False)
            for other in (Metrics(key=OTHER_KEY), Metrics(key=KEY, decimals=3),
                          Metrics(key=KEY, utc_offset="+01:00")):
                with other:
                    add(other, STREAM[:3])
                    with self.assertRaises(cxmetrics.MismatchError) as cm:
                        a.merge(other)
                    self.assertTrue(cm.exception.message)
            self.assertEqual(diff(a.report(meta=False), before), [])
            with self.assertRaises(ValueError):
                a.merge(a)


class TestCorrupt(unittest.TestCase):
    def setUp(self):
        with whole() as m:
            self.data = m.to_bytes()

    def test_truncated(self):
        for n in (0, 1, 8, len(self.data) // 2, len(self.data) - 1):
            with self.assertRaises(cxmetrics.CorruptError, msg=n):
                Metrics.load(self.data[:n])

    def test_flipped_bits(self):
        for pos in (len(self.data) // 3, len(self.data) // 2,
                    len(self.data) - 1):
            bad = bytearray(self.data)
            bad[pos] ^= 0x04
            with self.assertRaises(cxmetrics.CorruptError, msg=pos):
                Metrics.load(bytes(bad))

    def test_future_version(self):
        # docs/snapshot.md: the format version is the u32 (little endian)
        # at offset 8, checked before the checksum.
        bad = bytearray(self.data)
        version = int.from_bytes(bad[8:12], "little")
        self.assertGreaterEqual(version, 1)
        bad[8:12] = (version + 1).to_bytes(4, "little")
        with self.assertRaises(cxmetrics.VersionError) as cm:
            Metrics.load(bytes(bad))
        self.assertIn("version", cm.exception.message)

    def test_not_a_snapshot_file(self):
        with tempfile.NamedTemporaryFile(suffix=".csv") as f:
            f.write(b"time,customer,type\n1,a,nps\n")
            f.flush()
            with self.assertRaises(cxmetrics.CorruptError):
                Metrics.load(f.name)
        with self.assertRaises(cxmetrics.CxmError) as cm:
            Metrics.load("/nonexistent/dir/x.snap")
        self.assertIn(cm.exception.status, (cxmetrics.Status.IO,
                                            cxmetrics.Status.ACCESS))


class TestKeyFile(unittest.TestCase):
    def test_create_read_and_refuse(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "k")
            key = cxmetrics.read_key_file(path, create=True)
            self.assertEqual(len(key), 16)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertEqual(sorted(os.listdir(d)), ["k"])
            self.assertEqual(cxmetrics.read_key_file(path), key)
            self.assertEqual(cxmetrics.read_key_file(path, create=True), key)
            os.chmod(path, 0o640)
            with self.assertRaises(PermissionError):
                cxmetrics.read_key_file(path)
            hexpath = os.path.join(d, "hex")
            fd = os.open(hexpath, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, KEY.hex().encode() + b"\n")
            os.close(fd)
            self.assertEqual(cxmetrics.read_key_file(hexpath), KEY)
            short = os.path.join(d, "short")
            fd = os.open(short, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, b"123")
            os.close(fd)
            with self.assertRaises(ValueError):
                cxmetrics.read_key_file(short)
            with self.assertRaises(FileNotFoundError):
                cxmetrics.read_key_file(os.path.join(d, "none"))


class TestCliInterop(unittest.TestCase):
    """A snapshot written by `cxm ingest` is read by the binding, and the
    key file `cxm init` created is read by read_key_file."""

    def cxm(self):
        lib = os.environ["CXMETRICS_LIB"]
        path = os.path.join(os.path.dirname(lib), "..", "..", "cli", "cxm")
        if not os.access(path, os.X_OK):
            self.skipTest("cli/cxm not built beside %s" % lib)
        return path

    def test_cxm_ingest_then_python(self):
        cxm = self.cxm()
        rows = ["time,customer,type,channel,value,segments"]
        for t, ty, cu, ch, v, seg in STREAM:
            rows.append("%d,%s,%s,%s,%s,%s" % (
                t, cu or "", ty, ch or "", "" if v is None else v,
                ";".join(seg) if seg else ""))
        data = ("\n".join(rows) + "\n").encode()
        with tempfile.TemporaryDirectory() as d:
            k, s, c = (os.path.join(d, n) for n in ("k", "s.snap", "e.csv"))
            with open(c, "wb") as f:
                f.write(data)
            subprocess.run([cxm, "init", "-o", s, "--key-file", k,
                            "--decimals", "3"], check=True,
                           stderr=subprocess.DEVNULL)
            subprocess.run([cxm, "ingest", "--snapshot", s, "--key-file", k,
                            "--position", "e.csv", c], check=True,
                           stderr=subprocess.DEVNULL)
            key = cxmetrics.read_key_file(k)
            with Metrics.load(s, key=key) as r, \
                    Metrics(key=key, decimals=3) as m:
                m.ingest_csv(data)
                self.assertEqual(r.position, b"e.csv")
                self.assertEqual(diff(r.report(meta=False),
                                      m.report(meta=False)), [])
                self.assertEqual(r.customer_hash("ann"), m.customer_hash("ann"))
            out = subprocess.run([cxm, "report", "--format", "json",
                                  "--snapshot", s], check=True,
                                 capture_output=True).stdout
            self.assertEqual(json.loads(out)["meta"]["position"], "e.csv")


if __name__ == "__main__":
    unittest.main()
