"""The publication ledger: see :mod:`pipeline.ledger.base` for the contract.

``open_ledger(url, base_dir)`` picks the backend from the URL:

* ``None`` -> SQLite at ``<base_dir>/var/loa.db``;
* ``sqlite:///relative/path`` (relative to ``base_dir``), ``sqlite:////absolute/path`` or a bare
  path -> SQLite;
* ``postgresql://...`` or ``postgresql+psycopg://...`` -> PostgreSQL (needs ``loa[postgres]``).

The caller reads ``LOA_LEDGER_URL`` / the config; this module never looks at the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import LedgerError
from pipeline.ledger.base import (ACTIONS, ERROR_KINDS, EVENT_KINDS, META_KEYS, STATES, Event, Hold, Ledger,
                                  Pause, Publication, Snapshot, post_meta)
from pipeline.ledger.state import LedgerState

__all__ = ["open_ledger", "Ledger", "Publication", "Event", "Pause", "Hold", "Snapshot", "LedgerState", "post_meta",
           "STATES", "ACTIONS", "ERROR_KINDS", "EVENT_KINDS", "META_KEYS", "BACKENDS", "DEFAULT_PATH"]

#: Registry: URL scheme family -> implementation class path (imported on use).
BACKENDS = {"sqlite": "pipeline.ledger.sqlite:SQLiteLedger",
            "postgresql": "pipeline.ledger.postgres:PostgresLedger"}
#: Where the default SQLite ledger lives, relative to the project directory.
DEFAULT_PATH = Path("var") / "loa.db"
_POSTGRES_PREFIXES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def open_ledger(url: str | None, base_dir: Path, **options: Any) -> Ledger:
    """Open (not migrate) the ledger named by ``url``; relative SQLite paths resolve under ``base_dir``.

    ``options`` go to the backend (``busy_timeout`` for SQLite, ``connect_timeout`` for PostgreSQL).
    Raises ``LedgerError`` for an unsupported URL, ``ImportError`` with an install hint when
    psycopg is missing.
    """
    base_dir = Path(base_dir)
    if url is None or not url.strip():
        return _load("sqlite")(base_dir / DEFAULT_PATH, **options)
    url = url.strip()
    if url.startswith(_POSTGRES_PREFIXES):
        return _load("postgresql")(url, **options)
    if url.startswith("sqlite://"):
        if not url.startswith("sqlite:///"):
            raise LedgerError(f"ledger URL {url!r}: write sqlite:///relative/path or sqlite:////absolute/path")
        path = url[len("sqlite:///"):]
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise LedgerError(f"ledger URL scheme {scheme!r} is not supported: expected sqlite:///path, "
                          f"a file path, or postgresql://user@host/db")
    else:
        path = url
    if path in ("", ":memory:"):
        raise LedgerError(f"ledger URL {url!r}: the ledger must be a file that several processes can open")
    return _load("sqlite")(base_dir / Path(path).expanduser(), **options)


def _load(name: str) -> Any:
    module_name, _, cls = BACKENDS[name].partition(":")
    module = __import__(module_name, fromlist=[cls])
    return getattr(module, cls)
