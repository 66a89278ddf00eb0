"""`JobWorker`: one long-lived thread that runs a register's slow jobs in order and answers with events.

The report worker (fleet X reports) and the finder (receipt searches) are
this thread with their own job: the core asks for the work as an effect, the
shell hands it to `submit`, the thread (started by bootstrap's lifecycle,
stopped and joined by `stop`) puts the answer on the register's queue. A job
that is no longer wanted raises `JobAbandoned` and ends without an answer.
"""

from __future__ import annotations

import queue
import threading
from typing import ClassVar, Generic, TypeVar

from firmware.lifecycle import join_thread

J = TypeVar("J")


class JobAbandoned(Exception):
    """The worker was stopped, or the job was replaced: it ends without an answer."""


class JobWorker(Generic[J]):
    """Runs `answer(job)` for each submitted job on one thread named `thread_name`; no thread per request."""

    thread_name: ClassVar[str]

    def __init__(self, events: queue.Queue[object]) -> None:
        self._events = events
        self._jobs: queue.Queue[J | None] = queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (bootstrap's lifecycle); jobs submitted before wait for it. Twice is harmless; a stopped
        worker stays stopped."""
        with self._idle:
            if self._thread is not None or self._stop.is_set():
                return
            thread = self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        thread.start()

    def submit(self, job: J) -> None:
        with self._idle:
            self._pending += 1
            self._accepted(job)
        self._jobs.put(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has put its answer or been abandoned; False on timeout (tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread and join it: a running job is abandoned, queued ones are dropped (unanswered)."""
        self._stop.set()
        self._jobs.put(None)
        join_thread(self._thread, timeout)
        with self._idle:
            self._pending = 0  # what was dropped will never come back
            self._idle.notify_all()

    def _accepted(self, job: J) -> None:
        """Called under the worker's lock as a job is submitted (a newer search replaces older ones)."""

    def answer(self, job: J) -> object | None:
        """The event answering `job` (None: no answer); raises `JobAbandoned` when it is no longer wanted."""
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stop.is_set():
                return
            try:
                event = self.answer(job)
                if event is not None:
                    self._events.put(event)
            except JobAbandoned:
                pass
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
