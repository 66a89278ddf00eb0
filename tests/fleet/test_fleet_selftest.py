"""The fleet answers a technician's broker self-test: `kassa-provision selftest --only broker` says "fleet answered"."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.clock import SystemClock
from firmware.config import load_config
from firmware.sync import ReceiptsConfirmed, SyncService
from provisioning.broker_check import check_broker
from tests.contract.kassa_recorder import SchemaRecorder
from tests.firmware.sync.kassa_sync_support import commit, drain, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.fleet.kassa_fleet_support import BareDevice, db_query

pytestmark = pytest.mark.slow  # real brokers and kassa-fleet processes

BIN = Path(sys.executable).parent


def write_config(path: Path, url: str, data_dir: Path) -> Path:
    path.write_text(
        f'[device]\nstore = "S001"\nregister = "R1"\ndata_dir = "{data_dir}"\n\n'
        f'[broker]\nurl = "{url}"\nkeepalive = 5\n'
    )
    return path


def test_kassa_provision_selftest_gets_the_fleet_answer(mosquitto, tmp_path):
    fleet = Fleet(mosquitto.url, tmp_path / "fleet.db")
    recorder = SchemaRecorder(mosquitto.url)
    config = write_config(tmp_path / "kassa.toml", mosquitto.url, tmp_path / "data")
    try:
        result = subprocess.run(
            [str(BIN / "kassa-provision"), "selftest", "-c", str(config), "--only", "broker", "--ack-timeout", "10"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "fleet answered" in result.stdout, result.stdout
        assert fleet.worker.stats.selftests == 1
    finally:
        fleet.close()
        recorder.close()
    assert recorder.problems == []
    assert recorder.counts.get("selftest") == 1 and recorder.counts.get("acks") == 1


def test_the_register_ignores_a_selftest_answer_on_its_acks_topic(mosquitto, tmp_path):
    fleet = Fleet(mosquitto.url, tmp_path / "fleet.db")
    config = load_config(write_config(tmp_path / "kassa.toml", mosquitto.url, tmp_path / "dev"))
    journal = open_journal(tmp_path / "dev")
    events: queue.Queue = queue.Queue()
    service = SyncService(config, journal, SystemClock(), events)
    service.start()
    try:
        commit(journal, 3)
        wait_for(lambda: service.state().confirmed == 3, 20, "confirmed")
        drain(events)
        checks = check_broker(config, ack_timeout=10)  # the technician, while the register runs
        assert [c.ok for c in checks] == [True, True, True], checks
        assert "the fleet answered" in checks[-1].detail
        time.sleep(0.5)  # the register got the same answer on its acks topic
        assert service.state().downlink_rejected == 0
        assert service.state().confirmed == 3 and service.state().pending == 0
        assert not [e for e in drain(events) if isinstance(e, ReceiptsConfirmed)]
    finally:
        service.stop()
        fleet.close()
        journal.close()


def test_a_malformed_selftest_is_rejected_and_not_answered(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    fleet = Fleet(mosquitto.url, db)
    device = BareDevice(mosquitto.url)
    answers: list[bytes] = []
    device.client.on_message = lambda _c, _u, m: answers.append(m.payload)
    try:
        for junk in (b"", b"{", b'{"selftest_id": ""}', b'{"selftest_id": 5}', b"x" * 10_000):
            device.publish(device.topics.selftest, junk)
        device.publish(device.topics.selftest, b'{"selftest_id": "ok-1"}')
        wait_for(lambda: answers, 10, "the answer to the good self-test")
        rejects = "SELECT COUNT(*) FROM rejects WHERE topic LIKE '%/selftest'"
        wait_for(lambda: db_query(db, rejects) == [(5,)], 10, "all five junk self-tests recorded as rejects")
        time.sleep(0.3)  # nothing else may be answered
        assert [a for a in answers] == [b'{"receipt_ids":[],"selftest_id":"ok-1"}']
    finally:
        device.close()
        fleet.close()
