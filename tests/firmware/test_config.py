"""The config file's bounds: every number has a range, the prefix is a plain topic path, tax rates are percentages,
hardware URLs are parsed at load; any TOML document is a Config or a ConfigError naming a key, nothing else."""

from __future__ import annotations

import json
import math
import re
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.config import BOUNDS, MQTT_MAX_SESSION_EXPIRY, Config, ConfigError, load_config, parse_config

BASE = {"device": {"store": "S001", "register": "R1", "data_dir": "/tmp/kassa-config-test"}}


def doc(section: str, **values: object) -> dict:
    out = json.loads(json.dumps(BASE))
    out.setdefault(section, {}).update(values)
    return out


def refused(data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "kassa.toml")
    return str(caught.value)


# ---- the holes of issue 12 -------------------------------------------------------------------

def test_session_expiry_above_mqtts_four_bytes_is_refused_naming_the_key():
    message = refused(doc("broker", session_expiry=2**40))
    assert "broker.session_expiry:" in message and str(MQTT_MAX_SESSION_EXPIRY) in message
    assert parse_config(doc("broker", session_expiry=MQTT_MAX_SESSION_EXPIRY)).broker.session_expiry == 2**32 - 1


@pytest.mark.parametrize("prefix", ["kassa/#", "kassa/+/v1", "#", "/kassa", "kassa/", "kassa//v1", "$SYS/kassa",
                                    "", "a/b/c/d/e", "kassa v1", "kässa"])
def test_prefix_with_wildcards_or_odd_levels_is_refused(prefix):
    assert "broker.prefix:" in refused(doc("broker", prefix=prefix))


@pytest.mark.parametrize("prefix", ["kassa/v1", "kassa", "acme_shops/kassa-2/v1/x"])
def test_plain_topic_prefixes_are_accepted(prefix):
    assert parse_config(doc("broker", prefix=prefix)).broker.prefix == prefix


@pytest.mark.parametrize("rates", [{"A": "abc"}, {"A": "100.01"}, {"A": "-1"}, {"A": "19.00001"}, {"A": "1e1"},
                                   {"A": "NaN"}, {"A": " 19"}, {"A": 19}, {}, {"A B": "19.00"}])
def test_tax_rates_must_be_percentages_in_text(rates):
    assert "shop.tax_rates" in refused(doc("shop", tax_rates=rates))


def test_good_tax_rates_are_kept_as_written():
    rates = {"A": "19.00", "B": "7", "C": "0", "D": "100", "E": "5.125"}
    assert parse_config(doc("shop", tax_rates=rates)).shop.tax_rates == rates


def test_a_bad_hardware_url_is_a_config_error_naming_the_key_and_a_valid_example():
    message = refused(doc("hardware", printer="usb://epson"))
    assert "hardware.printer:" in message and 'Example: hardware.printer = "usb://0x04b8:0x0202"' in message


def test_a_drawer_and_led_on_the_same_gpio_pin_are_refused_before_gpiozero_sees_them():
    message = refused(doc("hardware", drawer="gpio:17?sensor=27", led="gpio:red=27,green=6"))
    assert message.count("hardware.led:") == 1 and "GPIO 27" in message


# ---- every numeric key has a range -----------------------------------------------------------

NUMERIC = [key for key, (what, _) in BOUNDS.items() if what.startswith(("a whole number", "a number"))]


def test_every_numeric_key_has_a_bound():
    numeric = {f"{section}.{name}" for section, model in Config.model_fields.items()
               for name, field in model.annotation.model_fields.items() if field.annotation in (int, float)}
    assert numeric - {"hardware.paper_columns"} == set(NUMERIC)


# bounds that another key must agree with: a gift card's smallest load is at most its largest balance
PARTNERS = {"accounts.giftcard_min_load": {"giftcard_max_balance": 10**12},
            "accounts.giftcard_max_balance": {"giftcard_min_load": 1}}


