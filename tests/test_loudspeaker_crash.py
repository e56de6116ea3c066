"""kill -9 the daemon at random points while broadcast items go to two loudspeaker stations and the
provincial push system; restart; repeat. Every (post, station, slot) is pushed exactly once and the
ledger agrees (the harness of tests/test_crash.py)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.ledger import open_ledger
from tests.repo import make_repo, post
from tests.servers.webhook import WebhookServer
from tests.test_crash import kill_then_finish
from tests.test_loudspeaker import HEAD

VN = ZoneInfo("Asia/Ho_Chi_Minh")
N = 40  # city posts: two stations each, 80 items


def _published(root) -> int:
    lg = open_ledger(None, root)
    try:
        lg.migrate()
        return sum(1 for r in lg.rows() if r.state == "published" and r.channel == "loudspeaker")
    finally:
        lg.close()


def test_kill_9_never_loses_or_doubles_a_broadcast(tmp_path):
    rnd = random.Random(20)
    now = datetime.now(VN)
    slot = (now + timedelta(minutes=20)).strftime("%H:%M")
    when = (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    posts = {f"news/p{i:03d}.md": post(id=f"p{i:03d}", title=f"Tin số {i}", unit="ubnd", publish_at=when,
                                       body=f"Thông báo số {i} của UBND thành phố về dịch vụ công trực tuyến.\n")
             for i in range(N)}
    with WebhookServer(latency=0.05) as server:
        config = HEAD + f"""
[channels.loudspeaker]
type = "loudspeaker"
engine = "none"
docx = false
slots = ["{slot}"]
minutes = 240
lead = "1h"
drop_dir = "var/loa"
push_url = "{server.url}/items"
[channels.loudspeaker.stations.p1]
wards = ["phuong-1"]
[channels.loudspeaker.stations.p2]
wards = ["phuong-2"]
[daemon]
lease = "3s"
tick = "1s"
workers = 2
retry_base = "1s"
"""
        root = make_repo(tmp_path, posts, config=config)
        kills = kill_then_finish(root, rnd, lambda: _published(root) >= 2 * N, kills=6, pause=(0.5, 2.0))
        assert kills == 6
        twice = [k for k, n in Counter(i["post_id"] for i in server.items.values()).items() if n > 1]
        assert server.creates == 2 * N, f"{server.creates} pushes for {2 * N} items; twice: {twice}"
        stations = Counter(i["station"] for i in server.items.values())
        assert stations == {"p1": N, "p2": N}
        assert _published(root) == 2 * N
        for st in ("p1", "p2"):  # and the drop folders agree
            folder = next((root / "var/loa" / st).iterdir())
            assert len(json.loads((folder / "bulletin.json").read_text())["items"]) == N
