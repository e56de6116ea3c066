"""Loa's Markdown (pipeline/markdown_fast.py) gives Python-Markdown's HTML, byte for byte: on the
sample posts, on the benchmark corpus and on random text made of Markdown's special characters."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings, strategies as st
from markdown import inlinepatterns

from pipeline import markdown_fast
from pipeline.markdown_fast import match_starts, pattern_starts
from pipeline.render import Renderer, markdown_extensions
from tests.test_bench_corpus import _corpus_module

ROOT = Path(__file__).resolve().parent.parent


def _stock() -> markdown.Markdown:
    return markdown.Markdown(extensions=markdown_extensions(), output_format="html")


def _loa() -> markdown.Markdown:
    md = markdown_fast.install(_stock())
    assert isinstance(md.treeprocessors["inline"], markdown_fast.InlineProcessor)
    assert isinstance(md.preprocessors["html_block"], markdown_fast.HtmlBlockPreprocessor)
    assert isinstance(md.treeprocessors["attr_list"], markdown_fast.AttrListTreeprocessor)
    assert isinstance(md.treeprocessors["prettify"], markdown_fast.PrettifyTreeprocessor)
    assert isinstance(md.preprocessors["normalize_whitespace"], markdown_fast.NormalizeWhitespace)
    assert isinstance(md.inlinePatterns["link"], markdown_fast.LinkParsing)
    assert isinstance(md.inlinePatterns["image_link"], markdown_fast.LinkParsing)
    assert isinstance(md.preprocessors["fenced_code_block"], markdown_fast.FencedBlockSkip)
    assert isinstance(md.treeprocessors["unescape"], markdown_fast.UnescapeTreeprocessor)
    assert isinstance(md.parser.blockprocessors["table"], markdown_fast.TableProcessor)
    assert md.serializer is markdown_fast.to_html_string
    return md


STOCK, LOA = _stock(), _loa()


def _same(text: str) -> None:
    assert LOA.reset().convert(text) == STOCK.reset().convert(text), text


@pytest.mark.parametrize(("pattern", "starts"), [
    (r"  \n", {"  \n"}),
    (r"(?<!\!)\[", {"["}),
    (r"\!\[", {"!["}),
    (r"\*|_", {"*", "_"}),
    (r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)", {"&"}),
    (r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)", {"\\", "`"}),  # a run of backslashes before a backtick, or one
    (r"((^|\s)(\*|_)(\s|$))", None),  # may begin with a space or at the start: anywhere
    (r"a*b", None),
    (r"a?", None),
    (r"(?i)<b>", None),  # a case-insensitive literal is not one string
    (r"<(?i:b)>", {"<"}),
    (r"x(?i:b)", {"x"}),
    (r"[ab]c", {"a", "b"}),  # the reading stops after the first item that is not one character
    (r"[a-z]", None),
    (r"ab+c", {"ab"}),
])
def test_match_starts(pattern, starts):
    assert match_starts(pattern) == (frozenset(starts) if starts is not None else None)


def test_every_default_pattern_is_read():
    """Each of Python-Markdown's inline patterns gets the strings its matches must begin with, so
    the skipping applies to all of them; a change in a new Python-Markdown release shows here."""
    found = {name: pattern_starts(STOCK.inlinePatterns[name]) for name in (item.name for item in STOCK.inlinePatterns._priority)}
    assert found["backtick"] == {"\\", "`"}
    assert found["escape"] == {"\\"}
    assert found["link"] == found["reference"] == found["short_reference"] == {"["}
    assert found["image_link"] == found["image_reference"] == found["short_image_ref"] == {"!["}
    assert found["autolink"] == found["automail"] == found["html"] == {"<"}
    assert found["entity"] == {"&"}
    assert found["linebreak"] == {"  \n"}
    assert found["em_strong"] >= {"*"}
    assert all(v is not None for k, v in found.items() if k != "not_strong"), found
    patterns = [(None, starts) for starts in found.values()]
    assert markdown_fast._gates(patterns) == ("\n", "&", "*", "<", "[", "\\", "_", "`")  # not the spaces of "  \n"
    assert markdown_fast._gates(patterns + [(None, None)]) is None


def test_a_pattern_that_cannot_be_read_is_always_tried():
    class Custom(inlinepatterns.InlineProcessor):
        def getCompiledRegExp(self):  # noqa: N802 - Python-Markdown's name
            return re.compile("@@")

        def handleMatch(self, m, data):  # noqa: N802
            return "AT", m.start(0), m.end(0)

    md = _loa()
    md.inlinePatterns.register(Custom(r"zz"), "custom", 5)
    assert pattern_starts(md.inlinePatterns["custom"]) is None
    assert md.reset().convert("a @@ b") == "<p>a AT b</p>"


def test_install_leaves_a_replaced_inline_step_alone():
    md = _stock()
    other = markdown.treeprocessors.InlineProcessor(md)

    class Mine(type(other)):
        pass

    md.treeprocessors.register(Mine(md), "inline", 20)
    assert type(markdown_fast.install(md).treeprocessors["inline"]) is Mine


def test_same_html_on_the_sample_posts():
    posts = sorted((ROOT / "content").rglob("*.md"))
    assert len(posts) >= 12
    for path in posts:
        _same(path.read_text(encoding="utf-8").split("\n---\n", 1)[-1])


def test_same_html_on_the_benchmark_corpus(tmp_path):
    corpus = _corpus_module().generate(tmp_path / "c", 120, tools=("loa",))
    bodies = [p.read_text(encoding="utf-8").split("\n---\n", 1)[1] for p in sorted(corpus.loa.rglob("*.md"))]
    assert len(bodies) == 120
    for body in bodies:
        _same(body)


def test_the_renderer_uses_it(tmp_path):
    from pipeline.config import load_config
    from tests.repo import make_repo

    make_repo(tmp_path)
    renderer = Renderer(load_config(tmp_path / "config.toml", env={}))
    assert isinstance(renderer.md.treeprocessors["inline"], markdown_fast.InlineProcessor)
    assert isinstance(renderer.md.preprocessors["html_block"], markdown_fast.HtmlBlockPreprocessor)


# Markdown's special characters and the strings around them, Vietnamese letters, spaces, newlines
_PIECES = st.sampled_from([
    "*", "**", "***", "_", "__", "`", "``", "\\", "\\\\", "[", "]", "(", ")", "![", "<", ">", "&", ";", "#", "!",
    "  \n", "\n", "\n\n", " ", "  ", "\t", "-", "1.", "|", ":", "{:", "}", ".x", "=", '"', "'",
    "a", "b", "ư", "Việt", "đăng ký", "http://x.vn", "<https://dichvucong.gov.vn>", "<a@b.vn>", "&amp;", "&#38;",
    "&x;", "<b>", "</b>", "<!-- c -->", "[x](y.md)", "[x][1]", "[1]: http://a.b", "![i](p.png)", "\x02", "\x03",
    "```", "~~~", "    ", "> ", "* ", "- ",
])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_same_html_on_random_text(text):
    _same(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120))
def test_same_html_on_random_characters(text):
    _same(text)


def test_fenced_code_loads_without_pygments_and_still_works():
    """Loa never highlights code, so Pygments (15 ms to import) is kept out while fenced_code loads."""
    import subprocess
    import sys

    code = ("import sys; from pipeline.render import Renderer, markdown_extensions; import markdown; "
            "md = markdown.Markdown(extensions=markdown_extensions()); "
            "print('pygments' in sys.modules, md.convert('```python\\nx = 1\\n```'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == 'False <pre><code class="language-python">x = 1\n</code></pre>'


def test_a_pattern_added_between_runs_is_tried():
    md = _loa()
    assert md.reset().convert("a %% b") == "<p>a %% b</p>"

    class Percent(inlinepatterns.InlineProcessor):
        def handleMatch(self, m, data):  # noqa: N802
            return "PCT", m.start(0), m.end(0)

    md.inlinePatterns.register(Percent(r"%%"), "percent", 5)
    assert md.reset().convert("a %% b") == "<p>a PCT b</p>"


# text without < and &, where the raw HTML step is skipped: lines, blank lines, spaces, Markdown
_PLAIN = st.sampled_from(["\n", "\n\n", "  \n", " ", "    ", "\t", "a", "Việt", "# ", "* ", "1. ", "> ", "```", "|", "---",
                          "[x](y.md)", "**", "_", "`", "\\", "{: .x}", "\r\n", "\x02", "\x03", ">"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(_PLAIN, max_size=40).map("".join))
def test_same_html_without_raw_html(text):
    _same(text)
    lines = text.split("\n")
    assert LOA.preprocessors["html_block"].run(lines) == STOCK.preprocessors["html_block"].run(lines)


def test_raw_html_is_still_set_aside():
    text = "Đoạn một.\n\n<div class=\"x\">\n*không* xử lý\n</div>\n\nA &amp; B <b>đậm</b>\n"
    _same(text)
    assert '<div class="x">\n*không* xử lý\n</div>' in LOA.reset().convert(text)


def test_attribute_lists_still_apply():
    text = "# Tiêu đề {: #muc .lon }\n\nĐoạn\n{: .doan }\n\n* mục {: .x }\n\n[liên kết](a.md){: .ngoai }\n\nKhông {có} gì\n"
    _same(text)
    html = LOA.reset().convert(text)
    assert '<h1 class="lon" id="muc">' in html and '<p class="doan">' in html and 'class="ngoai"' in html
    _same("Không có ngoặc nhọn nào: \\{: .x} vẫn như cũ\n")


def test_the_block_parser_is_the_fast_one():
    assert isinstance(LOA.parser, markdown_fast.BlockParser)
    assert type(STOCK.parser) is markdown.blockparser.BlockParser


def test_every_block_processor_with_a_known_expression_is_read():
    """The strings come with the expression they were read from; a Python-Markdown release that
    changes one shows here (its processor is then always tried, which is slower, not wrong)."""
    found = {item.name: markdown_fast.block_needles(LOA.parser.blockprocessors[item.name])
             for item in LOA.parser.blockprocessors._priority}
    assert found["hashheader"] == ("#",)
    assert found["setextheader"] == ("\n",)
    assert found["hr"] == ("-", "_", "*")
    assert found["quote"] == (">",)
    assert found["reference"] == ("]",)
    assert found["table"] == ("|",)
    assert {k for k, v in found.items() if v is None} == {"empty", "indent", "code", "olist", "ulist", "paragraph"}
    refined = {item.name for item in LOA.parser.blockprocessors._priority
               if markdown_fast.block_refinement(LOA.parser.blockprocessors[item.name]) is not None}
    assert refined == {"setextheader", "hr", "reference"}
    leads = {item.name: markdown_fast.block_leads(LOA.parser.blockprocessors[item.name])
             for item in LOA.parser.blockprocessors._priority}
    assert leads["empty"] == {"", "\n"} and leads["indent"] == leads["code"] == {" "}
    assert leads["olist"] == {" ", "0"} and leads["ulist"] == {" ", "*", "+", "-"}
    assert {k for k, v in leads.items() if v is not None} == {"empty", "indent", "code", "olist", "ulist"}


# the characters of Markdown's blocks, to build blocks that come near each processor's needles
_BLOCK_PIECES = st.sampled_from([
    "#", "##", "-", "--", "=", "==", "*", "_", " ", "  ", "   ", "    ", "\t", ">", "|", ":", "[", "]", "]:", "(", ")",
    "\n", "a", "ư", "1.", "3. ", "١. ", "- ", "* ", "+ ", "\\", "`", "'", '"', "http://a.b", "x", "|-", "-|", "a|b",
    "- - -", "_ _", "*  *", "\n-", "\n=", "\n   -", "\n    -",
])


def _fast_parser_skips(processor, block: str) -> bool:
    """Whether the fast parser leaves ``processor`` unasked about ``block``."""
    leads = markdown_fast.block_leads(processor)
    if leads is not None:
        lead = block[:1]
        if ("0" if lead.isdecimal() else lead) not in leads:
            return True
    needles = markdown_fast.block_needles(processor)
    if needles is not None:
        if not any(n in block for n in needles):
            return True
        refine = markdown_fast.block_refinement(processor)
        if refine is not None and not refine(block):
            return True
    return False


@settings(max_examples=2500, deadline=None)
@given(st.lists(_BLOCK_PIECES, max_size=30).map("".join))
def test_a_block_without_the_needles_is_refused(block):
    """Where the fast parser does not ask a processor, the processor would have said no: in a list,
    a blockquote, after a list, in a detabbed list item and at the top."""
    md = markdown.Markdown(extensions=markdown_extensions())
    for parent, state in _PARENTS():
        md.parser.state = markdown.blockparser.State()
        if state is not None:
            md.parser.state.set(state)
        _refused(md, parent, block)
        _refused(md, parent, block.lstrip("\n"))


def _PARENTS():  # noqa: N802
    top = etree.Element("div")
    after_list = etree.Element("div")
    etree.SubElement(etree.SubElement(after_list, "ul"), "li").text = "i"
    item = etree.Element("li")
    return [(top, None), (after_list, None), (item, "list"), (item, "looselist"), (item, "detabbed"),
            (etree.Element("blockquote"), "blockquote")]


def _refused(md, parent, block):
    before = len(parent)
    for processor in md.parser.blockprocessors:
        if not _fast_parser_skips(processor, block):
            continue
        if isinstance(processor, markdown.blockprocessors.ReferenceProcessor):
            blocks = [block, "next"]
            assert processor.run(parent, blocks) is False and blocks == [block, "next"]
        else:
            assert not processor.test(parent, block), (type(processor).__name__, block)
    assert len(parent) == before and not md.references


# whole lines of Markdown's blocks: headers, rules, quotes, tables, lists, references, code
_BLOCK_LINES = st.sampled_from([
    "# T", "## T #", "T", "Việt", "===", "---", "- - -", "* * *", "___", "-", "> q", ">", "| a | b |", "|---|---|",
    "a | b", "--- | ---", "|:-:|", "* i", "- i", "1. i", "3. i", "    code", "\tcode", "[r]: http://a.b", "[r]: <u> 'x'",
    "[r]", "[t][r]", "![i][r]", "```", "~~~", "{: .c }", "", "", "a  ", "|", "#", "]:", "\\#", "\\|", "`|`",
])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_BLOCK_LINES, max_size=25).map("\n".join))
def test_same_html_on_random_blocks(text):
    _same(text)


def test_a_block_processor_added_between_runs_is_tried():
    md = _loa()
    assert md.reset().convert("%% a") == "<p>%% a</p>"

    class Percent(markdown.blockprocessors.BlockProcessor):
        def test(self, parent, block):
            return block.startswith("%%")

        def run(self, parent, blocks):
            etree.SubElement(parent, "hr").tail = blocks.pop(0)

    md.parser.blockprocessors.register(Percent(md.parser), "percent", 95)
    assert md.reset().convert("%% a") == "<hr>%% a" == STOCK_WITH(Percent).reset().convert("%% a")
    md.parser.blockprocessors.deregister("percent")
    assert md.reset().convert("%% a") == "<p>%% a</p>"
    # replaced under the same count, and the registry sorted again (a look-up by name) before the run
    md.parser.blockprocessors.deregister("hr")
    md.parser.blockprocessors.register(Percent(md.parser), "percent", 50)
    assert md.parser.blockprocessors["percent"] is not None
    assert md.reset().convert("%% a") == "<hr>%% a"
    md.parser.blockprocessors.register(markdown.blockprocessors.HRProcessor(md.parser), "percent", 50)  # same name
    md.parser.blockprocessors["percent"]
    assert md.reset().convert("%% a\n\n---") == "<p>%% a</p>\n<hr>"


def STOCK_WITH(processor_class):  # noqa: N802
    md = _stock()
    md.parser.blockprocessors.register(processor_class(md.parser), "percent", 95)
    return md


def test_install_leaves_a_replaced_block_parser_alone():
    md = _stock()

    class Mine(markdown.blockparser.BlockParser):
        pass

    md.parser.__class__ = Mine
    assert type(markdown_fast.install(md).parser) is Mine


def test_reference_links_without_and_with_definitions():
    """Without reference definitions the reference patterns are not tried (they would leave every
    ``[...]`` as it is); with one, they are."""
    text = "[a][r] [r] ![i][r] ![r] [b][] [c] [d](e.md) [f] [g]\n"
    _same(text)
    assert "<a" not in LOA.reset().convert(text.replace("[d](e.md)", ""))
    defined = text + "\n[r]: http://x.vn 'T'\n[c]: <c.md>\n"
    _same(defined)
    html = LOA.reset().convert(defined)
    assert '<a href="http://x.vn" title="T">a</a>' in html and '<img alt="i" src="http://x.vn" title="T">' in html
    assert '<a href="c.md">c</a>' in html


def test_escapes_and_line_breaks_between_blocks():
    text = ("![\\[x](y.md) [\\*z](\\_.md \"\\t\") \\*a\\* \\[b\\] `\\*c` **\\_d**  \ne\n\n> \\# f\n>\n> * g\\!\n\n"
            "| h | \\| |\n|---|---|\n| `\\`` | i |\n\n    \\*code\n\n<div>\\*</div>\n")
    _same(text)
    html = LOA.reset().convert(text)
    assert '<img alt="[x" src="y.md"> <a href="_.md" title="\\t">*z</a> ' in html
    assert "*a* [b] <code>\\*c</code> <strong>_d</strong><br>\ne</p>" in html
    assert "<pre><code>\\*code\n</code></pre>" in html


def test_the_tree_steps_give_the_stock_tree():
    """The line breaks step and the unescape step change the same texts the same way, tag by tag,
    on a tree with odd tags (a comment, a tag that is no dictionary key) and atomic texts."""
    from markdown import treeprocessors, util

    def tree():
        root = etree.Element("div")
        p = etree.SubElement(root, "P")
        p.text = util.AtomicString("x\x0242\x03y")
        p.tail = util.AtomicString("t")
        etree.SubElement(root, "span").text = util.AtomicString("s")
        code = etree.SubElement(root, "code")
        code.text = "\x0242\x03"
        code.tail = "\x0243\x03"
        code.set("title", "a\x0242\x03")
        code.set("class", util.AtomicString("c"))
        code.set("id", "plain")
        etree.SubElement(root, etree.Comment).text = "c"
        odd = etree.SubElement(root, "blockquote")
        odd.append(etree.Element("ul"))
        weird = etree.SubElement(odd, "x")
        weird.tag = ["li"]  # unhashable: asked each time, as Python-Markdown does
        weird.text = "plain"
        return root

    for name, stock in (("prettify", treeprocessors.PrettifyTreeprocessor), ("unescape", treeprocessors.UnescapeTreeprocessor)):
        a, b = tree(), tree()
        LOA.treeprocessors[name].run(a)
        stock(STOCK).run(b)
        assert [(e.tag, e.text, type(e.text), e.tail, type(e.tail), [(k, v, type(v)) for k, v in e.items()]) for e in a.iter()] == \
            [(e.tag, e.text, type(e.text), e.tail, type(e.tail), [(k, v, type(v)) for k, v in e.items()]) for e in b.iter()], name


# spaces, tabs, line ends and fences, where the whitespace and fenced code steps skip their search
_SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\n\n", "\r", "\r\n", " \n", "a", "ư", "`", "``", "```", "~", "~~~",
                           "````", "{.py}", "python", "\x02", "\x03", "    ", "> ", "* ", "1. ", "#"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_SPACES, max_size=40).map("".join))
def test_same_html_on_random_whitespace_and_fences(text):
    _same(text)
    lines = text.split("\n")
    for name in ("normalize_whitespace", "fenced_code_block"):
        LOA.reset(), STOCK.reset()
        assert LOA.preprocessors[name].run(lines) == STOCK.preprocessors[name].run(lines), name


def test_fenced_code_still_applies():
    text = "a\n\n```python\nx = 1 \n\n   \ny\n```\n\n~~~~\n<b>\n~~~~\n\n  \t \nb\n"
    _same(text)
    html = LOA.reset().convert(text)
    assert '<pre><code class="language-python">x = 1 \n\n\ny\n</code></pre>' in html
    assert "<pre><code>&lt;b&gt;\n</code></pre>" in html


# the characters of links and images: brackets, parentheses, quotes, angle brackets, escapes
_LINK_PIECES = st.sampled_from(["[", "]", "![", "(", ")", "'", '"', "<", ">", " ", "  ", "\n", "\\", "\\]", "\\)", "`",
                                "a", "Việt", "x.md", "http://a.b/c", "#m", "*", "&amp;", "\x02", "\x03", "[r]: http://r.vn"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_LINK_PIECES, max_size=30).map("".join))
def test_same_html_on_random_links(text):
    _same(text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_LINK_PIECES, max_size=20).map("".join), st.integers(0, 3))
def test_link_text_and_address_as_the_walk_finds_them(data, index):
    """getText and getLink give Python-Markdown's own result on any text, from any position."""
    for name in ("link", "image_link"):
        fast, stock = LOA.inlinePatterns[name], STOCK.inlinePatterns[name]
        LOA.reset(), STOCK.reset()
        assert fast.getText(data, index) == stock.getText(data, index)
        assert fast.getLink(data, index) == stock.getLink(data, index)
        assert fast.getLink("(" + data, index) == stock.getLink("(" + data, index)


