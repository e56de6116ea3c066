"""Plain formats: Markdown (through ``templates/report/report.md.j2``), CSV and JSON.

Also home of the Jinja2 environment every templated format shares: the office's own
``templates/report/`` (when given) comes before the shipped one, so wording can change without code.
JSON and CSV stream every item from the ledger; Markdown lists the capped preview and says so.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any, Iterator

import jinja2

from pipeline.errors import RenderError
from pipeline.messages import Detail
from pipeline.vietnamese import each_text, strip_control
from pipeline.report.model import (Item, Report, change_pct, date_header_vi, date_short_vi, format_change_vi,
                                   format_number_vi)
from pipeline.report.narrative import as_context
from pipeline.templating import Environment as SandboxedEnvironment  # the office's templates are not trusted

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


def template_env(templates_dir: str | Path | None = None, *, autoescape: bool = False,
                 trim_blocks: bool = True) -> jinja2.Environment:
    """Loader over ``<templates_dir>/report`` then the shipped ``templates/report``; StrictUndefined so a
    misspelt name in an edited template fails loudly instead of printing nothing."""
    dirs = [Path(templates_dir) / "report"] if templates_dir else []
    dirs.append(SHIPPED_TEMPLATES / "report")
    env = SandboxedEnvironment(loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
                               undefined=jinja2.StrictUndefined, autoescape=autoescape,
                               trim_blocks=trim_blocks, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(num=format_number_vi, pct=lambda v: format_number_vi(v, percent=True),
                       change=lambda pair: format_change_vi(*pair), dshort=date_short_vi,
                       dheader=date_header_vi, change_pct=lambda pair: change_pct(*pair), roman=roman,
                       mdtext=md_text)
    return env


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!])")


def md_text(paragraph: str) -> str:
    """An official's paragraph as Markdown that shows exactly its text: every character Markdown or
    HTML would act on behind a backslash; a ``- `` list item stays one."""
    bullet = paragraph.startswith("- ")
    body = _MD_SPECIAL.sub(r"\\\1", paragraph[2:] if bullet else paragraph)
    return ("- " if bullet else "") + body


def roman(n: int) -> str:
    """Section numbers of a Vietnamese report: 1 -> I, 4 -> IV, 9 -> IX (up to 39)."""
    out = ""
    for value, numeral in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + numeral, n - value
    return out


def context(report: Report, env: jinja2.Environment | None = None) -> dict[str, Any]:
    """What every template sees: the report plus rows shaped for tables (labels resolved)."""
    t, p = report.totals, report.period
    lab = report.label
    channels = [{"key": c, "label": lab("channels", c), "count": t.by_channel.get(c, 0),
                 "previous": report.previous.by_channel.get(c, 0), "year_ago": report.year_ago.by_channel.get(c, 0)}
                for c in report.channels]
    org = dict(report.org)
    return {
        "r": report, "period": p, "totals": t, "org": org,
        "title": report_title(report, env),
        "org_lines": list(org.get("name_lines") or []),
        "place": org.get("place") or "",
        "number_symbol": org.get("number_symbol") or "BC-UBND",
        "signer_lines": list(org.get("signer_lines") or []),
        "signer_name": org.get("signer_name") or "",
        "recipients": list(org.get("recipients") or []),
        "date": org.get("date") or report.generated_at.date(),
        "channels": channels,
        "types": [{"key": k, "label": lab("types", k) or "(không ghi)", "count": n} for k, n in t.by_type.items()],
        "topics": [{"key": k, "label": lab("topics", k), "count": n} for k, n in t.by_topic.items()],
        "months": [{"label": m, "count": n} for m, n in report.per_month],
        "units": list(report.units),
        "targets": [{"unit": u, "channel": ch, "label": lab("channels", ch), "target": tg,
                     "count": u.by_channel.get(ch, 0), "share": u.shares.get(ch)}
                    for u in report.units for ch, tg in u.targets.items()],
        "behind": list(report.behind),
        "activities": list(report.activities),
        "activities_total": sum(a.count for a in report.activities),
        "items": list(report.items),
        "items_capped": report.items_capped,
        "as_of": report.as_of.astimezone(p.tz) if report.as_of else None,
        "channel_label": lambda c: lab("channels", c),
        "succession": list(report.succession),
        "narrative": as_context(report.narrative),
        "unit_cells": lambda u: [u.by_channel.get(c, 0) for c in report.channels],
        "audit": audit_rows(report),
        "audit_text": audit_text(),
    }


AUDIT_COLUMNS = ("published", "title", "unit", "action", "by", "account", "at", "frontend", "comment")


def audit_text(lang: str = "vi") -> dict[str, str]:
    """The annex's title, notes and column headers (``col_<column>``) from the catalogue."""
    from pipeline.messages import text

    out = {k: text(f"report.audit.{k.replace('_', '-')}", lang) for k in ("title", "intro", "cli_note")}
    out.update({f"col_{c}": text(f"report.audit.col.{c}", lang) for c in AUDIT_COLUMNS})
    return out


