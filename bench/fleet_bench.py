"""Fleet benchmark (not a test): live latency, a reconnect storm with a backlog, CPU per receipt, one baseline.

    .venv/bin/pip install -e '.[bench]'      # matplotlib, for the plots
    .venv/bin/python bench/fleet_bench.py                              # 1,000 registers, 100k backlog
    .venv/bin/python bench/fleet_bench.py --registers 200 --backlog 20000 --live-duration 40 --gap-receipts 50000

Everything runs in one go on this machine, and every ratio is against a baseline measured in the same run:

- **Live.** `--registers` emulated registers (`kassa-fleet simulate`'s lean emulator, `--sim-processes`
  processes), one receipt per `1/--rate` s each, `--workers` ingest processes (`python -m fleet.cli ingest
  --db postgresql://...`) on a throwaway PostgreSQL cluster (tests/support/postgres.py) behind one Mosquitto.
  Figure: confirmation latency (publish -> confirmation on the register's acks topic), p50/p99 (target
  p99 < 1 s).
- **Storm.** The same registers start while the broker is down and make `--backlog` receipts in total
  offline; when they are made and `--outage` s (15 by default, and at least the emulator's start-up ramp)
  have passed, the broker comes back (a fresh
  Mosquitto on the same port), the ingest workers start, and everything drains. The registers re-send what
  stays unconfirmed after `--resend-after` s (300, the firmware's default: shorter than the drain, re-sends
  pile onto the busiest moment and show as duplicate confirmations). Figures: every receipt stored exactly
  once (the simulator's hash check against the database, and the bench's own count of rows and distinct
  keys) and confirmed exactly once (no duplicate confirmation at the registers), the drain rate against the
  baseline, and connects per second (target: no second holds more than 20% of the registers' connects).
- **What the ratio measures** is printed with it: the CPU ceiling of all parts together on this machine's
  cores, the fleet side's alone, and the cap the reconnect spread puts on draining a backlog per register.
- **Baseline.** The storm's rows, read back, inserted into a fresh database with the same schema (made by
  `fleet.db.FleetDb(url)`) by bare psycopg: `executemany ... ON CONFLICT DO NOTHING` in batches of 1,000,
  one commit per batch, one connection (the headline baseline: target drain >= 50% of it), and COPY in
  chunks of 10,000; PostgreSQL's CPU per row is taken for both, beside the ingest's.
- **CPU per receipt** of each part, from /proc/<pid>/stat utime+stime before and after each phase: the
  emulator (its process tree, from wait4's rusage when it exits, less what it had used when the broker came
  back: the Storm's figure is the drain's, making the backlog is reported apart; it includes its final
  database check), the broker, the ingest workers, and PostgreSQL (the postmaster's own and reaped children's
  time plus its live children's; a backend that exits inside the phase is counted through the postmaster).
- **Gap check** (SQLite, `--gap-receipts`, 0 skips it): `FleetDb.gaps()` after the first call against the
  window query over every receipt that a full check needs.

Plots (`--plots`, docs/plots by default, matplotlib's Agg backend): fleet-drain.png (confirmed receipts over
time in the storm), fleet-latency.png (live confirmation latency), fleet-connects.png (connects per second in
the storm). Every figure is printed and the whole summary is written as JSON (`--json`).

The machine's other load shows in every figure: read the ratios, and rerun on an idle machine for absolutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TICK = os.sysconf("SC_CLK_TCK")


# ---- /proc -------------------------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_of(pid: int, *, reaped_children: bool = False) -> float:
    """utime+stime of one process in seconds (plus cutime+cstime: its children it has waited for)."""
    f = _stat(pid)
    if f is None:
        return 0.0
    # after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if reaped_children else 0)
    return ticks / TICK


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat(int(entry))
            if f is not None and int(f[1]) == pid:
                found.append(int(entry))
    return found


def tree_cpu(pid: int) -> float:
    """A process's time with its reaped children's, plus every live descendant's own."""
    total = cpu_of(pid, reaped_children=True)
    for child in children_of(pid):
        total += tree_cpu(child)
    return total


# ---- the simulator child (the bench re-invokes itself, to keep the raw latencies and connect times) -----------