def test_another_python_markdown_keeps_the_steps_that_copy_its_code(monkeypatch):
    """With another Python-Markdown version than the one whose code the steps reproduce, those steps
    stay stock (and the inline step tries the reference patterns); the HTML is the same."""
    monkeypatch.setattr(markdown_fast, "SAME_CODE", False)
    md = markdown_fast.install(_stock())
    assert type(md.parser) is markdown.blockparser.BlockParser
    assert md.serializer is markdown.serializers.to_html_string
    assert type(md.parser.blockprocessors["table"]) is markdown.extensions.tables.TableProcessor
    for registry, name in ((md.preprocessors, "normalize_whitespace"), (md.preprocessors, "fenced_code_block"),
                           (md.treeprocessors, "prettify"), (md.treeprocessors, "unescape"),
                           (md.inlinePatterns, "link"), (md.inlinePatterns, "image_link")):
        assert type(registry[name]) is type(STOCK_REGISTRIES[name]), name
    assert isinstance(md.treeprocessors["inline"], markdown_fast.InlineProcessor)
    for text in ("[a][r] [b](c.md)\n\n[r]: http://r.vn\n", "[a][r] [b](c.md) \\* ```\n\nx\n\n```\n", "# T\n\n> q\n"):
        assert md.reset().convert(text) == STOCK.reset().convert(text)
    md.reset().convert("[a][r]")
    assert md.treeprocessors["inline"]._loa_patterns == md.treeprocessors["inline"]._loa_read


