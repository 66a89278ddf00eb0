"""One lifecycle for the register's threads: bootstrap starts the parts in dependency order, shutdown stops them in
reverse.

Every Kassa thread is named `kassa-*` (docs/interfaces.md "Threads" lists
them) and is started by a part's `start()`, never by a constructor, so
building a register, or opening a journal in a tool, starts nothing. Each
`stop()` ends its threads and joins them with a timeout (`join_thread`),
logging any thread that did not end by name; `Lifecycle.stop` returns
the `kassa-*` threads still alive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

THREAD_PREFIX = "kassa-"


class Service(Protocol):
    """A part that owns threads: `start()` starts them, `stop()` ends and joins them. Both are safe to call twice."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def join_thread(thread: threading.Thread | None, timeout: float) -> bool:
    """Join `thread` for up to `timeout` s; False (and an error logged naming it) when it is still running."""
    if thread is None or thread is threading.current_thread() or thread.ident is None:
        return True
    thread.join(timeout)
    if thread.is_alive():
        log.error("thread %s did not end within %g s; it is left running (daemon) until the process exits",
                  thread.name, timeout)
        return False
    return True


def kassa_threads() -> list[threading.Thread]:
    """The live threads Kassa started (named `kassa-*`)."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]


class Lifecycle:
    """Parts started in the order they were added and stopped in reverse; a failed start stops what had started."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, Callable[[], None], Callable[[], None]]] = []
        self._started: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()

    def add(self, name: str, part: Service | None = None, *, start: Callable[[], None] | None = None,
            stop: Callable[[], None] | None = None) -> None:
        """Add `part` (its start/stop), or explicit `start`/`stop` callables; None parts are skipped."""
        if part is None and start is None and stop is None:
            return
        begin = start or (part.start if part is not None else (lambda: None))
        end = stop or (part.stop if part is not None else (lambda: None))
        self._parts.append((name, begin, end))

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self._parts]

    def start(self) -> None:
        """Start every part in order; if one raises, stop those already started (in reverse) and re-raise."""
        for name, begin, end in self._parts:
            with self._lock:
                if any(n == name for n, _ in self._started):
                    continue
            try:
                begin()
            except BaseException:
                log.error("starting %s failed; stopping what had started", name)
                self.stop()
                raise
            with self._lock:
                self._started.append((name, end))

    def stop(self) -> list[str]:
        """Stop the started parts in reverse order; return the names of `kassa-*` threads still alive in the process.

        Each part's stop logs its own thread that did not end (`join_thread`); the list returned also holds
        threads of other registers in this process (tests run several), so it is for the caller to judge.
        """
        with self._lock:
            started, self._started = self._started, []
        for name, end in reversed(started):
            try:
                end()
            except Exception:  # one part failing to stop must not keep the others running
                log.exception("stopping %s failed", name)
        return sorted(t.name for t in kassa_threads() if t is not threading.current_thread())
