"""The web console's accounts: people (``users``), their signed-in sessions (``web_sessions``)
and sign-in attempts (``login_attempts``, which throttling counts, so every console process
shares one count). Each change to a person appends its event, with who made it."""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.ledger._sql import SqlCore, Tx, aware
from pipeline.ledger.base import User

_KEEP = timedelta(days=30)
_USER_COLUMNS = "name, full_name, role, password_hash, disabled_at, created_at, updated_at"


class Accounts(SqlCore):
    """``user_*``, ``web_session_*`` and ``login_*`` (see :class:`~pipeline.ledger.base.Ledger`)."""

    def _user_of(self, row: tuple) -> User:
        return User(row[0], row[1], row[2], row[3], self._time(row[4]), self._time(row[5]), self._time(row[6]))

    def user_get(self, name):
        sql = f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?"
        return self._run(lambda tx: (lambda r: self._user_of(r) if r else None)(tx.one(sql, (name,))), write=False)

    def users(self):
        sql = f"SELECT {_USER_COLUMNS} FROM users ORDER BY name"
        return self._run(lambda tx: [self._user_of(r) for r in tx.rows(sql)], write=False)

    def user_add(self, name, *, full_name, role, password_hash, actor, now):
        now = aware(now)

        def body(tx: Tx) -> User:
            if tx.one("SELECT 1 FROM users WHERE name = ?", (name,)):
                raise KeyError(name)
            row = tx.one(f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?, ?) "
                         f"RETURNING {_USER_COLUMNS}", (name, full_name, role, password_hash, now, now))
            self._event(tx, "user", post_id=None, channel=None, actor=actor, version=None,
                        detail={"action": "add", "name": name, "role": role}, now=now)
            return self._user_of(row)
        return self._run(body, write=True)

    def user_change(self, name, *, actor, now, password_hash=None, disabled=None):
        """Set a new password hash and/or (dis)able; a disabled person's sessions end now, and so
        do all of a person's sessions when the password changes. ``KeyError``: no such person."""
        now = aware(now)

        def body(tx: Tx) -> User:
            if not tx.one("SELECT 1 FROM users WHERE name = ?", (name,)):
                raise KeyError(name)
            if password_hash is not None:
                tx.exec("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?", (password_hash, now, name))
            if disabled is not None:
                tx.exec("UPDATE users SET disabled_at = ?, updated_at = ? WHERE name = ?",
                        (now if disabled else None, now, name))
            if password_hash is not None or disabled:
                tx.exec("UPDATE web_sessions SET ended_at = ? WHERE user_name = ? AND ended_at IS NULL", (now, name))
            action = "reset" if password_hash is not None else ("disable" if disabled else "enable")
            self._event(tx, "user", post_id=None, channel=None, actor=actor, version=None,
                        detail={"action": action, "name": name}, now=now)
            return self._user_of(tx.one(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)))
        return self._run(body, write=True)

    # -- sessions ----------------------------------------------------------------------------------
    def web_session_start(self, token_hash, *, user_name, csrf, now, expires_at):
        now, expires_at = aware(now), aware(expires_at, "expires_at")

        def body(tx: Tx) -> None:
            # sessions over for a month are of no use (the events keep who signed in and out)
            tx.exec("DELETE FROM web_sessions WHERE expires_at < ? OR ended_at < ?", (now - _KEEP, now - _KEEP))
            tx.exec("INSERT INTO web_sessions (token_hash, user_name, csrf, created_at, seen_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (token_hash, user_name, csrf, now, now, expires_at))
            self._event(tx, "login", post_id=None, channel=None, actor=user_name, version=None, detail={}, now=now)
        self._run(body, write=True)

    def web_session(self, token_hash, now):
        """``(user, csrf, seen_at)`` of a live session (not ended, not expired), else ``None``."""
        now = aware(now)
        cols = ", ".join(f"u.{c.strip()}" for c in _USER_COLUMNS.split(","))
        sql = (f"SELECT {cols}, s.csrf, s.seen_at FROM web_sessions s JOIN users u ON u.name = s.user_name "
               f"WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ?")

        def body(tx: Tx):
            row = tx.one(sql, (token_hash, now))
            return None if row is None else (self._user_of(row[:7]), row[7], self._time(row[8]))
        return self._run(body, write=False)

    def web_session_touch(self, token_hash, *, now, expires_at):
        now, expires_at = aware(now), aware(expires_at, "expires_at")
        self._run(lambda tx: tx.exec("UPDATE web_sessions SET seen_at = ?, expires_at = ? WHERE token_hash = ? "
                                     "AND ended_at IS NULL", (now, expires_at, token_hash)), write=True)

    def web_session_end(self, token_hash, *, now):
        now = aware(now)

        def body(tx: Tx) -> bool:
            row = tx.one("SELECT user_name FROM web_sessions WHERE token_hash = ? AND ended_at IS NULL", (token_hash,))
            if row is None:
                return False
            tx.exec("UPDATE web_sessions SET ended_at = ? WHERE token_hash = ?", (now, token_hash))
            self._event(tx, "logout", post_id=None, channel=None, actor=row[0], version=None, detail={}, now=now)
            return True
        return self._run(body, write=True)

    # -- sign-in attempts --------------------------------------------------------------------------
    def login_attempt(self, account, ip, *, ok, now):
        now = aware(now)

        def body(tx: Tx) -> None:
            # only the last day counts for throttling; the events keep every failure
            tx.exec("DELETE FROM login_attempts WHERE at < ?", (now - timedelta(days=1),))
            tx.exec("INSERT INTO login_attempts (at, account, ip, ok) VALUES (?, ?, ?, ?)", (now, account, ip, bool(ok)))
            if not ok:
                self._event(tx, "login_failed", post_id=None, channel=None, actor=account, version=None,
                            detail={"ip": ip}, now=now)
        self._run(body, write=True)

    def login_failures(self, account, ip, since: datetime):
        """``(failures for account, failures from ip)`` since ``since``; an account's count starts
        again after its last successful sign-in, an address's does not (one good password must not
        clear a guessing run against other accounts)."""
        since = aware(since, "since")
        sql_account = ("SELECT COUNT(*) FROM login_attempts WHERE account = ? AND NOT ok AND at >= ? AND at > "
                       "COALESCE((SELECT MAX(at) FROM login_attempts WHERE account = ? AND ok), ?)")
        sql_ip = "SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND NOT ok AND at >= ?"

        def body(tx: Tx) -> tuple[int, int]:
            return (tx.one(sql_account, (account, since, account, since))[0], tx.one(sql_ip, (ip, since))[0])
        return self._run(body, write=False, consistent=True)
