"""The embedded default channel: the e-portal as a static site (registry key ``static_site``).

Options: ``out_dir`` (default ``site``, relative to config.toml). Writes one page per article at
``<type>/<slug>.html``, index pages by type, topic and unit, a home page and an Atom feed — files
nginx serves as they are. A manifest (``.loa-site.json``) records the published articles, so the
indexes are rebuilt from it and the publisher can look items up (``can_lookup``): a send whose
result was lost is found there, never written twice.

Writes are atomic (a fresh temporary file + rename); a retraction removes the page and the index
entries. Every file name comes from a plain name (:func:`pipeline.paths.plain_name`: the type, slug,
unit and topic of front matter and config) and every path is checked to stay in ``out_dir``
(:func:`pipeline.paths.inside`) before anything is written or removed: a bad name fails the item, a
link leading out of the site holds the channel. A manifest that cannot be read also holds the
channel: treated as empty, the next article would rewrite every index with itself alone.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from html import escape

from pipeline.errors import PermanentPublishError
from pipeline.models import PublishResult, Rendering
from pipeline.paths import inside, plain_name
from publishers.base import ChannelHealth, OptionSpec, Publisher

MANIFEST = ".loa-site.json"
#: Folders of the index pages and the images: an article type of that name would overwrite them.
RESERVED = frozenset({"loai", "don-vi", "chu-de", "media"})
_PAGE_PATH = re.compile(r"([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*)\.html")
# C0 and C1 controls but tab and newline, DEL, lone surrogates and the two non-characters XML
# refuses: one of them in a title makes feed.xml unreadable for every subscriber.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and newline kept)."""
    return _CONTROLS.sub("", text)


