"""The lean register emulator of `kassa-fleet simulate`: many registers per process, one selector loop, no threads.

Each `SimRegister` speaks the exact contract 1.1 (docs/ledger-integrity.md) the firmware's sync speaks:

- its receipts form a hash chain (`firmware.contract.chain.seal`), ids `store:register:epoch:seq`, published as the
  journal stores them (`firmware.contract.chain.canonical_json`), QoS 1, in seq order;
- on connecting it subscribes to its `acks` and `commands`, publishes its retained status (epoch,
  epoch_first_seq, head_seq, head_hash, pending) and holds receipts back until the fleet answers with its
  `head` (or `hello_timeout` passes); its last will says `offline`;
- at most `window` receipts are delivered-but-unconfirmed at a time (and never more PUBACKs outstanding than
  the broker's Receive Maximum allows); acks' `receipt_ids` confirm, `conflict_ids` set aside for good;
- what was sent but not PUBACKed when the link dropped goes back to the queue; what was PUBACKed but not
  confirmed after `resend_after` s is sent again; `resend` commands (from_seq..to_seq of its epoch) are
  carried out and answered on `command_results`;
- after a lost link it follows the register's reconnect rule (`Reconnect`, firmware/contract/reconnect.py):
  backoff with full jitter, TCP probes meanwhile, and a connect a random 0..8 s after a probe finds the broker
  (the attempt counter resets only after a connection has stayed up `stable_after` s, so a flapping broker
  keeps the spread; the firmware resets it on CONNACK).

`Driver` runs a slice of registers on paho clients (firmware.contract.wire's LeanClient) driven from one
`selectors` loop through paho's external-loop API: `on_socket_open/close/register_write/unregister_write`,
`loop_read`, `loop_write`, `loop_misc`. The paho clients' blocking TCP connect is the one blocking call
(`connect_timeout`, instant on a LAN or loopback).
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import selectors
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from firmware.contract import (
    Acks,
    CommandResult,
    DeviceTopics,
    PayloadRejected,
    Status,
    decode,
    decode_command,
    encode,
    mqtt,
)
from firmware.contract.chain import GENESIS, canonical_json, seal
from firmware.contract.clock import iso_utc
from firmware.contract.limits import DEVICE_MAX_PACKET
from firmware.contract.mqtt import SubscribeOptions
from firmware.contract.payloads import refusal
from firmware.contract.receipt_id import format_receipt_id
from firmware.contract.reconnect import Backoff, Reconnect
from fleet.broker import BrokerSettings, connect, make_client
from fleet.errors import FleetError

log = logging.getLogger("kassa.fleet.simulate")

SWEEP_EVERY = 0.5          # s between the slow sweep over every register (keepalive, timers, status)
CONNACK_TIMEOUT = 10.0     # s a register waits for CONNACK before it gives the attempt up
FIRMWARE = "kassa-sim"

_ITEMS = (("4006381333931", "Pencil HB", 129, "A"), ("4001686301265", "Notebook A5", 249, "A"),
          ("2001", "Apples", 299, "B"), ("4000417025005", "Chocolate", 119, "B"), ("4008400402222", "Coffee", 599, "B"))
_RATES = {"A": ("19.00", 19), "B": ("7.00", 7)}


class _Published:
    """What paho's PUBACK handling (`_do_on_publish`) needs of a sent QoS-1 message: its qos and an info."""

    qos = 1

    class info:  # noqa: N801 - paho reads msg.info._set_as_published()
        @staticmethod
        def _set_as_published() -> None:
            return None


_PUBLISHED = _Published()


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_qos1(client: Any, topic: bytes, payload: bytes) -> int:
    """A QoS-1 PUBLISH without properties, the packet built here in a few operations (paho's `publish` builds
    an MQTTMessage, an MQTTMessageInfo with its Condition, and logs, for each): the emulator's hot path in a
    drain. `topic` is the UTF-8 topic with its 2-byte length in front. paho 2.2 internals, as
    firmware.contract.wire's LeanClient (pyproject pins paho-mqtt 2.2.x); PUBACKs reach `on_publish` as for
    any publish. Only on a connected client's loop thread, with no inflight limit (`max_inflight_messages_set(0)`)."""
    mid = client._mid_generate()
    body = 2 + len(topic) + 1 + len(payload)  # topic (with its length), mid, empty properties, payload
    packet = b"".join((b"\x32", _remaining_length(body), topic, struct.pack("!H", mid), b"\x00", payload))
    client._out_messages[mid] = _PUBLISHED
    client._inflight_messages += 1
    client._packet_queue(0x30, packet, mid, 1)
    return int(mid)


