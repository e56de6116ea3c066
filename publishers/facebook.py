"""Facebook Page publisher (registry key ``facebook``), after channels.md §2.

Options: ``page_id``, ``token_env`` (a Page access token), ``app_secret_env`` and ``app_id``
(optional), ``api_base``, ``api_version``, ``usage_slowdown`` (percent) and ``usage_backoff`` (seconds).

- kind ``text``: ``POST /{page}/feed`` with ``message`` + ``link``; kind ``caption``:
  ``POST /{page}/photos`` with the image as multipart ``source`` + ``caption``.
- update: ``POST /{page_post_id}`` ``message`` for both kinds (the documented edit; a photo's
  caption is its post's message); retract: ``DELETE``.
- A create answered with Graph error 1 or 2, or any HTTP 5xx, may still have made the post
  (Meta's own advice for these codes is to retry, and users report the duplicates that follow):
  it is raised with ``maybe_sent=True`` so that the engine looks the post up before any resend.
- With ``app_secret_env`` every call carries ``appsecret_proof`` (HMAC-SHA256 of the token keyed
  with the app secret), which apps with "Require App Secret" demand. With ``app_id`` as well,
  ``loa channels check`` asks ``debug_token`` (which needs an app token, never a Page token)
  for the token's permissions and expiry.
- Rate limits: every answer carries ``X-App-Usage`` / ``X-Business-Use-Case-Usage``. Once the
  highest figure passes ``usage_slowdown`` the publisher stops calling and raises
  :class:`TransientPublishError` with ``retry_after`` (``estimated_time_to_regain_access`` when
  Facebook gives one, else ``usage_backoff``, doubled for each further high reading) so that the
  Page never reaches 100 % and a block. The reading is per publisher instance (per run).
- The token travels in the ``Authorization`` header, never in a URL; the one call that must put it
  in a URL (``debug_token``'s ``input_token``) is redacted from ``urllib3``'s debug log by a logging filter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from pipeline.errors import PermanentPublishError, PublishError, PublisherAuthError, TransientPublishError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url, kind_words
from publishers.http import (DEFAULT_TIMEOUT, classify_status, new_session, protect_secret, raise_for, redact,
                             retry_seconds, translate)

log = logging.getLogger(__name__)

AUTH_CODES = {102, 104, 190, 2500}
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613, 80001}
THROTTLE_CODES = {4, 17, 32, 341, 613, 80001}
REQUIRED_SCOPES = ("pages_manage_posts", "pages_read_engagement")
TOKEN_HINTS = (458, 459, 460, 463, 464, 467)  # error subcodes that say why a token is refused (facebook.token.* in messages_vendor.py)


_protect = protect_secret  # tokens out of urllib3's debug lines (shared in publishers.http)


class FacebookPublisher(Publisher):
    """Publishes to one Facebook Page through the Graph API (registry key ``facebook``)."""

    type = "facebook"
    family = "facebook"
    limits = {"text": 63206, "caption": 63206}
    options = (
        OptionSpec("page_id", str, required=True, doc="the numeric id of the Facebook Page"),
        OptionSpec("token_env", str, required=True, secret_env=True,
                   doc="environment variable holding a long-lived Page access token"),
        OptionSpec("app_secret_env", str, secret_env=True,
                   doc="environment variable holding the app secret: every call then carries appsecret_proof "
                       "(needed when the app has \"Require App Secret\" on)"),
        OptionSpec("app_id", str, doc="the app's id: with app_secret_env, lets `loa channels check` read the "
                                      "token's permissions and expiry through debug_token"),
        OptionSpec("api_base", str, default="https://graph.facebook.com", doc="Graph API address", check=http_url),
        OptionSpec("api_version", str, default="v19.0", doc="Graph API version put in every path"),
        OptionSpec("usage_slowdown", (int, float), default=75,
                   doc="percent of Facebook's rate limit above which Loa pauses calls to this Page"),
        OptionSpec("usage_backoff", (int, float), default=300,
                   doc="seconds to pause when usage is above usage_slowdown and Facebook gives no estimate"),
        OptionSpec("lookup_depth", int, default=50,
                   doc="how many of the Page's latest posts a lookup scans for a post whose answer was lost"),
    )
    can_lookup = True
    lookup_finds_edited = False  # by the current text: a lost post of an earlier version is not found
    lookup_note = ("Facebook has no idempotency key. Loa looks for a post whose answer was lost among the Page's "
                   "latest posts (lookup_depth, default 50) with exactly the same text (and link); it finds it "
                   "if fewer than that many posts were made since, and it cannot tell our post from an identical "
                   "one made by hand.")

    def __init__(self, name: str, options: Any, **kw: Any):
        super().__init__(name, options, **kw)
        self.session = new_session()
        self._usage = 0.0
        self._pause_until: datetime | None = None  # no call is made before this time
        self._high = 0  # consecutive answers with usage above usage_slowdown

    @property
    def page_id(self) -> str:
        return str(self.opts["page_id"])

    def _token(self) -> str:
        token = self.secret("token_env")
        _protect(token)
        return token

    def _app_secret(self) -> str | None:
        if not self.opts.get("app_secret_env"):
            return None
        secret = self.secret("app_secret_env")
        _protect(secret)
        return secret

    def _proof(self, token: str) -> dict[str, str]:
        """``appsecret_proof`` for ``token`` when an app secret is configured (Graph's "Securing requests")."""
        secret = self._app_secret()
        if secret is None:
            return {}
        return {"appsecret_proof": hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()}

    # -- one Graph call -----------------------------------------------------------------
    def _call(self, method: str, path: str, post_id: str | None, *, params: dict | None = None,
              data: dict | None = None, files: dict | None = None, create: bool = False,
              app_token: str | None = None) -> dict[str, Any]:
        """One Graph call with the Page token (or ``app_token``). ``create``: the call makes a post,
        so an answer that does not say whether it was made is raised with ``maybe_sent``."""
        wait = (self._pause_until - self.clock()).total_seconds() if self._pause_until else 0.0
        if wait > 0:
            raise TransientPublishError(
                self.name, post_id, Detail("facebook.usage-pause", usage=f"{self._usage:.0f}"),
                retry_after=retry_seconds(wait), throttle=True, hint=Detail("facebook.usage-pause.fix"))
        token = app_token or self._token()
        url = f"{str(self.opts['api_base']).rstrip('/')}/{self.opts['api_version']}/{path}"
        if app_token is None:  # an app token carries the secret itself: no proof with it
            params = {**(params or {}), **self._proof(token)}
        try:
            with translate(self.name, post_id):
                resp = self.session.request(method, url, params=params or None, data=data, files=files,
                                            headers={"Authorization": f"Bearer {token}"}, timeout=DEFAULT_TIMEOUT)
        except PublishError as exc:  # requests' text carries the URL; debug_token's has the token in it
            exc.vendor_message = redact(exc.vendor_message or "", token) or None
            raise
        regain = self._note_usage(resp.headers)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            self._raise_graph_error(body["error"], resp.status_code, regain, post_id, token, create)
        if resp.status_code >= 400 or not isinstance(body, dict):
            cls = classify_status(resp.status_code)
            kw = {"maybe_sent": True} if create and cls is TransientPublishError else {}
            raise_for(cls, self.name, post_id, Detail("vendor.http-no-body", vendor="Facebook", status=resp.status_code),
                      vendor_message=redact(resp.text[:300], token), status=resp.status_code, **kw)
        return body

    def _note_usage(self, headers: Any) -> int:
        """Read the usage headers; pause when the highest figure passes ``usage_slowdown``. Returns minutes to regain."""
        usage, regain = None, 0
        for name in ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage"):
            raw = headers.get(name)
            if not raw:
                continue
            try:
                doc = json.loads(raw)
                entries = [doc] if name != "X-Business-Use-Case-Usage" else [
                    e for lst in doc.values() if isinstance(lst, list) for e in lst if isinstance(e, dict)]
                for e in entries:
                    figures = [float(e.get(k) or 0) for k in ("call_count", "total_cputime", "total_time")]
                    usage = max([usage or 0.0, *figures])
                    regain = max(regain, int(e.get("estimated_time_to_regain_access") or 0))
            except (ValueError, TypeError, AttributeError):
                log.warning("Ignoring unreadable %s header from Facebook for %s", name, self.name)
        if usage is None:
            return regain
        self._usage = usage
        if usage > float(self.opts["usage_slowdown"]) or regain:
            # Facebook's own estimate wins; without one, the backoff doubles while usage stays high, so
            # that usage cannot creep up to 100 % when it decays slower than our calls add to it
            self._high += 1
            pause = regain * 60.0 if regain else min(3600.0, float(self.opts["usage_backoff"]) * 2 ** (self._high - 1))
            self._pause_for(pause)
            log.warning("Facebook page %s is at %.0f%% of its rate limit; %s pauses calls for %g s",
                        self.page_id, usage, self.name, pause)
        else:
            self._high = 0
        return regain

    def _pause_for(self, seconds: float) -> None:
        """Make no call for ``seconds`` from now (a pause already running longer is kept)."""
        until = self.clock() + timedelta(seconds=seconds)
        if self._pause_until is None or until > self._pause_until:
            self._pause_until = until

    def _raise_graph_error(self, err: dict, status: int, regain: int, post_id: str | None, token: str,
                           create: bool = False) -> None:
        code = int(err.get("code") or 0)
        sub = err.get("error_subcode")
        words = redact(str(err.get("message") or ""), token)
        if err.get("error_user_msg"):
            words += " — " + redact(str(err["error_user_msg"]), token)
        label = f"{code}/{sub}" if sub else str(code)
        kw = dict(vendor_message=words, status=status, code=label)
        if code in AUTH_CODES:
            what = Detail(f"facebook.token.{int(sub or 0)}" if int(sub or 0) in TOKEN_HINTS else "facebook.token.invalid")
            raise PublisherAuthError(  # catalogue Details: loa publish, status and channels check say it in vi/en
                self.name, post_id, Detail("facebook.refused-token", what=what),
                hint=Detail("facebook.refused-token.fix", page=self.page_id, env=self.opts["token_env"]), **kw)
        if code in TRANSIENT_CODES:
            throttled = code in THROTTLE_CODES
            retry_after = regain * 60.0 if regain else (float(self.opts["usage_backoff"]) if throttled else None)
            if throttled:
                self._pause_for(retry_after or 0.0)
            # codes 1 and 2 ("unknown"/"unexpected" error) are answered after the post was often made
            # anyway; a throttle refusal comes before any work
            doubt = create and not throttled
            raise TransientPublishError(
                self.name, post_id,
                Detail("facebook.limiting" if throttled else "facebook.temporary"),
                retry_after=retry_after, throttle=throttled, maybe_sent=doubt,
                hint=Detail("facebook.looks-first" if doubt else "vendor.retries-later"), **kw)
        if code == 368:
            reason, hint = Detail("facebook.blocked"), Detail("facebook.blocked.fix")
        elif code == 506:
            reason, hint = Detail("facebook.duplicate"), Detail("facebook.duplicate.fix")
        elif code == 10 or 200 <= code <= 299:
            reason, hint = Detail("facebook.no-permission"), Detail("facebook.no-permission.fix")
        elif code == 100:
            reason, hint = Detail("facebook.bad-parameter"), Detail("facebook.bad-parameter.fix")
        else:
            cls = TransientPublishError if status >= 500 else PermanentPublishError
            if cls is TransientPublishError and create:
                kw["maybe_sent"] = True
            raise_for(cls, self.name, post_id, Detail("facebook.refused-call", label=label),
                      hint=Detail("vendor.read-message.retry"), **kw)
        raise PermanentPublishError(self.name, post_id, reason, hint=hint, **kw)

    # -- hooks ----------------------------------------------------------------------------
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
                                            vendor_message=exc.strerror, hint=Detail("publish.image-committed")) from None
            import mimetypes  # here: only a post with an image needs it, and every command imports this module
            ctype = mimetypes.guess_type(rendering.image_path.name)[0] or "application/octet-stream"
            body = self._call("POST", f"{self.page_id}/photos", rendering.post_id,
                              data={"caption": rendering.body, "published": "true"},
                              files={"source": (rendering.image_path.name, image, ctype)}, create=True)
            return self._result(body.get("post_id") or body["id"], "caption", body.get("id"), rendering.link)
        data = {"message": rendering.body}
        if rendering.link:
            data["link"] = rendering.link
        body = self._call("POST", f"{self.page_id}/feed", rendering.post_id, data=data, create=True)
        return self._result(body["id"], "text", None, rendering.link)

    def _result(self, post_id: str, kind: str, photo_id: str | None, link: str | None) -> PublishResult:
        page, _, number = post_id.partition("_")
        url = f"https://www.facebook.com/{page}/posts/{number}" if number else f"https://www.facebook.com/{post_id}"
        extra = {"kind": kind, "page_id": self.page_id, "link": link}
        if photo_id:
            extra["photo_id"] = photo_id
        return PublishResult(post_id, url, extra)

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        kind = previous.extra.get("kind", "text")
        if kind != rendering.kind:
            raise PermanentPublishError(
                self.name, rendering.post_id,
                Detail("facebook.kind-changed", was=kind_words(kind), now=kind_words(rendering.kind)),
                hint=Detail("facebook.kind-changed.fix"))
        if (rendering.link or None) != (previous.extra.get("link") or None) and kind == "text":
            log.warning("Facebook cannot change the link of post %s; updating its text only", previous.remote_id)
        # the documented edit, for a photo post too: its caption is the post's message
        self._call("POST", previous.remote_id, rendering.post_id, data={"message": rendering.body})
        return PublishResult(previous.remote_id, previous.remote_url, dict(previous.extra))

    def _retract(self, previous: PublishResult, reason: str) -> None:
        try:
            self._call("DELETE", previous.remote_id, None)
        except PermanentPublishError as exc:
            if exc.code != "100/33":
                raise
            # Facebook says the object does not exist (or we may not see it): nothing left to remove
            log.warning("Facebook post %s was already gone when %s retracted it", previous.remote_id, self.name)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        want = rendering.body.strip()
        after, seen, depth = None, 0, int(self.opts["lookup_depth"])
        while seen < depth:
            # attachment subfields named: without them Graph leaves out unshimmed_url (url is then
            # Facebook's l.facebook.com redirect, not the link Loa sent)
            params = {"fields": "id,message,created_time,attachments{type,url,unshimmed_url,target{id,url}}",
                      "limit": str(min(25, depth - seen))}
            if after:
                params["after"] = after  # the cursor, never paging.next: that URL may carry a token
            body = self._call("GET", f"{self.page_id}/feed", rendering.post_id, params=params)
            for item in body.get("data", []):
                seen += 1
                if (item.get("message") or "").strip() != want:
                    continue
                atts = (item.get("attachments") or {}).get("data") or []
                photo = next((a for a in atts if a.get("type") == "photo"), None)
                if rendering.kind == "caption" and photo:
                    return self._result(item["id"], "caption", (photo.get("target") or {}).get("id"), rendering.link)
                urls = {a.get(k) or (a.get("target") or {}).get("url") for a in atts for k in ("unshimmed_url", "url")}
                if rendering.kind == "text" and not photo and (not rendering.link or rendering.link in urls):
                    return self._result(item["id"], "text", None, rendering.link)
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not (body.get("paging") or {}).get("next") or not body.get("data"):
                break
        return None

    def _check(self) -> ChannelHealth:
        """Only calls a Page token may make: ``/me`` (whose token is it), one read of the Page's feed
        (what a lookup does); ``debug_token`` (permissions, expiry) only with an app token, because
        Facebook refuses it with a Page token ("(#100) You must provide an app access token")."""
        me = self._call("GET", "me", None, params={"fields": "id,name"})
        messages, ok = [], True
        identity = f"{me.get('name')} ({me.get('id')})"
        if str(me.get("id")) != self.page_id:
            ok = False
            messages.append(Detail("facebook.wrong-page", identity=identity, page=self.page_id))  # Details: loa speaks vi/en
        else:
            self._call("GET", f"{self.page_id}/feed", None, params={"fields": "id", "limit": "1"})
        expires_at = None
        secret = self._app_secret()
        debugged = bool(secret and self.opts.get("app_id"))
        if debugged:
            app_token = f"{self.opts['app_id']}|{secret}"
            _protect(app_token)
            info = self._call("GET", "debug_token", None, params={"input_token": self._token()},
                              app_token=app_token).get("data") or {}
            if not info.get("is_valid", False):
                ok = False
                messages.append(Detail("facebook.token-invalid",
                                       reason=redact(str((info.get("error") or {}).get("message", "")), self._token())))
            missing = [s for s in REQUIRED_SCOPES if s not in (info.get("scopes") or [])]
            if missing:
                ok = False
                messages.append(Detail("facebook.lacks-permissions", missing=", ".join(missing)))
            exp = int(info.get("expires_at") or 0)
            expires_at = datetime.fromtimestamp(exp, timezone.utc) if exp else None
            messages.append(Detail("facebook.token-expires", when=expires_at.isoformat()) if expires_at
                            else Detail("facebook.token-never-expires"))
        else:
            messages.append(Detail("facebook.not-debugged"))
        if ok:
            messages.insert(0, Detail("facebook.can-publish" if debugged else "facebook.token-works", identity=identity))
        return ChannelHealth(self.name, ok, tuple(messages), expires_at, identity)

    def close(self) -> None:
        self.session.close()
