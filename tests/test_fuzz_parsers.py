"""A bounded fuzz run over every parser of outside input; only the documented error types may escape.

Each parser gets a fixed, derandomized Hypothesis budget (the same examples on every run, in CI too), so the
whole file runs in well under a minute. Inputs are random bytes/text plus mutations of good documents, so the
deep paths are reached as well as the front door.

    parser                                       may raise
    hal framing (Framer, MemoryScanner.feed_raw)  nothing: bad bytes become ScanRejected events
    hal URL parsers (hal.urls)                   HardwareConfigError
    contract decode / decode_json / decode_command PayloadRejected
    config (firmware.config.load_config)         ConfigError
    CSV/JSON imports (catalog, clerks)           InputRejected (a ConfigError)
    bundles (read_bundle, check_bundle, trust_summary)  InputRejected or ConfigError
"""

from __future__ import annotations

import copy
import json
import queue
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from firmware.config import ConfigError, load_config, parse_config
from firmware.contract import (
    Acks,
    CatalogMessage,
    Clerks,
    CommandResult,
    PayloadRejected,
    Receipt,
    Report,
    Selftest,
    Status,
    decode,
    decode_command,
    decode_json,
)
from hal.errors import HardwareConfigError
from hal.events import ScanRead, ScanRejected
from hal.framing import Framer
from hal.scanner import MemoryScanner
from hal.urls import parse_drawer_url, parse_led_url, parse_printer_url, parse_scanner_url
from tests.contract.kassa_samples import CATALOG, CLERKS, make_receipt

pytestmark = pytest.mark.slow  # property-based fuzzing of every parser, hundreds of examples each

FUZZ = settings(max_examples=300, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SMALL = settings(FUZZ, max_examples=150)  # parsers that touch files per example

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)


@st.composite
def mutated(draw, seed: object) -> object:
    """`seed` with one value somewhere inside replaced, removed or added: deep paths get fuzzed too."""
    doc = copy.deepcopy(seed)
    node, steps = doc, draw(st.integers(0, 4))
    for _ in range(steps):
        children = (list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list)
                    else [])
        containers = [(k, v) for k, v in children if isinstance(v, (dict, list)) and v]
        if not containers:
            break
        _, node = draw(st.sampled_from(containers))
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "drop":
            del node[key]
        elif action == "add":
            node[draw(st.text(max_size=10))] = draw(json_values)
        else:
            node[key] = draw(json_values)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    return doc


# ---- hal: scanner framing and hardware URLs ------------------------------------------------------------

@FUZZ
@given(st.lists(st.binary(max_size=120), max_size=6), st.sampled_from(["cr", "lf", "crlf"]))
def test_scanner_bytes_only_ever_become_scan_events(chunks, suffix):
    framer = Framer(suffix)
    out = [event for chunk in chunks for event in framer.feed(chunk)] + [framer.flush()]
    assert all(e is None or isinstance(e, (ScanRead, ScanRejected)) for e in out)
    events: queue.Queue = queue.Queue()
    scanner = MemoryScanner(events, suffix)
    for chunk in chunks:
        scanner.feed_raw(chunk)
    scanner.go_quiet()
    while not events.empty():
        event = events.get_nowait()
        assert isinstance(event, (ScanRead, ScanRejected)) or type(event).__module__ == "hal.events", event
        if isinstance(event, ScanRead):
            assert event.code.isascii() and event.code.isprintable()


url_texts = st.one_of(
    st.text(max_size=60),
    st.builds(lambda scheme, rest: scheme + rest,
              st.sampled_from(["serial://", "serial:///dev/tty", "usb://", "tcp://", "file://", "gpio:", "printer?",
                               "simulated?", "gpio:red=", "gpio:17?", "simulated", "simulated:"]),
              st.text(alphabet="0123456789abcdefxX:/?&=,.%-_ redgbluensorpin", max_size=40)),
)


@FUZZ
@given(url_texts, st.sampled_from([parse_scanner_url, parse_printer_url, parse_drawer_url, parse_led_url]))
def test_hardware_urls_parse_or_raise_hardware_config_error(url, parse):
    try:
        parse(url)
    except HardwareConfigError as exc:
        assert str(exc).startswith("hardware.") and "Example: " in str(exc)


