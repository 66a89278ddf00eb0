"""Touchscreen front end (pygame) of the register service in `firmware`.

Importing `ui` imports pygame without the optional parts the UI never uses: pygame's `__init__` tries
`pygame.surfarray`/`sndarray` (numpy) and `pygame.pkgdata` (setuptools' pkg_resources), which together cost
ten times the rest of pygame's import, seconds on a Pi under load, before the login screen. With those two
blocked for the duration of the import pygame falls back as it does where they are not installed
(surfarray a MissingModule, pkgdata reading its files directly); both stay importable afterwards.
"""

from __future__ import annotations

import sys

_NOT_FOR_THE_UI = ("numpy", "pkg_resources")


def _import_pygame_lean() -> None:
    if "pygame" in sys.modules:
        return
    blocked = [name for name in _NOT_FOR_THE_UI if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "import numpy" raises ImportError (PEP 451)
    try:
        import pygame  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_pygame_lean()
