"""Issue 12, "Permissions": who may read what kassa-provision and the register write, whatever the umask.

Real parts: the CLIs run as subprocesses (through the same `main()` as the installed commands) with the umask a
technician's shell might have, a real tmpfs stick, throwaway system users made with useradd and checked with
runuser, a real pty for the bundle prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provisioning.secretfiles import claim_data_dir
from tests.provisioning.provision_journal import fill_journal
from tests.support.users import run_as, throwaway_user

pytestmark = pytest.mark.slow  # kassa-provision processes against real brokers

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Perm-Test-pw-7781"
NO_SUCH_USER = "kassa-no-such-user"


def cli(module: str, *args: object, umask: int = 0o022, env: dict[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"from {module} import main; main()", *(str(a) for a in args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=stdin,
        env={**os.environ, "KASSA_PROVISION_ASSUME_SERVICE": "inactive", **(env or {})},
        preexec_fn=lambda: os.umask(umask),
    )


def provision(*args: object, **kw: object) -> subprocess.CompletedProcess[str]:
    return cli("provisioning.cli", *args, **kw)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def init_args(cfg: Path, data: Path, user: str) -> list[object]:
    return ["init", "-c", cfg, "-n", "--store", "S001", "--register", "R1", "--broker", "mqtt://127.0.0.1:1883",
            "--username", "S001-R1", "--data-dir", data, "--shop-name", "Perm shop", "--currency", "EUR",
            "--service-user", user]


@pytest.fixture
def open_base() -> Iterator[Path]:
    """A directory every user can walk through (tmp_path's parents are root-only 0700), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="kassa-perm-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- umask


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_what_kassa_provision_writes_is_private_whatever_the_umask(tmp_path, stick, umask):
    cfg, data = tmp_path / "etc" / "kassa.toml", tmp_path / "var" / "kassa"
    done = provision(*init_args(cfg, data, NO_SUCH_USER), umask=umask, env={"KASSA_BROKER_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    secrets = cfg.parent / "secrets"
    assert (mode(secrets), mode(secrets / "broker.pass")) == (0o700, 0o600)
    assert mode(data) == 0o700 and mode(data.parent) == 0o755
    assert (mode(cfg.parent), mode(cfg)) == (0o755, 0o644)  # no secret in it; the service user must read it

    (tmp_path / "clerks.csv").write_text("clerk_id,name,role,pin\nc1,Ann,manager,482913\n")
    (tmp_path / "cat.csv").write_text("sku,name,price,tax_code\nP1,Pencil,1.29,A\n")
    for kind, file in (("clerks", "clerks.csv"), ("catalog", "cat.csv")):
        done = provision(kind, tmp_path / file, "-c", cfg, umask=umask)
        assert done.returncode == 0, done.stderr
    assert (mode(data / "clerks.json"), mode(data / "catalog.json")) == (0o600, 0o600)  # PIN hashes

    fill_journal(cfg, 2)
    done = provision("export-pending", stick / "out", "-c", cfg, umask=umask)
    assert done.returncode == 0, done.stderr
    exported = sorted((stick / "out").iterdir())
    assert len(exported) == 2 and {mode(p) for p in exported} == {0o600} and mode(stick / "out") == 0o700
    assert mode(data / "exported.json") == 0o600


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_the_register_keeps_its_journal_log_and_clerks_private_whatever_the_umask(tmp_path, umask):
    data = tmp_path / "demo"
    done = cli("ui.cli", "demo", "--headless", "--seconds", "0.5", "--data-dir", data, "--broker", "mqtt://127.0.0.1:9",
               umask=umask, env={"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"})
    assert done.returncode == 0, done.stderr
    made = [data, *data.rglob("*")]
    names = {p.relative_to(data).as_posix() for p in made[1:]}
    assert {"journal", "kassa.log", "clerks.json", "catalog.json"} <= names
    assert any(n.startswith("journal/seg-") for n in names)
    loose = {p.relative_to(tmp_path).as_posix(): oct(mode(p)) for p in made
             if mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}


def test_the_unit_runs_the_register_with_umask_0077(prov, device: Path, tmp_path: Path):
    assert prov("install-service", "-c", device, "--root", tmp_path / "root", "--no-enable").exit_code == 0
    unit = (tmp_path / "root" / "etc/systemd/system/kassa.service").read_text()
    assert "\nUMask=0077\n" in unit


# ---------------------------------------------------------------- the service user and its secrets


def test_the_service_user_and_nobody_else_can_read_its_broker_password(open_base):
    cfg, data = open_base / "etc" / "kassa.toml", open_base / "data"
    with throwaway_user() as service, throwaway_user() as other:
        done = provision(*init_args(cfg, data, service), env={"KASSA_BROKER_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        secret = cfg.parent / "secrets" / "broker.pass"
        read = run_as(service, "cat", str(secret))
        assert read.returncode == 0 and read.stdout.strip() == PASSWORD, read.stderr
        assert run_as(service, "cat", str(cfg)).returncode == 0  # and its config
        denied = run_as(other, "cat", str(secret))
        assert denied.returncode != 0 and PASSWORD not in denied.stdout
        assert run_as(other, "ls", str(secret.parent)).returncode != 0
        ids = pwd.getpwnam(service)
        st = os.stat(secret.parent)
        assert (st.st_uid, st.st_gid, mode(secret.parent)) == (0, ids.pw_gid, 0o750)
        st = os.stat(data)
        assert (st.st_uid, mode(data)) == (ids.pw_uid, 0o700)
        assert run_as(service, "touch", str(data / "written-by-the-service")).returncode == 0
        assert run_as(other, "ls", str(data)).returncode != 0


def test_init_lets_the_service_user_into_secrets_an_older_init_left_root_only(open_base):
    cfg, data = open_base / "etc" / "kassa.toml", open_base / "data"
    done = provision(*init_args(cfg, data, NO_SUCH_USER), env={"KASSA_BROKER_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    secret = cfg.parent / "secrets" / "broker.pass"
    assert (os.stat(secret.parent).st_uid, mode(secret.parent), os.stat(secret).st_uid) == (0, 0o700, 0)
    with throwaway_user() as service:
        assert run_as(service, "cat", str(secret)).returncode != 0  # the field report: the service cannot start
        again = provision("init", "-c", cfg, "-n", "--store", "S001", "--register", "R1", "--service-user", service)
        assert again.returncode == 0, again.stderr
        read = run_as(service, "cat", str(secret))
        assert read.returncode == 0 and read.stdout.strip() == PASSWORD


# ---------------------------------------------------------------- data dirs that are not ours


def test_an_existing_directory_outside_the_data_root_is_never_handed_over(open_base):
    cfg = open_base / "etc" / "kassa.toml"
    existing = open_base / "srv"
    existing.mkdir()
    os.chmod(existing, 0o755)
    (existing / "unrelated").write_text("someone else's")
    before = os.stat(existing)
    with throwaway_user() as service:
        done = provision(*init_args(cfg, existing, service), env={"KASSA_BROKER_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        assert "left as they are" in " ".join(done.stdout.split()), done.stdout
        after = os.stat(existing)
        assert (after.st_uid, after.st_gid, mode(existing)) == (before.st_uid, before.st_gid, 0o755)
        fresh = open_base / "new" / "data"  # one that init makes is the service user's, 0700
        done = provision(*init_args(cfg, fresh, service))
        assert done.returncode == 0, done.stderr
        assert (os.stat(fresh).st_uid, mode(fresh)) == (pwd.getpwnam(service).pw_uid, 0o700)
        assert os.stat(fresh.parent).st_uid == 0 and mode(fresh.parent) == 0o755


def test_a_symlink_as_the_data_dir_is_not_followed_to_chown_its_target(tmp_path):
    with throwaway_user() as service:
        target = tmp_path / "etc-like"
        target.mkdir(mode=0o755)
        os.chmod(target, 0o755)
        (tmp_path / "data").symlink_to(target)
        warning = claim_data_dir(tmp_path / "data", service)
        assert warning and "left as they are" in warning
        assert (os.stat(target).st_uid, mode(target)) == (0, 0o755)


# ---------------------------------------------------------------- bundle apply asks first


def _bundle(tmp_path: Path, test_ca, data_dir: Path) -> Path:
    doc = {"format": "kassa-bundle/1", "store": "S001", "device": {"data_dir": str(data_dir)},
           "broker": {"url": "mqtts://broker.example:8883", "ca_pem": test_ca[0].decode("ascii")},
           "shop": {"name": "Bundle shop", "currency": "EUR"}, "policy": {}, "catalog": None, "clerks": None}
    path = tmp_path / "S001.kassa.json"
    path.write_text(json.dumps(doc))
    return path


def _ca_fingerprint(test_ca) -> str:
    der = x509.load_pem_x509_certificate(test_ca[0]).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def test_bundle_apply_without_yes_and_without_a_terminal_refuses_and_writes_nothing(tmp_path, test_ca):
    cfg, data = tmp_path / "r3" / "kassa.toml", tmp_path / "r3data"
    bundle = _bundle(tmp_path, test_ca, data)
    for extra in ([], ["-n"]):
        done = provision("bundle", "apply", bundle, "--register", "R3", "-c", cfg, "--password", "pw", *extra)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "--yes" in done.stderr and _ca_fingerprint(test_ca) in done.stdout
        assert not cfg.parent.exists() and not data.exists()
    done = provision("bundle", "apply", bundle, "--register", "R3", "-c", cfg, "--password", "pw", "-n", "--yes",
                     "--service-user", NO_SUCH_USER)
    assert done.returncode == 0, done.stderr
    assert _ca_fingerprint(test_ca) in done.stdout and cfg.exists() and mode(data) == 0o700


def test_bundle_apply_on_a_terminal_asks_and_a_no_changes_nothing(tmp_path, test_ca):
    cfg, data = tmp_path / "r3" / "kassa.toml", tmp_path / "r3data"
    bundle = _bundle(tmp_path, test_ca, data)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from provisioning.cli import main; main()", "bundle", "apply", str(bundle),
             "--register", "R3", "-c", str(cfg), "--password", "pw"],
            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**os.environ, "KASSA_PROVISION_ASSUME_SERVICE": "inactive", "COLUMNS": "200"})
        os.close(slave)
        seen = b""
        while b"apply the bundle?" not in seen:
            chunk = os.read(master, 4096)
            assert chunk, seen
            seen += chunk
        os.write(master, b"n\n")
        assert proc.wait(60) == 2
        try:
            while chunk := os.read(master, 4096):
                seen += chunk
        except OSError:  # EIO once the child has closed the pty
            pass
    finally:
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert _ca_fingerprint(test_ca) in text and "not confirmed; nothing was changed" in text
    assert not cfg.parent.exists() and not data.exists()


def test_a_bundle_naming_an_existing_foreign_data_dir_never_gets_it_chowned(tmp_path, open_base, test_ca):
    victim = open_base / "opt-app"
    victim.mkdir()
    os.chmod(victim, 0o751)
    before = os.stat(victim)
    bundle = _bundle(tmp_path, test_ca, victim)
    with throwaway_user() as service:
        done = provision("bundle", "apply", bundle, "--register", "R3", "-c", open_base / "etc" / "kassa.toml",
                         "--password", "pw", "-n", "--yes", "--service-user", service)
        assert done.returncode == 0, done.stderr
        said = " ".join(done.stdout.split())  # rich wraps long lines
        assert f"data dir {victim}" in said and "left as they are" in said, done.stdout
        after = os.stat(victim)
        assert (after.st_uid, after.st_gid, mode(victim)) == (before.st_uid, before.st_gid, 0o751)


def test_install_service_hands_over_secrets_made_before_the_user_existed(open_base):
    """The documented order is init, then install-service (which creates `kassa`): the secrets must follow."""
    from provisioning.secretfiles import hand_over_secrets

    cfg, data = open_base / "etc" / "kassa.toml", open_base / "data"
    done = provision(*init_args(cfg, data, NO_SUCH_USER), env={"KASSA_BROKER_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    secrets = cfg.parent / "secrets"
    elsewhere = open_base / "other.pass"  # a secret the config might name outside secrets/: not ours to hand over
    elsewhere.write_text("x")
    os.chmod(elsewhere, 0o600)
    with throwaway_user() as service, throwaway_user() as other:
        assert hand_over_secrets(secrets, [secrets / "broker.pass", secrets / "device.key", elsewhere], service) == []
        read = run_as(service, "cat", str(secrets / "broker.pass"))
        assert read.returncode == 0 and read.stdout.strip() == PASSWORD
        assert run_as(other, "cat", str(secrets / "broker.pass")).returncode != 0
        assert os.stat(elsewhere).st_uid == 0
