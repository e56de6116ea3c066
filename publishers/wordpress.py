"""WordPress e-portal publisher (registry key ``wordpress``), after channels.md §1 and wordpress-local.md.

Options: ``url`` (site address), ``username``, ``password_env`` (variable holding an application
password), ``rest_form`` (``auto`` | ``wp-json`` | ``rest_route``), ``category_map`` (post type ->
category slug, or a category id), ``status`` (default ``publish``), ``trash_force`` (retraction deletes
instead of trashing) and ``timeout`` (seconds).

This module builds articles; :mod:`publishers.wordpress_rest` talks to the site (transport, error
mapping, discovery of the address form, application passwords and zone, term ids).

- One article per post, ever: the slug is the reconciliation key. ``_send`` always looks the slug up
  (live and trashed) before creating, so a create whose answer was lost is found and updated, never
  created twice. WordPress itself would silently turn a second ``slug`` into ``slug-2``.
- Loa adopts only what it wrote: every article carries the post meta ``_loa_post_id`` (the Markdown
  post's id), registered for REST by the must-use plugin ``scripts/wordpress/loa-post-marker.php``.
  An article found under the slug without the post's own id (a staff member's article, a private
  or trashed post, another Loa post) is never changed: the post fails with a permanent error naming
  that article. Without the plugin WordPress drops the field silently, so Loa refuses to publish.
- The content is the article's body only: the theme shows the title, date and featured image, so
  the template's ``<header>`` (meta line, ``<h1>``, summary -> excerpt), cover figure and topic
  footer (-> tags) are left out. Images of the body are uploaded once (by content hash) and their
  ``src`` rewritten to the media URL. The engine
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
import html
import logging
import mimetypes
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
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
POST_FIELDS = "id,slug,status,link,featured_media,categories,tags,meta"
MARKER = "_loa_post_id"  # post meta registered for REST by scripts/wordpress/loa-post-marker.php
MARKER_PLUGIN = "scripts/wordpress/loa-post-marker.php"
MARKER_TTL = 900.0  # seconds the site's registration of the marker is trusted without asking again
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
    lookup_note = "finds the article by its slug, also in the trash, and only if Loa's mark says it is this post's"
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
        self._ensure_marker(rendering.post_id)
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
        """This post's own article under its slug (live before trashed); ``None`` when there is none.

        Raises :class:`PermanentPublishError` when the slug is taken by an article Loa did not write
        for this post: Loa never changes it, and creating beside it would give ``slug-2``."""
        slug = self._slug(rendering)
        # One request for both: a live article keeps its slug, a trashed one becomes <slug>__trashed.
        resp = self.rest.call("GET", "/wp/v2/posts", "look the article up by its slug", rendering.post_id,
                              params={"slug": f"{slug},{slug}__trashed", "status": "any,trash", "context": "edit",
                                      "_fields": POST_FIELDS, "per_page": 10})
        items = self.rest.json(resp, "look the article up", rendering.post_id)
        if not isinstance(items, list) or not items:
            return None
        if not all(isinstance(p.get("meta"), dict) and MARKER in p["meta"] for p in items):
            self._forget_marker()
            raise self._no_marker(rendering.post_id, f"post {items[0].get('id')} carries the slug {slug!r}")
        mine = [p for p in items if p["meta"][MARKER] == rendering.post_id]
        # a trashed article of someone else keeps <slug>__trashed and does not stand in the way
        blocking = [p for p in items if p not in mine and p.get("slug") == slug]
        live = [p for p in mine if p.get("status") != "trash"]
        if blocking and not live:
            raise self._taken(rendering, slug, blocking[0])
        if not mine:
            return None
        post = (live or mine)[0]
        if len(live) > 1:
            log.warning("%s: %d posts carry the slug %r; using post %s", self.name, len(live), slug, post["id"])
        return PublishResult(str(post["id"]), post.get("link"), {
            "slug": post.get("slug"), "status": post.get("status"), "trashed": post.get("status") == "trash",
            "featured_media": post.get("featured_media") or 0})

    def _taken(self, rendering: Rendering, slug: str, post: Mapping[str, Any]) -> PermanentPublishError:
        owner = str((post.get("meta") or {}).get(MARKER) or "")
        whose = Detail("wordpress.whose.other", owner=owner) if owner else Detail("wordpress.whose.none")
        return PermanentPublishError(  # catalogue Details (messages_vendor.py): shown in vi or en
            self.name, rendering.post_id,
            Detail("wordpress.slug-taken", slug=repr(slug), id=post.get("id"), state=post.get("status"),
                   link=post.get("link"), whose=whose, post=rendering.post_id),
            code="slug-taken", hint=Detail("wordpress.slug-taken.fix"))

    def _no_marker(self, post_id: str | None, seen: str) -> PermanentPublishError:
        return PermanentPublishError(
            self.name, post_id, Detail("wordpress.no-marker", base=self.rest.base, marker=MARKER, seen=seen),
            code="no-marker", hint=Detail("wordpress.no-marker.fix", plugin=MARKER_PLUGIN))

    def _ensure_marker(self, post_id: str | None) -> None:
        """Refuse to publish on a site that would drop Loa's mark silently (asked once per ``MARKER_TTL``)."""
        known = self.rest._remembered("marker")
        now = self.clock().timestamp()
        if known.get("base") == self.rest.base and now - float(known.get("at", 0)) < MARKER_TTL:
            return
        # OPTIONS (here through ?_method=, which every proxy passes) answers the route's schema
        resp = self.rest.call("GET", "/wp/v2/posts", "describe its articles", post_id,
                              params={"_method": "OPTIONS", "_fields": "schema.properties.meta"})
        schema = self.rest.json(resp, "describe its articles", post_id)
        meta = (((schema or {}).get("schema") or {}).get("properties") or {}).get("meta") or {}
        if MARKER not in (meta.get("properties") or {}):
            raise self._no_marker(post_id, f"the schema of /wp/v2/posts has no meta field {MARKER}")
        self.rest._remember("marker", {"base": self.rest.base, "at": now})

    def _forget_marker(self) -> None:
        self.rest._remember("marker", {})

    def _check(self) -> ChannelHealth:
        self.rest.ensure_site(fresh=True)  # `loa channels check` asks the site itself, never the memory
        resp = self.rest.call("GET", "/wp/v2/users/me", "read its own profile",
                              params={"context": "edit", "_fields": "id,username,name,roles,capabilities"})
        me = self.rest.json(resp, "read its own profile", None)
        caps = me.get("capabilities") or {}
        roles = ", ".join(me.get("roles") or ()) or "no role"
        identity = f"{me.get('name')} ({me.get('username')}, {roles})"
        messages = [Detail("wordpress.signed-in", base=self.rest.base, identity=identity, form=self.rest.form)]
        missing = [(cap, why) for cap, why in NEEDED_CAPS if not caps.get(cap)]
        for cap, why in missing:
            messages.append(Detail("wordpress.lacks-capability", user=str(me.get("username")), roles=roles,
                                   why=Detail(f"wordpress.cap.{cap}"), cap=cap))  # Details: loa speaks vi/en
        self._forget_marker()
        try:
            self._ensure_marker(None)
        except PermanentPublishError as exc:
            missing.append(("marker", exc.reason))
            messages.extend((exc.reason, exc.hint or ""))
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
            raise PermanentPublishError(self.name, rendering.post_id, Detail("wordpress.no-slug"))
        return str(slug)

    def _payload(self, rendering: Rendering, previous: Mapping[str, Any]) -> tuple[dict, dict]:
        """The article as WordPress takes it, and what to remember about its featured image."""
        ex = rendering.extra
        content, body_media = self._content(rendering, previous)
        payload: dict[str, Any] = {
            "title": rendering.title, "content": content, "excerpt": ex.get("summary") or "",
            "status": self.opts["status"], "slug": self._slug(rendering),
            "meta": {MARKER: rendering.post_id},  # Loa's mark: the only articles it will ever adopt
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
        if body_media:
            media = dict(media, body_media=body_media)
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
            return self.rest.category(target, Detail("wordpress.do.use-category", target=target, channel=self.name,
                                                     type=ptype), post_id)
        return self.rest.term_id("categories", str(target), label if target == ptype else str(target), post_id)

    # -- the article's content -----------------------------------------------------------------
    def _content(self, rendering: Rendering, previous: Mapping[str, Any]) -> tuple[str, dict]:
        """The article's body as WordPress's ``content`` (see the module's docstring), its images'
        ``src`` rewritten to their media URLs; and ``{sha256: media id}`` of those images."""
        body = article_body(rendering.body)
        found: dict[str, int] = {}
        folder: Path | None = None

        def rewrite(m: re.Match) -> str:
            nonlocal folder
            src = html.unescape(m.group(2))
            if not _relative_src(src):
                return m.group(0)
            if folder is None:
                folder = self._post_folder(rendering)
            path = self._body_image_path(rendering, folder, src)
            sha, media_id, url = self._body_image(rendering, path, previous)
            found[sha] = media_id
            return m.group(1) + html.escape(url, quote=True) + m.group(3)

        return IMG_SRC.sub(rewrite, body), found

    def _post_folder(self, rendering: Rendering) -> Path:
        """The folder of the post's Markdown file: body images are relative to it."""
        ex = rendering.extra
        for key in ("source_dir", "path"):
            if ex.get(key):
                where = Path(str(ex[key]))
                return where if key == "source_dir" else where.parent
        cover = COVER_SRC.search(rendering.body)
        if rendering.image_path is not None and cover:
            rel = Path(html.unescape(cover.group(1)))
            if ".." not in rel.parts and not rel.is_absolute():
                return Path(rendering.image_path).parents[len(rel.parts) - 1]
        content_dir = getattr(self.site, "content_dir", None)
        if content_dir is not None:
            needle = re.compile(rf'^id:\s*["\']?{re.escape(rendering.post_id)}["\']?\s*$', re.M)
            for f in sorted(Path(content_dir).rglob("*.md")):
                try:
                    with open(f, encoding="utf-8", errors="replace") as fh:
                        head = fh.read(4096)
                except OSError:
                    continue
                if needle.search(head):
                    return f.parent
        raise PermanentPublishError(self.name, rendering.post_id, Detail("wordpress.no-folder"))

    def _body_image_path(self, rendering: Rendering, folder: Path, src: str) -> Path:
        path = Path(os.path.realpath(folder / src.split("?", 1)[0].split("#", 1)[0]))
        root = getattr(self.site, "content_dir", None)
        root = Path(os.path.realpath(root)) if root is not None else Path(os.path.realpath(folder))
        ctype = mimetypes.guess_type(path.name)[0] or ""
        if root not in path.parents:
            raise PermanentPublishError(self.name, rendering.post_id, Detail("wordpress.image-outside", src=repr(src)))
        if not ctype.startswith("image/") or ctype == "image/svg+xml":
            raise PermanentPublishError(self.name, rendering.post_id, Detail("wordpress.image-type", src=repr(src)),
                                        hint=Detail("wordpress.image-type.fix"))
        return path

    def _body_image(self, rendering: Rendering, path: Path, previous: Mapping[str, Any]) -> tuple[str, int, str]:
        """(sha256, media id, URL) of one body image, uploaded only when the site does not have it yet."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PermanentPublishError(self.name, rendering.post_id,
                                        Detail("wordpress.body-image-unreadable", name=path.name, why=exc.strerror)) from None
        sha = hashlib.sha256(data).hexdigest()
        known = self.rest._remembered("media")
        got = known.get(sha)
        if isinstance(got, list) and len(got) == 2 and isinstance(got[0], int) and isinstance(got[1], str):
            return sha, got[0], got[1]
        media_slug = f"loa-img-{sha[:20]}"
        resp = self.rest.call("GET", "/wp/v2/media", "look the image up", rendering.post_id,
                              params={"slug": media_slug, "_fields": "id,source_url"})
        items = self.rest.json(resp, "look the image up", rendering.post_id)
        if items:
            media_id, url = int(items[0]["id"]), str(items[0].get("source_url") or "")
        else:
            media_id, url = self._upload(rendering, path, data, media_slug, "", "", with_url=True)
        if not url:
            raise PermanentPublishError(self.name, rendering.post_id,
                                        Detail("wordpress.image-no-address", name=path.name, id=media_id))
        known[sha] = [media_id, url]
        self.rest._remember("media", known)
        return sha, media_id, url

    # -- the featured image ---------------------------------------------------------------------
    def _featured(self, rendering: Rendering, previous: Mapping[str, Any]) -> tuple[int, dict]:
        """Media id of the featured image (0 for none) and what to remember about it."""
        path = rendering.image_path
        if path is None:
            return 0, {}
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PermanentPublishError(self.name, rendering.post_id,
                                        Detail("publish.image-unreadable-why", name=str(path), why=exc.strerror)) from None
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

    def _upload(self, rendering: Rendering, path, data: bytes, media_slug: str, alt: str, caption: str, *,
                with_url: bool = False):
        ctype = mimetypes.guess_type(path.name)[0]
        if not ctype or not ctype.startswith("image/"):
            raise PermanentPublishError(self.name, rendering.post_id, Detail("wordpress.not-image", name=path.name),
                                        hint=Detail("wordpress.image-type.fix"))
        # Raw-body upload; the media slug carries the content hash so a lost answer is found again.
        filename = media_slug + (path.suffix.lower() or ".jpg")
        resp = self.rest.call("POST", "/wp/v2/media", Detail("wordpress.do.upload-the-image", name=path.name), rendering.post_id,
                              params={"slug": media_slug, "title": rendering.title, "alt_text": alt, "caption": caption,
                                      "_fields": "id,source_url"},
                              data=data, headers={"Content-Type": ctype,
                                                  "Content-Disposition": f'attachment; filename="{filename}"'})
        body = self.rest.json(resp, "upload the image", rendering.post_id)
        log.info("%s: uploaded %s as media %s", self.name, path.name, body.get("id"))
        return (int(body["id"]), str(body.get("source_url") or "")) if with_url else int(body["id"])

    def _set_alt(self, rendering: Rendering, media_id: int, alt: str, caption: str) -> None:
        self.rest.call("POST", f"/wp/v2/media/{media_id}", "set the image's alt text", rendering.post_id,
                       params={"_fields": "id"}, json={"alt_text": alt, "caption": caption})


# Loa's portal template (templates/portal/article.html): the body proper sits in div.loa-body; a
# correction sits in aside.correction; the rest (header, cover figure, topic footer) is the theme's.
LOA_BODY = re.compile(r'<div class="loa-body">')
CORRECTION = re.compile(r'<aside class="correction"[^>]*>.*?</aside>', re.S)
IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")', re.I)
COVER_SRC = re.compile(r'<figure class="loa-figure">\s*<img src="([^"]*)"')


def _relative_src(src: str) -> bool:
    """An address relative to the post's file (``images/x.png``), not a URL, a root path or data."""
    return bool(src) and not re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", src, re.I)


def article_body(rendered: str) -> str:
    """What WordPress's ``content`` gets from Loa's rendered article: the correction notice and the
    body proper. A template without ``div.loa-body`` (a site's own) is sent whole, less a leading
    ``<h1>`` that would repeat the theme's title."""
    start = LOA_BODY.search(rendered)
    if start is None:
        return re.sub(r"^\s*<h1\b[^>]*>.*?</h1>\s*", "", rendered, count=1, flags=re.S | re.I)
    stop = len(rendered)
    for tail in ("<footer", "</article>"):
        at = rendered.rfind(tail, start.end())
        if at != -1:
            stop = min(stop, at)
    end = rendered.rfind("</div>", start.end(), stop)
    inner = rendered[start.end():end if end != -1 else stop].strip("\n")
    correction = CORRECTION.search(rendered, 0, start.start())
    parts = [correction.group(0)] if correction else []
    return "\n".join([*parts, inner]).strip() + "\n"
