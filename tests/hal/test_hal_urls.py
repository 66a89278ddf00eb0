"""The `[hardware]` URL forms hal accepts, and the messages for the ones it refuses."""

from __future__ import annotations

import pytest

from hal.errors import HardwareConfigError
from hal.urls import (
    DrawerConfig,
    LedConfig,
    PrinterConfig,
    ScannerConfig,
    parse_drawer_url,
    parse_led_url,
    parse_printer_url,
    parse_scanner_url,
)


@pytest.mark.parametrize("url, expected", [
    ("serial:///dev/ttyACM0", ScannerConfig("serial", "/dev/ttyACM0", 9600, "cr")),
    ("serial:///dev/ttyACM0?baud=9600", ScannerConfig("serial", "/dev/ttyACM0", 9600, "cr")),
    ("serial:///dev/ttyUSB1?baud=115200&suffix=crlf", ScannerConfig("serial", "/dev/ttyUSB1", 115200, "crlf")),
    ("serial:///dev/serial/by-id/usb-Honeywell-if00?suffix=LF",
     ScannerConfig("serial", "/dev/serial/by-id/usb-Honeywell-if00", 9600, "lf")),
    ("simulated", ScannerConfig("pty", suffix="lf")),
    ("simulated:memory", ScannerConfig("memory", suffix="lf")),
])
def test_scanner_url_forms(url, expected):
    assert parse_scanner_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("usb://0x04b8:0x0202", PrinterConfig("usb", vendor=0x04B8, product=0x0202)),
    ("usb://04b8:0e15", PrinterConfig("usb", vendor=0x04B8, product=0x0E15)),
    ("serial:///dev/ttyUSB0?baud=19200", PrinterConfig("serial", path="/dev/ttyUSB0", baud=19200)),
    ("serial:///dev/ttyS0", PrinterConfig("serial", path="/dev/ttyS0", baud=19200)),
    ("tcp://192.168.1.50:9100", PrinterConfig("tcp", host="192.168.1.50", port=9100)),
    ("tcp://printer.local", PrinterConfig("tcp", host="printer.local", port=9100)),
    ("tcp://10.0.0.9:9101?timeout=5&status_timeout=0", PrinterConfig("tcp", host="10.0.0.9", port=9101, timeout=5.0,
                                                                     status_timeout=0.0)),
    ("file:///dev/usb/lp0", PrinterConfig("file", path="/dev/usb/lp0")),
    ("simulated", PrinterConfig("simulated", status_timeout=0.0)),
])
def test_printer_url_forms(url, expected):
    assert parse_printer_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("printer", DrawerConfig("printer")),
    ("printer?pin=5&pulse_ms=120", DrawerConfig("printer", kick_pin=5, pulse_ms=120)),
    ("gpio:17", DrawerConfig("gpio", relay=17)),
    ("gpio:17?sensor=27", DrawerConfig("gpio", relay=17, sensor=27)),
    ("gpio:17?sensor=27&pulse_ms=200&open_level=low&left_open=30",
     DrawerConfig("gpio", relay=17, sensor=27, pulse_ms=200, open_level="low", left_open_s=30.0)),
    ("simulated", DrawerConfig("simulated", relay=17, sensor=27)),
])
def test_drawer_url_forms(url, expected):
    assert parse_drawer_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("gpio:22", LedConfig("single", pin=22)),
    ("gpio:red=5,green=6", LedConfig("rgb", red=5, green=6)),
    ("gpio:red=5,green=6,blue=13", LedConfig("rgb", red=5, green=6, blue=13)),
    ("gpio:green=6, red=5", LedConfig("rgb", red=5, green=6)),
    ("simulated", LedConfig("simulated", red=5, green=6, blue=13)),
])
def test_led_url_forms(url, expected):
    assert parse_led_url(url) == expected


@pytest.mark.parametrize("parse, url, words", [
    (parse_scanner_url, "", "simulated"),
    (parse_scanner_url, "/dev/ttyACM0", "serial:///dev"),
    (parse_scanner_url, "serial://dev/ttyACM0", "three slashes"),
    (parse_scanner_url, "serial:///dev/ttyACM0?baud=9601", "baud must be one of"),
    (parse_scanner_url, "serial:///dev/ttyACM0?baud=fast", "baud must be a whole number"),
    (parse_scanner_url, "serial:///dev/ttyACM0?suffix=tab", "suffix must be one of cr, crlf, lf"),
    (parse_scanner_url, "serial:///dev/ttyACM0?parity=E", "unknown option 'parity'"),
    (parse_scanner_url, "hid:///dev/input/event3", "use serial:///dev/... or simulated"),
    (parse_scanner_url, "SIMULATED ", "use serial"),
    (parse_printer_url, "usb://04b8", "usb://VID:PID"),
    (parse_printer_url, "usb://zz:0202", "usb://VID:PID"),
    (parse_printer_url, "tcp://:9100", "tcp://host:9100"),
    (parse_printer_url, "tcp://host:99999", "port must be a number"),
    (parse_printer_url, "tcp://host:9100?timeout=0", "timeout must be a number of seconds"),
    (parse_printer_url, "serial://ttyUSB0", "three slashes"),
    (parse_printer_url, "file://lp0", "three slashes"),
    (parse_printer_url, "lpd://queue", "use usb://, serial://, tcp://, file:// or simulated"),
    (parse_printer_url, None, "needs a device URL"),
    (parse_drawer_url, "gpio:", "BCM GPIO number"),
    (parse_drawer_url, "gpio:40", "BCM GPIO number 0-27"),
    (parse_drawer_url, "gpio:17?sensor=17", "its own pin"),
    (parse_drawer_url, "gpio:17?sensor=x", "sensor must be a BCM GPIO number"),
    (parse_drawer_url, "printer?pin=3", "pin must be 2 or 5"),
    (parse_drawer_url, "printer?pulse=100", "unknown option 'pulse'"),
    (parse_drawer_url, "relay:17", "use printer, gpio:PIN or simulated"),
    (parse_led_url, "gpio:red=5", "at least red and green"),
    (parse_led_url, "gpio:red=5,green=5", "its own pin"),
    (parse_led_url, "gpio:red=5,amber=6", "colour names are red, green and blue"),
    (parse_led_url, "gpio:led", "BCM GPIO number"),
    (parse_led_url, "pwm:22", "use gpio:PIN"),
])
def test_bad_urls_name_the_key_and_a_valid_example(parse, url, words):
    with pytest.raises(HardwareConfigError) as caught:
        parse(url)
    message = str(caught.value)
    key = {parse_scanner_url: "hardware.scanner", parse_printer_url: "hardware.printer",
           parse_drawer_url: "hardware.drawer", parse_led_url: "hardware.led"}[parse]
    assert message.startswith(f"{key} = ")
    assert words in message
    assert "Example: " + key + ' = "' in message
    assert isinstance(caught.value, ValueError)  # a builtin subclass: callers may catch ValueError


def test_the_example_in_every_message_is_itself_accepted():
    for parse, bad in [(parse_scanner_url, "x"), (parse_printer_url, "x"), (parse_drawer_url, "x"),
                       (parse_led_url, "x")]:
        with pytest.raises(HardwareConfigError) as caught:
            parse(bad)
        example = str(caught.value).split('= "')[-1].rstrip('"')
        parse(example)


def test_a_caller_may_name_its_own_key():
    with pytest.raises(HardwareConfigError, match=r"^kassa\.printer = "):
        parse_printer_url("nope", "kassa.printer")
