"""Reports an official can sign (issue 17): what the signed document says, read back from the PDF.

`loa report` runs on a copy of the sample content repository with a real SQLite ledger; the docx goes
through LibreOffice to PDF (`--format pdf`) and pdftotext reads it back, so every check is on the text
a reader of the printed report sees: channel labels, Decree 09 month labels, the merger said once,
the officials' own sections, the signer, a unit's own header and number symbol, the organisation in
force at the report's date, and URLs that break only at their punctuation. LibreOffice and poppler
are skipped without LOA_REQUIRE_SERVICES=1, and required with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.cli import main
from pipeline.config import ConfigError, load_config
from pipeline.errors import UsageError
from pipeline.ledger import open_ledger
from pipeline.messages import localized
from pipeline.report.narrative import parse_narrative, read_narrative
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LONG_SLUG = "phuong-thang-nhi-nam-2024-khong-co-ho-so-thu-tuc-hanh-chinh-tre-han-va-cong-khai-ket-qua"
NARRATIVE = """## Đánh giá chung
Công tác thông tin được triển khai đồng bộ trên các kênh.

## TỒN TẠI, HẠN CHẾ
- Một số phường đăng tin chưa đều <b>giữa các tháng</b>.
[table items]

## Nguyên nhân
Thiếu nhân lực biên tập tại phường.

## Phương hướng, nhiệm vụ kỳ tới
Duy trì tối thiểu hai tin mỗi tháng.

## Kiến nghị, đề xuất
Đề nghị Sở Nội vụ tổ chức tập huấn.
"""


def local(y, m, d, hh=9, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def publish(ledger, post_id: str, unit: str, at: datetime, channels: dict[str, str]) -> None:
    """One post published on ``channels`` (name -> type) at ``at``, through the ledger's own API."""
    meta = {"title": f"Tin {post_id}", "unit": unit, "type": "news", "topics": ["cchc"], "author": "t"}
    for i, (ch, ctype) in enumerate(sorted(channels.items())):
        when = at + timedelta(minutes=i)
        ledger.ensure(post_id, ch, channel_type=ctype, meta=meta, now=when - timedelta(hours=1))
        ledger.claim(post_id, ch, owner="w", action="create", version="v1", lease=timedelta(minutes=5), now=when,
                     allowed_states=("pending",))
        url = f"https://vungtau.example.gov.vn/news/{at.year}/{LONG_SLUG}.html" if ch == "portal" else \
            f"https://example.test/{ch}/{post_id}"
        ledger.record_success(post_id, ch, owner="w", remote_id=f"{post_id}-{ch}", remote_url=url, version="v1",
                              extra=None, now=when)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The sample repository with a signer, one channel labelled by config, a unit with its own number
    symbol, the officials' sections for 2024-Q1 and a ledger with posts around both cut-offs and the merger."""
    root = tmp_path_factory.mktemp("official")
    shutil.copy(ROOT / "config.toml", root / "config.toml")
    shutil.copytree(ROOT / "content" / "activities", root / "content" / "activities")
    text = (root / "config.toml").read_text("utf-8")
    text = text.replace('signer_name = ""', 'signer_name = "Nguyễn Văn An"')
    text = text.replace('[channels.telegram]\ntype = "telegram"', '[channels.telegram]\ntype = "telegram"\nlabel = "Kênh Telegram UBND"')
    text = text.replace('id = "phuong-1"\nname = "Phường 1"\nkind = "ward"',
                        'id = "phuong-1"\nname = "Phường 1"\nkind = "ward"\nnumber_symbol = "BC-UBND.P1"')
    text = text.replace('place = "Vũng Tàu"\nsigner_lines', 'place = "Vũng Tàu"\nsigner_name = "Trần Thị Bình"\nsigner_lines')
    (root / "config.toml").write_text(text, "utf-8")
    (root / "narrative").mkdir()
    (root / "narrative" / "2024-Q1.md").write_text(NARRATIVE, "utf-8")
    url = f"sqlite:///{root / 'var' / 'loa.db'}"
    (root / "var").mkdir()
    ledger = open_ledger(url, root / "var")
    ledger.migrate(now=local(2023, 1, 1))
    everywhere = {"portal": "static_site", "facebook": "facebook", "zalo": "zalo", "telegram": "telegram"}
    publish(ledger, "jan-under-t2", "phuong-1", local(2024, 1, 20), everywhere)   # Decree 09: "tháng 2"
    publish(ledger, "dec-under-t1", "phuong-2", local(2023, 12, 20), {"portal": "static_site"})
    publish(ledger, "merger-eve", "phuong-1", local(2025, 6, 30, 20), {"portal": "static_site"})
    publish(ledger, "merger-after", "phuong-vung-tau", local(2025, 8, 1), {"portal": "static_site"})
    ledger.close()
    return root, url


