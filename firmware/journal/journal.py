"""`Journal`: the register's durable record of receipts, delivery state and small state records.

See the package docstring for the storage design. Every public method is
safe from any thread: one lock serialises receipt commits, another the
state records (TinyDB's read-modify-write and query cache), the delivery
store has its own; readers of receipts and of the delivery state never wait
for a commit's fsync.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from firmware.clock import Clock, iso_utc, parse_iso_utc
from firmware.contract.receipt_id import format_receipt_id, names, parse_receipt_id
from firmware.domain.receipt_model import Receipt
from firmware.errors import JournalError, JournalFull, JournalLost, JournalMismatch
from firmware.journal.archive import Archiver, ArchiveReader, ArchiveResult, describe, read_manifest
from firmware.journal.delivery import CONFLICT, DeliveryStore, Doc as DeliveryDoc, is_conflict
from firmware.journal.fileops import FULL_ERRNOS, FileOps
from firmware.journal.housekeeper import SegmentKeeper
from firmware.journal.logfile import LogFile
from firmware.journal.meta import HWM, Epoch, HighWater, Meta, new_epoch, read_hwm, read_meta, write_hwm, write_meta
from firmware.journal.segments import SEGMENT_RE, ReceiptLog
from firmware.journal.storage import RECEIPTS, STATE, Doc, JournalDB, KassaTable, ReceiptView, open_db
from firmware.journal.verifier import Verifier
from firmware.logutil import LogThrottle

log = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
DELIVERY_LOG = "delivery.log"
STATE_LOG = "state.log"
EPOCH_STATE = "epoch"  # state records: one per epoch opened after the first (key: the epoch)
ROLLED_BACK = "rolled back"  # how the reason of an epoch opened on a detected rollback begins


class DeliverySummary(NamedTuple):
    pending: int
    delivered: int
    confirmed: int
    quarantined: int
    oldest_pending_at: str | None
    last_delivered_at: str | None
    last_confirmed_at: str | None
    quarantined_items: list[DeliveryDoc]
    conflicts: int = 0  # quarantined because the fleet holds a different receipt under the id
    rollbacks: int = 0  # epochs opened because the fleet held more than this journal (restored from a copy)


class JournalHead(NamedTuple):
    """The journal's identity and its newest receipt, read together (`Journal.head`)."""

    epoch: str
    first_seq: int  # the current epoch's first seq
    seq: int  # the newest receipt's seq (0: none yet)
    hash: str  # its hash ("" when there is none)


