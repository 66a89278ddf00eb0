"""The time clock and e-mail receipts end to end: a real register (journal on disk), a real Mosquitto, the fleet's
real ingest (SQLite) and its CLI, and a real SMTP sink (aiosmtpd on 127.0.0.1).

- Punches across power cuts: a register process punching round the clock is SIGKILLed at random moments; every
  punch it saw saved survives, seq and chain are unbroken, nothing is there twice; a register started on that
  journal sends them to the fleet, which holds each once, in one chain, and `kassa-fleet hours` counts them.
- An e-mail asked for at the till while the broker is down is journaled, sent when the link comes back, accepted
  by the ingest, and `kassa-fleet mailer --once` delivers it (once) with the receipt in it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.contract.chain import GENESIS, receipt_hash
from firmware.contract.mail import message_id
from firmware.contract.signing import new_key_pair
from firmware.domain.timeclock import Punch as DomainPunch, hours_report
from firmware.register.commands import MailReceipt
from tests.firmware.register.punch_child import CYCLE, START, at, kind
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, IngestProcess, db_query
from tests.fleet.test_fleet_mailer import Sink
from tests.support.kill_loop import kill_at_random
from tests.support.mosquitto import Mosquitto
from tests.test_end_to_end import PENCIL, pump_until

pytestmark = pytest.mark.slow  # processes killed, a broker, the ingest, an SMTP sink

DOMAIN = "receipts.demo.example"
STATE_AFTER = {"clock_in": "working", "break_start": "on_break", "break_end": "working", "clock_out": "off"}


def broker_config(data, url: str, broker: dict | None = None, **sections):
    return demo_config(data, broker_url=url, hardware={"scanner": "simulated:memory"},
                       broker={"url": url, "resend_after": 5, "keepalive": 5, "backoff_cap": 1, **(broker or {})},
                       **sections)


def punch_in_a_loop_and_kill(data, runs: int, seed: int) -> list[int]:
    """Run the punching child `runs` times, SIGKILLed each time at a random moment; the seqs it saw saved."""
    return [int(line) for line in kill_at_random("tests.firmware.register.punch_child", str(data), runs=runs,
                                                 seed=seed)]


def test_punches_across_power_cuts_reach_the_fleet_once_in_one_chain_and_kassa_fleet_hours_counts_them(tmp_path):
    data = tmp_path / "data"
    reported = punch_in_a_loop_and_kill(data, runs=6, seed=23)
    assert len(reported) >= 8, "the child punched almost nothing before being killed"
    assert reported == sorted(set(reported))  # each seq saved once, in order, across the kills

    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    ingest = IngestProcess(broker.url, db, tmp_path, args=("--unsigned",)).start()  # the register pins no key
    pins = seed_demo(data)
    key_file = tmp_path / "fleet-key.pem"  # a pinned fleet key: acks stay plain (as receipts' acks), never signed
    key_file.write_bytes(new_key_pair()[1])
    reg = bootstrap(broker_config(data, broker.url, broker={"fleet_key_file": str(key_file)}), demo_pins=pins)
    try:
        journaled = [doc for _key, doc in sorted(reg.journal.states("punch").items())]
        n = len(journaled)
        # every punch the child saw saved is there; at most the one in flight at each kill more
        assert set(reported) <= {p["seq"] for p in journaled} and n - len(reported) <= 6
        prev = GENESIS
        for seq, doc in enumerate(journaled, start=1):  # seq 1..n, no gap, no duplicate, one unbroken chain
            assert (doc["seq"], doc["kind"], doc["at"]) == (seq, kind(seq), at(seq).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
            assert doc["prev_hash"] == prev and receipt_hash(doc) == doc["hash"]
            prev = doc["hash"]
        assert reg.journal.get_state("punch_head", "head") == {"next_seq": n + 1, "last_hash": prev}
        assert reg._state.timeclock.state_of("c1").state == STATE_AFTER[kind(n)]  # replayed at start-up

        pump_until(reg, lambda: not reg.journal.states("punch_pending"), timeout=60, what="every punch confirmed")
        assert reg.journal.states("punch_conflict") == {}
        assert reg.sync.state().downlink_rejected == 0
        junk = BareDevice(broker.url, "X", "Y")  # what a broken fleet tool might publish: refused whole, counted
        junk.publish(reg.sync.topics.punch_acks, b'{"punch_ids": "all"}')
        junk.close()
        pump_until(reg, lambda: reg.sync.state().downlink_rejected == 1, what="the junk ack refused")
    finally:
        reg.shutdown()
        ingest.stop()
        broker.kill()

    rows = db_query(db, "SELECT seq, punch_id, kind, at, prev_hash, hash FROM punches WHERE store='DEMO' "
                        "ORDER BY seq")
    assert rows == [(p["seq"], p["punch_id"], p["kind"], p["at"], p["prev_hash"], p["hash"]) for p in journaled]
    assert db_query(db, "SELECT COUNT(*) FROM punch_conflicts") == [(0,)]

    last_day = (at(n)).date()
    out = subprocess.run([sys.executable, "-m", "fleet.cli", "hours", "--db", f"sqlite:///{db}", "--store", "DEMO",
                          "--from", START.date().isoformat(), "--to", last_day.isoformat(), "--tz", "UTC", "--z",
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["chain_breaks"] == [] and payload["problems"] == []
    # what the till's own journal says, by the same rules
    mine = hours_report([DomainPunch(p["clerk_id"], p["kind"], at(p["seq"]), p["clock_trusted"], p["punch_id"])
                         for p in journaled], START.tzinfo, kind="z")
    assert [(d["day"], d["worked_seconds"], d["break_seconds"]) for d in payload["days"]] == [
        (r.day.isoformat(), r.worked_seconds, r.break_seconds) for r in mine.days]
    # and by hand: each in-break-back-out cycle of 15-minute steps is 30 minutes worked and a 15-minute break
    cycles, rest = divmod(n, len(CYCLE))
    worked = cycles * 30 + (15 if rest >= 2 else 0)
    breaks = cycles * 15 + (15 if rest == 3 else 0)
    assert sum(d["worked_seconds"] for d in payload["days"]) == worked * 60
    assert sum(d["break_seconds"] for d in payload["days"]) == breaks * 60
    assert {d["clerk_id"] for d in payload["days"]} == {"c1"}
    assert payload["days"][-1]["day"] <= last_day.isoformat()


def test_an_email_asked_for_while_the_broker_is_down_is_delivered_once_when_the_link_returns(tmp_path):
    broker = Mosquitto(tmp_path / "broker")  # port chosen now, broker not started: the shop is offline
    db = tmp_path / "fleet.db"
    data = tmp_path / "data"
    pins = seed_demo(data)
    reg = bootstrap(broker_config(data, broker.url, shop={"receipt_page": "https://receipts.demo.example"}),
                    demo_pins=pins)
    ingest = None
    try:
        assert reg.login("c1", "1111").ok
        assert reg.scan(PENCIL).ok and reg.tender("cash", 200).ok
        reg.wait_idle()
        receipt = reg.view().last_receipt
        assert receipt.offline is True
        for address, receipt_id, words in [
            ("anna@example", receipt.receipt_id, "The part after the @ is not a valid domain (name@example.com)"),
            ("anna@example.com", "DEMO:R1:0badc0de:7",
             "No receipt DEMO:R1:0badc0de:7 on this register: check the number printed under the barcode."),
        ]:
            out = reg.handle(MailReceipt(receipt_id, address))
            assert (out.ok, out.message) == (False, words)
        out = reg.handle(MailReceipt(receipt.receipt_id, "anna@example.com"))
        assert out.ok and out.message.endswith("once the register is back online.")
        reg.wait_idle()
        [request_id] = reg.journal.states("mail_request")
        pump_until(reg, lambda: reg.view().sync.pending == 1, what="the sale pending")
        assert not reg.view().sync.online

        broker.start()
        ingest = IngestProcess(broker.url, db, tmp_path, args=("--unsigned", "--mail-domain", DOMAIN)).start()
        pump_until(reg, lambda: reg.view().sync.pending == 0 and not reg.journal.states("mail_request"),
                   timeout=60, what="the sale and the e-mail request confirmed")
        done = reg.journal.get_state("mail_done", request_id)
        assert done["receipt_id"] == receipt.receipt_id and "refused" not in done
        assert "anna" not in json.dumps(reg.journal.states("mail_done"))  # the till keeps no address once confirmed
    finally:
        reg.shutdown()
        if ingest is not None:
            ingest.stop()
        broker.kill()
    assert db_query(db, "SELECT request_id, receipt_id, address, state FROM mail_requests") == [
        (request_id, receipt.receipt_id, "anna@example.com", "queued")]

    config = tmp_path / "fleet.toml"
    with Sink() as sink:
        config.write_text(f"""
