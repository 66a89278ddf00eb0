"""UI benchmark: frame time idle and under a journal backlog, scan-to-cart latency, start-up to the login screen.

Run: .venv/bin/python bench/ui_bench.py [--items 50000] [--receipts 20000] [--frames 2000] [--scans 1000]
Headless (SDL dummy video driver); prints figures measured in this run, with the targets
(a Pi 4 is 5-7x slower than a dev machine: frame p99 < 4 ms, scan-to-cart p99 < 2 ms, start < 1.5 s).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def fmt(name: str, ms: list[float], target: float | None = None) -> str:
    p50, p99 = pct(ms, 50), pct(ms, 99)
    verdict = "" if target is None else ("  OK" if p99 < target else f"  OVER target {target} ms")
    return f"{name:<44} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  max {max(ms):7.3f} ms  (n={len(ms)}){verdict}"


def make_data(data: Path, items: int, receipts: int) -> dict[str, str]:
    """Seed demo clerks, a catalog of `items` items (demo items first), and `receipts` journaled sales."""
    from firmware.bootstrap import demo_catalog_payload, seed_demo
    from firmware.clock import SystemClock
    from firmware.domain.barcode import check_scan  # noqa: F401  (the real validator is used on every scan)
    from firmware.stores import catalog_store

    pins = seed_demo(data)
    payload = demo_catalog_payload()
    base = list(payload["items"])
    tax = base[0]["tax_code"]
    extra = []
    for i in range(max(0, items - len(base))):
        body = f"29{i:010d}"
        check = (10 - sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body)) % 10) % 10
        extra.append({"sku": f"X{i}", "name": f"Bench item {i}", "price": 100 + i % 900, "tax_code": tax,
                      "barcodes": [body + str(check)], "weighed": False})
    payload = dict(payload, items=base + extra, version=int(payload.get("version", 1)) + 1)
    catalog_store(data).apply(payload)
    if receipts:
        commit_receipts(data, receipts, SystemClock())
    return pins


def commit_receipts(data_dir: Path, n: int, clock: object, stop: threading.Event | None = None,
                    done: list[int] | None = None) -> None:
    from firmware.domain.receipt import finalize
    from firmware.journal import Journal

    journal = Journal.open(data_dir, store="DEMO", register="R1", clock=clock)
    journal.start()  # as bootstrap does
    try:
        for _ in range(n):
            if stop is not None and stop.is_set():
                break
            body = {"store": "DEMO", "register": "R1", "kind": "sale", "sale_id": os.urandom(8).hex(),
                    "created_at": "2026-11-25T12:00:00.000Z", "clock_trusted": True, "offline": True, "clerk_id": "c1",
                    "currency": "EUR", "customer_code": None,
                    "lines": [{"sku": "1", "name": "Pencil HB", "qty": 1, "unit_price": 129, "discount": 0,
                               "tax_code": "A", "amount": 129}],
                    "totals": {"subtotal": 129, "tax": 21, "total": 129, "rounding": 0},
                    "taxes": [{"tax_code": "A", "rate": "19.00", "net": 108, "tax": 21}],
                    "tenders": [{"type": "cash", "amount": 129, "change": 0}], "refund_of": None}
            journal.commit_receipt(finalize(body, register="R1", epoch=journal.epoch, seq=journal.next_seq,
                                            prev_hash=journal.last_hash))
            if done is not None:
                done[0] += 1
    finally:
        journal.close()


STARTUP_CHILD = r"""
import os, sys, time
t0 = float(sys.argv[1]); data = sys.argv[2]
sys.path.insert(0, sys.argv[3])
t1 = time.time()
from firmware.bootstrap import bootstrap, demo_config
t2 = time.time()
import pygame
from ui.app import App
t3 = time.time()
cfg = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})
reg = bootstrap(cfg, demo_pins={"c1": "1111"}, with_sync=False)
t4 = time.time()
app = App(reg, headless=True, sound=False)
app.step([])
assert app.wanted() == "login"
t5 = time.time()
print(f"interpreter {t1 - t0:.3f} s, firmware imports {t2 - t1:.3f} s, pygame+ui imports {t3 - t2:.3f} s, "
      f"bootstrap (journal, catalog, hardware) {t4 - t3:.3f} s, window + first frame {t5 - t4:.3f} s")
