"""The customer panel (docs/customers.md#on-the-till), opened by "Customer" on the sell screen.

Find: a search field on an on-screen keyboard (name, phone digits or card number, answered at once by
`FindCustomers`), the results (name, card number, phone masked to its last digits); tapping one attaches it to the
sale (`SetCustomer`), its "Edit" opens the form. A loyalty card scanned while the panel is up picks its customer.
"New customer" and "Edit" open `CustomerForm`: each field is a button that opens the text entry
(`ui/screens/text_entry.py`), the two consent flags are toggles, Save sends `SaveCustomer` (created or edited
offline; the register refuses in the cashier's words).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.domain.customers import Customer, check_field, normalize_code
from firmware.domain.errors import Refused
from firmware.register.commands import FindCustomers, SaveCustomer, SetCustomer
from firmware.register.view import AccountKind
from ui import theme
from ui.keyboard import EMAIL, KeyLayout, keyboard, keyboard_height
from ui.layout import columns, rows
from ui.screens.base import Hot, Region
from ui.screens.dialogs import Dialog
from ui.screens.text_entry import TextEntryDialog
from ui.widgets import Button, draw_button, draw_panel, label

if TYPE_CHECKING:
    from ui.app import App

NAME_KEYS = KeyLayout(("1234567890", "qwertyuiop", "asdfghjkl'", "zxcvbnm.-"), (" ",))
CODE_KEYS = KeyLayout(("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"))
PHONE_KEYS = KeyLayout(("12345", "67890"), ("+", " ", "-", "/"))
SHOWN = 4  # results listed at once (the best first)


def masked_phone(phone: str, keep: int = 3) -> str:
    """A phone number as the screen shows it to anyone looking on: only its last digits ("•••678")."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "" if not digits else "•••" + digits[-keep:]


def sale_key(customer: Customer) -> str:
    """What the sale records for the customer (`SetCustomer`): the card number, else the customer's id."""
    return customer.code or customer.customer_id


def customer_of(app: App, code: str) -> Customer | None:
    """The one customer the book holds under a sale's customer code (card number or id), else None; asked once
    per code (kept on the app: screens draw it often, and asking the register is a command)."""
    known: dict[str, Customer | None] = app.__dict__.setdefault("_customers_by_code", {})
    if code not in known:
        if len(known) >= 256:
            known.clear()
        found = app.register.handle(FindCustomers(code, limit=2))
        matches = [c for c in (found.data or ()) if sale_key(c) == code] if found.ok else []
        known[code] = matches[0] if len(matches) == 1 else None
    return known[code]


def customer_words(app: App, code: str) -> str:
    """How a screen names a sale's customer: their name when the book knows the code, else "Customer <code>"."""
    customer = customer_of(app, code)
    return customer.name if customer is not None else f"Customer {code}"


def points_words(app: App, customer: Customer) -> str:
    """"120 points" when loyalty knows the customer, else ""."""
    try:
        balance = app.register.account_balance(AccountKind.POINTS, sale_key(customer))
    except Exception:  # the panel must not fail for a balance
        return ""
    return f"{balance.balance} points" if balance.ok else ""


