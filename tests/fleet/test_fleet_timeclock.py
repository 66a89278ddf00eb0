"""The fleet's time clock: what to do with an arriving punch, chain checks, and the store's hours report."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from zoneinfo import ZoneInfo

from firmware.contract.chain import GENESIS
from firmware.contract.payloads import decode
from firmware.contract.timeclock import PunchMessage, punch_id, seal_punch
from fleet.timeclock import PUNCHES_SQL, check_chains, classify, hours_rows, store_hours

BERLIN = ZoneInfo("Europe/Berlin")


def chain(register: str, punches: list[tuple[str, str, str]], epoch: str = "e1") -> list[PunchMessage]:
    """(clerk, kind, local Berlin time) in order, sealed as register `register` would journal them."""
    out, prev = [], GENESIS
    for seq, (clerk, kind, local) in enumerate(punches, 1):
        at = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))
        doc = seal_punch({"punch_id": punch_id("S001", register, epoch, seq), "store": "S001", "register": register,
                          "seq": seq, "clerk_id": clerk, "kind": kind, "clock_trusted": True,
                          "at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}, prev)
        prev = doc["hash"]
        out.append(decode(PunchMessage, json.dumps(doc)))
    return out


def test_classify_new_duplicate_conflict_and_bad_hash():
    message = chain("R1", [("c7", "clock_in", "2026-11-25 08:00")])[0]
    assert classify(None, message) == "new"
    assert classify(message.hash, message) == "duplicate"
    assert classify("0" * 64, message) == "conflict"
    forged = message.model_copy(update={"clerk_id": "m1"})
    assert classify(None, forged) == "bad_hash"
    raw = json.loads(message.model_dump_json())  # a default the register never sent is not part of its hash
    assert classify(None, message, raw) == "bad_hash"
    assert classify(None, message, message.model_dump(mode="json", exclude_unset=True)) == "new"


def test_a_clerk_clocking_in_on_one_register_and_out_on_another_is_one_shift():
    r1 = chain("R1", [("c7", "clock_in", "2026-11-25 22:00"), ("m1", "clock_in", "2026-11-25 09:00"),
                      ("m1", "clock_out", "2026-11-25 17:00")])
    r2 = chain("R2", [("c7", "break_start", "2026-11-26 01:00"), ("c7", "break_end", "2026-11-26 01:30"),
                      ("c7", "clock_out", "2026-11-26 06:00")])
    payload = store_hours([*r2, *r1, *r1], BERLIN, kind="z", clerk_names={"c7": "Anna"})  # r1 arrived twice
    rows = [(r["day"], r["clerk_id"], r["worked_seconds"] / 3600, r["break_seconds"] / 3600, r["name"])
            for r in payload["days"]]
    assert rows == [("2026-11-25", "c7", 2.0, 0.0, "Anna"), ("2026-11-25", "m1", 8.0, 0.0, "m1"),
                    ("2026-11-26", "c7", 5.5, 0.5, "Anna")]
    assert payload["problems"] == [] and payload["chain_breaks"] == [] and payload["open_shifts"] == []
    text = "\n".join(hours_rows(payload))
    assert "2026-11-26  Anna" in text and "5:30    0:30" in text


def test_open_shifts_and_day_ranges_on_the_fleet():
    r1 = chain("R1", [("c7", "clock_in", "2026-11-25 08:00")])
    as_of = datetime(2026, 11, 25, 12, tzinfo=BERLIN)
    x = store_hours(r1, BERLIN, kind="x", as_of=as_of)
    assert x["days"][0]["worked_seconds"] == 4 * 3600 and x["days"][0]["open"]
    assert x["open_shifts"][0]["clock_in"] == "2026-11-25T07:00:00Z" and "open" in "\n".join(hours_rows(x))
    assert store_hours(r1, BERLIN, kind="x", as_of=as_of, first_day=date(2026, 11, 26))["days"] == []


def test_chain_breaks_are_named():
    good = chain("R1", [("c7", "clock_in", "2026-11-25 08:00"), ("c7", "clock_out", "2026-11-25 16:00"),
                        ("c7", "clock_in", "2026-11-26 08:00")])
    assert check_chains(good) == []
    other = chain("R1", [("c7", "clock_in", "2026-11-25 08:00"), ("c7", "clock_out", "2026-11-25 17:00")])
    assert check_chains([good[0], other[1], good[2]]) == ["S001/R1 epoch e1: punch 3 does not link to punch 2"]
    assert check_chains([other[1], good[2]]) == ["S001/R1 epoch e1: punch 3 does not link to punch 2"]
    assert check_chains([good[2]]) == []  # a gap is not a break


def test_the_punches_tables_create_on_sqlite():
    db = sqlite3.connect(":memory:")
    db.executescript(PUNCHES_SQL)
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {
        "punches", "punch_conflicts"}
