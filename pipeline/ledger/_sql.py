"""The ledger logic shared by both SQL backends: plumbing and everything but the claim protocol.

Every method reads the row under a write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``SELECT ... FOR UPDATE``), checks the invariants in Python, writes the new values and appends its
event, all in one transaction run by the backend's :meth:`SqlLedger._run`. SQL is written once with
``?`` placeholders; the PostgreSQL transaction object translates them.
"""

from __future__ import annotations

import abc
import json
import logging
import threading
from datetime import datetime, timezone
from collections import deque
from itertools import repeat
from types import MappingProxyType, MemberDescriptorType
from typing import Any, Callable, Collection, Iterable, Mapping, Protocol, Sequence, TypeVar

from pipeline.errors import LedgerError
from pipeline.ledger import migrations
from pipeline.ledger.base import (EVENT_KINDS, META_KEYS, PUBLICATION_COLUMNS, STATES, Event, Ledger,
                                  Pause, Publication, Snapshot)

log = logging.getLogger(__name__)
T = TypeVar("T")
UTC = timezone.utc

SELECT_PUBLICATIONS = f"SELECT {', '.join(PUBLICATION_COLUMNS)} FROM publications"
_BY_KEY = " WHERE post_id = ? AND channel = ?"
_RETURNING = f" RETURNING {', '.join(PUBLICATION_COLUMNS)}"
_TIME_COLUMNS = {"next_attempt_at", "lease_until", "first_published_at", "published_version_at",
                 "retracted_at", "corrected_at", "updated_at", "publish_at"}
_TIME_IDX = tuple(i for i, c in enumerate(PUBLICATION_COLUMNS) if c in _TIME_COLUMNS)
# Text that repeats across rows (a channel's name, a state, a unit) or across a post's channels (its
# id, title, path): one string object each instead of one per row (20 MB over 60,000 rows).
_SHARED_IDX = tuple(PUBLICATION_COLUMNS.index(c) for c in (
    "post_id", "channel", "channel_type", "state", "action", "version", "pending_version", "error_kind",
    "claim_owner", "claimed_from", "title", "unit", "type", "author", "path", "git_commit"))
_TOPICS = PUBLICATION_COLUMNS.index("topics")
_EXTRA = PUBLICATION_COLUMNS.index("extra")
_ROWS_BY = ("first_published_at", "published_version_at", "updated_at", "publish_at")
_EVENT_COLUMNS = "id, at, post_id, channel, kind, actor, version, detail"
_PAUSE_COLUMNS = "id, channel, reason, actor, since, until, resumed_at, resumed_by"
_new = object.__new__


