"""The sections of a report that an official writes, from one Markdown file per period.

``narrative/2024-Q1.md`` (``[report] narrative_dir``; ``2024-Q1-phuong-1.md`` for a unit report) holds
the prose no ledger can know: đánh giá chung, tồn tại/hạn chế, nguyên nhân, phương hướng, kiến nghị.
Each starts at a heading (``## Tồn tại, hạn chế``; the heading is matched without diacritics or case)::

    ## Đánh giá chung
    Trong quý, công tác thông tin, tuyên truyền...

    ## Tồn tại, hạn chế
    - Phường 3 chưa đạt chỉ tiêu...

The file comes from the content repository, so it is untrusted: it is read as text only (no HTML,
no Markdown beyond paragraphs and list items), with control characters and tags removed; every
format escapes it as its own text. A file that cannot be used is a :class:`UsageError` naming the
file and the line. :func:`draft_narrative` writes a first draft from the report's figures.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from pipeline.errors import UsageError
from pipeline.messages import Detail
from pipeline.report.model import Report, format_change_vi, format_number_vi
from pipeline.vietnamese import fold, strip_control

#: key -> heading as printed; the order is the report's.
SECTIONS = {
    "danh_gia": "Đánh giá chung",
    "ton_tai": "Tồn tại, hạn chế",
    "nguyen_nhan": "Nguyên nhân",
    "phuong_huong": "Phương hướng, nhiệm vụ kỳ tới",
    "kien_nghi": "Kiến nghị, đề xuất",
}
#: folded words a heading starts with -> section
_MATCH = (("danh gia", "danh_gia"), ("uu diem", "danh_gia"), ("ton tai", "ton_tai"), ("han che", "ton_tai"),
          ("nguyen nhan", "nguyen_nhan"), ("phuong huong", "phuong_huong"), ("nhiem vu", "phuong_huong"),
          ("kien nghi", "kien_nghi"), ("de xuat", "kien_nghi"))
MAX_BYTES = 256 * 1024
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_LIST = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+")
_NUMBERING = re.compile(r"^(?:[IVX]+|\d{1,2}|[a-zđ])[.)]\s*", re.IGNORECASE)  # "IV. ", "2. ", "a) "
_INLINE = re.compile(r"(\*\*|__|`)")


def narrative_path(folder: str | Path, stem: str) -> Path:
    """``<folder>/<stem>.md``; ``stem`` is the report file's stem (``2024-Q1``, ``2024-Q1-phuong-1``)."""
    return Path(folder) / f"{stem}.md"


def _section_of(heading: str) -> str | None:
    words = fold(_NUMBERING.sub("", heading.strip()))
    for start, key in _MATCH:
        if words.startswith(start):
            return key
    return None


def _clean(line: str) -> str:
    line = _TAG.sub("", strip_control(line))
    return _INLINE.sub("", line).strip()


def parse_narrative(source: str, name: str) -> dict[str, tuple[str, ...]]:
    """The sections of ``source`` as paragraphs (a list item is its own paragraph, written ``- text``).
    ``name`` is the file as the message shows it."""
    # an HTML comment (the draft's note) is dropped, keeping its lines so line numbers stay right
    source = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    out: dict[str, list[str]] = {}
    current: str | None = None
    para: list[str] = []

    def flush() -> None:
        if para and current is not None:
            out[current].append(" ".join(para))
        para.clear()

    for no, raw in enumerate(source.splitlines(), 1):
        line = raw.strip()
        heading = _HEADING.match(line)
        if heading:
            flush()
            current = _section_of(heading.group(1))
            if current is None:
                raise UsageError(Detail("report.narrative-heading", file=name, line=no, heading=heading.group(1)[:80],
                                      sections=", ".join(SECTIONS.values())))
            out.setdefault(current, [])
        elif not line:
            flush()
        elif current is None:
            raise UsageError(Detail("report.narrative-before-heading", file=name, line=no,
                                  sections=", ".join(SECTIONS.values())))
        elif _LIST.match(line):
            flush()
            item = _clean(_LIST.sub("", line))
            if item:
                para.append(f"- {item}")
        else:
            cleaned = _clean(line)
            if cleaned:
                para.append(cleaned)
    flush()
    return {k: tuple(out[k]) for k in SECTIONS if out.get(k)}


