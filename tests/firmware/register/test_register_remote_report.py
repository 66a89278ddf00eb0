"""A fleet X report goes one way: sync's `CommandReceived` -> core `SumReport` -> the report worker -> `ReportSummed`
-> core `PublishReport` + `AnswerCommand` -> the shell hands them to sync. No thread per request, none left behind."""

from __future__ import annotations

import threading

from firmware.lifecycle import kassa_threads
from firmware.sync.events import CommandReceived
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale


class _State:
    fault = None


class FakeSync:
    """`SyncLink` as the shell sees it; records who called it, from which thread."""

    def __init__(self) -> None:
        self.reports: list[dict] = []
        self.answers: list[tuple[str, bool, str]] = []
        self.callers: set[str] = set()

    def publish_report(self, report: dict) -> None:
        self.callers.add(threading.current_thread().name)
        self.reports.append(report)

    def answer_command(self, command_id: str, ok: bool, detail: str = "") -> None:
        self.callers.add(threading.current_thread().name)
        self.answers.append((command_id, ok, detail))

    def sync_now(self) -> None:
        pass

    def retry_quarantined(self) -> None:
        pass

    def set_status_extra(self, extra: dict) -> None:
        pass

    def state(self) -> _State:
        return _State()

    def stop(self) -> None:
        pass


def _with_sync(reg) -> FakeSync:
    sync = reg.sync = FakeSync()  # the rig runs without a broker; the shell reads `sync` on every call
    return sync


def _ask(reg, command_id: str, **args) -> None:
    reg.events.put(CommandReceived(command_id, "report", args))  # what sync puts on the queue
    reg.pump()
    assert reg._reports.wait_idle(10)
    reg.pump()


def test_a_fleet_x_report_is_summed_by_the_worker_then_published_and_answered_by_the_shell(reg):
    sync = _with_sync(reg)
    login_cashier(reg)
    paid_cash_sale(reg, PENCIL)
    workers = [t for t in kassa_threads() if t.name == "kassa-reports"]
    _ask(reg, "cmd-x", kind="x")
    [report] = sync.reports
    assert report["kind"] == "x" and report["sales"]["count"] == 1 and report["register"] == "R1"
    assert sync.answers == [("cmd-x", True, f"X report {report['report_id']} sent")]
    assert sync.callers == {threading.current_thread().name}  # the shell, on the pumping thread; never the worker
    _ask(reg, "cmd-x2")  # kind defaults to x; the same worker sums it
    assert len(sync.reports) == 2 and sync.answers[-1][:2] == ("cmd-x2", True)
    assert [t for t in kassa_threads() if t.name == "kassa-reports"] == workers  # one worker, no thread per request
    assert not any(t.name == "kassa-remote-report" for t in threading.enumerate())
    assert reg.journal.get_state("counters", "z") is None  # an X report closes nothing


def test_a_z_report_or_an_unknown_command_is_refused_without_summing(reg):
    sync = _with_sync(reg)
    _ask(reg, "cmd-z", kind="z")
    reg.events.put(CommandReceived("cmd-q", "reboot", {}))
    reg.pump()
    assert sync.reports == []
    assert [a[:2] for a in sync.answers] == [("cmd-z", False), ("cmd-q", False)]
    assert "Z report closes the shift on site" in sync.answers[0][2]


def test_a_report_that_cannot_be_summed_is_answered_with_the_reason(reg, monkeypatch):
    sync = _with_sync(reg)

    def broken(*args, **kwargs):
        raise OSError("segment unreadable")

    monkeypatch.setattr(reg.journal, "receipts", broken)
    _ask(reg, "cmd-x", kind="x")
    assert sync.reports == []
    assert sync.answers == [("cmd-x", False, "report failed: segment unreadable")]


def test_the_report_worker_is_joined_at_shutdown(rig):
    reg = rig.register
    worker = reg._reports._thread
    assert worker is not None and worker.name == "kassa-reports" and worker.is_alive()
    _with_sync(reg)
    _ask(reg, "cmd-x", kind="x")
    rig.stop()
    assert not worker.is_alive()
