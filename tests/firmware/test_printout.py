"""What a receipt says on paper: firmware/printout.py lays it out, the domain formats its money, hal prints blocks."""

from __future__ import annotations

import queue
from zoneinfo import ZoneInfo

import pytest

from firmware.domain.errors import DomainError
from firmware.domain.receipt_model import Receipt
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
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def printed():
    """(print a receipt and return the bytes, the connector) on a simulated 42-column printer."""
    connector = SimulatedConnector()
    printer = ReceiptPrinter(connector, queue.Queue(), columns=42)
    printer.start()

    def run(receipt, header=HEADER, **kwargs) -> bytes:
        connector.clear()
        assert printer.wait(print_receipt(printer, Receipt.from_doc(receipt), header, **kwargs), 5)
        return connector.output

    yield run, printer
    printer.close()


def test_a_receipt_prints_its_lines_totals_tender_clerk_name_and_local_time(printed):
    run, printer = printed
    out = run(RECEIPT, tz=BERLIN, names={"c7": "Anna"})
    for text in (b"Papier & Co", b"Pencil HB", b"\xd52.58 A", b"2 x \xd51.29", b"TOTAL", b"Change", b"\xd52.42",
                 b"Clerk: Anna", b"Receipt: R1:7f3a9c2e:42", b"2026-11-25 15:03:11 CET"):
        assert text in out, text  # \xd5 is the euro sign in PC858
    assert b"c7" not in out and b"UTC" not in out
    assert out.startswith(b"\x1b@\x1bt\x13") and out.count(b"\x1bt") == 1  # ESC t 19: PC858, once, for the job
    assert b"\x1dkI" + bytes([len("{BR1:7f3a9c2e:42")]) + b"{BR1:7f3a9c2e:42" in out  # GS k CODE128 of the id
    assert b"COPY" not in out and b"OFFLINE" not in out
    assert printer.backlog() == []


def test_without_a_name_the_clerk_id_is_printed_rather_than_nothing(printed):
    run, _ = printed
    assert b"Clerk: c7" in run(RECEIPT)


def test_copy_refund_offline_and_no_sale_are_marked(printed):
    run, _ = printed
    refund = {**RECEIPT, "kind": "refund", "refund_of": "R1:7f3a9c2e:40", "offline": True,
              "approved_by": "m1", "reason": "Broken tip", "tenders": [{"type": "cash", "amount": 258, "change": 0}]}
    out = run(refund, copy=True, names={"m1": "Maria", "c7": "Anna"})
    assert b"REFUND" in out and b"of receipt R1:7f3a9c2e:40" in out and b"OFFLINE" in out
    assert b"-\xd52.58 A" in out and b"REFUND TOTAL" in out and b"Cash paid back" in out  # refunds: minus signs
    assert b"Reason: Broken tip" in out and b"Approved by: Maria" in out
    assert out.count(b"*** COPY ***") == 2  # top and bottom: a copy is never taken for a second sale
    no_sale = run({"receipt_id": "R1:e:43", "kind": "no_sale", "clerk_id": "m1", "approved_by": "m1",
                   "reason": "change for the float"}, names={"m1": "Maria"})
    assert b"NO SALE" in no_sale and b"Approved by: Maria" in no_sale and b"Reason: change for the float" in no_sale


def test_the_header_carries_the_shops_tax_number():
    from firmware.config import ShopConfig
    from firmware.printout import shop_header

    shop = ShopConfig(name="Papier & Co", address=["Hauptstr. 1"], tax_id="DE123456789", tax_id_label="USt-IdNr.")
    assert shop_header(shop) == ["Papier & Co", "Hauptstr. 1", "USt-IdNr. DE123456789"]
    assert shop_header(ShopConfig(name="No tax id")) == ["No tax id"]


def test_the_shops_time_zone_is_validated_at_config_load():
    from firmware.config import ConfigError, parse_config

    config = parse_config({"device": {"store": "S1", "register": "R1"}, "shop": {"timezone": "America/New_York"}})
    assert str(config.shop.zone) == "America/New_York"
    with pytest.raises(ConfigError, match=r"shop\.timezone: 'Europe/Berln' is not a time zone name"):
        parse_config({"device": {"store": "S1", "register": "R1"}, "shop": {"timezone": "Europe/Berln"}})