def _tools() -> tuple[str, str]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftotext = shutil.which("pdftotext")
    if not (soffice and pdftotext):
        service_missing("LibreOffice (soffice) and poppler-utils (pdftotext) are needed to read the PDF report")
    return soffice, pdftotext


def loa(repo, monkeypatch, *argv) -> int:
    root, url = repo
    monkeypatch.chdir(root)
    monkeypatch.setenv("LOA_LEDGER_URL", url)
    return main(list(argv))


def flat(text: str) -> str:
    """Text without any white space: pdftotext splits justified Vietnamese lines at odd places
    ("h ợp nhất"), so phrases are compared with every space and line break removed."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    _soffice, pdftotext = _tools()
    out = subprocess.run([pdftotext, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, timeout=60)
    text = out.stdout.decode("utf-8").replace("\u200b", "")
    return re.sub(r"[ \t]+", " ", text)


@pytest.fixture(scope="module")
def pdfs(repo, tmp_path_factory):
    """The three reports as PDF: the city's 2024-Q1 dated in 2024, the 2025-Q3 report dated today (after
    the merger), and Phường 1's own 2024-Q1 report."""
    _tools()
    mp = pytest.MonkeyPatch()
    try:
        assert loa(repo, mp, "report", "--period", "2024-Q1", "--format", "pdf", "--now", "2024-03-16 09:00") == 0
        assert loa(repo, mp, "report", "--period", "2025-Q3", "--format", "pdf", "--format", "docx",
                   "--now", "2026-12-02 09:00") == 0
        assert loa(repo, mp, "report", "--period", "2024-Q1", "--unit", "phuong-1", "--format", "pdf",
                   "--now", "2024-03-16 09:00") == 0
    finally:
        mp.undo()
    reports = repo[0] / "reports"
    return {name: pdf_text(reports / f"{name}.pdf") for name in ("2024-Q1", "2025-Q3", "2024-Q1-phuong-1")}


def test_channels_are_named_by_their_labels(pdfs):
    q1 = pdfs["2024-Q1"]
    for label in ("Cổng Thông tin điện tử", "Trang Facebook", "Zalo OA", "Kênh Telegram UBND"):
        assert flat(label) in flat(q1), label
    assert not re.search(r"^(portal|facebook|zalo|telegram)\b", q1, re.M)  # no config key as a row name


def test_decree_09_months_say_their_dates(pdfs):
    q1 = pdfs["2024-Q1"]
    for month in ("Tháng 1 (15/12/2023-14/01/2024)", "Tháng 2 (15/01-14/02)", "Tháng 3 (15/02-14/03)"):
        assert flat(month) in flat(q1), month


def test_the_merger_is_said_once_and_only_near_it(pdfs):
    q3 = pdfs["2025-Q3"]
    sentence = "Phường Thắng Nhì, Phường Thắng Tam hợp nhất thành Phường Vũng Tàu"
    assert flat(q3).count(flat(sentence)) == 1
    assert flat(q3).count(flat("Ghi chú về đơn vị")) == 1
    assert flat("hợp nhất") not in flat(pdfs["2024-Q1"]) and "30/6/2025" not in pdfs["2024-Q1"]


