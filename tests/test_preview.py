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
    run(repo)
    (repo / "out" / STAMP_NAME).write_text("{not json", encoding="utf-8")
    assert run(repo).reused == 3
    (repo / "out" / STAMP_NAME).write_text('{"version": 1, "key": 5}', encoding="utf-8")
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
