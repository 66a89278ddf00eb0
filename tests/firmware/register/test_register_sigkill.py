"""Parked carts survive SIGKILL: every park the child reported done is there after a restart."""

from __future__ import annotations

import pytest

from tests.firmware.register.conftest import RegisterRig
from tests.support.kill_loop import kill_at_random

pytestmark = pytest.mark.slow  # SIGKILLs the register process mid-sale


def test_parked_carts_survive_sigkill_at_random_moments(tmp_path):
    data = tmp_path / "data"
    reported = kill_at_random("tests.firmware.register.park_child", str(data), runs=8, seed=7, wait=(0.0, 0.15))
    assert len(reported) > 8, "the child parked almost nothing before being killed"
    rig = RegisterRig(data)
    reg = rig.start()
    try:
        kept = {p.park_id for p in reg.parked()}
        assert set(reported) <= kept
        assert len(kept) - len(reported) <= 8  # at most the one in flight at each kill
    finally:
        rig.stop()
