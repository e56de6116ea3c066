"""Random front matter and bodies thrown at the reader and the renderer: no crash, only problems."""

from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings, strategies as st

from pipeline.checks import check_links, check_post, check_renderings, check_text
from pipeline.config import load_config
from pipeline.content import read_post
from pipeline.render import Renderer
from tests.repo import make_repo

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40),
                    st.sampled_from(["2024-03-25 08:00", "25/3/2024", "2024-13-45", "ready", "draft", "phuong-1",
                                     "news", "guide", "portal", "mastodon", "img/x.png", "../../../etc/passwd"]))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=10), c, max_size=4)),
                      max_leaves=8)
keys = st.sampled_from(["id", "title", "type", "unit", "author", "publish_at", "expire_at", "topics", "channels",
                        "status", "summary", "image", "image_alt", "slug", "social", "approved_by", "approved_hash",
                        "correction", "retracted", "xyz"])
bodies = st.one_of(st.text(max_size=300), st.sampled_from([
    "# Tiêu đề\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "```\ncode <script>\n```\n", "[link](../x.md) ![img](a.png){: .x}",
    "<script>alert(1)</script>", "{{ post.title }} {% if %}", "\x00\x01", "---\n---\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(front=st.dictionaries(keys, values, max_size=12), body=bodies, raw=st.booleans(), garbage=st.binary(max_size=40))
@example(front={"id": None, "image": "\x00"}, body="", raw=False, garbage=b"")  # found by CI: os.stat raised ValueError

def test_reader_and_renderer_never_crash(tmp_path_factory, front, body, raw, garbage):
    root = tmp_path_factory.mktemp("fuzz")
    make_repo(root)
    cfg = load_config(root / "config.toml", env={})
    f = root / "content/news/x.md"
    f.parent.mkdir(parents=True, exist_ok=True)
    if raw:
        f.write_bytes(b"---\n" + garbage + b"\n---\n" + body.encode("utf-8", "surrogatepass"))
    else:
        f.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body, encoding="utf-8", errors="surrogatepass")
    post, problems = read_post(f, cfg)
    for p in problems:
        assert p.format("vi") and p.format("en")
    if post is not None:
        out = check_post(post, cfg) + check_links(post, cfg.content_dir) + check_renderings(post, Renderer(cfg)) + check_text(post, cfg)
        for p in out:
            assert p.path == "content/news/x.md" and p.line >= 1 and p.format("en")


@settings(max_examples=300, deadline=None)
@given(front=st.dictionaries(keys, values, max_size=12), flow=st.booleans())
def test_front_matter_plain_path_agrees_with_pyyaml_on_dumped_front_matter(front, flow):
    """read_front_matter's plain-line path against PyYAML alone, on what a YAML writer makes of
    random values (quoting, escapes, nesting, odd scalars)."""
    from pipeline.frontmatter import read_front_matter

    text = yaml.safe_dump(front, allow_unicode=True, default_flow_style=None if flow else False)
    assert read_front_matter(text) == read_front_matter(text, plain=False)


# -- Zalo's plain text: the fast path of html_to_text must give what HTMLParser gives ----------
MD_PIECES = ["# Tiêu đề", "## Mục 2", "Đoạn văn **đậm** và *nghiêng* & <b>thẻ</b> &amp; &lt;x&gt;", "- mục một\n- mục hai",
             "1. bước một\n2. bước hai", "3. ba\n    1. con\n\n    đoạn", "- a\n\n    - b",
             "| a | b |\n|---|---|\n| 1 | 2 |", "| a | b | c |\n|---|---|---|\n| 1 |  | 3 |", "```\nmã <nguồn>\n```", "> trích dẫn",
             "[liên kết](https://dichvucong.gov.vn/a?b=1&c=2)", "![ảnh](anh.png)", "Dòng một  \nDòng hai",
             "Đoạn {: .lop #ma }", "<div>khối HTML</div>", "<!-- chú thích -->", "&nbsp;&#7841;&#x1EA1;", "  \t "]
FRAGMENTS = ["<p>", "</p>", "<P CLASS=\"x\">", "<br>", "<br/>", "<br />", "<li>", "<td>", "<th>", "<p/>", "<span a=b>",
             "<a href='x'>", "<img src=\"a.png\" alt=\"x > y\">", "<script>x</script>", "<style>p{}</style>",
             "<!doctype html>", "<?xml ?>", "a < b", "c > d", "&amp;", "&bogus;", "\n", " ", "chữ", "<unknown>",
             "</ul>", "<h3 id=\"a\">", "<tr>", "</table>", "<ol start=\"3\">", "</ol>", "<ul>", "</li>", "<table>",
             "</td>", "<ol start=x>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(MD_PIECES), max_size=8), st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_fast_html_to_text_matches_the_parser(pieces, fragments):
    import markdown

    from pipeline import plaintext, render

    html = markdown.Markdown(extensions=render.markdown_extensions()).convert("\n\n".join(pieces))
    for fragment in (html, "".join(fragments), html + "".join(fragments)):
        assert plaintext.to_text(fragment) == plaintext.to_text(fragment, fast=False), fragment



# Hostile HTML for the plain-text conversion: every tag the writer knows, odd spellings the fast
# reading must hand to the parser, entities, every kind of white space, Vietnamese text.
HTML_PIECES = ["<p>", "</p>", "<P>", "</P >", "<p/>", "<h2>", "</h2>", "<div>", "</div>", "<br>", "<br/>", "<BR />",
               "<ul>", "</ul>", "<ol>", "</ol>", '<ol start="3">', "<ol start='7'>", '<ol start=" -2">', "<OL START=4>",
               "<li>", "</li>", "<LI>", "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>",
               "<thead>", "</thead>", "<tbody>", "</tbody>", '<a href="x?a=1&amp;b=2">', "</a>", "<strong>", "</strong>",
               "<em>", "</em>", '<img src="a.png" alt="x">', "<span class=x>", '<span title="a>b">', "<script>",
               "</script>", "<style>", "</style>", "<SCRIPT>", "<scripts>", "</styles>", "<!-- c -->", "<!doctype html>",
               "<?x?>", "<", ">", "< p>", "</ p>", "<p\n>", "<unknown>", "<blockquote>", "</blockquote>", "<pre>",
               "</pre>", "<hr>", "<dl>", "<dt>", "<dd>", "<figure>", "<figcaption>",
               '<iframe src="https://www.youtube.com/embed/x">', "</iframe>",
               "Đăng ký khai sinh", "Phí: 8.000 đồng", "ạ", "x", " ", "  ", "\n", "\n\n", " \n ", "\t", "\r\n", "\x0c",
               "\x0b", "\xa0", "\u2028", "\x1c", "\u3000", "&nbsp;", "&amp;", "&lt;", "&gt;", "&#9;", "&#10;", "&#32;",
               "&#x1EA1;", "&bogus;", "&amp", "&"]
html_soup = st.lists(st.one_of(st.sampled_from(HTML_PIECES), st.text(max_size=4)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(html_soup, html_soup, st.sampled_from(["", "</p>", "</li>", "</ul>", "</table>", "<br>", "</td>"]), st.booleans())
def test_the_fast_plain_text_reading_and_its_taking_up_match_the_parser(a, b, end, clean):
    """The fast reading (and, for a fragment that begins with the last one read, its taking up from
    that one's writer) against HTMLParser, on hostile HTML and on what the sanitiser lets through."""
    from pipeline import htmlsafe, plaintext

    a += end  # the last fragment read must end with a tag to be taken up
    if clean:
        a, b = htmlsafe.clean_article(a), htmlsafe.clean_article(b)
    # a + b + "x" does not end with a tag: a stays the last one, taken up twice
    for fragment in (a, a + b + "x", a + b + "x", a + b, b, b + a + b, a, a):
        assert plaintext.to_text(fragment) == plaintext.to_text(fragment, fast=False), fragment

def test_a_nul_in_an_image_path_is_a_problem_not_a_crash(tmp_path):
    """A YAML escape can put a NUL in the image's path (a raw NUL makes the file binary); the system
    refuses such names with ValueError, not OSError: the reader takes it as a missing image."""
    from tests.repo import post

    text = post(image="PLACEHOLDER", image_alt="Ảnh", body="Xem [bài](b.md).\n").replace("PLACEHOLDER", '"a\\0.png"')
    root = make_repo(tmp_path, {"news/x.md": text})
    cfg = load_config(root / "config.toml", env={})
    found, problems = read_post(root / "content/news/x.md", cfg)
    assert found is not None and found.image == "a\x00.png"
    assert "image.missing" in {p.code for p in problems}
    assert [p.code for p in check_links(found, cfg.content_dir)] == ["post.broken-link"]
    renderings, errors = Renderer(cfg).render_all(found)
    assert renderings and not errors
