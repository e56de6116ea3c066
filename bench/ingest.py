"""Feed ingest speed: 20 local feeds x 200 items, first run vs a second run over unchanged feeds.

    python bench/ingest.py [--feeds 20] [--items 200] [--runs 5] [--state sqlite|memory]

The feeds are served over real loopback HTTP by a threaded server. Two server behaviours:

- ``validators``: ETag + Last-Modified; the second run sends If-None-Match / If-Modified-Since and
  gets 304 for every feed;
- ``no validators``: the server always answers 200 with the same bytes; ingest recognises the
  body's SHA-256 and skips parsing.

The first run fetches, parses, sanitises and writes every item as a draft (``max_items`` = items,
each file fsynced) and stores state; state is the real SQLite ledger (``synchronous=FULL``) unless
``--state memory``. Second runs: median of ``--runs``. Target: second run <= 5 % of the first.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.ingest import ingest  # noqa: E402
from publishers.base import MemoryState  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 5, 29, 8, 0, tzinfo=VN)
SUBJECTS = ("cải cách hành chính", "dịch vụ công trực tuyến", "chuyển đổi số", "bưu chính công ích",
            "Đề án 06", "hoà giải ở cơ sở", "đăng ký khai sinh", "cấp giấy chứng nhận quyền sử dụng đất")
PLACES = ("phường Thắng Tam", "phường Rạch Dừa", "xã Long Sơn", "phường Tam Thắng", "Ủy ban nhân dân thành phố")
DATE_FORMS = ("Thứ {wd}, {d:%d/%m/%Y %H:%M:%S} GMT+7", "{d:%a, %d %b %Y %H:%M:%S} GMT+7", "{d:%d/%m/%Y %H:%M}",
              "{d:%Y-%m-%dT%H:%M:%S}+07:00")


def make_feed(f: int, items: int) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
           f"<title>Cổng TTĐT đơn vị {f}</title><link>/</link><description>Tin tức</description>"]
    for i in range(items):
        d = NOW - timedelta(hours=3 * i + f)
        subject, place = SUBJECTS[i % len(SUBJECTS)], PLACES[(i + f) % len(PLACES)]
        date = DATE_FORMS[i % len(DATE_FORMS)].format(d=d, wd=(d.isoweekday() % 7) + 1)
        out.append(
            f"<item><title>{place.capitalize()} triển khai {subject}: bản tin số {f}-{i}</title>"
            f"<link>/tin-tuc/{f}/bai-{i}.htm</link><guid isPermaLink=\"false\">u{f}-{i}</guid>"
            f"<pubDate>{date}</pubDate><description><![CDATA["
            f'<a href="/tin-tuc/{f}/bai-{i}.htm"><img src="/images/{f}/{i}.jpg" alt="Ảnh {i}"></a></br>'
            f"<p>Sáng nay, <b>{place}</b> tổ chức hội nghị về {subject}. Văn ph&#242;ng Ch&#237;nh phủ "
            f'đề nghị các đơn vị <a href="/van-ban/{i}.pdf">thực hiện nghiêm</a> và báo cáo kết quả.</p>'
            f"<p>Tỷ lệ hồ sơ trực tuyến toàn trình đạt {50 + i % 50}%; thời gian giải quyết giảm "
            f"{i % 30} ngày so với cùng kỳ.</p><ul><li>Tiếp nhận</li><li>Trả kết quả</li></ul>"
            "]]></description></item>")
    out.append("</channel></rss>")
    return "".join(out).encode("utf-8")


class Server:
    def __init__(self, bodies: dict[str, bytes], validators: bool):
        tags = {p: '"' + hashlib.sha1(b).hexdigest()[:16] + '"' for p, b in bodies.items()}
        self.hits = {"200": 0, "304": 0}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                body = bodies[self.path]
                if validators and self.headers.get("If-None-Match") == tags[self.path]:
                    outer.hits["304"] += 1
                    self.send_response(304)
                    self.send_header("ETag", tags[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.hits["200"] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                if validators:
                    self.send_header("ETag", tags[self.path])
                    self.send_header("Last-Modified", "Thu, 28 May 2026 10:00:00 GMT")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def open_state(kind: str, tmp: Path):
    if kind == "memory":
        return MemoryState(), lambda: None
    from pipeline.ledger import open_ledger
    from pipeline.ledger import LedgerState

    ledger = open_ledger(None, tmp)
    ledger.migrate(NOW)
    return LedgerState(ledger, "ingest:", lambda: NOW), ledger.close


def scenario(validators: bool, args) -> dict:
    bodies = {f"/feeds/{f}.rss": make_feed(f, args.items) for f in range(args.feeds)}
    server = Server(bodies, validators)
    feeds = [{"name": f"unit-{f}", "url": server.base + path, "unit": f"unit-{f}", "topics": ["cchc"],
              "include": [], "exclude": [], "max_items": args.items, "timezone": "Asia/Ho_Chi_Minh",
              "type": "news"} for f, path in enumerate(bodies)]
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        state, close = open_state(args.state, Path(tmp))
        try:
            t = time.perf_counter()
            first = ingest(feeds, content_dir=content, state=state, now=NOW, site_tz=VN)
            first_s = time.perf_counter() - t
            assert first.ok and len(first.created) == args.feeds * args.items, first.lines()[:5]
            seconds = []
            for _ in range(args.runs):
                t = time.perf_counter()
                again = ingest(feeds, content_dir=content, state=state, now=NOW, site_tz=VN)
                seconds.append(time.perf_counter() - t)
                assert again.ok and not again.created and all(f.status == "not modified" for f in again.feeds)
            files = len(list((content / "drafts").glob("*.md")))
        finally:
            close()
            server.close()
    return {"first": first_s, "second": statistics.median(seconds), "drafts": files,
            "bytes": sum(map(len, bodies.values())), "hits": dict(server.hits)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--state", choices=("sqlite", "memory"), default="sqlite")
    args = ap.parse_args()
    print(f"{args.feeds} feeds x {args.items} items, state: {args.state}, second run = median of {args.runs}\n")
    print("| server | first run (s) | drafts | second run (s) | second / first | target |")
    print("|---|---:|---:|---:|---:|---|")
    for label, validators in (("ETag + Last-Modified (304)", True), ("no validators (same bytes)", False)):
        r = scenario(validators, args)
        ratio = r["second"] / r["first"]
        print(f"| {label} | {r['first']:.2f} | {r['drafts']} | {r['second']:.3f} | {ratio:.2%} | "
              f"{'ok' if ratio <= 0.05 else 'MISSED'} (<= 5 %) |")
    print(f"\nfeed bodies: {r['bytes'] / 1e6:.1f} MB in total")


if __name__ == "__main__":
    main()
