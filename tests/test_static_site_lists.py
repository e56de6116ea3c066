"""The lists of the static site are written only where a pass changed them (the pages a change can
have reached, from the store's index of lists), and are then byte for byte what writing every list
afresh gives: after new articles, edits, retractions, title changes and moves between types,
units, topics and months, pass after pass. And the search words' fast path is the plain one."""

from __future__ import annotations

import html
import json
import random
import re
from datetime import datetime, timedelta, timezone
from types import MappingProxyType, SimpleNamespace

import pytest

from pipeline.models import PublishResult, Rendering
from pipeline.vietnamese import fold
from publishers import portal_pages as pages
from publishers.site_store import JOURNAL, MANIFEST
from publishers.static_site import PAGE_KEYS, StaticSitePublisher

START = datetime(2024, 1, 30, 20, 0, tzinfo=timezone.utc)  # near a month's end: the site's zone moves some
TOPICS = {"cchc": ["Cải cách hành chính", "CCHC"], "y-te": ["Y tế"], "giao-duc": ["Giáo dục", "Giáo dục - Đào tạo"]}
LIST_DIRS = ("loai/", "don-vi/", "chu-de/", "luu-tru/")


class Clock:
    def __init__(self):
        self.now = datetime(2024, 6, 1, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


def make_post(rng: random.Random, pid: str) -> dict:
    return {"pid": pid, "slug": pid, "type": rng.choice(["tin-tuc", "thong-bao"]),
            "type_label": rng.choice(["Tin tức", "Tin"]), "unit": rng.choice(["phuong-1", "phuong-2", None]),
            "topics": {t: rng.choice(TOPICS[t]) for t in rng.sample(sorted(TOPICS), rng.randint(0, 2))},
            "when": START + timedelta(hours=rng.choice([0, 3, 6, 30, 30, 24 * 40, 24 * 70])),
            "title": f"Bài {pid}", "body": f"<p>Nội dung {pid} về thủ tục &amp; hồ sơ</p>"}


def rendering(p: dict, version: str) -> Rendering:
    extra = {"slug": p["slug"], "type": p["type"], "type_label": p["type_label"], "unit": p["unit"],
             "unit_name": (p["unit"] or "").replace("-", " ").title(), "topic_labels": dict(p["topics"]),
             "summary": "Tóm tắt " + p["title"], "publish_at": p["when"]}
    return Rendering(post_id=p["pid"], channel="portal", channel_type="static_site", kind="article", title=p["title"],
                     body=p["body"], length=10, limit=None, source_hash=version, hash=version + "h",
                     image_path=None, extra=MappingProxyType(extra))


def publisher(repo, clock, out="site") -> StaticSitePublisher:
    return StaticSitePublisher("portal", {"out_dir": out}, clock=clock,
                               site=SimpleNamespace(root=repo, base_url="https://cong.example.vn", site_name="Cổng",
                                                    tz=timezone(timedelta(hours=7))))


def change(rng: random.Random, posts: dict, live: set, n: int) -> tuple[str, dict]:
    """One random change: a new article, or an edit, a title, a move or a retraction of one."""
    kind = rng.choice(["new", "new", "edit", "title", "move", "slug", "retract"] if live else ["new"])
    if kind == "new":
        pid = f"p{n:03d}"
        posts[pid] = make_post(rng, pid)
        return kind, posts[pid]
    p = posts[rng.choice(sorted(live))]
    if kind == "title":
        p["title"] += " (sửa)"
    elif kind == "move":
        fresh = make_post(rng, p["pid"])
        field = rng.choice(["type", "unit", "topics", "when", "type_label", "topics"])
        p[field] = fresh[field]
    elif kind == "slug":
        p["slug"] = p["slug"] + "-moi"
    elif kind == "edit":
        p["body"] += "<p>Thêm.</p>"
    return kind, p


def list_files(site) -> dict[str, bytes]:
    """Every list page, hub, the feed and the search page (the articles' own pages left out)."""
    out = {}
    for f in sorted(site.rglob("*")):
        rel = f.relative_to(site).as_posix()
        if f.is_file() and (rel in ("index.html", "feed.xml", "tim-kiem/index.html") or rel.startswith("trang-")
                            or rel.startswith(LIST_DIRS)):
            out[rel] = f.read_bytes()
    return out


def shards(site) -> dict[str, list]:
    return {f.name: sorted(pages.read_shard(f.read_text(encoding="utf-8")), key=lambda e: e["p"])
            for f in sorted((site / "tim-kiem").glob("*.js"))}


def afresh(live_site, tmp, clock) -> object:
    """The same articles, in the same order, written into an empty site with every list made anew."""
    ref = tmp / "ref"
    if ref.exists():
        import shutil
        shutil.rmtree(ref)
    site = ref / "site"
    site.mkdir(parents=True)
    probe = publisher(live_site.parent, clock)
    store = probe._load()
    (site / MANIFEST).write_text(json.dumps({"articles": {}, "redirects": {}}), encoding="utf-8")
    with open(site / JOURNAL, "w", encoding="utf-8") as fh:
        for pid, a in store.articles.items():
            fh.write(json.dumps({"put": pid, "entry": a, "old": None, "redirect": None,
                                 "words": WORDS[pid]}, ensure_ascii=False) + "\n")
    publisher(ref, clock).close()
    return site


WORDS: dict[str, str] = {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lists_written_where_they_changed_equal_every_list_written_afresh(tmp_path, monkeypatch, seed):
    monkeypatch.setattr(pages, "PER_PAGE", 3)  # many pages from few articles
    rng, clock = random.Random(seed), Clock()
    repo = tmp_path / "repo"
    repo.mkdir()
    posts, live, n = {}, set(), 0
    pub = publisher(repo, clock)
    for step in range(14):
        if rng.random() < 0.5:
            pub = publisher(repo, clock)  # the engine makes one publisher per pass; a daemon's may live on
        for _ in range(rng.choice([1, 1, 2, 5, 12]) if step else 30):
            n += 1
            kind, p = change(rng, posts, live, n)
            r = rendering(p, f"v{n}")
            if kind == "retract":
                pub.retract(PublishResult(p["pid"], "", {"path": ""}), "test")
                live.discard(p["pid"])
            elif p["pid"] in live:
                pub.update(r, pub.lookup(r, "-"))
            else:
                pub.publish(r, key=p["pid"])
                live.add(p["pid"])
            if kind != "retract":
                WORDS[p["pid"]] = pages.search_words(r.title, r.extra["summary"], r.body)
        pub.close()
        site = repo / "site"
        ref = afresh(site, tmp_path, clock)
        mine, fresh = list_files(site), list_files(ref)
        emptied = set(mine) - set(fresh)  # a list whose last article left it says so (a fresh site has no such list)
        assert all(b"Ch\xc6\xb0a c\xc3\xb3 b\xc3\xa0i vi\xe1\xba\xbft" in mine[p] and "/trang-" not in p for p in emptied)
        assert {p: b for p, b in mine.items() if p not in emptied} == fresh, f"seed {seed}, pass {step}"
        assert shards(site) == shards(ref), f"seed {seed}, pass {step}"
        keys = json.loads((site / PAGE_KEYS).read_text(encoding="utf-8"))
        assert {p: k for p, k in keys.items() if p not in emptied} == json.loads((ref / PAGE_KEYS).read_text(encoding="utf-8"))


def test_a_list_page_changed_by_hand_is_written_again_when_its_list_is(tmp_path, monkeypatch):
    """Pages a pass does not reach keep their keys; a page whose key is not the one written (a
    title changed under it, or the keys file lost) makes the whole list be written again."""
    monkeypatch.setattr(pages, "PER_PAGE", 3)
    rng, clock = random.Random(5), Clock()
    repo = tmp_path / "repo"
    repo.mkdir()
    pub = publisher(repo, clock)
    posts = [make_post(rng, f"p{i:02d}") for i in range(20)]
    for i, p in enumerate(posts):
        p.update(type="tin-tuc", unit=None, topics={}, when=START + timedelta(hours=i))
        pub.publish(rendering(p, "v1"), key=p["pid"])
    pub.close()
    site = repo / "site"
    (site / PAGE_KEYS).write_text(json.dumps({k: v for k, v in json.loads((site / PAGE_KEYS).read_text()).items()
                                              if k != "loai/tin-tuc/trang-1.html"}), encoding="utf-8")
    (site / "loai/tin-tuc/trang-1.html").write_text("lost")
    pub = publisher(repo, clock)
    posts[-1]["body"] += "<p>x</p>"
    pub.update(rendering(posts[-1], "v2"), pub.lookup(rendering(posts[-1], "v2"), "-"))
    pub.close()
    assert "lost" not in (site / "loai/tin-tuc/trang-1.html").read_text()


def plain_search_words(*texts: str) -> str:
    """The search words as they were made before the fast path: every token folded, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        for token in re.findall(r"[^\W_]+", html.unescape(re.sub(r"<[^>]*>", " ", text or "")).lower()):
            for w in re.findall(r"[0-9a-z]+", fold(token)):
                seen.setdefault(w, None)
    return " ".join(seen)


def test_search_words_equal_the_plain_way():
    rng = random.Random(9)
    alphabet = list("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
                    "AĐÊ0123456789 _-.,<>/&;#x") + ["<p>", "</b>", "&amp;", "&#273;", "&nbsp;", "Ⅻ", "ǅ", "ß", "İ"]
    for _ in range(400):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(rng.randint(0, 3))]
        assert pages.search_words(*texts) == plain_search_words(*texts), texts
    assert pages.search_words(None, "") == plain_search_words(None, "") == ""


def plain_entry_problem(pid, a):
    """The manifest entry check as it was before it kept the names already found plain."""
    from pipeline.paths import plain_name
    from publishers.site_store import MEDIA_PATH, PAGE_PATH, RESERVED

    if not isinstance(a, dict) or not isinstance(a.get("path"), str) or not PAGE_PATH.fullmatch(a["path"]):
        return f"article {pid!r} has no page path of the form type/slug.html"
    if a["path"].split("/", 1)[0] in RESERVED or not isinstance(a.get("title"), str):
        return f"article {pid!r} has a reserved folder or no title"
    topics = a.get("topics") or {}
    if (not isinstance(topics, dict) or not all(plain_name(t) and isinstance(l, str) for t, l in topics.items())
            or not all(a.get(k) is None or plain_name(a[k]) for k in ("type", "unit"))):
        return f"article {pid!r} has a type, unit or topic that is not a plain name"
    if a.get("image") is not None and not (isinstance(a["image"], str) and MEDIA_PATH.fullmatch(a["image"])):
        return f"article {pid!r} has an image that is not media/<name>.<ext>"
    return None


def test_the_manifest_check_equals_the_plain_one():
    from publishers.site_store import _entry_problem

    rng = random.Random(11)
    names = ["cchc", "y-te", "", "A", "../x", "a b", "phuong-1", "loai", 3, None, ["x"], {"a": 1}, "x" * 130]
    values = names + ["tin-tuc/a.html", "loai/a.html", "media/a.png", "media/../x.png", "Tiêu đề", 7]
    plain = set()
    for i in range(3000):
        a = {k: rng.choice(values) for k in ("path", "title", "type", "unit", "image") if rng.random() < 0.8}
        if rng.random() < 0.7:
            a["path"], a["title"] = rng.choice(["tin-tuc/a.html", "thong-bao/b-2.html"]), "Tiêu đề"
        if rng.random() < 0.8:
            a["topics"] = ({str(rng.choice(names)): rng.choice(["Nhãn", 3, None]) for _ in range(rng.randint(0, 3))}
                           if rng.random() < 0.9 else rng.choice([[], "x", 0, None]))
        entry = a if rng.random() < 0.95 else rng.choice([None, [], "x"])
        assert _entry_problem(f"p{i}", entry, plain) == plain_entry_problem(f"p{i}", entry), entry
        assert _entry_problem(f"p{i}", entry) == plain_entry_problem(f"p{i}", entry), entry


def test_months_and_lists_of_an_article():
    """``month_of`` as ``strftime("%Y-%m")`` of the time in the site's zone; ``groups_of`` as the Groups."""
    from zoneinfo import ZoneInfo

    for tz in (ZoneInfo("Asia/Ho_Chi_Minh"), timezone.utc, None):
        for pub in ("2024-01-31T17:30:00+00:00", "2024-02-29T23:59:59", "0999-12-31T20:00:00-05:00", "2025-06-30T17:00:00+00:00"):
            when = datetime.fromisoformat(pub)
            want = (when.astimezone(tz) if tz and when.tzinfo else when).strftime("%Y-%m")
            assert pages.month_of({"publish_at": pub}, tz) == want
    a = {"type": "tin-tuc", "type_label": "", "unit": "phuong-1", "unit_name": "Phường 1", "topics": {"y-te": "Y tế"},
         "publish_at": "2024-03-05T08:00:00+07:00"}
    assert pages.groups_of(a, timezone.utc) == [
        pages.Group("index.html", "", None), pages.Group("loai/tin-tuc.html", "tin-tuc", "loai"),
        pages.Group("don-vi/phuong-1.html", "Phường 1", "don-vi"), pages.Group("chu-de/y-te.html", "Y tế", "chu-de"),
        pages.Group("luu-tru/2024-03.html", "tháng 3/2024", "luu-tru")]
    assert type(pages.groups_of(a, None)[1]) is pages.Group and pages.groups_of(a, None)[1].page(2) == "loai/tin-tuc/trang-2.html"