def child_simulate(spec_path: str, out_path: str) -> int:
    import fleet.simulate as simulate
    from fleet.sim_device import DeviceOptions

    spec = json.loads(Path(spec_path).read_text())
    device = DeviceOptions(**spec.pop("device"))
    spec["brokers"] = tuple(spec["brokers"])
    opt = simulate.SimOptions(**spec, device=device)
    raw: dict[str, Any] = {}
    summarize = simulate.summarize

    def keep(opt_: Any, tallies: list[dict[str, Any]], *a: Any, **kw: Any) -> dict[str, Any]:
        raw["latencies"] = [x for t in tallies for x in t["latencies"]]
        raw["connects"] = sorted(x for t in tallies for x in t["connects"])
        raw["attempts"] = sorted(x for t in tallies for x in t["connect_attempts"])
        return summarize(opt_, tallies, *a, **kw)

    simulate.summarize = keep  # run() calls it by its module name
    summary = simulate.run(opt)
    Path(out_path).write_text(json.dumps({"summary": summary, **raw}))
    return 0 if summary["ok"] else 1


# ---- the pieces ------------------------------------------------------------------------------------------------

class Ingest:
    """N `python -m fleet.cli ingest` processes on one database and one broker."""

    def __init__(self, workdir: Path, db: str, broker: str, n: int, tag: str) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        for i in range(n):
            log = workdir / f"ingest-{tag}-{i}.log"
            self.logs.append(log)
            with open(log, "wb") as err:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "fleet.cli", "ingest", "--db", db, "--broker", broker,
                     "--client-id", f"bench-{tag}-{i}", "--unsigned"],  # the emulated registers pin no fleet key
                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL))

    def wait_subscribed(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not all("subscribed to" in log.read_text(errors="replace") for log in self.logs):
            for proc, log in zip(self.procs, self.logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"an ingest worker exited: {log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the ingest workers did not subscribe in time")
            time.sleep(0.1)

    def cpu(self) -> float:
        return sum(cpu_of(p.pid) for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


class Simulator:
    """The emulator as a child process; its CPU comes from wait4's rusage (its whole reaped tree)."""

    def __init__(self, workdir: Path, spec: dict[str, Any], tag: str) -> None:
        self.spec_path, self.out_path = workdir / f"sim-{tag}.json", workdir / f"sim-{tag}-out.json"
        self.spec_path.write_text(json.dumps(spec))
        self.log = workdir / f"sim-{tag}.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child-simulate",
                                          str(self.spec_path), str(self.out_path)], cwd=ROOT,
                                         stdout=err, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.cpu_s: float | None = None
        self.returncode: int | None = None

    def poll(self) -> bool:
        """True once the simulator has exited (and was reaped here, with its CPU time)."""
        if self.returncode is not None:
            return True
        pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.returncode = self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_s = ru.ru_utime + ru.ru_stime
        return True

    def live_cpu(self) -> float:
        return 0.0 if self.returncode is not None else tree_cpu(self.proc.pid)

    def wait(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.poll():
            if time.monotonic() > deadline:
                self.proc.kill()
                self.poll() or time.sleep(1) or self.poll()
                raise RuntimeError(f"the simulator did not finish in time; see {self.log}")
            time.sleep(0.2)
        if not self.out_path.exists():
            raise RuntimeError(f"the simulator failed: {self.log.read_text(errors='replace')[-3000:]}")
        return json.loads(self.out_path.read_text())


def pg_cpu(pg: Any) -> float:
    pid = pg._postmaster_pid()
    return tree_cpu(pid) if pid else 0.0


def snapshot(pg: Any, broker: Any, ingest: Ingest | None) -> dict[str, float]:
    return {"broker": cpu_of(broker.proc.pid) if broker.proc and broker.proc.poll() is None else 0.0,
            "ingest": ingest.cpu() if ingest else 0.0, "postgres": pg_cpu(pg)}


def per_receipt(before: dict[str, float], after: dict[str, float], emulator_s: float, n: int) -> dict[str, Any]:
    seconds = {k: round(after[k] - before[k], 3) for k in after}
    seconds["emulator"] = round(emulator_s, 3)
    return {"cpu_s": seconds, "receipts": n,
            "cpu_us_per_receipt": {k: round(v / n * 1e6, 1) if n else None for k, v in seconds.items()}}


def sim_spec(opt: argparse.Namespace, broker: str, db: str, prefix: str, **kw: Any) -> dict[str, Any]:
    spec = {"registers": opt.registers, "processes": opt.sim_processes, "brokers": [broker], "db": db,
            "store_prefix": prefix, "seed": opt.seed,
            "device": {"window": opt.window, "resend_after": opt.resend_after, "hello_timeout": 10.0}}
    spec.update(kw)
    return spec


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100.0 * len(ordered)) - 1))]


def query(url: str, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, args).fetchall()


