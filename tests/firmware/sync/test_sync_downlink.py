"""Downlink and commands through a real broker: valid messages applied, anything else rejected without a crash."""

from __future__ import annotations

import json
import queue

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.clock import SystemClock
from firmware.stores import catalog_store, clerk_store
from firmware.sync import CatalogReceived, ClerksReceived, CommandReceived, PublishRefused, SyncService
from tests.contract.kassa_recorder import SchemaRecorder
from tests.contract.kassa_samples import CATALOG, CLERKS
from tests.firmware.sync.kassa_sync_support import commit, device_config, drain, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.fleet.kassa_fleet_support import BareDevice, assert_exactly_once, db_query
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real Mosquitto brokers, waits on the network


@pytest.fixture
def device(mosquitto, tmp_path):
    journal = open_journal(tmp_path / "dev")
    events: queue.Queue = queue.Queue()
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), events)
    service.start()
    wait_for(lambda: service.state().online, 10, "online")
    fleet_side = BareDevice(mosquitto.url, register="fleet-probe")  # a bare client acting as the fleet
    yield service, journal, events, fleet_side
    fleet_side.close()
    service.stop()
    journal.close()


def _publish(client: BareDevice, topic: str, payload, retain: bool = False) -> None:
    client.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def test_catalog_and_clerks_applied_atomically_older_versions_ignored(device, tmp_path):
    service, _journal, events, fleet_side = device
    t = service.topics
    _publish(fleet_side, t.catalog, json.dumps(CATALOG), retain=True)
    _publish(fleet_side, t.clerks, json.dumps(CLERKS), retain=True)
    got = wait_for(lambda: [e for e in list(events.queue) if isinstance(e, (CatalogReceived, ClerksReceived))]
                   if len([e for e in list(events.queue) if isinstance(e, (CatalogReceived, ClerksReceived))]) == 2
                   else None, 10, "both applied")
    assert {type(e) for e in got} == {CatalogReceived, ClerksReceived}
    # built and checked on the sync thread, handed over whole: the register does not build it again
    [cat] = [e for e in got if isinstance(e, CatalogReceived)]
    [roster] = [e for e in got if isinstance(e, ClerksReceived)]
    assert (type(cat.catalog).__name__, cat.catalog.version) == ("Catalog", 3)
    assert (type(roster.roster).__name__, roster.roster.version) == ("Roster", 2)
    assert catalog_store(tmp_path / "dev").version == 3 and clerk_store(tmp_path / "dev").version == 2
    drain(events)
    _publish(fleet_side, t.catalog, json.dumps({**CATALOG, "version": 2, "items": []}), retain=True)
    _publish(fleet_side, t.catalog, json.dumps({**CATALOG, "version": 9, "quick_keys": [{"label": "x", "sku": "?"}]}))
    wait_for(lambda: service.state().downlink_rejected >= 1, 10, "bad catalog rejected")
    assert catalog_store(tmp_path / "dev").load()["version"] == 3
    assert not [e for e in drain(events) if isinstance(e, CatalogReceived)]


JUNK = [b"", b"null", b"[]", b"{", b"\xff\xfe", b'{"version": "9"}', b'{"receipt_ids": "R1:x:1"}',
        b'{"command_id": "c9", "command": "open_drawer", "args": {}}', b"{" * 5000 + b"}" * 5000,
        json.dumps({**CATALOG, "version": 10, "items": [{"sku": "1", "name": "x" * 10, "price": 1, "tax_code": "A"}] *
                    60_000}).encode()]


def test_junk_on_every_downlink_topic_is_rejected_and_the_device_lives_on(device, mosquitto, tmp_path, watcher):
    service, journal, events, fleet_side = device
    recorder = SchemaRecorder(mosquitto.url)
    t = service.topics
    recorder.ignore |= {t.acks, t.commands, t.catalog, t.clerks}
    for topic in (t.acks, t.commands, t.catalog, t.clerks):
        for junk in JUNK:
            _publish(fleet_side, topic, junk)
    # a bad command with a readable id is answered, not ignored
    answer = wait_for(lambda: next((c for c in watcher.results if c.get("command_id") == "c9"), None), 10, "c9")
    assert answer["ok"] is False and "open_drawer" in answer["detail"]
    commit(journal, 3)
    fleet = Fleet(mosquitto.url, tmp_path / "fleet.db")
    try:
        wait_for(lambda: service.state().confirmed == 3, 20, "still syncing")
        _publish(fleet_side, t.catalog, json.dumps({**CATALOG, "version": 11}), retain=True)
        wait_for(lambda: catalog_store(tmp_path / "dev").version == 11, 10, "valid catalog after junk")
    finally:
        fleet.close()
        recorder.close()
    assert service.state().downlink_rejected >= 4 * len(JUNK) - 4  # empty payloads on catalog/clerks are "cleared"
    assert recorder.problems == []


