"""`kassa-fleet` as a user runs it: publish catalog/clerks (retained, versioned), status, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.contract.kassa_samples import CATALOG as SAMPLE_CATALOG, CLERKS, make_chain
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, IngestProcess
from tests.support.net import free_port

pytestmark = pytest.mark.slow  # real brokers and kassa-fleet processes

# a published catalog must carry tax_rates for every item's code (the register's acceptance gate)
CATALOG = {**SAMPLE_CATALOG, "tax_rates": {"A": "19.00", "B": "7.00"}}


def fleet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if args and args[0].startswith("publish-") and "--signing-key" not in args and "--help" not in args:
        args = (*args, "--unsigned")  # these tests are about publishing itself; signing: test_fleet_signing.py
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)


def retained(url: str, topic: str) -> bytes | None:
    host, port = url.removeprefix("mqtt://").split(":")
    got: list[bytes] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.on_connect = lambda cl, *_a: cl.subscribe(topic, qos=1)
    c.on_message = lambda _c, _u, m: (got.append(m.payload), done.set())
    c.connect(host, int(port))
    c.loop_start()
    done.wait(2)
    c.disconnect()
    c.loop_stop()
    return got[0] if got else None


def test_publish_catalog_is_retained_and_older_versions_are_refused(mosquitto, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    ok = fleet("publish-catalog", str(path), "--store", "S001", "--broker", mosquitto.url)
    assert ok.returncode == 0, ok.stderr
    assert "published catalog version 3" in ok.stdout
    assert json.loads(retained(mosquitto.url, "kassa/v1/S001/catalog")) == CATALOG
    again = fleet("publish-catalog", str(path), "--store", "S001", "--broker", mosquitto.url)
    assert again.returncode == 2 and "not newer than version 3" in again.stderr and "Traceback" not in again.stderr
    path.write_text(json.dumps({**CATALOG, "version": 4}))
    newer = fleet("publish-catalog", str(path), "--store", "S001", "--broker", mosquitto.url)
    assert newer.returncode == 0 and "replacing version 3" in newer.stdout


def test_publish_clerks_validates_the_file_first(mosquitto, tmp_path):
    path = tmp_path / "clerks.json"
    path.write_text(json.dumps({**CLERKS, "clerks": [{**CLERKS["clerks"][0], "role": "boss"}]}))
    bad = fleet("publish-clerks", str(path), "--store", "S001", "--broker", mosquitto.url)
    assert bad.returncode == 2 and "not a valid clerks" in bad.stderr and "role" in bad.stderr
    assert retained(mosquitto.url, "kassa/v1/S001/clerks") is None
    path.write_text(json.dumps(CLERKS))
    assert fleet("publish-clerks", str(path), "--store", "S001", "--broker", mosquitto.url).returncode == 0
    assert json.loads(retained(mosquitto.url, "kassa/v1/S001/clerks"))["version"] == 2


def test_usage_and_runtime_errors_have_the_contract_exit_codes(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    cases = [
        (fleet("publish-catalog", str(path), "--store", "S001", "--broker", "http://x"), 2, "mqtt://host"),
        (fleet("publish-catalog", str(tmp_path / "none.json"), "--store", "S001"), 2, "cannot read"),
        (fleet("publish-catalog", str(path), "--store", "bad id!"), 2, "--store"),
        (fleet("status", "--db", "postgresql://db/fleet"), 2, "PostgreSQL"),
        (fleet("status", "--db", str(tmp_path / "missing.db")), 2, "run `kassa-fleet ingest"),
        (fleet("publish-catalog", str(path), "--store", "S001", "--broker", f"mqtt://127.0.0.1:{free_port()}"), 1,
         "cannot reach the broker"),
        (fleet("ingest", "--no-such-option"), 2, "No such option"),
        (fleet("ingest", "--unsigned", "--accounts-currency", "euro"), 2, "an ISO 4217 code such as EUR"),
        (fleet("stock-policy", "--store", "S001", "--past-zero", "never", "--db", str(tmp_path / "f.db")), 2,
         "use warn or manager"),
        (fleet("stock-policy", "--store", "S001", "--db", str(tmp_path / "missing.db")), 2, "run `kassa-fleet ingest"),
    ]
    for result, code, words in cases:
        assert result.returncode == code, (result.args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr
    assert fleet("--help").returncode == 0
    for command in ("ingest", "publish-catalog", "publish-clerks", "status"):
        assert fleet(command, "--help").returncode == 0


def test_status_lists_devices_pending_and_gaps(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    ingest = IngestProcess(mosquitto.url, db, tmp_path, args=("--unsigned",)).start()
    device = BareDevice(mosquitto.url)
    device.client.publish(device.topics.status, json.dumps({"state": "online", "pending": 2}), qos=1,
                          retain=True).wait_for_publish(5)
    receipts = make_chain(6)
    device.send(receipts[:2] + receipts[4:])
    assert device.wait_acked({r["receipt_id"] for r in receipts[:2] + receipts[4:]}) == set()
    assert ingest.stop() == 0
    out = fleet("status", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    expected = {"store": "S001", "register": "R1", "state": "online", "pending": 2, "quarantined": None,
                "last_sync_at": None, "status_at": None, "firmware_version": None, "receipts": 4,
                "gaps": ["7f3a9c2e:3-4"], "conflicts": [], "chain_breaks": [], "rollbacks": [], "lost": [],
                "alarms": []}
    assert len(rows) == 1 and {k: rows[0][k] for k in expected} == expected
    table = fleet("status", "--db", str(db))
    assert table.returncode == 0 and "S001" in table.stdout and "3-4" in table.stdout
    device.close()