# ---- contract: every payload model, three ways in ------------------------------------------------------

SEEDS = {
    Receipt: make_receipt(),
    Report: {"report_id": "Z-12", "kind": "z", "z_number": 12, "first_seq": 1, "last_seq": 40,
             "tenders": {"cash": 1200}, "taxes": {"A": 190}},
    Status: {"state": "online", "at": "2026-11-25T14:03:11.250Z", "pending": 3, "oldest_pending_at": None,
             "last_sync_at": None, "firmware_version": "0.1.0", "hardware": {"printer": "ok"}},
    Acks: {"receipt_ids": ["R1:7f3a9c2e:42"]},
    CommandResult: {"command_id": "c1", "ok": True, "detail": "7 receipts queued"},
    CatalogMessage: CATALOG,
    Clerks: CLERKS,
    Selftest: {"selftest_id": "5f0c2a", "client_id": "kassa-S001-R1", "at": "2026-11-25T14:03:11Z"},
}
COMMAND = {"command_id": "c1", "command": "resend", "args": {"from_seq": 3, "to_seq": 9}}


def payload_bytes(seed: object) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        mutated(seed).map(lambda doc: json.dumps(doc).encode()),
        st.just(b"[" * 5000 + b"]" * 5000),
    )


@FUZZ
@given(st.data())
@pytest.mark.parametrize("model", list(SEEDS), ids=lambda m: m.__name__)
def test_contract_decoders_accept_or_raise_payload_rejected(model, data):
    raw = data.draw(payload_bytes(SEEDS[model]))
    results = []
    for decoder in (decode, decode_json):
        try:
            results.append(decoder(model, raw))
        except PayloadRejected as exc:
            assert str(exc).startswith(model.__name__.lower()), str(exc)
            results.append(None)
    event("accepted" if results[0] is not None else "rejected")
    assert (results[0] is None) == (results[1] is None)  # the fast path agrees with the careful one


@FUZZ
@given(st.data())
def test_commands_decode_or_raise_payload_rejected(data):
    raw = data.draw(payload_bytes(COMMAND))
    try:
        command = decode_command(raw)
    except PayloadRejected as exc:
        assert str(exc).startswith("command")
        cid = getattr(exc, "command_id", None)
        assert cid is None or isinstance(cid, str)
    else:
        assert command.command in ("sync_now", "resend", "report")


# ---- config: raw bytes ---------------------------------------------------------------------------------

GOOD_TOML = ('[device]\nstore = "S001"\nregister = "R1"\ndata_dir = "/tmp/kassa-fuzz"\n[broker]\nurl = "mqtt://h:1883"\n'
             'keepalive = 30\nsession_expiry = 604800\nprefix = "kassa/v1"\n[hardware]\npaper_columns = 42\n'
             'printer = "usb://0x04b8:0x0202"\n[shop]\ntax_rates = { A = "19.00" }\n[policy]\nretention_days = 400\n')


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@SMALL
@given(st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.tuples(st.integers(0, len(GOOD_TOML)), st.integers(0, 40), st.text(max_size=20))
      .map(lambda t: (GOOD_TOML[:t[0]] + t[2] + GOOD_TOML[t[0] + t[1]:]).encode()),
))
def test_any_config_file_is_a_config_or_a_config_error(scratch, raw):
    path = scratch / "kassa.toml"
    path.write_bytes(raw)
    try:
        load_config(path)
    except ConfigError as exc:
        event("refused")
        assert str(exc).startswith(str(path))
    else:
        event("accepted")


# ---- imports: CSV and JSON, catalog and clerks ---------------------------------------------------------

CONFIG = parse_config({"device": {"store": "S001", "register": "R1", "data_dir": "/tmp/kassa-fuzz-data"}})
CATALOG_CSV = ("sku,name,price,tax_code,barcodes,weighed,quick_key\nP1,Pencil,1.29,A,4006381333931,no,Pencil\n"
               "P2,Pen,2,B,,yes,\n")
CLERKS_CSV = "clerk_id,name,role,pin\nm1,Mia,manager,482913\nc2,Bob,cashier,7730\n"
cell = st.one_of(st.text(max_size=12), st.sampled_from(["1.29", "99999999999.99", "-1", "4006381333931", "A", "B",
                                                         "yes", "manager", "cashier", "482913", "", '"a,b"',
                                                         "x" * 201]))


