"""MQTT packet size limits, derived from the contract's payload limits (the MQTT 5 Maximum Packet Size).

Every client of ours announces a Maximum Packet Size in its CONNECT, so the
broker drops (MQTT 5 §3.1.2.11.4: "the Server MUST NOT send packets exceeding
Maximum Packet Size to the Client") whatever it could not use anyway, instead
of sending it: a 200 MiB message to a register's topic would otherwise be
read whole into memory (three copies in paho) before the contract check
refuses it. Each limit is the largest payload that client can legitimately
receive, plus PACKET_OVERHEAD for the fixed header, the topic (prefix, store,
register, leaf), the packet id and the properties a broker adds when it
forwards a message. Catalog, clerks and commands may come in a signed
envelope (firmware.contract.signing: base64 of the document, so 4/3 of its
limit plus 1 KiB): the 4 MiB catalog needs a packet of about 5.3 MiB.
"""

from __future__ import annotations

from firmware.contract.accounts import AccountsSnapshot
from firmware.contract.customers import CustomerEdits, CustomerList
from firmware.contract.images import ItemImage
from firmware.contract.mail import MailAcks, MailRequest
from firmware.contract.payloads import (
    COMMAND_MAX_BYTES,
    KIB,
    Acks,
    CatalogMessage,
    Clerks,
    CommandResult,
    Receipt,
    Report,
    Selftest,
    Status,
)
from firmware.contract.signing import envelope_limit
from firmware.contract.stock import StockDeltas, StockSnapshot
from firmware.contract.timeclock import PunchAcks, PunchMessage

PACKET_OVERHEAD = 4 * KIB


def packet_limit(*max_payloads: int) -> int:
    """The Maximum Packet Size for a client that receives payloads up to the largest of `max_payloads`."""
    return max(max_payloads) + PACKET_OVERHEAD


# a register: acks, and the signed envelopes of commands, catalog (4 MiB), clerks, accounts, stock and the
# store's customer list (32 MiB, about 200k customers: the largest payload of the contract, docs/customers.md;
# `customers.device_max_packet_with_customers`)
DEVICE_MAX_PACKET = packet_limit(Acks.MAX_BYTES, envelope_limit(COMMAND_MAX_BYTES),
                                 envelope_limit(CatalogMessage.MAX_BYTES), envelope_limit(Clerks.MAX_BYTES),
                                 envelope_limit(AccountsSnapshot.MAX_BYTES), envelope_limit(StockSnapshot.MAX_BYTES),
                                 PunchAcks.MAX_BYTES, MailAcks.MAX_BYTES, envelope_limit(CustomerList.MAX_BYTES),
                                 ItemImage.MAX_BYTES)  # item pictures: docs/item-images.md
# the fleet's ingest: receipts, reports, status, command results, self-tests (256 KiB)
INGEST_MAX_PACKET = packet_limit(Receipt.MAX_BYTES, Report.MAX_BYTES, Status.MAX_BYTES, CommandResult.MAX_BYTES,
                                 Selftest.MAX_BYTES, PunchMessage.MAX_BYTES, MailRequest.MAX_BYTES,
                                 StockDeltas.MAX_BYTES, CustomerEdits.MAX_BYTES)
# the technician's self-test client (kassa-provision selftest): acks and the register's retained status
SELFTEST_MAX_PACKET = packet_limit(Acks.MAX_BYTES, Status.MAX_BYTES)
# any fleet tool (kassa-fleet publish reads the retained catalog back), and the broker's own limit
# (provisioning/templates/mosquitto-kassa.conf `max_packet_size`): the largest packet the contract allows
FLEET_MAX_PACKET = BROKER_MAX_PACKET = max(DEVICE_MAX_PACKET, INGEST_MAX_PACKET, SELFTEST_MAX_PACKET)
# the largest payload of the contract (the signed customer list envelope): the broker's `message_size_limit`
BROKER_MAX_PAYLOAD = BROKER_MAX_PACKET - PACKET_OVERHEAD

__all__ = ["BROKER_MAX_PACKET", "BROKER_MAX_PAYLOAD", "DEVICE_MAX_PACKET", "FLEET_MAX_PACKET", "INGEST_MAX_PACKET",
           "PACKET_OVERHEAD", "SELFTEST_MAX_PACKET", "packet_limit"]
