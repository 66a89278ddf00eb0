"""Where an export may write (issue 12, "Files"): a real folder on a mounted stick, never through a planted link,
never into the data dir or the journal. Every refusal leaves the would-be victim byte- and mode-identical."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from firmware.domain.receipt_model import Receipt
from firmware.exports import ALLOW_UNMOUNTED_ENV, ExportRefused, export_receipts
from tests.contract.kassa_samples import make_chain
from tests.support.tmpfs import tiny_tmpfs

STEM = "kassa-S001-R1-pending"


def victim(path: Path, data: bytes = b"sealed segment bytes\x00\x01" * 64, mode: int = 0o640) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = os.lstat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode), st.st_size


def export(directory: Path, data_dir: Path):
    return export_receipts(map(Receipt.from_doc, make_chain(2)), directory, STEM, data_dir=data_dir)


@pytest.fixture
def mounted(tmp_path, monkeypatch):
    """A real tmpfs stick (root only: this file tests the mount rule itself, so no lab switch)."""
    monkeypatch.delenv(ALLOW_UNMOUNTED_ENV, raising=False)
    with tiny_tmpfs(tmp_path / "usb", "16m") as mount:
        yield mount


@pytest.mark.parametrize("suffix", ["-lines.csv", "-receipts.json"])
def test_a_symlink_planted_at_an_export_file_name_is_refused_and_its_target_untouched(mounted, tmp_path, suffix):
    target = victim(tmp_path / "etc" / "shadow-like")
    before = fingerprint(target)
    (mounted / f"{STEM}{suffix}").symlink_to(target)
    with pytest.raises(ExportRefused, match="symbolic link"):
        export(mounted, tmp_path / "data")
    assert fingerprint(target) == before
    assert os.path.islink(mounted / f"{STEM}{suffix}")
    assert not [p for p in mounted.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind


def test_a_symlink_at_the_old_predictable_temp_name_is_never_followed(mounted, tmp_path):
    """The hole that truncated a sealed journal segment: the writer opened `.NAME.tmp-PID` with O_TRUNC, following a
    link planted there. Now temp names are random and created O_EXCL|O_NOFOLLOW; the export succeeds beside them."""
    segment = victim(tmp_path / "data" / "journal" / "seg-00000001.log")
    before = fingerprint(segment)
    for suffix in ("-lines.csv", "-receipts.json"):
        (mounted / f".{STEM}{suffix}.tmp-{os.getpid()}").symlink_to(segment)
    result = export(mounted, tmp_path / "data")
    assert result.receipts == 2 and fingerprint(segment) == before
    assert stat.S_IMODE(os.lstat(result.receipts_json).st_mode) == 0o600


def test_a_symlink_as_the_export_folder_is_refused(mounted, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (mounted / "exports").symlink_to(elsewhere)
    with pytest.raises(ExportRefused, match="symbolic link"):
        export(mounted / "exports", tmp_path / "data")
    assert list(elsewhere.iterdir()) == []


def test_a_symlink_on_the_stick_pointing_into_the_data_dir_is_refused(mounted, tmp_path):
    data = tmp_path / "data"
    segment = victim(data / "journal" / "seg-00000001.log")
    before = fingerprint(segment)
    (mounted / "a").mkdir()
    (mounted / "a" / "b").symlink_to(data / "journal")
    with pytest.raises(ExportRefused):
        export(mounted / "a" / "b" / "more", data)  # a link in the middle of the path: resolved, then refused
    assert sorted(p.name for p in (data / "journal").iterdir()) == ["seg-00000001.log"]
    assert fingerprint(segment) == before


@pytest.mark.parametrize("inside", ["", "journal", "exports"])
def test_an_export_into_the_data_dir_or_its_journal_is_refused_even_on_a_mounted_disk(mounted, inside):
    data = mounted / "data"  # the data dir on a mount of its own: the mount rule passes, the data-dir rule refuses
    segment = victim(data / "journal" / "seg-00000001.log")
    before = sorted(p.name for p in data.rglob("*"))
    with pytest.raises(ExportRefused, match="data dir"):
        export(data / inside if inside else data, data)
    assert sorted(p.name for p in data.rglob("*")) == before and fingerprint(segment)[2] == 64 * 22


def test_the_data_dir_rule_holds_with_the_lab_switch_on(tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOW_UNMOUNTED_ENV, "1")
    data = tmp_path / "data"
    (data / "journal").mkdir(parents=True)
    with pytest.raises(ExportRefused, match="data dir"):
        export(data / "journal", data)
    assert list((data / "journal").iterdir()) == []
    assert export(tmp_path / "lab", data).receipts == 2  # the switch drops only the mount rule


def test_a_folder_that_is_not_on_a_mounted_stick_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_UNMOUNTED_ENV, raising=False)
    with pytest.raises(ExportRefused, match="not on a mounted USB stick"):
        export(tmp_path / "usb", tmp_path / "data")
    assert not (tmp_path / "usb").exists()


def test_an_export_to_a_real_mounted_stick_works(mounted, tmp_path):
    assert os.path.ismount(mounted)
    result = export(mounted / "shop" / "november", tmp_path / "data")
    assert result.receipts == 2
    assert sorted(p.name for p in (mounted / "shop" / "november").iterdir()) == [f"{STEM}-lines.csv",
                                                                                  f"{STEM}-receipts.json"]
    assert {stat.S_IMODE(os.lstat(p).st_mode) for p in (result.lines_csv, result.receipts_json)} == {0o600}
