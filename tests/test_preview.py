"""``loa preview``: states from the one planner, and the cache: what a re-run renders again, and
what it must not trust."""

from __future__ import annotations

import functools
import gc
import json
import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2
import pytest

from pipeline import app
from pipeline.config import load_config
from pipeline.preview import STAMP_NAME, build_preview, state_labels, valid_until
from tests.repo import PNG_1PX, ROOT, make_repo, post

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
    with app.Session.open(cfg) as session:
        return build_preview(session, root / "out", paths, now=now, jobs=jobs)


def index(root) -> str:
    return (root / "out/index.html").read_text(encoding="utf-8")


def _time_free(html: str) -> str:
    return re.sub(r"Lúc tạo: [^ ]+ [0-9:]+", "Lúc tạo: -", html)


def _output(root) -> dict[str, str]:
    """Every file the preview wrote (the index without its time), by name."""
    out = root / "out"
    files = {"index.html": _time_free(index(root))}
    for name in sorted(os.listdir(out / "posts")):
        files[name] = (out / "posts" / name).read_text(encoding="utf-8")
    return files


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


def test_a_cheap_rerun_gives_what_a_full_run_gives(repo, capsys):
    from pipeline.cli import main

    argv = ["--config", str(repo / "config.toml"), "preview", "--out", str(repo / "out"), "--now", "2024-04-01 08:00"]
    assert main(argv) == 1
    capsys.readouterr()
    full = _output(repo)
    assert main(argv) == 1  # the stamp answers
    quick = capsys.readouterr()
    assert "0 bài tạo mới, 3 bài không đổi, 1 bài lỗi" in quick.out and "bad.md" in quick.err
    assert _output(repo) == full
    os.remove(repo / "out" / STAMP_NAME)
    assert main(argv) == 1  # the full path, with nothing to render
    assert capsys.readouterr() == quick and _output(repo) == full
    assert main(["--lang", "en", *argv]) == 1
    assert capsys.readouterr().out.startswith("Preview: ")


def test_an_edited_post_alone_is_rendered_again(repo):
    run(repo)
    b = repo / "content/news/b.md"
    b.write_text(b.read_text(encoding="utf-8").replace("Bài thứ hai", "Bài thứ hai, đã sửa"), encoding="utf-8")
    result = run(repo)
    assert (result.rendered, result.reused) == (1, 2)
    assert "Bài thứ hai, đã sửa" in index(repo)
    assert "Bài thứ hai, đã sửa" in (repo / "out/posts/b.html").read_text(encoding="utf-8")


def test_an_image_replaced_in_place_renders_its_post_again(repo):
    """No post file changes when staff replace an image under the same name; its posts' pages
    must still show (and approvals bind) the new picture."""
    first = run(repo)
    page = (repo / "out/posts/20240325-aaaaaa.html").read_text(encoding="utf-8")
    image = repo / "content/news/img/a.png"
    image.write_bytes(image.read_bytes() + b"\0")  # other bytes, same name
    again = run(repo)
    assert again.rendered == 1 and again.reused == first.rendered + first.reused - 1
    assert (repo / "out/posts/20240325-aaaaaa.html").read_text(encoding="utf-8") != page


def test_a_decision_that_changes_with_time_renders_that_post_again(portal_repo):
    run(portal_repo)
    assert "Đã lên lịch: 1" in index(portal_repo)
    later = run(portal_repo, now=datetime(2024, 5, 1, 8, 0, tzinfo=VN))  # c's publish_at: now due
    assert (later.rendered, later.reused) == (1, 3)
    assert "Đã lên lịch" not in index(portal_repo) and "Đến giờ đăng: 3" in index(portal_repo)
    assert 'data-decision="due"' in (portal_repo / "out/posts/c.html").read_text(encoding="utf-8")
    earlier = run(portal_repo, now=datetime(2024, 3, 1, 8, 0, tzinfo=VN))  # --now in the past: a and b too
    assert earlier.rendered == 3 and "Đã lên lịch: 3" in index(portal_repo)


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
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n# một dòng ghi chú\n", encoding="utf-8")
    assert run(repo).rendered == 3


