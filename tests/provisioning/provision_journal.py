"""A real journal with receipts in chosen delivery states, for provisioning tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from firmware.clock import SystemClock
from firmware.config import load_config
from firmware.journal import Journal
from tests.support.journal_sample import make_receipt


def fill_journal(config_path: Path, receipts: int, delivered: int = 0, confirmed: int = 0) -> list[str]:
    """Commit receipts; the first `confirmed` are fleet-confirmed, the next `delivered` only PUBACKed."""
    config = load_config(config_path)
    journal = Journal.open(config.device.data_dir, store="S001", register="R1", clock=SystemClock(), freeze_gc=False)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ids = [journal.commit_receipt(make_receipt(journal, created_at=stamp))["receipt_id"] for _ in range(receipts)]
    journal.mark_delivered(range(1, confirmed + delivered + 1), now)
    journal.mark_confirmed(ids[:confirmed], now)
    journal.flush()
    journal.close()
    return ids
