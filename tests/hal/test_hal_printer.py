"""The receipt printer: ESC/POS bytes on escpos's Dummy, a TCP 9100 sink, failures kept for reprint."""

from __future__ import annotations

import time

import pytest
from hal_sink import PrinterSink

from hal.connectors import SimulatedConnector, make_connector
from hal.drawer import PrinterDrawer
from hal.errors import UnknownJob
from hal.events import DeviceState, PrintDone, PrintFailed
from hal.layout import Text, centred, code_for, paired, rule, wrapped
from hal.printer import ReceiptPrinter
from hal.urls import parse_printer_url

INIT, CUT, KICK_PIN2 = b"\x1b@", b"\x1dV\x00", b"\x1bp\x002\x32"

RECEIPT_ID = "R1:7f3a9c2e:42"


def receipt_blocks(columns: int = 42) -> list:
    """A receipt as the firmware lays it out (firmware/printout.py): the printer only sees text and codes."""
    return [*centred("Papier & Co", columns, bold=True, tall=True), rule(columns),
            *paired("Pencil HB", "2.58 A", columns), Text("  2 x 1.29"), rule(columns),
            *paired("TOTAL EUR", "2.58", columns, bold=True, tall=True), *paired("Cash", "5.00", columns),
            *paired("Change", "2.42", columns, bold=True), rule(columns), *wrapped(f"Receipt: {RECEIPT_ID}", columns),
            code_for(RECEIPT_ID, columns)]


def submit(printer: ReceiptPrinter, blocks: list | None = None) -> str:
    return printer.print_blocks(blocks if blocks is not None else receipt_blocks(printer.columns),
                                title=f"receipt {RECEIPT_ID}", receipt_id=RECEIPT_ID)


@pytest.fixture
def simulated(events):
    connector = SimulatedConnector()
    printer = ReceiptPrinter(connector, events.queue, columns=42, probe_interval=0.1)
    printer.start()
    yield printer, connector
    printer.close()


def test_blocks_are_init_text_code_and_cut_on_the_dummy(simulated, events):
    printer, connector = simulated
    job = submit(printer)
    assert events.wait_for(PrintDone).job_id == job
    out = connector.output
    assert out.startswith(INIT)
    assert out.rstrip(b"\n").endswith(CUT)
    for text in (b"Papier & Co", b"Pencil HB", b"2.58 A", b"2 x 1.29", b"TOTAL EUR", b"Change", b"2.42",
                 b"Receipt: R1:7f3a9c2e:42"):
        assert text in out, text
    assert b"\x1dkI" + bytes([len("{BR1:7f3a9c2e:42")]) + b"{BR1:7f3a9c2e:42" in out  # GS k CODE128 of the id
    assert b"\x1b!\x10" in out or b"\x1d!\x01" in out  # the tall TOTAL line: double height
    assert printer.backlog() == []


def test_blocks_may_be_laid_out_on_the_worker(simulated, events):
    printer, connector = simulated
    calls = []

    def lay_out() -> list:
        calls.append(1)
        return [Text("LATE LAYOUT")]

    job = printer.print_blocks(lay_out, title="report")
    assert printer.wait(job, 5) and calls == [1] and b"LATE LAYOUT" in connector.output


def test_drawer_kick_goes_through_the_printer_stream_after_the_receipt(simulated, events):
    printer, connector = simulated
    submit(printer)
    drawer = PrinterDrawer(printer)
    drawer.open()
    assert printer.wait(drawer.last_job, 5)
    out = connector.output
    assert out.endswith(KICK_PIN2) and out.index(CUT) < out.index(KICK_PIN2)
    assert drawer.is_open() is None
    PrinterDrawer(printer, pin=5, pulse_ms=200).open()
    time.sleep(0.2)
    assert connector.output.endswith(b"\x1bp\x01\x64\x64")  # pin 5, 100 x 2 ms on and off


def test_report_text_is_printed_and_cut(simulated, events):
    printer, connector = simulated
    job = printer.print_text(["X REPORT", "Cash 12.90", "Card 3.00"])
    assert printer.wait(job, 5)
    assert b"X REPORT\n" in connector.output and b"Card 3.00" in connector.output
    assert connector.output.rstrip(b"\n").endswith(CUT)


