"""The catalog bootstrap hands the register: read when first used or on a thread once the screen is up, the same
catalog either way."""

from __future__ import annotations

import json
import threading

import pytest

from firmware.bootstrap import (
    DeferredCatalog,
    bootstrap,
    deferred_catalog,
    demo_catalog_payload,
    demo_config,
    load_catalog,
    seed_demo,
)
from firmware.clock import ManualClock
from firmware.domain.catalog import Catalog
from firmware.errors import JournalError
from firmware.stores import catalog_store

PENCIL = "4006381333931"


def config_for(tmp_path):
    return demo_config(tmp_path / "data", broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})


def test_bootstrap_reads_only_the_currency_and_the_first_use_loads_the_rest(tmp_path):
    payload = dict(demo_catalog_payload(), currency="CHF", version=7)
    catalog_store(tmp_path / "data").apply(payload)
    config = config_for(tmp_path)
    catalog = deferred_catalog(config)
    assert isinstance(catalog, DeferredCatalog) and isinstance(catalog, Catalog)
    assert catalog.loaded is False
    assert catalog.currency == "CHF" and catalog.loaded is False  # read ahead from the file's first bytes
    assert catalog.by_barcode(PENCIL) is not None  # first real use: loaded here
    assert catalog.loaded is True
    eager = load_catalog(config)
    assert (catalog.version, len(catalog), catalog.currency, catalog.tax_rates) == \
        (eager.version, len(eager), eager.currency, eager.tax_rates) == (7, 63, "CHF", eager.tax_rates)


def test_a_background_load_and_a_use_meanwhile_load_it_once(tmp_path, monkeypatch):
    seed_demo(tmp_path / "data")
    calls = []
    release = threading.Event()
    real = load_catalog(config_for(tmp_path))

    def slow_load() -> Catalog:
        calls.append(threading.current_thread().name)
        release.wait(10)
        return real

    catalog = DeferredCatalog(slow_load, currency="EUR")
    catalog.load_in_background()
    catalog.load_in_background()  # twice is harmless
    got = []
    user = threading.Thread(target=lambda: got.append(catalog.by_sku(real.items[0].sku)))
    user.start()
    user.join(0.2)
    assert user.is_alive(), (got, calls)  # the use waits for the load under way
    release.set()
    user.join(10)
    assert got == [real.items[0]] and calls == ["kassa-catalog"]
    assert catalog.loaded and catalog.items == real.items


def test_a_file_not_written_by_the_store_is_read_now_and_built_later(tmp_path):
    path = catalog_store(tmp_path / "data").path
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 3, "items": demo_catalog_payload()["items"], "currency": "SEK"}))
    catalog = deferred_catalog(config_for(tmp_path))
    assert catalog.currency == "SEK" and not catalog.loaded
    assert len(catalog) == 63 and catalog.version == 3


def test_no_catalog_yet_is_an_empty_one_at_once(tmp_path):
    catalog = deferred_catalog(config_for(tmp_path))
    assert not isinstance(catalog, DeferredCatalog) and len(catalog) == 0


def test_a_damaged_catalog_raises_at_first_use(tmp_path):
    catalog_store(tmp_path / "data").apply({"currency": "EUR", "items": [{"sku": "1"}], "version": 2})
    catalog = deferred_catalog(config_for(tmp_path))
    with pytest.raises(JournalError, match="is damaged"):
        catalog.by_sku("1")


def test_a_register_sells_from_the_deferred_catalog_without_a_screen(tmp_path):
    pins = seed_demo(tmp_path / "data")
    register = bootstrap(config_for(tmp_path), clock=ManualClock(), demo_pins=pins, with_sync=False)
    try:
        assert isinstance(register.catalog, DeferredCatalog)
        assert register.login("c1", pins["c1"]).ok
        assert register.scan(PENCIL).ok  # loaded on first use, on this thread
        assert register.catalog.loaded
    finally:
        register.shutdown()
