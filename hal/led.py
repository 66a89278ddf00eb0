"""Status LED backends on gpiozero: a single LED or an RGB LED, blinking in gpiozero's background thread."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from hal.ports import LedState, SelfTestResult, StatusLed

if TYPE_CHECKING:  # gpiozero is imported lazily, and only with a GPIO LED (it ships no type hints)
    from gpiozero import RGBLED, Factory

SLOW = (1.0, 1.0)     # on, off seconds: pending
FAST = (0.15, 0.15)   # fault
FLASH = (0.1, 0.9)    # single LED provisioning: a short flash each second
ALTERNATE = 0.5       # RGB provisioning: seconds per colour

GREEN = (0.0, 1.0, 0.0)
AMBER = (1.0, 0.5, 0.0)
RED = (1.0, 0.0, 0.0)
BLUE = (0.0, 0.0, 1.0)
BLACK = (0.0, 0.0, 0.0)


class _Led(StatusLed):
    def __init__(self) -> None:
        self._state = LedState.OFF

    @property
    def state(self) -> LedState:
        return self._state

    def show(self, state: LedState) -> None:
        if not isinstance(state, LedState):
            state = LedState(state)
        self._state = state
        self._apply(state)

    def _apply(self, state: LedState) -> None:
        raise NotImplementedError

    def self_test(self, step_s: float = 0.5) -> SelfTestResult:
        current = self._state
        shown = []
        for state in (LedState.ONLINE, LedState.PENDING, LedState.FAULT, LedState.PROVISIONING):
            self._apply(state)
            shown.append(state.value)
            time.sleep(step_s)
        self.show(current)
        return SelfTestResult("led", True, "Showed online, pending, fault and provisioning; check each by eye.",
                              {"shown": shown, "kind": type(self).__name__})


class SingleLed(_Led):
    """One LED: on = online, slow blink = pending, fast blink = fault, short flash = provisioning."""

    def __init__(self, pin: int, pin_factory: Factory | None = None) -> None:
        from gpiozero import LED  # lazy: only with a GPIO LED

        super().__init__()
        self.led = LED(pin, pin_factory=pin_factory)

    def _apply(self, state: LedState) -> None:
        if state is LedState.ONLINE:
            self.led.on()
        elif state is LedState.PENDING:
            self.led.blink(*SLOW, background=True)
        elif state is LedState.FAULT:
            self.led.blink(*FAST, background=True)
        elif state is LedState.PROVISIONING:
            self.led.blink(*FLASH, background=True)
        else:
            self.led.off()

    def close(self) -> None:
        self.led.close()


class RgbLed(_Led):
    """An RGB LED: steady green, slow amber blink, fast red blink, green/blue alternating (green/red without blue).

    PWM gives a true amber; a pin factory without PWM falls back to on/off pins (amber shows as yellow).
    """

    def __init__(self, red: int, green: int, blue: int | None = None, pin_factory: Factory | None = None) -> None:
        from gpiozero.exc import PinPWMUnsupported

        super().__init__()
        self.has_blue = blue is not None
        try:
            self.led = self._build(red, green, blue, pin_factory, pwm=True)
            self.pwm = True
        except PinPWMUnsupported:
            self.led = self._build(red, green, blue, pin_factory, pwm=False)
            self.pwm = False

    @staticmethod
    def _build(red: int, green: int, blue: int | None, pin_factory: Factory | None, pwm: bool) -> RGBLED | _RedGreen:
        from gpiozero import RGBLED

        if blue is None:
            return _RedGreen(red, green, pin_factory, pwm)
        return RGBLED(red, green, blue, pwm=pwm, pin_factory=pin_factory)

    def _colour(self, rgb: tuple[float, float, float]) -> tuple[float, ...]:
        if not self.pwm:
            rgb = tuple(1.0 if channel >= 0.5 else 0.0 for channel in rgb)  # type: ignore[assignment]
        return rgb if self.has_blue else rgb[:2]

    def _apply(self, state: LedState) -> None:
        c = self._colour
        if state is LedState.ONLINE:
            self.led.color = c(GREEN)
        elif state is LedState.PENDING:
            self.led.blink(*SLOW, on_color=c(AMBER), off_color=c(BLACK), background=True)
        elif state is LedState.FAULT:
            self.led.blink(*FAST, on_color=c(RED), off_color=c(BLACK), background=True)
        elif state is LedState.PROVISIONING:
            self.led.blink(ALTERNATE, ALTERNATE, on_color=c(GREEN), off_color=c(BLUE if self.has_blue else RED),
                           background=True)
        else:
            self.led.off()

    def close(self) -> None:
        self.led.close()


class _RedGreen:
    """A two-colour (red/green) LED with RGBLED's `color`, `blink` and `off`, on a gpiozero LEDBoard."""

    def __init__(self, red: int, green: int, pin_factory: Factory | None, pwm: bool) -> None:
        from gpiozero import LEDBoard

        self.board = LEDBoard(red=red, green=green, pwm=pwm, pin_factory=pin_factory)

    def _reset(self) -> None:
        self.board.green.source = None
        self.board.off()

    @property
    def color(self) -> tuple[float, float]:
        return (self.board.red.value, self.board.green.value)

    @color.setter
    def color(self, value: tuple[float, ...]) -> None:
        self._reset()
        self.board.red.value, self.board.green.value = value[0], value[1]

    def blink(self, on_time: float, off_time: float, on_color: tuple[float, ...], off_color: tuple[float, ...],
              background: bool = True) -> None:
        from gpiozero.tools import negated

        self._reset()
        red, green = self.board.red, self.board.green
        if any(off_color):  # alternating: green follows the inverse of red
            red.blink(on_time, off_time, background=True)
            green.source = negated(red)
        elif on_color[0] and on_color[1]:
            self.board.blink(on_time, off_time, background=True)  # both together: amber
        else:
            (red if on_color[0] else green).blink(on_time, off_time, background=True)

    def off(self) -> None:
        self._reset()

    def close(self) -> None:
        self._reset()
        self.board.close()
