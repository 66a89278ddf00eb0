"""Retention of the time clock's punches (docs/timeclock.md): confirmed punches older than `[policy]
retention_days` are pruned by housekeeping; the fleet holds them (`kassa-fleet hours`).

What stays, so that nothing the till shows changes:

- every punch the fleet has not confirmed (`punch_pending`), or holds another punch for (`punch_conflict`);
- the chain head (`punch_head`, never touched here) and the last punch of the chain;
- each clerk's last shift whole, from its clock-in (or the clerk's last punch when it is not in a shift), so the
  replayed time clock still knows who is clocked in or on a break, and since when;
- every shift with a punch on or after the first local day (the shop's zone) still within retention: a shift is
  pruned whole or not at all, so the hours of the days within retention are the same before and after.

`prunable` is pure; `PunchPruner` reads the journal's state records and deletes in one durable write (the
housekeeping thread: firmware/register/housekeeping.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from firmware.clock import parse_iso_utc
from firmware.domain.timeclock import CLOCK_IN, CLOCK_OUT
from firmware.fleet_records import PUNCH, PUNCH_CONFLICT, PUNCH_PENDING

__all__ = ["PunchPruner", "PunchesPruned", "prunable", "retention_start"]

log = logging.getLogger(__name__)

Doc = dict[str, Any]  # Any: a journaled punch (PunchMessage as sent)


def retention_start(now: datetime, days: int, zone: tzinfo) -> datetime:
    """The first instant of the first local day kept whole: local midnight of (now - days)."""
    day = (now - timedelta(days=days)).astimezone(zone).date()
    return datetime.combine(day, time(0), tzinfo=zone)


def prunable(punches: Mapping[str, Mapping[str, Any]], held: Iterable[str], before: datetime) -> list[str]:
    """Keys of the punches that may go: confirmed, in a closed shift whose every punch is before `before`, and
    neither the chain's last punch nor in a clerk's last shift. `held`: keys never to prune (pending,
    conflicts). A punch that cannot be read is kept."""
    held = set(held)
    keys = sorted(punches)
    if not keys:
        return []
    keep = set(held) | {keys[-1]}
    shifts: dict[str, list[list[str]]] = {}  # clerk -> shifts (or runs of punches outside one), in seq order
    when: dict[str, datetime] = {}
    for key in keys:
        doc = punches[key]
        try:
            clerk, kind, at = str(doc["clerk_id"]), str(doc["kind"]), parse_iso_utc(str(doc["at"]))
        except (KeyError, TypeError, ValueError):
            keep.add(key)
            continue
        when[key] = at
        runs = shifts.setdefault(clerk, [])
        if kind == CLOCK_IN or not runs:
            runs.append([key])
        else:
            runs[-1].append(key)
        if kind == CLOCK_OUT:
            runs.append([])  # the next punch starts a new run
    out = []
    for runs in shifts.values():
        runs = [run for run in runs if run]
        for run in runs[:-1]:  # the clerk's last shift stays whole
            closed = punches[run[-1]].get("kind") == CLOCK_OUT
            if closed and all(k in when and when[k] < before for k in run) and not keep.intersection(run):
                out.extend(run)
    return sorted(out)


class PunchJournal(Protocol):
    def states(self, kind: str) -> dict[str, Doc]: ...
    def put_states(self, changes: Iterable[tuple[str, str, Doc | None]]) -> None: ...


@dataclass(frozen=True)
class PunchesPruned:
    punches: int
    first_key: str | None = None
    last_key: str | None = None


class PunchPruner:
    """Deletes the punches `prunable` allows, in one durable write (housekeeping thread)."""

    def __init__(self, journal: PunchJournal, zone: tzinfo) -> None:
        self.journal = journal
        self.zone = zone

    def prune(self, now: datetime, retention_days: int) -> PunchesPruned:
        punches = self.journal.states(PUNCH)  # first: a punch sealed meanwhile is not in it; one pending in it
        held = set(self.journal.states(PUNCH_PENDING)) | set(self.journal.states(PUNCH_CONFLICT))  # still is
        gone = prunable(punches, held, retention_start(now, retention_days, self.zone))
        if not gone:
            return PunchesPruned(0)
        self.journal.put_states([(PUNCH, key, None) for key in gone])
        log.info("pruned %d confirmed punches older than %d days (keys %s..%s)", len(gone), retention_days,
                 gone[0], gone[-1])
        return PunchesPruned(len(gone), gone[0], gone[-1])
