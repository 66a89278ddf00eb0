"""`catalog FILE` / `clerks FILE`: every bad row reported; all or nothing; PINs only as salted hashes."""

from __future__ import annotations

import json
from pathlib import Path

from firmware.config import load_config
from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Roster
from firmware.stores import catalog_store, clerk_store

GOOD_CATALOG = """sku,name,price,tax_code,barcodes,weighed,quick_key
P1,Pencil HB,1.29,A,4006381333931,,Pencil
P2,"Paper, A4",4.50,B,,no,
BAN,Bananas,2.99,B,,yes,Bananas
"""
BAD_CATALOG = """sku,name,price,tax_code,barcodes
P1,Pencil HB,1.29,A,4006381333931
P1,Duplicate,1.00,A,
P3,,abc,Z,4006381333932
P4,Too precise,1.234,A,
P5,Shares code,2.00,A,4006381333931
"""
CLERKS = """clerk_id,name,role,pin
c1,Ann,manager,482913
c2,Bob,cashier,7730
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_catalog_csv_is_applied_whole(prov, device: Path, tmp_path: Path):
    result = prov("catalog", write(tmp_path, "c.csv", GOOD_CATALOG), "-c", device)
    assert result.exit_code == 0, result.stderr
    payload = catalog_store(load_config(device).device.data_dir).load()
    catalog = Catalog.from_payload(payload)
    assert catalog.by_sku("P2").price == 450 and catalog.by_sku("P2").name == "Paper, A4"
    assert catalog.by_barcode("4006381333931").sku == "P1"
    assert catalog.by_sku("BAN").weighed
    assert [(k.label, k.sku) for k in catalog.quick_keys] == [("Pencil", "P1"), ("Bananas", "BAN")]
    assert payload["version"] == 1 and payload["currency"] == "EUR"


def test_bad_catalog_reports_every_row_and_applies_nothing(prov, device: Path, tmp_path: Path):
    prov("catalog", write(tmp_path, "good.csv", GOOD_CATALOG), "-c", device)
    store = catalog_store(load_config(device).device.data_dir)
    before = store.path.read_bytes()
    result = prov("catalog", write(tmp_path, "bad.csv", BAD_CATALOG), "-c", device)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    for expected in (
        "line 3 │ sku │ P1 already given at line 2",
        "line 4 │ name │ missing",
        "line 4 │ price",
        "line 4 │ tax_code │ 'Z' is not a configured tax code",
        "line 4 │ barcodes",
        "line 5 │ price │ Too many decimals",
        "line 6 │ barcodes │ 4006381333931 already belongs to the item at line 2",
    ):
        assert expected in out, expected
    assert "nothing was applied" in result.stderr
    assert store.path.read_bytes() == before


def test_catalog_json_in_contract_shape(prov, device: Path, tmp_path: Path):
    doc = {"version": 7, "currency": "EUR", "items": [
        {"sku": "X", "name": "Thing", "price": 250, "tax_code": "A", "barcodes": ["96385074"]}],
        "quick_keys": [{"label": "Thing", "sku": "X"}, {"label": "Ghost", "sku": "NOPE"}]}
    result = prov("catalog", write(tmp_path, "c.json", json.dumps(doc)), "-c", device)
    assert result.exit_code == 2
    assert "quick_keys[1]" in result.output and "NOPE" in result.output
    doc["quick_keys"].pop()
    doc["items"].append({"sku": "Y", "name": "Y", "price": -1, "tax_code": "A"})
    result = prov("catalog", write(tmp_path, "c.json", json.dumps(doc)), "-c", device)
    assert result.exit_code == 2 and "items[1]" in result.output and "negative" in result.output
    doc["items"].pop()
    result = prov("catalog", write(tmp_path, "c.json", json.dumps(doc)), "-c", device)
    assert result.exit_code == 0, result.output + result.stderr
    assert catalog_store(load_config(device).device.data_dir).version == 7


def test_older_version_is_refused_unless_forced(prov, device: Path, tmp_path: Path):
    path = write(tmp_path, "c.csv", GOOD_CATALOG)
    assert prov("catalog", path, "-c", device, "--version", "5").exit_code == 0
    result = prov("catalog", path, "-c", device, "--version", "3")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert prov("catalog", path, "-c", device).exit_code == 0  # default: held + 1
    assert catalog_store(load_config(device).device.data_dir).version == 6
    assert prov("catalog", path, "-c", device, "--version", "2", "--force").exit_code == 0


def test_missing_file_and_wrong_columns_name_the_fix(prov, device: Path, tmp_path: Path):
    result = prov("catalog", tmp_path / "nope.csv", "-c", device)
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = prov("catalog", write(tmp_path, "w.csv", "sku,label,price\n1,2,3\n"), "-c", device)
    assert result.exit_code == 2 and "label" in result.stderr and "sku,name,price" in result.stderr


def test_without_config_the_error_names_init(prov, tmp_path: Path):
    result = prov("catalog", write(tmp_path, "c.csv", GOOD_CATALOG), "-c", tmp_path / "none.toml")
    assert result.exit_code == 2 and "kassa-provision init" in result.stderr


def test_clerks_pins_are_hashed_and_never_echoed(prov, device: Path, tmp_path: Path):
    result = prov("clerks", write(tmp_path, "k.csv", CLERKS), "-c", device)
    assert result.exit_code == 0, result.stderr
    store = clerk_store(load_config(device).device.data_dir)
    raw = store.path.read_text()
    assert "482913" not in raw and "7730" not in raw
    roster = Roster.from_payload(store.load())
    assert roster.authenticate("c1", "482913").name == "Ann"
    assert roster.approve("482913").clerk_id == "c1"
    assert roster.authenticate("c2", "0000") is None
    assert "482913" not in result.output + result.stderr


def test_bad_clerks_report_rows_without_revealing_pins(prov, device: Path, tmp_path: Path):
    text = "clerk_id,name,role,pin\nc1,Ann,boss,12\nc1,Ann,manager,99887766\nc 3,,cashier,1234abcd\n"
    result = prov("clerks", write(tmp_path, "k.csv", text), "-c", device)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "line 2 │ role" in out and "line 2 │ pin │ A PIN is 4 to 12 digits" in out
    assert "line 4 │ clerk_id" in out and "line 4 │ name" in out and "line 4 │ pin" in out
    assert "1234abcd" not in result.output + result.stderr
    assert clerk_store(load_config(device).device.data_dir).load() is None


def test_clerks_need_a_manager(prov, device: Path, tmp_path: Path):
    result = prov("clerks", write(tmp_path, "k.csv", "clerk_id,name,role,pin\nc2,Bob,cashier,7730\n"), "-c", device)
    assert result.exit_code == 2 and "no manager" in result.output


def test_clerks_json_with_existing_hash(prov, device: Path, tmp_path: Path):
    from firmware.domain.clerks import hash_pin

    doc = {"version": 3, "clerks": [{"clerk_id": "m", "name": "Mia", "role": "manager", "pin_hash": hash_pin("5555")},
                                    {"clerk_id": "x", "name": "X", "role": "cashier", "pin_hash": "plain"}]}
    result = prov("clerks", write(tmp_path, "k.json", json.dumps(doc)), "-c", device)
    assert result.exit_code == 2 and "clerks[1]" in result.output and "pin_hash" in result.output
    doc["clerks"].pop()
    assert prov("clerks", write(tmp_path, "k.json", json.dumps(doc)), "-c", device).exit_code == 0
    assert Roster.from_payload(clerk_store(load_config(device).device.data_dir).load()).authenticate("m", "5555")


PROMPT_CATALOG = """sku,name,price,tax_code,prompt,min_age
W1,Red wine,6.99,A,check ID: 18+,18
V1,Glass vase,12.99,A,Fragile,
"""
BAD_PROMPTS = """sku,name,price,tax_code,prompt,min_age
W1,Red wine,6.99,A,check ID,eighteen
W2,Schnapps,9.99,A,check ID,120
W3,Long,1.00,A,{long},18
""".format(long="x" * 81)


def test_catalog_csv_carries_item_prompts_and_minimum_ages(prov, device: Path, tmp_path: Path):
    result = prov("catalog", write(tmp_path, "p.csv", PROMPT_CATALOG), "-c", device)
    assert result.exit_code == 0, result.stderr
    catalog = Catalog.from_payload(catalog_store(load_config(device).device.data_dir).load())
    assert (catalog.by_sku("W1").prompt, catalog.by_sku("W1").min_age) == ("check ID: 18+", 18)
    assert (catalog.by_sku("V1").prompt, catalog.by_sku("V1").min_age) == ("Fragile", 0)


def test_bad_prompts_and_ages_are_reported_by_line_column_and_value(prov, device: Path, tmp_path: Path):
    result = prov("catalog", write(tmp_path, "bad.csv", BAD_PROMPTS), "-c", device)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    for expected in ("line 2 │ min_age │ must be a whole number", "│ eighteen │",
                     "line 3 │ min_age │ must be from 0 to 99", "│ 120 │",
                     "line 4 │ prompt │ longer than 80 characters", "│ xxxx"):
        assert expected in out, (expected, result.output)
    assert "nothing was applied" in result.stderr
