"""Child process for the layby SIGKILL test: opens one layby (first run), then takes instalment after instalment,
printing "paying" just before each is tendered and the receipt's seq once the register said it is saved.

    python -m tests.firmware.register.layby_child DATA_DIR
"""

from __future__ import annotations

import sys

from firmware.register.commands import FindLaybys, OpenLayby, PayLayby, SetCustomer, SetQty
from tests.firmware.register.child_support import child_register

COFFEE = "4006380135079"  # 7.99
QTY, DEPOSIT, STEP = 500, 50_000, 7  # a total of 3995.00, paid off 0.07 at a time
CUSTOMER = "C-2002"


def main(data_dir: str) -> None:
    reg = child_register(data_dir)
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
