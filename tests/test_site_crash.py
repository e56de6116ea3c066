"""kill -9 ``loa publish --channel portal`` at random moments while a few hundred posts go to the
static portal in groups (group commit: pages, then one flush, then the group's journal lines, then
one ledger transaction for the group's successes); then passes until done.

At the end every post has exactly one page and one published ledger row, the site's journal
names exactly the posts, each with a whole page, and the lists, hubs, feed and search equal those
of a fresh publish of the same posts into an empty site (as tests/test_static_site_lists.py
compares them).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.ledger import open_ledger
from publishers.site_store import SiteStore
from publishers.static_site import _whole
from tests.repo import make_repo, post, small_config
from tests.test_static_site_lists import list_files, shards

VN = ZoneInfo("Asia/Ho_Chi_Minh")
N = 400
CONFIG = small_config(["portal"]) + """
[[units]]
id = "phuong-2"
name = "Phường 2"
kind = "ward"
[channels.portal]
type = "static_site"
[daemon]
lease = "3s"
"""


def _posts() -> dict[str, str]:
    start = datetime.now(VN) - timedelta(days=50)
    return {f"news/p{i:03d}.md": post(id=f"p{i:03d}", slug=f"bai-{i:03d}", title=f"Tin số {i} về cải cách hành chính",
                                      unit=("phuong-1", "phuong-2")[i % 2],
                                      publish_at=(start + timedelta(hours=2 * i)).strftime("%Y-%m-%d %H:%M"))
            for i in range(N)}


def _publish(root) -> subprocess.Popen:
    # a 3 s lease makes the kills cheap to wait out; below the 30 s floor, allowed for tests only
    env = dict(os.environ, PYTHONUNBUFFERED="1", LOA_MIN_LEASE_SECONDS="1")
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), "publish",
                             "--channel", "portal"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def _rows(root) -> list:
    lg = open_ledger(None, root)
    try:
        lg.migrate()
        return lg.rows(channel="portal")
    finally:
        lg.close()


def _done(root) -> bool:
    rows = _rows(root)
    return len(rows) == N and all(r.state == "published" for r in rows)


def _finish(root) -> None:
    """Passes until every post is published (claims a kill left expire after 3 s and are
    reconciled by lookup); gives up after 180 s."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        proc = _publish(root)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 75), err.decode()[-2000:]
        if proc.returncode == 0 and _done(root):
            return
        time.sleep(1)
    raise AssertionError("not every post was published")


def _sizes(root) -> tuple:
    """What a pass has done so far: pages written, the journal's size (a group's flush), the
    ledger's write-ahead log's size (a commit)."""
    out = []
    for path in (root / "site/news", root / "site/.loa-site.journal", *sorted((root / "var").glob("*-wal"))):
        try:
            out.append(len(os.listdir(path)) if path.name == "news" else path.stat().st_size)
        except OSError:
            out.append(None)
    return tuple(out)


def _kill_at_a_random_step(proc, root, rnd) -> None:
    """Wait until the pass has taken a random number of steps of one kind (a page written, a
    journal write, a ledger commit), then a random instant more: the kill lands mid-group, right
    after a flush, or right after a group's commit."""
    kind = rnd.randrange(3)
    steps, seen = rnd.randint(1, 120) if kind == 0 else rnd.randint(1, 2), 0
    last = _sizes(root)
    while proc.poll() is None and seen < steps:
        time.sleep(0.001)
        now = _sizes(root)
        if len(now) > kind and len(last) > kind and now[kind] != last[kind]:
            seen += 1
        last = now
    time.sleep(rnd.uniform(0, 0.004))


def _comparable(files: dict[str, bytes]) -> dict[str, bytes]:
    """List pages as a reader sees them: the feed's times of writing are those of each run."""
    out = {}
    for rel, data in files.items():
        if rel.rsplit("/", 1)[-1].startswith("."):  # a temporary file a kill left (never served: a dot file)
            continue
        out[rel] = re.sub(rb"<updated>[^<]*</updated>", b"", data) if rel == "feed.xml" else data
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_during_a_static_site_publish_never_loses_or_doubles(tmp_path, seed):
    rnd = random.Random(seed)
    posts = _posts()
    root = make_repo(tmp_path / "site-run", posts, config=CONFIG)
    kills = 0
    for _ in range(6):
        proc = _publish(root)
        _kill_at_a_random_step(proc, root, rnd)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2, "the publish ended before the kills: give it more posts"
    _finish(root)

    rows = _rows(root)
    assert sorted(r.post_id for r in rows) == [f"p{i:03d}" for i in range(N)]
    assert all(r.state == "published" for r in rows)
    lg = open_ledger(None, root)
    successes = [e.post_id for e in lg.events() if e.kind == "success"]
    lg.close()
    assert sorted(successes) == sorted(r.post_id for r in rows), "a post recorded as sent twice"
    site = root / "site"
    pages = sorted(p.name for p in (site / "news").glob("*.html"))
    assert pages == [f"bai-{i:03d}.html" for i in range(N)]  # one page each, at its address
    store = SiteStore(lambda rel: site / rel, None).load()
    assert sorted(store.articles) == [f"p{i:03d}" for i in range(N)]
    assert all(_whole(site / a["path"]) for a in store.articles.values())
    assert all(row.remote_url.endswith(store.articles[row.post_id]["path"]) for row in rows)

    fresh_root = make_repo(tmp_path / "fresh", posts, config=CONFIG)
    _finish(fresh_root)
    fresh = fresh_root / "site"
    assert _comparable(list_files(site)) == _comparable(list_files(fresh)), f"seed {seed}"
    assert shards(site) == shards(fresh)
