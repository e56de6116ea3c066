"""The post's text on plain-text channels (pipeline/plaintext.py, docs/channels.md): numbered steps
stay numbered, tables read as lines, on Zalo, Facebook, Telegram and Mastodon, on the sample guides."""

from __future__ import annotations

import re

import pytest

from pipeline.checks import check_renderings
from pipeline.config import load_config
from pipeline.content import read_post
from pipeline.plaintext import to_text
from pipeline.render import Renderer, new_markdown
from tests.repo import ROOT, make_repo
from tests.servers.telegram import visible

GUIDES = sorted((ROOT / "content/guide/2024").glob("*.md"))
BIRTH = "huong-dan-dang-ky-khai-sinh-truc-tuyen.md"
POSTAL = "huong-dan-gui-ho-so-va-nhan-ket-qua-qua-buu-chinh-cong-ich.md"


def md(text: str) -> str:
    return new_markdown().convert(text)


# -- the conversion ------------------------------------------------------------------------------------
def test_ordered_lists_keep_their_numbers_and_nesting():
    text = md("3. Đăng nhập\n4. Chọn thủ tục\n    1. Hộ tịch\n    2. Cư trú\n        - bản chụp\n5. Nộp\n\nXong.")
    assert to_text(text) == ("3. Đăng nhập\n4. Chọn thủ tục\n   1. Hộ tịch\n   2. Cư trú\n      - bản chụp\n5. Nộp\n\nXong.")


def test_a_nested_list_starts_at_the_number_its_author_wrote():
    assert to_text('<ol><li>a<ol start="7"><li>b</li><li>c</li></ol></li><li>d</li></ol>') == \
        "1. a\n   7. b\n   8. c\n2. d"


def test_a_loose_list_keeps_each_paragraph_under_its_number():
    text = md("1. Bước một.\n\n    Ghi chú của bước một.\n\n2. Bước hai.\n")
    assert "<p>" in text  # Markdown made a loose list: paragraphs inside the items
    assert to_text(text) == "1. Bước một.\n   Ghi chú của bước một.\n2. Bước hai."


def test_a_two_column_table_reads_label_value():
    text = md("| Phí | 8.000 đồng |\n| --- | --- |\n| Thời hạn | 03 ngày làm việc |\n| Nơi nộp | |\n")
    assert to_text(text) == "Phí: 8.000 đồng\nThời hạn: 03 ngày làm việc\nNơi nộp"


def test_a_wider_table_reads_one_line_per_row_with_its_headers():
    text = md("Bảng phí:\n\n| Nội dung | Mức thu | Căn cứ |\n| --- | --- | --- |\n"
              "| Bản sao trích lục | 8.000 đồng/bản | TT 281/2016 |\n| Khai sinh đúng hạn | Miễn | |\n\nHết.")
    assert to_text(text) == ("Bảng phí:\n\n- Bản sao trích lục — Mức thu: 8.000 đồng/bản; Căn cứ: TT 281/2016\n"
                             "- Khai sinh đúng hạn — Mức thu: Miễn\n\nHết.")


def test_a_table_without_header_cells_and_a_one_column_table():
    assert to_text("<table><tr><td>a</td><td>b</td><td>c</td></tr></table>") == "- a; b; c"
    assert to_text("<table><tr><th>Bước</th></tr><tr><td>Đăng nhập</td></tr></table>") == "Bước\nĐăng nhập"



# White space as the writer reads it (both readings share the writer, so the tests comparing them
# cannot see a change here): between tags a space at most, a line break inside text stays one,
# white space other than ASCII kept inside text, list continuation lines indented.
@pytest.mark.parametrize("fragment, text", [
    ('<p>a</p> b', 'a\n\nb'),
    ('<p>a</p>\n<p> b </p>\n', 'a\n\nb'),
    ('x<strong>\n</strong>y', 'x y'),
    ('x\ny', 'x\ny'),
    ('x \n y', 'x\ny'),
    ('a<b>\xa0</b>b', 'a b'),
    ('a\xa0 b', 'a\xa0 b'),
    ('a\t\t b\r\nc\x0cd\x0be', 'a b\nc d e'),
    ('<h2>  Tiêu   đề  </h2>Đoạn', 'Tiêu đề\n\nĐoạn'),
    ('<ul><li>a\nb</li><li> c</li></ul>d', '- a\n   b\n- c\n\nd'),
    ('<ol><li><p>Bước</p><p>Ghi chú</p></li><li>hai<br>ba</li></ol>', '1. Bước\n   Ghi chú\n2. hai\n   ba'),
    ('<ul><li>a<ul><li>b<ul><li>c\nd</li></ul></li></ul></li></ul>', '- a\n   - b\n      - c\n         d'),
    ('<li>x</li>\n<li>y</li>', '- x\n- y'),
    ('<p>a<br>\n b</p>', 'a\nb'),
    ('<table><tr><td> a\n b </td><td>\xa0</td></tr></table> c', 'a b\n\nc'),
    ('<ol start="2"><li>x</li></ol><p>y</p><ul><li>z</li></ul>', '2. x\n\ny\n\n- z'),
    ('a&nbsp;&#9;b &amp; c', 'a\xa0 b & c'),
])
def test_white_space_lines_and_indentation(fragment, text):
    assert to_text(fragment) == text
    assert to_text(fragment, fast=False) == text

