"""Telling people when something needs them: composing the messages and sending each once.

A :class:`Notice` is one thing a person must know, keyed so it can be recognised next time
(``hold:portal``, ``pull``, ``item:<post>:<channel>:failed``...). ``lasting`` notices describe a
problem that lasts until someone fixes it: the first message says what happened and what to do, a
reminder follows every ``[notify] reminder_after`` while it lasts, and a "resolved" message when it
is gone. The others (a report written, the board's morning digest, a token about to expire) are
sent once.

What was sent is kept in the ledger (:meth:`pipeline.ledger.base.Ledger.notice`, kv keys
``notify:{key}``), so a restarted daemon does not say it again; :func:`deliver` holds the ledger's
named lock ``notify`` while it reads, sends and records, so two daemons on one PostgreSQL ledger
never both send. A message that no transport accepted is not recorded and is tried at the next
pass. Every text goes through :func:`pipeline.secrets.redact` before it leaves.

Transports: e-mail over SMTP (``smtplib``: STARTTLS, SMTPS or plain on loopback; login with the
password from ``password_env``) and a Telegram chat (the Bot API's ``sendMessage``). Recipients
come from the server file's ``[notify]`` (:class:`pipeline.server.NotifySettings`); the content
repository cannot change who is told. See docs/notifications.md.

This is a stage: it gets the facts from :meth:`pipeline.app.Session.notify` and knows nothing of
who calls it.
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence

from pipeline import secrets
from pipeline.errors import LedgerUnavailable
from pipeline.messages import localized
from pipeline.status import error_words

log = logging.getLogger(__name__)

#: resolved notices older than this are forgotten (the kv table does not grow for ever)
FORGET_AFTER = timedelta(days=30)
LOCK = "notify"
TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_LIMIT = 4000


@dataclass(frozen=True)
class Notice:
    """One message to people: ``role`` (``it``, ``board``, ``reports``, ``author``) chooses the
    recipients, ``to`` names them directly (an author's address)."""

    key: str
    role: str
    subject: str
    body: str
    lasting: bool = True
    to: tuple[str, ...] = ()
    attachments: tuple[Path, ...] = ()


# -- composing ----------------------------------------------------------------------------------

def _local(t: datetime | str | None, tz: tzinfo) -> str:
    if t is None:
        return "không rõ"
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t)
        except ValueError:
            return t
    return t.astimezone(tz).strftime("%H:%M ngày %d/%m/%Y")


def hold_notice(channel: str, label: str, hold: Any, tz: tzinfo, lang: str = "vi") -> Notice:
    """A channel held (an authentication failure, a damaged site manifest): nothing goes out on it.
    The hold's words (catalogue Details) in ``lang``, the site's language; the vendor's as said."""
    todo = localized(hold.hint, lang) if hold.hint else f"sửa khóa truy cập của kênh rồi chạy `loa retry --channel {channel}`"
    vendor = f"\nNhà cung cấp trả lời: {hold.vendor}" if hold.vendor else ""
    return Notice(
        f"hold:{channel}", "it", f"Kênh {label} đang bị tạm giữ, không bài nào được đăng lên kênh này",
        f"Từ {_local(hold.since, tz)}, Loa tạm giữ kênh {label} ({channel}): {localized(hold.message, lang)}{vendor}\n\n"
        f"Việc cần làm: {todo}. Sau đó kiểm tra bằng `loa channels check --channel {channel}`; "
        f"các bài đang chờ sẽ được đăng ở lượt kế tiếp.")


def wait_notice(channel: str, label: str, until: datetime, tz: tzinfo) -> Notice:
    """The vendor asked the channel to wait for longer than ``[notify] vendor_wait``."""
    return Notice(
        f"wait:{channel}", "it", f"Kênh {label} phải chờ nhà cung cấp đến {_local(until, tz)}",
        f"Nhà cung cấp của kênh {label} ({channel}) yêu cầu Loa ngừng gửi đến {_local(until, tz)} (giới hạn "
        f"tần suất). Các bài đến hạn trên kênh này sẽ được đăng muộn.\n\nViệc cần làm: thường không cần làm gì; "
        f"nếu bài gấp, đăng tay trên kênh rồi ghi lại bằng `loa resolve`. Xem `loa status`.")


