"""Register commands beyond the sale: park/recall, no-sale, reprint, refunds, shifts, X/Z reports, exports, remote commands.

Mixed into `Register`; every command returns an Outcome and never raises.
Parked carts, the open shift and the Z counter are journal state records, so
they survive a power cut. Refunds and no-sales are receipts like sales and go
through the same commit point before the drawer opens.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware.clock import iso_utc, parse_iso_utc
from firmware.domain import refunds, reports
from firmware.domain.errors import Refused
from firmware.domain.receipt import no_sale_body
from firmware.domain.sale import Sale
from firmware.domain.shift import Shift
from firmware.exports import export_receipts, unconfirmed_receipts
from firmware.register.view import Outcome, ParkedInfo

if TYPE_CHECKING:
    from firmware.register.service import Register

log = logging.getLogger(__name__)

Refusal = Refused

PARKED = "parked"
SHIFT = "shift"
COUNTERS = "counters"
REPORTS = "reports"


def guarded(method: Any) -> Any:
    """Same contract as the sale commands: refusals and surprises become Outcomes."""
    from firmware.register.service import _guarded

    return _guarded(method)


class BackOffice:
    """Back-office commands of the register (see module docstring)."""

    def __init__(self: "Register") -> None:  # type: ignore[misc]
        self._refund_context: dict[str, Any] | None = None

    # ---------------------------------------------------------------- park / recall

    def parked(self: "Register") -> list[ParkedInfo]:  # type: ignore[misc]
        now = self.clock.now()
        max_age = self.config.policy.parked_cart_max_age_hours * 3600
        out = []
        for park_id, doc in sorted(self.journal.states(PARKED).items(), key=lambda kv: kv[1]["parked_at"]):
            sale = Sale.from_dict(doc["sale"])
            at = parse_iso_utc(doc["parked_at"])
            out.append(ParkedInfo(park_id, doc["clerk_id"], at, len(sale.active_lines),
                                  sale.totals().total, (now - at).total_seconds() > max_age))
        return out

    @guarded
    def park(self: "Register") -> Outcome:  # type: ignore[misc]
        """Put the open cart aside (durably) to serve the next customer."""
        if self._phase != "sell" or self._sale is None or self._sale.is_empty:
            return Outcome.refused("There is no open cart to park.")
        park_id = uuid.uuid4().hex[:8]
        self.journal.put_state(PARKED, park_id, {
            "sale": self._sale.to_dict(), "clerk_id": self._sale.clerk_id, "parked_at": iso_utc(self.clock.now()),
        })
        self._sale = None
        return Outcome(True, f"Cart parked as {park_id}", park_id)

    @guarded
    def recall(self: "Register", park_id: str) -> Outcome:  # type: ignore[misc]
        """Bring a parked cart back; refused while another cart is open."""
        self._require_clerk()
        if self._sale is not None and not self._sale.is_empty:
            return Outcome.refused("Park or finish the open cart first.")
        doc = self.journal.get_state(PARKED, park_id)
        if doc is None:
            return Outcome.refused(f"No parked cart {park_id}.")
        self._sale = Sale.from_dict(doc["sale"])
        self._phase = "sell"
        self.journal.delete_state(PARKED, park_id)
        return Outcome(True, f"Cart {park_id} recalled")

    # ---------------------------------------------------------------- drawer, reprint

    @guarded
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

    @guarded
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

    def _refunded_so_far(self: "Register", receipt_id: str) -> list[dict[str, Any]]:  # type: ignore[misc]
        doc = self.journal.get_state("refunds", receipt_id) or {"refund_ids": []}
        return [r for r in (self.journal.get(rid) for rid in doc["refund_ids"]) if r is not None]

    @guarded
    def refund(self: "Register", receipt_id: str | None, lines: dict[int, Any] | None, tender_kind: str = "cash",
               manager_pin: str | None = None, reason: str | None = None,
               blind_lines: list[dict[str, Any]] | None = None) -> Outcome:  # type: ignore[misc]
        """Refund lines of an earlier receipt (or a blind return with a reason), with manager approval."""
        clerk = self._require_clerk()
        if self._phase in ("tender", "committing") or (self._sale is not None and not self._sale.is_empty):
            return Outcome.refused("Finish or park the open cart before a refund.")
        manager = self._manager(manager_pin, "A refund")
        sale_id = uuid.uuid4().hex
        original = self.find_receipt(receipt_id) if receipt_id else None
        if original is not None:
            sale = refunds.build_refund(
                original, self._refunded_so_far(original["receipt_id"]), dict(lines or {}),
                sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=manager.clerk_id,
                tender_kind=tender_kind, reason=reason,
            )
        else:
            if not reason:
                return Outcome.refused(
                    f"Receipt {receipt_id} is not on this register: a blind return needs a reason." if receipt_id
                    else "A return without a receipt needs a reason.")
            sale = refunds.build_blind_return(
                blind_lines or [], self.catalog, sale_id=sale_id, clerk_id=clerk.clerk_id,
                approved_by=manager.clerk_id, reason=reason, tender_kind=tender_kind, refund_of=receipt_id,
            )
        sale = sale.add_tender(tender_kind, None, cash_rounding=self.config.shop.cash_rounding) if sale.phase == "tendering" else sale
        body = sale.receipt_body(**self._receipt_context())
        self._phase = "committing"
        self._committer.submit(body, "refund")
        return Outcome(True, "Saving the refund")

    # ---------------------------------------------------------------- shifts and reports

    def _shift(self: "Register") -> Shift | None:  # type: ignore[misc]
        doc = self.journal.get_state(SHIFT, "current")
        return Shift.from_dict(doc) if doc else None

    def _save_shift(self: "Register", shift: Shift) -> None:  # type: ignore[misc]
        self.journal.put_state(SHIFT, "current", shift.to_dict())

    @guarded
    def open_shift(self: "Register", float_amount: int) -> Outcome:  # type: ignore[misc]
        """Start a shift with a counted float in the drawer."""
        clerk = self._require_clerk()
        if self._shift() is not None:
            return Outcome.refused("A shift is already open; close it with a Z report first.")
        first_seq = self.journal.next_seq
        self._save_shift(Shift.open(clerk.clerk_id, float_amount, iso_utc(self.clock.now()), first_seq))
        return Outcome(True, "Shift opened")

    @guarded
    def cash_movement(self: "Register", kind: str, amount: int, reason: str, manager_pin: str | None = None) -> Outcome:  # type: ignore[misc]
        """Paid-in, paid-out or cash drop, logged with clerk and reason."""
        clerk = self._require_clerk()
        shift = self._shift()
        if shift is None:
            return Outcome.refused("Open a shift first.")
        self._save_shift(shift.movement(kind, amount, reason, clerk.clerk_id, iso_utc(self.clock.now())))
        return Outcome(True, f"{kind.replace('_', ' ').capitalize()} recorded")

    def _report(self: "Register", kind: str, counted_cash: int | None) -> dict[str, Any]:  # type: ignore[misc]
        shift = self._shift()
        last_z = self.journal.get_state(COUNTERS, "z") or {"z_number": 0, "last_seq": 0}
        first = (shift.first_seq if shift is not None else last_z["last_seq"] + 1)
        receipts = list(self.journal.iter_receipts(from_seq=first))
        z_number = last_z["z_number"] + 1 if kind == "z" else None
        return reports.summarize(
            receipts, kind=kind, z_number=z_number, shift=shift, counted_cash=counted_cash,
            report_id=f"{self.config.device.register}:{self.journal.epoch}:{kind}:{uuid.uuid4().hex[:8]}",
            created_at=iso_utc(self.clock.now()), store=self.config.device.store,
            register=self.config.device.register,
        )

    @guarded
    def x_report(self: "Register") -> Outcome:  # type: ignore[misc]
        """Mid-shift report: read-only, changes nothing."""
        self._require_clerk()
        report = self._report("x", None)
        self._publish_and_print(report)
        return Outcome(True, "X report", report)

    @guarded
    def z_report(self: "Register", counted_cash: int, manager_pin: str | None = None) -> Outcome:  # type: ignore[misc]
        """Close the shift: numbered Z report stored in the journal, printed and sent to the fleet."""
        self._require_clerk()
        self._manager(manager_pin, "A Z report")
        if self._phase in ("tender", "committing"):
            return Outcome.refused("Finish the payment first.")
        report = self._report("z", counted_cash)
        self.journal.put_state(REPORTS, report["report_id"], report)
        self.journal.put_state(COUNTERS, "z", {"z_number": report["z_number"], "last_seq": report["last_seq"] or self.journal.next_seq - 1})
        self.journal.delete_state(SHIFT, "current")
        self._publish_and_print(report)
        return Outcome(True, f"Z report {report['z_number']} done", report)

    def _publish_and_print(self: "Register", report: dict[str, Any]) -> None:  # type: ignore[misc]
        if self.sync is not None:
            self.sync.publish_report(report)
        if self.hardware is not None:
            self.hardware.printer.print_text(reports.text_lines(report, self.currency))

    # ---------------------------------------------------------------- exports and remote commands

    @guarded
    def export_pending(self: "Register", directory: str | Path) -> Outcome:  # type: ignore[misc]
        """Every receipt the fleet has not confirmed, as CSV and JSON, into `directory` (a USB stick)."""
        stem = f"kassa-{self.config.device.store}-{self.config.device.register}-pending-{self.clock.now():%Y%m%d-%H%M%S}"
        result = export_receipts(unconfirmed_receipts(self.journal), Path(directory), stem)
        return Outcome(True, f"{result.receipts} receipts exported to {directory}", result)

    def remote_command(self: "Register", command_id: str, command: str, args: dict[str, Any]) -> None:  # type: ignore[misc]
        """Fleet commands: `sync_now`, `resend`, `report`. Nothing that moves money is ever remote."""
        ok, detail = True, ""
        try:
            if command == "sync_now":
                self.sync.sync_now()
                detail = "sync started"
            elif command == "resend":
                first, last = int(args.get("from_seq", 1)), int(args.get("to_seq", self.journal.next_seq - 1))
                seqs = [s for s in range(max(1, first), min(last, self.journal.next_seq - 1) + 1)]
                self.journal.mark_pending(seqs)
                self.sync.sync_now()
                detail = f"{len(seqs)} receipts queued for resend"
            elif command == "report":
                kind = args.get("kind", "x")
                if kind != "x":
                    ok, detail = False, "only an X report can be asked for remotely; a Z report closes the shift on site"
                else:
                    report = self._report("x", None)
                    self.sync.publish_report(report)
                    detail = f"X report {report['report_id']} sent"
            else:
                ok, detail = False, f"unknown command {command!r}"
        except Exception as exc:
            log.exception("remote command %s failed", command)
            ok, detail = False, f"{command} failed: {exc}"
        self.sync.answer_command(command_id, ok, detail)

    def after_commit(self: "Register", receipt: dict[str, Any], purpose: str) -> None:  # type: ignore[misc]
        if purpose == "refund":
            original = receipt.get("refund_of")
            if original:
                doc = self.journal.get_state("refunds", original) or {"refund_ids": []}
                doc["refund_ids"].append(receipt["receipt_id"])
                self.journal.put_state("refunds", original, doc)
            self._last_receipt = receipt
            self._phase = "done"
        elif purpose == "no_sale":
            self._phase = "sell" if self._clerk is not None else "login"
