"""loa run: git pull --ff-only before each tick, the commit recorded on each row; SIGTERM exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.ledger import open_ledger
from tests.repo import make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=Loa", "-c", "user.email=loa@example.invalid", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_daemon_pulls_the_content_repository_and_records_the_commit(tmp_path):
    when = (datetime.now(VN) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    origin = make_repo(tmp_path / "origin", {"news/a.md": post(id="a", publish_at=when, channels=["portal"], unit="phuong-vung-tau")})
    text = (origin / "config.toml").read_text().replace('require_approval = ["portal"]', "require_approval = []")
    (origin / "config.toml").write_text(text.replace("git_pull = false", "git_pull = true"))
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "first post")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    run = lambda: subprocess.run([sys.executable, "-m", "pipeline", "run", "--once"], cwd=work,  # noqa: E731
                                 capture_output=True, text=True, timeout=120)
    assert run().returncode == 0
    (origin / "content/news/b.md").write_text(post(id="b", title="Bài thứ hai", publish_at=when, channels=["portal"], unit="phuong-vung-tau"))
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "second post")
    head = git(origin, "rev-parse", "HEAD")
    r = run()
    assert r.returncode == 0, r.stderr
    lg = open_ledger(None, work)
    rows = {x.post_id: x for x in lg.rows()}
    lg.close()
    assert rows["a"].state == rows["b"].state == "published", r.stderr
    assert rows["b"].git_commit == head  # the commit the post was published from


def test_sigterm_finishes_and_exits_zero(tmp_path):
    root = make_repo(tmp_path, {"news/a.md": post(channels=["portal"], status="draft")})
    p = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], cwd=root, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (root / "var/loa.db").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    assert "Stopping" in p.stderr.read()
