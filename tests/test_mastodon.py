"""Mastodon adapter against the local Mastodon stand-in, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
import requests
from hypothesis import given, settings, strategies as st

from pipeline.errors import ConfigError, PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.models import PublishResult, Rendering
from publishers.base import MemoryState
from publishers.mastodon import MastodonPublisher
from tests.servers.base import FakeClock
from tests.servers.mastodon import Bucket, MastodonServer, status_length

TOKEN = "mastodon-secret-token-6f1e0c"
OTHER_TOKEN = "mastodon-other-token-99ab"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
PNG2 = PNG + b"\x00second"
ENV = {"LOA_MASTODON_TOKEN": TOKEN}


class Clock:
    """Injected time: real now plus an offset the test moves forward."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@pytest.fixture
def server():
    with MastodonServer(tokens={TOKEN: "ubnd", OTHER_TOKEN: "phuong1"}) as s:
        yield s


@pytest.fixture
def image(tmp_path):
    p = tmp_path / "anh.png"
    p.write_bytes(PNG)
    return p


def make(server, *, env=ENV, state=None, clock=None, shared: FakeClock | None = None, **opts):
    """A publisher for ``server``; ``clock`` is the publisher's alone, ``shared`` a fake time that the
    publisher (clock and sleep) and the server both run on."""
    o = {"instance_url": server.url, "token_env": "LOA_MASTODON_TOKEN", "media_poll_interval": 0.02}
    o.update(opts)
    sleep = None
    if shared is not None:
        server.use_clock(shared)
        clock, sleep = shared, shared.sleep
    return MastodonPublisher("mastodon", o, env=env, state=state if state is not None else MemoryState(),
                             clock=clock, sleep=sleep)


def rendering(body="Hướng dẫn nộp hồ sơ trực tuyến https://cong.gov.vn/bai/1 #CCHC", *, image=None,
              alt=None, post_id="2025-01-dvctt"):
    return Rendering(post_id=post_id, channel="mastodon", channel_type="mastodon", kind="text", title="Tiêu đề",
                     body=body, length=MastodonPublisher.measure(body), limit=500, source_hash="s1", hash="h1",
                     image_path=image, image_alt=alt)


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


# -- happy paths -----------------------------------------------------------------------------------
def test_publish_text_sends_idempotency_key_and_options(server):
    pub = make(server, visibility="unlisted")
    result = pub.publish(rendering(), key="2025-01-dvctt:mastodon:v1")
    [status] = server.live_statuses()
    assert result.remote_id == status.id
    assert result.remote_url == f"{server.url}/@ubnd/{status.id}"
    assert (status.text, status.visibility, status.language) == (rendering().body, "unlisted", "vi")
    [post] = server.calls("POST", "/api/v1/statuses")
    assert post.headers["idempotency-key"] == "2025-01-dvctt:mastodon:v1"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"


def test_publish_with_image_waits_for_processing(server, image):
    server.media_delay = 0.2
    pub = make(server, shared=FakeClock())
    result = pub.publish(rendering(image=image, alt="Người dân nộp hồ sơ"), key="k-img")
    [status] = server.live_statuses()
    [media_id] = status.media_ids
    assert result.extra["media_ids"] == [media_id]
    assert server.media[media_id].description == "Người dân nộp hồ sơ"
    polls = server.calls("GET", f"/api/v1/media/{media_id}")
    assert len(polls) >= 2  # at least one 206 before the 200
    [post] = server.calls("POST", "/api/v1/statuses")
    assert post.at > polls[-1].at  # the status went out only after the last poll


def test_media_contract_202_206_200_and_unprocessed_media_refused(server):
    clock = FakeClock()
    server.use_clock(clock)
    server.media_delay = 0.3
    up = requests.post(server.url + "/api/v2/media", headers=auth(), files={"file": ("a.png", PNG, "image/png")},
                       data={"description": "mô tả"})
    assert up.status_code == 202 and up.json()["url"] is None
    mid = up.json()["id"]
    assert requests.get(f"{server.url}/api/v1/media/{mid}", headers=auth()).status_code == 206
    early = requests.post(server.url + "/api/v1/statuses", headers=auth(), data={"status": "x", "media_ids[]": [mid]})
    assert early.status_code == 422
    assert early.json() == {"error": "Cannot attach files that have not finished processing. Try again in a moment!"}
    clock.sleep(0.35)
    done = requests.get(f"{server.url}/api/v1/media/{mid}", headers=auth())
    assert done.status_code == 200 and done.json()["url"].endswith(".png")
    ok = requests.post(server.url + "/api/v1/statuses", headers=auth(), data={"status": "x", "media_ids[]": [mid]})
    assert ok.status_code == 200 and [m["id"] for m in ok.json()["media_attachments"]] == [mid]


