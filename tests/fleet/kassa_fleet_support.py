"""Helpers for fleet tests: the ingest worker as a real process, a bare test device, and database reads."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.chain import canonical_json
from firmware.contract import DeviceTopics

ROOT = Path(__file__).resolve().parents[2]


class IngestProcess:
    """`kassa-fleet ingest` in its own process (so a test can SIGKILL it)."""

    def __init__(self, url: str, db: Path | str, workdir: Path, *, client_id: str = "ingest-1",
                 args: tuple[str, ...] = ()):
        self.url, self.db, self.client_id, self.args = url, db, client_id, args
        self.log_path = Path(workdir) / f"{client_id}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> IngestProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet.cli", "ingest", "--broker", self.url, "--db",
             self.db if isinstance(self.db, str) and "://" in self.db else f"sqlite:///{self.db}",
             "--client-id", self.client_id, *self.args],
            cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        log.close()
        if wait:
            deadline = time.monotonic() + 15
            while "subscribed" not in self.log_path.read_text(errors="replace"):
                assert self.proc.poll() is None, self.log_path.read_text()
                assert time.monotonic() < deadline, "ingest did not subscribe:\n" + self.log_path.read_text()
                time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            return self.proc.wait(15)
        return self.proc.returncode if self.proc else 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class BareDevice:
    """A test stand-in for a register: publishes receipts with bare paho, records acks and commands."""

    def __init__(self, url: str, store: str = "S001", register: str = "R1") -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.topics = DeviceTopics(store, register)
        self.acked: set[str] = set()
        self.conflicted: set[str] = set()
        self.heads: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{store}-{register}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_a: c.subscribe(
            [(self.topics.acks, SubscribeOptions(qos=1)), (self.topics.commands, SubscribeOptions(qos=1))])
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert ready.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return  # junk a test injected on purpose
        if not isinstance(doc, dict):
            return
        with self.lock:
            if msg.topic == self.topics.acks:
                self.acked.update(doc.get("receipt_ids") or [])
                self.conflicted.update(doc.get("conflict_ids") or [])
                if doc.get("head"):
                    self.heads.append(doc["head"])
            elif msg.topic == self.topics.commands:
                self.commands.append(doc)

    def send(self, receipts: list[dict[str, Any]]) -> None:
        infos = [self.client.publish(self.topics.receipts, canonical_json(r), qos=1) for r in receipts]
        for info in infos:
            info.wait_for_publish(10)

    def publish(self, topic: str, payload: bytes | str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def wait_acked(self, ids: set[str], timeout: float = 20.0) -> set[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if ids <= self.acked:
                    return set()
            time.sleep(0.02)
        with self.lock:
            return ids - self.acked

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def db_query(db: Path | str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with ? placeholders) from a fleet SQLite file or a postgresql:// URL."""
    if isinstance(db, str) and db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), args).fetchall()]
    path = str(db).removeprefix("sqlite:///")
    with sqlite3.connect(path, timeout=30) as conn:
        return list(conn.execute(sql, args))


def db_receipts(db: Path | str) -> list[tuple[str, str, int]]:
    """(receipt_id, epoch, seq) of every row, ordered by seq."""
    return db_query(db, "SELECT receipt_id, epoch, seq FROM receipts ORDER BY store, register, epoch, seq")  # type: ignore[return-value]


def assert_exactly_once(db: Path, n: int, register: str = "R1") -> None:
    """Every seq 1..n of `register` exactly once (receipt_id is the primary key), nothing else."""
    rows = db_query(db, "SELECT seq FROM receipts WHERE register=? ORDER BY seq", register)
    seqs = [r[0] for r in rows]
    missing = sorted(set(range(1, n + 1)) - set(seqs))
    assert not missing, f"{len(missing)} receipts missing, e.g. {missing[:10]}"
    assert seqs == list(range(1, n + 1)), "duplicates or extra seqs in the fleet database"


@contextmanager
def ingest_thread(broker_url: str, db_url: str, options: Any) -> Iterator[Any]:
    """An `IngestWorker` on its own thread against a real broker and database, subscribed before it is yielded;
    stopped and joined (it must end) after."""
    from fleet.broker import BrokerSettings
    from fleet.db import FleetDb
    from fleet.ingest import IngestWorker

    db = FleetDb(db_url)
    worker = IngestWorker(BrokerSettings(broker_url), db, options)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert worker.subscribed.wait(10)
        yield worker
    finally:
        stop.set()
        thread.join(10)
        db.close()
    assert not thread.is_alive()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `predicate` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
