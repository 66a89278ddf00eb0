"""Refusals raised by the domain core; each message is the reason, in the cashier's words."""

from __future__ import annotations

from firmware.errors import DomainError

__all__ = ["DomainError", "Refused", "PayloadInvalid"]


class Refused(DomainError):
    """A sale command was refused; `reason` (also `str(err)`) says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadInvalid(DomainError):
    """A catalog or clerks payload is malformed; the message names the entry and the fix."""
