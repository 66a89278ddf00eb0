"""What a printed receipt or X/Z report says: laid out as the printer's blocks, money formatted by the domain.

The printer (hal.printer) takes finished blocks of text and codes, as python-escpos takes text; the money in
them is formatted here with the one currency table (firmware.domain.money), so the paper and the screen
never disagree on a currency's digits or symbol.

What an auditor reads on a receipt:

- the shop's header with its tax number (`shop_header`);
- one amount column that adds up: each line at its original price, its discount below it as a negative
  amount (the net in words beside it), a cart discount on a line of its own, then the subtotal; tax that is
  not included in the prices is a line of the column, so subtotal + tax = TOTAL. Cash rounding, tenders
  (with their reference: the card slip number) and change follow the total;
- refunds with a minus sign on every amount paid back, the reason and the approving manager by name;
- the clerk's name, the time in the shop's time zone, the receipt id and its barcode;
- the tax per rate (net, tax, gross) as a table after the column, not in it.

A park slip (`kind` "park_slip") is no receipt and must not look like one: "PARKED CART", its number large,
"NOT A RECEIPT - NOT PAID", the items and the amount due, clerk and time, and the barcode that recalls it.

X and Z reports are the screen's rows (`firmware.register.report_text.report_rows`) at the paper's width.
"""

from __future__ import annotations

import copy as copying
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from typing import Any
from urllib.parse import quote

from firmware.clock import parse_iso_utc
from firmware.domain.money import format_money
from firmware.domain.receipt_model import Receipt, ReceiptLine, ReceiptTax
from firmware.domain.timeclock import HoursReport
from firmware.layby_print import layby_blocks
from hal.layout import Block, Code, Text, centred, code_for, paired, plain_lines, rule, wrapped
from hal.ports import Printer

__all__ = ["Block", "Code", "Text", "hours_blocks", "local_stamp", "park_slip_blocks", "print_hours",
           "print_receipt", "print_report", "receipt_blocks", "receipt_page_url", "report_blocks", "shop_header"]

TENDER_WORDS = {"cash": "Cash", "card": "Card", "on_account": "On account", "layby": "Paid on layby"}


def shop_header(shop: Any) -> list[str]:
    """A receipt's header from `[shop]`: name, address lines and the tax number ("VAT No. DE123456789")."""
    tax_line = getattr(shop, "tax_line", "")
    return [str(shop.name), *(str(line) for line in shop.address), *([tax_line] if tax_line else [])]


def local_stamp(iso: Any, tz: tzinfo | None = None) -> str:
    """"2026-11-25T14:03:11.250Z" -> "2026-11-25 15:03:11 CET" in `tz` (the system's zone when None)."""
    try:
        moment = parse_iso_utc(str(iso)).astimezone(tz)
    except (TypeError, ValueError):
        return str(iso or "")
    name = moment.tzname() or ""
    if not name or name[0] in "+-":  # a zone with no abbreviation ("+03"): say the offset plainly
        offset = moment.strftime("%z")
        name = f"UTC{offset[:3]}:{offset[3:5]}" if moment.utcoffset() else "UTC"
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + name


def receipt_page_url(base: str, receipt_id: str, receipt_hash: str) -> str:
    """`{base}/r/{receipt id, %-quoted}?h={first 16 hex of its hash}`: the fleet's page of this receipt.

    The hash prefix (64 bits) makes the link a capability: receipt ids count up and can be guessed, the hash
    cannot, and the page shows a receipt only when both match (docs/digital-receipts.md).
    """
    return f"{base.rstrip('/')}/r/{quote(receipt_id, safe='')}?h={receipt_hash[:16]}"


