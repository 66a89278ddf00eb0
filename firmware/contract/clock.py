"""The contract's timestamps: `2026-11-25T14:03:11.250Z` (UTC, milliseconds), written and read in one place."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_utc", "parse_iso_utc"]


def iso_utc(moment: datetime) -> str:
    """The contract's timestamp form: `2026-11-25T14:03:11.250Z` (milliseconds, UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso_utc(text: str) -> datetime:
    """Inverse of `iso_utc` (accepts any ISO 8601 with an offset or a Z)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
