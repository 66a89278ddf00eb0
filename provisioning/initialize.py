"""`init`: identity, broker credentials (password file or on-device TLS key + CSR), data dir and shop settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from firmware.atomicfile import make_dirs, write_atomic
from firmware.config import Config, is_valid_id, parse_config
from provisioning import configfile, tlskeys
from provisioning.errors import InputRejected
from provisioning.secretfiles import SERVICE_USER, claim_data_dir, hand_over_secrets, write_secret

__all__ = ["InitAnswers", "InitResult", "init_device", "install_certificate"]


@dataclass
class InitAnswers:
    """What the technician chose; None leaves the current value (or the firmware default) in place."""

    store: str
    register: str
    broker_url: str | None = None
    username: str | None = None
    password: str | None = None
    tls_client_key: bool = False
    new_key: bool = False
    ca_file: Path | None = None
    fleet_key: Path | None = None  # the fleet's public signing key (PEM) to pin; see firmware.contract.signing
    data_dir: Path | None = None
    shop: dict[str, object] = field(default_factory=dict)
    service_user: str = SERVICE_USER
    extra: dict[str, dict[str, object]] = field(default_factory=dict)  # more settings, e.g. from a bundle


@dataclass
class InitResult:
    config: Config
    path: Path
    written: list[Path]
    csr_pem: bytes | None
    csr_path: Path | None
    warnings: list[str]
    fleet_key_fingerprints: list[str] = field(default_factory=list)


def _check_identity(a: InitAnswers) -> None:
    for name, value in (("store", a.store), ("register", a.register)):
        if not is_valid_id(value):
            raise InputRejected(f"--{name} {value!r}: use 1-32 letters, digits, '-' or '_' (e.g. S001, R1)")
    if a.broker_url is not None:
        parts = urlsplit(a.broker_url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise InputRejected(f"--broker {a.broker_url!r}: use mqtt://host:1883 or mqtts://host:8883")


def init_device(path: Path, a: InitAnswers) -> InitResult:
    """Validate the whole new config first; then write secrets, CA copy, key/CSR, and the config last."""
    _check_identity(a)
    path = Path(path)
    base = configfile.read_raw(path)
    held = base.get("broker", {})
    secrets = configfile.secrets_dir(path)
    broker: dict[str, object] = {}
    if a.broker_url is not None:
        broker["url"] = a.broker_url
    if a.username is not None:
        broker["username"] = a.username or None
    url = str(broker.get("url") or held.get("url") or "mqtt://127.0.0.1:1883")
    username = (a.username or None) if a.username is not None else held.get("username")
    ca_target = path.parent / "ca.pem"
    key_path, csr_path, pass_path = secrets / "device.key", path.parent / "device.csr", secrets / "broker.pass"

    if a.ca_file is not None:
        tlskeys.load_ca(a.ca_file)
        broker["ca_file"] = ca_target
    fleet_key_target = path.parent / "fleet-key.pem"
    fleet_key_pem, fingerprints = _fleet_key(a.fleet_key)
    if fleet_key_pem is not None:
        broker["fleet_key_file"] = fleet_key_target
    if a.tls_client_key:
        if urlsplit(url).scheme != "mqtts":
            raise InputRejected("--tls-client-key needs a TLS broker: give --broker mqtts://host:8883")
        broker["key_file"] = key_path
        broker["cert_file"] = path.parent / "device.pem"
    if a.password is not None:
        if not a.password:
            raise InputRejected("the broker password is empty; give --password, or leave out --username")
        broker["password_file"] = pass_path
    elif username and not a.tls_client_key and not held.get("password_file") and not held.get("key_file"):
        raise InputRejected(f"broker user {username!r} has no password; give --password (or --tls-client-key)")

    device: dict[str, object] = {"store": a.store, "register": a.register}
    if a.data_dir is not None:
        device["data_dir"] = a.data_dir
    updates = {section: dict(values) for section, values in a.extra.items()}
    for section, values in (("device", device), ("broker", broker), ("shop", dict(a.shop))):
        updates.setdefault(section, {}).update(values)
    doc = configfile.merge(base, updates)
    config = parse_config(doc, str(path))  # refuse before anything is written

    written: list[Path] = []
    warnings: list[str] = []
    make_dirs(path.parent, 0o755, 0o755)  # the service user reads the config (never the secrets) from here
    if a.ca_file is not None and Path(a.ca_file).resolve() != ca_target.resolve():
        write_atomic(ca_target, Path(a.ca_file).read_bytes(), mode=0o644)
        written.append(ca_target)
    if fleet_key_pem is not None:
        write_atomic(fleet_key_target, fleet_key_pem, mode=0o644)
        written.append(fleet_key_target)
    csr_pem: bytes | None = None
    if a.tls_client_key:
        if key_path.exists() and csr_path.exists() and not a.new_key:
            csr_pem = csr_path.read_bytes()  # keep the key the fleet CA may already have signed
        else:
            key_pem, csr_pem = tlskeys.new_key_and_csr(username or f"{a.store}-{a.register}", a.store)
            _note(write_secret(key_path, key_pem, a.service_user), warnings)
            write_atomic(csr_path, csr_pem, mode=0o644)
            written += [key_path, csr_path]
    if a.password is not None:
        _note(write_secret(pass_path, a.password.encode("utf-8") + b"\n", a.service_user), warnings)
        written.append(pass_path)
    for warning in hand_over_secrets(secrets, [pass_path, key_path], a.service_user):  # an older init left it root-only
        _note(warning, warnings)
    _note(claim_data_dir(config.device.data_dir, a.service_user), warnings)
    config = configfile.write_config(path, doc)
    written.append(path)
    return InitResult(config, path, written, csr_pem, csr_path if a.tls_client_key else None, warnings,
                      fingerprints)


def _fleet_key(source: Path | None) -> tuple[bytes | None, list[str]]:
    """The fleet key file's bytes and fingerprints, checked (Ed25519 PEM public keys); InputRejected otherwise."""
    from firmware.contract.signing import fingerprint, load_public_keys

    if source is None:
        return None, []
    try:
        pem = Path(source).read_bytes()
    except OSError as exc:
        raise InputRejected(f"--fleet-key {source}: cannot read ({exc.strerror})") from None
    if b"PRIVATE KEY" in pem:
        raise InputRejected(f"--fleet-key {source} holds a private key; give only the public key "
                            "(fleet-signing.pub.pem) and keep the private one off the register")
    try:
        keys = load_public_keys(pem)
    except ValueError as exc:
        raise InputRejected(f"--fleet-key {source}: {exc}") from None
    return pem, [fingerprint(k) for k in keys]


def install_certificate(path: Path, cert_pem: bytes) -> Path:
    """Store the fleet-signed device certificate after checking it matches the device key and the CA."""
    from firmware.config import load_config

    config = load_config(path)
    if config.broker.key_file is None or config.broker.cert_file is None:
        raise InputRejected("this device has no TLS client key; run `kassa-provision init --tls-client-key` first")
    tlskeys.check_certificate(cert_pem, config.broker.key_file, config.broker.ca_file)
    write_atomic(config.broker.cert_file, cert_pem, mode=0o644)
    return config.broker.cert_file


def _note(warning: str | None, warnings: list[str]) -> None:
    if warning and warning not in warnings:
        warnings.append(warning)
