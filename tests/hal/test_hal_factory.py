"""build_hardware from URLs: simulated end to end, GPIO URLs on an explicit MockFactory, cheap imports."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hal_sink import PrinterSink

from hal.drawer import GpioDrawer, PrinterDrawer, SimulatedDrawer
from hal.errors import HardwareConfigError
from hal.events import DrawerOpened, PrintDone, ScanRead
from hal.factory import HardwareSpec, build_hardware
from hal.layout import Text, centred
from hal.led import RgbLed, SingleLed
from hal.ports import LedState
from hal.scanner import MemoryScanner, PtyScanner, SerialScanner


def test_simulated_everything_works_end_to_end(tmp_path, events):
    hw = build_hardware(HardwareSpec("simulated", "simulated", "simulated", "simulated", paper_columns=32,
                                     render_dir=tmp_path), events.queue)
    try:
        assert isinstance(hw.scanner, PtyScanner) and isinstance(hw.drawer, SimulatedDrawer)
        assert isinstance(hw.led, RgbLed) and hw.mock_factory is not None
        hw.start()
        with open(hw.scanner.path, "wb", buffering=0) as tty:
            tty.write(b"4006381333931\n")
        assert events.wait_for(ScanRead).code == "4006381333931"
        job = hw.printer.print_blocks([*centred("Tea Room", 32, bold=True), Text("Pencil HB  2.58 A")])
        assert events.wait_for(PrintDone).job_id == job
        assert "Tea Room" in (tmp_path / "receipts.txt").read_text()
        hw.drawer.open()
        events.wait_for(DrawerOpened)
        hw.led.show(LedState.ONLINE)
        assert hw.mock_factory.pin(6).state == 1
    finally:
        hw.stop()


def test_each_hardware_gets_its_own_mock_pins(events):
    first = build_hardware(HardwareSpec("simulated:memory", "simulated", "simulated", "simulated"), events.queue)
    second = build_hardware(HardwareSpec("simulated:memory", "simulated", "simulated", "simulated"), events.queue)
    try:
        assert first.mock_factory is not second.mock_factory  # no "pin already in use" between them
        first.drawer.open()
        time.sleep(0.3)
        assert first.drawer.is_open() and not second.drawer.is_open()
    finally:
        first.close()
        second.close()


def test_real_url_forms_build_their_backends(tmp_path, events, mock_factory):
    sink = PrinterSink()
    spec = HardwareSpec(f"serial://{tmp_path}/ttyNone?suffix=crlf", sink.url, "gpio:17?sensor=27&left_open=30",
                        "gpio:red=5,green=6,blue=13", pin_factory=mock_factory)
    hw = build_hardware(spec, events.queue)
    hw.start()
    try:
        assert isinstance(hw.scanner, SerialScanner) and hw.scanner.framer.suffix == "crlf"
        assert isinstance(hw.drawer, GpioDrawer) and hw.drawer.left_open_s == 30
        assert isinstance(hw.led, RgbLed) and hw.mock_factory is None
        assert hw.printer.wait(hw.printer.print_blocks([Text("Tea Room"), Text("Pencil HB  2.58 A")]), 5)
        assert b"Tea" in sink.received
    finally:
        hw.close()
        sink.close()
    spec = HardwareSpec("simulated:memory", f"file://{tmp_path}/lp0", "printer?pin=5", "gpio:22",
                        pin_factory=mock_factory)
    hw = build_hardware(spec, events.queue)
    hw.start()
    try:
        assert isinstance(hw.scanner, MemoryScanner) and isinstance(hw.led, SingleLed)
        assert isinstance(hw.drawer, PrinterDrawer) and hw.drawer.pin == 5
        hw.drawer.open()
        assert hw.printer.wait(hw.drawer.last_job, 5)
        assert (tmp_path / "lp0").read_bytes().endswith(b"\x1bp\x01\x32\x32")
    finally:
        hw.close()


@pytest.mark.parametrize("field, value, key", [
    ("scanner", "usb://1:2", "hardware.scanner"),
    ("printer", "tcp://", "hardware.printer"),
    ("drawer", "gpio:99", "hardware.drawer"),
    ("led", "gpio:red=1", "hardware.led"),
    ("paper_columns", 80, "hardware.paper_columns"),
])
def test_bad_specs_are_refused_before_anything_is_built(events, field, value, key):
    fields = {"scanner": "simulated", "printer": "simulated", "drawer": "simulated", "led": "simulated", field: value}
    with pytest.raises(HardwareConfigError, match=rf"^{key} = "):
        build_hardware(HardwareSpec(**fields), events.queue)
    assert events.drain() == []


def test_importing_hal_stays_cheap():
    code = ("import sys, hal, hal.factory, hal.events, hal.ports, hal.errors, hal.urls;"
            "heavy = [m for m in ('escpos', 'serial', 'gpiozero', 'PIL', 'usb') if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.strip() == "[]"


def test_escpos_capabilities_are_cached_in_a_kept_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = ("from hal.escpos_env import load_escpos; load_escpos(); import os; "
            "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    cache = out.stdout.strip()
    assert cache.startswith(str(tmp_path)) and any(name.endswith(".capabilities.pickle") for name in os.listdir(cache))


class _DeniedPins:
    """A pin factory on a machine where the service user may not touch GPIO."""

    def reserve_pins(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", "/dev/gpiochip0")

    def release_all(self, *args, **kwargs):
        pass

    def pin(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", "/dev/gpiochip0")


def test_a_device_that_cannot_be_set_up_is_a_config_error_naming_its_key_and_built_parts_are_closed(events):
    import threading

    before = {t for t in threading.enumerate() if t.is_alive()}
    spec = HardwareSpec("simulated", "simulated", "simulated", "gpio:22", pin_factory=_DeniedPins())
    with pytest.raises(HardwareConfigError, match=r"^hardware\.led = 'gpio:22': cannot be set up .*PermissionError.*"
                                                  r"group.*Example: hardware\.led = ") as caught:
        build_hardware(spec, events.queue)
    assert isinstance(caught.value.__cause__, PermissionError)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and {t for t in threading.enumerate() if t.is_alive()} - before:
        time.sleep(0.05)
    assert {t.name for t in threading.enumerate() if t.is_alive()} - {t.name for t in before} == set()
