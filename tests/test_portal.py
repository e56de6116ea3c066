"""The static e-portal as citizens see it: the sample site in a real Chromium (layout at 375 and
1280 px, axe-core's WCAG 2.1 A/AA rules, the search folding Vietnamese marks), and what keeps it
trustworthy over time: addresses that never change, one address per post, retracted images gone,
lists written only where an article changed, a journal that survives a crash."""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from datetime import datetime, timedelta, timezone
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.errors import ConfigError, PermanentPublishError
from pipeline.vietnamese import fold
from publishers.portal_pages import PER_PAGE, search_words
from publishers.site_store import JOURNAL, SiteStore
from publishers.static_site import StaticSitePublisher
from tests.repo import ROOT, make_repo, post, small_config
from tests.test_static_site import NOW, rendering


# -- the sample site in a browser ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_site(tmp_path_factory):
    """The sample content repository (config, posts, emblem) published by `loa publish` to its
    static site, served over HTTP on 127.0.0.1 as nginx would."""
    from pipeline.cli import main

    root = tmp_path_factory.mktemp("portal") / "repo"
    make_repo(root, sample_content=True)
    shutil.copytree(ROOT / "assets", root / "assets")
    cwd, env = os.getcwd(), os.environ.pop("LOA_LEDGER_URL", None)
    os.chdir(root)
    try:
        assert main(["publish", "--channel", "portal"]) in (0, 1)  # 1: a sample post is held on purpose
    finally:
        os.chdir(cwd)
        if env is not None:
            os.environ["LOA_LEDGER_URL"] = env
    site = root / "site"
    handler = functools.partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(root=root, site=site, url=f"http://127.0.0.1:{server.server_port}/",
                          store=SiteStore(lambda rel: site / rel, None).load())
    server.shutdown()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _pages(s) -> dict[str, str]:
    article = max((a for a in s.store.articles.values() if a.get("image") and a.get("topics")),
                  key=lambda a: a["publish_at"])["path"]  # the newest: older articles are its related posts
    topic = f"chu-de/{next(iter(s.store.articles[next(iter(s.store.articles))]['topics']))}.html"
    return {"index": "index.html", "article": article, "topic": topic, "search": "tim-kiem/index.html?q=thu+tuc"}


@pytest.mark.parametrize("width", [375, 1280])
def test_sample_pages_fit_the_screen_and_pass_axe(sample_site, chromium, width, tmp_path):
    from tests.browser import axe_violations, describe, horizontal_overflow

    shots = Path(os.environ.get("LOA_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": width, "height": 900})
    try:
        for name, path in _pages(sample_site).items():
            page.goto(sample_site.url + path)
            page.wait_for_load_state("networkidle")
            shot = shots / f"portal-{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5000, shot
            assert horizontal_overflow(page) == 0, f"{path} scrolls sideways at {width} px"
            violations = axe_violations(page)
            assert violations == [], f"{path} at {width} px:\n{describe(violations)}"
    finally:
        page.close()


def test_the_layout_carries_the_header_navigation_breadcrumbs_and_legal_footer(sample_site):
    index = (sample_site.site / "index.html").read_text(encoding="utf-8")
    article = (sample_site.site / _pages(sample_site)["article"]).read_text(encoding="utf-8")
    import tomllib

    name = tomllib.loads((sample_site.root / "config.toml").read_text(encoding="utf-8"))["site"]["name"]
    assert '<img class="emblem" src="emblem.png"' in index and '<img class="emblem" src="../emblem.png"' in article
    for html in (index, article):
        assert f'<span class="name">{name}</span>' in html
        for label in ("Cơ quan chủ quản:", "Chịu trách nhiệm chính:", "Giấy phép:", "Địa chỉ:", "Điện thoại:", "Thư điện tử:"):
            assert label in html, label
        for hub in ("loai/index.html", "chu-de/index.html", "don-vi/index.html", "luu-tru/index.html", "tim-kiem/index.html"):
            assert hub in html, hub
    assert 'aria-label="Đường dẫn"' in article and "Bài viết liên quan" in article
    assert (sample_site.site / "emblem.png").read_bytes() == (ROOT / "assets/emblem.png").read_bytes()
    # Vietnamese dates, summaries and covers on the lists
    newest = max(sample_site.store.articles.values(), key=lambda a: a["publish_at"])
    when = datetime.fromisoformat(newest["publish_at"]).astimezone(timezone(timedelta(hours=7)))
    assert f"{when.day}/{when.month}/{when.year}" in index and newest["summary"] in index
    assert 'class="cover"' in index
    months = {datetime.fromisoformat(a["publish_at"]).astimezone(timezone(timedelta(hours=7))).strftime("%Y-%m")
              for a in sample_site.store.articles.values()}
    assert {p.stem for p in (sample_site.site / "luu-tru").glob("*.html")} == months | {"index"}


