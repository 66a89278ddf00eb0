"""Hardware and link events folded into the state.

Scans, device health, print jobs, the drawer, the broker, the disk."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from firmware.contract.receipt_id import parse_receipt_id
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.events import (
    ExportFinished,
    JournalArchived,
    JournalHealthMeasured,
    ReceiptPrinting,
    StateWritten,
)
from firmware.register.core.state import Phase
from firmware.register.core.step import Step
from firmware.register.view import Outcome
from firmware.sync import events as sync
from hal import events as hal

_SENTENCES = {
    "printer": "Printer problem: {state}. The sale is saved; reprint from the manager menu when fixed.",
    "scanner": "Scanner problem: {state}. Type item numbers until it is back.",
    "drawer": "Drawer problem: {state}.",
}


def scan_read(step: Step, event: hal.ScanRead) -> None:
    """A code from the serial or pty scanner: a `Scan` like the keyboard wedge's, when the cart can take one."""
    from firmware.register.core import run_command

    if step.state.clerk is None:
        step.note("warn", "Log in before scanning.")
    elif step.state.scans_held or parse_receipt_id(event.code.strip()) is not None:
        # a receipt's barcode (a refund), or any code while a screen takes scans itself: the screen decides
        count = step.state.receipt_scan[0] + 1 if step.state.receipt_scan else 1
        step.set(receipt_scan=(count, event.code.strip()))
    elif step.state.phase == Phase.TENDER:
        step.note("warn", "Finish the payment first, or go back to the cart.")
    else:
        before = step.state.message
        run_command(step, c.Scan(event.code))
        msg = step.state.message
        if msg is not None and msg is not before and msg.level == "error":
            step.set(message=replace(msg, topic="scan"))  # the UI's scan-error sound, not the general one


def hold_scans(step: Step, cmd: c.HoldScans) -> Outcome:
    step.set(scans_held=bool(cmd.held))
    return Outcome(True)


def scan_rejected(step: Step, event: hal.ScanRejected) -> None:
    step.note("error", f"Scan not understood: {event.reason}. Scan again or type the number.")
    step.set(message=replace(step.state.message, topic="scan"))  # type: ignore[type-var]


def device_state(step: Step, event: hal.DeviceState) -> None:
    health = step.state.health.with_device(event.device, event.ok, event.state, event.detail)
    if health is not step.state.health:
        step.health(health)
        if not event.ok:
            step.note("error", _SENTENCES.get(event.device, "{device}: {state}").format(
                device=event.device, state=event.state))


def receipt_printing(step: Step, event: ReceiptPrinting) -> None:
    step.set(print_jobs=MappingProxyType({**step.state.print_jobs, event.job_id: event.receipt_id}))


def print_done(step: Step, event: hal.PrintDone) -> None:
    if event.job_id in step.state.print_jobs:
        step.set(print_jobs=MappingProxyType({k: v for k, v in step.state.print_jobs.items() if k != event.job_id}))
    step.health(step.state.health.with_device("printer", True, "ready"))


def print_failed(step: Step, event: hal.PrintFailed) -> None:
    receipt_id = step.state.print_jobs.get(event.job_id, "")
    step.health(step.state.health.with_device("printer", False, event.reason))
    step.note("error", f"Receipt {receipt_id} did not print ({event.reason}). The sale is saved; reprint it when the "
                       "printer is fixed.")


def drawer_opened(step: Step, event: hal.DrawerOpened) -> None:
    step.health(step.state.health.with_device("drawer", True, "open"))


def drawer_closed(step: Step, event: hal.DrawerClosed) -> None:
    health = step.state.health.with_device("drawer", True, "closed")
    step.health(replace(health, drawer_warning=None) if health.drawer_warning is not None else health)


def drawer_left_open(step: Step, event: hal.DrawerLeftOpen) -> None:
    step.health(replace(step.state.health, drawer_warning=f"Drawer open for {int(event.seconds)} s: please close it"))


# ---- the link and the outbox

def link_up(step: Step, event: sync.LinkUp) -> None:
    step.health(step.state.health.with_link(True, step.ctx.now))
    step.do(fx.RefreshOutbox())


def link_down(step: Step, event: sync.LinkDown) -> None:
    step.health(step.state.health.with_link(False, step.ctx.now, event.reason))


def outbox_moved(step: Step, event: sync.ReceiptsDelivered | sync.ReceiptsConfirmed) -> None:
    step.do(fx.RefreshOutbox())


def publish_refused(step: Step, event: sync.PublishRefused) -> None:
    step.health(step.state.health.with_fault(f"broker refused receipt {event.seq}: {event.reason}"))
    step.do(fx.RefreshOutbox())


def receipts_conflicted(step: Step, event: sync.ReceiptsConflicted) -> None:
    step.do(fx.RefreshOutbox())
    step.note("error", f"The fleet holds a different receipt under the number of {len(event.seqs)} of ours "
                       "(restored journal?). They are set aside on the Status page: call the technician.")


def journal_rolled_back(step: Step, event: sync.JournalRolledBack) -> None:
    step.do(fx.RefreshOutbox())
    step.note("error", f"The sales journal is older than the fleet's copy (fleet has up to #{event.fleet_seq}, this "
                       f"register #{event.journal_seq}): new sales are numbered in a new series. Call the technician.")


# ---- the register's own workers

def journal_health(step: Step, event: JournalHealthMeasured) -> None:
    health = replace(step.state.health, days_left=event.days_left)
    if event.alarm:
        health = health.with_device("journal", False, "damaged", event.alarm)
    else:
        health = health.with_device("journal", True, "ok", f"{event.free_bytes // 1_000_000} MB free")
    step.set(health=health)


def journal_archived(step: Step, event: JournalArchived) -> None:
    """Nothing to show: the housekeeper logged it."""


def export_finished(step: Step, event: ExportFinished) -> None:
    step.set(last_export=event)
    step.note("notice" if event.ok else "error", event.message)


def state_written(step: Step, event: StateWritten) -> None:
    """A state write is done: its follow-up decides what to say or do (see `effects.FollowUp`)."""
    from firmware.register.core.handlers import FOLLOW_UPS

    FOLLOW_UPS[type(event.then)](step, event.then, event.ok, event.reason)
