"""What the register accepts as its catalog or clerk roster: the contract's shape, then the domain's own rules.

One gate for every way in: the fleet's retained messages (sync), a technician's
import or bundle (provisioning). A payload that passes here is one the register
can load at its next start (`Catalog.from_trusted` relies on that).
"""

from __future__ import annotations

from typing import Any

from firmware.contract import Catalog as CatalogMessage
from firmware.contract import Clerks as ClerksMessage
from firmware.contract import PayloadRejected
from firmware.errors import DomainError

KINDS = ("catalog", "clerks")


def check_domain(kind: str, payload: dict[str, Any]) -> Any:
    """The domain's rules (check digits, unique SKUs and barcodes, tax codes, quick keys, PIN hashes).

    Returns the domain object it built (a Catalog or a Roster), so the caller need not build it again.
    """
    from firmware.domain.catalog import Catalog
    from firmware.domain.clerks import Roster

    try:
        return (Catalog if kind == "catalog" else Roster).from_payload(payload)
    except DomainError as exc:
        raise PayloadRejected(f"{kind} version {payload.get('version')}: {exc}") from None


def check_versioned(kind: str, payload: dict[str, Any]) -> None:
    """Contract model, then domain; raises PayloadRejected with the reason."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    try:
        (CatalogMessage if kind == "catalog" else ClerksMessage).model_validate(payload)
    except ValueError as exc:
        raise PayloadRejected(f"{kind}: {exc}") from None
    check_domain(kind, payload)
