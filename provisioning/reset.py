"""`reset`: archive the journal and the local stores; refused while the fleet has not confirmed every receipt,
time clock punch and e-mail request (unless exported, and `--force`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware.atomicfile import fsync_dir
from firmware.config import Config
from firmware.exports import unconfirmed_receipts
from provisioning import configfile
from provisioning.errors import ResetRefused
from provisioning.journal_access import HWM, JOURNAL_DIR, journal_exists, open_journal, service_active
from provisioning.pending_export import MANIFEST, exported_seqs
from provisioning.unsent_records import Unsent, exported_record_ids, read_unsent, unsent_refusal

__all__ = ["ResetDone", "reset_device"]

ARCHIVED = (JOURNAL_DIR, HWM, MANIFEST, "catalog.json", "clerks.json")


@dataclass(frozen=True)
class ResetDone:
    archive: Path | None
    unconfirmed: int
    removed: list[Path]
    unsent_records: int = 0  # exported, unconfirmed punches and e-mail requests archived (with --force)


def _unconfirmed(config: Config) -> tuple[list[int], str, Unsent]:
    with open_journal(config, live=False) as journal:
        return [r.seq for r in unconfirmed_receipts(journal)], journal.epoch, read_unsent(journal)


def _manifest(data_dir: Path) -> dict[str, Any]:  # Any: the export manifest's JSON
    try:
        doc = json.loads((data_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def reset_device(config: Config, config_path: Path, *, force: bool, wipe_config: bool) -> ResetDone:
    """Refuse unless every receipt is fleet-confirmed, or (with `force`) exported; then move the data to an archive."""
    if service_active():
        raise ResetRefused("the register service is running: stop it first (`sudo systemctl stop kassa`), then reset")
    data_dir = Path(config.device.data_dir)
    unconfirmed: list[int] = []
    unsent = Unsent()
    if journal_exists(config):
        unconfirmed, epoch, unsent = _unconfirmed(config)
        if unconfirmed:
            missing = sorted(set(unconfirmed) - exported_seqs(data_dir, epoch))
            if missing:
                raise ResetRefused(
                    f"{len(unconfirmed)} receipt(s) are not confirmed by the fleet and {len(missing)} of them were "
                    f"never exported (seq {missing[0]}{'..' + str(missing[-1]) if len(missing) > 1 else ''}): "
                    "connect the register so they sync, or run `kassa-provision export-pending DIR`, "
                    "then `reset --force`"
                )
            if not force:
                raise ResetRefused(
                    f"{len(unconfirmed)} receipt(s) are exported but not confirmed by the fleet: hand the export to "
                    "the back office, then `reset --force`"
                )
        refusal = unsent_refusal(unsent, exported_record_ids(_manifest(data_dir)), force)
        if refusal is not None:
            raise ResetRefused(refusal)
    archive = None
    present = [name for name in ARCHIVED if (data_dir / name).exists()]
    if present:
        archive = data_dir / "archive" / f"reset-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        archive.mkdir(parents=True)
        for name in present:
            os.replace(data_dir / name, archive / name)
        fsync_dir(archive)
        fsync_dir(data_dir)
    removed: list[Path] = []
    if wipe_config:
        b = config.broker
        for secret in (b.password_file, b.key_file):
            if secret and Path(secret).exists():
                Path(secret).unlink()
                removed.append(Path(secret))
        for extra in (b.cert_file, Path(config_path).parent / "device.csr", Path(config_path)):
            if extra and Path(extra).exists():
                Path(extra).unlink()
                removed.append(Path(extra))
        if configfile.secrets_dir(config_path).exists():
            fsync_dir(configfile.secrets_dir(config_path))
        fsync_dir(Path(config_path).parent)
    return ResetDone(archive, len(unconfirmed), removed, len(unsent.ids))