def audit_rows(report: Report, lang: str = "vi") -> list[dict[str, str]]:
    """The approval annex (``Report.audit``) as one text cell per column of :data:`AUDIT_COLUMNS`,
    the same in every format that people read."""
    from pipeline.messages import text

    return [{"published": date_short_vi(a.published), "title": a.title, "unit": a.unit_name,
             "action": text(f"report.audit.action.{a.action}", lang), "by": a.by, "account": a.account or "",
             "at": a.at.strftime("%H:%M ") + date_short_vi(a.at) if a.at else text("report.audit.at-unknown", lang),
             "frontend": text(f"report.audit.frontend.{a.frontend}", lang), "comment": " ".join((a.comment or "").split())}
            for a in report.audit]


def report_title(report: Report, env: jinja2.Environment | None = None) -> str:
    """The summary line under BÁO CÁO: ``org["title"]`` if set, else ``title.txt.j2``."""
    if report.org.get("title"):
        return str(report.org["title"])
    env = env or template_env()
    return " ".join(env.get_template("title.txt.j2").render(period=report.period, r=report).split())


def render_template(report: Report, name: str, templates_dir=None, *, autoescape: bool = False,
                    **extra: Any) -> str:
    env = template_env(templates_dir, autoescape=autoescape)
    try:
        return env.get_template(name).render(**context(report, env), **extra)
    except jinja2.TemplateError as exc:  # an edited template: a message, not a traceback
        raise RenderError(f"report {report.period.key}", name, Detail("render.template-error", error=str(exc))) from None


def write_md(report: Report, out_path: Path, templates_dir=None) -> None:
    out_path.write_text(strip_control(render_template(report, "report.md.j2", templates_dir)), encoding="utf-8")


def report_json_head(report: Report) -> dict:
    """Everything of the JSON shape except ``items`` (which the writers stream)."""
    t = report.totals
    return {
        "period": {"key": report.period.key, "start": report.period.start.isoformat(),
                   "end": report.period.end.isoformat()},
        "totals": {"items": t.items, "by_channel": dict(t.by_channel), "by_unit": dict(t.by_unit),
                   "by_type": dict(t.by_type), "by_topic": dict(t.by_topic), "retracted": t.retracted,
                   "corrected": t.corrected, "failed_open": t.failed_open},
        "units": [{"id": u.id, "name": u.name, "kind": u.kind, "status": u.status,
                   "valid_from": u.valid_from.isoformat() if u.valid_from else None,
                   "valid_to": u.valid_to.isoformat() if u.valid_to else None,
                   "successor": u.successor, "successor_name": u.successor_name, "note": u.note_vi,
                   "items": u.items, "by_channel": dict(u.by_channel), "targets": dict(u.targets),
                   "shares": {k: round(v, 1) for k, v in u.shares.items()}, "behind": list(u.behind),
                   "previous": u.previous, "year_ago": u.year_ago, "retracted": u.retracted,
                   "corrected": u.corrected, "failed_open": u.failed_open} for u in report.units],
        "activities": [{"unit": a.unit, "unit_name": a.unit_name, "kind": a.kind, "label": a.label,
                        "count": a.count, "entries": a.entries} for a in report.activities],
        "grassroots": [dict(vars(g)) for g in report.grassroots],  # the loudspeaker stations (report/grassroots.py)
        "audit": [{"post_id": a.post_id, "title": a.title, "unit": a.unit, "published": a.published.isoformat(),
                   "action": a.action, "by": a.by, "account": a.account, "at": a.at.isoformat() if a.at else None,
                   "frontend": a.frontend, "comment": a.comment, "version": a.version}
                  for a in report.audit],  # the approval annex (report/audit.py)
    }


def item_json(item: Item) -> dict:
    return {"date": item.date.isoformat(), "post_id": item.post_id, "unit": item.unit, "title": item.title,
            "type": item.type, "channels": list(item.channels), "links": dict(item.links),
            "retracted_at": item.retracted_at.isoformat() if item.retracted_at else None,
            "corrected_at": item.corrected_at.isoformat() if item.corrected_at else None}


def _clean(value: Any) -> Any:
    """``value`` (JSON data) with no control character or bidi override in any text."""
    return each_text(strip_control, value)