def test_a_new_or_removed_post_is_noticed(repo):
    run(repo)
    (repo / "content/news/d.md").write_text(post(id="d", title="Bài mới", channels=["mastodon"]), encoding="utf-8")
    result = run(repo)
    assert (result.rendered, result.reused) == (1, 3) and "Bài mới" in index(repo)
    os.remove(repo / "content/news/d.md")
    assert run(repo).reused == 3 and "Bài mới" not in index(repo)


@pytest.mark.parametrize("bad", [b"{not a stamp", b"[1, 2]", b'{"version": 3}', None])
def test_a_corrupt_or_foreign_stamp_is_ignored_not_trusted(repo, bad):
    run(repo)
    stamp = repo / "out" / STAMP_NAME
    if bad is None:  # one that vouches for other files
        data = json.loads(stamp.read_text(encoding="utf-8"))
        bad = json.dumps(dict(data, sigs=[s + 1 for s in data["sigs"]])).encode()
    stamp.write_bytes(bad)
    (repo / "out/index.html").write_text("not the index", encoding="utf-8")
    assert run(repo).reused == 3 and "Bài thứ hai" in index(repo)


def test_a_corrupt_cache_renders_everything(repo):
    run(repo)
    (repo / "out/.loa-cache.json").write_text("[]", encoding="utf-8")
    (repo / "out" / STAMP_NAME).unlink()
    assert run(repo).rendered == 3


def test_a_partial_run_keeps_the_other_rows_and_leaves_no_stamp(repo):
    run(repo)
    b = repo / "content/news/b.md"
    b.write_text(b.read_text(encoding="utf-8") + "\nThêm một câu.\n", encoding="utf-8")
    result = run(repo, paths=[b])
    assert (result.rendered, result.reused) == (1, 0)
    assert not (repo / "out" / STAMP_NAME).exists() and "Bài tương lai" in index(repo)
    assert run(repo).rendered == 0


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
    assert _time_free(index(one)).replace(str(one), "") == _time_free(index(two)).replace(str(two), "")


def test_posts_read_by_worker_processes_are_those_read_here(repo, monkeypatch):
    """The preview reads many changed files in worker processes (``workers.read_many``), which
    hand back each post and its problems: the same as reading them in this process, file by
    file, usable or not, with the problems in the same order."""
    import functools

    from pipeline import content, workers

    for i in range(12):
        (repo / f"content/news/x{i:02d}.md").write_text(post(id=f"x{i:02d}", title=f"Bài {i}", image="img/a.png")
                                                        if i % 4 else "---\nid: x\ntitle: [\n---\n", encoding="utf-8")
    cfg = load_config(repo / "config.toml", env={})
    here = content.PostCache().read_all(cfg)
    monkeypatch.setattr(workers, "READ_MIN", 2)
    meanwhile = []
    there = content.PostCache().read_all(cfg, read_many=functools.partial(workers.read_many, cfg, 2, lambda: meanwhile.append(1)))
    assert len(here[0]) == 12 and len(here[1]) >= 4
    assert there == here and meanwhile == [1]
    assert [dict(p.lines) for p in there[0]] == [dict(p.lines) for p in here[0]]
    assert all(type(p.lines) is type(q.lines) for p, q in zip(there[0], here[0]))


def test_the_channels_templates_are_compiled_while_workers_read(repo, monkeypatch):
    """While worker processes read the posts, the parent compiles every channel's template into
    the session's renderer (``Session.prepare_renderer``); the render step then uses that renderer
    and compiles none again. The pages are those of a run without workers."""
    from pipeline import render, workers

    for i in range(12):
        (repo / f"content/news/x{i:02d}.md").write_text(post(id=f"x{i:02d}", title=f"Bài {i}"), encoding="utf-8")
    run(repo)
    alone = _output(repo)
    monkeypatch.setattr(workers, "READ_MIN", 2)
    compiled, reading = [], []
    real_template = render.Renderer._template

    def template(self, name):
        if name not in self._templates:
            compiled.append((bool(reading), id(self), name))
        return real_template(self, name)

    monkeypatch.setattr(render.Renderer, "_template", template)
    monkeypatch.setattr(workers, "read_many", functools.partial(_read_many_marked, reading, workers.read_many))
    cfg = load_config(repo / "config.toml", env={})
    with app.Session.open(cfg) as session:
        build_preview(session, repo / "out2", None, now=APRIL, jobs=2)
        used = id(session.renderer())
    assert compiled and all(during for during, _r, _n in compiled), compiled  # none after the read
    assert {r for _d, r, _n in compiled} == {used}
    assert {n.split("/")[0] for _d, _r, n in compiled} >= {"portal", "mastodon"}
    pages = {name: (repo / "out2/posts" / name).read_text(encoding="utf-8") for name in os.listdir(repo / "out2/posts")}
    assert {n: v for n, v in alone.items() if n != "index.html"} == pages


