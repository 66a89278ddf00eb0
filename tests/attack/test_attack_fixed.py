"""Defects found by attacking the features that landed on 2026-12-01 (stock, layby, customers, item pictures), and
fixed the same day: each test failed before its fix (its docstring names the defect and the code that had it)."""

from __future__ import annotations

import pytest

from firmware.contract.accounts import decode_accounts
from firmware.contract.stock import StockDeltas
from firmware.domain import layby as lb
from firmware.domain.errors import Refused
from firmware.domain.stock import PolicyBook, StockSnapshot
from firmware.fleet_records import STOCK
from firmware.register.commands import CountStock, NewSale, PayLayby
from fleet.accounts import Book, ReceivedReceipt, reconcile
from tests.firmware.register.conftest import PENCIL, RegisterRig, paid_cash_sale

AT = "2026-11-25T10:00:00Z"


@pytest.fixture
def manager_reg(tmp_path):
    rig = RegisterRig(tmp_path / "data")
    reg = rig.start()
    assert reg.login("m1", "9999").ok
    yield reg
    rig.stop()


# ---- stock ----------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_one_register_adjusting_past_the_level_bound_does_not_stop_the_stores_stock_snapshots(tmp_path):
    """fleet/stockdb.py:144 (snapshot_document builds StockSnapshot(levels=...) unguarded): two batches of 1000
    adjusts of +10^9 (each delta within the contract) sum to a level of 2*10^12, past the snapshot's Level bound
    (10^12), so next_snapshot raises ValidationError. The leader's _build_stock_snapshots (fleet/ingest.py:697)
    then aborts the whole pass: no store sorted after this one gets a snapshot either, and no register's deltas are
    ever confirmed again (they are re-sent forever)."""
    from fleet.db import FleetDb
    from fleet.stockdb import next_snapshot, store_stock

    db = FleetDb(f"sqlite:///{tmp_path / 'fleet.db'}")
    try:
        for first in (1, 1001):
            batch = StockDeltas.model_validate({"store": "S001", "register": "R1", "deltas": [
                {"seq": s, "sku": "P", "kind": "adjust", "qty": 10**9, "at": AT} for s in range(first, first + 1000)]})
            with db.db.transaction() as tx:
                assert store_stock(tx, [("S001", "R1", batch.deltas)], AT)["new"] == 1000
        made = next_snapshot(db, "S001", "2026-11-25T11:00:00.000Z")  # today: ValidationError (levels.P)
        assert made is not None and made[0] == 1
    finally:
        db.close()


@pytest.mark.slow
def test_a_store_that_has_seen_257_registers_still_gets_stock_snapshots(tmp_path):
    """fleet/stockdb.py:144 (snapshot_document): `upto` lists every register in stock_streams, which never
    forgets one; the contract bounds it to MAX_REGISTERS (256). A store whose tills were replaced over the years
    (R1..R257, each with one delta ever) fails StockSnapshot validation: no snapshot for it, and the leader's pass
    (fleet/ingest.py:697) stops there for the stores after it."""
    from fleet.db import FleetDb
    from fleet.stockdb import next_snapshot, store_stock

    db = FleetDb(f"sqlite:///{tmp_path / 'fleet.db'}")
    try:
        with db.db.transaction() as tx:
            store_stock(tx, [("S001", f"R{n}", StockDeltas.model_validate({"store": "S001", "register": f"R{n}",
                        "deltas": [{"seq": 1, "sku": "P", "kind": "adjust", "qty": 1, "at": AT}]}).deltas)
                             for n in range(1, 258)], AT)
        made = next_snapshot(db, "S001", "2026-11-25T11:00:00.000Z")  # today: ValidationError (upto)
        assert made is not None
    finally:
        db.close()