def write_json(report: Report, out_path: Path) -> None:
    """The documented shape, with ``items`` streamed one object per line of the array."""
    head = report_json_head(report)
    with out_path.open("w", encoding="utf-8") as f:
        body = json.dumps(_clean(head), ensure_ascii=False, indent=1)
        f.write(body[:-2] + ',\n "items": [')  # reopen the object to append the streamed list
        first = True
        for item in report.iter_items():
            f.write(("\n  " if first else ",\n  ") + json.dumps(_clean(item_json(item)), ensure_ascii=False))
            first = False
        f.write("\n ]\n}\n" if not first else "]\n}\n")


CSV_COLUMNS = ("section", "key", "unit", "channel", "value", "date", "title", "link")

#: What makes a spreadsheet read a cell as a formula (OWASP, CSV injection): a title from a feed
#: that starts with ``=`` would run in the office's Excel.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would take for a formula. The one test of every
    spreadsheet writer (the CSV and xlsx reports, ``loa log --format csv``)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_safe(row) -> list:
    """``row`` with each formula-like text behind a single quote, so a spreadsheet shows it as text,
    and without control characters and bidi overrides (``vietnamese.CONTROL``)."""
    row = [strip_control(v) if isinstance(v, str) else v for v in row]
    return ["'" + v if formula_like(v) else v for v in row]


def csv_rows(report: Report) -> Iterator[tuple]:
    """One long table: every figure as (section, key, unit, channel, value), then every item as one row
    per channel (value 1). Pivot tables rebuild any view; the numbers are those of every other format."""
    t, p = report.totals, report.period
    yield ("period", p.key, "", "", "", p.start.date().isoformat(), p.label_vi, "")
    yield ("period_end", p.key, "", "", "", p.last_day.isoformat(), "", "")
    for key in ("items", "posts", "retracted", "corrected", "failed_open"):
        yield ("totals", key, "", "", getattr(t, key), "", "", "")
    yield ("previous", "items", "", "", report.previous.items, report.previous.period.key, "", "")
    yield ("year_ago", "items", "", "", report.year_ago.items, report.year_ago.period.key, "", "")
    for section, data in (("by_channel", t.by_channel), ("by_type", t.by_type), ("by_topic", t.by_topic),
                          ("by_unit", t.by_unit), ("previous_by_channel", report.previous.by_channel),
                          ("year_ago_by_channel", report.year_ago.by_channel)):
        for k, n in data.items():
            yield (section, k, k if section == "by_unit" else "", k if "channel" in section else "", n, "", "", "")
    for label, n in report.per_month:
        yield ("by_month", label, "", "", n, "", "", "")
    for u in report.units:
        yield ("unit", "items", u.id, "", u.items, "", u.name, u.note_vi)
        yield ("unit", "previous", u.id, "", u.previous, "", u.name, "")
        yield ("unit", "year_ago", u.id, "", u.year_ago, "", u.name, "")
        for ch in report.channels:
            yield ("unit_channel", "items", u.id, ch, u.by_channel.get(ch, 0), "", u.name, "")
        for ch, tg in u.targets.items():
            yield ("unit_target", "target", u.id, ch, tg, "", u.name, "")
            yield ("unit_target", "share_pct", u.id, ch, round(u.shares[ch], 1), "", u.name,
                   "behind" if ch in u.behind else "")
    for a in report.activities:
        yield ("activity", a.kind, a.unit, "", a.count, "", a.label, "")
    for item in report.iter_items():
        for ch in item.channels:
            yield ("item", item.post_id, item.unit, ch, 1, item.date.isoformat(), item.title,
                   item.links.get(ch, ""))


def write_csv(report: Report, out_path: Path) -> None:
    # utf-8-sig so Excel opens Vietnamese text correctly.
    with out_path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        w.writerows(csv_safe(row) for row in csv_rows(report))


# --- tables shared by the docx and xlsx writers -------------------------------------------------------

TABLE_HEADERS: dict[str, list[str]] = {
    "summary": ["Chỉ số", "Kỳ này", "Kỳ trước", "So với kỳ trước", "Cùng kỳ năm trước", "So với cùng kỳ"],
    "channels": ["Kênh", "Số lượt", "Kỳ trước", "Cùng kỳ"],
    "types": ["Loại tin, bài", "Số lượt"],
    "topics": ["Chủ đề", "Số lượt"],
    "months": ["Tháng", "Số lượt"],
    "units": ["Đơn vị", "*", "Tổng", "Kỳ trước", "Cùng kỳ", "Ghi chú"],
    "targets": ["Đơn vị", "Kênh", "Chỉ tiêu", "Thực hiện", "Tỷ lệ"],
    "activities": ["Đơn vị", "Hình thức", "Số lượng"],
    "items": ["Ngày", "Đơn vị", "Tiêu đề", "Kênh", "Liên kết", "Ghi chú"],
    "audit": [audit_text()[f"col_{c}"] for c in AUDIT_COLUMNS],
}
# Cells of these kinds: "n" count, "p" percent (float, None = "-"), "c" change (current, before), "t" text.


