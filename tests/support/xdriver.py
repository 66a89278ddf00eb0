"""Drive a real window the way a person does: a real X server (Xvfb), xdotool for the mouse and keys, screenshots.

`XServer` starts Xvfb on a free display (Xvfb picks it: `-displayfd`) with one screen of the given size.
`UiMap` reads the file a `kassa demo` started with `KASSA_UI_MAP=path` writes after each frame in which
something changed (ui/cli.py): the screen, its dialogs and every tappable rectangle by button id, so a test
clicks "pay" where the app drew it instead of at guessed coordinates. `Driver` puts them together:
`tap("pay")` moves the X pointer there and clicks with xdotool (the app gets a real X button press and
release), `keys("9999")` types on the X keyboard, `shot(name)` saves the whole X screen as a PNG.

Nothing here talks to the app except through X and the map file it writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick"}


def require_x_tools() -> None:
    """Skip with the reason (and the apt line) where Xvfb, xdotool or ImageMagick is missing; CI installs them."""
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        why = f"a real X window needs {', '.join(missing)}: apt-get install -y {' '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (.ci/run installs them)")  # in CI a skip here would hide the cashier's shift
        pytest.skip(f"{why} (.ci/run installs them)")


class XServer:
    """Xvfb on a display it chose itself; `env()` is an environment whose programs draw on it."""

    def __init__(self, size: tuple[int, int] = (800, 480), workdir: Path | None = None) -> None:
        self.size = size
        self.log_path = (workdir or Path("/tmp")) / "xvfb.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self, timeout: float = 15.0) -> XServer:
        read, write = os.pipe()
        log = open(self.log_path, "ab")
        w, h = self.size
        try:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp", "-noreset"],
                stdout=log, stderr=log, pass_fds=(write,), start_new_session=True)
        finally:
            os.close(write)
            log.close()
        got = b""
        deadline = time.monotonic() + timeout
        os.set_blocking(read, False)
        while not got.endswith(b"\n"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                os.close(read)
                raise RuntimeError(f"Xvfb did not start: {self.log_path.read_text(errors='replace')}")
            try:
                chunk = os.read(read, 16)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            got += chunk
        os.close(read)
        self.display = ":" + got.decode().strip()
        return self

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["DISPLAY"] = self.display
        env.pop("SDL_VIDEODRIVER", None)  # the tests' conftest sets "dummy": this program gets the real display
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class UiMap:
    """The app's own account of what is on screen (KASSA_UI_MAP), re-read on every call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):  # not written yet (it is replaced atomically, so never half)
            return {}

    def wait(self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            doc = self.read()
            if doc and predicate(doc):
                return doc
            time.sleep(0.03)
        shown = {k: v for k, v in doc.items() if k != "buttons"}
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; the app shows {shown}, "
                             f"buttons {sorted(doc.get('buttons', {}))}")


class Driver:
    """Mouse, keys and screenshots on `x`'s display; buttons found by id in `ui`. Screenshots go to `shots`."""

    def __init__(self, x: XServer, ui: UiMap, shots: Path, settle: float = 0.12) -> None:
        self.x, self.ui, self.shots, self.settle = x, ui, shots, settle
        self.shots.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []
        self.origin = (0, 0)
        self._pointer: tuple[int, int] | None = None  # where the last click left the X pointer

    def _run(self, *args: str) -> str:
        done = subprocess.run(list(args), env=self.x.env(), capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def find_window(self, name: str = "kassa", timeout: float = 20.0) -> tuple[int, int]:
        """Where the app's window sits on the X screen (its class is the program's name); clicks are offset by it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = subprocess.run(["xdotool", "search", "--class", name], env=self.x.env(), capture_output=True,
                                   text=True, timeout=10).stdout.split()
            if found:
                geo = self._run("xdotool", "getwindowgeometry", "--shell", found[0])
                vals = dict(line.split("=", 1) for line in geo.split() if "=" in line)
                self.origin = (int(vals["X"]), int(vals["Y"]))
                return self.origin
            time.sleep(0.1)
        raise AssertionError(f"no window of class {name!r} on {self.x.display}")

    def click_at(self, x: int, y: int) -> None:
        ox, oy = self.origin
        at = (ox + x, oy + y)
        if at == self._pointer:  # `mousemove --sync` to where the pointer already is waits ~15 s for a motion
            self._run("xdotool", "click", "1")
        else:
            self._run("xdotool", "mousemove", "--sync", str(at[0]), str(at[1]), "click", "1")
            self._pointer = at
        time.sleep(self.settle)

    def tap(self, button_id: str, timeout: float = 10.0) -> None:
        """Click the middle of the button the app calls `button_id`, once it is on screen."""
        doc = self.ui.wait(lambda d: button_id in d.get("buttons", {}), f"button {button_id!r}", timeout)
        x, y, w, h = doc["buttons"][button_id]
        self.click_at(x + w // 2, y + h // 2)

    def tap_keys(self, prefix: str, text: str) -> None:
        """Type `text` on an on-screen keypad: "0.730" on the sell keypad is key:0, key:., key:7 ..."""
        for ch in text:
            self.tap(f"{prefix}:{ch}")

    def keys(self, text: str) -> None:
        """Type on the X keyboard (a USB keyboard or a keyboard-wedge scanner)."""
        self._run("xdotool", "type", "--delay", "40", text)
        time.sleep(self.settle)

    def key(self, *names: str) -> None:
        self._run("xdotool", "key", *names)
        time.sleep(self.settle)

    def shot(self, name: str) -> Path:
        """The whole X screen as a PNG, numbered in the order taken."""
        time.sleep(0.25)  # the frame after the last change (60 fps) and any toast fade-in
        path = self.shots / f"{len(self.taken) + 1:02d}-{name}.png"
        self._run("import", "-window", "root", str(path))
        self.taken.append(path)
        return path


__all__ = ["Driver", "UiMap", "XServer", "require_x_tools"]
