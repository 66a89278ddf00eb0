"""Broker reachability for the technician: TLS, credentials, a QoS-1 publish with its PUBACK, and the fleet's answer.

It connects through the register's own code: `LinkSettings.from_config`
(firmware/sync/mqtt_adapter.py: URL, password file, TLS files) and the one
client builder (firmware/contract/mqtt.py: LeanClient, TLS context, MQTT 5
CONNECT properties), so a self-test that passes proves the register's
connect path. Only what must differ is changed: it connects with its own client id
(`kassa-{store}-{register}-selftest`) and a clean, non-persistent session, so
the running register's session and its queued acks are never touched. Its
CONNECT announces SELFTEST_MAX_PACKET as the MQTT 5 Maximum Packet Size (it
only reads acks and the retained status), so the broker never sends it more.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from firmware.config import Config
from firmware.contract import mqtt
from firmware.contract.errors import BrokerSetupError
from firmware.contract.limits import SELFTEST_MAX_PACKET
from firmware.contract.mqtt import build_client, connect_spec
from firmware.errors import ConfigError
from firmware.sync.mqtt_adapter import LinkSettings
from provisioning.checks import Check

__all__ = ["check_broker", "explain_tls_error", "selftest_topic"]


def selftest_topic(config: Config) -> str:
    return f"{config.broker.prefix}/{config.device.store}/{config.device.register}/selftest"


def explain_tls_error(exc: ssl.SSLError, host: str, ca_file: Path | None) -> tuple[str, str]:
    """(what happened, the fix) for a TLS failure, in the technician's words."""
    text = str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = exc.verify_message or text
        if exc.verify_code == 62 or "mismatch" in message.lower():
            return (f"the broker's certificate is not valid for host {host!r} ({message})",
                    "use the host name the certificate was issued for in broker.url, or reissue the broker certificate")
        if exc.verify_code == 10 or "expired" in message:
            return (f"the broker's certificate has expired ({message})",
                    "renew the broker certificate; check the clock (NTP)")
        if exc.verify_code == 9 or "not yet valid" in message:
            return (f"the broker's certificate is not valid yet ({message})",
                    "the device clock is behind: fix NTP / fake-hwclock")
        ca = f"the CA in {ca_file}" if ca_file else "the system CAs"
        return (f"the broker's certificate is not trusted by {ca} ({message})",
                "set broker.ca_file to the fleet CA that signed the broker certificate "
                "(`kassa-provision init --ca-file`)")
    if "certificate required" in text or "handshake failure" in text:
        return ("the broker wants a client certificate",
                "run `kassa-provision init --tls-client-key`, then install-cert")
    return (f"TLS failed: {text}", "check broker.url uses the broker's TLS port and broker.ca_file is the fleet CA")


class _Probe:
    """Callback state of one probe connection (paho's callbacks run on its network thread)."""

    def __init__(self, selftest_id: str) -> None:
        self.selftest_id = selftest_id
        self.connected = threading.Event()
        self.connack: object = None
        self.published = threading.Event()
        self.puback: object = None
        self.subscribed = threading.Event()
        self.suback: list[object] = []
        self.answered = threading.Event()
        self.disconnected = threading.Event()
        self.disconnect_reason: object = None
        self.status: dict | None = None
        self.status_seen = threading.Event()

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self.connack = reason_code
        self.connected.set()

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # noqa: ANN001
        self.puback = reason_code
        self.published.set()

    def on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        self.suback = list(reason_codes)
        self.subscribed.set()

    def on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if msg.topic.endswith("/status"):
            self.status = doc
            self.status_seen.set()
        elif doc.get("selftest_id") == self.selftest_id:
            self.answered.set()

    def on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self.disconnect_reason = reason_code
        self.disconnected.set()


