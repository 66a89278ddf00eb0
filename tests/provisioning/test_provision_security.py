"""Device security on a real Mosquitto: per-device credentials, ACLs, anonymous refused, TLS and client certificates."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.config import load_config, parse_config
from provisioning.broker_check import check_broker
from tests.provisioning import provision_pki
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port, wait_listening

pytestmark = pytest.mark.slow  # kassa-provision processes against real brokers

PASSWORDS = {"fleet": "fleet-pw", "S001-R1": "r1-pw", "S001-R2": "r2-pw", "S001/R1": "r1-pw", "S001/R2": "r2-pw"}

# Two ways to write a device's ACL. Per-device `user` blocks work on every Mosquitto; the `pattern`
# lines need the username "{store}/{register}" substituted across two topic levels, which 2.0 does
# (2.1 denies it, mosquitto#3520).
ACL = (
    """
user fleet
topic readwrite kassa/v1/#
"""
    + "".join(
        f"""
user S001-{r}
topic write kassa/v1/S001/{r}/receipts
topic write kassa/v1/S001/{r}/reports
topic readwrite kassa/v1/S001/{r}/status
topic write kassa/v1/S001/{r}/command_results
topic write kassa/v1/S001/{r}/selftest
topic read kassa/v1/S001/{r}/acks
topic read kassa/v1/S001/{r}/commands
topic read kassa/v1/S001/catalog
topic read kassa/v1/S001/clerks
"""
        for r in ("R1", "R2")
    )
    + """
