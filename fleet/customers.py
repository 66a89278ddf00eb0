"""Merging the registers' customer edits into one customer list per store (pure: no I/O, no clock).

The rule (docs/customers.md#merge):

- Edits are applied per field, in the fleet's receive order (the order `apply` is called: the ingest's insert
  order, one sequence per store). For each field the last edit received that sets it wins, and the winner's
  register, epoch, seq (and receive number) are recorded with the value. Edits of different fields never
  interfere, so their arrival order does not matter.
- A create fills only the fields no edit has set yet: the create comes first in the customer's life, so an edit
  that overtook it (a resend, another register) is not undone when the create arrives late.
- An edit is identified by (register, epoch, seq). The same edit received again is a no-op (`duplicate`); a
  different edit under the same identity is set aside (`conflict`: a register's edit log was restored from a
  backup) and never applied.
- Edits whose values the domain refuses are `refused` and not applied. Refused and conflicting edits still
  count as received for `heads`, so the register drops them instead of sending them forever.
- A customer is listed once its create has arrived, unless its `deleted` field is true.
- Two live customers with the same card number (a card handed out twice, or the same person signed up on two
  registers while offline) are both kept and listed with `duplicate_code: true`; `duplicate_codes()` lists them
  for the operator. Nothing is merged automatically: a manager resolves it with ordinary edits (give one a new
  card number, or delete one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from firmware.contract.customers import (
    CustomerEdit,
    CustomerEdits,
    CustomerEntry,
    CustomerHead,
    CustomerList,
    domain_problem,
)

__all__ = ["FIELDS", "CustomerMerge", "FieldWrite", "MergedCustomer", "Outcome", "list_document", "merge"]

FIELDS = ("code", "name", "phone", "email", "consent_email", "consent_sms", "deleted")
DEFAULTS: dict[str, str | bool] = {"code": "", "name": "", "phone": "", "email": "", "consent_email": False,
                                   "consent_sms": False, "deleted": False}
EditKey = tuple[str, str, int]  # register, epoch, seq


@dataclass(frozen=True)
class FieldWrite:
    """The write that currently holds a field: its value and where it came from."""

    value: str | bool
    register: str
    epoch: str
    seq: int
    received: int  # the fleet's receive number of the edit
    at: str
    create: bool = False


@dataclass
class MergedCustomer:
    customer_id: str
    writes: dict[str, FieldWrite] = field(default_factory=dict)
    created_at: str | None = None  # set when the create has arrived

    def value(self, name: str) -> str | bool:
        write = self.writes.get(name)
        return DEFAULTS[name] if write is None else write.value

    @property
    def live(self) -> bool:
        return self.created_at is not None and not self.value("deleted")

    @property
    def updated_at(self) -> str:
        return max([w.at for w in self.writes.values()] + [self.created_at or ""])


@dataclass(frozen=True)
class Outcome:
    key: EditKey
    customer_id: str
    result: Literal["applied", "duplicate", "conflict", "refused"]
    reason: str = ""


@dataclass
class _Received:
    head: int = 0  # every seq up to here received
    above: set[int] = field(default_factory=set)

    def add(self, seq: int) -> None:
        if seq <= self.head:
            return
        self.above.add(seq)
        while self.head + 1 in self.above:
            self.head += 1
            self.above.discard(self.head)


def _content(edit: CustomerEdit) -> str:
    return edit.model_dump_json(exclude_none=True)


class CustomerMerge:
    """The merged customers of one store; feed it edits in receive order with `apply`/`apply_batch`."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.customers: dict[str, MergedCustomer] = {}
        self._seen: dict[EditKey, str] = {}
        self._received: dict[tuple[str, str], _Received] = {}
        self.receive_no = 0
        self.conflicts: list[Outcome] = []

    def apply_batch(self, store: str, register: str, message: CustomerEdits) -> list[Outcome]:
        """Apply a register's message; `store` and `register` come from the authenticated topic and must be the
        ones the message names (else ValueError: the whole message is refused, nothing applied)."""
        if store != self.store or message.store != store or message.register != register:
            raise ValueError(f"customer edits for {message.store}/{message.register} arrived on {store}/{register}"
                             f" (this merge is {self.store}'s): refused")
        return [self.apply(register, edit) for edit in message.edits]

    def apply(self, register: str, edit: CustomerEdit) -> Outcome:
        key: EditKey = (register, edit.epoch, edit.seq)
        content = _content(edit)
        held = self._seen.get(key)
        if held is not None:
            if held == content:
                return Outcome(key, edit.customer_id, "duplicate")
            out = Outcome(key, edit.customer_id, "conflict",
                          f"edit {register}:{edit.epoch}:{edit.seq} was received before with other content")
            self.conflicts.append(out)
            return out
        self._seen[key] = content
        self._received.setdefault((register, edit.epoch), _Received()).add(edit.seq)
        self.receive_no += 1
        if edit.customer_id.split(":", 1)[0] != self.store:
            return Outcome(key, edit.customer_id, "refused", f"customer {edit.customer_id} is not {self.store}'s")
        problem = domain_problem(edit)
        if problem is not None:
            return Outcome(key, edit.customer_id, "refused", problem)
        customer = self.customers.get(edit.customer_id)
        if customer is None:
            customer = self.customers[edit.customer_id] = MergedCustomer(edit.customer_id)
        if edit.create:
            if customer.created_at is not None:  # another create under the same id: cannot be (id names the edit)
                return Outcome(key, edit.customer_id, "refused", "the customer was created already")
            customer.created_at = edit.at
        for name, value in edit.changes.fields().items():
            if edit.create and name in customer.writes:
                continue  # an edit that overtook the create stays
            customer.writes[name] = FieldWrite(value, register, edit.epoch, edit.seq, self.receive_no, edit.at,
                                               edit.create)
        return Outcome(key, edit.customer_id, "applied")

    def heads(self) -> list[CustomerHead]:
        return [CustomerHead(register=register, epoch=epoch, seq=received.head)
                for (register, epoch), received in sorted(self._received.items())]

    def duplicate_codes(self) -> dict[str, list[str]]:
        """Card number -> ids of the live customers that share it (only codes held by two or more)."""
        by_code: dict[str, list[str]] = {}
        for customer in self.customers.values():
            code = customer.value("code")
            if customer.live and isinstance(code, str) and code:
                by_code.setdefault(code, []).append(customer.customer_id)
        return {code: sorted(ids) for code, ids in sorted(by_code.items()) if len(ids) > 1}

    def live(self) -> list[MergedCustomer]:
        return [c for _id, c in sorted(self.customers.items()) if c.live]

    def to_list(self, version: int, generated_at: str | None = None) -> CustomerList:
        """The customer list document (validated by its model) for `version`."""
        dupes = {cid for ids in self.duplicate_codes().values() for cid in ids}
        entries = []
        for c in self.live():
            assert c.created_at is not None
            entries.append(CustomerEntry.model_construct(
                customer_id=c.customer_id, code=c.value("code"), name=c.value("name"), phone=c.value("phone"),
                email=c.value("email"), consent_email=c.value("consent_email"), consent_sms=c.value("consent_sms"),
                created_at=c.created_at, updated_at=c.updated_at, duplicate_code=c.customer_id in dupes))
        doc = CustomerList.model_construct(version=version, store=self.store, generated_at=generated_at,
                                           customers=entries, heads=self.heads(), kind="customers")
        return CustomerList.model_validate(doc.model_dump(exclude_none=True))

    # ---- persistence: a JSON-able state (the ingest may instead keep the edits and replay them) --------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "store": self.store, "receive_no": self.receive_no,
            "seen": [[*key, content] for key, content in self._seen.items()],
            "received": [[r, e, rec.head, sorted(rec.above)] for (r, e), rec in self._received.items()],
            "customers": [{"id": c.customer_id, "created_at": c.created_at,
                           "writes": {n: [w.value, w.register, w.epoch, w.seq, w.received, w.at, w.create]
                                      for n, w in c.writes.items()}} for c in self.customers.values()],
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> CustomerMerge:
        merge = cls(state["store"])
        merge.receive_no = state["receive_no"]
        merge._seen = {(r, e, s): content for r, e, s, content in state["seen"]}
        merge._received = {(r, e): _Received(head, set(above)) for r, e, head, above in state["received"]}
        for raw in state["customers"]:
            merge.customers[raw["id"]] = MergedCustomer(raw["id"], {n: FieldWrite(*w) for n, w in
                                                                    raw["writes"].items()}, raw["created_at"])
        return merge


def merge(store: str, received: Iterable[tuple[str, CustomerEdit]]) -> CustomerMerge:
    """Merge (register, edit) pairs in the order given (the fleet's receive order)."""
    merged = CustomerMerge(store)
    for register, edit in received:
        merged.apply(register, edit)
    return merged


def list_document(merged: CustomerMerge, version: int, generated_at: str | None = None) -> bytes:
    """The list's compact UTF-8 JSON: the exact bytes to sign (`Signer.wrap(list_topic(prefix, store), doc)`)
    and publish retained at QoS 1 on `kassa/v1/{store}/customers`."""
    return merged.to_list(version, generated_at).model_dump_json(exclude_none=True).encode("utf-8")