@pytest.mark.parametrize("query", ["thu tuc", "THỦ TỤC", "dang ky"])
def test_search_finds_words_with_or_without_marks(sample_site, chromium, query):
    """A query typed without tone marks (or in capitals, or `dang` for `đăng`) finds the articles
    whose text has every word of it; the expected set comes from the articles, folded here."""
    words = fold(query).split()
    expected = {a["title"] for a in sample_site.store.articles.values()
                if all(f" {w}" in " " + _words(sample_site, a) for w in words)}
    assert expected, "the sample has articles with these words"
    page = chromium.new_page(viewport={"width": 375, "height": 900})
    try:
        page.goto(sample_site.url + "tim-kiem/index.html")
        page.fill("#q", query)
        page.click("form.search button")
        page.wait_for_function("document.getElementById('search-status').textContent !== ''")
        found = set(page.locator("#search-results h2 a").all_inner_texts())
    finally:
        page.close()
    assert found == expected or (len(expected) > 50 and found < expected)
    marked = {"thu tuc": "thủ tục", "thủ tục": "thủ tục", "dang ky": "đăng ký"}[fold(query)]
    assert any(marked in t.lower() for t in found)


def _words(s, a) -> str:
    month = datetime.fromisoformat(a["publish_at"]).astimezone(timezone(timedelta(hours=7))).strftime("%Y-%m")
    from publishers.portal_pages import read_shard

    shard = read_shard((s.site / "tim-kiem" / f"{month}.js").read_text(encoding="utf-8"))
    return next(e["w"] for e in shard if e["u"] == a["path"])


def test_search_words_fold_vietnamese():
    assert search_words("<p>Thủ tục <b>Đăng ký</b> khai sinh</p>", "Thủ tục") == "thu tuc dang ky khai sinh"


# -- stable addresses -----------------------------------------------------------------------------------
def test_a_title_edit_keeps_the_shared_address_working(tmp_path, monkeypatch):
    """Through loa: the slug follows the title, so an edited title gives a new address; the old
    one, already shared on Facebook and Zalo, becomes a page that leads to the new one."""
    from pipeline.cli import main

    config = small_config(["portal"]) + '[channels.portal]\ntype = "static_site"\n'
    root = make_repo(tmp_path, {"news/a.md": post(id="20240325-aaaaaa", title="Thông báo lịch tiếp dân")}, config=config)
    monkeypatch.chdir(root)
    monkeypatch.delenv("LOA_LEDGER_URL", raising=False)
    assert main(["publish", "--channel", "portal", "--now", "2024-03-26 09:00"]) == 0
    old = root / "site/news/thong-bao-lich-tiep-dan.html"
    assert "Thông báo lịch tiếp dân" in old.read_text(encoding="utf-8")
    (root / "content/news/a.md").write_text(post(id="20240325-aaaaaa", title="Thông báo lịch tiếp công dân tháng 4"))
    assert main(["publish", "--channel", "portal", "--now", "2024-03-27 09:00"]) == 0
    new = root / "site/news/thong-bao-lich-tiep-cong-dan-thang-4.html"
    assert "tháng 4" in new.read_text(encoding="utf-8")
    assert 'content="0; url=thong-bao-lich-tiep-cong-dan-thang-4.html"' in old.read_text(encoding="utf-8")
    index = (root / "site/index.html").read_text(encoding="utf-8")
    assert index.count("thong-bao-lich-tiep") == 1 and "tháng 4" in index


