"""What an IT officer does at the console: --now, a demo replay, a failing git pull, a rescheduled
post, pause and resume, a held channel under cron. Each test failed on the code before issue 15."""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pipeline.app import Session
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.ledger import Hold, open_ledger
from pipeline.plan import DONE, DUE, SCHEDULED, SKIP
from tests.repo import CONFIG_HEAD, make_repo, post
from tests.servers.webhook import WebhookServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")

CONFIG = CONFIG_HEAD + """
[content.types.news]
label = "Tin tức"
channels = ["portal", "hook"]
[content.topics]
cchc = "Cải cách hành chính"
[editorial]
require_approval = []
[channels.portal]
type = "static_site"
[channels.hook]
type = "webhook"
url = "{url}/items"
{hook}
[daemon]
git_pull = {git_pull}
"""


@pytest.fixture
def server():
    with WebhookServer() as s:
        yield s


def repo(tmp_path, server, posts, hook="", git_pull="false"):
    return make_repo(tmp_path, posts, config=CONFIG.format(url=server.url, hook=hook, git_pull=git_pull))


def rows(root):
    lg = open_ledger(None, root)
    lg.migrate()
    try:
        return {(r.post_id, r.channel): r for r in lg.rows()}
    finally:
        lg.close()


def local(text):
    return datetime.fromisoformat(text).replace(tzinfo=VN)


# -- --now ----------------------------------------------------------------------------------------

def test_a_future_now_is_refused_on_a_pass_that_sends(tmp_path, server, monkeypatch, capsys):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at="2030-01-01 08:00")})
    monkeypatch.chdir(root)
    assert main(["--lang", "en", "publish", "--now", "2030-01-02 08:00"]) == 2
    assert "is in the future" in capsys.readouterr().err
    assert not any(r.first_published_at for r in rows(root).values()) and server.creates == 0
    assert main(["--lang", "en", "publish", "--dry-run", "--now", "2030-01-02 08:00"]) == 0  # a dry run may look ahead
    assert "would create a on hook" in capsys.readouterr().out


def test_a_past_now_decides_what_is_due_but_the_ledger_keeps_the_real_time(tmp_path, server, monkeypatch):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at="2024-03-25 08:00")},
                hook='min_interval = "10m"')
    monkeypatch.chdir(root)
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert main(["publish", "--now", "2024-03-25 09:00"]) == 0
    r = rows(root)[("a", "hook")]
    assert r.state == "published" and r.first_published_at >= start  # spacing and reports count from now
    lg = open_ledger(None, root)
    try:
        assert all(e.at >= start for e in lg.events() if e.kind in ("claim", "send", "success"))
    finally:
        lg.close()


@pytest.mark.parametrize("argv, words", [
    (["publish", "--dry-run", "--now", "9999-12-31 23:59"], "outside the years 1970-2199"),
    (["publish", "--dry-run", "--now", "0001-01-01"], "outside the years 1970-2199"),
    (["status", "--now", "9999-12-31 23:59"], "outside the years 1970-2199"),
    (["publish", "--now", "yesterday"], "--now: cannot read 'yesterday'"),
    (["status", "--days", "999999999"], "--days: 999999999 is out of range"),
    (["publish", "--replay-until", "2024-02-30"], "--replay-until: cannot read"),
])
def test_odd_times_are_usage_errors_not_tracebacks(tmp_path, server, monkeypatch, capsys, argv, words):
    root = repo(tmp_path, server, {"news/a.md": post(id="a")})
    monkeypatch.chdir(root)
    assert main(["--lang", "en", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_replay_publishes_each_post_as_of_its_own_time_for_a_demo_report(tmp_path, server, monkeypatch, capsys):
    root = repo(tmp_path, server, {
        "news/a.md": post(id="a", publish_at="2024-03-25 08:00"),
        "news/b.md": post(id="b", title="Phường 1 ra mắt tổ công nghệ số cộng đồng", publish_at="2024-06-10 09:30"),
        "news/c.md": post(id="c", title="Bài của năm sau", publish_at="2025-01-05 08:00"),
    }, hook="social = true")
    monkeypatch.chdir(root)
    assert main(["publish", "--replay-until", "2024-12-31"]) == 0
    r = rows(root)
    for pid, when in (("a", "2024-03-25 08:00"), ("b", "2024-06-10 09:30")):
        for ch in ("portal", "hook"):  # even the social channel: each was on time, as of its time
            assert r[(pid, ch)].state == "published" and r[(pid, ch)].first_published_at == local(when)
    assert ("c", "hook") not in r or r[("c", "hook")].first_published_at is None
    capsys.readouterr()
    assert main(["report", "--period", "2024-Q2", "--format", "json", "--out", str(tmp_path / "rep")]) == 0
    data = json.loads(next((tmp_path / "rep").glob("*.json")).read_text())
    assert data["totals"]["items"] >= 1
    # history never goes out of order, and never into the future
    assert main(["--lang", "en", "publish", "--replay-until", "2024-05-01"]) == 2
    assert "a replay only continues after them" in capsys.readouterr().err
    assert main(["publish", "--replay-until", "2999-01-01"]) == 2


# -- a failing git pull ---------------------------------------------------------------------------

def test_a_failing_git_pull_shows_in_status_and_in_every_tick(tmp_path, server, monkeypatch, capsys, caplog):
    from pipeline.schedule import Daemon

    root = repo(tmp_path, server, {"news/a.md": post(id="a", status="draft")}, git_pull="true")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)  # no upstream: pull fails
    cfg = load_config(root / "config.toml", env={})
    with Session.open(cfg, env={}) as s, caplog.at_level(logging.WARNING):
        d = Daemon(s, once=True)
        d.tick()
        d.tick()
    said = [r.getMessage() for r in caplog.records if "Content not updated since" in r.getMessage()]
    assert len(said) == 2  # every failing tick says so again
    monkeypatch.chdir(root)
    assert main(["--lang", "en", "status"]) == 1
    out = capsys.readouterr().out
    assert "!! content not updated since " in out and "because git pull fails:" in out
    with Session.open(cfg, env={}) as s:
        s.record_pull(True)
    assert main(["--lang", "en", "status"]) == 0
    assert "content not updated" not in capsys.readouterr().out


# -- a rescheduled post ---------------------------------------------------------------------------

def test_a_skipped_post_moved_later_is_scheduled_again_and_status_agrees(tmp_path, server):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at="2024-03-01 08:00", channels=["hook"])},
                hook="social = true")
    cfg = load_config(root / "config.toml", env={})

    def session(at):
        return Session.open(cfg, clock=lambda: at, env={}, owner="op")

    t1 = local("2024-03-10 08:00")
    with session(t1) as s:
        assert s.publish(t1).skipped == 1
    (root / "content/news/a.md").write_text(post(id="a", publish_at="2024-03-12 09:00", channels=["hook"]))
    t2 = local("2024-03-11 08:00")
    with session(t2) as s:
        assert [d.kind for d in s.plan(t2).decisions] == [SCHEDULED]
        assert [x["post"] for x in s.status(t2)["upcoming"]] == ["a"]
    t3 = local("2024-03-12 09:05")
    with session(t3) as s:
        d, = s.plan(t3).decisions
        assert (d.kind, d.action, d.reason) == (DUE, "create", "rescheduled")
        assert [x["post"] for x in s.status(t3)["due"]] == ["a"]
    # moved, but still more than max_lateness ago: skipped again, for the new time, then settled
    (root / "content/news/a.md").write_text(post(id="a", publish_at="2024-03-05 09:00", channels=["hook"]))
    with session(t3) as s:
        assert [d.kind for d in s.plan(t3).decisions] == [SKIP]
        s.publish(t3)
        assert [(d.kind, d.reason) for d in s.plan(t3).decisions] == [(DONE, "skipped")]


