"""The hours report as a manager reads it (firmware/register/hours_text.py) and as it prints (printout.hours_blocks):
durations that cannot be read as a time of day, local times, a night shift's clock-in on the day before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from firmware.domain.timeclock import Punch, hours_report
from firmware.printout import hours_blocks
from firmware.register.hours_text import duration, hours_lines, hours_rows, hours_title
from hal.layout import render_text

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize("span, words", [
    (timedelta(0), "0 min"), (timedelta(seconds=59), "0 min"), (timedelta(minutes=45), "45 min"),
    (timedelta(hours=7, minutes=5), "7 h 05 min"), (timedelta(hours=12), "12 h 00 min"),
    (timedelta(seconds=-5), "0 min"),
])
def test_a_duration_reads_as_hours_and_minutes_never_as_a_clock_time(span, words):
    assert duration(span) == words


def test_a_night_shift_still_open_shows_its_clock_in_on_the_day_before_and_the_total():
    punches = [Punch("c7", "clock_in", at(24, 22)), Punch("c1", "clock_in", at(25, 8)),
               Punch("c1", "break_start", at(25, 12)), Punch("c1", "break_end", at(25, 12, 30)),
               Punch("c1", "clock_out", at(25, 16, 30))]
    now = at(25, 17, 15)
    report = hours_report(punches, BERLIN, kind="x", as_of=now, first_day=now.date(), last_day=now.date())
    rows = hours_rows(report, BERLIN, {"c1": "Anna", "c7": "Zoe"})
    assert hours_title(report) == "Hours today · so far"
    shown = [(r.kind, r.label, r.value) for r in rows]
    assert shown[:2] == [("row", "Day", "Wed 25 Nov 2026"), ("row", "Counted up to", "17:15")]
    anna = shown[shown.index(("section", "Anna", "")):shown.index(("section", "Zoe", ""))]
    assert anna[1:] == [("row", "Worked", "8 h 00 min"), ("row", "Breaks", "30 min"), ("row", "Clocked in", "08:00"),
                        ("row", "Clocked out", "16:30")]
    zoe = shown[shown.index(("section", "Zoe", "")):shown.index(("section", "All clerks", ""))]
    assert zoe[1:] == [("row", "Worked, so far", "17 h 15 min"), ("row", "Breaks", "0 min"),  # from midnight
                       ("row", "Clocked in", "Tue 22:00"), ("row", "Now", "working since Tue 22:00")]
    assert shown[-1] == ("row", "Worked (2 clerks)", "25 h 15 min")
    assert next(r for r in rows if r.label == "Worked").strong


def test_a_day_without_punches_says_so():
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    rows = hours_rows(hours_report([], UTC, kind="x", as_of=now), UTC, {})
    assert rows[-1].label == "Nobody has clocked in on this register today."


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_the_printout_is_the_screens_rows_at_the_papers_width_under_the_shop_header(columns):
    punches = [Punch("c1", "clock_in", at(25, 8), clock_trusted=False), Punch("c1", "clock_out", at(25, 12))]
    now = at(25, 13)
    report = hours_report(punches, BERLIN, kind="x", as_of=now, first_day=now.date(), last_day=now.date())
    text = render_text(hours_blocks(report, ["Kassa Demo Shop", "1 Market Street"], columns, tz=BERLIN,
                                    names={"c1": "Anna"}), columns)
    lines = text.splitlines()
    assert lines[0].strip() == "Kassa Demo Shop" and "Hours today · so far" in text
    assert "Times in Europe/Berlin" in text and "ANNA" in text
    assert any(line.startswith("Worked") and line.endswith("4 h 00 min") and len(line) == columns for line in lines)
    assert "Some punches were made with the clock not set." in " ".join(text.split())  # wrapped on narrow paper
    assert max(len(line) for line in lines) <= columns
    assert hours_lines(report, columns, tz=BERLIN, names={"c1": "Anna"})[0].strip() == "Hours today · so far"
