"""The static-site publisher writes and deletes only inside its folder, from plain names; its pages
and feed carry no control character; an unreadable manifest holds the channel."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from types import MappingProxyType, SimpleNamespace

import pytest

from pipeline.errors import PermanentPublishError
from pipeline.models import PublishResult, Rendering
from pipeline.paths import inside, plain_name
from publishers.static_site import MANIFEST, StaticSitePublisher

NOW = datetime(2024, 3, 25, 1, 0, tzinfo=timezone.utc)


def rendering(post_id="20240325-abc123", *, title="Hướng dẫn nộp hồ sơ", slug="huong-dan", type="news",
              unit="phuong-1", topics=None, image=None, image_hash=None, version="v1") -> Rendering:
    extra = {"slug": slug, "type": type, "type_label": "Tin tức", "unit": unit, "unit_name": "Phường 1",
             "topic_labels": {"cchc": "Cải cách hành chính"} if topics is None else topics,
             "summary": "Tóm tắt", "publish_at": NOW, "image_hash": image_hash}
    return Rendering(post_id=post_id, channel="portal", channel_type="static_site", kind="article", title=title,
                     body="<p>Nội dung</p>", length=10, limit=None, source_hash=version, hash=version + "h",
                     image_path=image, extra=MappingProxyType(extra))


@pytest.fixture
def world(tmp_path):
    """The content repository (``repo/``, its site in ``repo/site``) beside a folder ``outside/``
    that holds a page the site must never touch."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (outside / "x.html").write_text("keep me")
    pub = StaticSitePublisher("portal", {}, site=SimpleNamespace(root=repo, base_url="https://cong.example.vn",
                                                                 site_name="Cổng TTĐT"), clock=lambda: NOW)
    return SimpleNamespace(repo=repo, site=repo / "site", outside=outside, tmp=tmp_path, pub=pub)


def snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def outside_site(w) -> dict:
    """Every file under tmp_path but the site's."""
    return {k: v for k, v in snapshot(w.tmp).items() if not k.startswith("repo/site/")}


# -- the containment helper -------------------------------------------------------------------------
def test_inside_returns_the_resolved_path_and_refuses_to_leave(tmp_path):
    assert inside(tmp_path, "news/a.html") == tmp_path.resolve() / "news/a.html"
    assert inside(tmp_path, "news", "a.html") == tmp_path.resolve() / "news/a.html"
    for bad in ("../x.html", "news/../../x.html", "/etc/passwd", "", ".", "a\x00b"):
        with pytest.raises(ValueError):
            inside(tmp_path, bad)
    (tmp_path / "out").mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "news").symlink_to(tmp_path / "out")
    (tmp_path / "site" / "dangling.html").symlink_to(tmp_path / "out" / "new.html")
    with pytest.raises(ValueError):
        inside(tmp_path / "site", "news/a.html")
    with pytest.raises(ValueError):
        inside(tmp_path / "site", "dangling.html")


def test_plain_name():
    assert plain_name("phuong-1") and plain_name("2024") and plain_name("huong-dan-nop-ho-so")
    for bad in ("", "-x", "../x", "a/b", "A", "a.b", "a b", "x\n", "đ", None, 3, "a" * 121):
        assert not plain_name(bad), bad


# -- 1. paths from front matter ------------------------------------------------------------------------
CLIMBS = [
    ("slug", dict(slug="../../../outside/x")),
    ("slug", dict(slug="/abs/x")),
    ("type", dict(type="../../outside")),
    ("unit", dict(unit="../../outside/x")),
    ("topic", dict(topics={"../../../outside/x": "Leo ra"})),
]


@pytest.mark.parametrize("field,values", CLIMBS, ids=[f"{f}:{list(v.values())[0]}" for f, v in CLIMBS])
def test_a_crafted_name_is_refused_before_anything_is_written(world, field, values):
    world.pub.publish(rendering("20240301-aaaaaa", slug="truoc"), key="k0")
    before, site_before = outside_site(world), snapshot(world.site)
    with pytest.raises(PermanentPublishError) as err:
        world.pub.publish(rendering(**values), key="k1")
    assert err.value.reason.startswith(f"{field} ") and "only a-z, 0-9 and - are allowed" in err.value.reason
    assert not err.value.holds_channel  # the content is wrong, not the site: the other items go on
    assert outside_site(world) == before
    assert snapshot(world.site) == site_before  # no page, no index, no manifest entry


def test_a_reserved_type_is_refused(world):
    with pytest.raises(PermanentPublishError, match="name of a folder of the site"):
        world.pub.publish(rendering(type="don-vi", slug="phuong-1"), key="k")