def test_two_posts_on_one_address_are_a_check_error_across_years(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    title = "Thông báo nghỉ Tết Nguyên đán"
    root = make_repo(tmp_path, {"news/2024/tet.md": post(id="20240201-aaaaaa", title=title, publish_at="2024-02-01 08:00"),
                                "news/2025/tet.md": post(id="20250120-bbbbbb", title=title, publish_at="2025-01-20 08:00")})
    monkeypatch.chdir(root)
    assert main(["check"]) != 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "post.duplicate-slug" in line]
    assert len(lines) == 2, out
    assert "content/news/2024/tet.md" in lines[0] + lines[1] and "content/news/2025/tet.md" in lines[0] + lines[1]
    assert all("trùng với" in line and "slug:" in line for line in lines)


@pytest.fixture
def pub(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    return StaticSitePublisher("portal", {}, site=SimpleNamespace(root=repo, base_url="https://cong.example.vn",
                                                                  site_name="Cổng TTĐT"), clock=lambda: NOW)


def test_an_address_that_moved_is_never_taken_by_another_post(pub):
    first = pub.publish(rendering("20240301-aaaaaa", slug="cu"), key="k0")
    pub.update(rendering("20240301-aaaaaa", slug="moi", version="v2"), first)
    with pytest.raises(PermanentPublishError, match="news/cu.html was the address of 20240301-aaaaaa before it moved"):
        pub.publish(rendering("20240302-bbbbbb", slug="cu"), key="k1")
    # moving back to its own old address is allowed, and the redirect gives way to the page
    pub.update(rendering("20240301-aaaaaa", slug="cu", version="v3"), first)
    assert "refresh" not in (pub.out / "news/cu.html").read_text() and "refresh" in (pub.out / "news/moi.html").read_text()


def test_a_moved_address_stays_claimed_across_loa_site_rebuild_and_loa_check_says_so(tmp_path, monkeypatch, capsys):
    """Through loa: a post moves (news/cu.html becomes a redirect), `loa site rebuild` writes the
    site again, and a new post asking for news/cu.html is a `loa check` error (naming both files,
    the address and the fix) that holds it: the shared link still leads to the first post."""
    from pipeline.cli import main

    config = small_config(["portal"]) + '\n[channels.portal]\ntype = "static_site"\n'
    root = make_repo(tmp_path, {"news/a.md": post(id="20240301-aaaaaa", title="Bài A", slug="cu", publish_at="2024-03-01 08:00")},
                     config=config)
    monkeypatch.chdir(root)
    assert main(["publish", "--now", "2024-03-25 09:00"]) == 0
    (root / "content/news/a.md").write_text(post(id="20240301-aaaaaa", title="Bài A", slug="moi", publish_at="2024-03-01 08:00"))
    assert main(["publish", "--now", "2024-03-25 10:00"]) == 0
    assert "refresh" in (root / "site/news/cu.html").read_text()
    assert main(["site", "rebuild"]) == 0
    store = SiteStore(lambda rel: root / "site" / rel, None).load()
    assert store.redirects == {"news/cu.html": "20240301-aaaaaa"} and set(store.articles) == {"20240301-aaaaaa"}
    (root / "content/news/b.md").write_text(post(id="20240325-bbbbbb", title="Bài B", slug="cu", publish_at="2024-03-25 08:00"))
    capsys.readouterr()
    assert main(["check"]) != 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "post.address-was-another" in x)
    assert "content/news/b.md" in line and "news/cu.html" in line and "20240301-aaaaaa (content/news/a.md)" in line, out
    assert "Đổi slug" in line
    assert main(["publish", "--now", "2024-03-25 11:00"]) in (0, 1)
    assert "refresh" in (root / "site/news/cu.html").read_text()  # held by the check: the shared link still leads to Bài A
    (root / "content/news/b.md").write_text(post(id="20240325-bbbbbb", title="Bài B", slug="cu-2", publish_at="2024-03-25 08:00"))
    assert main(["check"]) == 0


