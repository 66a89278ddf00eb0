"""The status page counts unsent time clock punches and e-mail receipts and lists the e-mails the fleet refused
(address masked), with the real register and journal; the fleet's answer arrives as sync would apply it
(firmware/sync/record_outbox.py: `RecordOutboxes.on_acks` with a real `MailAcks` payload)."""

from __future__ import annotations

import pytest

from firmware.contract import DeviceTopics, encode
from firmware.contract.mail import MailAcks
from firmware.contract.timeclock import PunchAcks
from firmware.register.commands import MailReceipt, Punch
from firmware.register.records_status import RecordsStatus, refused_mails
from firmware.sync.record_outbox import RecordOutboxes, device_lanes
from tests.ui.conftest import PENCIL, log_in, scan_with_wedge, settle, start, tap
from ui.screens.status import StatusScreen
from ui.text import TEXT


def shown(text: str) -> bool:
    return any(text in key[0] for key in list(TEXT._items))


def fleet_answers(reg, clock, punch_acks: PunchAcks | None = None, mail_acks: MailAcks | None = None) -> None:
    topics = DeviceTopics(reg.config.device.store, reg.config.device.register)
    lanes = RecordOutboxes(device_lanes(topics), reg.journal, lambda topic, payload: None, lambda: 0.0)
    if punch_acks is not None:
        assert lanes.on_acks(topics.punch_acks, encode(punch_acks), clock.now())
    if mail_acks is not None:
        assert lanes.on_acks(topics.mail_acks, encode(mail_acks), clock.now())


@pytest.mark.slow
def test_unsent_punches_and_mails_are_counted_and_refused_mails_listed_masked(make_register, app_clock, tmp_path):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    receipts = []
    for _ in range(2):
        scan_with_wedge(app, PENCIL)
        tap(app, "pay")
        tap(app, "exact")
        settle(app, lambda: app.view.phase == "done")
        receipts.append(app.view.last_receipt.receipt_id)
        tap(app, "new_sale")
    tap(app, "bar:status")
    reg.refresh_outbox(force=True)
    app.step([])
    sync = app.view.sync
    assert (sync.punches_unsent, sync.mails_unsent, sync.mails_refused, sync.stock_unsent) == (0, 0, (), 2)
    assert StatusScreen.unsent_records(sync) == "Also unsent: 2 stock updates (safe here; they go once online)."

    assert reg.handle(Punch("break_start")).ok or reg.handle(Punch("clock_in")).ok
    assert reg.handle(MailReceipt(receipts[0], "anna.schmidt@example.com")).ok
    assert reg.handle(MailReceipt(receipts[1], "ben@example.org")).ok
    reg.wait_idle()
    reg.refresh_outbox(force=True)
    settle(app, lambda: (app.view.sync.punches_unsent, app.view.sync.mails_unsent) == (1, 2))
    app.step([])
    assert StatusScreen.unsent_records(app.view.sync) == ("Also unsent: 1 time clock punch, 2 e-mail receipts and "
                                                          "2 stock updates (safe here; they go once online).")
    assert shown("Also unsent: 1 time clock punch")  # (the rest on the next line)
    app.save(tmp_path / "status-unsent-records.png")

    requests = sorted(reg.journal.states("mail_request"))
    punch_id = next(iter(reg.journal.states("punch_pending").values()))["punch_id"]
    fleet_answers(reg, app_clock, PunchAcks(punch_ids=[punch_id]),
                  MailAcks(request_ids=[requests[1]], refused={requests[0]: "address refused by the mail server"}))
    reg.refresh_outbox(force=True)
    settle(app, lambda: app.view.sync.mails_refused != ())
    app.step([])
    sync = app.view.sync
    assert (sync.punches_unsent, sync.mails_unsent) == (0, 0)
    [refused] = sync.mails_refused
    assert (refused.request_id, refused.receipt_id, refused.to) == (requests[0], receipts[0], "a•••@example.com")
    seq = receipts[0].rsplit(":", 1)[1]
    assert StatusScreen.unsent_records(sync) == "Also unsent: 2 stock updates (safe here; they go once online)."
    assert shown("E-mails the fleet refused (1)")
    assert shown(f"E-mail of receipt #{seq} to a•••@example.com not sent")
    assert shown("The fleet did not accept the address")
    assert "anna.schmidt" not in repr(sync)  # the address is nowhere in the view, so never on screen whole
    app.save(tmp_path / "status-refused-mail.png")

    assert RecordsStatus(reg.journal).read() == (0, 0, sync.mails_refused, 2)  # as a restart reads them back


def test_refused_mails_newest_first_and_reasons_in_the_cashiers_words():
    done = {
        "S:R1:e:1": {"receipt_id": "S:R1:e:4", "requested_at": "2026-11-25T10:00:00.000Z", "confirmed_at": "x",
                     "refused": "receipt S:R1:e:4 is not a receipt of store S", "to": "b•••@example.org"},
        "S:R1:e:2": {"receipt_id": "S:R1:e:5", "requested_at": "2026-11-25T11:00:00.000Z", "confirmed_at": "x"},
        "S:R1:e:3": {"receipt_id": "S:R1:e:6", "requested_at": "2026-11-25T12:00:00.000Z", "confirmed_at": "x",
                     "refused": "payload rejected: bad thing"},
    }
    newest, oldest = refused_mails(done)
    assert (newest.request_id, oldest.request_id) == ("S:R1:e:3", "S:R1:e:1")
    assert StatusScreen.refused_mail(oldest) == (
        "E-mail of receipt #4 to b•••@example.org not sent",
        "The fleet does not know this receipt as one of this shop's (receipt S:R1:e:4 is not a receipt of store S)")
    assert StatusScreen.refused_mail(newest) == ("E-mail of receipt #6 to an address no longer kept not sent",
                                                 "The fleet refused it (payload rejected: bad thing)")
    assert len(refused_mails({f"k{i}": {"refused": "x", "requested_at": f"{i:03d}"} for i in range(30)})) == 20
