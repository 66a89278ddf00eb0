"""The fleet's mailer against a real SMTP sink (aiosmtpd on 127.0.0.1, a free port): exactly once, crash, backoff."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd import controller as aiosmtpd_controller

from firmware.contract.chain import seal
from fleet.mailer import (
    Mailer,
    MailerSettings,
    SmtpSettings,
    SqliteMailStore,
    SqliteReceipts,
    accept_request,
    backoff,
    build_message,
)

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 14, 10, tzinfo=UTC)
DOMAIN = "fleet.example"
RECEIPT = seal({
    "receipt_id": "S001:R1:7f3a9c2e:42", "store": "S001", "register": "R1", "seq": 42, "kind": "sale",
    "created_at": "2026-11-25T14:03:11.250Z", "clock_trusted": True, "offline": False, "clerk_id": "c7",
    "currency": "EUR",
    "lines": [{"sku": "4006381333931", "name": "Pencil HB", "qty": 2, "unit_price": 129, "discount": 0,
               "tax_code": "A", "amount": 258}],
    "totals": {"subtotal": 258, "tax": 41, "total": 258, "rounding": 0},
    "taxes": [{"tax_code": "A", "rate": "19.00", "net": 217, "tax": 41}],
    "tenders": [{"type": "cash", "amount": 500, "change": 242}], "refund_of": None}, "0" * 64)


def request(n: int = 3, address: str = "anna@example.com", receipt_id: str = "S001:R1:7f3a9c2e:42") -> bytes:
    return json.dumps({"request_id": f"S001:R1:7f3a9c2e:{n}", "store": "S001", "register": "R1",
                       "receipt_id": receipt_id, "address": address,
                       "requested_at": "2026-11-25T14:05:00.000Z", "clerk_id": "c7"}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """An SMTP server that keeps what it accepts. `hold_rcpt`: stall at RCPT until released (a send in flight)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.answers = 0
        self.hold_rcpt: threading.Event | None = None
        self.in_rcpt = threading.Event()
        self.refuse_rcpt: str | None = None
        self.controller = aiosmtpd_controller.Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if self.refuse_rcpt:
            return self.refuse_rcpt
        gate = self.hold_rcpt
        if gate is not None:
            self.in_rcpt.set()
            while not gate.is_set():
                await asyncio.sleep(0.01)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.answers += 1
        return f"250 2.0.0 Ok: queued as Q{self.answers}"

    def with_id(self, message_id: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["Message-ID"] == message_id]

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def settings_for(port: int, **extra) -> MailerSettings:
    return MailerSettings(
        smtp=SmtpSettings("127.0.0.1", port, starttls=False, timeout=10),
        sender="Papier & Co <receipts@papier.example>",
        message_id_domain=DOMAIN, receipt_page="https://receipts.example", worker="w1",
        headers={"S001": ["Papier & Co", "Hauptstr. 1, 10115 Berlin"]}, time_zones={"S001": "Europe/Berlin"},
        clerk_names={"S001": {"c7": "Anna"}}, **extra)


@pytest.fixture
def dbs(tmp_path):
    """(mail store, receipts source, path of the fleet db): the fleet db has a `receipts` table."""
    fleet = tmp_path / "fleet.db"
    with sqlite3.connect(fleet) as conn:
        conn.execute("CREATE TABLE receipts (receipt_id TEXT NOT NULL, body TEXT NOT NULL)")
    store = SqliteMailStore(tmp_path / "mail.db")
    receipts = SqliteReceipts(fleet)
    yield store, receipts, fleet
    store.close()
    receipts.close()


def hold_receipt(fleet: Path, doc: dict = RECEIPT) -> None:
    with sqlite3.connect(fleet) as conn:
        conn.execute("INSERT INTO receipts VALUES (?, ?)", (doc["receipt_id"], json.dumps(doc)))


MID = "<kassa-receipt.S001.R1.7f3a9c2e.3@fleet.example>"


