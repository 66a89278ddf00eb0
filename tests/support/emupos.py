"""emupos (PyPI), an independent POS-device emulator, run as a process for wire-level tests.

It needs Python >= 3.13, so it lives in its own venv, `.venv313` (`scripts/setup-emupos` makes it; the
first test that needs it runs that script). Without a Python >= 3.13 the tests skip and say so; with one, a
failed setup fails them under CI=true. Used by the scale tests and the printed-output tests.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("KASSA_EMUPOS_VENV", ROOT / ".venv313"))
EMUPOS = VENV / "bin" / "emupos"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy

__all__ = ["DIRECT", "EmuposRun", "emupos_binary", "free_port"]


def emupos_binary() -> Path:
    """The emupos executable, set up on first use; skips (no Python 3.13) or fails (under CI) otherwise."""
    if not EMUPOS.exists():
        made = subprocess.run([str(ROOT / "scripts" / "setup-emupos")], capture_output=True, text=True, timeout=600)
        if made.returncode != 0 or not EMUPOS.exists():
            why = (made.stderr.strip().splitlines() or ["scripts/setup-emupos failed"])[-1]
            if made.returncode == 3:  # no Python >= 3.13 on this machine (the issue: skip, saying why)
                pytest.skip(f"emupos needs Python >= 3.13, not available here: {why}")
            if os.environ.get("CI") == "true":
                pytest.fail(f"emupos could not be set up: {why}")
            pytest.skip(f"emupos could not be set up here: {why}")
    return EMUPOS


class EmuposRun:
    """One `emupos run --config <config>` in `tmp`, its log beside it; `stop()` ends it."""

    def __init__(self, tmp: Path, config: str, ready: Callable[[], bool]) -> None:
        """Start it and wait until `ready()` is true (an OSError from `ready` counts as not yet)."""
        (tmp / "emupos.yaml").write_text(config)
        self.log_path = tmp / "emupos.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([str(emupos_binary()), "run", "--config", str(tmp / "emupos.yaml")], cwd=tmp,
                                     env={**os.environ, "TMPDIR": str(tmp)}, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if ready():
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"emupos did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
