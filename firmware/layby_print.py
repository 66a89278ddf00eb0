"""What a receipt prints about the layby it moved (docs/layby.md): the reserved goods, the deposit, each
instalment with the balance left, collection, cancellation with the fee kept. Called by firmware/printout.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hal.layout import Text, centred, paired, rule, wrapped


def layby_blocks(entries: Any, columns: int, money: Callable[[int], str]) -> list[Text]:
    """Text lines for the receipt's layby movements (none: nothing). Entries of other types are skipped; a field
    missing from an entry (an older register's) is left out, never guessed."""
    out: list[Text] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not str(entry.get("type", "")).startswith("layby_"):
            continue
        kind, name = entry["type"], str(entry.get("layby", ""))
        out.append(rule(columns))
        out += centred(f"LAYBY {name}", columns, bold=True)
        if kind == "layby_open":
            out += wrapped("Goods reserved:", columns)
            for line in entry.get("lines") or ():
                if isinstance(line, Mapping):
                    out += paired(f"  {line.get('qty')} x {line.get('name')}", money(int(line.get("amount", 0))),
                                  columns)
            total, deposit = int(entry.get("total", 0)), int(entry.get("deposit", 0))
            out += paired("Layby total", money(total), columns)
            out += paired("Deposit paid", money(deposit), columns)
            out += paired("Balance to pay", money(total - deposit), columns, bold=True)
            out += wrapped(f"Collect by {entry.get('due')}; keep this receipt", columns)
        elif kind == "layby_payment":
            out += paired("Instalment paid", money(int(entry.get("amount", 0))), columns)
            if entry.get("balance") is not None and entry.get("total") is not None:
                out += paired("Layby total", money(int(entry["total"])), columns)
                out += paired("Balance to pay", money(int(entry["balance"])), columns, bold=True)
        elif kind == "layby_collect":
            out += wrapped(f"Collected: {money(int(entry.get('paid', 0)))} paid in full", columns)
        elif kind == "layby_cancel":
            out += wrapped("Cancelled", columns, bold=True)
            out += paired("Fee kept", money(int(entry.get("fee", 0))), columns)
            out += paired("Paid back", money(int(entry.get("refund", 0))), columns)
    return out
