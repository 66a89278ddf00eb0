"""The device's TOML config file (docs/contract.md#config-file), validated whole at start-up.

Unknown keys and bad values stop start-up with one message per problem naming
the key, what it must be and an example (exit code 2); never a traceback.
Every number has a range (see `BOUNDS` and README "Configuration"), the
broker prefix is a plain topic path, tax rates are decimal percentages, and
the `[hardware]` URLs go through hal's own URL parsers here, at load, so a bad
one is a config error rather than a crash when the hardware is built.
Secrets live in separate 0600 files named from here and are read only when
needed (`read_secret`).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import warnings
from datetime import tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from firmware.contract.secrets import read_secret  # noqa: F401 - the one secret reader, re-exported here
from firmware.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/kassa/kassa.toml")
ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
_ID_RE = re.compile(ID_PATTERN)

MQTT_MAX_SESSION_EXPIRY = 2**32 - 1  # MQTT 5: a four-byte integer; 0xFFFFFFFF means "never expires"
PAPER_COLUMNS = (32, 42, 48)         # 58 mm paper: 32; 80 mm paper: 42 (font A, 12 dots) or 48
PREFIX_MAX_LEVELS = 4
_PREFIX_LEVEL_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TAX_RATE_PLACES = 4
_TAX_RATE_RE = re.compile(rf"^\d{{1,3}}(\.\d{{1,{TAX_RATE_PLACES}}})?$")
_TAX_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
MAX_TAX_RATES = 20
MAX_MONEY = 10**12                   # the contract's largest amount, in minor units

# dotted key -> (what the value must be, an example line). Filled next to each field below; also the
# range table of README "Configuration".
BOUNDS: dict[str, tuple[str, str]] = {}


def _rule(key: str, what: str, example: str) -> None:
    BOUNDS[key] = (what, example)


def _whole(key: str, default: int, lo: int, hi: int, unit: str = "") -> Any:  # Any: pydantic's Field(), as it types it
    _rule(key, f"a whole number from {lo} to {hi}{unit}", f"{key.rsplit('.', 1)[1]} = {default}")
    return Field(default=default, ge=lo, le=hi, strict=True)


def _number(key: str, default: float, lo: float, hi: float, unit: str = "") -> Any:  # Any: as `_whole`
    _rule(key, f"a number from {lo:g} to {hi:g}{unit}", f"{key.rsplit('.', 1)[1]} = {default:g}")
    return Field(default=default, ge=lo, le=hi, strict=True, allow_inf_nan=False)


def _hardware_url(key: str, parser_name: str, value: str) -> str:
    """Parse a `[hardware]` URL with hal's own parser; its error (key, problem, example) becomes ours."""
    from hal import urls
    from hal.errors import HardwareConfigError

    try:
        getattr(urls, parser_name)(value, key)
    except HardwareConfigError as exc:
        raise ValueError(str(exc).removeprefix(f"{key} = ")) from None
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


with warnings.catch_warnings():
    # pydantic notes that `register` shadows ABCMeta.register; the field is what we want.
    warnings.simplefilter("ignore", UserWarning)

    class DeviceConfig(_Section):
        store: str = Field(pattern=ID_PATTERN)
        register: str = Field(pattern=ID_PATTERN)
        data_dir: Path = Path("/var/lib/kassa")

        @field_validator("data_dir")
        @classmethod
        def _dir(cls, value: Path) -> Path:
            if "\x00" in str(value) or not str(value).strip():
                raise ValueError("must be a directory path such as /var/lib/kassa")
            return value


_rule("device.store", "1-32 letters, digits, '-' or '_'", 'store = "S001"')
_rule("device.register", "1-32 letters, digits, '-' or '_'", 'register = "R1"')
_rule("device.data_dir", "a directory path", 'data_dir = "/var/lib/kassa"')
_rule("accounts.giftcard_refund", '"card" (a sale paid by gift card is refunded onto the card) or "any"',
      'giftcard_refund = "card"')