def test_a_rescheduled_post_is_sent(tmp_path, server):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at="2024-03-01 08:00", channels=["hook"])},
                hook="social = true")
    cfg = load_config(root / "config.toml", env={})
    t1, t3 = local("2024-03-10 08:00"), local("2024-03-12 09:05")
    with Session.open(cfg, clock=lambda: t1, env={}, owner="op") as s:
        s.publish(t1)
    (root / "content/news/a.md").write_text(post(id="a", publish_at="2024-03-12 09:00", channels=["hook"]))
    with Session.open(cfg, clock=lambda: t3, env={}, owner="op") as s:
        assert s.publish(t3).sent == 1
    assert rows(root)[("a", "hook")].state == "published" and server.creates == 1


# -- pause / resume -------------------------------------------------------------------------------

def test_resume_without_channel_ends_every_pause(tmp_path, server, monkeypatch, capsys):
    root = repo(tmp_path, server, {"news/a.md": post(id="a")})
    monkeypatch.chdir(root)
    assert main(["pause", "--reason", "Quốc tang", "--by", "it"]) == 0
    assert main(["pause", "--channel", "hook", "--reason", "đổi mật khẩu", "--by", "it"]) == 0
    capsys.readouterr()
    assert main(["--lang", "en", "resume", "--channel", "hook", "--by", "it"]) == 0
    out = capsys.readouterr().out
    assert "resumed hook (1 pause(s) ended)" in out and "still paused: all channels (Quốc tang); loa resume" in out
    assert main(["pause", "--channel", "hook", "--reason", "again", "--by", "it"]) == 0
    capsys.readouterr()
    assert main(["--lang", "en", "resume", "--by", "it"]) == 0
    out = capsys.readouterr().out
    assert out == "resumed all channels (2 pause(s) ended)\n"
    lg = open_ledger(None, root)
    try:
        assert lg.active_pauses(datetime.now(timezone.utc)) == []
    finally:
        lg.close()


# -- a held channel under cron --------------------------------------------------------------------

def test_a_held_channel_is_a_non_zero_exit_on_every_pass(tmp_path, server, monkeypatch, capsys):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", status="draft")})
    monkeypatch.chdir(root)
    assert main(["publish"]) == 0
    lg = open_ledger(None, root)
    lg.hold("hook", Hold("the token was refused (401)", "renew LOA_HOOK_TOKEN"), datetime.now(timezone.utc))
    lg.close()
    for _ in range(2):
        assert main(["--lang", "en", "publish"]) == 1
        assert "HELD hook: the token was refused (401)" in capsys.readouterr().err
    assert main(["publish", "--channel", "portal"]) == 0  # a pass on another channel is not held
    assert main(["retry", "--channel", "hook", "--by", "it"]) == 0
    assert main(["publish"]) == 0


def test_publish_help_documents_exit_codes_and_now(capsys):
    with pytest.raises(SystemExit):
        main(["--lang", "en", "publish", "--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out and "a channel is held after an authentication failure" in out
    assert "--replay-until" in out
