from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from slugify import slugify

from pipeline.config import load_config
from pipeline import content
from pipeline.content import make_slug, parse_time, read_all, read_post
from pipeline.frontmatter import read_front_matter
from tests.repo import PNG_1PX, make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def load(tmp_path, posts, **kw):
    make_repo(tmp_path, posts, **kw)
    return load_config(tmp_path / "config.toml", env={})


def codes(problems):
    return [p.code for p in problems]


def test_slug_from_vietnamese_title_keeps_word_order():
    assert make_slug("Hướng dẫn đăng ký khai sinh") == "huong-dan-dang-ky-khai-sinh"
    long = make_slug("Hướng dẫn nộp hồ sơ dịch vụ công trực tuyến – Đăng ký khai sinh cho trẻ em dưới sáu tuổi tại phường")
    assert len(long) <= 80 and long.startswith("huong-dan-nop-ho-so-dich-vu-cong-truc-tuyen-dang-ky-khai-sinh")
    assert "--" not in long and not long.endswith("-")


VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
TITLE_CHARS = VIETNAMESE + VIETNAMESE.upper() + "0123456789 ,.:;!?()'\"-–—/&#%+…\u0300\u0301\u0303\u0309\u0323"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=TITLE_CHARS, max_size=120) | st.text(max_size=40))
@example("Hướng dẫn đăng ký khai sinh")
@example("ĐẢNG BỘ PHƯỜNG 1 – HỘI NGHỊ &amp; TỔNG KẾT")
@example("Thủ tục \u0111\u0103ng ky\u0301")  # decomposed marks
@example("L\uff07\u00e1 c\u00e2y")  # a fullwidth apostrophe: python-slugify's NFKD makes "'", which it drops
def test_slug_is_python_slugify_s_own(title):
    """make_slug transliterates Vietnamese before python-slugify does; the slug must not change."""
    assert make_slug(title) == slugify(title, max_length=80, word_boundary=True, save_order=True)


WORDS = ("Hướng dẫn đăng ký khai sinh trực tuyến Phường Xã UBND Cổng dịch vụ công quốc gia hồ sơ "
         "thủ tục hành chính Đảng bộ năm 2024 CCHC bưu chính công ích tiếp nhận trả kết quả Quý I "
         "Nghị định 09/2019/NĐ-CP Hội thi tìm hiểu cải cách người dân doanh nghiệp ĐIỆN TỬ").split()
ODD = ["–", "—", "&", "&amp;", "'", "\u2019", "\uff07", "\"", "(", ")", ":", "1,5", "…", "#", "%", "/", "ﬁ", "²"]


def test_slug_over_many_random_titles_is_python_slugify_s():
    """The differential test of make_slug's fast path, over a few thousand titles like the real ones
    (NFC and NFD, upper case, punctuation, long ones cut at a word) and plain ASCII ones."""
    import random
    import unicodedata

    rng = random.Random(20241219)
    for n in range(3000):
        words = [rng.choice(WORDS) if rng.random() > 0.15 else rng.choice(ODD) for _ in range(rng.randrange(1, 25))]
        title = " ".join(words)
        title = unicodedata.normalize(rng.choice(["NFC", "NFD"]), title)
        if n % 5 == 0:
            title = title.upper()
        if n % 7 == 0:
            title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
        assert make_slug(title) == slugify(title, max_length=80, word_boundary=True, save_order=True), title