def test_qr_on_narrow_paper_is_native_escpos(events):
    connector = SimulatedConnector()
    printer = ReceiptPrinter(connector, events.queue, columns=32)
    printer.start()
    try:
        printer.wait(submit(printer), 5)
        assert b"\x1d(k" in connector.output and b"R1:7f3a9c2e:42" in connector.output
    finally:
        printer.close()


def test_tcp_9100_sink_receives_the_receipt(events):
    sink = PrinterSink()
    printer = ReceiptPrinter(make_connector(parse_printer_url(sink.url)), events.queue, status_timeout=0.5)
    printer.start()
    try:
        job = submit(printer)
        assert events.wait_for(PrintDone).job_id == job
        received = sink.received
        assert received.startswith(b"\x10\x04\x04")  # paper asked about first
        assert INIT + b"\x1bt\x13\x1b!" in received and b"Pencil HB" in received and CUT in received
        assert printer.paper == "ok" and printer.status().ok
    finally:
        printer.close()
        sink.close()


def test_a_printer_that_hangs_up_mid_job_keeps_the_job_for_reprint(events):
    sink = PrinterSink(hang_up_after=40)
    printer = ReceiptPrinter(make_connector(parse_printer_url(sink.url)), events.queue, status_timeout=0.5)
    printer.start()
    try:
        job = submit(printer)
        failed = events.wait_for(PrintFailed)
        assert failed.job_id == job and "offline" in failed.reason
        state = events.wait_for(DeviceState, where=lambda e: e.device == "printer")
        assert (state.ok, state.state) == (False, "offline")
        [entry] = printer.backlog()
        assert (entry.job_id, entry.receipt_id) == (job, "R1:7f3a9c2e:42")
        assert b"Pencil HB" not in sink.connections[0]  # the hang-up came before the lines
        assert printer.retry(job) == job  # the printer is back: a fresh connection
        assert printer.wait(job, 5) is True
        assert b"Pencil HB" in sink.connections[-1] and CUT in sink.connections[-1]
        assert printer.backlog() == []
        assert events.wait_for(DeviceState, where=lambda e: e.device == "printer" and e.ok).state == "ready"
    finally:
        printer.close()
        sink.close()


def test_paper_out_is_reported_nothing_is_sent_and_recovery_is_noticed(events):
    sink = PrinterSink(paper="out")
    printer = ReceiptPrinter(make_connector(parse_printer_url(sink.url)), events.queue, status_timeout=0.5,
                             probe_interval=0.1)
    printer.start()
    try:
        job = submit(printer)
        assert events.wait_for(PrintFailed).reason == "out of paper"
        state = events.wait_for(DeviceState)
        assert (state.ok, state.state) == (False, "out of paper") and "load a roll" in state.detail
        assert b"Pencil HB" not in sink.received
        sink.paper = "low"
        back = events.wait_for(DeviceState, where=lambda e: e.ok, timeout=3)
        assert "reprint the backlog" in back.detail
        printer.retry(job)
        assert printer.wait(job, 5) and b"Pencil HB" in sink.received
        assert printer.status().state == "paper low"
    finally:
        printer.close()
        sink.close()


def test_a_printer_that_never_answers_status_still_prints(events):
    sink = PrinterSink(paper=None)
    printer = ReceiptPrinter(make_connector(parse_printer_url(sink.url)), events.queue, status_timeout=0.05)
    printer.start()
    try:
        assert printer.wait(submit(printer), 5)
        assert printer.paper == "unknown" and b"Pencil HB" in sink.received
    finally:
        printer.close()
        sink.close()


def test_connection_refused_fails_the_job_and_submit_never_blocks(events):
    import socket

    with socket.socket() as unused:  # a loopback port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    printer = ReceiptPrinter(make_connector(parse_printer_url(f"tcp://127.0.0.1:{port}")), events.queue)
    printer.start()
    try:
        started = time.monotonic()
        jobs = [submit(printer) for _ in range(3)]
        assert time.monotonic() - started < 0.1
        for job in jobs:
            assert printer.wait(job, 5) is False
        assert [e.job_id for e in printer.backlog()] == jobs
        assert "cannot reach the printer" in printer.backlog()[0].reason
    finally:
        printer.close()


