"""Day ranges for exports as a shop manager names them ("Yesterday", "Last month", "24.11"), in the shop's days.

A day is the shop's local day, 00:00 to 24:00 on the clock on the shop's
wall: the zone of `[shop] timezone`, else the machine's own zone (as the
receipts and reports print their times). A sale at 23:30 on the 24th is the
24th's, whatever the date in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# (id, label) of the quick choices, in the order the dialog shows them
QUICK: tuple[tuple[str, str], ...] = (
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("last7", "Last 7 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
)
FORMATS = "YYYY-MM-DD (2026-11-24) or DD.MM (24.11)"


class DayError(ValueError):
    """A typed day or range that cannot be exported; `str()` is the sentence the screen shows."""


def shop_zone(name: str = "") -> tzinfo:
    """The shop's time zone: the IANA `name` (`[shop] timezone`), else the machine's own zone, else UTC."""
    from firmware.config import load_zone, system_zone

    if name:
        try:
            return load_zone(name)
        except ValueError:  # the config check refuses a bad name at start-up; never fail a screen on it
            pass
    return system_zone()


def local_today(now: datetime, zone: tzinfo) -> date:
    """The shop's day `now` falls on (a naive `now` is taken as UTC, as the register's clock gives it)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(zone).date()


def quick_days(choice: str, today: date) -> tuple[date, date]:
    """First and last day (both included) of a quick choice; "Last 7 days" is today and the six before it."""
    if choice == "today":
        return today, today
    if choice == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if choice == "last7":
        return today - timedelta(days=6), today
    if choice == "this_month":
        return today.replace(day=1), today
    if choice == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise KeyError(choice)


def parse_day(text: str, today: date) -> date:
    """`2026-11-24`, `24.11`, `24.11.` or `24.11.2026` as a day.

    A day without a year is the latest such day not after `today` (typed on
    5 January, `28.12` is last December): nothing was sold in the future.
    """
    t = text.strip()
    if not t:
        raise DayError(f"Type a day as {FORMATS}.")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", t):
            y, m, d = (int(x) for x in t.split("-"))
            return date(y, m, d)
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", t):
            d, m, y = (int(x) for x in t.split("."))
            return date(y, m, d)
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.?", t):
            d, m = (int(x) for x in t.rstrip(".").split("."))
            try:
                day = date(today.year, m, d)
            except ValueError:  # 29.02 in a year without one: maybe last year had it
                day = date(today.year - 1, m, d)
            return day if day <= today else date(day.year - 1, m, d)
    except ValueError:
        raise DayError(f"{t} is not a day in the calendar.") from None
    raise DayError(f"{t} is not a day: type it as {FORMATS}.")


def day_range(first_text: str, last_text: str, today: date) -> tuple[date, date]:
    """The typed From and To days (both included); an empty To means just the From day."""
    try:
        first = parse_day(first_text, today)
    except DayError as exc:
        raise DayError(f"From: {exc}") from None
    try:
        last = parse_day(last_text, today) if last_text.strip() else first
    except DayError as exc:
        raise DayError(f"To: {exc}") from None
    if first > last:
        raise DayError(f"From ({first:%d.%m.%Y}) is after To ({last:%d.%m.%Y}). Swap the two days.")
    return first, last


def local_bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) as instants: from 00:00 shop time of `first` to 00:00 shop time of the day after `last`
    (a day across a daylight-saving change is 23 or 25 hours long, as it is on the shop's wall)."""
    start = datetime.combine(first, time(), zone)
    return start, datetime.combine(last + timedelta(days=1), time(), zone)


def describe(first: date, last: date) -> str:
    """'Tue 24 Nov 2026', or '1 Nov – 25 Nov 2026' for several days."""
    if first == last:
        return f"{first:%a} {first.day} {first:%b %Y}"
    year = "" if first.year == last.year else f" {first.year}"
    return f"{first.day} {first:%b}{year} – {last.day} {last:%b %Y}"


__all__ = ["QUICK", "FORMATS", "DayError", "shop_zone", "local_today", "quick_days", "parse_day", "day_range",
           "local_bounds", "describe"]