pattern write kassa/v1/%u/receipts
pattern write kassa/v1/%u/reports
pattern readwrite kassa/v1/%u/status
pattern write kassa/v1/%u/command_results
pattern write kassa/v1/%u/selftest
pattern read kassa/v1/%u/acks
pattern read kassa/v1/%u/commands
"""
)

STYLES = {"per-device": ("S001-R1", "S001-R2"), "pattern": ("S001/R1", "S001/R2")}


class Broker:
    """Ports of the secured test broker and the files behind them."""

    def __init__(self, work: Path, ca_pem: bytes, ca_key: bytes) -> None:
        self.work = work
        self.ca = work / "ca.pem"
        self.ca.write_bytes(ca_pem)
        for name, hosts in (("server", ["127.0.0.1", "localhost"]), ("wrong", ["broker.example"])):
            cert, key = provision_pki.server_cert(ca_pem, ca_key, hosts)
            (work / f"{name}.pem").write_bytes(cert)
            (work / f"{name}.key").write_bytes(key)
            (work / f"{name}.key").chmod(0o600)
        passwd = work / "passwd"
        for i, (user, pw) in enumerate(PASSWORDS.items()):
            subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(passwd), user, pw], check=True)
        (work / "acl").write_text(ACL)
        self.plain, self.tls, self.wrong_name, self.mtls = (free_port() for _ in range(4))
        tls = f"cafile {self.ca}\ncertfile {work}/server.pem\nkeyfile {work}/server.key\n"
        # As root Mosquitto would switch to user "mosquitto", who cannot read pytest's 0700 tmp dirs.
        run_as = "user root\n" if os.geteuid() == 0 else ""
        extra = run_as + (
            f"allow_anonymous false\npassword_file {passwd}\nacl_file {work}/acl\n"
            f"listener {self.plain} 127.0.0.1\n"
            f"listener {self.tls} 127.0.0.1\n{tls}"
            f"listener {self.wrong_name} 127.0.0.1\ncafile {self.ca}\n"
            f"certfile {work}/wrong.pem\nkeyfile {work}/wrong.key\n"
            f"listener {self.mtls} 127.0.0.1\n{tls}require_certificate true\nuse_identity_as_username true\n"
        )
        self.proc = Mosquitto(work, port=self.plain, extra_config=extra, anonymous=False, listener=False)

    def start(self) -> Broker:
        self.proc.start(wait_port=self.plain)
        for port in (self.tls, self.wrong_name, self.mtls):
            wait_listening(port)
        return self


@pytest.fixture(scope="module")
def broker(tmp_path_factory, test_ca):
    b = Broker(tmp_path_factory.mktemp("secure-broker"), *test_ca).start()
    yield b
    b.proc.kill()


class Peer:
    """A raw MQTT 5 client that records CONNACK, PUBACK and SUBACK reason codes and received messages."""

    def __init__(self, port: int, user: str | None, client_id: str) -> None:
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user:
            self.c.username_pw_set(user, PASSWORDS[user])
        self.connack = None
        self.pubacks: dict[int, object] = {}
        self.subacks: dict[int, list] = {}
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.c.on_connect = lambda c, u, f, rc, p: setattr(self, "connack", rc)
        self.c.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc)
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.__setitem__(mid, list(rcs))
        self.c.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        until(lambda: self.connack is not None)

    def publish(self, topic: str, payload: str = "{}") -> object:
        mid = self.c.publish(topic, payload, qos=1).mid
        until(lambda: mid in self.pubacks)
        return self.pubacks[mid]

    def subscribe(self, topic: str) -> list:
        mid = self.c.subscribe(topic, qos=1)[1]
        until(lambda: mid in self.subacks)
        return self.subacks[mid]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def until(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


@pytest.fixture
def peers():
    made: list[Peer] = []

    def make(port: int, user: str | None, client_id: str) -> Peer:
        made.append(Peer(port, user, client_id))
        return made[-1]

    yield make
    for p in made:
        p.close()


def config_for(url: str, *, register: str = "R1", username: str | None = None, tmp: Path, **broker) -> object:
    doc: dict = {
        "device": {"store": "S001", "register": register, "data_dir": str(tmp / "data")},
        "broker": {"url": url, **{k: str(v) for k, v in broker.items()}},
    }
    if username:
        pw = tmp / f"{username.replace('/', '_')}.pass"
        pw.write_text(PASSWORDS[username])
        pw.chmod(0o600)
        doc["broker"].update(username=username, password_file=str(pw))
    return parse_config(doc)


@pytest.mark.parametrize("style", STYLES)
def test_device_publishes_only_under_its_own_register(broker, peers, style):
    r1, _ = STYLES[style]
    fleet = peers(broker.plain, "fleet", "fleet-1")
    fleet.subscribe("kassa/v1/#")
    device = peers(broker.plain, r1, "kassa-S001-R1")
    assert not device.connack.is_failure
    own = device.publish("kassa/v1/S001/R1/receipts", '{"n": 1}')
    assert not own.is_failure
    as_r2 = device.publish("kassa/v1/S001/R2/receipts", '{"n": 2}')
    assert as_r2.is_failure and as_r2.value == 0x87  # Not authorized, in the PUBACK (MQTT 5)
    other_store = device.publish("kassa/v1/S002/R1/receipts", '{"n": 3}')
    assert other_store.value == 0x87
    time.sleep(0.3)
    assert [t for t, _ in fleet.messages] == ["kassa/v1/S001/R1/receipts"]


@pytest.mark.parametrize("style", STYLES)
def test_device_cannot_read_another_registers_acks(broker, peers, style):
    r1, _ = STYLES[style]
    device = peers(broker.plain, r1, "kassa-S001-R1")
    assert device.subscribe("kassa/v1/S001/R1/acks")[0].value == 1
    # Mosquitto 2.0 grants these subscriptions and enforces the ACL on every delivery instead.
    device.subscribe("kassa/v1/S001/R2/acks")
    device.subscribe("kassa/v1/S001/+/acks")
    fleet = peers(broker.plain, "fleet", "fleet-2")
    fleet.publish("kassa/v1/S001/R2/acks", json.dumps({"receipt_ids": ["R2:e:1"]}))
    fleet.publish("kassa/v1/S001/R1/acks", json.dumps({"receipt_ids": ["R1:e:1"]}))
    until(lambda: len(device.messages) >= 1)
    time.sleep(0.3)
    assert {t for t, _ in device.messages} == {"kassa/v1/S001/R1/acks"}
    assert all(b"R2:" not in p for _, p in device.messages)


def test_anonymous_and_wrong_password_are_refused(broker, peers, tmp_path):
    anon = peers(broker.plain, None, "anon")
    assert anon.connack.is_failure
    [check] = check_broker(config_for(f"mqtt://127.0.0.1:{broker.plain}", tmp=tmp_path), timeout=5)
    assert check.ok is False and "refused the connection" in check.detail and "password" in check.fix
    bad = tmp_path / "bad.pass"
    bad.write_text("not-it")
    bad.chmod(0o600)
    cfg = parse_config(
        {
            "device": {"store": "S001", "register": "R1"},
            "broker": {"url": f"mqtt://127.0.0.1:{broker.plain}", "username": "S001-R1", "password_file": str(bad)},
        }
    )
    [check] = check_broker(cfg, timeout=5)
    assert check.ok is False and "refused" in check.detail


def test_broker_check_connects_publishes_and_gets_the_fleet_answer(broker, peers, tmp_path):
    cfg = config_for(f"mqtt://127.0.0.1:{broker.plain}", username="S001-R1", tmp=tmp_path)
    checks = check_broker(cfg, timeout=5, ack_timeout=0.5)
    assert [(c.name, c.ok) for c in checks] == [("broker connect", True), ("broker publish", True), ("fleet ack", None)]

    fleet = peers(broker.plain, "fleet", "fleet-3")
    fleet.subscribe("kassa/v1/+/+/selftest")

    def answer(c, u, m):  # the fleet side of the round trip: echo the selftest_id on the device's acks
        store, register = m.topic.split("/")[2:4]
        sid = json.loads(m.payload)["selftest_id"]
        c.publish(f"kassa/v1/{store}/{register}/acks", json.dumps({"receipt_ids": [], "selftest_id": sid}), qos=1)

    fleet.c.on_message = answer
    checks = check_broker(cfg, timeout=5, ack_timeout=5)
    assert [(c.name, c.ok) for c in checks] == [("broker connect", True), ("broker publish", True), ("fleet ack", True)]


def test_broker_check_reports_a_publish_the_acl_refuses(broker, tmp_path):
    cfg = config_for(f"mqtt://127.0.0.1:{broker.plain}", register="R2", username="S001-R1", tmp=tmp_path)
    checks = check_broker(cfg, timeout=5, ack_timeout=0.5)
    publish = next(c for c in checks if c.name == "broker publish")
    assert publish.ok is False and "Not authorized" in publish.detail and "kassa/v1/S001/R2/selftest" in publish.fix


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_verified_against_the_configured_ca(broker, tmp_path, host):
    cfg = config_for(f"mqtts://{host}:{broker.tls}", username="S001-R1", tmp=tmp_path, ca_file=broker.ca)
    checks = check_broker(cfg, timeout=5, ack_timeout=0.2)
    assert checks[0].ok and "over TLS" in checks[0].detail
    assert checks[1].ok


def test_tls_with_a_wrong_ca_is_refused_with_a_message(broker, tmp_path):
    other_ca, _ = provision_pki.make_ca("Somebody else's CA")
    (tmp_path / "other.pem").write_bytes(other_ca)
    cfg = config_for(
        f"mqtts://127.0.0.1:{broker.tls}", username="S001-R1", tmp=tmp_path, ca_file=tmp_path / "other.pem"
    )
    [check] = check_broker(cfg, timeout=5)
    assert check.ok is False and "not trusted by the CA in" in check.detail and "broker.ca_file" in check.fix
    cfg = config_for(f"mqtts://127.0.0.1:{broker.tls}", username="S001-R1", tmp=tmp_path)  # system CAs only
    [check] = check_broker(cfg, timeout=5)
    assert check.ok is False and "system CAs" in check.detail


def test_tls_with_a_wrong_hostname_is_refused_with_a_message(broker, tmp_path):
    cfg = config_for(f"mqtts://127.0.0.1:{broker.wrong_name}", username="S001-R1", tmp=tmp_path, ca_file=broker.ca)
    [check] = check_broker(cfg, timeout=5)
    assert check.ok is False and "not valid for host '127.0.0.1'" in check.detail


def test_plain_mqtt_to_a_tls_port_fails_cleanly(broker, tmp_path):
    cfg = config_for(f"mqtt://127.0.0.1:{broker.tls}", username="S001-R1", tmp=tmp_path)
    [check] = check_broker(cfg, timeout=3)
    assert check.ok is False


def test_client_certificate_made_on_the_device_is_its_identity(broker, prov, tmp_path, test_ca):
    ca_pem, ca_key = test_ca
    path = tmp_path / "etc/kassa.toml"
    url = f"mqtts://localhost:{broker.mtls}"
    result = prov(
        "init",
        "-c",
        path,
        "-n",
        "--store",
        "S001",
        "--register",
        "R1",
        "--broker",
        url,
        "--tls-client-key",
        "--ca-file",
        broker.ca,
        "--data-dir",
        tmp_path / "data",
    )
    assert result.exit_code == 0, result.stderr
    [before] = check_broker(load_config(path), timeout=5)
    assert before.ok is False and "install-cert" in before.fix  # no certificate yet: says what to do

    signed = tmp_path / "signed.pem"
    signed.write_bytes(provision_pki.sign_csr((path.parent / "device.csr").read_bytes(), ca_pem, ca_key))
    assert prov("install-cert", signed, "-c", path).exit_code == 0
    checks = check_broker(load_config(path), timeout=5, ack_timeout=0.2)
    assert [(c.name, c.ok) for c in checks][:2] == [("broker connect", True), ("broker publish", True)]

    # Same identity rules as passwords: the certificate's CN (S001-R1) cannot publish as R2.
    r2 = load_config(path).model_copy(update={"device": load_config(path).device.model_copy(update={"register": "R2"})})
    publish = next(c for c in check_broker(r2, timeout=5, ack_timeout=0.2) if c.name == "broker publish")
    assert publish.ok is False and "Not authorized" in publish.detail


def test_client_certificate_listener_refuses_a_device_without_one(broker, tmp_path):
    cfg = config_for(f"mqtts://127.0.0.1:{broker.mtls}", username="S001-R1", tmp=tmp_path, ca_file=broker.ca)
    [check] = check_broker(cfg, timeout=5)
    assert check.ok is False and "client certificate" in check.detail + check.fix