def item_notice(row: Any, label: str, lang: str = "vi") -> Notice:
    """A (post, channel) item failed for good, or its outcome is in doubt. Its ``last_error`` (the
    ledger's JSON: reason, vendor's words, what to do) in words, in ``lang`` (the site's language)."""
    title = row.title or row.post_id
    if row.state == "in_doubt":
        subject = f"Không rõ bài «{title}» đã lên kênh {label} hay chưa"
        todo = (f"mở kênh {label} xem bài đã có chưa; nếu có, chạy `loa resolve {row.post_id} --channel "
                f"{row.channel} --url <địa chỉ bài>`; nếu chưa, chạy `loa retry {row.post_id} --channel {row.channel}`. "
                f"Loa không tự gửi lại để tránh đăng hai lần")
    else:
        subject = f"Bài «{title}» không đăng được lên kênh {label}"
        todo = f"sửa nguyên nhân bên dưới rồi chạy `loa retry {row.post_id} --channel {row.channel}`"
    return Notice(f"item:{row.post_id}:{row.channel}:{row.state}", "it", subject,
                  f"Bài {row.post_id} ({title}) trên kênh {label} ({row.channel}): "
                  f"{error_words(row.last_error, lang) or 'không có thông tin lỗi'}\n\nViệc cần làm: {todo}.")


def pull_notice(pull: Mapping[str, Any], tz: tzinfo) -> Notice:
    """``git pull`` of the content repository fails: Loa publishes from the commit it has."""
    return Notice(
        "pull", "it", "Nội dung không được cập nhật: git pull của kho nội dung bị lỗi",
        f"Từ {_local(pull.get('failing_since'), tz)}, lệnh `git pull --ff-only` của kho nội dung không chạy được "
        f"(lần cập nhật được gần nhất: {_local(pull.get('last_ok'), tz)}). Bài mới hoặc bài sửa trên kho chung chưa "
        f"về máy chủ; Loa vẫn đăng những bài đã có.\nLý do: {pull.get('reason') or 'không rõ'}\n\n"
        f"Việc cần làm: vào thư mục kho nội dung trên máy chủ chạy `git pull --ff-only` để xem lỗi (mạng, khóa "
        f"truy cập kho, hay lịch sử bị viết lại), sửa rồi chờ lượt kế tiếp. `loa status` cho biết tình trạng.")


def token_notice(channel: str, label: str, expires_at: datetime, late: Sequence[datetime], tz: tzinfo) -> Notice:
    """A credential expires before posts scheduled on its channel (sent once per expiry)."""
    times = ", ".join(_local(t, tz) for t in late[:5]) + (" ..." if len(late) > 5 else "")
    return Notice(
        f"token:{channel}:{expires_at.date().isoformat()}", "it",
        f"Khóa truy cập của kênh {label} hết hạn lúc {_local(expires_at, tz)}, trước {len(late)} bài đã lên lịch",
        f"Khóa truy cập (token) của kênh {label} ({channel}) hết hạn lúc {_local(expires_at, tz)}. Các bài lên lịch "
        f"sau thời điểm đó sẽ không đăng được: {times}.\n\nViệc cần làm: cấp khóa mới cho kênh (xem docs/channels.md), "
        f"đặt vào biến môi trường của dịch vụ, khởi động lại `loa run`, rồi kiểm tra bằng `loa channels check`.",
        lasting=False)


