"""Wires one register from a config: journal, catalog and clerks, hardware, sync. Nothing is built at import time.

`bootstrap(config)` is what `kassa run` uses; `demo_config` and `seed_demo`
give `kassa demo` and the tests a complete appliance on simulated hardware
with the sample catalog and demo clerks.

Building starts no thread. Once everything is built, bootstrap starts the
parts that own threads through one `Lifecycle`, in dependency order:
journal, hardware, sync, register housekeeping, committer, report worker, receipt finder;
shutdown stops them in reverse (docs/interfaces.md "Threads").
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from firmware.clock import Clock, SystemClock
from firmware.config import Config, parse_config
from firmware.customers import CustomerBook
from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Roster, hash_pin
from firmware.errors import ConfigError, JournalError
from firmware.image_cache import ImageCache, Verdict, wanted_in_payload
from firmware.journal import Journal
from firmware.lifecycle import Lifecycle
from firmware.register import Register
from firmware.stock_keeper import StockKeeper
from firmware.stores import catalog_store, clerk_store

log = logging.getLogger(__name__)

# Demo clerks and their PINs: shown on the demo login screen, never used outside `kassa demo`.
DEMO_CLERKS = (
    ("c1", "Anna", "cashier", "1111"),
    ("c2", "Ben", "cashier", "2222"),
    ("m1", "Maria", "manager", "9999"),
)


def demo_catalog_payload() -> dict[str, Any]:
    """The sample catalog shipped with the firmware (46 items, valid EAN-13 codes, two tax codes)."""
    return json.loads(resources.files("firmware.demo").joinpath("catalog.json").read_text(encoding="utf-8"))


def demo_config(data_dir: str | os.PathLike[str], broker_url: str = "mqtt://127.0.0.1:1883",
                **sections: dict[str, Any]) -> Config:
    """A complete config for the demo: simulated hardware, receipts rendered into the data dir."""
    doc: dict[str, Any] = {
        "device": {"store": "DEMO", "register": "R1", "data_dir": str(data_dir)},
        "broker": {"url": broker_url},
        "hardware": {"scanner": "simulated", "printer": "simulated", "drawer": "simulated?auto_close=4",
                     "led": "simulated", "scale": "simulated:toledo8217"},
        "shop": {"name": "Kassa Demo Shop", "address": ["1 Market Street", "Springfield"], "cash_rounding": 0},
    }
    for name, values in sections.items():
        doc.setdefault(name, {}).update(values)
    return parse_config(doc, "demo config")


def seed_demo(data_dir: Path) -> dict[str, str]:
    """Install the sample catalog and demo clerks if the data dir has none; return clerk_id -> PIN."""
    catalog_store(data_dir).apply(demo_catalog_payload()) if catalog_store(data_dir).load() is None else None
    seed_demo_pictures(data_dir)
    if clerk_store(data_dir).load() is None:
        clerks = [
            {"clerk_id": cid, "name": name, "role": role, "pin_hash": hash_pin(pin)}
            for cid, name, role, pin in DEMO_CLERKS
        ]
        clerk_store(data_dir).apply({"version": 1, "clerks": clerks})
    return {cid: pin for cid, _, _, pin in DEMO_CLERKS}


def seed_demo_pictures(data_dir: Path, limit: int = 64 * 1024 * 1024) -> int:
    """Put the demo catalog's item pictures (firmware/demo/images) into the image cache, as the fleet's
    `publish-images` would (docs/item-images.md); only those the held catalog names. Returns how many were new."""
    wanted = wanted_in_payload(catalog_store(data_dir).load())
    if not wanted:
        return 0
    cache = ImageCache(Path(data_dir) / "images", limit)
    new = 0
    for entry in resources.files("firmware.demo").joinpath("images").iterdir():
        if entry.name.endswith(".png"):
            data = entry.read_bytes()
            new += cache.put(hashlib.sha256(data).hexdigest(), data, wanted) is Verdict.KEPT
    return new


def load_catalog(config: Config) -> Catalog:
    """The local catalog. Only payloads that passed full validation are ever stored, so load the fast way."""
    return build_catalog(config, catalog_payload(config))


def catalog_payload(config: Config) -> dict[str, Any]:
    """The stored catalog payload (an empty catalog in the shop's currency when there is none yet)."""
    payload = catalog_store(config.device.data_dir).load()
    if payload is None:
        log.warning("no catalog yet: load one with `kassa-provision catalog FILE` or publish one from the fleet")
        payload = {"version": 0, "currency": config.shop.currency, "items": [], "quick_keys": []}
    return payload


def build_catalog(config: Config, payload: dict[str, Any]) -> Catalog:
    try:
        return Catalog.from_trusted(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalError(f"the local catalog {catalog_store(config.device.data_dir).path} is damaged ({exc}); "
                           "load it again with `kassa-provision catalog FILE`") from None


class DeferredCatalog(Catalog):
    """The local catalog, read on first use, or by a thread once the screen is up (`load_in_background`).

    Building and indexing a 50k-item catalog is the largest part of start-up and the login screen needs none
    of it. Until loaded the object holds only header fields read ahead (the currency), so the first access
    to anything else (`__getattr__`) loads it on the calling thread, or waits for the background load already
    under way; after that it is the loaded catalog (its attributes copied in) and costs nothing extra. A
    damaged catalog raises on first use what `load_catalog` raises.
    """

    def __init__(self, load: Callable[[], Catalog], **known: Any) -> None:
        # No Catalog.__init__: items and indexes come with the load. `known` are header fields read already,
        # as the loaded catalog will have them (the register's view shows the currency from the first frame on).
        self.__dict__.update(known)
        self._deferred_load = load
        self._deferred_lock = threading.Lock()  # held while loading: a use meanwhile waits for the load
        self._deferred_starting = threading.Lock()
        self._deferred_done = False
        self._deferred_thread: threading.Thread | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_deferred"):
            raise AttributeError(name)
        self.ensure_loaded()
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None

    @property
    def loaded(self) -> bool:
        return self._deferred_done

    def load_in_background(self) -> None:
        """Load on a thread of its own (`kassa-catalog`, ends when loaded): the UI calls this once its first frame
        is up, so the load takes none of the CPU the login screen needs and is done by the first scan. Not a
        lifecycle part: it holds no resource and ends by itself; a use before it is done waits for it."""
        with self._deferred_starting:  # not the load's lock: that one is held for the whole load
            if self._deferred_done or self._deferred_thread is not None:
                return
            self._deferred_thread = threading.Thread(target=self._load_quietly, name="kassa-catalog", daemon=True)
        self._deferred_thread.start()

    def _load_quietly(self) -> None:
        try:
            self.ensure_loaded()
        except Exception:  # raised again where the register first uses the catalog, and reported there
            log.exception("loading the local catalog failed")

    def ensure_loaded(self) -> None:
        """Load now (or wait for the load under way on another thread)."""
        if self._deferred_done:
            return
        with self._deferred_lock:
            if self._deferred_done:
                return
            self.__dict__.update(self._deferred_load().__dict__)
            self._deferred_load = _loaded  # lets go of the file's bytes
            self._deferred_done = True


def _loaded() -> Catalog:
    raise AssertionError("the deferred catalog is loaded already")


# The start of a catalog file as VersionedStore.apply writes it (json.dumps, sort_keys: "currency" comes first).
_CATALOG_HEAD = re.compile(rb'\{"currency": ("(?:[^"\\\x00-\x1f]|\\.){1,16}"), "items": \[')


def deferred_catalog(config: Config) -> Catalog:
    """The local catalog as a `DeferredCatalog`. The file's bytes are read now (a catalog the fleet stores
    meanwhile is swapped in the usual way, by its event); parsing and building wait. The currency comes from
    the first bytes; when the file does not start as the store writes it, it is parsed now as well."""
    store = catalog_store(config.device.data_dir)
    try:
        raw = store.path.read_bytes()
    except FileNotFoundError:
        return load_catalog(config)  # an empty catalog: nothing to defer
    head = _CATALOG_HEAD.match(raw, 0, 128)
    if head is not None:
        return DeferredCatalog(lambda: build_catalog(config, json.loads(raw)), currency=json.loads(head.group(1)))
    payload = json.loads(raw)
    return DeferredCatalog(lambda: build_catalog(config, payload), currency=payload.get("currency", "EUR"))


def load_roster(config: Config) -> Roster:
    payload = clerk_store(config.device.data_dir).load()
    if payload is None:
        log.warning("no clerks yet: load them with `kassa-provision clerks FILE` or publish them from the fleet")
        payload = {"version": 0, "clerks": []}
    return Roster.from_payload(payload)


def hardware_spec(config: Config) -> Any:
    from hal.factory import HardwareSpec

    hw = config.hardware
    return HardwareSpec(
        scanner=hw.scanner,
        printer=hw.printer,
        drawer=hw.drawer,
        led=hw.led,
        paper_columns=hw.paper_columns,
        render_dir=Path(config.device.data_dir) / "printer",
        header=(config.shop.name, *config.shop.address),
        drawer_open_warn_seconds=config.policy.drawer_open_warn_seconds,
        scale=hw.scale,
    )


def ntp_synchronised() -> bool:
    """True when systemd-timesyncd (or chrony via timedatectl) reports the clock synchronised."""
    return Path("/run/systemd/timesync/synchronized").exists()


def bootstrap(
    config: Config,
    *,
    clock: Clock | None = None,
    events: queue.Queue[Any] | None = None,
    hardware: Any = None,
    with_hardware: bool = True,
    with_sync: bool = True,
    demo_pins: dict[str, str] | None = None,
    ntp_synced: Any = None,
    journal_options: dict[str, Any] | None = None,
    lifecycle: Lifecycle | None = None,
) -> Register:
    """Open the journal, load catalog and clerks, build hardware and sync, start their threads, return the register.

    The parts are added to `lifecycle` (a new one if None) and started in its order; if one fails to
    start, those started are stopped again and the journal is closed.
    """
    lifecycle = lifecycle if lifecycle is not None else Lifecycle()
    clock = clock or SystemClock()
    events = events if events is not None else queue.Queue()
    data_dir = Path(config.device.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal.open(data_dir, store=config.device.store, register=config.device.register, clock=clock,
                           **(journal_options or {}))
    built_hardware = None
    for sentence in getattr(journal, "recovery", []) or []:
        log.warning("journal recovery: %s", sentence)
    try:
        if hardware is None and with_hardware:
            from hal.errors import HardwareConfigError
            from hal.factory import build_hardware

            try:
                hardware = built_hardware = build_hardware(hardware_spec(config), events)
            except HardwareConfigError as exc:  # a restart cannot fix it: exit 2 (config), not a restart loop
                raise ConfigError(f"{exc} (then check with `kassa-provision selftest`)") from None
        catalog = deferred_catalog(config)  # read once the login screen is up
        # the till's stock (docs/stock.md): refilled from the journal here, before any commit or send
        stock = StockKeeper(journal, data_dir / "stock")
        # the customer book (docs/customers.md): the register searches and edits it, sync sends its edits and
        # applies the fleet's list to it (thread-safe: firmware/customers.py)
        customers = CustomerBook(data_dir, config.device.store, config.device.register)
        # item pictures (docs/item-images.md): sync keeps them, the UI reads them (one lock inside)
        images = ImageCache(data_dir / "images", config.shop.image_cache_mb * 1024 * 1024)
        sync = None
        if with_sync:
            from firmware.sync import SyncService

            sync = SyncService(config, journal, clock, events, pace_share=config.broker.drain_cpu_share,
                               stock=stock, customers=customers, images=images)
        register = Register(
            config=config,
            clock=clock,
            journal=journal,
            catalog=catalog,
            roster=load_roster(config),
            events=events,
            hardware=hardware,
            sync=sync,
            demo_pins=demo_pins,
            ntp_synced=ntp_synced or (lambda: True if clock is not None and not isinstance(clock, SystemClock)
                                      else ntp_synchronised()),
            customers=customers,
            stock=stock,
            images=images,
        )
        lifecycle.add("journal", start=journal.start, stop=journal.close)
        if hardware is not None:
            lifecycle.add("hardware", start=getattr(hardware, "start", None) or (lambda: None),
                          stop=getattr(hardware, "stop", None) or hardware.close)
        lifecycle.add("sync", sync)
        for name, part in _register_parts(register):
            lifecycle.add(name, part)
        lifecycle.start()  # on failure it has stopped what it started
    except BaseException:
        if built_hardware is not None:
            built_hardware.close()
        journal.close()
        raise
    return register


def _register_parts(register: Register) -> list[tuple[str, Any]]:
    """The register's own threaded parts, in start order: journal housekeeping (health, retention), commits, the
    worker that sums the reports the fleet asks for, then the one that finds past receipts.

    The register builds these itself (firmware/register/service.py), so they are read here, in this one
    place, until its shell takes them from bootstrap instead (issue 15, items 1 and 3).
    """
    return [("register housekeeping", register._housekeeper), ("committer", register._committer),
            ("report worker", register._reports), ("receipt finder", register._finder)]