_rule("accounts.giftcard_sku", "1-64 letters, digits, '.', '-' or '_'", 'giftcard_sku = "GIFTCARD"')
_rule("accounts.giftcard_tax_code", "1-16 letters, digits, '-' or '_'", 'giftcard_tax_code = "GC"')
_rule("layby.sku", "1-64 letters, digits, '.', '-' or '_'", 'sku = "LAYBY"')
_rule("layby.tax_code", "1-16 letters, digits, '-' or '_' (a code taxed at 0 or not in shop.tax_rates)",
      'tax_code = "LB"')
_rule("layby.refund_tenders", 'a list of "cash", "card", "on_account"', 'refund_tenders = ["cash"]')
_rule("broker.url", "mqtt://host:port or mqtts://host:port", 'url = "mqtts://broker.example:8883"')
_rule("broker.prefix", f"1-{PREFIX_MAX_LEVELS} topic levels of letters, digits, '-' or '_' joined by '/', "
      "no wildcards (+ #), no '$', no leading or trailing '/'", 'prefix = "kassa/v1"')


class BrokerConfig(_Section):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    fleet_key_file: Path | None = None  # pinned fleet signing key(s), PEM (firmware.contract.signing)
    prefix: str = "kassa/v1"
    keepalive: int = _whole("broker.keepalive", 30, 5, 3600, " (seconds)")
    session_expiry: int = _whole("broker.session_expiry", 7 * 24 * 3600, 60, MQTT_MAX_SESSION_EXPIRY,
                                 " (seconds; MQTT's limit)")
    backoff_cap: float = _number("broker.backoff_cap", 60.0, 1.0, 3600.0, " (seconds)")
    window: int = _whole("broker.window", 100, 1, 1000, " (receipts in flight)")
    max_unconfirmed: int = _whole("broker.max_unconfirmed", 500, 1, 100_000,
                                  " (receipts delivered but not yet confirmed by the fleet)")
    resend_after: float = _number("broker.resend_after", 300.0, 5.0, 86400.0, " (seconds)")
    status_interval: float = _number("broker.status_interval", 60.0, 5.0, 3600.0, " (seconds)")
    drain_cpu_share: float = _number("broker.drain_cpu_share", 0.08, 0.0, 1.0,
                                     " (share of wall-clock time the sync thread may use while the screen draws; "
                                     "0 = unpaced)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("mqtt", "mqtts") and bool(parts.hostname)
            port = parts.port
        except ValueError:
            ok, port = False, None
        if not ok or (port is not None and not 1 <= port <= 65535):
            raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        levels = value.split("/")
        if not 1 <= len(levels) <= PREFIX_MAX_LEVELS or not all(_PREFIX_LEVEL_RE.match(level) for level in levels):
            raise ValueError(f"{value!r} is not a plain topic path: use {BOUNDS['broker.prefix'][0]}")
        return value


_rule("hardware.paper_columns", "32 (58 mm paper), 42 or 48 (80 mm paper)", "paper_columns = 42")


class HardwareConfig(_Section):
    scanner: str = "simulated"
    printer: str = "simulated"
    drawer: str = "simulated"
    led: str = "simulated"
    scale: str = "none"  # none (weights are typed), simulated[:toledo8217|:sma], serial:///dev/ttyUSB1?protocol=...
    paper_columns: int = Field(default=42, strict=True)

    @field_validator("scanner")
    @classmethod
    def _scanner(cls, value: str) -> str:
        return _hardware_url("hardware.scanner", "parse_scanner_url", value)

    @field_validator("printer")
    @classmethod
    def _printer(cls, value: str) -> str:
        return _hardware_url("hardware.printer", "parse_printer_url", value)

    @field_validator("drawer")
    @classmethod
    def _drawer(cls, value: str) -> str:
        return _hardware_url("hardware.drawer", "parse_drawer_url", value)

    @field_validator("led")
    @classmethod
    def _led(cls, value: str) -> str:
        return _hardware_url("hardware.led", "parse_led_url", value)

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: str) -> str:
        return _hardware_url("hardware.scale", "parse_scale_url", value)

    @field_validator("paper_columns")
    @classmethod
    def _columns(cls, value: int) -> int:
        if value not in PAPER_COLUMNS:
            raise ValueError(f"{value} is not a printer width: use {BOUNDS['hardware.paper_columns'][0]}")
        return value

    @model_validator(mode="after")
    def _own_pins(self) -> HardwareConfig:
        """A GPIO drawer and a GPIO LED must not share a pin (gpiozero would refuse it at start)."""
        from hal.urls import parse_drawer_url, parse_led_url

        drawer, led = parse_drawer_url(self.drawer), parse_led_url(self.led)
        if drawer.kind != "gpio" or led.kind == "simulated":
            return self
        taken = {drawer.relay: "relay", drawer.sensor: "sensor"}
        for pin in (led.pin, led.red, led.green, led.blue):
            if pin is not None and pin in taken:
                raise ValueError(f"hardware.led: GPIO {pin} is already the drawer's {taken[pin]} (hardware.drawer); "
                                 f"give the LED its own pins, e.g. led = \"gpio:red=5,green=6\"")
        return self


