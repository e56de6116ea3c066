"""The WordPress publisher against a real WordPress 6.1 on loopback (fixture in tests/wordpress.py)."""

from __future__ import annotations

import logging
import secrets
import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import requests

from pipeline.errors import ConfigError, PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.models import PublishResult, Rendering
from publishers.wordpress import WordPressPublisher
from tests.servers.base import Request, Response, VendorServer
from tests.wordpress import WordPressSite, wordpress  # noqa: F401  (the session fixture)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RUN = secrets.token_hex(3)  # slugs unique per session: the test instance keeps its database between runs
NOW = datetime(2026, 3, 2, 8, 30, tzinfo=TZ)


def png(path: Path, rgb: tuple[int, int, int]) -> Path:
    """A valid 4x4 one-colour PNG (WordPress reads it with GD)."""
    raw = b"".join(b"\x00" + bytes(rgb) * 4 for _ in range(4))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def rendering(name: str, *, title: str = "Hướng dẫn nộp hồ sơ trực tuyến", image: Path | None = None,
              alt: str | None = None, type_: str = "tin-tuc", type_label: str = "Tin tức",
              topics: tuple[str, ...] = ("cchc", "dvctt"), publish_at: datetime = NOW, **extra) -> Rendering:
    body = f"<p>{title}: người dân nộp hồ sơ qua Cổng dịch vụ công.</p>\n"
    ex = {"slug": f"t{RUN}-{name}", "summary": "Tóm tắt: nộp hồ sơ trực tuyến.", "type": type_,
          "type_label": type_label, "topics": list(topics),
          "topic_labels": {"cchc": "Cải cách hành chính", "dvctt": "Dịch vụ công trực tuyến"},
          "unit": "vp", "unit_name": "Văn phòng", "author": "Tổ truyền thông", "publish_at": publish_at,
          "correction": None, "retracted": None, **extra}
    return Rendering(post_id=f"2026/{name}", channel="portal", channel_type="wordpress", kind="article",
                     title=title, body=body, length=len(body), limit=None, source_hash="s" + name, hash="h" + name,
                     image_path=image, image_alt=alt, link=None, extra=MappingProxyType(ex))


def publisher(site: WordPressSite, role: str = "admin", *, password: str | None = None, url: str | None = None,
              state=None, **opts) -> WordPressPublisher:
    options = {"url": url or site.url, "username": site.login(role), "password_env": "LOA_WP_PASSWORD", **opts}
    return WordPressPublisher("portal", options, env={"LOA_WP_PASSWORD": password or site.password(role)}, state=state)


def read_post(site: WordPressSite, post_id: str) -> dict:
    r = site.session().get(site.rest(f"/wp/v2/posts/{post_id}"), params={"context": "edit"})
    assert r.status_code == 200, r.text
    return r.json()


def posts_with_slug(site: WordPressSite, slug: str) -> list[dict]:
    r = site.session().get(site.rest("/wp/v2/posts"), params={"slug": f"{slug},{slug}__trashed", "status": "any,trash",
                                                              "context": "edit", "_fields": "id,status,slug"})
    return r.json()


class Proxy(VendorServer):
    """A reverse proxy in front of WordPress, with the base server's fault injection."""

    def __init__(self, upstream: str, *, strip_app_passwords: bool = False):
        super().__init__()
        self.upstream = upstream
        self.strip_app_passwords = strip_app_passwords

    def handle(self, req: Request) -> Response:
        headers = {k: v for k, v in req.headers.items() if k in ("authorization", "content-type", "content-disposition")}
        r = requests.request(req.method, self.upstream + req.path + "?" + urlencode(req.query, doseq=True),
                             headers=headers, data=req.body, timeout=30)
        body = r.content
        is_index = req.path == "/wp-json/" or req.query.get("rest_route") == ["/"]
        if self.strip_app_passwords and is_index:  # what WordPress answers when they are unavailable
            data = r.json()
            data.pop("authentication", None)
            return Response(r.status_code, data)
        return Response(r.status_code, body, {"Content-Type": r.headers.get("Content-Type", "application/json")})


def inject_always(proxy: Proxy, match, **kw) -> None:
    """The same fault for the next several matching requests (the base server's faults are one-shot)."""
    for _ in range(6):
        proxy.inject(match, **kw)


def lookups(proxy: Proxy) -> list[Request]:
    """The article lookups that went through ``proxy`` (not the once-a-while check of Loa's mark)."""
    return [q for q in proxy.calls("GET", "/wp-json/wp/v2/posts") if "_method" not in q.query]


@pytest.fixture
def proxy(wordpress):
    with Proxy(wordpress.url) as p:
        yield p


