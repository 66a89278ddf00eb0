"""Config and hardware-setup errors as systemd meets them: real `kassa run` / `kassa-provision` processes exit 2
(the unit's RestartPreventExitStatus) with the key and the fix on stderr, never a traceback; and an import with
bad rows reports every one of them, with its line, in one list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.stores import catalog_store

pytestmark = pytest.mark.slow  # a kassa process per case


def _command(name: str, module: str) -> list[str]:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    return [found] if found else [sys.executable, "-c", f"from {module} import main; main()"]


KASSA = _command("kassa", "ui.cli")
PROVISION = _command("kassa-provision", "provisioning.cli")
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "GPIOZERO_PIN_FACTORY": "mock"}


def run(cmd: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=90, env=env or ENV)


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "kassa.toml"
    path.write_text(f'[device]\nstore = "S001"\nregister = "R1"\ndata_dir = "{tmp_path / "data"}"\n'
                    f'[broker]\nurl = "mqtt://127.0.0.1:9"\n{extra}')
    return path


def assert_config_exit(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    for word in words:
        assert word in out.stderr, (word, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout


def test_session_expiry_beyond_mqtt_stops_kassa_run_with_exit_2_naming_the_key(tmp_path):
    path = config(tmp_path, f"session_expiry = {2**40}\n")
    assert_config_exit(run(KASSA, "run", "--headless", "--config", path), "broker.session_expiry", "4294967295")
    assert not (tmp_path / "data" / "journal").exists()  # refused before anything was opened


def test_a_bad_hardware_url_stops_kassa_run_with_exit_2_the_key_and_a_valid_example(tmp_path):
    path = config(tmp_path, '[hardware]\nprinter = "usb://epson"\n')
    assert_config_exit(run(KASSA, "run", "--headless", "--config", path),
                       "hardware.printer", 'Example: hardware.printer = "usb://0x04b8:0x0202"')


def test_hardware_that_cannot_be_set_up_here_exits_2_and_closes_what_was_built(tmp_path):
    """The URL is fine but this machine has no such GPIO: a restart would not help, so exit 2, not a loop.

    The simulated scanner (a pty and a thread) and the printer worker were already built; the process
    still ends promptly, so they were closed.
    """
    path = config(tmp_path, '[hardware]\nscanner = "simulated"\nled = "gpio:22"\n')
    out = run(KASSA, "run", "--headless", "--config", path, env={**ENV, "GPIOZERO_PIN_FACTORY": "no-such-factory"})
    assert_config_exit(out, "hardware.led", "gpio:22", "Example: hardware.led =")


@pytest.mark.parametrize("prefix", ["kassa/#", "kassa/+/v1", "#"])
def test_a_wildcard_prefix_stops_kassa_run_with_exit_2_naming_the_key(tmp_path, prefix):
    """A prefix with MQTT wildcards would subscribe the register to other registers' topics: refused at start-up,
    before the journal is opened, and not restarted by systemd (exit 2, RestartPreventExitStatus)."""
    path = config(tmp_path, f'prefix = "{prefix}"\n')
    assert_config_exit(run(KASSA, "run", "--headless", "--config", path), "broker.prefix", "wildcards")
    assert not (tmp_path / "data" / "journal").exists()


def test_provision_refuses_a_bad_config_with_exit_2_naming_the_key(tmp_path):
    path = config(tmp_path, 'prefix = "kassa/#"\n')
    csv = tmp_path / "c.csv"
    csv.write_text("sku,name,price,tax_code\nP1,Pencil,1.29,A\n")
    assert_config_exit(run(PROVISION, "catalog", csv, "-c", path), "broker.prefix", "wildcards")


def test_tax_rate_that_is_not_a_number_is_refused_by_kassa_run(tmp_path):
    path = config(tmp_path, '[shop]\ntax_rates = { A = "abc" }\n')
    assert_config_exit(run(KASSA, "run", "--headless", "--config", path), "shop.tax_rates", "'abc'")


# ---- imports: one report with every bad row ----------------------------------------------------------

CATALOG = """sku,name,price,tax_code,barcodes
P1,Pencil,1.29,A,4006381333931
P2,Gold bar,99999999999.99,A,
P3,Pen,2.00,A,
P4,Ink,3.00,A,4006381333932
"""


def table_rows(stdout: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in stdout.splitlines() if line.startswith("│")]


def test_out_of_range_price_and_bad_barcode_are_reported_together_with_their_lines(tmp_path):
    path = config(tmp_path)
    csv = tmp_path / "catalog.csv"
    csv.write_text(CATALOG)
    out = run(PROVISION, "catalog", csv, "-c", path)
    assert_config_exit(out, "2 problem(s); nothing was applied")
    rows = table_rows(out.stdout)
    assert [row[:2] for row in rows if row[0]] == [["line 3", "price"], ["line 5", "barcodes"]], out.stdout
    assert "too large; at most 10000000000.00" in out.stdout and "99999999999.99" in out.stdout
    assert "check digit" in out.stdout
    assert "Input should be" not in out.stdout + out.stderr  # readable words, not pydantic's
    assert catalog_store(tmp_path / "data").load() is None
    csv.write_text(CATALOG.replace("99999999999.99", "9.99").replace("4006381333932", "4006381333931 "))
    out = run(PROVISION, "catalog", csv, "-c", path)
    assert out.returncode == 2 and [r[:2] for r in table_rows(out.stdout) if r[0]] == [["line 5", "barcodes"]]
    csv.write_text(CATALOG.replace("99999999999.99", "9.99").replace("4006381333932", ""))
    out = run(PROVISION, "catalog", csv, "-c", path)
    assert out.returncode == 0, out.stderr
    assert catalog_store(tmp_path / "data").load()["items"][1]["price"] == 999


def test_clerk_rows_report_range_errors_with_the_others_and_never_the_pin(tmp_path):
    path = config(tmp_path)
    csv = tmp_path / "clerks.csv"
    long_name = "N" * 201
    csv.write_text(f"clerk_id,name,role,pin\nm1,Mia,manager,48291375\nc2,{long_name},cashier,77\nc3,Cy,chief,9988\n")
    out = run(PROVISION, "clerks", csv, "-c", path)
    assert_config_exit(out, "3 problem(s)")
    rows = [row for row in table_rows(out.stdout) if row[0]]
    assert [row[:2] for row in rows] == [["line 3", "pin"], ["line 3", "name"], ["line 4", "role"]], out.stdout
    assert "longer than 200 characters" in out.stdout and rows[2][3] == "chief"
    assert rows[0][3] == ""  # the value of a PIN is never shown
    assert "48291375" not in out.stdout + out.stderr


def test_json_catalog_range_errors_name_the_entry(tmp_path):
    path = config(tmp_path)
    doc = {"version": 2, "currency": "EUR", "items": [
        {"sku": "A1", "name": "Fine", "price": 100, "tax_code": "A"},
        {"sku": "B2", "name": "Dear", "price": 10**13, "tax_code": "A", "barcodes": ["96385074"] * 21}]}
    file = tmp_path / "c.json"
    file.write_text(json.dumps(doc))
    out = run(PROVISION, "catalog", file, "-c", path)
    assert_config_exit(out)
    rows = [row[:2] for row in table_rows(out.stdout) if row[0]]
    assert ["items[1]", "price"] in rows and ["items[1]", "barcodes"] in rows
    assert not any(r[0] == "items[0]" for r in rows)


@pytest.mark.parametrize("version", ["0", "-3"])
def test_a_version_the_register_would_refuse_is_reported_in_the_list(tmp_path, version):
    path = config(tmp_path)
    csv = tmp_path / "c.csv"
    csv.write_text("sku,name,price,tax_code\nP1,Pencil,1.29,A\n")
    out = run(PROVISION, "catalog", csv, "-c", path, "--version", version, "--force")
    assert_config_exit(out)
    assert ["file", "version"] in [row[:2] for row in table_rows(out.stdout)]
