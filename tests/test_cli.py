"""The authoring verbs: new, approve, preview, check --fix; and python -m pipeline."""

import json
import subprocess
import sys
import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.cli import main
from tests.repo import PNG_1PX, make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_new_writes_a_post_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["new", "guide", "Hướng dẫn đăng ký khai sinh", "--unit", "phuong-1", "--at", "2024-03-25 08:00",
                 "--author", "Nguyễn Văn An"]) == 0
    path = tmp_path / "content/guide/2024/huong-dan-dang-ky-khai-sinh.md"
    assert capsys.readouterr().out.strip() == "content/guide/2024/huong-dan-dang-ky-khai-sinh.md"
    text = path.read_text()
    assert "title: Hướng dẫn đăng ký khai sinh" in text and "id: 20240325-" in text and "status: draft" in text
    assert main(["new", "guide", "Hướng dẫn đăng ký khai sinh", "--unit", "phuong-1", "--at", "2024-03-25 08:00"]) == 1
    assert "không ghi đè" in capsys.readouterr().err
    assert path.read_text() == text
    assert main(["new", "guide", "X", "--unit", "nowhere"]) == 2
    # the new post passes loa check (a draft with a placeholder body)
    assert main(["check"]) == 0


def test_new_speaks_vietnamese_by_default_and_english_on_request(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["new", "su-kien", "Tiêu đề", "--unit", "phuong-1"]) == 2
    assert "loa: loại bài `su-kien` không có; dùng một trong: news, guide" in capsys.readouterr().err
    assert main(["--lang", "en", "new", "news", "Tiêu đề", "--unit", "phuong-1", "--at", "mai"]) == 2
    assert "loa: --at: cannot read `mai`; write \"2024-03-25 08:00\"" in capsys.readouterr().err


def test_approve_keeps_every_other_byte(tmp_path, monkeypatch):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"]) + "\nĐoạn cuối.\n"})
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "content/news/a.md"
    before = f.read_text()
    assert main(["approve", "content/news/a.md", "--by", "Lê Thị Mai"]) == 0
    after = f.read_text()
    assert "approved_by: Lê Thị Mai\n" in after and "approved_hash: " in after
    stripped = "\n".join(l for l in after.split("\n") if not l.startswith("approved_"))
    assert stripped == before


def test_preview_shows_every_channel_with_counts(tmp_path, monkeypatch, capsys):
    make_repo(tmp_path, {
        "news/img/a.png": PNG_1PX,
        "news/a.md": post(image="img/a.png", image_alt="Ảnh hội thi", summary="Tóm tắt ngắn."),
        "news/b.md": post(id="b", title="Bài nháp", status="draft", channels=["portal"]),
        "news/c.md": post(id="c", title="Bài tương lai", publish_at="2030-01-01 08:00", channels=["portal"],
                          unit="phuong-vung-tau"),  # the ward Phường 1 merged into in 2025
        "news/bad.md": "---\nid: [\n---\n",
    })
    monkeypatch.chdir(tmp_path)
    assert main(["preview", "--now", "2024-04-01 08:00"]) == 1  # one unusable file
    out = capsys.readouterr()
    assert "3 bài tạo mới" in out.out and "front.yaml" in out.err
    index = (tmp_path / "var/preview/index.html").read_text()
    assert "Bản nháp" in index and "Đã lên lịch" in index and "Chờ duyệt" in index and "bad.md" in index
    page = (tmp_path / "var/preview/posts/20240325-aaaaaa.html").read_text()
    for label in ("portal", "facebook", "zalo", "telegram", "mastodon"):
        assert f"<h2>{label} " in page
    assert "/ 500 ký tự" in page and "/ 1024 ký tự" in page  # Mastodon; Telegram caption (the post has an image)
    assert 'alt="Ảnh hội thi"' in page
    # nothing changed: nothing re-rendered
    assert main(["preview", "--now", "2024-04-01 08:00"]) == 1
    assert "0 bài tạo mới, 3 bài không đổi" in capsys.readouterr().out


def test_check_fix_repairs_and_shows_changes(tmp_path, monkeypatch, capsys):
    body = "Căn cứ c\u00b6i c\u00b8ch h\u00b5nh ch\u00ddnh. \u00d0ăng ký ngay.\n"
    make_repo(tmp_path, {"news/a.md": post(title=unicodedata.normalize("NFD", "Hướng dẫn nộp hồ sơ"),
                                           channels=["portal"], status="draft", body=body)})
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--fix", "--backup"]) == 0
    out = capsys.readouterr().out
    assert "text.tcvn3: 'c¶i c¸ch hµnh chÝnh" in out and "-> 'cải cách hành chính" in out
    assert "text.eth: 'Ðăng' -> 'Đăng'" in out and "NFC" in out
    text = (tmp_path / "content/news/a.md").read_text()
    assert "cải cách hành chính" in text and unicodedata.is_normalized("NFC", text)
    assert (tmp_path / "content/news/a.md.bak").exists()
    assert main(["check", "--strict"]) == 0


def test_python_dash_m_pipeline(tmp_path):
    make_repo(tmp_path, {"news/a.md": post(channels=["portal"], status="draft")})
    r = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(tmp_path / "config.toml"), "check", "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["posts"] == 1


def test_the_loa_command_is_the_process_entry(capsys):
    """pyproject's console script names ``pipeline.__main__:run``, which runs the command line."""
    import importlib
    import tomllib

    target = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    module, _, name = target["project"]["scripts"]["loa"].partition(":")
    run = getattr(importlib.import_module(module), name)
    argv = sys.argv
    sys.argv = ["loa", "--version"]
    try:
        with pytest.raises(SystemExit) as exc:  # argparse's --version exits
            run()
    finally:
        sys.argv = argv
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == "loa 0.1.0"


@pytest.mark.parametrize("verb", ["check", "preview"])
def test_a_path_outside_content_or_missing_is_refused_with_its_name(tmp_path, capsys, verb):
    """A post given by path must be one of this repository's: another folder's post would be checked
    or rendered with a configuration that is not its own."""
    root = make_repo(tmp_path / "repo", {"news/a.md": post()})
    other = make_repo(tmp_path / "other", {"news/b.md": post(id="b")})
    cfg = ["--config", str(root / "config.toml")]
    assert main([*cfg, verb, str(other / "content/news/b.md")]) == 2
    err = capsys.readouterr().err
    assert "other/content/news/b.md` không nằm trong thư mục nội dung `content`" in err
    assert main([*cfg, "--lang", "en", verb, str(root / "content/news/nothing.md")]) == 2
    assert "nothing.md`: no such file or folder" in capsys.readouterr().err
    assert main([*cfg, verb, str(root / "content/news/a.md")]) == 0
    assert main([*cfg, verb, str(root / "content")]) == 0