def test_edit_replaces_text_and_keeps_or_swaps_the_image(server, image, tmp_path):
    pub = make(server)
    first = pub.publish(rendering(image=image, alt="ảnh"), key="k1")
    edited = pub.update(rendering("Đính chính: giờ làm việc là 7h30", image=image, alt="ảnh"), first)
    [status] = server.live_statuses()
    assert edited.remote_id == first.remote_id == status.id
    assert status.text == "Đính chính: giờ làm việc là 7h30" and status.edited_at is not None
    assert edited.extra["edited_at"] and status.media_ids == first.extra["media_ids"]
    assert len(server.calls("POST", "/api/v2/media")) == 1  # same image: no second upload
    other = tmp_path / "khac.png"
    other.write_bytes(PNG2)
    swapped = pub.update(rendering("Ảnh mới", image=other, alt="ảnh mới"), edited)
    assert status.media_ids == swapped.extra["media_ids"] != first.extra["media_ids"]
    pub.update(rendering("Không ảnh"), swapped)
    assert status.media_ids == []


def test_an_alt_text_change_alone_is_sent_with_the_edit(server, image):
    pub = make(server)
    first = pub.publish(rendering(image=image, alt="ảnh"), key="k1")
    [mid] = first.extra["media_ids"]
    # the media endpoint cannot do it once the media is attached (Mastodon: where(status_id: nil))
    assert requests.put(f"{server.url}/api/v1/media/{mid}", headers=auth(), json={"description": "x"}).status_code == 404
    edited = pub.update(rendering(image=image, alt="Người dân nộp hồ sơ tại bộ phận một cửa"), first)
    assert edited.extra["media_ids"] == [mid] and len(server.calls("POST", "/api/v2/media")) == 1
    assert server.media[mid].description == "Người dân nộp hồ sơ tại bộ phận một cửa"
    [put] = server.calls("PUT", "/api/v1/statuses/")
    assert json.loads(put.body)["media_attributes"] == [{"id": mid, "description": "Người dân nộp hồ sơ tại bộ phận "
                                                                                  "một cửa"}]


def _vietnamese_account_with_unprocessed_media(server, image, clock):
    server.accounts["1"].locale = "vi"
    server.media_delay = 5.0
    server.use_clock(clock)
    up = requests.post(server.url + "/api/v2/media", headers=auth(), files={"file": ("a.png", PNG, "image/png")})
    return up.json()["id"]


def test_still_processing_is_recognised_in_any_language(server, image):
    clock = FakeClock()
    mid = _vietnamese_account_with_unprocessed_media(server, image, clock)
    early = requests.post(server.url + "/api/v1/statuses", headers=auth(), json={"status": "x", "media_ids": [mid]})
    assert early.status_code == 422 and not early.json()["error"].startswith("Cannot attach")
    # a resend under the same key after a restart reuses the upload without polling it first
    pub = make(server, shared=clock)
    sha = hashlib.sha256(PNG).hexdigest()
    pub._save("k1", {"state": "sending", "at": clock().isoformat(), "media_ids": [mid], "media_sha": sha,
                     "media_at": clock().isoformat()})
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(image=image, alt="ảnh"), key="k1")
    assert (exc.value.status, exc.value.code, exc.value.reason) == (422, "processing",
                                                                   "Mastodon is still processing the image")
    assert exc.value.holds_channel is False and exc.value.vendor_message == early.json()["error"]
    clock.sleep(5.0)
    done = pub.publish(rendering(image=image, alt="ảnh"), key="k1")
    assert done.extra["media_ids"] == [mid] and len(server.live_statuses()) == 1