# -- creating, updating, retracting ----------------------------------------------------------------
def test_create_writes_every_field_and_the_image(wordpress, tmp_path):
    pub = publisher(wordpress)
    image = png(tmp_path / "anh-bia.png", (200, 30, 30))
    r = rendering("create", image=image, alt="Người dân nộp hồ sơ tại bộ phận một cửa", image_caption="Ảnh: UBND phường")
    result = pub.publish(r, key="k1")

    post = read_post(wordpress, result.remote_id)
    assert post["title"]["raw"] == "Hướng dẫn nộp hồ sơ trực tuyến"
    assert post["slug"] == f"t{RUN}-create" and post["status"] == "publish"
    assert post["excerpt"]["raw"] == "Tóm tắt: nộp hồ sơ trực tuyến."
    assert "Cổng dịch vụ công" in post["content"]["raw"]
    assert post["date"] == "2026-03-02T08:30:00" and post["date_gmt"] == "2026-03-02T01:30:00"
    assert result.remote_url == post["link"] and result.extra["slug"] == post["slug"]
    s = wordpress.session()
    cats = s.get(wordpress.rest("/wp/v2/categories"), params={"include": ",".join(map(str, post["categories"]))}).json()
    assert [(c["slug"], c["name"]) for c in cats] == [("tin-tuc", "Tin tức")]
    tags = s.get(wordpress.rest("/wp/v2/tags"), params={"include": ",".join(map(str, post["tags"]))}).json()
    assert sorted((t["slug"], t["name"]) for t in tags) == [("cchc", "Cải cách hành chính"),
                                                              ("dvctt", "Dịch vụ công trực tuyến")]
    media = s.get(wordpress.rest(f"/wp/v2/media/{post['featured_media']}"), params={"context": "edit"}).json()
    assert media["alt_text"] == "Người dân nộp hồ sơ tại bộ phận một cửa"
    assert media["caption"]["raw"] == "Ảnh: UBND phường"
    assert media["mime_type"] == "image/png"
    assert requests.get(media["source_url"]).content == image.read_bytes()
    assert list(result.extra["media"].values()) == [post["featured_media"]]


def test_loa_images_are_served_at_an_address_known_before_the_upload(wordpress, tmp_path):
    """The Loa plugin puts Loa's uploads in uploads/loa/ under their content-hash name, so a Zalo
    cover can point at the portal's copy (channels.<zalo>.media_names = "wordpress")."""
    import hashlib

    pub = publisher(wordpress)
    image = png(tmp_path / "bia-zalo.png", (30, 90, 200))
    result = pub.publish(rendering("zalo-cover", image=image, alt="Ảnh bìa"), key="k-zalo")
    post = read_post(wordpress, result.remote_id)
    media = wordpress.session().get(wordpress.rest(f"/wp/v2/media/{post['featured_media']}")).json()
    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    assert media["source_url"] == f"{wordpress.url}/wp-content/uploads/loa/loa-img-{sha[:20]}.png"
    assert requests.get(media["source_url"]).content == image.read_bytes()


def test_update_keeps_the_article_and_does_not_upload_the_image_again(wordpress, tmp_path):
    pub = publisher(wordpress)
    image = png(tmp_path / "a.png", (10, 120, 10))
    first = pub.publish(rendering("update", image=image, alt="Ảnh cũ"), key="k")
    # A new publisher (a later run) with the ledger's extra: the unchanged image is reused.
    pub2 = publisher(wordpress)
    second = pub2.update(rendering("update", title="Đính chính: hướng dẫn nộp hồ sơ", image=image, alt="Ảnh mới"),
                         first)
    assert second.remote_id == first.remote_id
    post = read_post(wordpress, second.remote_id)
    assert post["title"]["raw"] == "Đính chính: hướng dẫn nộp hồ sơ"
    assert post["featured_media"] == first.extra["media"][next(iter(first.extra["media"]))]
    media = wordpress.session().get(wordpress.rest("/wp/v2/media"), params={
        "slug": f"loa-img-{next(iter(first.extra['media']))[:20]}", "context": "edit"}).json()
    assert len(media) == 1 and media[0]["alt_text"] == "Ảnh mới"
    # Without the image any more: the featured image is removed, not left behind.
    third = pub2.update(rendering("update"), second)
    assert read_post(wordpress, third.remote_id)["featured_media"] == 0


