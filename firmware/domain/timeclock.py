"""The time clock: clerks' punches (clock in, break start, break end, clock out) and hours per clerk per day.

Pure: no clock, no I/O. Times are timezone-aware datetimes; arithmetic is done in UTC, so a day with a
daylight-saving change is as long as it really was (23 or 25 hours) and a shift across it counts the hours
actually worked.

The punch state machine, per clerk (docs/timeclock.md#punches):

    off --clock_in--> working --break_start--> on_break --break_end--> working --clock_out--> off

Anything else is refused in the cashier's words (`TimeClock.check`): clocking out twice, a break while not
clocked in, clocking out while on a break (end the break first), a punch earlier than the clerk's last one
(the register's clock went back). `TimeClock.allowed` lists what the screen should offer a clerk.

Hours (`hours_report`): worked = clock in to clock out minus breaks; breaks are reported beside it. A shift
that spans local midnight is split at local midnight in the shop's time zone: each day gets the part of the
shift that fell on it. An open shift (no clock-out yet) is reported as open: an X report (`kind="x"`) counts
it up to `as_of`, "so far"; a Z report (`kind="z"`) counts nothing past its last punch and lists it open.

The fleet's report sees punches of every register of a store, so it can meet sequences the till would have
refused (a clerk clocked in on one register and, offline, again on another). It never stops on them: each is
a `problem` in the report and the rule applied is written beside it:

- clock in while already in: the earlier shift never clocked out; it is closed at its last punch (nothing is
  counted after it) and the new shift starts;
- clock out while on a break: the break ends there too;
- anything else out of turn (a second break start, a break end or clock out while off): ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from firmware.domain.errors import Refused

__all__ = ["BREAK_END", "BREAK_START", "CLOCK_IN", "CLOCK_OUT", "ClerkClock", "DayHours", "HoursReport",
           "OFF", "ON_BREAK", "OpenShift", "PUNCH_KINDS", "Punch", "STATES", "TimeClock", "WORKING",
           "hours_report", "split_at_midnight"]

CLOCK_IN, BREAK_START, BREAK_END, CLOCK_OUT = "clock_in", "break_start", "break_end", "clock_out"
PUNCH_KINDS = (CLOCK_IN, BREAK_START, BREAK_END, CLOCK_OUT)
OFF, WORKING, ON_BREAK = "off", "working", "on_break"
STATES = (OFF, WORKING, ON_BREAK)

_NEXT = {(OFF, CLOCK_IN): WORKING, (WORKING, BREAK_START): ON_BREAK, (ON_BREAK, BREAK_END): WORKING,
         (WORKING, CLOCK_OUT): OFF}
_REFUSALS = {
    (WORKING, CLOCK_IN): "{name} is already clocked in (since {since})",
    (ON_BREAK, CLOCK_IN): "{name} is clocked in and on a break since {since}: end the break instead",
    (OFF, BREAK_START): "{name} is not clocked in: clock in before starting a break",
    (ON_BREAK, BREAK_START): "{name} is already on a break (since {since})",
    (OFF, BREAK_END): "{name} is not clocked in, so there is no break to end",
    (WORKING, BREAK_END): "{name} is not on a break (working since {since})",
    (OFF, CLOCK_OUT): "{name} is not clocked in: there is nothing to clock out of",
    (ON_BREAK, CLOCK_OUT): "{name} is on a break since {since}: end the break, then clock out",
}
WORDS = {CLOCK_IN: "clock in", BREAK_START: "break start", BREAK_END: "break end", CLOCK_OUT: "clock out"}


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Refused("A punch needs a time with its time zone; the register's clock gave none")
    return moment.astimezone(UTC)


def _hhmm(moment: datetime | None, tz: tzinfo | None) -> str:
    if moment is None:
        return "?"
    local = moment.astimezone(tz) if tz is not None else moment
    return local.strftime("%H:%M") if tz is not None else local.strftime("%H:%M UTC")


@dataclass(frozen=True)
class Punch:
    """One punch of one clerk. `at` is timezone-aware; `clock_trusted` is false while the register's clock was
    not synchronised (it is carried into the report, never used to refuse)."""

    clerk_id: str
    kind: str
    at: datetime
    clock_trusted: bool = True
    punch_id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PUNCH_KINDS:
            raise Refused(f"Unknown punch {self.kind!r}: use clock in, break start, break end or clock out")
        if not self.clerk_id:
            raise Refused("A punch needs a clerk")
        object.__setattr__(self, "at", _utc(self.at))


@dataclass(frozen=True)
class ClerkClock:
    """Where one clerk stands: `state`, since when (`since`), the shift's clock-in and the last punch's time."""

    clerk_id: str
    state: str = OFF
    since: datetime | None = None
    shift_start: datetime | None = None
    last_at: datetime | None = None


@dataclass(frozen=True)
class TimeClock:
    """Every clerk's punch state on this register; `apply` returns a new TimeClock (this one is unchanged)."""

    clerks: Mapping[str, ClerkClock] = field(default_factory=dict)

    def state_of(self, clerk_id: str) -> ClerkClock:
        return self.clerks.get(clerk_id) or ClerkClock(clerk_id)

    def allowed(self, clerk_id: str) -> tuple[str, ...]:
        """The punches the screen should offer this clerk now, in PUNCH_KINDS order."""
        state = self.state_of(clerk_id).state
        return tuple(kind for kind in PUNCH_KINDS if (state, kind) in _NEXT)

    def check(self, punch: Punch, *, tz: tzinfo | None = None, name: str | None = None) -> None:
        """Raise Refused, in the cashier's words, when `punch` is not allowed now; `tz` formats times."""
        clerk = self.state_of(punch.clerk_id)
        who = name or punch.clerk_id
        refusal = _REFUSALS.get((clerk.state, punch.kind))
        if refusal is not None:
            raise Refused(refusal.format(name=who, since=_hhmm(clerk.since, tz)))
        if clerk.last_at is not None and punch.at < clerk.last_at:
            raise Refused(f"The register's clock says {_hhmm(punch.at, tz)}, before {who}'s last punch at "
                          f"{_hhmm(clerk.last_at, tz)}: check the clock on the status page, or ask a manager")

    def apply(self, punch: Punch, *, tz: tzinfo | None = None, name: str | None = None) -> TimeClock:
        """The time clock after `punch`; Refused (see `check`) leaves nothing changed."""
        self.check(punch, tz=tz, name=name)
        clerk = self.state_of(punch.clerk_id)
        state = _NEXT[(clerk.state, punch.kind)]
        start = punch.at if punch.kind == CLOCK_IN else (None if state == OFF else clerk.shift_start)
        clerks = dict(self.clerks)
        clerks[punch.clerk_id] = ClerkClock(punch.clerk_id, state, punch.at, start, punch.at)
        return TimeClock(clerks)

    @classmethod
    def replay(cls, punches: Iterable[Punch]) -> TimeClock:
        """The time clock after `punches` in the order they were journaled (each must have been allowed)."""
        clock = cls()
        for punch in punches:
            clock = clock.apply(punch)
        return clock

    @property
    def clocked_in(self) -> tuple[ClerkClock, ...]:
        """Clerks working or on a break, by clerk id (the shift's close should name them)."""
        return tuple(c for _, c in sorted(self.clerks.items()) if c.state != OFF)


