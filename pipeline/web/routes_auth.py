"""Signing in and out, the home page, and the console's style sheet."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline import paths
from pipeline.web import auth
from pipeline.web.views import lang_of, loa_session, render


def _safe_next(target: str | None) -> str:
    """Only a path of this console: never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


@auth.public
def login(request):
    from pipeline.accounts import WINDOW

    if request.method != "POST":  # GET, HEAD
        if auth.current_user(request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return render(request, "login.html", {"next": _safe_next(request.query_params.get("next")), "error": None,
                                              "signed_out": request.query_params.get("out") == "1", "name": ""})
    data = auth.form(request)
    name, password = str(data.get("name") or ""), str(data.get("password") or "")
    outcome = loa_session(request).accounts.sign_in(name, password, auth.client_ip(request))
    if outcome.token is None:
        lang = lang_of(request)
        from pipeline.messages import text

        error = (text("web.login.throttled", lang, minutes=int(WINDOW.total_seconds() // 60))
                 if outcome.refused == "throttled" else text("web.login.bad", lang))
        status = 429 if outcome.refused == "throttled" else 401
        return render(request, "login.html", {"next": _safe_next(str(data.get("next") or "")), "error": error,
                                              "signed_out": False, "name": name}, status=status)
    # the session the browser came with (if any) ends: the new one has a token never seen before
    loa_session(request).accounts.sign_out(auth.session_token(request))
    response = RedirectResponse(_safe_next(str(data.get("next") or "")), status_code=303)
    auth.start_session(request, response, outcome.token)
    return response


@auth.requires()
def logout(request):
    response = RedirectResponse("/login?out=1", status_code=303)
    auth.end_session(request, response)
    return response


@auth.requires()
def home(request):
    return render(request, "home.html", {})


async def stylesheet(request):
    import os

    with open(os.path.join(paths.SHIPPED_TEMPLATES, "web", "console.css"), "rb") as f:
        body = f.read()
    return Response(body, media_type="text/css", headers={"cache-control": "public, max-age=3600"})


stylesheet.loa_public = True

routes = [
    Route("/", home, methods=["GET"]),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/static/console.css", stylesheet, methods=["GET"]),
]