STOCK_REGISTRIES = {name: registry[name] for registry, name in (
    (STOCK.preprocessors, "normalize_whitespace"), (STOCK.preprocessors, "fenced_code_block"),
    (STOCK.treeprocessors, "prettify"), (STOCK.treeprocessors, "unescape"),
    (STOCK.inlinePatterns, "link"), (STOCK.inlinePatterns, "image_link"))}


# table rows: pipes, escaped pipes, backslashes, code spans, alignment colons
_ROW_PIECES = st.sampled_from(["|", "|", "\\|", "\\", "\\\\", "`", "``", "\\`", " ", "a", "Việt", ":", "-", "---", ":-:"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ROW_PIECES, max_size=20).map("".join))
def test_table_rows_split_as_the_walk_splits_them(row):
    fast, stock = LOA.parser.blockprocessors["table"], STOCK.parser.blockprocessors["table"]
    assert fast._split(row) == stock._split(row)
    _same("a | b\n--- | ---\n" + row + "\n")
    _same(row + "\n--- | ---\n" + row + "\n")


def test_install_leaves_another_table_processor_alone():
    md = _stock()
    table = md.parser.blockprocessors["table"]
    table.RE_CODE_PIPES = re.compile(r"(\|)")  # not the expression the fast split was proven against
    assert type(markdown_fast.install(md).parser.blockprocessors["table"]) is markdown.extensions.tables.TableProcessor


