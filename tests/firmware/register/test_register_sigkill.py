"""Parked carts survive SIGKILL: every park the child reported done is there after a restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.firmware.register.conftest import RegisterRig

pytestmark = pytest.mark.slow  # SIGKILLs the register process mid-sale

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def run_and_kill(data_dir, rng) -> list[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.firmware.register.park_child", str(data_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"},
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.0, 0.15))
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate(timeout=10)
    return [line for line in out.splitlines() if line]


def test_parked_carts_survive_sigkill_at_random_moments(tmp_path):
    rng = random.Random(7)
    data = tmp_path / "data"
    reported: list[str] = []
    for _ in range(8):
        reported += run_and_kill(data, rng)
    assert len(reported) > 8, "the child parked almost nothing before being killed"
    rig = RegisterRig(data)
    reg = rig.start()
    try:
        kept = {p.park_id for p in reg.parked()}
        assert set(reported) <= kept
        assert len(kept) - len(reported) <= 8  # at most the one in flight at each kill
    finally:
        rig.stop()
