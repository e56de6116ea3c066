"""Telegram channel publisher (registry key ``telegram``), after channels.md §4.

Options: ``chat_id`` (``@channelname`` or a numeric id), ``token_env`` (the bot token),
``api_base``, ``disable_link_preview``, ``pace_seconds``.

- kind ``text``: ``sendMessage`` (Telegram-HTML, limit 4096); kind ``caption``: ``sendPhoto`` with
  the image uploaded as multipart ``photo`` (limit 1024). Update: ``editMessageText`` or
  ``editMessageCaption`` by the kind kept in the previous result; "message is not modified"
  counts as success. Retract: ``deleteMessage``.
- Flood control: ``429`` ``retry_after`` is honoured exactly (raised as ``retry_after`` and no call
  is made to that chat before it runs out); sends to one chat are spaced ``pace_seconds`` apart.
- The token is part of every URL (``/bot<token>/...``): it is removed from exception texts and
  from ``urllib3``'s debug log lines.
- Telegram has no way to read a channel's history, so ``can_lookup`` is false. A send answered
  with a 5xx (a gateway's ``502 Bad Gateway`` page or Telegram's own ``{"error_code": 502}``)
  may have been delivered (users report the doubles a blind retry makes), so it is raised with
  ``maybe_sent=True``, exactly like a timeout: the engine holds it for ``loa resolve``.

:func:`to_telegram_html` turns the portal's article HTML into Telegram-HTML for the renderer.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from pipeline.errors import PermanentPublishError, PublishError, PublisherAuthError, TransientPublishError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from pipeline.plaintext import start_number, table_lines
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url, kind_words
from publishers.http import (DEFAULT_TIMEOUT, classify_status, new_session, protect_secret, raise_for, redact,
                             retry_seconds, translate)

log = logging.getLogger(__name__)

_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_TAG = re.compile(r"<[^>]*>")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
SEND_METHODS = {"sendMessage", "sendPhoto", "editMessageText", "editMessageCaption"}
CREATE_METHODS = {"sendMessage", "sendPhoto"}  # a lost or unclear answer to these may hide a delivered message
MAX_SLEEP = 1.0  # a shorter pause is slept through; a longer one is handed to the engine as retry_after


_protect = protect_secret  # tokens out of urllib3's debug lines (shared in publishers.http)


def _decode_entity(m: re.Match) -> str:
    ref = m.group(1)
    if ref in _NAMED:
        return _NAMED[ref]
    cp = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
    return chr(cp) if 0 < cp < 0x110000 else "\ufffd"


class TelegramPublisher(Publisher):
    """Posts to a Telegram channel through a bot (registry key ``telegram``)."""

    type = "telegram"
    family = "telegram"
    limits = {"text": 4096, "caption": 1024}
    options = (
        OptionSpec("chat_id", (str, int), required=True,
                   doc="the channel: @username for a public channel, or its numeric id (-100...)"),
        OptionSpec("token_env", str, required=True, secret_env=True,
                   doc="environment variable holding the bot token from @BotFather"),
        OptionSpec("api_base", str, default="https://api.telegram.org", doc="Bot API address", check=http_url),
        OptionSpec("disable_link_preview", bool, default=False, doc="do not show a preview of the first link"),
        OptionSpec("pace_seconds", (int, float), default=3.0,
                   doc="least seconds between two sends or edits to the channel (Telegram allows about 20 a minute)"),
    )
    can_lookup = False
    lookup_note = ("Telegram's Bot API cannot read a channel's past messages, so when the answer to a send is lost "
                   "Loa cannot tell whether the message arrived. The item is held: look at the channel, then mark "
                   "it sent or let Loa send it again.")

    def __init__(self, name: str, options: Any, **kw: Any):
        super().__init__(name, options, **kw)
        self.session = new_session()
        self._last_send: datetime | None = None  # when the answer to the last send or edit came
        self._blocked_until: datetime | None = None  # Telegram's retry_after runs out
        self._chat_override: str | None = None  # after a group -> supergroup migration

    @classmethod
    def measure(cls, text: str) -> int:
        """Visible length as Telegram counts it: tags stripped, ``&lt; &gt; &amp; &quot;`` and numeric
        entities decoded, surrounding whitespace trimmed, in code points (TDLib checks the limit with
        ``utf8_length``, which counts code points, not UTF-16 units)."""
        return len(_ENTITY.sub(_decode_entity, _TAG.sub("", text)).strip())

    @property
    def chat_id(self) -> str:
        return self._chat_override or str(self.opts["chat_id"])

    # -- one Bot API call ---------------------------------------------------------------
    def _call(self, method: str, post_id: str | None, params: dict[str, Any], files: dict | None = None,
              *, migrated: bool = False) -> Any:
        counted = method in SEND_METHODS
        wait = self._wait(counted)
        if wait > MAX_SLEEP:
            raise TransientPublishError(self.name, post_id, Detail("telegram.wait"),
                                        retry_after=retry_seconds(wait), hint=Detail("telegram.wait.fix"),
                                        throttle=True)
        if wait > 0:
            self.sleep(wait)
        token = self.secret("token_env")
        _protect(token)
        url = f"{str(self.opts['api_base']).rstrip('/')}/bot{token}/{method}"
        try:
            with translate(self.name, post_id):
                if files:
                    resp = self.session.post(url, data=params, files=files, timeout=DEFAULT_TIMEOUT)
                else:
                    resp = self.session.post(url, json=params, timeout=DEFAULT_TIMEOUT)
        except PublishError as exc:  # requests' text carries the URL, and the URL carries the token
            exc.vendor_message = redact(exc.vendor_message or "", token) or None
            raise
        finally:
            if counted:
                # pace from the answer, not from the request: network jitter must not bring two
                # sends closer together at Telegram than pace_seconds
                self._last_send = self.clock()
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        if not isinstance(body, dict):
            cls = classify_status(resp.status_code)
            doubt = {"maybe_sent": True} if cls is TransientPublishError and method in CREATE_METHODS else {}
            raise_for(cls, self.name, post_id, Detail("vendor.http-no-body", vendor="Telegram", status=resp.status_code),
                      vendor_message=redact(resp.text[:300], token), status=resp.status_code, **doubt)
        code = int(body.get("error_code") or resp.status_code)
        desc = redact(str(body.get("description") or ""), token)
        extra = body.get("parameters") or {}
        if extra.get("migrate_to_chat_id") and not migrated:
            new = str(extra["migrate_to_chat_id"])
            log.warning("Telegram chat %s of channel %s became supergroup %s; sending there. "
                        "Set chat_id = %s for [channels.%s] in config.toml", params.get("chat_id"), self.name,
                        new, new, self.name)
            self._chat_override = new
            return self._call(method, post_id, {**params, "chat_id": new}, files, migrated=True)
        raise self._error(code, desc, extra, post_id, method)

    def _wait(self, counted: bool) -> float:
        """Seconds before the next call may go out: Telegram's retry_after, and pacing for a send or edit."""
        now = self.clock()
        ends = [self._blocked_until]
        if counted and self._last_send is not None:
            ends.append(self._last_send + timedelta(seconds=float(self.opts["pace_seconds"])))
        return max([0.0] + [(end - now).total_seconds() for end in ends if end is not None])

    def _error(self, code: int, desc: str, extra: dict, post_id: str | None, method: str = "") -> PublishError:
        kw = dict(vendor_message=desc, status=code, code=str(code))
        low = desc.lower()
        if code == 429:
            retry = float(extra.get("retry_after") or 0) or None
            if retry:
                self._blocked_until = self.clock() + timedelta(seconds=retry)
            return TransientPublishError(self.name, post_id, Detail("telegram.limiting"),
                                         retry_after=retry, hint=Detail("telegram.limiting.fix"),
                                         throttle=True, **kw)
        if code == 401:
            return PublisherAuthError(self.name, post_id, Detail("telegram.bad-token"),  # Details: vi/en when shown
                                      hint=Detail("telegram.bad-token.fix", env=self.opts["token_env"]),
                                      **kw)
        if code == 403 or "need administrator rights" in low or "chat not found" in low:
            return PublisherAuthError(
                self.name, post_id, Detail("telegram.cannot-post", chat=self.chat_id),
                hint=Detail("telegram.cannot-post.fix"), **kw)
        if code >= 500:
            if method in CREATE_METHODS:  # the gateway may have passed the message on before failing
                return TransientPublishError(self.name, post_id, Detail("telegram.temporary"), maybe_sent=True,
                                             hint=Detail("telegram.temporary.in-doubt"), **kw)
            return TransientPublishError(self.name, post_id, Detail("telegram.temporary"),
                                         hint=Detail("vendor.retries"), **kw)
        if "can't parse entities" in low:
            reason, hint = Detail("telegram.bad-html"), Detail("telegram.bad-html.fix")
        elif "too long" in low:
            reason, hint = Detail("telegram.too-long"), Detail("telegram.too-long.fix")
        elif "to edit not found" in low or "can't be edited" in low:
            reason, hint = Detail("telegram.not-editable"), Detail("telegram.not-editable.fix")
        elif "can't be deleted" in low:
            reason, hint = Detail("telegram.not-deletable"), Detail("telegram.not-deletable.fix")
        elif code == 404:
            reason, hint = Detail("telegram.unknown-address"), Detail("telegram.unknown-address.fix")
        else:
            reason, hint = Detail("telegram.refused"), Detail("vendor.read-message")
        return PermanentPublishError(self.name, post_id, reason, hint=hint, **kw)

    # -- hooks ----------------------------------------------------------------------------
    def _common(self) -> dict[str, Any]:
        return {"chat_id": self.chat_id, "parse_mode": "HTML"}

    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        if rendering.kind == "caption":
            if rendering.image_path is None:
                raise PermanentPublishError(self.name, rendering.post_id, Detail("publish.caption-no-image"),
                                            hint=Detail("publish.rendering-bug"))
            try:
                image = rendering.image_path.read_bytes()
            except OSError as exc:
                raise PermanentPublishError(self.name, rendering.post_id,
                                            Detail("publish.image-unreadable", name=rendering.image_path.name),
                                            vendor_message=exc.strerror,
                                            hint=Detail("publish.image-committed")) from None
            import mimetypes  # here: only a post with an image needs it, and every command imports this module
            ctype = mimetypes.guess_type(rendering.image_path.name)[0] or "application/octet-stream"
            msg = self._call("sendPhoto", rendering.post_id, {**self._common(), "caption": rendering.body},
                             {"photo": (rendering.image_path.name, image, ctype)})
        else:
            params = {**self._common(), "text": rendering.body}
            if self.opts["disable_link_preview"]:
                params["link_preview_options"] = {"is_disabled": True}
            msg = self._call("sendMessage", rendering.post_id, params)
        return self._result(msg, rendering.kind)

    def _result(self, msg: dict[str, Any], kind: str) -> PublishResult:
        chat = msg.get("chat") or {}
        mid = msg["message_id"]
        cid = str(chat.get("id", self.chat_id))
        if chat.get("username"):
            url = f"https://t.me/{chat['username']}/{mid}"
        elif cid.startswith("-100"):
            url = f"https://t.me/c/{cid[4:]}/{mid}"  # private channel: only members can open it
        else:
            url = None
        extra: dict[str, Any] = {"kind": kind, "chat_id": cid, "message_id": mid}
        if self._chat_override:
            extra["migrated_to_chat_id"] = self._chat_override
        return PublishResult(str(mid), url, extra)

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        kind = previous.extra.get("kind", "text")
        if kind != rendering.kind:
            raise PermanentPublishError(
                self.name, rendering.post_id,
                Detail("telegram.kind-changed", was=kind_words(kind), now=kind_words(rendering.kind)),
                hint=Detail("telegram.kind-changed.fix"))
        params = {"chat_id": previous.extra.get("chat_id", self.chat_id), "parse_mode": "HTML",
                  "message_id": int(previous.extra.get("message_id", previous.remote_id))}
        try:
            if kind == "caption":
                msg = self._call("editMessageCaption", rendering.post_id, {**params, "caption": rendering.body})
            else:
                if self.opts["disable_link_preview"]:
                    params["link_preview_options"] = {"is_disabled": True}
                msg = self._call("editMessageText", rendering.post_id, {**params, "text": rendering.body})
        except PermanentPublishError as exc:
            if "message is not modified" not in (exc.vendor_message or ""):
                raise
            return PublishResult(previous.remote_id, previous.remote_url, dict(previous.extra))
        return PublishResult(previous.remote_id, previous.remote_url, {**previous.extra, "message_id": msg["message_id"]})

    def _retract(self, previous: PublishResult, reason: str) -> None:
        params = {"chat_id": previous.extra.get("chat_id", self.chat_id),
                  "message_id": int(previous.extra.get("message_id", previous.remote_id))}
        try:
            self._call("deleteMessage", None, params)
        except PermanentPublishError as exc:
            if "message to delete not found" not in (exc.vendor_message or ""):
                raise
            log.warning("Telegram message %s was already gone when %s retracted it", previous.remote_id, self.name)

    def _check(self) -> ChannelHealth:
        me = self._call("getMe", None, {})
        chat = self._call("getChat", None, {"chat_id": self.chat_id})
        member = self._call("getChatMember", None, {"chat_id": self.chat_id, "user_id": me["id"]})
        title = chat.get("title") or chat.get("username") or str(chat.get("id"))
        identity = f"@{me.get('username')} in {title}"
        if member.get("status") == "creator" or (member.get("status") == "administrator"
                                                  and member.get("can_post_messages", True)):
            msgs = [Detail("telegram.can-post", title=title, user=str(me.get("username")))]  # Details: loa speaks vi/en
            if member.get("status") == "administrator" and not member.get("can_delete_messages", False):
                msgs.append(Detail("telegram.cannot-delete"))
            return ChannelHealth(self.name, True, tuple(msgs), None, identity)
        return ChannelHealth(self.name, False, (Detail("telegram.not-admin", user=str(me.get("username")), title=title),),
                             None, identity)

    def close(self) -> None:
        self.session.close()