@pytest.fixture
def watcher(mosquitto):
    """A fleet-side client that records command results."""
    w = BareDevice(mosquitto.url, register="R1")
    w.results = []
    w.client.subscribe("kassa/v1/S001/R1/command_results", qos=1)
    w.client.message_callback_add("kassa/v1/S001/R1/command_results",
                                  lambda _c, _u, m: w.results.append(json.loads(m.payload)))
    yield w
    w.close()


def test_commands_sync_now_resend_and_report(mosquitto, tmp_path, watcher):
    journal = open_journal(tmp_path / "dev")
    commit(journal, 5)
    events: queue.Queue = queue.Queue()
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), events)
    fleet = Fleet(mosquitto.url, tmp_path / "fleet.db")
    recorder = SchemaRecorder(mosquitto.url)
    service.start()
    try:
        wait_for(lambda: service.state().confirmed == 5, 20, "confirmed")
        db = tmp_path / "fleet.db"
        with __import__("sqlite3").connect(db) as conn:  # the fleet lost seq 2..3 (a restored backup, say)
            conn.execute("DELETE FROM receipts WHERE seq IN (2, 3)")
        t = service.topics
        _publish(watcher, t.commands, json.dumps({"command_id": "a", "command": "resend",
                                                  "args": {"from_seq": 2, "to_seq": 3}}))
        _publish(watcher, t.commands, json.dumps({"command_id": "b", "command": "sync_now", "args": {}}))
        _publish(watcher, t.commands, json.dumps({"command_id": "c", "command": "report", "args": {"kind": "x"}}))
        wait_for(lambda: len(db_query(db, "SELECT 1 FROM receipts")) == 5, 20, "resent receipts ingested")
        assert_exactly_once(db, 5)
        cmd = wait_for(lambda: next((e for e in list(events.queue) if isinstance(e, CommandReceived)), None), 10,
                       "report command")
        assert (cmd.command_id, cmd.command, cmd.args) == ("c", "report", {"kind": "x"})
        service.publish_report({"report_id": "X-1", "kind": "x", "z_number": None, "first_seq": 1, "last_seq": 5})
        service.answer_command("c", True, "X report sent")
        wait_for(lambda: {r["command_id"] for r in watcher.results} >= {"a", "b", "c"}, 10, "answers")
        answers = {r["command_id"]: r for r in watcher.results}
        assert answers["a"]["ok"] and answers["a"]["detail"] == "2 receipts queued"
        assert answers["b"]["ok"] and answers["c"]["detail"] == "X report sent"
        wait_for(lambda: db_query(db, "SELECT report_id FROM reports") == [("X-1",)], 10, "report ingested")
        wait_for(lambda: journal.states("sync_report") == {}, 5, "report dropped from the journal after PUBACK")
    finally:
        service.stop()
        fleet.close()
        recorder.close()
        journal.close()
    assert recorder.problems == []