def test_retraction_trashes_and_lookup_finds_live_and_trashed_articles(wordpress):
    pub = publisher(wordpress)
    r = rendering("retract")
    assert pub.lookup(r, "k") is None
    result = pub.publish(r, key="k")
    found = pub.lookup(r, "k")
    assert (found.remote_id, found.extra["trashed"], found.extra["status"]) == (result.remote_id, False, "publish")

    pub.retract(result, "sai thông tin")
    post = read_post(wordpress, result.remote_id)
    assert post["status"] == "trash" and post["slug"] == f"t{RUN}-retract__trashed"
    found = pub.lookup(r, "k")
    assert (found.remote_id, found.extra["trashed"]) == (result.remote_id, True)
    pub.retract(result, "again")  # 410 rest_already_trashed: already done, not an error

    # Published again after the retraction: the same article comes back, no second one.
    again = pub.publish(r, key="k2")
    assert again.remote_id == result.remote_id
    assert [p["status"] for p in posts_with_slug(wordpress, f"t{RUN}-retract")] == ["publish"]


def test_retraction_with_trash_force_deletes(wordpress):
    pub = publisher(wordpress, trash_force=True)
    result = pub.publish(rendering("force"), key="k")
    pub.retract(result, "xoá")
    r = wordpress.session().get(wordpress.rest(f"/wp/v2/posts/{result.remote_id}"))
    assert r.status_code == 404 and r.json()["code"] == "rest_post_invalid_id"
    pub.retract(result, "again")  # already gone


def test_a_lost_create_answer_never_makes_a_second_article(wordpress):
    """Killed between WordPress's 201 and the ledger write: the engine sends again; still one article."""
    r = rendering("lost")
    first = publisher(wordpress).publish(r, key="k")
    again = publisher(wordpress).publish(r, key="k")  # a new process, no memory of the first answer
    assert again.remote_id == first.remote_id
    assert len(posts_with_slug(wordpress, f"t{RUN}-lost")) == 1


def test_prefetch_batches_lookups_but_never_vouches_twice(wordpress, proxy):
    existing = publisher(wordpress).publish(rendering("pre-old"), key="k")
    pub = publisher(wordpress, url=proxy.url, rest_form="wp-json")
    old, new = rendering("pre-old"), rendering("pre-new")
    pub.prefetch([old, new])
    assert len(lookups(proxy)) == 1
    assert pub.publish(old, key="k").remote_id == existing.remote_id  # present: updated, not created
    created = pub.publish(new, key="k")
    assert len(lookups(proxy)) == 2  # only the present one was looked up again
    # The same post again (its answer was lost): the prefetch no longer vouches, WordPress is asked.
    assert pub.publish(new, key="k").remote_id == created.remote_id
    assert len(lookups(proxy)) == 3
    assert len(posts_with_slug(wordpress, f"t{RUN}-pre-new")) == 1


def test_site_and_term_ids_are_remembered_between_runs(wordpress, proxy):
    """A daemon pass that publishes one article should not ask for the REST index and every term
    again: the next publisher (sharing the ledger's state store) goes straight to the create."""
    from publishers.base import MemoryState

    state = MemoryState()
    first = WordPressPublisher("portal", {"url": proxy.url, "username": wordpress.login(), "password_env": "PW",
                                          "rest_form": "wp-json"}, env={"PW": wordpress.password()}, state=state)
    first.publish(rendering("mem-1"), key="k")
    assert any(r.path == "/wp-json/" for r in proxy.requests) and proxy.calls("GET", "/wp-json/wp/v2/tags")
    proxy.requests.clear()
    second = WordPressPublisher("portal", {"url": proxy.url, "username": wordpress.login(), "password_env": "PW",
                                           "rest_form": "wp-json"}, env={"PW": wordpress.password()}, state=state)
    created = second.publish(rendering("mem-2"), key="k")
    assert [(r.method, r.path) for r in proxy.requests] == [("GET", "/wp-json/wp/v2/posts"),
                                                            ("POST", "/wp-json/wp/v2/posts")]
    post = read_post(wordpress, created.remote_id)
    assert len(post["tags"]) == 2 and len(post["categories"]) == 1


def test_a_remembered_tag_deleted_on_the_site_is_looked_up_again_and_set(wordpress, caplog):
    """WordPress drops an unknown term id silently; the article must still end up with its tags."""
    from publishers.base import MemoryState

    state = MemoryState()
    topic = f"xoa-{RUN}"
    r1 = rendering("deltag-1", topics=(topic,))
    publisher(wordpress, state=state).publish(r1, key="k")
    remembered = dict(state._d)  # the remembered ids
    session = wordpress.session()
    old = session.get(wordpress.rest("/wp/v2/tags"), params={"slug": topic}).json()[0]["id"]
    assert session.delete(wordpress.rest(f"/wp/v2/tags/{old}"), params={"force": "true"}).status_code == 200
    created = publisher(wordpress, state=state).publish(rendering("deltag-2", topics=(topic,)), key="k")
    tags = read_post(wordpress, created.remote_id)["tags"]
    assert len(tags) == 1 and tags[0] != old
    assert session.get(wordpress.rest(f"/wp/v2/tags/{tags[0]}")).json()["slug"] == topic
    assert remembered != dict(state._d)
    assert "did not keep the terms" in caplog.text


