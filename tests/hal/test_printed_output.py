"""Printed output, read as an auditor reads paper: every kind of receipt from a real TCP 9100 sink, 32/42/48 columns.

Receipts are made by the real domain (a sale with € and non-ASCII names, a card reference and cash rounding; a
sale priced net of tax; line and cart discounts; a partial refund with reason and manager; a copy; X and Z
reports), laid out by firmware/printout.py, printed by hal's ReceiptPrinter over TCP to `PrinterSink`, and
read back by our own ESC/POS interpreter (tests/support/escpos_decode.py), which honours ESC t. The
assertions are what an auditor checks: the amount column adds up to the subtotal, subtotal + tax = total,
tenders less change = the amount due, the tax table adds up to the total, refunds carry minus signs, the
time is the shop's local time with its zone, people are named, € is a euro sign.

The same bytes also go to an independent interpreter, emupos (PyPI; Python >= 3.13, in `.venv313`, made by
`scripts/setup-emupos`): its Epson TM-T20III profile must read the same text as our decoder; its Xprinter
XP-80T profile lists only PC437 (and PC864), so a printer configured `codepage=pc437` must print "EUR" for
€ and never a box. Without Python 3.13 the emupos tests skip and say why (they fail under CI=true).
"""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hal_sink import PrinterSink

from firmware.chain import GENESIS
from firmware.config import ShopConfig
from firmware.domain.catalog import Item
from firmware.domain.receipt import finalize
from firmware.domain.receipt_model import Receipt
from firmware.domain.refunds import build_refund
from firmware.domain.reports import summarize
from firmware.domain.sale import Sale
from firmware.domain.shift import Shift
from firmware.printout import print_receipt, print_report, shop_header
from hal.connectors import make_connector
from hal.drawer import PrinterDrawer
from hal.layout import code_for
from hal.printer import ReceiptPrinter
from hal.urls import parse_printer_url
from tests.support.emupos import DIRECT, EmuposRun, free_port
from tests.support.escpos_decode import Decoded, Line, decode

COLUMNS = (32, 42, 48)
TZ = "Europe/Berlin"
RATES = {"A": "19.00", "B": "7.00"}
SHOP = ShopConfig(name="Bäckerei Müller", address=["Hauptstraße 5", "80331 München"], tax_id="DE123456789",
                  timezone=TZ, tax_rates=RATES, cash_rounding=5)
NAMES = {"c1": "Jürgen Weiß", "m1": "Maria Núñez", "c2": "Łucja Żak"}
CUT = b"\x1dV\x00"

CAFE = Item("C1", "Café crème", 250, "B")
MUESLI = Item("M1", "Müsli Früchte", 399, "B")
BREAD = Item("W1", "Weißbrot groß", 220, "B")
SAUCE = Item("J1", "Jalapeño-Soße", 179, "B")
VOUCHER = Item("G1", "Gutschein 5 €", 500, "A")
NOTEBOOK = Item("N1", "Notebook A5", 1295, "A")
PENCIL = Item("P1", "Pencil HB", 129, "A")
APPLES = Item("AP", "Äpfel Jonagold", 249, "B", weighed=True)
LONG = Item("L1", "Bio Vollkorn-Dinkelbrot mit Sonnenblumenkernen, geschnitten 750 g", 449, "B")


def _finish(sale: Sale, seq: int, at: str, prev: str = GENESIS) -> dict[str, Any]:
    body = sale.receipt_body("S001", "R1", "EUR", at, True, False)
    return finalize(body, register="R1", epoch="7f3a9c2e", seq=seq, prev_hash=prev, store="S001")


def _open(clerk: str = "c1", tax_included: bool = True) -> Sale:
    return Sale.open(f"sale-{clerk}", clerk, rates=RATES, tax_included=tax_included, cash_rounding=5)