def test_simulated_faults_drive_backlog_retry_and_discard(simulated, events):
    printer, connector = simulated
    connector.online = False
    job = submit(printer)
    kick = printer.kick_drawer()
    assert printer.wait(kick, 5) is False
    drawer_state = events.wait_for(DeviceState, where=lambda e: e.device == "drawer")
    assert drawer_state.state == "not opened" and "key" in drawer_state.detail
    assert [e.job_id for e in printer.backlog()] == [job]  # a failed kick is not kept for reprint
    with pytest.raises(UnknownJob):
        printer.retry("job-none")
    connector.online = True
    connector.paper = "out"
    printer.retry(job)
    assert printer.wait(job, 5) is False and printer.backlog()[0].reason == "out of paper"
    connector.paper = "ok"
    printer.discard(job)
    assert printer.backlog() == []


def test_text_rendering_is_appended_to_a_file(tmp_path, events):
    printer = ReceiptPrinter(SimulatedConnector(), events.queue, columns=32, render_path=tmp_path / "receipts.txt")
    printer.start()
    try:
        printer.wait(submit(printer), 5)
        printer.wait(submit(printer, [*centred("*** COPY ***", 32, bold=True), *receipt_blocks(32)]), 5)
    finally:
        printer.close()
    text = (tmp_path / "receipts.txt").read_text(encoding="utf-8")
    assert text.count("Pencil HB") == 2 and "*** COPY ***" in text and "[QR R1:7f3a9c2e:42]" in text
    assert all(len(line) <= 32 for line in text.splitlines() if not line.startswith("====="))


def test_file_backend_writes_the_bytes(tmp_path, events):
    target = tmp_path / "lp0"
    printer = ReceiptPrinter(make_connector(parse_printer_url(f"file://{target}")), events.queue)
    printer.start()
    try:
        assert printer.wait(submit(printer), 5)
    finally:
        printer.close()
    data = target.read_bytes()
    assert data.startswith(INIT) and b"Pencil HB" in data and CUT in data


def test_self_test_prints_a_page_with_status_or_says_why_not(simulated, events):
    printer, connector = simulated
    result = printer.self_test(timeout=5)
    assert result.ok and result.device == "printer" and "paper: ok" in result.sentence
    assert b"PRINTER TEST" in connector.output and b"Paper: " in connector.output
    assert b"Code page: PC858" in connector.output
    for word in ("Grüße", "café", "señor", "Ellada", "Moskva", "€ 1.00"):  # Greek, Cyrillic spelled in Latin
        assert word.encode("cp858") in connector.output, word
    connector.online = False
    result = printer.self_test(timeout=5)
    assert not result.ok and "offline" in result.sentence
    assert printer.backlog() == []  # a failed test page is not offered for reprint


def test_usb_without_pyusb_names_what_to_install():
    """Run where pyusb cannot be imported (blocked in a child interpreter): the error names the fix."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['usb'] = None; sys.modules['usb.core'] = None; sys.modules['usb.util'] = None\n"
        "from hal.errors import BackendMissing\n"
        "from hal.connectors import make_connector\n"
        "from hal.urls import parse_printer_url\n"
        "try:\n"
        "    make_connector(parse_printer_url('usb://0x04b8:0x0202'))\n"
        "except BackendMissing as exc:\n"
        "    print('MISSING', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "MISSING" in out.stdout and "pip install pyusb" in out.stdout, out.stderr[-1500:]


def test_usb_printer_that_is_not_plugged_in_fails_the_job_into_the_backlog(events):
    from hal.events import PrintFailed
    from hal.factory import HardwareSpec, build_hardware

    hw = build_hardware(HardwareSpec("simulated:memory", "usb://0x04b8:0x0202", "printer", "simulated"), events.queue)
    hw.start()
    try:
        job = hw.printer.print_blocks([Text("Receipt: R1:x:1")], receipt_id="R1:x:1")
        assert hw.printer.wait(job, 10) is False
        assert [entry.job_id for entry in hw.printer.backlog()] == [job]
        failure = events.wait_for(PrintFailed, 5)
        assert failure.job_id == job and "usb 04b8:0202" in failure.reason
    finally:
        hw.close()


def test_the_printer_url_chooses_the_one_code_page_receipts_print_in():
    from hal.errors import HardwareConfigError

    assert parse_printer_url("tcp://10.0.0.5:9100").codepage == "pc858"  # the euro page, ESC t 19
    assert parse_printer_url("usb://0x04b8:0x0202?codepage=wpc1252").codepage == "wpc1252"
    with pytest.raises(HardwareConfigError, match="codepage must be one of"):
        parse_printer_url("tcp://10.0.0.5:9100?codepage=greek")
