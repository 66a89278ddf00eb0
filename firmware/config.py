"""The device's TOML config file (CONTRACT.md "Config file"), validated whole at start-up.

Unknown keys and bad values stop start-up with one message per problem naming
the key and the fix; never a traceback. Secrets live in separate 0600 files
named from here and are read only when needed (`read_secret`).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from firmware.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/kassa/kassa.toml")
ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
_ID_RE = re.compile(ID_PATTERN)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


with warnings.catch_warnings():
    # pydantic notes that `register` shadows ABCMeta.register; the field is what we want.
    warnings.simplefilter("ignore", UserWarning)

    class DeviceConfig(_Section):
        store: str = Field(pattern=ID_PATTERN)
        register: str = Field(pattern=ID_PATTERN)
        data_dir: Path = Path("/var/lib/kassa")


class BrokerConfig(_Section):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    prefix: str = "kassa/v1"
    keepalive: int = Field(default=30, ge=5, le=3600)
    session_expiry: int = Field(default=7 * 24 * 3600, ge=60)
    backoff_cap: float = Field(default=60.0, ge=1.0, le=3600.0)
    window: int = Field(default=100, ge=1, le=1000)
    resend_after: float = Field(default=300.0, ge=5.0)
    status_interval: float = Field(default=60.0, ge=5.0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
        return value


class HardwareConfig(_Section):
    scanner: str = "simulated"
    printer: str = "simulated"
    drawer: str = "simulated"
    led: str = "simulated"
    paper_columns: int = Field(default=42, ge=24, le=64)


class ShopConfig(_Section):
    name: str = "Kassa demo shop"
    address: list[str] = Field(default_factory=list)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    tax_included: bool = True
    cash_rounding: int = Field(default=0, ge=0, le=100)
    tax_rates: dict[str, str] = Field(default_factory=lambda: {"A": "19.00", "B": "7.00"})
    manager_discount_percent: int = Field(default=20, ge=0, le=100)
    on_account_offline_limit: int = Field(default=50000, ge=0)


class PolicyConfig(_Section):
    offline_warn_hours: float = Field(default=24.0, gt=0)
    pending_warn_count: int = Field(default=5000, ge=1)
    retention_days: int = Field(default=400, ge=1)
    parked_cart_max_age_hours: float = Field(default=12.0, gt=0)
    drawer_open_warn_seconds: float = Field(default=60.0, gt=0)


class Config(_Section):
    device: DeviceConfig
    broker: BrokerConfig = BrokerConfig()
    hardware: HardwareConfig = HardwareConfig()
    shop: ShopConfig = ShopConfig()
    policy: PolicyConfig = PolicyConfig()

    @property
    def client_id(self) -> str:
        return f"kassa-{self.device.store}-{self.device.register}"


_EXAMPLES: dict[str, str] = {
    "device.store": 'store = "S001"',
    "device.register": 'register = "R1"',
    "broker.url": 'url = "mqtts://broker.example:8883"',
    "shop.currency": 'currency = "EUR"',
    "shop.cash_rounding": "cash_rounding = 5",
}


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key; remove it or check its spelling against CONTRACT.md"
    if kind == "missing":
        hint = _EXAMPLES.get(key)
        return f"{key}: missing; add it" + (f", e.g. {hint}" if hint else "")
    hint = _EXAMPLES.get(key)
    msg = error["msg"].removeprefix("Value error, ")
    return f"{key}: {msg}" + (f" (example: {hint})" if hint else "")


def parse_config(data: dict[str, Any], source: str = "config") -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every bad key."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source} is not valid:\n  {problems}") from None


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--config`, then `KASSA_CONFIG`, then /etc/kassa/kassa.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("KASSA_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file. Raises ConfigError with the fix, never a traceback."""
    path = config_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no config file; create one with `kassa-provision init`") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); check its permissions") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the line named or re-run `kassa-provision init`") from None
    return parse_config(data, str(path))


def read_secret(path: Path, what: str) -> str:
    """Read a secret file, refusing one readable by group or others."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"{what} file {path}: cannot read ({exc.strerror})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{what} file {path} is readable by others; run `chmod 600 {path}`")
    return path.read_text(encoding="utf-8").strip()


def is_valid_id(value: str) -> bool:
    """Store and register ids: `[A-Za-z0-9_-]{1,32}` (CONTRACT.md)."""
    return bool(_ID_RE.match(value))
