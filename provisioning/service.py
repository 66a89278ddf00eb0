"""`install-service`: the systemd unit (Type=notify, watchdog, dedicated user) and udev rules for the hardware."""

from __future__ import annotations

import grp
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from firmware.atomicfile import make_dirs, write_atomic
from firmware.config import Config
from provisioning.configfile import secrets_dir
from provisioning.errors import ProvisionError
from provisioning.secretfiles import claim_data_dir, hand_over_secrets, service_uid_gid

__all__ = [
    "UNIT_NAME",
    "RULES_NAME",
    "HARDWARE_GROUPS",
    "ServicePlan",
    "render_unit",
    "render_rules",
    "install_service",
]

UNIT_NAME = "kassa.service"
RULES_NAME = "70-kassa.rules"
HARDWARE_GROUPS = ("dialout", "lp", "gpio", "video", "render", "input", "plugdev")
_USB_RE = re.compile(r"^usb://(?:0x)?([0-9a-fA-F]{4}):(?:0x)?([0-9a-fA-F]{4})")


@dataclass
class ServicePlan:
    """What install-service wrote and ran, for the report."""

    files: list[Path] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _template(name: str) -> str:
    return resources.files("provisioning").joinpath("templates", name).read_text(encoding="utf-8")


def default_exec() -> str:
    """The `kassa` entry point next to this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "kassa"
    return str(beside if beside.exists() else shutil.which("kassa") or "/usr/local/bin/kassa")


def existing_groups(candidates: tuple[str, ...], root: Path | None) -> list[str]:
    """The hardware groups this system (or the staging root's /etc/group) really has."""
    group_file = root / "etc/group" if root else None
    if group_file and group_file.exists():
        names = {line.split(":", 1)[0] for line in group_file.read_text().splitlines() if line}
        return [g for g in candidates if g in names]
    found = []
    for name in candidates:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        found.append(name)
    return found


def render_unit(
    config: Config, config_path: Path, *, user: str, exec_start: str, watchdog: int, groups: list[str]
) -> str:
    return _template("kassa.service").format(
        user=user,
        groups=" ".join(groups),
        config=config_path,
        exec_start=exec_start,
        watchdog=watchdog,
        data_dir=config.device.data_dir,
    )


def render_rules(config: Config, *, user: str, scanner_id: str | None = None) -> str:
    printer = ""
    match = _USB_RE.match(config.hardware.printer)
    if match:
        vid, pid = (g.lower() for g in match.groups())
        printer = (
            f"# The receipt printer {vid}:{pid} (python-escpos talks to it through libusb).\n"
            f'SUBSYSTEM=="usb", ATTR{{idVendor}}=="{vid}", ATTR{{idProduct}}=="{pid}", GROUP="{user}", MODE="0660"\n'
        )
    scanner = ""
    if scanner_id:
        vid, _, pid = scanner_id.lower().partition(":")
        scanner = (
            f"# The barcode scanner {vid}:{pid}: a stable name and no ModemManager probing.\n"
            f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}", '
            f'ENV{{ID_MM_DEVICE_IGNORE}}="1", SYMLINK+="kassa-scanner", GROUP="dialout", MODE="0660"\n'
        )
    return _template("kassa.rules").format(user=user, printer_rules=printer, scanner_rules=scanner)


def _run(cmd: list[str], plan: ServicePlan) -> None:
    plan.commands.append(cmd)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise ProvisionError(
            f"{cmd[0]} not found; is this a systemd system? Use --no-enable and enable the unit by hand"
        ) from None
    if done.returncode != 0:
        raise ProvisionError(f"`{' '.join(cmd)}` failed: {done.stderr.strip() or done.stdout.strip()}")


def _ensure_user(user: str, home: Path, plan: ServicePlan) -> None:
    if service_uid_gid(user) is None:
        _run(
            ["useradd", "--system", "--user-group", "--home-dir", str(home), "--shell", "/usr/sbin/nologin", user], plan
        )


def install_service(
    config: Config,
    config_path: Path,
    *,
    root: Path | None,
    user: str,
    exec_start: str | None = None,
    watchdog: int = 30,
    enable: bool = True,
    scanner_id: str | None = None,
) -> ServicePlan:
    """Write the unit and the rules (into `root` when staging); create the user and enable the unit on a real system."""
    plan = ServicePlan()
    if root is None and os.geteuid() != 0:
        raise ProvisionError("install-service changes /etc: run it with sudo (or give --root DIR to stage the files)")
    if scanner_id and not re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", scanner_id):
        raise ProvisionError(f"--scanner-id {scanner_id!r}: give the USB id as VID:PID, e.g. 0c2e:0b61 (see `lsusb`)")
    base = root or Path("/")
    if root is None:
        _ensure_user(user, config.device.data_dir, plan)
    groups = existing_groups(HARDWARE_GROUPS, root)
    unit = render_unit(
        config,
        Path(config_path).resolve(),
        user=user,
        exec_start=exec_start or default_exec(),
        watchdog=watchdog,
        groups=groups,
    )
    unit_path = base / "etc/systemd/system" / UNIT_NAME
    rules_path = base / "etc/udev/rules.d" / RULES_NAME
    for path, text in ((unit_path, unit), (rules_path, render_rules(config, user=user, scanner_id=scanner_id))):
        make_dirs(path.parent, 0o755, 0o755)
        write_atomic(path, text.encode("utf-8"), mode=0o644)
        plan.files.append(path)
    if root is None:
        warning = claim_data_dir(config.device.data_dir, user)  # never an existing dir outside /var/lib/kassa
        if warning:
            plan.notes.append(warning)
        # init ran before this created the user: its secrets are root-only until handed over
        plan.notes += hand_over_secrets(
            secrets_dir(config_path), [config.broker.password_file, config.broker.key_file], user
        )
        _run(["udevadm", "control", "--reload-rules"], plan)
        _run(["udevadm", "trigger"], plan)
        _run(["systemctl", "daemon-reload"], plan)
        if enable:
            _run(["systemctl", "enable", "--now", UNIT_NAME], plan)
    elif enable:
        wants = base / "etc/systemd/system/multi-user.target.wants" / UNIT_NAME
        make_dirs(wants.parent, 0o755, 0o755)
        if wants.is_symlink() or wants.exists():
            wants.unlink()
        wants.symlink_to(Path("/etc/systemd/system") / UNIT_NAME)
        plan.files.append(wants)
        plan.notes.append("staged: enabled offline (wants symlink); nothing was started")
    if not enable:
        plan.notes.append(f"not enabled; run `sudo systemctl enable --now {UNIT_NAME}` when ready")
    missing = [g for g in HARDWARE_GROUPS[:3] if g not in groups]
    if missing:
        plan.notes.append(f"groups not on this system: {', '.join(missing)} (left out of SupplementaryGroups)")
    return plan
