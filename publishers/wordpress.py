"""WordPress e-portal publisher (registry key ``wordpress``), after channels.md §1 and wordpress-local.md.

Options: ``url`` (site address), ``username``, ``password_env`` (variable holding an application
password), ``rest_form`` (``auto`` | ``wp-json`` | ``rest_route``), ``category_map`` (post type ->
category slug, or a category id), ``status`` (default ``publish``), ``trash_force`` (retraction deletes
instead of trashing) and ``timeout`` (seconds).

- One article per post, ever: the slug is the reconciliation key. ``_send`` always looks the slug up
  (live and trashed) before creating, so a create whose answer was lost is found and updated, never
  created twice. WordPress itself would silently turn a second ``slug`` into ``slug-2``. The engine
  may batch those lookups with :meth:`WordPressPublisher.prefetch` (each WordPress request costs a
  full bootstrap, so one lookup per article halves the throughput).
- Credentials are only attached after the REST index has shown that WordPress accepts application
  passwords: otherwise (plain http to a site whose environment is not ``local``) WordPress ignores
  the Basic header *silently* and every write fails with a puzzling 401.
- The post ``date`` is ``publish_at`` in the site's own zone (read from the REST index) with offset.
- Categories come from the post type, tags from the topics (looked up by slug, created when missing,
  an existing term reused through ``term_exists``); ids are cached per publisher instance.
- The featured image is uploaded once per image content: its media slug carries the sha256, its id is
  kept in ``PublishResult.extra["media"]`` and reused on update.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import re
import time
from datetime import timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Iterable, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError, PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url
from publishers.http import classify_status, new_session, parse_retry_after, raise_for, translate

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

REST_FORMS = ("auto", "wp-json", "rest_route")
WP_STATUSES = ("publish", "future", "draft", "pending", "private")  # what POST /wp/v2/posts accepts
POST_FIELDS = "id,slug,status,link,featured_media,categories,tags"
# What publishing needs, and what a person loses without it (shown by ``loa channels check``).
NEEDED_CAPS = (
    ("publish_posts", "publish articles"),
    ("edit_published_posts", "correct published articles"),
    ("delete_published_posts", "retract published articles"),
    ("upload_files", "upload featured images"),
    ("manage_categories", "create a missing category for a new post type"),
)
ROLE_HINT = ("check channels.{name}.username, the application password in ${env} (WordPress: Users -> Profile -> "
             "Application Passwords) and the user's role: Editor can do everything Loa needs; Author cannot create "
             "categories; Contributor cannot publish")
SILENT_401 = ("WordPress answers 'not logged in' also when it ignored the credentials without saying so: when the "
              "application password is wrong, when none was ever created on the site, or over plain http to a site "
              "whose environment is not 'local'")
# 5xx codes that a retry cannot cure.
PERMANENT_5XX = {"rest_upload_unknown_error", "rest_upload_sideload_error", "rest_trash_not_supported"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PREFETCH_TTL = 120.0  # seconds a batch lookup vouches for an absent slug
SITE_TTL = 900.0  # seconds the discovered REST form and site zone are trusted without asking again
SAFE_SLUG = re.compile(r"[a-z0-9_-]+")  # slugs WordPress keeps as sent, so a batch answer can be matched


def _text(html: Any) -> str:
    """WordPress messages sometimes carry HTML (``<strong>Error:</strong> ...``)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(html or ""))).strip()