def make_receipts() -> dict[str, dict[str, Any]]:
    sale = _open()
    for item in (CAFE, MUESLI, BREAD, SAUCE, VOUCHER, LONG):
        sale = sale.add(item)
    sale = sale.begin_tender().add_tender("card", 1000, reference="VISA 4711-0815").add_tender("cash", 5000)
    sale_r = _finish(sale, 1, "2026-11-25T14:03:11.250Z")

    disc = _open().add(NOTEBOOK).add(NOTEBOOK).add(NOTEBOOK).add(PENCIL).add(APPLES, "0.755")
    disc = disc.discount_line(1, percent="15", approved_by="m1", limit_percent=100)
    disc = disc.discount_cart(percent="10", approved_by="m1", limit_percent=100)
    disc = disc.begin_tender().add_tender("card", reference="MC 0042")
    disc_r = _finish(disc, 2, "2026-11-25T14:10:00.000Z", sale_r["hash"])

    refund = build_refund(Receipt.from_doc(disc_r), [], {1: 2, 3: "0.755"}, sale_id="sale-r", clerk_id="c2",
                          approved_by="m1", reason="Damaged in transit")
    refund = refund.add_tender("cash") if refund.phase != "paid" else refund
    refund_r = _finish(refund, 3, "2026-11-25T15:30:00.000Z", disc_r["hash"])

    net = _open("c2", tax_included=False).add(NOTEBOOK).add(CAFE).begin_tender().add_tender("cash", 2000)
    net_r = _finish(net, 4, "2026-07-01T08:00:00.000Z", refund_r["hash"])  # summer: CEST
    return {"sale": sale_r, "discount": disc_r, "refund": refund_r, "net": net_r}


RECEIPTS = make_receipts()
SHIFT = Shift.open("shift-1", "m1", 10000, "2026-11-25T07:00:00.000Z")
REPORTS = {
    "x": summarize([Receipt.from_doc(RECEIPTS[k]) for k in ("sale", "discount", "refund")], kind="x", shift=SHIFT,
                   report_id="X-1", created_at="2026-11-25T16:00:00.000Z"),
    "z": summarize([Receipt.from_doc(RECEIPTS[k]) for k in ("sale", "discount", "refund")], kind="z", z_number=7,
                   shift=SHIFT, report_id="Z-7", created_at="2026-11-25T17:00:00.000Z", counted_cash=12000),
}


# ---- printing through a TCP 9100 sink ---------------------------------------------------------------------


class Till:
    """A ReceiptPrinter on `tcp://` to a PrinterSink; `job()` prints one thing and returns its decoded bytes."""

    def __init__(self, events_queue, columns: int, url_extra: str = "", sink_url: str | None = None) -> None:
        self.sink = PrinterSink() if sink_url is None else None
        url = (sink_url or self.sink.url) + url_extra  # type: ignore[union-attr]
        self.printer = ReceiptPrinter(make_connector(parse_printer_url(url)), events_queue, columns=columns,
                                      status_timeout=0.2, codepage=parse_printer_url(url).codepage)
        self.printer.start()

    def job(self, submit) -> Decoded:
        before = len(self.sink.received) if self.sink else 0
        job_id = submit(self.printer)
        assert self.printer.wait(job_id, 10), self.printer.backlog()
        if self.sink is None:
            return Decoded()
        deadline = time.monotonic() + 5
        while CUT not in self.sink.received[before:] and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        return decode(self.sink.received[before:])

    def close(self) -> None:
        self.printer.close()
        if self.sink:
            self.sink.close()


def receipt_job(receipt: dict, copy: bool = False):
    return lambda printer: print_receipt(printer, Receipt.from_doc(receipt), shop_header(SHOP), copy=copy,
                                         display="symbol", tz=SHOP.zone, names=NAMES)


def report_job(report: dict):
    return lambda printer: print_report(printer, report, shop_header(SHOP), display="symbol", tz=SHOP.zone,
                                        names=NAMES)


