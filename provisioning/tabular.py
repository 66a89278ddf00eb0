"""Rows from a technician's CSV or JSON file, each tagged with where it came from (CSV line or JSON entry)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Set as AbstractSet
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioning.errors import InputRejected, RowProblem

__all__ = ["Row", "read_rows", "model_problems", "readable"]

Row = tuple[str, dict[str, Any]]


def read_rows(path: Path, list_key: str, columns: tuple[str, ...]) -> tuple[dict[str, Any], list[Row]]:
    """(top-level JSON fields, rows). CSV needs a header naming `columns` (extra columns are refused)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file; check the path (USB stick mounted?)") from None
    except OSError as exc:
        raise InputRejected(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputRejected(f"{path}: not UTF-8 text; save it as UTF-8 CSV or JSON") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        return _json_rows(path, text, list_key)
    return {}, _csv_rows(path, text, columns)


def _json_rows(path: Path, text: str, list_key: str) -> tuple[dict[str, Any], list[Row]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputRejected(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    if isinstance(doc, list):
        doc = {list_key: doc}
    if not isinstance(doc, dict) or not isinstance(doc.get(list_key), list):
        raise InputRejected(f"{path}: expected a JSON object with a {list_key!r} list (or a list of entries)")
    rows: list[Row] = []
    for i, entry in enumerate(doc[list_key]):
        where = f"{list_key}[{i}]"
        rows.append((where, entry if isinstance(entry, dict) else {"__not_object__": entry}))
    return {k: v for k, v in doc.items() if k != list_key}, rows


def _csv_rows(path: Path, text: str, columns: tuple[str, ...]) -> list[Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputRejected(f"{path}: empty file; the first line must name the columns: {','.join(columns)}") from None
    except csv.Error as exc:
        raise InputRejected(f"{path}: line 1: {exc}") from None
    unknown = [h for h in header if h not in columns]
    if unknown or len(set(header)) != len(header):
        raise InputRejected(
            f"{path}: line 1: unknown or repeated column(s) {', '.join(unknown) or 'repeated'}; "
            f"use only: {','.join(columns)}"
        )
    rows: list[Row] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            where = f"line {reader.line_num}"
            if len(record) != len(header):
                rows.append((where, {"__columns__": f"{len(record)} fields, expected {len(header)}"}))
                continue
            rows.append((where, {h: cell.strip() for h, cell in zip(header, record, strict=True)}))
    except csv.Error as exc:
        raise InputRejected(f"{path}: line {reader.line_num}: {exc}") from None
    return rows


def readable(error: Mapping[str, Any]) -> str:
    """One pydantic error in a technician's words (what is wrong and what is allowed), not pydantic's text."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "missing"
    if kind in ("less_than_equal", "less_than"):
        return f"too large; at most {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"too small; at least {ctx.get('ge', ctx.get('gt'))}"
    if kind == "string_too_long":
        return f"longer than {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "missing" if ctx.get("min_length") == 1 else f"shorter than {ctx.get('min_length')} characters"
    if kind == "too_long":
        return f"more than {ctx.get('max_length')} entries"
    if kind == "too_short":
        return f"fewer than {ctx.get('min_length')} entries"
    if kind == "string_pattern_mismatch":
        return "has characters that are not allowed here"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("string_type", "string_sub_type"):
        return "must be text"
    if kind in ("bool_type", "bool_parsing"):
        return "use yes or no"
    if kind in ("list_type",):
        return "must be a list"
    return str(error.get("msg", kind)).removeprefix("Value error, ")


def model_problems(exc: ValidationError, where: str, values: dict[str, Any], *, skip: AbstractSet[str] = frozenset(),
                   hidden: AbstractSet[str] = frozenset(), say: dict[str, Any] | None = None) -> list[RowProblem]:
    """A row's ValidationError as RowProblems: one per column (the first error of each), with the cell's value.

    `skip`: columns already reported by the row's own checks; `hidden`: columns whose value is never shown
    (PINs); `say`: column -> function(error) giving a better sentence (e.g. a price in money, not minor units).
    """
    problems: list[RowProblem] = []
    seen = set(skip)
    for error in exc.errors():
        column = str(error["loc"][0]) if error["loc"] else "row"
        if column in seen:
            continue
        seen.add(column)
        reason = (say or {}).get(column, readable)(error)
        value = None if column in hidden else values.get(column)
        problems.append(RowProblem(where, column, reason, value))
    return problems
