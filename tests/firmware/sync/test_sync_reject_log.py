"""A flood of bad downlink messages logs a few lines and a count, not one line each (issue 12, "Resources"):
2,000 bad acks and commands through a real Mosquitto to a real SyncService."""

from __future__ import annotations

import logging
import queue
import re
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.clock import SystemClock
from firmware.sync import SyncService
from tests.firmware.sync.kassa_sync_support import device_config, open_journal, wait_for

pytestmark = pytest.mark.slow  # a real Mosquitto, waits on the network

PERIOD = 1.0  # the throttle's period for this test (10 s in the register), so the summaries come quickly
BURST = 5
N = 2000

AND_MORE = re.compile(r"\(and (\d+) more like it in the last [\d.]+s, not logged\)$")
SUMMARY = re.compile(r"^(\d+) more like this in the last [\d.]+s were not logged; the last: rejected a message on "
                     r"\S+/(acks|commands): ")


def bad_messages(topics) -> list[tuple[str, bytes]]:
    """Half acks of the wrong shape, half commands that are not commands; every payload different."""
    out = []
    for i in range(N // 2):
        out.append((topics.acks, f'{{"receipt_ids": {i}}}'.encode()))
        out.append((topics.commands, f'{{"command_id": "c{i}", "command": "format_disk_{i}"}}'[: 20 + i % 30]
                    .encode()))
    return out


@pytest.fixture
def flood_rig(mosquitto, tmp_path, monkeypatch, caplog):
    """A real SyncService online at a real Mosquitto (every flood log's period shortened to PERIOD), and a fleet
    client to flood it from: yields (service, publish) where publish([(topic, payload)]) waits for every PUBACK."""
    monkeypatch.setattr("firmware.sync.service.REJECT_LOG_PERIOD", PERIOD)
    monkeypatch.setattr("firmware.sync.record_outbox._flood.period", PERIOD)
    caplog.set_level(logging.INFO, logger="kassa.sync")
    journal = open_journal(tmp_path / "dev")
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue())
    service.start()
    sent = threading.Event()
    fleet = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flood", protocol=mqtt.MQTTv5)
    fleet.on_connect = lambda *_a: sent.set()
    fleet.connect("127.0.0.1", mosquitto.port)
    fleet.loop_start()

    def publish(messages: list[tuple[str, bytes]]) -> None:
        for info in [fleet.publish(topic, payload, qos=1) for topic, payload in messages]:
            info.wait_for_publish(30)

    try:
        assert sent.wait(10)
        wait_for(lambda: service.state().online, 30, "the register online")
        yield service, publish
        assert service.state().online  # the register shrugged it off
    finally:
        fleet.disconnect()
        fleet.loop_stop()
        service.stop()
        journal.close()


def test_two_thousand_bad_acks_and_commands_log_a_bounded_number_of_lines_and_the_count(flood_rig, caplog):
    service, publish = flood_rig
    publish(bad_messages(service.topics))
    wait_for(lambda: service.state().downlink_rejected == N, 60, f"all {N} refused")
    # every left-out record ends up in a summary: the housekeeping flushes once the period is over
    wait_for(lambda: summed(caplog, REJECTED_LINE) == N, 5 * PERIOD + 5, "the summaries with the counts")
    lines = [r.getMessage() for r in caplog.records if REJECTED_LINE.match(r.getMessage())]
    summaries = [m for line in lines if (m := SUMMARY.match(line))]
    assert summaries, lines
    assert {m.group(2) for m in summaries} == {"acks", "commands"}  # one count per topic kind
    # bounded: a burst and a summary per kind and period, however long the flood took, never one per message
    assert len(lines) <= 60, len(lines)
    assert len(lines) < N / 20
    print(f"\n{N} bad downlink messages: {len(lines)} log lines, {len(summaries)} of them summaries")


LEFT_OUT = r"^(\d+ more like this in the last [\d.]+s were not logged; the last: )?"
REJECTED_LINE = re.compile(LEFT_OUT + r"rejected a message on \S+/(acks|commands): ")
HEAD_LINE = re.compile(LEFT_OUT + "fleet head for epoch ")
RECORD_LINE = re.compile(LEFT_OUT + r"rejected a message on \S+/punch_acks")


def test_floods_of_foreign_fleet_heads_and_unreadable_punch_acks_log_a_bounded_number_of_lines(flood_rig, caplog):
    """Heads naming epochs this journal never had, and punch acks that are not acks, 1,000 of each: a handful
    of lines and a summary for each kind, never a line per message."""
    service, publish = flood_rig
    n = N // 2
    heads = [(service.topics.acks, f'{{"receipt_ids": [], "head": {{"epoch": "{i:08x}", "seq": {i}}}}}'.encode())
             for i in range(n)]
    junk = [(service.topics.punch_acks, f'{{"punch_ids": {i}}}'.encode()) for i in range(n)]
    publish(heads + junk)
    wait_for(lambda: service.state().downlink_rejected >= n, 60, f"{n} punch acks refused")
    wait_for(lambda: summed(caplog, HEAD_LINE) == n and summed(caplog, RECORD_LINE) == n, 5 * PERIOD + 10,
             "every head and punch ack accounted for in the log")
    for pattern in (HEAD_LINE, RECORD_LINE):
        lines = [r.getMessage() for r in caplog.records if pattern.match(r.getMessage())]
        assert any(line[0].isdigit() for line in lines), lines  # a summary with the count
        assert len(lines) <= 40, len(lines)


def summed(caplog, pattern: re.Pattern[str]) -> int:
    """Messages of one kind the log accounts for: a line each, plus each summary's and suffix's count."""
    total = 0
    for record in caplog.records:
        line = record.getMessage()
        if not pattern.match(line):
            continue
        if m := re.match(r"^(\d+) more like this", line):
            total += int(m.group(1))
        else:
            total += 1
            if m := AND_MORE.search(line):
                total += int(m.group(1))
    return total
