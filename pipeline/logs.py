"""Log lines for people (text) and for log shippers (one JSON object per line), stamped in the
site zone.

``configure(fmt, verbose)`` is called once by ``cli.main``; ``use_zone(cfg.tz)`` by whoever has
loaded the configuration (the daemon). Until then times are in UTC, with their offset. Every
handler carries :data:`pipeline.secrets.FILTER`, so the message is redacted before a formatter
sees it; the JSON formatter redacts the item fields too.

An item line (``loa run``: one per item sent, updated, retracted, skipped or held) carries the
fields of :data:`ITEM_FIELDS` as ``extra``; the JSON formatter writes them as keys.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone, tzinfo

from pipeline import secrets

ITEM_FIELDS = ("post_id", "channel", "action", "link")
FORMATS = ("text", "json")
#: The loggers of the scheduler library: its chatter is shown only with ``-v -v``.
CHATTY = ("apscheduler",)
#: Loggers whose INFO lines are shown without ``-v``: the daemon's one line per item.
ITEMS_LOGGER = "pipeline.schedule"

_zone: list[tzinfo] = [timezone.utc]
_handler: list[logging.Handler] = []


def use_zone(tz: tzinfo) -> None:
    """Stamp every later log line in ``tz`` (the site zone)."""
    _zone[0] = tz


def local_time(record: logging.LogRecord) -> datetime:
    """The record's time in the zone of :func:`use_zone`."""
    return datetime.fromtimestamp(record.created, _zone[0])


class TextFormatter(logging.Formatter):
    """``2024-03-25 08:00:01+0700 INFO pipeline.schedule: send a on hook: https://...``"""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return local_time(record).strftime(datefmt or "%Y-%m-%d %H:%M:%S%z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601 in the site zone), ``level``, ``logger``,
    ``message``, the item fields when the line is about an item, and ``exception`` (redacted)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": local_time(record).isoformat(timespec="milliseconds"), "level": record.levelname,
               "logger": record.name, "message": record.getMessage()}
        for name in ITEM_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(secrets.redact_data(out), ensure_ascii=False)


def configure(fmt: str = "text", verbose: int = 0) -> None:
    """Log to standard error in ``fmt``: WARNING and above (``-v`` INFO, ``-v -v`` DEBUG), the
    daemon's item lines always, the scheduler's chatter only with ``-v -v``.

    Like ``logging.basicConfig``, nothing is added when the root logger already has a handler of
    someone else's (a test runner's); calling it again only changes the format and levels."""
    root = logging.getLogger()
    level = logging.WARNING - 10 * min(verbose, 2)
    if _handler and _handler[0] in root.handlers:
        handler = _handler[0]
        handler.setStream(sys.stderr)
    elif not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        root.addHandler(handler)
        _handler[:] = [handler]
    else:
        handler = None
    if handler is not None:
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(level)
    logging.getLogger(ITEMS_LOGGER).setLevel(min(level, logging.INFO))
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    secrets.install_log_filter()
