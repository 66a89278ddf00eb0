"""Status screen integrity alarms (contract 1.1) with the real register: receipts in conflict, a rolled-back journal."""

from __future__ import annotations

from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, settle, start, tap
from ui.text import TEXT


def shown(text: str) -> bool:
    return any(text in key[0] for key in list(TEXT._items))


def test_conflicts_and_a_rollback_show_as_alarms_and_retry_leaves_conflicts_aside(make_register, app_clock, tmp_path):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    scan_with_wedge(app, PENCIL)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    receipt = app.view.last_receipt.to_doc()
    assert receipt["receipt_id"] == f"{reg.config.device.store}:{reg.config.device.register}:{reg.journal.epoch}:1"
    tap(app, "new_sale")
    tap(app, "bar:status")
    app.step([])
    assert not shown("in conflict") and not shown("restored from an older copy")

    reg.journal.quarantine_conflicts([receipt["receipt_id"]], app_clock.now())
    reg.journal.open_epoch(f"rolled back: fleet holds seq 9 of epoch {reg.journal.epoch}, journal ended at 1")
    reg.refresh_outbox(force=True)
    settle(app, lambda: (app.view.sync.conflicts, app.view.sync.rollbacks) == (1, 1))
    app.step([])
    assert shown("1 receipt in conflict") and shown("restored from an older copy")
    app.save(tmp_path / "status-integrity.png")
    tap(app, "retry")  # a conflict is not retried: the fleet will never take that receipt
    reg.refresh_outbox(force=True)
    app.step([])
    assert app.view.sync.quarantined == 1 and app.view.sync.conflicts == 1
