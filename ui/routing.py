"""Which screen is up: the register's phase picks it, Status and Manager override it, dialogs stack on top."""

from __future__ import annotations

from collections.abc import Callable

from pygame import Rect

from ui.screens.base import Screen


def screen_class(name: str) -> type[Screen]:
    """The class of screen `name`, imported on first use so start-up only pays for the login screen."""
    cls: type[Screen]
    if name == "login":
        from ui.screens.login import LoginScreen as cls
    elif name == "sell":
        from ui.screens.sell import SellScreen as cls
    elif name == "tender":
        from ui.screens.tender import TenderScreen as cls
    elif name == "done":
        from ui.screens.done import DoneScreen as cls
    elif name == "status":
        from ui.screens.status import StatusScreen as cls
    elif name == "manager":
        from ui.screens.manager import ManagerScreen as cls
    else:
        raise KeyError(name)
    return cls


class Router:
    """The App's screen keeper: `current` (the screen), `dialogs` (modal stack), `layer` (what gets input now).

    `make(name)` builds a screen, `phase()` is the register's phase, `body` the window below the top bar, and
    `redraw()` asks for the whole window to be painted afresh (the layer changed).
    """

    def __init__(self, make: Callable[[str], Screen], phase: Callable[[], str], body: Rect,
                 redraw: Callable[[], None]) -> None:
        self._make = make
        self._phase = phase
        self._body = Rect(body)
        self._redraw = redraw
        self.screens: dict[str, Screen] = {}
        self.dialogs: list[Screen] = []
        self.override: str | None = None
        self.current: Screen | None = None
        self.layer: Screen | None = None

    def wanted(self) -> str:
        """The screen the register's phase and the overrides ask for."""
        phase = self._phase()
        if self.override == "status":
            return "status"
        if self.override == "manager" and phase == "sell":
            return "manager"
        if phase == "committing":
            return "tender"
        return phase if phase in ("login", "sell", "tender", "done") else "login"

    def screen(self, name: str) -> Screen:
        """The one instance of screen `name`, made on first use."""
        s = self.screens.get(name)
        if s is None:
            s = self.screens[name] = self._make(name)
        return s

    def body(self) -> Rect:
        """The part of the window below the top bar (a fresh Rect each time: a screen may change its own)."""
        return Rect(self._body)

    def top(self) -> Screen | None:
        """The top dialog, else the screen."""
        return self.dialogs[-1] if self.dialogs else self.current

    def route(self) -> None:
        name = self.wanted()
        if self.override == "manager" and name != "manager":
            self.override = None
        if self.current is None or self.current.name != name:
            self.current = self.screen(name)
            self.current.layout(self.body())
            self.current.on_enter()
            self._redraw()
        layer = self.top()
        if layer is not self.layer:
            self.layer = layer
            self._redraw()

    def relayout(self) -> None:
        """The visible screen's static part changed (e.g. another page of quick keys)."""
        if self.current:
            self.current.layout(self.current.area)
        self._redraw()

    def push(self, dialog: Screen) -> None:
        dialog.layout(self.body())
        self.dialogs.append(dialog)
        self.route()

    def pop(self, dialog: Screen | None = None) -> None:
        if self.dialogs and (dialog is None or self.dialogs[-1] is dialog):
            self.dialogs.pop()
        elif dialog in self.dialogs:
            self.dialogs.remove(dialog)
        self.route()

    def drop_broken(self) -> None:
        """After a screen failed: no dialogs, no override, and a fresh instance of the layer that broke."""
        name = getattr(self.layer, "name", None)
        self.dialogs.clear()
        self.override = None
        if name in self.screens:
            del self.screens[name]  # a fresh instance: whatever state broke it is gone
        self.current = None


__all__ = ["Router", "screen_class"]
