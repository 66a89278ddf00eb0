"""Journal benchmark (not a test): commit latency vs the fsync floor, sqlite3 WAL FULL and stock TinyDB.

    .venv/bin/python bench/journal_bench.py [--quick] [--dir DIR]

Prints, in one run on this machine: Kassa commit p50/p99 with 0, 10k and
100k receipts already journaled; the raw floor (append 1 KB + fsync on the
same disk); sqlite3 WAL synchronous=FULL doing the same commits; stock
TinyDB JSONStorage at 0/1k/10k; open time and resident memory with 100k
receipts (the register's fast open, whose sealed-segment check runs in the
background afterwards, and the synchronous `verify=True` open); ratios; reading
and exporting 100k receipts through the typed Receipt against the dicts it
replaced (`--export-only`: just that part). The 100k journal is built
through the real journal code
with syncs switched off (a bulk FileOps), then synced once.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.chain import canonical_json  # noqa: E402
from firmware.clock import ManualClock  # noqa: E402
from firmware.domain.receipt_model import Receipt  # noqa: E402
from firmware.journal import FileOps, Journal  # noqa: E402
from tests.support.journal_sample import make_receipt  # noqa: E402


class BulkOps(FileOps):
    """Build-only: no syncs (the data is synced once with os.sync() afterwards)."""

    def fsync(self, fd: int) -> None:
        pass

    def fdatasync(self, fd: int) -> None:
        pass

    def fsync_dir(self, path: str) -> None:
        pass


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(x: float) -> str:
    return f"{x * 1000:.3f}"


class Chain:
    """Pre-built receipts continuing a journal, so timing covers only the commit."""

    def __init__(self, journal: Journal) -> None:
        self.j = journal

    def build(self, n: int) -> list[dict]:
        out, seq, prev = [], self.j.next_seq, self.j.last_hash
        for _ in range(n):
            r = make_receipt(self.j, seq=seq, prev_hash=prev)
            out.append(r)
            seq, prev = seq + 1, r["hash"]
        return out


def open_journal(data: Path, ops: FileOps | None = None) -> Journal:
    journal = Journal.open(data, store="S001", register="R1", clock=ManualClock(), fileops=ops)
    journal.start()  # as bootstrap does: delivery writer, housekeeper, verifier
    gc.collect()
    gc.freeze()  # as `kassa run` does after bootstrap (the journal no longer freezes the process itself)
    return journal


def fill(data: Path, upto: int) -> None:
    """Grow the journal at `data` to `upto` receipts through the journal code, without syncs."""
    j = open_journal(data, BulkOps())
    todo = upto - (j.next_seq - 1)
    for r in Chain(j).build(todo) if todo > 0 else []:
        j.commit_receipt(r)
    j.close()
    os.sync()


def time_commits(data: Path, n: int) -> list[float]:
    j = open_journal(data)
    receipts = Chain(j).build(n)
    time.sleep(0.3)  # let the housekeeper preallocate the spare segment
    lat = []
    for r in receipts:
        t = time.perf_counter()
        j.commit_receipt(r)
        lat.append(time.perf_counter() - t)
    j.close()
    return lat


def floor(dirpath: Path, n: int) -> list[float]:
    path = dirpath / "floor.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    block = b"x" * 1023 + b"\n"
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        os.write(fd, block)
        os.fsync(fd)
        lat.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    return lat


def sqlite_commits(dirpath: Path, receipts: list[dict], prefill: int) -> list[float]:
    path = dirpath / "bench.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE receipts (seq INTEGER PRIMARY KEY, sale_id TEXT UNIQUE, body BLOB)")
    if prefill:
        body = canonical_json(receipts[0])
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO receipts VALUES (?, ?, ?)", ((-i, f"pre-{i}", body) for i in range(1, prefill + 1))
        )
        con.execute("COMMIT")
    lat = []
    for r in receipts:
        t = time.perf_counter()
        con.execute("BEGIN")
        con.execute("INSERT INTO receipts VALUES (?, ?, ?)", (r["seq"], r["sale_id"], canonical_json(r)))
        con.execute("COMMIT")
        lat.append(time.perf_counter() - t)
    con.close()
    return lat


def tinydb_stock(dirpath: Path, receipts: list[dict], prefill: int, n: int) -> list[float]:
    from tinydb import TinyDB

    path = dirpath / "stock.json"
    path.unlink(missing_ok=True)
    db = TinyDB(path)
    if prefill:
        db.insert_multiple([receipts[0]] * prefill)
    lat = []
    for r in receipts[:n]:
        t = time.perf_counter()
        db.insert(r)
        lat.append(time.perf_counter() - t)
    db.close()
    return lat


def time_states(data: Path, n: int) -> tuple[list[float], list[float]]:
    """put_state and get_state latency with a year of state records held: 365 Z reports, 365 shifts, 1000
    refund index entries (each op touches one document, so the year should not show)."""
    j = open_journal(data, BulkOps())
    report = {"kind": "z", "totals": {f"tender_{i}": i for i in range(60)}, "lines": ["x" * 40] * 20}
    for i in range(365):
        j.put_state("reports", f"z{i}", dict(report, z_number=i))
        j.put_state("shifts", f"s{i}", {"shift_id": f"s{i}", "moves": [{"kind": "drop", "amount": 5000}] * 8})
    for i in range(1000):
        j.put_state("refunds", f"R1:e:{i}", {"refund_ids": [f"R1:e:{i + 5000}"]})
    j.close()
    os.sync()
    j = open_journal(data)
    puts, gets = [], []
    for i in range(n):
        t = time.perf_counter()
        j.put_state("parked", f"p{i % 5}", {"lines": [{"sku": "4006381333931", "qty": 2}] * 3, "n": i})
        puts.append(time.perf_counter() - t)
        t = time.perf_counter()
        j.get_state("refunds", f"R1:e:{(i * 7) % 1000}")
        gets.append(time.perf_counter() - t)
    j.close()
    return puts, gets


def _legacy_rows(receipt: dict, display: str) -> Iterable[list[Any]]:
    """The export's CSV rows from a stored document, as firmware.exports wrote them before the typed Receipt
    (commit cfbd985^): the dict baseline the typed export is measured against."""
    from firmware.domain.errors import DomainError
    from firmware.domain.money import format_money, minor_digits

    currency = str(receipt.get("currency") or "EUR")
    try:
        digits: int | str = minor_digits(currency)
    except DomainError:
        digits = ""

    def money(amount: Any) -> str:
        if isinstance(amount, bool) or not isinstance(amount, int) or digits == "":
            return "" if amount is None else str(amount)
        return format_money(amount, currency, display)

    tenders = receipt.get("tenders", [])
    tenders_minor = ";".join(f"{t.get('type')}:{t.get('amount')}" for t in tenders)
    tenders_text = "; ".join(f"{str(t.get('type')).replace('_', ' ')} {money(t.get('amount'))}" for t in tenders)
    total = receipt.get("totals", {}).get("total")
    base = [receipt.get("receipt_id"), receipt.get("seq"), receipt.get("kind"), receipt.get("created_at"),
            receipt.get("offline"), receipt.get("clerk_id"), currency, digits]
    lines = receipt.get("lines") or [{}]
    for number, line in enumerate(lines, start=1):
        minor = [line.get("unit_price", ""), line.get("discount", ""), line.get("amount", "")]
        yield base + [number if line else "", line.get("sku", ""), line.get("name", ""), line.get("qty", ""),
                      money(minor[0]) if line else "", money(minor[1]) if line else "", line.get("tax_code", ""),
                      money(minor[2]) if line else "", money(total), tenders_text, receipt.get("refund_of") or "",
                      *minor, total, tenders_minor]


def _legacy_export(docs: Iterable[dict], directory: Path, stem: str, data_dir: Path) -> int:
    """firmware.exports.export_receipts as it was before the typed Receipt (commit cfbd985^): dicts in."""
    from firmware.atomicfile import atomic_writer
    from firmware.exports import LINE_COLUMNS, open_export_dir

    dir_fd = open_export_dir(directory, data_dir)
    count = 0
    try:
        with atomic_writer(directory / f"{stem}-lines.csv", dir_fd=dir_fd) as csv_out, \
                atomic_writer(directory / f"{stem}-receipts.json", dir_fd=dir_fd) as json_out:
            text = io.TextIOWrapper(csv_out, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(LINE_COLUMNS)
            json_out.write(b"[")
            for receipt in docs:
                writer.writerows(_legacy_rows(receipt, "symbol"))
                json_out.write(b",\n" if count else b"\n")
                json_out.write(json.dumps(receipt, ensure_ascii=False).encode("utf-8"))
                count += 1
            json_out.write(b"\n]\n" if count else b"]\n")
            text.flush()
            text.detach()
    finally:
        os.close(dir_fd)
    return count


def _csv_only(out: Path, receipts: Iterable[Any], rows: Callable[[Any, str], Iterable[list[Any]]]) -> None:
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        for receipt in receipts:
            writer.writerows(rows(receipt, "symbol"))


def _json_only(out: Path, receipts: Iterable[Any], text: Callable[[Any], str]) -> None:
    with open(out, "wb") as f:
        for receipt in receipts:
            f.write(text(receipt).encode("utf-8"))
            f.write(b"\n")


def _touch_doc(doc: dict) -> list[Any]:
    """Every field of a stored document read once by name, with its default, as the code before the typed
    Receipt read them (`line.get("qty", 1)`): what a report, a print or an export does."""
    seen: list[Any] = []
    see = seen.append
    for x in doc.get("lines") or ():
        see((x.get("sku", ""), x.get("name", ""), x.get("qty", 1), x.get("unit_price", 0), x.get("discount", 0),
             x.get("tax_code", ""), x.get("amount", 0), x.get("of_line"), x.get("cart_discount", 0)))
    for x in doc.get("taxes") or ():
        see((x.get("tax_code", ""), x.get("rate", ""), x.get("net", 0), x.get("tax", 0)))
    for x in doc.get("tenders") or ():
        see((x.get("type", ""), x.get("amount", 0), x.get("change", 0), x.get("reference")))
    x = doc.get("totals") or {}
    see((x.get("subtotal", 0), x.get("tax", 0), x.get("total", 0), x.get("rounding", 0)))
    see((doc.get("cart_discount"), doc.get("seq", 0)))
    return seen


def _touch_receipt(receipt: Receipt) -> list[Any]:
    """Every field of a typed receipt read once by name (its parts built): `_touch_doc` on the model."""
    seen: list[Any] = []
    see = seen.append
    for x in receipt.lines:
        see((x.sku, x.name, x.qty, x.unit_price, x.discount, x.tax_code, x.amount, x.of_line, x.cart_discount))
    for t in receipt.taxes:
        see((t.tax_code, t.rate, t.net, t.tax))
    for p in receipt.tenders:
        see((p.type, p.amount, p.change, p.reference))
    s = receipt.totals
    see((s.subtotal, s.tax, s.total, s.rounding))
    see((receipt.cart_discount, receipt.seq))
    return seen


def time_export(data: Path, out: Path, limit: int, rounds: int = 3) -> list[tuple[str, float, float]]:
    """Best of `rounds` seconds, dict baseline vs typed Receipt, for: reading receipts 1..limit (as is, and with
    every field read), writing their CSV rows only, their JSON only, and the whole export (CSV + JSON, streamed and
    fsynced). The dict baseline is the code before the typed Receipt (iter_receipts, the exporter on dicts); its
    files and the typed export's are checked byte for byte."""
    from firmware.exports import ALLOW_UNMOUNTED_ENV, _rows, export_receipts

    os.environ[ALLOW_UNMOUNTED_ENV] = "1"  # a bench writes to a temp dir, not a stick (the lab switch, documented)
    out.mkdir(parents=True, exist_ok=True)
    j = open_journal(data)

    def read_dicts() -> None:
        for _ in j.iter_receipts(1, limit):
            pass

    def read_typed() -> None:
        for _ in j.receipts(1, limit):
            pass

    def touch_dicts() -> None:
        for doc in j.iter_receipts(1, limit):
            _touch_doc(doc)

    def touch_typed() -> None:
        for receipt in j.receipts(1, limit):
            _touch_receipt(receipt)

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (f"read {limit // 1000}k", read_dicts, read_typed),
        (f"read {limit // 1000}k, every field", touch_dicts, touch_typed),
        (f"export {limit // 1000}k CSV rows only",
         lambda: _csv_only(out / "d.csv", j.iter_receipts(1, limit), _legacy_rows),
         lambda: _csv_only(out / "t.csv", j.receipts(1, limit), _rows)),
        (f"export {limit // 1000}k JSON only",
         lambda: _json_only(out / "d.json", j.iter_receipts(1, limit), lambda d: json.dumps(d, ensure_ascii=False)),
         lambda: _json_only(out / "t.json", j.receipts(1, limit), Receipt.to_json)),
        (f"export {limit // 1000}k (CSV + JSON, fsynced)",
         lambda: _legacy_export(j.iter_receipts(1, limit), out, "dicts", data),
         lambda: export_receipts(j.receipts(1, limit), out, "typed", data_dir=data)),
    ]
    best: dict[str, list[float]] = {name: [float("inf"), float("inf")] for name, _d, _t in cases}
    for _ in range(rounds):
        for name, *runs in cases:
            for i, run in enumerate(runs):
                gc.collect()
                t = time.perf_counter()
                run()
                best[name][i] = min(best[name][i], time.perf_counter() - t)
    j.close()
    same = [(a, b) for a, b in (("d.csv", "t.csv"), ("d.json", "t.json"), ("dicts-lines.csv", "typed-lines.csv"),
                                 ("dicts-receipts.json", "typed-receipts.json"))
            if (out / a).read_bytes() != (out / b).read_bytes()]
    if same:
        raise SystemExit(f"typed export differs from the dict baseline: {same}")
    return [(name, d, t) for name, (d, t) in best.items()]


