"""Journal benchmark (not a test): commit latency vs the fsync floor, sqlite3 WAL FULL and stock TinyDB.

    .venv/bin/python bench/journal_bench.py [--quick] [--dir DIR]

Prints, in one run on this machine: Kassa commit p50/p99 with 0, 10k and
100k receipts already journaled; the raw floor (append 1 KB + fsync on the
same disk); sqlite3 WAL synchronous=FULL doing the same commits; stock
TinyDB JSONStorage at 0/1k/10k; open time and resident memory with 100k
receipts (the register's fast open, whose sealed-segment check runs in the
background afterwards, and the synchronous `verify=True` open); ratios. The 100k journal is built
through the real journal code
with syncs switched off (a bulk FileOps), then synced once.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.chain import canonical_json  # noqa: E402
from firmware.clock import ManualClock  # noqa: E402
from firmware.journal import FileOps, Journal  # noqa: E402
from tests.support.journal_sample import make_receipt  # noqa: E402


class BulkOps(FileOps):
    """Build-only: no syncs (the data is synced once with os.sync() afterwards)."""

    def fsync(self, fd: int) -> None:
        pass

    def fdatasync(self, fd: int) -> None:
        pass

    def fsync_dir(self, path: str) -> None:
        pass


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(x: float) -> str:
    return f"{x * 1000:.3f}"


class Chain:
    """Pre-built receipts continuing a journal, so timing covers only the commit."""

    def __init__(self, journal: Journal) -> None:
        self.j = journal

    def build(self, n: int) -> list[dict]:
        out, seq, prev = [], self.j.next_seq, self.j.last_hash
        for _ in range(n):
            r = make_receipt(self.j, seq=seq, prev_hash=prev)
            out.append(r)
            seq, prev = seq + 1, r["hash"]
        return out


def open_journal(data: Path, ops: FileOps | None = None) -> Journal:
    journal = Journal.open(data, store="S001", register="R1", clock=ManualClock(), fileops=ops)
    journal.start()  # as bootstrap does: delivery writer, housekeeper, verifier
    gc.collect()
    gc.freeze()  # as `kassa run` does after bootstrap (the journal no longer freezes the process itself)
    return journal


def fill(data: Path, upto: int) -> None:
    """Grow the journal at `data` to `upto` receipts through the journal code, without syncs."""
    j = open_journal(data, BulkOps())
    todo = upto - (j.next_seq - 1)
    for r in Chain(j).build(todo) if todo > 0 else []:
        j.commit_receipt(r)
    j.close()
    os.sync()


def time_commits(data: Path, n: int) -> list[float]:
    j = open_journal(data)
    receipts = Chain(j).build(n)
    time.sleep(0.3)  # let the housekeeper preallocate the spare segment
    lat = []
    for r in receipts:
        t = time.perf_counter()
        j.commit_receipt(r)
        lat.append(time.perf_counter() - t)
    j.close()
    return lat


def floor(dirpath: Path, n: int) -> list[float]:
    path = dirpath / "floor.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    block = b"x" * 1023 + b"\n"
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        os.write(fd, block)
        os.fsync(fd)
        lat.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    return lat


def sqlite_commits(dirpath: Path, receipts: list[dict], prefill: int) -> list[float]:
    path = dirpath / "bench.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE receipts (seq INTEGER PRIMARY KEY, sale_id TEXT UNIQUE, body BLOB)")
    if prefill:
        body = canonical_json(receipts[0])
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO receipts VALUES (?, ?, ?)", ((-i, f"pre-{i}", body) for i in range(1, prefill + 1))
        )
        con.execute("COMMIT")
    lat = []
    for r in receipts:
        t = time.perf_counter()
        con.execute("BEGIN")
        con.execute("INSERT INTO receipts VALUES (?, ?, ?)", (r["seq"], r["sale_id"], canonical_json(r)))
        con.execute("COMMIT")
        lat.append(time.perf_counter() - t)
    con.close()
    return lat


def tinydb_stock(dirpath: Path, receipts: list[dict], prefill: int, n: int) -> list[float]:
    from tinydb import TinyDB

    path = dirpath / "stock.json"
    path.unlink(missing_ok=True)
    db = TinyDB(path)
    if prefill:
        db.insert_multiple([receipts[0]] * prefill)
    lat = []
    for r in receipts[:n]:
        t = time.perf_counter()
        db.insert(r)
        lat.append(time.perf_counter() - t)
    db.close()
    return lat


def time_states(data: Path, n: int) -> tuple[list[float], list[float]]:
    """put_state and get_state latency with a year of state records held: 365 Z reports, 365 shifts, 1000
    refund index entries (each op touches one document, so the year should not show)."""
    j = open_journal(data, BulkOps())
    report = {"kind": "z", "totals": {f"tender_{i}": i for i in range(60)}, "lines": ["x" * 40] * 20}
    for i in range(365):
        j.put_state("reports", f"z{i}", dict(report, z_number=i))
        j.put_state("shifts", f"s{i}", {"shift_id": f"s{i}", "moves": [{"kind": "drop", "amount": 5000}] * 8})
    for i in range(1000):
        j.put_state("refunds", f"R1:e:{i}", {"refund_ids": [f"R1:e:{i + 5000}"]})
    j.close()
    os.sync()
    j = open_journal(data)
    puts, gets = [], []
    for i in range(n):
        t = time.perf_counter()
        j.put_state("parked", f"p{i % 5}", {"lines": [{"sku": "4006381333931", "qty": 2}] * 3, "n": i})
        puts.append(time.perf_counter() - t)
        t = time.perf_counter()
        j.get_state("refunds", f"R1:e:{(i * 7) % 1000}")
        gets.append(time.perf_counter() - t)
    j.close()
    return puts, gets


def time_export(data: Path, out: Path, limit: int) -> tuple[float, float]:
    """Seconds to export receipts 1..limit (CSV + JSON, streamed and fsynced), and to only read them."""
    from firmware.exports import ALLOW_UNMOUNTED_ENV, export_receipts

    os.environ[ALLOW_UNMOUNTED_ENV] = "1"  # a bench writes to a temp dir, not a stick (the lab switch, documented)
    j = open_journal(data)
    t = time.perf_counter()
    for _ in j.iter_receipts(1, limit):
        pass
    read = time.perf_counter() - t
    t = time.perf_counter()
    export_receipts(j.receipts(1, limit), out, "bench", data_dir=data)
    exported = time.perf_counter() - t
    j.close()
    return exported, read


OPEN_PROBE = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
from firmware.clock import ManualClock
from firmware.journal import Journal
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024
base = rss()
t = time.perf_counter()
j = Journal.open(sys.argv[2], store="S001", register="R1", clock=ManualClock(), verify=sys.argv[3] == "1")
j.start()
opened = time.perf_counter() - t
j.get_seq(1); j.get_seq(j.next_seq - 1); j.outbox(0, 100)
j.wait_verified(60)
checked = time.perf_counter() - t
print(json.dumps({"open": opened, "checked": checked, "alarms": len(j.alarms), "rss": rss(), "base": base,
                  "seq": j.next_seq - 1}))
j.close()
"""