def epoch_s(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# ---- sections --------------------------------------------------------------------------------------------------

def gap_section(receipts: int, registers: int = 10) -> dict[str, Any]:
    """The ingest's periodic gap check against a full scan of the receipts (SQLite)."""
    from fleet.db import FleetDb, ReceiptRow

    full_scan = ("SELECT seq, next FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next FROM receipts "
                 "WHERE store=? AND register=? AND epoch=?) WHERE next > seq + 1")
    where = Path(tempfile.mkdtemp(prefix="kassa-fleet-bench-gaps-"))
    db = FleetDb(f"sqlite:///{where / 'fleet.db'}")
    body, per, step = "x" * 1400, receipts // registers, max(1, 200 // registers)
    for start in range(1, per + 1, step):
        seqs = range(start, min(per, start + step - 1) + 1)
        db.store_batch([ReceiptRow(f"R{r}:e1:{q}", "S001", f"R{r}", "e1", q, "sale", "2026-11-25T10:00:00Z", 100,
                                   body) for r in range(registers) for q in seqs], [], [], [], [],
                       "2026-11-25T10:00:01Z")

    def timed(fn: Any) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    first = timed(db.gaps)
    later = statistics.median([timed(db.gaps) for _ in range(20)]) * 1000
    full = statistics.median([timed(lambda: [db.conn.execute(full_scan, s).fetchall() for s in db.epochs()])
                              for _ in range(3)]) * 1000
    db.close()
    shutil.rmtree(where, ignore_errors=True)
    return {"receipts": per * registers, "first_ms": round(first * 1000, 1), "later_ms": round(later, 2),
            "full_scan_ms": round(full, 1), "ratio": round(later / full, 4)}


def live_section(opt: argparse.Namespace, pg: Any, work: Path, db: str) -> dict[str, Any]:
    from tests.support.mosquitto import Mosquitto

    broker = Mosquitto(work / "broker-live").start()
    ingest = Ingest(work, db, broker.url, opt.workers, "live")
    try:
        ingest.wait_subscribed()
        before = snapshot(pg, broker, ingest)
        prefix = f"LV{uuid.uuid4().hex[:4]}-"
        sim = Simulator(work, sim_spec(opt, broker.url, db, prefix, rate=opt.rate, duration=opt.live_duration,
                                       drain_timeout=60.0), "live")
        out = sim.wait(opt.live_duration + 300)
        after = snapshot(pg, broker, ingest)
    finally:
        ingest.stop()
        broker.kill()
    s = out["summary"]
    lat = out["latencies"]
    return {"registers": opt.registers, "rate_per_register": opt.rate, "duration_s": opt.live_duration,
            "made": s["made"], "confirmed": s["confirmed"], "ok": s["ok"],
            "latency_s": {"count": len(lat), "p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99),
                          "max": max(lat, default=None)},
            "p99_under_1s": (pct(lat, 99) or 99.0) < 1.0,
            "database": s["database"], "errors": s["errors"], "duplicate_acks": s["duplicate_acks"],
            "cpu": per_receipt(before, after, sim.cpu_s or 0.0, s["made"]), "_latencies": lat}


def storm_section(opt: argparse.Namespace, pg: Any, work: Path, db: str) -> dict[str, Any]:
    from tests.support.mosquitto import Mosquitto
    from tests.support.net import free_port

    per = max(1, opt.backlog // opt.registers)
    broker = Mosquitto(work / "broker-storm", port=free_port())  # not started: the outage
    prefix = f"ST{uuid.uuid4().hex[:4]}-"
    before_pg = pg_cpu(pg)
    sim = Simulator(work, sim_spec(opt, broker.url, db, prefix, rate=0.0, duration=1.0, backlog=per,
                                   drain_timeout=opt.drain_timeout), "storm")
    ingest: Ingest | None = None
    try:
        # the outage lasts until every register has made its backlog: the simulator's CPU goes quiet
        t0, last, quiet = time.monotonic(), sim.live_cpu(), 0
        while time.monotonic() - t0 < 600:
            time.sleep(1.0)
            if sim.poll():
                raise RuntimeError(f"the simulator ended during the outage: {sim.log.read_text()[-2000:]}")
            now_cpu = sim.live_cpu()
            quiet = quiet + 1 if now_cpu - last < 0.25 else 0
            last = now_cpu
            if quiet >= 2 and time.monotonic() - t0 > 3:
                break
        at_least = max(opt.outage, opt.registers / 200.0 + 5.0)  # past the emulator's start-up ramp (SimOptions.ramp)
        while time.monotonic() - t0 < at_least:  # at least this long: the registers' backoff grows meanwhile
            time.sleep(0.2)
        outage = time.monotonic() - t0
        emulator_before = sim.live_cpu()  # making the backlog and waiting out the outage: not the drain's
        back = time.time()  # the broker is back from here (start() returns once it listens)
        broker.start()
        ingest = Ingest(work, db, broker.url, opt.workers, "storm")
        before = {"broker": cpu_of(broker.proc.pid), "ingest": 0.0, "postgres": before_pg}
        ingest.wait_subscribed()
        subscribed = time.time()
        out = sim.wait(opt.drain_timeout + 120)
        after = snapshot(pg, broker, ingest)
    finally:
        if ingest is not None:
            ingest.stop()
        broker.kill()
    s = out["summary"]
    like = prefix + "%"
    rows, distinct = query(db, "SELECT COUNT(*), COUNT(DISTINCT (store, register, epoch, seq)) FROM receipts "
                               "WHERE store LIKE %s", (like,))[0]
    conflicts = query(db, "SELECT COUNT(*) FROM conflicts WHERE store LIKE %s", (like,))[0][0]
    commits = sorted((epoch_s(at), n) for at, n in query(
        db, "SELECT ingested_at, COUNT(*) FROM receipts WHERE store LIKE %s GROUP BY ingested_at", (like,)))
    first, last_commit = commits[0][0], commits[-1][0]
    cum, curve = 0, []
    for at, n in commits:
        cum += n
        curve.append((round(at - back, 3), cum))
    ten = next(t for t, c in curve if c >= 0.1 * cum)
    ninety = next(t for t, c in curve if c >= 0.9 * cum)
    connects = [x - back for x in out["connects"]]
    attempts = [x - back for x in out["attempts"]]
    buckets: dict[int, int] = {}
    for x in connects:
        buckets[math.floor(x)] = buckets.get(math.floor(x), 0) + 1
    busiest = max(buckets.values(), default=0)
    size = query(db, "SELECT pg_total_relation_size('receipts')")[0][0]
    cpu = per_receipt(before, after, max(0.0, (sim.cpu_s or 0.0) - emulator_before), s["made"])
    cpu["emulator_outage_s"] = round(emulator_before, 3)  # making the backlog offline (sales, hash chains)
    us = cpu["cpu_us_per_receipt"]
    fleet_us = sum(us[k] or 0.0 for k in ("ingest", "broker", "postgres"))
    cores = os.cpu_count() or 1
    cpu["fleet_side_us_per_receipt"] = round(fleet_us, 1)
    # what the drain could reach if the fleet's parts had this machine's cores to themselves (no emulator)
    cpu["fleet_side_ceiling_per_s"] = round(cores * 1e6 / fleet_us, 1) if fleet_us else None
    cpu["all_parts_ceiling_per_s"] = round(cores * 1e6 / (fleet_us + (us["emulator"] or 0.0)), 1) if fleet_us else None
    return {
        "registers": opt.registers, "backlog": per * opt.registers, "per_register": per, "outage_s": round(outage, 1),
        "made": s["made"], "confirmed": s["confirmed"], "ok": s["ok"],
        # stored once: one row per receipt made, each with the register's hash (the simulator's check), no
        # conflicts; confirmed once: the registers saw no second confirmation (one comes after every re-send)
        "stored_exactly_once": bool(s["ok"] and rows == distinct == s["made"] and conflicts == 0
                                    and s["database"]["found"] == s["made"]),
        "confirmed_exactly_once": bool(s["ok"] and s["confirmed"] == s["made"] and s["duplicate_acks"] == 0),
        "db_rows": rows, "db_distinct_keys": distinct, "db_conflicts": conflicts, "database_check": s["database"],
        "duplicate_acks": s["duplicate_acks"], "resent_timeout": s["resent_timeout"], "publishes": s["publishes"],
        "ingest_subscribed_after_s": round(subscribed - back, 2),
        "first_commit_after_s": round(first - back, 2), "last_commit_after_s": round(last_commit - back, 2),
        "drain_rate": {"from_broker_back": round(rows / (last_commit - back), 1),
                       "first_to_last_commit": round(rows / max(1e-3, last_commit - first), 1),
                       "p10_to_p90": round(0.8 * rows / max(1e-3, ninety - ten), 1)},
        "connects": {"total": len(connects), "attempts": len(attempts), "busiest_second": busiest,
                     "busiest_share_of_registers": round(busiest / opt.registers, 4),
                     "under_20pct": busiest <= 0.2 * opt.registers, "last_after_s": round(max(connects, default=0), 2)},
        "latency_s": {"p50": pct(out["latencies"], 50), "p99": pct(out["latencies"], 99)},
        "receipts_table_bytes": size, "bytes_per_receipt": round(size / max(1, rows)),
        "cpu": cpu, "errors": s["errors"], "prefix": prefix,
        "_curve": curve, "_connects": connects, "_attempts": attempts,
    }


def bare_section(pg: Any, source_db: str, prefix: str) -> dict[str, Any]:
    """The storm's rows into a fresh database with the same schema, by bare psycopg."""
    import psycopg

    from fleet.db import FleetDb

    pg.psql("CREATE DATABASE fleet_bare")
    url = pg.url.rsplit("/", 1)[0] + "/fleet_bare"
    FleetDb(url).close()  # the same schema, the same migrations
    rows = query(source_db, "SELECT * FROM receipts WHERE store LIKE %s ORDER BY store, register, epoch, seq",
                 (prefix + "%",))
    marks = ",".join(["%s"] * len(rows[0]))
    out: dict[str, Any] = {"rows": len(rows)}
    with psycopg.connect(url) as conn:
        cpu, t = pg_cpu(pg), time.perf_counter()
        for i in range(0, len(rows), 1000):
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO receipts VALUES ({marks}) ON CONFLICT DO NOTHING", rows[i:i + 1000])
            conn.commit()
        out["executemany_1000_rows_per_s"] = round(len(rows) / (time.perf_counter() - t), 1)
        out["executemany_postgres_us_per_row"] = round((pg_cpu(pg) - cpu) / len(rows) * 1e6, 1)
        conn.execute("TRUNCATE receipts")
        conn.commit()
        cpu, t = pg_cpu(pg), time.perf_counter()
        for i in range(0, len(rows), 10_000):
            with conn.cursor() as cur, cur.copy("COPY receipts FROM STDIN") as copy:
                for row in rows[i:i + 10_000]:
                    copy.write_row(row)
            conn.commit()
        out["copy_10000_rows_per_s"] = round(len(rows) / (time.perf_counter() - t), 1)
        out["copy_postgres_us_per_row"] = round((pg_cpu(pg) - cpu) / len(rows) * 1e6, 1)
    return out


# ---- projection ------------------------------------------------------------------------------------------------

def projection(live: dict[str, Any] | None, storm: dict[str, Any] | None, registers: int = 50_000,
               rate: float = 0.1, receipts_per_day: int = 300) -> dict[str, Any]:
    """50,000 registers from the CPU-per-receipt figures.

    Two bounds: `trickle` uses the Live figures (a few receipts per batch and commit, plus every idle cost:
    keepalives, status, gap checks, spread over few receipts), `batched` the Storm's (full batches, COPY).
    At 5,000 receipts/s over a handful of workers with 10 ms batch windows a batch holds tens of receipts, so
    the real cost lies between; size with `trickle` for headroom."""
    res: dict[str, Any] = {"registers": registers, "peak_receipts_per_s": registers * rate,
                           "assumptions": {"rate_per_register": rate, "typical_receipts_per_register_day":
                                           receipts_per_day, "ingest_worker_core_budget": 0.6,
                                           "broker_node_core_budget": 0.5, "connections_per_broker_node": 25_000}}
    for name, section in (("trickle", live), ("batched", storm)):
        if not section:
            continue
        us = section["cpu"]["cpu_us_per_receipt"]
        cores = {k: round((us[k] or 0) * 1e-6 * registers * rate, 2) for k in ("ingest", "broker", "postgres",
                                                                              "emulator")}
        res[name] = {"cpu_us_per_receipt": us, "cores_at_peak": cores,
                     "ingest_workers": max(2, math.ceil(cores["ingest"] / 0.6)),
                     "broker_nodes": max(math.ceil(cores["broker"] / 0.5), math.ceil(registers / 25_000)),
                     "postgres_cores": cores["postgres"]}
    if storm:
        res["bytes_per_receipt"] = storm["bytes_per_receipt"]
        res["db_gb_per_day_typical"] = round(storm["bytes_per_receipt"] * registers * receipts_per_day / 1e9, 2)
        res["db_gb_per_day_at_peak_rate_12h"] = round(storm["bytes_per_receipt"] * registers * rate * 12 * 3600
                                                      / 1e9, 1)
    return res


# ---- plots -----------------------------------------------------------------------------------------------------

def plots(where: Path, live: dict[str, Any] | None, storm: dict[str, Any] | None, tag: str) -> list[str]:
    try:
        import matplotlib
    except ImportError:
        print("no plots: matplotlib is missing (pip install -e '.[bench]')")
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    where.mkdir(parents=True, exist_ok=True)
    made = []
    if storm:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        xs, ys = [t for t, _c in storm["_curve"]], [c for _t, c in storm["_curve"]]
        ax.step(xs, ys, where="post", label="confirmed (committed) receipts")
        ax.axhline(storm["backlog"], color="grey", ls=":", lw=1, label=f"backlog {storm['backlog']:,}")
        ax.axvline(storm["ingest_subscribed_after_s"], color="tab:orange", ls="--", lw=1,
                   label="ingest workers subscribed")
        ax.set_xlabel("seconds after the broker came back")
        ax.set_ylabel("receipts in the fleet database")
        ax.set_title(f"Storm drain: {storm['registers']:,} registers, "
                     f"{storm['drain_rate']['first_to_last_commit']:,.0f} receipts/s ({tag})", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(where / "fleet-drain.png", dpi=110)
        plt.close(fig)
        made.append(str(where / "fleet-drain.png"))

        fig, ax = plt.subplots(figsize=(7, 3.6))
        span = int(max(storm["_connects"] + storm["_attempts"] + [1])) + 1
        lo = int(min(storm["_attempts"] + storm["_connects"] + [0]))
        bins = list(range(min(lo, 0), span + 1))
        ax.hist([a for a in storm["_attempts"]], bins=bins, alpha=0.4, label="connect attempts", color="tab:grey")
        ax.hist(storm["_connects"], bins=bins, alpha=0.8, label="accepted connects (CONNACK)", color="tab:blue")
        ax.axhline(0.2 * storm["registers"], color="tab:red", ls="--", lw=1, label="20% of the registers")
        ax.set_xlabel("second after the broker came back (negative: while it was down)")
        ax.set_ylabel("per second")
        ax.set_title(f"Reconnect storm: busiest second {storm['connects']['busiest_second']} connects = "
                     f"{storm['connects']['busiest_share_of_registers']:.1%} of the registers ({tag})", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(where / "fleet-connects.png", dpi=110)
        plt.close(fig)
        made.append(str(where / "fleet-connects.png"))
    if live and live["_latencies"]:
        lat_ms = sorted(x * 1000 for x in live["_latencies"])
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        top = max(lat_ms)
        ax.hist(lat_ms, bins=60, range=(0, min(top, 4 * (live["latency_s"]["p99"] or 1) * 1000)), color="tab:blue")
        for name, q, color in (("p50", "p50", "tab:green"), ("p99", "p99", "tab:red")):
            v = live["latency_s"][q] * 1000
            ax.axvline(v, color=color, ls="--", lw=1, label=f"{name} {v:.0f} ms")
        ax.set_xlabel("publish -> confirmation, ms")
        ax.set_ylabel("receipts")
        ax.legend(fontsize=8)
        ax2.plot(lat_ms, [i / len(lat_ms) for i in range(1, len(lat_ms) + 1)])
        ax2.axvline(1000, color="tab:red", ls=":", lw=1, label="target p99 < 1 s")
        ax2.set_xscale("log")
        ax2.set_xlabel("ms (log)")
        ax2.set_ylabel("fraction confirmed within")
        ax2.legend(fontsize=8)
        ax2.grid(alpha=0.3)
        fig.suptitle(f"Live: {live['registers']:,} registers, one receipt per {1 / live['rate_per_register']:.0f} s "
                     f"each, {live['latency_s']['count']:,} receipts ({tag})", fontsize=10)
        fig.tight_layout()
        fig.savefig(where / "fleet-latency.png", dpi=110)
        plt.close(fig)
        made.append(str(where / "fleet-latency.png"))
    return made


# ---- main ------------------------------------------------------------------------------------------------------

def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-simulate":
        return child_simulate(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registers", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=0.1, help="live: receipts per register per second")
    ap.add_argument("--live-duration", type=float, default=60.0, help="live: seconds of selling")
    ap.add_argument("--backlog", type=int, default=100_000, help="storm: receipts pending in total")
    ap.add_argument("--outage", type=float, default=15.0,
                    help="storm: the broker stays down at least this long (s) and until the backlog is made; at "
                         "least the emulator's start-up ramp (registers/200 s), so every register has lost the "
                         "broker and is in its reconnect rule when it returns")
    ap.add_argument("--drain-timeout", type=float, default=900.0)
    ap.add_argument("--workers", type=int, default=2, help="ingest worker processes")
    ap.add_argument("--sim-processes", type=int, default=2, help="emulator processes")
    ap.add_argument("--window", type=int, default=500, help="broker.max_unconfirmed of each register")
    ap.add_argument("--resend-after", type=float, default=300.0,
                    help="s before a register re-sends an unconfirmed receipt (the firmware's default: 300)")
    ap.add_argument("--gap-receipts", type=int, default=300_000, help="gap-check section on SQLite (0: skip)")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-storm", action="store_true")
    ap.add_argument("--plots", type=Path, default=ROOT / "docs" / "plots", help="where the PNGs go ('' : none)")
    ap.add_argument("--json", type=Path, default=None, help="summary file [$TMPDIR/fleet-bench.json]")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--keep", action="store_true", help="keep the workdir (logs, broker stores)")
    opt = ap.parse_args()

    from tests.support.postgres import Postgres

    work = Path(tempfile.mkdtemp(prefix="kassa-fleet-bench-"))
    print(f"workdir {work}", flush=True)
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(opt).items()}, "cpus": os.cpu_count(),
                              "loadavg_start": os.getloadavg()}
    if opt.gap_receipts:
        g = gap_section(opt.gap_receipts)
        result["gaps"] = g
        print(f"[gaps] {g['receipts']:,} receipts (SQLite): first gaps() {g['first_ms']} ms, later checks "
              f"{g['later_ms']} ms, baseline full scan {g['full_scan_ms']} ms, ratio {g['ratio']}", flush=True)
    pg = Postgres().start()
    live = storm = None
    try:
        base = pg.url.rsplit("/", 1)[0]

        def fresh(name: str) -> str:
            pg.psql(f"CREATE DATABASE {name}")
            url = f"{base}/{name}"
            subprocess.run([sys.executable, "-m", "fleet.cli", "migrate", "--db", url], cwd=ROOT, check=True,
                           capture_output=True)
            return url

        if not opt.skip_live:
            live = live_section(opt, pg, work, fresh("fleet_live"))
            lat = live["latency_s"]
            c = live["cpu"]["cpu_us_per_receipt"]
            print(f"[live] {opt.registers} registers x {opt.rate}/s for {opt.live_duration:.0f} s, {opt.workers} "
                  f"workers: {live['made']} made, {live['confirmed']} confirmed, ok={live['ok']}; latency p50 "
                  f"{lat['p50'] * 1000:.0f} ms, p90 {lat['p90'] * 1000:.0f} ms, p99 {lat['p99'] * 1000:.0f} ms, max "
                  f"{lat['max'] * 1000:.0f} ms (target p99 < 1 s: {'met' if live['p99_under_1s'] else 'MISSED'})",
                  flush=True)
            print(f"[live] CPU per receipt (us): emulator {c['emulator']}, broker {c['broker']}, ingest "
                  f"{c['ingest']}, postgres {c['postgres']}  (s: {live['cpu']['cpu_s']})", flush=True)
        if not opt.skip_storm:
            storm = storm_section(opt, pg, work, fresh("fleet_storm"))
            bare = bare_section(pg, storm.pop("_db", None) or f"{base}/fleet_storm", storm["prefix"])
            storm["baseline"] = bare
            d = storm["drain_rate"]
            storm["ratio_vs_executemany"] = round(d["first_to_last_commit"] / bare["executemany_1000_rows_per_s"], 3)
            storm["ratio_vs_copy"] = round(d["first_to_last_commit"] / bare["copy_10000_rows_per_s"], 3)
            storm["ratio_from_broker_back_vs_executemany"] = round(
                d["from_broker_back"] / bare["executemany_1000_rows_per_s"], 3)
            storm["ratio_p10_p90_vs_executemany"] = round(d["p10_to_p90"] / bare["executemany_1000_rows_per_s"], 3)
            c, cn = storm["cpu"]["cpu_us_per_receipt"], storm["connects"]
            print(f"[storm] {storm['registers']} registers, {storm['backlog']:,} pending after a "
                  f"{storm['outage_s']} s outage: {storm['made']} made, {storm['confirmed']} confirmed; database "
                  f"{storm['db_rows']} rows, {storm['db_distinct_keys']} distinct keys, {storm['db_conflicts']} "
                  f"conflicts; stored exactly once: {storm['stored_exactly_once']}; confirmed exactly once: "
                  f"{storm['confirmed_exactly_once']} ({storm['duplicate_acks']} duplicate confirmations after "
                  f"{storm['resent_timeout']} re-sends on the {opt.resend_after:.0f} s timeout)", flush=True)
            print(f"[storm] ingest subscribed {storm['ingest_subscribed_after_s']} s after the broker came back, "
                  f"first commit {storm['first_commit_after_s']} s, last {storm['last_commit_after_s']} s", flush=True)
            print(f"[storm] drain {d['first_to_last_commit']:,.0f} receipts/s first->last commit "
                  f"({d['from_broker_back']:,.0f}/s from the broker's return, {d['p10_to_p90']:,.0f}/s 10%->90%); "
                  f"baseline bare psycopg executemany x1000 {bare['executemany_1000_rows_per_s']:,.0f}/s, COPY "
                  f"{bare['copy_10000_rows_per_s']:,.0f}/s (PostgreSQL CPU per row: ingest "
                  f"{storm['cpu']['cpu_us_per_receipt']['postgres']} us, executemany "
                  f"{bare['executemany_postgres_us_per_row']} us, COPY {bare['copy_postgres_us_per_row']} us); "
                  f"ratio {storm['ratio_vs_executemany']:.0%} of executemany "
                  f"(target >= 50%: {'met' if storm['ratio_vs_executemany'] >= 0.5 else 'MISSED'}), "
                  f"{storm['ratio_vs_copy']:.0%} of COPY; 10%->90%: {storm['ratio_p10_p90_vs_executemany']:.0%} of "
                  f"executemany", flush=True)
            print(f"[storm] connects: {cn['total']} ({cn['attempts']} attempts), busiest second {cn['busiest_second']}"
                  f" = {cn['busiest_share_of_registers']:.1%} of the registers (target <= 20%: "
                  f"{'met' if cn['under_20pct'] else 'MISSED'}), last {cn['last_after_s']} s after", flush=True)
            sc = storm["cpu"]
            print(f"[storm] CPU per receipt in the drain (us): emulator {c['emulator']}, broker {c['broker']}, ingest "
                  f"{c['ingest']}, postgres {c['postgres']}  (s: {sc['cpu_s']}; the emulator spent "
                  f"{sc['emulator_outage_s']} s more making the backlog during the outage); receipts table "
                  f"{storm['bytes_per_receipt']} bytes/receipt", flush=True)
            print(f"[storm] what the ratio measures: on {os.cpu_count()} shared cores the drain is bound by the CPU of "
                  f"every part together, about {sc['all_parts_ceiling_per_s']:,.0f}/s at these costs; the fleet's own "
                  f"parts (ingest + broker + postgres = {sc['fleet_side_us_per_receipt']} us/receipt) alone would "
                  f"allow ~{sc['fleet_side_ceiling_per_s']:,.0f}/s = "
                  f"{sc['fleet_side_ceiling_per_s'] / bare['executemany_1000_rows_per_s']:.0%} of the bare "
                  f"executemany, which pays for none of MQTT, the emulator or the ledger's checks; and no drain ends "
                  f"before the last register is back ({cn['last_after_s']} s after the broker: the reconnect spread "
                  f"caps a drain of {storm['per_register']} receipts per register at ~"
                  f"{storm['backlog'] / max(1e-3, cn['last_after_s']):,.0f}/s)", flush=True)
    finally:
        pg.remove()
    result["live"], result["storm"] = live, storm
    result["projection_50k"] = projection(live, storm)
    p = result["projection_50k"]
    for name in ("trickle", "batched"):
        if name in p:
            q = p[name]
            print(f"[projection] 50,000 registers at {p['assumptions']['rate_per_register']}/s each = "
                  f"{p['peak_receipts_per_s']:,.0f} receipts/s, {name} costs: cores {q['cores_at_peak']}, ingest "
                  f"workers {q['ingest_workers']}, broker nodes {q['broker_nodes']}")
    if "bytes_per_receipt" in p:
        print(f"[projection] database {p['db_gb_per_day_typical']} GB/day at "
              f"{p['assumptions']['typical_receipts_per_register_day']} receipts/register/day "
              f"({p['db_gb_per_day_at_peak_rate_12h']} GB for 12 h at the peak rate), "
              f"{p['bytes_per_receipt']} bytes/receipt")
    tag = f"{os.cpu_count()} cores, shared"
    if str(opt.plots):
        for path in plots(opt.plots, live, storm, tag):
            print(f"plot {path}")
    result["loadavg_end"] = os.getloadavg()
    for section in (live, storm):
        if section:
            for k in [k for k in section if k.startswith("_")]:
                section.pop(k)
    out = opt.json or Path(tempfile.gettempdir()) / "fleet-bench.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"summary {out}")
    if not opt.keep:
        shutil.rmtree(work, ignore_errors=True)  # broker stores, ingest and simulator logs
    ok = (not live or (live["ok"] and live["p99_under_1s"])) and (not storm or (
        storm["stored_exactly_once"] and storm["confirmed_exactly_once"] and storm["ratio_vs_executemany"] >= 0.5
        and storm["connects"]["under_20pct"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