def test_a_receipt_with_missing_fields_still_prints(printed):
    run, _ = printed
    assert b"Receipt: R1:x:1" in run({"receipt_id": "R1:x:1"}, [])


def test_all_text_is_in_one_code_page_and_what_it_lacks_is_transliterated_never_dropped(printed, caplog):
    run, _ = printed
    receipt = {**RECEIPT, "lines": [
        {"name": "Żółć", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "Ελλάδα", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "Москва", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "ﬁlter Ŧ – “q”", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100},
        {"name": "東京", "qty": 1, "unit_price": 100, "tax_code": "A", "amount": 100}]}
    out = run(receipt, ["Café €"])
    assert out.count(b"\x1bt") == 1 and b"\x1bt\x13" in out  # PC858 only: never python-escpos's ESC t 15
    assert "Café €".encode("cp858") in out
    assert "Zólc".encode("cp858") in out  # ó is in PC858; Ż, ł, ć are spelled without their marks
    assert b"Ellada" in out and b"Moskva" in out and b'filter T - "q"' in out
    assert b"?? " in out  # CJK has no code page on this printer: visible marks, and a log line
    assert "cannot print '東'" in caplog.text


def test_a_chosen_code_page_is_used_and_a_profile_without_it_falls_back_to_pc437():
    from hal.escpos_render import page_for, render

    assert page_for(None).number == 19 and page_for(None, "wpc1252").number == 16
    out = render([Text("€ 1.00")], codepage="wpc1252")
    assert out.startswith(b"\x1b@\x1bt\x10") and b"\x80 1.00\n" in out
    assert page_for("simple").name == "pc437"  # python-escpos's "simple" profile lists CP437 only
    assert b"EUR 1.00" in render([Text("€ 1.00")], profile="simple")
    wide = render([Text("TOTAL" + " " * 35 + "€12.90")], codepage="pc437")
    assert b"TOTAL" + b" " * 33 + b"EUR12.90\n" in wide  # "EUR" takes its room from the gap: still 42 wide


def test_paper_columns_32_42_48_never_overflow_and_the_amount_column_adds_up():
    long_names = {**RECEIPT, "lines": [{**RECEIPT["lines"][0], "name": "Extra long product name " * 4,
                                        "qty": "0.755", "unit_price": 129, "amount": 123456789, "discount": 15}],
                  "totals": {"subtotal": 123456789, "tax": 0, "total": 123456789}}
    for columns in (32, 42, 48):
        blocks = receipt_blocks(Receipt.from_doc(long_names), HEADER, columns, copy=True)
        texts = [b.text for b in blocks if isinstance(b, Text)]
        assert all(len(t) <= columns for t in texts), columns
        total = next(t for t in texts if t.startswith("TOTAL"))
        assert len(total) == columns and total.endswith("€1,234,567.89")
        assert any(t.endswith("€1,234,568.04 A") and len(t) == columns for t in texts)  # the original price
        assert any(t.endswith("-€0.15") and "net €1,234,567.89" in t for t in texts) or \
            any(t.strip() == "net €1,234,567.89" for t in texts)
        assert "  0.755 kg x €1.29/kg" in texts
        code = [b for b in blocks if isinstance(b, Code)][0]
        assert code.data == "R1:7f3a9c2e:42"
        assert code.kind == ("qr" if columns == 32 else "code128")  # CODE128 is too wide for 58 mm paper


def test_a_cart_discount_has_its_own_line_and_the_tender_reference_is_printed():
    receipt = {**RECEIPT, "lines": [
        {"name": "Pen", "qty": 1, "unit_price": 1000, "tax_code": "A", "discount": 300, "cart_discount": 100,
         "amount": 700},
        {"name": "Ink", "qty": 1, "unit_price": 500, "tax_code": "A", "discount": 50, "cart_discount": 50,
         "amount": 450}],
        "cart_discount": {"amount": 150, "percent": "10.00", "approved_by": None},
        "totals": {"subtotal": 1150, "tax": 184, "total": 1150},
        "tenders": [{"type": "card", "amount": 1150, "change": 0, "reference": "4711"}]}
    texts = [b.text for b in receipt_blocks(Receipt.from_doc(receipt), [], 42) if isinstance(b, Text)]
    assert texts[1].startswith("Pen") and texts[1].endswith("€10.00 A")
    assert texts[2].startswith("  Discount, net €8.00") and texts[2].endswith("-€2.00")
    assert texts[3].startswith("Ink") and texts[3].endswith("€5.00 A")
    assert texts[4].startswith("Cart discount 10%") and texts[4].endswith("-€1.50")
    assert 1000 - 200 + 500 - 150 == 1150
    assert "  Ref. 4711" in texts


