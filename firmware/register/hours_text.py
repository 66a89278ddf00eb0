"""The time clock's hours report laid out once, as rows a manager reads: the screen draws them, the printer prints
them (docs/timeclock.md).

`hours_rows(report, tz, names)` turns a `firmware.domain.timeclock.HoursReport`
(today's X: open shifts counted up to its `as_of`) into the rows the X and Z
reports use (`report_text.ReportRow`): the day and the time it was counted to,
then per clerk by name the time worked (strong; "so far" while the shift is
open), the breaks, when they clocked in and out, or where they stand now;
then the total of all clerks. Durations read "7 h 05 min", never "7:05" (a
time of day); times are the shop's local ones. `hours_lines(...)` is the same
rows at the paper's width for `hal.layout.plain_lines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

from firmware.domain.timeclock import ON_BREAK, DayHours, HoursReport, OpenShift
from firmware.register.report_text import ReportRow

__all__ = ["duration", "hours_lines", "hours_rows", "hours_title"]

TITLE = "Hours today · so far"


def duration(span: timedelta) -> str:
    """ "7 h 05 min", "45 min", "0 min": whole minutes, rounded down (a minute not yet full is not counted)."""
    minutes = max(0, int(span.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def hours_title(report: HoursReport) -> str:
    return TITLE if report.kind == "x" else "Hours · day closed"


def _clock(moment: datetime | None, tz: tzinfo | None, day: datetime | None) -> str:
    """ "08:00", or "Mon 22:00" for a time on another day than `day`."""
    if moment is None:
        return "-"
    local = moment.astimezone(tz)
    if day is not None and local.date() != day.astimezone(tz).date():
        return local.strftime("%a %H:%M")
    return local.strftime("%H:%M")


def hours_rows(report: HoursReport, tz: tzinfo | None = None,
               names: Mapping[str, str] | None = None) -> list[ReportRow]:
    """The report as rows: the day and when it was counted, one section per clerk (by name), the total."""
    names = names or {}
    as_of = report.as_of
    rows: list[ReportRow] = []
    add = rows.append
    if as_of is not None:
        add(ReportRow("row", "Day", as_of.astimezone(tz).strftime("%a %d %b %Y")))
        add(ReportRow("row", "Counted up to", as_of.astimezone(tz).strftime("%H:%M")))
    if not report.days:
        add(ReportRow("note", "Nobody has clocked in on this register today."))
        return rows
    open_by_clerk: dict[str, OpenShift] = {s.clerk_id: s for s in report.open_shifts}
    by_clerk: dict[str, list[DayHours]] = {}
    for day in report.days:
        by_clerk.setdefault(day.clerk_id, []).append(day)
    total = timedelta()
    for clerk_id in sorted(by_clerk, key=lambda cid: (names.get(cid, cid).casefold(), cid)):
        days = by_clerk[clerk_id]
        worked = sum((d.worked for d in days), timedelta())
        breaks = sum((d.breaks for d in days), timedelta())
        total += worked
        shift = open_by_clerk.get(clerk_id)
        add(ReportRow("section", names.get(clerk_id, clerk_id)))
        add(ReportRow("row", "Worked, so far" if shift is not None else "Worked", duration(worked), strong=True))
        add(ReportRow("row", "Breaks", duration(breaks)))
        shifts = sum(d.shifts for d in days)
        if shifts > 1:
            add(ReportRow("row", "Shifts", str(shifts)))
        first_in = min((d.first_in for d in days if d.first_in is not None), default=None)
        if shift is not None and (first_in is None or shift.clock_in < first_in):
            first_in = shift.clock_in  # the shift began before today (a night shift, or no clock-out yet)
        add(ReportRow("row", "Clocked in", _clock(first_in, tz, as_of)))
        if shift is not None:
            state = "on a break" if shift.state == ON_BREAK else "working"
            add(ReportRow("row", "Now", f"{state} since {_clock(shift.since, tz, as_of)}"))
        else:
            last_out = max((d.last_out for d in days if d.last_out is not None), default=None)
            add(ReportRow("row", "Clocked out", _clock(last_out, tz, as_of)))
        if any(d.clock_unverified for d in days):
            add(ReportRow("note", "Some punches were made with the clock not set."))
    add(ReportRow("section", "All clerks"))
    add(ReportRow("row", f"Worked ({len(by_clerk)} clerk{'s' if len(by_clerk) != 1 else ''})", duration(total),
                  strong=True))
    for problem in report.problems:
        add(ReportRow("note", problem))
    return rows


def hours_lines(report: HoursReport, width: int = 32, *, tz: tzinfo | None = None,
                names: Mapping[str, str] | None = None, header: Sequence[str] = ()) -> list[str]:
    """The report on paper, `width` columns: `header` and the title centred, then the rows with the values
    right-aligned, sections ruled off (`report_text.report_lines`' layout)."""
    out = [str(line)[:width].center(width).rstrip() for line in header]
    out.append(hours_title(report)[:width].center(width).rstrip())
    for r in hours_rows(report, tz, names):
        if r.kind == "section":
            out += ["-" * width, r.label.upper()[:width]]
        elif r.kind == "note":
            out.append(r.label)  # plain_lines wraps it to the paper
        else:
            value = r.value[:width]
            label = r.label[: max(0, width - len(value) - 1)]
            out.append(f"{label}{' ' * (width - len(label) - len(value))}{value}")
    out.append("-" * width)
    return out
