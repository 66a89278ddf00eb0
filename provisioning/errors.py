"""Errors of the technician CLI; each names what went wrong and the fix (exit 2 for usage/input, 1 otherwise)."""

from __future__ import annotations

from firmware.errors import ConfigError, KassaError

__all__ = ["ProvisionError", "InputRejected", "RowProblem", "SelfTestFailed", "ResetRefused"]


class ProvisionError(KassaError):
    """An operation could not be carried out (exit 1); the message says what to do."""


class InputRejected(ConfigError):
    """A file or option given by the technician is invalid (exit 2); nothing was changed."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class SelfTestFailed(ProvisionError):
    """At least one self-test check failed; the report says which and how to fix it."""


class ResetRefused(ProvisionError):
    """A reset would lose receipts the fleet has not confirmed."""


class RowProblem:
    """One bad entry of an imported file: where (line or entry), which field (column), why and the fix, and the value.

    `value` is the cell as given (None when there is nothing to show, e.g. a PIN, which is never repeated).
    """

    __slots__ = ("where", "field", "reason", "value")

    def __init__(self, where: str, field: str, reason: str, value: object = None) -> None:
        self.where = where
        self.field = field
        self.reason = reason
        self.value = value

    def __repr__(self) -> str:
        return f"RowProblem({self.where!r}, {self.field!r}, {self.reason!r}, {self.value!r})"

    def __str__(self) -> str:
        shown = f" = {self.value!r}" if self.value is not None else ""
        return f"{self.where}: {self.field}{shown}: {self.reason}"
