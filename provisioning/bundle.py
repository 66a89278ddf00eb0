"""Bundles: one JSON file with what a store's registers share (broker, CA, shop, catalog, clerks), applied per device.

A bundle never carries a device's own secrets: no password, no private key,
no certificate. Those come from `bundle apply` options (or its prompt), or are
made on the device (`--tls-client-key`). Clerk PINs travel only as hashes.

A bundle arrives on a stick, so what it asks the device to trust is shown
first (`trust_summary`: the SHA-256 fingerprint of each CA certificate and
fleet public key, the store, the data dir) and `bundle apply` goes on only
when the technician confirms (or gave `--yes`). Its data dir is claimed by the
rules of `provisioning.secretfiles.claim_data_dir`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
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

__all__ = ["FORMAT", "SHARED_BROKER_KEYS", "export_bundle", "read_bundle", "check_bundle", "apply_bundle", "Applied",
           "trust_summary", "target_data_dir", "check_version_jumps"]

FORMAT = "kassa-bundle/1"
SHARED_BROKER_KEYS = ("url", "prefix", "keepalive", "session_expiry", "backoff_cap", "window", "resend_after",
                      "status_interval")


@dataclass
class Applied:
    init: InitResult
    imported: list[Imported]


def export_bundle(config_path: Path, out: Path, *, with_hardware: bool = False) -> dict[str, Any]:
    """Write this device's shared settings, CA, catalog and clerks into `out` (no secrets).

    `out`'s folder is an export target like any other (`firmware.exports.open_export_dir`): a real folder on a
    mounted removable medium, no symbolic link on the way, not inside the data dir; the file is written by the
    one safe writer inside that opened folder (a link planted at the file's name is refused). InputRejected
    (exit 2) otherwise, with nothing written.
    """
    from firmware.atomicfile import UnsafeTarget
    from firmware.exports import ExportRefused, open_export_dir

    config = load_config(config_path)
    raw = configfile.read_raw(config_path)
    broker = {k: v for k, v in raw.get("broker", {}).items() if k in SHARED_BROKER_KEYS}
    if config.broker.ca_file:
        broker["ca_pem"] = Path(config.broker.ca_file).read_text(encoding="ascii")
    if config.broker.fleet_key_file:  # public: every register applied from the bundle pins the same fleet key
        broker["fleet_key_pem"] = Path(config.broker.fleet_key_file).read_text(encoding="ascii")
    doc: dict[str, Any] = {
        "format": FORMAT, "store": config.device.store,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": {"data_dir": str(config.device.data_dir)},
        "broker": broker, "shop": raw.get("shop", {}), "policy": raw.get("policy", {}),
        "catalog": catalog_store(config.device.data_dir).load(), "clerks": clerk_store(config.device.data_dir).load(),
    }
    if with_hardware:
        doc["hardware"] = raw.get("hardware", {})
    body = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
    try:
        dir_fd = open_export_dir(Path(out).parent, config.device.data_dir)
    except ExportRefused as exc:
        raise InputRejected(f"{exc}; the bundle was not written") from None
    try:
        write_atomic(out, body, dir_fd=dir_fd)  # 0600, inside the checked folder
    except UnsafeTarget as exc:
        raise InputRejected(f"{exc.sentence}; the bundle was not written") from None
    finally:
        os.close(dir_fd)
    return doc


def _pem_blocks(text: str, kind: str) -> list[bytes]:
    begin, end = f"-----BEGIN {kind}-----", f"-----END {kind}-----"
    blocks, rest = [], text
    while begin in rest and end in rest:
        _, _, rest = rest.partition(begin)
        body, _, rest = rest.partition(end)
        blocks.append(f"{begin}{body}{end}\n".encode("ascii"))
    return blocks


def _colons(digest: str) -> str:
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)).upper()


def trust_summary(doc: dict[str, Any]) -> list[str]:
    """What applying `doc` makes this device trust, one line each, with SHA-256 fingerprints to compare by phone.

    CA certificates: SHA-256 of the DER certificate (what `openssl x509 -fingerprint -sha256` prints). Fleet keys
    (a `fleet_key_pem` in the bundle's broker section or top level): SHA-256 of the DER SubjectPublicKeyInfo (what
    `kassa-fleet keygen` prints).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    broker = doc.get("broker") or {}
    lines = [f"store {doc.get('store')}, broker {broker.get('url', '(unchanged)')}"]
    for pem in _pem_blocks(str(broker.get("ca_pem") or ""), "CERTIFICATE"):
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise InputRejected("the bundle's CA (broker.ca_pem) is not a PEM certificate; make a new bundle") from None
        digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        lines.append(f"CA {cert.subject.rfc4514_string()}: SHA-256 {_colons(digest)}")
    if not broker.get("ca_pem"):
        lines.append("CA: none in the bundle (the one this device holds, if any, stays)")
    for key_text in (broker.get("fleet_key_pem"), doc.get("fleet_key_pem")):
        for pem in _pem_blocks(str(key_text or ""), "PUBLIC KEY"):
            try:
                key = serialization.load_pem_public_key(pem)
            except (ValueError, TypeError):
                raise InputRejected("the bundle's fleet key is not a PEM public key; make a new bundle") from None
            der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            lines.append(f"fleet key: SHA-256 {hashlib.sha256(der).hexdigest()}")
    data_dir = (doc.get("device") or {}).get("data_dir")
    if data_dir:
        lines.append(f"data dir {data_dir}")
    return lines


def read_bundle(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such bundle; check the path (USB stick mounted?)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputRejected(
            f"{path}: not a bundle (invalid JSON: {exc}); make one with `kassa-provision bundle export`"
        ) from None
    except RecursionError:
        raise InputRejected(
            f"{path}: not a bundle (JSON nested too deeply); make one with `kassa-provision bundle export`"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputRejected(f"{path}: not a {FORMAT} bundle; make one with `kassa-provision bundle export`")
    _check_shape(doc, path)
    for secret in ("password", "password_file", "key_file", "key_pem", "cert_file"):
        if secret in doc.get("broker", {}):
            raise InputRejected(f"{path}: broker.{secret} does not belong in a bundle (per-device secret); remove it")
    return doc


_TABLES = ("device", "broker", "shop", "policy", "hardware")


def _check_shape(doc: dict[str, Any], path: Path | str = "bundle") -> None:
    """Sections are JSON objects, the store is text, the CA is ASCII PEM text: what the rest relies on."""
    for name in _TABLES:
        if name in doc and not isinstance(doc[name], dict):
            raise InputRejected(
                f"{path}: {name} must be a JSON object; make a new bundle with `kassa-provision bundle export`"
            )
    for name in ("catalog", "clerks"):
        if doc.get(name) is not None and not isinstance(doc[name], dict):
            raise InputRejected(f"{path}: {name} must be a JSON object or null; make a new bundle")
    if doc.get("store") is not None and not isinstance(doc["store"], str):
        raise InputRejected(f'{path}: store must be text such as "S001"')
    for holder in (doc.get("broker") or {}, doc):
        for name in ("ca_pem", "fleet_key_pem"):
            pem = holder.get(name)
            if pem is not None and not (isinstance(pem, str) and pem.isascii()):
                raise InputRejected(f"{path}: {name} must be PEM text (ASCII); make a new bundle")


def target_data_dir(doc: dict[str, Any], config_path: Path, data_dir: Path | None = None) -> Path:
    """The data dir `apply_bundle` will use: --data-dir, else the bundle's, else this device's config's, else the
    default."""
    from firmware.config import DeviceConfig

    chosen = data_dir or (doc.get("device") or {}).get("data_dir") \
        or configfile.read_raw(config_path).get("device", {}).get("data_dir")
    return Path(chosen) if chosen else Path(DeviceConfig.model_fields["data_dir"].default)


def check_version_jumps(doc: dict[str, Any], data_dir: Path, *, force: bool = False) -> None:
    """The acceptance gate's version-jump rule for the bundle's catalog and clerks over what `data_dir` holds
    (the same rule and message as `kassa-provision catalog` and `kassa-fleet publish-*`); InputRejected unless
    `force`. A version not newer than the one held is no error here: that document is kept, as the fleet's is."""
    from firmware.contract.acceptance import VersionJump, check_version_jump

    for kind, store_ in (("catalog", catalog_store(data_dir)), ("clerks", clerk_store(data_dir))):
        payload = doc.get(kind)
        if not payload or not isinstance(payload.get("version"), int):
            continue  # none, or the gate (check_bundle) says why
        try:
            check_version_jump(kind, int(payload["version"]), store_.version, force=force)
        except VersionJump as exc:
            raise InputRejected(f"the bundle's {exc}; nothing was written") from None


def _store_of(doc: dict[str, Any], store: str | None) -> str:
    """The store the bundle is applied for: `--store`, else the bundle's own; InputRejected when neither names one."""
    named = store or doc.get("store")
    if not named or not isinstance(named, str):
        raise InputRejected("the bundle names no store: give --store")
    return named


def check_bundle(
    doc: dict[str, Any], *, store: str | None = None, hardware_urls: dict[str, str | None] | None = None,
    data_dir: Path | None = None, force: bool = False,
) -> dict[str, Any]:
    """Everything `apply_bundle` checks before it writes anything; returns the hardware URLs it will set.

    Raises InputRejected (catalog and clerks problems in one list, each at its entry; with `data_dir`, a version
    jump over what it holds without `force`) or ConfigError (a shared setting out of range, naming its key) - the
    firmware's own checks, so what passes here the register accepts.
    """
    from firmware.config import parse_config
    from provisioning.errors import RowProblem

    _check_shape(doc)
    store = _store_of(doc, store)
    catalog, clerks = doc.get("catalog"), doc.get("clerks")
    problems: list[RowProblem] = []
    for payload, gate in ((catalog, check_catalog_payload), (clerks, check_clerks_payload)):
        if payload:
            try:
                gate(payload)
            except InputRejected as exc:
                problems += exc.problems or [
                    RowProblem("bundle", "catalog" if gate is check_catalog_payload else "clerks", str(exc))
                ]
    shop_currency = (doc.get("shop") or {}).get("currency")
    if catalog and shop_currency and catalog.get("currency", shop_currency) != shop_currency:
        problems.append(
            RowProblem(
                "catalog",
                "currency",
                f"the bundle's catalog is in {catalog.get('currency')} but its shop sells in {shop_currency}",
                catalog.get("currency"),
            )
        )
    if problems:
        first = "; ".join(str(p) for p in problems[:3]) + ("; ..." if len(problems) > 3 else "")
        raise InputRejected(
            f"the bundle's catalog or clerks are not valid ({len(problems)} problem(s): {first}); "
            "nothing was written; fix them on the first register and export again",
            problems,
        )
    if data_dir is not None:
        check_version_jumps(doc, data_dir, force=force)
    hw = {k: v for k, v in {**doc.get("hardware", {}), **(hardware_urls or {})}.items() if v is not None}
    hardware.validate_urls({k: str(v) for k, v in hw.items() if k in ("scanner", "printer", "drawer", "led")})
    shared = {k: v for k, v in (doc.get("broker") or {}).items() if k in SHARED_BROKER_KEYS}
    parse_config(
        {
            "device": {"store": store if isinstance(store, str) else "", "register": "R1"},
            "broker": shared,
            "shop": dict(doc.get("shop") or {}),
            "policy": dict(doc.get("policy") or {}),
            "hardware": hw,
        },
        "the bundle",
    )
    return hw


def apply_bundle(
    doc: dict[str, Any],
    config_path: Path,
    *,
    register: str,
    store: str | None = None,
    username: str | None = None,
    password: str | None = None,
    tls_client_key: bool = False,
    data_dir: Path | None = None,
    hardware_urls: dict[str, str | None] | None = None,
    service_user: str = "kassa",
    force: bool = False,
) -> Applied:
    """Provision this device from a bundle plus per-device overrides; all is checked before anything is written.

    `force`: replace catalog/clerks even when this device holds newer ones, or when the bundle's version is more
    than MAX_VERSION_JUMP above them."""
    hw = check_bundle(doc, store=store, hardware_urls=hardware_urls,
                      data_dir=target_data_dir(doc, config_path, data_dir), force=force)
    store = _store_of(doc, store)
    shared = doc.get("broker", {})
    catalog, clerks = doc.get("catalog"), doc.get("clerks")
    bundle_dir = (doc.get("device") or {}).get("data_dir")
    with tempfile.TemporaryDirectory(prefix="kassa-bundle-") as tmp:
        ca_file = None
        if shared.get("ca_pem"):
            ca_file = Path(tmp) / "ca.pem"
            write_atomic(ca_file, shared["ca_pem"].encode("ascii"))
        fleet_key = None
        key_pem = "".join(str(k) for k in (shared.get("fleet_key_pem"), doc.get("fleet_key_pem")) if k)  # as shown
        if key_pem:  # pinned on this register: from now on it accepts only documents the fleet signed
            fleet_key = Path(tmp) / "fleet-key.pem"
            write_atomic(fleet_key, str(key_pem).encode("ascii"))
        answers = InitAnswers(
            store=store,
            register=register,
            broker_url=shared.get("url"),
            username=username if username is not None else f"{store}-{register}",
            password=password,
            tls_client_key=tls_client_key,
            ca_file=ca_file,
            fleet_key=fleet_key,
            data_dir=data_dir or (Path(bundle_dir) if bundle_dir else None),
            shop=dict(doc.get("shop", {})),
            service_user=service_user,
            extra={
                "broker": {k: v for k, v in shared.items() if k in SHARED_BROKER_KEYS and k != "url"},
                "policy": dict(doc.get("policy", {})),
                "hardware": hw,
            },
        )
        result = init_device(config_path, answers)
    config = result.config
    imported = []
    for kind, payload, store_ in (
        ("catalog", catalog, catalog_store(config.device.data_dir)),
        ("clerks", clerks, clerk_store(config.device.data_dir)),
    ):
        if payload:
            applied = store_.apply(payload, force=force)
            count = len(payload.get("items") or payload.get("clerks") or [])
            imported.append(Imported(kind, int(payload["version"]), count, applied))
    return Applied(result, imported)