def test_x_and_z_reports_print_at_the_printers_width_with_header_and_local_time(printed):
    from firmware.printout import print_report

    run, printer = printed
    report = {"kind": "z", "z_number": 3, "created_at": "2026-11-25T17:00:00.000Z", "store": "S001",
              "register": "R1", "currency": "EUR", "first_seq": 1, "last_seq": 9,
              "sales": {"count": 8, "total": 10000}, "refunds": {"count": 1, "total": 500}, "net_total": 9500,
              "taxes": [{"tax_code": "A", "rate": "19.00", "net": 7983, "tax": 1517}],
              "tenders": [{"type": "cash", "count": 8, "amount": 10000, "refunded": 500}],
              "cash": {"opening_float": 5000}, "expected_cash": 14500, "counted_cash": 14450, "difference": -50}
    job = print_report(printer, report, ["Papier & Co", "VAT No. DE1"], tz=BERLIN)
    assert printer.wait(job, 5)
    out = printer.connector.output
    assert b"-" * 42 + b"\n" in out and b"-" * 43 not in out  # the printer's 42 columns, not 32
    assert b"VAT No. DE1" in out and b"Z report 3" in out and b"Wed 25 Nov 2026 18:00" in out
    assert b"Times in Europe/Berlin" in out and b"A 19.00% net" in out and b"Difference (short)" in out
    assert b"T17:00" not in out


def test_a_failed_receipt_is_kept_for_reprint_under_its_id():
    connector = SimulatedConnector()
    connector.online = False
    printer = ReceiptPrinter(connector, queue.Queue(), columns=42)
    printer.start()
    try:
        job = print_receipt(printer, Receipt.from_doc(RECEIPT), HEADER)
        assert printer.wait(job, 5) is False
        [entry] = printer.backlog()
        assert (entry.job_id, entry.receipt_id, entry.title) == (job, "R1:7f3a9c2e:42", "receipt R1:7f3a9c2e:42")
    finally:
        printer.close()


def test_money_on_paper_uses_the_domains_currency_table():
    def totals(currency: str, total: int, display: str = "symbol") -> str:
        blocks = receipt_blocks(Receipt.from_doc({**RECEIPT, "currency": currency, "totals": {"total": total}}), [], 42,
                                display=display)
        return next(b.text for b in blocks if isinstance(b, Text) and b.text.startswith("TOTAL"))

    assert totals("EUR", 1290).endswith(" €12.90")
    assert totals("EUR", 1290, "code").endswith(" EUR 12.90")
    assert totals("JPY", 500).endswith(" ¥500")
    assert totals("KWD", 1234).endswith(" KWD 1.234")
    assert totals("XOF", 700).endswith(" XOF 700")
    with pytest.raises(DomainError):  # an unknown currency is refused, never guessed at 2 digits
        receipt_blocks(Receipt.from_doc({**RECEIPT, "currency": "XYZ"}), [], 42)


# ---------------------------------------------------------------- the receipt page QR code (digital receipts)

SEALED = {**RECEIPT, "receipt_id": "S1:R1:7f3a:42", "store": "S1", "prev_hash": "0" * 64, "hash": "ab12" * 16}


