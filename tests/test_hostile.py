"""A corpus of broken and hostile posts, through ``loa publish`` and ``loa run --once``, against
the static portal and a recording webhook channel: nothing with a check error is sent, nothing is
written outside its folder, the good posts beside them go out, no traceback.

Each class of the publish-gate issue has at least one file here (a staff member's mistake or an
attacker's commit); the posts that only need cleaning (raw HTML, a title that looks like a
spreadsheet formula) go out cleaned.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.repo import PNG_1PX, make_repo, post, small_config
from tests.servers.webhook import WebhookServer

CONFIG = small_config(["portal", "hook"]) + """
[channels.portal]
type = "static_site"
[channels.hook]
type = "webhook"
url = "{url}/items"
"""

BILLION_LAUGHS = "---\n" + "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [*a{i-1},*a{i-1},*a{i-1},*a{i-1},*a{i-1},*a{i-1},*a{i-1},*a{i-1},*a{i-1}]" for i in range(1, 10)]
    + ["id: lol", "title: *a9"]) + "\n---\n\nThân bài.\n"


def _nested(depth: int) -> str:
    return "\n".join("  " * i + "- mục" for i in range(depth)) + "\n"


#: file -> (text, should it reach the channels?)
CORPUS: dict[str, tuple[str | bytes, bool]] = {
    "news/good.md": (post(id="good", title="Bài tốt một"), True),
    "news/good2.md": (post(id="good2", title="Bài tốt hai"), True),
    "news/formula.md": (post(id="formula", title='=HYPERLINK("http://evil.example","bấm")'), True),
    "news/html.md": (post(id="html", title="Bài có HTML", body=(
        "Đoạn một.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[bấm](javascript:alert(3))\n\n<style>.portal p {display:none}</style>\n\nĐoạn cuối {: onmouseover=alert(4)}\n")), True),
    "news/no-title.md": (post(id="no-title", title=""), False),
    "news/no-author.md": (post(id="no-author", title="Bài thử no-author", author=None), False),
    "news/unknown-unit.md": (post(id="unknown-unit", title="Bài thử unknown-unit", unit="phuong-khong-co"), False),
    "news/empty-body.md": (post(id="empty-body", title="Bài thử empty-body", body=""), False),
    "news/missing-image.md": (post(id="missing-image", title="Bài thử missing-image", image="khong-co.png", image_alt="Ảnh"), False),
    "news/svg-image.md": (post(id="svg-image", title="Bài thử svg-image", image="x.svg", image_alt="Ảnh"), False),
    "news/x.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', False),
    "news/dup-a.md": (post(id="trung", title="Trùng một"), False),
    "news/dup-b.md": (post(id="trung", title="Trùng hai"), False),
    "news/slug.md": (post(id="slug", title="Bài thử slug", slug="../../../outside"), False),
    "news/type.md": (post(id="type", title="Bài thử type", type="../../outside"), False),
    "news/topic.md": (post(id="topic", title="Bài thử topic", topics=["../../outside"]), False),
    "news/unit.md": (post(id="unit", title="Bài thử unit", unit="../../outside"), False),
    "news/deep.md": (post(id="deep", title="Bài thử deep", body=_nested(500)), False),
    "news/laughs.md": (BILLION_LAUGHS, False),
    "news/control.md": (post(id="control", title="Tiêu đề \x1b[31mđỏ\x1b[0m"), False),
    "news/bidi.md": (post(id="bidi", title="Bài thử bidi", body="Số tài khoản \u202e0987654321\u202c.\n"), False),
    "news/img.png": (PNG_1PX, False),
}


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    with WebhookServer() as server:
        outside = tmp_path / "outside-world"
        outside.mkdir()
        (outside / "keep.html").write_text("do not touch")
        root = make_repo(tmp_path / "repo", {k: v for k, (v, _ok) in CORPUS.items()},
                         config=CONFIG.format(url=server.url))
        monkeypatch.chdir(root)
        yield root, server, outside


def _files(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")}


def _check(root: Path, server: WebhookServer, outside: Path, before_outside: dict, output: str) -> None:
    sent = {item["post_id"] for item in server.items.values()}
    expected = {text_id for text_id in ("good", "good2", "formula", "html")}
    assert sent == expected, sent
    site = root / "site"
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert any(p.startswith("news/") for p in pages)
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        tags = re.findall(r"<[a-zA-Z][^>]*>", html)
        assert not [t for t in tags if re.search(r"\son\w+\s*=|javascript:|data:", t, re.I)], page
        if page == site / "tim-kiem/index.html":  # the search page: Loa's own scripts, nothing else
            assert all(re.fullmatch(r'<script src="(\d{4}-\d{2}\.js|\.\./search\.js)">', t)
                       for t in tags if t.startswith("<script")), page
            html = re.sub(r"<script [^>]*></script>", "", html)
        for bad in ("<script", "<style>.portal", "\x1b", "\u202e"):
            assert bad not in html, (page, bad)
    assert _files(outside) == before_outside
    assert not (root.parent / "outside.html").exists() and not (root / "outside.html").exists()
    assert not list(root.parent.glob("*.html"))
    assert "Traceback" not in output and "internal error" not in output


def test_loa_publish_sends_only_what_passed_the_checks(hostile, capsys):
    root, server, outside = hostile
    before = _files(outside)
    code = main(["publish", "--now", "2024-03-25 09:00"])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    _check(root, server, outside, before, out.out + out.err)
    # loa status names each held file with loa check's words
    assert main(["status", "--now", "2024-03-25 09:00", "--format", "json"]) in (0, 1)
    import json

    st = json.loads(capsys.readouterr().out)
    held = {x["path"] for x in st["held"] if x["reason"] == "check-errors"}
    # files that cannot even be read as a post, or that name no channel, are listed apart
    unusable = {x["path"]: x["problems"] for x in st["unusable"]}
    for name in ("no-title", "unknown-unit", "empty-body", "missing-image", "dup-a", "dup-b", "slug",
                 "control", "bidi", "svg-image", "topic", "unit", "no-author"):
        assert f"content/news/{name}.md" in held, name
    assert any("[post.unknown-type]" in line for line in unusable["content/news/type.md"])
    assert any("[post.too-deep]" in line for line in unusable["content/news/deep.md"])
    assert any("[yaml.anchor]" in line for line in unusable["content/news/laughs.md"])
    # no terminal output carries a control character (the titles are shown escaped)
    from pipeline.vietnamese import CONTROL

    assert main(["status", "--now", "2024-03-25 09:00"]) in (0, 1)
    text = capsys.readouterr()
    assert "\\x1b[31m" in text.out and not CONTROL.search(text.out + text.err)
    assert main(["log", "--format", "csv"]) == 0 and not CONTROL.search(capsys.readouterr().out.replace("\r\n", "\n"))
    assert main(["publish", "--now", "2024-03-25 10:00"]) in (0, 1)
    assert server.creates == 4  # nothing twice
    # loa check agrees: every held file has an error, every sent one has none
    main(["check", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    with_errors = {p["path"] for p in report["problems"] if p["severity"] == "error"}
    assert held | set(unusable) <= with_errors
    assert not {f"content/news/{n}.md" for n in ("good", "good2", "formula", "html")} & with_errors
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", json.dumps(report, ensure_ascii=True).encode().decode("unicode_escape"))


def test_loa_run_once_does_the_same(hostile, capsys, caplog):
    root, server, outside = hostile
    before = _files(outside)
    os.environ.pop("LOA_ACTOR", None)
    code = main(["run", "--once"])
    out = capsys.readouterr()
    assert code == 0, out.err
    _check(root, server, outside, before, out.out + out.err + caplog.text)
    assert "check errors" in caplog.text
