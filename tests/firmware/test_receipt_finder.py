"""Finding a past receipt offline over the journal: by local date, amount, card digits, customer code."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from firmware.clock import ManualClock
from firmware.contract.chain import canonical_json, seal
from firmware.journal import FileOps, Journal
from firmware.receipt_finder import MAX_LIMIT, ReceiptQuery, find_receipts
from tests.support.journal_sample import make_receipt

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 20, 6, tzinfo=UTC)


def body(seq: int, *, total: int, at: datetime, kind: str = "sale", card: str | None = None,
         customer: str | None = None, rounding: int = 0) -> dict:
    tenders = [{"type": "card", "amount": total, "change": 0, "reference": card}] if card else [
        {"type": "cash", "amount": total + rounding, "change": 0}]
    doc = {"receipt_id": f"S001:R1:e1:{seq}", "store": "S001", "register": "R1", "seq": seq, "kind": kind,
           "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
           "clock_trusted": True, "offline": True, "clerk_id": "c7", "currency": "EUR",
           "lines": [{"sku": "1", "name": "Item", "qty": 1, "unit_price": total, "discount": 0, "tax_code": "A",
                      "amount": total}],
           "totals": {"subtotal": total, "tax": total * 19 // 119, "total": total, "rounding": rounding},
           "taxes": [], "tenders": tenders, "refund_of": None}
    if customer:
        doc["customer_code"] = customer
    return seal(doc, "0" * 64)


class Memory:
    """A ReceiptSource over canonical JSON in memory (the journal's `payload` and `next_seq`)."""

    def __init__(self, docs: list[dict]) -> None:
        self.data = [canonical_json(d) for d in docs]

    @property
    def next_seq(self) -> int:
        return len(self.data) + 1

    def payload(self, seq: int) -> bytes:
        if not 1 <= seq <= len(self.data):
            raise KeyError(seq)
        return self.data[seq - 1]


def shop(n: int = 400) -> list[dict]:
    """n receipts an hour apart from 20 Nov 2026 07:00 Berlin; every 7th by card, every 11th with a customer."""
    docs = []
    for seq in range(1, n + 1):
        docs.append(body(seq, total=100 + seq % 50 * 10, at=START + timedelta(hours=seq - 1),
                         card=f"**** **** **** {1000 + seq:04d}" if seq % 7 == 0 else None,
                         customer=f"C{seq % 5:04d}" if seq % 11 == 0 else None, rounding=-2 if seq % 13 == 0 else 0,
                         kind="refund" if seq % 17 == 0 else "sale"))
    return docs


def seqs(result) -> list[int]:
    return [r.seq for r in result.receipts]


def test_by_local_day_newest_first():
    source = Memory(shop())
    result = find_receipts(source, ReceiptQuery(first_day=date(2026, 11, 21)), BERLIN)
    # Berlin's 21 Nov is 20 Nov 23:00 to 21 Nov 23:00 UTC: seqs 18 (23:00Z) to 41 (22:00Z)
    assert seqs(result) == list(range(41, 17, -1)) and not result.more
    ranged = find_receipts(source, ReceiptQuery(first_day=date(2026, 11, 21), last_day=date(2026, 11, 22)), BERLIN)
    assert seqs(ranged) == list(range(65, 17, -1))


def test_by_amount_total_or_paid_with_cash_rounding():
    source = Memory(shop())
    result = find_receipts(source, ReceiptQuery(amount=230), BERLIN)
    assert seqs(result) and all(r.totals.total == 230 for r in result.receipts)
    assert seqs(result) == sorted((s for s in range(1, 401) if 100 + s % 50 * 10 == 230), reverse=True)
    rounded = find_receipts(source, ReceiptQuery(amount=100 + 13 % 50 * 10 - 2), BERLIN)  # seq 13 paid total - 2
    assert 13 in seqs(rounded)


def test_by_card_digits_customer_code_and_kinds():
    source = Memory(shop())
    assert seqs(find_receipts(source, ReceiptQuery(card_digits="1014"), BERLIN)) == [14]
    assert seqs(find_receipts(source, ReceiptQuery(card_digits="14"), BERLIN)) == [
        s for s in range(400, 0, -1) if s % 7 == 0 and f"{1000 + s:04d}".endswith("14")]
    assert find_receipts(source, ReceiptQuery(card_digits="1015"), BERLIN).receipts == ()  # 15 paid cash
    by_code = find_receipts(source, ReceiptQuery(customer_code="c0003"), BERLIN)  # typed in lower case
    assert seqs(by_code) == [s for s in range(400, 0, -1) if s % 11 == 0 and s % 5 == 3]
    refunds = find_receipts(source, ReceiptQuery(first_day=date(2026, 11, 21), kinds=("refund",)), BERLIN)
    assert seqs(refunds) == [34]


def test_criteria_combine_and_the_limit_pages():
    source = Memory(shop())
    both = find_receipts(source, ReceiptQuery(amount=230, first_day=date(2026, 11, 21)), BERLIN)
    assert seqs(both) == [s for s in range(41, 17, -1) if 100 + s % 50 * 10 == 230]
    page = find_receipts(source, ReceiptQuery(first_day=date(2026, 11, 21)), BERLIN, limit=10)
    assert seqs(page) == list(range(41, 31, -1)) and page.more
    rest = find_receipts(source, ReceiptQuery(first_day=date(2026, 11, 21)), BERLIN, limit=100,
                         before_seq=page.next_before)
    assert seqs(rest) == list(range(31, 17, -1)) and not rest.more
    assert len(find_receipts(source, ReceiptQuery(amount=100), BERLIN, limit=10_000).receipts) <= MAX_LIMIT


@pytest.mark.parametrize(("query", "words"), [
    (ReceiptQuery(), "Give a date, an amount"),
    (ReceiptQuery(card_digits="1"), "last 2 to 8 digits"),
    (ReceiptQuery(card_digits="12a4"), "last 2 to 8 digits"),
    (ReceiptQuery(amount=0), "more than zero"),
    (ReceiptQuery(first_day=date(2026, 11, 22), last_day=date(2026, 11, 21)), "first day is after"),
    (ReceiptQuery(customer_code="C-1"), "letters and digits"),
])
def test_a_query_that_cannot_run_says_why(query, words):
    with pytest.raises(ValueError, match=words):
        find_receipts(Memory([]), query, BERLIN)


def test_unreadable_receipts_are_skipped_and_counted():
    class Holes(Memory):
        def payload(self, seq: int) -> bytes:
            if seq == 5:
                raise KeyError(seq)
            return b"{not json" if seq == 6 else super().payload(seq)

    result = find_receipts(Holes(shop(10)), ReceiptQuery(amount=150), BERLIN)
    assert seqs(result) == [] and result.unreadable == 2  # seq 5 (the only 1.50) cannot be read


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20), st.integers(10, 60), st.sampled_from([None, "07", "1021", "21"]),
       st.sampled_from([None, 100, 230, 488]), st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]))
