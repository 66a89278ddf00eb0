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


def _tour(app: Any, shot: Callable[[str], None]) -> None:
    reg = app.register
    shot("login")
    clerks = reg.clerks()
    pins = reg.demo_pins()
    clerk = next((c for c in clerks if c.clerk_id in pins and c.role != "manager"), None)
    if clerk is None:
        return
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
    app.press("search")
    for ch in "CO":
        app.press(f"kb:{ch}")
    app.step([])
    shot("search")
    app.press("kb:close")
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
