"""The reconnect rule after a lost link (firmware/contract/reconnect.py), followed by register and emulator.

Pure: a scripted clock and scripted probe results, no sockets. What the rule promises: no connect straight from
a timer, the connects of registers that notice the broker's return at the same moment spread over the
spread, one register back within 15 s of the broker's return whatever its backoff, and the fleet emulator
(fleet/sim_device.py) using the very same rule.
"""

from __future__ import annotations

import random

import fleet.sim_device as sim
from firmware.sync import backoff as fw


def _until_connect(wait, now: float, broker_back_at: float) -> float:
    """Drive one wait: probes answer from `broker_back_at` on; returns when the connect is due."""
    while not wait.connecting:
        now = max(now, wait.due)
        wait.probed(now, now >= broker_back_at)
    return wait.due


def test_a_register_never_connects_before_a_probe_has_found_the_broker():
    wait = fw.Reconnect(fw.Backoff(0.5, 60.0, random.Random(1)))
    wait.lost(0.0)
    for _ in range(50):
        assert not wait.connecting
        wait.probed(wait.due, False)
    found = wait.due
    wait.probed(found, True)
    assert wait.connecting and found <= wait.due <= found + fw.RETURN_SPREAD


def test_one_register_is_back_within_15_s_of_the_broker_whatever_its_backoff():
    for seed in range(300):
        rng = random.Random(seed)
        b = fw.Backoff(0.5, 60.0, rng)
        b.attempt = rng.randrange(0, 12)  # anywhere in its backoff, up to the 60 s cap
        wait = fw.Reconnect(b)
        start = rng.uniform(0.0, 100.0)
        wait.lost(start)
        back = start + rng.uniform(0.0, 120.0)
        assert _until_connect(wait, start, back) - back <= 15.0


def test_registers_that_notice_the_return_together_spread_their_connects_over_seconds():
    connects = []
    for seed in range(2000):
        wait = fw.Reconnect(fw.Backoff(0.5, 60.0, random.Random(seed)))
        wait.lost(0.0)
        wait.probed(wait.due, True)  # all find the broker at (about) the same moment
        connects.append(wait.due)
    per_second: dict[int, int] = {}
    for t in connects:
        per_second[int(t)] = per_second.get(int(t), 0) + 1
    assert max(per_second.values()) <= 0.2 * len(connects)
    assert max(connects) - min(connects) > 0.9 * fw.RETURN_SPREAD


def test_a_short_backoff_cap_keeps_the_spread_short():
    wait = fw.Reconnect(fw.Backoff(0.05, 1.0, random.Random(3)))
    wait.lost(10.0)
    assert wait.due <= 11.0
    wait.probed(wait.due, True)
    assert wait.due <= 12.0


def test_probes_that_find_nothing_at_the_end_of_a_wait_grow_the_backoff():
    b = fw.Backoff(0.5, 60.0, random.Random(5))
    wait = fw.Reconnect(b)
    wait.lost(0.0)
    now = 0.0
    for _ in range(30):
        now = wait.due
        wait.probed(now, False)
    assert b.attempt > 5
    assert wait.due - now <= 1.3 * fw.PROBE_EVERY  # probes keep coming during the long waits


def test_the_emulator_and_the_register_follow_the_one_rule_of_the_contract():
    from firmware.contract import reconnect

    assert sim.Reconnect is fw.Reconnect is reconnect.Reconnect
    assert sim.Backoff is fw.Backoff is reconnect.Backoff
