"""The report as a Word document in the layout of Decree 30/2020/NĐ-CP (Phụ lục I).

A4 portrait, margins 20/20/30/15 mm, Times New Roman (east-asian slot too, so Word on a Vietnamese
system does not substitute), body 14 pt. Two-column borderless header: agency lines bold with a short
rule under them / Quốc hiệu 13 pt bold and Tiêu ngữ 14 pt bold with a rule under it; ``Số:      /BC-UBND``;
the italic place-and-date line; ``BÁO CÁO`` and its summary line; the body from
``templates/report/docx.txt.j2``; ``Nơi nhận:`` and the signature block from config. Page numbers sit
centred in the top margin from page 2 on.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.report.model import Report, date_header_vi
from pipeline.vietnamese import strip_control
from pipeline.report.text import (TABLE_HEADERS, cell_text, context, expand_headers, table_rows,
                                  template_env)

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
WIDTH_MM = 165  # 210 - 30 - 15
LEFT_COL_MM = 62


def _docx():
    try:
        import docx  # python-docx
    except ImportError as exc:  # optional dependency, see pyproject [report]
        raise ImportError("the .docx report requires python-docx: pip install 'loa[report]'") from exc
    return docx


def _fonts(rpr_parent, docx) -> None:
    """Set Times New Roman in every font slot (ascii, hAnsi, east-asian, complex script)."""
    from docx.oxml.ns import qn
    rpr = rpr_parent.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _run(paragraph, text: str, size: float, *, bold=False, italic=False):
    from docx.shared import Pt
    run = paragraph.add_run(strip_control(text))  # XML 1.0 forbids C0 controls; bidi overrides hide text
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    _fonts(run._element, None)
    return run


def _para(container, text: str = "", size: float = BODY_PT, *, bold=False, italic=False, align="center",
          before=0, after=0, indent_cm: float | None = None):
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt
    p = container.add_paragraph()
    p.alignment = {"center": WD_ALIGN_PARAGRAPH.CENTER, "left": WD_ALIGN_PARAGRAPH.LEFT,
                   "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
    pf = p.paragraph_format
    pf.space_before, pf.space_after, pf.line_spacing = Pt(before), Pt(after), 1.0
    if indent_cm is not None:
        pf.first_line_indent = Cm(indent_cm)
    if text:
        _run(p, text, size, bold=bold, italic=italic)
    return p


def _rule(container, width_mm: float, box_mm: float):
    """A solid line ``width_mm`` long, centred in a box ``box_mm`` wide: an empty paragraph with a bottom
    border, narrowed by equal indents (how Word users draw the rules under the header lines)."""
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt
    p = _para(container, "", 2)
    side = max((box_mm - width_mm) / 2, 0)
    p.paragraph_format.left_indent = Mm(side)
    p.paragraph_format.right_indent = Mm(side)
    p.paragraph_format.space_after = Pt(4)
    ppr = p._p.get_or_add_pPr()
    bdr = ppr.makeelement(qn("w:pBdr"), {})
    bottom = bdr.makeelement(qn("w:bottom"), {qn("w:val"): "single", qn("w:sz"): "6", qn("w:space"): "1",
                                               qn("w:color"): "000000"})
    bdr.append(bottom)
    ppr.append(bdr)
    run = p.add_run("")
    run.font.size = Pt(2)
    return p


def _cell_paragraph(cell):
    """Reuse the empty paragraph every new cell has, so cells do not start with a blank line."""
    p = cell.paragraphs[0]
    if not p.text and not p.runs:
        return p
    return cell.add_paragraph()


def _set_widths(table, widths_mm: list[float]) -> None:
    from docx.shared import Mm
    table.autofit = False
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm):
            cell.width = Mm(w)
    for col, w in zip(table.columns, widths_mm):
        col.width = Mm(w)


def _no_borders(table) -> None:
    from docx.oxml.ns import qn
    tbl_pr = table._tbl.tblPr
    borders = tbl_pr.makeelement(qn("w:tblBorders"), {})
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(borders.makeelement(qn(f"w:{edge}"), {qn("w:val"): "nil"}))
    tbl_pr.append(borders)


def _header(doc, ctx) -> None:
    docx = _docx()
    right_mm = WIDTH_MM - LEFT_COL_MM
    table = doc.add_table(rows=2, cols=2)
    _no_borders(table)
    _set_widths(table, [LEFT_COL_MM, right_mm])
    left, right = table.cell(0, 0), table.cell(0, 1)
    first = True
    lines = ctx["org_lines"]
    # Decree 30 sets the agency's name at 12-13 pt: 12 when a line would not fit the column at 13
    # ("PHƯỜNG PHƯỚC THẮNG" broke over two lines), 13 otherwise
    size = 12 if any(len(line) > 17 for i, line in enumerate(lines) if not (ctx["org"].get("unit_header") and i == 0)) else 13
    for i, line in enumerate(lines):
        p = _cell_paragraph(left) if first else left.add_paragraph()
        first = False
        p.alignment = docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = docx.shared.Pt(0)
        # Decree 30: a unit's parent body (cơ quan chủ quản) above it in regular type, the unit in bold
        parent = ctx["org"].get("unit_header") and i == 0 and len(lines) > 1
        _run(p, line.upper(), size, bold=not parent)
    _rule(left, 22, LEFT_COL_MM)
    p = _cell_paragraph(right)
    p.alignment = docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = docx.shared.Pt(0)
    _run(p, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 13, bold=True)
    p = right.add_paragraph()
    p.alignment = docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = docx.shared.Pt(0)
    _run(p, "Độc lập - Tự do - Hạnh phúc", 14, bold=True)
    _rule(right, 56, right_mm)
    p = _cell_paragraph(table.cell(1, 0))
    p.alignment = docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    _run(p, f"Số:      /{ctx['number_symbol']}", 13)
    p = _cell_paragraph(table.cell(1, 1))
    p.alignment = docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    _run(p, f"{ctx['place']}, {date_header_vi(ctx['date'])}", 14, italic=True)


def _table_styles(doc) -> None:
    """Paragraph styles for table cells (Times New Roman from Normal, 12 and 11 pt, no spacing): cells
    then need no per-run font XML, which is what makes a long table slow to build."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt
    for name, size in ((TABLE_STYLE, TABLE_PT), (SMALL_STYLE, 11), (HEAD_STYLE, 10)):
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
        style.font.size = Pt(size)
        pf = style.paragraph_format
        pf.space_before, pf.space_after, pf.line_spacing = Pt(0), Pt(0), 1.0


