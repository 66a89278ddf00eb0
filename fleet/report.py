"""`kassa-fleet status`: one row per register from the ingest database, as a table or JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from fleet.db import FleetDb


def status_rows(db: FleetDb) -> list[dict[str, Any]]:
    """Devices known by status or receipts, with receipt counts and open gaps."""
    devices = {(d["store"], d["register"]): d for d in db.devices()}
    counts = db.receipt_counts()
    gaps = db.gaps(remember=False)  # a report only reads
    rows = []
    for key in sorted(set(devices) | set(counts)):
        d = devices.get(key, {})
        rows.append({
            "store": key[0], "register": key[1], "state": d.get("state", "unknown"),
            "pending": d.get("pending"), "quarantined": d.get("quarantined"),
            "last_sync_at": d.get("last_sync_at"), "status_at": d.get("at"),
            "firmware_version": d.get("firmware_version"), "receipts": counts.get(key, 0),
            "gaps": [f"{g.epoch}:{g.from_seq}-{g.to_seq}" for g in gaps if (g.store, g.register) == key],
        })
    return rows


def render_status(rows: list[dict[str, Any]]) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped output is read by scripts and people alike: never truncate
    if not rows:
        console.print("No devices have reported yet.")
        return
    table = Table("store", "register", "state", "pending", "quarantined", "receipts", "last sync", "gaps")
    for r in rows:
        state = {"online": "[green]online[/]", "offline": "[red]offline[/]"}.get(r["state"], r["state"])
        table.add_row(r["store"], r["register"], state, str(r["pending"] if r["pending"] is not None else "-"),
                      str(r["quarantined"] or 0), str(r["receipts"]), r["last_sync_at"] or "-",
                      ", ".join(r["gaps"]) or "none")
    console.print(table)
