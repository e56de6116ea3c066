"""Who may do what: checked on the server for every request.

* The session cookie ``loa_session`` holds a random token signed with the console's secret
  (itsdangerous, with its time: older than ``accounts.ABSOLUTE`` is refused); the ledger knows the
  token's hash, the person, and the session's CSRF token. HttpOnly, SameSite=Lax, ``Secure`` when
  the console is served over TLS (``secure_cookies``). A new token at every sign-in
  (:mod:`pipeline.web.identity`).
* :func:`requires` wraps every endpoint except the sign-in page (:func:`public`): not signed in ->
  303 to ``/login``; a role the endpoint does not allow -> 403; a POST whose ``csrf_token`` field
  is not the session's token (constant-time compare) -> 403. The person's row is read on every
  request, so a disabled person loses access at the next one.
* Before sign-in the CSRF token of the login form is a signed cookie of its own (``loa_csrf``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipeline.web.identity import (CSRF_COOKIE, PUBLIC_PATHS, SESSION_COOKIE, client_ip, csrf_ok, csrf_token,
                                   current_user, end_session, form, session_token, start_session)

log = logging.getLogger(__name__)

__all__ = ["requires", "public", "forbidden", "current_user", "csrf_token", "csrf_ok", "form", "client_ip",
           "start_session", "end_session", "session_token", "SESSION_COOKIE", "CSRF_COOKIE", "PUBLIC_PATHS"]


def forbidden(request: Request, code: str = "web.forbidden") -> Response:
    from pipeline.messages import text
    from pipeline.web.views import lang_of, render

    user = current_user(request)
    role = text(f"web.role.{user.role}", lang_of(request)) if user else "-"
    return render(request, "forbidden.html", {"title_code": f"{code}.title", "body_code": f"{code}.body",
                                              "role": role}, status=403)


def requires(*roles: str) -> Callable:
    """Endpoint decorator: signed in, with one of ``roles`` (none given: any role), and for a POST a
    valid CSRF token; else a redirect to the sign-in page or a 403 page. The endpoint (a plain
    function ``endpoint(request) -> Response``, run in a worker thread) runs holding the session
    lock; a POST's fields are in :func:`form`."""
    allowed = frozenset(roles)

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            if request.method == "POST":
                request.state.loa_form = await request.form()
            return await run_in_threadpool(_guarded, fn, allowed, request)

        endpoint.loa_roles = allowed  # read by the navigation and by the security tests
        return endpoint
    return deco


def public(fn: Callable) -> Callable:
    """Endpoint decorator for the pages anyone may open (the sign-in page): the endpoint runs
    holding the session lock, and a POST still needs the browser's CSRF token (login CSRF)."""
    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        if request.method == "POST":
            request.state.loa_form = await request.form()
        return await run_in_threadpool(_public, fn, request)

    endpoint.loa_public = True
    return endpoint


def _public(fn: Callable, request: Request) -> Response:
    with request.app.state.session_lock, _failures(request) as failed:
        if request.method == "POST" and not csrf_ok(request, form(request)):
            return forbidden(request, "web.csrf")
        return fn(request)
    return failed[0]


@contextlib.contextmanager
def _failures(request: Request):
    """The ledger out of reach -> a 503 page and a fresh connection at the next request; any other
    exception -> a 500 page, its traceback in the log only. The answer is put in the yielded list."""
    from pipeline.errors import LedgerUnavailable
    from pipeline.web.views import error_page

    failed: list[Response] = []
    try:
        yield failed
    except LedgerUnavailable as exc:
        log.warning("web console: the ledger is unavailable: %s", exc)
        request.app.state.session.close()
        failed.append(error_page(request, "ledger", 503))
    except Exception:  # noqa: BLE001 - the console's one boundary, as cli._run is the command's
        log.exception("web console: %s %s failed", request.method, request.url.path)
        failed.append(error_page(request, "bug", 500))


def _guarded(fn: Callable, allowed: frozenset, request: Request) -> Response:
    with request.app.state.session_lock, _failures(request) as failed:
        return _checked(fn, allowed, request)
    return failed[0]


def _checked(fn: Callable, allowed: frozenset, request: Request) -> Response:
    """The checks of every request, in order: signed in, the role, the CSRF token of a POST."""
    user = current_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if allowed and user.role not in allowed:
        return forbidden(request)
    if request.method == "POST" and not csrf_ok(request, form(request)):
        return forbidden(request, "web.csrf")
    return fn(request)
