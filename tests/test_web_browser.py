"""The web console in a real browser (issue 18, "Done when"): Debian's Chromium driven by
Playwright against ``loa serve`` (a uvicorn process) over a throwaway content repository and its
SQLite ledger. Sign in as each role; the calendar shows the states the ledger holds after a real
``loa publish``; a board member approves a post and it goes out at the next pass, and is refused
approving their own; the IT officer retries a failed item; Home Affairs downloads each report
format; every page a role may not see is refused, by link, by direct URL and by forged POST; and
axe-core finds no WCAG 2.1 A/AA violation on any page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser import axe_violations, describe
from tests.repo import ROOT, make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "mat-khau-thu-nghiem-1"
UNIT = "phuong-tam-thang"  # in force since the 2025 merger (the sample config's wards before it are not)
#: account, role, full name (the board's spelling: approvals compare it with the post's author)
PEOPLE = (("lan", "staff", "Nguyễn Thị Lan"), ("mai", "board", "Lê Thị Mai"), ("hung", "board", "Trần Văn Hùng"),
          ("tuan", "it", "Phạm Anh Tuấn"), ("hoa", "reports", "Đỗ Thị Hoa"))
#: What each role may open (the issue's roles; docs/console.md): everything else is refused.
PAGES = ("/calendar", "/posts/pub", "/search?q=tin", "/approvals", "/ops", "/reports", "/activities")
ALLOWED = {
    "staff": {"/calendar", "/posts/pub", "/search?q=tin", "/activities"},
    "board": {"/calendar", "/posts/pub", "/search?q=tin", "/approvals", "/reports"},
    "it": {"/calendar", "/posts/pub", "/search?q=tin", "/ops", "/reports", "/activities"},
    "reports": {"/reports"},
}
#: A POST of each role-bound form, and the roles allowed to send it.
POSTS = {"/approvals/approve": {"board"}, "/ops/retry": {"it"}, "/ops/pause": {"it"}, "/activities": {"staff", "it"}}


def _loa(root: Path, *args: str, stdin: str | None = None, env: dict | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), *args],
                          input=stdin, capture_output=True, text=True, cwd=root, timeout=120,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fail(root: Path, post_id: str) -> None:
    """The ledger's record of a permanent vendor refusal for ``post_id`` on the portal, written
    as the engine writes it (claim, then record_failure): what the IT officer retries."""
    from pipeline.config import load_config
    from pipeline.ledger import open_ledger

    from pipeline.app import Session

    cfg = load_config(root / "config.toml", env={})
    with Session(cfg) as s:  # the version the engine would claim: the file's as it is
        version = next(p.source_hash for p in s.content().posts if p.id == post_id)
    lg = open_ledger(cfg.ledger_url, cfg.root)
    try:
        lg.migrate()
        now = datetime.now(timezone.utc)
        lg.ensure(post_id, "portal", channel_type="static_site", meta={"title": "Bài gửi lỗi", "unit": UNIT}, now=now)
        lg.claim(post_id, "portal", owner="test", action="create", version=version, lease=timedelta(minutes=5), now=now,
                 allowed_states=("pending",), meta={"title": "Bài gửi lỗi", "unit": UNIT, "publish_at": now})
        lg.record_failure(post_id, "portal", owner="test", kind="permanent", now=now, next_attempt_at=None,
                          message='{"reason": "Máy chủ từ chối", "vendor": "HTTP 400 <b>bad</b>"}')
    finally:
        lg.close()


def _people(root: Path) -> None:
    from pipeline.app import Session
    from pipeline.config import load_config

    with Session.open(load_config(root / "config.toml", env={})) as s:
        for name, role, full in PEOPLE[1:]:
            s.accounts.add(name, role, PASSWORD, full_name=full, actor="test")


def _version(root: Path, post_id: str) -> str:
    from pipeline import approval
    from pipeline.app import Session
    from pipeline.config import load_config

    with Session(load_config(root / "config.toml", env={})) as s:
        return approval.current_hash(next(p for p in s.content().posts if p.id == post_id))


def _row(root: Path, post_id: str):
    from pipeline.config import load_config
    from pipeline.ledger import open_ledger

    cfg = load_config(root / "config.toml", env={})
    lg = open_ledger(cfg.ledger_url, cfg.root)
    try:
        return lg.get(post_id, "portal")
    finally:
        lg.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory, chromium):
    """``loa serve`` on a free port over a repository with: ``pub`` (approved, due: published by
    the first ``loa publish``), ``own`` (by board member Lê Thị Mai, awaiting approval), ``fail``
    (failed in the ledger), ``later`` (scheduled next week, not approved yet)."""
    root = tmp_path_factory.mktemp("console")
    now = datetime.now(VN)
    past, later = (now - timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M"), (now + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    make_repo(root, {
        "news/pub.md": post(id="pub", title="Tin đã duyệt <script>alert(1)</script>", publish_at=past,
                            channels=["portal"], unit=UNIT),
        "news/own.md": post(id="own", title="Tin của Ban biên tập", author="Lê Thị Mai", publish_at=past,
                            channels=["portal"], unit=UNIT),
        "news/fail.md": post(id="fail", title="Bài gửi lỗi", publish_at=past, channels=["portal"], unit=UNIT),
        "news/later.md": post(id="later", title="Tin tuần sau", publish_at=later, channels=["portal"], unit=UNIT),
    })
    _loa(root, "users", "add", "lan", "--role", "staff", "--full-name", "Nguyễn Thị Lan", "--password-stdin",
         stdin=PASSWORD + "\n")  # once through the command, as the IT officer does; the others directly
    _people(root)
    _loa(root, "approve", "content/news/pub.md", "--by", "Trần Văn Hùng")
    _loa(root, "approve", "content/news/fail.md", "--by", "Trần Văn Hùng")
    _fail(root, "fail")
    _loa(root, "publish")
    port = _free_port()
    env = {**os.environ, "LOA_WEB_SECURE_COOKIES": "0", "LOA_WEB_SECRET": "s" * 40}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), "serve",
                             "--port", str(port)], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/login", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("loa serve did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
            time.sleep(0.2)
    try:
        yield root, base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sign_in(chromium, base: str, name: str):
    # bypass_csp: only so that axe-core can be injected; the pages themselves run no inline script
    context = chromium.new_context(accept_downloads=True, locale="vi-VN", bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/calendar")
    assert "/login" in page.url  # no page without sign-in: the direct URL leads to the sign-in form
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def check_axe(page) -> None:
    found = axe_violations(page)
    assert found == [], f"{page.url}:\n{describe(found)}"


def test_calendar_shows_the_ledger_states_after_a_real_publish(console, chromium):
    root, base = console
    page = sign_in(chromium, base, "lan")
    assert page.url.endswith("/calendar")
    check_axe(page)
    today = datetime.now(VN).date()
    page.goto(f"{base}/calendar?view=week&date={today.isoformat()}")
    html = page.content()
    pub = page.locator("li", has=page.locator('a[href="/posts/pub"]'))
    assert "Đã đăng" in pub.inner_text()  # the state as text, not only a colour
    own = page.locator("li", has=page.locator('a[href="/posts/own"]'))
    assert "Chờ duyệt" in own.inner_text() and "chờ Ban biên tập duyệt" in own.inner_text()
    failed = page.locator("li", has=page.locator('a[href="/posts/fail"]'))
    assert "Gửi lỗi" in failed.inner_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    check_axe(page)
    page.goto(f"{base}/calendar?view=month&date={(today + timedelta(days=7)).isoformat()}&channel=portal")
    later = page.locator("li", has=page.locator('a[href="/posts/later"]'))
    assert "Đã lên lịch" in later.inner_text() and "chưa duyệt" in later.inner_text()
    check_axe(page)
    for path in ("/posts/pub", "/posts/fail", "/search?q=TIN DA DUYET", "/activities"):
        page.goto(base + path)
        check_axe(page)
    page.goto(base + "/posts/pub")
    assert "Đã đăng" in page.inner_text("main") and "success" in page.inner_text("main")
    page.goto(base + "/search?q=tin da duyet")  # accents and case do not matter, as loa log --search
    assert page.locator('a[href="/posts/pub"]').count() == 1
    page.context.close()


def test_board_approves_and_the_post_goes_out_at_the_next_pass(console, chromium):
    root, base = console
    mai = sign_in(chromium, base, "mai")
    mai.goto(base + "/approvals")
    check_axe(mai)
    own = 'form[action="/approvals/approve"]:has(input[name="post"][value="own"])'
    if mai.locator(own).count():  # the form may be offered; the server refuses it
        mai.click(f"{own} button[type=submit]")
        mai.wait_for_load_state()
    # and sent as the form would be, with her valid token and the version she read: refused
    token = mai.evaluate("() => document.querySelector('input[name=csrf_token]').value")
    answer = mai.request.post(base + "/approvals/approve", max_redirects=0,
                              form={"csrf_token": token, "post": "own", "version": _version(root, "own")})
    assert answer.status in (403, 409), answer.status
    assert "approved_by" not in (root / "content/news/own.md").read_text(encoding="utf-8")
    mai.context.close()
    hung = sign_in(chromium, base, "hung")
    hung.goto(base + "/approvals")
    hung.click(f"{own} button[type=submit]")
    hung.wait_for_load_state()
    check_axe(hung)
    assert "Trần Văn Hùng" in (root / "content/news/own.md").read_text(encoding="utf-8")
    assert _row(root, "own") is None or _row(root, "own").state != "published"
    _loa(root, "publish")  # the next tick
    assert _row(root, "own").state == "published"
    hung.goto(f"{base}/calendar?view=week&date={datetime.now(VN).date().isoformat()}")
    assert "Đã đăng" in hung.locator("li", has=hung.locator('a[href="/posts/own"]')).inner_text()
    hung.context.close()


def test_it_retries_a_failed_item(console, chromium):
    root, base = console
    assert _row(root, "fail").state == "failed"
    page = sign_in(chromium, base, "tuan")
    page.goto(base + "/ops")
    check_axe(page)
    assert "HTTP 400 <b>bad</b>" in page.inner_text("main")  # the vendor's words, as text
    page.click('form[action="/ops/retry"]:has(input[value="fail"]) button[type=submit]')
    page.wait_for_load_state()
    check_axe(page)
    assert _row(root, "fail").state == "pending"
    _loa(root, "publish")
    assert _row(root, "fail").state == "published"
    page.context.close()


def test_home_affairs_downloads_each_report_format(console, chromium):
    root, base = console
    page = sign_in(chromium, base, "hoa")
    now = datetime.now(VN)
    quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    page.goto(base + "/reports")
    check_axe(page)
    page.fill("#r-period", quarter)
    page.select_option("#r-unit", UNIT)
    page.click("form[action='/reports'] button[type=submit]")
    page.wait_for_load_state()
    check_axe(page)
    assert "Phường Tam Thắng" in page.inner_text("main")
    # the html report itself, in its sandboxed frame, with its own styles applied (not the console's)
    report = page.frame_locator("iframe.report")
    report.locator(".org").first.wait_for()
    assert report.locator("body").evaluate("b => getComputedStyle(b).fontFamily").startswith('"Times New Roman"')
    assert report.locator(".org").first.evaluate("e => getComputedStyle(e).fontWeight") == "700"
    magic = {"docx": b"PK", "xlsx": b"PK", "pdf": b"%PDF", "csv": None, "html": b"<!"}
    from pipeline.report.pdf import soffice

    if soffice() is None:  # the PDF is LibreOffice's print of the docx
        if os.environ.get("LOA_REQUIRE_SERVICES") == "1":
            pytest.fail("LibreOffice is not installed (apt-get install libreoffice-writer) and LOA_REQUIRE_SERVICES=1")
        del magic["pdf"]
    for fmt, start in magic.items():
        with page.expect_download(timeout=120_000) as info:
            page.click(f'a[href^="/reports/download/{fmt}?"]')
        data = Path(info.value.path()).read_bytes()
        assert info.value.suggested_filename == f"{quarter}-{UNIT}.{fmt}"
        assert len(data) > 200 and (start is None or data.startswith(start)), (fmt, data[:20])
    page.context.close()


def test_each_role_is_refused_what_it_may_not_see(console, chromium):
    root, base = console
    for name, role, _full in PEOPLE[:1] + PEOPLE[2:]:
        page = sign_in(chromium, base, name)
        nav = {a.get_attribute("href") for a in page.locator("header nav a").all()}
        for path in PAGES:
            response = page.goto(base + path)
            allowed = path in ALLOWED[role]
            assert (response.status == 200) is allowed, (role, path, response.status)
            assert (path.split("?")[0] in nav) is allowed or path.startswith("/posts/"), (role, path, nav)
            if not allowed:
                assert "Không có quyền truy cập" in page.inner_text("main")
                if path == "/ops" or role == "it" and path == "/approvals":
                    check_axe(page)  # the refusal page (the allowed ones are checked in the other tests)
        page.goto(base + "/calendar" if "/calendar" in ALLOWED[role] else base + "/reports")
        token = page.evaluate("() => document.querySelector('input[name=csrf_token]').value")
        for action, roles in POSTS.items():
            form = {"csrf_token": token, "post": "later", "channel": "portal", "reason": "x", "version": "x",
                    "date": "2024-03-02", "unit": "phuong-1", "kind": "pano", "count": "1"}
            forged = page.request.post(base + action, form={k: v for k, v in form.items() if k != "csrf_token"},
                                       max_redirects=0)
            assert forged.status == 403, (role, action, "no token", forged.status)
            if role not in roles:
                refused = page.request.post(base + action, form=form, max_redirects=0)
                assert refused.status == 403, (role, action, refused.status)
        page.context.close()
    assert "approved_by" not in (root / "content/news/later.md").read_text(encoding="utf-8")
    assert not (root / "content/activities").exists()


def test_staff_records_an_activity(console, chromium):
    root, base = console
    page = sign_in(chromium, base, "lan")
    page.goto(base + "/activities")
    page.fill("#a-date", "2024-03-02")
    page.select_option("#a-unit", "phuong-1")
    page.select_option("#a-kind", "pano")
    page.fill("#a-count", "3")
    page.fill("#a-place", "Đường Trần Phú")
    page.click("form[action='/activities'] button[type=submit]")
    page.wait_for_load_state()
    check_axe(page)
    assert "content/activities/2024/2024-03-02-phuong-1-pano.yaml" in page.inner_text("main")
    text = (root / "content/activities/2024/2024-03-02-phuong-1-pano.yaml").read_text(encoding="utf-8")
    assert "count: 3" in text and "Trần Phú" in text
    assert "content/activities/2024/2024-03-02-phuong-1-pano.yaml" in page.inner_text("#recorded-h + table")
    # the server's validator, not only the browser's: a count of 0 sent past the form's own checks
    page.evaluate("() => { document.querySelector('form[action=\"/activities\"]').noValidate = true }")
    page.fill("#a-count", "0")
    page.click("form[action='/activities'] button[type=submit]")
    page.wait_for_load_state()
    assert "Số lượng phải là số nguyên dương" in page.inner_text("[role=alert]")
    assert len(list((root / "content/activities").rglob("*.yaml"))) == 1
    check_axe(page)
    page.context.close()
