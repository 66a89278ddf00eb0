"""The domain core stays pure: stdlib plus firmware.errors and firmware.chain only, no clock/IO/threads/floats."""

from __future__ import annotations

import ast
import pathlib
import sys

DOMAIN = pathlib.Path(__file__).resolve().parents[3] / "firmware" / "domain"
# firmware.contract.money: pure too (stdlib and firmware.errors), shared with the fleet so both show money alike
ALLOWED_OURS = ("firmware.errors", "firmware.chain", "firmware.domain", "firmware.contract.receipt_id",
                "firmware.contract.money")
BANNED_STDLIB = {"os.path", "io", "pathlib", "threading", "time", "socket", "subprocess", "random", "shutil", "sqlite3"}


def imported(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_domain_imports_only_the_stdlib_and_allowed_shared_modules():
    bad = []
    for path in sorted(DOMAIN.glob("*.py")):
        for name in imported(path):
            top = name.split(".")[0]
            if top == "firmware":
                if not name.startswith(ALLOWED_OURS):
                    bad.append(f"{path.name}: {name}")
            elif top not in sys.stdlib_module_names or name in BANNED_STDLIB:
                bad.append(f"{path.name}: {name}")
    assert bad == []


def test_domain_never_reads_the_clock_or_uses_float_literals():
    bad = []
    for path in sorted(DOMAIN.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today", "time", "monotonic"):
                bad.append(f"{path.name}:{node.lineno} reads the clock")
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                bad.append(f"{path.name}:{node.lineno} float literal {node.value}")
    assert bad == []


def test_domain_modules_are_small_and_open_with_a_one_line_docstring():
    for path in sorted(DOMAIN.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source))
        assert doc, path.name
        assert len(source.splitlines()) < 500, path.name
