"""The one secret-file reader (broker password, device key): mode 0600 or a SecretFileError naming the `chmod`."""

from __future__ import annotations

import stat
from pathlib import Path

from firmware.contract.errors import SecretFileError

__all__ = ["check_private", "read_secret"]


def check_private(path: Path, what: str) -> None:
    """SecretFileError when `path` is missing, unreadable, or readable by group or others."""
    try:
        st = Path(path).stat()
    except OSError as exc:
        raise SecretFileError(f"{what} file {path}: cannot read ({exc.strerror})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(f"{what} file {path} is readable by others; run `chmod 600 {path}`")


def read_secret(path: Path, what: str) -> str:
    """The stripped text of a secret file that only its owner can read (else SecretFileError, a ConfigError)."""
    check_private(path, what)
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"{what} file {path}: cannot read ({exc.strerror})") from None