@pytest.mark.slow
def test_a_snapshot_of_60000_tracked_items_with_long_skus_is_one_the_tills_accept(tmp_path):
    """fleet/stockdb.py:144-147 (snapshot_document) checks the model's counts (levels <= MAX_TRACKED, 100,000) but
    not its bytes; the tills decode a snapshot with StockSnapshot.MAX_BYTES (4 MiB, firmware/sync/service.py:609).
    60,000 skus of 64 characters (a valid Key) make a 4.7 MB snapshot: the leader publishes it and every till
    rejects it, so no till gets stock or confirms a delta again. (The rows are put in with SQL: store_stock would
    take them the same way, only slower.)"""
    from firmware.contract import decode
    from firmware.contract.stock import StockSnapshot as SnapshotDoc
    from fleet.db import FleetDb
    from fleet.stockdb import next_snapshot

    db = FleetDb(f"sqlite:///{tmp_path / 'fleet.db'}")
    try:
        count = 60_000
        with db.db.transaction() as tx:
            for seq in range(1, count + 1):
                tx.run("INSERT INTO stock_deltas VALUES (?,?,?,?,?,?,?,?,?,?)",
                       ("S001", "R1", seq, f"{seq:064d}", "adjust", 10**9, AT, None, None, AT))
            tx.run("INSERT INTO stock_streams VALUES (?,?,?)", ("S001", "R1", count))
        made = next_snapshot(db, "S001", "2026-11-25T11:00:00.000Z")
        assert made is not None
        decode(SnapshotDoc, made[1])  # today: PayloadRejected, 4680091 bytes is over the limit of 4194304
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.parametrize("typed", ["Infinity", "sNaN"])
def test_a_count_typed_as_infinity_or_nan_is_refused_in_the_managers_words(manager_reg, typed):
    """firmware/domain/stock.py:47-53 (stock_units, pieces): Decimal("Infinity") is integral, so int() raises
    OverflowError; Decimal("sNaN") compared raises InvalidOperation. Neither is a DomainError, so count_stock
    (firmware/register/core/handlers/stock.py:78-81) lets it out: a traceback in the log and "Something went
    wrong" on the screen instead of a refusal that says what was wrong with the number."""
    out = manager_reg.handle(CountStock(((PENCIL, typed),)))
    assert not out.ok
    assert "went wrong" not in out.message and typed in out.message


@pytest.mark.slow
def test_a_count_past_the_stock_bound_is_refused_in_the_managers_words(manager_reg):
    """firmware/register/core/handlers/stock.py:82 checks only `units < 0`; a count of 10^12 pieces reaches
    count_delta and the refusal shown is the domain's internal one: "Stock delta R1/1: quantity 1000000000000 is
    out of range" (a register id, a seq and no hint what the limit is)."""
    out = manager_reg.handle(CountStock(((PENCIL, 10**12),)))
    assert not out.ok
    assert "Stock delta" not in out.message and "R1/" not in out.message, out.message


@pytest.mark.slow
def test_a_count_typed_in_exponent_notation_is_not_taken_as_a_thousand(manager_reg):
    """firmware/domain/stock.py:48 parses a piece count with Decimal(), so "1e3" (and "1_000") are saved as 1000
    pieces; a sale's quantity (firmware/domain/lines.py:106, digits only) refuses the same text. A manager who
    slips on the keypad gets a count three orders of magnitude off, silently."""
    out = manager_reg.handle(CountStock(((PENCIL, "1e3"),)))
    assert not out.ok, f"saved: on hand now {manager_reg.stock.on_hand(PENCIL)}"


@pytest.mark.slow
def test_a_snapshot_upto_at_the_contract_bound_does_not_make_the_till_number_deltas_past_it(tmp_path):
    """firmware/stock_store.py:173 sets last_seq = max(last_seq, upto) with no bound, and
    firmware/stock_keeper.py:169 (_next_seq) numbers the next delta last_seq + 1. A snapshot whose `upto` for this
    register is 2^53 (valid: Upto allows it) makes the next sale's delta seq 2^53 + 1, which the contract's Seq
    (<= 2^53) rejects: the record can never be accepted by the fleet and the stock lane is stuck behind it."""
    rig = RegisterRig(tmp_path / "data")
    reg = rig.start()
    try:
        assert reg.login("c1", "1111").ok
        # refused: no till made that many deltas (firmware/stock_keeper.py MAX_AHEAD); taking it would number the
        # next ones past the contract's seq bound
        assert not reg.stock.apply_snapshot(StockSnapshot(1, {PENCIL: 5}, {"R1": 2**53}, AT), PolicyBook())
        paid_cash_sale(reg, PENCIL)
        for record in reg.journal.states(STOCK).values():
            StockDeltas.model_validate(record)  # today: deltas.0.seq must be <= 9007199254740992
    finally:
        rig.stop()


# ---- layby ----------------------------------------------------------------------------------------------------

LINE = lb.LaybyLine("4006380135079", "Coffee beans 500 g", "2", 799, "B", 1598)
REAL = lb.Layby("LB-S001-R1-3", "C-1001", 1598, 500, lb.parse_due("2026-12-24"), (LINE,))
FORGED = lb.Layby("LB-S001-R1-3", "Mallory", 200, 100, lb.parse_due("2026-12-24"), (LINE,))


