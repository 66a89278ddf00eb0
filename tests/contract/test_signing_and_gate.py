"""Signed downlink envelopes and the one acceptance gate, as properties over documents and bytes."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from firmware.contract import PayloadRejected
from firmware.contract.acceptance import (
    MAX_VERSION_JUMP,
    SCRYPT_PARAMS,
    VERSION_LIMIT,
    VersionJump,
    check_document,
    check_version_jump,
    check_versioned,
    version_jump_problem,
)
from firmware.contract.signing import (
    SignatureRejected,
    Signer,
    Verifier,
    envelope_limit,
    load_public_keys,
    new_key_pair,
    parse_private_key,
)
from firmware.domain import clerks as domain_clerks
from tests.contract.kassa_samples import CATALOG, CLERKS

TOPIC = "kassa/v1/S001/catalog"
RATES = {"A": "19.00", "B": "7.00"}


def _signer() -> tuple[Signer, Verifier]:
    private_pem, public_pem, fp = new_key_pair()
    signer = Signer(parse_private_key(private_pem))
    assert signer.key_id == fp
    return signer, Verifier(load_public_keys(public_pem))


SIGNER, VERIFIER = _signer()
OTHER, _ = _signer()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.binary(max_size=2000), flip=st.integers(min_value=0), other=st.binary(max_size=2000))
def test_a_signature_verifies_iff_the_bytes_are_unchanged(document, flip, other):
    envelope = SIGNER.wrap(TOPIC, document)
    assert VERIFIER.open(TOPIC, envelope, 4096) == document
    env = json.loads(envelope)
    if document:  # one bit flipped anywhere in the document
        changed = bytearray(document)
        changed[flip % len(document)] ^= 1 << (flip % 8)
        tampered = json.dumps({**env, "signed": base64.b64encode(bytes(changed)).decode()}).encode()
        with pytest.raises(SignatureRejected, match="does not match"):
            VERIFIER.open(TOPIC, tampered, 4096)
    replaced = json.dumps({**env, "signed": base64.b64encode(other).decode()}).encode()
    if other == document:
        assert VERIFIER.open(TOPIC, replaced, 4096) == document
    else:
        with pytest.raises(SignatureRejected):
            VERIFIER.open(TOPIC, replaced, 4096)


@settings(max_examples=50)
@given(document=st.binary(max_size=500), topic=st.text(min_size=1, max_size=60))
def test_a_signature_holds_for_its_topic_only(document, topic):
    assume(topic != TOPIC)
    envelope = SIGNER.wrap(topic, document)
    assert VERIFIER.open(topic, envelope, 4096) == document
    with pytest.raises(SignatureRejected, match="topic"):
        VERIFIER.open(TOPIC, envelope, 4096)  # replayed on another topic (another store's, say)
    forged = json.dumps({**json.loads(envelope), "topic": TOPIC}).encode()
    with pytest.raises(SignatureRejected, match="does not match"):
        VERIFIER.open(TOPIC, forged, 4096)  # the topic is inside what is signed


def test_unsigned_wrong_key_and_malformed_envelopes_are_refused_once_a_key_is_pinned():
    doc = json.dumps(CATALOG).encode()
    with pytest.raises(SignatureRejected, match="not signed"):
        VERIFIER.open(TOPIC, doc, 4096)
    with pytest.raises(SignatureRejected, match="not by the pinned fleet key"):
        VERIFIER.open(TOPIC, OTHER.wrap(TOPIC, doc), 4096)
    # another key's signature presented under the pinned key's name
    env = json.loads(OTHER.wrap(TOPIC, doc))
    with pytest.raises(SignatureRejected, match="does not match"):
        VERIFIER.open(TOPIC, json.dumps({**env, "key": SIGNER.key_id}).encode(), 4096)
    for bad in ({**env, "key": SIGNER.key_id, "sig": "!!"}, {**env, "key": SIGNER.key_id, "signed": 5}):
        with pytest.raises(SignatureRejected):
            VERIFIER.open(TOPIC, json.dumps(bad).encode(), 4096)
    with pytest.raises(SignatureRejected, match="over the limit"):
        VERIFIER.open(TOPIC, SIGNER.wrap(TOPIC, b"x" * 5000), 4096)
    assert len(SIGNER.wrap(TOPIC, b"x" * 4096)) <= envelope_limit(4096)


def test_without_a_pinned_key_documents_pass_and_envelopes_are_opened():
    lab = Verifier()
    doc = json.dumps(CATALOG).encode()
    assert not lab.pinned and lab.open(TOPIC, doc, 4096) == doc
    assert lab.open(TOPIC, OTHER.wrap(TOPIC, doc), 4096) == doc


def test_an_unreadable_pinned_key_refuses_everything(tmp_path):
    missing = Verifier.from_file(tmp_path / "none.pem")
    (tmp_path / "rsa.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    broken = Verifier.from_file(tmp_path / "rsa.pem")
    for verifier in (missing, broken):
        assert verifier.pinned and verifier.error
        with pytest.raises(SignatureRejected, match="refused"):
            verifier.open(TOPIC, SIGNER.wrap(TOPIC, b"{}"), 4096)


def test_the_gate_uses_the_firmware_scrypt_parameters():
    assert SCRYPT_PARAMS == (domain_clerks.SCRYPT_N, domain_clerks.SCRYPT_R, domain_clerks.SCRYPT_P)
    real = domain_clerks.hash_pin("4711")
    check_versioned("clerks", {"version": 1, "clerks": [{"clerk_id": "m", "name": "M", "role": "manager",
                                                        "pin_hash": real}]})


@settings(max_examples=60, deadline=None)
@given(n=st.sampled_from([2, 4, 1024, 2**13, 2**14, 2**15, 2**20]), r=st.sampled_from([1, 8, 32]),
       p=st.sampled_from([1, 2, 16]), salt=st.sampled_from([4, 16, 32]), digest=st.sampled_from([1, 16, 32, 64]))
def test_pin_hashes_pass_iff_they_have_exactly_the_firmware_parameters(n, r, p, salt, digest):
    b64 = lambda k: base64.b64encode(b"s" * k).decode()  # noqa: E731
    pin_hash = f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"
    roster = {"version": 5, "clerks": [{**CLERKS["clerks"][0], "pin_hash": pin_hash}]}
    if (n, r, p, salt, digest) == (*SCRYPT_PARAMS, 16, 32):
        check_versioned("clerks", roster)
    else:
        with pytest.raises(PayloadRejected, match="pin_hash"):
            check_versioned("clerks", roster)


@settings(max_examples=100)
@given(version=st.one_of(st.integers(min_value=-5, max_value=10), st.integers(min_value=2**53 - 3, max_value=2**53 + 3),
                         st.integers(min_value=1, max_value=10**60), st.just(10**4000)))
def test_versions_pass_iff_below_2_53(version):
    for kind, doc in (("catalog", {**CATALOG, "version": version}), ("clerks", {**CLERKS, "version": version})):
        if 1 <= version < VERSION_LIMIT:
            check_versioned(kind, doc, fallback_rates=RATES)
            check_document(kind, json.dumps(doc).encode(), fallback_rates=RATES)
        else:
            with pytest.raises(PayloadRejected, match="version"):
                check_versioned(kind, doc, fallback_rates=RATES)
            with pytest.raises(PayloadRejected, match="version"):
                check_document(kind, json.dumps(doc).encode(), fallback_rates=RATES)


CODES = st.sampled_from(["A", "B", "C", "Z9"])


@settings(max_examples=150)
@given(item_codes=st.lists(CODES, max_size=6), catalog_rates=st.none() | st.dictionaries(CODES, st.just("7.00")),
       config_rates=st.none() | st.dictionaries(CODES, st.just("19.00")))
def test_a_catalog_passes_iff_it_has_items_and_a_rate_for_every_code(item_codes, catalog_rates, config_rates):
    items = [{"sku": f"S{i}", "name": f"Item {i}", "price": 100, "tax_code": code} for i, code in enumerate(item_codes)]
    doc = {"version": 7, "currency": "EUR", "items": items}
    if catalog_rates is not None:
        doc["tax_rates"] = catalog_rates
    rates = catalog_rates or config_rates  # the till's rule: the catalog's rates when it has any
    ok = bool(items) and rates is not None and set(item_codes) <= set(rates)
    if ok:
        check_versioned("catalog", doc, fallback_rates=config_rates)
    else:
        with pytest.raises(PayloadRejected, match="no items|no rate|tax_rates"):
            check_versioned("catalog", doc, fallback_rates=config_rates)


def test_a_big_version_jump_needs_force_at_publish():
    assert version_jump_problem("catalog", 5, 4) is None
    assert version_jump_problem("catalog", MAX_VERSION_JUMP, None) is None
    assert "--force" in version_jump_problem("catalog", MAX_VERSION_JUMP + 1, None)
    assert "--force" in version_jump_problem("catalog", 10 + MAX_VERSION_JUMP + 1, 10)
    assert version_jump_problem("catalog", 10 + MAX_VERSION_JUMP, 10) is None


def test_the_one_version_jump_check_raises_the_problem_unless_forced():
    with pytest.raises(VersionJump) as jumped:
        check_version_jump("clerks", VERSION_LIMIT - 1, -1, force=False)  # -1: a register holding none
    assert str(jumped.value) == version_jump_problem("clerks", VERSION_LIMIT - 1, None)
    assert isinstance(jumped.value, PayloadRejected)
    check_version_jump("clerks", VERSION_LIMIT - 1, -1, force=True)
    check_version_jump("clerks", 10 + MAX_VERSION_JUMP, 10, force=False)
