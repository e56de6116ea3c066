"""The publish gate, content side: one bad file never stops the others; YAML anchors, aliases and
deep nesting are refused before anything expands them; control characters and bidi overrides are
check errors and never reach what Loa prints or writes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import markdown
import pytest

from pipeline import content
from pipeline.activities import read_activities
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.content import MAX_BODY_DEPTH, read_all, too_deep
from pipeline.frontmatter import read_front_matter
from pipeline.messages import text
from pipeline.vietnamese import CONTROL, escape_control, strip_control
from tests.repo import make_repo, post

ROOT = Path(__file__).resolve().parent.parent
ONLY_PORTAL = dict(channels=["portal"], status="draft")
DEEP_LIST = "Mở đầu.\n\n" + "\n".join("    " * i + "- mục" for i in range(500)) + "\n"
# 9 levels of 9 aliases: about 350 bytes, a billion "lol" once expanded
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def check(tmp_path, monkeypatch, capsys, *args):
    monkeypatch.chdir(tmp_path)
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- 1. one bad file never stops the others ----------------------------------------------------

def test_deeply_nested_list_is_refused_with_its_line_and_the_other_posts_are_checked(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/2024/deep.md": post(id="deep", body=DEEP_LIST, **ONLY_PORTAL),
                         "news/2024/ok.md": post(id="ok", title="Bài bình thường", **ONLY_PORTAL)})
    code, out, err = check(tmp_path, monkeypatch, capsys)
    assert code == 1
    # the list starts on line 17; its 51st line (50 levels of indentation + its marker) is the first too deep
    assert ("content/news/2024/deep.md:67:1: lỗi: danh sách hoặc trích dẫn lồng nhau quá sâu (51 cấp, tối đa 50); "
            "hãy bớt thụt lề hoặc tách thành các danh sách ngắn hơn. Bài này sẽ không được đăng cho đến khi sửa "
            "[post.too-deep]") in out.splitlines()
    assert "ok.md" not in out and "Đã kiểm tra 1 bài: 1 lỗi" in err


def test_too_deep_measures_lists_and_quotes_against_the_limit():
    at_limit = "\n".join("    " * i + "- a" for i in range(MAX_BODY_DEPTH))
    assert too_deep(at_limit) is None
    markdown.markdown(at_limit)  # what is let through renders
    assert too_deep(at_limit + "\n" + "    " * MAX_BODY_DEPTH + "- b") == (MAX_BODY_DEPTH + 1, MAX_BODY_DEPTH)
    assert too_deep("x\n" + "- " * 60 + "a") == (60, 1)
    assert too_deep("> " * 51 + "a") == (51, 0)
    assert too_deep("\t" * 51 + "code") == (51, 0)
    assert too_deep("-" * 200 + "\n" + "*" * 80 + "\n1.5 triệu " * 3) is None  # rules and numbers are not markers


def test_an_unexpected_failure_reading_one_post_becomes_its_problem(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, {"news/2024/a.md": post(id="a", **ONLY_PORTAL),
                          "news/2024/b.md": post(id="b", title="Bài B", body="LỖI\n", **ONLY_PORTAL)})
    real = content.first_paragraph

    def failing(body):
        if "LỖI" in body:
            raise RecursionError("maximum recursion depth exceeded")
        return real(body)

    monkeypatch.setattr(content, "first_paragraph", failing)
    posts, problems = read_all(cfg)
    assert [p.id for p in posts] == ["a"]
    [p] = problems
    assert (p.path, p.line, p.code) == ("content/news/2024/b.md", 1, "file.read-failed")
    assert p.message("vi") == ("Loa gặp lỗi khi đọc tệp này nên đã bỏ qua nó (RecursionError: maximum recursion depth "
                               "exceeded); các tệp khác vẫn được xử lý bình thường. Hãy xem lại chỗ vừa sửa trong tệp "
                               "(ví dụ danh sách lồng nhau quá sâu); nếu vẫn lỗi, gửi tệp này cho bộ phận kỹ thuật")


def test_deep_activity_file_is_refused_and_the_others_are_read(tmp_path):
    acts = tmp_path / "activities"
    acts.mkdir()
    (acts / "a.yaml").write_text("date: 2024-03-02\nunit: phuong-1\nkind: pano\ncount: 3\n", encoding="utf-8")
    (acts / "deep.yaml").write_text("date: 2024-03-02\nunit: phuong-1\nkind: pano\ncount: " + "[" * 3000 + "]" * 3000 + "\n",
                                    encoding="utf-8")
    found, problems = read_activities(tmp_path, {"phuong-1"})
    assert [a.path for a in found] == ["activities/a.yaml"]
    assert problems == [("activities/deep.yaml", 4, "yaml.too-deep", {"limit": 50})]
    assert text("yaml.too-deep", limit=50) == ("dữ liệu YAML lồng nhau quá sâu (quá 50 cấp); hãy viết phẳng lại, "
                                               "mỗi dòng một `khóa: giá trị`")


def test_an_unexpected_failure_in_one_activity_file_stops_only_that_file(tmp_path, monkeypatch):
    from pipeline import activities

    acts = tmp_path / "activities"
    acts.mkdir()
    for name in ("a", "b"):
        (acts / f"{name}.yaml").write_text(f"date: 2024-03-02\nunit: phuong-1\nkind: pano\ncount: 3\nnote: {name}\n")
    real = activities._entry

    def failing(rel, *args):
        if rel.endswith("b.yaml"):
            raise RecursionError("boom")
        return real(rel, *args)

    monkeypatch.setattr(activities, "_entry", failing)
    found, problems = read_activities(tmp_path, {"phuong-1"})
    assert [a.note for a in found] == ["a"]
    assert problems == [("activities/b.yaml", 1, "file.read-failed", {"reason": "RecursionError: boom"})]


# -- 2. YAML anchors and aliases ---------------------------------------------------------------

def test_billion_laughs_in_front_matter_is_refused_fast_and_small():
    tracemalloc.start()
    started = time.perf_counter()
    value, lines, error = read_front_matter("title: Bài\n" + BILLION_LAUGHS + "summary: *i\n")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (value, error.line, error.col, error.code) == (None, 3, 4, "yaml.anchor")
    assert elapsed < 1 and peak < 2_000_000


def test_billion_laughs_post_and_activity_in_loa_check(tmp_path):
    """In a process that may not take more than 1 GB: today's code expanded the aliases when a
    message showed the value."""
    make_repo(tmp_path, {"news/2024/lol.md": "---\nid: lol\n" + BILLION_LAUGHS + "title: *i\n---\n\nNội dung.\n"})
    acts = tmp_path / "content/activities"
    acts.mkdir()
    (acts / "lol.yaml").write_text(BILLION_LAUGHS + "date: *i\nunit: phuong-1\nkind: pano\ncount: 1\n", encoding="utf-8")
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
              "from pipeline.cli import main; sys.exit(main(['check']))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 30
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert ("content/news/2024/lol.md:3:4: lỗi: không được dùng neo hay bí danh YAML (`&a`); hãy xóa `&tên`/`*tên` "
            "và viết đầy đủ giá trị ở từng chỗ [yaml.anchor]") in lines
    assert any(line.startswith("content/activities/lol.yaml:1:1: lỗi:") and line.endswith("[yaml.anchor]") for line in lines)


def test_an_alias_alone_is_refused_too():
    _, _, error = read_front_matter('title: "Bài"\nsummary: *x\n')
    assert error is not None and error.code in ("yaml.anchor", "front.yaml")  # an unknown alias is also a YAML error
    _, _, error = read_front_matter("title: &t Bài\nsummary: *t\n")
    assert (error.line, error.code, error.detail) == (2, "yaml.anchor", "&t")


# -- 3. control characters and bidi overrides ----------------------------------------------------

def test_control_characters_are_errors_with_their_line_and_are_escaped_in_output(tmp_path, monkeypatch, capsys):
    body = "Dòng một.\nDòng hai có \x1b[2J xóa màn hình.\nNgười gửi: \u202eabc\n"
    make_repo(tmp_path, {"news/2024/a.md": post(id="a", title="Tin \x1b[31mđỏ", unit="phuong\u202e-1", body=body, **ONLY_PORTAL)})
    code, out, _ = check(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert not CONTROL.search(out), out
    lines = out.splitlines()
    assert ("content/news/2024/a.md:3:1: lỗi: tiêu đề có ký tự điều khiển vô hình U+001B; hãy xóa ký tự đó (thường do "
            "dán từ Word, PDF hay trang web) và gõ lại chữ ở vị trí này [post.control-char]") in lines
    assert any(line.startswith("content/news/2024/a.md:16:13: lỗi: nội dung bài có ký tự điều khiển vô hình U+001B;")
               for line in lines)
    assert any(line.startswith("content/news/2024/a.md:17:12: lỗi: nội dung bài có ký tự điều khiển vô hình U+202E;")
               for line in lines)
    assert any("`phuong\\u202e-1`" in line and "[post.unknown-unit]" in line for line in lines)  # shown, not obeyed
    code, out, _ = check(tmp_path, monkeypatch, capsys, "--lang", "en", "--format", "json")
    assert "\u202e" not in out and "\\\\u202e" in out
    assert "the title contains the invisible control character U+001B" in out


def test_tab_and_crlf_are_not_control_problems(tmp_path, monkeypatch, capsys):
    text_ = post(id="a", body="Cột\tmột.\nDòng hai.\n", **ONLY_PORTAL).replace("\n", "\r\n")
    make_repo(tmp_path, {"news/2024/a.md": text_.encode("utf-8")})
    code, out, _ = check(tmp_path, monkeypatch, capsys)
    assert "post.control-char" not in out


def test_escape_and_strip():
    assert escape_control("a\x1bb\u202ec\x85\td\n") == "a\\x1bb\\u202ec\\x85\td\n"
    assert escape_control("a\nb", newlines=True) == "a\\x0ab"
    assert strip_control("a\x1b[31mb\u2066c\x9fd\te\n") == "a[31mbcd\te\n"


def test_reports_carry_no_control_characters(tmp_path):
    from pipeline.report import write_report
    from test_report import SPECS, LedgerFactory, fill, report_for

    factory = LedgerFactory("sqlite", tmp_path)
    try:
        ledger = factory.new()
        fill(ledger, [dataclasses.replace(SPECS[0], post_id="đỏ\x1b[31m\u202engược\x07")] + SPECS[1:])  # title "Tin <id>"
        report = report_for(ledger, "2024", items_limit=60)
        for fmt in ("md", "html", "csv", "json", "docx"):
            path = write_report(report, fmt, tmp_path / f"report.{fmt}")
            data = zipfile.ZipFile(path).read("word/document.xml").decode() if fmt == "docx" else path.read_text(encoding="utf-8")
            assert "Tin đỏ[31mngược" in data or fmt in ("md", "html", "docx"), fmt
            assert not CONTROL.search(data.replace("\r\n", "\n")), fmt
            assert "\\u001b" not in data, fmt
    finally:
        factory.close()


def _cfg(tmp_path, posts):
    make_repo(tmp_path, posts)
    return load_config(tmp_path / "config.toml", env={})


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