@pytest.mark.parametrize("key", NUMERIC)
def test_each_bound_is_enforced_at_both_ends_and_the_message_says_the_range(key):
    section, name = key.split(".")
    lo, hi = (float(x) for x in re.search(r"from (\S+) to (\S+)", BOUNDS[key][0]).groups())
    whole = BOUNDS[key][0].startswith("a whole")
    step = 1 if whole else 0.001
    for bad in (lo - step, hi + step, 2**64, -(2**63), True, "30"):
        message = refused(doc(section, **{name: int(bad) if whole and isinstance(bad, float) else bad}))
        assert f"{key}: must be {BOUNDS[key][0]}" in message, (bad, message)
        assert "(example: " in message
    for good in (lo, hi):
        value = int(good) if whole else good
        others = {k: v for k, v in PARTNERS.get(key, {}).items() if k != name}  # keys checked against this one
        assert getattr(getattr(parse_config(doc(section, **others, **{name: value})), section), name) == value
    if not whole:
        for bad in (math.nan, math.inf):
            assert f"{key}: must be" in refused(doc(section, **{name: bad}))


@pytest.mark.parametrize("columns", [24, 40, 64, 80, 0, -42])
def test_paper_columns_is_a_real_printer_width(columns):
    assert "hardware.paper_columns:" in refused(doc("hardware", paper_columns=columns))


def test_the_examples_in_messages_are_themselves_accepted():
    for key, (_, example) in BOUNDS.items():
        section = key.split(".")[0]
        table = tomllib.loads(example)
        parse_config(doc(section, **table))


def test_load_config_reads_a_file_and_reports_the_path(tmp_path):
    path = tmp_path / "kassa.toml"
    path.write_text('[device]\nstore = "S001"\nregister = "R1"\n[broker]\nsession_expiry = 1099511627776\n')
    with pytest.raises(ConfigError, match=r"kassa\.toml is not valid:\n  broker\.session_expiry: "):
        load_config(path)


# ---- property: any TOML document is a Config or a ConfigError naming a key -------------------

SECTION_KEYS = {section: list(model.annotation.model_fields) for section, model in Config.model_fields.items()}
_INTERESTING = [0, 1, -1, 5, 32, 42, 48, 60, 100, 101, 3600, 3601, 2**31, 2**32 - 1, 2**32, 2**40, 2**63 - 1, -(2**63)]