@pytest.fixture(scope="module", params=COLUMNS, ids=lambda c: f"{c}col")
def printed(request):
    """Every kind of receipt printed once at this width: {kind: Decoded}."""
    import queue

    till = Till(queue.Queue(), request.param)
    try:
        out = {kind: till.job(receipt_job(receipt)) for kind, receipt in RECEIPTS.items()}
        out["copy"] = till.job(receipt_job(RECEIPTS["sale"], copy=True))
        out["x"] = till.job(report_job(REPORTS["x"]))
        out["z"] = till.job(report_job(REPORTS["z"]))
        drawer = PrinterDrawer(till.printer)
        drawer.open()
        assert till.printer.wait(drawer.last_job, 5)
        time.sleep(0.1)
        out["all"] = decode(till.sink.received)
    finally:
        till.close()
    return request.param, out


# ---- reading it as an auditor --------------------------------------------------------------------------------

MONEY = r"[+-]?€\d+\.\d{2}"
AMOUNT_LINE = re.compile(rf"^(?P<label>.*\S)\s+(?P<amount>{MONEY})(?: (?P<code>[A-Z]))?$")


def cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    return sign * int(Decimal(text.lstrip("+-").lstrip("€")) * 100)


def column(decoded: Decoded, columns: int) -> list[tuple[str, int]]:
    """The amount column: lines that reach the right edge and end in money (and maybe a tax code)."""
    out = []
    for line in decoded.texts:
        match = AMOUNT_LINE.match(line)
        if match and len(line) == columns:
            out.append((match["label"].strip(), cents(match["amount"])))
    return out


def amount(decoded: Decoded, columns: int, label: str) -> int:
    found = [value for name, value in column(decoded, columns) if name == label]
    assert len(found) == 1, (label, decoded.texts)
    return found[0]


def items_section(decoded: Decoded, columns: int) -> list[tuple[str, int]]:
    """The column from the first line after the header's rule up to the Subtotal."""
    rows = column(decoded, columns)
    names = [name for name, _ in rows]
    return rows[:names.index("Subtotal")]


def audit(decoded: Decoded, columns: int, receipt: dict) -> None:
    """What holds on every receipt, whatever its kind."""
    texts = decoded.texts
    assert all(len(t) <= columns for t in texts), [t for t in texts if len(t) > columns]
    assert not any("\ufffd" in t for t in texts), texts  # no byte the printer would print as a box
    assert decoded.pages_selected == [19]  # one code page, PC858, chosen by us: never ESC t 15 (Greek)
    # header: the shop's name (bold, double height), address and tax number, centred
    head = decoded.lines[:4]
    assert [line.text for line in head] == ["Bäckerei Müller", "Hauptstraße 5", "80331 München",
                                            "VAT No. DE123456789"]
    assert head[0].bold and head[0].tall and all(line.align == "center" for line in head)
    assert set(texts[4]) == {"-"} and len(texts[4]) == columns
    # the amount column adds up
    rows = items_section(decoded, columns)
    subtotal = amount(decoded, columns, "Subtotal")
    assert sum(value for _, value in rows) == subtotal, rows
    sign = -1 if receipt["kind"] == "refund" else 1
    assert subtotal == sign * receipt["totals"]["subtotal"]
    tax_added = [v for n, v in column(decoded, columns) if n == "Tax (added to prices)"]
    total = amount(decoded, columns, "REFUND TOTAL" if sign < 0 else "TOTAL")
    assert subtotal + sum(tax_added) == total == sign * receipt["totals"]["total"]
    due = total
    if receipt["totals"].get("rounding"):
        assert total + amount(decoded, columns, "Cash rounding") == amount(decoded, columns, "Rounded total")
        due = amount(decoded, columns, "Rounded total")
    tendered = [v for n, v in column(decoded, columns) if n.split()[0] in ("Cash", "Card", "On") and
                n != "Cash rounding"]
    change = [v for n, v in column(decoded, columns) if n == "Change"]
    assert sum(tendered) - sum(change) == due, (tendered, change, due)
    # the tax table: net + tax = gross per rate, and the gross adds up to the total
    table = texts.index(next(t for t in texts if t.startswith("Tax ") and t.rstrip().endswith("Gross")))
    gross = 0
    for row in texts[table + 1: table + 1 + len(receipt["taxes"])]:
        net_t, tax_t, gross_t = re.findall(MONEY, row)
        assert cents(net_t) + cents(tax_t) == cents(gross_t), row
        gross += cents(gross_t)
    assert gross == total
    # who and when: the clerk's name, the shop's local time with its zone
    assert f"Clerk: {NAMES[receipt['clerk_id']].replace('Ł', 'L').replace('Ż', 'Z')}" in texts
    assert receipt["clerk_id"] not in [t.split(": ", 1)[-1] for t in texts if t.startswith("Clerk")]
    assert f"Receipt: {receipt['receipt_id']}" in texts
    # the id as a code: CODE128 where it fits the paper, else QR
    codes = decoded.of("barcode") + decoded.of("qr")
    assert [c.data for c in codes] == [receipt["receipt_id"]]
    assert codes[0].kind == ("barcode" if code_for(receipt["receipt_id"], columns).kind == "code128" else "qr")
    assert columns > 32 or codes[0].kind == "qr"  # CODE128 of an id never fits 58 mm paper
    assert decoded.of("cut"), "every receipt is cut"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sale", "discount", "refund", "net"])
