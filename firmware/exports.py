"""Receipts out of the journal as files a technician or accountant can open: CSV (one row per line) and JSON.

Used by the status screen ("export pending to USB") and `kassa-provision
export-pending`. Files are written atomically; amounts stay integer minor units
in both formats (the CSV also has the currency so a spreadsheet can scale).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from firmware.atomicfile import atomic_writer
from firmware.clock import iso_utc

LINE_COLUMNS = (
    "receipt_id", "seq", "kind", "created_at", "offline", "clerk_id", "currency",
    "line", "sku", "name", "qty", "unit_price", "discount", "tax_code", "amount",
    "receipt_total", "tenders", "refund_of",
)


@dataclass(frozen=True)
class ExportResult:
    receipts: int
    lines_csv: Path
    receipts_json: Path


def _rows(receipt: dict[str, Any]) -> Iterable[list[Any]]:
    tenders = ";".join(f"{t.get('type')}:{t.get('amount')}" for t in receipt.get("tenders", []))
    base = [receipt.get("receipt_id"), receipt.get("seq"), receipt.get("kind"), receipt.get("created_at"),
            receipt.get("offline"), receipt.get("clerk_id"), receipt.get("currency")]
    tail = [receipt.get("totals", {}).get("total"), tenders, receipt.get("refund_of") or ""]
    lines = receipt.get("lines") or [{}]
    for number, line in enumerate(lines, start=1):
        yield base + [number if line else "", line.get("sku", ""), line.get("name", ""), line.get("qty", ""),
                      line.get("unit_price", ""), line.get("discount", ""), line.get("tax_code", ""),
                      line.get("amount", "")] + tail


def export_receipts(
    receipts: Iterable[dict[str, Any]],
    directory: Path,
    stem: str,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write `{stem}-lines.csv` and `{stem}-receipts.json` into `directory`; return the count.

    Streamed: one receipt at a time goes to both files (memory stays flat with 100k receipts), and the JSON
    array holds one receipt per line, written by the json module's C encoder.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines_csv = directory / f"{stem}-lines.csv"
    receipts_json = directory / f"{stem}-receipts.json"
    count = 0
    with atomic_writer(lines_csv) as csv_out, atomic_writer(receipts_json) as json_out:
        text = io.TextIOWrapper(csv_out, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(LINE_COLUMNS)
        json_out.write(b"[")
        for receipt in receipts:
            writer.writerows(_rows(receipt))
            json_out.write(b",\n" if count else b"\n")
            json_out.write(json.dumps(receipt, ensure_ascii=False).encode("utf-8"))
            count += 1
            if progress is not None:
                progress(1)
        json_out.write(b"\n]\n" if count else b"]\n")
        text.flush()
        text.detach()  # the writer closes csv_out itself, after its fsync
    return ExportResult(count, lines_csv, receipts_json)


def unconfirmed_receipts(journal: Any) -> Iterable[dict[str, Any]]:
    """Every receipt the fleet has not confirmed yet (pending, delivered or quarantined), in seq order."""
    for seq in journal.unconfirmed_seqs():  # confirmed ones are never read
        receipt = journal.get_seq(seq)
        if receipt is not None:
            yield receipt


def receipts_between(journal: Any, start: datetime, end: datetime) -> Iterable[dict[str, Any]]:
    """Receipts created in [start, end) by their device time, in seq order (archived ones included)."""
    low, high = iso_utc(start), iso_utc(end)
    for receipt in journal.iter_receipts():
        if low <= receipt.get("created_at", "") < high:
            yield receipt
