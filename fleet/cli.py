"""`kassa-fleet`: the reference fleet backend (ingest worker, catalog/clerk publishing, status)."""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from fleet.broker import BrokerSettings, default_client_id
from fleet.errors import FleetError, FleetUsageError

app = typer.Typer(help="Kassa fleet reference backend.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)

F = TypeVar("F", bound=Callable[..., Any])

BrokerOpt = Annotated[str, typer.Option("--broker", help="mqtt://host:1883 or mqtts://host:8883")]
PrefixOpt = Annotated[str, typer.Option(help="topic prefix of CONTRACT.md")]
UserOpt = Annotated[str | None, typer.Option(help="broker username")]
PassOpt = Annotated[Path | None, typer.Option(help="file (mode 0600) holding the broker password")]
CaOpt = Annotated[Path | None, typer.Option(help="CA certificate for mqtts://")]
CertOpt = Annotated[Path | None, typer.Option(help="client certificate for mqtts://")]
KeyOpt = Annotated[Path | None, typer.Option(help="client key for mqtts://")]
DbOpt = Annotated[str, typer.Option("--db", help="sqlite:///fleet.db (or a path)")]


def _errors(func: F) -> F:
    """One line on stderr and CONTRACT.md's exit codes instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FleetUsageError as exc:
            typer.echo(f"kassa-fleet: {exc}", err=True)
            raise typer.Exit(2) from None
        except FleetError as exc:
            typer.echo(f"kassa-fleet: {exc}", err=True)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence of a CLI
            typer.echo(f"kassa-fleet: unexpected error: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _settings(broker: str, username: str | None, password_file: Path | None, ca_file: Path | None,
              cert_file: Path | None, key_file: Path | None) -> BrokerSettings:
    settings = BrokerSettings(broker, username, password_file, ca_file, cert_file, key_file)
    settings.host_port  # validates the URL (FleetUsageError)
    return settings


@app.command()
@_errors
def ingest(
    broker: BrokerOpt = "mqtt://127.0.0.1:1883",
    db: DbOpt = "sqlite:///fleet.db",
    prefix: PrefixOpt = "kassa/v1",
    group: Annotated[str, typer.Option(help="shared-subscription group")] = "kassa-ingest",
    client_id: Annotated[str | None, typer.Option(help="MQTT client id (stable per worker)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 200,
    batch_ms: Annotated[float, typer.Option(min=0.0)] = 10.0,
    gap_grace: Annotated[float, typer.Option(help="seconds a seq gap may stay open before `resend`")] = 15.0,
    resend_every: Annotated[float, typer.Option(help="seconds between resend requests for one gap")] = 60.0,
    session_expiry: Annotated[int, typer.Option(
        help="seconds the broker keeps this worker's queue when it is gone (0: none; devices re-send)")] = 0,
    keepalive: Annotated[int, typer.Option(min=5)] = 30,
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Ingest receipts, reports and status into a database; confirm on each device's acks topic."""
    from fleet.db import FleetDb
    from fleet.ingest import IngestOptions, IngestWorker

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    settings = _settings(broker, username, password_file, ca_file, cert_file, key_file)
    database = FleetDb(db)
    options = IngestOptions(prefix=prefix, group=group, client_id=client_id or default_client_id("ingest"),
                            batch_size=batch_size, batch_wait=batch_ms / 1000.0, receive_maximum=max(1000, batch_size),
                            session_expiry=session_expiry, keepalive=keepalive, gap_grace=gap_grace,
                            resend_every=resend_every)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: stop.set())
    worker = IngestWorker(settings, database, options)
    stats = worker.run(stop)
    database.close()
    typer.echo(f"kassa-fleet: ingest stopped: {stats.receipts_new} new receipts, {stats.receipts_duplicate} "
               f"duplicates, {stats.rejected} rejected", err=True)


def _publish(kind: str, file: Path, broker: str, store: str, prefix: str, force: bool, username: str | None,
             password_file: Path | None, ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> None:
    from firmware.contract.payloads import ID
    from fleet.publish import publish_document, read_document
    from pydantic import TypeAdapter, ValidationError

    try:
        TypeAdapter(ID).validate_python(store)
    except ValidationError:
        raise FleetUsageError(f"--store {store!r}: use 1-32 of A-Z a-z 0-9 _ -") from None
    settings = _settings(broker, username, password_file, ca_file, cert_file, key_file)
    payload, version = read_document(file, kind)
    previous = publish_document(settings, prefix=prefix, store=store, kind=kind, payload=payload, version=version,
                                force=force)
    was = f" (replacing version {previous})" if previous is not None else ""
    typer.echo(f"published {kind} version {version} for store {store}{was}")


@app.command("publish-catalog")
@_errors
def publish_catalog(
    file: Annotated[Path, typer.Argument(help="catalog JSON (CONTRACT.md shape)")],
    store: Annotated[str, typer.Option(help="store id")],
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    force: Annotated[bool, typer.Option(help="publish even if not newer than the retained version")] = False,
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
) -> None:
    """Publish a store's catalog (retained, versioned, validated first)."""
    _publish("catalog", file, broker, store, prefix, force, username, password_file, ca_file, cert_file, key_file)


@app.command("publish-clerks")
@_errors
def publish_clerks(
    file: Annotated[Path, typer.Argument(help="clerks JSON (CONTRACT.md shape, PINs as hashes)")],
    store: Annotated[str, typer.Option(help="store id")],
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    force: Annotated[bool, typer.Option(help="publish even if not newer than the retained version")] = False,
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
) -> None:
    """Publish a store's clerk roster (retained, versioned, validated first)."""
    _publish("clerks", file, broker, store, prefix, force, username, password_file, ca_file, cert_file, key_file)


@app.command()
@_errors
def status(
    db: DbOpt = "sqlite:///fleet.db",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Devices, online/offline, pending receipts and sequence gaps, from the ingest database."""
    from fleet.db import FleetDb, sqlite_path
    from fleet.report import render_status, status_rows

    if not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    database = FleetDb(db)
    rows = status_rows(database)
    database.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        render_status(rows)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
