"""loa run logs one line per item at INFO, in the site zone, without -v; --log-format json writes one
object per line with the item's fields; secrets stay redacted in both formats."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline import logs
from tests.repo import approve, make_repo, post, small_config
from tests.servers.webhook import WebhookServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN = "hook-token-5f0c9a1e7d3b42c8"
CONFIG = small_config(["portal", "hook"]) + """
[channels.portal]
type = "static_site"
[channels.hook]
type = "webhook"
url = "{url}/items"
social = true
{hook}
[daemon]
retry_base = "60s"
max_attempts = 3
"""


@pytest.fixture
def server():
    with WebhookServer() as s:
        yield s


def repo(tmp_path, server, posts, hook=""):
    return make_repo(tmp_path, posts, config=CONFIG.format(url=server.url, hook=hook))


def due(minutes_ago=5):
    return (datetime.now(VN) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M")


def run(root, *args, env=None):
    r = subprocess.run([sys.executable, "-m", "pipeline", *args, "run", "--once"], cwd=root, capture_output=True,
                       text=True, timeout=120, env={**os.environ, **(env or {})})
    assert r.returncode == 0, r.stderr
    return r.stderr.splitlines()


def test_text_lines_one_per_item_at_info_in_the_site_zone_without_v(tmp_path, server):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at=due()),
                                   "news/old.md": post(id="old", title="Bài cũ", publish_at="2024-01-01 08:00"),
                                   "news/b.md": post(id="b", title="Bài chờ", publish_at=due(), status="draft")})
    lines = run(root, env={"TZ": "UTC"})
    sent = [x for x in lines if " INFO pipeline.schedule: create a on hook: " in x]
    assert len(sent) == 1, lines
    assert sent[0].endswith(f"{server.url}/items/1")
    stamp = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)([+-]\d{4}) ", sent[0])
    assert stamp and stamp.group(2) == "+0700", sent[0]  # the site zone, though the server runs in UTC
    at = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=VN)
    assert abs((datetime.now(VN) - at).total_seconds()) < 120
    portal = [x for x in lines if " INFO pipeline.schedule: create a on portal: " in x]
    assert len(portal) == 1, lines
    skipped = [x for x in lines if "INFO pipeline.schedule: skip old hook: " in x]
    assert len(skipped) == 1 and "stale" in skipped[0], lines
    assert not any("apscheduler" in x for x in lines)  # no scheduler chatter without -v -v


def test_json_lines_carry_the_item_fields(tmp_path, server):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at=due()),
                                   "news/old.md": post(id="old", title="Bài cũ", publish_at="2024-01-01 08:00")})
    lines = run(root, "--log-format", "json")
    objs = [json.loads(x) for x in lines]  # every line is one JSON object
    items = [o for o in objs if o.get("post_id")]
    send = [o for o in items if o["action"] == "send" and o["channel"] == "hook"]
    assert len(send) == 1, objs
    o = send[0]
    assert (o["level"], o["logger"], o["post_id"], o["link"]) == ("INFO", "pipeline.schedule", "a", f"{server.url}/items/1")
    assert o["message"] == f"create a on hook: {server.url}/items/1"
    t = datetime.fromisoformat(o["time"])
    assert t.utcoffset() == timedelta(hours=7) and abs((datetime.now(VN) - t).total_seconds()) < 120
    skip = [o for o in items if o["action"] == "skip"]
    assert [(s["post_id"], s["channel"], s["level"]) for s in skip] == [("old", "hook", "INFO")]


def test_secrets_stay_redacted_in_json_and_text_logs(tmp_path, server, monkeypatch):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at=due())}, hook='token_env = "LOA_HOOK_TOKEN"')
    env = {"LOA_HOOK_TOKEN": TOKEN,
           "LOA_SERVER_CONFIG": approve({"hook": {"url": f"{server.url}/items", "token_env": "LOA_HOOK_TOKEN"}})}
    server.inject("/items", status=400, body={"error": f"bad token {TOKEN}"})
    lines = run(root, "--log-format", "json", env=env)
    failed = [json.loads(x) for x in lines if '"action": "fail"' in x]
    assert len(failed) == 1 and failed[0]["level"] == "WARNING", lines
    assert "HTTP 400" in failed[0]["message"] and failed[0]["post_id"] == "a"
    assert TOKEN not in "\n".join(lines)
    server.inject("/items", status=400, body={"error": f"bad token {TOKEN}"})
    (root / "content/news/a.md").write_text(post(id="a", publish_at=due(), title="Bài đã sửa"), encoding="utf-8")
    text = run(root, env=env)
    assert any("failed a on hook" in x for x in text) and TOKEN not in "\n".join(text)


def test_the_json_formatter_redacts_fields_and_stamps_the_zone():
    from pipeline import secrets

    secrets.register(TOKEN)
    logs.use_zone(VN)
    try:
        rec = logging.LogRecord("pipeline.schedule", logging.INFO, __file__, 1, "send %s", ("a",), None)
        rec.created = datetime(2024, 3, 25, 1, 0, 5, tzinfo=ZoneInfo("UTC")).timestamp()
        rec.post_id, rec.channel, rec.action, rec.link = "a", "hook", "send", f"https://x/{TOKEN}"
        out = json.loads(logs.JsonFormatter().format(rec))
        assert out["time"] == "2024-03-25T08:00:05.000+07:00" and out["message"] == "send a"
        assert TOKEN not in json.dumps(out) and out["link"].startswith("https://x/")
        assert logs.TextFormatter().format(rec).startswith("2024-03-25 08:00:05+0700 INFO pipeline.schedule: send a")
    finally:
        logs.use_zone(ZoneInfo("UTC"))


def test_a_held_item_is_logged_when_it_becomes_held_not_at_every_tick(tmp_path, server, caplog):
    from pipeline.app import Session
    from pipeline.config import load_config
    from pipeline.ledger import open_ledger
    from pipeline.schedule import Daemon

    root = make_repo(tmp_path, {"news/a.md": post(id="a", publish_at=due())},
                     config=CONFIG.format(url=server.url, hook="").replace("require_approval = []",
                                                                           'require_approval = ["hook"]'))
    cfg = load_config(root / "config.toml", env={})

    def ledger():
        lg = open_ledger(None, root)
        lg.migrate()
        return lg

    session = Session(cfg, ledger, owner="test-daemon", env={})
    daemon = Daemon(session)
    try:
        with caplog.at_level(logging.INFO, logger="pipeline.schedule"):
            for _ in range(3):
                daemon.tick()
        assert session.ledger.last_tick()["owner"] == "test-daemon"  # /healthz reads it
    finally:
        session.close()
        logs.use_zone(ZoneInfo("UTC"))
    held = [r for r in caplog.records if getattr(r, "action", None) == "hold"]
    assert [(r.post_id, r.channel, r.levelname) for r in held] == [("a", "hook", "INFO")]
    assert held[0].getMessage() == "held a on hook: awaiting-approval"
    assert [r.getMessage() for r in caplog.records if getattr(r, "action", None) == "send"] == [
        "create a on portal: https://portal.example.gov.vn/news/phuong-1-to-chuc-hoi-thi-tim-hieu-cai-cach-hanh-chinh.html"]


def test_a_pair_held_because_its_channel_is_switched_off_is_no_item(tmp_path, server):
    """A switched-off channel holds every post on it at every tick: nothing for a person to do, so
    neither counted as held nor an item the daemon logs (74,000 items a tick at 20,000 posts)."""
    from pipeline.app import Session
    from pipeline.config import load_config
    from pipeline.ledger import open_ledger

    config = CONFIG.format(url=server.url, hook="enabled = false")
    root = make_repo(tmp_path, {"news/a.md": post(id="a", publish_at=due())}, config=config)
    cfg = load_config(root / "config.toml", env={})
    session = Session(cfg, lambda: open_ledger(None, root), owner="test", env={})
    try:
        session.ledger.migrate()
        result = session.publish()
        assert [d.reason for d in session.plan().of("held")] == ["channel-disabled"]  # the plan still says so
    finally:
        session.close()
    assert result.held == 0 and result.sent == 1
    assert [(i.action, i.channel) for i in result.items] == [("send", "portal")]


def test_a_held_channel_is_one_warning_with_its_fields(tmp_path, server):
    root = repo(tmp_path, server, {"news/a.md": post(id="a", publish_at=due())})
    server.inject("/items", status=401, body={"error": "token expired"})
    objs = [json.loads(x) for x in run(root, "--log-format", "json")]
    held = [o for o in objs if o.get("action") == "hold-channel"]
    assert [(o["level"], o["post_id"], o["channel"]) for o in held] == [("WARNING", "a", "hook")], objs
    assert held[0]["message"].startswith("CHANNEL hook HELD: the webhook answered HTTP 401")
