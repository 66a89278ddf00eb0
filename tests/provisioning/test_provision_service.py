"""`install-service --root`: the systemd unit and udev rules as systemd and udev will read them."""

from __future__ import annotations

import configparser
from pathlib import Path

from firmware.config import load_config


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment]
    parser.read_string(path.read_text())
    return parser


def test_unit_is_notify_with_watchdog_and_dedicated_user(prov, device: Path, tmp_path: Path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/group").write_text("dialout:x:20:\nlp:x:7:\nvideo:x:44:\n")
    result = prov("install-service", "-c", device, "--root", root, "--exec", "/opt/kassa/bin/kassa", "--watchdog", "20")
    assert result.exit_code == 0, result.stderr
    unit_path = root / "etc/systemd/system/kassa.service"
    svc = read_unit(unit_path)["Service"]
    assert svc["Type"] == "notify" and svc["WatchdogSec"] == "20" and svc["Restart"] == "always"
    assert svc["RestartPreventExitStatus"] == "2"  # a config error (exit 2) stays stopped instead of looping
    assert svc["User"] == "kassa" and svc["SupplementaryGroups"] == "dialout lp video"
    assert svc["ExecStart"] == f"/opt/kassa/bin/kassa run --config {device.resolve()}"
    assert svc["ReadWritePaths"] == str(load_config(device).device.data_dir)
    wants = root / "etc/systemd/system/multi-user.target.wants/kassa.service"
    assert wants.is_symlink() and str(wants.readlink()) == "/etc/systemd/system/kassa.service"


def test_udev_rules_ignore_scanner_for_modemmanager_and_open_printer(prov, device: Path, tmp_path: Path):
    root = tmp_path / "root"
    assert prov("hardware", "-c", device, "--printer", "usb://0x04b8:0x0202", "--no-detect").exit_code in (0,)
    result = prov("install-service", "-c", device, "--root", root, "--no-enable", "--scanner-id", "0C2E:0B61")
    assert result.exit_code == 0, result.stderr
    rules = (root / "etc/udev/rules.d/70-kassa.rules").read_text()
    assert 'KERNEL=="ttyACM*", ENV{ID_MM_DEVICE_IGNORE}="1"' in rules
    assert 'ATTR{idVendor}=="04b8", ATTR{idProduct}=="0202", GROUP="kassa", MODE="0660"' in rules
    assert 'ATTRS{idVendor}=="0c2e", ATTRS{idProduct}=="0b61", ENV{ID_MM_DEVICE_IGNORE}="1"' in rules
    assert not (root / "etc/systemd/system/multi-user.target.wants").exists()
    assert "not enabled" in result.output


def test_bad_scanner_id_is_refused(prov, device: Path, tmp_path: Path):
    result = prov("install-service", "-c", device, "--root", tmp_path / "r", "--scanner-id", "zebra")
    assert result.exit_code == 1 and "VID:PID" in result.stderr


def test_systemd_itself_accepts_the_unit(prov, device: Path, tmp_path: Path):
    """`systemd-analyze verify` (systemd's own parser) finds nothing to complain about; a broken copy it does."""
    import shutil
    import subprocess
    import sys

    root = tmp_path / "root"
    exe = shutil.which("kassa") or str(Path(sys.executable).with_name("kassa"))
    result = prov("install-service", "-c", device, "--root", root, "--exec", exe, "--no-enable")
    assert result.exit_code == 0, result.stderr
    unit = root / "etc/systemd/system/kassa.service"
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and "kassa.service" not in verify.stderr, verify.stderr
    broken = tmp_path / "kassa.service"
    broken.write_text(unit.read_text().replace("Type=notify", "Type=notifyy"))
    complaint = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "notifyy" in complaint.stderr