def test_refused_receipt_is_quarantined_and_never_blocks_the_rest(tmp_path):
    broker = Mosquitto(tmp_path / "broker", extra_config="max_packet_size 4000").start()
    journal = open_journal(tmp_path / "dev")
    commit(journal, 3)
    commit(journal, 1, pad=100)  # seq 4: ~10 KB, over the broker's limit: PUBACK with a failure reason
    commit(journal, 6)
    events: queue.Queue = queue.Queue()
    service = SyncService(device_config(broker.url, tmp_path / "dev"), journal, SystemClock(), events,
                          retry_after=0.1)
    fleet = Fleet(broker.url, tmp_path / "fleet.db")
    service.start()
    try:
        wait_for(lambda: service.state().quarantined == 1, 30, "seq 4 quarantined")
        wait_for(lambda: service.state().confirmed == 9, 20, "the others confirmed")
        rows = [r[0] for r in db_query(tmp_path / "fleet.db", "SELECT seq FROM receipts ORDER BY seq")]
        assert rows == [1, 2, 3, 5, 6, 7, 8, 9, 10]
        state = service.state()
        assert state.fault and "refused" in state.fault and state.quarantined_items[0]["seq"] == 4
        refused = [e for e in drain(events) if isinstance(e, PublishRefused)]
        assert len(refused) == 5 and refused[-1].quarantined and all(e.seq == 4 for e in refused)
        service.retry_quarantined()
        wait_for(lambda: any(isinstance(e, PublishRefused) for e in list(events.queue)), 10, "retried")
    finally:
        service.stop()
        fleet.close()
        journal.close()
        broker.kill()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic_leaf=st.sampled_from(["acks", "commands", "catalog", "clerks"]),
       doc=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30), lambda kids: st.one_of(
           st.lists(kids, max_size=5),
           st.dictionaries(st.sampled_from(["version", "items", "clerks", "receipt_ids", "command", "command_id",
                                            "args", "currency", "sku", "price", "x"]), kids, max_size=6)),
                        max_leaves=25))
def test_generated_downlink_payloads_never_crash_the_service(device, topic_leaf, doc):
    service, _journal, events, fleet_side = device
    before = service.state().downlink_rejected
    topic = getattr(service.topics, topic_leaf)
    _publish(fleet_side, topic, json.dumps(doc))
    fleet_side.publish(service.topics.acks, json.dumps({"receipt_ids": ["R1:probe:1"]}))  # a marker behind it
    wait_for(lambda: service.state().online, 5, "still online")
    assert service.link._thread.is_alive()
    drain(events)
    assert service.state().downlink_rejected >= before


def test_acl_denied_receipts_are_not_delivered_and_the_fault_shows(tmp_path):
    (tmp_path / "broker").mkdir()
    acl = tmp_path / "broker" / "acl"
    acl.write_text("topic read kassa/v1/#\ntopic readwrite kassa/v1/+/+/status\n"
                   "topic write kassa/v1/+/+/acks\n")
    broker = Mosquitto(tmp_path / "broker", extra_config=f"user root\nacl_file {acl}").start()
    journal = open_journal(tmp_path / "dev")
    commit(journal, 2)
    events: queue.Queue = queue.Queue()
    service = SyncService(device_config(broker.url, tmp_path / "dev"), journal, SystemClock(), events,
                          retry_after=0.1, hello_timeout=1.0)  # no fleet answers the status here
    service.start()
    try:
        refused = wait_for(lambda: [e for e in list(events.queue) if isinstance(e, PublishRefused)], 10, "refusal")
        assert "authori" in refused[0].reason.lower()  # MQTT 5 reason 0x87 Not authorized
        assert service.state().delivered == 0 and journal.delivery(1)["state"] in ("pending", "quarantined")
        wait_for(lambda: service.state().fault is not None, 5, "fault shown")
        wait_for(lambda: service.state().quarantined == 2, 20, "both quarantined after repeated refusals")
        assert service.state().online
    finally:
        service.stop()
        journal.close()
        broker.kill()


def test_the_accounts_snapshot_reaches_the_register_checked_and_as_sent(device):
    """The fleet's accounts snapshot (docs/accounts.md) is decoded on the sync thread and handed over whole; a
    malformed one is rejected and nothing reaches the register."""
    from firmware.sync.events import AccountsReceived
    from tests.contract.test_contract_accounts import SNAPSHOT

    service, _journal, events, fleet_side = device
    t = service.topics
    drain(events)
    _publish(fleet_side, t.accounts, json.dumps({**SNAPSHOT, "version": "seven"}))
    wait_for(lambda: service.state().downlink_rejected >= 1, 10, "bad snapshot rejected")
    _publish(fleet_side, t.accounts, json.dumps(SNAPSHOT), retain=True)
    got = wait_for(lambda: [e for e in drain(events) if isinstance(e, AccountsReceived)], 10, "snapshot handed over")
    assert [e.payload for e in got] == [SNAPSHOT]
    assert got[0].snapshot.version == 7 and len(got[0].snapshot.gift_cards) == 2
