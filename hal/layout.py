"""Receipt layout for 32/42/48 columns as a list of blocks, and their plain-text rendering (pure)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hal.money import format_money

DOTS_PER_COLUMN = 12  # font A: 32 columns = 384 dots (58 mm), 48 columns = 576 dots (80 mm)


@dataclass(frozen=True)
class Text:
    """One printed line, never wider than the paper."""

    text: str
    align: str = "left"
    bold: bool = False
    tall: bool = False  # double height: keeps the width, so the column count holds


@dataclass(frozen=True)
class Code:
    """A scannable code of `data`: "code128" when it fits the paper, else "qr"."""

    data: str
    kind: str


Block = Text | Code


def code_for(data: str, columns: int) -> Code:
    """CODE128 (set B, 2-dot modules) when it fits the paper width, else a QR code."""
    modules = 11 * (len(data) + 2) + 13 + 20  # start, check, stop, quiet zones
    return Code(data, "code128" if data.isascii() and modules * 2 <= columns * DOTS_PER_COLUMN else "qr")


def pair(left: str, right: str, columns: int) -> list[str]:
    """`left` and `right` on one line (right-aligned); a long `left` wraps onto lines above."""
    room = columns - len(right) - 1
    if room < 1:
        return [left[:columns], right.rjust(columns)[-columns:]]
    parts = textwrap.wrap(left, room) or [""]
    return parts[:-1] + [parts[-1].ljust(room) + " " + right]


def rule(columns: int, char: str = "-") -> Text:
    return Text(char * columns)


def centred(text: str, columns: int, bold: bool = False, tall: bool = False) -> list[Text]:
    return [Text(part, "center", bold, tall) for part in (textwrap.wrap(text, columns) or [""])]


def layout_receipt(receipt: Mapping[str, Any], header: Sequence[str], columns: int, copy: bool = False,
                   currency: str | None = None) -> list[Block]:
    """Lay out a CONTRACT.md receipt. Missing optional fields are skipped: a committed sale always prints."""
    cur = str(receipt.get("currency") or currency or "EUR")
    money = lambda amount: format_money(int(amount), cur)  # noqa: E731
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
        add(Text(t) for t in pair(label, money(-abs(int(discount.get("amount", 0)))), columns))
    totals = receipt.get("totals") or {}
    if receipt.get("lines"):
        add([rule(columns)])
    if "subtotal" in totals:
        add(Text(t) for t in pair("Subtotal", money(totals["subtotal"]), columns))
    for tax in receipt.get("taxes", ()) or ():
        label = f"Tax {tax.get('tax_code', '')} {tax.get('rate', '')}%".replace("  ", " ")
        if "net" in tax:
            label += f" of {money(tax['net'])}"
        add(Text(t) for t in pair(label, money(tax.get("tax", 0)), columns))
    if totals.get("rounding"):
        add(Text(t) for t in pair("Rounding", money(totals["rounding"]), columns))
    if "total" in totals:
        add(Text(t, bold=True, tall=True) for t in pair(f"TOTAL {cur}", money(totals["total"]), columns))
    for tender in receipt.get("tenders", ()) or ():
        kind_name = str(tender.get("type", "tender")).replace("_", " ").capitalize()
        if tender.get("reference"):
            kind_name += f" {tender['reference']}"
        add(Text(t) for t in pair(kind_name, money(tender.get("amount", 0)), columns))
        if tender.get("change"):
            add(Text(t, bold=True) for t in pair("Change", money(tender["change"]), columns))
    add([rule(columns)])
    clerk = receipt.get("clerk_name") or receipt.get("clerk_id")
    if clerk:
        add(Text(t) for t in textwrap.wrap(f"Clerk: {clerk}", columns))
    if receipt.get("customer_code"):
        add(Text(t) for t in textwrap.wrap(f"Customer: {receipt['customer_code']}", columns))
    receipt_id = receipt.get("receipt_id")
    if receipt_id:
        add(Text(t) for t in textwrap.wrap(f"Receipt: {receipt_id}", columns))
    if receipt.get("created_at"):
        stamp = _stamp(str(receipt["created_at"]))
        if receipt.get("clock_trusted") is False:
            stamp += " (clock unverified)"
        add(Text(t) for t in textwrap.wrap(stamp, columns))
    if copy:
        add(centred("*** COPY ***", columns, bold=True))
    if receipt_id:
        out.append(code_for(str(receipt_id), columns))
    return out


def _line(line: Mapping[str, Any], columns: int, money: Any) -> list[Text]:
    name = str(line.get("name") or line.get("sku") or "item")
    amount = money(line.get("amount", 0))
    tax_code = str(line.get("tax_code") or "")
    right = f"{amount} {tax_code}".rstrip()
    out = [Text(t) for t in pair(name, right, columns)]
    qty = line.get("qty", 1)
    if str(qty) != "1" and "unit_price" in line:
        out.append(Text(f"  {qty} x {money(line['unit_price'])}"[:columns]))
    if line.get("discount"):
        out.extend(Text(t) for t in pair("  Discount", money(-abs(int(line["discount"]))), columns))
    return out


def _stamp(iso: str) -> str:
    """"2026-11-25T14:03:11.250Z" -> "2026-11-25 14:03:11 UTC"."""
    text = iso.replace("T", " ")
    if text.endswith("Z"):
        return text[:19] + " UTC"
    return text[:19] + (" " + text[19:].lstrip(".0123456789") if len(text) > 19 else "")


def plain_lines(lines: Sequence[str], columns: int, title: str | None = None) -> list[Block]:
    """Report lines as blocks, each wrapped to the paper."""
    out: list[Block] = centred(title, columns, bold=True) if title else []
    for line in lines:
        out.extend(Text(t) for t in (textwrap.wrap(str(line), columns, drop_whitespace=False) or [""]))
    return out


def render_text(blocks: Sequence[Block], columns: int) -> str:
    """The blocks as the plain text a reader would see on paper (the simulated printer's rendering)."""
    out = []
    for block in blocks:
        if isinstance(block, Code):
            label = f"[{block.kind.upper()} {block.data}]"
            out.append(label.center(columns).rstrip() if len(label) <= columns else label)
        elif block.align == "center":
            out.append(block.text.center(columns).rstrip())
        elif block.align == "right":
            out.append(block.text.rjust(columns))
        else:
            out.append(block.text)
    return "\n".join(out) + "\n"
