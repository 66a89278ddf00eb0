"""`kassa-fleet simulate --real N`: a handful of real registers in the same run, for fidelity.

Each is the firmware's own Register (firmware.bootstrap: a real journal on disk, the real SyncService with its
paho link, simulated hardware, no UI), driven from one thread of the simulating process as a cashier would:
log in, scan, tender cash. At the end the journal is read back for the tally the database check needs.

Layering: `fleet` may import only the firmware's published contract (tests/test_layers.py). The simulator is,
by DESIGN.md, one of the register's front ends, so this one module builds registers: it loads
`firmware.bootstrap` at run time, only when `--real` is given, and nothing else in `fleet` touches it.
"""

from __future__ import annotations

import importlib
import logging
import random
import shutil
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fleet.sim_device import Tally

log = logging.getLogger("kassa.fleet.simulate")

PENCIL = "4006381333931"


class RealRegisters:
    """Real registers on one thread: `start()`, then `join()` returns (tallies, errors)."""

    def __init__(self, opt: Any, indices: list[int], start_wall: float, *, keep_dir: bool = False) -> None:
        self.opt, self.indices, self.start_wall, self.keep_dir = opt, indices, start_wall, keep_dir
        self.tallies: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._guarded, name="kassa-sim-real", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> tuple[list[dict[str, Any]], list[str]]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.errors.append("the real registers did not finish in time")
        return self.tallies, self.errors

    def _guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported in the summary
            log.exception("real registers failed")
            self.errors.append(f"real registers: {type(exc).__name__}: {exc}")

    def _run(self) -> None:
        boot = importlib.import_module("firmware.bootstrap")  # see the module doc: a front end of the register
        opt, dev = self.opt, self.opt.device
        root = Path(tempfile.mkdtemp(prefix="kassa-sim-real-"))
        regs: list[tuple[Any, str]] = []
        rng = random.Random(opt.seed)
        try:
            for i in self.indices:
                store, register, broker = opt.identity(i)
                data = root / f"{store}-{register}"
                pins = boot.seed_demo(data)
                config = boot.demo_config(
                    data, broker_url=broker, device={"store": store, "register": register},
                    hardware={"scanner": "simulated:memory"},
                    broker={"url": broker, "prefix": dev.prefix, "window": max(1, min(1000, dev.window)),
                            "resend_after": max(5.0, dev.resend_after), "keepalive": max(5, dev.keepalive),
                            "backoff_cap": max(1.0, min(3600.0, dev.backoff_cap))})
                reg = boot.bootstrap(config, demo_pins=pins)
                regs.append((reg, broker))
                if not reg.login("c1", pins["c1"]).ok:
                    raise RuntimeError(f"{store}/{register}: demo clerk login failed")
                for _ in range(opt.backlog):
                    self._sell(reg)
            start = time.monotonic() + (self.start_wall - time.time())
            end = start + opt.duration
            next_sale = [start + rng.expovariate(opt.rate) if opt.rate > 0 else float("inf") for _ in regs]
            while time.monotonic() < end:
                now = time.monotonic()
                for n, (reg, _b) in enumerate(regs):
                    reg.pump()
                    if now >= next_sale[n]:
                        self._sell(reg)
                        next_sale[n] = now + rng.expovariate(opt.rate)
                time.sleep(0.02)
            deadline = end + opt.drain_timeout
            while time.monotonic() < deadline:
                for reg, _b in regs:
                    reg.pump()
                if all(reg.view().sync.pending == 0 for reg, _b in regs):
                    break
                time.sleep(0.05)
            for reg, broker in regs:
                self.tallies.append(self._tally(reg, broker))
        finally:
            for reg, _b in regs:
                try:
                    reg.shutdown()
                except Exception:  # a register that fails to stop must not hide the others' tallies
                    log.exception("a real register did not shut down cleanly")
            if not self.keep_dir:
                shutil.rmtree(root, ignore_errors=True)

    @staticmethod
    def _sell(reg: Any) -> None:
        reg.scan(PENCIL)
        if not reg.tender("cash", 500).ok:
            raise RuntimeError("a real register refused the cash tender")
        reg.wait_idle()
        reg.new_sale()

    @staticmethod
    def _tally(reg: Any, broker: str) -> dict[str, Any]:
        journal = reg.journal
        receipts = list(journal.iter_receipts())
        sync = reg.view().sync
        epochs = {r["receipt_id"].split(":")[-2] for r in receipts}
        if len(epochs) > 1:  # a real register opens a new epoch only after a rollback: not in a simulation
            raise RuntimeError(f"{reg.config.device.store}/{reg.config.device.register} has {len(epochs)} epochs")
        tally = Tally(reg.config.device.store, reg.config.device.register, journal.epoch, broker,
                      hashes=[r["hash"] for r in receipts], real=True)
        tally.confirmed = len(receipts) - sync.pending
        tally.unconfirmed = [r["seq"] for r in receipts][len(receipts) - sync.pending:]
        return asdict(tally)
