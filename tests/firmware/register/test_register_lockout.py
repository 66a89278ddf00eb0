"""PIN lockouts on a real register: manager approvals and logins, per clerk and per device, kept across a restart."""

from __future__ import annotations

import pytest

from firmware.bootstrap import demo_config
from firmware.clock import ManualClock
from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Clerk, Roster, hash_pin
from firmware.register.core import Context, RegisterState, decide, lockout_view
from firmware.register.core.commands import CheckManager, DiscountCart, Login, Logout, NoSale, VoidLine
from firmware.register.core.effects import PutState
from firmware.register.core.handlers.clerks import KIND
from firmware.register.view import LockoutView
from tests.firmware.register.conftest import PENCIL, login_cashier


def wrong_approvals(reg, n: int) -> list[str]:
    """`n` wrong manager PINs for a large discount; the register's answers."""
    return [reg.handle(DiscountCart(percent=50, manager_pin="1234")).message for _ in range(n)]


def test_wrong_manager_pins_warn_then_lock_out_even_the_right_pin(rig):
    reg = login_cashier(rig.register)
    assert reg.scan(PENCIL).ok
    assert wrong_approvals(reg, 3) == [
        "That is not a manager's PIN. 2 tries left.",
        "That is not a manager's PIN. 1 try left.",
        "Too many wrong PINs. Try again in 30 s.",
    ]
    assert reg.lockout("approval") == LockoutView(30, 0)
    refused = reg.handle(DiscountCart(percent=50, manager_pin="9999"))  # Maria's PIN, but the gate is shut
    assert not refused.ok and refused.message == "Too many wrong PINs. Try again in 30 s."
    for command in (lambda: reg.handle(CheckManager("9999")), lambda: reg.handle(VoidLine(1, manager_pin="9999"))):
        assert command().message == "Too many wrong PINs. Try again in 30 s."
    rig.clock.advance(10)
    assert reg.handle(CheckManager("9999")).message == "Too many wrong PINs. Try again in 20 s."
    assert reg.view().totals.discount == 0

    rig.clock.advance(20)
    assert reg.lockout("approval") == LockoutView(0, 1)  # open again, but the next wrong PIN locks
    assert reg.handle(DiscountCart(percent=50, manager_pin="9999")).ok
    assert reg.view().totals.discount > 0
    assert reg.lockout("approval") == LockoutView(0, None)  # the right PIN starts the count again


def test_each_lockout_doubles_until_the_right_pin(rig):
    reg = login_cashier(rig.register)
    wrong_approvals(reg, 3)
    rig.clock.advance(30)
    assert wrong_approvals(reg, 1) == ["Too many wrong PINs. Try again in 1 min."]
    rig.clock.advance(60)
    assert wrong_approvals(reg, 1) == ["Too many wrong PINs. Try again in 2 min."]
    rig.clock.advance(120)
    assert reg.handle(CheckManager("9999")).ok
    assert wrong_approvals(reg, 1) == ["That is not a manager's PIN. 2 tries left."]


def test_a_manager_lockout_survives_a_restart_until_its_time_runs_out(rig):
    reg = login_cashier(rig.register)
    wrong_approvals(reg, 3)
    reg.wait_idle()
    assert set(reg.journal.states(KIND)) == {"approval:clerk:c1", "approval:device"}

    reg = login_cashier(rig.restart())  # a new Register over the same data dir
    rig.clock.advance(5)
    assert reg.lockout("approval") == LockoutView(25, 0)
    refused = reg.handle(NoSale(manager_pin="9999"))
    assert not refused.ok and refused.message == "Too many wrong PINs. Try again in 25 s."
    reg = login_cashier(rig.restart())
    rig.clock.advance(25)
    assert reg.handle(NoSale(manager_pin="9999")).ok
    reg.wait_idle()
    assert reg.journal.states(KIND) == {}  # cleared on disk too


def test_logging_in_as_another_cashier_does_not_reset_the_lockout(rig):
    reg = login_cashier(rig.register)
    wrong_approvals(reg, 2)
    assert reg.handle(Logout()).ok and reg.login("c2", "2222").ok
    assert wrong_approvals(reg, 1) == ["That is not a manager's PIN. 2 tries left."]  # Ben's own count
    assert reg.lockout("approval").tries_left == 2
    assert reg.handle(Logout()).ok and reg.login("c1", "1111").ok
    assert wrong_approvals(reg, 1) == ["Too many wrong PINs. Try again in 30 s."]  # Anna's count went on


