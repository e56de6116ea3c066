"""Offline activities (pano, posters, contests...): a form that writes the same YAML file the
reports read, through :meth:`pipeline.app.Session.add_activity` (the one validator; never a file
outside ``content/activities/``)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from pipeline.web.auth import current_user, form, requires
from pipeline.web.views import lang_of, loa_session, render

RECORDERS = ("staff", "it")
FIELDS = ("date", "unit", "kind", "count", "place", "note")
SHOWN = 50  # the latest activities listed under the form


def _page(request, values: dict, *, saved: str | None = None, problems=(), status: int = 200) -> Response:
    from pipeline.activities import KINDS

    from pipeline.activities import message

    session = loa_session(request)
    cfg, lang = session.cfg, lang_of(request)
    recorded, unreadable = session.activities()
    return render(request, "activities.html", {
        "values": values, "saved": saved, "problems": list(problems),
        "units": [(u, x.name) for u, x in cfg.units.items()], "kinds": list(KINDS.items()),
        "recorded": sorted(recorded, key=lambda a: (a.date, a.path), reverse=True)[:SHOWN], "total": len(recorded),
        "unreadable": [f"content/{path}:{line}: {message(code, lang, **args)}" for path, line, code, args in unreadable],
        "unit_names": {u: x.name for u, x in cfg.units.items()}, "kind_names": KINDS}, status=status)


@requires(*RECORDERS)
def activities_page(request) -> Response:
    if request.method == "GET":
        return _page(request, {})
    from pipeline.activities import message

    data = form(request)
    values = {k: str(data.get(k) or "")[:500] for k in FIELDS}
    user = current_user(request)
    rel, problems = loa_session(request).add_activity(values, actor=user.name)
    if rel is None:
        lang = lang_of(request)
        return _page(request, values, problems=[message(code, lang, **args) for _p, _l, code, args in problems],
                     status=400)
    return _page(request, {}, saved=f"content/{rel}")


routes = [Route("/activities", activities_page, methods=["GET", "POST"])]
