"""Search the ledger, as ``loa log --search`` does (:meth:`pipeline.app.Session.log_rows`: the
title folded by :func:`pipeline.vietnamese.fold`, so accents and case do not matter)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from pipeline.web.auth import requires
from pipeline.web.routes_calendar import READERS
from pipeline.web.views import loa_session, render

SHOWN = 200  # rows on one page; the count says how many matched


@requires(*READERS)
def search_page(request) -> Response:
    session = loa_session(request)
    cfg = session.cfg
    q = request.query_params
    words = (q.get("q") or "").strip()[:200]
    unit = q.get("unit") if q.get("unit") in cfg.units else None
    channel = q.get("channel") if q.get("channel") in cfg.channels else None
    rows = None
    if words or unit or channel:
        rows = session.log_rows(search=words or None, unit=unit, channel=channel)
        rows.reverse()  # newest first
    return render(request, "search.html", {
        "q": words, "unit": unit, "channel": channel, "rows": rows[:SHOWN] if rows is not None else None,
        "total": len(rows) if rows is not None else 0, "tz": cfg.tz,
        "units": [(u, x.name) for u, x in cfg.units.items()],
        "channel_choices": [(n, c.label) for n, c in cfg.channels.items()],
        "labels": {n: c.label for n, c in cfg.channels.items()}})


routes = [Route("/search", search_page, methods=["GET"])]
