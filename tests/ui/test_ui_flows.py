"""End to end on the real register from `firmware.bootstrap`: real pygame events under the dummy video driver."""

from __future__ import annotations

import pygame
import pytest

from tests.ui.conftest import PENCIL, log_in, open_manager, scan_with_wedge, settle, start, tap, type_keys
from ui import theme


def test_log_in_by_touch_scan_by_wedge_and_by_scanner_tender_cash_and_see_the_receipt(
    make_register, app_clock, tmp_path
):
    reg = make_register()
    app = start(reg, app_clock)
    assert app.wanted() == "login"
    log_in(app, finger=True)
    assert app.view.clerk.name == "Anna" and app.wanted() == "sell"

    scan_with_wedge(app, PENCIL)
    assert [ln.sku for ln in app.view.lines] == [PENCIL]
    assert app.view.flash_line == 1 and app.current.flashing()

    reg.hardware.scanner.feed(PENCIL)  # the serial/pty scanner path: a hal event the register pumps
    settle(app, lambda: sum(int(ln.qty) for ln in app.view.lines) == 2)
    app.save(tmp_path / "sell.png")

    tap(app, "pay")
    assert app.wanted() == "tender"
    total = app.view.totals.due
    assert total == 2 * 129
    type_keys(app, "5", app_clock, gap=0.2)  # typed slowly: an amount in euros (5.00), not a scan
    tap(app, "cash")
    settle(app, lambda: app.view.phase == "done")
    app.step([])
    assert app.wanted() == "done"
    receipt = app.view.last_receipt.to_doc()
    assert receipt["tenders"][0]["change"] == 500 - total
    assert reg.journal.get(receipt["receipt_id"]) is not None  # committed before "paid" was shown
    app.save(tmp_path / "done.png")
    tap(app, "new_sale")
    assert app.wanted() == "sell" and app.view.lines == ()


def test_wrong_pin_says_so_and_repeated_failures_lock_out(make_register, app_clock):
    app = start(make_register(), app_clock)
    log_in(app, pin="0000")
    assert app.wanted() == "login" and "Wrong PIN" in app.current.message()
    for _ in range(5):
        log_in(app, pin="0000")
    assert "Too many wrong PINs" in app.current.message()
    log_in(app)  # even the right PIN waits out the lockout
    assert app.wanted() == "login"


def test_an_unknown_barcode_is_said_in_plain_words(make_register, app_clock):
    app = start(make_register(), app_clock)
    log_in(app)
    scan_with_wedge(app, "4006381333932")  # bad check digit
    toast = app.toasts.current  # said in a toast, with the scan buzz; nothing to tap away
    assert not app.dialogs and toast.level == "scan" and "barcode" in toast.text.lower()
    assert "Traceback" not in toast.text and app.tone.kinds[-1] == "scan"
    scan_with_wedge(app, PENCIL)  # the cashier just scans on
    assert not app.dialogs and len(app.view.lines) == 1


def test_offline_banner_appears_when_the_broker_goes_away(make_register, app_clock, mosquitto, tmp_path):
    reg = make_register(broker_url=mosquitto.url)
    app = start(reg, app_clock)
    settle(app, lambda: app.view.sync.online)
    mosquitto.kill()
    settle(app, lambda: not app.view.sync.online)
    dirty = app.step([]) or [app.topbar.r_banner]
    banner = app.display.subsurface(app.topbar.r_banner)
    assert banner.get_at((1, banner.get_height() // 2))[:3] == theme.BANNER
    app.save(tmp_path / "offline.png")
    assert dirty is not None


def test_refund_as_manager_from_recent_receipts(make_register, app_clock, tmp_path):
    reg = make_register()
    app = start(reg, app_clock)
    log_in(app)
    scan_with_wedge(app, PENCIL)
    scan_with_wedge(app, PENCIL)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    sold = app.view.last_receipt.to_doc()
    tap(app, "new_sale")

    open_manager(app)
    tap(app, "refund")
    tap(app, f"receipt:{sold['seq']}")
    tap(app, "refund:plus:1")  # one of the two pencils
    app.save(tmp_path / "refund.png")
    tap(app, "refund:cash")
    settle(
        app,
        lambda: (
            reg.view().last_receipt is not None
            and reg.view().last_receipt.to_doc().get("kind") == "refund"
            or any(r.get("kind") == "refund" for r in reg.recent_receipts(5))
        ),
    )
    refund = next(r for r in reg.recent_receipts(5) if r.get("kind") == "refund")
    assert refund["refund_of"] == sold["receipt_id"]
    assert sum(int(ln["qty"]) for ln in refund["lines"]) == 1
    settle(app, lambda: app.view.phase != "committing")
    app.save(tmp_path / "after-refund.png")
    assert not any("Traceback" in str(getattr(d, "text", "")) for d in app.dialogs)


def test_status_screen_shows_pending_receipts_and_exports_them(make_register, app_clock, tmp_path, stick, monkeypatch):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    scan_with_wedge(app, PENCIL)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    tap(app, "bar:status")
    assert app.wanted() == "status"
    settle(app, lambda: app.view.sync.pending >= 1)
    app.save(tmp_path / "status.png")
    monkeypatch.setattr("ui.screens.status.usb_mount", lambda: str(stick))
    tap(app, "export")
    assert app.toasts.current.text == f"Exporting unsent receipts to {stick}…"
    settle(app, lambda: "exported" in app.toasts.current.text)
    assert app.toasts.current.text == f"1 receipt exported to {stick}"
    assert sorted(p.suffix for p in stick.iterdir()) == [".csv", ".json"]


@pytest.mark.slow
def test_screenshots_render_every_screen_at_every_size(make_register, tmp_path):
    from ui.screenshots import SIZES, render_all

    pngs = render_all(lambda: make_register(with_sync=False), tmp_path / "shots", SIZES)
    names = {p.name.split("-", 2)[2] for p in pngs}
    assert {
        "login.png",
        "sell.png",
        "tender.png",
        "done.png",
        "status.png",
        "status-export-range.png",
        "manager.png",
        "manager-refund-lines.png",
        "manager-x-report.png",
        "search.png",
        "manager-receipts.png",
        "find-receipt.png",
        "find-receipt-by-amount.png",
        "receipt-found.png",
        "receipt-email-invalid.png",
        "receipt-emailed.png",
        "find-receipt-day.png",
        "find-receipt-customer.png",
        "timeclock-pin.png",
        "timeclock-not-clocked-in.png",
        "timeclock-working.png",
        "timeclock-on-break.png",
        "manager-hours.png",
        "customer-panel.png",
        "customer-name-entry.png",
        "customer-form.png",
        "customer-found.png",
        "customer-edit.png",
        "sell-customer.png",
        "sell-item-prompt.png",
        "sell-age-check.png",
        "sell-age-dob.png",
    } <= names
    for w, h in SIZES:
        assert pygame.image.load(str(next(p for p in pngs if p.name.startswith(f"{w}x{h}-")))).get_size() == (w, h)
