"""Soak: `loa run` against throttling, slow local vendors while another process runs `loa channels
check` and `loa publish` at random (issue 15).

The vendors (tests/servers, loopback only) answer 429 with Retry-After (Telegram), send
remaining-0 rate headers and 429s (Mastodon), report Page usage near its limit (Facebook), rotate
a single-use refresh token with short-lived access tokens (Zalo: every use refreshes, so the daemon
and `loa channels check` race for it), and take 5 s over some answers (a webhook) while the lease
is 3 s. Must hold: every post exactly once at every vendor, nothing `failed` or in doubt, no
"claim lost", and throttling never uses up the (small) retry budget.

Bounded: the daemon gets at most SOAK_SECONDS to publish everything; every subprocess has a timeout.
"""

from __future__ import annotations

import collections
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.ledger import open_ledger
from tests.repo import approve, make_repo, post, small_config
from tests.servers.facebook import FacebookServer
from tests.servers.mastodon import Bucket, MastodonServer
from tests.servers.telegram import TelegramServer
from tests.servers.webhook import WebhookServer
from tests.servers.zalo import ZaloServer
from tests.test_facebook import png

VN = ZoneInfo("Asia/Ho_Chi_Minh")
N = 4
SOAK_SECONDS = 75
CHANNELS = ("hook", "facebook", "zalo", "telegram", "mastodon")
FB_TOKEN = "EAAGloaSoak" + "k" * 40
TG_TOKEN = "7012345678:AAHloaSoakSecret_token-ABCDEFGHIJK1"
MASTO_TOKEN = "mastodon-soak-token-51d0"
CHAT = -1001987654321

CONFIG = small_config(["hook", "facebook", "zalo", "telegram", "mastodon"]) + """
[channels.hook]
type = "webhook"
url = "{hook}/items"
social = true
[channels.facebook]
type = "facebook"
page_id = "{fb_page}"
token_env = "LOA_FB_TOKEN"
api_base = "{fb}"
usage_backoff = 1
[channels.zalo]
type = "zalo"
app_id = "{zalo_app}"
app_secret_env = "LOA_ZALO_SECRET"
refresh_token_env = "LOA_ZALO_REFRESH"
api_base = "{zalo}"
oauth_base = "{zalo}"
verify_interval = 0.05
[channels.telegram]
type = "telegram"
chat_id = "@ubnd_loa"
token_env = "LOA_TG_TOKEN"
api_base = "{tg}"
pace_seconds = 0
[channels.mastodon]
type = "mastodon"
instance_url = "{masto}"
token_env = "LOA_MASTODON_TOKEN"
[daemon]
tick = "1s"
lease = "3s"
retry_base = "1s"
max_attempts = 3
workers = 5
"""


class SlowHook(WebhookServer):
    """Every third create is answered after 5 s: longer than the 3 s lease."""

    def __init__(self):
        super().__init__()
        self._n = itertools.count(1)

    slow_answers = 0

    def handle(self, req):
        if req.method == "POST" and next(self._n) % 3 == 0:
            self.slow_answers += 1
            time.sleep(5.0)
        return super().handle(req)


