"""The publish gate's HTML: one allow-list for the article HTML of every channel, the warnings of
``loa check`` about what it removes, no SVG cover, and a preview that shows the portal's bytes."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline import app, htmlsafe
from pipeline.checks import check_post
from pipeline.config import load_config
from pipeline.content import read_post
from pipeline.errors import ConfigError
from pipeline.preview import build_preview, page_name
from tests.repo import PNG_1PX, ROOT, make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ONLY_PORTAL = dict(channels=["portal"])

HOSTILE = """\
Đoạn đầu bình thường.

<script>alert(1)</script>

<img src="images/a.png" onerror="alert(2)" alt="ảnh">

Bấm [vào đây](javascript:alert(3)) hoặc ![ảnh](data:image/png;base64,AAAA).

<style>.loa-body p { display: none }</style>

Đoạn có thuộc tính
{: onmouseover="alert(4)" }

<iframe src="https://www.youtube.com/embed/abc"></iframe>
<!-- ghi chú nội bộ -->

| Cột | Số |
| :-- | --: |
| a | 1 |
"""


def _cfg(root, hosts=None):
    if hosts is not None:
        text = (root / "config.toml").read_text(encoding="utf-8")
        (root / "config.toml").write_text(text.replace("[site]\n", f"[site]\niframe_hosts = {hosts!r}\n".replace("'", '"'), 1),
                                          encoding="utf-8")
    return load_config(root / "config.toml", env={})


@pytest.fixture
def hostile(tmp_path):
    make_repo(tmp_path, {"news/images/a.png": PNG_1PX, "news/a.md": post(body=HOSTILE, **ONLY_PORTAL)})
    return tmp_path


def _portal(root, cfg):
    with app.Session.open(cfg) as session:
        (p,) = session.content().posts
        return session.renderer().render(p, "portal").body


def test_portal_html_has_no_script_style_handler_or_bad_url(hostile):
    body = _portal(hostile, _cfg(hostile))
    for bad in ("<script", "alert(1)", "onerror", "javascript:", "data:", "<style", "display: none", "onmouseover",
                "<iframe", "ghi chú nội bộ"):
        assert bad not in body, bad
    assert '<img alt="ảnh" src="images/a.png">' in body or '<img src="images/a.png" alt="ảnh">' in body
    assert "<a>vào đây</a>" in body
    # What Markdown writes for a table with aligned columns is kept as it is.
    assert '<th style="text-align: left;">Cột</th>' in body and '<td style="text-align: right;">1</td>' in body


def test_iframes_only_from_configured_hosts(hostile):
    body = _portal(hostile, _cfg(hostile, ["www.youtube.com"]))
    assert '<iframe src="https://www.youtube.com/embed/abc"></iframe>' in body
    assert htmlsafe.clean_article('<iframe src="https://evil.example/x">t</iframe>', ["www.youtube.com"]) == "<iframe>t</iframe>"
    assert htmlsafe.clean_article('<iframe src="http://www.youtube.com/x"></iframe>', ["www.youtube.com"]) == "<iframe></iframe>"


def test_iframe_hosts_are_host_names(tmp_path):
    make_repo(tmp_path)
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, ["https://www.youtube.com/embed"])
    assert "site.iframe_hosts" in str(err.value.errors)
    assert _cfg(make_repo(tmp_path / "ok"), ["www.youtube.com"]).iframe_hosts == ("www.youtube.com",)
    assert _cfg(make_repo(tmp_path / "default")).iframe_hosts == ()


def test_allow_list_keeps_ordinary_markdown_bytes_unchanged():
    """The sample posts' HTML passes the sanitiser byte for byte (no needless new versions)."""
    from pipeline.render import new_markdown

    md = new_markdown()
    for path in sorted((ROOT / "content").rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
        html = md.reset().convert(body)
        assert htmlsafe.clean_article(html) == html, path


def test_kept_sanitiser_gives_what_nh3_clean_gives():
    """``clean`` keeps one ``nh3.Cleaner`` per set of options; ``nh3.clean`` with the same options
    (a sanitiser built at every call) gives the same HTML, hostile or ordinary, article or feed."""
    import random

    import nh3

    from pipeline.render import new_markdown

    md = new_markdown()
    samples = [md.reset().convert(HOSTILE), HOSTILE]
    samples += [md.reset().convert(p.read_text(encoding="utf-8").split("\n---\n", 1)[-1])
                for p in sorted((ROOT / "content").rglob("*.md"))]
    pieces = ['<a href="', "javascript:", "https://x.vn/", '">', "</a>", "<img src=", "data:x", " onerror=a ",
              "<iframe src=https://www.youtube.com/e>", "<td style='text-align: left;'>", "<p class='a b'>",
              "<p id='x y!'>", "<!-- c -->", "<script>", "</script>", "<svg>", "<b>", "</i>", "Đà Nẵng", "&amp;",
              "<", ">", '"', " ", "\n"]
    rng = random.Random(13)
    samples += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(400)]
    for hosts in ((), ("www.youtube.com",)):
        tags, attributes, keep = htmlsafe._article_options(frozenset(hosts))
        for html in samples:
            expected = nh3.clean(html, tags=set(tags), clean_content_tags=set(htmlsafe.DROP_WITH_CONTENT) - set(tags),
                                 attributes={k: set(v) for k, v in attributes.items()},
                                 url_schemes=set(htmlsafe.LINK_SCHEMES), link_rel=None, strip_comments=True,
                                 attribute_filter=keep)
            assert htmlsafe.clean_article(html, hosts) == expected, html
    for html in samples:  # the feeds' form: no tag kept
        assert htmlsafe.clean(html, tags=(), attributes={}) == nh3.clean(
            html, tags=set(), clean_content_tags=set(htmlsafe.DROP_WITH_CONTENT), attributes={},
            url_schemes=set(htmlsafe.LINK_SCHEMES), link_rel=None, strip_comments=True)