def test_a_request_arrives_in_the_sink_exactly_once_laid_out_like_the_paper(dbs):
    store, receipts, fleet = dbs
    hold_receipt(fleet)
    with Sink() as sink:
        mailer = Mailer(store, receipts, settings_for(sink.port))
        assert accept_request(store, request(), "S001", "R1", T0, DOMAIN).new
        assert mailer.run_once(T0)["sent"] == 1
        assert not accept_request(store, request(), "S001", "R1", T0, DOMAIN).new  # the register sent it again
        assert accept_request(store, request(), "S001", "R1", T0, DOMAIN).ok  # ... and it is confirmed again
        assert mailer.run_once(T0 + timedelta(hours=1)) == {"sent": 0, "retry": 0, "waiting": 0, "failed": 0}
    [message] = sink.with_id(MID)
    assert len(sink.messages) == 1 and message["To"] == "anna@example.com"
    assert message["Subject"] == "Your receipt from Papier & Co" and message["X-Kassa-Resent"] is None
    text = message.get_content()
    for words in ("Pencil HB", "TOTAL", "Clerk: Anna", "Receipt: S001:R1:7f3a9c2e:42", "2026-11-25 15:03:11 CET",
                  f"https://receipts.example/r/S001%3AR1%3A7f3a9c2e%3A42?h={RECEIPT['hash'][:16]}"):
        assert words in text, words
    row = store.get("S001:R1:7f3a9c2e:3")
    assert row.state == "sent" and row.smtp_answer == "250 2.0.0 Ok: queued as Q1" and row.attempts == 1
    assert store.counts() == {"queued": 0, "sending": 0, "sent": 1, "failed": 0}


def test_a_request_waits_for_its_receipt_without_counting_attempts(dbs):
    store, receipts, fleet = dbs
    with Sink() as sink:
        mailer = Mailer(store, receipts, settings_for(sink.port))
        accept_request(store, request(), "S001", "R1", T0, DOMAIN)
        assert mailer.run_once(T0)["waiting"] == 1
        row = store.get("S001:R1:7f3a9c2e:3")
        assert row.state == "queued" and row.attempts == 0 and "waiting for receipt" in row.last_error
        hold_receipt(fleet)
        assert mailer.run_once(T0 + timedelta(seconds=30))["sent"] == 0  # not due yet
        assert mailer.run_once(T0 + timedelta(seconds=61))["sent"] == 1
        assert len(sink.with_id(MID)) == 1
        accept_request(store, request(4, receipt_id="S001:R1:7f3a9c2e:99"), "S001", "R1", T0, DOMAIN)
        assert mailer.run_once(T0 + timedelta(days=31))["failed"] == 1  # never arrived
        assert "never received receipt S001:R1:7f3a9c2e:99" in store.get("S001:R1:7f3a9c2e:4").last_error


def test_the_smtp_server_down_is_retried_with_backoff_and_nothing_is_lost(dbs):
    store, receipts, fleet = dbs
    hold_receipt(fleet)
    port = free_port()  # nothing listens here yet
    mailer = Mailer(store, receipts, settings_for(port))
    accept_request(store, request(), "S001", "R1", T0, DOMAIN)
    now, waits = T0, []
    for attempt in range(1, 6):
        assert mailer.run_once(now)["retry"] == 1
        row = store.get("S001:R1:7f3a9c2e:3")
        assert row.state == "queued" and row.attempts == attempt and "not reachable" in row.last_error
        due = datetime.fromisoformat(row.next_try_at)
        assert due - now == backoff(attempt, row.request_id, 30, 3600)
        assert mailer.run_once(due - timedelta(seconds=1))["retry"] == 0  # not before it is due
        waits.append(due - now)
        now = due
    assert waits == sorted(waits) and timedelta(seconds=30) <= waits[0] < timedelta(seconds=38)
    assert timedelta(seconds=480) <= waits[4] < timedelta(seconds=600)
    assert backoff(40, "x", 30, 3600) < timedelta(seconds=3600 * 1.25)  # capped
    with Sink(port) as sink:
        assert mailer.run_once(now)["sent"] == 1
    assert len(sink.with_id(MID)) == 1 and store.get("S001:R1:7f3a9c2e:3").attempts == 6


