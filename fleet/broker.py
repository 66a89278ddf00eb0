"""The fleet tools' broker settings (URL, credentials) handed to the one client builder, firmware.contract.mqtt.

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
from dataclasses import dataclass
from pathlib import Path

from firmware.contract.errors import BrokerSetupError, SecretFileError
from firmware.contract.limits import FLEET_MAX_PACKET, INGEST_MAX_PACKET
from firmware.contract.mqtt import ClientSpec, broker_address, build_client, connect as mqtt_connect
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
        try:
            return broker_address(self.url)
        except ValueError as exc:
            raise FleetUsageError(f"--broker {exc}") from None

    def client_spec(self, client_id: str, *, max_packet_size: int = FLEET_MAX_PACKET, manual_ack: bool = False,
                    read_batch: int = 1000) -> ClientSpec:
        host, port, tls = self.host_port
        return ClientSpec(host=host, port=port, client_id=client_id, max_packet_size=max_packet_size, tls=tls,
                          username=self.username, password_file=self.password_file if self.username else None,
                          ca_file=self.ca_file, cert_file=self.cert_file, key_file=self.key_file,
                          manual_ack=manual_ack, read_batch=read_batch)


def make_client(settings: BrokerSettings, client_id: str, *, manual_ack: bool = False,
                read_batch: int = 1000, max_packet_size: int = FLEET_MAX_PACKET) -> LeanClient:
    """A configured, not yet connected MQTT 5 client, from the one builder (firmware.contract.mqtt).

    `max_packet_size` is announced on connect (MQTT 5 Maximum Packet Size); a packet over it is never read.
    """
    spec = settings.client_spec(client_id, max_packet_size=max_packet_size, manual_ack=manual_ack,
                                read_batch=read_batch)
    try:
        return build_client(spec)
    except SecretFileError as exc:
        raise FleetUsageError(f"--password-file: {exc}") from None
    except BrokerSetupError as exc:
        raise FleetUsageError(f"{exc}; check --ca-file/--cert-file/--key-file") from None


def connect(client: LeanClient, settings: BrokerSettings, *, keepalive: int = 30, clean_start: bool = True,
            session_expiry: int = 0, receive_maximum: int | None = None) -> None:
    """Open the TCP/TLS connection and send CONNECT (firmware.contract.mqtt); FleetError when unreachable.

    The CONNECT carries the client's Maximum Packet Size (`make_client`'s `max_packet_size`).
    """
    host, port, _tls = settings.host_port
    try:
        mqtt_connect(client, host, port, keepalive=keepalive, clean_start=clean_start,
                     session_expiry=session_expiry, receive_maximum=receive_maximum)
    except (OSError, ssl.SSLError) as exc:
        raise FleetError(f"cannot reach the broker at {settings.url} ({exc}); is it running?") from None


def default_client_id(role: str) -> str:
    return f"kassa-fleet-{role}-{os.uname().nodename[:20]}-{os.getpid()}"


__all__ = ["BrokerSettings", "FLEET_MAX_PACKET", "INGEST_MAX_PACKET", "connect", "default_client_id",
           "make_client"]
