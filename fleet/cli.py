"""`kassa-fleet`: the reference fleet backend (ingest worker, catalog/clerk publishing, status)."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
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
PrefixOpt = Annotated[str, typer.Option(help="topic prefix (docs/contract.md#mqtt)")]
UserOpt = Annotated[str | None, typer.Option(help="broker username")]
PassOpt = Annotated[Path | None, typer.Option(help="file (mode 0600) holding the broker password")]
CaOpt = Annotated[Path | None, typer.Option(help="CA certificate for mqtts://")]
CertOpt = Annotated[Path | None, typer.Option(help="client certificate for mqtts://")]
KeyOpt = Annotated[Path | None, typer.Option(help="client key for mqtts://")]
DbOpt = Annotated[str, typer.Option("--db", help="sqlite:///fleet.db (or a path), or postgresql://user@host/db")]
SigningKeyOpt = Annotated[Path | None, typer.Option(
    "--signing-key", envvar="KASSA_FLEET_SIGNING_KEY",
    help="the fleet's Ed25519 private key (mode 0600, from `kassa-fleet keygen`) to sign with")]
UnsignedOpt = Annotated[bool, typer.Option(
    "--unsigned", help="publish without a signature: only for a lab whose registers pin no fleet key")]
StateOpt = Annotated[Path | None, typer.Option(
    "--state-file", envvar="KASSA_FLEET_STATE_FILE",
    help="where the last published versions are recorded [default: ~/.local/state/kassa-fleet/published.json]")]


def _errors(func: F) -> F:
    """One line on stderr and the contract's exit codes (docs/contract.md#exit-codes) instead of a traceback."""

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
    _ = settings.host_port  # validates the URL (FleetUsageError)
    return settings