def test_the_fast_reading_and_the_parser_agree_on_every_sample_guide():
    for path in GUIDES:
        html = md(path.read_text(encoding="utf-8").split("---", 2)[2])
        assert to_text(html) == to_text(html, fast=False), path.name


# -- every channel, on the sample guides ----------------------------------------------------------------
TELEGRAM_TEMPLATE = "<b>{{ post.title }}</b>\n\n{{ content_html | plain_text }}\n\n<a href=\"{{ link }}\">Xem chi tiết</a>\n"
MASTODON_TEMPLATE = "{{ post.title }}\n\n{{ content_html | plain_text }}\n\n{{ link }}\n"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample repository; its own telegram and mastodon templates put the whole body in."""
    root = make_repo(tmp_path_factory.mktemp("repo"), sample_content=True)
    (root / "templates/telegram").mkdir(parents=True)
    (root / "templates/telegram/post.html").write_text(TELEGRAM_TEMPLATE, encoding="utf-8")
    (root / "templates/mastodon").mkdir(parents=True)
    (root / "templates/mastodon/post.txt").write_text(MASTODON_TEMPLATE, encoding="utf-8")
    return root


def guide(cfg, name: str):
    post, problems = read_post(cfg.content_dir / "guide/2024" / name, cfg)
    assert post is not None, problems
    return post


def steps_of(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^(\d+)\. ", text, re.M)]


BIRTH_FEE = "- Bản sao trích lục khai sinh (nếu yêu cầu thêm) — Mức thu: 8.000 đồng/bản; Căn cứ: Thông tư số 281/2016/TT-BTC"


@pytest.mark.parametrize("channel", ["zalo", "facebook"])
def test_shipped_templates_read_the_birth_guide_numbered_with_its_fee_table(tmp_path, channel):
    cfg = load_config(make_repo(tmp_path, sample_content=True) / "config.toml", env={})
    r = Renderer(cfg).render(guide(cfg, BIRTH), channel)
    assert steps_of(r.body) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "3. Chọn cơ quan thực hiện: tỉnh Bà Rịa - Vũng Tàu, Thành phố Vũng Tàu, phường Thắng Nhất." in r.body
    assert BIRTH_FEE in r.body.split("\n")
    assert "|" not in r.body and "\n- 1." not in r.body


def test_zalo_keeps_a_list_in_one_paragraph_and_a_table_in_another():
    """The Zalo publisher makes one text paragraph per blank-line block: the steps stay together."""
    cfg = load_config(ROOT / "config.toml", env={})
    r = Renderer(cfg).render(guide(cfg, POSTAL), "zalo")
    paragraphs = r.body.split("\n\n")
    steps = next(p for p in paragraphs if p.startswith("1. "))
    assert steps_of(steps) == [1, 2, 3, 4, 5, 6, 7]
    table = next(p for p in paragraphs if p.startswith("- Gửi hồ sơ qua bưu chính"))
    assert table.split("\n")[2] == ("- Cả hai — Người dân làm gì: Kết hợp hai hình thức trên; "
                                    "Phù hợp khi: Người cao tuổi, người bận công việc, ở xa")


def test_telegram_html_reads_numbered_and_escaped(sample):
    cfg = load_config(sample / "config.toml", env={})
    post = guide(cfg, "huong-dan-tra-cuu-tinh-trang-ho-so.md")
    r = Renderer(cfg).render(post, "telegram")
    shown, _entities = visible(r.body, "HTML")  # what Telegram's HTML parser shows the reader
    assert steps_of(shown) == [1, 2, 3, 4, 1, 2, 3]
    assert "- Yêu cầu bổ sung — Ý nghĩa: Hồ sơ thiếu hoặc chưa hợp lệ; Người dân cần làm gì: Đọc nội dung yêu cầu " \
           "và bổ sung trên hồ sơ đã nộp" in shown.split("\n")
    assert r.kind == "caption" and r.length == len(shown)


def test_telegram_escapes_what_the_body_says_in_angle_brackets(tmp_path):
    from tests.repo import post as make_post

    body = "1. Nộp phí <50.000đ> & nhận biên lai\n2. Xong\n"
    root = make_repo(tmp_path, {"guide/2024/a.md": make_post(type="guide", body=body)})
    (root / "templates/telegram").mkdir(parents=True)
    (root / "templates/telegram/post.html").write_text(TELEGRAM_TEMPLATE, encoding="utf-8")
    cfg = load_config(root / "config.toml", env={})
    p, _ = read_post(cfg.content_dir / "guide/2024/a.md", cfg)
    r = Renderer(cfg).render(p, "telegram")
    assert "1. Nộp phí &lt;50.000đ&gt; &amp; nhận biên lai\n2. Xong" in r.body
    assert "1. Nộp phí <50.000đ> & nhận biên lai\n2. Xong" in visible(r.body, "HTML")[0]


def test_mastodon_reads_numbered_and_its_500_characters_still_hold(sample):
    cfg = load_config(sample / "config.toml", env={})
    post = guide(cfg, POSTAL)
    renderer = Renderer(cfg)
    r = renderer.render(post, "mastodon")
    assert steps_of(r.body) == [1, 2, 3, 4, 5, 6, 7]
    assert r.limit == 500 and r.over_limit
    over = [p for p in check_renderings(post, renderer) if p.code == "channel.over-limit"]
    assert sorted(p.args["channel"] for p in over) == ["mastodon", "telegram"]  # a guide fits neither


def test_shipped_templates_keep_every_sample_guide_within_every_channel_limit():
    cfg = load_config(ROOT / "config.toml", env={})
    renderer = Renderer(cfg)
    for path in GUIDES:
        post, _ = read_post(path, cfg)
        for channel in ("facebook", "zalo", "telegram", "mastodon"):
            r = renderer.render(post, channel)
            assert not r.over_limit, (path.name, channel, r.length, r.limit)
        assert not [p for p in check_renderings(post, renderer) if p.code == "channel.over-limit"], path.name


def test_the_portal_keeps_the_number_the_author_wrote(tmp_path):
    from tests.repo import post as make_post

    root = make_repo(tmp_path, {"guide/2024/a.md": make_post(type="guide", body="Tiếp theo:\n\n3. Ký nhận\n4. Lưu mã\n")})
    cfg = load_config(root / "config.toml", env={})
    p, _ = read_post(cfg.content_dir / "guide/2024/a.md", cfg)
    renderer = Renderer(cfg)
    assert '<ol start="3">' in renderer.article_html(p)  # kept by the sanitiser too
    assert "3. Ký nhận\n4. Lưu mã" in renderer.render(p, "zalo").body


def test_hostile_nesting_stays_linear():
    depth = 3000
    text = to_text("<ul><li>x" * depth + "</li></ul>" * depth)
    assert text.count("\n") == depth - 1 and len(text) < depth * 30
    assert text.split("\n")[-1] == "                  - x"  # the sixth level, not the 3000th


def test_telegrams_own_html_formatter_reads_tables_and_numbers_as_the_plain_text_does():
    """publishers.telegram.to_telegram_html keeps bold and links for Telegram; its tables and list
    numbers come from the same rules (plaintext.table_lines, start_number)."""
    from publishers.telegram import to_telegram_html

    html = md((ROOT / "content/guide/2024" / BIRTH).read_text(encoding="utf-8").split("---", 2)[2])
    shown, _entities = visible(to_telegram_html(html), "HTML")
    plain = to_text(html)
    assert steps_of(shown) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert BIRTH_FEE in shown.split("\n") and BIRTH_FEE in plain.split("\n")
    assert "|" not in shown
    assert visible(to_telegram_html(md("Tiếp:\n\n3. Ký\n4. Lưu mã & số\n")), "HTML")[0] == "Tiếp:\n\n3. Ký\n4. Lưu mã & số"


@pytest.mark.parametrize("fragment, text", [
    # 09305e4 gave every fragment with a tag whose name starts with script/style to the parser
    # (a search for "<script"/"<style", any case): the fast reading reads start= in other attribute
    # values (data-start, a title holding start=) where the parser does not, so where a fragment
    # goes decides its text. Found by a differential fuzzer against 09305e4.
    ('<ol data-start="5"><li>x</li></ol><scriptx></scriptx>', "1. x"),
    ('<ol title="&quot;start=4"><li>x</li></ol><STYLEsheet>', "1. x"),
    ('<ol data-start="5"><li>x</li></ol></Scripts>', "1. x"),
    ('<ol data-start="5"><li>x</li></ol>', "1. x"),  # no such tag: 5 then, the parser's 1 now (see below)
])
def test_tags_named_like_script_or_style_go_to_the_parser_as_before(fragment, text):
    assert to_text(fragment) == text
    assert to_text("<p>a</p>") == "a" and to_text("<p>a</p>" + fragment) == "a\n\n" + text  # also taken up


@pytest.mark.parametrize("attrs", ['data-start="5"', 'title="a start=4"', 'title="&quot;start=4"', 'start=6',
                                   'start="3" data-x="1"', 'reversed start="2"', 'START="7"', 'start="&#52;"', ""])
def test_an_ordered_lists_start_is_read_as_the_parser_reads_it(attrs):
    """Only a real ``start`` attribute numbers a list: the fast reading takes an <ol> whose only
    attribute is ``start="N"`` (what Markdown writes) and leaves any other to the parser, which
    knows which attribute is which (before, ``data-start="5"`` numbered the list from 5 when read
    fast and from 1 by the parser)."""
    fragment = f"<ol {attrs}><li>một</li><li>hai</li></ol>"
    assert to_text(fragment) == to_text(fragment, fast=False)
