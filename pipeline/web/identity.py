"""Who is signed in (see :mod:`pipeline.web.auth`, which re-exports what endpoints use).

* The session cookie ``loa_session`` holds a random token signed with the console's secret
  (itsdangerous, with its time: older than ``accounts.ABSOLUTE`` is refused); the ledger knows the
  token's hash, the person, and the session's CSRF token. HttpOnly, SameSite=Lax, ``Secure`` when
  the console is served over TLS (``secure_cookies``). A new token at every sign-in.
* :func:`requires` wraps every endpoint except the sign-in page: not signed in -> 303 to
  ``/login``; a role the endpoint does not allow -> 403; a POST whose ``csrf_token`` field is not
  the session's token (constant-time compare) -> 403. The person's row is read on every request.
* Before sign-in the CSRF token of the login form is a signed cookie of its own (``loa_csrf``).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "loa_session"
CSRF_COOKIE = "loa_csrf"
#: Routes that need no sign-in; every other route must be wrapped by :func:`requires`.
PUBLIC_PATHS = frozenset({"/login", "/static/console.css"})


def _signer(request: Request, salt: str):
    from itsdangerous import TimestampSigner

    return TimestampSigner(request.app.state.secret_key, salt=salt)


def _unsign(request: Request, salt: str, value: str | None, max_age: float) -> str | None:
    from itsdangerous import BadSignature

    if not value:
        return None
    try:
        return _signer(request, salt).unsign(value, max_age=max_age).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None


def session_token(request: Request) -> str | None:
    from pipeline.accounts import ABSOLUTE

    return _unsign(request, "loa-session", request.cookies.get(SESSION_COOKIE), ABSOLUTE.total_seconds())


def current_user(request: Request):
    """The signed-in :class:`pipeline.ledger.User`, or ``None`` (read once per request)."""
    if "loa_user" not in request.state._state:
        found = request.app.state.session.accounts.session(session_token(request))
        request.state.loa_user, request.state.loa_csrf = (found if found else (None, None))
    return request.state.loa_user


def csrf_token(request: Request) -> str:
    """The token the page's forms carry in their hidden ``csrf_token`` field."""
    if current_user(request) is not None:
        return request.state.loa_csrf
    state = request.state._state
    if "anon_csrf" not in state:
        token = _unsign(request, "loa-csrf", request.cookies.get(CSRF_COOKIE), 12 * 3600)
        state["anon_csrf"], state["anon_csrf_new"] = (token, False) if token else (secrets.token_urlsafe(32), True)
    return state["anon_csrf"]


def csrf_ok(request: Request, form) -> bool:
    """The form's ``csrf_token`` is this session's (or, before sign-in, this browser's) token."""
    from pipeline.accounts import same_token

    given = form.get("csrf_token") if form is not None else None
    if current_user(request) is not None:
        return same_token(given if isinstance(given, str) else None, request.state.loa_csrf)
    cookie = _unsign(request, "loa-csrf", request.cookies.get(CSRF_COOKIE), 12 * 3600)
    return same_token(given if isinstance(given, str) else None, cookie)


def _cookie_flags(request: Request) -> dict:
    return {"httponly": True, "samesite": "lax", "secure": bool(request.app.state.secure_cookies), "path": "/"}


def finish(request: Request, response: Response) -> None:
    """Set the cookies this request decided on (a new anonymous CSRF token)."""
    state = request.state._state
    if state.get("anon_csrf_new"):
        response.set_cookie(CSRF_COOKIE, _signer(request, "loa-csrf").sign(state["anon_csrf"]).decode("ascii"),
                            max_age=12 * 3600, **_cookie_flags(request))
        state["anon_csrf_new"] = False


def start_session(request: Request, response: Response, token: str) -> None:
    """Give the browser its new session cookie (the old token, if any, is never reused)."""
    response.set_cookie(SESSION_COOKIE, _signer(request, "loa-session").sign(token).decode("ascii"),
                        **_cookie_flags(request))
    response.delete_cookie(CSRF_COOKIE, path="/")


def end_session(request: Request, response: Response) -> None:
    request.app.state.session.accounts.sign_out(session_token(request))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=bool(request.app.state.secure_cookies))


def client_ip(request: Request) -> str:
    """The address sign-in throttling counts: the peer, or the first hop of ``X-Forwarded-For``
    only when the peer is a proxy named in ``trusted_proxies``."""
    peer = request.client.host if request.client else "?"
    if peer in request.app.state.trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        return forwarded or peer
    return peer


def form(request: Request):
    """The submitted form of a POST (read by :func:`requires` before the endpoint runs)."""
    return request.state._state.get("loa_form")


