"""Item pictures to the broker (`kassa-fleet publish-images`, docs/item-images.md).

The catalog names each picture by hash, size and type; the pictures are files in a folder (any names). Each
file is hashed; every picture the catalog names is published retained, QoS 1, on
`kassa/v1/{store}/images/{sha256}`. A picture the catalog names but the folder lacks, or whose size or type
differs from what the catalog says, is reported and not published (devices would drop it anyway).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.contract.images import ItemImage, image_topic, picture_size
from fleet.broker import BrokerSettings, connect, default_client_id, make_client
from fleet.errors import FleetError, FleetUsageError

__all__ = ["Plan", "plan_pictures", "publish_pictures", "picture_ref"]

MAX_SIDE = ItemImage.MAX_SIDE  # px a side, as a device takes them


@dataclass
class Plan:
    """What to publish: (sha256, file) per picture the catalog names and the folder holds as named."""

    publish: list[tuple[str, Path]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "sku: sha256..." the folder lacks
    wrong: list[str] = field(default_factory=list)  # a sentence per picture the folder holds otherwise


def picture_ref(path: Path) -> dict[str, Any]:
    """The catalog item's `image` field for a picture file (FleetUsageError when it cannot be one)."""
    data = _read(path)
    found = picture_size(data)
    if found is None:
        raise FleetUsageError(f"{path}: not a PNG or JPEG")
    if len(data) > ItemImage.MAX_BYTES or not (0 < found[1] <= MAX_SIDE and 0 < found[2] <= MAX_SIDE):
        raise FleetUsageError(f"{path}: {len(data):,} bytes, {found[1]}x{found[2]} px; a picture may have at most "
                              f"{ItemImage.MAX_BYTES:,} bytes and {MAX_SIDE} px a side")
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "type": found[0]}


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise FleetUsageError(f"{path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise FleetUsageError(f"{path}: not a regular file")
        return f.read(ItemImage.MAX_BYTES + 1)


def _folder(directory: Path) -> dict[str, tuple[Path, bytes]]:
    """sha256 -> (file, bytes) of every regular file in `directory` small enough to be a picture."""
    if not directory.is_dir():
        raise FleetUsageError(f"--dir {directory}: no such folder")
    found: dict[str, tuple[Path, bytes]] = {}
    for path in sorted(directory.iterdir()):
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size > ItemImage.MAX_BYTES or st.st_size == 0:
            continue
        data = _read(path)
        found.setdefault(hashlib.sha256(data).hexdigest(), (path, data))
    return found


def plan_pictures(catalog: Mapping[str, Any], directory: Path) -> Plan:
    """Match the catalog's pictures to the folder's files by hash; check size and type as a device would."""
    wanted: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for item in catalog.get("items") or ():
        ref = item.get("image") if isinstance(item, Mapping) else None
        if isinstance(ref, Mapping) and isinstance(ref.get("sha256"), str):
            wanted.setdefault(ref["sha256"], (str(item.get("sku")), ref))
    files = _folder(directory)
    plan = Plan()
    for sha, (sku, ref) in wanted.items():
        held = files.get(sha)
        if held is None:
            plan.missing.append(f"{sku}: {sha[:12]}...")
            continue
        path, data = held
        found = picture_size(data)
        if len(data) != ref.get("bytes") or found is None or found[0] != ref.get("type") or not (
                0 < found[1] <= MAX_SIDE and 0 < found[2] <= MAX_SIDE):
            plan.wrong.append(f"{path.name} (item {sku}): the catalog says {ref.get('bytes')} bytes of "
                              f"{ref.get('type')}; the file is {len(data)} bytes"
                              f"{f' of {found[0]}, {found[1]}x{found[2]} px' if found else ', not a PNG or JPEG'}")
            continue
        plan.publish.append((sha, path))
    return plan


def publish_pictures(settings: BrokerSettings, *, prefix: str, store: str, pictures: Iterable[tuple[str, bytes]],
                     timeout: float = 10.0) -> int:
    """Publish each (sha256, bytes) retained at QoS 1 on the store's picture topic; wait for every PUBACK.
    Returns how many were published; FleetError when the broker refuses one (check its ACL)."""
    done = threading.Event()
    connected = threading.Event()
    state: dict[str, Any] = {"reason": None, "acked": {}, "waiting": 0}
    lock = threading.Lock()
    client = make_client(settings, default_client_id("publish-images"))

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        state["reason"] = reason
        connected.set()

    def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with lock:
            state["acked"][mid] = reason
            if len(state["acked"]) >= state["waiting"]:
                done.set()

    client.on_connect = on_connect
    client.on_publish = on_publish
    connect(client, settings)
    client.loop_start()
    topics: dict[int, str] = {}
    try:
        if not connected.wait(timeout) or state["reason"].is_failure:
            raise FleetError(f"the broker at {settings.url} did not accept the connection ({state['reason']})")
        items = list(pictures)
        with lock:
            state["waiting"] = len(items)
        for sha, data in items:
            topic = image_topic(store, sha, prefix)
            info = client.publish(topic, data, qos=1, retain=True)
            topics[info.mid] = topic
        if items and not done.wait(timeout + len(items) * 0.05):
            raise FleetError(f"no PUBACK from the broker for {len(items) - len(state['acked'])} pictures within "
                             f"{timeout:.0f}s")
        refused = [topics.get(mid, str(mid)) for mid, reason in state["acked"].items() if reason.is_failure]
        if refused:
            raise FleetError(f"the broker refused {len(refused)} pictures (e.g. {refused[0]}); check its ACL for "
                             "this user")
        return len(items)
    finally:
        client.disconnect()
        client.loop_stop()
