"""The board's approval queue and the IT officer's operations page, through the console (a real
uvicorn, SQLite and PostgreSQL): each action calls the same Session method as the CLI, and lands
in the content or the ledger with the signed-in person. Also ``loa users`` and ``loa serve``."""

from __future__ import annotations

import io
import sys
from datetime import datetime, timezone

import pytest

from pipeline.approval import current_hash
from pipeline.cli import build_parser, main
from pipeline.ledger import Hold
from tests.repo import post
from tests.web_console import console  # noqa: F401 (fixture)

A, B = "20240325-aaaaaa", "20240326-bbbbbb"


def _edit(console, path) -> None:
    """An author changes the post's body; the console sees it once its look at the files is older
    than ``Session.content_max_age`` (a second)."""
    import time

    path.write_text(path.read_text(encoding="utf-8").replace("Sáng 25/3", "Chiều 25/3"), encoding="utf-8")
    time.sleep(console.app.state.session.content_max_age + 0.05)


def _front(console, rel: str) -> str:
    return (console.root / "content" / rel).read_text(encoding="utf-8")


def _version(console, post_id: str) -> str:
    with console.session() as s:
        return current_hash(next(p for p in s.content().posts if p.id == post_id))


def test_a_board_member_approves_and_the_post_goes_out(console):
    board = console.client().signed_in("hung")
    page = board.get("/approvals").text
    assert "Phường 1 tổ chức Hội thi" in page and "Duyệt bài này" in page
    answer = board.send("/approvals/approve", {"post": A, "version": _version(console, A)}, "/approvals")
    assert answer.status_code == 200 and "Đã duyệt" in answer.text
    text = _front(console, "news/a.md")
    assert "approved_by: Trần Văn Hùng" in text and f"approved_hash: {_version(console, A)}" in text
    with console.session() as s:
        assert s.approval_queue() and A not in {w.post.id for w in s.approval_queue()}
        [event] = s.ledger.events(kinds=("approve",))
        assert (event.post_id, event.actor, event.detail["account"]) == (A, "Trần Văn Hùng", "hung")
        assert event.version == _version(console, A)
        # the next run publishes it on the channel that waited for the board (portal), not the other
        s.publish(datetime(2030, 3, 26, 2, 0, tzinfo=timezone.utc))
        assert s.ledger.get(A, "portal").state == "published"
        assert s.ledger.get(B, "portal") is None or s.ledger.get(B, "portal").state != "published"
    assert "Phường 1 tổ chức Hội thi" not in board.get("/approvals").text.split("Đã trả lại")[0]


def test_no_one_approves_their_own_post(console):
    mai = console.client().signed_in("mai")
    page = mai.get("/approvals").text
    assert "Bài của bạn" in page
    before = _front(console, "news/b.md")
    forged = mai.send("/approvals/approve", {"post": B, "version": _version(console, B)}, "/approvals")
    assert forged.status_code == 403 and "không thể tự duyệt" in forged.text
    assert _front(console, "news/b.md") == before
    assert mai.send("/approvals/send-back", {"post": B, "comment": "tự trả"}, "/approvals").status_code == 403
    with console.session() as s:
        assert s.ledger.events(kinds=("approve", "send_back")) == []


def test_a_post_changed_after_it_was_read_is_not_approved_unread(console):
    board = console.client().signed_in("hung")
    read = _version(console, A)
    path = console.root / "content" / "news" / "a.md"
    _edit(console, path)
    answer = board.send("/approvals/approve", {"post": A, "version": read}, "/approvals")
    assert answer.status_code == 409 and "đã được sửa sau khi bạn mở trang" in answer.text
    assert "approved_by" not in path.read_text(encoding="utf-8")


def test_a_changed_post_returns_to_the_queue(console):
    board = console.client().signed_in("hung")
    assert board.send("/approvals/approve", {"post": A, "version": _version(console, A)}, "/approvals").status_code == 200
    path = console.root / "content" / "news" / "a.md"
    _edit(console, path)
    page = board.get("/approvals").text
    assert "Phường 1 tổ chức Hội thi" in page and "Trần Văn Hùng đã duyệt, sau đó sửa" in page and "nội dung" in page


