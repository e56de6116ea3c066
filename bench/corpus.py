"""A realistic Vietnamese corpus for the render benchmark, written three times: for Loa, Pelican and Hugo.

    python bench/corpus.py --posts 30 --out /tmp/corpus     # writes loa/, pelican/, hugo/ under --out

Posts are NFC Vietnamese built from real CCHC vocabulary and sentence templates (traditional tone
style, as config.toml asks), with headings, bullet and numbered lists, tables, bold text, links to
other posts and to dichvucong.gov.vn, bodies of 1-3 KB. Front matter follows Loa's posts: units in
force on the publish date, types and topics from config.toml, a cover image (with alt text) on every
post that goes to Zalo, and most posts approved by a board member with the real approval hash.
The same bodies go to Pelican (metadata header) and Hugo (YAML front matter), so the three tools
render the same text. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import struct
import sys
import tomllib
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.approval import current_hash  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.content import make_slug, read_post  # noqa: E402

# ---- vocabulary: phrases as they appear in city CCHC news (traditional tone marks: hòa, ủy) ----
SUBJECTS = [
    "UBND {unit}", "Bộ phận Một cửa {unit}", "Tổ công nghệ số cộng đồng {unit}", "Đoàn Thanh niên {unit}",
    "Công chức tư pháp - hộ tịch {unit}", "Lãnh đạo {unit}", "Phòng Nội vụ thành phố",
    "Trung tâm Phục vụ hành chính công", "Bưu điện thành phố", "Công an {unit}",
]
VERBS = [
    "đã tổ chức", "tiếp tục triển khai", "vừa hoàn thành", "đẩy mạnh", "rà soát", "hướng dẫn người dân thực hiện",
    "kiểm tra việc thực hiện", "tuyên truyền về", "đánh giá kết quả", "công khai", "phối hợp thực hiện",
]
OBJECTS = [
    "dịch vụ công trực tuyến toàn trình", "việc số hóa hồ sơ, kết quả giải quyết thủ tục hành chính",
    "thanh toán trực tuyến phí, lệ phí", "dịch vụ bưu chính công ích", "Bộ chỉ số cải cách hành chính",
    "tài khoản định danh điện tử mức độ 2", "Đề án 06 của Chính phủ", "kế hoạch cải cách hành chính năm {year}",
    "quy trình nội bộ giải quyết thủ tục hành chính", "Chỉ số hài lòng của người dân, tổ chức (SIPAS)",
    "việc liên thông đăng ký khai sinh, thường trú, cấp thẻ bảo hiểm y tế cho trẻ dưới 6 tuổi",
    "chữ ký số cho cán bộ, công chức", "cơ sở dữ liệu hộ tịch điện tử", "hệ thống quản lý văn bản và điều hành",
]
COMPLEMENTS = [
    "cho người dân và doanh nghiệp", "trên địa bàn", "theo đúng quy định", "trong quý {q}/{year}",
    "nhằm rút ngắn thời gian giải quyết hồ sơ", "với sự tham gia của {n} đoàn viên, thanh niên",
    "tại trụ sở UBND", "theo chỉ đạo của UBND tỉnh Bà Rịa - Vũng Tàu", "một cách thực chất, hiệu quả",
    "để không còn hồ sơ trễ hạn", "thay cho việc đến trực tiếp Bộ phận Một cửa",
]
FACTS = [
    "Trong {month} tháng đầu năm {year}, {unit} đã tiếp nhận {n} hồ sơ, trong đó {pct}% được nộp trực tuyến.",
    "Tỷ lệ hồ sơ giải quyết đúng hạn đạt {pct}%, tăng {d} điểm phần trăm so với cùng kỳ năm trước.",
    "Đến nay, {n} người dân đã được hỗ trợ kích hoạt tài khoản định danh điện tử mức độ 2.",
    "Có {n} hồ sơ được trả kết quả qua dịch vụ bưu chính công ích, tiết kiệm thời gian đi lại cho người dân.",
    "Người dân có thể tra cứu tình trạng hồ sơ bằng mã hồ sơ in trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
    "Mọi khoản phí, lệ phí đều có thể thanh toán qua ngân hàng hoặc ví điện tử ngay trên Cổng Dịch vụ công quốc gia.",
    "Chỉ số hài lòng của người dân đối với sự phục vụ của cơ quan hành chính đạt {pct}%.",
    "Đoàn kiểm tra ghi nhận {unit} niêm yết công khai đầy đủ {n} thủ tục hành chính thuộc thẩm quyền.",
]
QUOTES = [
    "Ông {man}, Chủ tịch UBND {unit}, cho biết: \"Mục tiêu của chúng tôi là để người dân không phải đi lại nhiều lần.\"",
    "Bà {woman}, công chức Bộ phận Một cửa, chia sẻ: \"Hồ sơ nộp trực tuyến được xử lý ngay trong ngày làm việc.\"",
]
HEADINGS = [
    "Kết quả nổi bật", "Những việc cần làm tiếp theo", "Người dân được lợi gì?", "Một số khó khăn, vướng mắc",
    "Giải pháp trong thời gian tới", "Hồ sơ cần chuẩn bị", "Các bước thực hiện", "Lưu ý khi thực hiện",
    "Thời gian và địa điểm", "Kết quả đạt được",
]
STEPS = [
    "Truy cập **dichvucong.gov.vn** và đăng nhập bằng tài khoản VNeID.",
    "Chọn thủ tục cần thực hiện tại mục **Dịch vụ công trực tuyến**.",
    "Điền tờ khai điện tử và đính kèm bản chụp giấy tờ theo yêu cầu.",
    "Chọn hình thức nhận kết quả: trực tiếp hoặc qua dịch vụ bưu chính công ích.",
    "Thanh toán phí, lệ phí (nếu có) qua ngân hàng hoặc ví điện tử.",
    "Theo dõi tình trạng hồ sơ trong mục **Quản lý hồ sơ đã nộp**.",
    "Nhận kết quả và kiểm tra thông tin trên giấy tờ được cấp.",
]
BULLETS = [
    "Căn cước công dân hoặc tài khoản định danh điện tử mức độ 2",
    "Giấy chứng sinh (bản chụp rõ nét)", "Giấy chứng nhận kết hôn của cha mẹ (nếu có)",
    "Số điện thoại đang sử dụng để nhận mã xác thực", "Địa chỉ nhận kết quả qua bưu chính công ích",
    "Tờ khai theo mẫu ban hành kèm theo thông tư của bộ, ngành",
]
TITLES = {
    "news": [
        "{unit} đẩy mạnh {obj}", "{unit} hoàn thành {obj} trong quý {q}/{year}",
        "{unit}: {pct}% hồ sơ được giải quyết đúng hạn trong tháng {m}/{year}",
        "Kiểm tra công tác cải cách hành chính tại {unit} năm {year}",
        "{unit} tổ chức hội nghị triển khai {obj}", "Tháng {m}/{year}: {n} hồ sơ trực tuyến được tiếp nhận tại {unit}",
    ],
    "guide": [
        "Hướng dẫn {obj} tại {unit}", "Hướng dẫn người dân {unit} sử dụng {obj}",
        "Các bước thực hiện {obj} (cập nhật tháng {m}/{year})", "Hỏi đáp về {obj} tại {unit}",
        "Ngày {day}/{m}/{year}: {unit} hướng dẫn {obj}",
    ],
}
MEN = ["Nguyễn Văn Thành", "Lê Minh Tuấn", "Võ Văn Dũng", "Huỳnh Quốc Việt", "Cao Văn Hiếu"]
WOMEN = ["Trần Thị Thu Hà", "Phạm Thị Hồng", "Đặng Thị Mai Anh", "Bùi Thị Ngọc", "Ngô Thị Thanh Tâm"]
PEOPLE = MEN + WOMEN


@dataclass
class Post:
    """One generated post; ``rel`` is its path under content/, the same in the three trees."""

    rel: str
    id: str
    title: str
    type: str
    unit: str
    unit_name: str
    author: str
    publish_at: datetime
    topics: list[str]
    channels: list[str]
    summary: str
    body: str
    slug: str
    image: str | None = None
    image_alt: str | None = None
    approved_by: str | None = None
    approved_hash: str | None = None


@dataclass
class Corpus:
    """Where the three trees are, and the posts in them."""

    root: Path
    posts: list[Post] = field(default_factory=list)

    @property
    def loa(self) -> Path:
        return self.root / "loa"

    @property
    def pelican(self) -> Path:
        return self.root / "pelican"

    @property
    def hugo(self) -> Path:
        return self.root / "hugo"

    @property
    def body_bytes(self) -> int:
        return sum(len(p.body.encode()) for p in self.posts)


def png(rng: random.Random, width: int, height: int) -> bytes:
    """A real PNG (RGB, noisy pixels so it does not compress to nothing): 2-20 KB."""
    rows = b"".join(b"\x00" + bytes(rng.randrange(256) if rng.random() < 0.3 else 200 for _ in range(width * 3))
                    for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


class _Writer:
    def __init__(self, rng: random.Random, cfg_raw: dict):
        self.rng = rng
        self.raw = cfg_raw
        self.types = cfg_raw["content"]["types"]
        self.topics = cfg_raw["content"]["topics"]
        self.board = cfg_raw["editorial"]["board"]
        self.units = cfg_raw["units"]

    def units_on(self, day: date) -> list[dict]:
        return [u for u in self.units if (u.get("valid_from") is None or u["valid_from"] <= day)
                and (u.get("valid_to") is None or day <= u["valid_to"])]

    def fill(self, text: str, unit: dict, day: date) -> str:
        r = self.rng
        return text.format(unit=unit["name"], year=day.year, day=day.day, q=(day.month - 1) // 3 + 1, m=day.month,
                           month=max(day.month - 1, 1), n=f"{r.randrange(120, 9800):,}".replace(",", "."),
                           pct=f"{r.randrange(820, 1000) / 10:.1f}".replace(".", ","), d=r.randrange(2, 15),
                           man=r.choice(MEN), woman=r.choice(WOMEN), obj=r.choice(OBJECTS).format(year=day.year))

    def sentence(self, unit: dict, day: date) -> str:
        r = self.rng
        if r.random() < 0.35:
            return self.fill(r.choice(FACTS), unit, day)
        if r.random() < 0.06:
            return self.fill(r.choice(QUOTES), unit, day)
        s = f"{r.choice(SUBJECTS)} {r.choice(VERBS)} {r.choice(OBJECTS)} {r.choice(COMPLEMENTS)}"
        if r.random() < 0.4:
            s += f", {r.choice(COMPLEMENTS)}"
        s = self.fill(s, unit, day)
        if r.random() < 0.15:
            obj = r.choice(OBJECTS).format(year=day.year)
            s = s.replace(obj, f"**{obj}**", 1) if obj in s else s
        return s[0].upper() + s[1:] + "."

    def paragraph(self, unit: dict, day: date) -> str:
        return " ".join(self.sentence(unit, day) for _ in range(self.rng.randrange(2, 5)))

    def body(self, ptype: str, unit: dict, day: date, link: tuple[str, str] | None) -> str:
        """1-3 KB of Markdown (UTF-8): paragraphs, headings, a list, sometimes a table, links."""
        r = self.rng
        tail = "Mọi thắc mắc xin liên hệ Bộ phận Một cửa trong giờ hành chính hoặc tra cứu tại [Cổng Dịch vụ công quốc gia](https://dichvucong.gov.vn)."
        if link:
            tail += f" Xem thêm: [{link[1]}]({link[0]})."
        room = 3000 - len(tail.encode()) - 8
        target = r.randrange(1000, 3000) - len(tail.encode())
        blocks = [self.paragraph(unit, day)]
        size = len(blocks[0].encode())
        kinds = ["para", "para", "heading", "list", "table", "para", "heading", "para", "list"]
        i = 0
        while size < target:
            kind = kinds[i % len(kinds)] if i < len(kinds) else r.choice(("para", "para", "heading", "list"))
            i += 1
            if kind == "para":
                block = self.paragraph(unit, day)
            elif kind == "heading":
                block = "## " + r.choice(HEADINGS) + "\n\n" + self.paragraph(unit, day)
            elif kind == "list" and ptype == "guide":
                block = "\n".join(f"{n}. {s}" for n, s in enumerate(r.sample(STEPS, r.randrange(3, 6)), 1))
            elif kind == "list":
                block = "\n".join(f"- {s}" for s in r.sample(BULLETS, r.randrange(2, 5)))
            elif kind == "table" and r.random() < 0.5:
                rows = ["| Chỉ tiêu | Kế hoạch | Thực hiện |", "| --- | --- | --- |"]
                for label in r.sample(["Hồ sơ trực tuyến", "Hồ sơ đúng hạn", "Hồ sơ số hóa", "Thanh toán trực tuyến", "Trả kết quả qua bưu chính"], 3):
                    plan = r.randrange(60, 100)
                    rows.append(f"| {label} | {plan}% | {min(100, plan + r.randrange(-5, 12))}% |")
                block = "\n".join(rows)
            else:
                continue
            grown = size + 2 + len(block.encode())
            if grown > room:
                break
            blocks.append(block)
            size = grown
        blocks.append(tail)
        return unicodedata.normalize("NFC", "\n\n".join(blocks)) + "\n"

    def post(self, n: int, day: datetime, done: list[Post], slugs: set[str]) -> Post:
        r = self.rng
        ptype = "news" if r.random() < 0.7 else "guide"
        units = self.units_on(day.date())
        unit = r.choice(units)
        templates = TITLES[ptype]
        numbered = [t for t in templates if "{n}" in t or "{pct}" in t or "{day}" in t]
        for attempt in range(1000):  # titles, hence slugs and file names, must be unique
            title = self.fill(r.choice(templates if attempt < 10 else numbered), unit, day.date())
            title = unicodedata.normalize("NFC", title[0].upper() + title[1:])
            if make_slug(title) not in slugs:
                break
        else:
            raise RuntimeError(f"no unique title for post {n}")
        slug = make_slug(title)
        slugs.add(slug)
        rel = f"{ptype}/{day.year}/{slug}.md"
        link = None
        if done and r.random() < 0.5:
            other = r.choice(done[-200:])
            link = ("../../" + other.rel, other.title)
        body = self.body(ptype, unit, day.date(), link)
        topics = r.sample(list(self.topics), r.randrange(1, 3))
        channels = list(self.types[ptype]["channels"])
        summary = self.sentence(unit, day.date())
        while len(summary) > 200:  # short enough for Mastodon's 500 with title, link and hashtags
            summary = self.sentence(unit, day.date())
        summary = unicodedata.normalize("NFC", summary.replace("**", ""))
        image = image_alt = image_hash = None
        if "zalo" in channels:
            k = r.randrange(24)
            image = f"images/anh-{k:02d}.png"
            image_alt = f"Ảnh minh họa: {r.choice(OBJECTS).format(year=day.year)} tại {unit['name']}"
        author = r.choice(PEOPLE)
        pid = f"{day:%Y%m%d}-{n:06x}"
        return Post(rel, pid, title, ptype, unit["id"], unit["name"], author, day, topics, channels, summary, body,
                    slug, image, image_alt)


def _loa_text(p: Post) -> str:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["---", f"id: {q(p.id)}", f"title: {q(p.title)}", f"type: {p.type}", f"unit: {p.unit}",
             f"author: {q(p.author)}", f"publish_at: \"{p.publish_at:%Y-%m-%d %H:%M}\"",
             f"topics: [{', '.join(p.topics)}]", f"channels: [{', '.join(p.channels)}]", "status: ready",
             f"summary: {q(p.summary)}"]
    if p.image:
        lines += [f"image: {p.image}", f"image_alt: {q(p.image_alt)}"]
    if p.approved_by:
        lines += [f"approved_by: {q(p.approved_by)}", f"approved_hash: {q(p.approved_hash)}"]
    return "\n".join(lines + ["---", "", p.body])


def _pelican_text(p: Post, topics: dict, type_label: str) -> str:
    body = p.body.replace("](../../", "]({filename}../../")  # Pelican's own syntax for links between posts
    head = [f"Title: {p.title}", f"Date: {p.publish_at:%Y-%m-%d %H:%M}", f"Category: {type_label}",
            f"Tags: {', '.join(topics[t] for t in p.topics)}", f"Slug: {p.slug}", f"Authors: {p.author}",
            f"Summary: {p.summary}"]
    return "\n".join(head) + "\n\n" + body


def _hugo_text(p: Post, topics: dict, type_label: str) -> str:
    import json  # JSON strings are valid YAML scalars

    head = ["---", f"title: {json.dumps(p.title, ensure_ascii=False)}", f"date: {p.publish_at:%Y-%m-%dT%H:%M:%S}+07:00",
            f"slug: {p.slug}", f"categories: [{json.dumps(type_label, ensure_ascii=False)}]",
            f"tags: {json.dumps([topics[t] for t in p.topics], ensure_ascii=False)}",
            f"summary: {json.dumps(p.summary, ensure_ascii=False)}", f"author: {json.dumps(p.author, ensure_ascii=False)}",
            "---", ""]
    return "\n".join(head) + p.body


PELICAN_SETTINGS = """\
AUTHOR = "UBND thành phố Vũng Tàu"
SITENAME = "Cổng thông tin điện tử thành phố Vũng Tàu"
SITEURL = "https://vungtau.example.gov.vn"
TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_LANG = "vi"
PATH = "content"
STATIC_PATHS = ["news", "guide"]
PLUGINS = []
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
DEFAULT_PAGINATION = False
MARKDOWN = {"extension_configs": {"markdown.extensions.tables": {}, "markdown.extensions.fenced_code": {},
                                  "markdown.extensions.attr_list": {}}, "output_format": "html5"}
