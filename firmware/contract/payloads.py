"""Pydantic models of every contract payload (docs/contract.md#mqtt): strict types, size limits, decode/encode helpers.

Models are strict (no coercion: `"5"` is not an int, `2.0` is not a quantity)
but tolerate unknown fields, because the contract evolves only by adding
optional fields and an older device must keep accepting a newer fleet's
messages. Every message is size-checked before it is parsed.
"""

from __future__ import annotations

import json
import warnings
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from firmware.contract.errors import PayloadRejected
from firmware.contract.receipt_id import EPOCH_PART, RECEIPT_ID_PATTERN, parse_receipt_id

ID = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=200)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Timestamp = Annotated[str, StringConstraints(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")]
DecimalText = Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,9}(\.[0-9]{1,6})?$")]  # ASCII digits: \d is Unicode
Money = Annotated[int, Field(ge=-(10**12), le=10**12)]
Price = Annotated[int, Field(ge=0, le=10**12)]
Seq = Annotated[int, Field(ge=1, le=2**53)]
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# receipt_id.ReceiptId as text: 1.1 store:register:epoch:seq, or 1.0
ReceiptIdText = Annotated[str, StringConstraints(pattern=RECEIPT_ID_PATTERN)]
Epoch = Annotated[str, StringConstraints(pattern=rf"^{EPOCH_PART}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

KIB = 1024


class _Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    MAX_BYTES: ClassVar[int] = 64 * KIB


class _Part(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


# ---- device -> fleet ------------------------------------------------------------------------

class AgeCheck(_Part):
    """An age check on a receipt line: the item's `min_age`, the clerk who confirmed it, and the date of birth
    typed where the shop's policy asks for it ([shop] age_check_dob)."""

    min_age: Annotated[int, Field(ge=1, le=99)]
    by: Key
    dob: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] | None = None


class SoldLine(_Part):
    """What a line sells: the fields of a receipt's line, and of a layby's reserved line (contract/accounts.py)."""

    sku: Key
    name: Text
    qty: int | DecimalText
    unit_price: Money
    discount: Money = 0
    tax_code: Key
    amount: Money


class ReceiptLine(SoldLine):
    age_check: AgeCheck | None = None  # docs/item-prompts.md: the cashier confirmed the customer's age


class ReceiptTotals(_Part):
    subtotal: Money
    tax: Money
    total: Money
    rounding: Money = 0


class ReceiptTax(_Part):
    tax_code: Key
    rate: DecimalText
    net: Money
    tax: Money


class ReceiptTender(_Part):
    type: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    amount: Money
    change: Money = 0


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # `register` shadows ABCMeta.register; the field is meant

    class Receipt(_Payload):
        """One committed receipt, published as the journal stored it."""

        MAX_BYTES: ClassVar[int] = 256 * KIB
        receipt_id: ReceiptIdText
        store: ID
        register: ID = Field()
        seq: Seq
        kind: Literal["sale", "refund", "no_sale"]
        created_at: Timestamp
        clock_trusted: bool
        offline: bool
        clerk_id: Key
        currency: Currency
        lines: list[ReceiptLine] = Field(max_length=1000)
        totals: ReceiptTotals
        taxes: list[ReceiptTax] = Field(max_length=50)
        tenders: list[ReceiptTender] = Field(max_length=50)
        refund_of: ReceiptIdText | None
        sale_id: Key | None = None
        prev_hash: Hash
        hash: Hash

        @model_validator(mode="after")
        def _id_matches(self) -> Receipt:
            key = parse_receipt_id(self.receipt_id)
            if key is None or key.register != self.register or key.seq != self.seq or (
                    key.store is not None and key.store != self.store):
                raise ValueError(f"receipt_id {self.receipt_id!r} does not name store {self.store!r}, "
                                 f"register {self.register!r} and seq {self.seq}")
            return self

        @property
        def epoch(self) -> str:
            key = parse_receipt_id(self.receipt_id)
            assert key is not None  # checked by _id_matches
            return key.epoch

    class Report(_Payload):
        """An X or Z report; counts and totals by tender and tax code ride along as extra fields."""

        MAX_BYTES: ClassVar[int] = 256 * KIB
        report_id: Key
        kind: Literal["x", "z"]
        z_number: Annotated[int, Field(ge=0)] | None
        first_seq: Annotated[int, Field(ge=0)]
        last_seq: Annotated[int, Field(ge=0)]
        store: ID | None = None
        register: ID | None = Field(default=None)


MAX_ENDED_EPOCHS = 16  # contract 1.2: at most this many `ended_epochs` in one status (the device keeps the last 16)


class EndedEpoch(_Part):
    """Contract 1.2: an epoch this device once announced (its retained status or last will named it) that its
    journal does not hold: the journal was deleted or replaced. `head_seq` is the head it announced then (a lower
    bound of what it sold); the fleet counts the seqs of it that never arrived as lost."""

    epoch: Epoch
    first_seq: Seq | None = None
    head_seq: Annotated[int, Field(ge=0, le=2**53)]
    head_hash: Hash | None = None


class Status(_Payload):
    """Retained device status. The last will (no `at`) says `state: offline` with the journal's identity as of the
    connect: `epoch`, `epoch_first_seq`, `head_seq` (a lower bound), `head_hash` and `ended_epochs` (1.2)."""

    MAX_BYTES: ClassVar[int] = 16 * KIB
    state: Literal["online", "offline"]
    at: Timestamp | None = None
    pending: Annotated[int, Field(ge=0)] | None = None
    quarantined: Annotated[int, Field(ge=0)] | None = None
    oldest_pending_at: Timestamp | None = None
    last_sync_at: Timestamp | None = None
    firmware_version: Annotated[str, StringConstraints(max_length=64)] | None = None
    hardware: dict[str, Any] | None = None
    # contract 1.1: the journal's identity, so the fleet can answer with its head and see an epoch end
    epoch: Epoch | None = None
    epoch_first_seq: Seq | None = None
    head_seq: Annotated[int, Field(ge=0, le=2**53)] | None = None
    head_hash: Hash | None = None
    conflicts: Annotated[int, Field(ge=0)] | None = None
    rollbacks: Annotated[int, Field(ge=0)] | None = None
    # contract 1.2: epochs it announced that its journal no longer holds (read back from its own retained status)
    ended_epochs: list[EndedEpoch] | None = Field(default=None, max_length=MAX_ENDED_EPOCHS)


class CommandResult(_Payload):
    """The device's answer to a command."""

    MAX_BYTES: ClassVar[int] = 16 * KIB
    command_id: Key
    ok: bool
    detail: Annotated[str, StringConstraints(max_length=2000)] = ""


# ---- fleet -> device ------------------------------------------------------------------------

class Selftest(_Payload):
    """A technician's broker self-test (kassa-provision selftest); the fleet echoes `selftest_id` on acks."""

    MAX_BYTES: ClassVar[int] = 4 * KIB
    selftest_id: Key
    client_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    at: Timestamp | None = None


class FleetHead(_Part):
    """The highest seq the fleet holds of one device epoch (0: none), and that receipt's hash."""

    epoch: Epoch
    seq: Annotated[int, Field(ge=0, le=2**53)]
    hash: Hash | None = None


class Acks(_Payload):
    """Receipts the fleet has ingested for good; plus, in contract 1.1, what the device must know.

    `receipt_ids` is always present; it may be empty only when something else is said (an addition to
    1.0: a device that does not know the other fields finds nothing to confirm in it):
    `selftest_id` answers a technician's self-test, `conflict_ids` names receipts the fleet holds a
    different receipt for (never confirmed), `head` answers a status with the fleet's head of that epoch.
    """

    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"properties": {"receipt_ids": {"type": "array", "minItems": 1}}},
                  {"required": ["selftest_id"]}, {"required": ["conflict_ids"]}, {"required": ["head"]}]})
    MAX_BYTES: ClassVar[int] = 128 * KIB
    receipt_ids: list[ReceiptIdText] = Field(max_length=2000)
    selftest_id: Key | None = None
    conflict_ids: list[ReceiptIdText] | None = Field(default=None, max_length=2000)
    head: FleetHead | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Acks:
        if not self.receipt_ids and self.selftest_id is None and not self.conflict_ids and self.head is None:
            raise ValueError("receipt_ids is empty and there is no selftest_id, conflict_ids or head")
        return self


