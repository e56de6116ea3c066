"""The editorial board's approval (pipeline/approval.py): what it binds, who may give it, the queue,
and the front matter Loa writes, which must read back exactly as written."""

import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline import approval, checks
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.content import read_all, read_post
from pipeline.frontmatter import read_front_matter, split_front_matter
from pipeline.hashes import APPROVAL_PARTS
from pipeline.messages import CATALOGUE
from tests.repo import PNG_1PX, ROOT, make_repo, post

PNG_RED = bytes.fromhex(  # another 1x1 PNG: the same name, other bytes
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415478da63f8cfc000000301010018dd8db00000000049454e44ae426082")

APPROVED = dict(channels=["portal", "facebook"], image="img/a.png", image_alt="Ảnh hội thi", summary="Tóm tắt.",
                social={"facebook": "Lời giới thiệu riêng cho Facebook."})


def _repo(tmp_path, **extra):
    make_repo(tmp_path, {"news/img/a.png": PNG_1PX, "news/a.md": post(**{**APPROVED, **extra})})
    cfg = load_config(tmp_path / "config.toml")
    return cfg, tmp_path / "content/news/a.md"


def _read(cfg, f):
    p, problems = read_post(f, cfg)
    assert p is not None, problems
    return p


def _approve_in_place(cfg, f):
    p = _read(cfg, f)
    f.write_text(approval.set_front_keys(f.read_text(), approval.approval_front(p, "Lê Thị Mai", cfg)))
    p = _read(cfg, f)
    assert approval.is_approved(p, cfg) and checks.is_approved(p, cfg)
    return p


# every part a reader of some channel receives: (part, how to change it in the file)
EDITS = [
    ("title", lambda t: t.replace("title: Phường 1 tổ chức", "title: Phường 1 tổ chức lại")),
    ("summary", lambda t: t.replace("summary: Tóm tắt.", "summary: Tóm tắt khác.")),
    ("body", lambda t: t.replace("năm 2024.", "năm 2024 tại hội trường.")),
    ("alt", lambda t: t.replace("image_alt: Ảnh hội thi", "image_alt: Ảnh khác")),
    ("correction", lambda t: t.replace("status: ready", "status: ready\ncorrection: Sửa ngày tổ chức thành 26/3.")),
    ("retraction", lambda t: t.replace("status: ready", "status: ready\nretracted: Thông tin chưa chính xác.")),
    ("social", lambda t: t.replace("Lời giới thiệu riêng", "Lời giới thiệu mới")),
    ("channels", lambda t: t.replace("- facebook", "- facebook\n- telegram")),
]


@pytest.mark.parametrize("part,edit", EDITS, ids=[e[0] for e in EDITS])
def test_every_part_a_reader_receives_voids_the_approval_and_is_named(tmp_path, part, edit):
    cfg, f = _repo(tmp_path)
    before = _approve_in_place(cfg, f)
    text = f.read_text()
    assert edit(text) != text
    f.write_text(edit(text))
    after = _read(cfg, f)
    assert not checks.is_approved(after, cfg)
    assert approval.changed_parts(after) == (part,)
    assert approval.current_hash(after) != before.approved_hash


def test_replacing_the_image_file_in_place_voids_the_approval(tmp_path):
    cfg, f = _repo(tmp_path)
    _approve_in_place(cfg, f)
    (tmp_path / "content/news/img/a.png").write_bytes(PNG_RED)
    after = _read(cfg, f)
    assert not checks.is_approved(after, cfg) and approval.changed_parts(after) == ("image",)


def test_a_correction_added_after_approval_waits_for_approval(tmp_path, monkeypatch, capsys):
    cfg, f = _repo(tmp_path)
    _approve_in_place(cfg, f)
    f.write_text(f.read_text().replace("status: ready", "status: ready\ncorrection: Sửa số đội thi thành 7."))
    monkeypatch.chdir(tmp_path)
    main(["check", "--lang", "en", "content/news/a.md"])
    assert ("approved by Lê Thị Mai, but the correction changed since; it needs approval again [approval.void]"
            in capsys.readouterr().out)
    main(["check", "content/news/a.md"])
    assert "bài đã được Lê Thị Mai duyệt nhưng sau đó đã sửa đính chính; cần duyệt lại [approval.void]" in capsys.readouterr().out


def test_what_is_not_read_by_anyone_keeps_the_approval(tmp_path):
    cfg, f = _repo(tmp_path)
    _approve_in_place(cfg, f)
    f.write_text(f.read_text().replace("publish_at: 2024-03-25 08:00", "publish_at: 2024-03-26 08:00")
                 .replace("- cchc", "- cchc\n- chuyen-doi-so"))
    assert checks.is_approved(_read(cfg, f), cfg)
    # nor does Unicode normalisation (what `loa check --fix` does), nor the order of the channels
    text = f.read_text()
    f.write_text(text.replace("Ảnh hội thi", unicodedata.normalize("NFD", "Ảnh hội thi"))
                 .replace("- portal\n- facebook", "- facebook\n- portal"))
    assert checks.is_approved(_read(cfg, f), cfg)


def test_the_hash_parts_are_the_ones_documented():
    assert APPROVAL_PARTS == ("title", "summary", "body", "image", "alt", "correction", "retraction", "social", "channels")
    for part in APPROVAL_PARTS:
        assert f"approval.part.{part}" in CATALOGUE


def test_an_approval_from_an_older_loa_is_void_and_says_so(tmp_path):
    cfg, f = _repo(tmp_path, approved_by="Lê Thị Mai", approved_hash="c7aeb85980b52c9e4ac5")
    p = _read(cfg, f)
    assert not checks.is_approved(p, cfg) and approval.changed_parts(p) is None
    [w] = approval.queue([p], cfg)
    assert w.describe("en") == "approved by Lê Thị Mai, changed since (recorded by an older Loa, which part is not known)"


# -- who may approve ------------------------------------------------------------------------------
def test_names_compare_after_nfc_whitespace_and_case():
    assert approval.same_person("Lê  Thị Mai", "Lê Thị Mai")
    assert approval.same_person(unicodedata.normalize("NFD", " lê thị\tMAI "), "Lê Thị Mai")
    assert not approval.same_person("Lê Thị Mai", "Lê Thị Mại")
    assert not approval.same_person("", "")
    assert approval.board_name("LÊ THỊ  MAI", ["Trần Văn Hùng", "Lê Thị Mai"]) == "Lê Thị Mai"


def test_approve_refuses_the_author_however_the_name_is_written(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"], author="Lê  Thị Mai")})
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "content/news/a.md"
    before = f.read_text()
    assert main(["approve", "content/news/a.md", "--by", unicodedata.normalize("NFD", "lê thị mai")]) == 2
    assert "là tác giả nên không thể tự duyệt bài của mình [approval.own-post]" in capsys.readouterr().err
    assert f.read_text() == before
    # and an approval written by hand by the author does not count
    f.write_text(approval.set_front_keys(before, {"approved_by": "Lê Thị Mai",
                                                  "approved_hash": approval.current_hash(_read(load_config(tmp_path / "config.toml"), f))}))
    cfg = load_config(tmp_path / "config.toml")
    assert not checks.is_approved(_read(cfg, f), cfg)
    assert any(p.code == "approval.own-post" for p in checks.check_post(_read(cfg, f), cfg))


def test_board_membership_compares_names_the_same_way(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"])})
    monkeypatch.chdir(tmp_path)
    assert main(["approve", "content/news/a.md", "--by", "Lê  Thị Mai"]) == 0
    text = (tmp_path / "content/news/a.md").read_text()
    assert "approved_by: Lê Thị Mai\n" in text  # the board's spelling
    assert main(["approve", "content/news/a.md", "--by", "Ai Đó", "--lang", "en"]) == 2
    assert capsys.readouterr().err.endswith(
        "loa: Ai Đó is not an editorial board member (Trần Văn Hùng, Lê Thị Mai, Phạm Quốc Bảo) [approval.refused-not-board]\n")


def test_approve_refuses_a_draft(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"], status="draft")})
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "content/news/a.md").read_text()
    assert main(["approve", "content/news/a.md", "--by", "Lê Thị Mai"]) == 1
    assert capsys.readouterr().err == ("loa: bài `content/news/a.md` còn là bản nháp (`status: draft`); chỉ duyệt bài "
                                       "`status: ready` [approval.refused-draft]\n")
    assert main(["approve", "content/news/a.md", "--by", "Lê Thị Mai", "--lang", "en"]) == 1
    assert "`content/news/a.md` is a draft (`status: draft`); only a `status: ready` post can be approved" in capsys.readouterr().err
    assert (tmp_path / "content/news/a.md").read_text() == before


def test_approve_refuses_a_post_with_check_errors(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"], unit="phuong-99", image="khong-co.png", image_alt="Ảnh")})
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "content/news/a.md").read_text()
    assert main(["approve", "content/news/a.md", "--by", "Lê Thị Mai", "--lang", "en"]) == 1
    assert capsys.readouterr().err == (
        "loa: `content/news/a.md` has 2 error(s) (post.unknown-unit, image.missing); run `loa check content/news/a.md` "
        "and fix them before approving [approval.refused-errors]\n")
    assert (tmp_path / "content/news/a.md").read_text() == before


# -- the queue ------------------------------------------------------------------------------------
def test_approve_list_shows_the_queue_with_what_changed(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {
        "news/img/a.png": PNG_1PX,
        "news/a.md": post(id="a", **APPROVED),
        "news/b.md": post(id="b", title="Bài B", channels=["portal"]),
        "news/c.md": post(id="c", title="Bài C", channels=["portal"], status="draft"),
        "news/d.md": post(id="d", title="Bài D", channels=["facebook"]),  # needs no approval
        "news/e.md": post(id="e", title="Bài E", channels=["portal"]),
    })
    monkeypatch.chdir(tmp_path)
    for name in ("a", "e"):
        assert main(["approve", f"content/news/{name}.md", "--by", "Lê Thị Mai"]) == 0
    a = tmp_path / "content/news/a.md"
    a.write_text(a.read_text().replace("title: Phường 1 tổ chức", "title: Phường 1 tổ chức lại")
                 .replace("status: ready", "status: ready\ncorrection: Sửa số đội thi."))
    capsys.readouterr()
    assert main(["approve", "--list", "--lang", "en"]) == 0
    out = capsys.readouterr()
    assert out.out == ("content/news/a.md\tportal\tapproved by Lê Thị Mai; since then changed: the title and the correction\n"
                       "content/news/b.md\tportal\tnever approved\n")
    assert out.err == "2 post(s) waiting for the editorial board\n"
    assert main(["approve", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "content/news/a.md\tportal\tLê Thị Mai đã duyệt, sau đó sửa tiêu đề và đính chính",
        "content/news/b.md\tportal\tchưa được duyệt"]


def test_approve_without_path_or_by_is_a_usage_error(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"])})
    monkeypatch.chdir(tmp_path)
    assert main(["approve", "content/news/a.md"]) == 2
    assert "--list" in capsys.readouterr().err


# -- the sample content -----------------------------------------------------------------------------
def test_the_sample_content_stays_approved():
    cfg = load_config(ROOT / "config.toml")
    posts, _ = read_all(cfg)
    approved = [p for p in posts if p.approved_hash]
    assert len(approved) >= 10
    for p in approved:
        assert checks.is_approved(p, cfg), p.relpath
    assert [w.post.relpath for w in approval.queue(posts, cfg)] == ["content/news/2024/phuong-rach-dua-so-hoa-ho-so-ho-tich.md"]


# -- front matter Loa writes reads back as written ----------------------------------------------------
def _front(text):
    raw = split_front_matter(text)
    assert raw is not None, text
    value, lines, error = read_front_matter(raw.front)
    assert error is None, (error, text)
    assert value == yaml.load(raw.front, Loader=yaml.SafeLoader) or _without_timestamps(raw.front) == value
    return value, raw


def _without_timestamps(front):
    from pipeline.frontmatter import loader

    return yaml.load(front, Loader=loader())


def test_a_second_retract_after_a_long_reason_leaves_a_readable_file(tmp_path, monkeypatch):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"])})
    monkeypatch.chdir(tmp_path)
    long_reason = "Thông tin về thời gian tổ chức hội thi chưa chính xác, " * 6 + "đã được Ban biên tập yêu cầu gỡ."
    assert main(["retract", "content/news/a.md", "--reason", long_reason]) == 0
    assert main(["retract", "content/news/a.md", "--reason", "Gỡ theo yêu cầu"]) == 0
    value, _ = _front((tmp_path / "content/news/a.md").read_text())
    assert value["retracted"] == "Gỡ theo yêu cầu" and value["status"] == "ready"


def test_rewriting_a_value_hand_written_over_several_lines_replaces_all_of_it():
    text = ("---\nid: a\nretracted: >-\n  một lý do dài\n  viết trên hai dòng\n\n# ghi chú\nsocial:\n  facebook: |\n"
            "    dòng 1\n    dòng 2\n\nstatus: ready\nretracted: lần hai\n---\n\nThân bài.\n")
    out = approval.set_front_keys(text, {"retracted": "mới", "social": {"facebook": "x"}})
    assert out == "---\nid: a\nretracted: mới\n\n# ghi chú\nsocial:\n  facebook: x\n\nstatus: ready\n---\n\nThân bài.\n"


KEYS = ["title", "summary", "image_alt", "correction", "retracted", "approved_by", "approved_hash", "author", "social"]
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=300)
_value = st.one_of(
    _text,
    st.lists(st.sampled_from(["Lê Thị \"Mai\"", "it's", "dòng 1\ndòng 2", "x: y", "# không", "- a", "'", '"', "  ",
                              "Thông tin chưa chính xác, " * 8, "\\n", "---", "...", "yes", "2024-03-25", "1e3", "null",
                              "\t", "\r", "\u2028", "é"]), max_size=12).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(st.tuples(st.sampled_from(KEYS), _value), min_size=1, max_size=12))
def test_front_matter_loa_writes_reads_back_unchanged(writes):
    text = post(channels=["portal"], summary="Tóm tắt.") + "Đoạn cuối.\n"
    expected, raw0 = _front(text)
    for key, value in writes:
        value = {"facebook": value, "zalo": value[::-1]} if key == "social" else value
        text = approval.set_front_keys(text, {key: value})
        expected[key] = value
        got, raw = _front(text)
        assert got == expected
        assert raw.body == raw0.body  # the body is never touched


def test_loa_new_writes_front_matter_that_reads_back(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    title = 'Hướng dẫn "nộp hồ sơ": bước 1 - it\'s ' + "rất dài " * 20
    assert main(["new", "news", title, "--unit", "phuong-1", "--at", "2024-03-25 08:00", "--author", "Lê  Thị Mai",
                 "--topic", "cchc"]) == 0
    path = tmp_path / capsys.readouterr().out.strip()
    value, _ = _front(path.read_text())
    assert value["title"] == title and value["author"] == "Lê  Thị Mai" and value["topics"] == ["cchc"]
    assert value["publish_at"] == "2024-03-25 08:00"


def test_check_fix_keeps_front_matter_written_by_loa_readable(tmp_path, monkeypatch):
    nfd = unicodedata.normalize("NFD", "Đính chính: số đội thi là 7, không phải 6 'như đã đưa'.\nDòng hai.")
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"], status="draft")})
    f = tmp_path / "content/news/a.md"
    f.write_text(approval.set_front_keys(f.read_text(), {"correction": nfd, "retracted": "x " * 80}))
    monkeypatch.chdir(tmp_path)
    main(["check", "--fix"])
    value, _ = _front(f.read_text())
    assert value["correction"] == unicodedata.normalize("NFC", nfd) and value["retracted"] == "x " * 80


def test_approval_messages_exist_in_both_languages():
    codes = [c for c in CATALOGUE if c.startswith("approval.")]
    assert len(codes) >= 20
    for c in codes:
        vi, en = CATALOGUE[c]
        assert vi and en and vi != en, c


def test_approval_module_is_a_stage():
    src = Path(approval.__file__).read_text()
    assert "pipeline.app" not in src and "pipeline.commands" not in src


def test_a_sessions_kept_approvals_follow_every_edit(tmp_path):
    """The plan reads each post version's approval from the session (``Session._approved``,
    worked out ahead by ``check_across`` while ``loa preview`` renders). A session kept over
    edits that void the approval and approvals that renew it decides, at every step, as a
    fresh session does (whose plan asks :func:`checks.is_approved` as it goes)."""
    import os
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipeline.app import Session

    cfg, f = _repo(tmp_path)
    cfg = load_config(tmp_path / "config.toml", env={})
    now = datetime(2024, 3, 26, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    clock = [1_700_000_000 * 10**9]

    def write(text):
        f.write_text(text, encoding="utf-8")
        clock[0] += 10**9
        os.utime(f, ns=(clock[0], clock[0]))

    def verdicts(session, ahead):
        content = session.content()
        if ahead:
            session.check_across(content)
        return [(d.post_id, d.channel, d.kind, d.action, str(d.reason), d.at)
                for d in session.plan(now, content=content).decisions]

    def fresh():
        with Session.open(cfg, env={}) as s:
            return verdicts(s, False)

    seen = set()
    with Session.open(cfg, env={}) as kept:
        for part, edit in EDITS:
            _approve_in_place(cfg, f)
            write(f.read_text(encoding="utf-8"))
            got = verdicts(kept, True)
            assert got == fresh()
            seen.update(v[4] for v in got)
            write(edit(f.read_text(encoding="utf-8")))  # voids the approval
            got = verdicts(kept, part != "title")
            assert got == fresh()
            seen.update(v[4] for v in got)
    assert "awaiting-approval" in seen and "" in seen  # held while void, due while approved


def test_the_hash_is_worked_out_once_for_a_post_asked_about_twice(tmp_path, monkeypatch):
    """``current_hash`` keeps the last post it hashed (the preview's workers check a post, then
    ask whether it is approved): the same post object is hashed once; another post, even one read
    from the same file, is hashed again and gets its own answer."""
    cfg, f = _repo(tmp_path)
    p = _approve_in_place(cfg, f)
    monkeypatch.setattr(approval, "_LAST_HASHED", None)  # _approve_in_place asked about p already
    hashed = []
    parts_of = approval.parts_of
    monkeypatch.setattr(approval, "parts_of", lambda post: hashed.append(post) or parts_of(post))
    first = approval.current_hash(p)
    assert approval.current_hash(p) == first and checks.is_approved(p, cfg) and len(hashed) == 1
    f.write_text(f.read_text().replace("title: Phường 1 tổ chức", "title: Phường 1 tổ chức lại"))
    edited = _read(cfg, f)
    second = approval.current_hash(edited)
    assert second != first and not checks.is_approved(edited, cfg)
    again = _read(cfg, f)
    assert again is not edited and approval.current_hash(again) == second
    assert hashed == [p, edited, again]
