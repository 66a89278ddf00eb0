"""The journaled outbox of state records (firmware/sync/record_outbox.py) on a real journal: punches and e-mail
requests go out in seq order through a small window, again on every new connection and after `resend_after`
without a confirmation, and the fleet's acks settle them in the journal (conflicts and refusals kept aside)."""

from __future__ import annotations

import json

import pytest

from firmware.clock import ManualClock
from firmware.contract import DeviceTopics, encode
from firmware.contract.mail import MailAcks
from firmware.contract.timeclock import PunchAcks
from firmware.fleet_records import new_mail_request, seal_punch
from firmware.journal import Journal
from firmware.sync.record_outbox import CONFLICT, RecordOutboxes, device_lanes

TOPICS = DeviceTopics("DEMO", "R1")


class Link:
    """The publish side of the MQTT link: what went out, by mid."""

    def __init__(self) -> None:
        self.sent: dict[int, tuple[str, dict]] = {}
        self.up = True

    def publish(self, topic: str, payload: bytes) -> int | None:
        if not self.up:
            return None
        mid = len(self.sent) + 1
        self.sent[mid] = (topic, json.loads(payload))
        return mid

    def ids(self, mids) -> list[str]:
        return [self.sent[m][1].get("punch_id") or self.sent[m][1]["request_id"] for m in mids]


@pytest.fixture
def journal(tmp_path):
    j = Journal.open(tmp_path / "data", store="DEMO", register="R1", clock=ManualClock())
    yield j
    j.close()


def punches(journal: Journal, n: int) -> list[dict]:
    out = []
    for i in range(n):
        body = {"store": "DEMO", "register": "R1", "clerk_id": "c1", "kind": ("clock_in", "clock_out")[i % 2],
                "at": f"2026-11-25T12:{i:02d}:00.000Z", "clock_trusted": True, "offline": True}
        doc, changes = seal_punch(journal.get_state("punch_head", "head"), body, journal.epoch)
        journal.put_states(changes)
        out.append(doc)
    return out


def mails(journal: Journal, n: int) -> list[dict]:
    out = []
    for i in range(n):
        doc, changes = new_mail_request(journal.get_state("mail_head", "head"), store="DEMO", register="R1",
                                        epoch=journal.epoch, receipt_id=f"DEMO:R1:{journal.epoch}:{i + 1}",
                                        address=f"c{i}@example.com", requested_at="2026-11-25T12:00:00.000Z",
                                        clerk_id="c1")
        journal.put_states(changes)
        out.append(doc)
    return out


def rig(journal):
    link, clock = Link(), ManualClock()
    outboxes = RecordOutboxes(device_lanes(TOPICS), journal, link.publish, clock.monotonic, resend_after=60,
                              retry_after=5)
    return link, clock, outboxes


def test_pending_records_go_out_in_seq_order_through_a_small_window_and_acks_settle_them(journal):
    sent = punches(journal, 12)  # past seq 9: "10" sorts before "9" as text; the lane orders by seq
    requests = mails(journal, 3)
    link, clock, out = rig(journal)
    assert out.fill() == 0  # offline: nothing is sent
    out.reset(live=True)
    assert out.fill() == 4  # two per lane
    assert link.ids([1, 2]) == [sent[0]["punch_id"], sent[1]["punch_id"]]
    assert [link.sent[m][0] for m in (1, 2, 3, 4)] == [TOPICS.punches] * 2 + [TOPICS.mail_requests] * 2
    assert link.sent[1][1] == sent[0]  # the punch exactly as journaled (the fleet checks its hash)
    assert out.fill() == 0  # the window is full
    for mid in list(link.sent):
        assert out.on_puback(mid, True, "")  # each PUBACK tops its lane up at once
    assert not out.on_puback(999, True, "")  # not a record's mid (a receipt's, the status')
    order = [link.sent[m][1].get("punch_id") for m in sorted(link.sent) if link.sent[m][0] == TOPICS.punches]
    assert order == [p["punch_id"] for p in sent[:len(order)]]

    acks = PunchAcks(punch_ids=[p["punch_id"] for p in sent[:3]], conflict_ids=[sent[3]["punch_id"]])
    assert out.on_acks(TOPICS.punch_acks, encode(acks), clock.now())
    assert sorted(journal.states("punch_pending")) == [f"{s:012d}" for s in range(5, 13)]
    assert journal.get_state("punch_conflict", "000000000004") == {"punch_id": sent[3]["punch_id"],
                                                                   "at": "2026-11-25T12:00:00.000Z"}
    assert len(journal.states("punch")) == 12  # the punches themselves stay: the time clock replays them
    assert out.on_acks(TOPICS.punch_acks, encode(acks), clock.now())  # the same ack again: nothing more to do
    assert len(journal.states("punch_pending")) == 8

    refused = {requests[1]["request_id"]: "receipt DEMO:R1:x:2 is not a receipt of store DEMO"}
    macks = MailAcks(request_ids=[requests[0]["request_id"], "DEMO:R2:abcd1234:1"], refused=refused)
    assert out.on_acks(TOPICS.mail_acks, encode(macks), clock.now())
    assert list(journal.states("mail_request")) == [requests[2]["request_id"]]
    done = journal.states("mail_done")
    assert done[requests[0]["request_id"]] == {"receipt_id": requests[0]["receipt_id"],
                                               "requested_at": "2026-11-25T12:00:00.000Z",
                                               "confirmed_at": "2026-11-25T12:00:00.000Z"}
    assert done[requests[1]["request_id"]]["refused"] == refused[requests[1]["request_id"]]
    assert done[requests[1]["request_id"]]["to"] == "c•••@example.com"  # masked, for the status page
    assert "address" not in json.dumps(done)  # the address goes with the request...
    assert not any(f"c{i}@" in json.dumps(done, ensure_ascii=False) for i in range(3))  # ...and is nowhere whole


