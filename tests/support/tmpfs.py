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