def test_a_second_post_on_the_same_page_is_refused(world):
    world.pub.publish(rendering("20240301-aaaaaa"), key="k0")
    with pytest.raises(PermanentPublishError, match="news/huong-dan.html is already the page of 20240301-aaaaaa"):
        world.pub.publish(rendering("20240302-bbbbbb"), key="k1")


def test_a_symlinked_folder_holds_the_channel_and_nothing_is_written_through_it(world):
    world.site.mkdir()
    (world.site / "news").symlink_to(world.outside)
    before = outside_site(world)
    with pytest.raises(PermanentPublishError) as err:
        world.pub.publish(rendering(slug="x"), key="k")
    assert err.value.holds_channel
    assert "news/x.html leads outside the site folder" in err.value.reason
    assert outside_site(world) == before
    assert (world.outside / "x.html").read_text() == "keep me"


def test_a_symlinked_index_folder_is_found_before_the_page_is_written(world):
    world.site.mkdir()
    (world.site / "don-vi").symlink_to(world.outside)
    with pytest.raises(PermanentPublishError) as err:
        world.pub.publish(rendering(unit="x"), key="k")
    assert err.value.holds_channel
    assert (world.outside / "x.html").read_text() == "keep me"
    assert not (world.site / "news").exists()  # nothing half-published


def test_retraction_never_deletes_outside_the_site(world):
    first = world.pub.publish(rendering(slug="x"), key="k")
    # the folder is swapped for a link after the page was published
    (world.site / "news" / "x.html").unlink()
    (world.site / "news").rmdir()
    (world.site / "news").symlink_to(world.outside)
    with pytest.raises(PermanentPublishError) as err:
        world.pub.retract(first, "sai")
    assert err.value.holds_channel
    assert (world.outside / "x.html").read_text() == "keep me"


