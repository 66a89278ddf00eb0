"""What a printed receipt says: the receipt laid out as the printer's blocks, money formatted by the domain.

The printer (hal.printer) takes finished blocks of text and codes, as
python-escpos takes text; the money in them is formatted here with the one
currency table (firmware.domain.money), so the paper and the screen never
disagree on a currency's digits.
"""

from __future__ import annotations

import copy as copying
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from firmware.domain.money import format_money
from hal.layout import Block, Text, centred, code_for, paired, rule, wrapped
from hal.ports import Printer

__all__ = ["print_receipt", "receipt_blocks"]


def print_receipt(printer: Printer, receipt: Mapping[str, Any], header: Sequence[str], *, copy: bool = False,
                  currency: str | None = None) -> str:
    """Queue `receipt` on `printer`; returns the job id at once (the layout runs on the printer's worker)."""
    receipt = copying.deepcopy(dict(receipt))  # laid out later, on the worker: the caller's dict may change by then
    receipt_id = receipt.get("receipt_id")
    header = tuple(str(line) for line in header)
    columns = printer.columns
    title = f"{'copy of ' if copy else ''}receipt {receipt_id or '?'}"
    return printer.print_blocks(lambda: receipt_blocks(receipt, header, columns, copy, currency), title=title,
                                receipt_id=receipt_id)


def receipt_blocks(receipt: Mapping[str, Any], header: Sequence[str], columns: int, copy: bool = False,
                   currency: str | None = None) -> list[Block]:
    """Lay out a contract receipt. Missing optional fields are skipped: a committed sale always prints."""
    cur = str(receipt.get("currency") or currency or "EUR")

    def money(amount: Any) -> str:
        return format_money(int(amount), cur)

    out: list[Block] = []
    add = out.extend
    for index, line in enumerate(header):
        add(centred(str(line), columns, bold=index == 0, tall=index == 0))
    add([rule(columns)])
    kind = receipt.get("kind", "sale")
    if kind == "refund":
        add(centred("REFUND", columns, bold=True, tall=True))
        if receipt.get("refund_of"):
            add(centred(f"of {receipt['refund_of']}", columns))
    elif kind == "no_sale":
        add(centred("NO SALE", columns, bold=True, tall=True))
    if copy:
        add(centred("*** COPY ***", columns, bold=True))
    if receipt.get("offline"):
        add(centred("OFFLINE", columns, bold=True))
    for line in receipt.get("lines", ()):
        add(_line(line, columns, money))
    for discount in receipt.get("discounts", ()) or ():
        label = str(discount.get("label") or "Discount")
        add(paired(label, money(-abs(int(discount.get("amount", 0)))), columns))
    totals = receipt.get("totals") or {}
    if receipt.get("lines"):
        add([rule(columns)])
    if "subtotal" in totals:
        add(paired("Subtotal", money(totals["subtotal"]), columns))
    for tax in receipt.get("taxes", ()) or ():
        label = f"Tax {tax.get('tax_code', '')} {tax.get('rate', '')}%".replace("  ", " ")
        if "net" in tax:
            label += f" of {money(tax['net'])}"
        add(paired(label, money(tax.get("tax", 0)), columns))
    if totals.get("rounding"):
        add(paired("Rounding", money(totals["rounding"]), columns))
    if "total" in totals:
        add(paired(f"TOTAL {cur}", money(totals["total"]), columns, bold=True, tall=True))
    for tender in receipt.get("tenders", ()) or ():
        kind_name = str(tender.get("type", "tender")).replace("_", " ").capitalize()
        if tender.get("reference"):
            kind_name += f" {tender['reference']}"
        add(paired(kind_name, money(tender.get("amount", 0)), columns))
        if tender.get("change"):
            add(paired("Change", money(tender["change"]), columns, bold=True))
    add([rule(columns)])
    clerk = receipt.get("clerk_name") or receipt.get("clerk_id")
    if clerk:
        add(wrapped(f"Clerk: {clerk}", columns))
    if receipt.get("customer_code"):
        add(wrapped(f"Customer: {receipt['customer_code']}", columns))
    receipt_id = receipt.get("receipt_id")
    if receipt_id:
        add(wrapped(f"Receipt: {receipt_id}", columns))
    if receipt.get("created_at"):
        stamp = _stamp(str(receipt["created_at"]))
        if receipt.get("clock_trusted") is False:
            stamp += " (clock unverified)"
        add(wrapped(stamp, columns))
    if copy:
        add(centred("*** COPY ***", columns, bold=True))
    if receipt_id:
        out.append(code_for(str(receipt_id), columns))
    return out


def _line(line: Mapping[str, Any], columns: int, money: Callable[[Any], str]) -> list[Text]:
    name = str(line.get("name") or line.get("sku") or "item")
    right = f"{money(line.get('amount', 0))} {line.get('tax_code') or ''}".rstrip()
    out = paired(name, right, columns)
    qty = line.get("qty", 1)
    if str(qty) != "1" and "unit_price" in line:
        out.append(Text(f"  {qty} x {money(line['unit_price'])}"[:columns]))
    if line.get("discount"):
        out.extend(paired("  Discount", money(-abs(int(line["discount"]))), columns))
    return out


def _stamp(iso: str) -> str:
    """"2026-11-25T14:03:11.250Z" -> "2026-11-25 14:03:11 UTC"."""
    text = iso.replace("T", " ")
    if text.endswith("Z"):
        return text[:19] + " UTC"
    return text[:19] + (" " + text[19:].lstrip(".0123456789") if len(text) > 19 else "")
