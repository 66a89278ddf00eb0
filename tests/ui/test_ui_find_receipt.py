"""Find a past receipt on the real register, by touch (ui/screens/find_receipt.py): the manager's Receipts page ->
Find a receipt; by amount on the money keypad, by a card's last digits, by customer code; "Older receipts..." pages
back; a found receipt shows as it printed, Reprint prints a copy on the demo printer, E-mail checks the address live
and journals one mail request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware.register.commands import SetCustomer, Tender
from tests.ui.conftest import PENCIL, log_in, open_manager, settle, start, tap
from ui.screens.find_receipt import FindReceiptDialog, ReceiptDialog
from ui.screens.text_entry import TextEntryDialog

MILK, BREAD = "4006380134799", "4006380134935"


def sell(reg, *codes, card: str | None = None, customer: str | None = None) -> dict:
    """A sale made at the register (the search is what is tested here): cash, or card with the slip's reference."""
    for code in codes:
        assert reg.scan(code).ok
    if customer:
        assert reg.handle(SetCustomer(customer)).ok
    assert (reg.handle(Tender("card", None, reference=card)) if card else reg.tender("cash")).ok
    reg.wait_idle()
    receipt = reg.view().last_receipt.to_doc()
    assert reg.new_sale().ok
    return receipt


def open_find(app) -> FindReceiptDialog:
    """Manager (PIN 9999 on the dialog's keypad) -> Receipts -> Find a receipt; today's receipts are listed."""
    open_manager(app)
    tap(app, "reprint")  # the Receipts page
    tap(app, "find_receipt")
    dialog = app.dialogs[-1]
    assert isinstance(dialog, FindReceiptDialog)
    found(app)
    return dialog


def found(app) -> list[str]:
    """Wait for the search to answer; the ids of the receipts listed now ("found:<seq>")."""
    dialog = next(d for d in reversed(app.dialogs) if isinstance(d, FindReceiptDialog))
    settle(app, lambda: not dialog.searching())
    app.step([])
    return sorted((k for k in app.buttons() if re.fullmatch(r"found:\d+", k)), key=lambda k: -int(k.split(":")[1]))


def printed(reg) -> str:
    """What the demo printer printed so far (its jobs as text, each under "===== <job> <title> =====")."""
    path = Path(reg.config.device.data_dir) / "printer" / "receipts.txt"
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.mark.slow
def test_find_by_amount_reprint_a_copy_and_e_mail_it_after_a_bad_address(make_register, app_clock, tmp_path):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    sell(reg, PENCIL)
    wanted = sell(reg, MILK, BREAD)  # €4.08
    sell(reg, PENCIL)
    dialog = open_find(app)
    assert found(app) == ["found:3", "found:2", "found:1"]  # today's, newest first
    app.save(tmp_path / "find-today.png")

    tap(app, "find:amount")
    for key in "4.08":
        tap(app, f"dlg:{key}")
    assert app.dialogs[-1].shown() == "€4.08"
    tap(app, "dlg:ok")
    assert dialog.amount == 408
    assert found(app) == [f"found:{wanted['seq']}"]
    app.save(tmp_path / "find-amount.png")

    tap(app, f"found:{wanted['seq']}")
    shown = app.dialogs[-1]
    assert isinstance(shown, ReceiptDialog) and shown.receipt.receipt_id == wanted["receipt_id"]
    texts = [getattr(b, "text", "") for b in shown.lines]
    assert "Kassa Demo Shop" in texts and any(t.startswith("TOTAL") and t.endswith("€4.08") for t in texts)
    app.save(tmp_path / "receipt.png")

    before = printed(reg).count(f"copy of receipt {wanted['receipt_id']}")
    tap(app, "receipt:reprint")
    settle(app, lambda: printed(reg).count(f"copy of receipt {wanted['receipt_id']}") == before + 1)
    assert "*** COPY ***" in printed(reg).split(f"copy of receipt {wanted['receipt_id']}")[-1]
    assert app.toasts.current.title == "Reprint"

    tap(app, "receipt:email")
    mail = app.dialogs[-1]
    assert isinstance(mail, TextEntryDialog) and mail.said() == ("hint", "name@example.com")
    for ch in "anna@example":
        tap(app, f"kbd:{ch}")
    assert mail.said() == ("error", "The part after the @ is not a valid domain (name@example.com).")  # live
    app.save(tmp_path / "email-bad.png")
    tap(app, "kbd:ok")  # refused here, before the register is asked
    assert app.dialogs[-1] is mail and reg.journal.states("mail_request") == {}
    tap(app, "kbd:.com")
    assert mail.text == "anna@example.com" and mail.said() == ("ok", "✓ Tap Send to queue the e-mail.")
    tap(app, "kbd:ok")
    assert app.dialogs[-1] is shown  # back on the receipt
    toast = app.toasts.current
    assert toast.title == "E-mail queued" and toast.text.startswith("It is sent when the fleet has the receipt.")
    assert f"Receipt #{wanted['seq']} will be e-mailed to anna@example.com" in toast.text
    app.save(tmp_path / "email-queued.png")
    reg.wait_idle()
    [request] = reg.journal.states("mail_request").values()
    assert (request["receipt_id"], request["address"], request["clerk_id"]) == (wanted["receipt_id"],
                                                                                "anna@example.com", "c1")

    tap(app, "receipt:email")  # the same again: the register's refusal shows in the dialog, which stays up
    for ch in "anna@example":
        tap(app, f"kbd:{ch}")
    tap(app, "kbd:.com")
    tap(app, "kbd:ok")
    assert app.dialogs[-1].said() == ("error", f"Receipt #{wanted['seq']} is already on its way to "
                                               "anna@example.com.")
    tap(app, "kbd:cancel")
    tap(app, "receipt:back")
    tap(app, "find:close")
    assert not app.dialogs and app.wanted() == "manager"
    reg.wait_idle()
    assert len(reg.journal.states("mail_request")) == 1


