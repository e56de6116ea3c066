"""WordPress e-portal publisher (registry key ``wordpress``), after channels.md §1 and wordpress-local.md.

Options: ``url`` (site address), ``username``, ``password_env`` (variable holding an application
password), ``rest_form`` (``auto`` | ``wp-json`` | ``rest_route``), ``category_map`` (post type ->
category slug, or a category id), ``status`` (default ``publish``), ``trash_force`` (retraction deletes
instead of trashing) and ``timeout`` (seconds).

This module builds articles; :mod:`publishers.wordpress_rest` talks to the site (transport, error
mapping, discovery of the address form, application passwords and zone, term ids).

- One article per post, ever: the slug is the reconciliation key. ``_send`` always looks the slug up
  (live and trashed) before creating, so a create whose answer was lost is found and updated, never
  created twice. WordPress itself would silently turn a second ``slug`` into ``slug-2``. The engine
  may batch those lookups with :meth:`WordPressPublisher.prefetch` (each WordPress request costs a
  full bootstrap, so one lookup per article halves the throughput).
- The post ``date`` is ``publish_at`` in the site's own zone (read from the REST index) with offset.
- Categories come from the post type, tags from the topics (looked up by slug, created when missing);
  their ids are remembered between runs, and an article that comes back without the terms it was
  sent (a remembered id whose term was deleted on the site) has them looked up again and set.
- The featured image is uploaded once per image content: its media slug carries the sha256, its id is
  kept in ``PublishResult.extra["media"]`` and reused on update.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from pipeline.errors import ConfigError, PermanentPublishError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url
from publishers.wordpress_rest import REST_FORMS, WordPressREST, text_of

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

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
PREFETCH_TTL = 120.0  # seconds a batch lookup vouches for an absent slug
SAFE_SLUG = re.compile(r"[a-z0-9_-]+")  # slugs WordPress keeps as sent, so a batch answer can be matched


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

    def __init__(self, name: str, options: Mapping[str, Any], **kw: Any):
        # a config built without load_config's checks: every bad value is reported at once
        bad_targets = [(f"channels.{name}.category_map.{ptype}", Detail("config.bad-category", value=repr(target)))
                       for ptype, target in dict(options.get("category_map") or {}).items()
                       if not isinstance(target, (str, int)) or isinstance(target, bool)]
        try:
            super().__init__(name, options, **kw)
        except ConfigError as exc:
            raise ConfigError([*exc.errors, *bad_targets]) from None
        if bad_targets:
            raise ConfigError(bad_targets)
        self.rest = WordPressREST(
            name, base=str(self.opts["url"]), username=str(self.opts["username"]),
            password=lambda: self.secret("password_env"), password_env=self.opts["password_env"],
            rest_form=self.opts["rest_form"], timeout=float(self.opts["timeout"]), state=self.state, clock=self.clock)
        self._media: dict[str, int] = {}  # image sha256 -> media id, for this run
        self._absent: dict[str, datetime] = {}  # slug -> when a prefetch found it absent

    def close(self) -> None:
        self.rest.close()

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
            started = self.clock()
            resp = self.rest.call("GET", "/wp/v2/posts", "look articles up by their slugs", params={
                "slug": ",".join(f"{s},{s}__trashed" for s in chunk), "status": "any,trash",
                "_fields": "slug", "per_page": 100})
            items = self.rest.json(resp, "look articles up", None)
            if not isinstance(items, list) or len(items) >= 100:
                continue  # possibly truncated: let each publish look for itself
            present = {str(p.get("slug", "")).removesuffix("__trashed") for p in items}
            self._absent.update((s, started) for s in chunk if s not in present)

    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        checked = self._absent.pop(self._slug(rendering), None)  # a prefetch vouches once only
        if checked is not None and self.clock() - checked < timedelta(seconds=PREFETCH_TTL):
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
        resp = self.rest.call("POST", "/wp/v2/posts", "create the article", rendering.post_id,
                              params={"_fields": POST_FIELDS}, json=payload)
        result = self._result(resp, "create the article", rendering, media)
        self._check_terms(rendering, payload, resp, result)
        log.info("%s: created post %s for %s: %s", self.name, result.remote_id, rendering.post_id, result.remote_url)
        return result

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        payload, media = self._payload(rendering, previous.extra)
        resp = self.rest.call("POST", f"/wp/v2/posts/{int(previous.remote_id)}", "update the article",
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
        self.rest.forget_terms()
        fixed, _media = self._payload(rendering, dict(result.extra))
        terms = {t: fixed[t] for t in ("categories", "tags") if t in fixed}
        resp = self.rest.call("POST", f"/wp/v2/posts/{int(result.remote_id)}", "set the article's category and tags",
                              rendering.post_id, params={"_fields": POST_FIELDS}, json=terms)
        self.rest.json(resp, "set the article's category and tags", rendering.post_id)

    def _retract(self, previous: PublishResult, reason: str) -> None:
        force = self.opts["trash_force"]
        params = {"force": "true"} if force else {}
        resp = self.rest.call("DELETE", f"/wp/v2/posts/{int(previous.remote_id)}", "retract the article",
                              params=dict(params, _fields="id,status"), ok=(404, 410))
        if resp.status_code in (404, 410):
            # 410 rest_already_trashed / 404 deleted by a person: the article is not public either way.
            log.info("%s: post %s was already gone (%s): %s", self.name, previous.remote_id,
                     resp.status_code, text_of(resp.text)[:120])
        else:
            log.info("%s: post %s %s (%s)", self.name, previous.remote_id,
                     "deleted" if force else "moved to the trash", reason)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        slug = self._slug(rendering)
        # One request for both: a live article keeps its slug, a trashed one becomes <slug>__trashed.
        resp = self.rest.call("GET", "/wp/v2/posts", "look the article up by its slug", rendering.post_id,
                              params={"slug": f"{slug},{slug}__trashed", "status": "any,trash", "context": "edit",
                                      "_fields": POST_FIELDS, "per_page": 10})
        items = self.rest.json(resp, "look the article up", rendering.post_id)
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
        self.rest.ensure_site(fresh=True)  # `loa channels check` asks the site itself, never the memory
        resp = self.rest.call("GET", "/wp/v2/users/me", "read its own profile",
                              params={"context": "edit", "_fields": "id,username,name,roles,capabilities"})
        me = self.rest.json(resp, "read its own profile", None)
        caps = me.get("capabilities") or {}
        roles = ", ".join(me.get("roles") or ()) or "no role"
        identity = f"{me.get('name')} ({me.get('username')}, {roles})"
        messages = [f"signed in to {self.rest.base} as {identity} with an application password "
                    f"(REST form {self.rest.form})"]
        missing = [(cap, why) for cap, why in NEEDED_CAPS if not caps.get(cap)]
        for cap, why in missing:
            messages.append(f"{me.get('username')} ({roles}) cannot {why}: capability {cap} is missing; "
                            "give the user the Editor role")
        self.rest.recheck_terms()  # the configured category ids are checked on the site, not in the memory
        for ptype, target in (self.opts["category_map"] or {}).items():
            if isinstance(target, int):
                try:
                    self._category_id(ptype, "")
                except PermanentPublishError as exc:
                    missing.append((ptype, exc.reason))
                    messages.append(exc.reason)
        return ChannelHealth(self.name, not missing, tuple(messages), None, identity)

    # -- building an article ------------------------------------------------------------------
    def _slug(self, rendering: Rendering) -> str:
        slug = rendering.extra.get("slug")
        if not slug:
            raise PermanentPublishError(self.name, rendering.post_id, "the rendering has no slug; WordPress "
                                        "articles are found again by their slug, so Loa does not publish without one")
        return str(slug)

    def _payload(self, rendering: Rendering, previous: Mapping[str, Any]) -> tuple[dict, dict]:
        """The article as WordPress takes it, and what to remember about its featured image."""
        ex = rendering.extra
        payload: dict[str, Any] = {
            "title": rendering.title, "content": rendering.body, "excerpt": ex.get("summary") or "",
            "status": self.opts["status"], "slug": self._slug(rendering),
        }
        if ex.get("publish_at") is not None:
            self.rest.ensure_site(rendering.post_id)
            payload["date"] = ex["publish_at"].astimezone(self.rest.zone).isoformat(timespec="seconds")
        if ex.get("type"):
            payload["categories"] = [self._category_id(str(ex["type"]), str(ex.get("type_label") or ex["type"]),
                                                       rendering.post_id)]
        labels = ex.get("topic_labels") or {}
        payload["tags"] = [self.rest.term_id("tags", str(t), str(labels.get(t) or t), rendering.post_id)
                           for t in ex.get("topics") or ()]
        media_id, media = self._featured(rendering, previous)
        if media_id or previous:
            payload["featured_media"] = media_id  # on update, 0 removes an image the post no longer has
        return payload, media

    def _result(self, resp: requests.Response, what: str, rendering: Rendering, media: dict) -> PublishResult:
        post = self.rest.json(resp, what, rendering.post_id)
        slug = self._slug(rendering)
        if post.get("slug") != slug and post.get("status") not in ("draft", "pending"):
            log.warning("%s: WordPress changed the slug %r of %s to %r (another item already uses it); "
                        "Loa cannot find this article again by its slug", self.name, slug, rendering.post_id,
                        post.get("slug"))
        return PublishResult(str(post["id"]), post.get("link"), dict(media, slug=post.get("slug"),
                                                                      status=post.get("status")))

    def _category_id(self, ptype: str, label: str, post_id: str | None = None) -> int:
        """The category of post type ``ptype``: ``category_map``'s slug or id, else the type id as slug
        (created with ``label`` as its name when missing)."""
        target = (self.opts["category_map"] or {}).get(ptype, ptype)
        if isinstance(target, int):
            return self.rest.category(target, f"use category {target} (channels.{self.name}.category_map.{ptype})",
                                      post_id)
        return self.rest.term_id("categories", str(target), label if target == ptype else str(target), post_id)

    # -- the featured image ---------------------------------------------------------------------
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
            resp = self.rest.call("GET", "/wp/v2/media", "look the image up", rendering.post_id,
                                  params={"slug": media_slug, "_fields": "id"})
            found = self.rest.json(resp, "look the image up", rendering.post_id)
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
        resp = self.rest.call("POST", "/wp/v2/media", f"upload the image {path.name}", rendering.post_id,
                              params={"slug": media_slug, "title": rendering.title, "alt_text": alt, "caption": caption,
                                      "_fields": "id,source_url"},
                              data=data, headers={"Content-Type": ctype,
                                                  "Content-Disposition": f'attachment; filename="{filename}"'})
        body = self.rest.json(resp, "upload the image", rendering.post_id)
        log.info("%s: uploaded %s as media %s", self.name, path.name, body.get("id"))
        return int(body["id"])

    def _set_alt(self, rendering: Rendering, media_id: int, alt: str, caption: str) -> None:
        self.rest.call("POST", f"/wp/v2/media/{media_id}", "set the image's alt text", rendering.post_id,
                       params={"_fields": "id"}, json={"alt_text": alt, "caption": caption})
