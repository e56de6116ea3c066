"""Health and Prometheus metrics as data from the ledger, and the small HTTP server that shows
them (``loa run`` with ``daemon.health_port``).

``read(ledger, now, ...)`` gathers a :class:`Health`: items by state per channel, the last
successful tick (:meth:`pipeline.ledger.base.Ledger.last_tick`), the oldest due item, held and
paused channels. ``/healthz`` answers 200 while the last tick is recent (within
:func:`stale_after` of now), else 503; ``/metrics`` is the same data in the Prometheus text
format (version 0.0.4). The server binds 127.0.0.1 only: a monitoring agent on the same host
scrapes it, or a reverse proxy the IT officer configures publishes it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Mapping

from pipeline.errors import LedgerError

log = logging.getLogger(__name__)

#: Rows waiting to go out (or to be settled): the queue whose oldest item ``/metrics`` ages.
QUEUED = ("pending", "retrying", "claimed", "in_doubt")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def stale_after(tick: timedelta) -> timedelta:
    """How old the last successful tick may be before ``/healthz`` answers 503: three ticks and
    half a minute (a slow pass or a restart is not an outage; three missed ticks are)."""
    return 3 * tick + timedelta(seconds=30)


@dataclass(frozen=True)
class Health:
    """What ``/healthz`` and ``/metrics`` show, read from the ledger at ``now`` (UTC-aware)."""

    now: datetime
    stale_after: timedelta
    items: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (channel, state) -> count
    last_tick: datetime | None = None
    tick_owner: str | None = None
    oldest_due: datetime | None = None
    held: tuple[str, ...] = ()
    paused: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.last_tick is not None and self.now - self.last_tick <= self.stale_after

    @property
    def oldest_due_age(self) -> float:
        """Seconds since the oldest queued item became due (0 when nothing is queued)."""
        return max(0.0, (self.now - self.oldest_due).total_seconds()) if self.oldest_due else 0.0

    def body(self, zone: tzinfo) -> dict:
        """The JSON body of ``/healthz`` (times in ``zone``, the site zone)."""
        return {"status": "ok" if self.ok else "stale",
                "last_tick": self.last_tick.astimezone(zone).isoformat() if self.last_tick else None,
                "last_tick_age_seconds": round((self.now - self.last_tick).total_seconds(), 1) if self.last_tick else None,
                "stale_after_seconds": self.stale_after.total_seconds(),
                "oldest_due_age_seconds": round(self.oldest_due_age, 1),
                "held_channels": list(self.held), "paused_channels": list(self.paused)}


def read(ledger, now: datetime, *, channels: tuple[str, ...], tick: timedelta, brief: bool = False) -> Health:
    """:class:`Health` from ``ledger`` at ``now``: three read-only statements and the kv values.
    ``brief``: the last tick only (``ok``, ``last_tick``), without counting every row, for a page
    that shows whether ``loa run`` is alive (the console's operations page)."""
    if brief:
        tick_at = ledger.last_tick()
        return Health(now=now, stale_after=stale_after(tick), last_tick=_time(tick_at.get("at")) if tick_at else None,
                      tick_owner=(tick_at or {}).get("owner"), channels=tuple(channels))
    counts = {(ch, state): n for ch, state, n in ledger.query(
        "SELECT channel, state, count(*) FROM publications GROUP BY channel, state")}
    states = ", ".join(f"'{s}'" for s in QUEUED)
    # a first publication is due at its publish_at; an edit or a removal since the row last changed
    first = ledger.query(f"SELECT publish_at FROM publications WHERE state IN ({states}) AND first_published_at IS NULL "
                         f"AND publish_at IS NOT NULL AND publish_at <= ? ORDER BY publish_at LIMIT 1", (now,))
    later = ledger.query(f"SELECT updated_at FROM publications WHERE state IN ({states}) "
                         f"AND first_published_at IS NOT NULL ORDER BY updated_at LIMIT 1")
    due = [r[0] for r in first + later if isinstance(r[0], datetime)]
    tick_at = ledger.last_tick()
    last = _time(tick_at.get("at")) if tick_at else None
    paused: set[str] = set()
    for p in ledger.active_pauses(now):
        paused.update([p.channel] if p.channel else channels)
    return Health(now=now, stale_after=stale_after(tick), items=counts, last_tick=last,
                  tick_owner=(tick_at or {}).get("owner"), oldest_due=min(due, default=None),
                  held=tuple(sorted(ledger.holds())), paused=tuple(sorted(paused)), channels=tuple(channels))


def _time(text: str | None) -> datetime | None:
    try:
        t = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return t if t is None or t.tzinfo else t.replace(tzinfo=timezone.utc)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics_text(h: Health) -> str:
    """``h`` in the Prometheus text exposition format."""
    out = ["# HELP loa_items Ledger rows (post, channel) by channel and state.", "# TYPE loa_items gauge"]
    out += [f'loa_items{{channel="{_label(ch)}",state="{_label(st)}"}} {n}' for (ch, st), n in sorted(h.items.items())]
    out += ["# HELP loa_last_tick_timestamp_seconds When the daemon last finished a publishing tick (unix time).",
            "# TYPE loa_last_tick_timestamp_seconds gauge",
            f"loa_last_tick_timestamp_seconds {h.last_tick.timestamp() if h.last_tick else 0:.3f}",
            "# HELP loa_healthy 1 while the last tick is recent (what /healthz answers 200 for).",
            "# TYPE loa_healthy gauge", f"loa_healthy {int(h.ok)}",
            "# HELP loa_oldest_due_age_seconds Age of the oldest item due but not yet sent (0: none).",
            "# TYPE loa_oldest_due_age_seconds gauge", f"loa_oldest_due_age_seconds {h.oldest_due_age:.1f}",
            "# HELP loa_channel_held 1 when a channel is held (authentication or manifest; loa resume).",
            "# TYPE loa_channel_held gauge"]
    names = sorted(set(h.channels) | set(h.held))
    out += [f'loa_channel_held{{channel="{_label(ch)}"}} {int(ch in h.held)}' for ch in names]
    out += ["# HELP loa_channel_paused 1 when a channel is paused (loa pause).", "# TYPE loa_channel_paused gauge"]
    out += [f'loa_channel_paused{{channel="{_label(ch)}"}} {int(ch in h.paused)}' for ch in names]
    return "\n".join(out) + "\n"


class HealthServer:
    """``/healthz`` and ``/metrics`` on ``host:port`` in a background thread; ``health()`` is
    called for each request (it must open its own ledger connection: requests run beside the
    daemon's tick). ``port=0`` picks a free port (tests); :attr:`port` says which."""

    def __init__(self, health: Callable[[], Health], port: int, zone: tzinfo, host: str = "127.0.0.1"):
        self._health, self._zone = health, zone
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loa-health", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> "HealthServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` for a GET of ``path``."""
        path = path.split("?", 1)[0]
        if path not in ("/healthz", "/metrics"):
            return 404, "text/plain; charset=utf-8", b"not found: /healthz or /metrics\n"
        try:
            h = self._health()
        except LedgerError as exc:
            log.warning("Health check: the ledger is unavailable (%s)", exc)
            return 503, "application/json", json.dumps({"status": "ledger-unavailable"}).encode()
        if path == "/metrics":
            return 200, CONTENT_TYPE, metrics_text(h).encode()
        return (200 if h.ok else 503), "application/json", json.dumps(h.body(self._zone)).encode()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                status, ctype, body = server.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt, *args):
                log.debug("health %s " + fmt, self.client_address[0], *args)

        return Handler