def test_another_422_in_vietnamese_stays_permanent(server, image):
    server.accounts["1"].locale = "vi"
    server.max_characters = 10
    with pytest.raises(PermanentPublishError) as exc:
        make(server).publish(rendering(image=image, alt="ảnh"), key="k1")
    assert exc.value.status == 422 and not isinstance(exc.value, TransientPublishError)


def test_the_posting_limiter_is_kept_apart_from_the_general_bucket(server):
    server.buckets["statuses"] = Bucket(2, 10800.0)  # Mastodon: 300 statuses per 3 hours
    pub = make(server)
    first = pub.publish(rendering(post_id="a"), key="a")
    pub.publish(rendering(post_id="b"), key="b")
    assert len(server.calls("POST", "/api/v1/statuses")) == 2
    sent = len(server.requests)
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(post_id="c"), key="c")
    assert exc.value.code == "rate_limit" and len(server.requests) == sent  # refused here, nothing sent
    assert exc.value.retry_after <= 10800
    # edits and deletions are not posts: they go on
    pub.update(rendering("Đính chính", post_id="a"), first)
    pub.retract(first, "gỡ")
    assert server.throttled == [] and len(server.live_statuses()) == 1


def test_delete_then_delete_again_is_already_gone(server):
    pub = make(server)
    result = pub.publish(rendering(), key="k1")
    pub.retract(result, "gỡ theo yêu cầu")
    assert server.live_statuses() == []
    pub.retract(result, "gỡ lần hai")  # 404 on delete = already gone = success
    again = requests.delete(f"{server.url}/api/v1/statuses/{result.remote_id}", headers=auth())
    assert (again.status_code, again.json()) == (404, {"error": "Record not found"})


def test_delete_answers_the_status_with_its_source_text(server):
    created = requests.post(server.url + "/api/v1/statuses", headers=auth(), json={"status": "nguồn"}).json()
    gone = requests.delete(f"{server.url}/api/v1/statuses/{created['id']}", headers=auth())
    assert gone.status_code == 200 and gone.json()["text"] == "nguồn" and gone.json()["id"] == created["id"]


def test_check_works_with_the_scopes_loa_asks_for(server):
    # write:statuses write:media only: accounts/verify_credentials (read:accounts) is refused...
    refused = requests.get(server.url + "/api/v1/accounts/verify_credentials", headers=auth())
    assert (refused.status_code, refused.json()) == (403, {"error": "This action is outside the authorized scopes"})
    # ...so the check asks the app's own verify_credentials, which any token of the app may call
    health = make(server).check()
    assert health.ok and health.identity == "app Loa on 127.0.0.1"
    assert health.messages == ("Mastodon token of app Loa on 127.0.0.1",)
    assert server.calls("GET", "/api/v1/accounts/verify_credentials")[1:] == []
    server.max_characters = 400
    assert make(server).check().messages[-1] == "this instance allows 400 characters; Loa renders for 500"


def test_check_names_the_account_when_the_token_may_read_it_and_missing_write_scopes(server):
    server.add_account("reader-token", "ubnd", scopes="read:accounts write:statuses write:media")
    health = make(server, env={"LOA_MASTODON_TOKEN": "reader-token"}).check()
    assert health.ok and health.identity == "@ubnd@127.0.0.1"
    assert health.messages == ("Mastodon account @ubnd@127.0.0.1",)
    server.add_account("text-only", "ubnd", scopes="write:statuses")
    health = make(server, env={"LOA_MASTODON_TOKEN": "text-only"}).check()
    assert not health.ok and health.messages[1] == ("the app lacks the scope(s) write:media: create a token with "
                                                    "write:statuses write:media")
    server.add_account("all-write", "ubnd", scopes="write")
    assert make(server, env={"LOA_MASTODON_TOKEN": "all-write"}).check().ok


def test_check_on_an_instance_whose_app_endpoint_wants_read(server):
    server.app_verify_needs_read = True  # Mastodon before 4.3: doorkeeper_authorize! :read
    health = make(server).check()
    assert health.ok and health.messages == (
        "Mastodon token of app ? on 127.0.0.1",
        "the token is valid; this instance tells its scopes only to a token with `read`")


def test_bad_visibility_is_a_config_error(server):
    with pytest.raises(ConfigError) as exc:
        make(server, visibility="friends")
    assert exc.value.errors == [("channels.mastodon.visibility",
                                 "expected one of: public, unlisted, private, direct but received: 'friends'")]


