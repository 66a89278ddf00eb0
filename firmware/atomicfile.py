"""Write a whole file so that a power cut leaves either the old or the new content, never half.

temp file in the same directory -> write -> fsync -> rename over -> fsync the
directory. Used for config, catalog and clerk stores, and (streamed through
`atomic_writer`) exports.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from firmware.errors import JournalFull


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a directory's entries (new, renamed, removed files) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: it replaces `path` durably on a clean exit, never half.

    On an exception the temp file goes and `path` is untouched. For files too big to hold in memory first.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` durably. Raises JournalFull on ENOSPC/EFBIG, OSError otherwise."""
    try:
        with atomic_writer(path, mode) as out:
            out.write(data)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise JournalFull(f"no space left to write {path}: free disk space, then retry") from exc
        raise
