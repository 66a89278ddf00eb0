"""The register's customers: the fleet's last list, the register's own edits on top, and a fast search.

Two files in the data dir (docs/customers.md#device):

- `customers.index`: the last customer list the fleet published, as a search index (columns plus sorted
  keys), written atomically when a newer list is applied. Built once per list, so start-up only reads it.
- `customer-edits.jsonl`: this register's edit log: a header line (store, register, epoch, next seq) and one
  line per edit, appended and fsync'ed before the edit counts (so it survives a power cut and is sent to the
  fleet until a list says the fleet has merged it). A torn last line is ignored. When a list arrives, the edits
  its `heads` cover are dropped (the log is rewritten atomically); the rest stay and are replayed on top.

Search (`CustomerBook.search`): by name, folded (case and accents), each query word a prefix of a word of the
name, ranked: exact name, name starts with the query, (several words) first name word starts with the longest
query word, then another word starts with it; by card number (exact, also a scan); by phone (digits only: equal,
then prefix, then suffix). Results are capped (`limit`, 20). The sorted keys make a query cost
O(log n + what it walks), not O(n): see bench/customers_bench.py.
"""

from __future__ import annotations

import array
import bisect
import gc
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.atomicfile import make_dirs, owner_of_dir, write_atomic
from firmware.domain.customers import (
    Customer,
    CustomerEdit,
    FieldValue,
    apply_edit,
    create_edit,
    digits,
    edit_of,
    fold,
    normalize_code,
)
from firmware.domain.errors import Refused

__all__ = ["INDEX_FORMAT", "LOG_FORMAT", "CustomerBook", "CustomerIndex", "EditLog", "edit_from_json",
           "edit_to_json", "linear_search", "rank_key", "search_fold"]

log = logging.getLogger(__name__)

INDEX_FORMAT = "kassa-customer-index/1"
LOG_FORMAT = "kassa-customer-edits/1"
F_CONSENT_EMAIL, F_CONSENT_SMS, F_DUPLICATE = 1, 2, 4
RankKey = tuple[int | str, ...]  # (rank, then the texts that order within it, customer id); lower is better


_SEPARATORS = str.maketrans({"-": " ", ".": " ", ",": " ", "'": None, "\u2019": None})


def search_fold(text: str) -> str:
    """A name as search compares it: folded (case, accents), hyphens and dots split words ("Ana-Lucía" ->
    "ana lucia"), apostrophes go ("O'Brien" -> "obrien"), words separated by one space."""
    folded = text.lower() if text.isascii() else fold(text)
    return " ".join(folded.translate(_SEPARATORS).split())


def _matches(spaced: str, words: list[str]) -> bool:
    """Every query word begins a word of the name (`spaced`: " " + the folded name)."""
    return all(" " + w in spaced for w in words)


def rank_key(folded: str, phrase: str, words: list[str], longest: str, customer_id: str) -> RankKey | None:
    """Where a name ranks for a query (lower is better), None when it does not match: every query word must
    begin a word of the name. 0 exact, 1 the name starts with the query, 2 (several query words) the first word
    starts with the longest query word, 3 any other match (then by the first later word starting with the longest
    query word, or by name)."""
    if not _matches(" " + folded, words):
        return None
    if folded == phrase:
        return (0, folded, customer_id)
    if folded.startswith(phrase):
        return (1, folded, customer_id)
    name_words = folded.split()
    if name_words[0].startswith(longest):
        return (2, folded, customer_id)
    later = [nw for nw in name_words[1:] if nw.startswith(longest)]
    return (3, min(later), folded, customer_id) if later else (3, "", folded, customer_id)


def _query(text: str) -> tuple[str, list[str], str] | None:
    phrase = search_fold(text)
    if not phrase:
        return None
    words = phrase.split()
    return phrase, words, max(words, key=len)


def _prefix_range(keys: list[str], prefix: str) -> range:
    lo = bisect.bisect_left(keys, prefix)
    hi = bisect.bisect_left(keys, prefix + "\U0010ffff", lo)
    return range(lo, hi)


def _phone_key(kind: int, phone_digits: str, customer_id: str) -> RankKey:
    return (kind, phone_digits if kind < 12 else phone_digits[::-1], customer_id)


