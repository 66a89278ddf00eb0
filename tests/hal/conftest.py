"""Fixtures for hal's tests: an event recorder over the hal queue and a fresh MockFactory per test."""

from __future__ import annotations

import pytest
from hal_recorder import Recorder


@pytest.fixture
def events() -> Recorder:
    return Recorder()


@pytest.fixture
def mock_factory():
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
