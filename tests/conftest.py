"""Shared fixtures: a real Mosquitto on loopback, headless pygame, mock GPIO pins."""

from __future__ import annotations

import os

import pytest

# Set before anything imports pygame or gpiozero: no display, no real pins in tests.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from tests.support.mosquitto import Mosquitto  # noqa: E402


@pytest.fixture
def mosquitto(tmp_path):
    """A fresh broker (persistence on, autosave every second) on a free 127.0.0.1 port."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def stick(tmp_path):
    """A mounted 'USB stick' to export to (a real tmpfs as root; see tests/support/tmpfs.usb_stick)."""
    from tests.support.tmpfs import usb_stick

    with usb_stick(tmp_path / "usb") as mounted:
        yield mounted