def test_the_publish_time_refusal_is_a_catalogue_message_loa_status_shows_in_either_language(pub):
    from pipeline.messages import localized
    from pipeline.publish import error_text
    from pipeline.status import _err

    first = pub.publish(rendering("20240301-aaaaaa", slug="cu"), key="k0")
    pub.update(rendering("20240301-aaaaaa", slug="moi", version="v2"), first)
    pub.flush()  # address_conflicts reads the files
    with pytest.raises(PermanentPublishError) as e:
        pub.publish(rendering("20240302-bbbbbb", slug="cu"), key="k1")
    kept = _err(error_text(e.value))  # as the ledger keeps it, as loa status reads it
    for reason, hint in ((e.value.reason, e.value.hint), (kept["reason"], kept["hint"])):
        assert localized(reason, "vi") == ("news/cu.html từng là địa chỉ của bài 20240301-aaaaaa trước khi bài đó đổi địa chỉ, và các "
                                           "liên kết đã chia sẻ khi ấy vẫn dẫn tới đó (địa chỉ không bao giờ đổi chủ): bài "
                                           "20240302-bbbbbb không được lấy địa chỉ này")
        assert localized(hint, "vi") == "đổi slug của bài 20240302-bbbbbb (front matter: slug), rồi chạy lại loa publish"
        assert localized(hint, "en") == "change the slug of 20240302-bbbbbb (front matter: slug), then run loa publish again"
    assert pub.address_conflicts([SimpleNamespace(id="20240302-bbbbbb", type="news", slug="cu", channels=("portal",)),
                                  SimpleNamespace(id="20240301-aaaaaa", type="news", slug="cu", channels=("portal",)),
                                  SimpleNamespace(id="20240303-cccccc", type="news", slug="cu", channels=("facebook",))]) == [
        (SimpleNamespace(id="20240302-bbbbbb", type="news", slug="cu", channels=("portal",)), "news/cu.html", "20240301-aaaaaa")]


def test_rebuild_keeps_the_old_addresses_a_damaged_manifest_still_lists(tmp_path):
    """A manifest refused for one article (the channel held) still gives its redirects to the
    rebuild, and the journal's readable lines add theirs; a manifest that is not JSON gives none."""
    site = tmp_path / "site"
    site.mkdir()
    store = SiteStore(lambda rel: site / rel, lambda path, text: path.write_text(text))
    (site / ".loa-site.json").write_text(json.dumps({"articles": {"x": {"path": "../thoat.html", "title": "x"}},
                                                     "redirects": {"news/cu.html": "a", "../sai.html": "b"}}))
    entry = {"path": "news/moi.html", "title": "B", "type": "news"}
    (site / JOURNAL).write_text(json.dumps({"put": "b", "entry": entry, "redirect": "news/b-cu.html"}) + "\n{ cut\n")
    assert store.set_aside("20240325-090000") == site / ".loa-site.json.20240325-090000"
    assert json.loads((site / ".loa-site.json").read_text()) == {
        "articles": {}, "redirects": {"news/cu.html": "a", "news/b-cu.html": "b"}}
    assert not (site / JOURNAL).exists() and store.load().redirects == {"news/cu.html": "a", "news/b-cu.html": "b"}
    (site / ".loa-site.json").write_text("{ not json")
    store.set_aside("20240325-100000")
    assert not (site / ".loa-site.json").exists()


# -- retracted images -------------------------------------------------------------------------------------
def test_a_retracted_articles_image_goes_unless_another_article_shows_it(pub, tmp_path):
    img = tmp_path / "anh.jpg"
    img.write_bytes(b"\xff\xd8jpeg")
    own = pub.publish(rendering("20240301-aaaaaa", slug="a", image=img, image_hash="1111aaaa"), key="k0")
    shared = pub.publish(rendering("20240302-bbbbbb", slug="b", image=img, image_hash="2222bbbb"), key="k1")
    pub.publish(rendering("20240303-cccccc", slug="c", image=img, image_hash="2222bbbb"), key="k2")
    pub.close()
    pub.retract(own, "ảnh có thông tin cá nhân")
    pub.retract(shared, "sai")
    pub.close()
    assert not (pub.out / "media/1111aaaa.jpg").exists()
    assert (pub.out / "media/2222bbbb.jpg").exists()  # article c still shows it
    assert "1111aaaa" not in "".join(p.read_text() for p in pub.out.rglob("*.html"))
    # an image replaced in an edit goes too
    third = pub.lookup(rendering("20240303-cccccc", slug="c"), "k2")
    pub.update(rendering("20240303-cccccc", slug="c", image=img, image_hash="3333cccc", version="v2"), third)
    assert not (pub.out / "media/2222bbbb.jpg").exists() and (pub.out / "media/3333cccc.jpg").exists()


