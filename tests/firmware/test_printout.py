"""What a receipt says on paper: firmware/printout.py lays it out, the domain formats its money, hal prints blocks."""

from __future__ import annotations

import queue

import pytest

from firmware.domain.errors import DomainError
from firmware.printout import print_receipt, receipt_blocks
from hal.connectors import SimulatedConnector
from hal.layout import Code, Text
from hal.printer import ReceiptPrinter

RECEIPT = {
    "receipt_id": "R1:7f3a9c2e:42", "store": "S001", "register": "R1", "seq": 42, "kind": "sale",
    "created_at": "2026-11-25T14:03:11.250Z", "clock_trusted": True, "offline": False, "clerk_id": "c7",
    "currency": "EUR",
    "lines": [{"sku": "4006381333931", "name": "Pencil HB", "qty": 2, "unit_price": 129, "discount": 0,
               "tax_code": "A", "amount": 258}],
    "totals": {"subtotal": 258, "tax": 41, "total": 258, "rounding": 0},
    "taxes": [{"tax_code": "A", "rate": "19.00", "net": 217, "tax": 41}],
    "tenders": [{"type": "cash", "amount": 500, "change": 242}],
    "refund_of": None,
}
HEADER = ["Papier & Co", "Hauptstr. 1, 10115 Berlin"]


@pytest.fixture
def printed():
    """(print a receipt and return the bytes, the connector) on a simulated 42-column printer."""
    connector = SimulatedConnector()
    printer = ReceiptPrinter(connector, queue.Queue(), columns=42)
    printer.start()

    def run(receipt, header=HEADER, **kwargs) -> bytes:
        connector.clear()
        assert printer.wait(print_receipt(printer, receipt, header, **kwargs), 5)
        return connector.output

    yield run, printer
    printer.close()


def test_a_receipt_prints_its_lines_totals_tender_clerk_id_and_time(printed):
    run, printer = printed
    out = run(RECEIPT)
    for text in (b"Papier & Co", b"Pencil HB", b"2.58 A", b"2 x 1.29", b"TOTAL EUR", b"Change", b"2.42",
                 b"Clerk: c7", b"Receipt: R1:7f3a9c2e:42", b"2026-11-25 14:03:11 UTC"):
        assert text in out, text
    assert b"\x1dkI" + bytes([len("{BR1:7f3a9c2e:42")]) + b"{BR1:7f3a9c2e:42" in out  # GS k CODE128 of the id
    assert b"COPY" not in out and b"OFFLINE" not in out
    assert printer.backlog() == []


def test_copy_refund_offline_and_no_sale_are_marked(printed):
    run, _ = printed
    refund = {**RECEIPT, "kind": "refund", "refund_of": "R1:7f3a9c2e:40", "offline": True,
              "totals": {"subtotal": -258, "tax": -41, "total": -258}}
    out = run(refund, copy=True)
    assert b"REFUND" in out and b"of R1:7f3a9c2e:40" in out and b"OFFLINE" in out and b"-2.58" in out
    assert out.count(b"*** COPY ***") == 2  # top and bottom: a copy is never taken for a second sale
    assert b"NO SALE" in run({"receipt_id": "R1:e:43", "kind": "no_sale", "clerk_id": "m1"})


def test_a_receipt_with_missing_fields_still_prints(printed):
    run, _ = printed
    assert b"Receipt: R1:x:1" in run({"receipt_id": "R1:x:1"}, [])


def test_a_failed_receipt_is_kept_for_reprint_under_its_id():
    connector = SimulatedConnector()
    connector.online = False
    printer = ReceiptPrinter(connector, queue.Queue(), columns=42)
    printer.start()
    try:
        job = print_receipt(printer, RECEIPT, HEADER)
        assert printer.wait(job, 5) is False
        [entry] = printer.backlog()
        assert (entry.job_id, entry.receipt_id, entry.title) == (job, "R1:7f3a9c2e:42", "receipt R1:7f3a9c2e:42")
    finally:
        printer.close()


def test_non_latin1_text_is_code_paged_or_transliterated_never_dropped(printed, caplog):
    run, _ = printed
    receipt = {**RECEIPT, "lines": [
        {"name": "Żółć", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "Ελλάδα", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "ﬁlter Ŧ", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "東京", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100}]}
    out = run(receipt, ["Café €"])
    assert "Żółć".encode("cp852") in out and b"\x1bt\x12" in out  # ESC t 18 selects CP852
    assert "Ελλάδα".encode("cp737") in out or "Ελλάδα".encode("cp869") in out or "Ελλάδα".encode("iso8859_7") in out
    assert b"filter T" in out
    assert b"?? " in out  # CJK has no code page on this profile: visible marks, and a log line
    assert "cannot print '東'" in caplog.text
    assert b"Caf" in out and b"\x1bt" in out


def test_paper_columns_32_42_48_never_overflow_and_totals_align():
    long_names = {**RECEIPT, "lines": [{**RECEIPT["lines"][0], "name": "Extra long product name " * 4,
                                        "qty": "0.755", "amount": 123456789, "discount": 15}]}
    for columns in (32, 42, 48):
        blocks = receipt_blocks(long_names, HEADER, columns, copy=True)
        texts = [b.text for b in blocks if isinstance(b, Text)]
        assert all(len(t) <= columns for t in texts), columns
        total = next(t for t in texts if t.startswith("TOTAL EUR"))
        assert len(total) == columns and total.endswith("2.58")
        assert any(t.endswith("1234567.89 A") and len(t) == columns for t in texts)
        assert "  0.755 x 1.29" in texts
        code = [b for b in blocks if isinstance(b, Code)][0]
        assert code.data == "R1:7f3a9c2e:42"
        assert code.kind == ("qr" if columns == 32 else "code128")  # CODE128 is too wide for 58 mm paper


def test_money_on_paper_uses_the_domains_currency_table():
    def totals(currency: str, total: int) -> str:
        blocks = receipt_blocks({**RECEIPT, "currency": currency, "totals": {"total": total}}, [], 42)
        return next(b.text for b in blocks if isinstance(b, Text) and b.text.startswith("TOTAL"))

    assert totals("EUR", 1290).endswith(" 12.90")
    assert totals("JPY", 500).endswith(" 500")
    assert totals("KWD", 1234).endswith(" 1.234")
    assert totals("XOF", 700).endswith(" 700")
    with pytest.raises(DomainError):  # an unknown currency is refused, never guessed at 2 digits
        receipt_blocks({**RECEIPT, "currency": "XYZ"}, [], 42)