def print_receipt(printer: Printer, receipt: Receipt, header: Sequence[str], *, copy: bool = False,
                  currency: str | None = None, display: str = "symbol", tz: tzinfo | None = None,
                  names: Mapping[str, str] | None = None, receipt_page: str | None = None) -> str:
    """Queue `receipt` on `printer`; returns the job id at once (the layout runs on the printer's worker).

    `display` is the shop's currency display ("symbol" or "code"), `tz` its time zone, `names` clerk ids to
    names (the clerk and the approving manager are printed by name), `receipt_page` the fleet's receipt page
    base URL (a QR code of the receipt's page is printed under its barcode; None: no QR code).
    """
    receipt_id = receipt.receipt_id if receipt.has("receipt_id") else None  # laid out later, on the worker: immutable
    header = tuple(str(line) for line in header)
    names = dict(names or {})
    columns = printer.columns
    title = f"{'copy of ' if copy else ''}receipt {receipt_id or '?'}"
    if receipt.kind == "park_slip":
        title = f"park slip {park_number(receipt) or '?'} {receipt_id or '?'}"
    return printer.print_blocks(
        lambda: receipt_blocks(receipt, header, columns, copy, currency, display=display, tz=tz, names=names,
                               receipt_page=receipt_page),
        title=title, receipt_id=receipt_id)


def receipt_blocks(receipt: Receipt, header: Sequence[str], columns: int, copy: bool = False,
                   currency: str | None = None, *, display: str = "symbol", tz: tzinfo | None = None,
                   names: Mapping[str, str] | None = None, receipt_page: str | None = None) -> list[Block]:
    """Lay out a contract receipt. Missing optional fields are skipped: a committed sale always prints.

    With `receipt_page` (the fleet's receipt page base URL) a QR code of `receipt_page_url` follows the
    receipt id's barcode, when the receipt has its hash (a committed receipt always has).
    """
    if receipt.kind == "park_slip":
        return park_slip_blocks(receipt, header, columns, currency, display=display, tz=tz, names=names)
    cur = receipt.currency or currency or "EUR"
    kind = receipt.kind
    sign = -1 if kind == "refund" else 1  # refund receipts carry positive amounts: on paper they are paid back
    names = names or {}

    def money(amount: Any, *, plus: bool = False) -> str:
        value = int(amount)
        return ("+" if plus and value > 0 else "") + format_money(value, cur, display)

    def who(clerk_id: Any) -> str:
        return str(names.get(str(clerk_id)) or clerk_id)

    out: list[Block] = []
    add = out.extend
    for index, line in enumerate(header):
        add(centred(str(line), columns, bold=index == 0, tall=index == 0))
    add([rule(columns)])
    if kind == "refund":
        add(centred("REFUND", columns, bold=True, tall=True))
        if receipt.refund_of:
            add(centred(f"of receipt {receipt.refund_of}", columns))
    elif kind == "no_sale":
        add(centred("NO SALE", columns, bold=True, tall=True))
        add(centred("drawer opened", columns))
    if copy:
        add(centred("*** COPY ***", columns, bold=True))
    if receipt.offline:
        add(centred("OFFLINE", columns, bold=True))

    lines = receipt.lines
    cart = receipt.cart_discount
    cart_total = 0
    for item in lines:
        add(_line(item, columns, money, sign, split_cart=cart is not None))
        cart_total += (item.cart_discount or 0) if cart is not None else 0
        age = item.age_check
        if isinstance(age, Mapping) and age.get("min_age"):  # docs/item-prompts.md: who checked the age
            born = f", born {age['dob']}" if age.get("dob") else ""
            add(wrapped(f"  Age checked {age['min_age']}+ by {who(age.get('by'))}{born}", columns))
    for promo in receipt.extra.get("promotions") or ():  # docs/promotions.md: each by name, under the lines
        if isinstance(promo, Mapping) and promo.get("saving"):
            add(paired(str(promo.get("name") or promo.get("promotion_id") or "Promotion"),
                       money(sign * -int(promo["saving"]), plus=sign < 0), columns))
    if cart is not None and cart_total:
        percent = cart.percent
        label = f"Cart discount {_percent(percent)}%" if percent not in (None, "") else "Cart discount"
        add(paired(label, money(sign * -cart_total, plus=sign < 0), columns))
        if cart.approved_by:
            add(wrapped(f"  approved by {who(cart.approved_by)}", columns))

    totals = receipt.totals
    if lines:
        add([rule(columns)])
    if totals.has("subtotal"):
        add(paired("Subtotal", money(sign * totals.subtotal), columns))
    if totals.has("subtotal") and totals.has("total") and totals.total != totals.subtotal:
        add(paired("Tax (added to prices)", money(sign * (totals.total - totals.subtotal)), columns))
    if totals.has("total"):
        add(paired("REFUND TOTAL" if kind == "refund" else "TOTAL", money(sign * totals.total), columns,
                   bold=True, tall=True))
    rounding = totals.rounding or 0
    if rounding:
        add(paired("Cash rounding", money(sign * rounding, plus=True), columns))
        add(paired("Rounded total", money(sign * (totals.total + rounding)), columns, bold=True))
    for tender in receipt.tenders:
        kind_name = tender.type if tender.has("type") else "tender"
        name = TENDER_WORDS.get(kind_name, kind_name.replace("_", " ").capitalize())
        if kind == "refund":
            name += " paid back"
        add(paired(name, money(sign * tender.amount), columns))
        if tender.reference:
            add(wrapped(f"  Ref. {tender.reference}", columns))
        if tender.change:
            add(paired("Change", money(tender.change), columns, bold=True))

    add(layby_blocks(receipt.extra.get("accounts"), columns, money))  # docs/layby.md
    taxes = receipt.taxes
    if taxes:
        add([rule(columns)])
        add(_tax_table(taxes, columns, lambda amount: money(sign * int(amount))))

    add([rule(columns)])
    if kind in ("refund", "no_sale"):
        if receipt.reason:
            add(wrapped(f"Reason: {receipt.reason}", columns))
        if receipt.approved_by:
            add(wrapped(f"Approved by: {who(receipt.approved_by)}", columns))
    clerk = receipt.clerk_id
    if clerk or receipt.clerk_name:
        add(wrapped(f"Clerk: {receipt.clerk_name or who(clerk)}", columns))
    if receipt.customer_code:
        add(wrapped(f"Customer: {receipt.customer_code}", columns))
    receipt_id = receipt.receipt_id
    if receipt_id:
        add(wrapped(f"Receipt: {receipt_id}", columns))
    if receipt.created_at:
        stamp = local_stamp(receipt.created_at, tz)
        if receipt.clock_trusted is False:
            stamp += " (clock unverified)"
        add(wrapped(stamp, columns))
    if copy:
        add(centred("*** COPY ***", columns, bold=True))
    if receipt_id:
        out.append(code_for(str(receipt_id), columns))
    if receipt_page and receipt_id and receipt.hash and kind != "park_slip":
        add(centred("Your receipt online:", columns))
        out.append(Code(receipt_page_url(receipt_page, str(receipt_id), receipt.hash), "qr"))
    return out


