"""Child process for the stock SIGKILL test: clerk c1 sells one or two pencils after another, printing each
receipt's seq once the register said "Paid" (its stock deltas are journaled before that).

    python -m tests.firmware.register.stock_child DATA_DIR
"""

from __future__ import annotations

import sys

from firmware.clock import ManualClock
from tests.firmware.register.child_support import child_register

PENCIL = "4006381333931"


def main(data_dir: str) -> None:
    reg = child_register(data_dir, ManualClock())
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
