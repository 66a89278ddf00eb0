"""`kassa-provision` setup commands: init, install-cert, hardware, catalog, clerks, install-service; and `main`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from firmware.config import load_config
from provisioning import configfile
from provisioning.app import ConfigOpt, app
from provisioning.errors import InputRejected
from provisioning.output import console, files_table, guard
from provisioning.secretfiles import SERVICE_USER


def _ask(value: object, prompt: str, default: object, interactive: bool, **kw: object) -> object:
    if value is not None or not interactive:
        return value if value is not None else default
    return typer.prompt(prompt, default=default, **kw)  # type: ignore[arg-type]


@app.command()
def init(
    config: ConfigOpt = None,
    store: Annotated[str | None, typer.Option(help="Store id, e.g. S001.")] = None,
    register: Annotated[str | None, typer.Option(help="Register id, e.g. R1.")] = None,
    broker: Annotated[str | None, typer.Option(help="Broker URL: mqtt://host:1883 or mqtts://host:8883.")] = None,
    username: Annotated[str | None, typer.Option(help="Broker username (per device); '' for none.")] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="KASSA_BROKER_PASSWORD", help="Broker password (prefer the prompt or the env var)."),
    ] = None,
    tls_client_key: Annotated[
        bool, typer.Option(help="Make a TLS client key on this device and print a CSR for the fleet CA.")
    ] = False,
    new_key: Annotated[bool, typer.Option(help="With --tls-client-key: replace an existing key.")] = False,
    ca_file: Annotated[
        Path | None, typer.Option(help="The fleet CA (PEM) to verify the broker; copied next to the config.")
    ] = None,
    fleet_key: Annotated[
        Path | None,
        typer.Option(
            help="The fleet's public signing key (PEM, `kassa-fleet keygen`): pinned; then only signed catalogs, "
            "rosters and commands are accepted."
        ),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where the journal lives (default /var/lib/kassa).")] = None,
    shop_name: Annotated[str | None, typer.Option(help="Shop name printed on receipts.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO currency code, e.g. EUR.")] = None,
    tax_included: Annotated[
        bool | None, typer.Option("--tax-included/--tax-excluded", help="Prices include tax.")
    ] = None,
    cash_rounding: Annotated[
        int | None, typer.Option(help="Cash rounding step in minor units (0 = none, 5 = 0.05).")
    ] = None,
    service_user: Annotated[str, typer.Option(help="User the service runs as; owns the secrets.")] = SERVICE_USER,
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", "-n", help="Never prompt; use flags and defaults.")
    ] = False,
) -> None:
    """Write identity, broker credentials, data dir and shop settings (prompts for what is not given)."""
    from provisioning.initialize import InitAnswers, init_device

    with guard():
        path = configfile.resolve(config)
        held = configfile.read_raw(path)
        dev, brk, shop_held = held.get("device", {}), held.get("broker", {}), held.get("shop", {})
        ask = not non_interactive
        store_v = _ask(store, "Store id", dev.get("store"), ask)
        register_v = _ask(register, "Register id", dev.get("register"), ask)
        if not store_v or not register_v:
            raise InputRejected("store and register are required: give --store S001 --register R1")
        broker_v = _ask(broker, "Broker URL", brk.get("url", "mqtt://127.0.0.1:1883"), ask)
        user_default = brk.get("username", f"{store_v}-{register_v}") if ask else brk.get("username")
        username_v = _ask(username, "Broker username ('-' for none)", user_default, ask)
        username_v = "" if username_v == "-" else username_v
        if password is None and ask and username_v and not tls_client_key and not brk.get("password_file"):
            password = typer.prompt("Broker password", hide_input=True, confirmation_prompt=True)
        data_v = _ask(data_dir, "Data dir (journal)", dev.get("data_dir", "/var/lib/kassa"), ask)
        shop: dict[str, object] = {}
        for key, value, prompt in (("name", shop_name, "Shop name"), ("currency", currency, "Currency")):
            chosen = _ask(value, prompt, shop_held.get(key), ask and key not in shop_held)
            if chosen is not None:
                shop[key] = str(chosen).upper() if key == "currency" else chosen
        if tax_included is not None:
            shop["tax_included"] = tax_included
        if cash_rounding is not None:
            shop["cash_rounding"] = cash_rounding
        result = init_device(
            path,
            InitAnswers(
                store=str(store_v),
                register=str(register_v),
                broker_url=str(broker_v) if broker_v else None,
                username=None if username_v is None else str(username_v),
                password=password,
                tls_client_key=tls_client_key,
                new_key=new_key,
                ca_file=ca_file,
                fleet_key=fleet_key,
                data_dir=Path(str(data_v)) if data_v else None,
                shop=shop,
                service_user=service_user,
            ),
        )
        out = console()
        out.print(files_table(result.written))
        for warning in result.warnings:
            out.print(f"[yellow]warning:[/yellow] {warning}")
        for fp in result.fleet_key_fingerprints:
            out.print(f"fleet key pinned: SHA256:{fp} (compare with what `kassa-fleet keygen` printed)")
        if result.csr_pem:
            out.print(f"Certificate request for the fleet CA (also in {result.csr_path}):")
            out.print(result.csr_pem.decode("ascii"), markup=False)
            out.print("When the fleet CA has signed it: `kassa-provision install-cert device.pem`")
        out.print(
            f"[green]ok[/green] {result.config.device.store}/{result.config.device.register} configured in {path}"
        )


@app.command("install-cert")
def install_cert(
    cert: Annotated[Path, typer.Argument(help="The signed device certificate (PEM) from the fleet CA.")],
    config: ConfigOpt = None,
) -> None:
    """Install the fleet-signed certificate for this device's key (checked against the key and the CA)."""
    from provisioning.initialize import install_certificate

    with guard():
        try:
            pem = cert.read_bytes()
        except FileNotFoundError:
            raise InputRejected(f"{cert}: no such file; copy the signed certificate onto the device first") from None
        target = install_certificate(configfile.resolve(config), pem)
        console().print(f"[green]ok[/green] certificate installed at {target}")


