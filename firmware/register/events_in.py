"""Applies events from hardware (hal.events) and sync (firmware.sync.events) to the register.

Dispatch is by event class name so the register needs no import of every
producer; each handler is small and never raises into `pump()`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Roster
from firmware.register.view import Message
from firmware.stores import catalog_store, clerk_store

if TYPE_CHECKING:
    from firmware.register.service import Register

log = logging.getLogger(__name__)


def apply(reg: "Register", event: Any) -> None:
    handler = _HANDLERS.get(type(event).__name__)
    if handler is None:
        log.debug("ignored event %r", event)
        return
    handler(reg, event)


def _note(reg: "Register", level: str, text: str) -> None:
    reg._message = Message(level, text, reg.clock.now())
    reg._changed()


# --- hardware ---------------------------------------------------------------

def _scan_read(reg: "Register", event: Any) -> None:
    if reg._clerk is None:
        _note(reg, "warn", "Log in before scanning.")
        return
    if reg._phase == "tender":
        _note(reg, "warn", "Finish the payment first, or go back to the cart.")
        return
    reg.scan(event.code)


def _scan_rejected(reg: "Register", event: Any) -> None:
    _note(reg, "error", f"Scan not understood: {event.reason}. Scan again or type the number.")


def _device_state(reg: "Register", event: Any) -> None:
    if reg.board.set_device(event.device, event.ok, event.state, getattr(event, "detail", "")):
        if not event.ok:
            _note(reg, "error", _device_sentence(event.device, event.state))
        reg._changed()


def _device_sentence(device: str, state: str) -> str:
    words = {
        "printer": "Printer problem: {state}. The sale is saved; reprint from the manager menu when fixed.",
        "scanner": "Scanner problem: {state}. Type item numbers until it is back.",
        "drawer": "Drawer problem: {state}.",
    }
    return words.get(device, "{device}: {state}").format(device=device, state=state)


def _print_done(reg: "Register", event: Any) -> None:
    reg._print_jobs.pop(event.job_id, None)
    if reg.board.set_device("printer", True, "ready"):
        reg._changed()


def _print_failed(reg: "Register", event: Any) -> None:
    receipt_id = reg._print_jobs.get(event.job_id, "")
    reg.board.set_device("printer", False, event.reason)
    _note(reg, "error", f"Receipt {receipt_id} did not print ({event.reason}). The sale is saved; reprint it when the printer is fixed.")


def _drawer_opened(reg: "Register", event: Any) -> None:
    reg.board.set_device("drawer", True, "open")
    reg._changed()


def _drawer_closed(reg: "Register", event: Any) -> None:
    reg.board.set_device("drawer", True, "closed")
    reg.board.drawer_warning = None
    reg._changed()


def _drawer_left_open(reg: "Register", event: Any) -> None:
    reg.board.drawer_warning = f"Drawer open for {int(event.seconds)} s: please close it"
    reg._changed()


# --- sync -------------------------------------------------------------------

def _link_up(reg: "Register", event: Any) -> None:
    reg.board.link(True, reg.clock.now())
    reg.refresh_outbox(force=True)
    reg._changed()


def _link_down(reg: "Register", event: Any) -> None:
    reg.board.link(False, reg.clock.now(), getattr(event, "reason", ""))
    reg._changed()


def _outbox_moved(reg: "Register", event: Any) -> None:
    reg.refresh_outbox(force=True)


def _publish_refused(reg: "Register", event: Any) -> None:
    reg.board.set_fault(f"broker refused receipt {event.seq}: {event.reason}")
    reg.refresh_outbox(force=True)
    reg._changed()


def _receipts_conflicted(reg: "Register", event: Any) -> None:
    reg.refresh_outbox(force=True)
    _note(reg, "error", f"The fleet holds a different receipt under the number of {len(event.seqs)} of ours "
                        "(restored journal?). They are set aside on the Status page: call the technician.")


def _journal_rolled_back(reg: "Register", event: Any) -> None:
    reg.refresh_outbox(force=True)
    _note(reg, "error", f"The sales journal is older than the fleet's copy (fleet has up to #{event.fleet_seq}, this "
                        f"register #{event.journal_seq}): new sales are numbered in a new series. Call the technician.")


def _swap_in(reg: "Register", event: Any, what: str, current: Any, built: Any, build: Any,
             store: Any) -> Any | None:
    """Sync validated and stored a newer catalog or roster: return it (None when older or bad).

    Sync hands over the object it built while checking the payload (`built`) after storing the payload, so
    the UI thread neither builds a 50k-item catalog nor reads the store; an event without one is built and
    stored here.
    """
    payload = event.payload
    if int(payload.get("version", -1)) <= current.version:
        return None
    fresh = built
    if fresh is None:
        try:
            fresh = build(payload)
        except Exception as exc:
            log.error("%s version %s rejected: %s", what, payload.get("version"), exc)
            return None
        store(reg.config.device.data_dir).apply(payload)  # sync stores what it built; this event came otherwise
    log.info("%s version %s in use", what, payload.get("version"))
    return fresh


def _catalog_received(reg: "Register", event: Any) -> None:
    catalog = _swap_in(reg, event, "catalog", reg.catalog, getattr(event, "catalog", None), Catalog.from_payload,
                       catalog_store)
    if catalog is not None:
        reg.catalog = catalog
        _note(reg, "info", "New prices and items loaded")


def _clerks_received(reg: "Register", event: Any) -> None:
    roster = _swap_in(reg, event, "clerk list", reg.roster, getattr(event, "roster", None), Roster.from_payload,
                      clerk_store)
    if roster is not None:
        reg.roster = roster
        reg._changed()


def _command_received(reg: "Register", event: Any) -> None:
    reg.remote_command(event.command_id, event.command, dict(event.args or {}))


def _export_finished(reg: "Register", event: Any) -> None:
    reg.last_export = event
    _note(reg, "notice" if event.ok else "error", event.message)


_HANDLERS = {
    "ScanRead": _scan_read,
    "ScanRejected": _scan_rejected,
    "DeviceState": _device_state,
    "PrintDone": _print_done,
    "PrintFailed": _print_failed,
    "DrawerOpened": _drawer_opened,
    "DrawerClosed": _drawer_closed,
    "DrawerLeftOpen": _drawer_left_open,
    "LinkUp": _link_up,
    "LinkDown": _link_down,
    "ReceiptsDelivered": _outbox_moved,
    "ReceiptsConfirmed": _outbox_moved,
    "PublishRefused": _publish_refused,
    "ReceiptsConflicted": _receipts_conflicted,
    "JournalRolledBack": _journal_rolled_back,
    "CatalogReceived": _catalog_received,
    "ClerksReceived": _clerks_received,
    "CommandReceived": _command_received,
    "ExportFinished": _export_finished,
}
