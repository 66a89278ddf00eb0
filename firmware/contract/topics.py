"""Topic names of docs/contract.md#topics, built from the prefix, store and register ids."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "kassa/v1"
INGEST_GROUP = "kassa-ingest"

DEVICE_LEAVES = ("receipts", "reports", "status", "acks", "commands", "command_results", "selftest")
STORE_LEAVES = ("catalog", "clerks")
# the fleet's accounts snapshot (docs/accounts.md), retained and signed like the catalog. Not yet in STORE_LEAVES
# and `downlink`: registers subscribe to it once sync hands it to the register (and the broker ACL grants it)
ACCOUNTS_LEAF = "accounts"


@dataclass(frozen=True)
class DeviceTopics:
    """Every topic one register publishes to or subscribes to."""

    store: str
    register: str
    prefix: str = DEFAULT_PREFIX

    def _device(self, leaf: str) -> str:
        return f"{self.prefix}/{self.store}/{self.register}/{leaf}"

    @property
    def receipts(self) -> str:
        return self._device("receipts")

    @property
    def reports(self) -> str:
        return self._device("reports")

    @property
    def status(self) -> str:
        return self._device("status")

    @property
    def acks(self) -> str:
        return self._device("acks")

    @property
    def commands(self) -> str:
        return self._device("commands")

    @property
    def command_results(self) -> str:
        return self._device("command_results")

    @property
    def selftest(self) -> str:
        """A technician's broker self-test (provisioning.broker_check); the fleet answers on `acks`."""
        return self._device("selftest")

    @property
    def catalog(self) -> str:
        return f"{self.prefix}/{self.store}/catalog"

    @property
    def clerks(self) -> str:
        return f"{self.prefix}/{self.store}/clerks"

    @property
    def accounts(self) -> str:
        """The store's accounts snapshot: loyalty points, gift card and on-account balances (retained, signed)."""
        return f"{self.prefix}/{self.store}/{ACCOUNTS_LEAF}"

    @property
    def downlink(self) -> tuple[str, ...]:
        """What the device subscribes to."""
        return (self.acks, self.commands, self.catalog, self.clerks)


def ingest_filters(prefix: str = DEFAULT_PREFIX, group: str = INGEST_GROUP) -> tuple[str, ...]:
    """Shared-subscription filters of the fleet's ingest workers (receipts, reports, status, command results,
    self-tests)."""
    return tuple(f"$share/{group}/{prefix}/+/+/{leaf}"
                 for leaf in ("receipts", "reports", "status", "command_results", "selftest"))


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str | None, str] | None:
    """`(store, register, leaf)` of a contract topic (`register` None for store topics), else None."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    if len(parts) == 3 and parts[2] in DEVICE_LEAVES and all(parts[:2]):
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and (parts[1] in STORE_LEAVES or parts[1] == ACCOUNTS_LEAF) and parts[0]:
        return parts[0], None, parts[1]
    return None