_rule("shop.name", "text of 1 to 100 characters", 'name = "Corner Shop"')
_rule("shop.address", "up to 6 lines of at most 100 characters", 'address = ["1 Market Street", "Springfield"]')
_rule("shop.currency", "an ISO 4217 code such as EUR", 'currency = "EUR"')
_rule("shop.currency_display", '"symbol" (€12.90) or "code" (EUR 12.90)', 'currency_display = "symbol"')
_rule("shop.tax_rates", f"up to {MAX_TAX_RATES} codes of 1-16 letters, digits, '-' or '_', each a quoted percentage "
      f"from 0 to 100 with at most {TAX_RATE_PLACES} decimals", 'tax_rates = { A = "19.00", B = "7.00" }')
_rule("shop.tax_id", "the shop's VAT or tax number as printed on receipts, up to 40 characters",
      'tax_id = "DE123456789"')
_rule("shop.tax_id_label", "the words printed before the tax number, up to 24 characters", 'tax_id_label = "VAT No."')
_rule("shop.receipt_page", "the fleet's receipt page, an https:// address (empty: no QR code on receipts)",
      'receipt_page = "https://receipts.example.com"')
_rule("shop.timezone", "an IANA time zone name such as Europe/Berlin (see `timedatectl list-timezones`); "
      "empty: the system's", 'timezone = "Europe/Berlin"')


