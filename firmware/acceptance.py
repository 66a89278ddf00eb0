"""The register's acceptance gate for catalogs and clerk rosters; it lives in `firmware.contract.acceptance`.

The fleet may import only `firmware.contract`, so the gate moved there to be one gate for the register,
`kassa-provision` and `kassa-fleet publish-*`; this module keeps the older import path working.

`check_domain` here is what `kassa-provision`'s imports call after their own row-by-row checks and the contract
model: Kassa's rules (versions below 2**53, a non-empty catalog, the firmware's exact scrypt parameters, tax codes
covered by the catalog's own `tax_rates` when it carries any) and then the domain. A catalog without `tax_rates`
is checked against the register's configured rates by the import itself (each row's tax code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from firmware.contract import acceptance as _gate
from firmware.contract.acceptance import (
    KINDS,
    MAX_VERSION_JUMP,
    VERSION_LIMIT,
    VersionJump,
    check_document,
    check_rules,
    check_version_jump,
    check_versioned,
    version_jump_problem,
)

if TYPE_CHECKING:
    from firmware.domain.catalog import Catalog
    from firmware.domain.clerks import Roster

__all__ = ["KINDS", "MAX_VERSION_JUMP", "VERSION_LIMIT", "VersionJump", "check_document", "check_domain",
           "check_rules", "check_version_jump", "check_versioned", "version_jump_problem"]


def check_domain(kind: str, payload: dict[str, Any]) -> Catalog | Roster:  # Any: the JSON document to check
    """Kassa's rules, then the domain; returns the built Catalog or Roster; raises PayloadRejected."""
    check_rules(kind, payload, require_rates=False)
    return _gate.check_domain(kind, payload)
