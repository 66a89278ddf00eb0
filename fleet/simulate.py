"""`kassa-fleet simulate`: many registers from a few processes against the real brokers and ingest, then a check.

    kassa-fleet simulate --registers 1000 --processes 2 --rate 0.1 --duration 60 --backlog 20 \\
        --broker mqtt://127.0.0.1:1883 --db sqlite:///fleet.db --json

Registers are emulated by `fleet.sim_device` (the exact contract, many per process on one selector loop);
`--real N` adds a handful of real registers (the firmware's Register, journal and SyncService; `fleet.sim_real`).
Register i is `<store-prefix><i // per_store>` / `R<i % per_store + 1>` and uses broker i % K of the K
`--broker`s, as provisioning would give it.

Timeline (seconds after the common start): connects spread over `ramp` with jitter; sales at `rate` per
register per second (exponential gaps) until `duration`; the offline wave (`offline_wave` of the registers)
drops its links at `offline_at` for `offline_for` and sells offline meanwhile; after `duration` every register
drains until all it made is confirmed or `drain_timeout` passes.

The verdict: every receipt made is in the fleet database exactly once with the same hash, nothing else under
the simulated stores, and every one was confirmed on the register's acks; `ok` only then.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import queue
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from fleet.errors import FleetError, FleetUsageError
from fleet.sim_device import DeviceOptions, Driver, SimRegister, Tally

log = logging.getLogger("kassa.fleet.simulate")


@dataclass
class SimOptions:
    registers: int = 10
    processes: int = 1
    rate: float = 0.1
    duration: float = 30.0
    backlog: int = 0
    offline_wave: float = 0.0
    offline_at: float | None = None     # default 30 % into the run
    offline_for: float | None = None    # default 30 % of the run
    brokers: tuple[str, ...] = ("mqtt://127.0.0.1:1883",)
    store_prefix: str | None = None     # default SIM-<6 hex>-: a fresh set of stores each run
    per_store: int = 4
    ramp: float | None = None           # s over which first connects are spread; default registers / 200
    drain_timeout: float = 120.0
    real: int = 0
    db: str | None = None
    seed: int | None = None
    device: DeviceOptions = field(default_factory=DeviceOptions)

    def check(self) -> None:
        if self.registers < 0 or self.real < 0 or self.registers + self.real < 1:
            raise FleetUsageError("--registers (plus --real) must be at least 1")
        if self.processes < 1:
            raise FleetUsageError("--processes must be at least 1")
        if self.rate < 0 or self.duration < 0 or self.backlog < 0:
            raise FleetUsageError("--rate, --duration and --backlog cannot be negative")
        if not 0.0 <= self.offline_wave <= 1.0:
            raise FleetUsageError("--offline-wave is a fraction of the registers, 0 to 1")
        if not self.brokers:
            raise FleetUsageError("give at least one --broker")
        if self.device.window < 1:
            raise FleetUsageError("--window must be at least 1")
        prefix = self.store_prefix or ""
        if len(prefix) > 26 or any(not (c.isascii() and (c.isalnum() or c in "_-")) for c in prefix):
            raise FleetUsageError("--store-prefix: up to 26 of A-Z a-z 0-9 _ - (a store id is at most 32)")
        from fleet.broker import BrokerSettings

        for url in self.brokers:
            _ = BrokerSettings(url).host_port  # FleetUsageError for a bad URL

    def identity(self, index: int) -> tuple[str, str, str]:
        """(store, register, broker url) of register `index` (emulated ones first, then the real ones)."""
        per = max(1, self.per_store)
        return (f"{self.store_prefix}{index // per:04d}", f"R{index % per + 1}",
                self.brokers[index % len(self.brokers)])


# ---- one worker process --------------------------------------------------------------------------------------

def run_slice(opt: SimOptions, indices: list[int], start_wall: float, seed: int) -> list[Tally]:
    """Emulate registers `indices` on one selector loop; return each one's tally."""
    driver = Driver()
    rng = random.Random(seed)
    start = time.monotonic() + (start_wall - time.time())
    end = start + opt.duration
    deadline = end + opt.drain_timeout
    ramp = opt.ramp if opt.ramp is not None else max(1.0, opt.registers / 200.0)
    wave_at = start + (opt.offline_at if opt.offline_at is not None else 0.3 * opt.duration)
    wave_for = opt.offline_for if opt.offline_for is not None else 0.3 * opt.duration
    for i in indices:
        store, register, broker = opt.identity(i)
        reg = SimRegister(driver, i, store, register, broker, opt.device, random.Random(rng.getrandbits(64)))
        driver.registers.append(reg)
        for _ in range(opt.backlog):  # the outage that ends: made offline, unsent
            reg.sell(offline=True)
        driver.schedule(start + rng.uniform(0.0, ramp), reg, "connect")
        if opt.rate > 0:
            driver.schedule(start + rng.expovariate(opt.rate), reg, "sale")
        # the same registers in every process layout: chosen by index, not by this process's random stream
        if opt.offline_wave and random.Random(f"{opt.store_prefix}{i}").random() < opt.offline_wave:
            driver.schedule(wave_at + rng.uniform(0.0, 1.0), reg, "away")
    driver.dirty.clear()

    def on_timer(now: float, reg: SimRegister, what: str) -> None:
        if what == "connect":
            reg.connect(now)
        elif what == "probe":
            reg.probe(now)
        elif what == "sale":
            if now < end:
                reg.sell()
                driver.schedule(now + reg.rng.expovariate(opt.rate), reg, "sale")
        elif what == "away":
            if now < end:
                reg.go_away(now)
                driver.schedule(now + wave_for, reg, "back")
        elif what == "back":
            reg.come_back(now)

    def until(now: float) -> bool:
        if now < end:
            return False
        for reg in driver.registers:
            if reg.state == "away":
                reg.come_back(now)
        return now >= deadline or all(reg.done for reg in driver.registers)

    driver.run(until, on_timer)
    for reg in driver.registers:
        reg.finish()
    return [reg.result() for reg in driver.registers]


