"""Receipts out of the journal as files a technician or accountant can open: CSV (one row per line) and JSON.

Used by the status screen ("export pending to USB") and `kassa-provision
export-pending` / `export`. Files are written atomically. The JSON holds the
receipts as journaled (integer minor units). The CSV has each amount twice: a
column for people, formatted in the shop's currency as the screen shows it
("€12.90", or "EUR 12.90" with `[shop] currency_display = "code"`), and a
machine column in integer minor units whose name ends in `_minor` (with the
`currency` column and `minor_digits`, a spreadsheet can scale it exactly).

Where an export may go (`open_export_dir`; `kassa-provision bundle export` too): a USB stick is somebody
else's file system, so the target must be a real directory (not a symlink, checked on the opened fd) on a
mounted removable medium, never inside the data dir (nothing but the journal writes into the journal). The
mount the directory is on (not `/`, not the data dir's disk) counts as removable when

- its block device is removable or on USB (`/sys/dev/block/MAJ:MIN` resolves below a `usbN` bus, or the disk's
  `removable` attribute is 1: a stick, a USB disk or card reader, an SD card slot that says so), or
- it lies under `/media` or `/run/media`, where the desktop's automounter (udisks) and the technician's
  documented `mount /dev/sda1 /media/usb` put sticks (a virtual disk or a card that does not say it is
  removable still works there).

So a second internal disk or a tmpfs mounted somewhere else is refused. Inside that directory a symlink or
other non-file planted at an export's file name is refused, and temp files are created with O_EXCL, so nothing
on the stick can make Kassa write anywhere else. For labs without a stick, `KASSA_EXPORT_ALLOW_UNMOUNTED=1`
drops the mount rule (mounted, removable) and only that: the link and data-dir rules still hold.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from firmware.atomicfile import UnsafeTarget, atomic_writer, make_dirs, open_dir
from firmware.clock import iso_utc
from firmware.domain.errors import DomainError
from firmware.domain.money import format_money, minor_digits
from firmware.domain.receipt_model import Receipt, ReceiptLine
from firmware.errors import KassaError

ALLOW_UNMOUNTED_ENV = "KASSA_EXPORT_ALLOW_UNMOUNTED"

LINE_COLUMNS = (
    "receipt_id", "seq", "kind", "created_at", "offline", "clerk_id", "currency", "minor_digits",
    "line", "sku", "name", "qty", "unit_price", "discount", "tax_code", "amount",
    "receipt_total", "tenders", "refund_of",
    "unit_price_minor", "discount_minor", "amount_minor", "receipt_total_minor", "tenders_minor",
)
MONEY_COLUMNS = ("unit_price", "discount", "amount", "receipt_total", "tenders")  # formatted, for people


class ExportRefused(KassaError):
    """The export target is not a safe place to write (symlink, data dir, not on a mounted stick); nothing written."""


@dataclass(frozen=True)
class ExportResult:
    receipts: int
    lines_csv: Path
    receipts_json: Path


_NO_LINE = ReceiptLine()  # a receipt without lines (a no_sale) still has its row, with the line's columns empty


def _rows(receipt: Receipt, display: str) -> Iterable[list[object]]:
    currency = receipt.currency or "EUR"
    try:
        digits: int | str = minor_digits(currency)
    except DomainError:  # a receipt in a currency this build does not know: the machine columns still hold it
        digits = ""

    def money(amount: object) -> str:
        if isinstance(amount, bool) or not isinstance(amount, int) or digits == "":
            return "" if amount is None else str(amount)
        return format_money(amount, currency, display)

    tenders = receipt.tenders
    tenders_minor = ";".join(f"{t.type}:{t.amount}" for t in tenders)
    tenders_text = "; ".join(f"{t.type.replace('_', ' ')} {money(t.amount)}" for t in tenders)
    total = receipt.totals.total
    refund_of = receipt.refund_of or ""
    base = [receipt.receipt_id, receipt.seq, receipt.kind, receipt.created_at, receipt.offline, receipt.clerk_id,
            currency, digits]
    lines = receipt.lines
    if not lines:
        yield base + ["", "", "", "", "", "", "", "", money(total), tenders_text, refund_of, "", "", "", total,
                      tenders_minor]
        return
    tail = [money(total), tenders_text, refund_of]  # the same on every line: formatted once
    for number, line in enumerate(lines, start=1):
        discount = "" if "discount" in line.absent else line.discount
        yield [*base, number, line.sku, line.name, line.qty, money(line.unit_price), money(discount), line.tax_code,
               money(line.amount), *tail, line.unit_price, discount, line.amount, total, tenders_minor]


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


MEDIA_ROOTS = ("/media", "/run/media")  # where sticks are mounted (udisks, and the technician's /media/usb)


def _mount_of(path: str) -> str:
    """The mount point `path` (a resolved, existing path) is on."""
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def removable_device(st_dev: int, sys_root: str = "/sys") -> bool:
    """True when the block device behind `st_dev` (a file system's device number) is removable or on USB.

    sysfs: /sys/dev/block/MAJ:MIN links to the device (a partition's parent is its disk); a device below a
    USB bus (a path component `usbN`) or whose disk says `removable` = 1 counts. A file system without a block
    device (tmpfs, overlay, NFS) has no such link: not removable.
    """
    link = os.path.join(sys_root, "dev", "block", f"{os.major(st_dev)}:{os.minor(st_dev)}")
    try:
        device = os.path.realpath(link, strict=True)
    except OSError:
        return False
    if any(part.startswith("usb") and part[3:].isdigit() for part in device.split(os.sep)):
        return True
    disk = os.path.dirname(device) if os.path.exists(os.path.join(device, "partition")) else device
    try:
        with open(os.path.join(disk, "removable"), encoding="ascii") as flag:
            return flag.read().strip() == "1"
    except OSError:
        return False


def _on_removable_medium(mount: str) -> bool:
    return any(_within(mount, root) for root in MEDIA_ROOTS) or removable_device(os.stat(mount).st_dev)


def _refuse_place(real: str, shown: str, data_dir: str | os.PathLike[str] | None) -> None:
    if data_dir is not None:
        if _within(real, os.path.realpath(data_dir)):
            raise ExportRefused(f"{shown} is inside the register's data dir {data_dir}; export to a USB stick")
    if os.environ.get(ALLOW_UNMOUNTED_ENV) == "1":
        return
    mount = _mount_of(real)
    if mount == "/":
        raise ExportRefused(f"{shown} is not on a mounted USB stick; mount the stick (e.g. at /media/usb) and "
                            "export there")
    if data_dir is not None and os.path.exists(data_dir) and os.stat(mount).st_dev == os.stat(data_dir).st_dev:
        raise ExportRefused(f"{shown} is on the same disk as the register's data dir, not on a USB stick")
    if not _on_removable_medium(mount):
        raise ExportRefused(f"{shown} is on {mount}, which is not a removable medium (not a USB or removable disk, "
                            "not mounted under /media or /run/media); mount the USB stick at /media/usb and export "
                            "there")


def open_export_dir(directory: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None) -> int:
    """Check `directory` as an export target and return an fd on it (O_DIRECTORY|O_NOFOLLOW); ExportRefused if unsafe.

    Missing folders below an existing one are made (0700). The place is checked by its resolved path before the
    open and again by what the opened fd really is (/proc/self/fd), so a link swapped in between does not count.
    `data_dir` None skips only the data-dir rule; only KASSA_EXPORT_ALLOW_UNMOUNTED=1 drops the mount rule (mounted,
    removable: see the module's docstring).
    """
    shown = str(directory)
    target = os.path.abspath(directory)
    if os.path.islink(target):
        raise ExportRefused(f"{shown} is a symbolic link, not a folder on the stick")
    existing = target
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    root_dev = os.stat("/").st_dev
    walked = "/"
    for part in existing.strip("/").split("/") if existing != "/" else []:
        walked = os.path.join(walked, part)
        st = os.lstat(walked)
        if stat.S_ISLNK(st.st_mode) and st.st_dev != root_dev:  # links on the system disk are the admin's
            raise ExportRefused(f"{shown}: {walked} is a symbolic link on the stick; export to a real folder")
    real = os.path.normpath(os.path.join(os.path.realpath(existing), os.path.relpath(target, existing)))
    _refuse_place(real, shown, data_dir)
    try:
        if existing != target:
            make_dirs(real, 0o700, 0o700)
        fd = open_dir(real)
    except UnsafeTarget as exc:
        raise ExportRefused(exc.sentence) from None
    except NotADirectoryError:
        raise ExportRefused(f"{shown} is not a folder (is the USB stick mounted where you said?)") from None
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        opened = real
    try:
        _refuse_place(opened, shown, data_dir)
    except ExportRefused:
        os.close(fd)
        raise
    return fd


def export_receipts(
    receipts: Iterable[Receipt],
    directory: Path,
    stem: str,
    progress: Callable[[int], None] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None,
    currency_display: str = "symbol",
) -> ExportResult:
    """Write `{stem}-lines.csv` and `{stem}-receipts.json` into `directory`; return the count.

    The CSV's money columns for people are formatted with `currency_display` ("symbol" or "code"); the
    `*_minor` columns keep integer minor units.

    `directory` must pass `open_export_dir` (ExportRefused otherwise, before any receipt is read). Streamed: one
    receipt at a time goes to both files (memory stays flat with 100k receipts), and the JSON array holds one
    receipt per line, written by the json module's C encoder. The files are 0600.
    """
    directory = Path(directory)
    lines_csv = directory / f"{stem}-lines.csv"
    receipts_json = directory / f"{stem}-receipts.json"
    dir_fd = open_export_dir(directory, data_dir)
    try:
        count = _write(receipts, lines_csv, receipts_json, dir_fd, progress, currency_display)
    except UnsafeTarget as exc:
        raise ExportRefused(exc.sentence) from None
    finally:
        os.close(dir_fd)
    return ExportResult(count, lines_csv, receipts_json)


def _write(receipts: Iterable[Receipt], lines_csv: Path, receipts_json: Path, dir_fd: int,
           progress: Callable[[int], None] | None, display: str = "symbol") -> int:
    count = 0
    with atomic_writer(lines_csv, dir_fd=dir_fd) as csv_out, atomic_writer(receipts_json, dir_fd=dir_fd) as json_out:
        text = io.TextIOWrapper(csv_out, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(LINE_COLUMNS)
        json_out.write(b"[")
        for receipt in receipts:
            writer.writerows(_rows(receipt, display))
            json_out.write(b",\n" if count else b"\n")
            json_out.write(receipt.to_json().encode("utf-8"))  # as journaled
            count += 1
            if progress is not None:
                progress(1)
        json_out.write(b"\n]\n" if count else b"]\n")
        text.flush()
        text.detach()  # the writer closes csv_out itself, after its fsync
    return count


class ReceiptSource(Protocol):
    """The journal's typed readers an export uses (firmware.journal.Journal)."""

    def unconfirmed_seqs(self) -> list[int]: ...
    def receipt(self, seq: int) -> Receipt | None: ...
    def receipts(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Receipt]: ...


def unconfirmed_receipts(journal: ReceiptSource) -> Iterable[Receipt]:
    """Every receipt the fleet has not confirmed yet (pending, delivered or quarantined), in seq order."""
    for seq in journal.unconfirmed_seqs():  # confirmed ones are never read
        receipt = journal.receipt(seq)
        if receipt is not None:
            yield receipt


def receipts_between(journal: ReceiptSource, start: datetime, end: datetime) -> Iterable[Receipt]:
    """Receipts created in [start, end) by their device time, in seq order (archived ones included)."""
    low, high = iso_utc(start), iso_utc(end)
    for receipt in journal.receipts():
        if low <= receipt.created_at < high:
            yield receipt
