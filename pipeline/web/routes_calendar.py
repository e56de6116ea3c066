"""The calendar (month and week, every channel or one; filters by unit, type, topic, channel). It
only presents what :meth:`pipeline.app.Session.calendar` returns: the states are the plan's."""

from __future__ import annotations

from datetime import date

from starlette.responses import Response
from starlette.routing import Route

from pipeline.status import reason_text
from pipeline.web.auth import requires
from pipeline.web.views import lang_of, loa_session, render

#: Who reads the calendar, a post's page and the ledger search.
READERS = ("staff", "board", "it")
FILTERS = ("unit", "type", "topic", "channel")
#: Entries shown in a day of the month view; the rest are counted and linked to the week view,
#: which shows them all (as calendar programs do with "+N more"): a month page stays readable and
#: quick with 100 items a day.
PER_DAY = 8


def day_of(value: str | None) -> date | None:
    """``YYYY-MM-DD`` from a query string, or ``None`` (anything else is ignored, not an error).
    Years 1000-8999 only: a window around 0001-01-01 or 9999-12-31 runs off the calendar's range
    (``OverflowError``, which was a 500)."""
    try:
        day = date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None
    return day if day and 1000 <= day.year <= 8999 else None


def choices(cfg) -> dict[str, list[tuple[str, str]]]:
    """The values each filter may take, as (id, label): only these are passed on."""
    return {"unit": [(u, x.name) for u, x in cfg.units.items()],
            "type": [(k, v.label) for k, v in cfg.types.items()],
            "topic": list(cfg.topics.items()),
            "channel": [(n, c.label) for n, c in cfg.channels.items()]}


@requires(*READERS)
def calendar_page(request) -> Response:
    from pipeline import calendar as cal

    q = request.query_params
    session = loa_session(request)
    cfg = session.cfg
    options = choices(cfg)
    view = q.get("view") if q.get("view") in cal.VIEWS else "month"
    filters = {k: q.get(k) for k in FILTERS if q.get(k) in {v for v, _ in options[k]}}
    today = session.clock().astimezone(cfg.tz).date()
    anchor = day_of(q.get("date")) or today
    c = session.calendar(view, anchor, filters=filters)
    weeks = [c.days[i:i + 7] for i in range(0, len(c.days), 7)]
    return render(request, "calendar.html", {
        "cal": c, "weeks": weeks, "tz": cfg.tz, "anchor": anchor, "today": today, "options": options,
        "filters": filters, "states": cal.STATES, "per_day": PER_DAY,
        "prev": cal.shift(view, anchor, -1), "next": cal.shift(view, anchor, 1),
        "labels": {n: ch.label for n, ch in cfg.channels.items()},
        "why": lambda reason: reason_text(reason, lang_of(request)) if reason else "",
        "query": "&".join(f"{k}={v}" for k, v in filters.items()),
    })


routes = [
    Route("/calendar", calendar_page, methods=["GET"]),
]
