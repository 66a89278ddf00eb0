"""JSON Schemas of the payloads: generated from the models, checked in under `schemas/`.

Regenerate with `python -m firmware.contract.schemas`; a test fails while the
checked-in files differ from the models.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from firmware.contract import payloads
from firmware.contract.topics import DEFAULT_PREFIX, parse_topic

SCHEMA_DIR = Path(__file__).with_name("schemas")
DIALECT = "https://json-schema.org/draft/2020-12/schema"

MODELS: dict[str, Any] = {
    "receipt": payloads.Receipt,
    "report": payloads.Report,
    "status": payloads.Status,
    "acks": payloads.Acks,
    "command": payloads.COMMAND_ADAPTER,
    "command_result": payloads.CommandResult,
    "catalog": payloads.Catalog,
    "clerks": payloads.Clerks,
    "selftest": payloads.Selftest,
}
_LEAF_TO_SCHEMA = {"receipts": "receipt", "reports": "report", "status": "status", "acks": "acks",
                   "commands": "command", "command_results": "command_result", "catalog": "catalog",
                   "clerks": "clerks", "selftest": "selftest"}


def generate(name: str) -> dict[str, Any]:
    """The schema of one payload as the models define it today."""
    model = MODELS[name]
    schema = model.model_json_schema() if isinstance(model, type) and issubclass(model, BaseModel) \
        else model.json_schema()
    schema = {"$schema": DIALECT, "$id": f"https://kassa.example/schemas/v1/{name}.json", **schema}
    schema.setdefault("title", name)
    return schema


def render(name: str) -> str:
    return json.dumps(generate(name), indent=2, sort_keys=True) + "\n"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The checked-in schema file of one payload."""
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def schema_for_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """Name of the schema that governs messages on `topic`, or None for a non-contract topic."""
    parsed = parse_topic(topic, prefix)
    return _LEAF_TO_SCHEMA[parsed[2]] if parsed else None


def write_all() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for name in MODELS:
        path = SCHEMA_DIR / f"{name}.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    for path in write_all():
        print(path)
