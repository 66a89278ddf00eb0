"""Clerks and PINs: salted scrypt hashes, login, and manager approval for guarded actions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from firmware.domain.errors import DomainError, PayloadInvalid

__all__ = ["ROLES", "Clerk", "Roster", "hash_pin", "verify_pin", "check_pin_format"]

ROLES = ("cashier", "manager")
# n=2**14, r=8 needs 16 MiB and ~50-100 ms on a Pi 4: slow for guessing, quick enough for a login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="


def check_pin_format(pin: str) -> None:
    """PINs are 4 to 12 digits; anything else is refused with a reason."""
    if not isinstance(pin, str) or not pin.isdigit() or not pin.isascii() or not 4 <= len(pin) <= 12:
        raise DomainError("A PIN is 4 to 12 digits")


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$n$r$p$<salt b64>$<hash b64>`: salted, slow, and says how to verify itself."""
    check_pin_format(pin)
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def _parse(pin_hash: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = pin_hash.split("$") if isinstance(pin_hash, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16 or not salt or not digest:
        return None
    return n, r, p, salt, digest


def verify_pin(pin: str, pin_hash: str) -> bool:
    """True when `pin` matches; a malformed hash or PIN is simply False (compared in constant time)."""
    parsed = _parse(pin_hash)
    if parsed is None or not isinstance(pin, str):
        return False
    n, r, p, salt, digest = parsed
    try:
        candidate = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(digest))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, digest)


@dataclass(frozen=True)
class Clerk:
    """Someone who may log in; `role` is "cashier" or "manager"."""

    clerk_id: str
    name: str
    role: str
    pin_hash: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


class Roster:
    """The clerks this register knows (from the fleet's clerks message)."""

    def __init__(self, clerks: Iterable[Clerk], version: int = 0) -> None:
        self.version = version
        self._by_id: dict[str, Clerk] = {}
        for clerk in clerks:
            if clerk.clerk_id in self._by_id:
                raise PayloadInvalid(f"Clerks: clerk_id {clerk.clerk_id} appears twice")
            if clerk.role not in ROLES:
                raise PayloadInvalid(f"Clerks: {clerk.clerk_id} has role {clerk.role!r}; use cashier or manager")
            self._by_id[clerk.clerk_id] = clerk

    @property
    def clerks(self) -> list[Clerk]:
        return list(self._by_id.values())

    def get(self, clerk_id: str) -> Clerk | None:
        return self._by_id.get(clerk_id)

    def authenticate(self, clerk_id: str, pin: str) -> Clerk | None:
        """The clerk when the PIN matches, else None (unknown ids cost the same time as wrong PINs)."""
        clerk = self._by_id.get(clerk_id)
        if clerk is None:
            verify_pin(pin, _DUMMY_HASH)
            return None
        return clerk if verify_pin(pin, clerk.pin_hash) else None

    def approve(self, pin: str, clerk_id: str | None = None) -> Clerk | None:
        """The manager whose PIN this is (optionally a named one), else None. Cashiers never approve."""
        managers = [c for c in self._by_id.values() if c.is_manager and (clerk_id is None or c.clerk_id == clerk_id)]
        for manager in managers:
            if verify_pin(pin, manager.pin_hash):
                return manager
        return None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Roster:
        """From the contract's clerks message (docs/contract.md#clerks); any bad entry refuses the whole message."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("clerks"), list):
            raise PayloadInvalid("Clerks: payload must be an object with a 'clerks' list")
        clerks = []
        for i, raw in enumerate(payload["clerks"]):
            if not isinstance(raw, Mapping):
                raise PayloadInvalid(f"Clerks: entry #{i} must be an object")
            clerk_id, name, role, pin_hash = (raw.get(k) for k in ("clerk_id", "name", "role", "pin_hash"))
            if not isinstance(clerk_id, str) or not clerk_id:
                raise PayloadInvalid(f"Clerks: entry #{i} needs a 'clerk_id'")
            if not isinstance(name, str):
                raise PayloadInvalid(f"Clerks: {clerk_id} needs a 'name'")
            if role not in ROLES:
                raise PayloadInvalid(f"Clerks: {clerk_id} has role {role!r}; use cashier or manager")
            if not isinstance(pin_hash, str) or _parse(pin_hash) is None:
                raise PayloadInvalid(f"Clerks: {clerk_id} has no valid pin_hash (expected scrypt$n$r$p$salt$hash)")
            clerks.append(Clerk(clerk_id=clerk_id, name=name, role=role, pin_hash=pin_hash))
        return cls(clerks, version=payload.get("version", 0))

    def to_payload(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "clerks": [
                {"clerk_id": c.clerk_id, "name": c.name, "role": c.role, "pin_hash": c.pin_hash}
                for c in self._by_id.values()
            ],
        }
