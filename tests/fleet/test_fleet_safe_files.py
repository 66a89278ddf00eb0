"""The fleet's own files go through the one safe writer (firmware.contract.atomicfile), and the ingest will not
send unsigned resend commands unless told to: `kassa-fleet` as real processes, real symlinks, a real Mosquitto."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.contract.signing import load_public_keys, parse_private_key
from tests.contract.kassa_samples import CATALOG as SAMPLE_CATALOG
from tests.fleet.kassa_fleet_support import ROOT, IngestProcess

pytestmark = pytest.mark.slow  # kassa-fleet processes

CATALOG = {**SAMPLE_CATALOG, "tax_rates": {"A": "19.00", "B": "7.00"}}


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KASSA_FLEET_SIGNING_KEY"}
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)


def victim(path: Path) -> Path:
    """An unrelated file a planted link points at (say /etc/shadow), 0640."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"root:$6$unrelated:19000:0:99999:7:::\n" * 8)
    path.chmod(0o640)
    return path


def state_of(path: Path) -> tuple[str, int, int]:
    st = os.lstat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode), st.st_size


def test_keygen_never_writes_through_a_link_planted_at_its_old_temp_name(tmp_path):
    target = victim(tmp_path / "etc" / "shadow")
    before = state_of(target)
    out = tmp_path / "keys"
    out.mkdir()
    (out / "fleet-signing.key.tmp").symlink_to(target)  # the name the old keygen opened with O_TRUNC
    made = fleet("keygen", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert state_of(target) == before  # not truncated, not chmodded 0600
    private, public = out / "fleet-signing.key", out / "fleet-signing.pub.pem"
    assert not private.is_symlink() and stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    parse_private_key(private.read_bytes())  # a real key was written
    assert load_public_keys(public.read_bytes())
    assert os.path.islink(out / "fleet-signing.key.tmp")  # left alone: never opened, never followed
    leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp") and p.name != "fleet-signing.key.tmp"]
    assert leftovers == []


@pytest.mark.parametrize("name", ["fleet-signing.key", "fleet-signing.pub.pem"])
def test_keygen_force_refuses_a_link_at_a_key_name(tmp_path, name):
    target = victim(tmp_path / "etc" / "shadow")
    before = state_of(target)
    out = tmp_path / "keys"
    out.mkdir()
    (out / name).symlink_to(target)
    made = fleet("keygen", "--out", str(out), "--force")
    assert made.returncode == 2, made.stdout + made.stderr
    assert "symbolic link" in made.stderr and "Traceback" not in made.stderr
    assert state_of(target) == before and os.path.islink(out / name)


def test_the_publish_state_file_never_writes_through_a_planted_temp_link(mosquitto, tmp_path):
    target = victim(tmp_path / "etc" / "shadow")
    before = state_of(target)
    state = tmp_path / "state" / "published.json"
    state.parent.mkdir()
    (state.parent / "published.json.tmp").symlink_to(target)  # the old record_version's fixed temp name
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    done = fleet("publish-catalog", str(path), "--store", "S001", "--broker", mosquitto.url, "--unsigned",
                 "--state-file", str(state))
    assert done.returncode == 0, done.stderr
    assert "could not record" not in done.stderr
    assert state_of(target) == before
    assert json.loads(state.read_text()) == {f"{mosquitto.url} kassa/v1/S001/catalog": CATALOG["version"]}
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    # a link at the state file itself is refused (a warning: the document was published), never followed
    state.unlink()
    state.symlink_to(target)
    path.write_text(json.dumps({**CATALOG, "version": CATALOG["version"] + 1}))
    again = fleet("publish-catalog", str(path), "--store", "S001", "--broker", mosquitto.url, "--unsigned",
                  "--state-file", str(state))
    assert again.returncode == 0 and "could not record the version" in again.stderr
    assert state_of(target) == before


def test_ingest_refuses_to_start_without_a_signing_key_unless_unsigned_is_given(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    common = ("ingest", "--broker", mosquitto.url, "--db", f"sqlite:///{db}")
    neither = fleet(*common)
    assert neither.returncode == 2, neither.stderr
    assert "--signing-key" in neither.stderr and "--unsigned" in neither.stderr
    assert "resend commands" in neither.stderr and "Traceback" not in neither.stderr
    assert not db.exists()  # refused before anything was opened
    key = tmp_path / "k.key"
    key.write_text("x")
    both = fleet(*common, "--signing-key", str(key), "--unsigned")
    assert both.returncode == 2 and "not both" in both.stderr and not db.exists()
    ingest = IngestProcess(mosquitto.url, db, tmp_path, client_id="ingest-unsigned", args=("--unsigned",)).start()
    assert ingest.stop() == 0 and db.exists()