print(f"{time.time() - t0:.4f}")
reg.shutdown()
"""


def startup(data: Path) -> tuple[float, str]:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", STARTUP_CHILD, repr(t0), str(data), str(ROOT)],
                         capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    return float(lines[-1]), lines[-2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50000)
    ap.add_argument(
        "--receipts", type=int, default=20000, help="journaled receipts before start-up (100000 is slow to build)"
    )
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--backlog", type=int, default=10000)
    ap.add_argument("--scans", type=int, default=1000)
    ap.add_argument("--backlog-seconds", type=float, default=20.0, help="stop measuring the backlog after this long")
    args = ap.parse_args()

    from firmware.bootstrap import bootstrap, demo_config
    from firmware.clock import ManualClock

    tmp = Path(tempfile.mkdtemp(prefix="kassa-ui-bench-"))
    data = tmp / "data"
    t = time.perf_counter()
    pins = make_data(data, args.items, args.receipts)
    print(
        f"data: {args.items} catalog items, {args.receipts} journaled receipts "
        f"(built in {time.perf_counter() - t:.1f} s)"
    )

    runs = [startup(data) for _ in range(3)]
    starts = [r[0] for r in runs]
    best = min(runs)
    print(
        f"{'start-up to the login screen (process start)':<44} best {min(starts):.3f} s  worst {max(starts):.3f} s"
        f"{'  OK' if max(starts) < 1.5 else '  OVER target 1.5 s'}"
    )
    print(f"   best run: {best[1]}")

    import pygame

    from ui.app import App, freeze_startup_heap

    cfg = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})
    reg = bootstrap(cfg, demo_pins=pins, with_sync=False)
    clock = ManualClock()
    app = App(reg, headless=True, clock=clock, sound=False)
    app.step([])
    freeze_startup_heap()  # as `kassa run` does (ui/cli.py)
    reg.login("c1", pins["c1"])
    barcodes = [bc for item in reg.catalog.items if not item.weighed for bc in item.barcodes][:40]
    for code in barcodes[:5]:
        reg.scan(code)
    app.step([])

    def frames(n: int) -> list[float]:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            app.step([])
            out.append((time.perf_counter() - t) * 1000)
        return out

    frames(50)
    print(fmt("frame, sell screen idle (800x480)", frames(args.frames), 4.0))

    stop, done = threading.Event(), [0]
    worker = threading.Thread(
        target=commit_receipts, args=(tmp / "backlog", args.backlog, clock, stop, done), daemon=True
    )
    worker.start()
    busy: list[float] = []
    t = time.perf_counter()
    while worker.is_alive() and time.perf_counter() - t < args.backlog_seconds:
        busy += frames(50)
        time.sleep(0.001)  # the real loop sleeps to 60 fps; let the writer run as it would
    stop.set()
    worker.join()
    print(fmt(f"frame while {done[0]} receipts commit (thread)", busy, 4.0))
    print(
        f"   (no sync service in this tree yet: the backlog is journal commits with fsync in a background thread,"
        f" {done[0] / (time.perf_counter() - t):.0f}/s)"
    )

    keys = {c: getattr(pygame, f"K_{c}") for c in "0123456789"}
    parts: dict[str, list[float]] = {}

    def timed(obj: object, name: str, part: str) -> None:
        inner = getattr(obj, name)

        def wrapper(*a: object, **k: object) -> object:
            t0 = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                parts.setdefault(part, []).append((time.perf_counter() - t0) * 1000)

        setattr(obj, name, wrapper)

    timed(reg, "scan", "register: scan command")
    timed(reg, "_build_view", "register: view rebuilt")
    timed(app, "_render", "ui: regions redrawn")
    timed(app.input, "map", "ui: keys mapped (wedge)")

    cpu: list[float] = []

    def scans(n: int) -> list[float]:
        lat = []
        cpu.clear()
        for v in parts.values():
            v.clear()
        for i in range(n):
            if i % 20 == 0 and reg.view().lines:
                reg.park()  # keep carts shop-sized (20 lines)
            code = barcodes[i % len(barcodes)]
            evs = [pygame.event.Event(pygame.KEYDOWN, key=keys[c], unicode=c) for c in code]
            evs.append(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, unicode="\r"))
            before = reg.view().revision
            t, c = time.perf_counter(), time.thread_time()
            app.step(evs)
            lat.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
            assert reg.view().revision != before
        return lat

    cart = app.current.cart
    gc.unfreeze()
    scans(50)
    print(fmt("scan to cart redrawn, start-up heap not frozen", scans(args.scans), 2.0))
    freeze_startup_heap()  # what `kassa run` does (ui/cli.py)
    scans(50)
    painted = cart.painted
    print(fmt("scan (wedge keys) to cart redrawn", scans(args.scans), 2.0))
    print(fmt("   same, CPU time of the UI thread (no preemption)", cpu, 2.0))
    print(
        f"   cart rows painted per scan: {(cart.painted - painted) / args.scans:.2f} of {cart.per_page} shown"
        " (the others are moved with Surface.scroll or left alone)"
    )
    for part, ms in parts.items():
        print(fmt(f"   {part}", ms))
    print(f"text cache: {len(__import__('ui.text', fromlist=['TEXT']).TEXT)} surfaces")
    reg.shutdown()


if __name__ == "__main__":
    main()
