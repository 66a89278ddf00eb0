"""Fixtures for kassa-provision tests: run the CLI in-process with --config under tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisioning.cli import app
from tests.provisioning import provision_pki
from tests.provisioning.provision_pki import PEM  # noqa: F401  (re-exported for tests)

PASSWORD = "s3cret-broker-pw"


@pytest.fixture(scope="session")
def test_ca() -> tuple[bytes, bytes]:
    """(CA cert PEM, CA key PEM) of a fleet CA made for this test run."""
    return provision_pki.make_ca()


@pytest.fixture
def sign_csr():
    return provision_pki.sign_csr


@pytest.fixture
def prov() -> Callable[..., object]:
    """prov("init", "--store", ...) -> click Result (stdout and stderr kept apart)."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):  # noqa: A002
        result = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "etc" / "kassa.toml"


@pytest.fixture
def device(prov, config_path: Path, tmp_path: Path) -> Path:
    """A provisioned device S001/R1 (password auth, local broker URL); returns its config path."""
    result = prov(
        "init", "-c", config_path, "-n", "--store", "S001", "--register", "R1",
        "--broker", "mqtt://127.0.0.1:1883", "--username", "S001-R1", "--password", PASSWORD,
        "--data-dir", tmp_path / "data", "--shop-name", "Test shop", "--currency", "EUR",
    )
    assert result.exit_code == 0, result.output + result.stderr
    return config_path
