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
Signatures (firmware.contract.signing) are checked by the service before a
document reaches this module.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from firmware.contract import PayloadRejected
from firmware.contract.acceptance import VERSION_LIMIT, check_document
from firmware.stores import VersionedStore

log = logging.getLogger("kassa.sync.downlink")


# Any: the JSON document from the fleet, and its Catalog or Roster by `kind` (as untyped as
# firmware.contract.acceptance.check_document returns it; sync/service.py pairs it with the event by kind)
def apply_versioned(kind: str, data: bytes, store: VersionedStore, *,
                    fallback_rates: Mapping[str, str] | None = None) -> tuple[dict[str, Any], Any] | None:
    """Validate a catalog or clerks payload and store it if newer; return (applied payload, its domain
    Catalog or Roster) or None.

    `data` is the document itself (its signature, if any, already checked by the caller). The gate is the one
    `kassa-provision` and `kassa-fleet publish-*` use (firmware.contract.acceptance); `fallback_rates` are the
    register's `[shop] tax_rates`, which apply when the catalog carries none.
    Raises PayloadRejected (nothing stored) when the payload does not pass the gate.
    """
    payload, built = check_document(kind, data, fallback_rates=fallback_rates)
    version = payload["version"]
    held = store.version
    force = False
    if held >= VERSION_LIMIT:  # held from before the limit: it would block every later version
        log.warning("%s version %d replaces a held version of %d digits, which is over the limit of 2**53",
                    kind, version, len(str(held)))
        force = True
    elif version <= held:
        log.debug("%s version %d ignored: version %d is already held", kind, version, held)
        return None
    if not store.apply(payload, force=force):
        return None
    log.info("%s version %d applied (was %d)", kind, version, held)
    return payload, built


__all__ = ["PayloadRejected", "apply_versioned"]
