"""The fast ways inside pipeline.checks give the slow way's answer (differential tests)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline import checks

# what the pattern tells apart: scheme letters (İ ı ſ K also match [a-z] under re.I), digits, + . -,
# '_' (a \w that is no scheme character), Vietnamese letters, spaces, and what starts raw HTML
PIECES = st.sampled_from(["a", "Z", "h", "t", "p", "s", "1", "+", ".", "-", "_", ":", " ", "\n", "\t", "\u0130",
                          "\u0131", "\u017f", "\u212a", "é", "ệ", "Đ", "/", "<", "{", "²", "http:", "https:",
                          "HTTPS:", "mailto:", "tel:", "javascript:", "data:", "Phí: ", "x-y.z+1:"])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
@example("javascript:alert(1)")
@example("Xem https://dichvucong.gov.vn và mailto:a@b.vn")
@example("Phí: 8.000 đồng; giờ 8:00")
@example("_javascript:x")
@example("ệjavascript:x")
@example("\u212ajava:x")
@example("hthttp:x")
@example("http: x")
@example("a:")
def test_may_lose_fast_is_the_search(body):
    assert checks.may_lose(body) == checks.may_lose(body, fast=False)


def test_may_lose_on_realistic_bodies():
    assert not checks.may_lose("Liên hệ: 0254.3852.123, https://vungtau.gov.vn hoặc tel:02543852123.")
    assert checks.may_lose("Xem [tại đây](javascript:alert(1))")
    assert checks.may_lose("Bảng {: .lon}") and checks.may_lose("<b>đậm</b>")
    assert not checks.may_lose("Giờ làm việc 7:30 - 17:00") and checks.may_lose("x ftp:server")


def test_placeholders_are_found_in_nfd_text_and_nfc_text_is_searched_once():
    import unicodedata

    from pipeline import scaffold

    body = "Đoạn đầu.\n\n[Viết ở đây: thủ tục cần những giấy tờ gì]\n"
    want = [(2, 1, "[Viết ở đây: thủ tục cần những giấy tờ gì]")]
    assert scaffold.placeholders(body) == want
    assert scaffold.placeholders(unicodedata.normalize("NFD", body)) == want  # found after NFC
    plain = "Đoạn đầu. Thủ tục cần những giấy tờ gì?\n"
    assert scaffold.placeholders(plain) == scaffold.placeholders(unicodedata.normalize("NFD", plain)) == []


# what the placeholder pattern tells apart: its markers and the texts `loa new` wrote before, in
# both cases, NFC and NFD, cut in pieces, with the brackets, colons, parentheses and line breaks
# around them, and letters that re.I matches to ASCII ones (K ſ ı İ)
_NFD_MARKER = "Vie\u0302\u0301t o\u031b\u0309 \u0111a\u0302y"
PLACEHOLDER_PIECES = st.sampled_from([
    "[", "]", "(", ")", ".", ":", " ", "\n", "\t", "a", "Đ", "ệ", "\u212a", "\u017f", "\u0131", "\u0130",
    "Viết ở đây", "VIẾT Ở ĐÂY", "viết ở", " đây", _NFD_MARKER, "Write here", "WRITE HERE", "w\u0280ite here",
    "Viết nội dung bài ở đây", "VIẾT NỘI DUNG BÀI Ở ĐÂY", "Write the post here", "wRITE THE POST HERE",
    "(Markdown).", "(MARKDOWN).", "(Mar\u212adown).", "[Viết ở đây: ", "[ Write here : hint]", "](a.md)",
    "Viết nội dung bài ở đây (Markdown).", "Write the post here (Markdown).", "[tại đây](http://x.vn)"])


@settings(max_examples=600, deadline=None)
@given(st.lists(PLACEHOLDER_PIECES, max_size=30).map("".join))
@example("[Viết ở đây: giấy tờ]")
@example("x" * 30 + "Write the post here (Markdown).")
@example("Write the post here (Markdown).")
@example("WRITE THE POST HERE (MAR\u212aDOWN).")
@example("Viết nội dung bài ở đây (Markdown).")
@example("[" + _NFD_MARKER + ": a]")
@example("Xem [tại đây](a.md) (x). [Write here:")
def test_placeholders_fast_is_the_search(body):
    from pipeline import scaffold

    assert scaffold.placeholders(body) == scaffold.placeholders(body, fast=False)


def test_placeholder_anchors_cover_every_alternative():
    from pipeline import scaffold

    scaffold.placeholders("")
    pattern, anchors = scaffold._PLACEHOLDER[0]
    assert anchors is not None and ("[", 0) in anchors and len(anchors) == 3  # '[' and each old text's '('
    for text in ("Viết nội dung bài ở đây (Markdown).", "Write the post here (Markdown).", "[Write here: a]"):
        m = pattern.search("ab\n" + text)
        assert m and any(m.string[m.start() + off:m.start() + off + 1] == c for c, off in anchors)


def _bare_post(**fields):
    from pathlib import Path
    from types import MappingProxyType

    from pipeline.models import Post

    base = dict(path=Path("/x/content/news/a.md"), relpath="content/news/a.md", id="a", title="Tiêu đề", type="news",
                unit="u", author="Lê Minh Tuấn", publish_at=None, expire_at=None, topics=(), channels=("portal",),
                status="ready", summary="", body="Nội dung.\n", body_line=12, slug="a", image=None, image_path=None,
                image_alt=None, image_hash=None, social=MappingProxyType({}), approved_by=None, approved_hash=None,
                correction=None, correction_at=None, retracted=None, source_hash="0",
                lines=MappingProxyType({"title": 3, "summary": 5, "image_alt": 7, "social": 8, "correction": 9}))
    base.update(fields)
    return Post(**base)


# text around the control characters CONTROL finds (C0 but tab and newline, DEL, C1, bidi
# embeddings, overrides and isolates) and their neighbours it leaves (tab, newline, U+00A0, U+202F, U+2065)
CONTROL_TEXT = st.lists(st.sampled_from(["a", "ệ", "Đ", " ", "\n", "\t", "\r", "\x00", "\x08", "\x0b", "\x1b", "\x1f",
                                         "\x7f", "\x85", "\x9f", "\xa0", "\u202a", "\u202e", "\u202f", "\u2065",
                                         "\u2066", "\u2069", "\u2028", "\u00ad", "\u200b", "\ufeff", "\u3000",
                                         "[a](b.md)", "Viết ở đây"]), max_size=12).map("".join)


def test_every_control_character_is_unprintable():
    """check_control's fast way takes a printable text (line breaks and tabs aside) for one without any."""
    import sys

    from pipeline.controls import CONTROL

    assert not any(chr(c).isprintable() for c in range(sys.maxunicode + 1) if CONTROL.match(chr(c)))
    assert not CONTROL.match("\n") and not CONTROL.match("\t")


