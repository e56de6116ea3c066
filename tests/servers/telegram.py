"""A contract-faithful stand-in for the Telegram Bot API, after channels.md §4 and §8.

What it reproduces:

- ``/bot<token>/<method>``, methods case-insensitive, GET or POST, parameters in the query, a form,
  JSON or multipart; answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code",
  "description", "parameters"}`` with the HTTP status equal to ``error_code``;
- ``401 Unauthorized`` for an unknown token, ``404 Not Found`` for an unknown method;
- ``sendMessage`` / ``sendPhoto`` with ``parse_mode=HTML`` parsed the way TDLib parses it (only
  Telegram's tags, byte offsets in the errors), lengths counted after entity parsing in code points
  as TDLib's ``utf8_length`` does (4096 text, 1024 caption);
- ``editMessageText`` / ``editMessageCaption`` (identical content -> ``message is not modified``),
  ``deleteMessage`` (twice -> ``message to delete not found``; older than 48 h -> ``message can't
  be deleted``), ``getMe``, ``getChat``, ``getChatMember``;
- ``403`` when the bot is not a member of the channel, ``400 need administrator rights`` when it
  may not post, group -> supergroup migration with ``parameters.migrate_to_chat_id``;
- a per-chat flood limit (``rate_limit(count, per)``): a send or edit beyond it is answered ``429``
  with ``parameters.retry_after`` and recorded in ``violations``; a request that arrives before
  that ``retry_after`` ran out is also recorded in ``ignored_retry_after``;
- gateway errors after the work was done: ``fail_next(502, "Bad Gateway", commit=True)`` delivers
  the message, then answers ``{"ok": false, "error_code": 502, "description": "Bad Gateway"}``
  (the shape seen in tdlib/telegram-bot-api#868); ``gateway_page(...)`` answers nginx's HTML
  ``502 Bad Gateway`` page instead, as users of the Bot API report (nickoala/telepot#31).
"""

from __future__ import annotations