# -- incremental writing, pagination, the journal ------------------------------------------------------------
def _at(i: int) -> datetime:
    return NOW - timedelta(days=100 - i)


def _publish_many(pub, n: int, start: int = 0):
    from types import MappingProxyType

    out = {}
    for i in range(start, start + n):
        r = rendering(f"2024{i:04d}-aaaaaa", slug=f"bai-{i}", title=f"Bài số {i}")
        r = type(r)(**{**r.__dict__, "extra": MappingProxyType({**r.extra, "publish_at": _at(i)})})
        out[i] = pub.publish(r, key=f"k{i}")
    pub.close()
    return out


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_one_more_article_rewrites_only_the_pages_it_is_on(pub):
    n = 2 * PER_PAGE + 5
    _publish_many(pub, n)
    first_page = (pub.out / "trang-1.html").read_text()
    assert "Bài số 0<" in first_page and f"Bài số {PER_PAGE - 1}<" in first_page and f"Bài số {PER_PAGE}<" not in first_page
    before = _mtimes(pub.out)
    _publish_many(pub, 1, start=n)
    after = _mtimes(pub.out)
    rewritten = sorted(k for k in after if before.get(k) != after[k])
    assert (pub.out / "trang-1.html").read_text() == first_page  # a page keeps what it showed
    month = f"luu-tru/{_at(n):%Y-%m}"  # the new article's month (the fixture site is in UTC)
    lists = [k for k in rewritten if k.endswith(".html") and not k.startswith(("news/bai-", month))]
    assert set(lists) <= {"index.html", "trang-3.html", "loai/news.html", "loai/news/trang-3.html", "don-vi/phuong-1.html",
                          "don-vi/phuong-1/trang-3.html", "chu-de/cchc.html", "chu-de/cchc/trang-3.html",
                          "loai/index.html", "don-vi/index.html", "chu-de/index.html",
                          "luu-tru/index.html", "tim-kiem/index.html"}, lists
    assert "index.html" in lists and "trang-3.html" in lists
    assert len(rewritten) < 25, rewritten


def test_lists_left_unwritten_by_a_crash_are_written_by_the_next_pass(pub):
    _publish_many(pub, 3)
    r = rendering("20240399-zzzzzz", slug="sau-su-co", title="Bài sau sự cố")
    pub.publish(r, key="kz")
    # before its group's flush the item is not acknowledged: a crash here sends it again
    assert StaticSitePublisher("portal", {}, site=pub.site, clock=lambda: NOW).lookup(r, "kz") is None
    pub.flush()  # the group's durable point (the engine records the success after it); the process dies here: no close()
    assert "Bài sau sự cố" not in (pub.out / "index.html").read_text()
    again = StaticSitePublisher("portal", {}, site=pub.site, clock=lambda: NOW)
    assert again.lookup(r, "kz") is not None  # the ledger's in-doubt item is found, not sent twice
    again.close()
    assert "Bài sau sự cố" in (pub.out / "index.html").read_text()


def test_a_journal_line_cut_by_a_crash_is_dropped_and_a_damaged_one_holds_the_channel(pub):
    _publish_many(pub, 2)
    pub.publish(rendering("20240398-yyyyyy", slug="y"), key="ky")
    pub.flush()
    journal = pub.out / JOURNAL
    good = journal.read_bytes()
    journal.write_bytes(good + b'{"put": "20240399-zz')  # the write that the crash cut
    fresh = StaticSitePublisher("portal", {}, site=pub.site, clock=lambda: NOW)
    assert fresh.lookup(rendering("20240398-yyyyyy", slug="y"), "ky") is not None
    # a lookup holds no lock: the line may be one a pass is writing, so only the next pass drops it
    assert journal.read_bytes() == good + b'{"put": "20240399-zz'
    with fresh._locked():
        pass
    assert journal.read_bytes() == good
    journal.write_bytes(good + b'{"put": "x", "entry": {"path": "../../etc/passwd", "title": "x"}}\n')
    with pytest.raises(PermanentPublishError) as err:
        StaticSitePublisher("portal", {}, site=pub.site, clock=lambda: NOW).publish(rendering("20240397-xxxxxx", slug="x"), key="kx")
    assert err.value.holds_channel and JOURNAL in err.value.reason


