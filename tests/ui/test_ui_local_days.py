"""Export by date counts the shop's days: a sale at 23:30 on the 24th (shop time) is the 24th's, whatever UTC says."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.clock import ManualClock
from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, settle, start, tap
from ui.days import local_bounds, local_today, quick_days, shop_zone

NEW_YORK = ZoneInfo("America/New_York")  # UTC-5 in November: 23:30 there is 04:30 UTC the next day
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def shop_register(tmp_path):
    made = []

    def make(timezone: str, clock: ManualClock):
        data = tmp_path / f"data{len(made)}"
        pins = seed_demo(data)
        config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"},
                             shop={"timezone": timezone})
        reg = bootstrap(config, clock=clock, demo_pins=pins, with_sync=False)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        reg.shutdown()


def sell(app, code: str = PENCIL) -> str:
    scan_with_wedge(app, code)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    receipt_id = app.view.last_receipt.to_doc()["receipt_id"]
    tap(app, "new_sale")
    return receipt_id


def test_a_sale_at_23_30_shop_time_exports_with_its_own_day(shop_register, app_clock, stick, monkeypatch):
    late = datetime(2026, 11, 24, 23, 30, tzinfo=NEW_YORK)  # 2026-11-25 04:30 UTC
    clock = ManualClock(late.astimezone(UTC))
    app = start(shop_register("America/New_York", clock), app_clock)
    log_in(app)
    on_24th = sell(app)
    clock.advance(45 * 60)  # 00:15 on the 25th, shop time
    on_25th = sell(app)
    monkeypatch.setattr("ui.screens.status.usb_mount", lambda: str(stick))
    tap(app, "bar:status")

    tap(app, "export_range")
    dialog = app.dialogs[-1]
    assert dialog.today() == date(2026, 11, 25)
    assert "UTC" not in dialog.note
    tap(app, "range:yesterday")
    assert dialog.fields["from"].text == "2026-11-24" == dialog.fields["to"].text
    assert dialog.note == "Yesterday: Tue 24 Nov 2026." and "UTC" not in dialog.note
    tap(app, "range:export")
    settle(app, lambda: "exported" in app.toasts.current.text)
    assert app.toasts.current.title == "Export: Tue 24 Nov 2026"
    (path,) = stick.glob("*-20261124-20261125-receipts.json")  # named by the shop's days
    assert [r["receipt_id"] for r in json.loads(path.read_text())] == [on_24th]

    tap(app, "export_range")
    tap(app, "range:today")
    tap(app, "range:export")
    settle(app, lambda: len(list(stick.glob("*-20261125-20261126-receipts.json"))) == 1 and
           "exported" in app.toasts.current.text)
    (path,) = stick.glob("*-20261125-20261126-receipts.json")
    assert [r["receipt_id"] for r in json.loads(path.read_text())] == [on_25th]


def test_the_shop_day_and_its_bounds_follow_the_zone():
    now = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)
    assert local_today(now, NEW_YORK) == date(2026, 11, 24)
    assert local_today(now, UTC) == date(2026, 11, 25)
    assert local_today(now.replace(tzinfo=None), NEW_YORK) == date(2026, 11, 24)  # naive is UTC, as the clock gives
    start, end = local_bounds(*quick_days("yesterday", date(2026, 11, 25)), NEW_YORK)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (datetime(2026, 11, 24, 5, tzinfo=UTC),
                                                            datetime(2026, 11, 25, 5, tzinfo=UTC))
    start, end = local_bounds(date(2026, 3, 29), date(2026, 3, 29), BERLIN)  # clocks go forward: a 23-hour day
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert start.astimezone(UTC) == datetime(2026, 3, 28, 23, tzinfo=UTC)


def test_the_shop_zone_is_the_configured_one_else_the_machines():
    from firmware.config import system_zone

    assert shop_zone("America/New_York") == NEW_YORK
    assert shop_zone("") == system_zone()
    assert shop_zone("Not/AZone") == system_zone()  # never a failed screen over it (the config check refuses it)
