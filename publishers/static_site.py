"""The embedded default channel: the e-portal as a static site (registry key ``static_site``).

Writes one page per article at ``<type>/<slug>.html`` in a branded, accessible layout
(:mod:`publishers.portal_pages`, templates ``templates/portal/site/``), lists by type, unit, topic
and month with pagination, hubs for each, a search page that works with no server, a home page
and an Atom feed: files nginx serves as they are. What was published is recorded in the site's
manifest and journal (:mod:`publishers.site_store`), so the publisher can look items up
(``can_lookup``): a send whose result was lost is found there, never written twice.

Each item writes its own page and one journal line; the lists, hubs, feed and search shards are
written once per publish pass, in :meth:`StaticSitePublisher.close`, and only the pages whose
content changed (see docs/configuration.md, "The static portal"). Addresses are stable: an
article whose slug or type changes leaves a redirect page at its old address, and no other article
may take an address that is, or was, an article's.

Writes are atomic (a fresh temporary file + rename). An article's files are not fsynced one by
one: the engine sends a group of ``batch`` articles, then :meth:`StaticSitePublisher.flush` makes
the group's pages durable at once (:func:`_make_durable`), then writes and fsyncs their journal
lines, and only then does the engine record their successes (group commit). A retraction removes the page, its redirects,
its image (unless another article shows the same file) and its list entries. Every file name comes
from a plain name (:func:`pipeline.paths.plain_name`) and every path is checked to stay in
``out_dir`` (:func:`pipeline.paths.inside`) before anything is written or removed: a bad name fails
the item, a link leading out of the site holds the channel. A manifest or journal that cannot be
read also holds the channel: treated as empty, the next pass would rewrite every list with one article.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from pipeline.errors import PermanentPublishError, TransientPublishError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from pipeline.paths import RealPaths, inside, plain_name
from publishers import portal_pages as pages
from publishers.base import ChannelHealth, OptionSpec, Publisher
from publishers.site_store import JOURNAL, MANIFEST, RESERVED, SiteStore, StoreProblem, place_of

__all__ = ["MANIFEST", "JOURNAL", "RESERVED", "StaticSitePublisher", "strip_controls"]

log = logging.getLogger(__name__)
#: The stores of the sites this process wrote, kept between passes: the engine makes a new
#: publisher for every pass, and reading a 20,000-article manifest again costs 0.3 s at every
#: daemon tick. (site folder, time zone) -> store. A publisher takes its site's store out when it
#: first uses it and puts it back in close(), so two publishers living at once never share one; load()
#: still reads the files again when another process changed them (their stat signature).
_KEPT: dict[tuple[str, str], SiteStore] = {}
_KEPT_LOCK = threading.Lock()
#: Where this site writes an article: the default of ``[site] article_url``, which social posts link to.
ARTICLE_URL = "{base_url}/{type}/{slug}.html"
PAGE_KEYS = ".loa-site-pages.json"
# C0 and C1 controls but tab and newline, DEL, lone surrogates and the two non-characters XML
# refuses: one of them in a title makes feed.xml unreadable for every subscriber.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[a-z]{2,}", re.I)
_PHONE = re.compile(r"\+?[0-9][0-9 .()-]{5,24}")
_EMBLEM = re.compile(r"(?:https://\S+|[^\s:]+)\.(?:png|jpe?g|webp|gif)", re.I)
#: The legal footer of a government e-portal (Decree 42/2022/NĐ-CP and Decree 72/2013/NĐ-CP, art. 20):
#: option -> what the footer calls it.
LEGAL = {"owner": "cơ quan chủ quản", "responsible": "người chịu trách nhiệm chính", "licence": "giấy phép",
         "address": "địa chỉ", "phone": "điện thoại", "email": "thư điện tử"}


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and newline kept)."""
    return _CONTROLS.sub("", text)


def _check_email(value):
    return None if _EMAIL.fullmatch(value) else Detail("config.bad-email", value=repr(value))


def _check_phone(value):
    return None if _PHONE.fullmatch(value) else Detail("config.bad-phone", value=repr(value))


def _check_emblem(value):
    ok = _EMBLEM.fullmatch(value) and ".." not in value.split("/") and not value.startswith("/")
    return None if ok else Detail("config.bad-emblem", value=repr(value))


