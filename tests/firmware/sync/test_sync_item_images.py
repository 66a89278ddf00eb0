"""Item pictures end to end (docs/item-images.md): `kassa-fleet publish-catalog` and `publish-images` into a real
Mosquitto under the documented ACL; a real SyncService logged in as the register keeps the pictures its catalog
names in a real image cache, drops what does not match, and a picture published before its catalog arrives too."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.clock import SystemClock
from firmware.image_cache import ImageCache
from firmware.stores import catalog_store
from firmware.sync import SyncService
from tests.contract.kassa_samples import CATALOG
from tests.firmware.sync.kassa_sync_support import device_config, open_journal, wait_for
from tests.support.broker_acl import password
from tests.support.pictures import picture, ref_doc, sha

pytestmark = pytest.mark.slow  # a real Mosquitto and kassa-fleet processes

ROOT = Path(__file__).resolve().parents[3]
BASE = {**CATALOG, "tax_rates": {"A": "19.00", "B": "7.00"}}


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KASSA_FLEET_SIGNING_KEY"}
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)


def secret(tmp_path: Path, user: str) -> Path:
    path = tmp_path / f"{user}.pass"
    path.write_text(password(user) + "\n")
    path.chmod(0o600)
    return path


def catalog_naming(version: int, pictures: dict[int, bytes]) -> dict:
    """The sample catalog, item i naming pictures[i]."""
    items = [dict(item, image=ref_doc(pictures[i])) if i in pictures else dict(item)
             for i, item in enumerate(BASE["items"])]
    return {**BASE, "version": version, "items": items}


@pytest.fixture
def device(secured, tmp_path):
    config = device_config(secured.url, tmp_path / "dev", username="S001-R1",
                           password_file=str(secret(tmp_path, "S001-R1")))
    journal = open_journal(tmp_path / "dev")
    cache = ImageCache(tmp_path / "dev" / "images", 64 * 1024)
    service = SyncService(config, journal, SystemClock(), queue.Queue(), images=cache)
    service.start()
    wait_for(lambda: service.state().online, 10, "online")
    yield service, cache
    service.stop()
    journal.close()


def publish(secured, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return fleet(*args, "--store", "S001", "--broker", secured.url, "--username", "fleet-publish",
                 "--password-file", str(secret(tmp_path, "fleet-publish")))


def test_the_pictures_a_catalog_names_reach_the_registers_cache(secured, device, tmp_path):
    service, cache = device
    folder = tmp_path / "pictures"
    folder.mkdir()
    pencil, pen, late = picture(40, 40, seed=1), picture(30, 30, seed=2, kind="jpeg"), picture(20, 20, seed=3)
    (folder / "pencil.png").write_bytes(pencil)
    (folder / "pen.jpg").write_bytes(pen)
    (folder / "unrelated.png").write_bytes(picture(10, 10, seed=9))
    ref = fleet("image-ref", str(folder / "pen.jpg"))
    assert ref.returncode == 0 and json.loads(ref.stdout) == ref_doc(pen, "image/jpeg")

    # a picture published before any catalog names it: dropped now, kept once the catalog comes
    (folder / "late.png").write_bytes(late)
    v4 = tmp_path / "catalog-v4.json"
    v4.write_text(json.dumps(catalog_naming(4, {0: pencil, 1: late})))
    early = publish(secured, tmp_path, "publish-images", str(v4), "--dir", str(folder))
    assert early.returncode == 0, early.stderr
    assert "published 2 item pictures" in early.stdout

    v3 = tmp_path / "catalog-v3.json"
    doc3 = catalog_naming(3, {0: pencil})
    doc3["items"][1]["image"] = ref_doc(pen, "image/jpeg")
    v3.write_text(json.dumps(doc3))
    done = publish(secured, tmp_path, "publish-catalog", str(v3), "--unsigned")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: catalog_store(tmp_path / "dev").version == 3, 10, "catalog v3 applied")
    # the catalog came after the pictures: sync subscribed again and the broker sent the retained ones anew
    wait_for(lambda: sha(pencil) in cache, 10, "the pencil's picture, sent again after the catalog")
    assert sha(late) not in cache  # v3 does not name it
    images = publish(secured, tmp_path, "publish-images", str(v3), "--dir", str(folder))
    assert images.returncode == 0, images.stderr
    wait_for(lambda: sha(pen) in cache, 10, "the pen's picture")
    assert cache.read(sha(pen)) == pen and cache.read(sha(pencil)) == pencil

    # a picture at a named hash with other bytes (anyone may hold the topic's name) is dropped
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-forger", protocol=mqtt.MQTTv5)
    publisher.username_pw_set("fleet-publish", password("fleet-publish"))
    publisher.connect("127.0.0.1", secured.port)
    publisher.loop_start()
    try:
        rejected = service.state().downlink_rejected
        info = publisher.publish(service.topics.image(sha(pen)), picture(30, 30, seed=4), qos=1, retain=True)
        info.wait_for_publish(5)
        wait_for(lambda: service.state().downlink_rejected == rejected + 1, 10, "the forged picture refused")
        assert cache.read(sha(pen)) == pen  # what it held stays
    finally:
        publisher.disconnect()
        publisher.loop_stop()

    # v4 names the late picture (published before any catalog named it): kept now
    done = publish(secured, tmp_path, "publish-catalog", str(v4), "--unsigned")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: catalog_store(tmp_path / "dev").version == 4, 10, "catalog v4 applied")
    again = publish(secured, tmp_path, "publish-images", str(v4), "--dir", str(folder))
    assert again.returncode == 0, again.stderr
    wait_for(lambda: sha(late) in cache, 10, "the late picture")
    assert sha(pen) not in cache  # v4 no longer names it: dropped
    assert cache.held <= cache.limit and cache.read(sha(late)) == late


def test_publish_images_says_what_is_missing_or_does_not_match(secured, tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    pencil = picture(40, 40, seed=1)
    (folder / "pencil.png").write_bytes(pencil)
    doc = catalog_naming(3, {0: pencil, 1: picture(12, 12, seed=5)})
    doc["items"].append({"sku": "EXTRA", "name": "Extra", "price": 100, "tax_code": "A",
                         "image": dict(ref_doc(picture(41, 41, seed=1)), type="image/jpeg")})
    (folder / "extra.png").write_bytes(picture(41, 41, seed=1))  # a PNG: the catalog is wrong about its type
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(doc))
    done = publish(secured, tmp_path, "publish-images", str(path), "--dir", str(folder))
    assert done.returncode == 1
    assert "published 1 item pictures" in done.stdout
    assert "missing from" in done.stderr and "not published: extra.png" in done.stderr
    device = fleet("publish-images", str(path), "--dir", str(folder), "--store", "S001", "--broker", secured.url,
                   "--username", "S001-R1", "--password-file", str(secret(tmp_path, "S001-R1")))
    assert device.returncode != 0 and "refused" in device.stderr  # a register may not write pictures (ACL)
