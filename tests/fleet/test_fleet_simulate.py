"""`kassa-fleet simulate` against a real Mosquitto and the real ingest: everything made confirmed and found once."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from fleet.broker import BrokerSettings
from fleet.db import FleetDb
from fleet.ingest import IngestOptions, IngestWorker
from fleet.sim_device import DeviceOptions
from fleet.simulate import SimOptions, render, run
from tests.fleet.kassa_fleet_support import ROOT, db_query
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real brokers and ingest processes, many receipts


@contextlib.contextmanager
def ingest(broker_url: str, db_url: str, client_id: str = "ingest-1") -> Iterator[IngestWorker]:
    """The real ingest worker on a thread of the test process."""
    stop = threading.Event()
    database = FleetDb(db_url)
    worker = IngestWorker(BrokerSettings(broker_url), database,
                          IngestOptions(client_id=client_id, backoff_cap=1.0, gap_grace=3.0, gap_check_every=1.0))
    thread = threading.Thread(target=worker.run, args=(stop,), name=client_id, daemon=True)
    thread.start()
    try:
        assert worker.subscribed.wait(10), "the ingest did not subscribe"
        yield worker
    finally:
        stop.set()
        thread.join(15)
        database.close()


def exactly_once(db_url: str, summary: dict) -> None:
    """The test's own check, beside the simulator's: rows of the run's stores, one per receipt made."""
    rows = db_query(db_url, "SELECT store, register, epoch, seq, hash FROM receipts WHERE store LIKE ?",
                    summary["store_prefix"] + "%")
    keys = [(s, r, e, q) for s, r, e, q, _h in rows]
    assert len(keys) == len(set(keys)) == summary["made"]


def test_fifty_registers_with_a_backlog_and_an_offline_wave_all_confirmed_and_found_once(tmp_path):
    with Mosquitto(tmp_path / "broker") as broker:
        db_url = f"sqlite:///{tmp_path / 'fleet.db'}"
        with ingest(broker.url, db_url):
            summary = run(SimOptions(
                registers=50, processes=2, rate=1.0, duration=4.0, backlog=8, offline_wave=0.2, offline_at=1.0,
                offline_for=1.5, brokers=(broker.url,), db=db_url, real=1, drain_timeout=30.0, seed=7,
                device=DeviceOptions(window=5, resend_after=5.0)))
    print(render(summary))
    assert summary["ok"], render(summary)
    assert summary["made"] >= 51 * 8 and summary["confirmed"] == summary["made"]
    assert summary["database"]["found"] == summary["made"]
    assert summary["database"]["extra"] == summary["database"]["missing"] == 0
    assert summary["offline_drops"] >= 3  # ~20 % of 50 registers dropped their link mid-run
    assert summary["max_unconfirmed_per_register"] <= 5  # the window holds
    assert summary["latency_s"]["p50"] is not None and summary["latency_s"]["p99"] >= summary["latency_s"]["p50"]
    exactly_once(db_url, summary)
    real = db_query(db_url, "SELECT COUNT(*) FROM receipts WHERE store=? AND register=?",
                    *SimOptions(store_prefix=summary["store_prefix"]).identity(50)[:2])
    assert real[0][0] >= 8  # the real register's backlog and sales arrived too


def test_a_broker_crash_mid_run_and_still_everything_is_confirmed_without_a_herd(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    n = 40
    try:
        db_url = f"sqlite:///{tmp_path / 'fleet.db'}"
        with ingest(broker.url, db_url):
            def crash() -> None:
                time.sleep(2.5)
                broker.kill()  # SIGKILL: what was not autosaved is forgotten
                time.sleep(1.5)
                broker.start()

            crasher = threading.Thread(target=crash)
            crasher.start()
            summary = run(SimOptions(registers=n, rate=1.0, duration=5.0, backlog=3, brokers=(broker.url,), db=db_url,
                                     ramp=1.0, drain_timeout=40.0, seed=11,
                                     device=DeviceOptions(resend_after=5.0, hello_timeout=5.0)))
            crasher.join()
    finally:
        broker.kill()
    print(render(summary))
    assert summary["ok"], render(summary)
    assert summary["disconnects"] >= n  # every register lost its link once
    connects = summary["connects"]
    assert connects["total"] >= 2 * n
    # the figure is reported; backoff with full jitter keeps the reconnects of all registers out of one second
    assert 0 < connects["max_share"] < 1 and connects["histogram"]
    reconnects = summary["reconnects"]
    assert reconnects["total"] >= n
    assert reconnects["max_per_second"] < 0.8 * reconnects["total"], reconnects["histogram"]
    exactly_once(db_url, summary)


def test_two_brokers_each_with_its_ingest_on_one_database_via_the_cli(tmp_path):
    # K=2: register i uses broker i % 2. Until the ingest subscribes to several brokers, one worker per broker.
    with Mosquitto(tmp_path / "b1") as b1, Mosquitto(tmp_path / "b2") as b2:
        db_url = f"sqlite:///{tmp_path / 'fleet.db'}"
        FleetDb(db_url).close()  # migrated once, before two workers open it
        with ingest(b1.url, db_url, "ingest-b1"), ingest(b2.url, db_url, "ingest-b2"):
            out = subprocess.run(
                [sys.executable, "-m", "fleet.cli", "simulate", "--registers", "20", "--processes", "2",
                 "--rate", "1", "--duration", "2", "--backlog", "4", "--broker", b1.url, "--broker", b2.url,
                 "--db", db_url, "--store-prefix", "K2-", "--drain-timeout", "30", "--json"],
                cwd=ROOT, capture_output=True, text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary["ok"] and summary["store_prefix"] == "K2-"
    per = summary["per_broker"]
    assert per[b1.url]["registers"] == per[b2.url]["registers"] == 10
    assert per[b1.url]["confirmed"] == per[b1.url]["made"] > 0 and per[b2.url]["confirmed"] == per[b2.url]["made"] > 0
    assert summary["database"]["found"] == summary["made"]
    assert "max_share" in summary["connects"]
    exactly_once(db_url, summary)
    # each register's receipts came through its own broker: both workers wrote to the one database
    stores = {s for (s,) in db_query(db_url, "SELECT DISTINCT store || '/' || register FROM receipts")}
    assert len(stores) == 20


def test_the_human_summary_says_what_failed(tmp_path):
    # nothing listens there: the registers sell offline, nothing is confirmed, exit status would be 1
    summary = run(SimOptions(registers=3, rate=0.0, duration=0.5, backlog=2, brokers=("mqtt://127.0.0.1:9",),
                             drain_timeout=0.5, device=DeviceOptions(backoff_base=0.1)))
    assert not summary["ok"] and summary["made"] == 6 and summary["unconfirmed"] == 6
    text = render(summary)
    assert "FAILED" in text and "not checked" in text


def test_the_check_reads_a_postgresql_fleet_database(tmp_path, postgres):
    from tests.fleet.conftest import fresh_database

    db_url = fresh_database(postgres)
    with Mosquitto(tmp_path / "broker") as broker, ingest(broker.url, db_url):
        summary = run(SimOptions(registers=10, rate=1.0, duration=1.5, backlog=3, brokers=(broker.url,), db=db_url,
                                 store_prefix="PG_", drain_timeout=20.0))
    assert summary["ok"], render(summary)
    assert summary["database"]["found"] == summary["made"] == summary["database"]["rows"]
    exactly_once(db_url, summary)
