"""The register's shell: it asks the core (`firmware/register/core`) what to do, and does it.

One thread (the UI's) calls `handle(command)` and `pump()`. Each command or
event goes to `core.decide(state, message, ctx)`, a pure function that
returns the new state, the effects to carry out and (for a command) an
`Outcome` in the cashier's words. The shell keeps that state, carries the
effects out in order (commit, put state, open the drawer, print, publish,
export, sum a fleet report, search receipts) and feeds what comes back (the journal writer's `ReceiptCommitted`,
a print job id, hal and sync events off the queue) to the core again.
Commands never raise. The commit point is the journal: the drawer opens and
the receipt prints only after `ReceiptCommitted` arrives.
"""

from __future__ import annotations

import logging
import queue
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from firmware import printout
from firmware.clock import Clock, iso_utc
from firmware.config import Config
from firmware.customers import CustomerBook
from firmware.domain.catalog import Catalog, Item
from firmware.domain.clerks import Roster
from firmware.domain.errors import Refused
from firmware.errors import JournalError, KassaError
from firmware.exports import receipts_between, unconfirmed_receipts
from firmware.image_cache import ImageCache
from firmware.register import core, lookup
from firmware.register.committer import Committer, StateSaved
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.context import Context, StateDoc
from firmware.register.core.events import ExportFinished, ReceiptPrinting, StateWritten
from firmware.register.core.handlers.stock import on_hand_text
from firmware.register.core.state import Receipt, ReceiptDoc, RegisterState, Report, currency_of
from firmware.register.exporter import Exporter
from firmware.register.finder_worker import FinderWorker
from firmware.register.housekeeping import Housekeeper
from firmware.register.ports import HardwarePorts, RegisterJournal, SyncLink
from firmware.register.punch_retention import PunchPruner
from firmware.register.records_status import RecordsStatus
from firmware.register.report_worker import ReportWorker
from firmware.register.states import PendingStates
from firmware.register.view import (
    AccountBalanceView,
    AccountKind,
    ClerkInfo,
    ItemInfo,
    LockoutView,
    Outcome,
    ParkedInfo,
    QuickKeyInfo,
    RefundView,
    RegisterView,
    StockInfo,
    VariantGridView,
)
from firmware.stock_keeper import StockKeeper
from firmware.stores import catalog_store, clerk_store

log = logging.getLogger(__name__)

__all__ = ["Register"]


class _Lookup:
    """The core's read-only questions, answered from the journal and the state records on their way to it."""

    def __init__(self, journal: RegisterJournal, states: PendingStates[fx.FollowUp],
                 ntp_synced: Callable[[], bool]) -> None:
        self._journal = journal
        self._states = states
        self._ntp_synced = ntp_synced

    def state_record(self, kind: str, key: str) -> StateDoc | None:
        return self._states.get(kind, key)

    def state_records(self, kind: str) -> dict[str, StateDoc]:
        return self._states.all(kind)

    def receipt(self, receipt_id: str) -> Receipt | None:
        return self._journal.receipt_by_id(receipt_id)

    def recent(self, limit: int) -> list[Receipt]:
        return self._journal.recent_receipts(limit)

    def receipts_from(self, seq: int) -> Iterator[Receipt]:
        return self._journal.receipts(from_seq=seq)

    def last_seq(self) -> int:
        return self._journal.next_seq - 1

    def epoch(self) -> str:
        return self._journal.epoch

    def clock_synchronised(self) -> bool:
        return self._ntp_synced()


