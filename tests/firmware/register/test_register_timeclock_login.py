"""The time clock from the login screen, on a real register (docs/timeclock.md "Integration"): a punch names its
clerk and carries the PIN, checked at the login PIN gate (one lockout with logging in); the register's view says
where each clerk stands and what they may punch; `Hours` sums today's punches and prints them."""

from __future__ import annotations

from datetime import timedelta

from firmware.domain.timeclock import TimeClock
from firmware.register.commands import Hours, Login, Punch
from firmware.register.hours_text import hours_lines
from firmware.register.view import ClerkInfo, LockoutView, TimeClockView
from tests.firmware.register.conftest import login_cashier, wait_for


def punch_at_login(rig, kind: str, minutes: float = 0, clerk: str = "c1", pin: str = "1111") -> str:
    """Punch from the login screen after `minutes`; the register's words once the journal writer answered."""
    reg = rig.register
    rig.clock.advance(minutes * 60)
    out = reg.handle(Punch(kind, clerk, pin))
    assert out.ok, out.message
    assert reg.view().punching == clerk  # being saved: the screen waits for it
    reg.wait_idle()
    assert reg.view().punching is None
    return reg.view().message.text


def test_a_clerk_punches_by_pin_without_logging_in(rig):
    reg = rig.register
    check = reg.handle(Punch.check("c1", "1111"))
    assert check.ok and check.data == ClerkInfo("c1", "Anna", "cashier")
    assert reg.journal.states("punch") == {}  # a check punches nothing
    assert reg.view().time_clock_of("c1") == TimeClockView("c1", "off", None, None, ("clock_in",))

    assert punch_at_login(rig, "clock_in") == "Anna clocked in at 12:00"
    view = reg.view()
    assert view.phase == "login" and view.clerk is None  # nobody was logged in to sell
    anna = view.time_clock_of("c1")
    assert (anna.state, anna.since.hour, anna.shift_start.hour, anna.allowed) == ("working", 12, 12,
                                                                                  ("break_start", "clock_out"))
    assert punch_at_login(rig, "break_start", 180) == "Anna is on a break since 15:00"
    anna = reg.view().time_clock_of("c1")
    assert (anna.state, anna.since.hour, anna.shift_start.hour, anna.allowed) == ("on_break", 15, 12, ("break_end",))
    assert punch_at_login(rig, "break_end", 30) == "Anna ended the break at 15:30"
    assert punch_at_login(rig, "clock_out", 90) == "Anna clocked out at 17:00"
    assert reg.view().time_clock_of("c1").allowed == ("clock_in",)
    docs = [doc for _key, doc in sorted(reg.journal.states("punch").items())]
    assert [(d["clerk_id"], d["kind"]) for d in docs] == [("c1", "clock_in"), ("c1", "break_start"),
                                                          ("c1", "break_end"), ("c1", "clock_out")]

    out = reg.handle(Punch("break_end", "c1", "1111"))  # the domain's refusal, as for a logged-in clerk
    assert (out.ok, out.message) == (False, "Anna is not clocked in, so there is no break to end")


def test_wrong_pins_at_the_time_clock_count_toward_the_login_lockout(rig):
    reg = rig.register
    answers = [reg.handle(Punch.check("c1", "0000")).message, reg.handle(Punch("clock_in", "c1", "0000")).message]
    assert answers == ["Wrong PIN. 2 tries left.", "Wrong PIN. 1 try left."]
    assert reg.lockout("login", "c1") == LockoutView(0, 1)  # what the login screen shows
    assert reg.handle(Login("c1", "0000")).message == "Too many wrong PINs. Try again in 30 s."  # one gate
    out = reg.handle(Punch("clock_in", "c1", "1111"))  # the right PIN, but the gate is shut
    assert (out.ok, out.message) == (False, "Too many wrong PINs. Try again in 30 s.")
    assert reg.journal.states("punch") == {}
    rig.clock.advance(30)
    assert reg.handle(Punch.check("c1", "1111")).ok
    assert reg.lockout("login", "c1") == LockoutView(0, None)  # the right PIN clears it, as a login does
    assert not reg.handle(Punch("clock_in", "nobody", "1111")).ok


def test_the_logged_in_clerks_punch_needs_no_pin_and_a_named_clerk_always_does(rig):
    reg = login_cashier(rig.register)
    assert reg.handle(Punch("clock_in")).ok
    reg.wait_idle()
    out = reg.handle(Punch("clock_in", "c2", ""))
    assert (out.ok, out.message) == (False, "Wrong PIN. 2 tries left.")
    assert reg.view().clerk.clerk_id == "c1"  # a punch by PIN never logs anybody in or out


def test_the_views_time_clock_agrees_with_the_domain_for_a_clerk_with_no_punch():
    assert TimeClockView("x").allowed == TimeClock().allowed("x")


def test_hours_today_counts_open_shifts_so_far_and_prints_the_same_rows(rig):
    reg = rig.register
    punch_at_login(rig, "clock_in")  # Anna 12:00
    punch_at_login(rig, "clock_in", 60, "c2", "2222")  # Ben 13:00
    punch_at_login(rig, "break_start", 60, "c2", "2222")  # Ben 14:00
    punch_at_login(rig, "clock_out", 120)  # Anna out at 16:00
    rig.clock.advance(timedelta(minutes=45).total_seconds())  # 16:45: Ben on a break for 2 h 45 min

    out = reg.handle(Hours())
    assert not out.ok and out.message == "Log in first."  # behind the manager screen, as an X report
    assert reg.login("m1", "9999").ok
    out = reg.handle(Hours())
    assert out.ok
    report = out.data
    worked = {row.clerk_id: row.worked for row in report.days}
    assert worked == {"c1": timedelta(hours=4), "c2": timedelta(hours=1)}
    assert [(s.clerk_id, s.state) for s in report.open_shifts] == [("c2", "on_break")]

    lines = hours_lines(report, 32, tz=reg.config.shop.zone, names={"c1": "Anna", "c2": "Ben"})
    text = "\n".join(lines)
    assert "ANNA" in text and "BEN" in text and text.index("ANNA") < text.index("BEN")
    assert "Worked                4 h 00 min" in lines and "Clocked out                16:00" in lines
    assert "Worked, so far        1 h 00 min" in lines and "Now       on a break since 14:00" in lines
    assert "Worked (2 clerks)     5 h 00 min" in lines
    assert all(len(line) <= 32 for line in lines)

    paper = rig.data_dir / "printer" / "receipts.txt"  # the demo printer's output
    before = len(paper.read_text(encoding="utf-8")) if paper.exists() else 0
    assert reg.handle(Hours(print_out=True)).ok

    def printed() -> str:
        return paper.read_text(encoding="utf-8")[before:] if paper.exists() else ""

    assert wait_for(lambda: "Worked (2 clerks)" in printed()), printed()
    job = printed()
    assert "Hours today · so far" in job and "Kassa Demo Shop" in job and "on a break since 14:00" in job
    assert job.index("ANNA") < job.index("BEN") < job.index("ALL CLERKS")
