"""One shared mapping from HTTP outcomes to transient / permanent / auth errors.

Adapters call :func:`request` (or wrap their own session calls in :func:`translate`) so that
``requests`` exceptions never leave ``publishers/``. Vendor-specific envelopes (Facebook's error
codes, Zalo's HTTP-200 errors, Telegram's ``ok: false``) are decoded by the adapter, which then
raises through :func:`raise_for` with the class its contract sheet says.
"""

from __future__ import annotations

import contextlib
import logging
import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterator

from pipeline import secrets
from pipeline.errors import (
    PermanentPublishError,
    PublisherAuthError,
    TransientPublishError,
)

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

# ``requests`` (and urllib3 under it) is imported by the first call that talks HTTP, not by this
# module: validating a config imports every configured publisher class for its options, and
# `loa check` or `loa preview` never send a request.

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
USER_AGENT = "Loa/0.1 (+https://github.com/loa-publishing; city e-portal publisher)"


def new_session() -> requests.Session:
    """One session per run: connection reuse, our User-Agent."""
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import email.utils

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def retry_seconds(wait: float) -> float:
    """A positive wait as a ``retry_after``: rounded *up* to the millisecond, so it never becomes 0
    (which the engine would read as "retry at once")."""
    return math.ceil(wait * 1000) / 1000


def classify_status(status: int) -> type:
    """Error class for an HTTP status the vendor gave no better clue about."""
    if status in (401, 403):
        return PublisherAuthError
    if status == 429 or status == 408 or status >= 500:
        return TransientPublishError
    return PermanentPublishError


def raise_for(cls: type, channel: str, post_id: str | None, reason: str, **kw) -> None:
    """Raise ``cls`` with keyword arguments it accepts (``retry_after`` only for transient)."""
    if cls is not TransientPublishError:
        kw.pop("retry_after", None)
    raise cls(channel, post_id, reason, **kw)


@contextlib.contextmanager
def translate(channel: str, post_id: str | None) -> Iterator[None]:
    """Turn ``requests`` transport exceptions into transient publish errors."""
    import requests

    from pipeline.messages import Detail  # catalogue lines: loa channels check, doctor and status speak vi/en

    try:
        yield
    except requests.ConnectTimeout as exc:
        raise TransientPublishError(channel, post_id, Detail("http.connect-timeout"),
                                    vendor_message=type(exc).__name__, hint=Detail("http.retries-check-network")) from None
    except requests.Timeout as exc:
        # the request went out: the vendor may have done the work before we stopped waiting
        raise TransientPublishError(channel, post_id, Detail("http.no-answer"),
                                    vendor_message=type(exc).__name__, maybe_sent=True,
                                    hint=Detail("http.retries-check-server")) from None
    except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL) as exc:
        # refused before anything left: a credential with a line break or a bad address is the
        # configuration's fault, and retrying it (as "maybe sent") only repeats the refusal
        raise PublisherAuthError(channel, post_id, Detail("http.bad-request"), vendor_message=_safe(exc),
                                 hint=Detail("http.bad-request.fix")) from None
    except requests.ConnectionError as exc:
        refused = _connect_failure(exc)
        raise TransientPublishError(channel, post_id,
                                    Detail("http.cannot-connect" if refused else "http.connection-lost"),
                                    vendor_message=_safe(exc), maybe_sent=not refused,
                                    hint=Detail("http.retries-check-network")) from None
    except requests.RequestException as exc:
        raise TransientPublishError(channel, post_id, Detail("http.failed"),
                                    vendor_message=_safe(exc), maybe_sent=True) from None


def _connect_failure(exc: Exception) -> bool:
    """True when the connection was never made (nothing can have reached the vendor)."""
    import urllib3.exceptions as ue

    seen, e = set(), exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (ue.NewConnectionError, ConnectionRefusedError, ue.NameResolutionError)):
            return True
        reason = getattr(e, "reason", None)
        e = reason if isinstance(reason, BaseException) else (e.args[0] if e.args and isinstance(e.args[0], BaseException) else e.__context__)
    return "Connection refused" in str(exc) or "Failed to resolve" in str(exc)


def _safe(exc: Exception) -> str:
    """Exception text without any secret (:func:`pipeline.secrets.redact`), at most 300 characters."""
    return secrets.redact(str(exc))[:300]


def redact(text: str, *values: str) -> str:
    """``text`` through the one redaction point, after registering ``values`` as secrets."""
    secrets.register(*values)
    return secrets.redact(text)


def protect_secret(secret: str) -> None:
    """Register ``secret`` and keep it out of ``urllib3``'s request logging (which prints URLs,
    where some vendors put tokens) even when a handler without Loa's filter is configured."""
    secrets.register(secret)
    lg = logging.getLogger("urllib3.connectionpool")
    if secrets.FILTER not in lg.filters:
        lg.addFilter(secrets.FILTER)
