"""`kassa-provision init`: config written atomically, valid for the firmware; secrets 0600; key + CSR on the device."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from firmware.config import load_config, read_secret

PASSWORD = "s3cret-broker-pw"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_with_flags_writes_a_config_the_firmware_accepts(device: Path, tmp_path: Path):
    config = load_config(device)
    assert (config.device.store, config.device.register) == ("S001", "R1")
    assert config.device.data_dir == tmp_path / "data" and config.device.data_dir.is_dir()
    assert config.broker.username == "S001-R1"
    assert config.shop.name == "Test shop"
    assert read_secret(config.broker.password_file, "broker password") == PASSWORD
    assert mode(config.broker.password_file) == 0o600
    assert mode(config.broker.password_file.parent) == 0o700
    assert PASSWORD not in device.read_text()
    assert not list(device.parent.glob(".*tmp*")), "no temp files left behind"


def test_init_prompts_with_defaults(prov, config_path: Path, tmp_path: Path):
    answers = (
        "\n".join(
            [
                "S002",
                "R7",
                "mqtt://broker.local:1883",
                "",
                "pw-typed",
                "pw-typed",
                str(tmp_path / "d"),
                "My shop",
                "chf",
            ]
        )
        + "\n"
    )
    result = prov("init", "-c", config_path, input=answers)
    assert result.exit_code == 0, result.output + result.stderr
    config = load_config(config_path)
    assert config.broker.username == "S002-R7"  # the default offered
    assert config.shop.currency == "CHF"
    assert read_secret(config.broker.password_file, "pw") == "pw-typed"
    assert "pw-typed" not in result.output


def test_rerun_keeps_what_is_not_given(prov, device: Path):
    result = prov("init", "-c", device, "-n", "--store", "S001", "--register", "R2", "--cash-rounding", "5")
    assert result.exit_code == 0, result.stderr
    config = load_config(device)
    assert config.device.register == "R2" and config.shop.cash_rounding == 5
    assert config.broker.username == "S001-R1" and config.shop.name == "Test shop"


def test_bad_identity_is_a_usage_error_and_changes_nothing(prov, device: Path):
    before = device.read_bytes()
    result = prov("init", "-c", device, "-n", "--store", "S 001", "--register", "R1")
    assert result.exit_code == 2
    assert "--store" in result.stderr and "letters, digits" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert device.read_bytes() == before


def test_bad_value_is_refused_before_writing(prov, device: Path):
    before = device.read_bytes()
    result = prov("init", "-c", device, "-n", "--store", "S001", "--register", "R1", "--cash-rounding", "500")
    assert result.exit_code == 2
    assert "shop.cash_rounding" in result.stderr
    assert device.read_bytes() == before


def test_user_without_password_names_the_fix(prov, config_path: Path):
    result = prov("init", "-c", config_path, "-n", "--store", "S1", "--register", "R1", "--username", "u")
    assert result.exit_code == 2 and "--password" in result.stderr
    assert not config_path.exists()


def test_tls_client_key_stays_on_device_and_csr_is_printed(prov, config_path: Path, tmp_path: Path, test_ca):
    ca_pem, _ca_key = test_ca
    ca_file = tmp_path / "fleet-ca.pem"
    ca_file.write_bytes(ca_pem)
    result = prov(
        "init",
        "-c",
        config_path,
        "-n",
        "--store",
        "S001",
        "--register",
        "R1",
        "--broker",
        "mqtts://localhost:8883",
        "--tls-client-key",
        "--ca-file",
        ca_file,
        "--data-dir",
        tmp_path / "data",
    )
    assert result.exit_code == 0, result.stderr
    config = load_config(config_path)
    assert mode(config.broker.key_file) == 0o600
    assert config.broker.ca_file.read_bytes() == ca_pem
    csr = x509.load_pem_x509_csr(Path(config_path.parent / "device.csr").read_bytes())
    assert csr.subject.rfc4514_string() == "O=S001,CN=S001-R1"
    assert "BEGIN CERTIFICATE REQUEST" in result.output
    assert "PRIVATE KEY" not in result.output
    key = serialization.load_pem_private_key(config.broker.key_file.read_bytes(), None)
    assert key.public_key().public_numbers() == csr.public_key().public_numbers()
    # Re-running keeps the key (the CA may already have signed it) unless --new-key.
    again = prov("init", "-c", config_path, "-n", "--store", "S001", "--register", "R1", "--tls-client-key")
    assert again.exit_code == 0 and config.broker.key_file.read_bytes() == key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_tls_client_key_needs_mqtts(prov, config_path: Path):
    result = prov(
        "init",
        "-c",
        config_path,
        "-n",
        "--store",
        "S1",
        "--register",
        "R1",
        "--broker",
        "mqtt://h:1883",
        "--tls-client-key",
    )
    assert result.exit_code == 2 and "mqtts://" in result.stderr


def test_install_cert_checks_key_and_ca(prov, config_path: Path, tmp_path: Path, test_ca, sign_csr):
    ca_pem, ca_key = test_ca
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    prov(
        "init",
        "-c",
        config_path,
        "-n",
        "--store",
        "S001",
        "--register",
        "R1",
        "--broker",
        "mqtts://localhost:8883",
        "--tls-client-key",
        "--ca-file",
        tmp_path / "ca.pem",
        "--data-dir",
        tmp_path / "data",
    )
    csr = (config_path.parent / "device.csr").read_bytes()
    good = tmp_path / "good.pem"
    good.write_bytes(sign_csr(csr, ca_pem, ca_key))
    result = prov("install-cert", good, "-c", config_path)
    assert result.exit_code == 0, result.stderr
    assert load_config(config_path).broker.cert_file.read_bytes() == good.read_bytes()

    from provisioning.tlskeys import new_key_and_csr

    _, other_csr = new_key_and_csr("S001-R9")
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(sign_csr(other_csr, ca_pem, ca_key))
    result = prov("install-cert", wrong, "-c", config_path)
    assert result.exit_code == 2 and "not for this device's key" in result.stderr


def test_ca_file_that_is_not_pem_is_refused(prov, config_path: Path, tmp_path: Path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("hello")
    result = prov("init", "-c", config_path, "-n", "--store", "S1", "--register", "R1", "--ca-file", bogus)
    assert result.exit_code == 2 and "PEM" in result.stderr
    assert not config_path.exists()
