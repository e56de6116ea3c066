"""Publications: insert and refresh rows, read them, and the planner's incremental snapshot."""

from __future__ import annotations

from typing import Any

from pipeline.ledger._sql import (_RETURNING, SELECT_PUBLICATIONS, SqlCore, Tx, _db, aware, check_meta,
                                  check_states)
from pipeline.ledger.base import Publication, Snapshot

_ROWS_BY = ("first_published_at", "published_version_at", "updated_at", "publish_at")


class Publications(SqlCore):
    """``ensure``, ``ensure_many``, ``get``, ``rows`` and ``snapshot`` over the publications table."""

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
        where: list[str] = []
        params: list[Any] = []
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
        """Every row keyed by ``(post_id, channel)``; see :meth:`Ledger.snapshot` for the contract.

        What is cached: this ledger object keeps, in ``self._snap``, the decoded
        :class:`Publication` of every row as of change number ``self._snap_rev``. A call reads the
        current change number and, in the same read transaction, only the rows written since
        (``rev`` above ``_snap_rev``), replacing those entries. Nothing else needs reading because
        every write to a row raises its ``rev`` and the ledger never deletes a row. A first call,
        or a change number lower than the cached one (a restored backup), reads every row.

        The result is a new :class:`Snapshot` (a shallow copy of the cache) whose ``rev`` is the
        change number read: callers keep it or change it freely and use ``rev``, never object
        identity, to tell whether anything changed. Unchanged rows are the same objects from one
        snapshot to the next, which is safe only because :class:`Publication` is immutable.
        """
        with self._lock:
            rev, found, full = self._run(self._changed_rows, write=False, consistent=True)
            if full or self._snap is None:
                self._snap = {}
            for row in found:
                self._snap[(row.post_id, row.channel)] = row
            self._snap_rev = rev
            return Snapshot(self._snap, rev)

    def _changed_rows(self, tx: Tx) -> tuple[int, list[Publication], bool]:
        """``(rev, rows written since the cache, whether they are all the rows)``. Rows are decoded
        as they stream in, so the raw tuples of a full read never exist all at once (the daemon's
        peak memory)."""
        rev = tx.one("SELECT rev FROM ledger_rev")[0]
        if self._snap is None or rev < self._snap_rev:
            return rev, self._publications(tx.stream(SELECT_PUBLICATIONS)), True
        if rev == self._snap_rev:
            return rev, [], False
        return rev, self._publications(tx.stream(SELECT_PUBLICATIONS + " WHERE rev > ?",
                                                 (self._snap_rev,))), False
