"""Park numbers P1, P2... with a slip to scan; cashiers recall their own carts; X and Z read as reports."""

from __future__ import annotations

from firmware.register.core.commands import Logout, Recall, Scan, XReport, ZReport
from firmware.register.core.handlers.park import slip_code, slip_serial
from firmware.register.report_text import report_lines, report_rows
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale, wait_for


def park_one(reg, *codes):
    for code in codes or (PENCIL,):
        assert reg.scan(code).ok
    out = reg.park()
    assert out.ok, out.message
    reg.wait_idle()
    return out.data


def test_park_numbers_are_short_and_sequential_and_the_list_says_who_when_and_how_much(rig):
    reg = login_cashier(rig.register)
    assert [park_one(reg), park_one(reg, PENCIL, PENCIL)] == ["P1", "P2"]
    first, second = reg.parked()
    assert (first.number, second.number) == ("P1", "P2")
    assert first.clerk_name == "Anna" and second.lines == 1 and second.total == 258
    assert first.parked_at.tzinfo is not None and first.code and slip_serial(first.code) is not None


def test_the_park_slip_is_printed_with_its_number_and_barcode(rig):
    reg = login_cashier(rig.register)
    park_one(reg)
    (cart,) = reg.parked()
    rendered = rig.data_dir / "printer"
    assert wait_for(lambda: any(cart.code in f.read_text() for f in rendered.glob("*.txt")))


def test_scanning_the_slip_brings_the_cart_back_and_an_old_slip_is_refused_plainly(rig):
    reg = login_cashier(rig.register)
    park_one(reg, PENCIL, PENCIL)
    (cart,) = reg.parked()
    out = reg.handle(Scan(cart.code))
    assert out.ok and out.message == "Cart P1 is back"
    assert [ln.qty for ln in reg.view().lines] == [2] and reg.parked() == []
    reg.wait_idle()
    assert reg.park().ok  # parked again: a new serial, so the old slip no longer matches
    reg.wait_idle()
    again = reg.handle(Scan(cart.code))
    assert not again.ok and "brought back already" in again.message


def test_a_cashier_recalls_her_own_cart_by_number_without_a_manager_but_not_another_clerks(rig):
    reg = login_cashier(rig.register)
    park_one(reg)
    assert reg.handle(Recall("p1")).ok  # typed on the keypad: "1" or "P1" or "p1"
    reg.wait_idle()
    park_one(reg)
    reg.handle(Logout())
    assert reg.login("c2", "2222").ok  # Ben
    refused = reg.handle(Recall("P2"))
    assert not refused.ok and "manager" in refused.message.lower() and "Anna" in refused.message
    assert reg.handle(Recall("2", manager_pin="9999")).ok


def test_numbers_start_at_p1_again_after_the_z_but_never_clash_with_a_cart_still_parked(rig):
    reg = login_cashier(rig.register)
    park_one(reg)
    park_one(reg)
    assert reg.handle(Recall("P1")).ok
    reg.wait_idle()
    assert reg.handle(ZReport(0, "9999")).ok
    reg.wait_idle()
    reg.new_sale() if reg.view().phase == "done" else None
    # P2 is still parked: the next number goes above it, then after it is gone numbers restart
    assert park_one(reg) == "P3"
    assert reg.handle(Recall("P2")).ok
    reg.wait_idle()
    assert reg.handle(Recall("P3")).ok is False  # one open cart at a time
    assert reg.park().ok
    reg.wait_idle()


def test_slip_codes_are_13_digits_with_a_check_digit_and_never_an_items_code():
    code = slip_code(17)
    assert len(code) == 13 and code.isdigit() and code.startswith("0499") and slip_serial(code) == 17
    assert slip_serial(code[:-1] + str((int(code[-1]) + 1) % 10)) is None
    assert slip_serial(PENCIL) is None


def test_x_and_z_read_as_reports_with_no_field_names_and_the_printout_says_the_same(rig):
    reg = login_cashier(rig.register)
    paid_cash_sale(reg, PENCIL, given=500)
    reg.new_sale()
    x = reg.handle(XReport())
    assert x.ok
    rows = report_rows(x.data)
    labels = " ".join(r.label for r in rows)
    for raw in ("first seq", "kind", "receipt count", "report id", "_"):
        assert raw not in labels
    assert [r.label for r in rows if r.kind == "section"][:4] == ["Sales", "Payments", "Tax by rate",
                                                                   "Cash in the drawer"]
    assert any(r.label.endswith("net") for r in rows) and any(r.label.endswith("tax") for r in rows)
    z = reg.handle(ZReport(100, "9999"))
    assert z.ok
    diff = [r for r in report_rows(z.data) if r.label.startswith("Difference")]
    assert len(diff) == 1 and diff[0].tone == "bad" and diff[0].value.startswith("-")
    for width in (32, 42, 48):
        lines = report_lines(z.data, width, header=["Corner Shop"])
        assert max(map(len, lines)) <= width
        printed = "\n".join(lines)
        assert "Z report 1" in printed and "Difference (short)" in printed
        for r in report_rows(z.data):  # the paper says what the screen says
            if r.kind == "row" and len(r.label) + len(r.value) < width:
                assert r.value in printed and r.label in printed


def test_discounts_count_once_per_sale_or_line_and_cash_reads_taken_paid_back_net():
    """A cart discount over three lines is one discount; cash already net of refunds is not subtracted again."""
    report = {"kind": "x", "currency": "EUR", "sales": {"count": 5, "total": 1751},
              "refunds": {"count": 1, "total": 116}, "net_total": 1635,
              "discounts": {"count": 3, "total": 120, "line_count": 2, "line_total": 30, "cart_count": 1,
                            "cart_total": 90},
              "tenders": [{"type": "card", "count": 1, "amount": 306, "refunded": 0, "refund_count": 0},
                          {"type": "cash", "count": 6, "amount": 1329, "refunded": 116, "refund_count": 1}],
              "cash": {}, "expected_cash": 1329}
    money = lambda amount: ("-" if amount < 0 else "") + f"€{abs(amount) / 100:.2f}"  # noqa: E731
    rows = {r.label: r for r in report_rows(report, money)}
    assert "Discounts (already off sales)" in rows and not any(label.startswith("Discounts given") for label in rows)
    assert rows["Cart discounts (1 sale)"].value == "-€0.90" and rows["Line discounts (2 lines)"].value == "-€0.30"
    ordered = report_rows(report, money)
    payments = ordered[[r.label for r in ordered].index("Payments") + 1:]
    payments = [(r.label, r.value) for r in payments[:4]]
    assert payments == [("Card (1)", "€3.06"), ("Cash taken (5)", "€14.45"), ("Cash paid back (1)", "-€1.16"),
                        ("Cash, net", "€13.29")]
    assert rows["Cash, net"].strong and not any(label.startswith(" ") for label in rows)  # nothing hangs indented
    # a report summed before the split still reads
    old = {**report, "discounts": {"count": 3, "total": 120}}
    assert [r.value for r in report_rows(old, money) if r.label == "Discounts given (3)"] == ["-€1.20"]
