"""``loa preview``: a static site showing exactly what every channel will receive.

An index of all posts (title, unit, type, time, state) and a page per post with every channel's
rendering and its character count against the channel's limit. No network: the pages carry their
own CSS and the post images are copied beside them.

Speed (figures in bench/README.md):
- worker processes (one per core) take consecutive slices of posts and go stage by stage over a
  slice (read, Markdown, channels, pages, index rows, files), which keeps each stage warm in the
  CPU caches;
- ``.loa-cache.json`` keeps every post's index row, keyed by its file's (mtime, size) and by the
  hash of templates, configuration and Loa's code: only changed posts are rendered again;
- ``.loa-stamp`` lets a re-run with nothing changed stop after a ``stat`` per file: it
  rewrites only the index's time, unless a post's state changed with time
  (:mod:`pipeline.preview_stamp`, which also runs such a re-run before the rest of Loa is imported).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import content as content_mod
from pipeline import preview_stamp
from pipeline.paths import Listing
from pipeline.preview_stamp import GENERATED as _GENERATED
from pipeline.preview_stamp import STAMP_NAME  # noqa: F401 - part of this module's interface

if TYPE_CHECKING:  # Jinja2, Markdown and the renderer are imported only when a post needs rendering
    import jinja2

    from pipeline.models import Post
    from pipeline.render import Renderer

CACHE_NAME = ".loa-cache.json"  # every post's index row, keyed by file
_JOB: "_Job | None" = None  # built by the parent, inherited by forked workers


@dataclass
class PreviewResult:
    out_dir: Path
    rendered: int
    reused: int
    failed: list[tuple[str, str]]

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def post_state(meta: dict, now: datetime) -> str:
    """draft / awaiting-approval / scheduled / due / expired, from an index row."""
    if meta["status"] != "ready":
        return "draft"
    if meta.get("expire_at") and datetime.fromisoformat(meta["expire_at"]) <= now:
        return "expired"
    if meta.get("needs_approval") and not meta.get("approved"):
        return "awaiting-approval"
    if meta.get("publish_at") and datetime.fromisoformat(meta["publish_at"]) > now:
        return "scheduled"
    return "due"


def _env(cfg) -> jinja2.Environment:
    from pipeline.templating import environment

    return environment(cfg.templates_dirs, cfg.tz, autoescape=True)


def page_name(post_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in post_id)
    return f"posts/{safe}.html"


def _settings(cfg) -> dict:
    return preview_stamp.settings([str(d) for d in cfg.templates_dirs], _config_bytes(cfg))


def _config_bytes(cfg) -> bytes:
    """The config file as read (what the quick path of a re-run compares), or its data."""
    if cfg.path is not None:
        try:
            return Path(cfg.path).read_bytes()
        except OSError:
            pass
    return json.dumps(cfg.raw, sort_keys=True, default=str).encode()


@dataclass
class _Job:
    """What a worker needs. Built once in the parent before the fork, so the workers inherit the
    imported modules, the Markdown instance and the compiled templates instead of each building
    their own for every chunk."""

    cfg: object
    out: Path
    renderer: Renderer
    page: jinja2.Template
    row: jinja2.Template  # one row of the index
    now: datetime  # for the states in the index rows
    posts: dict[Path, Post | None]  # resolved path -> post, for links between posts
    sigs: dict[str, list[int]] = field(default_factory=dict)  # file -> [mtime_ns, size] before reading
    copied: set[str] = field(default_factory=set)  # media/ files this process has seen in place


def _prepare(cfg, out: Path, now: datetime) -> _Job:
    # imported here: a re-run with nothing to render needs neither Markdown nor the publishers
    from pipeline.render import Renderer

    posts: dict[Path, Post | None] = {}

    def resolve(path: Path) -> Post | None:
        if path not in posts:
            posts[path] = content_mod.peek_post(path, cfg) if path.is_file() else None
        return posts[path]

    renderer = Renderer(cfg, resolver=resolve)
    renderer.load_templates(cfg.channels)
    env = _env(cfg)
    return _Job(cfg, out, renderer, env.get_template("preview/post.html"), env.get_template("preview/index_row.html"),
                now, posts)


CHUNK_MAX = 200  # posts per slice: within the renderer's Markdown cache (render.HTML_CACHE_SIZE)


def _chunks(todo: list[str], jobs: int) -> list[list[str]]:
    """Consecutive slices, each a share of what is left (guided scheduling): large slices first for
    few hand-overs, a few posts each at the end so that the workers finish together."""
    out, i = [], 0
    while i < len(todo):
        size = max(8, min(CHUNK_MAX, (len(todo) - i) // (jobs * 3)))
        out.append(todo[i:i + size])
        i += size
    return out


def _render_chunk(paths: list[str]) -> tuple[list[dict], bytes]:
    """Worker: read, render and write the pages of a slice of posts; return the index rows, and
    their part of the parent's cache file (``"file": {row}, ...`` in UTF-8: made here, in parallel,
    so that the parent only joins the parts).

    One stage at a time over the whole slice (read, Markdown, channels, pages, index rows, files):
    done post by post, each stage pushed the others out of the CPU's caches (reading a post cost
    195 us among the others, 105 us in a row), and links between posts of the slice find their
    targets already read."""
    job = _JOB
    cfg, renderer, cache = job.cfg, job.renderer, job.posts
    read = []
    for p in paths:
        post, problems = content_mod.read_post(Path(p), cfg)
        if post is not None:
            cache[Path(content_mod.real_join(os.path.dirname(p), os.path.basename(p)))] = post
        read.append((p, post, problems))
    posts = [post for _p, post, _problems in read if post is not None]
    for post in posts:  # kept by the renderer (HTML_CACHE_SIZE >= CHUNK_MAX) for the channels
        renderer.article_html(post)
    rendered = {id(post): renderer.render_all(post, [c for c in post.channels if c in cfg.channels]) for post in posts}
    rows, pages = [], []
    for p, post, problems in read:
        # the (mtime, size) the parent saw before the read: if the file changes meanwhile, the
        # next run sees a different one and renders it again
        mtime, size = job.sigs[p]
        row = {"file": p, "mtime": mtime, "size": size}
        if post is None:
            row["error"] = "; ".join(x.format(cfg.language) for x in problems) or "unusable"
        else:
            renderings, errors = rendered[id(post)]
            pages.append((row, _page(job, post, problems, renderings, errors, row)))
        rows.append(row)
    for row in rows:
        _index_row(job.row, row, "error" if "error" in row else post_state(row, job.now))
    for row, html in pages:
        _write_page(os.path.join(job.out, row["page"]), html.encode("utf-8"))
    dumps = json.dumps
    return rows, ", ".join(
        f"{dumps(r['file'], ensure_ascii=False)}: {dumps(r, ensure_ascii=False)}" for r in rows).encode("utf-8")


def _write_page(path: str, data: bytes) -> None:
    """``open(path, "wb").write(data)`` without the file object: 8 of its 38 us a page here."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _page(job: _Job, post, problems, renderings, errors, row: dict) -> str:
    """Fill the post's index row and return its preview page."""
    from pipeline.checks import is_approved

    cfg, out = job.cfg, job.out
    image = None
    if post.image_path:
        image = f"media/{post.image_hash}{post.image_path.suffix.lower()}"
        if image not in job.copied:  # posts share images: one stat per image and worker, not per post
            dest = out / image
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(post.image_path, dest)
            job.copied.add(image)
    need = [c for c in post.channels if c in cfg.require_approval]
    ctype = cfg.types.get(post.type)
    unit = cfg.units.get(post.unit)
    row.update({
        "id": post.id, "title": post.title, "type": post.type, "type_label": ctype.label if ctype else post.type,
        "unit": post.unit, "unit_name": unit.name if unit else post.unit, "status": post.status,
        "publish_at": post.publish_at.isoformat() if post.publish_at else None,
        "expire_at": post.expire_at.isoformat() if post.expire_at else None,
        "needs_approval": bool(need), "approved": is_approved(post, cfg), "page": page_name(post.id),
        "over_limit": [r.channel for r in renderings if r.over_limit],
        "channels": list(post.channels), "problems": [x.format(cfg.language) for x in problems],
    })
    return job.page.render(post=post, row=_Item(row), renderings=renderings, errors=errors, image=image,
                           channels=cfg.channels, site={"name": cfg.site_name}, root="../")


