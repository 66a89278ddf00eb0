"""One self-test or health check result and the table that shows them (pass/fail and a fix per failure)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from rich.table import Table

__all__ = ["Check", "checks_table"]


@dataclass(frozen=True)
class Check:
    """`ok` True = pass, False = fail (with `fix`), None = skipped or informational."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


def checks_table(checks: list[Check], title: str = "Self-test") -> Table:
    table = Table(title=title)
    for col in ("check", "result", "detail", "fix"):
        table.add_column(col, overflow="fold")
    for c in checks:
        verdict = "[green]pass[/green]" if c.ok else ("[red]FAIL[/red]" if c.ok is False else "[yellow]skip[/yellow]")
        table.add_row(escape(c.name), verdict, escape(c.detail), escape(c.fix))
    return table