@app.command()
def hardware(
    config: ConfigOpt = None,
    scanner: Annotated[str | None, typer.Option(help="e.g. serial:///dev/ttyACM0?baud=9600, or simulated.")] = None,
    printer: Annotated[
        str | None, typer.Option(help="e.g. usb://0x04b8:0x0202, tcp://host:9100, file:///dev/usb/lp0.")
    ] = None,
    drawer: Annotated[str | None, typer.Option(help="printer, gpio:17 (?sensor=27), or simulated.")] = None,
    led: Annotated[str | None, typer.Option(help="gpio:22, gpio:red=5,green=6, or simulated.")] = None,
    paper_columns: Annotated[int | None, typer.Option(help="Characters per printed line (42 for 80 mm paper).")] = None,
    detect: Annotated[
        bool, typer.Option("--detect/--no-detect", help="List serial ports, USB printers and GPIO.")
    ] = True,
) -> None:
    """Detect scanners, printers and GPIO here; set the hardware URLs (checked with hal's parsers)."""
    from rich.markup import escape
    from rich.table import Table

    from provisioning import hardware as hw

    with guard():
        path = configfile.resolve(config)
        out = console()
        if detect:
            table = Table(title="Found on this device")
            for col in ("kind", "where", "detail", "use as"):
                table.add_column(col)
            for cand in [*hw.detect_serial(), *hw.detect_usb_printers(), *hw.detect_gpio()]:
                table.add_row(cand.kind, cand.where, cand.detail, cand.url)
            if not table.rows:
                table.add_row("-", "nothing found", "plug the devices in (and check `dmesg`)", "")
            out.print(table)
        urls = {"scanner": scanner, "printer": printer, "drawer": drawer, "led": led}
        if any(v is not None for v in urls.values()) or paper_columns is not None:
            cfg = hw.set_hardware(path, urls, paper_columns)
        else:
            cfg = load_config(path)
        current = Table(title=escape(f"[hardware] in {path}"))
        current.add_column("device")
        current.add_column("url")
        for key in ("scanner", "printer", "drawer", "led"):
            current.add_row(key, getattr(cfg.hardware, key))
        out.print(current)


