"""`status`, `export-pending` and `reset` against a real journal: counts, exports, and no receipt lost by a reset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from firmware.clock import SystemClock
from firmware.config import load_config
from firmware.journal import Journal
from tests.provisioning.provision_journal import fill_journal


def status_json(prov, device: Path) -> dict:
    result = prov("status", "-c", device, "--json", "--no-probe")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.output)


def test_status_counts_pending_delivered_and_confirmed(prov, device: Path):
    fill_journal(device, 6, delivered=1, confirmed=2)
    info = status_json(prov, device)
    assert (info["store"], info["register"], info["client_id"]) == ("S001", "R1", "kassa-S001-R1")
    assert (info["receipts"], info["pending"], info["delivered_unconfirmed"], info["confirmed"]) == (6, 3, 1, 2)
    assert info["quarantined"] == 0
    assert info["oldest_pending"] in ("just now", "1 min ago")
    assert info["free_disk_mib"] > 0 and info["journal_days_left"] is not None
    assert info["broker_auth"] == "password"
    table = prov("status", "-c", device, "--no-probe")
    assert table.exit_code == 0 and "pending" in table.output and "S001/R1" in table.output


def test_status_reads_a_snapshot_while_the_service_runs(prov, device: Path, monkeypatch):
    fill_journal(device, 3, confirmed=1)
    journal_dir = load_config(device).device.data_dir / "journal"
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in journal_dir.iterdir()}
    monkeypatch.setenv("KASSA_PROVISION_ASSUME_SERVICE", "active")
    info = status_json(prov, device)
    assert (info["receipts"], info["pending"], info["service"]) == (3, 2, "active")
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in journal_dir.iterdir()}
    assert after == before, "the live journal must not be written by the CLI"
    assert not list(journal_dir.parent.glob(".provision-snapshot-*"))


@pytest.mark.slow  # a real broker, probed with a timeout
def test_status_probe_reports_the_broker(prov, device: Path, mosquitto):
    from provisioning import configfile

    doc = configfile.read_raw(device)
    doc["broker"]["url"] = mosquitto.url
    configfile.write_config(device, doc)
    info = json.loads(prov("status", "-c", device, "--json").output)
    assert info["broker_reachable"] == "yes"
    assert info["online"].startswith("unknown")


def test_export_pending_writes_csv_and_json(prov, device: Path, stick: Path):
    ids = fill_journal(device, 5, delivered=1, confirmed=2)
    usb = stick
    result = prov("export-pending", usb, "-c", device)
    assert result.exit_code == 0, result.stderr
    assert "3 unconfirmed receipt(s) exported" in result.output and "exporting" in result.output
    [receipts_json] = usb.glob("*-receipts.json")
    assert [r["receipt_id"] for r in json.loads(receipts_json.read_text())] == ids[2:]
    [lines_csv] = usb.glob("*-lines.csv")
    rows = list(csv.DictReader(lines_csv.open()))
    assert {r["receipt_id"] for r in rows} == set(ids[2:])


def test_export_to_an_unwritable_place_names_the_fix(prov, device: Path, stick: Path):
    fill_journal(device, 1)
    blocker = stick / "file"
    blocker.write_text("x")
    result = prov("export-pending", blocker / "sub", "-c", device)
    assert result.exit_code == 2 and "USB stick" in result.stderr and "Traceback" not in result.stderr
    assert blocker.read_text() == "x"


def test_reset_refuses_unconfirmed_receipts_until_exported_and_forced(prov, device: Path, stick: Path):
    fill_journal(device, 4, confirmed=1)
    data_dir = load_config(device).device.data_dir
    refused = prov("reset", "-c", device, "-y", "--force")
    assert refused.exit_code == 1
    assert "3 receipt(s) are not confirmed" in refused.stderr and "export-pending" in refused.stderr
    assert (data_dir / "journal").is_dir()

    assert prov("export-pending", stick, "-c", device).exit_code == 0
    not_forced = prov("reset", "-c", device, "-y")
    assert not_forced.exit_code == 1 and "--force" in not_forced.stderr

    done = prov("reset", "-c", device, "-y", "--force")
    assert done.exit_code == 0, done.stderr
    [archive] = (data_dir / "archive").iterdir()
    assert (archive / "journal").is_dir() and (archive / ".kassa-hwm").exists()
    assert not (data_dir / "journal").exists()
    # The archive is a whole journal: it opens and still holds every receipt.
    kept = Journal.open(archive, store="S001", register="R1", clock=SystemClock(), create=False, freeze_gc=False)
    assert kept.next_seq == 5
    kept.close()
    # And the register starts a fresh journal (new epoch) instead of reporting it lost.
    fresh = Journal.open(data_dir, store="S001", register="R1", clock=SystemClock(), freeze_gc=False)
    assert fresh.next_seq == 1
    fresh.close()


def test_reset_with_everything_confirmed_needs_no_force(prov, device: Path):
    fill_journal(device, 2, confirmed=2)
    assert prov("reset", "-c", device, "-y").exit_code == 0


def test_reset_asks_for_confirmation(prov, device: Path):
    result = prov("reset", "-c", device, input="n\n")
    assert result.exit_code == 1 and "nothing was changed" in result.stderr


def test_reset_refuses_while_the_service_runs(prov, device: Path, monkeypatch):
    monkeypatch.setenv("KASSA_PROVISION_ASSUME_SERVICE", "active")
    result = prov("reset", "-c", device, "-y")
    assert result.exit_code == 1 and "systemctl stop kassa" in result.stderr


def test_reset_wipe_config_removes_secrets(prov, device: Path):
    config = load_config(device)
    assert prov("reset", "-c", device, "-y", "--wipe-config").exit_code == 0
    assert not device.exists() and not config.broker.password_file.exists()


@pytest.mark.parametrize("command", ["status", "export-pending", "selftest", "reset", "bundle"])
def test_every_command_has_help(prov, command):
    result = prov(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_export_by_date_range_includes_confirmed_receipts_of_those_days(prov, device: Path, stick: Path):
    from datetime import date, timedelta

    ids = fill_journal(device, 3, confirmed=3)
    today = date.today()
    out = stick / "acct"
    result = prov("export", out, "--from", str(today - timedelta(days=1)), "--to", str(today), "-c", device)
    assert result.exit_code == 0, result.stderr
    assert "3 receipt(s)" in result.output
    [receipts_json] = out.glob("*-receipts.json")
    assert [r["receipt_id"] for r in json.loads(receipts_json.read_text())] == ids
    none = prov("export", stick / "old", "--from", "2020-01-01", "--to", "2020-01-31", "-c", device)
    assert none.exit_code == 0 and "0 receipt(s)" in none.output


def test_export_with_a_bad_date_is_a_usage_error(prov, device: Path, tmp_path: Path):
    fill_journal(device, 1)
    result = prov("export", tmp_path / "x", "--from", "25.11.2026", "--to", "2026-11-26", "-c", device)
    assert result.exit_code == 2 and "2026-11-25" in result.stderr + result.output
