"""Child process for the stock SIGKILL test: clerk c1 sells one or two pencils after another, printing each
receipt's seq once the register said "Paid" (its stock deltas are journaled before that).

    python -m tests.firmware.register.stock_child DATA_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from firmware.bootstrap import bootstrap, demo_config, seed_demo  # noqa: E402
from firmware.clock import ManualClock  # noqa: E402

PENCIL = "4006381333931"


def main(data_dir: str) -> None:
    data = Path(data_dir)
    pins = seed_demo(data)
    config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, clock=ManualClock(), with_sync=False, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        for _ in range(1 + n % 2):
            assert reg.scan(PENCIL).ok
        assert reg.tender("cash").ok
        reg.wait_idle()
        receipt = reg.view().last_receipt
        assert receipt is not None
        print(receipt.seq, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
