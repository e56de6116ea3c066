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
    (edit,) = fb.calls("POST", "/" + photo.remote_id)  # the documented edit: POST /{page_post_id} message
    assert edit.form() == {"message": ["Ảnh hội nghị tổng kết"]}
    assert fb.calls("POST", "/" + photo.extra["photo_id"]) == []  # never the photo node


def test_the_photo_node_is_not_an_edit_the_fake_accepts(fb, pub, image):
    # Loa relies only on the documented edit; the fake refuses the undocumented node form
    photo = pub.publish(rendering("p4b", "Ảnh", kind="caption", image=image), key="k4b")
    with pytest.raises(PermanentPublishError) as err:
        pub._call("POST", photo.extra["photo_id"], "p4b", data={"caption": "Ảnh (sửa)"})
    assert err.value.code == "100/33"


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
    (1609005, None, PermanentPublishError, "Facebook refused the call (error 1609005)"),
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
        # a create answered "unknown/unexpected error" may have been made; a throttle refusal was not
        assert exc.maybe_sent is (code in (1, 2))
    assert fb.live_posts() == []


@pytest.mark.parametrize("code", [1, 2])
def test_an_unexpected_error_after_the_post_was_made_is_looked_up_not_resent(fb, pub, image, code):
    # arsduo/koala#699: "Duplicate Facebook reels/photos getting posted despite error 500" (code 2)
    r = rendering("u1", f"Ảnh tiếp dân #CCHC {code}", kind="caption", image=image)
    fb.fail_next(code, match="/photos", commit=True)
    with pytest.raises(TransientPublishError) as err:
        pub.publish(r, key="u1")
    assert err.value.maybe_sent and err.value.status == 500
    assert err.value.hint == "nothing to do: Loa looks for the post before sending it again"
    (made,) = fb.live_posts()
    found = pub.lookup(r, "u1")
    assert (found.remote_id, found.extra["photo_id"]) == (made.id, made.photo_id)


def test_a_5xx_without_a_graph_body_on_a_create_is_maybe_sent_but_not_on_an_edit(fb, pub):
    fb.inject(_post_to("feed"), after=True, status=502, body="<html>502 Bad Gateway</html>")
    with pytest.raises(TransientPublishError) as err:
        pub.publish(rendering("g1", "Tin có link"), key="g1")
    assert err.value.maybe_sent and err.value.status == 502
    (made,) = fb.live_posts()
    found = pub.lookup(rendering("g1", "Tin có link"), "g1")
    assert found.remote_id == made.id  # the link is matched through unshimmed_url, which Loa asks for
    fb.fail_next(2, match=made.id)
    with pytest.raises(TransientPublishError) as edit:
        pub.update(rendering("g1", "Tin có link (sửa)"), found)
    assert not edit.value.maybe_sent  # an edit is simply sent again


def test_lookup_names_the_attachment_subfields_it_reads(fb, pub):
    fb.inject(_post_to("feed"), after=True, drop=True)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering("a1", "Bài có link"), key="a1")
    assert pub.lookup(rendering("a1", "Bài có link"), "a1") is not None
    (read,) = fb.calls("GET", "/feed")
    assert read.query["fields"] == ["id,message,created_time,attachments{type,url,unshimmed_url,target{id,url}}"]
    # bare `attachments` gives only Facebook's redirect URL: the link would not be recognised
    bare = pub._call("GET", f"{fb.page_id}/feed", None, params={"fields": "id,attachments"})
    (att,) = bare["data"][0]["attachments"]["data"]
    assert "unshimmed_url" not in att and att["url"].startswith("https://l.facebook.com/l.php?u=")


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
SECRET_ENV = {"LOA_FB_APP_SECRET": "fake-app-secret-0123"}


def test_check_uses_only_calls_a_page_token_may_make(fb, pub):
    health = pub.check()
    assert health.ok and health.identity == f"UBND Thành phố Loa ({fb.page_id})"
    assert health.messages == (f"the token works for UBND Thành phố Loa ({fb.page_id})",
                               "permissions and expiry not checked: Facebook tells them only to an app token "
                               "(set app_id and app_secret_env to have them checked)")
    assert health.expires_at is None and fb.calls("GET", "debug_token") == []
    # what the check used to do: debug_token with the Page token, which Facebook refuses
    with pytest.raises(PermanentPublishError) as err:
        pub._call("GET", "debug_token", None, params={"input_token": TOKEN})
    assert err.value.vendor_message == ("(#100) You must provide an app access token, or a user access token "
                                        "that is an owner or developer of the app")