class StaticSitePublisher(Publisher):
    """Static e-portal. Key ``static_site``; option ``out_dir``."""

    type = "static_site"
    family = "portal"
    limits = {"article": None}
    options = (OptionSpec("out_dir", str, default="site", doc="Folder of the static site, relative to config.toml."),)
    can_lookup = True
    social = False
    lookup_note = "looks the article up in the site's manifest (.loa-site.json)"

    def __init__(self, name, options, **kw):
        super().__init__(name, options, **kw)
        root = Path(getattr(self.site, "root", None) or ".")
        self.out = (root / self.opts["out_dir"]).resolve()
        self.base_url = getattr(self.site, "base_url", "") or ""
        self.site_name = getattr(self.site, "site_name", "") or "Loa"
        self.tz = getattr(self.site, "tz", timezone.utc)

    # -- paths ---------------------------------------------------------------------------
    def _file(self, rel: str, post_id: str | None = None) -> Path:
        """``out_dir/rel``, refused when it leads out of the site (a link in the site's folders)."""
        try:
            return inside(self.out, rel)
        except ValueError:
            raise self._held(post_id, f"{rel} leads outside the site folder {self.out}",
                             f"remove the link (or the file) {self.out / rel} that points elsewhere, then "
                             f"loa retry --channel {self.name}") from None

    def _held(self, post_id: str | None, reason: str, hint: str) -> PermanentPublishError:
        exc = PermanentPublishError(self.name, post_id, reason, hint=hint)
        exc.holds_channel = True  # the site itself is wrong, not this item: no other item may go on
        return exc

    def _name(self, r: Rendering, field: str, value) -> str:
        """A front-matter value that becomes a file name, refused unless it is a plain name."""
        if not plain_name(value):
            raise PermanentPublishError(
                self.name, r.post_id, f"{field} {value!r} cannot name a page of the site: only a-z, 0-9 and - are allowed",
                hint=f"correct the {field} (front matter or config.toml); loa check shows the expected form")
        return value

    # -- manifest ------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        self.out.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW and no truncation: a lock file that is a link must not empty what it points to
        fd = os.open(self._file(".loa-site.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._load()
        finally:
            os.close(fd)

    def _load(self) -> dict:
        """The manifest; ``{"articles": {}}`` only when there is none yet. A manifest that cannot be
        read or holds a path out of the site raises an error that holds the channel."""
        path = self._file(MANIFEST)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"articles": {}}
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            problem = getattr(exc, "strerror", None) or str(exc)
        else:
            problem = _manifest_problem(manifest)
            if problem is None:
                return manifest
        raise self._held(None, f"the site's manifest {path} cannot be used ({problem}); publishing would "
                               "rewrite every index with the new article alone and leave retracted pages online",
                         f"restore {MANIFEST} from a backup, or delete it to start the indexes afresh (pages already "
                         f"written stay online but unlisted), then loa retry --channel {self.name}")

    def set_aside_manifest(self, stamp: str) -> Path | None:
        """Rename the manifest to ``.loa-site.json.<stamp>`` (kept for a person to look at), so
        that the site can be written again from the ledger (``loa site rebuild``); the new name, or
        ``None`` when there was no manifest."""
        path = self._file(MANIFEST)
        if not path.exists():
            return None
        aside = self._file(f"{MANIFEST}.{stamp}")
        os.replace(path, aside)
        return aside

    def _save(self, manifest: dict) -> None:
        _atomic_write(self._file(MANIFEST), json.dumps(manifest, ensure_ascii=False, indent=1, default=str))

    # -- hooks ---------------------------------------------------------------------------
    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        with self._locked() as manifest:
            return self._write(manifest, rendering)

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        with self._locked() as manifest:
            return self._write(manifest, rendering)

    def _retract(self, previous: PublishResult, reason: str) -> None:
        with self._locked() as manifest:
            art = manifest["articles"].get(previous.remote_id)
            if not art:
                return
            page = self._file(art["path"], previous.remote_id)
            writes = self._indexes(manifest, remove=previous.remote_id)
            page.unlink(missing_ok=True)
            del manifest["articles"][previous.remote_id]
            self._save(manifest)
            _write_all(writes)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        art = self._load()["articles"].get(rendering.post_id)
        if art and self._file(art["path"], rendering.post_id).exists():
            return PublishResult(rendering.post_id, self._url(art["path"]), {"path": art["path"], "version": art.get("version")})
        return None

    def _check(self) -> ChannelHealth:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".loa-write-test-", dir=self.out)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            return ChannelHealth(self.name, False, (f"cannot write to {self.out}: {exc.strerror}",))
        try:
            self._load()
        except PermanentPublishError as exc:
            return ChannelHealth(self.name, False, (exc.reason, exc.hint))
        return ChannelHealth(self.name, True, (f"writes the portal as a static site to {self.out}",))

    # -- writing -------------------------------------------------------------------------
    def _path(self, r: Rendering) -> str:
        kind = self._name(r, "type", r.extra.get("type") or "bai-viet")
        if kind in RESERVED:
            raise PermanentPublishError(self.name, r.post_id, f"type {kind!r} is the name of a folder of the site "
                                        f"({', '.join(sorted(RESERVED))}): its pages would overwrite the indexes",
                                        hint="rename the type in config.toml")
        return f"{kind}/{self._name(r, 'slug', r.extra.get('slug') or r.post_id)}.html"

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path}" if self.base_url else path

    def _entry(self, r: Rendering, path: str) -> dict:
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
            "version": r.source_hash, "updated": self.clock().isoformat(),
        }

    def _write(self, manifest: dict, r: Rendering) -> PublishResult:
        # every name and path is checked before the first file is touched
        path = self._path(r)
        entry = self._entry(r, path)
        for pid, art in manifest["articles"].items():
            if art["path"] == path and pid != r.post_id:
                raise PermanentPublishError(self.name, r.post_id, f"{path} is already the page of {pid}",
                                            hint="give one of the two posts another slug")
        page = self._file(path, r.post_id)
        old = manifest["articles"].get(r.post_id)
        stale = self._file(old["path"], r.post_id) if old and old["path"] != path else None
        body, media = r.body, None
        if r.image_path is not None:
            name, suffix = str(r.extra.get("image_hash") or ""), r.image_path.suffix.lower()
            if not (plain_name(name) and re.fullmatch(r"\.[a-z0-9]{1,8}", suffix)):
                raise PermanentPublishError(self.name, r.post_id, f"image {r.image_path.name!r} cannot be copied "
                                            "into the site: no content hash or an unusual extension")
            media = self._file(f"media/{name}{suffix}", r.post_id)
            body = _replace_img_src(body, os.path.relpath(media, page.parent))
        html = _templates()[0].render(title=r.title, body=body, site=self.site_name,
                                      home=os.path.relpath(self.out / "index.html", page.parent))
        manifest["articles"][r.post_id] = entry
        writes = self._indexes(manifest, remove=None, before=old)

        if media is not None and not media.exists():
            _atomic_copy(r.image_path, media)
        _atomic_write(page, html)
        if stale is not None:
            stale.unlink(missing_ok=True)
        self._save(manifest)
        _write_all(writes)
        return PublishResult(r.post_id, self._url(path), {"path": path})

    def _indexes(self, manifest: dict, *, remove: str | None, before: dict | None = None) -> list[tuple[Path, str]]:
        """The index pages and the feed as (path, text), every path checked. The groups of the article
        being removed, or of its previous version, are written too, if need be empty: a page left
        behind would still list it."""
        arts = sorted(((pid, a) for pid, a in manifest["articles"].items() if pid != remove),
                      key=lambda kv: kv[1].get("publish_at") or "", reverse=True)
        groups: dict[str, tuple[str, list]] = {"index.html": (self.site_name, [a for _, a in arts])}
        gone = [manifest["articles"][remove]] if remove else [before] if before else []
        for a, keep in [(a, True) for _, a in arts] + [(a, False) for a in gone]:
            for path, title in _groups_of(a):
                items = groups.setdefault(path, (title, []))[1]
                if keep:
                    items.append(a)
        out = []
        for path, (title, items) in groups.items():
            target = self._file(path)
            base = target.parent
            links = [(os.path.relpath(self.out / a["path"], base), a) for a in items]
            out.append((target, _templates()[1].render(title=title, links=links, site=self.site_name,
                                                       home=os.path.relpath(self.out / "index.html", base),
                                                       feed=os.path.relpath(self.out / "feed.xml", base))))
        out.append((self._file("feed.xml"), self._atom([a for _, a in arts][:50])))
        return out

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


