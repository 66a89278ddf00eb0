"""A stand-alone device for fault tests: opens the journal, commits receipts, runs SyncService until killed."""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import time
from pathlib import Path

from firmware.clock import SystemClock
from firmware.sync import SyncService
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--register", default="R1")
    ap.add_argument("--commit", type=int, default=0, help="commit receipts until the journal holds this many")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    data_dir = Path(args.data_dir)
    journal = open_journal(data_dir, args.register)
    missing = args.commit - (journal.next_seq - 1)
    if missing > 0:
        commit(journal, missing)
    print(f"journal holds {journal.next_seq - 1} receipts", flush=True)
    service = SyncService(device_config(args.broker, data_dir, args.register), journal, SystemClock(), queue.Queue())
    service.start()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
