"""A receipt's `hash` checked against the bytes the device sent, cheaply when they are canonical JSON.

The device publishes the canonical JSON its journal stored (sorted keys, no
spaces), in which `"hash":"<hex>"` sits between two other keys. Cutting that
member out gives exactly the bytes the hash was computed over, so one SHA-256
of the payload proves it: no second parse, no re-serialisation. Anything else
(other formatting, the member not found) takes the full path: canonical JSON
of the parsed receipt without `hash`, as firmware.contract.chain defines it.
"""

from __future__ import annotations

import hashlib
import json

from firmware.contract.chain import receipt_hash


def _without_hash(payload: bytes | bytearray, declared: str) -> bytes | bytearray | None:
    member = b'"hash":"' + declared.encode("ascii") + b'"'
    at = payload.find(member)
    if at < 1 or payload.find(member, at + 1) != -1:
        return None
    end = at + len(member)
    if payload[at - 1:at] == b",":
        return payload[:at - 1] + payload[end:]
    if payload[at - 1:at] == b"{" and payload[end:end + 1] == b",":
        return payload[:at] + payload[end + 1:]
    return None


def hash_matches(payload: bytes | bytearray, declared: str) -> bool:
    """True when `declared` is the SHA-256 of the receipt in `payload` without its own `hash` member."""
    body = _without_hash(payload, declared)
    if body is not None and hashlib.sha256(body).hexdigest() == declared:
        return True
    return receipt_hash(json.loads(payload)) == declared