def build_preview(cfg, out_dir: Path | None = None, paths: list[Path] | None = None, *,
                  now: datetime, jobs: int | None = None) -> PreviewResult:
    """Write the preview site; re-render only posts whose file, the templates or the config changed."""
    out = Path(out_dir or cfg.preview_dir)
    (out / "posts").mkdir(parents=True, exist_ok=True)
    content_mod.forget_real_paths()
    if paths is None:
        files = Listing().scan(str(cfg.content_dir))  # iter_post_files, as strings
    else:
        files = [str(p) for p in content_mod.iter_post_files(cfg.content_dir, paths)]
    settings = _settings(cfg)
    sigs = []
    for f in files:
        try:
            st = os.stat(f)
            sigs.append([st.st_mtime_ns, st.st_size])
        except OSError:
            sigs.append(None)
    if paths is None:
        failed = preview_stamp.unchanged(str(out), preview_stamp.read(str(out)), settings, files, sigs,
                                         now.timestamp(), _generated(cfg, now))
        if failed is not None:
            return PreviewResult(out, 0, len(files) - len(failed), [(f, err) for f, err in failed])
    return _build(cfg, out, settings, files, sigs, paths, now, jobs)


def _build(cfg, out: Path, settings: dict, files: list[str], sigs: list, paths, now: datetime,
           jobs: int | None) -> PreviewResult:
    global _JOB
    key = preview_stamp.settings_key(settings)
    cache_file = out / CACHE_NAME
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        if not isinstance(cached, dict) or cached.get("key") != key or not isinstance(cached.get("rows"), dict):
            cached = {"rows": {}}
    except (OSError, ValueError):
        cached = {"rows": {}}
    old = cached.get("rows", {})
    pages = _listdir(out / "posts")
    rows: dict[str, dict] = {}
    todo: list[str] = []
    for f, sig in zip(files, sigs):
        if sig is None:
            continue
        row = old.get(f)
        if row and [row["mtime"], row["size"]] == sig and row.get("page", "-")[len("posts/"):] in pages:
            rows[f] = row
        elif row and "error" in row and [row["mtime"], row["size"]] == sig:
            rows[f] = row
        else:
            todo.append(f)
    reused = sum(1 for r in rows.values() if "error" not in r)
    parts: list[bytes] = []  # the cache file's rows of the posts rendered now, as JSON, from the workers
    index_env = index_tpl = None
    if todo:
        _JOB = _prepare(cfg, out, now)
        index_env = _JOB.page.environment  # its base page is compiled already
        _JOB.sigs = {f: sig for f, sig in zip(files, sigs) if sig is not None}
        try:
            jobs = jobs or min(os.cpu_count() or 1, 8)
            if jobs > 1 and len(todo) > 40:
                import multiprocessing

                ctx = multiprocessing.get_context("fork")
                gc.freeze()  # the collector must not visit (and so copy) the parent's objects in each worker
                try:
                    with ctx.Pool(jobs) as pool:
                        results = pool.imap_unordered(_render_chunk, _chunks(todo, jobs))
                        index_tpl = index_env.get_template("preview/index.html")  # while the workers start
                        for part, part_json in results:
                            rows.update((r["file"], r) for r in part)
                            parts.append(part_json)
                finally:
                    gc.unfreeze()  # a long-lived caller (tests, a server) gets its garbage collected again
            else:
                for chunk in _chunks(todo, 1):
                    part, part_json = _render_chunk(chunk)
                    rows.update((r["file"], r) for r in part)
                    parts.append(part_json)
        finally:
            _JOB = None
    if paths is not None:  # keep the rows of posts not asked for this time
        for f, row in old.items():
            rows.setdefault(f, row)
    listed = set(files)
    ordered = [rows[f] for f in files if f in rows] + [r for f, r in rows.items() if f not in listed]
    rendered_now = set(todo)
    index = _index_html(cfg, ordered, now, index_env, index_tpl, rendered_now)
    preview_stamp.write_text(out / "index.html", index.replace(_GENERATED, _generated(cfg, now)))
    if todo or rows != old or cached.get("key") != key:  # else the cache file already says all this
        dumps = json.dumps
        parts += (f"{dumps(f, ensure_ascii=False)}: {dumps(r, ensure_ascii=False)}".encode("utf-8")
                  for f, r in rows.items() if f not in rendered_now)
        body = b", ".join(p for p in parts if p)
        preview_stamp.write_bytes(cache_file, b'{"key": %s, "rows": {%s}}' % (dumps(key).encode(), body))
    if paths is None:  # what the next run needs to see that nothing changed, without the rows
        preview_stamp.write(
            str(out), settings=settings, config=os.path.realpath(cfg.path) if cfg.path else None, root=str(cfg.root),
            content_dir=str(cfg.content_dir), tz=cfg.tz.key, language=cfg.language, warnings=bool(cfg.warnings),
            files=files, sigs=sigs, pages=[r["page"] for r in (rows.get(f) for f in files) if r and "page" in r],
            failed=[[r["file"], r["error"]] for r in ordered if "error" in r], states=_state_span(ordered, now),
            index=index, now=now)
    failed = [(r["file"], r["error"]) for r in rows.values() if "error" in r]
    fresh = sum(1 for f in todo if f in rows and "error" not in rows[f])
    return PreviewResult(out, fresh, reused, failed)