class WordPressPublisher(Publisher):
    """Publishes articles to a WordPress e-portal through REST API v2 (registry key ``wordpress``)."""

    type = "wordpress"
    family = "portal"
    limits = {"article": None}
    social = False
    can_lookup = True
    lookup_note = "finds the article by its slug, also in the trash"
    options = (
        OptionSpec("url", str, required=True, doc="address of the WordPress site, e.g. \"https://congtt.example.gov.vn\"",
                   check=http_url),
        OptionSpec("username", str, required=True, doc="WordPress login (or e-mail) of the publishing user"),
        OptionSpec("password_env", str, required=True, secret_env=True,
                   doc="environment variable holding that user's application password"),
        OptionSpec("rest_form", str, default="auto", choices=REST_FORMS,
                   doc="REST address form (auto: try /wp-json/, then ?rest_route=/)"),
        OptionSpec("category_map", dict, doc="post type -> category slug (or id); default: the type id as slug, "
                                             "its label as name"),
        OptionSpec("status", str, default="publish", choices=WP_STATUSES,
                   doc="WordPress status of new articles"),
        OptionSpec("trash_force", bool, default=False, doc="retraction deletes for good instead of moving to the trash"),
        OptionSpec("timeout", (int, float), default=30, doc="seconds to wait for each answer"),
    )

    def __init__(self, name: str, options: Mapping[str, Any], **kw):
        super().__init__(name, options, **kw)
        self.base = str(self.opts.get("url") or "").rstrip("/")
        self.username = str(self.opts.get("username") or "")
        self.rest_form = self.opts.get("rest_form") or "auto"
        self.status = self.opts.get("status") or "publish"
        self.trash_force = bool(self.opts.get("trash_force", False))
        self.category_map = dict(self.opts.get("category_map") or {})
        errors = []
        if self.rest_form not in REST_FORMS:
            errors.append((f"channels.{name}.rest_form", Detail("config.expected-one-of", choices=", ".join(REST_FORMS),
                                                               value=repr(self.rest_form), hint_en="", hint_vi="")))
        if (bad_url := http_url(self.base)) is not None:  # a config built without load_config's checks
            errors.append((f"channels.{name}.url", bad_url))
        for ptype, target in self.category_map.items():
            if not isinstance(target, (str, int)) or isinstance(target, bool):
                errors.append((f"channels.{name}.category_map.{ptype}", Detail("config.bad-category", value=repr(target))))
        if errors:
            raise ConfigError(errors)
        read = float(self.opts.get("timeout") or 30)
        self.timeout = (min(5.0, read), read)
        self.session = new_session()  # one per publisher: connection reuse; no credentials until vetted
        self._form: str | None = None
        self._zone: tzinfo | None = None
        self._terms: dict[tuple[str, str], int] = {}
        self._terms_loaded = False
        self._media: dict[str, int] = {}
        self._absent: dict[str, float] = {}  # slug -> monotonic time a prefetch found it absent

    # -- transport ----------------------------------------------------------------------------
    def _url(self, route: str, params: Mapping[str, Any] | None, form: str) -> tuple[str, dict]:
        if form == "wp-json":
            return f"{self.base}/wp-json{route}", dict(params or {})
        # ?rest_route= must come first; further arguments follow with '&' (dicts keep order)
        return f"{self.base}/", {"rest_route": route, **(params or {})}

    def _call(self, method: str, route: str, what: str, post_id: str | None = None, *,
              params: Mapping[str, Any] | None = None, ok: tuple[int, ...] = (), **kw) -> requests.Response:
        """One REST call; a non-2xx answer becomes the right publish error (``ok`` lists accepted ones)."""
        form = self._ensure_site(post_id)
        url, query = self._url(route, params, form)
        started = time.monotonic()
        with translate(self.name, post_id):
            resp = self.session.request(method, url, params=query, timeout=self.timeout, **kw)
        log.debug("%s: %s %s -> %s in %.0f ms", self.name, method, route, resp.status_code,
                  (time.monotonic() - started) * 1000)
        if resp.status_code < 300 or resp.status_code in ok:
            return resp
        self._raise(resp, what, post_id)
        raise AssertionError("unreachable")  # _raise always raises

    def _json(self, resp: requests.Response, what: str, post_id: str | None) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise PermanentPublishError(
                self.name, post_id, f"WordPress answered HTTP {resp.status_code} to {what} with something that is "
                "not JSON", vendor_message=_text(resp.text)[:200], status=resp.status_code,
                hint="check channels.{}.url and rest_form: is a page or a proxy answering in WordPress's place?"
                .format(self.name)) from None

    def _raise(self, resp: requests.Response, what: str, post_id: str | None) -> None:
        status = resp.status_code
        if status in (401, 403, 404) and self._form is not None:
            # the site may have changed (address form, application passwords turned off): the next
            # attempt discovers it again and says precisely what is wrong
            self._remember("site", {})
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            # Not WordPress speaking: a proxy, a WAF or the web server in front of it.
            snippet = _text(resp.text)[:200]
            if status in (502, 503, 504):
                raise TransientPublishError(
                    self.name, post_id, f"the proxy in front of WordPress answered {status} {resp.reason} "
                    f"instead of WordPress when trying to {what}", vendor_message=snippet, status=status,
                    retry_after=retry_after,
                    hint="Loa retries by itself and looks the article up by its slug first, so nothing is "
                         "published twice; if it lasts, check that WordPress (PHP) runs behind the proxy")
            raise_for(classify_status(status), self.name, post_id,
                      f"WordPress's server answered HTTP {status} {resp.reason} without a WordPress error "
                      f"when trying to {what}", vendor_message=snippet, status=status, retry_after=retry_after)
        code = str(body.get("code"))
        message = _text(body.get("message")) or code
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        params = data.get("params")
        if isinstance(params, dict) and params:
            message += " (" + "; ".join(f"{k}: {_text(v)}" for k, v in params.items()) + ")"
        for sub in (data.get("details") or {}).values():
            # A permission failure inside a parameter (status=any when not logged in) comes as a 400
            # rest_invalid_param whose detail carries the real 401/403.
            if isinstance(sub, dict) and (sub.get("data") or {}).get("status") in (401, 403):
                status, code, message = sub["data"]["status"], str(sub.get("code")), _text(sub.get("message"))
        if status in (401, 403):
            hint = ROLE_HINT.format(name=self.name, env=self.opts.get("password_env") or "password_env")
            if status == 401:
                hint = SILENT_401 + ". " + hint[0].upper() + hint[1:]
            raise PublisherAuthError(self.name, post_id, f"WordPress refused to let {self.username!r} {what}: "
                                     f"{message} [{code}]" + (" (it treated Loa as not logged in)" if status == 401
                                                              else ""),
                                     vendor_message=message, code=code, status=status,
                                     hint=hint)
        if (status == 429 or status >= 500) and code not in PERMANENT_5XX:
            raise TransientPublishError(self.name, post_id, f"WordPress failed to {what}: {message} [{code}]",
                                        vendor_message=message, code=code, status=status, retry_after=retry_after,
                                        hint="Loa retries by itself; if it lasts, look at the site's PHP error log")
        if code == "rest_no_route":
            raise PermanentPublishError(self.name, post_id, f"WordPress has no REST route to {what}: {message}",
                                        vendor_message=message, code=code, status=status,
                                        hint=f"check channels.{self.name}.url and rest_form")
        raise PermanentPublishError(self.name, post_id, f"WordPress refused to {what}: {message} [{code}]",
                                    vendor_message=message, code=code, status=status)

    # -- discovery: which URL form, are application passwords honoured, which zone ----------
    def _ensure_site(self, post_id: str | None = None, *, fresh: bool = False) -> str:
        if self._form is not None:
            return self._form
        known = {} if fresh else self._remembered("site")
        if known and time.time() - float(known.get("at", 0)) < SITE_TTL and known.get("form") in REST_FORMS \
                and known.get("base") == self.base:
            try:
                zone = ZoneInfo(known["zone"]) if known.get("zone") else timezone(timedelta(hours=float(known["offset"])))
            except (ZoneInfoNotFoundError, ValueError, KeyError, TypeError):
                zone = None
            if zone is not None:  # what the last discovery found, less than SITE_TTL ago
                self.session.auth = (self.username, self.secret("password_env"))
                self._zone, self._form = zone, known["form"]
                return self._form
        forms = ("wp-json", "rest_route") if self.rest_form == "auto" else (self.rest_form,)
        index, tried = None, []
        for form in forms:
            url, query = self._url("/", {"_fields": "name,home,namespaces,authentication,timezone_string,gmt_offset"}, form)
            with translate(self.name, post_id):
                resp = self.session.get(url, params=query, timeout=self.timeout)
            tried.append(f"{url}{'?rest_route=/' if form == 'rest_route' else ''} -> HTTP {resp.status_code}")
            if resp.status_code in (502, 503, 504) or (resp.status_code >= 500 and not resp.headers.get(
                    "Content-Type", "").startswith("application/json")):
                self._raise(resp, "answer the REST index", post_id)
            try:
                data = resp.json()
            except ValueError:
                continue
            if resp.ok and isinstance(data, dict) and "wp/v2" in (data.get("namespaces") or ()):
                index, found = data, form
                break
            if isinstance(data, dict) and data.get("message"):  # e.g. a plugin that locks the REST API
                tried[-1] += f" ({_text(data['message'])})"
        if index is None:
            raise PermanentPublishError(
                self.name, post_id, f"no WordPress REST API found at {self.base} (tried {'; '.join(tried)})",
                hint=f"check channels.{self.name}.url; with rest_form = \"auto\" Loa tries /wp-json/ then "
                     "/?rest_route=/")
        scheme = urlsplit(self.base).scheme
        if "application-passwords" not in (index.get("authentication") or {}):
            why = ("over plain http WordPress 6.1 accepts them only when its environment type is 'local'"
                   if scheme == "http" else "a plugin or the wp_is_application_passwords_available filter turned them off")
            raise PublisherAuthError(
                self.name, post_id, f"WordPress at {self.base} does not accept application passwords ({why}); "
                "it would ignore Loa's credentials silently and every write would fail with 401 'not logged in'",
                hint=f"use the https:// address of the portal in channels.{self.name}.url (or, for a local copy, "
                     "define WP_ENVIRONMENT_TYPE as 'local' in its wp-config.php)")
        if scheme == "http" and urlsplit(self.base).hostname not in LOOPBACK:
            log.warning("%s: %s is plain http: the application password travels unencrypted", self.name, self.base)
        self.session.auth = (self.username, self.secret("password_env"))
        self._zone = self._site_zone(index)
        self._form = found
        zone_name = getattr(self._zone, "key", None)
        offset = None if zone_name else self._zone.utcoffset(None).total_seconds() / 3600
        self._remember("site", {"form": found, "base": self.base, "zone": zone_name, "offset": offset, "at": time.time()})
        return found

    # -- what is remembered between runs (the ledger's state store) ----------------------------
    # The REST form and zone (for SITE_TTL seconds) and the term ids: every pass of the daemon
    # would otherwise ask for them again, four requests for a pass that publishes one article.
    # A remembered term id is checked against every answer: WordPress drops an unknown id
    # silently, so an article that comes back without the terms it was sent is corrected at once
    # (_check_terms), and the ids are looked up afresh.
    def _remembered(self, what: str) -> dict:
        try:
            raw = self.state.get(f"{self.name}:wordpress.{what}")
            data = json.loads(raw) if raw else {}
        except (ValueError, TypeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _remember(self, what: str, data: dict) -> None:
        self.state.set(f"{self.name}:wordpress.{what}", json.dumps(data, sort_keys=True))

    def _load_terms(self) -> None:
        if self._terms_loaded:
            return
        self._terms_loaded = True
        for key, term_id in self._remembered("terms").items():
            taxonomy, _, slug = key.partition("/")
            if taxonomy in ("categories", "tags") and slug and isinstance(term_id, int):
                self._terms.setdefault((taxonomy, slug), term_id)

    def _save_terms(self) -> None:
        self._remember("terms", {f"{t}/{slug}": term_id for (t, slug), term_id in sorted(self._terms.items())})

    def _forget_terms(self) -> None:
        self._terms.clear()
        self._remember("terms", {})

    @staticmethod
    def _site_zone(index: Mapping[str, Any]) -> tzinfo:
        try:
            if index.get("timezone_string"):
                return ZoneInfo(index["timezone_string"])
        except (ZoneInfoNotFoundError, ValueError):
            pass
        return timezone(timedelta(hours=float(index.get("gmt_offset") or 0)))

    # -- hooks ----------------------------------------------------------------------------------
    def prefetch(self, renderings: Iterable[Rendering]) -> None:
        """Look many slugs up at once before a batch of :meth:`publish` calls (one request per 50).

        Optional speed-up for the engine: a slug this finds absent is vouched for once, by the next
        ``publish`` of it within ``PREFETCH_TTL`` seconds; any later call (a retry after a lost answer)
        asks WordPress again. Without it every ``publish`` makes its own lookup request.
        """
        slugs = [s for s in dict.fromkeys(self._slug(r) for r in renderings) if SAFE_SLUG.fullmatch(s)]
        for i in range(0, len(slugs), 50):
            chunk = slugs[i:i + 50]
            started = time.monotonic()
            resp = self._call("GET", "/wp/v2/posts", "look articles up by their slugs", params={
                "slug": ",".join(f"{s},{s}__trashed" for s in chunk), "status": "any,trash",
                "_fields": "slug", "per_page": 100})
            items = self._json(resp, "look articles up", None)
            if not isinstance(items, list) or len(items) >= 100:
                continue  # possibly truncated: let each publish look for itself
            present = {str(p.get("slug", "")).removesuffix("__trashed") for p in items}
            self._absent.update((s, started) for s in chunk if s not in present)

    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        checked = self._absent.pop(self._slug(rendering), None)  # a prefetch vouches once only
        if checked is not None and time.monotonic() - checked < PREFETCH_TTL:
            found = None
        else:
            found = self._lookup(rendering, key)
        if found is not None:
            # A previous create landed but its answer was lost (or the article was retracted): make
            # that one article current instead of creating a second one.
            log.warning("%s: %s is already on WordPress as post %s (%s); updating it instead of creating it again",
                        self.name, rendering.post_id, found.remote_id, found.extra.get("status"))
            return self._update(rendering, found)
        payload, media = self._payload(rendering, {})
        resp = self._call("POST", "/wp/v2/posts", "create the article", rendering.post_id,
                          params={"_fields": POST_FIELDS}, json=payload)
        result = self._result(resp, "create the article", rendering, media)
        self._check_terms(rendering, payload, resp, result)
        log.info("%s: created post %s for %s: %s", self.name, result.remote_id, rendering.post_id, result.remote_url)
        return result

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        payload, media = self._payload(rendering, previous.extra)
        resp = self._call("POST", f"/wp/v2/posts/{int(previous.remote_id)}", "update the article",
                          rendering.post_id, params={"_fields": POST_FIELDS}, json=payload)
        result = self._result(resp, "update the article", rendering, media)
        self._check_terms(rendering, payload, resp, result)
        return result

    def _check_terms(self, rendering: Rendering, payload: dict, resp: requests.Response, result: PublishResult) -> None:
        """WordPress drops a category or tag id it does not know without a word: if the article came
        back without the terms it was sent (a remembered id whose term was deleted on the site),
        forget the remembered ids, look them up again and put them on the article."""
        try:
            post = resp.json()
        except ValueError:
            return
        sent = {t: sorted(payload.get(t) or []) for t in ("categories", "tags")}
        got = {t: sorted(post.get(t) or []) for t in ("categories", "tags") if isinstance(post.get(t), list)}
        if all(got.get(t, sent[t]) == sent[t] or not sent[t] for t in sent):
            return
        log.warning("%s: WordPress did not keep the terms sent with %s (%s, got %s); looking them up again",
                    self.name, rendering.post_id, sent, got)
        self._forget_terms()
        fixed, _media = self._payload(rendering, dict(result.extra))
        terms = {t: fixed[t] for t in ("categories", "tags") if t in fixed}
        resp = self._call("POST", f"/wp/v2/posts/{int(result.remote_id)}", "set the article's category and tags",
                          rendering.post_id, params={"_fields": POST_FIELDS}, json=terms)
        self._json(resp, "set the article's category and tags", rendering.post_id)

    def _retract(self, previous: PublishResult, reason: str) -> None:
        params = {"force": "true"} if self.trash_force else {}
        resp = self._call("DELETE", f"/wp/v2/posts/{int(previous.remote_id)}", "retract the article",
                          params=dict(params, _fields="id,status"), ok=(404, 410))
        if resp.status_code in (404, 410):
            # 410 rest_already_trashed / 404 deleted by a person: the article is not public either way.
            log.info("%s: post %s was already gone (%s): %s", self.name, previous.remote_id,
                     resp.status_code, _text(resp.text)[:120])
        else:
            log.info("%s: post %s %s (%s)", self.name, previous.remote_id,
                     "deleted" if self.trash_force else "moved to the trash", reason)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        slug = self._slug(rendering)
        # One request for both: a live article keeps its slug, a trashed one becomes <slug>__trashed.
        resp = self._call("GET", "/wp/v2/posts", "look the article up by its slug", rendering.post_id,
                          params={"slug": f"{slug},{slug}__trashed", "status": "any,trash", "context": "edit",
                                  "_fields": POST_FIELDS, "per_page": 10})
        items = self._json(resp, "look the article up", rendering.post_id)
        if not isinstance(items, list) or not items:
            return None
        live = [p for p in items if p.get("status") != "trash"]
        post = (live or items)[0]
        if len(live) > 1:
            log.warning("%s: %d posts carry the slug %r; using post %s", self.name, len(live), slug, post["id"])
        return PublishResult(str(post["id"]), post.get("link"), {
            "slug": post.get("slug"), "status": post.get("status"), "trashed": post.get("status") == "trash",
            "featured_media": post.get("featured_media") or 0})

    def _check(self) -> ChannelHealth:
        self._ensure_site(fresh=True)  # `loa channels check` asks the site itself, never the memory
        resp = self._call("GET", "/wp/v2/users/me", "read its own profile",
                          params={"context": "edit", "_fields": "id,username,name,roles,capabilities"})
        me = self._json(resp, "read its own profile", None)
        caps = me.get("capabilities") or {}
        roles = ", ".join(me.get("roles") or ()) or "no role"
        identity = f"{me.get('name')} ({me.get('username')}, {roles})"
        messages = [f"signed in to {self.base} as {identity} with an application password "
                    f"(REST form {self._form})"]
        missing = [(cap, why) for cap, why in NEEDED_CAPS if not caps.get(cap)]
        for cap, why in missing:
            messages.append(f"{me.get('username')} ({roles}) cannot {why}: capability {cap} is missing; "
                            "give the user the Editor role")
        self._terms.clear()  # the configured category ids are checked on the site, not in the memory
        self._terms_loaded = True
        for ptype, target in self.category_map.items():
            if isinstance(target, int):
                try:
                    self._category_id(ptype, "")
                except PermanentPublishError as exc:
                    missing.append((ptype, exc.reason))
                    messages.append(exc.reason)
        return ChannelHealth(self.name, not missing, tuple(messages), None, identity)

    def close(self) -> None:
        self.session.close()

    # -- building an article ------------------------------------------------------------------
    def _slug(self, rendering: Rendering) -> str:
        slug = rendering.extra.get("slug")
        if not slug:
            raise PermanentPublishError(self.name, rendering.post_id, "the rendering has no slug; WordPress "
                                        "articles are found again by their slug, so Loa does not publish without one")
        return str(slug)

    def _payload(self, rendering: Rendering, previous: Mapping[str, Any]) -> tuple[dict, dict]:
        ex = rendering.extra
        payload: dict[str, Any] = {
            "title": rendering.title, "content": rendering.body, "excerpt": ex.get("summary") or "",
            "status": self.status, "slug": self._slug(rendering),
        }
        if ex.get("publish_at") is not None:
            self._ensure_site(rendering.post_id)
            payload["date"] = ex["publish_at"].astimezone(self._zone).isoformat(timespec="seconds")
        if ex.get("type"):
            payload["categories"] = [self._category_id(str(ex["type"]), str(ex.get("type_label") or ex["type"]),
                                                       rendering.post_id)]
        labels = ex.get("topic_labels") or {}
        payload["tags"] = [self._term_id("tags", str(t), str(labels.get(t) or t), rendering.post_id)
                           for t in ex.get("topics") or ()]
        media_id, media = self._featured(rendering, previous)
        if media_id or previous:
            payload["featured_media"] = media_id  # on update, 0 removes an image the post no longer has
        return payload, media

    def _result(self, resp: requests.Response, what: str, rendering: Rendering, media: dict) -> PublishResult:
        post = self._json(resp, what, rendering.post_id)
        slug = self._slug(rendering)
        if post.get("slug") != slug and post.get("status") not in ("draft", "pending"):
            log.warning("%s: WordPress changed the slug %r of %s to %r (another item already uses it); "
                        "Loa cannot find this article again by its slug", self.name, slug, rendering.post_id,
                        post.get("slug"))
        return PublishResult(str(post["id"]), post.get("link"), dict(media, slug=post.get("slug"),
                                                                      status=post.get("status")))

    def _category_id(self, ptype: str, label: str, post_id: str | None = None) -> int:
        target = self.category_map.get(ptype, ptype)
        if isinstance(target, int):
            self._load_terms()
            cached = self._terms.get(("categories", f"#{target}"))
            if cached is None:
                # WordPress silently drops an unknown category id from a post: check it exists first.
                resp = self._call("GET", f"/wp/v2/categories/{target}",
                                  f"use category {target} (channels.{self.name}.category_map.{ptype})", post_id,
                                  params={"_fields": "id"})
                cached = self._terms[("categories", f"#{target}")] = int(self._json(resp, "find a category", post_id)["id"])
                self._save_terms()
            return cached
        return self._term_id("categories", str(target), label if target == ptype else str(target), post_id)

    def _term_id(self, taxonomy: str, slug: str, name: str, post_id: str | None) -> int:
        key = (taxonomy, slug)
        self._load_terms()
        if key in self._terms:
            return self._terms[key]
        term_id = self._find_or_create_term(taxonomy, slug, name, post_id)
        self._terms[key] = term_id
        self._save_terms()
        return term_id

    def _find_or_create_term(self, taxonomy: str, slug: str, name: str, post_id: str | None) -> int:
        key = (taxonomy, slug)
        noun = "category" if taxonomy == "categories" else "tag"
        resp = self._call("GET", f"/wp/v2/{taxonomy}", f"look up the {noun} {slug!r}", post_id,
                          params={"slug": slug, "_fields": "id,slug"})
        items = self._json(resp, f"look up a {noun}", post_id)
        if items:
            self._terms[key] = int(items[0]["id"])
            return self._terms[key]
        resp = self._call("POST", f"/wp/v2/{taxonomy}", f"create the {noun} {name!r}", post_id,
                          params={"_fields": "id"}, json={"name": name, "slug": slug}, ok=(400,))
        body = self._json(resp, f"create a {noun}", post_id)
        if resp.status_code == 400:
            data = body.get("data") or {}
            if body.get("code") != "term_exists" or not data.get("term_id"):
                self._raise(resp, f"create the {noun} {name!r}", post_id)
            # The name exists under another slug: reuse that term rather than fail.
            self._terms[key] = int(data["term_id"])
        else:
            self._terms[key] = int(body["id"])
        return self._terms[key]

    def _featured(self, rendering: Rendering, previous: Mapping[str, Any]) -> tuple[int, dict]:
        """Media id of the featured image (0 for none) and what to remember about it."""
        path = rendering.image_path
        if path is None:
            return 0, {}
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PermanentPublishError(self.name, rendering.post_id, f"cannot read the image {path}: "
                                        f"{exc.strerror}") from None
        sha = hashlib.sha256(data).hexdigest()
        alt = rendering.image_alt or ""
        caption = str(rendering.extra.get("image_caption") or "")
        known = dict(previous.get("media") or {})
        media_id = known.get(sha) or self._media.get(sha)
        media_slug = f"loa-img-{sha[:20]}"
        if media_id is None:
            resp = self._call("GET", "/wp/v2/media", "look the image up", rendering.post_id,
                              params={"slug": media_slug, "_fields": "id"})
            found = self._json(resp, "look the image up", rendering.post_id)
            media_id = int(found[0]["id"]) if found else None
            if media_id is None:
                media_id = self._upload(rendering, path, data, media_slug, alt, caption)
            else:
                self._set_alt(rendering, media_id, alt, caption)
        elif previous.get("image_alt") != alt or (previous.get("image_caption") or "") != caption:
            self._set_alt(rendering, media_id, alt, caption)
        self._media[sha] = media_id
        return media_id, {"media": {sha: media_id}, "image_alt": alt, "image_caption": caption}

    def _upload(self, rendering: Rendering, path, data: bytes, media_slug: str, alt: str, caption: str) -> int:
        ctype = mimetypes.guess_type(path.name)[0]
        if not ctype or not ctype.startswith("image/"):
            raise PermanentPublishError(self.name, rendering.post_id, f"{path.name} is not an image WordPress accepts",
                                        hint="use a .jpg, .png or .webp file")
        # Raw-body upload; the media slug carries the content hash so a lost answer is found again.
        filename = media_slug + (path.suffix.lower() or ".jpg")
        resp = self._call("POST", "/wp/v2/media", f"upload the image {path.name}", rendering.post_id,
                          params={"slug": media_slug, "title": rendering.title, "alt_text": alt, "caption": caption,
                                  "_fields": "id,source_url"},
                          data=data, headers={"Content-Type": ctype,
                                              "Content-Disposition": f'attachment; filename="{filename}"'})
        body = self._json(resp, "upload the image", rendering.post_id)
        log.info("%s: uploaded %s as media %s", self.name, path.name, body.get("id"))
        return int(body["id"])

    def _set_alt(self, rendering: Rendering, media_id: int, alt: str, caption: str) -> None:
        self._call("POST", f"/wp/v2/media/{media_id}", "set the image's alt text", rendering.post_id,
                   params={"_fields": "id"}, json={"alt_text": alt, "caption": caption})
