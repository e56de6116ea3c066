"""Mastodon statuses (registry key ``mastodon``; channels.md §5).

Options: ``instance_url``, ``token_env`` (a user token with ``write:statuses write:media``),
``visibility`` (``public``), ``language`` (``vi``), plus timing knobs below.

Exactly once: every create carries ``Idempotency-Key: <key>`` (the engine's key for the ledger
row). Mastodon checks that key *before* anything else, per account, for one hour after the
status was created, and stores it only after success. So, within that hour, sending the same
request again with the same key is safe whatever happened to the first one: it returns the
original status if it landed and creates it once if it did not. That resend *is* this adapter's
lookup. The time of the first POST is written to the state store before the POST goes out, so
``_lookup`` knows whether a POST ever went out (no record: surely not) and whether the key is
still young enough (``idempotency_window``, a little under the hour). Past the window Loa cannot
tell, and says so with an :class:`~pipeline.errors.InDoubtPublishError` instead of risking a second status.

Rate limits: ``X-RateLimit-Remaining`` / ``-Reset`` of every answer are remembered per bucket
(general; media uploads; deletes; ``statuses``: the answer to a status creation describes
Mastodon's separate 300-per-3-hours posting limiter, not the general one, so it is kept apart).
An operation starts only while more than ``rate_reserve`` requests remain, and no request is
sent to a bucket known to be exhausted: the adapter raises
``TransientPublishError(retry_after=<seconds until Reset>)`` instead of collecting a 429.

Media still processing: Mastodon refuses a status with unprocessed media with a 422 whose text
is translated into the account's language, so the text is never read: a 422 to a status with
media is followed by ``GET /api/v1/media/:id``, and its ``206`` (still processing) makes the
refusal transient.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import unicodedata
from datetime import datetime
from typing import Any, Mapping

from pipeline.errors import (InDoubtPublishError, PermanentPublishError, PublisherAuthError, PublishError,
                             TransientPublishError)
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url
from publishers.http import DEFAULT_TIMEOUT, classify_status, new_session, raise_for, redact, translate

log = logging.getLogger(__name__)

VISIBILITIES = ("public", "unlisted", "private", "direct")
REQUIRED_SCOPES = ("write:statuses", "write:media")


def _extends(ch: str) -> bool:
    """Characters that join the previous grapheme cluster (marks, variation selectors, skin tones, tags)."""
    cp = ord(ch)
    return (unicodedata.category(ch) in ("Mn", "Me", "Mc") or 0xFE00 <= cp <= 0xFE0F
            or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F)


# Characters that are each one grapheme cluster whatever surrounds them: printable ASCII, tab and
# newline (not CR: CR LF is one cluster), Latin-1 to Latin Extended-B, IPA and spacing modifier
# letters, Latin Extended Additional (every precomposed Vietnamese letter), and general punctuation
# other than the zero-width joiners and controls. NFC Vietnamese text is made of nothing else, so
# it is counted with len() instead of a loop over every character. tests/test_mastodon.py checks
# each character of these ranges against the loop.
# Compiled on first use, as the two patterns of MastodonPublisher.measure: every command validates
# a mastodon channel's options, but only publishing counts characters.
@functools.cache
def _simple_text() -> re.Pattern:
    return re.compile("[\t\n\x20-\x7e\xa0-\u02ff\u1e00-\u1eff\u2010-\u2027\u2030-\u205e]*")


@functools.cache
def _counted_as_written() -> tuple[re.Pattern, re.Pattern]:
    """The URLs (each counted as 23 characters) and the remote mentions (counted as ``@user``).

    A URL is ``https?://`` not preceded by a letter, digit, ``_`` or ``/``; the pattern reads the
    ``http`` first and only then looks behind it, so that ``re`` searches for the literal ``http``
    instead of trying the look-behind at every character of the status (the same matches:
    ``tests/test_mastodon.py`` compares it with the look-behind-first form)."""
    return (re.compile(r"http(?<![\w/]http)s?://[^\s<>\"]+[^\s<>\".,:;!?'\")\]]"),
            re.compile(r"(?<![\w/])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)@[\w.-]+\w", re.I))


def graphemes(text: str) -> int:
    """Approximate extended grapheme clusters: marks, ZWJ sequences and flag pairs count once."""
    if _simple_text().fullmatch(text):
        return len(text)
    n, joined, open_flag, prev = 0, False, False, ""
    for ch in text:
        cp = ord(ch)
        if cp == 0x200D:
            joined = True
        elif _extends(ch) or (ch == "\n" and prev == "\r"):
            pass
        elif joined:
            joined = False
        elif 0x1F1E6 <= cp <= 0x1F1FF and open_flag:
            open_flag = False
        else:
            open_flag = 0x1F1E6 <= cp <= 0x1F1FF
            n += 1
        prev = ch
    return n


class MastodonPublisher(Publisher):
    """Mastodon statuses with Idempotency-Key, media via /api/v2/media, edit via PUT, DELETE."""

    type = "mastodon"
    family = "mastodon"
    limits = {"text": 500}
    can_lookup = True
    lookup_note = ("Lookup re-sends the same request with the same Idempotency-Key, which Mastodon answers with "
                   "the original status if it landed or creates it once if it did not. It is allowed only while "
                   "the key is younger than `idempotency_window` seconds after the first POST (Mastodon keeps keys "
                   "one hour); later the item is reported in doubt for a person to settle.")
    options = (
        OptionSpec("instance_url", str, required=True, doc="base URL of the instance, e.g. https://mastodon.social",
                   check=http_url),
        OptionSpec("token_env", str, required=True, secret_env=True, doc="variable holding the access token"),
        OptionSpec("visibility", str, default="public", doc="who sees the statuses", choices=VISIBILITIES),
        OptionSpec("language", str, default="vi", doc="ISO 639-1 language of the statuses"),
        OptionSpec("timeout", (int, float), default=DEFAULT_TIMEOUT[1], doc="read timeout in seconds"),
        OptionSpec("rate_reserve", int, default=2, doc="start an operation only while more requests than this remain"),
        OptionSpec("media_poll_interval", (int, float), default=1.0, doc="seconds between media processing checks"),
        OptionSpec("media_poll_attempts", int, default=30, doc="media processing checks before giving up for now"),
        OptionSpec("idempotency_window", (int, float), default=3300,
                   doc="seconds after the first POST during which a resend with the same key is safe (Mastodon: 3600)"),
    )

    def __init__(self, name: str, options: Mapping[str, Any], **kw: Any):
        super().__init__(name, options, **kw)
        self.base = str(self.opts["instance_url"] or "").rstrip("/")
        self.session = new_session()
        self.timeout = (DEFAULT_TIMEOUT[0], float(self.opts["timeout"]))
        self._rate: dict[str, tuple[int, datetime]] = {}
        saved = self.state.get(self._key("rate"))
        for bucket, (remaining, reset) in (json.loads(saved) if saved else {}).items():
            self._rate[bucket] = (int(remaining), datetime.fromisoformat(reset))

    @classmethod
    def measure(cls, text: str) -> int:
        """Characters as Mastodon counts them: URLs 23, ``@user@domain`` as ``@user``, grapheme clusters."""
        url, remote_mention = _counted_as_written()
        text = url.sub("x" * 23, text)
        if "@" in text:  # a remote mention has two
            text = remote_mention.sub(lambda m: "@" + m.group(1), text)
        return graphemes(text)

    def close(self) -> None:
        self.session.close()

    # -- state -------------------------------------------------------------------------------
    def _key(self, what: str) -> str:
        return f"{self.name}:mastodon.{what}"

    def _load(self, key: str) -> dict[str, Any]:
        raw = self.state.get(self._key("post." + key))
        return json.loads(raw) if raw else {}

    def _save(self, key: str, rec: dict[str, Any]) -> None:
        self.state.set(self._key("post." + key), json.dumps(rec, sort_keys=True))

    # -- rate limits ----------------------------------------------------------------------------
    def _gate(self, bucket: str, post_id: str | None, needed: int) -> None:
        now = self.clock()
        for b in {bucket, "general"}:
            remaining, reset = self._rate.get(b, (None, None))
            if remaining is not None and reset > now and remaining < needed:
                wait = (reset - now).total_seconds()
                log.info("Holding %s on %s for %.1f s: Mastodon's %s rate limit has %d request(s) left",
                         post_id or "a request", self.name, wait, b, remaining)
                raise TransientPublishError(self.name, post_id,
                                            Detail("mastodon.rate-limit", seconds=f"{wait:.0f}"),
                                            retry_after=wait, code="rate_limit", throttle=True)

    def _note_rate(self, bucket: str, resp: Any) -> None:
        remaining, reset = resp.headers.get("X-RateLimit-Remaining"), resp.headers.get("X-RateLimit-Reset")
        if remaining is None or not reset:
            return
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            left = int(remaining)
        except ValueError:
            return
        if bucket != "general" and "general" in self._rate:
            g_left, g_reset = self._rate["general"]  # every request also counts in the general bucket
            self._rate["general"] = (max(g_left - 1, 0), g_reset)
        self._rate[bucket] = (0 if resp.status_code == 429 else left, when)
        if left <= int(self.opts["rate_reserve"]) or resp.status_code == 429:  # rare: keep it for the next run
            self.state.set(self._key("rate"), json.dumps({b: [r, t.isoformat()] for b, (r, t) in self._rate.items()}))

    # -- one request ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, bucket: str, post_id: str | None, *, needed: int = 1,
                 headers: Mapping[str, str] | None = None, **kw: Any) -> tuple[Any, dict[str, Any]]:
        self._gate(bucket, post_id, needed)
        token = self.secret("token_env")
        with translate(self.name, post_id):
            resp = self.session.request(method, self.base + path, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {token}", **(headers or {})}, **kw)
        self._note_rate(bucket, resp)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        status = resp.status_code
        if status < 300:
            return resp, body
        msg = redact(str(body.get("error") or resp.reason or ""), token)
        if status == 429:
            reset = self._rate.get(bucket, (0, self.clock()))[1]
            raise TransientPublishError(self.name, post_id, Detail("mastodon.throttling"),
                                        retry_after=max((reset - self.clock()).total_seconds(), 1.0),
                                        vendor_message=msg, status=status, throttle=True)
        if status in (401, 403):
            raise PublisherAuthError(self.name, post_id, Detail("mastodon.token-refused", message=msg),  # vi/en when shown
                                     vendor_message=msg, status=status,
                                     hint=Detail("mastodon.token-refused.fix", env=self.opts["token_env"]))
        if status == 422:
            raise PermanentPublishError(self.name, post_id, Detail("mastodon.refused", message=msg), vendor_message=msg,
                                        status=status)
        raise_for(classify_status(status), self.name, post_id, Detail("mastodon.http", status=status, message=msg),
                  vendor_message=msg, status=status)
        raise AssertionError("unreachable")

    # -- media --------------------------------------------------------------------------------------
    def _media(self, r: Rendering, rec: dict[str, Any]) -> tuple[list[str], str | None]:
        """Media ids for the rendering's image (reusing a young upload of the same bytes) and its sha256."""
        if r.image_path is None:
            return [], None
        data = self._read_image(r)
        sha = hashlib.sha256(data).hexdigest()
        at = rec.get("media_at")
        if rec.get("media_sha") == sha and rec.get("media_ids") and at and self._age(at) < float(self.opts["idempotency_window"]):
            # A resend under the same key needs no check: Mastodon answers it before looking at media.
            if rec.get("state") == "sending" or self._wait_media(rec["media_ids"][0], r.post_id):
                return list(rec["media_ids"]), sha
        import mimetypes  # here: only a post with an image needs it, and every command imports this module
        mime = mimetypes.guess_type(r.image_path.name)[0] or "application/octet-stream"
        resp, body = self._request("POST", "/api/v2/media", "media", r.post_id,
                                   files={"file": (r.image_path.name, data, mime)},
                                   data={"description": r.image_alt or ""})
        media_id = str(body.get("id") or "")
        if not media_id:
            raise PermanentPublishError(self.name, r.post_id, Detail("mastodon.no-media-id"))
        rec.update(media_ids=[media_id], media_sha=sha, media_at=self.clock().isoformat())
        if resp.status_code == 202 or not body.get("url"):
            self._wait_media(media_id, r.post_id)
        return [media_id], sha

    def _read_image(self, r: Rendering) -> bytes:
        try:
            return r.image_path.read_bytes()  # type: ignore[union-attr]
        except OSError as exc:
            raise PermanentPublishError(self.name, r.post_id,
                                        Detail("publish.image-unreadable-why", name=str(r.image_path), why=exc.strerror))

    def _wait_media(self, media_id: str, post_id: str | None) -> bool:
        """Poll until the media is processed; ``False`` if Mastodon no longer has it unattached."""
        attempts = max(1, int(self.opts["media_poll_attempts"]))
        for n in range(attempts):
            try:
                resp, _ = self._request("GET", f"/api/v1/media/{media_id}", "general", post_id)
            except PermanentPublishError as exc:
                if exc.status == 404 and not isinstance(exc, PublisherAuthError):
                    return False
                raise
            if resp.status_code == 200:
                return True
            if n + 1 < attempts:
                self.sleep(float(self.opts["media_poll_interval"]))
        raise TransientPublishError(self.name, post_id, Detail("mastodon.processing"),
                                    retry_after=float(self.opts["media_poll_interval"]) * attempts, code="processing",
                                    holds_channel=False)

    def _still_processing(self, exc: PublishError, media_ids: list[str], post_id: str | None) -> None:
        """After a 422 to a status with media: raise a transient error if the media is still
        processing (``206`` from the media endpoint), whatever language the refusal was in."""
        if exc.status != 422 or not media_ids or isinstance(exc, PublisherAuthError):
            return
        try:
            resp, _ = self._request("GET", f"/api/v1/media/{media_ids[0]}", "general", post_id)
        except PublishError:
            return  # the refusal stands as it was
        if resp.status_code == 206:
            raise TransientPublishError(self.name, post_id, Detail("mastodon.processing"),
                                        vendor_message=exc.vendor_message, status=422, code="processing",
                                        retry_after=float(self.opts["media_poll_interval"]),
                                        holds_channel=False) from None

    # -- hooks ------------------------------------------------------------------------------------------
    def _age(self, iso: str) -> float:
        return (self.clock() - datetime.fromisoformat(iso)).total_seconds()

    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        rec = self._load(key)
        if rec.get("id"):  # landed earlier; only our answer to the engine was lost
            return PublishResult(rec["id"], rec.get("url"), _extra(rec))
        window = float(self.opts["idempotency_window"])
        if rec.get("state") == "sending" and self._age(rec["at"]) >= window:
            raise InDoubtPublishError(self.name, rendering.post_id, Detail("mastodon.forgotten-key", at=rec["at"]),
                                      code="in_doubt", hint=Detail("mastodon.forgotten-key.fix"))
        needed = 1 + int(self.opts["rate_reserve"]) + (2 if rendering.image_path else 0)
        self._gate("general", rendering.post_id, needed)
        self._gate("statuses", rendering.post_id, 1)  # the posting limiter: no upload for a status that must wait
        try:
            media_ids, sha = self._media(rendering, rec)
        finally:  # an upload still processing is reused by the retry, not uploaded again
            if rec.get("media_ids"):
                self._save(key, rec)
        if rec.get("state") != "sending":  # a new chain of attempts: the key's hour starts now
            rec["at"] = self.clock().isoformat()
        rec["state"] = "sending"
        self._save(key, rec)  # durable before the POST: lookup may resend only what may have been sent
        payload = {"status": rendering.body, "visibility": self.opts["visibility"], "language": self.opts["language"]}
        if media_ids:
            payload["media_ids"] = media_ids
        try:
            _, body = self._request("POST", "/api/v1/statuses", "statuses", rendering.post_id, json=payload,
                                    headers={"Idempotency-Key": _header_key(key)})
        except PublishError as exc:
            # 422 comes from the service after its key check: nothing exists under this key.
            # 429/401 are answered before that check, 404 means it landed and was deleted: stay in doubt.
            if exc.status == 422:
                rec["state"] = "failed"
                self._save(key, rec)
                self._still_processing(exc, media_ids, rendering.post_id)
            raise
        rec.update(state="done", id=str(body["id"]), url=body.get("url"))
        self._save(key, rec)
        log.info("Published %s to Mastodon channel %s as %s", rendering.post_id, self.name, rec["id"])
        return PublishResult(rec["id"], rec.get("url"), _extra(rec))

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        rec = self._load(key)
        if rec.get("id"):
            return PublishResult(rec["id"], rec.get("url"), _extra(rec))
        if rec.get("state") != "sending":
            return None  # no POST went out under this key, or Mastodon refused it
        return self._send(rendering, key)  # same key within the hour: Mastodon's own lookup

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        rec = {"media_ids": list(previous.extra.get("media_ids") or []), "media_sha": previous.extra.get("media_sha")}
        media_ids: list[str] = []
        sha = None
        if rendering.image_path is not None:
            data_sha = hashlib.sha256(self._read_image(rendering)).hexdigest()
            if data_sha == rec["media_sha"] and rec["media_ids"]:
                media_ids, sha = rec["media_ids"], data_sha  # already attached to this status
            else:
                media_ids, sha = self._media(rendering, {})
        payload: dict[str, Any] = {"status": rendering.body, "language": self.opts["language"], "media_ids": media_ids}
        if media_ids:
            # the alt text travels with the edit: PUT /api/v1/media/:id only reaches media not yet
            # attached, and an unchanged image is not uploaded again
            payload["media_attributes"] = [{"id": m, "description": rendering.image_alt or ""} for m in media_ids]
        try:
            _, body = self._request("PUT", f"/api/v1/statuses/{previous.remote_id}", "general", rendering.post_id,
                                    needed=1 + int(self.opts["rate_reserve"]), json=payload)
        except PublishError as exc:
            self._still_processing(exc, media_ids, rendering.post_id)
            raise
        log.info("Edited %s on Mastodon channel %s (%s)", rendering.post_id, self.name, previous.remote_id)
        return PublishResult(previous.remote_id, body.get("url") or previous.remote_url,
                             {"media_ids": media_ids, "media_sha": sha, "edited_at": body.get("edited_at")})

    def _retract(self, previous: PublishResult, reason: str) -> None:
        try:
            self._request("DELETE", f"/api/v1/statuses/{previous.remote_id}", "deletes", None)
        except PermanentPublishError as exc:
            if exc.status != 404 or isinstance(exc, PublisherAuthError):
                raise
            log.info("Mastodon status %s of channel %s was already gone", previous.remote_id, self.name)
            return
        log.info("Deleted Mastodon status %s from channel %s: %s", previous.remote_id, self.name, reason)

    def _check(self) -> ChannelHealth:
        """``GET /api/v1/apps/verify_credentials``, which any token of the app may call (Mastodon
        4.x; some older versions want ``read``, and answer 403 for a token without it: the token
        is then valid all the same). The account is read only when the app has ``read:accounts``."""
        messages: list[str] = []
        ok = True
        scopes: set[str] | None = None
        app: dict[str, Any] = {}
        try:
            _, app = self._request("GET", "/api/v1/apps/verify_credentials", "general", None)
        except PublisherAuthError as exc:
            if exc.status != 403:
                raise
            messages.append(Detail("mastodon.scopes-unknown"))  # Details: loa channels check/doctor speak vi/en
        if isinstance(app.get("scopes"), list):
            scopes = {str(x) for x in app["scopes"]}
            missing = [s for s in REQUIRED_SCOPES if s not in scopes and "write" not in scopes]
            if missing:
                ok = False
                messages.append(Detail("mastodon.lacks-scopes", missing=", ".join(missing)))
        _, inst = self._request("GET", "/api/v2/instance", "general", None)
        domain = inst.get("domain") or self.base.split("//")[-1]
        acct = None
        if scopes is not None and scopes & {"read", "read:accounts"}:
            _, me = self._request("GET", "/api/v1/accounts/verify_credentials", "general", None)
            acct = me.get("acct")
        identity = f"@{acct}@{domain}" if acct else f"app {app.get('name') or '?'} on {domain}"
        messages.insert(0, Detail("mastodon.account", identity=identity) if acct
                        else Detail("mastodon.token-of", app=str(app.get("name") or "?"), domain=domain))
        conf = (inst.get("configuration") or {}).get("statuses") or {}
        limit = conf.get("max_characters")
        if limit is not None and int(limit) != self.limits["text"]:
            messages.append(Detail("mastodon.max-characters", limit=limit, renders=self.limits["text"]))
        if conf.get("characters_reserved_per_url", 23) != 23:
            messages.append(Detail("mastodon.url-characters", count=conf["characters_reserved_per_url"]))
        return ChannelHealth(self.name, ok, tuple(messages), identity=identity)


def _header_key(key: str) -> str:
    """The engine's key as a header value (ASCII, bounded); hashed when it is not."""
    if key.isascii() and key.isprintable() and len(key) <= 200:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def _extra(rec: dict[str, Any]) -> dict[str, Any]:
    return {"media_ids": list(rec.get("media_ids") or []), "media_sha": rec.get("media_sha")}
