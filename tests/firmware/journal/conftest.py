"""Fixtures for the journal tests: a small-segment journal in a temp dir, and a reopen helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal

SMALL = {"segment_records": 8, "segment_bytes": 16 * 1024, "freeze_gc": False, "hwm_interval": 0.01}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def open_journal(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., Journal]]:
    """open_journal(**overrides) -> a started Journal on tmp_path/data (closed at teardown).

    `start=False`: no threads."""
    opened: list[Journal] = []

    def opener(**kw: Any) -> Journal:
        args: dict[str, Any] = {"store": "S001", "register": "R1", "clock": clock, **SMALL, **kw}
        start = args.pop("start", True)
        journal = Journal.open(tmp_path / "data", **args)
        opened.append(journal)
        if start:
            journal.start()  # as bootstrap does: delivery writer, housekeeper, verifier
        return journal

    yield opener
    for journal in opened:
        journal.close()
