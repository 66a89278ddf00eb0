"""Child process for the SIGKILL test: parks carts forever, printing each park id once the register said "parked".

park() hands the cart to the journal writer; "Cart parked as ..." is said when it is on disk (after pump()).
"""

from __future__ import annotations

import sys

from tests.firmware.register.child_support import child_register

PENCIL = "4006381333931"


def main(data_dir: str) -> None:
    reg = child_register(data_dir)
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
