"""An event recorder over a hal events queue, shared by hal's tests."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any


class Recorder:
    """Reads a hal events queue; `wait_for` returns the first matching event, keeping everything it saw."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.seen: list[Any] = []

    def drain(self) -> list[Any]:
        while True:
            try:
                self.seen.append(self.queue.get_nowait())
            except queue.Empty:
                return self.seen

    def wait_for(self, kind: type, timeout: float = 5.0, where: Callable[[Any], bool] = lambda e: True,
                 after: int = 0) -> Any:
        deadline = time.monotonic() + timeout
        index = after
        while True:
            while index < len(self.seen):
                event = self.seen[index]
                index += 1
                if isinstance(event, kind) and where(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {self.seen}")
            try:
                self.seen.append(self.queue.get(timeout=min(remaining, 0.05)))
            except queue.Empty:
                pass

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.drain() if isinstance(event, kind)]
