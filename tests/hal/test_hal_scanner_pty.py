"""The serial scanner over real ptys (pyserial opens the slave), and the simulated PtyScanner/MemoryScanner."""

from __future__ import annotations

import os
import pathlib
import time

import pytest
from hal_recorder import Recorder
from hypothesis import HealthCheck, given, settings, strategies as st

from hal.events import DeviceState, ScanRead, ScanRejected
from hal.factory import build_scanner
from hal.scanner import MemoryScanner, PtyScanner, SerialScanner
from hal.urls import SUFFIXES, parse_scanner_url


class FakeCable:
    """A real pty standing in for a USB-serial scanner, reached through a symlink that can be re-pointed."""

    def __init__(self, link: pathlib.Path) -> None:
        self.link = link
        self.master = -1
        self.plug_in()

    def plug_in(self) -> None:
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)  # the pty lives while the master is open; the scanner opens the slave by path
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        os.replace(tmp, self.link)
        self.master = master

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        # as udev does: the device node goes with the device (a pts number freed here may be handed to
        # another process's pty at once, and a link left pointing at it would open that one)
        self.link.unlink(missing_ok=True)
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.master >= 0:
            self.unplug()


@pytest.fixture
def cable(tmp_path):
    cable = FakeCable(tmp_path / "ttyScanner")
    yield cable
    cable.close()


def start_serial(cable, events, suffix="cr", flush_after=0.2):
    scanner = build_scanner(parse_scanner_url(f"serial://{cable.link}?baud=9600&suffix={suffix}"), events.queue,
                            flush_after)
    assert isinstance(scanner, SerialScanner)
    scanner.backoff = (0.05, 0.2)
    scanner.start()
    events.wait_for(DeviceState, where=lambda e: e.state == "connected")
    return scanner


@pytest.mark.parametrize("suffix", ["cr", "lf", "crlf"])
def test_serial_scanner_frames_each_suffix_over_a_pty(cable, events, suffix):
    scanner = start_serial(cable, events, suffix)
    try:
        term = SUFFIXES[suffix]
        cable.send(b"4006381333931" + term + b"9638")
        cable.send(b"5074" + term)
        first = events.wait_for(ScanRead)
        second = events.wait_for(ScanRead, after=events.seen.index(first) + 1)
        assert (first.code, second.code) == ("4006381333931", "96385074")
        assert scanner.state == "connected"
    finally:
        scanner.stop()


def test_noise_and_over_long_lines_become_reasons_and_good_codes_still_read(cable, events):
    scanner = start_serial(cable, events, "cr")
    try:
        cable.send(b"\x00\xff\xfe\r" + b"7" * 300 + b"\r" + b"4006381333931\r")
        read = events.wait_for(ScanRead)
        assert read.code == "4006381333931"
        reasons = [e.reason for e in events.of(ScanRejected)]
        assert any("non-ASCII" in r for r in reasons) and any("longer than 64" in r for r in reasons)
    finally:
        scanner.stop()


def test_a_code_without_suffix_is_dropped_after_the_line_goes_quiet(cable, events):
    scanner = start_serial(cable, events, "cr", flush_after=0.15)
    try:
        cable.send(b"4006381333931")
        rejected = events.wait_for(ScanRejected, timeout=3)
        assert "no end-of-code suffix (CR)" in rejected.reason and rejected.raw == b"4006381333931"
        assert events.of(ScanRead) == []
        cable.send(b"96385074\r")
        assert events.wait_for(ScanRead).code == "96385074"
    finally:
        scanner.stop()


def test_scanner_unplugged_and_plugged_back_reconnects_and_reads_again(cable, events):
    scanner = start_serial(cable, events, "cr")
    try:
        cable.send(b"4006381333931\r")
        events.wait_for(ScanRead)
        cable.unplug()
        gone = events.wait_for(DeviceState, where=lambda e: e.state == "disconnected")
        assert gone.ok is False and "Retrying" in gone.detail
        assert scanner.state == "disconnected"
        time.sleep(0.3)  # a few failed reopen attempts with backoff, each silent after the first state change
        assert [e.state for e in events.of(DeviceState)].count("disconnected") == 1
        cable.plug_in()
        mark = len(events.drain())
        events.wait_for(DeviceState, where=lambda e: e.state == "connected", after=mark, timeout=5)
        cable.send(b"96385074\r")
        assert events.wait_for(ScanRead, after=mark).code == "96385074"
    finally:
        scanner.stop()


