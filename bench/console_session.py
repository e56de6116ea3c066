"""Why the console keeps one :class:`pipeline.app.Session` per process (behind a lock) rather than
opening one per request: the cost of a page's application-layer call with a new session (cold
caches: every post read and parsed, the plan decided from nothing) against the same call in a
session kept between requests (warm caches), and the cost of the per-request sign-in check.

    python bench/console_session.py [--posts 2000] [--runs 10]

The corpus is ``bench/delivery.py``'s (small posts over 360 days, two webhook channels, the past
ones published in the SQLite ledger). Each row gives the median and the 95th percentile in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.delivery import make_site, mark_published, write_posts  # noqa: E402
from pipeline.app import Session  # noqa: E402
from pipeline.config import load_config  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[max(0, int(round(0.95 * len(out))) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loa-bench-session-"))
    now = datetime.now(timezone.utc)
    make_site(root, {"hook1": "http://127.0.0.1:9", "hook2": "http://127.0.0.1:9"})
    span = timedelta(days=360) / args.posts
    posts = write_posts(root, 0, args.posts, lambda i: now - timedelta(days=300) + span * i)
    cfg = load_config(root / "config.toml", env={})
    with Session.open(cfg) as s:
        mark_published(s.ledger, [p for p in posts if p[3] <= now], list(cfg.channels), now)
        s.ledger.user_add("it", full_name="IT", role="it", password_hash="x", actor="bench", now=now)
        s.ledger.web_session_start("h", user_name="it", csrf="c", now=now, expires_at=now + timedelta(hours=1))

    def cold():
        with Session.open(cfg) as s:
            s.status()

    warm_session = Session.open(cfg)
    warm_session.status()
    rows = [("a new Session per request: status() (the operations page's call)", timed(cold, args.runs)),
            ("one Session kept by the process: status()", timed(warm_session.status, args.runs)),
            ("sign-in check per request (session + person row)",
             timed(lambda: warm_session.accounts.session(None) or warm_session.ledger.web_session("h", now), args.runs))]
    warm_session.close()
    print(f"{args.posts} posts, {args.runs} runs each")
    print(f"{'':70} {'median ms':>10} {'p95 ms':>10}")
    for label, (med, p95) in rows:
        print(f"{label:70} {med:10.2f} {p95:10.2f}")


if __name__ == "__main__":
    main()