def test_proxy_502_after_the_create_is_transient_and_the_retry_finds_the_article(wordpress, proxy):
    proxy.inject(lambda q: q.method == "POST" and q.path == "/wp-json/wp/v2/posts", after=True, status=502,
                 body=b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", headers={"Content-Type": "text/html"})
    pub = publisher(wordpress, url=proxy.url, rest_form="wp-json")
    r = rendering("proxy502")
    with pytest.raises(TransientPublishError) as err:
        pub.publish(r, key="k")
    assert err.value.reason == ("the proxy in front of WordPress answered 502 Bad Gateway instead of WordPress "
                                "when trying to create the article")
    assert err.value.vendor_message == "502 Bad Gateway nginx" and err.value.status == 502
    result = pub.publish(r, key="k")  # the engine's retry
    assert [p["id"] for p in posts_with_slug(wordpress, f"t{RUN}-proxy502")] == [int(result.remote_id)]
    assert len(proxy.calls("POST", "/wp-json/wp/v2/posts")) == 2  # the create, then the in-place update


def test_timeout_is_transient(wordpress, proxy):
    proxy.inject(lambda q: q.path == "/wp-json/wp/v2/posts", delay=1.5)
    pub = publisher(wordpress, url=proxy.url, rest_form="wp-json", timeout=0.5)
    with pytest.raises(TransientPublishError) as err:
        pub.publish(rendering("timeout"), key="k")
    assert err.value.reason == "the server did not answer in time"


@pytest.mark.parametrize("form", ["wp-json", "rest_route", "auto"])
def test_both_url_forms(wordpress, form):
    pub = publisher(wordpress, rest_form=form)
    r = rendering(f"form-{form.replace('_', '')}")
    result = pub.publish(r, key="k")
    assert pub.lookup(r, "k").remote_id == result.remote_id
    assert pub.update(r, result).remote_id == result.remote_id
    assert pub.rest.form == ("wp-json" if form == "auto" else form)


# -- errors a person must act on ----------------------------------------------------------------------
def test_wrong_password_is_an_auth_error_with_a_hint(wordpress):
    pub = publisher(wordpress, password="abcd EFGH ijkl MNOP qrst UVWX")
    with pytest.raises(PublisherAuthError) as err:
        pub.publish(rendering("wrongpw"), key="k")
    e = err.value
    assert e.status == 401
    assert e.reason.startswith("WordPress refused to let 'loa-admin' look the article up by its slug: ")
    assert "application password" in e.hint and "Editor" in e.hint and "LOA_WP_PASSWORD" in e.hint
    health = pub.check()
    assert not health.ok and health.messages[0].startswith("WordPress refused to let 'loa-admin' read its own profile")


def test_contributor_is_told_what_is_missing(wordpress):
    pub = publisher(wordpress, "contributor")
    health = pub.check()
    assert not health.ok and health.identity.startswith("loa-contributor (loa-contributor, contributor)")
    assert ("loa-contributor (contributor) cannot publish articles: capability publish_posts is missing; "
            "give the user the Editor role") in health.messages
    assert any("cannot upload featured images" in m for m in health.messages)

    with pytest.raises(PublisherAuthError) as err:
        pub.publish(rendering("contrib"), key="k")
    assert err.value.status == 403 and err.value.code == "rest_cannot_publish"
    assert err.value.reason == ("WordPress refused to let 'loa-contributor' create the article: Sorry, you are not "
                                "allowed to publish posts in this post type. [rest_cannot_publish]")
    with pytest.raises(PublisherAuthError) as err:
        pub.publish(rendering("contrib2", type_=f"loai-{RUN}", type_label=f"Loại {RUN}"), key="k")
    assert err.value.code == "rest_cannot_create" and "create the category" in err.value.reason
    assert posts_with_slug(wordpress, f"t{RUN}-contrib") == []


def test_author_is_told_it_cannot_create_categories(wordpress):
    health = publisher(wordpress, "author").check()
    assert not health.ok
    assert health.messages[1:] == ("loa-author (author) cannot create a missing category for a new post type: "
                                   "capability manage_categories is missing; give the user the Editor role",)


def test_missing_password_variable_and_a_site_without_wordpress(wordpress):
    pub = WordPressPublisher("portal", {"url": wordpress.url, "username": "loa-admin", "password_env": "LOA_NOPE"},
                             env={})
    assert pub.check().messages == ("environment variable LOA_NOPE is not set", "set LOA_NOPE in the service environment")

    class NotWordPress(VendorServer):
        def handle(self, req: Request) -> Response:
            return Response(404, b"<html>Not Found</html>", {"Content-Type": "text/html"})

    with NotWordPress() as site:
        url = site.url
        with pytest.raises(PermanentPublishError) as err:
            publisher(wordpress, url=url).publish(rendering("nowp"), key="k")
    assert err.value.reason == (f"no WordPress REST API found at {url} (tried {url}/wp-json/ -> HTTP 404; "
                                f"{url}/?rest_route=/ -> HTTP 404)")


def test_channels_check_asks_the_site_not_the_memory(wordpress):
    """What a publish remembered (REST form, application passwords on) must not hide a site that
    changed since: `loa channels check` discovers it again."""
    from publishers.base import MemoryState

    state = MemoryState()
    with Proxy(wordpress.url) as open_proxy:
        opts = {"url": open_proxy.url, "username": wordpress.login(), "password_env": "PW", "rest_form": "wp-json"}
        WordPressPublisher("portal", opts, env={"PW": wordpress.password()}, state=state).publish(
            rendering("chk-mem"), key="k")
        assert "site" in " ".join(state._d)
        open_proxy.strip_app_passwords = True  # the site turned application passwords off since
        health = WordPressPublisher("portal", opts, env={"PW": wordpress.password()}, state=state).check()
    assert not health.ok
    assert "does not accept application passwords" in " ".join(health.messages)


def test_admin_check_is_ok(wordpress):
    health = publisher(wordpress).check()
    assert health.ok, health.messages
    assert health.identity == "loa-admin (loa-admin, administrator)"
    assert health.messages == (f"signed in to {wordpress.url} as loa-admin (loa-admin, administrator) with an "
                               "application password (REST form wp-json)",)


def test_unknown_category_id_is_refused_before_wordpress_drops_it(wordpress):
    pub = publisher(wordpress, category_map={"tin-tuc": 999999})
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("badcat"), key="k")
    assert err.value.reason == ("WordPress refused to use category 999999 (channels.portal.category_map.tin-tuc): "
                                "Term does not exist. [rest_term_invalid]")
    assert posts_with_slug(wordpress, f"t{RUN}-badcat") == []
    assert not pub.check().ok