scalars = st.one_of(
    st.sampled_from(_INTERESTING),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(["simulated", "kassa/v1", "kassa/#", "abc", "19.00", "EUR", "mqtt://h:1883", "serial:///dev/x",
                     "gpio:17", "gpio:red=5,green=6", "usb://0x04b8:0x0202", "S001", "", "/var/lib/kassa", "$SYS"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


PLAUSIBLE = {
    "device.store": ["S001", "a b", ""],
    "device.register": ["R1", "R" * 33],
    "device.data_dir": ["/var/lib/kassa", "data"],
    "broker.url": ["mqtt://127.0.0.1:1883", "mqtts://b.example:8883", "http://x", "mqtt://h:99999"],
    "broker.prefix": ["kassa/v1", "kassa/#", "a/b/c/d", "a/b/c/d/e", "$SYS", "/x"],
    "hardware.scanner": ["simulated", "serial:///dev/ttyACM0?baud=9600&suffix=cr", "serial://dev", "usb://1:2"],
    "hardware.printer": ["simulated", "usb://0x04b8:0x0202", "tcp://10.0.0.9:9100", "tcp://", "file:///dev/usb/lp0"],
    "hardware.drawer": ["simulated", "printer", "gpio:17?sensor=27", "gpio:99", "printer?pin=3"],
    "hardware.led": ["simulated", "gpio:22", "gpio:red=5,green=6", "gpio:red=17,green=6", "gpio:red=1"],
    "hardware.paper_columns": [32, 42, 48, 40, 80],
    "shop.currency": ["EUR", "JPY", "XYZ", "eur"],
    "shop.tax_rates": [{"A": "19.00"}, {"A": "abc"}, {"A": "100.5"}],
    "shop.address": [["1 Market Street"], ["x" * 101]],
    "shop.name": ["Corner Shop", ""],
}


def _plausible(key: str) -> st.SearchStrategy:
    if key in PLAUSIBLE:
        return st.sampled_from(PLAUSIBLE[key])
    what = BOUNDS.get(key, ("", ""))[0]
    found = re.search(r"from (\S+) to (\S+)", what)
    if not found:
        return values
    lo, hi = (float(x) for x in found.groups())
    if what.startswith("a whole"):
        return st.one_of(st.integers(int(lo), int(hi)), st.sampled_from([int(lo) - 1, int(hi) + 1]))
    return st.one_of(st.floats(lo, hi), st.sampled_from([lo - 0.5, hi + 1, math.nan, math.inf]))


def _good(key: str) -> st.SearchStrategy:
    if key in PLAUSIBLE:
        return st.just(PLAUSIBLE[key][0])
    found = re.search(r"from (\S+) to (\S+)", BOUNDS.get(key, ("", ""))[0])
    if not found:
        return st.nothing()
    lo, hi = (float(x) for x in found.groups())
    return st.integers(int(lo), int(hi)) if BOUNDS[key][0].startswith("a whole") else st.floats(lo, hi)


@st.composite
def near_valid_documents(draw) -> dict:
    """A good document with every key this strategy can make good, then (mostly) one key changed to anything."""
    out: dict = {section: {} for section in SECTION_KEYS}
    for section, keys in SECTION_KEYS.items():
        for key in keys:
            if f"{section}.{key}" in PLAUSIBLE or f"{section}.{key}" in BOUNDS and draw(st.booleans()):
                out[section][key] = draw(_good(f"{section}.{key}"))
    if draw(st.integers(0, 3)):
        section = draw(st.sampled_from(list(SECTION_KEYS)))
        key = draw(st.sampled_from(SECTION_KEYS[section]))
        out[section][key] = draw(st.one_of(_plausible(f"{section}.{key}"), values))
    return out


@st.composite
def free_documents(draw) -> dict:
    out: dict = {}
    for section, keys in SECTION_KEYS.items():
        if draw(st.integers(0, 4)) == 0 and section != "device":
            continue  # leave the section out
        table = {}
        for key in draw(st.lists(st.sampled_from(keys), max_size=len(keys), unique=True)):
            table[key] = draw(_plausible(f"{section}.{key}") if draw(st.integers(0, 3)) else values)
        if section == "device" and draw(st.integers(0, 9)):
            table.update(store="S001", register="R1")  # mostly an identity, so the other keys get looked at
        if draw(st.integers(0, 19)) == 0:
            table[draw(st.text(min_size=1, max_size=8))] = draw(values)  # an unknown key
        out[section] = table if draw(st.integers(0, 29)) else draw(values)  # now and then not a table at all
    if draw(st.integers(0, 19)) == 0:
        out[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return out


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_str(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"  # type: ignore[union-attr]


def to_toml(document: dict) -> str:
    return "\n".join(f"{_toml_str(key)} = {_toml_value(value)}" for key, value in document.items()) + "\n"


@pytest.mark.slow  # 300 generated TOML documents
@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(free_documents(), near_valid_documents()))
def test_any_toml_document_is_a_config_or_a_config_error_naming_a_key(document):
    text = to_toml(document)
    data = tomllib.loads(text)  # the generator writes valid TOML; what it means is the config's business
    try:
        config = parse_config(data, "kassa.toml")
    except ConfigError as exc:
        head, *problems = str(exc).split("\n")
        assert head == "kassa.toml is not valid:" and problems
        for line in problems:  # each problem starts with the key it is about: a section, or a key of the document
            written = [*SECTION_KEYS, *(json.dumps(k) for k in data), *data]  # odd keys are quoted, as in TOML
            assert any(line.startswith(f"  {top}") and ": " in line for top in written), line
        return
    assert isinstance(config, Config)
    assert 60 <= config.broker.session_expiry <= MQTT_MAX_SESSION_EXPIRY
    assert "#" not in config.broker.prefix and "+" not in config.broker.prefix
    assert config.hardware.paper_columns in (32, 42, 48)
    assert parse_config(config.model_dump(mode="json")) == config


def test_the_readme_example_config_is_valid_and_its_bounds_match(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    key = tmp_path / "giftcard.key"  # the example's secret, as a technician would install it
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o600)
    assert "/etc/kassa/secrets/giftcard.key" in example
    example = example.replace("/etc/kassa/secrets/giftcard.key", str(key))
    config = parse_config(tomllib.loads(example), "README example")
    assert config.hardware.paper_columns == 42
    assert "session_expiry` 60–4294967295" in section and str(MQTT_MAX_SESSION_EXPIRY) == "4294967295"
    for key in NUMERIC:  # every bounded key is mentioned with its range
        name = key.split(".")[1]
        assert f"`{name}`" in section, name


def test_the_age_check_date_of_birth_policy_is_a_boolean_off_by_default():
    assert parse_config(BASE).shop.age_check_dob is False
    assert parse_config(doc("shop", age_check_dob=True)).shop.age_check_dob is True
    assert "shop.age_check_dob" in refused(doc("shop", age_check_dob="maybe"))
    assert "shop.age_check_dob" in refused(doc("shop", age_check_dob=[1]))
