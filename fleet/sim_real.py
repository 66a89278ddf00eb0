"""`kassa-fleet simulate --real N`: a handful of real registers in the same run, for fidelity.

Each is one `python -m firmware.headless` subprocess: the firmware's own Register (a real journal on disk, the
real SyncService with its paho link, simulated hardware, no UI), driven as a cashier would (log in, scan,
tender cash). At the end each prints a JSON tally of what it sold (receipt ids and hashes in seq order, how
many the fleet confirmed) on stdout; this module turns it into the simulator's `Tally` for the database check.

Layering: `fleet` may import only the firmware's published contract (tests/test_layers.py). The register is
driven from outside, through its headless front end's command line, so nothing here imports the firmware.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fleet.sim_device import Tally

log = logging.getLogger("kassa.fleet.simulate")

# where the `fleet` package lives; `firmware` is installed beside it (the same distribution)
_PACKAGES = str(Path(__file__).resolve().parents[1])


class RealRegisters:
    """Real registers as subprocesses: `start()`, then `join()` returns (tallies, errors)."""

    def __init__(self, opt: Any, indices: list[int], start_wall: float, *, keep_dir: bool = False) -> None:
        self.opt, self.indices, self.start_wall, self.keep_dir = opt, indices, start_wall, keep_dir
        self.tallies: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="kassa-sim-real-"))
        self._procs: list[tuple[subprocess.Popen[bytes], str, str, str, Path]] = []
        self.pids: list[int] = []

    def command(self, index: int, data_dir: Path) -> list[str]:
        opt, dev = self.opt, self.opt.device
        store, register, broker = opt.identity(index)
        argv = [sys.executable, "-m", "firmware.headless", "--data-dir", str(data_dir), "--broker", broker,
                "--store", store, "--register", register, "--rate", repr(opt.rate), "--duration", repr(opt.duration),
                "--backlog", str(opt.backlog), "--drain-timeout", repr(opt.drain_timeout),
                "--start-at", repr(self.start_wall), "--prefix", dev.prefix, "--window", str(dev.window),
                "--resend-after", repr(dev.resend_after), "--keepalive", str(dev.keepalive),
                "--backoff-cap", repr(dev.backoff_cap)]
        if opt.seed is not None:
            argv += ["--seed", str(opt.seed + index)]
        return argv

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGES, env.get("PYTHONPATH")) if p)
        for i in self.indices:
            store, register, broker = self.opt.identity(i)
            data = self.root / f"{store}-{register}"
            err = self.root / f"{store}-{register}.stderr"
            with open(err, "wb") as stderr:
                proc = subprocess.Popen(self.command(i, data), stdout=subprocess.PIPE, stderr=stderr,
                                        stdin=subprocess.DEVNULL, env=env)
            self._procs.append((proc, store, register, broker, err))
            self.pids.append(proc.pid)

    def join(self, timeout: float) -> tuple[list[dict[str, Any]], list[str]]:
        deadline = time.monotonic() + timeout
        outputs: dict[int, bytes] = {}

        def read(n: int, proc: subprocess.Popen[bytes]) -> None:
            assert proc.stdout is not None
            outputs[n] = proc.stdout.read()

        readers = [threading.Thread(target=read, args=(n, p[0]), daemon=True) for n, p in enumerate(self._procs)]
        for r in readers:
            r.start()
        try:
            for n, (proc, store, register, broker, err) in enumerate(self._procs):
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
                    self.errors.append(f"real register {store}/{register} did not finish in time")
                    continue
                readers[n].join(10)
                self._collect(proc.returncode, outputs.get(n, b""), store, register, broker, err)
        finally:
            for proc, *_rest in self._procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            if not self.keep_dir:
                shutil.rmtree(self.root, ignore_errors=True)
        return self.tallies, self.errors

    def _collect(self, code: int, out: bytes, store: str, register: str, broker: str, err: Path) -> None:
        lines = [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
        if code != 0 or not lines:
            tail = err.read_text(errors="replace").strip().splitlines()[-5:] if err.exists() else []
            self.errors.append(f"real register {store}/{register} exited {code}: " + " | ".join(tail))
            return
        try:
            got = json.loads(lines[-1])
            tally = Tally(got["store"], got["register"], got["epoch"], got["broker"], hashes=list(got["hashes"]),
                          real=True)
            tally.confirmed = int(got["confirmed"])
            tally.unconfirmed = [int(s) for s in got["unconfirmed"]]
        except (ValueError, KeyError, TypeError) as exc:
            self.errors.append(f"real register {store}/{register}: unreadable tally ({exc})")
            return
        if (tally.store, tally.register) != (store, register):
            self.errors.append(f"real register {store}/{register} reported {tally.store}/{tally.register}")
            return
        self.tallies.append(asdict(tally))
