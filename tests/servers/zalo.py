"""Zalo Official Account stand-in (channels.md §3 and §8): OAuth refresh and the article API.

What it reproduces:

- Every answer of the OA API is HTTP 200 with ``{"error", "message", "data"}``; ``error != 0`` is
  the failure. The token travels in an ``access_token`` header; ``Authorization: Bearer`` is not
  read (a known bug source) and so gives ``-216`` like a missing or unknown token; a token past
  its lifetime gives ``-124`` (expired), as clients of the live API report.
- ``POST /v4/oa/access_token`` (header ``secret_key``, form ``refresh_token``, ``app_id``,
  ``grant_type=refresh_token``) returns ``{"access_token", "refresh_token", "expires_in": "<str>"}``
  and a NEW single-use refresh token each time; presenting a used one is an error.
- Articles: ``create`` -> ``data.token``; ``verify`` -> ``-214`` for the first ``verify_pending``
  calls per token, then ``data.id``; ``update`` (full article + id) -> new token; ``remove``,
  ``getdetail``, ``getslice`` (newest first); ``oa/upload/image`` (multipart ``file``, ≤ 1 MB,
  answers only ``attachment_id``: a chat attachment, useless for articles); ``oa/getoa``.
- The cover is a public ``photo_url`` that Zalo's servers fetch. A URL with spaces or non-ASCII
  letters is refused ("photo_url is invalid"); with ``fetch_covers`` the server really GETs it at
  create and a cover it cannot fetch makes the job answer ``-200 "Upload media failed"`` on verify
  (no article is created). Field limits: title *shorter than* 150, description *shorter than* 300
  (exactly 150/300 is refused), author 50.
- ``POST /v2.0/oa/message`` with ``recipient.target`` and a ``media`` template of ``article``
  elements is the broadcast to followers; ``data.message_id``. At most 5 articles per broadcast.
  ``broadcast_quota`` per calendar month (and ``broadcast_daily`` per day) is this server's model of
  the OA's quota; beyond it the answer is ``QUOTA`` [U].
- Knobs for the unverified: ``create_date_unit`` ("ms" or "s") of getslice, ``detail_link_view``
  (whether getdetail carries ``link_view``).

Error codes other than ``-216``, ``-124`` and ``-214``, the OAuth error fields and the quota answer
are not documented publicly (channels.md marks them [U]); the values here are this server's choice
and the adapter treats them as configurable. Nothing here imports adapter code.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from typing import Any

from tests.servers.base import Request, Response, VendorServer
from tests.servers.mastodon import image_type, parse_multipart

INVALID_TOKEN = -216
EXPIRED_TOKEN = -124
UPLOAD_MEDIA_FAILED = -200
QUOTA = -32  # [U] what Zalo answers when the OA's broadcast quota is spent is not documented
PROCESSING = -214
INVALID_PARAM = -201
NOT_FOUND = -201  # [U] what Zalo answers for an unknown article id is not documented
OAUTH_INVALID_REFRESH = -14014  # [U]
OAUTH_INVALID_SECRET = -14002  # [U]


@dataclass
class Article:
    id: str
    doc: dict[str, Any]
    create_date: int  # epoch milliseconds [U]
    update_date: int
    removed: bool = False


@dataclass
class Job:
    article_id: str | None  # None: the cover could not be fetched, the job failed
    pending: int


def ok(data: Any = None) -> Response:
    return Response(200, {"error": 0, "message": "Success", "data": data if data is not None else {}})


def fail(code: int, message: str) -> Response:
    return Response(200, {"error": code, "message": message})


class ZaloServer(VendorServer):
    """Knobs: ``access_ttl`` (real lifetime of access tokens, seconds), ``reported_expires_in``
    (what the token endpoint says, default ``access_ttl``), ``verify_pending`` (-214 answers per
    job token), ``expire_access_tokens()``, ``slice_cap``."""

    def __init__(self, *, app_id: str = "1234567890", app_secret: str = "app-secret-value",
                 access_ttl: float = 90000.0, reported_expires_in: str | None = None,
                 verify_pending: int = 0, slice_cap: int = 10, latency: float = 0.0,
                 fetch_covers: bool = False, create_date_unit: str = "ms", detail_link_view: bool = True,
                 broadcast_quota: int = 4, broadcast_daily: int = 1):
        super().__init__(latency=latency)
        self.app_id = app_id
        self.app_secret = app_secret
        self.access_ttl = access_ttl
        self.reported_expires_in = reported_expires_in
        self.verify_pending = verify_pending
        self.slice_cap = slice_cap
        self.fetch_covers = fetch_covers
        self.create_date_unit = create_date_unit
        self.detail_link_view = detail_link_view
        self.broadcast_quota = broadcast_quota
        self.broadcast_daily = broadcast_daily
        self.broadcasts: list[dict[str, Any]] = []
        self.fetched: list[str] = []
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, bool] = {}  # token -> still usable
        self.articles: dict[str, Article] = {}
        self.jobs: dict[str, Job] = {}
        self.images: dict[str, bytes] = {}
        self._n = itertools.count(1)
        self._state = threading.RLock()

    # -- setup helpers -------------------------------------------------------------------
    def issue(self) -> tuple[str, str]:
        """A fresh (access token, refresh token) pair, as the OA admin's first authorization gives."""
        with self._state:
            access, refresh = "za-" + secrets.token_urlsafe(24), "zr-" + secrets.token_urlsafe(24)
            self.access_tokens[access] = time.time() + self.access_ttl
            self.refresh_tokens[refresh] = True
            return access, refresh

    def expire_access_tokens(self) -> None:
        with self._state:
            for tok in self.access_tokens:
                self.access_tokens[tok] = 0.0

    def live_articles(self) -> list[Article]:
        with self._state:
            return [a for a in self.articles.values() if not a.removed]

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path == "/v4/oa/access_token" and req.method == "POST":
            return self._refresh(req)
        routes = {
            ("POST", "/v2.0/article/create"): self._create,
            ("POST", "/v2.0/article/verify"): self._verify,
            ("POST", "/v2.0/article/update"): self._update,
            ("POST", "/v2.0/article/remove"): self._remove,
            ("GET", "/v2.0/article/getdetail"): self._detail,
            ("GET", "/v2.0/article/getslice"): self._slice,
            ("POST", "/v2.0/oa/upload/image"): self._upload,
            ("GET", "/v2.0/oa/getoa"): self._getoa,
            ("POST", "/v2.0/oa/message"): self._message,
        }
        route = routes.get((req.method, req.path))
        if route is None:
            return Response(404, {"error": 404, "message": "You are accessing an empty or invalid API"})
        token = req.headers.get("access_token")
        with self._state:
            if not token or token not in self.access_tokens:
                return fail(INVALID_TOKEN, "Access token is invalid")
            if self.access_tokens[token] <= time.time():
                return fail(EXPIRED_TOKEN, "Access token has expired")
            return route(req)

    # -- OAuth ---------------------------------------------------------------------------
    def _refresh(self, req: Request) -> Response:
        form = {k: v[0] for k, v in req.form().items()}
        if req.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return Response(200, {"error": OAUTH_INVALID_SECRET, "error_name": "Invalid secret key",
                                  "error_description": "The app id or the secret key is invalid"})
        if form.get("grant_type") != "refresh_token":
            return Response(200, {"error": INVALID_PARAM, "error_name": "Invalid parameter",
                                  "error_description": "grant_type is invalid"})
        with self._state:
            if not self.refresh_tokens.get(form.get("refresh_token", "")):
                return Response(200, {"error": OAUTH_INVALID_REFRESH, "error_name": "Invalid refresh token",
                                      "error_description": "Refresh token is invalid or has been used"})
            self.refresh_tokens[form["refresh_token"]] = False  # single use
            access, refresh = self.issue()
        expires = self.reported_expires_in if self.reported_expires_in is not None else str(int(self.access_ttl))
        return Response(200, {"access_token": access, "refresh_token": refresh, "expires_in": expires})

    # -- articles ------------------------------------------------------------------------
    def _check_article(self, doc: Any) -> str | None:
        if not isinstance(doc, dict):
            return "body must be a JSON object"
        if doc.get("type", "normal") != "normal":
            return "type is invalid"
        title, author, desc = doc.get("title") or "", doc.get("author") or "", doc.get("description") or ""
        if not title:
            return "title is required"
        if len(title) >= 150:
            return "title allow 1 to 150 characters"
        if len(author) > 50:
            return "author must not exceed 50 characters"
        if not desc:
            return "description is required"
        if len(desc) >= 300:
            return "description allow 1 to 300 characters"
        cover = doc.get("cover")
        if not isinstance(cover, dict) or cover.get("cover_type") != "photo" or not cover.get("photo_url"):
            return "cover is required"
        if not _public_url(cover["photo_url"]):
            return "photo_url is invalid"
        body = doc.get("body")
        if not isinstance(body, list) or not body:
            return "body is required"
        for item in body:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("text", "image", "video", "product"):
                return "body item type is invalid"
            if kind == "text" and not item.get("content"):
                return "body text item needs content"
            if kind == "image" and not _public_url(item.get("url")):
                return "body image item needs a valid url"
        for key in ("status", "comment"):
            if doc.get(key, "show") not in ("show", "hide"):
                return f"{key} is invalid"
        return None

    def _fetchable(self, url: str) -> bool:
        """Zalo's servers fetch the cover; here the fetch is real when ``fetch_covers`` is on."""
        if not self.fetch_covers:
            return True
        self.fetched.append(url)
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - test server, http only
                return resp.status == 200 and bool(resp.read())
        except OSError:
            return False

    def _job(self, article_id: str | None) -> str:
        token = secrets.token_hex(16)
        self.jobs[token] = Job(article_id, self.verify_pending)
        return token

    def _create(self, req: Request) -> Response:
        doc = req.json()
        problem = self._check_article(doc)
        if problem:
            return fail(INVALID_PARAM, problem)
        if not self._fetchable(doc["cover"]["photo_url"]):
            return ok({"token": self._job(None)})  # accepted; verify reports the failure
        now = int(time.time() * 1000)
        art = Article(secrets.token_hex(16), dict(doc), now, now)
        self.articles[art.id] = art
        return ok({"token": self._job(art.id)})

    def _verify(self, req: Request) -> Response:
        token = (req.json() or {}).get("token")
        job = self.jobs.get(token or "")
        if job is None:
            return fail(INVALID_PARAM, "token is invalid")
        if job.pending > 0:
            job.pending -= 1
            return fail(PROCESSING, "Article is processing, please try again later")
        if job.article_id is None:
            return fail(UPLOAD_MEDIA_FAILED, "Upload media failed")
        return ok({"id": job.article_id})

    def _update(self, req: Request) -> Response:
        doc = req.json() or {}
        art = self.articles.get(str(doc.get("id")))
        if art is None or art.removed:
            return fail(NOT_FOUND, "Article is not exist")
        problem = self._check_article(doc)
        if problem:
            return fail(INVALID_PARAM, problem)
        if not self._fetchable(doc["cover"]["photo_url"]):
            return ok({"token": self._job(None)})
        art.doc = {k: v for k, v in doc.items() if k != "id"}
        art.update_date = int(time.time() * 1000)
        return ok({"token": self._job(art.id)})

    def _remove(self, req: Request) -> Response:
        art = self.articles.get(str((req.json() or {}).get("id")))
        if art is None or art.removed:
            return fail(NOT_FOUND, "Article is not exist")
        art.removed = True
        return ok()

    def _summary(self, art: Article) -> dict[str, Any]:
        div = 1000 if self.create_date_unit == "s" else 1
        return {"id": art.id, "type": "normal", "title": art.doc["title"], "status": art.doc.get("status", "show"),
                "total_view": 0, "total_share": 0, "create_date": art.create_date // div,
                "update_date": art.update_date // div,
                "thumb": art.doc["cover"]["photo_url"], "link_view": f"{self.url}/article/{art.id}"}

    def _detail(self, req: Request) -> Response:
        art = self.articles.get(req.arg("id") or "")
        if art is None or art.removed:
            return fail(NOT_FOUND, "Article is not exist")
        data = self._summary(art) | {k: art.doc.get(k) for k in ("author", "description", "cover", "body", "comment")}
        if not self.detail_link_view:
            data.pop("link_view")
        return ok(data)

    def _slice(self, req: Request) -> Response:
        try:
            offset, limit = int(req.arg("offset") or 0), int(req.arg("limit") or 5)
        except ValueError:
            return fail(INVALID_PARAM, "offset and limit must be numbers")
        if req.arg("type", "normal") not in ("normal", "video"):
            return fail(INVALID_PARAM, "type is invalid")
        arts = sorted((a for a in self.articles.values() if not a.removed and req.arg("type", "normal") == "normal"),
                      key=lambda a: a.create_date, reverse=True)
        page = arts[offset:offset + min(limit, self.slice_cap)]
        return ok({"medias": [self._summary(a) for a in page], "total": len(arts)})

    def _upload(self, req: Request) -> Response:
        part = parse_multipart(req).get("file")
        if part is None:
            return fail(INVALID_PARAM, "file is required")
        if len(part[1]) > 1024 * 1024:
            return fail(INVALID_PARAM, "Image size exceeds 1MB")
        mime = image_type(part[1])
        if mime not in ("image/jpeg", "image/png"):
            return fail(INVALID_PARAM, "Image must be jpg or png")
        n = next(self._n)
        self.images[str(n)] = part[1]
        return ok({"attachment_id": f"att{n}"})  # for chat messages only; no URL (issue 16, finding 1)

    def _getoa(self, req: Request) -> Response:
        return ok({"oa_id": "4318123456789", "name": "UBND Thành phố", "description": "Trang chính thức",
                   "is_verified": True, "avatar": f"{self.url}/avatar.png", "num_follower": 1200})

    def _message(self, req: Request) -> Response:
        """The broadcast: ``recipient.target`` and a media template of up to 5 articles."""
        doc = req.json() or {}
        recipient = doc.get("recipient") if isinstance(doc, dict) else None
        if not isinstance(recipient, dict) or not isinstance(recipient.get("target"), dict):
            return fail(INVALID_PARAM, "recipient is invalid")
        try:
            payload = doc["message"]["attachment"]["payload"]
            assert doc["message"]["attachment"]["type"] == "template" and payload["template_type"] == "media"
            elements = payload["elements"]
            assert isinstance(elements, list) and 1 <= len(elements) <= 5
        except (KeyError, TypeError, AssertionError):
            return fail(INVALID_PARAM, "message is invalid")
        for el in elements:
            art = self.articles.get(str(el.get("attachment_id"))) if isinstance(el, dict) else None
            if not isinstance(el, dict) or el.get("media_type") != "article" or art is None or art.removed:
                return fail(INVALID_PARAM, "attachment_id is invalid")
        now = datetime.fromtimestamp(self.wall(), timezone(timedelta(hours=7)))
        month = [b for b in self.broadcasts if (b["at"].year, b["at"].month) == (now.year, now.month)]
        today = [b for b in month if b["at"].date() == now.date()]
        if len(month) >= self.broadcast_quota or len(today) >= self.broadcast_daily:
            return fail(QUOTA, "The OA has used up its broadcast quota")
        message_id = secrets.token_hex(16)
        self.broadcasts.append({"at": now, "message_id": message_id, "articles": [el["attachment_id"] for el in elements],
                                "target": recipient["target"]})
        return ok({"message_id": message_id})


def _public_url(url: Any) -> bool:
    """http(s), and nothing a browser would have to encode: no spaces, no non-ASCII letters."""
    return (isinstance(url, str) and url.startswith(("http://", "https://")) and url.isascii()
            and not any(c.isspace() for c in url))
