"""Fleet commands that need the register: `report`, X only, summed on the report worker and answered.

The journey, in one direction: sync puts `CommandReceived` on the register's
queue; `command_received` returns `SumReport`; the shell hands it to the
report worker (`firmware/register/report_worker.py`, started and joined by
bootstrap's lifecycle), which puts `ReportSummed` back on the queue;
`report_summed` returns `PublishReport` and `AnswerCommand`, which the shell
hands to sync. Sync never calls the register and the register never waits
for sync. (Sync carries out `sync_now` and `resend` itself.)
"""

from __future__ import annotations

from firmware.clock import iso_utc
from firmware.register.core.effects import AnswerCommand, PublishReport, SumReport
from firmware.register.core.events import ReportSummed
from firmware.register.core.handlers.reports import inputs
from firmware.register.core.state import currency_of
from firmware.register.core.step import Step
from firmware.sync.events import CommandReceived


def command_received(step: Step, event: CommandReceived) -> None:
    """Nothing that moves money or closes the day is remote: only an X report may be asked for.

    It is summed on the report worker: a busy day's receipts take a while to read, and the fleet may ask in the
    middle of a sale.
    """
    args = dict(event.args or {})
    if event.command != "report":
        step.do(AnswerCommand(event.command_id, False, f"unknown command {event.command!r}"))
    elif args.get("kind", "x") != "x":
        step.do(AnswerCommand(event.command_id, False,
                              "only an X report can be asked for remotely; a Z report closes the shift on site"))
    else:
        last_z, shift = inputs(step)
        step.do(SumReport(event.command_id, "x", last_z, shift, currency_of(step.state, step.ctx.config),
                          report_id_tail=step.ctx.new_id()[:6], created_at=iso_utc(step.ctx.now)))


def report_summed(step: Step, event: ReportSummed) -> None:
    """Send the summed report, then say so to the fleet (or say why there is none)."""
    if event.report is None:
        step.do(AnswerCommand(event.command_id, False, f"report failed: {event.error}"))
        return
    step.do(PublishReport(event.report),
            AnswerCommand(event.command_id, True, f"X report {event.report['report_id']} sent"))
