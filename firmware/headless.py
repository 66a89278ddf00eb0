"""A headless front end of the register: log in the demo cashier, sell, print a JSON tally of what was sold.

    python -m firmware.headless --data-dir D --broker mqtt://127.0.0.1:1883 --store S001 --register R1 \\
        --rate 0.5 --duration 30 [--backlog 8] [--drain-timeout 60] [--start-at EPOCH_S]

The register is the firmware's own (firmware.bootstrap: the real journal in D, the real SyncService with its
paho link, simulated hardware with an in-memory scanner, the demo catalog and clerks, no UI), driven as a
cashier would: log in, scan, tender cash, new sale. `--backlog` sales are made first (sent as soon as the link
is up); then one sale per `1/--rate` s on average (exponential gaps) from `--start-at` (a wall-clock time, so
several front ends start together) for `--duration` s; then it waits up to `--drain-timeout` s until the fleet
has confirmed everything.

At the end one JSON object goes to stdout (logs go to stderr):
`{"store", "register", "epoch", "broker", "receipt_ids", "hashes", "confirmed", "unconfirmed", "sold"}`, the
receipts in seq order as the journal holds them. `kassa-fleet simulate --real N` runs N of these as
subprocesses and checks their tallies against the fleet database (fleet may import only the firmware's
contract, so it drives the register from the outside). Exit 0 when the tally was printed, 1 on an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.register.service import Register

log = logging.getLogger("kassa.headless")

PENCIL = "4006381333931"  # in the demo catalog


def _sell(reg: Register) -> None:
    if not reg.scan(PENCIL).ok:
        raise RuntimeError("the register refused the scan")
    if not reg.tender("cash", 500).ok:
        raise RuntimeError("the register refused the cash tender")
    reg.wait_idle()
    reg.new_sale()


# Any: `reg` is the Register, its journal read raw (Journal.iter_receipts, beyond the RegisterJournal port);
# the tally is the JSON summary the harness prints
def tally(reg: Any, broker: str) -> dict[str, Any]:
    """What the journal holds, and how much of it the fleet confirmed."""
    receipts = sorted(reg.journal.iter_receipts(), key=lambda r: r["seq"])
    pending = reg.view().sync.pending
    epochs = {r["receipt_id"].split(":")[-2] for r in receipts}
    if len(epochs) > 1:  # a new epoch opens only after a rollback: not in a simulation
        raise RuntimeError(f"{reg.config.device.store}/{reg.config.device.register} has {len(epochs)} epochs")
    return {
        "store": reg.config.device.store, "register": reg.config.device.register, "epoch": reg.journal.epoch,
        "broker": broker, "receipt_ids": [r["receipt_id"] for r in receipts], "hashes": [r["hash"] for r in receipts],
        "sold": len(receipts), "confirmed": len(receipts) - pending,
        "unconfirmed": [r["seq"] for r in receipts][len(receipts) - pending:],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:  # Any: the JSON summary (`tally`)
    from firmware import bootstrap as boot

    data = Path(args.data_dir)
    pins = boot.seed_demo(data)
    config = boot.demo_config(
        data, broker_url=args.broker, device={"store": args.store, "register": args.register},
        hardware={"scanner": "simulated:memory"},
        broker={"url": args.broker, "prefix": args.prefix, "window": max(1, min(1000, args.window)),
                "resend_after": max(5.0, args.resend_after), "keepalive": max(5, args.keepalive),
                "backoff_cap": max(1.0, min(3600.0, args.backoff_cap))})
    reg = boot.bootstrap(config, demo_pins=pins)
    rng = random.Random(args.seed)
    try:
        if not reg.login("c1", pins["c1"]).ok:
            raise RuntimeError(f"{args.store}/{args.register}: demo clerk login failed")
        for _ in range(args.backlog):
            _sell(reg)
        start = time.monotonic() + max(0.0, (args.start_at or time.time()) - time.time())
        end = start + args.duration
        next_sale = start + rng.expovariate(args.rate) if args.rate > 0 else float("inf")
        while time.monotonic() < end:
            reg.pump()
            if time.monotonic() >= next_sale:
                _sell(reg)
                next_sale = time.monotonic() + rng.expovariate(args.rate)
            time.sleep(0.02)
        deadline = end + args.drain_timeout
        while time.monotonic() < deadline:
            reg.pump()
            if reg.view().sync.pending == 0:
                break
            time.sleep(0.05)
        return tally(reg, args.broker)
    finally:
        try:
            reg.shutdown()
        except Exception:  # noqa: BLE001 - the tally is what matters
            log.exception("the register did not shut down cleanly")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m firmware.headless", description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="the register's data dir (journal, catalog, clerks)")
    ap.add_argument("--broker", required=True, help="mqtt://host:1883")
    ap.add_argument("--store", required=True)
    ap.add_argument("--register", required=True)
    ap.add_argument("--rate", type=float, default=0.1, help="sales per second (0: none after the backlog)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of selling")
    ap.add_argument("--backlog", type=int, default=0, help="sales made before selling starts")
    ap.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for confirmations")
    ap.add_argument("--start-at", type=float, default=None, help="wall-clock time (epoch s) selling starts")
    ap.add_argument("--prefix", default="kassa/v1")
    ap.add_argument("--window", type=int, default=100, help="broker.window: receipts in flight (1..1000)")
    ap.add_argument("--resend-after", type=float, default=30.0)
    ap.add_argument("--keepalive", type=int, default=30)
    ap.add_argument("--backoff-cap", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    try:
        result = run(args)
    except Exception as exc:  # noqa: BLE001 - one line for the driving process
        log.exception("headless register failed")
        print(f"firmware.headless: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
