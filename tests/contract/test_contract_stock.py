"""The stock contract (firmware/contract/stock.py): models and their JSON Schemas agree on sample documents.

The schemas are generated here the way `firmware.contract.schemas` generates the checked-in ones (`portable`,
JSON Schema 2020-12); once the models are in `MODELS`, `schemas/stock.json` and `schemas/stock_snapshot.json`
are these. Both ways: what the model accepts the schema accepts, and what the model refuses for a reason a
schema can say, the schema refuses too.
"""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from firmware.contract import PayloadRejected, decode as decode_payload, encode
from firmware.contract.schemas import DIALECT, portable
from firmware.contract.stock import CatalogVariants, StockDeltas, StockSnapshot, VariantGroup

MODELS = {"stock": StockDeltas, "stock_snapshot": StockSnapshot, "catalog_variants": CatalogVariants}


def decode(model, text):
    """`decode` for the payloads; the catalog's `variants` part is checked as the catalog would check it."""
    if hasattr(model, "MAX_BYTES"):
        return decode_payload(model, text)
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise PayloadRejected(str(exc)) from None


def schema(name):
    generated = {"$schema": DIALECT, **portable(MODELS[name].model_json_schema())}
    jsonschema.Draft202012Validator.check_schema(generated)
    return jsonschema.Draft202012Validator(generated)


DELTAS = {"store": "S001", "register": "R1", "deltas": [
    {"seq": 41, "sku": "4006381333931", "kind": "sale", "qty": -2, "at": "2026-11-30T10:15:02.120Z",
     "ref": "S001:R1:7f3a9c2e:1201"},
    {"seq": 42, "sku": "APPLE", "kind": "sale", "qty": -730, "at": "2026-11-30T10:15:02.120Z",
     "ref": "S001:R1:7f3a9c2e:1201"},
    {"seq": 43, "sku": "PENCIL", "kind": "refund", "qty": 1, "at": "2026-11-30T10:20:00.000Z"},
    {"seq": 44, "sku": "PENCIL", "kind": "count", "qty": 12, "at": "2026-11-30T18:00:00.000Z",
     "basis": {"R1": 40, "R2": 17}},
    {"seq": 45, "sku": "MUG", "kind": "adjust", "qty": -1, "at": "2026-11-30T18:05:00.000Z"},
]}
SNAPSHOT = {"version": 12, "store": "S001", "at": "2026-11-30T18:10:00.000Z", "upto": {"R1": 45, "R2": 17},
            "levels": {"PENCIL": 12, "APPLE": 15270, "MUG": -1},
            "policy": {"low": 3, "past_zero": "warn"}, "item_policies": {"MUG": {"past_zero": "manager"}}}
