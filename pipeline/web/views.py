"""Rendering pages: :func:`render` fills a template of ``templates/web/`` (autoescaped: every value
from a post is text, never markup) with what every page shows (the signed-in person, the CSRF
token for its forms, the language, the navigation allowed to the person's role).

:func:`loa_session` is the application layer the endpoints call. One :class:`pipeline.app.Session`
serves the process (its caches of posts, renderer and plan are what make a page fast); it is not
made for several threads at once, so :func:`pipeline.web.auth.requires` runs each endpoint holding
``app.state.session_lock`` (see docs/architecture.md, "Web console").
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from pipeline import paths

#: The navigation, in order: (path, message code). An entry is shown when the route at that path
#: allows the person's role (its ``@requires``), so the menu and the server's check cannot disagree.
NAV = (("/calendar", "web.nav.calendar"), ("/approvals", "web.nav.approvals"), ("/ops", "web.nav.ops"),
       ("/reports", "web.nav.reports"), ("/activities", "web.nav.activities"), ("/search", "web.nav.search"))

_ENV = None


def environment():
    """The Jinja2 environment of the console's own templates (never the content repository's:
    a commit must not be able to change the console's pages). Autoescape on for every file."""
    global _ENV
    if _ENV is None:
        import os

        import jinja2

        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(paths.SHIPPED_TEMPLATES, "web")),
                                  autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                  lstrip_blocks=True)
    return _ENV


def loa_session(request: Request):
    """The :class:`pipeline.app.Session` to call. Call it only inside an endpoint wrapped by
    ``@requires`` (which holds the session's lock)."""
    return request.app.state.session


def lang_of(request: Request) -> str:
    """``?lang=en`` or the ``loa_lang`` cookie, else the site's language, else Vietnamese."""
    asked = request.query_params.get("lang") or request.cookies.get("loa_lang")
    if asked in ("vi", "en"):
        return asked
    cfg = request.app.state.session.cfg
    return "en" if getattr(cfg, "language", "vi") == "en" else "vi"


def nav_for(request: Request, user) -> list[dict[str, Any]]:
    """The navigation entries the person may open."""
    from pipeline.messages import text

    if user is None:
        return []
    allowed = request.app.state.route_roles
    lang = lang_of(request)
    out = []
    for path, code in NAV:
        roles = allowed.get(path)
        if roles is None or (roles and user.role not in roles):
            continue
        out.append({"path": path, "label": text(code, lang), "current": request.url.path.startswith(path)})
    return out


def render(request: Request, template_name: str, context: dict[str, Any] | None = None, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """The page ``template_name`` with ``context`` and, for every page: ``user``, ``csrf_token``,
    ``lang``, ``nav`` and ``t(code, **args)`` (the message catalogue in the page's language)."""
    from pipeline.messages import text
    from pipeline.web import identity as auth

    lang = lang_of(request)
    user = auth.current_user(request)
    values = {"user": user, "csrf_token": auth.csrf_token(request), "lang": lang, "nav": nav_for(request, user),
              "t": lambda code, **args: text(code, lang, **args), "request_path": request.url.path}
    values.update(context or {})
    body = environment().get_template(template_name).render(values)
    response = HTMLResponse(body, status_code=status, headers=headers)
    auth.finish(request, response)
    return response


def error_page(request: Request, code: str, status: int) -> HTMLResponse:
    """A page saying what went wrong (``web.error.<code>``) without asking the ledger anything: it
    is shown when the ledger cannot be reached, or after a bug (whose details go to the log only)."""
    from pipeline.messages import text

    lang = lang_of(request)
    values = {"user": None, "csrf_token": "", "lang": lang, "nav": [], "request_path": request.url.path,
              "t": lambda c, **args: text(c, lang, **args), "code": f"web.error.{code}"}
    return HTMLResponse(environment().get_template("error.html").render(values), status_code=status)
