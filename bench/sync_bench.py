"""Sync throughput: bare paho QoS-1 vs Kassa's journal drain (delivered, fleet-confirmed), in one run.

Run: .venv/bin/python bench/sync_bench.py [--n 10000] [--rounds 3]
Starts its own Mosquitto (max_inflight_messages 1000) on a loopback port. Each round measures bare paho and
Kassa back to back (PUBACK rate, then Kassa to "delivered"; end-to-end rate, then Kassa to "fleet-confirmed"),
so a ratio compares neighbours under the same machine load; the JSON gives the medians, every round's
figures and the load average. The targets compare with stock paho. Kassa's device link and fleet ingest use
`firmware.contract.wire.LeanClient` (paho with lean hot paths), so each round also runs the same bare loops
on LeanClient: the `*_vs_lean_*` ratios are what Kassa's own work (journal, outbox, validation, SQLite,
confirmations) costs on top of its client. `cpu_us_per_receipt_*` is the CPU each process spent per receipt
during the fleet-confirmed drain (the device is this process: the drain runs its SyncService here).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from firmware.clock import SystemClock  # noqa: E402
from firmware.config import parse_config  # noqa: E402
from firmware.contract.wire import LeanClient  # noqa: E402
from firmware.journal import Journal  # noqa: E402
from firmware.sync import SyncService  # noqa: E402
from tests.contract.kassa_samples import make_receipt  # noqa: E402
from tests.support.mosquitto import Mosquitto  # noqa: E402

WINDOW = 100

SUBSCRIBER = r"""
import sys, time, paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from firmware.contract.wire import LeanClient
host, port, topic, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
got = 0
def on_message(c, u, m):
    global got
    got += 1
    if got == n:
        print(time.time(), flush=True); c.disconnect()