def _read_many_marked(reading: list, real, cfg, jobs, meanwhile, files):
    """``workers.read_many`` whose ``meanwhile`` marks ``reading`` while it runs (the read is on)."""
    def marked():
        reading.append(1)
        try:
            return meanwhile()
        finally:
            reading.clear()
    return real(cfg, jobs, marked, files)


@pytest.mark.parametrize("jobs", [1, 2])
def test_pages_kept_for_the_decisions_or_written_twice_are_the_same(tmp_path, monkeypatch, jobs):
    """A process keeps the pages it renders until the plan's decisions are filled in (one write),
    up to preview.HELD_MAX bytes; beyond, a page is written, read back and filled (two writes);
    it fills them in rounds of preview.FILL_MAX rows. All give the same output, with workers or
    without."""
    from pipeline import preview

    posts = {f"news/p{i:02d}.md": post(id=f"p{i:02d}", title=f"Bài số {i}", channels=["portal", "mastodon"])
             for i in range(50)}
    posts["news/bad.md"] = "không có front matter\n"
    kept, written = make_repo(tmp_path / "kept", posts), make_repo(tmp_path / "written", posts)
    assert run(kept, jobs=jobs).rendered == 50
    monkeypatch.setattr(preview, "HELD_MAX", 20_000)  # a page or two held, the others written twice
    monkeypatch.setattr(preview, "FILL_MAX", 7)  # and filled in several rounds
    assert run(written, jobs=jobs).rendered == 50
    a, b = _output(kept), _output(written)
    assert a.keys() == b.keys() and len(a) > 50
    for name in a:
        assert a[name].replace(str(kept), "") == b[name].replace(str(written), ""), name


def test_no_key_of_a_row_hides_what_a_template_reads_of_a_dict(repo):
    """A row reaches the templates as its own attributes (preview._Item): a key named like a dict
    method (``items``, ``get``) would hide the method from a template that calls it."""
    from pipeline.preview import CACHE_NAME, _Item

    run(repo)
    rows = json.loads((repo / "out" / CACHE_NAME).read_text(encoding="utf-8"))["rows"]
    assert rows and all(not set(row) & set(dir(dict)) for row in rows.values())
    item = _Item({"title": "T", "state": "due"})
    assert (item.title, item.get("state"), sorted(item.items())) == ("T", "due", [("state", "due"), ("title", "T")])
    with pytest.raises(AttributeError):
        item.missing


def test_a_process_fills_a_few_rows_more_than_a_round_in_that_round(tmp_path, monkeypatch):
    """Step 2 fills a process's held rows in rounds of preview.FILL_MAX, or all of them while they
    are at most FILL_SLACK times that: workers render unequal shares, and a round for the few rows
    beyond an even share would cost a barrier and a hand-over while the other workers wait."""
    from pipeline import preview, workers

    assert preview._fill_take(1135, 1000) == 1135 and preview._fill_take(1000, 1000) == 1000
    assert preview._fill_take(int(1000 * preview.FILL_SLACK) + 1, 1000) == 1000 and preview._fill_take(5, 0) == 0
    posts = {f"news/p{i:02d}.md": post(id=f"p{i:02d}", title=f"Bài số {i}", channels=["portal"]) for i in range(50)}
    rounds = []
    original = workers.Workers.map
    monkeypatch.setattr(workers.Workers, "map", lambda self, fn, chunks, big, **kw: (
        rounds.append(len(chunks)) if fn is preview._fill_chunk else None) or original(self, fn, chunks, big, **kw))
    monkeypatch.setattr(preview, "FILL_MAX", 40)  # 50 rows: all in one round, even all in one worker
    for jobs in (1, 2):
        rounds.clear()
        assert run(make_repo(tmp_path / f"one{jobs}", posts), jobs=jobs).rendered == 50
        assert rounds == ([0] if jobs == 1 else [2]), jobs  # jobs 1: the held rows here, no kept page to fill
    monkeypatch.setattr(preview, "FILL_MAX", 20)  # 50 rows in one process: 20, then the 30 left in one round
    filled = []
    fill_chunk = preview._fill_chunk

    def counted(task):
        answer = fill_chunk(task)
        filled.append(len(answer[0]))
        return answer

    monkeypatch.setattr(preview, "_fill_chunk", counted)
    assert run(make_repo(tmp_path / "two", posts), jobs=1).rendered == 50
    assert filled == [20, 30]