def test_every_receipt_adds_up_names_people_and_says_the_local_time(printed, kind):
    columns, out = printed
    audit(out[kind], columns, RECEIPTS[kind])
    stamps = {"sale": "2026-11-25 15:03:11 CET", "discount": "2026-11-25 15:10:00 CET",
              "refund": "2026-11-25 16:30:00 CET", "net": "2026-07-01 10:00:00 CEST"}
    assert stamps[kind] in out[kind].texts
    assert not any("UTC" in t for t in out[kind].texts)


def test_euro_and_non_ascii_names_print_as_themselves(printed):
    columns, out = printed
    text = "\n".join(out["sale"].texts)
    for name in ("Café crème", "Müsli Früchte", "Weißbrot groß", "Jalapeño-Soße", "Gutschein 5 €"):
        assert name in text, name
    assert "€19.97" in text or "€" in text
    assert re.search(r"^TOTAL\s+€\d+\.\d\d$", text, re.M)
    assert "Clerk: Jürgen Weiß" in text
    # the long name wraps above its amount and never pushes it off the paper
    long_lines = [t for t in out["sale"].texts if "Dinkelbrot" in t or "Sonnenblumen" in t or t.endswith("€4.49 B")]
    assert long_lines[-1].endswith("€4.49 B") and len(long_lines[-1]) == columns
    # a tender's reference (the card slip) is printed under it
    assert "  Ref. VISA 4711-0815" in out["sale"].texts


def test_discounts_show_original_discount_and_net_and_the_cart_discount_has_its_own_line(printed):
    columns, out = printed
    receipt, decoded = RECEIPTS["discount"], out["discount"]
    rows = items_section(decoded, columns)
    notebook = receipt["lines"][0]
    assert rows[0] == ("Notebook A5", 3 * 1295)  # the original price in the column
    own = notebook["discount"] - notebook["cart_discount"]
    discount_rows = [(n, v) for n, v in rows if n.startswith("Discount")]
    assert discount_rows[0][1] == -own and f"net €{(3 * 1295 - own) / 100:.2f}" in discount_rows[0][0]
    cart = [(n, v) for n, v in rows if n.startswith("Cart discount")]
    assert cart == [("Cart discount 10%", -receipt["cart_discount"]["amount"])]
    assert sum(v for _, v in rows) == receipt["totals"]["subtotal"]
    assert "  approved by Maria Núñez" in decoded.texts
    assert "  Ref. MC 0042" in decoded.texts
    assert any(t.startswith("  0.755 kg x €2.49/kg") for t in decoded.texts)


