"""The console's ASGI application: :func:`create_app` gathers the routes of every
``pipeline/web/routes_*.py`` (each exposes ``routes: list[starlette.routing.Route]``), opens one
:class:`pipeline.app.Session` for the process, and adds what every response carries (security
headers, no caching of pages)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import os
import pkgutil
import secrets
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger(__name__)

#: Sent with every response: no framing, no sniffing, scripts and styles only from the console.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


#: Headers a route may set for itself, replacing the console's: only the report's own document
#: (``/reports/view``, framed by the reports page in a sandbox) does, to allow its inline styles.
OWN_FRAMING = frozenset({"content-security-policy", "x-frame-options"})


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`SECURITY_HEADERS` (and HSTS when cookies are Secure). A
    response that sets its own Content-Security-Policy keeps it and its X-Frame-Options."""

    def __init__(self, app, hsts: bool = False):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                given = message.get("headers", [])
                own = any(k.decode("latin-1").lower() == "content-security-policy" for k, _ in given)
                kept = OWN_FRAMING if own else frozenset()
                headers = [(k, v) for k, v in given if k.decode("latin-1").lower() not in SECURITY_HEADERS
                           or k.decode("latin-1").lower() in kept]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k not in kept]
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)
        return await self.app(scope, receive, sending)


def gather_routes() -> list[Route]:
    """Every ``routes`` list of ``pipeline/web/routes_*.py``, in module name order."""
    import pipeline.web as package

    out: list[Route] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("routes_"):
            out += importlib.import_module(f"pipeline.web.{info.name}").routes
    return out


def create_app(config_path, *, secret_key: str | None = None, ledger_url: str | None = None,
               secure_cookies: bool | None = None, trusted_proxies: tuple[str, ...] | None = None,
               env=None, clock=None) -> Starlette:
    """The console for the config at ``config_path``.

    ``secret_key`` signs the cookies; default ``LOA_WEB_SECRET`` (every console process of one
    deployment must share it); when neither is set a random key is made, valid for this process
    only (sessions end when it restarts). ``ledger_url`` overrides the config's ledger.
    ``secure_cookies`` (default ``LOA_WEB_SECURE_COOKIES``, on unless ``0``): cookies only over
    HTTPS, as behind the TLS proxy of docs/deploying.md; off for plain-HTTP tests on 127.0.0.1.
    ``trusted_proxies`` (default ``LOA_WEB_TRUSTED_PROXIES``, comma separated): peers whose
    ``X-Forwarded-For`` names the client for sign-in throttling."""
    from pipeline.app import Session
    from pipeline.config import load_config

    env = os.environ if env is None else env
    cfg = load_config(Path(config_path))
    if ledger_url:
        cfg = dataclasses.replace(cfg, ledger_url=ledger_url)
    secret = secret_key or env.get("LOA_WEB_SECRET")
    if not secret:
        log.warning("LOA_WEB_SECRET is not set: sessions are valid for this console process only")
        secret = secrets.token_urlsafe(32)
    from pipeline import secrets as redaction

    redaction.register(secret)  # never in a log line or an error page
    if secure_cookies is None:
        secure_cookies = env.get("LOA_WEB_SECURE_COOKIES", "1").strip() not in ("0", "no", "false")
    if trusted_proxies is None:
        trusted_proxies = tuple(p.strip() for p in env.get("LOA_WEB_TRUSTED_PROXIES", "").split(",") if p.strip())
    routes = gather_routes()
    session = Session.open(cfg, **({"clock": clock} if clock else {}))
    session.content_max_age = 1.0  # a page does not stat every post file; see Session.content_max_age

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        session.close()

    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, hsts=bool(secure_cookies))],
                    exception_handlers={404: _not_found, 405: _not_found}, lifespan=lifespan)
    app.state.session = session
    app.state.session_lock = threading.RLock()
    app.state.secret_key = secret
    app.state.secure_cookies = bool(secure_cookies)
    app.state.trusted_proxies = frozenset(trusted_proxies)
    app.state.route_roles = {r.path: getattr(r.endpoint, "loa_roles", None) for r in routes}
    return app


async def _not_found(request: Request, exc) -> Response:
    from starlette.concurrency import run_in_threadpool

    from pipeline.web.views import render

    def page():
        with request.app.state.session_lock:
            return render(request, "notfound.html", {}, status=getattr(exc, "status_code", 404))
    return await run_in_threadpool(page)
