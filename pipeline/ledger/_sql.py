"""The core shared by both SQL backends: transactions, row decoding, the building blocks every
change uses, and migrations.

The ledger's methods are grouped by what they touch, one module each, all built on this core:

==================  ===================================================================
``_rows.py``        publications: ensure, get, rows, the incremental snapshot
``_claims.py``      the claim protocol (the row state machine behind exactly-once)
``_events.py``      the append-only event log
``_kv.py``          kv and the typed state over it: holds, throttles, maybe-sent, feed status
``_pauses.py``      pauses
``_spacing.py``     spacing queries (sent_since, last_sent_at)
``_sqlledger.py``   :class:`SqlLedger`, the whole ledger assembled from the above
==================  ===================================================================

Every change reads the row under a write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``SELECT ... FOR UPDATE``), checks the invariants in Python, writes the new values and appends its
event, all in one transaction run by the backend's :meth:`SqlCore._run`. SQL is written once with
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
from pipeline.ledger.base import META_KEYS, PUBLICATION_COLUMNS, STATES, ClaimLost, Ledger, Publication

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
    """Transactions, decoding and the in-transaction building blocks of the SQL ledger.

    Backends supply :meth:`_run` (transactions, error translation) and say how times are stored;
    the method groups in the sibling modules subclass this and use only what is here.
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
        # snapshot()'s cache, see Publications.snapshot: the decoded rows as of change number _snap_rev
        self._snap: dict[tuple[str, str], Publication] | None = None
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
            raise ClaimLost(f"claim lost: {owner} no longer holds {post_id} on {channel} "
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


def check_states(states: Collection[str]) -> None:
    unknown = sorted(set(states) - set(STATES))
    if unknown:
        raise ValueError(f"unknown ledger state(s) {unknown}; expected some of {list(STATES)}")
