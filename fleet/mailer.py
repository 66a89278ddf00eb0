"""E-mail receipts: the fleet's mailer (docs/digital-receipts.md#e-mail).

A register journals a mail request (firmware.contract.mail.MailRequest) and publishes it on its
`mail_requests` topic. The ingest hands it to `accept_request`, which checks it (topic, address, store) and
records it in the mail store, then the fleet confirms it on the register's `mail_acks` (refused ones too,
with the reason, so the register stops resending). The mailer (`Mailer.run_once`, `Mailer.serve`) sends each
request once the fleet holds its receipt: the text body is the receipt as the printer lays it out
(firmware.contract.mail.receipt_text) plus the receipt page link, through the configured SMTP server.

Sent-state, per request id (`MailStore`, SQLite here as `SqliteMailStore`; PostgreSQL by the same SQL):

    queued --claim--> sending --250 from the server--> sent
                         |--4xx, connection error, server down--> queued (attempts + 1, next try after a backoff)
                         |--5xx for this message (recipient or content refused)--> failed (the server's answer kept)
                         |--receipt not held yet--> queued (no attempt counted; waits for the receipt)

`claim` is one conditional UPDATE, so two mailers never send the same request at the same time; a row left
`sending` by a mailer that died is taken back by the same worker at its next start, or by any worker once its
lease has run out.

Exactly once, and its one honest edge: the request is marked `sent`, with the server's answer, right after the
server's 250 reply to the end of DATA. A mailer killed before that reply leaves the row `sending` and the server
has not taken the message: the restarted mailer sends it again and the customer gets it once. A mailer killed in
the instant between the server's 250 and the mark (or whose database write fails there) sends it again at
restart: SMTP has no way to ask a server "did you take this?", so this is at least once. The copy carries the
same Message-ID (derived from the request id, firmware.contract.mail.message_id) and `X-Kassa-Resent: after
interrupted send`, so a mailbox or relay that de-duplicates by Message-ID shows it once, and the row records
`resent_after_crash` for the operator.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import logging
import signal
import smtplib
import socket
import sqlite3
import ssl
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from firmware.contract.errors import PayloadRejected, SecretFileError
from firmware.contract.mail import MailRequest, address_problem, message_id, receipt_page_url, receipt_text
from firmware.contract.payloads import decode
from firmware.contract.receipt_id import parse_receipt_id
from firmware.contract.secrets import read_secret
from fleet.errors import FleetError

log = logging.getLogger(__name__)

__all__ = ["MAIL_SQL", "Accepted", "MailRow", "MailStore", "Mailer", "MailerSettings", "ReceiptSource",
           "SendOutcome", "SmtpSettings", "SqliteMailStore", "SqliteReceipts", "accept_request", "backoff",
           "build_message", "main"]

STATES = ("queued", "sending", "sent", "failed")

MAIL_SQL = """
CREATE TABLE IF NOT EXISTS mail_requests (
    request_id TEXT PRIMARY KEY,
    store TEXT NOT NULL, register TEXT NOT NULL, receipt_id TEXT NOT NULL, address TEXT NOT NULL,
    requested_at TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, next_try_at TEXT NOT NULL,
    owner TEXT, lease_until TEXT, message_id TEXT NOT NULL,
    smtp_answer TEXT, last_error TEXT, sent_at TEXT, updated_at TEXT NOT NULL,
    resent_after_crash INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS mail_requests_due ON mail_requests (state, next_try_at);
"""


def _iso(moment: datetime) -> str:
    """Fixed-width UTC text: orders as time does, so the store compares times as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server: `starttls` upgrades a plain connection (port 587); `tls` connects with TLS (port 465)."""

    host: str
    port: int = 587
    starttls: bool = True
    tls: bool = False
    user: str | None = None
    password_file: Path | None = None  # mode 0600; read at each connection, so it can be rotated
    ca_file: Path | None = None  # a private CA; default: the system's
    timeout: float = 30.0


@dataclass(frozen=True)
class MailerSettings:
    smtp: SmtpSettings
    sender: str  # From: "Papier & Co <receipts@papier.example>"
    message_id_domain: str  # the right side of every Message-ID
    receipt_page: str | None = None  # the fleet's receipt page base URL
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)  # store -> the receipt's header lines
    time_zones: Mapping[str, str] = field(default_factory=dict)  # store -> IANA zone
    clerk_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # store -> clerk id -> name
    default_time_zone: str = "UTC"
    columns: int = 42
    worker: str = field(default_factory=socket.gethostname)  # unique per running mailer
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    receipt_wait: float = 60.0  # how long to wait before looking for a receipt the fleet does not hold yet
    give_up_after_days: int = 30  # a receipt still not held after this long: failed
    lease: float = 300.0  # how long a `sending` claim protects a request from other workers
    poll: float = 5.0
    batch: int = 50

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> MailerSettings:
        """From a `[mail]` table (TOML or JSON): `smtp` a table of SmtpSettings' fields, paths as text."""
        smtp = dict(doc["smtp"])
        for key in ("password_file", "ca_file"):
            if smtp.get(key):
                smtp[key] = Path(smtp[key])
        rest = {k: v for k, v in doc.items() if k != "smtp"}
        return cls(smtp=SmtpSettings(**smtp), **rest)


def backoff(attempts: int, request_id: str, base: float, cap: float) -> timedelta:
    """The wait after `attempts` failed tries: base, 2 base, 4 base ... up to cap, plus up to 25% jitter
    (derived from the request id, so requests that failed together spread out, and a test can predict it)."""
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(cap, base * 2**exponent)
    spread = hashlib.sha256(f"{request_id}/{attempts}".encode()).digest()[0] / 1024  # 0 .. 0.249
    return timedelta(seconds=delay * (1 + spread))


# ---------------------------------------------------------------- stores


@dataclass(frozen=True)
class MailRow:
    request_id: str
    store: str
    register: str
    receipt_id: str
    address: str
    requested_at: str
    received_at: str
    state: str
    attempts: int
    next_try_at: str
    owner: str | None
    message_id: str
    smtp_answer: str | None
    last_error: str | None
    sent_at: str | None
    resent_after_crash: bool


class MailStore(Protocol):
    """The mailer's sent-state (docs/digital-receipts.md#sent-state). Every method is one transaction."""

    def add(self, request: MailRequest, message_id: str, at: datetime) -> bool:
        """Record a new request as queued; False when the request id is known (a resend: nothing changes)."""
        ...

    def get(self, request_id: str) -> MailRow | None: ...

    def due(self, now: datetime, worker: str, limit: int) -> list[MailRow]:
        """Queued requests due by `now`, and `sending` ones left by `worker` or whose lease ran out."""
        ...

    def claim(self, request_id: str, worker: str, now: datetime, lease_until: datetime) -> MailRow | None:
        """queued (or abandoned sending) -> sending, atomically; the row as it was before, or None when taken."""
        ...

    def mark_sent(self, request_id: str, answer: str, at: datetime, resent_after_crash: bool) -> None: ...

    def mark_retry(self, request_id: str, error: str, next_try: datetime, at: datetime, *, attempt: bool) -> None:
        """sending -> queued; `attempt` counts it as a failed try (not when only the receipt was missing)."""
        ...

    def mark_failed(self, request_id: str, error: str, at: datetime) -> None: ...

    def counts(self) -> dict[str, int]: ...


_COLUMNS = ("request_id, store, register, receipt_id, address, requested_at, received_at, state, attempts, "
            "next_try_at, owner, message_id, smtp_answer, last_error, sent_at, resent_after_crash")


def _row(values: Sequence[Any]) -> MailRow:
    (request_id, store, register, receipt_id, address, requested_at, received_at, state, attempts, next_try_at,
     owner, message_id_, smtp_answer, last_error, sent_at, resent) = values
    return MailRow(request_id, store, register, receipt_id, address, requested_at, received_at, state, int(attempts),
                   next_try_at, owner, message_id_, smtp_answer, last_error, sent_at, bool(resent))


class SqliteMailStore:
    """MailStore on a SQLite file (WAL, synchronous=FULL, BEGIN IMMEDIATE per transaction); one per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(MAIL_SQL)

    def close(self) -> None:
        self.conn.close()

    def _tx(self, sql: str, args: Sequence[Any]) -> int:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(sql, args)
            count = cur.rowcount
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return count

    def add(self, request: MailRequest, message_id: str, at: datetime) -> bool:
        now = _iso(at)
        return self._tx(
            "INSERT INTO mail_requests (request_id, store, register, receipt_id, address, requested_at, body, "
            "received_at, state, next_try_at, message_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
            (request.request_id, request.store, request.register, request.receipt_id, request.address,
             request.requested_at, request.model_dump_json(), now, now, message_id, now)) == 1

    def get(self, request_id: str) -> MailRow | None:
        found = self.conn.execute(f"SELECT {_COLUMNS} FROM mail_requests WHERE request_id = ?",
                                  (request_id,)).fetchone()
        return None if found is None else _row(found)

    def due(self, now: datetime, worker: str, limit: int) -> list[MailRow]:
        at = _iso(now)
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM mail_requests WHERE (state = 'queued' AND next_try_at <= ?) "
            "OR (state = 'sending' AND (owner = ? OR lease_until <= ?)) ORDER BY next_try_at, request_id LIMIT ?",
            (at, worker, at, limit)).fetchall()
        return [_row(r) for r in rows]

    def claim(self, request_id: str, worker: str, now: datetime, lease_until: datetime) -> MailRow | None:
        at = _iso(now)
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            before = cur.execute(f"SELECT {_COLUMNS} FROM mail_requests WHERE request_id = ?",
                                 (request_id,)).fetchone()
            cur.execute(
                "UPDATE mail_requests SET state = 'sending', owner = ?, lease_until = ?, updated_at = ? "
                "WHERE request_id = ? AND ((state = 'queued' AND next_try_at <= ?) "
                "OR (state = 'sending' AND (owner = ? OR lease_until <= ?)))",
                (worker, _iso(lease_until), at, request_id, at, worker, at))
            taken = cur.rowcount == 1
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return _row(before) if taken and before is not None else None

    def mark_sent(self, request_id: str, answer: str, at: datetime, resent_after_crash: bool) -> None:
        self._tx("UPDATE mail_requests SET state = 'sent', smtp_answer = ?, sent_at = ?, updated_at = ?, "
                 "attempts = attempts + 1, owner = NULL, lease_until = NULL, last_error = NULL, "
                 "resent_after_crash = resent_after_crash OR ? WHERE request_id = ?",
                 (answer, _iso(at), _iso(at), int(resent_after_crash), request_id))

    def mark_retry(self, request_id: str, error: str, next_try: datetime, at: datetime, *, attempt: bool) -> None:
        self._tx("UPDATE mail_requests SET state = 'queued', last_error = ?, next_try_at = ?, updated_at = ?, "
                 "attempts = attempts + ?, owner = NULL, lease_until = NULL WHERE request_id = ?",
                 (error[:2000], _iso(next_try), _iso(at), int(attempt), request_id))

    def mark_failed(self, request_id: str, error: str, at: datetime) -> None:
        self._tx("UPDATE mail_requests SET state = 'failed', last_error = ?, updated_at = ?, owner = NULL, "
                 "lease_until = NULL WHERE request_id = ?", (error[:2000], _iso(at), request_id))

    def counts(self) -> dict[str, int]:
        found = dict(self.conn.execute("SELECT state, COUNT(*) FROM mail_requests GROUP BY state").fetchall())
        return {state: int(found.get(state, 0)) for state in STATES}


class ReceiptSource(Protocol):
    def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        """The receipt document the fleet holds under this id (its `body`), else None."""
        ...


class SqliteReceipts:
    """ReceiptSource over the fleet database's `receipts` table (SQLite); PostgreSQL: the same SELECT."""

    def __init__(self, path: str | Path) -> None:
        self.conn = sqlite3.connect(str(path), timeout=30)

    def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        found = self.conn.execute("SELECT body FROM receipts WHERE receipt_id = ? LIMIT 1", (receipt_id,)).fetchone()
        return None if found is None else dict(json.loads(found[0]))

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- ingest


@dataclass(frozen=True)
class Accepted:
    """The answer to one mail request on the register's `mail_acks`: taken over (`ok`) or refused (`reason`)."""

    request_id: str | None
    ok: bool
    reason: str = ""
    new: bool = False


def accept_request(store: MailStore, data: bytes | str, topic_store: str, topic_register: str, at: datetime,
                   domain: str) -> Accepted:
    """Check and record one mail request from the register the broker authenticated (`topic_*`).

    Refused: an unreadable payload, an address that could inject a header or is no plain address, a request in
    another register's name, a receipt of another store. A request id already known is confirmed again.
    """
    try:
        request = decode(MailRequest, data)
    except PayloadRejected as exc:
        request_id = None
        try:
            doc = json.loads(data)
            candidate = doc.get("request_id") if isinstance(doc, dict) else None
            request_id = candidate if isinstance(candidate, str) and len(candidate) <= 200 else None
        except (ValueError, RecursionError):
            pass
        return Accepted(request_id, False, str(exc))
    if request.store != topic_store or request.register != topic_register:
        return Accepted(request.request_id, False, f"sent on {topic_store}/{topic_register}'s topic but names "
                                                   f"{request.store}/{request.register}")
    key = parse_receipt_id(request.receipt_id)
    if key is None or (key.store or request.store) != request.store:
        return Accepted(request.request_id, False, f"receipt {request.receipt_id} is not a receipt of store "
                                                   f"{request.store}")
    new = store.add(request, message_id(request.request_id, domain), at)
    return Accepted(request.request_id, True, "", new)


# ---------------------------------------------------------------- the message


def build_message(row: MailRow, receipt: Mapping[str, Any], settings: MailerSettings, *, now: datetime,
                  resent: bool = False) -> EmailMessage:
    """The e-mail: the receipt laid out as on paper, the receipt page link, Message-ID from the request id."""
    problem = address_problem(row.address)
    if problem is not None:
        raise ValueError(problem)
    header = list(settings.headers.get(row.store) or [row.store])
    tz = ZoneInfo(settings.time_zones.get(row.store, settings.default_time_zone))
    link = None
    if settings.receipt_page and receipt.get("hash"):
        link = receipt_page_url(settings.receipt_page, str(receipt["receipt_id"]), str(receipt["hash"]))
    text = receipt_text(receipt, header, settings.columns, tz=tz, names=settings.clerk_names.get(row.store))
    body = [f"Thank you for shopping at {header[0]}. Your receipt:", "", text.rstrip("\n"), ""]
    if link:
        body += ["This receipt online:", link, ""]
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = settings.sender
    message["To"] = row.address
    message["Subject"] = f"Your receipt from {header[0]}"
    message["Date"] = email.utils.format_datetime(now.astimezone(UTC))
    message["Message-ID"] = row.message_id
    message["X-Kassa-Request"] = row.request_id
    message["X-Kassa-Receipt"] = row.receipt_id
    if resent:
        message["X-Kassa-Resent"] = "after interrupted send"
    message.set_content("\n".join(body), charset="utf-8")
    return message


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendOutcome:
    """What the server said: `sent` (250), `retry` (try again later) or `failed` (this message never goes)."""

    kind: str
    answer: str


def _answer(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {words}".strip()


class Mailer:
    """Sends due mail requests; `run_once` is one pass at time `now` (the loop and the tests drive it)."""

    def __init__(self, store: MailStore, receipts: ReceiptSource, settings: MailerSettings, *,
                 after_accept: Callable[[MailRow], None] | None = None) -> None:
        self.store = store
        self.receipts = receipts
        self.settings = settings
        self._after_accept = after_accept  # tests: the instant between the server's 250 and the mark

    def run_once(self, now: datetime) -> dict[str, int]:
        """Send what is due at `now`; returns how many went to each outcome (sent, retry, waiting, failed)."""
        done = {"sent": 0, "retry": 0, "waiting": 0, "failed": 0}
        s = self.settings
        for row in self.store.due(now, s.worker, s.batch):
            before = self.store.claim(row.request_id, s.worker, now, now + timedelta(seconds=s.lease))
            if before is None:
                continue  # another worker took it
            crashed = before.state == "sending"  # left mid-send by a mailer that died
            done[self._one(before, now, crashed)] += 1
        return done

    def _one(self, row: MailRow, now: datetime, crashed: bool) -> str:
        s = self.settings
        problem = address_problem(row.address)
        if problem is not None:  # the store was written by accept_request; this is a second line of defence
            self.store.mark_failed(row.request_id, f"refused address: {problem}", now)
            return "failed"
        receipt = self.receipts.receipt(row.receipt_id)
        if receipt is None:
            received = datetime.fromisoformat(row.received_at)
            if now - received > timedelta(days=s.give_up_after_days):
                self.store.mark_failed(row.request_id, f"the fleet never received receipt {row.receipt_id}", now)
                return "failed"
            self.store.mark_retry(row.request_id, f"waiting for receipt {row.receipt_id}",
                                  now + timedelta(seconds=s.receipt_wait), now, attempt=False)
            return "waiting"
        try:
            message = build_message(row, receipt, s, now=now, resent=crashed)
        except (ValueError, KeyError, TypeError) as exc:
            self.store.mark_failed(row.request_id, f"cannot build the e-mail: {exc}", now)
            return "failed"
        outcome = self.send(message, row.address)
        if outcome.kind == "sent":
            if self._after_accept is not None:
                self._after_accept(row)
            self.store.mark_sent(row.request_id, outcome.answer, now, crashed)
            log.info("mail %s for receipt %s sent: %s", row.request_id, row.receipt_id, outcome.answer)
            return "sent"
        if outcome.kind == "failed":
            self.store.mark_failed(row.request_id, outcome.answer, now)
            log.warning("mail %s refused for good: %s", row.request_id, outcome.answer)
            return "failed"
        wait = backoff(row.attempts + 1, row.request_id, s.backoff_base, s.backoff_cap)
        self.store.mark_retry(row.request_id, outcome.answer, now + wait, now, attempt=True)
        log.warning("mail %s not sent (%s); next try in %.0f s", row.request_id, outcome.answer, wait.total_seconds())
        return "retry"

    def _connect(self) -> smtplib.SMTP:
        smtp = self.settings.smtp
        context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
        client: smtplib.SMTP
        if smtp.tls:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        try:
            client.ehlo()
            if smtp.starttls and not smtp.tls:
                client.starttls(context=context)
                client.ehlo()
            if smtp.user:
                password = read_secret(smtp.password_file, "SMTP password") if smtp.password_file else ""
                client.login(smtp.user, password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: EmailMessage, address: str) -> SendOutcome:
        """One SMTP transaction for one recipient; the server's own words in the outcome."""
        sender = email.utils.parseaddr(str(message["From"]))[1]
        try:
            client = self._connect()
        except smtplib.SMTPAuthenticationError as exc:  # the configuration, not this message: keep retrying
            log.error("SMTP login refused by %s: check [mail] smtp user and password_file", self.settings.smtp.host)
            return SendOutcome("retry", "SMTP login refused: " + _answer(exc.smtp_code, exc.smtp_error))
        except SecretFileError as exc:
            log.error("%s", exc)
            return SendOutcome("retry", str(exc))
        except (OSError, smtplib.SMTPException) as exc:
            return SendOutcome("retry", f"SMTP server {self.settings.smtp.host}:{self.settings.smtp.port} not "
                                        f"reachable: {exc}")
        try:
            code, text = client.mail(sender)
            if code != 250:
                return SendOutcome("retry", "MAIL FROM refused: " + _answer(code, text))
            code, text = client.rcpt(address)
            if code not in (250, 251):
                kind = "failed" if 500 <= code < 600 else "retry"
                return SendOutcome(kind, "recipient refused: " + _answer(code, text))
            code, text = client.data(message.as_bytes())
            if code == 250:
                return SendOutcome("sent", _answer(code, text))
            return SendOutcome("failed" if 500 <= code < 600 else "retry", "message refused: " + _answer(code, text))
        except (OSError, smtplib.SMTPException) as exc:
            return SendOutcome("retry", f"SMTP session broke off: {exc}")
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def serve(self, stop: threading.Event, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Pass after pass until `stop` is set, pausing `poll` seconds when nothing was due."""
        while not stop.is_set():
            try:
                done = self.run_once(clock())
            except (sqlite3.Error, FleetError) as exc:  # the store is unavailable: nothing was marked; retry later
                log.warning("mail store unavailable: %s", exc)
                done = {}
            if not any(done.values()):
                stop.wait(self.settings.poll)


# ---------------------------------------------------------------- command line (tests; kassa-fleet mailer)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m fleet.mailer --db MAIL.db --receipts FLEET.db --settings mail.json`: serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="kassa-fleet mailer", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True, help="the mail store (SQLite file)")
    parser.add_argument("--receipts", required=True, help="the fleet database holding the receipts (SQLite file)")
    parser.add_argument("--settings", required=True, help="JSON file of the [mail] settings")
    parser.add_argument("--pause-after-accept", help=argparse.SUPPRESS)  # tests: a marker file, then hang
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = MailerSettings.from_mapping(json.loads(Path(args.settings).read_text(encoding="utf-8")))
    hook = None
    if args.pause_after_accept:
        marker = Path(args.pause_after_accept)

        def hook(row: MailRow) -> None:
            marker.write_text(row.request_id)
            threading.Event().wait()  # hang here until killed: the server has the mail, the store says sending

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    store, receipts = SqliteMailStore(args.db), SqliteReceipts(args.receipts)
    try:
        Mailer(store, receipts, settings, after_accept=hook).serve(stop)
    finally:
        store.close()
        receipts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
