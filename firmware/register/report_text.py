"""X and Z reports laid out once, as rows a cashier reads: the screen draws them and the printer prints them.

`report_rows(report)` turns a report document (`firmware.domain.reports.summarize`)
into titled sections: sales, refunds and the net, then the discounts given
(a cart discount once per sale, line discounts per line); tenders (one with
refunds as taken, paid back and net); tax
per rate with its net; the cash in the drawer with the counted amount and the
difference (signed, marked "over" or "short"); and per clerk. No field names
("first seq", "kind z") and no UTC: times are the shop's local time.
`report_lines(report, width)` is the same rows in `width` columns for paper,
so the printout and the screen never say different things.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from firmware.clock import parse_iso_utc
from firmware.domain.money import format_money

__all__ = ["ReportRow", "report_rows", "report_lines", "report_title", "signed", "TENDER_NAMES"]

TENDER_NAMES = {"cash": "Cash", "card": "Card", "on_account": "On account"}

# Any: an X or Z report document or one of its sections, JSON (firmware/contract/schemas/report.json)
ReportDoc = Mapping[str, Any]


@dataclass(frozen=True)
class ReportRow:
    """One line of a report: a `section` heading, a `row` (label and amount), or a `note` (words only).

    `strong` rows are totals; `tone` is "good" or "bad" for the cash difference (exact/over or short).
    """

    kind: str
    label: str = ""
    value: str = ""
    strong: bool = False
    tone: str = ""


def report_title(report: ReportDoc) -> str:
    if report.get("kind") == "z":
        return f"Z report {report.get('z_number') or ''} · day closed".replace("  ", " ")
    return "X report · shift so far"


def signed(amount: int, money: Callable[[int], str]) -> str:
    """"+€0.50", "-€0.52", "€0.00": a difference always says which way it goes."""
    return ("+" if amount > 0 else "") + money(amount)


def _local(stamp: object, tz: tzinfo | None) -> str:
    try:
        return parse_iso_utc(str(stamp)).astimezone(tz).strftime("%a %d %b %Y %H:%M")
    except (ValueError, TypeError):
        return str(stamp or "")


def report_rows(report: ReportDoc, money: Callable[[int], str] | None = None, *, tz: tzinfo | None = None,
                clerk_names: Mapping[str, str] | None = None) -> list[ReportRow]:
    """The report as sections of rows. `money` formats minor units (default: the bare number in the report's
    currency), `tz` is the shop's time zone (default: the system's), `clerk_names` maps clerk ids to names."""
    currency = str(report.get("currency") or "EUR")
    fmt: Callable[[int], str] = money or (lambda amount: format_money(amount, currency))
    names = clerk_names or {}
    rows: list[ReportRow] = []
    add = rows.append

    def row(label: str, amount: int | None, strong: bool = False, minus: bool = False) -> None:
        value = "-" if amount is None else fmt(-amount if minus and amount else amount)
        add(ReportRow("row", label, value, strong))

    add(ReportRow("row", "Printed", _local(report.get("created_at"), tz)))
    add(ReportRow("row", "Register", f"{report.get('store') or '-'} · {report.get('register') or '-'}"))
    first, last = report.get("first_seq"), report.get("last_seq")
    add(ReportRow("row", "Receipts", f"#{first} to #{last}" if first and last else "none yet"))

    sales, refunds = report.get("sales") or {}, report.get("refunds") or {}
    discounts, no_sales = report.get("discounts") or {}, report.get("no_sales") or {}
    add(ReportRow("section", "Sales"))
    row(f"Sales ({sales.get('count', 0)})", int(sales.get("total", 0)))
    row(f"Refunds ({refunds.get('count', 0)})", int(refunds.get("total", 0)), minus=True)
    row("Net sales", int(report.get("net_total", 0)), strong=True)
    if report.get("rounding"):
        row("Cash rounding", int(report["rounding"]))
    add(ReportRow("row", "Drawer opened, no sale", str(no_sales.get("count", 0))))
    if discounts.get("count"):
        _discount_rows(discounts, add, row)

    tenders = list(report.get("tenders") or [])
    add(ReportRow("section", "Payments"))
    if not tenders:
        add(ReportRow("note", "No payments yet"))
    for t in tenders:
        name = TENDER_NAMES.get(str(t.get("type")), str(t.get("type", "?")).replace("_", " ").capitalize())
        back, kept, count = int(t.get("refunded") or 0), int(t.get("amount", 0)), int(t.get("count", 0))
        if not back:
            row(f"{name} ({count})", kept)
            continue
        # `amount` is already net of what refunds paid back: taken, paid back, then the net they come to
        refunds_n = t.get("refund_count")
        taken_n = f" ({count - int(refunds_n)})" if refunds_n is not None else ""
        row(f"{name} taken{taken_n}", kept + back)
        row(f"{name} paid back" + (f" ({refunds_n})" if refunds_n is not None else ""), back, minus=True)
        row(f"{name}, net", kept, strong=True)

    taxes = list(report.get("taxes") or [])
    add(ReportRow("section", "Tax by rate"))
    if not taxes:
        add(ReportRow("note", "No tax yet"))
    for tax in taxes:
        rate = f"{tax.get('tax_code', '')} {tax.get('rate', '')}%".strip()
        row(f"{rate} net", int(tax.get("net", 0)))
        row(f"{rate} tax", int(tax.get("tax", 0)))
        row(f"{rate} gross", int(tax.get("net", 0)) + int(tax.get("tax", 0)))

    cash = report.get("cash") or {}
    expected = report.get("expected_cash")
    counted, difference = report.get("counted_cash"), report.get("difference")
    adjust = int(cash.get("opening_float", 0)) + int(cash.get("paid_in", 0)) - int(cash.get("paid_out", 0)) \
        - int(cash.get("drops", 0))
    add(ReportRow("section", "Cash in the drawer"))
    row("Opening float", int(cash.get("opening_float", 0)))
    if expected is not None:
        row("Cash, net of paid back", int(expected) - adjust)
    if cash.get("paid_in"):
        row("Paid in", int(cash["paid_in"]))
    if cash.get("paid_out"):
        row("Paid out", int(cash["paid_out"]), minus=True)
    if cash.get("drops"):
        row("Dropped to the safe", int(cash["drops"]), minus=True)
    row("Expected in the drawer", None if expected is None else int(expected), strong=True)
    if counted is not None:
        row("Counted", int(counted), strong=True)
    if difference is not None:
        diff = int(difference)
        words = "exact" if diff == 0 else ("over" if diff > 0 else "short")
        add(ReportRow("row", f"Difference ({words})", signed(diff, fmt), True, "good" if diff >= 0 else "bad"))

    clerks = [c for c in report.get("clerks") or [] if c.get("sales_count") or c.get("refunds_count")]
    if clerks:
        add(ReportRow("section", "By clerk"))
        for c in clerks:
            name = names.get(str(c.get("clerk_id")), str(c.get("clerk_id") or "?"))
            row(f"{name}: sales ({c.get('sales_count', 0)})", int(c.get("sales_total", 0)))
            if c.get("refunds_count"):
                row(f"{name}: refunds ({c['refunds_count']})", int(c.get("refunds_total", 0)), minus=True)
    return rows


def _discount_rows(discounts: ReportDoc, add: Callable[[ReportRow], None],
                   row: Callable[..., None]) -> None:
    """Discounts as given: a cart discount once per sale, a line's own discount per line. They are already off
    the sales above (a note says so), so they are not a step of the sum. A report from before the split: one
    row."""
    add(ReportRow("note", "Discounts (already off sales)"))
    if "cart_count" not in discounts and "line_count" not in discounts:
        row(f"Discounts given ({discounts.get('count', 0)})", int(discounts.get("total", 0)), minus=True)
        return
    carts, lines = int(discounts.get("cart_count") or 0), int(discounts.get("line_count") or 0)
    if carts:
        row(f"Cart discounts ({carts} sale{'s' if carts != 1 else ''})", int(discounts.get("cart_total", 0)),
            minus=True)
    if lines:
        row(f"Line discounts ({lines} line{'s' if lines != 1 else ''})", int(discounts.get("line_total", 0)),
            minus=True)


def report_lines(report: ReportDoc, width: int = 32, *, header: Sequence[str] = (),
                 money: Callable[[int], str] | None = None, tz: tzinfo | None = None,
                 clerk_names: Mapping[str, str] | None = None) -> list[str]:
    """The report on paper, `width` columns (32, 42 or 48): `header` (shop name, address, tax number) centred,
    the title, then `report_rows` with the amounts right-aligned. Without `money` amounts are bare numbers and
    a line names the currency."""
    out = [str(line)[:width].center(width).rstrip() for line in header]
    out.append(report_title(report)[:width].center(width).rstrip())
    if money is None:
        out.append(f"Amounts in {report.get('currency') or 'EUR'}".center(width).rstrip())
    for r in report_rows(report, money, tz=tz, clerk_names=clerk_names):
        if r.kind == "section":
            out += ["-" * width, r.label.upper()[:width]]
        elif r.kind == "note":
            out.append(r.label[:width])
        else:
            value = r.value[:width]
            label = r.label[: max(0, width - len(value) - 1)]
            out.append(f"{label}{' ' * (width - len(label) - len(value))}{value}")
    out.append("-" * width)
    return out
