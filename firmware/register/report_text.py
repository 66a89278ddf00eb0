"""X/Z report as plain text lines for the receipt printer and the screen."""

from __future__ import annotations

from typing import Any

from firmware.domain.money import format_money


def report_lines(report: dict[str, Any], width: int = 32) -> list[str]:
    """The report in at most `width` columns; amounts formatted in the report's currency."""
    currency = report.get("currency") or "EUR"

    def row(label: str, amount: int | None) -> str:
        value = "-" if amount is None else format_money(amount, currency)
        return f"{label[: width - len(value) - 1]:<{width - len(value)}}{value}"

    title = f"{report['kind'].upper()} REPORT" + (f" {report['z_number']}" if report.get("z_number") else "")
    lines = [title.center(width), f"{report.get('store')}/{report.get('register')}", report.get("created_at", ""),
             f"Receipts {report.get('first_seq') or '-'}..{report.get('last_seq') or '-'}", "-" * width]
    lines.append(row(f"Sales ({report['sales']['count']})", report["sales"]["total"]))
    lines.append(row(f"Refunds ({report['refunds']['count']})", report["refunds"]["total"]))
    lines.append(row("Net", report["net_total"]))
    lines.append(row(f"Discounts ({report['discounts']['count']})", report["discounts"]["total"]))
    lines.append(f"No-sales: {report['no_sales']['count']}")
    lines.append("-" * width)
    for tender in report.get("tenders", []):
        lines.append(row(f"{tender.get('type', '?')}", tender.get("amount", tender.get("net", 0))))
    for tax in report.get("taxes", []):
        lines.append(row(f"Tax {tax['tax_code']} {tax['rate']}%", tax["tax"]))
    lines.append("-" * width)
    lines.append(row("Expected cash", report.get("expected_cash")))
    lines.append(row("Counted cash", report.get("counted_cash")))
    lines.append(row("Difference", report.get("difference")))
    return lines
