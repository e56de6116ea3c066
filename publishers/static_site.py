"""The embedded default channel: the e-portal as a static site (registry key ``static_site``).

Options: ``out_dir`` (default ``site``, relative to config.toml). Writes one page per article at
``<type>/<slug>.html``, index pages by type, topic and unit, a home page and an Atom feed — files
nginx serves as they are. A manifest (``.loa-site.json``) records the published articles, so the
indexes are rebuilt from it and the publisher can look items up (``can_lookup``): a send whose
result was lost is found there, never written twice.

Writes are atomic (temporary file + rename); a retraction removes the page and the index entries.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from html import escape

from pipeline.models import PublishResult, Rendering
from publishers.base import ChannelHealth, OptionSpec, Publisher

MANIFEST = ".loa-site.json"


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

    # -- manifest ------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / ".loa-site.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._load()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict:
        try:
            return json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"articles": {}}

    def _save(self, manifest: dict) -> None:
        _atomic_write(self.out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, default=str))

    # -- hooks ---------------------------------------------------------------------------
    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        with self._locked() as manifest:
            return self._write(manifest, rendering)

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        with self._locked() as manifest:
            old = manifest["articles"].get(rendering.post_id)
            if old and old["path"] != self._path(rendering):
                (self.out / old["path"]).unlink(missing_ok=True)
            return self._write(manifest, rendering)

    def _retract(self, previous: PublishResult, reason: str) -> None:
        with self._locked() as manifest:
            art = manifest["articles"].pop(previous.remote_id, None)
            if art:
                (self.out / art["path"]).unlink(missing_ok=True)
            self._save(manifest)
            self._indexes(manifest)

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        art = self._load()["articles"].get(rendering.post_id)
        if art and (self.out / art["path"]).exists():
            return PublishResult(rendering.post_id, self._url(art["path"]), {"path": art["path"], "version": art.get("version")})
        return None

    def _check(self) -> ChannelHealth:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / ".loa-write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            return ChannelHealth(self.name, False, (f"cannot write to {self.out}: {exc.strerror}",))
        return ChannelHealth(self.name, True, (f"writes the portal as a static site to {self.out}",))

    # -- writing -------------------------------------------------------------------------
    def _path(self, r: Rendering) -> str:
        return f"{r.extra.get('type') or 'bai-viet'}/{r.extra.get('slug') or r.post_id}.html"

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path}" if self.base_url else path

    def _write(self, manifest: dict, r: Rendering) -> PublishResult:
        path = self._path(r)
        body = r.body
        if r.image_path is not None:
            media = f"media/{r.extra.get('image_hash') or r.image_path.stem}{r.image_path.suffix.lower()}"
            dest = self.out / media
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(r.image_path, dest)
            rel_media = os.path.relpath(self.out / media, (self.out / path).parent)
            body = _replace_img_src(body, rel_media)
        page = _templates()[0].render(title=r.title, body=body, site=self.site_name, home=os.path.relpath(self.out / "index.html", (self.out / path).parent))
        _atomic_write(self.out / path, page)
        pub = r.extra.get("publish_at")
        manifest["articles"][r.post_id] = {
            "path": path, "title": r.title, "type": r.extra.get("type"), "type_label": r.extra.get("type_label"),
            "unit": r.extra.get("unit"), "unit_name": r.extra.get("unit_name"), "topics": r.extra.get("topic_labels") or {},
            "summary": r.extra.get("summary") or "", "publish_at": pub.isoformat() if isinstance(pub, datetime) else pub,
            "version": r.source_hash, "updated": self.clock().isoformat(),
        }
        self._save(manifest)
        self._indexes(manifest)
        return PublishResult(r.post_id, self._url(path), {"path": path})

    def _indexes(self, manifest: dict) -> None:
        arts = sorted(manifest["articles"].items(), key=lambda kv: kv[1].get("publish_at") or "", reverse=True)
        groups: dict[str, tuple[str, list]] = {"index.html": (self.site_name, [a for _, a in arts])}
        for _, a in arts:
            groups.setdefault(f"loai/{a['type']}.html", (a.get("type_label") or a["type"], []))[1].append(a)
            groups.setdefault(f"don-vi/{a['unit']}.html", (a.get("unit_name") or a["unit"], []))[1].append(a)
            for tid, label in (a.get("topics") or {}).items():
                groups.setdefault(f"chu-de/{tid}.html", (label, []))[1].append(a)
        for path, (title, items) in groups.items():
            base = (self.out / path).parent
            links = [(os.path.relpath(self.out / a["path"], base), a) for a in items]
            _atomic_write(self.out / path, _templates()[1].render(title=title, links=links, site=self.site_name,
                                                        home=os.path.relpath(self.out / "index.html", base),
                                                        feed=os.path.relpath(self.out / "feed.xml", base)))
        _atomic_write(self.out / "feed.xml", self._atom([a for _, a in arts][:50]))

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


def _replace_img_src(body: str, src: str) -> str:
    import re

    return re.sub(r'(<figure class="loa-figure">\s*<img src=")[^"]*(")', lambda m: m.group(1) + src + m.group(2), body, count=1)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