def _import(kind: str, file: Path, config: Path | None, version: int | None, force: bool) -> None:
    with guard():
        cfg = load_config(config)
        if kind == "catalog":
            from provisioning.catalog_import import import_catalog as run
        else:
            from provisioning.clerk_import import import_clerks as run  # type: ignore[assignment]
        done = run(file, cfg, version=version, force=force)
        console().print(f"[green]ok[/green] {kind} version {done.version}: {done.count} entries applied")


@app.command()
def catalog(
    file: Annotated[Path, typer.Argument(help="CSV (sku,name,price,tax_code,barcodes,weighed,quick_key) or JSON.")],
    config: ConfigOpt = None,
    version: Annotated[int | None, typer.Option(help="Version to store (default: the file's, else held + 1).")] = None,
    force: Annotated[bool, typer.Option(
        help="Replace even when the version is not newer, or more than 1,000,000 above the one held.")] = False,
) -> None:
    """Import the catalog: every bad row is reported; nothing is applied unless the whole file is good."""
    _import("catalog", file, config, version, force)


@app.command()
def clerks(
    file: Annotated[Path, typer.Argument(help="CSV (clerk_id,name,role,pin) or JSON; PINs are hashed on import.")],
    config: ConfigOpt = None,
    version: Annotated[int | None, typer.Option(help="Version to store (default: the file's, else held + 1).")] = None,
    force: Annotated[bool, typer.Option(
        help="Replace even when the version is not newer, or more than 1,000,000 above the one held.")] = False,
) -> None:
    """Import clerks: PINs are stored only as salted hashes; nothing is applied unless the whole file is good."""
    _import("clerks", file, config, version, force)


@app.command("install-service")
def install_service_cmd(
    config: ConfigOpt = None,
    root: Annotated[Path | None, typer.Option(help="Write into this staging root instead of / (no systemctl).")] = None,
    enable: Annotated[bool, typer.Option("--enable/--no-enable", help="Enable and start the unit.")] = True,
    user: Annotated[str, typer.Option(help="Dedicated service user (created when missing).")] = SERVICE_USER,
    exec_start: Annotated[str | None, typer.Option("--exec", help="Path of the `kassa` command.")] = None,
    watchdog: Annotated[
        int, typer.Option(min=5, max=600, help="WatchdogSec: restart when the register stops pinging.")
    ] = 30,
    scanner_id: Annotated[
        str | None, typer.Option(help="Scanner USB id VID:PID for a stable /dev/kassa-scanner.")
    ] = None,
) -> None:
    """Install the systemd unit (Type=notify, watchdog, Restart=always) and the udev rules."""
    from provisioning.service import install_service

    with guard():
        path = configfile.resolve(config)
        cfg = load_config(path)
        plan = install_service(
            cfg,
            path,
            root=root,
            user=user,
            exec_start=exec_start,
            watchdog=watchdog,
            enable=enable,
            scanner_id=scanner_id,
        )
        out = console()
        out.print(files_table(plan.files))
        for cmd in plan.commands:
            out.print(f"ran: {' '.join(cmd)}", markup=False)
        for note in plan.notes:
            out.print(f"note: {note}", markup=False)
        out.print("[green]ok[/green] service installed")


# The service-side commands (bundle, selftest, status, export-pending, reset) register on the same app.
import provisioning.cli_service  # noqa: E402,F401


def main() -> None:
    os.umask(0o077)  # secrets, stores and exports are never group/world readable, whatever the shell's umask
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(1) from None