def test_a_400_from_wordpress_is_surfaced(wordpress):
    pub = publisher(wordpress)
    pub.opts = MappingProxyType({**pub.opts, "status": "publsh"})  # past Loa's own checks: WordPress must refuse it
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("badstatus"), key="k")
    e = err.value
    assert (e.status, e.code, type(e)) == (400, "rest_invalid_param", PermanentPublishError)
    assert e.reason == ("WordPress refused to create the article: Invalid parameter(s): status (status: status is "
                        "not one of publish, future, draft, pending, and private.) [rest_invalid_param]")


def test_plain_http_without_application_passwords_is_refused_before_sending_credentials(wordpress):
    with Proxy(wordpress.url, strip_app_passwords=True) as p:
        pub = publisher(wordpress, url=p.url)
        with pytest.raises(PublisherAuthError) as err:
            pub.publish(rendering("noapp"), key="k")
        assert "does not accept application passwords (over plain http WordPress 6.1 accepts them only when its " \
               "environment type is 'local')" in err.value.reason
        assert "ignore Loa's credentials silently" in err.value.reason
        assert all("authorization" not in q.headers for q in p.requests)
        assert not pub.check().ok


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError) as err:
        WordPressPublisher("portal", {"url": "ftp://x", "username": "u", "password_env": "P", "rest_form": "json",
                                      "status": "publsh", "category_map": {"tin-tuc": 1.5}})
    assert sorted(k for k, _ in err.value.errors) == ["channels.portal.category_map.tin-tuc", "channels.portal.rest_form",
                                                      "channels.portal.status", "channels.portal.url"]


