"""`selftest`: printer, drawer, LED, a scan, the broker, disk, journal and clock, each with pass/fail and a fix."""

from __future__ import annotations

import queue
import shutil
import subprocess
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware.clock import parse_iso_utc
from firmware.config import Config
from firmware.errors import KassaError
from firmware.journal.audit import AuditResult, Finding, Receipt
from provisioning.broker_check import check_broker
from provisioning.checks import Check
from provisioning.journal_access import audit as audit_journal, journal_exists, service_active

__all__ = ["DEVICE_FIXES", "MIN_FREE_BYTES", "hardware_checks", "disk_check", "journal_check", "clock_check",
           "run_selftest"]

MIN_FREE_BYTES = 200 * 1024 * 1024
DEVICE_FIXES = {
    "printer": "check power, paper and cable; `kassa-provision hardware` shows the printer URL and what is plugged in",
    "drawer": "check the drawer cable (printer RJ11 or relay); for a sensor check its GPIO pin in hardware.drawer",
    "led": "check the LED wiring and the pins in hardware.led",
    "scanner": "scan a barcode within the time; check the cable, hardware.scanner and the scanner's suffix (CR/LF)",
}


def _from_result(result: object) -> Check:
    device = getattr(result, "device", "device")
    ok = bool(getattr(result, "ok", False))
    return Check(device, ok, str(getattr(result, "sentence", "")),
                 "" if ok else DEVICE_FIXES.get(device, "see the detail"))


def hardware_checks(config: Config, *, scan_wait: float, announce: Callable[[str], None]) -> list[Check]:
    """Build the hardware from the config through hal's factory and run every device's own self-test."""
    from hal.errors import HalError
    from hal.factory import HardwareSpec, build_hardware

    spec = HardwareSpec(
        scanner=config.hardware.scanner, printer=config.hardware.printer, drawer=config.hardware.drawer,
        led=config.hardware.led, paper_columns=config.hardware.paper_columns,
        render_dir=Path(config.device.data_dir) / "selftest", header=(config.shop.name, *config.shop.address),
    )
    Path(config.device.data_dir, "selftest").mkdir(parents=True, exist_ok=True)
    try:
        hw = build_hardware(spec, queue.Queue())
    except (HalError, ValueError) as exc:
        return [Check("hardware config", False, str(exc), "set the URL with `kassa-provision hardware --printer ...`")]
    except OSError as exc:
        return [Check("hardware", False, f"a device could not be opened: {exc}",
                      "check cables and permissions (udev rules: install-service)")]
    checks: list[Check] = []
    try:
        hw.start(scanner=False)  # the printer's worker and the drawer's sensor; the scanner when a scan is asked for
        for name, run in (("printer", lambda: hw.printer.self_test(timeout=15)),
                          ("drawer", lambda: hw.drawer.self_test()),
                          ("led", lambda: hw.led.self_test(step_s=0.4))):
            try:
                checks.append(_from_result(run()))
            except (HalError, OSError) as exc:
                checks.append(Check(name, False, str(exc), DEVICE_FIXES[name]))
        if scan_wait > 0:
            hw.scanner.start()
            where = getattr(hw.scanner, "path", None)
            announce(f"Scan any barcode within {scan_wait:g} s"
                     + (f" (simulated: echo 4006381333931 > {where})" if where else ""))
            checks.append(_from_result(hw.scanner.self_test(wait_s=scan_wait)))
        else:
            checks.append(Check("scanner", None, "skipped (--scan-wait 0)"))
    finally:
        hw.close()
    return checks


def disk_check(config: Config) -> Check:
    data = Path(config.device.data_dir)
    try:
        usage = shutil.disk_usage(data if data.exists() else data.parent)
    except OSError as exc:
        return Check("disk", False, f"{data}: {exc.strerror}",
                     "create the data dir: `kassa-provision init --data-dir ...`")
    free_mb = usage.free // 2**20
    detail = f"{free_mb} MiB free of {usage.total // 2**20} MiB at {data}"
    if usage.free < MIN_FREE_BYTES:
        return Check("disk", False, detail, "free space: export and archive old data, or use a larger SD card")
    return Check("disk", True, detail)