def test_check_warns_about_everything_removed_with_its_line(hostile):
    cfg = _cfg(hostile)
    p, problems = read_post(hostile / "content/news/a.md", cfg)
    assert problems == []
    warned = [(x.line, x.severity.value, x.code, x.message("vi")) for x in check_post(p, cfg) if x.code.startswith("html.")]
    b = p.body_line + 1  # the body starts with the blank line after the front matter
    assert warned == [
        (b + 2, "warning", "html.removed-tag", "thẻ <script> ở dòng %d sẽ bị loại bỏ khi đăng (không nằm trong danh sách "
         "HTML được phép, xem docs/huong-dan-bien-tap.md)" % (b + 2)),
        (b + 4, "warning", "html.removed-attr", f'thuộc tính `onerror="alert(2)"` của thẻ <img> ở dòng {b + 4} sẽ bị loại bỏ khi đăng'),
        (b + 6, "warning", "html.removed-attr", f'thuộc tính `href="javascript:alert(3)"` của thẻ <a> ở dòng {b + 6} sẽ bị loại bỏ khi đăng'),
        (b + 6, "warning", "html.removed-attr", f'thuộc tính `src="data:image/png;base64,AAAA"` của thẻ <img> ở dòng {b + 6} sẽ bị loại bỏ khi đăng'),
        (b + 8, "warning", "html.removed-tag", "thẻ <style> ở dòng %d sẽ bị loại bỏ khi đăng (không nằm trong danh sách "
         "HTML được phép, xem docs/huong-dan-bien-tap.md)" % (b + 8)),
        (b + 11, "warning", "html.removed-attr", f'thuộc tính `onmouseover="alert(4)"` của thẻ <p> ở dòng {b + 11} sẽ bị loại bỏ khi đăng'),
        (b + 13, "warning", "html.removed-tag", "thẻ <iframe> ở dòng %d sẽ bị loại bỏ khi đăng (không nằm trong danh sách "
         "HTML được phép, xem docs/huong-dan-bien-tap.md)" % (b + 13)),
        (b + 14, "warning", "html.removed-comment", f"chú thích HTML <!-- ... --> ở dòng {b + 14} sẽ bị loại bỏ khi đăng"),
    ]
    # A post without raw HTML, attribute lists or odd URL schemes gets no such warning.
    clean = post(id="b", body="Nguồn: [Cổng](https://portal.example.gov.vn/) lúc 8:00.\n", **ONLY_PORTAL)
    (hostile / "content/news/b.md").write_text(clean, encoding="utf-8")
    q, _ = read_post(hostile / "content/news/b.md", cfg)
    assert [x for x in check_post(q, cfg) if x.code.startswith("html.")] == []