def test_a_refund_has_minus_signs_the_reason_and_the_manager(printed):
    columns, out = printed
    receipt, decoded = RECEIPTS["refund"], out["refund"]
    assert "REFUND" in decoded.texts and f"of receipt {receipt['refund_of']}" in decoded.texts
    rows = items_section(decoded, columns)
    originals = [v for n, v in rows if not n.startswith("Discount")]
    assert originals and all(v < 0 for v in originals)  # what is paid back is negative
    assert all(v > 0 for n, v in rows if n.startswith("Discount"))  # the discount not paid back: positive
    assert amount(decoded, columns, "REFUND TOTAL") == -receipt["totals"]["total"] < 0
    assert amount(decoded, columns, "Cash paid back") == -receipt["tenders"][0]["amount"]
    assert "Reason: Damaged in transit" in decoded.texts
    assert "Approved by: Maria Núñez" in decoded.texts
    assert "Clerk: Lucja Zak" in decoded.texts  # Ł and Ż are not in PC858: spelled, never a box


def test_a_copy_says_so_top_and_bottom_and_otherwise_matches(printed):
    columns, out = printed
    copy, original = out["copy"].texts, out["sale"].texts
    assert copy.count("*** COPY ***") == 2
    assert [t for t in copy if t != "*** COPY ***"] == original
    audit(out["copy"], columns, RECEIPTS["sale"])


@pytest.mark.parametrize("kind", ["x", "z"])
def test_x_and_z_use_the_paper_width_local_time_shop_header_and_net_per_rate(printed, kind):
    columns, out = printed
    decoded, report = out[kind], REPORTS[kind]
    texts = decoded.texts
    assert not any("\ufffd" in t for t in texts) and all(len(t) <= columns for t in texts)
    assert [t for t in texts if set(t) == {"-"}] and all(len(t) == columns for t in texts if set(t) == {"-"})
    assert texts[:4] == ["Bäckerei Müller", "Hauptstraße 5", "80331 München", "VAT No. DE123456789"]
    assert "Times in Europe/Berlin" in texts
    when = "2026-11-25 17:00:00 CET" if kind == "x" else "2026-11-25 18:00:00 CET"
    assert when in texts and not any("T16:00" in t or "Z" == t[-1:] for t in texts)
    rows = column(decoded, columns)
    named = dict(rows)
    assert named["Net sales"] == report["net_total"]
    assert named[f"Sales ({report['sales']['count']})"] - named[f"Refunds ({report['refunds']['count']})"] * -1 \
        == report["net_total"] or named[f"Sales ({report['sales']['count']})"] + \
        named[f"Refunds ({report['refunds']['count']})"] == report["net_total"]
    for tax in report["taxes"]:
        rate = f"{tax['tax_code']} {tax['rate']}%"
        assert named[f"{rate} net"] == tax["net"] and named[f"{rate} tax"] == tax["tax"]
        assert named[f"{rate} net"] + named[f"{rate} tax"] == named[f"{rate} gross"]
    assert sum(named[f"{t['tax_code']} {t['rate']}% gross"] for t in report["taxes"]) == report["net_total"]
    assert any(n.startswith("Jürgen Weiß: sales") for n, _ in rows)
    if kind == "z":
        assert any(t.startswith("Z report 7") for t in texts)
        diff = [(n, v) for n, v in rows if n.startswith("Difference")]
        assert diff == [("Difference (short)" if report["difference"] < 0 else "Difference (over)",
                         report["difference"])]
    assert decoded.of("cut")


def test_the_drawer_kick_follows_the_last_cut_on_the_same_stream(printed):
    _, out = printed
    items = out["all"].items
    kicks = [i for i, item in enumerate(items) if getattr(item, "kind", None) == "kick"]
    cuts = [i for i, item in enumerate(items) if getattr(item, "kind", None) == "cut"]
    assert len(cuts) == 7 and kicks and kicks[-1] > cuts[-1]
    assert out["all"].of("kick")[-1].detail == {"pin": 2, "on_ms": 100, "off_ms": 100}