# element trees the serializer may meet, Markdown's own and odder ones: upper-case and raw-text tags,
# empty elements with content, valueless and boolean attributes, characters to escape, atomic texts
_TAGS = st.sampled_from(["p", "a", "img", "br", "hr", "IMG", "Br", "script", "STYLE", "code", "pre", "td", "li", "x-y", "ul"])
_STRINGS = st.sampled_from(["", "a", "Việt", "&", "&amp;", "&#38;", "&x;", "&#x4F;", "&#xZZ;", "<", ">", '"', "'", "\n",
                            " ", "checked", "hidden", "download", "\x02", "a&b<c>d\"e"])
_TEXT = st.one_of(st.none(), st.lists(_STRINGS, max_size=4).map("".join),
                  st.lists(_STRINGS, max_size=3).map(lambda p: markdown.util.AtomicString("".join(p))))
_ATTRS = st.dictionaries(st.sampled_from(["href", "title", "checked", "hidden", "download", "class", "id", "b", "A"]),
                         st.one_of(st.none(), st.lists(_STRINGS, max_size=3).map("".join),
                                   st.sampled_from(["checked", "hidden", "download"])), max_size=4)


@st.composite
def _trees(draw, depth=0):
    el = etree.Element(draw(_TAGS))
    for key, value in draw(_ATTRS).items():
        el.set(key, value)
    el.text, el.tail = draw(_TEXT), draw(_TEXT)
    if depth < 3:
        for _ in range(draw(st.integers(0, 3))):
            el.append(draw(_trees(depth=depth + 1)))
    return el