# ---------------------------------------------------------------- hours


def split_at_midnight(start: datetime, end: datetime, tz: tzinfo) -> Iterator[tuple[date, timedelta]]:
    """The local days of `tz` that [start, end) touches, each with the elapsed time that fell on it.

    Local midnight is `datetime.combine(day, 00:00, tzinfo=tz)` (zoneinfo's fold=0: where a DST change skips
    midnight, the day starts at the first instant that exists). Durations are real elapsed time (UTC).
    """
    cur, end = _utc(start), _utc(end)
    while cur < end:
        day = cur.astimezone(tz).date()
        following = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        if following <= cur:  # never: a local day always ends after one of its instants; guards the loop
            following = cur + timedelta(hours=1)
        piece = min(end, following)
        yield day, piece - cur
        cur = piece


@dataclass(frozen=True)
class DayHours:
    """One clerk's time on one local day. `open`: a shift on this day has no clock-out (yet)."""

    clerk_id: str
    day: date
    worked: timedelta
    breaks: timedelta
    shifts: int  # shifts (or parts of shifts) on this day
    first_in: datetime | None
    last_out: datetime | None
    open: bool
    clock_unverified: bool  # a punch behind these hours was made with the register's clock unverified

    @property
    def worked_seconds(self) -> int:
        return int(self.worked.total_seconds())

    @property
    def break_seconds(self) -> int:
        return int(self.breaks.total_seconds())


