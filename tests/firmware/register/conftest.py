"""A real register for tests: real journal, demo catalog and clerks, simulated hal backends (no broker)."""

from __future__ import annotations

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.clock import ManualClock

PENCIL = "4006381333931"


class RegisterRig:
    """Builds (and rebuilds, for restart tests) a register on one data dir."""

    def __init__(self, data_dir, **config_sections):
        self.data_dir = data_dir
        self.clock = ManualClock()
        config_sections.setdefault("hardware", {"scanner": "simulated:memory"})
        self.sections = config_sections
        self.register = None

    def start(self, **kwargs):
        pins = seed_demo(self.data_dir)
        config = demo_config(self.data_dir, broker_url="mqtt://127.0.0.1:9", **self.sections)
        self.register = bootstrap(config, clock=self.clock, with_sync=False, demo_pins=pins, **kwargs)
        return self.register

    def restart(self, **kwargs):
        self.register.shutdown()
        return self.start(**kwargs)

    def stop(self):
        if self.register is not None:
            self.register.shutdown()
            self.register = None


@pytest.fixture
def rig(tmp_path):
    r = RegisterRig(tmp_path / "data")
    r.start()
    yield r
    r.stop()


@pytest.fixture
def reg(rig):
    return rig.register


def wait_for(predicate, timeout=5.0):
    """Poll `predicate` until true or `timeout` seconds pass; return its last value."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.01)


def login_cashier(reg):
    assert reg.login("c1", "1111").ok
    return reg


def paid_cash_sale(reg, *codes, given=None):
    """Scan the codes, pay cash, wait for the commit; return the committed receipt's document (as journaled)."""
    for code in codes:
        assert reg.scan(code).ok
    assert reg.tender("cash", given).ok
    reg.wait_idle()
    view = reg.view()
    assert view.phase == "done", view.message
    assert view.last_receipt is not None
    return view.last_receipt.to_doc()
