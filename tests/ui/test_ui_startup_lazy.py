"""Start-up to the login screen does only what the login screen needs: the network stack, numpy and the catalog's
items wait (a Pi under a CPU quota spends seconds on each). Checked in a fresh interpreter, as `kassa run` starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.bootstrap import seed_demo

ROOT = Path(__file__).resolve().parents[2]

# not needed before the login screen: sync's MQTT client and signatures, numpy/pkg_resources (pygame's optional
# surfarray and pkgdata), the printer library (only with a real printer)
DEFERRED = ("numpy", "pkg_resources", "paho", "cryptography", "escpos", "firmware.sync.service",
            "firmware.sync.mqtt_adapter", "firmware.contract.signing")

CHILD = r"""
import json, sys, time
from pathlib import Path

deferred = json.loads(sys.argv[2])
from firmware.bootstrap import bootstrap, demo_config
from ui.app import App

data = Path(sys.argv[1])
reg = bootstrap(demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"}),
                demo_pins={"c1": "1111"}, with_sync=False)
catalog = reg.catalog
out = {"loaded_at_bootstrap": catalog.loaded}
import gc
gc.freeze()  # as `kassa run` does before its loop (ui/cli.py)
frozen = gc.get_freeze_count()
app = App(reg, headless=True, sound=False)
app.step([])
out["screen"] = app.wanted()
out["currency_shown"] = app.view.currency
out["loaded_modules"] = [m for m in deferred if m in sys.modules]
out["loaded_after_first_frame"] = catalog.loaded
deadline = time.monotonic() + 30
while not catalog.loaded and time.monotonic() < deadline:  # read on its own thread once the screen is up
    app.step([])
    time.sleep(0.01)
out["loaded_later"] = catalog.loaded
out["items"] = len(catalog.items)
app.step([])
out["catalog_frozen"] = gc.get_freeze_count() > frozen
reg.login("c1", "1111")
out["scan_ok"] = reg.scan("4006381333931").ok
out["lines"] = len(reg.view().lines)
import importlib
import importlib.util
import pygame  # pygame itself works as usual, and what was held back can still be imported where installed
out["numpy_after"] = (importlib.import_module("numpy").__name__ if importlib.util.find_spec("numpy")
                      else "not installed")
out["surfarray"] = type(pygame.surfarray).__name__
reg.shutdown()
print("RESULT " + json.dumps(out))
"""


def run_child(data: Path) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", GPIOZERO_PIN_FACTORY="mock",
               PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, str(data), json.dumps(DEFERRED)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
def test_the_login_screen_comes_up_without_the_deferred_modules_and_the_catalog_follows(tmp_path):
    seed_demo(tmp_path / "data")
    result = run_child(tmp_path / "data")
    assert result["screen"] == "login"
    assert result["loaded_modules"] == []
    assert result["loaded_at_bootstrap"] is False  # the items are built once the login screen is up
    assert result["loaded_after_first_frame"] is False
    assert result["currency_shown"] == "EUR"  # the header was read ahead
    assert result["loaded_later"] is True and result["items"] == 63
    assert result["catalog_frozen"] is True  # the next frame froze it with the start-up heap
    assert result["scan_ok"] is True and result["lines"] == 1
    assert result["surfarray"] == "MissingModule"  # pygame imported without numpy (a Pi OS image has it)...
    assert result["numpy_after"] in ("numpy", "not installed")  # ...which still imports afterwards where it exists