def test_each_post_is_rendered_once_for_the_pages_and_the_plan(tmp_path, monkeypatch):
    """Workers convert a whole slice before rendering its channels: the renderer's Markdown cache
    must hold a slice, or every post would be converted again for its channels. And the plan's
    publish gate takes each post's problems from the workers' renderings: nothing is rendered
    again, in the parent or anywhere, so every body is converted once and every post's channels
    rendered once in the whole run."""
    import markdown

    from pipeline import preview, render

    assert render.HTML_CACHE_SIZE >= preview.CHUNK_MAX
    monkeypatch.setattr(preview, "CHUNK_MAX", 30)
    monkeypatch.setattr(render, "HTML_CACHE_SIZE", 30)
    calls, renders = [], []
    original, render_all = markdown.Markdown.convert, render.Renderer.render_all
    monkeypatch.setattr(markdown.Markdown, "convert", lambda self, text: calls.append(1) or original(self, text))
    monkeypatch.setattr(render.Renderer, "render_all",
                        lambda self, post, *a: renders.append(post.id) or render_all(self, post, *a))
    posts = {f"news/q{i:02d}.md": post(id=f"q{i:02d}", title=f"Bài {i}", channels=["portal", "facebook", "zalo"])
             for i in range(70)}
    root = make_repo(tmp_path, posts)
    assert run(root, jobs=1).rendered == 70
    assert len(calls) == 70 and sorted(renders) == sorted(f"q{i:02d}" for i in range(70))


A = "20240325-aaaaaa"  # the id of news/a.md in portal_repo


def test_a_post_with_a_check_error_is_held_on_every_channel_and_its_page_says_why(portal_repo):
    """The publish gate is the plan's: a rendering over a channel's limit is a check error found
    by the workers, and the plan holds the file everywhere; a later run reuses the page and the
    problems kept with it, and still agrees with the plan."""
    a = portal_repo / "content/news/a.md"
    a.write_text(a.read_text(encoding="utf-8").replace("title: ", "title: " + "Rất dài " * 60, 1), encoding="utf-8")
    run(portal_repo)
    planned = _planned(portal_repo, APRIL)
    assert planned[(A, "portal")] == "held: check-errors" == _shown(portal_repo)[(A, "portal")]
    assert _shown(portal_repo) == planned
    page = (portal_repo / f"out/posts/{A}.html").read_text(encoding="utf-8")
    assert "channel.over-limit" in page
    (portal_repo / "out" / STAMP_NAME).unlink()
    again = run(portal_repo)
    assert (again.rendered, again.reused) == (0, 4)
    assert _shown(portal_repo) == planned


# -- states: the planner's, through the application layer ---------------------------------------
@pytest.fixture
def portal_repo(tmp_path):
    """Posts on the portal, the one channel the sample config enables, without approval."""
    config = (ROOT / "config.toml").read_text(encoding="utf-8").replace('require_approval = ["portal"]',
                                                                        "require_approval = []")
    assert "require_approval = []" in config
    return make_repo(tmp_path, {
        "news/a.md": post(channels=["portal", "mastodon"]),
        "news/b.md": post(id="b", title="Bài thứ hai", channels=["portal"]),
        "news/c.md": post(id="c", title="Bài tương lai", publish_at="2024-05-01 08:00", channels=["portal"]),
        "news/d.md": post(id="d", title="Bài nháp", status="draft", channels=["portal"]),
    }, config=config)


def _publish(root, post_id: str, channel: str, now: datetime) -> None:
    cfg = load_config(root / "config.toml", env={})
    with app.Session.open(cfg) as session:
        version = next(p for p in session.content().posts if p.id == post_id).source_hash
        lg = session.ledger
        lg.ensure(post_id, channel, channel_type=cfg.channels[channel].type, meta={}, now=now)
        assert lg.claim(post_id, channel, owner="t", action="create", version=version, lease=timedelta(minutes=5),
                        now=now, allowed_states=("pending",)) is not None
        lg.record_success(post_id, channel, owner="t", remote_id="1", remote_url="https://example.invalid/1",
                          version=version, extra=None, now=now)


