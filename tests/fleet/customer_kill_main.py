"""A register process for the SIGKILL test (tests/fleet/test_fleet_customers_sync.py): offline, it saves one
customer through `Register.handle`, says the id on stdout once the command returned, and waits to be killed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.register.commands import SaveCustomer


def main(data_dir: str, register: str, name: str) -> None:
    data = Path(data_dir)
    pins = seed_demo(data)
    config = demo_config(data, broker_url="mqtt://127.0.0.1:9", device={"register": register},
                         hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, with_sync=False, demo_pins=pins, ntp_synced=lambda: True)
    assert reg.login("c1", "1111").ok
    out = reg.handle(SaveCustomer((("name", name), ("phone", "+49 30 1234567"))))
    assert out.ok, out.message
    print(f"saved {out.data.customer_id}", flush=True)
    time.sleep(3600)  # SIGKILL comes first


if __name__ == "__main__":
    main(*sys.argv[1:4])
