"""Numbered schema migrations, one list of statements per backend.

Rules: a migration is never edited once released; a schema change is a new number appended to
:data:`MIGRATIONS` with the statements for both dialects. ``schema_migrations`` records what was
applied. A database whose version is higher than :data:`LATEST` was written by a newer Loa and is
refused: an older program must not write rows it does not understand.

No CHECK constraints on state or kind columns: SQLite cannot change a CHECK without rebuilding the
table, so the allowed values are validated in Python (``base.STATES``, ``base.EVENT_KINDS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import LedgerError


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` (1, 2, ...), what it does, and its SQL for each dialect."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return getattr(self, dialect)


def _publications(time: str) -> str:
    return f"""
CREATE TABLE publications (
    post_id              TEXT NOT NULL,
    channel              TEXT NOT NULL,
    channel_type         TEXT NOT NULL,
    state                TEXT NOT NULL DEFAULT 'pending',
    action               TEXT,
    version              TEXT,
    pending_version      TEXT,
    remote_id            TEXT,
    remote_url           TEXT,
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      {time},
    last_error           TEXT,
    error_kind           TEXT,
    claim_owner          TEXT,
    lease_until          {time},
    claimed_from         TEXT,
    first_published_at   {time},
    published_version_at {time},
    retracted_at         {time},
    corrected_at         {time},
    updated_at           {time} NOT NULL,
    publish_at           {time},
    title                TEXT,
    unit                 TEXT,
    type                 TEXT,
    author               TEXT,
    path                 TEXT,
    git_commit           TEXT,
    topics               TEXT NOT NULL DEFAULT '[]',
    extra                TEXT NOT NULL DEFAULT '{{}}',
    rev                  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, channel)
)"""


_INDEXES = (
    "CREATE INDEX ix_publications_state_next ON publications (state, next_attempt_at)",
    "CREATE INDEX ix_publications_first ON publications (first_published_at)",
    "CREATE INDEX ix_publications_unit_first ON publications (unit, first_published_at)",
    "CREATE INDEX ix_publications_channel_first ON publications (channel, first_published_at)",
    "CREATE INDEX ix_events_post_channel_at ON events (post_id, channel, at)",
    "CREATE INDEX ix_events_at ON events (at)",
    # rev: the change counter value of the transaction that last wrote the row; snapshot() reads
    # only rows with a rev above the one it saw last time (writers are serialized, so revs are
    # committed in order and none is ever skipped).
    "CREATE INDEX ix_publications_rev ON publications (rev)",
    "CREATE TABLE ledger_rev (id INTEGER PRIMARY KEY CHECK (id = 1), rev BIGINT NOT NULL)",
    "INSERT INTO ledger_rev (id, rev) VALUES (1, 0)",
)


def _rest(time: str, id_column: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE events (
    id      {id_column},
    at      {time} NOT NULL,
    post_id TEXT,
    channel TEXT,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    version TEXT,
    detail  TEXT NOT NULL DEFAULT '{{}}'
)""",
        f"CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT, updated_at {time} NOT NULL)",
        f"""CREATE TABLE pauses (
    id         {id_column},
    channel    TEXT,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    since      {time} NOT NULL,
    until      {time},
    resumed_at {time},
    resumed_by TEXT
)""",
    )


