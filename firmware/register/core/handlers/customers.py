"""Customers on the till (docs/customers.md#on-the-till): find them, create and edit them offline.

`FindCustomers` answers at once through `Outcome.data` (the book's search is a few milliseconds at 100 000
customers). `SaveCustomer` drafts the edit on the book (the domain's rules refuse in the cashier's words) and asks
the shell to record it (`RecordCustomerEdit`: appended and fsync'ed before the command returns); attaching the
customer to the sale is `SetCustomer(code)`.
"""

from __future__ import annotations

from firmware.clock import iso_utc
from firmware.domain.customers import FIELDS, apply_edit
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.context import CustomerReader
from firmware.register.core.step import Refusal, Step
from firmware.register.view import Outcome


def _book(step: Step) -> CustomerReader:
    step.require_clerk()
    if step.ctx.customers is None:
        raise Refusal("Customers are not available on this register")
    return step.ctx.customers


def find_customers(step: Step, cmd: c.FindCustomers) -> Outcome:
    book = _book(step)
    if not isinstance(cmd.text, str) or isinstance(cmd.limit, bool) or not isinstance(cmd.limit, int):
        raise Refusal("Type a name, a phone number or a card number")
    found = tuple(book.search(cmd.text, max(0, min(cmd.limit, 100))))
    return Outcome(True, "", found)  # no words: a search as the cashier types leaves the sale's message alone


def save_customer(step: Step, cmd: c.SaveCustomer) -> Outcome:
    book = _book(step)
    fields = dict(cmd.fields)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise Refusal(f"Unknown customer field {unknown[0]}")
    edit = book.draft(cmd.customer_id, fields, iso_utc(step.ctx.now))  # Refused in the cashier's words
    customer = apply_edit(None if edit.create else book.get(edit.customer_id), edit)
    step.do(fx.RecordCustomerEdit(edit))
    return Outcome(True, "Customer added" if edit.create else "Customer saved", customer)


def card_scan(step: Step, code: str) -> Outcome | None:
    """A scan on the sale that is no item (an item's code always wins): a loyalty card? One customer holding it is
    attached to the sale, named in the message; several (a card handed out twice, docs/customers.md) are listed
    by the panel (`card_scan` of the view) for the cashier to pick. None when no customer holds it."""
    book = step.ctx.customers
    if book is None or step.state.clerk is None or not code.strip():
        return None
    holders = book.by_code(code)
    if not holders:
        return None
    if len(holders) == 1:
        from firmware.register.core.handlers import sale

        customer = holders[0]
        sale.set_customer(step, c.SetCustomer(customer.code))
        return Outcome(True, f"Customer {customer.name} added to the sale", customer)
    count = step.state.card_scan[0] + 1 if step.state.card_scan else 1
    step.set(card_scan=(count, holders[0].code))
    return Outcome(True, f"{len(holders)} customers have card {holders[0].code}: pick one", tuple(holders))
