"""Errors of the contract package: a payload that does not fit the contract."""

from __future__ import annotations

from firmware.errors import KassaError


class PayloadRejected(KassaError, ValueError):
    """A message was refused whole: too big, not JSON, or not the contract's shape. `str()` says why."""