def read_narrative(path: Path, display: str | None = None) -> dict[str, tuple[str, ...]]:
    """The sections of the file at ``path``; ``{}`` when there is none. ``display`` names the file in
    messages (the path relative to the content repository)."""
    name = display or str(path)
    if not path.exists():
        return {}
    if not path.is_file():
        raise UsageError(Detail("report.narrative-unreadable", file=name, reason="not a file"))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(Detail("report.narrative-unreadable", file=name, reason=exc.strerror or str(exc))) from None
    if len(data) > MAX_BYTES:
        raise UsageError(Detail("report.narrative-too-big", file=name, size_kb=len(data) // 1024,
                              max_kb=MAX_BYTES // 1024))
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(Detail("report.narrative-not-utf8", file=name)) from None
    return parse_narrative(source, name)


def _compared(now: int, before: int, what: str) -> str:
    if not before:
        return f"{what} chưa có số liệu để so sánh"
    return f"so với {what} {format_change_vi(now, before)}"


def draft_narrative(report: Report) -> str:
    """A first draft of the sections from the figures, for an official to rewrite."""
    t, lab = report.totals, report.label
    channels = "; ".join(f"{lab('channels', c)}: {format_number_vi(t.by_channel.get(c, 0))}" for c in report.channels)
    lines = [f"<!-- Phần đánh giá của báo cáo {report.period.label_vi}. Loa viết bản nháp này từ số liệu; "
             "hãy sửa lại rồi chạy lại loa report. Giữ các tiêu đề ##. -->", "",
             f"## {SECTIONS['danh_gia']}", "",
             f"Trong {report.period.label_vi} ({report.period.days_prose()}), các đơn vị đã đăng "
             f"{format_number_vi(t.items)} lượt tin, bài ({format_number_vi(t.posts)} tin, bài) trên các kênh thông tin"
             + (f" ({channels})" if channels else "") + "; "
             + _compared(t.items, report.previous.items, "kỳ trước") + ", "
             + _compared(t.items, report.year_ago.items, "cùng kỳ năm trước") + ".", ""]
    if report.activities:
        lines += [f"Các đơn vị đã thực hiện {format_number_vi(sum(a.count for a in report.activities))} sản phẩm, "
                  "hoạt động tuyên truyền trực quan.", ""]
    lines += [f"## {SECTIONS['ton_tai']}", ""]
    behind = [f"- {u.name} chưa đạt chỉ tiêu ("
              + ", ".join(f"{lab('channels', ch)}: {format_number_vi(u.by_channel.get(ch, 0))}/"
                          f"{format_number_vi(u.targets[ch])}" for ch in u.behind) + ")." for u in report.behind]
    if t.failed_open:
        behind.append(f"- Còn {format_number_vi(t.failed_open)} lượt đăng bị lỗi chưa xử lý xong.")
    lines += (behind or ["(Ghi các tồn tại, hạn chế trong kỳ.)"]) + [""]
    lines += [f"## {SECTIONS['nguyen_nhan']}", "", "(Ghi nguyên nhân khách quan và chủ quan.)", "",
              f"## {SECTIONS['phuong_huong']}", "", "Tiếp tục đăng tin, bài trên các kênh thông tin trong kỳ tới; các đơn vị chưa đạt "
              "chỉ tiêu tập trung khắc phục.", "",
              f"## {SECTIONS['kien_nghi']}", "", "(Ghi các kiến nghị, đề xuất, nếu có.)", ""]
    return "\n".join(lines)


def as_context(narrative: Mapping[str, tuple[str, ...]]) -> list[dict]:
    """The sections for templates, in the report's order: ``[{"key", "heading", "paragraphs"}]``."""
    return [{"key": k, "heading": h, "paragraphs": list(narrative[k])} for k, h in SECTIONS.items()
            if narrative.get(k)]
