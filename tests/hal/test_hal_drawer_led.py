"""Drawer and status LED on gpiozero's MockFactory: pin states with their timing, sensor events."""

from __future__ import annotations

import time

import pytest

from hal.drawer import GpioDrawer, SimulatedDrawer
from hal.events import DeviceState, DrawerClosed, DrawerLeftOpen, DrawerOpened
from hal.led import RgbLed, SingleLed
from hal.ports import LedState

pytestmark = pytest.mark.slow  # real-time blink and pulse timings


def changes(pin, since=0):
    """(seconds since the previous change, state) for every change after index `since`."""
    return [(round(s.timestamp, 3), s.state) for s in pin.states[since + 1:]]


def test_relay_pulse_is_non_blocking_and_lasts_the_configured_time(mock_factory, events):
    drawer = GpioDrawer(17, events.queue, mock_factory, pulse_ms=120)
    drawer.start()
    relay = mock_factory.pin(17)
    try:
        relay.clear_states()
        started = time.monotonic()
        drawer.open()
        assert time.monotonic() - started < 0.05
        time.sleep(0.35)
        (t_on, on), (t_off, off) = changes(relay)
        assert (on, off) == (True, False)
        assert 0.10 <= t_off <= 0.20  # high for 120 ms
        assert drawer.is_open() is None
    finally:
        drawer.close()


def test_sensor_edges_become_events_and_a_left_open_drawer_warns_once(mock_factory, events):
    drawer = GpioDrawer(17, events.queue, mock_factory, sensor=27, left_open_s=0.2)
    drawer.start()
    sensor = mock_factory.pin(27)
    try:
        assert drawer.is_open() is True  # the pull-up reads high: found open at start
        assert events.drain() == [DrawerOpened()]
        sensor.drive_low()
        assert drawer.is_open() is False and events.drain()[-1] == DrawerClosed()
        time.sleep(0.3)
        assert events.of(DrawerLeftOpen) == []  # the timer of the first opening was cancelled
        sensor.drive_high()
        assert events.wait_for(DrawerOpened, after=2)
        warning = events.wait_for(DrawerLeftOpen, timeout=2)
        assert 0.15 <= warning.seconds <= 0.5
        time.sleep(0.3)
        assert len(events.of(DrawerLeftOpen)) == 1
        sensor.drive_low()
        assert events.drain()[-1] == DrawerClosed()
    finally:
        drawer.close()


def test_sensor_open_level_low_reads_the_other_way(mock_factory, events):
    drawer = GpioDrawer(17, events.queue, mock_factory, sensor=27, open_level="low", left_open_s=5)
    drawer.start()
    try:
        assert drawer.is_open() is False
        mock_factory.pin(27).drive_low()
        assert drawer.is_open() is True and events.drain() == [DrawerOpened()]
    finally:
        drawer.close()


def test_simulated_drawer_springs_open_on_a_kick_and_closes_when_pushed(mock_factory, events):
    drawer = SimulatedDrawer(events.queue, mock_factory, pulse_ms=50, left_open_s=5)
    drawer.start()
    try:
        assert drawer.is_open() is False
        assert events.drain() == [DeviceState("drawer", True, "ready", "Simulated drawer (MockFactory pins).")]
        drawer.open()
        events.wait_for(DrawerOpened, timeout=2)
        assert drawer.is_open() is True
        assert [state for _, state in changes(drawer.relay.pin)] == [True, False]
        drawer.push_closed()
        assert events.drain()[-1] == DrawerClosed()
    finally:
        drawer.close()


def test_drawer_self_test_kicks_and_reads_the_sensor(mock_factory, events):
    drawer = SimulatedDrawer(events.queue, mock_factory, pulse_ms=30, left_open_s=5)
    drawer.start()
    try:
        result = drawer.self_test(timeout=2)
        assert result.ok and result.device == "drawer" and result.details["open"] is True
        result = drawer.self_test(timeout=0.2)  # still open: the sensor proves nothing
        assert not result.ok and "already open" in result.sentence
    finally:
        drawer.close()
    plain = GpioDrawer(22, events.queue, mock_factory)
    try:
        result = plain.self_test()
        assert result.ok and "no sensor" in result.sentence
    finally:
        plain.close()


def test_drawer_self_test_fails_when_the_sensor_never_moves(mock_factory, events):
    drawer = GpioDrawer(17, events.queue, mock_factory, sensor=27, left_open_s=5)
    drawer.start()
    try:
        mock_factory.pin(27).drive_low()  # closed, and nothing will open it
        result = drawer.self_test(timeout=0.2)
        assert not result.ok and "did not read open" in result.sentence
    finally:
        drawer.close()


def toggles(pin, since):
    return [t for t, _ in changes(pin, since)]


