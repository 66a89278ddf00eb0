"""Building a paho MQTT 5 client for the fleet tools from a broker URL and its credentials.

Every client announces an MQTT 5 Maximum Packet Size in its CONNECT
(firmware.contract.limits): the broker then drops a message too large for
the contract instead of sending it. The default, FLEET_MAX_PACKET, fits the
largest contract payload (the 4 MiB catalog that `kassa-fleet publish` reads
back); the ingest, which receives receipts, reports, status and results
only, passes INGEST_MAX_PACKET (256 KiB plus overhead).
"""

from __future__ import annotations

import os
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware.contract.limits import FLEET_MAX_PACKET, INGEST_MAX_PACKET
from firmware.contract.wire import LeanClient
from fleet.errors import FleetError, FleetUsageError


@dataclass(frozen=True)
class BrokerSettings:
    """Where and how the fleet connects; `password_file` must be mode 0600."""

    url: str
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def host_port(self) -> tuple[str, int, bool]:
        parts = urlsplit(self.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise FleetUsageError(f"--broker {self.url}: write mqtt://host:1883 or mqtts://host:8883")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise FleetUsageError(f"--broker {self.url}: the port is not a number") from None
        return parts.hostname, port, tls


def _password(path: Path) -> str:
    try:
        st = path.stat()
    except OSError as exc:
        raise FleetUsageError(f"--password-file {path}: cannot read ({exc.strerror})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise FleetUsageError(f"--password-file {path} is readable by others; run `chmod 600 {path}`")
    return path.read_text(encoding="utf-8").strip()


def make_client(settings: BrokerSettings, client_id: str, *, manual_ack: bool = False,
                read_batch: int = 1000, max_packet_size: int = FLEET_MAX_PACKET) -> LeanClient:
    """A configured, not yet connected MQTT 5 client (paho's, with the lean hot paths of firmware.contract.wire).

    `max_packet_size` is announced on connect (MQTT 5 Maximum Packet Size); a packet over it is never read.
    """
    _host, _port, tls = settings.host_port
    client = LeanClient(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                        manual_ack=manual_ack, read_batch=read_batch, max_packet_size=max_packet_size)
    client.max_inflight_messages_set(20)  # paho ignores the broker's Receive Maximum; 20 is the MQTT default
    if settings.username:
        password = _password(settings.password_file) if settings.password_file else None
        client.username_pw_set(settings.username, password)
    if tls:
        try:
            client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None,
                           certfile=str(settings.cert_file) if settings.cert_file else None,
                           keyfile=str(settings.key_file) if settings.key_file else None,
                           cert_reqs=ssl.CERT_REQUIRED)
        except (OSError, ssl.SSLError) as exc:
            raise FleetUsageError(f"TLS files: {exc}; check --ca-file/--cert-file/--key-file") from None
    return client


def connect(client: mqtt.Client, settings: BrokerSettings, *, keepalive: int = 30, clean_start: bool = True,
            session_expiry: int = 0, receive_maximum: int | None = None) -> None:
    """Open the TCP/TLS connection and send CONNECT; raise FleetError when the broker is unreachable.

    The CONNECT carries the client's Maximum Packet Size (`make_client`'s `max_packet_size`).
    """
    host, port, _tls = settings.host_port
    props = Properties(PacketTypes.CONNECT)
    props.MaximumPacketSize = getattr(client, "max_packet_size", None) or FLEET_MAX_PACKET
    if session_expiry:
        props.SessionExpiryInterval = session_expiry
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    try:
        client.connect(host, port, keepalive=keepalive, clean_start=clean_start, properties=props)
    except (OSError, ssl.SSLError) as exc:
        raise FleetError(f"cannot reach the broker at {settings.url} ({exc}); is it running?") from None


def default_client_id(role: str) -> str:
    return f"kassa-fleet-{role}-{os.uname().nodename[:20]}-{os.getpid()}"


__all__ = ["BrokerSettings", "FLEET_MAX_PACKET", "INGEST_MAX_PACKET", "connect", "default_client_id",
           "make_client"]
