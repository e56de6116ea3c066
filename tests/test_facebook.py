"""FacebookPublisher against the local Graph API stand-in (tests/servers/facebook.py), over real HTTP."""

from __future__ import annotations

import logging
import secrets
import struct
import zlib
from datetime import datetime, timezone

import pytest

from pipeline.errors import PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.models import PublishResult, Rendering
from publishers.facebook import FacebookPublisher
from tests.servers.base import FakeClock
from tests.servers.facebook import FacebookServer, parse_multipart

TOKEN = "EAAGloa" + secrets.token_urlsafe(40)
ENV = {"LOA_FB_TOKEN": TOKEN}
LINK = "https://cong.loa.gov.vn/tin-tuc/huong-dan-nop-ho-so-truc-tuyen"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def rendering(post_id: str, body: str, *, kind: str = "text", link: str | None = LINK, image=None) -> Rendering:
    return Rendering(post_id=post_id, channel="facebook", channel_type="facebook", kind=kind, title="Tiêu đề",
                     body=body, length=len(body), limit=63206, source_hash="src-" + post_id, hash="h-" + post_id,
                     image_path=image, link=link)


@pytest.fixture
def fb():
    with FacebookServer(token=TOKEN) as server:
        yield server


def make(server: FacebookServer, *, clock: FakeClock | None = None, **opts) -> FacebookPublisher:
    """A publisher for ``server``; with ``clock``, publisher and server share that fake time."""
    options = {"page_id": server.page_id, "token_env": "LOA_FB_TOKEN", "api_base": server.url, **opts}
    if clock is None:
        return FacebookPublisher("facebook", options, env=ENV)
    server.use_clock(clock)
    return FacebookPublisher("facebook", options, env=ENV, clock=clock, sleep=clock.sleep)


@pytest.fixture
def pub(fb):
    p = make(fb)
    yield p
    p.close()


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "anh-bia.png"
    path.write_bytes(png())
    return path


# -- happy paths ------------------------------------------------------------------------------
def test_text_post_goes_to_the_feed_with_message_and_link(fb, pub):
    body = "Từ 1/7, người dân có thể nộp hồ sơ đăng ký hộ kinh doanh trực tuyến. #CCHC #DVCTT"
    result = pub.publish(rendering("p1", body), key="p1:facebook:1")
    post = fb.posts[result.remote_id]
    assert (post.message, post.link) == (body, LINK)
    page, number = result.remote_id.split("_")
    assert page == fb.page_id
    assert result.remote_url == f"https://www.facebook.com/{fb.page_id}/posts/{number}"
    assert result.extra == {"kind": "text", "page_id": fb.page_id, "link": LINK}
    (call,) = fb.calls("POST", "/feed")
    assert call.path == f"/v19.0/{fb.page_id}/feed"
    assert call.headers["authorization"] == f"Bearer {TOKEN}" and "access_token" not in call.query


def test_photo_post_uploads_the_file_as_source_with_the_caption(fb, pub, image):
    caption = f"Hội thi cải cách hành chính năm 2026 #CCHC\n{LINK}"
    result = pub.publish(rendering("p2", caption, kind="caption", image=image), key="p2:facebook:1")
    (call,) = fb.calls("POST", "/photos")
    fields, files = parse_multipart(call)
    assert fields["caption"] == caption
    assert files["source"] == ("anh-bia.png", png(), "image/png")
    photo_id = result.extra["photo_id"]
    assert fb.photos[photo_id] == result.remote_id
    assert fb.posts[result.remote_id].message == caption


def test_update_edits_the_message_and_the_photo_caption(fb, pub, image):
    text = pub.publish(rendering("p3", "Lịch tiếp công dân tháng 7"), key="k3")
    photo = pub.publish(rendering("p4", "Ảnh hội nghị", kind="caption", image=image), key="k4")
    again = pub.update(rendering("p3", "Lịch tiếp công dân tháng 7 (đính chính: thứ Năm)"), text)
    assert again == text
    assert fb.posts[text.remote_id].message == "Lịch tiếp công dân tháng 7 (đính chính: thứ Năm)"
    pub.update(rendering("p4", "Ảnh hội nghị tổng kết", kind="caption", image=image), photo)
    assert fb.posts[photo.remote_id].message == "Ảnh hội nghị tổng kết"
    assert fb.calls("POST", "/" + photo.extra["photo_id"])  # captions are edited on the photo node


