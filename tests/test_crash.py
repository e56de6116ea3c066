"""kill -9 the daemon at random points while 200 posts go to 2 channels; restart; repeat.

At the end every post is on every channel exactly once and the ledger agrees with what the
channels hold (the webhook receiver's items and the static site's manifest).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.config import load_config
from pipeline.ledger import open_ledger
from tests.repo import make_repo, post
from tests.servers.webhook import WebhookServer
from tests.test_engine import CONFIG

VN = ZoneInfo("Asia/Ho_Chi_Minh")
N = 200


def _daemon(root):
    # a 3 s lease makes the kills cheap to wait out; below the 30 s floor, allowed for tests only
    env = dict(os.environ, PYTHONUNBUFFERED="1", LOA_MIN_LEASE_SECONDS="1")
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), "run"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _published(root) -> int:
    lg = open_ledger(None, root)
    try:
        lg.migrate()
        return sum(1 for r in lg.rows() if r.state == "published")
    finally:
        lg.close()


def kill_then_finish(root, rnd, done, *, kills: int, pause: tuple[float, float]) -> int:
    """Start the daemon and kill -9 it after a random pause, ``kills`` times, then let one daemon
    run until ``done()`` (in-doubt leases expire after 3 s and are reconciled by lookup) and stop
    it with SIGTERM, which must end it cleanly. Gives up after 120 s; returns the kills made."""
    made, deadline = 0, time.monotonic() + 120
    while (made < kills or not done()) and time.monotonic() < deadline:
        proc = _daemon(root)
        if made < kills:
            time.sleep(rnd.uniform(*pause))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            made += 1
        else:
            t_end = time.monotonic() + 60
            while not done() and time.monotonic() < t_end:
                time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, proc.stderr.read().decode()[-2000:]
    return made


def test_kill_9_at_random_points_never_loses_or_doubles(tmp_path):
    rnd = random.Random(20241225)
    when = (datetime.now(VN) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    posts = {f"news/p{i:03d}.md": post(id=f"p{i:03d}", title=f"Tin số {i} về cải cách hành chính", publish_at=when)
             for i in range(N)}
    with WebhookServer(latency=0.01) as server:
        config = CONFIG.format(url=server.url, hook_extra="", extra="").replace(
            'lease = "2m"', 'lease = "3s"\ntick = "1s"\nworkers = 2')
        root = make_repo(tmp_path, posts, config=config)
        kills = kill_then_finish(root, rnd, lambda: _published(root) >= 2 * N, kills=8, pause=(0.4, 2.0))
        assert kills >= 5
        # every post exactly once on the webhook channel
        live = server.live()
        from collections import Counter
        twice = [k for k, n in Counter(i["post_id"] for i in server.items.values()).items() if n > 1]
        detail = [(i["post_id"], i["key"], i["id"]) for i in server.items.values() if i["post_id"] in twice]
        assert server.creates == N, f"{server.creates} creates for {N} posts; twice: {detail}"
        assert sorted(i["post_id"] for i in live) == [f"p{i:03d}" for i in range(N)]
        # and on the static site
        from publishers.site_store import SiteStore  # the manifest and its journal, as the site reads them
        store = SiteStore(lambda rel: root / "site" / rel, None).load()
        assert sorted(store.articles) == [f"p{i:03d}" for i in range(N)]
        pages = list((root / "site/news").glob("*.html"))
        assert len(pages) == N
        # the ledger agrees with what the channels hold
        lg = open_ledger(None, root)
        rows = lg.rows()
        lg.close()
        hook = {r.post_id: r.remote_id for r in rows if r.channel == "hook"}
        assert hook == {i["post_id"]: i["id"] for i in live}
        assert all(r.state == "published" for r in rows) and len(rows) == 2 * N
