"""The scale port: Toledo 8217 and SMA on the wire (parsers, real ptys), the simulated scale, the factory's URLs."""

from __future__ import annotations

import os
import queue
import tty
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from hal.errors import HardwareConfigError
from hal.events import DeviceState, WeightRead
from hal.factory import HardwareSpec, build_hardware
from hal.scale import PtyScale, SerialScale
from hal.scale_wire import Sma, Toledo8217, scale_reply
from hal.urls import parse_scale_url

STX, CR = b"\x02", b"\r"


# ---- Toledo 8217 replies

def test_toledo_weight_reply_is_kg_with_three_decimals():
    assert Toledo8217().feed(STX + b"01.250" + CR) == [WeightRead("stable", Decimal("1.250"))]
    assert Toledo8217().feed(STX + b"00.730N" + CR) == [WeightRead("stable", Decimal("0.730"), "net")]


@pytest.mark.parametrize("status, expected", [
    (0b0000001, "unstable"),      # bit 0: in motion
    (0b0000010, "overload"),      # bit 1: over capacity
    (0b0000100, "under_zero"),    # bit 2: under zero
    (0b0001101, "under_zero"),    # 0x0D, the same byte as CR: the frame is read by length, not up to CR
    (0b1000000, "error"),         # bit 6: bad command
])
def test_toledo_status_byte(status, expected):
    found = Toledo8217().feed(STX + b"?" + bytes([status]) + CR)
    assert [r.status for r in found] == [expected] and found[0].weight is None


def test_toledo_status_without_a_fault_keeps_the_last_weight_or_reads_zero():
    codec = Toledo8217()
    codec.feed(STX + b"02.500" + CR)
    assert codec.feed(STX + b"?" + bytes([0]) + CR) == [WeightRead("stable", Decimal("2.500"))]
    assert codec.feed(STX + b"?" + bytes([0b10000]) + CR) == [WeightRead("stable", Decimal("0.000"))]  # centre of zero


def test_toledo_frames_split_anywhere_and_noise_before_stx_is_skipped():
    codec = Toledo8217()
    assert codec.feed(b"\x00junk" + STX + b"01.") == []
    assert codec.feed(b"2" + b"50" + CR + STX + b"?") == [WeightRead("stable", Decimal("1.250"))]
    assert codec.feed(bytes([1]) + CR) == [WeightRead("unstable")]


# ---- SMA replies (SCP-0499 5.1: LF s r n m f xxxxxx.xxx uuu CR)

def _sma(status=" ", motion=" ", field="     0.730", unit="kg ", gross="G"):
    return b"\n" + f"{status}1{gross}{motion} {field}{unit}".encode() + CR


def test_sma_standard_reply():
    assert Sma().feed(_sma()) == [WeightRead("stable", Decimal("0.730"))]
    assert Sma().feed(_sma(motion="M")) == [WeightRead("unstable", Decimal("0.730"))]
    assert Sma().feed(_sma(status="Z", field="     0.000")) == [WeightRead("stable", Decimal("0.000"))]
    assert Sma().feed(_sma(gross="N")) == [WeightRead("stable", Decimal("0.730"), "net")]
    assert Sma().feed(_sma(unit="g  ", field="       730")) == [WeightRead("stable", Decimal("0.730"))]


@pytest.mark.parametrize("reply, status, words", [
    (_sma(status="O"), "overload", ""),
    (_sma(status="U", field="    -0.005"), "under_zero", ""),
    (_sma(status="E", field="----------"), "error", "zero error"),
    (_sma(unit="lb "), "error", "set it to kg"),
    (b"\n?\r", "error", "SMA"),
    (b"\n!\r", "error", "baud"),
    (b"\nshort\r", "error", "unexpected"),
])
def test_sma_states_and_errors(reply, status, words):
    found = Sma().feed(reply)
    assert len(found) == 1 and found[0].status == status and words in found[0].detail


@given(st.binary(max_size=200))
def test_parsers_never_raise_on_line_noise(data):
    for codec in (Toledo8217(), Sma()):
        for reading in codec.feed(data):
            assert reading.status in ("stable", "unstable", "overload", "under_zero", "error")


@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("99.999"), places=3), st.booleans())
def test_what_the_simulator_says_the_parser_reads_back(weight, stable):
    for protocol, codec, request in (("toledo8217", Toledo8217(), b"W"), ("sma", Sma(), b"W")):
        found = codec.feed(scale_reply(protocol, request, weight, stable, Decimal("15")))
        status = "overload" if weight > 15 else "stable" if stable else "unstable"
        assert found[-1].status == status
        if status == "stable":
            assert found[-1].weight == weight


# ---- over real ptys

@pytest.fixture(params=["toledo8217", "sma"])
def scale(request):
    events: queue.Queue = queue.Queue()
    scale = PtyScale(events, request.param, poll_s=0.02)
    scale.start()
    yield scale
    scale.close()


def test_pty_scale_reports_stable_unstable_overload_and_under_zero(scale):
    sim = scale.simulator
    assert scale.wait_for(lambda r: r.status == "stable" and r.weight == 0) is not None
    sim.place("0.730")
    assert scale.wait_for(lambda r: r == WeightRead("stable", Decimal("0.730"))) is not None
    sim.place("0.800", stable=False)
    assert scale.wait_for(lambda r: r.status == "unstable") is not None
    sim.place("15.005")
    assert scale.wait_for(lambda r: r.status == "overload") is not None
    sim.place("-0.010")
    assert scale.wait_for(lambda r: r.status == "under_zero") is not None
    assert scale.state == "connected" and sim.requests and set(sim.requests) == {b"W"}