class NoArgs(_Part):
    pass


class ResendArgs(_Part):
    from_seq: Seq
    to_seq: Seq
    epoch: Epoch | None = None  # 1.1: only receipts of this epoch; a device ignores seqs of another

    @model_validator(mode="after")
    def _range(self) -> ResendArgs:
        if self.to_seq < self.from_seq or self.to_seq - self.from_seq >= 100_000:
            raise ValueError("resend needs from_seq <= to_seq and at most 100000 receipts")
        return self


class ReportArgs(_Part):
    kind: Literal["x", "z"]


class _CommandBase(_Payload):
    MAX_BYTES: ClassVar[int] = 4 * KIB
    command_id: Key


class SyncNowCommand(_CommandBase):
    command: Literal["sync_now"]
    args: NoArgs = NoArgs()


class ResendCommand(_CommandBase):
    command: Literal["resend"]
    args: ResendArgs


class ReportCommand(_CommandBase):
    command: Literal["report"]
    args: ReportArgs


Command = Annotated[SyncNowCommand | ResendCommand | ReportCommand, Field(discriminator="command")]
COMMAND_ADAPTER: TypeAdapter[SyncNowCommand | ResendCommand | ReportCommand] = TypeAdapter(Command)
COMMAND_MAX_BYTES = 4 * KIB