def _shown(root) -> dict[tuple[str, str], str]:
    """(post id, channel) -> the decision the post's page shows, as ``kind`` or ``kind: reason``."""
    shown = {}
    for name in os.listdir(root / "out/posts"):
        page = (root / "out/posts" / name).read_text(encoding="utf-8")
        for channel, decision in re.findall(r'class="decision" data-channel="([^"]+)" data-decision="([^"]*)"', page):
            shown[(name[:-len(".html")], channel)] = decision
    return shown


def _planned(root, now) -> dict[tuple[str, str], str]:
    cfg = load_config(root / "config.toml", env={})
    with app.Session.open(cfg) as session:
        return {(d.post_id, d.channel): d.kind + (f": {d.reason}" if d.reason else "")
                for d in session.plan(now).decisions if d.post is not None}


def test_each_channel_shows_the_plan_of_the_session(portal_repo):
    _publish(portal_repo, "b", "portal", APRIL - timedelta(days=1))
    for now in (APRIL, datetime(2024, 5, 2, 8, 0, tzinfo=VN)):
        run(portal_repo, now=now)
        assert _shown(portal_repo) == _planned(portal_repo, now)
    page = (portal_repo / "out/posts/b.html").read_text(encoding="utf-8")
    assert 'data-decision="done"' in page and "Đã đăng" in page and "Đến giờ đăng" not in page
    row = next(r for r in index(portal_repo).split("<tr>") if "Bài thứ hai" in r)
    assert 'state-published">Đã đăng<' in row and "Đến giờ đăng" not in row


def test_a_change_in_the_ledger_renders_that_post_again(portal_repo):
    run(portal_repo)
    assert "Đã đăng" not in index(portal_repo)
    _publish(portal_repo, "b", "portal", APRIL)
    result = run(portal_repo)  # the ledger's revision moved: the stamp does not vouch any more
    assert (result.rendered, result.reused) == (1, 3)
    assert "Đã đăng: 1" in index(portal_repo)
    assert _shown(portal_repo) == _planned(portal_repo, APRIL)


def test_a_pause_or_a_hold_is_shown_although_the_rows_did_not_change(portal_repo):
    from pipeline.ledger.base import Hold

    run(portal_repo)
    cfg = load_config(portal_repo / "config.toml", env={})
    with app.Session.open(cfg) as session:
        session.ledger.pause("portal", reason="bảo trì", actor="t", now=APRIL - timedelta(hours=1))
    assert run(portal_repo).rendered == 2  # a and b were due on the portal; c stays scheduled
    assert _shown(portal_repo) == _planned(portal_repo, APRIL)
    assert _shown(portal_repo)[("b", "portal")] == "held: paused: bảo trì"
    with app.Session.open(cfg) as session:
        session.ledger.resume("portal", actor="t", now=APRIL - timedelta(minutes=30))
        session.ledger.hold("portal", Hold("token hết hạn"), APRIL - timedelta(minutes=20))
    run(portal_repo)
    assert _shown(portal_repo)[("b", "portal")] == "held: auth: token hết hạn"


def test_the_stamp_holds_only_while_no_decision_can_change(portal_repo):
    """Differential: between ``now`` and :func:`valid_until`, the plan is the plan at ``now``."""
    cfg = load_config(portal_repo / "config.toml", env={})
    with app.Session.open(cfg) as session:
        base = session.plan(APRIL)
        until = valid_until(base, cfg, APRIL)
        assert until is not None and until <= datetime(2024, 5, 1, 8, 0, tzinfo=VN)

        def seen(p):
            return [(d.post_id, d.channel, d.kind, d.reason) for d in p.decisions]

        step = (until - APRIL) / 50
        for i in range(50):
            assert seen(session.plan(APRIL + step * i)) == seen(base)
        assert seen(session.plan(datetime(2024, 5, 1, 8, 0, tzinfo=VN))) != seen(base)


def test_every_state_has_a_label_in_each_language():
    vi, en = state_labels("vi"), state_labels("en")
    assert set(vi) == set(en) == set(app.POST_STATES)
    assert all(vi.values()) and all(en.values()) and vi != en


