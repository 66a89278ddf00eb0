"""The refund, tender and cart screens driven as a cashier drives them (pygame dummy driver, real register):
"-" lowers a refund by one and the give-back total shows, a receipt barcode from the serial scanner opens it,
"10" typed on the tender keypad is €10.00, cash below the due asks first, payments can be removed, and a
discount shows on its line."""

from __future__ import annotations

import pytest

from firmware.register.commands import DiscountCart, DiscountLine
from tests.ui.conftest import log_in, open_manager, scan_with_wedge, settle, start, tap, type_keys

ERASER = "4006380133532"  # 0.89
COFFEE = "4006380135079"  # 7.99
PENCIL = "4006381333931"  # 1.29


@pytest.fixture
def drawn(monkeypatch):
    """Every text the refund, tender and cart screens draw, in order."""
    texts: list[str] = []
    for module in ("ui.screens.refund", "ui.screens.tender", "ui.screens.cart", "ui.screens.done"):
        original = __import__(module, fromlist=["label"]).label

        def recording(surf, text, *args, _original=original, **kwargs):
            texts.append(text)
            return _original(surf, text, *args, **kwargs)

        monkeypatch.setattr(f"{module}.label", recording)
    return texts


def sell(app, *codes):
    for code in codes:
        scan_with_wedge(app, code)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    sold = app.view.last_receipt.to_doc()
    tap(app, "new_sale")
    return sold


def open_refunds(app):
    open_manager(app)
    tap(app, "refund")
    return app.current.refund


@pytest.mark.slow
def test_minus_takes_one_off_and_the_give_back_total_shows_before_committing(make_register, app_clock, drawn,
                                                                            tmp_path):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    sold = sell(app, COFFEE, ERASER, ERASER, ERASER)
    panel = open_refunds(app)
    tap(app, f"receipt:{sold['seq']}")
    assert any("sold 3 · refunded 0 · left 3" in t for t in drawn)
    for _ in range(3):
        tap(app, "refund:plus:2")
    tap(app, "refund:minus:2")  # three erasers, one less: two (it used to drop to one)
    assert panel.qty == {2: 2}
    tap(app, "refund:plus:1")
    assert panel.give_back_text() == "€9.77" and "€9.77" in drawn[-12:]
    app.save(tmp_path / "refund-total.png")
    tap(app, "refund:cash")
    settle(app, lambda: app.view.phase == "done")
    refund = app.view.last_receipt.to_doc()
    assert refund["kind"] == "refund" and refund["totals"]["total"] == 977 and refund["tenders"][0]["amount"] == 977
    tap(app, "new_sale")

    panel = open_refunds(app)
    tap(app, f"receipt:{sold['seq']}")
    assert any("sold 3 · refunded 2 · left 1" in t for t in drawn)
    assert any("sold 1 · refunded 1 · all refunded" in t for t in drawn)
    tap(app, "refund:plus:2")
    tap(app, "refund:plus:2")  # only one is left: the screen stops there, before any commit
    tap(app, "refund:plus:1")  # the coffee is all refunded
    assert panel.qty == {2: 1} and panel.give_back_text() == "€0.89"
    assert "nothing more to refund" in app.toasts.current.text


def test_a_refund_line_says_what_one_gives_back_after_the_cart_discount_and_done_says_paid_back(
        make_register, app_clock, drawn):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    scan_with_wedge(app, PENCIL)
    scan_with_wedge(app, PENCIL)
    assert app.run(DiscountCart(percent="10")).ok  # 2.58 - 0.26 = 2.32: 1.16 a pencil
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    sold = app.view.last_receipt.to_doc()
    tap(app, "new_sale")
    panel = open_refunds(app)
    tap(app, f"receipt:{sold['seq']}")
    assert "€1.16 each" in drawn and "€1.29" in drawn  # the price struck through, what one gives back
    assert not any("€1.29 each" in t for t in drawn)
    tap(app, "refund:plus:1")
    assert panel.give_back_text() == "€1.16"
    before = len(drawn)
    tap(app, "refund:cash")
    settle(app, lambda: app.view.phase == "done")
    app.step([])
    assert "Paid back €1.16 in cash" in drawn[before:] and not any("Given" in t for t in drawn[before:])
    assert app.wanted() == "done"


