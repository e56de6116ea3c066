"""The kv table and the typed conventions kept in it: channel holds, vendor throttles, maybe-sent
creates and feed ingestion status.

The keys are the ones earlier Loa versions wrote, so an existing ledger keeps its state:

=====================================  ======================================================
``hold:{channel}``                     JSON ``{"message", "hint", "vendor"}``; NULL once lifted
``throttle:{channel}``                 ISO time until which the vendor asked the channel to wait
``maybe-sent:{post_id}:{channel}``     idempotency key of a create that may have reached the vendor
``ingest:status:{feed}``               JSON written by :mod:`pipeline.ingest`
``notify:{key}``                       JSON state of one notification (:mod:`pipeline.notify`)
``pub:{channel}:...``, ``ingest:...``  :class:`~pipeline.ledger.state.LedgerState` stores
=====================================  ======================================================

A key whose value is NULL counts as absent (that is how earlier versions cleared one).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from pipeline.ledger._sql import SqlCore, Tx, aware
from pipeline.ledger.base import Hold

log = logging.getLogger(__name__)
UTC = timezone.utc

HOLD_PREFIX = "hold:"
THROTTLE_PREFIX = "throttle:"
MAYBE_SENT_PREFIX = "maybe-sent:"
FEED_STATUS_PREFIX = "ingest:status:"
NOTICE_PREFIX = "notify:"


def _maybe_sent(post_id: str, channel: str) -> str:
    return f"{MAYBE_SENT_PREFIX}{post_id}:{channel}"


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _hold_of(text: str, since: datetime | None) -> Hold:
    data = _json_object(text)
    if data is None:  # not written by Loa's hold(): keep the words rather than lose the hold
        return Hold(text, None, None, since)
    message = data.get("message")
    from pipeline.messages import from_data  # a catalogue message comes back as one: shown in the reader's language

    codes = data.get("codes") if isinstance(data.get("codes"), dict) else {}
    message, hint = message if isinstance(message, str) else text, data.get("hint")
    return Hold(from_data(codes.get("reason"), message), from_data(codes.get("hint"), hint), data.get("vendor"), since,
                codes or None)


def _until_of(key: str, text: str) -> datetime | None:
    try:
        until = datetime.fromisoformat(text)
    except ValueError:
        until = None
    if until is None or until.tzinfo is None:
        log.warning("Ignoring kv %s: %r is not an ISO time with an offset; the channel is not throttled",
                    key, text)
        return None
    return until.astimezone(UTC)


class KeyValue(SqlCore):
    """``kv_get``/``kv_set`` and the typed methods over them (see the module docstring)."""

    def kv_get(self, key):
        found = self._run(lambda tx: tx.one("SELECT value FROM kv WHERE key = ?", (key,)), write=False)
        return found[0] if found else None

    def kv_set(self, key, value, now):
        now = aware(now)
        self._run(lambda tx: tx.exec(
            "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, now)), write=True)

    def _kv_scan(self, prefix: str) -> list[tuple[str, str, datetime]]:
        """``(key without prefix, value, updated_at)`` of every non-NULL value under ``prefix``."""
        # substr, not LIKE: exact in both dialects whatever the collation, and no escaping of _ or %
        sql = (f"SELECT key, value, updated_at FROM kv WHERE substr(key, 1, {len(prefix)}) = ? "
               f"AND value IS NOT NULL ORDER BY key")
        found = self._run(lambda tx: tx.rows(sql, (prefix,)), write=False)
        return [(k[len(prefix):], v, self._time(at)) for k, v, at in found]

    # -- holds ----------------------------------------------------------------------------------

    def holds(self):
        return {channel: _hold_of(text, since) for channel, text, since in self._kv_scan(HOLD_PREFIX) if text}

    def hold(self, channel, hold, now):
        data = {"message": hold.message, "hint": hold.hint, "vendor": hold.vendor}
        if hold.codes:  # catalogue messages: loa status shows them in the reader's language
            data["codes"] = hold.codes
        self.kv_set(HOLD_PREFIX + channel, json.dumps(data, ensure_ascii=False), now)

    def lift_hold(self, channel, now):
        now = aware(now)

        def body(tx: Tx) -> bool:
            return tx.exec("UPDATE kv SET value = NULL, updated_at = ? WHERE key = ? "
                           "AND value IS NOT NULL AND value <> ''", (now, HOLD_PREFIX + channel)) > 0
        return self._run(body, write=True)

    # -- throttles ------------------------------------------------------------------------------

    def throttles(self):
        out = {}
        for channel, text, _ in self._kv_scan(THROTTLE_PREFIX):
            until = _until_of(THROTTLE_PREFIX + channel, text)
            if until is not None:
                out[channel] = until
        return out

    def throttled_until(self, channel):
        text = self.kv_get(THROTTLE_PREFIX + channel)
        return _until_of(THROTTLE_PREFIX + channel, text) if text else None

    def throttle(self, channel, until, now):
        value = None if until is None else aware(until, "until").astimezone(UTC).isoformat()
        self.kv_set(THROTTLE_PREFIX + channel, value, now)

    # -- maybe-sent creates ---------------------------------------------------------------------

    def maybe_sent_key(self, post_id, channel):
        return self.kv_get(_maybe_sent(post_id, channel)) or None

    def set_maybe_sent(self, post_id, channel, key, now):
        self.kv_set(_maybe_sent(post_id, channel), key, now)

    # -- feed ingestion -------------------------------------------------------------------------

    def feed_statuses(self):
        out = {}
        for feed, text, _ in self._kv_scan(FEED_STATUS_PREFIX):
            data = _json_object(text)
            out[feed] = data if data is not None else {"reason": text}
        return out

    # -- notifications --------------------------------------------------------------------------

    def notices(self):
        out = {}
        for key, text, _ in self._kv_scan(NOTICE_PREFIX):
            data = _json_object(text)
            if data is not None:
                out[key] = data
        return out