def _state_span(rows: list[dict], now: datetime) -> list[float | None]:
    """[since, until): the times (epoch seconds) between which no row's state differs from its state
    at ``now``. A state changes only at a post's ``publish_at`` or ``expire_at``."""
    moment = now.timestamp()
    lo = hi = None
    for r in rows:
        for k in ("publish_at", "expire_at"):
            if r.get(k):
                t = datetime.fromisoformat(r[k]).timestamp()
                if t <= moment:
                    lo = t if lo is None or t > lo else lo
                elif hi is None or t < hi:
                    hi = t
    return [lo, hi]


def _listdir(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def _generated(cfg, now: datetime) -> str:
    return preview_stamp.generated(now, cfg.tz.key)


STATE_LABELS = {
    "draft": ("Bản nháp", "Draft"), "awaiting-approval": ("Chờ duyệt", "Awaiting approval"),
    "scheduled": ("Đã lên lịch", "Scheduled"), "due": ("Đến giờ đăng", "Due"), "expired": ("Hết hạn", "Expired"),
}


class _Item(dict):
    """An index row whose keys templates read as attributes (``r.title``) without Jinja first
    failing an attribute lookup on a dict, which costs an exception per field per row."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _index_html(cfg, rows: list[dict], now: datetime, env=None, tpl=None, fresh: set[str] = frozenset()) -> str:
    """The index page, with ``_GENERATED`` where the time it was made goes (filled in by the caller,
    so that a re-run with nothing changed can reuse the page). Each row's HTML comes from the worker
    that rendered the post (``_index_row``); only rows whose state changed since are rendered again
    (the rows of ``fresh`` files were rendered for this very ``now``)."""
    env = env or _env(cfg)
    row_tpl = None
    items = []
    for r in rows:
        if r["file"] in fresh and "html_state" in r:
            state = r["html_state"]
        else:
            state = "error" if "error" in r else post_state(r, now)
        if r.get("html_state") != state or "html" not in r:
            row_tpl = row_tpl or env.get_template("preview/index_row.html")
            _index_row(row_tpl, r, state)
        items.append((r.get("publish_at") or "", r.get("title") or "", state, r["html"]))
    items.sort(key=lambda i: (i[0], i[1]), reverse=True)
    counts = {s: 0 for s in list(STATE_LABELS) + ["error"]}
    for item in items:
        counts[item[2]] += 1
    return (tpl or env.get_template("preview/index.html")).render(
        items=items, rows_html=[i[3] for i in items], labels=STATE_LABELS, site={"name": cfg.site_name}, now=now,
        generated=_GENERATED, lang=cfg.language, counts=counts)


def _index_row(tpl, row: dict, state: str) -> None:
    """Put the row's index HTML (for this state) into the row itself."""
    row["html"] = tpl.render(r=_Item(row, state=state), labels=STATE_LABELS)
    row["html_state"] = state
