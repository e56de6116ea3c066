"""The append-only event log: read it and append to it (the schema refuses everything else)."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from pipeline.ledger._sql import SqlCore, Tx, aware
from pipeline.ledger.base import EVENT_KINDS, Event

_EVENT_COLUMNS = "id, at, post_id, channel, kind, actor, version, detail"


class Events(SqlCore):
    """``events`` and ``add_event``; other changes append theirs through :meth:`SqlCore._event`."""

    def _event_of(self, row: tuple) -> Event:
        return Event(row[0], self._time(row[1]), row[2], row[3], row[4], row[5], row[6],
                     MappingProxyType(json.loads(row[7] or "{}")))

    def events(self, *, post_id=None, channel=None, since=None, kinds=None, limit=None):
        where: list[str] = []
        params: list[Any] = []
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
