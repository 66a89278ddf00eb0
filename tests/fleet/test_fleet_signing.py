"""`kassa-fleet keygen`, signed `publish-*` and signed resend commands, as real CLI processes against a real broker.

Bad documents are refused by the register's own acceptance gate before anything is published: a subscriber on the
topic sees nothing. What is published signed is applied by a real register SyncService that pins the key.
"""

from __future__ import annotations

import json
import os
import queue
import stat
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.clock import SystemClock
from firmware.contract.signing import Verifier, fingerprint, load_public_keys
from firmware.stores import catalog_store, clerk_store
from firmware.sync import SyncService
from tests.contract.kassa_samples import CATALOG as SAMPLE_CATALOG, CLERKS, make_chain
from tests.firmware.sync.kassa_sync_support import device_config, open_journal, wait_for
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, IngestProcess

pytestmark = pytest.mark.slow  # real brokers and kassa-fleet processes

CATALOG = {**SAMPLE_CATALOG, "tax_rates": {"A": "19.00", "B": "7.00"}}


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KASSA_FLEET_SIGNING_KEY"}
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)


class Watch:
    """Everything that arrives on some topics (retained or live) while the test runs."""

    def __init__(self, url: str, *topics: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.got: list[tuple[str, bytes]] = []
        ready = threading.Event()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.c.on_connect = lambda cl, *_a: cl.subscribe([(t, 1) for t in topics])
        self.c.on_subscribe = lambda *_a: ready.set()
        self.c.on_message = lambda _c, _u, m: self.got.append((m.topic, bytes(m.payload)))
        self.c.connect(host, int(port))
        self.c.loop_start()
        assert ready.wait(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def keys(tmp_path):
    out = tmp_path / "keys"
    made = fleet("keygen", "--out", str(out))
    assert made.returncode == 0, made.stderr
    return out / "fleet-signing.key", out / "fleet-signing.pub.pem", made.stdout


def test_keygen_makes_a_0600_private_key_and_prints_the_public_fingerprint(keys, tmp_path):
    private, public, stdout = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    [key] = load_public_keys(public.read_bytes())
    assert f"SHA256:{fingerprint(key)}" in stdout
    again = fleet("keygen", "--out", str(private.parent))
    assert again.returncode == 2 and "already holds" in again.stderr
    assert load_public_keys(public.read_bytes())[0] == key  # not replaced


def test_publish_needs_a_key_or_an_explicit_unsigned(mosquitto, keys, tmp_path):
    private, _public, _ = keys
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    common = ("--store", "S001", "--broker", mosquitto.url, "--state-file", str(tmp_path / "state.json"))
    neither = fleet("publish-catalog", str(path), *common)
    assert neither.returncode == 2 and "--signing-key" in neither.stderr and "--unsigned" in neither.stderr
    private.chmod(0o644)
    loose = fleet("publish-catalog", str(path), *common, "--signing-key", str(private))
    assert loose.returncode == 2 and "chmod 600" in loose.stderr
    private.chmod(0o600)
    both = fleet("publish-catalog", str(path), *common, "--signing-key", str(private), "--unsigned")
    assert both.returncode == 2 and "not both" in both.stderr


def test_bad_documents_are_refused_before_publishing_and_signed_ones_reach_a_pinned_register(mosquitto, keys,
                                                                                              tmp_path):
    private, public, _ = keys
    data = tmp_path / "dev"
    journal = open_journal(data)
    service = SyncService(device_config(mosquitto.url, data, fleet_key_file=str(public)), journal, SystemClock(),
                          queue.Queue())
    service.start()
    watch = Watch(mosquitto.url, service.topics.catalog, service.topics.clerks)
    common = ("--store", "S001", "--broker", mosquitto.url, "--signing-key", str(private),
              "--state-file", str(tmp_path / "state.json"))
    try:
        wait_for(lambda: service.state().online, 10, "online")
        path = tmp_path / "doc.json"
        no_rate = {**CATALOG, "tax_rates": {"A": "19.00"}}
        no_rates = {k: v for k, v in CATALOG.items() if k != "tax_rates"}
        weak = {**CLERKS, "clerks": [{**c, "pin_hash": c["pin_hash"].replace("$16384$", "$2$", 1)}
                                     for c in CLERKS["clerks"]]}
        cases = [
            ("publish-catalog", no_rate, "tax code(s) B have no rate"),
            ("publish-catalog", no_rates, "must carry tax_rates"),
            ("publish-catalog", {**CATALOG, "items": [], "quick_keys": []}, "no items"),
            ("publish-catalog", {**CATALOG, "version": 2**53}, "from 1 to 2**53-1"),
            ("publish-catalog", {**CATALOG, "version": 10**4000}, "from 1 to 2**53-1"),
            ("publish-clerks", {**CLERKS, "version": 2**53}, "from 1 to 2**53-1"),
            ("publish-clerks", {**CLERKS, "version": 10**4000}, "from 1 to 2**53-1"),
            ("publish-clerks", weak, "n=2"),
        ]
        for command, doc, words in cases:
            path.write_text(json.dumps(doc))
            out = fleet(command, str(path), *common)
            assert out.returncode == 2, (words, out.stdout, out.stderr)
            assert words in out.stderr and "nothing was published" in out.stderr and "Traceback" not in out.stderr
        time.sleep(0.5)
        assert watch.got == []  # not one byte reached the broker

        path.write_text(json.dumps(CATALOG))
        ok = fleet("publish-catalog", str(path), *common)
        assert ok.returncode == 0, ok.stderr
        assert "published catalog version 3" in ok.stdout and "signed by" in ok.stdout
        path.write_text(json.dumps(CLERKS))
        assert fleet("publish-clerks", str(path), *common).returncode == 0
        wait_for(lambda: catalog_store(data).version == 3 and clerk_store(data).version == 2, 10, "applied")
        assert service.signature_refused == 0
        [(topic, envelope), *_] = watch.got
        assert Verifier(load_public_keys(public.read_bytes())).open(topic, envelope, 1 << 22) == \
            json.dumps(CATALOG, separators=(",", ":"), ensure_ascii=False).encode()

        path.write_text(json.dumps({**CATALOG, "version": 4}))
        unsigned = fleet("publish-catalog", str(path), *common[:4], "--unsigned")
        assert unsigned.returncode == 0 and "unsigned" in unsigned.stdout
        wait_for(lambda: service.signature_refused == 1, 10, "unsigned catalog refused by the register")
        assert catalog_store(data).version == 3
    finally:
        watch.close()
        service.stop()
        journal.close()


def test_a_version_jump_over_a_million_needs_force(mosquitto, keys, tmp_path):
    private, _public, _ = keys
    path = tmp_path / "catalog.json"
    state = tmp_path / "state.json"
    common = ("--store", "S001", "--broker", mosquitto.url, "--signing-key", str(private))

    def publish(version: int, *more: str, state_file=state) -> subprocess.CompletedProcess[str]:
        path.write_text(json.dumps({**CATALOG, "version": version}))
        return fleet("publish-catalog", str(path), *common, "--state-file", str(state_file), *more)

    assert publish(3).returncode == 0
    big = publish(3 + 1_000_001)
    assert big.returncode == 2 and "more than 1,000,000 above the current version 3" in big.stderr
    assert "--force" in big.stderr
    assert publish(3 + 1_000_000).returncode == 0
    assert publish(5_000_000, "--force").returncode == 0
    # the retained copy is gone (cleared by hand): the version recorded on this machine is the current one
    host, port = mosquitto.url.removeprefix("mqtt://").split(":")
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(host, int(port))
    c.loop_start()
    c.publish("kassa/v1/S001/catalog", b"", qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()
    assert json.loads(state.read_text()) == {f"{mosquitto.url} kassa/v1/S001/catalog": 5_000_000}
    fresh = publish(5_500_000, state_file=tmp_path / "other-machine.json")  # nothing known: counted from 0
    assert fresh.returncode == 2 and "above the current version 0" in fresh.stderr
    assert publish(5_500_000).returncode == 0  # 500,000 above the 5,000,000 recorded here


def test_ingest_signs_its_resend_commands(mosquitto, keys, tmp_path):
    private, public, _ = keys
    ingest = IngestProcess(mosquitto.url, tmp_path / "fleet.db", tmp_path,
                           args=("--gap-grace", "0.5", "--signing-key", str(private))).start()
    device = BareDevice(mosquitto.url)
    try:
        receipts = make_chain(6)
        device.send(receipts[:2] + receipts[3:])
        deadline = time.monotonic() + 30
        while not device.commands and time.monotonic() < deadline:
            time.sleep(0.1)
        assert device.commands, "no resend command:\n" + ingest.log()
        envelope = json.dumps(device.commands[0]).encode()
        verifier = Verifier(load_public_keys(public.read_bytes()))
        command = json.loads(verifier.open(device.topics.commands, envelope, 4096))
        assert command["command"] == "resend" and command["args"]["from_seq"] == 3
        with pytest.raises(ValueError):  # and only for that register's topic
            verifier.open("kassa/v1/S001/R2/commands", envelope, 4096)
    finally:
        device.close()
        ingest.kill()
