"""Hypothesis strategies for contract documents, derived from the pydantic models' own JSON Schema.

`documents(name)` walks the schema that the model itself reports (`model_json_schema()`, not the checked-in
file) and draws JSON documents of that shape; `fix_invariants(name, doc)` then establishes what no JSON Schema
can say and the models' validators check (a receipt's id names its own store, register and seq; skus and clerk
ids are unique; a resend range is ordered and bounded), so that most drawn documents are accepted. Only the
keywords pydantic emits for these models are handled; an unknown one fails loudly instead of being ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from firmware.contract.receipt_id import format_receipt_id, parse_receipt_id
from firmware.contract.schemas import MODELS

# keywords that only annotate; everything else must be understood below
_ANNOTATIONS = {"title", "description", "default", "$schema", "$id", "$defs", "examples", "discriminator"}
_HANDLED = {"$ref", "const", "enum", "anyOf", "oneOf", "type", "pattern", "minLength", "maxLength", "minimum",
            "maximum", "items", "minItems", "maxItems", "properties", "required", "additionalProperties",
            "propertyNames"}
_MAX_ITEMS = 3  # keep documents small: the point is shape, not size

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8,
)


def model_schema(name: str) -> dict[str, Any]:
    """The JSON Schema the model reports for itself (pydantic's own output, before `portable()`)."""
    model = MODELS[name]
    return model.model_json_schema() if hasattr(model, "model_json_schema") else model.json_schema()


def documents(name: str) -> st.SearchStrategy[dict[str, Any]]:
    schema = model_schema(name)
    return _strategy(schema, schema.get("$defs", {})).map(lambda doc: fix_invariants(name, doc))


def _strategy(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    unknown = set(schema) - _HANDLED - _ANNOTATIONS
    if unknown:
        raise NotImplementedError(f"schema keywords not handled by the test generator: {sorted(unknown)}")
    if "$ref" in schema:
        return _strategy(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema and "properties" not in schema:
            return st.one_of([_strategy(branch, defs) for branch in schema[key]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        near = low if low is not None else 0
        small = st.integers(near, near + 100 if high is None else min(high, near + 100))
        return small | st.integers(low, high)
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" in schema:
            text = st.from_regex(schema["pattern"], fullmatch=True)
            return text.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))
        return st.text(min_size=low, max_size=min(high, low + 20) if high is not None else low + 20)
    if kind == "array":
        items = _strategy(schema["items"], defs) if "items" in schema else JSON_VALUES
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=min(schema.get("maxItems", low + _MAX_ITEMS), low + _MAX_ITEMS))
    if kind == "object":
        return _object(schema, defs)
    raise NotImplementedError(f"schema not handled by the test generator: {schema}")


def _object(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    extra = schema.get("additionalProperties", True)
    if not props:  # a map: dict[str, X] or dict[str, Any]
        keys = _strategy({"type": "string", **schema.get("propertyNames", {"maxLength": 8})}, defs)  # names are strings
        values = JSON_VALUES if extra is True else _strategy(extra, defs)
        return st.dictionaries(keys, values, max_size=_MAX_ITEMS)
    # the models tolerate unknown fields (the contract grows by adding), so some documents carry one
    fixed = st.fixed_dictionaries(
        {k: _strategy(v, defs) for k, v in props.items() if k in required},
        optional={k: _strategy(v, defs) for k, v in props.items() if k not in required},
    )
    if extra is not True:
        return fixed
    unknown = st.dictionaries(st.text(min_size=1, max_size=8).map(lambda k: "x_" + k), JSON_VALUES, max_size=2)
    return st.tuples(fixed, unknown).map(lambda pair: {**pair[1], **pair[0]})


def fix_invariants(name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Make a drawn document meet what the model checks beyond its JSON Schema (cross-field rules)."""
    doc = copy.deepcopy(doc)
    if name == "receipt":
        key = parse_receipt_id(doc["receipt_id"])
        if key is not None:
            store = None if key.store is None else doc["store"]
            doc["receipt_id"] = format_receipt_id(store, doc["register"], key.epoch, doc["seq"])
    elif name == "catalog":
        doc["items"] = list({item["sku"]: item for item in doc["items"]}.values())
        skus = [item["sku"] for item in doc["items"]]
        if "quick_keys" in doc:
            doc["quick_keys"] = [{**qk, "sku": skus[i % len(skus)]} for i, qk in enumerate(doc["quick_keys"]) if skus]
    elif name == "clerks":
        doc["clerks"] = list({clerk["clerk_id"]: clerk for clerk in doc["clerks"]}.values())
    elif name == "command" and doc.get("command") == "resend":
        args = doc["args"]
        args["to_seq"] = min(args["from_seq"] + args["to_seq"] % 1000, 2**53)
    return doc