[mail]
sender = "Kassa Demo Shop <receipts@demo.example>"
message_id_domain = "{DOMAIN}"
receipt_page = "https://receipts.demo.example"
default_time_zone = "UTC"
worker = "w1"
[mail.smtp]
host = "127.0.0.1"
port = {sink.port}
starttls = false
timeout = 10
[mail.headers]
DEMO = ["Kassa Demo Shop", "1 Market Street"]
[mail.clerk_names.DEMO]
c1 = "Anna"
""", encoding="utf-8")
        for _ in range(2):  # the second pass finds nothing due: mailed once
            out = subprocess.run([sys.executable, "-m", "fleet.cli", "mailer", "--db", f"sqlite:///{db}", "--config",
                                  str(config), "--once"], cwd=ROOT, capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
        [mail] = sink.messages
    assert mail["To"] == "anna@example.com"
    assert mail["Message-ID"] == message_id(request_id, DOMAIN)
    body = mail.get_content()
    assert "Pencil" in body and "Clerk: Anna" in body and receipt.receipt_id in body
    assert f"https://receipts.demo.example/r/{receipt.receipt_id.replace(':', '%3A')}?h={receipt.hash[:16]}" in body
    assert db_query(db, "SELECT state FROM mail_requests") == [("sent",)]
