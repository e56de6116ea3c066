"""The web console's people, as a stage: roles and what each may see, Argon2 password hashes,
sign-in with throttling, and signed-in sessions. The ledger stores them
(:mod:`pipeline.ledger._accounts`); :meth:`pipeline.app.Session.accounts` hands this out.

Choices (docs/security.md, "Web console"):

* Passwords: Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); at least 10 characters.
  A hash made with older parameters is replaced at the next good sign-in.
* Throttling: after :data:`MAX_PER_ACCOUNT` failed sign-ins for one account, or
  :data:`MAX_PER_IP` from one address, within :data:`WINDOW`, further attempts are refused without
  looking at the password until the window has passed. Attempts are rows in the ledger, so every
  console process (and every server behind one proxy) counts the same attempts.
* Sessions: a 256-bit random token in the cookie, the ledger keeps its SHA-256; a new token at every
  sign-in (no session fixation); idle for :data:`IDLE` or older than :data:`ABSOLUTE`: signed out.
  The person's row is read on every request, so a person disabled (or whose password is reset)
  loses access at the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from pipeline.errors import UsageError

#: The roles; which pages each may open is said by each route (``pipeline.web.auth.requires``).
ROLES = ("staff", "board", "it", "reports")
MIN_PASSWORD = 10
MAX_PER_ACCOUNT = 5
MAX_PER_IP = 30
WINDOW = timedelta(minutes=15)
IDLE = timedelta(hours=8)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=5)  # write seen_at at most this often (a read per request, not a write)
_DUMMY: str | None = None  # the hash a missing account's password is checked against


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (``False`` when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _refuse(code: str, lang: str, **args) -> UsageError:
    from pipeline.messages import text

    return UsageError(text(code, lang, **args))


def valid_name(name: str, lang: str = "vi") -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or len(name) > 64 or any(c.isspace() or not c.isprintable() for c in name):
        raise _refuse("users.bad-name", lang, name=name)
    return name


@dataclass(frozen=True)
class SignIn:
    """The outcome of :meth:`Accounts.sign_in`: ``token`` and ``csrf`` on success, else ``refused``
    (``"bad"``: wrong name or password, ``"throttled"``: too many failures) and ``retry_after``."""

    token: str | None = None
    csrf: str | None = None
    user: object = None
    refused: str | None = None
    retry_after: timedelta | None = None


class Accounts:
    """People and sessions over one ledger; ``clock()`` is the current (aware) time; refusals
    (``UsageError``) are worded in ``lang``."""

    def __init__(self, ledger, clock: Callable[[], datetime], lang: str = "vi"):
        from argon2 import PasswordHasher

        self.ledger, self.clock, self.hasher, self.lang = ledger, clock, PasswordHasher(), lang

    # -- people ------------------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str, *, full_name: str | None, actor: str):
        name = valid_name(name, self.lang)
        if role not in ROLES:
            raise _refuse("users.bad-role", self.lang, role=role, roles=", ".join(ROLES))
        self._check_password(password)
        full = " ".join((full_name or name).split())
        try:
            return self.ledger.user_add(name, full_name=full, role=role, password_hash=self.hasher.hash(password),
                                        actor=actor, now=self.clock())
        except KeyError:
            raise _refuse("users.exists", self.lang, name=name) from None

    def disable(self, name: str, *, actor: str, enable: bool = False):
        return self._change(name, actor=actor, disabled=not enable)

    def reset(self, name: str, password: str, *, actor: str):
        self._check_password(password)
        return self._change(name, actor=actor, password_hash=self.hasher.hash(password))

    def list(self) -> list:
        return self.ledger.users()

    def _change(self, name: str, **kw):
        try:
            return self.ledger.user_change(name, now=self.clock(), **kw)
        except KeyError:
            raise _refuse("users.unknown", self.lang, name=name) from None

    def _check_password(self, password: str) -> None:
        if len(password or "") < MIN_PASSWORD:
            raise _refuse("users.short-password", self.lang, min=MIN_PASSWORD)

    # -- signing in ---------------------------------------------------------------------------------
    def sign_in(self, name: str, password: str, ip: str) -> SignIn:
        """Check ``name``/``password`` unless throttled; on success a new session (new token)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        now = self.clock()
        name = unicodedata.normalize("NFC", (name or "").strip())[:64]
        by_account, by_ip = self.ledger.login_failures(name, ip, now - WINDOW)
        if by_account >= MAX_PER_ACCOUNT or by_ip >= MAX_PER_IP:
            return SignIn(refused="throttled", retry_after=WINDOW)
        user = self.ledger.user_get(name) if name else None
        try:
            # a missing account costs the same time as a wrong password: names are not revealed
            self.hasher.verify(user.password_hash if user else self._dummy_hash(), password or "")
            ok = user is not None and user.disabled_at is None
        except (VerificationError, InvalidHashError):
            ok = False
        self.ledger.login_attempt(name, ip, ok=ok, now=now)
        if not ok:
            return SignIn(refused="bad")
        if self.hasher.check_needs_rehash(user.password_hash):
            self.ledger.user_change(name, actor=name, now=now, password_hash=self.hasher.hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.ledger.web_session_start(token_hash(token), user_name=user.name, csrf=csrf, now=now,
                                      expires_at=now + IDLE)
        return SignIn(token=token, csrf=csrf, user=user)

    def _dummy_hash(self) -> str:
        global _DUMMY
        if _DUMMY is None:
            _DUMMY = self.hasher.hash(secrets.token_urlsafe(16))
        return _DUMMY

    def session(self, token: str | None):
        """``(user, csrf)`` for a live session of an enabled person, else ``None``. The person's row
        is read every time: disabling takes effect at the next request."""
        if not token:
            return None
        now = self.clock()
        found = self.ledger.web_session(token_hash(token), now)
        if found is None:
            return None
        user, csrf, seen = found
        if user.disabled_at is not None or user.role not in ROLES:
            return None
        if now - seen >= TOUCH_EVERY:
            self.ledger.web_session_touch(token_hash(token), now=now, expires_at=now + IDLE)
        return user, csrf

    def sign_out(self, token: str | None) -> bool:
        return bool(token) and self.ledger.web_session_end(token_hash(token), now=self.clock())
