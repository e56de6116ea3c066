"""The web console's security, against a real uvicorn on 127.0.0.1, with the SQLite and the
PostgreSQL ledger: no page without sign-in, a CSRF token on every POST, no session fixation, the
cookie flags, every post field escaped, a disabled person out at the next request, the role
matrix (every route x every role, also forged POSTs), sign-in throttling shared by processes.

Routes are enumerated from the application, so a page added later is covered without a change here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from pipeline.accounts import MAX_PER_ACCOUNT, ROLES
from pipeline.ledger import Hold
from pipeline.web.app import create_app
from pipeline.web.auth import PUBLIC_PATHS
from tests.repo import post
from tests.web_console import PASSWORD, PEOPLE, ROLE_USER, Client, console, serve  # noqa: F401 (fixture)

#: What a path parameter is replaced with when the tests open every route.
PARAMS = {"post_id": "20240325-aaaaaa", "fmt": "csv"}
HOSTILE = '<script>alert("x")</script>"\'><img src=x onerror=alert(1)>'
MARKERS = ("<script>alert(", "<img src=x onerror", "<b>Tác giả</b>", "<i>đơn vị</i>")


def routes(app):
    """(path with parameters filled in, method, route) of every route of the application."""
    out = []
    for r in app.routes:
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS.get(m.group(1), "x"), r.path)
        for method in sorted((r.methods or {"GET"}) - {"HEAD"}):
            out.append((path, method, r))
    return out


def test_every_route_is_public_on_purpose_or_guarded(console):
    found = {r.path: r.endpoint for r in console.app.routes}
    assert {p for p, e in found.items() if getattr(e, "loa_public", False)} == PUBLIC_PATHS
    unguarded = [p for p, e in found.items() if p not in PUBLIC_PATHS and getattr(e, "loa_roles", None) is None]
    assert unguarded == []
    # the enumeration sees the pages of every routes_*.py module
    assert {"/approvals", "/ops", "/login", "/logout"} <= set(found)


def test_no_page_without_sign_in(console):
    anonymous = console.client()
    checked = 0
    for path, method, r in routes(console.app):
        if r.path in PUBLIC_PATHS:
            continue
        answer = anonymous.get(path) if method == "GET" else anonymous.post(path, {"csrf_token": "x"})
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith("/login?next="), (method, path)
        assert "Lê Thị Mai" not in answer.text and "<table" not in answer.text
        checked += 1
    assert checked >= 8
    # a forged session cookie is nobody
    forged = console.client()
    forged.http.cookies.set("loa_session", "abc.def.ghi")
    assert forged.get("/").status_code == 303


def _allowed(r, role: str) -> bool:
    if getattr(r.endpoint, "loa_public", False):
        return True
    roles = r.endpoint.loa_roles
    return not roles or role in roles


def test_role_matrix_every_route_every_role(console):
    clients = {role: console.client().signed_in(ROLE_USER[role]) for role in ROLES}
    for path, method, r in routes(console.app):
        if r.path in PUBLIC_PATHS or r.path == "/logout":
            continue
        for role, c in clients.items():
            if method == "GET":
                answer = c.get(path)
            else:  # a forged POST: a valid token of the person's own session, a route not theirs
                answer = c.send(path, {"post": PARAMS["post_id"], "channel": "portal", "reason": "r", "comment": "c"})
            if _allowed(r, role):
                assert answer.status_code not in (403, 500), (role, method, path, answer.status_code)
                assert not answer.headers.get("location", "").startswith("/login"), (role, method, path)
            else:
                assert answer.status_code == 403, (role, method, path, answer.status_code)
                assert "Không có quyền truy cập" in answer.text
    # nothing a refused POST asked for happened
    with console.session() as s:
        assert [e for e in s.ledger.events(kinds=("pause", "approve", "send_back", "retry", "resolve"))
                if e.actor in (PEOPLE["lan"][1], "lan", "hoa", PEOPLE["hoa"][1])] == []


def test_nav_shows_only_what_the_role_may_open(console):
    for role in ROLES:
        page = console.client().signed_in(ROLE_USER[role]).get("/").text
        nav = page[page.index("<nav"):page.index("</nav>")]
        for r in console.app.routes:
            if f'href="{r.path}"' in nav:
                assert _allowed(r, role), (role, r.path)
    assert 'href="/approvals"' in console.client().signed_in("hung").get("/").text
    assert 'href="/approvals"' not in console.client().signed_in("binh").get("/").text


def test_csrf_token_required_on_every_post(console):
    posts = [(path, r) for path, method, r in routes(console.app) if method == "POST"]
    assert any(p == "/login" for p, _ in posts) and len(posts) >= 6
    for path, r in posts:
        c = console.client()
        if r.path not in PUBLIC_PATHS:
            role = next(iter(r.endpoint.loa_roles)) if r.endpoint.loa_roles else "board"
            c.signed_in(ROLE_USER[role])
        data = {"post": PARAMS["post_id"], "channel": "portal", "reason": "r", "comment": "c", "name": "hung",
                "password": PASSWORD}
        real = c.token("/login" if r.path in PUBLIC_PATHS else "/")
        for token in (None, "", "forged-" + "x" * 40, real + "x", real[:-1]):
            sent = dict(data, **({"csrf_token": token} if token is not None else {}))
            answer = c.post(path, sent)
            assert answer.status_code == 403, (path, token, answer.status_code)
            assert "Biểu mẫu đã hết hạn" in answer.text
    # another person's token is not this session's
    a, b = console.client().signed_in("binh"), console.client().signed_in("binh")
    assert a.post("/ops/pause", {"reason": "r", "csrf_token": b.token()}).status_code == 403
    with console.session() as s:
        assert s.ledger.active_pauses(datetime.now(timezone.utc)) == []


def test_session_fixation_and_sign_out(console):
    c = console.client()
    c.get("/login")
    planted = "planted-token.by.attacker"
    c.http.cookies.set("loa_session", planted)
    answer = c.login("hung")
    assert answer.status_code == 303
    issued = answer.cookies.get("loa_session")
    assert issued and issued != planted
    # each sign-in gets a token never seen before, even for the same person in the same browser
    again = console.client()
    again.http.cookies.set("loa_session", issued)
    assert again.get("/").status_code == 200  # (the cookie is the session: that is the point of HttpOnly)
    c.http.cookies.clear()
    c.http.cookies.set("loa_session", issued)
    second = c.post("/login", {"name": "hung", "password": PASSWORD, "csrf_token": c.token("/")})
    assert second.status_code == 303 and second.cookies.get("loa_session") not in (None, issued)
    assert again.get("/").status_code == 303, "the session the browser came with ends at sign-in"
    # sign out ends the session on the server: a copied cookie is worth nothing afterwards
    current = second.cookies.get("loa_session")
    browser, copy = console.client(), console.client()
    browser.http.cookies.set("loa_session", current)
    copy.http.cookies.set("loa_session", current)
    assert copy.get("/").status_code == 200
    assert browser.send("/logout").status_code == 303
    assert copy.get("/").status_code == 303 and browser.get("/").status_code == 303


@pytest.mark.parametrize("secure", [True, False])
def test_cookie_flags(console, secure):
    app = create_app(console.root / "config.toml", secret_key="s", ledger_url=console.ledger_url,
                     secure_cookies=secure, env={})
    served = serve(app)
    try:
        c = Client(served.base)
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        for header in (page.headers["set-cookie"],):
            assert "HttpOnly" in header and "SameSite=lax" in header and ("Secure" in header) == secure
        # requests keeps Secure cookies for https only: send the login form's cookie by hand
        answer = c.http.post(served.base + "/login", allow_redirects=False, timeout=30,
                             data={"name": "hung", "password": PASSWORD, "csrf_token": token},
                             headers={"cookie": page.headers["set-cookie"].split(";")[0]})
        assert answer.status_code == 303
        header = answer.headers["set-cookie"]
        session_part = next(p for p in header.split(", loa_") if p.startswith("loa_session") or "session=" in p)
        assert "HttpOnly" in session_part and "SameSite=lax" in session_part and ("Secure" in session_part) == secure
        assert "Max-Age" not in session_part.split("loa_csrf")[0], "the session cookie ends with the browser"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert ("strict-transport-security" in answer.headers) == secure
    finally:
        served.stop()


HOSTILE_POSTS = {
    "news/a.md": post(id="20240325-aaaaaa", title="Tin " + HOSTILE, summary="Tóm tắt " + HOSTILE,
                      author="<b>Tác giả</b>\"'", publish_at="2030-03-25 08:00", unit="phuong-vung-tau",
                      body="Đoạn văn <script>alert(1)</script> và <img src=x onerror=alert(1)>.\n"),
    "news/b.md": post(id="20240326-bbbbbb", title="Bài thứ hai <i>đơn vị</i>", author="Nguyễn Thị Lan",
                      publish_at="2030-03-26 08:00", unit="phuong-vung-tau"),
}


@pytest.mark.parametrize("console", [HOSTILE_POSTS], indirect=True)
def test_every_post_field_is_escaped_on_every_page(console):
    now = datetime.now(timezone.utc)
    with console.session() as s:
        s.ledger.hold("portal", Hold(message="Giữ " + HOSTILE, hint="Gợi ý " + HOSTILE, vendor="Vendor " + HOSTILE), now)
        s.ledger.pause("facebook", reason="Lý do " + HOSTILE, actor="<b>Tác giả</b>", now=now)
    board = console.client().signed_in("hung")
    sent = board.send("/approvals/send-back", {"post": "20240326-bbbbbb", "comment": "Sửa " + HOSTILE}, "/approvals")
    assert sent.status_code == 200, sent.text[:300]
    seen = 0
    for role in ROLES:
        c = console.client().signed_in(ROLE_USER[role])
        for path, method, r in routes(console.app):
            if method != "GET" or not _allowed(r, role) or r.path in PUBLIC_PATHS or "download" in r.path \
                    or r.path == "/ops/channels":
                continue
            for query in ("", "?q=" + HOSTILE, "?next=" + HOSTILE):
                page = c.get(path + query)
                for marker in MARKERS:
                    assert marker not in page.text, (role, path, query, marker)
                seen += 1
    assert seen > 20
    # the words are on the pages, escaped
    assert "Tin &lt;script&gt;alert(" in board.get("/approvals").text
    ops = console.client().signed_in("binh").get("/ops").text
    assert "Vendor &lt;script&gt;" in ops and "Lý do &lt;script&gt;" in ops
    assert "Sửa &lt;script&gt;" in board.get("/approvals").text
    # the sign-in page reflects nothing unescaped either
    page = console.client().get("/login?next=" + HOSTILE)
    assert all(m not in page.text for m in MARKERS)


def test_a_disabled_person_loses_access_at_the_next_request(console):
    c = console.client().signed_in("binh")
    assert c.get("/ops").status_code == 200
    with console.session() as s:  # as `loa users disable binh` in another process
        s.accounts.disable("binh", actor="it-admin")
    assert c.get("/ops").status_code == 303
    assert c.send("/ops/pause", {"reason": "r"}, "/login").status_code in (303, 403)
    assert console.client().login("binh").status_code == 401
    with console.session() as s:
        s.accounts.disable("binh", actor="it-admin", enable=True)
    assert c.get("/ops").status_code == 303, "a disabled session does not come back when re-enabled"
    assert console.client().signed_in("binh").get("/ops").status_code == 200
    # a password reset also ends the person's sessions
    d = console.client().signed_in("hoa")
    with console.session() as s:
        s.accounts.reset("hoa", "một mật khẩu mới khác", actor="it-admin")
    assert d.get("/").status_code == 303


def test_sign_in_is_throttled_per_account_across_console_processes(console):
    other = serve(create_app(console.root / "config.toml", secret_key="test-secret", ledger_url=console.ledger_url,
                             secure_cookies=False, env={}))
    try:
        for i in range(MAX_PER_ACCOUNT):
            base = console.base if i % 2 else other.base  # two console processes, one count
            assert Client(base).login("mai", "sai mật khẩu").status_code == 401
        refused = Client(console.base).login("mai")  # the right password, too late
        assert refused.status_code == 429 and "quá nhiều lần" in refused.text
        assert Client(other.base).login("mai").status_code == 429
        assert Client(console.base).signed_in("hung")  # other accounts are not locked out
    finally:
        other.stop()
    with console.session() as s:
        failed = s.ledger.events(kinds=("login_failed",))
        assert len(failed) == MAX_PER_ACCOUNT and {e.actor for e in failed} == {"mai"}
        assert "mật khẩu" not in str([e.detail for e in failed])


def test_unknown_name_and_wrong_password_read_the_same(console):
    a, b = console.client().login("khong-co-ai"), console.client().login("hung", "sai mật khẩu")
    assert a.status_code == b.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in a.text and "Sai tên đăng nhập hoặc mật khẩu" in b.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_redirects_off_the_console(console, target):
    c = console.client()
    answer = c.post("/login", {"name": "hung", "password": PASSWORD, "csrf_token": c.token("/login"), "next": target})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_sign_in_is_throttled_per_address_and_forwarded_for_is_believed_only_from_the_proxy(console, monkeypatch):
    from pipeline import accounts

    monkeypatch.setattr(accounts, "MAX_PER_IP", 3)
    direct = console.client()
    for name in ("lan", "hung", "binh"):  # one address guessing several accounts
        assert direct.login(name, "sai mật khẩu").status_code == 401
    assert direct.login("hoa").status_code == 429
    # a client cannot leave its count behind by claiming another address
    spoofed = console.client()
    spoofed.http.headers["X-Forwarded-For"] = "203.0.113.9"
    assert spoofed.login("hoa").status_code == 429
    # behind the trusted proxy, each client is counted by the address the proxy wrote
    proxied = serve(create_app(console.root / "config.toml", secret_key="test-secret", ledger_url=console.ledger_url,
                               secure_cookies=False, trusted_proxies=("127.0.0.1",), env={}))
    try:
        other = Client(proxied.base)
        other.http.headers["X-Forwarded-For"] = "198.51.100.7"
        assert other.login("hoa").status_code == 303
        with console.session() as s:
            ips = {r[0] for r in s.ledger.query("SELECT ip FROM login_attempts")}
        assert ips == {"127.0.0.1", "198.51.100.7"}
    finally:
        proxied.stop()


def test_an_idle_session_ends(console):
    from datetime import timedelta

    from pipeline.accounts import IDLE

    now = [datetime.now(timezone.utc)]
    app = create_app(console.root / "config.toml", secret_key="s", ledger_url=console.ledger_url,
                     secure_cookies=False, env={}, clock=lambda: now[0])
    served = serve(app)
    try:
        c = Client(served.base).signed_in("hung")
        now[0] += IDLE - timedelta(minutes=1)
        assert c.get("/").status_code == 200  # used: it lives IDLE from now
        now[0] += IDLE - timedelta(minutes=1)
        assert c.get("/").status_code == 200
        now[0] += IDLE + timedelta(seconds=1)
        assert c.get("/").status_code == 303
    finally:
        served.stop()


def test_the_ledger_out_of_reach_or_a_bug_gives_a_page_not_a_traceback(console):
    from pipeline.errors import LedgerUnavailable

    session = console.app.state.session
    it = console.client().signed_in("binh")

    def down(*a, **kw):
        raise LedgerUnavailable("connection refused by db.internal:5432 password=hunter22")

    def bug(*a, **kw):
        raise KeyError("secret detail of a bug")

    for broken, status, words in ((down, 503, "không truy cập được sổ cái"), (bug, 500, "lỗi của Loa")):
        session.status = broken
        try:
            page = it.get("/ops")
        finally:
            del session.status
        assert page.status_code == status and words in page.text
        assert "hunter22" not in page.text and "secret detail" not in page.text and "Traceback" not in page.text
    assert it.get("/ops").status_code == 200  # a fresh ledger connection at the next request


def test_head_requests_answer_as_get_does(console):
    assert console.client().http.head(console.base + "/login", timeout=30).status_code == 200
    assert console.client().http.head(console.base + "/ops", timeout=30, allow_redirects=False).status_code == 303


@pytest.mark.parametrize("console", [HOSTILE_POSTS], indirect=True)
def test_the_html_report_reads_in_the_page_under_its_own_sandbox(console):
    # the reports page frames the html report (as `loa report --format html` writes it) from its own
    # route: its inline styles allowed there, no script, a unique origin, framed by the console only
    (console.root / "templates" / "report").mkdir(parents=True, exist_ok=True)
    (console.root / "templates" / "report" / "report.html.j2").write_text(
        '<!doctype html><html lang="vi"><head><title>r</title><style>p{color:red}</style></head>'
        '<body><p style="color:blue">{{ period.key }}</p><script>alert(1)</script></body></html>', encoding="utf-8")
    hoa = console.client().signed_in("hoa")
    page = hoa.get("/reports?period=2030-Q1&unit=phuong-vung-tau")
    assert page.status_code == 200
    src = re.search(r'<iframe class="report" sandbox title="[^"]+" src="([^"]+)"', page.text).group(1)
    assert src == "/reports/view?period=2030-Q1&unit=phuong-vung-tau"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]  # the console's own pages
    doc = hoa.get(src)
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("text/html")
    assert "<p style=\"color:blue\">2030-Q1</p>" in doc.text
    csp = [p.strip() for p in doc.headers["content-security-policy"].split(";")]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp and "sandbox" in csp
    assert "frame-ancestors 'self'" in csp and not any(p.startswith("script-src") for p in csp)
    assert doc.headers["x-frame-options"] == "SAMEORIGIN" and doc.headers["content-security-policy"].count("default-src") == 1
    assert doc.headers["x-content-type-options"] == "nosniff" and doc.headers["cache-control"] == "no-store"
    # no period: nothing; staff and the anonymous: refused
    assert hoa.get("/reports/view").status_code == 404
    assert console.client().signed_in("lan").get(src).status_code == 403
    assert console.client().get("/reports/view?period=2030-Q1").status_code == 303
    # a period that cannot be read is a plain-text message, still under the report's policy
    bad = hoa.get("/reports/view?period=2030-Q9")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/plain")
    assert "sandbox" in bad.headers["content-security-policy"]
