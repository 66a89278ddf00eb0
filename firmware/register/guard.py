"""Words for people: `plural` (the command guard itself is `firmware.register.core.run_command`)."""

from __future__ import annotations


def plural(n: int, noun: str) -> str:
    """`1 receipt`, `2 receipts`: messages read by people."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