import itertools
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.servers.base import Request, Response, VendorServer
from tests.servers.facebook import IMAGE_MAGIC, all_params

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                "code", "pre", "blockquote", "tg-emoji"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
COUNTED = {"sendmessage", "sendphoto", "editmessagetext", "editmessagecaption"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        self.code, self.description, self.parameters = code, description, parameters


def parse_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram-HTML -> (visible text, entities), raising ``ApiError`` with Telegram's words."""
    out: list[str] = []
    stack: list[tuple[str, int, dict]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)

    def offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    def bad(msg: str) -> ApiError:
        return ApiError(400, "Bad Request: can't parse entities: " + msg)

    while i < n:
        c = text[i]
        if c == "<":
            if text.startswith("</", i):
                j = text.find(">", i)
                if j < 0:
                    raise bad(f"Unclosed end tag at byte offset {offset(i)}")
                name = text[i + 2:j].strip().lower()
                if not stack:
                    raise bad(f"Unexpected end tag at byte offset {offset(i)}")
                top = stack[-1][0]
                if name != top:
                    raise bad(f'Unmatched end tag at byte offset {offset(i)}, expected "</{top}>", found "</{name}>"')
                _, start, attrs = stack.pop()
                visible = "".join(out)
                entities.append({"type": name, "offset": start, "length": len(visible) - start, **attrs})
                i = j + 1
                continue
            m = re.match(r"<([a-zA-Z][a-zA-Z0-9-]*)", text[i:])
            if not m:
                raise bad(f"Unexpected end of name token at byte offset {offset(i + 1)}")
            name = m.group(1).lower()
            if name not in ALLOWED_TAGS:
                raise bad(f'Unsupported start tag "{name}" at byte offset {offset(i)}')
            j = i + m.end()
            attrs: dict[str, str] = {}
            while True:
                am = re.match(r"""\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""", text[j:])
                if am and am.group(1):
                    value = next((g for g in am.groups()[1:] if g is not None), "")
                    attrs[am.group(1).lower()] = _decode(value)
                    j += am.end()
                    continue
                ws = re.match(r"\s*", text[j:])
                j += ws.end() if ws else 0
                break
            if j >= n or text[j] != ">":
                raise bad(f"Unclosed start tag at byte offset {offset(i)}")
            if name == "a" and "href" not in attrs:
                attrs["href"] = ""
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise bad('Tag "span" must have class "tg-spoiler"')
            kept = {k: v for k, v in attrs.items() if k in ("href", "class", "emoji-id")}
            stack.append((name, len("".join(out)), kept))
            i = j + 1
            continue
        if c == "&":
            m = re.match(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);", text[i:])
            if m:
                ref = m.group(1)
                if ref.startswith("#"):
                    cp = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
                    out.append(chr(cp) if 0 < cp < 0x110000 else "\ufffd")
                    i += m.end()
                    continue
                if ref in NAMED_ENTITIES:
                    out.append(NAMED_ENTITIES[ref])
                    i += m.end()
                    continue
            out.append("&")  # an unknown named entity or a bare "&" stays as text
            i += 1
            continue
        out.append(c)
        i += 1
    if stack:
        raise bad(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), entities


def _decode(value: str) -> str:
    return re.sub(r"&(lt|gt|amp|quot);", lambda m: NAMED_ENTITIES[m.group(1)], value)


def visible(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """What Telegram stores: parsed and trimmed, as TDLib's ``fix_formatted_text`` does."""
    if parse_mode is None or parse_mode == "":
        return text.strip(), []
    if parse_mode.lower() != "html":
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    plain, entities = parse_entities(text)
    lead = len(plain) - len(plain.lstrip())
    plain = plain.strip()
    for e in entities:
        e["offset"] = max(0, e["offset"] - lead)
        e["length"] = max(0, min(e["length"], len(plain) - e["offset"]))
    return plain, [e for e in entities if e["length"] > 0]


@dataclass
class Chat:
    id: int
    type: str = "channel"
    title: str = "Loa city channel"
    username: str | None = None
    member: bool = True
    can_post: bool = True
    migrated_to: int | None = None
    blocked_until: float = 0.0
    sends: list[float] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        v: dict[str, Any] = {"id": self.id, "title": self.title, "type": self.type}
        if self.username:
            v["username"] = self.username
        return v


@dataclass
class Message:
    chat_id: int
    message_id: int
    date: int
    text: str
    entities: list[dict[str, Any]]
    kind: str  # "text" or "photo"
    photo: dict[str, Any] | None = None
    deleted: bool = False
    edit_date: int | None = None


class TelegramServer(VendorServer):
    """Bot API stand-in for one bot (``token``) and the chats added with :meth:`add_chat`."""

    def __init__(self, token: str, *, bot_username: str = "loa_city_bot", latency: float = 0.0):
        super().__init__(latency=latency)
        self.token = token
        self.bot = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Loa", "username": bot_username,
                    "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], Message] = {}
        self.rate: tuple[int, float] | None = None
        self.violations: list[Request] = []
        self.ignored_retry_after: list[Request] = []
        self.clock_offset = 0.0
        self._queued: list[tuple[Callable[[Request], bool], ApiError, bool]] = []
        self._mids = itertools.count(101)
        self._files = itertools.count(1)

    # -- knobs ------------------------------------------------------------------------------
    def add_chat(self, chat_id: int, **kw: Any) -> Chat:
        with self.lock:
            chat = self.chats[chat_id] = Chat(chat_id, **kw)
            return chat

    def migrate(self, old_id: int, new_id: int) -> None:
        """Group ``old_id`` became supergroup ``new_id``."""
        with self.lock:
            old = self.chats[old_id]
            old.migrated_to = new_id
            self.chats.setdefault(new_id, Chat(new_id, type="supergroup", title=old.title))

    def rate_limit(self, count: int, per: float) -> None:
        """At most ``count`` sends/edits per chat in any ``per`` seconds."""
        self.rate = (count, per)

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward (for the 48-hour deletion rule)."""
        self.clock_offset += seconds

    def fail_next(self, code: int, description: str, parameters: dict | None = None,
                  method: str | None = None, commit: bool = False) -> None:
        """Answer the next matching call with this error; with ``commit`` the call is carried out first."""
        fn = (lambda r: True) if method is None else (lambda r, m=method.lower(): r.path.lower().endswith("/" + m))
        with self.lock:
            self._queued.append((fn, ApiError(code, description, parameters), commit))

    def gateway_page(self, method: str, status: int = 502, *, commit: bool = True) -> None:
        """The front proxy answers ``status`` with its HTML page (after the Bot API did the work when ``commit``)."""
        reason = {502: "Bad Gateway", 504: "Gateway Time-out"}.get(status, "Error")
        page = (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} "
                f"{reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
        self.inject(lambda r, m=method.lower(): r.path.lower().endswith("/" + m), after=commit, status=status,
                    body=page, headers={"Content-Type": "text/html"})

    def live(self, chat_id: int) -> list[Message]:
        with self.lock:
            return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id and not m.deleted]

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        with self.lock:
            try:
                result = self._dispatch(req)
            except ApiError as err:
                body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
                if err.parameters:
                    body["parameters"] = err.parameters
                return Response(err.code, body)
            return Response(200, {"ok": True, "result": result})

    def _dispatch(self, req: Request) -> Any:
        m = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", req.path)
        if not m:
            raise ApiError(404, "Not Found")
        if m.group(1) != self.token:
            raise ApiError(401, "Unauthorized")
        method = m.group(2).lower()
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            raise ApiError(404, "Not Found")
        params, files = all_params(req)
        for q in self._queued:
            if q[0](req):
                self._queued.remove(q)
                if q[2]:
                    handler(req, params, files)
                raise q[1]
        return handler(req, params, files)

    def _now(self) -> float:
        return time.time() + self.clock_offset

    def _chat(self, params: dict[str, Any], *, post: bool = False) -> Chat:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        raw = str(raw)
        if raw.startswith("@"):
            chat = next((c for c in self.chats.values() if c.username and "@" + c.username == raw), None)
        else:
            try:
                chat = self.chats.get(int(raw))
            except ValueError:
                chat = None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": chat.migrated_to})
        if post and not chat.member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        if post and not chat.can_post:
            raise ApiError(400, f"Bad Request: need administrator rights in the {chat.type} chat")
        return chat

    def _flood(self, req: Request, chat: Chat) -> None:
        if self.rate is None:
            return
        count, per = self.rate
        now = self.monotonic()
        if now < chat.blocked_until:
            self.violations.append(req)
            self.ignored_retry_after.append(req)
            wait = max(1, math.ceil(chat.blocked_until - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        chat.sends = [t for t in chat.sends if t > now - per]
        if len(chat.sends) >= count:
            self.violations.append(req)
            wait = max(1, math.ceil(chat.sends[0] + per - now))
            chat.blocked_until = now + wait
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        chat.sends.append(now)

    def _message(self, params: dict[str, Any], chat: Chat, verb: str) -> Message:
        try:
            mid = int(params.get("message_id") or 0)
        except ValueError:
            mid = 0
        msg = self.messages.get((chat.id, mid))
        if msg is None or msg.deleted:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        return msg

    def _view(self, msg: Message) -> dict[str, Any]:
        chat = self.chats[msg.chat_id]
        v: dict[str, Any] = {"message_id": msg.message_id, "sender_chat": chat.view(), "chat": chat.view(),
                             "date": msg.date}
        if msg.edit_date:
            v["edit_date"] = msg.edit_date
        if msg.kind == "photo":
            v["photo"] = [msg.photo]
            if msg.text:
                v["caption"] = msg.text
                if msg.entities:
                    v["caption_entities"] = msg.entities
        else:
            v["text"] = msg.text
            if msg.entities:
                v["entities"] = msg.entities
        return v

    # -- methods ----------------------------------------------------------------------------
    def _m_getme(self, req: Request, params: dict, files: dict) -> Any:
        return self.bot

    def _m_getchat(self, req: Request, params: dict, files: dict) -> Any:
        return self._chat(params).view()

    def _m_getchatmember(self, req: Request, params: dict, files: dict) -> Any:
        chat = self._chat(params)
        if str(params.get("user_id")) != str(self.bot["id"]) or not chat.member:
            return {"status": "left", "user": self.bot}
        if not chat.can_post:
            return {"status": "member", "user": self.bot}
        return {"status": "administrator", "user": self.bot, "can_post_messages": True,
                "can_edit_messages": True, "can_delete_messages": True}

    def _m_sendmessage(self, req: Request, params: dict, files: dict) -> Any:
        chat = self._chat(params, post=True)
        self._flood(req, chat)
        text, entities = visible(str(params.get("text") or ""), params.get("parse_mode"))
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        msg = Message(chat.id, next(self._mids), int(self._now()), text, entities, "text")
        self.messages[(chat.id, msg.message_id)] = msg
        return self._view(msg)

    def _m_sendphoto(self, req: Request, params: dict, files: dict) -> Any:
        chat = self._chat(params, post=True)
        self._flood(req, chat)
        if "photo" in files:
            data = files["photo"][1]
            if not data.startswith(IMAGE_MAGIC):
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            n = next(self._files)
            photo = {"file_id": f"AgACAgUAAx0-photo-{n}", "file_unique_id": f"AQAD{n}", "width": 1280,
                     "height": 720, "file_size": len(data)}
        elif params.get("photo"):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        else:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        caption, entities = visible(str(params.get("caption") or ""), params.get("parse_mode"))
        if len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        msg = Message(chat.id, next(self._mids), int(self._now()), caption, entities, "photo", photo)
        self.messages[(chat.id, msg.message_id)] = msg
        return self._view(msg)

    def _edit(self, req: Request, params: dict, field_: str) -> Any:
        chat = self._chat(params, post=True)
        self._flood(req, chat)
        msg = self._message(params, chat, "edit")
        if field_ == "text" and msg.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if field_ == "caption" and msg.kind == "text":
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        text, entities = visible(str(params.get(field_) or ""), params.get("parse_mode"))
        if field_ == "text" and not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > (4096 if field_ == "text" else 1024):
            raise ApiError(400, "Bad Request: message is too long" if field_ == "text"
                           else "Bad Request: message caption is too long")
        if text == msg.text and entities == msg.entities:
            raise ApiError(400, NOT_MODIFIED)
        msg.text, msg.entities, msg.edit_date = text, entities, int(self._now())
        return self._view(msg)

    def _m_editmessagetext(self, req: Request, params: dict, files: dict) -> Any:
        return self._edit(req, params, "text")

    def _m_editmessagecaption(self, req: Request, params: dict, files: dict) -> Any:
        return self._edit(req, params, "caption")

    def _m_deletemessage(self, req: Request, params: dict, files: dict) -> Any:
        chat = self._chat(params, post=True)
        msg = self._message(params, chat, "delete")
        if self._now() - msg.date > 48 * 3600:
            raise ApiError(400, "Bad Request: message can't be deleted")
        msg.deleted = True
        return True
