"""`kassa-provision` bundle, selftest, status, export-pending, reset and repair-journal commands."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from firmware.config import load_config
from provisioning import configfile
from provisioning.app import ConfigOpt, app, bundle_app
from provisioning.checks import checks_table
from provisioning.errors import InputRejected, ResetRefused, SelfTestFailed
from provisioning.output import console, files_table, guard
from provisioning.secretfiles import SERVICE_USER


@bundle_app.command("export")
def bundle_export(
    file: Annotated[Path, typer.Argument(
        help="Bundle file to write on a mounted USB stick, e.g. /media/usb/S001.kassa.json (the same rules as an "
        "export: a real folder on the stick, never the data dir).")],
    config: ConfigOpt = None,
    with_hardware: Annotated[bool, typer.Option(help="Also carry this device's [hardware] URLs.")] = False,
) -> None:
    """Write broker, CA, shop settings, catalog and clerks of this device into one file (no secrets)."""
    from provisioning.bundle import export_bundle

    with guard():
        doc = export_bundle(configfile.resolve(config), file, with_hardware=with_hardware)
        cat, clk = doc.get("catalog") or {}, doc.get("clerks") or {}
        console().print(f"[green]ok[/green] bundle for store {doc['store']} written to {escape(str(file))}: "
                        f"catalog v{cat.get('version', '-')}, clerks v{clk.get('version', '-')}, "
                        f"CA {'included' if doc['broker'].get('ca_pem') else 'none'}")


@bundle_app.command("apply")
def bundle_apply(
    file: Annotated[Path, typer.Argument(help="Bundle made by `bundle export`.")],
    register: Annotated[str, typer.Option(help="This device's register id, e.g. R3.")],
    config: ConfigOpt = None,
    store: Annotated[str | None, typer.Option(help="Override the bundle's store id.")] = None,
    username: Annotated[str | None, typer.Option(help="Broker username (default STORE-REGISTER); '' for none.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="KASSA_BROKER_PASSWORD", help="This device's broker password.")
    ] = None,
    tls_client_key: Annotated[
        bool, typer.Option(help="Make a TLS client key here and print a CSR instead of a password.")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Override the data dir.")] = None,
    scanner: Annotated[str | None, typer.Option(help="Override hardware.scanner.")] = None,
    printer: Annotated[str | None, typer.Option(help="Override hardware.printer.")] = None,
    drawer: Annotated[str | None, typer.Option(help="Override hardware.drawer.")] = None,
    led: Annotated[str | None, typer.Option(help="Override hardware.led.")] = None,
    force: Annotated[bool, typer.Option(
        help="Replace catalog/clerks even when this device holds newer ones, or when the bundle's version is more "
        "than 1,000,000 above them.")] = False,
    service_user: Annotated[str, typer.Option(help="User the service runs as; owns the secrets.")] = SERVICE_USER,
    non_interactive: Annotated[bool, typer.Option("--non-interactive", "-n", help="Never prompt.")] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Trust the bundle's CA and fleet key without asking (compare the fingerprints first)."
        ),
    ] = False,
) -> None:
    """Provision this device from a bundle plus per-device overrides (register id, credentials, hardware).

    Shows the SHA-256 fingerprints of the CA and fleet key the bundle carries and asks before applying; without a
    terminal (or with -n) it needs --yes.
    """
    import sys

    from provisioning.bundle import apply_bundle, check_bundle, read_bundle, target_data_dir, trust_summary

    with guard():
        doc = read_bundle(file)
        path = configfile.resolve(config)
        hardware_urls = {"scanner": scanner, "printer": printer, "drawer": drawer, "led": led}
        # a bad bundle (or a version jump over what this device holds) is refused before trust is asked
        check_bundle(doc, store=store, hardware_urls=hardware_urls, data_dir=target_data_dir(doc, path, data_dir),
                     force=force)
        out = console()
        out.print(f"Bundle {escape(str(file))} asks this device to trust:")
        for line in trust_summary(doc):
            out.print(f"  {escape(line)}", soft_wrap=True)  # a fingerprint is read out whole, never wrapped
        if not yes:
            if non_interactive or not sys.stdin.isatty():
                raise InputRejected(
                    "not applied: confirm the fingerprints above with the fleet team, then run again "
                    "with --yes (no terminal to ask on)"
                )
            if not typer.confirm("Trust this CA and fleet key and apply the bundle?", default=False):
                raise InputRejected("not confirmed; nothing was changed")
        user = username if username is not None else f"{store or doc.get('store')}-{register}"
        if password is None and user and not tls_client_key and not non_interactive:
            held = configfile.read_raw(path).get("broker", {})
            if not held.get("password_file") or held.get("username") != user:
                password = typer.prompt(f"Broker password for {user}", hide_input=True, confirmation_prompt=True)
        done = apply_bundle(
            doc,
            path,
            register=register,
            store=store,
            username=username,
            password=password,
            tls_client_key=tls_client_key,
            data_dir=data_dir,
            force=force,
            service_user=service_user,
            hardware_urls=hardware_urls,
        )
        out.print(files_table(done.init.written))
        for item in done.imported:
            verb = "applied" if item.applied else "kept the one held (same or newer version)"
            out.print(f"{item.kind} v{item.version} ({item.count} entries): {verb}")
        for warning in done.init.warnings:
            out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        if done.init.csr_pem:
            out.print(f"Certificate request for the fleet CA (also in {done.init.csr_path}):")
            out.print(done.init.csr_pem.decode("ascii"), markup=False)
        c = done.init.config
        out.print(f"[green]ok[/green] {c.device.store}/{c.device.register} provisioned from {escape(str(file))}")


@app.command()
def selftest(
    config: ConfigOpt = None,
    scan_wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for a test scan (0 skips the scanner).")
    ] = 15.0,
    ack_timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for the fleet's answer.")] = 5.0,
    only: Annotated[str | None, typer.Option(help="Comma list of: hardware, broker, disk, journal, clock.")] = None,
) -> None:
    """Test printer, drawer, LED, scanner, broker, disk, journal and clock; exit 1 when any check fails."""
    from provisioning.selftest import run_selftest

    with guard():
        cfg = load_config(config)
        parts = {p.strip() for p in only.split(",")} if only else None
        unknown = (parts or set()) - {"hardware", "broker", "disk", "journal", "clock"}
        if unknown:
            raise typer.BadParameter(f"unknown part(s) {', '.join(sorted(unknown))}", param_hint="--only")
        out = console()
        checks = run_selftest(
            cfg,
            scan_wait=scan_wait,
            ack_timeout=ack_timeout,
            only=parts,
            announce=lambda text: out.print(f"[bold]{escape(text)}[/bold]"),
        )
        out.print(checks_table(checks, f"Self-test {cfg.device.store}/{cfg.device.register}"))
        failed = [c.name for c in checks if c.ok is False]
        if failed:
            raise SelfTestFailed(
                f"{len(failed)} check(s) failed: {', '.join(failed)}; apply the fixes above and run selftest again"
            )
        out.print("[green]all checks passed[/green]")


@app.command()
def status(
    config: ConfigOpt = None,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="Ask the broker for the register's retained status.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Identity, versions, online state, pending and quarantined receipts, last sync, disk and journal space."""
    from provisioning.status import gather_status

    with guard():
        path = configfile.resolve(config)
        info = gather_status(load_config(path), path, probe=probe)
        if as_json:
            typer.echo(json.dumps(info, indent=1, default=str))
            return
        table = Table(title=f"Kassa {info['store']}/{info['register']}", show_header=False)
        table.add_column("what")
        table.add_column("value", overflow="fold")
        for key, value in info.items():
            table.add_row(key.replace("_", " "), escape("-" if value is None else str(value)))
        console().print(table)