@dataclass
class DeviceOptions:
    """What every emulated register of a run shares (a subset of `SimOptions`)."""

    prefix: str = "kassa/v1"
    window: int = 100
    resend_after: float = 30.0
    hello_timeout: float = 10.0
    keepalive: int = 30
    session_expiry: int = 3600
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    stable_after: float = 10.0
    status_interval: float = 60.0
    connect_timeout: float = 3.0


def sale_body(store: str, register: str, epoch: str, seq: int, rng: random.Random, *, offline: bool) -> dict[str, Any]:
    """One plausible sale (docs/contract.md#receipt) without prev_hash/hash (the chain adds them)."""
    lines: list[dict[str, Any]] = []
    taxes: dict[str, int] = {}
    for _ in range(rng.randint(1, 4)):
        sku, name, price, code = _ITEMS[rng.randrange(len(_ITEMS))]
        qty = rng.randint(1, 3)
        amount = price * qty
        lines.append({"sku": sku, "name": name, "qty": qty, "unit_price": price, "discount": 0, "tax_code": code,
                      "amount": amount})
        taxes[code] = taxes.get(code, 0) + amount
    total = sum(int(line["amount"]) for line in lines)
    tax_rows: list[dict[str, Any]] = []
    for code, gross in sorted(taxes.items()):
        rate_text, rate = _RATES[code]
        tax = gross * rate // (100 + rate)
        tax_rows.append({"tax_code": code, "rate": rate_text, "net": gross - tax, "tax": tax})
    paid = int(math.ceil(total / 500.0) * 500)
    return {
        "receipt_id": format_receipt_id(store, register, epoch, seq), "store": store, "register": register,
        "seq": seq, "kind": "sale", "created_at": iso_utc(datetime.now(UTC)), "clock_trusted": True,
        "offline": offline, "clerk_id": "c1", "currency": "EUR", "lines": lines,
        "totals": {"subtotal": total, "tax": sum(t["tax"] for t in tax_rows), "total": total, "rounding": 0},
        "taxes": tax_rows, "tenders": [{"type": "cash", "amount": paid, "change": paid - total}],
        "refund_of": None, "sale_id": f"{epoch}-{seq}",
    }


@dataclass
class Tally:
    """One register's own account of the run, sent back to the parent process."""

    store: str
    register: str
    epoch: str
    broker: str
    hashes: list[str] = field(default_factory=list)          # index seq-1
    confirmed: int = 0
    conflicted: list[int] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)     # s from first publish to first confirmation
    connect_attempts: list[float] = field(default_factory=list)  # wall-clock time of each TCP/CONNECT attempt
    connects: list[float] = field(default_factory=list)      # wall-clock time of each accepted CONNACK
    publishes: int = 0
    resent_timeout: int = 0
    resent_command: int = 0
    resend_commands: int = 0
    duplicate_acks: int = 0
    foreign_acks: int = 0
    heads: int = 0
    hello_timeouts: int = 0
    head_mismatches: int = 0
    refused: int = 0
    disconnects: int = 0
    offline_drops: int = 0                                   # links dropped by the offline wave
    max_unconfirmed: int = 0
    real: bool = False


