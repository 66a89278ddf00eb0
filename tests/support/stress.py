"""Kill-at-random stress: fork a committing child, SIGKILL it at a random moment, reopen, check; repeat.

    python -m tests.support.stress --kills 5000 [--dir DIR] [--seed S]

Every seq the child reported (it reports only after `commit_receipt`
returned) must be in the reopened journal, seqs must have no gaps, the hash
chain must verify, and at most one commit may have been in flight. Forking
from a process that already imported everything makes each kill cheap.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time

from firmware.chain import GENESIS, verify_chain
from tests.support.crashloop import open_journal, run

SEGMENT_RECORDS = 16
SEGMENT_BYTES = 32 * 1024


def one_kill(data_dir: str, rng: random.Random, state: dict) -> str:
    """Run a child, kill it, verify. Returns a one-line report (raises AssertionError on a violation)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = 0
        try:
            journal = open_journal(data_dir, SEGMENT_RECORDS, SEGMENT_BYTES)
            run(journal, write_fd)
        except BaseException:  # noqa: BLE001 - report through the exit status only
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    os.close(write_fd)
    time.sleep(rng.random() * state["max_delay"])
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    data = b""
    while chunk := os.read(read_fd, 65536):
        data += chunk
    os.close(read_fd)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
        raise AssertionError("the child failed before it was killed (see its traceback above)")
    printed = [int(line) for line in data.split(b"\n")[:-1]]  # a torn last line was never fully printed
    journal = open_journal(data_dir, SEGMENT_RECORDS, SEGMENT_BYTES)
    try:
        last = journal.next_seq - 1
        top = max(printed, default=state["last"])
        assert last >= top, f"seq {top} was reported committed but the journal ends at {last}"
        assert last <= top + 1, f"journal has {last - top} receipts beyond the last reported {top} (max one in flight)"
        if printed:
            assert printed == list(range(state["last"] + 1, top + 1)), "reported seqs have gaps or repeats"
        start = max(1, state["last"] - 1)
        prev = GENESIS if start == 1 else journal.get_seq(start - 1)["hash"]
        receipts = list(journal.iter_receipts(start))
        assert [r["seq"] for r in receipts] == list(range(start, last + 1)), "seq gap in the journal"
        verify_chain(receipts, prev)
        assert journal.delivery(last) is not None or last == 0
        report = f"killed after {len(printed)} commits, journal at seq {last}" + (
            f"; recovery: {journal.recovery}" if journal.recovery else ""
        )
        state["last"] = last
        state["recovered"] += bool(journal.recovery)
    finally:
        journal.close()
    return report


def stress(kills: int, data_dir: str, seed: int, max_delay: float = 0.03, verbose: bool = False) -> dict:
    rng = random.Random(seed)
    state = {"last": 0, "recovered": 0, "max_delay": max_delay}
    for i in range(kills):
        report = one_kill(data_dir, rng, state)
        if verbose:
            print(f"kill {i + 1}/{kills}: {report}", flush=True)
    journal = open_journal(data_dir, SEGMENT_RECORDS, SEGMENT_BYTES)
    try:
        verify_chain(journal.iter_receipts())
        state["final_seq"] = journal.next_seq - 1
    finally:
        journal.close()
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.stress", description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--dir", default=None, help="journal data dir (default: a fresh temp dir, removed after)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay", type=float, default=0.03, help="longest run before a kill, seconds")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    data_dir = args.dir or tempfile.mkdtemp(prefix="kassa-stress-")
    started = time.monotonic()
    try:
        state = stress(args.kills, data_dir, seed, args.max_delay, args.verbose)
    except AssertionError as exc:
        print(f"FAILED (seed {seed}, dir {data_dir}): {exc}", file=sys.stderr)
        return 1
    print(
        f"ok: {args.kills} kills, {state['final_seq']} receipts, {state['recovered']} torn tails recovered, "
        f"chain verified, seed {seed}, {time.monotonic() - started:.1f}s"
    )
    if args.dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
