"""What the register's SIGKILL children share: a demo register on a data dir, without sync, with c1 logged in.

The children (`python -m tests.firmware.register.<name>_child DATA_DIR ...`) print "ready", then one line per
thing the register said is saved; the tests kill them at random moments (tests/support/kill_loop.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from firmware.bootstrap import bootstrap, demo_config, seed_demo  # noqa: E402
from firmware.clock import Clock  # noqa: E402
from firmware.register import Register  # noqa: E402


def child_register(data_dir: str | Path, clock: Clock | None = None, **sections: dict[str, Any]) -> Register:
    data = Path(data_dir)
    pins = seed_demo(data)
    config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"},
                         **sections)
    reg = bootstrap(config, clock=clock, with_sync=False, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    return reg
