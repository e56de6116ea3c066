"""Benchmark: 30 posts to the four social stand-ins at once, through the real daemon.

    python bench/social.py [--posts 30] [--latency 0.01] [--tick 60s] [--tg-pace 1.05] [--only CHANNEL|all]

Starts the contract-faithful local servers of tests/servers/ (Facebook Graph, Zalo OA, Telegram
Bot API, Mastodon) with vendor rate limits small enough to matter:

- Telegram: 1 message per second per chat (the Bots FAQ figure), enforced strictly by the server;
  Loa is given ``pace_seconds = 1.05`` (the adapter measures its pace from the moment a request
  leaves, so a pace of exactly 1.0 lets network jitter bring two sends closer than 1 s at the server);
- Mastodon: the ``general`` bucket at 20 requests per 5 s window (an image status costs 2);
- Facebook: every call adds 5 % of the Page's usage, which decays 5 %/s; the adapter slows down
  above 75 % (``usage_backoff = 2``), the server blocks at 100 %;
- Zalo: no documented rate limit; 4 calls per article (upload, create, verify, getdetail).

Every run is a fresh content repository and SQLite ledger with ``--posts`` posts (each with an
image, as Zalo requires a cover) due a minute ago, and ``loa run`` (``pipeline.schedule.Daemon``,
real clock, daemon tick ``--tick``) in this process; the time is from the daemon's start until the
ledger shows every item published. Each channel is run alone, then all four at once.

The rate-limit bound of a channel is the least time its vendor limit allows for the items (best
window alignment); the bound of the all-at-once run is the slowest channel's, since channels are
independent. Target: all at once <= 1.2 x that bound (the ratio to the slowest channel measured
alone is printed too). The run fails (exit 1) if a server saw a duplicate, a request beyond its
limit, or an item was not published, or if the target is missed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import load_config  # noqa: E402
from pipeline.ledger import open_ledger  # noqa: E402
from pipeline.app import Session
from pipeline.schedule import Daemon  # noqa: E402
from tests.repo import CONFIG_HEAD, make_repo, post  # noqa: E402
from tests.servers.facebook import FacebookServer  # noqa: E402
from tests.servers.mastodon import Bucket, MastodonServer  # noqa: E402
from tests.servers.telegram import TelegramServer  # noqa: E402
from tests.servers.zalo import ZaloServer  # noqa: E402
from tests.test_facebook import png  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("facebook", "zalo", "telegram", "mastodon")
FB_TOKEN = "EAAGbench" + "x" * 40
TG_TOKEN = "7012345678:AAHloaBenchSecret_token-ABCDEFGHIJKLMN1"
TG_CHAT = -1001987654321
MASTO_TOKEN = "mastodon-bench-token"

# vendor limits (servers) and what Loa is told (config)
TG_RATE = (1, 1.0)                 # messages per seconds, per chat
MASTO_GENERAL = Bucket(20, 5.0)    # requests per fixed window
FB_PER_CALL, FB_DECAY = 5.0, 5.0   # percent per call, percent per second

CONFIG = CONFIG_HEAD + """
[content.types.news]
label = "Tin tức"
channels = {channels}
[content.topics]
cchc = "Cải cách hành chính"
[editorial]
board = ["Lê Thị Mai"]
require_approval = []
[channels.facebook]
type = "facebook"
page_id = "{fb_page}"
token_env = "LOA_FB_TOKEN"
api_base = "{fb}"
usage_backoff = 2
[channels.zalo]
type = "zalo"
app_id = "{zalo_app}"
app_secret_env = "LOA_ZALO_SECRET"
refresh_token_env = "LOA_ZALO_REFRESH"
api_base = "{zalo}"
oauth_base = "{zalo}"
verify_interval = 0.2
[channels.telegram]
type = "telegram"
chat_id = "@ubnd_loa"
token_env = "LOA_TG_TOKEN"
api_base = "{tg}"
pace_seconds = {tg_pace}
[channels.mastodon]
type = "mastodon"
instance_url = "{masto}"
token_env = "LOA_MASTODON_TOKEN"
[daemon]
tick = "{tick}"
workers = 4
"""


class Servers:
    """The four stand-ins with the benchmark's rate limits."""

    def __init__(self, latency: float):
        self.fb = FacebookServer(token=FB_TOKEN, usage_per_call=FB_PER_CALL, usage_decay=FB_DECAY,
                                 latency=latency).start()
        self.zalo = ZaloServer(latency=latency).start()
        _, self.zalo_refresh = self.zalo.issue()
        self.tg = TelegramServer(TG_TOKEN, latency=latency).start()
        self.tg.add_chat(TG_CHAT, username="ubnd_loa", title="UBND")
        self.tg.rate_limit(*TG_RATE)
        self.masto = MastodonServer(tokens={MASTO_TOKEN: "ubnd"}, buckets={"general": MASTO_GENERAL},
                                    latency=latency).start()

    def env(self) -> dict[str, str]:
        return {"LOA_FB_TOKEN": FB_TOKEN, "LOA_ZALO_SECRET": self.zalo.app_secret,
                "LOA_ZALO_REFRESH": self.zalo_refresh, "LOA_TG_TOKEN": TG_TOKEN, "LOA_MASTODON_TOKEN": MASTO_TOKEN}

    def created(self, channel: str) -> int:
        """Items the vendor holds (live or not): a duplicate shows here."""
        return {"facebook": lambda: len(self.fb.posts), "zalo": lambda: len(self.zalo.articles),
                "telegram": lambda: len(self.tg.messages), "mastodon": lambda: len(self.masto.statuses)}[channel]()

    def violations(self, channel: str) -> int:
        """Requests the vendor answered with its rate-limit refusal."""
        return {"facebook": lambda: len(self.fb.violations), "zalo": lambda: 0,
                "telegram": lambda: len(self.tg.violations), "mastodon": lambda: len(self.masto.throttled)}[channel]()

    def stop(self) -> None:
        for s in (self.fb, self.zalo, self.tg, self.masto):
            s.stop()


