"""The PostgreSQL ledger (psycopg 3): several daemons and hosts may share one database."""

from __future__ import annotations

import functools
import logging
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence, TypeVar

from pipeline import secrets
from pipeline.errors import LedgerError, LedgerLocked, LedgerUnavailable
from pipeline.ledger._sqlledger import SqlLedger
from pipeline.ledger._sql import Tx, aware

log = logging.getLogger(__name__)
T = TypeVar("T")
_TRIES = 4  # deadlocks and serialization failures are retried; the whole body runs again
# Writers take turns, like SQLite's BEGIN IMMEDIATE: change numbers (rev) then commit in order
# and row locks can never deadlock. Vendor calls happen outside transactions, so no writer holds
# the lock across a network call to a vendor. Sent with BEGIN as one simple query: one round trip.
_BEGIN_WRITE = ("BEGIN; SELECT pg_advisory_xact_lock("
                "hashtextextended(current_schema() || ':loa-write', 0))")
# one snapshot for every statement of a read (snapshot() reads the counter, then the rows)
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"


@functools.lru_cache(maxsize=512)
def translate_placeholders(sql: str) -> str:
    """``?`` -> ``%s`` outside quoted strings and identifiers; ``%`` -> ``%%`` everywhere (psycopg
    reads ``%`` even inside literals once parameters are given)."""
    out, quote = [], None
    for ch in sql:
        if ch == "%":
            out.append("%%")
            continue
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append(ch)
    return "".join(out)


def _params(params: Sequence[Any]) -> list[Any]:
    # psycopg would send a naive datetime as "timestamp without time zone": refuse it instead.
    return [aware(p, "parameter") if isinstance(p, datetime) else p for p in params]


