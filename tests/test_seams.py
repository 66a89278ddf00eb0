"""The register and the technician's tools share the data dir: what the register commits, kassa-provision reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.clock import ManualClock

pytestmark = pytest.mark.slow  # kassa-provision processes reading what a real register committed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PENCIL = "4006381333931"


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KASSA_PROVISION_ASSUME_SERVICE": "inactive"}
    return subprocess.run(
        [sys.executable, "-c", "from provisioning.cli import main; main()", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_receipts_the_register_commits_are_what_kassa_provision_counts_and_exports(tmp_path, stick):
    data = tmp_path / "data"
    config_file = tmp_path / "kassa.toml"
    config_file.write_text(
        f'[device]\nstore = "DEMO"\nregister = "R1"\ndata_dir = "{data}"\n'
        '[broker]\nurl = "mqtt://127.0.0.1:9"\n'
        '[hardware]\nscanner = "simulated:memory"\nprinter = "simulated"\ndrawer = "simulated"\nled = "simulated"\n'
    )
    pins = seed_demo(data)
    reg = bootstrap(
        demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"}),
        clock=ManualClock(),
        with_sync=False,
        demo_pins=pins,
    )
    try:
        assert reg.login("c1", "1111").ok
        for _ in range(2):
            reg.scan(PENCIL)
            reg.tender("cash", 200)
            reg.wait_idle()
            reg.new_sale()
        ids = [r["receipt_id"] for r in reg.journal.iter_receipts()]
    finally:
        reg.shutdown()
    status = provision("status", "--config", str(config_file), "--json", "--no-probe")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["pending"] == 2, info
    usb = stick  # a real mount as root (else the documented lab switch, inherited by the subprocess)
    export = provision("export-pending", str(usb), "--config", str(config_file))
    assert export.returncode == 0, export.stderr
    [receipts_json] = usb.glob("*-receipts.json")
    assert [r["receipt_id"] for r in json.loads(receipts_json.read_text())] == ids
