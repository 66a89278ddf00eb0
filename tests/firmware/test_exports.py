"""firmware.exports: streamed CSV and JSON files that a spreadsheet and a JSON reader both open."""

from __future__ import annotations

import csv
import json
import re

import pytest

from firmware.domain.money import format_money
from firmware.domain.receipt_model import Receipt
from firmware.exports import LINE_COLUMNS, MONEY_COLUMNS, export_receipts
from tests.contract.kassa_samples import make_chain


@pytest.mark.parametrize("n", [0, 1, 3])
def test_the_json_is_an_array_of_the_receipts_one_per_line_and_the_csv_one_row_per_line(stick, tmp_path, n):
    receipts = make_chain(n, pad=1)
    counted = []
    result = export_receipts(map(Receipt.from_doc, receipts), stick, "stem", progress=counted.append,
                             data_dir=tmp_path / "data")
    assert result.receipts == n == len(counted)
    text = result.receipts_json.read_text(encoding="utf-8")
    assert json.loads(text) == receipts
    assert len(text.splitlines()) == (n + 2 if n else 1)  # "[", a line per receipt, "]"
    rows = list(csv.reader(result.lines_csv.open(encoding="utf-8", newline="")))
    assert rows[0] == list(LINE_COLUMNS)
    sku = LINE_COLUMNS.index("sku")
    assert [(r[0], r[sku]) for r in rows[1:]] == [
        (rc["receipt_id"], line["sku"]) for rc in receipts for line in rc["lines"]
    ]


def test_a_failure_midway_leaves_neither_file_nor_a_temp_file(stick, tmp_path):
    def receipts():
        yield from map(Receipt.from_doc, make_chain(2))
        raise OSError(5, "Input/output error")

    with pytest.raises(OSError):
        export_receipts(receipts(), stick / "sub", "stem", data_dir=tmp_path / "data")
    assert list((stick / "sub").iterdir()) == []


def test_a_new_export_replaces_the_old_one_whole(stick, tmp_path):
    export_receipts(map(Receipt.from_doc, make_chain(3)), stick, "same", data_dir=tmp_path / "data")
    result = export_receipts(map(Receipt.from_doc, make_chain(1)), stick, "same", data_dir=tmp_path / "data")
    assert len(json.loads(result.receipts_json.read_text())) == 1
    assert sorted(p.name for p in stick.iterdir()) == ["same-lines.csv", "same-receipts.json"]


BARE_AMOUNT = re.compile(r"^-?\d+(?:\.\d+)?$")


@pytest.mark.parametrize("display, total", [("symbol", "€"), ("code", "EUR ")])
def test_money_columns_for_people_carry_the_currency_and_the_machine_columns_keep_minor_units(stick, tmp_path,
                                                                                             display, total):
    receipts = make_chain(2, pad=1)
    result = export_receipts(map(Receipt.from_doc, receipts), stick, "money", data_dir=tmp_path / "data",
                             currency_display=display)
    rows = list(csv.DictReader(result.lines_csv.open(encoding="utf-8", newline="")))
    flat = [(rc, line) for rc in receipts for line in rc["lines"]]
    assert len(rows) == len(flat)
    for row, (rc, line) in zip(rows, flat, strict=True):
        assert row["currency"] == rc["currency"] and row["minor_digits"] == "2"
        for column in MONEY_COLUMNS:
            assert row[column] and not BARE_AMOUNT.match(row[column]), (column, row[column])
        assert row["amount"] == format_money(line["amount"], rc["currency"], display)
        assert row["amount"].startswith(total) or row["amount"].startswith("-" + total)
        assert row["unit_price"] == format_money(line["unit_price"], rc["currency"], display)
        assert row["receipt_total"] == format_money(rc["totals"]["total"], rc["currency"], display)
        assert int(row["amount_minor"]) == line["amount"] and int(row["unit_price_minor"]) == line["unit_price"]
        assert int(row["discount_minor"]) == line["discount"]
        assert int(row["receipt_total_minor"]) == rc["totals"]["total"]
        assert row["tenders_minor"] == ";".join(f"{t['type']}:{t['amount']}" for t in rc["tenders"])
    assert all(name.endswith("_minor") for name in LINE_COLUMNS if name.replace("_minor", "") in MONEY_COLUMNS
               and name not in MONEY_COLUMNS)
