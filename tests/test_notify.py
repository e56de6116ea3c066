"""Notifications: against a real SMTP server on loopback (aiosmtpd) and the local Telegram stand-in.

Each problem is told once (the state is in the ledger, so a restart does not repeat it, and two
daemons on one PostgreSQL ledger send it once), reminded after ``reminder_after``, and said
resolved when it clears; no secret ever leaves in a message."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pipeline import secrets
from pipeline.app import Session
from pipeline.config import load_config
from pipeline.ledger import open_ledger
from pipeline.ledger.base import Hold
from pipeline.schedule import Daemon
from tests.repo import make_repo, post
from tests.servers.telegram import TelegramServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=VN)
SMTP_PASSWORD = "smtp-Pa55word-" + "x7q2k9"
IT = "cntt@vungtau.example.gov.vn"


class Mailbox:
    """aiosmtpd handler: every message received, parsed, and the logins seen."""

    def __init__(self):
        self.messages = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, address):
        return [m for rcpt, m in self.messages if address in rcpt]

    def subjects(self, address=IT):
        return sorted(m["Subject"] for m in self.to(address))


@pytest.fixture
def smtp():
    box = Mailbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        box.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)
    ctl.start()
    box.port = port
    try:
        yield box
    finally:
        ctl.stop()


def server_file(smtp_port=None, *, telegram=None, ledger_url=None, extra="", **notify):
    notify = {"it": [IT], "reminder_after": "2h", "digest_hour": 23, **notify}
    lines = [f"[ledger]\nurl = {json.dumps(ledger_url)}"] if ledger_url else []
    lines.append("[notify]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in notify.items()]
    lines.append(extra)
    if smtp_port:
        lines += ["[notify.smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}", 'security = "none"',
                  'user = "loa@vungtau.example.gov.vn"', 'password_env = "LOA_SMTP_PASSWORD"',
                  'from = "Loa <loa@vungtau.example.gov.vn>"']
    if telegram:
        lines += ["[notify.telegram]"] + [f"{k} = {json.dumps(v)}" for k, v in telegram.items()]
    path = os.path.join(tempfile.mkdtemp(prefix="loa-server-"), "server.toml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def session(root, path, clock, **env):
    env = {"LOA_SERVER_CONFIG": path, "LOA_SMTP_PASSWORD": SMTP_PASSWORD, **env}
    return Session.open(load_config(root / "config.toml", env=env), clock=clock, env=env)


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def text_of(msg):
    return msg["Subject"] + "\n" + msg.get_body(("plain",)).get_content()


def test_server_file_notify_section_is_checked(tmp_path):
    root = make_repo(tmp_path / "repo")
    bad = server_file(None, it="not-an-address", reminder_after="soon", digest_hour=25,
                      extra='[notify.smtp]\nhost = "x"\nsecurity = "tls"')
    from pipeline.errors import ConfigError
    with pytest.raises(ConfigError) as err:
        load_config(root / "config.toml", env={"LOA_SERVER_CONFIG": bad})
    text = str(err.value)
    for key in ("notify.it", "notify.reminder_after", "notify.digest_hour", "notify.smtp.security", "notify.smtp"):
        assert key in text, text


def test_scenario_it_officer_told_once_reminded_and_resolved(tmp_path, smtp):
    """The issue's scenario at the use-case level: an auth hold and a failing git pull -> one
    message each; nothing more on the next passes or after a restart; a reminder after
    ``reminder_after``; a "resolved" after the fix; no secret in any message."""
    token = "EAAG" + "Zq81" * 8
    secrets.register(token)
    root = make_repo(tmp_path / "repo")
    path = server_file(smtp.port)
    clock = Clock(T0)
    s = session(root, path, clock)
    s.ledger.hold("portal", Hold("khóa truy cập bị từ chối (401)", None, f"Invalid OAuth access token {token}"), T0)
    s.record_pull(False, "fatal: unable to access 'https://loa:gh-S3cretPull@git.example.gov.vn/noidung.git/': 403")
    sent = s.notify()
    assert sorted(k for _, k, _ in sent.sent) == ["hold:portal", "pull"]
    assert len(smtp.to(IT)) == 2
    hold_msg = next(m for m in smtp.to(IT) if "tạm giữ" in m["Subject"])
    pull_msg = next(m for m in smtp.to(IT) if "git pull" in m["Subject"])
    assert "Việc cần làm" in text_of(hold_msg) and "loa retry --channel portal" in text_of(hold_msg)
    assert "Việc cần làm" in text_of(pull_msg) and "403" in text_of(pull_msg)
    assert smtp.logins == [(b"loa@vungtau.example.gov.vn", SMTP_PASSWORD.encode())] * 2

    for minutes in (1, 30, 119):  # passes before the reminder is due
        clock.t = T0 + timedelta(minutes=minutes)
        assert s.notify().sent == []
    s.close()
    s = session(root, path, clock)  # a restarted daemon: the state is in the ledger
    assert s.notify().sent == []
    assert len(smtp.to(IT)) == 2

    clock.t = T0 + timedelta(hours=2, minutes=1)
    assert sorted(k for k, _, _ in s.notify().sent) == ["reminder", "reminder"]
    assert sum("Nhắc lại" in m["Subject"] for m in smtp.to(IT)) == 2
    clock.t += timedelta(minutes=5)
    assert s.notify().sent == []

    # the IT officer fixes both
    s.retry(None, "portal", actor="cntt")
    s.record_pull(True)
    clock.t += timedelta(minutes=1)
    assert sorted(k for k, _, _ in s.notify().sent) == ["resolved", "resolved"]
    assert sum("Đã hết" in m["Subject"] for m in smtp.to(IT)) == 2
    clock.t += timedelta(hours=5)
    assert s.notify().sent == []
    assert len(smtp.to(IT)) == 6  # exactly: 2 problems, 2 reminders, 2 resolved

    everything = "\n".join(m.as_string() for _, m in smtp.messages)
    for secret in (token, "gh-S3cretPull", SMTP_PASSWORD):
        assert secret not in everything
    s.close()


def test_daemon_tick_with_a_refusing_remote_mails_the_it_officer(tmp_path, smtp):
    """``loa run`` (one tick at a time, the session's clock injected) on a clone whose remote refuses
    pulls and a held channel: one message per problem, then nothing until the reminder."""
    root = make_repo(tmp_path / "repo")
    text = (root / "config.toml").read_text().replace("git_pull = false", "git_pull = true")
    (root / "config.toml").write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(tmp_path / "gone.git")], cwd=root, check=True)
    clock = Clock(T0)
    s = session(root, server_file(smtp.port), clock)
    s.ledger.hold("portal", Hold("khóa truy cập bị từ chối (401)"), T0)
    d = Daemon(s, once=True)
    d.tick()
    d.tick()
    assert smtp.subjects().__len__() == 2, smtp.subjects()
    assert any("git pull" in x for x in smtp.subjects())
    clock.t = T0 + timedelta(hours=3)
    d.tick()
    assert sum("Nhắc lại" in x for x in smtp.subjects()) == 2
    s.ledger.lift_hold("portal", clock.t)
    d.tick()  # the pull still fails: only the hold is resolved
    assert [x for x in smtp.subjects() if "Đã hết" in x] == [next(x for x in smtp.subjects() if "Đã hết" in x)]
    s.close()


def test_telegram_chat_gets_the_it_messages_without_the_token(tmp_path):
    bot = "7000111222:AAF" + "k3J9" * 8
    with TelegramServer(bot) as tg:
        tg.add_chat(-1001234567, type="supergroup", title="CNTT")
        root = make_repo(tmp_path / "repo")
        path = server_file(None, telegram={"token_env": "LOA_NOTIFY_BOT", "chat_id": "-1001234567",
                                           "api_base": tg.url})
        clock = Clock(T0)
        s = session(root, path, clock, LOA_NOTIFY_BOT=bot)
        s.record_pull(False, "fatal: could not read from remote repository")
        assert [k for _, k, _ in s.notify().sent] == ["pull"]
        assert s.notify().sent == []
        texts = [m.text for m in tg.live(-1001234567)]
        assert len(texts) == 1 and "git pull" in texts[0] and "Việc cần làm" in texts[0]
        assert bot not in texts[0]
        s.close()


def test_a_failing_transport_is_retried_not_recorded(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    root = make_repo(tmp_path / "repo")
    s = session(root, server_file(dead), Clock(T0))
    s.record_pull(False, "boom")
    result = s.notify()
    assert result.sent == [] and result.failed and s.ledger.notice("pull") is None
    s.close()


def test_author_told_of_check_errors_and_board_gets_one_digest(tmp_path, smtp):
    author_addr = "lan@vungtau.example.gov.vn"
    board = "bbt@vungtau.example.gov.vn"
    root = make_repo(tmp_path / "repo", {
        "news/bad.md": post(id="20261202-bad001", unit="khong-co", publish_at="2026-12-02 09:00", channels=["portal"]),
        "news/wait.md": post(id="20261202-wait01", title="Bài chờ duyệt", publish_at="2026-12-02 10:00", unit="phuong-vung-tau",
                             channels=["portal"])})
    path = server_file(smtp.port, board=[board], digest_hour=7,
                       extra=f'[notify.authors]\n"Nguyễn Thị Lan" = "{author_addr}"')
    clock = Clock(T0)
    s = session(root, path, clock)
    s.notify()
    s.notify()
    mine = smtp.to(author_addr)
    assert len(mine) == 1, [text_of(m) for m in mine]
    assert "còn lỗi" in mine[0]["Subject"] and "khong-co" in text_of(mine[0])
    digest = smtp.to(board)
    assert len(digest) == 1 and "Bài chờ duyệt" in text_of(digest[0]) and "chờ duyệt" in digest[0]["Subject"]
    (root / "content/news/bad.md").unlink()
    clock.t += timedelta(minutes=1)
    s.notify()
    assert len(smtp.to(author_addr)) == 2 and "Đã hết" in smtp.to(author_addr)[1]["Subject"]
    assert len(smtp.to(board)) == 1
    s.close()


def test_report_written_goes_to_the_report_recipients_attached(tmp_path, smtp):
    out = tmp_path / "bao-cao-2026-Q4.xlsx"
    out.write_bytes(b"PK\x03\x04 fake")
    root = make_repo(tmp_path / "repo")
    vp = "vanphong@vungtau.example.gov.vn"
    s = session(root, server_file(smtp.port, reports=[vp]), Clock(T0))
    s.notify(reports=[out])
    s.notify(reports=[out])
    got = smtp.to(vp)
    assert len(got) == 1
    assert [a.get_filename() for a in got[0].iter_attachments()] == [out.name]
    s.close()


def test_two_daemons_on_postgres_send_once(tmp_path, smtp, postgres_url):
    root = make_repo(tmp_path / "repo")
    path = server_file(smtp.port, ledger_url=postgres_url)
    clock = Clock(T0)
    a, b = session(root, path, clock), session(root, path, clock)
    a.ledger.hold("portal", Hold("khóa truy cập bị từ chối (401)"), T0)
    a.record_pull(False, "refused")
    barrier = threading.Barrier(2)

    def run(s):
        barrier.wait()
        s.notify()
    threads = [threading.Thread(target=run, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(smtp.to(IT)) == 2, smtp.subjects()
    clock.t = T0 + timedelta(hours=3)
    threads = [threading.Thread(target=run, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(smtp.to(IT)) == 4, smtp.subjects()
    a.close()
    b.close()
    lg = open_ledger(postgres_url, root)
    assert set(lg.notices()) >= {"hold:portal", "pull"}
    lg.close()


def test_a_ledger_unreachable_for_long_is_told_once_and_its_return_too(tmp_path, smtp):
    """The ledger cannot record this notice: the daemon remembers the outage, tells the IT officer
    once after `ledger_down`, and once more when the ledger answers again."""
    from pipeline.errors import LedgerUnavailable

    root = make_repo(tmp_path / "repo")
    clock = Clock(T0)
    s = session(root, server_file(smtp.port, ledger_down="10m"), clock)
    d = Daemon(s, once=True)
    real_publish = s.publish
    down = {"on": True}

    def publish(*a, **kw):
        if down["on"]:
            raise LedgerUnavailable("could not connect to server: Connection refused")
        return real_publish(*a, **kw)

    s.publish = publish
    for minutes in (0, 5, 9):  # not yet ten minutes: nothing said
        clock.t = T0 + timedelta(minutes=minutes)
        d.tick()
    assert smtp.subjects() == []
    for minutes in (11, 20, 40):
        clock.t = T0 + timedelta(minutes=minutes)
        d.tick()
    [told] = smtp.subjects()
    assert "ledger" in told and "Connection refused" in text_of(smtp.messages[-1][1])
    down["on"] = False
    clock.t = T0 + timedelta(minutes=45)
    d.tick()
    d.tick()
    assert [x for x in smtp.subjects() if "Đã hết" in x] == ["[Loa] Đã hết: Sổ theo dõi (ledger) không truy cập được"]
    assert len(smtp.subjects()) == 2
    s.close()


def test_a_failed_items_message_says_its_reason_in_words_not_the_ledgers_json(tmp_path, smtp):
    """The IT officer's message about a failed item quoted ``last_error`` as stored: for a vendor's
    refusal that is the ledger's JSON (reason, vendor, hint, codes). Now the reason in the site's
    language, the vendor's own words as said, and what to do."""
    from pipeline.errors import PermanentPublishError
    from pipeline.messages import Detail, text
    from pipeline.publish import error_text

    root = make_repo(tmp_path / "repo", {"news/a.md": post(id="a")})
    clock = Clock(T0)
    s = session(root, server_file(smtp.port), clock)
    lg = s.ledger
    lg.ensure("a", "facebook", channel_type="facebook", meta={"title": "Bài a", "path": "news/a.md"}, now=T0)
    lg.claim("a", "facebook", owner="w", action="create", version="v1", lease=timedelta(minutes=2), now=T0,
             allowed_states=("pending",))
    error = PermanentPublishError("facebook", "a", Detail("publish.caption-no-image"),
                                  vendor_message="(#324) Requires upload file", hint=Detail("publish.rendering-bug"))
    lg.record_failure("a", "facebook", owner="w", kind="permanent", message=error_text(error),
                      next_attempt_at=None, now=T0)
    assert [k for _, k, _ in s.notify().sent] == ["item:a:facebook:failed"]
    body = text_of(smtp.to(IT)[0])
    assert text("publish.caption-no-image", "vi") in body and text("publish.rendering-bug", "vi") in body, body
    assert "(#324) Requires upload file" in body  # Facebook's own words, as said
    assert '"codes"' not in body and str(error.reason) not in body, body
    s.close()
