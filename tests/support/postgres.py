"""A throwaway PostgreSQL cluster on a loopback port, started and killed by pid for fault tests.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user that
Debian's package creates (its data dir is handed over to it); otherwise it runs as the current user.
`kill()` sends SIGKILL to the postmaster (a crash: it recovers from its WAL on `start()`), `stop()` a
fast shutdown. The database `kassa` is created on first start; `url` is a psycopg conninfo URL.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.net import free_port, wait_listening


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


BINDIR = _bindir()


def _state(pid: int) -> str:
    try:
        return "zombie" if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" else "alive"
    except OSError:
        return "zombie"


class Postgres:
    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        if BINDIR is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        # as root the `postgres` user must reach the cluster: pytest's private temp dirs are 0700 root
        self.workdir = Path(workdir) if workdir and os.geteuid() != 0 else Path(tempfile.mkdtemp(prefix="kassa-pg-"))
        self.data = self.workdir / "pgdata"
        self.sockets = self.workdir / "pgsock"
        self.port = port or free_port()
        self.log_path = self.workdir / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        user = "postgres" if self._as_postgres else os.environ.get("USER", "postgres")
        return f"postgresql://{user}@127.0.0.1:{self.port}/kassa"

    def _cmd(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self._as_postgres else list(argv)

    def _own(self, path: Path) -> None:
        if self._as_postgres:
            shutil.chown(path, "postgres", "postgres")

    def start(self) -> Postgres:
        if self.proc and self.proc.poll() is None:
            return self
        fresh = not self.data.exists()
        if fresh:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._own(self.workdir)
            self.data.mkdir(mode=0o700)
            self._own(self.data)
            subprocess.run(self._cmd(str(BINDIR / "initdb"), "-D", str(self.data), "-A", "trust", "-E", "UTF8",
                                     "--no-sync"), check=True, capture_output=True)
            self.sockets.mkdir(exist_ok=True)
            self._own(self.sockets)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self._cmd(str(BINDIR / "postgres"), "-D", str(self.data), "-p", str(self.port), "-c",
                      "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.sockets}",
                      "-c", "fsync=on", "-c", "max_connections=200"),
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_listening(self.port, timeout=30)
        deadline = time.monotonic() + 30
        while True:  # listening is not yet accepting: wait for a real query
            done = subprocess.run(self._cmd(str(BINDIR / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                                            "-d", "postgres", "-Atc", "SELECT 1"), capture_output=True)
            if done.returncode == 0:
                break
            assert time.monotonic() < deadline, self.log_path.read_text(errors="replace")
            time.sleep(0.1)
        if fresh:
            subprocess.run(self._cmd(str(BINDIR / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "kassa"),
                           check=True, capture_output=True)
        return self

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend it started (a crash); WAL recovery runs on `start()`."""
        pid = self._postmaster_pid()
        victims = [pid] if pid else []
        if pid:
            for stat in glob.glob("/proc/[0-9]*/stat"):
                try:
                    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if fields and int(fields[1]) == pid:
                    victims.append(int(Path(stat).parent.name))
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{v}").exists() and "zombie" not in _state(v) for v in victims):
            assert time.monotonic() < deadline, "postgres did not die"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def remove(self) -> None:
        """Kill the cluster and delete its files."""
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and Path(f"/proc/{pid}").exists() and _state(pid) != "zombie"

    def psql(self, sql: str, *, attempts: int = 3) -> str:
        """Run one statement as the superuser; a failure raises with psql's own message."""
        for attempt in range(attempts):
            done = subprocess.run(self._cmd(str(BINDIR / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-d",
                                            "kassa", "-Atc", sql), capture_output=True, text=True)
            if done.returncode == 0:
                return done.stdout.strip()
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"psql {sql!r} failed: {done.stderr.strip()}")
