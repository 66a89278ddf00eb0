"""The contract models, the checked-in JSON Schemas and the AsyncAPI document agree with each other."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from firmware.chain import canonical_json
from firmware.contract import (
    Acks,
    CatalogMessage,
    Clerks,
    CommandResult,
    DeviceTopics,
    PayloadRejected,
    Receipt,
    Report,
    Selftest,
    Status,
    decode,
    decode_command,
    decode_json,
    encode,
    ingest_filters,
    load_schema,
    parse_topic,
    schema_for_topic,
)
from firmware.contract.payloads import MAX_ENDED_EPOCHS, Signed
from firmware.contract.schemas import MODELS, SCHEMA_DIR, render
from tests.contract.kassa_samples import CATALOG, CLERKS, make_receipt
from tests.contract.model_documents import JSON_VALUES, documents

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
            "catalog": CatalogMessage, "clerks": Clerks, "selftest": Selftest, "signed": Signed}


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


def test_a_1_2_last_will_keeps_the_journals_identity_and_its_ended_epochs():
    """Contract 1.2: the will (no `at`) names the epoch and head as of the connect, and the ended epochs."""
    will = {"state": "offline", "epoch": "7f3a9c2e", "epoch_first_seq": 1, "head_seq": 3, "head_hash": "a" * 64,
            "ended_epochs": [{"epoch": "0b1c2d3e", "head_seq": 12}, {"epoch": "e0", "first_seq": 4, "head_seq": 9,
                                                                     "head_hash": "b" * 64}]}
    jsonschema.validate(will, load_schema("status"))
    status = decode(Status, json.dumps(will))
    assert status.at is None and [e.epoch for e in status.ended_epochs or []] == ["0b1c2d3e", "e0"]
    assert json.loads(encode(status)) == will


@pytest.mark.parametrize("ended, words", [
    ([{"epoch": f"e{i}", "head_seq": i} for i in range(MAX_ENDED_EPOCHS + 1)], "ended_epochs"),
    ([{"epoch": "e1"}], "head_seq"),
    ([{"epoch": "not an epoch!", "head_seq": 1}], "epoch"),
    ([{"epoch": "e1", "head_seq": 2**53 + 1}], "head_seq"),
])
def test_ended_epochs_are_bounded_and_checked(ended, words):
    doc = {"state": "online", "epoch": "7f3a9c2e", "ended_epochs": ended}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, load_schema("status"))
    with pytest.raises(PayloadRejected, match=words):
        decode(Status, json.dumps(doc))


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
        decode(CatalogMessage, b"[1, 2]")
    with pytest.raises(PayloadRejected, match="nested|JSON"):
        decode(CatalogMessage, b"[" * 100_000)


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
                "clerks": t.clerks, "selftest": t.selftest, "accounts": t.accounts, "punches": t.punches,
                "punch_acks": t.punch_acks, "mail_requests": t.mail_requests, "mail_acks": t.mail_acks,
                "stock": t.stock, "stock_snapshot": t.stock_snapshot, "customers": t.customers,
                "customer_list": t.customer_list, "images": t.image("{sha256}")}
    assert {k: v["address"] for k, v in doc["channels"].items()} == expected
    for name, message in doc["components"]["messages"].items():
        ref = message["payload"]["schema"]["$ref"]
        assert (ASYNCAPI.parent / ref).resolve() == (SCHEMA_DIR / f"{name}.json").resolve()
    for op in doc["operations"].values():
        channel = op["channel"]["$ref"].split("/")[-1]
        assert channel in doc["channels"]
        for m in op["messages"]:
            assert m["$ref"].split("/")[-1] in doc["channels"][channel]["messages"]


def _accepts(name: str, doc: object) -> bool:
    """Whether the contract model of `name` accepts `doc`, through the same decoder the device and fleet use."""
    raw = json.dumps(doc).encode()
    try:
        if name == "command":
            decode_command(raw)
        else:
            decode(MODEL_OF[name], raw)
    except PayloadRejected:
        return False
    return True


def _paths(doc: object, here: tuple = ()) -> list[tuple]:
    """Every place in a JSON document (dict keys and list indices), the document itself first."""
    out = [here]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*here, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*here, i))
    return out


def _mutate(doc: dict, path: tuple, new: object, delete: bool) -> object:
    """A copy of `doc` with the value at `path` replaced by `new`, or removed when `delete` and it is a dict key."""
    if not path:
        return new
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


CONTRACT_NAMES = sorted({*MODEL_OF, "command"})


@pytest.mark.slow
@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_documents_the_model_accepts_pass_the_checked_in_schema(name):
    """Documents drawn from the model's own schema: every one the model accepts is valid under the schema file."""
    validator = jsonschema.Draft202012Validator(load_schema(name))
    checked = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(documents(name))
    def check(doc):
        if _accepts(name, doc):
            errors = [e.message for e in validator.iter_errors(doc)]
            assert not errors, f"{name}: the model accepts a document the schema refuses: {errors}\n{doc}"
            checked.append(doc)

    check()
    assert len(checked) >= 25, f"only {len(checked)} of 50 drawn {name} documents were accepted by the model"


@pytest.mark.slow
@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_documents_the_schema_refuses_the_model_refuses(name):
    """Valid documents broken in one place (a value replaced or a field removed), and arbitrary JSON."""
    validator = jsonschema.Draft202012Validator(load_schema(name))
    refused = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(documents(name), st.data())
    def check(doc, data):
        if data.draw(st.booleans()):
            path = data.draw(st.sampled_from(_paths(doc)))
            doc = _mutate(doc, path, data.draw(JSON_VALUES), delete=data.draw(st.booleans()))
        else:
            doc = data.draw(JSON_VALUES)
        if not validator.is_valid(doc):
            assert not _accepts(name, doc), f"{name}: the schema refuses a document the model accepts:\n{doc}"
            refused.append(doc)

    check()
    assert len(refused) >= 10, f"only {len(refused)} of 50 broken {name} documents were refused by the schema"


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