def _serialized(serializer, tree):
    try:
        return serializer(tree)
    except Exception as e:  # noqa: BLE001 - the stock serializer's error, compared with the fast one's
        return type(e)


@settings(max_examples=800, deadline=None)
@given(_trees())
def test_the_serializer_writes_what_the_stock_one_writes(tree):
    from markdown import serializers

    assert markdown_fast.to_html_string(tree) == serializers.to_html_string(tree)


@pytest.mark.parametrize("odd", [
    lambda el: el.append(etree.Comment(" c & <d> ")),
    lambda el: el.append(etree.ProcessingInstruction("php", "x")),
    lambda el: el.append(etree.Element(etree.QName("{urn:x}y"))),
    lambda el: el.append(etree.Element(None)),
    lambda el: el.set(etree.QName("q"), "v"),
    lambda el: el.set("q", etree.QName("v")),
    lambda el: el.set("q", 3),
    lambda el: setattr(el, "text", 3),
    lambda el: setattr(el, "tail", 3),
    lambda el: setattr(el, "text", type("Str", (str,), {})("x&y")),
    lambda el: el.append(type("Sub", (etree.Element,), {})("b")),
    lambda el: setattr(el, "tag", 5),
])
def test_the_serializer_hands_odd_trees_to_the_stock_one(odd):
    """A tree with anything Markdown does not build is written by the stock serializer (or raises
    what it raises)."""
    from markdown import serializers

    root = etree.Element("div")
    p = etree.SubElement(root, "p", {"class": "c"})
    p.text, p.tail = "a & b", "\n"
    odd(p)
    assert _serialized(markdown_fast.to_html_string, root) == _serialized(serializers.to_html_string, root)


