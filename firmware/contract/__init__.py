"""The MQTT contract (docs/contract.md) as code: topics, payload models, JSON Schemas, AsyncAPI.

The names below are loaded on first use (PEP 562): the payload models need pydantic, which the register does
not need before its login screen is up (`firmware.contract.clock` and `.topics` are imported without it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.contract.errors import PayloadRejected
    from firmware.contract.payloads import (
        Acks,
        CatalogMessage,
        Clerks,
        Command,
        CommandResult,
        Receipt,
        Report,
        Selftest,
        Status,
        decode,
        decode_command,
        decode_json,
        encode,
    )
    from firmware.contract.schemas import MODELS, load_schema, schema_for_topic
    from firmware.contract.topics import DEFAULT_PREFIX, DeviceTopics, ingest_filters, parse_topic

__all__ = [
    "Acks", "CatalogMessage", "Clerks", "Command", "CommandResult", "DEFAULT_PREFIX", "DeviceTopics", "MODELS",
    "PayloadRejected", "Receipt", "Report", "Selftest", "Status", "decode", "decode_command", "decode_json", "encode",
    "ingest_filters", "load_schema", "parse_topic", "schema_for_topic",
]

_HOME = {
    **dict.fromkeys(("PayloadRejected",), "errors"),
    **dict.fromkeys(("Acks", "CatalogMessage", "Clerks", "Command", "CommandResult", "Receipt", "Report", "Selftest",
                     "Status", "decode", "decode_command", "decode_json", "encode"), "payloads"),
    **dict.fromkeys(("MODELS", "load_schema", "schema_for_topic"), "schemas"),
    **dict.fromkeys(("DEFAULT_PREFIX", "DeviceTopics", "ingest_filters", "parse_topic"), "topics"),
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