@pytest.mark.parametrize("forger", ["R0", "A9"])
def test_a_layby_open_whose_id_names_another_receipt_never_replaces_the_real_one(forger):
    """fleet/layby.py:90-91 (_tally) takes the FIRST layby_open seen under an id (receipts come sorted by key,
    fleet/accounts.py:184) and never checks that the id names the receipt carrying it (LB-<store>-<register>-<seq>,
    docs/layby.md). A register whose name sorts before R1 (S001/R0) that opens "LB-S001-R1-3" on its own receipt
    replaces R1's real layby in every accounts snapshot: every till then knows it with Mallory as the customer and a
    total of €2.00, and hands the goods over for that. Only the `layby_overpaid` flag might hint at it, later."""
    real = ReceivedReceipt("S001", "R1", 3, tuple(decode_accounts([lb.open_entry(REAL, 500)])))
    forged = ReceivedReceipt("S001", forger, 1, tuple(decode_accounts([lb.open_entry(FORGED, 100)])))
    before = [ReceivedReceipt("S001", "R1", seq) for seq in (1, 2)]  # R1's seqs up to 3 held: through 3
    result = reconcile(Book(), [*before, real, forged])
    assert [(x.layby, x.customer, x.total, x.paid) for x in result.laybys] == [("LB-S001-R1-3", "C-1001", 1598, 500)]


@pytest.mark.slow
def test_a_layby_opened_for_a_long_customer_text_never_journals_a_receipt_the_fleet_refuses(tmp_path):
    """firmware/register/core/handlers/layby.py:124 takes `cmd.customer` stripped but unbounded into the layby
    (the cart's customer_code is cut to 64 in _one_line, the layby's own customer is not), and open_entry
    (firmware/domain/layby.py:184) journals it as is. A customer text of 200 characters is saved ("Paid") in a
    receipt whose `layby_open.customer` breaks the contract (CustomerRef, at most 160): the fleet rejects that
    receipt every time it is sent, so the deposit and the layby never reach the fleet."""
    from firmware.contract import Receipt
    from firmware.register.commands import OpenLayby
    from tests.firmware.register.test_register_layby import COFFEE

    rig = RegisterRig(tmp_path / "data")
    reg = rig.start()
    try:
        assert reg.login("c1", "1111").ok
        assert reg.scan(COFFEE).ok
        out = reg.handle(OpenLayby(500, customer="Jane Miller " + "x" * 190))
        if out.ok:  # taken: then what is journaled must be a receipt the fleet accepts
            assert reg.tender("cash").ok
            reg.wait_idle()
            doc = reg.view().last_receipt.to_doc()
            Receipt.model_validate(doc)  # today: accounts.0.layby_open.customer: at most 160 characters
            decode_accounts(doc.get("accounts"))
    finally:
        rig.stop()


@pytest.mark.slow
def test_paying_the_rest_of_a_paid_off_layby_says_it_is_paid_in_full(tmp_path):
    """firmware/domain/layby.py:154-156 (check_payment) checks `_amount` before `balance == 0`, and pay_layby
    (firmware/register/core/handlers/layby.py:150) passes the balance (0) when the cashier asks to pay the rest:
    the cashier reads "The instalment must be more than zero" instead of "... is paid in full: the customer can
    collect it"."""
    from tests.firmware.register.test_register_layby import snapshot

    rig = RegisterRig(tmp_path / "data")
    reg = rig.start()
    try:
        assert reg.login("c1", "1111").ok
        paid_off = {"layby": "LB-DEMO-R2-17", "customer": "Jane Miller", "total": 1598, "paid": 1598,
                    "due": "2027-01-15", "lines": [LINE.to_doc()]}
        snapshot(reg, 1, [{"store": "DEMO", "register": "R2", "seq": 17}], [paid_off])
        assert reg.handle(NewSale()).ok
        out = reg.handle(PayLayby("LB-DEMO-R2-17"))
        assert not out.ok and "paid in full" in out.message, out.message
    finally:
        rig.stop()


# ---- customers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["anna@" + "d" * 64 + ".com", "anna@-shop.com"])
def test_an_email_whose_domain_has_a_dot_is_not_refused_for_lacking_one(email):
    """firmware/domain/customers.py:199-200 (_check_email) says "the part after @ needs a dot, like example.com"
    for every bad domain label: a label of 64 characters or one starting with "-" has its dot, so the cashier is
    told to fix what is not wrong and cannot see what is."""
    from firmware.domain.customers import check_field

    with pytest.raises(Refused) as refused:
        check_field("email", email)
    assert "needs a dot" not in str(refused.value)
