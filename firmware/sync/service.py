"""SyncService: the register's store-and-forward link to the fleet (docs/interfaces.md "Sync").

All network work happens on the link thread of `MqttLink`; the register's
thread only calls the small methods below (they queue a request and return at
once) and reads `state()`, and learns the rest from events on its queue.

- Uplink: receipts through `OutboxSender` (bounded window, delivered marks
  group-committed by the journal), reports kept in the journal's state
  records until PUBACKed, command answers, and the retained status (on
  connect, on change at most every `status_min_gap` s, and every
  `broker.status_interval` s; the last will says offline, with the epoch
  and head as of the connect).
- Lost journals (contract 1.2): on connect it reads its own retained status
  back; an epoch there its journal does not hold is kept as ended and named
  in `ended_epochs` of every status and of the will (firmware/sync/ended.py).
- Punches and e-mail requests (journal state records) go out on their own topics through
  `RecordOutboxes` (a small window each, resent on reconnect and after `resend_after`); `punch_acks` and
  `mail_acks` settle them (firmware/sync/record_outbox.py).
- Customer edits (the register's `CustomerBook`, its own fsync'ed log) go out as `CustomerEdits` batches; the
  store's retained, signed customer list is checked and applied to the book on this thread, and its `heads`
  settle the edits (firmware/sync/customer_outbox.py, docs/customers.md).
- Delivered but unconfirmed receipts become pending again after
  `broker.resend_after` s: a crashed broker may have PUBACKed and forgotten.
- The PUBACK path is the hot one: paho's callback goes straight to
  `OutboxSender.on_puback`, which publishes the next receipt there; delivered
  seqs reach the journal at most every ROUND_EVERY while a drain runs.
- Hello (contract 1.1): the status carries the journal's epoch and head; on
  connect it goes out first and receipts wait until the fleet answers with
  an acks `head` (or HELLO_TIMEOUT passes: a 1.0 fleet never answers). A
  head of the current epoch above the journal's end, or naming a different
  receipt at its seq, means the journal was rolled back (restored from an
  older copy): a new epoch opens so no receipt id is used twice.
- Downlink: acks -> `mark_confirmed`; `conflict_ids` (the fleet holds a
  different receipt under those ids) -> quarantined for good; an acks
  message with only a `selftest_id` answers a technician's self-test;
  catalog/clerks/commands must be signed by the pinned fleet key when
  `[broker] fleet_key_file` is set (firmware.contract.signing); catalog/clerks
  validated and applied to the local stores (see downlink.py); commands `sync_now` and `resend` are
  carried out and answered here, `report` goes to the register as
  `CommandReceived` on its queue; the register's shell later calls
  `publish_report` and `answer_command` (sync never calls the register).
- Pacing: while the screen draws frames (`ScreenActivity`, marked by the pygame loop), the link thread keeps
  its own CPU time (`time.thread_time`) under `pace_share` of wall-clock time and sleeps when over
  (`CpuPacer`): on a Pi whose cgroup has a CPU quota a full-speed drain would spend the quota and the kernel
  would hold every thread back, frames included, for the rest of the period. With no frames for
  `ScreenActivity.for_seconds` (no UI, a headless run) the drain runs unpaced.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from firmware.chain import canonical_json as _json
from firmware.clock import Clock, iso_utc, parse_iso_utc
from firmware.config import Config
from firmware.contract import (
    Acks,
    CommandResult,
    DeviceTopics,
    PayloadRejected,
    Report,
    Status,
    decode,
    decode_command,
    encode,
)
from firmware.contract.accounts import AccountsSnapshot
from firmware.contract.customers import CustomerList
from firmware.contract.payloads import COMMAND_MAX_BYTES, CatalogMessage, Clerks, refusal
from firmware.contract.signing import SignatureRejected, Verifier
from firmware.contract.stock import StockSnapshot as StockSnapshotMessage
from firmware.customers import CustomerBook
from firmware.domain.stock import PolicyBook, StockSnapshot
from firmware.errors import JournalError
from firmware.image_cache import ImageCache
from firmware.journal.journal import ROLLED_BACK
from firmware.logutil import LogThrottle
from firmware.stock_keeper import StockKeeper
from firmware.stores import catalog_store, clerk_store
from firmware.sync import events as ev
from firmware.sync.backoff import Backoff
from firmware.sync.customer_outbox import CustomerOutbox
from firmware.sync.downlink import apply_versioned
from firmware.sync.ended import EndedEpochs
from firmware.sync.images import REFUSED as IMAGE_REFUSED, ImageSync
from firmware.sync.mqtt_adapter import Acked, Connected, Disconnected, LinkEvent, LinkSettings, MqttLink, Received, Tick
from firmware.sync.outbox import OutboxSender
from firmware.sync.record_outbox import STOCK_LANE, RecordOutboxes, device_lanes
from firmware.sync.state import SCREEN, ScreenActivity, SyncState

log = logging.getLogger("kassa.sync")
_resend_log = LogThrottle(log, period=10.0, burst=5)  # a flood of resend commands: a few lines and a count
# Refused downlink messages (bad acks, commands, documents, signatures): a few lines per topic kind per period,
# then one summary with the count (LogThrottle.flush from the housekeeping), so a flood cannot rotate the log away.
REJECT_LOG_PERIOD = 10.0
REJECT_LOG_BURST = 5

REPORT_STATE = "sync_report"  # journal state records: reports not yet PUBACKed
STALE_AFTER = 300.0
HOUSEKEEPING_EVERY = 0.05  # s between status, snapshot and event checks on the link thread
# While a drain runs, PUBACKed seqs go to the journal at most this often (at once when the window empties or
# the broker refused one): fewer, larger delivery-log appends, each one fdatasync on the SD card (and, past
# the log's size limit, a compaction). A crash loses at most this much of delivered marks: those receipts are
# simply sent again, and the fleet dedupes them.
ROUND_EVERY = 0.25
# s after connecting that receipts wait for the fleet's answer to the status (its head of this epoch): a
# restored journal must learn it was rolled back before it sends receipts under ids the fleet already holds
HELLO_TIMEOUT = 10.0
# s between statuses while waiting: a fleet answers one status per device every few seconds (a flood guard), so
# the status that went out on connect may fall in that window and go unanswered
HELLO_ASK_EVERY = 3.0


# Pacing the drain while the cashier uses the screen: the link thread's CPU per wall-clock second stays under
# PACE_CPU_SHARE (0.08: 80 ms of CPU a second; on a register limited to 20% of a core that leaves the UI, the
# committer and the rest well inside the quota, and a 10k-receipt backlog still drains in tens of seconds).
# A policy value: a SyncService takes `pace_share` (0 turns pacing off), from `[broker] drain_cpu_share`.
PACE_CPU_SHARE = 0.08
# CPU s the link thread may spend at once before it sleeps (then it sleeps until it is this far under budget):
# small against a CFS period (100 ms), so the process never spends a period's quota in one burst.
PACE_BURST = 0.002
PACE_CHECK_EVERY = 16  # PUBACKs between checks inside a network round (each round ends with a check too)
PACE_MAX_SLEEP = 0.5  # s at most per sleep, so `stop()` and the keepalive never wait long on a paced link


class CpuPacer:
    """Keeps the calling thread's CPU time under `share` of wall-clock time while `active()`, by sleeping.

    A debt counter: CPU used since the last check minus `share` x wall time since then, never below -`burst`
    (credit does not pile up while the thread is quiet). When the debt is positive the thread sleeps until
    it is `burst` under budget again, so it works in bursts of about `burst` CPU seconds. While `active()` is
    False `check()` only calls it and returns: an idle screen costs the drain nothing.
    """

    def __init__(self, share: float, active: Callable[[], bool], *, burst: float = PACE_BURST,
                 thread_time: Callable[[], float] = time.thread_time,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"pace share {share} is not in (0, 1]")
        self.share, self.burst, self.active = share, burst, active
        self._thread_time, self._monotonic, self._sleep = thread_time, monotonic, sleep
        self._cpu: float | None = None  # thread time at the last check (None: not pacing)
        self._wall = 0.0
        self._debt = 0.0
        self.slept = 0.0  # seconds slept in all (figures for the status log and benchmarks)
        self.pauses = 0

    def check(self) -> None:
        if not self.active():
            self._cpu = None
            return
        cpu, wall = self._thread_time(), self._monotonic()
        if self._cpu is None:  # pacing starts now: no debt, one burst of credit
            self._cpu, self._wall, self._debt = cpu, wall, -self.burst
            return
        debt = self._debt + (cpu - self._cpu) - self.share * (wall - self._wall)
        self._cpu, self._wall = cpu, wall
        if debt <= 0:
            self._debt = max(debt, -self.burst)
            return
        pause = min(PACE_MAX_SLEEP, (debt + self.burst) / self.share)  # what is left is slept at the next check
        self._debt = debt
        self.pauses += 1
        self.slept += pause
        self._sleep(pause)


def _firmware_version() -> str:
    try:
        return metadata.version("kassa")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class SyncService:
    """Store-and-forward of the journal to the fleet over MQTT 5, and the fleet's downlink."""

    def __init__(self, config: Config, journal: Any, clock: Clock, events: queue.Queue[Any], *,
                 data_dir: Path | None = None, retry_after: float = 5.0, status_min_gap: float = 1.0,
                 tick: float = 0.05, hello_timeout: float = HELLO_TIMEOUT, screen: ScreenActivity | None = None,
                 pace_share: float = PACE_CPU_SHARE, stock: StockKeeper | None = None,
                 customers: CustomerBook | None = None, images: ImageCache | None = None) -> None:
        self.config = config
        self.stock = stock  # the till's stock (docs/stock.md): its deltas go out, the fleet's snapshot comes in
        self.journal = journal
        self.clock = clock
        self.events = events
        b = config.broker
        self.topics = DeviceTopics(config.device.store, config.device.register, b.prefix)
        data_dir = Path(data_dir or config.device.data_dir)
        self._catalog = catalog_store(data_dir)
        self._clerks = clerk_store(data_dir)
        self.status_min_gap = status_min_gap
        # contract 1.2: epochs its journal lost, read back from its own retained status (firmware/sync/ended.py);
        # hence the subscription to its own status, and a last will built at each connect naming epoch and head
        self.ended = EndedEpochs(journal)
        # item pictures (docs/item-images.md): the store's retained pictures, kept in the image cache
        self.images = ImageSync(images, config.device.store, b.prefix, self._catalog.load()) if images else None
        settings = LinkSettings.from_config(config, will_topic=self.topics.status,
                                            subscriptions=(*self.topics.downlink, self.topics.status)
                                            + ((self.topics.images,) if self.images else ()))
        self.link = MqttLink(settings, self._handle, backoff=Backoff(0.5, b.backoff_cap), tick=tick,
                             on_ack=self._on_ack, will=self._will)
        receipts_topic = self.topics.receipts
        publish = self.link.publish
        self.sender = OutboxSender(journal, lambda payload: publish(receipts_topic, payload), clock.monotonic,
                                   window=b.window, retry_after=retry_after, max_unconfirmed=b.max_unconfirmed)
        # punches and e-mail requests: journaled state records, each on its own topic (firmware/sync/record_outbox.py)
        self.records = RecordOutboxes(device_lanes(self.topics), journal, publish, clock.monotonic,
                                      resend_after=b.resend_after, retry_after=retry_after)
        # the customer book's edits out, the store's customer list in (firmware/sync/customer_outbox.py)
        self.customers = None if customers is None else CustomerOutbox(
            customers, self.topics.customers, publish, clock.monotonic, resend_after=b.resend_after,
            retry_after=retry_after)
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._next_housekeeping = 0.0
        self._next_round = 0.0
        self._report_mids: dict[int, str] = {}
        self._answers: list[CommandResult] = []
        self._extra: dict[str, Any] = {"firmware_version": _firmware_version()}
        self._online = False
        self._down_reported = False
        self._online_since = 0.0
        self._undelivered_events = 0
        self._next_delivered_event = 0.0
        self._next_resend_check = 0.0
        self._next_snapshot = 0.0
        self._status_sent: tuple[Any, ...] | None = None
        self._status_at = -1e18
        self._last_sync: str | None = None
        self._last_refusal: tuple[float, str] | None = None
        self._downlink_rejected = 0
        self._reject_log = LogThrottle(log, period=REJECT_LOG_PERIOD, burst=REJECT_LOG_BURST, clock=clock.monotonic)
        self.verifier = Verifier.from_file(b.fleet_key_file)  # no key pinned: unsigned accepted (a lab)
        self.signature_refused = 0  # of _downlink_rejected: not signed by the pinned fleet key
        if self.verifier.error:
            log.error("%s: every catalog, roster and command will be refused", self.verifier.error)
        self._summary: Any = None
        self._snapshot = SyncState()
        self.hello_timeout = hello_timeout
        self._hello_until: float | None = None  # receipts wait for the fleet's head until then (None: not waiting)
        self._hello_ask_at = 0.0  # when to send the status again while waiting
        self._started = False
        # the link thread's CPU while the screen is in use (None: never paced)
        self.pacer = CpuPacer(pace_share, (screen or SCREEN).active) if pace_share > 0 else None
        self._pace: Callable[[], None] = self.pacer.check if self.pacer is not None else (lambda: None)
        self._acks_unpaced = 0

    # ---- the register's side (any thread; never blocks on the network) ----

    def start(self) -> None:
        """Start the link thread (`kassa-sync`, bootstrap's lifecycle; the journal is started before).

        Twice is harmless."""
        if self._started:
            return
        self._started = True
        self._refresh(force=True)
        self.link.start()

    def stop(self) -> None:
        """Publish a last `offline` status if connected, disconnect, join the link thread, flush delivery marks."""
        self.link.stop(before_disconnect=lambda: self._publish_status(force=True, state="offline"))
        self._apply_round(self.clock.monotonic())  # the link thread is gone: the last PUBACKs, marked here
        self.journal.flush()

    def sync_now(self) -> None:
        """Reconnect at once if offline; send everything pending now."""
        self._requests.put(self._sync_now)
        self.link.wake()

    def publish_pending(self) -> None:
        """Punches or e-mail requests were journaled: send them at the next round (when online)."""
        self._requests.put(self.records.poke)

    def retry_quarantined(self) -> None:
        """Give quarantined receipts another round of attempts."""
        def run() -> None:
            n = self.journal.requeue_quarantined()
            log.info("%d quarantined receipts queued again", n)
            self._last_refusal = None
            self.sender.rescan()
            self._refresh(force=True)
        self._requests.put(run)
        self.link.wake()

    def publish_report(self, report: dict[str, Any]) -> None:
        """Send an X/Z report (kept in the journal until the broker has it). Raises PayloadRejected if malformed."""
        doc = decode(Report, _json(report))

        def run() -> None:
            self.journal.put_state(REPORT_STATE, doc.report_id, report)
            self._send_report(doc.report_id, report)
        self._requests.put(run)

    def answer_command(self, command_id: str, ok: bool, detail: str = "") -> None:
        """Answer a `CommandReceived` on the command_results topic (kept in memory until connected)."""
        answer = CommandResult(command_id=command_id, ok=ok, detail=detail[:2000])
        self._requests.put(lambda: self._answer(answer))

    def set_status_extra(self, extra: dict[str, Any]) -> None:
        """Merge fields into the retained status, e.g. {"hardware": {...}, "firmware_version": "1.2"}."""
        def run() -> None:
            self._extra.update(extra)
            self._publish_status(force=True)
        self._requests.put(run)

    def state(self) -> SyncState:
        """The latest snapshot (refreshed by the link thread a few times a second)."""
        return self._snapshot

    # ---- link thread ----

    def _emit(self, event: Any) -> None:
        self.events.put(event)

    def _on_ack(self, mid: int, ok: bool, reason: str) -> None:
        # inside paho's PUBACK callback: the sender publishes the next receipt from here
        if not self.sender.on_puback(mid, ok, reason) and not self.records.on_puback(mid, ok, reason) and not (
                self.customers is not None and self.customers.on_puback(mid, ok, reason)):
            self._other_ack(Acked(mid, ok, reason))
        self._acks_unpaced += 1
        if self._acks_unpaced >= PACE_CHECK_EVERY:
            self._acks_unpaced = 0
            self._pace()

    def _handle(self, event: LinkEvent) -> None:
        if isinstance(event, Tick):
            self._tick()
            self._pace()
        elif isinstance(event, Acked):
            self._on_ack(event.mid, event.ok, event.reason)
        elif isinstance(event, Received):
            if event.topic == self.topics.status:  # its own status read back (contract 1.2)
                self._own_status(event)
                return
            if event.topic == self.topics.customer_list:
                self._customer_list(event)
            elif event.topic == self.topics.stock_snapshot:
                self._stock_snapshot(event)
            elif self.records.handles(event.topic):  # punch_acks, mail_acks
                if not self.records.on_acks(event.topic, event.payload, self.clock.now()):
                    self._downlink_rejected += 1
            else:
                self._downlink(event)
        elif isinstance(event, Connected):
            self._connected(event)
        elif isinstance(event, Disconnected):
            self._disconnected(event)

    def _connected(self, event: Connected) -> None:
        # paho ignores the broker's Receive Maximum; exceeding it gets us disconnected. Keep room for
        # status, reports, answers, punches and e-mail requests.
        window = min(self.config.broker.window, max(1, event.receive_maximum - 4 - self.records.window))
        self.sender.reset(window, event.maximum_packet_size)
        self.records.reset(live=True)
        if self.customers is not None:
            self.customers.reset(live=True)
        if not event.session_present:
            # The broker holds no session for us (it crashed or expired it): what it PUBACKed may have gone
            # with it before the fleet read it. Send the delivered-but-unconfirmed again now, not after
            # resend_after; the fleet confirms a duplicate of the same content again.
            lost = self.journal.due_for_resend(self.clock.now())
            if lost:
                log.info("the broker has no session for us: sending %d unconfirmed receipts again now", len(lost))
                self.journal.mark_pending(lost)
        self.sender.outstanding = self.journal.delivered_unconfirmed()
        self._online, self._down_reported = True, False
        self._online_since = self.clock.monotonic()
        self._next_resend_check = self._online_since + 2.0  # let queued acks arrive first
        log.info("online (window %d, session %s)", window, "resumed" if event.session_present else "new")
        self._emit(ev.LinkUp())
        self._refresh(force=True)
        if self._summary and self._summary.pending == 0:
            self._last_sync = iso_utc(self.clock.now())
        self._publish_status(force=True)
        self._hello_until = self._online_since + self.hello_timeout  # receipts wait for the fleet's head
        self._hello_ask_at = self._online_since + HELLO_ASK_EVERY
        for report_id, report in sorted(self.journal.states(REPORT_STATE).items()):
            self._send_report(report_id, report)
        answers, self._answers = self._answers, []
        for answer in answers:
            self._answer(answer)

    def _disconnected(self, event: Disconnected) -> None:
        self._apply_round(self.clock.monotonic())
        was_online, self._online = self._online, False
        self._hello_until = None
        self.sender.reset()
        self.records.reset(live=False)
        if self.customers is not None:
            self.customers.reset(live=False)
        self._report_mids.clear()
        if was_online or not self._down_reported:
            self._down_reported = True
            log.warning("offline: %s", event.reason)
            self._emit(ev.LinkDown(event.reason))
            self._refresh(force=True)

    def _other_ack(self, event: Acked) -> None:
        report_id = self._report_mids.pop(event.mid, None)
        if report_id is not None and event.ok:
            self.journal.delete_state(REPORT_STATE, report_id)
        elif not event.ok:
            log.warning("broker refused a message (%s)%s", event.reason,
                        f": report {report_id}" if report_id else "")

    def _tick(self) -> None:
        # after every network round: keep it cheap, the drain runs through here thousands of times a second
        now_mono = self.clock.monotonic()
        sender = self.sender
        if sender.has_news and (now_mono >= self._next_round or not sender.inflight or sender.refusals_waiting):
            self._next_round = now_mono + ROUND_EVERY
            self._apply_round(now_mono)
        requests = self._requests
        while not requests.empty():
            requests.get()()
        if self._online:
            if now_mono >= self._next_resend_check:
                self._resend_unconfirmed(now_mono)
            if not self._awaiting_hello(now_mono):  # receipts, punches and e-mail requests wait for the hello
                if len(self.sender.inflight) < self.sender.window:
                    self.sender.fill()
                self.records.fill()
                if self.customers is not None:
                    self.customers.fill()
        if now_mono < self._next_housekeeping:
            return
        self._next_housekeeping = now_mono + HOUSEKEEPING_EVERY
        if self._undelivered_events and now_mono >= self._next_delivered_event:
            self._emit(ev.ReceiptsDelivered(self._undelivered_events))
            self._undelivered_events = 0
            self._next_delivered_event = now_mono + 0.2
        self._refresh()
        if self._online:
            self._publish_status()
        self._reject_log.flush()
        _resend_log.flush()
        self.records.flush_logs()
        self.journal.flush_logs()

    def _awaiting_hello(self, now_mono: float) -> bool:
        """True while receipts wait for the fleet's answer to the status sent on connect."""
        until = self._hello_until
        if until is None:
            return False
        if now_mono < until:
            if now_mono >= self._hello_ask_at:
                self._hello_ask_at = now_mono + HELLO_ASK_EVERY
                log.info("no head from the fleet yet: status sent again")
                self._publish_status(force=True)
            return True
        self._hello_until = None
        log.info("no head from the fleet %.0fs after the status (a contract 1.0 fleet?): sending receipts",
                 self.hello_timeout)
        return False

    def _apply_round(self, now_mono: float) -> None:
        result = self.sender.take_round()
        if not result.delivered and not result.refused:
            return
        now = self.clock.now()
        if result.delivered:
            self.journal.mark_delivered(result.delivered, now)
            self._undelivered_events += len(result.delivered)
            self._last_sync = iso_utc(now)
            self.sender.outstanding = self.journal.delivered_unconfirmed()
        for seq, reason in result.refused:
            quarantined = self.journal.record_failure(seq, f"broker refused it: {reason}", now)
            self._last_refusal = (now_mono, f"broker refused receipt seq {seq}: {reason}")
            log.warning("broker refused receipt seq %d (%s)%s", seq, reason, "; quarantined" if quarantined else "")
            self._emit(ev.PublishRefused(seq, reason, quarantined))

    def _resend_unconfirmed(self, now_mono: float) -> None:
        after = self.config.broker.resend_after
        self._next_resend_check = now_mono + min(5.0, after / 2)
        due = self.journal.due_for_resend(self.clock.now() - timedelta(seconds=after))
        if due:
            log.info("%d receipts delivered but not confirmed for %.0fs: sending them again", len(due), after)
            self.journal.mark_pending(due)
            self.sender.outstanding = self.journal.delivered_unconfirmed()
            self.sender.rescan()

    def _sync_now(self) -> None:
        self.sender.rescan()
        self.records.poke()
        self._next_resend_check = 0.0
        self._refresh(force=True)
        self._publish_status(force=True)

    # ---- uplink helpers ----

    def _send_report(self, report_id: str, report: dict[str, Any]) -> None:
        mid = self.link.publish(self.topics.reports, _json(report))
        if mid is not None:
            self._report_mids[mid] = report_id

    def _answer(self, answer: CommandResult) -> None:
        if self.link.publish(self.topics.command_results, encode(answer)) is None:
            self._answers.append(answer)

    def _publish_status(self, *, force: bool = False, state: Literal["online", "offline"] = "online") -> int | None:
        s = self._summary
        if s is None:
            return None
        head = self.journal.head()  # one consistent reading: seq and hash of the same receipt
        ended = self.ended.entries()  # contract 1.2: epochs its journal lost (firmware/sync/ended.py)
        key = (state, s.pending, s.quarantined, s.oldest_pending_at, self._last_sync, head.epoch, s.conflicts,
               s.rollbacks, len(ended or ()))
        now = self.clock.monotonic()
        interval = self.config.broker.status_interval
        if not force and not (key != self._status_sent and now - self._status_at >= self.status_min_gap) \
                and now - self._status_at < interval:
            return None
        status = Status(state=state, at=iso_utc(self.clock.now()), pending=s.pending, quarantined=s.quarantined,
                        oldest_pending_at=s.oldest_pending_at, last_sync_at=self._last_sync,
                        epoch=head.epoch, epoch_first_seq=head.first_seq, head_seq=head.seq,
                        head_hash=head.hash or None, conflicts=s.conflicts, rollbacks=s.rollbacks,
                        ended_epochs=ended,
                        **{k: v for k, v in self._extra.items() if k not in Status.model_fields or
                           k in ("firmware_version", "hardware")})
        mid = self.link.publish(self.topics.status, encode(status), retain=True)
        if mid is not None:
            self._status_sent, self._status_at = key, now
        return mid

    def _will(self) -> bytes:
        """The last will, built at each connection attempt (contract 1.2): offline, no `at`, and the journal's
        epoch and head as of this connect (a lower bound by the time the broker publishes it) with the ended
        epochs, so a crash no longer wipes the identity from the retained status."""
        head = self.journal.head()
        return encode(Status(state="offline", epoch=head.epoch, epoch_first_seq=head.first_seq, head_seq=head.seq,
                             head_hash=head.hash or None, ended_epochs=self.ended.entries()))

    def _own_status(self, msg: Received) -> None:
        """Its own status topic: only the retained copy the broker sends on subscribing counts (an echo of what
        it publishes now is not). An epoch there that this journal does not hold is an ended one (ended.py)."""
        if not msg.retained:
            return
        if self.ended.observe(msg.payload):
            self._publish_status(force=True)

    # ---- downlink ----

    def _downlink(self, msg: Received) -> None:
        t = self.topics
        try:
            if msg.topic == t.acks:
                acks = decode(Acks, msg.payload)
                if acks.head is not None:
                    self._fleet_head(acks.head)
                if acks.conflict_ids:
                    self._conflicts(acks.conflict_ids)
                ids = acks.receipt_ids
                if not ids:  # a self-test answer, a head or conflicts only: nothing to confirm
                    return
                mine = self.journal.mark_confirmed(ids, self.clock.now())
                self._last_sync = iso_utc(self.clock.now())
                self.sender.outstanding = self.journal.delivered_unconfirmed()
                if mine:
                    self._emit(ev.ReceiptsConfirmed(mine))
            elif msg.topic == t.commands:
                self._command(msg.payload)
            elif msg.topic in (t.catalog, t.clerks):
                if not msg.payload:
                    return  # the retained copy was cleared; keep what we hold
                kind = "catalog" if msg.topic == t.catalog else "clerks"
                model = CatalogMessage if kind == "catalog" else Clerks
                document = self._signed(msg.topic, msg.payload, model.MAX_BYTES)
                applied = apply_versioned(kind, document, self._catalog if kind == "catalog" else self._clerks,
                                          fallback_rates=self.config.shop.tax_rates)
                if applied is not None:
                    payload, built = applied
                    if kind == "catalog" and self.images is not None and self.images.on_catalog(built):
                        self.link.subscribe_again(t.images)  # the retained pictures it names, sent again
                    self._emit(ev.CatalogReceived(payload, built) if kind == "catalog"
                               else ev.ClerksReceived(payload, built))
            elif msg.topic == t.accounts:
                if msg.payload:  # an empty retained message clears it: keep what we hold
                    document = self._signed(msg.topic, msg.payload, AccountsSnapshot.MAX_BYTES)
                    snapshot = decode(AccountsSnapshot, document)  # checked here, off the UI thread
                    self._emit(ev.AccountsReceived(json.loads(document), snapshot))
            elif self.images is not None and self.images.handles(msg.topic):
                if self.images.on_message(msg.topic, msg.payload) in IMAGE_REFUSED:
                    self._downlink_rejected += 1
            else:
                log.debug("ignoring a message on %s", msg.topic)
        except PayloadRejected as exc:
            self._downlink_rejected += 1
            # keyed by which of this device's topics (a fixed handful), never by anything in the message
            kind = next((name for name in ("acks", "commands", "catalog", "clerks", "accounts")
                         if msg.topic == getattr(t, name)), "other")
            self._reject_log.warning(f"rejected {kind}", "rejected a message on %s: %s", msg.topic, exc)

    def _stock_snapshot(self, msg: Received) -> None:
        """The fleet's stock snapshot (retained, signed like the catalog): the till's stock takes it, and the
        journaled deltas its `upto` for this register reaches are settled (docs/stock.md)."""
        if not msg.payload or self.stock is None:  # an empty retained message clears it: keep what we hold
            return
        try:
            snapshot = decode(StockSnapshotMessage, self._signed(msg.topic, msg.payload,
                                                                 StockSnapshotMessage.MAX_BYTES))
            if snapshot.store != self.topics.store:
                raise PayloadRejected(f"a stock snapshot of store {snapshot.store}, not {self.topics.store}")
        except PayloadRejected as exc:
            self._downlink_rejected += 1
            self._reject_log.warning("rejected stock_snapshot", "rejected a message on %s: %s", msg.topic, exc)
            return
        policies = PolicyBook.from_doc(
            snapshot.policy.model_dump() if snapshot.policy else None,
            {sku: doc.model_dump() for sku, doc in (snapshot.item_policies or {}).items()})
        if self.stock.apply_snapshot(StockSnapshot(snapshot.version, snapshot.levels, snapshot.upto, snapshot.at),
                                     policies):
            log.info("stock snapshot version %d applied (%d tracked items)", snapshot.version, len(snapshot.levels))
        upto = snapshot.upto.get(self.topics.register, 0)
        self.records.settle(STOCK_LANE, self.stock.covered(upto), self.clock.now())

    def _customer_list(self, msg: Received) -> None:
        """The store's customer list (retained, signed like the catalog; docs/customers.md): checked and applied to
        the customer book here, on the link thread (about 2 s at 100k customers), never on the register's; its
        `heads` drop the edits the fleet merged."""
        if not msg.payload or self.customers is None:  # an empty retained message clears it: keep what we hold
            return
        try:
            self.customers.on_list(self.topics.store, self._signed(msg.topic, msg.payload, CustomerList.MAX_BYTES))
        except PayloadRejected as exc:
            self._downlink_rejected += 1
            self._reject_log.warning("rejected customer_list", "rejected a message on %s: %s", msg.topic, exc)

    def _signed(self, topic: str, payload: bytes, max_bytes: int) -> bytes:
        """The document a pinned fleet key vouches for (as is when none is pinned); SignatureRejected otherwise."""
        try:
            return self.verifier.open(topic, payload, max_bytes)
        except SignatureRejected:
            self.signature_refused += 1
            raise

    def _fleet_head(self, head: Any) -> None:
        """The fleet's answer to the status: its highest seq (and that receipt's hash) of one of our epochs."""
        j = self.journal
        if head.epoch != j.epoch:
            self._reject_log.info("fleet head", "fleet head for epoch %s ignored: the journal is in epoch %s",
                                  head.epoch, j.epoch)
            return
        if self._hello_until is not None:
            log.info("fleet holds seq %d of epoch %s: sending receipts", head.seq, head.epoch)
            self._hello_until = None
        last, first = j.next_seq - 1, j.epoch_first_seq
        why = None
        if head.seq > last:
            why = ""
        elif head.seq >= first and head.hash is not None:
            try:
                mine = j.get_seq(head.seq)
            except JournalError as exc:  # a damaged receipt is an alarm already; it proves nothing here
                log.warning("cannot compare the fleet's head with seq %d: %s", head.seq, exc)
                return
            if mine is None or mine.get("hash") != head.hash:
                why = f"; its receipt at seq {head.seq} is not this journal's"
        elif 0 < head.seq < first:
            self._reject_log.warning("fleet head", "fleet head seq %d lies before epoch %s (from seq %d): ignored",
                                     head.seq, head.epoch, first)
        if why is None:
            return
        reason = f"{ROLLED_BACK}: fleet holds seq {head.seq} of epoch {head.epoch}, journal ended at {last}{why}"
        try:
            epoch = j.open_epoch(reason)
        except JournalError as exc:  # tried again at the fleet's next answer
            log.error("journal rolled back (%s) but no new epoch could be opened: %s", reason, exc)
            return
        log.error("journal %s; new receipts from seq %d go in epoch %s", reason, j.epoch_first_seq, epoch)
        self._emit(ev.JournalRolledBack(head.epoch, epoch, head.seq, last))
        self._refresh(force=True)
        self._publish_status(force=True)

    def _conflicts(self, receipt_ids: list[str]) -> None:
        """The fleet holds a different receipt under these ids and will never confirm them: set them aside."""
        seqs = self.journal.quarantine_conflicts(receipt_ids, self.clock.now())
        if not seqs:
            return
        log.error("fleet holds a different receipt under %d of our ids (seq %s%s): set aside, never sent again",
                  len(seqs), ", ".join(map(str, seqs[:5])), ", ..." if len(seqs) > 5 else "")
        self.sender.rescan()  # drop them from what was fetched to send
        self._emit(ev.ReceiptsConflicted(tuple(seqs)))
        self._refresh(force=True)
        self._publish_status(force=True)

    def _resend_bounds(self, args: Any) -> tuple[int, int] | str:
        """The seqs a `resend` asks for, clipped to the journal (and to `args.epoch`), or why there are none."""
        last = self.journal.next_seq - 1
        lo, hi = args.from_seq, min(args.to_seq, last)
        epoch = getattr(args, "epoch", None)
        if epoch is not None:
            bounds = self.journal.epoch_range(epoch)
            if bounds is None:
                return f"epoch {epoch} is not an epoch of this journal (current: {self.journal.epoch})"
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        return lo, hi

    def _command(self, payload: bytes) -> None:
        payload = self._signed(self.topics.commands, payload, COMMAND_MAX_BYTES)  # unsigned: not answered
        try:
            command = decode_command(payload)
        except PayloadRejected as exc:
            answer = refusal(exc)
            if answer is not None:
                self._answer(answer)
            raise
        if command.command == "sync_now":
            self._sync_now()
            pending = self._summary.pending if self._summary else 0
            self._answer(CommandResult(command_id=command.command_id, ok=True, detail=f"{pending} receipts pending"))
        elif command.command == "resend":
            last = self.journal.next_seq - 1
            bounds = self._resend_bounds(command.args)  # clipped to the journal and to args.epoch (1.1)
            if isinstance(bounds, str):
                log.info("fleet asked to resend: %s", bounds)
                self._answer(CommandResult(command_id=command.command_id, ok=False, detail=bounds))
                return
            lo, hi = bounds
            # merged into the one resend scan (firmware/sync/resend.py): a flood of commands keeps only ranges
            queued = self.sender.forced.add(lo, hi)
            ok = hi >= lo
            detail = f"{queued} receipts queued" if ok else f"no receipts in {lo}..{command.args.to_seq} " \
                                                              f"(last seq is {last})"
            if ok and queued < hi - lo + 1:
                detail += f" ({hi - lo + 1 - queued} already queued or just sent again)"
            _resend_log.info("resend", "fleet asked to resend seq %d..%d: %s", lo, command.args.to_seq, detail)
            self._answer(CommandResult(command_id=command.command_id, ok=ok, detail=detail))
        else:
            self._emit(ev.CommandReceived(command.command_id, command.command, command.args.model_dump()))

    # ---- read model ----

    def _refresh(self, force: bool = False) -> None:
        now_mono = self.clock.monotonic()
        if not force and now_mono < self._next_snapshot:
            return
        self._next_snapshot = now_mono + 0.25
        s = self._summary = self.journal.summary()
        if self._last_sync is None:
            self._last_sync = max(filter(None, (s.last_delivered_at, s.last_confirmed_at)), default=None)
        fault = None
        if s.quarantined:
            last_error = s.quarantined_items[-1].get("error") if s.quarantined_items else None
            fault = f"{s.quarantined} receipt(s) refused and set aside: {last_error}"
        elif self._last_refusal and now_mono - self._last_refusal[0] < 60.0:
            fault = self._last_refusal[1]
        stale = False
        if s.pending:
            last = self._last_sync
            stale = last is None or (self.clock.now() - parse_iso_utc(last)).total_seconds() > STALE_AFTER
        self._snapshot = SyncState(
            online=self._online, last_sync_at=self._last_sync, pending=s.pending, delivered=s.delivered,
            confirmed=s.confirmed, quarantined=s.quarantined, oldest_pending_at=s.oldest_pending_at, fault=fault,
            stale=stale, link_error=None if self._online else self.link.last_error,
            downlink_rejected=self._downlink_rejected, quarantined_items=tuple(s.quarantined_items),
            epoch=self.journal.epoch, conflicts=s.conflicts, rollbacks=s.rollbacks)