@app.command()
@_errors
def ingest(
    broker: Annotated[list[str] | None, typer.Option(
        "--broker",
        help="mqtt://host:1883 or mqtts://host:8883; repeat for stores spread over several brokers")] = None,
    db: DbOpt = "sqlite:///fleet.db",
    prefix: PrefixOpt = "kassa/v1",
    group: Annotated[str, typer.Option(help="shared-subscription group")] = "kassa-ingest",
    client_id: Annotated[str | None, typer.Option(help="MQTT client id (stable per worker)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    batch_ms: Annotated[float, typer.Option(min=0.0)] = 10.0,
    gap_grace: Annotated[float, typer.Option(help="seconds a seq gap may stay open before `resend`")] = 15.0,
    resend_every: Annotated[float, typer.Option(help="seconds between resend requests for one gap")] = 60.0,
    session_expiry: Annotated[int, typer.Option(
        min=0, max=2**32 - 1,
        help="seconds the broker keeps this worker's queue when it is gone (0: none; devices re-send)")] = 0,
    keepalive: Annotated[int, typer.Option(min=5)] = 30,
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    signing_key: SigningKeyOpt = None,
    unsigned: Annotated[bool, typer.Option(
        "--unsigned", help="send resend commands without a signature: only for a lab whose registers pin no "
        "fleet key")] = False,
    mail_domain: Annotated[str, typer.Option(
        "--mail-domain", envvar="KASSA_FLEET_MAIL_DOMAIN",
        help="right side of e-mailed receipts' Message-ID: the mailer's [mail] message_id_domain")] = "kassa.invalid",
    accounts_every: Annotated[float, typer.Option(
        min=1.0, help="seconds between account reconcile passes (docs/accounts.md)")] = 60.0,
    accounts_currency: Annotated[str | None, typer.Option(
        help="the shops' currency (ISO 4217): after each reconcile pass the leader publishes each store's next "
        "accounts snapshot (balances, open laybys) when it changed; unset: only `publish-accounts`")] = None,
    customers_every: Annotated[float, typer.Option(
        min=0.0, help="seconds between checks for stores whose customer edits arrived after their last customer "
        "list; the leader publishes theirs (docs/customers.md; 0: only `publish-customers`)")] = 10.0,
    stock_every: Annotated[float, typer.Option(
        min=0.0, help="seconds between looks for stores whose stock changed since their last snapshot; the leader "
        "publishes their next one (docs/stock.md; 0: only `publish-stock`)")] = 30.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Ingest receipts, reports and status into a database (SQLite or PostgreSQL); confirm on each device's acks
    topic. Run several workers on one PostgreSQL database and the same brokers to share the load."""
    from fleet.db import FleetDb
    from fleet.ingest import IngestOptions, IngestWorker

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    settings = [_settings(url, username, password_file, ca_file, cert_file, key_file)
                for url in dict.fromkeys(broker or ["mqtt://127.0.0.1:1883"])]
    signer = _signer_for(signing_key, unsigned, "resend commands")  # refused before anything is opened
    if accounts_currency is not None and not re.fullmatch(r"[A-Z]{3}", accounts_currency):
        raise FleetUsageError(f"--accounts-currency {accounts_currency!r}: an ISO 4217 code such as EUR")
    database = FleetDb(db, pool_size=3)
    options = IngestOptions(prefix=prefix, group=group, client_id=client_id or default_client_id("ingest"),
                            batch_size=batch_size, batch_wait=batch_ms / 1000.0, receive_maximum=max(1000, batch_size),
                            session_expiry=session_expiry, keepalive=keepalive, gap_grace=gap_grace,
                            resend_every=resend_every, signer=signer, mail_domain=mail_domain,
                            accounts_every=accounts_every, customers_every=customers_every,
                            stock_every=stock_every, accounts_currency=accounts_currency)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: stop.set())
    worker = IngestWorker(settings, database, options)
    stats = worker.run(stop)
    database.close()
    typer.echo(f"kassa-fleet: ingest stopped: {stats.receipts_new} new receipts, {stats.receipts_duplicate} "
               f"duplicates, {stats.rejected} rejected", err=True)


def _publish(kind: str, file: Path, broker: str, store: str, prefix: str, force: bool, username: str | None,
             password_file: Path | None, ca_file: Path | None, cert_file: Path | None, key_file: Path | None,
             signing_key: Path | None = None, unsigned: bool = False, state_file: Path | None = None) -> None:
    from pydantic import TypeAdapter, ValidationError

    from firmware.contract.payloads import ID
    from fleet.publish import (
        default_state_file,
        publish_document,
        read_document,
        record_version,
        recorded_version,
        topic_for,
    )

    try:
        TypeAdapter(ID).validate_python(store)
    except ValidationError:
        raise FleetUsageError(f"--store {store!r}: use 1-32 of A-Z a-z 0-9 _ -") from None
    signer = _signer_for(signing_key, unsigned)
    settings = _settings(broker, username, password_file, ca_file, cert_file, key_file)
    payload, version = read_document(file, kind)
    state = state_file or default_state_file()
    topic = topic_for(prefix, store, kind)
    previous = publish_document(settings, prefix=prefix, store=store, kind=kind, payload=payload, version=version,
                                force=force, signer=signer, recorded=recorded_version(state, settings, topic))
    try:
        record_version(state, settings, topic, version)
    except OSError as exc:
        typer.echo(f"kassa-fleet: warning: could not record the version in {state} ({exc.strerror})", err=True)
    was = f" (replacing version {previous})" if previous is not None else ""
    how = f"signed by {signer.key_id[:16]}..." if signer else "unsigned"
    typer.echo(f"published {kind} version {version} for store {store}{was}, {how}")


@app.command("publish-catalog")
@_errors
def publish_catalog(
    file: Annotated[Path, typer.Argument(help="catalog JSON (docs/contract.md#catalog)")],
    store: Annotated[str, typer.Option(help="store id")],
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    force: Annotated[bool, typer.Option(
        help="publish even if not newer than the retained version, or more than 1,000,000 above it")] = False,
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    signing_key: SigningKeyOpt = None, unsigned: UnsignedOpt = False, state_file: StateOpt = None,
) -> None:
    """Publish a store's catalog (checked by the register's own gate first, signed, retained, versioned)."""
    _publish("catalog", file, broker, store, prefix, force, username, password_file, ca_file, cert_file, key_file,
             signing_key, unsigned, state_file)


@app.command("publish-clerks")
@_errors
def publish_clerks(
    file: Annotated[Path, typer.Argument(help="clerks JSON (docs/contract.md#clerks, PINs as hashes)")],
    store: Annotated[str, typer.Option(help="store id")],
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    force: Annotated[bool, typer.Option(
        help="publish even if not newer than the retained version, or more than 1,000,000 above it")] = False,
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    signing_key: SigningKeyOpt = None, unsigned: UnsignedOpt = False, state_file: StateOpt = None,
) -> None:
    """Publish a store's clerk roster (checked by the register's own gate first, signed, retained, versioned)."""
    _publish("clerks", file, broker, store, prefix, force, username, password_file, ca_file, cert_file, key_file,
             signing_key, unsigned, state_file)


def _publish_snapshot(kind: str, store: str, db: str, settings: Any, signer: Any, state_file: Path | None,
                      prefix: str, make: Callable[[Any, int, str], tuple[dict[str, Any], str]], max_bytes: int,
                      last_version: Callable[[Any], int | None], record: Callable[[Any, int, str, str], None]
                      ) -> tuple[int, int | None, str]:
    """Build and publish a store's next fleet-made snapshot on `kind` (accounts, stock_snapshot): numbered one
    above the retained, recorded or last stored version; retained; signed unless `signer` is None. `make(database,
    version, at)` gives the document and a summary for the technician. Returns (version, replaced, summary)."""
    from datetime import UTC, datetime

    from pydantic import TypeAdapter, ValidationError

    from firmware.contract.clock import iso_utc
    from firmware.contract.payloads import ID
    from fleet.db import FleetDb, is_postgres, sqlite_path
    from fleet.publish import default_state_file, publish_document, record_version, recorded_version, topic_for

    try:
        TypeAdapter(ID).validate_python(store)
    except ValidationError:
        raise FleetUsageError(f"--store {store!r}: use 1-32 of A-Z a-z 0-9 _ -") from None
    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    state = state_file or default_state_file()
    topic = topic_for(prefix, store, kind)
    database = FleetDb(db)
    made: dict[str, Any] = {}

    def build(current: int | None) -> tuple[bytes, int]:
        version = max(current or 0, last_version(database) or 0) + 1
        at = iso_utc(datetime.now(UTC))
        document, summary = make(database, version, at)
        payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(payload) > max_bytes:
            raise FleetUsageError(f"the {kind} snapshot is {len(payload):,} bytes, more than the {max_bytes:,} "
                                  "a register accepts; split it")
        made.update(version=version, at=at, payload=payload, summary=summary)
        return payload, version

    try:
        previous = publish_document(settings, prefix=prefix, store=store, kind=kind, payload=b"", version=0,
                                    signer=signer, recorded=recorded_version(state, settings, topic), build=build)
        record(database, made["version"], made["at"], made["payload"].decode("utf-8"))
    finally:
        database.close()
    try:
        record_version(state, settings, topic, made["version"])
    except OSError as exc:
        typer.echo(f"kassa-fleet: warning: could not record the version in {state} ({exc.strerror})", err=True)
    return made["version"], previous, made["summary"]


def _published(what: str, store: str, version: int, previous: int | None, signer: Any, summary: str) -> None:
    was = f" (replacing version {previous})" if previous is not None else ""
    how = f"signed by {signer.key_id[:16]}..." if signer else "unsigned"
    typer.echo(f"published {what} version {version} for store {store}{was}, {how}; {summary}")


@app.command("publish-images")
@_errors
def publish_images(
    catalog: Annotated[Path, typer.Argument(help="the catalog JSON whose items name the pictures (`image`)")],
    store: Annotated[str, typer.Option(help="store id")],
    folder: Annotated[Path, typer.Option("--dir", help="folder holding the picture files (any names)")],
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
) -> None:
    """Publish the item pictures a catalog names (docs/item-images.md): retained, one topic per picture hash;
    the signed catalog vouches for them, so they are not signed. Exits 1 when one is missing or does not match."""
    from pydantic import TypeAdapter, ValidationError

    from firmware.contract.payloads import ID
    from fleet.images import plan_pictures, publish_pictures

    try:
        TypeAdapter(ID).validate_python(store)
    except ValidationError:
        raise FleetUsageError(f"--store {store!r}: use 1-32 of A-Z a-z 0-9 _ -") from None
    try:
        doc = json.loads(catalog.read_bytes())
    except (OSError, ValueError) as exc:
        raise FleetUsageError(f"{catalog}: not a catalog JSON file ({exc})") from None
    plan = plan_pictures(doc if isinstance(doc, dict) else {}, folder)
    settings = _settings(broker, username, password_file, ca_file, cert_file, key_file)
    sent = publish_pictures(settings, prefix=prefix, store=store,
                            pictures=[(sha, path.read_bytes()) for sha, path in plan.publish])
    typer.echo(f"published {sent} item pictures for store {store}")
    for line in plan.missing:
        typer.echo(f"kassa-fleet: missing from {folder}: {line}", err=True)
    for line in plan.wrong:
        typer.echo(f"kassa-fleet: not published: {line}", err=True)
    if plan.missing or plan.wrong:
        raise typer.Exit(1)


@app.command("image-ref")
@_errors
def image_ref(file: Annotated[Path, typer.Argument(help="a PNG or JPEG picture file")]) -> None:
    """Print the catalog item's `image` field for a picture file (its sha256, bytes and type)."""
    from fleet.images import picture_ref

    typer.echo(json.dumps(picture_ref(file)))


@app.command("publish-accounts")
@_errors
def publish_accounts(
    store: Annotated[str, typer.Option(help="store id")],
    db: DbOpt = "sqlite:///fleet.db",
    currency: Annotated[str, typer.Option(help="the shop's currency (ISO 4217), as on its receipts")] = "EUR",
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    signing_key: SigningKeyOpt = None, unsigned: UnsignedOpt = False, state_file: StateOpt = None,
) -> None:
    """Reconcile the accounts and publish the store's next snapshot (docs/accounts.md): signed, retained, numbered
    one above the retained (or last published) version."""
    from firmware.contract.accounts import AccountsSnapshot
    from fleet.accounting import next_snapshot

    def make(database: Any, version: int, at: str) -> tuple[dict[str, Any], str]:
        document, result = next_snapshot(database, version=version, issued_at=at, currency=currency)
        return document, f"{len(result.flags)} account flag(s) (see kassa-fleet status)"

    signer = _signer_for(signing_key, unsigned)
    version, previous, summary = _publish_snapshot(
        "accounts", store, db, _settings(broker, username, password_file, ca_file, cert_file, key_file), signer,
        state_file, prefix, make, AccountsSnapshot.MAX_BYTES, lambda d: d.last_accounts_version(store),
        lambda d, v, at, text: d.record_accounts_snapshot(store, v, at, text, at))
    _published("accounts", store, version, previous, signer, summary)


@app.command("publish-stock")
@_errors
def publish_stock(
    store: Annotated[str, typer.Option(help="store id")],
    db: DbOpt = "sqlite:///fleet.db",
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    signing_key: SigningKeyOpt = None, unsigned: UnsignedOpt = False, state_file: StateOpt = None,
) -> None:
    """Publish the store's next stock snapshot (docs/stock.md): levels of every register's deltas up to the seq
    below which all arrived; signed, retained, numbered one above the retained (or last published) version."""
    from firmware.contract.stock import StockSnapshot
    from fleet.stockdb import snapshot_document

    def make(database: Any, version: int, at: str) -> tuple[dict[str, Any], str]:
        document = snapshot_document(database, store, version=version, at=at)
        return document, f"{len(document['levels'])} tracked sku(s)"

    signer = _signer_for(signing_key, unsigned)
    version, previous, summary = _publish_snapshot(
        "stock_snapshot", store, db, _settings(broker, username, password_file, ca_file, cert_file, key_file),
        signer, state_file, prefix, make, StockSnapshot.MAX_BYTES, lambda d: d.last_stock_version(store),
        lambda d, v, at, text: d.record_stock_snapshot(store, v, at, text))
    _published("stock snapshot", store, version, previous, signer, summary)


@app.command("publish-customers")
@_errors
def publish_customers(
    store: Annotated[str, typer.Option(help="store id")],
    db: DbOpt = "sqlite:///fleet.db",
    broker: BrokerOpt = "mqtt://127.0.0.1:1883", prefix: PrefixOpt = "kassa/v1",
    username: UserOpt = None, password_file: PassOpt = None, ca_file: CaOpt = None,
    cert_file: CertOpt = None, key_file: KeyOpt = None,
    signing_key: SigningKeyOpt = None, unsigned: UnsignedOpt = False, state_file: StateOpt = None,
) -> None:
    """Publish the store's customer list now (docs/customers.md): every stored edit merged per field in receive
    order; signed, retained, numbered one above the retained (or last published) version. The ingest publishes
    it by itself every `--customers-every` seconds when edits arrived."""
    from firmware.contract.customers import CustomerList
    from fleet.customerdb import build_list, last_list_version, record_list

    made: dict[str, Any] = {}

    def make(database: Any, version: int, at: str) -> tuple[dict[str, Any], str]:
        document, arrivals, dupes, listed = build_list(database, store, version, at)
        made.update(arrivals=arrivals, dupes=dupes)
        return json.loads(document), f"{listed} customer(s), {len(dupes)} card number(s) held twice " \
                                     "(see kassa-fleet status)"

    signer = _signer_for(signing_key, unsigned)
    version, previous, summary = _publish_snapshot(
        "customer_list", store, db, _settings(broker, username, password_file, ca_file, cert_file, key_file),
        signer, state_file, prefix, make, CustomerList.MAX_BYTES, lambda d: last_list_version(d, store),
        lambda d, v, at, _text: record_list(d, store, v, at, made["arrivals"], made["dupes"]))
    _published("customer list", store, version, previous, signer, summary)


@app.command("stock-policy")
@_errors
def stock_policy(
    store: Annotated[str, typer.Option(help="store id")],
    sku: Annotated[str, typer.Option(help="the item's sku; leave out for the shop's default")] = "",
    db: DbOpt = "sqlite:///fleet.db",
    low: Annotated[int, typer.Option(min=0, max=10**9, help="warn when a sale leaves this many units or fewer")] = 0,
    past_zero: Annotated[str, typer.Option(help="below zero: warn, or manager (a manager's PIN)")] = "warn",
    track: Annotated[bool, typer.Option(help="--no-track: never checked (services, deposits)")] = True,
) -> None:
    """Set the shop's stock policy, or one item's (docs/stock.md); the next stock snapshot takes it to the tills."""
    from fleet.db import FleetDb, is_postgres, sqlite_path

    if past_zero not in ("warn", "manager"):
        raise FleetUsageError(f"--past-zero {past_zero!r}: use warn or manager")
    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    database = FleetDb(db)
    try:
        database.set_stock_policy(store, sku, low=low, past_zero=past_zero, track=track)
    finally:
        database.close()
    typer.echo(f"stock policy of {'item ' + sku if sku else 'the shop'} in store {store}: low {low}, "
               f"below zero {past_zero}{'' if track else ', not tracked'}; published with the next stock snapshot")


@app.command("reconcile-accounts")
@_errors
def reconcile_accounts(
    db: DbOpt = "sqlite:///fleet.db",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Reconcile the accounts now (the ingest does it every minute): balances and flags, shown by `status`."""
    from datetime import UTC, datetime

    from firmware.contract.clock import iso_utc
    from fleet.accounting import money_of, reconcile_flags
    from fleet.db import FleetDb, is_postgres, sqlite_path
    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    database = FleetDb(db)
    try:
        result = reconcile_flags(database, iso_utc(datetime.now(UTC)))
        money = money_of(database)
    finally:
        database.close()
    if as_json:
        typer.echo(json.dumps([{"kind": f.kind, "account": f.account, "balance": f.balance, "limit": f.limit,
                                "last4": f.last4, "registers": list(f.registers), "approved_by": list(f.approved_by)}
                               for f in result.flags], indent=2))
        return
    for flag in result.flags:
        typer.echo(f"{flag.kind}: {flag.describe(money)}")
    typer.echo(f"{len(result.flags)} account flag(s)")


def _signer_for(signing_key: Path | None, unsigned: bool, what: str = "documents") -> Any:
    """The signer for --signing-key, or None with an explicit --unsigned; FleetUsageError (exit 2) with neither
    or both. `what` names what goes out unsigned otherwise ("documents", "resend commands")."""
    if signing_key is not None and unsigned:
        raise FleetUsageError("give --signing-key or --unsigned, not both")
    if signing_key is None and not unsigned:
        raise FleetUsageError(f"no --signing-key: registers that pin the fleet key refuse unsigned {what}. "
                              "Give --signing-key (or $KASSA_FLEET_SIGNING_KEY), or --unsigned for a lab whose "
                              "registers pin no key")
    if signing_key is None:
        return None
    from fleet.keys import load_signer

    return load_signer(signing_key)


@app.command()
@_errors
def keygen(
    out: Annotated[Path, typer.Option(
        "--out", help="directory for fleet-signing.key (0600) and fleet-signing.pub.pem")],
    force: Annotated[bool, typer.Option(help="replace a key pair already in --out")] = False,
) -> None:
    """Make the fleet's Ed25519 signing key pair; registers pin the public key at provisioning."""
    from fleet.keys import keygen as make_keys

    private, public, fp = make_keys(out, force=force)
    typer.echo(f"private key: {private} (mode 0600; keep it with the fleet, never on a register)")
    typer.echo(f"public key:  {public} (pin it on every register: kassa-provision init --fleet-key {public.name})")
    typer.echo(f"fingerprint: SHA256:{fp}")


@app.command()
@_errors
def status(
    db: DbOpt = "sqlite:///fleet.db",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Devices, pending receipts, gaps and every ledger alarm (conflicts, chain breaks, rollbacks, losses, flags)."""
    from fleet.db import FleetDb, is_postgres, sqlite_path
    from fleet.report import render_status, status_rows

    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    database = FleetDb(db)
    rows = status_rows(database)
    database.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        render_status(rows)


@app.command()
@_errors
def hours(
    store: Annotated[str, typer.Option(help="store id")],
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (in --tz)")],
    last: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (in --tz)")],
    db: DbOpt = "sqlite:///fleet.db",
    tz: Annotated[str, typer.Option("--tz", help="the store's time zone (IANA), as [shop] timezone")] = "UTC",
    z: Annotated[bool, typer.Option("--z", help="final (Z) report: open shifts are not counted up to now")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Hours worked per clerk and day from the punches the fleet holds (docs/timeclock.md): every register of
    the store together, a clerk may clock in on one and out on another."""
    from datetime import UTC, date, datetime, timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from firmware.contract import decode
    from firmware.contract.timeclock import PunchMessage
    from fleet.db import FleetDb, is_postgres, sqlite_path
    from fleet.timeclock import hours_rows, store_hours

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise FleetUsageError(f"--tz {tz!r}: not an IANA time zone (e.g. Europe/Berlin)") from None
    try:
        first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise FleetUsageError("--from/--to: write days as YYYY-MM-DD") from None
    if last_day < first_day:
        raise FleetUsageError(f"--to {last} is before --from {first}")
    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    # a day either side: a shift may begin the evening before, and zones are up to 14 h from UTC
    since = (first_day - timedelta(days=1)).isoformat() + "T00:00:00"
    until = (last_day + timedelta(days=2)).isoformat() + "T00:00:00"
    database = FleetDb(db)
    try:
        messages = [decode(PunchMessage, body) for body in database.punch_bodies(store, since, until)]
    finally:
        database.close()
    payload = store_hours(messages, zone, kind="z" if z else "x", as_of=None if z else datetime.now(UTC),
                          first_day=first_day, last_day=last_day)
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        for line in hours_rows(payload):
            typer.echo(line)


@app.command()
@_errors
def mailer(
    config: Annotated[Path, typer.Option("--config", help="TOML file with a [mail] table (docs/digital-receipts.md)")],
    db: DbOpt = "sqlite:///fleet.db",
    once: Annotated[bool, typer.Option("--once", help="one pass over what is due, then exit")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Send e-mailed receipts: each accepted request once the fleet holds its receipt (a long-running service;
    several may run on one database, a request is claimed by one at a time)."""
    import tomllib
    from datetime import UTC, datetime

    from fleet.db import FleetDb, is_postgres, sqlite_path
    from fleet.mailer import Mailer, MailerSettings
    from fleet.mailstore import FleetMailStore, FleetReceipts

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetUsageError(f"--config {config}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FleetUsageError(f"--config {config}: not valid TOML ({exc})") from None
    if not isinstance(doc.get("mail"), dict):
        raise FleetUsageError(f"--config {config}: no [mail] table (docs/digital-receipts.md)")
    try:
        settings = MailerSettings.from_mapping(doc["mail"])
    except (KeyError, TypeError) as exc:
        raise FleetUsageError(f"--config {config}: [mail] is incomplete or has an unknown key ({exc})") from None
    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    database = FleetDb(db)
    worker = Mailer(FleetMailStore(database), FleetReceipts(database), settings)
    try:
        if once:
            done = worker.run_once(datetime.now(UTC))
            typer.echo(" ".join(f"{k}={v}" for k, v in done.items()))
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_a: stop.set())
        worker.serve(stop)
    finally:
        database.close()


@app.command("backfill-coupons")
@_errors
def backfill_coupons_cmd(db: DbOpt = "sqlite:///fleet.db") -> None:
    """Add the single-use coupon uses of sales stored before schema version 7 (safe to run again, and while the
    ingest runs): a code redeemed before the upgrade and again after is then flagged by `status`."""
    from fleet.coupon_backfill import backfill_coupons
    from fleet.db import FleetDb, is_postgres, sqlite_path

    if not is_postgres(db) and not sqlite_path(db).exists():
        raise FleetUsageError(f"--db {db}: no database there yet; run `kassa-fleet ingest --db {db}` first")
    database = FleetDb(db)
    try:
        done = backfill_coupons(database)
    finally:
        database.close()
    for receipt_id in done.unreadable:
        typer.echo(f"receipt {receipt_id}: its coupons could not be read; left out", err=True)
    typer.echo(f"{done.sales} stored sale(s) name coupons; {done.added} coupon use(s) added")


@app.command()
@_errors
def migrate(db: DbOpt = "sqlite:///fleet.db") -> None:
    """Bring the fleet database's schema up to this version's (numbered migrations; safe to run again)."""
    from fleet.db import FleetDb

    database = FleetDb(db, migrate=False)
    try:
        version = database.migrate()
    finally:
        database.close()
    typer.echo(f"fleet database schema version {version}")


@app.command()
@_errors
def simulate(
    registers: Annotated[int, typer.Option(min=0, help="emulated registers (lean, many per process)")] = 10,
    processes: Annotated[int, typer.Option(min=1, help="worker processes the registers are spread over")] = 1,
    rate: Annotated[float, typer.Option(min=0.0, help="sales per register per second")] = 0.1,
    duration: Annotated[float, typer.Option(min=0.0, help="seconds of selling (then the drain)")] = 30.0,
    backlog: Annotated[int, typer.Option(min=0, help="receipts each register holds unsent at start")] = 0,
    offline_wave: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="fraction of registers whose link drops mid-run (they sell offline meanwhile)")] = 0.0,
    offline_at: Annotated[float | None, typer.Option(help="s into the run the wave starts [30% of --duration]")] = None,
    offline_for: Annotated[float | None, typer.Option(help="s the wave lasts [30% of --duration]")] = None,
    broker: Annotated[list[str] | None, typer.Option(
        "--broker", help="mqtt://host:1883; repeat for K brokers (register i uses broker i % K)")] = None,
    store_prefix: Annotated[str | None, typer.Option(help="store ids start with this [SIM-<random>-]")] = None,
    per_store: Annotated[int, typer.Option(min=1, help="registers per store")] = 4,
    window: Annotated[int, typer.Option(min=1, help="delivered-but-unconfirmed receipts per register")] = 100,
    resend_after: Annotated[float, typer.Option(min=0.1, help="s before an unconfirmed receipt is sent again")] = 30.0,
    hello_timeout: Annotated[float, typer.Option(min=0.0, help="s a register waits for the fleet's head")] = 10.0,
    ramp: Annotated[float | None,
                    typer.Option(help="s the first connects are spread over [registers/200, min 1]")] = None,
    backoff_base: Annotated[float, typer.Option(min=0.01, help="first reconnect delay ceiling, s (full jitter)")] = 1.0,
    backoff_cap: Annotated[float, typer.Option(min=0.1)] = 60.0,
    keepalive: Annotated[int, typer.Option(min=5)] = 30,
    drain_timeout: Annotated[float, typer.Option(min=0.0, help="s after --duration to wait for confirmations")] = 120.0,
    real: Annotated[int, typer.Option(min=0, help="real registers (firmware Register, journal, SyncService)")] = 0,
    db: Annotated[str | None, typer.Option(
        "--db", help="fleet database to check at the end: sqlite:///fleet.db or postgresql://...")] = None,
    prefix: PrefixOpt = "kassa/v1",
    seed: Annotated[int | None, typer.Option(help="random seed (reproducible schedules)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable summary")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run many registers from a few processes against the brokers and ingest; check the fleet database at the end.

    Exit 0 only when every receipt made was confirmed (and, with --db, found exactly once with its hash)."""
    from fleet.sim_device import DeviceOptions
    from fleet.simulate import SimOptions, render, run, to_json

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    options = SimOptions(
        registers=registers, processes=processes, rate=rate, duration=duration, backlog=backlog,
        offline_wave=offline_wave, offline_at=offline_at, offline_for=offline_for,
        brokers=tuple(broker or ["mqtt://127.0.0.1:1883"]), store_prefix=store_prefix, per_store=per_store,
        ramp=ramp, drain_timeout=drain_timeout, real=real, db=db, seed=seed,
        device=DeviceOptions(prefix=prefix, window=window, resend_after=resend_after, hello_timeout=hello_timeout,
                             keepalive=keepalive, backoff_base=backoff_base, backoff_cap=backoff_cap))
    summary = run(options)
    typer.echo(to_json(summary) if as_json else render(summary))
    if not summary["ok"]:
        raise typer.Exit(1)


def main() -> None:
    os.umask(0o077)  # keys, state files and SQLite databases are for this user only
    app()


if __name__ == "__main__":
    main()