class SimRegister:
    """One emulated register: its chain, its queue, its window, its link state."""

    def __init__(self, driver: Driver, index: int, store: str, register: str, broker: str, opt: DeviceOptions,
                 rng: random.Random) -> None:
        self.driver, self.index, self.opt, self.rng = driver, index, opt, rng
        self.store, self.register = store, register
        self.epoch = f"{rng.getrandbits(32):08x}"
        self.topics = DeviceTopics(store, register, opt.prefix)
        self.id_prefix = format_receipt_id(store, register, self.epoch, 0)[:-1]  # "store:register:epoch:"
        receipts = self.topics.receipts.encode("utf-8")
        self.receipts_topic = struct.pack("!H", len(receipts)) + receipts
        self.settings = BrokerSettings(broker)
        self.tally = Tally(store, register, self.epoch, broker)
        self.payloads: list[bytes] = []          # index seq-1, the bytes as the journal stores them
        self.last_hash = GENESIS
        self.queue: list[int] = []               # heap of seqs to send
        self.queued: set[int] = set()
        self.forced: set[int] = set()            # asked for by a resend command: sent even when confirmed
        self.unconfirmed: dict[int, float] = {}  # seq -> when last sent (delivered or in flight)
        self.first_sent: dict[int, float] = {}
        self.mids: dict[int, int] = {}           # paho mid -> seq, waiting for PUBACK
        self.confirmed: set[int] = set()
        self.conflicted: set[int] = set()
        self.client: Any = None
        self.state = "idle"                      # idle | connecting | online | down | away (offline wave) | done
        self.connected_at = 0.0
        self.backoff = Backoff(opt.backoff_base, opt.backoff_cap, rng)
        self.reconnect = Reconnect(self.backoff)  # the register's rule after a lost link
        self.waiting = False                      # in a Reconnect wait (timers not due are stale)
        self.hello_until: float | None = None
        self.inflight_cap = opt.window
        self.status_at = 0.0

    # ---- making sales ----

    def sell(self, *, offline: bool | None = None) -> None:
        seq = len(self.payloads) + 1
        away = self.state != "online" if offline is None else offline
        receipt = seal(sale_body(self.store, self.register, self.epoch, seq, self.rng, offline=away), self.last_hash)
        self.last_hash = receipt["hash"]
        self.payloads.append(canonical_json(receipt))
        self.tally.hashes.append(receipt["hash"])
        self._enqueue(seq)
        self.driver.dirty.add(self)

    def _enqueue(self, seq: int) -> None:
        if seq not in self.queued:
            self.queued.add(seq)
            heapq.heappush(self.queue, seq)

    @property
    def head_seq(self) -> int:
        return len(self.payloads)

    @property
    def done(self) -> bool:
        return len(self.confirmed) + len(self.conflicted) >= len(self.payloads) and not self.forced

    # ---- the link ----

    def connect(self, now: float) -> None:
        """One connection attempt (a fresh paho client, as the firmware's link makes)."""
        if self.state in ("online", "connecting", "away", "done"):
            return
        if self.waiting:
            if not self.reconnect.connecting or now < self.reconnect.due - 1e-6:
                return  # a stale timer
            self.waiting = False
        self.tally.connect_attempts.append(time.time())
        client = make_client(self.settings, f"kassa-{self.store}-{self.register}", read_batch=1000,
                             max_packet_size=DEVICE_MAX_PACKET)
        client.max_inflight_messages_set(0)  # the window below is ours, as on the device
        client.connect_timeout = self.opt.connect_timeout
        client.will_set(self.topics.status, encode(Status(state="offline")), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        d = self.driver
        client.on_socket_open = lambda _c, _u, sock: d.watch(sock, self)
        client.on_socket_close = lambda _c, _u, sock: d.unwatch(sock)
        client.on_socket_register_write = lambda _c, _u, sock: d.want_write(sock, self, True)
        client.on_socket_unregister_write = lambda _c, _u, sock: d.want_write(sock, self, False)
        self.client = client
        self.state = "connecting"
        self.connected_at = now
        try:
            connect(client, self.settings, keepalive=self.opt.keepalive, clean_start=False,
                    session_expiry=self.opt.session_expiry)
        except FleetError:
            self.lost(now, closed=True)

    def lost(self, now: float, *, closed: bool = False) -> None:
        """The link is gone (or never came): requeue what waited for PUBACK, schedule the next attempt."""
        was = self.state
        client, self.client = self.client, None
        if client is not None and not closed:
            sock = client.socket()
            if sock is not None:  # given up on (no CONNACK in time): close it, paho's client is dropped
                self.driver.unwatch(sock)
                try:
                    sock.close()
                except OSError:
                    pass
        for seq in self.mids.values():
            self.unconfirmed.pop(seq, None)
            if seq not in self.confirmed and seq not in self.conflicted:
                self._enqueue(seq)
        self.mids.clear()
        self.hello_until = None
        if was == "online":
            self.tally.disconnects += 1
            if now - self.connected_at >= self.opt.stable_after:
                self.backoff.reset()
        if was in ("away", "done"):
            self.state = was
            return
        self.state = "down"
        self._wait(now)

    def _wait(self, now: float) -> None:
        """As the firmware's link (firmware.sync.backoff.Reconnect): TCP probes until one finds the broker,
        then a connect within a random 0..RETURN_SPREAD s."""
        self.waiting = True
        self.reconnect.lost(now)
        self._schedule()

    def _schedule(self) -> None:
        self.driver.schedule(self.reconnect.due, self, "connect" if self.reconnect.connecting else "probe")

    def probe(self, now: float) -> None:
        if self.state != "down" or not self.waiting or self.reconnect.connecting or now < self.reconnect.due - 1e-6:
            return  # a stale timer
        try:
            with socket.create_connection(self.settings.host_port[:2], timeout=0.2):
                answered = True
        except OSError:
            answered = False
        self.reconnect.probed(now, answered)
        self._schedule()

    def go_away(self, now: float) -> None:
        """The offline wave: the shop's line drops. The socket is shut without a DISCONNECT, so the broker
        publishes the last will; paho sees the end of the stream on its next read, as after a real outage."""
        was, self.state = self.state, "away"
        self.tally.offline_drops += 1
        client = self.client
        sock = client.socket() if client is not None else None
        if sock is None:
            if was in ("connecting", "online"):
                self.lost(now, closed=True)
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.lost(now)

    def come_back(self, now: float) -> None:
        if self.state == "away":  # the shop's line is back: the register's rule, from a fresh backoff
            self.state = "down"
            self.backoff.reset()
            self._wait(now)

    def finish(self) -> None:
        """End of the run: a clean DISCONNECT (the retained status stays as last published)."""
        client, self.client = self.client, None
        self.state = "done"
        if client is not None:
            try:
                client.disconnect()
                client.loop_write()
            except Exception:  # noqa: BLE001
                pass
            sock = client.socket()
            if sock is not None:
                self.driver.unwatch(sock)

    # ---- paho callbacks (inside loop_read, on the driver's thread) ----

    def _on_connect(self, client: mqtt.Client, _u: Any, _flags: Any, reason: Any, props: Any) -> None:
        if client is not self.client:
            return
        if reason.is_failure:
            log.warning("%s/%s: broker refused the connection: %s", self.store, self.register, reason)
            return  # the broker closes the socket: _on_disconnect follows
        now = self.driver.now()
        self.state = "online"
        self.connected_at = now
        self.tally.connects.append(time.time())
        rm = getattr(props, "ReceiveMaximum", 65535) if props is not None else 65535
        self.inflight_cap = max(1, min(self.opt.window, int(rm) - 4))
        client.subscribe([(self.topics.acks, SubscribeOptions(qos=1)), (self.topics.commands, SubscribeOptions(qos=1))])
        self.publish_status(now)
        self.hello_until = now + self.opt.hello_timeout

    def _on_disconnect(self, client: mqtt.Client, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
        if client is self.client:
            self.lost(self.driver.now(), closed=True)

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        if client is not self.client:
            return
        seq = self.mids.pop(mid, None)
        if seq is None:
            return
        if reason.value >= 0x80:
            self.tally.refused += 1  # sent again after resend_after, like an unconfirmed one
        self.driver.dirty.add(self)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: Any) -> None:
        if client is not self.client:
            return
        try:
            if msg.topic == self.topics.acks:
                self._acks(decode(Acks, msg.payload))
            elif msg.topic == self.topics.commands:
                self._command(msg.payload)
        except PayloadRejected as exc:
            log.warning("%s/%s: rejected a message on %s: %s", self.store, self.register, msg.topic, exc)
        self.driver.dirty.add(self)

    def _acks(self, acks: Acks) -> None:
        now = self.driver.now()
        if acks.head is not None and acks.head.epoch == self.epoch:
            self.tally.heads += 1
            self.hello_until = None
            head = acks.head
            if head.seq > self.head_seq or (head.seq and head.hash != self.tally.hashes[head.seq - 1]):
                self.tally.head_mismatches += 1  # a rolled-back journal would open a new epoch; we never roll back
        mine, cut, head_seq = self.id_prefix, len(self.id_prefix), self.head_seq
        for ids, conflict in ((acks.receipt_ids, False), (acks.conflict_ids or [], True)):
            for rid in ids:
                # the hot path of a drain: one prefix test instead of parsing every id (the same verdicts)
                tail = rid[cut:] if rid.startswith(mine) else ""
                seq = int(tail) if tail.isascii() and tail.isdigit() and tail[0] != "0" else 0
                if not 1 <= seq <= head_seq:
                    self.tally.foreign_acks += 1
                    continue
                self.unconfirmed.pop(seq, None)
                self.forced.discard(seq)
                if conflict:
                    self.conflicted.add(seq)
                    continue
                if seq in self.confirmed:
                    self.tally.duplicate_acks += 1
                    continue
                self.confirmed.add(seq)
                first = self.first_sent.pop(seq, None)
                if first is not None:
                    self.tally.latencies.append(now - first)

    def _command(self, payload: bytes) -> None:
        try:
            command = decode_command(payload)
        except PayloadRejected as exc:
            answer = refusal(exc)
            if answer is not None:
                self._answer(answer)
            raise
        if command.command == "resend":
            args = command.args
            self.tally.resend_commands += 1
            if args.epoch is not None and args.epoch != self.epoch:
                self._answer(CommandResult(command_id=command.command_id, ok=False,
                                           detail=f"epoch {args.epoch} is not an epoch of this journal "
                                                  f"(current: {self.epoch})"))
                return
            lo, hi = args.from_seq, min(args.to_seq, self.head_seq)
            for seq in range(lo, hi + 1):
                if seq not in self.conflicted:
                    self.forced.add(seq)
                    self._enqueue(seq)
            ok = hi >= lo
            self._answer(CommandResult(command_id=command.command_id, ok=ok,
                                       detail=f"{hi - lo + 1} receipts queued" if ok else
                                       f"no receipts in {lo}..{args.to_seq} (last seq is {self.head_seq})"))
        elif command.command == "sync_now":
            self.publish_status(self.driver.now())
            self._answer(CommandResult(command_id=command.command_id, ok=True,
                                       detail=f"{self.pending} receipts pending"))
        else:
            self._answer(CommandResult(command_id=command.command_id, ok=False,
                                       detail="not supported by the simulator"))

    def _answer(self, answer: CommandResult) -> None:
        if self.client is not None and self.state == "online":
            self.client.publish(self.topics.command_results, encode(answer), qos=1)

    # ---- sending ----

    @property
    def pending(self) -> int:
        return len(self.payloads) - len(self.confirmed) - len(self.conflicted)

    def publish_status(self, now: float) -> None:
        if self.client is None or self.state != "online":
            return
        head = self.head_seq
        status = Status(state="online", at=iso_utc(datetime.now(UTC)), pending=self.pending,
                        quarantined=len(self.conflicted), epoch=self.epoch, epoch_first_seq=1, head_seq=head,
                        head_hash=self.last_hash if head else None, conflicts=len(self.conflicted),
                        firmware_version=FIRMWARE)
        self.client.publish(self.topics.status, encode(status), qos=1, retain=True)
        self.status_at = now

    def pump(self, now: float) -> None:
        """Send from the queue, in seq order, while the window has room and the fleet has answered the hello."""
        if self.state != "online" or self.client is None:
            return
        if self.hello_until is not None:
            if now < self.hello_until:
                return
            self.hello_until = None
            self.tally.hello_timeouts += 1
        client, queue, payloads, topic = self.client, self.queue, self.payloads, self.receipts_topic
        if client.socket() is None:
            return  # closing: the disconnect callback requeues and reschedules
        while queue and len(self.mids) < self.inflight_cap:
            seq = queue[0]
            forced = seq in self.forced
            if seq in self.confirmed and not forced or seq in self.conflicted:
                heapq.heappop(queue)
                self.queued.discard(seq)
                continue
            if seq not in self.unconfirmed and len(self.unconfirmed) >= self.opt.window and not forced:
                return
            heapq.heappop(queue)
            self.queued.discard(seq)
            self.forced.discard(seq)
            self.mids[publish_qos1(client, topic, payloads[seq - 1])] = seq
            self.tally.publishes += 1
            if forced:
                self.tally.resent_command += 1
            if seq not in self.confirmed:
                self.unconfirmed[seq] = now
                self.first_sent.setdefault(seq, now)
        self.tally.max_unconfirmed = max(self.tally.max_unconfirmed, len(self.unconfirmed))

    def sweep(self, now: float) -> None:
        """The slow timers: CONNACK timeout, keepalive, re-send of the unconfirmed, periodic status."""
        client = self.client
        if self.state == "connecting" and now - self.connected_at > CONNACK_TIMEOUT:
            self.lost(now)
            return
        if client is None:
            return
        if client.loop_misc() != mqtt.MQTT_ERR_SUCCESS and client is self.client:
            self.lost(now, closed=True)
            return
        if self.state != "online":
            return
        waiting = set(self.mids.values())
        due = [seq for seq, at in self.unconfirmed.items() if now - at >= self.opt.resend_after and seq not in waiting]
        for seq in due:
            del self.unconfirmed[seq]
            self._enqueue(seq)
        self.tally.resent_timeout += len(due)
        if now - self.status_at >= self.opt.status_interval:
            self.publish_status(now)
        self.pump(now)

    def result(self) -> Tally:
        t = self.tally
        t.confirmed = len(self.confirmed)
        t.conflicted = sorted(self.conflicted)
        t.unconfirmed = [s for s in range(1, self.head_seq + 1) if s not in self.confirmed and s not in self.conflicted]
        return t


class Driver:
    """Many `SimRegister`s in one process: one selector, one timer heap, no thread per register."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, SimRegister, str]] = []
        self._order = 0
        self.dirty: set[SimRegister] = set()
        self.registers: list[SimRegister] = []
        self.now: Callable[[], float] = time.monotonic

    # ---- paho's external-loop callbacks ----

    def watch(self, sock: Any, reg: SimRegister) -> None:
        try:
            self.sel.register(sock, selectors.EVENT_READ, reg)
        except (KeyError, ValueError):
            self.sel.modify(sock, selectors.EVENT_READ, reg)

    def unwatch(self, sock: Any) -> None:
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    def want_write(self, sock: Any, reg: SimRegister, on: bool) -> None:
        try:
            self.sel.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0), reg)
        except (KeyError, ValueError):
            pass

    # ---- timers ----

    def schedule(self, when: float, reg: SimRegister, what: str) -> None:
        self._order += 1
        heapq.heappush(self.timers, (when, self._order, reg, what))

    def run(self, until: Callable[[float], bool], on_timer: Callable[[float, SimRegister, str], None]) -> None:
        """Serve sockets and timers until `until(now)` says stop."""
        next_sweep = self.now()
        while True:
            now = self.now()
            timers = self.timers
            while timers and timers[0][0] <= now:
                _when, _o, reg, what = heapq.heappop(timers)
                on_timer(now, reg, what)
            if now >= next_sweep:
                next_sweep = now + SWEEP_EVERY
                for reg in self.registers:
                    reg.sweep(now)
                if until(now):
                    return
            timeout = min(SWEEP_EVERY, max(0.0, next_sweep - now))
            if timers:
                timeout = min(timeout, max(0.0, timers[0][0] - now))
            if self.dirty:
                timeout = 0.0
            if self.sel.get_map():
                events = self.sel.select(timeout)
            else:
                time.sleep(timeout)
                events = []
            for key, mask in events:
                reg = key.data
                client = reg.client
                if client is None:
                    self.unwatch(key.fileobj)
                    continue
                if mask & selectors.EVENT_READ:
                    rc = client.loop_read()
                    while rc == mqtt.MQTT_ERR_SUCCESS and getattr(client, "buffered", 0) and reg.client is client:
                        rc = client.loop_read()
                    if rc != mqtt.MQTT_ERR_SUCCESS and reg.client is client:
                        reg.lost(self.now(), closed=True)
                        continue
                if mask & selectors.EVENT_WRITE and reg.client is client and client.want_write():
                    if client.loop_write() != mqtt.MQTT_ERR_SUCCESS and reg.client is client:
                        reg.lost(self.now(), closed=True)
            now = self.now()
            dirty, self.dirty = self.dirty, set()
            for reg in dirty:
                reg.pump(now)