def test_a_tampered_manifest_path_holds_the_channel_and_deletes_nothing(world):
    first = world.pub.publish(rendering(), key="k")
    world.pub.close()
    manifest = json.loads((world.site / MANIFEST).read_text())
    manifest["articles"][first.remote_id]["path"] = "../../outside/x.html"
    (world.site / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(PermanentPublishError) as err:
        world.pub.retract(first, "sai")
    assert err.value.holds_channel and "has no page path of the form type/slug.html" in err.value.reason
    assert (world.outside / "x.html").read_text() == "keep me"


def test_a_planted_lock_link_does_not_empty_its_target(world):
    world.site.mkdir()
    (world.site / ".loa-site.lock").symlink_to(world.outside / "x.html")
    with pytest.raises(PermanentPublishError):
        world.pub.publish(rendering(), key="k")
    assert (world.outside / "x.html").read_text() == "keep me"


def test_a_planted_temporary_link_is_not_written_through(world):
    world.site.mkdir()
    for pid in range(os.getpid() - 2, os.getpid() + 3):  # the names the publisher used to write through
        (world.site / f".index.html.{pid}.tmp").symlink_to(world.outside / "x.html")
    world.pub.publish(rendering(), key="k")
    world.pub.close()
    assert (world.outside / "x.html").read_text() == "keep me"
    assert "Hướng dẫn nộp hồ sơ" in (world.site / "index.html").read_text()


def test_update_to_a_new_slug_leaves_a_redirect_and_empties_the_old_indexes(world):
    first = world.pub.publish(rendering(slug="cu", unit="phuong-1"), key="k")
    world.pub.close()
    world.pub.update(rendering(slug="moi", unit="phuong-2", version="v2"), first)
    world.pub.close()
    # the old address was shared: it stays, as a page that sends the reader to the new one
    old = (world.site / "news/cu.html").read_text()
    assert 'http-equiv="refresh" content="0; url=moi.html"' in old and (world.site / "news/moi.html").exists()
    assert "Hướng dẫn" not in (world.site / "don-vi/phuong-1.html").read_text()
    assert "Hướng dẫn" in (world.site / "don-vi/phuong-2.html").read_text()


def test_retraction_removes_the_page_and_its_index_entries(world):
    first = world.pub.publish(rendering(), key="k")
    world.pub.close()
    world.pub.retract(first, "sai")
    world.pub.close()
    assert not (world.site / "news/huong-dan.html").exists()
    for index in ("index.html", "loai/news.html", "don-vi/phuong-1.html", "chu-de/cchc.html", "feed.xml"):
        assert "Hướng dẫn" not in (world.site / index).read_text(), index


def test_images_are_copied_under_their_hash(world, tmp_path):
    img = tmp_path / "anh.JPG"
    img.write_bytes(b"\xff\xd8jpeg")
    world.pub.publish(rendering(image=img, image_hash="0123abcd"), key="k")
    assert (world.site / "media/0123abcd.jpg").read_bytes() == b"\xff\xd8jpeg"
    with pytest.raises(PermanentPublishError, match="cannot be copied into the site"):
        world.pub.publish(rendering("20240302-bbbbbb", slug="b", image=img, image_hash="../../x"), key="k2")


# -- 2. control characters -----------------------------------------------------------------------
def test_control_characters_never_reach_the_feed_or_the_pages(world):
    world.pub.publish(rendering(title="Thông báo\x1b[31m khẩn\x0c cấp\x85"), key="k")
    world.pub.close()
    feed = (world.site / "feed.xml").read_text(encoding="utf-8")
    root = ET.fromstring(feed.encode("utf-8"))  # raises on an invalid character
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert "Thông báo[31m khẩn cấp" in titles
    for page in world.site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not any(c in text for c in "\x1b\x0c\x85"), page


# -- 4. an unreadable manifest ---------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[]", b'{"articles": {"x": {"path": "a.html"}}}'])
def test_an_unreadable_manifest_holds_the_channel_and_changes_nothing(world, content):
    first = world.pub.publish(rendering("20240301-aaaaaa", slug="mot"), key="k0")
    world.pub.close()
    (world.site / MANIFEST).write_bytes(content)
    before = snapshot(world.site)
    with pytest.raises(PermanentPublishError) as err:
        world.pub.publish(rendering("20240302-bbbbbb", slug="hai"), key="k1")
    assert err.value.holds_channel
    assert f"the site's manifest {world.site / MANIFEST} cannot be used" in err.value.reason
    assert "delete it to start the indexes afresh" in err.value.hint
    with pytest.raises(PermanentPublishError):
        world.pub.retract(first, "sai")
    assert snapshot(world.site) == before  # the indexes still list the first article; its page is still there
    health = world.pub.check()
    assert not health.ok and "cannot be used" in health.messages[0]


def test_a_missing_manifest_is_a_new_site(world):
    world.pub.publish(rendering(), key="k")
    assert world.pub.check().ok
    assert world.pub.lookup(rendering(), "k") == PublishResult(
        "20240325-abc123", "https://cong.example.vn/news/huong-dan.html", {"path": "news/huong-dan.html", "version": "v1"})


def test_a_damaged_manifest_holds_the_channel_and_loa_site_rebuild_writes_the_site_again(tmp_path, monkeypatch, capsys):
    """Through loa: a damaged manifest holds the portal (nothing rewritten with one article), and
    `loa site rebuild` lists every published article again from the ledger and the content,
    keeps the damaged manifest aside, and lifts the hold; the next publish and a retraction work."""
    from pipeline.cli import main
    from tests.repo import make_repo, post, small_config

    config = small_config(["portal"]) + """
[channels.portal]
type = "static_site"
"""
    root = make_repo(tmp_path, {f"news/p{i}.md": post(id=f"p{i}", title=f"Bài số {i}") for i in range(3)}, config=config)
    monkeypatch.chdir(root)
    assert main(["publish", "--now", "2024-03-25 09:00"]) == 0
    (root / "site" / MANIFEST).write_text("{ not json")
    (root / "content/news/p3.md").write_text(post(id="p3", title="Bài số 3", publish_at="2024-03-25 10:00"))
    capsys.readouterr()
    assert main(["--lang", "en", "publish", "--now", "2024-03-25 11:00"]) == 1
    assert "HELD" in capsys.readouterr().out
    assert "Bài số 3" not in (root / "site/index.html").read_text() and "Bài số 1" in (root / "site/index.html").read_text()
    assert main(["--lang", "en", "site", "rebuild"]) == 0
    out = capsys.readouterr().out
    assert "3 article(s) written again" in out
    assert [p.name.startswith(MANIFEST + ".") for p in (root / "site").glob(MANIFEST + ".*")] == [True]
    assert set(json.loads((root / "site" / MANIFEST).read_text())["articles"]) == {"p0", "p1", "p2"}
    assert main(["publish", "--now", "2024-03-25 11:00"]) == 0
    index = (root / "site/index.html").read_text()
    assert all(f"Bài số {i}" in index for i in range(4))
    (root / "content/news/p1.md").write_text(post(id="p1", title="Bài số 1", retracted="đăng nhầm"))
    assert main(["publish", "--now", "2024-03-25 12:00"]) == 0
    assert "Bài số 1" not in (root / "site/index.html").read_text()