def park_number(receipt: Receipt) -> str:
    """A park slip's number ("P3"), "" when it has none."""
    number = getattr(receipt, "park_number", None) or receipt.extra.get("park_number")
    return str(number or "")


def park_slip_blocks(receipt: Receipt, header: Sequence[str], columns: int, currency: str | None = None, *,
                     display: str = "symbol", tz: tzinfo | None = None,
                     names: Mapping[str, str] | None = None) -> list[Block]:
    """A park slip (`kind` "park_slip", firmware/register/core/handlers/park.py): never to be taken for a receipt.

    "PARKED CART" and its number in large print, "NOT A RECEIPT - NOT PAID", the items and the amount still
    due, the clerk and the time it was parked, and the barcode (`receipt_id`) to scan to bring the cart back.
    """
    cur = receipt.currency or currency or "EUR"
    names = names or {}

    def money(amount: Any) -> str:
        return format_money(int(amount), cur, display)

    number = park_number(receipt)
    out: list[Block] = []
    add = out.extend
    for index, head in enumerate(header):
        add(centred(str(head), columns, bold=index == 0))
    add([rule(columns, "=")])
    add(centred("PARKED CART", columns, bold=True, tall=True))
    if number:
        add(centred(number, columns, bold=True, tall=True))
    add(centred("NOT A RECEIPT - NOT PAID", columns, bold=True))
    add([rule(columns, "=")])
    listed = 0
    for line in receipt.lines:
        add(paired(line.name or line.sku or "item", money(line.amount), columns))
        qty = str(line.qty)
        if line.has("unit_price") and (qty != "1" or "." in qty):
            unit = money(line.unit_price)
            add(wrapped(f"  {qty} kg x {unit}/kg" if "." in qty else f"  {qty} x {unit}", columns))
        listed += int(line.amount)
    total = receipt.totals.total if receipt.totals.has("total") else listed
    if receipt.lines:
        if total != listed:  # a cart discount (or tax added to net prices): its own line, so the column adds up
            add(paired("Cart discount" if total < listed else "Tax (added to prices)", money(total - listed),
                       columns))
        add([rule(columns)])
    add(paired("AMOUNT DUE", money(total), columns, bold=True, tall=True))
    add([rule(columns)])
    clerk = receipt.clerk_name or str(names.get(str(receipt.clerk_id)) or receipt.clerk_id or "")
    if clerk:
        add(wrapped(f"Clerk: {clerk}", columns))
    if receipt.created_at:
        add(wrapped(f"Parked: {local_stamp(receipt.created_at, tz)}", columns))
    code = receipt.receipt_id
    if code:
        add([rule(columns)])
        add(centred(f"Scan to bring back {number or 'the cart'}", columns, bold=True))
        out.append(code_for(str(code), columns))
        add(centred(str(code), columns))
    add(centred("NOT A RECEIPT - NOT PAID", columns, bold=True))
    return out


