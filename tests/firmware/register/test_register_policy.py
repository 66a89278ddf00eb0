"""Offline policy: warnings for a long outage, a large backlog and little disk left; a cash sale is never refused
for being offline."""

from __future__ import annotations

import pytest

from firmware.register.housekeeping import JournalHealthMeasured
from firmware.sync.events import CatalogReceived, ClerksReceived, LinkDown, LinkUp
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier, paid_cash_sale


@pytest.fixture
def strict(tmp_path):
    rig = RegisterRig(tmp_path / "data", policy={"offline_warn_hours": 2, "pending_warn_count": 2})
    rig.start()
    yield rig
    rig.stop()


def test_long_outage_and_backlog_warn_but_cash_sales_still_go_through(strict):
    reg = login_cashier(strict.register)
    reg.events.put(LinkDown("connection refused"))
    reg.pump()
    assert reg.view().warnings == ()
    strict.clock.advance(3 * 3600)
    for _ in range(3):
        paid_cash_sale(reg, PENCIL)
        reg.new_sale()
    reg.refresh_outbox(force=True)
    warnings = " | ".join(reg.view().warnings)
    assert "Offline for 3 hours" in warnings
    assert "3 receipts waiting to be sent" in warnings
    assert reg.view().sync.online is False


def test_little_disk_left_is_a_warning_with_the_days(strict):
    reg = strict.register
    reg.events.put(JournalHealthMeasured(free_bytes=10_000_000, days_left=12.5, receipts_per_day=400))
    reg.pump()
    assert "about 12 days" in " | ".join(reg.view().warnings)


def test_link_events_flip_online_at_once(strict):
    reg = strict.register
    reg.events.put(LinkUp())
    reg.pump()
    assert reg.view().sync.online and reg.view().health["broker"].ok
    reg.events.put(LinkDown("keepalive timeout"))
    reg.pump()
    assert not reg.view().sync.online and reg.view().health["broker"].detail == "keepalive timeout"


def test_downlink_catalog_applies_whole_and_older_versions_are_ignored(strict):
    from firmware.bootstrap import demo_catalog_payload

    reg = login_cashier(strict.register)
    newer = demo_catalog_payload()
    newer["version"] = 5
    newer["items"][0]["price"] = 139
    reg.events.put(CatalogReceived(newer))
    reg.pump()
    reg.scan(PENCIL)
    assert reg.view().lines[0].unit_price == 139
    older = demo_catalog_payload()
    older["version"] = 4
    reg.events.put(CatalogReceived(older))
    broken = demo_catalog_payload()
    broken["version"] = 9
    broken["items"][1]["barcodes"] = ["4006381333932"]  # bad check digit: the whole payload is refused
    reg.events.put(CatalogReceived(broken))
    reg.pump()
    assert reg.catalog.version == 5
    strict.restart()
    assert strict.register.catalog.version == 5


def test_a_catalog_built_by_sync_is_taken_as_it_is(strict):
    from firmware.bootstrap import demo_catalog_payload
    from firmware.domain.catalog import Catalog

    reg = login_cashier(strict.register)
    payload = demo_catalog_payload()
    payload["version"] = 6
    built = Catalog.from_payload(payload)
    reg.events.put(CatalogReceived(payload, built))
    reg.pump()
    assert reg.catalog is built  # no second build on the UI thread


def test_downlink_clerks_replace_the_roster(strict):
    from firmware.domain.clerks import hash_pin

    reg = strict.register
    reg.events.put(ClerksReceived({"version": 7, "clerks": [
        {"clerk_id": "c9", "name": "Zoe", "role": "manager", "pin_hash": hash_pin("4321")}]}))
    reg.pump()
    assert [c.clerk_id for c in reg.clerks()] == ["c9"]
    assert reg.login("c9", "4321").ok
