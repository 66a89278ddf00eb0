"""What the register accepts as its catalog or clerk roster: one gate for every way in.

Used by the register (sync: the fleet's retained messages), by `kassa-provision` (imports and bundles) and by
`kassa-fleet publish-*` (so bad data is refused before it is published). In this order:

1. the contract model (shape, types, sizes: `firmware.contract.payloads`);
2. Kassa's rules, each one a hole found in the field:
   - `version` is below 2**53 (VERSION_LIMIT): larger numbers are not exact in JSON readers that use doubles,
     and one huge version would make a register ignore every later document;
   - a catalog has at least one item (an empty catalog stops all selling);
   - every item's tax code has a rate. The rates the till uses are the catalog's `tax_rates` when it carries
     any, else the register's `[shop] tax_rates`. The register and `kassa-provision` pass their configured
     rates as `fallback_rates`; `kassa-fleet` knows no register's config, so **a published catalog must carry
     `tax_rates` covering every item's code**;
   - a PIN hash has exactly the firmware's scrypt parameters (n=2**14, r=8, p=1, 16-byte salt, 32-byte hash):
     cheaper ones make PINs cheap to guess, dearer ones freeze the till on every wrong PIN;
3. the domain's own checks (check digits, unique SKUs and barcodes, quick keys, PIN hash syntax), which build the
   Catalog or Roster (returned, so the caller need not build it again).

Every way a catalog or roster is put in place by hand also refuses a version more than MAX_VERSION_JUMP above
the current one without `--force` (`check_version_jump`, one code path and one message): `kassa-fleet publish-*`
(over the retained or last published version), `kassa-provision catalog` / `clerks` and `bundle apply` (over
the version the register holds). A typo such as 9007199254740991 would otherwise leave no room for any later
version. A register itself refuses only versions at or above VERSION_LIMIT.

The domain is imported lazily: it is pure (no I/O), and the fleet reaches it only through this module.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from firmware.contract.errors import PayloadRejected
from firmware.contract.payloads import CatalogMessage, Clerks as ClerksMessage, decode

__all__ = ["KINDS", "MAX_VERSION_JUMP", "SCRYPT_PARAMS", "VERSION_LIMIT", "VersionJump", "check_document",
           "check_domain", "check_rules", "check_version_jump", "check_versioned", "version_jump_problem"]

KINDS = ("catalog", "clerks")
VERSION_LIMIT = 2**53
MAX_VERSION_JUMP = 1_000_000
SCRYPT_PARAMS = (2**14, 8, 1)  # firmware.domain.clerks.SCRYPT_N, SCRYPT_R, SCRYPT_P (checked by a test)
SALT_BYTES, DIGEST_BYTES = 16, 32


def _model(kind: str) -> type[CatalogMessage] | type[ClerksMessage]:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return CatalogMessage if kind == "catalog" else ClerksMessage


def check_domain(kind: str, payload: dict[str, Any]) -> Any:
    """The domain's rules; returns the Catalog or Roster it built. Raises PayloadRejected."""
    from firmware.domain.catalog import Catalog
    from firmware.domain.clerks import Roster
    from firmware.errors import DomainError

    try:
        return (Catalog if kind == "catalog" else Roster).from_payload(payload)
    except DomainError as exc:
        raise PayloadRejected(f"{kind} version {payload.get('version')}: {exc}") from None


