"""Which screen is up: the register's phase picks it, Status and Manager override it, dialogs stack on top."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pygame import Rect

from ui.screens.base import Screen

if TYPE_CHECKING:
    from ui.app import App


def screen_class(name: str) -> type[Screen]:
    """The class of screen `name`, imported on first use so start-up only pays for the login screen."""
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


class ScreenRouting:
    """Mixin of `App`: keeps `current` (the screen), `dialogs` (modal stack) and `_layer` (what gets input)."""

    def wanted(self: "App") -> str:  # type: ignore[misc]
        """The screen the register's phase and the overrides ask for."""
        phase = self.view.phase
        if self.override == "status":
            return "status"
        if self.override == "manager" and phase == "sell":
            return "manager"
        if phase == "committing":
            return "tender"
        return phase if phase in ("login", "sell", "tender", "done") else "login"

    def screen(self: "App", name: str) -> Screen:  # type: ignore[misc]
        """The one instance of screen `name`, made on first use."""
        s = self.screens.get(name)
        if s is None:
            s = self.screens[name] = screen_class(name)(self)
        return s

    def body(self: "App") -> Rect:  # type: ignore[misc]
        """The part of the window below the top bar."""
        return Rect(0, self.metrics.bar, self.size[0], self.size[1] - self.metrics.bar)

    def _route(self: "App") -> None:  # type: ignore[misc]
        name = self.wanted()
        if self.override == "manager" and name != "manager":
            self.override = None
        if self.current is None or self.current.name != name:
            self.current = self.screen(name)
            self.current.layout(self.body())
            self.current.on_enter()
            self._full = True
        layer = self.dialogs[-1] if self.dialogs else self.current
        if layer is not self._layer:
            self._layer = layer
            self._full = True

    def relayout(self: "App") -> None:  # type: ignore[misc]
        """The visible screen's static part changed (e.g. another page of quick keys)."""
        if self.current:
            self.current.layout(self.current.area)
        self._full = True

    def redraw(self: "App") -> None:  # type: ignore[misc]
        """Paint the whole screen from scratch on the next frame."""
        self._full = True

    def open_status(self: "App") -> None:  # type: ignore[misc]
        self.override = "status"

    def close_status(self: "App") -> None:  # type: ignore[misc]
        self.override = None

    def open_manager(self: "App") -> None:  # type: ignore[misc]
        """Show the manager screen now; callers check the PIN first (`App.open_manager_gate`)."""
        self.override = "manager"

    # ---- dialogs -----------------------------------------------------------------------------
    def push(self: "App", dialog: Screen) -> None:  # type: ignore[misc]
        dialog.layout(self.body())
        self.dialogs.append(dialog)
        self._route()

    def pop(self: "App", dialog: Screen | None = None) -> None:  # type: ignore[misc]
        if self.dialogs and (dialog is None or self.dialogs[-1] is dialog):
            self.dialogs.pop()
        elif dialog in self.dialogs:
            self.dialogs.remove(dialog)
        self._route()

    def alert(self: "App", text: str, title: str = "") -> None:  # type: ignore[misc]
        """Say `text` without blocking: a toast that fades (one with the same title just changes its words).

        A dialog that must be tapped away is kept for questions (`dialogs.Confirm`, PIN entry): nothing
        that needs no decision stops the cashier.
        """
        self.toast(text, title)


__all__ = ["ScreenRouting", "screen_class"]
