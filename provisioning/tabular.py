"""Rows from a technician's CSV or JSON file, each tagged with where it came from (CSV line or JSON entry)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from provisioning.errors import InputRejected

__all__ = ["Row", "read_rows"]

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
            rows.append((where, {h: cell.strip() for h, cell in zip(header, record)}))
    except csv.Error as exc:
        raise InputRejected(f"{path}: line {reader.line_num}: {exc}") from None
    return rows