def test_unconfirmed_records_go_again_on_a_new_connection_and_after_resend_after(journal):
    sent = punches(journal, 3)
    link, clock, out = rig(journal)
    out.reset(live=True)
    out.fill()
    for mid in (1, 2):
        out.on_puback(mid, True, "")
    assert link.ids(sorted(link.sent)) == [p["punch_id"] for p in sent]  # 1, 2, then 3 as a slot freed
    out.on_puback(3, False, "quota exceeded")  # the broker refused it: again after retry_after
    assert out.fill() == 0
    clock.advance(5)
    assert out.fill() == 1 and link.ids([4]) == [sent[2]["punch_id"]]
    out.on_puback(4, True, "")
    clock.advance(54)
    assert out.fill() == 0  # PUBACKed: the fleet has resend_after (a minute here) to confirm
    clock.advance(1)
    assert out.fill() == 2 and link.ids([5, 6]) == [p["punch_id"] for p in sent[:2]]  # not confirmed: again

    link.up = False
    out.reset(live=False)  # the link went down with two in flight
    assert out.fill() == 0
    link.up = True
    out.reset(live=True)  # a new connection: everything unconfirmed goes again, in order
    out.fill()
    assert link.ids([7, 8]) == [p["punch_id"] for p in sent[:2]]
    out.on_acks(TOPICS.punch_acks, encode(PunchAcks(punch_ids=[p["punch_id"] for p in sent])), clock.now())
    for mid in (7, 8):
        out.on_puback(mid, True, "")
    clock.advance(3600)
    assert out.fill() == 0 and journal.states("punch_pending") == {}

    more = punches(journal, 1)
    assert out.fill() == 0  # not told yet
    out.poke()  # the register journaled a punch
    assert out.fill() == 1 and link.ids([9]) == [more[0]["punch_id"]]


def test_an_ack_that_cannot_be_read_is_refused_whole_and_settles_nothing(journal):
    sent = punches(journal, 2)
    link, clock, out = rig(journal)
    for payload in (b"not json", b'{"punch_ids": "all"}', b'{"punch_ids": [], "conflict_ids": []}',
                    json.dumps({"punch_ids": [sent[0]["punch_id"]] * 1001}).encode(), b"x" * 70_000):
        assert not out.on_acks(TOPICS.punch_acks, payload, clock.now())
    assert not out.on_acks(TOPICS.mail_acks, b'{"request_ids": [1]}', clock.now())
    assert len(journal.states("punch_pending")) == 2
    # an ack naming a punch id of another epoch under the same seq is not this punch's
    other = sent[0]["punch_id"].rsplit(":", 2)[0] + ":0badc0de:1"
    assert out.on_acks(TOPICS.punch_acks, encode(PunchAcks(punch_ids=[other])), clock.now())
    assert len(journal.states("punch_pending")) == 2
    assert out.handles(TOPICS.punch_acks) and out.handles(TOPICS.mail_acks) and not out.handles(TOPICS.acks)
    assert CONFLICT
