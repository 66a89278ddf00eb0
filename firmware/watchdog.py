"""systemd readiness and watchdog pings (sd_notify), throttled so the main loop can call it every frame.

Outside systemd (no NOTIFY_SOCKET) every call is a no-op. The main loop pings;
a hung UI stops pinging and systemd's WatchdogSec restarts the process, which
is always safe because the journal is the truth.
"""

from __future__ import annotations

import os
import time


class Watchdog:
    """`ready()` once started, `ping()` from the main loop, `stopping()` on the way out."""

    def __init__(self, interval: float | None = None) -> None:
        self._enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        usec = os.environ.get("WATCHDOG_USEC")
        # ping at a third of systemd's timeout so one slow frame never trips it
        self._interval = interval if interval is not None else (int(usec) / 3e6 if usec else 5.0)
        self._last = 0.0
        self._notifier = None
        if self._enabled:
            import sdnotify

            self._notifier = sdnotify.SystemdNotifier()

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)

    def ready(self, status: str = "register ready") -> None:
        self._send(f"READY=1\nSTATUS={status}")

    def ping(self) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")
