"""Child process for the layby SIGKILL test: opens one layby (first run), then takes instalment after instalment,
printing "paying" just before each is tendered and the receipt's seq once the register said it is saved.

    python -m tests.firmware.register.layby_child DATA_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from firmware.bootstrap import bootstrap, demo_config, seed_demo  # noqa: E402
from firmware.register.commands import FindLaybys, OpenLayby, PayLayby, SetCustomer, SetQty  # noqa: E402

COFFEE = "4006380135079"  # 7.99
QTY, DEPOSIT, STEP = 500, 50_000, 7  # a total of 3995.00, paid off 0.07 at a time
CUSTOMER = "C-2002"


def main(data_dir: str) -> None:
    data = Path(data_dir)
    pins = seed_demo(data)
    config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, with_sync=False, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    found = reg.handle(FindLaybys(CUSTOMER)).data
    if not found:  # the first run opens the layby
        assert reg.scan(COFFEE).ok
        assert reg.handle(SetQty(1, QTY)).ok
        assert reg.handle(SetCustomer(CUSTOMER)).ok
        out = reg.handle(OpenLayby(DEPOSIT))
        assert out.ok, out.message
        assert reg.tender("cash").ok
        reg.wait_idle()
        assert reg.view().phase == "done", reg.view().message
        assert reg.new_sale().ok
        found = reg.handle(FindLaybys(CUSTOMER)).data
    layby = found[0].layby_id
    print("ready", layby, flush=True)
    while True:
        out = reg.handle(PayLayby(layby, STEP))
        assert out.ok, out.message
        print("paying", flush=True)
        assert reg.tender("cash").ok
        reg.wait_idle()
        view = reg.view()
        assert view.phase == "done", view.message
        print(view.last_receipt.seq, flush=True)
        assert reg.new_sale().ok


if __name__ == "__main__":
    main(sys.argv[1])
