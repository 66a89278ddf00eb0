"""Contract models of the time clock (punches, punch acks) and of e-mail receipts (mail requests, mail acks)."""

from __future__ import annotations

import json

import pytest

from firmware.contract.chain import GENESIS, verify_chain
from firmware.contract.errors import PayloadRejected
from firmware.contract.mail import (
    MailAcks,
    MailRequest,
    address_problem,
    mail_requests_topic,
    message_id,
    receipt_page_url,
)
from firmware.contract.payloads import decode, encode
from firmware.contract.timeclock import (
    PunchAcks,
    PunchMessage,
    punch_acks_topic,
    punch_id,
    punch_ingest_filter,
    punches_topic,
    seal_punch,
    to_domain,
)
from firmware.domain.timeclock import CLOCK_IN


def punch_doc(seq: int = 1, kind: str = "clock_in", prev: str = GENESIS, **extra) -> dict:
    body = {"punch_id": punch_id("S001", "R1", "7f3a9c2e", seq), "store": "S001", "register": "R1", "seq": seq,
            "clerk_id": "c7", "kind": kind, "at": "2026-11-25T07:00:00.000Z", "clock_trusted": True,
            "offline": False, **extra}
    return seal_punch(body, prev)


def test_a_sealed_punch_round_trips_and_its_chain_verifies():
    first = punch_doc(1)
    second = punch_doc(2, "clock_out", first["hash"])
    message = decode(PunchMessage, json.dumps(second))
    assert message.epoch == "7f3a9c2e" and message.hash_ok()
    assert verify_chain([first, second]) == second["hash"]
    assert json.loads(encode(message)) == second
    punch = to_domain(decode(PunchMessage, json.dumps(first)))
    assert punch.kind == CLOCK_IN and punch.punch_id == "S001:R1:7f3a9c2e:1" and punch.at.utcoffset().seconds == 0


def test_a_punch_with_extra_fields_still_hashes_as_sent():
    doc = punch_doc(1, note="added by a newer register")
    assert decode(PunchMessage, json.dumps(doc)).hash_ok()
    tampered = {**doc, "clerk_id": "m1"}
    assert not decode(PunchMessage, json.dumps(tampered)).hash_ok()


@pytest.mark.parametrize(("change", "words"), [
    ({"punch_id": "S002:R1:e:1"}, "does not name store"),
    ({"seq": 2}, "does not name store"),
    ({"punch_id": "R1:e:1"}, "punch_id"),  # a punch id always names its store
    ({"kind": "lunch"}, "kind"),
    ({"at": "2026-11-25 07:00"}, "at"),
    ({"clock_trusted": "yes"}, "clock_trusted"),
])
def test_bad_punches_are_refused_with_the_field(change, words):
    with pytest.raises(PayloadRejected, match=words):
        decode(PunchMessage, json.dumps({**punch_doc(1), **change}))


def test_punch_acks_say_something_and_topics_are_per_register():
    assert decode(PunchAcks, '{"punch_ids": ["S001:R1:e:1"]}').conflict_ids == []
    with pytest.raises(PayloadRejected, match="both empty"):
        decode(PunchAcks, '{"punch_ids": []}')
    assert punches_topic("kassa/v1", "S001", "R1") == "kassa/v1/S001/R1/punches"
    assert punch_acks_topic("kassa/v1", "S001", "R1") == "kassa/v1/S001/R1/punch_acks"
    assert punch_ingest_filter("kassa/v1") == "$share/kassa-ingest/kassa/v1/+/+/punches"


# ---------------------------------------------------------------- e-mail receipts

MAIL = {"request_id": "S001:R1:7f3a9c2e:3", "store": "S001", "register": "R1",
        "receipt_id": "S001:R1:7f3a9c2e:42", "address": "anna@example.com",
        "requested_at": "2026-11-25T14:05:00.000Z", "clerk_id": "c7"}


def test_a_mail_request_round_trips():
    request = decode(MailRequest, json.dumps(MAIL))
    assert request.address == "anna@example.com" and json.loads(encode(request)) == MAIL
    assert mail_requests_topic("kassa/v1", "S001", "R1") == "kassa/v1/S001/R1/mail_requests"
    assert decode(MailAcks, '{"request_ids": ["S001:R1:e:1"], "refused": {"S001:R1:e:2": "no such receipt"}}')


@pytest.mark.parametrize(("address", "words"), [
    ("anna@example.com\r\nBcc: victim@example.org", "line break or control character"),
    ("anna@example.com\nBcc: x@y.z", "line break"),
    ("a" * 10_000 + "@example.com", "10012 characters long; an address has at most 254"),
    ("Anna <anna@example.com>", "not a valid mailbox name"),
    ("anna@example.com, bob@example.com", "exactly one @"),
    ("anna@example.com,", "not a valid domain"),
    ("anna@@example.com", "exactly one @"),
    ("anna", "exactly one @"),
    ("anna@localhost", "not a valid domain"),
    ("anna@10.0.0.1", "not a valid domain"),
    ("änna@example.com", "plain form"),
    ("", "Type the customer's e-mail address"),
    (".anna@example.com", "mailbox name"),
])
def test_hostile_or_malformed_addresses_are_refused_with_a_clear_message(address, words):
    assert words in (address_problem(address) or "")
    with pytest.raises(PayloadRejected):
        decode(MailRequest, json.dumps({**MAIL, "address": address}))


@pytest.mark.parametrize("address", ["anna@example.com", "anna.b+receipts@mail.example.co.uk",
                                     "o'brien@example.ie", "x@xn--bcher-kva.example"])
def test_plain_addresses_pass(address):
    assert address_problem(address) is None


def test_a_request_names_its_own_register_and_the_message_id_derives_from_the_request():
    with pytest.raises(PayloadRejected, match="does not name store"):
        decode(MailRequest, json.dumps({**MAIL, "request_id": "S001:R2:e:3"}))
    assert message_id("S001:R1:7f3a9c2e:3", "fleet.example") == "<kassa-receipt.S001.R1.7f3a9c2e.3@fleet.example>"
    assert receipt_page_url("https://r.example/", "S001:R1:e:42", "ab" * 32) == (
        "https://r.example/r/S001%3AR1%3Ae%3A42?h=abababababababab")
