"""Secret files (broker password, device key) and the directories the service user must own.

Secrets are written atomically at 0600, owned by the service user when it exists, in a secrets directory that the
service user can enter and nobody else can: root:<service group> 0750 (0700 when there is no service user). The
data dir is 0700 and owned by the service user; an existing directory is only handed over (chown/chmod) when it is
under the documented data root /var/lib/kassa, so a `--data-dir` (or a bundle's data_dir) naming some other
existing directory never changes its owner or mode.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from firmware.atomicfile import make_dirs, open_dir, write_atomic

__all__ = [
    "SERVICE_USER",
    "DATA_ROOT",
    "service_uid_gid",
    "write_secret",
    "hand_to_service_user",
    "prepare_secrets_dir",
    "hand_over_secrets",
    "claim_data_dir",
]

SERVICE_USER = "kassa"
DATA_ROOT = Path("/var/lib/kassa")


def service_uid_gid(user: str = SERVICE_USER) -> tuple[int, int] | None:
    """The service user's (uid, gid), or None when that user does not exist on this system."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def hand_to_service_user(path: Path, user: str = SERVICE_USER) -> str | None:
    """chown `path` (not following a symlink) to the service user; return a warning sentence when that failed."""
    ids = service_uid_gid(user)
    if ids is None:
        return None
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) == ids:
        return None
    try:
        os.chown(path, *ids, follow_symlinks=False)
    except PermissionError:
        return f"{path} is not owned by {user}; run as root or `sudo chown {user}: {path}`"
    return None


def prepare_secrets_dir(directory: Path, user: str = SERVICE_USER) -> str | None:
    """Make `directory` the secrets directory: root:<user's group> 0750 when `user` exists (and we are root), else 0700.

    A symlink there is refused. Returns a warning when the service user could not be let in.
    """
    directory = Path(directory)
    make_dirs(directory.parent, 0o755, 0o755)
    if not os.path.lexists(directory):
        make_dirs(directory, 0o700)
    fd = open_dir(directory)  # UnsafeTarget on a planted symlink
    try:
        ids = service_uid_gid(user)
        if ids is None or ids[0] == os.geteuid():
            os.fchmod(fd, 0o700)
            return None
        if os.geteuid() != 0:
            os.fchmod(fd, 0o700)
            return f"{directory}: only root can let the service user {user} in; run as root (sudo)"
        os.fchown(fd, 0, ids[1])
        os.fchmod(fd, 0o750)
    finally:
        os.close(fd)
    return None


def write_secret(path: Path, data: bytes, user: str = SERVICE_USER) -> str | None:
    """Write a secret at 0600 owned by `user` in a secrets directory it alone can enter; return a warning if any."""
    path = Path(path)
    warning = prepare_secrets_dir(path.parent, user)
    ids = service_uid_gid(user)
    owner = ids if ids is not None and os.geteuid() == 0 else None
    write_atomic(path, data, mode=0o600, owner=owner)
    return warning or (hand_to_service_user(path, user) if owner is None else None)


def hand_over_secrets(directory: Path, files: list[Path | None], user: str = SERVICE_USER) -> list[str]:
    """Let `user` into the secrets `directory` and give it the secret `files` that live there (others are left alone).

    For a secrets dir an earlier `init` made root-only (0700) because the service user did not exist yet:
    `init` run again and `install-service` (which creates the user) both call this.
    """
    directory = Path(directory)
    if not os.path.lexists(directory):
        return []
    warnings = [w for w in [prepare_secrets_dir(directory, user)] if w]
    for file in files:
        if file is None or Path(file).parent != directory or not os.path.lexists(file) or os.path.islink(file):
            continue
        warning = hand_to_service_user(Path(file), user)
        if warning:
            warnings.append(warning)
    return warnings


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def claim_data_dir(data_dir: Path, user: str = SERVICE_USER) -> str | None:
    """Create the data dir 0700 for the service user, or hand over an existing one only under DATA_ROOT.

    Returns a warning sentence for the technician when an existing directory elsewhere was left as it was.
    """
    data_dir = Path(os.path.abspath(data_dir))
    made = make_dirs(data_dir, 0o700, 0o755)
    if not made:
        if os.path.islink(data_dir) or not _under(Path(os.path.realpath(data_dir)), DATA_ROOT):
            ids = service_uid_gid(user)
            st = os.stat(data_dir)
            if ids is not None and (st.st_uid, st.st_gid) != ids or stat.S_IMODE(st.st_mode) & 0o077:
                return (
                    f"{data_dir} already existed outside {DATA_ROOT}: its owner and mode were left as they are; "
                    f"if it is the register's, `sudo chown {user}: {data_dir} && sudo chmod 700 {data_dir}`"
                )
            return None
        fd = open_dir(data_dir)
        try:
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
    return hand_to_service_user(data_dir, user)