_check_email.describes = "an e-mail address"
_check_phone.describes = "a telephone number"
_check_emblem.describes = "an image path relative to config.toml, or an https:// address"


class StaticSitePublisher(Publisher):
    """Static e-portal. Key ``static_site``; options ``out_dir``, the emblem and the legal footer."""

    type = "static_site"
    family = "portal"
    limits = {"article": None}
    options = (
        OptionSpec("out_dir", str, default="site", doc="Folder of the static site, relative to config.toml."),
        OptionSpec("emblem", str, default="", check=_check_emblem,
                   doc="Emblem shown in the header beside the organisation's name: an image relative to config.toml (copied into the site) or an https:// address"),
        OptionSpec("parent", str, default="", doc="Line above the name in the header (e.g. `ỦY BAN NHÂN DÂN TỈNH BÀ RỊA - VŨNG TÀU`)."),
        OptionSpec("owner", str, default="", doc="Footer: cơ quan chủ quản (owning agency), required on a government portal."),
        OptionSpec("responsible", str, default="", doc="Footer: người chịu trách nhiệm chính (name and position of the person responsible)."),
        OptionSpec("licence", str, default="", doc="Footer: giấy phép (licence number, issuer and date), when the portal holds one."),
        OptionSpec("address", str, default="", doc="Footer: địa chỉ (postal address of the owning agency)."),
        OptionSpec("phone", str, default="", check=_check_phone, doc="Footer: điện thoại"),
        OptionSpec("email", str, default="", check=_check_email, doc="Footer: thư điện tử"),
        OptionSpec("notice", str, default="", doc="Footer: one more line (e.g. `Ghi rõ nguồn khi phát hành lại thông tin từ cổng này.`)."),
    )
    can_lookup = True
    social = False
    keeps_addresses = True  # an old address stays another post's (address_conflicts, loa check)
    lookup_note = "looks the article up in the site's manifest (.loa-site.json and .loa-site.journal)"
    # Group commit: up to this many articles are written before flush() makes them durable with
    # one sync of the file system and one fsync of the journal, instead of two fsyncs (page, journal
    # line) and a ledger commit each. Measured (bench/site.py, 2,000 posts): 64 already takes the
    # per-item durable cost off the send loop; a larger group gains little and holds more
    # items claimed-but-unrecorded (sent again after a crash: harmless here, same address).
    batch = 64

    def __init__(self, name, options, **kw):
        super().__init__(name, options, **kw)
        self.root = Path(getattr(self.site, "root", None) or ".")
        self.out = (self.root / self.opts["out_dir"]).resolve()
        self._real = RealPaths()  # the site folder's real path, for this pass (inside())
        self.base_url = getattr(self.site, "base_url", "") or ""
        self.site_name = getattr(self.site, "site_name", "") or "Loa"
        self.tz = getattr(self.site, "tz", timezone.utc)
        self._kept_as, self._store, self._claims = (str(self.out), repr(self.tz)), None, None
        self._layout = None
        self._before: dict[str, str] = {}  # the page keys as the pass found them (close)
        self._inside: set[str] = set()  # list pages found inside the site during this pass
        self._unsynced: tuple[set[Path], set[Path]] = (set(), set())  # files, folders written since the last flush

    @property
    def store(self) -> SiteStore:
        """The site's store: the one this process kept (``_KEPT``), taken out until close()."""
        if self._store is None:
            with _KEPT_LOCK:
                kept = _KEPT.pop(self._kept_as, None)
            self._store = kept.rebind(self._file, _atomic_write) if kept is not None else \
                SiteStore(self._file, _atomic_write, lists_of=lambda a, tz=self.tz: pages.list_paths(a, tz))
        return self._store

    @property
    def layout(self) -> pages.Layout:
        if self._layout is None:
            info = {k: strip_controls(str(self.opts.get(k) or "")) for k in ("parent", *LEGAL, "notice")}
            emblem = self.opts.get("emblem") or ""
            if emblem and not emblem.startswith("https://") and not (self.root / emblem).is_file():
                log.warning("%s: the emblem %s is not there; the header shows the name alone", self.name, self.root / emblem)
                emblem = ""
            info["emblem"] = emblem if emblem.startswith("https://") else (
                "emblem" + Path(emblem).suffix.lower() if emblem else "")
            self._layout = pages.Layout(self.root, self.site_name, info, self.tz)
        return self._layout

    # -- paths ---------------------------------------------------------------------------
    def _file(self, rel: str, post_id: str | None = None) -> Path:
        """``out_dir/rel``, refused when it leads out of the site (a link in the site's folders)."""
        try:
            return inside(self.out, rel, real=self._real)
        except ValueError:
            raise self._held(post_id, Detail("site.outside", rel=rel, out=str(self.out)),
                             Detail("site.outside.fix", path=str(self.out / rel), channel=self.name)) from None

    def _held(self, post_id: str | None, reason: str, hint: str) -> PermanentPublishError:
        exc = PermanentPublishError(self.name, post_id, reason, hint=hint)
        exc.holds_channel = True  # the site itself is wrong, not this item: no other item may go on
        return exc

    def _name(self, r: Rendering, field: str, value) -> str:
        """A front-matter value that becomes a file name, refused unless it is a plain name."""
        if not plain_name(value):
            raise PermanentPublishError(
                self.name, r.post_id, Detail("site.bad-name", field=field, value=repr(value)),
                hint=Detail("site.bad-name.fix", field=field))
        return value

    # -- manifest ------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        import fcntl  # POSIX, imported here: config loading imports this module on authors' Windows PCs too

        self.out.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW and no truncation: a lock file that is a link must not empty what it points to
        fd = os.open(self._file(".loa-site.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._load()
        except BaseException:  # a change may have stopped halfway in memory: the files say what was done
            if self._store is not None:
                self._store.forget()
            raise
        finally:
            os.close(fd)

    def _load(self, locked: bool = True) -> SiteStore:
        """The store, read again if another process changed it; a manifest or journal that cannot be
        read or holds a path out of the site raises an error that holds the channel."""
        try:
            return self.store.load(locked)
        except StoreProblem as exc:
            problem = exc.args[0]  # a catalogue Detail, or the operating system's words
        raise self._held(None, Detail("site.manifest-unusable", path=str(self._file(MANIFEST)), problem=problem),
                         Detail("site.manifest-unusable.fix", manifest=MANIFEST, journal=JOURNAL, channel=self.name))

    def set_aside_manifest(self, stamp: str) -> Path | None:
        """Rename the manifest and its journal to ``<name>.<stamp>`` (kept for a person to look at),
        so that the site can be written again from the ledger (``loa site rebuild``); the
        manifest's new name, or ``None`` when there was none."""
        self._file(PAGE_KEYS).unlink(missing_ok=True)  # every list is written again
        return self.store.set_aside(stamp)

    # -- hooks ---------------------------------------------------------------------------
    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        with self._locked() as store:
            return self._write(store, rendering)

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        with self._locked() as store:
            return self._write(store, rendering)

    def _retract(self, previous: PublishResult, reason: str) -> None:
        with self._locked() as store:
            art = store.articles.get(previous.remote_id)
            if not art:
                return
            pid = previous.remote_id
            files = [self._file(art["path"], pid)] + [self._file(p, pid) for p, o in store.redirects.items() if o == pid]
            image = self._unused_image(store, pid, art, None)
            store.append({"del": pid, "old": art}, durable=False)
            for f in files + ([image] if image else []):
                f.unlink(missing_ok=True)
                self._unsynced[1].add(f.parent)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        art = self._load(locked=False).articles.get(rendering.post_id)
        if art and art.get("version") != rendering.source_hash:
            return None  # another version's (the post was edited since it was written): written again
        page = self._file(art["path"], rendering.post_id) if art else None
        if page is None or not _whole(page):
            return None  # absent, or cut by a power failure before its group's flush: written again
        # found, the engine records it at once: the page and its journal line on disk first (a process
        # killed before its group's flush, or a flush that failed, may have left them unflushed)
        self._unsynced[0].update((page, self._file(JOURNAL)))
        self.flush()
        return PublishResult(rendering.post_id, self._url(art["path"]), {"path": art["path"], "version": art.get("version")})

    def flush(self) -> None:
        """Make the pages (redirects, images, removals) written since the last flush durable,
        then write and fsync their journal lines: a line never names a page a power cut lost."""
        try:
            self._sync_pages()
            if self._store is not None and self._store.unwritten:
                with self._locked() as store:
                    store.write_journal()
        except OSError as exc:
            # maybe_sent: the next attempt looks the article up first (its page may be whole)
            raise TransientPublishError(self.name, None, Detail("site.cannot-write", path=str(self.out),
                                                                reason=exc.strerror or str(exc)),
                                        maybe_sent=True) from None

    def _sync_pages(self) -> None:
        files, folders = self._unsynced
        if files or folders:
            _make_durable(self.out, files, folders)
            files.clear()
            folders.clear()

    def _check(self) -> ChannelHealth:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".loa-write-test-", dir=self.out)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            return ChannelHealth(self.name, False, (Detail("site.cannot-write", path=str(self.out), reason=exc.strerror or ""),))
        try:
            self._load(locked=False)
        except PermanentPublishError as exc:
            return ChannelHealth(self.name, False, (exc.reason, exc.hint))
        lines = [Detail("site.writes-to", path=str(self.out))]  # catalogue Details: loa doctor/channels check localize them
        emblem = self.opts.get("emblem") or ""
        if emblem and not emblem.startswith("https://") and not (self.root / emblem).is_file():
            lines.append(Detail("site.no-emblem", path=str(self.root / emblem)))
        pattern = getattr(self.site, "article_url", None)
        if pattern and pattern != ARTICLE_URL:  # the one address rule: the social posts must link to these pages
            return ChannelHealth(self.name, False, (
                f"[site] article_url is {pattern!r}, but this site writes each article at {ARTICLE_URL!r}: "
                "the links in social posts would lead nowhere", "remove article_url from [site] in config.toml"))
        missing = [label for key, label in LEGAL.items() if key != "licence" and not self.opts.get(key)]
        if missing:
            lines.append(Detail("site.footer-lacks", missing=", ".join(missing), channel=self.name))
        return ChannelHealth(self.name, True, tuple(lines))

    # -- writing an article ---------------------------------------------------------------
    def _path(self, r: Rendering) -> str:
        kind = self._name(r, "type", r.extra.get("type") or "bai-viet")
        if kind in RESERVED:
            raise PermanentPublishError(self.name, r.post_id,
                                        Detail("site.reserved-type", kind=repr(kind), reserved=", ".join(sorted(RESERVED))),
                                        hint=Detail("site.reserved-type.fix"))
        return page_path(kind, self._name(r, 'slug', r.extra.get('slug') or r.post_id))

    def address_conflicts(self, posts) -> list[tuple]:
        """``(post, path, owner)`` for each post sent here whose page would be at an address that
        was another post's before it moved (the refusal of ``_claimed``), read from the manifest
        and the journal without a lock and without writing: ``loa check`` says it before the pass."""
        if self._claims is None:  # its own: a session keeps this publisher, never closed, for its checks (_KEPT)
            self._claims = SiteStore(self._file, None)
        claimed = self._claims.old_addresses()
        if not claimed:
            return []
        out = []
        for post in posts:
            path = page_path(post.type or "bai-viet", post.slug or post.id)
            owner = claimed.get(path)
            if owner is not None and owner != post.id and self.name in post.channels:
                out.append((post, path, owner))
        return out

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path}" if self.base_url else path

    def _entry(self, r: Rendering, path: str, image: str | None) -> dict:
        """The article's manifest entry; its unit and topics become file names, so they are checked."""
        unit = r.extra.get("unit")
        if unit is not None:
            self._name(r, "unit", unit)
        topics = dict(r.extra.get("topic_labels") or {})
        for tid in topics:
            self._name(r, "topic", tid)
        pub = r.extra.get("publish_at")
        return {
            "path": path, "title": strip_controls(r.title), "type": path.split("/", 1)[0],
            "type_label": strip_controls(r.extra.get("type_label") or ""), "unit": unit,
            "unit_name": strip_controls(r.extra.get("unit_name") or ""),
            "topics": {tid: strip_controls(str(label)) for tid, label in topics.items()},
            "summary": strip_controls(r.extra.get("summary") or ""),
            "publish_at": pub.isoformat() if isinstance(pub, datetime) else pub,
            "image": image, "version": r.source_hash, "updated": self.clock().isoformat(),
        }

    def _claimed(self, store: SiteStore, path: str, pid: str) -> None:
        """Two posts never share an address, nor does a post take one that was another's."""
        other = store.by_path.get(path)
        if other is not None and other != pid:
            raise PermanentPublishError(self.name, pid, Detail("site.page-taken", path=path, other=other, post=pid),
                                        hint=Detail("site.page-taken.fix"))
        owner = store.redirects.get(path)
        if owner is not None and owner != pid:
            raise PermanentPublishError(self.name, pid, Detail("site.address-was", path=path, owner=owner, post=pid),
                                        hint=Detail("site.address-was.fix", post=pid))

    def _write(self, store: SiteStore, r: Rendering) -> PublishResult:
        # every name and path is checked before the first file is touched
        path = self._path(r)
        self._claimed(store, path, r.post_id)
        page = self._file(path, r.post_id)
        old = store.articles.get(r.post_id)
        moved = old["path"] if old and old["path"] != path else None
        stale = self._file(moved, r.post_id) if moved else None
        body, media, image = r.body, None, None
        if r.image_path is not None:
            name, suffix = str(r.extra.get("image_hash") or ""), r.image_path.suffix.lower()
            if not (plain_name(name) and re.fullmatch(r"\.[a-z0-9]{1,8}", suffix)):
                raise PermanentPublishError(self.name, r.post_id, Detail("site.image-name", name=repr(r.image_path.name)))
            image = f"media/{name}{suffix}"
            media = self._file(image, r.post_id)
            body = _replace_img_src(body, os.path.relpath(media, page.parent))
        entry = self._entry(r, path, image)
        for gpath in pages.list_paths(entry, self.tz):  # a list the pass will write must be inside the site too
            if gpath not in self._inside:  # checked again when close() writes it
                self._file(gpath, r.post_id)
                self._inside.add(gpath)
        unused = self._unused_image(store, r.post_id, old, image)
        html = self.layout.article(path, entry, body, store.related(r.post_id, entry["topics"]))
        words = pages.search_words(entry["title"], entry["summary"], r.body)

        if media is not None and not _same_size(media, r.image_path):
            # named by its hash: one there is this image, unless a power cut kept its name without its
            # data (renamed unsynced, like the page, in a group whose flush did not run): copied again
            _atomic_copy(r.image_path, media, self._unsynced)
        _atomic_write(page, html, self._unsynced)
        if stale is not None:  # the old address keeps working: links to it were shared
            _atomic_write(stale, self.layout.redirect(moved, path, entry["title"]), self._unsynced)
        store.append({"put": r.post_id, "entry": entry, "old": old, "redirect": moved, "words": words}, durable=False)
        if unused is not None:  # a replaced image goes, as a retracted one does
            unused.unlink(missing_ok=True)
            self._unsynced[1].add(unused.parent)
        return PublishResult(r.post_id, self._url(path), {"path": path})

    def _unused_image(self, store: SiteStore, pid: str, old: dict | None, keep: str | None) -> Path | None:
        """The file of ``old``'s image when no article but ``pid`` shows it and ``pid`` no longer
        does (``keep``): a retracted article's image must not stay online (privacy retractions)."""
        image = (old or {}).get("image")
        if not image or image == keep:
            return None
        if any(a.get("image") == image for other, a in store.articles.items() if other != pid):
            return None
        return self._file(image, pid)

    # -- the lists, once per pass ------------------------------------------------------------
    def close(self) -> None:
        """Write what the pass changed in the lists, hubs, feed and search (see the module's
        docstring). A site that cannot be written is logged, not raised (the engine closes every
        publisher, held or not): its changes stay pending in the journal for the next pass."""
        try:
            if not self.out.exists():
                return
            try:
                self.flush()  # a caller that sent without flushing (loa site rebuild flushes itself)
                self._write_indexes()
            except (PermanentPublishError, TransientPublishError) as exc:
                log.error("%s: the lists of the site were not written: %s (%s)", self.name, exc.reason, exc.hint)
        finally:  # kept for the next pass of this process (_KEPT)
            with _KEPT_LOCK:
                if self._store is not None:
                    _KEPT[self._kept_as], self._store = self._store, None

    def _write_indexes(self) -> None:
        with self._locked() as store:
            keys = self._page_keys()
            if not store.pending and keys.get("site.css") is not None:
                return
            fresh, self._before = dict(keys), keys
            self._write_lists(store, fresh)
            self._write_assets(fresh)
            for path in set(keys) - set(fresh):  # pages of a list that became shorter
                self._file(path).unlink(missing_ok=True)
                self._unsynced[1].add(self._file(path).parent)
            self._sync_pages()  # the lists on disk before PAGE_KEYS says they are written
            if fresh != keys:
                _atomic_write(self._file(PAGE_KEYS), json.dumps(fresh, sort_keys=True, separators=(",", ":")))
            store.mark_indexed()

    def _page_keys(self) -> dict[str, str]:
        try:
            keys = json.loads(self._file(PAGE_KEYS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in keys.items() if isinstance(v, str)} if isinstance(keys, dict) else {}

    def _put(self, keys: dict, path: str, key: str, text) -> None:
        """Write page ``path`` unless it already shows ``key``; ``text`` makes it."""
        if self._before.get(path) != key or not self._file(path).exists():
            _atomic_write(self._file(path), text() if callable(text) else text, self._unsynced)
        keys[path] = key

    # Writing the lists touched by the pass takes these steps in order; split, it would only pass
    # the same five collections from function to function.
    def _write_lists(self, store: SiteStore, keys: dict) -> None:
        touched: dict[str, pages.Group] = {}
        moved: dict[str, list[tuple]] = {}  # list -> where the changed versions stand in it, old and new
        months, changed, was = set(), {}, {}
        for rec in store.pending:
            pid = rec.get("put") or rec.get("del")
            for a in (rec.get("old"), rec.get("entry")):
                if a:
                    for g in pages.groups_of(a, self.tz):
                        touched.setdefault(g.path, g)
                        moved.setdefault(g.path, []).append(place_of(a))
                    months.add(pages.month_of(a, self.tz))
            if pid not in changed:  # the version the lists show: before the pass's first change
                was[pid] = set(pages.list_paths(rec["old"], self.tz)) if rec.get("old") else set()
            changed[pid] = rec
        if not keys.get("index.html"):
            touched["index.html"] = pages.Group("index.html", "", None)
            moved.pop("index.html", None)  # every page of it
        for gpath, group in touched.items():
            members = store.lists.get(gpath) or {}
            if members:  # the list's title: as the last article in the manifest names it
                group = pages.group_of(store.articles[next(reversed(members))], gpath)
            before = len(members) + sum((gpath in old) - (pid in members) for pid, old in was.items())
            self._write_list(store, keys, group, moved.get(gpath), before)
        hubs = {g.hub for g in touched.values() if g.hub}
        for hub in sorted(hubs | ({h for h in pages.HUBS if f"{h}/index.html" not in keys})):
            named = ((p, pages.group_of(store.articles[next(reversed(m))], p)) for p, m in store.lists.items()
                     if p.startswith(hub + "/"))
            groups = sorted(((p, g.title, len(store.lists[p])) for p, g in named),
                            key=lambda t: t[0], reverse=hub == "luu-tru")
            self._put(keys, f"{hub}/index.html", pages.page_key([], {"g": groups}, hub), lambda: self.layout.hub(hub, groups))
        newest = heapq.nlargest(50, store.articles.values(), key=lambda a: a.get("publish_at") or "")
        self._put(keys, "feed.xml", pages.page_key(newest, {}, "feed"), lambda: self._atom(newest))
        self._write_search(store, keys, {m for m in months if m}, changed)

    def _write_list(self, store: SiteStore, keys: dict, group: pages.Group, moved: list | None, before: int) -> None:
        """Write the pages of one list the pass touched: the front page and the numbered pages a
        change can have reached. ``moved``: where the changed articles' versions stand (``None``:
        every page); ``before``: how many articles the list had when its pages were last written.
        Page ``k`` holds the ``k``-th twenty in time order, so the pages before the first changed
        place keep their articles, and so do those after the last one when the count is the same;
        those keep their keys (checked on one of them: a new title changes every page)."""
        order = store.members(group.path)
        items = [store.articles[pid] for pid in order]
        n, last = len(order), pages.last_page(len(order))
        numbered = range(1, last + 1)
        if moved and n > pages.PER_PAGE:
            lo, hi, place = min(moved), max(moved), store.place.__getitem__
            first = bisect.bisect_left(order, lo, key=place) // pages.PER_PAGE + 1
            if before != n:  # the places after the change moved: every later page, and the last one's links
                numbered = range(min(first, pages.last_page(before), last), last + 1)
            else:
                end = max(bisect.bisect_right(order, hi, key=place) - 1, 0) // pages.PER_PAGE + 1
                numbered = range(first, min(end, last) + 1)
            numbered = self._kept_pages_check(keys, group, items, numbered, last)
        stem = group.path[:-len(".html")] + "/trang-" if group.path != "index.html" else "trang-"
        for path in [p for p in keys if p == group.path or p.startswith(stem)]:
            k = path[len(stem):-len(".html")]
            if path == group.path or not k.isdigit() or int(k) in numbered or int(k) > last:
                del keys[path]  # written again below, or removed
        for path, shown, nav in pages.pages_of(group, items, numbered):
            key = pages.page_key(shown, nav, group.title)
            self._put(keys, path, key, lambda p=path, s=shown, n=nav: self.layout.listing(p, group, s, n))

    def _kept_pages_check(self, keys: dict, group: pages.Group, items: list, numbered: range, last: int) -> range:
        """``numbered``, or every page of the list when one of the others is not as the keys say:
        not written yet, or showing another title (the one next to ``numbered`` is made again to see)."""
        if numbered.start == 1 and numbered.stop > last:
            return numbered
        if any(group.page(k) not in keys for k in range(1, last + 1) if k not in numbered):
            return range(1, last + 1)
        probe = numbered.start - 1 if numbered.start > 1 else numbered.stop
        (_front, (path, shown, nav)) = pages.pages_of(group, items, range(probe, probe + 1))
        return numbered if keys.get(path) == pages.page_key(shown, nav, group.title) else range(1, last + 1)

    def _write_search(self, store: SiteStore, keys: dict, months: set, changed: dict) -> None:
        """The search shards of the months the pass touched (``tim-kiem/<yyyy-mm>.js``): the
        entries of changed articles replaced, the rest kept as they are."""
        now_in = {pid: pages.month_of(store.articles[pid], self.tz) for pid, rec in changed.items()
                  if "put" in rec and pid in store.articles}
        for month in sorted(months):
            rel = f"{pages.SEARCH_DIR}/{month}.js"
            try:
                entries = pages.read_shard(self._file(rel).read_text(encoding="utf-8"))
            except OSError:
                entries = []
            entries = [e for e in entries if e.get("p") not in changed]
            for pid, rec in changed.items():
                a = store.articles.get(pid)
                if now_in.get(pid) == month:
                    card = self.layout.card(a)
                    entries.append({"p": pid, "u": a["path"], "t": a["title"], "s": a.get("summary") or "",
                                    "d": card["date"], "i": card["iso"], "w": rec.get("words") or ""})
            if entries:
                _atomic_write(self._file(rel), pages.shard_text(entries), self._unsynced)
            else:
                self._file(rel).unlink(missing_ok=True)
                self._unsynced[1].add(self._file(rel).parent)
        shards = sorted((p[len("luu-tru/"):-len(".html")] + ".js" for p in store.lists if p.startswith("luu-tru/")), reverse=True)
        self._put(keys, f"{pages.SEARCH_DIR}/index.html", pages.page_key([], {"s": shards}, "search"),
                  lambda: self.layout.search(shards))

    def _write_assets(self, keys: dict) -> None:
        for name in ("site.css", "search.js"):
            text = pages.asset(name, self.root)
            self._put(keys, name, hashlib.blake2b(text.encode(), digest_size=12).hexdigest(), text)
        emblem = self.layout.info["emblem"]
        if emblem and not emblem.startswith("https://"):
            src = self.root / self.opts["emblem"]
            try:
                data = src.read_bytes()
            except OSError as exc:
                log.warning("%s: the emblem %s cannot be read (%s)", self.name, src, exc.strerror)
                return
            rel = emblem
            key = hashlib.blake2b(data, digest_size=12).hexdigest()
            if self._before.get(rel) != key or not self._file(rel).exists():
                _atomic(self._file(rel), lambda fh: fh.write(data), self._unsynced)
            keys[rel] = key

    def _atom(self, items: list[dict]) -> str:
        now = max((a.get("updated") or "" for a in items), default=self.clock().isoformat())
        base = self.base_url or "urn:loa"
        entries = "".join(
            f"<entry><title>{escape(a['title'])}</title><link href=\"{escape(self._url(a['path']))}\"/>"
            f"<id>{escape(self._url(a['path']))}</id><updated>{escape(a.get('updated') or now)}</updated>"
            f"<published>{escape(a.get('publish_at') or now)}</published><summary>{escape(a.get('summary') or '')}</summary></entry>"
            for a in items)
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="vi">'
                f"<title>{escape(self.site_name)}</title><id>{escape(base)}/</id><link href=\"{escape(base)}/\"/>"
                f"<link rel=\"self\" href=\"{escape(base)}/feed.xml\"/><updated>{escape(now)}</updated>{entries}</feed>\n")


