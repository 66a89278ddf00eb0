"""The one MQTT 5 client builder: the register's link, the fleet's ingest and tools, and the self-test all connect here.

Every client of Kassa is built by `build_client(ClientSpec)` and connected by
`connect_spec` (or `connect`), so what the technician's self-test proves
(`kassa-provision selftest`) is what the register's own link does:

- the client is `firmware.contract.wire.LeanClient` (paho's, lean hot paths);
- TLS is one `ssl.SSLContext` (`tls_context`): the broker verified against
  `ca_file` (else the system CAs) with its host name checked, the client
  certificate presented when there is one, its key refused when others can
  read it;
- the password comes from one secret reader (`read_secret`: mode 0600, or
  SecretFileError naming the `chmod`);
- the CONNECT carries the MQTT 5 properties the contract asks for: Maximum
  Packet Size (firmware.contract.limits; LeanClient also drops a larger
  packet unread), Session Expiry Interval and Receive Maximum when asked,
  the keepalive, and a retained QoS-1 last will.

Connection errors (OSError, ssl.SSLError) are raised as they come, so each
caller explains them in its own words; set-up errors are BrokerSetupError,
a ConfigError.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.client import MQTT_ERR_SUCCESS, Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.contract.errors import BrokerSetupError
from firmware.contract.secrets import check_private, read_secret
from firmware.contract.wire import LeanClient, new_properties

__all__ = ["MQTT_ERR_SUCCESS", "Client", "ClientSpec", "MQTTMessage", "SubscribeOptions", "broker_address",
           "build_client", "connect", "connect_properties", "connect_spec", "read_secret", "tls_context"]

# paho's few types and constants the fleet and provisioning need (annotations, subscribe options, return codes)
# are re-exported above, so paho itself is imported only by the adapter modules (tests/test_layers.py checks).


@dataclass(frozen=True)
class ClientSpec:
    """How one client connects: where, as whom, over what, and the MQTT 5 session it asks for.

    `password` is used as given; else `password_file` is read with `read_secret` when the client is built.
    `max_inflight` is paho's own window (0: unlimited, for a caller that bounds its own).
    """

    host: str
    port: int
    client_id: str
    max_packet_size: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive: int = 30
    clean_start: bool = True
    session_expiry: int = 0
    receive_maximum: int | None = None
    max_inflight: int = 20  # paho ignores the broker's Receive Maximum; 20 is the MQTT default
    will_topic: str | None = None
    will_payload: bytes = b""
    connect_timeout: float | None = None
    manual_ack: bool = False
    read_batch: int = 1000


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of `mqtt://host[:1883]` or `mqtts://host[:8883]`; ValueError with the fix otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"{url}: write mqtt://host:1883 or mqtts://host:8883")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"{url}: the port is not a number") from None
    return parts.hostname, port, tls


def tls_context(ca_file: Path | None = None, cert_file: Path | None = None,
                key_file: Path | None = None) -> ssl.SSLContext:
    """Verify the broker (certificate and host name) against `ca_file`, else the system CAs; present the client
    certificate when there is one. A key readable by others is refused (SecretFileError)."""
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cert_file:
            if key_file:
                check_private(Path(key_file), "device key")
            ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerSetupError(f"TLS files: {exc}") from None
    return ctx


def build_client(spec: ClientSpec) -> LeanClient:
    """A configured LeanClient, not yet connected: credentials, TLS, last will, Maximum Packet Size."""
    client = LeanClient(CallbackAPIVersion.VERSION2, client_id=spec.client_id, protocol=paho.MQTTv5,
                        manual_ack=spec.manual_ack, read_batch=spec.read_batch, max_packet_size=spec.max_packet_size)
    client.max_inflight_messages_set(spec.max_inflight)
    if spec.connect_timeout is not None:
        client.connect_timeout = spec.connect_timeout
    if spec.will_topic:
        client.will_set(spec.will_topic, spec.will_payload, qos=1, retain=True)
    if spec.username:
        password = spec.password
        if password is None and spec.password_file is not None:
            password = read_secret(spec.password_file, "broker password")
        client.username_pw_set(spec.username, password)
    if spec.tls:
        client.tls_set_context(tls_context(spec.ca_file, spec.cert_file, spec.key_file))
    return client


def connect_properties(max_packet_size: int | None, session_expiry: int = 0,
                       receive_maximum: int | None = None) -> Properties:
    """The CONNECT's MQTT 5 properties: Maximum Packet Size, and Session Expiry / Receive Maximum when set."""
    props = new_properties(PacketTypes.CONNECT)
    if max_packet_size:
        props.MaximumPacketSize = max_packet_size
    if session_expiry:
        props.SessionExpiryInterval = session_expiry
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


def connect(client: LeanClient, host: str, port: int, *, keepalive: int = 30, clean_start: bool = True,
            session_expiry: int = 0, receive_maximum: int | None = None) -> None:
    """Open the TCP/TLS connection and send CONNECT; OSError / ssl.SSLError as paho raises them."""
    props = connect_properties(client.max_packet_size, session_expiry, receive_maximum)
    client.connect(host, port, keepalive=keepalive, clean_start=clean_start, properties=props)


def connect_spec(client: LeanClient, spec: ClientSpec) -> None:
    """`connect` with the address and session of `spec`."""
    connect(client, spec.host, spec.port, keepalive=spec.keepalive, clean_start=spec.clean_start,
            session_expiry=spec.session_expiry, receive_maximum=spec.receive_maximum)
