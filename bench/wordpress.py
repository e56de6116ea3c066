"""Benchmark: the WordPress publisher against bare REST creates, on a real local WordPress.

    python bench/wordpress.py [--posts 200] [--rounds 1]

Starts its own WordPress instance (``var/wordpress-bench``, see scripts/wordpress_local.py), then
per round:
  (a) bare  - sequential ``POST /wp/v2/posts`` with ``requests``: minimal payload, one session;
  (b) adapter - ``WordPressPublisher.publish()`` of full renderings (slug, excerpt, date, category,
      two tags), which always looks the slug up before creating (two requests per article);
  (b2) the same after one ``prefetch()`` of the batch (one lookup request per 50 articles);
  (c) lookup - ``WordPressPublisher.lookup()`` alone, the price of never posting twice.
Created posts are deleted between runs. Target: adapter >= 0.7 x bare.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from pipeline.models import Rendering  # noqa: E402
from publishers.wordpress import WordPressPublisher  # noqa: E402
from tests.wordpress import REPO, start_site  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BODY = "<p>Người dân có thể nộp hồ sơ trực tuyến qua Cổng dịch vụ công quốc gia.</p>\n" * 5


def rendering(token: str, i: int) -> Rendering:
    slug = f"bench-{token}-{i}"
    extra = {"slug": slug, "summary": "Tóm tắt bài viết.", "type": "tin-tuc", "type_label": "Tin tức",
             "topics": ["cchc", "dvctt"], "topic_labels": {"cchc": "Cải cách hành chính", "dvctt": "Dịch vụ công"},
             "publish_at": datetime(2026, 3, 2, 8, 0, tzinfo=TZ)}
    return Rendering(post_id=f"bench/{slug}", channel="portal", channel_type="wordpress", kind="article",
                     title=f"Bài thử {i}", body=BODY, length=len(BODY), limit=None, source_hash=slug, hash=slug,
                     extra=MappingProxyType(extra))


def cleanup(session: requests.Session, url: str, ids: list[int]) -> None:
    for pid in ids:
        session.delete(f"{url}/wp-json/wp/v2/posts/{pid}", params={"force": "true", "_fields": "deleted"}, timeout=30)


def run_bare(session: requests.Session, url: str, n: int) -> tuple[float, list[int]]:
    ids = []
    t0 = time.perf_counter()
    for i in range(n):
        r = session.post(f"{url}/wp-json/wp/v2/posts", json={"title": f"bare {i}", "content": BODY,
                                                              "status": "publish"}, timeout=30)
        r.raise_for_status()
        ids.append(r.json()["id"])
    return time.perf_counter() - t0, ids


def run_adapter(site, n: int, prefetch: bool) -> tuple[float, list[int], float]:
    pub = WordPressPublisher("portal", {"url": site.url, "username": site.login(), "password_env": "PW"},
                             env={"PW": site.password()})
    token = secrets.token_hex(3)
    renderings = [rendering(token, i) for i in range(n)]
    t0 = time.perf_counter()
    if prefetch:
        pub.prefetch(renderings)
    ids = [int(pub.publish(r, key=r.post_id).remote_id) for r in renderings]
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    for r in renderings:
        pub.lookup(r, r.post_id)
    lookup = time.perf_counter() - t1
    pub.close()
    return elapsed, ids, lookup


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--dir", type=Path, default=REPO / "var" / "wordpress-bench")
    args = ap.parse_args()
    t = time.perf_counter()
    inst, site = start_site(args.dir, "loa-bench")
    print(f"WordPress at {site.url} ready in {time.perf_counter() - t:.1f} s")
    session = site.session()
    bare, adapter, batched, lookup = [], [], [], []
    try:
        for _ in range(args.rounds):
            secs, ids = run_bare(session, site.url, args.posts)
            bare.append(secs)
            cleanup(session, site.url, ids)
            secs, ids, lsecs = run_adapter(site, args.posts, prefetch=False)
            adapter.append(secs)
            lookup.append(lsecs)
            cleanup(session, site.url, ids)
            secs, ids, _ = run_adapter(site, args.posts, prefetch=True)
            batched.append(secs)
            cleanup(session, site.url, ids)
    finally:
        inst.stop()
    n = args.posts
    b, a, lk = statistics.median(bare), statistics.median(adapter), statistics.median(lookup)
    p = statistics.median(batched)
    rows = [("(a) bare REST create", n, b, ""), ("(b) adapter publish()", n, a, f"{b / a:.2f} x bare"),
            ("(b2) prefetch() + publish()", n, p, f"{b / p:.2f} x bare"),
            ("(c) adapter lookup() alone", n, lk, "")]
    print(f"\n{'run':30s} {'posts':>6s} {'seconds':>8s} {'posts/s':>8s} {'ms/post':>8s}  ratio")
    for label, count, secs, ratio in rows:
        print(f"{label:30s} {count:6d} {secs:8.2f} {count / secs:8.1f} {secs / count * 1000:8.1f}  {ratio}")
    print(f"\ntarget adapter >= 0.70 x bare: publish() alone {'met' if b / a >= 0.7 else 'NOT met'}, "
          f"with prefetch() {'met' if b / p >= 0.7 else 'NOT met'} ({args.rounds} round(s), median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
