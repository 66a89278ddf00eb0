"""`reset` treats unsent time clock punches and e-mail requests as it treats unconfirmed receipts (a real journal):
refused while any was never exported (even with --force), refused without --force once exported, done with it;
`export-pending` writes them out next to the receipts."""

from __future__ import annotations

import json
from pathlib import Path

from firmware.clock import SystemClock
from firmware.config import load_config
from firmware.fleet_records import new_mail_request, seal_punch
from firmware.journal import Journal
from tests.provisioning.provision_journal import fill_journal


def journal_records(config_path: Path, punches: int, mails: int, confirm_punches: int = 0) -> None:
    """Seal `punches` punches (the first `confirm_punches` confirmed) and queue `mails` e-mail requests."""
    config = load_config(config_path)
    journal = Journal.open(config.device.data_dir, store="S001", register="R1", clock=SystemClock(), freeze_gc=False)
    for i in range(punches):
        body = {"store": "S001", "register": "R1", "clerk_id": "c1", "kind": "clock_in" if i % 2 == 0 else "clock_out",
                "at": f"2026-11-25T0{i}:00:00.000Z", "clock_trusted": True, "offline": True}
        _sealed, changes = seal_punch(journal.get_state("punch_head", "head"), body, journal.epoch)
        journal.put_states(changes if i >= confirm_punches else [c for c in changes if c[0] != "punch_pending"])
    for i in range(mails):
        _doc, changes = new_mail_request(journal.get_state("mail_head", "head"), store="S001", register="R1",
                                         epoch=journal.epoch, receipt_id=f"S001:R1:{journal.epoch}:1",
                                         address=f"c{i}@example.com", requested_at="2026-11-25T12:00:00.000Z",
                                         clerk_id="c1")
        journal.put_states(changes)
    journal.close()


def test_reset_refuses_unsent_punches_and_mails_until_exported_and_forced(prov, device: Path, stick: Path):
    fill_journal(device, 2, confirmed=2)  # every receipt confirmed: only the punches and e-mails hold it back
    journal_records(device, punches=3, mails=1, confirm_punches=1)
    data_dir = load_config(device).device.data_dir

    refused = prov("reset", "-c", device, "-y", "--force")
    assert refused.exit_code == 1, refused.output
    assert ("2 time clock punch(es) and 1 e-mail request(s) are not confirmed by the fleet and 2 time clock "
            "punch(es) and 1 e-mail request(s) of them were never exported") in refused.stderr
    assert "export-pending" in refused.stderr and "Traceback" not in refused.stderr
    assert (data_dir / "journal").is_dir() and not (data_dir / "archive").exists()

    exported = prov("export-pending", stick, "-c", device)
    assert exported.exit_code == 0, exported.stderr
    assert "3 unsent time clock punch(es) and e-mail request(s)" in " ".join(exported.output.split())
    [written] = stick.glob("*-punches-and-emails.json")
    doc = json.loads(written.read_text())
    assert [p["seq"] for p in doc["punches"]] == [2, 3] and all(p["hash"] for p in doc["punches"])
    assert [m["address"] for m in doc["mail_requests"]] == ["c0@example.com"]

    not_forced = prov("reset", "-c", device, "-y")
    assert not_forced.exit_code == 1
    assert "2 time clock punch(es) and 1 e-mail request(s) are exported but not confirmed" in not_forced.stderr
    assert "--force" in not_forced.stderr and (data_dir / "journal").is_dir()

    done = prov("reset", "-c", device, "-y", "--force")
    assert done.exit_code == 0, done.stderr
    assert "3 exported, unsent punch(es) and e-mail request(s) archived" in " ".join(done.output.split())
    [archive] = (data_dir / "archive").iterdir()
    kept = Journal.open(archive, store="S001", register="R1", clock=SystemClock(), create=False, freeze_gc=False)
    try:  # the archive still holds them
        assert len(kept.states("punch")) == 3 and len(kept.states("punch_pending")) == 2
        assert len(kept.states("mail_request")) == 1
    finally:
        kept.close()


def test_a_punch_or_mail_exported_before_it_was_made_still_holds_the_reset(prov, device: Path, stick: Path):
    fill_journal(device, 1, confirmed=1)
    journal_records(device, punches=1, mails=0)
    assert prov("export-pending", stick, "-c", device).exit_code == 0
    journal_records(device, punches=0, mails=1)  # queued after the export
    refused = prov("reset", "-c", device, "-y", "--force")
    assert refused.exit_code == 1
    assert "0 time clock" not in refused.stderr and "1 e-mail request(s) of them were never exported" in refused.stderr


def test_confirmed_punches_and_settled_mails_need_no_force(prov, device: Path):
    fill_journal(device, 1, confirmed=1)
    journal_records(device, punches=2, mails=0, confirm_punches=2)
    assert prov("reset", "-c", device, "-y").exit_code == 0
