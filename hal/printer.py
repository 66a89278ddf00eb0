"""The receipt printer: laid-out blocks in, ESC/POS bytes out through a connector, on a worker thread.

As in python-escpos, the protocol (hal.escpos_render: blocks to bytes) is
apart from the transport (hal.connectors: a connector only moves bytes).
The printer never decides what a receipt says: the firmware lays it out
(firmware/printout.py) and formats its money. Failures go to a reprint
backlog and become events.
"""

from __future__ import annotations

import itertools
import logging
import os
import pathlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hal.connectors import Connector
from hal.errors import PaperOut, UnknownJob
from hal.events import DeviceState, PrintDone, PrintFailed
from hal.layout import Block, code_for, plain_lines, render_text
from hal.ports import BacklogEntry, Printer, SelfTestResult

log = logging.getLogger(__name__)
_ids = itertools.count(1)


@dataclass
class _Job:
    job_id: str
    title: str
    build: Callable[[], list[Block]]
    receipt_id: str | None = None
    kick: tuple[int, int] | None = None  # (pin, pulse_ms) for a drawer kick
    blocks: list[Block] | None = field(default=None, repr=False)


_STOP = object()


class ReceiptPrinter(Printer):
    """Prints on a worker thread through a Connector; never blocks or raises into the caller.

    Before and after each job it asks the printer for its paper status (DLE EOT 4) where the transport can
    answer. No answer means "unknown", never "no paper"; an error or a closed connection in either question
    means the job may not have come out, so it is kept in the backlog for `retry`.
    """

    def __init__(self, connector: Connector, events: queue.Queue[object], columns: int = 42,
                 render_path: pathlib.Path | None = None, status_timeout: float = 0.3,
                 probe_interval: float = 5.0, profile: str | None = None, header: Sequence[str] = (),
                 codepage: str | None = None) -> None:
        self.connector = connector
        self.events = events
        self.columns = columns
        self.render_path = render_path
        self.status_timeout = status_timeout
        self.probe_interval = probe_interval
        self.profile = profile
        self.codepage = codepage  # hal.textenc: one code page per job, PC858 unless chosen (never escpos's magic)
        self.header = tuple(header)
        self.paper = "unknown"
        self._state = DeviceState("printer", True, "ready", f"Printer {connector.label}, {columns} columns.")
        self._queue: queue.Queue = queue.Queue()
        self._backlog: dict[str, tuple[_Job, BacklogEntry]] = {}
        self._results: dict[str, bool] = {}
        self._done = threading.Condition()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker thread (`kassa-printer`); jobs submitted before wait for it. Twice is harmless."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="kassa-printer", daemon=True)
        self._thread.start()

    # -- the port -------------------------------------------------------------------------------------------

    def print_blocks(self, blocks: Sequence[Block] | Callable[[], Sequence[Block]], title: str = "receipt",
                     receipt_id: str | None = None) -> str:
        if callable(blocks):
            build = blocks
            return self._put(title, lambda: list(build()), receipt_id=receipt_id)
        laid = list(blocks)
        return self._put(title, lambda: laid, receipt_id=receipt_id)

    def print_text(self, lines: Sequence[str], title: str = "report") -> str:
        lines = [str(line) for line in lines]
        return self._put(title, lambda: plain_lines(lines, self.columns, None))

    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> str:
        return self._put("drawer kick", list, kick=(pin, pulse_ms))

    def backlog(self) -> list[BacklogEntry]:
        with self._lock:
            return [entry for _, entry in self._backlog.values()]

    def retry(self, job_id: str) -> str:
        with self._lock:
            if job_id not in self._backlog:
                raise UnknownJob(f"no print job {job_id!r} in the backlog; see backlog() for what can be reprinted")
            job, _ = self._backlog.pop(job_id)
        with self._done:
            self._results.pop(job_id, None)
        self._queue.put(job)
        return job_id

    def discard(self, job_id: str) -> None:
        with self._lock:
            if self._backlog.pop(job_id, None) is None:
                raise UnknownJob(f"no print job {job_id!r} in the backlog")

    def status(self) -> DeviceState:
        return self._state

    def wait(self, job_id: str, timeout: float = 10.0) -> bool | None:
        with self._done:
            self._done.wait_for(lambda: job_id in self._results, timeout=timeout)
            return self._results.get(job_id)

    def self_test(self, timeout: float = 10.0) -> SelfTestResult:
        columns = self.columns
        ruler = ("1234567890" * 7)[:columns]

        def page() -> list[Block]:
            from hal.escpos_render import page_for

            page_name = page_for(self.profile, self.codepage).name.upper()
            lines = [*self.header, "PRINTER TEST", ruler, f"{columns} columns, {self.connector.label}",
                     f"Paper: {self.paper}", f"Code page: {page_name}",
                     "Text: Grüße, café, señor, Ελλάδα, Москва, € 1.00"]
            return [*plain_lines(lines, columns), code_for("KASSA-TEST", columns)]

        job_id = self._put("printer test page", page)
        result = self.wait(job_id, timeout)
        details = {"state": self._state.state, "paper": self.paper, "columns": columns, "printer": self.connector.label}
        if result:
            return SelfTestResult("printer", True,
                                  f"Printed a test page on {self.connector.label} (paper: {self.paper}).", details)
        if result is False:
            try:
                self.discard(job_id)  # a test page is never worth a reprint
            except UnknownJob:
                pass
            return SelfTestResult("printer", False, f"Test page failed: {self._state.detail}", details)
        return SelfTestResult("printer", False, f"Test page not printed within {timeout:g} s: {self._state.detail}",
                              details)

    def close(self, timeout: float = 10.0) -> None:
        thread = self._thread
        if thread is None:  # never started: what is queued goes to the backlog, as on a stop
            self._drain()
        else:
            self._queue.put(_STOP)
            thread.join(timeout)
            if thread.is_alive():
                log.error("thread %s did not end within %g s (a printer write hanging?)", thread.name, timeout)
        self.connector.close()

    # -- the worker -----------------------------------------------------------------------------------------

    def _put(self, title: str, build: Callable[[], list[Block]], receipt_id: str | None = None,
             kick: tuple[int, int] | None = None) -> str:
        job_id = f"job-{next(_ids)}"
        self._queue.put(_Job(job_id, title, build, receipt_id, kick))
        return job_id

    def _run(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=self.probe_interval)
            except queue.Empty:
                if not self._state.ok:
                    self._probe()
                continue
            if job is _STOP:
                self._drain()
                return
            self._print(job)

    def _print(self, job: _Job) -> None:
        from hal.escpos_render import kick, render

        try:
            if job.kick:
                data = kick(*job.kick)
            else:
                if job.blocks is None:
                    job.blocks = job.build()
                data = render(job.blocks, self.profile, codepage=self.codepage)
        except Exception as exc:  # a layout bug must not kill the worker; the job stays visible for reprint
            log.exception("could not lay out %s", job.title)
            self._failed(job, f"could not lay out {job.title}: {exc}", None)
            return
        try:
            self._send(data)
        except PaperOut as exc:
            self._failed(job, str(exc), DeviceState("printer", False, "out of paper",
                                                    "Printer is out of paper: load a roll, then reprint."))
            return
        except Exception as exc:  # DeviceUnavailable and anything a transport library raises
            self.connector.close()
            detail = f"Printer offline: {exc}. Receipts are kept for reprint."
            self._failed(job, f"printer offline: {exc}", DeviceState("printer", False, "offline", detail))
            return
        if job.blocks is not None and self.render_path is not None:
            self._render(job)
        with self._done:
            self._results[job.job_id] = True
            self._done.notify_all()
        if self.paper == "low":
            self._set_state(DeviceState("printer", True, "paper low", "Printer paper is running low."))
        else:
            self._set_state(DeviceState("printer", True, "ready", f"Printer {self.connector.label} ready."))
        self.events.put(PrintDone(job.job_id))

    def _send(self, data: bytes) -> None:
        self.connector.open()
        self._check_paper(before=True)
        self.connector.write(data)
        self._check_paper(before=False)

    def _check_paper(self, before: bool) -> None:
        from hal.escpos_render import PAPER_STATUS, paper_state

        answer = self.connector.query(PAPER_STATUS, self.status_timeout)
        state = paper_state(answer)
        if state != "unknown" or answer is not None:
            self.paper = state
        if state == "out":
            raise PaperOut("out of paper" if before else "ran out of paper during the job")

    def _failed(self, job: _Job, reason: str, state: DeviceState | None) -> None:
        if job.kick:
            self._set_state(state or self._state)
            self.events.put(DeviceState("drawer", False, "not opened",
                                        f"Drawer kick failed ({reason}); open the drawer with its key."))
        else:
            entry = BacklogEntry(job.job_id, job.title, job.receipt_id, reason, time.time())
            with self._lock:
                self._backlog[job.job_id] = (job, entry)
            if state is not None:
                self._set_state(state)
            self.events.put(PrintFailed(job.job_id, reason))
        with self._done:
            self._results[job.job_id] = False
            self._done.notify_all()

    def _set_state(self, state: DeviceState) -> None:
        if (state.ok, state.state) != (self._state.ok, self._state.state):
            self.events.put(state)
        self._state = state

    def _probe(self) -> None:
        """While in fault: look whether the printer came back, so the register can offer the backlog."""
        try:
            self.connector.open()
            self._check_paper(before=True)
        except Exception:
            self.connector.close()
            return
        self._set_state(DeviceState("printer", True, "ready",
                                    f"Printer {self.connector.label} is back; reprint the backlog."))

    def _render(self, job: _Job) -> None:
        assert self.render_path is not None and job.blocks is not None
        try:
            self.render_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.render_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with open(fd, "a", encoding="utf-8") as out:  # receipts: 0600, never through a planted link
                out.write(f"===== {job.job_id} {job.title} =====\n")
                out.write(render_text(job.blocks, self.columns))
        except OSError as exc:
            log.warning("could not append the receipt rendering to %s: %s", self.render_path, exc)

    def _drain(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP and not job.kick:
                entry = BacklogEntry(job.job_id, job.title, job.receipt_id, "not printed before shutdown", time.time())
                with self._lock:
                    self._backlog[job.job_id] = (job, entry)