class _Tx:
    __slots__ = ("_cur", "rev")

    def __init__(self, cur: Any):
        self._cur = cur
        self.rev: int | None = None

    def _execute(self, sql: str, params: Sequence[Any]) -> Any:
        if params:
            return self._cur.execute(translate_placeholders(sql), _params(params))
        return self._cur.execute(sql)  # no parameters: the text goes as written ($$ bodies, %)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._execute(sql, params).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
        return iter(self._execute(sql, params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._execute(sql, params).fetchone()

    def exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._execute(sql, params).rowcount

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(translate_placeholders(sql), [_params(p) for p in seq])


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as e:
        raise ImportError("the PostgreSQL ledger requires psycopg 3: pip install 'loa[postgres]'") from e
    return psycopg


class PostgresLedger(SqlLedger):
    """Registry key ``postgresql``. Options: ``url`` (``postgresql://`` or
    ``postgresql+psycopg://``, libpq parameters such as ``options=-csearch_path=...`` allowed) and
    ``connect_timeout`` seconds.

    Write transactions take turns on one advisory lock per schema (see :meth:`_run`); reads are
    REPEATABLE READ, READ ONLY. The session time zone is UTC. A lost connection is dropped and re-opened by the next call; a
    transaction cut before its COMMIT was sent is re-run once on a fresh connection, one cut during
    COMMIT raises ``LedgerUnavailable`` (the server either committed all of it or none).
    """

    dialect = "postgresql"
    _for_update = " FOR UPDATE"
    _differs = "IS DISTINCT FROM"
    _same = "IS NOT DISTINCT FROM"

    def __init__(self, url: str, *, connect_timeout: int = 5):
        self._pg = _psycopg()
        super().__init__()
        if url.startswith("postgresql+psycopg://"):
            url = "postgresql://" + url[len("postgresql+psycopg://"):]
        self._conninfo = url
        # the password may sit in the user part or in a ?password= parameter: both are shown as ***
        self.where = secrets.scrub_url(url)
        self._connect_timeout = connect_timeout
        self._conn: Any = None

    def _scrub(self, error: BaseException) -> str:
        return secrets.redact(str(error).strip())

    def _open(self) -> Any:
        try:
            conn = self._pg.connect(self._conninfo, autocommit=True, application_name="loa",
                                    connect_timeout=self._connect_timeout)
            conn.execute("SET TIME ZONE 'UTC'")
            return conn
        except self._pg.OperationalError as e:
            raise LedgerUnavailable(f"PostgreSQL ledger {self.where} unreachable: {self._scrub(e)}") from e
        except self._pg.Error as e:
            raise LedgerError(f"PostgreSQL ledger {self.where}: {self._scrub(e)}") from e

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._open()
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except self._pg.Error:
                pass
            self._conn = None

    def _rollback(self, conn: Any) -> None:
        if not conn.closed:
            try:
                conn.execute("ROLLBACK")
            except self._pg.Error:
                self._discard()  # the server will roll back when it sees the connection go

    def _run(self, body: Callable[[Tx], T], *, write: bool, read_only: bool = False,
             consistent: bool = False) -> T:
        pg = self._pg
        with self._lock:
            for attempt in range(1, _TRIES + 1):
                conn = self._connect()
                committing = False
                try:
                    cur = conn.cursor()
                    if not (write or read_only or consistent):
                        # one statement is atomic by itself: no BEGIN/COMMIT round trips
                        return body(_Tx(cur))
                    cur.execute(_BEGIN_WRITE if write else _BEGIN_READ)
                    try:
                        result = body(_Tx(cur))
                    except BaseException:
                        self._rollback(conn)
                        raise
                    committing = True
                    cur.execute("COMMIT")
                    return result
                except (pg.errors.TransactionRollback, pg.errors.LockNotAvailable) as e:
                    # deadlock or serialization failure: the server rolled back; safe to run again
                    if attempt == _TRIES:
                        raise LedgerUnavailable(
                            f"PostgreSQL ledger {self.where} stayed contended: {self._scrub(e)}") from e
                    log.info("Ledger %s: %s; running the transaction again", self.where, self._scrub(e))
                except pg.OperationalError as e:
                    lost = conn.closed
                    if lost:
                        self._discard()
                    if lost and not committing and attempt == 1:
                        # e.g. the server restarted since the last call: nothing reached COMMIT
                        log.info("Ledger %s: connection lost (%s); reconnecting once", self.where,
                                 self._scrub(e))
                        continue
                    raise LedgerUnavailable(f"PostgreSQL ledger {self.where} unavailable: "
                                            f"{self._scrub(e)}") from e
                except pg.Error as e:
                    if conn.closed:
                        self._discard()
                    raise LedgerError(f"PostgreSQL ledger {self.where}: {self._scrub(e)}") from e
            raise AssertionError("unreachable")

    def _table_exists(self, tx: Tx, name: str) -> bool:
        return tx.one("SELECT to_regclass(?) IS NOT NULL", (name,))[0]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._run(lambda tx: tx.rows(sql, params), write=False, read_only=True)

    @contextmanager
    def daemon_lock(self, owner: str) -> Iterator[None]:
        # Several daemons may share PostgreSQL; two with the same worker id may not (their claims
        # would look like each other's). A session advisory lock on its own connection says so,
        # and the server drops it if the daemon dies.
        conn = self._open()
        try:
            try:
                got = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':loa-daemon:' || %s, 0))",
                    (owner,)).fetchone()[0]
            except self._pg.OperationalError as e:
                raise LedgerUnavailable(f"PostgreSQL ledger {self.where} unavailable: {self._scrub(e)}") from e
            if not got:
                raise LedgerLocked(f"ledger {self.where} already has a Loa daemon with worker id "
                                   f"{owner!r}; give each daemon its own worker id")
            yield
        finally:
            conn.close()

    @contextmanager
    def named_lock(self, name: str, *, timeout: float = 60.0) -> Iterator[None]:
        # A session advisory lock on a connection of its own, polled (never a blocking wait that
        # could outlive the caller's patience); the server drops it if the holder dies.
        conn = self._open()
        try:
            key = "SELECT hashtextextended(current_schema() || ':loa-lock:' || %s, 0)"
            try:
                (lock_id,) = conn.execute(key, (name,)).fetchone()
                deadline = time.monotonic() + timeout
                while not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()[0]:
                    if time.monotonic() >= deadline:
                        raise LedgerUnavailable(f"PostgreSQL ledger {self.where}: lock {name!r} is still held "
                                                f"by another process after {timeout:g} s")
                    time.sleep(0.05)
            except self._pg.OperationalError as e:
                raise LedgerUnavailable(f"PostgreSQL ledger {self.where} unavailable: {self._scrub(e)}") from e
            yield
        finally:
            conn.close()  # ends the session, and with it the lock

    def backup(self, path: Any) -> int:
        # pg_dump takes a consistent snapshot while daemons write, and the DBA's tools restore it;
        # Loa copying rows itself would be a second, weaker pg_dump
        raise LedgerError(f"loa backup copies only a SQLite ledger; back up the PostgreSQL ledger {self.where} with "
                          f"pg_dump --format=custom --file={path} (docs/operations.md, \"PostgreSQL\")")

    def restore(self, path: Any, *, owner: str, stamp: str) -> Any:
        raise LedgerError(f"loa restore restores only a SQLite ledger; restore the PostgreSQL ledger {self.where} with "
                          f"pg_restore after stopping every daemon (docs/operations.md, \"PostgreSQL\")")

    def close(self) -> None:
        with self._lock:
            self._discard()
