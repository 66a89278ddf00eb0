"""Local copies of the fleet's catalog and clerk roster: versioned, validated elsewhere, applied atomically.

Each store is one JSON file in the data dir written with `write_atomic`, so a
power cut leaves the old or the new version, never a mix. The files are 0600
(clerks.json holds PIN hashes) and, when root writes them (kassa-provision),
owned by whoever owns the data dir: the service user. An older or equal
version than the one held is ignored (retained messages arrive again on every
reconnect). Validation of the payload happens before `apply` (contract models);
this module only keeps versions and bytes straight.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from firmware.atomicfile import make_dirs, owner_of_dir, write_atomic


class VersionedStore:
    """One versioned JSON document (`{"version": int, ...}`) kept in `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Any] | None:  # Any: the JSON document held
        """The document held, or None when there is none yet."""
        try:
            return json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None

    @property
    def version(self) -> int:
        doc = self.load()
        return int(doc["version"]) if doc else -1

    def apply(self, payload: dict[str, Any], *, force: bool = False) -> bool:  # Any: the JSON document
        """Store `payload` if its version is newer (or `force`); return whether it was applied."""
        if not force and int(payload["version"]) <= self.version:
            return False
        make_dirs(self.path.parent, 0o700)
        write_atomic(self.path, json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8"), 0o600,
                     owner=owner_of_dir(self.path.parent))
        return True


def catalog_store(data_dir: Path) -> VersionedStore:
    return VersionedStore(Path(data_dir) / "catalog.json")


def clerk_store(data_dir: Path) -> VersionedStore:
    return VersionedStore(Path(data_dir) / "clerks.json")
