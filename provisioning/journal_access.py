"""Open the register's journal from the technician's CLI without ever writing under a running register.

The journal has one writer: the `kassa run` process. While its service is
active the CLI opens a snapshot instead: sealed segments (immutable) are
hard-linked, the rest copied, the high-water mark first so the snapshot is
never "behind" it. When the service is stopped the journal is opened in
place, exactly as the register would on its next start.

`audit` never opens the journal at all: it reads every file O_RDONLY
(firmware/journal/audit.py) and changes nothing, service running or not;
the self-test and `repair-journal` use it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from firmware.clock import SystemClock
from firmware.config import Config
from firmware.journal import Journal
from firmware.journal.audit import AuditResult, Receipt, audit_journal
from firmware.journal.journal import JOURNAL_DIR
from firmware.journal.meta import HWM
from firmware.journal.segments import SEGMENT_RE

__all__ = ["UNIT", "service_active", "journal_exists", "open_journal", "audit", "JOURNAL_DIR", "HWM"]

UNIT = "kassa.service"


def service_active(unit: str = UNIT) -> bool:
    """True when systemd runs the register now (False where there is no systemd)."""
    if os.environ.get("KASSA_PROVISION_ASSUME_SERVICE") in ("active", "inactive"):  # for tests and containers
        return os.environ["KASSA_PROVISION_ASSUME_SERVICE"] == "active"
    try:
        done = subprocess.run(["systemctl", "is-active", "--quiet", unit], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def journal_exists(config: Config) -> bool:
    data = Path(config.device.data_dir)
    return (data / JOURNAL_DIR).exists() or (data / HWM).exists()


def _snapshot(data_dir: Path, into: Path) -> None:
    if (data_dir / HWM).exists():
        shutil.copy2(data_dir / HWM, into / HWM)
    src, dst = data_dir / JOURNAL_DIR, into / JOURNAL_DIR
    dst.mkdir()
    segments = sorted(n for n in os.listdir(src) if SEGMENT_RE.match(n))
    sealed = set(segments[:-1])
    for name in sorted(os.listdir(src)):
        if name.startswith("spare") or name.endswith(".tmp"):
            continue
        if name in sealed:
            try:
                os.link(src / name, dst / name)
                continue
            except OSError:
                pass
        shutil.copy2(src / name, dst / name)


@contextmanager
def open_journal(config: Config, *, live: bool | None = None, verify: bool = False) -> Iterator[Journal]:
    """The journal (in place when the register is stopped, else a snapshot); closed on exit.

    `verify=True` checks every sealed segment's checksums before returning (the self-test's journal health).
    """
    live = service_active() if live is None else live
    data_dir = Path(config.device.data_dir)
    kw = dict(store=config.device.store, register=config.device.register, clock=SystemClock(), create=False,
              freeze_gc=False, verify=verify)
    if not live:
        journal = Journal.open(data_dir, **kw)  # type: ignore[arg-type]
        try:
            yield journal
        finally:
            journal.close()
        return
    with tempfile.TemporaryDirectory(prefix=".provision-snapshot-", dir=data_dir) as tmp:
        _snapshot(data_dir, Path(tmp))
        journal = Journal.open(tmp, **kw)  # type: ignore[arg-type]
        try:
            yield journal
        finally:
            journal.close()


def audit(config: Config, *, live: bool | None = None, on_receipt: Callable[[Receipt], None] | None = None,
          attempts: int = 3) -> AuditResult:
    """Check the journal read-only (every record, the whole hash chain); nothing under the data dir changes.

    While the register runs (`live`), a record it is writing at that moment can look like a torn tail and a
    segment it archives can vanish between listing and reading: such results are read again, up to
    `attempts` times. `on_receipt` sees every receipt from seq 1 again on each attempt.
    """
    live = service_active() if live is None else live
    for attempt in range(1, attempts + 1):
        try:
            result = audit_journal(config.device.data_dir, store=config.device.store, register=config.device.register,
                                   on_receipt=on_receipt)
        except FileNotFoundError:
            if not live or attempt == attempts:
                raise
            time.sleep(0.2)
            continue
        if not live or not result.torn or attempt == attempts:
            return result
        time.sleep(0.2)
    raise AssertionError("unreachable")