# -- errors --------------------------------------------------------------------------------------------
def test_invalid_token_is_an_auth_error(server):
    pub = make(server, env={"LOA_MASTODON_TOKEN": "wrong-token"})
    with pytest.raises(PublisherAuthError) as exc:
        pub.publish(rendering(), key="k1")
    assert str(exc.value) == "mastodon: 2025-01-dvctt: Mastodon refused the access token: The access token is invalid"
    assert exc.value.status == 401 and "LOA_MASTODON_TOKEN" in exc.value.hint
    health = pub.check()
    assert not health.ok and health.messages[0] == "Mastodon refused the access token: The access token is invalid"


def test_missing_token_variable_is_an_auth_error(server):
    with pytest.raises(PublisherAuthError) as exc:
        make(server, env={}).publish(rendering(), key="k1")
    assert exc.value.reason == "environment variable LOA_MASTODON_TOKEN is not set"
    assert server.requests == []


def test_revoked_token_and_forbidden_are_auth_errors(server):
    server.revoke(TOKEN)
    with pytest.raises(PublisherAuthError, match="The access token was revoked"):
        make(server).publish(rendering(), key="k1")
    server.revoked.clear()
    server.inject("/api/v1/statuses", status=403, body={"error": "This action is not allowed"})
    with pytest.raises(PublisherAuthError, match="This action is not allowed"):
        make(server).publish(rendering(), key="k2")


def test_over_the_instance_limit_is_permanent_with_vendor_text(server):
    server.max_characters = 100
    body = "Thông báo " * 15  # 150 characters, under Loa's 500 but over this instance's 100
    with pytest.raises(PermanentPublishError) as exc:
        make(server).publish(rendering(body), key="k1")
    assert type(exc.value) is PermanentPublishError and exc.value.status == 422
    assert exc.value.reason == "Mastodon refused it: Validation failed: Text character limit of 100 exceeded"


def test_blank_status_is_permanent(server):
    with pytest.raises(PermanentPublishError, match="Validation failed: Text can't be blank"):
        make(server).publish(rendering("   "), key="k1")


def test_over_loa_limit_is_refused_before_sending(server):
    with pytest.raises(PermanentPublishError, match="over the limit of 500"):
        make(server).publish(rendering("a" * 501), key="k1")
    assert server.requests == []


@pytest.mark.parametrize("fault, reason", [
    ({"status": 503, "body": {"error": "There was a temporary problem serving your request, please try again"}},
     "Mastodon answered HTTP 503: There was a temporary problem serving your request, please try again"),
    ({"status": 500, "body": {"error": "boom"}}, "Mastodon answered HTTP 500: boom"),
    ({"delay": 0.6}, "the server did not answer in time"),
    ({"drop": True}, "the connection was lost before the answer"),
])
def test_server_trouble_is_transient(server, fault, reason):
    server.inject("/api/v1/statuses", **fault)
    with pytest.raises(TransientPublishError) as exc:
        make(server, timeout=0.3).publish(rendering(), key="k1")
    assert exc.value.reason == reason


def test_edit_of_unknown_status_is_permanent_404(server):
    with pytest.raises(PermanentPublishError) as exc:
        make(server).update(rendering(), PublishResult("999"))
    assert exc.value.reason == "Mastodon answered HTTP 404: Record not found" and exc.value.status == 404


def test_unreachable_instance_is_transient():
    with socket_closed_port() as port:
        pub = MastodonPublisher("mastodon", {"instance_url": f"http://127.0.0.1:{port}", "token_env": "T"},
                                env={"T": TOKEN})
        with pytest.raises(TransientPublishError, match="could not connect to the server"):
            pub.publish(rendering(), key="k1")


def socket_closed_port():
    import contextlib
    import socket

    @contextlib.contextmanager
    def cm():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        yield port
    return cm()


# -- rate limits ------------------------------------------------------------------------------------
def drain(pub, items):
    """What the engine does: send each item, waiting out transient errors as the vendor asks (on the
    publisher's fake time)."""
    results, waits = [], 0
    for r, key in items:
        while True:
            try:
                results.append(pub.publish(r, key=key))
                break
            except TransientPublishError as exc:
                assert exc.retry_after is not None and 0 < exc.retry_after <= 2.0
                waits += 1
                pub.sleep(exc.retry_after)
    return results, waits