TABLE_STYLE, SMALL_STYLE, HEAD_STYLE = "Loa Table", "Loa Table Small", "Loa Table Head Small"


def _data_table(doc, report: Report, name: str, headers: list[str], ctx) -> None:
    """A bordered table ("Table Grid"); rows are written as plain WordprocessingML: python-docx's
    per-cell objects are too slow for a list of hundreds of items."""
    from docx.oxml.ns import qn
    from docx.shared import Mm
    from lxml import etree
    rows = table_rows(report, name, ctx["items"] if name == "items" else None)
    heads = expand_headers(report, headers)
    widths = _column_widths(name, heads)
    table = doc.add_table(rows=0, cols=len(heads))
    table.style = doc.styles["Table Grid"]
    table.autofit = False
    for col, width in zip(table.columns, widths):
        col.width = Mm(width)
    twips = [str(round(w / 25.4 * 1440)) for w in widths]
    style = doc.styles[SMALL_STYLE if name in ("items", "units", "audit") else TABLE_STYLE].style_id
    head_style = doc.styles[HEAD_STYLE].style_id if name in ("units", "audit") else style  # channel names must fit
    tbl, sub = table._tbl, etree.SubElement
    W, SPACE = qn("w:val"), "{http://www.w3.org/XML/1998/namespace}space"

    def add(values, bold: bool, head: bool = False) -> None:
        tr = sub(tbl, qn("w:tr"))
        if head:  # repeat the header row on every page
            sub(sub(tr, qn("w:trPr")), qn("w:tblHeader"))
        for (kind, value), width in zip(values, twips):
            tc = sub(tr, qn("w:tc"))
            sub(sub(tc, qn("w:tcPr")), qn("w:tcW"), {qn("w:w"): width, qn("w:type"): "dxa"})
            p = sub(tc, qn("w:p"))
            ppr = sub(p, qn("w:pPr"))
            sub(ppr, qn("w:pStyle"), {W: head_style if head else style})
            sub(ppr, qn("w:jc"), {W: "center" if head else "right" if kind in ("n", "p", "c") else "left"})
            r = sub(p, qn("w:r"))
            if bold:
                sub(sub(r, qn("w:rPr")), qn("w:b"))
            t = sub(r, qn("w:t"), {SPACE: "preserve"})
            t.text = strip_control(cell_text((kind, value)))
            if name == "items" and t.text.startswith(("http://", "https://")):
                t.text = url_breaks(t.text)

    add([("t", h) for h in heads], True, head=True)
    total_last = name in ("channels", "types", "months", "units", "activities") and rows
    for i, row in enumerate(rows):
        add(row[:len(heads)], bool(total_last) and i == len(rows) - 1)  # a template may drop trailing columns
    _para(doc, "", 6)