def test_a_recipient_the_server_refuses_for_good_is_failed_with_its_answer(dbs):
    store, receipts, fleet = dbs
    hold_receipt(fleet)
    with Sink() as sink:
        sink.refuse_rcpt = "550 5.1.1 No such user"
        accept_request(store, request(), "S001", "R1", T0, DOMAIN)
        assert Mailer(store, receipts, settings_for(sink.port)).run_once(T0)["failed"] == 1
        sink.refuse_rcpt = "450 4.2.0 Mailbox busy"
        accept_request(store, request(5), "S001", "R1", T0, DOMAIN)
        assert Mailer(store, receipts, settings_for(sink.port)).run_once(T0)["retry"] == 1
    assert store.get("S001:R1:7f3a9c2e:3").last_error == "recipient refused: 550 5.1.1 No such user"
    assert store.get("S001:R1:7f3a9c2e:5").state == "queued" and sink.messages == []


@pytest.mark.parametrize(("address", "words"), [
    ("anna@example.com\r\nBcc: everyone@example.org", "line break or control character"),
    ("anna@example.com\nSubject: free money", "line break or control character"),
    ("x" * 10_000 + "@example.com", "That e-mail address is 10012 characters long; an address has at most 254"),
    ("Anna <anna@example.com>", "not a valid mailbox name"),
])
def test_a_hostile_address_is_refused_with_a_clear_message_and_never_stored(dbs, address, words):
    store, _receipts, _fleet = dbs
    answer = accept_request(store, request(address=address), "S001", "R1", T0, DOMAIN)
    assert not answer.ok and words in answer.reason and answer.request_id == "S001:R1:7f3a9c2e:3"
    assert store.get("S001:R1:7f3a9c2e:3") is None


def test_requests_in_another_registers_name_or_for_another_stores_receipt_are_refused(dbs):
    store, _receipts, _fleet = dbs
    assert "names S001/R1" in accept_request(store, request(), "S001", "R2", T0, DOMAIN).reason
    assert "not a receipt of store S001" in accept_request(
        store, request(receipt_id="S002:R1:e:1"), "S001", "R1", T0, DOMAIN).reason
    assert "not UTF-8 JSON" in accept_request(store, b"\xff", "S001", "R1", T0, DOMAIN).reason


def test_a_tampered_row_with_a_hostile_address_is_never_sent(dbs):
    store, receipts, fleet = dbs
    hold_receipt(fleet)
    accept_request(store, request(), "S001", "R1", T0, DOMAIN)
    store.conn.execute("UPDATE mail_requests SET address = 'a@example.com\r\nBcc: b@example.com'")
    with Sink() as sink:
        assert Mailer(store, receipts, settings_for(sink.port)).run_once(T0)["failed"] == 1
    assert sink.messages == [] and "refused address" in store.get("S001:R1:7f3a9c2e:3").last_error
    row = store.get("S001:R1:7f3a9c2e:3")
    with pytest.raises(ValueError, match="line break"):
        build_message(row, RECEIPT, settings_for(1), now=T0)


def test_a_claim_is_exclusive_between_workers(dbs):
    store, _receipts, _fleet = dbs
    accept_request(store, request(), "S001", "R1", T0, DOMAIN)
    lease = T0 + timedelta(minutes=5)
    assert store.claim("S001:R1:7f3a9c2e:3", "w1", T0, lease) is not None
    assert store.claim("S001:R1:7f3a9c2e:3", "w2", T0, lease) is None  # w1 is sending it
    assert [r.request_id for r in store.due(T0, "w2", 10)] == []
    assert [r.request_id for r in store.due(lease, "w2", 10)] == ["S001:R1:7f3a9c2e:3"]  # w1's lease ran out
    assert store.claim("S001:R1:7f3a9c2e:3", "w2", lease, lease + timedelta(minutes=5)).state == "sending"


