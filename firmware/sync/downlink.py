"""Fleet -> device messages: validated whole, then applied (catalog, clerks) or turned into actions.

Catalog and clerk roster are applied here, on the sync thread: validated
against the contract models, then written atomically to the local
`VersionedStore` (firmware/stores.py) only when their version is newer than
the one held (retained copies arrive again on every reconnect). The register
is told with `CatalogReceived` / `ClerksReceived` carrying the applied
payload and the domain object built from it here (50k items take a good
half-second to check and index: never on the UI thread), and swaps its
in-memory copy; it never writes the stores itself.
Anything malformed is rejected with a logged reason and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from firmware.contract import Catalog, Clerks, PayloadRejected, decode
from firmware.acceptance import check_domain
from firmware.stores import VersionedStore

log = logging.getLogger("kassa.sync.downlink")


def apply_versioned(kind: str, data: bytes, store: VersionedStore) -> tuple[dict[str, Any], Any] | None:
    """Validate a catalog or clerks payload and store it if newer; return (applied payload, its domain
    Catalog or Roster) or None.

    Raises PayloadRejected (nothing stored) when the payload does not fit the contract.
    """
    model = Catalog if kind == "catalog" else Clerks
    doc = decode(model, data)
    payload = doc.model_dump(mode="json", exclude_none=True)
    built = check_domain(kind, payload)
    held = store.version
    if doc.version <= held:
        log.debug("%s version %d ignored: version %d is already held", kind, doc.version, held)
        return None
    if not store.apply(payload):
        return None
    log.info("%s version %d applied (was %d)", kind, doc.version, held)
    return payload, built


__all__ = ["PayloadRejected", "apply_versioned"]
