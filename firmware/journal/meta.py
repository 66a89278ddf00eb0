"""The journal's identity file (format, store, register, epochs) and the high-water mark kept outside it.

`meta.json` is written atomically when the journal is created and whenever
a new epoch opens (`Journal.open_epoch`). Format 2 adds `epochs`, one entry
per epoch (`epoch`, `first_seq`, `opened_at`, `reason`), oldest first; `epoch`
stays the current one, so format-1 readers see the identity they know. A
format-1 file (no `epochs`) is one epoch from seq 1. The
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

FORMAT = 2  # 2: `epochs`; format 1 is read as one epoch from seq 1
META = "meta.json"
HWM = ".kassa-hwm"


@dataclass(frozen=True)
class Epoch:
    """One epoch of a journal: its receipts are seq `first_seq` up to the next epoch's first_seq - 1."""

    epoch: str
    first_seq: int
    opened_at: str
    reason: str

    def as_dict(self) -> dict[str, str | int]:
        return {"epoch": self.epoch, "first_seq": self.first_seq, "opened_at": self.opened_at, "reason": self.reason}


@dataclass(frozen=True)
class Meta:
    store: str
    register: str
    epoch: str
    created_at: str
    format: int = FORMAT
    epochs: tuple[Epoch, ...] = ()

    def __post_init__(self) -> None:
        if not self.epochs:  # a format-1 journal: one epoch from seq 1
            object.__setattr__(self, "epochs", (Epoch(self.epoch, 1, self.created_at, "created"),))


def new_epoch() -> str:
    return secrets.token_hex(4)


def read_meta(ops: FileOps, directory: str) -> Meta | None:
    path = os.path.join(directory, META)
    if not ops.exists(path):
        return None
    try:
        raw: dict[str, Any] = json.loads(ops.read_file(path))  # Any: meta.json, JSON read from disk
        fmt = int(raw["format"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalCorrupt(f"journal identity file {path} is unreadable ({exc}); left untouched: "
                             "call service") from None
    if fmt > FORMAT:
        raise JournalMismatch(
            f"journal {directory} has format {fmt}, newer than this firmware understands ({FORMAT}): "
            "install the firmware that wrote it; the journal was left untouched"
        )
    try:
        epochs = tuple(Epoch(str(e["epoch"]), int(e["first_seq"]), str(e.get("opened_at", "")),
                             str(e.get("reason", ""))) for e in raw.get("epochs") or ())
        meta = Meta(raw["store"], raw["register"], raw["epoch"], raw.get("created_at", ""), fmt, epochs)
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalCorrupt(f"journal identity file {path} is unreadable ({exc}); left untouched: "
                             "call service") from None
    firsts = [e.first_seq for e in meta.epochs]
    if firsts[0] != 1 or firsts != sorted(firsts) or meta.epochs[-1].epoch != meta.epoch \
            or len({e.epoch for e in meta.epochs}) != len(meta.epochs):
        raise JournalCorrupt(f"journal identity file {path} lists inconsistent epochs; left untouched: call service")
    return meta


def write_meta(ops: FileOps, directory: str, meta: Meta) -> None:
    body = {"format": FORMAT, "store": meta.store, "register": meta.register,
            "epoch": meta.epoch, "created_at": meta.created_at, "epochs": [e.as_dict() for e in meta.epochs]}
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