def test_a_scanner_missing_at_start_is_reported_and_picked_up_when_it_appears(tmp_path, events):
    link = tmp_path / "ttyLater"
    scanner = SerialScanner(str(link), events.queue, suffix="lf", backoff=(0.05, 0.2))
    scanner.start()
    try:
        missing = events.wait_for(DeviceState, where=lambda e: e.state == "disconnected")
        assert str(link) in missing.detail and "check its cable" in missing.detail
        cable = FakeCable(link)
        try:
            events.wait_for(DeviceState, where=lambda e: e.state == "connected", timeout=5)
            cable.send(b"4006381333931\n")
            assert events.wait_for(ScanRead).code == "4006381333931"
        finally:
            cable.close()
    finally:
        scanner.stop()
    assert scanner.state == "stopped"


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text("0123456789", min_size=1, max_size=20).map(lambda c: ("code", c)),
                          st.binary(min_size=1, max_size=80).map(
                              lambda b: ("noise", bytes(x for x in b if not 0x30 <= x <= 0x39)))),
                max_size=6))
def test_random_streams_through_a_real_pty_deliver_every_framed_code_once(tmp_path_factory, parts):
    recorder = Recorder()
    cable = FakeCable(tmp_path_factory.mktemp("pty") / "tty")
    scanner = start_serial(cable, recorder, "lf", flush_after=1.0)
    try:
        expected = []
        for kind, value in parts:
            if kind == "code":
                cable.send(b"\n" + value.encode() + b"\n")
                expected.append(value)
            else:
                cable.send(value)
        cable.send(b"\nEND\n")
        recorder.wait_for(ScanRead, where=lambda e: e.code == "END")
        assert [e.code for e in recorder.of(ScanRead) if e.code.isdigit()] == expected
    finally:
        scanner.stop()
        cable.close()


def test_pty_scanner_reads_what_anyone_writes_to_its_path(events):
    scanner = PtyScanner(events.queue)
    try:
        scanner.start()
        started = events.wait_for(DeviceState)
        assert scanner.path.startswith("/dev/pts/") and scanner.path in started.detail
        with open(scanner.path, "wb", buffering=0) as tty:  # what `echo 4006381333931 > /dev/pts/N` does
            tty.write(b"4006381333931\n")
        assert events.wait_for(ScanRead).code == "4006381333931"
        with open(scanner.path, "wb", buffering=0) as tty:
            tty.write(b"96385074\n")
        assert events.wait_for(ScanRead, where=lambda e: e.code == "96385074")
    finally:
        scanner.close()


def test_scanner_self_test_reports_the_code_or_the_timeout(events):
    scanner = MemoryScanner(events.queue)
    scanner.start()
    result = scanner.self_test(wait_s=0.1)
    assert not result.ok and "No scan within 0.1 s" in result.sentence
    import threading

    threading.Timer(0.05, scanner.feed, ["4006381333931"]).start()
    result = scanner.self_test(wait_s=3)
    assert result.ok and result.device == "scanner" and result.details["code"] == "4006381333931"
    assert "4006381333931" in result.sentence


def test_memory_scanner_uses_the_same_framing(events):
    scanner = MemoryScanner(events.queue)
    scanner.feed("4006381333931")
    scanner.feed_raw(b"12\x8034\n")
    scanner.feed_raw(b"555")
    scanner.go_quiet()
    seen = events.drain()
    assert seen[0] == ScanRead("4006381333931")
    assert isinstance(seen[1], ScanRejected) and isinstance(seen[2], ScanRejected)
    assert "no end-of-code suffix (LF)" in seen[2].reason
