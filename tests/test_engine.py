"""The delivery engine against a real SQLite ledger, the static site and a local webhook server."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.app import Session
from pipeline.config import load_config
from pipeline.errors import InDoubtPublishError, PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.ledger import open_ledger
from tests.repo import make_repo, post, small_config
from tests.servers.webhook import WebhookServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2024, 3, 25, 8, 0, tzinfo=VN)

CONFIG = small_config(["portal", "hook"]) + """
[channels.portal]
type = "static_site"
[channels.hook]
type = "webhook"
url = "{url}/items"
social = true
{hook_extra}
[daemon]
retry_base = "60s"
max_attempts = 3
lease = "2m"
{extra}
"""


@pytest.fixture
def server():
    with WebhookServer() as s:
        yield s


class Env:
    def __init__(self, tmp_path, server, posts, hook_extra="", extra=""):
        self.root = make_repo(tmp_path, posts, config=CONFIG.format(url=server.url, hook_extra=hook_extra, extra=extra))
        self.cfg = load_config(self.root / "config.toml", env={})
        self.server = server

    def ledger(self):
        lg = open_ledger(None, self.root)
        lg.migrate()
        return lg

    def run(self, now, **kw):
        engine = Session(self.cfg, self.ledger, owner="test-worker", clock=lambda: now, env={})
        return engine.publish(now=now, **kw)

    def row(self, post_id, channel="hook"):
        lg = self.ledger()
        try:
            return lg.get(post_id, channel)
        finally:
            lg.close()

    def write(self, rel, text):
        (self.root / "content" / rel).write_text(text, encoding="utf-8")


def test_post_goes_out_at_its_time_exactly_once(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    r = env.run(T0 - timedelta(minutes=1))
    assert (r.sent, server.creates) == (0, 0)
    assert r.next_wakeup == T0
    r = env.run(T0)
    assert r.sent == 2 and server.creates == 1 and r.exit_code == 0
    row = env.row("a")
    assert row.state == "published" and row.remote_url.endswith("/items/1") and row.title.startswith("Phường 1")
    assert (env.root / "site/news/phuong-1-to-chuc-hoi-thi-tim-hieu-cai-cach-hanh-chinh.html").exists()
    for _ in range(3):
        assert env.run(T0 + timedelta(hours=1)).sent == 0
    assert server.creates == 1
    lg = env.ledger()
    assert [e.kind for e in lg.events(post_id="a", channel="hook")] == ["claim", "send", "success"]
    lg.close()


def test_stale_posts_are_skipped_on_social_but_not_on_the_portal(tmp_path, server):
    posts = {f"news/p{i}.md": post(id=f"p{i}", title=f"Bài cũ {i}", publish_at="2024-01-01 08:00") for i in range(5)}
    env = Env(tmp_path, server, posts)
    r = env.run(T0)
    assert server.creates == 0 and r.skipped == 5
    assert "stale" in env.row("p0").last_error and env.row("p0").state == "skipped"
    assert env.row("p0", "portal").state == "published"  # the portal has no lateness limit


def test_spacing_min_interval_and_max_per_day(tmp_path, server):
    posts = {f"news/p{i}.md": post(id=f"p{i}", title=f"Bài {i}", publish_at=f"2024-03-25 0{i}:00") for i in range(1, 6)}
    env = Env(tmp_path, server, posts, hook_extra='min_interval = "10m"\nmax_per_day = 3')
    env.run(T0)
    assert [i["post_id"] for i in server.live()] == ["p1"]  # publish_at order
    env.run(T0 + timedelta(minutes=5))
    assert server.creates == 1
    env.run(T0 + timedelta(minutes=10))
    env.run(T0 + timedelta(minutes=20))
    env.run(T0 + timedelta(minutes=30))
    assert server.creates == 3  # max_per_day
    env.run(datetime(2024, 3, 26, 0, 30, tzinfo=VN))  # a new day, still within the 24 h lateness
    assert server.creates == 4
    env.run(datetime(2024, 3, 26, 8, 0, tzinfo=VN))  # p5 (due 05:00 yesterday) is now stale: skipped
    assert server.creates == 4 and env.row("p5").state == "skipped"


def test_approval_required_holds_until_approved(tmp_path, server, monkeypatch, capsys):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    env.cfg = load_config(env.root / "config.toml", env={})
    cfg_text = (env.root / "config.toml").read_text().replace("require_approval = []", 'require_approval = ["hook"]')
    (env.root / "config.toml").write_text(cfg_text)
    env.cfg = load_config(env.root / "config.toml", env={})
    env.run(T0)
    assert server.creates == 0
    monkeypatch.chdir(env.root)
    from pipeline.cli import main
    assert main(["approve", "content/news/a.md", "--by", "Lê Thị Mai"]) == 0
    env.cfg = load_config(env.root / "config.toml", env={})
    env.run(T0 + timedelta(minutes=1))
    assert server.creates == 1


def test_blackout_and_pause(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")},
              extra='[[blackouts]]\nstart = 2024-03-25T00:00:00\nend = 2024-03-25T12:00:00\nreason = "Quốc tang"\nchannels = ["hook"]')
    r = env.run(T0)
    assert server.creates == 0 and r.next_wakeup == datetime(2024, 3, 25, 12, tzinfo=VN)
    lg = env.ledger()
    lg.pause("hook", reason="kiểm tra nội dung", actor="it", now=T0)
    lg.close()
    env.run(T0 + timedelta(hours=5))
    assert server.creates == 0
    lg = env.ledger()
    lg.resume("hook", actor="it", now=T0 + timedelta(hours=5))
    events = [e.kind for e in lg.events()]
    lg.close()
    assert "pause" in events and "resume" in events
    env.run(T0 + timedelta(hours=5, minutes=1))
    assert server.creates == 1


def test_edit_updates_the_same_item_and_retraction_removes_it(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    env.run(T0)
    env.write("news/a.md", post(id="a", body="Nội dung đã sửa lỗi chính tả.\n"))
    r = env.run(T0 + timedelta(hours=1))
    assert r.updated == 2 and server.creates == 1
    assert server.items["1"]["body"].startswith("<article")
    assert "đã sửa lỗi chính tả" in server.items["1"]["body"]
    env.write("news/a.md", post(id="a", body="Nội dung đã sửa lỗi chính tả.\n", retracted="Thông tin chưa chính xác"))
    r = env.run(T0 + timedelta(hours=2))
    assert r.retracted == 2 and server.live() == []
    assert env.row("a").state == "retracted" and env.row("a", "portal").state == "retracted"
    assert not (env.root / "site/news/phuong-1-to-chuc-hoi-thi-tim-hieu-cai-cach-hanh-chinh.html").exists()
    assert env.run(T0 + timedelta(hours=3)).sent == 0 and server.creates == 1


def test_deleted_file_is_not_a_retraction(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    env.run(T0)
    (env.root / "content/news/a.md").unlink()
    env.run(T0 + timedelta(hours=1))
    assert len(server.live()) == 1 and env.row("a").state == "published"
    with Session(env.cfg, env.ledger, env={}) as s:
        st = s.status(T0 + timedelta(hours=1))
    assert {("a", "deleted")} <= {(h["post"], h["reason"]) for h in st["held"]}


def test_transient_then_success_and_retry_after_honoured(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a"), "news/b.md": post(id="b", title="Bài B")})
    server.inject("/items", status=500, body={"error": "boom"})
    server.inject("/items", status=429, body={"error": "slow down"}, headers={"Retry-After": "120"})
    r = env.run(T0)
    assert r.transient == 2 and r.exit_code == 75 and server.creates == 0
    rows = {env.row("a").next_attempt_at, env.row("b").next_attempt_at}
    assert (T0 + timedelta(seconds=120)) in rows  # the vendor's Retry-After, exactly
    assert json.loads(env.row("a").last_error)["reason"].startswith("the webhook answered HTTP")
    env.run(T0 + timedelta(minutes=1))
    env.run(T0 + timedelta(minutes=5))
    assert server.creates == 2 and env.row("a").state == env.row("b").state == "published"


def test_timeouts_and_connection_resets_are_transient(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")}, hook_extra="timeout = 1")
    server.inject("/items", delay=2.5)  # read timeout (the item is created late: the key prevents a double)
    r = env.run(T0)
    assert r.transient == 1
    server.inject("/items", drop=True)
    env.run(T0 + timedelta(minutes=5))
    env.run(T0 + timedelta(minutes=15))
    env.run(T0 + timedelta(minutes=45))
    assert env.row("a").state == "published"
    assert len(server.live()) == 1


def test_permanent_failure_waits_for_a_content_change(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    server.inject("/items", status=400, body={"error": "title too long"})
    r = env.run(T0)
    assert r.permanent == 1 and r.exit_code == 1 and env.row("a").state == "failed"
    env.run(T0 + timedelta(hours=1))
    assert server.creates == 0  # not retried
    env.write("news/a.md", post(id="a", title="Tiêu đề ngắn hơn"))
    env.run(T0 + timedelta(hours=2))
    assert server.creates == 1


def test_auth_failure_holds_the_channel_with_one_message(tmp_path, server, monkeypatch, capsys):
    posts = {f"news/p{i}.md": post(id=f"p{i}", title=f"Bài {i}") for i in range(3)}
    env = Env(tmp_path, server, posts)
    server.inject("/items", status=401, body={"error": "token expired"})
    r = env.run(T0)
    assert r.permanent == 1 and sum("HELD" in line for line in r.lines) == 1
    assert len(server.calls("POST", "/items")) == 1  # no retry storm
    env.run(T0 + timedelta(minutes=5))
    assert len(server.calls("POST", "/items")) == 1
    monkeypatch.chdir(env.root)
    from pipeline.cli import main
    assert main(["retry", "--channel", "hook"]) == 0
    env.run(T0 + timedelta(minutes=10))
    assert server.creates == 3


def test_lost_answer_is_reconciled_not_resent(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    server.inject("/items", after=True, drop=True)  # created, then the answer is lost
    env.run(T0)
    assert server.creates == 1 and env.row("a").state == "retrying"
    env.run(T0 + timedelta(minutes=5))
    assert server.creates == 1 and env.row("a").state == "published"  # same key: the receiver returned the item


def test_a_lost_answer_then_an_edit_is_found_under_the_lost_key_and_updated_not_sent_again(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    server.inject("/items", after=True, drop=True)  # created, then the answer is lost
    env.run(T0)
    assert server.creates == 1 and env.row("a").state == "retrying"
    env.write("news/a.md", post(id="a", body="Nội dung đã sửa lỗi chính tả.\n"))  # edited before the retry
    r = env.run(T0 + timedelta(minutes=5))
    assert r.settled == 1 and server.creates == 1  # found under the key the lost request carried
    row = env.row("a")
    assert row.state == "published" and row.version != read_version(env, "a")  # the vendor shows the old version
    r = env.run(T0 + timedelta(minutes=10))
    assert r.updated == 1 and server.creates == 1
    [item] = server.live()
    assert "đã sửa lỗi chính tả" in item["body"]
    row = env.row("a")
    assert row.state == "published" and row.version == read_version(env, "a")
    assert env.run(T0 + timedelta(hours=1)).sent == 0 and server.creates == 1 and len(server.live()) == 1
    lg = env.ledger()
    assert lg.maybe_sent_key("a", "hook") is None
    assert [e.kind for e in lg.events(post_id="a", channel="hook", kinds=("success",))] == ["success"]
    lg.close()


def test_an_expired_claim_of_an_edited_post_is_found_under_the_previous_owners_key(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    from pipeline.publish import idempotency_key
    old = read_version(env, "a")
    lg = env.ledger()  # a worker claimed, sent, and died before recording
    lg.ensure("a", "hook", channel_type="webhook", meta={"title": "a"}, now=T0)
    lg.claim("a", "hook", owner="dead-worker", action="create", version=old, lease=timedelta(minutes=2),
             now=T0, allowed_states=("pending",))
    lg.close()
    import requests
    requests.post(f"{server.url}/items", json={"post_id": "a", "body": "old"},
                  headers={"Idempotency-Key": idempotency_key("a", "hook", old)})
    env.write("news/a.md", post(id="a", body="Nội dung đã sửa lỗi chính tả.\n"))  # edited meanwhile
    r = env.run(T0 + timedelta(minutes=3))
    assert r.settled == 1 and server.creates == 1 and env.row("a").version == old
    r = env.run(T0 + timedelta(minutes=10))
    assert r.updated == 1 and server.creates == 1
    [item] = server.live()
    assert "đã sửa lỗi chính tả" in item["body"] and env.row("a").version == read_version(env, "a")


def test_the_version_of_a_lost_key_is_read_from_the_claims_when_the_row_no_longer_has_it(tmp_path, server):
    from pipeline.publish import _version_of, idempotency_key
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    lg = env.ledger()
    lg.ensure("a", "hook", channel_type="webhook", meta={"title": "a"}, now=T0)
    for k, v in enumerate(("v1", "v2", "v3")):  # each claim given back: only the last stays on the row
        now = T0 + timedelta(minutes=k)
        lg.claim("a", "hook", owner="w", action="create", version=v, lease=timedelta(minutes=2), now=now,
                 allowed_states=("pending",))
        lg.release("a", "hook", owner="w", now=now)
    assert lg.get("a", "hook").pending_version == "v3"
    for v in ("v1", "v2", "v3"):
        assert _version_of(lg, "a", "hook", idempotency_key("a", "hook", v), ("v3",)) == v
        assert _version_of(lg, "a", "hook", idempotency_key("a", "hook", v), ()) == v  # the same without a likely one
    assert _version_of(lg, "a", "hook", "loa-unknown", ("v3",)) == ""  # none: not a version, so an update follows
    lg.close()


def read_version(env, post_id):
    from pipeline.content import read_post
    p, _ = read_post(env.root / f"content/news/{post_id}.md", env.cfg)
    return p.source_hash


def test_expired_claim_is_settled_by_lookup(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    # a worker claimed, sent, and died before recording
    from pipeline.publish import idempotency_key
    from pipeline.content import read_post
    p, _ = read_post(env.root / "content/news/a.md", env.cfg)
    lg = env.ledger()
    lg.ensure("a", "hook", channel_type="webhook", meta={"title": p.title}, now=T0)
    lg.claim("a", "hook", owner="dead-worker", action="create", version=p.source_hash, lease=timedelta(minutes=2),
             now=T0, allowed_states=("pending",))
    lg.close()
    import requests
    requests.post(f"{server.url}/items", json={"post_id": "a"}, headers={"Idempotency-Key": idempotency_key("a", "hook", p.source_hash)})
    r = env.run(T0 + timedelta(minutes=1))
    assert env.row("a").state == "claimed"  # lease still live: in flight, left alone
    r = env.run(T0 + timedelta(minutes=3))
    assert r.settled == 1 and server.creates == 1 and env.row("a").state == "published"


def test_a_bug_is_recorded_with_traceback_and_not_retried(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})

    class Broken:
        can_lookup = False

        def publish(self, rendering, key):
            raise ValueError("unexpected")

        def close(self):
            pass

    engine = Session(env.cfg, env.ledger, owner="w", clock=lambda: T0, env={},
                    publisher_factory=lambda ch, lg: Broken())
    r = engine.publish(now=T0)
    assert r.bugs == 2 and r.exit_code == 1
    row = env.row("a")
    assert row.state == "failed" and row.error_kind == "bug" and "Traceback" in json.loads(row.last_error)["traceback"]
    r = engine.publish(now=T0 + timedelta(hours=1))
    assert r.bugs == 0


def test_dry_run_changes_nothing(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    r = env.run(T0, dry_run=True)
    assert any(line.startswith("would create a on hook") for line in r.lines)
    assert server.creates == 0 and env.row("a") is None


def test_timeout_on_a_channel_without_lookup_is_held_not_resent(tmp_path, server):
    """A read timeout means the vendor may have the item: a channel that cannot be asked is held
    for a person (loa resolve), never sent a second time."""
    env = Env(tmp_path, server, {"news/a.md": post(id="a")}, hook_extra="timeout = 1")

    from publishers.webhook import WebhookPublisher

    class NoLookup(WebhookPublisher):
        can_lookup = False

        def _send(self, rendering, key):  # a vendor without idempotency keys
            return super()._send(rendering, key + "-" + str(len(server.requests)))

    def factory(ch, lg):
        if ch.type == "webhook":
            return NoLookup(ch.name, ch.options, env={})
        return env_engine.publisher(ch, lg)

    env_engine = Session(env.cfg, env.ledger, owner="w", clock=lambda: T0, env={})
    server.inject("/items", delay=2.5)
    engine = Session(env.cfg, env.ledger, owner="w", clock=lambda: T0, env={}, publisher_factory=factory)
    r = engine.publish(now=T0)
    assert r.transient == 1
    time.sleep(1.6)  # the slow create lands at the receiver
    later = T0 + timedelta(minutes=10)
    engine = Session(env.cfg, env.ledger, owner="w", clock=lambda: later, env={}, publisher_factory=factory)
    r = engine.publish(now=later)
    assert r.in_doubt == 1 and server.creates == 1 and env.row("a").state == "in_doubt"
    assert engine.publish(now=later + timedelta(hours=1)).sent == 0 and server.creates == 1


@pytest.mark.parametrize("error, state, counted", [
    (lambda: InDoubtPublishError("hook", "a", "cannot tell"), "in_doubt", "in_doubt"),
    (lambda: PermanentPublishError("hook", "a", "refused"), "failed", "permanent"),
    (lambda: PublisherAuthError("hook", "a", "token expired"), "failed", "permanent"),
    (lambda: TransientPublishError("hook", "a", "busy", status=503), "retrying", "transient"),
])
def test_the_engine_does_what_the_error_class_says(tmp_path, server, error, state, counted):
    """One handler reads each error's class: in doubt is held for a person, permanent fails,
    auth fails and holds the channel, transient is retried."""
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})

    class Refusing:
        can_lookup = False

        def publish(self, rendering, key):
            raise error()

        def close(self):
            pass

    with Session(env.cfg, env.ledger, owner="w", clock=lambda: T0, env={},
                 publisher_factory=lambda ch, lg: Refusing() if ch.name == "hook" else Session.publisher(s, ch, lg)) as s:
        r = s.publish(now=T0)
        assert getattr(r, counted) == 1 and env.row("a").state == state
        holds = s.ledger.holds()
    assert ("hook" in holds) == (error().holds_channel and error().outcome != "retry")


def test_a_daemon_renders_a_linked_posts_new_address_after_its_slug_changes(tmp_path, server):
    """A long-lived session (the daemon's) renders links between posts as a fresh one does: the
    renderer's article HTML is keyed on the content's revision, not kept across it."""
    env = Env(tmp_path, server, {
        "news/target.md": post(id="target", title="Bài đích", slug="bai-dich"),
        "news/linking.md": post(id="linking", title="Bài dẫn", body="Xem [bài kia](target.md).\n"),
    })
    s = Session(env.cfg, env.ledger, owner="w", clock=lambda: T0, env={})
    try:
        html = s.renderer().article_html(next(p for p in s.content().posts if p.id == "linking"))
        assert "/bai-dich.html" in html
        env.write("news/target.md", post(id="target", title="Bài đích", slug="bai-dich-moi"))
        os.utime(env.root / "content/news/target.md", ns=(10**18, 10**18))  # a new (mtime, size) for sure
        linking = next(p for p in s.content().posts if p.id == "linking")
        kept = s.renderer().article_html(linking)
        with Session(env.cfg, env.ledger, owner="fresh", clock=lambda: T0, env={}) as fresh:
            new = fresh.renderer().article_html(next(p for p in fresh.content().posts if p.id == "linking"))
        assert "/bai-dich-moi.html" in new
        assert kept == new
    finally:
        s.close()


# -- leases: renewed while a send is in flight; a lost claim ends the item, not the pass (issue 15) ---
def _short_lease(cfg, seconds: float):
    from dataclasses import replace
    return replace(cfg, daemon=replace(cfg.daemon, lease=timedelta(seconds=seconds)))


def test_a_send_longer_than_the_lease_keeps_its_claim_and_the_pass_goes_on(tmp_path):
    import threading

    with WebhookServer(latency=2.5) as slow:  # each answer takes 2.5 s; the lease is 1 s
        env = Env(tmp_path, slow, {"news/a.md": post(id="a", title="Tin a: Phường 1 họp dân"),
                                   "news/b.md": post(id="b", title="Tin b: Phường 1 họp dân")})
        cfg = _short_lease(env.cfg, 1.0)
        start = time.monotonic()
        clock = lambda: T0 + timedelta(seconds=time.monotonic() - start)  # noqa: E731
        done: dict = {}

        def worker(owner):
            try:
                done[owner] = Session(cfg, env.ledger, owner=owner, clock=clock, env={}).publish(now=clock())
            except BaseException as exc:  # noqa: BLE001 - reported below
                done[owner] = exc
        first = threading.Thread(target=worker, args=("w1",))
        first.start()
        time.sleep(1.8)  # w1's first send is in flight, past the lease it was claimed with
        worker("w2")
        first.join(timeout=30)
        assert not isinstance(done["w1"], BaseException), done["w1"]  # no "claim lost"
        assert not isinstance(done["w2"], BaseException), done["w2"]
        assert done["w1"].in_doubt == done["w2"].in_doubt == 0
        assert slow.creates == 2 and sorted(i["post_id"] for i in slow.live()) == ["a", "b"]
        assert env.row("a").state == env.row("b").state == "published"
        lg = env.ledger()
        try:
            events = lg.events(channel="hook")
        finally:
            lg.close()
        assert not [e for e in events if e.kind in ("in_doubt", "claim_lost") or "took_over_from" in e.detail]
        assert [e.actor for e in events if e.kind == "success" and e.post_id == "a"] == ["w1"]


def test_a_lost_claim_ends_that_item_and_the_pass_goes_on(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a", title="Tin a: Phường 1 họp dân"),
                                 "news/b.md": post(id="b", title="Tin b: Phường 1 họp dân", publish_at="2024-03-25 08:01")})
    session = Session(env.cfg, env.ledger, owner="w1", clock=lambda: T0 + timedelta(minutes=2), env={})

    class TakenOver:
        """While a is being sent, another worker takes its claim over (as after a long stall)."""

        def __init__(self, pub):
            self.pub = pub

        def publish(self, rendering, *, key):
            if rendering.post_id == "a":
                lg = env.ledger()
                try:
                    lg.mark_in_doubt("a", "hook", owner="w2", reason="lease expired", now=T0 + timedelta(hours=1))
                finally:
                    lg.close()
            return self.pub.publish(rendering, key=key)

        def __getattr__(self, name):
            return getattr(self.pub, name)

    from pipeline.publish import Engine
    real = Engine.publisher
    original_init = Engine.__init__

    def init(self, *a, **kw):
        original_init(self, *a, **kw)
        self.publisher_factory = lambda ch, lg: TakenOver(real(self, ch, lg)) if ch.name == "hook" else real(self, ch, lg)
    Engine.__init__ = init
    try:
        r = session.publish(now=T0 + timedelta(minutes=2))  # today: LedgerError "claim lost" ends the pass
    finally:
        Engine.__init__ = original_init
    assert env.row("b").state == "published"  # the rest of the pass went on
    assert env.row("a").state == "in_doubt"  # a is the other worker's now: reconciled there, not here
    assert any("lost the claim on a on hook" in line for line in r.lines)
    lg = env.ledger()
    try:
        [lost] = lg.events(post_id="a", channel="hook", kinds=["claim_lost"])
    finally:
        lg.close()
    assert lost.actor == "w1" and "claim lost" in lost.detail["reason"]


def test_a_lease_below_thirty_seconds_is_a_config_error(tmp_path, server, monkeypatch):
    from pipeline.errors import ConfigError

    monkeypatch.delenv("LOA_MIN_LEASE_SECONDS", raising=False)
    env = Env(tmp_path, server, {"news/a.md": post(id="a")})
    text = (env.root / "config.toml").read_text().replace('lease = "2m"', 'lease = "10s"')
    (env.root / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match="lease"):
        load_config(env.root / "config.toml", env={})
    (env.root / "config.toml").write_text(text.replace('lease = "10s"', 'lease = "30s"'))
    assert load_config(env.root / "config.toml", env={}).daemon.lease == timedelta(seconds=30)


def test_a_pass_renders_each_post_once_and_sends_what_rendering_again_gives(tmp_path, server, monkeypatch):
    """The send takes the renderings the publish gate made (app._PassRenderings): each (post,
    channel) is rendered once in a pass, and what a channel receives equals a fresh render."""
    from collections import Counter

    import publishers.base
    from pipeline.render import Renderer

    env = Env(tmp_path, server, {
        "news/a.md": post(id="a"),
        "news/b.md": post(id="b", title="Phường 2 hướng dẫn nộp hồ sơ trực tuyến",
                          body="Xem thêm [bài trước](a.md#cuoi) về hội thi.\n"),
        "news/c.md": post(id="c", title="Lịch tiếp công dân tháng 4", publish_at="2024-04-02 08:00")})
    calls: Counter = Counter()
    sent: list = []
    render, publish, update = Renderer.render, publishers.base.Publisher.publish, publishers.base.Publisher.update

    def counting(self, p, channel):
        calls[p.id, channel] += 1
        return render(self, p, channel)

    def recording(self, rendering, *, key):
        sent.append(rendering)
        return publish(self, rendering, key=key)

    def recording_update(self, rendering, previous):
        sent.append(rendering)
        return update(self, rendering, previous)

    monkeypatch.setattr(Renderer, "render", counting)
    monkeypatch.setattr(publishers.base.Publisher, "publish", recording)
    monkeypatch.setattr(publishers.base.Publisher, "update", recording_update)

    def fresh(renderings):
        s = Session(env.cfg, env.ledger, env={})
        try:
            content = s.content()
            by_id = {p.id: p for p in content.posts}
            return [render(s.renderer(content), by_id[r.post_id], r.channel) for r in renderings]
        finally:
            s.close()

    r = env.run(T0)
    assert r.sent == 4 and {(x.post_id, x.channel) for x in sent} == {(i, c) for i in "ab" for c in ("portal", "hook")}
    assert set(calls.values()) == {1} and len(calls) == 6  # c, not due yet, is checked (rendered) but not sent
    assert sent == fresh(sent)
    assert 'href="https://' in next(x for x in sent if x.post_id == "b" and x.channel == "portal").body
    calls.clear(), sent.clear()
    env.write("news/a.md", post(id="a", body="Sáng 25/3, UBND Phường 1 tổ chức Hội thi (bản sửa).\n"))
    r = env.run(T0 + timedelta(hours=1))  # an edit: its update goes out with the gate's renderings
    assert r.updated == 2 and {(x.post_id, x.channel) for x in sent} == {("a", "portal"), ("a", "hook")}
    assert set(calls.values()) == {1} and calls["a", "portal"] == 1  # a fresh session checks every post again
    assert sent == fresh(sent)


def test_the_gates_worker_processes_find_and_render_what_this_process_does(tmp_path, server, monkeypatch):
    """``Session.publish(jobs=2)`` checks the posts on forked workers (pipeline/workers.py, as loa
    preview renders): the problems, and the renderings the send takes, equal a check here."""
    import publishers.base
    from pipeline import app
    from pipeline.render import Renderer

    posts = {f"news/p{i}.md": post(id=f"p{i}", title=f"Phường {i} hướng dẫn nộp hồ sơ trực tuyến lần {i}",
                                   body=f"Bước {i}: xem [bài đầu](p0.md).\n\n| a | b |\n|---|---|\n| {i} | x |\n")
             for i in range(6)}
    posts["news/bad.md"] = post(id="bad", title="Bài có chủ đề lạ", topics=["khong-co"])
    env = Env(tmp_path, server, posts)
    monkeypatch.setattr(app, "GATE_WORKERS_FROM", 2)
    from pipeline import workers

    forks, close = [], workers.Workers.close
    monkeypatch.setattr(workers.Workers, "close", lambda self: (forks.append(self.pool is not None), close(self)))
    sent: list = []
    publish = publishers.base.Publisher.publish

    def recording(self, rendering, *, key):
        sent.append(rendering)
        return publish(self, rendering, key=key)

    monkeypatch.setattr(publishers.base.Publisher, "publish", recording)
    here = Session(env.cfg, env.ledger, owner="test-worker", clock=lambda: T0, env={})
    forked = Session(env.cfg, env.ledger, owner="test-worker", clock=lambda: T0, env={})
    try:
        expected = here.check(text=False)
        assert any(p.code == "post.unknown-topic" for p in expected.problems)
        r = forked.publish(now=T0, jobs=2)
        assert forked.check(text=False) == expected and forks == [True]
        assert r.sent == 12 and len(sent) == 12  # bad.md is held by its error
        content = here.content()
        by_id = {p.id: p for p in content.posts}
        assert sent == [Renderer.render(here.renderer(content), by_id[x.post_id], x.channel) for x in sent]
    finally:
        here.close(), forked.close()


def _die_on_three(chunk):
    if 3 in chunk:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
    return chunk


def test_a_worker_that_dies_fails_the_gate_instead_of_hanging_it():
    """The publish gate's (and preview's) worker pool: a worker killed midway takes its task with
    it; multiprocessing.Pool replaces the worker silently and its iterator waited forever, so
    loa publish hung before sending anything. It raises now."""
    from pipeline import workers

    pool = workers.Workers(2, "en")
    try:
        with pytest.raises(RuntimeError, match="worker process stopped"):
            list(pool.map(_die_on_three, [[1], [2], [3], [4]], True))
    finally:
        pool.close()


def test_the_workers_answers_go_through_a_wide_pipe():
    """An answer of the workers (a read chunk of posts) is larger than a default pipe: the pool's
    answer pipe is widened so that a worker hands it over at once instead of waiting for the
    parent piece by piece (Linux). The answers are the same either way."""
    fcntl = pytest.importorskip("fcntl")
    from pipeline import workers

    with open("/proc/sys/fs/pipe-max-size") as fh:
        if not hasattr(fcntl, "F_GETPIPE_SZ") or int(fh.read()) < workers.RESULT_PIPE:
            pytest.skip("pipes cannot be widened so far here")

    pool = workers.Workers(2, "en")
    try:
        big = list(pool.map(_echo_big, [[1], [2], [3]], True, ordered=True))
        size = fcntl.fcntl(pool.pool._outqueue._writer.fileno(), fcntl.F_GETPIPE_SZ)
    finally:
        pool.close()
    assert big == [_echo_big([1]), _echo_big([2]), _echo_big([3])]
    assert size == workers.RESULT_PIPE


def _echo_big(items):
    return [items[0]] * 300_000  # about 600 KB pickled: more than a default pipe holds
