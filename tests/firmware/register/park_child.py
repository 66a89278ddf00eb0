"""Child process for the SIGKILL test: parks carts forever, printing each park id once the register said "parked".

park() hands the cart to the journal writer; "Cart parked as ..." is said when it is on disk (after pump()).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from firmware.bootstrap import bootstrap, demo_config, seed_demo  # noqa: E402

PENCIL = "4006381333931"


def main(data_dir: str) -> None:
    data = Path(data_dir)
    pins = seed_demo(data)
    config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, with_sync=False, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    print("ready", flush=True)
    while True:
        assert reg.scan(PENCIL).ok
        out = reg.park()
        assert out.ok, out.message
        reg.wait_idle()
        assert reg.view().message.text == f"Cart parked as {out.data}", reg.view().message
        print(out.data, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
