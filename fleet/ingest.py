"""The ingest worker: shared subscriptions in, one database transaction per batch, then MQTT acks and confirmations.

Order per batch (docs/contract.md, docs/ledger-integrity.md): write every row in one
transaction and commit (durable), then PUBACK each MQTT message (paho
`manual_ack`), then publish `{"receipt_ids": [...]}` on each device's acks
topic. A crash before the commit loses nothing: the broker redelivers or the
device re-sends, and `INSERT OR IGNORE` makes a duplicate a no-op. A receipt
seen again is confirmed again, because the device re-sends exactly those it
has not seen confirmed. A technician's self-test message (`.../selftest`) is
answered on the device's acks topic with its `selftest_id` and no receipt
ids. Single-threaded: paho's loop runs in `run()`.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from firmware.contract import (
    Acks,
    CommandResult,
    DeviceTopics,
    PayloadRejected,
    Receipt,
    Report,
    Selftest,
    Status,
    decode,
    decode_json,
    encode,
    ingest_filters,
    mqtt,
    parse_topic,
)
from firmware.contract.accounts import (
    LAYBY_TYPES,
    AnyMovement,
    GiftCardRedeem,
    GiftCardSell,
    GiftCardTopUp,
    accounts_of,
)
from firmware.contract.clock import iso_utc
from firmware.contract.customers import CustomerEdits
from firmware.contract.mail import MailAcks, MailRequest, mail_acks_topic, mail_ingest_filter
from firmware.contract.mqtt import SubscribeOptions
from firmware.contract.payloads import FleetHead, ResendArgs, ResendCommand
from firmware.contract.promotions import coupons_of
from firmware.contract.receipt_id import names, parse_receipt_id
from firmware.contract.stock import StockDeltas
from firmware.contract.timeclock import PunchAcks, PunchMessage, punch_acks_topic, punch_ingest_filter
from firmware.contract.wire import Inbound, LeanClient
from fleet.broker import INGEST_MAX_PACKET, BrokerSettings, connect, make_client
from fleet.db import MAX_UNHEARD_ENDED, DatabaseUnavailable, DeviceStatus, FleetDb, Gap, Head, PunchRow, ReceiptRow
from fleet.errors import FleetError, FleetUsageError
from fleet.integrity import hash_matches
from fleet.mailer import accept_request
from fleet.plausibility import flags_of
from fleet.timeclock import classify

if TYPE_CHECKING:
    from fleet.mailer import MailStore

log = logging.getLogger("kassa.fleet.ingest")


@dataclass
class IngestOptions:
    """Tuning of one worker; the defaults suit a production broker."""

    prefix: str = "kassa/v1"
    group: str = "kassa-ingest"
    client_id: str = "kassa-fleet-ingest"
    batch_size: int = 500           # a storm's batches: bigger batches, fewer statements and commits per receipt
    batch_wait: float = 0.01
    receive_maximum: int = 1000
    # 0: a worker's session ends with its connection. Mosquitto keeps sharing messages out to a persistent
    # session whose worker died, so they would sit there until it expires; the devices re-send instead.
    session_expiry: int = 0
    keepalive: int = 30
    gap_check_every: float = 5.0
    gap_grace: float = 15.0
    resend_every: float = 60.0
    backoff_cap: float = 30.0
    resends_per_cycle: int = 50      # over all devices; one device gets at most one per cycle
    head_every: float = 2.0          # at most one head answer per device in this many seconds
    reject_log_per_minute: int = 20
    # the right side of the Message-ID of e-mailed receipts (the mailer's [mail] message_id_domain)
    mail_domain: str = "kassa.invalid"
    accounts_every: float = 60.0     # seconds between account reconcile passes (the gap-check leader runs them)
    # the shop's currency: after each reconcile pass the leader publishes each store's next accounts snapshot
    # (balances, open laybys) when it says something new (docs/accounts.md); None: only `publish-accounts`
    accounts_currency: str | None = None
    # seconds between checks for stores whose customer edits arrived after their last list (the gap-check leader
    # builds and publishes those stores' lists; docs/customers.md); 0 turns it off
    customers_every: float = 10.0
    # seconds between the leader's looks for stores whose stock changed since their last snapshot (it publishes
    # their next one; docs/stock.md); every tenth look compares every store's (a changed policy); 0 turns it off
    stock_every: float = 30.0
    # signs each command for its topic (firmware.contract.signing.Signer; `kassa-fleet ingest --signing-key`)
    signer: Callable[[str, bytes], bytes] | None = None


@dataclass
class IngestStats:
    messages: int = 0
    receipts_new: int = 0
    receipts_duplicate: int = 0
    rejected: int = 0
    confirmations: int = 0
    resends_requested: int = 0
    batches: int = 0
    selftests: int = 0
    conflicts: int = 0
    chain_breaks: int = 0
    rollbacks: int = 0
    gap_cycles: int = 0
    db_retries: int = 0
    account_passes: int = 0
    punches: int = 0
    mail_requests: int = 0
    stock_deltas: int = 0
    customer_edits: int = 0
    customer_lists: int = 0
    store_documents: int = 0  # retained store documents the leader published (stock and accounts snapshots)


@dataclass(frozen=True)
class StoreDocument:
    """A retained document for one store's registers, built by the leader, published by the ingest's thread."""

    store: str
    topic: str
    payload: bytes  # the document (signed on the way out when the worker signs)
    record: Callable[[FleetDb], None]  # once published: note it in the database (its version, for the next one)
    what: str  # for the log: "stock snapshot version 7"


@dataclass
class _Batch:
    messages: list[Inbound | mqtt.MQTTMessage] = field(default_factory=list)
    links: list[int] = field(default_factory=list)  # which broker link each message came in on
    started: float = 0.0


@dataclass
class _Link:
    """One broker this worker subscribes on; stores are spread over several (the URL given at provisioning)."""

    index: int
    settings: BrokerSettings
    client: LeanClient | None = None
    connected: bool = False
    subscribed: bool = False
    attempt: int = 0
    next_attempt: float = 0.0


@dataclass
class _Parsed:
    rows: list[ReceiptRow] = field(default_factory=list)
    reports: list[tuple[str, str, str, str, int | None, str]] = field(default_factory=list)
    results: list[tuple[str, bool, str]] = field(default_factory=list)
    rejects: list[tuple[str, str, int]] = field(default_factory=list)
    statuses: list[DeviceStatus] = field(default_factory=list)
    selftests: list[tuple[str, str, str]] = field(default_factory=list)
    punches: list[PunchRow] = field(default_factory=list)
    mail: list[tuple[Any, ...]] = field(default_factory=list)  # accepted requests, as fleet.mailstore.add_args
    stock: list[tuple[str, str, Any]] = field(default_factory=list)  # (store, register, deltas) per message
    customers: list[tuple[str, str, CustomerEdits]] = field(default_factory=list)  # per message
    mail_answers: list[tuple[str, str, str, bool, str]] = field(default_factory=list)  # store, register, id, ok, why


class GapChecker:
    """Finds gaps and picks which to ask for, off the ingest's message path (its own database connection).

    Caps keep one device from stalling the rest: a device gets at most one resend per cycle (the gap it was
    asked about longest ago), a cycle at most `resends_per_cycle`, devices taken in turn from where the last
    cycle stopped.
    """

    def __init__(self, db: FleetDb, options: IngestOptions) -> None:
        self.db = db
        self.opt = options
        self._seen: dict[Gap, float] = {}
        self._asked: dict[Gap, float] = {}
        self._turn = 0

    def cycle(self, now: float) -> list[Gap]:
        gaps = self.db.gaps()
        present = set(gaps)
        for book in (self._seen, self._asked):
            for gap in [g for g in book if g not in present]:
                del book[gap]
        first_per_device: dict[tuple[str, str], Gap] = {}
        # per device, the gap asked for longest ago (never asked first, then the lowest): a gap that nobody can
        # fill does not starve the others
        for gap in sorted(gaps, key=lambda g: (g.store, g.register, self._asked.get(g, -1e18), g.epoch, g.from_seq)):
            seen = self._seen.setdefault(gap, now)
            if now - seen < self.opt.gap_grace or now - self._asked.get(gap, -1e18) < self.opt.resend_every:
                continue
            first_per_device.setdefault((gap.store, gap.register), gap)
        devices = sorted(first_per_device)
        if not devices:
            return []
        start = self._turn % len(devices)
        chosen = [first_per_device[d] for d in (devices[start:] + devices[:start])[:self.opt.resends_per_cycle]]
        self._turn = start + len(chosen)
        for gap in chosen:
            self._asked[gap] = now
        return chosen


def movement_rows(movements: Sequence[AnyMovement]) -> tuple[tuple[str, str, str], ...]:
    """(type, account, entry JSON) of a receipt's account movements, as the store keeps them."""
    return tuple((m.type, m.card_hash if isinstance(m, (GiftCardSell, GiftCardTopUp, GiftCardRedeem))
                  else m.layby if isinstance(m, LAYBY_TYPES) else m.customer,
                  json.dumps(m.model_dump(mode="json", exclude_none=True), separators=(",", ":"), sort_keys=True))
                 for m in movements)