c = (LeanClient if kind == "lean" else mqtt.Client)(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
c.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
c.on_subscribe = lambda *a: print("ready", flush=True)
c.on_message = on_message
c.connect(host, port)
c.loop_forever()
"""


def bare(port: int, n: int, payload: bytes, topic: str, kind: str = "paho") -> tuple[float, float]:
    """Sender-kept window of WINDOW, next publish from on_publish; returns (first publish, last PUBACK) times.

    `kind` "paho" is stock paho (the baseline of the targets); "lean" is the LeanClient Kassa itself uses, to
    show what Kassa's own work costs on top of its client.
    """
    c = (LeanClient if kind == "lean" else mqtt.Client)(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(0)
    state = {"sent": 0, "acked": 0, "t0": 0.0, "t1": 0.0}
    done = threading.Event()

    def send() -> None:
        c.publish(topic, payload, qos=1)
        state["sent"] += 1

    def on_publish(*_a: Any) -> None:
        state["acked"] += 1
        if state["sent"] < n:
            send()
        if state["acked"] == n:
            state["t1"] = time.time()
            done.set()

    def on_connect(*_a: Any) -> None:
        state["t0"] = time.time()
        for _ in range(min(WINDOW, n)):
            send()

    c.on_publish = on_publish
    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(120)
    c.disconnect()
    c.loop_stop()
    return state["t0"], state["t1"]


class TimedJournal:
    """The real journal, noting when the drain started and when all were delivered / confirmed.

    Only the per-round calls are wrapped; the per-receipt ones (`payload`, `outbox`) are the journal's own
    bound methods after the first call, so the timing adds nothing to the hot path.
    """

    def __init__(self, journal: Journal, n: int) -> None:
        self._j, self.n = journal, n
        self.t0 = 0.0
        self.delivered: set[int] = set()
        self.confirmed = 0
        self.t_delivered = 0.0
        self.t_confirmed = 0.0
        self.outbox = journal.outbox

    def __getattr__(self, name: str) -> Any:
        return getattr(self._j, name)

    def payload(self, seq: int) -> bytes:
        self.t0 = time.time()
        self.payload = self._j.payload  # type: ignore[method-assign]
        return self._j.payload(seq)

    def mark_delivered(self, seqs: list[int], at: Any) -> None:
        self._j.mark_delivered(seqs, at)
        self.delivered.update(seqs)
        if len(self.delivered) >= self.n and not self.t_delivered:
            self.t_delivered = time.time()

    def mark_confirmed(self, ids: list[str], at: Any) -> None:
        self._j.mark_confirmed(ids, at)
        self.confirmed += len(ids)
        if self.confirmed >= self.n and not self.t_confirmed:
            self.t_confirmed = time.time()


def drain(journal: Journal, data_dir: Path, url: str, register: str, n: int, *, confirmed: bool) -> TimedJournal:
    """Run SyncService on a journal of n pending receipts until all are delivered (or confirmed)."""
    config = parse_config({"device": {"store": "S001", "register": register, "data_dir": str(data_dir)},
                           # no fleet confirms the "delivered" drain: lift the backpressure bound above the backlog
                           "broker": {"url": url, "window": WINDOW, "max_unconfirmed": max(n, 1)}})
    timed = TimedJournal(journal, n)
    service = SyncService(config, timed, SystemClock(), queue.Queue())
    service.start()
    deadline = time.time() + 300
    while not (timed.t_confirmed if confirmed else timed.t_delivered) and time.time() < deadline:
        time.sleep(0.02)
    service.stop()
    return timed


def fill(work: Path, register: str, n: int) -> Journal:
    j = Journal.open(work / register, store="S001", register=register, clock=SystemClock())
    j.start()  # as bootstrap does
    for _ in range(n):
        j.commit_receipt(make_receipt("S001", register, j.epoch, j.next_seq, j.last_hash, pad=7))
    gc.collect()
    gc.freeze()  # as `kassa run` does after bootstrap (the journal no longer freezes the process itself)
    return j


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def end_to_end(broker: Mosquitto, n: int, payload: bytes, kind: str) -> float:
    """Publish-to-arrival rate at a QoS-1 subscriber in its own process (`kind` as in `bare`)."""
    topic = f"bench/e2e-{kind}"
    sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, "127.0.0.1", str(broker.port), topic, str(n), kind],
                           stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert sub.stdout is not None and sub.stdout.readline().strip() == "ready"
    t0, _ = bare(broker.port, n, payload, topic, kind)
    arrived = float(sub.stdout.readline())
    sub.wait(10)
    return n / (arrived - t0)


def one_round(broker: Mosquitto, work: Path, journals: tuple[Journal, Journal], n: int, payload: bytes,
              k: int) -> dict[str, float]:
    """Bare paho and Kassa side by side: PUBACK rate then Kassa delivered, end-to-end rate then Kassa confirmed."""
    alone_j, fleet_j = journals
    t0, t1 = bare(broker.port, n, payload, "bench/puback")
    puback_rate = n / (t1 - t0)
    alone = drain(alone_j, work / alone_j.register, broker.url, alone_j.register, n, confirmed=False)
    delivered_rate = n / (alone.t_delivered - alone.t0)

    e2e_rate = end_to_end(broker, n, payload, "paho")
    ingest = subprocess.Popen([sys.executable, "-m", "fleet.cli", "ingest", "--broker", broker.url,
                               "--db", f"sqlite:///{work / f'fleet-{k}.db'}", "--client-id", f"bench-ingest-{k}",
                               "--unsigned"],  # the bench's registers pin no fleet key
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert ingest.stderr is not None
    while "subscribed" not in (ingest.stderr.readline() or "subscribed"):
        pass
    assert broker.proc is not None
    cpu_before = (time.process_time(), cpu_seconds(ingest.pid), cpu_seconds(broker.proc.pid))
    timed = drain(fleet_j, work / fleet_j.register, broker.url, fleet_j.register, n, confirmed=True)
    cpu_after = (time.process_time(), cpu_seconds(ingest.pid), cpu_seconds(broker.proc.pid))
    device_us, ingest_us, broker_us = (1e6 * (b - a) / n for a, b in zip(cpu_before, cpu_after, strict=True))
    ingest.terminate()
    ingest.wait(10)
    confirmed_rate = n / (timed.t_confirmed - timed.t0)
    t0, t1 = bare(broker.port, n, payload, "bench/lean-puback", "lean")
    lean_puback_rate = n / (t1 - t0)
    lean_e2e_rate = end_to_end(broker, n, payload, "lean")
    return {"bare_puback_per_s": puback_rate, "kassa_delivered_per_s": delivered_rate,
            "bare_end_to_end_per_s": e2e_rate, "kassa_confirmed_per_s": confirmed_rate,
            "kassa_delivered_while_fleet_ingests_per_s": n / (timed.t_delivered - timed.t0),
            "delivered_vs_bare_puback": delivered_rate / puback_rate,
            "confirmed_vs_bare_end_to_end": confirmed_rate / e2e_rate,
            "lean_puback_per_s": lean_puback_rate, "lean_end_to_end_per_s": lean_e2e_rate,
            "delivered_vs_lean_puback": delivered_rate / lean_puback_rate,
            "confirmed_vs_lean_end_to_end": confirmed_rate / lean_e2e_rate,
            "cpu_us_per_receipt_device": device_us, "cpu_us_per_receipt_ingest": ingest_us,
            "cpu_us_per_receipt_broker": broker_us}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3, help="bare/Kassa pairs, interleaved; the median is the result")
    args = ap.parse_args()
    n = args.n
    work = Path(tempfile.mkdtemp(prefix="kassa-bench-"))
    broker = Mosquitto(work / "broker", autosave_interval=1800).start()
    load_before = os.getloadavg()
    rounds = []
    try:
        # one drain without a consumer (delivered), one with the fleet (confirmed), per round; fresh registers
        journals = [(fill(work, f"A{k}", n), fill(work, f"F{k}", n)) for k in range(args.rounds)]
        size = len(journals[0][0].payload(1))
        payload = b"x" * size
        for k, pair in enumerate(journals):
            rounds.append(one_round(broker, work, pair, n, payload, k))
            r = rounds[-1]
            print(
                f"round {k + 1}: bare PUBACK {r['bare_puback_per_s']:.0f}/s, "
                f"delivered {r['kassa_delivered_per_s']:.0f}/s"
                f" ({r['delivered_vs_bare_puback']:.2f}); bare e2e {r['bare_end_to_end_per_s']:.0f}/s, confirmed "
                f"{r['kassa_confirmed_per_s']:.0f}/s ({r['confirmed_vs_bare_end_to_end']:.2f}); against LeanClient "
                f"{r['delivered_vs_lean_puback']:.2f} and {r['confirmed_vs_lean_end_to_end']:.2f}",
                file=sys.stderr,
            )
        for pair in journals:
            for j in pair:
                j.close()
    finally:
        broker.kill()
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {
        "messages": n,
        "payload_bytes": size,
        "window": WINDOW,
        "rounds": len(rounds),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        digits = 3 if "_vs_" in key else 0
        result[key] = round(statistics.median(values), digits) if digits else round(statistics.median(values))
        result[f"{key}_all"] = [round(v, digits) if digits else round(v) for v in values]
    result["targets"] = {"delivered_vs_bare_puback": 0.70, "confirmed_vs_bare_end_to_end": 0.65}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
