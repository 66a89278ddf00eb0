"""Run a child process again and again and SIGKILL it at random moments: the power cuts of the register's tests.

The child prints "ready" once it is set up, then one line for each thing it saw saved; what it printed before
each kill is what must survive it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kill_at_random(module: str, *args: str, runs: int, seed: int, wait: tuple[float, float] = (0.05, 0.4)
                   ) -> list[str]:
    """`python -m module args...` `runs` times, each SIGKILLed a random `wait` after it said "ready"; the lines it
    printed after "ready", all runs in order."""
    rng = random.Random(seed)
    reported: list[str] = []
    for _ in range(runs):
        child = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"})
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(*wait))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
        reported += [line for line in out.splitlines() if line.strip()]
    return reported
