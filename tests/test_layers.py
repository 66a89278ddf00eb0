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


def test_layer_rule_holds():
    assert violations() == []


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
