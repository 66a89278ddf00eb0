"""Exports run beside the till: the register stays live while one is written, and a failed write is said plainly."""

from __future__ import annotations

import json
import queue
import threading

import pytest

from firmware.domain.errors import Refused
from firmware.domain.receipt_model import Receipt
from firmware.register.core.commands import ExportPending
from firmware.register.exporter import Exporter, ExportFinished
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale, wait_for
from tests.support.tmpfs import media_tmpfs


def test_the_till_sells_while_an_export_is_being_written(rig, stick, monkeypatch):
    reg = login_cashier(rig.register)
    paid_cash_sale(reg, PENCIL)
    reg.new_sale()
    release, reading = threading.Event(), threading.Event()

    def slow_unconfirmed(journal):  # the journal read of a long offline spell, held open by the test
        reading.set()
        assert release.wait(10)
        yield from journal.receipts()

    monkeypatch.setattr("firmware.register.service.unconfirmed_receipts", slow_unconfirmed)
    started = reg.handle(ExportPending(stick))
    assert started.ok and started.message.startswith("Exporting unsent receipts")
    assert reading.wait(5)
    # the export is under way and the register answers: a second export is refused, a sale goes through
    again = reg.handle(ExportPending(stick))
    assert not again.ok and again.message == "An export is still running; wait for it to finish."
    paid_cash_sale(reg, PENCIL, PENCIL)
    reg.new_sale()
    assert reg.last_export is None and not list(stick.glob("*.json"))
    release.set()
    reg.wait_export()
    assert reg.last_export.ok and reg.last_export.result.receipts == 2
    assert [r["seq"] for r in json.loads(reg.last_export.result.receipts_json.read_text())] == [1, 2]


def test_a_full_stick_is_said_plainly_and_leaves_no_half_file(rig, tmp_path):
    reg = login_cashier(rig.register)
    for _ in range(12):
        paid_cash_sale(reg, PENCIL, PENCIL, PENCIL)
        reg.new_sale()
    with media_tmpfs("stick", "8k") as stick:  # a small stick where sticks are mounted (the export's rule)
        assert reg.handle(ExportPending(stick)).ok
        done = reg.wait_export()
        assert not done.ok and done.result is None
        assert done.message == (f"Nothing was exported: {stick} is full. The receipts are safe in the register; "
                                "try again or use another stick.")
        assert (reg.view().message.level, reg.view().message.text) == ("error", done.message)
        assert sorted(p.name for p in stick.iterdir()) == []  # no half-written export, no temp file left
    assert reg.journal.summary().pending == 12


def test_an_export_into_a_file_instead_of_a_folder_fails_with_a_reason(rig, stick):
    reg = login_cashier(rig.register)
    paid_cash_sale(reg, PENCIL)
    not_a_dir = stick / "kassa"
    not_a_dir.write_text("a file where the stick's folder should be")
    assert reg.handle(ExportPending(not_a_dir)).ok
    done = reg.wait_export()
    assert not done.ok
    assert done.message.startswith(f"Nothing was exported: {not_a_dir} is not a folder")
    assert "The receipts are safe in the register" in done.message
    assert not_a_dir.read_text() == "a file where the stick's folder should be"


def test_the_exporter_runs_one_export_at_a_time_and_reports_on_the_queue(stick, tmp_path):
    events: queue.Queue = queue.Queue()
    exporter = Exporter(events)
    gate = threading.Event()

    def receipts():
        assert gate.wait(10)
        return [Receipt.from_doc({"receipt_id": "R1:e:1", "seq": 1, "lines": [{"sku": "1", "amount": 5}]})]

    exporter.start(stick / "out", "x", receipts, data_dir=tmp_path / "data")
    assert exporter.busy
    with pytest.raises(Refused):
        exporter.start(stick / "out", "y", receipts, data_dir=tmp_path / "data")
    gate.set()
    assert exporter.wait(10) and not exporter.busy
    finished = wait_for(lambda: not events.empty() and events.get_nowait())
    assert isinstance(finished, ExportFinished) and finished.ok
    assert finished.message == f"1 receipt exported to {stick / 'out'}"


def _journal_files(data_dir) -> dict[str, tuple[bytes, int]]:
    """The journal's segments (bytes and mode); its spare-file preparation runs on its own and is left out."""
    import os
    from pathlib import Path

    from firmware.journal.segments import SEGMENT_RE

    found = {p.name: (p.read_bytes(), os.lstat(p).st_mode) for p in sorted((Path(data_dir) / "journal").iterdir())
             if SEGMENT_RE.match(p.name)}
    assert found
    return found


def test_links_planted_on_the_stick_never_touch_the_journal_and_the_screen_says_nothing_was_exported(rig, stick):
    """The field report: the till's export truncated a sealed journal segment through names planted on a stick."""
    import os
    from pathlib import Path

    reg = login_cashier(rig.register)
    for _ in range(3):
        paid_cash_sale(reg, PENCIL)
        reg.new_sale()
    data_dir = Path(str(reg.config.device.data_dir))
    before = _journal_files(data_dir)
    segments = [data_dir / "journal" / name for name in before]
    stem = f"kassa-{reg.config.device.store}-{reg.config.device.register}-pending-{rig.clock.now():%Y%m%d-%H%M%S}"
    for n, suffix in enumerate(("-lines.csv", "-receipts.json")):
        (stick / f"{stem}{suffix}").symlink_to(segments[n % len(segments)])
        (stick / f".{stem}{suffix}.tmp-{os.getpid()}").symlink_to(segments[-1])  # the old writer's temp name
    assert reg.handle(ExportPending(stick)).ok
    done = reg.wait_export()
    assert not done.ok and done.result is None
    assert done.message.startswith(f"Nothing was exported: {stick / (stem + '-lines.csv')} is a symbolic link")
    assert _journal_files(data_dir) == before
    assert reg.journal.summary().pending == 3


def test_the_till_refuses_to_export_into_its_own_data_dir(rig):
    from pathlib import Path

    reg = login_cashier(rig.register)
    paid_cash_sale(reg, PENCIL)
    data_dir = Path(str(reg.config.device.data_dir))
    before = _journal_files(data_dir)
    for target in (data_dir / "exports", data_dir / "journal"):
        assert reg.handle(ExportPending(target)).ok
        done = reg.wait_export()
        assert not done.ok and "Nothing was exported" in done.message
        assert not (data_dir / "exports").exists() and _journal_files(data_dir) == before
