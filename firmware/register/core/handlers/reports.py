"""X and Z reports: sums of the receipts since the last Z; a Z is numbered, kept, then printed and sent.

A Z report's number and the new counter are written first; it is printed and
published only once they are on disk, so a power cut can never reuse a
printed number. The fleet may ask for an X report (never a Z): `fleet.py`
has it summed by `build` on the report worker and answered.
"""

from __future__ import annotations

from collections.abc import Iterable

from firmware.clock import iso_utc
from firmware.config import Config
from firmware.domain import reports
from firmware.domain.shift import Shift
from firmware.register.core import commands as c
from firmware.register.core.context import StateDoc
from firmware.register.core.effects import (
    Change,
    PrintReport,
    PublishReport,
    PutState,
    ZReportSaved,
)
from firmware.register.core.handlers import park
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.handlers.shift import SHIFT, current
from firmware.register.core.state import Phase, Receipt, Report, currency_of
from firmware.register.core.step import Step
from firmware.register.view import Outcome

COUNTERS = "counters"
REPORTS = "reports"
NO_Z_YET: StateDoc = {"z_number": 0, "last_seq": 0}


def build(kind: str, counted_cash: int | None, last_z: StateDoc, shift: Shift | None, receipts: Iterable[Receipt], *,
          config: Config, currency: str, epoch: str, report_id_tail: str, created_at: str) -> Report:
    """Sum `receipts` (those after `last_z`) into an X or Z report; pure, so any thread may run it."""
    z_number = last_z["z_number"] + 1 if kind == "z" else None
    register = config.device.register
    report = reports.summarize(
        receipts, kind=kind, z_number=z_number, shift=shift, counted_cash=counted_cash,
        report_id=f"{register}:{epoch}:{kind}{z_number or ''}:{report_id_tail}", created_at=created_at,
    )
    report.update(store=config.device.store, register=register, currency=currency)
    return report


def inputs(step: Step) -> tuple[StateDoc, Shift | None]:
    """What a report starts from: the last Z's counter and the open shift."""
    return step.record(COUNTERS, "z") or dict(NO_Z_YET), current(step)


def _report(step: Step, kind: str, counted_cash: int | None) -> Report:
    last_z, shift = inputs(step)
    return build(kind, counted_cash, last_z, shift, step.ctx.lookup.receipts_from(last_z["last_seq"] + 1),
                 config=step.ctx.config, currency=currency_of(step.state, step.ctx.config),
                 epoch=step.ctx.lookup.epoch(), report_id_tail=step.ctx.new_id()[:6], created_at=iso_utc(step.ctx.now))


def _publish_and_print(step: Step, report: Report) -> None:
    if step.ctx.has_sync:
        step.do(PublishReport(report))
    if step.ctx.has_hardware:
        step.do(PrintReport(report))


def x_report(step: Step, cmd: c.XReport) -> Outcome:
    """Mid-shift report: read-only, changes nothing."""
    step.require_clerk()
    report = _report(step, "x", None)
    _publish_and_print(step, report)
    return Outcome(True, "X report", report)


def z_report(step: Step, cmd: c.ZReport) -> Outcome:
    """Close the day: a numbered Z report kept in the journal, printed and sent to the fleet once saved."""
    step.require_clerk()
    approver = manager(step, cmd.manager_pin, "A Z report")
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING):
        return Outcome.refused("Finish the payment first.")
    report = _report(step, "z", cmd.counted_cash)
    last_seq = report.get("last_seq") or (step.record(COUNTERS, "z") or NO_Z_YET)["last_seq"]
    changes: list[Change] = [
        (REPORTS, report["report_id"], report),
        (COUNTERS, "z", {"z_number": report["z_number"], "last_seq": last_seq}),
        park.reset_numbers(step)]  # park numbers start at P1 again for the next day
    shift = current(step)
    if shift is not None:
        closed = shift.close(report["z_number"], cmd.counted_cash, approver.clerk_id, report["created_at"])
        changes += [("shifts", closed.shift_id, closed.to_dict()), (SHIFT, "current", None)]
    step.do(PutState(tuple(changes), ZReportSaved(report)))
    return Outcome(True, f"Z report {report['z_number']} done", report)


def z_report_saved(step: Step, then: ZReportSaved, ok: bool, reason: str) -> None:
    if ok:
        _publish_and_print(step, then.report)
    else:
        step.said(Outcome.refused(f"Z report {then.report['z_number']} not saved ({reason}); nothing was "
                                  "printed. Free disk space and run the Z report again."))