def _pin_hash_problem(pin_hash: object) -> str | None:
    parts = pin_hash.split("$") if isinstance(pin_hash, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        return "is not scrypt$n$r$p$salt$hash"
    n, r, p = SCRYPT_PARAMS
    if parts[1:4] != [str(n), str(r), str(p)]:
        return (f"has scrypt parameters n={parts[1][:12]} r={parts[2][:12]} p={parts[3][:12]}; the register "
                f"accepts only n={n} r={r} p={p} (re-hash the PIN with `kassa-provision clerks`)")
    try:
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        return "has a salt or hash that is not base64"
    if len(salt) != SALT_BYTES or len(digest) != DIGEST_BYTES:
        return f"needs a {SALT_BYTES}-byte salt and a {DIGEST_BYTES}-byte hash (got {len(salt)} and {len(digest)})"
    return None


def check_rules(kind: str, payload: Mapping[str, Any], *, fallback_rates: Mapping[str, str] | None = None,
                require_rates: bool = True) -> None:
    """Kassa's own rules (version range, non-empty catalog, a rate for every tax code, exact scrypt parameters).

    `require_rates=False`: a catalog without `tax_rates` and without `fallback_rates` is let through on that
    point, for a caller that has checked every item's code against the register's rates itself.
    """
    _model(kind)
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < VERSION_LIMIT:
        shown = f"{str(version)[:20]}... ({len(str(version))} digits)" if len(str(version)) > 24 else repr(version)
        raise PayloadRejected(f"{kind}: version {shown} must be a whole number from 1 to 2**53-1")
    if kind == "catalog":
        items = payload.get("items") or []
        if not items:
            raise PayloadRejected("catalog: it has no items; an empty catalog would stop all selling")
        rates = payload.get("tax_rates") or None
        if not isinstance(items, list) or (rates is not None and not isinstance(rates, Mapping)):
            return  # not the contract's shape: the model says why
        if rates is None and fallback_rates is None and not require_rates:
            return
        if rates is None and fallback_rates is None:
            raise PayloadRejected("catalog: no tax_rates; a published catalog must carry tax_rates for every "
                                  'tax code of its items, e.g. "tax_rates": {"A": "19.00"}')
        where = "the catalog's tax_rates" if rates is not None else "the register's [shop] tax_rates"
        rates = rates if rates is not None else fallback_rates
        assert rates is not None
        missing = sorted({str(item.get("tax_code")) for item in items if isinstance(item, Mapping)} - set(rates))
        if missing:
            raise PayloadRejected(f"catalog: tax code(s) {', '.join(missing[:10])} have no rate in {where}; "
                                  "the till could not sell those items")
        from firmware.domain.tax import parse_rate
        from firmware.errors import DomainError

        for code in sorted({str(item.get("tax_code")) for item in items if isinstance(item, Mapping)}):
            try:
                parse_rate(rates[code], code)
            except DomainError as exc:
                raise PayloadRejected(f"catalog: {exc} (in {where})") from None
    else:
        clerks = payload.get("clerks") or []
        for i, clerk in enumerate(clerks if isinstance(clerks, list) else []):
            if not isinstance(clerk, Mapping):
                continue  # the model and the domain say why
            problem = _pin_hash_problem(clerk.get("pin_hash"))
            if problem:
                raise PayloadRejected(f"clerks: {clerk.get('clerk_id', f'entry #{i}')}'s pin_hash {problem}")


def check_versioned(kind: str, payload: dict[str, Any], *, fallback_rates: Mapping[str, str] | None = None) -> Any:
    """Contract model, Kassa's rules, then the domain; returns the built Catalog or Roster; raises PayloadRejected."""
    model = _model(kind)
    if not isinstance(payload, Mapping):
        raise PayloadRejected(f"{kind}: must be a JSON object")
    check_rules(kind, payload, fallback_rates=fallback_rates)  # first: cheap, and says why a version is wrong
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise PayloadRejected(f"{kind}: {where}: {first['msg']}") from None
    except ValueError as exc:
        raise PayloadRejected(f"{kind}: {exc}") from None
    return check_domain(kind, dict(payload))


def check_document(kind: str, data: bytes, *, fallback_rates: Mapping[str, str] | None = None
                   ) -> tuple[dict[str, Any], Any]:
    """The whole gate over a document's bytes: size and JSON, model, rules, domain.

    Returns (payload as the contract model dumps it, built Catalog or Roster).
    """
    doc = decode(_model(kind), data)
    payload = doc.model_dump(mode="json", exclude_none=True)
    check_rules(kind, payload, fallback_rates=fallback_rates)
    return payload, check_domain(kind, payload)


class VersionJump(PayloadRejected):
    """A version more than MAX_VERSION_JUMP above the current one, without --force; `str()` says so and the fix."""


def version_jump_problem(kind: str, version: int, current: int | None) -> str | None:
    """Why putting `version` over `current` (None or negative: none held, taken as 0) needs --force, or None."""
    base = current if current is not None and 0 <= current < VERSION_LIMIT else 0
    if version - base > MAX_VERSION_JUMP:
        return (f"{kind} version {version} is more than {MAX_VERSION_JUMP:,} above the current version {base}; "
                "a typo here would leave no room for later versions. Check it, or pass --force")
    return None


def check_version_jump(kind: str, version: int, current: int | None, *, force: bool) -> None:
    """The version-jump rule for every tool that puts a catalog or roster in place: raises VersionJump (the
    message of `version_jump_problem`) unless `force`. Callers add what was not done ("nothing was published")."""
    problem = version_jump_problem(kind, version, current)
    if problem and not force:
        raise VersionJump(problem)
