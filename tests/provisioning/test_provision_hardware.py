"""`hardware`: URLs checked by hal's own parsers before the config changes; USB printers found in sysfs."""

from __future__ import annotations

from pathlib import Path

from firmware.config import load_config
from provisioning.hardware import detect_gpio, detect_usb_printers


def test_set_urls_writes_config(prov, device: Path):
    result = prov("hardware", "-c", device, "--no-detect", "--scanner", "serial:///dev/ttyACM0?baud=9600",
                  "--printer", "tcp://10.0.0.5:9100", "--drawer", "gpio:17?sensor=27", "--led", "gpio:red=5,green=6")
    assert result.exit_code == 0, result.stderr
    hw = load_config(device).hardware
    assert (hw.scanner, hw.printer, hw.drawer, hw.led) == (
        "serial:///dev/ttyACM0?baud=9600", "tcp://10.0.0.5:9100", "gpio:17?sensor=27", "gpio:red=5,green=6")


def test_bad_url_is_refused_with_hal_message_and_nothing_changes(prov, device: Path):
    before = device.read_bytes()
    result = prov("hardware", "-c", device, "--no-detect", "--scanner", "serial://dev/ttyACM0", "--printer", "lpt1")
    assert result.exit_code == 2
    assert "hardware.scanner" in result.stderr and "hardware.printer" in result.stderr
    assert "Example" in result.stderr
    assert device.read_bytes() == before


def test_detection_runs_here_without_error(prov, device: Path):
    result = prov("hardware", "-c", device)
    assert result.exit_code == 0, result.stderr
    assert "Found on this device" in result.output and "[hardware]" in result.output


def test_usb_printer_found_by_interface_class(tmp_path: Path):
    dev = tmp_path / "bus/usb/devices/1-1.2"
    (dev / "1-1.2:1.0").mkdir(parents=True)
    (dev / "idVendor").write_text("04b8\n")
    (dev / "idProduct").write_text("0202\n")
    (dev / "product").write_text("TM-T20\n")
    (dev / "1-1.2:1.0/bInterfaceClass").write_text("07\n")
    hub = tmp_path / "bus/usb/devices/1-1"
    (hub / "1-1:1.0").mkdir(parents=True)
    (hub / "idVendor").write_text("1d6b\n")
    (hub / "idProduct").write_text("0002\n")
    (hub / "1-1:1.0/bInterfaceClass").write_text("09\n")
    found = detect_usb_printers(tmp_path)
    assert [(c.where, c.url, c.detail) for c in found] == [("usb 04b8:0202", "usb://0x04b8:0x0202", "TM-T20")]


def test_gpio_detected_from_dev(tmp_path: Path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/gpiochip0").touch()
    (tmp_path / "dev/gpiomem").touch()
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_text("Raspberry Pi 4 Model B Rev 1.5\x00")
    [gpio] = detect_gpio(tmp_path / "dev", tmp_path / "proc")
    assert gpio.where == "gpiochip0" and "Raspberry Pi 4" in gpio.detail
    assert detect_gpio(tmp_path / "nothing", tmp_path / "proc") == []