def test_svg_is_not_a_post_image(tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    make_repo(tmp_path, {
        "news/images/a.svg": svg, "news/images/b.png": svg,
        "news/a.md": post(id="a", image="images/a.svg", image_alt="Ảnh", **ONLY_PORTAL),
        "news/b.md": post(id="b", title="Bài b", image="images/b.png", image_alt="Ảnh", **ONLY_PORTAL),
    })
    cfg = _cfg(tmp_path)
    _p, problems = read_post(tmp_path / "content/news/a.md", cfg)
    assert [(x.severity.value, x.code, x.message("vi")) for x in problems] == [
        ("error", "image.svg", "ảnh `images/a.svg` là SVG, loại ảnh có thể chứa mã chạy được nên không được dùng; "
                               "hãy xuất ảnh ra PNG hoặc JPEG")]
    _p, problems = read_post(tmp_path / "content/news/b.md", cfg)  # SVG under another name
    assert [x.code for x in problems] == ["image.not-image"]


def _article(page: str) -> str:
    start = page.index('<div class="loa-body">\n') + len('<div class="loa-body">\n')
    return page[start:page.index("\n  </div>", start)]


def test_preview_shows_exactly_the_portal_article_html(tmp_path):
    """On the sample content, plus a hostile post and one that shows its cover image again in its body:
    the preview page, the static site's rendering and the WordPress rendering hold the same article HTML."""
    make_repo(tmp_path, {
        "news/images/a.png": PNG_1PX,
        "news/a.md": post(id="hostile", body=HOSTILE, **ONLY_PORTAL),
        "news/b.md": post(id="cover-twice", title="Ảnh bìa trong bài", image="images/a.png", image_alt="Ảnh",
                          body="Ảnh bìa:\n\n![Ảnh](images/a.png)\n", **ONLY_PORTAL),
    }, sample_content=True, config_extra="""
        [channels.cong]
        type = "wordpress"
        url = "https://congtt.example.gov.vn"
        username = "loa"
        password_env = "LOA_WP_PASSWORD"
    """)
    cfg = _cfg(tmp_path)
    with app.Session.open(cfg) as session:
        build_preview(session, tmp_path / "out", now=datetime(2024, 4, 1, 8, 0, tzinfo=VN), jobs=1)
        renderer = session.renderer()
        compared = 0
        for p in session.content().posts:
            if "portal" not in p.channels:
                continue
            portal = renderer.render(p, "portal").body
            wordpress = renderer.render(p, "cong").body  # what the WordPress publisher sends as "content"
            page = (tmp_path / "out" / page_name(p.id)).read_text(encoding="utf-8")
            assert _article(page) == _article(portal) == _article(wordpress) == renderer.article_html(p).strip("\n"), p.relpath
            compared += 1
    assert compared >= 10
    hostile_page = (tmp_path / "out" / page_name("hostile")).read_text(encoding="utf-8")
    assert "display: none" not in hostile_page and "<script>alert" not in hostile_page
    assert re.search(r'<div class="loa-body">\n<p>Ảnh bìa:</p>\n<p><img alt="Ảnh" src="images/a.png"></p>',
                     (tmp_path / "out" / page_name("cover-twice")).read_text(encoding="utf-8"))


def test_the_article_sanitiser_is_made_once_per_list_of_hosts():
    """The renderer cleans every post with the site's one list of iframe hosts: the options and
    nh3's sanitiser are made for the first post only, and a list of hosts gives what the same
    hosts in other letters give."""
    htmlsafe._article_cleaner.cache_clear()
    hosts = ["WWW.YouTube.com"]
    for _ in range(3):
        assert htmlsafe.clean_article('<iframe src="https://www.youtube.com/x"></iframe>', hosts) == \
            '<iframe src="https://www.youtube.com/x"></iframe>'
    assert htmlsafe._article_cleaner.cache_info().misses == 1
    assert htmlsafe.clean_article('<p onclick="x()">a</p>', ("www.youtube.com",)) == "<p>a</p>"