def test_send_back_with_a_comment_until_the_post_changes(console):
    board = console.client().signed_in("hung")
    assert board.send("/approvals/send-back", {"post": A, "comment": "  "}, "/approvals").status_code == 400
    answer = board.send("/approvals/send-back", {"post": A, "comment": "Sửa lại tên đơn vị"}, "/approvals")
    assert answer.status_code == 200 and "Đã trả lại" in answer.text
    waiting, returned = board.get("/approvals").text.split("Đã trả lại, chờ tác giả sửa")
    assert "Phường 1 tổ chức Hội thi" not in waiting and "Sửa lại tên đơn vị" in returned
    with console.session() as s:
        [event] = s.ledger.events(kinds=("send_back",))
        assert (event.actor, event.detail["comment"], event.detail["account"]) == ("Trần Văn Hùng", "Sửa lại tên đơn vị", "hung")
        assert s.approval_queue()  # still not approved: nothing was written to the file
    assert "approved_by" not in _front(console, "news/a.md")
    path = console.root / "content" / "news" / "a.md"
    _edit(console, path)
    waiting = board.get("/approvals").text.split("Đã trả lại, chờ tác giả sửa")[0]
    assert "Phường 1 tổ chức Hội thi" in waiting


def test_operations_pause_resume_retry_resolve_as_the_cli(console):
    it = console.client().signed_in("binh")
    now = datetime.now(timezone.utc)
    assert it.send("/ops/pause", {"channel": "portal", "reason": ""}, "/ops").status_code == 400
    answer = it.send("/ops/pause", {"channel": "portal", "reason": "Bảo trì cổng"}, "/ops")
    assert answer.status_code == 200 and "Bảo trì cổng" in answer.text
    with console.session() as s:
        [p] = s.ledger.active_pauses(datetime.now(timezone.utc))
        assert (p.channel, p.reason, p.actor) == ("portal", "Bảo trì cổng", "binh")
        s.ledger.hold("facebook", Hold("mã truy cập hết hạn", "cấp lại mã", "Error validating access token"), now)
    page = it.get("/ops").text
    assert "Error validating access token" in page and "cấp lại mã" in page
    assert it.send("/ops/resume", {"channel": "portal"}, "/ops").status_code == 200
    lifted = it.send("/ops/retry", {"channel": "facebook"}, "/ops")
    assert lifted.status_code == 200 and "đã bỏ tạm giữ kênh facebook" in lifted.text
    with console.session() as s:
        assert s.ledger.active_pauses(datetime.now(timezone.utc)) == [] and s.ledger.holds() == {}
        assert [(e.kind, e.actor) for e in s.ledger.events(kinds=("pause", "resume"))] == [("pause", "binh"), ("resume", "binh")]
    unknown = it.send("/ops/pause", {"channel": "khong-co", "reason": "x"}, "/ops")
    assert unknown.status_code == 409 and "khong-co" in unknown.text
    bad = it.send("/ops/resolve", {"post": A, "channel": "portal", "outcome": "published",
                                   "published_url": "javascript:alert(1)"}, "/ops")
    assert bad.status_code == 400
    not_in_doubt = it.send("/ops/resolve", {"post": A, "channel": "portal", "outcome": "not-published"}, "/ops")
    assert not_in_doubt.status_code == 409