def _with_app(fb: FacebookServer, token_var: str, token: str) -> FacebookPublisher:
    return FacebookPublisher("facebook", {"page_id": fb.page_id, "token_env": "T", "api_base": fb.url,
                                          "app_id": fb.app_id, "app_secret_env": "LOA_FB_APP_SECRET"},
                             env={"T": token, **SECRET_ENV})


def test_check_with_an_app_token_reports_permissions_and_expiry(fb):
    fb.add_token("short-lived-" + TOKEN, expires_in=5 * 86400)
    health = _with_app(fb, "T", "short-lived-" + TOKEN).check()
    assert health.ok and health.messages[0] == f"can publish to UBND Thành phố Loa ({fb.page_id})"
    assert abs((health.expires_at - datetime.now(timezone.utc)).total_seconds() - 5 * 86400) < 60
    (debug,) = fb.calls("GET", "debug_token")
    assert debug.headers["authorization"] == f"Bearer {fb.app_id}|fake-app-secret-0123"
    assert "appsecret_proof" not in debug.query  # the app token carries the secret itself
    fb.add_token("weak-" + TOKEN, scopes=("pages_show_list", "pages_read_engagement"))
    health = _with_app(fb, "T", "weak-" + TOKEN).check()
    assert not health.ok and "the token lacks the permission(s) pages_manage_posts" in health.messages
    assert _with_app(fb, "T", TOKEN).check().messages[-1] == "token does not expire"


def test_require_app_secret_is_met_with_appsecret_proof(image):
    import hashlib
    import hmac
    with FacebookServer(token=TOKEN, require_appsecret_proof=True) as fb:
        bare = make(fb)
        with pytest.raises(PermanentPublishError) as err:
            bare.publish(rendering("s1", "Bài"), key="s1")
        assert err.value.vendor_message == "API calls from the server require an appsecret_proof argument"
        pub = make(fb, app_secret_env="LOA_FB_APP_SECRET")
        pub.env = {**ENV, **SECRET_ENV}
        done = pub.publish(rendering("s1", "Bài"), key="s1")
        pub.update(rendering("s1", "Bài (sửa)"), done)
        photo = pub.publish(rendering("s2", "Ảnh", kind="caption", image=image), key="s2")
        assert pub.lookup(rendering("s2", "Ảnh", kind="caption", image=image), "s2").remote_id == photo.remote_id
        assert pub.check().ok
        pub.retract(done, "thử")
        proof = hmac.new(b"fake-app-secret-0123", TOKEN.encode(), hashlib.sha256).hexdigest()
        assert all(r.query.get("appsecret_proof") == [proof] for r in fb.requests[1:])
        wrong = make(fb, app_secret_env="LOA_FB_APP_SECRET")
        wrong.env = {**ENV, "LOA_FB_APP_SECRET": "not-the-secret"}
        with pytest.raises(PermanentPublishError) as err:
            wrong.publish(rendering("s3", "Bài 3"), key="s3")
        assert err.value.vendor_message == "Invalid appsecret_proof provided in the API argument"


def test_no_secret_in_any_exception_or_log_line(fb, caplog, image):
    caplog.set_level(logging.DEBUG)
    pub = make(fb, usage_backoff=0)
    seen: list[Exception] = []
    pub.publish(rendering("s1", "Bài 1"), key="s1")
    pub.check()
    _with_app(fb, "T", TOKEN).check()  # debug_token: the one call with the Page token in its URL
    for setup in (lambda: fb.fail_next(190, 463), lambda: fb.fail_next(2),
                  lambda: fb.inject(_post_to("feed"), after=True, drop=True)):
        setup()
        with pytest.raises(Exception) as err:
            pub.publish(rendering("s2", "Bài 2"), key="s2")
        seen.append(err.value)
    fb.inject(lambda r: "debug_token" in r.path, drop=True)  # the one URL that carries the token
    with pytest.raises(TransientPublishError) as err:
        _with_app(fb, "T", TOKEN)._check()
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