def test_the_officials_sections_are_in_the_document(pdfs):
    q1 = pdfs["2024-Q1"]
    for heading, words in (("IV. ĐÁNH GIÁ CHUNG", "Công tác thông tin được triển khai đồng bộ"),
                           ("V. TỒN TẠI, HẠN CHẾ", "- Một số phường đăng tin chưa đều giữa các tháng."),
                           ("VI. NGUYÊN NHÂN", "Thiếu nhân lực biên tập tại phường."),
                           ("VII. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", "Duy trì tối thiểu hai tin mỗi tháng."),
                           ("VIII. KIẾN NGHỊ, ĐỀ XUẤT", "Đề nghị Sở Nội vụ tổ chức tập huấn.")):
        assert flat(heading) in flat(q1) and flat(words) in flat(q1), heading
    assert flat("IX. DANH SÁCH TIN, BÀI") in flat(q1)
    assert "[table items]" in q1  # an official's line is text, never a directive of the layout
    assert "<b>" not in q1
    assert flat("ĐÁNH GIÁ CHUNG") not in flat(pdfs["2025-Q3"])  # no file for that period: no empty sections


def test_signer_and_organisation_at_the_report_date(pdfs):
    q1, q3 = pdfs["2024-Q1"], pdfs["2025-Q3"]
    q1, q3 = flat(q1), flat(q3)
    for words in ("THÀNH PHỐ VŨNG TÀU", "Nguyễn Văn An", "PHÓ CHỦ TỊCH", "Vũng Tàu, ngày 16 tháng 3 năm 2024"):
        assert flat(words) in q1, words
    # dated after 1/7/2025: the ward of Thành phố Hồ Chí Minh issues it, not the city that no longer exists
    assert flat("PHƯỜNG VŨNG TÀU") in q3 and flat("THÀNH PHỐ VŨNG TÀU") not in q3
    assert flat("Trần Thị Bình") in q3 and flat("Nguyễn Văn An") not in q3
    assert flat("Sở Nội vụ Thành phố Hồ Chí Minh") in q3 and flat("Bà Rịa") not in q3


def test_a_unit_report_has_its_own_header_and_number(pdfs):
    unit = pdfs["2024-Q1-phuong-1"]
    head = flat(unit[:unit.index("BÁO CÁO")])
    assert flat("PHƯỜNG 1") in head and flat("ỦY BAN NHÂN DÂN THÀNH PHỐ VŨNG TÀU") in head
    assert "/BC-UBND.P1" in head
    assert "/BC-UBND.P1" not in pdfs["2024-Q1"]


def test_the_signature_block_is_never_split_from_its_signer(pdfs, repo):
    """The signer's name stays on the page of the title they sign as, with the closing sentence
    (a report of the sample once printed "PHÓ CHỦ TỊCH" on one page and the name alone on the next)."""
    docx = pytest.importorskip("docx")
    from docx.oxml.ns import qn
    doc = docx.Document(repo[0] / "reports" / "2025-Q3.docx")
    block = next(t for t in doc.tables if "Nơi nhận:" in t.cell(0, 0).text)
    assert block.rows[0]._tr.trPr is not None and block.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None
    closing = next(p for p in doc.paragraphs if p.text.startswith("Trên đây là báo cáo"))
    assert closing.paragraph_format.keep_with_next
    for name, signer in (("2024-Q1", "Nguyễn Văn An"), ("2025-Q3", "Trần Thị Bình")):
        page = next(p for p in pdfs[name].split("\f") if flat(signer) in flat(p))
        assert flat("PHÓ CHỦ TỊCH") in flat(page) and flat("Trên đây là báo cáo") in flat(page), name


def url_pattern(url: str) -> re.Pattern:
    """``url`` as printed in a narrow cell: a line may end only after its punctuation (pdftotext drops
    a hyphen that ends a line), never between two letters or digits."""
    parts = []
    for ch in url:
        parts.append("-?" if ch == "-" else re.escape(ch))
        if ch in "/.-_?&=#":
            parts.append(r"\s*")
    return re.compile("".join(parts))


