"""Retention: confirmed receipts past the retention age leave the live journal, and refunds still find them."""

from __future__ import annotations

from firmware.register.core.commands import Refund
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier, paid_cash_sale


def test_old_confirmed_receipts_are_archived_and_a_refund_still_finds_them(tmp_path):
    rig = RegisterRig(tmp_path / "data", policy={"retention_days": 30})
    reg = login_cashier(rig.start(journal_options={"segment_records": 8}))
    try:
        sales = []
        for _ in range(20):
            sales.append(paid_cash_sale(reg, PENCIL))
            reg.new_sale()
        # the fleet confirmed the first 16; the last 4 are still pending
        reg.journal.mark_confirmed([s["receipt_id"] for s in sales[:16]], rig.clock.now())
        reg.journal.flush()
        rig.clock.advance(31 * 86400)
        reg._housekeeper.run_once()
        reg.pump()
        health = reg.journal.health()
        archived = [p for p in (tmp_path / "data" / "journal").iterdir() if p.name.endswith(".gz")]
        assert archived, "nothing was archived"
        for sale in sales[16:]:
            assert (reg.journal.delivery(sale["seq"]) or {}).get("state") != "confirmed"
            assert reg.journal.get(sale["receipt_id"]) is not None
        assert health["receipts"] == 20
        assert reg.handle(Refund(sales[0]["receipt_id"], {1: 1}, "cash", manager_pin="9999")).ok
        reg.wait_idle()
        assert reg.view().last_receipt.to_doc()["refund_of"] == sales[0]["receipt_id"]
    finally:
        rig.stop()
