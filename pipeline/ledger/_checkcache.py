"""The per-post problem cache (``check_cache``, migration 5): what :mod:`pipeline.checkcache`
stores for :meth:`pipeline.app.Session.check`. Server-side state, like every ledger row: the
content repository cannot write it, so it cannot plant a "no problems" entry past the publish gate.

Keys are SHA-256 hex digests of every input of the problems; a value is their JSON. A key
written again replaces its value (only an entry that did not read back is ever written again);
the table is bounded by count: after a write, the entries written longest ago beyond ``keep``
are deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

from pipeline.ledger._sql import SqlCore, Tx, aware

#: Keys looked up per statement (SQLite allows 32,766 parameters, PostgreSQL 65,535).
CHUNK = 500
#: Entries kept by default: two parts (own problems, text warnings) of a 20,000-post site, and
#: as many again for the versions edited since.
KEEP = 100_000


class CheckCache(SqlCore):
    """``cached_problems`` / ``cache_problems`` over the ``check_cache`` table."""

    def cached_problems(self, keys: Iterable[str]) -> dict[str, str]:
        keys = sorted(set(keys))

        def body(tx: Tx) -> dict[str, str]:
            out: dict[str, str] = {}
            for i in range(0, len(keys), CHUNK):
                part = keys[i:i + CHUNK]
                out.update(tx.rows(f"SELECT key, problems FROM check_cache WHERE key IN "
                                   f"({', '.join('?' * len(part))})", part))
            return out
        return self._run(body, write=False, consistent=True) if keys else {}

    def cache_problems(self, entries: Mapping[str, str], now: datetime, *, keep: int = KEEP) -> int:
        now = aware(now)
        rows = sorted(entries.items())

        def body(tx: Tx) -> int:
            tx.many("INSERT INTO check_cache (key, problems, written_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET problems = excluded.problems, written_at = excluded.written_at",
                    [(k, v, now) for k, v in rows])
            excess = tx.one("SELECT COUNT(*) FROM check_cache")[0] - keep
            if excess > 0:
                tx.exec("DELETE FROM check_cache WHERE key IN (SELECT key FROM check_cache "
                        "ORDER BY written_at, key LIMIT ?)", (excess,))
            return max(excess, 0)
        return self._run(body, write=True) if rows else 0