def csv_texts(good: str) -> st.SearchStrategy[str]:
    header = good.split("\n")[0]
    rows = st.lists(st.lists(cell, min_size=0, max_size=8).map(lambda cells: ",".join(cells)), max_size=5)
    return st.one_of(
        st.text(max_size=200),
        rows.map(lambda lines: "\n".join([header, *lines]) + "\n"),
        st.tuples(st.integers(0, len(good)), st.text(max_size=15)).map(lambda t: good[:t[0]] + t[1] + good[t[0]:]),
    )


def check_import(build, raw: str | bytes, suffix: str, scratch: Path):
    from firmware.acceptance import check_versioned
    from provisioning.errors import InputRejected

    path = scratch / f"import{suffix}"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    try:
        payload, problems = build(path)
    except InputRejected as exc:
        event("file refused")
        assert str(exc).startswith(str(path))
        return
    event("rows with problems" if problems else "accepted")
    assert all(p.where and p.field and p.reason for p in problems)
    if not problems:  # what the import would apply, the register's own gate accepts (with the shop's rates)
        check_versioned(build.kind, payload,
                        **({"fallback_rates": CONFIG.shop.tax_rates} if build.kind == "catalog" else {}))


def _catalog(path):
    from provisioning.catalog_import import build_catalog
    return build_catalog(path, CONFIG, None)


def _clerks(path):
    from provisioning.clerk_import import build_clerks
    return build_clerks(path, None)


_catalog.kind, _clerks.kind = "catalog", "clerks"  # type: ignore[attr-defined]
FAST_HASH = CLERKS["clerks"][0]["pin_hash"]  # hashing is not the parser under test; scrypt per row would be slow


@SMALL
@given(st.one_of(csv_texts(CATALOG_CSV), mutated(CATALOG).map(json.dumps),
                 json_values.map(json.dumps), st.binary(max_size=100)))
def test_catalog_imports_report_problems_or_input_rejected(scratch, raw):
    check_import(_catalog, raw, ".json" if isinstance(raw, str) and raw.lstrip().startswith(("{", "[")) else ".csv",
                 scratch)


@SMALL
@given(st.one_of(csv_texts(CLERKS_CSV), mutated(CLERKS).map(json.dumps),
                 json_values.map(json.dumps), st.binary(max_size=100)))
def test_clerk_imports_report_problems_or_input_rejected(scratch, raw):
    with mock.patch("provisioning.clerk_import.hash_pin", lambda pin: FAST_HASH):
        check_import(_clerks, raw, ".csv", scratch)


# ---- bundles -------------------------------------------------------------------------------------------

BUNDLE = {"format": "kassa-bundle/1", "store": "S001", "created_at": "2026-11-25T14:03:11+00:00",
          "device": {"data_dir": "/var/lib/kassa"},
          "broker": {"url": "mqtts://broker.example:8883", "prefix": "kassa/v1", "keepalive": 30},
          "shop": {"name": "Corner Shop", "currency": "EUR", "tax_rates": {"A": "19.00", "B": "7.00"}},
          "policy": {"retention_days": 400}, "hardware": {"printer": "usb://0x04b8:0x0202"},
          "catalog": CATALOG, "clerks": CLERKS}


@SMALL
@given(st.one_of(mutated(BUNDLE).map(lambda doc: json.dumps(doc).encode()),
                 json_values.map(lambda v: json.dumps({"format": "kassa-bundle/1",
                                                       **(v if isinstance(v, dict) else {"x": v})}).encode()),
                 st.binary(max_size=200)))
def test_bundles_are_checked_or_refused_with_input_rejected_or_config_error(scratch, raw):
    from provisioning.bundle import check_bundle, read_bundle, trust_summary

    path = scratch / "bundle.json"
    path.write_bytes(raw)
    try:
        doc = read_bundle(path)
        trust_summary(doc)
        check_bundle(doc, data_dir=scratch / "data")  # with the version-jump rule over an empty data dir
    except ConfigError as exc:  # InputRejected is one
        event(type(exc).__name__)
        assert str(exc)
    else:
        event("accepted")