def test_urls_break_only_at_their_punctuation(pdfs):
    q1 = pdfs["2024-Q1"]
    url = f"https://vungtau.example.gov.vn/news/2024/{LONG_SLUG}.html"
    assert url_pattern(url).search(q1), "the portal link is broken inside a word"
    assert "\n" in url_pattern(url).search(q1).group(0)  # it did need more than one line
    assert not url_pattern("https://vungtau.example").search("https://vungt\nau.example")  # the check can fail


def test_xlsx_dates_are_dates_and_types_are_labels(repo, monkeypatch):
    openpyxl = pytest.importorskip("openpyxl")
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q1", "--format", "xlsx", "--now", "2024-03-16 09:00") == 0
    wb = openpyxl.load_workbook(repo[0] / "reports" / "2024-Q1.xlsx")
    ws = wb["Danh sách"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[1].value == "jan-under-t2")
    date_cell = row[header.index("Ngày")]
    assert date_cell.is_date and date_cell.value == datetime(2024, 1, 20, 9, 0)
    assert date_cell.number_format == "dd/mm/yyyy hh:mm"
    assert row[header.index("Loại")].value == "Tin tức"


def test_draft_narrative_never_overwrites_without_force(repo, monkeypatch, capsys):
    root = repo[0]
    target = root / "narrative" / "2024-Q2.md"
    target.unlink(missing_ok=True)
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q2", "--draft-narrative") == 0
    draft = target.read_text("utf-8")
    assert "## Đánh giá chung" in draft and "## Kiến nghị, đề xuất" in draft
    assert set(parse_narrative(draft, "x")) == {"danh_gia", "ton_tai", "nguyen_nhan", "phuong_huong", "kien_nghi"}
    target.write_text("## Đánh giá chung\nLời của cán bộ.\n", "utf-8")
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q2", "--draft-narrative") == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text("utf-8") == "## Đánh giá chung\nLời của cán bộ.\n"
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q2", "--draft-narrative", "--force") == 0
    assert "Lời của cán bộ" not in target.read_text("utf-8")


def test_a_bad_narrative_file_is_named_with_its_line(tmp_path):
    bad = tmp_path / "2024-Q1.md"
    bad.write_text("## Đánh giá chung\nỔn.\n\n## Thành tích nổi bật\nx\n", "utf-8")
    with pytest.raises(UsageError, match=r"narrative/2024-Q1.md, line 4: .*Thành tích nổi bật") as err:
        read_narrative(bad, "narrative/2024-Q1.md")
    said = localized(err.value.args[0], "vi")  # what loa prints by default
    assert said.startswith("narrative/2024-Q1.md, dòng 4: tiêu đề «Thành tích nổi bật»") and "Kiến nghị, đề xuất" in said
    bad.write_bytes("## Đánh giá chung\n".encode("cp1258"))
    with pytest.raises(UsageError, match="UTF-8"):
        read_narrative(bad, "narrative/2024-Q1.md")
    bad.write_text("Chữ trước tiêu đề\n## Đánh giá chung\n", "utf-8")
    with pytest.raises(UsageError, match="line 1"):
        read_narrative(bad, "narrative/2024-Q1.md")
    assert read_narrative(tmp_path / "none.md") == {}


def test_narrative_is_escaped_in_html_and_markdown(repo, monkeypatch, tmp_path):
    root = repo[0]
    (root / "narrative" / "2024-Q3.md").write_text(
        "## Kiến nghị\n<script>alert(1)</script> [bấm](javascript:x) & <img src=x onerror=y>\n", "utf-8")
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q3", "--format", "html", "--format", "md") == 0
    html = (root / "reports" / "2024-Q3.html").read_text("utf-8")
    md = (root / "reports" / "2024-Q3.md").read_text("utf-8")
    assert "<script>" not in html and "<img" not in html and "alert(1) [bấm](javascript:x) &amp;" in html
    assert "\\[bấm\\](javascript:x)" in md and "<img" not in md


