"""Durable string state lent to publishers and feed ingestion, kept in the ledger's kv table.

Get one from :meth:`Ledger.publisher_state`, :meth:`Ledger.ingest_state` or, for a key space of
your own, :meth:`Ledger.state_store`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from pipeline.ledger.base import Ledger


class LedgerState:
    """A :class:`~publishers.base.StateStore` over one key space of a ledger's kv table.

    ``get(k)``/``set(k, v)`` read and write kv key ``prefix + k``; each write is committed when
    ``set`` returns (Zalo stores its rotating refresh token before using it) and stamped with
    ``now_fn()``. With ``namespace``, a key whose stored form does not start with it raises
    ``ValueError``: the store cannot reach into another owner's keys (holds, throttles, other
    publishers).
    """

    __slots__ = ("ledger", "prefix", "now_fn", "namespace")

    def __init__(self, ledger: "Ledger", prefix: str, now_fn: Callable[[], datetime], *,
                 namespace: str = ""):
        self.ledger, self.prefix, self.now_fn, self.namespace = ledger, prefix, now_fn, namespace

    def _key(self, key: str) -> str:
        stored = self.prefix + key
        if not stored.startswith(self.namespace):
            raise ValueError(f"state key {stored!r} is outside {self.namespace!r}, the key space of this store")
        return stored

    def get(self, key: str) -> str | None:
        return self.ledger.kv_get(self._key(key))

    def set(self, key: str, value: str | None) -> None:
        self.ledger.kv_set(self._key(key), value, self.now_fn())

    def lock(self, name: str, *, timeout: float = 60.0):
        """A lock over ``name`` in this store's key space, shared by every process using the
        ledger (:meth:`Ledger.named_lock`): Zalo refreshes its single-use token under it."""
        return self.ledger.named_lock(self._key(name), timeout=timeout)