def probe_open(data: Path, verify: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", OPEN_PROBE, str(ROOT), str(data), "1" if verify else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about a minute)")
    parser.add_argument("--dir", default=None, help="scratch directory on the disk to measure (default: a temp dir)")
    args = parser.parse_args()
    n = 150 if args.quick else 500
    scratch = Path(tempfile.mkdtemp(prefix="kassa-bench-", dir=args.dir))
    rows: list[tuple[str, list[float]]] = []
    try:
        data = scratch / "data"
        print(f"scratch dir {scratch}; {n} samples per row", flush=True)
        rows.append(("floor: append 1 KB + fsync", floor(scratch, n)))
        kassa = {}
        for size in (0, 10_000, 100_000):
            t = time.perf_counter()
            fill(data, size)
            build = time.perf_counter() - t
            kassa[size] = time_commits(data, n)
            rows.append((f"kassa commit @ {size // 1000}k", kassa[size]))
            print(f"  (built journal to {size} receipts in {build:.1f}s)", flush=True)
        probe_j = open_journal(scratch / "probe")
        sample = Chain(probe_j).build(n)
        probe_j.close()
        rows.append(("sqlite3 WAL FULL @ 0", sqlite_commits(scratch, sample, 0)))
        rows.append(("sqlite3 WAL FULL @ 100k", sqlite_commits(scratch, sample, 100_000)))
        rows.append(("floor again (after the rest)", floor(scratch, n)))
        for prefill, k in ((0, min(n, 100)), (1000, 20), (10_000, 3)):
            rows.append((f"stock TinyDB JSONStorage @ {prefill // 1000}k", tinydb_stock(scratch, sample, prefill, k)))
        puts, gets = time_states(scratch / "states", n)
        rows.append(("state put, a year of records held", puts))
        rows.append(("state get, a year of records held", gets))
        export_n = 20_000 if args.quick else 100_000
        exported, read = time_export(data, scratch / "export", export_n)
        open_verified = probe_open(data, True)
        open_fast = probe_open(data, False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    fl = statistics.median(rows[0][1] + dict(rows)["floor again (after the rest)"])
    sq = statistics.median(dict(rows)["sqlite3 WAL FULL @ 0"])
    print()
    print(f"{'what':36} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'p50/floor':>10} {'p50/sqlite':>11}")
    for name, lat in rows:
        p50 = statistics.median(lat)
        print(f"{name:36} {len(lat):>5} {ms(p50):>9} {ms(pct(lat, 99)):>9} {p50 / fl:>10.2f} {p50 / sq:>11.2f}")
    k0, k100 = statistics.median(kassa[0]), statistics.median(kassa[100_000])
    print()
    print(f"flatness: p50 @100k / p50 @0 = {k100 / k0:.2f}")
    for label, o in (("open (register: background check)", open_fast), ("open (verify=True, tools)", open_verified)):
        print(
            f"{label:34} {o['seq']} receipts: {o['open'] * 1000:.0f} ms, sealed segments checked at "
            f"{o['checked'] * 1000:.0f} ms ({o['alarms']} alarms), RSS {o['rss'] / 2**20:.1f} MB "
            f"(interpreter + imports {o['base'] / 2**20:.1f} MB)"
        )
    print(
        f"export of {export_n} receipts (CSV + JSON, on the exporter thread in the register): {exported:.1f} s, "
        f"{exported / read:.2f}x the time to read them ({read:.1f} s)"
    )
    print()
    print("targets: p50 @100k <= 1.5x floor and < sqlite3 WAL FULL; flat; open < 0.5 s; RSS < 150 MB")
    print(
        f"  p50@100k/floor {k100 / fl:.2f}  p50@100k/sqlite {k100 / sq:.2f}  open {open_fast['open']:.3f}s  "
        f"RSS {open_fast['rss'] / 2**20:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
