"""The customer panel on the real register, by touch (ui/screens/customers.py): sell screen -> Customer; a new
customer typed on the on-screen keyboards with a consent toggle, saved offline; found again by name and by phone
digits (shown masked); edited; picked onto the sale (the sell screen shows the name); a loyalty card scanned on a
keyboard wedge while the panel is up picks its customer."""

from __future__ import annotations

import pytest

from firmware.register.commands import FindCustomers, SaveCustomer
from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, start, tap
from ui.screens.customers import CustomerDialog, CustomerForm, masked_phone

pytestmark = pytest.mark.slow


def type_on(app, text: str) -> None:
    for ch in text:
        tap(app, "kbd:space" if ch == " " else f"kbd:{ch}")


def test_create_find_edit_and_attach_a_customer_by_touch(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    assert reg.scan(PENCIL).ok
    app.step([])
    tap(app, "customer")
    panel = app.dialogs[-1]
    assert isinstance(panel, CustomerDialog)
    type_on(app, "anna")
    assert panel.results() == ()
    tap(app, "customers:new")
    form = app.dialogs[-1]
    assert isinstance(form, CustomerForm) and form.values["name"] == "Anna"  # the search starts the form
    tap(app, "form:name")
    tap(app, "kbd:clear")
    type_on(app, "anna schmidt")
    tap(app, "kbd:ok")
    assert form.values["name"] == "Anna Schmidt"  # each word capitalised as typed
    tap(app, "form:phone")
    type_on(app, "+49 151 2345678")
    tap(app, "kbd:ok")
    tap(app, "form:code")
    type_on(app, "CARD1001")
    tap(app, "kbd:ok")
    tap(app, "form:consent_email")
    assert form.values["consent_email"] is True
    tap(app, "form:save")
    assert app.dialogs[-1] is panel and panel.text == "Anna Schmidt"
    anna = panel.results()[0]
    assert (anna.name, anna.code, anna.phone, anna.consent_email) == ("Anna Schmidt", "CARD1001", "+49 151 2345678",
                                                                      True)
    tap(app, "kbd:clear")
    type_on(app, "2345678")
    assert [c.customer_id for c in panel.results()] == [anna.customer_id]
    assert masked_phone(anna.phone) == "•••678"

    app.step([])
    tap(app, f"customer-edit:{anna.customer_id}")  # each result row: pick it, or Edit
    assert isinstance(app.dialogs[-1], CustomerForm)
    tap(app, "form:consent_sms")
    tap(app, "form:save")
    assert reg.handle(FindCustomers("CARD1001")).data[0].consent_sms is True
    app.step([])
    tap(app, f"customer:{anna.customer_id}")
    assert not app.dialogs and reg.view().customer_code == "CARD1001"
    assert app.screens["sell"]._customer_words() == "Anna Schmidt · 0 points"  # loyalty is set up in the demo


def test_a_card_scanned_while_the_panel_is_up_picks_its_customer(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    assert reg.handle(SaveCustomer((("name", "Ben Otto"), ("code", "LOY42424")))).ok
    tap(app, "customer")
    assert isinstance(app.dialogs[-1], CustomerDialog)
    scan_with_wedge(app, "LOY42424")
    assert not app.dialogs and reg.view().customer_code == "LOY42424"


def test_a_refused_save_says_why_and_keeps_the_form(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    tap(app, "customer")
    tap(app, "customers:new")
    form = app.dialogs[-1]
    tap(app, "form:save")  # no name
    assert app.dialogs[-1] is form and form.error