def test_find_by_card_digits_and_customer_then_page_back_with_older(make_register, app_clock, monkeypatch):
    monkeypatch.setattr("ui.screens.find_receipt.PAGE", 2)
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    paid = [sell(reg, PENCIL) for _ in range(3)]
    card = sell(reg, MILK, card="slip 0004242")
    member = sell(reg, BREAD, customer="K001")
    dialog = open_find(app)
    assert found(app) == [f"found:{member['seq']}", f"found:{card['seq']}"] and "found:older" in app.buttons()
    tap(app, "found:older")
    assert found(app)[-2:] == [f"found:{paid[2]['seq']}", f"found:{paid[1]['seq']}"]
    tap(app, "found:older")
    assert f"found:{paid[0]['seq']}" in found(app) and "found:older" not in app.buttons()
    assert [r.seq for r in dialog.results] == [5, 4, 3, 2, 1]

    tap(app, "find:card")
    for digit in "4242":
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert found(app) == [f"found:{card['seq']}"]
    tap(app, "find:card:clear")
    tap(app, "find:customer")
    for ch in "K001":
        tap(app, f"kbd:{ch}")
    tap(app, "kbd:ok")
    assert dialog.customer == "K001" and found(app) == [f"found:{member['seq']}"]
    tap(app, "find:customer:clear")
    tap(app, "find:day:yesterday")  # nothing sold yesterday
    assert found(app) == [] and dialog.day_choice == "yesterday"
    tap(app, "find:day:clear")  # any day, no other criterion: the register's words say what to give
    assert dialog.note == "Give a date, an amount, a card's last digits or a customer code."
    tap(app, "find:clear")
    assert dialog.day_choice == "today" and len(found(app)) == 2


@pytest.mark.parametrize("size", [(800, 480), (1280, 800)])
def test_every_button_of_the_new_dialogs_is_a_finger_wide_at(size, make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock, size=size)
    log_in(app)
    sell(reg, PENCIL)
    open_find(app)
    for opened in ("find", "found:1", "receipt:email"):
        if opened != "find":
            tap(app, opened)
        small = {k: (r.w, r.h) for k, r in app.buttons().items() if min(r.w, r.h) < 48}
        assert small == {}, opened
