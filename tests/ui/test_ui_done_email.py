"""E-mail receipt from the done screen (docs/digital-receipts.md): right after the sale, the cashier (no manager PIN)
taps E-mail receipt, types the address on the e-mail keyboard, and the request is journaled, offline; a bad address
is refused in words in the dialog, and nothing is journaled for it."""

from __future__ import annotations

import pytest

from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, settle, start, tap
from ui.screens.text_entry import TextEntryDialog


def type_on(app, text: str) -> None:
    for ch in text:
        tap(app, f"kbd:{ch}")


@pytest.mark.slow
def test_the_cashier_e_mails_the_receipt_just_sold_from_the_done_screen(make_register, app_clock, tmp_path):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)  # Anna, a cashier
    scan_with_wedge(app, PENCIL)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    receipt_id = app.view.last_receipt.receipt_id
    seq = receipt_id.rsplit(":", 1)[1]

    tap(app, "email_receipt")
    mail = app.dialogs[-1]
    assert isinstance(mail, TextEntryDialog) and mail.title == f"E-mail receipt #{seq} to"
    assert mail.said() == ("hint", "name@example.com")
    type_on(app, "anna@example")
    assert mail.said() == ("error", "The part after the @ is not a valid domain (name@example.com).")
    tap(app, "kbd:ok")  # refused in the dialog, the register is not asked
    assert app.dialogs[-1] is mail and reg.journal.states("mail_request") == {}
    tap(app, "kbd:.com")
    app.save(tmp_path / "done-email-typed.png")
    tap(app, "kbd:ok")
    assert not app.dialogs and app.wanted() == "done"  # back on the done screen, no PIN asked on the way
    toast = app.toasts.current
    assert toast.title == "E-mail queued"
    assert f"Receipt #{seq} will be e-mailed to anna@example.com once the register is back online." in toast.text
    app.save(tmp_path / "done-email-queued.png")
    reg.wait_idle()
    [request] = reg.journal.states("mail_request").values()
    assert (request["receipt_id"], request["address"], request["clerk_id"]) == (receipt_id, "anna@example.com", "c1")

    tap(app, "email_receipt")  # the same address again: the register's words in the dialog, which stays up
    type_on(app, "anna@example")
    tap(app, "kbd:.com")
    tap(app, "kbd:ok")
    assert app.dialogs[-1].said() == ("error", f"Receipt #{seq} is already on its way to anna@example.com.")
    tap(app, "kbd:cancel")
    assert not app.dialogs
    tap(app, "new_sale")
    settle(app, lambda: app.view.phase != "done")
    reg.wait_idle()
    assert len(reg.journal.states("mail_request")) == 1