def _loa(root, env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_soak_every_post_exactly_once_under_throttling_slow_vendors_and_a_second_process(tmp_path):
    rnd = random.Random(15)
    hook, fb = SlowHook().start(), FacebookServer(token=FB_TOKEN).start()
    zalo, tg = ZaloServer(access_ttl=8.0).start(), TelegramServer(TG_TOKEN).start()
    masto = MastodonServer(tokens={MASTO_TOKEN: "ubnd"}).start()
    servers = (hook, fb, zalo, tg, masto)
    daemon = None
    try:
        fb.usage_per_call, fb.usage_decay = 30.0, 20.0  # Page usage climbs to its limit in a few calls
        tg.add_chat(CHAT, username="ubnd_loa", title="UBND Thành phố Loa")
        tg.rate_limit(1, 1.5)  # more than one send per 1.5 s: 429 with retry_after
        masto.buckets["general"] = Bucket(4, 4.0)  # remaining 0 after four requests, then 429
        _, refresh = zalo.issue()
        when = (datetime.now(VN) - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
        posts = {f"news/s{i}.md": post(id=f"s{i}", title=f"Tin s{i}: Phường 1 cải cách hành chính", publish_at=when,
                                       body=f"Sáng nay, UBND Phường 1 giới thiệu dịch vụ công (tin s{i}).\n",
                                       image="anh.png", image_alt="Ảnh hội nghị tại Phường 1")
                 for i in range(N)}
        posts["news/anh.png"] = png()
        root = make_repo(tmp_path, posts, config=CONFIG.format(
            hook=hook.url, fb_page=fb.page_id, fb=fb.url, zalo_app=zalo.app_id, zalo=zalo.url, tg=tg.url,
            masto=masto.url))
        server_file = approve({  # the IT officer approves the local vendors' addresses
            "facebook": {"api_base": fb.url, "token_env": "LOA_FB_TOKEN"},
            "zalo": {"api_base": zalo.url, "oauth_base": zalo.url,
                     "app_secret_env": "LOA_ZALO_SECRET", "refresh_token_env": "LOA_ZALO_REFRESH"},
            "telegram": {"api_base": tg.url, "token_env": "LOA_TG_TOKEN"},
            "mastodon": {"instance_url": masto.url, "token_env": "LOA_MASTODON_TOKEN"}})
        env = {**os.environ, "LOA_SERVER_CONFIG": server_file, "LOA_FB_TOKEN": FB_TOKEN, "LOA_ZALO_SECRET": zalo.app_secret,
               "LOA_ZALO_REFRESH": refresh, "LOA_TG_TOKEN": TG_TOKEN, "LOA_MASTODON_TOKEN": MASTO_TOKEN,
               "LOA_MIN_LEASE_SECONDS": "1", "LOA_ACTOR": "soak"}
        daemon = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=root, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

        def published() -> collections.Counter:
            lg = open_ledger(None, root)
            try:
                lg.migrate()
                return collections.Counter(r.state for r in lg.rows())
            finally:
                lg.close()

        # the second process: the IT officer's weekly check and a manual pass, at random
        stop, outputs = threading.Event(), []

        def meddle():
            while not stop.is_set():
                args = rnd.choice([("channels", "check"), ("publish",), ("channels", "check", "--channel", "zalo")])
                r = _loa(root, env, *args)
                outputs.append((args, r.returncode, r.stdout + r.stderr))
                stop.wait(rnd.uniform(0.2, 2.0))
        helper = threading.Thread(target=meddle, daemon=True)
        time.sleep(1.0)
        helper.start()
        deadline = time.monotonic() + SOAK_SECONDS
        states = published()
        while states["published"] < N * len(CHANNELS) and time.monotonic() < deadline:
            assert daemon.poll() is None, daemon.stderr.read()[-3000:]
            time.sleep(1.0)
            states = published()
        stop.set()
        helper.join(timeout=90)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
        log = daemon.stderr.read()

        # every post exactly once at every vendor
        assert states == {"published": N * len(CHANNELS)}, (states, log[-3000:], outputs[-2:])
        want = sorted(f"s{i}" for i in range(N))
        assert sorted(collections.Counter(i["post_id"] for i in hook.items.values())) == want
        assert hook.creates == N and hook.slow_answers >= 1  # a send outlived its first lease
        assert len(fb.posts) == len(fb.live_posts()) == N
        assert len(zalo.articles) == len(zalo.live_articles()) == N
        assert len(tg.messages) == len(tg.live(CHAT)) == N
        assert len(masto.statuses) == len(masto.live_statuses()) == N
        # throttling did happen, and never cost an attempt, a failure or a claim
        assert tg.violations or masto.throttled or fb.violations
        assert any("rate limit" in line or "wait" in line for line in log.splitlines()) or outputs
        lg = open_ledger(None, root)
        try:
            events = lg.events()
            rows = lg.rows()
        finally:
            lg.close()
        kinds = collections.Counter(e.kind for e in events)
        assert kinds["claim_lost"] == kinds["in_doubt"] == 0, kinds
        assert kinds["failure"] == 0 or all(e.detail.get("kind") == "transient" for e in events if e.kind == "failure")
        assert not [e for e in events if e.kind == "claim" and "took_over_from" in e.detail]
        assert all(r.state == "published" and r.error_kind is None for r in rows)
        assert len(zalo.calls("POST", "/v4/oa/access_token")) >= 2  # the refresh token rotated under the race
        everything = log + "".join(out for _, _, out in outputs)
        assert "claim lost" not in everything and "lost the claim" not in everything
        assert "Traceback" not in everything, everything[-3000:]
        assert not [o for o in outputs if o[0][0] == "channels" and "HELD" in o[2]]
        assert outputs, "the second process never ran"
    finally:
        if daemon is not None and daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        for s in servers:
            s.stop()