def _phone_rank(phone_digits: str, query: str, customer_id: str) -> RankKey | None:
    if not phone_digits:
        return None
    if phone_digits == query:
        return _phone_key(10, phone_digits, customer_id)
    if phone_digits.startswith(query):
        return _phone_key(11, phone_digits, customer_id)
    if phone_digits.endswith(query):
        return _phone_key(12, phone_digits, customer_id)
    return None


_SEP = "\x1f"  # the unit separator joins a text column (no field may hold a control character: it is replaced)
_TEXT = ("id", "code", "name", "phone", "email", "created_at", "updated_at", "folded", "phone_digits",
         "name_keys", "word_keys", "phone_keys", "rphone_keys", "code_keys")
_INTS = ("flags", "name_rows", "word_rows", "phone_rows", "rphone_rows", "code_rows")
_MAGIC = INDEX_FORMAT.encode("ascii") + b"\n"


def _pack_text(values: list[str]) -> bytes:
    return _SEP.join(v.replace(_SEP, " ") for v in values).encode("utf-8")


def _unpack_text(data: bytes | memoryview, count: int) -> list[str]:
    return str(data, "utf-8").split(_SEP) if count else []


def _pack_ints(values: list[int]) -> bytes:
    packed = array.array("I", values)
    if sys.byteorder != "little":  # pragma: no cover - the Pi and every CI machine are little-endian
        packed.byteswap()
    return packed.tobytes()


def _unpack_ints(data: bytes | memoryview) -> list[int]:
    packed = array.array("I")
    packed.frombytes(data)
    if sys.byteorder != "little":  # pragma: no cover
        packed.byteswap()
    return packed.tolist()


