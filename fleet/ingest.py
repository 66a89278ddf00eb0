"""The ingest worker: shared subscription in, one SQLite transaction per batch, then MQTT acks and confirmations.

Order per batch (DESIGN.md "Fleet reference backend"): write every row in one
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

import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.clock import iso_utc
from firmware.contract import (Acks, CommandResult, DeviceTopics, PayloadRejected, Receipt, Report, Selftest, Status,
                               decode, decode_json, encode, ingest_filters, parse_topic)
from firmware.contract.payloads import ResendArgs, ResendCommand
from firmware.contract.wire import Inbound, LeanClient
from fleet.broker import BrokerSettings, connect, make_client
from fleet.db import FleetDb, Gap, ReceiptRow
from fleet.errors import FleetError
from fleet.integrity import hash_matches

log = logging.getLogger("kassa.fleet.ingest")


@dataclass
class IngestOptions:
    """Tuning of one worker; the defaults suit a production broker."""

    prefix: str = "kassa/v1"
    group: str = "kassa-ingest"
    client_id: str = "kassa-fleet-ingest"
    batch_size: int = 200
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


@dataclass
class _Batch:
    messages: list[Inbound | mqtt.MQTTMessage] = field(default_factory=list)
    started: float = 0.0


def _now_iso() -> str:
    return iso_utc(datetime.now(timezone.utc))


class IngestWorker:
    """One ingest worker; several may run against the same broker (shared subscription)."""

    def __init__(self, broker: BrokerSettings, db: FleetDb, options: IngestOptions | None = None) -> None:
        self.broker = broker
        self.db = db
        self.opt = options or IngestOptions()
        self.stats = IngestStats()
        self._batch = _Batch()
        self._client: LeanClient | None = None
        self._connected = False
        self.subscribed = threading.Event()  # set once the broker has granted every subscription
        self._gap_seen: dict[Gap, float] = {}
        self._gap_asked: dict[Gap, float] = {}
        self._next_gap_check = 0.0

    # ---- paho callbacks (all on this worker's thread) ----

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self._connected = True
        opts = SubscribeOptions(qos=1)
        subs = [(f, opts) for f in ingest_filters(self.opt.prefix, self.opt.group) if not f.endswith("/status")]
        # status is retained: a plain subscription gets every device's last status at start (shared ones do not)
        subs.append((f"{self.opt.prefix}/+/+/status", opts))
        client.subscribe(subs)
        log.info("connected to %s, subscribed to %s", self.broker.url, ", ".join(f for f, _ in subs))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected = False
        self.subscribed.clear()
        log.warning("disconnected from the broker: %s", reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        """The broker granted the subscriptions: from now on nothing published to them is missed."""
        if all(not r.is_failure for r in reasons):
            self.subscribed.set()
        else:
            log.error("broker refused a subscription: %s", ", ".join(str(r) for r in reasons))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: Inbound | mqtt.MQTTMessage) -> None:
        if not self._batch.messages:
            self._batch.started = time.monotonic()
        self._batch.messages.append(msg)

    # ---- batch processing ----

    def _receipt_row(self, msg: Inbound | mqtt.MQTTMessage, store: str, register: str) -> ReceiptRow:
        # The hot path: one validating parse (pydantic, straight from the bytes), then the hash over the bytes.
        payload = msg.payload
        receipt = decode_json(Receipt, payload)
        if receipt.store != store or receipt.register != register:
            raise PayloadRejected(f"receipt {receipt.receipt_id} names {receipt.store}/{receipt.register}, "
                                  f"not the topic's {store}/{register}")
        if receipt.hash is not None and not hash_matches(payload, receipt.hash):
            raise PayloadRejected(f"receipt {receipt.receipt_id}: hash does not match its content")
        return ReceiptRow(receipt.receipt_id, store, register, receipt.epoch, receipt.seq, receipt.kind,
                          receipt.created_at, receipt.totals.total, payload.decode("utf-8"))

    def _parse(self, messages: list[Inbound | mqtt.MQTTMessage]) -> tuple[list[Any], ...]:
        rows: list[ReceiptRow] = []
        reports: list[tuple[str, str, str, str, int | None, str]] = []
        results: list[tuple[str, bool, str]] = []
        rejects: list[tuple[str, str, int]] = []
        statuses: list[tuple[str, str, dict[str, Any]]] = []
        selftests: list[tuple[str, str, str]] = []
        for msg in messages:
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
                if leaf == "receipts":
                    rows.append(self._receipt_row(msg, store, register))
                elif leaf == "reports":
                    report = decode(Report, msg.payload)
                    reports.append((report.report_id, store, register, report.kind, report.z_number,
                                    msg.payload.decode("utf-8")))
                elif leaf == "status":
                    if msg.payload:  # an empty retained message only clears the topic
                        status = decode(Status, msg.payload)
                        statuses.append((store, register,
                                         status.model_dump(exclude_none=True, include=set(Status.model_fields))))
                elif leaf == "command_results":
                    result = decode(CommandResult, msg.payload)
                    results.append((result.command_id, result.ok, result.detail))
                elif leaf == "selftest":
                    selftests.append((store, register, decode(Selftest, msg.payload).selftest_id))
                else:
                    raise PayloadRejected(f"topic leaf {leaf!r} is not for the fleet")
            except PayloadRejected as exc:
                rejects.append((topic, str(exc), len(msg.payload)))
                log.warning("rejected a message on %s: %s", topic, exc)
        return rows, reports, results, rejects, statuses, selftests

    def flush(self, *, ack: bool = True) -> None:
        """Commit the current batch, then ack its messages and confirm its receipts."""
        messages, self._batch = self._batch.messages, _Batch()
        if not messages:
            return
        rows, reports, results, rejects, statuses, selftests = self._parse(messages)
        new = self.db.store_batch(rows, reports, results, rejects, statuses, _now_iso())
        self.stats.batches += 1
        self.stats.messages += len(messages)
        self.stats.receipts_new += new
        self.stats.receipts_duplicate += len(rows) - new
        self.stats.rejected += len(rejects)
        client = self._client
        if not ack or client is None or not self._connected:
            return  # committed; the broker redelivers what was not acked, and the duplicate is a no-op
        client.ack_many([msg.mid for msg in messages if msg.qos == 1])  # one write, in order of arrival
        by_device: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in rows:
            by_device[(row.store, row.register)].append(row.receipt_id)
        for (store, register), ids in by_device.items():
            topic = DeviceTopics(store, register, self.opt.prefix).acks
            for i in range(0, len(ids), 1000):
                client.publish(topic, encode(Acks(receipt_ids=ids[i:i + 1000])), qos=1)
                self.stats.confirmations += 1
        for store, register, selftest_id in selftests:
            # the technician's self-test: the answer proves broker, ACL and a live fleet worker end to end
            client.publish(DeviceTopics(store, register, self.opt.prefix).acks,
                           encode(Acks(receipt_ids=[], selftest_id=selftest_id)), qos=1)
            self.stats.selftests += 1
            log.info("answered self-test %s of %s/%s", selftest_id, store, register)

    # ---- gaps ----

    def check_gaps(self, now: float) -> list[Gap]:
        """Ask for a resend of gaps open for `gap_grace` seconds (at most every `resend_every`); return those."""
        gaps = set(self.db.gaps())
        for gap in list(self._gap_seen):
            if gap not in gaps:
                del self._gap_seen[gap]
        asked = []
        for gap in sorted(gaps, key=lambda g: (g.store, g.register, g.from_seq)):
            first = self._gap_seen.setdefault(gap, now)
            if now - first < self.opt.gap_grace or now - self._gap_asked.get(gap, -1e18) < self.opt.resend_every:
                continue
            if self.request_resend(gap):
                self._gap_asked[gap] = now
                asked.append(gap)
        return asked

    def request_resend(self, gap: Gap) -> bool:
        """Send a `resend` command for one gap (recorded in the commands table)."""
        client = self._client
        if client is None or not self._connected:
            return False
        to_seq = min(gap.to_seq, gap.from_seq + 99_999)
        command = ResendCommand(command_id=uuid.uuid4().hex, command="resend",
                                args=ResendArgs(from_seq=gap.from_seq, to_seq=to_seq))
        self.db.record_command(command.command_id, gap.store, gap.register, "resend",
                               command.args.model_dump(), _now_iso())
        client.publish(DeviceTopics(gap.store, gap.register, self.opt.prefix).commands, encode(command), qos=1)
        self.stats.resends_requested += 1
        log.info("asked %s/%s to resend seq %d..%d (epoch %s)", gap.store, gap.register, gap.from_seq, to_seq,
                 gap.epoch)
        return True

    # ---- the loop ----

    def _connect(self) -> LeanClient:
        client = make_client(self.broker, self.opt.client_id, manual_ack=True, read_batch=self.opt.batch_size)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        connect(client, self.broker, keepalive=self.opt.keepalive, clean_start=self.opt.session_expiry == 0,
                session_expiry=self.opt.session_expiry, receive_maximum=self.opt.receive_maximum)
        return client

    def run(self, stop: threading.Event | None = None) -> IngestStats:
        """Ingest until `stop` is set; reconnects with exponential backoff and full jitter."""
        stop = stop or threading.Event()
        attempt = 0
        while not stop.is_set():
            try:
                self._client = self._connect()
            except FleetError as exc:
                attempt += 1
                delay = random.uniform(0, min(self.opt.backoff_cap, 0.25 * 2 ** attempt))
                log.warning("%s; retrying in %.1fs", exc, delay)
                stop.wait(delay)
                continue
            attempt = 0
            self._serve(self._client, stop)
            if stop.is_set():
                break
            self.flush(ack=False)
            self._connected = False
            self._client = None
            stop.wait(random.uniform(0, 0.5))
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop(0.1)
        return self.stats

    def _serve(self, client: LeanClient, stop: threading.Event) -> None:
        while not stop.is_set():
            timeout = 0.1
            if self._batch.messages:
                timeout = max(0.0, self._batch.started + self.opt.batch_wait - time.monotonic())
            rc = client.loop(timeout)
            batch = self._batch.messages
            now = time.monotonic()
            if batch and (len(batch) >= self.opt.batch_size or now - self._batch.started >= self.opt.batch_wait):
                self.flush()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                return
            if now >= self._next_gap_check and self._connected:
                self._next_gap_check = now + self.opt.gap_check_every
                self.check_gaps(now)
        self.flush()
