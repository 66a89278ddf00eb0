"""Helpers for sync tests: device config, a real journal filled with sealed receipts, the device as a process."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.chain import seal
from firmware.clock import SystemClock
from firmware.config import Config, parse_config
from firmware.journal import Journal
from tests.contract.kassa_samples import make_receipt

ROOT = Path(__file__).resolve().parents[3]
FAST = {"keepalive": 5, "resend_after": 5.0, "status_interval": 5.0, "backoff_cap": 1.0}


def device_config(url: str, data_dir: Path, register: str = "R1", **broker: Any) -> Config:
    return parse_config({"device": {"store": "S001", "register": register, "data_dir": str(data_dir)},
                         "broker": {"url": url, **FAST, **broker}})


def open_journal(data_dir: Path, register: str = "R1") -> Journal:
    """A started journal (delivery writer and housekeeper running), as bootstrap gives the register's sync."""
    journal = Journal.open(data_dir, store="S001", register=register, clock=SystemClock())
    journal.start()
    return journal


def commit(journal: Journal, n: int, *, offline: bool = True, pad: int = 0) -> list[dict[str, Any]]:
    """Commit `n` sealed receipts in seq order (as the register would)."""
    out = []
    for _ in range(n):
        receipt = make_receipt("S001", journal.register, journal.epoch, journal.next_seq, journal.last_hash,
                               offline=offline, pad=pad)
        receipt["receipt_id"] = journal.receipt_id(receipt["seq"])  # contract 1.1: store:register:epoch:seq
        out.append(journal.commit_receipt(seal(receipt, receipt["prev_hash"])))
    return out


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def drain(events: queue.Queue[Any]) -> list[Any]:
    out = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


class DeviceProcess:
    """The register's sync as its own process (tests.firmware.sync.kassa_device_main), for SIGKILL tests."""

    def __init__(self, url: str, data_dir: Path, *, commit_n: int = 0, register: str = "R1") -> None:
        self.url, self.data_dir, self.commit_n, self.register = url, data_dir, commit_n, register
        self.log_path = Path(data_dir).parent / f"device-{register}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DeviceProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.firmware.sync.kassa_device_main", "--broker", self.url,
             "--data-dir", str(self.data_dir), "--register", self.register, "--commit", str(self.commit_n)],
            cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        log.close()
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