def test_the_index_counts_posts_by_their_state(portal_repo):
    run(portal_repo)
    text = index(portal_repo)
    cfg = load_config(portal_repo / "config.toml", env={})
    with app.Session.open(cfg) as session:
        decisions = {}
        for d in session.plan(APRIL).decisions:
            decisions.setdefault(d.post_id, []).append(d)
        states = [app.post_state(ds) for ds in decisions.values()]
    for state in set(states):
        assert f"{state_labels('vi')[state]}: {states.count(state)}" in text
    assert "Đã lên lịch: 1" in text and "Bản nháp: 1" in text
    row = next(r for r in text.split("<tr>") if "Hội thi" in r)
    assert 'data-decision="held: channel-disabled"' in row and 'data-decision="due"' in row


def test_an_index_rows_decisions_cell_made_once_is_the_one_its_template_makes(portal_repo):
    """A process makes each distinct list of decisions' cell once (preview._cell): every row still
    shows its own post's decisions, and a cell taken from what a process kept is the template's
    rendering of that list, on many lists (random and hostile, equal ones told apart by nothing the
    template reads)."""
    import random
    from types import SimpleNamespace

    from pipeline.messages import Detail
    from pipeline.preview import _cell
    from pipeline.templating import environment

    _publish(portal_repo, "b", "portal", APRIL - timedelta(days=1))
    run(portal_repo)
    text = index(portal_repo)
    for name in os.listdir(portal_repo / "out/posts"):
        page = (portal_repo / "out/posts" / name).read_text(encoding="utf-8")
        row = next(r for r in text.split("<tr>") if f'href="posts/{name}"' in r)
        found = r'class="decision" data-channel="([^"]+)" data-decision="([^"]*)"'
        assert re.findall(found, row) == re.findall(found, page) != [], name

    template = environment([ROOT / "templates"], VN, autoescape=True).get_template("preview/index_decisions.html")
    labels = state_labels("vi")
    job = SimpleNamespace(cells={}, row_decisions=template)
    rnd = random.Random(7)
    texts = ["", "channel-disabled", "<script>alert(1)</script>", 'a"b', "Quốc tang & lễ", "due"]
    stale = Detail("plan.reason-stale", due_en="2024-03-25T08:00:00+07:00", lateness_en="1 day, 0:00:00",
                   due_vi="08:00 25/3/2024", lateness_vi="1 ngày")
    for _ in range(400):
        decisions = [[rnd.choice(["portal", "facebook", "<x>", 'q"']), rnd.choice(["due", "held", "skip", "<&>"]),
                      rnd.choice(texts + [stale, str(stale)]), rnd.choice(list(labels)), rnd.choice(texts)]
                     for _ in range(rnd.randint(0, 5))]
        assert _cell(job, decisions, labels) == template.render(decisions=decisions, labels=labels), decisions
    assert 0 < len(job.cells) < 400


def test_a_decisions_reason_is_shown_in_the_catalogues_words(portal_repo):
    """The rows and pages showed the plan's reason code (``channel-disabled``, a stale post's English
    ``stale: due …``) where a staff member reads: now the catalogue's words, in the site's language;
    the code stays in data-decision for tools."""
    from pipeline import plan as planmod
    from pipeline.preview import shown

    run(portal_repo)
    row = next(r for r in index(portal_repo).split("<tr>") if "Hội thi" in r)
    assert 'data-decision="held: channel-disabled"' in row
    assert "<small>kênh đang tắt</small>" in row and "<small>channel-disabled</small>" not in row, row
    page = next((portal_repo / "out/posts").glob("*aaaaaa*.html")).read_text(encoding="utf-8")
    assert 'data-decision="held: channel-disabled"' in page and "<small>kênh đang tắt</small>" in page, page

    due = datetime(2024, 3, 25, 8, 0, tzinfo=VN)
    stale = planmod.Decision(None, "a", "facebook", planmod.SKIP, "create", planmod._stale(due, timedelta(hours=24)))
    paused = planmod.Decision(None, "a", "portal", planmod.HELD, "create", "paused: Quốc tang")
    vi, en = shown([stale, paused], "vi")["decisions"], shown([stale, paused], "en")["decisions"]
    assert [d[4] for d in vi] == ["quá hạn: lẽ ra đăng lúc 08:00 25/3/2024, nay đã trễ hơn 1 ngày", "tạm dừng: Quốc tang"]
    assert [d[4] for d in en] == ["stale: due 2024-03-25T08:00:00+07:00, more than 1 day, 0:00:00 ago", "paused: Quốc tang"]
    assert vi[0][2] == en[0][2] == "stale: due 2024-03-25T08:00:00+07:00, more than 1 day, 0:00:00 ago"  # the code