def test_the_serializer_is_put_in_only_for_html():
    md = markdown_fast.install(markdown.Markdown(extensions=markdown_extensions(), output_format="xhtml"))
    assert md.serializer is markdown.serializers.to_xhtml_string
    assert md.reset().convert("a  \nb") == "<p>a<br />\nb</p>"


def test_a_tag_made_block_level_between_runs_is_seen():
    """The line breaks step keeps its answers from run to run only while the block-level list stays
    the same."""
    md, stock = _loa(), _stock()
    text = "<span>a</span>\n\nb *c* `d`\n"
    assert md.reset().convert(text) == stock.reset().convert(text)
    for m in (md, stock):
        m.block_level_elements.append("em")
    assert md.reset().convert(text) == stock.reset().convert(text)
    assert "<em>c</em>\n" in md.reset().convert(text)
    for m in (md, stock):
        m.block_level_elements.remove("em")
        m.block_level_elements.append("code")
    assert md.reset().convert(text) == stock.reset().convert(text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_SPACES | _PLAIN | st.sampled_from(["<b>", "</b>", "&amp;", "<!-- c -->", "{: .x }"]), max_size=40).map("".join))
def test_the_preprocessors_hand_on_the_stock_lines(text):
    """All the steps before the block parser, in turn, give the stock lines (the first one hands
    them on with their text, which the next ones use rather than joining them again)."""
    loa, stock = text.split("\n"), text.split("\n")
    LOA.reset(), STOCK.reset()
    for fast, slow in zip(LOA.preprocessors, STOCK.preprocessors):
        loa, stock = fast.run(loa), slow.run(stock)
        assert loa == stock and all(type(line) is str for line in loa), type(fast).__name__
        if isinstance(loa, markdown_fast._Lines) and loa.source is not None:
            assert loa.source == "\n".join(loa)


