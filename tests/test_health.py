"""/healthz and /metrics: the daemon's health as data from the ledger, over real HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.app import Session
from pipeline.config import load_config
from pipeline.health import HealthServer, metrics_text, stale_after
from pipeline.ledger import Hold, open_ledger
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
[daemon]
retry_base = "60s"
tick = "{tick}"
{extra}
"""


@pytest.fixture
def server():
    with WebhookServer() as s:
        yield s


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Env:
    def __init__(self, tmp_path, server, posts, tick="60s", extra=""):
        self.root = make_repo(tmp_path, posts, config=CONFIG.format(url=server.url, tick=tick, extra=extra))
        self.cfg = load_config(self.root / "config.toml", env={})
        self.now = T0

    def ledger(self):
        lg = open_ledger(None, self.root)
        lg.migrate()
        return lg

    def session(self):
        return Session(self.cfg, self.ledger, owner="test-daemon", clock=lambda: self.now, env={})


def test_healthz_and_metrics_follow_the_ledger(tmp_path, server):
    env = Env(tmp_path, server, {"news/a.md": post(id="a"), "news/b.md": post(id="b", title="Bài hai")})
    s = env.session()
    http = HealthServer(s.health, 0, VN).start()
    base = f"http://127.0.0.1:{http.port}"
    try:
        status, ctype, body = get(base + "/healthz")
        assert status == 503 and ctype == "application/json"
        assert json.loads(body)["status"] == "stale" and json.loads(body)["last_tick"] is None  # no tick yet
        server.inject(lambda r: b'"post_id": "b"' in (r.body or b""), status=503)
        s.publish(T0)
        s.record_tick()
        env.now = T0 + timedelta(minutes=2)
        status, _, body = get(base + "/healthz")
        data = json.loads(body)
        assert status == 200 and data["status"] == "ok", data
        assert data["last_tick"] == "2024-03-25T08:00:00+07:00" and data["last_tick_age_seconds"] == 120.0
        assert data["oldest_due_age_seconds"] == 120.0  # b is retrying since its 08:00 publish_at
        status, ctype, text = get(base + "/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert 'loa_items{channel="hook",state="published"} 1\n' in text
        assert 'loa_items{channel="hook",state="retrying"} 1\n' in text
        assert 'loa_items{channel="portal",state="published"} 2\n' in text
        assert f"loa_last_tick_timestamp_seconds {T0.timestamp():.3f}\n" in text
        assert "loa_oldest_due_age_seconds 120.0\n" in text and "loa_healthy 1\n" in text
        assert 'loa_channel_held{channel="hook"} 0\n' in text
        lg = env.ledger()
        lg.hold("hook", Hold("the token was refused", "check the token", None), env.now)
        lg.close()
        env.now = T0 + stale_after(env.cfg.daemon.tick) + timedelta(seconds=1)  # three ticks missed
        status, _, body = get(base + "/healthz")
        assert status == 503 and json.loads(body)["status"] == "stale"
        assert json.loads(body)["held_channels"] == ["hook"]
        text = get(base + "/metrics")[2]
        assert 'loa_channel_held{channel="hook"} 1\n' in text and "loa_healthy 0\n" in text
        assert get(base + "/other")[0] == 404
    finally:
        http.stop()
        s.close()


def test_metrics_text_escapes_labels():
    from pipeline.health import Health

    h = Health(now=T0, stale_after=timedelta(minutes=3), items={('a"b\\c', "pending"): 2}, channels=('a"b\\c',))
    assert 'loa_items{channel="a\\"b\\\\c",state="pending"} 2' in metrics_text(h)
    assert "loa_last_tick_timestamp_seconds 0.000" in metrics_text(h)


def test_the_daemon_serves_health_on_loopback_when_configured(tmp_path, server):
    port = free_port()
    when = (datetime.now(VN) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    env = Env(tmp_path, server, {"news/a.md": post(id="a", publish_at=when)}, tick="2s",
              extra=f"health_port = {port}")
    assert env.cfg.daemon.health_port == port
    p = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=env.root, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/healthz")
            except (urllib.error.URLError, ConnectionError):
                status = None
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, p.stderr.read() if p.poll() is not None else status
        assert json.loads(body)["last_tick"].endswith("+07:00")
        text = get(f"http://127.0.0.1:{port}/metrics")[2]
        assert 'loa_items{channel="hook",state="published"} 1\n' in text
        with pytest.raises(OSError):  # bound to 127.0.0.1 only: not on another local address
            socket.create_connection((_other_address(), port), timeout=2).close()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
    err = p.stderr.read()
    assert f"Serving /healthz and /metrics on 127.0.0.1:{port}" in err


def _other_address() -> str:
    """A local address that is not 127.0.0.1 (127.0.0.2 is loopback too on Linux)."""
    return "127.0.0.2"


def test_health_port_is_off_by_default(tmp_path, server):
    env = Env(tmp_path, server, {})
    assert env.cfg.daemon.health_port is None


def test_brief_health_is_the_last_tick_without_counting_rows(ledger):
    # the console's operations page asks whether loa run is alive; it does not count every row
    from datetime import datetime, timedelta, timezone

    from pipeline import health

    now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    tick = timedelta(seconds=60)
    assert health.read(ledger, now, channels=("portal",), tick=tick, brief=True).last_tick is None
    ledger.record_tick("vm:1", now - timedelta(seconds=30))
    full = health.read(ledger, now, channels=("portal",), tick=tick)
    brief = health.read(ledger, now, channels=("portal",), tick=tick, brief=True)
    assert (brief.ok, brief.last_tick, brief.tick_owner, brief.stale_after) == \
        (full.ok, full.last_tick, full.tick_owner, full.stale_after) == (True, now - timedelta(seconds=30), "vm:1", 3 * tick + timedelta(seconds=30))
    later = now + 4 * tick
    assert not health.read(ledger, later, channels=("portal",), tick=tick, brief=True).ok
    assert not health.read(ledger, later, channels=("portal",), tick=tick).ok
