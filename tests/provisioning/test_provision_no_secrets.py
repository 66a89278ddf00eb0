"""No PIN, broker password or private key in clear in outputs, logs, the data/journal dir, exports or bundles."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from firmware.config import load_config
from provisioning import configfile
from tests.provisioning.provision_journal import fill_journal

pytestmark = pytest.mark.slow  # kassa-provision processes against real brokers

PINS = ("482913", "77301")
PASSWORD = "Pw-0nly-In-Its-File"


def test_secrets_never_leak(prov, tmp_path: Path, stick: Path, mosquitto, caplog, test_ca):
    caplog.set_level(logging.DEBUG)
    cfg = tmp_path / "etc" / "kassa.toml"
    outputs = []

    def run(*args, **kw):
        result = prov(*args, **kw)
        outputs.append(result.output + result.stderr)
        return result

    assert run("init", "-c", cfg, "-n", "--store", "S001", "--register", "R1", "--broker", mosquitto.url,
               "--username", "S001-R1", "--password", PASSWORD, "--data-dir", tmp_path / "data").exit_code == 0
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "clerks.csv").write_text(f"clerk_id,name,role,pin\nc1,Ann,manager,{PINS[0]}\nc2,Bob,cashier,{PINS[1]}\n")
    (inputs / "bad-clerks.csv").write_text(f"clerk_id,name,role,pin\nc1,Ann,boss,{PINS[0]}x\n")
    (inputs / "cat.csv").write_text("sku,name,price,tax_code\nP1,Pencil,1.29,A\n")
    assert run("clerks", inputs / "bad-clerks.csv", "-c", cfg).exit_code == 2
    assert run("clerks", inputs / "clerks.csv", "-c", cfg).exit_code == 0
    assert run("catalog", inputs / "cat.csv", "-c", cfg).exit_code == 0
    fill_journal(cfg, 3, confirmed=1)
    assert run("selftest", "-c", cfg, "--scan-wait", "0", "--ack-timeout", "0.2").exit_code in (0, 1)
    assert run("status", "-c", cfg).exit_code == 0
    assert run("status", "-c", cfg, "--json").exit_code == 0
    assert run("export-pending", stick, "-c", cfg).exit_code == 0
    assert run("bundle", "export", stick / "b.json", "-c", cfg).exit_code == 0

    # A second device with a TLS key made on the device.
    (tmp_path / "ca.pem").write_bytes(test_ca[0])
    cfg2 = tmp_path / "etc2" / "kassa.toml"
    assert run("init", "-c", cfg2, "-n", "--store", "S001", "--register", "R2", "--broker", "mqtts://localhost:8883",
               "--tls-client-key", "--ca-file", tmp_path / "ca.pem", "--data-dir", tmp_path / "data2").exit_code == 0
    assert run("status", "-c", cfg2, "--no-probe").exit_code == 0
    key_file = load_config(cfg2).broker.key_file
    key_lines = [ln for ln in key_file.read_text().splitlines() if ln and not ln.startswith("-----")]

    secrets = [*PINS, PASSWORD, *key_lines, "PRIVATE KEY"]
    allowed = {load_config(cfg).broker.password_file, key_file, *inputs.iterdir()}
    haystacks = {f"output {i}": text for i, text in enumerate(outputs)}
    haystacks["log records"] = "\n".join(r.getMessage() for r in caplog.records)
    for path in [*tmp_path.rglob("*"), *stick.rglob("*")]:  # the stick is mounted outside tmp_path as root
        if path.is_file() and path not in allowed:
            haystacks[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any("journal" in name for name in haystacks) and any(name.endswith("b.json") for name in haystacks)
    leaks = [(where, s) for where, text in haystacks.items() for s in secrets if s in text]
    assert leaks == []
    assert configfile.secrets_dir(cfg).stat().st_mode & 0o027 == 0  # 0700, or 0750 root:kassa when kassa exists