def test_a_post_cannot_gain_a_photo_by_update(fb, pub, image):
    text = pub.publish(rendering("p5", "Thông báo"), key="k5")
    with pytest.raises(PermanentPublishError) as err:
        pub.update(rendering("p5", "Thông báo", kind="caption", image=image), text)
    assert err.value.reason == "the post was published as text and is now caption"
    assert len(fb.calls("POST")) == 1


def test_editing_a_post_made_by_a_person_is_refused(fb, pub):
    foreign = fb.add_foreign_post("Bài do cán bộ đăng tay")
    with pytest.raises(PermanentPublishError) as err:
        pub.update(rendering("p6", "Sửa"), PublishResult(foreign, None, {"kind": "text"}))
    assert type(err.value) is PermanentPublishError
    assert err.value.code == "200" and err.value.vendor_message == "(#200) App cannot edit non-app posts"
    assert fb.posts[foreign].message == "Bài do cán bộ đăng tay"


def test_retract_deletes_and_a_second_retract_is_quiet(fb, pub, caplog):
    result = pub.publish(rendering("p7", "Tin sẽ gỡ"), key="k7")
    pub.retract(result, "sai nội dung")
    assert fb.posts[result.remote_id].deleted
    with caplog.at_level(logging.WARNING, logger="publishers.facebook"):
        pub.retract(result, "sai nội dung")
    assert f"Facebook post {result.remote_id} was already gone when facebook retracted it" in caplog.messages
    assert len(fb.calls("DELETE")) == 2


# -- every error class --------------------------------------------------------------------------
ERRORS = [
    (190, 463, PublisherAuthError, "Facebook refused the Page token: the token has expired"),
    (190, 460, PublisherAuthError, "Facebook refused the Page token: the account password was changed, which invalidated the token"),
    (190, None, PublisherAuthError, "Facebook refused the Page token: the token is not valid"),
    (1, None, TransientPublishError, "Facebook had a temporary problem"),
    (2, None, TransientPublishError, "Facebook had a temporary problem"),
    (4, None, TransientPublishError, "Facebook is limiting calls to this Page"),
    (17, None, TransientPublishError, "Facebook is limiting calls to this Page"),
    (32, None, TransientPublishError, "Facebook is limiting calls to this Page"),
    (341, None, TransientPublishError, "Facebook is limiting calls to this Page"),
    (613, None, TransientPublishError, "Facebook is limiting calls to this Page"),
    (80001, None, TransientPublishError, "Facebook is limiting calls to this Page"),
    (368, None, PermanentPublishError, "Facebook has temporarily blocked posting on this Page for a policy reason"),
    (100, None, PermanentPublishError, "Facebook refused a parameter of the post"),
    (10, None, PermanentPublishError, "Facebook refused: the app or token lacks a permission for this action"),
    (200, None, PermanentPublishError, "Facebook refused: the app or token lacks a permission for this action"),
    (299, None, PermanentPublishError, "Facebook refused: the app or token lacks a permission for this action"),
    (506, None, PermanentPublishError, "Facebook refused the post as a duplicate of the previous one"),
    (1609005, None, PermanentPublishError, "Facebook refused the call (error 1609005)"),
]


@pytest.fixture(scope="module")
def fb_shared():
    with FacebookServer(token=TOKEN) as server:
        yield server


@pytest.mark.parametrize("code,subcode,cls,reason", ERRORS, ids=[f"{c}-{s}" for c, s, _, _ in ERRORS])
def test_graph_errors_map_to_the_right_class(fb_shared, code, subcode, cls, reason):
    fb = fb_shared
    pub = make(fb, usage_backoff=0)
    fb.fail_next(code, subcode, user_msg="Bạn đã đăng quá nhiều.", match="/feed")
    with pytest.raises(cls) as err:
        pub.publish(rendering("e1", "Bài viết"), key="e1")
    exc = err.value
    assert type(exc) is cls and exc.reason == reason
    assert exc.status == (500 if code in (1, 2) else 400)
    assert exc.code == (f"{code}/{subcode}" if subcode else str(code))
    assert exc.vendor_message.endswith(" — Bạn đã đăng quá nhiều.") and exc.hint
    if cls is TransientPublishError:
        assert exc.retry_after == (0.0 if code not in (1, 2) else None)  # no estimate given, backoff set to 0
    assert fb.live_posts() == []