FRONT_VALUES = [
    "ready", "news", "Phường 1 tổ chức hội thi", "20241219-000536", "2024-12-19 14:15", "14:15", "1:30", "yes", "No",
    "on", "off", "null", "~", "true", "123", "0x1F", "1_000", "1e3", ".5", "-5", "+1", "0o17", "a: b", "a:b", "a #b",
    "a#b", "http://x.vn/a?b=c", "Hội thi \"CCHC\" năm 2024", "it's", "[cchc, dvc-truc-tuyen]", "[1, 2]", "[yes, cchc]",
    "[]", "[ ]", "[a,]", '["Phường 1", b]', '"quoted: with # inside"', "'single'", "'it''s'", '"esc \\" x"', '"a\\nb"',
    "{a: 1}", "&anchor x", "*ref", "!tag x", "- item", "|", ">", "x  y", "x :", "ending:", "đ", "_x", "Y", "y",
    '"unterminated', "[open", "tab\there", "ok ", "\u00a0nbsp", "%x", "@x", "`x", "=", "<<",
]
FRONT_SIMPLE = [  # what the fast reader takes, and near misses
    "ready", "Phường 1 tổ chức hội thi", "a:b", "a#b", "x  y", "a {b}", "a [b]", "a, b", "a - b", "x-", "x|y", "x > y",
    "e\\x", "100%", '"a\\\\"', '"a\\\\\\"b"', '"\\\\\\\\"', '"x\\\\y"', '"\\q"', "a*b", "a&b", "a!b", "Ảnh", "1.5.2", "2024-12-19", "12:30:45", "0b101", "True", "nULL", "'q'",
]
FRONT_KEYS = ["id", "title", "topics", "yes", "on", "Title", "_k", "k2", "null", "y"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FRONT_KEYS[:3]) | st.sampled_from(FRONT_KEYS),
                          st.sampled_from(FRONT_SIMPLE) | st.sampled_from(FRONT_VALUES),
                          st.sampled_from([" ", "", "  "]), st.sampled_from(["", " ", "\n", "\n  more", " # c", "\n- a\n- b", "\n  - a\n  - 'b'", "\n- a\n  - b",
                                           "\n- yes", "\n-  x ", "\n-", "\n - a\n- b", "\n- [a]", "\n  -\ta"])),
                min_size=1, max_size=6))
def test_front_matter_plain_path_reads_as_pyyaml_does(parts):
    """The differential test of read_front_matter's plain-line path: the same values, key lines and
    errors as PyYAML alone."""
    front = "\n".join(f"{k}:{sep}{v}{tail}" for k, v, sep, tail in parts)
    assert read_front_matter(front) == read_front_matter(front, plain=False)


LINE_CHARS = 'ab1ưĐ_ :"\'\\#[]{},-.|>&*!%@`~\t?=<'


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FRONT_KEYS) | st.text(alphabet="aZ_1 :-", min_size=1, max_size=4),
                          st.sampled_from([": ", ":  ", ":", ": \t", " : "]),
                          st.text(alphabet=LINE_CHARS, max_size=14)
                          | st.text(alphabet=LINE_CHARS, max_size=12).map(lambda t: f'"{t}"')
                          | st.text(alphabet=LINE_CHARS, max_size=12).map(lambda t: f"[{t}]"),
                          st.sampled_from(["", " ", "  "])),
                min_size=1, max_size=5))
def test_front_matter_plain_lines_with_hostile_values_read_as_pyyaml_does(parts):
    """The differential test of the plain path's string-method shortcut (quoted, word and flow
    values) against PyYAML alone, over values made of the characters that decide the shape."""
    front = "\n".join(f"{k}{sep}{v}{tail}" for k, sep, v, tail in parts)
    assert read_front_matter(front) == read_front_matter(front, plain=False)


def test_front_matter_plain_path_leaves_to_pyyaml_what_yaml_does_not_print():
    """The plain path's refusal class, code point by code point: YAML's non-printable characters
    (PyYAML's own class) and the tab and line breaks other than \\n."""
    import re
    import sys

    import yaml.reader

    from pipeline import frontmatter

    non_printable = re.compile(yaml.reader.Reader.NON_PRINTABLE.pattern)
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        expected = bool(non_printable.match(c)) or c in "\t\r\x85\u2028\u2029"
        assert bool(frontmatter._NOT_SIMPLE.match(c)) == expected, hex(cp)


def test_front_matter_plain_path_takes_the_common_post():
    from pipeline import frontmatter

    front = post(image="img/a.png", image_alt="Ảnh: hội thi", summary="Tóm tắt.").split("---")[1].strip("\n")
    assert frontmatter._read_plain(front) is not None
    assert read_front_matter(front) == read_front_matter(front, plain=False)


def _split_by_lines(text):  # the plain definition split_front_matter must agree with
    if not text.startswith("---"):
        return None
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return ("\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 2)
    return None


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["---", "--- ", "...", "a: b", "", " ", "\t---", "----", "x", "---\r", "\u00a0---"]),
                max_size=8).map("\n".join) | st.text(alphabet="-.\n ax\r", max_size=30))
def test_split_front_matter_is_the_line_by_line_definition(text):
    from pipeline.frontmatter import split_front_matter

    raw = split_front_matter(text)
    assert (None if raw is None else (raw.front, raw.body, raw.body_line)) == _split_by_lines(text)