def _worker(opt: SimOptions, indices: list[int], start_wall: float, seed: int, out: Any) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        out.put(("ok", [asdict(t) for t in run_slice(opt, indices, start_wall, seed)]))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        out.put(("error", f"{type(exc).__name__}: {exc}"))


# ---- the run -------------------------------------------------------------------------------------------------

def run(opt: SimOptions) -> dict[str, Any]:
    """Run the whole simulation and return the summary (see `summarize`)."""
    if opt.store_prefix is None:
        opt.store_prefix = f"SIM-{uuid.uuid4().hex[:6]}-"
    opt.check()
    seed = opt.seed if opt.seed is not None else random.getrandbits(32)
    ramp = opt.ramp if opt.ramp is not None else max(1.0, opt.registers / 200.0)
    procs = max(1, min(opt.processes, opt.registers or 1))
    start_wall = time.time() + (1.5 if procs > 1 else 0.2)  # spawned workers need a moment to import
    slices = [list(range(p, opt.registers, procs)) for p in range(procs)]
    real_runner = None
    if opt.real:
        from fleet.sim_real import RealRegisters

        real_runner = RealRegisters(opt, list(range(opt.registers, opt.registers + opt.real)), start_wall)
        real_runner.start()
    tallies: list[dict[str, Any]] = []
    errors: list[str] = []
    began = time.time()
    if procs == 1:
        tallies = [asdict(t) for t in run_slice(opt, slices[0], start_wall, seed)] if opt.registers else []
    else:
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        workers = [ctx.Process(target=_worker, args=(opt, s, start_wall, seed + n, out), daemon=True,
                               name=f"kassa-sim-{n}") for n, s in enumerate(slices)]
        for w in workers:
            w.start()
        limit = start_wall + opt.duration + opt.drain_timeout + 60.0
        reported = 0
        while reported < len(workers):
            try:
                status, value = out.get(timeout=1.0)
            except queue.Empty:
                if time.time() > limit:
                    errors.append(f"{len(workers) - reported} worker process(es) did not report back in time")
                    break
                if not any(w.is_alive() for w in workers) and out.empty():
                    errors.append(f"{len(workers) - reported} worker process(es) died without a report "
                                  f"(exit codes {', '.join(str(w.exitcode) for w in workers)})")
                    break
                continue
            reported += 1
            if status == "ok":
                tallies += value
            else:
                errors.append(value)
        for w in workers:
            w.join(5)
            if w.is_alive():
                w.terminate()
    if real_runner is not None:
        real_tallies, real_errors = real_runner.join(opt.duration + opt.drain_timeout + 60.0)
        tallies += real_tallies
        errors += real_errors
    elapsed = time.time() - began
    found = check_database(opt, tallies) if opt.db else None
    return summarize(opt, tallies, found, errors, elapsed, start_wall, ramp)


