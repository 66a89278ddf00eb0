"""`status`: identity, versions, online state, pending and quarantined receipts, last sync, disk and journal space."""

from __future__ import annotations

import platform
import shutil
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography import x509

import firmware
from firmware.clock import parse_iso_utc
from firmware.config import Config
from firmware.errors import JournalError
from firmware.stores import catalog_store, clerk_store
from provisioning.journal_access import journal_exists, open_journal, service_active

__all__ = ["gather_status", "age"]


def age(iso: str | None, now: datetime) -> str:
    """'3 h 12 min ago' style age of an ISO timestamp, or '-'."""
    if not iso:
        return "-"
    try:
        seconds = int((now - parse_iso_utc(iso)).total_seconds())
    except (ValueError, TypeError):
        return iso
    if seconds < 0:
        return f"{iso} (in the future: check the clock)"
    d, rest = divmod(seconds, 86400)
    h, m = rest // 3600, rest % 3600 // 60
    if d:
        return f"{d} d {h} h ago"
    if h:
        return f"{h} h {m} min ago"
    return f"{m} min ago" if m else "just now"


def _version() -> str:
    try:
        return metadata.version("kassa")
    except metadata.PackageNotFoundError:
        return firmware.__version__


def _cert(config: Config, now: datetime) -> str:
    b = config.broker
    if b.key_file is None:
        return "password" if b.password_file else "none"
    if not b.cert_file or not Path(b.cert_file).exists():
        return "certificate requested, not installed (install-cert)"
    try:
        cert = x509.load_pem_x509_certificate(Path(b.cert_file).read_bytes())
    except (OSError, ValueError):
        return f"certificate unreadable: {b.cert_file}"
    days = (cert.not_valid_after_utc - now).days
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    name = cn[0].value if cn else "?"
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return f"certificate CN={name}, expires in {days} days"


def gather_status(
    config: Config, config_path: Path, *, probe: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """Everything `status` shows, as plain data (no secrets: never passwords, keys or PINs)."""
    now = now or datetime.now(UTC)
    data_dir = Path(config.device.data_dir)
    out: dict[str, Any] = {
        "store": config.device.store,
        "register": config.device.register,
        "client_id": config.client_id,
        "config": str(config_path),
        "data_dir": str(data_dir),
        "kassa_version": _version(),
        "python": platform.python_version(),
        "catalog_version": catalog_store(data_dir).version,
        "clerks_version": clerk_store(data_dir).version,
        "broker": config.broker.url,
        "broker_user": config.broker.username or "-",
        "broker_auth": _cert(config, now),
        "service": "active" if service_active() else "not running",
    }
    try:
        usage = shutil.disk_usage(data_dir)
        out["free_disk_mib"] = usage.free // 2**20
    except OSError:
        out["free_disk_mib"] = None
    if journal_exists(config):
        try:
            with open_journal(config) as journal:
                s = journal.summary()
                health = journal.health()
                out.update(
                    journal_epoch=journal.epoch,
                    receipts=health["receipts"],
                    pending=s.pending,
                    delivered_unconfirmed=s.delivered,
                    confirmed=s.confirmed,
                    quarantined=s.quarantined,
                    oldest_pending=age(s.oldest_pending_at, now),
                    last_sync=age(s.last_delivered_at, now),
                    last_confirmed=age(s.last_confirmed_at, now),
                    receipts_per_day=health["receipts_per_day"],
                    journal_days_left=health["days_left"],
                )
        except JournalError as exc:
            out["journal_error"] = str(exc)
    else:
        out["receipts"] = 0
    if probe:
        from provisioning.broker_check import check_broker

        retained: dict[str, Any] = {}
        checks = check_broker(config, timeout=5, ack_timeout=2, publish=False, status_out=retained)
        out["broker_reachable"] = "yes" if checks[0].ok else f"no: {checks[0].detail}"
        out["online"] = retained.get("state", "unknown (no retained status readable)")
        if retained.get("at"):
            out["online"] += f" since {retained['at']}"
    else:
        out["online"] = "unknown (--no-probe)"
    return out
