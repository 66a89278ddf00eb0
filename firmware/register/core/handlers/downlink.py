"""Catalog and clerk lists from the fleet: swapped in whole when newer (sync validated and stored them already)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Roster
from firmware.register.core.effects import SavePayload
from firmware.register.core.step import Step
from firmware.sync.events import CatalogReceived, ClerksReceived

log = logging.getLogger("firmware.register")

T = TypeVar("T", Catalog, Roster)


def _swap_in(step: Step, what: str, store: str, payload: dict[str, Any], current_version: int, built: T | None,
             build: Callable[[dict[str, Any]], T]) -> T | None:
    """The newer catalog or roster (None when older or bad).

    Sync hands over the object it built while checking the payload (`built`) after storing the payload, so the
    UI thread neither builds a 50k-item catalog nor reads the store; an event without one is built here and
    stored by the shell (`SavePayload`).
    """
    if int(payload.get("version", -1)) <= current_version:
        return None
    fresh = built
    if fresh is None:
        try:
            fresh = build(payload)
        except Exception as exc:
            log.error("%s version %s rejected: %s", what, payload.get("version"), exc)
            return None
        step.do(SavePayload(store, payload))
    log.info("%s version %s in use", what, payload.get("version"))
    return fresh


def catalog_received(step: Step, event: CatalogReceived) -> None:
    built = event.catalog if isinstance(event.catalog, Catalog) else None
    catalog = _swap_in(step, "catalog", "catalog", event.payload, step.state.catalog.version, built,
                       Catalog.from_payload)
    if catalog is not None:
        step.set(catalog=catalog)
        step.note("info", "New prices and items loaded")


def clerks_received(step: Step, event: ClerksReceived) -> None:
    built = event.roster if isinstance(event.roster, Roster) else None
    roster = _swap_in(step, "clerk list", "clerks", event.payload, step.state.roster.version, built,
                      Roster.from_payload)
    if roster is not None:
        step.set(roster=roster)
