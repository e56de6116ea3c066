"""The kv table: small durable state (publisher tokens, feed validators, channel holds)."""

from __future__ import annotations

from pipeline.ledger._sql import SqlCore, aware


class KeyValue(SqlCore):
    """``kv_get`` and ``kv_set``."""

    def kv_get(self, key):
        found = self._run(lambda tx: tx.one("SELECT value FROM kv WHERE key = ?", (key,)), write=False)
        return found[0] if found else None

    def kv_set(self, key, value, now):
        now = aware(now)
        self._run(lambda tx: tx.exec(
            "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, now)), write=True)