def test_burst_of_30_statuses_respects_the_bucket_and_never_hammers(server):
    server.buckets["general"] = Bucket(8, 1.0)
    pub = make(server, shared=FakeClock())
    items = [(rendering(f"Tin số {i} https://cong.gov.vn/{i}", post_id=f"p{i}"), f"p{i}:v1") for i in range(30)]
    results, waits = drain(pub, items)
    texts = sorted(s.text for s in server.live_statuses())
    assert texts == sorted(r.body for r, _ in items)  # every one sent, once
    assert len({r.remote_id for r in results}) == 30
    assert waits >= 3 and server.throttled == []
    reset = server.calls("POST", "/api/v1/statuses")[-1]
    assert reset.headers["idempotency-key"] == "p29:v1"


def test_media_and_delete_buckets_are_respected(server, image):
    server.buckets["media"] = Bucket(2, 1.0)
    server.buckets["deletes"] = Bucket(2, 1.0)
    pub = make(server, shared=FakeClock())
    items = [(rendering(f"Ảnh {i}", image=image, alt="ảnh", post_id=f"m{i}"), f"m{i}") for i in range(5)]
    results, waits = drain(pub, items)
    assert len(server.live_statuses()) == 5 and waits >= 1
    for res in results:
        while True:
            try:
                pub.retract(res, "thử")
                break
            except TransientPublishError as exc:
                pub.sleep(exc.retry_after)
    assert server.live_statuses() == [] and server.throttled == []


def test_429_from_another_client_stops_the_adapter_until_reset(server):
    server.buckets["general"] = Bucket(3, 2.0)
    clock = FakeClock()
    server.use_clock(clock)
    # someone else on the same account spends the bucket; wait for a fresh window first
    clock.sleep(2.0 - clock().timestamp() % 2.0 + 0.02)
    for _ in range(3):
        requests.get(server.url + "/api/v1/accounts/verify_credentials", headers=auth())
    pub = make(server, shared=clock)
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(), key="k1")
    assert exc.value.status == 429 and exc.value.reason == "Mastodon is throttling this account (Too many requests)"
    assert 0 < exc.value.retry_after <= 2.0
    with pytest.raises(TransientPublishError) as again:
        pub.publish(rendering(), key="k1")  # refused locally: nothing sent
    assert again.value.code == "rate_limit" and len(server.throttled) == 1
    # the next run remembers it too (the state store keeps an exhausted bucket)
    with pytest.raises(TransientPublishError):
        make(server, state=pub.state, shared=clock).publish(rendering(), key="k1")
    assert len(server.throttled) == 1
    clock.sleep(again.value.retry_after)
    assert pub.publish(rendering(), key="k1").remote_id


def test_every_response_carries_rate_limit_headers(server):
    for resp in (requests.get(server.url + "/api/v2/instance"),
                 requests.get(server.url + "/api/v1/accounts/verify_credentials", headers=auth()),
                 requests.get(server.url + "/api/v1/statuses/404", headers=auth())):
        assert resp.headers["X-RateLimit-Limit"] == "300"
        assert int(resp.headers["X-RateLimit-Remaining"]) < 300
        datetime.strptime(resp.headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%M:%S.%fZ")


# -- idempotency ---------------------------------------------------------------------------------------
def test_lost_answer_then_retry_with_same_key_gives_exactly_one_status(server, image):
    server.inject("/api/v1/statuses", after=True, drop=True)
    pub = make(server)
    r = rendering(image=image, alt="ảnh")
    with pytest.raises(TransientPublishError):
        pub.publish(r, key="k-lost")
    assert len(server.live_statuses()) == 1  # it did land
    result = pub.publish(r, key="k-lost")
    [status] = server.live_statuses()
    assert result.remote_id == status.id
    assert len(server.calls("POST", "/api/v2/media")) == 1  # the retry reused the upload
    assert [c.headers["idempotency-key"] for c in server.calls("POST", "/api/v1/statuses")] == ["k-lost", "k-lost"]


def test_lookup_resends_with_the_same_key_within_the_hour(server):
    server.inject("/api/v1/statuses", after=True, drop=True)
    pub = make(server)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(), key="k-lost")
    # a new process (the engine after a crash) with the same durable state
    again = make(server, state=pub.state)
    found = again.lookup(rendering(), "k-lost")
    assert found is not None and found.remote_id == server.live_statuses()[0].id
    assert len(server.live_statuses()) == 1