def expand_headers(report: Report, headers: list[str]) -> list[str]:
    """``*`` in a header list stands for one column per channel."""
    out: list[str] = []
    for h in headers:
        out.extend(report.label("channels", c) for c in report.channels) if h == "*" else out.append(h)
    return out


def item_note(item) -> str:
    parts = []
    if item.corrected_at:
        parts.append(f"đính chính {date_short_vi(item.corrected_at)}")
    if item.retracted_at:
        parts.append(f"gỡ bỏ {date_short_vi(item.retracted_at)}")
    return "; ".join(parts)


def table_rows(report: Report, name: str, items=None) -> list[list[tuple[str, Any]]]:
    """Rows of one table as ``(kind, value)`` cells; the last row of count tables is the total."""
    t, lab = report.totals, report.label
    n = lambda v: ("n", v)  # noqa: E731
    s = lambda v: ("t", v)  # noqa: E731
    if name == "summary":
        rows = [("Lượt tin, bài đã đăng", t.items, report.previous.items, report.year_ago.items)]
        rows += [(f"- {lab('channels', c)}", t.by_channel.get(c, 0), report.previous.by_channel.get(c, 0),
                  report.year_ago.by_channel.get(c, 0)) for c in report.channels]
        return [[s(a), n(b), n(c), ("c", (b, c)), n(d), ("c", (b, d))] for a, b, c, d in rows] + [
            [s("Tin, bài (không tính trùng kênh)"), n(t.posts), s(""), s(""), s(""), s("")],
            [s("Đính chính trong kỳ"), n(t.corrected), s(""), s(""), s(""), s("")],
            [s("Gỡ bỏ trong kỳ"), n(t.retracted), s(""), s(""), s(""), s("")],
            [s("Lượt đăng lỗi chưa xử lý"), n(t.failed_open), s(""), s(""), s(""), s("")]]
    if name == "channels":
        rows = [[s(lab("channels", c)), n(t.by_channel.get(c, 0)), n(report.previous.by_channel.get(c, 0)),
                 n(report.year_ago.by_channel.get(c, 0))] for c in report.channels]
        return rows + [[s("Tổng"), n(t.items), n(report.previous.items), n(report.year_ago.items)]]
    if name in ("types", "topics"):
        data = t.by_type if name == "types" else t.by_topic
        rows = [[s(lab(name, k) or "(không ghi)"), n(v)] for k, v in data.items()]
        return rows + ([[s("Tổng"), n(t.items)]] if name == "types" else [])
    if name == "months":
        return [[s(m), n(v)] for m, v in report.per_month] + [[s("Tổng"), n(t.items)]]
    if name == "units":
        rows = [[s(u.name)] + [n(u.by_channel.get(c, 0)) for c in report.channels]
                + [n(u.items), n(u.previous), n(u.year_ago), s(u.short_note_vi)] for u in report.units]
        return rows + [[s("Tổng")] + [n(t.by_channel.get(c, 0)) for c in report.channels]
                       + [n(t.items), n(report.previous.items), n(report.year_ago.items), s("")]]
    if name == "targets":
        return [[s(u.name), s(lab("channels", ch)), n(tg), n(u.by_channel.get(ch, 0)), ("p", u.shares.get(ch))]
                for u in report.units for ch, tg in u.targets.items()]
    if name == "activities":
        rows = [[s(a.unit_name), s(a.label), n(a.count)] for a in report.activities]
        return rows + ([[s("Tổng"), s(""), n(sum(a.count for a in report.activities))]] if rows else [])
    if name == "items":
        return [[("d", it.date), s(it.unit_name), s(it.title),
                 s(", ".join(lab("channels", c) for c in it.channels)),
                 s(" ".join(it.links.get(c, "") for c in it.channels if it.links.get(c))), s(item_note(it))]
                for it in (report.items if items is None else items)]
    if name == "audit":
        return [[s(row[c]) for c in AUDIT_COLUMNS] for row in audit_rows(report)]
    raise KeyError(f"unknown report table {name!r}; expected one of: {', '.join(TABLE_HEADERS)}")


def cell_text(cell: tuple[str, Any]) -> str:
    kind, value = cell
    if kind == "n":
        return format_number_vi(value)
    if kind == "p":
        return format_number_vi(value, percent=True)
    if kind == "c":
        return format_change_vi(*value)
    if kind == "d":
        return date_short_vi(value)
    return "" if value is None else str(value)
