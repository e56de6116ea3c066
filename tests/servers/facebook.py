"""A contract-faithful stand-in for the Facebook Graph API (Pages), after channels.md §2 and §8.

What it reproduces:

- versioned paths ``/vNN.N/...``; ``access_token`` as query, form or multipart field, or
  ``Authorization: Bearer``;
- ``POST /{page}/feed`` (message, link) -> ``{"id": "PAGE_POST"}``; ``POST /{page}/photos``
  (multipart ``source`` + ``caption``) -> ``{"id", "post_id"}``; ``POST /{post}`` (message) and
  -> ``{"success": true}`` (a photo's caption is edited on its post, the documented edit; a
  ``POST`` on the photo node is refused [U]), refused with ``(#200) App cannot edit non-app
  posts`` for posts another app made; ``DELETE /{post}``; ``GET /{page}/feed`` with ``fields``
  (``attachments{...}`` subfields honoured; bare ``attachments`` leaves out ``unshimmed_url``, and
  ``url`` of a shared link is Facebook's ``l.facebook.com`` redirect), ``limit`` and ``after``
  cursors; ``GET /me``;
- ``GET /debug_token`` only with an app token (``APP_ID|APP_SECRET``); a Page token gets
  ``(#100) You must provide an app access token, or a user access token that is an owner or
  developer of the app`` (as integrations report, e.g. nyaruka/rapidpro#3734);
- ``require_appsecret_proof``: every call with a user or Page token must carry
  ``appsecret_proof`` = HMAC-SHA256(app secret, token), else ``(#100)``;
- codes 1 and 2 may come after the post was made (``fail_next(..., commit=True)``), as users
  report (arsduo/koala#699);
- the error envelope of §2.5 with HTTP 400 (500 for codes 1 and 2), including 190/460/463 for
  tokens, 200 for missing permissions, 506 for a consecutive duplicate, 100/33 for unknown objects;
- ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` on every answer. Usage grows by
  ``usage_per_call`` per call and decays by ``usage_decay`` percent per second; at >= 100 % every
  call is answered with a throttle error (``throttle_code``, default 80001) and recorded in
  ``violations`` - a well-behaved client never causes one.

Knobs: ``add_token``, ``expire_token``, ``invalidate_token``, ``set_usage``, ``fail_next``,
``add_foreign_post``. Messages marked [U] in channels.md are plausible, not verified.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import hmac
import itertools
import json
import math
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from tests.servers.base import Request, Response, VendorServer

DEFAULT_SCOPES = ("pages_manage_posts", "pages_read_engagement", "pages_show_list")
PERMISSION_MESSAGE = (
    "(#200) If posting to a group, requires app being installed in the group, and either publish_to_groups "
    "permission with user token, or both pages_read_engagement and pages_manage_posts permission with page "
    "token; If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with "
    "sufficient administrative permission")
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: ("(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more "
            "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."),
}
STANDARD_MESSAGES = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    10: "(#10) Application does not have permission for this action",
    100: "(#100) Invalid parameter",
    341: "(#341) Application limit reached",
    368: "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
    506: "(#506) Duplicate status message",
    **THROTTLE_MESSAGES,
}
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def parse_multipart(req: Request) -> tuple[dict[str, str], dict[str, tuple[str | None, bytes, str]]]:
    """Fields and files of a ``multipart/form-data`` body: ``({name: text}, {name: (filename, bytes, type)})``."""
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        return {}, {}
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str | None, bytes, str]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = (part.get_filename(), payload, part.get_content_type())
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def all_params(req: Request) -> tuple[dict[str, Any], dict[str, tuple[str | None, bytes, str]]]:
    """Query, then form / JSON / multipart body parameters (later wins), and uploaded files."""
    params: dict[str, Any] = {k: v[0] for k, v in req.query.items()}
    ctype = req.headers.get("content-type", "")
    files: dict[str, tuple[str | None, bytes, str]] = {}
    if "application/json" in ctype:
        data = req.json()
        if isinstance(data, dict):
            params.update(data)
    elif "application/x-www-form-urlencoded" in ctype:
        params.update({k: v[0] for k, v in req.form().items()})
    elif ctype.startswith("multipart/form-data"):
        fields, files = parse_multipart(req)
        params.update(fields)
    return params, files


class GraphError(Exception):
    def __init__(self, code: int, message: str | None = None, subcode: int | None = None,
                 type_: str = "OAuthException", user_title: str | None = None, user_msg: str | None = None):
        self.code, self.subcode, self.type = code, subcode, type_
        self.message = message or STANDARD_MESSAGES.get(code, f"(#{code}) Error")
        self.user_title, self.user_msg = user_title, user_msg


def unsupported(method: str, object_id: str) -> GraphError:
    return GraphError(100, f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
                      "cannot be loaded due to missing permissions, or does not support this operation. Please "
                      "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                      subcode=33, type_="GraphMethodException")


@dataclass
class Token:
    app_id: str
    page_id: str
    scopes: tuple[str, ...]
    expires_at: float | None = None  # wall-clock epoch; None = never
    invalid_subcode: int | None = None
    issued_at: float = field(default_factory=time.time)


@dataclass
class Post:
    id: str
    page_id: str
    message: str
    link: str | None
    app_id: str
    created: float
    photo_id: str | None = None
    deleted: bool = False


@dataclass
class QueuedError:
    error: GraphError
    match: Callable[[Request], bool]
    commit: bool = False  # the call is carried out, then answered with the error


APP_TOKEN_MESSAGE = ("(#100) You must provide an app access token, or a user access token that is an owner or "
                     "developer of the app")
# the default subfields of a story attachment when none are named [U: the exact default set]
ATTACHMENT_DEFAULT = ("description", "media", "target", "title", "type", "url")


class FacebookServer(VendorServer):
    """Graph API stand-in. ``token`` (if given) is registered for ``page_id`` with the default scopes."""

    POST_FIELDS = {"id", "message", "created_time", "permalink_url", "status_type", "attachments", "from"}

    def __init__(self, *, page_id: str = "104857600012345", page_name: str = "UBND Thành phố Loa",
                 token: str | None = None, app_id: str = "880011223344", app_secret: str = "fake-app-secret-0123",
                 require_appsecret_proof: bool = False, usage_per_call: float = 0.0,
                 usage_decay: float = 0.0, throttle_code: int = 80001, latency: float = 0.0):
        super().__init__(latency=latency)
        self.page_id, self.page_name, self.app_id = page_id, page_name, app_id
        self.app_secret, self.require_appsecret_proof = app_secret, require_appsecret_proof
        self.tokens: dict[str, Token] = {}
        self.posts: dict[str, Post] = {}
        self.photos: dict[str, str] = {}  # photo id -> post id
        self.usage = 0.0           # percent of the page's Business Use Case limit
        self.usage_per_call = usage_per_call
        self.usage_decay = usage_decay  # percent per second
        self.regain_minutes: int | None = None
        self.throttle_code = throttle_code
        self.violations: list[Request] = []
        self._usage_at: float | None = None  # set by the first call, on whichever clock the test chose
        self._queued: list[QueuedError] = []
        self._ids = itertools.count(800000000000001)
        if token:
            self.add_token(token)

    # -- knobs ------------------------------------------------------------------------------
    def add_token(self, token: str, *, app_id: str | None = None, scopes: tuple[str, ...] = DEFAULT_SCOPES,
                  expires_in: float | None = None) -> None:
        with self.lock:
            self.tokens[token] = Token(app_id or self.app_id, self.page_id, tuple(scopes),
                                       time.time() + expires_in if expires_in is not None else None)

    def expire_token(self, token: str, after: float = 0.0) -> None:
        """The token expires ``after`` seconds from now: then 190/463 on every call."""
        with self.lock:
            self.tokens[token].expires_at = time.time() + after

    def invalidate_token(self, token: str, subcode: int = 460) -> None:
        """190 with ``subcode`` from now on (460: password changed)."""
        with self.lock:
            self.tokens[token].invalid_subcode = subcode

    def set_usage(self, percent: float, regain_minutes: int | None = None) -> None:
        with self.lock:
            self.usage, self.regain_minutes, self._usage_at = percent, regain_minutes, self.monotonic()

    def fail_next(self, code: int, subcode: int | None = None, *, message: str | None = None,
                  user_title: str | None = None, user_msg: str | None = None,
                  match: Callable[[Request], bool] | str | None = None, times: int = 1, commit: bool = False) -> None:
        """Answer the next ``times`` matching calls with this Graph error; nothing is done unless
        ``commit`` (the call is carried out first, as Facebook often does with codes 1 and 2)."""
        fn = (lambda r: True) if match is None else (lambda r, s=match: s in r.path) if isinstance(match, str) else match
        type_ = "FacebookApiException" if code in (1, 2) else "OAuthException"
        with self.lock:
            for _ in range(times):
                self._queued.append(QueuedError(GraphError(code, message, subcode, type_, user_title, user_msg), fn,
                                                commit))

    def add_foreign_post(self, message: str, link: str | None = None) -> str:
        """A post made by a person on facebook.com (not by our app): our app may not edit it."""
        with self.lock:
            return self._create_post(message, link, app_id="facebook-web").id

    def live_posts(self) -> list[Post]:
        with self.lock:
            return [p for p in self.posts.values() if not p.deleted]

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        with self.lock:
            throttled = self._account_usage(req)
            try:
                if throttled:
                    raise GraphError(self.throttle_code, THROTTLE_MESSAGES.get(self.throttle_code))
                resp = self._route(req)
            except GraphError as err:
                resp = self._error(err)
            resp.headers.update(self._usage_headers())
            return resp

    def _route(self, req: Request) -> Response:
        m = re.fullmatch(r"/(v\d+\.\d+)/(.+?)/?", req.path)
        if not m:
            raise GraphError(2500, "Unknown path components: " + req.path, type_="OAuthException")
        parts = m.group(2).split("/")
        params, files = all_params(req)
        method = req.method.upper()
        if method == "POST" and params.get("method", "").upper() in ("GET", "DELETE"):
            method = params["method"].upper()  # Graph's method override
        token = self._authenticate(req, params)
        for q in self._queued:
            if q.match(req):
                self._queued.remove(q)
                if q.commit:
                    self._dispatch(req, parts, method, token, params, files)
                raise q.error
        return self._dispatch(req, parts, method, token, params, files)

    def _dispatch(self, req: Request, parts: list[str], method: str, token: Token | None, params: dict[str, Any],
                  files: dict) -> Response:
        if parts == ["debug_token"] and method == "GET":
            if token is not None:
                raise GraphError(100, APP_TOKEN_MESSAGE)
            return Response(200, self._debug_token(params.get("input_token")))
        if token is None:  # an app token may read public things; nothing Loa needs
            raise GraphError(200, "(#200) Requires a Page or user access token")
        if parts == ["me"] and method == "GET":
            return Response(200, self._fields({"id": self.page_id, "name": self.page_name}, params, "Page"))
        if len(parts) == 2 and parts[0] == self.page_id:
            edge = parts[1]
            if edge == "feed" and method == "POST":
                return self._post_feed(token, params)
            if edge == "feed" and method == "GET":
                return self._get_feed(token, req, params)
            if edge == "photos" and method == "POST":
                return self._post_photo(token, params, files)
            raise unsupported(method, "/".join(parts))
        if len(parts) == 1:
            return self._object(token, method, parts[0], params)
        raise GraphError(2500, "Unknown path components: /" + "/".join(parts[1:]))

    # -- auth and usage ---------------------------------------------------------------------
    def _authenticate(self, req: Request, params: dict[str, Any]) -> Token | None:
        """The Page token of the call, or ``None`` for the app token ``APP_ID|APP_SECRET``."""
        auth = req.headers.get("authorization", "")
        value = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("access_token")
        if not value:
            raise GraphError(104, "An access token is required to request this resource.")
        if value == f"{self.app_id}|{self.app_secret}":
            return None
        proof = params.get("appsecret_proof")
        if proof is not None or self.require_appsecret_proof:
            if proof is None:
                raise GraphError(100, "API calls from the server require an appsecret_proof argument",
                                 type_="GraphMethodException")
            want = hmac.new(self.app_secret.encode(), value.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(str(proof), want):
                raise GraphError(100, "Invalid appsecret_proof provided in the API argument",
                                 type_="GraphMethodException")
        token = self.tokens.get(value)
        if token is None:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if token.invalid_subcode is not None:
            raise GraphError(190, "Error validating access token: The session has been invalidated because the user "
                             "changed their password or Facebook has changed the session for security reasons.",
                             subcode=token.invalid_subcode)
        if token.expires_at is not None and time.time() >= token.expires_at:
            raise GraphError(190, "Error validating access token: Session has expired on "
                             f"{_fb_date(token.expires_at)}. The current time is {_fb_date(time.time())}.",
                             subcode=463)
        return token

    def _account_usage(self, req: Request) -> bool:
        now = self.monotonic()
        since = now - self._usage_at if self._usage_at is not None else 0.0
        self.usage = max(0.0, self.usage - self.usage_decay * since)
        self._usage_at = now
        if self.usage >= 100:
            self.violations.append(req)  # a call beyond the limit: the client did not slow down in time
            return True
        self.usage += self.usage_per_call
        return False

    def _regain(self) -> int:
        if self.usage < 100:
            return 0
        if self.regain_minutes is not None:
            return self.regain_minutes
        if self.usage_decay > 0:
            return max(1, math.ceil((self.usage - 99.0) / self.usage_decay / 60))
        return 60

    def _usage_headers(self) -> dict[str, str]:
        pct = int(min(self.usage, 100))
        app = {"call_count": pct, "total_cputime": max(0, pct // 4), "total_time": max(0, pct // 3)}
        buc = {self.page_id: [{"type": "pages", "call_count": pct, "total_cputime": max(0, pct // 4),
                               "total_time": max(0, pct // 3), "estimated_time_to_regain_access": self._regain()}]}
        return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(buc)}

    def _error(self, err: GraphError) -> Response:
        body: dict[str, Any] = {"message": err.message, "type": err.type, "code": err.code}
        if err.subcode is not None:
            body["error_subcode"] = err.subcode
        if err.user_title:
            body["error_user_title"] = err.user_title
        if err.user_msg:
            body["error_user_msg"] = err.user_msg
        if err.code in (1, 2, 4, 17, 32, 341, 613, 80001):
            body["is_transient"] = err.code in (1, 2)
        body["fbtrace_id"] = base64.b32encode(f"{time.monotonic_ns()}".encode()).decode()[:11]
        return Response(500 if err.code in (1, 2) else 400, {"error": body})

    # -- handlers ---------------------------------------------------------------------------
    def _require(self, token: Token, *scopes: str) -> None:
        if not set(scopes) <= set(token.scopes):
            raise GraphError(200, PERMISSION_MESSAGE)

    def _create_post(self, message: str, link: str | None, app_id: str, photo_id: str | None = None) -> Post:
        post = Post(f"{self.page_id}_{next(self._ids)}", self.page_id, message, link, app_id, time.time(), photo_id)
        self.posts[post.id] = post
        return post

    def _post_feed(self, token: Token, params: dict[str, Any]) -> Response:
        self._require(token, "pages_manage_posts", "pages_read_engagement")
        message = (params.get("message") or "").strip()
        link = params.get("link") or None
        if not message and not link:
            raise GraphError(100, "(#100) Missing message or attachment")
        if link and not re.match(r"https?://[^\s/]+", link):
            raise GraphError(100, "(#100) The parameter link must be a valid URL")
        if "scheduled_publish_time" in params:
            self._check_schedule(params["scheduled_publish_time"])
        last = next((p for p in sorted(self.posts.values(), key=lambda p: p.created, reverse=True)
                     if not p.deleted and p.photo_id is None), None)
        if last is not None and last.message == message and last.link == link:
            raise GraphError(506)  # consecutive duplicate: Facebook is not idempotent, it only refuses this
        post = self._create_post(message, link, token.app_id)
        return Response(200, {"id": post.id})

    def _check_schedule(self, value: Any) -> None:
        try:
            when = float(value)
        except (TypeError, ValueError):
            try:
                when = datetime.fromisoformat(str(value)).timestamp()
            except ValueError:
                raise GraphError(100, "(#100) The specified scheduled publish time is invalid.") from None
        if not 600 <= when - time.time() <= 30 * 86400:
            raise GraphError(100, "(#100) The specified scheduled publish time is invalid.")

    def _post_photo(self, token: Token, params: dict[str, Any], files: dict) -> Response:
        self._require(token, "pages_manage_posts", "pages_read_engagement")
        if "source" not in files:
            raise GraphError(324, "(#324) Requires upload file")
        data = files["source"][1]
        if not data.startswith(IMAGE_MAGIC) and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise GraphError(324, "(#324) Missing or invalid image file")
        photo_id = str(next(self._ids))
        post = self._create_post((params.get("caption") or "").strip(), None, token.app_id, photo_id=photo_id)
        self.photos[photo_id] = post.id
        return Response(200, {"id": photo_id, "post_id": post.id})

    def _object(self, token: Token, method: str, object_id: str, params: dict[str, Any]) -> Response:
        post_id = self.photos.get(object_id, object_id)
        post = self.posts.get(post_id)
        if post is None or post.deleted:
            raise unsupported(method, object_id)
        is_photo = object_id in self.photos
        if method == "GET":
            self._require(token, "pages_read_engagement")
            if is_photo:
                return Response(200, self._fields({"id": object_id, "name": post.message, "page_story_id": post.id,
                                                   "created_time": _iso(post.created)}, params, "Photo"))
            return Response(200, self._fields(self._post_view(post), params, "PagePost"))
        self._require(token, "pages_manage_posts")
        if method == "DELETE":
            post.deleted = True
            return Response(200, {"success": True})
        if method != "POST":
            raise unsupported(method, object_id)
        if is_photo:  # the documented edit is on the page post; the photo node's is not relied on
            raise unsupported(method, object_id)
        if post.app_id != token.app_id:
            raise GraphError(200, "(#200) App cannot edit non-app posts")
        new = params.get("message")
        if new is None:
            raise GraphError(100, "(#100) Missing field to update: message")
        post.message = new.strip()
        return Response(200, {"success": True})

    def _get_feed(self, token: Token, req: Request, params: dict[str, Any]) -> Response:
        self._require(token, "pages_read_engagement")
        posts = sorted((p for p in self.posts.values() if not p.deleted), key=lambda p: p.created, reverse=True)
        limit = min(int(params.get("limit") or 25), 100)
        start = int(base64.b64decode(params["after"]).decode()) if params.get("after") else 0
        page = posts[start:start + limit]
        data = [self._fields(self._post_view(p), params, "PagePost") for p in page]
        paging: dict[str, Any] = {}
        if page:
            paging["cursors"] = {"before": base64.b64encode(str(start).encode()).decode(),
                                 "after": base64.b64encode(str(start + len(page)).encode()).decode()}
        if start + len(page) < len(posts):
            # like Facebook, the next link repeats the query, token included when it came in the query
            query = {k: v[0] for k, v in req.query.items()}
            query["after"] = paging["cursors"]["after"]
            paging["next"] = f"{self.url}{req.path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        return Response(200, {"data": data, "paging": paging})

    def _post_view(self, p: Post) -> dict[str, Any]:
        post_no = p.id.split("_", 1)[1]
        view: dict[str, Any] = {
            "id": p.id, "created_time": _iso(p.created),
            "permalink_url": f"https://www.facebook.com/{p.page_id}/posts/{post_no}",
            "status_type": "added_photos" if p.photo_id else ("shared_story" if p.link else "mobile_status_update"),
            "from": {"name": self.page_name, "id": self.page_id},
        }
        if p.message:
            view["message"] = p.message
        if p.photo_id:
            view["attachments"] = {"data": [{"type": "photo", "target": {"id": p.photo_id}, "media_type": "photo"}]}
        elif p.link:
            shim = "https://l.facebook.com/l.php?u=" + urllib.parse.quote(p.link, safe="") + "&h=AT0fake"
            view["attachments"] = {"data": [{"type": "share", "url": shim, "unshimmed_url": p.link,
                                             "title": p.link, "target": {"url": shim}}]}
        return view

    def _fields(self, view: dict[str, Any], params: dict[str, Any], node: str) -> dict[str, Any]:
        wanted = params.get("fields")
        if not wanted:
            return {k: view[k] for k in ("id", "message", "name", "created_time") if k in view}
        fields = _split_fields(wanted)
        allowed = set(view) | (self.POST_FIELDS if node == "PagePost" else set())
        for n in fields:
            if n not in allowed:
                raise GraphError(100, f"(#100) Tried accessing nonexisting field ({n}) on node type ({node})")
        out = {n: view[n] for n in fields if n in view}
        if "attachments" in out:
            sub = fields["attachments"] or {k: None for k in ATTACHMENT_DEFAULT}
            out["attachments"] = {"data": [_pick(a, sub) for a in out["attachments"]["data"]]}
        return out

    def _debug_token(self, input_token: str | None) -> dict[str, Any]:
        tok = self.tokens.get(input_token or "")
        if tok is None:
            return {"data": {"error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
                             "is_valid": False, "scopes": []}}
        data: dict[str, Any] = {
            "app_id": tok.app_id, "type": "PAGE", "application": "Loa", "profile_id": tok.page_id,
            "user_id": "100000000000001", "issued_at": int(tok.issued_at),
            "expires_at": int(tok.expires_at) if tok.expires_at is not None else 0,
            "data_access_expires_at": int(tok.issued_at) + 90 * 86400,
            "is_valid": True, "scopes": list(tok.scopes),
        }
        if tok.invalid_subcode is not None:
            data.update(is_valid=False, error={"code": 190, "subcode": tok.invalid_subcode,
                                               "message": "The session has been invalidated."})
        elif tok.expires_at is not None and time.time() >= tok.expires_at:
            data.update(is_valid=False, error={"code": 190, "subcode": 463,
                                               "message": f"Session has expired on {_fb_date(tok.expires_at)}."})
        return {"data": data}


def _split_fields(spec: str) -> dict[str, dict | None]:
    """``a,b{c,d{e}}`` -> ``{"a": None, "b": {"c": None, "d": {"e": None}}}`` (Graph's field expansion)."""
    out: dict[str, dict | None] = {}
    depth, start = 0, 0
    for i, ch in enumerate(spec + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            part = spec[start:i].strip()
            start = i + 1
            if not part:
                continue
            name, brace, rest = part.partition("{")
            out[name.strip()] = _split_fields(rest[:-1]) if brace else None
    return out


def _pick(obj: Any, sub: dict | None) -> Any:
    if sub is None or not isinstance(obj, dict):
        return obj
    return {k: _pick(obj[k], sub[k]) for k in sub if k in obj}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _fb_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%A, %d-%b-%y %H:%M:%S UTC")