def test_a_receipt_barcode_from_the_serial_scanner_or_typed_in_either_form_opens_the_receipt(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    sold = sell(app, PENCIL, PENCIL)
    rid = sold["receipt_id"]

    reg.hardware.scanner.feed(rid)  # on the sell screen: not an item, and it says where to go
    settle(app, lambda: app.toasts.current is not None and "receipt" in app.toasts.current.text)
    assert "Refund" in app.toasts.current.text and "EAN" not in app.toasts.current.text
    assert app.view.lines == ()

    panel = open_refunds(app)
    reg.hardware.scanner.feed(rid)  # the serial scanner on the refund screen
    settle(app, lambda: panel.receipt_id == rid)

    tap(app, "refund:cancel")
    store, register, epoch, seq = rid.split(":")
    type_keys(app, f"{register}:{epoch}:{seq}\r")  # the old id form, typed
    assert panel.receipt_id == rid

    tap(app, "refund:cancel")
    tap(app, "refund:type")  # on the touchscreen: the number printed on the receipt
    for digit in seq:
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert panel.receipt_id == rid


def test_typing_10_on_the_tender_keypad_is_ten_euros_and_a_part_payment_is_asked_and_removable(make_register,
                                                                                              app_clock, drawn):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    scan_with_wedge(app, COFFEE)
    scan_with_wedge(app, PENCIL)
    scan_with_wedge(app, PENCIL)
    scan_with_wedge(app, PENCIL)  # 7.99 + 3 x 1.29 = 11.86
    tap(app, "pay")
    assert app.wanted() == "tender"
    tap(app, "tkey:1")
    tap(app, "tkey:0")
    assert app.current.entry_text() == "€10.00" and "€10.00" in drawn
    tap(app, "tkey:.")
    tap(app, "tkey:5")
    assert app.current.entry_text() == "€10.50"
    tap(app, "tkey:<")
    tap(app, "tkey:<")

    tap(app, "cash")  # €10.00 of €11.86: not without asking
    assert app.dialogs and app.dialogs[-1].text == "Part payment of €10.00?" and app.view.tenders == ()
    tap(app, "confirm:yes")
    assert [(t["type"], t["amount"]) for t in app.view.tenders] == [("cash", 1000)]
    assert app.view.totals.due == 186

    tap(app, "back")  # a payment is taken: the cart cannot change under it
    assert app.wanted() == "tender" and "remove them first" in app.toasts.current.text
    tap(app, "tender:remove:0")
    assert app.view.tenders == () and app.view.totals.due == 1186
    assert "give €10.00 back" in app.toasts.current.text or "give €10.00 back" in app.view.message.text
    tap(app, "back")
    assert app.wanted() == "sell"

    tap(app, "pay")
    type_keys(app, "20", app_clock, gap=0.2)
    tap(app, "cash")
    settle(app, lambda: app.view.phase == "done")
    assert app.view.last_receipt.to_doc()["tenders"][0]["change"] == 2000 - 1186
    assert app.view.message.text == "Paid, change €8.14"


def test_a_line_and_a_cart_discount_show_on_the_line_as_original_discount_and_net(make_register, app_clock, drawn):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    scan_with_wedge(app, PENCIL)
    scan_with_wedge(app, PENCIL)
    scan_with_wedge(app, COFFEE)
    assert app.run(DiscountLine(1, percent="10")).ok  # 2.58 - 0.26 = 2.32
    assert app.run(DiscountCart(amount=100)).ok  # 1.00 over 2.32 and 7.99
    app.step([])
    pencils, coffee = app.view.lines
    assert (pencils.discount, pencils.cart_discount, coffee.cart_discount) == (26, 23, 77)
    assert pencils.net == 209 and coffee.net == 722
    assert app.view.totals.total == pencils.net + coffee.net
    # each line: original (struck through), its discounts, and the net it adds to the total
    for text in ("€2.58", "2 x €1.29", "-€0.26 · cart -€0.23", "€2.09", "€7.99", "1 x €7.99", "cart -€0.77", "€7.22"):
        assert text in drawn, text


def test_a_discount_amount_is_typed_as_money_not_cents(make_register, app_clock):
    app = start(make_register(with_sync=False), app_clock)
    log_in(app)
    scan_with_wedge(app, COFFEE)
    tap(app, "line:1")
    for key in "0.5":
        tap(app, f"key:{key}")
    tap(app, "disc_amt")
    assert app.view.lines[0].discount == 50 and app.view.lines[0].net == 749


@pytest.mark.parametrize("currency, keys, text, value", [
    ("EUR", "10", "10", 1000),
    ("EUR", "10.5", "10.5", 1050),
    ("EUR", "10.505", "10.50", 1050),  # no third decimal in euros
    ("EUR", "0010", "10", 1000),
    ("EUR", ".5", "0.5", 50),
    ("EUR", "1..2", "1.2", 120),
    ("EUR", "12345678", "1234567", 123456700),  # a finger resting on a key stops at 7 digits
    ("JPY", "10.5", "105", 105),  # no minor unit: the point is ignored
    ("KWD", "1.2345", "1.234", 1234),
])
def test_money_entry_takes_currency_units(currency, keys, text, value):
    from ui.money_entry import MoneyEntry

    entry = MoneyEntry(lambda: currency)
    assert entry.value() is None
    for key in keys:
        entry.key(key)
    assert (entry.text, entry.value()) == (text, value)
    entry.key("<")
    entry.key("C")
    assert entry.text == "" and entry.value() is None