# -- article HTML -> Telegram-HTML --------------------------------------------------------------
_INLINE = {"strong": "b", "b": "b", "em": "i", "i": "i", "u": "u", "ins": "u", "s": "s", "del": "s", "strike": "s"}
_BLOCKS = {"p", "div", "section", "article", "aside", "header", "footer", "figure", "figcaption", "table", "tr",
           "dl", "dt", "dd", "main", "nav", "address", "hr"}
_SKIP = {"script", "style", "head", "template", "noscript"}
_CLOSE_AT_BREAK = set(_INLINE) | {"a", "code"}


class _ToTelegram(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[tuple[str, str]] = []  # (source tag, closing text we emitted for it)
        self.lists: list[list[Any]] = []       # [ordered, counter]
        self.pre = 0
        self.skip = 0
        self.line_start = True
        self.table: list | None = None  # rows of [is_th, [text]] while inside a table
        self.table_depth = 0

    def _emit(self, s: str) -> None:
        self.out.append(s)

    def _break(self, lines: int) -> None:
        # an inline tag left open by sloppy HTML must not run across paragraphs
        while self.open and self.open[-1][0] in _CLOSE_AT_BREAK:
            self._emit(self.open.pop()[1])
        text = "".join(self.out).rstrip(" ")
        if not text.strip():
            self.out = [text.lstrip("\n")]
            self.line_start = True
            return
        have = len(text) - len(text.rstrip("\n"))
        self.out = [text + "\n" * max(0, lines - have)]
        self.line_start = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "table" or self.table is not None:
            return self._table_start(tag)
        if self.pre:
            if tag == "code" and a.get("class", "").startswith("language-"):
                self._emit(f'<code class="{html.escape(a["class"])}">')
                self.open.append((tag, "</code>"))
            return
        if tag in _INLINE:
            self._emit(f"<{_INLINE[tag]}>")
            self.open.append((tag, f"</{_INLINE[tag]}>"))
        elif tag == "a":
            href = a.get("href", "").strip()
            if re.match(r"(https?|mailto|tg):", href, re.I):
                self._emit(f'<a href="{html.escape(href, quote=True)}">')
                self.open.append((tag, "</a>"))
            else:
                self.open.append((tag, ""))
        elif tag == "code":
            self._emit("<code>")
            self.open.append((tag, "</code>"))
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._break(2)
            self._emit("<b>")
            self.open.append((tag, "</b>"))
        elif tag == "pre":
            self._break(2)
            self._emit("<pre>")
            self.open.append((tag, "</pre>"))
            self.pre += 1
        elif tag == "blockquote":
            self._break(2)
            self._emit("<blockquote>")
            self.open.append((tag, "</blockquote>"))
        elif tag in ("ul", "ol"):
            self._break(1 if self.lists else 2)
            self.lists.append([tag == "ol", start_number(a) - 1 if tag == "ol" else 0])  # <ol start="3">
        elif tag == "li":
            self._break(1)
            depth = max(1, len(self.lists))
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                bullet = f"{self.lists[-1][1]}. "
            else:
                bullet = "• "
            self._emit("   " * (depth - 1) + bullet)
            self.line_start = True
        elif tag == "br":
            self._emit("\n")
            self.line_start = True
        elif tag in ("td", "th") and not self.line_start:
            self._emit(" | ")
        elif tag in _BLOCKS and not (self.lists and self.line_start):  # <li><p> stays on the bullet's line
            self._break(2)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.table is not None:
            self._table_end(tag)
            return
        if tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(1 if self.lists else 2)
            return
        if any(t == tag for t, _ in self.open):
            while self.open:
                t, closer = self.open.pop()
                self._emit(closer)
                if t == "pre":
                    self.pre -= 1
                if t == tag:
                    break
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote") or tag in _BLOCKS:
            self._break(1 if self.lists else 2)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.table is not None:
            if self.table and self.table[-1]:
                self.table[-1][-1][1].append(data)
            return
        if self.pre:
            self._emit(html.escape(data, quote=False))
            return
        text = re.sub(r"\s+", " ", data)
        if self.line_start:
            text = text.lstrip(" ")
        if text:
            self._emit(html.escape(text, quote=False))
            self.line_start = False

    # A table reads as every plain-text channel reads it (pipeline.plaintext.table_lines): one line
    # a row, "label: value" for two columns; its cells' formatting is dropped.
    def _table_start(self, tag: str) -> None:
        if self.table is None:
            self._break(1 if self.lists else 2)
            self.table, self.table_depth = [], 0
        rows = self.table
        if tag == "table":
            self.table_depth += 1
        elif self.table_depth == 1 and tag == "tr":
            rows.append([])
        elif self.table_depth == 1 and tag in ("td", "th"):
            if not rows:
                rows.append([])
            rows[-1].append([tag == "th", []])
        elif rows and rows[-1] and tag in ("br", "p", "div", "li", "ul", "ol", "table"):
            rows[-1][-1][1].append(" ")

    def _table_end(self, tag: str) -> None:
        if tag != "table":
            if tag in ("td", "th", "p", "div", "li") and self.table and self.table[-1]:
                self.table[-1][-1][1].append(" ")
            return
        self.table_depth -= 1
        if self.table_depth > 0:
            return
        rows, self.table = self.table or [], None
        lines = table_lines(rows)
        if lines:
            self._emit("\n".join(html.escape(line, quote=False) for line in lines))
            self.line_start = False
        self._break(1 if self.lists else 2)

    def result(self) -> str:
        if self.table is not None:  # an unclosed table: as if closed
            self.table_depth = 1
            self._table_end("table")
        while self.open:
            self._emit(self.open.pop()[1])
        text = "".join(self.out)
        text = re.sub(r"[ \t]+\n", "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip()


def to_telegram_html(article_html: str) -> str:
    """Rendered article HTML -> Telegram-HTML.

    Keeps what Telegram renders (``b i u s a code pre blockquote``), turns headings into bold
    lines, paragraphs into blank-line-separated blocks, list items into ``•`` / ``1.`` lines (from
    the list's ``start``) and tables into lines as on every plain-text channel
    (:func:`pipeline.plaintext.table_lines`: ``Phí: 8.000 đồng``);
    drops every other tag (keeping its text) and images; escapes ``& < >`` in text. The result
    passes Telegram's HTML parser and :meth:`TelegramPublisher.measure` counts it as Telegram does.
    """
    p = _ToTelegram()
    p.feed(article_html)
    p.close()
    return p.result()
