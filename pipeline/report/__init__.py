"""Periodic reports from the ledger.

    period = parse_period("2024-Q1", mode=config.report["periods"], tz=config.tz)
    report = build_report(ledger, period, units=[...], targets=..., activities=..., org=..., now=now)
    write_report(report, "docx", Path("reports/2024-Q1.docx"))

:func:`build_report` aggregates in the database (see :mod:`pipeline.report.aggregate`);
:func:`write_report` turns the frozen :class:`Report` into one of ``FORMATS``. Keep the ledger open until
the JSON/CSV/XLSX files are written: they stream every item from it.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import UsageError
from pipeline.report.aggregate import ITEMS_LIMIT, build_report
from pipeline.report.model import Report, date_header_vi, format_change_vi, format_number_vi
from pipeline.report.periods import Period, make_period, parse_period, period_ending_before

FORMATS = ("md", "html", "docx", "xlsx", "csv", "json")


def write_report(report: Report, fmt: str, out_path: str | Path, *, templates_dir: str | Path | None = None) -> Path:
    """Write ``report`` as ``fmt`` to ``out_path`` (parent folders are created) and return the path.

    ``templates_dir`` is the site's template folder; its ``report/`` files override the shipped wording.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Each writer goes to a temporary name first: a half-written report must never look finished.
    tmp = out.with_name(out.name + ".part")
    try:
        if fmt == "md":
            from pipeline.report.text import write_md
            write_md(report, tmp, templates_dir)
        elif fmt == "json":
            from pipeline.report.text import write_json
            write_json(report, tmp)
        elif fmt == "csv":
            from pipeline.report.text import write_csv
            write_csv(report, tmp)
        elif fmt == "html":
            from pipeline.report.html import write_html
            write_html(report, tmp, templates_dir)
        elif fmt == "docx":
            from pipeline.report.docx import write_docx
            write_docx(report, tmp, templates_dir)
        else:
            from pipeline.report.xlsx import write_xlsx
            write_xlsx(report, tmp, templates_dir)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


__all__ = ["FORMATS", "ITEMS_LIMIT", "Period", "Report", "UsageError", "build_report", "date_header_vi",
           "format_change_vi", "format_number_vi", "make_period", "parse_period", "period_ending_before",
           "write_report"]
