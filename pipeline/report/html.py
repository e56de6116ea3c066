"""One self-contained printable HTML page (``templates/report/report.html.j2``) with inline SVG charts.

No JavaScript, no web fonts, no external files: it opens offline and prints on A4 as it shows.
Charts: items per unit, per month of the period, per channel.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup, escape

from pipeline.report.model import Report, format_number_vi
from pipeline.report.text import render_template
from pipeline.vietnamese import strip_control

BAR = "#1f5fa8"
MUTED = "#9aa7b5"


def hbar_chart(title: str, rows: list[tuple[str, int]], *, width: int = 640) -> Markup:
    """Horizontal bars, one per (label, value); value printed in Vietnamese format after the bar."""
    row_h, label_w, top = 22, 200, 28
    height = top + row_h * max(len(rows), 1) + 8
    peak = max([v for _, v in rows] + [1])
    span = width - label_w - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    if not rows:
        parts.append(f'<text x="0" y="{top + 14}" font-size="13" fill="{MUTED}">Không có số liệu</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = round(span * value / peak) if value else 0
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="{row_h - 7}" '
                     f'fill="{BAR if value else MUTED}"/>'
                     f'<text x="{label_w + w + 5}" y="{y + 15}" font-size="12">{format_number_vi(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def vbar_chart(title: str, rows: list[tuple[str, int]], *, width: int = 640, height: int = 240) -> Markup:
    """Vertical bars (months of the period)."""
    top, bottom, left = 30, 40, 10
    n = max(len(rows), 1)
    slot = (width - left * 2) / n
    peak = max([v for _, v in rows] + [1])
    span = height - top - bottom - 16
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" stroke="#333"/>']
    for i, (label, value) in enumerate(rows):
        h = round(span * value / peak) if value else 0
        x = left + i * slot + slot * 0.15
        bw = slot * 0.7
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h}" width="{bw:.1f}" height="{h}" fill="{BAR}"/>'
                     f'<text x="{x + bw / 2:.1f}" y="{height - bottom - h - 4}" font-size="12" '
                     f'text-anchor="middle">{format_number_vi(value)}</text>'
                     f'<text x="{x + bw / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                     f'text-anchor="middle">{escape(_short_month(label))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short_month(label: str) -> str:
    """``Tháng 2 (15/01-14/02)`` -> ``T2`` under a bar; the table beside the chart has the dates."""
    return label.split(" (")[0].replace("Tháng ", "T").replace("tháng ", "T")


def charts(report: Report) -> dict[str, Markup]:
    return {
        "chart_units": hbar_chart("Số lượt tin, bài theo đơn vị",
                                  [(u.name, u.items) for u in report.units if u.items or u.status != "inactive"]),
        "chart_months": vbar_chart("Số lượt tin, bài theo tháng", list(report.per_month)),
        "chart_channels": hbar_chart("Số lượt tin, bài theo kênh",
                                     [(report.label("channels", c), report.totals.by_channel.get(c, 0))
                                      for c in report.channels]),
    }


def write_html(report: Report, out_path: Path, templates_dir=None) -> None:
    html = render_template(report, "report.html.j2", templates_dir, autoescape=True, **charts(report))
    out_path.write_text(strip_control(html), encoding="utf-8")  # no hidden controls or bidi overrides
