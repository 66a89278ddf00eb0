"""The time clock in a real window, by touch (issue 17 "On screen", docs/timeclock.md).

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480); the test only clicks and types with
xdotool, finding buttons where the app says it drew them (KASSA_UI_MAP, ui/cli.py). From the login screen, without
logging in to sell, Anna clocks in, starts a break, ends it and clocks out; each time she picks her name and types
her PIN (once on the on-screen pad, once on the keyboard), sees where she stands and only the punches allowed, and
is back at the login screen with the register's words. A wrong PIN gets no punches. Then Maria, a manager, opens
the Hours page and prints it. Screenshots of every step go to screenshots-out/timeclock/ (named in .gitignore).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.xdriver import Driver
from tests.test_cashier_shift import ROOT, offline_demo, printed, wait_printed

pytestmark = pytest.mark.slow  # a real X server and the demo in a process: ~30 s

SHOTS = ROOT / "screenshots-out" / "timeclock"


def punches_offered(doc: dict) -> set[str]:
    return {b.removeprefix("punch:") for b in doc.get("buttons", {}) if b.startswith("punch:")} - {"cancel"}


def open_time_clock(drv: Driver, clerk: str, pin: str, keyboard: bool = False) -> dict:
    """Time clock, the clerk, the PIN (on-screen pad or the keyboard and Enter); the map once the punches show."""
    drv.tap("timeclock")
    drv.ui.wait(lambda d: d["dialogs"] == ["TimeClockPin"], "the time clock's PIN pad")
    drv.tap(f"clerk:{clerk}")
    if keyboard:
        drv.keys(pin)
        drv.key("Return")
    else:
        drv.tap_keys("pin", pin)
        drv.tap("timeclock:go")
    return drv.ui.wait(lambda d: d["dialogs"] == ["TimeClockPin", "PunchDialog"] and punches_offered(d),
                       "the clerk's punches")


def punch(drv: Driver, kind: str, said: str) -> dict:
    """Tap a punch; the login screen is back with the register's sentence as a toast."""
    drv.tap(f"punch:{kind}")
    return drv.ui.wait(lambda d: d["dialogs"] == [] and d["screen"] == "login" and re.match(said, d["toast"] or ""),
                       f"the login screen saying {said!r}")


def test_a_clerk_punches_a_whole_shift_by_touch_and_a_manager_prints_the_hours(tmp_path):
    said: list[str] = []
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv = till.data, till.ui, till.drv
        drv.shot("login")

        # ---- a wrong PIN: no punches offered ----------------------------------------------------------------
        drv.tap("timeclock")
        ui.wait(lambda d: d["dialogs"] == ["TimeClockPin"], "the time clock's PIN pad")
        drv.tap("clerk:c1")
        drv.tap_keys("pin", "1234")
        drv.tap("timeclock:go")
        time.sleep(0.3)
        assert ui.read()["dialogs"] == ["TimeClockPin"] and not punches_offered(ui.read())
        drv.shot("wrong-pin")
        drv.tap("timeclock:back")
        ui.wait(lambda d: d["dialogs"] == [], "back at the login screen")

        # ---- clock in --------------------------------------------------------------------------------------
        doc = open_time_clock(drv, "c1", "1111")
        assert punches_offered(doc) == {"clock_in"}
        drv.shot("not-clocked-in")
        doc = punch(drv, "clock_in", r"Anna clocked in at \d\d:\d\d")
        said.append(doc["toast"])
        assert doc["clerk"] is None  # punched without logging in to sell
        drv.shot("clocked-in")

        # ---- a break, the PIN typed on the keyboard ---------------------------------------------------------
        doc = open_time_clock(drv, "c1", "1111", keyboard=True)
        assert punches_offered(doc) == {"break_start", "clock_out"}
        drv.shot("working")
        said.append(punch(drv, "break_start", r"Anna is on a break since \d\d:\d\d")["toast"])
        drv.shot("break-started")
        doc = open_time_clock(drv, "c1", "1111")
        assert punches_offered(doc) == {"break_end"}
        drv.shot("on-break")
        said.append(punch(drv, "break_end", r"Anna ended the break at \d\d:\d\d")["toast"])

        # ---- clock out --------------------------------------------------------------------------------------
        doc = open_time_clock(drv, "c1", "1111")
        assert punches_offered(doc) == {"break_start", "clock_out"}
        drv.shot("back-from-break")
        said.append(punch(drv, "clock_out", r"Anna clocked out at \d\d:\d\d")["toast"])
        drv.shot("clocked-out")

        # ---- Ben clocks in and stays: an open shift on the hours page ----------------------------------------
        open_time_clock(drv, "c2", "2222")
        said.append(punch(drv, "clock_in", r"Ben clocked in at \d\d:\d\d")["toast"])

        # ---- Maria, a manager: the hours page, printed --------------------------------------------------------
        ui.wait(lambda d: d["toast"] is None, "Ben's toast to fade", timeout=15)
        drv.tap("clerk:m1")
        drv.tap_keys("pin", "9999")
        drv.tap("login")
        ui.wait(lambda d: d["screen"] == "sell" and d["clerk"] == "Maria", "the sell screen")
        drv.tap("manager")
        ui.wait(lambda d: d["screen"] == "manager" and "hours" in d["buttons"], "the manager screen")
        drv.shot("manager")
        drv.tap("hours")
        ui.wait(lambda d: "report:print" in d["buttons"], "the hours page")
        drv.shot("hours")
        drv.tap("report:down")  # the rest of the page: Ben, still working, and the total
        time.sleep(0.2)
        drv.shot("hours-scrolled")
        jobs = len(printed(data))
        drv.tap("report:print")
        ui.wait(lambda d: d["toast"] == "The hours are printing.", "the print to start")
        wait_printed(data, jobs + 1)
        drv.shot("hours-printing")
        drv.tap("mgr_back")
        drv.tap("bar:logout")
        ui.wait(lambda d: d["screen"] == "login" and d["clerk"] is None, "the login screen")

    assert [re.sub(r"\d\d:\d\d", "HH:MM", s).removesuffix(" (clock unverified)") for s in said] == [
        "Anna clocked in at HH:MM", "Anna is on a break since HH:MM", "Anna ended the break at HH:MM",
        "Anna clocked out at HH:MM", "Ben clocked in at HH:MM"]
    [hours] = [text for header, text in printed(data) if header == "Hours"]
    Path(SHOTS / "hours.txt").write_text(hours, encoding="utf-8")
    assert "Hours today · so far" in hours and "Kassa Demo Shop" in hours
    assert hours.index("ANNA") < hours.index("BEN") < hours.index("ALL CLERKS")
    anna, ben = hours.split("BEN")[0].split("ANNA")[1], hours.split("BEN")[1].split("ALL CLERKS")[0]
    assert re.search(r"^Clocked out +\d\d:\d\d$", anna, re.M) and re.search(r"^Breaks +\d+ min$", anna, re.M)
    assert re.search(r"^Now +working since \d\d:\d\d$", ben, re.M) and "Worked, so far" in ben
    assert re.search(r"^Worked \(2 clerks\) +\d+ min$", hours, re.M)