@dataclass(frozen=True)
class OpenShift:
    """A shift with no clock-out at the report's end."""

    clerk_id: str
    clock_in: datetime
    state: str  # working or on_break
    since: datetime


@dataclass(frozen=True)
class HoursReport:
    """Hours per clerk per local day (sorted by day, then clerk), open shifts, and problems found."""

    kind: str
    time_zone: str
    as_of: datetime | None
    days: tuple[DayHours, ...]
    open_shifts: tuple[OpenShift, ...]
    problems: tuple[str, ...]

    def worked_by_clerk(self) -> dict[str, timedelta]:
        out: dict[str, timedelta] = {}
        for row in self.days:
            out[row.clerk_id] = out.get(row.clerk_id, timedelta()) + row.worked
        return out

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready: seconds as integers, times as UTC ISO text, days as YYYY-MM-DD."""
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

        return {
            "kind": self.kind, "time_zone": self.time_zone, "as_of": iso(self.as_of),
            "days": [{"clerk_id": r.clerk_id, "day": r.day.isoformat(), "worked_seconds": r.worked_seconds,
                      "break_seconds": r.break_seconds, "shifts": r.shifts, "first_in": iso(r.first_in),
                      "last_out": iso(r.last_out), "open": r.open, "clock_unverified": r.clock_unverified}
                     for r in self.days],
            "open_shifts": [{"clerk_id": s.clerk_id, "clock_in": iso(s.clock_in), "state": s.state,
                             "since": iso(s.since)} for s in self.open_shifts],
            "problems": list(self.problems),
        }


@dataclass
class _Day:
    worked: timedelta = timedelta()
    breaks: timedelta = timedelta()
    shifts: int = 0
    first_in: datetime | None = None
    last_out: datetime | None = None
    open: bool = False
    unverified: bool = False


@dataclass
class _Shift:
    start: datetime
    pieces: list[tuple[str, datetime, datetime]] = field(default_factory=list)  # ("work"|"break", from, to)
    unverified: bool = False


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz.tzname(None) or tz)


def hours_report(punches: Iterable[Punch], tz: tzinfo, *, kind: str = "x", as_of: datetime | None = None,
                 first_day: date | None = None, last_day: date | None = None) -> HoursReport:
    """Hours per clerk per local day of `tz` from `punches` (any order: sorted by time, then as given).

    `kind` "x": an open shift is counted up to `as_of` (when given); "z": only up to its last punch. Days
    outside `first_day`..`last_day` (inclusive, when given) are left out; a shift crossing into the range
    contributes its part on the days in it.
    """
    if kind not in ("x", "z"):
        raise Refused(f"Report kind {kind!r}: use 'x' or 'z'")
    end_at = _utc(as_of) if as_of is not None else None
    by_clerk: dict[str, list[tuple[datetime, int, Punch]]] = {}
    for index, punch in enumerate(punches):
        by_clerk.setdefault(punch.clerk_id, []).append((punch.at, index, punch))
    days: dict[tuple[str, date], _Day] = {}
    open_shifts: list[OpenShift] = []
    problems: list[str] = []

    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def book(clerk_id: str, shift: _Shift, closed_at: datetime | None, is_open: bool) -> None:
        touched: list[date] = []
        for what, start, stop in shift.pieces:
            for day, length in split_at_midnight(start, stop, tz):
                row = days.setdefault((clerk_id, day), _Day())
                if what == "work":
                    row.worked += length
                else:
                    row.breaks += length
                touched.append(day)
        first_day_of_shift = shift.start.astimezone(tz).date()
        touched.append(first_day_of_shift)
        last_moment = closed_at or (shift.pieces[-1][2] if shift.pieces else shift.start)
        touched.append(last_moment.astimezone(tz).date())
        for day in dict.fromkeys(touched):
            row = days.setdefault((clerk_id, day), _Day())
            row.shifts += 1
            row.open = row.open or is_open
            row.unverified = row.unverified or shift.unverified
        start_row = days[(clerk_id, first_day_of_shift)]
        if start_row.first_in is None or shift.start < start_row.first_in:
            start_row.first_in = shift.start
        if closed_at is not None:
            out_row = days[(clerk_id, closed_at.astimezone(tz).date())]
            if out_row.last_out is None or closed_at > out_row.last_out:
                out_row.last_out = closed_at

    for clerk_id in sorted(by_clerk):
        state, since = OFF, None
        shift: _Shift | None = None
        for at, _index, punch in sorted(by_clerk[clerk_id], key=lambda item: (item[0], item[1])):
            move = (state, punch.kind)
            if move == (OFF, CLOCK_IN):
                shift = _Shift(at, unverified=not punch.clock_trusted)
                state, since = WORKING, at
                continue
            if shift is None or since is None:
                problems.append(f"{clerk_id}: {WORDS[punch.kind]} at {local(at)} while not clocked in: ignored")
                continue
            shift.unverified = shift.unverified or not punch.clock_trusted
            if punch.kind == CLOCK_IN:  # in again without an out: the earlier shift never clocked out
                problems.append(f"{clerk_id}: clocked in at {local(at)} without clocking out of the shift from "
                                f"{local(shift.start)}; that shift is counted up to its last punch "
                                f"({local(since)})")
                book(clerk_id, shift, None, True)
                shift = _Shift(at, unverified=not punch.clock_trusted)
                state, since = WORKING, at
            elif move in ((WORKING, BREAK_START), (WORKING, CLOCK_OUT)):
                shift.pieces.append(("work", since, at))
                if punch.kind == CLOCK_OUT:
                    book(clerk_id, shift, at, False)
                    shift, state, since = None, OFF, None
                else:
                    state, since = ON_BREAK, at
            elif move == (ON_BREAK, BREAK_END):
                shift.pieces.append(("break", since, at))
                state, since = WORKING, at
            elif move == (ON_BREAK, CLOCK_OUT):
                problems.append(f"{clerk_id}: clocked out at {local(at)} while on a break: the break ends there")
                shift.pieces.append(("break", since, at))
                book(clerk_id, shift, at, False)
                shift, state, since = None, OFF, None
            else:
                problems.append(f"{clerk_id}: {WORDS[punch.kind]} at {local(at)} while "
                                f"{'on a break' if state == ON_BREAK else 'working'}: ignored")
        if shift is not None and since is not None:
            if kind == "x" and end_at is not None and end_at > since:
                shift.pieces.append(("work" if state == WORKING else "break", since, end_at))
            open_shifts.append(OpenShift(clerk_id, shift.start, state, since))
            book(clerk_id, shift, None, True)

    rows = tuple(
        DayHours(clerk_id, day, row.worked, row.breaks, row.shifts, row.first_in, row.last_out, row.open,
                 row.unverified)
        for (clerk_id, day), row in sorted(days.items(), key=lambda item: (item[0][1], item[0][0]))
        if (first_day is None or day >= first_day) and (last_day is None or day <= last_day))
    return HoursReport(kind, _zone_name(tz), end_at, rows, tuple(open_shifts), tuple(problems))
