"""Feed ingest against real HTTP: fixture feeds served by a loopback server in the test.

The server answers conditional GETs (ETag / Last-Modified -> 304), loops redirects, streams a
50 MB body without keeping it anywhere, and a second socket accepts connections but never answers.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.feeds.dates import parse_date
from pipeline.feeds.drafts import write_draft
from pipeline.feeds.sanitize import absolute_url, html_to_markdown
from pipeline.ingest import FetchLimits, ingest
from publishers.base import MemoryState

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UTC7 = timezone(timedelta(hours=7))
NOW = datetime(2026, 5, 29, 8, 0, tzinfo=VN)
FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
LAST_MODIFIED = "Thu, 28 May 2026 10:00:00 GMT"
FAST = FetchLimits(connect_timeout=2, read_timeout=0.5, total_timeout=10, max_bytes=5 * 1024 * 1024)


# -- the loopback feed server ----------------------------------------------------------------

def to_cp1258(text: str) -> bytes:
    """Encode Vietnamese as Windows-1258 really does: precomposed base letters (ă â ê ô ơ ư đ)
    plus a combining tone mark where no precomposed byte exists (cp1258 cannot encode NFC ộ)."""
    out = bytearray()
    shape = {"\u0302", "\u0306", "\u031b"}
    for ch in unicodedata.normalize("NFC", text):
        d = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", d[0] + "".join(m for m in d[1:] if m in shape))
        for cand in (ch, base + "".join(m for m in d[1:] if m not in shape)):
            try:
                out += cand.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            raise ValueError(f"{ch!r} has no Windows-1258 form")
    return bytes(out)


class FeedServer:
    """Routes are ``path -> callable(handler)``; every request is logged with its headers and the
    status the server answered."""

    def __init__(self):
        self.routes = {}
        self.log = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                route = server.routes.get(path)
                entry = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                with server.lock:
                    server.log.append(entry)
                if route is None:
                    entry["status"] = 404
                    self.send_response(404)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                entry["status"] = route(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path):
        return self.base + path

    def requests_to(self, path):
        # the handler records the status after the client has its answer: wait for it (loaded machines)
        deadline = time.monotonic() + 5
        while True:
            with self.lock:
                found = [e for e in self.log if e["path"].split("?", 1)[0] == path]
            if all("status" in e for e in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    def feed(self, path, body: bytes, ctype="application/rss+xml; charset=utf-8", validators=True,
             last_modified=LAST_MODIFIED):
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'

        def route(h):
            inm, ims = h.headers.get("If-None-Match"), h.headers.get("If-Modified-Since")
            # RFC 9110: If-None-Match, when present, decides; If-Modified-Since only without it.
            if validators and (inm == etag if inm is not None else ims == last_modified):
                h.send_response(304)
                h.send_header("ETag", etag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return 304
            h.send_response(200)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            if validators:
                h.send_header("ETag", etag)
                h.send_header("Last-Modified", last_modified)
            h.end_headers()
            h.wfile.write(body)
            return 200

        self.routes[path] = route

    def fixture(self, path, name, **kw):
        self.feed(path, (FIXTURES / name).read_bytes(), **kw)

    def redirect_loop(self, path):
        def route(h):
            n = int(h.path.split("n=", 1)[1]) + 1 if "n=" in h.path else 1
            h.send_response(302)
            h.send_header("Location", f"{path}?n={n}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return 302
        self.routes[path] = route

    def huge(self, path, size=50 * 1024 * 1024, declare_length=True):
        """A 50 MB answer generated while it is sent: never held in memory or on disk."""
        def route(h):
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            if declare_length:
                h.send_header("Content-Length", str(size))
            else:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            chunk = b"<!-- padding -->" * 4096
            sent = 0
            try:
                h.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
                while sent < size:
                    h.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return 200
        self.routes[path] = route

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


@pytest.fixture
def silent_url():
    """A port that accepts the TCP connection (kernel backlog) and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/rss"
    sock.close()


@pytest.fixture
def content(tmp_path):
    d = tmp_path / "content"
    d.mkdir()
    return d


def feed(name, url, **kw):
    cfg = {"name": name, "url": url, "unit": "vp-ubnd", "topics": ["cchc"], "include": [], "exclude": [],
           "max_items": 20, "timezone": "Asia/Ho_Chi_Minh", "type": "news"}
    cfg.update(kw)
    return cfg


def run(feeds, content, state=None, **kw):
    kw.setdefault("limits", FAST)
    return ingest(feeds, content_dir=content, state=state if state is not None else MemoryState(), now=NOW,
                  site_tz=VN, **kw)


