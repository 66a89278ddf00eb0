"""Customers: the record, cashier-readable validation, and field-level edits made offline on the till.

A customer's id is made by the register that creates it, from the create edit's own identity:
`store:register:epoch:seq` (the shape of a receipt id, `firmware.contract.receipt_id`). A register's edit log
numbers its edits 1, 2, 3... within an epoch (a random token the log gets when it is started), so the id is unique
without asking anyone, and the fleet can check that a register only creates ids in its own name (docs/customers.md).

An edit (`CustomerEdit`) names the customer, the fields it sets and their new values, and where it was made
(register, epoch, seq). A create is an edit with `create=True` that carries every field. Edits are applied per
field: an edit changes only the fields it names, so two registers editing different fields of one customer both
win; the fleet decides same-field races by its receive order (fleet/customers.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from firmware.contract.receipt_id import EPOCH_PART, ID_PART, SEQ_PART
from firmware.domain.catalog import fold
from firmware.domain.errors import Refused

__all__ = ["BOOL_FIELDS", "FIELDS", "TEXT_FIELDS", "Customer", "CustomerEdit", "FieldValue", "apply_edit",
           "check_changes", "check_field", "create_edit", "customer_from_fields", "customer_id_of", "digits",
           "edit_of", "fold", "is_customer_id", "normalize_code", "parse_customer_id"]

FieldValue = str | bool
TEXT_FIELDS: Final = ("code", "name", "phone", "email")
BOOL_FIELDS: Final = ("consent_email", "consent_sms", "deleted")
FIELDS: Final = TEXT_FIELDS + BOOL_FIELDS
DEFAULTS: Final[Mapping[str, FieldValue]] = {"code": "", "name": "", "phone": "", "email": "",
                                             "consent_email": False, "consent_sms": False, "deleted": False}

NAME_MAX = 100
CODE_MIN, CODE_MAX = 4, 32
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 6, 15  # E.164 allows 15 digits
PHONE_MAX = 24
EMAIL_MAX, EMAIL_LOCAL_MAX = 254, 64

CUSTOMER_ID_PATTERN: Final = rf"^{ID_PART}:{ID_PART}:{EPOCH_PART}:{SEQ_PART}$"
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_CODE = re.compile(r"^[0-9A-Z]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")
_EMAIL_LOCAL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~.-]+$")  # \w: internationalized addresses (RFC 6531)
_EMAIL_LABEL = re.compile(r"^(?!-)[^\s@.]{1,63}(?<!-)$")
# Cf: format characters (bidi overrides, zero-width spaces): invisible, they make a name look like another
_INVISIBLE_OK = {"\u200c", "\u200d"}  # zero-width (non-)joiner: part of how some scripts write names


@dataclass(frozen=True)
class Customer:
    """One customer as the register knows it; `deleted` customers are kept (their edits still merge) but hidden."""

    customer_id: str
    code: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    consent_email: bool = False
    consent_sms: bool = False
    deleted: bool = False
    created_at: str = ""
    updated_at: str = ""

    @property
    def phone_digits(self) -> str:
        return digits(self.phone)

    def get(self, field: str) -> FieldValue:
        if field not in DEFAULTS:
            raise KeyError(field)
        value: FieldValue = getattr(self, field)
        return value


@dataclass(frozen=True)
class CustomerEdit:
    """Fields of one customer set to new values, made on `register` as its edit number `seq` of `epoch`.

    `changes` is a tuple of (field, value) pairs in FIELDS order (hashable, so edits can be compared and
    deduplicated); `changed` gives them as a dict. `at` is the register's clock when the edit was made (display
    only; merging never reads it). `create` marks the edit that creates the customer; it carries every field.
    """

    customer_id: str
    changes: tuple[tuple[str, FieldValue], ...]
    register: str
    epoch: str
    seq: int
    at: str
    create: bool = False

    @property
    def changed(self) -> dict[str, FieldValue]:
        return dict(self.changes)

    @property
    def key(self) -> tuple[str, str, int]:
        """What makes an edit unique within a store: (register, epoch, seq)."""
        return self.register, self.epoch, self.seq


def digits(text: str) -> str:
    """The ASCII digits of `text` ("+49 (151) 123-45" -> "4915112345"): how phones are compared and searched."""
    return "".join(c for c in text if "0" <= c <= "9")


def normalize_code(text: str) -> str:
    """A loyalty card number as stored and looked up: trimmed, upper case (a scan and a typed code compare equal)."""
    return text.strip().upper()


def customer_id_of(store: str, register: str, epoch: str, seq: int) -> str:
    """The id of the customer created by edit (register, epoch, seq) of `store`."""
    return f"{store}:{register}:{epoch}:{seq}"


def parse_customer_id(text: str) -> tuple[str, str, str, int] | None:
    """(store, register, epoch, seq) of a customer id, else None."""
    if not isinstance(text, str) or _CUSTOMER_ID.match(text) is None:
        return None
    store, register, epoch, seq = text.split(":")
    return store, register, epoch, int(seq)


def is_customer_id(text: str) -> bool:
    return parse_customer_id(text) is not None


def _control(text: str) -> str | None:
    for c in text:
        cat = unicodedata.category(c)
        if cat in ("Cc", "Cs", "Co", "Cn") or (cat == "Cf" and c not in _INVISIBLE_OK) or cat in ("Zl", "Zp"):
            return f"U+{ord(c):04X}"
    return None


def _text(label: str, value: FieldValue) -> str:
    if not isinstance(value, str):
        raise Refused(f"The {label} must be text")
    value = unicodedata.normalize("NFC", value).strip()
    bad = _control(value)
    if bad is not None:
        raise Refused(f"The {label} contains an invisible or control character ({bad}); type it again")
    return value


def _check_name(value: FieldValue) -> str:
    name = " ".join(_text("name", value).split())
    if not name:
        raise Refused("Enter the customer's name")
    if len(name) > NAME_MAX:
        raise Refused(f"The name is {len(name)} characters long; at most {NAME_MAX} fit")
    if not any(c.isalpha() for c in name):
        raise Refused("The name needs at least one letter")
    return name


def _check_code(value: FieldValue) -> str:
    code = normalize_code(_text("card number", value))
    if not code:
        return ""
    if not code.isascii() or _CODE.match(code) is None:
        raise Refused("A card number has only letters A-Z and digits; scan the card or type it again")
    if not CODE_MIN <= len(code) <= CODE_MAX:
        raise Refused(f"A card number has {CODE_MIN} to {CODE_MAX} characters, this one {len(code)}")
    return code


def _check_phone(value: FieldValue) -> str:
    phone = " ".join(_text("phone number", value).split())
    if not phone:
        return ""
    if len(phone) > PHONE_MAX or not phone.isascii() or _PHONE.match(phone) is None:
        raise Refused("A phone number has digits, spaces and + - / ( ) only, like +49 151 2345678")
    count = len(digits(phone))
    if not PHONE_DIGITS_MIN <= count <= PHONE_DIGITS_MAX:
        raise Refused(f"A phone number has {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits, this one {count}")
    return phone


def _check_email(value: FieldValue) -> str:
    email = _text("e-mail address", value)
    if not email:
        return ""
    shape = "An e-mail address looks like name@example.com"
    if len(email) > EMAIL_MAX:
        raise Refused(f"The e-mail address is {len(email)} characters long; at most {EMAIL_MAX} fit")
    if any(c.isspace() for c in email) or email.count("@") != 1:
        raise Refused(f"{shape}: one @, no spaces")
    local, domain = email.split("@")
    if not local or len(local) > EMAIL_LOCAL_MAX or _EMAIL_LOCAL.match(local) is None or ".." in local \
            or local.startswith(".") or local.endswith("."):
        raise Refused(f"{shape}: the part before @ is not valid")
    labels = domain.split(".")
    if len(labels) < 2:
        raise Refused(f"{shape}: the part after @ needs a dot, like example.com")
    bad = next((label for label in labels if not _EMAIL_LABEL.match(label)), None)
    if bad is not None:
        what = "an empty part (two dots, or a dot at an end)" if not bad else (
            f"a part of {len(bad)} characters (at most 63)" if len(bad) > 63 else
            f"the part {bad!r}, which starts or ends with a hyphen")
        raise Refused(f"{shape}: after @ there is {what}")
    return f"{local}@{domain.lower()}"


def _check_flag(label: str, value: FieldValue) -> bool:
    if not isinstance(value, bool):
        raise Refused(f"{label} is yes or no")
    return value


_LABELS: Final = {"consent_email": "Consent to marketing e-mail", "consent_sms": "Consent to SMS",
                  "deleted": "Deleted"}


def check_field(field: str, value: FieldValue) -> FieldValue:
    """The value as stored (trimmed, NFC, code upper case, e-mail domain lower case); Refused with the reason."""
    if field == "name":
        return _check_name(value)
    if field == "code":
        return _check_code(value)
    if field == "phone":
        return _check_phone(value)
    if field == "email":
        return _check_email(value)
    if field in BOOL_FIELDS:
        return _check_flag(_LABELS[field], value)
    raise Refused(f"A customer has no field {field!r}")


def check_changes(changes: Mapping[str, FieldValue]) -> tuple[tuple[str, FieldValue], ...]:
    """Every change checked, as (field, value) pairs in FIELDS order; the first bad one is refused."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise Refused(f"A customer has no field {unknown[0]!r}")
    return tuple((field, check_field(field, changes[field])) for field in FIELDS if field in changes)


