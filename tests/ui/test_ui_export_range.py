"""Export by date on the real register: sales on two days, "Yesterday" and "Today" each export exactly their day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from firmware.clock import ManualClock
from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, settle, start, tap, type_keys
from ui.days import DayError, day_range, local_bounds, parse_day, quick_days

TODAY = date(2026, 11, 25)


def sell(app, *codes) -> dict:
    for code in codes:
        scan_with_wedge(app, code)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    receipt = app.view.last_receipt.to_doc()
    tap(app, "new_sale")
    return receipt


@pytest.fixture
def two_days(make_register, app_clock, stick, monkeypatch):
    """Two sales late on 24 Nov, one just after midnight on 25 Nov, in a shop on UTC (the machine's zone: the demo
    config names none); exports go to a 'USB stick'. tests/ui/test_ui_local_days.py has a shop away from UTC."""
    from zoneinfo import ZoneInfo

    monkeypatch.setattr("firmware.config.system_zone", lambda: ZoneInfo("UTC"))
    clock = ManualClock(datetime(2026, 11, 24, 22, 30, tzinfo=UTC))
    reg = make_register(with_sync=False, clock=clock)
    app = start(reg, app_clock)
    log_in(app)
    yesterday = [sell(app, PENCIL)["receipt_id"]]
    clock.advance(60 * 60)  # 23:30
    yesterday.append(sell(app, PENCIL, PENCIL)["receipt_id"])
    clock.advance(31 * 60)  # 00:01 on the 25th: a new UTC day
    today = [sell(app, PENCIL)["receipt_id"]]
    usb = stick
    monkeypatch.setattr("ui.screens.status.usb_mount", lambda: str(usb))
    tap(app, "bar:status")
    return app, usb, yesterday, today


def exported_ids(usb, stem_days: str) -> list[str]:
    (path,) = usb.glob(f"*-{stem_days}-receipts.json")
    return [r["receipt_id"] for r in json.loads(path.read_text())]


def test_yesterday_and_today_each_export_exactly_that_days_receipts(two_days):
    app, usb, yesterday, today = two_days
    tap(app, "export_range")
    assert app.dialogs[-1].name == "export_range"
    tap(app, "range:yesterday")
    assert app.dialogs[-1].fields["from"].text == "2026-11-24" == app.dialogs[-1].fields["to"].text
    tap(app, "range:export")
    assert not app.dialogs  # said in a toast: nothing to tap away
    alert = app.toasts.current
    assert (alert.title, alert.text) == ("Export: Tue 24 Nov 2026", f"Exporting receipts to {usb}…")
    settle(app, lambda: "exported" in app.toasts.current.text)  # written on a worker thread; the toast takes the result
    assert app.toasts.current is alert and alert.text == f"2 receipts exported to {usb}"
    assert exported_ids(usb, "20261124-20261125") == yesterday
    assert list(usb.glob("*-lines.csv"))  # the CSV of lines alongside

    tap(app, "export_range")
    tap(app, "range:today")
    tap(app, "range:export")
    settle(app, lambda: "exported" in app.toasts.current.text)
    assert app.toasts.current.text.startswith("1 ") and app.toasts.current.text.endswith(f"exported to {usb}")
    assert exported_ids(usb, "20261125-20261126") == today


def test_typed_days_on_the_keypad_export_the_range(two_days):
    app, usb, yesterday, today = two_days
    tap(app, "export_range")
    tap(app, "range:from")
    for key in "24.11":
        tap(app, f"range:key:{key}")
    tap(app, "range:to")
    for key in "2026-11-25":
        tap(app, f"range:key:{key}")
    tap(app, "range:export")
    settle(app, lambda: "exported" in app.toasts.current.text)
    assert app.toasts.current.text == f"3 receipts exported to {usb}"
    assert exported_ids(usb, "20261124-20261126") == yesterday + today


def test_an_invalid_day_or_from_after_to_is_said_plainly_and_exports_nothing(two_days):
    app, usb, _, _ = two_days
    tap(app, "export_range")
    dialog = app.dialogs[-1]
    tap(app, "range:from")
    for key in "31.02":
        tap(app, f"range:key:{key}")
    tap(app, "range:export")
    assert app.dialogs[-1] is dialog and dialog.error
    assert dialog.note == "From: 31.02 is not a day in the calendar."
    for _ in range(5):
        tap(app, "range:del")
    type_keys(app, "25.11\t24.11\r")  # the physical keyboard: Tab moves to To, Enter exports
    assert app.dialogs[-1] is dialog
    assert dialog.note == "From (25.11.2026) is after To (24.11.2026). Swap the two days."
    assert "Traceback" not in dialog.note
    assert not any(usb.iterdir())
    tap(app, "range:cancel")
    assert not app.dialogs and app.wanted() == "status"


def test_without_a_stick_the_dialog_says_so_and_nothing_goes_into_the_data_dir(two_days, monkeypatch):
    from pathlib import Path

    from ui.screens.status import NO_STICK

    app, usb, _, _ = two_days
    monkeypatch.setattr("ui.screens.status.usb_mount", lambda: None)
    tap(app, "export_range")
    tap(app, "range:yesterday")
    tap(app, "range:export")
    alert = app.toasts.current
    assert (alert.level, alert.title, alert.text) == ("info", "Export: Tue 24 Nov 2026", NO_STICK)
    data_dir = Path(str(app.register.config.device.data_dir))
    assert not (data_dir / "exports").exists() and not any(usb.iterdir())


def test_quick_choices_are_whole_shop_days():
    assert quick_days("today", TODAY) == (TODAY, TODAY)
    assert quick_days("yesterday", TODAY) == (date(2026, 11, 24),) * 2
    assert quick_days("last7", TODAY) == (date(2026, 11, 19), TODAY)
    assert quick_days("this_month", TODAY) == (date(2026, 11, 1), TODAY)
    assert quick_days("last_month", date(2026, 1, 10)) == (date(2025, 12, 1), date(2025, 12, 31))
    start, end = local_bounds(*quick_days("yesterday", TODAY), UTC)
    assert (start, end) == (datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))


def test_typed_days_in_both_forms_and_the_year_of_a_short_one():
    assert parse_day("2026-11-24", TODAY) == date(2026, 11, 24)
    assert parse_day("24.11", TODAY) == date(2026, 11, 24)
    assert parse_day("24.12", TODAY) == date(2025, 12, 24)  # no sales in the future: last December
    assert parse_day("1.2.2025", TODAY) == date(2025, 2, 1)
    assert day_range("20.11", "", TODAY) == (date(2026, 11, 20),) * 2  # no To: just that day
    for bad, says in (("2026-13-01", "not a day in the calendar"), ("24/11", "YYYY-MM-DD"), ("", "Type a day")):
        with pytest.raises(DayError, match=says):
            parse_day(bad, TODAY)
