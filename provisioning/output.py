"""Console output for the technician: rich tables, one-line errors with the fix, and exit codes (0/2/1)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from firmware.errors import ConfigError, KassaError
from provisioning.errors import InputRejected, RowProblem

__all__ = ["console", "err_console", "guard", "problems_table", "files_table", "EXIT_OK", "EXIT_USAGE", "EXIT_FAIL"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def console() -> Console:
    """A console on the current stdout (looked up per call so test runners can capture it)."""
    return Console(highlight=False, soft_wrap=False, width=120, emoji=False)  # ":CD:" in a fingerprint stays text


def err_console() -> Console:
    # soft_wrap: a message is never cut mid-phrase (the terminal wraps it)
    return Console(stderr=True, highlight=False, width=120, emoji=False, soft_wrap=True)


def problems_table(problems: list[RowProblem], limit: int = 200) -> Table:
    table = Table(title="Problems (nothing was applied)", show_lines=False)
    for col in ("where", "field", "reason", "value"):
        table.add_column(col, overflow="fold")
    for p in problems[:limit]:
        table.add_row(escape(p.where), escape(p.field), escape(p.reason), escape(_shown(p.value)))
    if len(problems) > limit:
        table.add_row("...", "", f"{len(problems) - limit} more", "")
    return table


def _shown(value: object, limit: int = 24) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def files_table(paths: list[Path], title: str = "Written") -> Table:
    table = Table(title=title)
    table.add_column("file")
    table.add_column("mode")
    for path in paths:
        try:
            mode = stat.filemode(path.lstat().st_mode)
        except OSError:
            mode = "?"
        table.add_row(str(path), mode)
    return table


@contextmanager
def guard() -> Iterator[None]:
    """Turn our errors and OS errors into a message naming the fix and exit code 2 or 1; never a traceback."""
    try:
        yield
    except InputRejected as exc:
        if exc.problems:
            console().print(problems_table(exc.problems))
        err_console().print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    except ConfigError as exc:
        err_console().print(f"[red]config error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    except KassaError as exc:
        err_console().print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAIL) from None
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        err_console().print(
            f"[red]error:[/red]{escape(where)}: {escape(str(exc.strerror or exc))}; "
            "check the path and permissions (sudo?)"
        )
        raise typer.Exit(EXIT_FAIL) from None
