"""The journal's identity file (format, store, register, epoch) and the high-water mark kept outside it.

`meta.json` is written once, atomically, when the journal is created. The
high-water mark (`<data_dir>/.kassa-hwm`, beside the journal directory, not
inside it) records the epoch and the highest seq known durable; it is
updated off the commit path. If the journal later opens empty, missing,
from another epoch or shorter than the mark, receipts were lost: the open
is refused instead of starting a fresh database the way TinyDB would.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from firmware.errors import JournalCorrupt, JournalMismatch
from firmware.journal.fileops import FileOps

FORMAT = 1
META = "meta.json"
HWM = ".kassa-hwm"


@dataclass(frozen=True)
class Meta:
    store: str
    register: str
    epoch: str
    created_at: str
    format: int = FORMAT


def new_epoch() -> str:
    return secrets.token_hex(4)


def read_meta(ops: FileOps, directory: str) -> Meta | None:
    path = os.path.join(directory, META)
    if not ops.exists(path):
        return None
    try:
        raw: dict[str, Any] = json.loads(ops.read_file(path))
        fmt = int(raw["format"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalCorrupt(f"journal identity file {path} is unreadable ({exc}); left untouched: call service") from None
    if fmt > FORMAT:
        raise JournalMismatch(
            f"journal {directory} has format {fmt}, newer than this firmware understands ({FORMAT}): "
            "install the firmware that wrote it; the journal was left untouched"
        )
    return Meta(raw["store"], raw["register"], raw["epoch"], raw.get("created_at", ""), fmt)


def write_meta(ops: FileOps, directory: str, meta: Meta) -> None:
    body = {"format": meta.format, "store": meta.store, "register": meta.register,
            "epoch": meta.epoch, "created_at": meta.created_at}
    ops.write_atomic(os.path.join(directory, META), json.dumps(body, indent=1).encode())


@dataclass(frozen=True)
class HighWater:
    store: str
    register: str
    epoch: str
    seq: int


def read_hwm(ops: FileOps, path: str) -> HighWater | None:
    if not ops.exists(path):
        return None
    try:
        raw = json.loads(ops.read_file(path))
        return HighWater(raw["store"], raw["register"], raw["epoch"], int(raw["seq"]))
    except (ValueError, KeyError, TypeError):
        # A mark we cannot read proves nothing either way; it is rewritten at the next update.
        return None


def write_hwm(ops: FileOps, path: str, mark: HighWater) -> None:
    body = {"store": mark.store, "register": mark.register, "epoch": mark.epoch, "seq": mark.seq}
    ops.write_atomic(path, json.dumps(body).encode())
