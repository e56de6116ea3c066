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
from pipeline.messages import said
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
            error = said(exc, lang_of(request))
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
                "period": period, "unit": unit, "report": None, "error": said(exc, lang_of(request)),
                "units": [(u, x.name) for u, x in session.cfg.units.items()], "formats": list(DOWNLOADS),
                "labels": {}, "lang": lang_of(request)}, status=400)
        data = written[0].read_bytes()
        name = written[0].name
    return Response(data, media_type=DOWNLOADS[fmt],
                    headers={"content-disposition": f'attachment; filename="{name}"'})


#: The report's own document: its inline styles and SVG charts only; no script, no request anywhere,
#: a unique origin (``sandbox`` without ``allow-same-origin``), framed by the console's pages only.
REPORT_FRAME_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                    "form-action 'none'; frame-ancestors 'self'; sandbox")


@requires(*REPORTERS)
def report_view(request) -> Response:
    """The html report of the period and unit, as ``loa report --format html`` writes it, to read
    inside the reports page (an iframe): the file is the content repository's template's output,
    so it is shown under :data:`REPORT_FRAME_CSP`, never the console's origin."""
    session = loa_session(request)
    period, unit = _asked(request, session.cfg)
    if not period:
        return render(request, "notfound.html", {}, status=404)
    with tempfile.TemporaryDirectory(prefix="loa-report-") as folder:
        try:
            _report, written = session.write_report(period, ["html"], Path(folder), unit=unit)
        except LoaError as exc:
            return Response(said(exc, lang_of(request)), status_code=400, media_type="text/plain; charset=utf-8",
                            headers={"content-security-policy": REPORT_FRAME_CSP, "x-frame-options": "SAMEORIGIN"})
        data = written[0].read_bytes()
    return Response(data, media_type=DOWNLOADS["html"],
                    headers={"content-security-policy": REPORT_FRAME_CSP, "x-frame-options": "SAMEORIGIN",
                             "content-disposition": "inline"})


routes = [
    Route("/reports/view", report_view, methods=["GET"]),
    Route("/reports", reports_page, methods=["GET"]),
    Route("/reports/download/{fmt}", report_download, methods=["GET"]),
]