def print_export(results: list[tuple[str, float, float]]) -> None:
    print(f"{'dicts vs typed Receipt (best of 3, s)':40} {'dicts':>8} {'typed':>8} {'typed/dicts':>12}")
    for name, d, t in results:
        print(f"{name:40} {d:>8.3f} {t:>8.3f} {t / d:>12.3f}")
    print("  (typed files byte-identical to the dict baseline's: CSV, JSON, export)")


OPEN_PROBE = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
from firmware.clock import ManualClock
from firmware.journal import Journal
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024
base = rss()
t = time.perf_counter()
j = Journal.open(sys.argv[2], store="S001", register="R1", clock=ManualClock(), verify=sys.argv[3] == "1")
j.start()
opened = time.perf_counter() - t
j.get_seq(1); j.get_seq(j.next_seq - 1); j.outbox(0, 100)
j.wait_verified(60)
checked = time.perf_counter() - t
print(json.dumps({"open": opened, "checked": checked, "alarms": len(j.alarms), "rss": rss(), "base": base,
                  "seq": j.next_seq - 1}))
j.close()
"""


def probe_open(data: Path, verify: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", OPEN_PROBE, str(ROOT), str(data), "1" if verify else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about a minute)")
    parser.add_argument("--dir", default=None, help="scratch directory on the disk to measure (default: a temp dir)")
    parser.add_argument("--export-only", action="store_true",
                        help="only build the journal and time reading and exporting it (dicts vs typed Receipt)")
    args = parser.parse_args()
    export_n = 20_000 if args.quick else 100_000
    if args.export_only:
        scratch = Path(tempfile.mkdtemp(prefix="kassa-bench-", dir=args.dir))
        try:
            t = time.perf_counter()
            fill(scratch / "data", export_n)
            print(f"scratch dir {scratch}; built journal to {export_n} receipts in {time.perf_counter() - t:.1f}s")
            results = time_export(scratch / "data", scratch / "export", export_n)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print_export(results)
        return 0
    n = 150 if args.quick else 500
    scratch = Path(tempfile.mkdtemp(prefix="kassa-bench-", dir=args.dir))
    rows: list[tuple[str, list[float]]] = []
    try:
        data = scratch / "data"
        print(f"scratch dir {scratch}; {n} samples per row", flush=True)
        rows.append(("floor: append 1 KB + fsync", floor(scratch, n)))
        kassa = {}
        for size in (0, 10_000, 100_000):
            t = time.perf_counter()
            fill(data, size)
            build = time.perf_counter() - t
            kassa[size] = time_commits(data, n)
            rows.append((f"kassa commit @ {size // 1000}k", kassa[size]))
            print(f"  (built journal to {size} receipts in {build:.1f}s)", flush=True)
        probe_j = open_journal(scratch / "probe")
        sample = Chain(probe_j).build(n)
        probe_j.close()
        rows.append(("sqlite3 WAL FULL @ 0", sqlite_commits(scratch, sample, 0)))
        rows.append(("sqlite3 WAL FULL @ 100k", sqlite_commits(scratch, sample, 100_000)))
        rows.append(("floor again (after the rest)", floor(scratch, n)))
        for prefill, k in ((0, min(n, 100)), (1000, 20), (10_000, 3)):
            rows.append((f"stock TinyDB JSONStorage @ {prefill // 1000}k", tinydb_stock(scratch, sample, prefill, k)))
        puts, gets = time_states(scratch / "states", n)
        rows.append(("state put, a year of records held", puts))
        rows.append(("state get, a year of records held", gets))
        export = time_export(data, scratch / "export", export_n)
        open_verified = probe_open(data, True)
        open_fast = probe_open(data, False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    fl = statistics.median(rows[0][1] + dict(rows)["floor again (after the rest)"])
    sq = statistics.median(dict(rows)["sqlite3 WAL FULL @ 0"])
    print()
    print(f"{'what':36} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'p50/floor':>10} {'p50/sqlite':>11}")
    for name, lat in rows:
        p50 = statistics.median(lat)
        print(f"{name:36} {len(lat):>5} {ms(p50):>9} {ms(pct(lat, 99)):>9} {p50 / fl:>10.2f} {p50 / sq:>11.2f}")
    k0, k100 = statistics.median(kassa[0]), statistics.median(kassa[100_000])
    print()
    print(f"flatness: p50 @100k / p50 @0 = {k100 / k0:.2f}")
    for label, o in (("open (register: background check)", open_fast), ("open (verify=True, tools)", open_verified)):
        print(
            f"{label:34} {o['seq']} receipts: {o['open'] * 1000:.0f} ms, sealed segments checked at "
            f"{o['checked'] * 1000:.0f} ms ({o['alarms']} alarms), RSS {o['rss'] / 2**20:.1f} MB "
            f"(interpreter + imports {o['base'] / 2**20:.1f} MB)"
        )
    exported, read = export[-1][2], export[0][2]
    print(
        f"export of {export_n} receipts (CSV + JSON, on the exporter thread in the register): {exported:.1f} s, "
        f"{exported / read:.2f}x the time to read them ({read:.1f} s)"
    )
    print_export(export)
    print()
    print("targets: p50 @100k <= 1.5x floor and < sqlite3 WAL FULL; flat; open < 0.5 s; RSS < 150 MB; "
          "typed/dicts <= 1")
    print(
        f"  p50@100k/floor {k100 / fl:.2f}  p50@100k/sqlite {k100 / sq:.2f}  open {open_fast['open']:.3f}s  "
        f"RSS {open_fast['rss'] / 2**20:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
