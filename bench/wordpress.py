"""Benchmark: the WordPress publisher against bare REST creates, on a real local WordPress.

    python bench/wordpress.py [--posts 200] [--rounds 1]

Starts its own WordPress instance (``var/wordpress-bench``, see scripts/wordpress_local.py), then
per round:
  (a) bare  - sequential ``POST /wp/v2/posts`` with ``requests``: minimal payload, one session;
  (a2) the same with the adapter's payload (slug, excerpt, date, category, two tags; terms resolved
      beforehand): what WordPress itself charges for a full article;
  (b) adapter - ``WordPressPublisher.publish()`` of full renderings (slug, excerpt, date, category,
      two tags), which always looks the slug up before creating (two requests per article);
  (b2) the same with one ``prefetch()`` per block (one lookup request per block of articles);
  (c) lookup - ``WordPressPublisher.lookup()`` alone, the price of never posting twice.
The modes are interleaved in blocks of 20 posts (the machine is shared; its load drifts), and the
created posts are deleted after each round. Target: adapter >= 0.7 x bare.
"""

from __future__ import annotations

import argparse
import os
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


class EngineRun:
    """``loa publish`` as the daemon runs it: Markdown posts in a content repository, the real engine
    (plan, render, claim, send, record in a SQLite ledger) and the WordPress channel."""

    NOW = datetime(2024, 12, 20, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))

    def __init__(self, site, token: str):
        import tempfile

        from pipeline.config import load_config
        from pipeline.ledger import open_ledger
        from pipeline.app import Session

        self.token = token
        self.root = Path(tempfile.mkdtemp(prefix="loa-wp-bench-"))
        text = (REPO / "config.toml").read_text(encoding="utf-8")
        portal, end = text.index("[channels.portal]"), text.index("[channels.facebook]")
        text = (text[:portal] + f'[channels.portal]\ntype = "wordpress"\nurl = "{site.url}"\nusername = "{site.login()}"\n'
                f'password_env = "LOA_WORDPRESS_PASSWORD"\n\n' + text[end:]).replace('require_approval = ["portal"]', "require_approval = []")
        (self.root / "config.toml").write_text(text, encoding="utf-8")
        (self.root / "content/news").mkdir(parents=True)
        self.cfg = load_config(self.root / "config.toml", env={})
        self.open = lambda: open_ledger(None, self.root)
        lg = self.open()
        lg.migrate()
        lg.close()
        self.engine = Session(self.cfg, self.open, owner="bench", env={"LOA_WORDPRESS_PASSWORD": site.password()},
                             clock=lambda: self.NOW)

    def write_block(self, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            (self.root / f"content/news/e{i:04d}.md").write_text(
                f"---\nid: e{self.token}-{i}\ntitle: Bài kiểm thử hiệu năng {self.token} số {i}\ntype: news\n"
                f"unit: phuong-1\nauthor: Loa\npublish_at: 2024-12-20 07:00\ntopics: [cchc, dvc-truc-tuyen]\n"
                f"channels: [portal]\nstatus: ready\n---\n\n{BODY}\n", encoding="utf-8")

    def publish_block(self, lo: int, hi: int) -> None:
        result = self.engine.publish(now=self.NOW)
        assert result.sent == hi - lo and not result.permanent, result.lines[-3:]

    def close(self) -> list[int]:
        self.engine.close()
        lg = self.open()
        ids = [int(r.remote_id) for r in lg.rows(channel="portal") if r.remote_id]
        lg.close()
        return ids


class Round:
    """One round: the three ways of creating ``n`` posts, interleaved in blocks.

    The machine is shared, so its load drifts; interleaving blocks of ``block`` posts exposes every
    mode to the same drift, which keeps the ratio honest.
    """

    def __init__(self, site, n: int, block: int):
        self.site, self.n, self.block = site, n, block
        self.session = site.session()
        token = secrets.token_hex(3)
        self.plain = [rendering(token + "a", i) for i in range(n)]
        self.batch = [rendering(token + "b", i) for i in range(n)]
        self.full = [rendering(token + "f", i) for i in range(n)]
        self.seconds = {"bare": 0.0, "full": 0.0, "adapter": 0.0, "prefetch": 0.0, "lookup": 0.0, "engine": 0.0}
        self.ids: list[int] = []

    def _publisher(self) -> WordPressPublisher:
        return WordPressPublisher("portal", {"url": self.site.url, "username": self.site.login(),
                                             "password_env": "PW"}, env={"PW": self.site.password()})

    def _terms(self) -> dict[str, list[int]]:
        """The term ids the renderings resolve to (created through the adapter, outside the timing)."""
        pub = self._publisher()
        r = self.full[0]
        ex = r.extra
        cats = [pub._category_id(ex["type"], ex["type_label"])]
        tags = [pub.rest.term_id("tags", t, ex["topic_labels"][t], None) for t in ex["topics"]]
        pub.close()
        return {"categories": cats, "tags": tags}

    def _timed(self, mode: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        self.seconds[mode] += time.perf_counter() - t0

    def run(self) -> dict[str, float]:
        url = self.site.url
        plain, batched = self._publisher(), self._publisher()  # each pays its own first-call discovery

        def bare(lo: int, hi: int) -> None:
            for i in range(lo, hi):
                r = self.session.post(f"{url}/wp-json/wp/v2/posts", json={"title": f"bare {i}", "content": BODY,
                                                                           "status": "publish"}, timeout=30)
                r.raise_for_status()
                self.ids.append(r.json()["id"])

        terms = self._terms()

        def full(lo: int, hi: int) -> None:
            for r in self.full[lo:hi]:
                ex = r.extra
                resp = self.session.post(f"{url}/wp-json/wp/v2/posts", params={"_fields": "id,slug,status,link"}, json={
                    "title": r.title, "content": r.body, "excerpt": ex["summary"], "status": "publish",
                    "slug": ex["slug"], "date": ex["publish_at"].isoformat(), **terms}, timeout=30)
                resp.raise_for_status()
                self.ids.append(resp.json()["id"])

        def adapter(lo: int, hi: int) -> None:
            self.ids.extend(int(plain.publish(r, key=r.post_id).remote_id) for r in self.plain[lo:hi])

        def prefetch(lo: int, hi: int) -> None:
            batched.prefetch(self.batch[lo:hi])
            self.ids.extend(int(batched.publish(r, key=r.post_id).remote_id) for r in self.batch[lo:hi])

        def lookup(lo: int, hi: int) -> None:
            for r in self.plain[lo:hi]:
                plain.lookup(r, r.post_id)

        eng = EngineRun(self.site, secrets.token_hex(3))

        def engine(lo: int, hi: int) -> None:
            eng.publish_block(lo, hi)

        try:
            for lo in range(0, self.n, self.block):
                hi = min(self.n, lo + self.block)
                eng.write_block(lo, hi)  # the post files are written outside the timing
                for mode, fn in (("bare", bare), ("full", full), ("adapter", adapter), ("prefetch", prefetch),
                                 ("lookup", lookup), ("engine", engine)):
                    self._timed(mode, lambda: fn(lo, hi))
        finally:
            plain.close()
            batched.close()
            self.ids.extend(eng.close())
            cleanup(self.session, url, self.ids)  # clean between runs
        return self.seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--block", type=int, default=20, help="posts per interleaved block")
    ap.add_argument("--dir", type=Path, default=REPO / "var" / "wordpress-bench")
    args = ap.parse_args()
    t = time.perf_counter()
    inst, site = start_site(args.dir, "loa-bench")
    print(f"WordPress at {site.url} ready in {time.perf_counter() - t:.1f} s; load average {os.getloadavg()[0]:.1f}")
    results = []
    try:
        for _ in range(args.rounds):
            results.append(Round(site, args.posts, args.block).run())
    finally:
        inst.stop()
    n = args.posts
    med = {mode: statistics.median(r[mode] for r in results) for mode in results[0]}
    b, a, p = med["bare"], med["adapter"], med["prefetch"]
    f = med["full"]
    rows = [("(a) bare REST create", b, ""),
            ("(a2) bare, adapter's payload", f, f"{b / f:.2f} x bare"),
            ("(b) adapter publish()", a, f"{b / a:.2f} x bare, {f / a:.2f} x a2"),
            ("(b2) prefetch() + publish()", p, f"{b / p:.2f} x bare, {f / p:.2f} x a2"),
            ("(c) adapter lookup() alone", med["lookup"], ""),
            ("(d) loa publish (engine)", med["engine"], f"{b / med['engine']:.2f} x bare, {f / med['engine']:.2f} x a2")]
    print(f"\n{'run':30s} {'posts':>6s} {'seconds':>8s} {'posts/s':>8s} {'ms/post':>8s}  ratio")
    for label, secs, ratio in rows:
        print(f"{label:30s} {n:6d} {secs:8.2f} {n / secs:8.1f} {secs / n * 1000:8.1f}  {ratio}")
    e = med["engine"]
    print(f"\ntarget Loa >= 0.70 x bare: loa publish through the engine {'met' if b / e >= 0.7 else 'NOT met'} "
          f"({b / e:.2f}); adapter publish() alone {'met' if b / a >= 0.7 else 'NOT met'}, "
          f"with prefetch() {'met' if b / p >= 0.7 else 'NOT met'} ({args.rounds} round(s), median; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