def create_edit(fields: Mapping[str, FieldValue], *, store: str, register: str, epoch: str, seq: int,
                at: str) -> CustomerEdit:
    """The edit that creates a customer (every field, defaults for the ones not given); Refused when invalid."""
    if "deleted" in fields and fields["deleted"]:
        raise Refused("A new customer cannot be deleted")
    checked = dict(check_changes(fields))
    if "name" not in checked:
        raise Refused("Enter the customer's name")
    full = tuple((field, checked.get(field, DEFAULTS[field])) for field in FIELDS)
    return CustomerEdit(customer_id_of(store, register, epoch, seq), full, register, epoch, seq, at, create=True)


def edit_of(customer: Customer, changes: Mapping[str, FieldValue], *, register: str, epoch: str, seq: int,
            at: str) -> CustomerEdit:
    """The edit that sets `changes` on `customer`, keeping only fields whose value changes; Refused when
    invalid or when nothing changes."""
    checked = [(f, v) for f, v in check_changes(changes) if customer.get(f) != v]
    if not checked:
        raise Refused("Nothing changed")
    return CustomerEdit(customer.customer_id, tuple(checked), register, epoch, seq, at)


def apply_edit(customer: Customer | None, edit: CustomerEdit) -> Customer | None:
    """`customer` with the edit's fields set (the device's view: edits are applied in the order made).

    A create builds the customer when there is none (and is ignored when one exists: the fleet's copy won);
    an edit of an unknown customer gives None (deleted or never heard of: nothing to edit)."""
    if customer is None:
        if not edit.create:
            return None
        customer = Customer(edit.customer_id, created_at=edit.at)
    elif edit.create:
        return customer
    values = {field: value for field, value in edit.changes}
    return replace(customer, **values, updated_at=edit.at)  # type: ignore[arg-type]


def customer_from_fields(customer_id: str, fields: Iterable[tuple[str, FieldValue]], *, created_at: str = "",
                         updated_at: str = "") -> Customer:
    """A Customer from (field, value) pairs (values trusted: already checked)."""
    return Customer(customer_id, **dict(fields), created_at=created_at, updated_at=updated_at)  # type: ignore[arg-type]
