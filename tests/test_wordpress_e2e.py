"""The sample content published through `loa publish` to a real WordPress, end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.content import read_all
from pipeline.ledger import open_ledger
from tests.repo import approve, make_repo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = "2024-12-20 08:00"


def wp_config(site, extra=""):
    from tests.repo import ROOT

    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    portal = text.index("[channels.portal]")
    end = text.index("[channels.facebook]")
    return (text[:portal] + f'''[channels.portal]
type = "wordpress"
url = "{site.url}"
username = "{site.login('admin')}"
password_env = "LOA_WORDPRESS_PASSWORD"
{extra}

''' + text[end:])


def wp_get(site, route, **params):
    r = site.session().get(site.rest(route), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def by_slug(site, slug):
    return wp_get(site, "/wp/v2/posts", slug=f"{slug},{slug}__trashed", status="any,trash", context="edit")


@pytest.fixture
def repo(tmp_path, wordpress, monkeypatch):
    root = make_repo(tmp_path, config=wp_config(wordpress), sample_content=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LOA_WORDPRESS_PASSWORD", wordpress.password("admin"))
    monkeypatch.setenv("LOA_SERVER_CONFIG", approve({"portal": {"url": wordpress.url,
                                                                "password_env": "LOA_WORDPRESS_PASSWORD"}}))
    # a fresh WordPress database per test would be slow: make the slugs unique to this test instead
    import uuid

    tag = uuid.uuid4().hex[:8]
    for f in (root / "content").rglob("*.md"):
        if f.name == "README.md":
            continue
        t = f.read_text(encoding="utf-8")
        f.write_text(t.replace("\ntitle: ", f"\nslug: t{tag}-{f.stem[:40].rstrip('-')}\ntitle: ", 1), encoding="utf-8")
    return root


def test_sample_content_appears_in_wordpress_with_every_field(repo, wordpress, capsys):
    cfg = load_config(repo / "config.toml", env={})
    posts = [p for p in read_all(cfg)[0] if p.status == "ready" and p.approved_hash]
    assert main(["publish", "--now", NOW]) == 0
    capsys.readouterr()
    lg = open_ledger(None, repo)
    rows = {r.post_id: r for r in lg.rows(channel="portal")}
    lg.close()
    published = [p for p in posts if rows.get(p.id) and rows[p.id].state == "published"]
    assert len(published) >= 12
    categories = {c["id"]: c["slug"] for c in wp_get(wordpress, "/wp/v2/categories", per_page=100)}
    tags = {t["id"]: t["slug"] for t in wp_get(wordpress, "/wp/v2/tags", per_page=100)}
    for p in published:
        (wp,) = by_slug(wordpress, p.slug)
        assert wp["id"] == int(rows[p.id].remote_id)
        assert wp["title"]["raw"] == p.title and wp["status"] == "publish"
        assert categories[wp["categories"][0]] == p.type
        assert sorted(tags[t] for t in wp["tags"]) == sorted(p.topics)
        assert datetime.fromisoformat(wp["date_gmt"] + "+00:00") == p.publish_at  # the original date
        if p.image_path:
            media = wp_get(wordpress, f"/wp/v2/media/{wp['featured_media']}", context="edit")
            assert media["alt_text"] == p.image_alt
    # re-running publishes nothing new
    assert main(["--lang", "en", "publish", "--now", NOW]) == 0
    assert "sent 0, updated 0" in capsys.readouterr().err


def test_edit_updates_the_same_article_and_retraction_trashes_it(repo, wordpress, capsys):
    assert main(["publish", "--now", NOW]) == 0
    f = repo / "content/news/2024/phuong-1-hoi-thi-tim-hieu-cchc-nam-2024.md"
    cfg = load_config(repo / "config.toml", env={})
    post = next(p for p in read_all(cfg)[0] if p.path == f)
    (before,) = by_slug(wordpress, post.slug)
    text = f.read_text(encoding="utf-8")
    f.write_text(text.replace("\nstatus: ready", '\nstatus: ready\ncorrection: "Sửa tên đội đạt giải nhất."'), encoding="utf-8")
    assert main(["approve", str(f.relative_to(repo)), "--by", "Phạm Quốc Bảo"]) == 0
    assert main(["publish", "--now", NOW]) == 0
    (after,) = by_slug(wordpress, post.slug)
    assert after["id"] == before["id"]
    assert "Đính chính" in after["content"]["raw"] and "Sửa tên đội đạt giải nhất." in after["content"]["raw"]
    assert main(["retract", str(f.relative_to(repo)), "--reason", "Thông tin chưa chính xác"]) == 0
    assert main(["publish", "--now", NOW]) == 0
    (gone,) = by_slug(wordpress, post.slug)
    assert gone["id"] == before["id"] and gone["status"] == "trash"


def test_killed_between_201_and_the_ledger_write_leaves_one_article(repo, wordpress, monkeypatch):
    """The publisher process is killed right after WordPress answered 201, before the ledger write."""
    # a 2 s lease (below the 30 s floor, for tests only): leases run in real time, whatever --now says
    monkeypatch.setenv("LOA_MIN_LEASE_SECONDS", "1")
    text = (repo / "config.toml").read_text(encoding="utf-8")
    (repo / "config.toml").write_text(text.replace('[daemon]\n', '[daemon]\nlease = "2s"\n', 1), encoding="utf-8")
    cfg = load_config(repo / "config.toml", env={})
    post = next(p for p in read_all(cfg)[0] if p.path.name == "phuong-1-hoi-thi-tim-hieu-cchc-nam-2024.md")
    code = f'''
import os, signal, sys
import publishers.wordpress as wp
orig = wp.WordPressPublisher._send
def send_then_die(self, rendering, key):
    result = orig(self, rendering, key)
    os.kill(os.getpid(), signal.SIGKILL)   # after the 201, before the ledger records it
wp.WordPressPublisher._send = send_then_die
from pipeline.cli import main
sys.exit(main(["publish", "--now", "{NOW}", "--post", "{post.id}"]))
'''
    env = dict(os.environ, LOA_WORDPRESS_PASSWORD=wordpress.password("admin"))
    r = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert len(by_slug(wordpress, post.slug)) == 1
    lg = open_ledger(None, repo)
    assert lg.get(post.id, "portal").state == "claimed"
    lg.close()
    # after restart, once the lease has expired: found by slug, recorded, not re-created
    time.sleep(2.5)
    later = "2024-12-20 08:10"
    r = subprocess.run([sys.executable, "-m", "pipeline", "--lang", "en", "publish", "--now", later, "--post", post.id],
                       cwd=repo, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reconciled" in r.stdout and "already published" in r.stdout
    found = by_slug(wordpress, post.slug)
    assert len(found) == 1
    lg = open_ledger(None, repo)
    row = lg.get(post.id, "portal")
    lg.close()
    assert row.state == "published" and int(row.remote_id) == found[0]["id"]


def test_wrong_password_holds_the_channel_with_the_message_a_user_needs(repo, wordpress, monkeypatch, capsys):
    monkeypatch.setenv("LOA_WORDPRESS_PASSWORD", "abcd efgh ijkl mnop qrst uvwx")
    assert main(["--lang", "en", "publish", "--now", NOW]) == 1
    out = capsys.readouterr().out
    assert "CHANNEL portal HELD" in out
    assert "abcd efgh" not in out
    assert main(["status", "--now", NOW, "--lang", "en"]) == 1
    status = capsys.readouterr().out
    assert "!! CHANNEL portal HELD" in status


def test_a_staff_article_holding_a_slug_is_left_alone_and_loa_status_says_so(repo, wordpress, capsys):
    """Issue 16, finding 5: the slug lookup used to take a person's article over and republish it."""
    cfg = load_config(repo / "config.toml", env={})
    post = next(p for p in read_all(cfg)[0] if p.path.name == "phuong-1-hoi-thi-tim-hieu-cchc-nam-2024.md")
    s = wordpress.session()
    r = s.post(wordpress.rest("/wp/v2/posts"), json={"title": "Bài riêng của cán bộ", "slug": post.slug,
                                                     "status": "private", "content": "<p>Không được sửa.</p>"})
    assert r.status_code == 201, r.text
    human = r.json()
    assert main(["publish", "--now", NOW, "--post", post.id]) == 1
    capsys.readouterr()
    after = wp_get(wordpress, f"/wp/v2/posts/{human['id']}", context="edit")
    assert (after["status"], after["title"]["raw"], after["content"]["raw"]) == (
        "private", "Bài riêng của cán bộ", "<p>Không được sửa.</p>")
    assert [p["id"] for p in by_slug(wordpress, post.slug)] == [human["id"]]
    lg = open_ledger(None, repo)
    row = lg.get(post.id, "portal")
    lg.close()
    assert row.state == "failed" and row.remote_id is None
    main(["status", "--now", NOW, "--lang", "en"])
    status = capsys.readouterr().out
    assert f"already taken on WordPress by post {human['id']}" in status, status


