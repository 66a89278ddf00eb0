"""Read, merge, validate and atomically write the device's TOML config (validated with firmware.config first)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from firmware.atomicfile import make_dirs, write_atomic
from firmware.config import Config, config_path, parse_config
from firmware.errors import ConfigError
from provisioning.tomlwrite import dumps

__all__ = ["SECTIONS", "read_raw", "merge", "write_config", "resolve", "secrets_dir"]

SECTIONS = ("device", "broker", "hardware", "shop", "policy")
HEADER = "Kassa register config, written by kassa-provision.\nSecrets live in separate 0600 files named here."


def resolve(explicit: str | Path | None) -> Path:
    """The config path: --config, then KASSA_CONFIG, then /etc/kassa/kassa.toml."""
    return config_path(explicit)


def secrets_dir(path: Path) -> Path:
    return Path(path).parent / "secrets"


def read_raw(path: Path) -> dict[str, dict[str, Any]]:
    """The config as plain tables, or {} when there is none yet (so `init` can run again on top of it)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); run with sudo or check its permissions") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc}); fix that line or move the file away and re-run init"
        ) from None


def merge(base: dict[str, dict[str, Any]], updates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`base` with `updates` laid over it; an update value of None removes the key."""
    out = {section: dict(values) for section, values in base.items()}
    for section, values in updates.items():
        table = out.setdefault(section, {})
        for key, value in values.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = str(value) if isinstance(value, Path) else value
    return {s: out[s] for s in [*SECTIONS, *out] if s in out and (out[s] or s == "device")}


def write_config(path: Path, doc: dict[str, dict[str, Any]]) -> Config:
    """Validate `doc` exactly as the firmware will at start-up, then replace the file atomically."""
    path = Path(path)
    config = parse_config(doc, str(path))
    text = dumps(doc, HEADER)
    # Round trip: what we wrote must read back as the same config.
    if parse_config(tomllib.loads(text), str(path)) != config:
        raise ConfigError(f"{path}: the config would not read back the same; report this as a bug")
    make_dirs(path.parent, 0o755, 0o755)
    write_atomic(path, text.encode("utf-8"), mode=0o644)  # no secrets in it; the service user must read it
    return config