def test_throttle_answer_sets_retry_after_from_the_estimate_and_stops_calling(fb, pub):
    fb.set_usage(100, regain_minutes=3)
    with pytest.raises(TransientPublishError) as err:
        pub.publish(rendering("t1", "Bài 1"), key="t1")
    assert err.value.retry_after == 180.0 and err.value.code == "80001"
    sent = len(fb.requests)
    with pytest.raises(TransientPublishError) as again:
        pub.publish(rendering("t2", "Bài 2"), key="t2")
    assert 170 < again.value.retry_after <= 180
    assert again.value.reason == "Facebook usage for this Page is at 100% of its limit; Loa pauses before the next call"
    assert len(fb.requests) == sent  # nothing was sent while Facebook said to wait


def test_a_burst_slows_down_before_the_limit_and_sends_everything_once(fb):
    fb.usage_per_call, fb.usage_decay = 12.0, 80.0  # 12 % per call, back 80 % a second
    clock = FakeClock()
    pub = make(fb, usage_backoff=0.1, clock=clock)
    todo = [rendering(f"b{i}", f"Tin số {i}: lịch tiếp công dân #CCHC") for i in range(30)]
    done, pauses = {}, []
    for _ in range(300):
        if not todo:
            break
        try:
            done[todo[0].post_id] = pub.publish(todo[0], key=todo[0].post_id)
            todo.pop(0)
        except TransientPublishError as exc:
            pauses.append(exc.retry_after)
            clock.sleep(exc.retry_after)
    assert len(done) == 30 and len(fb.live_posts()) == 30
    assert sorted(p.message for p in fb.live_posts()) == sorted(f"Tin số {i}: lịch tiếp công dân #CCHC" for i in range(30))
    assert fb.violations == []
    assert pauses and all(p > 0 for p in pauses)  # it did slow down, by its own reading of the headers


def test_options_are_resolved_once_against_their_declarations(fb):
    pub = make(fb, usage_backoff=None, not_an_option=1)
    assert pub.opts["usage_backoff"] == 300 and pub.opts["api_version"] == "v19.0"  # declared defaults
    assert "not_an_option" not in pub.opts  # config.py warned about it; no publisher reads it
    with pytest.raises(TypeError):
        pub.opts["usage_backoff"] = 1  # read-only: resolved once, in the constructor


def test_a_pause_about_to_end_is_still_a_positive_retry_after(fb):
    # A pause with less than half a millisecond left was once rounded to retry_after=0: "retry at once".
    clock = FakeClock()
    pub = make(fb, usage_backoff=1, clock=clock)
    fb.set_usage(90)
    pub.publish(rendering("p1", "Bài 1"), key="p1")  # the answer says 90 %: a pause of 1 s
    clock.sleep(1 - 0.0004)
    with pytest.raises(TransientPublishError) as err:
        pub.publish(rendering("p2", "Bài 2"), key="p2")
    assert 0 < err.value.retry_after <= 0.001
    clock.sleep(err.value.retry_after)
    assert pub.publish(rendering("p2", "Bài 2"), key="p2").remote_id


def test_the_token_expiring_mid_run_is_an_auth_error(fb, pub):
    pub.publish(rendering("x1", "Bài 1"), key="x1")
    fb.expire_token(TOKEN)
    with pytest.raises(PublisherAuthError) as err:
        pub.publish(rendering("x2", "Bài 2"), key="x2")
    assert err.value.code == "190/463"
    assert err.value.vendor_message.startswith("Error validating access token: Session has expired on ")
    assert err.value.hint == (f"create a new long-lived Page access token for page {fb.page_id} and put it in "
                              "LOA_FB_TOKEN; Loa holds this channel until then")
    health = pub.check()
    assert not health.ok and health.messages[0] == "Facebook refused the Page token: the token has expired"


# -- the answer is lost after Facebook did the work ----------------------------------------------
def _post_to(edge: str):
    return lambda r: r.method == "POST" and r.path.endswith("/" + edge)


def test_lost_answer_lookup_finds_the_text_post_a_blind_resend_would_be_refused(fb, pub):
    r = rendering("l1", "Thông báo tuyển dụng viên chức 2026 #tuyendung")
    fb.inject(_post_to("feed"), after=True, drop=True)
    with pytest.raises(TransientPublishError) as err:
        pub.publish(r, key="l1")
    assert err.value.reason == "the connection was lost before the answer" and err.value.maybe_sent
    (made,) = fb.live_posts()  # Facebook created it; we never heard
    with pytest.raises(PermanentPublishError) as dup:
        pub.publish(r, key="l1")  # what a naive retry does
    assert dup.value.code == "506"
    found = pub.lookup(r, "l1")
    assert found is not None and found.remote_id == made.id and found.extra["kind"] == "text"
    assert pub.lookup(rendering("l2", "Bài chưa từng gửi"), "l2") is None


