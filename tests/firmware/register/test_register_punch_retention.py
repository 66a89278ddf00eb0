"""Punch retention on a real register and journal (docs/timeclock.md): housekeeping prunes confirmed punches of
closed shifts older than `[policy] retention_days`; unconfirmed punches, the chain's last punch and each clerk's last
shift stay, so the time clock (who is on a break, since when) and the hours of the days within retention are the
same before, after, and after a restart; the chain goes on from its head."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from firmware.contract import DeviceTopics, encode
from firmware.contract.chain import receipt_hash
from firmware.contract.timeclock import PunchAcks
from firmware.domain import timeclock as tc
from firmware.register.commands import Hours, Punch
from firmware.register.punch_retention import prunable, retention_start
from firmware.sync.record_outbox import RecordOutboxes, device_lanes
from tests.firmware.register.conftest import RegisterRig, login_cashier

PINS = {"c1": None, "m1": "9999"}


def punches_of(journal) -> list[tc.Punch]:
    return [tc.Punch(d["clerk_id"], d["kind"], datetime.fromisoformat(d["at"].replace("Z", "+00:00")),
                     d["clock_trusted"], d["punch_id"]) for _k, d in sorted(journal.states("punch").items())]


def confirm(reg, clock, keys: list[int]) -> None:
    """The fleet's punch_acks for these seqs, applied as sync applies them."""
    topics = DeviceTopics("DEMO", "R1")
    lanes = RecordOutboxes(device_lanes(topics), reg.journal, lambda topic, payload: None, lambda: 0.0)
    ids = [reg.journal.get_state("punch", f"{k:012d}")["punch_id"] for k in keys]
    assert lanes.on_acks(topics.punch_acks, encode(PunchAcks(punch_ids=ids)), clock.now())


@pytest.mark.slow
def test_old_confirmed_punches_are_pruned_and_the_time_clock_and_recent_hours_survive_a_restart(tmp_path):
    rig = RegisterRig(tmp_path / "data", policy={"retention_days": 30})
    reg = login_cashier(rig.start())
    clock = rig.clock

    def punch(kind: str, clerk: str = "c1", hours: float = 0) -> None:
        clock.advance(hours * 3600)
        out = reg.handle(Punch(kind, None if clerk == "c1" else clerk, PINS[clerk]))
        assert out.ok, out.message
        reg.wait_idle()

    try:
        start = clock.now()
        punch("clock_in")                      # 1  day 0: Anna and Maria, a shift each
        punch("clock_in", "m1")                # 2
        punch("clock_out", hours=8)            # 3
        punch("clock_out", "m1", hours=0.5)    # 4
        punch("clock_in", hours=15.5)          # 5  day 1: Anna's shift stays unconfirmed
        punch("clock_in", "m1")                # 6      Maria's last shift
        punch("clock_out", hours=8)            # 7
        punch("clock_out", "m1")               # 8
        clock.advance(34 * 86400 - (clock.now() - start).total_seconds())
        punch("clock_in")                      # 9  day 34: Anna clocks in and goes on a break
        punch("break_start", hours=2)          # 10
        confirm(reg, clock, [1, 2, 3, 4, 6, 8, 9, 10])
        assert sorted(reg.journal.states("punch_pending")) == ["000000000005", "000000000007"]

        zone = reg.config.shop.zone
        kept_from = retention_start(clock.now(), 30, zone)
        today = clock.now().astimezone(zone).date()
        days = {"first_day": kept_from.date(), "last_day": today}
        before_hours = tc.hours_report(punches_of(reg.journal), zone, kind="x", as_of=clock.now(), **days)
        before_all = tc.hours_report(punches_of(reg.journal), zone, kind="x", as_of=clock.now())
        before_x = reg.handle(Hours()).data
        head = reg.journal.get_state("punch_head", "head")

        reg._housekeeper.run_once()

        left = sorted(int(k) for k in reg.journal.states("punch"))
        assert left == [5, 6, 7, 8, 9, 10]  # day 0's confirmed shifts went
        assert reg.journal.get_state("punch_head", "head") == head
        assert tc.hours_report(punches_of(reg.journal), zone, kind="x", as_of=clock.now(), **days) == before_hours
        assert tc.hours_report(punches_of(reg.journal), zone, kind="x", as_of=clock.now()) != before_all
        assert reg.handle(Hours()).data == before_x
        reg._housekeeper.run_once()  # again: nothing more goes
        assert sorted(int(k) for k in reg.journal.states("punch")) == left

        reg = login_cashier(rig.restart())
        anna, maria = reg.view().time_clock_of("c1"), reg.view().time_clock_of("m1")
        assert (anna.state, anna.since, anna.allowed) == ("on_break", clock.now(), ("break_end",))
        assert anna.shift_start == clock.now() - timedelta(hours=2)
        assert (maria.state, maria.allowed) == ("off", ("clock_in",))
        assert reg.handle(Hours()).data == before_x
        punch("break_end", hours=0.25)  # the chain goes on from its head
        new = reg.journal.get_state("punch", f"{11:012d}")
        assert new["seq"] == 11 and new["prev_hash"] == head["last_hash"] and receipt_hash(new) == new["hash"]
    finally:
        rig.stop()


def doc(clerk: str, kind: str, day: int, hour: int = 9) -> dict:
    return {"clerk_id": clerk, "kind": kind, "at": f"2026-11-{day:02d}T{hour:02d}:00:00.000Z"}


def test_a_shift_goes_whole_or_not_at_all_and_unreadable_or_held_punches_stay():
    punches = {
        "01": doc("a", "clock_in", 1), "02": doc("a", "break_start", 1, 11), "03": doc("a", "break_end", 1, 12),
        "04": doc("a", "clock_out", 1, 17),
        "05": doc("a", "clock_in", 9, 22), "06": doc("a", "clock_out", 10, 6),  # ends on the first kept day
        "07": doc("b", "clock_in", 2), "08": doc("b", "clock_out", 2, 17),
        "09": doc("b", "clock_in", 3), "10": {"clerk_id": "b", "kind": "clock_out"},  # unreadable: kept
        "11": doc("b", "clock_in", 4), "12": doc("b", "clock_out", 4, 17),  # held (pending): kept
        "13": doc("b", "clock_in", 5), "14": doc("b", "clock_out", 5, 17),  # b's last shift: kept
        "15": doc("a", "clock_in", 11), "16": doc("a", "clock_out", 11, 17),
    }
    before = datetime.fromisoformat("2026-11-10T00:00:00+00:00")
    assert prunable(punches, {"12"}, before) == ["01", "02", "03", "04", "07", "08"]
    assert prunable({}, set(), before) == []
    assert prunable({"01": doc("a", "clock_in", 1), "02": doc("a", "clock_out", 1, 17)}, set(), before) == []