VARIANTS = {"variants": [{"parent": "TSHIRT", "name": "T-shirt",
                          "axes": [{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Red"]}],
                          "variants": [{"sku": "TS-S-R", "values": ["S", "Red"]},
                                       {"sku": "TS-M-R", "values": ["M", "Red"]}]}]}
SAMPLES = {"stock": DELTAS, "stock_snapshot": SNAPSHOT, "catalog_variants": VARIANTS}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_documents_pass_model_and_schema_and_survive_a_round_trip(name):
    model = MODELS[name]
    parsed = decode(model, json.dumps(SAMPLES[name]))
    schema(name).validate(SAMPLES[name])
    again = json.loads(encode(parsed))
    schema(name).validate(again)
    assert decode(model, encode(parsed)) == parsed


def edit(doc, path, value):
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


# documents both refuse: a wrong type, a bound, a pattern, a missing field
BAD = [
    ("stock", ("deltas",), []),
    ("stock", ("deltas", 0, "qty"), "-2"),
    ("stock", ("deltas", 0, "qty"), -(10**9) - 1),
    ("stock", ("deltas", 0, "kind"), "theft"),
    ("stock", ("deltas", 0, "seq"), 0),
    ("stock", ("deltas", 0, "at"), "yesterday"),
    ("stock", ("deltas", 0, "ref"), "not an id"),
    ("stock", ("deltas", 0, "sku"), ""),
    ("stock", ("register",), "R 1"),
    ("stock", ("deltas", 1, "at"), KeyError),
    ("stock", ("deltas",), [DELTAS["deltas"][0]] * 1001),
    ("stock_snapshot", ("version",), 0),
    ("stock_snapshot", ("upto", "R1"), -1),
    ("stock_snapshot", ("levels", "PENCIL"), "12"),
    ("stock_snapshot", ("policy", "past_zero"), "refuse"),
    ("stock_snapshot", ("policy", "low"), -1),
    ("stock_snapshot", ("upto",), {f"R{i}": 1 for i in range(257)}),
    ("stock_snapshot", ("levels",), KeyError),
    ("catalog_variants", ("variants", 0, "axes"), [{"name": f"A{i}", "values": ["x"]} for i in range(4)]),
    ("catalog_variants", ("variants", 0, "axes", 0, "values"), [str(i) for i in range(31)]),
    ("catalog_variants", ("variants", 0, "axes", 0, "values"), []),
    ("catalog_variants", ("variants", 0, "variants", 0, "values"), ["S", "Red", "x", "y"]),
]


@pytest.mark.parametrize("name, path, value", BAD)
def test_model_and_schema_refuse_the_same_bad_documents(name, path, value):
    bad = edit(SAMPLES[name], path, value)
    with pytest.raises(PayloadRejected):
        decode(MODELS[name], json.dumps(bad))
    assert not schema(name).is_valid(bad)


# what only the models can say (a validator, not a schema keyword): the model refuses, with a reason
MODEL_ONLY = [
    ("stock", ("deltas", 0, "qty"), 2, "sales take"),
    ("stock", ("deltas", 2, "qty"), -1, "refunds put back"),
    ("stock", ("deltas", 3, "qty"), -1, "counts are >= 0"),
    ("stock", ("deltas", 0, "basis"), {"R1": 1}, "only a count"),
    # JSON Schema calls -2.0 an integer, and pydantic's schema does not pattern-check a dict's keys
    ("stock", ("deltas", 0, "qty"), -2.0, "valid integer"),
    ("stock", ("deltas", 3, "basis"), {"R/1": 3}, "pattern"),
    ("stock", ("deltas", 1, "seq"), 41, "more than once"),
    ("catalog_variants", ("variants", 0, "variants", 1, "values"), ["S", "Red"], "repeats"),
    ("catalog_variants", ("variants", 0, "variants", 1, "values"), ["XL", "Red"], "not a Size"),
    ("catalog_variants", ("variants", 0, "variants", 1, "values"), ["S"], "needs 2 value"),
]


@pytest.mark.parametrize("name, path, value, words", MODEL_ONLY)
def test_invariants_beyond_the_schema_are_refused_by_the_model(name, path, value, words):
    with pytest.raises(PayloadRejected, match=words):
        decode(MODELS[name], json.dumps(edit(SAMPLES[name], path, value)))


def test_size_limits_are_checked_before_parsing():
    with pytest.raises(PayloadRejected, match="over the limit"):
        decode(StockDeltas, b" " * (StockDeltas.MAX_BYTES + 1))
    assert StockSnapshot.MAX_BYTES == 4 * 1024 * 1024


def test_a_snapshot_of_50k_items_fits_its_limit():
    levels = {f"SKU{i:07d}": 100_000 + i for i in range(50_000)}
    doc = {**SNAPSHOT, "levels": levels, "upto": {f"R{i}": 2**40 for i in range(64)}}
    assert len(encode(StockSnapshot.model_validate(doc))) < StockSnapshot.MAX_BYTES


def test_variants_cross_check_against_the_catalogs_items():
    groups = CatalogVariants.model_validate(VARIANTS)
    assert groups.check_against({"TS-S-R", "TS-M-R"}) is None
    assert "not in items" in groups.check_against({"TS-S-R"})
    assert "parent TSHIRT" in groups.check_against({"TS-S-R", "TS-M-R", "TSHIRT"})
    with pytest.raises(ValueError, match="more than one group"):
        CatalogVariants.model_validate({"variants": [VARIANTS["variants"][0],
                                                     {**VARIANTS["variants"][0], "parent": "OTHER"}]})


deltas_docs = st.lists(st.fixed_dictionaries({
    "sku": st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True),
    "kind": st.sampled_from(["sale", "refund", "adjust", "count"]),
    "qty": st.integers(1, 10**9),
    "at": st.just("2026-11-30T10:00:00.000Z"),
}), min_size=1, max_size=20)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(deltas_docs)
def test_drawn_batches_agree_between_model_and_schema(drawn):
    deltas = [{**d, "seq": i, "qty": -d["qty"] if d["kind"] == "sale" else d["qty"]}
              for i, d in enumerate(drawn, start=1)]
    doc = {"store": "S1", "register": "R1", "deltas": deltas}
    schema("stock").validate(doc)
    assert decode(StockDeltas, json.dumps(doc)).deltas[-1].seq == len(deltas)


def test_a_variant_group_is_a_catalog_part_on_its_own():
    group = VariantGroup.model_validate(VARIANTS["variants"][0])
    assert [a.name for a in group.axes] == ["Size", "Colour"]