class ShopConfig(_Section):
    name: str = Field(default="Kassa demo shop", min_length=1, max_length=100)
    address: list[str] = Field(default_factory=list, max_length=6)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    currency_display: str = Field(default="symbol", pattern=r"^(symbol|code)$")  # how money is shown everywhere
    tax_included: bool = True
    cash_rounding: int = _whole("shop.cash_rounding", 0, 0, 100, " (minor units; 0 = none, 5 = 0.05)")
    tax_rates: dict[str, str] = Field(default_factory=lambda: {"A": "19.00", "B": "7.00"})
    manager_discount_percent: int = _whole("shop.manager_discount_percent", 20, 0, 100, " (percent)")
    on_account_offline_limit: int = _whole("shop.on_account_offline_limit", 50000, 0, MAX_MONEY, " (minor units)")
    tax_id: str = Field(default="", max_length=40)  # printed in every receipt's and report's header
    tax_id_label: str = Field(default="VAT No.", max_length=24)
    timezone: str = ""  # IANA name; receipts and reports print the shop's local time; "" = the system's zone
    # the fleet's receipt page (docs/digital-receipts.md): receipts print a QR code of their page; "" = none
    receipt_page: str = Field(default="", max_length=200)
    # docs/item-prompts.md: an item with a minimum age also asks for the customer's date of birth (kept on the line)
    age_check_dob: bool = False
    # docs/item-images.md: the byte limit of the item pictures cached under <data dir>/images/ (0 = none kept)
    image_cache_mb: int = _whole("shop.image_cache_mb", 64, 0, 4096, " (MiB)")

    @field_validator("receipt_page")
    @classmethod
    def _receipt_page(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            parts = urlsplit(value)
            host = parts.hostname if parts.port is None or parts.port > 0 else None
        except ValueError:  # a port out of range, a bad IPv6 literal
            host = None
        if (host is None or parts.scheme != "https" or not value.isascii() or parts.query or parts.fragment
                or "@" in parts.netloc or any(ch.isspace() or not ch.isprintable() for ch in value)):
            raise ValueError("must be the fleet's receipt page as an https:// address, without ?query or #part, "
                             "or empty for no QR code")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        value = value.strip()
        if value:
            load_zone(value)
        return value

    @property
    def zone(self) -> tzinfo:
        """The shop's time zone: `timezone`, else the system's (/etc/localtime), else UTC."""
        return load_zone(self.timezone) if self.timezone else system_zone()

    @property
    def tax_line(self) -> str:
        """"VAT No. DE123456789" (empty without a tax number)."""
        return f"{self.tax_id_label} {self.tax_id}".strip() if self.tax_id.strip() else ""

    @field_validator("address")
    @classmethod
    def _address(cls, value: list[str]) -> list[str]:
        if any(len(line) > 100 for line in value):
            raise ValueError("a line is longer than 100 characters; split it")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        from firmware.domain.money import MINOR_DIGITS

        if value not in MINOR_DIGITS:
            raise ValueError(f"{value!r} is not a currency Kassa knows; use an ISO 4217 code such as EUR")
        return value

    @field_validator("tax_rates")
    @classmethod
    def _rates(cls, value: dict[str, str]) -> dict[str, str]:
        if not 1 <= len(value) <= MAX_TAX_RATES:
            raise ValueError(f"give 1 to {MAX_TAX_RATES} tax codes")
        for code, rate in value.items():
            if not _TAX_CODE_RE.match(code):
                raise ValueError(f"tax code {code!r}: use 1-16 letters, digits, '-' or '_'")
            try:
                ok = bool(_TAX_RATE_RE.match(rate)) and Decimal(rate) <= 100
            except InvalidOperation:
                ok = False
            if not ok:
                raise ValueError(f"{code} = {rate!r}: a rate is a percentage from 0 to 100 with at most "
                                 f"{TAX_RATE_PLACES} decimals, written as text such as \"19.00\"")
        return value


class PolicyConfig(_Section):
    offline_warn_hours: float = _number("policy.offline_warn_hours", 24.0, 0.01, 8760.0, " (hours)")
    pending_warn_count: int = _whole("policy.pending_warn_count", 5000, 1, 10_000_000, " (receipts)")
    retention_days: int = _whole("policy.retention_days", 400, 1, 3660, " (days)")
    parked_cart_max_age_hours: float = _number("policy.parked_cart_max_age_hours", 12.0, 0.01, 720.0, " (hours)")
    drawer_open_warn_seconds: float = _number("policy.drawer_open_warn_seconds", 60.0, 1.0, 3600.0, " (seconds)")


class WeighingConfig(_Section):
    """Goods sold by weight: the bounds beyond which a manager approves, and the shop scales' EAN-13 layouts."""

    max_kg: float = _number("weighing.max_kg", 30.0, 0.1, 1000.0, " (kg; heavier needs a manager)")
    min_kg: float = _number("weighing.min_kg", 0.005, 0.0, 1.0, " (kg; lighter needs a manager)")
    embedded_layouts: list[str] = Field(default_factory=lambda: ["21IIIIIWWWWWC", "22IIIIIWWWWWC", "23IIIIIPPPPPC",
                                                                 "24IIIIIPPPPPC", "28IIIIVPPPPPC"], max_length=10)
    embedded_price_decimals: int | None = None  # decimals of the price digits; None: the currency's
    embedded_weight_decimals: int = _whole("weighing.embedded_weight_decimals", 3, 0, 3,
                                           " (decimals of the weight digits, in kg; 3 = grams)")

    @field_validator("embedded_layouts")
    @classmethod
    def _layouts(cls, value: list[str]) -> list[str]:
        from firmware.domain.embedded import EmbeddedScheme
        from firmware.domain.errors import DomainError

        try:
            EmbeddedScheme.from_patterns(value)
        except DomainError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("embedded_price_decimals", mode="before")
    @classmethod
    def _price_decimals(cls, value: object) -> object:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3):
            raise ValueError(f"must be a whole number of decimals from 0 to 3, at most the currency's, not {value!r} "
                             "(example: embedded_price_decimals = 2; leave it out for the currency's)")
        return value

    @model_validator(mode="after")
    def _range(self) -> WeighingConfig:
        if self.min_kg >= self.max_kg:
            raise ValueError(f"weighing.min_kg ({self.min_kg:g}) must be below weighing.max_kg ({self.max_kg:g})")
        return self


