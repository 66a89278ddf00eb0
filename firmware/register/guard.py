"""The command guard: refusals and surprises become an Outcome in the cashier's words, never a traceback."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from firmware.errors import KassaError
from firmware.register.view import Outcome

log = logging.getLogger("firmware.register")

UNEXPECTED = "Something went wrong; the sale is safe. Try again or call the manager."


def command(method: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Wrap a register command: KassaError -> refused Outcome; anything else logged and refused politely."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Outcome:
        try:
            outcome = method(self, *args, **kwargs)
        except KassaError as exc:
            outcome = Outcome.refused(str(exc))
        except Exception:
            log.exception("register command %s failed", method.__name__)
            outcome = Outcome.refused(UNEXPECTED)
        self._said(outcome)
        return outcome

    return wrapper


def plural(n: int, noun: str) -> str:
    """`1 receipt`, `2 receipts`: messages read by people."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
