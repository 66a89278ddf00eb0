"""E-mail receipts (docs/digital-receipts.md): the cashier asks for a receipt by e-mail, online or not.

`MailReceipt(receipt_id, address)` checks the address with the contract's rule (`address_problem`, the same the
fleet applies) and that the receipt is one of this register's, then journals the request with the mail-request
head in one state write. Once it is on disk sync sends it on `mail_requests` until the fleet confirms it on
`mail_acks` (firmware/sync/record_outbox.py); the fleet mails it once it holds the receipt.
"""

from __future__ import annotations

from firmware.clock import iso_utc
from firmware.contract.mail import address_problem
from firmware.fleet_records import HEAD, MAIL_HEAD, MAIL_REQUEST, new_mail_request
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.handlers.refund import find
from firmware.register.core.step import Refusal, Step
from firmware.register.view import Outcome


def mail_receipt(step: Step, cmd: c.MailReceipt) -> Outcome:
    """Queue receipt `receipt_id` for e-mail to `address`; refused in words when either is not right."""
    clerk = step.require_clerk()
    address = cmd.address.strip() if isinstance(cmd.address, str) else cmd.address
    problem = address_problem(address)
    if problem is not None:
        raise Refusal(problem)
    code = cmd.receipt_id.strip() if isinstance(cmd.receipt_id, str) else ""
    if not code:
        raise Refusal("Scan or type the receipt's number first.")
    receipt = find(step.ctx, code)
    if receipt is None:
        raise Refusal(f"No receipt {code} on this register: check the number printed under the barcode.")
    if receipt.kind == "no_sale":
        raise Refusal(f"{receipt.receipt_id} is a no-sale: there is no receipt to e-mail.")
    for queued in step.ctx.lookup.state_records(MAIL_REQUEST).values():
        if queued.get("receipt_id") == receipt.receipt_id and queued.get("address") == address:
            raise Refusal(f"Receipt #{receipt.seq} is already on its way to {address}.")
    config = step.ctx.config
    doc, changes = new_mail_request(step.record(MAIL_HEAD, HEAD), store=config.device.store,
                                    register=config.device.register, epoch=step.ctx.lookup.epoch(),
                                    receipt_id=receipt.receipt_id, address=str(address),
                                    requested_at=iso_utc(step.ctx.now), clerk_id=clerk.clerk_id)
    step.do(fx.PutState(tuple(changes), fx.MailQueued(doc["request_id"], receipt.receipt_id)))
    when = "" if step.state.health.sync.online else " once the register is back online"
    return Outcome(True, f"Receipt #{receipt.seq} will be e-mailed to {address}{when}.")


def queued(step: Step, then: fx.MailQueued, ok: bool, reason: str) -> None:
    """The request is on disk (sync sends it now), or it is not and the cashier is told to ask again."""
    if ok:
        step.do(fx.PublishPending())
    else:
        step.said(Outcome.refused(f"The e-mail of receipt {then.receipt_id} was not saved ({reason}). Free disk "
                                  "space and ask again."))
