"""Throwaway system users for permission tests: made with useradd --system, removed (with their group) afterwards.

Needs root (the appliance image and CI run the suite as root); as another user the test is skipped with that
reason. As root a failed useradd is a failure, never a skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def throwaway_user(prefix: str = "kt") -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("creating a throwaway system user needs root (CI and the appliance run the tests as root)")
    for tool in ("useradd", "userdel", "runuser"):
        assert shutil.which(tool), f"{tool} is missing on this root test machine (package passwd / util-linux)"
    name = f"{prefix}{secrets.token_hex(4)}"
    done = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    assert done.returncode == 0, f"useradd {name}: {done.stderr.strip()}"
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)  # gone already where USERGROUPS_ENAB is on


def run_as(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`argv` as `user` (runuser: no password, no PAM session), output captured."""
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True, text=True, timeout=60)