def test_a_refused_batch_lookup_leaves_each_article_to_its_own_request(repo, wordpress, monkeypatch, capsys):
    """The look-up of many slugs at once before the creates is only a speed-up: WordPress (here a
    plugin behind the proxy) refusing it with HTTP 400 left the channel for the pass, with no ledger
    row (loa status said "due" and the refusal was lost), on every pass. Now each article asks on its
    own, is published, and a refusal would be recorded on it."""
    from tests.test_wordpress import Proxy

    cfg = load_config(repo / "config.toml", env={})
    post = next(p for p in read_all(cfg)[0] if p.path.name == "phuong-1-hoi-thi-tim-hieu-cchc-nam-2024.md")
    refused = {"code": "rest_invalid_param", "message": "Invalid parameter(s): slug", "data": {"status": 400}}
    with Proxy(wordpress.url) as proxy:
        config = (repo / "config.toml").read_text(encoding="utf-8")
        (repo / "config.toml").write_text(config.replace(f'url = "{wordpress.url}"', f'url = "{proxy.url}"'),
                                          encoding="utf-8")
        monkeypatch.setenv("LOA_SERVER_CONFIG", approve({"portal": {"url": proxy.url,
                                                                    "password_env": "LOA_WORDPRESS_PASSWORD"}}))
        for _ in range(3):
            proxy.inject(lambda r: r.method == "GET" and r.query.get("_fields") == ["slug"], status=400, body=refused)
        assert main(["--lang", "en", "publish", "--now", NOW, "--post", post.id]) == 0, capsys.readouterr()
        assert any(r.query.get("_fields") == ["slug"] for r in proxy.calls("GET", "/wp/v2/posts"))  # it was refused
    capsys.readouterr()
    lg = open_ledger(None, repo)
    row = lg.get(post.id, "portal")
    lg.close()
    assert row.state == "published" and [p["id"] for p in by_slug(wordpress, post.slug)] == [int(row.remote_id)]
