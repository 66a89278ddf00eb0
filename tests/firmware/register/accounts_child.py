"""Child process for the accounts SIGKILL test: redeems a gift card sale after sale, printing each receipt's seq once
the register said it is saved.

    python -m tests.firmware.register.accounts_child DATA_DIR KEY_FILE CARD
"""

from __future__ import annotations

import sys

from firmware.register.commands import RedeemGiftCard, SellGiftCard
from firmware.register.view import AccountKind
from tests.firmware.register.child_support import child_register

ERASER = "4006380133532"  # 0.89
LOAD, STEP = 50_000, 50


def accounts_section(key_file: str) -> dict[str, object]:
    return {"giftcard_key_file": key_file, "giftcard_offline_limit": 10**9, "giftcard_max_balance": LOAD}


def main(data_dir: str, key_file: str, card: str) -> None:
    reg = child_register(data_dir, accounts=accounts_section(key_file))
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