def test_the_password_never_reaches_logs_or_errors(wordpress, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    good = wordpress.password()
    pub = publisher(wordpress)
    pub.publish(rendering("logs", image=png(tmp_path / "l.png", (1, 2, 3)), alt="a"), key="k")
    pub.check()
    bad = "Zz9Zz9Zz9Zz9Zz9Zz9Zz9Zz9"
    with pytest.raises(PublisherAuthError) as err:
        publisher(wordpress, password=bad).publish(rendering("logs"), key="k")
    shown = caplog.text + str(err.value) + (err.value.hint or "") + (err.value.vendor_message or "")
    assert "created post" in caplog.text  # the log did record the work
    for secret in (good, bad, good.replace(" ", "")):
        assert secret not in shown


# -- Loa adopts only what it wrote (issue 16, finding 5) ----------------------------------------------
def human_post(site: WordPressSite, slug: str, status: str, role: str = "admin") -> dict:
    """An article a staff member wrote in WordPress itself (no Loa mark)."""
    r = site.session(role).post(site.rest("/wp/v2/posts"), json={
        "title": "Bài của cán bộ", "content": "<p>Viết tay trên WordPress.</p>", "slug": slug, "status": status})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("status", ["publish", "private", "draft"])
def test_a_staff_article_with_the_same_slug_is_never_touched(wordpress, status):
    slug = f"t{RUN}-human-{status}"
    human = human_post(wordpress, slug, status)
    before = read_post(wordpress, human["id"])
    pub = publisher(wordpress)
    r = rendering(f"human-{status}")
    with pytest.raises(PermanentPublishError):  # never reported as Loa's article
        pub.lookup(r, "k")
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(r, key="k")
    e = err.value
    assert e.code == "slug-taken" and type(e) is PermanentPublishError
    assert e.reason.startswith(f"the slug {slug!r} is already taken on WordPress by post {human['id']} ({status}, ")
    assert "Loa did not publish it, so Loa leaves it untouched" in e.reason and "slug:" in e.hint
    after = read_post(wordpress, human["id"])
    assert (after["status"], after["slug"], after["title"]["raw"], after["content"]["raw"], after["modified_gmt"]) == (
        before["status"], before["slug"], before["title"]["raw"], before["content"]["raw"], before["modified_gmt"])
    assert [p["id"] for p in posts_with_slug(wordpress, slug)] == [human["id"]]  # no slug-2 beside it


def test_a_trashed_staff_article_stays_in_the_trash_and_loa_creates_its_own(wordpress):
    slug = f"t{RUN}-human-trash"
    human = human_post(wordpress, slug, "publish")
    s = wordpress.session()
    assert s.delete(wordpress.rest(f"/wp/v2/posts/{human['id']}")).status_code == 200  # to the trash
    pub = publisher(wordpress)
    r = rendering("human-trash")
    assert pub.lookup(r, "k") is None
    result = pub.publish(r, key="k")
    assert int(result.remote_id) != human["id"]
    trashed = read_post(wordpress, human["id"])
    assert trashed["status"] == "trash" and trashed["title"]["raw"] == "Bài của cán bộ"
    mine = read_post(wordpress, result.remote_id)
    assert mine["slug"] == slug and mine["meta"]["_loa_post_id"] == r.post_id
    # retracting Loa's article trashes Loa's article, not the person's
    pub.retract(result, "thu hồi")
    assert read_post(wordpress, result.remote_id)["status"] == "trash"
    assert read_post(wordpress, human["id"])["title"]["raw"] == "Bài của cán bộ"


def test_another_loa_post_with_the_same_slug_is_not_taken_over(wordpress):
    """Two Markdown posts with one slug (a check error, see test_slug_collision_across_years_...)."""
    pub = publisher(wordpress)
    first = pub.publish(rendering("twin"), key="k")
    other = Rendering(**{**rendering("twin").__dict__, "post_id": "2027/twin"})
    with pytest.raises(PermanentPublishError) as err:
        publisher(wordpress).publish(other, key="k")
    assert f"Loa published it for another post, {rendering('twin').post_id}" in err.value.reason
    assert read_post(wordpress, first.remote_id)["meta"]["_loa_post_id"] == rendering("twin").post_id


def test_a_site_without_the_marker_plugin_gets_nothing(wordpress, proxy):
    """WordPress drops unregistered meta silently: without the plugin Loa could not tell its own
    articles from the staff's, so it refuses before creating anything, and says how to fix it."""
    def no_marker(q):
        return q.method == "GET" and q.query.get("_method") == ["OPTIONS"]

    proxy.inject(no_marker, status=200, body={"schema": {"properties": {"meta": {"type": "object", "properties": {}}}}})
    pub = publisher(wordpress, url=proxy.url, rest_form="wp-json")
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("nomark"), key="k")
    assert "does not keep Loa's mark (_loa_post_id)" in err.value.reason
    assert "scripts/wordpress/loa-post-marker.php" in err.value.hint and "mu-plugins" in err.value.hint
    assert posts_with_slug(wordpress, f"t{RUN}-nomark") == []
    proxy.inject(no_marker, status=200, body={"schema": {"properties": {"meta": []}}})
    health = publisher(wordpress, url=proxy.url, rest_form="wp-json").check()
    assert not health.ok and any("does not keep Loa's mark" in m for m in health.messages)


def test_every_article_carries_the_mark(wordpress):
    result = publisher(wordpress).publish(rendering("marked"), key="k")
    assert read_post(wordpress, result.remote_id)["meta"] == {"_loa_post_id": rendering("marked").post_id}
    anonymous = requests.get(wordpress.rest(f"/wp/v2/posts/{result.remote_id}")).json()
    assert "_loa_post_id" not in (anonymous.get("meta") or {})  # only editors see it


