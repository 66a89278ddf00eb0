"""Item pictures from the fleet (docs/item-images.md), on the sync thread: each retained picture on
`kassa/v1/{store}/images/{sha256}` is checked against the catalog the device holds and kept in the image cache.

The catalog says which pictures are wanted (hash, size, type per item). A picture that arrives before the catalog
naming it is dropped, but a new catalog makes sync subscribe to the pictures again, so the broker sends every
retained one once more and the wanted ones are kept then. A new catalog also drops the pictures it no longer names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from firmware.contract.images import parse_image_topic
from firmware.domain.catalog import Catalog
from firmware.image_cache import ImageCache, Verdict, wanted_in_payload
from firmware.logutil import LogThrottle

__all__ = ["ImageSync", "REFUSED"]

log = logging.getLogger(__name__)

# what counts as a rejected downlink message (a picture of an older catalog, or one already held, does not)
REFUSED = frozenset({Verdict.BAD_HASH, Verdict.TOO_BIG, Verdict.NOT_AN_IMAGE})


class ImageSync:
    """The picture side of sync for one store: `on_message` for each picture, `on_catalog` for each new catalog."""

    def __init__(self, cache: ImageCache, store: str, prefix: str, stored_catalog: Mapping[str, Any] | None,
                 log_throttle: LogThrottle | None = None) -> None:
        self.cache = cache
        self.store = store
        self.prefix = prefix
        self.wanted = wanted_in_payload(stored_catalog)
        self.received = 0
        self.kept = 0
        self._log = log_throttle or LogThrottle(log, period=60.0, burst=5)
        cache.keep_only(self.wanted)

    def handles(self, topic: str) -> bool:
        parsed = parse_image_topic(topic, self.prefix)
        return parsed is not None and parsed[0] == self.store

    def on_message(self, topic: str, payload: bytes) -> Verdict | None:
        """Keep the picture if the catalog names it and it passes every check; None for an empty (cleared)
        retained message or a topic not of this store."""
        parsed = parse_image_topic(topic, self.prefix)
        if parsed is None or parsed[0] != self.store or not payload:
            return None
        self.received += 1
        verdict = self.cache.put(parsed[1], bytes(payload), self.wanted)
        if verdict is Verdict.KEPT:
            self.kept += 1
        elif verdict in REFUSED:
            self._log.warning(f"picture {verdict.name}", "item picture %s dropped: %s", parsed[1][:12], verdict.value)
        return verdict

    def on_catalog(self, catalog: Catalog) -> bool:
        """A new catalog: drop pictures it no longer names; True when it names one the cache lacks (then the
        caller subscribes to the pictures again, to get the retained ones it dropped before)."""
        self.wanted = catalog.images()
        self.cache.keep_only(self.wanted)
        return any(sha not in self.cache for sha in self.wanted)