class ImageRef(_Part):
    """An item's picture (docs/item-images.md): it travels on `kassa/v1/{store}/images/{sha256}`, unsigned; the
    signed catalog vouches for it by this hash and size."""

    sha256: Hash
    bytes: Annotated[int, Field(ge=1, le=256 * KIB)]  # firmware.contract.images.ItemImage.MAX_BYTES
    type: Literal["image/png", "image/jpeg"]


class CatalogItem(_Part):
    sku: Key
    name: Name
    price: Price
    tax_code: Key
    barcodes: list[Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,32}$")]] = Field(
        default_factory=list, max_length=20)
    weighed: bool = False
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None  # shown on scan
    min_age: Annotated[int, Field(ge=0, le=99)] | None = None  # > 0: the cashier checks the customer's age
    image: ImageRef | None = None  # docs/item-images.md: shown on lookup


class QuickKey(_Part):
    label: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    sku: Key


class CatalogMessage(_Payload):  # as it travels; firmware.domain.Catalog is what the register sells from
    """The store's catalog: replaced whole, newer versions only."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, title="Catalog")  # the schema's name

    MAX_BYTES: ClassVar[int] = 4 * KIB * KIB
    version: Annotated[int, Field(ge=1)]
    currency: Currency
    items: list[CatalogItem] = Field(max_length=50_000)
    quick_keys: list[QuickKey] = Field(default_factory=list, max_length=200)
    tax_rates: dict[Key, DecimalText] | None = None
    # docs/promotions.md: checked rule by rule by firmware.contract.promotions (CatalogPromotions), below
    promotions: list[dict[str, Any]] | None = Field(default=None, max_length=2_000)
    sku_groups: dict[Key, Annotated[list[Key], Field(max_length=20)]] | None = None  # at most 50,000: CatalogPromotions
    # docs/stock.md#variants: each checked as firmware.contract.stock.VariantGroup (CatalogVariants), below
    variants: list[dict[str, Any]] | None = Field(default=None, max_length=5_000)

    @model_validator(mode="after")
    def _consistent(self) -> CatalogMessage:
        skus = [item.sku for item in self.items]
        if len(set(skus)) != len(skus):
            raise ValueError("items: a sku appears more than once")
        known = set(skus)
        missing = sorted({key.sku for key in self.quick_keys} - known)
        if missing:
            raise ValueError(f"quick_keys name skus not in items: {', '.join(missing[:5])}")
        if self.promotions or self.sku_groups:
            from firmware.contract.promotions import decode_promotions  # it builds on this module's types

            try:
                decode_promotions({"promotions": self.promotions, "sku_groups": self.sku_groups})
            except PayloadRejected as exc:  # "catalog: promotions.3.discount.percent: ..."
                raise PydanticCustomError("promotions", "{reason}",
                                          {"reason": str(exc).removeprefix("catalog: ")}) from None
        if self.variants:
            from firmware.contract.stock import CatalogVariants  # it builds on this module's types

            try:
                groups = CatalogVariants.model_validate({"variants": self.variants})
            except ValidationError as exc:  # "variants.0.axes: ..."
                raise PydanticCustomError("variants", "{reason}", {"reason": _reason(exc)}) from None
            problem = groups.check_against(known)
            if problem:
                raise ValueError(problem)
        return self


class Clerk(_Part):
    clerk_id: Key
    name: Name
    role: Literal["cashier", "manager"]
    pin_hash: Annotated[str, StringConstraints(min_length=8, max_length=512)]


class Clerks(_Payload):
    """The store's clerk roster: replaced whole, newer versions only."""

    MAX_BYTES: ClassVar[int] = 256 * KIB
    version: Annotated[int, Field(ge=1)]
    clerks: list[Clerk] = Field(max_length=1000)

    @model_validator(mode="after")
    def _unique(self) -> Clerks:
        ids = [clerk.clerk_id for clerk in self.clerks]
        if len(set(ids)) != len(ids):
            raise ValueError("clerks: a clerk_id appears more than once")
        return self


