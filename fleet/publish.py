"""Publishing the store's catalog and clerk roster: the register's own gate first, signed, retained, never older.

Before anything is sent the document passes the same acceptance gate a register applies
(firmware.contract.acceptance: contract model, version below 2**53, a non-empty catalog carrying `tax_rates`
for every item's tax code, the firmware's exact scrypt parameters, the domain's checks), so bad data is refused
here, with the reason, and nothing is published. Then it is signed (firmware.contract.signing) unless the
operator chose `--unsigned` for a lab whose registers pin no key.

Versions: a version not above the retained one, or more than MAX_VERSION_JUMP above it, needs `--force`. The
current version is the retained copy's when it can be read, else the last one published from this machine
(recorded in a small state file, `--state-file`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.contract import CatalogMessage, Clerks, DeviceTopics, PayloadRejected, decode
from firmware.contract.acceptance import VersionJump, check_document, check_version_jump
from firmware.contract.accounts import AccountsSnapshot
from firmware.contract.atomicfile import make_dirs, write_atomic
from firmware.contract.customers import CustomerList
from firmware.contract.mqtt import SubscribeOptions
from firmware.contract.signing import Signer, open_unverified
from firmware.contract.stock import StockSnapshot
from fleet.broker import BrokerSettings, connect, default_client_id, make_client
from fleet.errors import FleetError, FleetUsageError


def read_document(path: Path, kind: str) -> tuple[bytes, int]:
    """The file's bytes (compact JSON) and version, through the register's acceptance gate; FleetUsageError if bad."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FleetUsageError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        compact = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (ValueError, RecursionError) as exc:
        raise FleetUsageError(f"{path}: not a valid {kind} (not JSON: {str(exc)[:200]}); fix the file and "
                              "publish again") from None
    try:
        payload, _built = check_document(kind, compact)
    except PayloadRejected as exc:
        raise FleetUsageError(f"{path}: not a valid {kind} ({exc}); fix the file and publish again; "
                              "nothing was published") from None
    return compact, int(payload["version"])


def default_state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kassa-fleet" / "published.json"


def _record_key(broker: BrokerSettings, topic: str) -> str:
    return f"{broker.url} {topic}"


def recorded_version(state_file: Path | None, broker: BrokerSettings, topic: str) -> int | None:
    """The version last published to `topic` from this machine, or None."""
    if state_file is None:
        return None
    try:
        value = json.loads(Path(state_file).read_text(encoding="utf-8")).get(_record_key(broker, topic))
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_version(state_file: Path, broker: BrokerSettings, topic: str, version: int) -> None:
    """Remember the published version (best effort: OSError is the caller's to report)."""
    state_file = Path(state_file)
    try:
        doc = json.loads(state_file.read_text(encoding="utf-8"))
        doc = doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        doc = {}
    doc[_record_key(broker, topic)] = version
    make_dirs(state_file.parent, 0o700, 0o700)
    # the one safe writer: never through a link planted at the temp name or at the state file (UnsafeTarget)
    write_atomic(state_file, json.dumps(doc, indent=1, sort_keys=True).encode("utf-8"), 0o600)


class _Session:
    def __init__(self) -> None:
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.published = threading.Event()
        self.connect_reason: Any = None
        self.publish_reason: Any = None
        self.retained: bytes | None = None


def topic_for(prefix: str, store: str, kind: str) -> str:
    return str(getattr(DeviceTopics(store, "-", prefix), kind))


_MODELS: dict[str, Any] = {"catalog": CatalogMessage, "clerks": Clerks, "accounts": AccountsSnapshot,
                           "stock_snapshot": StockSnapshot, "customer_list": CustomerList}


def publish_document(broker: BrokerSettings, *, prefix: str, store: str, kind: str, payload: bytes, version: int,
                     force: bool = False, signer: Signer | None = None, recorded: int | None = None,
                     timeout: float = 10.0,
                     build: Callable[[int | None], tuple[bytes, int]] | None = None) -> int | None:
    """Publish retained at QoS 1 (signed by `signer` when given) and wait for a successful PUBACK; return the
    version it replaced (or None). `recorded`: the version last published from here, used when no retained
    copy can be read. `build`: made once the retained version is known (given it, or None), returns the
    payload and version to publish instead of `payload`/`version` (the accounts snapshot numbers itself)."""
    topic = topic_for(prefix, store, kind)
    s = _Session()
    client = make_client(broker, default_client_id(f"publish-{kind}"))

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        s.connect_reason = reason
        s.connected.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *_a: s.subscribed.set()
    client.on_message = lambda _c, _u, msg: setattr(s, "retained", msg.payload) if msg.retain else None

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
        s.publish_reason = reason
        s.published.set()

    client.on_publish = on_publish
    connect(client, broker)
    client.loop_start()
    try:
        if not s.connected.wait(timeout) or s.connect_reason.is_failure:
            raise FleetError(f"the broker at {broker.url} did not accept the connection ({s.connect_reason})")
        client.subscribe(topic, options=SubscribeOptions(qos=1))
        s.subscribed.wait(timeout)
        time.sleep(0.3)  # a retained message follows the SUBACK
        previous = None
        if s.retained:
            try:
                held = decode(_MODELS[kind], open_unverified(s.retained))
                previous = int(held.version)  # type: ignore[attr-defined]
            except PayloadRejected:
                previous = None
        if build is not None:
            payload, version = build(previous if previous is not None else recorded)
        if previous is not None and version <= previous and not force:
            raise FleetUsageError(f"{kind} version {version} is not newer than version {previous} on {topic}; "
                                  "devices would ignore it. Raise `version` (or pass --force)")
        try:
            check_version_jump(kind, version, previous if previous is not None else recorded, force=force)
        except VersionJump as exc:
            raise FleetUsageError(f"{exc}; nothing was published") from None
        client.publish(topic, signer.wrap(topic, payload) if signer else payload, qos=1, retain=True)
        if not s.published.wait(timeout):
            raise FleetError(f"no PUBACK from the broker for {topic} within {timeout:.0f}s")
        if s.publish_reason.is_failure:
            raise FleetError(f"the broker refused {topic}: {s.publish_reason} (check its ACL for this user)")
        return previous
    finally:
        client.disconnect()
        client.loop_stop()