def test_lookup_creates_once_when_the_first_post_never_landed(server):
    server.inject("/api/v1/statuses", drop=True)  # lost before Mastodon did anything
    pub = make(server)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(), key="k-never")
    assert server.live_statuses() == []
    found = pub.lookup(rendering(), "k-never")
    assert found is not None and len(server.live_statuses()) == 1


def test_lookup_without_any_attempt_is_none_and_sends_nothing(server):
    assert make(server).lookup(rendering(), "k-none") is None
    assert server.requests == []


def test_lookup_after_the_hour_is_in_doubt_not_a_second_post(server):
    server.inject("/api/v1/statuses", after=True, drop=True)
    clock = Clock()
    pub = make(server, clock=clock)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(), key="k-old")
    clock.offset = timedelta(hours=1)
    with pytest.raises(PermanentPublishError) as exc:
        pub.lookup(rendering(), "k-old")
    assert exc.value.code == "in_doubt" and "Loa cannot tell whether that status was posted" in exc.value.reason
    with pytest.raises(PermanentPublishError, match="in_doubt|Loa cannot tell"):
        pub.publish(rendering(), key="k-old")
    assert len(server.live_statuses()) == 1 and len(server.calls("POST", "/api/v1/statuses")) == 1


def test_refused_attempt_does_not_block_a_fresh_one(server):
    server.max_characters = 10
    pub = make(server)
    with pytest.raises(PermanentPublishError):
        pub.publish(rendering("quá mười ký tự rồi"), key="k1")
    assert pub.lookup(rendering(), "k1") is None  # Mastodon refused it: nothing exists under the key
    server.max_characters = 500
    assert pub.publish(rendering("quá mười ký tự rồi"), key="k1").remote_id


def test_server_idempotency_contract(server):
    def post(key, token=TOKEN, text="một"):
        return requests.post(server.url + "/api/v1/statuses", headers=auth(token) | {"Idempotency-Key": key},
                             data={"status": text})

    first = post("a")
    replay = post("a", text="khác")
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert post("a", token=OTHER_TOKEN).json()["id"] != first.json()["id"]  # per account
    refused = post("b", text="")
    assert refused.status_code == 422
    assert post("b", text="hai").status_code == 200  # stored only after success
    requests.delete(f"{server.url}/api/v1/statuses/{first.json()['id']}", headers=auth())
    assert post("a").status_code == 404  # the original is gone
    server.idempotency_ttl = 0.2
    clock = FakeClock()
    server.use_clock(clock)
    clock.sleep(0.25)
    assert post("a").json()["id"] != first.json()["id"]  # expired: a new status
    assert len(server.live_statuses("ubnd")) == 2  # "hai" and the new "a"; the first was deleted


def test_concurrent_requests_with_the_same_key_create_one_status(server):
    server.create_delay = 0.3
    codes = []

    def post():
        codes.append(requests.post(server.url + "/api/v1/statuses", headers=auth() | {"Idempotency-Key": "same"},
                                   json={"status": "đồng thời"}).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 503] and len(server.live_statuses()) == 1


# -- counting -------------------------------------------------------------------------------------------
def test_simple_text_fast_path_counts_what_the_loop_counts():
    """Every character the len() fast path accepts is one cluster to the loop, alone and in a row."""
    from publishers import mastodon

    ranges = [(0x09, 0x0A), (0x20, 0x7E), (0xA0, 0x2FF), (0x1E00, 0x1EFF), (0x2010, 0x2027), (0x2030, 0x205E)]
    chars = "".join(chr(c) for lo, hi in ranges for c in range(lo, hi + 1))
    assert mastodon._simple_text().fullmatch(chars)
    for ch in chars:
        assert mastodon.graphemes(ch) == 1 and not mastodon._extends(ch)
    slow = mastodon.graphemes(chars + "\u200d")  # a joiner at the end takes the loop
    assert slow == len(chars)
    for outside in ("\r", "\u0301", "\u200d", "\ufe0f", "\U0001F1FB", "\x00"):
        assert not mastodon._simple_text().fullmatch("a" + outside)


