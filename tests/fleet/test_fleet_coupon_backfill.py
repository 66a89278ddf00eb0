"""`kassa-fleet backfill-coupons` on SQLite and PostgreSQL (docs/promotions.md#on-the-fleet): sales stored as the
ingest stored them before schema version 7 (no `coupon_uses` rows) get their rows, keyed as the ingest keys them;
running it again, or after the ingest already wrote some, adds nothing twice; refunds and conflicts never count; an
unreadable body is named and left out; and a code used before the upgrade and again after is then flagged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from firmware.contract.receipt_id import parse_receipt_id
from fleet.coupon_backfill import backfill_coupons
from fleet.db import FleetDb, ReceiptRow
from fleet.report import status_rows
from tests.contract.kassa_samples import make_receipt
from tests.fleet.kassa_fleet_support import ROOT, db_execute, db_query

pytestmark = pytest.mark.slow  # both databases, kassa-fleet in its own process

AT = "2026-11-20T09:00:00Z"


def row(doc: dict, coupons: tuple[str, ...] = ()) -> ReceiptRow:
    """A receipt as the ingest reads it; `coupons` () as the ingest before version 7 stored it."""
    key = parse_receipt_id(doc["receipt_id"])
    return ReceiptRow(doc["receipt_id"], doc["store"], doc["register"], key.epoch, doc["seq"], doc["kind"],
                      doc["created_at"], doc["totals"]["total"], json.dumps(doc), doc["hash"], doc["prev_hash"],
                      coupons=coupons)


def chain(register: str, bodies: list[dict]) -> list[dict]:
    out: list[dict] = []
    for seq, fields in enumerate(bodies, start=1):
        out.append(make_receipt(register=register, seq=seq, id_store="S001",
                                **({"prev_hash": out[-1]["hash"]} if out else {}), **fields))
    return out


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_backfill_adds_the_uses_of_sales_stored_before_version_7_once(fleet_url):
    old = chain("R1", [{"coupons": ["c-0001", "C-0002"]}, {}, {"coupons": ["C-0003"]}])
    refund = make_receipt(register="R1", seq=4, id_store="S001", prev_hash=old[-1]["hash"], kind="refund",
                          refund_of=old[0]["receipt_id"], coupons=["C-0001"])  # a refund is no use
    old.append(refund)
    new = chain("R2", [{"coupons": ["C-0001"]}, {"coupons": ["C-0004"]}])  # after the upgrade: the ingest wrote these
    db = FleetDb(fleet_url)
    try:
        db.store_batch([row(r) for r in old], [], [], [], [], AT)
        db.store_batch([row(r, ("C-0001",)) for r in new[:1]] + [row(new[1], ("C-0004",))], [], [], [], [],
                       "2026-11-28T09:00:00Z")
        assert db.coupon_reuses() == []  # the old use of C-0001 is not known yet
        done = backfill_coupons(db, batch=2)  # pages of 2: the keyset paging is crossed
        assert (done.sales, done.added, done.unreadable) == (4, 3, [])  # R2's two were there already
        reuses = db.coupon_reuses()
        again = backfill_coupons(db)
        assert (again.sales, again.added) == (4, 0)
    finally:
        db.close()
    assert db_query(fleet_url, "SELECT code, register, seq, receipt_id, created_at, ingested_at FROM coupon_uses "
                               "ORDER BY code, register, seq") == [
        ("C-0001", "R1", 1, old[0]["receipt_id"], old[0]["created_at"], AT),
        ("C-0001", "R2", 1, new[0]["receipt_id"], new[0]["created_at"], "2026-11-28T09:00:00Z"),
        ("C-0002", "R1", 1, old[0]["receipt_id"], old[0]["created_at"], AT),
        ("C-0003", "R1", 3, old[2]["receipt_id"], old[2]["created_at"], AT),
        ("C-0004", "R2", 2, new[1]["receipt_id"], new[1]["created_at"], "2026-11-28T09:00:00Z")]
    assert [(r["code"], [u["receipt_id"] for u in r["uses"]]) for r in reuses] == [
        ("C-0001", [old[0]["receipt_id"], new[0]["receipt_id"]])]
    db = FleetDb(fleet_url)
    try:
        rows = {(r["store"], r["register"]): r for r in status_rows(db)}
    finally:
        db.close()
    assert [c["code"] for c in rows[("S001", "R1")]["coupons"]] == ["C-0001"]  # the alarm, on both registers
    assert [c["code"] for c in rows[("S001", "R2")]["coupons"]] == ["C-0001"]


def test_the_command_names_an_unreadable_receipt_and_keeps_the_rest(fleet_url):
    sales = chain("R1", [{"coupons": ["C-0001"]}, {"coupons": ["C-0002"]}])
    db = FleetDb(fleet_url)
    try:
        db.store_batch([row(r) for r in sales], [], [], [], [], AT)
    finally:
        db.close()
    bad = json.dumps({**sales[1], "coupons": ["not a code!"]})
    db_execute(fleet_url, "UPDATE receipts SET body = ? WHERE seq = 2", bad)
    out = fleet("backfill-coupons", "--db", fleet_url)
    assert out.returncode == 0, out.stderr
    assert f"receipt {sales[1]['receipt_id']}: its coupons could not be read; left out" in out.stderr
    assert "2 stored sale(s) name coupons; 1 coupon use(s) added" in out.stdout
    assert db_query(fleet_url, "SELECT code, seq FROM coupon_uses") == [("C-0001", 1)]
    out = fleet("backfill-coupons", "--db", fleet_url)
    assert "1 coupon use(s) added" not in out.stdout and "0 coupon use(s) added" in out.stdout


def test_the_command_needs_a_database(tmp_path):
    out = fleet("backfill-coupons", "--db", f"sqlite:///{tmp_path / 'missing.db'}")
    assert out.returncode == 2 and "run `kassa-fleet ingest" in out.stderr