_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
GIFTCARD_KEY_HEX = 64  # `openssl rand -hex 32`: 256 bits


class AccountsConfig(_Section):
    """Loyalty points, gift cards and on-account credit offline (docs/accounts.md)."""

    giftcard_key_file: Path | None = None  # 0600, 64 hex digits (HMAC key of card numbers); unset: no gift cards
    giftcard_sku: str = Field(default="GIFTCARD", pattern=_KEY_RE.pattern)
    giftcard_tax_code: str = Field(default="GC", pattern=_TAX_CODE_RE.pattern)
    giftcard_min_load: int = _whole("accounts.giftcard_min_load", 100, 1, MAX_MONEY, " (minor units)")
    giftcard_max_balance: int = _whole("accounts.giftcard_max_balance", 50_000, 1, MAX_MONEY, " (minor units)")
    giftcard_offline_limit: int = _whole("accounts.giftcard_offline_limit", 10_000, 0, MAX_MONEY,
                                         " (minor units of one card redeemed on this register until the fleet "
                                         "confirms)")
    giftcard_refund: str = Field(default="card", pattern=r"^(card|any)$")  # "card": paid back onto the card only
    points_per_unit: int = _whole("accounts.points_per_unit", 1, 0, 1_000_000, " (points per currency unit; 0 = "
                                  "no points earned)")
    points_unit: int | None = None  # minor units of one currency unit; None: the currency's (100 for EUR, 1 for JPY)
    points_excluded_skus: list[str] = Field(default_factory=list, max_length=10_000)
    points_excluded_groups: list[str] = Field(default_factory=list, max_length=1_000)
    redeem_points: int = _whole("accounts.redeem_points", 100, 1, 10**9, " (points that pay redeem_value)")
    redeem_value: int = _whole("accounts.redeem_value", 100, 0, MAX_MONEY, " (minor units redeem_points pay)")
    redeem_min_points: int = _whole("accounts.redeem_min_points", 1, 0, 10**9, " (points)")
    points_offline_cap: int | None = None  # points one customer redeems here until the fleet confirms; None: no cap

    @field_validator("points_unit", "points_offline_cap", mode="before")
    @classmethod
    def _optional_count(cls, value: object, info: ValidationInfo) -> object:
        lo = 1 if info.field_name == "points_unit" else 0
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= 10**12):
            raise ValueError(f"must be a whole number from {lo} to {10**12}, not {value!r} "
                             f"(example: {info.field_name} = {100 if lo else 5000}; leave it out for the default)")
        return value

    @model_validator(mode="after")
    def _key(self) -> AccountsConfig:
        if self.giftcard_min_load > self.giftcard_max_balance:
            raise ValueError(f"accounts.giftcard_min_load ({self.giftcard_min_load}) must be at most "
                             f"accounts.giftcard_max_balance ({self.giftcard_max_balance})")
        path = self.giftcard_key_file
        if path is not None:
            from firmware.contract.errors import SecretFileError

            try:
                text = read_secret(path, "gift-card key")
            except SecretFileError as exc:
                raise ValueError(f"accounts.giftcard_key_file: {exc}") from None
            if len(text) != GIFTCARD_KEY_HEX or not all(ch in "0123456789abcdefABCDEF" for ch in text):
                raise ValueError(f"accounts.giftcard_key_file: {path} must hold {GIFTCARD_KEY_HEX} hex digits "
                                 "(make one with `openssl rand -hex 32`)")
            self._giftcard_key = bytes.fromhex(text)
        return self

    _giftcard_key: bytes | None = PrivateAttr(default=None)

    @property
    def giftcard_key(self) -> bytes | None:
        """The gift-card key's bytes, read from `giftcard_key_file` at load (None: gift cards are off)."""
        return self._giftcard_key