def test_readings_reach_the_queue_only_when_they_change(scale):
    scale.simulator.place("1.000")
    assert scale.wait_for(lambda r: r.weight == Decimal("1.000")) is not None
    asked = len(scale.simulator.requests)
    assert scale.wait_for(lambda r: False, timeout=0.3) is None  # more polls, same weight
    assert len(scale.simulator.requests) > asked
    readings = [e for e in list(scale.events.queue) if isinstance(e, WeightRead)]
    assert readings.count(WeightRead("stable", Decimal("1.000"))) == 1


def test_the_control_pty_puts_weight_on_the_simulated_scale(scale):
    with open(scale.simulator.control_path, "w") as control:
        control.write("2.345\n")
    assert scale.wait_for(lambda r: r.weight == Decimal("2.345") and r.status == "stable") is not None
    with open(scale.simulator.control_path, "w") as control:
        control.write("over\n")
    assert scale.wait_for(lambda r: r.status == "overload") is not None


def test_a_scale_that_does_not_answer_is_reported_silent():
    master, slave = os.openpty()
    tty.setraw(slave)
    events: queue.Queue = queue.Queue()
    scale = SerialScale(os.ttyname(slave), events, "toledo8217", poll_s=0.01, answer_s=0.05)
    scale.start()
    try:
        deadline = 50
        while deadline and scale.state != "silent":
            deadline -= 1
            scale._stop.wait(0.05)
        assert scale.state == "silent" and scale.reading is None
        states = [e for e in list(events.queue) if isinstance(e, DeviceState)]
        assert states[-1].device == "scale" and not states[-1].ok and "does not answer" in states[-1].detail
        assert not scale.self_test(wait_s=0.2).ok
    finally:
        scale.stop()
        os.close(master)
        os.close(slave)


def test_a_missing_port_is_reported_and_retried():
    events: queue.Queue = queue.Queue()
    scale = SerialScale("/dev/kassa-no-such-scale", events, "sma", backoff=(0.01, 0.02))
    scale.start()
    try:
        first = events.get(timeout=2)
        second = events.get(timeout=2)
        assert (first.state, second.state, second.ok) == ("connecting", "disconnected", False)
        assert "Scale not found" in second.detail
    finally:
        scale.stop()


def test_self_test_reads_the_scale(scale):
    result = scale.self_test(wait_s=2)
    assert result.ok and result.device == "scale" and scale.protocol in result.sentence


# ---- URLs and the factory

@pytest.mark.parametrize("url, kind, protocol, framing", [
    ("none", "none", "toledo8217", (7, "E", 1)),
    ("simulated", "simulated", "toledo8217", (7, "E", 1)),
    ("simulated:sma", "simulated", "sma", (8, "N", 1)),
    ("serial:///dev/ttyUSB1?protocol=toledo8217&baud=9600", "serial", "toledo8217", (7, "E", 1)),
    ("serial:///dev/ttyUSB1?protocol=sma&baud=19200&parity=e&bytesize=7", "serial", "sma", (7, "E", 1)),
])
def test_scale_urls(url, kind, protocol, framing):
    cfg = parse_scale_url(url)
    assert (cfg.kind, cfg.protocol, (cfg.bytesize, cfg.parity, cfg.stopbits)) == (kind, protocol, framing)


@pytest.mark.parametrize("url, words", [
    ("serial:///dev/ttyUSB1", "protocol=toledo8217"),
    ("serial:///dev/ttyUSB1?protocol=dibal", "protocol must be one of"),
    ("serial://dev/ttyUSB1?protocol=sma", "absolute"),
    ("serial:///dev/ttyUSB1?protocol=sma&baud=1234", "baud must be one of"),
    ("simulated:dibal", "speaks toledo8217 or sma"),
    ("usb://1:2", "use serial"),
    ("", "needs a device URL"),
])
def test_bad_scale_urls_name_the_key_and_an_example(url, words):
    with pytest.raises(HardwareConfigError) as err:
        parse_scale_url(url)
    assert str(err.value).startswith("hardware.scale = ") and words in str(err.value) and "Example:" in str(err.value)


def _spec(scale: str) -> HardwareSpec:
    return HardwareSpec(scanner="simulated:memory", printer="simulated", drawer="simulated", led="simulated",
                        scale=scale)


def test_factory_builds_the_simulated_scale_and_starts_and_closes_it(tmp_path):
    events: queue.Queue = queue.Queue()
    hardware = build_hardware(_spec("simulated:sma"), events)
    try:
        assert isinstance(hardware.scale, PtyScale) and hardware.scale.protocol == "sma"
        hardware.start()
        assert hardware.scale.wait_for(lambda r: r.status == "stable") is not None
    finally:
        hardware.close()
    assert hardware.scale.state == "stopped"


def test_factory_without_a_scale_and_with_a_bad_one():
    hardware = build_hardware(_spec("none"), queue.Queue())
    try:
        assert hardware.scale is None
    finally:
        hardware.close()
    with pytest.raises(HardwareConfigError, match="hardware.scale"):
        build_hardware(_spec("serial:///dev/ttyUSB9"), queue.Queue())