def test_a_login_lockout_survives_a_restart(rig):
    reg = rig.register
    assert [reg.login("c1", "0000").message for _ in range(3)] == [
        "Wrong PIN. 2 tries left.", "Wrong PIN. 1 try left.", "Too many wrong PINs. Try again in 30 s."]
    assert reg.login("c2", "2222").ok  # another clerk is not locked out
    assert reg.handle(Logout()).ok
    reg = rig.restart()
    assert reg.lockout("login", "c1") == LockoutView(30, 0)
    refused = reg.login("c1", "1111")
    assert not refused.ok and refused.message == "Too many wrong PINs. Try again in 30 s."
    assert reg.view().phase == "login"
    rig.clock.advance(30)
    assert reg.login("c1", "1111").ok and reg.view().clerk.clerk_id == "c1"
    assert reg.lockout("login", "c1") == LockoutView(0, None)


def test_a_clerks_own_login_does_not_clear_anothers_count(rig):
    reg = rig.register
    reg.login("m1", "0000")
    reg.login("m1", "0000")
    assert reg.login("c1", "1111").ok and reg.handle(Logout()).ok  # the guesser logs in as themself in between
    assert reg.login("m1", "0000").message == "Too many wrong PINs. Try again in 30 s."


def test_unknown_clerk_ids_share_one_count(rig):
    reg = rig.register
    messages = [reg.login(clerk_id, "0000").message for clerk_id in ("x1", "x2", "x3", "x4")]
    assert messages[-2:] == ["Too many wrong PINs. Try again in 30 s."] * 2
    assert reg.lockout("login", "x99").seconds == 30 and reg.lockout("login", "c1").seconds == 0


def test_a_clock_set_back_does_not_stretch_a_lockout(rig):
    reg = rig.register
    for _ in range(3):
        reg.login("c1", "0000")
    rig.clock.advance(-3600)  # the clock was an hour fast and NTP put it right
    assert reg.lockout("login", "c1").seconds == 30
    rig.clock.advance(30)
    assert reg.login("c1", "1111").ok


class _Disk:
    """The core's `Lookup` over an in-memory journal: what the shell's `PutState` writes would put there."""

    def __init__(self):
        self.docs: dict[tuple[str, str], dict] = {}

    def state_record(self, kind, key):
        return self.docs.get((kind, key))

    def state_records(self, kind):
        return {key: doc for (k, key), doc in self.docs.items() if k == kind}

    def receipt(self, receipt_id):
        return None

    def recent(self, limit):
        return []

    def receipts_from(self, seq):
        return iter(())

    def last_seq(self):
        return 0

    def epoch(self):
        return "e"

    def clock_synchronised(self):
        return True

    def written(self, effects):
        for effect in effects:
            if isinstance(effect, PutState):
                for kind, key, doc in effect.changes:
                    if doc is None:
                        self.docs.pop((kind, key), None)
                    else:
                        self.docs[(kind, key)] = doc


@pytest.mark.slow
def test_cycling_clerk_ids_runs_into_the_register_wide_count(tmp_path):
    clock, disk = ManualClock(), _Disk()
    config = demo_config(tmp_path)
    roster = Roster([Clerk(cid, cid, "cashier", hash_pin("1111")) for cid in ("a", "b", "c", "d", "e", "fresh")])
    state = RegisterState(catalog=Catalog([]), roster=roster)

    def ctx():
        return Context(config, clock.now(), disk, lambda: "0" * 32)

    def login(clerk_id, pin="0000"):
        nonlocal state
        result = decide(state, Login(clerk_id, pin), ctx())
        disk.written(result.effects)
        state = result.state
        return result.outcome

    def gate(purpose, clerk_id):
        nonlocal state
        view, state = lockout_view(state, ctx(), purpose, clerk_id)
        return view

    for clerk in ("a", "b", "c", "d"):
        assert [login(clerk).message for _ in range(2)] == ["Wrong PIN. 2 tries left.", "Wrong PIN. 1 try left."]
    assert login("e").message == "Wrong PIN. 1 try left."  # 9 wrong PINs on this register: one left, whoever types
    assert login("e").message == "Too many wrong PINs. Try again in 30 s."  # the 10th
    assert gate("login", "fresh") == LockoutView(30, 0)
    assert gate("approval", "fresh") == LockoutView(0, None)  # the approval gate counts on its own
    fresh = RegisterState(catalog=Catalog([]), roster=roster)
    assert lockout_view(fresh, ctx(), "login", "fresh")[0].seconds == 30  # read back from the records
    clock.advance(30)
    assert login("fresh", "1111").ok
    assert gate("login", "a") == LockoutView(0, 1)  # a's own count stays; the register's is cleared
    assert ("lockout", "login:device") not in disk.docs
