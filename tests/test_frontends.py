"""Every front end tells the same state of a post on a channel, because each asks one function
(``pipeline.app.Session.plan``): ``loa status``, ``loa publish --dry-run``, ``loa preview`` and
the daemon's tick, over one repository and ledger with spacing, a pause, a hold, approvals, an
expired post, a stale one, a scheduled one, a retry waiting and one already published."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline import plan as planmod
from pipeline.app import Session, channel_state
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.ledger import Hold, open_ledger
from pipeline.models import PublishResult
from pipeline.schedule import Daemon
from tests.repo import make_repo, post, small_config

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2024, 3, 25, 8, 0, tzinfo=VN)
NOW = T0 + timedelta(hours=3)

CONFIG = small_config(["portal", "spaced", "paused", "held"], require_approval=["portal"]) + """
[channels.portal]
type = "static_site"
[channels.spaced]
type = "webhook"
url = "http://127.0.0.1:9/spaced"
social = true
min_interval = "1h"
max_lateness = "24h"
[channels.paused]
type = "webhook"
url = "http://127.0.0.1:9/paused"
[channels.held]
type = "webhook"
url = "http://127.0.0.1:9/held"
"""

POSTS = {
    "news/published.md": post(id="published", title="Đã đăng", publish_at="2024-03-25 08:00"),
    "news/due1.md": post(id="due1", title="Đến giờ một", publish_at="2024-03-25 10:00"),
    "news/due2.md": post(id="due2", title="Đến giờ hai", publish_at="2024-03-25 10:30"),
    "news/stale.md": post(id="stale", title="Quá hạn đăng", publish_at="2024-03-20 08:00"),
    "news/expired.md": post(id="expired", title="Hết hạn", publish_at="2024-03-24 08:00", expire_at="2024-03-25 09:00"),
    "news/later.md": post(id="later", title="Lên lịch", publish_at="2024-03-27 08:00"),
    "news/draft.md": post(id="draft", title="Bản nháp", status="draft"),
    "news/retry.md": post(id="retry", title="Chờ thử lại", publish_at="2024-03-25 07:00"),
}


class Recorder:
    """A publisher that records what it is asked to send (and fails what it is told to)."""

    can_lookup = False

    def __init__(self, channel, sent, failing=()):
        self.channel, self.sent, self.failing = channel, sent, failing

    def publish(self, rendering, key):
        if rendering.post_id in self.failing:
            from pipeline.errors import TransientPublishError

            raise TransientPublishError(self.channel, rendering.post_id, "busy", retry_after=6 * 3600, holds_channel=False)
        self.sent.append((rendering.post_id, self.channel))
        return PublishResult(f"{self.channel}-{rendering.post_id}", None)

    def update(self, rendering, previous):
        self.sent.append((rendering.post_id, self.channel))
        return previous

    def close(self):
        pass


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = make_repo(tmp_path, POSTS, config=CONFIG)
    monkeypatch.chdir(root)
    cfg = load_config(root / "config.toml", env={})
    factory = lambda: open_ledger(None, root)  # noqa: E731
    sent: list = []
    # the past: "published" goes out everywhere at T0 (approved for the portal by then) ...
    with Session.open(cfg, ledger_factory=factory, clock=lambda: T0, env={},
                      publisher_factory=lambda ch, lg: Recorder(ch.name, sent, failing={"retry"})) as s:
        s.publish(T0, only_post="published")
        s.publish(T0, only_post="retry", only_channel="held")
        lg = s.ledger
        lg.pause("paused", reason="Tết", actor="it", now=T0)
        lg.hold("held", Hold("token expired", "renew it"), T0)
    assert ("published", "spaced") in sent
    return root, cfg, factory


def _plan(cfg, factory):
    with Session(cfg, factory, env={}) as s:
        return {(d.post_id, d.channel): d for d in s.plan(NOW).decisions}


def test_the_plan_covers_every_kind_of_state(repo):
    _root, cfg, factory = repo
    verdicts = _plan(cfg, factory)
    kinds = {(d.kind, d.reason.split(":")[0]) for d in verdicts.values()}
    for expected in [(planmod.DUE, ""), (planmod.WAITING, "spacing"), (planmod.WAITING, "retry"),
                     (planmod.HELD, "paused"), (planmod.HELD, "auth"), (planmod.HELD, "awaiting-approval"),
                     (planmod.HELD, "expired"), (planmod.SKIP, "stale"),
                     (planmod.SCHEDULED, ""), (planmod.DONE, "")]:
        assert expected in {(k, r[:len(expected[1])]) for k, r in kinds}, expected


def test_status_and_dry_run_and_the_daemon_agree_with_the_plan(repo, capsys):
    _root, cfg, factory = repo
    verdicts = _plan(cfg, factory)
    due = {k for k, d in verdicts.items() if d.kind in (planmod.DUE, planmod.DOUBT)}
    assert [k for k in sorted(due) if k[1] == "spaced"] == [("retry", "spaced")]  # spacing: one an hour, oldest first

    # loa status
    assert main(["status", "--now", "2024-03-25 11:00", "--format", "json"]) in (0, 1)
    st = json.loads(capsys.readouterr().out)
    assert {(x["post"], x["channel"]) for x in st["due"]} == due
    waiting_or_scheduled = {k for k, d in verdicts.items() if d.kind == planmod.WAITING
                            or (d.kind == planmod.SCHEDULED and d.at <= NOW + timedelta(days=14))}
    assert {(x["post"], x["channel"]) for x in st["upcoming"]} == waiting_or_scheduled
    for x in st["upcoming"] + st["held"]:
        assert x["reason"] == verdicts[(x["post"], x["channel"])].reason
    assert {(x["post"], x["channel"]) for x in st["held"]} == {
        k for k, d in verdicts.items()
        if d.kind == planmod.HELD and d.reason not in ("draft", "failed", "in_doubt", "channel-disabled")}

    # loa publish --dry-run
    assert main(["--lang", "en", "publish", "--dry-run", "--now", "2024-03-25 11:00"]) == 0
    out = capsys.readouterr().out
    would = set(re.findall(r"^would \w+ (\S+) on (\S+)", out, re.M))
    assert would == due

    # the daemon's tick sends exactly what the plan says is due
    sent: list = []
    s = Session(cfg, factory, clock=lambda: NOW, env={}, publisher_factory=lambda ch, lg: Recorder(ch.name, sent))
    with s:
        assert Daemon(s, once=True).run() == 0
    assert set(sent) == due and len(sent) == len(due)
    skipped = {k for k, d in verdicts.items() if d.kind == planmod.SKIP}
    lg = factory()
    try:
        assert {k for k in skipped if lg.get(*k).state == "skipped"} == skipped
    finally:
        lg.close()


def test_channel_states_name_each_decision(repo):
    _root, cfg, factory = repo
    verdicts = _plan(cfg, factory)
    words = {k: channel_state(d) for k, d in verdicts.items()}
    assert words[("published", "spaced")] == "published"
    assert words[("later", "spaced")] == "scheduled"
    assert words[("due2", "spaced")] == words[("due1", "spaced")] == "waiting"  # spacing
    assert words[("expired", "spaced")] == "expired"
    assert words[("due1", "portal")] == "awaiting-approval"
    assert words[("due1", "held")] == "held" and words[("due1", "paused")] == "held"
    assert words[("draft", "spaced")] == "draft"