def _column_widths(name: str, heads: list[str]) -> list[float]:
    """Text columns wide, number columns narrow, always summing to the text width."""
    n = len(heads)
    if name == "items" and n == 6:
        return [22, 26, 46, 22, 34, 15]
    if name == "audit" and n == 9:
        # a date (18/1/2024), a time, "Phê duyệt" and "Lệnh loa approve" need their room (at 16 mm they broke
        # inside a word); the title and the comment wrap between words
        return [21, 24, 16, 15, 17, 15, 21, 19, 17]
    if name == "summary" and n == 6:
        return [46, 18, 18, 31, 21, 31]
    first = {"units": 42, "targets": 45, "activities": 60}.get(name, 70)
    last = 34 if heads[-1] == "Ghi chú" else 0  # a note column
    middle = n - 1 - (1 if last else 0)
    rest = (WIDTH_MM - first - last) / max(middle, 1)
    return [first] + [rest] * middle + ([last] if last else [])


#: after these a URL may break; never inside a run of letters or digits (a word of the address)
_URL_BREAK = re.compile(r"([/.?&=_#])(?=[^/])")


def url_breaks(text: str) -> str:
    """``text`` (URLs) with a zero-width space after each ``/ . ? & = _ #``: Word and LibreOffice
    then wrap a long address at its punctuation, not in the middle of a word (a hyphen already is a
    break). The address under the text is unchanged for a reader who types it."""
    return _URL_BREAK.sub("\\1\u200b", text)


def _body(doc, report: Report, text: str, ctx) -> None:
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[table ") and line.endswith("]"):
            spec = line[7:-1]
            name, _, heads = spec.partition(":")
            name = name.strip()
            headers = [h.strip() for h in heads.split("|")] if heads.strip() else TABLE_HEADERS[name]
            _data_table(doc, report, name, headers, ctx)
        elif line.startswith("> "):  # an official's paragraph: text as written, never a directive
            _para(doc, line[2:], BODY_PT, align="justify", after=6, indent_cm=1)
        elif line.startswith("## "):
            _para(doc, line[3:], BODY_PT, bold=True, italic=True, align="justify", before=6, after=3,
                  indent_cm=1).paragraph_format.keep_with_next = True
        elif line.startswith("# "):
            _para(doc, line[2:], BODY_PT, bold=True, align="justify", before=8, after=4,
                  indent_cm=1).paragraph_format.keep_with_next = True
        else:
            _para(doc, line, BODY_PT, align="justify", after=6, indent_cm=1)