class CustomerDialog(Dialog):
    """Find a customer and attach them to the sale; "New customer" and "Edit" open the form."""

    name = "customers"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: App, text: str = "") -> None:
        super().__init__(app)
        self.text = text
        self._cache: tuple[str, tuple[Customer, ...], str] = ("\0", (), "")

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        key_h = max(theme.MIN_BUTTON, m.px(44))
        n_rows = len(NAME_KEYS.rows) + 1
        self.r_field, self.r_results, r_keys = rows(
            self.inner, [-max(theme.MIN_BUTTON, m.px(44)), 1, -keyboard_height(n_rows, key_h, g)], g)
        size = m.font("label")
        tail = [Button("customers:close", Rect(0, 0, 0, 0), "Close", self.close, "quiet", size),
                Button("customers:new", Rect(0, 0, 0, 0), "New\ncustomer", self.new, "normal", m.font("body"))]
        self.buttons = keyboard(r_keys, g, NAME_KEYS, self.type, self.edit, size, tail, (1.2, 1.6))

    # ---- what is shown -----------------------------------------------------------------------
    def results(self) -> tuple[Customer, ...]:
        if self._cache[0] != self.text:
            found: tuple[Customer, ...] = ()
            said = ""
            if self.text.strip():
                out = self.app.run(FindCustomers(self.text.strip(), limit=SHOWN), quiet=True)
                found = tuple(out.data or ()) if out.ok else ()
                said = out.message
            self._cache = (self.text, found, said)
        return self._cache[1]

    def regions(self) -> list[Region]:
        return [Region("customers.field", self.r_field, lambda: self.text, self._draw_field),
                Region("customers.results", self.r_results, lambda: (self.text, self._cache[1]),
                       self._draw_results)]

    def _draw_field(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        pad = self.m.px(8)
        if self.text:
            label(surf, self.text + "_", (r.x + pad, r.centery), self.m.font("big"), theme.TEXT, "midleft",
                  r.w - 2 * pad)
        else:
            label(surf, "Name, phone or card number — or scan the card", (r.x + pad, r.centery),
                  self.m.font("label"), theme.MUTED, "midleft", r.w - 2 * pad)

    def _draw_results(self, surf: pygame.Surface, r: Rect) -> None:
        found = self.results()
        g = self.m.gap
        n = max(1, min(SHOWN, (r.h + g) // (theme.MIN_BUTTON + g)))
        cells = rows(r, [1] * n, g) if n > 1 else columns(r, [1, 1], g)  # one row of room: two results side by side
        hots = []
        body = self.m.font("body")
        for cell, customer in zip(cells, found, strict=False):
            pick, edit = columns(cell, [1, -max(theme.MIN_BUTTON + 24, self.m.px(90))], g)
            details = "  ".join(x for x in (customer.code, masked_phone(customer.phone)) if x)
            draw_button(surf, pick, f"{customer.name}   {details}".strip(), "normal", body)
            draw_button(surf, edit, "Edit", "quiet", body)
            key = customer.customer_id
            hots += [Hot(pick, partial(self.pick, customer), f"customer:{key}"),
                     Hot(edit, partial(self.edit_customer, customer), f"customer-edit:{key}")]
        if self.text.strip() and not found:
            label(surf, self._cache[2] or "No customer found", r.center, self.m.font("label"), theme.WARN, "center",
                  r.w - 8)
        elif not self.text.strip():
            attached = self.view.customer_code
            words = f"On this sale: {attached}" if attached else "No customer on this sale"
            label(surf, words, r.center, self.m.font("label"), theme.MUTED, "center", r.w - 8)
        self.set_hot("results", hots)

    # ---- typing and picking ------------------------------------------------------------------
    def type(self, key: str) -> None:
        if len(self.text) < 40:
            self.text += key

    def edit(self, k: str) -> None:
        self.text = "" if k == "C" else self.text[:-1]

    def pick(self, customer: Customer) -> None:
        if self.app.run(SetCustomer(sale_key(customer))).ok:
            remember(self.app, customer)
            self.close()

    def new(self) -> None:
        fields: dict[str, str | bool] = {}
        if self.text.strip():  # what was searched for starts the form: a name, a phone or a card number
            text = self.text.strip()
            if not any(ch.isalpha() for ch in text):
                kind = "phone"
            elif not any(ch.isdigit() for ch in text):
                kind = "name"
            else:
                kind = "code"
            fields[kind] = capitalised(text) if kind == "name" else text
        self.app.push(CustomerForm(self.app, None, fields, on_saved=self._saved))

    def edit_customer(self, customer: Customer) -> None:
        self.app.push(CustomerForm(self.app, customer, on_saved=self._saved))

    def _saved(self, customer: Customer) -> None:
        self.text = customer.name
        self._cache = ("\0", (), "")

    def on_key(self, key: int, char: str) -> bool:
        if key == pygame.K_ESCAPE:
            self.close()
        elif key == pygame.K_BACKSPACE:
            self.edit("<")
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            found = self.results()
            if len(found) == 1:
                self.pick(found[0])
        elif char and char.isprintable():
            self.type(char)
        else:
            return False
        return True

    def on_scan(self, code: str) -> None:
        """A loyalty card: its customer is picked (several holding the code: they are listed, the cashier picks)."""
        wanted = normalize_code(code)
        self.text = code.strip()
        found = [c for c in self.results() if c.code == wanted and wanted]
        if len(found) == 1:
            self.pick(found[0])
        elif not found:
            self.app.tone.error()


def remember(app: App, customer: Customer) -> None:
    """The sell screen shows the attached customer's name (and points); it keeps the one the panel picked."""
    sell = app.screens.get("sell")
    if sell is not None:
        sell.customer = customer  # type: ignore[attr-defined]


WORD_STARTS = " -'."


def capitalised(text: str) -> str:
    """Each word's first letter in capitals, the rest as typed ("anna-lena o'brien" -> "Anna-Lena O'Brien")."""
    return "".join(ch.upper() if ch.isalpha() and (i == 0 or text[i - 1] in WORD_STARTS) else ch
                   for i, ch in enumerate(text))


class NameEntry(TextEntryDialog):
    """A name on the lower-case keyboard: each word's first letter is capitalised as it is typed."""

    def type(self, key: str) -> None:
        if key.isalpha() and (not self.text or self.text[-1] in WORD_STARTS):
            key = key.upper()
        super().type(key)


def field_check(field: str) -> Callable[[str], str | None]:
    """The domain's rule for `field`, said live under the text entry (an empty optional field is fine)."""
    def check(text: str) -> str | None:
        if not text.strip() and field != "name":
            return None
        try:
            check_field(field, text)
        except Refused as exc:
            return str(exc)
        return None
    return check


FIELD_TITLES = {"name": "Name", "code": "Card number", "phone": "Phone", "email": "E-mail"}


class CustomerForm(Dialog):
    """A new customer, or one to edit: the four text fields as buttons (each opens the text entry), the consent
    toggles, Save and Cancel."""

    escape_closes = True

    name = "customer_form"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: App, customer: Customer | None, fields: dict[str, str | bool] | None = None, *,
                 on_saved: object = None) -> None:
        super().__init__(app)
        self.customer = customer
        self.values: dict[str, str | bool] = {f: (customer.get(f) if customer else ("" if f in FIELD_TITLES
                                                                                     else False))
                                              for f in (*FIELD_TITLES, "consent_email", "consent_sms")}
        self.values.update(fields or {})
        self.on_saved = on_saved
        self.error = ""

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, r_fields, r_toggles, self.r_error, r_btns = rows(
            self.inner, [-m.px(34), 1, -m.row, -m.px(30), -m.row], g)
        size = m.font("body")
        field_rows = rows(r_fields, [1, 1], g)
        cells = [c for row in field_rows for c in columns(row, [1, 1], g)]
        self.buttons = []
        for (f, title), cell in zip(FIELD_TITLES.items(), cells, strict=True):
            self.buttons.append(Button(f"form:{f}", cell, self._field_label(f, title), partial(self.ask, f),
                                       "key", size))
        t_mail, t_sms = columns(r_toggles, [1, 1], g)
        for f, cell, words in (("consent_email", t_mail, "E-mail offers"), ("consent_sms", t_sms, "SMS offers")):
            on = bool(self.values[f])
            self.buttons.append(Button(f"form:{f}", cell, f"{'☑' if on else '☐'} {words}: {'yes' if on else 'no'}",
                                       partial(self.toggle, f), "primary" if on else "quiet", size))
        cancel, save = columns(r_btns, [1, 1.3], g)
        self.buttons += [Button("form:cancel", cancel, "Cancel", self.close, "quiet", m.font("label")),
                         Button("form:save", save, "Save", self.save, "primary", m.font("label"))]

    def _field_label(self, field: str, title: str) -> str:
        value = str(self.values[field])
        return f"{title}\n{value}" if value else f"{title}\n—"

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        title = f"Edit {self.customer.name}" if self.customer else "New customer"
        label(surf, title, self.r_title.midleft, self.m.font("title"), theme.ACCENT, "midleft", self.r_title.w)

    def regions(self) -> list[Region]:
        return [Region("form.error", self.r_error, lambda: self.error, self._draw_error)]

    def _draw_error(self, surf: pygame.Surface, r: Rect) -> None:
        if self.error:
            label(surf, self.error, (r.x + 4, r.centery), self.m.font("body"), theme.ERROR, "midleft", r.w - 8)

    def _relayout(self) -> None:
        self.layout(self.area)
        self.app.redraw()

    def ask(self, field: str) -> None:
        def done(text: str) -> None:
            self.values[field] = text
            self.error = ""
            self._relayout()

        title = FIELD_TITLES[field]
        current = str(self.values[field])
        if field == "name":
            self.app.push(NameEntry(self.app, title, done, layout=NAME_KEYS, hint="First and last name",
                                    check=field_check(field),
                                    limit=100, text=current))
        elif field == "code":
            self.app.push(TextEntryDialog(self.app, title, done, layout=CODE_KEYS, hint="Type or scan the card",
                                          check=field_check(field),
                                          limit=32, text=current, scan_fills=True))
        elif field == "phone":
            self.app.push(TextEntryDialog(self.app, title, done, layout=PHONE_KEYS, hint="+49 151 2345678",
                                          check=field_check(field),
                                          limit=24, text=current))
        else:
            self.app.push(TextEntryDialog(self.app, title, done, layout=EMAIL, hint="name@example.com",
                                          check=field_check(field),
                                          limit=254, text=current))

    def toggle(self, field: str) -> None:
        self.values[field] = not self.values[field]
        self._relayout()

    def save(self) -> None:
        if self.customer is None:
            changes = {f: v for f, v in self.values.items() if v not in ("", False)}
        else:
            changes = {f: v for f, v in self.values.items() if self.customer.get(f) != v}
            if not changes:
                self.close()
                return
        out = self.app.run(SaveCustomer(tuple(changes.items()), self.customer.customer_id if self.customer else ""),
                           quiet=True)
        if not out.ok:
            self.error = out.message
            return
        self.app.__dict__.pop("_customers_by_code", None)  # names by card number (customer_of) are asked again
        self.close()
        if callable(self.on_saved) and isinstance(out.data, Customer):
            self.on_saved(out.data)
        self.app.toast(out.message)

    def on_scan(self, code: str) -> None:
        """A card scanned on the form is the customer's card number."""
        self.values["code"] = code.strip()[:32]
        self._relayout()


__all__ = ["CustomerDialog", "CustomerForm", "masked_phone"]
