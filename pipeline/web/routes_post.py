"""A post's page: each channel's exact rendering and state, its history on every channel (the
ledger's events), its approval and what changed since, its check problems
(:meth:`pipeline.app.Session.post_page`)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from pipeline.status import reason_text
from pipeline.web.auth import requires
from pipeline.web.routes_calendar import READERS
from pipeline.web.views import lang_of, loa_session, render


@requires(*READERS)
def post_page(request) -> Response:
    session = loa_session(request)
    cfg = session.cfg
    page = session.post_page(request.path_params["post_id"])
    if page is None:
        return render(request, "notfound.html", {}, status=404)
    lang = lang_of(request)
    return render(request, "post.html", {
        "p": page, "tz": cfg.tz, "channels": cfg.channels,
        "unit_name": cfg.units[page.post.unit].name if page.post and page.post.unit in cfg.units else None,
        "type_label": cfg.types[page.post.type].label if page.post and page.post.type in cfg.types else None,
        "problems": [x.format(lang) for x in page.problems],
        "render_errors": [f"{e.channel}: {e.reason}" for e in page.render_errors],
        "why": lambda reason: reason_text(reason, lang) if reason else "",
    })


routes = [
    Route("/posts/{post_id}", post_page, methods=["GET"]),
]
