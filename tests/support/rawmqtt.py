"""Oversize MQTT traffic for bounded-input tests: a streaming publisher, a streaming fake broker, peak RSS.

The big payloads are never built in the test process: a publish of 200 MiB
is its header followed by the same 1 MiB chunk again and again, so what the
test measures is the other side's memory, not its own.
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

CHUNK = b"x" * (1024 * 1024)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(s: str) -> bytes:
    data = s.encode()
    return struct.pack("!H", len(data)) + data


def publish_header(topic: str, size: int, mid: int = 1, mqtt5: bool = False) -> bytes:
    """The fixed and variable header of a QoS-1 PUBLISH whose payload is `size` bytes."""
    variable = _string(topic) + struct.pack("!H", mid) + (b"\x00" if mqtt5 else b"")
    return b"\x32" + varint(len(variable) + size) + variable


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("closed")
        data += part
    return data


def read_packet(sock: socket.socket) -> tuple[int, bytes]:
    """One MQTT packet: (first byte, body)."""
    first = _recv_exact(sock, 1)[0]
    length, mult = 0, 1
    while True:
        byte = _recv_exact(sock, 1)[0]
        length += (byte & 127) * mult
        mult *= 128
        if not byte & 128:
            break
    return first, _recv_exact(sock, length)


class StreamingPublisher:
    """A bare MQTT 3.1.1 client on a raw socket that can publish payloads of any size without holding them."""

    def __init__(self, host: str, port: int, client_id: str = "big-publisher") -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        body = _string("MQTT") + b"\x04\x02" + struct.pack("!H", 60) + _string(client_id)
        self.sock.sendall(b"\x10" + varint(len(body)) + body)
        first, connack = read_packet(self.sock)
        assert first == 0x20 and connack[1] == 0, (first, connack)
        self.sent = 0

    def publish(self, topic: str, size: int, mid: int = 1) -> bool:
        """QoS 1; True when PUBACKed, False when the broker closed the connection instead."""
        self.sent = 0
        try:
            self.sock.sendall(publish_header(topic, size, mid))
            left = size
            while left:
                chunk = CHUNK if left >= len(CHUNK) else CHUNK[:left]
                self.sock.sendall(chunk)
                left -= len(chunk)
                self.sent += len(chunk)
            first, body = read_packet(self.sock)
        except (ConnectionError, OSError):
            return False
        return first == 0x40 and body[:2] == struct.pack("!H", mid)

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")
        except OSError:
            pass
        self.sock.close()


class OversizeBroker:
    """A fake MQTT 5 broker on loopback: accepts CONNECT (kept in `connects`), answers CONNACK, then announces a
    PUBLISH of `size` bytes on `topic` and streams it until the client hangs up (`streamed` bytes got out)."""

    def __init__(self, size: int, topic: str = "kassa/v1/S001/R1/commands") -> None:
        self.size, self.topic = size, topic
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connects: list[bytes] = []
        self.streamed = 0
        self.hung_up = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(30)
            try:
                first, body = read_packet(conn)
                self.connects.append(bytes([first]) + body)
                conn.sendall(b"\x20\x03\x00\x00\x00")  # CONNACK: session not present, success, no properties
                conn.sendall(publish_header(self.topic, self.size, mqtt5=True))
                left = self.size
                while left:
                    chunk = CHUNK if left >= len(CHUNK) else CHUNK[:left]
                    conn.sendall(chunk)
                    left -= len(chunk)
                    self.streamed += len(chunk)
                conn.recv(1)
            except OSError:
                pass
            finally:
                self.hung_up.set()

    def close(self) -> None:
        self.server.close()


def connect_properties(connect_packet: bytes) -> dict[str, object]:
    """The properties of an MQTT 5 CONNECT (as read off the wire, first byte included)."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    body = connect_packet[1:]
    # protocol name, level, flags, keepalive
    at = 2 + struct.unpack("!H", body[:2])[0] + 1 + 1 + 2
    props = Properties(PacketTypes.CONNECT)
    props.unpack(body[at:])
    return props.json()


class ConnectRecorder:
    """A TCP listener that records the first packet (the CONNECT) of each connection, then hangs up."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connects: list[bytes] = []
        self.got = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    first, body = read_packet(conn)
                    self.connects.append(bytes([first]) + body)
                except OSError:
                    pass
                self.got.set()

    def close(self) -> None:
        self.server.close()


def _status(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def rss(pid: int | str = "self") -> int:
    """Resident set size in bytes."""
    return _status(pid, "VmRSS")


class PeakRss:
    """The peak RSS of a process (default: this one) between start() and peak(); resets the kernel's high-water
    mark (`/proc/PID/clear_refs` 5)."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid = pid
        self.before = 0

    def start(self) -> PeakRss:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.before = rss(self.pid)
        return self

    def peak(self) -> int:
        return _status(self.pid, "VmHWM")

    @property
    def growth(self) -> int:
        return self.peak() - self.before
