"""A real Mosquitto broker on a loopback port, started and killed by PID for fault tests.

Persistence is on with `autosave_interval 1` by default. `kill()` sends SIGKILL
(a crash: whatever was not autosaved is forgotten), `stop()` SIGTERM (a clean
shutdown that saves), `start()` brings it back on the same port and data dir.
Extra config lines (ACLs, TLS listeners) can be passed in.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.net import free_port, wait_listening

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    """One broker process; `url` is mqtt://127.0.0.1:PORT."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        extra_config: str = "",
        anonymous: bool = True,
        autosave_interval: int = 1,
        max_inflight: int = 1000,
        listener: bool = True,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_config = extra_config
        self.anonymous = anonymous
        self.autosave_interval = autosave_interval
        self.max_inflight = max_inflight
        self.listener = listener
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        lines = []
        if self.listener:
            lines.append(f"listener {self.port} 127.0.0.1")
            lines.append(f"allow_anonymous {'true' if self.anonymous else 'false'}")
        lines += [
            "persistence true",
            f"persistence_location {self.workdir}/",
            f"autosave_interval {self.autosave_interval}",
            f"max_inflight_messages {self.max_inflight}",
            "max_queued_messages 100000",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "per_listener_settings false" if "per_listener_settings" not in self.extra_config else "",
            # as root Mosquitto drops to the `mosquitto` user, which cannot write pytest's private temp dirs
            "user root" if os.geteuid() == 0 and "\nuser " not in "\n" + self.extra_config else "",
        ]
        self.conf_path.write_text("\n".join(lines) + "\n" + self.extra_config + "\n")

    def start(self, wait_port: int | None = None) -> Mosquitto:
        if self.proc and self.proc.poll() is None:
            return self
        self._write_config()
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_listening(wait_port or self.port, timeout=10)
        except TimeoutError:
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None and self.proc.stderr else ""
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start: {err}\n{log}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: a crash; unsaved messages are forgotten."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown that saves persistence."""
        self._signal(signal.SIGTERM)

    def save(self) -> None:
        """SIGUSR1 asks Mosquitto to write its persistence file now."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGUSR1)

    def _signal(self, sig: signal.Signals) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()

    def restart(self, *, crash: bool = True) -> None:
        (self.kill if crash else self.stop)()
        time.sleep(0.05)
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
