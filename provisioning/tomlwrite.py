"""A minimal TOML writer for Kassa's config file (tables of strings, numbers, booleans, lists, small dicts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["dumps"]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes for quotes, backslashes, controls).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "_-" for c in key) and key.isascii()
    return key if bare else json.dumps(key)


def dumps(doc: dict[str, dict[str, Any]], header: str = "") -> str:
    """Render `{section: {key: value}}`; None values are left out."""
    out = [f"# {line}" if line else "#" for line in header.splitlines()]
    for section, values in doc.items():
        if out:
            out.append("")
        out.append(f"[{_key(section)}]")
        for key, value in values.items():
            if value is not None:
                out.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(out) + "\n"
