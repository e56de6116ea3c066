"""Pauses: a person holds one channel or every channel, until resumed or until a time."""

from __future__ import annotations

from pipeline.ledger._sql import SqlCore, Tx, aware
from pipeline.ledger.base import Pause

_PAUSE_COLUMNS = "id, channel, reason, actor, since, until, resumed_at, resumed_by"


class Pauses(SqlCore):
    """``pause``, ``resume`` and ``active_pauses``; each change appends its event."""

    def _pause_of(self, row: tuple) -> Pause:
        return Pause(row[0], row[1], row[2], row[3], self._time(row[4]), self._time(row[5]),
                     self._time(row[6]), row[7])

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
        """End the pauses of ``channel``; ``None`` ends every pause, of all channels and of each
        one ("resume everything" must leave nothing paused)."""
        now = aware(now)
        which, params = ("", (now,)) if channel is None else (f"channel {self._same} ? AND ", (channel, now))

        def body(tx: Tx) -> int:
            found = tx.rows(f"SELECT id, channel FROM pauses WHERE {which}resumed_at IS NULL "
                            f"AND (until IS NULL OR until > ?) ORDER BY id", params)
            for pause_id, paused in found:
                tx.exec("UPDATE pauses SET resumed_at = ?, resumed_by = ? WHERE id = ?",
                        (now, actor, pause_id))
                self._event(tx, "resume", post_id=None, channel=paused, actor=actor, version=None,
                            detail={"pause_id": pause_id}, now=now)
            return len(found)
        return self._run(body, write=True)

    def active_pauses(self, now):
        now = aware(now)
        sql = (f"SELECT {_PAUSE_COLUMNS} FROM pauses WHERE resumed_at IS NULL AND since <= ? "
               f"AND (until IS NULL OR until > ?) ORDER BY id")
        return self._run(lambda tx: [self._pause_of(r) for r in tx.rows(sql, (now, now))], write=False)
