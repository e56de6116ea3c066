"""Reports for the Home Affairs official (and the board and IT): choose the period and the unit,
read the report with each unit against its targets, download it as docx, xlsx, csv, pdf or html.
The report is :meth:`pipeline.app.Session.report`; the files are
:meth:`pipeline.app.Session.write_report`'s, byte for byte what ``loa report`` writes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.responses import Response
from starlette.routing import Route

from pipeline.errors import LoaError
from pipeline.web.auth import requires
from pipeline.web.views import lang_of, loa_session, render

REPORTERS = ("reports", "board", "it")
DOWNLOADS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8", "pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def _asked(request, cfg) -> tuple[str | None, str | None]:
    q = request.query_params
    period = (q.get("period") or "").strip()[:20] or None
    unit = q.get("unit") if q.get("unit") in cfg.units else None
    return period, unit


def _default_period(session) -> str:
    now = session.clock().astimezone(session.cfg.tz)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


@requires(*REPORTERS)
def reports_page(request) -> Response:
    session = loa_session(request)
    cfg = session.cfg
    period, unit = _asked(request, cfg)
    report, error = None, None
    if period:
        try:
            report = session.report(period, unit=unit)
        except LoaError as exc:
            error = str(exc)
    return render(request, "reports.html", {
        "period": period or _default_period(session), "unit": unit, "report": report, "error": error,
        "units": [(u, x.name) for u, x in cfg.units.items()], "formats": list(DOWNLOADS),
        "labels": {n: c.label for n, c in cfg.channels.items()}, "lang": lang_of(request),
    }, status=400 if error else 200)


@requires(*REPORTERS)
def report_download(request) -> Response:
    session = loa_session(request)
    period, unit = _asked(request, session.cfg)
    fmt = request.path_params["fmt"]
    if fmt not in DOWNLOADS or not period:
        return render(request, "notfound.html", {}, status=404)
    with tempfile.TemporaryDirectory(prefix="loa-report-") as folder:
        try:
            _report, written = session.write_report(period, [fmt], Path(folder), unit=unit)
        except LoaError as exc:
            return render(request, "reports.html", {
                "period": period, "unit": unit, "report": None, "error": str(exc),
                "units": [(u, x.name) for u, x in session.cfg.units.items()], "formats": list(DOWNLOADS),
                "labels": {}, "lang": lang_of(request)}, status=400)
        data = written[0].read_bytes()
        name = written[0].name
    return Response(data, media_type=DOWNLOADS[fmt],
                    headers={"content-disposition": f'attachment; filename="{name}"'})


routes = [
    Route("/reports", reports_page, methods=["GET"]),
    Route("/reports/download/{fmt}", report_download, methods=["GET"]),
]
