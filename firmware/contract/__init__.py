"""The MQTT contract (docs/contract.md) as code: topics, payload models, JSON Schemas, AsyncAPI."""

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