class LaybyConfig(_Section):
    """Layby: goods reserved against a deposit, paid off in instalments (docs/layby.md)."""

    sku: str = Field(default="LAYBY", pattern=_KEY_RE.pattern)  # the line a deposit or instalment is sold as
    tax_code: str = Field(default="LB", pattern=_TAX_CODE_RE.pattern)  # at rate 0: money held, not a supply yet
    min_deposit_percent: int = _whole("layby.min_deposit_percent", 10, 0, 99, " (percent of the total)")
    max_days: int = _whole("layby.max_days", 90, 1, 3650, " (days from opening to the latest due date)")
    default_days: int = _whole("layby.default_days", 30, 1, 3650, " (days to the due date the till suggests)")
    cancel_fee_percent: int = _whole("layby.cancel_fee_percent", 10, 0, 100, " (percent of what was paid in)")
    cancel_fee_fixed: int = _whole("layby.cancel_fee_fixed", 0, 0, MAX_MONEY, " (minor units)")
    refund_tenders: list[str] = Field(default_factory=lambda: ["cash"], min_length=1, max_length=3)
    cancel_needs_manager: bool = True

    @field_validator("refund_tenders")
    @classmethod
    def _refund_tenders(cls, value: list[str]) -> list[str]:
        bad = [kind for kind in value if kind not in ("cash", "card", "on_account")]
        if bad:
            raise ValueError(f"{bad[0]!r} cannot pay a layby back: use \"cash\", \"card\" or \"on_account\" "
                             "(store credit on the customer's account)")
        return value


class Config(_Section):
    device: DeviceConfig
    broker: BrokerConfig = BrokerConfig()
    hardware: HardwareConfig = HardwareConfig()
    shop: ShopConfig = ShopConfig()
    policy: PolicyConfig = PolicyConfig()
    weighing: WeighingConfig = WeighingConfig()
    accounts: AccountsConfig = AccountsConfig()
    layby: LaybyConfig = LaybyConfig()

    @model_validator(mode="after")
    def _gift_card_tax(self) -> Config:
        code = self.accounts.giftcard_tax_code
        rate = self.shop.tax_rates.get(code)
        if rate is not None and Decimal(rate) != 0:
            raise ValueError(f"accounts.giftcard_tax_code: {code} is taxed at {rate}% in shop.tax_rates; a gift card "
                             "is not taxed: use a code of its own (giftcard_tax_code = \"GC\")")
        return self

    @model_validator(mode="after")
    def _price_decimals(self) -> Config:
        from firmware.domain.money import MINOR_DIGITS

        digits = MINOR_DIGITS.get(self.shop.currency, 2)
        if self.weighing.embedded_price_decimals is not None and self.weighing.embedded_price_decimals > digits:
            raise ValueError(f"weighing.embedded_price_decimals: {self.shop.currency} has {digits} decimals, so price "
                             f"labels cannot carry {self.weighing.embedded_price_decimals}; use 0 to {digits}")
        return self

    @property
    def client_id(self) -> str:
        return f"kassa-{self.device.store}-{self.device.register}"