def _percent(value: Any) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _line(line: ReceiptLine, columns: int, money: Callable[..., str], sign: int, split_cart: bool) -> list[Text]:
    """The line at its original price; its own discount below as a negative amount, the net beside it in words.

    With `split_cart` the line's share of a cart discount is left out here: it is the cart discount's line.
    """
    name = line.name or line.sku or "item"
    amount = line.amount
    discount = line.discount or 0
    share = (line.cart_discount or 0) if split_cart else 0
    promotion = line.extra.get("promotion")  # printed as each promotion's own line, after the lines
    own = discount - share - (promotion if isinstance(promotion, int) else 0)
    original = amount + discount
    code = line.tax_code or ""
    out = paired(name, f"{money(sign * original)} {code}".rstrip(), columns)
    qty = str(line.qty)
    if line.has("unit_price") and (qty != "1" or "." in qty):
        unit = money(line.unit_price)
        out.extend(wrapped(f"  {qty} kg x {unit}/kg" if "." in qty else f"  {qty} x {unit}", columns))
    if own:
        value = money(-sign * own, plus=sign < 0)
        label = f"  Discount, net {money(sign * (original - own))}"
        if len(label) + 1 + len(value) > columns:
            out.extend(paired("  Discount", value, columns))
            out.extend(wrapped(f"    net {money(sign * (original - own))}", columns))
        else:
            out.extend(paired(label, value, columns))
    return out


def _tax_table(taxes: Sequence[ReceiptTax], columns: int, money: Callable[[Any], str]) -> list[Text]:
    """Rate | Net | Tax | Gross, one row per rate: what the amounts above hold in tax (not part of the sum)."""
    rows: list[tuple[str, str, str, str]] = []
    for tax in taxes:
        label = f"{tax.tax_code} {_percent(tax.rate)}%".strip()
        net_amount, tax_amount = tax.net, tax.tax
        rows.append((label, money(net_amount), money(tax_amount), money(net_amount + tax_amount)))
    width = max(len(cell) for row in rows for cell in row[1:]) + 1
    width = max(width, len("Gross") + 1)
    label_width = columns - 3 * width
    out: list[Text] = []
    if label_width < 4:  # too narrow for four columns: one line per figure
        for label, net, due, gross in rows:
            out += [*paired(f"Tax {label} net", net, columns), *paired(f"Tax {label} tax", due, columns),
                    *paired(f"Tax {label} gross", gross, columns)]
        return out
    out.append(Text("Tax".ljust(label_width) + "Net".rjust(width) + "Tax".rjust(width) + "Gross".rjust(width)))
    for label, net, due, gross in rows:
        out.append(Text(label[:label_width].ljust(label_width) + net.rjust(width) + due.rjust(width)
                        + gross.rjust(width)))
    return out


