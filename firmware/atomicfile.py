"""Write a whole file so that a power cut leaves either the old or the new content, never half.

temp file in the same directory -> write -> fsync -> rename over -> fsync the
directory. Used for config, catalog and clerk stores, journal snapshots.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from firmware.errors import JournalFull


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a directory's entries (new, renamed, removed files) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` durably. Raises JournalFull on ENOSPC/EFBIG, OSError otherwise."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise JournalFull(f"no space left to write {path}: free disk space, then retry") from exc
        raise
