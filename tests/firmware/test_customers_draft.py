"""`CustomerBook.draft` / `record`: the register decides with a drafted edit, then records it
(docs/customers.md#on-the-till)."""

from __future__ import annotations

import pytest

from firmware.customers import CustomerBook
from firmware.domain.errors import Refused

AT = "2026-12-01T04:00:00.000Z"


def test_a_draft_is_recorded_only_when_asked_and_only_once(tmp_path):
    book = CustomerBook(tmp_path, "S1", "R1")
    draft = book.draft("", {"name": "Anna Schmidt", "code": "card1"}, AT)
    assert draft.create and draft.seq == 1 and book.pending() == []  # nothing recorded yet
    book.record(draft)
    assert [c.name for c in book.search("anna")] == ["Anna Schmidt"]
    with pytest.raises(Refused):
        book.record(draft)  # its seq is taken: never twice
    edit = book.draft(draft.customer_id, {"phone": "+49 151 2345678"}, AT)
    assert not edit.create and edit.seq == 2 and edit.changed == {"phone": "+49 151 2345678"}
    book.record(edit)
    again = CustomerBook(tmp_path, "S1", "R1")  # durable: read back from the log
    assert [(c.name, c.phone) for c in again.search("CARD1")] == [("Anna Schmidt", "+49 151 2345678")]


def test_a_draft_is_refused_in_the_cashiers_words(tmp_path):
    book = CustomerBook(tmp_path, "S1", "R1")
    with pytest.raises(Refused):
        book.draft("", {"name": ""}, AT)
    with pytest.raises(Refused, match="no longer on the list"):
        book.draft("S1:R1:deadbeef:9", {"name": "Ben"}, AT)
