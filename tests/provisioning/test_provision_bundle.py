"""Bundles: exported from one register (no secrets), applied on another with its own id and credentials."""

from __future__ import annotations

import json
from pathlib import Path

from firmware.config import load_config, read_secret
from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Roster
from firmware.stores import catalog_store, clerk_store
from tests.provisioning.test_provision_imports import CLERKS, GOOD_CATALOG

PASSWORD = "s3cret-broker-pw"


def first_device(prov, device: Path, tmp_path: Path, test_ca, stick: Path) -> Path:
    (tmp_path / "cat.csv").write_text(GOOD_CATALOG)
    (tmp_path / "clerks.csv").write_text(CLERKS)
    (tmp_path / "ca.pem").write_bytes(test_ca[0])
    assert prov("catalog", tmp_path / "cat.csv", "-c", device).exit_code == 0
    assert prov("clerks", tmp_path / "clerks.csv", "-c", device).exit_code == 0
    assert prov("init", "-c", device, "-n", "--store", "S001", "--register", "R1", "--ca-file", tmp_path / "ca.pem",
                "--broker", "mqtts://broker.example:8883", "--cash-rounding", "5").exit_code == 0
    bundle = stick / "S001.kassa.json"  # a bundle is written like an export: onto a mounted stick
    result = prov("bundle", "export", bundle, "-c", device, "--with-hardware")
    assert result.exit_code == 0, result.stderr
    return bundle


def test_bundle_carries_shared_settings_but_no_secrets(prov, device: Path, tmp_path: Path, test_ca, stick: Path):
    bundle = first_device(prov, device, tmp_path, test_ca, stick)
    text = bundle.read_text()
    doc = json.loads(text)
    assert doc["format"] == "kassa-bundle/1" and doc["store"] == "S001"
    assert doc["broker"]["url"] == "mqtts://broker.example:8883" and "BEGIN CERTIFICATE" in doc["broker"]["ca_pem"]
    assert doc["shop"]["cash_rounding"] == 5 and doc["catalog"]["items"] and doc["clerks"]["clerks"]
    assert PASSWORD not in text and "username" not in doc["broker"] and "password_file" not in doc["broker"]
    assert "482913" not in text  # PINs only as hashes


def test_bundle_apply_provisions_another_register(prov, device: Path, tmp_path: Path, test_ca, stick: Path):
    bundle = first_device(prov, device, tmp_path, test_ca, stick)
    other = tmp_path / "r3" / "kassa.toml"
    result = prov("bundle", "apply", bundle, "--register", "R3", "-c", other, "-n", "--yes", "--password", "r3-pw",
                  "--data-dir", tmp_path / "r3data", "--printer", "tcp://10.0.0.9:9100")
    assert result.exit_code == 0, result.output + result.stderr
    config = load_config(other)
    assert (config.device.store, config.device.register) == ("S001", "R3")
    assert config.broker.username == "S001-R3" and read_secret(config.broker.password_file, "pw") == "r3-pw"
    assert config.broker.ca_file.read_bytes() == test_ca[0]
    assert config.shop.cash_rounding == 5 and config.hardware.printer == "tcp://10.0.0.9:9100"
    assert Catalog.from_payload(catalog_store(config.device.data_dir).load()).by_sku("P1").price == 129
    assert Roster.from_payload(clerk_store(config.device.data_dir).load()).authenticate("c1", "482913")
    again = prov("bundle", "apply", bundle, "--register", "R3", "-c", other, "-n", "--yes")
    assert again.exit_code == 0 and "kept the one held" in again.output


def test_bundle_apply_with_a_device_key_prints_a_csr(prov, device: Path, tmp_path: Path, test_ca, stick: Path):
    bundle = first_device(prov, device, tmp_path, test_ca, stick)
    other = tmp_path / "r4" / "kassa.toml"
    result = prov("bundle", "apply", bundle, "--register", "R4", "-c", other, "-n", "--yes", "--tls-client-key",
                  "--data-dir", tmp_path / "r4data")
    assert result.exit_code == 0, result.stderr
    assert "BEGIN CERTIFICATE REQUEST" in result.output and "PRIVATE KEY" not in result.output


def test_bad_bundles_are_refused_before_anything_is_written(prov, device: Path, tmp_path: Path, test_ca, stick: Path):
    bundle = first_device(prov, device, tmp_path, test_ca, stick)
    doc = json.loads(bundle.read_text())
    other = tmp_path / "r5" / "kassa.toml"
    doc["broker"]["password"] = "leaked"
    (tmp_path / "b1.json").write_text(json.dumps(doc))
    result = prov("bundle", "apply", tmp_path / "b1.json", "--register", "R5", "-c", other, "-n", "--password", "x")
    assert result.exit_code == 2 and "per-device secret" in result.stderr
    del doc["broker"]["password"]
    doc["catalog"]["items"][0]["price"] = "free"
    (tmp_path / "b2.json").write_text(json.dumps(doc))
    result = prov("bundle", "apply", tmp_path / "b2.json", "--register", "R5", "-c", other, "-n", "--password", "x")
    assert result.exit_code == 2 and "price" in result.stderr
    result = prov("bundle", "apply", tmp_path / "b1.json", "--register", "R 5", "-c", other, "-n", "--password", "x")
    assert result.exit_code == 2
    (tmp_path / "b3.json").write_text("{}")
    result = prov("bundle", "apply", tmp_path / "b3.json", "--register", "R5", "-c", other, "-n")
    assert result.exit_code == 2 and "bundle export" in result.stderr
    assert not other.exists()