class CustomerIndex:
    """One customer list as columns (row i is one customer) with sorted keys for search; never changed.

    On disk (`to_bytes`) each text column is one UTF-8 string joined by U+001F, each int column raw uint32s:
    parsing a few long strings is several times faster than 100k small ones, which keeps start-up short.
    """

    def __init__(self, meta: Mapping[str, Any], text: Mapping[str, list[str]], ints: Mapping[str, list[int]],
                 ) -> None:  # Any: the index's JSON header (version, store, the fleet's heads) as read from disk
        self.version: int = meta["version"]
        self.store: str = meta["store"]
        self.heads: list[dict[str, Any]] = list(meta["heads"])  # Any: JSON, as in the customer list
        self._text, self._ints = text, ints
        self.ids, self.codes, self.names = text["id"], text["code"], text["name"]
        self.phones, self.emails = text["phone"], text["email"]
        self.created, self.updated = text["created_at"], text["updated_at"]
        self.folded, self.phone_digits = text["folded"], text["phone_digits"]
        self.name_keys, self.word_keys = text["name_keys"], text["word_keys"]
        self.phone_keys, self.rphone_keys = text["phone_keys"], text["rphone_keys"]
        self.flags, self.name_rows, self.word_rows = ints["flags"], ints["name_rows"], ints["word_rows"]
        self.phone_rows, self.rphone_rows = ints["phone_rows"], ints["rphone_rows"]
        self.code_keys, self.code_rows_sorted = text["code_keys"], ints["code_rows"]
        # rows are in id order and codes have a sorted key array: lookups bisect, no dict to build at start-up

    def __len__(self) -> int:
        return len(self.ids)

    def row_of(self, customer_id: str) -> int | None:
        row = bisect.bisect_left(self.ids, customer_id)
        return row if row < len(self.ids) and self.ids[row] == customer_id else None

    def code_rows(self, code: str) -> list[int]:
        if not code:
            return []
        lo = bisect.bisect_left(self.code_keys, code)
        hi = bisect.bisect_right(self.code_keys, code, lo)
        return self.code_rows_sorted[lo:hi]

    @classmethod
    def from_bytes(cls, data: bytes) -> CustomerIndex:
        """From `to_bytes()` (trusted: written by this register after the list passed its checks); ValueError
        when the file is not one."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a customer index (format line)")
        end = data.index(b"\n", len(_MAGIC))
        head = json.loads(data[len(_MAGIC):end])
        body = memoryview(data)[end + 1:]
        sections: dict[str, memoryview] = {}
        at = 0
        for name, size in head["sections"]:
            sections[name] = body[at:at + size]
            at += size
        if at != len(body):
            raise ValueError("customer index: sections do not add up to the file (truncated?)")
        text = {k: _unpack_text(sections[k], head["lengths"][k]) for k in _TEXT}
        ints = {k: _unpack_ints(sections[k]) for k in _INTS}
        if any(len(text[k]) != head["lengths"][k] for k in _TEXT):
            raise ValueError("customer index: a column has the wrong length")
        return cls(head, text, ints)

    def to_bytes(self) -> bytes:
        """The index file: a format line, a JSON header line, then each column (text joined by U+001F, ints as
        little-endian uint32): reading it is a few decodes and splits, no parsing of 100k small values."""
        parts = [(k, _pack_text(list(self._text[k]))) for k in _TEXT] + \
                [(k, _pack_ints(list(self._ints[k]))) for k in _INTS]
        head = {"version": self.version, "store": self.store, "heads": self.heads,
                "lengths": {k: len(self._text[k]) for k in _TEXT}, "sections": [[k, len(b)] for k, b in parts]}
        header = json.dumps(head, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        return b"".join([_MAGIC, header, b"\n"] + [b for _k, b in parts])

    @classmethod
    def empty(cls) -> CustomerIndex:
        return cls.build({"version": 0, "store": "", "customers": [], "heads": []})

    @classmethod
    def build(cls, payload: Mapping[str, Any]) -> CustomerIndex:  # Any: the customer list, JSON
        """From a customer list that passed the contract model (firmware.contract.customers.CustomerList)."""
        entries = sorted(payload["customers"], key=lambda e: e["customer_id"])
        text: dict[str, list[str]] = {k: [] for k in _TEXT}
        flags: list[int] = []
        for e in entries:
            text["id"].append(e["customer_id"])
            text["code"].append(normalize_code(e.get("code", "")))
            text["name"].append(e["name"])
            text["phone"].append(e.get("phone", ""))
            text["email"].append(e.get("email", ""))
            flags.append((F_CONSENT_EMAIL if e.get("consent_email") else 0)
                         | (F_CONSENT_SMS if e.get("consent_sms") else 0)
                         | (F_DUPLICATE if e.get("duplicate_code") else 0))
            text["created_at"].append(e["created_at"])
            text["updated_at"].append(e["updated_at"])
            text["folded"].append(search_fold(e["name"]))
            text["phone_digits"].append(digits(e.get("phone", "")))
        ids, folded, pd = text["id"], text["folded"], text["phone_digits"]
        n = len(ids)
        words = sorted((w, folded[r], ids[r], r) for r in range(n) for w in set(folded[r].split()[1:]))
        with_phone = [r for r in range(n) if pd[r]]
        name_rows = sorted(range(n), key=lambda r: (folded[r], ids[r]))
        phone_rows = sorted(with_phone, key=lambda r: (pd[r], ids[r]))
        rphone_rows = sorted(with_phone, key=lambda r: (pd[r][::-1], ids[r]))
        text["name_keys"] = [folded[r] for r in name_rows]
        text["word_keys"] = [w[0] for w in words]
        text["phone_keys"] = [pd[r] for r in phone_rows]
        text["rphone_keys"] = [pd[r][::-1] for r in rphone_rows]
        ints = {"flags": flags, "name_rows": name_rows, "word_rows": [w[3] for w in words], "phone_rows": phone_rows,
                "rphone_rows": rphone_rows}
        codes = text["code"]
        code_rows = sorted((r for r in range(n) if codes[r]), key=lambda r: (codes[r], ids[r]))
        text["code_keys"] = [codes[r] for r in code_rows]
        ints["code_rows"] = code_rows
        meta = {"version": payload["version"], "store": payload["store"],
                "heads": [dict(h) for h in payload.get("heads") or []]}
        return cls(meta, text, ints)

    def customer(self, row: int) -> Customer:
        flags = self.flags[row]
        return Customer(self.ids[row], code=self.codes[row], name=self.names[row], phone=self.phones[row],
                        email=self.emails[row], consent_email=bool(flags & F_CONSENT_EMAIL),
                        consent_sms=bool(flags & F_CONSENT_SMS), created_at=self.created[row],
                        updated_at=self.updated[row])

    def duplicate_code(self, row: int) -> bool:
        return bool(self.flags[row] & F_DUPLICATE)

    # ---- ranked candidates, best first; `skip` rows are shadowed by local edits -----------------------------

    def name_hits(self, text: str, limit: int, skip: Mapping[str, object]) -> list[tuple[RankKey, int]]:
        query = _query(text)
        if query is None or limit <= 0:
            return []
        phrase, words, longest = query
        hits: list[tuple[RankKey, int]] = []
        seen: set[int] = set()
        ids, folded = self.ids, self.folded

        def take(rows: Iterable[int]) -> bool:
            for row in rows:
                if row in seen or ids[row] in skip:
                    continue
                key = rank_key(folded[row], phrase, words, longest, ids[row])
                if key is None:
                    continue
                seen.add(row)
                hits.append((key, row))
                if len(hits) >= limit:
                    return True
            return False

        name_rows, word_rows = self.name_rows, self.word_rows
        if take(name_rows[i] for i in _prefix_range(self.name_keys, phrase)):
            return sorted(hits)
        if len(words) == 1:  # every later word starting with it matches: walk (word, name) order, stop at limit
            take(word_rows[i] for i in _prefix_range(self.word_keys, phrase))
            return sorted(hits)
        # several words: first names starting with the longest word, then later words starting with it, each in
        # key order; the other words are tested as substrings (" " + word in " " + name), cheap enough to walk
        # even a one-letter range
        for keys, rows, tier1_possible in ((self.name_keys, name_rows, True), (self.word_keys, word_rows, False)):
            for i in _prefix_range(keys, longest):
                row = rows[i]
                if row in seen:
                    continue
                name = folded[row]
                spaced = " " + name
                if not all(" " + w in spaced for w in words) or ids[row] in skip:
                    continue
                if tier1_possible and name.startswith(phrase):
                    continue  # tier 1: taken above
                seen.add(row)
                key = rank_key(name, phrase, words, longest, ids[row])
                if key is not None:
                    hits.append((key, row))
                    if len(hits) >= limit:
                        return sorted(hits)
        return sorted(hits)

    def phone_hits(self, query: str, limit: int, skip: Mapping[str, object]) -> list[tuple[RankKey, int]]:
        if not query or limit <= 0:
            return []
        hits: list[tuple[RankKey, int]] = []
        seen: set[int] = set()
        pd, ids = self.phone_digits, self.ids
        for keys, rows in ((self.phone_keys, self.phone_rows), (self.rphone_keys, self.rphone_rows)):
            probe = query if keys is self.phone_keys else query[::-1]
            found = []
            for i in _prefix_range(keys, probe):
                row = rows[i]
                if row in seen or ids[row] in skip:
                    continue
                key = _phone_rank(pd[row], query, ids[row])
                if key is not None:
                    seen.add(row)
                    found.append((key, row))
                    if len(found) >= limit:
                        break
            hits += found
        hits.sort()
        return hits[:limit]


def linear_search(customers: Iterable[Customer], text: str, limit: int = 20) -> list[Customer]:
    """The reference search, same results as `CustomerBook.search`: every customer ranked, sorted, capped (the
    tests' oracle and the bench's baseline)."""
    if limit <= 0 or not text.strip():
        return []
    code = normalize_code(text)
    query = _query(text)
    has_letters = any(c.isalpha() for c in text)
    phone = "" if has_letters else digits(text)
    exact: list[Customer] = []
    ranked: list[tuple[RankKey, Customer]] = []
    for c in customers:
        if c.deleted:
            continue
        if code and c.code == code:
            exact.append(c)
            continue
        key = None
        if phone:
            key = _phone_rank(digits(c.phone), phone, c.customer_id)
        elif has_letters and query is not None:
            key = rank_key(search_fold(c.name), *query, c.customer_id)
        if key is not None:
            ranked.append((key, c))
    exact.sort(key=lambda c: (c.updated_at, c.customer_id), reverse=True)
    ranked.sort(key=lambda item: item[0])
    return (exact + [c for _key, c in ranked])[:limit]


# ---- the register's edit log -------------------------------------------------------------------------------

def edit_to_json(edit: CustomerEdit) -> dict[str, Any]:  # Any: a JSON document
    """An edit as the uplink's `CustomerEdit` (firmware.contract.customers) and the log's line."""
    doc: dict[str, Any] = {"customer_id": edit.customer_id, "epoch": edit.epoch, "seq": edit.seq, "at": edit.at,
                           "changes": dict(edit.changes)}
    if edit.create:
        doc["create"] = True
    return doc


def edit_from_json(register: str, doc: Mapping[str, Any]) -> CustomerEdit:  # Any: a JSON document
    changes = doc["changes"]
    return CustomerEdit(doc["customer_id"], tuple(changes.items()), register, doc["epoch"], doc["seq"], doc["at"],
                        bool(doc.get("create", False)))


@dataclass
class EditLog:
    """`customer-edits.jsonl`: this register's edits not yet merged by the fleet, in seq order."""

    path: Path
    store: str
    register: str
    epoch: str
    next_seq: int
    edits: list[CustomerEdit]

    @classmethod
    def open(cls, path: Path, store: str, register: str) -> EditLog:
        """Read the log (a torn last line is dropped); a missing log starts a new epoch at seq 1."""
        path = Path(path)
        try:
            lines = path.read_bytes().split(b"\n")
        except FileNotFoundError:
            log = cls(path, store, register, secrets.token_hex(4), 1, [])
            log._rewrite()
            return log
        header = json.loads(lines[0])
        if header.get("format") != LOG_FORMAT or header.get("register") != register or header.get("store") != store:
            raise ValueError(f"{path} is not this register's customer edit log ({store}/{register})")
        edits = []
        for line in lines[1:]:
            if not line.strip():
                continue
            try:
                edits.append(edit_from_json(register, json.loads(line)))
            except (ValueError, KeyError, TypeError, AttributeError):
                break  # a torn tail: the edit was never acknowledged to the cashier
        next_seq = max([int(header["next_seq"])] + [e.seq + 1 for e in edits if e.epoch == header["epoch"]])
        return cls(path, store, register, header["epoch"], next_seq, edits)

    def _header(self) -> bytes:
        return json.dumps({"format": LOG_FORMAT, "store": self.store, "register": self.register,
                           "epoch": self.epoch, "next_seq": self.next_seq}).encode()

    def _rewrite(self) -> None:
        make_dirs(self.path.parent, 0o700)
        body = b"\n".join([self._header()] + [_line(e) for e in self.edits]) + b"\n"
        write_atomic(self.path, body, 0o600, owner=owner_of_dir(self.path.parent))

    def append(self, edit: CustomerEdit) -> None:
        """Durable before it returns (write + fsync)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.write(fd, _line(edit) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        self.edits.append(edit)
        self.next_seq = max(self.next_seq, edit.seq + 1)

    def drop_merged(self, heads: Iterable[Mapping[str, Any]]) -> int:  # Any: the list's heads, JSON
        """Forget the edits the fleet's list holds (`heads`); return how many went."""
        covered = {(h["register"], h["epoch"]): int(h["seq"]) for h in heads}
        keep = [e for e in self.edits if e.seq > covered.get((self.register, e.epoch), 0)]
        dropped = len(self.edits) - len(keep)
        if dropped:
            self.edits = keep
            self._rewrite()
        return dropped


