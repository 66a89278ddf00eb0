"""`clerks FILE`: CSV or JSON clerks checked row by row; PINs hashed here and never kept or shown in clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from firmware.config import Config, is_valid_id
from firmware.domain.clerks import ROLES, Roster, check_pin_format, hash_pin
from firmware.errors import DomainError
from firmware.stores import clerk_store
from provisioning.catalog_import import Imported, apply_versioned, pick_version
from provisioning.errors import InputRejected, RowProblem
from provisioning.tabular import read_rows

__all__ = ["COLUMNS", "build_clerks", "import_clerks", "check_clerks_payload"]

COLUMNS = ("clerk_id", "name", "role", "pin", "pin_hash")


def _clerk(where: str, row: dict[str, Any], problems: list[RowProblem]) -> dict[str, Any] | None:
    def bad(field: str, reason: str) -> None:
        problems.append(RowProblem(where, field, reason))

    if "__not_object__" in row or "__columns__" in row:
        bad("row", row.get("__columns__", "must be an object with clerk_id, name, role, pin"))
        return None
    before = len(problems)
    clerk_id = str(row.get("clerk_id") or "").strip()
    if not is_valid_id(clerk_id):
        bad("clerk_id", "missing or not 1-32 letters, digits, '-' or '_'")
    name = str(row.get("name") or "").strip()
    if not name:
        bad("name", "missing")
    role = str(row.get("role") or "").strip().lower()
    if role not in ROLES:
        bad("role", f"must be {' or '.join(ROLES)}")
    pin, pin_hash = row.get("pin"), row.get("pin_hash")
    if pin not in (None, "") and pin_hash not in (None, ""):
        bad("pin", "give pin or pin_hash, not both")
    elif pin not in (None, ""):
        try:
            check_pin_format(str(pin))  # the reason never repeats the PIN itself
        except DomainError as exc:
            bad("pin", str(exc))
    elif pin_hash not in (None, ""):
        try:
            Roster.from_payload({"clerks": [{"clerk_id": "x", "name": "x", "role": "cashier", "pin_hash": pin_hash}]})
        except DomainError:
            bad("pin_hash", "not a Kassa PIN hash (scrypt$n$r$p$salt$hash)")
    else:
        bad("pin", "missing; give a PIN of 4-12 digits")
    if len(problems) > before:
        return None
    return {"clerk_id": clerk_id, "name": name, "role": role, "pin": pin or None, "pin_hash": pin_hash or None}


def build_clerks(path: Path, version: int | None, held: int = -1) -> tuple[dict[str, Any], list[RowProblem]]:
    """The clerks payload with hashed PINs, and every problem; hashing happens only when there are none."""
    meta, rows = read_rows(path, "clerks", COLUMNS)
    problems: list[RowProblem] = []
    clerks: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        clerk = _clerk(where, row, problems)
        if clerk is None:
            continue
        if clerk["clerk_id"] in seen:
            problems.append(RowProblem(where, "clerk_id", f"{clerk['clerk_id']} already given at {seen[clerk['clerk_id']]}"))
            continue
        seen[clerk["clerk_id"]] = where
        clerks.append(clerk)
    if not rows:
        problems.append(RowProblem("file", "clerks", "no clerks; add at least one manager"))
    elif not problems and not any(c["role"] == "manager" for c in clerks):
        problems.append(RowProblem("file", "role", "no manager; refunds, no-sale and Z reports need one"))
    if problems:
        return {}, problems
    out = [
        {"clerk_id": c["clerk_id"], "name": c["name"], "role": c["role"], "pin_hash": c["pin_hash"] or hash_pin(str(c["pin"]))}
        for c in clerks
    ]
    return {"version": pick_version(meta, version, held), "clerks": out}, []


def import_clerks(path: Path, config: Config, version: int | None = None, force: bool = False) -> Imported:
    """Validate the whole file, hash PINs, apply atomically; raise InputRejected listing every bad row."""
    store = clerk_store(config.device.data_dir)
    payload, problems = build_clerks(path, version, store.version)
    if problems:
        raise InputRejected(f"{path}: {len(problems)} problem(s); nothing was applied", problems)
    check_clerks_payload(payload)
    return apply_versioned(store, payload, "clerks", force)


def check_clerks_payload(payload: dict[str, Any]) -> None:
    """The gate the register applies to the fleet's clerks message: contract model, then the domain roster."""
    from firmware.acceptance import check_versioned
    from firmware.contract import PayloadRejected

    try:
        check_versioned("clerks", payload)
    except PayloadRejected as exc:
        raise InputRejected(f"clerks refused by the register's own check: {exc}") from None