@settings(max_examples=500, deadline=None)
@given(title=CONTROL_TEXT, summary=CONTROL_TEXT, body=CONTROL_TEXT, alt=st.none() | CONTROL_TEXT,
       correction=st.none() | CONTROL_TEXT, retracted=st.none() | CONTROL_TEXT,
       social=st.dictionaries(st.sampled_from(["facebook", "zalo"]), CONTROL_TEXT, max_size=2),
       summary_written=st.booleans())
@example(title="", summary="\x1b", body="a", alt=None, correction=None, retracted=None, social={}, summary_written=False)
@example(title="a", summary="", body="x\n\u202ey", alt=None, correction=None, retracted=None, social={"zalo": "\x7f"},
         summary_written=True)
def test_check_control_fast_is_the_field_by_field_search(title, summary, body, alt, correction, retracted, social,
                                                         summary_written):
    from types import MappingProxyType

    lines = {"title": 3, "image_alt": 7, "social": 8, "correction": 9, **({"summary": 5} if summary_written else {})}
    post = _bare_post(title=title, summary=summary, body=body, image_alt=alt, correction=correction, retracted=retracted,
                      social=MappingProxyType(social), lines=MappingProxyType(lines))
    assert checks.check_control(post) == checks.check_control(post, fast=False)


# Markdown links and what breaks them: images, titles, schemes, anchors, brackets over a line
# break, lines without a link, Vietnamese text, control characters
LINK_PIECES = st.sampled_from(["[a](b.md)", "[Hướng dẫn](../guide/c.md#muc)", "![ảnh](x.png)", "[x](https://a.vn)",
                               "[x](/tuyet-doi.md)", "[x](#neo)", "[x](a.md \"tiêu đề\")", "[x](JavaScript:alert(1))",
                               "[", "]", "(", ")", "](", "](c.md)", "!", " ", "\n", "\n\n", "\t", "\r", "\x1b", "\u202e",
                               "a", "ệ", "Đ", "#", "/", ".md", "mailto:", "[x](tel:1)", "[a\nb](c.md)", "\"", "[đ](đ.md)"])


@settings(max_examples=600, deadline=None)
@given(st.lists(LINK_PIECES, max_size=30).map("".join))
@example("[a](b.md)")
@example("\n[a](b.md)\n")
@example("x\n\n[a](b.md) [c](d.md)\n[e](f.md)")
@example("](")
@example("[a\n](b.md)")
def test_relative_links_fast_is_the_line_by_line_search(body):
    post = _bare_post(body=body)
    assert checks._relative_links(post) == checks._relative_links(post, fast=False)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["a", "z", "0", "9", "-", "_", " ", "\t", "\n", "\x1c", "A", "Đ", "đ", "ệ",
                                 "e\u0301", "\u212a", "\u0130", "ß", "--", "hoà", "HÒA"]), min_size=1, max_size=12).map("".join))
@example("cac-buoc-thuc-hien-2024")
@example("a b")
@example("ab\n")
@example("Ab")
def test_slug_key_fast_is_the_fold(slug):
    from pipeline.vietnamese import fold

    assert checks._slug_key(_bare_post(slug=slug)) == fold(slug).replace(" ", "-")
