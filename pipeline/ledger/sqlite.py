"""The SQLite ledger (the default): one file, WAL, ``BEGIN IMMEDIATE`` for every change."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from pipeline import secrets
from pipeline.errors import LedgerError, LedgerLocked, LedgerUnavailable
from pipeline.ledger import migrations
from pipeline.ledger._sqlledger import SqlLedger
from pipeline.ledger._sql import Tx, aware
from pipeline.messages import Detail

log = logging.getLogger(__name__)
T = TypeVar("T")
UTC = timezone.utc
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")
_BUSY = ("database is locked", "database table is locked", "database is busy")
_UNAVAILABLE = ("unable to open database", "disk i/o error", "database or disk is full")


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        # Fixed-width UTC text: string order is time order, so SQL can compare stored times.
        return aware(value, "parameter").astimezone(UTC).isoformat(timespec="microseconds")
    return value


class _Tx:
    __slots__ = ("_conn", "rev")

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self.rev: int | None = None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._conn.execute(sql, [_param(p) for p in params]).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
        return iter(self._conn.execute(sql, [_param(p) for p in params]))

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._conn.execute(sql, [_param(p) for p in params]).fetchone()

    def exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, [_param(p) for p in params]).rowcount

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, ([_param(p) for p in params] for params in seq))


class SQLiteLedger(SqlLedger):
    """Registry key ``sqlite``. Options: ``path`` of the database file; ``busy_timeout`` seconds a
    change waits for another process's write lock before ``LedgerUnavailable`` (default 10).

    Times are stored as fixed-width ISO-8601 UTC text. Commits are ``synchronous=FULL``: a row
    recorded as claimed or published survives a power cut, which exactly-once depends on.
    """

    dialect = "sqlite"
    _text_times = True

    def __init__(self, path: str | os.PathLike, *, busy_timeout: float = 10.0):
        super().__init__()
        self.path = Path(path)
        self.where = str(self.path)
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                # the ledger holds publisher state (Zalo's rotating tokens): 0600 in a 0700 var/,
                # and SQLite gives its -wal and -shm files the database file's mode
                secrets.private_file(self.path)
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                       check_same_thread=False)  # our lock serializes threads
            except sqlite3.Error as e:
                raise self._translate(e) from e
            except OSError as e:
                raise LedgerUnavailable(f"ledger {self.where} cannot be opened: {e}") from e
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as e:
                conn.close()
                raise self._translate(e) from e
            self._conn = conn
        return self._conn

    def _translate(self, error: sqlite3.Error, *, reading_for_report: bool = False) -> LedgerError:
        text = str(error).lower()
        if any(b in text for b in _BUSY):
            return LedgerUnavailable(
                f"ledger {self.where} is busy: another process held its write lock for more than "
                f"{self._busy_timeout:g} s")
        if not reading_for_report and any(u in text for u in _UNAVAILABLE):
            return LedgerUnavailable(f"ledger {self.where} cannot be used: {error}")
        if "no such table" in text and not reading_for_report:
            return LedgerError(f"ledger {self.where} has no schema ({error}): run migrate() first")
        return LedgerError(f"ledger {self.where}: {error}")

    def _run(self, body: Callable[[Tx], T], *, write: bool, read_only: bool = False,
             consistent: bool = False) -> T:
        with self._lock:
            conn = self._connect()
            try:
                # IMMEDIATE takes the write lock up front: two workers cannot both read "pending"
                # and then both write "claimed"; waiting happens in SQLite's busy handler.
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as e:
                raise self._translate(e) from e
            try:
                if read_only:
                    conn.execute("PRAGMA query_only = ON")
                result = body(_Tx(conn))
                conn.execute("COMMIT")
                return result
            except sqlite3.Error as e:
                self._rollback(conn)
                raise self._translate(e, reading_for_report=read_only) from e
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                if read_only:
                    conn.execute("PRAGMA query_only = OFF")

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.warning("Ledger rollback failed; SQLite rolls the transaction back on close")

    def _table_exists(self, tx: Tx, name: str) -> bool:
        return tx.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        found = self._run(lambda tx: tx.rows(sql, params), write=False, read_only=True)
        return [tuple(datetime.fromisoformat(v) if isinstance(v, str) and len(v) == 32
                      and _STORED_TIME.fullmatch(v) else v for v in row) for row in found]

    @contextmanager
    def daemon_lock(self, owner: str) -> Iterator[None]:
        import fcntl  # POSIX, imported here: authors run loa check/new/preview on Windows, never the daemon

        lock_path = self.path.with_name(self.path.name + ".daemon.lock")
        fd = secrets.open_private(lock_path)
        try:
            # flock, not a row with a heartbeat: the kernel releases it when the process dies,
            # so a crashed daemon never leaves a stale lock behind.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown holder"
            os.close(fd)
            raise LedgerLocked(
                f"ledger {self.where} is already used by another Loa daemon: {holder} "
                f"(lock file {lock_path}); stop that daemon first, or use PostgreSQL to run several")
        try:
            os.ftruncate(fd, 0)
            # the host as socket.gethostname() names it, without importing socket (3 ms on every command)
            os.pwrite(fd, f"{owner} (pid {os.getpid()} on {os.uname().nodename})\n".encode(), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def named_lock(self, name: str, *, timeout: float = 60.0) -> Iterator[None]:
        # flock on a file next to the database, not a transaction: the holder may spend seconds on
        # a vendor call, and an open write transaction would stop every other writer meanwhile.
        # The kernel releases it when the holder dies; open file descriptions of one process
        # exclude each other too, so threads are covered.
        import fcntl  # POSIX, imported here (see daemon_lock)

        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100]
        lock_path = self.path.with_name(f"{self.path.name}.lock-{safe}")
        fd = secrets.open_private(lock_path)  # 0600, and var/ 0700 if this creates it
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LedgerUnavailable(f"ledger {self.where}: lock {name!r} is still held by another "
                                                f"process after {timeout:g} s") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def backup(self, path: str | os.PathLike) -> int:
        target = Path(path)
        if target.exists() or target.is_symlink():
            raise LedgerError(Detail("ledger.backup-exists", path=str(target)))
        secrets.private_dir(target.parent)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)  # 0600
        os.close(fd)
        try:
            copy = sqlite3.connect(name, isolation_level=None)
            try:
                with self._lock:
                    # SQLite's online backup in one step: the copy is the database as of one read
                    # transaction, while the daemon's connections go on writing (WAL)
                    self._connect().backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
            finally:
                copy.close()
            version = verify_copy(name)
            _fsync(name)
            os.link(name, target)  # never replaces a file that appeared meanwhile
        except sqlite3.Error as e:
            raise self._translate(e) from e
        except FileExistsError:
            raise LedgerError(Detail("ledger.backup-exists", path=str(target))) from None
        finally:
            os.unlink(name)
        return version

    def restore(self, path: str | os.PathLike, *, owner: str, stamp: str) -> Path | None:
        source = Path(path)
        verify_copy(source)
        if source.resolve() == self.path.resolve():
            raise LedgerError(Detail("ledger.restore-self", path=str(source)))
        with self.daemon_lock(owner):  # LedgerLocked while a daemon runs on this ledger
            self.close()
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.restore-", dir=self.path.parent)  # 0600
            os.close(fd)
            try:
                shutil.copyfile(source, name)
                _fsync(name)
                verify_copy(name)  # the bytes that go in place, not only the file named
                aside = self.path.with_name(f"{self.path.name}.before-restore-{stamp}") if self.path.exists() else None
                for suffix in ("", "-wal", "-shm"):  # the WAL belongs to its database: it goes aside with it
                    current = self.path.with_name(self.path.name + suffix)
                    if aside is not None and current.exists():
                        os.replace(current, aside.with_name(aside.name + suffix))
                os.replace(name, self.path)
            finally:
                if os.path.exists(name):
                    os.unlink(name)
        return aside

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def verify_copy(path: str | os.PathLike) -> int:
    """The schema version of the SQLite ledger file ``path``, read-only, after ``PRAGMA
    integrity_check``; ``LedgerError`` naming what is wrong (missing, not a Loa ledger, damaged,
    written by a newer Loa)."""
    p = Path(path)
    if not p.is_file():
        raise LedgerError(Detail("ledger.copy-missing", path=str(p)))
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if found != ["ok"]:
                raise LedgerError(Detail("ledger.copy-damaged", path=str(p), found="; ".join(map(str, found[:3]))))
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone() is None:
                raise LedgerError(Detail("ledger.copy-not-loa", path=str(p)))
            version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise LedgerError(Detail("ledger.copy-unusable", path=str(p), reason=str(e))) from e
    migrations.pending(version, str(p))  # a copy written by a newer Loa is refused
    return version


def _fsync(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
