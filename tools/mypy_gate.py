"""The type gate of CI: mypy over the product, strict parts at zero, the rest held to a baseline that only goes down.

    .venv/bin/python tools/mypy_gate.py            # check (what .ci/run does)
    .venv/bin/python tools/mypy_gate.py --update   # write the current counts to tools/mypy-baseline.txt

mypy runs with the configuration in pyproject.toml ([tool.mypy]). Then:

- a module listed in the strict override of pyproject.toml (firmware.domain, firmware.contract,
  firmware.register, firmware.sync) may have no error at all;
- every other file may have at most as many errors as tools/mypy-baseline.txt allows it (a file missing from
  the baseline: none). More is a new error and fails, with the file's errors printed;
- fewer than the baseline also fails, with the command that lowers it: a fixed error must not leave room for a
  new one. `--update` writes the current counts, but only when the total is not above the baseline's (moving
  code between files moves its errors; it must not add any).

Exit status: 0 pass, 1 gate failed, 2 mypy itself failed (crash, bad configuration).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tools" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:\s][^:]*\.pyi?):(?P<line>\d+):(?:\d+:)? error: (?P<message>.*)$")


def strict_prefixes() -> list[str]:
    """Path prefixes of the modules that pyproject.toml's mypy overrides make strict (disallow_untyped_defs)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    prefixes = []
    for override in config["tool"]["mypy"].get("overrides", []):
        if not override.get("disallow_untyped_defs"):
            continue
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        for module in modules:
            base = module.removesuffix(".*").replace(".", "/")
            prefixes += [base + "/", base + ".py"]
    return sorted(set(prefixes))


def run_mypy() -> list[tuple[str, str]]:
    """(path, "line: message  [code]") for every error mypy reports with the project's configuration."""
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty"], cwd=ROOT,
                          capture_output=True, text=True)
    errors = []
    for line in proc.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            errors.append((match["path"], f"{match['line']}: {match['message']}"))
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not errors):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(2)
    return errors


def read_baseline() -> Counter[str]:
    counts: Counter[str] = Counter()
    if BASELINE.exists():
        for raw in BASELINE.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                count, path = line.split(None, 1)
                counts[path] = int(count)
    return counts


def write_baseline(counts: Counter[str]) -> None:
    lines = [
        "# mypy errors allowed per file outside the strict modules; the count may only go down.",
        "# Written by `.venv/bin/python tools/mypy_gate.py --update`; checked by .ci/run. Format: <count> <path>.",
        f"# total {sum(counts.values())}",
    ]
    lines += [f"{count} {path}" for path, count in sorted(counts.items()) if count]
    BASELINE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the current per-file counts as the baseline")
    args = parser.parse_args(argv)

    strict = strict_prefixes()
    errors = run_mypy()
    strict_errors = [(p, e) for p, e in errors if any(p.startswith(s) for s in strict)]
    counts = Counter(p for p, _ in errors if not any(p.startswith(s) for s in strict))
    baseline = read_baseline()
    total, allowed = sum(counts.values()), sum(baseline.values())
    failed = False

    if strict_errors:
        failed = True
        print(f"mypy: {len(strict_errors)} error(s) in strict modules (allowed: none):")
        for path, error in strict_errors:
            print(f"  {path}:{error}")

    if args.update:
        if total > allowed and BASELINE.exists():
            print(f"mypy: not updating: {total} errors outside the strict modules, the baseline allows {allowed}; "
                  "fix the new ones first")
            return 1
        write_baseline(counts)
        print(f"mypy: baseline written: {total} errors in {len(counts)} files ({allowed} before)")
        return 1 if failed else 0

    grown = sorted(p for p in counts if counts[p] > baseline[p])
    for path in grown:
        failed = True
        print(f"mypy: {path}: {counts[path]} errors, the baseline allows {baseline[path]}:")
        for p, error in errors:
            if p == path:
                print(f"  {p}:{error}")
    shrunk = sorted(p for p in baseline if counts[p] < baseline[p])
    if shrunk and not grown:
        failed = True
        print(f"mypy: fewer errors than the baseline ({total} < {allowed}) in: {', '.join(shrunk)}")
        print("      lower it so they cannot come back: .venv/bin/python tools/mypy_gate.py --update (and commit it)")
    print(f"mypy: {len(strict_errors)} errors in strict modules, {total} elsewhere (baseline {allowed}): "
          + ("FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