def test_url_pattern_matches_what_the_look_behind_first_form_matches():
    """The URL pattern reads ``http`` before its look-behind (a faster search); on random and
    hostile statuses it finds the same URLs as the plain form, and measure() counts the same."""
    import random

    from publishers import mastodon

    plain = re.compile(r"(?<![\w/])https?://[^\s<>\"]+[^\s<>\".,:;!?'\")\]]")
    mention = re.compile(r"(?<![\w/])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)@[\w.-]+\w", re.I)
    url, remote_mention = mastodon._counted_as_written()

    def reference(text: str) -> int:
        return mastodon.graphemes(mention.sub(lambda m: "@" + m.group(1), plain.sub("x" * 23, text)))

    pieces = ["http", "https", "://", "http://", "https://", "httpS://", "HTTP://", "/", "_", "a", "9", "ệ", " ",
              "\n", "\t", ".", ",", ":", ";", "!", "?", "'", '"', ")", "]", "<", ">", "@", "@user@host.vn", "x.vn",
              "hhttp://", "/http://", "_https://", "đhttp://", "(http://", "ahttp", "\u00a0", "\u0301", "#", "%"]
    rng = random.Random(1307)
    texts = ["", "http://", "https://a", "http://a.", "xhttp://a.b", "/https://a.b", "http://http://a",
             "https://a.b/c http://d.e", "Xem https://congdichvucong.gov.vn/p?x=1&y=2 nhé @an@mastodon.social",
             "https://" * 50, "hhhhttp://a" * 20]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40))) for _ in range(5000)]
    for text in texts:
        assert [m.span() for m in url.finditer(text)] == [m.span() for m in plain.finditer(text)], text
        assert url.sub("x" * 23, text) == plain.sub("x" * 23, text), text
        assert MastodonPublisher.measure(text) == reference(text), text
        assert remote_mention.pattern == mention.pattern


def test_measure_counts_like_mastodon():
    url = "https://congdichvucong.gov.vn/p/home/dvc-trang-chu.html?x=1&y=2"
    assert MastodonPublisher.measure(f"Xem {url} nhé") == 4 + 23 + 4
    assert MastodonPublisher.measure("chào @admin@mastodon.social") == len("chào @admin")
    assert MastodonPublisher.measure(unicodedata.normalize("NFD", "Việt Nam")) == 8
    assert MastodonPublisher.measure("👨‍👩‍👧 🇻🇳 👍🏽") == 5
    assert MastodonPublisher.measure(f"({url}).") == 1 + 23 + 2  # the closing ")." is not part of the URL


TOKENS = ["xin", "chào", unicodedata.normalize("NFD", "người dân"), "ủy ban", " ", "\n", "#CCHC", "👍🏽",
          "👨‍👩‍👧", "🇻🇳", " https://cong.gov.vn/tin/2025/01/bai-viet-rat-dai?id=12 ", " @bientap@mastodon.gov.vn ",
          " @local ", "e\u0301", ".", "!"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_measure_agrees_with_the_server_count(parts):
    text = "".join(parts)
    assert MastodonPublisher.measure(text) == status_length(text)


# -- secrets -------------------------------------------------------------------------------------------
def test_no_secret_in_logs_or_errors(server, image, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    pub = make(server)
    res = pub.publish(rendering(image=image, alt="a"), key="s1")
    pub.update(rendering("sửa"), res)
    pub.retract(res, "gỡ")
    pub.check()
    for fault, kw in (({"status": 500, "body": {"error": f"echo {TOKEN}"}}, {}), ({"drop": True}, {})):
        server.inject("/api/v1/statuses", **fault)
        with pytest.raises(TransientPublishError) as exc:
            pub.publish(rendering(), key="s2")
        texts += [str(exc.value), exc.value.vendor_message or "", exc.value.hint or ""]
    bad = make(server, env={"LOA_MASTODON_TOKEN": TOKEN + "x"})
    with pytest.raises(PublisherAuthError) as exc:
        bad.publish(rendering(), key="s3")
    texts += [str(exc.value), exc.value.vendor_message or "", exc.value.hint or ""]
    texts += [rec.getMessage() for rec in caplog.records]
    assert len(caplog.records) > 3
    assert not [t for t in texts if TOKEN in t]