def test_the_receipts_are_bold_and_tall_where_it_matters(printed):
    _, out = printed
    total = next(line for line in out["sale"].lines if line.text.startswith("TOTAL"))
    assert isinstance(total, Line) and total.bold and total.tall
    assert next(line for line in out["refund"].lines if line.text == "REFUND").tall


# ---- the park slip: never to be taken for a paid receipt ------------------------------------------------------


def make_park_slip() -> Receipt:
    """The slip the register prints when a cart is parked (park.slip), from a real cart with a cart discount."""
    from firmware.domain.parked import park
    from firmware.register.core.handlers.park import slip

    cart = _open().add(PENCIL).add(PENCIL).add(APPLES, "0.730").add(CAFE).discount_cart(percent="10",
                                                                                      limit_percent=100)
    parked = park(cart, "P3", "2026-11-25T14:20:05.000Z")
    return slip({**parked.to_dict(), "number": 3, "serial": 1}, "Jürgen Weiß", "EUR")


PARK_SLIP = make_park_slip()


def park_slip_job(printer):
    return print_receipt(printer, PARK_SLIP, shop_header(SHOP), display="symbol", tz=SHOP.zone, names=NAMES)


@pytest.mark.parametrize("columns", COLUMNS)
def test_a_park_slip_says_parked_and_not_paid_lists_what_is_due_and_has_the_code_to_recall_it(columns):
    import queue

    till = Till(queue.Queue(), columns)
    try:
        decoded = till.job(park_slip_job)
    finally:
        till.close()
    texts = decoded.texts
    assert all(len(t) <= columns for t in texts) and not any("\ufffd" in t for t in texts), texts
    assert texts[:4] == ["Bäckerei Müller", "Hauptstraße 5", "80331 München", "VAT No. DE123456789"]
    big = [line.text for line in decoded.lines if line.bold and line.tall]
    assert big[-3:] == ["PARKED CART", "P3", "AMOUNT DUE" + " " * (columns - 10 - 5) + "€6.21"], big
    assert texts.count("NOT A RECEIPT - NOT PAID") == 2  # top and bottom: a torn slip still says so
    # nothing a receipt says: no receipt id, no TOTAL, no tenders, no tax table
    assert not any(t.startswith(("Receipt", "TOTAL", "Subtotal", "Cash", "Card", "Change")) for t in texts), texts
    assert not any(t.startswith("Tax ") for t in texts)
    # the items and the amount due: the column adds up
    rows = column(decoded, columns)
    names = [name for name, _ in rows]
    assert names == ["Pencil HB", "Äpfel Jonagold", "Café crème", "Cart discount", "AMOUNT DUE"], rows
    assert sum(value for _, value in rows[:-1]) == rows[-1][1] == PARK_SLIP.totals.total == 621
    assert "  2 x €1.29" in texts and "  0.730 kg x €2.49/kg" in texts
    # who parked it and when (the shop's time), and the code that brings it back: scanned, or typed
    assert "Clerk: Jürgen Weiß" in texts and "Parked: 2026-11-25 15:20:05 CET" in texts
    assert "Scan to bring back P3" in texts and PARK_SLIP.receipt_id in texts
    codes = decoded.of("barcode") + decoded.of("qr")
    assert [c.data for c in codes] == [PARK_SLIP.receipt_id] and PARK_SLIP.receipt_id.startswith("0499")
    assert decoded.of("cut")


# ---- an independent interpreter: emupos ---------------------------------------------------------------------

EMU_CONFIG = """schema: 1
api: {{ host: 127.0.0.1, port: {api} }}
devices:
  - id: epson
    type: printer
    profile: epson-tm-t20iii
    connections:
      - tcp: {{ host: 127.0.0.1, port: {epson} }}
    receipts_dir: {dir}/epson
  - id: xprinter
    type: printer
    profile: xprinter-xp80t
    connections:
      - tcp: {{ host: 127.0.0.1, port: {xprinter} }}
    receipts_dir: {dir}/xprinter
"""


