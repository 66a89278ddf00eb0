"""Fleet database benchmark (not a test): the ingest's periodic gap check against a full scan of the receipts.

    .venv/bin/python bench/fleet_bench.py [--receipts 300000] [--registers 10]

Fills a fleet SQLite database through `FleetDb.store_batch` (batches of 200, as the ingest does), then times
`gaps()` (the first call walks up from seq 1 and remembers where each register epoch is unbroken; later
calls read only above that mark) and, as the baseline in the same run, the window query a check over every
receipt needs (what `gaps()` did before). The ingest runs the check every 5 s on its only thread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet.db import FleetDb, ReceiptRow  # noqa: E402

FULL_SCAN = ("SELECT seq, next FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next FROM receipts "
             "WHERE store=? AND register=? AND epoch=?) WHERE next > seq + 1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receipts", type=int, default=300_000)
    ap.add_argument("--registers", type=int, default=10)
    args = ap.parse_args()
    db = FleetDb(f"sqlite:///{Path(tempfile.mkdtemp(prefix='kassa-fleet-bench-')) / 'fleet.db'}")
    body = "x" * 1400
    per = args.receipts // args.registers
    t = time.perf_counter()
    for start in range(1, per + 1, 200 // args.registers or 1):
        seqs = range(start, min(per, start + (200 // args.registers or 1) - 1) + 1)
        db.store_batch([ReceiptRow(f"R{r}:e1:{q}", "S001", f"R{r}", "e1", q, "sale", "2026-11-25T10:00:00Z", 100,
                                   body) for r in range(args.registers) for q in seqs], [], [], [], [],
                       "2026-11-25T10:00:01Z")
    print(f"filled {per * args.registers} receipts in {time.perf_counter() - t:.1f} s", flush=True)

    def timed(fn) -> float:  # noqa: ANN001
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    first = timed(db.gaps)
    later = [timed(db.gaps) for _ in range(20)]
    full = [timed(lambda: [db.conn.execute(FULL_SCAN, stream).fetchall() for stream in db.epochs()])
            for _ in range(3)]
    later_ms, full_ms = statistics.median(later) * 1000, statistics.median(full) * 1000
    print(f"gaps(), first call (walks up from seq 1):      {first * 1000:8.1f} ms")
    print(f"gaps(), every later check (median of 20):       {later_ms:8.2f} ms")
    print(f"baseline: window query over every receipt (3): {full_ms:8.1f} ms")
    print(f"ratio later check / full scan: {later_ms / full_ms:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
