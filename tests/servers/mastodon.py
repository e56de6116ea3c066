"""Mastodon stand-in (channels.md §5 and §8): statuses, media, rate limits, Idempotency-Key.

What it reproduces, and where from:

- ``Authorization: Bearer`` per account; a missing token -> 401 "This method requires an
  authenticated user", an unknown one -> 401 "The access token is invalid". Each token has
  scopes (default ``write:statuses write:media``, what Loa's docs ask for); a call outside them
  -> 403 "This action is outside the authorized scopes" (Doorkeeper). ``GET
  /api/v1/accounts/verify_credentials`` needs ``read`` or ``read:accounts``; ``GET
  /api/v1/apps/verify_credentials`` any valid token (4.3's credentials_controller.rb: only
  ``valid_doorkeeper_token?``), answering the app's ``name``, ``website`` and ``scopes``;
  ``app_verify_needs_read`` gives the older controller (``doorkeeper_authorize! :read``).
- Errors from services are translated into the account's ``locale`` (``en`` or ``vi``): the
  "not finished processing" refusal is only recognisable by its status and endpoint.
- ``POST /api/v1/statuses`` (form with ``media_ids[]`` or JSON): the Idempotency-Key check runs
  *first* (post_status_service.rb), per account, for ``idempotency_ttl`` seconds (3600), stored
  only after success; a replay returns the original status with 200 (or 404 if it was deleted).
  A concurrent request holding the same key gets 503 (the Redis lock's RaceConditionError).
- Length: 500 by default over ``spoiler_text + status``, grapheme clusters, each http(s) URL
  counts 23, ``@user@domain`` counts as ``@user`` (status_length_validator.rb).
- Media: ``POST /api/v2/media`` -> 202 with ``url: null`` while processing (``media_delay``
  seconds), ``GET /api/v1/media/:id`` -> 206 then 200, 404 once attached; attaching unprocessed
  media -> 422.
- ``PUT /api/v1/statuses/:id`` -> 200 with ``edited_at``; ``media_attributes`` (id, description)
  update the alt text of media attached to it (update_status_service.rb); ``PUT
  /api/v1/media/:id`` reaches only media not yet attached (media_controller.rb: ``where(status_id:
  nil)``), else 404; ``DELETE`` -> the Status with ``text``; again -> 404 "Record not found".
- Rate limits as Rack::Attack: fixed windows aligned to the epoch, every request counted (even
  throttled ones) in ``general`` plus ``media`` (POST media) or ``deletes`` (DELETE status);
  ``X-RateLimit-*`` on every response describe the bucket closest to exhaustion. Creating a
  status also counts in the account's ``statuses`` limiter (RateLimiter: 300 per 3 hours, windows
  aligned to the epoch), and the answer to ``POST /api/v1/statuses`` carries that limiter's
  headers when it is the tighter one (rate_limit_headers.rb); 429
  ``{"error":"Too many requests"}``. Every request that arrives while one of its buckets is
  exhausted is kept in ``throttled`` so tests can prove a client never hammers.
"""

from __future__ import annotations

import email
import email.policy
import html
import itertools
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tests.servers.base import Request, Response, VendorServer

try:  # real grapheme clusters when the ``regex`` module is there; an approximation otherwise
    import regex as _regex
except ImportError:  # pragma: no cover - depends on the machine
    _regex = None

URL_END = set(".,:;!?'\")]")  # trailing characters twitter-text leaves out of a URL
NOT_IN_URL = set(" \t\n\r\f\v<>\"")
LOCALES = {
    "en": {"not_ready": "Cannot attach files that have not finished processing. Try again in a moment!"},
    # [U] the wording of Mastodon's vi.yml; what matters is that it is not English
    "vi": {"not_ready": "Không thể đính kèm tập tin chưa xử lý xong. Hãy thử lại sau!"},
}
SCOPE_ERROR = {"error": "This action is outside the authorized scopes"}
MENTION_RE = re.compile(r"(?<![\w/])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)(?:@[\w.-]+\w)", re.I)