def test_pdf_without_libreoffice_says_how_to_install_it(repo, monkeypatch, capsys):
    monkeypatch.setenv("LOA_SOFFICE", "/nonexistent/soffice")
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q1", "--format", "pdf", "--out", "elsewhere") == 2
    err = capsys.readouterr().err
    assert "LibreOffice" in err and "apt-get install -y libreoffice-writer" in err
    assert not (repo[0] / "elsewhere" / "2024-Q1.pdf").exists()


def test_pdf_without_libreoffice_does_not_stop_the_other_formats(repo, monkeypatch, capsys):
    monkeypatch.setenv("LOA_SOFFICE", "/nonexistent/soffice")
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q1", "--format", "pdf", "--format", "docx",
               "--out", "elsewhere") == 1  # it wrote neither file
    out, err = capsys.readouterr()
    assert (repo[0] / "elsewhere" / "2024-Q1.docx").is_file() and "2024-Q1.docx" in out
    assert not (repo[0] / "elsewhere" / "2024-Q1.pdf").exists()
    assert "loa: báo cáo dạng pdf KHÔNG được ghi: xuất PDF cần LibreOffice" in err, err


def test_old_config_without_dates_keeps_its_organisation(tmp_path):
    text = (ROOT / "config.toml").read_text("utf-8")
    start = text.index("valid_to = 2025-06-30\n\n# From 1/7/2025")
    end = text.index("[[units]]")
    (tmp_path / "config.toml").write_text(text[:start] + "\n" + text[end:], "utf-8")
    cfg = load_config(tmp_path / "config.toml")
    assert cfg.organization_at(datetime(2026, 12, 2).date()).name_lines == ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ VŨNG TÀU")


@pytest.mark.parametrize("edit, key", [
    (('[channels.zalo]\ntype = "zalo"', '[channels.zalo]\ntype = "zalo"\nlabel = "  "'), "channels.zalo.label"),
    (('[channels.zalo]\ntype = "zalo"', '[channels.zalo]\ntype = "zalo"\nlabel = "Zalo\\u202eOA"'), "channels.zalo.label"),
    (("valid_from = 2025-07-01\nname_lines = [\"ỦY BAN NHÂN DÂN\", \"PHƯỜNG VŨNG TÀU\"]",
      "valid_from = 2025-06-01\nname_lines = [\"ỦY BAN NHÂN DÂN\", \"PHƯỜNG VŨNG TÀU\"]"), "organization.history"),
])
def test_config_refuses_bad_labels_and_overlapping_organisations(tmp_path, edit, key):
    text = (ROOT / "config.toml").read_text("utf-8")
    assert edit[0] in text
    (tmp_path / "config.toml").write_text(text.replace(edit[0], edit[1], 1), "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.toml")
    assert any(k == key for k, _ in err.value.errors), err.value.errors


def test_default_labels_are_vietnamese_names_of_the_channel_types():
    from pipeline.report import channel_labels
    cfg = load_config(ROOT / "config.toml")
    labels = channel_labels(cfg.channels)
    expected = {"portal": "Cổng Thông tin điện tử", "facebook": "Trang Facebook", "zalo": "Zalo OA",
                "telegram": "Telegram", "mastodon": "Mastodon"}
    assert {k: labels[k] for k in expected} == expected


