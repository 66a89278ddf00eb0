"""Renders every screen at each supported size to PNG (`kassa screenshots DIR`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = ((800, 480), (1024, 600), (1280, 800))


def _settle(app: Any, seconds: float = 5.0) -> None:
    """Step until the register has finished committing (the journal writer runs on its own thread)."""
    deadline = time.monotonic() + seconds
    app.step([])
    while app.view.phase == "committing" and time.monotonic() < deadline:
        time.sleep(0.005)
        app.step([])
    app.step([])


def _punched(app: Any, seconds: float = 5.0) -> None:
    """Step until the time clock's punch is saved and its dialog has closed (the journal writer's thread)."""
    deadline = time.monotonic() + seconds
    app.step([])
    while app.dialogs and time.monotonic() < deadline:
        time.sleep(0.005)
        app.step([])
    app.step([])


def _time_clock(app: Any, clerk_id: str, pin: str, shot: Callable[[str], None]) -> None:
    """From the login screen: Time clock, the clerk and PIN, then clock in, start a break; each state shown."""
    def open_punches() -> None:
        app.press("timeclock")
        app.step([])
        app.press(f"clerk:{clerk_id}")
        for digit in pin:
            app.press(f"pin:{digit}")
        app.step([])

    open_punches()
    shot("timeclock-pin")
    app.press("timeclock:go")
    app.step([])
    shot("timeclock-not-clocked-in")
    app.press("punch:clock_in")
    _punched(app)
    shot("timeclock-clocked-in")
    open_punches()
    app.press("timeclock:go")
    app.step([])
    shot("timeclock-working")
    app.press("punch:break_start")
    _punched(app)
    open_punches()
    app.press("timeclock:go")
    app.step([])
    shot("timeclock-on-break")
    app.press("punch:cancel")
    app.press("timeclock:back")
    app.toasts.dismiss()
    app.step([])


def _searched(app: Any, seconds: float = 10.0) -> None:
    """Step until the receipt search on top has its answer (it runs on the register's finder thread)."""
    deadline = time.monotonic() + seconds
    dialog = next((d for d in reversed(app.dialogs) if d.name == "find_receipt"), None)
    app.step([])
    while dialog is not None and dialog.searching() and time.monotonic() < deadline:
        time.sleep(0.005)
        app.step([])
    app.step([])


def _find_receipt(app: Any, shot: Callable[[str], None]) -> None:
    """On the manager screen: Receipts, Find a receipt (today's), by amount, the receipt as printed, an e-mail
    address wrong then right, and the e-mail queued; then the other criteria's entries; closed again."""
    from firmware.domain.money import minor_digits

    app.press("reprint")
    app.step([])
    shot("manager-receipts")
    if "find_receipt" not in app.buttons():
        return
    app.press("find_receipt")
    _searched(app)
    shot("find-receipt")
    listed = sorted(k for k in app.buttons() if k.startswith("found:") and k[6:].isdigit())
    if not listed:
        app.press("find:close")
        return
    receipt = next(r for r in app.dialogs[-1].results if f"found:{r.seq}" == listed[-1])
    digits = minor_digits(app.view.currency)
    whole, cents = divmod(abs(receipt.totals.total), 10 ** digits)
    app.press("find:amount")
    for key in f"{whole}.{cents:0{digits}d}" if digits else str(whole):
        app.press(f"dlg:{key}")
    app.step([])
    shot("find-receipt-amount")
    app.press("dlg:ok")
    _searched(app)
    shot("find-receipt-by-amount")
    app.press(f"found:{receipt.seq}")
    app.step([])
    shot("receipt-found")
    app.press("receipt:down")
    app.step([])
    shot("receipt-found-scrolled")
    app.press("receipt:email")
    for key in "anna@example":
        app.press(f"kbd:{key}")
    app.step([])
    shot("receipt-email-invalid")
    app.press("kbd:.com")
    app.step([])
    shot("receipt-email-valid")
    app.press("kbd:ok")
    app.step([])
    shot("receipt-emailed")
    app.toasts.dismiss()
    app.press("receipt:back")
    app.step([])  # the list drawn again before the next dialog dims it
    app.press("find:day:other")
    for key in "1.1":
        app.press(f"dlg:{key}")
    app.step([])
    shot("find-receipt-day")
    app.press("dlg:ok")
    _searched(app)
    shot("find-receipt-none")
    app.press("find:card")
    app.step([])
    shot("find-receipt-card")
    app.press("dlg:cancel")
    app.step([])
    app.press("find:customer")
    for key in "K0":
        app.press(f"kbd:{key}")
    app.step([])
    shot("find-receipt-customer")
    app.press("kbd:cancel")
    app.press("find:close")
    app.step([])


def _customers(app: Any, shot: Callable[[str], None]) -> None:
    """The customer panel (ui/screens/customers.py): empty, a new customer typed and saved, found, edited,
    picked onto the sale."""
    app.press("customer")
    app.step([])
    shot("customer-panel")
    for ch in "anna":
        app.press(f"kbd:{ch}")
    app.press("customers:new")
    app.press("form:name")
    for key in ("kbd:space", "kbd:s", "kbd:c", "kbd:h", "kbd:m", "kbd:i", "kbd:d", "kbd:t"):
        app.press(key)
    app.step([])
    shot("customer-name-entry")
    app.press("kbd:ok")
    form = app.dialogs[-1]
    form.values.update(phone="+49 151 2345678", code="CARD1001", email="anna@example.com")
    form.toggle("consent_email")
    app.step([])
    shot("customer-form")
    app.press("form:save")
    app.step([])
    shot("customer-found")
    app.toasts.dismiss()  # "Customer added" fades by itself; the next shots show their own screens
    found = [k for k in app.buttons() if k.startswith("customer-edit:")]
    if found:
        app.press(found[0])
        app.step([])
        shot("customer-edit")
        app.press("form:cancel")
        app.step([])
    picks = [k for k in app.buttons() if k.startswith("customer:")]
    app.press(picks[0] if picks else "customers:close")
    app.step([])
    shot("sell-customer")


def _pay_exact(app: Any) -> None:
    """Pay what is due on the payment screen: its exact-amount key (or the largest note key shown)."""
    notes = [k for k in app.buttons() if k.startswith("note:")]
    app.press("exact" if "exact" in app.buttons() else notes[-1] if notes else "card")


def _layby(app: Any, shot: Callable[[str], None]) -> None:
    """Laybys (ui/screens/layby.py, docs/layby.md): the list, a new layby from the cart (the deposit typed), the
    deposit paid, the layby listed, an instalment typed and paid; then the cart is filled again for the tour."""
    from ui.screens.layby import plain_amount

    app.press("layby")
    app.step([])
    shot("layby-list-empty")
    app.press("layby:new")
    app.press("layby-open:deposit")
    for ch in plain_amount(max(1, app.view.totals.total // 2), app.view.currency):
        app.press(f"kbd:{ch}")
    app.step([])
    shot("layby-deposit")
    app.press("kbd:ok")
    app.step([])
    shot("layby-new")
    app.press("layby-open:ok")
    app.step([])
    shot("layby-deposit-tender")
    _pay_exact(app)
    _settle(app)
    app.press("new_sale")
    app.press("layby")
    app.step([])
    shot("layby-list")
    pays = [k for k in app.buttons() if k.startswith("layby-pay:")]
    if pays:
        app.press(pays[0])
        app.step([])
        shot("layby-instalment")
        app.press("kbd:ok")
        app.step([])
        _pay_exact(app)
        _settle(app)
        app.press("new_sale")
    else:
        app.press("layby:close")
    app.toasts.dismiss()
    for i in range(min(4, len(app.register.quick_keys()))):
        app.press(f"quick:{i}")
    app.step([])


def _item_prompts(app: Any, shot: Callable[[str], None]) -> None:
    """docs/item-prompts.md: a prompt in the message strip, the age check, and its date-of-birth keypad."""
    catalog = getattr(app.register, "catalog", None)
    items = list(getattr(catalog, "items", ()))
    prompted = next((i for i in items if i.prompt and not i.min_age and i.barcodes), None)
    aged = next((i for i in items if i.min_age and i.barcodes), None)
    sell = app.current  # the sell screen: it takes a scan as a scanner's would go (and opens the age check)
    if sell is None:
        return
    if prompted is not None:
        sell.on_scan(prompted.barcodes[0])
        app.step([])
        shot("sell-item-prompt")
    if aged is None:
        return
    from firmware.register.commands import Scan
    from firmware.register.view import AgeCheckWanted
    from ui.screens.age import AgeDobDialog

    sell.on_scan(aged.barcodes[0])
    app.step([])
    shot("sell-age-check")
    app.press("age:yes")
    app.step([])
    shot("sell-age-checked")
    wanted = AgeCheckWanted(Scan(aged.barcodes[0]), aged.name, aged.min_age, dob_wanted=True)
    app.push(AgeDobDialog(app, wanted, getattr(sell, "_sell", app.run)))
    for key in "2412199":
        app.press(f"dlg:{key}")
    app.step([])
    shot("sell-age-dob")
    app.press("age:refuse")  # not sold: the register says so, the cart keeps one bottle
    app.step([])
    shot("sell-age-refused")
    app.toasts.dismiss()


def _variants(app: Any, shot: Callable[[str], None]) -> None:
    """docs/stock.md#variants, docs/item-images.md: a parent in the search with its picture, its grid (a greyed
    cell), a third axis's page; a tap adds the variant."""
    def search(text: str) -> None:
        app.press("search")
        for ch in text:
            app.press(f"kb:{ch}")
        app.step([])

    search("SHIRT")
    if "result:TSHIRT" not in app.buttons():  # not the demo catalog
        app.press("kb:close")
        return
    shot("search-variants")
    app.press("result:TSHIRT")
    app.step([])
    shot("variants")
    cells = [k for k in app.buttons() if k.startswith("variant:")]
    app.press(cells[0]) if cells else app.press("variants:close")
    app.step([])
    search("HOOD")
    app.press("result:HOODIE")
    app.press("variants:page:Slim")
    app.step([])
    shot("variants-page")
    app.press("variants:close")
    search("PENCIL")
    shot("search-picture")
    app.press("kb:close")
    app.step([])


def _tour(app: Any, shot: Callable[[str], None]) -> None:
    reg = app.register
    shot("login")
    clerks = reg.clerks()
    pins = reg.demo_pins()
    clerk = next((c for c in clerks if c.clerk_id in pins and c.role != "manager"), None)
    if clerk is None:
        return
    _time_clock(app, clerk.clerk_id, pins[clerk.clerk_id], shot)
    app.screen("login").selected = clerk.clerk_id
    for digit in pins[clerk.clerk_id]:
        app.press(f"pin:{digit}")
    app.press("login")
    _settle(app)
    for i in range(min(4, len(reg.quick_keys()))):
        app.press(f"quick:{i}")
    app.step([])
    shot("sell")
    app.scan("0000000000000")
    app.step([])
    shot("sell-unknown-barcode")
    app.toasts.dismiss()  # it fades by itself; the next shots show their own screens
    _item_prompts(app, shot)
    app.press("search")
    for ch in "CO":
        app.press(f"kb:{ch}")
    app.step([])
    shot("search")
    app.press("kb:close")
    _variants(app, shot)
    _customers(app, shot)
    _layby(app, shot)
    app.press("pay")
    app.step([])
    shot("tender")
    notes = [k for k in app.buttons() if k.startswith("note:")]
    app.press(notes[-1] if notes else "exact")
    _settle(app)
    shot("done")
    app.press("new_sale")
    app.open_status()
    _settle(app)
    shot("status")
    app.press("export_range")
    app.press("range:yesterday")
    app.step([])
    shot("status-export-range")
    app.press("range:to")
    for key in "31.02":
        app.press(f"range:key:{key}")
    app.press("range:export")
    app.step([])
    shot("status-export-range-invalid")
    app.press("range:cancel")
    app.close_status()
    app.press("manager")
    app.step([])
    shot("manager-pin")
    manager = next((c for c in clerks if c.role == "manager" and c.clerk_id in pins), None)
    if manager is None:
        return
    for digit in pins[manager.clerk_id]:
        app.press(f"dlg:{digit}")
    app.press("dlg:ok")
    app.step([])
    shot("manager")
    app.press("refund")
    app.step([])
    shot("manager-refund")
    receipts = [k for k in app.buttons() if k.startswith("receipt:")]
    if receipts:
        app.press(receipts[0])
        app.step([])
        app.press(next(k for k in app.buttons() if k.startswith("refund:plus:")))
        app.step([])
        shot("manager-refund-lines")
        app.press("refund:cancel")
    _find_receipt(app, shot)
    app.press("x_report")
    app.step([])
    shot("manager-x-report")
    app.press("report:down")
    app.step([])
    shot("manager-x-report-scrolled")
    app.press("z_report")
    for key in "312.5":  # €312.50, entered as money
        app.press(f"dlg:{key}")
    app.step([])
    shot("manager-z-count")
    app.press("dlg:ok")
    _settle(app)
    shot("manager-z-report")
    app.press("hours")
    app.step([])
    shot("manager-hours")
    app.press("stock_take")  # docs/stock.md: an item in hand, a count typed, another counted already
    app.step([])
    shot("stock-take")
    keys = reg.quick_keys()
    if len(keys) >= 2:
        take = app.router.top()
        take.on_scan(keys[1].sku)
        for key in ("stk:1", "stk:2", "stk:count"):
            app.press(key)
        take.on_scan(keys[0].sku)
        app.press("stk:3")
        app.step([])
        shot("stock-take-counting")
        app.press("stk:clear")
    app.press("stk:close")
    app.step([])
    app.press("mgr_back")
    app.step([])
    for i in range(min(2, len(reg.quick_keys()))):
        app.press(f"quick:{i}")
    app.press("park")
    _settle(app)
    app.toasts.dismiss()
    app.press("park")  # the cart is empty now: Park / Recall opens the list
    app.step([])
    shot("sell-recall")
    app.press("recall:close")
    app.step([])


def render_all(register_factory: Callable[[], Any], out_dir: str | Path,
               sizes: tuple[tuple[int, int], ...] = SIZES) -> list[Path]:
    """Drive a fresh register from `register_factory()` through every screen at each size; returns the PNGs.

    The factory should build a demo register (demo clerks with PINs, sample catalog); the caller shuts it down
    if it needs to (this function calls `shutdown()` on each register it made when it has one).
    """
    from ui.app import App

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for w, h in sizes:
        register = register_factory()
        try:
            app = App(register, size=(w, h), headless=True, sound=False)
            counter = [0]

            def shot(name: str, app: Any = app, counter: list[int] = counter, w: int = w, h: int = h) -> None:
                counter[0] += 1
                app.step([])
                path = out / f"{w}x{h}-{counter[0]:02d}-{name}.png"
                app.save(path)
                written.append(path)

            _tour(app, shot)
        finally:
            if hasattr(register, "shutdown"):
                register.shutdown()
    return written
