"""The manager gate and status screen on the real register: PINs checked by `check_manager`, failed receipts shown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, settle, start, tap
from ui.text import TEXT


def shown(text: str) -> bool:
    """Some text containing `text` was rendered (every label goes through the text cache)."""
    return any(text in key[0] for key in list(TEXT._items))


def type_manager_pin(app, pin: str) -> None:
    tap(app, "manager")
    assert app.dialogs and app.dialogs[-1].name == "entry"
    for digit in pin:
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")


def sell_one(app) -> dict:
    scan_with_wedge(app, PENCIL)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    receipt = app.view.last_receipt.to_doc()
    tap(app, "new_sale")
    return receipt


def test_a_cashier_pin_does_not_open_the_manager_screen_and_a_manager_pin_does(make_register, app_clock):
    app = start(make_register(with_sync=False), app_clock)
    log_in(app)  # Anna, a cashier
    type_manager_pin(app, "1111")  # her own PIN: not a manager's
    assert app.wanted() == "sell"
    dialog = app.dialogs[-1]  # still up, saying so, with the tries left (tests/ui/test_ui_lockout.py)
    assert "not a manager" in dialog.error.lower() and dialog.entry.text == ""
    for digit in "2222":  # another cashier's PIN
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert app.wanted() == "sell" and app.dialogs == [dialog] and "not a manager" in dialog.error.lower()

    for digit in "9999":  # Maria, a manager
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert app.wanted() == "manager" and not app.dialogs
    assert app.screen("manager").pin == "9999"  # approvals inside use the PIN given


def test_a_logged_in_manager_opens_the_manager_screen_without_a_pin(make_register, app_clock):
    app = start(make_register(with_sync=False), app_clock)
    log_in(app, "m1", "9999")
    tap(app, "manager")
    assert app.wanted() == "manager" and not app.dialogs
    assert app.screen("manager").pin is None


def test_failed_receipts_show_their_id_error_and_age_and_retry_sends_them_again(make_register, app_clock, tmp_path):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    receipt = sell_one(app)
    seq = receipt["seq"]
    failed_at = app_clock.now() - timedelta(minutes=7)  # the screen tells ages by the app's clock
    for _ in range(20):  # the journal quarantines a receipt after its last allowed attempt
        reg.journal.record_failure(seq, "rejected by fleet: unknown store", failed_at)
        if reg.journal.summary().quarantined:
            break
    reg.refresh_outbox(force=True)
    tap(app, "bar:status")
    settle(app, lambda: app.view.sync.quarantined == 1)
    app.step([])
    item = app.view.sync.quarantined_items[0]
    assert item["receipt_id"] == receipt["receipt_id"] and item["seq"] == seq

    title, when, error = app.current.quarantined(item, app_clock.now())
    assert title == f"#{seq}  {receipt['receipt_id']}"
    assert when.startswith("failed 7 min ago") and "tries" in when
    assert error == "rejected by fleet: unknown store"
    assert shown(receipt["receipt_id"]) and shown("rejected by fleet: unknown store") and shown("failed 7 min ago")
    app.save(tmp_path / "status-failed.png")

    tap(app, "retry")
    reg.refresh_outbox(force=True)
    settle(app, lambda: app.view.sync.quarantined == 0)
    assert app.view.sync.pending >= 1  # back in the outbox


def test_export_without_a_usb_stick_says_so_and_writes_nothing_into_the_data_dir(make_register, app_clock, monkeypatch):
    from ui.screens.status import NO_STICK

    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    sell_one(app)
    monkeypatch.setattr("ui.screens.status.usb_mount", lambda: None)
    data_dir = Path(str(reg.config.device.data_dir))
    tap(app, "bar:status")
    tap(app, "export")
    assert app.toasts.current.text == NO_STICK
    assert reg.wait_export(5) is None  # nothing was started
    assert not (data_dir / "exports").exists()
    assert not [p for p in data_dir.rglob("*") if p.suffix == ".csv" or p.name.endswith("-receipts.json")]
