"""How long the register's thread waits while sync applies a 100k-customer list (docs/customers.md#on-the-till).

    flock /tmp/kassa-bench.lock .venv/bin/python bench/customers_apply_bench.py [--customers 100000]

The register searches and saves customers on its own thread; the fleet's list arrives on sync's link thread, which
checks it (the contract model), builds the index (~2 s at 100k) and writes it, then swaps the book's view under the
book's lock (firmware/customers.py, firmware/sync/customer_outbox.py). This measures, in one run:

- baseline: search ("anna") and save (a one-field edit, fsync'ed) on an idle book;
- during: the same, in a loop on the main thread, while another thread applies a newer list of the same size
  (`CustomerOutbox.on_list`: decode + `CustomerBook.apply_list`);

and prints p50/p99/max of each, the apply's wall time, and the ratio of the worst wait during the apply to the
apply's duration (the register must never wait for the apply as a whole: a ratio far below 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.customers_bench import make_store  # noqa: E402
from firmware.customers import CustomerBook  # noqa: E402
from firmware.sync.customer_outbox import CustomerOutbox  # noqa: E402


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"n {len(ms):5d}  p50 {statistics.median(ms):7.2f} ms  p99 {p99:7.2f} ms  max {ms[-1]:7.2f} ms"


def _loop(book: CustomerBook, until: threading.Event | None, rounds: int) -> tuple[list[float], list[float]]:
    searches, saves = [], []
    anna = book.create({"name": "Anna Bench"}, "2026-12-01T08:00:00Z").customer_id
    n = 0
    while (until is not None and not until.is_set()) or (until is None and n < rounds):
        t0 = time.perf_counter()
        book.search("anna")
        t1 = time.perf_counter()
        book.edit(anna, {"phone": f"+49 151 {1000000 + n}"}, "2026-12-01T08:00:00Z")
        t2 = time.perf_counter()
        searches.append(t1 - t0)
        saves.append(t2 - t1)
        n += 1
    return searches, saves


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    first = make_store(args.customers)
    second = {**first, "version": first["version"] + 1}
    document = json.dumps(second, ensure_ascii=False, separators=(",", ":")).encode()
    with tempfile.TemporaryDirectory() as tmp:
        book = CustomerBook(Path(tmp), "S001", "R1")
        book.apply_list(first)
        base_search, base_save = _loop(book, None, 300)
        outbox = CustomerOutbox(book, "kassa/v1/S001/R1/customers", lambda _t, _p: None, time.monotonic)
        done = threading.Event()
        took: list[float] = []

        def sync_thread() -> None:
            t0 = time.perf_counter()
            outbox.on_list("S001", document)
            took.append(time.perf_counter() - t0)
            done.set()

        thread = threading.Thread(target=sync_thread)
        thread.start()
        during_search, during_save = _loop(book, done, 0)
        thread.join()
        assert book.version == second["version"]
    apply_s = took[0]
    worst = max(during_search + during_save)
    print(f"{args.customers} customers, list document {len(document) / 2**20:.1f} MiB")
    print(f"apply on the sync thread (decode + build + write + swap): {apply_s * 1000:.0f} ms")
    print(f"baseline search  {_stats(base_search)}")
    print(f"baseline save    {_stats(base_save)}")
    print(f"during search    {_stats(during_search)}")
    print(f"during save      {_stats(during_save)}")
    print(f"worst wait during the apply / the apply's duration: {worst / apply_s:.3f}  [must be far below 1]")


if __name__ == "__main__":
    main()