# ---------------------------------------------------------------- X and Z reports


def print_report(printer: Printer, report: Mapping[str, Any], header: Sequence[str], *, display: str = "symbol",
                 tz: tzinfo | None = None, names: Mapping[str, str] | None = None) -> str:
    """Queue an X or Z report at the printer's own width; returns the job id at once."""
    report = copying.deepcopy(dict(report))
    header = tuple(str(line) for line in header)
    names = dict(names or {})
    columns = printer.columns
    title = f"{str(report.get('kind', 'x')).upper()} report"
    return printer.print_blocks(lambda: report_blocks(report, header, columns, display=display, tz=tz, names=names),
                                title=title)


def report_blocks(report: Mapping[str, Any], header: Sequence[str], columns: int, *, display: str = "symbol",
                  tz: tzinfo | None = None, names: Mapping[str, str] | None = None) -> list[Block]:
    """The screen's report rows (sales, refunds, payments, tax per rate with its net, cash, per clerk) on paper."""
    from firmware.register.report_text import report_rows, report_title

    currency = str(report.get("currency") or "EUR")
    out: list[Block] = []
    add = out.extend
    for index, line in enumerate(header):
        add(centred(str(line), columns, bold=index == 0, tall=index == 0))
    add([rule(columns)])
    add(centred(report_title(report), columns, bold=True, tall=True))
    zone = getattr(tz, "key", None) or (str(tz) if tz is not None else "")
    if report.get("created_at"):
        add(centred(local_stamp(report["created_at"], tz), columns))
    if zone:
        add(centred(f"Times in {zone}", columns))
    rows = report_rows(report, lambda amount: format_money(amount, currency, display), tz=tz,
                       clerk_names=names or {})
    for row in rows:
        if row.kind == "section":
            add([rule(columns)])
            add(wrapped(row.label.upper(), columns, bold=True))
        elif row.kind == "note":
            add(wrapped(row.label, columns))
        else:
            add(paired(row.label, row.value, columns, bold=row.strong, tall=row.strong and row.tone == "bad"))
    add([rule(columns)])
    if report.get("report_id"):
        add(wrapped(f"Report: {report['report_id']}", columns))
    return out


# ---------------------------------------------------------------- time clock hours


def print_hours(printer: Printer, report: HoursReport, header: Sequence[str], *, tz: tzinfo | None = None,
                names: Mapping[str, str] | None = None) -> str:
    """Queue the time clock's hours report (`firmware.register.hours_text`) at the printer's own width."""
    header = tuple(str(line) for line in header)
    names = dict(names or {})
    columns = printer.columns
    return printer.print_blocks(lambda: hours_blocks(report, header, columns, tz=tz, names=names), title="Hours")


def hours_blocks(report: HoursReport, header: Sequence[str], columns: int, *, tz: tzinfo | None = None,
                 names: Mapping[str, str] | None = None) -> list[Block]:
    """The shop's header, then the screen's hours rows as plain lines at the paper's width."""
    from firmware.register.hours_text import hours_lines

    out: list[Block] = []
    for index, line in enumerate(header):
        out.extend(centred(str(line), columns, bold=index == 0, tall=index == 0))
    out.append(rule(columns))
    zone = getattr(tz, "key", None) or (str(tz) if tz is not None else "")
    title, *lines = hours_lines(report, columns, tz=tz, names=names)
    if zone:
        lines.insert(0, f"Times in {zone}".center(columns).rstrip())
    out.extend(plain_lines(lines, columns, title.strip()))  # the title centred in bold, as an X report's
    return out