def test_naive_time_is_site_zone_and_offset_is_honoured():
    assert parse_time("2024-03-25 08:00", VN) == datetime(2024, 3, 25, 8, 0, tzinfo=VN)
    assert parse_time("2024-03-25T08:00:00+00:00", VN) == datetime(2024, 3, 25, 8, 0, tzinfo=timezone.utc)
    assert parse_time("25/3/2024 08:30", VN) == datetime(2024, 3, 25, 8, 30, tzinfo=VN)
    assert parse_time("2024-03-25", VN) == datetime(2024, 3, 25, 0, 0, tzinfo=VN)
    assert parse_time("2024-03-25T01:00:00Z", VN).utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        parse_time("ngày mai", VN)


def test_reads_a_post_with_line_numbers_and_defaults(tmp_path):
    cfg = load(tmp_path, {"news/2024/a.md": post(body="Đoạn mở đầu của **bài**.\n\nĐoạn hai.\n")})
    p, problems = read_post(tmp_path / "content/news/2024/a.md", cfg)
    assert problems == []
    assert p.id == "20240325-aaaaaa" and p.slug == "phuong-1-to-chuc-hoi-thi-tim-hieu-cai-cach-hanh-chinh"
    assert p.summary == "Đoạn mở đầu của bài."  # default summary: first paragraph, plain text
    assert p.channels == ("portal", "facebook", "zalo", "telegram", "mastodon")  # from the type
    assert p.publish_at == datetime(2024, 3, 25, 8, 0, tzinfo=VN)
    assert p.line_of("unit") == 5 and p.body_line == 12


def test_yaml_error_names_its_line(tmp_path):
    cfg = load(tmp_path, {"news/a.md": "---\nid: x\ntitle: \"unclosed\nunit: phuong-1\n---\nbody\n"})
    p, problems = read_post(tmp_path / "content/news/a.md", cfg)
    assert p is None
    assert problems[0].code == "front.yaml" and problems[0].line >= 3
    assert problems[0].format("vi").startswith("content/news/a.md:")


def test_missing_and_unknown_fields(tmp_path):
    cfg = load(tmp_path, {"news/a.md": post(author=None, titel="x")})
    p, problems = read_post(tmp_path / "content/news/a.md", cfg)
    assert "front.missing-key" in codes(problems)
    unknown = [x for x in problems if x.code == "front.unknown-key"][0]
    assert unknown.message("en") == "unknown key `titel`; did you mean `title`?"


def test_bad_dates_and_status(tmp_path):
    cfg = load(tmp_path, {"news/a.md": post(publish_at="mai nhé", status="published")})
    _, problems = read_post(tmp_path / "content/news/a.md", cfg)
    assert {"front.bad-time", "front.bad-status"} <= set(codes(problems))
    bt = [x for x in problems if x.code == "front.bad-time"][0]
    assert bt.line == 7 and "2024-03-25 08:00" in bt.message("vi")


def test_not_utf8_names_the_encoding(tmp_path):
    tcvn3 = b"c\xb6i c\xb8ch h\xb5nh ch\xddnh cho ng\xad\xeai d\xe2n\n"  # "cải cách hành chính cho người dân" in TCVN3
    whole = "\n".join(post().split("\n")[:-3]).encode("ascii", "replace") + b"\n" + tcvn3 * 3
    cfg = load(tmp_path, {"news/mixed.md": post().encode("utf-8") + tcvn3, "news/whole.md": whole})
    p, problems = read_post(tmp_path / "content/news/mixed.md", cfg)
    assert p is None and [x.code for x in problems] == ["file.mixed-utf8"]
    line = post().count("\n") + 1
    assert problems[0].line == line
    assert f"ở dòng {line} (có vẻ là một đoạn TCVN3 được dán vào)" in problems[0].message("vi")
    assert "(it looks like a TCVN3 passage pasted in)" in problems[0].message("en")
    p, problems = read_post(tmp_path / "content/news/whole.md", cfg)  # the whole file in TCVN3: convert it
    assert p is None and [x.code for x in problems] == ["file.not-utf8"] and "tcvn3" in problems[0].message("vi")


