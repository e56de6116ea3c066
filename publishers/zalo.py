"""Zalo Official Account articles (registry key ``zalo``; channels.md §3).

Options: ``app_id``, ``app_secret_env``, ``refresh_token_env`` (the first refresh token),
``token_env`` (optional first access token), ``api_base``, ``oauth_base``, ``verify_attempts``,
``verify_interval``, ``article_status``, ``comment``, ``media_base_url``, the ``broadcast`` options,
and the knobs for what Zalo does not document.

Cover: Zalo's servers fetch the article's ``cover.photo_url`` themselves (the OA image upload
answers only a chat ``attachment_id``). The URL is the post's image as the portal publishes it:
``media_base_url`` + ``<image hash><suffix>`` (the static site's ``media/`` layout); by default
``media_base_url`` is the ``media/`` folder at the root of the post's portal link. It is sent
percent-encoded. A cover Zalo could not fetch (verify ``-200 "Upload media failed"``, e.g. the
portal has not published the image yet) is transient.

Broadcast (``broadcast = true``): once the article exists, one broadcast (``/v2.0/oa/message``,
``recipient.target``, a ``media`` template with the article) brings it to followers' chat, at most
once per publish key: the attempt is written to the job record before the call and its
``message_id`` after; an attempt whose answer was lost is never repeated (recorded as "in doubt").
Loa counts its broadcasts against ``broadcast_per_day`` / ``broadcast_per_month`` (Zalo's
documented follower quotas; the calendar in Asia/Ho_Chi_Minh) and a spent quota, Loa's own count or
Zalo's ``quota_codes``, is a wait until the next day or month, never a failure.

Tokens: the access token lives 25 h (``expires_in``, a string), the refresh token is single-use
and every refresh returns a new one. Both live in the durable state store (keys
``<channel>:zalo.refresh`` and ``<channel>:zalo.access``); the environment only seeds them. The
new refresh token is written before the new access token is used for anything, so a crash right
after a refresh never loses it. When the IT officer puts a *new* refresh token in the environment
(re-authorization), Loa notices that it differs from the one it was seeded with and takes it.
A refresh whose *answer* is lost has spent the old refresh token without handing over the new
one; Zalo offers no way back, so the next refresh fails with ``PublisherAuthError`` and a hint to
re-authorize. Two processes must not refresh the same channel at once: a refresh happens under the
ledger's lock shared by every process (``state.lock``, :meth:`Ledger.named_lock`), and inside it
the stored tokens are read again, so the daemon and a ``loa channels check`` never spend the same
refresh token: the second one finds the access token the first one stored and uses it.

Creation is asynchronous: ``create`` -> job token -> ``verify`` -> article id. Zalo has no
idempotency key, so the adapter keeps a per-key job record in the state store: the time a create
went out (written before it), then the job token (written as soon as it arrives). A retry with
the same key verifies the stored token instead of creating again; a create whose answer was lost
is searched for in ``getslice`` (title + ``create_date``) before anything is created again.

Unverified (channels.md [U]/[S]) and therefore configurable: ``token_error_codes`` (default
``[-216, -124]``: invalid, expired), ``processing_codes`` (``[-214]``), ``media_failed_codes``
(``[-200]``), ``gone_codes`` (what ``remove`` answers for an article already removed; default none,
so a second removal is reported, not assumed), ``quota_codes`` (none known), ``max_image_bytes``
(1 MB), ``refresh_valid_days`` (90). Read either way: ``create_date`` in milliseconds or seconds,
the article link in ``link_view`` or ``link`` (or none).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import quote, urljoin, urlsplit

from pipeline.errors import PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url
from publishers.http import DEFAULT_TIMEOUT, classify_status, new_session, raise_for, redact, translate

log = logging.getLogger(__name__)

#: Without a ledger (a state store with no ``lock``), threads of this process still take turns.
_LOCAL_REFRESH = threading.Lock()

#: Zalo's follower quotas count calendar days and months in Vietnam.
VN = timezone(timedelta(hours=7))

REAUTHORIZE = "zalo.reauthorize"  # the catalogue's hint (messages_vendor.py): loa speaks it in vi or en


class ZaloPublisher(Publisher):
    """Zalo OA articles: create -> verify, update -> verify, remove; reconciliation via getslice."""

    type = "zalo"
    family = "zalo"
    limits = {"article": None}
    can_lookup = True
    lookup_note = ("Zalo has no idempotency key. Loa keeps the create job token of each attempt and verifies it "
                   "again; if a create's answer was lost it searches the newest getslice pages for an article "
                   "with the same title created after the attempt. Limits: only `lookup_pages` pages are read, "
                   "two posts with the same title in that window are indistinguishable, and an article that "
                   "Zalo has not listed within `lookup_settle` seconds is taken as never created.")
    # Zalo refuses a title of 150 and a description of 300 characters: both must be *shorter*.
    TITLE_MAX, DESCRIPTION_MAX, AUTHOR_MAX = 149, 299, 50
    options = (
        OptionSpec("app_id", str, required=True, doc="Zalo app id"),
        OptionSpec("app_secret_env", str, required=True, secret_env=True, doc="variable holding the app secret key"),
        OptionSpec("refresh_token_env", str, required=True, secret_env=True,
                   doc="variable holding the first refresh token (later ones are kept in the ledger)"),
        OptionSpec("token_env", str, secret_env=True, doc="variable holding a first access token (optional)"),
        OptionSpec("api_base", str, default="https://openapi.zalo.me", doc="OA API base URL", check=http_url),
        OptionSpec("oauth_base", str, default="https://oauth.zaloapp.com", doc="OAuth base URL", check=http_url),
        OptionSpec("verify_attempts", int, default=5, doc="verify calls per publish before giving up for now"),
        OptionSpec("verify_interval", (int, float), default=3.0, doc="seconds between verify calls"),
        OptionSpec("article_status", str, default="show", doc='"show" (visible at once) or "hide"'),
        OptionSpec("comment", str, default="show", doc='comments on the article: "show" or "hide"'),
        OptionSpec("timeout", (int, float), default=DEFAULT_TIMEOUT[1], doc="read timeout in seconds"),
        OptionSpec("refresh_margin", (int, float), default=300, doc="refresh this many seconds before expiry"),
        OptionSpec("lookup_pages", int, default=3, doc="getslice pages (10 articles) searched by lookup"),
        OptionSpec("lookup_settle", (int, float), default=300,
                   doc="seconds after a lost create during which 'not listed' still means 'maybe'"),
        OptionSpec("media_base_url", str, default="",
                   doc="public URL of the folder where the portal serves post images (default: <portal>/media/)"),
        OptionSpec("media_names", str, default="static_site", choices=("static_site", "wordpress"),
                   doc="how the portal names post images under media_base_url: `static_site` (<image hash>.<ext>) "
                       "or `wordpress` (loa-img-<sha256[:20]>.<ext>, the Loa plugin's uploads/loa/ folder)"),
        OptionSpec("broadcast", bool, default=False, doc="send each new article to the followers' chat (once)"),
        OptionSpec("broadcast_per_day", int, default=1, doc="broadcasts a follower can receive per day [S]"),
        OptionSpec("broadcast_per_month", int, default=4,
                   doc="broadcasts a follower can receive per month: 1 basic, 4 advanced/trial, 6 premium [S]"),
        OptionSpec("token_error_codes", list, default=[-216, -124],
                   doc="error codes meaning the access token is invalid or expired [S]"),
        OptionSpec("processing_codes", list, default=[-214], doc="verify error codes meaning 'still processing' [U]"),
        OptionSpec("media_failed_codes", list, default=[-200],
                   doc="verify error codes meaning 'could not fetch the cover' (transient) [S]"),
        OptionSpec("quota_codes", list, default=[], doc="broadcast error codes meaning 'quota spent' [U]"),
        OptionSpec("gone_codes", list, default=[], doc="remove error codes meaning 'already removed' [U]"),
        OptionSpec("max_image_bytes", int, default=1024 * 1024, doc="largest cover Zalo accepts [S]"),
        OptionSpec("refresh_valid_days", int, default=90, doc="refresh token lifetime [S]"),
    )

    def __init__(self, name: str, options: Mapping[str, Any], **kw: Any):
        super().__init__(name, options, **kw)
        self.session = new_session()
        self.timeout = (DEFAULT_TIMEOUT[0], float(self.opts["timeout"]))
        self._held: set[str] = set()

    @classmethod
    def kind_for(cls, has_image: bool) -> str:
        return "article"

    def close(self) -> None:
        self.session.close()

    # -- tokens ------------------------------------------------------------------------------
    def _key(self, what: str) -> str:
        return f"{self.name}:zalo.{what}"

    def _load(self, what: str) -> dict[str, Any]:
        raw = self.state.get(self._key(what))
        return json.loads(raw) if raw else {}

    def _save(self, what: str, value: dict[str, Any]) -> None:
        self.state.set(self._key(what), json.dumps(value, sort_keys=True))

    def _secrets(self) -> list[str]:
        """Every credential this instance has held, so that none of them reaches a message."""
        vals = [self.env.get(self.opts[o] or "", "") for o in ("app_secret_env", "refresh_token_env", "token_env")]
        vals += [self._load("refresh").get("token", ""), self._load("access").get("token", "")]
        return [v for v in {*vals, *self._held} if v]

    def _access_token(self, post_id: str | None) -> str:
        access = self._load("access")
        if access.get("token"):
            self._held.add(access["token"])
            if self._expiring(access):
                return self._refresh(post_id, stale=access["token"])
            return access["token"]
        first = self.env.get(self.opts["token_env"] or "")
        return first or self._refresh(post_id)

    def _expiring(self, access: dict[str, Any]) -> bool:
        expires = access.get("expires_at")
        margin = timedelta(seconds=float(self.opts["refresh_margin"]))
        return bool(expires) and datetime.fromisoformat(expires) - margin <= self.clock()

    def _refresh_token(self) -> tuple[str, str | None]:
        """The refresh token to spend, and the seed fingerprint if it comes from the environment."""
        var = self.opts["refresh_token_env"] or ""
        from_env = self.env.get(var)
        seed = hashlib.sha256(from_env.encode()).hexdigest() if from_env else None
        stored = self._load("refresh")
        if stored.get("token") and (seed is None or stored.get("seed") == seed):
            return stored["token"], stored.get("seed")
        if from_env:  # first run, or the officer re-authorized and put a new token in the environment
            return from_env, seed
        return self.secret("refresh_token_env"), None  # raises the "not set" auth error

    def _refresh(self, post_id: str | None, stale: str | None = None) -> str:
        """A fresh access token, ``stale`` being the one the caller found expired or refused.

        Under the lock shared by every process using the ledger: the stored access token is read
        again inside it, and when another process has refreshed meanwhile (a token other than
        ``stale``, not expiring) that one is used and no refresh token is spent."""
        lock = getattr(self.state, "lock", None)
        with lock("zalo.refresh") if lock is not None else _LOCAL_REFRESH:
            access = self._load("access")
            if access.get("token") and access["token"] != stale and not self._expiring(access):
                self._held.add(access["token"])
                log.info("Zalo channel %s: another process refreshed the access token; using it", self.name)
                return access["token"]
            return self._spend_refresh_token(post_id)

    def _spend_refresh_token(self, post_id: str | None) -> str:
        refresh, seed = self._refresh_token()
        secret = self.secret("app_secret_env")
        hint = Detail(REAUTHORIZE, var=self.opts["refresh_token_env"])
        with translate(self.name, post_id):
            resp = self.session.post(self.opts["oauth_base"].rstrip("/") + "/v4/oa/access_token",
                                     headers={"secret_key": secret},
                                     data={"refresh_token": refresh, "app_id": str(self.opts["app_id"]),
                                           "grant_type": "refresh_token"}, timeout=self.timeout)
        body = _json(resp)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientPublishError(self.name, post_id, Detail("zalo.token-service", status=resp.status_code),
                                        status=resp.status_code)
        if resp.status_code != 200 or not body.get("access_token") or not body.get("refresh_token"):
            vendor = redact(f"{body.get('error_name') or ''}: {body.get('error_description') or body.get('message') or ''}",
                            refresh, secret)
            raise PublisherAuthError(self.name, post_id, Detail("zalo.refresh-refused"),
                                     vendor_message=vendor.strip(": "), hint=hint, code=str(body.get("error", "")),
                                     status=resp.status_code)
        self._held.update((body["access_token"], body["refresh_token"]))
        now = self.clock()
        # The old refresh token is spent from this moment: store the new one first, durably.
        self._save("refresh", {"token": body["refresh_token"], "seed": seed, "issued_at": now.isoformat()})
        try:
            lifetime = float(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        expires = (now + timedelta(seconds=lifetime)).isoformat() if lifetime > 0 else None
        self._save("access", {"token": body["access_token"], "expires_at": expires})
        log.info("Refreshed the Zalo access token of channel %s (valid until %s)", self.name, expires or "unknown")
        return body["access_token"]

    # -- one API call --------------------------------------------------------------------------
    def _api(self, method: str, path: str, post_id: str | None, **kw: Any) -> dict[str, Any]:
        """Call the OA API; return ``data``. Refreshes once on a token error, then gives up loudly."""
        token = self._access_token(post_id)
        for attempt in (1, 2):
            with translate(self.name, post_id):
                resp = self.session.request(method, self.opts["api_base"].rstrip("/") + path,
                                            headers={"access_token": token}, timeout=self.timeout, **kw)
            body = _json(resp)
            if resp.status_code != 200:
                raise_for(classify_status(resp.status_code), self.name, post_id,
                          Detail("zalo.http", status=resp.status_code, path=path),
                          vendor_message=redact(str(body.get("message") or resp.reason), *self._secrets()),
                          status=resp.status_code)
            if "error" not in body:
                raise TransientPublishError(self.name, post_id, Detail("zalo.no-envelope", path=path),
                                            status=resp.status_code)
            code = _int(body["error"])
            if code == 0:
                return body.get("data") or {}
            if code in self.opts["token_error_codes"] and attempt == 1:
                log.info("Zalo refused the access token of channel %s (error %s); refreshing it", self.name, code)
                token = self._refresh(post_id, stale=token)
                continue
            self._raise(code, str(body.get("message") or ""), post_id, path)
        raise AssertionError("unreachable")

    def _raise(self, code: int, message: str, post_id: str | None, path: str) -> None:
        message = redact(message, *self._secrets())
        if code in self.opts["token_error_codes"]:
            raise PublisherAuthError(self.name, post_id, Detail("zalo.token-refused", message=message),
                                     vendor_message=message, code=str(code),
                                     hint=Detail(REAUTHORIZE, var=self.opts["refresh_token_env"]))
        if code in self.opts["processing_codes"]:
            raise TransientPublishError(self.name, post_id, Detail("zalo.processing", message=message),
                                        vendor_message=message, code=str(code),
                                        retry_after=float(self.opts["verify_interval"]), holds_channel=False)
        raise PermanentPublishError(self.name, post_id, Detail("zalo.refused", call=path.rsplit('/', 1)[-1], message=message, error=code),
                                    vendor_message=message, code=str(code))

    # -- the article ---------------------------------------------------------------------------
    def _article(self, r: Rendering, cover_url: str) -> dict[str, Any]:
        paragraphs = [p.strip() for p in r.body.replace("\r\n", "\n").split("\n\n") if p.strip()]
        if r.link and (not paragraphs or paragraphs[-1] != r.link):
            paragraphs.append(r.link)
        return {"type": "normal", "title": r.title, "author": str(r.extra.get("author") or ""),
                "description": self._description(r),
                "cover": {"cover_type": "photo", "photo_url": cover_url, "status": "show"},
                "body": [{"type": "text", "content": p} for p in paragraphs],
                "status": self.opts["article_status"], "comment": self.opts["comment"]}

    def _check_article(self, r: Rendering) -> None:
        def refuse(reason: str, hint: str) -> None:
            raise PermanentPublishError(self.name, r.post_id, reason, hint=hint)

        if r.image_path is None:
            refuse(Detail("zalo.needs-cover"), Detail("zalo.needs-cover.fix"))
        # The description is the post's summary, already cut by the renderer: it is shortened
        # here too (see _description); the title and the author are the reader's first words and
        # are reported instead.
        for label, value, limit in (("title", r.title, self.TITLE_MAX),
                                    ("author", str(r.extra.get("author") or ""), self.AUTHOR_MAX)):
            if len(value) > limit:
                part = Detail(f"zalo.part.{label}")
                refuse(Detail("zalo.too-long", part=part, length=len(value), limit=limit),
                       Detail("zalo.too-long.fix", part=part, channel=self.name))
        if not str(r.extra.get("description") or "").strip():
            refuse(Detail("zalo.needs-description"), Detail("zalo.needs-description.fix"))
        if not r.body.strip():
            refuse(Detail("zalo.needs-body"), Detail("zalo.needs-body.fix"))

    def _description(self, r: Rendering) -> str:
        text = " ".join(str(r.extra.get("description") or "").split())
        if len(text) <= self.DESCRIPTION_MAX:
            return text
        cut = text[:self.DESCRIPTION_MAX - 1]
        if " " in cut[-40:]:
            cut = cut.rsplit(" ", 1)[0]
        return cut.rstrip(" ,;:.") + "…"

    def _cover(self, r: Rendering) -> tuple[str, str]:
        """The cover's public URL on the portal (Zalo fetches it) and the image's sha256."""
        try:
            data = r.image_path.read_bytes()  # type: ignore[union-attr]
        except OSError as exc:
            raise PermanentPublishError(self.name, r.post_id,
                                        Detail("zalo.cover-unreadable", path=str(r.image_path), why=exc.strerror))
        if len(data) > int(self.opts["max_image_bytes"]):
            raise PermanentPublishError(self.name, r.post_id,
                                        Detail("zalo.cover-too-big", size=len(data), limit=self.opts["max_image_bytes"]),
                                        hint=Detail("zalo.cover-too-big.fix"))
        if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
            raise PermanentPublishError(self.name, r.post_id, Detail("zalo.cover-type"), hint=Detail("zalo.cover-type.fix"))
        sha = hashlib.sha256(data).hexdigest()
        base = str(self.opts["media_base_url"] or "")
        if not base:
            parts = urlsplit(r.link or "")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise PermanentPublishError(self.name, r.post_id, Detail("zalo.cover-no-url"),
                                            hint=Detail("zalo.cover-no-url.fix", channel=self.name))
            base = f"{parts.scheme}://{parts.netloc}/media/"
        suffix = r.image_path.suffix.lower()  # type: ignore[union-attr]
        if self.opts["media_names"] == "wordpress":  # as publishers/wordpress.py uploads it (docs/channels.md)
            name = f"loa-img-{sha[:20]}{suffix}"
        else:
            name = f"{r.extra.get('image_hash') or sha}{suffix}"
        return public_url(urljoin(base if base.endswith("/") else base + "/", name)), sha

    def _verify(self, token: str, post_id: str | None) -> str:
        attempts = max(1, int(self.opts["verify_attempts"]))
        for n in range(attempts):
            try:
                data = self._api("POST", "/v2.0/article/verify", post_id, json={"token": token})
            except PermanentPublishError as exc:
                if isinstance(exc, PublisherAuthError) or _int(exc.code) not in self.opts["media_failed_codes"]:
                    raise
                raise TransientPublishError(self.name, post_id,
                                            Detail("zalo.cover-unfetched", message=exc.vendor_message),
                                            vendor_message=exc.vendor_message,
                                            code="media_failed", retry_after=float(self.opts["lookup_settle"]),
                                            holds_channel=False) from None
            except TransientPublishError as exc:
                if exc.code is None or _int(exc.code) not in self.opts["processing_codes"]:
                    raise
                if n + 1 < attempts:
                    self.sleep(float(self.opts["verify_interval"]))
                continue
            article_id = data.get("id") or data.get("article_id")
            if article_id:
                return str(article_id)
            raise PermanentPublishError(self.name, post_id, Detail("zalo.no-id"))
        raise TransientPublishError(self.name, post_id, Detail("zalo.still-processing", attempts=attempts),
                                    retry_after=float(self.opts["verify_interval"]) * attempts, code="processing",
                                    holds_channel=False)

    def _link(self, article_id: str, post_id: str | None) -> str | None:
        try:
            data = self._api("GET", "/v2.0/article/getdetail", post_id, params={"id": article_id})
        except (TransientPublishError, PermanentPublishError) as exc:
            if isinstance(exc, PublisherAuthError):
                raise
            log.warning("Published %s to %s as %s but could not read its link: %s", post_id, self.name, article_id, exc.reason)
            return None
        return _link_of(data)

    # -- hooks ------------------------------------------------------------------------------------
    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        self._check_article(rendering)
        job = self._load("job." + key)
        found = self._settle(rendering, key, job)
        if found is not None:
            return found
        cover_url, sha = self._cover(rendering)
        if self.opts["broadcast"]:
            self._quota_wait(rendering.post_id)  # the article and its notice go out together
        job = {"cover_url": cover_url, "cover_sha": sha, "at": self.clock().isoformat()}
        self._save("job." + key, job)  # before create: a lost answer is then searched for, not re-created
        try:
            data = self._api("POST", "/v2.0/article/create", rendering.post_id, json=self._article(rendering, cover_url))
        except (TransientPublishError, PermanentPublishError) as exc:
            if exc.code is not None:  # Zalo itself answered with an error: nothing was created
                job.pop("at")
                self._save("job." + key, job)
            raise
        if not data.get("token"):
            raise PermanentPublishError(self.name, rendering.post_id, Detail("zalo.no-token"))
        job["token"] = str(data["token"])
        self._save("job." + key, job)
        return self._finish(rendering, key, job)

    def _settle(self, r: Rendering, key: str, job: dict[str, Any]) -> PublishResult | None:
        """What an earlier attempt with this key left behind: a result, or ``None`` to create anew."""
        if job.get("id"):
            self._broadcast(r, key, job)
            return PublishResult(job["id"], job.get("url"), _extra(job))
        if job.get("token"):
            return self._finish(r, key, job)
        if not job.get("at"):
            return None
        found = self._find(r, datetime.fromisoformat(job["at"]))
        if found is not None:
            job.update(id=found.remote_id, url=found.remote_url)
            self._save("job." + key, job)
            self._broadcast(r, key, job)
            return PublishResult(found.remote_id, found.remote_url, _extra(job))
        age = (self.clock() - datetime.fromisoformat(job["at"])).total_seconds()
        if age < float(self.opts["lookup_settle"]):
            raise TransientPublishError(self.name, r.post_id, Detail("zalo.answer-lost"),
                                        retry_after=float(self.opts["lookup_settle"]) - age, code="in_doubt",
                                        holds_channel=False)
        return None

    def _finish(self, r: Rendering, key: str, job: dict[str, Any]) -> PublishResult:
        try:
            article_id = self._verify(job["token"], r.post_id)
        except (PermanentPublishError, TransientPublishError) as exc:
            if not isinstance(exc, PublisherAuthError) and (isinstance(exc, PermanentPublishError)
                                                            or exc.code == "media_failed"):
                # the job is dead; keep "at" so that a retry searches getslice before creating again
                job.pop("token", None)
                self._save("job." + key, job)
            raise
        job.update(id=article_id, url=self._link(article_id, r.post_id))
        self._save("job." + key, job)
        log.info("Published %s to Zalo channel %s as article %s", r.post_id, self.name, article_id)
        self._broadcast(r, key, job)
        return PublishResult(article_id, job["url"], _extra(job))

    # -- the broadcast ----------------------------------------------------------------------------
    def _sent_broadcasts(self) -> list[datetime]:
        return [datetime.fromisoformat(t) for t in self._load("broadcasts").get("sent", [])]

    def _quota_wait(self, post_id: str | None) -> None:
        """Raise a throttle until the next day or month when Loa's broadcasts have spent the quota."""
        now = self.clock().astimezone(VN)
        sent = [t.astimezone(VN) for t in self._sent_broadcasts()]
        month = [t for t in sent if (t.year, t.month) == (now.year, now.month)]
        today = [t for t in month if t.date() == now.date()]
        per_day, per_month = int(self.opts["broadcast_per_day"]), int(self.opts["broadcast_per_month"])
        if len(month) >= per_month:
            until, why = _next_month(now), Detail("zalo.quota-month", count=len(month), limit=per_month)
        elif len(today) >= per_day:
            until, why = _next_day(now), Detail("zalo.quota-day", count=len(today), limit=per_day)
        else:
            return
        raise TransientPublishError(self.name, post_id, Detail("zalo.quota-spent", why=why, **_until(until)),
                                    code="broadcast_quota", throttle=True,
                                    retry_after=max((until - now).total_seconds(), 1.0))

    def _broadcast(self, r: Rendering, key: str, job: dict[str, Any]) -> None:
        """Send the article to the followers once, if the channel asks for it (module docstring)."""
        if not self.opts["broadcast"] or job.get("broadcast", {}).get("state") in ("sent", "in_doubt", "refused"):
            return
        if job.get("broadcast", {}).get("state") == "sending":
            # the answer to an earlier attempt was lost: Zalo may be delivering it; never twice
            job["broadcast"]["state"] = "in_doubt"
            self._save("job." + key, job)
            log.warning("The broadcast of %s on Zalo channel %s may or may not have gone out (its answer was lost); "
                        "Loa does not send it again: see the OA's broadcast history", r.post_id, self.name)
            return
        lock = getattr(self.state, "lock", None)
        with lock("zalo.broadcast") if lock is not None else _LOCAL_REFRESH:
            self._quota_wait(r.post_id)
            now = self.clock()
            job["broadcast"] = {"state": "sending", "at": now.isoformat()}
            self._save("job." + key, job)  # before the call: a lost answer is never sent again
            book = self._load("broadcasts")
            keep = now - timedelta(days=62)
            book["sent"] = [t for t in book.get("sent", []) if datetime.fromisoformat(t) > keep] + [now.isoformat()]
            self._save("broadcasts", book)
        body = {"recipient": {"target": {}},
                "message": {"attachment": {"type": "template", "payload": {
                    "template_type": "media", "elements": [{"media_type": "article", "attachment_id": job["id"]}]}}}}
        try:
            data = self._api("POST", "/v2.0/oa/message", r.post_id, json=body)
        except (TransientPublishError, PermanentPublishError) as exc:
            maybe = isinstance(exc, TransientPublishError) and (exc.maybe_sent or (exc.status or 0) >= 500)
            if maybe:
                raise  # Zalo may have it: "sending" stays, and the next attempt records it as in doubt
            self._unbook(now)
            if _int(exc.code) in self.opts["quota_codes"]:
                job.pop("broadcast")
                self._save("job." + key, job)
                until = _next_day(self.clock().astimezone(VN))
                raise TransientPublishError(self.name, r.post_id,
                                            Detail("zalo.quota-refused", message=exc.vendor_message, **_until(until)),
                                            vendor_message=exc.vendor_message, code="broadcast_quota", throttle=True,
                                            retry_after=max((until - self.clock()).total_seconds(), 1.0)) from None
            if isinstance(exc, (PublisherAuthError, TransientPublishError)) or exc.code is None:
                job.pop("broadcast")  # nothing was sent: the next attempt sends it
                self._save("job." + key, job)
                raise
            # refused for good: the article is published; the ledger keeps why its notice is missing
            job["broadcast"] = {"state": "refused", "at": now.isoformat(), "error": exc.vendor_message or exc.reason}
            self._save("job." + key, job)
            log.warning("Zalo refused the broadcast of %s on channel %s: %s", r.post_id, self.name, exc.reason)
            return
        job["broadcast"] = {"state": "sent", "at": now.isoformat(), "message_id": str(data.get("message_id") or "")}
        self._save("job." + key, job)
        log.info("Broadcast %s to the followers of Zalo channel %s (message %s)", r.post_id, self.name,
                 job["broadcast"]["message_id"])

    def _unbook(self, at: datetime) -> None:
        book = self._load("broadcasts")
        book["sent"] = [t for t in book.get("sent", []) if t != at.isoformat()]
        self._save("broadcasts", book)

    def _find(self, r: Rendering, since: datetime) -> PublishResult | None:
        since_s = since.timestamp() - 120  # clock skew between us and Zalo
        title = _norm(r.title)
        for page in range(int(self.opts["lookup_pages"])):
            data = self._api("GET", "/v2.0/article/getslice", r.post_id,
                             params={"offset": page * 10, "limit": 10, "type": "normal"})
            medias = data.get("medias") or []
            for m in medias:
                created = _epoch_seconds(m.get("create_date"))
                if created is not None and created < since_s:
                    return None  # newest first: everything after this is older than the attempt
                if _norm(str(m.get("title") or "")) == title:
                    return PublishResult(str(m["id"]), _link_of(m))
            if len(medias) < 10:
                return None
        return None

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        self._check_article(rendering)
        cover_url, sha = self._cover(rendering)
        doc = self._article(rendering, cover_url) | {"id": previous.remote_id}
        data = self._api("POST", "/v2.0/article/update", rendering.post_id, json=doc)
        # update is a full replacement, so repeating it after a lost answer is harmless
        self._verify(str(data.get("token") or ""), rendering.post_id)
        log.info("Updated %s on Zalo channel %s (article %s)", rendering.post_id, self.name, previous.remote_id)
        # an edit is not announced again: the broadcast record of the first publish is kept
        extra = {k: previous.extra[k] for k in ("broadcast",) if k in previous.extra}
        return PublishResult(previous.remote_id, previous.remote_url, {"cover_url": cover_url, "cover_sha": sha, **extra})

    def _retract(self, previous: PublishResult, reason: str) -> None:
        try:
            self._api("POST", "/v2.0/article/remove", None, json={"id": previous.remote_id})
        except PermanentPublishError as exc:
            if isinstance(exc, PublisherAuthError) or _int(exc.code) not in self.opts["gone_codes"]:
                raise
            log.info("Zalo article %s of channel %s was already removed", previous.remote_id, self.name)
            return
        log.info("Removed Zalo article %s from channel %s: %s", previous.remote_id, self.name, reason)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        return self._settle(rendering, key, self._load("job." + key))

    def _check(self) -> ChannelHealth:
        data = self._api("GET", "/v2.0/oa/getoa", None)
        name = str(data.get("name") or data.get("oa_id") or "?")
        messages = [Detail("zalo.oa", name=name, oa_id=str(data.get("oa_id", "?")))]  # Details: loa speaks vi/en
        access = self._load("access")
        if access.get("expires_at"):
            messages.append(Detail("zalo.access-until", when=str(access["expires_at"])))
        refresh = self._load("refresh")
        expires_at = None
        if refresh.get("issued_at"):
            expires_at = datetime.fromisoformat(refresh["issued_at"]) + timedelta(days=int(self.opts["refresh_valid_days"]))
            messages.append(Detail("zalo.refresh-lapses", issued=str(refresh["issued_at"]), when=expires_at.isoformat()))
        return ChannelHealth(self.name, True, tuple(messages), expires_at=expires_at, identity=name)