@pytest.mark.parametrize("change", [
    lambda lines: lines.append("# T"), lambda lines: lines.insert(0, "> q"), lambda lines: lines.extend(["", "    c"]),
    lambda lines: lines.__setitem__(0, "* i"), lambda lines: lines.__setitem__(slice(0, 1), ["1. i", ""]),
    lambda lines: lines.__delitem__(0), lambda lines: lines.pop(), lambda lines: lines.pop(0), lambda lines: lines.remove("b"),
    lambda lines: lines.reverse(), lambda lines: lines.sort(), lambda lines: lines.clear(),
    lambda lines: lines.__iadd__(["x"]), lambda lines: lines.__imul__(2),
])
def test_lines_changed_in_place_by_another_step_are_read_again(change):
    """A step of a third party that changes the lines in place between the first step and the next
    ones: they read the changed lines, as the stock steps do."""
    class Change(markdown.preprocessors.Preprocessor):
        def run(self, lines):
            change(lines)
            return lines

    text = "a\nb\n\n<b>c</b> {: .x }\n\n```\nd\n```\n"
    md, stock = _loa(), _stock()
    for m in (md, stock):
        m.preprocessors.register(Change(m), "change", 27)
    assert md.reset().convert(text) == stock.reset().convert(text)
    lines = markdown_fast._Lines("a\nb\n")
    change(lines)
    assert lines.source is None and markdown_fast._joined(lines) == "\n".join(lines)