@app.command("export-pending")
def export_pending_cmd(
    directory: Annotated[Path, typer.Argument(help="Where to write (e.g. the mounted USB stick).")],
    config: ConfigOpt = None,
) -> None:
    """Export every receipt the fleet has not confirmed as CSV and JSON (needed before a reset)."""
    from provisioning.pending_export import export_pending

    with guard():
        cfg = load_config(config)
        out = console()
        with Progress(
            TextColumn("exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=False,
        ) as bar:
            task = bar.add_task("export", total=None)
            done = export_pending(
                cfg,
                directory,
                start=lambda total: bar.update(task, total=total),
                advance=lambda n: bar.advance(task, n),
            )
        out.print(files_table(done.files))
        out.print(f"[green]ok[/green] {done.count} unconfirmed receipt(s) exported"
                  + (f", and {done.records} unsent time clock punch(es) and e-mail request(s)" if done.records else ""))


@app.command("export")
def export_range_cmd(
    directory: Annotated[Path, typer.Argument(help="Where to write (e.g. the mounted USB stick).")],
    since: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (device time, UTC).")],
    until: Annotated[str, typer.Option("--to", help="Last day included, YYYY-MM-DD.")],
    config: ConfigOpt = None,
) -> None:
    """Export every receipt made between two days as CSV (one row per line) and JSON, for the accountant."""
    from datetime import date, datetime, time, timedelta

    from firmware.exports import ExportRefused, export_receipts, receipts_between
    from provisioning.journal_access import open_journal

    with guard():
        try:
            first, last = date.fromisoformat(since), date.fromisoformat(until)
        except ValueError:
            raise typer.BadParameter("dates look like 2026-11-25", param_hint="--from/--to") from None
        if last < first:
            raise typer.BadParameter("--to is before --from", param_hint="--to")
        start = datetime.combine(first, time(), UTC)
        end = datetime.combine(last + timedelta(days=1), time(), UTC)
        cfg = load_config(config)
        with open_journal(cfg) as journal:
            stem = f"kassa-{cfg.device.store}-{cfg.device.register}-{first:%Y%m%d}-{last:%Y%m%d}"
            try:
                result = export_receipts(
                    receipts_between(journal, start, end), directory, stem, data_dir=cfg.device.data_dir,
                    currency_display=cfg.shop.currency_display,
                )
            except ExportRefused as exc:
                raise InputRejected(f"{exc}; nothing was exported") from None
        out = console()
        out.print(files_table([result.lines_csv, result.receipts_json]))
        out.print(f"[green]ok[/green] {result.receipts} receipt(s) from {first} to {last} exported")


@app.command()
def reset(
    config: ConfigOpt = None,
    force: Annotated[
        bool, typer.Option(help="Reset although receipts, punches or e-mail requests are unconfirmed (only when all "
                                "were exported).")
    ] = False,
    wipe_config: Annotated[bool, typer.Option(help="Also delete the config, password and device key.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Archive the journal and local data; refused while receipts are unconfirmed unless exported and --force."""
    from provisioning.reset import reset_device

    with guard():
        path = configfile.resolve(config)
        cfg = load_config(path)
        if not yes and not typer.confirm(f"Reset register {cfg.device.store}/{cfg.device.register}?", default=False):
            raise ResetRefused("not confirmed; nothing was changed")
        done = reset_device(cfg, path, force=force, wipe_config=wipe_config)
        out = console()
        if done.archive:
            out.print(f"journal archived in {escape(str(done.archive))}")
        for removed in done.removed:
            out.print(f"removed {escape(str(removed))}")
        out.print(
            "[green]ok[/green] reset done"
            + (f" ({done.unconfirmed} exported, unconfirmed receipt(s) archived)" if done.unconfirmed else "")
            + (f" ({done.unsent_records} exported, unsent punch(es) and e-mail request(s) archived)"
               if done.unsent_records else "")
        )


@app.command("repair-journal")
def repair_journal_cmd(
    config: ConfigOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop a torn journal tail (an interrupted write), keeping a copy; refuses any other damage. Service stopped."""
    from firmware.journal.audit import TornTail
    from provisioning.repair import repair_journal

    with guard():
        cfg = load_config(config)
        out = console()

        def confirm(tails: list[TornTail]) -> bool:
            for tail in tails:
                out.print(
                    f"torn tail: {tail.end - tail.offset} bytes of an incomplete record at offset {tail.offset} "
                    f"of {escape(tail.path)}"
                )
            return yes or typer.confirm("Drop it (a copy is kept under the data dir's archive/)?", default=False)

        done = repair_journal(cfg, confirm=confirm)
        if done.archive is None:
            out.print(f"[green]ok[/green] nothing to repair: no torn tail, {done.receipts} receipts intact")
            return
        for tail in done.dropped:
            out.print(f"dropped {tail.end - tail.offset} bytes at offset {tail.offset} of {escape(tail.path)}")
        out.print(f"originals and dropped bytes kept in {escape(str(done.archive))} (README.txt, repair.json)")
        out.print(
            f"[green]ok[/green] journal repaired: {done.receipts} receipts intact; run `kassa-provision selftest`"
        )