def page_path(kind: str, slug: str) -> str:
    """The page of an article of type ``kind`` (a folder) and ``slug``, relative to the site: the
    one address rule (``ARTICLE_URL``)."""
    return f"{kind}/{slug}.html"


def _replace_img_src(body: str, src: str) -> str:
    return re.sub(r'(<figure class="loa-figure">\s*<img src=")[^"]*(")', lambda m: m.group(1) + src + m.group(2), body, count=1)


def _atomic_write(path: Path, text: str, unsynced: tuple[set, set] | None = None) -> None:
    """Replace ``path`` at once with ``text`` (control characters dropped: a page or feed with one is
    not valid XML). The temporary file is a fresh one (``O_EXCL``): a link planted under a
    predictable name is never written through. ``unsynced``: see :func:`_atomic`."""
    _atomic(path, lambda fh: fh.write(strip_controls(text).encode("utf-8")), unsynced)


def _atomic_copy(src: Path, path: Path, unsynced: tuple[set, set] | None = None) -> None:
    def copy(fh):
        with open(src, "rb") as source:
            shutil.copyfileobj(source, fh)
    _atomic(path, copy, unsynced)


def _atomic(path: Path, fill, unsynced: tuple[set, set] | None = None) -> None:
    """Replace ``path`` at once with what ``fill`` writes, fsynced before the rename; with
    ``unsynced`` (the publisher's (files, folders) since its last flush) not fsynced: the file and
    the folders it changed are added there, for :func:`_make_durable`."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:  # a new folder (a new type, topic, month): made only then, not for every page
        made = [p for p in reversed(path.parents) if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        if unsynced is not None:
            unsynced[1].update(p.parent for p in made)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    done = False
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; nginx must read the page
            if unsynced is None:
                os.fsync(fd)
        os.replace(tmp, path)
        done = True
        if unsynced is not None:
            unsynced[0].add(path)
            unsynced[1].add(path.parent)
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _libc_syncfs():
    """Linux ``syncfs(2)`` through the C library, or ``None`` (another system, or no such call)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        call = libc.syncfs
    except (OSError, AttributeError):
        return None
    call.argtypes, call.restype = [ctypes.c_int], ctypes.c_int
    return call


