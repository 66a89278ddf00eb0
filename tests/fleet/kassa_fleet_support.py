"""Helpers for fleet tests: the ingest worker as a real process, a bare test device, database reads, and the
ledger's final check (`assert_ledger_sound`)."""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.chain import canonical_json
from firmware.contract import DeviceTopics
from firmware.contract.receipt_id import parse_receipt_id

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

    def __init__(self, url: str, store: str = "S001", register: str = "R1", *, username: str | None = None,
                 password: str | None = None) -> None:
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
        if username is not None:  # a broker with the documented ACL: log in as this register's own user
            self.client.username_pw_set(username, password)
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


def db_execute(db: Path | str, sql: str, *args: Any) -> None:
    """Run one changing statement (with ? placeholders) on a fleet SQLite file or a postgresql:// URL, committed."""
    if isinstance(db, str) and db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            conn.execute(sql.replace("?", "%s"), args)
        return
    path = str(db).removeprefix("sqlite:///")
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute(sql, args)


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


# ---- the ledger's final check (issue 11): nothing lost without an alarm naming it, nothing forged confirmed ----


@dataclass
class Sold:
    """What one genuine device's journal sold (receipt documents with `receipt_id` and `hash`), and the ids
    that journal received confirmations for. A restored copy is another journal: another `Sold`."""

    store: str
    register: str
    receipts: list[dict[str, Any]]
    confirmed: set[str] = field(default_factory=set)


def fleet_status_json(db: Path | str) -> dict[tuple[str, str], dict[str, Any]]:
    """`kassa-fleet status --json`, as an engineer runs it, per (store, register)."""
    out = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", str(db), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return {(r["store"], r["register"]): r for r in json.loads(out.stdout)}


def _alarm_naming(row: dict[str, Any] | None, epoch: str, seq: int, digest: str) -> str | None:
    """The alarm of `kassa-fleet status` that names receipt (epoch, seq) of this register, or None."""
    if row is None:
        return None

    def alarmed(prefix: str, what: str) -> str | None:
        return what if any(a.startswith(prefix) for a in row["alarms"]) else None

    for c in row["conflicts"]:  # the fleet holds another receipt under its id, and kept this one beside it
        if c["epoch"] == epoch and c["seq"] == seq and c["hash"] == digest:
            return alarmed("conflict:", f"conflict {c['receipt_id']}")
    for x in row["lost"]:
        if x["epoch"] == epoch and seq <= x["head_seq"]:
            return alarmed("lost:", f"lost {x['missing']} of epoch {epoch} up to seq {x['head_seq']}")
    for gap in row["gaps"]:
        gap_epoch, _, span = gap.rpartition(":")
        low, _, high = span.partition("-")
        if gap_epoch == epoch and int(low) <= seq <= int(high):
            return f"gap {gap}"
    for r in row["rollbacks"]:
        if r["epoch"] == epoch and seq > r["device_seq"]:
            return alarmed("rollback:", f"rollback of epoch {epoch} to seq {r['device_seq']}")
    for x in row["restarts"]:  # the register began an epoch from nothing: its other epochs may have lost receipts
        if x["epoch"] != epoch:
            return alarmed("journal restarted:", f"journal restarted in epoch {x['epoch']}")
    return None


def assert_ledger_sound(db: Path | str, sold: list[Sold]) -> dict[str, int]:
    """The check every ledger attack test ends with (docs/ledger-integrity.md):

    - nothing lost without an alarm that names it: every receipt a genuine device sold is stored at the fleet
      under (store, register, epoch, seq) with that device's hash, or named by an alarm in `kassa-fleet status
      --json` (a conflict holding it, a loss or gap covering its seq, a rollback past it, a journal restart);
    - nothing forged is confirmed: every id a device received a confirmation for is one it sold, stored with
      the hash it sold.

    Stores are taken from `Sold` (the authenticated topic), so 1.0 ids are checked too. Returns counts
    (`stored`, `alarmed`, `confirmed`); raises AssertionError naming every receipt that fails.
    """
    stored = {(s, r, e, q): h for s, r, e, q, h in db_query(
        db, "SELECT store, register, epoch, seq, hash FROM receipts")}
    status = fleet_status_json(db)
    silent: list[str] = []
    forged: list[str] = []
    counts = {"stored": 0, "alarmed": 0, "confirmed": 0}
    for device in sold:
        row = status.get((device.store, device.register))
        hashes: dict[str, str] = {}
        for receipt in device.receipts:
            rid, digest = receipt["receipt_id"], receipt["hash"]
            assert hashes.setdefault(rid, digest) == digest, f"{rid} twice in one journal: give each journal a Sold"
            key = parse_receipt_id(rid)
            assert key is not None, f"not a receipt id: {rid!r}"
            if stored.get((device.store, device.register, key.epoch, key.seq)) == digest:
                counts["stored"] += 1
            elif _alarm_naming(row, key.epoch, key.seq, digest) is not None:
                counts["alarmed"] += 1
            else:
                held = stored.get((device.store, device.register, key.epoch, key.seq))
                silent.append(f"{device.store}/{device.register} {rid}: "
                              + ("not at the fleet" if held is None else f"the fleet holds hash {held[:12]}, "
                                 f"not the {digest[:12]} sold") + ", and no alarm names it")
        for rid in sorted(device.confirmed):
            key = parse_receipt_id(rid)
            held = stored.get((device.store, device.register, key.epoch, key.seq)) if key else None
            if rid not in hashes:
                forged.append(f"{device.store}/{device.register} was confirmed {rid}, which it never sold")
            elif held != hashes[rid]:
                forged.append(f"{device.store}/{device.register} was confirmed {rid}, but the fleet holds "
                              f"{'nothing' if held is None else 'hash ' + held[:12]} under it, not the "
                              f"{hashes[rid][:12]} it sold")
            else:
                counts["confirmed"] += 1
    problems = [f"lost without an alarm naming it: {x}" for x in silent]
    problems += [f"forged confirmed: {x}" for x in forged]
    assert not problems, "ledger not sound:\n  " + "\n  ".join(problems[:50]) + (
        f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else "")
    return counts


def journal_sold(data_dir: Path, store: str, register: str) -> Sold:
    """A real register's journal (the register shut down) as `Sold`: every receipt, and those confirmed."""
    from firmware.clock import SystemClock
    from firmware.journal.journal import Journal

    journal = Journal.open(data_dir, store=store, register=register, clock=SystemClock(), create=False)
    try:
        receipts = list(journal.iter_receipts())
        confirmed = {r["receipt_id"] for r in receipts
                     if (journal.delivery(r["seq"]) or {}).get("state") == "confirmed"}
    finally:
        journal.close()
    return Sold(store, register, receipts, confirmed)
