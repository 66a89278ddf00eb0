"""`export-pending DIR`: every receipt the fleet has not confirmed, as CSV and JSON, and the unsent time clock
punches and e-mail requests as JSON (provisioning/unsent_records.py), remembered for `reset`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware.atomicfile import owner_of_dir, write_atomic
from firmware.config import Config
from firmware.errors import KassaError
from firmware.exports import ExportRefused, export_receipts, unconfirmed_receipts
from provisioning.errors import InputRejected, ProvisionError
from provisioning.journal_access import journal_exists, open_journal
from provisioning.unsent_records import read_unsent, write_unsent

__all__ = ["MANIFEST", "Exported", "export_pending", "exported_seqs"]

MANIFEST = "exported.json"


@dataclass(frozen=True)
class Exported:
    count: int
    files: list[Path]
    records: int = 0  # unsent punches and e-mail requests written


def exported_seqs(data_dir: Path, epoch: str) -> set[int]:
    """Seqs of this journal epoch that some export-pending has written out."""
    try:
        doc = json.loads((Path(data_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return set()
    return {int(s) for e in doc.get("exports", []) if e.get("epoch") == epoch for s in e.get("seqs", [])}


def _remember(data_dir: Path, entry: dict[str, Any]) -> None:
    path = Path(data_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = {"exports": []}
    doc["exports"].append(entry)
    write_atomic(path, json.dumps(doc, indent=1).encode("utf-8"), 0o600, owner=owner_of_dir(path.parent))


def export_pending(config: Config, directory: Path, *, start: Callable[[int], None] = lambda total: None,
                   advance: Callable[[int], None] = lambda n: None) -> Exported:
    """Write the unconfirmed receipts into `directory`; `start(total)`, `advance(1)` per receipt: a progress bar."""
    if not journal_exists(config):
        raise ProvisionError(f"no journal in {config.device.data_dir}: nothing to export")
    now = datetime.now(UTC)
    with open_journal(config) as journal:
        s = journal.summary()
        start(s.pending + s.delivered + s.quarantined)
        seqs: list[int] = []

        def receipts():  # noqa: ANN202
            for receipt in unconfirmed_receipts(journal):
                seqs.append(receipt.seq)
                yield receipt

        stem = f"kassa-{config.device.store}-{config.device.register}-pending-{now:%Y%m%dT%H%M%SZ}"
        try:
            result = export_receipts(
                receipts(), Path(directory), stem, progress=advance, data_dir=config.device.data_dir,
                currency_display=config.shop.currency_display,
            )
        except ExportRefused as exc:
            raise InputRejected(f"{exc}; nothing was exported") from None
        except OSError as exc:
            if isinstance(exc, KassaError):
                raise
            raise ProvisionError(
                f"cannot write to {directory} ({exc.strerror or exc}): is the USB stick mounted and writable?"
            ) from None
        files = [result.lines_csv, result.receipts_json]
        unsent = read_unsent(journal)
        if unsent:
            files.append(write_unsent(Path(directory), stem, unsent))
        _remember(
            Path(config.device.data_dir),
            {
                "at": now.isoformat(timespec="seconds"),
                "epoch": journal.epoch,
                "seqs": seqs,
                "records": unsent.ids,
                "files": [str(f) for f in files],
            },
        )
    return Exported(result.receipts, files, len(unsent.ids))
