"""One way to talk to the fleet database, on SQLite or PostgreSQL: transactions, statements, bulk loads.

The ledger's SQL is written once, with `?` placeholders and two spelled-out
differences (`{greatest}`, `{strpos}`); each connection translates. SQLite:
one connection, WAL, synchronous=FULL, `BEGIN IMMEDIATE` per transaction.
PostgreSQL: psycopg 3 through a psycopg_pool pool (a connection per
transaction, checked and replaced after the server restarts), COPY for large
loads. Errors of the server being gone surface as `DatabaseUnavailable`, so
the ingest can keep the batch unacked and retry.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from fleet.errors import FleetError, FleetUsageError
from fleet.schema import INCOMING, INCOMING_COLUMNS, MIGRATIONS, SCHEMA_VERSION, statements

Row = tuple[Any, ...]
COPY_FROM = 50  # rows: a PostgreSQL load this large goes through COPY


class DatabaseUnavailable(FleetError):
    """The database cannot be reached or failed mid-transaction; nothing of the transaction was kept."""


class Tx(Protocol):
    """One open transaction."""

    dialect: str

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def run(self, sql: str, args: Sequence[Any] = ()) -> int: ...

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def load_incoming(self, rows: Sequence[Sequence[Any]]) -> None: ...


class Connection(Protocol):
    dialect: str
    where: str

    def transaction(self) -> Any: ...  # a context manager yielding a Tx

    def migrate(self) -> int: ...

    def try_lead(self, name: str) -> bool: ...

    def close(self) -> None: ...


def _fill(sql: str, dialect: str) -> str:
    greatest, strpos = ("MAX", "instr") if dialect == "sqlite" else ("GREATEST", "strpos")
    return sql.replace("{greatest}", greatest).replace("{strpos}", strpos)


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel.db`, `sqlite:////abs.db` or a plain path; other schemes are refused with the fix."""
    if "://" not in url:
        return Path(url)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise FleetUsageError(f"--db {url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
        return Path(path)
    raise FleetUsageError(f"--db {url}: unknown database scheme {parts.scheme!r}; use sqlite:///fleet.db or "
                          "postgresql://user@host/db")


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def connect(url: str, *, pool_size: int = 2) -> Connection:
    if is_postgres(url):
        return PostgresConnection(url, pool_size=pool_size)
    return SqliteConnection(url)


# ---- SQLite -----------------------------------------------------------------------------------


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(_fill(sql, "sqlite"), tuple(args)).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.conn.execute(_fill(sql, "sqlite"), tuple(args)).rowcount

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(_fill(sql, "sqlite"), rows)

    def load_incoming(self, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.execute("DELETE FROM incoming")
        marks = ",".join("?" * len(INCOMING_COLUMNS))
        self.conn.executemany(f"INSERT INTO incoming VALUES ({marks})", rows)


class SqliteConnection:
    """The embedded default: one file, one connection per FleetDb, several workers share it (busy timeout)."""

    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self.where = str(self.path)
        if self.path.parent and not self.path.parent.exists():
            raise FleetUsageError(f"--db {url}: directory {self.path.parent} does not exist; create it first")
        self._lead: int | None = None
        try:
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute(INCOMING)
        except sqlite3.Error as exc:
            raise FleetUsageError(f"--db {url}: cannot open the database ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTx]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteTx(self.conn)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def migrate(self) -> int:
        with self.transaction() as tx:
            version = tx.rows("PRAGMA user_version")[0][0]
            has = {n for (n,) in tx.rows("SELECT name FROM sqlite_master WHERE type='table'")}
            if version == 0 and "receipts" in has:
                version = 1  # a database of the first release, from before numbered migrations
                if "streams" not in has:
                    tx.run("CREATE TABLE streams (store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, "
                           "contiguous INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (store, register, epoch))")
                    tx.run("INSERT OR IGNORE INTO streams (store, register, epoch) "
                           "SELECT DISTINCT store, register, epoch FROM receipts")
            version = _apply(tx, "sqlite", version, self.where)
            tx.run(f"PRAGMA user_version = {int(version)}")
        return version

    def try_lead(self, name: str) -> bool:
        """Hold an exclusive lock file beside the database while this process lives (one leader per file)."""
        if self._lead is not None:
            return True
        fd = os.open(f"{self.path}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lead = fd
        return True

    def close(self) -> None:
        if self._lead is not None:
            os.close(self._lead)
            self._lead = None
        self.conn.close()


def _apply(tx: Tx, dialect: str, version: int, where: str) -> int:
    if version > SCHEMA_VERSION:
        raise FleetUsageError(f"database {where} has schema {version}, newer than this kassa-fleet "
                              f"({SCHEMA_VERSION}): upgrade kassa-fleet")
    for number, script in MIGRATIONS[dialect]:
        if number > version:
            for statement in statements(script):
                tx.run(statement)
            version = number
    return version


# ---- PostgreSQL -------------------------------------------------------------------------------


class _PostgresTx:
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        return _fill(sql, "postgresql").replace("%", "%%").replace("?", "%s")

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = self.conn.execute(self._sql(sql), tuple(args))
        return cur.fetchall() if cur.description is not None else []

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(self._sql(sql), tuple(args)).rowcount)

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self.conn.cursor().executemany(self._sql(sql), rows)

    def load_incoming(self, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.execute(INCOMING + " ON COMMIT DELETE ROWS")
        if len(rows) >= COPY_FROM:
            with self.conn.cursor().copy(f"COPY incoming ({', '.join(INCOMING_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif rows:
            marks = ",".join(["%s"] * len(INCOMING_COLUMNS))
            self.conn.cursor().executemany(f"INSERT INTO incoming VALUES ({marks})", rows)


class PostgresConnection:
    """Many workers, one database: psycopg 3 with a psycopg_pool pool."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 2) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise FleetUsageError(f"--db {url}: PostgreSQL needs psycopg and psycopg_pool "
                                  "(pip install psycopg[binary] psycopg-pool)") from None
        self._psycopg = psycopg
        parts = urlsplit(url)
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
        self.url = url
        self._lead: Any = None
        self._leading = False
        try:  # one plain connection first: a wrong host or password is said at once, not after the pool's retries
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            raise FleetUsageError(f"--db {self.where}: cannot reach PostgreSQL: {str(exc).strip()}") from None
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False,
                                   check=ConnectionPool.check_connection, kwargs={"autocommit": True},
                                   reconnect_timeout=3600)
        try:
            self.pool.open(wait=True, timeout=15)
        except Exception as exc:  # noqa: BLE001 - psycopg_pool raises its own PoolTimeout
            self.pool.close()
            raise FleetUsageError(f"--db {self.where}: cannot reach PostgreSQL ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        psycopg = self._psycopg
        try:
            with self.pool.connection(timeout=10) as conn, conn.transaction():
                yield _PostgresTx(conn)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"PostgreSQL at {self.where}: {exc}".strip()) from None
        except Exception as exc:
            if type(exc).__name__ == "PoolTimeout":
                raise DatabaseUnavailable(f"PostgreSQL at {self.where} is unreachable") from None
            raise

    def migrate(self) -> int:
        with self.transaction() as tx:
            tx.run("SELECT pg_advisory_xact_lock(7461001)")  # workers starting together migrate one at a time
            tx.run("CREATE TABLE IF NOT EXISTS kassa_schema (version INTEGER NOT NULL)")
            found = tx.rows("SELECT version FROM kassa_schema")
            version = found[0][0] if found else 0
            new = _apply(tx, "postgresql", version, self.where)
            if not found:
                tx.run("INSERT INTO kassa_schema VALUES (?)", (new,))
            elif new != version:
                tx.run("UPDATE kassa_schema SET version = ?", (new,))
        return new

    def try_lead(self, name: str) -> bool:
        """A session advisory lock on a connection of its own, kept open: held until this process dies (the
        server then frees it and another worker's next try takes over); tried again on the same connection
        by a worker that is not the leader."""
        psycopg = self._psycopg
        key = 7461000 + sum(name.encode()) % 1000
        try:
            if self._lead is None or self._lead.closed:
                self._lead, self._leading = psycopg.connect(self.url, autocommit=True, connect_timeout=5), False
            if self._leading:
                self._lead.execute("SELECT 1")  # still holding it while the session lives
                return True
            self._leading = bool(self._lead.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
            return self._leading
        except psycopg.OperationalError:
            if self._lead is not None:
                self._lead.close()
            self._lead, self._leading = None, False
            return False

    def close(self) -> None:
        if self._lead is not None:
            self._lead.close()
        self.pool.close()
