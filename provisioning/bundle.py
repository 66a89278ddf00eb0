"""Bundles: one JSON file with what a store's registers share (broker, CA, shop, catalog, clerks), applied per device.

A bundle never carries a device's own secrets: no password, no private key,
no certificate. Those come from `bundle apply` options (or its prompt), or are
made on the device (`--tls-client-key`). Clerk PINs travel only as hashes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from firmware.atomicfile import write_atomic
from firmware.config import load_config
from firmware.stores import catalog_store, clerk_store
from provisioning import configfile, hardware
from provisioning.catalog_import import Imported, check_catalog_payload
from provisioning.clerk_import import check_clerks_payload
from provisioning.errors import InputRejected
from provisioning.initialize import InitAnswers, InitResult, init_device

__all__ = ["FORMAT", "SHARED_BROKER_KEYS", "export_bundle", "read_bundle", "apply_bundle", "Applied"]

FORMAT = "kassa-bundle/1"
SHARED_BROKER_KEYS = ("url", "prefix", "keepalive", "session_expiry", "backoff_cap", "window", "resend_after",
                      "status_interval")


@dataclass
class Applied:
    init: InitResult
    imported: list[Imported]


def export_bundle(config_path: Path, out: Path, *, with_hardware: bool = False) -> dict[str, Any]:
    """Write this device's shared settings, CA, catalog and clerks into `out` (no secrets)."""
    config = load_config(config_path)
    raw = configfile.read_raw(config_path)
    broker = {k: v for k, v in raw.get("broker", {}).items() if k in SHARED_BROKER_KEYS}
    if config.broker.ca_file:
        broker["ca_pem"] = Path(config.broker.ca_file).read_text(encoding="ascii")
    doc: dict[str, Any] = {
        "format": FORMAT, "store": config.device.store,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": {"data_dir": str(config.device.data_dir)},
        "broker": broker, "shop": raw.get("shop", {}), "policy": raw.get("policy", {}),
        "catalog": catalog_store(config.device.data_dir).load(), "clerks": clerk_store(config.device.data_dir).load(),
    }
    if with_hardware:
        doc["hardware"] = raw.get("hardware", {})
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8"), mode=0o644)
    return doc


def read_bundle(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such bundle; check the path (USB stick mounted?)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputRejected(f"{path}: not a bundle (invalid JSON: {exc}); make one with `kassa-provision bundle export`") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputRejected(f"{path}: not a {FORMAT} bundle; make one with `kassa-provision bundle export`")
    for secret in ("password", "password_file", "key_file", "key_pem", "cert_file"):
        if secret in doc.get("broker", {}):
            raise InputRejected(f"{path}: broker.{secret} does not belong in a bundle (per-device secret); remove it")
    return doc


def apply_bundle(doc: dict[str, Any], config_path: Path, *, register: str, store: str | None = None,
                 username: str | None = None, password: str | None = None, tls_client_key: bool = False,
                 data_dir: Path | None = None, hardware_urls: dict[str, str | None] | None = None,
                 service_user: str = "kassa", force: bool = False) -> Applied:
    """Provision this device from a bundle plus per-device overrides; everything is checked before anything is written."""
    store = store or doc.get("store")
    if not store:
        raise InputRejected("the bundle names no store: give --store")
    shared = doc.get("broker", {})
    catalog, clerks = doc.get("catalog"), doc.get("clerks")
    if catalog:
        check_catalog_payload(catalog)
        shop_currency = doc.get("shop", {}).get("currency")
        if shop_currency and catalog.get("currency", shop_currency) != shop_currency:
            raise InputRejected(f"the bundle's catalog is in {catalog.get('currency')} but its shop sells in {shop_currency}")
    if clerks:
        check_clerks_payload(clerks)
    hw = {k: v for k, v in {**doc.get("hardware", {}), **(hardware_urls or {})}.items() if v is not None}
    hardware.validate_urls({k: str(v) for k, v in hw.items() if k in ("scanner", "printer", "drawer", "led")})
    bundle_dir = (doc.get("device") or {}).get("data_dir")
    with tempfile.TemporaryDirectory(prefix="kassa-bundle-") as tmp:
        ca_file = None
        if shared.get("ca_pem"):
            ca_file = Path(tmp) / "ca.pem"
            ca_file.write_text(shared["ca_pem"], encoding="ascii")
        answers = InitAnswers(
            store=store, register=register, broker_url=shared.get("url"),
            username=username if username is not None else f"{store}-{register}", password=password,
            tls_client_key=tls_client_key, ca_file=ca_file,
            data_dir=data_dir or (Path(bundle_dir) if bundle_dir else None),
            shop=dict(doc.get("shop", {})), service_user=service_user,
            extra={"broker": {k: v for k, v in shared.items() if k in SHARED_BROKER_KEYS and k != "url"},
                   "policy": dict(doc.get("policy", {})), "hardware": hw},
        )
        result = init_device(config_path, answers)
    config = result.config
    imported = []
    for kind, payload, store_ in (("catalog", catalog, catalog_store(config.device.data_dir)),
                                  ("clerks", clerks, clerk_store(config.device.data_dir))):
        if payload:
            applied = store_.apply(payload, force=force)
            count = len(payload.get("items") or payload.get("clerks") or [])
            imported.append(Imported(kind, int(payload["version"]), count, applied))
    return Applied(result, imported)