def test_the_manifest_is_compacted_once_the_journal_has_grown(pub):
    _publish_many(pub, 70)
    manifest = json.loads((pub.out / ".loa-site.json").read_text())
    assert len(manifest["articles"]) == 70 and not (pub.out / JOURNAL).exists()


def test_footer_options_are_checked():
    with pytest.raises(ConfigError) as err:
        StaticSitePublisher("portal", {"email": "khong-phai-email", "phone": "abc", "emblem": "quoc-huy.svg"})
    text = str(err.value)
    assert "email" in text and "phone" in text and "emblem" in text


def test_the_portal_and_loudspeaker_check_lines_speak_the_readers_language(tmp_path, monkeypatch, capsys):
    """`loa channels check` and `loa doctor` show the static site's and the loudspeaker's detail
    lines from the catalogue: Vietnamese by default, English with --lang en."""
    from pipeline.cli import main
    from tests.test_loudspeaker import config

    monkeypatch.chdir(make_repo(tmp_path, {}, config=config()))
    english = ("writes the portal", "footer lacks", "writes bulletins", "speech engine", "opening formula", "ready")
    main(["channels", "check"])
    out = capsys.readouterr().out
    assert "ghi cổng thông tin thành trang tĩnh vào" in out and "chân trang thiếu" in out, out
    assert "giao bản tin vào" in out and "bộ đọc none" in out and "lời mở đầu:" in out, out
    assert not [w for w in english if w in out], out
    main(["doctor", "--git-timeout", "1"])
    out = capsys.readouterr().out
    assert "ghi cổng thông tin thành trang tĩnh vào" in out and "giao bản tin vào" in out, out
    assert not [w for w in english if w in out], out
    main(["--lang", "en", "channels", "check"])
    out = capsys.readouterr().out
    assert all(w in out for w in english[:5]), out


def test_channels_check_refuses_an_article_url_the_site_does_not_write(tmp_path):
    site = SimpleNamespace(root=tmp_path, base_url="https://cong.example.vn", site_name="Cổng",
                           article_url="{base_url}/{year}/{slug}.html")
    health = StaticSitePublisher("portal", {}, site=site).check()
    assert not health.ok and "article_url" in health.messages[0]
    site.article_url = "{base_url}/{type}/{slug}.html"
    health = StaticSitePublisher("portal", {}, site=site).check()
    assert health.ok and any("footer lacks" in m for m in health.messages)


def test_old_addresses_kept_while_the_journal_grows_equal_a_fresh_reading(pub):
    """``old_addresses`` keeps the manifest's table while a pass only appends to the journal (a
    daemon reads them at every tick): after moves, passes and compactions, a long-lived store
    says what a fresh one reads."""
    kept, made = pub.store, {}
    moves = [("20240301-aaaaaa", "cu"), ("20240301-aaaaaa", "moi"), ("20240302-bbbbbb", "hai"), ("20240302-bbbbbb", "ba"),
             ("20240301-aaaaaa", "cu"), ("20240303-cccccc", "bon")] * 12  # enough lines for compactions
    for i, (pid, slug) in enumerate(moves):
        r = rendering(pid, slug=f"{slug}-{i // 6}" if i % 3 else slug, version=f"v{i}")
        made[pid] = pub.update(r, made[pid]) if pid in made else pub.publish(r, key=f"k{i}")
        if i % 5 == 4:
            pub.close()
        assert kept.old_addresses() == SiteStore(kept._file, None).old_addresses(), i
    assert json.loads((pub.out / ".loa-site.json").read_text())["redirects"]  # compacted: the manifest holds some
