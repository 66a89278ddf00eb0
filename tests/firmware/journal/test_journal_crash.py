"""SIGKILL a committing process at random moments: every reported commit survives, no gaps, the chain verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.chain import verify_chain
from tests.support.crashloop import open_journal

pytestmark = pytest.mark.slow  # SIGKILLs a committing process hundreds of times

ROOT = Path(__file__).resolve().parents[3]


def test_killed_crashloop_process_keeps_every_reported_commit(tmp_path):
    """A real `python -m tests.support.crashloop` process, killed 12 times mid-loop."""
    data = str(tmp_path / "data")
    rng = random.Random(11)
    last = 0
    for _kill in range(12):
        # bufsize=0: readline() must not read ahead, or lines it buffered would be lost to communicate(),
        # which reads the raw pipe (that once looked like a missing seq under load).
        child = subprocess.Popen([sys.executable, "-m", "tests.support.crashloop", data], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        assert child.stdout is not None
        first = child.stdout.readline()  # readiness: the first commit returned
        assert first, child.stderr.read().decode() if child.stderr else "no output"
        time.sleep(rng.random() * 0.05)
        os.kill(child.pid, signal.SIGKILL)
        rest, err = child.communicate(timeout=30)
        lines = (first + rest).split(b"\n")[:-1]
        printed = [int(x) for x in lines]
        assert printed == list(range(last + 1, last + 1 + len(printed))), err.decode()
        j = open_journal(data, 16, 32 * 1024)
        try:
            assert printed[-1] <= j.next_seq - 1 <= printed[-1] + 1
            verify_chain(j.iter_receipts())
            last = j.next_seq - 1
        finally:
            j.close()
    assert last >= 12  # every round reported at least its first commit


def test_two_hundred_random_kills_with_the_stress_command():
    result = subprocess.run([sys.executable, "-m", "tests.support.stress", "--kills", "200", "--seed", "4242"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.startswith("ok: 200 kills"), result.stdout
