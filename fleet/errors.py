"""Errors of the fleet backend; each says what happened and what to do."""

from __future__ import annotations


class FleetError(Exception):
    """Anything the fleet CLI reports as one line and exit code 1."""


class FleetUsageError(FleetError):
    """A bad option, URL or input file: exit code 2, the message names the fix."""
