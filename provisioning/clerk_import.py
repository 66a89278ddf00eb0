"""`clerks FILE`: CSV or JSON clerks checked row by row; PINs hashed here and never kept or shown in clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from firmware.config import Config, is_valid_id
from firmware.contract.payloads import Clerk as ClerkMessage
from firmware.domain.clerks import ROLES, Roster, check_pin_format, hash_pin
from firmware.errors import DomainError
from firmware.stores import clerk_store
from provisioning.catalog_import import Imported, apply_versioned, check_payload, check_version, pick_version
from provisioning.errors import InputRejected, RowProblem
from provisioning.tabular import model_problems, read_rows, readable

__all__ = ["COLUMNS", "build_clerks", "import_clerks", "check_clerks_payload"]

COLUMNS = ("clerk_id", "name", "role", "pin", "pin_hash")


HIDDEN = {"pin", "pin_hash"}  # never repeated in a report
_HASH_STANDIN = "scrypt$16384$8$1$standin"  # the contract's shape check needs some hash while the PIN is not hashed yet


def _clerk(where: str, row: dict[str, Any], problems: list[RowProblem]) -> dict[str, Any] | None:
    """One row as a clerk (PIN still in clear), or None; every problem of the row goes into `problems`."""
    flagged: set[str] = set()

    def bad(field: str, reason: str) -> None:
        problems.append(RowProblem(where, field, reason, None if field in HIDDEN else row.get(field)))
        flagged.add(field)

    if "__not_object__" in row or "__columns__" in row:
        bad("row", row.get("__columns__", "must be an object with clerk_id, name, role, pin"))
        return None
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
            if not isinstance(pin_hash, str):
                raise DomainError("not text")
            Roster.from_payload({"clerks": [{"clerk_id": "x", "name": "x", "role": "cashier", "pin_hash": pin_hash}]})
        except DomainError:
            bad("pin_hash", "not a Kassa PIN hash (scrypt$n$r$p$salt$hash)")
    else:
        bad("pin", "missing; give a PIN of 4-12 digits")
    candidate = {"clerk_id": clerk_id, "name": name, "role": role if role in ROLES else "cashier",
                 "pin_hash": pin_hash if isinstance(pin_hash, str) and pin_hash else _HASH_STANDIN}
    try:  # the contract's own limits (lengths): the register applies them too
        ClerkMessage.model_validate(candidate)
    except ValidationError as exc:
        for problem in model_problems(exc, where, row, skip=flagged, hidden=HIDDEN):
            problems.append(problem)
            flagged.add(problem.field)
    if flagged:
        return None
    return {"clerk_id": clerk_id, "name": name, "role": role, "pin": pin or None, "pin_hash": pin_hash or None}


def _contract_problems(payload: dict[str, Any], clerk_where: list[str], problems: list[RowProblem]) -> None:
    """The register's own gate on the finished roster, errors mapped back to rows (values never shown)."""
    from firmware.acceptance import check_domain
    from firmware.contract import Clerks as ClerksMessage, PayloadRejected

    try:
        ClerksMessage.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            if len(loc) >= 2 and loc[0] == "clerks" and isinstance(loc[1], int) and loc[1] < len(clerk_where):
                problems.append(
                    RowProblem(clerk_where[loc[1]], str(loc[2]) if len(loc) > 2 else "row", readable(error))
                )
            else:
                problems.append(RowProblem("file", ".".join(map(str, loc)) or "clerks", readable(error)))
        return
    try:
        check_domain("clerks", payload)
    except PayloadRejected as exc:
        problems.append(RowProblem("file", "clerks", str(exc)))


def build_clerks(path: Path, version: int | None, held: int = -1) -> tuple[dict[str, Any], list[RowProblem]]:
    """The clerks payload with hashed PINs, and every problem; hashing happens only when there are none."""
    meta, rows = read_rows(path, "clerks", COLUMNS)
    problems: list[RowProblem] = []
    clerks: list[dict[str, Any]] = []
    clerk_where: list[str] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        clerk = _clerk(where, row, problems)
        if clerk is None:
            continue
        if clerk["clerk_id"] in seen:
            problems.append(
                RowProblem(
                    where,
                    "clerk_id",
                    f"{clerk['clerk_id']} already given at {seen[clerk['clerk_id']]}",
                    clerk["clerk_id"],
                )
            )
            continue
        seen[clerk["clerk_id"]] = where
        clerks.append(clerk)
        clerk_where.append(where)
    if not rows:
        problems.append(RowProblem("file", "clerks", "no clerks; add at least one manager"))
    elif not problems and not any(c["role"] == "manager" for c in clerks):
        problems.append(RowProblem("file", "role", "no manager; refunds, no-sale and Z reports need one"))
    chosen = pick_version(meta, version, held)
    check_version(chosen, problems)
    if problems:
        return {}, problems
    out = [
        {
            "clerk_id": c["clerk_id"],
            "name": c["name"],
            "role": c["role"],
            "pin_hash": c["pin_hash"] or hash_pin(str(c["pin"])),
        }
        for c in clerks
    ]
    payload = {"version": chosen, "clerks": out}
    _contract_problems(payload, clerk_where, problems)
    return (payload, []) if not problems else ({}, problems)


def import_clerks(path: Path, config: Config, version: int | None = None, force: bool = False) -> Imported:
    """Validate the whole file, hash PINs, apply atomically; raise InputRejected listing every bad row."""
    store = clerk_store(config.device.data_dir)
    payload, problems = build_clerks(path, version, store.version)
    if problems:  # the register's own gate ran inside build_clerks, its findings in the same list
        raise InputRejected(f"{path}: {len(problems)} problem(s); nothing was applied", problems)
    return apply_versioned(store, payload, "clerks", force)


def check_clerks_payload(payload: Any, where: str = "clerks") -> None:
    """`check_payload` for a clerk roster."""
    check_payload(payload, where, "clerks", "clerks", _contract_problems)