class Tx(Protocol):
    """One open transaction, as the backends hand it to the shared code.

    ``rev`` is this transaction's change number once it has written a publication (else ``None``).
    """

    rev: int | None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterable[tuple]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None: ...
    def exec(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None: ...


def aware(value: datetime, name: str = "now") -> datetime:
    """``value`` unchanged, or ``ValueError`` for a naive datetime (a bug in the caller)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.astimezone(UTC).isoformat(timespec="microseconds")
        if isinstance(o, (tuple, set, frozenset)):
            return list(o)
        if isinstance(o, MappingProxyType):
            return dict(o)
        raise TypeError(f"not JSON-serialisable for the ledger: {o!r}")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=default)


_SLOTS = tuple(getattr(Publication, c) for c in PUBLICATION_COLUMNS)
_set_slot = MemberDescriptorType.__set__
_NCOLS = len(_SLOTS)


def _make(values: list) -> Publication:
    # A frozen dataclass __init__ pays one object.__setattr__ per field; snapshot() builds 60,000
    # rows, so rows from the database fill the slots through their descriptors, in C (map).
    obj = _new(Publication)
    deque(map(_set_slot, _SLOTS, repeat(obj, _NCOLS), values), 0)
    return obj


def check_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    if not meta:
        return {}
    unknown = sorted(set(meta) - set(META_KEYS))
    if unknown:
        raise ValueError(f"unknown ledger meta key(s) {unknown}; expected some of {list(META_KEYS)}")
    out = dict(meta)
    if "topics" in out:
        out["topics"] = tuple(str(t) for t in (out["topics"] or ()))
    if out.get("publish_at") is not None:
        aware(out["publish_at"], "meta['publish_at']")
    return out


def _db(column: str, value: Any) -> Any:
    if column == "topics":
        return _json(list(value))
    if column == "extra":
        return _json(dict(value))
    return value


class SqlCore(Ledger):
    """Plumbing, reads, events, kv and pauses over SQL; the claim protocol is in ``_claims.py``.

    Subclasses supply :meth:`_run` (transactions, error translation) and say how times are stored.
    """

    #: Appended to the row-locking SELECT (PostgreSQL: `` FOR UPDATE``).
    _for_update = ""
    #: Null-safe "differs" and "equals" operators of the dialect.
    _differs = "IS NOT"
    _same = "IS"
    #: True when the backend stores times as ISO text that must be parsed (SQLite).
    _text_times = False
    #: The database as messages name it (no password).
    where = "?"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._snap: dict[tuple[str, str], Publication] | None = None  # snapshot() cache
        self._snap_rev = -1

    # -- backend hooks --------------------------------------------------------------------------

    @abc.abstractmethod
    def _run(self, body: Callable[[Tx], T], *, write: bool, read_only: bool = False,
             consistent: bool = False) -> T:
        """Run ``body`` in one transaction and commit it; translate driver errors into
        ``LedgerUnavailable``/``LedgerError``. ``write``: take the writers' lock first (one writer
        at a time). ``read_only``: refuse any write (for :meth:`query`). ``consistent``: the
        statements of a read must see one snapshot (one statement always does)."""

    @abc.abstractmethod
    def _table_exists(self, tx: Tx, name: str) -> bool: ...

    def _time(self, value: Any) -> datetime | None:
        if value is None or not self._text_times:
            return value
        return datetime.fromisoformat(value)

    # -- decoding -------------------------------------------------------------------------------

    def _publications(self, rows: Iterable[tuple]) -> list[Publication]:
        # Topics and extra repeat across a post's channels, times across rows: decode each once.
        times: dict[Any, datetime] = {}
        topics: dict[str, tuple] = {}
        extras: dict[str, Mapping] = {}
        strings: dict[str, str] = {}
        shared = strings.setdefault
        text_times, fromiso = self._text_times, datetime.fromisoformat
        out = []
        for row in rows:
            v = list(row)
            for i in _SHARED_IDX:
                x = v[i]
                if x is not None:
                    v[i] = shared(x, x)
            if text_times:
                for i in _TIME_IDX:
                    x = v[i]
                    if x is not None:
                        d = times.get(x)
                        if d is None:
                            d = times[x] = fromiso(x)
                        v[i] = d
            t = v[_TOPICS]
            tv = topics.get(t)
            if tv is None:
                tv = topics[t] = tuple(json.loads(t or "[]"))
            v[_TOPICS] = tv
            e = v[_EXTRA]
            ev = extras.get(e)
            if ev is None:
                ev = extras[e] = MappingProxyType(json.loads(e or "{}"))
            v[_EXTRA] = ev
            out.append(_make(v))
        return out

    def _event_of(self, row: tuple) -> Event:
        return Event(row[0], self._time(row[1]), row[2], row[3], row[4], row[5], row[6],
                     MappingProxyType(json.loads(row[7] or "{}")))

    def _pause_of(self, row: tuple) -> Pause:
        return Pause(row[0], row[1], row[2], row[3], self._time(row[4]), self._time(row[5]),
                     self._time(row[6]), row[7])

    # -- building blocks inside a transaction ---------------------------------------------------

    def _row(self, tx: Tx, post_id: str, channel: str, *, lock: bool = False) -> Publication | None:
        found = tx.rows(SELECT_PUBLICATIONS + _BY_KEY + (self._for_update if lock else ""), (post_id, channel))
        return self._publications(found)[0] if found else None

    def _locked(self, tx: Tx, post_id: str, channel: str, doing: str) -> Publication:
        row = self._row(tx, post_id, channel, lock=True)
        if row is None:
            raise LedgerError(f"no ledger row for {post_id} on {channel}: cannot {doing} "
                              f"(ensure() the row first)")
        return row

    def _owned(self, tx: Tx, post_id: str, channel: str, owner: str, consequence: str) -> Publication:
        row = self._locked(tx, post_id, channel, "check the claim")
        if row.state != "claimed" or row.claim_owner != owner:
            now_held = f"state {row.state}" + (f", held by {row.claim_owner}" if row.claim_owner else "")
            raise LedgerError(f"claim lost: {owner} no longer holds {post_id} on {channel} "
                              f"({now_held}); {consequence}")
        return row

    @staticmethod
    def _rev(tx: Tx) -> int:
        # Backends serialize writers (SQLite BEGIN IMMEDIATE, PostgreSQL an advisory lock), so
        # change numbers become visible in order: the premise of the incremental snapshot().
        if tx.rev is None:
            tx.rev = tx.one("UPDATE ledger_rev SET rev = rev + 1 RETURNING rev")[0]
        return tx.rev

    def _update(self, tx: Tx, row: Publication, changes: dict[str, Any], now: datetime) -> Publication:
        changes = {**changes, "updated_at": now, "rev": self._rev(tx)}
        for column in changes:
            if column not in PUBLICATION_COLUMNS and column != "rev":
                raise AssertionError(f"not a publications column: {column}")
        sets = ", ".join(f"{c} = ?" for c in changes)
        found = tx.rows(f"UPDATE publications SET {sets}" + _BY_KEY + _RETURNING,
                        [_db(c, v) for c, v in changes.items()] + [row.post_id, row.channel])
        return self._publications(found)[0]

    def _event(self, tx: Tx, kind: str, *, post_id: str | None, channel: str | None, actor: str,
               version: str | None, detail: Mapping[str, Any] | None, now: datetime) -> int:
        found = tx.one("INSERT INTO events (at, post_id, channel, kind, actor, version, detail) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                       (now, post_id, channel, kind, actor, version, _json(dict(detail or {}))))
        return found[0]

    # -- lifecycle ------------------------------------------------------------------------------

    def migrate(self, now: datetime | None = None) -> int:
        now = aware(now or datetime.now(UTC))

        def body(tx: Tx) -> int:
            tx.exec(migrations.SCHEMA_MIGRATIONS[self.dialect])
            current = tx.one("SELECT MAX(version) FROM schema_migrations")[0] or 0
            for step in migrations.pending(current, self.where):
                for statement in step.statements(self.dialect):
                    tx.exec(statement)
                tx.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        (step.version, now))
                log.info("Ledger %s: applied migration %d (%s)", self.where, step.version,
                         step.description)
            return migrations.LATEST
        return self._run(body, write=True)

    def schema_version(self) -> int:
        def body(tx: Tx) -> int:
            if not self._table_exists(tx, "schema_migrations"):
                return 0
            return tx.one("SELECT MAX(version) FROM schema_migrations")[0] or 0
        return self._run(body, write=False)

    # -- rows -----------------------------------------------------------------------------------

    def _upsert(self, keys: tuple[str, ...]) -> str:
        cols = ("channel_type", *keys)
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
        differs = " OR ".join(f"publications.{c} {self._differs} excluded.{c}" for c in cols)
        # an unchanged row is not written: updated_at and rev move only on real changes
        return (f"INSERT INTO publications (post_id, channel, state, attempts, updated_at, rev, "
                f"{', '.join(cols)}) VALUES (?, ?, 'pending', 0, ?, ?, {', '.join('?' * len(cols))}) "
                f"ON CONFLICT (post_id, channel) DO UPDATE "
                f"SET {sets}, updated_at = excluded.updated_at, rev = excluded.rev WHERE {differs}")

    def ensure(self, post_id, channel, *, channel_type, meta, now):
        now, wanted = aware(now), check_meta(meta)
        current = self.get(post_id, channel)
        if current is not None and current.channel_type == channel_type and all(
                getattr(current, k) == v for k, v in wanted.items()):
            return current  # the common case every tick: no write lock, no write

        def body(tx: Tx) -> Publication:
            found = tx.rows(self._upsert(tuple(wanted)) + _RETURNING,
                            (post_id, channel, now, self._rev(tx), channel_type,
                             *(_db(k, v) for k, v in wanted.items())))
            # no row back: the upsert found nothing to change (a concurrent ensure() did it)
            return self._publications(found)[0] if found else self._row(tx, post_id, channel)
        return self._run(body, write=True)

    def ensure_many(self, items, *, now):
        now = aware(now)
        groups: dict[tuple[str, ...], list[tuple]] = {}  # one statement per set of meta keys
        for post_id, channel, channel_type, meta in items:
            meta = check_meta(meta)
            groups.setdefault(tuple(meta), []).append(
                (post_id, channel, channel_type, *(_db(k, v) for k, v in meta.items())))

        def body(tx: Tx) -> int:
            before = tx.one("SELECT COUNT(*) FROM publications")[0]
            rev = self._rev(tx)
            for keys, rows in groups.items():
                tx.many(self._upsert(keys), [(p, c, now, rev, *rest) for p, c, *rest in rows])
            return tx.one("SELECT COUNT(*) FROM publications")[0] - before
        return self._run(body, write=True)

    def get(self, post_id, channel):
        return self._run(lambda tx: self._row(tx, post_id, channel), write=False)

    def rows(self, *, channel=None, states=None, unit=None, since=None, until=None, post_id=None,
             by="first_published_at"):
        if by not in _ROWS_BY:
            raise ValueError(f"rows(by={by!r}): expected one of {list(_ROWS_BY)}")
        where, params = [], []
        for column, value in (("channel", channel), ("unit", unit), ("post_id", post_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if states is not None:
            states = list(states)
            check_states(states)
            where.append(f"state IN ({', '.join('?' * len(states))})" if states else "1 = 0")
            params += states
        if since is not None:
            where.append(f"{by} >= ?")
            params.append(aware(since, "since"))
        if until is not None:
            where.append(f"{by} < ?")
            params.append(aware(until, "until"))
        sql = SELECT_PUBLICATIONS + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY post_id, channel"
        return self._run(lambda tx: self._publications(tx.rows(sql, params)), write=False)

    def snapshot(self):
        # Rows are immutable values, so the previous snapshot is kept and only rows written since
        # (rev above the counter seen last time) are read: a tick with few changes costs ~1 ms
        # instead of decoding 60,000 rows. A counter that went backwards (restored backup) or a
        # first call reads everything.
        with self._lock:
            # rows are decoded as they are read: 60,000 raw tuples never exist at once (the
            # daemon's peak memory)
            def body(tx: Tx) -> tuple[int, list[Publication], bool]:
                rev = tx.one("SELECT rev FROM ledger_rev")[0]
                if self._snap is None or rev < self._snap_rev:
                    return rev, self._publications(tx.stream(SELECT_PUBLICATIONS)), True
                if rev == self._snap_rev:
                    return rev, [], False
                return rev, self._publications(tx.stream(SELECT_PUBLICATIONS + " WHERE rev > ?",
                                                         (self._snap_rev,))), False
            rev, found, full = self._run(body, write=False, consistent=True)
            if full or self._snap is None:
                self._snap = {}
            for row in found:
                self._snap[(row.post_id, row.channel)] = row
            self._snap_rev = rev
            return Snapshot(self._snap, rev)

    # -- events ---------------------------------------------------------------------------------

    def events(self, *, post_id=None, channel=None, since=None, kinds=None, limit=None):
        where, params = [], []
        for column, value in (("post_id", post_id), ("channel", channel)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("at >= ?")
            params.append(aware(since, "since"))
        if kinds is not None:
            kinds = list(kinds)
            where.append(f"kind IN ({', '.join('?' * len(kinds))})" if kinds else "1 = 0")
            params += kinds
        sql = f"SELECT {_EVENT_COLUMNS} FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) AS newest"
            params.append(int(limit))
        sql += " ORDER BY id"
        return self._run(lambda tx: [self._event_of(r) for r in tx.rows(sql, params)], write=False)

    def add_event(self, kind, *, post_id=None, channel=None, actor, detail=None, now, version=None):
        now = aware(now)
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind {kind!r}: expected one of {list(EVENT_KINDS)}")

        def body(tx: Tx) -> Event:
            new_id = self._event(tx, kind, post_id=post_id, channel=channel, actor=actor,
                                 version=version, detail=detail, now=now)
            return self._event_of(tx.one(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (new_id,)))
        return self._run(body, write=True)

    # -- durable small state --------------------------------------------------------------------

    def kv_get(self, key):
        found = self._run(lambda tx: tx.one("SELECT value FROM kv WHERE key = ?", (key,)), write=False)
        return found[0] if found else None

    def kv_set(self, key, value, now):
        now = aware(now)
        self._run(lambda tx: tx.exec(
            "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, now)), write=True)

    def pause(self, channel, *, reason, actor, now, until=None):
        now = aware(now)
        if until is not None:
            aware(until, "until")

        def body(tx: Tx) -> Pause:
            found = tx.one(f"INSERT INTO pauses (channel, reason, actor, since, until) "
                           f"VALUES (?, ?, ?, ?, ?) RETURNING {_PAUSE_COLUMNS}",
                           (channel, reason, actor, now, until))
            self._event(tx, "pause", post_id=None, channel=channel, actor=actor, version=None,
                        detail={"reason": reason, "until": until, "pause_id": found[0]}, now=now)
            return self._pause_of(found)
        return self._run(body, write=True)

    def resume(self, channel, *, actor, now):
        now = aware(now)

        def body(tx: Tx) -> int:
            ids = [r[0] for r in tx.rows(
                f"SELECT id FROM pauses WHERE channel {self._same} ? AND resumed_at IS NULL "
                f"AND (until IS NULL OR until > ?) ORDER BY id", (channel, now))]
            for pause_id in ids:
                tx.exec("UPDATE pauses SET resumed_at = ?, resumed_by = ? WHERE id = ?",
                        (now, actor, pause_id))
                self._event(tx, "resume", post_id=None, channel=channel, actor=actor, version=None,
                            detail={"pause_id": pause_id}, now=now)
            return len(ids)
        return self._run(body, write=True)

    def active_pauses(self, now):
        now = aware(now)
        sql = (f"SELECT {_PAUSE_COLUMNS} FROM pauses WHERE resumed_at IS NULL AND since <= ? "
               f"AND (until IS NULL OR until > ?) ORDER BY id")
        return self._run(lambda tx: [self._pause_of(r) for r in tx.rows(sql, (now, now))], write=False)

    # -- spacing --------------------------------------------------------------------------------

    def sent_since(self, channel, since):
        since = aware(since, "since")
        return self._run(lambda tx: tx.one(
            "SELECT COUNT(*) FROM publications WHERE channel = ? AND first_published_at >= ?",
            (channel, since))[0], write=False)

    def last_sent_at(self, channel):
        return self._time(self._run(lambda tx: tx.one(
            "SELECT MAX(first_published_at) FROM publications WHERE channel = ?", (channel,))[0],
            write=False))


def check_states(states: Collection[str]) -> None:
    unknown = sorted(set(states) - set(STATES))
    if unknown:
        raise ValueError(f"unknown ledger state(s) {unknown}; expected some of {list(STATES)}")
