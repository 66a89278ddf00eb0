"""A real, tiny tmpfs for disk-full tests: mounted for the test, lazily unmounted after.

Mounting needs root, which the appliance image and CI have. As another user
the test is skipped with that reason (RLIMIT_FSIZE tests cover disk-full
without root); as root a failed mount is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess
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


@contextmanager
def usb_stick(mount_point: Path, size: str = "16m") -> Iterator[Path]:
    """A real mounted file system to export to, the way a USB stick is (root: a tmpfs mounted for the test).

    Without root nothing can be mounted: the export's mount rule is switched off the documented lab way
    (KASSA_EXPORT_ALLOW_UNMOUNTED=1) so the other export rules are still tested; tests of the mount rule itself
    need root and skip without it.
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
    with tiny_tmpfs(mount_point, size) as mounted:
        yield mounted