def test_loa_users_from_the_command_line(console, monkeypatch, capsys):
    monkeypatch.setenv("LOA_LEDGER_URL", console.ledger_url)  # the console's ledger, either backend

    def run(*argv, stdin: str = ""):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return main(["--config", str(console.root / "config.toml"), "users", *argv])

    assert run("add", "thu", "--role", "staff", "--full-name", "Ngô  Thị Thu", "--password-stdin",
               stdin="mật khẩu mới của Thu\n") == 0
    assert "Đã tạo tài khoản thu" in capsys.readouterr().out
    assert run("add", "thu", "--role", "staff", "--password-stdin", stdin="mật khẩu mới của Thu\n") == 2
    assert "đã có" in capsys.readouterr().err
    assert run("add", "vy", "--role", "board", "--full-name", "Lý Thị Vy", "--password-stdin",
               stdin="mật khẩu của Vy đây\n") == 0
    assert "Lý Thị Vy không có trong Ban biên tập" in capsys.readouterr().err
    assert run("add", "ngan", "--role", "it", "--password-stdin", stdin="ngắn\n") == 2
    assert "ít nhất 10 ký tự" in capsys.readouterr().err
    assert run("add", "hai tu", "--role", "it", "--password-stdin", stdin="đủ dài rồi nhé\n") == 2
    assert run("add", "khong-vai-tro", "--password-stdin", stdin="đủ dài rồi nhé\n") == 2
    capsys.readouterr()
    thu = console.client()
    assert thu.login("thu", "mật khẩu mới của Thu").status_code == 303
    assert thu.get("/approvals").status_code == 403 and "Ngô Thị Thu" in thu.get("/").text
    assert run("list") == 0
    listing = capsys.readouterr().out
    assert "thu\tstaff\tNgô Thị Thu\tđang dùng" in listing and "hung\tboard" in listing
    assert "$argon2id$" not in listing
    assert run("disable", "thu") == 0 and run("disable", "khong-co") == 2
    assert "không có tài khoản khong-co" in capsys.readouterr().err
    assert console.client().login("thu", "mật khẩu mới của Thu").status_code == 401
    assert run("enable", "thu") == 0
    assert run("reset", "thu", "--password-stdin", stdin="mật khẩu thứ hai của Thu\n") == 0
    assert console.client().login("thu", "mật khẩu mới của Thu").status_code == 401
    assert console.client().login("thu", "mật khẩu thứ hai của Thu").status_code == 303
    with console.session() as s:
        stored = s.ledger.user_get("thu")
        assert stored.password_hash.startswith("$argon2id$") and "Thu" not in stored.password_hash
        assert [e.detail["action"] for e in s.ledger.events(kinds=("user",)) if e.detail["name"] == "thu"] == [
            "add", "disable", "enable", "reset"]


def test_loa_serve_listens_on_this_machine_only_by_default():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8080)


def _troubled(console, post_id: str, state: str, vendor: str) -> None:
    """The ledger's record of a vendor refusal (``failed``) or an unknown outcome (``in_doubt``)."""
    import json
    from datetime import timedelta

    now = datetime.now(timezone.utc)
    with console.session() as s:
        lg = s.ledger
        lg.ensure(post_id, "portal", channel_type="static_site", meta={"title": "Tin <b>lỗi</b>"}, now=now)
        lg.claim(post_id, "portal", owner="w", action="create", version="v1", lease=timedelta(minutes=5), now=now,
                 allowed_states=("pending",))
        if state == "failed":
            lg.record_failure(post_id, "portal", owner="w", kind="permanent", now=now, next_attempt_at=None,
                              message=json.dumps({"reason": "bị từ chối", "vendor": vendor, "hint": "sửa bài"}))
        else:
            lg.mark_in_doubt(post_id, "portal", owner="w", reason=vendor, now=now)


def test_operations_shows_the_vendors_words_and_acts_on_items(console):
    _troubled(console, A, "failed", "(#100) Invalid parameter <x>")
    _troubled(console, B, "in_doubt", "timeout after the request left")
    it = console.client().signed_in("binh")
    page = it.get("/ops").text
    assert "(#100) Invalid parameter &lt;x&gt;" in page and "Tin &lt;b&gt;lỗi&lt;/b&gt;" in page
    assert it.send("/ops/retry", {"post": A, "channel": "portal"}, "/ops").status_code == 200
    answer = it.send("/ops/resolve", {"post": B, "channel": "portal", "outcome": "published",
                                      "published_url": "https://portal.example.gov.vn/b"}, "/ops")
    assert answer.status_code == 200, answer.text[-800:]
    with console.session() as s:
        assert s.ledger.get(A, "portal").state == "pending"
        row = s.ledger.get(B, "portal")
        assert (row.state, row.remote_url) == ("published", "https://portal.example.gov.vn/b")
        assert [(e.kind, e.actor) for e in s.ledger.events(kinds=("retry", "resolve"))] == [("retry", "binh"),
                                                                                        ("resolve", "binh")]


