"""Every error the firmware raises on purpose; each says what happened and what to do.

Errors are also builtin subclasses (as gpiozero does) so generic handlers keep
working. The register turns them into messages for the cashier; the CLIs turn
them into one line and an exit code (docs/contract.md#exit-codes: 2 for config, 1 otherwise).
"""

from __future__ import annotations


class KassaError(Exception):
    """Base of Kassa's own errors. `str(err)` is fit to show a technician."""


class ConfigError(KassaError, ValueError):
    """The config file is missing, unreadable, or has an unknown key or a bad value."""


class JournalError(KassaError, OSError):
    """The journal cannot be opened or written; committed data is left untouched."""


class JournalCorrupt(JournalError):
    """A record before the tail fails its checksum: the journal is refused, never repaired."""


class JournalMismatch(JournalError):
    """The journal belongs to another register or is of a newer format."""


class JournalLost(JournalError):
    """The journal is empty or missing although this device has committed receipts before."""


class JournalFull(JournalError):
    """The disk is full (or a file-size limit was hit): the sale is refused before money moves."""


class DomainError(KassaError, ValueError):
    """A command was refused by the sale rules; the message is the reason, in the cashier's words."""