def test_single_led_on_slow_and_fast_blink(mock_factory):
    led = SingleLed(22, mock_factory)
    pin = mock_factory.pin(22)
    try:
        led.show(LedState.ONLINE)
        assert pin.state == 1
        mark = len(pin.states) - 1
        time.sleep(0.3)
        assert len(pin.states) - 1 == mark  # steady
        led.show(LedState.FAULT)
        mark = len(pin.states) - 1
        time.sleep(0.8)
        gaps = toggles(pin, mark)[1:]
        assert len(gaps) >= 3 and all(0.1 <= g <= 0.25 for g in gaps)
        led.show(LedState.PENDING)
        mark = len(pin.states) - 1
        time.sleep(2.3)
        gaps = toggles(pin, mark)[1:]
        assert len(gaps) >= 1 and all(0.9 <= g <= 1.15 for g in gaps)
        led.show(LedState.PROVISIONING)
        mark = len(pin.states) - 1
        time.sleep(1.2)
        on_times = [t for t, state in changes(pin, mark)[1:] if state == 0]
        assert on_times and all(0.05 <= t <= 0.2 for t in on_times)  # a short flash each second
        led.show(LedState.OFF)
        assert pin.state == 0 and led.state is LedState.OFF
    finally:
        led.close()


def rgb(factory, pins=(5, 6, 13)):
    return tuple(factory.pin(p).state for p in pins)


def test_rgb_led_colours_for_each_state(mock_factory):
    led = RgbLed(5, 6, 13, mock_factory)
    try:
        assert led.pwm
        led.show(LedState.ONLINE)
        assert rgb(mock_factory) == (0, 1, 0)
        led.show(LedState.PENDING)
        time.sleep(0.1)
        assert rgb(mock_factory) == (1, 0.5, 0)  # amber, then dark after a second
        time.sleep(1.0)
        assert rgb(mock_factory) == (0, 0, 0)
        led.show(LedState.FAULT)
        red = mock_factory.pin(5)
        mark = len(red.states) - 1
        time.sleep(0.8)
        assert {s for _, s in changes(red, mark)} == {0, 1} and len(changes(red, mark)) >= 4
        assert mock_factory.pin(6).state == 0
        led.show(LedState.PROVISIONING)
        time.sleep(0.1)
        assert rgb(mock_factory) == (0, 1, 0)
        time.sleep(0.5)
        assert rgb(mock_factory) == (0, 0, 1)  # alternating green / blue
    finally:
        led.close()


def test_two_colour_led_without_pwm_falls_back_to_on_off(events):
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()  # plain MockPin: no PWM
    led = RgbLed(5, 6, None, factory)
    try:
        assert not led.pwm
        led.show(LedState.ONLINE)
        assert rgb(factory, (5, 6)) == (False, True)
        led.show(LedState.PENDING)
        time.sleep(0.1)
        assert rgb(factory, (5, 6)) == (True, True)  # amber as red + green
        led.show(LedState.PROVISIONING)
        time.sleep(0.1)
        first = rgb(factory, (5, 6))
        time.sleep(0.5)
        second = rgb(factory, (5, 6))
        assert {first, second} == {(True, False), (False, True)}  # alternating red / green
        led.show(LedState.FAULT)
        time.sleep(0.05)
        assert factory.pin(6).state is False
    finally:
        led.close()
        factory.reset()


def test_led_self_test_cycles_and_restores(mock_factory):
    led = RgbLed(5, 6, 13, mock_factory)
    try:
        led.show(LedState.ONLINE)
        result = led.self_test(step_s=0.05)
        assert result.ok and result.details["shown"] == ["online", "pending", "fault", "provisioning"]
        assert led.state is LedState.ONLINE and rgb(mock_factory) == (0, 1, 0)
    finally:
        led.close()


def test_led_accepts_the_state_name_the_register_uses(mock_factory):
    led = SingleLed(22, mock_factory)
    try:
        led.show(LedState("fault"))
        assert led.state is LedState.FAULT
        with pytest.raises(ValueError):
            led.show("purple")  # type: ignore[arg-type]
    finally:
        led.close()


def test_simulated_drawer_with_auto_close_shuts_itself_for_the_demo():
    import queue as _queue
    import time as _time

    from hal.events import DrawerClosed, DrawerOpened
    from hal.factory import HardwareSpec, build_hardware

    events: _queue.Queue = _queue.Queue()
    hw = build_hardware(HardwareSpec("simulated:memory", "simulated", "simulated?auto_close=0.05", "simulated"), events)
    hw.start()
    try:
        hw.drawer.open()
        seen = []
        deadline = _time.monotonic() + 5
        while DrawerClosed not in seen and _time.monotonic() < deadline:
            try:
                seen.append(type(events.get(timeout=0.1)))
            except _queue.Empty:
                pass
        assert DrawerOpened in seen and DrawerClosed in seen
        assert seen.index(DrawerOpened) < seen.index(DrawerClosed)
        assert hw.drawer.is_open() is False
    finally:
        hw.close()
