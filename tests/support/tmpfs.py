"""A real, tiny tmpfs for disk-full tests: mounted for the test, lazily unmounted after.

Mounting needs root, which the appliance image and CI have. As another user
the test is skipped with that reason (RLIMIT_FSIZE tests cover disk-full
without root); as root a failed mount is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tiny_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    mount_point.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip(f"mounting a {size} tmpfs needs root (CI and the appliance run as root); "
                    "the RLIMIT_FSIZE tests cover disk-full without it")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"cannot mount a tmpfs as root: {done.stderr.strip()}"
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


MEDIA = Path("/run/media")  # where the automounter puts sticks; the export rule accepts mounts below it


@contextmanager
def media_tmpfs(name: str = "usb", size: str = "16m") -> Iterator[Path]:
    """A real tmpfs mounted where sticks are mounted (/run/media/kassa-test-<random>/<name>), so the export's
    removable-medium rule accepts it as it accepts a stick (a tmpfs anywhere else is refused: not removable).

    Root only (skipped otherwise, like `tiny_tmpfs`). Unmounted and removed after; /run/media stays.
    """
    if os.geteuid() != 0:
        pytest.skip(f"mounting a {size} tmpfs stick needs root (CI and the appliance run as root)")
    MEDIA.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix="kassa-test-", dir=MEDIA))
    try:
        with tiny_tmpfs(holder / name, size) as mounted:
            yield mounted
    finally:
        shutil.rmtree(holder, ignore_errors=True)  # only once unmounted: the mount point is empty by then


@contextmanager
def usb_stick(mount_point: Path, size: str = "16m") -> Iterator[Path]:
    """A real mounted file system to export to, the way a USB stick is: as root a tmpfs mounted under
    /run/media (`media_tmpfs`, named after `mount_point`), which the export's mount and removable-medium rules
    accept; use the yielded path.

    Without root nothing can be mounted: the export's mount rule is switched off the documented lab way
    (KASSA_EXPORT_ALLOW_UNMOUNTED=1) and `mount_point` is a plain folder, so the other export rules are still
    tested; tests of the mount rule itself need root and skip without it.
    """
    if os.geteuid() != 0:
        previous = os.environ.get("KASSA_EXPORT_ALLOW_UNMOUNTED")
        os.environ["KASSA_EXPORT_ALLOW_UNMOUNTED"] = "1"
        mount_point.mkdir(parents=True, exist_ok=True)
        try:
            yield mount_point
        finally:
            if previous is None:
                os.environ.pop("KASSA_EXPORT_ALLOW_UNMOUNTED", None)
            else:
                os.environ["KASSA_EXPORT_ALLOW_UNMOUNTED"] = previous
        return
    with media_tmpfs(mount_point.name, size) as mounted:
        yield mounted
