"""loa check: the problems a communications officer sees, asserted verbatim where it matters."""

import json

import pytest

from pipeline.cli import main
from tests.repo import PNG_1PX, make_repo, post

ONLY_PORTAL = dict(channels=["portal"])


def run(tmp_path, monkeypatch, capsys, *args):
    monkeypatch.chdir(tmp_path)
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_clean_repository_exits_zero(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/2024/a.md": post(**ONLY_PORTAL, status="draft")})
    code, out, err = run(tmp_path, monkeypatch, capsys)
    assert (code, out) == (0, "")
    assert "Đã kiểm tra 1 bài: 0 lỗi, 0 cảnh báo" in err


def test_every_problem_with_file_line_and_code(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {
        "news/2024/a.md": post(id="a", unit="phuong-99", topics=["cchc", "thue"], **ONLY_PORTAL),
        "news/2024/b.md": post(id="a", title="Bài khác", type="su-kien", expire_at="2024-03-01 00:00", **ONLY_PORTAL),
        "news/2024/c.md": post(id="c", title="Bài C", channels=["portal", "tiktok"]),
        "news/2025/d.md": post(id="d", title="Bài D", publish_at="2025-08-01 08:00", **ONLY_PORTAL),
        "news/2024/e.md": post(id="e", title="Bài E", body="", **ONLY_PORTAL),
        "news/2024/f.md": post(id="f", title="Bài F", body="Xem [hướng dẫn](../../guide/2024/khong-co.md).\n", **ONLY_PORTAL),
    })
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--lang", "en")
    assert code == 1
    lines = out.splitlines()
    assert "content/news/2024/a.md:5:1: error: unknown unit `phuong-99`; did you mean `phuong-9`? [post.unknown-unit]" in lines
    assert any(l.startswith("content/news/2024/a.md:9:1: error: unknown topic `thue`") for l in lines)
    assert any(l.startswith("content/news/2024/a.md:2:1: error: id `a` is also used by content/news/2024/b.md") for l in lines)
    assert any("b.md:4:1: error: unknown type `su-kien`" in l for l in lines)
    assert any("b.md" in l and "[post.expire-before-publish]" in l for l in lines)
    assert any("c.md" in l and "unknown channel `tiktok`" in l for l in lines)
    assert "content/news/2025/d.md:5:1: error: unit `phuong-1` is not in force on 1/8/2025; its successor is `phuong-vung-tau` (Phường Vũng Tàu) [post.unit-not-in-force]" in lines
    assert any("e.md" in l and "[post.empty-body]" in l for l in lines)
    assert any(l.startswith("content/news/2024/f.md:15:17") and "[post.broken-link]" in l for l in lines)


def test_vietnamese_is_the_default_language(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/2024/a.md": post(unit="phuong-99", **ONLY_PORTAL)})
    _, out, _ = run(tmp_path, monkeypatch, capsys)
    # the severity too is in the user's language, as gcc writes it (`loa check --format json` keeps "error")
    assert "error" not in out
    assert ":5:1: lỗi: đơn vị `phuong-99` không có trong cấu hình; có phải `phuong-9`? [post.unknown-unit]" in out


def test_approval_missing_then_valid_then_void(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/2024/a.md": post(**ONLY_PORTAL)})
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--lang", "en")
    assert code == 0 and "warning: not yet approved by the editorial board for portal" in out
    assert run(tmp_path, monkeypatch, capsys, "--strict")[0] == 1
    # the author cannot approve
    assert main(["approve", "content/news/2024/a.md", "--by", "Nguyễn Thị Lan"]) == 2
    assert main(["approve", "content/news/2024/a.md", "--by", "Ai Đó"]) == 2  # not on the board
    assert main(["approve", "content/news/2024/a.md", "--by", "Lê Thị Mai"]) == 0
    capsys.readouterr()
    code, out, _ = run(tmp_path, monkeypatch, capsys)
    assert code == 0 and "approval" not in out, out
    f = tmp_path / "content/news/2024/a.md"
    f.write_text(f.read_text().replace("năm 2024.", "năm 2024 tại hội trường."))
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--lang", "en")
    assert "approved by Lê Thị Mai, but the summary and the body changed since; it needs approval again" in out


def test_over_limit_from_real_rendering(tmp_path, monkeypatch, capsys):
    long_summary = "Nội dung rất dài. " * 40  # about 720 characters: over Mastodon's 500
    make_repo(tmp_path, {"news/2024/a.md": post(channels=["portal", "mastodon"], summary=long_summary, status="draft")})
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--lang", "en", "--format", "json")
    data = json.loads(out)
    over = [p for p in data["problems"] if p["code"] == "channel.over-limit"]
    assert over and over[0]["message"].startswith("text for mastodon is ") and "over the limit of 500" in over[0]["message"]


def test_image_without_alt_and_paths_argument(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/img/a.png": PNG_1PX, "news/2024/a.md": post(image="../img/a.png", **ONLY_PORTAL, status="draft"),
                         "news/2024/b.md": post(id="b", title="Bài B", unit="khong-co", **ONLY_PORTAL)})
    code, out, _ = run(tmp_path, monkeypatch, capsys, "--lang", "en", "content/news/2024/a.md")
    assert code == 1
    assert "a.md" in out and "[image.no-alt]" in out and "b.md" not in out


def test_broken_config_exits_2_with_dotted_key(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {}, config_extra="")
    (tmp_path / "config.toml").write_text((tmp_path / "config.toml").read_text().replace('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Mars/Base"'))
    code, _, err = run(tmp_path, monkeypatch, capsys)
    assert code == 2 and "cấu hình" in err and "site.timezone: múi giờ 'Mars/Base' không tồn tại" in err
    code, _, err = run(tmp_path, monkeypatch, capsys, "--lang", "en")
    assert code == 2 and "site.timezone: unknown time zone 'Mars/Base'" in err


def test_a_bad_channel_duration_is_reported_not_a_crash(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {}, config_extra="")
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    (tmp_path / "config.toml").write_text(text.replace("[channels.portal]", '[channels.portal]\nmax_lateness = "2 ngày"', 1),
                                          encoding="utf-8")
    code, _, err = run(tmp_path, monkeypatch, capsys)
    assert code == 2 and "channels.portal.max_lateness: không đọc được khoảng thời gian '2 ngày'" in err
    assert "internal error" not in err


def test_config_details_come_from_the_catalogue_in_both_languages(tmp_path, monkeypatch, capsys):
    """Every config detail is a catalogue message: Vietnamese for staff, English on request."""
    make_repo(tmp_path, {}, config_extra="")
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    text = text.replace('place = "Vũng Tàu"', 'place = "Vũng Tàu"\nplcae = "x"').replace('base_url = "', 'base_url = 5\n# "', 1)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    code, _, err = run(tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "site.base_url: cần một chuỗi văn bản nhưng nhận được: 5" in err
    assert "organization.plcae: khóa lạ; có phải ý bạn là 'place'?" in err
    code, _, err = run(tmp_path, monkeypatch, capsys, "--lang", "en")
    assert "site.base_url: expected a string but received: 5" in err
    monkeypatch.chdir(tmp_path)
    assert main(["--lang", "en", "check"]) == 2  # the global option, before the verb, counts too
    assert "site.base_url: expected a string but received: 5" in capsys.readouterr().err
    assert "organization.plcae: unknown key; did you mean 'place'?" in err


def test_sample_content_has_no_errors(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, sample_content=True)
    _, out, _ = run(tmp_path, monkeypatch, capsys, "--format", "json")
    data = json.loads(out)
    assert data["posts"] >= 12
    assert data["errors"] == 0, [p for p in data["problems"] if p["severity"] == "error"]


def test_where_a_link_leads_is_what_pathlib_says(tmp_path):
    """``checks._leads_inside`` compares strings; it answers as ``Path.resolve`` and
    ``Path.relative_to`` do, on the paths that trip a string comparison: a sibling folder whose
    name starts with the content folder's, ``..`` and ``.``, doubled slashes, the content folder
    itself, links in and out, a NUL."""
    import os
    from pathlib import Path

    from pipeline.checks import _leads_inside
    from pipeline.paths import RealPaths

    content = tmp_path / "content"
    (content / "news" / "2024").mkdir(parents=True)
    (content / "news" / "2024" / "a.md").write_text("a")
    (tmp_path / "content2").mkdir()
    (tmp_path / "content2" / "b.md").write_text("b")
    (tmp_path / "outside.md").write_text("o")
    os.symlink(tmp_path / "outside.md", content / "news" / "out.md")
    os.symlink(content / "news" / "2024" / "a.md", tmp_path / "content2" / "in.md")
    os.symlink(tmp_path / "content2", content / "news" / "linked")

    def by_pathlib(folder: str, target: str) -> tuple[bool, str | None]:
        try:
            resolved = (Path(folder) / target).resolve()
            resolved.relative_to(content.resolve())
            return resolved.exists(), str(resolved)
        except ValueError:
            return False, None

    folders = [str(content / "news" / "2024"), str(content / "news"), str(content)]
    targets = ["a.md", "./a.md", "2024/a.md", "2024//a.md", "../2024/a.md", "../../content2/b.md",
               "../../../content2/b.md", "../../content2/in.md", "out.md", "../out.md", "linked/b.md",
               "linked/in.md", "../news/linked/../2024/a.md", "..", "../..", "../../..", ".", "missing.md",
               "../../../content", "../../../content/", "../../../content2", "a.md\x00.md", "2024/"]
    for folder in folders:
        for target in targets:
            assert _leads_inside(RealPaths(), folder, target, str(content.resolve())) == by_pathlib(folder, target), \
                (folder, target)


def test_a_link_to_a_name_too_long_for_the_system_is_a_broken_link(tmp_path, monkeypatch, capsys):
    """A link whose file name the system refuses as too long (or a folder it may not enter) is a
    broken link on its line, not an error that stops the check of every post."""
    make_repo(tmp_path, {"news/2024/a.md": post(**ONLY_PORTAL, body="Xem [bài](" + "d" * 300 + ".md).\n")})
    code, out, err = run(tmp_path, monkeypatch, capsys, "--lang", "en")
    lines = (out + err).splitlines()
    assert code == 1 and any( "[post.broken-link]" in l for l in lines), lines