class Journal:
    """Receipts (immutable, hash-chained), their delivery state, and small state records, all crash-safe."""

    def __init__(self) -> None:  # use Journal.open
        raise TypeError("use Journal.open(data_dir, store=..., register=..., clock=...)")

    # ------------------------------------------------------------------ open

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str], *, store: str, register: str, clock: Clock,
             create: bool = True, fileops: FileOps | None = None, segment_records: int = 4096,
             segment_bytes: int = 6 * 1024 * 1024, verify: bool = False, max_attempts: int = 5,
             group_commit_interval: float = 0.003, hwm_interval: float = 0.5,
             freeze_gc: bool = False) -> Journal:
        """Open (or create) the journal in `data_dir/journal`; refuse loss, corruption and mismatch.

        Raises JournalCorrupt, JournalMismatch, JournalLost, JournalFull or
        JournalError, each naming the file (and offset) and what to do.
        `verify=True` checks every sealed segment's CRC before returning
        (tools, selftests); by default the open reads indexes and the tail
        only, and once `start()`ed a background thread checks sealed segments,
        reporting damage in `alarms` (see verifier.py).

        Opening starts no thread: reads, commits and `flush()` work at once
        (a tool such as kassa-provision needs nothing more), and `close()`
        writes what is left. `start()` adds the background threads a running
        register wants (group-committed delivery marks, sealing and the
        high-water mark off the commit path, the sealed-segment check).
        `freeze_gc` is ignored: a library does not freeze the process's
        collector; the application does, once (ui/cli.py).
        """
        self = object.__new__(cls)
        ops = fileops or FileOps()
        data_dir = os.fspath(data_dir)
        try:
            self._open(ops, data_dir, store, register, clock, create, segment_records, segment_bytes, verify,
                       max_attempts, group_commit_interval, hwm_interval)
        except JournalError:
            raise
        except OSError as exc:
            if exc.errno in FULL_ERRNOS:
                raise JournalFull(f"the disk is full opening the journal in {data_dir}: free disk space, "
                                  "then retry") from exc
            raise JournalError(f"cannot open the journal in {data_dir} ({exc}); check the disk and its "
                               "permissions") from exc
        return self


    def _open(self, ops: FileOps, data_dir: str, store: str, register: str, clock: Clock, create: bool,
              segment_records: int, segment_bytes: int, verify: bool, max_attempts: int,
              interval: float, hwm_interval: float) -> None:
        self._ops = ops
        self._clock = clock
        self.store = store
        self.register = register
        self.data_dir = data_dir
        self.directory = os.path.join(data_dir, JOURNAL_DIR)
        self.recovery: list[str] = []
        self.alarms: list[str] = []  # damage found after open, one sentence each (file and offset)
        self._alarm_lock = threading.Lock()
        self._lock = threading.RLock()  # receipt commits
        self._state_lock = threading.RLock()  # state records
        self._closed = False
        self._started = False
        self._hwm_path = os.path.join(data_dir, HWM)
        mark = read_hwm(ops, self._hwm_path)
        meta = read_meta(ops, self.directory) if ops.exists(self.directory) else None
        if meta is None:
            meta = self._create(data_dir, mark, create)
        if meta.register != register or meta.store != store:
            raise JournalMismatch(
                f"journal {self.directory} belongs to store {meta.store} register {meta.register}, "
                f"not {store} {register}: check the provisioning; the journal was left untouched"
            )
        known = {e.epoch for e in meta.epochs}  # a mark from an earlier epoch of this journal is still its mark
        if mark is not None and mark.seq > 0 and mark.epoch not in known:
            raise JournalLost(
                f"journal {self.directory} is epoch {meta.epoch}, but this device committed receipts up to seq "
                f"{mark.seq} in epoch {mark.epoch} ({self._hwm_path}): the journal was replaced; restore it from a "
                "backup or export and reset deliberately"
            )
        self._set_meta(meta)
        self._ids: dict[int, str] = {}  # receipt ids of quarantined receipts (summary), read once each
        # ids of other journals in acks: one line per message at most, a flood of messages a few lines and a count
        self._foreign_log = LogThrottle(log, period=60.0, burst=5)
        receipts = ReceiptLog(self.directory, ops, segment_records=segment_records, segment_bytes=segment_bytes)
        archived = read_manifest(ops, self.directory)
        receipts.load(self.recovery, verify=verify, archived=archived)
        receipts.archive = ArchiveReader(ops)
        last = receipts.next_seq - 1
        if mark is not None and mark.epoch in known and last < mark.seq:
            raise JournalLost(
                f"journal {self.directory} ends at seq {last} but this device committed up to seq {mark.seq} "
                f"({self._hwm_path}): receipts {last + 1}..{mark.seq} are missing; the journal was left untouched, "
                "restore it from a backup"
            )
        for name in (STATE_LOG, DELIVERY_LOG):  # refuse corruption before repairing anything
            LogFile(os.path.join(self.directory, name), ops).load([])
        for name in ops.listdir(self.directory):
            if name.endswith(".tmp") or name.startswith("spare.prep"):
                ops.unlink(os.path.join(self.directory, name))
        for name in ops.listdir(data_dir):  # the high-water mark's temp file (FileOps.create_temp), left by a crash
            if name.startswith(f".{HWM}.") and name.endswith(".tmp"):
                ops.unlink(os.path.join(data_dir, name))
        self._log = receipts
        receipts.start_writing()
        self.db: JournalDB = open_db(receipts, self.directory, ops, self.recovery)
        self._receipts = self.db.table(RECEIPTS)
        self._view = ReceiptView(receipts)
        self._states = cast(KassaTable, self.db.table(STATE))  # JournalDB.table_class
        # (kind, key) -> doc id of the state table, so a state read or write touches one document
        self._state_ids: dict[str, dict[str, int]] = {}
        found = self._states.fields_of("kind", "key")
        for doc_id, (kind, key) in sorted(found.items()):
            self._state_ids.setdefault(kind, {})[key] = doc_id
        self._next_state_id = max(found, default=0) + 1
        self._delivery = DeliveryStore(os.path.join(self.directory, DELIVERY_LOG), ops, self.recovery,
                                       last_seq=last, max_attempts=max_attempts, interval=interval)
        self._hwm_seq = mark.seq if mark is not None and mark.epoch == meta.epoch else -1
        for entry in meta.epochs[1:]:  # a crash between open_epoch's meta and its state record
            if entry.epoch not in self._state_ids.get(EPOCH_STATE, {}):
                self.put_state(EPOCH_STATE, entry.epoch, entry.as_dict())
        self._housekeeper = SegmentKeeper(self, hwm_interval)
        receipts.on_sealed = self._housekeeper.seal
        for seg in receipts.segments[:-1]:
            if not seg.path.endswith(".gz") and not ops.exists(seg.path[: -len(".log")] + ".idx"):
                self._housekeeper.seal(seg)  # type: ignore[arg-type]
        self._archiver = Archiver(receipts, self.directory, ops, all_confirmed=self._delivery.all_confirmed,
                                  flush=self._delivery.flush, alarm=self._raise_alarm, archived=archived)
        self._verifier = Verifier(receipts, self._raise_alarm)
        try:
            self.write_high_water()
        except OSError as exc:  # a full disk must not stop reading what is committed; retried later
            log.warning("high-water mark not updated at open: %s", exc)

    def start(self) -> None:
        """Start the background threads: delivery writer, housekeeper, verifier (bootstrap; twice is harmless)."""
        with self._lock:
            if self._closed:
                raise JournalError("the journal is closed")
            if self._started:
                return
            self._started = True
        self._delivery.start()
        self._housekeeper.start()
        self._verifier.start()

    def _create(self, data_dir: str, mark: HighWater | None, create: bool) -> Meta:
        ops = self._ops
        leftovers = ([n for n in ops.listdir(self.directory) if SEGMENT_RE.match(n) or n.endswith(".log.gz")
                      or n == "archive.json"] if ops.exists(self.directory) else [])
        if mark is not None and mark.seq > 0:
            raise JournalLost(
                f"no journal found in {self.directory}, but this device committed receipts up to seq {mark.seq} "
                f"(epoch {mark.epoch}, {self._hwm_path}): the journal was lost or the disk swapped; restore the "
                "journal from a backup. A fresh journal is NOT started."
            )
        if leftovers:
            raise JournalLost(
                f"journal {self.directory} has receipt files but no identity file (meta.json): "
                "left untouched; restore it from a backup"
            )
        if not create:
            raise JournalError(f"no journal in {self.directory}: provision the register first")
        if not ops.exists(data_dir):
            os.makedirs(data_dir, exist_ok=True)
        if not ops.exists(self.directory):
            ops.mkdir(self.directory)
            ops.fsync_dir(data_dir)
        meta = Meta(self.store, self.register, new_epoch(), iso_utc(self._clock.now()))
        write_meta(ops, self.directory, meta)
        return meta

    # ------------------------------------------------------------ epochs

    def _set_meta(self, meta: Meta) -> None:
        self._meta = meta
        self._epoch_firsts = [e.first_seq for e in meta.epochs]

    @property
    def epoch(self) -> str:
        """The current epoch: new receipts' ids carry it."""
        return self._meta.epoch

    @property
    def epoch_first_seq(self) -> int:
        """The first seq of the current epoch (next_seq while it has no receipt yet)."""
        return self._meta.epochs[-1].first_seq

    @property
    def epochs(self) -> list[dict[str, str | int]]:
        """Every epoch of this journal, oldest first: {"epoch", "first_seq", "opened_at", "reason"}."""
        return [e.as_dict() for e in self._meta.epochs]

    @property
    def rollbacks(self) -> int:
        """How many epochs were opened because the journal had been rolled back (restored from a copy)."""
        return sum(1 for e in self._meta.epochs if e.reason.startswith(ROLLED_BACK))

    def epoch_of(self, seq: int) -> str:
        """The epoch whose seq range holds `seq` (the current one for seqs not committed yet)."""
        epochs = self._meta.epochs
        return epochs[max(0, bisect.bisect_right(self._epoch_firsts, seq) - 1)].epoch

    def epoch_range(self, epoch: str) -> tuple[int, int] | None:
        """(first seq, last committed seq) of `epoch`, last < first when it has none; None for another journal's."""
        epochs = self._meta.epochs
        for i, entry in enumerate(epochs):
            if entry.epoch == epoch:
                end = epochs[i + 1].first_seq - 1 if i + 1 < len(epochs) else self._log.next_seq - 1
                return entry.first_seq, end
        return None

    def receipt_id(self, seq: int) -> str:
        """The contract 1.1 id a receipt committed now at `seq` must carry (store:register:epoch:seq)."""
        return format_receipt_id(self.store, self.register, self.epoch_of(seq), seq)

    def open_epoch(self, reason: str) -> str:
        """Start a new epoch at `next_seq` and return it; seqs and the hash chain carry on across it.

        For a journal that was rolled back (restored from an older copy): the seqs after its end were
        already used under the old epoch, so new receipts get ids in a new one and no id is used twice.
        meta.json is rewritten atomically first (it decides); the event is also kept as a state record.
        """
        with self._lock:  # no receipt commits between reading next_seq and the new identity
            if self._closed:
                raise JournalError("the journal is closed")
            known = {e.epoch for e in self._meta.epochs}
            epoch = new_epoch()
            while epoch in known:
                epoch = new_epoch()
            entry = Epoch(epoch, self._log.next_seq, iso_utc(self._clock.now()), str(reason)[:500])
            meta = Meta(self._meta.store, self._meta.register, epoch, self._meta.created_at,
                        epochs=self._meta.epochs + (entry,))
            try:
                write_meta(self._ops, self.directory, meta)
            except OSError as exc:
                if exc.errno in FULL_ERRNOS:
                    raise JournalFull(f"the disk is full: no new journal epoch opened ({exc})") from exc
                raise JournalError(f"cannot write {self.directory}/meta.json ({exc}); no new epoch opened") from exc
            self._set_meta(meta)
            self._hwm_seq = -1  # the mark names the epoch: rewrite it even if no seq moved
        self.put_state(EPOCH_STATE, epoch, entry.as_dict())
        try:
            self.write_high_water()
        except OSError as exc:
            log.warning("high-water mark not updated after a new epoch: %s", exc)
        log.warning("journal epoch %s opened at seq %d: %s", epoch, entry.first_seq, entry.reason)
        return epoch

    def write_high_water(self) -> None:
        """Record the durable seq beside the journal (housekeeper, open and close; never a commit)."""
        seq = self._log.next_seq - 1
        if seq == self._hwm_seq:
            return
        write_hwm(self._ops, self._hwm_path, HighWater(self.store, self.register, self.epoch, seq))
        self._hwm_seq = seq

    # ------------------------------------------------------------ receipts

    @property
    def next_seq(self) -> int:
        return self._log.next_seq

    @property
    def last_hash(self) -> str:
        return self._log.last_hash

    def head(self) -> JournalHead:
        """Epoch, its first seq, the newest seq and that receipt's hash as one consistent reading: taken under
        the commit lock, so a commit landing meanwhile cannot pair seq N with the hash of N+1 (which the fleet
        would read as a rolled-back journal)."""
        with self._lock:
            seq = self._log.next_seq - 1
            return JournalHead(self._meta.epoch, self._meta.epochs[-1].first_seq, seq,
                               self._log.last_hash if seq else "")

    def commit_receipt(self, receipt: Doc) -> Doc:
        """Append a finalized receipt durably, or return the one already committed for its `sale_id`."""
        sale_id = receipt.get("sale_id")
        if not sale_id:
            raise JournalError("receipt has no sale_id: it cannot be committed safely (a retry could duplicate it)")
        with self._lock:
            if self._closed:
                raise JournalError("the journal is closed")
            done = self._log.sale_ids.get(sale_id)
            if done is not None:
                return self.get_seq(done)  # type: ignore[return-value]
            seq = self._log.next_seq
            if receipt.get("seq") != seq:
                raise JournalError(f"receipt seq {receipt.get('seq')} is not the next seq {seq}: finalize it again "
                                   f"with seq {seq}")
            if receipt.get("prev_hash") != self._log.last_hash:
                raise JournalError(f"receipt seq {seq} does not link to the last committed receipt: seal it with the "
                                   "journal's last_hash")
            key = parse_receipt_id(receipt.get("receipt_id"))
            if key is None or not names(key, self.store, self.register) or key.epoch != self.epoch or key.seq != seq:
                # the 1.0 form (no store) is still accepted from older tools; the register writes 1.1
                raise JournalError(f"receipt id {receipt.get('receipt_id')!r} should be {self.receipt_id(seq)!r}")
            try:
                self._receipts.insert(receipt)
            except JournalError:
                raise
            except OSError as exc:
                raise JournalError(f"cannot write the journal ({exc}); the sale was NOT committed") from exc
            self._delivery.add_committed_upto(seq)
        self._housekeeper.committed()
        return dict(receipt)

    def payload(self, seq: int) -> bytes:
        """The stored canonical JSON of receipt `seq`, to publish as is. KeyError when there is none."""
        data = self._log.read_payload(seq)
        if data is None:
            raise KeyError(seq)
        return data

    def get_seq(self, seq: int) -> Doc | None:
        # Straight from the receipt view TinyDB also reads (no copy of the small tables per receipt).
        try:
            return self._view[str(seq)]
        except KeyError:
            return None

    def seq_of(self, receipt_id: str) -> int | None:
        """The seq a receipt id (1.1 or 1.0 form) names in this journal; None when it is not one of its ids."""
        key = parse_receipt_id(receipt_id)
        if key is None or not names(key, self.store, self.register) or self.epoch_of(key.seq) != key.epoch:
            return None
        return key.seq

    def get(self, receipt_id: str) -> Doc | None:
        """The receipt under `receipt_id` (`store:register:epoch:seq`, or the 1.0 `register:epoch:seq`)."""
        seq = self.seq_of(receipt_id)
        return None if seq is None else self.get_seq(seq)

    def find_by_sale_id(self, sale_id: str) -> Doc | None:
        seq = self._log.sale_ids.get(sale_id)
        return None if seq is None else self.get_seq(seq)

    def iter_receipts(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Doc]:
        last = self._log.next_seq - 1 if to_seq is None else min(to_seq, self._log.next_seq - 1)
        for seq in range(max(1, from_seq), last + 1):
            doc = self.get_seq(seq)
            if doc is not None:
                yield doc

    def recent(self, limit: int) -> list[Doc]:
        """Newest first."""
        last = self._log.next_seq - 1
        out = []
        for seq in range(last, max(0, last - limit), -1):
            doc = self.get_seq(seq)
            if doc is not None:
                out.append(doc)
        return out

    # ------------------------------------------------------------ typed receipts

    # The stored document, parsed once into a typed, immutable `Receipt` (firmware/domain/receipt_model.py).
    # The dict readers above stay for what needs the document as stored (audit, verification, health).

    def receipt(self, seq: int) -> Receipt | None:
        """Receipt `seq`, typed; None when there is none."""
        payload = self._log.read_payload(seq) if seq >= 1 else None
        return None if payload is None else Receipt.from_json(payload)

    def receipt_by_id(self, receipt_id: str) -> Receipt | None:
        """The receipt under `receipt_id` (either form, as `get`), typed."""
        seq = self.seq_of(receipt_id)
        return None if seq is None else self.receipt(seq)

    def receipt_by_sale_id(self, sale_id: str) -> Receipt | None:
        seq = self._log.sale_ids.get(sale_id)
        return None if seq is None else self.receipt(seq)

    def receipts(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Receipt]:
        """Receipts from_seq..to_seq (archived ones included), typed, in seq order.

        Each is decoded straight from its stored canonical JSON (`Receipt.from_json`: no dict view in
        between, the parts built when first read), so reading typed costs no more than `iter_receipts`.
        """
        last = self._log.next_seq - 1 if to_seq is None else min(to_seq, self._log.next_seq - 1)
        read, from_json = self._log.read_payload, Receipt.from_json
        for seq in range(max(1, from_seq), last + 1):
            payload = read(seq)
            if payload is not None:
                yield from_json(payload)

    def recent_receipts(self, limit: int) -> list[Receipt]:
        """The newest `limit` receipts, typed, newest first."""
        last = self._log.next_seq - 1
        out = []
        for seq in range(last, max(0, last - limit), -1):
            receipt = self.receipt(seq)
            if receipt is not None:
                out.append(receipt)
        return out

    # ------------------------------------------------------------ delivery

    def outbox(self, after_seq: int = 0, limit: int = 100) -> list[int]:
        return self._delivery.outbox(after_seq, limit)

    def mark_delivered(self, seqs: Iterable[int], at: datetime) -> None:
        self._delivery.mark_delivered(seqs, at)

    def _split_ids(self, receipt_ids: Iterable[str], what: str) -> list[int]:
        seqs, foreign = [], []
        for rid in receipt_ids:
            seq = self.seq_of(str(rid))
            if seq is None:
                foreign.append(rid)
            else:
                seqs.append(seq)
        if foreign:  # once per message at most: a flood of foreign ids must not rotate the log away
            self._foreign_log.warning(
                what, "ignoring %d %s not of this journal (store %s register %s epochs %s), e.g. %r",
                len(foreign), what, self.store, self.register, ",".join(e.epoch for e in self._meta.epochs[-3:]),
                str(foreign[0])[:120])
        return seqs

    def flush_logs(self) -> int:
        """Summarise what the foreign-id log left out once its period is over (sync's housekeeping calls it), so
        the count of a flood that stopped is logged too; the number of summary lines."""
        return self._foreign_log.flush()

    def mark_confirmed(self, receipt_ids: Iterable[str], at: datetime) -> int:
        """Confirm receipts by id; returns how many ids were this journal's (foreign ones are logged once)."""
        seqs = self._split_ids(receipt_ids, "confirmations")
        self._delivery.mark_confirmed_seqs(seqs, at)
        return len(seqs)

    def quarantine_conflicts(self, receipt_ids: Iterable[str], at: datetime) -> list[int]:
        """Set aside receipts the fleet holds a different receipt for: never sent again, never confirmed.

        Returns the seqs of this journal among `receipt_ids` (foreign ids are logged once).
        """
        seqs = self._split_ids(receipt_ids, "conflict ids")
        self._delivery.quarantine(seqs, CONFLICT, at)
        return seqs

    def record_failure(self, seq: int, error: str, at: datetime) -> bool:
        return self._delivery.record_failure(seq, error, at)

    def requeue_quarantined(self) -> int:
        return self._delivery.requeue_quarantined()

    def mark_pending(self, seqs: Iterable[int]) -> None:
        self._delivery.mark_pending(seqs)

    def due_for_resend(self, before: datetime) -> list[int]:
        return self._delivery.due_for_resend(before)

    def delivery(self, seq: int) -> DeliveryDoc | None:
        return self._delivery.delivery(seq)

    def delivered_unconfirmed(self) -> int:
        """How many receipts are delivered to the broker but not yet confirmed by the fleet (a counter)."""
        return self._delivery.counts_snapshot()[1]

    def unconfirmed_seqs(self) -> list[int]:
        """Seqs of every receipt not confirmed yet (pending, delivered, quarantined), in order; no receipt read."""
        return self._delivery.unconfirmed_seqs()

    def summary(self) -> DeliverySummary:
        pending, delivered, confirmed, quarantined, last_d, last_c = self._delivery.counts_snapshot()
        first = self._delivery.outbox(0, 1)
        oldest = None
        if first:
            doc = self.get_seq(first[0])
            oldest = doc.get("created_at") if doc else None
        items = self._delivery.quarantined_items()
        ids, conflicts = self._ids, 0
        if len(ids) > 4 * len(items) + 64:
            self._ids = ids = {item["seq"]: ids[item["seq"]] for item in items if item["seq"] in ids}
        for item in items:
            seq = item["seq"]
            rid = ids.get(seq)
            if rid is None:  # what the receipt itself carries (1.0 in journals older than contract 1.1)
                try:
                    doc = self.get_seq(seq)
                except JournalError:
                    doc = None
                rid = ids[seq] = doc["receipt_id"] if doc else self.receipt_id(seq)
            item["receipt_id"] = rid
            conflicts += is_conflict(item.get("error"))
        return DeliverySummary(pending, delivered, confirmed, quarantined, oldest, last_d, last_c, items,
                               conflicts, self.rollbacks)

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until every delivery mark made so far is on disk."""
        self._delivery.flush(timeout)

    # ------------------------------------------------------------ state records

    # One document each in TinyDB's state table ({"kind", "key", "doc"}), found through `_state_ids` and
    # read or written alone (KassaTable.doc/put_docs): the cost does not grow with a year of reports and shifts.

    def put_state(self, kind: str, key: str, doc: Doc) -> None:
        """Store `doc` under (kind, key) durably (one fsync) before returning."""
        self.put_states([(kind, key, doc)])

    def put_states(self, changes: Iterable[tuple[str, str, Doc | None]]) -> None:
        """Store (doc) or delete (None) several state records in one durable record: all of them or none."""
        changes = list(changes)
        with self._state_lock:
            docs: dict[int, Doc | None] = {}
            fresh: dict[tuple[str, str], int] = {}
            next_id = self._next_state_id
            for kind, key, doc in changes:
                doc_id = fresh.get((kind, key)) or self._state_ids.get(kind, {}).get(key)
                if doc_id is None:
                    if doc is None:
                        continue  # deleting what is not there
                    doc_id = fresh[(kind, key)] = next_id
                    next_id += 1
                docs[doc_id] = None if doc is None else {"kind": kind, "key": key, "doc": doc}
            self._states.put_docs(docs)
            self._next_state_id = next_id
            for kind, key, doc in changes:  # the index follows only once the record is on disk
                keys = self._state_ids.setdefault(kind, {})
                if doc is None:
                    keys.pop(key, None)
                else:
                    keys[key] = fresh.get((kind, key)) or keys[key]

    def get_state(self, kind: str, key: str) -> Doc | None:
        with self._state_lock:
            doc_id = self._state_ids.get(kind, {}).get(key)
            found = None if doc_id is None else self._states.doc(doc_id)
        return None if found is None else found["doc"]

    def states(self, kind: str) -> dict[str, Doc]:
        with self._state_lock:
            found = {key: self._states.doc(doc_id) for key, doc_id in self._state_ids.get(kind, {}).items()}
        return {key: d["doc"] for key, d in found.items() if d is not None}

    def delete_state(self, kind: str, key: str) -> None:
        self.put_states([(kind, key, None)])

    # ------------------------------------------------------------ health

    # Any: one dict of mixed measures (bytes, rates, alarms), read by key by housekeeping and provisioning
    def health(self, window_days: int = 7) -> dict[str, Any]:
        """Bytes used, free bytes, receipts per day over recent history, and days until the disk is full."""
        used = self._log.bytes_used()
        st = self._ops.statvfs(self.directory)
        free = st.f_bavail * st.f_frsize
        total = self._log.next_seq - 1
        now = self._clock.now()
        since = now - timedelta(days=window_days)
        recent = 0
        oldest_seen = now
        for seq in range(total, 0, -1):
            try:
                doc = self.get_seq(seq)
            except JournalError:
                continue  # a damaged receipt is already an alarm; health must still answer
            when = parse_iso_utc(doc["created_at"]) if doc and doc.get("created_at") else None
            if when is None or when < since or recent >= 20000:
                break
            recent += 1
            oldest_seen = when
        span_days = max((now - oldest_seen).total_seconds() / 86400, 1.0)
        per_day = recent / span_days
        per_receipt = (used / total) if total else 2048
        days_left = (free / (per_day * per_receipt)) if per_day > 0 else None
        with self._alarm_lock:
            alarms = list(self.alarms)
        return {"bytes_used": used, "free_bytes": free, "receipts": total, "receipts_per_day": round(per_day, 1),
                "days_left": None if days_left is None else round(days_left, 1),
                **describe(list(self._log.segments)), "broken": self._log.broken,
                "alarm": alarms[0] if alarms else None, "alarms": alarms, "verified": self._verifier.done.is_set()}

    # ------------------------------------------------------------ integrity and retention

    def _raise_alarm(self, sentence: str) -> None:
        with self._alarm_lock:
            if sentence in self.alarms:
                return
            self.alarms.append(sentence)
        log.error("journal alarm: %s", sentence)

    def wait_verified(self, timeout: float | None = None) -> bool:
        """Wait for the background check of sealed segments; True when it finished (never before `start()`)."""
        return self._verifier.done.wait(timeout)

    def archive_confirmed(self, older_than: datetime) -> ArchiveResult:
        """Move sealed segments whose receipts are all confirmed and created before `older_than` to archives.

        Only whole sealed segments move, never one holding a pending, delivered or
        quarantined receipt, nor the segment being written. Archived receipts stay
        readable through `get`, `get_seq`, `payload` and `iter_receipts` (slower);
        `find_by_sale_id` covers the live journal only. Safe against a crash at any
        point (see archive.py); raises JournalError/JournalFull if the disk fails.
        """
        if self._closed:
            raise JournalError("the journal is closed")
        try:
            return self._archiver.run(older_than)
        except JournalError:
            raise
        except OSError as exc:
            if exc.errno in FULL_ERRNOS:
                raise JournalFull(f"the disk is full while archiving old receipts ({exc}); nothing was lost") from exc
            raise JournalError(f"archiving old receipts failed ({exc}); nothing was lost, retry later") from exc

    # ------------------------------------------------------------ close

    def close(self) -> None:
        """Stop and join the threads, flush delivery marks, record the high-water mark, release files. Safe twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for step in (self._verifier.stop, self._housekeeper.stop, self._delivery.close, self.db.close, self._log.close):
            try:
                step()
            except OSError as exc:
                log.error("journal close: %s", exc)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