def parse_multipart(req: Request) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: name -> (filename or None, bytes)."""
    ctype = req.headers.get("content-type", "")
    msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body,
                                   policy=email.policy.HTTP)
    out: dict[str, tuple[str | None, bytes]] = {}
    if not msg.is_multipart():
        return out
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return out


def image_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _replace_urls(text: str, filler: str) -> str:
    """Each ``http(s)://`` URL (not glued to a word or a path before it) -> ``filler``, scanning the
    text by hand; written apart from the adapter so that one misreading cannot pass both."""
    out, i, n = [], 0, len(text)
    while i < n:
        start = -1
        for scheme in ("https://", "http://"):
            j = text.find(scheme, i)
            if j != -1 and (start == -1 or j < start):
                start = j
        if start == -1:
            break
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_/"):
            out.append(text[i:start + 1])
            i = start + 1
            continue
        end = start
        while end < n and text[end] not in NOT_IN_URL and not text[end].isspace():
            end += 1
        while end > start and text[end - 1] in URL_END:
            end -= 1
        scheme_len = 8 if text.startswith("https://", start) else 7
        if end - start <= scheme_len:  # nothing after the scheme
            out.append(text[i:start + 1])
            i = start + 1
            continue
        out.append(text[i:start] + filler)
        i = end
    out.append(text[i:])
    return "".join(out)


def status_length(text: str, reserved_per_url: int = 23) -> int:
    """How Mastodon counts a status (independent of the adapter's ``measure``)."""
    text = _replace_urls(text, "x" * reserved_per_url)
    text = MENTION_RE.sub(lambda m: "@" + m.group(1), text)
    if _regex is not None:
        return len(_regex.findall(r"\X", text))
    import unicodedata

    return sum(1 for ch in text if not unicodedata.combining(ch))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Bucket:
    limit: int
    period: float


@dataclass
class Account:
    id: str
    username: str
    display_name: str = "UBND Thành phố"
    locale: str = "en"


@dataclass
class Media:
    id: str
    account_id: str
    description: str | None
    mime: str
    ready_at: float
    status_id: str | None = None


@dataclass
class Status:
    id: str
    account_id: str
    text: str
    spoiler_text: str
    visibility: str
    language: str | None
    media_ids: list[str]
    created_at: float
    edited_at: float | None = None
    deleted: bool = False


@dataclass
class Throttled:
    request: Request
    bucket: str


class MastodonServer(VendorServer):
    """Knobs: ``tokens`` (token -> username), ``max_characters``, ``media_delay``,
    ``idempotency_ttl``, ``buckets`` (name -> Bucket), ``create_delay`` (seconds a create holds its
    Idempotency-Key lock), ``revoke(token)``."""

    def __init__(self, *, tokens: dict[str, str] | None = None, max_characters: int = 500,
                 media_delay: float = 0.0, idempotency_ttl: float = 3600.0,
                 buckets: dict[str, Bucket] | None = None, create_delay: float = 0.0, latency: float = 0.0):
        super().__init__(latency=latency)
        self.create_delay = create_delay
        self.max_characters = max_characters
        self.media_delay = media_delay
        self.idempotency_ttl = idempotency_ttl
        self.buckets = {"general": Bucket(300, 300.0), "media": Bucket(30, 1800.0), "deletes": Bucket(30, 1800.0),
                        "statuses": Bucket(300, 10800.0)}
        self.app_name = "Loa"
        self.app_verify_needs_read = False
        self.scopes: dict[str, set[str]] = {}
        self.buckets.update(buckets or {})
        self._ids = itertools.count(int(time.time() * 1000) << 16)
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, str] = {}
        self.revoked: set[str] = set()
        for tok, username in (tokens or {"test-token": "ubnd"}).items():
            self.add_account(tok, username)
        self.statuses: dict[str, Status] = {}
        self.media: dict[str, Media] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        self._inflight: set[tuple[str, str]] = set()
        self._counts: dict[tuple[str, str, int], int] = {}
        self.throttled: list[Throttled] = []
        self._state = threading.RLock()

    # -- setup helpers -------------------------------------------------------------------
    def add_account(self, token: str, username: str, scopes: str = "write:statuses write:media") -> Account:
        acc = next((a for a in self.accounts.values() if a.username == username), None)
        if acc is None:
            acc = Account(str(len(self.accounts) + 1), username)
            self.accounts[acc.id] = acc
        self.tokens[token] = acc.id
        self.scopes[token] = set(scopes.split())
        return acc

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    def live_statuses(self, username: str | None = None) -> list[Status]:
        with self._state:
            return [s for s in self.statuses.values() if not s.deleted
                    and (username is None or self.accounts[s.account_id].username == username)]

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        who = self._auth(req)
        if isinstance(who, Response) and not path.startswith("/api/v2/instance"):
            return who
        account = who if isinstance(who, Account) else None
        buckets = ["general"]
        if req.method == "POST" and re.fullmatch(r"/api/v\d+/media", path):
            buckets.append("media")
        if req.method == "DELETE" and re.fullmatch(r"/api/v1/statuses/[^/]+", path):
            buckets.append("deletes")
        subject = account.id if account else "ip:" + req.headers.get("host", "")
        limited, headers = self._count(req, subject, buckets)
        if limited:
            return Response(429, {"error": "Too many requests"}, headers)
        resp = self._route(req, path, account)
        resp.headers.update(headers)
        if account and req.method == "POST" and path == "/api/v1/statuses":
            resp.headers.update(self._statuses_headers(account, headers))
        return resp

    def _route(self, req: Request, path: str, account: Account | None) -> Response:
        m = re.fullmatch(r"/api/v1/statuses/([^/]+)", path)
        if path == "/api/v2/instance" and req.method == "GET":
            return Response(200, self._instance())
        assert account is not None
        granted = self.scopes.get(req.headers.get("authorization", "")[len("Bearer "):].strip(), set())
        if path == "/api/v1/apps/verify_credentials" and req.method == "GET":
            if self.app_verify_needs_read and "read" not in granted:
                return Response(403, SCOPE_ERROR)
            return Response(200, {"name": self.app_name, "website": None, "scopes": sorted(granted),
                                  "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
                                  "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"})
        need = _scope_for(req.method, path)
        if need and not (granted & {need, need.split(":")[0]}):
            return Response(403, SCOPE_ERROR)
        if path == "/api/v1/accounts/verify_credentials" and req.method == "GET":
            return Response(200, self._account_json(account) | {"source": {"privacy": "public", "language": "vi"}})
        if path == "/api/v1/statuses" and req.method == "POST":
            return self._create(req, account)
        if m and req.method == "GET":
            st = self._own(m.group(1), None)
            return Response(200, self._status_json(st)) if st else not_found()
        if m and req.method == "PUT":
            return self._edit(req, account, m.group(1))
        if m and req.method == "DELETE":
            return self._delete(account, m.group(1))
        if re.fullmatch(r"/api/v[12]/media", path) and req.method == "POST":
            return self._upload(req, account)
        mm = re.fullmatch(r"/api/v1/media/([^/]+)", path)
        if mm and req.method == "PUT":
            with self._state:
                media = self.media.get(mm.group(1))
                if not media or media.account_id != account.id or media.status_id:
                    return not_found()  # only media not yet attached to a status
                p = self._params(req)
                if "description" in p:
                    media.description = p["description"] or None
                return Response(200 if self.wall() >= media.ready_at else 206, self._media_json(media))
        if mm and req.method == "GET":
            with self._state:
                media = self.media.get(mm.group(1))
                if not media or media.account_id != account.id or media.status_id:
                    return not_found()
                ready = self.wall() >= media.ready_at
                return Response(200 if ready else 206, self._media_json(media))
        return not_found()

    # -- auth and rate limits ------------------------------------------------------------
    def _auth(self, req: Request) -> Account | Response:
        header = req.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return Response(401, {"error": "This method requires an authenticated user"})
        token = header[len("Bearer "):].strip()
        if token in self.revoked:
            return Response(401, {"error": "The access token was revoked"})
        if token not in self.tokens:
            return Response(401, {"error": "The access token is invalid"})
        return self.accounts[self.tokens[token]]

    def _count(self, req: Request, subject: str, names: list[str]) -> tuple[bool, dict[str, str]]:
        now = self.wall()
        data = []
        limited = False
        with self._state:
            for name in names:
                b = self.buckets[name]
                window = int(now // b.period)
                key = (name, subject, window)
                before = self._counts.get(key, 0)
                self._counts[key] = before + 1
                if before >= b.limit:
                    limited = True
                    self.throttled.append(Throttled(req, name))
                remaining = max(b.limit - before - 1, 0)
                reset = (window + 1) * b.period
                data.append((remaining, b.limit, reset))
        remaining, limit, reset = min(data)
        return limited, {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                         "X-RateLimit-Reset": iso(reset)}

    def _record_status(self, account: Account) -> bool:
        """Count a status creation in the account's ``statuses`` limiter; ``True`` when over it."""
        b = self.buckets["statuses"]
        key = ("statuses", account.id, int(self.wall() // b.period))
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key] > b.limit

    def _statuses_headers(self, account: Account, rack: dict[str, str]) -> dict[str, str]:
        """The statuses limiter's headers, when it has fewer requests left than Rack::Attack's."""
        b = self.buckets["statuses"]
        window = int(self.wall() // b.period)
        with self._state:
            left = max(b.limit - self._counts.get(("statuses", account.id, window), 0), 0)
        if left >= int(rack["X-RateLimit-Remaining"]):
            return {}
        return {"X-RateLimit-Limit": str(b.limit), "X-RateLimit-Remaining": str(left),
                "X-RateLimit-Reset": iso((window + 1) * b.period)}

    # -- statuses ------------------------------------------------------------------------
    def _params(self, req: Request) -> dict[str, Any]:
        ctype = req.headers.get("content-type", "")
        if "application/json" in ctype:
            data = req.json() or {}
            return data if isinstance(data, dict) else {}
        if "multipart/form-data" in ctype:
            form = {k: [v[1].decode()] for k, v in parse_multipart(req).items()}
        else:
            form = req.form()
        out: dict[str, Any] = {k: v[0] for k, v in form.items() if not k.endswith("[]")}
        if "media_ids[]" in form:
            out["media_ids"] = form["media_ids[]"]
        return out

    def _validate(self, account: Account, p: dict[str, Any], status_id: str | None) -> tuple[list[str], Response | None]:
        text = p.get("status") or ""
        media_ids = [str(x) for x in (p.get("media_ids") or [])]
        if len(media_ids) > 4:
            return media_ids, unprocessable("Cannot attach more than 4 files")
        missing = [i for i in media_ids if i not in self.media or self.media[i].account_id != account.id
                   or self.media[i].status_id not in (None, status_id)]
        if missing:
            return media_ids, unprocessable(f"Media {', '.join(missing)} not found or already attached to another post")
        if any(self.wall() < self.media[i].ready_at for i in media_ids):
            return media_ids, unprocessable(LOCALES.get(account.locale, LOCALES["en"])["not_ready"])
        if not text.strip() and not media_ids:
            return media_ids, unprocessable("Validation failed: Text can't be blank")
        if p.get("visibility", "public") not in ("public", "unlisted", "private", "direct"):
            return media_ids, unprocessable("Validation failed: Visibility is not included in the list")
        if status_length((p.get("spoiler_text") or "") + text) > self.max_characters:
            return media_ids, unprocessable(f"Validation failed: Text character limit of {self.max_characters} exceeded")
        return media_ids, None

    def _create(self, req: Request, account: Account) -> Response:
        p = self._params(req)
        key = req.headers.get("idempotency-key")
        ik = (account.id, key) if key else None
        with self._state:
            if ik:
                hit = self.idempotency.get(ik)
                if hit and self.wall() - hit[1] < self.idempotency_ttl:
                    st = self.statuses[hit[0]]
                    return Response(200, self._status_json(st)) if not st.deleted else not_found()
                if ik in self._inflight:
                    return Response(503, {"error": "There was a temporary problem serving your request, please try again"})
                self._inflight.add(ik)
        try:
            if self.create_delay:
                time.sleep(self.create_delay)
            with self._state:
                media_ids, err = self._validate(account, p, None)
                if err:
                    return err
                if self._record_status(account):
                    return Response(429, {"error": "Too many requests"})
                st = Status(str(next(self._ids)), account.id, p.get("status") or "", p.get("spoiler_text") or "",
                            p.get("visibility") or "public", p.get("language"), media_ids, self.wall())
                self.statuses[st.id] = st
                for i in media_ids:
                    self.media[i].status_id = st.id
                if ik:  # stored only after success, so a failed attempt can be retried with the same key
                    self.idempotency[ik] = (st.id, self.wall())
                return Response(200, self._status_json(st))
        finally:
            if ik:
                with self._state:
                    self._inflight.discard(ik)

    def _own(self, status_id: str, account: Account | None) -> Status | None:
        st = self.statuses.get(status_id)
        if not st or st.deleted or (account is not None and st.account_id != account.id):
            return None
        return st

    def _edit(self, req: Request, account: Account, status_id: str) -> Response:
        p = self._params(req)
        with self._state:
            st = self._own(status_id, account)
            if not st:
                return not_found()
            if "media_ids" not in p:  # UpdateStatusService touches media only when media_ids is given
                p["media_ids"] = st.media_ids
            media_ids, err = self._validate(account, p, st.id)
            if err:
                return err
            for attrs in p.get("media_attributes") or []:
                if isinstance(attrs, dict) and str(attrs.get("id")) in media_ids and "description" in attrs:
                    self.media[str(attrs["id"])].description = attrs["description"] or None
            for i in st.media_ids:
                if i not in media_ids:
                    self.media[i].status_id = None
            for i in media_ids:
                self.media[i].status_id = st.id
            st.text = p.get("status") or ""
            st.spoiler_text = p.get("spoiler_text") or ""
            st.language = p.get("language") or st.language
            st.media_ids = media_ids
            st.edited_at = self.wall()
            return Response(200, self._status_json(st))

    def _delete(self, account: Account, status_id: str) -> Response:
        with self._state:
            st = self._own(status_id, account)
            if not st:
                return not_found()
            st.deleted = True
            return Response(200, self._status_json(st) | {"text": st.text, "spoiler_text": st.spoiler_text})

    # -- media ---------------------------------------------------------------------------
    def _upload(self, req: Request, account: Account) -> Response:
        fields = parse_multipart(req)
        if "file" not in fields:
            return unprocessable("Validation failed: File can't be blank")
        mime = image_type(fields["file"][1])
        if mime is None:
            return unprocessable("Validation failed: File content type is invalid")
        desc = fields.get("description", (None, b""))[1].decode() or None
        if desc and len(desc) > 1500:
            return unprocessable("Validation failed: Description is too long (maximum is 1500 characters)")
        with self._state:
            media = Media(str(next(self._ids)), account.id, desc, mime, self.wall() + self.media_delay)
            self.media[media.id] = media
        return Response(202 if self.media_delay > 0 else 200, self._media_json(media))

    # -- JSON shapes ---------------------------------------------------------------------
    def _account_json(self, acc: Account) -> dict[str, Any]:
        return {"id": acc.id, "username": acc.username, "acct": acc.username, "display_name": acc.display_name,
                "url": f"{self.url}/@{acc.username}", "locked": False, "bot": True}

    def _media_json(self, m: Media) -> dict[str, Any]:
        ready = self.wall() >= m.ready_at
        ext = m.mime.split("/")[1]
        return {"id": m.id, "type": "image", "description": m.description, "blurhash": None, "meta": {},
                "url": f"{self.url}/system/media/{m.id}.{ext}" if ready else None,
                "preview_url": f"{self.url}/system/media/{m.id}_small.{ext}", "remote_url": None}

    def _status_json(self, st: Status) -> dict[str, Any]:
        acc = self.accounts[st.account_id]
        paras = "".join(f"<p>{html.escape(p)}</p>" for p in st.text.split("\n\n") if p)
        return {"id": st.id, "created_at": iso(st.created_at), "uri": f"{self.url}/users/{acc.username}/statuses/{st.id}",
                "url": f"{self.url}/@{acc.username}/{st.id}", "visibility": st.visibility, "language": st.language,
                "spoiler_text": st.spoiler_text, "sensitive": False, "content": paras,
                "edited_at": iso(st.edited_at) if st.edited_at else None,
                "media_attachments": [self._media_json(self.media[i]) for i in st.media_ids],
                "account": self._account_json(acc)}

    def _instance(self) -> dict[str, Any]:
        return {"domain": "127.0.0.1", "title": "Loa test instance", "version": "4.3.0",
                "configuration": {"statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                                               "characters_reserved_per_url": 23},
                                  "media_attachments": {"image_size_limit": 16777216,
                                                        "description_limit": 1500}}}


def _scope_for(method: str, path: str) -> str | None:
    """The scope a call needs (Mastodon's controllers' ``doorkeeper_authorize!``); None: any token."""
    if path == "/api/v1/accounts/verify_credentials":
        return "read:accounts"
    if re.fullmatch(r"/api/v[12]/media(/[^/]+)?", path):
        return "write:media"
    if path.startswith("/api/v1/statuses") and method in ("POST", "PUT", "DELETE"):
        return "write:statuses"
    return None


def not_found() -> Response:
    return Response(404, {"error": "Record not found"})


def unprocessable(message: str) -> Response:
    return Response(422, {"error": message})