# ---------------------------------------------------------------- a mailer killed mid-send


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_mailer(tmp_path: Path, fleet: Path, port: int, *extra: str) -> subprocess.Popen:
    config = tmp_path / "mail.json"
    config.write_text(json.dumps({
        "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "timeout": 20},
        "sender": "receipts@papier.example", "message_id_domain": DOMAIN, "worker": "w1", "poll": 0.05,
        "receipt_page": "https://receipts.example", "headers": {"S001": ["Papier & Co"]}}))
    return subprocess.Popen([sys.executable, "-m", "fleet.mailer", "--db", str(tmp_path / "mail.db"),
                             "--receipts", str(fleet), "--settings", str(config), *extra], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def state(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "mail.db") as conn:
        return conn.execute("SELECT state FROM mail_requests").fetchone()[0]


@pytest.mark.slow
def test_killed_mid_send_and_restarted_the_mail_still_arrives_exactly_once(dbs, tmp_path):
    store, _receipts, fleet = dbs
    hold_receipt(fleet)
    accept_request(store, request(), "S001", "R1", T0, DOMAIN)
    with Sink() as sink:
        sink.hold_rcpt = threading.Event()  # the send stalls inside the SMTP dialogue
        first = start_mailer(tmp_path, fleet, sink.port)
        try:
            wait_for(sink.in_rcpt.is_set, "the mailer to reach RCPT")
            assert state(tmp_path) == "sending"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(30)
        finally:
            stop(first)
        sink.hold_rcpt.set()
        sink.hold_rcpt = None
        second = start_mailer(tmp_path, fleet, sink.port)
        try:
            wait_for(lambda: state(tmp_path) == "sent", "the restarted mailer to send")
        finally:
            stop(second)
    assert len(sink.with_id(MID)) == 1 and len(sink.messages) == 1
    row = store.get("S001:R1:7f3a9c2e:3")
    assert row.state == "sent" and row.resent_after_crash and row.smtp_answer.startswith("250")


@pytest.mark.slow
def test_killed_between_the_servers_accept_and_the_mark_the_copy_is_deduplicable(dbs, tmp_path):
    """The at-least-once edge, written down: the server took the mail, the mailer died before recording it. The
    restarted mailer sends it again with the same Message-ID (and says it is a resend)."""
    store, _receipts, fleet = dbs
    hold_receipt(fleet)
    accept_request(store, request(), "S001", "R1", T0, DOMAIN)
    marker = tmp_path / "accepted"
    with Sink() as sink:
        first = start_mailer(tmp_path, fleet, sink.port, "--pause-after-accept", str(marker))
        try:
            wait_for(marker.exists, "the server's 250")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(30)
        finally:
            stop(first)
        assert state(tmp_path) == "sending" and len(sink.messages) == 1
        second = start_mailer(tmp_path, fleet, sink.port)
        try:
            wait_for(lambda: state(tmp_path) == "sent", "the restarted mailer to send")
        finally:
            stop(second)
    copies = sink.with_id(MID)
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert copies[0]["X-Kassa-Resent"] is None and copies[1]["X-Kassa-Resent"] == "after interrupted send"
    assert copies[0].get_content() == copies[1].get_content()
    assert store.get("S001:R1:7f3a9c2e:3").resent_after_crash


# ---------------------------------------------------------------- STARTTLS and login


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), to stand in for the relay's; the mailer trusts it as its CA."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_and_login_with_a_password_file(dbs, tmp_path):
    import ssl

    from aiosmtpd.smtp import AuthResult

    store, receipts, fleet = dbs
    hold_receipt(fleet)
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((session.ssl is not None, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"kassa" and auth_data.password == b"s3cret")

    password = tmp_path / "smtp.pass"
    password.write_text("s3cret\n")
    password.chmod(0o600)
    sink = Sink()
    sink.controller = aiosmtpd_controller.Controller(sink, hostname="127.0.0.1", port=sink.port, tls_context=context,
                                                     require_starttls=True, authenticator=authenticator,
                                                     auth_require_tls=True)
    accept_request(store, request(), "S001", "R1", T0, DOMAIN)
    smtp = SmtpSettings("127.0.0.1", sink.port, starttls=True, user="kassa", password_file=password, ca_file=cert,
                        timeout=10)
    base = settings_for(sink.port)
    with sink:
        mailer = Mailer(store, receipts, MailerSettings(**{**base.__dict__, "smtp": smtp}))
        assert mailer.run_once(T0)["sent"] == 1
        password.chmod(0o644)  # a secret others can read is refused, loudly, and retried (nothing lost)
        accept_request(store, request(6), "S001", "R1", T0, DOMAIN)
        assert mailer.run_once(T0)["retry"] == 1
    assert logins == [(True, b"kassa", b"s3cret")] and len(sink.messages) == 1
    assert "chmod 600" in store.get("S001:R1:7f3a9c2e:6").last_error
