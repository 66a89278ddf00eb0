"""The contract passes third-party tools as they are: the AsyncAPI reference parser and Ajv 2020 strict.

`tools/contract-check/check.mjs` (node) runs both; these tests run it on the checked-in contract and on
broken copies (so the checker is seen to fail), and check the generator's portable output in Python.
Without node the node tests skip on a developer's machine and fail under CI=true (.ci/run installs node).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from firmware.contract import payloads
from firmware.contract.schemas import MODELS, SCHEMA_DIR, generate, portable, render

pytestmark = pytest.mark.slow  # node: the AsyncAPI parser and Ajv in a subprocess

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "contract-check"
ASYNCAPI = SCHEMA_DIR.parent / "asyncapi.yaml"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}; CI must run the contract checker (.ci/run installs nodejs and npm, then `npm ci`)")
    pytest.skip(f"{why} (CI=true makes this a failure)")


@pytest.fixture(scope="module")
def contract_check():
    """Runs check.mjs on a contract folder; installs the pinned node packages first if they are missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        _unavailable("node is not installed")
    if not (CHECKER / "node_modules" / "@asyncapi" / "parser").is_dir():
        if npm is None:
            _unavailable("npm is not installed and tools/contract-check/node_modules is missing")
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=CHECKER, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"npm ci in tools/contract-check failed:\n{done.stdout}\n{done.stderr}"

    def run(contract_dir: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([node, str(CHECKER / "check.mjs"), str(contract_dir)],
                              capture_output=True, text=True, timeout=300)
    return run


def _copy_contract(tmp_path: Path) -> Path:
    """The asyncapi.yaml and schemas/ of the working tree, in a folder a test may break."""
    dest = tmp_path / "contract"
    shutil.copytree(SCHEMA_DIR, dest / "schemas")
    shutil.copy(ASYNCAPI, dest / "asyncapi.yaml")
    return dest


def test_checked_in_contract_passes_the_asyncapi_parser_and_ajv_strict(contract_check):
    done = contract_check(SCHEMA_DIR.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"asyncapi.yaml parses ({len(MODELS)} messages" in done.stdout
    assert f"{len(MODELS)} schemas compile with Ajv 2020 strict" in done.stdout


def test_checker_rejects_pydantics_raw_discriminator_and_an_untyped_min_items(contract_check, tmp_path):
    contract = _copy_contract(tmp_path)
    raw_command = {"$schema": "https://json-schema.org/draft/2020-12/schema", **payloads.COMMAND_ADAPTER.json_schema()}
    assert "discriminator" in raw_command  # what the generator has to drop
    (contract / "schemas" / "command.json").write_text(json.dumps(raw_command))
    acks = json.loads((contract / "schemas" / "acks.json").read_text())
    acks["anyOf"][0] = {"properties": {"receipt_ids": {"minItems": 1}}}  # as payloads.py first wrote it
    (contract / "schemas" / "acks.json").write_text(json.dumps(acks))

    done = contract_check(contract)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'ajv: command.json: strict mode: unknown keyword: "discriminator"' in done.stderr
    assert 'ajv: acks.json: strict mode: missing type "array" for keyword "minItems"' in done.stderr
    # the payload schemas are compiled through the AsyncAPI parser too, not only file by file
    assert "asyncapi (parser+2020): error" in done.stderr and "/payload/schema: strict mode" in done.stderr


def test_checker_rejects_a_message_that_does_not_declare_its_schema_format(contract_check, tmp_path):
    contract = _copy_contract(tmp_path)
    doc = yaml.safe_load((contract / "asyncapi.yaml").read_text())
    doc["components"]["messages"]["command"]["payload"] = {"$ref": "./schemas/command.json"}
    (contract / "asyncapi.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

    done = contract_check(contract)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{len(MODELS)} messages but {len(MODELS) - 1} payloads declared as {SCHEMA_FORMAT}" in done.stderr


def test_every_message_payload_declares_json_schema_2020_12_and_names_its_file():
    doc = yaml.safe_load(ASYNCAPI.read_text())
    messages = doc["components"]["messages"]
    assert set(messages) == set(MODELS)
    for name, message in messages.items():
        payload = message["payload"]
        assert payload["schemaFormat"] == SCHEMA_FORMAT, name
        assert (ASYNCAPI.parent / payload["schema"]["$ref"]).resolve() == (SCHEMA_DIR / f"{name}.json").resolve()
        assert json.loads((SCHEMA_DIR / f"{name}.json").read_text())["$schema"].endswith("/draft/2020-12/schema")


def _keys(node, found=None):
    found = set() if found is None else found
    if isinstance(node, dict):
        found.update(node)
        for value in node.values():
            _keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _keys(value, found)
    return found


def test_generated_command_schema_has_no_discriminator_and_still_tells_commands_apart():
    schema = generate("command")
    assert "discriminator" not in _keys(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"command_id": "c1", "command": "resend", "args": {"from_seq": 3, "to_seq": 9}})
    assert validator.is_valid({"command_id": "c1", "command": "sync_now"})
    assert not validator.is_valid({"command_id": "c1", "command": "open_drawer", "args": {}})
    assert not validator.is_valid({"command_id": "c1", "command": "report", "args": {"from_seq": 3, "to_seq": 9}})
    assert not validator.is_valid({"command_id": "c1", "command": "resend", "args": {"kind": "z"}})


class _Newer(BaseModel):
    """A payload as a later contract might add it: optional fields and a say-something rule in the schema."""

    model_config = ConfigDict(strict=True, extra="allow", json_schema_extra={
        "anyOf": [{"properties": {"ids": {"minItems": 1}}}, {"required": ["note"]}, {"required": ["head"]}]})
    ids: list[str] = Field(max_length=10)
    note: str | None = None
    head: int | None = None
    kind: payloads.SyncNowCommand | payloads.ReportCommand | None = Field(default=None, discriminator="command")


def test_portable_makes_a_new_models_schema_strict_clean_without_changing_what_it_accepts():
    raw = _Newer.model_json_schema()
    out = portable(raw)
    assert out["anyOf"][0] == {"properties": {"ids": {"minItems": 1, "type": "array"}}}
    assert out["anyOf"][1] == {"properties": {"note": {}}, "required": ["note"]}
    assert "discriminator" in _keys(raw) and "discriminator" not in _keys(out)
    assert raw["anyOf"][0] == {"properties": {"ids": {"minItems": 1}}}  # the model's own schema is left alone
    before, after = jsonschema.Draft202012Validator(raw), jsonschema.Draft202012Validator(out)
    docs = [{"ids": ["a"]}, {"ids": []}, {"ids": [], "note": "x"}, {"ids": [], "note": None}, {"ids": [], "head": 3},
            {"ids": "a"}, {"note": "x"}, {"ids": [1]},
            {"ids": ["a"], "kind": {"command_id": "c", "command": "sync_now"}},
            {"ids": ["a"], "kind": {"command_id": "c", "command": "report", "args": {"kind": "q"}}},
            {"ids": ["a"], "kind": {"command_id": "c", "command": "resend", "args": {}}}]
    assert [before.is_valid(d) for d in docs] == [after.is_valid(d) for d in docs]
    assert [after.is_valid(d) for d in docs] == [True, False, True, True, True, False, False, False, True, False, False]


def test_schemas_render_the_same_under_another_hash_seed():
    script = ("import json; from firmware.contract.schemas import MODELS, render; "
              "print(json.dumps({name: render(name) for name in MODELS}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout) == {name: render(name) for name in MODELS}


def test_check_mode_names_a_stale_schema_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from firmware.contract import schemas

    for name in MODELS:
        (tmp_path / f"{name}.json").write_text(render(name))
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path)
    assert schemas.main(["--check"]) == 0
    (tmp_path / "acks.json").write_text(render("acks").replace('"minItems": 1', '"minItems": 2'))
    (tmp_path / "selftest.json").unlink()
    assert schemas.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "stale: " + str(tmp_path / "acks.json") in out and "stale: " + str(tmp_path / "selftest.json") in out
    assert "catalog.json" not in out and not (tmp_path / "selftest.json").exists()
