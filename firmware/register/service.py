"""The register: the app service every front end drives (login, cart, tender, commit, and what follows).

One thread (the UI's) calls commands and `pump()`; scanners, the printer, the
journal writer and MQTT run on their own threads and reach the register only
as events on its queue. Commands never raise: they return an `Outcome` whose
message is in the cashier's words. The commit point is the journal: the
drawer opens and the receipt prints only after `ReceiptCommitted` arrives.
Back-office commands (refunds, park, reports, shifts) live in `backoffice.py`.
"""

from __future__ import annotations

import logging
import queue
import uuid
from collections.abc import Callable
from typing import Any

from firmware.clock import Clock, iso_utc
from firmware.config import Config
from firmware.domain.catalog import Catalog, ScanRejected
from firmware.domain.clerks import Clerk, Roster
from firmware.domain.lockout import wait_words
from firmware.domain.sale import Sale
from firmware.register import backoffice, events_in
from firmware.register.guard import command, plural
from firmware.register.committer import CommitFailed, Committer, ReceiptCommitted, StateSaved
from firmware.register.exporter import Exporter, ExportFinished
from firmware.register.health import HealthBoard
from firmware.register.housekeeping import Housekeeper, JournalHealthMeasured
from firmware.register.lockouts import NOBODY, Lockouts
from firmware.register.states import PendingStates
from firmware.register.view import (
    ClerkInfo,
    ItemInfo,
    LineView,
    LockoutView,
    Message,
    Outcome,
    QuickKeyInfo,
    RegisterView,
    TotalsView,
)

log = logging.getLogger(__name__)

