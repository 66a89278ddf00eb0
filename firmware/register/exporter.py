"""Exports to a USB stick on a worker thread, one at a time, reported back as an `ExportFinished` event.

A long offline spell means tens of thousands of unsent receipts, and reading
and writing them takes seconds (more on a Pi): on the UI thread that would
freeze the till and starve the systemd watchdog, which restarts a register
whose main loop stops pinging. So the register starts the export here and
stays live; the result arrives through its event queue like any other
(`pump()` turns it into a message the screen shows). A failure to write
(stick full, read-only, pulled out) is said in plain words; the receipts are
in the journal whatever happens, and the files are written atomically, so a
half-written export never looks like a whole one. A target that is not a real
folder on a mounted stick, or lies inside the data dir, is refused before a
byte is written (firmware.exports.open_export_dir), and said so.
"""

from __future__ import annotations

import errno
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from firmware.domain.errors import Refused
from firmware.domain.receipt_model import Receipt
from firmware.exports import ExportRefused, ExportResult, export_receipts
from firmware.register.guard import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportFinished:
    """What an export did: `result` when the files are written, else `message` says why not."""

    ok: bool
    message: str
    result: ExportResult | None = None


def write_failure(directory: Path, exc: OSError) -> str:
    """An OSError while exporting, in a technician's words."""
    if exc.errno == errno.ENOSPC:
        why = f"{directory} is full"
    elif exc.errno == errno.EROFS:
        why = f"{directory} is read-only (check the stick's lock switch)"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = f"Kassa may not write to {directory}"
    elif exc.errno in (errno.ENOENT, errno.ENODEV, errno.EIO):
        why = f"{directory} went away while writing (was the stick pulled out?)"
    else:
        why = f"writing to {directory} failed ({exc.strerror or exc})"
    return f"Nothing was exported: {why}. The receipts are safe in the register; try again or use another stick."


class Exporter:
    """Runs one export at a time on a daemon thread; puts `ExportFinished` on `events` when done."""

    def __init__(self, events: queue.Queue[object], currency_display: str = "symbol") -> None:
        self._events = events
        self._display = currency_display  # the CSV's money columns for people ([shop] currency_display)
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, directory: Path, stem: str, receipts: Callable[[], Iterable[Receipt]], *,
              data_dir: Path | None) -> None:
        """Begin writing `{stem}-lines.csv` and `{stem}-receipts.json`; Refused while one is running.

        `data_dir` is the register's: an export into it (or its journal) is refused.
        """
        if self.busy:
            raise Refused("An export is still running; wait for it to finish.")
        self._thread = threading.Thread(target=self._run, args=(Path(directory), stem, receipts, data_dir),
                                        name="kassa-export", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running export (if any) is done; False on timeout (tests and shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def _run(self, directory: Path, stem: str, receipts: Callable[[], Iterable[Receipt]],
             data_dir: Path | None) -> None:
        try:
            result = export_receipts(receipts(), directory, stem, data_dir=data_dir, currency_display=self._display)
            finished = ExportFinished(True, f"{plural(result.receipts, 'receipt')} exported to {directory}", result)
        except ExportRefused as exc:
            log.warning("export to %s refused: %s", directory, exc)
            finished = ExportFinished(False, f"Nothing was exported: {exc}. The receipts are safe in the register; "
                                             "plug in a USB stick and export to it.")
        except OSError as exc:
            log.warning("export to %s failed: %s", directory, exc)
            finished = ExportFinished(False, write_failure(directory, exc))
        except Exception:  # noqa: BLE001 - reported to the screen, never a traceback
            log.exception("export to %s failed", directory)
            finished = ExportFinished(False, "The export failed unexpectedly. The receipts are safe in the register; "
                                             "try again, and call support if it keeps failing.")
        self._events.put(finished)