class EmuPrinters:
    """`emupos run` with an Epson TM-T20III and an Xprinter XP-80T on loopback TCP ports."""

    def __init__(self, tmp: Path) -> None:
        self.api, self.ports = free_port(), {"epson": free_port(), "xprinter": free_port()}
        self.run = EmuposRun(tmp, EMU_CONFIG.format(api=self.api, dir=tmp, **self.ports),
                             lambda: self.receipts("epson") is not None)
        self.log_path = self.run.log_path

    def url(self, device: str) -> str:
        return f"tcp://127.0.0.1:{self.ports[device]}?timeout=5&status_timeout=0.3"

    def receipts(self, device: str) -> list[dict]:
        with DIRECT.open(f"http://127.0.0.1:{self.api}/api/v1/devices/{device}/receipts", timeout=5) as reply:
            return json.loads(reply.read())

    def text(self, device: str, receipt_id: str) -> str:
        with DIRECT.open(f"http://127.0.0.1:{self.api}/api/v1/devices/{device}/receipts/{receipt_id}/text",
                         timeout=5) as reply:
            return reply.read().decode("utf-8")

    def known(self, device: str) -> set[str]:
        return {r["id"] for r in self.receipts(device)}

    def wait_new(self, device: str, known: set[str]) -> str:
        """The text of the one receipt printed since `known` (the ids emupos listed before)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = [r["id"] for r in self.receipts(device) if r["id"] not in known]
            if new:
                assert len(new) == 1, new
                return self.text(device, new[0])
            time.sleep(0.05)
        raise AssertionError(f"emupos printed nothing on {device}: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        self.run.stop()


@pytest.fixture(scope="module")
def emupos(tmp_path_factory):
    emu = EmuPrinters(tmp_path_factory.mktemp("emupos-printer"))
    yield emu
    emu.stop()


def _words(text: str) -> list[str]:
    """Lines without alignment padding, blank lines and code lines: what both interpreters must agree on."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("[")]


JOBS = {**{kind: receipt_job(receipt) for kind, receipt in RECEIPTS.items()},
        "copy": receipt_job(RECEIPTS["sale"], copy=True), "x": report_job(REPORTS["x"]),
        "z": report_job(REPORTS["z"]), "park_slip": park_slip_job}


@pytest.mark.slow  # a Python 3.13 emulator process per width: in CI's full run, not the fast lane
@pytest.mark.parametrize("columns", COLUMNS)
def test_emupos_epson_reads_the_same_text_as_our_decoder(emupos, columns):
    import queue

    ours = Till(queue.Queue(), columns)
    theirs = Till(queue.Queue(), columns, sink_url=emupos.url("epson"))
    try:
        for kind, job in JOBS.items():
            mine = ours.job(job)
            known = emupos.known("epson")
            theirs.job(job)
            text = emupos.wait_new("epson", known)
            assert "\ufffd" not in text, (kind, text)
            assert _words(text) == _words(mine.plain(columns)), kind
            if kind in RECEIPTS:
                assert RECEIPTS[kind]["receipt_id"] in text  # the code's data, as emupos read it
    finally:
        ours.close()
        theirs.close()
    assert "codepage.unsupported" not in emupos.log_path.read_text()


@pytest.mark.slow
def test_emupos_xprinter_with_only_pc437_prints_eur_and_never_a_box(emupos):
    import queue

    till = Till(queue.Queue(), 48, sink_url=emupos.url("xprinter") + "&codepage=pc437")
    try:
        known = emupos.known("xprinter")
        till.job(receipt_job(RECEIPTS["sale"]))
        text = emupos.wait_new("xprinter", known)
    finally:
        till.close()
    assert "\ufffd" not in text, text
    assert "Gutschein 5 EUR" in text and re.search(r"^TOTAL\s+EUR\d+\.\d\d$", text, re.M)
    assert "Bäckerei Müller" in text and "Weißbrot groß" in text  # PC437 has these