def test_binary_big_and_symlink_files_are_refused(tmp_path):
    cfg = load(tmp_path, {"news/bin.md": b"\x00\x01\x02", "news/big.md": "---\n" + "x" * (2 * 1024 * 1024 + 10)})
    outside = tmp_path / "secret.md"
    outside.write_text(post())
    (tmp_path / "content/news/link.md").symlink_to(outside)
    posts, problems = read_all(cfg)
    got = {(x.path.split("/")[-1], x.code) for x in problems}
    assert ("bin.md", "file.binary") in got
    assert ("big.md", "file.too-big") in got
    assert ("link.md", "file.symlink-outside") in got
    assert posts == []


def test_image_checks(tmp_path):
    cfg = load(tmp_path, {
        "news/img/ok.png": PNG_1PX,
        "news/a.md": post(id="a", title="Bài A", image="img/ok.png", image_alt="Ảnh minh họa"),
        "news/b.md": post(id="b", title="Bài B", image="../../../etc/passwd"),
        "news/c.md": post(id="c", title="Bài C", image="img/none.png"),
        "news/d.md": post(id="d", title="Bài D", image="https://example.com/x.png"),
    })
    posts, problems = read_all(cfg)
    by = {(x.path.split("/")[-1], x.code) for x in problems}
    assert ("b.md", "image.outside") in by and ("c.md", "image.missing") in by and ("d.md", "image.remote") in by
    a = [p for p in posts if p.id == "a"][0]
    assert a.image_path.name == "ok.png" and a.image_hash


def test_approval_hash_changes_with_what_is_approved_only(tmp_path):
    from pipeline.approval import current_hash

    cfg = load(tmp_path, {"news/a.md": post()})
    f = tmp_path / "content/news/a.md"
    p1, _ = read_post(f, cfg)
    f.write_text(f.read_text().replace("status: ready", "status: ready\napproved_by: X"))
    p2, _ = read_post(f, cfg)
    assert current_hash(p1) == current_hash(p2) and p1.source_hash != p2.source_hash
    f.write_text(f.read_text().replace("năm 2024.", "năm 2024!"))
    p3, _ = read_post(f, cfg)
    assert current_hash(p3) != current_hash(p1)


def test_readme_and_activities_are_not_posts(tmp_path):
    cfg = load(tmp_path, {"README.md": "# Hướng dẫn\n", "activities/2024/a.md": "x", "news/a.md": post()})
    posts, problems = read_all(cfg)
    assert [p.id for p in posts] == ["20240325-aaaaaa"] and problems == []


def test_light_read_is_the_full_read_without_image_summary_and_hashes(tmp_path):
    """The differential test of read_post(light=True) (links between posts): the full read's post
    with the image's path and hash, the default summary and the hashes left empty; unusable where
    the full read is. Over the sample content and files the plain paths must pass on."""
    import dataclasses

    cfg = load(tmp_path, {
        "news/crlf.md": post(id="crlf", title="Tiêu đề CRLF").replace("\n", "\r\n"),
        "news/slug.md": post(id="slug", slug="duong-dan-rieng"),
        "news/badtime.md": post(id="badtime", publish_at="mai"),
        "news/noid.md": post(id=None),
        "news/yaml.md": "---\nid: [\n---\n",
        "news/nested.md": post(id="nested", social={"facebook": "Văn bản riêng"}),
        "news/img/ok.png": PNG_1PX,
        "news/image.md": post(id="image", image="img/ok.png", image_alt="Ảnh", summary="Tóm tắt riêng."),
        "news/noimage.md": post(id="noimage", image="img/none.png"),
    }, sample_content=True)
    posts = 0
    for f in sorted((tmp_path / "content").rglob("*.md")):
        full, _ = read_post(f, cfg)
        light, _ = read_post(f, cfg, light=True)
        if full is None:
            assert light is None, f
            continue
        posts += 1
        summary = full.summary if "summary" in full.lines else ""
        assert light == dataclasses.replace(full, summary=summary, image_path=None, image_hash=None,
                                            source_hash=""), f
    assert posts >= 21


def _rglob_definition(content_dir, paths=None):  # what iter_post_files meant before it shared Listing's walk
    out, seen = [], set()
    for root in (list(paths) if paths else [content_dir]):
        root = Path(root)
        cands = [root] if root.is_file() or (root.is_symlink() and not root.is_dir()) else sorted(root.rglob("*.md"))
        for p in cands:
            try:
                inside = p.relative_to(content_dir).parts[:1] == ("activities",)
            except ValueError:
                inside = False
            if p.name not in ("README.md", "readme.md") and not inside and p not in seen:
                seen.add(p)
                out.append(p)
    return out


