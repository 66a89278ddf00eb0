"""E-mail receipts in the contract (docs/digital-receipts.md): the request, its checks, the receipt page link.

A cashier asks for a receipt by e-mail at the till. The register journals a `MailRequest` (a state record, so
it survives power loss) and publishes it on `{prefix}/{store}/{register}/mail_requests` (QoS 1, not retained)
until the fleet confirms it on that register's `mail_acks` (`MailAcks`). The fleet's mailer (fleet/mailer.py)
sends it once the fleet holds the receipt.

`request_id` is `store:register:epoch:seq` of the register's mail-request sequence (its own counter, like
punches), so a request sent twice is the same request: the fleet keys its sent-state by it and derives the
e-mail's Message-ID from it.

The address is checked twice with the same rule (`address_problem`): on the till, so the cashier can correct
it at once, and on the fleet, which never trusts a payload. It refuses what could inject a header (CR, LF, any
control character), what is too long (254 characters, RFC 5321's path limit), and what is not one plain
`local@domain` address (no display names, no lists, no comments).

`receipt_page_url` and `receipt_text` are the one place the receipt page link and the receipt's text layout
come from, for the till's printer and the fleet's mailer alike, so paper and e-mail never disagree.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, field_validator, model_validator

from firmware.contract.payloads import ID, KIB, ReceiptIdText, Timestamp, _Payload
from firmware.contract.receipt_id import EPOCH_PART, ID_PART, SEQ_PART, format_receipt_id

__all__ = ["MAIL_ACKS_LEAF", "MAIL_REQUESTS_LEAF", "MAX_ADDRESS", "MailAcks", "MailRequest", "address_problem",
           "mail_acks_topic", "mail_ingest_filter", "mail_requests_topic", "message_id", "receipt_page_url",
           "receipt_text", "request_id"]

MAIL_REQUESTS_LEAF = "mail_requests"
MAIL_ACKS_LEAF = "mail_acks"
MAX_ADDRESS = 254
REQUEST_ID_PATTERN = rf"^{ID_PART}:{ID_PART}:{EPOCH_PART}:{SEQ_PART}$"
RequestIdText = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
# local part: RFC 5322 dot-atom characters; domain: LDH labels with a dot (an IDN travels as its xn-- form)
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def address_problem(address: object) -> str | None:
    """Why `address` cannot receive a receipt, in the cashier's words; None when it can."""
    if not isinstance(address, str) or not address:
        return "Type the customer's e-mail address"
    if len(address) > MAX_ADDRESS:
        return f"That e-mail address is {len(address)} characters long; an address has at most {MAX_ADDRESS}"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in address):
        return "That e-mail address holds a line break or control character; type it again"
    if not address.isascii():
        return "Use the address's plain form (letters, digits, . _ - + and @): accented letters are not accepted"
    if address.count("@") != 1:
        return "An e-mail address has exactly one @ (name@example.com)"
    local, domain = address.split("@")
    if not local or len(local) > 64 or _LOCAL.match(local) is None:
        return "The part before the @ is not a valid mailbox name (name@example.com)"
    labels = domain.split(".")
    if len(labels) < 2 or any(_LABEL.match(label) is None for label in labels) or labels[-1].isdigit():
        return "The part after the @ is not a valid domain (name@example.com)"
    return None


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # `register` shadows ABCMeta.register; the field is meant

    class MailRequest(_Payload):
        """Send receipt `receipt_id` to `address` (device -> fleet); journaled on the till first."""

        # room for a hostile 10 kB address to reach `address_problem`, which says what is wrong with it
        MAX_BYTES: ClassVar[int] = 16 * KIB
        request_id: RequestIdText
        store: ID
        register: ID = Field()
        receipt_id: ReceiptIdText
        # at most MAX_ADDRESS characters, checked by `address_problem` (which says so in words) rather than by a
        # constraint; the JSON Schema still states the limit
        address: str = Field(json_schema_extra={"maxLength": MAX_ADDRESS})
        requested_at: Timestamp
        clerk_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

        @field_validator("address")
        @classmethod
        def _plain_address(cls, value: str) -> str:
            problem = address_problem(value)
            if problem is not None:
                raise ValueError(problem)
            return value

        @model_validator(mode="after")
        def _names_its_register(self) -> MailRequest:
            store, register, _epoch, _seq = self.request_id.split(":")
            if store != self.store or register != self.register:
                raise ValueError(f"request_id {self.request_id!r} does not name store {self.store!r} and register "
                                 f"{self.register!r}")
            return self


class MailAcks(_Payload):
    """Mail requests the fleet has taken over for good (fleet -> device): the register stops resending them.

    `refused` holds requests the fleet will never send, with the reason (the till shows it to a manager).
    """

    MAX_BYTES: ClassVar[int] = 64 * KIB
    request_ids: list[RequestIdText] = Field(max_length=1000)
    refused: dict[str, Annotated[str, StringConstraints(max_length=500)]] = Field(default_factory=dict,
                                                                                  max_length=1000)


def request_id(store: str, register: str, epoch: str, seq: int) -> str:
    return format_receipt_id(store, register, epoch, seq)


def message_id(request: str, domain: str) -> str:
    """The e-mail's Message-ID, derived from the request id alone: a resend of the same request carries the same
    Message-ID, so a mailbox (or the SMTP relay) can tell the copy from a new mail."""
    return f"<kassa-receipt.{request.replace(':', '.')}@{domain}>"  # the id's parts hold no '.': one-to-one


def receipt_page_url(base: str, receipt_id: str, receipt_hash: str) -> str:
    """`{base}/r/{receipt id}?h={first 16 hex of its hash}`: the fleet's page of this receipt (the format lives in
    firmware.printout.receipt_page_url, which the printer uses without loading pydantic)."""
    from firmware.printout import receipt_page_url as url

    return url(base, receipt_id, receipt_hash)


def receipt_text(receipt: Mapping[str, Any], header: Sequence[str], columns: int = 42, *, display: str = "symbol",
                 tz: tzinfo | None = None, names: Mapping[str, str] | None = None,
                 receipt_page: str | None = None) -> str:
    """The receipt as the printer lays it out (firmware.printout.receipt_blocks), rendered as plain text."""
    from firmware.domain.receipt_model import Receipt
    from firmware.printout import receipt_blocks
    from hal.layout import render_text

    blocks = receipt_blocks(Receipt.from_doc(receipt), header, columns, display=display, tz=tz, names=names,
                            receipt_page=receipt_page)
    return render_text(blocks, columns)


def mail_requests_topic(prefix: str, store: str, register: str) -> str:
    return f"{prefix}/{store}/{register}/{MAIL_REQUESTS_LEAF}"


def mail_acks_topic(prefix: str, store: str, register: str) -> str:
    return f"{prefix}/{store}/{register}/{MAIL_ACKS_LEAF}"


def mail_ingest_filter(prefix: str, group: str = "kassa-ingest") -> str:
    return f"$share/{group}/{prefix}/+/+/{MAIL_REQUESTS_LEAF}"