_SQLITE_V1 = (
    _publications("TEXT"),
    *_rest("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    *_INDEXES,
    # The event log is evidence for the Home Affairs reports: the database itself refuses edits.
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
)

_POSTGRES_V1 = (
    _publications("TIMESTAMPTZ"),
    *_rest("TIMESTAMPTZ", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    *_INDEXES,
    """CREATE FUNCTION loa_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$""",
    "CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION loa_events_append_only()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION loa_events_append_only()",
)


def _accounts(time: str, id_column: str, false: str) -> tuple[str, ...]:
    """The web console's accounts (issue 18): people, their signed-in sessions, sign-in attempts.

    Passwords are Argon2 hashes; a session is stored by the SHA-256 of its cookie token, so a copy
    of the ledger (a backup) does not hold a token anyone could sign in with."""
    return (
        f"""CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    full_name     TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled_at   {time},
    created_at    {time} NOT NULL,
    updated_at    {time} NOT NULL
)""",
        f"""CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at {time} NOT NULL,
    seen_at    {time} NOT NULL,
    expires_at {time} NOT NULL,
    ended_at   {time}
)""",
        "CREATE INDEX ix_web_sessions_user ON web_sessions (user_name)",
        f"""CREATE TABLE login_attempts (
    id      {id_column},
    at      {time} NOT NULL,
    account TEXT NOT NULL,
    ip      TEXT NOT NULL,
    ok      BOOLEAN NOT NULL DEFAULT {false}
)""",
        "CREATE INDEX ix_login_attempts_account ON login_attempts (account, at)",
        "CREATE INDEX ix_login_attempts_ip ON login_attempts (ip, at)",
    )


def _check_cache(time: str) -> tuple[str, ...]:
    return (f"CREATE TABLE check_cache (key TEXT PRIMARY KEY, problems TEXT NOT NULL, written_at {time} NOT NULL)",
            "CREATE INDEX ix_check_cache_written ON check_cache (written_at)")


_REPORT_INDEX = "CREATE INDEX ix_publications_report ON publications (type, channel, unit, topics, first_published_at)"
_AUDIT_INDEX = "CREATE INDEX ix_events_kind_at ON events (kind, at)"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "publications, events (append-only), kv, pauses", _SQLITE_V1, _POSTGRES_V1),
    Migration(2, "web console: users, web_sessions, login_attempts",
              _accounts("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT", "0"),
              _accounts("TIMESTAMPTZ", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "FALSE")),
    # The period report groups every row of a period by these four columns: read from this index in
    # its order, the grouping streams instead of sorting a million rows (SQLite has no hash
    # aggregation; bench/report.py, 1.7 s -> 0.2 s of CPU). About 85 bytes a row.
    Migration(3, "reports: covering index for the period's type x channel x unit x topics counts",
              (_REPORT_INDEX,), (_REPORT_INDEX,)),
    # The report's approval annex reads the board's events (approve, send_back), a few per post,
    # among every item's claim/send/success events: by kind, not a pass over the whole log.
    Migration(4, "reports: events by kind and time, for the approval annex", (_AUDIT_INDEX,), (_AUDIT_INDEX,)),
    # Every new process checked every post again (~1 ms a post: 22 s to publish one edit of a
    # 20,000-post site): a post's problems kept by the hash of all their inputs (pipeline/checkcache.py),
    # here and not in a file the content repository could plant.
    Migration(5, "check_cache: each post's problems by the hash of their inputs",
              _check_cache("TEXT"), _check_cache("TIMESTAMPTZ")),
)

#: The schema version this code writes.
LATEST = MIGRATIONS[-1].version

#: Created before anything else, outside the numbered list (it records the list).
SCHEMA_MIGRATIONS = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations "
              "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_migrations "
                  "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
}


def pending(current: int, where: str) -> list[Migration]:
    """The migrations to apply to a database at version ``current``, in order.

    Raises ``LedgerError`` when ``current`` is newer than this code (``where`` names the database).
    """
    if current > LATEST:
        raise LedgerError(
            f"ledger {where} has schema version {current}, but this Loa knows only up to "
            f"version {LATEST}: upgrade Loa before using this ledger")
    return [m for m in MIGRATIONS if m.version > current]


def _check() -> None:
    # Versions must be 1, 2, 3... so that "max(version)" means "everything up to it applied".
    expected = list(range(1, len(MIGRATIONS) + 1))
    if [m.version for m in MIGRATIONS] != expected:
        raise RuntimeError(f"migration numbers must be {expected}")


_check()
