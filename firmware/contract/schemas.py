"""JSON Schemas of the payloads: generated from the models, checked in under `schemas/`.

Regenerate with `python -m firmware.contract` (`--check`: only say which files are stale, exit 1 if any);
a test fails while the checked-in files differ from the models.

The files are plain JSON Schema 2020-12 that third-party tools accept as they are: the AsyncAPI
reference parser (asyncapi.yaml declares that format per message) and Ajv 2020 in strict mode
(`tools/contract-check`). Pydantic's output is made portable in `portable()`: its OpenAPI-style
`discriminator` object is dropped (each `oneOf` branch already pins the tag with `const`), and a
subschema in an `anyOf`/`oneOf`/`allOf` branch that constrains a property without saying its type
gets the type that the parent schema already requires of that property.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from firmware.contract import accounts, customers, images, mail, payloads, stock, timeclock
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
    "catalog": payloads.CatalogMessage,
    "clerks": payloads.Clerks,
    "selftest": payloads.Selftest,
    "signed": payloads.Signed,
    "accounts": accounts.AccountsSnapshot,
    "punch": timeclock.PunchMessage,
    "punch_acks": timeclock.PunchAcks,
    "mail_request": mail.MailRequest,
    "mail_acks": mail.MailAcks,
    "stock": stock.StockDeltas,
    "stock_snapshot": stock.StockSnapshot,
    "customer_edits": customers.CustomerEdits,
    "customer_list": customers.CustomerList,
    "item_image": images.ITEM_IMAGE_ADAPTER,  # bytes, not JSON: docs/item-images.md
}
_LEAF_TO_SCHEMA = {"receipts": "receipt", "reports": "report", "status": "status", "acks": "acks",
                   "commands": "command", "command_results": "command_result", "catalog": "catalog",
                   "clerks": "clerks", "selftest": "selftest", "accounts": "accounts",
                   "punches": "punch", "punch_acks": "punch_acks", "mail_requests": "mail_request",
                   "mail_acks": "mail_acks", "stock": "stock", "stock_snapshot": "stock_snapshot"}


def generate(name: str) -> dict[str, Any]:
    """The schema of one payload as the models define it today."""
    model = MODELS[name]
    schema = model.model_json_schema() if isinstance(model, type) and issubclass(model, BaseModel) \
        else model.json_schema()
    schema = {"$schema": DIALECT, "$id": f"https://kassa.example/schemas/v1/{name}.json", **portable(schema)}
    schema.setdefault("title", name)
    return schema


# Keywords whose value is one subschema, a list of subschemas, or a map of name -> subschema (2020-12 core).
_ONE = ("items", "additionalProperties", "contains", "not", "if", "then", "else", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")
_BRANCHES = ("allOf", "anyOf", "oneOf")
# Keywords that say what a value is without `type`: a subschema with one of these needs no added type.
_TYPING = ("type", "$ref", "$dynamicRef", "const", "enum", "allOf", "anyOf", "oneOf", "not")


def portable(schema: Any) -> Any:
    """A copy of a pydantic JSON Schema that strict validators compile (see the module doc); same meaning."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "discriminator" and isinstance(value, dict) and "propertyName" in value:
            # OpenAPI's keyword, not JSON Schema's: an unknown keyword to Ajv strict, and AsyncAPI reads it as a
            # string. The `oneOf` it annotates selects by the `const` of that property in each branch already.
            continue
        if key in _ONE:
            out[key] = portable(value)
        elif key in _LIST and isinstance(value, list):
            out[key] = [portable(sub) for sub in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: portable(sub) for name, sub in value.items()}
        else:
            out[key] = value
    _complete_branches(out)
    return out


def _complete_branches(schema: dict[str, Any]) -> None:
    """Say in each `anyOf`/`oneOf`/`allOf` branch what the parent already says of the properties it names.

    Ajv strict wants `{"minItems": 1}` under a branch's `properties.x` to carry its `type`, and a branch's
    `required: ["x"]` to find `x` in its own `properties`. A branch's `properties.x` applies only when `x` is
    present, and then the parent's `properties.x` already requires that type; `properties.x: {}` requires
    nothing: so neither addition changes what any validator accepts.
    """
    parent = schema.get("properties")
    if not isinstance(parent, dict):
        return
    for key in _BRANCHES:
        for branch in schema.get(key) or []:
            if not isinstance(branch, dict):
                continue
            props = branch.get("properties")
            props = props if isinstance(props, dict) else {}
            for name, sub in props.items():
                known = parent.get(name)
                if (isinstance(sub, dict) and sub and not any(k in sub for k in _TYPING)
                        and isinstance(known, dict) and isinstance(known.get("type"), str)):
                    sub["type"] = known["type"]
            missing = [name for name in branch.get("required") or [] if name in parent and name not in props]
            if missing:
                branch["properties"] = {**props, **{name: {} for name in missing}}


def render(name: str) -> str:
    return json.dumps(generate(name), indent=2, sort_keys=True) + "\n"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The checked-in schema file of one payload."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return schema


# the fleet may send these in a `signed` envelope
SIGNED_LEAVES = ("commands", "catalog", "clerks", "accounts", "stock_snapshot", "customers")


def schema_for_topic(topic: str, prefix: str = DEFAULT_PREFIX, payload: bytes | None = None) -> str | None:
    """Name of the schema that governs messages on `topic`, or None for a non-contract topic.

    With the payload, a signed envelope on a downlink topic is named `signed` (its document inside is the
    topic's own schema)."""
    parsed = parse_topic(topic, prefix)
    if not parsed:
        return None
    if parsed[2] == "customers":  # one leaf, two topics: a register's edits, the store's list (docs/customers.md)
        if parsed[1] is not None:
            return "customer_edits"
        if payload is None:
            return "customer_list"
    if payload is not None and parsed[2] in SIGNED_LEAVES:
        from firmware.contract.signing import is_envelope

        if is_envelope(payload):
            return "signed"
    if parsed[2] == "customers":
        return "customer_list"
    return _LEAF_TO_SCHEMA[parsed[2]]


def write_all() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for name in MODELS:
        path = SCHEMA_DIR / f"{name}.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


def stale() -> list[Path]:
    """Checked-in schema files that differ from what the models generate today (or are missing)."""
    out = []
    for name in MODELS:
        path = SCHEMA_DIR / f"{name}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != render(name):
            out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        paths = stale()
        for path in paths:
            print(f"stale: {path} (run `python -m firmware.contract`)")
        return 1 if paths else 0
    if args:
        print("usage: python -m firmware.contract [--check]", file=sys.stderr)
        return 2
    for path in write_all():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