def read_draft(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body.strip()


def drafts(content):
    return {p.name: read_draft(p) for p in sorted((content / "drafts").glob("*.md"))}


def by_guid(content):
    return {meta.get("source_guid"): (name, meta, body) for name, (meta, body) in drafts(content).items()}


# -- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, zone, expected", [
    ("Thứ 5, 28/05/2026 17:00:00 GMT+7", VN, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
    ("Tue, 28 May 2026 17:00:00 GMT+7", VN, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
    ("Thu, 28 May 2026 17:00:00 GMT+07:00", timezone.utc, datetime(2026, 5, 28, 10, 0, tzinfo=timezone.utc)),
    ("28 May 2026 17:00 UTC+07:00", timezone.utc, datetime(2026, 5, 28, 10, 0, tzinfo=timezone.utc)),
    ("Thu, 28 May 2026 17:00:00 +0700", timezone.utc, datetime(2026, 5, 28, 10, 0, tzinfo=timezone.utc)),
    ("Thu, 28 May 2026 10:00:00 GMT", VN, datetime(2026, 5, 28, 17, 0, tzinfo=VN)),
    ("28/05/2026 17:00", VN, datetime(2026, 5, 28, 17, 0, tzinfo=VN)),
    ("28/05/2026 17:00", timezone.utc, datetime(2026, 5, 29, 0, 0, tzinfo=VN)),
    ("28/5/2026", VN, datetime(2026, 5, 28, 0, 0, tzinfo=VN)),
    ("17:00 28/05/2026", VN, datetime(2026, 5, 28, 17, 0, tzinfo=VN)),
    ("17h00 | 28/05/2026 (GMT+7)", timezone.utc, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
    ("Thứ Năm, 28/5/2026, lúc 17:00 (GMT+7)", timezone.utc, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
    ("28 tháng 5 năm 2026", VN, datetime(2026, 5, 28, 0, 0, tzinfo=VN)),
    ("2026-05-28T17:00:00+07:00", timezone.utc, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
    ("2026-05-28T10:00:00Z", VN, datetime(2026, 5, 28, 17, 0, tzinfo=VN)),
    ("2026-05-28T17:00:00", VN, datetime(2026, 5, 28, 17, 0, tzinfo=VN)),
    ("2026-05-28 17:00", timezone.utc, datetime(2026, 5, 28, 17, 0, tzinfo=timezone.utc)),
    ("2026-05-28 17:00:00 GMT+7", timezone.utc, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
    ("Thu, 28 May 2026 05:00:00 PM ICT", timezone.utc, datetime(2026, 5, 28, 17, 0, tzinfo=UTC7)),
])
def test_dates_are_right_to_the_minute(text, zone, expected):
    got = parse_date(text, zone)
    assert got is not None and got.tzinfo is not None
    assert got == expected
    assert got.utcoffset() is not None


def test_unreadable_dates_give_none_not_a_guess():
    assert parse_date("Thu, 28 May 2026 17:00:00 XYZ", VN) is None
    assert parse_date("hôm qua", VN) is None
    assert parse_date("", VN) is None


# -- the main path ---------------------------------------------------------------------------------

def test_first_run_writes_drafts_with_exact_dates_clean_markdown_and_full_front_matter(server, content):
    server.fixture("/rss/cchc.rss", "baochinhphu.rss")
    state = MemoryState()
    report = run([feed("baochinhphu", server.url("/rss/cchc.rss"))], content, state)

    assert report.ok
    assert report.lines()[0] == "baochinhphu: ok, created 5 drafts, 0 duplicates, 0 filtered"
    got = by_guid(content)
    assert set(got) == {"bcp-1001", "bcp-1002", "bcp-1003", "bcp-1004", "bcp-1005"}
    published = {g: datetime.fromisoformat(meta["source_published"]) for g, (_, meta, _) in got.items()}
    assert published == {
        "bcp-1001": datetime(2026, 5, 28, 17, 0, tzinfo=UTC7),   # Thứ 5, 28/05/2026 17:00:00 GMT+7
        "bcp-1002": datetime(2026, 5, 28, 8, 30, tzinfo=UTC7),   # Tue, 28 May 2026 08:30:00 GMT+7
        "bcp-1003": datetime(2026, 5, 27, 9, 15, tzinfo=UTC7),   # 27/05/2026 09:15 (feed zone)
        "bcp-1004": datetime(2026, 5, 25, 14, 45, tzinfo=UTC7),  # dc:date 2026-05-25T07:45:00Z
        "bcp-1005": datetime(2026, 5, 25, 21, 10, tzinfo=UTC7),  # +0700
    }
    assert all(meta["source_published"].endswith("+07:00") for _, meta, _ in got.values())

    name, meta, body = got["bcp-1001"]
    base = server.base
    assert name == "2026-05-28-van-phong-chinh-phu-hop-bao-ve-cai-cach-hanh-chinh-quy-ii.md"
    assert meta["id"].startswith("20260528-") and len(meta["id"]) == len("20260528-") + 6
    assert meta["title"] == "Văn phòng Chính phủ họp báo về cải cách hành chính quý II"  # &#242; &#237; decoded
    assert unicodedata.is_normalized("NFC", meta["title"])
    assert {k: meta[k] for k in ("type", "unit", "author", "status", "topics", "source", "source_title")} == {
        "type": "news", "unit": "vp-ubnd", "author": "Loa ingest", "status": "draft", "topics": ["cchc"],
        "source": "baochinhphu", "source_title": "Báo Điện tử Chính phủ - Cải cách hành chính"}
    assert meta["source_link"] == f"{base}/tin-tuc/van-phong-chinh-phu-hop-bao-1001.htm"
    assert meta["source_image"] == f"{base}/images/2026/05/28/hop-bao.jpg"
    assert "publish_at" not in meta and "image" not in meta
    assert meta["summary"].startswith("Chiều 28/5, Văn phòng Chính phủ tổ chức họp báo")
    assert "<" not in meta["summary"] and len(meta["summary"]) <= 300
    assert body == (
        f"[![Quang cảnh họp báo]({base}/images/2026/05/28/hop-bao.jpg)]({base}/tin-tuc/van-phong-chinh-phu-hop-bao-1001.htm)  \n"
        f"Chiều 28/5, **Văn phòng Chính phủ** tổ chức họp báo thường kỳ, thông tin kết quả "
        f"[cải cách hành chính quý II]({base}/cchc/ket-qua-quy-2.htm).\n\n"
        f"Nguồn: [Báo Điện tử Chính phủ - Cải cách hành chính]({base}/tin-tuc/van-phong-chinh-phu-hop-bao-1001.htm)")

    # Entity-escaped HTML (&lt;p&gt;...) is HTML, with its relative link and image made absolute.
    _, meta2, body2 = got["bcp-1002"]
    assert body2.startswith(f"Người dân có thể [xem hướng dẫn chi tiết]({base}/dich-vu-cong/huong-dan.htm) và nộp")
    assert f"![]({base}/images/2026/05/28/khai-sinh.png)" in body2
    assert meta2["summary"] == "Người dân có thể xem hướng dẫn chi tiết và nộp hồ sơ qua Cổng Dịch vụ công quốc gia."
    assert got["bcp-1004"][1]["source_image"] == f"{base}/images/2026/05/25/par-index.jpg"  # media:thumbnail
    assert got["bcp-1003"][0] == "2026-05-27-thu-tuong-chi-dao-day-manh-chuyen-doi-so-trong-giai-quyet.md"
    # The server saw who we are.
    assert server.requests_to("/rss/cchc.rss")[0]["headers"]["user-agent"] == "Loa/0.1 feed ingest"
    status = json.loads(state.get("ingest:status:baochinhphu"))
    assert status["status"] == "ok" and status["drafts"] == 5 and status["at"] == NOW.isoformat()
    # Three durable values per feed, not one per draft: the ledger commits every set to disk.
    assert sorted(state._d) == sorted([f"ingest:http:{server.url('/rss/cchc.rss')}", "ingest:seen:baochinhphu",
                                       "ingest:status:baochinhphu"])


def test_validators_survive_a_restart_in_the_ledger_state(server, content, tmp_path):
    from pipeline.ledger import open_ledger
    from pipeline.ledger import LedgerState

    server.fixture("/rss", "baochinhphu.rss")
    for expected in ("bcp: ok, created 5 drafts, 0 duplicates, 0 filtered", "bcp: not modified"):
        ledger = open_ledger(None, tmp_path)  # a new process: nothing kept in memory
        ledger.migrate(NOW)
        try:
            report = run([feed("bcp", server.url("/rss"))], content, LedgerState(ledger, "ingest:", lambda: NOW))
        finally:
            ledger.close()
        assert report.lines()[0] == expected
    assert server.requests_to("/rss")[1]["status"] == 304


def test_atom_feed_broken_links_item_relative_images_and_configured_zone(server, content):
    server.fixture("/rss/1196/gioi-thieu-van-ban-moi.rss", "moc.atom", ctype="application/atom+xml")
    report = run([feed("moc", server.url("/rss/1196/gioi-thieu-van-ban-moi.rss"), timezone="UTC")], content)
    assert report.ok, report.lines()
    got = by_guid(content)
    name, meta, body = got["urn:moc:vb:2001"]
    assert meta["title"] == "Thông tư số 05/2026/TT-BXD & hướng dẫn thi hành"
    assert meta["source_link"] == "http://moc.gov.vn/tin-tuc/van-ban/thong-tu-05-2026.html"  # http:moc.gov.vn/...
    # Path-relative links resolve against the item's own link, not the feed URL.
    assert "[Thông tư số 05/2026/TT-BXD](http://moc.gov.vn/tin-tuc/van-ban/phu-luc-05.pdf)" in body
    assert meta["source_image"] == "http://moc.gov.vn/tin-tuc/van-ban/anh/thong-tu-05.jpg"
    assert "- Hiệu lực từ 15/7/2026\n- Thay thế Thông tư 10/2021" in body
    assert datetime.fromisoformat(meta["source_published"]) == datetime(2026, 5, 27, 8, 0, tzinfo=UTC7)
    name2, meta2, _ = got["urn:moc:vb:2002"]
    # "2026-05-26T14:20:00" has no offset: it is in the feed's configured zone (UTC here) = 21:20 in Vietnam.
    assert datetime.fromisoformat(meta2["source_published"]) == datetime(2026, 5, 26, 21, 20, tzinfo=UTC7)
    assert meta2["source_link"] == f"{server.base}/tin-tuc/van-ban/quyet-dinh-nha-o.html"
    assert name2.startswith("2026-05-26-")


@pytest.mark.parametrize("declared", ["content-type", "xml-prolog"])
def test_windows_1258_feed_decodes_right(server, content, declared):
    text = (FIXTURES / "windows1258.rss").read_text(encoding="utf-8")
    if declared == "content-type":
        text = text.replace('<?xml version="1.0" encoding="windows-1258"?>', '<?xml version="1.0"?>')
        ctype = "application/rss+xml; charset=windows-1258"
    else:
        ctype = "text/xml"  # no charset: only the prolog says windows-1258
    body = to_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # really not UTF-8
    server.feed("/rss", body, ctype=ctype)
    report = run([feed("longson", server.url("/rss"))], content)
    assert report.ok and not report.feeds[0].warnings, report.lines()
    (_, meta, body_md), = by_guid(content).values()
    assert meta["title"] == "Hướng dẫn thủ tục đăng ký kết hôn trực tuyến"
    assert unicodedata.is_normalized("NFC", meta["title"]) and unicodedata.is_normalized("NFC", body_md)
    assert meta["source_title"] == "Cổng thông tin điện tử xã Long Sơn"
    assert meta["summary"] == "Ủy ban nhân dân xã hướng dẫn người dân nộp hồ sơ qua Cổng Dịch vụ công."
    assert datetime.fromisoformat(meta["source_published"]) == datetime(2026, 5, 27, 16, 45, tzinfo=UTC7)


def test_hostile_html_leaves_nothing_executable(server, content):
    server.fixture("/rss", "hostile.rss")
    report = run([feed("hostile", server.url("/rss"))], content)
    assert report.ok, report.lines()
    (path,) = (content / "drafts").glob("*.md")
    meta, body = read_draft(path)
    assert meta["title"] == "Tin có mã độc"
    assert meta["source_title"] == "Nguồn thử"
    assert "source_link" not in meta  # the item's link was javascript:
    # Plain-text fields hold no markup (templates escape them); no URL field is anything but http(s).
    assert all("<" not in str(v) for v in meta.values())
    assert meta["source_image"] == server.url("/ok.jpg")  # resolved against the feed URL

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attrs = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.attrs.extend(attrs)

    for html_out in (markdown.markdown(body), markdown.markdown(body, extensions=["extra"])):
        c = Collect()
        c.feed(html_out)
        assert c.tags <= {"p", "a", "img", "strong", "em", "br", "h2", "ul", "li"}, c.tags
        for name, value in c.attrs:
            assert name in ("href", "src", "alt"), (name, value)
            if name in ("href", "src"):
                assert value.startswith(("http://", "https://")), value
        assert "<script" not in html_out.lower() and "<svg" not in html_out.lower()
    assert "Đoạn **đầu**." in body
    assert f"![ảnh]({server.url('/ok.jpg')})" in body
    assert f"[liên kết thật]({server.url('/tin/that.htm')})" in body
    # Decoded text that looks like a tag is not kept in plain-text fields either.
    assert meta["summary"].startswith("Đoạn đầu. bấm vào đây hoa tab data vb Văn bản chỉ là chữ;")
    # Escaped markup and Markdown-looking links in the text stay text.
    assert 'Văn bản &lt;script&gt;alert("escaped")&lt;/script&gt; chỉ là chữ; \\[liên kết\\](javascript:alert(6))' in body
    assert "evil.example" not in body and "svg text" not in body and "alert('in svg')" not in body


def test_hostile_draft_is_inert_markdown_under_the_renderers_extensions(server, content):
    """The draft rendered with Loa's own Markdown (tables, fenced code, attribute lists, raw HTML),
    before any HTML sanitising: no tag or attribute comes from the feed's text."""
    from pipeline.render import new_markdown

    server.fixture("/rss", "hostile.rss")
    run([feed("hostile", server.url("/rss"))], content)
    (path,) = (content / "drafts").glob("*.md")
    _meta, body = read_draft(path)
    html_out = new_markdown().convert(body)

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attrs = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.attrs.extend(attrs)

    c = Collect()
    c.feed(html_out)
    assert c.tags <= {"p", "a", "img", "strong", "br", "h2", "ul", "li"}, c.tags  # no table, pre, code, em, h1
    assert sorted({name for name, _v in c.attrs}) == ["alt", "href", "src"], c.attrs
    for name, value in c.attrs:
        if name in ("href", "src"):
            assert value.startswith(server.url("/")), value
    # The text of the attribute lists and the fences is shown, not applied.
    assert '<p>Thuộc tính {: href="javascript:alert(8)" onmouseover="alert(9)" }</p>' in html_out
    assert '<h2>Tiêu đề {: #x onclick="alert(10)" }</h2>' in html_out
    assert '<li>mục {: .a onfocus="alert(11)" }</li>' in html_out
    assert "&#126;&#126;&#126;<br>" in html_out and "A &#124; B<br>" in html_out


def test_sanitizer_units():
    base = "https://moc.gov.vn/tin/a/b.html"
    assert absolute_url("http:moc.gov.vn/x.html", base) == "http://moc.gov.vn/x.html"
    assert absolute_url("c.html", base) == "https://moc.gov.vn/tin/a/c.html"
    assert absolute_url("//cdn.moc.gov.vn/i.jpg", base, image=True) == "https://cdn.moc.gov.vn/i.jpg"
    assert absolute_url("mailto:bbt@moc.gov.vn", base) == "mailto:bbt@moc.gov.vn"
    assert absolute_url("mailto:bbt@moc.gov.vn", base, image=True) is None
    for bad in ("javascript:alert(1)", " JAVASCRIPT:x", "java\tscript:x", "data:text/html,x", "vbscript:x",
                "https://user:pw@evil.example/"):
        assert absolute_url(bad, base) is None, bad
    md = html_to_markdown("<h1>Tiêu đề</h1><p>- không phải danh sách<br>1. cũng không</p><p># cũng không</p>", base)
    assert md == "## Tiêu đề\n\n\\- không phải danh sách  \n1\\. cũng không\n\n\\# cũng không"
    assert html_to_markdown("&lt;b&gt;đậm&lt;/b&gt; và *sao*", base) == "**đậm** và \\*sao\\*"


_PIECES = ['<script>alert(1)</script>', '<img src=x onerror="alert(1)">', '<a href="javascript:alert(1)">',
           '<a href="/ok">', '</a>', '<svg onload=alert(1)><script>x()</script></svg>', '<iframe src="//e">',
           '<style>*{}</style>', '<p style="x" onclick="y()">', '</p>', '<b>', '</b>', '&lt;script&gt;', '[x](javascript:y)',
           '<img src="data:image/png;base64,AA">', '<a href=" jav&#x09;ascript:z">', '<math><mi>m</mi></math>',
           '<object data=x>', '<!-- <script> -->', '<', '>', '"', "'", '&amp;', '&#x3C;script&#x3E;', 'Hòa ', '\n',
           '<![CDATA[<script>]]>', '<base href="javascript:x">', '<form><button formaction="javascript:x">',
           '<a href="http:moc.gov.vn/x">', '![i](javascript:z)', '<scr<script>ipt>', '`', '*', '_', '#', '- ',
           '{: onclick="x()" }', '{', '}', '|', ' | ', '---', '===', ':---', '~~~', '```', '<br>', '<tr><td>',
           '</td><td>', '<table>', '<h2>', '<li>', '    ', '[a]: javascript:x', '{: #i .c }']


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=8), max_size=25))
def test_no_html_soup_yields_anything_executable(parts):
    md = html_to_markdown("".join(parts), "https://moc.gov.vn/tin/a.html")
    from pipeline.render import new_markdown

    for html_out in (markdown.markdown(md), markdown.markdown(md, extensions=["extra"]), new_markdown().convert(md)):
        tags, attrs = set(), []

        class Collect(HTMLParser):
            def handle_starttag(self, tag, a):
                tags.add(tag)
                attrs.extend(a)

        Collect().feed(html_out)
        assert tags <= {"p", "a", "img", "strong", "em", "br", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "hr", "code", "pre"}, (md, html_out)
        for name, value in attrs:
            assert name in ("href", "src", "alt", "title"), (name, md)
            if name in ("href", "src"):
                assert (value or "").startswith(("http://", "https://", "mailto:", "tel:")), (value, md)


# -- runs, duplicates, filters ------------------------------------------------------------------

def test_second_run_sends_validators_gets_304_and_writes_nothing(server, content):
    server.fixture("/a.rss", "baochinhphu.rss")
    server.fixture("/b.atom", "moc.atom", ctype="application/atom+xml")
    feeds = [feed("bcp", server.url("/a.rss")), feed("moc", server.url("/b.atom"))]
    state = MemoryState()
    first = run(feeds, content, state)
    assert len(first.created) == 7
    before = sorted(p.name for p in (content / "drafts").iterdir())

    second = run(feeds, content, state)
    assert second.lines() == ["bcp: not modified", "moc: not modified"]
    assert second.created == ()
    assert sorted(p.name for p in (content / "drafts").iterdir()) == before
    for path in ("/a.rss", "/b.atom"):
        first_req, second_req = server.requests_to(path)
        assert "if-none-match" not in first_req["headers"]
        assert second_req["headers"]["if-none-match"].startswith('"')
        assert second_req["headers"]["if-modified-since"] == LAST_MODIFIED
        assert second_req["status"] == 304
    assert json.loads(state.get("ingest:status:bcp"))["status"] == "not modified"


def test_server_without_validators_same_bytes_are_not_parsed_again(server, content):
    server.fixture("/rss", "baochinhphu.rss", validators=False)
    state = MemoryState()
    assert len(run([feed("bcp", server.url("/rss"))], content, state).created) == 5
    again = run([feed("bcp", server.url("/rss"))], content, state)
    assert again.lines() == ["bcp: not modified (same content as last run)"]
    assert "if-none-match" not in server.requests_to("/rss")[1]["headers"]


def test_changed_filters_read_an_unchanged_feed_again(server, content):
    server.fixture("/rss", "keywords.rss")
    state = MemoryState()
    run([feed("tp", server.url("/rss"), include=["cắt điện"])], content, state)
    second = run([feed("tp", server.url("/rss"), include=["hoà giải"])], content, state)
    assert "if-none-match" not in server.requests_to("/rss")[1]["headers"]
    assert len(second.created) == 3


def test_duplicates_dropped_across_feeds_and_against_content(server, content):
    server.fixture("/bcp.rss", "baochinhphu.rss")
    server.fixture("/thoi-su.rss", "thoisu.rss")
    report = run([feed("bcp", server.url("/bcp.rss")), feed("thoisu", server.url("/thoi-su.rss"))], content)
    bcp, ts = report.feeds
    assert len(bcp.created) == 5
    assert dict(ts.duplicates) == {
        "Văn phòng Chính phủ họp báo về cải cách hành chính quý II": "same GUID",
        "Thủ tướng chỉ đạo đẩy mạnh chuyển đổi số trong giải quyết thủ tục hành chính": "same link",
        "CÔNG BỐ CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM 2025!": "same title",
    }
    # Same title but 15 days apart is another item; the -2 suffix keeps both files.
    assert sorted(p.name for p in ts.created) == [
        "2026-05-10-thong-tu-moi-ve-buu-chinh-cong-ich-trong-giai-quyet-thu-tuc.md",
        "2026-05-28-uy-ban-nhan-dan-thanh-pho-trien-khai-de-an-06.md"]
    lines = report.lines(verbose=True, relative_to=content.parent)
    assert "  = CÔNG BỐ CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM 2025! (same title)" in lines
    assert "  + content/drafts/2026-05-28-uy-ban-nhan-dan-thanh-pho-trien-khai-de-an-06.md" in lines


def test_existing_posts_and_deleted_drafts_are_not_pulled_again(server, content):
    # Posts already in the repository: ingested earlier and moved out of drafts, or written by staff.
    posts = content / "posts"
    posts.mkdir()
    (posts / "hop-bao.md").write_text(
        "---\nid: 20260528-aaaaaa\ntitle: Họp báo (đã biên tập lại)\ntype: news\nunit: vp-ubnd\nauthor: BBT\n"
        f"status: ready\nsource_link: {server.url('/tin-tuc/bai-cu.htm')}\nsource_guid: bcp-1005\n"
        "publish_at: 2026-05-28 18:00\n---\n\nNội dung.\n", encoding="utf-8")
    title_nfd = unicodedata.normalize("NFD", "THỦ TƯỚNG CHỈ ĐẠO ĐẨY MẠNH CHUYỂN ĐỔI SỐ TRONG GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH")
    (posts / "thu-tuong.md").write_text(
        f"---\nid: 20260527-bbbbbb\ntitle: '{title_nfd}'\n"
        "type: news\nunit: vp-ubnd\nauthor: BBT\nstatus: ready\npublish_at: 2026-05-27 10:00\n---\n\nx\n",
        encoding="utf-8")
    (posts / "par.md").write_text(
        "---\nid: 20260525-cccccc\ntitle: Bài khác\ntype: news\nunit: vp-ubnd\nauthor: BBT\nstatus: draft\n"
        f"source_link: {server.url('/tin-tuc/chi-so-cai-cach-hanh-chinh-1004.htm')}\n---\n\nx\n", encoding="utf-8")
    server.fixture("/rss", "baochinhphu.rss")
    state = MemoryState()
    report = run([feed("bcp", server.url("/rss"))], content, state)
    assert dict(report.feeds[0].duplicates) == {
        "Thủ tướng chỉ đạo đẩy mạnh chuyển đổi số trong giải quyết thủ tục hành chính": "same title",
        "Công bố Chỉ số cải cách hành chính năm 2025": "same link",
        "Thông tư mới về bưu chính công ích trong giải quyết thủ tục hành chính": "same GUID"}
    assert len(report.created) == 2

    # Staff delete a draft; the feed changes (new ETag); the deleted item does not come back.
    deleted = report.created[0]
    deleted.unlink()
    body = (FIXTURES / "baochinhphu.rss").read_bytes().replace(b"</channel>", (
        "<item><title>Tin mới sau khi sửa feed</title><link>/tin-tuc/moi-1006.htm</link>"
        "<guid isPermaLink=\"false\">bcp-1006</guid><pubDate>29/05/2026 07:30</pubDate></item></channel>").encode())
    server.feed("/rss", body, last_modified="Fri, 29 May 2026 00:31:00 GMT")
    again = run([feed("bcp", server.url("/rss"))], content, state)
    assert [p.name for p in again.created] == ["2026-05-29-tin-moi-sau-khi-sua-feed.md"]
    assert not deleted.exists()


def test_keyword_filter_folds_case_diacritics_and_tone_style(server, content):
    server.fixture("/rss", "keywords.rss")
    report = run([feed("tuphap", server.url("/rss"), include=["hòa giải"], exclude=["TUYỂN DỤNG"])], content)
    rep = report.feeds[0]
    assert sorted(meta["title"] for meta, _ in drafts(content).values()) == [
        "Hội nghị tập huấn công tác hoà giải ở cơ sở",   # hoà (new style) matches hòa
        "Tuyên truyền pháp luật",                         # HÒA GIẢI in the summary
    ]
    assert dict(rep.filtered) == {
        "Thông báo tuyển dụng hòa giải viên": "exclude keyword 'TUYỂN DỤNG'",
        "Lịch cắt điện tuần tới": "no include keyword",
        "Phường Hoàng Văn Thụ giải quyết hồ sơ": "no include keyword",  # whole words: hoàng is not hoà
    }


def test_max_items_takes_the_newest(server, content):
    server.fixture("/rss", "baochinhphu.rss")
    report = run([feed("bcp", server.url("/rss"), max_items=2)], content)
    assert sorted(p.name[:10] for p in report.created) == ["2026-05-28", "2026-05-28"]
    assert {m["source_guid"] for m, _ in drafts(content).values()} == {"bcp-1001", "bcp-1002"}


def test_dry_run_writes_nothing(server, content):
    server.fixture("/rss", "baochinhphu.rss")
    state = MemoryState()
    report = run([feed("bcp", server.url("/rss"))], content, state, dry_run=True)
    assert report.lines()[0] == "bcp: ok, would create 5 drafts, 0 duplicates, 0 filtered"
    assert str(report.created[0]).startswith(str(content / "drafts"))
    assert not (content / "drafts").exists()
    assert state._d == {}
    # A real run afterwards is not fooled into "not modified".
    assert len(run([feed("bcp", server.url("/rss"))], content, state).created) == 5


# -- failures ---------------------------------------------------------------------------------------

def test_each_feed_fails_on_its_own_with_one_clear_line(server, content, silent_url):
    server.fixture("/good.rss", "baochinhphu.rss")
    server.fixture("/malformed.rss", "malformed.rss")
    server.feed("/html", b"<html><body><h1>Trang kh\xc3\xb4ng t\xe1\xbb\x93n t\xe1\xba\xa1i</h1></body></html>",
                ctype="text/html; charset=utf-8")
    server.feed("/garbled.rss", to_cp1258((FIXTURES / "windows1258.rss").read_text(encoding="utf-8")).replace(
        b"windows-1258", b"utf-8"), ctype="application/rss+xml")
    server.redirect_loop("/loop")
    server.huge("/huge")
    server.huge("/huge-chunked", declare_length=False)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    feeds = [feed("missing", server.url("/404.rss")), feed("silent", silent_url),
             feed("loop", server.url("/loop")), feed("huge", server.url("/huge")),
             feed("huge2", server.url("/huge-chunked")), feed("html", server.url("/html")),
             feed("garbled", server.url("/garbled.rss")), feed("refused", f"http://127.0.0.1:{refused_port}/rss"),
             feed("malformed", server.url("/malformed.rss")), feed("good", server.url("/good.rss")),
             feed("badzone", server.url("/good.rss"), timezone="Asia/Sai_Gon")]
    state = MemoryState()
    report = run(feeds, content, state)
    lines = report.lines()
    by_name = {f.name: f for f in report.feeds}
    assert lines[0] == "missing: error: HTTP 404 Not Found"
    assert lines[1] == "silent: error: no answer within 0.5 s"
    assert lines[2] == f"loop: error: more than 5 redirects (last: {server.url('/loop?n=6')})"
    assert lines[3] == "huge: error: body of 50 MB refused: over the 5 MB limit"
    assert lines[4] == "huge2: error: body refused: more than the 5 MB limit"
    assert lines[5] == "html: error: not a feed: text/html; charset=utf-8 is not an XML media type"
    assert lines[6] == ("garbled: error: declared encoding utf-8 does not match the bytes "
                        "(the feed would read as garbled text)")
    assert lines[7].startswith(f"refused: error: cannot connect to 127.0.0.1:{refused_port}: ")
    assert by_name["malformed"].status == "ok" and len(by_name["malformed"].created) == 2
    assert lines[9] == ("malformed: warning: feed is not well-formed XML (line 4, column 25: invalid token); "
                        "2 entries read anyway")
    assert by_name["good"].status == "ok" and len(by_name["good"].created) == 5
    assert lines[-1] == "badzone: error: unknown timezone 'Asia/Sai_Gon'"
    assert all("\n" not in line for line in lines)
    assert len([f for f in report.feeds if f.status == "error"]) == 9 and not report.ok
    saved = json.loads(state.get("ingest:status:silent"))
    assert (saved["status"], saved["message"], saved["line"]) == (
        "error", "no answer within 0.5 s", "silent: error: no answer within 0.5 s")
    assert json.loads(state.get("ingest:status:good"))["message"] == "5 new drafts, 0 duplicates, 0 filtered"
    titles = {m["title"] for m, _ in drafts(content).values()}
    assert "Họp giao ban CCHC & chuyển đổi số tháng 5" in titles  # &nbsp; and bare & survived the loose parse
    # Failed feeds keep no validators, so they are fetched whole next time.
    assert state.get(f"ingest:http:{server.url('/huge')}") is None


# -- files ------------------------------------------------------------------------------------------

def test_drafts_never_overwrite_and_leave_no_temp_files(server, content):
    folder = content / "drafts"
    folder.mkdir()
    taken = folder / "2026-05-28-van-phong-chinh-phu-hop-bao-ve-cai-cach-hanh-chinh-quy-ii.md"
    taken.write_text("staff draft, not ours\n", encoding="utf-8")
    server.fixture("/rss", "baochinhphu.rss")
    report = run([feed("bcp", server.url("/rss"))], content)
    assert taken.read_text(encoding="utf-8") == "staff draft, not ours\n"
    assert folder / "2026-05-28-van-phong-chinh-phu-hop-bao-ve-cai-cach-hanh-chinh-quy-ii-2.md" in report.created
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".md")) == []
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_write_draft_is_whole_or_nothing(tmp_path):
    folder = tmp_path / "drafts"
    paths = [write_draft(folder, "2026-05-28-tin", f"bản {i}\n") for i in range(3)]
    assert [p.name for p in paths] == ["2026-05-28-tin.md", "2026-05-28-tin-2.md", "2026-05-28-tin-3.md"]
    assert [p.read_text(encoding="utf-8") for p in paths] == ["bản 0\n", "bản 1\n", "bản 2\n"]

    with pytest.raises(TypeError):
        write_draft(folder, "2026-05-28-hong", 12345)  # not text: fails before any final file exists
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
