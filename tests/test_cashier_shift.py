"""A whole shift in a real window, as a cashier works it (issue 13, "Tests, as a cashier").

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480), syncing to a real Mosquitto that a
real `kassa-fleet ingest` listens on. The test touches it only as a shop would: xdotool clicks and keys on the
window (buttons found where the app says it drew them: KASSA_UI_MAP, ui/cli.py) and barcodes written to the
simulated scanner's pty. It logs in; sells a scanned item, a weighed one (0.730, then the Apples key) and a
price-embedded scale label with a cart discount; pays it split, removing a mistyped payment; sells while the
broker is dead and watches the unsent count go back to 0 when it returns; refunds part of the first sale by
scanning its receipt; parks a cart and recalls it by scanning the slip; takes an X, then a Z with counted
cash; logs out.

Then it reads what the shop is left with: the printed receipts (the demo's printer output), the journal
export an accountant gets (`kassa-provision export`) and the fleet database (every receipt exactly once).
Every step leaves a screenshot in screenshots-out/shift/ (named in .gitignore; CI keeps it as an artifact).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from firmware.domain.embedded import EmbeddedScheme
from tests.fleet.kassa_fleet_support import ROOT, IngestProcess, db_query
from tests.support.mosquitto import Mosquitto
from tests.support.xdriver import Driver, UiMap, XServer, require_x_tools

pytestmark = pytest.mark.slow  # a real X server, the demo, a broker and the ingest in processes: ~1 minute

SHOTS = Path(os.environ.get("KASSA_SHOTS_DIR", ROOT / "screenshots-out" / "shift"))
PENCIL, MILK, BREAD = "4006381333931", "4006380134799", "4006380134935"
APPLES_KEY = "quick:10"  # the demo catalog's quick keys: Pencil HB ... Croissant, Apples (11th)
BANANA_LABEL = EmbeddedScheme.from_patterns(["23IIIIIPPPPPC"]).encode("23IIIIIPPPPPC", 41, 456)  # €4.56 of item 41
JOB = re.compile(r"^===== (\S+) (.+?) =====$", re.M)


def printed(data: Path) -> list[tuple[str, str]]:
    """The demo printer's jobs, in order: (header after the job id, text)."""
    path = data / "printer" / "receipts.txt"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    parts = JOB.split(text)
    return [(parts[i + 1], parts[i + 2]) for i in range(1, len(parts) - 1, 3)]


def wait_printed(data: Path, count: int, timeout: float = 10.0) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = printed(data)
        if len(jobs) >= count:
            return jobs
        time.sleep(0.05)
    raise AssertionError(f"{count} print jobs expected, got {[h for h, _ in printed(data)]}")


def money(text: str, label: str) -> str:
    """The amount on a receipt's line that starts with `label` ("TOTAL   €8.06" -> "€8.06")."""
    found = re.search(rf"^{re.escape(label)}\s+(-?€-?[\d.,]+)", text, re.M)
    assert found, f"no {label!r} line on:\n{text}"
    return found.group(1)


class Scanner:
    """The demo's simulated scanner: a pty whose path the demo prints; a scan is the code and a line end."""

    def __init__(self, path: str) -> None:
        self.path = path

    def scan(self, code: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_NOCTTY)
        try:
            os.write(fd, code.encode() + b"\n")
        finally:
            os.close(fd)
        time.sleep(0.2)


