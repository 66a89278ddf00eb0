"""Customer payloads: the models and their JSON Schemas agree on sample documents, both ways; topics; limits."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from firmware.contract import DeviceTopics, PayloadRejected, decode, encode, ingest_filters
from firmware.contract.customers import (
    CustomerEdits,
    CustomerList,
    customer_ingest_filter,
    customer_schema,
    customers_topic,
    device_max_packet_with_customers,
    list_topic,
)
from firmware.contract.limits import DEVICE_MAX_PACKET
from firmware.contract.signing import envelope_limit

EDITS = {
    "store": "S001", "register": "R1",
    "edits": [
        {"customer_id": "S001:R1:ab12cd34:1", "epoch": "ab12cd34", "seq": 1, "at": "2026-11-30T18:00:00Z",
         "create": True, "changes": {"code": "2900000000017", "name": "Anna Müller", "phone": "+49 151 2345678",
                                     "email": "anna@example.com", "consent_email": True, "consent_sms": False,
                                     "deleted": False}},
        {"customer_id": "S001:R2:ffee0011:7", "epoch": "ab12cd34", "seq": 2, "at": "2026-11-30T18:05:00+01:00",
         "changes": {"consent_sms": True}},
    ],
}
LIST = {
    "version": 12, "store": "S001", "generated_at": "2026-11-30T19:00:00Z", "kind": "customers",
    "customers": [
        {"customer_id": "S001:R1:ab12cd34:1", "code": "2900000000017", "name": "Anna Müller",
         "phone": "+49 151 2345678", "email": "anna@example.com", "consent_email": True, "consent_sms": True,
         "created_at": "2026-11-30T18:00:00Z", "updated_at": "2026-11-30T18:05:00Z", "duplicate_code": False},
        {"customer_id": "S001:R2:ffee0011:3", "name": "Ben", "created_at": "2026-11-30T18:00:00Z",
         "updated_at": "2026-11-30T18:00:00Z"},
    ],
    "heads": [{"register": "R1", "epoch": "ab12cd34", "seq": 2}, {"register": "R2", "epoch": "ffee0011", "seq": 3}],
}
MODELS = {"customer_edits": CustomerEdits, "customer_list": CustomerList}
SAMPLES = {"customer_edits": EDITS, "customer_list": LIST}


def changed(doc, path, value):
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_is_a_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(customer_schema(name))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_samples_pass_model_and_schema_and_round_trip(name):
    doc = SAMPLES[name]
    jsonschema.validate(doc, customer_schema(name))
    model = decode(MODELS[name], json.dumps(doc))
    again = json.loads(encode(model))
    jsonschema.validate(again, customer_schema(name))  # what we send passes the schema too
    assert decode(MODELS[name], json.dumps(again)) == model


BOTH_REFUSE = [  # documents the schema and the model both refuse
    ("customer_edits", ("edits", 0, "seq"), "1"),
    ("customer_edits", ("edits", 0, "seq"), 0),
    ("customer_edits", ("edits",), []),
    ("customer_edits", ("edits", 1, "changes"), {}),
    ("customer_edits", ("edits", 1, "changes", "consent_sms"), "yes"),
    ("customer_edits", ("edits", 1, "changes", "code"), "29-00"),
    ("customer_edits", ("edits", 1, "changes", "email"), "anna"),
    ("customer_edits", ("edits", 1, "changes", "phone"), "call me"),
    ("customer_edits", ("edits", 1, "changes", "name"), "x" * 101),
    ("customer_edits", ("edits", 1, "customer_id"), "42"),
    ("customer_edits", ("edits", 1, "at"), "yesterday"),
    ("customer_edits", ("register",), "R/1"),
    ("customer_list", ("version",), 0),
    ("customer_list", ("customers", 0, "name"), ""),
    ("customer_list", ("customers", 0, "customer_id"), KeyError),
    ("customer_list", ("customers", 1, "consent_email"), 1),
    ("customer_list", ("heads", 0, "seq"), -1),
]


@pytest.mark.parametrize("name, path, value", BOTH_REFUSE)
def test_schema_and_model_refuse_the_same_bad_documents(name, path, value):
    doc = changed(SAMPLES[name], path, value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, customer_schema(name))
    with pytest.raises(PayloadRejected):
        decode(MODELS[name], json.dumps(doc))


MODEL_ONLY = [  # rules across fields that only the model checks
    ("customer_edits", ("edits", 0, "customer_id"), "S001:R1:ab12cd34:9", "after itself"),
    ("customer_edits", ("edits", 0, "customer_id"), "S002:R1:ab12cd34:1", "own name"),
    ("customer_edits", ("edits", 1, "seq"), 1, "increasing seq"),
    ("customer_edits", ("edits", 0, "changes", "deleted"), True, "cannot be deleted"),
    ("customer_list", ("customers", 1, "customer_id"), "S001:R1:ab12cd34:1", "more than once"),
]


@pytest.mark.parametrize("name, path, value, words", MODEL_ONLY)
def test_the_model_refuses_inconsistent_documents_with_a_reason(name, path, value, words):
    with pytest.raises(PayloadRejected, match=words):
        decode(MODELS[name], json.dumps(changed(SAMPLES[name], path, value)))


def test_unknown_fields_are_tolerated_both_ways():
    doc = changed(LIST, ("customers", 0, "birthday"), "1990-01-01")
    jsonschema.validate(doc, customer_schema("customer_list"))
    decode(CustomerList, json.dumps(doc))


def test_size_limits():
    with pytest.raises(PayloadRejected, match="over the limit"):
        decode(CustomerEdits, b'{"store": "' + b"x" * 300_000 + b'"}')
    assert CustomerList.MAX_BYTES == 32 * 1024 * 1024
    # the register's Maximum Packet Size takes the signed list already (firmware/contract/limits.py)
    assert device_max_packet_with_customers(DEVICE_MAX_PACKET) == DEVICE_MAX_PACKET
    assert DEVICE_MAX_PACKET >= envelope_limit(CustomerList.MAX_BYTES)
    assert DeviceTopics("S001", "R1").customers == customers_topic("kassa/v1", "S001", "R1")
    assert DeviceTopics("S001", "R1").customer_list == list_topic("kassa/v1", "S001")
    assert DeviceTopics("S001", "R1").customer_list in DeviceTopics("S001", "R1").downlink
    assert customer_ingest_filter("kassa/v1") in ingest_filters()


def test_topics():
    assert customers_topic("kassa/v1", "S001", "R1") == "kassa/v1/S001/R1/customers"
    assert list_topic("kassa/v1", "S001") == "kassa/v1/S001/customers"
    assert customer_ingest_filter("kassa/v1") == "$share/kassa-ingest/kassa/v1/+/+/customers"