def test_channel_health_page_for_the_it_officer(console):
    it = console.client().signed_in("binh")
    page = it.get("/ops/channels")
    assert page.status_code == 200
    assert "portal (static_site)" in page.text and "đang tắt" in page.text  # the sample's social channels are off


def test_the_ledger_keeps_sign_in_attempts_a_day_and_finished_sessions_a_month(ledger):
    from datetime import timedelta

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ledger.user_add("an", full_name="An", role="staff", password_hash="h", actor="t", now=t0)
    ledger.login_attempt("an", "10.0.0.1", ok=False, now=t0)
    ledger.web_session_start("old", user_name="an", csrf="c", now=t0, expires_at=t0 + timedelta(hours=8))
    assert ledger.login_failures("an", "10.0.0.1", t0 - timedelta(minutes=1)) == (1, 1)
    later = t0 + timedelta(days=40)
    ledger.login_attempt("an", "10.0.0.2", ok=True, now=later)
    ledger.web_session_start("new", user_name="an", csrf="c", now=later, expires_at=later + timedelta(hours=8))
    assert ledger.query("SELECT ip FROM login_attempts") == [("10.0.0.2",)]
    assert ledger.query("SELECT token_hash FROM web_sessions") == [("new",)]
    assert [e.kind for e in ledger.events()] == ["user", "login_failed", "login", "login"]  # the audit stays


def test_a_refusal_is_shown_in_the_users_language(console):
    """A wrong period on the reports page and an unknown post on the operations page: the console
    says it in Vietnamese, as loa does (it showed the English text of the error)."""
    hoa = console.client().signed_in("hoa")
    page = hoa.get("/reports?period=2024-Q9")
    assert page.status_code == 400 and "không có kỳ báo cáo" in page.text and "unknown period" not in page.text
    it = console.client().signed_in("binh")
    page = it.send("/ops/retry", {"post": "khong-co", "channel": "portal"}, "/ops")
    assert page.status_code == 409 and "sổ cái không có bài khong-co" in page.text and "the ledger" not in page.text


IMAGED = {"news/a.md": post(id="20240325-aaaaaa", author="Nguyễn Thị Lan", publish_at="2030-03-25 08:00",
                            unit="phuong-vung-tau", image="images/a.png", image_alt="Hội thi tại Phường Vũng Tàu")}


@pytest.mark.parametrize("console", [IMAGED], indirect=True)
def test_the_portal_rendering_shows_the_posts_image(console):
    # the body says src="images/a.png"; read inside the console's sandboxed frame that would be
    # /posts/images/a.png (a 404): the page gives the checked image's bytes instead
    import base64
    import html
    import re
    import shutil
    import time
    from pathlib import Path

    png = Path(__file__).resolve().parents[1] / "content/guide/2024/images/buu-chinh-cong-ich.png"
    (console.root / "content/news/images").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, console.root / "content/news/images/a.png")
    time.sleep(console.app.state.session.content_max_age + 0.05)
    page = console.client().signed_in("hung").get("/posts/20240325-aaaaaa")
    assert page.status_code == 200
    frame = html.unescape(re.search(r'<iframe class="rendering"[^>]* srcdoc="([^"]*)"', page.text).group(1))
    src = re.search(r'<img src="([^"]+)"', frame).group(1)
    assert src == "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
    # an SVG (script can ride in it) is no post image: nothing is inlined, the page still answers
    (console.root / "content/news/images/a.png").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    time.sleep(console.app.state.session.content_max_age + 0.05)
    page = console.client().signed_in("hung").get("/posts/20240325-aaaaaa")
    assert page.status_code == 200 and "data:image" not in page.text and "<script>alert" not in page.text