class Register(backoffice.BackOffice):
    """Commands and read models of one register. Build it with `firmware.bootstrap.bootstrap`."""

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        journal: Any,
        catalog: Catalog,
        roster: Roster,
        events: "queue.Queue[Any]",
        hardware: Any = None,
        sync: Any = None,
        demo_pins: dict[str, str] | None = None,
        ntp_synced: Callable[[], bool] = lambda: True,
    ) -> None:
        self.config = config
        self.clock = clock
        self.journal = journal
        self.catalog = catalog
        self.roster = roster
        self.events = events
        self.hardware = hardware
        self.sync = sync
        self._demo_pins = dict(demo_pins or {})
        self._ntp_synced = ntp_synced
        self.board = HealthBoard()
        self._committer = Committer(journal, config.device.register, events)
        self._housekeeper = Housekeeper(journal, events, clock, config.policy.retention_days)
        self._exporter = Exporter(events)
        self._states = PendingStates(journal, self._committer)  # state records, written behind
        self.last_export: ExportFinished | None = None  # the last export's result, once pump() has seen it
        self._clerk: Clerk | None = None
        self._sale: Sale | None = None
        self._phase = "login"
        self._last_receipt: dict[str, Any] | None = None
        self._message: Message | None = None
        self._flash_line: int | None = None
        self._lockouts = Lockouts(self._states, clock)  # login and approval PIN gates, kept across restarts
        self._print_jobs: dict[Any, str] = {}
        self._revision = 0
        self._view: RegisterView | None = None
        self._last_outbox_refresh = -1e9
        self._days_left: float | None = None
        self._led_shown: str | None = None
        self._last_created_at: str | None = None
        self._health_published: dict[str, Any] | None = None
        backoffice.BackOffice.__init__(self)
        self.refresh_outbox(force=True)

    # ------------------------------------------------------------------ plumbing

    def _changed(self) -> None:
        self._revision += 1
        self._view = None

    def _said(self, outcome: Outcome) -> None:
        if outcome.message:
            level = "info" if outcome.ok else "error"
            self._message = Message(level, outcome.message, self.clock.now())
        self._changed()

    def pump(self, max_events: int = 200) -> bool:
        """Apply queued events from hardware, the journal writer and sync; True when the view changed."""
        before = self._revision
        for _ in range(max_events):
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            try:
                if isinstance(event, ReceiptCommitted):
                    self._on_committed(event)
                elif isinstance(event, CommitFailed):
                    self._on_commit_failed(event)
                elif isinstance(event, StateSaved):
                    self._states.settle(event)
                elif isinstance(event, JournalHealthMeasured):
                    self._days_left = event.days_left
                    if event.alarm:
                        self.board.set_device("journal", False, "damaged", event.alarm)
                    else:
                        self.board.set_device("journal", True, "ok", f"{event.free_bytes // 1_000_000} MB free")
                    self._changed()
                else:
                    events_in.apply(self, event)
            except Exception:
                log.exception("event %r could not be applied", event)
        self.refresh_outbox()
        self._drive_led()
        self._publish_health()
        return self._revision != before

    def _publish_health(self) -> None:
        """Put device health into the retained status message whenever it changes."""
        if self.sync is None:
            return
        health = {name: {"ok": h.ok, "state": h.state} for name, h in self.board.devices.items() if name != "broker"}
        if health != self._health_published:
            self._health_published = health
            self.sync.set_status_extra({"hardware": health})

    def refresh_outbox(self, force: bool = False) -> None:
        """Re-read outbox counts from the journal at most once a second (cheap, small store)."""
        mono = self.clock.monotonic()
        if not force and mono - self._last_outbox_refresh < 1.0:
            return
        self._last_outbox_refresh = mono
        before = self.board.sync
        self.board.update_outbox(self.journal.summary(), self.clock.now())
        if self.sync is not None:
            state = self.sync.state()
            self.board.set_fault(getattr(state, "fault", None))
        if self.board.sync != before:
            self._changed()

    def _drive_led(self) -> None:
        if self.hardware is None or self.hardware.led is None:
            return
        wanted = self.board.led_state()
        if wanted != self._led_shown:
            self._led_shown = wanted
            try:
                from hal.ports import LedState

                self.hardware.led.show(LedState(wanted))
            except Exception:
                log.exception("status LED could not be set")

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
        if not self._exporter.wait(30):
            log.warning("an export was still running at shutdown; its files were not completed")
        for part in (self.sync, self.hardware):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.exception("stopping %r failed", part)
        self.journal.close()

    # ------------------------------------------------------------------ read models

    def view(self) -> RegisterView:
        if self._view is None:
            self._view = self._build_view()
        return self._view

    def _build_view(self) -> RegisterView:
        cfg = self.config
        lines: tuple[LineView, ...] = ()
        totals = TotalsView()
        tenders: tuple[dict[str, Any], ...] = ()
        customer = None
        if self._sale is not None:
            sale = self._sale
            lines = tuple(
                LineView(l.line_no, l.sku, l.name, l.qty, l.unit_price, l.discount, l.amount, l.voided)
                for l in sale.lines
            )
            t = self._totals(sale)
            totals = TotalsView(t.subtotal, t.tax, t.total, t.paid, t.due, t.change, t.rounding, t.cash_due, t.discount)
            tenders = tuple({"type": x.kind, "amount": x.amount, "change": x.change} for x in sale.tenders)
            customer = sale.customer_code
        now = self.clock.now()
        return RegisterView(
            revision=self._revision,
            store=cfg.device.store,
            register=cfg.device.register,
            currency=self.currency,
            phase=self._phase,
            clerk=ClerkInfo(self._clerk.clerk_id, self._clerk.name, self._clerk.role) if self._clerk else None,
            lines=lines,
            totals=totals,
            tenders=tenders,
            customer_code=customer,
            last_receipt=self._last_receipt,
            message=self._message,
            flash_line=self._flash_line,
            sync=self.board.sync,
            health=dict(self.board.devices),
            warnings=self.board.warnings(now, cfg.policy, self._days_left),
            print_backlog=len(self.hardware.printer.backlog()) if self.hardware is not None else 0,
        )

    @property
    def currency(self) -> str:
        return self.catalog.currency or self.config.shop.currency

    @property
    def tax_rates(self) -> dict[str, str]:
        return dict(self.catalog.tax_rates or self.config.shop.tax_rates)

    def _totals(self, sale: Sale) -> Any:
        shop = self.config.shop
        return sale.totals(self.tax_rates, shop.tax_included, shop.cash_rounding)

    def clerks(self) -> list[ClerkInfo]:
        return [ClerkInfo(c.clerk_id, c.name, c.role) for c in self.roster.clerks]

    def demo_pins(self) -> dict[str, str]:
        return dict(self._demo_pins)

    def quick_keys(self) -> list[QuickKeyInfo]:
        out = []
        for key in self.catalog.quick_keys:
            item = self.catalog.by_sku(key.sku)
            if item is not None:
                out.append(QuickKeyInfo(key.label, item.sku, item.price))
        return out

    def search(self, text: str, limit: int = 20) -> list[ItemInfo]:
        return [ItemInfo(i.sku, i.name, i.price, i.weighed) for i in self.catalog.search(text, limit)]

    def recent_receipts(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.journal.recent(limit))

    # ------------------------------------------------------------------ clerks

    def lockout(self, purpose: str = "login", clerk_id: str | None = None) -> LockoutView:
        """The PIN gate `purpose` ("login" for `clerk_id`, "approval" for the logged-in clerk) as it is now.

        Cheap (memory only), so screens ask every frame to count a lockout down.
        """
        return self._lockouts.status(purpose, self._gate_clerk(purpose, clerk_id))

    def _gate_clerk(self, purpose: str, clerk_id: str | None) -> str:
        """Whose counter a PIN counts on: the clerk logging in, or the clerk asking for an approval."""
        if purpose == "approval" and clerk_id is None:
            clerk_id = self._clerk.clerk_id if self._clerk is not None else None
        return clerk_id if clerk_id is not None and self.roster.get(clerk_id) is not None else NOBODY

    def _pin_gate_shut(self, purpose: str, who: str) -> None:
        """Refuse (without checking the PIN) while a lockout runs."""
        status = self._lockouts.status(purpose, who)
        if status.seconds:
            raise backoffice.Refusal(f"Too many wrong PINs. Try again in {wait_words(status.seconds)}.")

    def _pin_failed(self, purpose: str, who: str, wrong: str) -> backoffice.Refusal:
        """Count a wrong PIN; the refusal says the lockout it started, or the tries left."""
        status = self._lockouts.failed(purpose, who)
        if status.seconds:
            return backoffice.Refusal(f"Too many wrong PINs. Try again in {wait_words(status.seconds)}.")
        left = status.tries_left
        return backoffice.Refusal(wrong if left is None else f"{wrong} {left} {'try' if left == 1 else 'tries'} left.")

    @command
    def login(self, clerk_id: str, pin: str) -> Outcome:
        """Log a clerk in by PIN; wrong PINs lock that clerk (and, many of them, the register) out for a while."""
        who = self._gate_clerk("login", clerk_id)
        self._pin_gate_shut("login", who)
        clerk = self.roster.authenticate(clerk_id, pin)
        if clerk is None:
            raise self._pin_failed("login", who, "Wrong PIN.")
        self._lockouts.succeeded("login", who)
        self._clerk = clerk
        self._phase = "sell" if self._phase == "login" else self._phase
        log.info("clerk %s logged in", clerk.clerk_id)
        return Outcome(True, f"Hello, {clerk.name}")

    @command
    def logout(self) -> Outcome:
        if self._phase in ("tender", "committing"):
            return Outcome.refused("Finish or cancel the payment first.")
        self._clerk = None
        self._phase = "login"
        return Outcome(True, "")

    @command
    def check_manager(self, pin: str) -> Outcome:
        """Open the manager menu: the PIN must be a manager's (or the logged-in clerk is one)."""
        manager = self._manager(pin or None, "The manager menu")
        return Outcome(True, "", ClerkInfo(manager.clerk_id, manager.name, manager.role))

    def _manager(self, pin: str | None, what: str) -> Clerk:
        """The approving manager for `what`, or raise a refusal naming what needs approval."""
        if self._clerk is not None and self._clerk.role == "manager" and pin is None:
            return self._clerk
        if not pin:
            raise backoffice.Refusal(f"{what} needs a manager's PIN.")
        who = self._gate_clerk("approval", None)
        self._pin_gate_shut("approval", who)
        manager = self.roster.approve(pin)
        if manager is None:
            raise self._pin_failed("approval", who, "That is not a manager's PIN.")
        self._lockouts.succeeded("approval", who)
        return manager

    def _require_clerk(self) -> Clerk:
        if self._clerk is None:
            raise backoffice.Refusal("Log in first.")
        return self._clerk

    # ------------------------------------------------------------------ cart

    def _cart(self) -> Sale:
        clerk = self._require_clerk()
        if self._phase == "done":
            self._phase = "sell"
            self._sale = None
        if self._phase == "committing":
            raise backoffice.Refusal("Saving the last sale; one moment.")
        if self._sale is None:
            shop = self.config.shop
            self._sale = Sale.open(uuid.uuid4().hex, clerk.clerk_id, rates=self.tax_rates,
                                   tax_included=shop.tax_included, cash_rounding=shop.cash_rounding)
        return self._sale

    def _set_sale(self, sale: Sale, flash: int | None = None) -> None:
        self._sale = sale
        self._flash_line = flash

    @command
    def scan(self, code: str) -> Outcome:
        """A barcode from any scanner: adds the item or says plainly why not."""
        found = self.catalog.lookup_scan(code.strip())
        if isinstance(found, ScanRejected):
            return Outcome.refused(found.reason)
        if found.weighed:
            return Outcome.refused(f"{found.name} is sold by weight: enter the weight, then the item.")
        return self._add(found, 1, "scan")

    @command
    def add_sku(self, sku: str, qty: Any = 1) -> Outcome:
        item = self.catalog.by_sku(sku.strip())
        if item is None:
            return Outcome.refused(f"No item with number {sku}.")
        return self._add(item, qty, "sku")

    @command
    def add_quick_key(self, index: int) -> Outcome:
        keys = self.catalog.quick_keys
        if not 0 <= index < len(keys):
            return Outcome.refused("That key has no item.")
        item = self.catalog.by_sku(keys[index].sku)
        if item is None:
            return Outcome.refused("That key's item is no longer sold.")
        return self._add(item, 1, "quick_key")

    def _add(self, item: Any, qty: Any, source: str) -> Outcome:
        sale = self._cart()
        if self._phase != "sell":
            return Outcome.refused("Finish the payment first, or go back to the cart.")
        new = sale.add(item, qty, source)
        self._set_sale(new, new.lines[-1].line_no if new.lines else None)
        return Outcome(True, f"{item.name} added")

    @command
    def set_qty(self, line_no: int, qty: Any) -> Outcome:
        self._set_sale(self._cart().set_qty(line_no, qty), line_no)
        return Outcome(True, "Quantity changed")

    @command
    def void_line(self, line_no: int, manager_pin: str | None = None) -> Outcome:
        sale = self._cart()
        approved = self._manager(manager_pin, "Voiding after payment started").clerk_id if manager_pin else None
        self._set_sale(sale.void_line(line_no, approved_by=approved))
        return Outcome(True, "Line voided")

    @command
    def discount_line(self, line_no: int, percent: Any = None, amount: int | None = None, manager_pin: str | None = None) -> Outcome:
        sale = self._cart()
        approved = self._manager(manager_pin, "A large discount").clerk_id if manager_pin else self._own_approval()
        self._set_sale(
            sale.discount_line(line_no, percent=percent, amount=amount, approved_by=approved,
                               limit_percent=self.config.shop.manager_discount_percent),
            line_no,
        )
        return Outcome(True, "Discount given")

    @command
    def discount_cart(self, percent: Any = None, amount: int | None = None, manager_pin: str | None = None) -> Outcome:
        sale = self._cart()
        approved = self._manager(manager_pin, "A large discount").clerk_id if manager_pin else self._own_approval()
        self._set_sale(
            sale.discount_cart(percent=percent, amount=amount, approved_by=approved,
                               limit_percent=self.config.shop.manager_discount_percent)
        )
        return Outcome(True, "Discount given")

    def _own_approval(self) -> str | None:
        return self._clerk.clerk_id if self._clerk is not None and self._clerk.role == "manager" else None

    @command
    def set_customer(self, code: str) -> Outcome:
        self._set_sale(self._cart().set_customer(code))
        return Outcome(True, "Customer set" if code.strip() else "Customer removed")

    # ------------------------------------------------------------------ tender and commit

    @command
    def begin_tender(self) -> Outcome:
        sale = self._cart()
        sale = sale.begin_tender()
        self._set_sale(sale)
        if sale.phase == "paid":  # a cart worth nothing needs no payment
            self._commit_sale(sale)
            return Outcome(True, "Saving the sale")
        self._phase = "tender"
        return Outcome(True, "")

    @command
    def back_to_cart(self) -> Outcome:
        if self._phase != "tender" or self._sale is None:
            return Outcome.refused("There is no payment to cancel.")
        self._set_sale(self._sale.back_to_cart())
        self._phase = "sell"
        return Outcome(True, "")

    @command
    def tender(self, kind: str, amount: int | None = None, reference: str | None = None, manager_pin: str | None = None) -> Outcome:
        """Take a payment (None = exactly what is due); when paid in full the sale is committed, then the drawer opens."""
        if self._phase == "sell" and self._sale is not None:
            self._set_sale(self._sale.begin_tender())
            self._phase = "tender"
        if self._phase != "tender" or self._sale is None:
            return Outcome.refused("Nothing to pay for.")
        if self._sale.phase == "paid":  # paid, but the last commit failed: save the same sale again
            return self.retry_commit()
        approved = self._manager(manager_pin, "A large on-account sale").clerk_id if manager_pin else self._own_approval()
        sale = self._sale.add_tender(
            kind, amount, reference=reference, cash_rounding=self.config.shop.cash_rounding,
            offline=not self.board.sync.online, on_account_limit=self.config.shop.on_account_offline_limit,
            approved_by=approved if kind == "on_account" else None,
        )
        self._set_sale(sale)
        if sale.phase != "paid":
            return Outcome(True, "Payment taken; more to pay")
        self._commit_sale(sale)
        return Outcome(True, "Saving the sale")

    @command
    def retry_commit(self) -> Outcome:
        """Try again to save a paid sale whose commit failed (same sale id: never two receipts)."""
        if self._sale is None or self._sale.phase != "paid" or self._phase != "tender":
            return Outcome.refused("There is no unsaved sale.")
        self._commit_sale(self._sale)
        return Outcome(True, "Saving the sale")

    def _receipt_context(self) -> dict[str, Any]:
        shop = self.config.shop
        now = self.clock.now()
        return dict(
            store=self.config.device.store,
            register=self.config.device.register,
            currency=self.currency,
            created_at=iso_utc(now),
            clock_trusted=self._clock_trusted(now),
            offline=not self.board.sync.online,
            rates=self.tax_rates,
            tax_included=shop.tax_included,
            cash_rounding=shop.cash_rounding,
        )

    def _clock_trusted(self, now: Any) -> bool:
        """False before NTP has synchronised, or when the clock is behind the last journaled receipt."""
        if not self._ntp_synced():
            return False
        if self._last_created_at is None:
            last = self.journal.recent(1)
            self._last_created_at = last[0].get("created_at", "") if last else ""
        return self._last_created_at <= iso_utc(now)

    def _commit_sale(self, sale: Sale) -> None:
        body = sale.receipt_body(**self._receipt_context())
        self._phase = "committing"
        self._committer.submit(body, "sale")

    def _on_committed(self, event: ReceiptCommitted) -> None:
        receipt = event.receipt
        log.info("receipt %s committed (%s)", receipt["receipt_id"], receipt["kind"])
        if self.board.devices["journal"].state != "damaged":
            self.board.set_device("journal", True, "ok")
        self._last_created_at = max(self._last_created_at or "", receipt.get("created_at", ""))
        if event.purpose == "sale":
            self._last_receipt = receipt
            self._sale = None
            self._phase = "done"
            change = sum(t.get("change", 0) for t in receipt.get("tenders", []))
            self._message = Message("info", "Paid" + (f", change {change}" if change else ""), self.clock.now())
        self._after_commit(receipt, event.purpose)
        self.refresh_outbox(force=True)
        self._changed()

    def _after_commit(self, receipt: dict[str, Any], purpose: str) -> None:
        """Only now, with the receipt durable: open the drawer for cash, print the receipt, nudge sync."""
        cash = any(t.get("type") == "cash" for t in receipt.get("tenders", []))
        if self.hardware is not None:
            if cash or receipt.get("kind") == "no_sale":
                self.hardware.drawer.open()
            if receipt.get("kind") != "no_sale":
                self.print_receipt(receipt)
        if self.sync is not None:
            self.sync.sync_now()
        backoffice.BackOffice.after_commit(self, receipt, purpose)

    def _on_commit_failed(self, event: CommitFailed) -> None:
        self.board.set_device("journal", False, "write failed", event.reason)
        if event.purpose == "sale":
            self._phase = "tender"
        self._message = Message("error", f"The sale could not be saved: {event.reason}. No money has moved.", self.clock.now())
        self._changed()

    def print_receipt(self, receipt: dict[str, Any], copy: bool = False) -> None:
        shop = self.config.shop
        header = [shop.name, *shop.address]
        job = self.hardware.printer.submit(receipt, header, copy=copy, currency=receipt.get("currency", self.currency))
        self._print_jobs[job] = receipt["receipt_id"]

    @command
    def new_sale(self) -> Outcome:
        if self._phase == "committing":
            return Outcome.refused("Saving the last sale; one moment.")
        self._require_clerk()
        self._phase = "sell"
        self._sale = None
        self._flash_line = None
        return Outcome(True, "")

    # ------------------------------------------------------------------ sync

    @command
    def sync_now(self) -> Outcome:
        if self.sync is None:
            return Outcome.refused("No broker is configured.")
        self.sync.sync_now()
        return Outcome(True, "Sending now" if self.board.sync.online else "Offline: will send when the network is back")

    @command
    def retry_quarantined(self) -> Outcome:
        """Give receipts the broker or fleet refused another round (after the fault was fixed)."""
        n = self.board.sync.quarantined
        if self.sync is not None:
            self.sync.retry_quarantined()
        else:
            self.journal.requeue_quarantined()
        return Outcome(True, f"{plural(n, 'refused receipt')} will be sent again")