def _groups_of(a: dict) -> list[tuple[str, str]]:
    """The index pages listing article ``a``: (path, title)."""
    out = []
    if a.get("type"):
        out.append((f"loai/{a['type']}.html", a.get("type_label") or a["type"]))
    if a.get("unit"):
        out.append((f"don-vi/{a['unit']}.html", a.get("unit_name") or a["unit"]))
    out += [(f"chu-de/{tid}.html", label) for tid, label in (a.get("topics") or {}).items()]
    return out


def _manifest_problem(manifest) -> str | None:
    """Why ``manifest`` cannot be used, or ``None``. Its paths and names become files to write and
    delete, so each is checked as a new article's would be."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("articles"), dict):
        return "no \"articles\" table"
    for pid, a in manifest["articles"].items():
        if not isinstance(a, dict) or not isinstance(a.get("path"), str) or not _PAGE_PATH.fullmatch(a["path"]):
            return f"article {pid!r} has no page path of the form type/slug.html"
        if a["path"].split("/", 1)[0] in RESERVED or not isinstance(a.get("title"), str):
            return f"article {pid!r} has a reserved folder or no title"
        topics = a.get("topics") or {}
        if (not isinstance(topics, dict) or not all(plain_name(t) and isinstance(l, str) for t, l in topics.items())
                or not all(a.get(k) is None or plain_name(a[k]) for k in ("type", "unit"))):
            return f"article {pid!r} has a type, unit or topic that is not a plain name"
    return None


def _replace_img_src(body: str, src: str) -> str:
    return re.sub(r'(<figure class="loa-figure">\s*<img src=")[^"]*(")', lambda m: m.group(1) + src + m.group(2), body, count=1)


def _write_all(writes: list[tuple[Path, str]]) -> None:
    for path, text in writes:
        _atomic_write(path, text)


def _atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` at once with ``text`` (control characters dropped: a page or feed with one is
    not valid XML). The temporary file is a fresh one (``O_EXCL``): a link planted under a
    predictable name is never written through."""
    _atomic(path, lambda fh: fh.write(strip_controls(text).encode("utf-8")))


def _atomic_copy(src: Path, path: Path) -> None:
    def copy(fh):
        with open(src, "rb") as source:
            shutil.copyfileobj(source, fh)
    _atomic(path, copy)


def _atomic(path: Path, fill) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; nginx must read the page
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.cache
def _templates() -> tuple:
    """The article page and the index page (Jinja2 imported and compiled on first use only)."""
    import jinja2

    env = jinja2.Environment(autoescape=True)
    return env.from_string(_PAGE), env.from_string(_INDEX)


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ site }}</title>
<style>body{font-family:"Times New Roman",serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.6;color:#1d2733}
img{max-width:100%;height:auto}aside.correction{border-left:4px solid #c77700;background:#fff8e6;padding:.3rem .8rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem}</style></head>
<body><nav><a href="{{ home }}">{{ site }}</a></nav><main>
{{ body | safe }}
</main></body></html>
"""
_INDEX = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ site }}</title><link rel="alternate" type="application/atom+xml" href="{{ feed }}">
<style>body{font-family:"Times New Roman",serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.6}</style></head>
<body><nav><a href="{{ home }}">{{ site }}</a></nav><main><h1>{{ title }}</h1><ul>
{% for href, a in links %}<li><a href="{{ href }}">{{ a.title }}</a> <small>{{ a.unit_name }} · {{ (a.publish_at or "")[:10] }}</small></li>
{% endfor %}</ul></main></body></html>
"""
