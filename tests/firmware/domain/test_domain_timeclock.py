"""The time clock: punches as a state machine with cashier-readable refusals, and hours per clerk per local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.errors import Refused
from firmware.domain.timeclock import (
    BREAK_END,
    BREAK_START,
    CLOCK_IN,
    CLOCK_OUT,
    OFF,
    ON_BREAK,
    PUNCH_KINDS,
    WORKING,
    Punch,
    TimeClock,
    hours_report,
    split_at_midnight,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, tz=BERLIN) -> datetime:
    """Local wall time in Berlin (or `tz`)."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def p(kind: str, when: str, clerk: str = "c7", trusted: bool = True) -> Punch:
    return Punch(clerk, kind, at(when), trusted)


def h(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


# ---------------------------------------------------------------- the state machine


def test_a_whole_shift_with_a_break_is_allowed_and_the_screen_offers_the_next_punches():
    clock = TimeClock()
    assert clock.allowed("c7") == (CLOCK_IN,)
    clock = clock.apply(p(CLOCK_IN, "2026-11-25 08:00"))
    assert clock.state_of("c7").state == WORKING and clock.allowed("c7") == (BREAK_START, CLOCK_OUT)
    clock = clock.apply(p(BREAK_START, "2026-11-25 12:00"))
    assert clock.state_of("c7").state == ON_BREAK and clock.allowed("c7") == (BREAK_END,)
    clock = clock.apply(p(BREAK_END, "2026-11-25 12:30"))
    assert [c.clerk_id for c in clock.clocked_in] == ["c7"]
    clock = clock.apply(p(CLOCK_OUT, "2026-11-25 16:30"))
    assert clock.state_of("c7").state == OFF and clock.clocked_in == ()
    assert clock.state_of("other").state == OFF  # clerks are independent


@pytest.mark.parametrize(("before", "kind", "words"), [
    ([], CLOCK_OUT, "Anna is not clocked in: there is nothing to clock out of"),
    ([CLOCK_IN, CLOCK_OUT], CLOCK_OUT, "Anna is not clocked in"),
    ([], BREAK_START, "Anna is not clocked in: clock in before starting a break"),
    ([], BREAK_END, "no break to end"),
    ([CLOCK_IN], CLOCK_IN, "Anna is already clocked in (since 08:00)"),
    ([CLOCK_IN], BREAK_END, "Anna is not on a break (working since 08:00)"),
    ([CLOCK_IN, BREAK_START], BREAK_START, "Anna is already on a break (since 09:00)"),
    ([CLOCK_IN, BREAK_START], CLOCK_OUT, "Anna is on a break since 09:00: end the break, then clock out"),
    ([CLOCK_IN, BREAK_START], CLOCK_IN, "end the break instead"),
])
def test_punches_out_of_turn_are_refused_in_the_cashiers_words(before, kind, words):
    clock = TimeClock()
    for hour, earlier in enumerate(before):
        clock = clock.apply(p(earlier, f"2026-11-25 {8 + hour:02d}:00"))
    with pytest.raises(Refused, match=words.replace("(", r"\(").replace(")", r"\)")):
        clock.apply(p(kind, "2026-11-25 11:00"), tz=BERLIN, name="Anna")
    assert clock.apply.__self__ is clock  # a refusal changes nothing: the clock is immutable


def test_a_punch_before_the_clerks_last_one_is_refused_and_names_the_clock():
    clock = TimeClock().apply(p(CLOCK_IN, "2026-11-25 08:00"))
    with pytest.raises(Refused, match="The register's clock says 07:50, before Anna's last punch at 08:00"):
        clock.apply(p(CLOCK_OUT, "2026-11-25 07:50"), tz=BERLIN, name="Anna")


def test_bad_punches_are_refused_at_construction():
    with pytest.raises(Refused, match="Unknown punch"):
        Punch("c7", "lunch", at("2026-11-25 08:00"))
    with pytest.raises(Refused, match="time zone"):
        Punch("c7", CLOCK_IN, datetime(2026, 11, 25, 8))
    assert Punch("c7", CLOCK_IN, at("2026-11-25 08:00")).at.tzinfo is UTC


def test_replay_rebuilds_the_state_from_the_journaled_punches():
    punches = [p(CLOCK_IN, "2026-11-25 08:00"), p(BREAK_START, "2026-11-25 10:00"),
               p(CLOCK_IN, "2026-11-25 09:00", "m1")]
    clock = TimeClock.replay(punches)
    assert clock.state_of("c7").state == ON_BREAK and clock.state_of("m1").state == WORKING
    assert clock.state_of("c7").shift_start == at("2026-11-25 08:00")


# ---------------------------------------------------------------- hours


def test_worked_is_in_to_out_minus_breaks_per_clerk_per_day():
    punches = [p(CLOCK_IN, "2026-11-25 08:00"), p(BREAK_START, "2026-11-25 12:00"),
               p(BREAK_END, "2026-11-25 12:30"), p(CLOCK_OUT, "2026-11-25 16:45"),
               p(CLOCK_IN, "2026-11-25 09:00", "m1"), p(CLOCK_OUT, "2026-11-25 13:00", "m1")]
    report = hours_report(punches, BERLIN, kind="z")
    rows = {r.clerk_id: r for r in report.days}
    assert h(rows["c7"].worked) == 8.25 and h(rows["c7"].breaks) == 0.5 and rows["c7"].shifts == 1
    assert rows["c7"].first_in == at("2026-11-25 08:00") and rows["c7"].last_out == at("2026-11-25 16:45")
    assert h(rows["m1"].worked) == 4 and not rows["m1"].open
    assert report.problems == () and report.open_shifts == ()
    payload = report.to_payload()
    assert payload["days"][0]["worked_seconds"] == 8.25 * 3600 and payload["time_zone"] == "Europe/Berlin"
    assert payload["days"][0]["first_in"] == "2026-11-25T07:00:00Z"


def test_a_shift_across_midnight_is_split_at_local_midnight():
    punches = [p(CLOCK_IN, "2026-11-25 22:00"), p(BREAK_START, "2026-11-25 23:30"),
               p(BREAK_END, "2026-11-26 00:30"), p(CLOCK_OUT, "2026-11-26 06:00")]
    rows = hours_report(punches, BERLIN, kind="z").days
    assert [(r.day, h(r.worked), h(r.breaks)) for r in rows] == [
        (date(2026, 11, 25), 1.5, 0.5), (date(2026, 11, 26), 5.5, 0.5)]
    assert rows[0].first_in is not None and rows[0].last_out is None
    assert rows[1].first_in is None and rows[1].last_out == at("2026-11-26 06:00")
    # midnight is the shop's, not UTC's: in UTC this whole shift falls on the 25th and 26th differently
    utc_rows = hours_report(punches, UTC, kind="z").days
    assert [(r.day, h(r.worked)) for r in utc_rows] == [(date(2026, 11, 25), 2.0), (date(2026, 11, 26), 5.0)]


def test_daylight_saving_days_count_real_hours():
    # spring forward (29 Mar 2026, 02:00 -> 03:00): 22:00 to 06:00 local is 7 real hours
    spring = hours_report([p(CLOCK_IN, "2026-03-28 22:00"), p(CLOCK_OUT, "2026-03-29 06:00")], BERLIN, kind="z")
    assert [(r.day, h(r.worked)) for r in spring.days] == [(date(2026, 3, 28), 2), (date(2026, 3, 29), 5)]
    # fall back (25 Oct 2026, 03:00 -> 02:00): 22:00 to 06:00 local is 9 real hours
    fall = hours_report([p(CLOCK_IN, "2026-10-24 22:00"), p(CLOCK_OUT, "2026-10-25 06:00")], BERLIN, kind="z")
    assert [(r.day, h(r.worked)) for r in fall.days] == [(date(2026, 10, 24), 2), (date(2026, 10, 25), 7)]
    # the whole DST day: 25 real hours between its midnights, 23 in spring
    assert sum(h(d) for _day, d in split_at_midnight(at("2026-10-25 00:00"), at("2026-10-26 00:00"), BERLIN)) == 25
    assert sum(h(d) for _day, d in split_at_midnight(at("2026-03-29 00:00"), at("2026-03-30 00:00"), BERLIN)) == 23


def test_a_zone_whose_dst_change_skips_midnight_still_splits_once_per_day():
    havana = ZoneInfo("America/Havana")  # DST starts at 00:00 -> 01:00 (8 Mar 2026): the day starts at 01:00
    pieces = list(split_at_midnight(at("2026-03-07 22:00", havana), at("2026-03-08 03:00", havana), havana))
    assert [(d, h(t)) for d, t in pieces] == [(date(2026, 3, 7), 2), (date(2026, 3, 8), 2)]


def test_an_open_shift_is_reported_open_counted_so_far_on_an_x_and_not_past_its_last_punch_on_a_z():
    punches = [p(CLOCK_IN, "2026-11-25 08:00"), p(BREAK_START, "2026-11-25 12:00"), p(BREAK_END, "2026-11-25 12:30")]
    now = at("2026-11-25 14:00")
    x = hours_report(punches, BERLIN, kind="x", as_of=now)
    assert h(x.days[0].worked) == 5.5 and x.days[0].open and x.days[0].last_out is None
    assert [(s.clerk_id, s.state, s.since) for s in x.open_shifts] == [("c7", WORKING, at("2026-11-25 12:30"))]
    z = hours_report(punches, BERLIN, kind="z", as_of=now)
    assert h(z.days[0].worked) == 4 and z.days[0].open and z.open_shifts
    on_break = hours_report(punches[:2], BERLIN, kind="x", as_of=now)
    assert h(on_break.days[0].worked) == 4 and h(on_break.days[0].breaks) == 2


def test_the_fleets_lenient_rules_flag_what_the_till_would_refuse_and_never_stop():
    punches = [p(CLOCK_IN, "2026-11-24 08:00"), p(BREAK_START, "2026-11-24 10:00"),  # never clocked out
               p(CLOCK_IN, "2026-11-25 08:00"), p(CLOCK_OUT, "2026-11-25 16:00"),
               p(CLOCK_OUT, "2026-11-25 16:05"),  # a second clock-out (another register, offline)
               p(BREAK_END, "2026-11-25 17:00"),
               p(CLOCK_IN, "2026-11-26 08:00"), p(BREAK_START, "2026-11-26 12:00"), p(CLOCK_OUT, "2026-11-26 13:00"),
               p(BREAK_START, "2026-11-27 09:00", "m1")]
    report = hours_report(punches, BERLIN, kind="z")
    rows = {(r.clerk_id, r.day): r for r in report.days}
    day24 = rows[("c7", date(2026, 11, 24))]
    assert h(day24.worked) == 2 and day24.open  # counted up to its last punch, flagged
    assert h(rows[("c7", date(2026, 11, 25))].worked) == 8
    assert h(rows[("c7", date(2026, 11, 26))].worked) == 4 and h(rows[("c7", date(2026, 11, 26))].breaks) == 1
    text = "\n".join(report.problems)
    assert "clocked in at 2026-11-25 08:00 without clocking out of the shift from 2026-11-24 08:00" in text
    assert "clock out at 2026-11-25 16:05 while not clocked in: ignored" in text
    assert "break end at 2026-11-25 17:00 while not clocked in: ignored" in text
    assert "clocked out at 2026-11-26 13:00 while on a break" in text
    assert "m1: break start at 2026-11-27 09:00 while not clocked in" in text


def test_unverified_clock_and_day_range_are_carried():
    punches = [p(CLOCK_IN, "2026-11-25 22:00", trusted=False), p(CLOCK_OUT, "2026-11-26 02:00")]
    report = hours_report(punches, BERLIN, kind="z", first_day=date(2026, 11, 26))
    assert [(r.day, h(r.worked), r.clock_unverified) for r in report.days] == [(date(2026, 11, 26), 2, True)]
    with pytest.raises(Refused, match="Report kind"):
        hours_report(punches, BERLIN, kind="y")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PUNCH_KINDS), st.integers(0, 36 * 60)), max_size=30),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]))
def test_hours_never_negative_and_days_add_up_to_the_shifts(moves, zone):
    """Whatever the punches, the report never fails, never counts negative time, and worked + breaks over all
    days equals the time between each valid shift's punches (the split at midnight loses nothing)."""
    tz = ZoneInfo(zone)
    base = datetime(2026, 10, 24, 18, tzinfo=UTC)
    punches = [Punch("c7", kind, base + timedelta(minutes=minute)) for kind, minute in moves]
    report = hours_report(punches, tz, kind="z")
    total = sum((r.worked + r.breaks for r in report.days), timedelta())
    assert all(r.worked >= timedelta() and r.breaks >= timedelta() for r in report.days)
    ordered = sorted(punches, key=lambda x: x.at)
    if ordered:
        assert total <= ordered[-1].at - ordered[0].at
    clock = TimeClock()
    strict_ok = True
    for punch in ordered:
        try:
            clock = clock.apply(punch)
        except Refused:
            strict_ok = False
            break
    if strict_ok and ordered and clock.state_of("c7").state == OFF:
        assert report.problems == ()
        assert total == sum((b.at - a.at for a, b in zip(ordered, ordered[1:], strict=False)
                             if a.kind != CLOCK_OUT), timedelta())
