"""Customer payloads of the contract (docs/customers.md): edits uplink, the store's customer list downlink.

Uplink, `kassa/v1/{store}/{register}/customers` (QoS 1, not retained): `CustomerEdits`, a batch of field-level
edits made on that register, in seq order. The fleet deduplicates by (store, register, epoch, seq), so a batch
sent again is harmless.

Downlink, `kassa/v1/{store}/customers` (QoS 1, retained, signed like the catalog): `CustomerList`, every live
customer of the store as the fleet merged them, with a version (newer only) and `heads`: per register and epoch,
the highest seq up to which the fleet has merged every edit, so a register can drop the local edits the list
already holds and keep replaying the rest on top.

Same conventions as firmware.contract.payloads: strict (no coercion), unknown fields tolerated, every message
size-checked before it is parsed (`decode`).
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from firmware.contract.payloads import ID, KIB, Epoch, Seq, Timestamp, _Part, _Payload
from firmware.contract.receipt_id import EPOCH_PART, ID_PART, SEQ_PART
from firmware.contract.signing import envelope_limit

__all__ = ["CUSTOMERS_LEAF", "CUSTOMER_ID_PATTERN", "CustomerChanges", "CustomerEdit", "CustomerEdits",
           "CustomerEntry", "CustomerHead", "CustomerList", "MODELS", "customer_ingest_filter", "customer_schema",
           "customers_topic", "device_max_packet_with_customers", "domain_problem", "list_topic"]

CUSTOMERS_LEAF = "customers"
CUSTOMER_ID_PATTERN = rf"^{ID_PART}:{ID_PART}:{EPOCH_PART}:{SEQ_PART}$"
MAX_CUSTOMERS = 200_000
MAX_EDITS_PER_BATCH = 200

CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]
# Shapes only; the cashier-facing rules (control characters, e-mail and phone shapes) are
# firmware.domain.customers.check_field, which the fleet also applies before merging.
Code = Annotated[str, StringConstraints(pattern=r"^([0-9A-Z]{4,32})?$")]
CustomerName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Phone = Annotated[str, StringConstraints(pattern=r"^(\+?[0-9 ()./-]{1,24})?$", max_length=24)]
Email = Annotated[str, StringConstraints(pattern=r"^([^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63})?$", max_length=254)]


class CustomerChanges(_Part):
    """The fields an edit sets (at least one); a field left out is not changed."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, json_schema_extra={"minProperties": 1})

    code: Code | None = None
    name: CustomerName | None = None
    phone: Phone | None = None
    email: Email | None = None
    consent_email: bool | None = None
    consent_sms: bool | None = None
    deleted: bool | None = None

    @model_validator(mode="after")
    def _some(self) -> CustomerChanges:
        if not self.fields():
            raise ValueError("an edit changes at least one field")
        return self

    def fields(self) -> dict[str, str | bool]:
        """The fields set, in the domain's FIELDS order."""
        return {k: v for k in ("code", "name", "phone", "email", "consent_email", "consent_sms", "deleted")
                if (v := getattr(self, k)) is not None}


class CustomerEdit(_Part):
    """One edit: `changes` to customer `customer_id`, made as edit `seq` of `epoch` on the sending register.

    A create (`create: true`) names the customer it makes after itself: `customer_id` is
    `store:register:epoch:seq` of this very edit, and it carries a name.
    """

    customer_id: CustomerId
    epoch: Epoch
    seq: Seq
    at: Timestamp
    create: bool = False
    changes: CustomerChanges

    @model_validator(mode="after")
    def _create_names_itself(self) -> CustomerEdit:
        if self.create:
            _store, _register, epoch, seq = self.customer_id.split(":")
            if epoch != self.epoch or int(seq) != self.seq:
                raise ValueError(f"a create must name the customer after itself (…:{self.epoch}:{self.seq}), "
                                 f"not {self.customer_id!r}")
            if self.changes.name is None:
                raise ValueError("a create needs a name")
            if self.changes.deleted:
                raise ValueError("a create cannot be deleted")
        return self


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # `register` shadows ABCMeta.register; the field is meant

    class CustomerEdits(_Payload):
        """A register's customer edits, in seq order (device -> fleet)."""

        MAX_BYTES: ClassVar[int] = 256 * KIB
        store: ID
        register: ID = Field()
        edits: list[CustomerEdit] = Field(min_length=1, max_length=MAX_EDITS_PER_BATCH)

        @model_validator(mode="after")
        def _consistent(self) -> CustomerEdits:
            previous: tuple[str, int] | None = None
            for edit in self.edits:
                if edit.create:
                    store, register, _e, _s = edit.customer_id.split(":")
                    if store != self.store or register != self.register:
                        raise ValueError(f"{edit.customer_id}: a register creates customers only in its own name "
                                         f"({self.store}:{self.register}:…)")
                if previous is not None and previous[0] == edit.epoch and edit.seq <= previous[1]:
                    raise ValueError(f"edits must be in increasing seq order ({edit.seq} after {previous[1]})")
                previous = (edit.epoch, edit.seq)
            return self


