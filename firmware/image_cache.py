"""The device's item pictures (docs/item-images.md): a byte-limited cache under `<data dir>/images/`, LRU by last use.

Pictures arrive on the sync thread (one retained message per picture, content-addressed by its SHA-256) and are
read on the UI thread; one lock guards the index. Rules:

- A picture is kept only when the catalog names it (`wanted`: hash -> ImageRef) with that hash, size and type,
  it is at most `MAX_IMAGE_BYTES`, its bytes hash to the name and its header says a PNG or JPEG of at most
  `MAX_SIDE` px a side (the UI decodes it lazily; a file that then fails to decode shows the placeholder).
- The bytes held never exceed `limit`: the least recently used pictures go first; a picture bigger than the
  whole limit is refused.
- Files are written atomically (firmware.contract.atomicfile: temp file, fsync, rename; never through a link);
  reads open with O_NOFOLLOW and check the hash, so a torn, swapped or planted file is dropped, never shown.
- `index.json` keeps the use order across restarts (written atomically, at most every `flush_every` seconds for
  reads); at open every entry is checked against its file (a regular file of the recorded size), files the
  index does not name are removed, and so are temp files a power cut left.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.contract.atomicfile import UnsafeTarget, make_dirs, open_dir, write_atomic
from firmware.contract.images import ItemImage, picture_size
from firmware.domain.catalog import IMAGE_TYPES, MAX_IMAGE_BYTES, ImageRef

__all__ = ["ImageCache", "Verdict", "MAX_SIDE", "image_problem", "picture_size", "wanted_in_payload"]

log = logging.getLogger(__name__)

MAX_SIDE = ItemImage.MAX_SIDE
INDEX = "index.json"
SUFFIX = ".img"


class Verdict(enum.Enum):
    KEPT = "kept"
    ALREADY = "already held"
    NOT_NAMED = "no catalog item names it"
    TOO_BIG = "over the size limit"
    BAD_HASH = "its bytes do not match its hash"
    NOT_AN_IMAGE = "not a small PNG or JPEG"
    REFUSED = "the cache could not store it"


def image_problem(data: bytes, sha256: str, ref: ImageRef | None) -> Verdict | None:
    """Why these bytes may not be kept as picture `sha256` (a Verdict), or None when they may."""
    if ref is None:
        return Verdict.NOT_NAMED
    if len(data) > MAX_IMAGE_BYTES or len(data) != ref.size:
        return Verdict.TOO_BIG if len(data) > MAX_IMAGE_BYTES else Verdict.BAD_HASH
    if hashlib.sha256(data).hexdigest() != sha256:
        return Verdict.BAD_HASH
    found = picture_size(data)
    if found is None or found[0] != ref.type or ref.type not in IMAGE_TYPES or not (
            0 < found[1] <= MAX_SIDE and 0 < found[2] <= MAX_SIDE):
        return Verdict.NOT_AN_IMAGE
    return None


def wanted_in_payload(payload: Mapping[str, Any] | None) -> dict[str, ImageRef]:  # Any: a stored catalog
    """The pictures a stored catalog payload names (it passed the contract's gate before it was stored)."""
    out: dict[str, ImageRef] = {}
    for item in (payload or {}).get("items") or ():
        ref = item.get("image") if isinstance(item, Mapping) else None
        if isinstance(ref, Mapping):
            out[str(ref["sha256"])] = ImageRef(str(ref["sha256"]), int(ref["bytes"]), str(ref["type"]))
    return out


@dataclass
class _Entry:
    size: int
    type: str


class ImageCache:
    """Pictures by SHA-256 under `directory`, at most `limit` bytes in all (see the module's rules)."""

    def __init__(self, directory: str | os.PathLike[str], limit: int, *, flush_every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.dir = Path(directory)
        self.limit = max(0, int(limit))
        self.flush_every = flush_every
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._held = 0
        self._dirty = False
        self._flushed_at = clock()
        self.usable = True
        try:
            make_dirs(self.dir)
            os.close(open_dir(self.dir))  # a link planted as the directory itself: refused
            self._open()
        except OSError as exc:
            log.error("item pictures off: %s", exc)
            self.usable = False

    # ---- the index ---------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            doc = json.loads(self._read_plain(INDEX) or b"{}")
            order = doc.get("order", []) if isinstance(doc, dict) else []
        except (ValueError, OSError):
            order = []
        names = set()
        for row in order:
            if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and isinstance(row[1], int)
                    and isinstance(row[2], str)) or not _is_hash(row[0]):
                continue
            sha, size, kind = row
            st = self._lstat(sha + SUFFIX)
            if st is None or not stat.S_ISREG(st.st_mode) or st.st_size != size or sha in self._entries:
                continue
            self._entries[sha] = _Entry(size, kind)
            self._held += size
            names.add(sha + SUFFIX)
        adopted: list[tuple[str, _Entry]] = []
        for name in sorted(os.listdir(self.dir)):  # what the index does not name: an index lost, a torn write,
            if name == INDEX or name in names:     # a plant, a temp file a power cut left
                continue
            entry = self._adopt(name)
            if entry is None:
                self._remove(name)
            else:
                adopted.append((name.removesuffix(SUFFIX), entry))
        for sha, entry in reversed(adopted):  # kept, as the least recently used
            self._entries[sha] = entry
            self._entries.move_to_end(sha, last=False)
            self._held += entry.size
        self._shrink()
        self._write_index()

    def _adopt(self, name: str) -> _Entry | None:
        """A picture file the index lost, if it is one whole (its bytes hash to its name)."""
        sha = name.removesuffix(SUFFIX)
        if not name.endswith(SUFFIX) or not _is_hash(sha):
            return None
        st = self._lstat(name)
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_IMAGE_BYTES:
            return None
        data = self._read_plain(name)
        found = picture_size(data) if data is not None else None
        if data is None or found is None or hashlib.sha256(data).hexdigest() != sha:
            return None
        return _Entry(len(data), found[0])

    def _write_index(self) -> None:
        rows = [[sha, e.size, e.type] for sha, e in self._entries.items()]
        write_atomic(self.dir / INDEX, json.dumps({"order": rows}, separators=(",", ":")).encode())
        self._dirty = False
        self._flushed_at = self._clock()

    # ---- files -------------------------------------------------------------------------------
    def _lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.lstat(self.dir / name)
        except FileNotFoundError:
            return None

    def _read_plain(self, name: str) -> bytes | None:
        """A file's bytes, never through a link (O_NOFOLLOW), never anything but a regular file."""
        try:
            fd = os.open(self.dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:  # ELOOP: a symlink planted under that name
            log.warning("item picture %s refused: %s", name, exc)
            self._remove(name)
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self._remove(name)
                return None
            with os.fdopen(fd, "rb", closefd=True) as f:
                fd = -1
                return f.read(MAX_IMAGE_BYTES + 1 if name != INDEX else 16 * 1024 * 1024)
        finally:
            if fd >= 0:
                os.close(fd)

    def _remove(self, name: str) -> None:
        try:
            st = os.lstat(self.dir / name)
            if stat.S_ISDIR(st.st_mode):
                log.warning("item pictures: %s is a directory; leaving it", name)
                return
            os.unlink(self.dir / name)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("item pictures: cannot remove %s: %s", name, exc)

    def _drop(self, sha: str) -> None:
        entry = self._entries.pop(sha, None)
        if entry is not None:
            self._held -= entry.size
            self._dirty = True
        self._remove(sha + SUFFIX)

    def _shrink(self) -> None:
        """Drop least recently used pictures until the bytes held are within the limit (a lowered limit)."""
        while self._entries and self._held > self.limit:
            self._drop(next(iter(self._entries)))

    # ---- the sync thread ---------------------------------------------------------------------
    def put(self, sha256: str, data: bytes, wanted: Mapping[str, ImageRef]) -> Verdict:
        """Keep picture `sha256` if the catalog (`wanted`) names it and it passes every check."""
        if not _is_hash(sha256):
            return Verdict.BAD_HASH
        ref = wanted.get(sha256)
        problem = image_problem(data, sha256, ref)
        if problem is not None:
            return problem
        if len(data) > self.limit or not self.usable:
            return Verdict.TOO_BIG if self.usable else Verdict.REFUSED
        with self._lock:
            if sha256 in self._entries:
                self._entries.move_to_end(sha256)
                return Verdict.ALREADY
            while self._entries and self._held + len(data) > self.limit:
                self._drop(next(iter(self._entries)))
            try:
                write_atomic(self.dir / (sha256 + SUFFIX), data, 0o600)
            except (UnsafeTarget, OSError) as exc:
                log.warning("item picture %s not stored: %s", sha256[:12], exc)
                self._remove(sha256 + SUFFIX)
                self._write_index_quietly()
                return Verdict.REFUSED
            assert ref is not None
            self._entries[sha256] = _Entry(len(data), ref.type)
            self._held += len(data)
            self._write_index_quietly()
            return Verdict.KEPT

    def keep_only(self, wanted: Mapping[str, ImageRef]) -> int:
        """Drop every picture no catalog item names now (a new catalog); returns how many went."""
        with self._lock:
            gone = [sha for sha in self._entries if sha not in wanted]
            for sha in gone:
                self._drop(sha)
            if gone:
                self._write_index_quietly()
            return len(gone)

    # ---- the UI thread -----------------------------------------------------------------------
    def read(self, sha256: str) -> bytes | None:
        """The picture's bytes, hash-checked (a torn or swapped file is dropped: None); marks it used."""
        if not _is_hash(sha256) or not self.usable:
            return None
        with self._lock:
            if sha256 not in self._entries:
                return None
            data = self._read_plain(sha256 + SUFFIX)
            if data is None or hashlib.sha256(data).hexdigest() != sha256:
                log.warning("item picture %s is damaged on disk; dropped", sha256[:12])
                self._drop(sha256)
                self._write_index_quietly()
                return None
            self._entries.move_to_end(sha256)
            self._dirty = True
            if self._clock() - self._flushed_at >= self.flush_every:
                self._write_index_quietly()
            return data

    def flush(self) -> None:
        """Write the use order now if it changed (at shutdown)."""
        with self._lock:
            if self._dirty:
                self._write_index_quietly()

    def _write_index_quietly(self) -> None:
        try:
            self._write_index()
        except OSError as exc:
            log.warning("item pictures: index not written: %s", exc)

    # ---- for status and tests ----------------------------------------------------------------
    @property
    def held(self) -> int:
        """Bytes of pictures held now."""
        return self._held

    def order(self) -> list[str]:
        """Hashes held, least recently used first."""
        with self._lock:
            return list(self._entries)

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._entries


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
