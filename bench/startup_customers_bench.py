"""What a 100k-customer book adds to the register's whole start-up: `bootstrap(...)` timed in a fresh interpreter
(as `kassa run` starts), with the demo's data dir and no customers (the baseline) against the same data dir with a
store's customer list applied (index file + local edits), runs alternated, in the same run.

    flock /tmp/kassa-bench.lock .venv/bin/python bench/startup_customers_bench.py [--customers 100000] [--runs 7]

Prints each case's median and max of `bootstrap()` alone and of the interpreter's start to bootstrap's return,
the difference of the medians (the figure the target is about: start-up adds < 300 ms, issue 16) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.customers_bench import make_store  # noqa: E402
from firmware.bootstrap import seed_demo  # noqa: E402
from firmware.customers import CustomerBook  # noqa: E402

CHILD = r"""
import time
t_start = time.perf_counter()
import json, sys
from pathlib import Path
from firmware.bootstrap import bootstrap, demo_config
data = Path(sys.argv[1])
config = demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"})
t0 = time.perf_counter()
reg = bootstrap(config, demo_pins={"c1": "1111"}, with_sync=False)
t1 = time.perf_counter()
book = reg.customers
loaded = getattr(book, "loaded", True)
deadline = time.monotonic() + 60
while not getattr(book, "loaded", True) and time.monotonic() < deadline:
    time.sleep(0.005)
t2 = time.perf_counter()
count = sum(1 for _ in book.iter_all())
reg.shutdown()
print("RESULT " + json.dumps({"bootstrap_ms": (t1 - t0) * 1000, "to_register_ms": (t1 - t_start) * 1000,
                              "loaded_at_return": loaded, "until_loaded_ms": (t2 - t0) * 1000,
                              "customers": count}))
"""


def run(data: Path) -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", GPIOZERO_PIN_FACTORY="mock",
               PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, str(data)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--edits", type=int, default=500)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        seed_demo(empty)
        seed_demo(full)
        store = make_store(args.customers)
        store["store"] = "DEMO"
        book = CustomerBook(full, "DEMO", "R1")
        book.apply_list(store)
        for i, c in enumerate(store["customers"][:args.edits]):
            book.edit(c["customer_id"], {"phone": f"+49 151 {i:07d}"}, "2026-11-30T18:01:00Z")
        cases: dict[str, list[dict]] = {"no customers": [], f"{args.customers} customers": []}
        run(empty), run(full)  # warm the page cache and the bytecode cache
        for _ in range(args.runs):
            for runs, data in zip(cases.values(), (empty, full), strict=True):
                runs.append(run(data))
        print(f"bootstrap() in a fresh interpreter, {args.runs} runs each, alternated "
              f"({args.edits} local customer edits on top of the list)")
        print(f"{'case':<18}{'bootstrap p50':>14}{'max':>8}{'start->register p50':>21}{'until book loaded':>19}"
              f"{'customers':>11}")
        med = {}
        for name, runs in cases.items():
            b = [r["bootstrap_ms"] for r in runs]
            med[name] = statistics.median(b)
            print(f"{name:<18}{med[name]:>12.0f}ms{max(b):>6.0f}ms"
                  f"{statistics.median(r['to_register_ms'] for r in runs):>19.0f}ms"
                  f"{statistics.median(r['until_loaded_ms'] for r in runs):>17.0f}ms{runs[0]['customers']:>11}"
                  f"   loaded at return: {runs[0]['loaded_at_return']}")
        base, with_book = med["no customers"], med[f"{args.customers} customers"]
        print(f"added by the book: {with_book - base:.0f} ms (ratio {with_book / base:.2f}x)   [target < 300 ms]")


if __name__ == "__main__":
    main()
