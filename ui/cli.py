"""`kassa`: start the appliance (`demo` on simulated hardware, `run` from the config file), or render screenshots."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from firmware import __version__
from firmware.errors import ConfigError, KassaError

app = typer.Typer(help="Kassa cash register appliance.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
log = logging.getLogger("kassa")

SIZES = {"800x480": (800, 480), "1024x600": (1024, 600), "1280x800": (1280, 800)}


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter("use WIDTHxHEIGHT, e.g. 800x480") from None
    if w < 640 or h < 400:
        raise typer.BadParameter("the screen must be at least 640x400")
    return w, h


def _display_available() -> bool:
    """Whether SDL can open a real display here (X11, Wayland or the Pi's KMS/DRM console)."""
    if os.environ.get("SDL_VIDEODRIVER") == "dummy":
        return False
    import pygame

    try:
        pygame.display.init()
        # with no screen at all SDL falls back to its "offscreen" driver: that is not a display either
        return pygame.display.get_driver() not in ("offscreen", "dummy")
    except pygame.error:
        return False
    finally:
        pygame.display.quit()


def _fail(message: str, code: int) -> None:
    typer.echo(f"kassa: {message}", err=True)
    raise typer.Exit(code)


def _start(register: Any, *, headless: bool, size: tuple[int, int], fullscreen: bool, seconds: float | None) -> None:
    """Run the screen loop until the window closes, Ctrl-C, SIGTERM or `seconds` pass."""
    from firmware.watchdog import Watchdog

    if not headless and not _display_available():
        typer.echo("kassa: no display found here; running headless (the register works, sync and scanner included).")
        headless = True
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy" if headless else os.environ.get("SDL_AUDIODRIVER", ""))
    if not os.environ.get("SDL_AUDIODRIVER"):
        os.environ.pop("SDL_AUDIODRIVER", None)
    from ui.app import freeze_startup_heap, run_app

    if os.environ.get("KASSA_UI_MAP"):
        _map_ui(Path(os.environ["KASSA_UI_MAP"]))
    # The one gc.freeze() of the process, by the application: catalog, journal index and pygame are loaded
    # now and live as long as it does (no library freezes the collector for the process).
    freeze_startup_heap()
    watchdog = Watchdog()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    max_frames = int(seconds * 30) if seconds else None
    watchdog.ready()
    try:
        run_app(register, size=size, fullscreen=fullscreen, headless=headless, max_frames=max_frames,
                on_frame=watchdog.ping)
    except KeyboardInterrupt:
        pass
    finally:
        watchdog.stopping()
        register.shutdown()


def _map_ui(path: Path) -> None:
    """KASSA_UI_MAP=path (tests that drive the real window with xdotool): after each frame in which it changed,
    write the screen, its dialogs, every tappable rectangle by id and the sync state to `path` as JSON."""
    import json

    import ui.app

    class MappedApp(ui.app.App):
        def step(self, events: Any = None) -> Any:
            dirty = super().step(events)
            v, toast = self.view, self.toasts.current
            doc = json.dumps({
                "screen": self.wanted(), "dialogs": [type(d).__name__ for d in self.dialogs],
                "buttons": {k: list(r) for k, r in self.buttons().items()}, "phase": v.phase,
                "clerk": v.clerk.name if v.clerk else None, "lines": len(v.lines), "due": v.totals.due,
                "online": v.sync.online, "pending": v.sync.pending, "toast": toast.text if toast else None,
                "message": v.message.text if v.message else None}, sort_keys=True)
            if doc != getattr(self, "_mapped", None):
                self._mapped = doc
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(json.dumps({**json.loads(doc), "frame": self.frames}))
                os.replace(tmp, path)
            return dirty

    ui.app.App = MappedApp  # type: ignore[misc]  # run_app builds its App by this name


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    """systemd stops us with SIGTERM: leave the loop the same way Ctrl-C does, closing the journal cleanly."""
    raise KeyboardInterrupt


def _announce(register: Any, data_dir: Path) -> None:
    scanner = getattr(register.hardware, "scanner", None) if register.hardware is not None else None
    path = getattr(scanner, "path", None)
    if path:
        typer.echo(f"Simulated scanner: echo 4006381333931 > {path}")
    typer.echo(f"Receipts print to: {data_dir / 'printer'}")
    typer.echo(f"Journal and log in: {data_dir}")


@app.command()
def version() -> None:
    """Print the firmware version."""
    typer.echo(__version__)


@app.command()
def demo(
    headless: bool = typer.Option(False, "--headless",
                                  help="No window: dummy video driver (scanner and sync still work)."),
    data_dir: Path | None = typer.Option(None, "--data-dir",
                                         help="Where the demo journal lives (default: your user data dir)."),
    broker: str = typer.Option("mqtt://127.0.0.1:1883", "--broker", help="Broker to sync to when it is reachable."),
    size: str = typer.Option("800x480", "--size", help="Window size, e.g. 800x480, 1024x600, 1280x800."),
    fullscreen: bool = typer.Option(False, "--fullscreen"),
    seconds: float | None = typer.Option(None, "--seconds", help="Stop after this many seconds (smoke tests)."),
) -> None:
    """The whole appliance on simulated hardware with a sample catalog and demo clerks."""
    import platformdirs

    from firmware.bootstrap import bootstrap, demo_config, seed_demo
    from firmware.logsetup import setup_logging

    data_dir = data_dir or Path(platformdirs.user_data_dir("kassa")) / "demo"
    dims = _size(size)
    try:
        config = demo_config(data_dir, broker_url=broker)
        setup_logging(data_dir)
        pins = seed_demo(data_dir)
        register = bootstrap(config, demo_pins=pins)
    except ConfigError as exc:
        _fail(str(exc), 2)
    except KassaError as exc:
        _fail(str(exc), 1)
    _announce(register, data_dir)
    typer.echo("Demo clerks: " + ", ".join(f"{c.name} PIN {pins[c.clerk_id]}" for c in register.clerks()))
    _start(register, headless=headless, size=dims, fullscreen=fullscreen, seconds=seconds)


@app.command()
def run(
    config_file: Path | None = typer.Option(None, "--config",
                                            help="Config file (default $KASSA_CONFIG or /etc/kassa/kassa.toml)."),
    headless: bool = typer.Option(False, "--headless"),
    size: str = typer.Option("800x480", "--size"),
    windowed: bool = typer.Option(False, "--windowed", help="A window instead of fullscreen (bench setups)."),
) -> None:
    """The appliance from the config file (what systemd starts)."""
    from firmware.bootstrap import bootstrap
    from firmware.config import load_config
    from firmware.logsetup import setup_logging

    try:
        config = load_config(config_file)
        setup_logging(config.device.data_dir)
        register = bootstrap(config)
    except ConfigError as exc:  # bad config or hardware setup: exit 2 (the unit's RestartPreventExitStatus)
        _fail(str(exc), 2)
    except KassaError as exc:
        _fail(str(exc), 1)
    except PermissionError as exc:
        _fail(f"device.data_dir: cannot write {exc.filename or 'the data dir'} ({exc.strerror}); "
              "give it to the service user (`kassa-provision init` does) or set data_dir to a directory it owns", 2)
    except OSError as exc:
        _fail(f"cannot start: {exc}", 1)
    _announce(register, Path(config.device.data_dir))
    _start(register, headless=headless, size=_size(size), fullscreen=not windowed, seconds=None)


@app.command()
def screenshots(
    out_dir: Path = typer.Argument(..., help="Folder to write PNGs into."),
) -> None:
    """Render every screen in each supported size (800x480, 1024x600, 1280x800) to PNG."""
    import tempfile

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from firmware.bootstrap import bootstrap, demo_config, seed_demo
    from ui.screenshots import render_all

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:

        def factory() -> Any:
            data = Path(tempfile.mkdtemp(dir=tmp))
            pins = seed_demo(data)
            return bootstrap(demo_config(data, broker_url="mqtt://127.0.0.1:9"), demo_pins=pins)

        written = render_all(factory, out_dir, sizes=tuple(SIZES.values()))
    typer.echo(f"{len(written)} screenshots in {out_dir}")


def main() -> None:
    os.umask(0o077)  # the journal, kassa.log, clerks.json (PIN hashes) and exports are the register's alone
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # last line of defence: one sentence for the technician, the details in the log
        log.exception("kassa stopped on an unexpected error")
        typer.echo(f"kassa: unexpected error ({exc.__class__.__name__}: {exc}); details are in kassa.log", err=True)
        sys.exit(1)
