"""Lazy, cached import of python-escpos (its capabilities pickle kept in a persistent cache dir)."""

from __future__ import annotations

import os
import pathlib
from types import ModuleType


def load_escpos() -> ModuleType:
    """Import and return `escpos.printer`; first point ESCPOS_CAPABILITIES_PICKLE_DIR at a kept directory.

    Without it every start parses the capabilities YAML (~150 ms here, 5-7x that on a Pi) and leaves an empty
    temp directory behind.
    """
    if not os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(_cache_dir())
    pathlib.Path(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]).mkdir(parents=True, exist_ok=True)
    import escpos.printer

    return escpos.printer


def _cache_dir() -> pathlib.Path:
    try:
        import platformdirs

        return pathlib.Path(platformdirs.user_cache_dir("kassa")) / "escpos"
    except ImportError:  # platformdirs is a dependency; this only guards a broken install
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return pathlib.Path(base) / "kassa" / "escpos"