def test_narrative_never_leads_outside_the_repository(repo, monkeypatch, tmp_path, capsys):
    root = repo[0]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "2024-Q4.md").write_text("## Kiến nghị\nbí mật ngoài kho\n", "utf-8")
    link = root / "narrative" / "2024-Q4.md"
    link.symlink_to(outside / "2024-Q4.md")
    try:
        assert loa(repo, monkeypatch, "report", "--period", "2024-Q4", "--format", "md") == 2
        assert "narrative/2024-Q4.md" in capsys.readouterr().err
        assert loa(repo, monkeypatch, "report", "--period", "2024-Q4", "--draft-narrative", "--force") == 2
        assert (outside / "2024-Q4.md").read_text("utf-8") == "## Kiến nghị\nbí mật ngoài kho\n"
    finally:
        link.unlink()
    text = (ROOT / "config.toml").read_text("utf-8").replace("[report]\n", '[report]\nnarrative_dir = "../x"\n', 1)
    (tmp_path / "config.toml").write_text(text, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.toml")
    assert any(k == "report.narrative_dir" for k, _ in err.value.errors)


def test_unit_header_for_a_department_and_for_the_issuing_ward():
    from pipeline.report import issuer
    cfg = load_config(ROOT / "config.toml")
    dept = issuer(cfg, datetime(2024, 3, 16).date(), "phong-vhtt")
    assert dept["name_lines"] == ["ỦY BAN NHÂN DÂN THÀNH PHỐ VŨNG TÀU", "Phòng Văn hóa và Thông tin"]
    assert dept["unit_header"] and dept["number_symbol"] == "BC-UBND"
    ward = issuer(cfg, datetime(2026, 12, 2).date(), "phuong-vung-tau")  # the ward is the issuer then
    assert ward["name_lines"] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG VŨNG TÀU"] and not ward.get("unit_header")
    assert issuer(cfg, datetime(2026, 12, 2).date())["recipients"][0] == "Sở Nội vụ Thành phố Hồ Chí Minh;"


def test_a_unit_report_written_after_the_merger_is_headed_by_the_body_that_exists_then():
    """Phường 11 ended on 30/6/2025 (merged into Phường Phước Thắng): its 2024 report written today is
    headed by Phường Phước Thắng, not by a ward that no longer exists nor put under Phường Vũng Tàu."""
    from pipeline.report import issuer
    cfg = load_config(ROOT / "config.toml")
    today, then = datetime(2026, 12, 2).date(), datetime(2024, 3, 16).date()
    assert issuer(cfg, today, "phuong-11")["name_lines"] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG PHƯỚC THẮNG"]
    assert issuer(cfg, then, "phuong-11")["name_lines"] == ["ỦY BAN NHÂN DÂN THÀNH PHỐ VŨNG TÀU", "Phường 11"]
    assert issuer(cfg, today, "phuong-thang-tam")["name_lines"] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG VŨNG TÀU"]
    # the city's office was dissolved with no successor: the organisation of the report's date writes it
    office = issuer(cfg, today, "ubnd")
    assert office["name_lines"] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG VŨNG TÀU"] and not office.get("unit_header")
    assert issuer(cfg, then, "ubnd")["name_lines"] == ["ỦY BAN NHÂN DÂN THÀNH PHỐ VŨNG TÀU", "Văn phòng HĐND và UBND thành phố"]
    for unit in cfg.units:  # no report written today carries the city that no longer exists
        head = " ".join(issuer(cfg, today, unit)["name_lines"]).upper()
        assert "THÀNH PHỐ VŨNG TÀU" not in head, unit
        if cfg.units[unit].kind in ("ward", "commune"):  # a ward is not under another ward
            assert head.count("PHƯỜNG") + head.count("XÃ ") == 1, (unit, head)


def test_the_html_report_says_the_decree_09_months_with_their_dates(repo, monkeypatch):
    """The chart under the months says T1, T2, T3; the table beside it gives each month's dates, so a
    January item under "tháng 2" reads as the cut-off, not as an error (the html had the chart only)."""
    assert loa(repo, monkeypatch, "report", "--period", "2024-Q1", "--format", "html", "--now", "2024-03-16 09:00") == 0
    page = (repo[0] / "reports" / "2024-Q1.html").read_text("utf-8")
    rows = re.findall(r"<tr><td>(Tháng [^<]+)</td><td class=\"n\">(\d+)</td></tr>", page)
    assert rows == [("Tháng 1 (15/12/2023-14/01/2024)", "1"), ("Tháng 2 (15/01-14/02)", "4"), ("Tháng 3 (15/02-14/03)", "0")]
