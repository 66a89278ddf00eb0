"""The one way Kassa writes a whole file: a power cut leaves the old or the new content, never half, and a planted link
is never followed.

    open the directory (O_DIRECTORY) -> create a temp file in it with O_CREAT|O_EXCL|O_NOFOLLOW and a random name
    (what tempfile.mkstemp does, but relative to the opened directory's fd) -> fchmod/fchown that fd -> write ->
    fsync -> rename over the target (inside the same directory fd) -> fsync the directory.

So a symlink planted at the temp name makes the create fail instead of truncating what it points to; a symlink (or
anything that is not a regular file) planted at the target name is refused (`UnsafeTarget`) instead of being
replaced; the mode is set on our own fd, never through a path. The mode defaults to 0600: a file only its owner
reads; callers that write public files (the config, a CA, a CSR, the systemd unit) say so.

Used for the config, secrets, catalog and clerk stores, bundles, the export manifest and (streamed through
`atomic_writer`, with a directory fd pinned by `firmware.exports`) exports; and by the fleet's tools for their key
pair and publish state (so it lives in `firmware.contract`, the one part of the firmware the fleet may import;
`firmware.atomicfile` keeps the register's import path). The journal writes its own segments (through its
injectable `FileOps`, with the same random O_EXCL|O_NOFOLLOW temp names).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from firmware.errors import JournalFull

__all__ = ["UnsafeTarget", "fsync_dir", "open_dir", "atomic_writer", "write_atomic", "make_dirs", "DEFAULT_MODE",
           "owner_of_dir"]

DEFAULT_MODE = 0o600
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeTarget(OSError):
    """The place to write is a symlink or not a regular file/directory: refused, nothing was written."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        super().__init__(errno.ELOOP, f"{path} {what}; refusing to write there", str(path))
        self.sentence = f"{path} {what}"

    def __str__(self) -> str:
        return f"{self.sentence}; refusing to write there"


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a directory's entries (new, renamed, removed files) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_dir(path: str | os.PathLike[str], *, nofollow: bool = True) -> int:
    """An fd on directory `path`; with `nofollow` a symlink as the last component is refused (UnsafeTarget)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (os.O_NOFOLLOW if nofollow else 0)
    try:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (nofollow and exc.errno == errno.ENOTDIR and os.path.islink(path)):
            raise UnsafeTarget(path, "is a symbolic link") from None
        raise


def owner_of_dir(directory: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(uid, gid) for a file root writes into `directory` (the data dir), so the service user owning it can read it.

    None when not root (our files are ours anyway) or the directory is root's.
    """
    if os.geteuid() != 0:
        return None
    st = os.stat(directory)
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def _check_target(dir_fd: int, name: str, shown: str) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeTarget(shown, "is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeTarget(shown, "exists and is not a regular file")


@contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    mode: int = DEFAULT_MODE,
    *,
    dir_fd: int | None = None,
    owner: tuple[int, int] | None = None,
) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: it replaces `path` durably on a clean exit, never half.

    With `dir_fd`, `path`'s last component is taken inside that already opened (and checked) directory, whatever
    the rest of `path` says; without it the parent directory is opened here. `owner` (uid, gid) is set with fchown
    before the file gets its name. On an exception the temp file goes and `path` is untouched.
    """
    path = Path(path)
    name = path.name
    own_fd = dir_fd is None
    dfd = open_dir(path.parent, nofollow=False) if dir_fd is None else dir_fd
    tmp = None
    try:
        _check_target(dfd, name, str(path))
        for _ in range(100):
            candidate = f".{name}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(candidate, _CREATE, 0o600, dir_fd=dfd)
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:  # pragma: no cover - 100 collisions of 48 random bits
            raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))
        try:
            os.fchmod(fd, mode)
            if owner is not None:
                os.fchown(fd, *owner)
            with os.fdopen(fd, "wb", closefd=True) as out:
                fd = -1
                yield out
                out.flush()
                os.fsync(out.fileno())
        finally:
            if fd >= 0:
                os.close(fd)
        _check_target(dfd, name, str(path))  # planted while we were writing: still refused
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        tmp = None
        os.fsync(dfd)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
        if own_fd:
            os.close(dfd)


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    mode: int = DEFAULT_MODE,
    *,
    dir_fd: int | None = None,
    owner: tuple[int, int] | None = None,
) -> None:
    """Replace `path` with `data` durably (see `atomic_writer`).

    Raises JournalFull on ENOSPC/EFBIG, OSError otherwise."""
    try:
        with atomic_writer(path, mode, dir_fd=dir_fd, owner=owner) as out:
            out.write(data)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise JournalFull(f"no space left to write {path}: free disk space, then retry") from exc
        raise


def make_dirs(path: str | os.PathLike[str], mode: int = 0o700, parent_mode: int = 0o755) -> list[Path]:
    """Create `path` and its missing parents; return the ones made here (outermost first).

    Modes are set explicitly (chmod on an fd opened with O_NOFOLLOW), so they do not depend on the umask: the
    leaf gets `mode`, parents made on the way `parent_mode` (so a service user can still walk through them).
    Directories that already existed are left exactly as they were.
    """
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe):
        missing.append(probe)
        probe = probe.parent
    made: list[Path] = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made by someone else meanwhile: not ours to change
        fd = open_dir(directory)
        try:
            os.fchmod(fd, mode if directory == path else parent_mode)
        finally:
            os.close(fd)
        made.append(directory)
    if not made and not os.path.isdir(path):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path))
    return made
