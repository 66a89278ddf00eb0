"""The customer edits' outbox (firmware/sync/customer_outbox.py) on a real CustomerBook: batches in seq order, one in
flight, resent until a list's heads cover them, a broker refusal waited out, a list of another store refused; and
the book's view swapped under a lock while another thread searches and edits."""

from __future__ import annotations

import json
import threading

import pytest

from firmware.contract import PayloadRejected, decode
from firmware.contract.customers import CustomerEdits
from firmware.customers import CustomerBook
from firmware.sync.customer_outbox import CustomerOutbox

TOPIC = "kassa/v1/S001/R1/customers"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Wire:
    """The link's publish: records what went out and hands out mids."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, CustomerEdits]] = []
        self.payloads: list[int] = []
        self.up = True

    def __call__(self, topic: str, payload: bytes) -> int | None:
        assert topic == TOPIC
        if not self.up:
            return None
        mid = len(self.sent) + 1
        self.sent.append((mid, decode(CustomerEdits, payload)))
        self.payloads.append(len(payload))
        return mid

    def seqs(self, n: int = -1) -> list[int]:
        return [e.seq for e in self.sent[n][1].edits]


def new_book(tmp_path, register: str = "R1") -> CustomerBook:
    return CustomerBook(tmp_path / register, "S001", register)


def rig(tmp_path, **kw):
    book, wire, clock = new_book(tmp_path), Wire(), Clock()
    outbox = CustomerOutbox(book, TOPIC, wire, clock, resend_after=60.0, retry_after=5.0, **kw)
    outbox.reset(live=True)
    return book, wire, clock, outbox


def list_doc(version: int, book: CustomerBook, upto: int, customers: list[dict] | None = None,
             store: str = "S001") -> bytes:
    return json.dumps({"version": version, "store": store, "customers": customers or [], "kind": "customers",
                       "heads": [{"register": "R1", "epoch": book.log.epoch, "seq": upto}]}).encode()


def test_batches_go_in_seq_order_one_in_flight_and_a_list_confirms_them(tmp_path):
    book, wire, _clock, outbox = rig(tmp_path)
    assert outbox.fill() == 0 and not wire.sent  # nothing pending
    for n in range(205):
        book.create({"name": f"Customer {n}"}, "2026-12-01T08:00:00Z")
    assert outbox.fill() == 200 and wire.seqs() == list(range(1, 201))
    assert outbox.fill() == 0  # one batch in flight
    assert outbox.on_puback(1, True, "")  # the PUBACK sends the rest at once
    assert wire.seqs() == [201, 202, 203, 204, 205]
    assert not outbox.on_puback(99, True, "")  # not this outbox's
    outbox.on_puback(2, True, "")
    assert outbox.fill() == 0  # all PUBACKed, none confirmed yet: nothing before resend_after
    applied = outbox.on_list("S001", list_doc(1, book, 200))
    assert applied is not None and (applied.version, applied.pending) == (1, 5)
    assert [e.seq for e in book.pending()] == [201, 202, 203, 204, 205]
    assert outbox.on_list("S001", list_doc(1, book, 205)) is None  # not newer: ignored


def test_unconfirmed_edits_go_again_after_resend_after_and_on_a_new_connection(tmp_path):
    book, wire, clock, outbox = rig(tmp_path)
    book.create({"name": "Anna"}, "2026-12-01T08:00:00Z")
    outbox.fill()
    outbox.on_puback(1, True, "")
    clock.now += 59
    assert outbox.fill() == 0
    book.create({"name": "Bert"}, "2026-12-01T08:01:00Z")  # a new edit goes at once, alone
    assert outbox.fill() == 1 and wire.seqs() == [2]
    outbox.on_puback(2, True, "")
    clock.now += 61
    assert outbox.fill() == 2 and wire.seqs() == [1, 2]  # no list covered them: sent again
    outbox.reset(live=False)
    assert outbox.fill() == 0  # offline
    outbox.reset(live=True)
    assert outbox.fill() == 2 and wire.seqs() == [1, 2]  # a new connection: everything pending again


def test_a_refused_batch_waits_retry_after_and_a_down_link_sends_nothing(tmp_path):
    book, wire, clock, outbox = rig(tmp_path)
    book.create({"name": "Anna"}, "2026-12-01T08:00:00Z")
    wire.up = False
    assert outbox.fill() == 0 and outbox.inflight is None
    wire.up = True
    outbox.fill()
    outbox.on_puback(1, False, "quota exceeded")
    assert outbox.fill() == 0
    clock.now += 5
    assert outbox.fill() == 1 and wire.seqs() == [1]


def test_the_largest_legal_batch_fits_the_uplink_limit(tmp_path):
    """200 edits of the longest values the domain allows, in characters JSON spends most bytes on, are one batch:
    the outbox's halving of an oversized batch is only a guard."""
    book, wire, _clock, outbox = rig(tmp_path)
    for _ in range(200):
        book.create({"name": "\u00c4" + "\U0001f600" * 98 + "a", "code": "9" * 32, "phone": "+49 (151) 234-5678/901",
                     "email": "\u00fc" * 64 + "@" + "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + ".com"},
                    "2026-12-01T08:00:00Z")
    assert outbox.fill() == 200 and len(wire.sent) == 1
    assert wire.payloads[0] <= CustomerEdits.MAX_BYTES


def test_a_list_of_another_store_or_malformed_is_refused_and_changes_nothing(tmp_path):
    book, _wire, _clock, outbox = rig(tmp_path)
    book.create({"name": "Anna"}, "2026-12-01T08:00:00Z")
    with pytest.raises(PayloadRejected, match="store S002"):
        outbox.on_list("S001", list_doc(1, book, 1, store="S002"))
    with pytest.raises(PayloadRejected):
        outbox.on_list("S001", b'{"version": 1, "store": "S001"}')
    assert book.version == 0 and len(book.pending()) == 1


def _entries(n: int, version: int) -> list[dict]:
    return [{"customer_id": f"S001:R9:0000000{version % 10}:{i + 1}", "name": f"Listed {version} {i}",
             "created_at": "2026-12-01T08:00:00Z", "updated_at": "2026-12-01T08:00:00Z"} for i in range(n)]


@pytest.mark.slow
def test_lists_applied_on_another_thread_while_the_register_edits_and_searches(tmp_path):
    """The sync thread applies list after list while this thread edits and searches: no error, every edit kept
    (durable, shown at once, still pending after every list, since no list covers it), searches answer from one
    list at a time. (How long the register's thread waits meanwhile is measured in bench/customers_apply_bench.py.)"""
    book = new_book(tmp_path)
    failures: list[BaseException] = []
    done = threading.Event()

    def sync_thread() -> None:
        try:
            for version in range(1, 16):
                doc = {"version": version, "store": "S001", "customers": _entries(2000, version), "heads": []}
                assert book.apply_list(doc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=sync_thread)
    thread.start()
    made = []
    while not done.is_set() or len(made) < 20:
        edit = book.create({"name": f"Local {len(made)}"}, "2026-12-01T08:00:00Z")
        made.append(edit.customer_id)
        listed = book.search("listed", limit=50)
        assert len({c.name.split()[1] for c in listed}) <= 1, "a search saw two lists at once"
        assert all(book.get(cid) is not None for cid in made[-5:])
    thread.join()
    assert not failures, failures
    assert book.version == 15 and len(book) == 2000 + len(made)
    assert [e.customer_id for e in book.pending()] == made
    again = new_book(tmp_path)  # and all of it is on disk
    assert again.version == 15 and [e.customer_id for e in again.pending()] == made
