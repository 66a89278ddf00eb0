"""`selftest`: every device through hal's own self-tests, the broker, disk, journal and clock; exit 1 with fixes."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from firmware.config import load_config
from provisioning import configfile
from provisioning.selftest import run_selftest
from tests.provisioning.provision_journal import fill_journal
from tests.support.net import free_port

pytestmark = pytest.mark.slow  # kassa-provision processes against real brokers


def point_broker(device: Path, url: str) -> None:
    doc = configfile.read_raw(device)
    doc["broker"]["url"] = url
    configfile.write_config(device, doc)


def scan_when_asked(code: str = "4006381333931"):
    """An `announce` callback that 'scans' into the simulated pty scanner once asked to."""
    def announce(text: str) -> None:
        match = re.search(r"> (/dev/\S+)\)", text)
        assert match, text

        def scan() -> None:
            time.sleep(0.3)
            fd = os.open(match.group(1), os.O_WRONLY | os.O_NOCTTY)
            os.write(fd, code.encode() + b"\n")
            os.close(fd)
        threading.Thread(target=scan, daemon=True).start()
    return announce


def test_all_checks_on_simulated_hardware_and_a_real_broker(device: Path, mosquitto):
    point_broker(device, mosquitto.url)
    checks = run_selftest(load_config(device), scan_wait=5, ack_timeout=0.3, announce=scan_when_asked())
    by_name = {c.name: c for c in checks}
    for name in ("printer", "drawer", "led", "scanner", "broker connect", "broker publish", "disk"):
        assert by_name[name].ok is True, (name, by_name[name])
    assert "4006381333931" in by_name["scanner"].detail
    assert by_name["fleet ack"].ok is None  # no fleet answering here: reported, not failed
    assert by_name["journal"].ok is None  # no journal before the first start
    assert by_name["clock"].ok in (True, None) or "NTP" in by_name["clock"].detail
    rendered = load_config(device).device.data_dir / "selftest" / "receipts.txt"
    assert "PRINTER TEST" in rendered.read_text()


def test_cli_exit_0_and_table_when_everything_passes(prov, device: Path, mosquitto, monkeypatch):
    point_broker(device, mosquitto.url)
    result = prov(
        "selftest", "-c", device, "--scan-wait", "0", "--ack-timeout", "0.2", "--only", "hardware,broker,disk"
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "Self-test S001/R1" in result.output and "all checks passed" in result.output


def test_failures_exit_1_with_a_fix_each(prov, device: Path):
    point_broker(device, f"mqtt://127.0.0.1:{free_port()}")
    assert prov("hardware", "-c", device, "--no-detect", "--printer", f"tcp://127.0.0.1:{free_port()}").exit_code == 0
    result = prov("selftest", "-c", device, "--scan-wait", "0.2", "--only", "hardware,broker")
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "printer │ FAIL" in out and "check power, paper and cable" in out
    assert "scanner │ FAIL" in out and "No scan within 0.2 s" in out
    assert "broker connect │ FAIL" in out and "nothing listens at 127.0.0.1" in out
    assert "check(s) failed: printer, scanner, broker connect" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output + result.stderr


def test_journal_health_is_checked(device: Path):
    fill_journal(device, 3, confirmed=3)
    [check] = run_selftest(load_config(device), only={"journal"})
    assert check.ok is True and "3 receipts, 0 pending" in check.detail


def test_a_lost_journal_fails_the_selftest_and_says_do_not_reset(device: Path):
    import shutil

    fill_journal(device, 2)
    shutil.rmtree(load_config(device).device.data_dir / "journal")
    [check] = run_selftest(load_config(device), only={"journal"})
    assert check.ok is False and "do not reset" in check.fix


def test_unknown_part_is_a_usage_error(prov, device: Path):
    result = prov("selftest", "-c", device, "--only", "coffee")
    assert result.exit_code == 2 and "coffee" in result.output + result.stderr
