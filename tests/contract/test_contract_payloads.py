"""The contract models, the checked-in JSON Schemas and the AsyncAPI document agree with each other."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from firmware.chain import canonical_json
from firmware.contract import (Acks, Catalog, Clerks, CommandResult, DeviceTopics, PayloadRejected, Receipt, Report,
                               Selftest, Status, decode, decode_json, decode_command, encode, ingest_filters, load_schema, parse_topic,
                               schema_for_topic)
from firmware.contract.schemas import MODELS, SCHEMA_DIR, render
from tests.contract.kassa_samples import CATALOG, CLERKS, make_receipt

ASYNCAPI = SCHEMA_DIR.parent / "asyncapi.yaml"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_checked_in_schema_is_generated_from_the_model(name):
    assert (SCHEMA_DIR / f"{name}.json").read_text() == render(name), \
        "schemas are stale: run `python -m firmware.contract` and commit firmware/contract/schemas"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_is_a_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


SAMPLES = {
    "receipt": make_receipt(),
    "report": {"report_id": "Z-12", "kind": "z", "z_number": 12, "first_seq": 1, "last_seq": 40,
               "tenders": {"cash": 1200}, "taxes": {"A": 190}},
    "status": {"state": "online", "at": "2026-11-25T14:03:11.250Z", "pending": 3, "oldest_pending_at": None,
               "last_sync_at": None, "firmware_version": "0.1.0", "hardware": {"printer": "ok"}},
    "acks": {"receipt_ids": ["R1:7f3a9c2e:42"]},
    "command": {"command_id": "c1", "command": "resend", "args": {"from_seq": 3, "to_seq": 9}},
    "command_result": {"command_id": "c1", "ok": True, "detail": "7 receipts queued"},
    "catalog": CATALOG,
    "clerks": CLERKS,
    "selftest": {"selftest_id": "5f0c2a", "client_id": "kassa-S001-R1", "at": "2026-11-25T14:03:11Z"},
}
MODEL_OF = {"receipt": Receipt, "report": Report, "status": Status, "acks": Acks, "command_result": CommandResult,
            "catalog": Catalog, "clerks": Clerks, "selftest": Selftest}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_contract_examples_pass_model_and_schema(name):
    doc = SAMPLES[name]
    jsonschema.validate(doc, load_schema(name))
    if name == "command":
        assert decode_command(json.dumps(doc)).command == "resend"
    else:
        decode(MODEL_OF[name], canonical_json(doc))


def test_last_will_is_a_valid_status():
    jsonschema.validate({"state": "offline"}, load_schema("status"))
    assert decode(Status, b'{"state":"offline"}').state == "offline"


BAD = [
    ("receipt", {**make_receipt(), "seq": "1"}, "seq"),
    ("receipt", {**make_receipt(), "receipt_id": "R2:7f3a9c2e:1"}, "does not name"),
    ("receipt", {k: v for k, v in make_receipt().items() if k != "refund_of"}, "refund_of"),
    ("receipt", {**make_receipt(), "kind": "gift"}, "kind"),
    ("catalog", {**CATALOG, "version": 0}, "version"),
    ("catalog", {**CATALOG, "items": CATALOG["items"] * 2}, "more than once"),
    ("catalog", {**CATALOG, "quick_keys": [{"label": "X", "sku": "nope"}]}, "quick_keys"),
    ("catalog", {**CATALOG, "items": [{**CATALOG["items"][0], "price": 1.5}]}, "price"),
    ("clerks", {"version": 1, "clerks": [{**CLERKS["clerks"][0], "role": "owner"}]}, "role"),
    ("acks", {"receipt_ids": []}, "receipt_ids"),
    ("status", {"state": "asleep"}, "state"),
]


@pytest.mark.parametrize("name, doc, words", BAD)
def test_wrong_shapes_are_rejected_with_a_reason(name, doc, words):
    with pytest.raises(PayloadRejected, match=words):
        decode(MODEL_OF[name], json.dumps(doc))


def test_oversized_and_non_json_payloads_are_rejected():
    with pytest.raises(PayloadRejected, match="over the limit"):
        decode(Acks, b'{"receipt_ids": ["' + b"x" * 200_000 + b'"]}')
    with pytest.raises(PayloadRejected, match="not UTF-8 JSON"):
        decode(Clerks, b"\xff\xfe{")
    with pytest.raises(PayloadRejected, match="JSON object"):
        decode(Catalog, b"[1, 2]")
    with pytest.raises(PayloadRejected, match="nested|JSON"):
        decode(Catalog, b"[" * 100_000)


def test_bad_command_keeps_its_id_for_the_answer():
    with pytest.raises(PayloadRejected) as err:
        decode_command(b'{"command_id": "abc", "command": "open_drawer", "args": {}}')
    assert err.value.command_id == "abc"
    with pytest.raises(PayloadRejected, match="from_seq"):
        decode_command(b'{"command_id": "abc", "command": "resend", "args": {"from_seq": 9, "to_seq": 3}}')


def test_encode_omits_nones_and_matches_schema():
    body = json.loads(encode(Status(state="online", pending=0)))
    assert body == {"state": "online", "pending": 0}
    jsonschema.validate(body, load_schema("status"))


def test_topics_follow_the_contract():
    t = DeviceTopics("S001", "R1")
    assert t.receipts == "kassa/v1/S001/R1/receipts"
    assert t.command_results == "kassa/v1/S001/R1/command_results"
    assert t.catalog == "kassa/v1/S001/catalog" and t.clerks == "kassa/v1/S001/clerks"
    assert parse_topic(t.acks) == ("S001", "R1", "acks")
    assert parse_topic(t.clerks) == ("S001", None, "clerks")
    assert parse_topic("kassa/v1/S001/R1/other") is None
    assert schema_for_topic(t.commands) == "command"
    assert "$share/kassa-ingest/kassa/v1/+/+/receipts" in ingest_filters()


def test_asyncapi_names_every_topic_and_schema():
    doc = yaml.safe_load(ASYNCAPI.read_text())
    assert doc["asyncapi"].startswith("3.")
    t = DeviceTopics("{store}", "{register}")
    expected = {"receipts": t.receipts, "reports": t.reports, "status": t.status, "acks": t.acks,
                "commands": t.commands, "command_results": t.command_results, "catalog": t.catalog,
                "clerks": t.clerks, "selftest": t.selftest}
    assert {k: v["address"] for k, v in doc["channels"].items()} == expected
    for name, message in doc["components"]["messages"].items():
        ref = message["payload"]["schema"]["$ref"]
        assert (ASYNCAPI.parent / ref).resolve() == (SCHEMA_DIR / f"{name}.json").resolve()
    for op in doc["operations"].values():
        channel = op["channel"]["$ref"].split("/")[-1]
        assert channel in doc["channels"]
        for m in op["messages"]:
            assert m["$ref"].split("/")[-1] in doc["channels"][channel]["messages"]


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
                    max_leaves=20))
def test_any_json_either_passes_both_model_and_schema_or_is_rejected(doc):
    raw = json.dumps(doc).encode()
    for name, model in MODEL_OF.items():
        try:
            decode(model, raw)
            accepted = True
        except PayloadRejected:
            accepted = False
        if accepted:  # the model is at least as strict as the schema
            jsonschema.validate(doc, load_schema(name))


def test_acks_may_carry_only_a_selftest_answer_but_never_nothing():
    answer = decode(Acks, b'{"receipt_ids": [], "selftest_id": "5f0c2a"}')
    assert answer.receipt_ids == [] and answer.selftest_id == "5f0c2a"
    jsonschema.validate(json.loads(encode(answer)), load_schema("acks"))
    for empty in (b'{"receipt_ids": []}', b'{"receipt_ids": [], "selftest_id": null}', b'{"selftest_id": "x"}'):
        with pytest.raises(PayloadRejected):
            decode(Acks, empty)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"receipt_ids": []}, load_schema("acks"))
    assert parse_topic(DeviceTopics("S001", "R1").selftest) == ("S001", "R1", "selftest")
    assert "$share/kassa-ingest/kassa/v1/+/+/selftest" in ingest_filters()


@pytest.mark.parametrize("raw, reason", [
    (b"not json", "not UTF-8 JSON"), (b"\xff\xfe", "not UTF-8 JSON"), (b"[1, 2]", "must be a JSON object"),
    (b'{"receipt_id": 5}', "receipt"), (b"[" * 5000 + b"]" * 5000, "receipt"),
    (b'{"x": "' + b"a" * (300 * 1024) + b'"}', "over the limit"),
])
def test_decode_json_rejects_like_decode(raw, reason):
    with pytest.raises(PayloadRejected, match=reason):
        decode_json(Receipt, raw)
    with pytest.raises(PayloadRejected):
        decode(Receipt, raw)


def test_decode_json_accepts_what_decode_accepts():
    raw = canonical_json(make_receipt())
    assert decode_json(Receipt, raw) == decode(Receipt, raw)
