"""Topic names of docs/contract.md#topics, built from the prefix, store and register ids."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "kassa/v1"
INGEST_GROUP = "kassa-ingest"

# punches/punch_acks: the time clock (docs/timeclock.md); mail_requests/mail_acks: e-mail receipts
# (docs/digital-receipts.md). Each uplink is confirmed on its own downlink leaf.
# stock/stock_snapshot: the store's stock deltas and levels (docs/stock.md).
DEVICE_LEAVES = ("receipts", "reports", "status", "acks", "commands", "command_results", "selftest",
                 "punches", "punch_acks", "mail_requests", "mail_acks", "stock", "customers")
# the fleet's accounts snapshot (docs/accounts.md) is retained and signed like the catalog
ACCOUNTS_LEAF = "accounts"
# customers: a register's customer edits (device leaf) and the store's merged customer list (store leaf, retained,
# signed), docs/customers.md
CUSTOMERS_LEAF = "customers"
STORE_LEAVES = ("catalog", "clerks", ACCOUNTS_LEAF, "stock_snapshot", CUSTOMERS_LEAF)


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
    def punches(self) -> str:
        """The register's time clock punches (docs/timeclock.md); confirmed on `punch_acks`."""
        return self._device("punches")

    @property
    def punch_acks(self) -> str:
        return self._device("punch_acks")

    @property
    def mail_requests(self) -> str:
        """Requests to e-mail a receipt (docs/digital-receipts.md); confirmed on `mail_acks`."""
        return self._device("mail_requests")

    @property
    def mail_acks(self) -> str:
        return self._device("mail_acks")

    @property
    def stock(self) -> str:
        """The register's stock deltas (docs/stock.md); the fleet's answer is the store's `stock_snapshot`."""
        return self._device("stock")

    @property
    def customers(self) -> str:
        """The register's customer edits (docs/customers.md); confirmed by the heads of the store's `customer_list`."""
        return self._device(CUSTOMERS_LEAF)

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
    def stock_snapshot(self) -> str:
        """The store's stock levels as the fleet holds them (retained, signed like the catalog)."""
        return f"{self.prefix}/{self.store}/stock_snapshot"

    @property
    def customer_list(self) -> str:
        """The store's customers as the fleet merged them (retained, signed like the catalog; docs/customers.md)."""
        return f"{self.prefix}/{self.store}/{CUSTOMERS_LEAF}"

    def image(self, sha256: str) -> str:
        """One item picture of the store, by its SHA-256 (retained, bytes; docs/item-images.md)."""
        return f"{self.prefix}/{self.store}/images/{sha256}"

    @property
    def images(self) -> str:
        """The filter of every item picture of the store (sync subscribes to it when it keeps pictures)."""
        return self.image("+")

    @property
    def downlink(self) -> tuple[str, ...]:
        """What the device subscribes to."""
        return (self.acks, self.commands, self.catalog, self.clerks, self.accounts, self.punch_acks, self.mail_acks,
                self.stock_snapshot, self.customer_list)


def ingest_filters(prefix: str = DEFAULT_PREFIX, group: str = INGEST_GROUP) -> tuple[str, ...]:
    """Shared-subscription filters of the fleet's ingest workers (receipts, reports, status, command results,
    self-tests, stock deltas, customer edits)."""
    return tuple(f"$share/{group}/{prefix}/+/+/{leaf}"
                 for leaf in ("receipts", "reports", "status", "command_results", "selftest", "stock", CUSTOMERS_LEAF))


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
