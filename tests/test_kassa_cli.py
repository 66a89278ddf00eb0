"""`kassa` as a technician and systemd meet it: help, config errors with exit 2 and no traceback, the headless demo."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.net import free_port

pytestmark = pytest.mark.slow  # a kassa process per case

KASSA = [sys.executable, "-c", "from ui.cli import main; main()"]
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "GPIOZERO_PIN_FACTORY": "mock"}


def kassa(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(KASSA + list(args), capture_output=True, text=True, timeout=timeout, env=ENV)


def test_help_lists_the_commands():
    out = kassa("--help")
    assert out.returncode == 0
    for name in ("demo", "run", "screenshots"):
        assert name in out.stdout


def test_run_without_a_config_file_names_the_fix_and_exits_2(tmp_path):
    out = kassa("run", "--config", str(tmp_path / "missing.toml"))
    assert out.returncode == 2
    assert "kassa-provision init" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_run_with_an_unknown_key_names_the_key_and_exits_2(tmp_path):
    cfg = tmp_path / "kassa.toml"
    cfg.write_text(f'[device]\nstore = "S001"\nregister = "R1"\ndata_dir = "{tmp_path}"\ncolour = "red"\n')
    out = kassa("run", "--config", str(cfg))
    assert out.returncode == 2
    assert "device.colour: unknown key" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_run_with_broken_toml_exits_2_without_a_traceback(tmp_path):
    cfg = tmp_path / "kassa.toml"
    cfg.write_text("[device\nstore=")
    out = kassa("run", "--config", str(cfg))
    assert out.returncode == 2 and "not valid TOML" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_headless_demo_runs_offline_prints_the_scanner_pty_and_stops_cleanly(tmp_path):
    data = tmp_path / "demo"
    out = kassa(
        "demo",
        "--headless",
        "--seconds",
        "2",
        "--data-dir",
        str(data),
        "--broker",
        f"mqtt://127.0.0.1:{free_port()}",
        timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "echo 4006381333931 > /dev/pts/" in out.stdout
    assert "Anna PIN 1111" in out.stdout
    assert (data / "journal").is_dir() and (data / "catalog.json").is_file()
    assert "Traceback" not in out.stderr


def test_demo_on_a_machine_without_any_display_says_so_and_runs_headless(tmp_path):
    env = {k: v for k, v in ENV.items() if k not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run(
        KASSA
        + ["demo", "--seconds", "1", "--data-dir", str(tmp_path / "d"), "--broker", f"mqtt://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "no display found here; running headless" in out.stdout