class CustomerEntry(_Part):
    """One live customer of the list. `duplicate_code`: another live customer has the same card number."""

    customer_id: CustomerId
    code: Code = ""
    name: CustomerName
    phone: Phone = ""
    email: Email = ""
    consent_email: bool = False
    consent_sms: bool = False
    created_at: Timestamp
    updated_at: Timestamp
    duplicate_code: bool = False


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)

    class CustomerHead(_Part):
        """Every edit of `register` in `epoch` up to `seq` is merged into this list."""

        register: ID = Field()
        epoch: Epoch
        seq: Annotated[int, Field(ge=0, le=2**53)]


class CustomerList(_Payload):
    """The store's customers: replaced whole, newer versions only (fleet -> device, retained, signed)."""

    MAX_BYTES: ClassVar[int] = 32 * KIB * KIB
    version: Annotated[int, Field(ge=1, le=2**53)]
    store: ID
    generated_at: Timestamp | None = None
    customers: list[CustomerEntry] = Field(max_length=MAX_CUSTOMERS)
    heads: list[CustomerHead] = Field(default_factory=list, max_length=10_000)
    kind: Literal["customers"] = "customers"

    @model_validator(mode="after")
    def _unique(self) -> CustomerList:
        ids = [c.customer_id for c in self.customers]
        if len(set(ids)) != len(ids):
            raise ValueError("customers: a customer_id appears more than once")
        heads = [(h.register, h.epoch) for h in self.heads]
        if len(set(heads)) != len(heads):
            raise ValueError("heads: a register and epoch appear more than once")
        return self


def customers_topic(prefix: str, store: str, register: str) -> str:
    """Uplink: a register's customer edits."""
    return f"{prefix}/{store}/{register}/{CUSTOMERS_LEAF}"


def list_topic(prefix: str, store: str) -> str:
    """Downlink: the store's customer list (retained)."""
    return f"{prefix}/{store}/{CUSTOMERS_LEAF}"


def customer_ingest_filter(prefix: str, group: str = "kassa-ingest") -> str:
    """The fleet ingest's shared subscription for every register's customer edits."""
    return f"$share/{group}/{prefix}/+/+/{CUSTOMERS_LEAF}"


MODELS: dict[str, type[_Payload]] = {"customer_edits": CustomerEdits, "customer_list": CustomerList}


def customer_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (2020-12, made portable like the checked-in ones) of "customer_edits" or "customer_list";
    what `firmware.contract.schemas.generate` gives once these models are added to its MODELS."""
    from firmware.contract.schemas import DIALECT, portable

    schema: dict[str, Any] = {"$schema": DIALECT, "$id": f"https://kassa.example/schemas/v1/{name}.json",
                              **portable(MODELS[name].model_json_schema())}
    schema.setdefault("title", name)
    return schema


def domain_problem(edit: CustomerEdit) -> str | None:
    """The cashier-facing reason the domain refuses this edit's values (control characters, e-mail and phone
    shapes...), or None; the fleet applies it before merging (the contract models check shapes only)."""
    from firmware.domain.customers import check_changes
    from firmware.errors import DomainError

    try:
        check_changes(edit.changes.fields())
    except DomainError as exc:
        return str(exc)
    return None


def device_max_packet_with_customers(current: int, overhead: int = 4 * KIB) -> int:
    """A register's Maximum Packet Size once it subscribes to the signed customer list (limits.DEVICE_MAX_PACKET
    is `current`)."""
    return max(current, envelope_limit(CustomerList.MAX_BYTES) + overhead)
