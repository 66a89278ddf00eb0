"""A file layer that forgets unsynced writes at a simulated power cut (after LevelDB's fault-injection test).

It remembers, per file, what each write since the file's last fsync
overwrote and the size at that fsync, and per directory the entries
created, renamed or removed since its last fsync. `power_cut()` undoes all
of that on the real files, so what is left is exactly what a kernel that
lost its page cache would have kept; from then on every operation fails
with EIO, as the dead process would see. `fail_when` injects errors (EIO,
ENOSPC) on chosen operations.
"""

from __future__ import annotations

import collections
import errno
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from firmware.journal.fileops import FileOps

# a directory change to undo at a crash: ("create", path), ("rename", src, dst, dst's old bytes or None),
# ("unlink", path, its bytes), ("mkdir", path)
_DirOp = (tuple[Literal["create"], str] | tuple[Literal["rename"], str, str, bytes | None]
          | tuple[Literal["unlink"], str, bytes] | tuple[Literal["mkdir"], str])


@dataclass
class _FileLog:
    synced_size: int
    undo: list[tuple[int, bytes]] = field(default_factory=list)  # (offset, bytes that were there)


class FaultFileOps(FileOps):
    """FileOps that tracks durability and can cut the power. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._fds: dict[int, str] = {}
        self._files: dict[str, _FileLog] = {}
        self._dir_ops: dict[str, list[_DirOp]] = {}
        self.dead = False
        self.fail_when: Callable[[str, str], int | None] = lambda op, path: None
        self.syncs = 0
        self.syncs_by_path: collections.Counter[str] = collections.Counter()
        self.cut_after: int | None = None  # cut the power when this many more operations have run
        self.partial_rng: random.Random | None = None  # keep a random prefix of the last unsynced write

    # -- bookkeeping

    def _check(self, op: str, path: str) -> None:
        if self.dead:
            raise OSError(errno.EIO, "power is off")
        if self.cut_after is not None:
            self.cut_after -= 1
            if self.cut_after <= 0:
                self.power_cut()
                raise OSError(errno.EIO, f"power cut during {op} {path}")
        code = self.fail_when(op, path)
        if code:
            raise OSError(code, f"injected {os.strerror(code)} on {op} {path}")

    def _track(self, path: str) -> _FileLog:
        entry = self._files.get(path)
        if entry is None:
            size = os.path.getsize(path) if os.path.exists(path) else 0
            entry = self._files[path] = _FileLog(size)
        return entry

    def _dir_op(self, path: str, op: _DirOp) -> None:
        self._dir_ops.setdefault(os.path.dirname(path), []).append(op)

    # -- primitives

    def open(self, path: str, flags: int, mode: int = 0o600) -> int:
        with self._lock:
            self._check("open", path)
            existed = os.path.exists(path)
            if flags & os.O_WRONLY:
                flags = (flags & ~os.O_WRONLY) | os.O_RDWR  # so a write can read what it overwrites
            if existed and flags & os.O_TRUNC:
                entry = self._track(path)
                entry.undo.append((0, FileOps.read_file(self, path)))
            fd = os.open(path, flags, mode)
            self._fds[fd] = path
            if not existed:
                self._files[path] = _FileLog(0)
                self._dir_op(path, ("create", path))
            return fd

    def close(self, fd: int) -> None:
        with self._lock:
            if self._fds.pop(fd, None) is not None:
                os.close(fd)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        with self._lock:
            path = self._fds.get(fd, "?")
            self._check("pwrite", path)
            entry = self._track(path)
            entry.undo.append((offset, os.pread(fd, len(data), offset)))
            return os.pwrite(fd, data, offset)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        with self._lock:
            self._check("pread", self._fds.get(fd, "?"))
            return os.pread(fd, size, offset)

    def _sync(self, fd: int, op: str) -> None:
        with self._lock:
            path = self._fds.get(fd, "?")
            self._check(op, path)
            entry = self._track(path)
            entry.undo.clear()
            entry.synced_size = os.fstat(fd).st_size
            self.syncs += 1
            self.syncs_by_path[path] += 1

    def fsync(self, fd: int) -> None:
        self._sync(fd, "fsync")

    def fdatasync(self, fd: int) -> None:
        self._sync(fd, "fdatasync")

    def ftruncate(self, fd: int, size: int) -> None:
        with self._lock:
            path = self._fds.get(fd, "?")
            self._check("ftruncate", path)
            entry = self._track(path)
            current = os.fstat(fd).st_size
            if size < current:
                entry.undo.append((size, os.pread(fd, current - size, size)))
            os.ftruncate(fd, size)

    def size(self, fd: int) -> int:
        with self._lock:
            self._check("size", self._fds.get(fd, "?"))
            return os.fstat(fd).st_size

    def rename(self, src: str, dst: str) -> None:
        with self._lock:
            self._check("rename", dst)
            old_dst = FileOps.read_file(self, dst) if os.path.exists(dst) else None
            os.replace(src, dst)
            self._files[dst] = self._files.pop(src, _FileLog(os.path.getsize(dst)))
            self._dir_op(dst, ("rename", src, dst, old_dst))

    def unlink(self, path: str) -> None:
        with self._lock:
            self._check("unlink", path)
            content = FileOps.read_file(self, path)
            os.unlink(path)
            self._files.pop(path, None)
            self._dir_op(path, ("unlink", path, content))

    def mkdir(self, path: str) -> None:
        with self._lock:
            self._check("mkdir", path)
            os.mkdir(path)
            self._dir_op(path, ("mkdir", path))

    def fsync_dir(self, path: str) -> None:
        with self._lock:
            self._check("fsync_dir", path)
            # no real sync: what survives a cut is decided by this bookkeeping, not by the disk
            self._dir_ops.pop(os.path.normpath(path), None)
            self._dir_ops.pop(path, None)
            self.syncs += 1

    def listdir(self, path: str) -> list[str]:
        with self._lock:
            self._check("listdir", path)
            return os.listdir(path)

    def exists(self, path: str) -> bool:
        with self._lock:
            self._check("exists", path)
            return os.path.exists(path)

    # -- the power cut

    def power_cut(self) -> list[str]:
        """Undo everything not yet synced; afterwards every call fails. Returns what was undone."""
        with self._lock:
            undone = []
            for fd in list(self._fds):
                os.close(fd)
            self._fds.clear()
            for path, entry in self._files.items():
                if not entry.undo or not os.path.exists(path):
                    continue
                fd = os.open(path, os.O_RDWR)
                try:
                    for i, (offset, old) in enumerate(reversed(entry.undo)):
                        if i == 0 and self.partial_rng is not None and old:
                            # the newest write reached the disk only in part: its first k bytes stay
                            k = self.partial_rng.randrange(len(old))
                            offset, old = offset + k, old[k:]
                        os.pwrite(fd, old, offset)
                    os.ftruncate(fd, entry.synced_size)
                finally:
                    os.close(fd)
                undone.append(f"{os.path.basename(path)}: back to {entry.synced_size} bytes")
            for directory, ops in self._dir_ops.items():
                for op in reversed(ops):
                    if op[0] == "create" and os.path.exists(op[1]):
                        os.unlink(op[1])
                    elif op[0] == "rename":
                        _, src, dst, old_dst = op
                        if os.path.exists(dst):
                            os.replace(dst, src)
                        if old_dst is not None:
                            with open(dst, "wb") as fh:
                                fh.write(old_dst)
                    elif op[0] == "unlink":
                        with open(op[1], "wb") as fh:
                            fh.write(op[2])
                    elif op[0] == "mkdir" and os.path.isdir(op[1]):
                        for name in os.listdir(op[1]):
                            os.unlink(os.path.join(op[1], name))
                        os.rmdir(op[1])
                    undone.append(f"{directory}: undid {op[0]} {op[1]}")
            self.dead = True
            return undone