class _MailCollector:
    """The MailStore accept_request writes to during parsing: rows for the batch's own transaction."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(self, request: MailRequest, message_id: str, at: datetime) -> bool:
        from fleet.mailer import _iso
        from fleet.mailstore import add_args

        self.rows.append(add_args(request, message_id, _iso(at)))
        return True


def _names_register(request_id: str, store: str, register: str) -> bool:
    """A refused request's id can be answered on this register's mail_acks only when it is one of its ids."""
    parts = request_id.split(":")
    return len(parts) == 4 and parts[0] == store and parts[1] == register


def _now_iso() -> str:
    return iso_utc(datetime.now(UTC))


class IngestWorker:
    """One ingest worker; several may run against the same brokers (shared subscriptions) and one database.

    It subscribes on every broker it is given (stores are spread over K brokers) and answers each device on
    the broker its messages came from.
    """

    def __init__(self, broker: BrokerSettings | Sequence[BrokerSettings], db: FleetDb,
                 options: IngestOptions | None = None) -> None:
        brokers = [broker] if isinstance(broker, BrokerSettings) else list(broker)
        if not brokers:
            raise FleetUsageError("give at least one --broker")
        self.links = [_Link(i, b) for i, b in enumerate(brokers)]
        self.broker = brokers[0]
        self.db = db
        self.opt = options or IngestOptions()
        self.stats = IngestStats()
        self._batch = _Batch()
        self.subscribed = threading.Event()  # set once every broker has granted every subscription
        self._resends: queue.Queue[Gap] = queue.Queue(maxsize=self.opt.resends_per_cycle)
        # customer lists the gap-check leader built, for this thread to sign, publish and record
        self._lists: queue.Queue[tuple[str, int, bytes, int, dict[str, list[str]]]] = queue.Queue(maxsize=100)
        # store documents the gap-check leader built (stock and accounts snapshots), for this thread to sign, publish
    # and record
        self._documents: queue.Queue[StoreDocument] = queue.Queue(maxsize=100)
        self._head_sent: dict[tuple[str, str], float] = {}
        self._heads_due: dict[tuple[str, str], Head] = {}
        self._device_link: dict[tuple[str, str], int] = {}
        self._batch_time = datetime.now(UTC)
        self._reject_window = 0.0
        self._db_retry_at = 0.0
        self._db_failures = 0
        self._rejects_logged = self._rejects_unlogged = 0

    @property
    def _connected(self) -> bool:
        return any(link.connected for link in self.links)

    # ---- paho callbacks (all on this worker's thread) ----

    def _on_connect(self, link: _Link, client: mqtt.Client, reason: Any) -> None:
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", link.settings.url, reason)
            return
        link.connected = True
        opts = SubscribeOptions(qos=1)
        subs = [(f, opts) for f in ingest_filters(self.opt.prefix, self.opt.group) if not f.endswith("/status")]
        subs.append((punch_ingest_filter(self.opt.prefix, self.opt.group), opts))
        subs.append((mail_ingest_filter(self.opt.prefix, self.opt.group), opts))
        # status is retained: a plain subscription gets every device's last status at start (shared ones do not)
        subs.append((f"{self.opt.prefix}/+/+/status", opts))
        client.subscribe(subs)
        log.info("connected to %s, subscribed to %s", link.settings.url, ", ".join(f for f, _ in subs))

    def _on_disconnect(self, link: _Link, reason: Any) -> None:
        link.connected = link.subscribed = False
        self.subscribed.clear()
        log.warning("disconnected from the broker %s: %s", link.settings.url, reason)

    def _on_subscribe(self, link: _Link, reasons: Any) -> None:
        """The broker granted the subscriptions: from now on nothing published to them is missed."""
        if all(not r.is_failure for r in reasons):
            link.subscribed = True
            if all(lk.subscribed for lk in self.links):
                self.subscribed.set()
        else:
            log.error("broker %s refused a subscription: %s", link.settings.url, ", ".join(str(r) for r in reasons))

    def _on_message(self, link: _Link, msg: Inbound | mqtt.MQTTMessage) -> None:
        if not self._batch.messages:
            self._batch.started = time.monotonic()
        self._batch.messages.append(msg)
        self._batch.links.append(link.index)

    # ---- batch processing ----

    def _receipt_row(self, msg: Inbound | mqtt.MQTTMessage, store: str, register: str) -> ReceiptRow:
        # The hot path: one validating parse (pydantic, straight from the bytes), then the hash over the bytes.
        payload = msg.payload
        receipt = decode_json(Receipt, payload)
        key = parse_receipt_id(receipt.receipt_id)
        if receipt.store != store or receipt.register != register or key is None or not names(key, store, register):
            # identity comes from the topic the broker authenticated: a payload naming another is forged
            raise PayloadRejected(f"receipt {receipt.receipt_id} names {receipt.store}/{receipt.register}, "
                                  f"not the topic's {store}/{register}")
        if not hash_matches(payload, receipt.hash):
            raise PayloadRejected(f"receipt {receipt.receipt_id}: hash does not match its content")
        # its account movements (docs/accounts.md): a malformed list rejects the receipt, never confirmed
        movements = accounts_of(receipt)
        # the single-use coupons a sale consumed (docs/promotions.md): a code two sales used is flagged, never refused;
        # a refund gives the money back, it is not another use
        coupons = coupons_of(receipt)
        return ReceiptRow(receipt.receipt_id, store, register, key.epoch, receipt.seq, receipt.kind,
                          receipt.created_at, receipt.totals.total, payload.decode("utf-8"), receipt.hash,
                          receipt.prev_hash, flags_of(receipt, received_at=self._batch_time),
                          movement_rows(movements) if movements else (),
                          coupons if receipt.kind == "sale" else ())

    def _punch_row(self, msg: Inbound | mqtt.MQTTMessage, store: str, register: str) -> PunchRow:
        """A punch (docs/timeclock.md): identity from the topic, its hash over the fields as sent."""
        message = decode(PunchMessage, msg.payload)
        key = parse_receipt_id(message.punch_id)
        if (message.store != store or message.register != register or key is None or key.seq != message.seq
                or not names(key, store, register)):
            raise PayloadRejected(f"punch {message.punch_id} names {message.store}/{message.register}, "
                                  f"not the topic's {store}/{register}")
        if classify(None, message, json.loads(msg.payload)) == "bad_hash":
            raise PayloadRejected(f"punch {message.punch_id}: hash does not match its content")
        return PunchRow(message.punch_id, store, register, key.epoch, message.seq, message.clerk_id, message.kind,
                        message.at, message.clock_trusted, message.hash, message.prev_hash,
                        msg.payload.decode("utf-8"))

    def _mail_request(self, batch: _Parsed, msg: Inbound | mqtt.MQTTMessage, store: str, register: str) -> None:
        """An e-mail receipt request (docs/digital-receipts.md): checked by fleet.mailer.accept_request, recorded
        in the batch's transaction, answered on mail_acks after the commit (refused ones too, with the reason, so
        the register stops resending); a request with no readable id is only rejected."""
        collect = _MailCollector()
        # only `add` is used by accept_request: the collector stands in for the MailStore
        answer = accept_request(cast("MailStore", collect), bytes(msg.payload), store, register, self._batch_time,
                                self.opt.mail_domain)
        if answer.request_id is None or (not answer.ok and not _names_register(answer.request_id, store, register)):
            raise PayloadRejected(f"mail request: {answer.reason}")
        batch.mail += collect.rows
        batch.mail_answers.append((store, register, answer.request_id, answer.ok, answer.reason))
        if not answer.ok:
            self._log_reject(msg.topic, f"mail request {answer.request_id} refused: {answer.reason}")

    def _parse(self, messages: list[Inbound | mqtt.MQTTMessage], links: list[int]) -> _Parsed:
        parsed_batch = _Parsed()
        rows, reports, results = parsed_batch.rows, parsed_batch.reports, parsed_batch.results
        rejects, statuses, selftests = parsed_batch.rejects, parsed_batch.statuses, parsed_batch.selftests
        self._batch_time = datetime.now(UTC)
        for msg, link in zip(messages, links, strict=True):  # _Batch appends to both together
            try:
                topic = msg.topic
            except UnicodeDecodeError:  # paho's MQTTMessage for a topic that is not UTF-8
                rejects.append(("(not UTF-8)", "topic is not UTF-8", len(msg.payload)))
                continue
            parsed = parse_topic(topic, self.opt.prefix)
            try:
                if parsed is None or parsed[1] is None:
                    raise PayloadRejected(f"not a device topic under {self.opt.prefix}")
                store, register, leaf = parsed[0], parsed[1], parsed[2]
                self._device_link[(store, register)] = link
                if leaf == "receipts":
                    rows.append(self._receipt_row(msg, store, register))
                elif leaf == "reports":
                    report = decode(Report, msg.payload)
                    reports.append((report.report_id, store, register, report.kind, report.z_number,
                                    msg.payload.decode("utf-8")))
                elif leaf == "status":
                    if msg.payload:  # an empty retained message only clears the topic
                        status = decode(Status, msg.payload)
                        statuses.append(DeviceStatus(store, register, status.model_dump(
                            exclude_none=True, include=set(Status.model_fields))))
                elif leaf == "command_results":
                    result = decode(CommandResult, msg.payload)
                    results.append((result.command_id, result.ok, result.detail))
                elif leaf == "selftest":
                    selftests.append((store, register, decode(Selftest, msg.payload).selftest_id))
                elif leaf == "punches":
                    parsed_batch.punches.append(self._punch_row(msg, store, register))
                elif leaf == "mail_requests":
                    self._mail_request(parsed_batch, msg, store, register)
                elif leaf == "stock":
                    batch = decode(StockDeltas, msg.payload)
                    if batch.store != store or batch.register != register:
                        raise PayloadRejected(f"stock deltas name {batch.store}/{batch.register}, not the topic's "
                                              f"{store}/{register}")
                    parsed_batch.stock.append((store, register, batch.deltas))
                elif leaf == "customers":
                    edits = decode(CustomerEdits, msg.payload)
                    if edits.store != store or edits.register != register:
                        raise PayloadRejected(f"customer edits name {edits.store}/{edits.register}, not the topic's "
                                              f"{store}/{register}")
                    parsed_batch.customers.append((store, register, edits))
                else:
                    raise PayloadRejected(f"topic leaf {leaf!r} is not for the fleet")
            except PayloadRejected as exc:
                rejects.append((topic, str(exc), len(msg.payload)))
                self._log_reject(topic, str(exc))
        return parsed_batch

    def _log_reject(self, topic: str, reason: str) -> None:
        """One line per rejected message, at most `reject_log_per_minute` a minute (a flood must not rotate the
        log); the rest are counted and said once the minute is over. Every reject is in the database."""
        now = time.monotonic()
        if now - self._reject_window >= 60.0:
            if self._rejects_unlogged:
                log.warning("%d more rejected messages in the last minute (see kassa-fleet status)",
                            self._rejects_unlogged)
            self._reject_window, self._rejects_logged, self._rejects_unlogged = now, 0, 0
        if self._rejects_logged < self.opt.reject_log_per_minute:
            self._rejects_logged += 1
            log.warning("rejected a message on %s: %s", topic, reason)
        else:
            self._rejects_unlogged += 1

    def flush(self, *, ack: bool = True) -> None:
        """Commit the current batch, then ack its messages, confirm its receipts and answer what it asked."""
        messages, links = self._batch.messages, self._batch.links
        if not messages or time.monotonic() < self._db_retry_at:
            return
        p = self._parse(messages, links)
        try:
            out = self.db.store_batch(p.rows, p.reports, p.results, p.rejects, p.statuses, _now_iso(),
                                      punches=p.punches, mail=p.mail, stock=p.stock, customers=p.customers)
        except DatabaseUnavailable as exc:
            # Keep the batch: nothing is acked or confirmed, so the broker holds back the rest (receive maximum)
            # and nothing is lost; retry with backoff while the MQTT link stays up.
            self._db_failures += 1
            delay = min(self.opt.backoff_cap, 0.25 * 2 ** self._db_failures)
            self._db_retry_at = time.monotonic() + random.uniform(delay / 2, delay)
            self.stats.db_retries += 1
            log.warning("%s; keeping %d messages unacked, retrying in %.1fs", exc, len(messages),
                        self._db_retry_at - time.monotonic())
            return
        self._batch = _Batch()
        if self._db_failures:
            log.info("the database is back")
            self._db_failures = 0
        self.stats.batches += 1
        self.stats.messages += len(messages)
        self.stats.receipts_new += out.new
        self.stats.receipts_duplicate += len(out.confirmed) - out.new
        self.stats.conflicts += len(out.conflicts)
        self.stats.chain_breaks += out.chain_breaks
        self.stats.rollbacks += out.rollbacks
        self.stats.rejected += len(p.rejects)
        self.stats.stock_deltas += out.stock_new
        self.stats.customer_edits += out.customers_new
        if out.customer_conflicts:
            log.error("%d customer edit conflict(s): a register sent another edit under an id the fleet holds; set "
                      "aside, see kassa-fleet status", out.customer_conflicts)
        if out.stock_conflicts:
            log.error("%d stock delta conflict(s): a register sent other deltas under seqs the fleet holds; see "
                      "kassa-fleet status", out.stock_conflicts)
        for row in out.conflicts:
            log.error("conflict: %s/%s sent receipt %s with hash %s, the fleet holds another; not confirmed",
                      row.store, row.register, row.receipt_id, row.hash[:12])
        if out.rollbacks:
            log.error("%d device journal rollback(s) detected; see kassa-fleet status", out.rollbacks)
        for store, register, n in out.ended_refused:  # a device naming too many ended epochs (fleet/db.py)
            self._log_reject(DeviceTopics(store, register, self.opt.prefix).status,
                             f"{n} ended epoch(s) not recorded: the device already has {MAX_UNHEARD_ENDED} ended "
                             "epochs the fleet holds no receipt of")
        if not ack or not self._connected:
            return  # committed; the broker redelivers what was not acked, and the duplicate is a no-op
        for link in self.links:
            if link.client is not None and link.connected:  # one write per broker, in order of arrival
                link.client.ack_many([m.mid for m, i in zip(messages, links, strict=True)
                                      if i == link.index and m.qos == 1])
        confirmed: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in out.confirmed:
            confirmed[(row.store, row.register)].append(row.receipt_id)
        conflicts: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in out.conflicts:
            conflicts[(row.store, row.register)].append(row.receipt_id)
        for (store, register), ids in confirmed.items():
            for i in range(0, len(ids), 1000):
                self._to_device(store, register, Acks(receipt_ids=ids[i:i + 1000]))
                self.stats.confirmations += 1
        for (store, register), ids in conflicts.items():
            for i in range(0, len(ids), 1000):
                self._to_device(store, register, Acks(receipt_ids=[], conflict_ids=ids[i:i + 1000]))
        self._answer_punches(out.punches_confirmed, out.punch_conflicts)
        self._answer_mail(p.mail_answers)
        for head in out.heads:
            self._heads_due[(head.store, head.register)] = head  # the latest answer per device
        self._answer_heads()
        for store, register, selftest_id in p.selftests:
            # the technician's self-test: the answer proves broker, ACL and a live fleet worker end to end
            self._to_device(store, register, Acks(receipt_ids=[], selftest_id=selftest_id))
            self.stats.selftests += 1
            log.info("answered self-test %s of %s/%s", selftest_id, store, register)

    def _answer_punches(self, confirmed: list[PunchRow], conflicts: list[PunchRow]) -> None:
        """After the commit: each register's stored punches on its punch_acks, conflicts named, never confirmed."""
        answers: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for row in confirmed:
            answers[(row.store, row.register)][0].append(row.punch_id)
        for row in conflicts:
            answers[(row.store, row.register)][1].append(row.punch_id)
        self.stats.punches += len(confirmed)
        for (store, register), (ids, clashes) in answers.items():
            for i in range(0, max(len(ids), len(clashes)), 1000):
                acks = PunchAcks(punch_ids=ids[i:i + 1000], conflict_ids=clashes[i:i + 1000])
                for client in self._device_clients(store, register):
                    client.publish(punch_acks_topic(self.opt.prefix, store, register), encode(acks), qos=1)

    def _answer_mail(self, answers: list[tuple[str, str, str, bool, str]]) -> None:
        """After the commit: each register's accepted and refused mail requests on its mail_acks."""
        per: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = defaultdict(lambda: ([], {}))
        for store, register, request, ok, reason in answers:
            if ok:
                per[(store, register)][0].append(request)
            else:
                per[(store, register)][1][request] = reason[:500]
        self.stats.mail_requests += sum(1 for a in answers if a[3])
        for (store, register), (ids, refused) in per.items():
            accepted, said = sorted(set(ids)), sorted(refused.items())
            for i in range(0, max(len(accepted), len(said)), 1000):
                acks = MailAcks(request_ids=accepted[i:i + 1000], refused=dict(said[i:i + 1000]))
                for client in self._device_clients(store, register):
                    client.publish(mail_acks_topic(self.opt.prefix, store, register), encode(acks), qos=1)

    def _answer_heads(self) -> None:
        """Answer each device's latest status with the fleet's head, at most once per `head_every` per device:
        a status flood gets one answer a window, and the last status of a window is answered when it ends."""
        now = time.monotonic()
        for device, head in list(self._heads_due.items()):
            if now - self._head_sent.get(device, -1e18) < self.opt.head_every:
                continue
            del self._heads_due[device]
            self._head_sent[device] = now
            self._to_device(head.store, head.register, Acks(
                receipt_ids=[], head=FleetHead(epoch=head.epoch, seq=head.seq, hash=head.hash)))

    def _device_clients(self, store: str, register: str) -> list[LeanClient]:
        """The broker the device talks on (where its messages came from); every connected one if unknown."""
        index = self._device_link.get((store, register))
        if index is not None:
            link = self.links[index]
            return [link.client] if link.client is not None and link.connected else []
        return [lk.client for lk in self.links if lk.client is not None and lk.connected]

    def _to_device(self, store: str, register: str, acks: Acks) -> None:
        for client in self._device_clients(store, register):
            client.publish(DeviceTopics(store, register, self.opt.prefix).acks, encode(acks), qos=1)

    # ---- gaps (found on the gap thread, asked for on this one) ----

    def check_gaps(self, now: float) -> list[Gap]:
        """Run one gap cycle here and send what it asks for (tests; the worker runs cycles on its own thread)."""
        checker = GapChecker(self.db, self.opt)
        asked = []
        for gap in checker.cycle(now):
            if self.request_resend(gap):
                asked.append(gap)
        return asked

    def _send_resends(self) -> None:
        while True:
            try:
                gap = self._resends.get_nowait()
            except queue.Empty:
                return
            self.request_resend(gap)

    def request_resend(self, gap: Gap) -> bool:
        """Send a `resend` command for one gap (recorded in the commands table)."""
        clients = self._device_clients(gap.store, gap.register)
        if not clients:
            return False
        to_seq = min(gap.to_seq, gap.from_seq + 99_999)
        command = ResendCommand(command_id=uuid.uuid4().hex, command="resend",
                                args=ResendArgs(from_seq=gap.from_seq, to_seq=to_seq, epoch=gap.epoch))
        self.db.record_command(command.command_id, gap.store, gap.register, "resend",
                               command.args.model_dump(), _now_iso())
        topic = DeviceTopics(gap.store, gap.register, self.opt.prefix).commands
        payload = encode(command)
        for client in clients:
            client.publish(topic, self.opt.signer(topic, payload) if self.opt.signer else payload, qos=1)
        self.stats.resends_requested += 1
        log.info("asked %s/%s to resend seq %d..%d (epoch %s)", gap.store, gap.register, gap.from_seq, to_seq,
                 gap.epoch)
        return True

    # ---- the loop ----

    def _connect(self, link: _Link) -> LeanClient:
        client_id = self.opt.client_id if len(self.links) == 1 else f"{self.opt.client_id}-b{link.index}"
        client = make_client(link.settings, client_id, manual_ack=True, read_batch=self.opt.batch_size,
                             max_packet_size=INGEST_MAX_PACKET)
        client.on_connect = lambda c, _u, _f, reason, _p: self._on_connect(link, c, reason)
        client.on_disconnect = lambda _c, _u, _f, reason, _p: self._on_disconnect(link, reason)
        client.on_subscribe = lambda _c, _u, _mid, reasons, _p: self._on_subscribe(link, reasons)
        client.on_message = lambda _c, _u, msg: self._on_message(link, msg)
        connect(client, link.settings, keepalive=self.opt.keepalive, clean_start=self.opt.session_expiry == 0,
                session_expiry=self.opt.session_expiry, receive_maximum=self.opt.receive_maximum)
        return client

    def _gap_loop(self, stop: threading.Event) -> None:
        """The gap thread: a cycle every `gap_check_every` s on its own connection; what it picks is queued
        (bounded) for the ingest's thread to publish. A slow cycle delays resends, never acks."""
        db: FleetDb | None = None
        checker: GapChecker | None = None
        reconciled = listed = stocked = -1e18
        stock_looks = 0
        flagged: set[Any] = set()
        try:
            while not stop.wait(self.opt.gap_check_every):
                if not self._connected:
                    continue
                try:
                    if db is None:
                        db = FleetDb(self.db.url, pool_size=1, migrate=False)
                        checker = GapChecker(db, self.opt)
                    if not db.try_lead("gaps"):
                        continue  # another worker on this database runs the gap checks
                    assert checker is not None
                    chosen = checker.cycle(time.monotonic())
                    self.stats.gap_cycles += 1
                    for gap in chosen:
                        try:
                            self._resends.put_nowait(gap)
                        except queue.Full:
                            break  # the rest waits for the next cycle
                    if time.monotonic() - reconciled >= self.opt.accounts_every:
                        from fleet.accounting import money_of, reconcile_flags

                        reconciled = time.monotonic()
                        result = reconcile_flags(db, _now_iso())
                        self.stats.account_passes += 1
                        for flag in set(result.flags) - flagged:  # each new flag once, not every pass
                            log.warning("accounts: %s: %s", flag.kind, flag.describe(money_of(db)))
                        flagged = set(result.flags)
                        if self.opt.accounts_currency:
                            self._build_accounts_snapshots(db, self.opt.accounts_currency)
                    if self.opt.customers_every > 0 and time.monotonic() - listed >= self.opt.customers_every:
                        listed = time.monotonic()
                        self._build_lists(db)
                    if self.opt.stock_every > 0 and time.monotonic() - stocked >= self.opt.stock_every:
                        stocked = time.monotonic()
                        self._build_stock_snapshots(db, every_store=stock_looks % 10 == 0)
                        stock_looks += 1
                except (DatabaseUnavailable, FleetError) as exc:
                    log.warning("gap check skipped: %s", exc)
                except Exception:  # noqa: BLE001 - a failed cycle must not end gap checking
                    log.exception("gap check failed; retrying next cycle")
        finally:
            if db is not None:
                db.close()

    def _build_stock_snapshots(self, db: FleetDb, *, every_store: bool) -> None:
        """On the gap thread (the leader): each store's next stock snapshot where its content changed, queued for
        the ingest's thread to publish (docs/stock.md)."""
        from fleet.stockdb import next_snapshot, snapshot_due

        for store in snapshot_due(db, every_store=every_store):
            at = _now_iso()
            try:
                made = next_snapshot(db, store, at)
            except (ValueError, FleetError) as exc:  # one store's bad data must not stop the others' snapshots
                log.error("stock snapshot of store %s not built: %s", store, exc)
                continue
            if made is None:
                continue
            version, payload = made
            topic = DeviceTopics(store, "-", self.opt.prefix).stock_snapshot

            def record(database: FleetDb, store: str = store, version: int = version, at: str = at,
                       payload: bytes = payload) -> None:
                database.record_stock_snapshot(store, version, at, payload.decode("utf-8"))

            try:
                self._documents.put_nowait(StoreDocument(store, topic, payload, record,
                                                         f"stock snapshot version {version}"))
            except queue.Full:
                return  # the rest next time

    def _build_accounts_snapshots(self, db: FleetDb, currency: str) -> None:
        """On the gap thread (the leader): each store's next accounts snapshot where it says something new."""
        from fleet.accounting import due_snapshots

        at = _now_iso()
        for store, version, payload in due_snapshots(db, issued_at=at, currency=currency):
            topic = DeviceTopics(store, "-", self.opt.prefix).accounts

            def record(database: FleetDb, store: str = store, version: int = version,
                       payload: bytes = payload) -> None:
                database.record_accounts_snapshot(store, version, at, payload.decode("utf-8"), at)

            try:
                self._documents.put_nowait(StoreDocument(store, topic, payload, record,
                                                         f"accounts snapshot version {version}"))
            except queue.Full:
                return  # the rest after the next pass

    def _publish_documents(self) -> None:
        """Publish the store documents the leader built (retained, QoS 1, signed when the worker signs) on the
        store's broker, then record them."""
        while True:
            try:
                doc = self._documents.get_nowait()
            except queue.Empty:
                return
            payload = self.opt.signer(doc.topic, doc.payload) if self.opt.signer else doc.payload
            clients = self._store_clients(doc.store)
            for client in clients:
                client.publish(doc.topic, payload, qos=1, retain=True)
            if clients:
                doc.record(self.db)
                self.stats.store_documents += 1
                log.info("published %s of store %s", doc.what, doc.store)

    def _build_lists(self, db: FleetDb) -> None:
        """On the gap thread (the leader): build the list of every store whose customer edits arrived after its
        last list, numbered one above it, and queue it for the ingest's thread to publish (docs/customers.md)."""
        from fleet.customerdb import build_list, due_stores, last_list_version

        for due in due_stores(db):
            version = (last_list_version(db, due.store) or 0) + 1
            document, arrivals, dupes, listed = build_list(db, due.store, version, _now_iso())
            try:
                self._lists.put_nowait((due.store, version, document, arrivals, dupes))
            except queue.Full:
                return  # the rest next time
            log.info("customer list version %d of store %s built: %d customer(s), %d card number(s) held twice",
                     version, due.store, listed, len(dupes))

    def _publish_lists(self) -> None:
        """Publish the queued customer lists (retained, QoS 1, signed when the worker signs) and record them."""
        from fleet.customerdb import record_list

        while True:
            try:
                store, version, document, arrivals, dupes = self._lists.get_nowait()
            except queue.Empty:
                return
            topic = DeviceTopics(store, "-", self.opt.prefix).customer_list
            payload = self.opt.signer(topic, document) if self.opt.signer else document
            clients = self._store_clients(store)
            for client in clients:
                client.publish(topic, payload, qos=1, retain=True)
            if clients:
                record_list(self.db, store, version, _now_iso(), arrivals, dupes)
                self.stats.customer_lists += 1
                for code, ids in dupes.items():
                    log.warning("customers: card number %s of store %s is held by %s", code, store, ", ".join(ids))

    def _store_clients(self, store: str) -> list[LeanClient]:
        """The broker a store's registers talk on (where their messages came from); every connected one if
        unknown."""
        links = {index for (s, _r), index in self._device_link.items() if s == store}
        chosen = [self.links[i] for i in sorted(links)] or self.links
        return [lk.client for lk in chosen if lk.client is not None and lk.connected]

    def run(self, stop: threading.Event | None = None) -> IngestStats:
        """Ingest until `stop` is set; reconnects with exponential backoff and full jitter.

        Starts the gap thread and joins it before returning: the worker's only threads."""
        stop = stop or threading.Event()
        gap_thread = threading.Thread(target=self._gap_loop, args=(stop,), name="kassa-fleet-gaps", daemon=True)
        gap_thread.start()
        try:
            self._run(stop)
        finally:
            stop.set()
            gap_thread.join()
        return self.stats

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._dial()
            live = [link for link in self.links if link.client is not None]
            if not live:
                due = min(link.next_attempt for link in self.links)
                stop.wait(max(0.01, min(0.5, due - time.monotonic())))
                continue
            timeout = 0.1
            if self._batch.messages and time.monotonic() >= self._db_retry_at:
                timeout = max(0.0, self._batch.started + self.opt.batch_wait - time.monotonic())
            for n, link in enumerate(live):
                assert link.client is not None
                rc = link.client.loop(timeout if n == 0 else 0.0)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    self._drop(link)
            batch = self._batch.messages
            now = time.monotonic()
            if batch and (len(batch) >= self.opt.batch_size or now - self._batch.started >= self.opt.batch_wait):
                self.flush()
            if self._connected and not self._resends.empty():
                self._send_resends()
            if self._heads_due and self._connected:
                self._answer_heads()
            if self._connected and not self._lists.empty():
                self._publish_lists()
            if self._connected and not self._documents.empty():
                self._publish_documents()
        self.flush()
        for link in self.links:
            client, link.client = link.client, None
            if client is not None:
                client.disconnect()
                client.loop(0.1)

    def _dial(self) -> None:
        """Connect every broker link that is down and due; backoff with full jitter per link."""
        now = time.monotonic()
        for link in self.links:
            if link.client is not None or now < link.next_attempt:
                continue
            try:
                link.client = self._connect(link)
                link.attempt = 0
            except FleetError as exc:
                link.attempt += 1
                delay = random.uniform(0, min(self.opt.backoff_cap, 0.25 * 2 ** link.attempt))
                link.next_attempt = now + delay
                log.warning("%s; retrying in %.1fs", exc, delay)

    def _drop(self, link: _Link) -> None:
        """A broker link went down: store what was read (acked on the links still up), redial it soon."""
        link.connected = link.subscribed = False
        self.subscribed.clear()
        self.flush()
        if self._batch.links:  # not stored (the database is away): forget them, their mids die with the link;
            keep = [i for i, index in enumerate(self._batch.links) if index != link.index]  # devices re-send
            self._batch.messages = [self._batch.messages[i] for i in keep]
            self._batch.links = [self._batch.links[i] for i in keep]
        link.client = None
        link.next_attempt = time.monotonic() + random.uniform(0, 0.5)