def bound(channel: str, n: int) -> float:
    """Least seconds the vendor's limit allows for ``n`` image posts (0 = no documented limit)."""
    if channel == "telegram":
        count, per = TG_RATE
        return max(0, math.ceil(n / count) - 1) * per
    if channel == "mastodon":  # media upload + status, both in the general bucket
        return max(0, math.ceil(2 * n / MASTO_GENERAL.limit) - 1) * MASTO_GENERAL.period
    if channel == "facebook":  # calls below 100 % go at once, the rest at the decay rate
        free = math.floor(99.0 / FB_PER_CALL) + 1
        return max(0, n - free) * FB_PER_CALL / FB_DECAY
    return 0.0


def run(channels: tuple[str, ...], n: int, latency: float, tick: str, tg_pace: float) -> dict:
    servers = Servers(latency)
    try:
        with tempfile.TemporaryDirectory(prefix="loa-bench-social-") as tmp:
            when = (datetime.now(VN) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
            posts = {"news/anh.png": png()}
            for i in range(n):
                posts[f"news/p{i:03d}.md"] = post(id=f"p{i:03d}", title=f"Tin số {i}: cải cách hành chính phường 1",
                                                  publish_at=when, image="anh.png", image_alt="Ảnh hội nghị",
                                                  body=f"Nội dung tin số {i} về dịch vụ công trực tuyến.\n")
            config = CONFIG.format(
                channels="[" + ", ".join(f'"{c}"' for c in channels) + "]", fb_page=servers.fb.page_id,
                fb=servers.fb.url, zalo_app=servers.zalo.app_id, zalo=servers.zalo.url, tg=servers.tg.url,
                masto=servers.masto.url, tick=tick, tg_pace=tg_pace)
            root = make_repo(Path(tmp), posts, config=config)
            cfg = load_config(root / "config.toml", env={})

            def ledger():
                return open_ledger(None, root)

            lg = ledger()
            lg.migrate()
            lg.close()
            daemon = Daemon(Session(cfg, ledger, env=servers.env()))
            want = n * len(channels)
            done: dict[str, float] = {}
            start = time.monotonic()

            def watch() -> None:
                lg = ledger()
                try:
                    while not daemon.done.is_set():
                        rows = lg.rows()
                        for c in channels:
                            if c not in done and sum(1 for r in rows if r.channel == c and r.state == "published") == n:
                                done[c] = time.monotonic() - start
                        if len(done) == len(channels) or time.monotonic() - start > 600:
                            daemon.stop()
                            return
                        time.sleep(0.05)
                finally:
                    lg.close()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            daemon.run()
            total = time.monotonic() - start
            lg = ledger()
            rows = lg.rows()
            lg.close()
            published = sum(1 for r in rows if r.state == "published")
            return {"channels": channels, "done": done, "total": max(done.values()) if len(done) == len(channels) else total,
                    "published": published, "want": want, "ticks": daemon.ticks,
                    "created": {c: servers.created(c) for c in channels},
                    "violations": {c: servers.violations(c) for c in channels}}
    finally:
        servers.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=30)
    ap.add_argument("--latency", type=float, default=0.01, help="server latency per request, seconds")
    ap.add_argument("--tick", default="60s", help="daemon tick (the wake-up job must do the work, not the tick)")
    ap.add_argument("--tg-pace", type=float, default=1.05, help="Telegram pace_seconds given to Loa")
    ap.add_argument("--only", choices=CHANNELS + ("all",), help="run only this channel (or only all at once)")
    args = ap.parse_args()
    n = args.posts
    ok = True
    alone: dict[str, dict] = {}
    singles = () if args.only == "all" else ((args.only,) if args.only else CHANNELS)
    for c in singles:
        alone[c] = run((c,), n, args.latency, args.tick, args.tg_pace)
    together = run(CHANNELS, n, args.latency, args.tick, args.tg_pace) if args.only in (None, "all") else None

    print(f"\n{n} posts with an image per channel; server latency {args.latency * 1000:.0f} ms; daemon tick {args.tick}")
    print(f"{'channel':10} {'items':>5} {'alone s':>8} {'bound s':>8} {'all-at-once s':>14} {'at vendor':>9} {'over limit':>10}")
    for c in CHANNELS:
        a = alone.get(c)
        t = together["done"].get(c) if together else None
        created = (together or a or {}).get("created", {}).get(c, "-")
        over = (together or a or {}).get("violations", {}).get(c, "-")
        b = bound(c, n)
        print(f"{c:10} {n:>5} {a['total'] if a else float('nan'):>8.1f} {b if b else float('nan'):>8.1f} "
              f"{t if t is not None else float('nan'):>14.1f} {created:>9} {over:>10}")
    for res in [*alone.values(), *([together] if together else [])]:
        if res["published"] != res["want"]:
            print(f"NOT DONE: {res['channels']}: {res['published']}/{res['want']} published", file=sys.stderr)
            ok = False
        for c, k in res["created"].items():
            if k != n:
                print(f"DUPLICATE OR MISSING: {c} holds {k} items for {n} posts", file=sys.stderr)
                ok = False
        for c, k in res["violations"].items():
            if k:
                print(f"OVER THE LIMIT: {c} refused {k} request(s) for exceeding its rate limit", file=sys.stderr)
                ok = False
    if together:
        limit = max(bound(c, n) for c in CHANNELS)
        slowest = max(CHANNELS, key=lambda c: bound(c, n))
        ratio = together["total"] / limit if limit else float("inf")
        print(f"\nall four at once: {together['total']:.1f} s for {together['want']} items in {together['ticks']} daemon "
              f"passes; bound {limit:.1f} s ({slowest}); ratio {ratio:.2f} (target <= 1.20)")
        if alone:
            worst = max(alone, key=lambda c: alone[c]["total"])
            print(f"slowest channel alone: {worst} {alone[worst]['total']:.1f} s; all at once / slowest alone = "
                  f"{together['total'] / alone[worst]['total']:.2f}")
        if ratio > 1.2:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