def _line(edit: CustomerEdit) -> bytes:
    return json.dumps(edit_to_json(edit), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---- the book: index + local edits ----------------------------------------------------------------------------

class CustomerBook:
    """What the register searches and edits. Thread-safe: searches and edits run on the register's thread while
    sync applies a new list (`apply_list`, on the link thread).

    What a reader sees is one immutable view, (index, overlay), replaced whole by one assignment (atomic in
    Python): a reader takes `self._view` once and never sees a new index with an old overlay. Writers (an edit
    recorded, a list applied) hold `_lock` while they change the edit log and swap the view; the slow part of a
    list (building its index, ~2 s at 100k customers, and writing it) happens before, outside the lock, so an
    edit on the register's thread waits at most for the log rewrite and the replay of the pending edits.
    """

    def __init__(self, data_dir: Path, store: str, register: str) -> None:
        self.data_dir = Path(data_dir)
        self.store, self.register = store, register
        self.index_path = self.data_dir / "customers.index"
        self._lock = threading.Lock()  # the edit log and the view's swaps
        self._applying = threading.Lock()  # one list at a time
        index = self._load_index()
        self.log = EditLog.open(self.data_dir / "customer-edits.jsonl", store, register)
        self.log.drop_merged(index.heads)  # a list applied just before a crash: its edits are merged already
        self._folds: dict[str, str] = {}  # name -> search_fold(name), for the overlay's customers
        self._view: tuple[CustomerIndex, dict[str, Customer]] = (index, self._replayed(index))

    @property
    def index(self) -> CustomerIndex:
        return self._view[0]

    @property
    def overlay(self) -> Mapping[str, Customer]:
        return self._view[1]

    def _load_index(self) -> CustomerIndex:
        """The index file, or an empty index when there is none (or of another format: the next list rebuilds)."""
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            return CustomerIndex.empty()
        collecting = gc.isenabled()
        gc.disable()  # a few hundred thousand new objects, none cyclic: do not let the collector walk the heap
        try:
            return CustomerIndex.from_bytes(raw)
        except (ValueError, KeyError, TypeError) as exc:  # another format, or damaged: the next list rebuilds it
            log.warning("customer index %s unusable (%s); starting with no customers until the fleet's list "
                        "arrives", self.index_path, exc)
            return CustomerIndex.empty()
        finally:
            if collecting:
                gc.enable()

    @staticmethod
    def _base(index: CustomerIndex, customer_id: str) -> Customer | None:
        row = index.row_of(customer_id)
        return None if row is None else index.customer(row)

    def _replayed(self, index: CustomerIndex) -> dict[str, Customer]:
        """The log's edits replayed over `index` (the caller holds `_lock`, or is the constructor)."""
        overlay: dict[str, Customer | None] = {}
        for edit in self.log.edits:
            cid = edit.customer_id
            current = overlay[cid] if cid in overlay else self._base(index, cid)
            overlay[edit.customer_id] = apply_edit(current, edit) or current
        return {cid: c for cid, c in overlay.items() if c is not None}

    # ---- reading ----------------------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.index.version

    def __len__(self) -> int:
        index, overlay = self._view
        shadowed = sum(1 for cid in overlay if index.row_of(cid) is not None)
        return len(index) - shadowed + sum(1 for c in overlay.values() if not c.deleted)

    def get(self, customer_id: str) -> Customer | None:
        index, overlay = self._view
        customer = overlay.get(customer_id) or self._base(index, customer_id)
        return None if customer is None or customer.deleted else customer

    def by_code(self, code: str) -> list[Customer]:
        """The live customers with this card number (typed or scanned); more than one when the fleet flagged the
        code as held twice: newest update first, the cashier picks."""
        index, overlay = self._view
        return self._by_code(index, overlay, code)

    @staticmethod
    def _by_code(index: CustomerIndex, overlay: Mapping[str, Customer], code: str) -> list[Customer]:
        code = normalize_code(code)
        found = [index.customer(r) for r in index.code_rows(code) if index.ids[r] not in overlay]
        found += [c for c in overlay.values() if c.code == code and code and not c.deleted]
        return sorted(found, key=lambda c: (c.updated_at, c.customer_id), reverse=True)

    def is_duplicate_code(self, customer: Customer) -> bool:
        return len(self.by_code(customer.code)) > 1 if customer.code else False

    def search(self, text: str, limit: int = 20) -> list[Customer]:
        """Up to `limit` customers, best first: the card number exactly, then by phone digits (a query without
        letters) or by name (see the module doc)."""
        if limit <= 0 or not text.strip():
            return []
        index, overlay = self._view
        exact = self._by_code(index, overlay, text)
        if exact and len(exact) >= limit:
            return exact[:limit]
        taken = {c.customer_id for c in exact}
        skip: dict[str, object] = {**overlay, **dict.fromkeys(taken)}
        hits: list[tuple[RankKey, Customer]] = []
        has_letters = any(c.isalpha() for c in text)
        query = _query(text)
        phone = "" if has_letters else digits(text)
        if phone:
            hits = [(key, index.customer(row)) for key, row in index.phone_hits(phone, limit, skip)]
        elif has_letters and query is not None:
            hits = [(key, index.customer(row)) for key, row in index.name_hits(text, limit, skip)]
        for customer in overlay.values():
            if customer.deleted or customer.customer_id in taken:
                continue
            if phone:
                key = _phone_rank(customer.phone_digits, phone, customer.customer_id)
            elif has_letters and query is not None:
                key = rank_key(self._fold(customer.name), *query, customer.customer_id)
            else:
                key = None
            if key is not None:
                hits.append((key, customer))
        hits.sort(key=lambda h: h[0])
        return (exact + [c for _k, c in hits])[:limit]

    def _fold(self, name: str) -> str:
        folded = self._folds.get(name)
        if folded is None:
            if len(self._folds) > 50_000:
                self._folds = {}
            folded = self._folds[name] = search_fold(name)
        return folded

    def pending(self) -> list[CustomerEdit]:
        """The edits to send (uplink `CustomerEdits`, in batches of at most 200), oldest first (any thread)."""
        with self._lock:
            return list(self.log.edits)

    # ---- writing ----------------------------------------------------------------------------------------------

    def create(self, fields: Mapping[str, FieldValue], at: str) -> CustomerEdit:
        """Create a customer on this register (Refused when invalid); durable when it returns."""
        with self._lock:
            edit = create_edit(fields, store=self.store, register=self.register, epoch=self.log.epoch,
                               seq=self.log.next_seq, at=at)
            self._record(edit)
            return edit

    def edit(self, customer_id: str, changes: Mapping[str, FieldValue], at: str) -> CustomerEdit:
        """Change fields of a customer (Refused when invalid, unknown or unchanged); durable when it returns."""
        with self._lock:
            customer = self.get(customer_id)
            if customer is None:
                raise Refused("This customer is no longer on the list")
            edit = edit_of(customer, changes, register=self.register, epoch=self.log.epoch, seq=self.log.next_seq,
                           at=at)
            self._record(edit)
            return edit

    def draft(self, customer_id: str, changes: Mapping[str, FieldValue], at: str) -> CustomerEdit:
        """The edit `create` (empty `customer_id`) or `edit` would record next, without recording it (Refused
        when invalid, unknown or unchanged): the register decides with it, then `record`s it."""
        if not customer_id:
            return create_edit(changes, store=self.store, register=self.register, epoch=self.log.epoch,
                               seq=self.log.next_seq, at=at)
        customer = self.get(customer_id)
        if customer is None:
            raise Refused("This customer is no longer on the list")
        return edit_of(customer, changes, register=self.register, epoch=self.log.epoch, seq=self.log.next_seq,
                       at=at)

    def record(self, edit: CustomerEdit) -> None:
        """Record a `draft`ed edit; durable when it returns. Refused when another edit took its seq meanwhile."""
        with self._lock:
            if edit.register != self.register or edit.epoch != self.log.epoch or edit.seq != self.log.next_seq:
                raise Refused("The customer changed meanwhile: save again")
            self._record(edit)

    def _record(self, edit: CustomerEdit) -> None:
        """Append (durable) and show the edit; the caller holds `_lock`."""
        self.log.append(edit)
        index, overlay = self._view
        current = overlay.get(edit.customer_id) or self._base(index, edit.customer_id)
        updated = apply_edit(current, edit)
        if updated is not None:
            self._view = (index, {**overlay, edit.customer_id: updated})

    def apply_list(self, payload: Mapping[str, Any]) -> bool:  # Any: the customer list, JSON
        """Take a customer list that passed the contract model (verified, decoded): newer versions only.
        Writes the index, drops the local edits it holds, replays the rest; returns whether it was applied.

        Any thread (sync calls it on its link thread): the index is built and written outside `_lock`; only the
        log's rewrite and the replay of the edits still pending happen under it, then the view is swapped."""
        with self._applying:
            if int(payload["version"]) <= self.index.version:
                return False
            index = CustomerIndex.build(payload)
            make_dirs(self.data_dir, 0o700)
            data = index.to_bytes()
            write_atomic(self.index_path, data, 0o600, owner=owner_of_dir(self.data_dir))
            with self._lock:
                self.log.drop_merged(index.heads)
                self._view = (index, self._replayed(index))
            return True

    def iter_all(self) -> Iterator[Customer]:
        """Every live customer (tests and the baseline)."""
        index, overlay = self._view
        for row in range(len(index)):
            if index.ids[row] not in overlay:
                yield index.customer(row)
        yield from (c for c in overlay.values() if not c.deleted)
