"""Small journaled records that travel to the fleet until it confirms them: time clock punches and e-mail requests.

Both are journal state records (firmware/journal: `put_states` writes a list of them as ONE durable record, all
or none), written together with their head in one transaction, so a sequence number is never handed out twice
and the punches' hash chain never forks (docs/timeclock.md, docs/digital-receipts.md):

| kind | key | document | kept |
| --- | --- | --- | --- |
| `punch` | `{seq:012d}` | the sealed punch (`PunchMessage`, as sent) | `retention_days` (punch_retention.py) |
| `punch_pending` | the same | `{"punch_id"}` | until `punch_acks` confirms the punch |
| `punch_conflict` | the same | `{"punch_id", "at"}` | the fleet holds another punch under that id |
| `punch_head` | `head` | `{"next_seq", "last_hash"}` | for good |
| `mail_request` | the request id | the `MailRequest` (with the address) | until `mail_acks` confirms or refuses it |
| `mail_done` | the request id | `{"receipt_id", "requested_at", "confirmed_at"}` (+`refused`,`to`), no address | kept |
| `mail_head` | `head` | `{"next_seq"}` | for good |
| `stock` | first seq, `{seq:012d}` | a receipt's or a count's `StockDeltas`, as sent | until a snapshot holds it |
| `stock_head` | `head` | `{"next_seq", "receipt_seq"}` | for good |

A refused request's stub keeps the address masked (`to`: `mask_address`) for the status page, never the address.

The register seals punches on its journal writer thread (firmware/register/committer.py, the one writer of
`punch_head`) and writes mail requests through its state writes (`PutState`; the core is the one writer of
`mail_head`); sync (firmware/sync/record_outbox.py) sends the pending ones and settles them when acked. Pure:
the functions here build documents and change lists, the callers write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmware.contract.chain import GENESIS, seal
from firmware.contract.receipt_id import format_receipt_id

__all__ = ["HEAD", "MAIL_DONE", "MAIL_HEAD", "MAIL_REQUEST", "PUNCH", "PUNCH_BODY", "PUNCH_CONFLICT", "PUNCH_HEAD",
           "PUNCH_PENDING", "STOCK", "STOCK_HEAD", "mail_done", "mask_address",
           "new_mail_request", "punch_key", "seal_punch", "seq_of"]

PUNCH, PUNCH_PENDING, PUNCH_CONFLICT, PUNCH_HEAD = "punch", "punch_pending", "punch_conflict", "punch_head"
MAIL_REQUEST, MAIL_DONE, MAIL_HEAD = "mail_request", "mail_done", "mail_head"
STOCK, STOCK_HEAD = "stock", "stock_head"  # written by firmware/stock_keeper.py (docs/stock.md)
HEAD = "head"
# what the register decides about a punch; the journal writer adds its identity and chain link
PUNCH_BODY = ("store", "register", "clerk_id", "kind", "at", "clock_trusted", "offline")

Doc = dict[str, Any]  # Any: a journaled record or head, a JSON document (as sent, for records)
Change = tuple[str, str, Doc | None]


def punch_key(seq: int) -> str:
    """The punch's state record key: its seq, zero-padded, so keys sort in seq order."""
    return f"{seq:012d}"


def seq_of(record_id: str) -> int:
    """The seq of a `store:register:epoch:seq` id (punch or mail request); -1 when it has none."""
    tail = record_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else -1


# Any: the head and the punch body are JSON documents (journal state records; PUNCH_BODY)
def seal_punch(head: Mapping[str, Any] | None, body: Mapping[str, Any], epoch: str) -> tuple[Doc, list[Change]]:
    """The punch `body` sealed as the next of the chain `head` holds (None: the first punch), and the changes
    that journal it: the punch, its pending mark and the new head, to write in ONE `put_states`."""
    seq = int(head["next_seq"]) if head else 1
    prev = str(head["last_hash"]) if head else GENESIS
    store, register = str(body["store"]), str(body["register"])
    punch_id = format_receipt_id(store, register, epoch, seq)
    doc = {"punch_id": punch_id, "seq": seq, **{name: body[name] for name in PUNCH_BODY}}
    sealed = seal(doc, prev)
    key = punch_key(seq)
    return sealed, [(PUNCH, key, sealed), (PUNCH_PENDING, key, {"punch_id": punch_id}),
                    (PUNCH_HEAD, HEAD, {"next_seq": seq + 1, "last_hash": sealed["hash"]})]


# Any: the head is a JSON document (a journal state record)
def new_mail_request(head: Mapping[str, Any] | None, *, store: str, register: str, epoch: str, receipt_id: str,
                     address: str, requested_at: str, clerk_id: str | None) -> tuple[Doc, list[Change]]:
    """The next mail request after `head` (None: the first) and the changes that journal it with the new head."""
    seq = int(head["next_seq"]) if head else 1
    request_id = format_receipt_id(store, register, epoch, seq)
    doc: Doc = {"request_id": request_id, "store": store, "register": register, "receipt_id": receipt_id,
                "address": address, "requested_at": requested_at}
    if clerk_id:
        doc["clerk_id"] = clerk_id
    return doc, [(MAIL_REQUEST, request_id, doc), (MAIL_HEAD, HEAD, {"next_seq": seq + 1})]


def mail_done(request: Mapping[str, Any], confirmed_at: str, refused: str | None) -> Doc:  # Any: a JSON document
    """What stays of a request the fleet took over (or refused, with its reason and the address masked): never
    the address."""
    done: Doc = {"receipt_id": request.get("receipt_id"), "requested_at": request.get("requested_at"),
                 "confirmed_at": confirmed_at}
    if refused is not None:
        done["refused"] = refused
        done["to"] = mask_address(request.get("address"))  # for the status page: the cashier knows whose it was
    return done


def mask_address(address: object) -> str:
    """An address as the status page shows a refused one: the local part's first letter, the domain whole
    (`anna@example.com` -> `a•••@example.com`); '' when there is none."""
    if not isinstance(address, str) or "@" not in address:
        return ""
    local, _, domain = address.strip().rpartition("@")
    return f"{local[:1]}•••@{domain}"
