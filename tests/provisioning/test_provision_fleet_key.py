"""Pinning the fleet's signing key at provisioning (init --fleet-key, bundles), and the shared acceptance gate in
`kassa-provision catalog` / `clerks`; `kassa-provision` run as a real process for its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware.config import load_config
from firmware.contract.signing import Verifier, new_key_pair
from firmware.stores import catalog_store, clerk_store
from tests.contract.kassa_samples import CATALOG, CLERKS

pytestmark = pytest.mark.slow  # kassa-provision processes against real brokers

ROOT = Path(__file__).resolve().parents[2]


def provision(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from provisioning.cli import main; main()", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def init(config: Path, data: Path, *more: object) -> subprocess.CompletedProcess[str]:
    return provision("init", "-c", config, "-n", "--store", "S001", "--register", "R1", "--broker",
                     "mqtt://127.0.0.1:1883", "--username", "", "--data-dir", data, "--shop-name", "Shop",
                     "--currency", "EUR", *more)


@pytest.fixture
def fleet_key(tmp_path):
    private_pem, public_pem, fp = new_key_pair()
    (tmp_path / "fleet.key").write_bytes(private_pem)
    (tmp_path / "fleet.pub.pem").write_bytes(public_pem)
    return tmp_path / "fleet.pub.pem", tmp_path / "fleet.key", fp


def test_init_pins_the_fleet_key_next_to_the_config(tmp_path, fleet_key):
    public, _private, fp = fleet_key
    config_path = tmp_path / "etc" / "kassa.toml"
    done = init(config_path, tmp_path / "data", "--fleet-key", public)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SHA256:{fp}" in done.stdout
    config = load_config(config_path)
    assert config.broker.fleet_key_file == config_path.parent / "fleet-key.pem"
    assert config.broker.fleet_key_file.read_bytes() == public.read_bytes()
    verifier = Verifier.from_file(config.broker.fleet_key_file)
    assert verifier.pinned and verifier.fingerprints == [fp]
    # re-running init without --fleet-key keeps the pin
    again = init(config_path, tmp_path / "data")
    assert again.returncode == 0 and load_config(config_path).broker.fleet_key_file == config.broker.fleet_key_file


def test_init_refuses_anything_but_an_ed25519_public_key(tmp_path, fleet_key):
    _public, private, _fp = fleet_key
    rsa_pub = tmp_path / "rsa.pem"
    rsa_pub.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    both = tmp_path / "both.pem"
    both.write_bytes(private.read_bytes() + _public.read_bytes())
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    config_path = tmp_path / "etc" / "kassa.toml"
    for key, words in ((private, "holds a private key"), (rsa_pub, "not an Ed25519 key"), (both, "private key"),
                       (garbage, "no PEM public key"), (tmp_path / "missing.pem", "cannot read")):
        out = init(config_path, tmp_path / "data", "--fleet-key", key)
        assert out.returncode == 2, (key, out.stdout, out.stderr)
        assert words in " ".join((out.stdout + out.stderr).split()) and "Traceback" not in out.stderr
    assert not config_path.exists()  # nothing written


def test_a_bundle_carries_the_fleet_key_and_pins_it_on_the_next_register(tmp_path, fleet_key, stick):
    public, _private, fp = fleet_key
    first = tmp_path / "r1" / "kassa.toml"
    assert init(first, tmp_path / "d1", "--fleet-key", public).returncode == 0
    bundle = stick / "bundle.json"
    exported = provision("bundle", "export", bundle, "-c", first)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert json.loads(bundle.read_text())["broker"]["fleet_key_pem"] == public.read_text()
    second = tmp_path / "r2" / "kassa.toml"
    applied = provision("bundle", "apply", bundle, "--register", "R2", "--username", "", "-c", second,
                        "--data-dir", tmp_path / "d2", "-n", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert fp in applied.stdout  # shown to the technician before it is trusted
    assert Verifier.from_file(load_config(second).broker.fleet_key_file).fingerprints == [fp]


def test_kassa_provision_refuses_what_the_register_would_refuse(tmp_path):
    config_path = tmp_path / "etc" / "kassa.toml"
    data = tmp_path / "data"
    assert init(config_path, data).returncode == 0
    path = tmp_path / "doc.json"
    weak = {**CLERKS, "clerks": [{**c, "pin_hash": c["pin_hash"].replace("$16384$", "$2$", 1)}
                                 for c in CLERKS["clerks"]]}
    cases = [
        ("catalog", {**CATALOG, "version": 2**53}),
        ("catalog", {**CATALOG, "version": 10**4000}),
        ("catalog", {**CATALOG, "items": [], "quick_keys": []}),
        ("catalog", {**CATALOG, "tax_rates": {"A": "19.00"}}),  # B has no rate
        ("clerks", {**CLERKS, "version": 2**53}),
        ("clerks", weak),
    ]
    for kind, doc in cases:
        path.write_text(json.dumps(doc))
        out = provision(kind, path, "-c", config_path)
        assert out.returncode == 2, (kind, str(doc)[:80], out.stdout, out.stderr)
        assert "Traceback" not in out.stderr
    assert catalog_store(data).version == -1 and clerk_store(data).version == -1
    path.write_text(json.dumps(CATALOG))  # no tax_rates of its own: the shop's A and B apply
    ok = provision("catalog", path, "-c", config_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    path.write_text(json.dumps(CLERKS))
    assert provision("clerks", path, "-c", config_path).returncode == 0
    assert catalog_store(data).version == 3 and clerk_store(data).version == 2
