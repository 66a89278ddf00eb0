"""The weight dialog: a weighed item's weight in kg, typed on a keypad with a decimal point, or taken from the scale."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pygame
from pygame import Rect

from firmware.register.view import WeightWanted
from ui import theme
from ui.layout import columns
from ui.screens.base import Region
from ui.screens.dialogs import EntryDialog
from ui.widgets import Button, draw_panel, keypad, label

if TYPE_CHECKING:
    from ui.app import App

WEIGHT_KEYS = "789456123.0<"


def weight_key(text: str, k: str, limit: int = 9) -> str:
    """`text` after keypad key `k`: digits, one decimal point (a leading one becomes "0."), at most 3 decimals."""
    if k == "C":
        return ""
    if k == "<":
        return text[:-1]
    if k in (".", ","):
        return text if "." in text else (text or "0") + "."
    if not k.isdigit() or len(text) >= limit or ("." in text and len(text.split(".")[1]) >= 3):
        return text
    return k if text == "0" else text + k


def weight_shown(text: str) -> str:
    """What the keypad's weight reads as: "0.730 kg" once there is a decimal point, "0.73 kg" while typing."""
    return f"{text} kg" if text else ""


class WeightDialog(EntryDialog):
    """Asks for `wanted.name`'s weight; OK sends the command again with the typed weight, "Scale" with none (the
    register then takes the scale's stable reading itself: an unstable one is never taken)."""

    name = "weight"
    status_row = True
    decimal = True  # kg with a decimal point (its own on_scan: a scan is the next item)

    def __init__(self, app: App, wanted: WeightWanted, send: Callable[[Any], object]) -> None:
        price = app.money(wanted.price)
        super().__init__(app, f"{wanted.name}  {price}/kg", lambda text: None, hint="weight in kg", limit=9)
        self.wanted, self.send = wanted, send

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        keys = [b.rect for b in self.buttons if b.id not in ("dlg:cancel", "dlg:ok")]  # the entry's keypad
        pad = keys[0].unionall(keys[1:])
        self.buttons = keypad(pad, g, self._key, m.font("label"), keys=WEIGHT_KEYS, prefix="dlg")
        r_btns = Rect(self.inner.x, self.inner.bottom - m.row, self.inner.w, m.row)
        cancel, scale, ok = columns(r_btns, [1, 1.2, 1], g)
        self.buttons += [Button("dlg:cancel", cancel, "Cancel", self._cancel, "quiet", m.font("label")),
                         Button("dlg:scale", scale, "Use scale", self._use_scale, "normal", m.font("label")),
                         Button("dlg:ok", ok, "OK", self._ok, "primary", m.font("label"))]

    def regions(self) -> list[Region]:
        return super().regions() + [Region("weight.scale", self.r_status, self._scale_text, self._draw_scale)]

    def _scale_text(self) -> str:
        scale = self.view.scale
        return "No scale: type the weight" if scale is None else f"Scale: {scale.text}"

    def _draw_scale(self, surf: pygame.Surface, r: Rect) -> None:
        scale = self.view.scale
        good = scale is not None and scale.status == "stable" and (scale.weight or 0) > 0
        label(surf, self._scale_text(), r.center, self.m.font("body"), theme.OK if good else theme.MUTED, "center", r.w)

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        if self.error:
            label(surf, self.error, r.center, self.m.font("body"), theme.ERROR, "center", r.w - 8)
            return
        text = weight_shown(self.entry.text)
        label(surf, text or self.hint, r.center, self.m.font("big"), theme.TEXT if text else theme.MUTED, "center",
              r.w - 8)

    def _key(self, k: str) -> None:
        self.error = ""
        self.entry.text = weight_key(self.entry.text, k, self.entry.limit)

    def _ok(self) -> None:
        if not self.entry.text.strip("0."):
            if self.view.scale is not None:
                self._use_scale()
                return
            self.error = "Type the weight in kg, e.g. 0.730"
            return
        self.close()
        self.send(dataclasses.replace(self.wanted.command, **{self.wanted.field: self.entry.text}))

    def _use_scale(self) -> None:
        if self.view.scale is None:
            self.error = "There is no scale: type the weight"
            return
        self.close()
        self.send(self.wanted.command)

    def on_scan(self, code: str) -> None:
        """A scan while asking for a weight is another item: close, and let the screen sell it."""
        self.close()
        if self.app.current is not None:
            self.app.current.on_scan(code)
