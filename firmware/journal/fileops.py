"""The journal's only door to the file system, injectable so tests can cut the power.

Every byte the journal writes and every fsync it asks for goes through a
`FileOps`; `firmware.journal.faults.FaultFileOps` subclasses it to forget
what was not synced, the way a power cut does.
"""

from __future__ import annotations

import errno
import os
import secrets

FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# a temp file is always new: never an existing file, never through a symlink (create_temp)
TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class FileOps:
    """Plain POSIX file operations (subclasses must keep the same semantics)."""

    def open(self, path: str, flags: int, mode: int = 0o600) -> int:
        return os.open(path, flags, mode)

    def close(self, fd: int) -> None:
        os.close(fd)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        return os.pwrite(fd, data, offset)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        return os.pread(fd, size, offset)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def fdatasync(self, fd: int) -> None:
        os.fdatasync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)

    def size(self, fd: int) -> int:
        return os.fstat(fd).st_size

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def mkdir(self, path: str) -> None:
        os.mkdir(path, 0o700)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def statvfs(self, path: str) -> os.statvfs_result:
        return os.statvfs(path)

    # -- composed helpers (built only on the primitives above) --

    def write_all(self, fd: int, data: bytes, offset: int) -> None:
        """pwrite until all of `data` is written (short writes happen near a full disk).

        On failure the OSError carries `written`: how many bytes did reach the file.
        """
        view = memoryview(data)
        done = 0
        while view:
            try:
                n = self.pwrite(fd, bytes(view) if done else data, offset)
                if n <= 0:
                    raise OSError(errno.ENOSPC, "short write")
            except OSError as exc:
                exc.written = done  # type: ignore[attr-defined]
                raise
            view = view[n:]
            offset += n
            done += n

    def read_file(self, path: str) -> bytes:
        fd = self.open(path, os.O_RDONLY)
        try:
            size = self.size(fd)
            chunks = []
            offset = 0
            while offset < size:
                chunk = self.pread(fd, min(size - offset, 1 << 22), offset)
                if not chunk:
                    break
                chunks.append(chunk)
                offset += len(chunk)
            return b"".join(chunks)
        finally:
            self.close(fd)

    def create_temp(self, path: str) -> tuple[str, int]:
        """A new temp file beside `path`, open for writing: (its path, fd).

        Its name is random (`.NAME.<hex>.tmp`, removed at the journal's next open if a crash leaves it) and it
        is created O_EXCL|O_NOFOLLOW: a name planted in the directory (a symlink to a sealed segment, say) is
        never opened, let alone truncated. The rule of firmware.contract.atomicfile, through this injectable layer.
        """
        directory, name = os.path.split(path)
        for _ in range(100):
            tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
            try:
                return tmp, self.open(tmp, TEMP_FLAGS)
            except FileExistsError:
                continue
        raise FileExistsError(errno.EEXIST, "no free temporary name", directory)  # pragma: no cover

    def write_atomic(self, path: str, data: bytes) -> None:
        """Temp file, fsync, rename over, fsync the directory: old or new content, never half."""
        tmp = None
        try:
            tmp, fd = self.create_temp(path)
            try:
                self.write_all(fd, data, 0)
                self.fsync(fd)
            finally:
                self.close(fd)
            self.rename(tmp, path)
        except OSError:
            if tmp is not None:
                try:
                    self.unlink(tmp)
                except OSError:
                    pass
            raise
        self.fsync_dir(os.path.dirname(path) or ".")

    def create_zeroed(self, path: str, size: int) -> bool:
        """Create `path` filled with `size` zero bytes, durable. False when the disk refused the zeros.

        Real zeros (not a sparse ftruncate) so later in-place writes change no
        file size and `fdatasync` has no metadata to journal.
        """
        tmp, fd = self.create_temp(path)
        ok = True
        try:
            try:
                block = b"\0" * (1 << 20)
                offset = 0
                while offset < size:
                    n = min(len(block), size - offset)
                    self.write_all(fd, block[:n], offset)
                    offset += n
            except OSError as exc:
                if exc.errno not in FULL_ERRNOS:
                    raise
                self.ftruncate(fd, 0)
                ok = False
            self.fsync(fd)
        except OSError:
            self.close(fd)
            fd = -1
            try:
                self.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            if fd >= 0:
                self.close(fd)
        self.rename(tmp, path)
        self.fsync_dir(os.path.dirname(path) or ".")
        return ok
