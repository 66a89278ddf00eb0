"""Sell: the cart with totals, keypad entry (item number, quantity, weight, discount), quick keys, scan feedback.

Weighed goods: a weight typed with the decimal point (shown "0.730 kg") goes with the next quick key or
scan (weight, then item); a weighed item without one takes the scale's stable weight, or the register asks
for it and the weight dialog (`ui/screens/weight.py`) sends it (item, then weight). A weight outside the
bounds asks for a manager's PIN.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import pygame
from pygame import Rect

from firmware.domain.customers import Customer
from firmware.register.commands import (
    AddQuickKey,
    AddSku,
    BeginTender,
    DiscountCart,
    DiscountLine,
    Park,
    Scan,
    SetQty,
    VoidLine,
)
from firmware.register.view import AgeCheckWanted, WeightWanted
from ui import theme
from ui.layout import columns, grid, inset, rows
from ui.screens.base import Drag, Entry, Hot, Region, Screen
from ui.screens.cart import CartList
from ui.screens.weight import WEIGHT_KEYS, weight_key, weight_shown
from ui.text import wrap
from ui.widgets import Button, draw_panel, keypad, label, label_lines

FLASH_SECONDS = 0.8
QUICK_ROWS, QUICK_COLS = 4, 3


class SellScreen(Screen):
    name = "sell"

    def __init__(self, app: object) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.entry = Entry(limit=14)
        self.selected: int | None = None
        self.page = 0
        self._flash_rev = -1
        self._flash_at = -1e9
        self.customer: Any = None  # the customer the panel attached (ui/screens/customers.py): name and points

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        small = m.font("body")
        cart, mid, right = columns(inset(area, g), [0.39, 0.26, 0.35], g)  # quick keys wide enough for whole names
        # the message strip: one line, or two smaller ones for a longer warning (a stock warning names the item)
        self.r_msg, self.r_list, r_tot = rows(cart, [-m.px(42), 1, -m.px(112)], g)
        pad = max(3, m.px(4))  # rows are opaque surfaces: keep them off the panel's rounded corners
        self.cart = CartList(self, Rect(self.r_list.x + pad, self.r_list.y + pad, self.r_list.w - 2 * pad,
                                        self.r_list.h - pad))
        r_scroll, self.r_totals = columns(r_tot, [-max(48, m.px(52)), 1], g)
        up, down = rows(r_scroll, [1, 1], g)
        self.r_entry, r_pad, r_a1, r_a2 = rows(mid, [-m.px(50), 1, -m.row, -m.row], g)
        self.buttons = keypad(r_pad, g, self._key, m.font("big"), keys=WEIGHT_KEYS)  # "." for weights
        self.buttons += [Button("cart:up", up, "Up", lambda: self.cart.scroll(-1), "quiet", small),
                         Button("cart:down", down, "Down", lambda: self.cart.scroll(1), "quiet", small)]
        b_qty, b_pct, b_amt = columns(r_a1, [1, 1, 1], g)
        b_void, b_add = columns(r_a2, [1, 1.6], g)
        self.buttons += [
            Button("qty", b_qty, "Qty", self._qty, "normal", small),
            Button("disc_pct", b_pct, "Disc %", self._disc_pct, "normal", small),
            Button("disc_amt", b_amt, "Disc amt", self._disc_amt, "normal", small),
            Button("void", b_void, "Void", self._void, "danger", small),
            Button("add", b_add, "Add item no.", self._add, "normal", small),
        ]
        r_quick, r_f1, r_f2 = rows(right, [1, -m.row, -m.row], g)
        self._quick_buttons(r_quick)
        f_search, f_customer, f_park = columns(r_f1, [1, 1.15, 1], g)
        f_mgr, f_layby, f_pay = columns(r_f2, [1.25, 0.95, 1.3], g)  # "Manager" whole at 800x480
        self.buttons += [
            Button("search", f_search, "Search", self._search, "normal", small),
            Button("customer", f_customer, "Customer", self._customer, "normal", small),
            Button("park", f_park, "Park /\nRecall", self._park, "warn", small),
            Button("manager", f_mgr, "Manager", self._manager, "quiet", small),
            Button("layby", f_layby, "Layby", self._layby, "normal", small),  # ui/screens/layby.py
            Button("pay", f_pay, "PAY", self._pay, "primary", m.font("title")),
        ]

    def _quick_buttons(self, r: Rect) -> None:
        keys = list(self.reg.quick_keys())
        per = QUICK_ROWS * QUICK_COLS
        paged = len(keys) > per
        shown = per - 1 if paged else per
        pages = max(1, -(-len(keys) // shown))
        self.page %= pages
        start = self.page * shown
        cells = grid(r, QUICK_ROWS, QUICK_COLS, self.m.gap)
        for i, cell in enumerate(cells[:shown]):
            idx = start + i
            if idx >= len(keys):
                break
            k = keys[idx]
            price = self.app.money(k.price) + ("/kg" if getattr(k, "weighed", False) else "")
            self.buttons.append(Button(f"quick:{idx}", cell, f"{k.label}\n{price}",
                                       partial(self._quick, idx), "key", self.m.font("small")))
        if paged:
            self.buttons.append(Button("quick:more", cells[-1], f"More\n{self.page + 1}/{pages}", self._more, "quiet",
                                       self.m.font("small")))

    def on_enter(self) -> None:
        self.entry.text = ""
        self.selected = None

    def draw_static(self, surf: pygame.Surface) -> None:
        draw_panel(surf, self.r_list.union(self.r_totals))

    def regions(self) -> list[Region]:
        return [
            Region("sell.msg", self.r_msg, self._msg_key, self._draw_msg),
            Region("sell.cart", self.cart.rect, self._cart_key, self.cart.draw, self.cart.forget),
            Region("sell.totals", self.r_totals, lambda: (self.view.totals, self.view.customer_code, self.customer),
                   self._draw_totals),
            Region("sell.entry", self.r_entry, lambda: (self.entry.text, self.selected), self._draw_entry),
        ]

    def drags(self) -> list[Drag]:
        return self.cart.drags()

    def toast_area(self) -> Rect:
        """Toasts go over the cart, never over the keys (`ui.toast`)."""
        return self.r_list

    # ---- regions -----------------------------------------------------------------------------
    def flashing(self) -> bool:
        v = self.view
        if v.flash_line is None:
            return False
        if v.revision != self._flash_rev:
            self._flash_rev, self._flash_at = v.revision, self.app.clock.monotonic()
        return self.app.clock.monotonic() - self._flash_at < FLASH_SECONDS

    def _cart_key(self) -> object:
        return (self.view.lines, self.selected, self.cart.offset, self.view.flash_line, self.flashing())

    def _msg_key(self) -> object:
        return self.view.message, self.view.held_back

    def held_back_shown(self) -> str:
        """The note on promotions the till's clock holds back ("Clock not set: no Happy hour -20%"), shown in the
        message strip unless an error or warning is there; "" when nothing is held back (or it is hidden)."""
        msg, held = self.view.message, self.view.held_back
        if not held or (msg is not None and msg.text and msg.level in ("error", "warn")):
            return ""
        return f"Clock not set: no {', '.join(held)}"

    def _held_back_told(self) -> None:
        """A tap on the note: the whole sentence (the strip may have cut the names short)."""
        self.app.alert(self.view.held_back_note, "Promotions")

    def _draw_msg(self, surf: pygame.Surface, r: Rect) -> None:
        msg = self.view.message
        note = self.held_back_shown()
        self.set_hot("sell.msg", [Hot(r, self._held_back_told, "promotions:held_back")] if note else [])
        if note:  # a note of its own: it stays while the cart has such promotions (the scanned line still flashes)
            label(surf, note, (r.x + 6, r.centery), self.m.font("body"), theme.WARN, "midleft", r.w - 12)
            return
        if msg is None or not msg.text:
            label(surf, "Scan an item, or type its number", r.midleft, self.m.font("body"), theme.MUTED, "midleft", r.w)
            return
        color = {"error": theme.ERROR, "warn": theme.WARN}.get(msg.level, theme.OK)
        if msg.level == "error":
            pygame.draw.rect(surf, theme.ERROR_FILL, r, border_radius=4)
            color = theme.TEXT
        if len(wrap(msg.text, self.m.font("body"), r.w - 12)) > 1:  # a longer one: two smaller lines
            small = self.m.font("small")
            label_lines(surf, msg.text, (r.x + 6, r.centery - (2 * small + 2) // 2), small, color, r.w - 12,
                        max_lines=2)
            return
        label(surf, msg.text, (r.x + 6, r.centery), self.m.font("body"), color, "midleft", r.w - 12)

    def _draw_totals(self, surf: pygame.Surface, r: Rect) -> None:
        t, m = self.view.totals, self.m
        small, big = m.font("body"), m.font("big")
        y = r.y + m.px(4)
        for name, amount in (("Subtotal", t.subtotal), ("Tax", t.tax)):
            label(surf, name, (r.x + 6, y), small, theme.MUTED)
            label(surf, self.app.money(amount), (r.right - 8, y), small, theme.MUTED, "topright")
            y += small + m.px(4)
        if self.view.customer_code:
            label(surf, self._customer_words(), (r.x + 6, y), small, theme.MUTED, width=r.w - 12)
        label(surf, "TOTAL", (r.x + 6, r.bottom - m.px(6)), m.font("label"), theme.ACCENT, "bottomleft")
        label(surf, self.app.money(t.total), (r.right - 8, r.bottom - m.px(4)), big, theme.ACCENT, "bottomright")

    def _draw_entry(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        self.set_hot("sell.entry", [Hot(r, self._clear, "entry:clear")] if self.entry.text else [])
        target = f"line {self.selected}" if self.selected else ""
        if target:
            label(surf, target, (r.x + 6, r.y + 4), self.m.font("small"), theme.ACCENT)
        if self.entry.text:
            text = weight_shown(self.entry.text) if self._weight_typed() else self.entry.text
            label(surf, text, (r.right - 8, r.centery), self.m.font("big"), theme.TEXT, "midright", r.w - 12)
        else:
            label(surf, "number or weight", (r.right - 8, r.centery), self.m.font("body"), theme.MUTED, "midright")

    # ---- actions -----------------------------------------------------------------------------
    def select(self, line_no: int) -> None:
        self.selected = None if self.selected == line_no else line_no

    def _key(self, k: str) -> None:
        if k in (".", ",") or self._weight_typed():
            self.entry.text = weight_key(self.entry.text, k, self.entry.limit)
        else:
            self.entry.key(k)

    def _clear(self) -> None:
        self.entry.text = ""

    def _weight_typed(self) -> bool:
        """The entry holds a weight: it has the decimal point ("0.730" reads "0.730 kg")."""
        return "." in self.entry.text

    def _sell(self, command: Any) -> bool:
        """Add an item: a weighed one without a weight opens the weight dialog, one outside the bounds asks for a
        manager's PIN; anything else refused is said as usual."""
        outcome = self.app.run(command, quiet=True)
        if outcome.ok:
            if isinstance(outcome.data, Customer):  # a loyalty card scanned (docs/customers.md): shown by name
                self.customer = outcome.data
            self.entry.text = ""
            self.selected = None
            self.cart.follow()
            return True
        if isinstance(outcome.data, WeightWanted):
            from ui.screens.weight import WeightDialog

            self.entry.text = ""
            self.app.push(WeightDialog(self.app, outcome.data, self._sell))
        elif isinstance(outcome.data, AgeCheckWanted):  # docs/item-prompts.md: ask, then send it again answered
            from ui.screens.age import ask_age

            self.entry.text = ""
            again = getattr(command, "age", None) is not None  # answered, but the date of birth was not a date
            self.app.push(ask_age(self.app, outcome.data, self._sell, outcome.message if again else ""))
        elif "manager" in outcome.message.lower() and getattr(command, "manager_pin", "") is None:
            from ui.screens.dialogs import ask_manager_pin

            def approved(pin: str) -> None:
                self._sell(dataclasses.replace(command, manager_pin=pin))

            ask_manager_pin(self.app, approved, outcome.message)
        else:
            self.app.complain(outcome.message or "That did not work.", scan=isinstance(command, Scan))
        return False

    def _target_line(self) -> int | None:
        if self.selected is not None:
            return self.selected
        live = [ln.line_no for ln in self.view.lines if not ln.voided]
        return live[-1] if live else None

    def _take(self, what: str) -> int | None:
        value = self.entry.value()
        if value is None:
            self.app.alert(f"Type the {what} on the keypad first, then press the button.")
        return value

    def _add(self) -> None:
        if not self.entry.text or self._weight_typed():
            self.app.alert("Type the item number on the keypad first, or scan it.")
            return
        self._sell(AddSku(self.entry.text))

    def _qty(self) -> None:
        line = self._target_line()
        weighed = any(ln.line_no == line and ln.qty_text.endswith(" kg") for ln in self.view.lines)
        qty: object = self.entry.text if (weighed or self._weight_typed()) and self.entry.text else None
        if qty is None:
            qty = self._take("new weight in kg" if weighed else "new quantity")
        if qty is None:
            return
        if line is None:
            self.app.alert("The cart is empty.")
            return
        if self._sell(SetQty(line, qty)):
            self.selected = line

    def _disc_pct(self) -> None:
        pct = self._take("discount in percent")
        if pct is not None:
            self._discount(percent=pct)

    def _disc_amt(self) -> None:
        """The discount as money in currency units, as the tender keypad takes it: "1.5" is 1.50, never cents."""
        from firmware.domain.errors import DomainError
        from firmware.domain.money import parse_money

        try:
            amount = parse_money(self.entry.text, self.view.currency) if self.entry.text else None
        except DomainError:
            amount = None
        if amount is None:
            self.app.alert(f"Type the discount as money on the keypad first (e.g. 1.50 for {self.app.money(150)}), "
                           "then press the button.")
            return
        self._discount(amount=amount)

    def _discount(self, percent: int | None = None, amount: int | None = None) -> None:
        if self.selected is not None:
            ok = self.app.run_approved(DiscountLine(self.selected, percent=percent, amount=amount))
        else:
            ok = self.app.run_approved(DiscountCart(percent=percent, amount=amount))
        if ok:
            self.entry.text = ""

    def _void(self) -> None:
        line = self._target_line()
        if line is None:
            self.app.alert("The cart is empty.")
            return
        self.app.run_approved(VoidLine(line))
        self.selected = None

    def _quick(self, idx: int) -> None:
        keys = self.reg.quick_keys()
        weighed = 0 <= idx < len(keys) and getattr(keys[idx], "weighed", False)
        typed = self.entry.text if self.entry.text and (weighed or self._weight_typed()) else None
        self._sell(AddQuickKey(idx, weight=typed))  # weight, then item; none: the scale's, or the dialog asks

    def _more(self) -> None:
        self.page += 1
        self.app.relayout()

    def _customer_words(self) -> str:
        """The attached customer: their name and points when the panel picked them, else the code on the sale."""
        from ui.screens.customers import customer_of, points_words, sale_key

        code, customer = self.view.customer_code, self.customer
        if (customer is None or sale_key(customer) != code) and code:
            customer = self.customer = customer_of(self.app, code)  # a card off the serial scanner: by its number
        if customer is None or sale_key(customer) != code:
            return f"Customer {code}"
        points = points_words(self.app, customer)  # type: ignore[arg-type]
        return f"{customer.name} · {points}" if points else customer.name

    def _customer(self) -> None:
        from ui.screens.customers import CustomerDialog

        self.app.push(CustomerDialog(self.app))  # type: ignore[arg-type]

    def _layby(self) -> None:
        from ui.screens.layby import LaybyDialog

        self.app.push(LaybyDialog(self.app))  # type: ignore[arg-type]

    def _search(self) -> None:
        from ui.screens.search import SearchDialog

        self.app.push(SearchDialog(self.app))

    def _park(self) -> None:
        if not any(not ln.voided for ln in self.view.lines):
            from ui.screens.recall import RecallDialog  # an empty cart: bring a parked one back (own carts, no PIN)

            self.app.push(RecallDialog(self.app))
            return
        if self.app.run(Park()).ok:
            self.selected = None

    def _manager(self) -> None:
        self.app.open_manager_gate()

    def _pay(self) -> None:
        if not any(not ln.voided for ln in self.view.lines):
            self.app.alert("The cart is empty: scan or add an item first.")
            return
        self.app.run(BeginTender())

    def on_scan(self, code: str) -> None:
        self._sell(Scan(code, weight=self.entry.text if self._weight_typed() else None))

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self._add()
        elif key == pygame.K_BACKSPACE:
            self._key("<")
        elif key == pygame.K_ESCAPE:
            self.entry.text, self.selected = "", None
        elif char.isdigit() or char in (".", ","):
            self._key(char)
        elif char.isalpha():
            from ui.screens.search import SearchDialog

            self.app.push(SearchDialog(self.app, char))
        else:
            return False
        return True

