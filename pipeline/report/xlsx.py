"""The report as an Excel workbook: one sheet per table, numbers stored as numbers.

Counts use the ``#,##0`` format and shares ``0.0%``, so a Vietnamese-locale Excel shows ``1.234`` and
``98,5%``. The "Danh sách" sheet streams every item (write-only workbook) up to Excel's row limit.
Text is always text: a title that starts like a formula (``=HYPERLINK(...)``, from a feed) is stored
as a string with Excel's quote prefix, never as a formula (:func:`pipeline.report.text.formula_like`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipeline.report.model import Report, change_pct
from pipeline.report.text import TABLE_HEADERS, expand_headers, formula_like, report_title, table_rows
from pipeline.vietnamese import strip_control

SHEETS = (("Tổng hợp", "summary"), ("Theo kênh", "channels"), ("Theo loại", "types"), ("Theo chủ đề", "topics"),
          ("Theo tháng", "months"), ("Đơn vị", "units"), ("Chỉ tiêu", "targets"), ("Hoạt động", "activities"))
EXCEL_MAX_ROWS = 1_048_576


def _openpyxl():
    try:
        import openpyxl
    except ImportError as exc:
        raise ImportError("the .xlsx report requires openpyxl: pip install 'loa[report]'") from exc
    return openpyxl


def _clean(value):
    return strip_control(value) if isinstance(value, str) else value


def _text(ws, value):
    """A cell holding ``value``; formula-like text stays a string (openpyxl would store a formula)."""
    from openpyxl.cell import WriteOnlyCell
    value = _clean(value)
    c = WriteOnlyCell(ws, value=value)
    if formula_like(value):
        c.data_type = "s"
        c.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return c


DATE_FORMAT, TIME_FORMAT = "dd/mm/yyyy", "dd/mm/yyyy hh:mm"


def _date_cell(ws, value, fmt: str):
    """A real date cell (Excel sorts and filters it as a date) shown the Vietnamese way. Times are the
    site zone's wall clock: Excel has no zones."""
    from openpyxl.cell import WriteOnlyCell
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None) if fmt == TIME_FORMAT else value.date()
    c = WriteOnlyCell(ws, value=value)
    if value is not None:
        c.number_format = fmt
    return c


def _cell(ws, kind, value):
    from openpyxl.cell import WriteOnlyCell
    if kind == "n":
        c = WriteOnlyCell(ws, value=value)
        c.number_format = "#,##0"
    elif kind == "p":
        c = WriteOnlyCell(ws, value=None if value is None else round(value / 100.0, 4))
        c.number_format = "0.0%"
    elif kind == "c":
        pct = change_pct(*value)
        c = WriteOnlyCell(ws, value=None if pct is None else round(pct / 100.0, 4))
        c.number_format = "+0.0%;-0.0%;0%"
    elif kind == "d":
        c = _date_cell(ws, value, DATE_FORMAT)
    else:
        c = _text(ws, value)
    return c


def write_xlsx(report: Report, out_path: Path, templates_dir=None) -> None:
    openpyxl = _openpyxl()
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    wb = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    title = report_title(report)
    for sheet_name, table in SHEETS:
        ws = wb.create_sheet(sheet_name)
        ws.column_dimensions["A"].width = 38
        if table == "summary":
            head = _text(ws, f"BÁO CÁO {title}")
            head.font = bold
            ws.append([head])
            ws.append([f"Kỳ báo cáo: {report.period.days_prose()}"])
            ws.append([])
        header = []
        for h in expand_headers(report, TABLE_HEADERS[table]):
            c = _text(ws, h)
            c.font = bold
            header.append(c)
        ws.append(header)
        for row in table_rows(report, table):
            ws.append([_cell(ws, kind, value) for kind, value in row])

    ws = wb.create_sheet("Danh sách")
    ws.column_dimensions["D"].width = 60
    header = []
    for h in ("Ngày", "Mã tin", "Đơn vị", "Tiêu đề", "Loại", "Kênh", "Liên kết", "Đính chính", "Gỡ bỏ"):
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        header.append(c)
    ws.append(header)
    written = 1
    for item in report.iter_items():
        for ch in item.channels:
            if written >= EXCEL_MAX_ROWS - 1:
                break
            values = (_clean(v) for v in (
                item.post_id, item.unit_name, item.title, report.label("types", item.type) if item.type else "",
                report.label("channels", ch), item.links.get(ch, "")))
            # openpyxl refuses control characters (IllegalCharacterError): a ledger title from
            # before the check existed must not stop the report
            ws.append([_date_cell(ws, item.date, TIME_FORMAT)]
                      + [_text(ws, v) if formula_like(v) else v for v in values]  # plain values stream faster
                      + [_date_cell(ws, item.corrected_at, DATE_FORMAT), _date_cell(ws, item.retracted_at, DATE_FORMAT)])
            written += 1
        else:
            continue
        ws.append(["Danh sách vượt quá số dòng tối đa của Excel; xem tệp CSV hoặc JSON."])
        break
    wb.save(str(out_path))
