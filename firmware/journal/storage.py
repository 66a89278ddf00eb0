"""Kassa's TinyDB Storage and Table: receipts appended in O(1), small tables logged by changed documents.

TinyDB's stock `Table` reads and rewrites the whole database on every
insert, and its stock `JSONStorage` rewrites the whole file without a safe
replace. Here `KassaStorage.read()` hands TinyDB a lazy, read-only view of
the receipt log (documents are loaded from their segment on access) next to
plain copies of the small tables; `KassaTable.insert` on the receipts table
skips `_update_table` and appends one record; `KassaStorage.write()` diffs
each small table against what is on disk and logs only the changed
documents, one fsync per write. The storage's lock makes `read()` a
snapshot: a reader on one thread never copies a table another thread is
changing.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from firmware.errors import JournalError
from firmware.journal.fileops import FileOps
from firmware.journal.logfile import LogFile
from firmware.journal.segments import ReceiptLog

RECEIPTS = "receipts"
STATE = "state"
COMPACT_STATE_BYTES = 64 * 1024

# Any: a document (a receipt, a state record) and a log entry are JSON objects; so are TinyDB's tables
# (its Storage API reads and writes dict[str, dict[str, Any]])
Doc = dict[str, Any]
DocIn = Mapping[str, Any]


class ReceiptView(Mapping[str, DocIn]):
    """The receipts table as TinyDB sees it: doc id (= seq, as str) -> receipt, read on demand."""

    def __init__(self, receipts: ReceiptLog) -> None:
        self._log = receipts

    def __getitem__(self, key: str) -> Doc:
        payload = self._log.read_payload(int(key))
        if payload is None:
            raise KeyError(key)
        doc: Doc = json.loads(payload)
        return doc

    def get(self, key: str, default: Any = None) -> Any:  # Any: Mapping.get, as TinyDB calls it
        try:
            return self[key]
        except (KeyError, ValueError):
            return default

    def __contains__(self, key: object) -> bool:
        try:
            return 1 <= int(key) < self._log.next_seq  # type: ignore[call-overload, no-any-return]
        except (TypeError, ValueError):
            return False

    def __iter__(self) -> Iterator[str]:
        return (str(seq) for seq in range(1, self._log.next_seq))

    def __len__(self) -> int:
        return self._log.next_seq - 1


class KassaStorage(Storage):
    """TinyDB storage over the receipt log and a changed-documents log for small tables."""

    def __init__(self, receipts: ReceiptLog, state_path: str, ops: FileOps, recovery: list[str]) -> None:
        self.receipts = receipts
        self._view = ReceiptView(receipts)
        self._state_log = LogFile(state_path, ops)
        self._small: dict[str, dict[str, Doc]] = {}
        self._lock = threading.RLock()  # `_small` is read (deep-copied) and replaced under it
        self._live_bytes = 0  # size of `_small` as JSON when last measured (for compaction)
        for entry in self._state_log.load(recovery):
            self._apply(entry)
        self._state_log.open_for_append()

    def _apply(self, entry: Doc) -> None:
        if "snap" in entry:
            self._small = entry["snap"]
            return
        table = self._small.setdefault(entry["table"], {})
        table.update(entry.get("set", {}))
        for doc_id in entry.get("del", []):
            table.pop(doc_id, None)

    def read(self) -> dict[str, Any]:  # Any: TinyDB tables, and the receipts view
        with self._lock:
            tables: dict[str, Any] = copy.deepcopy(self._small)  # Any: as `read` returns it
        tables[RECEIPTS] = self._view
        return tables

    def write(self, data: dict[str, Any]) -> None:  # Any: TinyDB tables
        with self._lock:
            self._write(data)

    # ---- one document of a small table: O(size of the document), not of the tables ----

    def get_doc(self, table: str, doc_id: str) -> Doc | None:
        """A copy of one document, or None."""
        with self._lock:
            doc = self._small.get(table, {}).get(doc_id)
            return None if doc is None else copy.deepcopy(doc)

    def fields_of(self, table: str, *fields: str) -> dict[str, tuple[Any, ...]]:  # Any: JSON values
        """doc id -> the named top-level fields of each document (no copy of the documents)."""
        with self._lock:
            return {i: tuple(doc.get(f) for f in fields) for i, doc in self._small.get(table, {}).items()}

    def put_docs(self, table: str, docs: Mapping[str, DocIn | None]) -> None:
        """Set (None: delete) some documents in one logged record: all or none of them, durable on return."""
        with self._lock:
            held = self._small.get(table, {})
            entry = {"table": table, "set": {i: copy.deepcopy(dict(d)) for i, d in docs.items() if d is not None},
                     "del": [i for i, d in docs.items() if d is None and i in held]}
            if not entry["set"] and not entry["del"]:
                return
            self._state_log.append(entry)  # durable before memory changes
            self._apply(entry)
            self._maybe_compact()

    def _write(self, data: dict[str, Any]) -> None:  # Any: TinyDB tables
        for name, table in data.items():
            if name == RECEIPTS:
                if table is not self._view:
                    raise JournalError("receipts are immutable: they can only be appended")
                continue
            old = self._small.get(name, {})
            new = {str(k): v for k, v in table.items()}
            changes: dict[str, DocIn | None] = {k: v for k, v in new.items() if old.get(k) != v}
            changes.update((k, None) for k in old if k not in new)
            self.put_docs(name, changes)

    def _maybe_compact(self) -> None:
        # the live size is measured again only when the log has outgrown four times the last measure, so a
        # write stays O(1) amortised however large the small tables grow
        if self._state_log.end < max(COMPACT_STATE_BYTES, 4 * self._live_bytes):
            return
        live = self._live_bytes = len(json.dumps(self._small))
        if self._state_log.end > 4 * live:
            try:
                self._state_log.compact({"snap": self._small})
            except OSError:
                pass  # the long log stays valid; compaction is only an optimisation

    def append(self, table: str, document: DocIn) -> bytes:
        if table != RECEIPTS:
            raise JournalError(f"table {table} is not append-only")
        return self.receipts.append(dict(document))

    def close(self) -> None:
        with self._lock:
            self._state_log.close()


class KassaTable(Table):
    """TinyDB table; the receipts table is append-only with a constant-time `insert`."""

    def insert(self, document: DocIn) -> int:
        if self.name != RECEIPTS:
            return super().insert(document)
        storage = self.storage
        assert isinstance(storage, KassaStorage)
        storage.append(RECEIPTS, document)
        self.clear_cache()
        return int(document["seq"])

    def _update_table(self, updater: Callable[[dict[int, DocIn]], None]) -> None:
        if self.name == RECEIPTS:
            raise JournalError("receipts are immutable: they can only be appended")
        super()._update_table(updater)

    # ---- keyed access to a small table without TinyDB's read of every table (see KassaStorage.put_docs) ----

    def _small_storage(self) -> KassaStorage:
        storage = self.storage
        if self.name == RECEIPTS or not isinstance(storage, KassaStorage):
            raise JournalError(f"table {self.name} has no keyed document access")
        return storage

    def doc(self, doc_id: int) -> Doc | None:
        """A copy of document `doc_id`, or None."""
        return self._small_storage().get_doc(self.name, str(doc_id))

    def fields_of(self, *fields: str) -> dict[int, tuple[Any, ...]]:  # Any: JSON values
        return {int(i): v for i, v in self._small_storage().fields_of(self.name, *fields).items()}

    def put_docs(self, docs: Mapping[int, DocIn | None]) -> None:
        """Set (None: delete) documents by id in one durable record; TinyDB's caches of this table are dropped."""
        self._small_storage().put_docs(self.name, {str(i): d for i, d in docs.items()})
        self.clear_cache()
        self._next_id = None


class JournalDB(TinyDB):
    """TinyDB wired to KassaStorage and KassaTable."""

    table_class = KassaTable


def open_db(receipts: ReceiptLog, directory: str, ops: FileOps, recovery: list[str]) -> JournalDB:
    return JournalDB(receipts, os.path.join(directory, "state.log"), ops, recovery, storage=KassaStorage)