# -- the body: only the article, its images on WordPress (finding 6) ----------------------------------
def test_only_the_body_is_sent_and_its_images_are_uploaded_once(wordpress, tmp_path):
    folder = tmp_path / "news" / "2026"
    (folder / "images").mkdir(parents=True)
    cover = png(folder / "images" / "bia.png", (9, 9, 9))
    inline = png(folder / "images" / "so-do.png", (40, 80, 160))
    body = ('<article class="loa-article" lang="vi" data-post-id="2026/body">\n  <header>\n'
            '    <p class="loa-meta"><span class="loa-type">Tin tức</span> · Văn phòng</p>\n'
            '    <h1>Tiêu đề</h1>\n    <p class="loa-summary"><strong>Tóm tắt</strong></p>\n  </header>\n'
            '  <aside class="correction" role="note">\n    <p><strong>Đính chính:</strong> Sửa số liệu.</p>\n  </aside>\n'
            '  <figure class="loa-figure">\n    <img src="images/bia.png" alt="bìa" loading="lazy">\n  </figure>\n'
            '  <div class="loa-body">\n<p>Đoạn một.</p>\n<div class="note"><p><img alt="sơ đồ" src="images/so-do.png">'
            '</p></div>\n<p><img src="https://example.org/x.png" alt="ngoài"></p>\n  </div>\n'
            '  <footer><p class="loa-topics">Chủ đề: CCHC</p></footer>\n</article>\n')
    r = rendering("body", image=cover, alt="bìa")
    r = Rendering(**{**r.__dict__, "body": body})
    from publishers.base import MemoryState

    state = MemoryState()
    pub = publisher(wordpress, state=state)
    result = pub.publish(r, key="k")
    content = read_post(wordpress, result.remote_id)["content"]["raw"]
    assert "<h1>" not in content and "loa-meta" not in content and "loa-summary" not in content
    assert "loa-figure" not in content and "loa-topics" not in content  # featured image and tags instead
    assert content.startswith('<aside class="correction"') and "<p>Đoạn một.</p>" in content
    assert '<div class="note">' in content and content.count("<div") == content.count("</div>")  # loa-body's own div gone
    assert 'src="images/' not in content and 'src="https://example.org/x.png"' in content
    (media_id,) = result.extra["body_media"].values()
    media = wordpress.session().get(wordpress.rest(f"/wp/v2/media/{media_id}")).json()
    assert f'src="{media["source_url"]}"' in content
    assert requests.get(media["source_url"]).content == inline.read_bytes()
    # an update (another run, same state) uploads nothing again
    uploads = []
    pub2 = publisher(wordpress, state=state)
    orig = pub2.rest.call

    def spy(method, route, *a, **kw):
        if method == "POST" and route == "/wp/v2/media":
            uploads.append(route)
        return orig(method, route, *a, **kw)

    pub2.rest.call = spy
    pub2.update(r, result)
    assert uploads == []
    # a body image outside the content folder is never uploaded
    secret = tmp_path / "outside.png"
    png(secret, (1, 1, 1))
    bad = Rendering(**{**r.__dict__, "post_id": "2026/body-out", "extra": MappingProxyType(
        {**r.extra, "slug": f"t{RUN}-body-out", "source_dir": str(folder)}),
        "body": body.replace("images/so-do.png", "../../outside.png")})
    pub3 = publisher(wordpress)
    pub3.site = type("Cfg", (), {"content_dir": tmp_path / "news"})()
    with pytest.raises(PermanentPublishError) as err:
        pub3.publish(bad, key="k")
    assert "outside the content folder" in err.value.reason


# -- a firewall, a closed REST API, a TLS proxy (finding 8) -------------------------------------------
def test_a_firewall_403_is_not_an_application_password_failure(wordpress, proxy):
    proxy.inject(lambda q: q.method == "POST" and q.path == "/wp-json/wp/v2/posts", status=403,
                 body=b"<html><title>Attention Required! | Cloudflare</title>Sorry, you have been blocked</html>",
                 headers={"Content-Type": "text/html", "CF-RAY": "8a1b2c3d4e5f-SIN"})
    pub = publisher(wordpress, url=proxy.url, rest_form="wp-json")
    with pytest.raises(PermanentPublishError) as err:
        pub.publish(rendering("waf"), key="k")
    e = err.value
    assert type(e) is PermanentPublishError and not isinstance(e, PublisherAuthError)
    assert e.reason.startswith("a firewall in front of WordPress (Cloudflare) refused to let Loa create the article "
                               "(HTTP 403 Forbidden, not an answer of WordPress")
    assert e.code == "not-wordpress" and "REST API" in e.hint