_SECTIONS: dict[str, type[_Section]] = {
    "device": DeviceConfig, "broker": BrokerConfig, "hardware": HardwareConfig, "shop": ShopConfig,
    "policy": PolicyConfig, "weighing": WeighingConfig, "accounts": AccountsConfig}
_TYPE_WORDS = {"string_type": "text in quotes", "bool_type": "true or false",
               "list_type": "a list like [\"a\", \"b\"]", "dict_type": "a table like { A = \"19.00\" }",
               "model_type": "a [table]", "path_type": "a path in quotes"}


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key_text(part: object) -> str:
    """A key as TOML would write it: bare when it can be, else quoted with escapes (one line, whatever it holds)."""
    text = str(part)
    return text if _BARE_KEY.match(text) else json.dumps(text)


def _describe(error: ErrorDetails) -> str:
    loc = [str(p) for p in error["loc"]]
    key = ".".join(_key_text(p) for p in loc) or "config"
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _SECTIONS.get(loc[0]) if len(loc) == 2 else None
        choices = ", ".join(known.model_fields) if known else ", ".join(_SECTIONS)
        return f"{key}: unknown key; remove it or check its spelling (known here: {choices})"
    # a tax code's own key (shop.tax_rates.A) is reported under shop.tax_rates, whose rule it breaks
    rule_key = ".".join(loc[:2])
    what, example = BOUNDS.get(rule_key, ("", ""))
    if kind == "missing":
        return f"{key}: missing; add it" + (f", e.g. {example}" if example else "")
    msg = error["msg"].removeprefix("Value error, ")
    if msg.startswith(("hardware.", "broker.", "shop.", "policy.", "device.", "weighing.", "accounts.")):
        return msg  # a check across keys names its key itself
    if kind in ("int_type", "float_type", "finite_number", "greater_than_equal", "less_than_equal", "greater_than",
                "less_than") and what:
        msg = f"must be {what}, not {error.get('input')!r}"
    elif kind in _TYPE_WORDS:
        msg = f"must be {_TYPE_WORDS[kind]}, not {error.get('input')!r}"
    elif kind == "string_pattern_mismatch" and what:
        msg = f"must be {what}, not {error.get('input')!r}"
    return f"{key}: {msg}" + (f" (example: {example})" if example and example not in msg else "")


def parse_config(data: dict[str, Any], source: str = "config") -> Config:  # Any: the TOML document as parsed
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
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the line named or re-run "
                          "`kassa-provision init`") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply); re-run `kassa-provision init`") from None
    return parse_config(data, str(path))


def load_zone(name: str) -> tzinfo:
    """The IANA time zone `name` (zoneinfo); ValueError naming the fix when there is no such zone."""
    try:
        if name != name.strip() or not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not a time zone name: use an IANA name such as Europe/Berlin "
                         "(`timedatectl list-timezones` lists them)") from None


def system_zone() -> tzinfo:
    """The machine's own zone as a ZoneInfo (/etc/timezone or the /etc/localtime link), else UTC."""
    candidates = []
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        try:
            return load_zone(name)
        except ValueError:
            continue
    return ZoneInfo("UTC")


def is_valid_id(value: str) -> bool:
    """Store and register ids: `[A-Za-z0-9_-]{1,32}` (docs/contract.md#mqtt)."""
    return bool(_ID_RE.match(value))
