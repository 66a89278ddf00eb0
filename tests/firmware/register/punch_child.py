"""Child process for the time clock SIGKILL test: clerk c1 punches round the clock (in, break, back, out, ...),
printing each punch's seq once the register said it is saved.

    python -m tests.firmware.register.punch_child DATA_DIR

The register's clock is set from the punch's seq (START + (seq - 1) x STEP), so the punches of every run,
killed or not, follow each other in time and the hours they make are known in advance.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from firmware.clock import ManualClock
from firmware.register.commands import Punch
from tests.firmware.register.child_support import child_register

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
CYCLE = ("clock_in", "break_start", "break_end", "clock_out")


def at(seq: int) -> datetime:
    return START + (seq - 1) * STEP


def kind(seq: int) -> str:
    return CYCLE[(seq - 1) % len(CYCLE)]


def main(data_dir: str) -> None:
    clock = ManualClock()
    reg = child_register(data_dir, clock)
    print("ready", flush=True)
    while True:
        head = reg.journal.get_state("punch_head", "head")
        seq = head["next_seq"] if head else 1
        clock.current = at(seq)
        out = reg.handle(Punch(kind(seq)))
        assert out.ok, out.message
        reg.wait_idle()
        message = reg.view().message
        assert message is not None and message.level == "info", message
        print(seq, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