def test_a_firewall_on_the_index_is_named_not_called_no_rest_api(wordpress, proxy):
    inject_always(proxy, lambda q: q.path == "/wp-json/" or q.query.get("rest_route") == ["/"], status=403,
                 body=b"<html><head><title>Not Acceptable!</title></head><body>An appropriate representation was "
                      b"not found. This error was generated by Mod_Security.</body></html>",
                 headers={"Content-Type": "text/html"})
    with pytest.raises(PermanentPublishError) as err:
        publisher(wordpress, url=proxy.url).publish(rendering("waf-index"), key="k")
    assert "a firewall in front of WordPress (ModSecurity) refused to let Loa read the REST index" in err.value.reason
    assert not isinstance(err.value, PublisherAuthError) and "no WordPress REST API" not in err.value.reason


def test_a_rest_api_closed_to_anonymous_readers_is_read_signed_in(wordpress, proxy):
    def anonymous_index(q):
        return q.path == "/wp-json/" and "authorization" not in q.headers

    inject_always(proxy, anonymous_index, status=401, body={
        "code": "rest_login_required", "message": "REST API restricted to authenticated users.", "data": {"status": 401}})
    pub = publisher(wordpress, url=proxy.url, rest_form="wp-json")
    result = pub.publish(rendering("closed"), key="k")
    assert read_post(wordpress, result.remote_id)["status"] == "publish"


def test_a_closed_rest_api_with_a_bad_password_is_an_auth_error(wordpress, proxy):
    closed = {"code": "rest_login_required", "message": "REST API restricted to authenticated users.",
              "data": {"status": 401}}
    inject_always(proxy, lambda q: q.path == "/wp-json/" and "authorization" not in q.headers, status=401, body=closed)
    with pytest.raises(PublisherAuthError) as err:
        publisher(wordpress, url=proxy.url, rest_form="wp-json", password="abcd EFGH ijkl MNOP qrst UVWX").publish(
            rendering("closed-bad"), key="k")
    assert err.value.status == 401 and "application password" in err.value.hint


def test_https_behind_a_tls_proxy_that_wordpress_does_not_know_about(wordpress):
    """WordPress turns application passwords off when is_ssl() is false: behind a TLS-terminating
    proxy that does not say so, the index lacks them and names its own address as http://."""
    from unittest import mock

    pub = publisher(wordpress, url="https://portal.example.gov.vn")
    index = {"namespaces": ["wp/v2"], "authentication": [], "home": "http://portal.example.gov.vn",
             "timezone_string": "Asia/Ho_Chi_Minh"}
    with mock.patch.object(pub.rest, "_find_index", return_value=(index, "wp-json")):
        with pytest.raises(PublisherAuthError) as err:
            pub.rest.ensure_site()
    assert "believes it is reached over plain http, as behind a proxy that terminates TLS" in err.value.reason
    assert "X-Forwarded-Proto" in err.value.reason


def test_slug_collision_across_years_and_types_is_a_check_error(tmp_path):
    """One slug is one WordPress article (and one static page): two posts sharing it, derived from
    the title in different years or written out in different types, are refused by `loa check`."""
    from pipeline import checks
    from pipeline.config import load_config
    from pipeline.content import read_all
    from tests.repo import make_repo

    def post(pid: str, title: str, type_: str = "news", slug: str = "") -> str:
        return (f'---\nid: "{pid}"\ntitle: "{title}"\ntype: {type_}\nunit: phuong-rach-dua\nauthor: "A"\n'
                f'publish_at: "2024-03-15 08:00"\nchannels: [portal]\nstatus: draft\n'
                + (f"slug: {slug}\n" if slug else "") + "summary: \"Tóm tắt.\"\n---\n\nNội dung.\n")

    root = make_repo(tmp_path, {
        "news/2024/a.md": post("20240315-aaaaaa", "Hội nghị tổng kết công tác"),
        "news/2025/a.md": post("20250315-bbbbbb", "Hội nghị tổng kết công tác"),
        "news/2025/b.md": post("20250316-cccccc", "Tin khác", slug="lich-tiep-dan"),
        "guide/2025/c.md": post("20250317-dddddd", "Lịch tiếp dân", type_="guide"),
    })
    cfg = load_config(root / "config.toml", env={})
    posts = read_all(cfg)[0]
    assert len(posts) == 4
    found = {(p.path, p.code, p.args["value"]) for p in checks.check_duplicates(posts)}
    assert {(path, value) for path, code, value in found if code == "post.duplicate-slug"} == {
        ("content/news/2024/a.md", "hoi-nghi-tong-ket-cong-tac"), ("content/news/2025/a.md", "hoi-nghi-tong-ket-cong-tac"),
        ("content/news/2025/b.md", "lich-tiep-dan"), ("content/guide/2025/c.md", "lich-tiep-dan")}
    assert all(p.severity.name == "ERROR" for p in checks.check_duplicates(posts))
