"""The layer rule of DESIGN.md, checked on every module's imports (static, so lazy imports count too)."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
OURS = {"firmware", "hal", "ui", "provisioning", "fleet"}

# layer -> which of our packages (or external ones) it must never import
FORBIDDEN = {
    "hal": {"firmware", "ui", "provisioning", "fleet", "pygame"},
    "firmware": {"ui", "provisioning", "fleet", "pygame"},
    "provisioning": {"ui", "fleet", "pygame"},
    "fleet": {"ui", "hal", "provisioning", "pygame"},
    "ui": {"provisioning", "fleet"},
}
# fleet may use firmware only through its published contract
FLEET_ALLOWED_FIRMWARE = ("firmware.contract",)
# paho is imported by these adapter modules only; everyone else takes its few types and constants from
# firmware.contract.mqtt (one MQTT client builder, one place to follow a paho upgrade)
PAHO_ADAPTERS = {"firmware/contract/wire.py", "firmware/contract/mqtt.py", "firmware/sync/mqtt_adapter.py"}


def imports_of(path: pathlib.Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations() -> list[str]:
    bad = []
    for layer, banned in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for lineno, name in imports_of(path):
                top = name.split(".")[0]
                where = f"{path.relative_to(ROOT)}:{lineno}"
                if top in banned:
                    bad.append(f"{where}: {layer} imports {name}")
                if layer == "fleet" and top == "firmware" and not name.startswith(FLEET_ALLOWED_FIRMWARE):
                    bad.append(f"{where}: fleet may import only firmware.contract, not {name}")
                if layer == "ui" and top == "hal":
                    bad.append(f"{where}: ui reaches hardware directly via {name}; go through the register")
    return bad


def paho_outside_adapters() -> list[str]:
    """Modules of our packages, other than the adapters, that import paho (lazy imports count too)."""
    bad = []
    for package in sorted(OURS):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in PAHO_ADAPTERS:
                continue
            bad += [f"{rel}:{lineno}: imports {name}; use firmware.contract.mqtt"
                    for lineno, name in imports_of(path) if name.split(".")[0] == "paho"]
    return bad


@pytest.mark.slow
def test_layer_rule_holds():
    assert violations() == []


@pytest.mark.slow
def test_only_the_adapter_modules_import_paho():
    assert paho_outside_adapters() == []
    assert all((ROOT / adapter).is_file() for adapter in PAHO_ADAPTERS)  # a renamed adapter must be named here


@pytest.mark.parametrize("source", ["import paho.mqtt.client as mqtt\n",
                                    "from paho.mqtt.subscribeoptions import SubscribeOptions\n",
                                    "def late():\n    from paho.mqtt import client\n"])
def test_checker_catches_paho_outside_the_adapters(tmp_path, monkeypatch, source):
    (tmp_path / "fleet").mkdir()
    (tmp_path / "fleet" / "bad.py").write_text(source)
    (tmp_path / "firmware" / "contract").mkdir(parents=True)
    (tmp_path / "firmware" / "contract" / "mqtt.py").write_text(source)  # an adapter may
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = paho_outside_adapters()
    assert len(found) == 1 and found[0].startswith("fleet/bad.py:")


@pytest.mark.parametrize("source, expected", [
    ("import firmware.journal\n", "hal imports firmware.journal"),
    ("from ui.screens import x\n", "hal imports ui.screens"),
])
def test_checker_catches_an_upward_import(tmp_path, monkeypatch, source, expected):
    fake_root = tmp_path
    (fake_root / "hal").mkdir()
    (fake_root / "hal" / "bad.py").write_text(source)
    for layer in FORBIDDEN:
        (fake_root / layer).mkdir(exist_ok=True)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    assert any(expected in v for v in violations())