class Signed(_Payload):
    """A downlink document signed by the fleet (firmware.contract.signing): catalog, clerks and commands.

    `signed` is the document's exact bytes in base64; `sig` the Ed25519 signature (base64) over
    `"kassa-downlink/1\n" + topic + "\n" + those bytes`; `key` the signing key's fingerprint; `topic` the
    topic it was signed for (a document signed for one store's topic is refused on another's).
    """

    MAX_BYTES: ClassVar[int] = 6 * KIB * KIB
    signed: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=6 * KIB * KIB)]
    sig: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{86}==$")]
    key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,64}$")]
    topic: Annotated[str, StringConstraints(min_length=1, max_length=256)]


# ---- decoding -------------------------------------------------------------------------------

M = TypeVar("M", bound=_Payload)


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _load(data: bytes | bytearray | str, max_bytes: int, what: str) -> Any:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise PayloadRejected(f"{what}: {len(raw)} bytes is over the limit of {max_bytes}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadRejected(f"{what}: not UTF-8 JSON ({exc})") from None
    except RecursionError:
        raise PayloadRejected(f"{what}: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise PayloadRejected(f"{what}: must be a JSON object, got {type(doc).__name__}")
    return doc


def decode(model: type[M], data: bytes | bytearray | str) -> M:
    """Parse and validate one payload whole; raise PayloadRejected with the reason."""
    what = model.__name__.lower()
    doc = _load(data, model.MAX_BYTES, what)
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise PayloadRejected(f"{what}: {_reason(exc)}") from None
    except RecursionError:
        raise PayloadRejected(f"{what}: nested too deeply") from None


def decode_json(model: type[M], data: bytes | bytearray | str) -> M:
    """As `decode`, in one pass: pydantic parses and validates the JSON itself (no Python dict in between).

    For hot paths (the fleet's receipt ingest); same limits and PayloadRejected on any fault.
    """
    what = model.__name__.lower()
    if len(data) > model.MAX_BYTES:
        raise PayloadRejected(f"{what}: {len(data)} bytes is over the limit of {model.MAX_BYTES}")
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise PayloadRejected(f"{what}: not UTF-8 JSON ({first['msg']})") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise PayloadRejected(f"{what}: must be a JSON object") from None
        raise PayloadRejected(f"{what}: {_reason(exc)}") from None
    except RecursionError:
        raise PayloadRejected(f"{what}: nested too deeply") from None


def decode_command(data: bytes | bytearray | str) -> SyncNowCommand | ResendCommand | ReportCommand:
    """Parse a command; PayloadRejected's `command_id` attribute is set when the id could be read."""
    doc = _load(data, COMMAND_MAX_BYTES, "command")
    try:
        return COMMAND_ADAPTER.validate_python(doc)
    except ValidationError as exc:
        err = PayloadRejected(f"command: {_reason(exc)}")
        cid = doc.get("command_id")
        err.command_id = cid if isinstance(cid, str) and 0 < len(cid) <= 64 else None  # type: ignore[attr-defined]
        raise err from None


def refusal(exc: PayloadRejected) -> CommandResult | None:
    """The answer to a command that could not be read, when its `command_id` could (`decode_command`)."""
    command_id = getattr(exc, "command_id", None)
    return CommandResult(command_id=command_id, ok=False, detail=str(exc)[:2000]) if command_id else None


def encode(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON of a model, without fields left at None."""
    return message.model_dump_json(exclude_none=True).encode("utf-8")
