"""sd_notify for systemd's Type=notify and WatchdogSec: real datagrams on a NOTIFY_SOCKET, throttled pings."""

from __future__ import annotations

import socket

from firmware.watchdog import Watchdog


def test_ready_pings_and_stopping_reach_systemds_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    try:
        dog = Watchdog()
        dog.ready()
        assert server.recv(256).decode().startswith("READY=1")
        for _ in range(100):  # a frame loop: only the first ping goes out within the interval (10 s here)
            dog.ping()
        assert server.recv(256) == b"WATCHDOG=1"
        dog.stopping()
        assert server.recv(256) == b"STOPPING=1"
    finally:
        server.close()


def test_without_systemd_every_call_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    dog = Watchdog()
    dog.ready()
    dog.ping()
    dog.stopping()
    assert dog._notifier is None
