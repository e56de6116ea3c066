"""Spacing: how much a channel has published lately, so the planner never dumps a backlog on it."""

from __future__ import annotations

from pipeline.ledger._sql import SqlCore, aware


class Spacing(SqlCore):
    """``sent_since`` and ``last_sent_at``: first publications only (an update is not a new post)."""

    def sent_since(self, channel, since):
        since = aware(since, "since")
        return self._run(lambda tx: tx.one(
            "SELECT COUNT(*) FROM publications WHERE channel = ? AND first_published_at >= ?",
            (channel, since))[0], write=False)

    def last_sent_at(self, channel):
        return self._time(self._run(lambda tx: tx.one(
            "SELECT MAX(first_published_at) FROM publications WHERE channel = ?", (channel,))[0],
            write=False))
