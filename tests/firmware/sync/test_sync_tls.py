"""Sync over mqtts:// against a real Mosquitto TLS listener with password_file auth: drains, and refuses a wrong CA."""

from __future__ import annotations

import queue
import subprocess
from pathlib import Path

import pytest

from firmware.clock import SystemClock
from firmware.config import Config
from firmware.errors import ConfigError
from firmware.sync import LinkDown, SyncService
from fleet.broker import BrokerSettings
from tests.firmware.sync.kassa_sync_support import commit, device_config, drain, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.fleet.kassa_fleet_support import assert_exactly_once
from tests.provisioning import provision_pki
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port, wait_listening

pytestmark = pytest.mark.slow  # real Mosquitto brokers, waits on the network

USERS = {"fleet": "fleet-pw", "S001-R1": "r1-pw"}


class TlsBroker:
    """Mosquitto with a TLS listener (certificate from a CA made here) and a plain one, both password_file auth."""

    def __init__(self, work: Path) -> None:
        ca_pem, ca_key = provision_pki.make_ca()
        self.ca = work / "ca.pem"
        self.ca.write_bytes(ca_pem)
        cert, key = provision_pki.server_cert(ca_pem, ca_key, ["127.0.0.1", "localhost"])
        (work / "server.pem").write_bytes(cert)
        (work / "server.key").write_bytes(key)
        (work / "server.key").chmod(0o600)
        self.other_ca = work / "other-ca.pem"
        self.other_ca.write_bytes(provision_pki.make_ca("Somebody Else's CA")[0])
        passwd = work / "passwd"
        for i, (user, pw) in enumerate(USERS.items()):
            subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(passwd), user, pw], check=True)
        self.plain, self.tls = free_port(), free_port()
        extra = (f"allow_anonymous false\npassword_file {passwd}\n"
                 f"listener {self.plain} 127.0.0.1\n"
                 f"listener {self.tls} 127.0.0.1\ncafile {self.ca}\ncertfile {work}/server.pem\n"
                 f"keyfile {work}/server.key\n")
        self.proc = Mosquitto(work, port=self.plain, extra_config=extra, anonymous=False, listener=False)
        self.work = work

    def start(self) -> TlsBroker:
        self.proc.start(wait_port=self.plain)
        wait_listening(self.tls)
        return self

    def secret(self, user: str, password: str | None = None) -> Path:
        path = self.work / f"{user}.pass"
        path.write_text((password or USERS[user]) + "\n")
        path.chmod(0o600)
        return path

    def device(self, data_dir: Path, *, ca: Path | None = None, password: str | None = None) -> Config:
        return device_config(f"mqtts://127.0.0.1:{self.tls}", data_dir, ca_file=str(ca or self.ca),
                             username="S001-R1", password_file=str(self.secret("S001-R1", password)))


@pytest.fixture
def tls_broker(tmp_path):
    (tmp_path / "broker").mkdir()
    broker = TlsBroker(tmp_path / "broker")
    try:
        yield broker.start()
    finally:
        broker.proc.kill()


def test_device_drains_over_tls_with_a_password_file(tls_broker, tmp_path):
    db = tmp_path / "fleet.db"
    fleet = Fleet(BrokerSettings(f"mqtt://127.0.0.1:{tls_broker.plain}", username="fleet",
                                 password_file=tls_broker.secret("fleet")), db, client_id="ingest-tls")
    journal = open_journal(tmp_path / "dev")
    commit(journal, 500)
    config = tls_broker.device(tmp_path / "dev")
    assert config.broker.url.startswith("mqtts://") and oct(config.broker.password_file.stat().st_mode)[-3:] == "600"
    service = SyncService(config, journal, SystemClock(), queue.Queue())
    service.start()
    try:
        wait_for(lambda: service.state().confirmed == 500, 30, "all 500 confirmed over TLS")
        assert service.state().online and service.state().pending == 0
        assert_exactly_once(db, 500)
    finally:
        service.stop()
        fleet.close()
        journal.close()


@pytest.mark.parametrize("fault, expected", [
    ("wrong CA", "TLS: the broker at 127.0.0.1"),
    ("wrong password", "broker refused the connection"),
])
def test_a_wrong_ca_or_password_is_refused_with_a_clear_reason(tls_broker, tmp_path, fault, expected):
    journal = open_journal(tmp_path / "dev")
    commit(journal, 3)
    config = (tls_broker.device(tmp_path / "dev", ca=tls_broker.other_ca) if fault == "wrong CA"
              else tls_broker.device(tmp_path / "dev", password="not-it"))
    events: queue.Queue = queue.Queue()
    service = SyncService(config, journal, SystemClock(), events)
    service.start()
    try:
        down = wait_for(lambda: [e for e in list(events.queue) if isinstance(e, LinkDown)], 10, "LinkDown")
        reason = down[0].reason
        assert expected in reason, reason
        if fault == "wrong CA":
            assert "broker.ca_file" in reason and "certificate" in reason, reason
        state = service.state()
        assert not state.online and state.pending == 3 and state.delivered == 0
        assert expected in (state.link_error or "")
    finally:
        service.stop()
        journal.close()
    assert not [e for e in drain(events) if not isinstance(e, LinkDown)]


def test_a_missing_ca_file_stops_with_the_key_named(tls_broker, tmp_path):
    config = tls_broker.device(tmp_path / "dev", ca=tmp_path / "nowhere.pem")
    journal = open_journal(tmp_path / "dev")
    events: queue.Queue = queue.Queue()
    service = SyncService(config, journal, SystemClock(), events)
    try:
        with pytest.raises(ConfigError, match="ca_file"):
            service.link._new_client()
    finally:
        journal.close()