def _json(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _extra(job: dict[str, Any]) -> dict[str, Any]:
    extra = {"cover_url": job.get("cover_url"), "cover_sha": job.get("cover_sha")}
    if job.get("broadcast"):
        extra["broadcast"] = dict(job["broadcast"])
    return extra


def _until(moment: datetime) -> dict[str, str]:
    """A wait's end for a catalogue message: ISO in English (as it always was), the site's way in Vietnamese."""
    from pipeline.vndates import dmy, gio

    return {"until_en": moment.isoformat(), "until_vi": f"{gio(moment)} {dmy(moment)}"}


def _next_day(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=VN) + timedelta(days=1)


def _next_month(now: datetime) -> datetime:
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=VN)


def public_url(url: str) -> str:
    """``url`` percent-encoded as Zalo wants it: spaces and non-ASCII letters escaped (UTF-8),
    the URL's own delimiters and existing ``%XX`` escapes kept."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _epoch_seconds(value: Any) -> float | None:
    """getslice's ``create_date``, read as milliseconds or seconds (channels.md: unverified).

    A value above 10^11 cannot be seconds (the year 5138), and one below cannot be milliseconds
    of an article (March 1973), so the magnitude decides."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    return n / 1000 if n > 1e11 else n


def _link_of(data: Mapping[str, Any]) -> str | None:
    """The article's public link: ``link_view`` as clients report it, ``link`` as some mirrors do."""
    link = data.get("link_view") or data.get("link")
    return str(link) if link else None
