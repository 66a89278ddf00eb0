"""The scale against an independent wire-level emulator: emupos (PyPI) serves Toledo 8217 and SMA scales on ptys.

emupos needs Python >= 3.13, so it lives in its own venv, `.venv313` (`scripts/setup-emupos` makes it; this
module runs that script once when the venv is missing). Without a Python >= 3.13 the tests skip and say so;
with one, a failed setup fails them under CI=true. Our `SerialScale` talks to emupos's
ptys exactly as to a scale on /dev/ttyUSB1; the weight is put on through emupos's control API, as its docs
tell a test to. The same emupos also prints shop-scale EAN-13 labels, which our decoder must read back.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from firmware.domain.embedded import EmbeddedScheme
from hal.scale import SerialScale
from tests.support.emupos import DIRECT, EmuposRun, emupos_binary, free_port

CONFIG = """schema: 1
api: {{ host: 127.0.0.1, port: {port} }}
devices:
  - id: deli
    type: scale
    profile: toledo8217-15kg
    connections:
      - serial: {{ pty: true }}
  - id: counter
    type: scale
    profile: sma-15kg
    connections:
      - serial: {{ pty: true }}
"""
pytestmark = pytest.mark.slow  # an emupos (Python 3.13) process: CI's full run, not the fast lane

DEVICES = {"toledo8217": "deli", "sma": "counter"}


class Emulator:
    """One `emupos run` with a Toledo 8217 and an SMA scale on ptys, and its control API."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.links = tmp / "emupos"
        self.run = EmuposRun(tmp, CONFIG.format(port=self.port),
                             lambda: all((self.links / name).exists() for name in DEVICES.values()))

    def path(self, protocol: str) -> str:
        return str(self.links / DEVICES[protocol])

    def weigh(self, protocol: str, grams: int, stable: bool = True) -> None:
        """Put `grams` on the scale, as `emupos scale set` does (PUT /api/v1/devices/<id>/weight)."""
        body = json.dumps({"grams": grams, "stable": stable}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/devices/{DEVICES[protocol]}/weight",
                                         data=body, method="PUT", headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + 10
        while True:  # the API may come up a moment after the ptys
            try:
                with DIRECT.open(request, timeout=5) as reply:
                    assert reply.status == 204
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.run.stop()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emupos"))
    yield emu
    emu.stop()


@pytest.fixture(params=["toledo8217", "sma"])
def scale(request, emulator):
    protocol = request.param
    bytesize, parity, stopbits = 8, "N", 1  # a pty refuses 7E1 (EINVAL); the bytes are the same
    scale = SerialScale(emulator.path(protocol), queue.Queue(), protocol, 9600, bytesize, parity, stopbits,
                        poll_s=0.02)
    scale.start()
    yield protocol, scale
    scale.stop()


def test_stable_weights_from_emupos(emulator, scale):
    protocol, port = scale
    emulator.weigh(protocol, 730)
    assert port.wait_for(lambda r: r.status == "stable" and r.weight == Decimal("0.730"), 10) is not None
    emulator.weigh(protocol, 12345)
    assert port.wait_for(lambda r: r.status == "stable" and r.weight == Decimal("12.345"), 10) is not None
    assert port.state == "connected"


def test_a_moving_weight_is_unstable_until_it_settles(emulator, scale):
    protocol, port = scale
    emulator.weigh(protocol, 0)
    assert port.wait_for(lambda r: r.status == "stable" and r.weight == 0, 10) is not None
    emulator.weigh(protocol, 800, stable=False)  # the emupos profiles settle after 500 ms
    assert port.wait_for(lambda r: r.status == "unstable", 10) is not None
    assert port.wait_for(lambda r: r.status == "stable" and r.weight == Decimal("0.800"), 10) is not None


def test_overload_and_under_zero_from_emupos(emulator, scale):
    protocol, port = scale
    emulator.weigh(protocol, 15_100)  # the profiles' capacity is 15 kg
    assert port.wait_for(lambda r: r.status == "overload", 10) is not None
    emulator.weigh(protocol, -100)
    assert port.wait_for(lambda r: r.status == "under_zero", 10) is not None
    emulator.weigh(protocol, 0)


@pytest.mark.parametrize("layout, option, value, expected", [
    ("21IIIIIWWWWWC", "--weight", "0.730kg", ("weight", Decimal("0.730"))),
    ("23IIIIIPPPPPC", "--price", "1449", ("price", 1449)),
    ("27IIIIIIWWWWC", "--weight", "1250g", ("weight", Decimal("1.250"))),
])
def test_labels_printed_by_emupos_decode_to_the_same_item_and_value(layout, option, value, expected):
    made = subprocess.run(
        [str(emupos_binary()), "barcode", "weighed", "--layout", layout, "--item", "42", option, value],
        capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    code = re.search(r"\b\d{13}\b", made.stdout).group(0)  # type: ignore[union-attr]
    found = EmbeddedScheme.from_patterns([layout]).decode(code)
    assert found is not None and int(found.item) == 42
    assert (found.kind, found.weight if found.kind == "weight" else found.price) == expected
