"""`kassa-provision` as real processes (exit codes as systemd and scripts see them) against the holes of issue 12:
one version-jump limit for imports, bundles and the fleet's publish-*; bundle export and export through the one
export-target rule, with real symlinks planted on a real tmpfs stick (mounted where sticks are mounted, as root).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware.contract.acceptance import MAX_VERSION_JUMP, VERSION_LIMIT, version_jump_problem
from firmware.stores import catalog_store, clerk_store
from tests.provisioning.provision_journal import fill_journal

pytestmark = pytest.mark.slow  # a kassa-provision process per step

ROOT = Path(__file__).resolve().parents[2]
_FOUND = shutil.which("kassa-provision", path=str(Path(sys.executable).parent))
PROVISION = [_FOUND] if _FOUND else [sys.executable, "-c", "from provisioning.cli import main; main()"]
HUGE = VERSION_LIMIT - 1  # 9007199254740991: the register's largest version, a typo away from a real one

CATALOG_CSV = "sku,name,price,tax_code\nP1,Pencil,1.29,A\n"
CLERKS_CSV = "clerk_id,name,role,pin\nm1,Mia,manager,48291375\n"


def provision(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROVISION, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def one_line(text: str) -> str:
    return " ".join(text.split())


def init(config: Path, data: Path, register: str = "R1") -> None:
    done = provision("init", "-c", config, "-n", "--store", "S001", "--register", register, "--broker",
                     "mqtt://127.0.0.1:1883", "--username", "", "--data-dir", data, "--shop-name", "Shop",
                     "--currency", "EUR")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def device(tmp_path: Path) -> Path:
    config = tmp_path / "etc" / "kassa.toml"
    init(config, tmp_path / "data")
    return config


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(os.lstat(path).st_mode)


def journal_files(data: Path) -> dict[str, tuple[str, int]]:
    return {p.name: fingerprint(p) for p in sorted((data / "journal").iterdir()) if p.is_file()}


# ---- 1. one version-jump limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, text, store", [("catalog", CATALOG_CSV, catalog_store),
                                               ("clerks", CLERKS_CSV, clerk_store)], ids=["catalog", "clerks"])
def test_an_import_jumping_the_version_beyond_the_limit_needs_force(device, tmp_path, kind, text, store):
    data = tmp_path / "data"
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    out = provision(kind, path, "-c", device, "--version", HUGE)
    assert out.returncode == 2, out.stdout + out.stderr
    # the gate's own message (the one kassa-fleet publish-* prints), naming the fix; nothing applied
    assert version_jump_problem(kind, HUGE, -1) in one_line(out.stderr)
    assert "--force" in out.stderr and "nothing was applied" in out.stderr and "Traceback" not in out.stderr
    assert store(data).version == -1
    assert provision(kind, path, "-c", device, "--version", 7).returncode == 0
    jump = provision(kind, path, "-c", device, "--version", 7 + MAX_VERSION_JUMP + 1)
    assert jump.returncode == 2 and "above the current version 7" in jump.stderr
    assert provision(kind, path, "-c", device, "--version", 7 + MAX_VERSION_JUMP).returncode == 0  # at the limit
    assert store(data).version == 7 + MAX_VERSION_JUMP
    forced = provision(kind, path, "-c", device, "--version", HUGE, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert store(data).version == HUGE


def test_a_json_catalog_carrying_a_huge_version_is_refused_too(device, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"version": HUGE, "currency": "EUR",
                                "items": [{"sku": "P1", "name": "Pencil", "price": 129, "tax_code": "A"}]}))
    out = provision("catalog", path, "-c", device)
    assert out.returncode == 2 and version_jump_problem("catalog", HUGE, None) in one_line(out.stderr)
    assert catalog_store(tmp_path / "data").version == -1


def test_a_bundle_jumping_the_version_is_refused_before_trust_is_asked_and_applies_with_force(device, tmp_path,
                                                                                            stick):
    cat = tmp_path / "cat.csv"
    cat.write_text(CATALOG_CSV)
    assert provision("catalog", cat, "-c", device, "--version", 3).returncode == 0
    bundle = stick / "S001.kassa.json"
    assert provision("bundle", "export", bundle, "-c", device).returncode == 0
    doc = json.loads(bundle.read_text())
    doc["catalog"]["version"] = 3 + MAX_VERSION_JUMP + 1
    edited = tmp_path / "edited.kassa.json"
    edited.write_text(json.dumps(doc))
    second, data2 = tmp_path / "r2" / "kassa.toml", tmp_path / "d2"
    args = ("bundle", "apply", edited, "--register", "R2", "--username", "", "-c", second, "--data-dir", data2, "-n")
    refused = provision(*args, "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert version_jump_problem("catalog", 3 + MAX_VERSION_JUMP + 1, -1) in one_line(refused.stderr)
    assert "nothing was written" in refused.stderr and "asks this device to trust" not in refused.stdout
    assert not second.exists() and not data2.exists()
    # over a register that already holds version 3, the same jump is only 1,000,001: still refused
    init(second, data2, "R2")
    assert provision("catalog", cat, "-c", second, "--version", 3).returncode == 0
    assert provision(*args, "--yes").returncode == 2 and catalog_store(data2).version == 3
    forced = provision(*args, "--yes", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert catalog_store(data2).version == 3 + MAX_VERSION_JUMP + 1


# ---- 2. bundle export: the export-target rule and the one safe writer --------------------------------------------


def test_bundle_export_through_a_planted_link_to_the_journal_is_refused_and_writes_nothing(device, tmp_path, stick):
    data = tmp_path / "data"
    fill_journal(device, 2)
    before = journal_files(data)
    (stick / "bundles").symlink_to(data / "journal")  # a folder on the stick that is really the journal
    out = provision("bundle", "export", stick / "bundles" / "S001.kassa.json", "-c", device)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "symbolic link" in out.stderr and "the bundle was not written" in out.stderr
    assert "Traceback" not in out.stderr
    assert journal_files(data) == before  # nothing new, nothing changed in the journal


def test_bundle_export_refuses_a_link_at_its_file_name_the_data_dir_and_a_folder_off_the_stick(device, tmp_path,
                                                                                             stick):
    data = tmp_path / "data"
    fill_journal(device, 1)
    before = journal_files(data)
    [segment] = [data / "journal" / n for n in before if n.startswith("seg-")][:1]
    (stick / "S001.kassa.json").symlink_to(segment)
    out = provision("bundle", "export", stick / "S001.kassa.json", "-c", device)
    assert out.returncode == 2 and "symbolic link" in out.stderr
    assert os.path.islink(stick / "S001.kassa.json") and journal_files(data) == before
    into_data = provision("bundle", "export", data / "journal" / "b.json", "-c", device)
    assert into_data.returncode == 2 and "data dir" in into_data.stderr
    off_stick = provision("bundle", "export", tmp_path / "b.json", "-c", device)
    assert off_stick.returncode == 2 and "USB stick" in off_stick.stderr
    assert journal_files(data) == before and not (tmp_path / "b.json").exists()
    good = provision("bundle", "export", stick / "shop" / "S001.kassa.json", "-c", device)
    assert good.returncode == 0, good.stdout + good.stderr
    assert stat.S_IMODE(os.lstat(stick / "shop" / "S001.kassa.json").st_mode) == 0o600


# ---- 6. kassa-provision export with links planted on the stick ---------------------------------------------------


def test_kassa_provision_export_refuses_links_planted_on_the_stick(device, tmp_path, stick):
    data = tmp_path / "data"
    fill_journal(device, 3)
    before = journal_files(data)
    segments = [data / "journal" / n for n in before if n.startswith("seg-")]
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    stem = f"kassa-S001-R1-{day.replace('-', '')}-{day.replace('-', '')}"
    # a link at an export's file name, and the old writer's predictable temp name
    (stick / f"{stem}-lines.csv").symlink_to(segments[0])
    (stick / f".{stem}-receipts.json.tmp-1234").symlink_to(segments[-1])
    out = provision("export", stick, "--from", day, "--to", day, "-c", device)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "symbolic link" in out.stderr and "nothing was exported" in out.stderr and "Traceback" not in out.stderr
    assert journal_files(data) == before
    # a folder on the stick that is a link into the data dir
    (stick / "accounts").symlink_to(data)
    out = provision("export", stick / "accounts" / "2026", "--from", day, "--to", day, "-c", device)
    assert out.returncode == 2 and "symbolic link" in out.stderr
    assert journal_files(data) == before and not (data / "2026").exists()
    # a clean folder on the same stick works
    good = provision("export", stick / "clean", "--from", day, "--to", day, "-c", device)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "3 receipt(s)" in good.stdout
    assert len(json.loads((stick / "clean" / f"{stem}-receipts.json").read_text())) == 3