def test_with_a_receipt_page_a_qr_code_naming_the_receipt_follows_its_barcode(printed):
    from tests.support.escpos_decode import decode

    run, _ = printed
    out = run(SEALED, tz=BERLIN, receipt_page="https://receipts.example/")
    url = "https://receipts.example/r/S1%3AR1%3A7f3a%3A42?h=ab12ab12ab12ab12"
    items = decode(out)
    codes = [(item.kind, item.data) for item in items.items if getattr(item, "kind", None) in ("barcode", "qr")]
    assert codes == [("barcode", "S1:R1:7f3a:42"), ("qr", url)]  # the QR under the id's CODE128
    assert "Your receipt online:" in items.texts
    # the GS ( k store command itself: cn 49, fn 80, m 48, then the URL's bytes
    size = len(url) + 3
    assert b"\x1d(k" + bytes([size % 256, size // 256]) + b"1P0" + url.encode() in out


def test_without_a_receipt_page_or_a_hash_there_is_no_qr_code():
    receipt = Receipt.from_doc(SEALED)
    assert not [b for b in receipt_blocks(receipt, HEADER, 42) if isinstance(b, Code) and b.kind == "qr"]
    unsealed = Receipt.from_doc(RECEIPT)  # no hash: the page could not check the link, so none is printed
    assert not [b for b in receipt_blocks(unsealed, HEADER, 42, receipt_page="https://r.example")
                if isinstance(b, Code) and b.kind == "qr"]
    blocks = receipt_blocks(receipt, HEADER, 32, receipt_page="https://r.example")
    assert blocks[-1] == Code("https://r.example/r/S1%3AR1%3A7f3a%3A42?h=ab12ab12ab12ab12", "qr")
    assert [b.kind for b in blocks if isinstance(b, Code)] == ["qr", "qr"]  # 32 columns: the id itself is a QR too
    park = Receipt.from_doc({**SEALED, "kind": "park_slip"})  # a park slip is no receipt: no page
    assert not [b for b in receipt_blocks(park, HEADER, 42, receipt_page="https://r.example")
                if isinstance(b, Code) and b.kind == "qr" and "/r/" in b.data]


def _words(blocks):
    return [b.text for b in blocks if isinstance(b, Text)]


def test_each_promotion_prints_by_name_with_its_amount_under_the_lines():
    promoted = dict(RECEIPT, lines=[
        {"sku": "P", "name": "Pencil HB", "qty": 4, "unit_price": 100, "discount": 100, "tax_code": "A",
         "amount": 300, "promotion": 100, "units": [{"qty": 1, "paid": 100}, {"qty": 2, "paid": 134},
                                                    {"qty": 1, "paid": 66}]},
        {"sku": "C", "name": "Cola", "qty": 2, "unit_price": 200, "discount": 90, "tax_code": "A", "amount": 310,
         "promotion": 80}],
        promotions=[{"promotion_id": "PENS", "name": "Pencils 3 for 2", "saving": 100, "lines": [[1, 100]]},
                    {"promotion_id": "HH", "name": "Happy hour -20%", "saving": 80, "lines": [[2, 80]]}],
        totals={"subtotal": 610, "tax": 97, "total": 610, "rounding": 0})
    words = _words(receipt_blocks(Receipt.from_doc(promoted), HEADER, 42))
    pens = next(i for i, w in enumerate(words) if w.startswith("Pencils 3 for 2"))
    assert words[pens].endswith("-€1.00") and words[pens + 1].startswith("Happy hour -20%")
    assert words[pens + 1].endswith("-€0.80")
    assert pens > max(i for i, w in enumerate(words) if w.startswith(("Pencil HB", "Cola", "  Discount")))
    assert sum("Discount" in w for w in words) == 1  # Cola's own 0.10 only; promotions are not a line discount
    plain = _words(receipt_blocks(Receipt.from_doc(RECEIPT), HEADER, 42))
    assert not any("3 for 2" in w for w in plain)


def test_an_age_checked_line_names_the_check_and_who_made_it():
    line = {**RECEIPT["lines"][0], "age_check": {"by": "c7", "min_age": 18}}
    texts = [b.text for b in receipt_blocks(Receipt.from_doc({**RECEIPT, "lines": [line]}), [], 42,
                                            names={"c7": "Anna"}) if isinstance(b, Text)]
    assert "  Age checked 18+ by Anna" in texts
    with_dob = {**line, "age_check": {"by": "c7", "min_age": 16, "dob": "1990-12-24"}}
    texts = [b.text for b in receipt_blocks(Receipt.from_doc({**RECEIPT, "lines": [with_dob]}), [], 42)
             if isinstance(b, Text)]
    assert "  Age checked 16+ by c7, born 1990-12-24" in texts
    plain = [b.text for b in receipt_blocks(Receipt.from_doc(RECEIPT), [], 42) if isinstance(b, Text)]
    assert not any("Age checked" in t for t in plain)