class _SalesRate:
    """Receipts per day over the last week (from the receipts the audit reads), as the journal's health() counts."""

    WINDOW_DAYS = 7
    KEEP = 20000

    def __init__(self) -> None:
        self._created: deque[str] = deque(maxlen=self.KEEP)

    def __call__(self, receipt: Receipt) -> None:
        if receipt.get("seq") == 1:
            self._created.clear()  # the audit was read again from the start
        created = receipt.get("created_at")
        if isinstance(created, str):
            self._created.append(created)

    def per_day(self, now: datetime) -> float:
        since = now - timedelta(days=self.WINDOW_DAYS)
        recent, oldest = 0, now
        for created in reversed(self._created):
            try:
                when = parse_iso_utc(created)
            except ValueError:
                break
            if when < since:
                break
            recent, oldest = recent + 1, when
        return recent / max((now - oldest).total_seconds() / 86400, 1.0)


def _days_left(result: AuditResult, rate: _SalesRate) -> float | None:
    per_day = rate.per_day(datetime.now(UTC))
    if per_day <= 0:
        return None
    free = shutil.disk_usage(result.directory).free
    per_receipt = result.bytes_used / result.receipts if result.receipts else 2048
    return free / (per_day * per_receipt)


def _sentences(findings: list[Finding], limit: int = 5) -> str:
    shown = "; ".join(str(f) for f in findings[:limit])
    return shown + (f"; and {len(findings) - limit} more" if len(findings) > limit else "")


def journal_check(config: Config) -> Check:
    """Audit the journal read-only: every record's checksum, the whole hash chain, seqs and ids. Writes nothing."""
    if not journal_exists(config):
        return Check("journal", None, "no journal yet; `kassa run` creates it on first start")
    rate = _SalesRate()
    try:
        result = audit_journal(config, on_receipt=rate)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return Check("journal", False, f"cannot read the journal{where}: {exc.strerror or exc}",
                     "run selftest as root (sudo) or as the service user; nothing was changed")
    if result.damage:
        return Check("journal", False, "damaged, nothing was changed: " + _sentences(result.damage),
                     "do not reset and do not repair: copy the whole data dir off the device and call support")
    if result.torn:
        return Check("journal", False, _sentences(result.findings) + "; nothing was changed",
                     "an interrupted write: starting the register drops it, or stop the service and run "
                     "`kassa-provision repair-journal`, which keeps a copy of the dropped bytes")
    files = len(result.files)
    counts = result.delivery
    detail = f"{result.receipts} receipts"
    if counts is not None:
        detail += f", {counts.pending} pending, {counts.quarantined} quarantined"
    detail += f"; every record and the hash chain verified over {files} file{'s' if files != 1 else ''}"
    days = _days_left(result, rate)
    detail += f"; space for {days:.0f} days" if days is not None else "; no recent sales to project from"
    if counts is not None and counts.quarantined:
        return Check("journal", False, detail,
                     "receipts the broker refused: check the ACL, then Retry on the status screen")
    if days is not None and days < 30:
        return Check("journal", False, detail, "less than 30 days of space: free disk space or use a larger card")
    return Check("journal", True, detail)


def clock_check() -> Check:
    try:
        done = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return Check("clock", None, "timedatectl not available; cannot tell whether the clock is NTP-synchronised")
    value = done.stdout.strip()
    if done.returncode != 0 or value not in ("yes", "no"):
        return Check("clock", None, f"NTP state unknown ({(done.stderr or value).strip()[:80]})")
    if value == "yes":
        return Check("clock", True, "NTP synchronised")
    return Check("clock", False, "not NTP synchronised: receipts will say clock_trusted=false",
                 "check the network, then `timedatectl set-ntp true` and `timedatectl timesync-status`")


def run_selftest(config: Config, *, scan_wait: float = 15.0, ack_timeout: float = 5.0, only: set[str] | None = None,
                 announce: Callable[[str], None] = print) -> list[Check]:
    """Every check in order; `only` limits them to some of: hardware, broker, disk, journal, clock."""

    def want(part: str) -> bool:
        return only is None or part in only

    checks: list[Check] = []
    if want("hardware"):
        if service_active():
            checks.append(Check("hardware", False, "the register service is running and holds the devices",
                                "stop it first: `sudo systemctl stop kassa`, then run selftest again"))
        else:
            checks += hardware_checks(config, scan_wait=scan_wait, announce=announce)
    if want("broker"):
        try:
            checks += check_broker(config, ack_timeout=ack_timeout)
        except KassaError as exc:
            checks.append(Check("broker connect", False, str(exc), "re-run `kassa-provision init`"))
    if want("disk"):
        checks.append(disk_check(config))
    if want("journal"):
        checks.append(journal_check(config))
    if want("clock"):
        checks.append(clock_check())
    return checks
