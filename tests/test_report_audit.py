"""The report's approval annex (pipeline/report/audit.py): console approvals with the signed-in
account, ``loa approve`` approvals with the board member's name, sent-back posts with the comment,
the unit filter, and hostile titles in every format people read. Real ledgers (SQLite, PostgreSQL),
real publishing to the sample's static portal."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timezone

import pytest

from pipeline.app import Session
from pipeline.cli import main
from pipeline.config import load_config
from tests.repo import make_repo, post

HOSTILE = "<script>alert(1)</script> | **đậm** [x](javascript:1)"
A, B, C, D, E = ("20240210-aaaaaa", "20240210-bbbbbb", "20240210-cccccc", "20240210-dddddd", "20240210-eeeeee")


def _posts() -> dict[str, str]:
    at = "2024-02-10 08:00"
    return {
        "news/a.md": post(id=A, title="Bài A duyệt trên web", publish_at=at, unit="phuong-1"),
        "news/b.md": post(id=B, title="Bài B duyệt bằng lệnh", publish_at=at, unit="phuong-2"),
        "news/c.md": post(id=C, title="Bài C bị trả lại", publish_at=at, unit="phuong-1"),
        "news/d.md": post(id=D, title=HOSTILE, publish_at=at, unit="phuong-1"),
        # approved in the quarter, published in the next: not in this quarter's annex
        "news/e.md": post(id=E, title="Bài E đăng quý sau", publish_at="2024-04-10 08:00", unit="phuong-1"),
    }


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def repo(tmp_path, ledger_url):
    """The sample config (the portal needs the board's approval) with the posts above, approved,
    sent back and published in 2024-Q1; returns (config, session clock)."""
    root = make_repo(tmp_path / "repo", _posts())
    cfg = dataclasses.replace(load_config(root / "config.toml"), ledger_url=ledger_url)
    news = root / "content" / "news"
    clock = Clock(datetime(2024, 2, 1, 2, 0, tzinfo=timezone.utc))
    with Session.open(cfg, clock=clock) as s:
        assert s.approve(news / "a.md", "Trần Văn Hùng", account="hung")[1]["approved_by"] == "Trần Văn Hùng"
        clock.at = datetime(2024, 2, 2, 3, 15, tzinfo=timezone.utc)
        post_c, event = s.send_back(news / "c.md", "lê thị  mai", "Sửa lại | tên <b>đơn vị</b>", account="mai")
        assert event.actor == "Lê Thị Mai"
        (news / "c.md").write_text((news / "c.md").read_text(encoding="utf-8").replace("năm 2024.", "năm 2024 ở Phường 1."),
                                   encoding="utf-8")
        clock.at = datetime(2024, 2, 3, 4, 30, tzinfo=timezone.utc)
        assert isinstance(s.approve(news / "c.md", "Lê Thị Mai", account="mai")[1], dict)
        assert isinstance(s.approve(news / "d.md", "Phạm Quốc Bảo", account="bao")[1], dict)
        assert isinstance(s.approve(news / "e.md", "Trần Văn Hùng", account="hung")[1], dict)
    # ``loa approve`` on a board member's PC: no ledger event, only the front matter
    assert main(["--config", str(root / "config.toml"), "approve", str(news / "b.md"), "--by", "Lê Thị Mai"]) == 0
    with Session.open(cfg, clock=clock) as s:
        assert s.ledger.events(post_id=B, kinds=("approve",)) == []
        clock.at = datetime(2024, 2, 10, 2, 0, tzinfo=timezone.utc)
        s.publish(clock.at)
        assert {s.ledger.get(p, "portal").state for p in (A, B, C, D)} == {"published"}
    return cfg, clock


def _report(cfg, **kw):
    with Session.open(cfg) as s:
        return s.report("2024-Q1", now=datetime(2024, 4, 2, 1, 0, tzinfo=timezone.utc), **kw)


def test_the_annex_lists_each_approval_with_who_when_and_through_what(repo):
    cfg, _ = repo
    rows = _report(cfg).audit
    seen = [(r.post_id, r.action, r.by, r.account, r.frontend) for r in rows]
    assert seen == [
        (A, "approve", "Trần Văn Hùng", "hung", "console"),
        (B, "approve", "Lê Thị Mai", None, "cli"),
        (C, "send_back", "Lê Thị Mai", "mai", "console"),
        (C, "approve", "Lê Thị Mai", "mai", "console"),
        (D, "approve", "Phạm Quốc Bảo", "bao", "console"),
    ]
    by_post = {(r.post_id, r.action): r for r in rows}
    tz = cfg.tz
    assert by_post[(A, "approve")].at == datetime(2024, 2, 1, 9, 0, tzinfo=tz)
    assert by_post[(B, "approve")].at is None  # not recorded by Loa: the commit is its record
    assert by_post[(C, "send_back")].comment == "Sửa lại | tên <b>đơn vị</b>"
    assert by_post[(C, "send_back")].at == datetime(2024, 2, 2, 10, 15, tzinfo=tz)
    assert by_post[(C, "approve")].comment is None
    assert {r.published.date().isoformat() for r in rows} == {"2024-02-10"}


def test_a_unit_report_lists_only_that_units_posts(repo):
    cfg, _ = repo
    assert [(r.post_id, r.frontend) for r in _report(cfg, unit="phuong-2").audit] == [(B, "cli")]
    assert {r.post_id for r in _report(cfg, unit="phuong-1").audit} == {A, C, D}


def test_the_annex_is_frozen_at_the_period_end_and_as_of(repo):
    cfg, clock = repo
    with Session.open(cfg, clock=clock) as s:  # a send-back after the quarter does not change it
        clock.at = datetime(2024, 4, 5, 1, 0, tzinfo=timezone.utc)
        s.send_back(cfg.root / "content/news/a.md", "Lê Thị Mai", "quá hạn", account="mai")
    assert ("quá hạn" not in {r.comment for r in _report(cfg).audit})
    early = _report(cfg, as_of=datetime(2024, 2, 2, 0, 0, tzinfo=timezone.utc)).audit
    assert early == ()  # nothing was published yet at that time


def test_every_format_shows_the_annex_and_escapes_titles(repo, tmp_path):
    cfg, _ = repo
    out = tmp_path / "out"
    with Session.open(cfg) as s:
        _rep, written = s.write_report("2024-Q1", ["md", "html", "docx", "json"], out,
                                       now=datetime(2024, 4, 2, 1, 0, tzinfo=timezone.utc))
    md, html, docx_path, js = written
    md_text = md.read_text(encoding="utf-8")
    annex = md_text.split("## PHỤ LỤC: NHẬT KÝ PHÊ DUYỆT TIN, BÀI")[1]
    assert "| Ngày đăng | Tiêu đề | Đơn vị | Thao tác | Thành viên BBT | Tài khoản | Thời điểm | Qua | Ý kiến |" in annex
    assert "| 10/2/2024 | Bài A duyệt trên web | Phường 1 | Phê duyệt | Trần Văn Hùng | hung | 09:00 1/2/2024 | Bảng điều khiển web |  |" in annex
    assert "| Lệnh loa approve |" in annex and "| không ghi nhận |" in annex
    assert "Sửa lại \\| tên \\<b\\>đơn vị\\</b\\>" in annex
    assert "\\<script\\>alert(1)\\</script\\> \\| \\*\\*đậm\\*\\* \\[x\\](javascript:1)" in annex
    assert "<script>" not in md_text
    # every table row of the annex has its nine cells, whatever a title or comment holds
    table = [line for line in annex.splitlines() if line.startswith("| ")]
    assert len(table) == 6 and {line.replace("\\|", "").count("|") for line in table} == {10}

    page = html.read_text(encoding="utf-8")
    annex = page.split("PHỤ LỤC: NHẬT KÝ PHÊ DUYỆT TIN, BÀI")[1]
    assert "<td>hung</td>" in annex and "<td>Lệnh loa approve</td>" in annex
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in annex and "<script>" not in page
    assert "tên &lt;b&gt;đơn vị&lt;/b&gt;" in annex

    import docx
    doc = docx.Document(str(docx_path))
    cells = [[c.text for c in row.cells] for row in doc.tables[-1].rows]
    assert cells[0][:5] == ["Ngày đăng", "Tiêu đề", "Đơn vị", "Thao tác", "Thành viên BBT"]
    assert ["10/2/2024", HOSTILE, "Phường 1", "Phê duyệt", "Phạm Quốc Bảo", "bao", "11:30 3/2/2024",
            "Bảng điều khiển web", ""] in cells
    assert any(p.text == "PHỤ LỤC: NHẬT KÝ PHÊ DUYỆT TIN, BÀI" for p in doc.paragraphs)

    data = json.loads(js.read_text(encoding="utf-8"))
    assert [(a["post_id"], a["action"], a["account"], a["frontend"]) for a in data["audit"]][:2] == [
        (A, "approve", "hung", "console"), (B, "approve", None, "cli")]
    assert data["audit"][0]["at"] == "2024-02-01T09:00:00+07:00" and data["audit"][1]["at"] is None


def test_no_annex_when_nothing_was_approved(tmp_path, ledger_url):
    root = make_repo(tmp_path / "repo", {"news/a.md": post(id=A, publish_at="2024-02-10 08:00")})
    cfg = dataclasses.replace(load_config(root / "config.toml"), ledger_url=ledger_url)
    with Session.open(cfg) as s:
        s.ledger.add_event("send_back", post_id=A, actor="Lê Thị Mai", version="x", detail={"comment": "c"},
                           now=datetime(2024, 2, 1, tzinfo=timezone.utc))
        rep, [md] = s.write_report("2024-Q1", ["md"], tmp_path / "out", now=datetime(2024, 4, 2, tzinfo=timezone.utc))
    assert rep.audit == () and "PHỤ LỤC" not in md.read_text(encoding="utf-8")  # not published: not listed


def test_the_printed_annex_breaks_no_date_or_word(repo, tmp_path):
    """Through LibreOffice, as the official prints it: at 16 mm the date column read "10/2/20" over
    "24" and the front end "approv" over "e"."""
    import shutil
    import subprocess

    from tests.conftest import service_missing
    if not ((shutil.which("soffice") or shutil.which("libreoffice")) and shutil.which("pdftotext")):
        service_missing("LibreOffice (soffice) and poppler-utils (pdftotext) are needed to read the PDF report")
    cfg, _ = repo
    with Session.open(cfg) as s:
        _rep, written = s.write_report("2024-Q1", ["pdf"], tmp_path / "out", now=datetime(2024, 4, 2, 1, 0, tzinfo=timezone.utc))
    text = subprocess.run(["pdftotext", "-layout", str(written[0]), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode("utf-8")
    annex = text.split("PHỤ LỤC: NHẬT KÝ PHÊ DUYỆT TIN, BÀI")[1]
    assert "Lệnh loa" in annex and re.search(r"\bapprove\b", annex), annex
    assert len(re.findall(r"\b10/2/2024\b", annex)) == 5, annex  # A, B, C twice and D, each date whole
    assert re.search(r"\b1/2/2024\b", annex) and re.search(r"\b3/2/2024\b", annex), annex  # the times too
    assert "duyệ\n" not in annex.replace(" ", "") and len(re.findall(r"\bduyệt\b", annex)) >= 4, annex  # Phê duyệt


def test_a_post_sent_only_to_the_loudspeaker_is_in_the_annex(tmp_path, ledger_url):
    """A loudspeaker-only post has no ledger row of its own, only its broadcast items
    (``<post>@<station>@<slot>``): its approval was missing from the annex. It counts from its first
    broadcast: a guide repeated over the quarter's end is in the first quarter's annex only."""
    from tests.test_loudspeaker import config as loudspeaker_config, news

    text = loudspeaker_config().replace('channels = ["portal", "loudspeaker"]', 'channels = ["loudspeaker"]')
    text = text.replace("require_approval = []", 'require_approval = ["loudspeaker"]')
    web, cli = news(1, when="2024-03-10 07:00"), news(2, when="2024-03-10 07:00")
    repeated = news(3, when="2024-03-14 07:00", type="guide")  # 2024-Q1 ends on 15/3 (decree 09)
    root = make_repo(tmp_path / "repo", {"a.md": web, "b.md": cli, "c.md": repeated}, config=text)
    cfg = dataclasses.replace(load_config(root / "config.toml", env={}), ledger_url=ledger_url)
    ids = {name: re.search(r"^id: \"?([\w-]+)", body, re.M).group(1) for name, body in
           (("web", web), ("cli", cli), ("repeated", repeated))}
    clock = Clock(datetime(2024, 3, 1, 2, 0, tzinfo=timezone.utc))
    with Session.open(cfg, clock=clock) as s:
        s.approve(root / "content/a.md", "Lê Thị Mai", account="mai")
        s.approve(root / "content/c.md", "Lê Thị Mai", account="mai")
    assert main(["--config", str(root / "config.toml"), "approve", str(root / "content/b.md"), "--by", "Lê Thị Mai"]) == 0
    with Session.open(cfg, clock=clock) as s:
        for day in (10, 14, 15, 16):  # before each day's 17:30 slot
            when = datetime(2024, 3, day, 10, 5, tzinfo=timezone.utc)
            clock.at = when
            s.publish(when)
        items = [r.post_id for r in s.ledger.rows() if r.state == "published"]
    assert {i.split("@")[0] for i in items} == set(ids.values()), items  # broadcast items only
    assert not any(i in ids.values() for i in items)
    assert any(i.startswith(ids["repeated"]) and "20240316" in i for i in items), items  # a repeat in Q2

    def annex(period):
        with Session.open(cfg) as s:
            return [(r.post_id, r.frontend) for r in
                    s.report(period, now=datetime(2024, 7, 2, 1, 0, tzinfo=timezone.utc)).audit]

    assert sorted(annex("2024-Q1")) == sorted([(ids["web"], "console"), (ids["cli"], "cli"),
                                              (ids["repeated"], "console")])
    assert annex("2024-Q2") == []  # the repeat of a post first broadcast in Q1
