"""Secret files (broker password, device key): written atomically at 0600, owned by the service user when it exists."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from firmware.atomicfile import write_atomic

__all__ = ["SERVICE_USER", "service_uid_gid", "write_secret", "hand_to_service_user"]

SERVICE_USER = "kassa"


def service_uid_gid(user: str = SERVICE_USER) -> tuple[int, int] | None:
    """The service user's (uid, gid), or None when that user does not exist on this system."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def hand_to_service_user(path: Path, user: str = SERVICE_USER) -> str | None:
    """chown `path` to the service user; return a warning sentence when that was not possible."""
    ids = service_uid_gid(user)
    if ids is None:
        return None
    if (os.stat(path).st_uid, os.stat(path).st_gid) == ids:
        return None
    try:
        os.chown(path, *ids)
    except PermissionError:
        return f"{path} is not owned by {user}; run as root or `sudo chown {user}: {path}`"
    return None


def write_secret(path: Path, data: bytes, user: str = SERVICE_USER) -> str | None:
    """Write a secret at 0600 in a 0700 directory; return a warning when ownership could not be handed over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, data, mode=0o600)
    warning = hand_to_service_user(path, user)
    return warning