class Demo:
    """`kassa demo` on the X display, its stdout in a file; `stop()` is SIGTERM (the journal closes cleanly)."""

    def __init__(self, x: XServer, data: Path, broker: str, ui_map: Path, log: Path) -> None:
        exe = Path(sys.executable).with_name("kassa")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from ui.cli import main; main()"]
        env = x.env()
        env.update(KASSA_UI_MAP=str(ui_map), SDL_AUDIODRIVER="dummy", GPIOZERO_PIN_FACTORY="mock",
                   PYGAME_HIDE_SUPPORT_PROMPT="1")
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd + ["demo", "--data-dir", str(data), "--broker", broker, "--size", "800x480"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def scanner_path(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"Simulated scanner: echo \d+ > (\S+)", self.log.read_text(errors="replace"))
            if found:
                return found.group(1)
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            time.sleep(0.05)
        raise AssertionError("the demo did not print its scanner path:\n" + self.log.read_text(errors="replace"))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


OFFLINE = "mqtt://127.0.0.1:9"  # no broker there: the till works offline


@dataclass
class Till:
    """`kassa demo` on its own X server, as `offline_demo` hands it to a test."""

    data: Path
    ui: UiMap
    drv: Driver
    demo: Demo


@contextlib.contextmanager
def offline_demo(tmp_path: Path, shots: Path) -> Iterator[Till]:
    """`kassa demo` with no broker on a fresh 800x480 Xvfb, up to its login screen, screenshots into `shots`
    (emptied first). On the way out the demo gets SIGTERM and must exit 0 (its log's tail otherwise)."""
    require_x_tools()
    if shots.exists():
        shutil.rmtree(shots)
    x = XServer((800, 480), tmp_path).start()
    data = tmp_path / "data"
    ui = UiMap(tmp_path / "ui-map.json")
    demo = Demo(x, data, OFFLINE, ui.path, tmp_path / "demo.log")
    drv = Driver(x, ui, shots)
    try:
        ui.wait(lambda d: d["screen"] == "login", "the login screen")
        drv.find_window()
        yield Till(data, ui, drv, demo)
    finally:
        code = demo.stop()
        x.stop()
    assert code == 0, (tmp_path / "demo.log").read_text(errors="replace")[-3000:]


def log_in_anna(till: Till) -> None:
    """Anna (c1, PIN 1111) logs in by touch and the sell screen comes up."""
    till.drv.tap("clerk:c1")
    till.drv.tap_keys("pin", "1111")
    till.drv.tap("login")
    till.ui.wait(lambda d: d["screen"] == "sell" and d["clerk"] == "Anna", "the sell screen")


def answer_yes_if_asked(drv: Driver) -> None:
    """A part payment asks first ("Part payment of €5.00?"): the cashier taps Yes."""
    time.sleep(0.2)
    if "Confirm" in drv.ui.read().get("dialogs", []):
        drv.tap("confirm:yes")
        drv.ui.wait(lambda d: "Confirm" not in d["dialogs"], "the question to close")


def manager_pin(drv: Driver) -> None:
    """The manager's PIN dialog is up (a cashier is logged in): Maria types 9999 on the keyboard and Enter."""
    drv.ui.wait(lambda d: d["dialogs"], "the manager PIN dialog")
    drv.keys("9999")
    drv.key("Return")


def test_a_whole_shift_in_a_real_window(tmp_path, stick):
    require_x_tools()
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    broker = Mosquitto(tmp_path / "broker").start()
    fleet_db = tmp_path / "fleet.db"
    ingest = IngestProcess(broker.url, fleet_db, tmp_path, args=("--unsigned",)).start()  # the demo pins no key
    x = XServer((800, 480), tmp_path).start()
    data = tmp_path / "data"
    ui = UiMap(tmp_path / "ui-map.json")
    demo = Demo(x, data, broker.url, ui.path, tmp_path / "demo.log")
    drv = Driver(x, ui, SHOTS)
    facts: dict[str, object] = {}
    try:
        scanner = Scanner(demo.scanner_path())
        ui.wait(lambda d: d["screen"] == "login", "the login screen")
        drv.find_window()
        ui.wait(lambda d: d["online"], "the register to reach the broker")
        drv.shot("login")

        # ---- login: Anna, PIN on the on-screen keypad --------------------------------------------------
        drv.tap("clerk:c1")
        drv.tap_keys("pin", "1111")
        drv.shot("pin-typed")
        drv.tap("login")
        ui.wait(lambda d: d["screen"] == "sell" and d["clerk"] == "Anna", "the sell screen")
        drv.shot("logged-in")

        # ---- sale 1: scanned pencils, 0.730 kg apples, a price-embedded banana label, 10 % off the cart ------
        scanner.scan(PENCIL)
        scanner.scan(PENCIL)
        ui.wait(lambda d: d["due"] == 258, "two pencils in the cart")
        drv.tap_keys("key", "0.730")
        drv.shot("weight-typed")
        drv.tap(APPLES_KEY)
        ui.wait(lambda d: d["due"] == 258 + 182, "0.730 kg apples at €2.49/kg")
        scanner.scan(BANANA_LABEL)
        ui.wait(lambda d: d["due"] == 258 + 182 + 456, f"the scale label {BANANA_LABEL} at €4.56")
        drv.tap_keys("key", "10")
        drv.tap("disc_pct")
        ui.wait(lambda d: d["due"] < 896, "the 10 % cart discount")
        due = ui.read()["due"]
        facts["sale 1 due"] = due
        drv.shot("sale1-cart")

        # ---- split tender, a mistyped payment removed ---------------------------------------------------
        drv.tap("pay")
        ui.wait(lambda d: d["screen"] == "tender", "the tender screen")
        drv.tap_keys("tkey", "1")  # meant 10: "1" is €1.00 on this keypad
        drv.tap("card")
        answer_yes_if_asked(drv)
        ui.wait(lambda d: "tender:remove:0" in d["buttons"], "the €1.00 card payment listed with Remove")
        drv.shot("tender-mistyped")
        drv.tap("tender:remove:0")
        ui.wait(lambda d: "tender:remove:0" not in d["buttons"] and d["due"] == due, "the mistyped payment gone")
        drv.tap_keys("tkey", "5")
        drv.tap("cash")
        answer_yes_if_asked(drv)
        ui.wait(lambda d: d["due"] == due - 500, "€5.00 cash taken")
        drv.shot("tender-part-cash")
        drv.tap("card")  # the rest by card
        answer_yes_if_asked(drv)
        ui.wait(lambda d: d["screen"] == "done", "the sale finished")
        drv.shot("sale1-done")
        drv.tap("new_sale")
        ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "a new sale")

        # ---- sale 2, online: exact cash -------------------------------------------------------------------
        scanner.scan(MILK)
        ui.wait(lambda d: d["due"] == 119, "milk")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "sale 2 finished")
        drv.tap("new_sale")
        ui.wait(lambda d: d["pending"] == 0, "sale 2 confirmed by the fleet", 30)

        # ---- the broker dies: two sales offline -----------------------------------------------------------
        broker.kill()
        ui.wait(lambda d: not d["online"], "the offline state", 90)
        for code, price in ((BREAD, 289), (PENCIL, 129)):
            ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "an empty cart")
            scanner.scan(code)
            ui.wait(lambda d, p=price: d["due"] == p, f"item {code}")
            drv.tap("pay")
            drv.tap("exact")
            ui.wait(lambda d: d["screen"] == "done", "an offline sale finished")
            drv.tap("new_sale")
        ui.wait(lambda d: d["pending"] == 2 and not d["online"], "2 unsent")
        drv.shot("offline-2-unsent")
        broker.start()
        back = time.monotonic()
        ui.wait(lambda d: d["online"], "the reconnect", 60)
        facts["reconnect s"] = round(time.monotonic() - back, 1)
        drv.shot("reconnected")
        ui.wait(lambda d: d["pending"] == 0, "the unsent count back to 0", 60)
        facts["drained s"] = round(time.monotonic() - back, 1)
        drv.shot("all-sent")

        # ---- partial refund of sale 1, found by scanning its receipt -------------------------------------
        jobs = printed(data)
        sale1 = next(text for head, text in jobs if head.startswith("receipt") and "Apples per kg" in text)
        receipt_id = re.search(r"^Receipt: (\S+)", sale1, re.M).group(1)
        drv.tap("manager")
        manager_pin(drv)
        ui.wait(lambda d: d["screen"] == "manager" and not d["dialogs"], "the manager screen")
        drv.tap("refund")
        drv.shot("refund-find")
        scanner.scan(receipt_id)
        doc = ui.wait(lambda d: any(b.startswith("refund:plus:") for b in d["buttons"]), "the receipt's lines")
        drv.tap(sorted(b for b in doc["buttons"] if b.startswith("refund:plus:"))[0])  # one of the two pencils
        drv.shot("refund-one-pencil")
        drv.tap("refund:cash")
        ui.wait(lambda d: d["screen"] == "done", "the refund done")
        drv.shot("refund-done")
        drv.tap("new_sale")
        ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "a new sale")

        # ---- park a cart, recall it by scanning the slip, pay -------------------------------------------
        count = len(printed(data))
        scanner.scan(MILK)
        scanner.scan(BREAD)
        ui.wait(lambda d: d["due"] == 119 + 289, "milk and bread")
        drv.tap("park")
        ui.wait(lambda d: d["lines"] == 0, "the cart parked")
        drv.shot("parked")
        slip = wait_printed(data, count + 1)[-1][1]
        code = re.search(r"\[(?:BARCODE|QR|CODE\w*) ([^\]]+)\]", slip)
        assert code, f"the park slip has no barcode:\n{slip}"
        facts["park slip"] = slip
        scanner.scan(code.group(1))
        ui.wait(lambda d: d["due"] == 119 + 289, "the parked cart back")
        drv.shot("recalled")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the recalled sale finished")
        drv.tap("new_sale")
        ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "a new sale")

        # ---- X, then Z with counted cash ------------------------------------------------------------------
        drv.tap("manager")
        manager_pin(drv)
        ui.wait(lambda d: d["screen"] == "manager" and not d["dialogs"], "the manager screen")
        drv.tap("x_report")
        time.sleep(0.5)
        drv.shot("x-report")
        drv.tap("z_report")
        doc = ui.wait(lambda d: d["dialogs"] and "dlg:ok" in d["buttons"], "the counted-cash dialog")
        # €10.00 counted: typed as money where the keypad has a decimal point, else in cents (the older keypad)
        drv.tap_keys("dlg", "10.00" if "dlg:." in doc["buttons"] else "1000")
        drv.shot("z-counted-typed")
        drv.tap("dlg:ok")
        answer_yes_if_asked(drv)
        ui.wait(lambda d: not d["dialogs"], "the Z report")
        time.sleep(0.5)
        drv.shot("z-report")
        if "report:down" in ui.read()["buttons"]:
            for _ in range(3):
                drv.tap("report:down")
            drv.shot("z-report-scrolled")
        drv.tap("mgr_back")
        ui.wait(lambda d: d["screen"] == "sell", "back on the sell screen")

        # ---- logout ---------------------------------------------------------------------------------------
        drv.tap("bar:logout")
        ui.wait(lambda d: d["screen"] == "login" and d["clerk"] is None, "the login screen")
        drv.shot("logged-out")
        final = ui.read()
    finally:
        code = demo.stop()
        x.stop()
        ingest.stop()
        broker.kill()
    assert code == 0, (tmp_path / "demo.log").read_text(errors="replace")[-3000:]
    assert final["pending"] == 0

    # ---- what was printed ---------------------------------------------------------------------------------
    jobs = printed(data)
    (SHOTS / "printer.txt").write_text(data.joinpath("printer", "receipts.txt").read_text(encoding="utf-8"))
    receipts = [(h, t) for h, t in jobs if h.startswith("receipt DEMO:R1:")]  # not the park slip (its code)
    by_id = {h.split()[1]: t for h, t in receipts}
    assert len(by_id) == len(receipts), "a receipt printed twice without asking for a copy"
    sale1 = by_id[receipt_id]
    assert money(sale1, "TOTAL") == f"€{Decimal(due) / 100:.2f}"
    assert "0.730 kg x €2.49/kg" in sale1
    assert re.search(r"^Cash\s+€5\.00", sale1, re.M) and re.search(r"^Card\s+€", sale1, re.M)
    assert not re.search(r"€1\.00\b", sale1), "the removed €1.00 payment was printed"
    assert re.search(r"discount", sale1, re.I), "the cart discount is not on the receipt"
    refunds = [t for t in by_id.values() if re.search(r"REFUND", t)]
    assert len(refunds) == 1 and "Pencil HB" in refunds[0] and "-€" in refunds[0]
    titles = [h for h, _ in jobs]
    [x_report] = [t for h, t in jobs if h == "X report"]
    [z_report] = [t for h, t in jobs if h == "Z report"]
    assert money(x_report, "Net sales") == money(z_report, "Net sales"), titles
    assert money(z_report, "Counted") == "€10.00"
    expected = Decimal(money(z_report, "Expected in the drawer").removeprefix("€"))
    assert money(z_report, "Difference (short)") == f"-€{expected - 10:.2f}"
    (SHOTS / "facts.json").write_text(json.dumps({k: str(v) for k, v in facts.items()}, indent=1))

    # ---- the journal export an accountant gets ------------------------------------------------------------
    cfg = tmp_path / "kassa.toml"
    cfg.write_text(f'[device]\nstore = "DEMO"\nregister = "R1"\ndata_dir = "{data}"\n'
                   f'[broker]\nurl = "{broker.url}"\n'
                   '[hardware]\nscanner = "simulated"\nprinter = "simulated"\ndrawer = "simulated"\n'
                   'led = "simulated"\n')
    out = stick  # a mounted tmpfs as root (the export refuses a folder that is not on a stick)
    today = datetime.now(UTC).date().isoformat()
    done = subprocess.run([str(Path(sys.executable).with_name("kassa-provision")), "export", str(out), "--from", today,
                           "--to", today, "--config", str(cfg)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KASSA_PROVISION_ASSUME_SERVICE": "inactive"})
    assert done.returncode == 0, done.stdout + done.stderr
    [exported_json] = out.glob("*.json")
    exported = json.loads(exported_json.read_text())
    exported = exported["receipts"] if isinstance(exported, dict) else exported
    journal_ids = {r["receipt_id"] for r in exported}
    by_seq = {r["seq"]: r for r in exported}
    assert [by_seq[n]["kind"] for n in sorted(by_seq)] == ["sale"] * 4 + ["refund", "sale"]
    assert [by_seq[n]["offline"] for n in sorted(by_seq)] == [False, False, True, True, False, False]
    assert [(t["type"], t["amount"]) for t in by_seq[1]["tenders"]] == [("cash", 500), ("card", due - 500)]
    assert by_seq[5]["refund_of"] == receipt_id and by_seq[5]["totals"]["total"] == 116  # €1.29 less 10 %
    assert set(by_id) == journal_ids, "printed and journaled receipts differ"
    [csv_file] = out.glob("*.csv")
    assert "€" in csv_file.read_text(encoding="utf-8") or "EUR" in csv_file.read_text(encoding="utf-8")
    shutil.copytree(out, SHOTS / "export", dirs_exist_ok=True)

    # ---- the fleet database: every receipt exactly once ---------------------------------------------------
    rows = db_query(fleet_db, "SELECT receipt_id, seq FROM receipts WHERE store='DEMO' AND register='R1' ORDER BY seq")
    assert sorted(r[0] for r in rows) == sorted(journal_ids)
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 6  # 5 sales (one split, two offline, one recalled) and the refund
    assert facts["reconnect s"] < 15, f"reconnect took {facts['reconnect s']} s after the broker came back"