@pytest.mark.slow
def test_the_byte_test_never_misses_a_match(day, days, digits, amount, zone):
    """Against a plain parse-everything search over the same receipts: exactly the same matches."""
    tz = ZoneInfo(zone)
    docs = shop(300)
    first = date(2026, 11, 19) + timedelta(days=day % 14)
    query = ReceiptQuery(first_day=first, last_day=first + timedelta(days=days % 5), amount=amount,
                         card_digits=digits)
    got = seqs(find_receipts(Memory(docs), query, tz, limit=MAX_LIMIT))
    lo = datetime.combine(query.first_day, datetime.min.time(), tzinfo=tz)
    hi = datetime.combine(query.last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    want = []
    for doc in reversed(docs):
        at = datetime.fromisoformat(doc["created_at"])
        paid = {doc["totals"]["total"], doc["totals"]["total"] + doc["totals"]["rounding"]}
        refs = [t.get("reference") or "" for t in doc["tenders"] if t["type"] == "card"]
        if lo <= at < hi and (amount is None or amount in paid) and (
                digits is None or any(r.replace("*", "").replace(" ", "").endswith(digits) for r in refs)):
            want.append(doc["seq"])
    assert got == want


# ---------------------------------------------------------------- over a real journal


class BulkOps(FileOps):
    """Build-only: no syncs (as bench/journal_bench.py builds its 100k journal)."""

    def fsync(self, fd: int) -> None:
        pass

    def fdatasync(self, fd: int) -> None:
        pass

    def fsync_dir(self, path: str) -> None:
        pass


def build_journal(path, n: int) -> Journal:
    journal = Journal.open(path, store="S001", register="R1", clock=ManualClock(), fileops=BulkOps())
    prev = journal.last_hash
    for seq in range(1, n + 1):
        at = START + timedelta(minutes=3 * seq)
        receipt = make_receipt(journal, seq=seq, prev_hash=prev, lines=2,
                               created_at=at.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        if seq % 97 == 0:
            receipt.pop("hash")
            receipt["tenders"] = [{"type": "card", "amount": receipt["totals"]["total"], "change": 0,
                                   "reference": f"slip {seq:06d}"}]
            receipt["customer_code"] = f"K{seq % 3:03d}"
            receipt = seal(receipt, prev)
        journal.commit_receipt(receipt)
        prev = receipt["hash"]
    return journal


def test_over_a_real_journal(tmp_path):
    journal = build_journal(tmp_path, 600)
    try:
        result = find_receipts(journal, ReceiptQuery(card_digits="0194"), BERLIN)
        assert seqs(result) == [194] and result.receipts[0].tenders[0].reference == "slip 000194"
        day = find_receipts(journal, ReceiptQuery(first_day=date(2026, 11, 21)), BERLIN, limit=MAX_LIMIT)
        assert day.receipts and all(
            datetime.fromisoformat(r.created_at).astimezone(BERLIN).date() == date(2026, 11, 21) for r in day.receipts)
        assert [r.seq for r in day.receipts] == sorted((r.seq for r in day.receipts), reverse=True)
    finally:
        journal.close()


@pytest.mark.slow
def test_a_search_over_100k_receipts(tmp_path, capsys):
    """100,000 receipts in a real journal (built without syncs); prints the time of each search (no assert on
    time: CI machines differ)."""
    n = int(os.environ.get("KASSA_FINDER_N", "100000"))
    t0 = time.perf_counter()
    journal = build_journal(tmp_path, n)
    built = time.perf_counter() - t0
    try:
        queries = {
            "card digits (1 match, full scan)": ReceiptQuery(card_digits=f"{97 * 3:04d}"),
            "customer code (full scan)": ReceiptQuery(customer_code="K001"),
            "amount (first 50)": ReceiptQuery(amount=make_receipt(journal, seq=1, lines=2)["totals"]["total"]),
            "one local day (oldest, full scan)": ReceiptQuery(first_day=date(2026, 11, 20)),
            "no match (full scan)": ReceiptQuery(amount=99_999_999),
        }
        lines = [f"journal of {n} receipts built in {built:.1f}s"]
        for name, query in queries.items():
            t = time.perf_counter()
            result = find_receipts(journal, query, BERLIN)
            took = time.perf_counter() - t
            lines.append(f"{name}: {len(result.receipts)} found, {result.scanned} scanned, {result.parsed} parsed, "
                         f"{took * 1000:.0f} ms")
            assert result.unreadable == 0
        assert seqs(find_receipts(journal, queries["card digits (1 match, full scan)"], BERLIN)) == [291]
        with capsys.disabled():
            print("\n" + "\n".join(lines))
        (tmp_path.parent / "finder_timings.txt").write_text("\n".join(lines))
    finally:
        journal.close()


def test_the_memory_source_matches_the_journals_bytes(tmp_path):
    journal = build_journal(tmp_path, 3)
    try:
        assert json.loads(journal.payload(2)) == json.loads(Memory([journal.get_seq(1), journal.get_seq(2)]).payload(2))
    finally:
        journal.close()