def check_database(opt: SimOptions, tallies: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare every receipt made with the fleet database: missing, extra, hash conflicts, and the conflicts table."""
    from fleet.db import FleetDb, is_postgres, sqlite_path

    assert opt.db is not None
    if not is_postgres(opt.db) and not sqlite_path(opt.db).exists():
        raise FleetUsageError(f"--db {opt.db}: no database there (is the ingest writing to it?)")
    made: dict[tuple[str, str, str, int], str] = {}
    for t in tallies:
        for n, h in enumerate(t["hashes"], start=1):
            made[(t["store"], t["register"], t["epoch"], n)] = h
    like = f"{opt.store_prefix}%".replace("_", "\\_")
    database = FleetDb(opt.db, pool_size=1, migrate=False)
    try:
        with database.db.transaction() as tx:
            rows = tx.rows("SELECT store, register, epoch, seq, hash FROM receipts WHERE store LIKE ? ESCAPE '\\'",
                           (like,))
            conflicts = tx.rows("SELECT store, register, epoch, seq FROM conflicts WHERE store LIKE ? ESCAPE '\\'",
                                (like,))
    finally:
        database.close()
    seen: Counter[tuple[str, str, str, int]] = Counter()
    wrong_hash = extra = 0
    for store, register, epoch, seq, digest in rows:
        key = (store, register, epoch, int(seq))
        seen[key] += 1
        want = made.get(key)
        if want is None:
            extra += 1
        elif want != digest:
            wrong_hash += 1
    missing = [k for k in made if k not in seen]
    return {"rows": len(rows), "found": sum(1 for k in made if seen.get(k) == 1), "missing": len(missing),
            "missing_examples": [":".join(map(str, k)) for k in missing[:5]], "extra": extra,
            "duplicates": sum(n - 1 for n in seen.values() if n > 1), "hash_mismatch": wrong_hash,
            "conflicts": len(conflicts)}


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100.0 * len(ordered)) - 1))]


def _per_second(stamps: list[float], origin: float) -> dict[str, Any]:
    if not stamps:
        return {"total": 0, "max_per_second": 0, "max_share": 0.0, "histogram": {}}
    buckets = Counter(int(s - origin) for s in stamps)
    top = max(buckets.values())
    return {"total": len(stamps), "max_per_second": top, "max_share": round(top / len(stamps), 4),
            "histogram": {str(k): buckets[k] for k in sorted(buckets)}}


def summarize(opt: SimOptions, tallies: list[dict[str, Any]], found: dict[str, Any] | None, errors: list[str],
              elapsed: float, origin: float, ramp: float) -> dict[str, Any]:
    made = sum(len(t["hashes"]) for t in tallies)
    confirmed = sum(t["confirmed"] for t in tallies)
    unconfirmed = sum(len(t["unconfirmed"]) for t in tallies)
    conflicted = sum(len(t["conflicted"]) for t in tallies)
    latencies = [x for t in tallies for x in t["latencies"]]
    counters = ("publishes", "resent_timeout", "resent_command", "resend_commands", "duplicate_acks", "foreign_acks",
                "heads", "hello_timeouts", "head_mismatches", "refused", "disconnects", "offline_drops")
    totals = {c: sum(t.get(c, 0) for t in tallies) for c in counters}
    ok = not errors and made > 0 and confirmed == made and unconfirmed == 0 and conflicted == 0 \
        and len(tallies) == opt.registers + opt.real
    if found is not None:
        ok = ok and found["found"] == made and found["missing"] == 0 and found["extra"] == 0 \
            and found["hash_mismatch"] == 0 and found["conflicts"] == 0
    worst = sorted(((len(t["unconfirmed"]), f"{t['store']}/{t['register']}") for t in tallies if t["unconfirmed"]),
                   reverse=True)[:5]
    per_broker: dict[str, dict[str, int]] = {url: {"registers": 0, "made": 0, "confirmed": 0} for url in opt.brokers}
    for t in tallies:
        row = per_broker.setdefault(t["broker"], {"registers": 0, "made": 0, "confirmed": 0})
        row["registers"] += 1
        row["made"] += len(t["hashes"])
        row["confirmed"] += t["confirmed"]
    return {
        "ok": ok,
        "store_prefix": opt.store_prefix,
        "registers": opt.registers, "real": opt.real, "processes": max(1, min(opt.processes, opt.registers or 1)),
        "brokers": list(opt.brokers), "elapsed_s": round(elapsed, 2), "ramp_s": ramp,
        "made": made, "confirmed": confirmed, "unconfirmed": unconfirmed, "conflicted": conflicted,
        "worst_unconfirmed": [f"{who}: {n}" for n, who in worst],
        "max_unconfirmed_per_register": max((t.get("max_unconfirmed", 0) for t in tallies), default=0),
        "latency_s": {"count": len(latencies), "p50": _round(_pct(latencies, 50)), "p99": _round(_pct(latencies, 99)),
                      "max": _round(max(latencies, default=None)),
                      "mean": _round(statistics.fmean(latencies) if latencies else None)},
        "connect_attempts": _per_second([x for t in tallies for x in t["connect_attempts"]], origin),
        "connects": _per_second([x for t in tallies for x in t["connects"]], origin),
        # after a lost link (broker restart, offline wave): where a herd would show
        "reconnects": _per_second([x for t in tallies for x in t["connects"][1:]], origin),
        **totals,
        "per_broker": per_broker,
        "database": found,
        "errors": errors,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def render(summary: dict[str, Any]) -> str:
    """The human-readable summary."""
    s = summary
    lat = s["latency_s"]
    conn, att = s["connects"], s["connect_attempts"]
    lines = [
        f"simulated {s['registers']} registers (+{s['real']} real) in {s['processes']} process(es) on "
        f"{len(s['brokers'])} broker(s), stores {s['store_prefix']}*, {s['elapsed_s']} s",
        f"receipts: {s['made']} made, {s['confirmed']} confirmed, {s['unconfirmed']} unconfirmed, "
        f"{s['conflicted']} conflicted (most in flight on one register: {s['max_unconfirmed_per_register']})",
        f"confirmation latency (publish -> ack): p50 {_ms(lat['p50'])}, p99 {_ms(lat['p99'])}, max {_ms(lat['max'])}",
        f"connects: {conn['total']} ({att['total']} attempts); busiest second {conn['max_per_second']} connects = "
        f"{conn['max_share']:.1%} of all (attempts: {att['max_per_second']} = {att['max_share']:.1%}); "
        f"first connects spread over {s['ramp_s']:.1f} s",
        f"reconnects: {s['reconnects']['total']}; busiest second {s['reconnects']['max_per_second']} = "
        f"{s['reconnects']['max_share']:.1%} of them",
        f"link: {s['disconnects']} disconnects, {s['offline_drops']} dropped by the offline wave, "
        f"{s['heads']} head answers, {s['hello_timeouts']} hello timeouts, "
        f"{s['head_mismatches']} head mismatches; sends: {s['publishes']} publishes, {s['resent_timeout']} re-sent "
        f"after the timeout, {s['resent_command']} on {s['resend_commands']} resend commands, "
        f"{s['duplicate_acks']} duplicate confirmations",
    ]
    if len(s["per_broker"]) > 1:
        lines.append("brokers: " + "; ".join(f"{url}: {b['registers']} registers, {b['confirmed']}/{b['made']} "
                                             f"confirmed" for url, b in s["per_broker"].items()))
    if s["worst_unconfirmed"]:
        lines.append("unconfirmed: " + ", ".join(s["worst_unconfirmed"]))
    db = s["database"]
    if db is not None:
        lines.append(f"fleet database: {db['found']} of {s['made']} found exactly once with the same hash; "
                     f"missing {db['missing']}, extra {db['extra']}, hash mismatch {db['hash_mismatch']}, "
                     f"conflicts {db['conflicts']}" + (f" (e.g. {', '.join(db['missing_examples'])})"
                                                       if db["missing_examples"] else ""))
    else:
        lines.append("fleet database: not checked (give --db)")
    for err in s["errors"]:
        lines.append(f"error: {err}")
    if s["ok"]:
        lines.append("OK: everything made was confirmed" + (" and found" if db is not None else ""))
    elif not s["made"]:
        lines.append("FAILED: no receipts were made (give --rate and --duration, or --backlog)")
    else:
        lines.append("FAILED: not everything made was confirmed" + (" and found" if db is not None else ""))
    return "\n".join(lines)


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f} ms"


def to_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2)


__all__ = ["FleetError", "SimOptions", "check_database", "render", "run", "run_slice", "summarize", "to_json"]
