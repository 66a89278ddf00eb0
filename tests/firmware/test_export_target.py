"""Where an export may write (issue 12, "Files"): a real folder on a mounted stick, never through a planted link,
never into the data dir or the journal. Every refusal leaves the would-be victim byte- and mode-identical."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from firmware.domain.receipt_model import Receipt
from firmware.exports import ALLOW_UNMOUNTED_ENV, ExportRefused, export_receipts, removable_device
from tests.contract.kassa_samples import make_chain
from tests.support.tmpfs import media_tmpfs, tiny_tmpfs

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
def mounted(monkeypatch):
    """A real tmpfs stick under /run/media (root only: this file tests the mount rule itself, so no lab switch)."""
    monkeypatch.delenv(ALLOW_UNMOUNTED_ENV, raising=False)
    with media_tmpfs("usb", "16m") as mount:
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
    # tmp_path sits on the root file system, or on a tmpfs when the fast lane runs with --basetemp=/dev/shm/...
    with pytest.raises(ExportRefused, match="not on a mounted USB stick|which is not a removable medium"):
        export(tmp_path / "usb", tmp_path / "data")
    assert not (tmp_path / "usb").exists()


def test_an_export_to_a_real_mounted_stick_works(mounted, tmp_path):
    assert os.path.ismount(mounted)
    result = export(mounted / "shop" / "november", tmp_path / "data")
    assert result.receipts == 2
    assert sorted(p.name for p in (mounted / "shop" / "november").iterdir()) == [f"{STEM}-lines.csv",
                                                                                  f"{STEM}-receipts.json"]
    assert {stat.S_IMODE(os.lstat(p).st_mode) for p in (result.lines_csv, result.receipts_json)} == {0o600}


# ---- the removable-medium rule: a mount elsewhere (a second disk, a tmpfs) is not a stick ------------------------


def test_a_mount_that_is_not_removable_and_not_under_media_is_refused(tmp_path, monkeypatch):
    """A real tmpfs mounted in the test's folder: mounted, on another device than the data dir, but no stick."""
    monkeypatch.delenv(ALLOW_UNMOUNTED_ENV, raising=False)
    with tiny_tmpfs(tmp_path / "disk2", "4m") as mount:
        with pytest.raises(ExportRefused, match="not a removable medium") as refused:
            export(mount / "exports", tmp_path / "data")
        assert "/media/usb" in str(refused.value)  # the fix
        assert list(mount.iterdir()) == []  # not even the folder was made
        monkeypatch.setenv(ALLOW_UNMOUNTED_ENV, "1")  # the documented lab switch drops the rule, and only it
        assert export(mount / "exports", tmp_path / "data").receipts == 2


def test_a_mount_under_run_media_is_accepted(mounted, tmp_path):
    assert str(mounted).startswith("/run/media/") and os.path.ismount(mounted)
    assert not removable_device(os.stat(mounted).st_dev)  # a tmpfs: accepted for where it is mounted
    assert export(mounted, tmp_path / "data").receipts == 2


def _fake_sysfs(root: Path, dev: str, device_path: str, *, removable: str | None, partition: bool) -> None:
    """/sys/dev/block/<dev> -> /sys/devices/<device_path>, as the kernel lays it out."""
    device = root / "devices" / device_path
    device.mkdir(parents=True)
    disk = device.parent if partition else device
    if partition:
        (device / "partition").write_text("1\n")
    if removable is not None:
        (disk / "removable").write_text(removable + "\n")
    (root / "dev" / "block").mkdir(parents=True, exist_ok=True)
    (root / "dev" / "block" / dev).symlink_to(device)


@pytest.mark.parametrize("device_path, removable, partition, expected", [
    # a USB stick's partition (removable = 0 on many sticks: the USB bus is what counts)
    ("pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sda/sda1", "0", True, True),
    # an SD card slot that says it is removable
    ("platform/fe340000.mmc/mmc_host/mmc1/mmc1:aaaa/block/mmcblk1", "1", False, True),
    # the Pi's own SD card, the system disk (not removable, not on USB)
    ("platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:0001/block/mmcblk0/mmcblk0p2", "0", True, False),
    # a second SATA/virtio disk
    ("pci0000:00/0000:00:02.0/virtio1/block/vdb", "0", False, False),
    # no removable attribute at all
    ("virtual/block/loop0", None, False, False),
])
def test_the_removable_rule_reads_sysfs(tmp_path, device_path, removable, partition, expected):
    dev = os.makedev(8, 1)
    _fake_sysfs(tmp_path / "sys", "8:1", device_path, removable=removable, partition=partition)
    assert removable_device(dev, sys_root=str(tmp_path / "sys")) is expected


def test_a_file_system_without_a_block_device_is_not_removable(tmp_path):
    with tiny_tmpfs(tmp_path / "t", "1m") as mount:
        assert removable_device(os.stat(mount).st_dev) is False  # the real /sys: tmpfs has no block device