def ledger_notice(since: datetime, reason: str, tz: tzinfo) -> Notice:
    return Notice("ledger", "it", "Sổ theo dõi (ledger) không truy cập được",
                  f"Loa không mở được sổ theo dõi từ {_local(since, tz)}: {reason}\n"
                  "Không bài nào được gửi trong thời gian này (không mất gì, không gửi trùng).\n"
                  "Việc cần làm: kiểm tra máy chủ cơ sở dữ liệu (PostgreSQL) hoặc tệp var/loa.db, "
                  "ổ đĩa còn trống, quyền truy cập; Loa tự tiếp tục khi sổ mở lại được.")


def deliver_without_ledger(notice: Notice, kind: str, outs: Sequence[Transport]) -> bool:
    """Send ``notice`` (``new`` or ``resolved``) when the ledger itself is what fails: nothing is
    recorded, the caller (the daemon) keeps the state in memory."""
    ok, errors = _send(notice if kind == "new" else _resolved({"key": notice.key, "role": notice.role,
                                                                 "subject": notice.subject}), kind, outs)
    for e in errors:
        log.warning("Notification %s not sent by %s", notice.key, e)
    return ok


def report_notice(paths: Sequence[Path]) -> Notice:
    """Reports written: sent once to the ``reports`` recipients with the files attached."""
    names = "\n".join(f"- {p.name}" for p in paths)
    return Notice(
        "report:" + ",".join(sorted(p.name for p in paths)), "reports",
        "Báo cáo định kỳ về thông tin trên cổng và mạng xã hội đã được lập",
        f"Loa đã lập báo cáo định kỳ; các tệp đính kèm thư này:\n{names}\n\nViệc cần làm: kiểm tra số liệu, "
        f"trình ký và gửi theo quy định. Tệp gốc nằm trên máy chủ tại {paths[0].parent}.",
        lasting=False, attachments=tuple(paths))


def digest_notice(day: str, waiting: Sequence[Any], today: Sequence[Any], blocked: Sequence[Any],
                  tz: tzinfo, labels: Mapping[str, str]) -> Notice:
    """The board's morning digest: posts awaiting approval, what goes out today, what a missing
    approval blocks. ``waiting``: ``approval.Waiting``; ``today``/``blocked``: plan decisions."""
    lines = [f"Bản tin sáng {day} của Loa cho Ban biên tập.", ""]
    lines.append(f"Bài chờ duyệt ({len(waiting)}):" if waiting else "Không có bài nào chờ duyệt.")
    for w in waiting:
        lines.append(f"- «{w.post.title}» ({w.post.relpath}), tác giả {w.post.author}, kênh: "
                     f"{', '.join(labels.get(c, c) for c in w.channels)}")
    if blocked:
        lines += ["", f"Bị giữ vì chưa được duyệt ({len(blocked)}):"]
        lines += [f"- «{d.post.title}» trên kênh {labels.get(d.channel, d.channel)}" for d in blocked]
    lines += ["", f"Sẽ đăng hôm nay ({len(today)}):" if today else "Hôm nay không có bài nào lên lịch."]
    lines += [f"- {_local(d.at, tz)[:5]} «{d.post.title}» trên kênh {labels.get(d.channel, d.channel)}" for d in today]
    lines += ["", "Việc cần làm: duyệt bài bằng `loa approve <tệp>` (hoặc trên trang xem trước); bài chưa duyệt "
                  "sẽ không được đăng lên các kênh cần duyệt."]
    return Notice(f"digest:{day}", "board", f"Bản tin sáng {day}: {len(waiting)} bài chờ duyệt, "
                  f"{len(today)} bài đăng hôm nay", "\n".join(lines), lasting=False)


def author_notice(post: Any, errors: Sequence[str], address: str) -> Notice:
    """An author's post is held because of check errors."""
    listed = "\n".join(f"- {e}" for e in errors[:10])
    return Notice(
        f"author:{post.relpath}", "author", f"Bài «{post.title}» của bạn chưa được đăng vì còn lỗi",
        f"Bài «{post.title}» ({post.relpath}) có lỗi nên Loa chưa đăng lên kênh nào:\n{listed}\n\n"
        f"Việc cần làm: sửa các lỗi trên trong tệp bài viết (chạy `loa check {post.relpath}` để xem lại), rồi "
        f"commit; bài sẽ được đăng ở lượt kế tiếp.", to=(address,))


