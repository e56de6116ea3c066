"""Zalo OA adapter against the local Zalo stand-in, over real HTTP."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

import pytest
import requests

from pipeline.errors import PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.models import Rendering
from publishers.base import MemoryState
from publishers.zalo import ZaloPublisher
from tests.servers.base import Request, Response, VendorServer
from tests.servers.zalo import ZaloServer

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
BODY = "Từ ngày 1/3, người dân có thể nộp hồ sơ trực tuyến.\n\nMọi thắc mắc xin gọi đường dây nóng."
LINK = "https://cong.gov.vn/tin/nop-ho-so-truc-tuyen"


class Crash(Exception):
    """Stands for the process dying at a precise point."""


class CrashingState(MemoryState):
    """A durable store whose process dies right before it writes ``crash_on`` (once)."""

    def __init__(self, crash_on: str):
        super().__init__()
        self.crash_on: str | None = crash_on

    def set(self, key, value):
        if self.crash_on and key.endswith(self.crash_on):
            self.crash_on = None
            raise Crash(key)
        super().set(key, value)


class Clock:
    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self):
        return datetime.now(timezone.utc) + self.offset


class Portal(VendorServer):
    """The e-portal, where the post's image is public and Zalo's servers fetch the cover."""

    def __init__(self):
        super().__init__()
        self.files: dict[str, bytes] = {}

    def handle(self, req: Request) -> Response:
        data = self.files.get(req.path)
        return Response(200, data, {"Content-Type": "image/png"}) if data else Response(404, "not found")


IMAGE_HASH = "9f2c4e"


@pytest.fixture
def portal():
    with Portal() as p:
        p.files[f"/media/{IMAGE_HASH}.png"] = PNG
        yield p


@pytest.fixture
def server(portal):
    with ZaloServer(fetch_covers=True) as s:
        s.portal = portal
        yield s


@pytest.fixture
def env(server):
    access, refresh = server.issue()
    return {"ZALO_ACCESS": access, "ZALO_REFRESH": refresh, "ZALO_SECRET": server.app_secret}


@pytest.fixture
def image(tmp_path):
    p = tmp_path / "bia.png"
    p.write_bytes(PNG)
    return p


def make(server, env, *, state=None, clock=None, **opts):
    o = {"app_id": server.app_id, "app_secret_env": "ZALO_SECRET", "refresh_token_env": "ZALO_REFRESH",
         "token_env": "ZALO_ACCESS", "api_base": server.url, "oauth_base": server.url,
         "verify_interval": 0.01, "verify_attempts": 3, "media_base_url": server.portal.url + "/media/"}
    o.update(opts)
    return ZaloPublisher("zalo", o, env=env, state=state if state is not None else MemoryState(), clock=clock)


def rendering(image, *, title="Nộp hồ sơ trực tuyến từ 1/3", body=BODY, description="Hướng dẫn nộp hồ sơ",
              author="Phòng Văn hóa và Thông tin", post_id="2025-02-dvctt", image_hash=IMAGE_HASH):
    return Rendering(post_id=post_id, channel="zalo", channel_type="zalo", kind="article", title=title, body=body,
                     length=len(body), limit=None, source_hash="s1", hash="h1", image_path=image, image_alt="ảnh",
                     link=LINK, extra=MappingProxyType({"description": description, "author": author,
                                                    "image_hash": image_hash}))


def refreshes(server):
    return server.calls("POST", "/v4/oa/access_token")


# -- happy paths ---------------------------------------------------------------------------------------
def test_publish_gives_the_portal_cover_url_creates_and_verifies(server, env, image):
    server.verify_pending = 2
    result = make(server, env).publish(rendering(image), key="k1")
    [art] = server.live_articles()
    assert result.remote_id == art.id and result.remote_url == f"{server.url}/article/{art.id}"
    assert art.doc["title"] == "Nộp hồ sơ trực tuyến từ 1/3"
    assert art.doc["body"] == [{"type": "text", "content": "Từ ngày 1/3, người dân có thể nộp hồ sơ trực tuyến."},
                               {"type": "text", "content": "Mọi thắc mắc xin gọi đường dây nóng."},
                               {"type": "text", "content": LINK}]
    cover = f"{server.portal.url}/media/{IMAGE_HASH}.png"
    assert art.doc["cover"] == {"cover_type": "photo", "photo_url": cover, "status": "show"}
    assert (art.doc["status"], art.doc["comment"], art.doc["author"]) == ("show", "show", "Phòng Văn hóa và Thông tin")
    assert server.fetched == [cover] and server.calls("POST", "/v2.0/oa/upload/image") == []
    assert result.extra["cover_url"] == cover
    assert len(server.calls("POST", "/v2.0/article/verify")) == 3  # two -214, then the id
    for call in server.calls(path_contains="/v2.0/"):
        assert call.headers["access_token"] == env["ZALO_ACCESS"] and "authorization" not in call.headers


def test_options_reach_the_article(server, env, image):
    make(server, env, article_status="hide", comment="hide").publish(rendering(image), key="k1")
    [art] = server.live_articles()
    assert (art.doc["status"], art.doc["comment"]) == ("hide", "hide")


def test_post_without_image_cannot_go_to_zalo(server, env):
    with pytest.raises(PermanentPublishError) as exc:
        make(server, env).publish(rendering(None), key="k1")
    assert str(exc.value) == "zalo: 2025-02-dvctt: a Zalo article needs a cover image and this post has none"
    assert exc.value.hint == "add an image to the post, or remove zalo from its channels"
    assert server.requests == []


@pytest.mark.parametrize("field, value, reason", [
    ("title", "T" * 150, "the title is 150 characters; Zalo accepts at most 149"),
    ("author", "A" * 51, "the author is 51 characters; Zalo accepts at most 50"),
    ("description", "", "a Zalo article needs a description and this post's summary is empty"),
])
def test_field_limits_are_checked_before_sending(server, env, image, field, value, reason):
    with pytest.raises(PermanentPublishError) as exc:
        make(server, env).publish(rendering(image, **{field: value}), key="k1")
    assert exc.value.reason == reason and server.requests == []


def test_server_validates_the_article_itself(server, env):
    def create(doc):
        return requests.post(server.url + "/v2.0/article/create", headers={"access_token": env["ZALO_ACCESS"]},
                             json=doc).json()

    good = {"type": "normal", "title": "t", "author": "a", "description": "d",
            "cover": {"cover_type": "photo", "photo_url": "https://x/y.png", "status": "show"},
            "body": [{"type": "text", "content": "c"}], "status": "show", "comment": "show"}
    assert create(good)["error"] == 0 and create(good)["data"]["token"]
    assert create(good | {"cover": None}) == {"error": -201, "message": "cover is required"}
    assert create(good | {"title": "x" * 149})["error"] == 0
    assert create(good | {"title": "x" * 150}) == {"error": -201, "message": "title allow 1 to 150 characters"}
    assert create(good | {"description": "d" * 300}) == {"error": -201, "message": "description allow 1 to 300 characters"}
    for bad in ("https://x/ảnh bìa.png", "https://x/ảnh.png", "https://x/a b.png", "/media/a.png"):
        cover = good["cover"] | {"photo_url": bad}
        assert create(good | {"cover": cover}) == {"error": -201, "message": "photo_url is invalid"}
    assert create(good | {"body": [{"type": "poll"}]}) == {"error": -201, "message": "body item type is invalid"}


def test_too_big_cover_is_refused_before_upload(server, env, tmp_path):
    big = tmp_path / "to.png"
    big.write_bytes(PNG + b"\0" * (1024 * 1024))
    with pytest.raises(PermanentPublishError, match="Zalo accepts at most 1048576"):
        make(server, env).publish(rendering(big), key="k1")
    assert server.requests == []


def test_update_replaces_and_verifies_reusing_the_cover(server, env, image):
    pub = make(server, env)
    first = pub.publish(rendering(image), key="k1")
    server.verify_pending = 1
    updated = pub.update(rendering(image, title="Đính chính: nộp hồ sơ từ 5/3", body="Nội dung mới."), first)
    [art] = server.live_articles()
    assert updated.remote_id == first.remote_id == art.id
    assert art.doc["title"] == "Đính chính: nộp hồ sơ từ 5/3"
    assert art.doc["body"][0]["content"] == "Nội dung mới." and art.doc["body"][-1]["content"] == LINK
    assert len(server.calls("POST", "/v2.0/article/verify")) == 3  # one for create, two for update
    assert server.calls("POST", "/v2.0/oa/upload/image") == []


def test_retract_removes_and_a_second_removal_is_reported(server, env, image):
    pub = make(server, env)
    result = pub.publish(rendering(image), key="k1")
    pub.retract(result, "gỡ theo yêu cầu BBT")
    assert server.live_articles() == []
    with pytest.raises(PermanentPublishError) as exc:
        pub.retract(result, "lần hai")
    assert exc.value.reason == "Zalo refused remove: Article is not exist (error -201)" and exc.value.code == "-201"
    make(server, env, gone_codes=[-201]).retract(result, "lần ba")  # configured as 'already gone'


def test_check_names_the_oa_and_the_refresh_expiry(server, env):
    clock = Clock()
    pub = make(server, env, clock=clock)
    health = pub.check()
    assert health.ok and health.identity == "UBND Thành phố" and health.expires_at is None
    server.expire_access_tokens()
    health = pub.check()  # refreshes on the way
    assert health.ok and health.expires_at is not None
    assert timedelta(days=89) < health.expires_at - clock() <= timedelta(days=90)


# -- verify and lost answers ------------------------------------------------------------------------------
def test_slow_processing_keeps_the_job_and_never_creates_twice(server, env, image):
    server.verify_pending = 5
    pub = make(server, env, verify_attempts=2)
    for _ in range(2):
        with pytest.raises(TransientPublishError) as exc:
            pub.publish(rendering(image), key="k1")
        assert exc.value.code == "processing" and exc.value.retry_after == pytest.approx(0.02)
    result = pub.publish(rendering(image), key="k1")
    assert [a.id for a in server.live_articles()] == [result.remote_id]
    assert len(server.calls("POST", "/v2.0/article/create")) == 1


def test_lost_verify_answer_verifies_again(server, env, image):
    server.inject("/v2.0/article/verify", drop=True)
    pub = make(server, env)
    with pytest.raises(TransientPublishError, match="the connection was lost before the answer"):
        pub.publish(rendering(image), key="k1")
    again = make(server, env, state=pub.state)  # a new process, same durable state
    assert again.publish(rendering(image), key="k1").remote_id == server.live_articles()[0].id
    assert len(server.calls("POST", "/v2.0/article/create")) == 1


def test_dead_job_token_falls_back_to_getslice(server, env, image):
    server.inject("/v2.0/article/verify", drop=True)
    pub = make(server, env, lookup_settle=0)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(image), key="k1")
    server.jobs.clear()  # Zalo forgot the job token
    with pytest.raises(PermanentPublishError) as exc:
        pub.publish(rendering(image), key="k1")
    assert exc.value.reason == "Zalo refused verify: token is invalid (error -201)"
    assert pub.publish(rendering(image), key="k1").remote_id == server.live_articles()[0].id
    assert len(server.calls("POST", "/v2.0/article/create")) == 1


def test_lost_create_answer_is_found_in_getslice(server, env, image):
    server.inject("/v2.0/article/create", after=True, drop=True)
    pub = make(server, env, lookup_settle=0)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(image), key="k1")
    found = pub.lookup(rendering(image), "k1")
    [art] = server.live_articles()
    assert found is not None and found.remote_id == art.id
    assert pub.publish(rendering(image), key="k1").remote_id == art.id
    assert len(server.calls("POST", "/v2.0/article/create")) == 1


def test_lost_create_answer_waits_before_creating_again(server, env, image):
    server.inject("/v2.0/article/create", drop=True)  # lost before Zalo did anything
    clock = Clock()
    pub = make(server, env, clock=clock, lookup_settle=300)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(image), key="k1")
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(image), key="k1")
    assert exc.value.code == "in_doubt" and 290 < exc.value.retry_after <= 300
    assert len(server.calls("POST", "/v2.0/article/create")) == 1
    clock.offset = timedelta(minutes=6)
    assert pub.lookup(rendering(image), "k1") is None  # settled: it was never created
    assert pub.publish(rendering(image), key="k1").remote_id == server.live_articles()[0].id
    assert len(server.calls("POST", "/v2.0/article/create")) == 2 and len(server.live_articles()) == 1


def test_lookup_ignores_older_articles_with_the_same_title(server, env, image):
    make(server, env).publish(rendering(image), key="old")
    clock = Clock()
    clock.offset = timedelta(minutes=10)  # the new attempt happens later than the old article's creation
    server.inject("/v2.0/article/create", drop=True)
    pub = make(server, env, clock=clock, lookup_settle=0)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(image), key="new")
    assert pub.lookup(rendering(image), "new") is None


def test_lookup_without_any_attempt_is_none_and_sends_nothing(server, env, image):
    assert make(server, env).lookup(rendering(image), "k-none") is None
    assert server.requests == []


# -- tokens --------------------------------------------------------------------------------------------------
def test_expired_token_mid_run_refreshes_and_rotates(server, env, image):
    pub = make(server, env)
    pub.publish(rendering(image, post_id="a"), key="a")
    assert refreshes(server) == []
    server.expire_access_tokens()
    pub.publish(rendering(image, post_id="b"), key="b")
    server.expire_access_tokens()
    pub.publish(rendering(image, post_id="c"), key="c")
    sent = [c.form()["refresh_token"][0] for c in refreshes(server)]
    assert len(sent) == 2 and sent[0] == env["ZALO_REFRESH"] and sent[1] != sent[0]
    assert not server.refresh_tokens[sent[0]] and not server.refresh_tokens[sent[1]]  # both spent
    assert [c.headers["secret_key"] for c in refreshes(server)] == [server.app_secret] * 2
    assert len(server.live_articles()) == 3


def test_expiry_known_from_expires_in_refreshes_before_calling(server, env, image):
    clock = Clock()
    pub = make(server, env, clock=clock)
    server.expire_access_tokens()
    pub.publish(rendering(image, post_id="a"), key="a")  # -216, refresh; now the expiry is known (25 h)
    n = len(server.requests)
    clock.offset = timedelta(hours=25)
    pub.publish(rendering(image, post_id="b"), key="b")
    assert server.requests[n].path == "/v4/oa/access_token"  # refreshed first, no -216 round trip
    assert len(refreshes(server)) == 2


def test_crash_right_after_refresh_never_loses_the_new_refresh_token(server, env, image):
    state = CrashingState("zalo.access")
    server.expire_access_tokens()
    with pytest.raises(Crash):
        make(server, env, state=state).publish(rendering(image), key="k1")
    # The old refresh token is spent at Zalo; the new one is already in the durable store.
    assert not server.refresh_tokens[env["ZALO_REFRESH"]]
    # the crash came between the create's -124 and its retry: the attempt is searched for first
    result = make(server, env, state=state, lookup_settle=0).publish(rendering(image), key="k1")
    assert result.remote_id == server.live_articles()[0].id
    sent = [c.form()["refresh_token"][0] for c in refreshes(server)]
    assert sent.count(env["ZALO_REFRESH"]) == 1 and len(sent) == 2


def test_spent_refresh_token_is_an_auth_error_until_reauthorized(server, env, image):
    state = MemoryState()
    server.expire_access_tokens()
    make(server, env, state=state).publish(rendering(image, post_id="a"), key="a")
    stolen = MemoryState()  # another copy of the service that still has only the first, now spent, token
    server.expire_access_tokens()
    with pytest.raises(PublisherAuthError) as exc:
        make(server, env, state=stolen).publish(rendering(image, post_id="b"), key="b")
    assert exc.value.reason == "Zalo refused to refresh the access token"
    assert exc.value.vendor_message == "Invalid refresh token: Refresh token is invalid or has been used"
    assert "ZALO_REFRESH" in exc.value.hint
    # the officer re-authorizes and puts a new refresh token in the environment: Loa takes it
    _, fresh = server.issue()
    result = make(server, env | {"ZALO_REFRESH": fresh}, state=state).publish(rendering(image, post_id="b"), key="b")
    assert result.remote_id and refreshes(server)[-1].form()["refresh_token"] == [fresh]


def test_token_refused_even_after_refresh_is_an_auth_error(server, env, image):
    refused = {"error": -216, "message": "Access token is invalid"}
    server.inject("/v2.0/article/create", status=200, body=refused)
    server.inject("/v2.0/article/create", status=200, body=refused)
    with pytest.raises(PublisherAuthError) as exc:
        make(server, env).publish(rendering(image), key="k1")
    assert exc.value.reason == "Zalo refused the access token even after a refresh: Access token is invalid"
    assert len(refreshes(server)) == 1 and server.live_articles() == []


def test_wrong_app_secret_is_an_auth_error(server, env, image):
    server.expire_access_tokens()
    with pytest.raises(PublisherAuthError) as exc:
        make(server, env | {"ZALO_SECRET": "not-the-secret"}).publish(rendering(image), key="k1")
    assert exc.value.vendor_message == "Invalid secret key: The app id or the secret key is invalid"


def test_bearer_header_is_not_accepted(server, env):
    bearer = requests.get(server.url + "/v2.0/oa/getoa", headers={"Authorization": f"Bearer {env['ZALO_ACCESS']}"})
    assert bearer.status_code == 200 and bearer.json() == {"error": -216, "message": "Access token is invalid"}
    token = requests.get(server.url + "/v2.0/oa/getoa", headers={"access_token": env["ZALO_ACCESS"]})
    assert token.json()["error"] == 0 and token.json()["data"]["name"] == "UBND Thành phố"


def test_refresh_endpoint_contract(server, env):
    def refresh(token):
        return requests.post(server.url + "/v4/oa/access_token", headers={"secret_key": server.app_secret},
                             data={"refresh_token": token, "app_id": server.app_id, "grant_type": "refresh_token"}).json()

    first = refresh(env["ZALO_REFRESH"])
    assert first["expires_in"] == "90000" and first["refresh_token"] != env["ZALO_REFRESH"]
    assert refresh(env["ZALO_REFRESH"])["error_name"] == "Invalid refresh token"  # single use
    assert refresh(first["refresh_token"])["access_token"]


# -- other errors ---------------------------------------------------------------------------------------------
def test_unknown_error_code_is_permanent_with_vendor_message(server, env, image):
    server.inject("/v2.0/article/create", status=200, body={"error": -999, "message": "OA chưa được xác thực"})
    with pytest.raises(PermanentPublishError) as exc:
        make(server, env).publish(rendering(image), key="k1")
    assert type(exc.value) is PermanentPublishError
    assert exc.value.reason == "Zalo refused create: OA chưa được xác thực (error -999)"
    assert (exc.value.code, exc.value.vendor_message) == ("-999", "OA chưa được xác thực")
    # Zalo answered, so nothing exists: `loa retry` creates at once, without a getslice search
    make(server, env).publish(rendering(image), key="k1")
    assert len(server.live_articles()) == 1 and server.calls(path_contains="getslice") == []


@pytest.mark.parametrize("fault, cls, reason", [
    ({"status": 502, "body": "Bad Gateway"}, TransientPublishError, "Zalo answered HTTP 502 to /v2.0/article/create"),
    ({"delay": 0.6}, TransientPublishError, "the server did not answer in time"),
    ({"status": 404, "body": {"error": 404, "message": "You are accessing an empty or invalid API"}},
     PermanentPublishError, "Zalo answered HTTP 404 to /v2.0/article/create"),
    ({"status": 200, "body": "<html>maintenance</html>"}, TransientPublishError,
     "Zalo's answer to /v2.0/article/create is not its usual envelope"),
])
def test_http_trouble(server, env, image, fault, cls, reason):
    server.inject("/v2.0/article/create", **fault)
    with pytest.raises(cls) as exc:
        make(server, env, timeout=0.3).publish(rendering(image), key="k1")
    assert exc.value.reason == reason


def test_unknown_endpoint_answers_404(server, env):
    resp = requests.get(server.url + "/v2.0/nope", headers={"access_token": env["ZALO_ACCESS"]})
    assert resp.status_code == 404 and resp.json()["message"] == "You are accessing an empty or invalid API"


def test_getslice_pages_newest_first(server, env, image):
    pub = make(server, env)
    for i in range(12):
        pub.publish(rendering(image, title=f"Tin {i}", post_id=f"p{i}"), key=f"p{i}")
    page = requests.get(server.url + "/v2.0/article/getslice", params={"offset": 0, "limit": 50, "type": "normal"},
                        headers={"access_token": env["ZALO_ACCESS"]}).json()["data"]
    assert page["total"] == 12 and len(page["medias"]) == 10
    dates = [m["create_date"] for m in page["medias"]]
    assert dates == sorted(dates, reverse=True)


# -- secrets ----------------------------------------------------------------------------------------------------
def test_no_secret_in_logs_or_errors(server, env, image, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    pub = make(server, env)
    server.expire_access_tokens()
    res = pub.publish(rendering(image), key="s1")
    pub.update(rendering(image, body="mới"), res)
    pub.check()
    pub.retract(res, "gỡ")
    server.inject("/v2.0/article/create", status=200,
                  body={"error": -1, "message": f"echo {env['ZALO_ACCESS']} {pub._load('access')['token']}"})
    for attempt in (lambda: pub.publish(rendering(image), key="s2"),
                    lambda: make(server, env, state=MemoryState()).publish(rendering(image), key="s3")):
        server.expire_access_tokens()
        with pytest.raises(PermanentPublishError) as exc:
            attempt()
        texts += [str(exc.value), exc.value.vendor_message or "", exc.value.hint or ""]
    texts += [rec.getMessage() for rec in caplog.records]
    secrets = [env["ZALO_SECRET"], *server.access_tokens, *server.refresh_tokens]
    assert len(caplog.records) > 3 and len(secrets) > 4
    assert not [t for t in texts for s in secrets if s in t]


# -- two processes, one single-use refresh token (issue 15) ---------------------------------------
def _race_refresh(ledger_url, root, opts, env, barrier, out):
    """One process (the daemon, or a weekly `loa channels check`): its access token has expired."""
    from pipeline.ledger import open_ledger

    lg = open_ledger(ledger_url, root)
    try:
        pub = ZaloPublisher("zalo", opts, env=env, state=lg.publisher_state("zalo", lambda: datetime.now(timezone.utc)))
        barrier.wait(timeout=30)
        try:
            out.put(("ok", pub._access_token(None)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            out.put(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            pub.close()
    finally:
        lg.close()


def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(ledger_url, tmp_path):
    """The daemon and `loa channels check` both find the access token expired: one refreshes under
    the ledger's lock, the other finds the new token inside the lock and uses it; neither holds
    the channel as an authentication failure."""
    import multiprocessing
    import json as _json

    from pipeline.ledger import open_ledger

    with ZaloServer(latency=0.3) as server:  # a slow token service widens the race
        access, refresh = server.issue()
        env = {"ZALO_REFRESH": refresh, "ZALO_SECRET": server.app_secret}
        opts = {"app_id": server.app_id, "app_secret_env": "ZALO_SECRET", "refresh_token_env": "ZALO_REFRESH",
                "api_base": server.url, "oauth_base": server.url}
        lg = open_ledger(ledger_url, tmp_path)
        lg.migrate()
        expired = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        lg.publisher_state("zalo", lambda: datetime.now(timezone.utc)).set(
            "zalo:zalo.access", _json.dumps({"token": access, "expires_at": expired}))
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_race_refresh, args=(ledger_url, tmp_path, opts, env, barrier, out))
                 for _ in range(2)]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert [r[0] for r in results] == ["ok", "ok"], results
        assert results[0][1] == results[1][1] != access  # both use the one new access token
        assert len(refreshes(server)) == 1  # the single-use refresh token was spent once
        stored = _json.loads(lg.publisher_state("zalo", lambda: datetime.now(timezone.utc)).get("zalo:zalo.refresh"))
        assert server.refresh_tokens[stored["token"]] is True  # and the one kept is the live one
        lg.close()


def test_named_lock_excludes_other_processes_and_threads(ledger_url, tmp_path):
    import threading

    from pipeline.errors import LedgerUnavailable
    from pipeline.ledger import open_ledger

    a, b = open_ledger(ledger_url, tmp_path), open_ledger(ledger_url, tmp_path)
    a.migrate()
    try:
        with a.named_lock("pub:zalo:zalo.refresh"):
            with pytest.raises(LedgerUnavailable, match="still held"):
                with b.named_lock("pub:zalo:zalo.refresh", timeout=0.3):
                    pass
            with b.named_lock("pub:zalo:other", timeout=0.3):  # another name is another lock
                pass
        got = []

        def take():
            with b.named_lock("pub:zalo:zalo.refresh", timeout=5):
                got.append("taken")
        t = threading.Thread(target=take)
        t.start()
        t.join()
        assert got == ["taken"]  # released when the block ended
    finally:
        a.close()
        b.close()


# -- issue 16: the contract as the live API behaves ------------------------------------------------------
def test_oa_image_upload_answers_only_a_chat_attachment_id(server, env):
    resp = requests.post(server.url + "/v2.0/oa/upload/image", headers={"access_token": env["ZALO_ACCESS"]},
                         files={"file": ("a.png", PNG, "image/png")}).json()
    assert resp["error"] == 0 and set(resp["data"]) == {"attachment_id"}


def test_cover_url_is_percent_encoded(server, env, image):
    server.portal.files["/t%E1%BB%87p%20tin/" + IMAGE_HASH + ".png"] = PNG  # the portal's folder "tệp tin"
    make(server, env, media_base_url=server.portal.url + "/tệp tin").publish(rendering(image), key="k1")
    [art] = server.live_articles()
    assert art.doc["cover"]["photo_url"] == f"{server.portal.url}/t%E1%BB%87p%20tin/{IMAGE_HASH}.png"


def test_default_cover_url_is_the_portal_media_folder(server, env, image):
    server.fetch_covers = False  # cong.gov.vn is not reachable from the test
    opts = {"media_base_url": ""}
    make(server, env, **opts).publish(rendering(image), key="k1")
    [art] = server.live_articles()
    assert art.doc["cover"]["photo_url"] == f"https://cong.gov.vn/media/{IMAGE_HASH}.png"


def test_cover_not_a_jpeg_or_png_is_refused_before_sending(server, env, tmp_path):
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a" + b"\0" * 20)
    with pytest.raises(PermanentPublishError) as exc:
        make(server, env).publish(rendering(gif), key="k1")
    assert exc.value.reason == "the cover image is not a JPEG or PNG; Zalo articles take only those"
    assert server.requests == []


def test_cover_zalo_cannot_fetch_is_transient_then_created_once_it_is_public(server, env, image, portal):
    portal.files.clear()  # the portal has not published the image yet
    clock = Clock()
    pub = make(server, env, clock=clock, lookup_settle=300)
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(image), key="k1")
    assert exc.value.code == "media_failed" and exc.value.retry_after == 300 and not exc.value.holds_channel
    assert exc.value.vendor_message == "Upload media failed" and server.live_articles() == []
    portal.files[f"/media/{IMAGE_HASH}.png"] = PNG
    clock.offset = timedelta(minutes=6)  # the failed attempt is searched for first, then created again
    result = pub.publish(rendering(image), key="k1")
    assert [a.id for a in server.live_articles()] == [result.remote_id]
    assert len(server.calls("POST", "/v2.0/article/create")) == 2


def test_description_of_300_is_shortened_below_zalo_limit(server, env, image):
    text = ("Hướng dẫn nộp hồ sơ trực tuyến " * 20)[:300]
    make(server, env).publish(rendering(image, description=text), key="k1")
    [art] = server.live_articles()
    sent = art.doc["description"]
    assert len(sent) < 300 and sent.endswith("…") and text.startswith(sent[:-1])


def test_title_of_149_goes_through(server, env, image):
    make(server, env).publish(rendering(image, title="T" * 149), key="k1")
    assert len(server.live_articles()) == 1


def test_seeded_expired_token_answers_124_and_is_refreshed_once(server, env, image):
    server.expire_access_tokens()  # the token in LOA_ZALO_ACCESS has lived its 25 h; its expiry is unknown to Loa
    got = requests.get(server.url + "/v2.0/oa/getoa", headers={"access_token": env["ZALO_ACCESS"]}).json()
    assert got == {"error": -124, "message": "Access token has expired"}
    pub = make(server, env)
    result = pub.publish(rendering(image), key="k1")
    assert result.remote_id == server.live_articles()[0].id and len(refreshes(server)) == 1
    assert pub._load("access")["token"] != env["ZALO_ACCESS"]
    pub.publish(rendering(image, post_id="b"), key="b")  # the stored token is used from now on
    assert len(refreshes(server)) == 1


def test_getslice_create_date_in_seconds_is_read_as_seconds(portal, env, image):
    """Read as milliseconds, 1.7e9 seconds would be January 1970 and the lost article never found."""
    with ZaloServer(create_date_unit="s") as s:
        s.portal = portal
        access, refresh = s.issue()
        e = env | {"ZALO_ACCESS": access, "ZALO_REFRESH": refresh}
        s.inject("/v2.0/article/create", after=True, drop=True)
        pub = make(s, e, lookup_settle=0)
        with pytest.raises(TransientPublishError):
            pub.publish(rendering(image), key="k1")
        page = requests.get(s.url + "/v2.0/article/getslice", params={"offset": 0, "limit": 10},
                            headers={"access_token": access}).json()["data"]
        assert page["medias"][0]["create_date"] < 10**10  # seconds
        found = pub.lookup(rendering(image), "k1")
        [art] = s.live_articles()
        assert found is not None and found.remote_id == art.id


def test_getdetail_without_link_view_publishes_without_a_link(portal, env, image):
    with ZaloServer(detail_link_view=False) as s:
        s.portal = portal
        access, refresh = s.issue()
        result = make(s, env | {"ZALO_ACCESS": access, "ZALO_REFRESH": refresh}).publish(rendering(image), key="k1")
        assert result.remote_id == s.live_articles()[0].id and result.remote_url is None


# -- the broadcast ----------------------------------------------------------------------------------------
def test_broadcast_sends_the_article_to_followers_once(server, env, image):
    pub = make(server, env, broadcast=True)
    result = pub.publish(rendering(image), key="k1")
    [b] = server.broadcasts
    assert b["articles"] == [result.remote_id] and b["target"] == {}
    assert result.extra["broadcast"]["state"] == "sent" and result.extra["broadcast"]["message_id"] == b["message_id"]
    assert pub.publish(rendering(image), key="k1").remote_id == result.remote_id  # a repeat sends nothing
    pub.update(rendering(image, body="Nội dung mới."), result)  # nor does an edit
    assert len(server.broadcasts) == 1


def test_broadcast_off_by_default(server, env, image):
    make(server, env).publish(rendering(image), key="k1")
    assert server.broadcasts == [] and server.calls("POST", "/v2.0/oa/message") == []


def test_broadcast_quota_is_a_wait_until_the_next_day_not_a_failure(server, env, image):
    clock = Clock()
    pub = make(server, env, broadcast=True, clock=clock)
    pub.publish(rendering(image, post_id="a"), key="a")
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(image, post_id="b", title="Tin thứ hai"), key="b")
    assert exc.value.code == "broadcast_quota" and exc.value.throttle and not exc.value.maybe_sent
    now = clock().astimezone(timezone(timedelta(hours=7)))
    midnight = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) + timedelta(days=1)
    assert exc.value.retry_after == pytest.approx((midnight - now).total_seconds(), abs=2)
    assert len(server.live_articles()) == 1  # the second article waits with its notice
    clock.offset = midnight - now + timedelta(minutes=1)
    server.broadcast_daily = 2  # the fake's own day is the real one; Loa's count is what is under test
    pub.publish(rendering(image, post_id="b", title="Tin thứ hai"), key="b")
    assert len(server.broadcasts) == 2 and len(server.live_articles()) == 2


def test_broadcast_monthly_quota_waits_for_the_first_of_next_month(server, env, image):
    clock = Clock()
    pub = make(server, env, broadcast=True, clock=clock, broadcast_per_month=1)
    pub.publish(rendering(image, post_id="a"), key="a")
    clock.offset = timedelta(days=1)
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(image, post_id="b", title="Tin thứ hai"), key="b")
    assert "1 of 1 this month" in exc.value.reason and exc.value.throttle
    from pipeline.messages import localized  # the reader's words (issue 17): the wait's end as the site writes it

    assert localized(exc.value.reason, "vi").startswith("đã hết lượt gửi thông báo tới người quan tâm của Zalo "
                                                        "(đã gửi 1/1 lượt trong tháng này); bài viết và thông báo của nó "
                                                        "chờ đến 00:00 1/"), localized(exc.value.reason, "vi")


def test_zalo_quota_answer_after_the_article_is_a_wait_and_the_notice_follows(server, env, image):
    server.inject("/v2.0/oa/message", status=200, body={"error": -32, "message": "Quota exceeded"})
    pub = make(server, env, broadcast=True, quota_codes=[-32])
    with pytest.raises(TransientPublishError) as exc:
        pub.publish(rendering(image), key="k1")
    assert exc.value.code == "broadcast_quota" and exc.value.throttle and exc.value.vendor_message == "Quota exceeded"
    from pipeline.messages import localized

    assert localized(exc.value.reason, "vi").startswith("Zalo từ chối gửi thông báo vì đã hết lượt: Quota exceeded; "
                                                        "Loa gửi lại sau 00:00 ")
    assert exc.value.reason.startswith("Zalo refused the broadcast for its quota: Quota exceeded; Loa sends it after 20")
    [art] = server.live_articles()
    result = pub.publish(rendering(image), key="k1")  # the article is not created again; the notice goes
    assert result.remote_id == art.id and len(server.broadcasts) == 1
    assert len(server.calls("POST", "/v2.0/article/create")) == 1


def test_broadcast_whose_answer_was_lost_is_never_sent_again(server, env, image, caplog):
    server.inject("/v2.0/oa/message", after=True, drop=True)
    pub = make(server, env, broadcast=True)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(image), key="k1")
    result = pub.publish(rendering(image), key="k1")
    assert result.extra["broadcast"]["state"] == "in_doubt" and len(server.broadcasts) == 1
    assert len(server.calls("POST", "/v2.0/oa/message")) == 1
    assert "may or may not have gone out" in caplog.text


def test_broadcast_refused_keeps_the_article_published(server, env, image):
    server.inject("/v2.0/oa/message", status=200, body={"error": -201, "message": "OA chưa được cấp quyền gửi tin"})
    result = make(server, env, broadcast=True).publish(rendering(image), key="k1")
    assert result.remote_id == server.live_articles()[0].id
    assert result.extra["broadcast"] == {"state": "refused", "at": result.extra["broadcast"]["at"],
                                         "error": "OA chưa được cấp quyền gửi tin"}


def test_server_broadcast_contract(server, env, image):
    aid = make(server, env).publish(rendering(image), key="k1").remote_id

    def send(elements, target=None):
        body = {"recipient": {"target": target if target is not None else {}},
                "message": {"attachment": {"type": "template",
                                           "payload": {"template_type": "media", "elements": elements}}}}
        return requests.post(server.url + "/v2.0/oa/message", headers={"access_token": env["ZALO_ACCESS"]},
                             json=body).json()

    assert send([{"media_type": "article", "attachment_id": "nope"}])["message"] == "attachment_id is invalid"
    assert send([{"media_type": "article", "attachment_id": aid}] * 6)["message"] == "message is invalid"
    assert send([{"media_type": "article", "attachment_id": aid}], {"gender": 1})["data"]["message_id"]
    assert send([{"media_type": "article", "attachment_id": aid}]) == {"error": -32,
                                                                       "message": "The OA has used up its broadcast quota"}


def test_broadcast_unreachable_is_sent_later_but_a_5xx_is_in_doubt(server, env, image):
    server.inject("/v2.0/oa/message", status=429, body={"message": "slow down"})
    pub = make(server, env, broadcast=True)
    with pytest.raises(TransientPublishError):
        pub.publish(rendering(image), key="k1")
    assert pub.publish(rendering(image), key="k1").extra["broadcast"]["state"] == "sent"
    server.inject("/v2.0/oa/message", status=502, body={"message": "Bad Gateway"})
    server.broadcast_daily = 5
    pub2 = make(server, env, broadcast=True, broadcast_per_day=5)
    with pytest.raises(TransientPublishError):
        pub2.publish(rendering(image, post_id="b", title="Tin hai"), key="b")
    assert pub2.publish(rendering(image, post_id="b", title="Tin hai"), key="b").extra["broadcast"]["state"] == "in_doubt"
    assert len(server.calls("POST", "/v2.0/oa/message")) == 3


def test_a_wordpress_portal_cover_url_is_the_loa_plugin_upload_name(server, env, image):
    """With a WordPress portal, images live where the Loa plugin puts Loa's uploads
    (uploads/loa/loa-img-<sha256[:20]>.<ext>; tests/test_wordpress.py checks WordPress serves them
    there): the cover URL is known before WordPress has uploaded it."""
    import hashlib

    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    server.portal.files[f"/wp-content/uploads/loa/loa-img-{sha[:20]}.png"] = image.read_bytes()
    make(server, env, media_base_url=server.portal.url + "/wp-content/uploads/loa/", media_names="wordpress").publish(
        rendering(image), key="k1")
    [art] = server.live_articles()
    assert art.doc["cover"]["photo_url"] == f"{server.portal.url}/wp-content/uploads/loa/loa-img-{sha[:20]}.png"