class Register:
    """Commands and read models of one register (`RegisterApi`). Build it with `firmware.bootstrap.bootstrap`."""

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        journal: RegisterJournal,
        catalog: Catalog,
        roster: Roster,
        events: queue.Queue[object],
        hardware: HardwarePorts | None = None,
        sync: SyncLink | None = None,
        demo_pins: dict[str, str] | None = None,
        ntp_synced: Callable[[], bool] = lambda: True,
        customers: CustomerBook | None = None,
        stock: StockKeeper | None = None,
        images: ImageCache | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.journal = journal
        self.events = events
        self.hardware = hardware
        self.sync = sync
        self._demo_pins = dict(demo_pins or {})
        # the customer book (docs/customers.md#on-the-till): bootstrap loads it; else read from the data dir
        self.customers = customers if customers is not None else CustomerBook(
            Path(config.device.data_dir), config.device.store, config.device.register)
        # item pictures (docs/item-images.md): sync fills the cache, the UI reads it; bootstrap shares one
        self.images = images if images is not None else ImageCache(
            Path(config.device.data_dir) / "images", config.shop.image_cache_mb * 1024 * 1024)
        # the register's own threaded parts; bootstrap's lifecycle starts and stops them (firmware/lifecycle.py)
        # the till's stock (docs/stock.md): the committer journals each receipt's deltas; handlers read on-hand
        self.stock = stock
        self._committer = Committer(journal, config.device.register, events, stock=stock)
        self._housekeeper = Housekeeper(journal, events, clock, config.policy.retention_days,
                                        punches=PunchPruner(journal, config.shop.zone))
        self._exporter = Exporter(events, config.shop.currency_display)
        self._reports = ReportWorker(journal, config, events)  # fleet X reports (firmware/register/report_worker.py)
        self._finder = FinderWorker(journal, events)  # receipt searches (firmware/register/finder_worker.py)
        self._states: PendingStates[fx.FollowUp] = PendingStates(journal, self._committer)
        self._lookup = _Lookup(journal, self._states, ntp_synced)
        self._state = RegisterState(catalog=catalog, roster=roster)
        self._revision = 0
        self._view: RegisterView | None = None
        self._last_outbox_refresh = -1e9
        self._records = RecordsStatus(journal)  # unsent punches and e-mails, refused e-mails (the status page)
        self._led_shown: str | None = None
        self._health_published: dict[str, dict[str, object]] | None = None
        self._apply(core.start(self._state, self._context()))
        self.refresh_outbox(force=True)

    # ------------------------------------------------------------------ commands and events

    def handle(self, command: c.Command) -> Outcome:
        """Carry out a command (firmware.register.core.commands); never raises, the Outcome says what happened."""
        result: core.Result | None = None
        try:
            result = core.decide(self._state, command, self._context())
            outcome = self._apply(result, command=True) or result.outcome or Outcome.refused(core.UNEXPECTED)
        except Exception:  # the core guards its handlers; this is the shell's own last line
            log.exception("register command %s failed", type(command).__name__)
            outcome = Outcome.refused(core.UNEXPECTED)
        if result is None or outcome is not result.outcome:
            self._state = core.said(self._state, outcome, self._context())
        self._changed()
        return outcome

    def pump(self, max_events: int = 200) -> bool:
        """Apply queued events from hardware, the journal writer and sync; True when the view changed."""
        before = self._revision
        for _ in range(max_events):
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            try:
                if isinstance(event, StateSaved):
                    then = self._states.settle(event)
                    if then is None:
                        continue
                    event = StateWritten(then, event.ok, event.reason)
                self._apply(core.decide(self._state, event, self._context()))
            except Exception:
                log.exception("event %r could not be applied", event)
        self.refresh_outbox()
        self._drive_led()
        self._publish_health()
        return self._revision != before

    def _context(self) -> Context:
        return Context(self.config, self.clock.now(), self._lookup, _new_id,
                       has_hardware=self.hardware is not None, has_sync=self.sync is not None,
                       customers=self.customers, stock=self.stock)

    def _changed(self) -> None:
        self._revision += 1
        self._view = None

    def _apply(self, result: core.Result, command: bool = False) -> Outcome | None:
        """Keep the new state and carry out the effects in order; a command's first refused effect is returned."""
        if result.state is not self._state:
            self._state = result.state
            if not command:
                self._changed()
        refused: Outcome | None = None
        for effect in result.effects:
            try:
                self._carry_out(effect)
            except KassaError as exc:
                if not command:
                    raise
                refused = refused or Outcome.refused(str(exc))
        return refused

    def _feed(self, event: object) -> None:
        """An effect's result, back into the core at once."""
        self._apply(core.decide(self._state, event, self._context()))

    def _carry_out(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.CommitReceipt):
            self._committer.submit(effect.body, effect.purpose)
        elif isinstance(effect, fx.CommitPunch):
            self._committer.submit_punch(effect.body)  # `PunchCommitted` or `PunchFailed` comes back through pump()
        elif isinstance(effect, fx.PutState):
            self._states.write(effect.changes, effect.then)
        elif isinstance(effect, fx.RefreshOutbox):
            self.refresh_outbox(force=True)
        elif isinstance(effect, fx.OpenDrawer):
            if self.hardware is not None:
                self.hardware.drawer.open()
        elif isinstance(effect, fx.PrintReceipt):
            job = self._print_receipt(effect.receipt, effect.copy)
            if job is not None:
                self._feed(ReceiptPrinting(job, effect.receipt.receipt_id))
        elif isinstance(effect, fx.PrintReport):
            self._print_report(effect.report)
        elif isinstance(effect, fx.PrintHours):
            if self.hardware is not None:
                printout.print_hours(self.hardware.printer, effect.report, printout.shop_header(self.config.shop),
                                     tz=self.config.shop.zone, names=self._clerk_names())
        elif isinstance(effect, fx.PublishReport):
            if self.sync is not None:
                self.sync.publish_report(effect.report)
        elif isinstance(effect, fx.SyncNow):
            if self.sync is not None:
                self.sync.sync_now()
        elif isinstance(effect, fx.PublishPending):
            if self.sync is not None:
                self.sync.publish_pending()
        elif isinstance(effect, fx.RetryQuarantined):
            if self.sync is not None:
                self.sync.retry_quarantined()
            else:
                self.journal.requeue_quarantined()
        elif isinstance(effect, fx.SavePayload):
            store = catalog_store if effect.what == "catalog" else clerk_store
            store(self.config.device.data_dir).apply(effect.payload)
        elif isinstance(effect, fx.StartExport):
            self._start_export(effect)
        elif isinstance(effect, fx.AnswerCommand):
            if self.sync is not None:
                self.sync.answer_command(effect.command_id, effect.ok, effect.detail)
        elif isinstance(effect, fx.SumReport):
            self._reports.submit(effect)  # `ReportSummed` comes back through `pump()`
        elif isinstance(effect, fx.SearchReceipts):
            self._finder.submit(effect)  # `ReceiptsFound` comes back through `pump()`
        elif isinstance(effect, fx.RecordCustomerEdit):
            self.customers.record(effect.edit)  # fsync'ed; a Refused becomes the command's answer
        elif isinstance(effect, fx.RecordStockCounts):
            self._count_stock(effect.counts)
        else:  # pragma: no cover - every effect type is handled above
            raise TypeError(f"unknown effect {effect!r}")

    def _count_stock(self, counts: tuple[tuple[str, int], ...]) -> None:
        """Journal a stock-take (one durable record) and tell sync; a disk that refuses is the command's answer."""
        if self.stock is None:
            raise Refused("Stock is not kept on this register.")
        try:
            self.stock.count(counts, iso_utc(self.clock.now()))
        except JournalError as exc:
            raise Refused(f"The count was not saved: {exc}") from None
        if self.sync is not None:
            self.sync.sync_now()

    # ------------------------------------------------------------------ the printer (firmware/printout.py lays out)

    def _print_receipt(self, receipt: Receipt, copy: bool) -> str | None:
        if self.hardware is None:
            return None
        shop = self.config.shop
        return printout.print_receipt(self.hardware.printer, receipt, printout.shop_header(shop), copy=copy,
                                      currency=receipt.currency if receipt.has("currency") else self.currency,
                                      display=shop.currency_display, tz=shop.zone, names=self._clerk_names(),
                                      receipt_page=shop.receipt_page or None)

    def _print_report(self, report: Report) -> None:
        if self.hardware is not None:
            shop = self.config.shop
            printout.print_report(self.hardware.printer, report, printout.shop_header(shop),
                                  display=shop.currency_display, tz=shop.zone, names=self._clerk_names())

    def _clerk_names(self) -> dict[str, str]:
        """Clerk ids to names: receipts and reports print who served and who approved by name."""
        return {k.clerk_id: k.name for k in self._state.roster.clerks}

    # ------------------------------------------------------------------ workers

    def _start_export(self, effect: fx.StartExport) -> None:
        """Exports run on the exporter's thread; `ExportFinished` comes back through `pump()`."""
        journal = self.journal
        start, end = effect.start, effect.end
        if start is not None and end is not None:
            def receipts() -> Iterator[Receipt]:
                return iter(receipts_between(journal, start, end))
        else:
            def receipts() -> Iterator[Receipt]:
                return iter(unconfirmed_receipts(journal))
        self._exporter.start(effect.directory, effect.stem, receipts, data_dir=Path(self.config.device.data_dir))

    # ------------------------------------------------------------------ outputs derived from the state

    def refresh_outbox(self, force: bool = False) -> None:
        """Re-read outbox counts from the journal at most once a second (cheap, small store)."""
        mono = self.clock.monotonic()
        if not force and mono - self._last_outbox_refresh < 1.0:
            return
        self._last_outbox_refresh = mono
        before = self._state.health
        health = before.with_outbox(self.journal.summary(), self.clock.now()).with_records(*self._records.read())
        if self.sync is not None:
            health = health.with_fault(getattr(self.sync.state(), "fault", None))
        self._state = replace(self._state, health=health)
        if health.sync != before.sync:
            self._changed()

    def _drive_led(self) -> None:
        if self.hardware is None or self.hardware.led is None:
            return
        wanted = self._state.health.led_state()
        if wanted != self._led_shown:
            self._led_shown = wanted
            try:
                from hal.ports import LedState

                self.hardware.led.show(LedState(wanted))
            except Exception:
                log.exception("status LED could not be set")

    def _publish_health(self) -> None:
        """Put device health into the retained status message whenever it changes."""
        if self.sync is None:
            return
        health: dict[str, dict[str, object]] = {name: {"ok": h.ok, "state": h.state}
                                                for name, h in self._state.health.devices.items() if name != "broker"}
        if health != self._health_published:
            self._health_published = health
            self.sync.set_status_extra({"hardware": health})

    # ------------------------------------------------------------------ read models

    def view(self) -> RegisterView:
        """The immutable snapshot screens draw; cheap (rebuilt only after a change)."""
        if self._view is None:
            backlog = len(self.hardware.printer.backlog()) if self.hardware is not None else 0
            self._view = core.read_model(self._state, self.config, self.clock.now(), self._revision, backlog)
        return self._view

    @property
    def catalog(self) -> Catalog:
        return self._state.catalog

    @property
    def roster(self) -> Roster:
        return self._state.roster

    @property
    def currency(self) -> str:
        return currency_of(self._state, self.config)

    @property
    def last_export(self) -> ExportFinished | None:
        """The last export's result, once `pump()` has seen it."""
        return self._state.last_export

    def clerks(self) -> list[ClerkInfo]:
        return [ClerkInfo(k.clerk_id, k.name, k.role) for k in self._state.roster.clerks]

    def demo_pins(self) -> dict[str, str]:
        return dict(self._demo_pins)

    def quick_keys(self) -> list[QuickKeyInfo]:
        catalog = self._state.catalog
        out = []
        for key in catalog.quick_keys:
            item = catalog.by_sku(key.sku)
            if item is not None:
                out.append(QuickKeyInfo(key.label, item.sku, item.price, item.weighed))
        return out

    def search(self, text: str, limit: int = 20) -> list[ItemInfo]:
        """Items by name, sku or barcode; variant parents first (firmware/register/lookup.py); with their stock."""
        found = lookup.search_items(self._state.catalog, text, limit)
        if self.stock is None:
            return found
        return [replace(i, stock=on_hand_text(self.stock.on_hand(i.sku), i.weighed)) if not i.variants else i
                for i in found]

    def stock_of(self, code: str) -> StockInfo | None:
        """The stock of the item an sku or barcode names (docs/stock.md); None when no item has it."""
        catalog = self._state.catalog
        item = catalog.by_sku(code.strip()) or catalog.lookup_scan(code)
        if not isinstance(item, Item):
            return None
        units = self.stock.on_hand(item.sku) if self.stock is not None else None
        return StockInfo(item.sku, catalog.sold_as(item).name, item.weighed, units,
                         on_hand_text(units, item.weighed) or "Not counted yet")

    def variant_grid(self, parent: str, page: str | None = None) -> VariantGridView | None:
        """A parent's variants as a grid (docs/stock.md#variants), with stock on hand where the register knows it."""
        return lookup.variant_grid(self._state.catalog, parent, page, self._stock_on_hand())

    def item_image(self, sha256: str) -> bytes | None:
        """An item picture's bytes from the image cache (hash-checked), None when the device has none."""
        return self.images.read(sha256)

    def _stock_on_hand(self) -> lookup.OnHand | None:
        """The grid's per-cell stock: the till's stock keeper's `on_hand`, when the register has one."""
        return self.stock.on_hand if self.stock is not None else None

    def recent_receipts(self, limit: int = 20) -> list[ReceiptDoc]:
        """The newest receipts as documents (the manager screen still reads them as dicts)."""
        return [receipt.to_doc() for receipt in self.journal.recent_receipts(limit)]

    def find_receipt(self, receipt_id: str) -> Receipt | None:
        """A receipt of this register by id (live journal or archive), for refunds."""
        return self.journal.receipt_by_id(receipt_id.strip())

    def parked(self) -> list[ParkedInfo]:
        return core.parked(self._state, self._context())

    def refund_preview(self, code: str, lines: Mapping[int, object] | None = None) -> RefundView | None:
        """The receipt `code` names (id in either form, or its number) as the refund screen shows it: sold,
        refunded already and left per line, and what refunding `lines` ({line number: qty}) gives back."""
        return core.refund_preview(self._state, self._context(), code, lines)

    def lockout(self, purpose: str = "login", clerk_id: str | None = None) -> LockoutView:
        """The PIN gate `purpose` ("login" for `clerk_id`, "approval" for the logged-in clerk) as it is now.

        Cheap (memory only after the first read), so screens ask every frame to count a lockout down.
        """
        view, self._state = core.lockout_view(self._state, self._context(), purpose, clerk_id)
        return view

    # ------------------------------------------------------------------ the sale's verbs, for headless drivers

    def login(self, clerk_id: str, pin: str) -> Outcome:
        """`handle(Login(clerk_id, pin))`: for the fleet simulator, benchmarks and end-to-end tests."""
        return self.handle(c.Login(clerk_id, pin))

    def scan(self, code: str) -> Outcome:
        """`handle(Scan(code))`."""
        return self.handle(c.Scan(code))

    def tender(self, kind: str, amount: int | None = None, part_payment: bool = False) -> Outcome:
        """`handle(Tender(kind, amount, part_payment=...))`: cash below what is due needs `part_payment=True`."""
        return self.handle(c.Tender(kind, amount, part_payment=part_payment))

    def account_balance(self, kind: AccountKind, key: str) -> AccountBalanceView:
        """A gift card's balance (`key` its number) or a customer's loyalty points (`key` their code) as this
        register knows them, with the age of the fleet's last update. Selling, topping up and redeeming are
        commands (`SellGiftCard`, `TopUpGiftCard`, `RedeemGiftCard`, `RedeemPoints`) for `handle`."""
        if kind is AccountKind.GIFT_CARD:
            return core.gift_card_balance(self._state, self._context(), key)
        return core.points_balance(self._state, self._context(), key)

    def new_sale(self) -> Outcome:
        """`handle(NewSale())`."""
        return self.handle(c.NewSale())

    def park(self) -> Outcome:
        """`handle(Park())`."""
        return self.handle(c.Park())

    # ------------------------------------------------------------------ lifecycle

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for pending commits, then apply their events (tests and shutdown)."""
        self._committer.wait_idle(timeout)
        self.pump(10_000)

    def wait_export(self, timeout: float = 30.0) -> ExportFinished | None:
        """Wait for a running export, apply its event and return `last_export` (tests, `kassa` shutdown)."""
        self._exporter.wait(timeout)
        self.pump(10_000)
        return self.last_export

    def shutdown(self) -> None:
        """Finish commits, stop sync and hardware threads, close the journal."""
        self._committer.wait_idle(10)
        self._committer.stop()
        self._housekeeper.stop()
        self._reports.stop()
        self._finder.stop()
        if not self._exporter.wait(30):
            log.warning("an export was still running at shutdown; its files were not completed")
        for part in (self.sync, self.hardware):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.exception("stopping %r failed", part)
        self.images.flush()  # the pictures' use order (sync, which fills the cache, has stopped)
        self.journal.close()


def _new_id() -> str:
    return uuid.uuid4().hex
