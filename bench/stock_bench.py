"""Stock store benchmark (not a test): on-hand lookup and start-up replay with 50k items and 1M local deltas.

    flock /tmp/kassa-bench.lock .venv/bin/python bench/stock_bench.py [--quick] [--dir DIR]

Builds, through the real store (firmware/stock_store.py): a snapshot of 50,000 tracked items, then 1,000,000 of
this register's own deltas none of which the snapshot holds (sales, refunds, adjusts and 500 stock-take counts),
with the last checkpoint 20,000 deltas before the end (the worst case with the default `checkpoint_every`).
Then, in the same run:

- open: the store's start-up (skus, state.bin, replay of the tail after the checkpoint), and the slow path
  (state.bin deleted: the pending sums rebuilt from the whole log);
- baseline open: the naive way, every delta as a JSON line folded into a dict;
- lookup: `on_hand` p50/p99/max over 100,000 random skus; baseline: a naive sum over all deltas per lookup;
- a check that the store's answers equal the naive fold for 2,000 skus;
- the till: a paid sale on a real register (journal on disk), with its stock record journaled after the
  receipt (one more durable record, firmware/stock_keeper.py) against the same sale without it; and the
  register's start-up with the stock index current (the keeper adds one state read).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.domain.stock import StockDelta, StockSnapshot  # noqa: E402
from firmware.stock_store import StockStore  # noqa: E402

REGISTER = "R1"


def build(directory: Path, items: int, deltas: int, counts: int, tail: int, seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    skus = [f"SKU{i:06d}" for i in range(items)]
    store = StockStore(directory, REGISTER, checkpoint_every=10**12)
    store.apply_snapshot(StockSnapshot(version=1, levels={s: rng.randint(0, 500) for s in skus}, upto={}))
    count_at = set(rng.sample(range(1, deltas + 1), counts))
    rows: list[tuple] = []
    batch: list[StockDelta] = []
    for seq in range(1, deltas + 1):
        sku = skus[rng.randrange(items)]
        roll = rng.random()
        if seq in count_at:
            delta = StockDelta(REGISTER, seq, sku, "count", rng.randint(0, 300), "2026-11-30T10:00:00.000Z")
        elif roll < 0.9:
            delta = StockDelta(REGISTER, seq, sku, "sale", -rng.randint(1, 3), "2026-11-30T10:00:00.000Z")
        elif roll < 0.97:
            delta = StockDelta(REGISTER, seq, sku, "refund", 1, "2026-11-30T10:00:00.000Z")
        else:
            delta = StockDelta(REGISTER, seq, sku, "adjust", rng.randint(-5, 50), "2026-11-30T10:00:00.000Z")
        batch.append(delta)
        rows.append((seq, sku, delta.kind, delta.qty))
        if len(batch) == 1000:
            store.append(batch)
            batch = []
        if seq == deltas - tail:
            store.append(batch)
            batch = []
            store.checkpoint()
    store.append(batch)
    return rows


def naive_open(path: Path, levels: dict[str, int]) -> dict[str, int]:
    on_hand = dict(levels)
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            d = json.loads(line)
            on_hand[d["sku"]] = d["qty"] if d["kind"] == "count" else on_hand.get(d["sku"], 0) + d["qty"]
    return on_hand


def naive_lookup(rows: list[tuple], levels: dict[str, int], sku: str) -> int:
    level = levels[sku]
    for _seq, s, kind, qty in rows:
        if s == sku:
            level = qty if kind == "count" else level + qty
    return level


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def till(base: Path, sales: int) -> None:
    """Sales on a real demo register: per sale with the stock record and without; start-up with the index."""
    import os

    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    from firmware.bootstrap import bootstrap, demo_config, seed_demo
    from firmware.clock import ManualClock

    pencil = "4006381333931"
    data = base / "till"
    pins = seed_demo(data)
    config = demo_config(data, hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, clock=ManualClock(), with_sync=False, demo_pins=pins)
    try:
        assert reg.login("c1", "1111").ok
        paid: dict[bool, list[float]] = {True: [], False: []}  # tender -> "Paid" on screen
        idle: dict[bool, list[float]] = {True: [], False: []}  # tender -> the receipt (and stock record) on disk
        keeper = reg._committer._stock
        for i in range(2 * sales):
            kept = i % 2 == 0
            reg._committer._stock = keeper if kept else None  # interleaved: the same disk, the same moment
            reg.scan(pencil)
            t0 = time.perf_counter()
            reg.tender("cash")
            while reg.view().phase != "done":
                reg.pump()
            paid[kept].append(time.perf_counter() - t0)
            reg.wait_idle()
            idle[kept].append(time.perf_counter() - t0)
        reg._committer._stock = keeper
        keeper.catch_up()  # the baseline's receipts get their deltas too (as after a restart)
        for what, got in (("tender to \"Paid\" on screen", paid), ("tender to all written", idle)):
            with_stock, without = statistics.median(got[True]), statistics.median(got[False])
            print(f"till, {what}: median {with_stock * 1e3:.2f} ms with the stock record, {without * 1e3:.2f} ms "
                  f"without ({with_stock / without:.2f}x; {sales} sales each, interleaved)")
    finally:
        reg.shutdown()
    opens = []
    for _ in range(5):
        t0 = time.perf_counter()
        from firmware.journal import Journal
        from firmware.stock_keeper import StockKeeper

        journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
        t1 = time.perf_counter()
        StockKeeper(journal, data / "stock")
        opens.append((t1 - t0, time.perf_counter() - t1))
        journal.close()
    print(f"till start-up: journal open median {statistics.median(o[0] for o in opens) * 1e3:.1f} ms; the stock "
          f"keeper on it (index current) median {statistics.median(o[1] for o in opens) * 1e3:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k deltas instead of 1M")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    items, deltas = 50_000, (100_000 if args.quick else 1_000_000)
    base = Path(tempfile.mkdtemp(prefix="stock-bench-", dir=args.dir))
    try:
        directory = base / "stock"
        t0 = time.perf_counter()
        rows = build(directory, items, deltas, counts=500, tail=20_000)
        print(f"built: {items} items, {deltas} deltas in {time.perf_counter() - t0:.1f} s "
              f"(log {(directory / 'deltas.bin').stat().st_size / 2**20:.1f} MiB)")
        state = (directory / "state.bin").read_bytes()  # 20,000 deltas behind the log
        levels = StockStore(directory, REGISTER).snapshot().levels

        opens = []
        for _ in range(5):
            (directory / "state.bin").write_bytes(state)
            t0 = time.perf_counter()
            store = StockStore(directory, REGISTER)
            opens.append(time.perf_counter() - t0)
        print(f"open (checkpoint + tail of {store.replayed} deltas): median {statistics.median(opens) * 1e3:.1f} ms, "
              f"max {max(opens) * 1e3:.1f} ms")

        slow = []
        for _ in range(3):
            (directory / "state.bin").unlink()
            t0 = time.perf_counter()
            store = StockStore(directory, REGISTER)
            slow.append(time.perf_counter() - t0)
            replayed = store.replayed
        (directory / "state.bin").write_bytes(state)
        print(f"open, slow path (no state.bin, all {replayed} deltas replayed + checkpoint written): "
              f"median {statistics.median(slow) * 1e3:.1f} ms")

        jsonl = base / "deltas.jsonl"
        with open(jsonl, "w", encoding="utf-8") as out:
            for seq, sku, kind, qty in rows:
                out.write(json.dumps({"register": REGISTER, "seq": seq, "sku": sku, "kind": kind, "qty": qty}) + "\n")
        t0 = time.perf_counter()
        naive = naive_open(jsonl, levels)
        naive_s = time.perf_counter() - t0
        print(f"baseline open (JSON lines folded into a dict): {naive_s * 1e3:.0f} ms")

        store = StockStore(directory, REGISTER)
        rng = random.Random(11)
        skus = list(levels)
        times = []
        for _ in range(100_000):
            sku = skus[rng.randrange(len(skus))]
            t0 = time.perf_counter_ns()
            store.on_hand(sku)
            times.append((time.perf_counter_ns() - t0) / 1e6)
        print(f"lookup on_hand: p50 {pct(times, 0.5) * 1e3:.1f} us, p99 {pct(times, 0.99) * 1e3:.1f} us, "
              f"max {max(times):.3f} ms (100,000 lookups)")
        base_times = []
        for _ in range(20 if not args.quick else 50):
            sku = skus[rng.randrange(len(skus))]
            t0 = time.perf_counter_ns()
            naive_lookup(rows, levels, sku)
            base_times.append((time.perf_counter_ns() - t0) / 1e6)
        print(f"baseline lookup (sum over all deltas): p50 {pct(base_times, 0.5):.1f} ms, "
              f"p99 {pct(base_times, 0.99):.1f} ms ({len(base_times)} lookups)")

        wrong = [s for s in rng.sample(skus, 2000) if store.on_hand(s) != naive[s]]
        print(f"check: store == naive fold for 2000 skus: {'ok' if not wrong else f'MISMATCH {wrong[:5]}'}")
        till(base, 50 if args.quick else 200)
        return 1 if wrong else 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