def _signature(doc, ctx) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt
    from docx.oxml.ns import qn
    closing = doc.paragraphs[-1] if doc.paragraphs else None
    if closing is not None and closing._p is doc.element.body[-2]:  # "Trên đây là báo cáo ...", before sectPr
        closing.paragraph_format.keep_with_next = True  # the page that is signed carries text, not only the block
    _para(doc, "", 6).paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    _set_widths(table, [WIDTH_MM * 0.5, WIDTH_MM * 0.5])
    # one row that never splits across pages: the signer's name stays under the title they sign as
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:cantSplit"), {}))
    left, right = table.cell(0, 0), table.cell(0, 1)
    p = _cell_paragraph(left)
    p.alignment = WD_ALIGN_PARAGRAPH.LEFT
    _run(p, "Nơi nhận:", 12, bold=True, italic=True)
    for line in ctx["recipients"]:
        q = left.add_paragraph()
        q.paragraph_format.space_after = Pt(0)
        _run(q, line if line.startswith("-") else f"- {line}", 11)
    first = True
    for line in ctx["signer_lines"]:
        q = _cell_paragraph(right) if first else right.add_paragraph()
        first = False
        q.alignment = WD_ALIGN_PARAGRAPH.CENTER
        q.paragraph_format.space_after = Pt(0)
        _run(q, line, BODY_PT, bold=True)
    for _ in range(4):  # room for the signature and the seal
        right.add_paragraph()
    q = right.add_paragraph()
    q.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(q, ctx["signer_name"], BODY_PT, bold=True)


def _annex(doc, report: Report, ctx) -> None:
    """The approval annex (report/audit.py) on its own page after the signature, as an annex to
    an official document is; nothing when no approval was recorded."""
    from docx.enum.text import WD_BREAK
    if not ctx["audit"]:
        return
    _para(doc).add_run().add_break(WD_BREAK.PAGE)
    _para(doc, ctx["audit_text"]["title"].upper(), BODY_PT, bold=True, after=6)
    _para(doc, ctx["audit_text"]["intro"], BODY_PT, align="justify", after=6, indent_cm=1)
    _data_table(doc, report, "audit", TABLE_HEADERS["audit"], ctx)
    _para(doc, ctx["audit_text"]["cli_note"], 11, italic=True, align="justify", after=6)


def _page_numbers(section) -> None:
    """PAGE field centred in the header, none on page 1 (different first-page header left empty)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = _run(p, "", 13)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            el = run._r.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): kind})
        elif text.strip() == "PAGE":
            el = run._r.makeelement(qn("w:instrText"), {qn("xml:space"): "preserve"})
            el.text = text
        else:
            el = run._r.makeelement(qn("w:t"), {})
            el.text = text
        run._r.append(el)


def write_docx(report: Report, out_path: Path, templates_dir=None) -> None:
    docx = _docx()
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt
    # Line-oriented template: keep the newline after a block tag (blank lines are dropped anyway), so a
    # line ending in {% endif %} never runs into the next one.
    env = template_env(templates_dir, trim_blocks=False)
    ctx = context(report, env)
    body = env.get_template("docx.txt.j2").render(**ctx)

    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _fonts(normal.element, docx)
    lang = normal.element.get_or_add_rPr().makeelement(qn("w:lang"), {qn("w:val"): "vi-VN",
                                                                      qn("w:eastAsia"): "vi-VN"})
    normal.element.get_or_add_rPr().append(lang)
    doc.core_properties.title = strip_control(f"Báo cáo {ctx['title']}")
    doc.core_properties.language = "vi-VN"

    _table_styles(doc)
    _header(doc, ctx)
    _para(doc, "BÁO CÁO", BODY_PT, bold=True, before=12)
    _para(doc, ctx["title"], BODY_PT, bold=True)
    _rule(doc, 30, WIDTH_MM)
    _body(doc, report, body, ctx)
    _signature(doc, ctx)
    _annex(doc, report, ctx)
    _page_numbers(section)
    doc.save(str(out_path))
