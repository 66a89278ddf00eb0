"""The fleet at scale: several ingest processes on one PostgreSQL, split brokers, the gap-check leader killed,
PostgreSQL killed mid-drain. Real processes, real Mosquitto, real PostgreSQL."""

from __future__ import annotations

import time

import pytest

from tests.contract.kassa_samples import make_chain
from tests.fleet.conftest import fresh_database
from tests.fleet.kassa_fleet_support import BareDevice, IngestProcess, db_query
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real brokers and ingest processes, many receipts

FAST = ("--gap-grace", "0.3", "--resend-every", "1", "--unsigned")  # the test devices pin no fleet key


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def exactly_once(url, store, register, n):
    rows = db_query(url, "SELECT seq FROM receipts WHERE store=? AND register=? ORDER BY seq", store, register)
    assert [r[0] for r in rows] == list(range(1, n + 1)), f"{store}/{register}: lost or duplicated receipts"


def test_two_workers_on_postgres_share_the_load_and_survive_a_kill_and_a_database_crash(mosquitto, postgres, tmp_path):
    url = fresh_database(postgres)
    workers = [IngestProcess(mosquitto.url, url, tmp_path, client_id=f"w{i}", args=FAST).start() for i in (1, 2)]
    devices = [BareDevice(mosquitto.url, "S001", f"R{i}") for i in range(1, 9)]
    chains = {d.topics.register: make_chain(300, register=d.topics.register, id_store="S001") for d in devices}
    try:
        for d in devices:
            d.send(chains[d.topics.register][:100])
        workers[0].kill()  # mid-drain: whatever it had not committed is re-sent by the devices below
        for d in devices:
            d.send(chains[d.topics.register][100:200])
        postgres.kill()  # the database crashes: the surviving worker keeps what comes now unacked
        for d in devices:
            d.send(chains[d.topics.register][200:])
        wait_for(lambda: "keeping" in workers[1].log(), what="the worker to hold its batch")
        postgres.start()
        for d in devices:  # a device re-sends what it has not seen confirmed
            chain = chains[d.topics.register]
            deadline = time.monotonic() + 60
            while (missing := {r["receipt_id"] for r in chain} - d.acked) and time.monotonic() < deadline:
                d.send([r for r in chain if r["receipt_id"] in missing])
                time.sleep(1.0)
            assert not missing, f"{d.topics.register}: {len(missing)} never confirmed"
    finally:
        for w in workers:
            w.kill()
        for d in devices:
            d.close()
        if not postgres.running():
            postgres.start()
    for d in devices:
        exactly_once(url, "S001", d.topics.register, 300)
    assert "keeping" in workers[1].log()  # it held its batch unacked while PostgreSQL was down
    assert db_query(url, "SELECT COUNT(*) FROM conflicts") == [(0,)]


def test_the_gap_check_leader_is_killed_and_another_worker_takes_over(mosquitto, postgres, tmp_path):
    url = fresh_database(postgres)
    first = IngestProcess(mosquitto.url, url, tmp_path, client_id="lead-1", args=FAST).start()
    time.sleep(1.5)  # it takes the leader lock on its first gap cycle
    second = IngestProcess(mosquitto.url, url, tmp_path, client_id="lead-2", args=FAST).start()
    device = BareDevice(mosquitto.url)
    chain = make_chain(20, id_store="S001")
    try:
        device.send(chain[:4] + chain[5:10])  # seq 5 missing
        wait_for(lambda: any(c["args"]["from_seq"] == 5 for c in device.commands), what="a resend for seq 5")
        askers = {row[0] for row in db_query(url, "SELECT store FROM commands")}
        assert askers == {"S001"}
        first.kill()
        device.commands.clear()
        device.send(chain[10:14] + chain[15:])  # seq 15 missing too
        wait_for(lambda: any(c["args"]["from_seq"] == 15 for c in device.commands), timeout=30,
                 what="the other worker to take over the gap checks")
        assert "gap check" not in second.log() or "Traceback" not in second.log()
    finally:
        first.kill()
        second.kill()
        device.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_stores_split_over_two_brokers_reach_one_ingest(tmp_path, database, request):
    brokers = [Mosquitto(tmp_path / f"b{i}").start() for i in (1, 2)]
    url = (f"sqlite:///{tmp_path / 'fleet.db'}" if database == "sqlite"
           else fresh_database(request.getfixturevalue("postgres")))
    ingest = IngestProcess(brokers[0].url, url, tmp_path, args=("--broker", brokers[1].url, *FAST)).start()
    devices = [BareDevice(brokers[i % 2].url, f"S00{i}", "R1") for i in range(4)]
    try:
        for d in devices:
            chain = make_chain(50, store=d.topics.store, id_store=d.topics.store)
            d.send(chain)
            assert d.wait_acked({r["receipt_id"] for r in chain}) == set()
        # a gap on the second broker is asked for on the second broker
        chain = make_chain(10, store="S001", register="R2", id_store="S001")
        late = BareDevice(brokers[1].url, "S001", "R2")
        late.send(chain[:3] + chain[4:])
        wait_for(lambda: late.commands, what="a resend on the device's own broker")
        late.send([chain[3]])
        assert late.wait_acked({r["receipt_id"] for r in chain}) == set()
        late.close()
    finally:
        ingest.kill()
        for d in devices:
            d.close()
        for b in brokers:
            b.kill()
    for d in devices:
        exactly_once(url, d.topics.store, "R1", 50)