def _wait(event: threading.Event, other: threading.Event, timeout: float) -> bool:
    """Wait for `event`, giving up early when `other` (a disconnect) happens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if event.wait(0.05):
            return True
        if other.is_set():
            return event.is_set()
    return event.is_set()


def check_broker(config: Config, *, timeout: float = 10.0, ack_timeout: float = 5.0, publish: bool = True,
                 status_out: dict | None = None) -> list[Check]:
    """Connect (TLS + credentials), publish one QoS-1 self-test message, and wait for the fleet's answer on acks.

    With `publish=False` it only connects; with `status_out` it also reads the
    register's retained status message into that dict (when the ACL lets it).
    """
    b = config.broker
    url = urlsplit(b.url)
    host, tls = url.hostname or "", url.scheme == "mqtts"
    port = url.port or (8883 if tls else 1883)
    where = f"{host}:{port}"
    probe = _Probe(uuid.uuid4().hex)
    if tls and b.cert_file and not Path(b.cert_file).exists():
        return [Check("broker connect", False, f"no device certificate at {b.cert_file} yet",
                      f"send {Path(b.cert_file).with_suffix('.csr')} to the fleet CA, "
                      "then `kassa-provision install-cert FILE`")]
    try:
        # The register's own settings and builder (firmware/sync/mqtt_adapter.py, firmware/contract/mqtt.py), with
        # only what must differ: its own client id, a clean session that expires at once, no will, a small limit.
        spec = LinkSettings.from_config(config, will_topic=None, subscriptions=(),
                                        client_id=f"{config.client_id}-selftest", clean_start=True, session_expiry=0,
                                        receive_maximum=None, keepalive=max(b.keepalive, 10),
                                        max_packet_size=SELFTEST_MAX_PACKET).client_spec()
        spec = replace(spec, connect_timeout=timeout, max_inflight=20)
        client = build_client(spec)
    except BrokerSetupError as exc:
        if str(exc).startswith("TLS files"):
            return [Check("broker connect", False, f"cannot load {exc}",
                          "re-run `kassa-provision init --tls-client-key` and install-cert")]
        return [Check("broker connect", False, str(exc), "fix the file named, or re-run `kassa-provision init`")]
    except ConfigError as exc:
        return [Check("broker connect", False, str(exc), "fix the file named, or re-run `kassa-provision init`")]
    for name in ("on_connect", "on_publish", "on_subscribe", "on_message", "on_disconnect"):
        setattr(client, name, getattr(probe, name))
    try:
        connect_spec(client, spec)
    except ssl.SSLError as exc:
        what, fix = explain_tls_error(exc, host, b.ca_file)
        return [Check("broker connect", False, f"{where}: {what}", fix)]
    except socket.gaierror:
        return [Check("broker connect", False, f"cannot resolve {host!r}",
                      "check broker.url and the DNS settings (`resolvectl status`)")]
    except ConnectionRefusedError:
        return [Check("broker connect", False, f"nothing listens at {where}",
                      "check broker.url (host and port) and that the broker runs")]
    except TimeoutError:
        return [Check("broker connect", False, f"no answer from {where} within {timeout:.0f} s",
                      "check the network cable/Wi-Fi and firewall")]
    except OSError as exc:
        return [Check("broker connect", False, f"{where}: {exc.strerror or exc}", "check the network and broker.url")]
    client.loop_start()
    try:
        checks = _converse(client, probe, config, where, tls, timeout, ack_timeout, publish)
        if status_out is not None and checks[0].ok:
            topic = f"{b.prefix}/{config.device.store}/{config.device.register}/status"
            client.subscribe(topic, qos=1)
            if _wait(probe.status_seen, probe.disconnected, min(ack_timeout, 2.0)) and probe.status:
                status_out.update(probe.status)
        return checks
    finally:
        client.disconnect()
        client.loop_stop()


def _converse(client: mqtt.Client, probe: _Probe, config: Config, where: str, tls: bool,
              timeout: float, ack_timeout: float, publish: bool) -> list[Check]:
    b = config.broker
    if not _wait(probe.connected, probe.disconnected, timeout):
        if tls and probe.disconnected.is_set():
            return [Check("broker connect", False, f"{where} closed the TLS connection before accepting it",
                          "the broker may want a client certificate: `kassa-provision init --tls-client-key`, "
                          "then install-cert")]
        return [Check("broker connect", False, f"{where} did not answer the MQTT handshake",
                      "is this an MQTT port? check broker.url")]
    rc = probe.connack
    if getattr(rc, "is_failure", False):
        fix = ("check broker.username and the password file (ask the fleet for this device's credentials)"
               if "authori" in str(rc).lower() or "password" in str(rc).lower() else "see the broker's log")
        return [Check("broker connect", False, f"{where} refused the connection: {rc}", fix)]
    checks = [Check("broker connect", True, f"{where} as {b.username or '(certificate)'}{' over TLS' if tls else ''}")]
    if not publish:
        return checks
    acks = f"{b.prefix}/{config.device.store}/{config.device.register}/acks"
    client.subscribe(acks, qos=1)
    _wait(probe.subscribed, probe.disconnected, timeout)
    topic = selftest_topic(config)
    payload = json.dumps({"selftest_id": probe.selftest_id, "client_id": config.client_id,
                          "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    client.publish(topic, payload, qos=1)
    if not _wait(probe.published, probe.disconnected, timeout):
        checks.append(Check("broker publish", False, f"no PUBACK for {topic} within {timeout:.0f} s",
                            "see the broker's log"))
        return checks
    if getattr(probe.puback, "is_failure", False):
        checks.append(Check("broker publish", False, f"the broker refused {topic}: {probe.puback}",
                            f"the broker ACL must let this device write {topic} (docs/technician.md, Broker side)"))
        return checks
    checks.append(Check("broker publish", True, f"QoS 1 to {topic}: PUBACK ok"))
    if any(getattr(r, "is_failure", False) for r in probe.suback):
        checks.append(Check("fleet ack", False, f"the broker refused the subscription to {acks}",
                            f"the broker ACL must let this device read {acks}"))
    elif _wait(probe.answered, probe.disconnected, ack_timeout):
        checks.append(Check("fleet ack", True, f"the fleet answered on {acks}"))
    else:
        checks.append(Check("fleet ack", None, f"no answer on {acks} within {ack_timeout:.0f} s "
                                               "(the fleet may not answer self-tests)"))
    return checks
