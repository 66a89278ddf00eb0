"""`kassa-fleet status`: one row per register from the ingest database, as a table or JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from firmware.contract import DEFAULT_PREFIX, parse_topic
from fleet.accounting import money_of
from fleet.accounts import AccountFlag
from fleet.db import FleetDb


def status_rows(db: FleetDb, prefix: str = DEFAULT_PREFIX) -> list[dict[str, Any]]:
    """Devices known by status or receipts, with receipt counts, open gaps and every ledger alarm."""
    devices = {(d["store"], d["register"]): d for d in db.devices()}
    counts = db.receipt_counts()
    gaps = db.gaps(remember=False)  # a report only reads
    flags = db.flag_counts()
    mail = db.mail_counts()
    per_device: dict[tuple[str, str], dict[str, list[Any]]] = {}

    def add(key: tuple[str, str], kind: str, item: Any) -> None:
        per_device.setdefault(key, {}).setdefault(kind, []).append(item)

    for c in db.conflicts():
        add((c["store"], c["register"]), "conflicts", c)
    for b in db.chain_breaks():
        add((b["store"], b["register"]), "chain_breaks", b)
    for r in db.rollbacks():
        add((r["store"], r["register"]), "rollbacks", r)
    for loss in db.losses():
        add((loss.store, loss.register), "lost", {"epoch": loss.epoch, "head_seq": loss.head_seq,
                                                  "missing": loss.missing})
    for store, register, epoch in db.restarts():
        add((store, register), "restarts", {"epoch": epoch})
    money = money_of(db)
    for f in db.account_flags():
        # an account taken past its limit (docs/accounts.md), on every register that spent it
        flag = AccountFlag(f["kind"], f["account"], f["balance"], f["credit_limit"], f["last4"],
                           tuple(x for x in f["registers"].split(",") if x),
                           tuple(x for x in f["approved_by"].split(",") if x))
        item = {"kind": flag.kind, "account": flag.account, "balance": flag.balance, "limit": flag.limit,
                "last4": flag.last4, "registers": list(flag.registers), "approved_by": list(flag.approved_by),
                "at": f["at"], "detail": flag.describe(money)}
        for named in flag.registers:
            store, _, register = named.partition(":")
            add((store, register), "accounts", item)
    for reuse in db.coupon_reuses():
        # a single-use coupon redeemed by two sales or more (docs/promotions.md#on-the-fleet), on every register
        item = {**reuse, "registers": sorted({f"{u['store']}:{u['register']}" for u in reuse["uses"]}),
                "receipt_ids": [u["receipt_id"] for u in reuse["uses"]], "detail": coupon_detail(reuse)}
        for store, register in sorted({(u["store"], u["register"]) for u in reuse["uses"]}):
            add((store, register), "coupons", item)
    for c in db.punch_conflicts():
        add((c["store"], c["register"]), "punch_conflicts", c)
    for store, register, sentence in punch_chain_breaks(db):
        add((store, register), "punch_chain_breaks", sentence)
    for o in db.stock_oversells():
        for register in o["sold"]:
            add((o["store"], register), "stock_oversells", o)
    for c in db.stock_conflicts():
        add((c["store"], c["register"]), "stock_conflicts", c)
    from fleet.customerdb import customer_conflicts, duplicate_codes

    for c in customer_conflicts(db):  # docs/customers.md: another edit under an id the fleet holds
        add((c["store"], c["register"]), "customer_conflicts", c)
    for d in duplicate_codes(db):  # one card number on two live customers, on each register that created one
        for register in sorted({cid.split(":")[1] for cid in d["customer_ids"]}):
            add((d["store"], register), "customer_duplicates", d)
    for topic, n in db.reject_counts():
        parsed = parse_topic(topic, prefix)
        if parsed is not None and parsed[1] is not None:
            add((parsed[0], parsed[1]), "rejected", n)
    rows = []
    for key in sorted(set(devices) | set(counts) | set(per_device) | set(mail)):
        d = devices.get(key, {})
        found = per_device.get(key, {})
        row: dict[str, Any] = {
            "store": key[0], "register": key[1], "state": d.get("state", "unknown"),
            "pending": d.get("pending"), "quarantined": d.get("quarantined"),
            "last_sync_at": d.get("last_sync_at"), "status_at": d.get("at"),
            "firmware_version": d.get("firmware_version"), "receipts": counts.get(key, 0),
            "epoch": d.get("epoch"), "head_seq": d.get("head_seq"),
            "gaps": [f"{g.epoch}:{g.from_seq}-{g.to_seq}" for g in gaps if (g.store, g.register) == key],
            "conflicts": found.get("conflicts", []), "chain_breaks": found.get("chain_breaks", []),
            "rollbacks": found.get("rollbacks", []), "lost": found.get("lost", []),
            "restarts": found.get("restarts", []), "flags": flags.get(key, {}),
            "device_conflicts": d.get("conflicts") or 0, "rejected": sum(found.get("rejected", [])),
            "accounts": found.get("accounts", []),
            "coupons": found.get("coupons", []),
            "punch_conflicts": found.get("punch_conflicts", []),
            "punch_chain_breaks": found.get("punch_chain_breaks", []),
            "mail": mail.get(key, {}),
            "stock_oversells": found.get("stock_oversells", []),
            "stock_conflicts": found.get("stock_conflicts", []),
            "customer_conflicts": found.get("customer_conflicts", []),
            "customer_duplicates": found.get("customer_duplicates", []),
        }
        row["alarms"] = alarms(row)
        rows.append(row)
    return rows


def coupon_detail(reuse: dict[str, Any]) -> str:
    """ "single-use code C-1 redeemed 2x: S001:R1 receipt ..., S001:R2 receipt ..." (oldest first)."""
    uses = ", ".join(f"{u['store']}:{u['register']} receipt {u['receipt_id']}" for u in reuse["uses"])
    return f"single-use code {reuse['code']} redeemed {len(reuse['uses'])}x: {uses}"


def punch_chain_breaks(db: FleetDb) -> list[tuple[str, str, str]]:
    """(store, register, sentence) per punch that does not link to the one before (fleet.timeclock)."""
    from firmware.contract import decode
    from firmware.contract.timeclock import PunchMessage
    from fleet.timeclock import check_chains

    out = []
    for store in db.punch_stores():
        messages = [decode(PunchMessage, body) for body in db.punch_bodies(store)]
        for sentence in check_chains(messages):
            register = sentence.split(" ", 1)[0].split("/", 1)[1]
            out.append((store, register, sentence))
    return out


def alarms(row: dict[str, Any]) -> list[str]:
    """One sentence per thing a fleet engineer must look at on this register; empty when all is well."""
    out = [f"conflict: {c['receipt_id']} sent {c['times']}x with another hash than the one held (not confirmed)"
           for c in row["conflicts"]]
    out += [f"chain break: epoch {b['epoch']} seq {b['seq']}: {b['detail']}" for b in row["chain_breaks"]]
    out += [f"rollback: epoch {r['epoch']}: {r['detail']}" for r in row["rollbacks"]]
    out += [f"lost: {x['missing']} receipt(s) of epoch {x['epoch']} up to seq {x['head_seq']} never arrived"
            for x in row["lost"]]
    out += [f"journal restarted: epoch {x['epoch']} began from nothing while the register had earlier epochs"
            for x in row["restarts"]]
    out += [f"flagged: {n} receipt(s) {flag}" for flag, n in sorted(row["flags"].items())]
    out += [f"{a['kind']}: {a['detail']}" for a in row.get("accounts", [])]
    out += [f"coupon reused: {c['detail']}" for c in row.get("coupons", [])]
    out += [f"punch conflict: {c['punch_id']} sent {c['times']}x with another hash than the one held "
            "(not confirmed)" for c in row.get("punch_conflicts", [])]
    out += [f"punch chain break: {sentence}" for sentence in row.get("punch_chain_breaks", [])]
    for o in row.get("stock_oversells", []):
        since = f"since the count {o['since_register']}:{o['since_seq']}" if o["since_register"] else "before any count"
        sold = ", ".join(f"{r} sold {n}" for r, n in sorted(o["sold"].items()))
        out.append(f"stock oversold: {o['sku']} down to {o['lowest']} {since} ({sold})")
    out += [f"stock conflict: seq {c['seq']} sent {c['times']}x with other content than the delta held"
            for c in row.get("stock_conflicts", [])]
    out += [f"customer edit conflict: {c['register']}:{c['epoch']}:{c['seq']} (customer {c['customer_id']}) sent "
            f"{c['times']}x with other content than the edit held (set aside, not merged)"
            for c in row.get("customer_conflicts", [])]
    out += [f"customer card number {d['code']} held twice: {', '.join(d['customer_ids'])} (give one a new card "
            "number or delete one)" for d in row.get("customer_duplicates", [])]
    if row.get("mail", {}).get("failed"):
        out.append(f"mail: {row['mail']['failed']} e-mailed receipt(s) could not be sent (see the mail_requests table)")
    if row["rejected"]:
        out.append(f"rejected: {row['rejected']} message(s) on its topics (forged identity, bad hash or malformed)")
    if row["device_conflicts"] and not row["conflicts"]:
        out.append(f"the register reports {row['device_conflicts']} conflicting receipt(s)")
    return out


def render_status(rows: list[dict[str, Any]]) -> None:
    console = Console(emoji=False)
    if not console.is_terminal:
        console = Console(width=200, emoji=False)  # piped output is read by scripts and people alike: never truncate
    if not rows:
        console.print("No devices have reported yet.")
        return
    table = Table("store", "register", "state", "epoch", "pending", "quarantined", "receipts", "last sync", "gaps",
                  "alarms")
    for r in rows:
        state = {"online": "[green]online[/]", "offline": "[red]offline[/]"}.get(r["state"], r["state"])
        alarm = "\n".join(f"[red]{a}[/]" for a in r["alarms"]) or "none"
        table.add_row(r["store"], r["register"], state, r["epoch"] or "-",
                      str(r["pending"] if r["pending"] is not None else "-"),
                      str(r["quarantined"] or 0), str(r["receipts"]), r["last_sync_at"] or "-",
                      ", ".join(r["gaps"]) or "none", alarm)
    console.print(table)
    total = sum(len(r["alarms"]) for r in rows)
    console.print(f"[red]{total} alarm(s)[/]" if total else "no alarms")
