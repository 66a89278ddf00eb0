"""The drawer, reprints, sync and exports: no-sale, reprint, Sync now, Retry, export to a USB stick."""

from __future__ import annotations

from pathlib import Path

from firmware.domain.receipt import no_sale_body
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.handlers.commit import receipt_context
from firmware.register.core.state import Phase
from firmware.register.core.step import Step
from firmware.register.guard import plural
from firmware.register.view import Outcome


def no_sale(step: Step, cmd: c.NoSale) -> Outcome:
    """Open the drawer without a sale: manager approval, logged as a `no_sale` receipt first."""
    clerk = step.require_clerk()
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING):
        return Outcome.refused("Finish the payment first.")
    approver = manager(step, cmd.manager_pin, "Opening the drawer without a sale")
    ctx = receipt_context(step)
    body = no_sale_body(
        store=ctx["store"], register=ctx["register"], currency=ctx["currency"], created_at=ctx["created_at"],
        clock_trusted=ctx["clock_trusted"], offline=ctx["offline"], clerk_id=clerk.clerk_id,
        sale_id=step.ctx.new_id(), approved_by=approver.clerk_id, reason=cmd.reason,
    )
    step.do(fx.CommitReceipt(body, fx.Purpose.NO_SALE))
    return Outcome(True, "Opening the drawer")


def reprint(step: Step, cmd: c.Reprint) -> Outcome:
    """Print a receipt again, marked COPY; never a second sale."""
    lookup = step.ctx.lookup
    if cmd.receipt_id:
        receipt = lookup.receipt(cmd.receipt_id)
    else:
        receipt = step.state.last_receipt or next(iter(lookup.recent(1)), None)
    if receipt is None:
        return Outcome.refused(f"No receipt {cmd.receipt_id} on this register." if cmd.receipt_id
                               else "No receipt to reprint yet.")
    if not step.ctx.has_hardware:
        return Outcome.refused("No printer is configured.")
    step.do(fx.PrintReceipt(receipt, copy=True))
    return Outcome(True, f"Reprinting {receipt.receipt_id}")


def sync_now(step: Step, cmd: c.SyncNow) -> Outcome:
    if not step.ctx.has_sync:
        return Outcome.refused("No broker is configured.")
    step.do(fx.SyncNow())
    return Outcome(True, "Sending now" if step.state.health.sync.online
                   else "Offline: will send when the network is back")


def retry_quarantined(step: Step, cmd: c.RetryQuarantined) -> Outcome:
    """Give receipts the broker or fleet refused another round (after the fault was fixed)."""
    n = step.state.health.sync.quarantined
    step.do(fx.RetryQuarantined())
    return Outcome(True, f"{plural(n, 'refused receipt')} will be sent again")


def _stem(step: Step) -> str:
    device = step.ctx.config.device
    return f"kassa-{device.store}-{device.register}"


def export_pending(step: Step, cmd: c.ExportPending) -> Outcome:
    """Start writing every receipt the fleet has not confirmed into `directory`; `ExportFinished` follows."""
    step.do(fx.StartExport(Path(cmd.directory), f"{_stem(step)}-pending-{step.ctx.now:%Y%m%d-%H%M%S}"))
    return Outcome(True, f"Exporting unsent receipts to {cmd.directory}…")


def export_range(step: Step, cmd: c.ExportRange) -> Outcome:
    """Start writing receipts created in [start, end) into `directory` (for the accountant)."""
    stem = f"{_stem(step)}-{cmd.start:%Y%m%d}-{cmd.end:%Y%m%d}"
    step.do(fx.StartExport(Path(cmd.directory), stem, cmd.start, cmd.end))
    return Outcome(True, f"Exporting receipts to {cmd.directory}…")