# -- transports ---------------------------------------------------------------------------------

class Transport(Protocol):
    name: str

    def wants(self, notice: Notice) -> bool: ...

    def send(self, notice: Notice, subject: str, body: str) -> None: ...


@dataclass
class Mailer:
    """SMTP: ``security`` ``starttls`` (default, port 587), ``ssl`` (SMTPS, port 465) or ``none``
    (a relay on loopback); ``user`` and the password in the variable ``password_env`` log in."""

    settings: Mapping[str, Any]
    roles: Mapping[str, tuple[str, ...]]
    env: Mapping[str, str]
    tls: ssl.SSLContext | None = None
    name: str = "email"

    def recipients(self, notice: Notice) -> tuple[str, ...]:
        return notice.to or self.roles.get(notice.role, ())

    def wants(self, notice: Notice) -> bool:
        return bool(self.recipients(notice))

    def send(self, notice: Notice, subject: str, body: str) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, s["from"], ", ".join(self.recipients(notice))
        msg["Date"], msg["Message-ID"] = formatdate(localtime=False), make_msgid(domain="loa.invalid")
        msg.set_content(body)
        for path in notice.attachments:
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            main, sub = ctype.split("/", 1)
            msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
        security = s.get("security", "starttls")
        port = s.get("port") or {"ssl": 465, "starttls": 587}.get(security, 25)
        timeout = s.get("timeout", 30)
        context = self.tls or ssl.create_default_context()
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(s["host"], port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(s["host"], port, timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=context)
            if s.get("user"):
                password = self.env.get(s.get("password_env") or "", "")
                secrets.register(password)
                smtp.login(s["user"], password)
            smtp.send_message(msg)


@dataclass
class TelegramChat:
    """One Telegram chat (a group of the IT staff); ``roles`` whose notices it gets (default ``it``)."""

    settings: Mapping[str, Any]
    env: Mapping[str, str]
    name: str = "telegram"

    def wants(self, notice: Notice) -> bool:
        return notice.role in self.settings.get("roles", ["it"])

    def send(self, notice: Notice, subject: str, body: str) -> None:
        import requests

        token = self.env.get(self.settings["token_env"], "")
        if not token:
            raise RuntimeError(f"biến môi trường {self.settings['token_env']} chưa đặt")
        secrets.register(token)
        base = self.settings.get("api_base", TELEGRAM_API).rstrip("/")
        text = f"{subject}\n\n{body}"
        if len(text) > TELEGRAM_LIMIT:
            text = text[:TELEGRAM_LIMIT - 1] + "…"
        r = requests.post(f"{base}/bot{token}/sendMessage", data={"chat_id": str(self.settings["chat_id"]),
                                                                 "text": text, "disable_web_page_preview": "true"},
                          timeout=30)
        data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if not data.get("ok"):
            raise RuntimeError(f"Telegram {r.status_code}: {data.get('description') or r.text[:200]}")


def transports(settings: Any, env: Mapping[str, str]) -> list[Transport]:
    """The transports ``[notify]`` configures (``settings``: :class:`pipeline.server.NotifySettings`)."""
    out: list[Transport] = []
    if settings.smtp is not None:
        roles = dict(settings.roles)
        out.append(Mailer(settings.smtp, roles, env))
    if settings.telegram is not None:
        out.append(TelegramChat(settings.telegram, env))
    return out


# -- sending each once --------------------------------------------------------------------------

@dataclass
class Delivery:
    """What :func:`deliver` sent: ``(kind, key, subject)``, kind ``new``/``reminder``/``resolved``/``once``."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _send(notice: Notice, kind: str, outs: Iterable[Transport]) -> tuple[bool, list[str]]:
    prefix = {"reminder": "Nhắc lại: ", "resolved": "Đã hết: "}.get(kind, "")
    subject = secrets.redact("[Loa] " + prefix + notice.subject).replace("\n", " ")
    body = notice.body
    if kind == "reminder":
        body = "Vấn đề này vẫn chưa được xử lý.\n\n" + body
    body = secrets.redact(body + "\n\n-- \nThư tự động của Loa; không cần trả lời.")
    ok, errors = False, []
    for t in outs:
        if not t.wants(notice):
            continue
        try:
            t.send(notice, subject, body)
            ok = True
        except Exception as exc:  # noqa: BLE001 - one transport failing must not stop the others
            errors.append(secrets.redact(f"{t.name}: {type(exc).__name__}: {exc}"))
    return ok, errors


def _resolved(state: Mapping[str, Any]) -> Notice:
    return Notice(state.get("key", ""), state.get("role", "it"), state.get("subject", ""),
                  f"Vấn đề sau đã được xử lý xong, không cần làm gì thêm:\n{state.get('subject', '')}\n\n"
                  f"(Báo lần đầu lúc {state.get('first_local', state.get('first', ''))}.)",
                  to=tuple(state.get("to", ())))


def _state(n: Notice, kind: str, now: datetime, tz: tzinfo, before: Mapping[str, Any] | None) -> dict[str, Any]:
    first = now if kind in ("new", "once") else datetime.fromisoformat(before["first"])
    return {"key": n.key, "state": "open" if n.lasting else "sent", "role": n.role, "to": list(n.to),
            "subject": n.subject, "first": first.isoformat(), "first_local": _local(first, tz),
            "last": now.isoformat(), "reminders": 0 if kind in ("new", "once") else before.get("reminders", 0) + 1}


def deliver(notices: Sequence[Notice], ledger: Any, outs: Sequence[Transport], now: datetime, *,
            reminder_after: timedelta, tz: tzinfo = timezone.utc, lock_timeout: float = 30.0) -> Delivery:
    """Send what is new, remind what lasts past ``reminder_after``, say "resolved" for what is gone;
    under the ledger's named lock ``notify``, recording each message sent (see the module's docstring)."""
    out = Delivery()
    if not outs:
        return out
    try:
        lock = ledger.named_lock(LOCK, timeout=lock_timeout)
        lock.__enter__()
    except LedgerUnavailable:
        log.info("Notifications skipped: another daemon is sending them")
        return out
    try:
        stored = ledger.notices()
        current = {}
        for n in notices:
            current.setdefault(n.key, n)
        for key, n in current.items():
            before = stored.get(key)
            if before is None or before.get("state") == "resolved":
                kind = "new" if n.lasting else "once"
            elif n.lasting and before.get("state") == "open" and \
                    now - datetime.fromisoformat(before["last"]) >= reminder_after:
                kind = "reminder"
            else:
                continue
            _deliver_one(ledger, n, kind, now, tz, before, outs, out)
        for key, before in stored.items():
            if key in current:
                continue
            if before.get("state") == "open":
                n = _resolved({**before, "key": key})
                ok, errors = _send(n, "resolved", outs)
                if ok:
                    ledger.record_notice(key, {**before, "state": "resolved", "last": now.isoformat()}, now)
                    out.sent.append(("resolved", key, n.subject))
                out.failed += [(key, e) for e in errors]
            elif before.get("state") in ("resolved", "sent") and "last" in before and \
                    now - datetime.fromisoformat(before["last"]) > FORGET_AFTER:
                ledger.record_notice(key, None, now)
    finally:
        lock.__exit__(None, None, None)
    for key, err in out.failed:
        log.warning("Notification %s not sent: %s", key, err)
    return out


def _deliver_one(ledger, n: Notice, kind: str, now: datetime, tz: tzinfo, before, outs, out: Delivery) -> None:
    ok, errors = _send(n, kind, outs)
    if ok:
        ledger.record_notice(n.key, _state(n, kind, now, tz, before), now)
        out.sent.append((kind, n.key, n.subject))
    out.failed += [(n.key, e) for e in errors]
