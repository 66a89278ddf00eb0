"""Crash-test child: commit sales in a loop, printing each seq only after its commit returned.

    python -m tests.support.crashloop DATA_DIR [--segment-records N] [--segment-bytes B] [--fsize-limit BYTES]

A second thread plays the sync side (reads the outbox, marks delivery). The
parent kills this process at random moments and checks the journal. With
`--fsize-limit` the process runs under RLIMIT_FSIZE (SIGXFSZ ignored) and
prints `FULL <message>` when a commit is refused.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import threading

from firmware.clock import SystemClock
from firmware.errors import JournalFull
from firmware.journal.journal import Journal
from tests.support.journal_sample import make_receipt


def open_journal(data_dir: str, segment_records: int, segment_bytes: int) -> Journal:
    journal = Journal.open(data_dir, store="S001", register="R1", clock=SystemClock(), segment_records=segment_records,
                           segment_bytes=segment_bytes, hwm_interval=0.005, group_commit_interval=0.001)
    journal.start()  # the register's threads: the crash may land in any of them
    return journal


def run(journal: Journal, out: int, limit: int | None = None) -> None:
    """Commit forever (or `limit` times), writing b"<seq>\\n" to fd `out` after each commit returned."""
    stop = threading.Event()

    def sync_side() -> None:
        after = 0
        while not stop.is_set():
            seqs = journal.outbox(after, 20)
            if seqs:
                journal.payload(seqs[0])
                journal.mark_delivered(seqs, journal._clock.now())
                after = seqs[-1]
            else:
                stop.wait(0.001)

    threading.Thread(target=sync_side, daemon=True).start()
    n = 0
    while limit is None or n < limit:
        receipt = journal.commit_receipt(make_receipt(journal, lines=1 + n % 4))
        os.write(out, f"{receipt['seq']}\n".encode())
        n += 1
        if n % 7 == 0:
            journal.put_state("counter", "last", {"seq": receipt["seq"]})
    stop.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.crashloop", description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--segment-records", type=int, default=16)
    parser.add_argument("--segment-bytes", type=int, default=32 * 1024)
    parser.add_argument("--fsize-limit", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="stop after this many commits")
    args = parser.parse_args(argv)
    if args.fsize_limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    journal = open_journal(args.data_dir, args.segment_records, args.segment_bytes)
    try:
        run(journal, sys.stdout.fileno(), args.limit)
    except JournalFull as exc:
        os.write(sys.stdout.fileno(), f"FULL {exc}\n".encode())
        journal.close()
        return 3
    journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
