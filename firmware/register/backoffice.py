"""Register commands beyond the sale: park/recall, no-sale, reprint, refunds, shifts, X/Z reports, exports, remote commands.

Mixed into `Register`; every command returns an Outcome and never raises.
Parked carts, the open shift and the Z counter are journal state records, so
they survive a power cut. Refunds and no-sales are receipts like sales and go
through the same commit point before the drawer opens.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware.clock import iso_utc, parse_iso_utc
from firmware.contract.receipt_id import RECEIPT_ID_PATTERN
from firmware.domain import refunds, reports
from firmware.domain.errors import Refused
from firmware.domain.receipt import no_sale_body
from firmware.domain.parked import ParkedCart, park
from firmware.domain.shift import Shift
from firmware.exports import receipts_between, unconfirmed_receipts
from firmware.register.guard import command
from firmware.register.report_text import report_lines
from firmware.register.view import Outcome, ParkedInfo

if TYPE_CHECKING:
    from firmware.register.service import Register

log = logging.getLogger(__name__)

Refusal = Refused

PARKED = "parked"
SHIFT = "shift"
COUNTERS = "counters"
REPORTS = "reports"
REFUND_INDEX = "refunds"
REFUND_CATCH_UP = 16  # receipts re-checked at start-up for a refund whose index entry a power cut lost
RECEIPT_ID = re.compile(RECEIPT_ID_PATTERN)  # a fleet receipt id, 1.1 store:register:epoch:seq or 1.0


class BackOffice:
    """Back-office commands of the register (see module docstring)."""

    def __init__(self: "Register") -> None:  # type: ignore[misc]
        self._catch_up_refund_index()

    # ---------------------------------------------------------------- park / recall

    def parked(self: "Register") -> list[ParkedInfo]:  # type: ignore[misc]
        now = self.clock.now()
        max_age = self.config.policy.parked_cart_max_age_hours
        carts = sorted((ParkedCart.from_dict(doc) for doc in self._states.all(PARKED).values()),
                       key=lambda c: c.parked_at)
        return [ParkedInfo(c.park_id, c.clerk_id, parse_iso_utc(c.parked_at), c.line_count, c.total,
                           c.is_stale(now, max_age)) for c in carts]

    @command
    def park(self: "Register") -> Outcome:  # type: ignore[misc]
        """Put the open cart aside to serve the next customer; "parked" is said once it is on disk.

        The journal writer saves it (no frame waits on the fsync); meanwhile it is listed as parked already.
        If it cannot be saved, it comes back to the screen when the cart there is still empty.
        """
        if self._phase != "sell" or self._sale is None:
            return Outcome.refused("There is no open cart to park.")
        cart = park(self._sale, uuid.uuid4().hex[:8], iso_utc(self.clock.now()))

        def done(ok: bool, reason: str) -> None:
            if ok:
                self._said(Outcome(True, f"Cart parked as {cart.park_id}"))
                return
            back = self._phase == "sell" and (self._sale is None or self._sale.is_empty)
            if back:
                self._sale = cart.recall()
            self._said(Outcome.refused(f"The cart could not be parked ({reason})" +
                                       ("; it is back on the screen." if back else
                                        f"; recall is not possible, scan its {cart.line_count} lines again.")))

        self._states.write([(PARKED, cart.park_id, cart.to_dict())], done)
        self._sale = None
        return Outcome(True, f"Parking the cart as {cart.park_id}", cart.park_id)

    @command
    def recall(self: "Register", park_id: str) -> Outcome:  # type: ignore[misc]
        """Bring a parked cart back; refused while another cart is open."""
        self._require_clerk()
        if self._phase in ("tender", "committing") or (self._sale is not None and not self._sale.is_empty):
            return Outcome.refused("Park or finish the open cart first.")
        doc = self._states.get(PARKED, park_id)
        if doc is None:
            return Outcome.refused(f"No parked cart {park_id}.")
        self._sale = ParkedCart.from_dict(doc).recall()
        self._phase = "sell"
        self._states.write([(PARKED, park_id, None)], lambda ok, reason: ok or log.warning(
            "recalled cart %s stays in the journal as parked too: %s", park_id, reason))
        return Outcome(True, f"Cart {park_id} recalled")

    # ---------------------------------------------------------------- drawer, reprint

    @command
    def no_sale(self: "Register", manager_pin: str | None = None, reason: str | None = None) -> Outcome:  # type: ignore[misc]
        """Open the drawer without a sale: manager approval, logged as a `no_sale` receipt first."""
        clerk = self._require_clerk()
        if self._phase in ("tender", "committing"):
            return Outcome.refused("Finish the payment first.")
        manager = self._manager(manager_pin, "Opening the drawer without a sale")
        ctx = self._receipt_context()
        body = no_sale_body(
            store=ctx["store"], register=ctx["register"], currency=ctx["currency"], created_at=ctx["created_at"],
            clock_trusted=ctx["clock_trusted"], offline=ctx["offline"], clerk_id=clerk.clerk_id,
            sale_id=uuid.uuid4().hex, approved_by=manager.clerk_id, reason=reason,
        )
        self._committer.submit(body, "no_sale")
        return Outcome(True, "Opening the drawer")

    @command
    def reprint(self: "Register", receipt_id: str | None = None) -> Outcome:  # type: ignore[misc]
        """Print a receipt again, marked COPY; never a second sale."""
        receipt = self.journal.get(receipt_id) if receipt_id else (self._last_receipt or next(iter(self.journal.recent(1)), None))
        if receipt is None:
            return Outcome.refused(f"No receipt {receipt_id} on this register." if receipt_id else "No receipt to reprint yet.")
        if self.hardware is None:
            return Outcome.refused("No printer is configured.")
        self.print_receipt(receipt, copy=True)
        return Outcome(True, f"Reprinting {receipt['receipt_id']}")

    # ---------------------------------------------------------------- refunds

    def find_receipt(self: "Register", receipt_id: str) -> dict[str, Any] | None:  # type: ignore[misc]
        """A receipt of this register by id (live journal or archive), for refunds."""
        return self.journal.get(receipt_id.strip())

    def _refunds_of(self: "Register", receipt_id: str) -> list[dict[str, Any]]:  # type: ignore[misc]
        doc = self._states.get(REFUND_INDEX, receipt_id) or {"refund_ids": []}
        return [r for r in (self.journal.get(rid) for rid in doc["refund_ids"]) if r is not None]

    def _index_refund(self: "Register", receipt: dict[str, Any]) -> None:  # type: ignore[misc]
        """Remember a refund under the receipt it refunds (a durable state record; refunds are rare)."""
        original = receipt.get("refund_of")
        if receipt.get("kind") != "refund" or not original:
            return
        doc = self._states.get(REFUND_INDEX, original) or {"refund_ids": []}
        if receipt["receipt_id"] not in doc["refund_ids"]:
            doc["refund_ids"].append(receipt["receipt_id"])
            # lost in a power cut, it is found again at start-up (_catch_up_refund_index)
            self._states.write([(REFUND_INDEX, original, doc)], lambda ok, reason: ok or log.warning(
                "refund index of %s not saved (%s); rebuilt at the next start", original, reason))

    def _catch_up_refund_index(self: "Register") -> None:  # type: ignore[misc]
        """A power cut can fall between a refund's commit and its index entry; that refund is among the
        last receipts committed, so looking at the tail of the journal at start-up is enough (and O(1))."""
        last = self.journal.next_seq - 1
        for receipt in self.journal.iter_receipts(from_seq=max(1, last - REFUND_CATCH_UP + 1)):
            self._index_refund(receipt)

    @command
    def refund(self: "Register", receipt_id: str | None, lines: dict[int, Any] | None, tender_kind: str = "cash",
               manager_pin: str | None = None, reason: str | None = None,
               blind_items: list[tuple[str, Any]] | None = None) -> Outcome:  # type: ignore[misc]
        """Refund lines of an earlier receipt, or a blind return (SKU, qty) with a reason; manager approval."""
        clerk = self._require_clerk()
        if self._phase in ("tender", "committing") or (self._sale is not None and not self._sale.is_empty):
            return Outcome.refused("Finish or park the open cart before a refund.")
        manager = self._manager(manager_pin, "A refund")
        sale_id = uuid.uuid4().hex
        shop = self.config.shop
        original = self.find_receipt(receipt_id) if receipt_id else None
        if original is not None:
            sale = refunds.build_refund(
                original, self._refunds_of(original["receipt_id"]), dict(lines or {}),
                sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=manager.clerk_id,
                cash_rounding=shop.cash_rounding, reason=reason,
            )
        else:
            items = []
            for sku, qty in blind_items or []:
                item = self.catalog.by_sku(sku)
                if item is None:
                    return Outcome.refused(f"No item with number {sku}.")
                items.append((item, qty))
            if receipt_id and not items:
                return Outcome.refused(f"Receipt {receipt_id} is not on this register: return it as items without a receipt, with a reason.")
            reference = (receipt_id or "").strip() or None
            if reference is not None and not RECEIPT_ID.match(reference):
                # not one of our fleet's receipt ids: keep what was typed in the reason, never in refund_of
                reason, reference = (f"{reason} (receipt {reference[:64]})" if reason else reason), None
            sale = refunds.build_blind_return(
                items, sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=manager.clerk_id, reason=reason,
                rates=self.tax_rates, tax_included=shop.tax_included, cash_rounding=shop.cash_rounding,
                refund_of=reference,
            )
        if sale.phase == "tendering":
            sale = sale.add_tender(tender_kind, None, cash_rounding=shop.cash_rounding)
        body = sale.receipt_body(**self._receipt_context())
        self._phase = "committing"
        self._committer.submit(body, "refund")
        return Outcome(True, "Saving the refund")

    # ---------------------------------------------------------------- shifts and reports

    def _shift(self: "Register") -> Shift | None:  # type: ignore[misc]
        doc = self._states.get(SHIFT, "current")
        return Shift.from_dict(doc) if doc else None

    def _save_shift(self: "Register", shift: Shift, said: str) -> Outcome:  # type: ignore[misc]
        """Write the open shift behind; a failure to save it is said (and the shift reads as before)."""
        self._states.write([(SHIFT, "current", shift.to_dict())], lambda ok, reason: ok or self._said(
            Outcome.refused(f"Not saved: {said.lower()} ({reason}). Free disk space and do it again.")))
        return Outcome(True, said)

    @command
    def open_shift(self: "Register", float_amount: int) -> Outcome:  # type: ignore[misc]
        """Start a shift with the float counted into the drawer."""
        clerk = self._require_clerk()
        if self._shift() is not None:
            return Outcome.refused("A shift is already open; close it with a Z report first.")
        shift = Shift.open(uuid.uuid4().hex[:8], clerk.clerk_id, float_amount, iso_utc(self.clock.now()))
        return self._save_shift(shift, "Shift opened")

    @command
    def cash_movement(self: "Register", kind: str, amount: int, reason: str = "") -> Outcome:  # type: ignore[misc]
        """Paid-in, paid-out or cash drop to the safe, logged with clerk and reason."""
        clerk = self._require_clerk()
        shift = self._shift()
        if shift is None:
            return Outcome.refused("Open a shift first.")
        at = iso_utc(self.clock.now())
        if kind == "paid_in":
            shift = shift.paid_in(amount, reason, clerk.clerk_id, at)
        elif kind == "paid_out":
            shift = shift.paid_out(amount, reason, clerk.clerk_id, at)
        elif kind == "drop":
            shift = shift.cash_drop(amount, clerk.clerk_id, at, reason or "drop to safe")
        else:
            return Outcome.refused(f"Unknown cash movement {kind!r}: paid_in, paid_out or drop.")
        return self._save_shift(shift, f"{kind.replace('_', ' ').capitalize()} of {amount} recorded")

    def _report(self: "Register", kind: str, counted_cash: int | None) -> dict[str, Any]:  # type: ignore[misc]
        return self._report_from(kind, counted_cash, *self._report_inputs())

    def _report_inputs(self: "Register") -> tuple[dict[str, Any], Shift | None]:  # type: ignore[misc]
        """What a report starts from (the last Z, the open shift), read on the register's thread."""
        return self._states.get(COUNTERS, "z") or {"z_number": 0, "last_seq": 0}, self._shift()

    def _report_from(self: "Register", kind: str, counted_cash: int | None, last_z: dict[str, Any],  # type: ignore[misc]
                     shift: Shift | None) -> dict[str, Any]:
        """Sum the receipts since the last Z; journal reads only, so any thread may run it."""
        receipts = list(self.journal.iter_receipts(from_seq=last_z["last_seq"] + 1))
        z_number = last_z["z_number"] + 1 if kind == "z" else None
        report = reports.summarize(
            receipts, kind=kind, z_number=z_number, shift=shift, counted_cash=counted_cash,
            report_id=f"{self.config.device.register}:{self.journal.epoch}:{kind}{z_number or ''}:{uuid.uuid4().hex[:6]}",
            created_at=iso_utc(self.clock.now()),
        )
        report.update(store=self.config.device.store, register=self.config.device.register, currency=self.currency)
        return report

    @command
    def x_report(self: "Register") -> Outcome:  # type: ignore[misc]
        """Mid-shift report: read-only, changes nothing."""
        self._require_clerk()
        report = self._report("x", None)
        self._publish_and_print(report)
        return Outcome(True, "X report", report)

    @command
    def z_report(self: "Register", counted_cash: int, manager_pin: str | None = None) -> Outcome:  # type: ignore[misc]
        """Close the day: a numbered Z report kept in the journal, printed and sent to the fleet."""
        self._require_clerk()
        manager = self._manager(manager_pin, "A Z report")
        if self._phase in ("tender", "committing"):
            return Outcome.refused("Finish the payment first.")
        report = self._report("z", counted_cash)
        last_seq = report.get("last_seq") or (self._states.get(COUNTERS, "z") or {"last_seq": 0})["last_seq"]
        changes: list[tuple[str, str, dict[str, Any] | None]] = [
            (REPORTS, report["report_id"], report),
            (COUNTERS, "z", {"z_number": report["z_number"], "last_seq": last_seq})]
        shift = self._shift()
        if shift is not None:
            closed = shift.close(report["z_number"], counted_cash, manager.clerk_id, report["created_at"])
            changes += [("shifts", closed.shift_id, closed.to_dict()), (SHIFT, "current", None)]

        def done(ok: bool, reason: str) -> None:
            # printed and sent only once its number is on disk, so a power cut can never reuse a printed number
            if ok:
                self._publish_and_print(report)
            else:
                self._said(Outcome.refused(f"Z report {report['z_number']} not saved ({reason}); nothing was "
                                           "printed. Free disk space and run the Z report again."))

        self._states.write(changes, done)
        return Outcome(True, f"Z report {report['z_number']} done", report)

    def _publish_and_print(self: "Register", report: dict[str, Any]) -> None:  # type: ignore[misc]
        if self.sync is not None:
            self.sync.publish_report(report)
        if self.hardware is not None:
            self.hardware.printer.print_text(report_lines(report), title=f"{report['kind'].upper()} report")

    # ---------------------------------------------------------------- exports and remote commands

    @command
    def export_pending(self: "Register", directory: str | Path) -> Outcome:  # type: ignore[misc]
        """Start writing every receipt the fleet has not confirmed, as CSV and JSON, into `directory` (a USB stick).

        The files are written on the exporter's thread; `ExportFinished` comes back through `pump()` (see
        firmware/register/exporter.py) and becomes the register's message.
        """
        stem = f"kassa-{self.config.device.store}-{self.config.device.register}-pending-{self.clock.now():%Y%m%d-%H%M%S}"
        self._exporter.start(Path(directory), stem, lambda: unconfirmed_receipts(self.journal),
                             data_dir=self.config.device.data_dir)
        return Outcome(True, f"Exporting unsent receipts to {directory}…")

    @command
    def export_range(self: "Register", directory: str | Path, start: datetime, end: datetime) -> Outcome:  # type: ignore[misc]
        """Start writing receipts created in [start, end), as CSV and JSON, into `directory` (for the accountant)."""
        stem = f"kassa-{self.config.device.store}-{self.config.device.register}-{start:%Y%m%d}-{end:%Y%m%d}"
        self._exporter.start(Path(directory), stem, lambda: receipts_between(self.journal, start, end),
                             data_dir=self.config.device.data_dir)
        return Outcome(True, f"Exporting receipts to {directory}…")

    def remote_command(self: "Register", command_id: str, command: str, args: dict[str, Any]) -> None:  # type: ignore[misc]
        """Fleet commands that need the register (sync does `sync_now` and `resend` itself): `report`.

        Only an X report may be asked for remotely; nothing that moves money or closes the day is remote.
        It is summed on a worker thread (a busy day's receipts take a while to read, and the fleet may ask
        in the middle of a sale); sync's calls are safe from any thread.
        """
        if command != "report":
            self.sync.answer_command(command_id, False, f"unknown command {command!r}")
        elif args.get("kind", "x") != "x":
            self.sync.answer_command(command_id, False,
                                     "only an X report can be asked for remotely; a Z report closes the shift on site")
        else:
            inputs = self._report_inputs()
            threading.Thread(target=self._remote_x_report, args=(command_id, inputs), name="kassa-remote-report",
                             daemon=True).start()

    def _remote_x_report(self: "Register", command_id: str,  # type: ignore[misc]
                         inputs: tuple[dict[str, Any], Shift | None]) -> None:
        try:
            report = self._report_from("x", None, *inputs)
            self.sync.publish_report(report)
            self.sync.answer_command(command_id, True, f"X report {report['report_id']} sent")
        except Exception as exc:  # noqa: BLE001 - answered, never raised into a thread's void
            log.exception("remote X report failed")
            self.sync.answer_command(command_id, False, f"report failed: {exc}")

    def after_commit(self: "Register", receipt: dict[str, Any], purpose: str) -> None:  # type: ignore[misc]
        self._index_refund(receipt)
        if purpose == "refund":
            self._last_receipt = receipt
            self._phase = "done"
        elif purpose == "no_sale":
            self._phase = "sell" if self._clerk is not None else "login"
