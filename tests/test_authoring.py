"""``loa new guide|news`` writes the sections the type needs; what it leaves to fill is a
``loa check`` error once the post is ready (pipeline/scaffold.py, checks.check_placeholders)."""

from __future__ import annotations

import json
import re

from pipeline.checks import check_post
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.content import read_post
from pipeline.render import Renderer
from tests.repo import make_repo, post

GUIDE_SECTIONS = ["Đối tượng", "Hồ sơ cần chuẩn bị", "Các bước thực hiện", "Phí, lệ phí", "Thời hạn giải quyết",
                  "Cơ quan giải quyết", "Liên hệ"]
GUIDE = "content/guide/2024/huong-dan-cap-ban-sao-trich-luc-khai-sinh.md"


def new_guide(tmp_path, monkeypatch, *extra: str):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*extra, "new", "guide", "Hướng dẫn cấp bản sao trích lục khai sinh", "--unit", "phuong-1",
                 "--at", "2024-05-02 08:00", "--author", "Nguyễn Văn An"]) == 0
    return tmp_path / GUIDE


def check_json(capsys, *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main(["check", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)["problems"]


def test_new_guide_has_every_section_a_how_to_guide_needs(tmp_path, monkeypatch, capsys):
    path = new_guide(tmp_path, monkeypatch)
    text = path.read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", text, re.M) == GUIDE_SECTIONS
    body = text.split("---\n", 2)[2]
    assert "1. [Viết ở đây: bước đầu tiên" in body and "\n2. [Viết ở đây: bước tiếp theo]" in body
    assert "| Nội dung | Mức thu |\n| --- | --- |\n| [Viết ở đây: tên khoản phí] |" in body
    assert "status: draft" in text
    # a draft may keep its placeholders: loa check passes and says nothing about them
    code, problems = check_json(capsys)
    assert code == 0 and "post.placeholder" not in {p["code"] for p in problems}


def test_every_placeholder_of_a_ready_post_is_an_error_with_its_line(tmp_path, monkeypatch, capsys):
    path = new_guide(tmp_path, monkeypatch)
    text = path.read_text(encoding="utf-8").replace("status: draft", "status: ready")
    path.write_text(text, encoding="utf-8")
    expected = [(i + 1, m.start() + 1) for i, line in enumerate(text.split("\n"))
                for m in re.finditer(r"\[Viết ở đây", line)]
    code, problems = check_json(capsys)
    found = [(p["line"], p["col"]) for p in problems if p["code"] == "post.placeholder"]
    assert code == 1 and found == expected and len(found) == 10
    assert all(p["severity"] == "error" and p["path"] == GUIDE for p in problems if p["code"] == "post.placeholder")
    capsys.readouterr()
    assert main(["check"]) == 1
    err = capsys.readouterr()
    first = f"{GUIDE}:{expected[0][0]}:1: lỗi: còn chữ mẫu của `loa new` chưa thay: “[Viết ở đây: một hai câu giới thiệu"
    assert first in err.out + err.err
    assert "hãy viết nội dung thật vào chỗ này (hoặc xóa cả mục nếu không áp dụng), rồi chạy lại `loa check` " \
           "[post.placeholder]" in err.out + err.err


def test_a_filled_guide_passes_and_reads_well_on_zalo(tmp_path, monkeypatch, capsys):
    path = new_guide(tmp_path, monkeypatch)
    text = path.read_text(encoding="utf-8").replace("status: draft", "status: ready")
    text = re.sub(r"\[Viết ở đây: tên khoản phí\]", "Bản sao trích lục", text)
    text = re.sub(r"\[Viết ở đây: số tiền[^\]]*\]", "8.000 đồng/bản", text)
    text = re.sub(r"\[Viết ở đây: bước đầu tiên[^\]]*\]", "Đăng nhập Cổng Dịch vụ công quốc gia.", text)
    text = re.sub(r"\[Viết ở đây: [^\]]*\]", "Nội dung đã viết.", text)
    path.write_text(text, encoding="utf-8")
    code, problems = check_json(capsys)
    assert "post.placeholder" not in {p["code"] for p in problems}
    cfg = load_config(tmp_path / "config.toml", env={})
    p, _ = read_post(path, cfg)
    zalo = Renderer(cfg).render(p, "zalo").body
    assert "Phí, lệ phí\n\nNội dung: Mức thu\nBản sao trích lục: 8.000 đồng/bản" in zalo
    assert "1. Đăng nhập Cổng Dịch vụ công quốc gia.\n2. Nội dung đã viết." in zalo


def test_new_news_is_a_stub_and_english_on_request(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["new", "news", "Phường 1 ra mắt tổ công nghệ số", "--unit", "phuong-1", "--at", "2024-05-02 08:00"]) == 0
    path = tmp_path / "content/news/2024/phuong-1-ra-mat-to-cong-nghe-so.md"
    body = path.read_text(encoding="utf-8").split("---\n", 2)[2].lstrip("\n")
    assert body.startswith("[Viết ở đây: đoạn mở đầu: việc gì, ở đâu, khi nào, ai thực hiện]\n\n")
    assert body.count("[Viết ở đây:") == 3 and "##" not in body
    assert main(["--lang", "en", "new", "news", "Tin tiếng Anh", "--unit", "phuong-1", "--at", "2024-05-03 08:00"]) == 0
    en = tmp_path / "content/news/2024/tin-tieng-anh.md"
    en.write_text(en.read_text(encoding="utf-8").replace("status: draft", "status: ready"), encoding="utf-8")
    assert en.read_text(encoding="utf-8").split("---\n", 2)[2].lstrip("\n").startswith("[Write here: the lead: what happened")
    capsys.readouterr()
    assert main(["--lang", "en", "check", "content/news/2024/tin-tieng-anh.md"]) == 1
    out = capsys.readouterr()
    assert "error: text left from `loa new`: “[Write here: the lead: what happened, where, when, who did it]”; " \
           "write the real content in its place" in out.out + out.err


def test_the_check_is_one_for_every_caller_and_knows_the_old_placeholder(tmp_path):
    """check_post (the publish gate's) finds it too; the line `loa new` wrote before is found as well."""
    root = make_repo(tmp_path, {
        "news/2024/a.md": post(body="Viết nội dung bài ở đây (Markdown).\n"),
        "news/2024/b.md": post(id="20240325-bbbbbb", title="Bài khác", body="Đoạn đã viết [Viết ở đây: số liệu] xong.\n"),
        "news/2024/c.md": post(id="20240325-cccccc", title="Bài nháp", status="draft", body="[Viết ở đây: gì đó]\n"),
    })
    cfg = load_config(root / "config.toml", env={})
    codes = {}
    for name in ("a", "b", "c"):
        path = cfg.content_dir / f"news/2024/{name}.md"
        p, _ = read_post(path, cfg)
        last = len(path.read_text(encoding="utf-8").rstrip("\n").split("\n"))  # each body is one line, the last
        codes[name] = [(x.line - last, x.col, x.args["text"]) for x in check_post(p, cfg) if x.code == "post.placeholder"]
    assert codes["a"] == [(0, 1, "Viết nội dung bài ở đây (Markdown).")]
    assert codes["b"] == [(0, 14, "[Viết ở đây: số liệu]")]
    assert codes["c"] == []