# Looked up at the first flush, not when the module is imported: every ``loa`` command imports
# the publishers, and finding the C library (ctypes, and ``ldconfig`` run as a child process)
# was a fixed cost of each, a preview's or a ``loa status``'s too.
_SYNCFS = False


def _make_durable(root: Path, files, folders) -> None:
    """Make ``files`` and the entries of ``folders`` (renames, removals) durable at once: Linux
    ``syncfs(2)`` on the site's file system, one commit of its journal for the whole group; where
    there is none, an fsync of each file that is still there, then of each folder. Raises OSError."""
    global _SYNCFS
    if _SYNCFS is False:
        _SYNCFS = _libc_syncfs()
    if _SYNCFS is not None:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _SYNCFS(fd) != 0:
                import ctypes

                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)
        return
    for path in [*files, *folders]:
        try:
            fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path in folders else 0))
        except FileNotFoundError:  # replaced or removed since: its folder is synced
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _same_size(path: Path, source: Path) -> bool:
    """Whether ``path`` is there with ``source``'s size (an image left empty or cut is not)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    try:
        return size == source.stat().st_size
    except OSError:  # no source to copy from: the one there is kept, as before
        return True


def _whole(page: Path) -> bool:
    """Whether ``page`` is there and ends as every page this publisher writes does (a power cut
    can leave an article's file empty or cut when its group's flush had not run)."""
    try:
        with open(page, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 64, 0))
            return fh.read().rstrip().endswith(b"</html>")
    except OSError:
        return False