def test_lost_answer_lookup_finds_the_photo_and_its_caption_can_be_edited(fb, pub, image):
    r = rendering("l3", "Ảnh lễ ra quân #CCHC\n" + LINK, kind="caption", image=image)
    fb.inject(_post_to("photos"), after=True, drop=True)
    with pytest.raises(TransientPublishError):
        pub.publish(r, key="l3")
    found = pub.lookup(r, "l3")
    (made,) = fb.live_posts()
    assert (found.remote_id, found.extra["photo_id"]) == (made.id, made.photo_id)
    pub.update(rendering("l3", "Ảnh lễ ra quân (sửa) #CCHC", kind="caption", image=image), found)
    assert fb.posts[made.id].message == "Ảnh lễ ra quân (sửa) #CCHC"


def test_lookup_limits_it_scans_only_the_latest_posts(fb):
    pub = make(fb, lookup_depth=10)
    r = rendering("l4", "Bài bị mất câu trả lời")
    fb.inject(_post_to("feed"), after=True, drop=True)
    with pytest.raises(TransientPublishError):
        pub.publish(r, key="l4")
    for i in range(12):
        fb.add_foreign_post(f"Bài đăng tay {i}")
    assert pub.lookup(r, "l4") is None  # it is there, but deeper than lookup_depth
    assert FacebookPublisher.can_lookup and "lookup_depth" in FacebookPublisher.lookup_note


# -- channels check and secrets -------------------------------------------------------------------
def test_check_reports_identity_permissions_and_expiry(fb):
    fb.add_token("short-lived-" + TOKEN, expires_in=5 * 86400)
    pub = FacebookPublisher("facebook", {"page_id": fb.page_id, "token_env": "T", "api_base": fb.url},
                            env={"T": "short-lived-" + TOKEN})
    health = pub.check()
    assert health.ok and health.identity == f"UBND Thành phố Loa ({fb.page_id})"
    assert abs((health.expires_at - datetime.now(timezone.utc)).total_seconds() - 5 * 86400) < 60
    assert health.messages[0] == f"can publish to UBND Thành phố Loa ({fb.page_id})"
    fb.add_token("weak-" + TOKEN, scopes=("pages_show_list", "pages_read_engagement"))
    weak = FacebookPublisher("facebook", {"page_id": fb.page_id, "token_env": "T", "api_base": fb.url},
                             env={"T": "weak-" + TOKEN})
    health = weak.check()
    assert not health.ok and "the token lacks the permission(s) pages_manage_posts" in health.messages
    assert make(fb).check().messages[-1] == "token does not expire"


def test_no_secret_in_any_exception_or_log_line(fb, caplog, image):
    caplog.set_level(logging.DEBUG)
    pub = make(fb, usage_backoff=0)
    seen: list[Exception] = []
    pub.publish(rendering("s1", "Bài 1"), key="s1")
    pub.check()
    for setup in (lambda: fb.fail_next(190, 463), lambda: fb.fail_next(2),
                  lambda: fb.inject(_post_to("feed"), after=True, drop=True)):
        setup()
        with pytest.raises(Exception) as err:
            pub.publish(rendering("s2", "Bài 2"), key="s2")
        seen.append(err.value)
    fb.inject(lambda r: "debug_token" in r.path, drop=True)  # the one URL that carries the token
    with pytest.raises(TransientPublishError) as err:
        pub._check()
    seen.append(err.value)
    dead = FacebookPublisher("facebook", {"page_id": "1", "token_env": "LOA_FB_TOKEN",
                                          "api_base": "http://127.0.0.1:9"}, env=ENV)
    with pytest.raises(TransientPublishError) as err:  # the hook's own call, to reach the URL with the token
        dead._call("GET", "debug_token", None, params={"input_token": TOKEN})
    seen.append(err.value)
    assert any("input_token=" in (e.vendor_message or "") for e in seen)  # the URL was there, redacted
    for exc in seen:
        text = " ".join(str(x) for x in (exc, exc.reason, exc.vendor_message, exc.hint, exc.args))
        assert TOKEN not in text
    assert any("debug_token" in r.getMessage() for r in caplog.records)  # urllib3 did log the URL
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