def test_the_state_labels_follow_the_sites_language_as_the_reasons_do(repo):
    """The reasons beside a state followed the site's language; the state labels were always
    Vietnamese ("Đã lên lịch" beside "channel off"). Both follow ``site.language`` now."""
    config = repo / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('language = "vi"', 'language = "en"'), encoding="utf-8")
    run(repo)
    words = index(repo) + "".join(p.read_text(encoding="utf-8") for p in (repo / "out/posts").iterdir())
    shown = re.findall(r'<span class="state state-([a-z-]+)">([^<:]*)', words)
    assert {s for s, _ in shown} >= {"error", "awaiting-approval", "disabled"}, shown
    assert all(label == state_labels("en")[state] for state, label in shown), shown
    assert "Awaiting approval: 1" in index(repo)


def test_the_render_workers_import_nothing_the_parent_could_have(tmp_path):
    """The render step's workers are forked after ``_templates`` (made while the posts are read):
    what a worker then imports to render and check a post (``checks.post_problems`` imports its
    modules on first use), each worker imports again, on the critical path of a cold preview.
    In a fresh interpreter, rendering and checking posts after ``_templates`` imports nothing."""
    import subprocess
    import sys

    make_repo(tmp_path, {
        "news/img/a.png": PNG_1PX,
        "news/a.md": post(image="img/a.png", image_alt="Ảnh", approved_by="Lê Thị Mai", approved_hash="0" * 8,
                          body="Xem [bài b](b.md#muc). [Viết ở đây: nội dung]\n"),
        "news/b.md": post(id="b", title="Bài thứ hai", slug="bai-thu-hai", channels=["mastodon", "zalo", "telegram"]),
    })
    script = f"""
import sys
from pipeline import app, checks, messages, preview
from pipeline.config import load_config
messages.text("preview.summary", "vi")  # the command line's help texts have loaded the catalogue by then
cfg = load_config({str(tmp_path / "config.toml")!r}, env={{}})
session = app.Session(cfg)
content = session.content()
preview._templates(cfg)
renderer = session.renderer(content)
renderer.load_templates(cfg.channels)
before = set(sys.modules)
for post in content.posts:
    checks.post_problems(post, cfg, renderer, renderer.render_all(post))
print(sorted(set(sys.modules) - before))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    assert out.strip() == "[]"


def test_the_workers_verdicts_on_approval_are_the_plans(tmp_path, monkeypatch):
    """With worker processes, each post's approval is judged by the worker that checks it (the
    parent judges none of them again) and the pages say what a preview in one process says:
    approved posts due, the others awaiting approval, an approval voided by an edit too."""
    from pipeline import approval, checks
    from pipeline.content import read_post

    n = 45  # over the preview's threshold for worker processes
    make_repo(tmp_path, {f"news/p{i:02d}.md": post(id=f"20240301-p{i:04d}", title=f"Bài số {i}") for i in range(n)})
    cfg = load_config(tmp_path / "config.toml", env={})
    for i in range(0, n, 2):  # every other post approved by the board
        f = tmp_path / f"content/news/p{i:02d}.md"
        p, _ = read_post(f, cfg)
        f.write_text(approval.set_front_keys(f.read_text(encoding="utf-8"), approval.approval_front(p, "Lê Thị Mai", cfg)),
                     encoding="utf-8")
    voided = tmp_path / "content/news/p00.md"
    voided.write_text(voided.read_text(encoding="utf-8").replace("Bài số 0", "Bài số không"), encoding="utf-8")
    outputs, judged = {}, []
    for jobs in (1, 2):
        is_approved = checks.is_approved
        monkeypatch.setattr(checks, "is_approved", lambda post, cfg: judged.append(jobs) or is_approved(post, cfg))
        with app.Session.open(load_config(tmp_path / "config.toml", env={})) as session:
            assert build_preview(session, tmp_path / f"out{jobs}", now=APRIL, jobs=jobs).rendered == n
        monkeypatch.undo()
        outputs[jobs] = {name: (tmp_path / f"out{jobs}/posts" / name).read_text(encoding="utf-8")
                         for name in sorted(os.listdir(tmp_path / f"out{jobs}/posts"))}
    assert judged.count(1) == n and judged.count(2) == 0  # in this process with one job; in the workers with two
    assert outputs[1] == outputs[2]
    rows = json.loads((tmp_path / "out2/.loa-cache.json").read_text(encoding="utf-8"))["rows"]
    states = sorted(r["state"] for r in rows.values())
    assert states == sorted(["due"] * (n // 2) + ["awaiting-approval"] * (n - n // 2)), states


@pytest.fixture
def three(tmp_path):
    make_repo(tmp_path, {f"news/p{i}.md": post(id=f"20240301-p{i:04d}", title=f"Bài {i}") for i in range(3)})
    return tmp_path


def test_a_preview_failing_on_its_templates_leaves_the_collector_unfrozen(three):
    """The preview freezes the posts read out of the collector; a run that fails after the read (a
    broken template in the content repository's own templates/) unfreezes them all the same."""
    own = three / "templates/preview"
    own.mkdir(parents=True)
    (own / "post.html").write_text("{% if %}\n", encoding="utf-8")
    cfg = load_config(three / "config.toml", env={})
    assert gc.get_freeze_count() == 0
    try:
        with app.Session.open(cfg) as session, pytest.raises(jinja2.TemplateSyntaxError):
            build_preview(session, three / "out", now=APRIL, jobs=1)
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_preview_gives_its_session_back_storing_at_check(three, jobs):
    """The preview writes the problems it hands over itself (store_at_check off while it runs);
    the session comes back storing them at its next check."""
    cfg = load_config(three / "config.toml", env={})
    with app.Session.open(cfg) as session:
        build_preview(session, three / "out", now=APRIL, jobs=jobs)
        assert session.store_at_check is True


def test_equal_shown_decisions_cross_to_the_workers_once():
    """Step 2 hands every worker the shown decisions of all held rows: equal ones are one object
    (pickled once, then by reference), and the rows say what they said."""
    import pickle

    from pipeline.preview import _shared

    a = {"state": "due", "decisions": [["portal", "due", "", "due", ""]]}
    held = {f"f{i}": (dict(a, decisions=[list(d) for d in a["decisions"]]) if i % 2 else {"state": "held", "decisions": []})
            for i in range(100)}
    shared = _shared(held)
    assert shared == held and list(shared) == list(held)
    assert len({id(v) for v in shared.values()}) == 2
    assert len(pickle.dumps(shared)) < len(pickle.dumps(held)) / 2


def test_a_full_run_lists_and_stats_the_post_files_once(repo, monkeypatch):
    """The preview lists the post files and their signatures for its stamp, before reading; the
    session's read takes that listing instead of making it again."""
    from pipeline import content, paths

    asked = []
    real = paths.signatures

    def signatures(files):
        files = list(files)
        asked.append(tuple(files))
        return real(files)

    monkeypatch.setattr(paths, "signatures", signatures)
    monkeypatch.setattr(content, "signatures", signatures)
    run(repo)
    posts = tuple(paths.post_files(repo / "content"))
    assert len(posts) == 4 and asked.count(posts) == 1
    before = _output(repo)
    (repo / "out/.loa-stamp.json").unlink()  # a second full run reads nothing again, and says the same
    run(repo)
    assert _output(repo) == before


def test_a_channel_named_to_end_the_marked_place_stays_text(tmp_path):
    """A channel is named by a key of config.toml, which the content repository writes: a name
    holding "-->" ended the comment that marks the place of its decision, so the fill step read
    another name and left that channel's decision out of the page (what followed the "-->" was
    replaced, not shown). The name now stays inside the mark in hex, its decision is shown, and
    the name appears only escaped."""
    name = 'x--><script>alert(1)</script><!--'
    root = make_repo(tmp_path, {"news/a.md": post(channels=["portal", name])}, config_extra=f"""
        [channels.'{name}']
        type = "mastodon"
        enabled = false
        """)
    run(root)
    page = (root / "out/posts/20240325-aaaaaa.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<script>alert(1)" not in index(root)
    assert "&lt;script&gt;alert(1)" in page
    assert page.count('<p class="decision" data-channel="') == 2
    assert 'data-channel="x--&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--"' in page