def test_the_one_lister_lists_what_rglob_would(tmp_path):
    from pipeline.paths import Listing, post_files

    cfg = load(tmp_path, {"README.md": "x", "news/readme.md": "x", "activities/a.md": "x", "activities/2024/b.md": "x",
                          "news/a.md": "x", "news/B.md": "x", "news/2024/c.md": "x", "news/a-b/d.md": "x", "news/a.b.md": "x",
                          "guide/z.md": "x", "guide/notes.txt": "x", "guide/sub.md/e.md": "x", "guide/.hidden.md": "x"})
    c = cfg.content_dir
    (c / "guide/linked").symlink_to(c / "news", target_is_directory=True)  # never entered
    (c / "guide/dangling.md").symlink_to(c / "nowhere.md")
    outside = tmp_path / "elsewhere"
    (outside / "activities").mkdir(parents=True)
    (outside / "activities/f.md").write_text("x")
    for paths in (None, [c / "news"], [c / "news/a.md", c / "news"], [c / "activities"], [c / "activities/a.md"],
                  [c / "guide", c / "guide/dangling.md"], [outside], [c / "news/none.md"], [c / "missing"]):
        want = [str(p) for p in _rglob_definition(c, paths)]
        assert post_files(c, paths) == want, paths
        assert [str(p) for p in content.iter_post_files(c, paths)] == want, paths
    listing = Listing()
    assert listing.scan(str(c)) == listing.scan(str(c)) == [str(p) for p in _rglob_definition(c)]


def test_signatures_change_with_the_file_and_mark_missing_ones(tmp_path):
    from pipeline.paths import signatures

    f = tmp_path / "a.md"
    f.write_text("một")
    first = signatures([str(f), str(tmp_path / "none.md"), "a\x00b"])
    assert first[1:] == [-1, -1]
    f.write_text("một hai")
    assert signatures([str(f)])[0] != first[0]


def test_post_cache_revision_changes_exactly_when_a_file_or_the_listing_does(tmp_path):
    cfg = load(tmp_path, {"news/a.md": post(id="a"), "news/b.md": post(id="b")})
    cache = content.PostCache()
    assert cache.revision == ""
    posts, _ = cache.read_all(cfg)
    first = cache.revision
    assert first and [p.id for p in posts] == ["a", "b"]
    assert cache.read_all(cfg)[0] is posts and cache.revision == first
    (tmp_path / "content/news/b.md").write_text(post(id="b", title="Tiêu đề khác"))
    posts, _ = cache.read_all(cfg)
    second = cache.revision
    assert second != first and posts[1].title == "Tiêu đề khác"
    (tmp_path / "content/news/c.md").write_text(post(id="c"))
    assert [p.id for p in cache.read_all(cfg)[0]] == ["a", "b", "c"] and cache.revision not in (first, second)
    assert content.PostCache().read_all(cfg)[0] == read_all(cfg)[0]


def test_real_paths_are_os_path_realpath(tmp_path):
    import os

    from pipeline.paths import RealPaths, real_join

    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "a/b/x.png").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "a/b", target_is_directory=True)
    (tmp_path / "a/file-link.png").symlink_to(tmp_path / "a/b/x.png")
    real = RealPaths()
    for folder in (tmp_path / "a", tmp_path / "link", tmp_path / "a/b"):
        for rel in ("b/x.png", "../link/x.png", "file-link.png", "../a/./b/../b/x.png", "x.png", "../../a", "none/y.png", "", "."):
            want = os.path.realpath(os.path.join(folder, rel))
            assert real.join(str(folder), rel) == real_join(str(folder), rel) == want, (folder, rel)


def test_an_image_is_looked_for_in_the_folder_path_parent_names():
    """The reader names a post's folder with os.path.dirname (no parent Path made): the string
    pathlib's ``parent`` gives, over many paths."""
    import os
    import random

    rng = random.Random(7)
    names = ["a.md", "a/b.md", "/a.md", "//a.md", "///a.md", "./a.md", "a//b.md", "../a.md", "ư/đ.md", ".", "/"]
    names += ["".join(rng.choice("/a.ư ") for _ in range(rng.randrange(1, 10))) for _ in range(5000)]
    for name in names:
        assert (os.path.dirname(str(Path(name))) or ".") == str(Path(name).parent), name
