"""The ingest's receipt hash check: one SHA-256 over the sent bytes when canonical, the full check otherwise."""

from __future__ import annotations

import json

from firmware.chain import canonical_json, receipt_hash
from fleet.integrity import _without_hash, hash_matches
from tests.contract.kassa_samples import make_receipt


def test_canonical_bytes_are_checked_without_a_second_parse():
    receipt = make_receipt()
    raw = canonical_json(receipt)
    body = _without_hash(raw, receipt["hash"])
    assert body == canonical_json({k: v for k, v in receipt.items() if k != "hash"})
    assert hash_matches(raw, receipt["hash"])


def test_other_formatting_takes_the_full_check():
    receipt = make_receipt()
    pretty = json.dumps(receipt, indent=2).encode()
    assert _without_hash(pretty, receipt["hash"]) is None
    assert hash_matches(pretty, receipt["hash"])


def test_tampered_content_or_hash_is_caught_on_both_paths():
    receipt = make_receipt()
    tampered = dict(receipt, totals={**receipt["totals"], "total": receipt["totals"]["total"] + 1})
    assert not hash_matches(canonical_json(tampered), receipt["hash"])
    assert not hash_matches(json.dumps(tampered, indent=1).encode(), receipt["hash"])
    assert not hash_matches(canonical_json(receipt), receipt_hash({"other": 1}))


def test_a_nested_member_named_hash_does_not_confuse_the_cut():
    receipt = make_receipt()
    doubled = dict(receipt, lines=[{**receipt["lines"][0], "hash": receipt["hash"]}])
    doubled["hash"] = receipt_hash(doubled)
    raw = canonical_json(doubled)
    assert hash_matches(raw, doubled["hash"])
    assert not hash_matches(raw, receipt["hash"])
