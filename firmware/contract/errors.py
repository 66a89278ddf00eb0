"""Errors of the contract package: a payload that does not fit the contract; a broker client that cannot be set up."""

from __future__ import annotations

from firmware.errors import ConfigError, KassaError


class PayloadRejected(KassaError, ValueError):
    """A message was refused whole: too big, not JSON, or not the contract's shape. `str()` says why."""


class BrokerSetupError(ConfigError):
    """A broker URL, secret file or TLS file a client cannot use; `str()` names the file and the fix.

    A ConfigError, so the register's start-up reports it as one (exit code 2); the fleet's tools and the
    technician's self-test turn it into their own messages.
    """


class SecretFileError(BrokerSetupError):
    """A secret file (broker password, device key) is missing, unreadable or readable by others."""
