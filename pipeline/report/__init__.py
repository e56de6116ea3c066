"""Periodic reports from the ledger.

    period = parse_period("2024-Q1", mode=config.report["periods"], tz=config.tz)
    report = build_report(ledger, period, units=[...], targets=..., activities=..., org=..., now=now)
    write_report(report, "docx", report_path("reports", "2024-Q1", "docx"))

:func:`build_report` aggregates in the database (see :mod:`pipeline.report.aggregate`);
:func:`write_report` turns the frozen :class:`Report` into one of ``FORMATS``. Keep the ledger open until
the JSON/CSV/XLSX files are written: they stream every item from it.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError
from pipeline.paths import inside, plain_name
from pipeline.vietnamese import fold
from pipeline.report.aggregate import ITEMS_LIMIT, build_report
from pipeline.report.model import Report, date_header_vi, format_change_vi, format_number_vi
from pipeline.report.periods import Period, make_period, parse_period, period_ending_before

FORMATS = ("md", "html", "docx", "xlsx", "csv", "json")
#: Written when asked for (the console's download), never by default: it needs LibreOffice.
ON_REQUEST = ("pdf",)


def report_path(out_dir: str | Path, key: str, fmt: str, *, unit: str | None = None) -> Path:
    """The file of the report of period ``key`` in ``out_dir``: ``2024-Q1.docx``, or
    ``2024-Q1-phuong-1.docx`` for one unit. The key is written as :func:`parse_period` reads it
    (``2024-q1`` -> ``2024-Q1``); a unit that is not a plain name (``[a-z0-9-]``), or a file that
    leads out of ``out_dir`` (a link planted there), is a :class:`UsageError`."""
    if fmt not in FORMATS + ON_REQUEST:
        raise UsageError(f"unknown report format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    stem = parse_period(key).key
    if unit is not None:
        if not plain_name(unit):
            raise UsageError(f"unit {unit!r} cannot name a report file: only a-z, 0-9 and - are allowed")
        stem += f"-{unit}"
    try:
        return inside(out_dir, f"{stem}.{fmt}")
    except ValueError:
        raise UsageError(f"{Path(out_dir) / f'{stem}.{fmt}'} leads outside {out_dir} (a link?); "
                         "remove it or choose another --out folder") from None


def write_report(report: Report, fmt: str, out_path: str | Path, *, templates_dir: str | Path | None = None) -> Path:
    """Write ``report`` as ``fmt`` to ``out_path`` (parent folders are created) and return the path.
    Build ``out_path`` with :func:`report_path` when its name comes from a period key or a unit.

    ``templates_dir`` is the site's template folder; its ``report/`` files override the shipped wording.
    """
    if fmt not in FORMATS + ON_REQUEST:
        raise UsageError(f"unknown report format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Each writer goes to a temporary file first: a half-written report must never look finished.
    # A fresh one (O_EXCL): the reports folder may sit in the content repository, and a link
    # planted under a predictable name would be written through.
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
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
        elif fmt == "pdf":
            from pipeline.report.pdf import write_pdf
            write_pdf(report, tmp, templates_dir)
        else:
            from pipeline.report.xlsx import write_xlsx
            write_xlsx(report, tmp, templates_dir)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the office reads the reports from a share
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


#: What a report calls a channel whose config gives no ``label``: the name of its type an official writes.
CHANNEL_TYPE_LABELS = {"static_site": "Cổng Thông tin điện tử", "wordpress": "Cổng Thông tin điện tử",
                       "facebook": "Trang Facebook", "zalo": "Zalo OA", "telegram": "Telegram", "mastodon": "Mastodon",
                       "loudspeaker": "Đài truyền thanh cơ sở"}


def channel_labels(channels) -> dict[str, str]:
    """Report labels of the configured channels: the channel's own ``label`` when it has one, else
    the usual Vietnamese name of its type (``Cổng Thông tin điện tử``), with the channel name when two share
    a type."""
    types = [ch.type for ch in channels.values()]
    out = {}
    for name, ch in channels.items():
        if ch.label and ch.label != name:
            out[name] = ch.label
        elif ch.type in CHANNEL_TYPE_LABELS:
            base = CHANNEL_TYPE_LABELS[ch.type]
            out[name] = base if types.count(ch.type) == 1 else f"{base} ({name})"
        else:
            out[name] = name
    return out


def issuer(config, day: date, unit: str | None = None) -> dict[str, Any]:
    """The ``org`` of a report dated ``day``: the organisation in force that day (``[organization]``
    and its dated ``history``), its signature block and recipients (else ``[report]``'s); for a unit
    report, that unit's own header (its ``name_lines``, else its parent, by default the organisation's
    name, then the unit's name) and number symbol."""
    r = config.report
    org = config.organization_at(day) if hasattr(config, "organization_at") else None
    name_lines = list(org.name_lines if org else config.org_lines)
    out = {"name_lines": name_lines, "place": org.place if org else config.org_place,
           "signer_lines": list(org.signer_lines if org and org.signer_lines is not None else r.signer_lines),
           "signer_name": org.signer_name if org and org.signer_name is not None else r.signer_name,
           "recipients": list(org.recipients if org and org.recipients is not None else r.recipients),
           "number_symbol": (org.number_symbol if org and org.number_symbol else r.number_symbol) or "BC-UBND",
           "date": day}
    u = _in_force(config.units, config.units.get(unit) if unit else None, day)
    if u is not None and not u.in_force(day) and day >= (u.valid_to or day):
        # dissolved with no successor (a city's office after 1/7/2025): the organisation of that day writes it
        u = None
    if u is not None:
        parent = getattr(u, "parent", None) or " ".join(name_lines)
        if getattr(u, "name_lines", ()):
            out["name_lines"] = list(u.name_lines)
        elif name_lines and fold(name_lines[-1]) == fold(u.name):  # the unit is the issuer (UBND phường)
            out["name_lines"] = name_lines
        else:  # Decree 30: the parent body (cơ quan chủ quản) in regular type over the unit in bold
            out["name_lines"] = [parent, u.name]
            out["unit_header"] = True
        out["number_symbol"] = getattr(u, "number_symbol", None) or out["number_symbol"]
    return out


def _in_force(units, u, day: date):
    """``u``, or, when it no longer exists on ``day`` (merged on 1/7/2025), its successor that does:
    the body that writes and signs a report dated ``day`` about the old unit (the report's scope
    stays the old unit and those merged into it). A unit with no successor in force keeps its own."""
    seen = set()
    while u is not None and not u.in_force(day) and u.successor in units and u.id not in seen:
        seen.add(u.id)
        nxt = units[u.successor]
        if nxt.valid_from is not None and day < nxt.valid_from:
            break
        u = nxt
    return u


def inputs_from_config(config, *, day: date | None = None, unit: str | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`build_report` that ``config.toml`` provides: ``units``,
    ``targets``, ``org`` (:func:`issuer` at ``day``, default today in the site zone; ``unit`` for a unit
    report), ``labels`` and ``tz``. The caller adds the ledger, the period
    (``parse_period(key, mode=config.report.periods, tz=config.tz)``) and the activities
    (:func:`pipeline.activities.read_activities`); ``write_report(..., templates_dir=config.root /
    "templates")`` lets the office's own ``templates/report/`` change the wording."""
    r = config.report
    day = day or datetime.now(config.tz).date()
    return {
        "units": [{"id": u.id, "name": u.name, "kind": u.kind, "valid_from": u.valid_from,
                   "valid_to": u.valid_to, "successor": u.successor} for u in config.units.values()],
        "targets": {key: dict(value) for key, value in (r.targets or {}).items()},
        "org": issuer(config, day, unit),
        "labels": {"channels": channel_labels(config.channels),
                   "types": {key: t.label for key, t in config.types.items()},
                   "topics": dict(config.topics)},
        "tz": config.tz,
    }


__all__ = ["inputs_from_config", "issuer", "channel_labels", "FORMATS", "ITEMS_LIMIT", "Period", "Report", "UsageError", "build_report", "date_header_vi",
           "format_change_vi", "format_number_vi", "make_period", "parse_period", "period_ending_before",
           "report_path", "write_report"]