"""

HUGO_CONFIG = """\
baseURL = "https://vungtau.example.gov.vn/"
languageCode = "vi"
title = "Cổng thông tin điện tử thành phố Vũng Tàu"
timeZone = "Asia/Ho_Chi_Minh"
"""

HUGO_LAYOUTS = {
    "_default/single.html": "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{{ .Title }}</title></head>"
                            "<body><h1>{{ .Title }}</h1><p>{{ .Date.Format \"02/01/2006 15:04\" }} · {{ .Params.author }}</p>"
                            "<p><strong>{{ .Summary }}</strong></p>{{ .Content }}</body></html>\n",
    "_default/list.html": "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{{ .Title }}</title></head>"
                          "<body><h1>{{ .Title }}</h1><ul>{{ range .Pages }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul></body></html>\n",
    "index.html": "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{{ .Site.Title }}</title></head>"
                  "<body><ul>{{ range .Site.RegularPages }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul></body></html>\n",
}


def generate(root: Path, posts: int, *, seed: int = 20240325, tools: tuple[str, ...] = ("loa", "pelican", "hugo"),
             config: Path = REPO / "config.toml") -> Corpus:
    """Write ``posts`` posts under ``root`` (emptied first) for each of ``tools``; return the corpus."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(seed)
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    w = _Writer(rng, raw)
    corpus = Corpus(root)
    slugs: set[str] = set()
    start = datetime(2024, 1, 2, 7, 0)
    span = (datetime(2025, 6, 28) - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(posts))
    for n, t in enumerate(times):
        t = t.replace(hour=7 + t.hour % 10, minute=t.minute // 15 * 15, second=0, microsecond=0)  # office hours
        corpus.posts.append(w.post(n, t, corpus.posts, slugs))
    images = {name: png(rng, rng.randrange(24, 72), rng.randrange(24, 64)) for name in (f"anh-{k:02d}.png" for k in range(24))}
    topics, types = raw["content"]["topics"], raw["content"]["types"]
    folders = {str(Path(p.rel).parent) for p in corpus.posts}
    if "loa" in tools:
        shutil.copyfile(config, _mk(corpus.loa / "config.toml"))
        for folder in folders:
            for name, data in images.items():
                _mk(corpus.loa / "content" / folder / "images" / name).write_bytes(data)
        approving = []
        for p in corpus.posts:
            if rng.random() < 0.75:  # most posts approved, a quarter awaiting the board
                approving.append(p)
            _mk(corpus.loa / "content" / p.rel).write_text(_loa_text(p), encoding="utf-8")
        # the real approval hash of each post as Loa reads it (every part the board approves)
        cfg = load_config(corpus.loa / "config.toml")
        for p in approving:
            path = corpus.loa / "content" / p.rel
            post, _problems = read_post(path, cfg)
            p.approved_by = rng.choice([b for b in w.board if b != p.author])
            p.approved_hash = current_hash(post)
            path.write_text(_loa_text(p), encoding="utf-8")
    if "pelican" in tools:
        (_mk(corpus.pelican / "pelicanconf.py")).write_text(PELICAN_SETTINGS, encoding="utf-8")
        for folder in folders:
            for name, data in images.items():
                _mk(corpus.pelican / "content" / folder / "images" / name).write_bytes(data)
        for p in corpus.posts:
            text = _pelican_text(p, topics, types[p.type]["label"])
            _mk(corpus.pelican / "content" / p.rel).write_text(text, encoding="utf-8")
    if "hugo" in tools:
        _mk(corpus.hugo / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
        for rel, text in HUGO_LAYOUTS.items():
            _mk(corpus.hugo / "layouts" / rel).write_text(text, encoding="utf-8")
        for folder in folders:
            for name, data in images.items():
                _mk(corpus.hugo / "static" / folder / "images" / name).write_bytes(data)
        for p in corpus.posts:
            text = _hugo_text(p, topics, types[p.type]["label"])
            _mk(corpus.hugo / "content" / p.rel).write_text(text, encoding="utf-8")
    return corpus


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=30)
    ap.add_argument("--out", required=True, help="folder to (re)create; loa/, pelican/ and hugo/ go inside")
    ap.add_argument("--seed", type=int, default=20240325)
    args = ap.parse_args(argv)
    c = generate(Path(args.out), args.posts, seed=args.seed)
    print(f"{len(c.posts)} posts, {c.body_bytes / 1024:.0f} KB of Markdown bodies, in {c.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
