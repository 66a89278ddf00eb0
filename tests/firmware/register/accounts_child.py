"""Child process for the accounts SIGKILL test: redeems a gift card sale after sale, printing each receipt's seq once
the register said it is saved.

    python -m tests.firmware.register.accounts_child DATA_DIR KEY_FILE CARD
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from firmware.bootstrap import bootstrap, demo_config, seed_demo  # noqa: E402
from firmware.register.commands import RedeemGiftCard, SellGiftCard  # noqa: E402
from firmware.register.view import AccountKind  # noqa: E402

ERASER = "4006380133532"  # 0.89
LOAD, STEP = 50_000, 50


def accounts_section(key_file: str) -> dict[str, object]:
    return {"giftcard_key_file": key_file, "giftcard_offline_limit": 10**9, "giftcard_max_balance": LOAD}


def main(data_dir: str, key_file: str, card: str) -> None:
    data = Path(data_dir)
    pins = seed_demo(data)
    config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"},
                         accounts=accounts_section(key_file))
    reg = bootstrap(config, with_sync=False, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    if not reg.account_balance(AccountKind.GIFT_CARD, card).local_changes:  # the first run sells the card
        assert reg.handle(SellGiftCard(card, LOAD)).ok
        assert reg.tender("cash").ok
        reg.wait_idle()
        assert reg.new_sale().ok
    print("ready", flush=True)
    while True:
        assert reg.scan(ERASER).ok
        out = reg.handle(RedeemGiftCard(card, STEP))
        assert out.ok, out.message
        assert reg.tender("cash").ok
        reg.wait_idle()
        view = reg.view()
        assert view.phase == "done", view.message
        print(view.last_receipt.seq, flush=True)
        assert reg.new_sale().ok


if __name__ == "__main__":
    main(*sys.argv[1:4])
