"""``loa preview``'s cache: what a re-run renders again, and what it must not trust."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import load_config
from pipeline.preview import STAMP_NAME, build_preview
from tests.repo import PNG_1PX, make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")
APRIL = datetime(2024, 4, 1, 8, 0, tzinfo=VN)


@pytest.fixture
def repo(tmp_path):
    make_repo(tmp_path, {
        "news/img/a.png": PNG_1PX,
        "news/a.md": post(image="img/a.png", image_alt="Ảnh hội thi", body="Xem [bài b](b.md#muc).\n"),
        "news/b.md": post(id="b", title="Bài thứ hai", channels=["mastodon"]),
        "news/c.md": post(id="c", title="Bài tương lai", publish_at="2024-05-01 08:00", channels=["mastodon"]),
        "news/bad.md": "---\nid: [\n---\n",
    })
    return tmp_path


def run(root, now=APRIL, paths=None, jobs=1):
    cfg = load_config(root / "config.toml", env={})
    return build_preview(cfg, root / "out", paths, now=now, jobs=jobs)


def index(root) -> str:
    return (root / "out/index.html").read_text(encoding="utf-8")


def test_second_run_renders_nothing_and_rewrites_only_the_index_time(repo):
    first = run(repo)
    assert (first.rendered, first.reused, len(first.failed)) == (3, 0, 1)
    page = repo / "out/posts/b.html"
    before = page.stat().st_mtime_ns
    again = run(repo, now=datetime(2024, 4, 2, 9, 30, tzinfo=VN))
    assert (again.rendered, again.reused) == (0, 3)
    assert again.failed == first.failed  # the unusable file is still reported, from the stamp
    assert page.stat().st_mtime_ns == before
    assert "Lúc tạo: 2/4/2024 09:30" in index(repo) and "\x00" not in index(repo)
    assert "Lúc tạo: 1/4/2024 08:00" not in index(repo)


def test_an_edited_post_alone_is_rendered_again(repo):
    run(repo)
    b = repo / "content/news/b.md"
    b.write_text(b.read_text(encoding="utf-8").replace("Bài thứ hai", "Bài thứ hai, đã sửa"), encoding="utf-8")
    result = run(repo)
    assert (result.rendered, result.reused) == (1, 2)
    assert "Bài thứ hai, đã sửa" in index(repo)
    assert "Bài thứ hai, đã sửa" in (repo / "out/posts/b.html").read_text(encoding="utf-8")


def test_a_state_that_changes_with_time_rebuilds_the_index(repo):
    run(repo)
    assert "Đã lên lịch: 1" in index(repo)
    later = run(repo, now=datetime(2024, 5, 1, 8, 0, tzinfo=VN))  # c's publish_at: now due
    assert later.rendered == 0
    assert "Đã lên lịch: 0" in index(repo) and "Đến giờ đăng: 2" in index(repo)
    earlier = run(repo, now=datetime(2024, 3, 1, 8, 0, tzinfo=VN))  # --now in the past: b scheduled again
    assert earlier.rendered == 0 and "Đã lên lịch: 2" in index(repo) and "Chờ duyệt: 1" in index(repo)


def test_a_deleted_page_or_index_is_written_again(repo):
    run(repo)
    os.remove(repo / "out/posts/b.html")
    result = run(repo)
    assert (result.rendered, result.reused) == (1, 2) and (repo / "out/posts/b.html").exists()
    os.remove(repo / "out/index.html")
    assert run(repo).rendered == 0 and "Bài thứ hai" in index(repo)


def test_a_changed_template_or_config_renders_everything(repo):
    run(repo)
    own = repo / "templates/facebook"
    own.mkdir(parents=True)
    (own / "post.txt").write_text("{{ post.title }} (mẫu riêng)\n", encoding="utf-8")
    assert run(repo).rendered == 3
    assert "(mẫu riêng)" in (repo / "out/posts/20240325-aaaaaa.html").read_text(encoding="utf-8")
    cfg = repo / "config.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('name = "', 'name = "Mới: ', 1), encoding="utf-8")
    assert run(repo).rendered == 3


def test_a_new_or_removed_post_is_noticed(repo):
    run(repo)
    (repo / "content/news/d.md").write_text(post(id="d", title="Bài mới", channels=["mastodon"]), encoding="utf-8")
    result = run(repo)
    assert (result.rendered, result.reused) == (1, 3) and "Bài mới" in index(repo)
    os.remove(repo / "content/news/d.md")
    assert run(repo).reused == 3 and "Bài mới" not in index(repo)


def test_a_corrupt_stamp_or_cache_is_ignored_not_trusted(repo):
    import marshal

    from pipeline import preview_stamp

    run(repo)
    stamp = repo / "out" / STAMP_NAME
    good = stamp.read_bytes()
    for bad in (b"{not a stamp", good[:len(good) // 2], marshal.dumps([1, 2]), marshal.dumps({"version": 2}),
                marshal.dumps(dict(marshal.loads(good), files=None))):
        stamp.write_bytes(bad)
        assert preview_stamp.quick(["--config", str(repo / "config.toml"), "preview", "--out", str(repo / "out")]) is None
        assert run(repo).reused == 3
    (repo / "out/.loa-cache.json").write_text("[]", encoding="utf-8")
    (repo / "out" / STAMP_NAME).unlink()
    assert run(repo).rendered == 3


def test_links_between_posts_point_at_the_portal_article(repo):
    run(repo)
    page = (repo / "out/posts/20240325-aaaaaa.html").read_text(encoding="utf-8")
    assert '/news/bai-thu-hai.html#muc"' in page and 'href="b.md' not in page


def test_worker_processes_give_the_same_pages(tmp_path):
    posts = {f"news/p{i:02d}.md": post(id=f"p{i:02d}", title=f"Bài số {i}", channels=["portal", "mastodon"],
                                       body=f"Nội dung {i}. Xem [bài trước](p{max(i - 1, 0):02d}.md).\n")
             for i in range(60)}
    one, two = make_repo(tmp_path / "one", posts), make_repo(tmp_path / "two", posts)
    assert run(one, jobs=1).rendered == 60 and run(two, jobs=2).rendered == 60
    for name in sorted(os.listdir(one / "out/posts")):
        a = (one / "out/posts" / name).read_text(encoding="utf-8")
        b = (two / "out/posts" / name).read_text(encoding="utf-8")
        assert a.replace(str(one), "") == b.replace(str(two), ""), name
    assert '/news/bai-so-40.html"' in (two / "out/posts/p41.html").read_text(encoding="utf-8")


def test_each_body_is_converted_once(tmp_path, monkeypatch):
    """Workers convert a whole slice before rendering its channels: the renderer's Markdown cache
    must hold a slice, or every post would be converted again for its channels."""
    import markdown

    from pipeline import preview, render

    assert render.HTML_CACHE_SIZE >= preview.CHUNK_MAX
    monkeypatch.setattr(preview, "CHUNK_MAX", 30)
    monkeypatch.setattr(render, "HTML_CACHE_SIZE", 30)
    calls = []
    original = markdown.Markdown.convert
    monkeypatch.setattr(markdown.Markdown, "convert", lambda self, text: calls.append(1) or original(self, text))
    posts = {f"news/q{i:02d}.md": post(id=f"q{i:02d}", title=f"Bài {i}", channels=["portal", "facebook", "zalo"])
             for i in range(70)}
    root = make_repo(tmp_path, posts)
    assert run(root, jobs=1).rendered == 70
    assert len(calls) == 70


# -- the quick path: a re-run with nothing changed, straight from the command line --------------
def _loa(argv, capsys):
    from pipeline.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _time_free(html: str) -> str:
    import re

    return re.sub(r"Lúc tạo: [^ ]+ [0-9:]+", "Lúc tạo: -", html)


def _refuse_full_path(monkeypatch):
    """From now on, fail the test if a command line reaches the full parser (the quick path declined)."""
    from pipeline import cli

    def refuse(*_a, **_k):
        raise AssertionError("the full path ran")

    monkeypatch.setattr(cli, "build_parser", refuse)


def test_a_rerun_with_nothing_changed_takes_the_quick_path_and_says_the_same(repo, capsys, monkeypatch):
    argv = ["--config", str(repo / "config.toml"), "preview", "--out", str(repo / "out")]
    full = _loa(argv, capsys)
    assert full[0] == 1 and "3 bài tạo mới" in full[1]  # bad.md: exit 1, reported on stderr
    with monkeypatch.context() as m:
        m.setattr("pipeline.preview_stamp.quick", lambda argv: None)
        slow = _loa(argv, capsys)  # the full path again, with nothing to render
    page = index(repo)
    _refuse_full_path(monkeypatch)
    quick = _loa(argv, capsys)
    assert quick == slow and "0 bài tạo mới, 3 bài không đổi, 1 bài lỗi" in quick[1]
    assert "bad.md" in quick[2]
    assert _time_free(index(repo)) == _time_free(page) and "\x00" not in index(repo)
    assert _loa(["--lang", "en", *argv], capsys)[1].startswith("Preview: ")
    assert _loa([*argv, "--lang", "en", "--jobs", "2"], capsys)[1].startswith("Preview: ")


def test_the_quick_path_takes_now_from_the_command_line(repo, capsys, monkeypatch):
    argv = ["--config", str(repo / "config.toml"), "preview", "--out", str(repo / "out")]
    assert _loa([*argv, "--now", "2024-04-01 08:00"], capsys)[0] == 1
    _refuse_full_path(monkeypatch)
    assert _loa([*argv, "--now", "2024-04-02 09:30"], capsys)[0] == 1  # c is still scheduled: no state changed
    assert "Lúc tạo: 2/4/2024 09:30 ·" in index(repo) and "Đã lên lịch: 1" in index(repo)


def test_the_quick_path_finds_the_config_and_the_default_folder(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert _loa(["preview"], capsys)[0] == 1
    _refuse_full_path(monkeypatch)
    code, out, _err = _loa(["preview"], capsys)
    assert (code, out.strip()) == (1, "Xem trước: var/preview/index.html (0 bài tạo mới, 3 bài không đổi, 1 bài lỗi)")
    assert _loa(["--config", ".", "-v", "preview", "--out="], capsys)[0] == 1


@pytest.mark.parametrize("change", ["post", "new post", "config", "template", "page", "stamp", "state"])
def test_the_quick_path_hands_any_change_to_the_full_path(repo, capsys, change):
    import marshal

    from pipeline import preview_stamp

    argv = ["--config", str(repo / "config.toml"), "preview", "--out", str(repo / "out")]
    _loa(argv, capsys)
    stamp = repo / "out" / STAMP_NAME
    rendered = 0
    if change == "post":
        b = repo / "content/news/b.md"
        b.write_text(b.read_text(encoding="utf-8") + "\nThêm một câu.\n", encoding="utf-8")
        rendered = 1
    elif change == "new post":
        (repo / "content/news/d.md").write_text(post(id="d", title="Bài mới"), encoding="utf-8")
        rendered = 1
    elif change == "config":
        cfg = repo / "config.toml"
        cfg.write_text(cfg.read_text(encoding="utf-8") + "\n# một dòng ghi chú\n", encoding="utf-8")
        rendered = 3
    elif change == "template":
        (repo / "templates/mastodon").mkdir(parents=True)
        (repo / "templates/mastodon/post.txt").write_text("{{ post.title }}\n", encoding="utf-8")
        rendered = 3
    elif change == "page":
        os.remove(repo / "out/posts/b.html")
        rendered = 1
    elif change == "stamp":  # one written by an older Loa
        stamp.write_bytes(marshal.dumps(dict(marshal.loads(stamp.read_bytes()), version=1)))
    elif change == "state":  # as if a post's publish or expiry time had passed since the last run
        data = marshal.loads(stamp.read_bytes())
        data["states"] = [data["states"][0], 1.0]
        stamp.write_bytes(marshal.dumps(data))
    assert preview_stamp.quick(argv) is None
    code, out, _err = _loa(argv, capsys)
    assert code == 1 and f"({rendered} bài tạo mới" in out


@pytest.mark.parametrize("argv", [
    ["preview", "content/news/b.md"], ["preview", "--help"],
    ["preview", "--ou", "x"], ["preview", "--out"], ["preview", "--out", "-x"], ["preview", "--config", "c.toml"],
    ["--out", "x", "preview"], ["preview", "-v"], ["preview", "--lang", "fr"], ["preview", "--jobs", "two"],
    ["--version", "preview"], ["check"], ["preview", "--", "x"], ["--lang", "vi"], ["preview", "preview"],
])
def test_the_quick_path_leaves_other_command_lines_to_the_parser(argv):
    from pipeline.preview_stamp import _arguments

    assert _arguments(argv) is None


def test_the_quick_path_reads_command_lines_as_the_parser_does():
    from pipeline.cli import build_parser
    from pipeline.preview_stamp import _arguments

    for argv in (["preview"], ["--config", "a/config.toml", "preview"], ["--config=a", "-v", "--lang", "en", "preview"],
                 ["preview", "--out", "o", "--jobs", "2", "--lang", "vi"], ["preview", "--out=o", "--out", "p"],
                 ["-vv", "preview", "--out="], ["--config", "x", "--config", "y", "preview", "--lang=en"],
                 ["preview", "--now", "2024-04-01 08:00"], ["preview", "--now=2024-04-01T08:00", "--now", "x"]):
        args = build_parser(argv).parse_args(argv)
        assert _arguments(argv) == (args.config, args.out or None, getattr(args, "lang", None), args.now or None), argv


@pytest.mark.parametrize("text", ["2024-04-01 08:00", " 2024-04-01T08:00 ", "2024-02-30 08:00", "2024-4-1 08:00",
                                  "1/4/2024 08:00", "2024-04-01 08:00+07:00", "2024-04-01", "２０２４-04-01 08:00",
                                  "2024-04-01 24:00", "2024-04-01 08:00:00", "2024-02-29 23:59", "2023-02-29 08:00"])
def test_the_quick_path_reads_now_as_the_full_path_or_not_at_all(text):
    from pipeline.content import parse_time
    from pipeline.preview_stamp import simple_time, utc_of_local, zone_spans

    spans = zone_spans("Asia/Ho_Chi_Minh", APRIL.timestamp())
    local = simple_time(text)
    quick = None if local is None else utc_of_local(local, spans)
    try:
        full = parse_time(text, VN).timestamp()
    except ValueError:
        full = None
    assert quick is None or quick == full
    assert (quick is not None) == (text.strip() in ("2024-04-01 08:00", "2024-04-01T08:00", "2024-02-29 23:59"))


@pytest.mark.parametrize("tz", ["Asia/Ho_Chi_Minh", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_the_quick_path_tells_the_site_time_as_zoneinfo_does(tz):
    """Without importing zoneinfo: the offsets the full path recorded, changes of offset included."""
    from datetime import timedelta

    from pipeline.preview_stamp import generated, local_text, utc_of_local, zone_spans

    zone = ZoneInfo(tz)
    start = datetime(2024, 1, 1, tzinfo=zone)
    spans = zone_spans(tz, start.timestamp())
    assert len(spans) >= (2 if tz == "Asia/Ho_Chi_Minh" else 4)
    for hour in range(0, 24 * 366, 7):
        moment = start + timedelta(hours=hour, minutes=hour % 60, seconds=hour % 13)
        assert local_text(moment.timestamp(), spans) == generated(moment, tz), moment
        wall = moment.astimezone(zone).replace(tzinfo=None, second=0)
        local = int((wall - datetime(1970, 1, 1)).total_seconds())
        found = utc_of_local(local, spans)
        near_change = any(abs(s[0] - moment.timestamp()) < 3 * 86400 for s in spans[1:-1])
        assert found == wall.replace(tzinfo=zone).timestamp() or (found is None and near_change), moment
    assert local_text(spans[-1][0] + 1, spans) is None and utc_of_local(spans[-1][0], spans) is None


def test_a_config_with_warnings_always_takes_the_full_path(tmp_path, capsys):
    from pipeline import preview_stamp

    root = make_repo(tmp_path, {"news/b.md": post(id="b", channels=["mastodon"])},
                     config_extra="\n[preview]\nout_dirr = 'x'\n")
    argv = ["--config", str(root / "config.toml"), "preview"]
    first = _loa(argv, capsys)
    assert "config.warning" in first[2] and "out_dirr" in first[2]
    assert preview_stamp.quick(argv) is None
    again = _loa(argv, capsys)
    assert "config.warning" in again[2] and "1 bài không đổi" in again[1]


def test_the_index_time_is_written_in_place_or_whole(repo, capsys):
    import re

    from pipeline import preview_stamp

    argv = ["--config", str(repo / "config.toml"), "preview", "--out", str(repo / "out")]
    _loa(argv, capsys)
    page = repo / "out/index.html"
    def now() -> str:
        return preview_stamp.generated(datetime.now(VN), "Asia/Ho_Chi_Minh")

    width = len(now())
    for old, in_place in (("1/1/2024 00:00:00:00", False), ("1/1/2024 " + "0" * (width - 9), True), ("x 1", False)):
        page.write_text(re.sub(r"Lúc tạo: [^ ]+ [0-9:]+", f"Lúc tạo: {old}", page.read_text(encoding="utf-8")),
                        encoding="utf-8")
        inode, before = page.stat().st_ino, now()
        assert preview_stamp.quick(argv) == 1
        after = now()
        capsys.readouterr()
        assert f"Lúc tạo: {before} ·" in index(repo) or f"Lúc tạo: {after} ·" in index(repo)
        assert old not in index(repo) and _time_free(index(repo)) == _time_free((repo / "out/.loa-index.html").read_text(
            encoding="utf-8").replace(preview_stamp.GENERATED, "x 0:0"))
        assert (page.stat().st_ino == inode) == (in_place and len(before) == width)
    page.write_text("something else entirely", encoding="utf-8")
    assert preview_stamp.quick(argv) == 1 and "Bài thứ hai" in index(repo)


def test_the_default_folder_is_the_schema_default():
    from pipeline.preview_stamp import DEFAULT_OUT
    from pipeline.schema import SCHEMA

    preview = next(k for k in SCHEMA.keys if k.name == "preview")
    assert next(k for k in preview.section.keys if k.name == "out_dir").default == DEFAULT_OUT
